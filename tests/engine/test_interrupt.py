"""Ctrl-C or SIGTERM during training: a checkpoint at the next step, one line on resuming, exit 130 (143)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mobilevit.config import load_config
from mobilevit.engine import trainer
from mobilevit.engine.checkpointing import read_training_checkpoint
from mobilevit.engine.interrupt import StopRequest
from tiny_run import TINY_CONFIG, write_tiny_imagenet

SOURCE = Path(__file__).resolve().parents[2] / "src"
# One image per batch, so an epoch has dozens of steps and a signal lands in the middle of one.
ONE_PER_BATCH = ["data.batch_size=1", "data.sampler.variable=False", "schedule.epochs=3", "train.checkpoint_steps=0"]


def _start(config: Path, tmp_path: Path) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SOURCE), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "mobilevit.cli", "train", str(config), "--cfg-options", *ONE_PER_BATCH]
    return subprocess.Popen(command, cwd=tmp_path, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for_step(log: Path, step: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if log.is_file() and any(
            json.loads(line).get("step", 0) >= step for line in log.read_text().splitlines() if line.endswith("}")
        ):
            return
        time.sleep(0.05)
    raise AssertionError(f"training never reached step {step}: {process.communicate(timeout=10)}")


@pytest.mark.parametrize(
    ("number", "status"), [(signal.SIGINT, 130), pytest.param(signal.SIGTERM, 143, marks=pytest.mark.slow)]
)
def test_a_signal_leaves_a_mid_epoch_checkpoint_that_resumes_at_its_step(tmp_path, number, status):
    data = write_tiny_imagenet(tmp_path / "data", train_per_class=20, val_per_class=1)
    config = tmp_path / "tiny.py"
    config.write_text(TINY_CONFIG.format(root=str(data), work_dir=str(tmp_path / "work")))
    process = _start(config, tmp_path)
    _wait_for_step(tmp_path / "work" / "log.jsonl", 3, process)
    process.send_signal(number)
    out, err = process.communicate(timeout=120)
    out, err = out.decode(), err.decode()

    assert process.returncode == status, err
    assert "Traceback" not in err and "Traceback" not in out
    latest = tmp_path / "work" / "latest.pth"
    checkpoint = read_training_checkpoint(latest)
    assert checkpoint["epoch"] == 0 and 3 <= checkpoint["batch_in_epoch"] < 60  # in the middle of epoch 1
    name = signal.Signals(number).name
    stopped = [line for line in out.splitlines() if line.startswith(f"stopped by {name}")]
    assert stopped == [
        f"stopped by {name} at epoch 1, batch {checkpoint['batch_in_epoch']}, step {checkpoint['step']}, "
        f"with {latest} written: run the same command again to continue from there"
    ]

    step = checkpoint["step"]
    options = [*ONE_PER_BATCH, f"train.max_steps={step + 2}"]
    trainer.main(load_config(config, options))
    records = [json.loads(line) for line in (tmp_path / "work" / "log.jsonl").read_text().splitlines()]
    steps = [record["step"] for record in records if record["kind"] == "train"]
    assert steps == list(range(1, step + 3))  # each step once: the resumed run went on from the checkpoint's
    assert (
        f"resumed from {latest}: epoch 1, batch {checkpoint['batch_in_epoch']}, step {step}"
        in (tmp_path / "work" / "train.log").read_text()
    )


def test_the_handlers_are_put_back_and_a_second_signal_stops_at_once():
    before = signal.getsignal(signal.SIGINT)
    with StopRequest() as stop, pytest.raises(KeyboardInterrupt, match="SIGINT again: stopped at once"):
        signal.raise_signal(signal.SIGINT)
        assert stop.signal_number == signal.SIGINT
        signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before


def test_ctrl_c_outside_training_exits_130_in_one_line(monkeypatch, capsys):
    from mobilevit import cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_list", interrupted)
    assert cli.main(["list"]) == 130
    assert capsys.readouterr().err == "mobilevit list: interrupted\n"


def test_the_line_says_where_the_run_stopped(tmp_path):
    from mobilevit.engine.checkpointing import TrainState
    from mobilevit.engine.run_log import RunLog

    stop = StopRequest()
    stop.signal_number = signal.SIGTERM
    log = RunLog(tmp_path, enabled=True)
    mid = trainer._interrupted(stop, TrainState(epoch=2, batch_in_epoch=5, step=41), tmp_path, log)
    end = trainer._interrupted(stop, TrainState(epoch=3, batch_in_epoch=0, step=48), tmp_path, log)
    assert isinstance(mid, KeyboardInterrupt) and mid.exit_status == 143
    assert str(mid).startswith("stopped by SIGTERM at epoch 3, batch 5, step 41, with ")
    assert str(end).startswith("stopped by SIGTERM after epoch 3, step 48, with ")
    assert str(end) in (tmp_path / "train.log").read_text()
