"""DeepLabv3 checkpoints of both published layouts load into our segmenter and give the reference's logits.

The reference is Hugging Face's ``MobileViTForSemanticSegmentation`` with every weight, BatchNorm
statistic and LayerNorm affine set to a fixed pattern, saved with ``save_pretrained``. The ml-cvnets
v0.1 layout (``deeplabv3_mobilevit_*.pt``) is built from its state dict by reversing Hugging Face's
conversion script as dense-tasks.md records it, written out here independently of our converter.
"""

import re

import pytest
import torch

import mobilevit
from arch_table import PUBLISHED
from mobilevit.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from mobilevit.cli import main
from mobilevit.convert import CheckpointError, detect_layout, infer_arch, num_classes_of, to_mobilevit
from mobilevit.engine.finetune import load_pretrained
from mobilevit.models import build_classifier, build_segmenter
from mobilevit.tasks import task_for_weights
from reference_weights import deterministic_input, deterministic_state_dict

transformers = pytest.importorskip("transformers")

TOLERANCE = 1e-4

# Hugging Face -> ml-cvnets v0.1, the reverse of convert_mlcvnets_to_pytorch.py's rename_key.
HF_TO_CVNETS = [
    (r"^segmentation_head\.classifier\.convolution\.", "seg_head.classifier.classifier.block.conv."),
    (r"^segmentation_head\.aspp\.convs\.4\.conv_1x1\.", "seg_head.aspp.aspp_layer.convs.4.aspp_pool.conv_1x1."),
    (r"^segmentation_head\.aspp\.", "seg_head.aspp.aspp_layer."),
    (r"^mobilevit\.conv_stem\.", "encoder.conv_1."),
    (r"^mobilevit\.encoder\.layer\.(\d)\.layer\.(\d+)\.", lambda m: f"encoder.layer_{int(m[1]) + 1}.{m[2]}.block."),
    (r"^mobilevit\.encoder\.layer\.(\d)\.downsampling_layer\.", lambda m: f"encoder.layer_{int(m[1]) + 1}.0.block."),
    (r"^mobilevit\.encoder\.layer\.(\d)\.conv_kxk\.", lambda m: f"encoder.layer_{int(m[1]) + 1}.1.local_rep.conv_3x3."),
    (r"^mobilevit\.encoder\.layer\.(\d)\.conv_1x1\.", lambda m: f"encoder.layer_{int(m[1]) + 1}.1.local_rep.conv_1x1."),
    (r"^mobilevit\.encoder\.layer\.(\d)\.conv_projection\.", lambda m: f"encoder.layer_{int(m[1]) + 1}.1.conv_proj."),
    (r"^mobilevit\.encoder\.layer\.(\d)\.fusion\.", lambda m: f"encoder.layer_{int(m[1]) + 1}.1.fusion."),
    (
        r"^mobilevit\.encoder\.layer\.(\d)\.transformer\.layer\.(\d+)\.",
        lambda m: f"encoder.layer_{int(m[1]) + 1}.1.global_rep.{m[2]}.",
    ),
    (r"\.layernorm_before\.", ".pre_norm_mha.0."),
    (r"\.attention\.output\.dense\.", ".pre_norm_mha.1.out_proj."),
    (r"\.layernorm_after\.", ".pre_norm_ffn.0."),
    (r"\.intermediate\.dense\.", ".pre_norm_ffn.1."),
    (r"\.output\.dense\.", ".pre_norm_ffn.4."),
    (r"\.expand_1x1\.", ".exp_1x1."),
    (r"\.reduce_1x1\.", ".red_1x1."),
    (r"\.convolution\.", ".block.conv."),
    (r"\.normalization\.", ".block.norm."),
]
_FINAL_NORM = re.compile(r"^mobilevit\.encoder\.layer\.(\d)\.layernorm\.")
_PROJECTION = re.compile(r"^(?P<module>.*)\.attention\.attention\.(?P<part>query|key|value)\.(?P<param>weight|bias)$")


