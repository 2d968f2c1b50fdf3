"""Detectors get their images in the model's channel order: RGB for MobileViT v2, BGR for v1, in
predict, in the training and evaluation data of a config and through an exported file."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from small_coco import coco_overrides, write_coco

import mobilevit
from mobilevit import apis
from mobilevit.config import load_config
from mobilevit.data.detection import resize_for_model
from mobilevit.data.sampler import SampleRequest
from mobilevit.models import build_ssdlite
from mobilevit.tasks import DETECTION
from mobilevit.tasks.detection import detection_input

ROOT = Path(__file__).resolve().parents[2]
V1_TINY_ARCH = [
    ["mobilenetv2", 8, 1, 1, 2],
    ["mobilenetv2", 16, 2, 1, 2],
    ["mobilevit", 24, 2, 24, 48, 1, 2],
    ["mobilevit", 32, 2, 32, 64, 1, 2],
    ["mobilevit", 40, 2, 40, 80, 1, 2],
]


def rgb_image(seed: int = 0, height: int = 70, width: int = 90) -> np.ndarray:
    """A colourful (H, W, 3) uint8 image whose channels differ everywhere it matters."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    image[10:40, 20:60] = (230, 40, 10)  # a red patch: its channels swapped, a blue one
    return image


def as_tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(rgb.copy()).permute(2, 0, 1).float() / 255


def detector(arch, seed: int = 0):
    torch.manual_seed(seed)
    model = build_ssdlite(arch, num_classes=3, image_size=128, score_thresh=0.0, detections_per_img=10).eval()
    model.class_names = ("background", "a", "b")
    return model


def assert_same_detections(result: dict, reference: dict) -> None:
    assert len(result["boxes"]) == len(reference["boxes"]) > 0
    np.testing.assert_array_equal(result["labels"], reference["labels"].numpy())
    np.testing.assert_allclose(result["boxes"], reference["boxes"].numpy(), atol=1e-3)
    np.testing.assert_allclose(result["scores"], reference["scores"].numpy(), atol=1e-5)


@pytest.fixture(scope="module")
def v2_detector():
    return detector("v2_050")


def test_a_v2_detector_takes_rgb_and_a_v1_detector_bgr(v2_detector):
    rgb = rgb_image()
    v1 = detector(V1_TINY_ARCH)
    assert torch.equal(apis.detection_input(rgb, "RGB", model=v2_detector), as_tensor(rgb))
    assert torch.equal(apis.detection_input(rgb, "RGB", model=v1), as_tensor(rgb).flip(0))
    assert torch.equal(apis.detection_input(rgb, "RGB"), as_tensor(rgb).flip(0))  # no model: BGR
    assert torch.equal(detection_input(rgb, "RGB"), as_tensor(rgb))
    assert apis.preprocessing_of(v2_detector).channel_order == "RGB"
    assert apis.preprocessing_of(v1).channel_order == "BGR"


def test_predict_feeds_a_v2_detector_rgb_and_a_v1_detector_bgr(v2_detector):
    rgb = rgb_image(1)
    with torch.no_grad():  # resized as the v2 weights were, bicubically
        reference = v2_detector.detect([as_tensor(rgb)], "bicubic")[0]
        swapped = v2_detector.detect([as_tensor(rgb).flip(0)], "bicubic")[0]
    assert not torch.allclose(reference["scores"], swapped["scores"])  # the order shows in the detections
    assert_same_detections(mobilevit.inference_model(v2_detector, rgb, channel_order="RGB"), reference)
    assert_same_detections(mobilevit.inference_model(v2_detector, rgb[..., ::-1].copy()), reference)  # a BGR array

    v1 = detector(V1_TINY_ARCH)
    with torch.no_grad():
        v1_reference = v1.detect([as_tensor(rgb).flip(0)])[0]
    assert_same_detections(mobilevit.inference_model(v1, rgb, channel_order="RGB"), v1_reference)


def test_the_models_preprocessing_says_the_channel_order(v2_detector):
    rgb = rgb_image(2)
    v1 = detector(V1_TINY_ARCH)
    v1.preprocessing = DETECTION.default_preprocessing_v2  # weights that take RGB (bicubic), as their files say
    with torch.no_grad():
        reference = v1.detect([as_tensor(rgb)], "bicubic")[0]
    assert_same_detections(mobilevit.inference_model(v1, rgb, channel_order="RGB"), reference)


