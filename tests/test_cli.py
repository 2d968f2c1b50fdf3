import subprocess
import sys

from mobilevit.cli import main


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
