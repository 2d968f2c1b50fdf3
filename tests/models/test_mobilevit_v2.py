"""Contract tests of the MobileViT v2 backbone: the arch table, parameter counts, odd sizes,
output stride, freezing, the v1 interface the heads read, TorchScript and torch.fx.

The expected numbers are the facts sheet's (reference/mobilevit-v2.md, sections 1.2 and 2.1),
written out here rather than derived by the library's own rules.
"""

import pytest
import torch
import torch.fx
from torch import nn

from mobilevit.config import ModelConfig
from mobilevit.models import (
    V2_ARCHS,
    DeepLabV3,
    MobileViT,
    MobileViTV2,
    MobileViTV2Block,
    build_backbone,
    build_classifier,
    build_segmenter,
    resolve_arch,
    symbolic_trace,
)
from mobilevit.models.mobilevit_v2 import SeparableSelfAttention, make_divisible
from mobilevit.zoo import get_model

# width: (stem, C1..C5, attention dims, FFN dims); facts sheet section 1.2
CHANNELS = {
    "v2_050": (16, (32, 64, 128, 192, 256), (64, 96, 128), (128, 192, 256)),
    "v2_075": (24, (48, 96, 192, 288, 384), (96, 144, 192), (192, 288, 384)),
    "v2_100": (32, (64, 128, 256, 384, 512), (128, 192, 256), (256, 384, 512)),
    "v2_125": (40, (80, 160, 320, 480, 640), (160, 240, 320), (320, 480, 640)),
    "v2_150": (48, (96, 192, 384, 576, 768), (192, 288, 384), (384, 576, 768)),
    "v2_175": (56, (112, 224, 448, 672, 896), (224, 336, 448), (448, 672, 896)),
    "v2_200": (64, (128, 256, 512, 768, 1024), (256, 384, 512), (512, 768, 1024)),
}
# Learnable parameters with a 1000-class head (section 2.1), and per part: stem, stages 1-5, head.
PARAMETERS = {
    "v2_050": (1_370_593, (464, 2_016, 25_280, 103_426, 387_460, 594_947, 257_000)),
    "v2_075": (2_866_009, (696, 4_176, 54_816, 228_866, 863_812, 1_328_643, 385_000)),
    "v2_100": (4_901_841, (928, 7_104, 95_616, 403_458, 1_528_580, 2_353_155, 513_000)),
    "v2_125": (7_478_089, (1_160, 10_800, 147_680, 627_202, 2_381_764, 3_668_483, 641_000)),
    "v2_150": (10_594_753, (1_392, 15_264, 211_008, 900_098, 3_423_364, 5_274_627, 769_000)),
    "v2_175": (14_251_833, (1_624, 20_496, 285_600, 1_222_146, 4_653_380, 7_171_587, 897_000)),
    "v2_200": (18_449_329, (1_856, 26_496, 371_456, 1_593_346, 6_071_812, 9_359_363, 1_025_000)),
}


def count(module: nn.Module) -> int:
    return sum(param.numel() for param in module.parameters())


def test_every_published_width_is_named():
    assert tuple(V2_ARCHS) == tuple(CHANNELS)


@pytest.mark.parametrize("arch", CHANNELS)
def test_arch_table_follows_the_width_rules(arch):
    stem, channels, dims, ffn_dims = CHANNELS[arch]
    table = V2_ARCHS[arch]
    assert table.stem_channels == stem
    assert tuple(stage.out_channels for stage in table.stages) == channels
    assert tuple(stage.transformer_dim for stage in table.stages[2:]) == dims
    assert tuple(stage.ffn_dim for stage in table.stages[2:]) == ffn_dims
    assert tuple(stage.depth for stage in table.stages[2:]) == (2, 4, 3)
    assert all(stage.expand_ratio == 2 for stage in table.stages)
    assert resolve_arch(arch) == table.stages


def test_make_divisible_adds_a_divisor_where_rounding_loses_more_than_ten_percent():
    assert make_divisible(48, 16) == 48 and make_divisible(20, 16) == 32 and make_divisible(8, 8, 16) == 16


@pytest.mark.parametrize("arch", PARAMETERS)
def test_parameter_counts_are_the_published_ones(arch):
    total, parts = PARAMETERS[arch]
    with torch.device("meta"):
        model = build_classifier(arch, num_classes=1000)
    backbone = model.backbone
    assert count(model) == total
    assert (count(backbone.stem), *(count(layer) for layer in backbone.layers), count(model.head)) == parts
    assert isinstance(backbone, MobileViTV2) and backbone.conv_1x1_exp is None


