"""The speed paths give the eager reference path's predictions: fused, channels-last, compiled;
and the patch reshapes are plain reshapes where the sizes divide."""

import copy

import pytest
import torch
import torch._dynamo
import torch.nn.functional as F
from torch import nn

from arch_table import ARCH_NAMES
from mobilevit.models import MobileViT, MobileViTBlock, build_classifier
from reference_weights import deterministic_input, deterministic_state_dict

# A two-stage model: an inverted residual stage and a MobileViT stage, quick to compile.
TINY_ARCH = [["mobilenetv2", 8, 1, 1, 2], ["mobilevit", 16, 2, 16, 32, 1, 2]]


def reference_classifier(arch="xx_small", **options):
    """A classifier in eval mode whose BatchNorms have non-trivial statistics to fold."""
    model = build_classifier(arch, **options)
    model.load_state_dict(deterministic_state_dict(model.state_dict()))
    return model.eval()


@pytest.mark.parametrize("arch", ARCH_NAMES)
@pytest.mark.parametrize("size", [(64, 64), (72, 90)])
def test_fused_model_gives_the_same_logits(arch, size):
    model = reference_classifier(arch)
    image = deterministic_input(2, *size)
    with torch.no_grad():
        expected = model(image)
        fused = copy.deepcopy(model).fuse()
        assert torch.allclose(fused(image), expected, atol=1e-4, rtol=0)
        assert torch.equal(fused(image).argmax(1), expected.argmax(1))


def test_fuse_replaces_batch_norms_by_conv_biases_and_is_inference_only():
    model = reference_classifier()
    keys = set(model.state_dict())
    assert model.fuse() is model and not model.training
    fused_keys = set(model.state_dict())
    assert not any(isinstance(module, nn.BatchNorm2d) for module in model.modules())
    assert {key for key in keys - fused_keys if ".bn." not in key} == set()
    assert "backbone.stem.conv.bias" in fused_keys - keys
    assert "backbone.layers.2.1.local_rep.1.conv.bias" not in fused_keys  # it has no BatchNorm to fold
    with pytest.raises(RuntimeError, match="inference only"):
        model.train()
    model.eval()  # still allowed
    assert model.fuse() is model  # fusing twice changes nothing


def test_hooks_on_conv_and_batch_norm_fire_in_inference():
    model = reference_classifier()
    seen = []
    model.backbone.stem.conv.register_forward_hook(lambda module, inputs, output: seen.append("conv"))
    model.backbone.stem.bn.register_forward_hook(lambda module, inputs, output: seen.append("bn"))
    with torch.inference_mode():
        model(deterministic_input(1, 64, 64))
    with torch.no_grad():
        model(deterministic_input(1, 64, 64))
    assert seen == ["conv", "bn", "conv", "bn"]


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_the_in_place_batch_norm_computes_what_batch_norm_computes(memory_format):
    from mobilevit.models.mobilevit import BatchNorm2d

    norm = BatchNorm2d(6).eval()
    norm.load_state_dict(deterministic_state_dict(norm.state_dict()))
    plain = nn.BatchNorm2d(6).eval()
    plain.load_state_dict(norm.state_dict())
    x = deterministic_input(2, 9, 7)[:, :1].repeat(1, 6, 1, 1).contiguous(memory_format=memory_format)
    expected = plain(x)
    with torch.inference_mode():
        fresh = x.clone()
        output = norm(fresh)
    assert output.data_ptr() == fresh.data_ptr()  # in place: no new tensor
    assert torch.allclose(output, expected, atol=1e-6, rtol=0)
    with torch.inference_mode():  # bfloat16 maps (autocast) against float32 statistics: BatchNorm as it is
        assert torch.allclose(norm(x.bfloat16()).float(), expected, atol=0.1, rtol=0)
    x.requires_grad_()
    tracked = norm(x)  # under autograd: BatchNorm as it is, the input untouched
    assert tracked.data_ptr() != x.data_ptr() and torch.allclose(tracked, expected, atol=1e-6, rtol=0)


def test_the_in_place_batch_norm_without_affine_parameters_is_batch_norm():
    from mobilevit.models.mobilevit import BatchNorm2d

    norm, plain = BatchNorm2d(6, affine=False).eval(), nn.BatchNorm2d(6, affine=False).eval()
    norm.running_mean.copy_(torch.linspace(-1, 1, 6))
    norm.running_var.copy_(torch.linspace(0.5, 2, 6))
    plain.load_state_dict(norm.state_dict())
    x = deterministic_input(2, 9, 7)[:, :1].repeat(1, 6, 1, 1)
    with torch.inference_mode():
        assert torch.allclose(norm(x.clone()), plain(x), atol=1e-6, rtol=0)


def test_gradients_reach_the_batch_norms_in_eval_mode():
    model = reference_classifier()
    model.loss(deterministic_input(2, 64, 64), torch.tensor([1, 2])).backward()
    assert model.backbone.stem.bn.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("channels_last", [True, False])
def test_backbone_computes_in_the_memory_format_it_is_built_for(channels_last):
    model = reference_classifier(channels_last=channels_last, out_indices=(1, 4))
    image = deterministic_input(2, 64, 64)
    reference = reference_classifier(channels_last=not channels_last, out_indices=(1, 4))
    with torch.no_grad():
        features = model.backbone(image)
        assert all(feature.is_contiguous(memory_format=torch.channels_last) == channels_last for feature in features)
        assert all(
            torch.allclose(ours, theirs, atol=1e-5, rtol=0) for ours, theirs in zip(features, reference.backbone(image))
        )


