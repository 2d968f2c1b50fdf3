"""OpenVINO: `mobilevit export --format openvino` in fp32, bf16 and int8 (NNCF), `predict` and
`test` with `--backend openvino`, and what low precision costs on a trained model."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from demo_model import argmax_agreement, top1
from PIL import Image

from mobilevit.cli import flag, main
from mobilevit.export import OpenVinoRunner, export_model
from mobilevit.export import openvino as openvino_module
from mobilevit.models import build_classifier
from reference_weights import deterministic_input, deterministic_state_dict

pytest.importorskip("onnx")
pytest.importorskip("openvino")

NAME = "mobilevit-xxsmall_3rdparty_in1k"
CONFIG = Path(__file__).parents[2] / "configs" / "mobilevit" / "mobilevit-xxsmall_8xb128_in1k.py"


@pytest.fixture(scope="module")
def model():
    model = build_classifier("xx_small")
    model.load_state_dict(deterministic_state_dict(model.state_dict()))
    return model.eval()


@pytest.mark.parametrize("dynamic", [False, True])
def test_fp32_ir_gives_the_pytorch_logits(model, tmp_path, dynamic):
    path = export_model(model, tmp_path / "model.xml", "openvino", height=96, width=128, dynamic=dynamic)
    assert path.with_suffix(".bin").is_file()
    classifier = OpenVinoRunner(path, threads=2)
    assert classifier.precision == "fp32"
    shapes = [(1, 96, 128), (3, 96, 128)] + ([(2, 70, 90)] if dynamic else [])
    for shape in shapes:
        image = deterministic_input(*shape)
        with torch.no_grad():
            expected = model(image)
        assert torch.allclose(classifier(image), expected, atol=1e-4, rtol=0), shape
    if not dynamic:
        with pytest.raises(ValueError, match=r"takes a batch of shape \('batch', 3, 96, 128\)"):
            classifier(deterministic_input(1, 128, 96))


def test_the_file_carries_its_precision(model, tmp_path):
    path = export_model(model, tmp_path / "model.xml", "openvino", height=64, width=64, precision="bf16")
    assert OpenVinoRunner(path).precision == "bf16"
    assert OpenVinoRunner(path, precision="fp32").precision == "fp32"
    with pytest.raises(ValueError, match="precision='bf16' does not apply to onnx") as refused:
        export_model(model, tmp_path / "model.onnx", "onnx", height=64, width=64, precision="bf16")
    assert refused.value.render(flag).startswith("--precision bf16 does not apply to onnx")


def test_a_missing_runtime_names_the_extra(model, tmp_path, monkeypatch, capsys):
    path = export_model(model, tmp_path / "model.xml", "openvino", height=64, width=64)
    monkeypatch.setitem(sys.modules, "openvino", None)  # import openvino now raises ImportError
    message = r"running an OpenVINO model needs openvino: pip install 'mobilevit\[openvino\]'"
    with pytest.raises(ImportError, match=message):
        OpenVinoRunner(path)
    checkpoint = tmp_path / "xxs.pth"
    torch.save({"meta": {}, "state_dict": model.state_dict()}, checkpoint)
    assert (
        main(
            [
                "export",
                NAME,
                "--checkpoint",
                str(checkpoint),
                "--format",
                "openvino",
                "--output",
                str(tmp_path / "again.xml"),
            ]
        )
        == 2
    )
    assert "pip install 'mobilevit[openvino]'" in capsys.readouterr().err


@pytest.mark.slow
def test_bf16_and_int8_keep_the_accuracy_of_a_trained_model(trained_demo, tmp_path, capsys):
    """On the demo's 500 held-out digits: >= 98 % the same top class, <= 0.5 point of top-1 lost."""
    with torch.no_grad():
        reference = trained_demo.model(trained_demo.images)
    common = ["export", str(trained_demo.config), "--checkpoint", str(trained_demo.checkpoint), "--format", "openvino"]
    assert main([*common, "--output", str(tmp_path / "fp32.xml")]) == 0
    assert main([*common, "--precision", "bf16", "--output", str(tmp_path / "bf16.xml")]) == 0
    assert (
        main(
            [
                *common,
                "--quantize",
                "int8",
                "--calibration",
                str(trained_demo.config),
                "--output",
                str(tmp_path / "int8.xml"),
            ]
        )
        == 0
    )
    assert "int8 weights and activations" in capsys.readouterr().out
    fp32 = OpenVinoRunner(tmp_path / "fp32.xml")(trained_demo.images)
    assert torch.allclose(fp32, reference, atol=1e-4, rtol=0)
    accuracy = top1(reference, trained_demo.labels)
    assert accuracy > 85  # the run trained
    for name in ("bf16", "int8"):
        logits = OpenVinoRunner(tmp_path / f"{name}.xml")(trained_demo.images)
        assert argmax_agreement(logits, reference) >= 0.98, name
        assert top1(logits, trained_demo.labels) >= accuracy - 0.5, name
    # `mobilevit test` gives the exported files' accuracy on the config's validation split.
    assert main(["test", str(trained_demo.config), str(trained_demo.checkpoint)]) == 0
    pytorch_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert main(["test", str(trained_demo.config), str(tmp_path / "fp32.xml"), "--backend", "openvino"]) == 0
    openvino_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert openvino_line.split("(")[0] == pytorch_line.split("(")[0]
    assert "openvino running" in openvino_line


