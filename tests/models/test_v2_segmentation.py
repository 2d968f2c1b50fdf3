"""DeepLabv3 on the MobileViT v2 backbone: ml-cvnets' parameter counts and Hugging Face's
``MobileViTV2ForSemanticSegmentation`` weights, whose one departure (the undilated local conv at
output stride 16) is measured."""

import pytest
import torch

import mobilevit
from mobilevit.checkpoint import read_checkpoint
from mobilevit.cli import main
from mobilevit.models import MobileViTV2, MobileViTV2Block, build_segmenter
from reference_weights import lively_state_dict
from v2_weights import images

transformers = pytest.importorskip("transformers")


# ml-cvnets' model zoo, derived counts of the facts sheet (4.2): (arch, classes, millions)
@pytest.mark.parametrize(
    "arch, num_classes, params_m",
    [
        ("v2_050", 21, 6.24),
        ("v2_100", 21, 13.32),
        ("v2_100", 150, 13.38),
        ("v2_125", 21, 17.67),
        ("v2_150", 21, 22.56),
        ("v2_175", 150, 28.05),
        ("v2_200", 150, 34.02),
    ],
)
def test_deeplabv3_parameter_counts_are_ml_cvnets(arch, num_classes, params_m):
    with torch.device("meta"):
        model = build_segmenter(arch, num_classes)  # ASPP of 512 channels, the v2 models'
    assert round(sum(param.numel() for param in model.parameters()) / 1e6, 2) == params_m
    assert isinstance(model.backbone, MobileViTV2) and model.backbone.output_stride == 16


def undilate_blocks(model):
    """Hugging Face's v2 at output stride 16: the block's depthwise conv is never dilated."""
    for module in model.modules():
        if isinstance(module, MobileViTV2Block):
            conv = module.local_rep[0].conv
            conv.dilation, conv.padding = (1, 1), (1, 1)


@pytest.fixture(scope="module")
def huggingface_segmenter(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hf_v2_deeplabv3")
    config = transformers.MobileViTV2Config(num_labels=21, output_stride=16)
    model = transformers.MobileViTV2ForSemanticSegmentation(config).eval()
    model.load_state_dict(lively_state_dict(model.state_dict(), "segmentation_head.classifier.convolution.weight"))
    model.save_pretrained(folder)
    with torch.no_grad():
        logits = model(pixel_values=images(256)).logits
    assert logits.shape == (3, 21, 16, 16)
    assert (logits[2] - logits[0]).abs().max() > 0.1 * logits.abs().max()
    return folder, logits


def test_hugging_face_segmenter_loads_and_gives_its_logits_with_its_dilation(huggingface_segmenter):
    folder, expected = huggingface_segmenter
    assert read_checkpoint(folder).layout == "huggingface_v2_deeplabv3"
    model = mobilevit.init_model(folder)
    assert model.preprocessing.channel_order == "RGB" and model.preprocessing.crop_size == 512
    with torch.no_grad():
        ours = model.forward_low_res(images(256))  # ml-cvnets' dilation
        undilate_blocks(model)
        theirs = model.forward_low_res(images(256))  # Hugging Face's
    scale = expected.abs().max()
    assert (theirs - expected).abs().max() <= 1e-4 * scale
    # following ml-cvnets changes the logits: 2x dilated depthwise convs in the last stage's block
    assert (ours - expected).abs().max() > 1e-2 * scale


def test_convert_writes_a_v2_segmenter(huggingface_segmenter, tmp_path, capsys):
    folder, _ = huggingface_segmenter
    assert main(["convert", str(folder), str(tmp_path / "seg.safetensors")]) == 0
    assert "huggingface_v2_deeplabv3 layout, arch v2_100, 21 classes" in capsys.readouterr().out
    converted = read_checkpoint(tmp_path / "seg.safetensors")
    assert converted.metadata["output_stride"] == 16 and converted.metadata["preprocessing"]["channel_order"] == "RGB"
    assert mobilevit.init_model(tmp_path / "seg.safetensors").head.aspp.project[0].out_channels == 512