def huggingface_to_cvnets(state_dict):
    """The ml-cvnets v0.1 DeepLabv3 state dict holding the same tensors as a Hugging Face one."""
    depths = {}
    for key in state_dict:
        match = re.match(r"mobilevit\.encoder\.layer\.(\d)\.transformer\.layer\.(\d+)\.", key)
        if match:
            depths[match[1]] = max(depths.get(match[1], 0), int(match[2]) + 1)
    result, projections = {}, {}
    for key, value in state_dict.items():
        projection = _PROJECTION.match(key)
        if projection:  # fused below into ml-cvnets' qkv_proj, rows q, k, v
            projections.setdefault((projection["module"], projection["param"]), {})[projection["part"]] = value
            continue
        final = _FINAL_NORM.match(key)
        new = (
            f"encoder.layer_{int(final[1]) + 1}.1.global_rep.{depths[final[1]]}.{key[final.end() :]}" if final else key
        )
        for pattern, replacement in HF_TO_CVNETS:
            new = re.sub(pattern, replacement, new)
        result[new] = value
    for (module, param), parts in projections.items():
        new = re.sub(r"\.transformer\.layer\.(\d+)$", r".transformer.layer.\1.qkv", module)
        for pattern, replacement in HF_TO_CVNETS:
            new = re.sub(pattern, replacement, new)
        result[new.replace(".qkv", ".pre_norm_mha.1.qkv_proj.") + param] = torch.cat(
            [parts["query"], parts["key"], parts["value"]]
        )
    return result


CASES = [
    pytest.param((arch, stride), id=f"{arch}-os{stride}", marks=[pytest.mark.slow] if stride == 8 else [])
    for arch in PUBLISHED
    for stride in (16, 8)
]


@pytest.fixture(scope="module", params=CASES)
def reference(request, tmp_path_factory):
    """A randomised Hugging Face segmenter of one arch and output stride, and its save_pretrained folder."""
    arch, output_stride = request.param
    config = transformers.MobileViTConfig(num_labels=21, output_stride=output_stride, **PUBLISHED[arch].huggingface)
    model = transformers.MobileViTForSemanticSegmentation(config).eval()
    model.load_state_dict(deterministic_state_dict(model.state_dict()))
    folder = tmp_path_factory.mktemp(f"{arch}-os{output_stride}")
    model.save_pretrained(folder / "hf")
    return {"arch": arch, "output_stride": output_stride, "model": model, "folder": folder}


def segmenter(reference):
    return build_segmenter(reference["arch"], num_classes=21, output_stride=reference["output_stride"]).eval()


