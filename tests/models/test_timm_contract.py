"""timm's model contract on the classifiers, checked against timm's own models on the same weights.

timm's model gets deterministic weights and an RGB batch; ours gets the same weights through
``mobilevit.convert`` (a timm file given to ``get_model``) and the same batch in BGR. Parity with
timm is checked to 1e-4 (two implementations, as the other parity tests); our scripted and
traced models against our eager one to 1e-5.
"""

import copy
import io
import warnings

import pytest
import torch
from torch import nn

from arch_table import ARCH_NAMES, PUBLISHED
from mobilevit import get_model
from mobilevit.analysis import TensorMemory
from mobilevit.models import MobileViT, MobileViTBlock, build_classifier, leaf_modules, symbolic_trace
from mobilevit.models.mobilevit import BatchNorm2d, Swish
from reference_weights import deterministic_input, deterministic_state_dict

timm = pytest.importorskip("timm")

TIMM_TOLERANCE = 1e-4
EXACT = 1e-5  # ours scripted or traced against ours eager


def assert_close(actual, expected, atol):
    assert actual.shape == expected.shape
    assert torch.allclose(actual, expected, atol=atol, rtol=0), (actual - expected).abs().max()


def make_reference(arch, tmp_path_factory):
    """(arch, timm's model in eval mode, the file of its weights, an RGB batch)."""
    model = timm.create_model(PUBLISHED[arch].timm_name).eval()
    model.load_state_dict(deterministic_state_dict(model.state_dict()))
    path = tmp_path_factory.mktemp(arch) / "timm.pth"
    torch.save(model.state_dict(), path)
    return arch, model, path, deterministic_input(2, 128, 192)


@pytest.fixture(scope="module", params=ARCH_NAMES)
def reference(request, tmp_path_factory):
    return make_reference(request.param, tmp_path_factory)


@pytest.fixture(scope="module")
def xxs_reference(tmp_path_factory):
    """The smallest size alone, for what behaves alike at every size."""
    return make_reference("xx_small", tmp_path_factory)


def timm_model(reference, **options):
    arch, _, path, _ = reference
    model = timm.create_model(
        PUBLISHED[arch].timm_name, pretrained=True, pretrained_cfg_overlay={"file": str(path)}, **options
    )
    return model.eval()


def test_num_classes_0_gives_timms_pooled_features(reference):
    arch, _, path, rgb = reference
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no head to load is no news
        ours = get_model(PUBLISHED[arch].zoo_name, pretrained=path, num_classes=0).eval()
    theirs = timm_model(reference, num_classes=0)
    assert ours.num_features == theirs.num_features == PUBLISHED[arch].pooled_channels
    assert not any(key.startswith("head.") for key in ours.state_dict())
    with torch.no_grad():
        pooled = ours(rgb.flip(1))
        assert pooled.shape == (2, ours.num_features)
        assert_close(pooled, theirs(rgb), TIMM_TOLERANCE)
    with pytest.raises(RuntimeError, match="reset_classifier"):
        ours.predict(rgb)


def test_forward_features_and_forward_head_equal_timms(reference):
    arch, theirs, path, rgb = reference
    ours = get_model(PUBLISHED[arch].zoo_name, pretrained=path).eval()
    with torch.no_grad():
        features = ours.forward_features(rgb.flip(1))
        assert_close(features, theirs.forward_features(rgb), TIMM_TOLERANCE)
        pre_logits = ours.forward_head(features, pre_logits=True)
        assert_close(pre_logits, theirs.forward_head(theirs.forward_features(rgb), pre_logits=True), TIMM_TOLERANCE)
        logits = ours.forward_head(features)
        assert torch.equal(logits, ours(rgb.flip(1)))
        assert_close(logits, theirs(rgb), TIMM_TOLERANCE)
    assert isinstance(ours.get_classifier(), nn.Linear)


def test_reset_classifier_as_timms(xxs_reference):
    arch, _, path, rgb = xxs_reference
    ours = get_model(PUBLISHED[arch].zoo_name, pretrained=path).eval()
    theirs = timm_model(xxs_reference)
    assert ours.class_names
    for model in (ours, theirs):
        model.reset_classifier(10)
        assert model.get_classifier().out_features == 10
    assert ours.num_classes == 10 and ours.class_names == ()
    with torch.no_grad():
        assert ours(rgb.flip(1)).shape == theirs(rgb).shape == (2, 10)
        for model in (ours, theirs):
            model.reset_classifier(0)
        assert_close(ours(rgb.flip(1)), theirs(rgb), TIMM_TOLERANCE)
        assert torch.equal(ours(rgb), ours.forward_head(ours.forward_features(rgb), pre_logits=True))
    with pytest.raises(ValueError, match="global_pool"):
        ours.reset_classifier(10, global_pool="max")
    with pytest.raises(ValueError, match="num_classes"):
        ours.reset_classifier(-1)


