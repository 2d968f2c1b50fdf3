"""`mobilevit export` to ONNX and TorchScript: the exported files give the PyTorch logits."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mobilevit.cli import main
from mobilevit.models import build_classifier
from reference_weights import deterministic_input, deterministic_state_dict

pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")
from mobilevit.export import OnnxRunner, export_model  # noqa: E402  (needs onnxruntime)

NAME = "mobilevit-xxsmall_3rdparty_in1k"
CONFIG = Path(__file__).parents[1] / "configs" / "mobilevit" / "mobilevit-xxsmall_8xb128_in1k.py"


@pytest.fixture(scope="module")
def model():
    model = build_classifier("xx_small")
    model.load_state_dict(deterministic_state_dict(model.state_dict()))
    return model.eval()


@pytest.fixture(scope="module")
def checkpoint(model, tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "xxs.pth"
    torch.save({"meta": {}, "state_dict": model.state_dict()}, path)
    return path


@pytest.fixture(scope="module")
def dynamic_onnx(checkpoint, tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "xxs.onnx"
    assert (
        main(["export", NAME, "--checkpoint", str(checkpoint), "--format", "onnx", "--dynamic", "--output", str(path)])
        == 0
    )
    return path


@pytest.mark.parametrize("shape", [(1, 256, 256), (2, 250, 333)])
def test_dynamic_onnx_gives_the_pytorch_logits(model, dynamic_onnx, shape):
    image = deterministic_input(*shape)
    with torch.no_grad():
        expected = model(image)
    assert torch.allclose(OnnxRunner(dynamic_onnx, threads=2)(image), expected, atol=1e-4, rtol=0)


def test_fixed_size_onnx_takes_any_batch_of_its_size_and_skips_the_identity_resizes(model, tmp_path):
    path = export_model(model, tmp_path / "static.onnx", height=128, width=96)
    classifier = OnnxRunner(path)
    assert classifier.input_shape == ("batch", 3, 128, 96)
    for batch in (1, 3):
        image = deterministic_input(batch, 128, 96)
        with torch.no_grad():
            assert torch.allclose(classifier(image), model(image), atol=1e-4, rtol=0)
    with pytest.raises(ValueError, match=r"takes a batch of shape \('batch', 3, 128, 96\)"):
        classifier(deterministic_input(1, 96, 128))
    import onnx

    def resizes(onnx_path):
        return sum(node.op_type == "Resize" for node in onnx.load(str(onnx_path)).graph.node)

    # 128x96 gives the blocks 16x12, 8x6 and 4x3 maps: only the last one needs resizing.
    assert resizes(path) == 2
    assert resizes(export_model(model, tmp_path / "dynamic.onnx", height=128, width=96, dynamic=True)) == 6


def test_onnx_attention_scale_is_a_constant(model, tmp_path):
    """No square roots of tensor shapes computed on every call (about 4 % of XXS batch-1 latency)."""
    import onnx

    graph = onnx.load(str(export_model(model, tmp_path / "model.onnx", height=64, width=64))).graph
    assert sum(node.op_type == "MatMul" for node in graph.node) > 0
    assert not [node.name for node in graph.node if node.op_type == "Sqrt"]


def test_export_leaves_the_model_unfused(model, tmp_path):
    export_model(model, tmp_path / "model.onnx", height=64, width=64)
    assert "backbone.stem.bn.weight" in model.state_dict()


def test_torchscript_serves_any_size(model, checkpoint, tmp_path, capsys):
    path = tmp_path / "xxs.pt"
    assert (
        main(["export", str(CONFIG), "--checkpoint", str(checkpoint), "--format", "torchscript", "--output", str(path)])
        == 0
    )
    assert str(path) in capsys.readouterr().out
    traced = torch.jit.load(str(path))
    for shape in [(1, 256, 256), (2, 250, 333)]:
        image = deterministic_input(*shape)
        with torch.no_grad():
            assert torch.allclose(traced(image), model(image), atol=1e-4, rtol=0), shape


def test_user_errors_are_one_line(checkpoint, tmp_path, capsys):
    assert (
        main(
            [
                "export",
                NAME,
                "--checkpoint",
                str(checkpoint),
                "--format",
                "torchscript",
                "--dynamic",
                "--output",
                str(tmp_path / "x.pt"),
            ]
        )
        == 2
    )
    assert "--dynamic applies to ONNX" in capsys.readouterr().err
    assert main(["export", "configs/nope.py", "--checkpoint", str(checkpoint)]) == 2
    assert "config file not found" in capsys.readouterr().err
    assert main(["export", str(CONFIG)]) == 2
    assert "pass --checkpoint" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="ONNX model not found"):
        OnnxRunner(tmp_path / "missing.onnx")


def test_predict_with_onnxruntime_matches_pytorch(checkpoint, dynamic_onnx, tmp_path, capsys):
    image = tmp_path / "image.png"
    y, x = np.mgrid[0:90, 0:120]
    Image.fromarray(np.stack([x * 2, y * 3, (x * y) % 256], -1).astype(np.uint8)).save(image)
    common = ["predict", str(image), str(image), "--model", NAME, "--json", "--topk", "3"]
    assert main([*common, "--checkpoint", str(checkpoint)]) == 0
    expected = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert main([*common, "--checkpoint", str(dynamic_onnx), "--backend", "onnxruntime"]) == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [result["pred_label"] for result in results] == [result["pred_label"] for result in expected]
    for result, reference in zip(results, expected):
        assert result["pred_score"] == pytest.approx(reference["pred_score"], abs=1e-5)
    assert main([*common, "--checkpoint", str(checkpoint), "--backend", "onnxruntime"]) == 2
    assert "pass --checkpoint FILE.onnx" in capsys.readouterr().err
