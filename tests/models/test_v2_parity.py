"""MobileViT v2 checkpoints of timm, Hugging Face and ml-cvnets load and give the peers' logits.

The peers' models get random weights and BatchNorm statistics that carry the input through every
layer (checked: the logits depend on the input). An ml-cvnets state dict is built from timm's by
the key table of the facts sheet (reference/mobilevit-v2.md section 3.1), written out here
independently of the converter. Every v2 layout takes RGB, so each side gets the same tensor.
"""

import re

import pytest
import torch

import mobilevit
from mobilevit.checkpoint import read_checkpoint
from mobilevit.cli import main
from mobilevit.convert import detect_layout, infer_arch, to_mobilevit
from mobilevit.models import build_classifier
from reference_weights import lively_state_dict
from v2_weights import images

timm = pytest.importorskip("timm")
transformers = pytest.importorskip("transformers")

TOLERANCE = 1e-4  # of the largest logit
WIDTHS = [
    ("v2_050", "mobilevitv2_050"),
    ("v2_100", "mobilevitv2_100"),
    pytest.param(("v2_200", "mobilevitv2_200"), marks=pytest.mark.slow),
]

# timm -> ml-cvnets key renames (facts sheet 3.1 and 3.2), the final norm's index filled in below.
TIMM_TO_CVNETS_V2 = [
    (r"^stem\.conv\.", "conv_1.block.conv."),
    (r"^stem\.bn\.", "conv_1.block.norm."),
    (r"^head\.fc\.", "classifier.1."),
    (r"\.(\d+)\.conv1_1x1\.conv\.", r".\1.block.exp_1x1.block.conv."),
    (r"\.(\d+)\.conv1_1x1\.bn\.", r".\1.block.exp_1x1.block.norm."),
    (r"\.(\d+)\.conv2_kxk\.conv\.", r".\1.block.conv_3x3.block.conv."),
    (r"\.(\d+)\.conv2_kxk\.bn\.", r".\1.block.conv_3x3.block.norm."),
    (r"\.(\d+)\.conv3_1x1\.conv\.", r".\1.block.red_1x1.block.conv."),
    (r"\.(\d+)\.conv3_1x1\.bn\.", r".\1.block.red_1x1.block.norm."),
    (r"\.1\.conv_kxk\.conv\.", ".1.local_rep.0.block.conv."),
    (r"\.1\.conv_kxk\.bn\.", ".1.local_rep.0.block.norm."),
    (r"\.1\.conv_1x1\.weight$", ".1.local_rep.1.block.conv.weight"),
    (r"\.transformer\.(\d+)\.norm1\.", r".global_rep.\1.pre_norm_attn.0."),
    (r"\.transformer\.(\d+)\.attn\.qkv_proj\.", r".global_rep.\1.pre_norm_attn.1.qkv_proj.block.conv."),
    (r"\.transformer\.(\d+)\.attn\.out_proj\.", r".global_rep.\1.pre_norm_attn.1.out_proj.block.conv."),
    (r"\.transformer\.(\d+)\.norm2\.", r".global_rep.\1.pre_norm_ffn.0."),
    (r"\.transformer\.(\d+)\.mlp\.fc1\.", r".global_rep.\1.pre_norm_ffn.1.block.conv."),
    (r"\.transformer\.(\d+)\.mlp\.fc2\.", r".global_rep.\1.pre_norm_ffn.3.block.conv."),
    (r"\.conv_proj\.conv\.", ".conv_proj.block.conv."),
    (r"\.conv_proj\.bn\.", ".conv_proj.block.norm."),
]


def timm_to_cvnets_v2(state_dict):
    depths = {}
    for key in state_dict:
        match = re.match(r"stages\.(\d+)\.1\.transformer\.(\d+)\.", key)
        if match:
            depths[match[1]] = max(depths.get(match[1], 0), int(match[2]) + 1)
    result = {}
    for key, value in state_dict.items():
        new = key
        for pattern, replacement in TIMM_TO_CVNETS_V2:
            new = re.sub(pattern, replacement, new)
        new = re.sub(r"^stages\.(\d+)\.1\.norm\.", lambda m: f"stages.{m[1]}.1.global_rep.{depths[m[1]]}.", new)
        new = re.sub(r"^stages\.(\d+)\.", lambda m: f"layer_{int(m[1]) + 1}.", new)
        result[new] = value
    assert len(result) == len(state_dict)
    return result


def assert_close(logits, expected):
    scale = expected.abs().max()
    assert (logits - expected).abs().max() <= TOLERANCE * scale, (logits - expected).abs().max() / scale