def test_stage_outputs_and_the_odd_map_resized_up_before_the_block():
    """224 gives a 7x7 map before the last block, which ml-cvnets and timm resize to 8x8 and keep."""
    backbone = MobileViTV2("v2_050", out_indices=(0, 1, 2, 3, 4)).eval()
    with torch.no_grad():
        outs = backbone(torch.rand(1, 3, 224, 224))
    assert [tuple(out.shape) for out in outs] == [
        (1, 32, 112, 112),
        (1, 64, 56, 56),
        (1, 128, 28, 28),
        (1, 192, 14, 14),
        (1, 256, 8, 8),
    ]


def test_the_block_resizes_with_aligned_corners_and_keeps_the_larger_size():
    block = MobileViTV2Block(16, 8, 16, depth=1).eval()
    x = torch.rand(1, 16, 5, 7)
    resized = nn.functional.interpolate(x, size=(6, 8), mode="bilinear", align_corners=True)
    with torch.no_grad():
        assert torch.equal(block(x), block(resized))
        assert block(x).shape == (1, 16, 6, 8)


def test_unfold_and_fold_are_inverse_and_lay_patches_out_as_ml_cvnets():
    block = MobileViTV2Block(4, 4, 8, depth=1)
    x = torch.arange(2 * 4 * 4 * 6, dtype=torch.float32).reshape(2, 4, 4, 6)
    patches = block.unfold(x)
    assert patches.shape == (2, 4, 4, 6)  # (B, d, P, N): 2x2 patches, a 2x3 grid of them
    # F.unfold with kernel = stride = patch: P is (row, column) in the patch, N row-major over the grid
    expected = nn.functional.unfold(x, kernel_size=2, stride=2).reshape(2, 4, 4, 6)
    assert torch.equal(patches, expected)
    assert torch.equal(block.fold(patches, 4, 6), x)


def test_separable_attention_is_the_published_formula():
    attention = SeparableSelfAttention(3).eval()
    x = torch.randn(2, 3, 4, 5)
    qkv = attention.qkv_proj(x)
    query, key, value = qkv[:, :1], qkv[:, 1:4], qkv[:, 4:]
    expected = torch.empty_like(value)
    for b in range(2):
        for p in range(4):  # each pixel position attends over the patches on its own
            scores = query[b, 0, p].softmax(0)
            context = (key[b, :, p] * scores).sum(-1)
            expected[b, :, p] = value[b, :, p].relu() * context[:, None]
    with torch.no_grad():
        assert torch.allclose(attention(x), attention.out_proj(expected), atol=1e-6)


