"""The MobileViT v2 records of the zoo: names, URLs, preprocessing, published figures, counts."""

import pytest

import mobilevit
from mobilevit.analysis import measure_complexity
from mobilevit.cli import main
from mobilevit.download import cached_path, hash_prefix
from mobilevit.imagenet import IMAGENET_CLASSES
from mobilevit.models import MobileViTV2
from mobilevit.zoo import MODELS, get_record

WIDTHS = ("050", "075", "100", "125", "150", "175", "200")
URL = "https://docs-assets.developer.apple.com/ml-research/models/cvnets-v2/classification/mobilevitv2/"


def v2_names():
    return [name for name in MODELS if name.startswith("mobilevitv2-")]


def test_every_published_v2_classifier_has_a_record():
    expected = [
        *(f"mobilevitv2-{width}_3rdparty_in1k" for width in WIDTHS),
        *(f"mobilevitv2-{width}_3rdparty_in1k-384px" for width in WIDTHS),
        *(f"mobilevitv2-{width}_in21k-pre_3rdparty_in1k" for width in ("150", "175", "200")),
        *(f"mobilevitv2-{width}_in21k-pre_3rdparty_in1k-384px" for width in ("150", "175", "200")),
    ]
    assert v2_names() == expected


@pytest.mark.parametrize(
    "name, url, top1, size",
    [
        ("mobilevitv2-050_3rdparty_in1k", "imagenet1k/256x256/mobilevitv2-0.5.pt", 70.18, 256),
        ("mobilevitv2-075_3rdparty_in1k-384px", "imagenet1k/384x384/mobilevitv2-0.75.pt", 76.98, 384),
        ("mobilevitv2-200_in21k-pre_3rdparty_in1k", "imagenet21k_to_1k/256x256/mobilevitv2-2.0.pt", 82.36, 256),
        ("mobilevitv2-150_in21k-pre_3rdparty_in1k-384px", "imagenet21k_to_1k/384x384/mobilevitv2-1.5.pt", 82.60, 384),
    ],
)
def test_records_carry_url_preprocessing_and_figures(name, url, top1, size):
    record = get_record(name)
    assert record.url == URL + url and record.top1 == top1 and record.top5 is None
    # the file name carries no sha256 prefix and the digest is not yet known: not verified on download
    assert hash_prefix(cached_path(record.url).name) is None and record.sha256 == ""
    preprocessing = record.preprocessing
    assert (preprocessing.channel_order, preprocessing.interpolation, preprocessing.crop_size) == (
        "RGB",
        "bicubic",
        size,
    )
    assert preprocessing.resize_short == (288 if size == 256 else 384)
    assert preprocessing.std == (255.0, 255.0, 255.0) and preprocessing.mean == (0.0, 0.0, 0.0)
    assert record.class_names == IMAGENET_CLASSES and record.task == "classification"
    assert ("21k" in record.pretraining) == ("in21k" in name)


@pytest.mark.parametrize("name", ["mobilevitv2-050_3rdparty_in1k", "mobilevitv2-100_3rdparty_in1k-384px"])
def test_published_params_and_flops_are_met(name):
    record = get_record(name)
    model = mobilevit.get_model(name)
    assert isinstance(model.backbone, MobileViTV2) and model.preprocessing == record.preprocessing
    size = record.preprocessing.crop_size
    complexity = measure_complexity(model, size, size)
    assert round(complexity.params / 1e6, 2) == record.params_m
    assert abs(complexity.macs / 1e9 - record.flops_g) < 0.006


def test_list_and_flops_show_the_v2_records(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("mobilevitv2-200_in21k-pre_3rdparty_in1k-384px "))
    assert line.split()[1:5] == ["v2_200", "18.45", "16.25", "top-1"] and "83.41" in line and "21k" in line
    assert main(["flops", "mobilevitv2-050_3rdparty_in1k"]) == 0
    assert "0.48" in capsys.readouterr().out
