"""A run's settings fitted to its data and machine (warm-up, log interval, workers, data.root), and
what it shows while it runs (the whole run's ETA, evaluation bars)."""

import io
import os
import sys
from typing import NamedTuple

import torch

from mobilevit.config import config_from_dict
from mobilevit.engine import trainer
from mobilevit.engine.evaluator import evaluate
from mobilevit.engine.fitting import fit_to_machine, fit_to_steps, steps_per_epoch


def test_a_warm_up_longer_than_half_the_run_is_cut_to_half_and_said():
    config = config_from_dict({}, ["schedule.epochs=30", "schedule.warmup_iters=100", "train.log_interval=50"])
    fitted, notes = fit_to_steps(config, epoch_steps=steps_per_epoch(num_batches=2, accumulate=1))
    assert fitted.schedule.warmup_iters == 30  # half of 60 steps
    assert notes[0].startswith(
        "schedule.warmup_iters=100 is more than half of this run's 60 optimizer steps (30 epochs of 2): "
        "warming up over 30 steps instead"
    )
    assert fitted.train.log_interval == 2 and notes[1].startswith("train.log_interval=50 is more than an epoch's 2")
    same, none = fit_to_steps(fitted, epoch_steps=2)  # a fitted config (a resumed run's) stays as it is
    assert same == fitted and none == []
    assert steps_per_epoch(num_batches=7, accumulate=3) == 3  # a step after every 3 batches and at the end


def test_the_shipped_runs_keep_their_warm_up():
    # the demo (12 epochs of about 17 steps, warm-up 40) and ImageNet (300 epochs of 1251, warm-up 3000)
    demo = config_from_dict({}, ["schedule.epochs=12", "schedule.warmup_iters=40", "train.log_interval=10"])
    assert fit_to_steps(demo, epoch_steps=17) == (demo, [])
    imagenet = config_from_dict({})
    assert fit_to_steps(imagenet, epoch_steps=1251) == (imagenet, [])


def test_workers_are_cut_to_the_cores_and_a_relative_root_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = config_from_dict({}, ["data.num_workers=8", "data.root=data/custom"])
    fitted, notes = fit_to_machine(config, cores=2)
    assert fitted.data.num_workers == 2 and fitted.data.root == os.path.join(tmp_path, "data/custom")
    assert notes == [
        "data.num_workers=8 is more than the 2 CPU core(s) this process may use: loading with 2 worker(s)",
        f"data.root='data/custom' is relative: reading {tmp_path / 'data/custom'} (from the current directory)",
    ]
    assert fit_to_machine(fitted, cores=2) == (fitted, [])


def test_the_run_clock_tells_the_time_left_from_the_pace_so_far(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(trainer.time, "perf_counter", lambda: now[0])
    clock = trainer.RunClock(first_step=10, total_steps=110)
    assert clock.eta(10) == "?"
    now[0] += 20.0  # 20 steps in 20 s: the other 80 take 80 s
    assert clock.eta(30) == "0:01:20"
    now[0] += 7200.0
    assert clock.eta(40) == "4:40:47"  # 30 steps in 7220 s, 70 to go: 16847 s


class Batch(NamedTuple):
    images: torch.Tensor


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_evaluation_shows_a_bar_on_a_terminal_only_when_asked(monkeypatch):
    class Counter:
        def __init__(self):
            self.count = 0

        def update(self, output, batch):
            self.count += len(output)

        def compute(self):
            return self.count

    batches = [Batch(torch.ones(2, 3)) for _ in range(3)]
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert evaluate(lambda images: images, batches, torch.device("cpu"), Counter(), "test") == 6
    assert "test:" in terminal.getvalue() and "0/3" in terminal.getvalue()  # a bar over the 3 batches
    quiet = _Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    assert evaluate(lambda images: images, batches, torch.device("cpu"), Counter()) == 6
    assert quiet.getvalue() == ""
