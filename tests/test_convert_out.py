"""Our weights written in the peers' layouts load in the peers and give our logits.

Hugging Face folders are loaded by transformers' ``from_pretrained``, timm state dicts by timm's
models strictly; mmpretrain and ml-cvnets files, whose libraries are not installed here, are read
back by our own loader and must give every tensor bit for bit. Our models take BGR: Hugging
Face's gets the same tensor (its processor flips RGB to BGR before the model), timm's the RGB one.
"""

import json

import pytest
import torch
from safetensors.torch import load_file

from arch_table import PUBLISHED
from mobilevit.checkpoint import read_checkpoint, save_checkpoint
from mobilevit.cli import main
from mobilevit.convert import CheckpointError
from mobilevit.convert_out import (
    huggingface_config,
    huggingface_processor,
    layout_for,
    save_layout,
    timm_config,
    to_layout,
)
from mobilevit.data.transforms import Preprocessing
from mobilevit.hub import huggingface_preprocessing, timm_preprocessing
from mobilevit.models import MobileNetV2Stage, MobileViTStage, build_classifier, build_segmenter, build_ssdlite
from mobilevit.tasks import task_of
from mobilevit.zoo import SEGMENTATION_PREPROCESSING
from reference_weights import deterministic_input, deterministic_state_dict

transformers = pytest.importorskip("transformers")
timm = pytest.importorskip("timm")

TOLERANCE = 1e-4
CLASS_NAMES = [f"class {index}" for index in range(7)]


def randomised(model):
    model.load_state_dict(deterministic_state_dict(model.state_dict()))
    return model.eval()


def assert_bit_exact(ours, read):
    assert set(read) == set(ours)
    assert all(torch.equal(read[key], ours[key]) for key in ours)


@pytest.fixture(scope="module", params=["xx_small", "small"])
def classifier(request):
    return request.param, randomised(build_classifier(request.param, num_classes=len(CLASS_NAMES)))


@pytest.fixture(scope="module")
def image():
    return deterministic_input(batch=2, height=256, width=256)


def test_a_classifier_to_hugging_face_loads_with_from_pretrained_and_gives_our_logits(classifier, image, tmp_path):
    arch, model = classifier
    folder = save_layout(tmp_path / "hf", "huggingface", model.state_dict(), arch, class_names=CLASS_NAMES)
    theirs = transformers.MobileViTForImageClassification.from_pretrained(folder).eval()
    with torch.no_grad():
        expected, logits = model(image), theirs(pixel_values=image).logits
    assert expected.std() > 0.1
    torch.testing.assert_close(logits, expected, atol=TOLERANCE, rtol=0)
    assert [theirs.config.id2label[index] for index in range(len(CLASS_NAMES))] == CLASS_NAMES
    processor = transformers.MobileViTImageProcessor.from_pretrained(folder)
    assert (processor.size["shortest_edge"], processor.crop_size["height"]) == (288, 256)
    assert processor.do_flip_channel_order and processor.rescale_factor == pytest.approx(1 / 255)


def test_a_classifier_to_timm_loads_strictly_and_gives_our_logits_on_rgb(classifier, image, tmp_path):
    arch, model = classifier
    path = save_layout(tmp_path / "timm.safetensors", "timm", model.state_dict(), arch)
    theirs = timm.create_model(PUBLISHED[arch].timm_name, num_classes=len(CLASS_NAMES)).eval()
    theirs.load_state_dict(load_file(path), strict=True)
    with torch.no_grad():
        expected, logits = model(image), theirs(image.flip(1))  # ours takes BGR, timm RGB
    torch.testing.assert_close(logits, expected, atol=TOLERANCE, rtol=0)


