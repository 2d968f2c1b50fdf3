"""MobileViT v2's dense pipelines compute as ml-cvnets v0.2+, where the v2 weights were trained: a v2
detector's images are resized as its preprocessing says (bicubic for the published weights), and a
v2 segmenter upsamples its logits with ``align_corners=True``; v1's stay bilinear and ``False``."""

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from small_coco import coco_overrides, write_coco

import mobilevit
from mobilevit.checkpoint import save_checkpoint
from mobilevit.config import load_config
from mobilevit.data.detection import resize_for_model
from mobilevit.data.sampler import SampleRequest
from mobilevit.data.segmentation import SegmentationBatch
from mobilevit.data.transforms import EvalTransform, Preprocessing
from mobilevit.models import build_pspnet, build_segmenter, build_ssdlite
from mobilevit.tasks import DETECTION, SEGMENTATION
from mobilevit.tasks.segmentation import ConfusionMatrix
from mobilevit.zoo import get_record
from reference_weights import lively_state_dict

ROOT = Path(__file__).resolve().parents[2]
SMALL = Preprocessing(
    resize_short=64, crop_size=64, keep_aspect_ratio=False, interpolation="bicubic", channel_order="RGB"
)


def rgb_image(seed: int, height: int, width: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def as_tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(rgb.copy()).permute(2, 0, 1).float() / 255


@pytest.fixture(scope="module")
def v2_detector():
    torch.manual_seed(0)
    model = build_ssdlite("v2_050", num_classes=3, image_size=128, score_thresh=0.0, detections_per_img=10).eval()
    model.class_names = ("background", "a", "b")
    return model


def detections(model, rgb, preprocessing):
    model.preprocessing = preprocessing
    return DETECTION.predict(model, [rgb], DETECTION.runner(model))[0]


def test_the_v2_detection_records_and_defaults_resize_bicubically_as_ml_cvnets():
    # ml-cvnets' config/detection/ssd_coco/mobilevit_v2.yaml: resize 320x320, interpolation bicubic
    record = get_record("ssdlite_mobilevitv2-100_3rdparty_coco")
    assert (record.preprocessing.interpolation, record.preprocessing.crop_size) == ("bicubic", 320)
    assert "320x320 (bicubic" in record.protocol
    assert DETECTION.default_preprocessing_v2.interpolation == "bicubic"  # a v2 file without our header
    assert DETECTION.default_preprocessing.interpolation == "bilinear"  # v1's (ml-cvnets v0.1, OpenCV)
    assert SEGMENTATION.default_preprocessing_v2.interpolation == "bicubic"
    recipe = load_config(ROOT / "configs/ssdlite/ssdlite_mobilevitv2-100_4xb32_coco.py").data.preprocessing
    assert (recipe.channel_order, recipe.interpolation) == ("RGB", "bicubic")  # ml-cvnets' recipe resized so too


def test_predict_resizes_a_detectors_images_as_its_preprocessing_says(v2_detector):
    rgb = rgb_image(1, 90, 150)
    bicubic = detections(v2_detector, rgb, DETECTION.default_preprocessing_v2)
    bilinear = detections(v2_detector, rgb, Preprocessing(320, 320, "bilinear", "RGB", keep_aspect_ratio=False))
    with torch.no_grad():
        expected = v2_detector.detect([as_tensor(rgb)], "bicubic")[0]
        other = v2_detector.detect([as_tensor(rgb)], "bilinear")[0]
    assert not torch.allclose(expected["scores"], other["scores"])  # the resize shows in the detections
    np.testing.assert_allclose(bicubic["scores"], expected["scores"].numpy(), atol=1e-6)
    np.testing.assert_allclose(bicubic["boxes"], expected["boxes"].numpy(), atol=1e-4)
    np.testing.assert_allclose(bilinear["scores"], other["scores"].numpy(), atol=1e-6)
    batch = resize_for_model(as_tensor(rgb), 128, "bicubic")
    assert batch.min() >= 0 and batch.max() <= 1  # clipped as an image's pixels are
    with pytest.raises(ValueError, match="interpolation must be one of bilinear, bicubic, got 'area'"):
        resize_for_model(as_tensor(rgb), 128, "area")


@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic"])
def test_a_detection_configs_data_resize_as_its_preprocessing_says(interpolation, tmp_path):
    write_coco(tmp_path, [rgb_image(10, 70, 90), rgb_image(11, 70, 90)])
    overrides = [*coco_overrides(tmp_path), f"data.preprocessing.interpolation={interpolation}"]
    config = load_config(ROOT / "configs/ssdlite/ssdlite_mobilevitv2-050_1xb16_digit-boxes.py", overrides)
    data = DETECTION.build_data(config, train=True)
    assert torch.equal(data.val.dataset[0].image, resize_for_model(as_tensor(rgb_image(10, 70, 90)), 64, interpolation))
    train = data.train.dataset[SampleRequest(0, 64, 64, seed=3)].image  # no crop, distortion or flip in this config
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms.v2 import functional as TF

    resized = TF.resize(
        torch.from_numpy(rgb_image(10, 70, 90)).permute(2, 0, 1),
        [64, 64],
        InterpolationMode(interpolation),
        antialias=False,
    )
    assert torch.equal(train, resized.float() / 255)


def lively(model):
    model.load_state_dict(lively_state_dict(model.state_dict(), "head.classifier.weight"))
    return model.eval()


@pytest.mark.parametrize("build", [build_segmenter, build_pspnet])
def test_a_v2_segmenter_upsamples_its_logits_with_align_corners_and_v1_without(build):
    x = torch.rand(1, 3, 64, 96)
    for arch, align_corners in (("v2_050", True), ("xx_small", False)):
        model = lively(build(arch, num_classes=4, aspp_channels=32) if build is build_segmenter else build(arch, 4))
        assert (
            model.align_corners is align_corners and SEGMENTATION.settings_of(model)["align_corners"] is align_corners
        )
        with torch.no_grad():
            low = model.forward_low_res(x)
            expected = F.interpolate(low, size=(64, 96), mode="bilinear", align_corners=align_corners)
            other = F.interpolate(low, size=(64, 96), mode="bilinear", align_corners=not align_corners)
            torch.testing.assert_close(model(x), expected, rtol=0, atol=1e-6)
            torch.testing.assert_close(model.predict(x, size=(50, 70))[0], F.interpolate(low, size=(50, 70), mode="bilinear", align_corners=align_corners).softmax(1), rtol=0, atol=1e-6)  # fmt: skip
        assert (expected - other).abs().max() > 1e-3 * low.abs().max()  # the choice shows


def test_our_files_keep_the_setting_and_files_without_it_take_the_familys(tmp_path):
    source = lively(build_segmenter("v2_050", num_classes=4, aspp_channels=32, align_corners=False))
    settings = SEGMENTATION.settings_of(source)
    save_checkpoint(tmp_path / "kept.safetensors", source.state_dict(), "v2_050", task="segmentation", **settings)
    assert mobilevit.init_model(tmp_path / "kept.safetensors").align_corners is False
    torch.save(source.state_dict(), tmp_path / "plain.pth")  # no header: the v2 weights' published upsampling
    assert mobilevit.init_model(tmp_path / "plain.pth").align_corners is True
    save_checkpoint(
        tmp_path / "bad.safetensors", source.state_dict(), "v2_050", task="segmentation", align_corners="yes"
    )
    with pytest.raises(ValueError, match="align_corners must be true or false, got 'yes'"):
        mobilevit.init_model(tmp_path / "bad.safetensors")


@pytest.mark.parametrize("align_corners", [True, False])
def test_segment_takes_the_image_size_as_the_weights_upsample(align_corners):
    model = lively(build_segmenter("v2_050", num_classes=4, aspp_channels=32, align_corners=align_corners))
    model.preprocessing = SMALL
    rgb = rgb_image(3, 300, 70)  # more rows than one band of the mask
    result = mobilevit.inference_model(model, rgb, channel_order="RGB")
    bare = SEGMENTATION.predict(model, [rgb], SEGMENTATION.runner(model), pixel_scores=False)[0]
    logits = SEGMENTATION.runner(model)(EvalTransform(SMALL)(rgb)[None])  # (1, 4, 64, 64): upsampled in the model
    if align_corners:  # bilinear with align_corners=True, as ml-cvnets v0.2+ to the original size
        expected = F.interpolate(logits, size=(300, 70), mode="bilinear", align_corners=True)[0].softmax(0)
    else:  # nearest, as ml-cvnets v0.1
        expected = F.interpolate(logits, size=(300, 70), mode="nearest")[0].softmax(0)
    np.testing.assert_allclose(result["pred_scores"], expected.numpy(), atol=1e-5)
    assert (result["pred_mask"] == expected.argmax(0).numpy()).mean() > 0.999
    assert (bare["pred_mask"] == result["pred_mask"]).mean() > 0.999 and "pred_scores" not in bare
    assert bare["pred_classes"] == result["pred_classes"]


def test_the_evaluation_resizes_as_the_configs_family_upsamples():
    logits = torch.randn(1, 3, 4, 4)
    mask = torch.zeros(1, 7, 9, dtype=torch.long)
    batch = SegmentationBatch(torch.zeros(1, 3, 4, 4), mask, ())
    for align_corners in (True, False):
        matrix = ConfusionMatrix(3, torch.device("cpu"), align_corners)
        matrix.update(logits, batch)
        if align_corners:
            predicted = F.interpolate(logits, size=(7, 9), mode="bilinear", align_corners=True).argmax(1)
        else:
            predicted = F.interpolate(logits.argmax(1, keepdim=True).float(), size=(7, 9), mode="nearest")[:, 0]
        assert torch.equal(matrix.matrix[0], torch.bincount(predicted.flatten().long(), minlength=3))
    v2 = load_config(ROOT / "configs/deeplabv3/deeplabv3_mobilevitv2-050_1xb8_digit-scenes.py")
    assert SEGMENTATION.evaluator(v2, torch.device("cpu")).align_corners is True
    assert SEGMENTATION.build_model(v2).align_corners is True


@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic"])
def test_segmentation_training_resizes_the_image_as_the_preprocessing_says(interpolation):
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms.v2 import functional as TF

    from mobilevit.data.segmentation import SegmentationTrainTransform
    from mobilevit.data.transforms import normalize

    preprocessing = Preprocessing(48, 48, interpolation, "RGB", keep_aspect_ratio=False)
    transform = SegmentationTrainTransform(preprocessing, (48, 48), horizontal_flip=False)
    rgb, mask = rgb_image(5, 40, 60), np.zeros((40, 60), np.uint8)
    image, _ = transform(rgb, mask, (48, 72), torch.Generator().manual_seed(0))  # the whole resized image
    resized = TF.resize(torch.from_numpy(rgb).permute(2, 0, 1), [48], InterpolationMode(interpolation), antialias=False)
    assert torch.equal(image, normalize(resized, preprocessing))
