"""LiteRT and ExecuTorch without their runtimes: the options `mobilevit export` checks, the files
it recognises, and the message naming the extra when a runtime is missing."""

import sys

import pytest
import torch

from mobilevit.cli import flag, main
from mobilevit.export import ExecuTorchRunner, TFLiteRunner, export_model, exported_format, load_exported
from mobilevit.models import build_classifier

ARCH = [["mobilenetv2", 8, 1, 1, 2], ["mobilevit", 16, 2, 16, 32, 1, 2]]
NAME = "mobilevit-xxsmall_3rdparty_in1k"


@pytest.fixture
def model():
    return build_classifier(ARCH, num_classes=3).eval()


@pytest.mark.parametrize(
    "export_format, runner, modules, extra",
    [
        ("tflite", TFLiteRunner, ("litert_torch", "ai_edge_litert"), "tflite"),
        ("executorch", ExecuTorchRunner, ("executorch",), "executorch"),
    ],
)
def test_a_missing_runtime_names_the_extra(model, tmp_path, monkeypatch, capsys, export_format, runner, modules, extra):
    for module in modules:
        for name in [name for name in sys.modules if name == module or name.startswith(module + ".")]:
            monkeypatch.delitem(sys.modules, name)
        monkeypatch.setitem(sys.modules, module, None)  # importing it now raises ImportError
    message = rf"needs {modules[-1]}: pip install 'mobilevit\[{extra}\]'"
    with pytest.raises(ImportError, match=message):
        runner(tmp_path / f"model.{export_format}")
    with pytest.raises(ImportError, match=rf"needs {modules[0]}: pip install 'mobilevit\[{extra}\]'"):
        export_model(model, tmp_path / "model", export_format, 32, 32)
    checkpoint = tmp_path / "xxs.pth"
    torch.save({"meta": {}, "state_dict": build_classifier("xx_small").state_dict()}, checkpoint)
    assert (
        main(
            [
                "export",
                NAME,
                "--checkpoint",
                str(checkpoint),
                "--format",
                export_format,
                "--output",
                str(tmp_path / "again"),
            ]
        )
        == 2
    )
    assert f"pip install 'mobilevit[{extra}]'" in capsys.readouterr().err


def test_files_are_recognised_by_their_suffix(tmp_path):
    assert exported_format(tmp_path / "m.tflite") == "tflite"
    assert exported_format(tmp_path / "m.pte") == "executorch"
    with pytest.raises(
        ValueError, match=r"backend='tflite' runs an exported tflite model: pass a FILE\.tflite"
    ) as refused:
        load_exported("tflite", tmp_path / "m.pte")
    assert refused.value.render(flag).startswith("--backend tflite runs an exported tflite model: pass a FILE.tflite")
    with pytest.raises(ValueError, match=r"backend='executorch' runs an exported executorch model: pass a FILE\.pte"):
        load_exported("executorch", tmp_path / "m.tflite")


def test_options_are_checked_before_the_model_is_built(model, tmp_path, capsys):
    with pytest.raises(ValueError, match="batch_size=4 applies to tflite, executorch, whose files take one batch size"):
        export_model(model, tmp_path / "m.onnx", "onnx", 32, 32, batch_size=4)
    with pytest.raises(ValueError, match="precision='bf16' does not apply to tflite; expected one of fp32"):
        export_model(model, tmp_path / "m.tflite", "tflite", 32, 32, precision="bf16")
    with pytest.raises(ValueError, match="dynamic=True applies to ONNX and OpenVINO, not executorch"):
        export_model(model, tmp_path / "m.pte", "executorch", 32, 32, dynamic=True)
    assert main(["export", NAME, "--checkpoint", str(tmp_path / "missing.pth"), "--batch-size", "2"]) == 2
    assert "--batch-size 2 applies to tflite, executorch" in capsys.readouterr().err
    assert (
        main(
            [
                "export",
                NAME,
                "--checkpoint",
                str(tmp_path / "missing.pth"),
                "--format",
                "executorch",
                "--quantize",
                "int8",
            ]
        )
        == 2
    )
    assert "--quantize int8 needs calibration images: pass --calibration" in capsys.readouterr().err
