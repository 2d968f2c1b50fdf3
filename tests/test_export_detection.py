"""An exported detector (ONNX network + our decoding) gives the PyTorch model's detections."""

import pytest
import torch

from mobilevit.export import OnnxDetector, export_detector
from mobilevit.models import build_ssdlite

pytest.importorskip("onnxruntime")

TINY_ARCH = [
    ["mobilenetv2", 8, 1, 1, 2],
    ["mobilenetv2", 16, 2, 1, 2],
    ["mobilevit", 24, 2, 24, 48, 1, 2],
    ["mobilevit", 32, 2, 32, 64, 1, 2],
    ["mobilevit", 40, 2, 40, 80, 1, 2],
]


def check_detector_matches_pytorch(detector, model, batch: torch.Tensor) -> None:
    """An exported detector's class names, raw outputs on ``batch`` (within 1e-4) and detections on
    two images of other sizes are the PyTorch model's."""
    assert detector.class_names == model.class_names
    with torch.no_grad():
        expected = model(batch)
    outputs = detector.raw_outputs(batch)
    for key in ("bbox_regression", "cls_logits"):
        assert (outputs[key] - expected[key]).abs().max() < 1e-4
    images = [torch.rand(3, 80, 120), torch.rand(3, 150, 100)]
    with torch.no_grad():
        reference = model.detect(images)
    detections = detector(images)
    assert sum(len(item["boxes"]) for item in reference) > 0
    for ours, theirs in zip(detections, reference):
        assert torch.equal(ours["labels"], theirs["labels"])
        torch.testing.assert_close(ours["boxes"], theirs["boxes"], atol=1e-3, rtol=0)
        torch.testing.assert_close(ours["scores"], theirs["scores"], atol=1e-5, rtol=0)


@pytest.mark.slow
def test_onnx_detector_equals_pytorch(tmp_path):
    torch.manual_seed(0)
    model = build_ssdlite(TINY_ARCH, num_classes=4, image_size=96, score_thresh=0.2, detections_per_img=20).eval()
    model.class_names = ("background", "a", "b", "c")
    detector = OnnxDetector(export_detector(model, tmp_path / "detector.onnx"))
    check_detector_matches_pytorch(detector, model, torch.rand(3, 3, 96, 96))  # a batch size other than the export's


@pytest.mark.slow
@pytest.mark.parametrize(
    "export_format, suffix, runtime",
    [("openvino", ".xml", "openvino"), ("tflite", ".tflite", "ai_edge_litert"), ("executorch", ".pte", "executorch")],
)
def test_a_detector_in_openvino_litert_and_executorch_gives_the_pytorch_detections(
    tmp_path, export_format, suffix, runtime
):
    pytest.importorskip(runtime)
    from mobilevit.export import ExportedDetector, settings_path

    torch.manual_seed(0)
    model = build_ssdlite(TINY_ARCH, num_classes=4, image_size=96, score_thresh=0.2, detections_per_img=20).eval()
    model.class_names = ("background", "a", "b", "c")
    path = export_detector(model, tmp_path / f"detector{suffix}", export_format, batch_size=2)
    assert settings_path(path).is_file()
    check_detector_matches_pytorch(ExportedDetector(path, export_format), model, torch.rand(2, 3, 96, 96))
    settings_path(path).unlink()
    with pytest.raises(ValueError, match="is not a detector exported by mobilevit"):
        ExportedDetector(path, export_format)


def test_a_detector_refuses_the_formats_it_does_not_export_to(tmp_path):
    model = build_ssdlite(TINY_ARCH, num_classes=4, image_size=96).eval()
    with pytest.raises(ValueError, match="a detector exports to onnx, openvino, tflite, executorch; not torchscript"):
        export_detector(model, tmp_path / "detector.pt", "torchscript")
