"""Checkpoints of every published layout load into our models and give the reference's logits.

The references get random weights and BatchNorm statistics, scaled so that the logits depend
strongly on the input (checked in the fixture): timm and Hugging Face models directly; ml-cvnets
and mmpretrain state dicts by renaming timm's with the key table of the reference notes
(checkpoint-layouts.md), written out here independently of the converter. Each side gets the same
256x256 image in its own channel order: timm RGB, the others BGR.
"""

import re

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import mobilevit
from arch_table import ARCH_NAMES, PUBLISHED
from mobilevit.apis import prepare_batch
from mobilevit.checkpoint import CheckpointError, load_checkpoint, read_checkpoint
from mobilevit.convert import detect_layout, from_timm, infer_arch, to_mobilevit
from mobilevit.data.transforms import Preprocessing
from mobilevit.models import build_classifier
from reference_weights import lively_state_dict

timm = pytest.importorskip("timm")
transformers = pytest.importorskip("transformers")

TOLERANCE = 1e-4
# A 256x256 input: our preprocessing then only reorders channels and scales.
IDENTITY_GEOMETRY = Preprocessing(resize_short=256, crop_size=256)

# timm -> ml-cvnets key renames, from the table in checkpoint-layouts.md.
TIMM_TO_CVNETS = [
    (r"^stem\.conv\.", "conv_1.block.conv."),
    (r"^stem\.bn\.", "conv_1.block.norm."),
    (r"^final_conv\.conv\.", "conv_1x1_exp.block.conv."),
    (r"^final_conv\.bn\.", "conv_1x1_exp.block.norm."),
    (r"^head\.fc\.", "classifier.fc."),
    (r"\.conv1_1x1\.conv\.", ".block.exp_1x1.block.conv."),
    (r"\.conv1_1x1\.bn\.", ".block.exp_1x1.block.norm."),
    (r"\.conv2_kxk\.conv\.", ".block.conv_3x3.block.conv."),
    (r"\.conv2_kxk\.bn\.", ".block.conv_3x3.block.norm."),
    (r"\.conv3_1x1\.conv\.", ".block.red_1x1.block.conv."),
    (r"\.conv3_1x1\.bn\.", ".block.red_1x1.block.norm."),
    (r"\.1\.conv_kxk\.conv\.", ".1.local_rep.conv_3x3.block.conv."),
    (r"\.1\.conv_kxk\.bn\.", ".1.local_rep.conv_3x3.block.norm."),
    (r"\.1\.conv_1x1\.weight$", ".1.local_rep.conv_1x1.block.conv.weight"),
    (r"\.transformer\.(\d+)\.norm1\.", r".global_rep.\1.pre_norm_mha.0."),
    (r"\.transformer\.(\d+)\.attn\.qkv\.", r".global_rep.\1.pre_norm_mha.1.qkv_proj."),
    (r"\.transformer\.(\d+)\.attn\.proj\.", r".global_rep.\1.pre_norm_mha.1.out_proj."),
    (r"\.transformer\.(\d+)\.norm2\.", r".global_rep.\1.pre_norm_ffn.0."),
    (r"\.transformer\.(\d+)\.mlp\.fc1\.", r".global_rep.\1.pre_norm_ffn.1."),
    (r"\.transformer\.(\d+)\.mlp\.fc2\.", r".global_rep.\1.pre_norm_ffn.4."),
    (r"\.conv_proj\.conv\.", ".conv_proj.block.conv."),
    (r"\.conv_proj\.bn\.", ".conv_proj.block.norm."),
    (r"\.conv_fusion\.conv\.", ".fusion.block.conv."),
    (r"\.conv_fusion\.bn\.", ".fusion.block.norm."),
]


def timm_to_cvnets(state_dict):
    depths = {}
    for key in state_dict:
        match = re.match(r"stages\.(\d+)\.1\.transformer\.(\d+)\.", key)
        if match:
            depths[match[1]] = max(depths.get(match[1], 0), int(match[2]) + 1)
    result = {}
    for key, value in state_dict.items():
        new = key
        for pattern, replacement in TIMM_TO_CVNETS:
            new = re.sub(pattern, replacement, new)
        new = re.sub(r"^stages\.(\d+)\.1\.norm\.", lambda m: f"stages.{m[1]}.1.global_rep.{depths[m[1]]}.", new)
        new = re.sub(r"^stages\.(\d+)\.", lambda m: f"layer_{int(m[1]) + 1}.", new)
        result[new] = value
    result["conv_1.block.conv.weight"] = state_dict["stem.conv.weight"].flip(1)  # timm takes RGB, cvnets BGR
    assert len(result) == len(state_dict)
    return result