@pytest.mark.parametrize("target, suffix, layout", [("mmpretrain", ".pth", "mmpretrain"), ("cvnets", ".pt", "cvnets")])
def test_a_classifier_to_mmpretrain_and_cvnets_reads_back_bit_exactly(classifier, tmp_path, target, suffix, layout):
    arch, model = classifier
    path = save_layout(tmp_path / f"out{suffix}", target, model.state_dict(), arch, class_names=CLASS_NAMES)
    checkpoint = read_checkpoint(path)
    assert checkpoint.layout == layout
    assert_bit_exact(model.state_dict(), checkpoint.state_dict)


@pytest.mark.parametrize("output_stride, atrous_rates", [(16, (6, 12, 18)), (8, (12, 24, 36))])
def test_a_segmenter_to_hugging_face_loads_as_mobilevit_for_semantic_segmentation(
    output_stride, atrous_rates, tmp_path
):
    segmenter = build_segmenter("xx_small", num_classes=21, output_stride=output_stride, atrous_rates=atrous_rates)
    model = randomised(segmenter)
    settings = task_of(model).settings_of(model)  # what convert passes: the output stride and atrous rates
    folder = save_layout(
        tmp_path / "hf", "huggingface", model.state_dict(), "xx_small", SEGMENTATION_PREPROCESSING, None, settings
    )
    theirs = transformers.MobileViTForSemanticSegmentation.from_pretrained(folder).eval()
    image = deterministic_input(batch=1, height=256, width=320)
    with torch.no_grad():
        expected, logits = model.forward_low_res(image), theirs(pixel_values=image).logits
    assert expected.std() > 0.1
    torch.testing.assert_close(logits, expected, atol=TOLERANCE, rtol=0)
    processor = json.loads((folder / "preprocessor_config.json").read_text())
    assert processor["size"] == {"height": 512, "width": 512} and not processor["do_center_crop"]


def test_dense_models_to_cvnets_read_back_bit_exactly(tmp_path):
    segmenter = randomised(build_segmenter("xx_small", num_classes=21))
    detector = randomised(build_ssdlite("xx_small", num_classes=81))
    for model, layout in ((segmenter, "cvnets_deeplabv3"), (detector, "cvnets_ssd")):
        path = save_layout(tmp_path / f"{layout}.pt", "cvnets", model.state_dict(), "xx_small")
        checkpoint = read_checkpoint(path)
        assert checkpoint.layout == layout
        assert_bit_exact(model.state_dict(), checkpoint.state_dict)


def test_what_a_target_cannot_hold_is_refused_naming_the_reason():
    segmenter = build_segmenter("xx_small", num_classes=21).state_dict()
    detector = build_ssdlite("xx_small", num_classes=81).state_dict()
    cases = [
        (segmenter, "timm", "cannot write a DeepLabv3 segmenter in timm's layout: timm holds classifiers"),
        (segmenter, "mmpretrain", "cannot write a DeepLabv3 segmenter in mmpretrain's layout"),
        (detector, "huggingface", "cannot write an SSDLite detector in huggingface's layout"),
        (detector, "timm", "cannot write an SSDLite detector in timm's layout"),
    ]
    for state_dict, target, message in cases:
        with pytest.raises(CheckpointError, match=message):
            layout_for(state_dict, target)


def test_an_arch_hugging_face_or_timm_cannot_describe_is_refused():
    arch = [
        MobileNetV2Stage(16, 1, 1, 2),
        MobileNetV2Stage(24, 2, 2, 2),  # Hugging Face fixes 3 blocks here
        MobileViTStage(48, 2, 64, 128, 2, 2),
        MobileViTStage(64, 2, 80, 160, 4, 2),
        MobileViTStage(80, 2, 96, 192, 3, 2),
    ]
    state_dict = build_classifier(arch, num_classes=3).state_dict()
    with pytest.raises(CheckpointError, match="MobileNetV2 x2 s2 e2"):
        huggingface_config(arch, state_dict, "huggingface", Preprocessing(), None, {})
    with pytest.raises(CheckpointError, match="timm builds MobileViT by name"):
        timm_config(arch, state_dict, Preprocessing(), None)
    with pytest.raises(CheckpointError, match="only rescales"):
        huggingface_processor(Preprocessing(mean=(100.0, 110.0, 120.0), std=(50.0, 60.0, 70.0)))


