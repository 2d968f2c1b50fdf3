"""ml-cvnets' DeepLabv3 and PSPNet on MobileViT v2 (VOC, 21 classes at output stride 16; ADE20k,
150 classes at output stride 8): files named by the key layout of the facts sheet load key for key,
with or without the auxiliary head the published recipes trained with, and give our model's logits."""

import re

import pytest
import torch

import mobilevit
from mobilevit.apis import convert_checkpoint
from mobilevit.checkpoint import load_checkpoint, read_checkpoint
from mobilevit.cli import main
from mobilevit.convert import detect_layout
from mobilevit.models import DeepLabV3, PSPNet, build_pspnet, build_segmenter
from reference_weights import lively_state_dict
from v2_weights import OURS_TO_CVNETS_V2_BACKBONE

# ours -> ml-cvnets (v0.2 and later), applied in order: the v2 backbone under encoder. (facts sheet
# 3.1), the heads under seg_head. (4.1; the DeepLabv3 names as Hugging Face's converter reads them, 3.2)
OURS_TO_CVNETS = [
    *OURS_TO_CVNETS_V2_BACKBONE,
    (r"^head\.aspp\.convs\.4\.1\.", "seg_head.aspp.aspp_layer.convs.4.aspp_pool.conv_1x1.block.conv."),
    (r"^head\.aspp\.convs\.4\.2\.", "seg_head.aspp.aspp_layer.convs.4.aspp_pool.conv_1x1.block.bn."),
    (r"^head\.aspp\.convs\.(\d)\.0\.", r"seg_head.aspp.aspp_layer.convs.\1.block.conv."),
    (r"^head\.aspp\.convs\.(\d)\.1\.", r"seg_head.aspp.aspp_layer.convs.\1.block.bn."),
    (r"^head\.aspp\.project\.0\.", "seg_head.aspp.aspp_layer.project.block.conv."),
    (r"^head\.aspp\.project\.1\.", "seg_head.aspp.aspp_layer.project.block.bn."),
    (r"^head\.pyramid\.(\d)\.1\.", r"seg_head.psp_layer.psp_branches.\1.1.block."),
    (r"^head\.fusion\.", "seg_head.psp_layer.fusion.0.block."),
    (r"^head\.classifier\.", "seg_head.classifier.block.conv."),
    (r"^aux_head\.0\.", "seg_head.aux_head.0.block."),
    (r"^aux_head\.2\.", "seg_head.aux_head.2.block.conv."),
    (r"\.bn\.", ".norm."),
]


def to_cvnets(state_dict):
    result = {}
    for key, value in state_dict.items():
        for pattern, replacement in OURS_TO_CVNETS:
            key = re.sub(pattern, replacement, key)
        key = re.sub(r"layer_(\d)", lambda m: f"layer_{int(m[1]) + 1}", key)  # ml-cvnets counts from one
        result[key] = value
    assert len(result) == len(state_dict)
    return result


def lively(model):
    model.load_state_dict(lively_state_dict(model.state_dict(), "head.classifier.weight"))
    return model.eval()


CASES = {  # (builder, classes, output stride, ml-cvnets' file name)
    "deeplabv3-voc": (build_segmenter, 21, 16, "pascalvoc/mobilevitv2/deeplabv3-mobilevitv2-0.5.pt"),
    "deeplabv3-ade20k": (build_segmenter, 150, 8, "ade20k/mobilevitv2/deeplabv3-mobilevitv2-0.5.pt"),
    "pspnet-voc": (build_pspnet, 21, 16, "pascalvoc/mobilevitv2/pspnet-mobilevitv2-0.5.pt"),
    "pspnet-ade20k": (build_pspnet, 150, 8, "ade20k/mobilevitv2/pspnet-mobilevitv2-0.5.pt"),
}


@pytest.mark.parametrize("case", CASES)
def test_an_ml_cvnets_v2_segmenter_with_its_auxiliary_head_loads_key_for_key(case, tmp_path):
    builder, num_classes, output_stride, name = CASES[case]
    rates = {"atrous_rates": (12, 24, 36) if num_classes == 150 else (6, 12, 18)} if builder is build_segmenter else {}
    source = lively(builder("v2_050", num_classes, output_stride, aux_head=True, **rates))
    cvnets = to_cvnets(source.state_dict())
    layout = f"cvnets_v2_{case.split('-')[0]}"
    assert detect_layout(cvnets) == layout
    assert "seg_head.classifier.block.conv.weight" in cvnets and "seg_head.aux_head.2.block.conv.bias" in cvnets
    path = tmp_path / name.replace("/", "_")
    torch.save(cvnets, path)

    # for training: every key, the auxiliary head's too
    trained = builder("v2_050", num_classes, output_stride, aux_head=True)
    assert load_checkpoint(trained, path).layout == layout
    assert all(torch.equal(value, source.state_dict()[key]) for key, value in trained.state_dict().items())

    # for inference: init_model builds the model the file holds, without the auxiliary head
    model = mobilevit.init_model(path)
    assert type(model) is type(source) and model.aux_head is None
    assert model.backbone.output_stride == output_stride and model.num_classes == num_classes
    if builder is build_segmenter:  # the published rates of the data set, which the file does not record
        assert model.head.settings()["atrous_rates"] == ([12, 24, 36] if num_classes == 150 else [6, 12, 18])
    assert model.preprocessing.channel_order == "RGB"
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), source(x), rtol=0, atol=1e-5)


@pytest.mark.parametrize("builder", [build_segmenter, build_pspnet])
def test_an_ml_cvnets_v2_segmenter_without_an_auxiliary_head_loads_and_converts(builder, tmp_path, capsys):
    source = lively(builder("v2_050", 21, 16))
    cvnets = to_cvnets(source.state_dict())
    assert not any("aux_head" in key for key in cvnets)
    torch.save(cvnets, tmp_path / "cvnets.pt")
    assert main(["convert", str(tmp_path / "cvnets.pt"), str(tmp_path / "ours.safetensors")]) == 0
    assert "arch v2_050, 21 classes" in capsys.readouterr().out
    converted = read_checkpoint(tmp_path / "ours.safetensors")
    assert converted.metadata["task"] == "segmentation" and converted.metadata["output_stride"] == 16
    model = mobilevit.init_model(tmp_path / "ours.safetensors")
    assert isinstance(model, PSPNet if builder is build_pspnet else DeepLabV3) and model.aux_head is None
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        torch.testing.assert_close(model(x), source(x), rtol=0, atol=1e-5)


def test_converting_a_file_with_an_auxiliary_head_writes_the_model_for_inference(tmp_path):
    source = lively(build_pspnet("v2_050", 150, 8, aux_head=True))
    torch.save(to_cvnets(source.state_dict()), tmp_path / "pspnet.pt")
    written = convert_checkpoint(tmp_path / "pspnet.pt", tmp_path / "pspnet.safetensors")
    converted = read_checkpoint(written.destination)
    assert not any(key.startswith("aux_head.") for key in converted.state_dict)
    assert converted.metadata["output_stride"] == 8 and converted.metadata["pool_sizes"] == [1, 2, 3, 6]
    assert written.tensors == len(converted.state_dict)