@pytest.fixture(scope="module")
def image():
    """Waves of a different mean and frequency in each channel, plus noise: reversing the channels
    changes the picture a lot."""
    y, x = np.mgrid[0:256, 0:256] / 256.0
    waves = np.stack(
        [200 + 50 * np.sin(12 * x), 120 + 60 * np.cos(9 * y) * np.sin(5 * x), 30 + 25 * np.sin(20 * (x + y))], -1
    )
    return np.clip(waves + np.random.default_rng(0).normal(0, 10, waves.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def inputs(image):
    rgb = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    bgr = prepare_batch([image], IDENTITY_GEOMETRY, channel_order="RGB")
    assert torch.equal(bgr, rgb.flip(1))
    return rgb, bgr


@pytest.fixture(scope="module", params=ARCH_NAMES)
def references(request, inputs, tmp_path_factory):
    """Files of every layout for one arch, and the logits each reference gives."""
    arch = request.param
    published = PUBLISHED[arch]
    name, timm_name, hf_sizes = published.zoo_name, published.timm_name, published.huggingface
    rgb, bgr = inputs
    folder = tmp_path_factory.mktemp(arch)

    timm_model = timm.create_model(timm_name, pretrained=False).eval()
    timm_model.load_state_dict(lively_state_dict(timm_model.state_dict(), "head.fc.weight"))
    timm_state = timm_model.state_dict()
    torch.save(timm_state, folder / "timm.pth")
    save_file({key: value.contiguous() for key, value in timm_state.items()}, str(folder / "timm.safetensors"))
    torch.save(timm_to_cvnets(timm_state), folder / "cvnets.pt")
    torch.save({"meta": {"epoch": 300}, "state_dict": from_timm(timm_state)}, folder / "mmpretrain.pth")

    config = transformers.MobileViTConfig(num_labels=1000, **hf_sizes)
    hf_model = transformers.MobileViTForImageClassification(config).eval()
    hf_model.load_state_dict(lively_state_dict(hf_model.state_dict(), "classifier.weight"))
    hf_model.save_pretrained(folder / "hf")
    (folder / "hf_bin").mkdir()
    torch.save(hf_model.state_dict(), folder / "hf_bin" / "pytorch_model.bin")

    with torch.no_grad():
        timm_logits, timm_swapped = timm_model(torch.cat([rgb, bgr]))
        hf_logits, hf_swapped = hf_model(pixel_values=torch.cat([bgr, rgb])).logits
    # A parity test needs logits that depend on the input: here on its channel order.
    assert (timm_swapped - timm_logits).abs().max() > 0.1 and (hf_swapped - hf_logits).abs().max() > 0.1
    timm_logits, hf_logits = timm_logits[None], hf_logits[None]
    return {
        "arch": arch,
        "name": name,
        "folder": folder,
        "timm": timm_logits,
        "huggingface": hf_logits,
        "timm_state": timm_state,
        "hf_state": hf_model.state_dict(),
    }


@pytest.mark.parametrize(
    "file, layout, reference",
    [
        ("timm.pth", "timm", "timm"),
        ("cvnets.pt", "cvnets", "timm"),
        ("mmpretrain.pth", "mmpretrain", "timm"),
        ("hf", "huggingface", "huggingface"),
    ],
)
def test_every_layout_gives_the_reference_logits(references, inputs, file, layout, reference):
    model = mobilevit.init_model(references["name"], references["folder"] / file)
    assert read_checkpoint(references["folder"] / file).layout == layout
    with torch.no_grad():
        logits = model(inputs[1])
    expected = references[reference]
    assert torch.allclose(logits, expected, atol=TOLERANCE, rtol=0), (logits - expected).abs().max()


@pytest.mark.parametrize("file, sibling", [("timm.safetensors", "timm.pth"), ("hf_bin", "hf")])
def test_other_file_formats_read_to_the_same_weights(references, file, sibling):
    """The same weights as a file whose logits are checked above, hence the same logits."""
    ours, theirs = (read_checkpoint(references["folder"] / name).state_dict for name in (file, sibling))
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[key], theirs[key]) for key in ours)