@pytest.mark.parametrize(
    "preprocessing",
    [
        Preprocessing(),
        SEGMENTATION_PREPROCESSING,
        Preprocessing(resize_short=284, crop_size=256, interpolation="bicubic", channel_order="RGB"),
    ],
)
def test_the_written_preprocessing_reads_back_as_it_was(preprocessing):
    """What the Hub reader (mobilevit.hub) makes of the written configs is the preprocessing written."""
    assert huggingface_preprocessing(huggingface_processor(preprocessing)) == preprocessing
    state_dict = build_classifier("xx_small", num_classes=3).state_dict()
    pretrained_cfg = timm_config("xx_small", state_dict, preprocessing, None)["pretrained_cfg"]
    if preprocessing.channel_order == "BGR":  # timm's config describes the RGB model timm runs
        assert timm_preprocessing(pretrained_cfg) == preprocessing


def test_the_renames_are_the_inverse_of_reading(classifier):
    """Written then renamed back by mobilevit.convert gives every tensor of ours (the timm stem
    reversed twice), for every layout a classifier can be written in."""
    from mobilevit.convert import to_mobilevit

    _, model = classifier
    ours = model.state_dict()
    for layout in ("huggingface", "timm", "cvnets", "mmpretrain"):
        assert_bit_exact(ours, to_mobilevit(to_layout(ours, layout), layout))


def test_convert_to_writes_a_peer_layout_from_the_command_line(tmp_path, capsys):
    model = randomised(build_classifier("xx_small", num_classes=len(CLASS_NAMES)))
    source = save_checkpoint(tmp_path / "ours.safetensors", model.state_dict(), "xx_small", class_names=CLASS_NAMES)
    assert main(["convert", str(source), str(tmp_path / "hf"), "--to", "huggingface"]) == 0
    assert "huggingface layout" in capsys.readouterr().out
    theirs = transformers.MobileViTForImageClassification.from_pretrained(tmp_path / "hf").eval()
    image = deterministic_input(batch=1, height=256, width=256)
    with torch.no_grad():
        torch.testing.assert_close(theirs(pixel_values=image).logits, model(image), atol=TOLERANCE, rtol=0)
    assert theirs.config.id2label[3] == CLASS_NAMES[3]

    assert main(["convert", str(tmp_path / "hf"), str(tmp_path / "timm"), "--to", "timm"]) == 0
    timm_model = timm.create_model(f"local-dir:{tmp_path / 'timm'}", pretrained=True).eval()
    with torch.no_grad():
        torch.testing.assert_close(timm_model(image.flip(1)), model(image), atol=TOLERANCE, rtol=0)

    segmenter = build_segmenter("xx_small", num_classes=21)
    save_checkpoint(tmp_path / "seg.safetensors", segmenter.state_dict(), "xx_small", output_stride=16)
    assert main(["convert", str(tmp_path / "seg.safetensors"), str(tmp_path / "seg.pth"), "--to", "timm"]) == 2
    error = capsys.readouterr().err.splitlines()[-1]  # after transformers' progress bars
    assert error.startswith("mobilevit convert: error: cannot write a DeepLabv3 segmenter in timm's layout")
    assert not (tmp_path / "seg.pth").exists()

    detector = randomised(build_ssdlite("xx_small", num_classes=81))
    save_checkpoint(tmp_path / "det.safetensors", detector.state_dict(), "xx_small", task="detection")
    assert main(["convert", str(tmp_path / "det.safetensors"), str(tmp_path / "det.pt"), "--to", "cvnets"]) == 0
    checkpoint = read_checkpoint(tmp_path / "det.pt")
    assert checkpoint.layout == "cvnets_ssd"
    assert_bit_exact(detector.state_dict(), checkpoint.state_dict)