@pytest.mark.parametrize(
    "output_stride, dilations",
    [
        (32, {"layers.3.0": 1, "layers.3.1": 1, "layers.4.0": 1, "layers.4.1": 1}),
        (16, {"layers.3.0": 1, "layers.3.1": 1, "layers.4.0": 1, "layers.4.1": 2}),
        (8, {"layers.3.0": 1, "layers.3.1": 2, "layers.4.0": 2, "layers.4.1": 4}),
    ],
)
def test_output_stride_dilates_as_ml_cvnets(output_stride, dilations):
    backbone = MobileViTV2("v2_050", output_stride=output_stride, out_indices=(4,)).eval()
    depthwise = {
        "layers.3.0": backbone.layers[3][0].conv[1].conv,
        "layers.3.1": backbone.layers[3][1].local_rep[0].conv,
        "layers.4.0": backbone.layers[4][0].conv[1].conv,
        "layers.4.1": backbone.layers[4][1].local_rep[0].conv,
    }
    assert {name: conv.dilation[0] for name, conv in depthwise.items()} == dilations
    with torch.no_grad():
        assert backbone(torch.rand(1, 3, 128, 128))[0].shape == (1, 256, 128 // output_stride, 128 // output_stride)


def test_frozen_stages_and_norm_eval():
    backbone = MobileViTV2("v2_050", frozen_stages=2, norm_eval=True).train()
    assert not any(param.requires_grad for param in backbone.stem.parameters())
    assert not any(param.requires_grad for param in backbone.layers[1].parameters())
    assert all(param.requires_grad for param in backbone.layers[2].parameters())
    assert not any(module.training for module in backbone.modules() if isinstance(module, nn.BatchNorm2d))
    assert backbone.layers[2][1].global_rep[0].norm1.training  # GroupNorm keeps no statistics to protect


def test_every_parameter_gets_a_gradient():
    model = build_classifier("v2_050", num_classes=3).train()
    model.loss(torch.rand(2, 3, 32, 32), torch.tensor([0, 2])).backward()
    assert all(param.grad is not None and param.grad.abs().sum() > 0 for param in model.parameters())


def test_the_heads_take_a_v2_backbone_through_the_one_dispatch():
    assert isinstance(build_backbone("v2_100"), MobileViTV2) and type(build_backbone("small")) is MobileViT
    segmenter = build_segmenter("v2_050", num_classes=5).eval()
    assert isinstance(segmenter, DeepLabV3) and isinstance(segmenter.backbone, MobileViTV2)
    with torch.no_grad():
        assert segmenter(torch.rand(1, 3, 64, 64)).shape == (1, 5, 64, 64)
    assert ModelConfig(arch="v2_100", num_classes=10).arch == "v2_100"


def test_fused_model_gives_the_same_logits():
    model = build_classifier("v2_050").eval()
    x = torch.rand(2, 3, 96, 96)
    with torch.no_grad():
        expected = model(x)
        assert torch.allclose(model.fuse()(x), expected, atol=1e-4)


def test_errors_name_the_fix():
    with pytest.raises(ValueError, match="v2_050, v2_075, v2_100"):
        build_classifier("v2_300")
    with pytest.raises(ValueError, match="expand_output must be False"):
        MobileViTV2("v2_050", expand_output=True)


def test_the_block_scripts_and_traces():
    """TorchScript and torch.fx take the v2 block (layers without v1's in-place fast paths)."""
    block = MobileViTV2Block(16, 8, 16, depth=2, norm_layer=nn.BatchNorm2d, act_layer=nn.SiLU).eval()
    x = torch.rand(2, 16, 7, 9)
    with torch.no_grad():
        expected = block(x)
        assert torch.equal(torch.jit.script(block)(x), expected)
        block.always_resize = True  # a traced graph has no branches: it resizes always
        traced = torch.fx.symbolic_trace(block)
        assert torch.equal(traced(x), expected)
        assert traced(torch.rand(1, 16, 8, 8)).shape == (1, 16, 8, 8)


def test_the_whole_classifier_scripts_and_traces_at_any_size():
    model = build_classifier("v2_050", num_classes=10).eval()
    scripted, traced = torch.jit.script(model), symbolic_trace(model)
    for x in (torch.rand(2, 3, 64, 64), torch.rand(1, 3, 96, 72)):  # 96x72: odd stage maps
        with torch.no_grad():
            expected = model(x)
            assert torch.allclose(scripted(x), expected, atol=1e-5)
            assert torch.allclose(traced(x), expected, atol=1e-5)


def test_features_only_and_pooled_features_of_a_v2_zoo_model():
    backbone = get_model("mobilevitv2-050_3rdparty_in1k", features_only=True).eval()
    assert isinstance(backbone, MobileViTV2)
    assert backbone.feature_info.channels() == [32, 64, 128, 192, 256]
    assert backbone.feature_info.reduction() == [2, 4, 8, 16, 32]
    with torch.no_grad():
        maps = backbone(torch.rand(1, 3, 64, 64))
    assert [tuple(feature.shape[1:]) for feature in maps] == [
        (32, 32, 32),
        (64, 16, 16),
        (128, 8, 8),
        (192, 4, 4),
        (256, 2, 2),
    ]
    pooled = build_classifier("v2_100", num_classes=0).eval()
    assert pooled.num_features == 512 and pooled(torch.rand(1, 3, 64, 64)).shape == (1, 512)


def test_a_hook_keeps_the_ffn_output_it_was_given():
    """Swish works in place in inference: a hook that keeps the FFN's first conv output sees it unchanged."""
    model = build_classifier("v2_050").eval()
    image = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        plain = model(image)
    ffn = model.backbone.layers[2][1].global_rep[0].ffn
    kept, given = [], []  # appended to: a hook that returns a tensor would replace the output
    ffn.fc1.register_forward_hook(lambda module, inputs, output: kept.append(output))
    ffn.register_forward_pre_hook(lambda module, inputs: given.append(inputs[0].clone()))
    with torch.no_grad():
        assert torch.equal(model(image), plain)
        expected = nn.functional.conv2d(given[0], ffn.fc1.weight, ffn.fc1.bias)
    assert len(kept) == 1 and torch.equal(kept[0], expected)