def test_the_timm_stem_flip_is_what_makes_them_agree(image):
    timm_model = timm.create_model("mobilevit_xxs", pretrained=False).eval()
    timm_model.load_state_dict(lively_state_dict(timm_model.state_dict(), "head.fc.weight"))
    state = from_timm(timm_model.state_dict())
    model = build_classifier("xx_small").eval()
    small = np.ascontiguousarray(image[:64, :64])
    rgb = torch.from_numpy(small).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        expected = timm_model(rgb)
        model.load_state_dict(state)
        assert torch.allclose(model(rgb.flip(1)), expected, atol=TOLERANCE, rtol=0)
        state["backbone.stem.conv.weight"] = state["backbone.stem.conv.weight"].flip(1)  # undo the flip
        model.load_state_dict(state)
        assert (model(rgb.flip(1)) - expected).abs().max() > 1e-2


def test_layouts_key_counts_and_arch_inference(references):
    timm_state, hf_state = references["timm_state"], references["hf_state"]
    assert (len(timm_state), len(hf_state)) == (311, 347)
    assert detect_layout(timm_state) == "timm" and detect_layout(hf_state) == "huggingface"
    assert detect_layout(timm_to_cvnets(timm_state)) == "cvnets"
    for layout, state in (("timm", timm_state), ("huggingface", hf_state), ("cvnets", timm_to_cvnets(timm_state))):
        ours = to_mobilevit(state, layout)
        assert len(ours) == 311
        assert infer_arch(ours) == references["arch"]


def test_a_key_no_rule_knows_fails_with_its_name():
    state = timm.create_model("mobilevit_xxs", pretrained=False).state_dict()
    state["stages.2.1.transformer.0.attn.extra.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match=r"1 keys match no rename rule \[stages\.2\.1\.transformer\.0\.attn\.ex"):
        from_timm(state)


def test_an_unknown_layout_is_named(tmp_path):
    torch.save({"encoder.weight": torch.zeros(2)}, tmp_path / "other.pth")
    with pytest.raises(CheckpointError, match="not a MobileViT checkpoint of a known layout.*encoder.weight"):
        read_checkpoint(tmp_path / "other.pth")


def test_arch_inference_names_the_closest_arch():
    state = build_classifier("x_small").state_dict()
    state["backbone.layers.4.1.conv_fusion.conv.weight"] = torch.zeros(96, 192, 1, 1)
    with pytest.raises(CheckpointError, match="closest is 'x_small' with 1 differences"):
        infer_arch(state)


def test_a_checkpoint_of_another_arch_is_refused_with_a_report(tmp_path):
    torch.save(build_classifier("xx_small").state_dict(), tmp_path / "xxs.pth")
    with pytest.raises(CheckpointError, match="does not match the model: .* shape mismatches"):
        mobilevit.init_model("mobilevit-small_3rdparty_in1k", tmp_path / "xxs.pth")


def test_fine_tuning_skips_a_head_of_another_size(tmp_path):
    source = build_classifier("xx_small")
    torch.save({"meta": {}, "state_dict": source.state_dict()}, tmp_path / "in1k.pth")
    target = build_classifier("xx_small", num_classes=5)
    with pytest.raises(CheckpointError, match="Only the head differs: pass strict_head=False"):
        load_checkpoint(target, tmp_path / "in1k.pth")
    head = target.head.fc.weight.clone()
    with pytest.warns(UserWarning, match=r"head.fc.weight \(checkpoint \(1000, 320\), model \(5, 320\)\)"):
        report = load_checkpoint(target, tmp_path / "in1k.pth", strict_head=False)
    assert report.skipped == ("head.fc.bias", "head.fc.weight") and report.layout == "mmpretrain"
    assert torch.equal(target.head.fc.weight, head)
    assert torch.equal(target.backbone.stem.conv.weight, source.backbone.stem.conv.weight)