@pytest.mark.parametrize("out_indices", [None, (1, 3, 4), (2,)])
def test_features_only_matches_timms_feature_maps_and_feature_info(xxs_reference, out_indices):
    arch, _, path, rgb = xxs_reference
    options = {} if out_indices is None else {"out_indices": out_indices}
    backbone = get_model(PUBLISHED[arch].zoo_name, pretrained=path, features_only=True, **options).eval()
    theirs = timm_model(xxs_reference, features_only=True, **options)
    assert isinstance(backbone, MobileViT)
    info = backbone.feature_info
    assert info.channels() == theirs.feature_info.channels()
    assert info.reduction() == theirs.feature_info.reduction()
    assert list(info.out_indices) == list(theirs.feature_info.out_indices)
    with torch.no_grad():
        maps, their_maps = backbone(rgb.flip(1)), theirs(rgb)
    assert isinstance(maps, list) and len(maps) == len(their_maps) == len(info.channels())
    for index, (ours, expected) in enumerate(zip(maps, their_maps)):
        assert ours.is_contiguous()  # the usual memory layout for a backbone's user
        assert ours.shape[1] == info.channels(index)
        assert rgb.shape[2] // ours.shape[2] == rgb.shape[3] // ours.shape[3] == info.reduction(index)
        assert_close(ours, expected, TIMM_TOLERANCE)
    assert [level["num_chs"] for level in info.get_dicts()] == info.channels()