@pytest.fixture(scope="module", params=WIDTHS, ids=lambda width: width[0])
def timm_files(request, tmp_path_factory):
    arch, timm_name = request.param
    folder = tmp_path_factory.mktemp(arch)
    model = timm.create_model(timm_name, pretrained=False).eval()
    model.load_state_dict(lively_state_dict(model.state_dict(), "head.fc.weight"))
    state = model.state_dict()
    torch.save(state, folder / "timm.pth")
    torch.save(timm_to_cvnets_v2(state), folder / "cvnets.pt")
    logits = {}
    with torch.no_grad():
        for size in (256, 224):
            logits[size] = model(images(size))
            # a parity test needs logits that depend on the input: here on its channel order
            assert (logits[size][2] - logits[size][0]).abs().max() > 0.1 * logits[size].abs().max()
    return {"arch": arch, "folder": folder, "state": state, "logits": logits}


@pytest.mark.parametrize("file, layout", [("timm.pth", "timm_v2"), ("cvnets.pt", "cvnets_v2")])
def test_timm_and_ml_cvnets_files_give_timms_logits_through_init_model(timm_files, file, layout):
    path = timm_files["folder"] / file
    assert read_checkpoint(path).layout == layout
    model = mobilevit.init_model(path)  # the arch inferred from the shapes
    assert model.preprocessing.channel_order == "RGB" and model.preprocessing.interpolation == "bicubic"
    with torch.no_grad():
        for size in (256, 224):  # 224: the 7x7 map resized to 8x8 before the last block, as timm
            assert_close(model(images(size)), timm_files["logits"][size])


def test_mobilevit_convert_writes_a_v2_file_with_timms_logits(timm_files, capsys):
    destination = timm_files["folder"] / "converted.safetensors"
    assert main(["convert", str(timm_files["folder"] / "timm.pth"), str(destination)]) == 0
    assert f"timm_v2 layout, arch {timm_files['arch']}, 1000 classes (classification)" in capsys.readouterr().out
    converted = read_checkpoint(destination)
    assert converted.metadata["arch"] == timm_files["arch"] and converted.metadata["source_layout"] == "timm_v2"
    assert converted.metadata["preprocessing"]["channel_order"] == "RGB"
    model = mobilevit.init_model(destination)
    with torch.no_grad():
        assert_close(model(images(256)), timm_files["logits"][256])


def test_the_zoo_record_of_the_width_takes_ml_cvnets_weights(timm_files):
    """What get_model(name, pretrained=True) does with the downloaded ml-cvnets file."""
    name = f"mobilevitv2-{timm_files['arch'][3:]}_3rdparty_in1k"
    model = mobilevit.get_model(name, pretrained=timm_files["folder"] / "cvnets.pt").eval()
    with torch.no_grad():
        assert_close(model(images(256)), timm_files["logits"][256])


def test_ml_cvnets_names_load_key_for_key(timm_files):
    cvnets = timm_to_cvnets_v2(timm_files["state"])
    ours = to_mobilevit(cvnets, detect_layout(cvnets))
    assert len(ours) == len(cvnets) == len(timm_files["state"])
    model = build_classifier(timm_files["arch"])
    assert set(model.state_dict()) == set(ours)
    model.load_state_dict(ours, strict=True)
    assert infer_arch(ours) == timm_files["arch"]
    from_timm = to_mobilevit(timm_files["state"], "timm_v2")
    assert all(torch.equal(ours[key], from_timm[key]) for key in ours)


@pytest.fixture(scope="module")
def huggingface_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hf_v2")
    config = transformers.MobileViTV2Config(num_labels=1000, width_multiplier=1.0)
    model = transformers.MobileViTV2ForImageClassification(config).eval()
    model.load_state_dict(lively_state_dict(model.state_dict(), "classifier.weight"))
    model.save_pretrained(folder / "hf")
    with torch.no_grad():
        logits = {size: model(pixel_values=images(size)).logits for size in (256, 224)}
    assert (logits[256][2] - logits[256][0]).abs().max() > 0.1 * logits[256].abs().max()
    return {"folder": folder, "logits": logits, "model": model}


def test_hugging_face_gives_its_logits_at_256(huggingface_files, capsys):
    folder = huggingface_files["folder"]
    assert read_checkpoint(folder / "hf").layout == "huggingface_v2"
    model = mobilevit.init_model(folder / "hf")
    with torch.no_grad():
        assert_close(model(images(256)), huggingface_files["logits"][256])
    assert main(["convert", str(folder / "hf"), str(folder / "hf.safetensors")]) == 0
    assert "huggingface_v2 layout, arch v2_100" in capsys.readouterr().out
    with torch.no_grad():
        assert_close(mobilevit.init_model(folder / "hf.safetensors")(images(256)), huggingface_files["logits"][256])


def test_hugging_face_departs_from_ml_cvnets_on_odd_maps(huggingface_files):
    """At 224 the last block's map is 7x7: Hugging Face drops and zero-fills its last row and column
    where ml-cvnets and timm resize it to 8x8. We follow ml-cvnets, so Hugging Face's logits differ."""
    model = mobilevit.init_model(huggingface_files["folder"] / "hf")
    with torch.no_grad():
        ours, theirs = model(images(224)), huggingface_files["logits"][224]
    difference = ((ours - theirs).abs().max() / theirs.abs().max()).item()
    assert difference > 100 * TOLERANCE
