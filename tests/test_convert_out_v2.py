"""MobileViT v2 weights written in the peers' layouts (``mobilevit convert --to``) load in the peers
and give our logits: timm's ``mobilevitv2_050`` strictly, Hugging Face's ``MobileViTV2*`` through
``from_pretrained``; ml-cvnets files, whose library is not installed here, read back bit for bit.
Every v2 layout takes RGB, as ours, so each side gets the same tensor."""

import dataclasses
import json

import pytest
import torch
from safetensors.torch import load_file

from mobilevit.checkpoint import read_checkpoint, save_checkpoint
from mobilevit.cli import main
from mobilevit.convert import CheckpointError
from mobilevit.convert_out import layout_for, save_layout
from mobilevit.models import MobileViTV2Block, build_classifier, build_pspnet, build_segmenter, build_ssdlite
from mobilevit.tasks import get_task, task_of
from reference_weights import lively_state_dict
from v2_weights import images

transformers = pytest.importorskip("transformers")
timm = pytest.importorskip("timm")

TOLERANCE = 1e-4
CLASS_NAMES = [f"class {index}" for index in range(7)]
PREPROCESSING = get_task("classification").default_preprocessing_v2


def lively(model, head_weight="head.fc.weight"):
    model.load_state_dict(lively_state_dict(model.state_dict(), head_weight))
    return model.eval()


def assert_same_logits(logits, expected):
    assert expected.std() > 0.1 and (expected[2] - expected[0]).abs().max() > 0.1  # they depend on the input
    torch.testing.assert_close(logits, expected, atol=TOLERANCE, rtol=0)


def assert_bit_exact(ours, read):
    assert set(read) == set(ours)
    assert all(torch.equal(read[key], ours[key]) for key in ours)


@pytest.fixture(scope="module")
def classifier():
    return lively(build_classifier("v2_050", num_classes=len(CLASS_NAMES)))


def test_a_v2_classifier_to_timm_loads_strictly_in_mobilevitv2_050_and_gives_our_logits(classifier, tmp_path):
    path = save_layout(tmp_path / "timm.safetensors", "timm", classifier.state_dict(), "v2_050", PREPROCESSING)
    theirs = timm.create_model("mobilevitv2_050", num_classes=len(CLASS_NAMES)).eval()
    theirs.load_state_dict(load_file(path), strict=True)
    with torch.no_grad():
        for size in (256, 224):  # 224: the odd 7x7 map, resized up by both
            assert_same_logits(theirs(images(size)), classifier(images(size)))


def test_a_v2_classifier_to_hugging_face_loads_with_from_pretrained_and_gives_our_logits(classifier, tmp_path):
    folder = save_layout(tmp_path / "hf", "huggingface", classifier.state_dict(), "v2_050", PREPROCESSING, CLASS_NAMES)
    theirs, loading = transformers.MobileViTV2ForImageClassification.from_pretrained(folder, output_loading_info=True)
    assert not any(loading.values())  # no missing, unexpected or mismatched keys
    with torch.no_grad():
        assert_same_logits(theirs.eval()(pixel_values=images(256)).logits, classifier(images(256)))
    assert [theirs.config.id2label[index] for index in range(len(CLASS_NAMES))] == CLASS_NAMES
    assert theirs.config.width_multiplier == 0.5
    processor = transformers.MobileViTImageProcessor.from_pretrained(folder)
    assert (processor.size["shortest_edge"], processor.crop_size["height"]) == (288, 256)
    assert not processor.do_flip_channel_order  # the v2 weights take RGB
    assert processor.resample == 3  # bicubic