@pytest.mark.parametrize(("output_stride", "reductions"), [(32, [2, 4, 8, 16, 32]), (16, [2, 4, 8, 16, 16])])
def test_feature_info_names_the_modules_giving_the_maps(output_stride, reductions):
    backbone = MobileViT("x_small", out_indices=(4, 0, 2, 1, 3), output_stride=output_stride).eval()
    info = backbone.feature_info
    assert info.out_indices == (0, 1, 2, 3, 4) and len(info) == 5
    assert info.reduction() == reductions
    assert info.channels() == list(PUBLISHED["x_small"].stage_channels)
    assert info.module_name() == ["layers.0", "layers.1", "layers.2", "layers.3", "conv_1x1_exp"]
    hooked = []
    for name in info.module_name():
        backbone.get_submodule(name).register_forward_hook(lambda module, inputs, output: hooked.append(output))
    image = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        maps = backbone(image)
    assert all(ours is theirs for ours, theirs in zip(maps, hooked))
    assert [image.shape[3] // level.shape[3] for level in maps] == reductions
    assert info[4] == {"num_chs": 384, "reduction": reductions[4], "module": "conv_1x1_exp"}


def test_features_only_and_num_classes_0_are_refused_where_they_mean_nothing():
    with pytest.raises(ValueError, match="takes the backbone of a model that pools it"):
        get_model("deeplabv3_mobilevit-xxsmall_3rdparty_voc", features_only=True)
    with pytest.raises(ValueError, match="leave num_classes out"):
        get_model("mobilevit-xxsmall_3rdparty_in1k", features_only=True, num_classes=10)
    with pytest.raises(ValueError, match="num_classes must be a positive integer, or 0"):
        build_classifier("xx_small", num_classes=-1)
    headless = build_classifier("xx_small", num_classes=0)
    with pytest.raises(RuntimeError, match="num_classes=0"):
        headless.loss(torch.rand(1, 3, 64, 64), torch.tensor([0]))


def deterministic_classifier(arch, **options):
    model = build_classifier(arch, **options)
    model.load_state_dict(deterministic_state_dict(model.state_dict()))
    return model.eval()


def saved_and_loaded(scripted):
    buffer = io.BytesIO()
    torch.jit.save(scripted, buffer)
    buffer.seek(0)
    return torch.jit.load(buffer)


@pytest.mark.parametrize(
    "arch", [arch if arch == "xx_small" else pytest.param(arch, marks=pytest.mark.slow) for arch in ARCH_NAMES]
)
def test_scripted_and_traced_models_give_the_eager_logits(arch):
    model = deterministic_classifier(arch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.script is deprecated upstream
        scripted = saved_and_loaded(torch.jit.script(model))
    traced = symbolic_trace(model)
    for size in [(128, 192), (90, 111)]:  # the second resizes every patch grid
        image = deterministic_input(2, *size)
        with torch.no_grad():
            expected = model(image)
            assert_close(scripted(image), expected, EXACT)
            assert_close(traced(image), expected, EXACT)


def test_fused_models_and_backbones_script_and_trace():
    fused = copy.deepcopy(deterministic_classifier("xx_small")).fuse()
    backbone = MobileViT("xx_small", out_indices=(1, 2, 4)).eval()
    image = deterministic_input(1, 96, 128)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        scripted = [torch.jit.script(fused), torch.jit.script(backbone)]
    with torch.no_grad():
        assert_close(scripted[0](image), fused(image), EXACT)
        assert_close(symbolic_trace(fused)(image), fused(image), EXACT)
        for other in (scripted[1], symbolic_trace(backbone)):
            for ours, expected in zip(other(image), backbone(image), strict=True):
                assert_close(ours, expected, EXACT)


def test_traced_graph_calls_the_leaf_modules_whole_and_checks_its_input():
    assert {Swish, BatchNorm2d, MobileViTBlock} <= set(leaf_modules())
    traced = symbolic_trace(build_classifier("xx_small").eval())
    called = {type(traced.get_submodule(node.target)) for node in traced.graph.nodes if node.op == "call_module"}
    assert {Swish, BatchNorm2d, MobileViTBlock} <= called
    with pytest.raises(ValueError, match=r"shape \(B, 3, H, W\)"):
        traced(torch.rand(1, 4, 64, 64))


def test_torchvision_feature_extractor_works_with_the_leaf_modules():
    from torchvision.models.feature_extraction import create_feature_extractor

    model = deterministic_classifier("xx_small")
    extractor = create_feature_extractor(
        model,
        {"backbone.layers.2": "stride8", "head.fc": "logits"},
        tracer_kwargs={"leaf_modules": list(leaf_modules())},
    )
    image = deterministic_input(1, 64, 64)
    with torch.no_grad():
        outputs = extractor(image)
        assert outputs["stride8"].shape == (1, 48, 8, 8)
        assert_close(outputs["logits"], model(image), EXACT)


def training_step(model, image, labels, seed=0):
    torch.manual_seed(seed)  # the same dropout masks in both runs
    model.zero_grad(set_to_none=True)
    loss = model.loss(image, labels)
    loss.backward()
    return loss.detach()


def test_grad_checkpointing_gives_the_same_gradients_and_statistics():
    plain = build_classifier("xx_small", num_classes=5, dropout=0.1, drop_rate=0.1).train()
    plain.load_state_dict(deterministic_state_dict(plain.state_dict()))
    checkpointed = copy.deepcopy(plain)
    checkpointed.set_grad_checkpointing()
    assert checkpointed.backbone.grad_checkpointing and not plain.backbone.grad_checkpointing
    image, labels = deterministic_input(2, 64, 96), torch.tensor([1, 3])
    for _ in range(2):
        torch.testing.assert_close(training_step(checkpointed, image, labels), training_step(plain, image, labels))
        for (name, ours), theirs in zip(checkpointed.named_parameters(), plain.parameters()):
            torch.testing.assert_close(ours.grad, theirs.grad, msg=name)
    # BatchNorm statistics are updated once per step, not again when a block is recomputed
    for (name, ours), theirs in zip(checkpointed.named_buffers(), plain.buffers()):
        torch.testing.assert_close(ours, theirs, msg=name)
    assert checkpointed.backbone.stem.bn.num_batches_tracked.item() == 2


def test_grad_checkpointing_lowers_the_memory_of_a_training_step():
    model = build_classifier("xx_small", num_classes=5).train()
    image, labels = torch.rand(2, 3, 128, 128), torch.tensor([1, 3])
    peaks = {}
    for enable in (False, True):
        model.set_grad_checkpointing(enable)
        with TensorMemory() as memory:
            training_step(model, image, labels)
        peaks[enable] = memory.peak
    assert peaks[True] < 0.6 * peaks[False], peaks
