"""A work dir of another model is refused in one line; progress bars stay out of redirected output."""

import io
import sys

import pytest
from tqdm import tqdm

from mobilevit.config import load_config, to_dict
from mobilevit.engine import trainer
from mobilevit.engine.checkpointing import check_same_model
from mobilevit.engine.run_log import RunLog
from mobilevit.tasks import build_model

OTHER_ARCH = "model.arch=[['mobilenetv2',16,1,1,2],['mobilevit',16,2,16,32,1,2]]"


def test_progress_bars_stay_off_a_redirected_stderr_and_another_model_is_refused(tiny_config, tmp_path, capfd):
    config = tiny_config()
    trainer.main(load_config(config, ["train.max_steps=2", "train.progress_bar=True"]))
    out, err = capfd.readouterr()
    assert "\r" not in err and "epoch 1:" not in err  # stderr is not a terminal here: no bar
    assert "stopped at train.max_steps=2" in out
    latest = tmp_path / "work" / "latest.pth"
    with pytest.raises(ValueError) as error:
        trainer.main(load_config(config, ["train.max_steps=4", OTHER_ARCH]))
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"{latest} is a checkpoint of another model (arch [[")
    assert "so this run cannot resume from it. To start fresh, train into another work dir (--work-dir)" in message


def test_another_class_count_is_named(tiny_config, tmp_path):
    config = load_config(tiny_config())
    five = load_config(tiny_config(), ["model.num_classes=5"])
    checkpoint = {"model": build_model(five).state_dict(), "config": to_dict(five)}
    with pytest.raises(ValueError, match=r"another model \(num_classes 5 where this run has 3\)"):
        check_same_model(checkpoint, build_model(config), to_dict(config), tmp_path / "latest.pth")
    check_same_model(checkpoint, build_model(five), to_dict(five), tmp_path / "latest.pth")  # the same model


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_log_lines_go_above_a_live_bar_on_a_terminal(tmp_path, monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.setattr(sys, "stderr", terminal)
    log = RunLog(tmp_path, enabled=True)
    with tqdm(total=3, desc="epoch 1", disable=None) as bar:  # on: stderr is a terminal
        bar.update(1)
        log.info("a log line")
        bar.update(1)
    lines = terminal.getvalue().split("\n")
    assert "epoch 1" in terminal.getvalue()
    # the bar was cleared before the line was written: nothing of it before the line on the screen
    assert [line.split("\r")[-1] for line in lines if "a log line" in line] == ["a log line"]
