"""A DeepLabv3 segmenter exported to ONNX with dynamic height and width gives the PyTorch logits."""

import pytest
import torch

from mobilevit.cli import main
from mobilevit.models import build_segmenter
from reference_weights import deterministic_input, deterministic_state_dict

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
from mobilevit.export import OnnxRunner  # noqa: E402  (needs onnxruntime)

NAME = "deeplabv3_mobilevit-xxsmall_3rdparty_voc"


@pytest.fixture(scope="module")
def model():
    model = build_segmenter("xx_small")
    model.load_state_dict(deterministic_state_dict(model.state_dict()))
    return model.eval()


@pytest.fixture(scope="module")
def dynamic_onnx(model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    torch.save(model.state_dict(), folder / "deeplabv3.pth")
    path = folder / "deeplabv3.onnx"
    assert (
        main(["export", NAME, "--checkpoint", str(folder / "deeplabv3.pth"), "--dynamic", "--output", str(path)]) == 0
    )
    return path


@pytest.mark.parametrize("height, width", [(512, 512), (500, 375)])
def test_dynamic_onnx_gives_the_pytorch_logits_at_the_input_size(model, dynamic_onnx, height, width):
    runner = OnnxRunner(dynamic_onnx, threads=2)
    assert runner.input_shape == ("batch", 3, "height", "width")
    image = deterministic_input(1, height, width)
    with torch.no_grad():
        expected = model(image)
    logits = runner(image)
    assert logits.shape == (1, 21, height, width)
    torch.testing.assert_close(logits, expected, atol=1e-4, rtol=0)


MOBILE_FORMATS = [
    ("openvino", ".xml", "openvino", "OpenVinoRunner"),
    ("tflite", ".tflite", "ai_edge_litert", "TFLiteRunner"),
    ("executorch", ".pte", "executorch", "ExecuTorchRunner"),
]


@pytest.mark.slow
@pytest.mark.parametrize("export_format, suffix, runtime, runner", MOBILE_FORMATS)
def test_a_segmenter_exports_to_openvino_litert_and_executorch_with_the_pytorch_logits(
    model, tmp_path, export_format, suffix, runtime, runner
):
    """`mobilevit export --format F --shape 128 128` of a segmenter; its runtime gives the PyTorch logits."""
    pytest.importorskip(runtime)
    import mobilevit.export

    torch.save(model.state_dict(), tmp_path / "deeplabv3.pth")
    path = tmp_path / f"deeplabv3{suffix}"
    common = ["export", NAME, "--checkpoint", str(tmp_path / "deeplabv3.pth"), "--shape", "128", "128"]
    assert main([*common, "--format", export_format, "--output", str(path)]) == 0
    image = deterministic_input(1, 128, 128)
    with torch.no_grad():
        expected = model(image)
    logits = getattr(mobilevit.export, runner)(path)(image)
    assert logits.shape == (1, 21, 128, 128)
    torch.testing.assert_close(logits, expected, atol=1e-4, rtol=0)


@pytest.mark.slow
def test_a_segmenter_runs_whole_in_xnnpack():
    pytest.importorskip("executorch")
    import copy

    from mobilevit.export.executorch import delegable, to_xnnpack, undelegated_operators

    segmenter = build_segmenter("xx_small", num_classes=4).eval()
    assert undelegated_operators(to_xnnpack(delegable(copy.deepcopy(segmenter).fuse()), torch.rand(1, 3, 64, 64))) == {}


def test_a_segmenter_converts_to_core_ml(model, tmp_path):
    pytest.importorskip("coremltools")
    from mobilevit.export import export_model

    path = export_model(model, tmp_path / "deeplabv3.mlpackage", "coreml", 64, 64)
    assert (path / "Manifest.json").is_file()
