import pytest
import torch

import mobilevit
from mobilevit.analysis import measure_complexity
from mobilevit.download import cached_path, hash_prefix
from mobilevit.models import DeepLabV3, ImageClassifier, SSDLite
from mobilevit.zoo import VOC_CLASSES, get_record

NAMES = ["mobilevit-xxsmall_3rdparty_in1k", "mobilevit-xsmall_3rdparty_in1k", "mobilevit-small_3rdparty_in1k"]
SEGMENTATION_NAMES = [
    "deeplabv3_mobilevit-xxsmall_3rdparty_voc",
    "deeplabv3_mobilevit-xsmall_3rdparty_voc",
    "deeplabv3_mobilevit-small_3rdparty_voc",
]
DETECTION_NAMES = [
    "ssdlite_mobilevit-xxsmall_3rdparty_coco",
    "ssdlite_mobilevit-xsmall_3rdparty_coco",
    "ssdlite_mobilevit-small_3rdparty_coco",
]


def test_list_models():
    names = mobilevit.list_models()
    assert names[:9] == NAMES + SEGMENTATION_NAMES + DETECTION_NAMES
    # the v2 classifiers (tests/test_zoo_v2.py), then the v2 dense models (tests/test_zoo_v2_dense.py)
    assert all(
        name.startswith(("mobilevitv2-", "deeplabv3_mobilevitv2-", "pspnet_mobilevitv2-", "ssdlite_mobilevitv2-"))
        for name in names[9:]
    )


@pytest.mark.parametrize("name", NAMES)
def test_published_params_and_flops_are_met(name):
    record = get_record(name)
    complexity = measure_complexity(mobilevit.get_model(name), 256, 256)
    assert round(complexity.params / 1e6, 2) == record.params_m
    assert abs(complexity.macs / 1e9 - record.flops_g) / record.flops_g < 0.02
    assert sum(complexity.breakdown.values()) == complexity.macs


def test_records_carry_weights_and_preprocessing():
    record = get_record("mobilevit-small_3rdparty_in1k")
    assert hash_prefix(cached_path(record.url).name) == "cb4f741c"  # what the download is checked against
    assert record.url.endswith("mobilevit-small_3rdparty_in1k_20221018-cb4f741c.pth")
    assert (record.top1, record.top5, record.preprocessing.crop_size) == (78.25, 94.09, 256)
    assert record.class_names == mobilevit.imagenet_classes and record.num_classes == 1000
    assert record.preprocessing.channel_order == "BGR"
    assert (record.preprocessing.resize_short, record.preprocessing.crop_size) == (288, 256)


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(ValueError, match="Did you mean 'mobilevit-small_3rdparty_in1k'.*mobilevit-xxsmall"):
        mobilevit.get_model("mobilevit-smal")


def test_get_model_loads_a_local_checkpoint(tmp_path):
    source = mobilevit.get_model("mobilevit-xxsmall_3rdparty_in1k").eval()
    path = tmp_path / "weights.pth"
    torch.save({"meta": {"note": "mmpretrain layout"}, "state_dict": source.state_dict()}, path)
    loaded = mobilevit.get_model("mobilevit-xxsmall_3rdparty_in1k", pretrained=path).eval()
    x = torch.rand(1, 3, 64, 64)
    assert torch.equal(source(x), loaded(x))


def test_a_checkpoint_of_another_arch_is_refused(tmp_path):
    path = tmp_path / "small.pth"
    torch.save(mobilevit.get_model("mobilevit-small_3rdparty_in1k").state_dict(), path)
    with pytest.raises(ValueError, match="shape mismatches"):
        mobilevit.get_model("mobilevit-xxsmall_3rdparty_in1k", pretrained=path)


def test_segmentation_records_carry_the_published_protocol():
    record = get_record("deeplabv3_mobilevit-small_3rdparty_voc")
    assert (record.task, record.arch, record.num_classes, record.miou) == ("segmentation", "small", 21, 79.3)
    assert record.url == (
        "https://docs-assets.developer.apple.com/ml-research/models/cvnets/segmentation/deeplabv3_mobilevit_s.pt"
    )
    assert hash_prefix(cached_path(record.url).name) is None  # the file name carries no hash
    preprocessing = record.preprocessing
    assert (preprocessing.crop_size, preprocessing.keep_aspect_ratio, preprocessing.channel_order) == (
        512,
        False,
        "BGR",
    )
    assert preprocessing.mean == (0.0, 0.0, 0.0) and preprocessing.std == (255.0, 255.0, 255.0)
    assert "nearest" in record.protocol and "512x512" in record.protocol
    assert record.class_names == VOC_CLASSES and len(VOC_CLASSES) == 21


@pytest.mark.parametrize("name", SEGMENTATION_NAMES)
def test_segmentation_records_build_the_segmenter_of_their_parameter_count(name):
    record = get_record(name)
    model = mobilevit.get_model(name)
    assert isinstance(model, DeepLabV3) and model.backbone.output_stride == 16
    assert round(sum(parameter.numel() for parameter in model.parameters()) / 1e6, 2) == record.params_m
    assert model.class_names == VOC_CLASSES and model.preprocessing == record.preprocessing
    assert isinstance(mobilevit.get_model(NAMES[0]), ImageClassifier)


@pytest.mark.parametrize(
    "name", [SEGMENTATION_NAMES[0], SEGMENTATION_NAMES[1], pytest.param(SEGMENTATION_NAMES[2], marks=pytest.mark.slow)]
)
def test_segmentation_records_multiply_adds_are_measured(name):
    record = get_record(name)
    complexity = measure_complexity(mobilevit.get_model(name), 512, 512)
    assert abs(complexity.macs / 1e9 - record.flops_g) < 0.01


def test_get_model_loads_a_segmentation_checkpoint(tmp_path):
    name = SEGMENTATION_NAMES[0]
    source = mobilevit.get_model(name).eval()
    torch.save(source.state_dict(), tmp_path / "weights.pth")
    loaded = mobilevit.get_model(name, pretrained=tmp_path / "weights.pth").eval()
    x = torch.rand(1, 3, 64, 64)
    assert torch.equal(source(x), loaded(x))
    other_classes = mobilevit.get_model(name, num_classes=3)
    assert other_classes.head.classifier.out_channels == 3 and other_classes.class_names == ()


@pytest.mark.parametrize("name", DETECTION_NAMES)
def test_detection_records_build_the_detector_of_their_published_size(name):
    record = get_record(name)
    assert (record.task, record.num_classes) == ("detection", 81)
    assert record.url == (
        "https://docs-assets.developer.apple.com/ml-research/models/cvnets/detection/"
        f"ssd_mobilevit_{ {'xx_small': 'xxs', 'x_small': 'xs', 'small': 's'}[record.arch] }_320.pt"
    )
    assert (record.preprocessing.crop_size, record.preprocessing.keep_aspect_ratio) == (320, False)
    assert "320x320" in record.protocol and record.map in (19.9, 24.8, 27.9)
    model = mobilevit.get_model(name)
    assert isinstance(model, SSDLite) and model.image_size == 320
    assert model.class_names[0] == "background" and model.class_names[1] == "person" and len(model.class_names) == 81
    complexity = measure_complexity(model, 320, 320)
    assert round(complexity.params / 1e6, 2) == record.params_m
    assert abs(complexity.macs / 1e9 - record.flops_g) < 0.01
