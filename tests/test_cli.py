import importlib
import inspect
import pkgutil
import subprocess
import sys

import pytest

import mobilevit
from mobilevit.cli import main
from mobilevit.errors import ArgumentError, MobileViTError, UsageError


def test_flops_prints_measured_beside_published(capsys):
    assert main(["flops", "mobilevit-xsmall_3rdparty_in1k"]) == 0
    out = capsys.readouterr().out
    assert "2.318" in out and "2.32" in out  # params measured, published
    assert "1.052" in out and "1.05" in out  # multiply-adds measured, published


def test_flops_at_another_shape(capsys):
    assert main(["flops", "mobilevit-xxsmall_3rdparty_in1k", "--shape", "320", "192"]) == 0
    assert "320x192" in capsys.readouterr().out


def test_list(capsys):
    assert main(["list"]) == 0
    assert "mobilevit-small_3rdparty_in1k" in capsys.readouterr().out


def test_unknown_model_is_a_one_line_error(capsys):
    assert main(["flops", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'nope'" in err and "Traceback" not in err


def test_console_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "mobilevit.cli", "list"], capture_output=True, text=True)
    assert result.returncode == 0 and "xxsmall" in result.stdout


def test_a_config_without_checkpoint_asks_for_weights(capsys):
    config = "configs/mobilevit/mobilevit-xxsmall_8xb128_in1k.py"
    for command in (["predict", "image.jpg", "--model", config], ["export", config]):
        assert main(command) == 2
        assert f"{command[0]} needs trained weights for {config}: pass --checkpoint" in capsys.readouterr().err


def test_every_error_class_of_mobilevit_is_a_user_error_of_the_command_line():
    classes = set()
    for module in pkgutil.walk_packages(mobilevit.__path__, "mobilevit."):
        for _, value in inspect.getmembers(importlib.import_module(module.name), inspect.isclass):
            public = not value.__name__.startswith("_")  # private ones are caught where they are raised
            if issubclass(value, BaseException) and value.__module__.startswith("mobilevit") and public:
                classes.add(value)
    assert {"ConfigError", "CheckpointError", "ImageReadError", "DownloadError"} <= {kind.__name__ for kind in classes}
    assert all(issubclass(kind, MobileViTError) for kind in classes), classes


def test_a_user_error_is_one_line_and_status_2_and_a_bug_shows_its_traceback(monkeypatch, capsys, tmp_path):
    def refuse(args):
        raise UsageError("the value you gave: pass another")

    monkeypatch.setattr("mobilevit.cli._list", refuse)
    assert main(["list"]) == 2
    assert capsys.readouterr().err == "mobilevit list: error: the value you gave: pass another\n"
    for bug in (RuntimeError("a bug in mobilevit"), ValueError("deep inside torch"), OSError("no file named")):

        def buggy(args, bug=bug):
            raise bug

        monkeypatch.setattr("mobilevit.cli._list", buggy)
        with pytest.raises(type(bug), match=str(bug)):
            main(["list"])
    assert main(["predict", str(tmp_path / "missing.jpg"), "--checkpoint", str(tmp_path / "missing.pth")]) == 2
    err = capsys.readouterr().err
    assert "missing.pth" in err and err.count("\n") == 1


def test_a_library_argument_is_named_as_python_takes_it_and_the_command_line_as_a_flag(tmp_path, capsys):
    from mobilevit.export import export_from_name

    config = "configs/mobilevit/mobilevit-xxsmall_8xb128_in1k.py"
    with pytest.raises(ArgumentError, match=r"^dynamic=True applies to ONNX and OpenVINO, not tflite$"):
        export_from_name(config, None, "tflite", tmp_path / "m.tflite", dynamic=True)
    assert main(["export", config, "--checkpoint", "x.pth", "--format", "tflite", "--dynamic"]) == 2
    assert capsys.readouterr().err == "mobilevit export: error: --dynamic applies to ONNX and OpenVINO, not tflite\n"


def test_config_and_checkpoint_errors_end_as_one_line_with_status_2(tmp_path, capsys):
    config = "configs/mobilevit/mobilevit-xxsmall_8xb128_in1k.py"
    assert main(["train", config, "--cfg-options", "train.val_interval=0"]) == 2
    assert capsys.readouterr().err == (
        f"mobilevit train: error: {config}: train.val_interval must be at least 1, got 0\n"
    )
    (tmp_path / "text.pth").write_text("not a checkpoint")
    assert main(["test", config, str(tmp_path / "text.pth")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mobilevit test: error: ") and "text.pth" in err and err.count("\n") == 1
