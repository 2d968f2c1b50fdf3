"""A DeepLabv3 segmenter exported to ONNX with dynamic height and width gives the PyTorch logits."""

import pytest
import torch

from mobilevit.cli import main
from mobilevit.models import build_segmenter
from reference_weights import deterministic_input, deterministic_state_dict

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
from mobilevit.export import OnnxClassifier  # noqa: E402  (needs onnxruntime)

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
    runner = OnnxClassifier(dynamic_onnx, threads=2)
    assert runner.input_shape == ("batch", 3, "height", "width")
    image = deterministic_input(1, height, width)
    with torch.no_grad():
        expected = model(image)
    logits = runner(image)
    assert logits.shape == (1, 21, height, width)
    torch.testing.assert_close(logits, expected, atol=1e-4, rtol=0)