def test_a_backbone_hands_out_maps_in_the_usual_layout_and_the_models_compute_channels_last():
    image = deterministic_input(2, 64, 64)
    with torch.no_grad():
        assert all(feature.is_contiguous() for feature in MobileViT("xx_small", out_indices=(1, 4)).eval()(image))
    assert build_classifier("xx_small").backbone.channels_last
    assert build_classifier("xx_small", channels_last=False).backbone.channels_last is False


@pytest.mark.parametrize("size", [(64, 64), (72, 90)])
def test_channels_last_gives_the_same_logits_and_keeps_its_memory_format(size):
    model = reference_classifier()
    image = deterministic_input(2, *size)
    channels_last = copy.deepcopy(model).to(memory_format=torch.channels_last)
    block_outputs = []
    for module in channels_last.modules():
        if isinstance(module, MobileViTBlock):
            module.register_forward_hook(lambda module, inputs, output: block_outputs.append(output))
    with torch.no_grad():
        expected = model(image)
        logits = channels_last(image.contiguous(memory_format=torch.channels_last))
    assert torch.allclose(logits, expected, atol=1e-4, rtol=0)
    assert len(block_outputs) == 3
    assert all(output.is_contiguous(memory_format=torch.channels_last) for output in block_outputs)


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_fold_inverts_unfold_in_both_memory_formats(memory_format):
    block = MobileViTBlock(channels=8, transformer_dim=12, ffn_dim=24, depth=1)
    feature = torch.rand(2, 12, 6, 10).contiguous(memory_format=memory_format)
    tokens = block.unfold(feature)
    assert tokens.shape == (2 * 4, 3 * 5, 12)
    # image b, patch position (i, j), patch (row, column) is pixel (2 * row + i, 2 * column + j)
    image, i, j, row, column = 1, 1, 0, 1, 3
    assert torch.equal(tokens[image * 4 + i * 2 + j, row * 5 + column], feature[image, :, 2 * row + i, 2 * column + j])
    channels_last = memory_format == torch.channels_last
    folded = block.fold(tokens, 2, 6, 10, channels_last)
    assert torch.equal(folded, feature)
    assert folded.is_contiguous(memory_format=memory_format)


def test_sizes_that_divide_are_not_resized(monkeypatch):
    calls = []
    interpolate = F.interpolate

    def counting_interpolate(*args, **kwargs):
        calls.append(kwargs.get("size"))
        return interpolate(*args, **kwargs)

    monkeypatch.setattr("mobilevit.models.mobilevit.F.interpolate", counting_interpolate)
    backbone = MobileViT("xx_small").eval()
    with torch.no_grad():
        backbone(torch.rand(1, 3, 128, 128))
        assert calls == []
        backbone(torch.rand(1, 3, 100, 128))
    # The MobileViT blocks see 13x16, 7x8 and 4x4 maps: the first two go up and back, the last divides.
    assert calls == [(14, 16), (13, 16), (8, 8), (7, 8)]


def test_in_place_activations_and_residuals_leave_gradients_unchanged():
    """Training through the in-place SiLUs and residual additions gives the plain gradients."""
    torch.manual_seed(0)
    model = build_classifier(TINY_ARCH, num_classes=10, stem_channels=8)
    plain = build_classifier(TINY_ARCH, num_classes=10, stem_channels=8, act_layer=nn.SiLU)
    plain.load_state_dict(model.state_dict())
    image, labels = torch.rand(3, 3, 37, 45), torch.tensor([1, 2, 3])
    model.loss(image, labels).backward()
    plain.loss(image, labels).backward()
    for (name, param), plain_param in zip(model.named_parameters(), plain.parameters()):
        assert torch.allclose(param.grad, plain_param.grad, atol=1e-6), name


@pytest.mark.parametrize("training", [False, True])
def test_backbone_compiles_without_graph_breaks(training):
    backbone = MobileViT(TINY_ARCH, stem_channels=8).train(training)
    torch._dynamo.reset()
    with torch.set_grad_enabled(training):  # the in-place and the autograd branch of Swish
        explanation = torch._dynamo.explain(backbone)(torch.rand(2, 3, 50, 67))
    assert explanation.graph_count == 1 and explanation.graph_break_count == 0, explanation.break_reasons


@pytest.mark.slow
def test_dynamic_sizes_trace_into_one_graph_each():
    """fullgraph=True fails on any graph break; sizes that divide and sizes that do not."""
    model = reference_classifier(TINY_ARCH, num_classes=10, stem_channels=8)
    torch._dynamo.reset()
    compiled = torch.compile(model, backend="eager", dynamic=True, fullgraph=True)
    with torch.no_grad():
        for size in [(64, 64), (48, 80), (50, 67)]:
            image = deterministic_input(3, *size)
            assert torch.equal(compiled(image), model(image)), size


@pytest.mark.slow
def test_compiled_fused_model_gives_the_eager_logits():
    model = reference_classifier(TINY_ARCH, num_classes=10, stem_channels=8)
    image = deterministic_input(2, 64, 64).contiguous(memory_format=torch.channels_last)
    fused = copy.deepcopy(model).fuse().to(memory_format=torch.channels_last)
    torch._dynamo.reset()
    compiled = torch.compile(fused, dynamic=False, fullgraph=True)
    with torch.no_grad():
        assert torch.allclose(compiled(image), model(image), atol=1e-4, rtol=0)
