"""An exported file run by `test` and `predict` is checked against the task it serves: a file of
another task, or a detector's settings that are garbage or name another class count, is an error
naming the file."""

import json

import pytest
import torch

from arch_table import TINY_ARCH
from mobilevit.export import ExportedDetector, export_detector, export_model, exported_scorer, settings_path
from mobilevit.models import build_segmenter, build_ssdlite
from mobilevit.tasks import CLASSIFICATION, DETECTION, SEGMENTATION

pytest.importorskip("onnxruntime")


def test_a_segmenters_file_is_refused_by_a_classification_test_and_a_detectors_by_either(tmp_path):
    torch.manual_seed(0)
    segmenter = export_model(
        build_segmenter(TINY_ARCH, num_classes=3, aspp_channels=8), tmp_path / "s.onnx", "onnx", 64, 64
    )
    score = exported_scorer("onnxruntime", segmenter, CLASSIFICATION)
    with pytest.raises(ValueError, match=r"s.onnx gives outputs of shape \(1, 3, 64, 64\), and the config's task is"):
        score(torch.rand(1, 3, 64, 64))
    assert exported_scorer("onnxruntime", segmenter, SEGMENTATION)(torch.rand(1, 3, 64, 64)).shape == (1, 3, 64, 64)
    model = build_ssdlite(TINY_ARCH, num_classes=3, image_size=64).eval()
    model.class_names = ("background", "a", "b")
    detector = export_detector(model, tmp_path / "d.onnx")
    with pytest.raises(ValueError, match=r"d.onnx gives detections, and the config's task is classification"):
        exported_scorer("onnxruntime", detector, CLASSIFICATION)
    batch = torch.rand(2, 3, 64, 64)
    raw = exported_scorer("onnxruntime", detector, DETECTION)(batch)  # what the task's evaluator decodes
    with torch.no_grad():
        torch.testing.assert_close(raw["cls_logits"], model(batch)["cls_logits"], atol=1e-4, rtol=0)


def test_a_detectors_settings_file_that_is_garbage_or_of_another_class_count_is_named(tmp_path):
    pytest.importorskip("openvino")
    model = build_ssdlite(TINY_ARCH, num_classes=3, image_size=64).eval()
    model.class_names = ("background", "a", "b")
    path = export_detector(model, tmp_path / "d.xml", "openvino")
    settings = settings_path(path)
    good = json.loads(settings.read_text())
    ExportedDetector(path, "openvino").check_classes(3)
    with pytest.raises(ValueError, match="decodes 3 classes .* has 81: pass the model the file was exported from"):
        ExportedDetector(path, "openvino").check_classes(81)
    settings.write_text("{not json")
    with pytest.raises(ValueError, match=f"{settings} holds no detector settings mobilevit export writes"):
        ExportedDetector(path, "openvino")
    settings.write_text(json.dumps({**good, "class_names": ["background", "a"]}))
    with pytest.raises(ValueError, match=f"{settings}: 2 class_names for num_classes 3"):
        ExportedDetector(path, "openvino")
    settings.write_text(json.dumps({**good, "num_classes": 5, "class_names": ["x"] * 5}))
    with pytest.raises(ValueError, match=f"{settings}: raw outputs of shapes"):
        ExportedDetector(path, "openvino")([torch.rand(3, 50, 60)])