def test_a_v2_classifier_to_cvnets_reads_back_bit_exactly_through_convert(classifier, tmp_path, capsys):
    source = save_checkpoint(
        tmp_path / "ours.safetensors", classifier.state_dict(), "v2_050", PREPROCESSING, class_names=CLASS_NAMES
    )
    assert main(["convert", str(source), str(tmp_path / "cvnets.pt"), "--to", "cvnets"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert "classifier.1.weight" in torch.load(tmp_path / "cvnets.pt", weights_only=True)
    assert main(["convert", str(tmp_path / "cvnets.pt"), str(tmp_path / "back.safetensors")]) == 0
    assert "cvnets_v2 layout, arch v2_050, 7 classes" in capsys.readouterr().out
    assert_bit_exact(classifier.state_dict(), read_checkpoint(tmp_path / "back.safetensors").state_dict)


def test_convert_to_timm_writes_a_hub_folder_timm_creates_by_name(classifier, tmp_path):
    source = save_checkpoint(tmp_path / "ours.safetensors", classifier.state_dict(), "v2_050", PREPROCESSING)
    assert main(["convert", str(source), str(tmp_path / "timm"), "--to", "timm"]) == 0
    config = json.loads((tmp_path / "timm" / "config.json").read_text())
    assert config["architecture"] == "mobilevitv2_050" and config["num_features"] == 256
    assert config["pretrained_cfg"]["interpolation"] == "bicubic" and config["pretrained_cfg"]["mean"] == [0, 0, 0]
    theirs = timm.create_model(f"local-dir:{tmp_path / 'timm'}", pretrained=True).eval()
    with torch.no_grad():
        assert_same_logits(theirs(images(256)), classifier(images(256)))


def undilated(model):
    """Our segmenter with Hugging Face's local convolutions: never dilated (where ml-cvnets, whose
    weights these are, and we dilate them at output stride 16 and 8)."""
    for module in model.modules():
        if isinstance(module, MobileViTV2Block):
            conv = module.local_rep[0].conv
            conv.dilation, conv.padding = (1, 1), (1, 1)
    return model


@pytest.mark.slow  # about 8 s on 2 quiet cores
def test_a_v2_segmenter_to_hugging_face_loads_as_mobilevitv2_for_semantic_segmentation(tmp_path):
    model = lively(build_segmenter("v2_050", num_classes=21), "head.classifier.weight")
    settings = task_of(model).settings_of(model)
    preprocessing = get_task("segmentation").default_preprocessing_v2
    folder = save_layout(tmp_path / "hf", "huggingface", model.state_dict(), "v2_050", preprocessing, None, settings)
    theirs, loading = transformers.MobileViTV2ForSemanticSegmentation.from_pretrained(folder, output_loading_info=True)
    assert not any(loading.values())
    assert (theirs.config.output_stride, theirs.config.atrous_rates) == (16, [6, 12, 18])
    with torch.no_grad():
        logits = theirs.eval()(pixel_values=images(256)).logits
        ours = model.forward_low_res(images(256))  # ml-cvnets' dilation
        assert (ours - logits).abs().max() > 1e-2 * logits.abs().max()  # Hugging Face departs from it
        assert_same_logits(logits, undilated(model).forward_low_res(images(256)))
    assert read_checkpoint(folder).layout == "huggingface_v2_deeplabv3"


def test_a_v2_detector_to_cvnets_reads_back_bit_exactly(tmp_path):
    model = lively(build_ssdlite("v2_050", num_classes=81))
    path = save_layout(tmp_path / "ssd.pt", "cvnets", model.state_dict(), "v2_050")
    checkpoint = read_checkpoint(path)
    assert checkpoint.layout == "cvnets_v2_ssd"
    assert_bit_exact(model.state_dict(), checkpoint.state_dict)


def test_what_a_peer_cannot_hold_of_v2_is_refused_naming_the_reason(classifier, tmp_path):
    with pytest.raises(CheckpointError, match="cannot write a MobileViT v2 classifier in mmpretrain's layout.*no v2"):
        layout_for(classifier.state_dict(), "mmpretrain")
    segmenter = build_segmenter("v2_050", num_classes=21).state_dict()
    with pytest.raises(CheckpointError, match="cannot write a MobileViT v2 DeepLabv3 segmenter in timm's layout"):
        layout_for(segmenter, "timm")
    pspnet = build_pspnet("v2_050", num_classes=21).state_dict()
    for target in ("mmpretrain", "timm", "huggingface", "cvnets"):  # no layout of ours writes its head yet
        with pytest.raises(CheckpointError, match=f"cannot write a MobileViT v2 PSPNet segmenter in {target}'s"):
            layout_for(pspnet, target)
    odd = dataclasses.replace(PREPROCESSING, mean=(1.0, 2.0, 3.0))
    with pytest.raises(CheckpointError, match="only rescales"):
        save_layout(tmp_path / "hf", "huggingface", classifier.state_dict(), "v2_050", odd)
