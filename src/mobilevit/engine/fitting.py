"""A run's settings fitted to the machine and the data, each change said in one log line.

- ``data.num_workers`` is at most the CPU cores this process may use (more workers than cores
  only contend for them, and PyTorch warns);
- a relative ``data.root`` is made absolute against the current directory, so that the run's
  ``config.json`` (and ``mobilevit test CHECKPOINT``) finds the data from anywhere;
- ``schedule.warmup_iters`` is at most half of the run's optimizer steps: a longer warm-up keeps
  most of a short run below its learning rate (30 epochs of 2 steps never left a warm-up of 100);
- ``train.log_interval`` is at most an epoch's steps, so that every epoch logs a ``train`` line.

The run's steps are counted from its first epoch's batches, as the variable batch sampler draws
them (the same for every epoch on average), so a resumed run fits its config the same way.
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path

from ..config import Config


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def fit_to_machine(config: Config, cores: int | None = None) -> tuple[Config, list[str]]:
    """``config`` with ``data.num_workers`` at most ``cores`` (default: :func:`available_cores`)
    and ``data.root`` absolute; and a line for each change."""
    cores = available_cores() if cores is None else cores
    data, notes = config.data, []
    if data.num_workers > cores:
        notes.append(
            f"data.num_workers={data.num_workers} is more than the {cores} CPU core(s) this process may use: "
            f"loading with {cores} worker(s)"
        )
        data = dataclasses.replace(data, num_workers=cores)
    if not Path(data.root).is_absolute():
        absolute = os.path.abspath(data.root)
        notes.append(f"data.root={data.root!r} is relative: reading {absolute} (from the current directory)")
        data = dataclasses.replace(data, root=absolute)
    return dataclasses.replace(config, data=data), notes


def steps_per_epoch(num_batches: int, accumulate: int) -> int:
    """Optimizer steps of an epoch of ``num_batches``: one per ``accumulate`` batches and one at its end."""
    return math.ceil(num_batches / accumulate)


def fit_to_steps(config: Config, epoch_steps: int) -> tuple[Config, list[str]]:
    """``config`` with its warm-up at most half of the run's steps and its log interval at most an
    epoch's steps (``epoch_steps`` optimizer steps per epoch); and a line for each change."""
    schedule, train, notes = config.schedule, config.train, []
    total = config.schedule.epochs * epoch_steps
    if schedule.warmup_iters > total // 2:
        warmup = max(total // 2, 1)
        notes.append(
            f"schedule.warmup_iters={schedule.warmup_iters} is more than half of this run's {total} optimizer steps "
            f"({schedule.epochs} epochs of {epoch_steps}): warming up over {warmup} steps instead, so that the "
            f"learning rate reaches optim.lr={config.optim.lr:g}. Set schedule.warmup_iters={warmup} or less to "
            "keep this line away, or give the run more steps (a smaller data.batch_size, more schedule.epochs)"
        )
        schedule = dataclasses.replace(schedule, warmup_iters=warmup)
    if train.log_interval > epoch_steps:
        notes.append(
            f"train.log_interval={train.log_interval} is more than an epoch's {epoch_steps} optimizer steps: "
            f"logging every {epoch_steps} steps"
        )
        train = dataclasses.replace(train, log_interval=epoch_steps)
    return dataclasses.replace(config, schedule=schedule, train=train), notes