def samples(config_file: str, root: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """The first training sample and the first evaluation sample of a config's data."""
    config = load_config(ROOT / "configs/ssdlite" / config_file, coco_overrides(root))
    data = DETECTION.build_data(config, train=True)
    return data.train.dataset[SampleRequest(0, 64, 64, seed=3)].image, data.val.dataset[0].image


def test_a_v2_configs_training_and_evaluation_samples_are_rgb(tmp_path):
    write_coco(tmp_path, [rgb_image(10), rgb_image(11)])
    v2_train, v2_val = samples("ssdlite_mobilevitv2-050_1xb16_digit-boxes.py", tmp_path)
    v1_train, v1_val = samples("ssdlite_mobilevit-tiny_1xb16_digit-boxes.py", tmp_path)
    expected = resize_for_model(as_tensor(rgb_image(10)), 64)  # no crop, distortion or flip in these configs
    assert torch.equal(v2_val, expected)
    assert torch.equal(v1_val, expected.flip(0))
    assert torch.equal(v2_train, v1_train.flip(0)) and not torch.equal(v2_train, v1_train)


@pytest.mark.slow
def test_an_exported_v2_detector_records_rgb_and_its_runner_feeds_it(v2_detector, tmp_path):
    pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    from mobilevit.export import (
        DETECTION_METADATA_KEY,
        OnnxDetector,
        export_detector,
        exported_runner,
        exported_scorer,
    )

    path = export_detector(v2_detector, tmp_path / "detector.onnx")
    run = exported_runner("onnxruntime", path)
    assert (run.channel_order, run.interpolation) == ("RGB", "bicubic")
    rgb = rgb_image(3)
    with torch.no_grad():
        reference = v2_detector.detect([as_tensor(rgb)], "bicubic")[0]
    bare = detector("v2_050", seed=1)  # predict takes only the class names from the model beside a file
    bare.preprocessing = DETECTION.default_preprocessing  # the file's channel order and resize win over the model's
    assert_same_detections(DETECTION.predict(bare, [rgb], run)[0], reference)
    exported_scorer("onnxruntime", path, DETECTION, "RGB")  # `mobilevit test` of a config whose data is RGB
    with pytest.raises(ValueError, match="takes RGB images and the config's data.preprocessing.channel_order is BGR"):
        exported_scorer("onnxruntime", path, DETECTION, "BGR")

    graph = onnx.load(str(path))  # a file exported before the channel order was recorded takes BGR
    entry = next(entry for entry in graph.metadata_props if entry.key == DETECTION_METADATA_KEY)
    settings = json.loads(entry.value)
    del settings["channel_order"], settings["interpolation"]
    entry.value = json.dumps(settings)
    onnx.save(graph, str(tmp_path / "older.onnx"))
    older = OnnxDetector(tmp_path / "older.onnx")
    assert (older.channel_order, older.interpolation) == ("BGR", "bilinear")
    entry.value = json.dumps({**settings, "channel_order": "bgr"})
    onnx.save(graph, str(tmp_path / "garbled.onnx"))
    with pytest.raises(ValueError, match="garbled.onnx holds no detector settings.*channel_order must be"):
        OnnxDetector(tmp_path / "garbled.onnx")
    entry.value = json.dumps({**settings, "interpolation": "lanczos"})
    onnx.save(graph, str(tmp_path / "garbled.onnx"))
    with pytest.raises(ValueError, match="garbled.onnx holds no detector settings.*interpolation must be one of bil"):
        OnnxDetector(tmp_path / "garbled.onnx")


@pytest.mark.slow
def test_a_v2_detector_in_openvino_records_rgb_beside_it_and_older_settings_take_bgr(v2_detector, tmp_path):
    pytest.importorskip("openvino")
    from mobilevit.export import export_detector, exported_runner, settings_path

    path = export_detector(v2_detector, tmp_path / "detector.xml", "openvino")
    settings = json.loads(settings_path(path).read_text())
    assert (settings["channel_order"], settings["interpolation"]) == ("RGB", "bicubic")
    rgb = rgb_image(4)
    with torch.no_grad():
        reference = v2_detector.detect([as_tensor(rgb)], "bicubic")[0]
    assert_same_detections(DETECTION.predict(v2_detector, [rgb], exported_runner("openvino", path))[0], reference)
    del settings["channel_order"]
    settings_path(path).write_text(json.dumps(settings))
    assert exported_runner("openvino", path).channel_order == "BGR"