@pytest.mark.parametrize("height, width", [(512, 512), (500, 375)])
def test_hugging_face_checkpoint_gives_its_low_resolution_logits(reference, height, width):
    """Hugging Face's ``logits`` are ours before upsampling (``forward_low_res``); ``model(x)``
    upsamples them as Hugging Face's post-processing does (tested in models/test_deeplabv3.py)."""
    checkpoint = read_checkpoint(reference["folder"] / "hf")
    assert checkpoint.layout == "huggingface_deeplabv3"
    model = segmenter(reference)
    load_checkpoint(model, checkpoint)  # strict: every key and shape
    image = deterministic_input(batch=1, height=height, width=width)
    with torch.no_grad():
        expected = reference["model"](pixel_values=image).logits
        logits = model.forward_low_res(image)
    stride = reference["output_stride"]
    assert logits.shape == expected.shape == (1, 21, -(-height // stride), -(-width // stride))
    assert expected.std() > 0.5  # logits that vary over the picture: the comparison means something
    torch.testing.assert_close(logits, expected, atol=TOLERANCE, rtol=0)


def test_cvnets_layout_uses_every_key_and_matches_every_shape(reference, tmp_path):
    hf_state = reference["model"].state_dict()
    cvnets_state = huggingface_to_cvnets(hf_state)
    assert (len(hf_state), len(cvnets_state)) == (377, 341)  # dense-tasks.md 1.4: q, k, v fused
    assert not any("conv_1x1_exp" in key for key in cvnets_state)
    torch.save(cvnets_state, tmp_path / "deeplabv3_mobilevit.pt")
    checkpoint = read_checkpoint(tmp_path / "deeplabv3_mobilevit.pt")  # fails on any key no row maps
    assert checkpoint.layout == "cvnets_deeplabv3"
    load_checkpoint(segmenter(reference), checkpoint)  # fails on any missing key or wrong shape
    from_huggingface = to_mobilevit(hf_state, "huggingface_deeplabv3")
    assert checkpoint.state_dict.keys() == from_huggingface.keys()
    assert all(torch.equal(checkpoint.state_dict[key], from_huggingface[key]) for key in from_huggingface)


def test_segmentation_layouts_are_told_apart_from_classification_ones(reference):
    hf_state = reference["model"].state_dict()
    assert detect_layout(hf_state) == "huggingface_deeplabv3"
    assert detect_layout(huggingface_to_cvnets(hf_state)) == "cvnets_deeplabv3"
    backbone_only = {key: value for key, value in hf_state.items() if key.startswith("mobilevit.")}
    assert detect_layout(backbone_only) == "huggingface"


def test_an_unmapped_head_key_is_named(reference):
    cvnets_state = huggingface_to_cvnets(reference["model"].state_dict())
    cvnets_state["seg_head.aux_head.block.conv.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match="seg_head.aux_head.block.conv.weight"):
        to_mobilevit(cvnets_state, "cvnets_deeplabv3")


def test_a_classification_checkpoint_seeds_the_backbone_of_a_new_segmenter(tmp_path):
    classifier = build_classifier("xx_small")
    torch.save({"state_dict": classifier.state_dict()}, tmp_path / "classifier.pth")
    model = build_segmenter("xx_small", num_classes=3)
    head_before = {key: value.clone() for key, value in model.head.state_dict().items()}
    report = load_pretrained(model, tmp_path / "classifier.pth", keys="backbone")
    ours = model.state_dict()
    assert set(report.loaded) == {key for key in ours if key.startswith("backbone.")}
    assert all(torch.equal(ours[key], classifier.state_dict()[key]) for key in report.loaded)
    assert {key for key, reason in report.skipped.items() if reason == "not in the model"} == {
        key for key in classifier.state_dict() if key.startswith("backbone.conv_1x1_exp.")
    }
    assert all(torch.equal(model.head.state_dict()[key], value) for key, value in head_before.items())
    with pytest.raises(CheckpointError, match="does not match the model"):  # the strict loader refuses it
        load_checkpoint(model, tmp_path / "classifier.pth")


def test_get_model_replaces_the_classifier_of_a_segmentation_checkpoint(tmp_path):
    name = "deeplabv3_mobilevit-xxsmall_3rdparty_voc"
    source = mobilevit.get_model(name)
    torch.save(source.state_dict(), tmp_path / "voc.pth")
    with pytest.warns(UserWarning, match="head.classifier.weight"):
        model = mobilevit.get_model(name, pretrained=tmp_path / "voc.pth", num_classes=2)
    assert torch.equal(model.head.aspp.project[0].weight, source.head.aspp.project[0].weight)
    assert model.head.classifier.out_channels == 2


def test_a_converted_cvnets_checkpoint_describes_its_segmenter(tmp_path):
    config = transformers.MobileViTConfig(num_labels=21, output_stride=16, **PUBLISHED["xx_small"].huggingface)
    reference = transformers.MobileViTForSemanticSegmentation(config).eval()
    reference.load_state_dict(deterministic_state_dict(reference.state_dict()))
    torch.save(huggingface_to_cvnets(reference.state_dict()), tmp_path / "deeplabv3_mobilevit_xxs.pt")
    ours = read_checkpoint(tmp_path / "deeplabv3_mobilevit_xxs.pt").state_dict
    assert (infer_arch(ours), num_classes_of(ours), task_for_weights(ours).name) == ("xx_small", 21, "segmentation")

    assert main(["convert", str(tmp_path / "deeplabv3_mobilevit_xxs.pt"), str(tmp_path / "xxs.safetensors")]) == 0
    model = mobilevit.init_model(tmp_path / "xxs.safetensors")
    assert model.backbone.output_stride == 16 and not model.preprocessing.keep_aspect_ratio
    image = deterministic_input(batch=1, height=128, width=96)
    with torch.no_grad():
        torch.testing.assert_close(
            model.forward_low_res(image), reference(pixel_values=image).logits, atol=TOLERANCE, rtol=0
        )


def test_our_format_keeps_a_segmenters_output_stride_and_classes(tmp_path):
    model = build_segmenter("xx_small", num_classes=2, output_stride=8)
    save_checkpoint(
        tmp_path / "os8.safetensors", model.state_dict(), "xx_small", output_stride=8, class_names=["sky", "ground"]
    )
    loaded = mobilevit.init_model(tmp_path / "os8.safetensors")
    assert loaded.backbone.output_stride == 8 and loaded.class_names == ("sky", "ground")
    assert read_checkpoint(tmp_path / "os8.safetensors").metadata["num_classes"] == 2
