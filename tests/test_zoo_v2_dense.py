"""The zoo's MobileViT v2 dense records: ml-cvnets' DeepLabv3 and PSPNet (VOC, ADE20k) and SSDLite
(COCO), with their URLs, preprocessing, classes, published figures and our counts."""

from pathlib import Path

import pytest
import torch

import mobilevit
from mobilevit.analysis import measure_complexity
from mobilevit.cli import main
from mobilevit.data.detection import COCO_CLASSES
from mobilevit.data.segmentation import ADE20K_CLASSES, VOC_CLASSES
from mobilevit.download import cached_path, hash_prefix
from mobilevit.models import DeepLabV3, MobileViTV2, PSPNet, SSDLite
from mobilevit.tasks import get_task
from mobilevit.zoo import MODELS, get_record

ROOT = Path(__file__).resolve().parents[1]
URL = "https://docs-assets.developer.apple.com/ml-research/models/cvnets-v2/"
# the published widths of each (facts sheet 4.2)
PUBLISHED = {
    ("deeplabv3", "voc"): ("050", "100", "125", "150"),
    ("deeplabv3", "ade20k"): ("050", "075", "100", "125", "150", "175", "200"),
    ("pspnet", "voc"): ("050", "075", "100", "125", "150"),
    ("pspnet", "ade20k"): ("050", "075", "100", "125", "150", "175"),
    ("ssdlite", "coco"): ("050", "075", "100", "125", "150", "175", "200"),
}


def dense_v2_names():
    return [name for name in MODELS if "_mobilevitv2-" in name]


def test_every_published_v2_dense_model_has_a_record():
    expected = [
        f"{head}_mobilevitv2-{width}_3rdparty_{data}" for (head, data), widths in PUBLISHED.items() for width in widths
    ]
    assert dense_v2_names() == expected


@pytest.mark.parametrize(
    "name, url, figure, classes, output_stride",
    [
        ("deeplabv3_mobilevitv2-100_3rdparty_voc", "segmentation/pascalvoc/mobilevitv2/deeplabv3-mobilevitv2-1.0.pt", 78.94, VOC_CLASSES, 16),
        ("deeplabv3_mobilevitv2-200_3rdparty_ade20k", "segmentation/ade20k/mobilevitv2/deeplabv3-mobilevitv2-2.0.pt", 40.94, ADE20K_CLASSES, 8),
        ("pspnet_mobilevitv2-075_3rdparty_voc", "segmentation/pascalvoc/mobilevitv2/pspnet-mobilevitv2-0.75.pt", 77.44, VOC_CLASSES, 16),
        ("pspnet_mobilevitv2-050_3rdparty_ade20k", "segmentation/ade20k/mobilevitv2/pspnet-mobilevitv2-0.5.pt", 31.77, ADE20K_CLASSES, 8),
    ],
)  # fmt: skip
def test_segmentation_records_carry_url_settings_preprocessing_and_figures(name, url, figure, classes, output_stride):
    record = get_record(name)
    assert record.url == URL + url and record.miou == figure and record.class_names == classes
    # the file name carries no sha256 prefix and the digest is not yet known: not verified on download
    assert hash_prefix(cached_path(record.url).name) is None and record.sha256 == ""
    preprocessing = record.preprocessing
    assert (preprocessing.channel_order, preprocessing.interpolation, preprocessing.crop_size) == (
        "RGB",
        "bicubic",
        512,
    )
    # ml-cvnets' evaluation: the short side to 512, the aspect ratio kept, sides floored to the output stride
    assert preprocessing.keep_aspect_ratio and preprocessing.size_multiple == output_stride
    assert "short side resized to 512 (bicubic, aspect ratio kept" in record.protocol
    assert record.protocol.count("align_corners=True") == 2
    assert (ROOT / record.config).is_file()
    with torch.device("meta"):
        model = mobilevit.get_model(name)
    assert isinstance(model, PSPNet if name.startswith("pspnet") else DeepLabV3) and model.aux_head is None
    assert isinstance(model.backbone, MobileViTV2) and model.backbone.output_stride == output_stride
    settings = get_task("segmentation").settings_of(model)
    assert settings["align_corners"] is True  # ml-cvnets v0.2+ upsample the logits so
    if name.startswith("deeplabv3"):  # ml-cvnets' rates of the data set
        assert settings["atrous_rates"] == ([12, 24, 36] if output_stride == 8 else [6, 12, 18])
        assert model.head.aspp.project[0].out_channels == 512
    else:
        assert settings["pool_sizes"] == [1, 2, 3, 6] and model.head.fusion.conv.out_channels == 512


def test_ssdlite_records_carry_url_preprocessing_and_figures():
    record = get_record("ssdlite_mobilevitv2-175_3rdparty_coco")
    assert record.url == URL + "detection/mobilevitv2/coco-ssd-mobilevitv2-1.75.pt" and record.map == 29.52
    assert record.class_names == ("background", *COCO_CLASSES) and record.sha256 == ""
    assert (record.preprocessing.channel_order, record.preprocessing.interpolation) == ("RGB", "bicubic")
    assert record.preprocessing.crop_size == 320 and "RGB" in record.protocol
    with torch.device("meta"):
        assert isinstance(mobilevit.get_model(record.name), SSDLite)


@pytest.mark.parametrize("name", [name for name in MODELS if "_mobilevitv2-" in name])
def test_every_dense_v2_record_has_ml_cvnets_parameter_count(name):
    record = get_record(name)
    with torch.device("meta"):
        model = mobilevit.get_model(name)
    assert round(sum(parameter.numel() for parameter in model.parameters()) / 1e6, 2) == record.params_m


@pytest.mark.parametrize("name", ["pspnet_mobilevitv2-050_3rdparty_voc", "ssdlite_mobilevitv2-050_3rdparty_coco"])
def test_our_multiply_adds_are_the_records(name):
    record = get_record(name)
    size = record.preprocessing.crop_size
    assert abs(measure_complexity(mobilevit.get_model(name), size, size).macs / 1e9 - record.flops_g) < 0.006


def test_list_shows_the_dense_v2_records(capsys):
    assert main(["list"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if "_mobilevitv2-" in line}
    assert len(lines) == len(dense_v2_names())
    assert lines["pspnet_mobilevitv2-100_3rdparty_ade20k"].split()[1:] == [
        "v2_100", "9.45", "40.14", "mIoU", "36.57", "(ADE20k", "val)"
    ]  # fmt: skip
    assert lines["ssdlite_mobilevitv2-200_3rdparty_coco"].split()[1:5] == ["v2_200", "19.11", "11.60", "mAP"]