def test_predict_with_openvino_matches_pytorch(model, tmp_path, capsys):
    checkpoint = tmp_path / "xxs.pth"
    torch.save({"meta": {}, "state_dict": model.state_dict()}, checkpoint)
    ir = tmp_path / "xxs.xml"
    assert main(["export", NAME, "--checkpoint", str(checkpoint), "--format", "openvino", "--output", str(ir)]) == 0
    assert str(ir) in capsys.readouterr().out
    image = tmp_path / "image.png"
    y, x = np.mgrid[0:90, 0:120]
    Image.fromarray(np.stack([x * 2, y * 3, (x * y) % 256], -1).astype(np.uint8)).save(image)
    common = ["predict", str(image), "--model", NAME, "--json", "--topk", "3"]
    assert main([*common, "--checkpoint", str(checkpoint)]) == 0
    expected = json.loads(capsys.readouterr().out)
    assert main([*common, "--checkpoint", str(ir), "--backend", "openvino"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["pred_label"] == expected["pred_label"]
    assert result["pred_score"] == pytest.approx(expected["pred_score"], abs=1e-5)
    assert main([*common, "--checkpoint", str(checkpoint), "--backend", "openvino"]) == 2
    assert "pass --checkpoint FILE.xml" in capsys.readouterr().err
    assert main(["test", str(CONFIG), str(ir)]) == 2
    refusal = f"{ir} is an exported openvino model, not a checkpoint: test it with --backend openvino"
    assert refusal in capsys.readouterr().err


def test_bf16_compiles_a_program_for_each_input_shape(model, tmp_path):
    path = export_model(model, tmp_path / "model.xml", "openvino", height=64, width=64, precision="bf16", dynamic=True)
    runner = OpenVinoRunner(path, threads=2)
    assert runner.static_shapes and runner.compiled is None
    for shape in [(1, 64, 64), (2, 64, 64), (1, 64, 96), (1, 64, 64)]:
        image = deterministic_input(*shape)
        with torch.no_grad():
            expected = model(image)
        assert (runner(image) - expected).abs().max() <= 0.05 * expected.abs().max(), shape  # bf16's rounding
    assert list(runner.programs) == [(2, 3, 64, 64), (1, 3, 64, 96), (1, 3, 64, 64)]  # the last used last
    assert all(runner.programs[shape].inputs[0].get_partial_shape().is_static for shape in runner.programs)
    assert not OpenVinoRunner(path, precision="fp32").static_shapes  # fp32 keeps one program for every shape


def test_bf16_runs_a_large_batch_in_slices_that_bound_its_largest_map(model, tmp_path, monkeypatch):
    path = export_model(model, tmp_path / "model.xml", "openvino", height=64, width=64, precision="bf16")
    runner = OpenVinoRunner(path, threads=2)
    largest = 32 * 32 * 32  # XXS's first expansion at 64x64: 32 channels at 32x32
    assert runner.slice_size((3, 64, 64)) == openvino_module.SLICE_ELEMENTS // largest
    images = deterministic_input(5, 64, 64)
    with torch.no_grad():
        expected = model(images)
    monkeypatch.setattr(openvino_module, "SLICE_ELEMENTS", 2 * largest)
    runner = OpenVinoRunner(path, threads=2)
    logits = runner(images)
    assert list(runner.programs) == [(2, 3, 64, 64), (1, 3, 64, 64)]  # 2 + 2 + 1 images
    assert (logits - expected).abs().max() <= 0.05 * expected.abs().max()  # bf16's rounding
    assert OpenVinoRunner(path, precision="fp32").slice_size((3, 64, 64)) is None  # fp32 runs a batch whole
