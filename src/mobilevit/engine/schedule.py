"""The learning rate schedule: linear warm-up per optimizer step, then a cosine over the epochs."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class LearningRateSchedule:
    """The learning rate at an optimizer step.

    For the first ``warmup_iters`` steps it rises linearly from ``warmup_start_lr`` to ``lr``; after
    that it follows a cosine from ``lr`` down to ``min_lr`` over ``epochs``, evaluated at the exact
    fraction of epochs done, so it moves every step. (With the variable batch sampler the steps per
    epoch vary, so the cosine is measured in epochs, not steps.)
    """

    lr: float
    min_lr: float
    epochs: int
    warmup_iters: int = 0
    warmup_start_lr: float = 0.0

    def __call__(self, step: int, epochs_done: float) -> float:
        """``step``: optimizer steps taken so far; ``epochs_done``: epochs done, fractional."""
        if step < self.warmup_iters:
            return self.warmup_start_lr + (self.lr - self.warmup_start_lr) * step / self.warmup_iters
        progress = min(max(epochs_done / self.epochs, 0.0), 1.0)
        return self.min_lr + 0.5 * (self.lr - self.min_lr) * (1.0 + math.cos(math.pi * progress))


def set_learning_rate(optimizer: torch.optim.Optimizer, learning_rate: float) -> None:
    """Give every parameter group ``learning_rate`` times its ``lr_mult`` (1 where it has none)."""
    for group in optimizer.param_groups:
        group["lr"] = learning_rate * group.get("lr_mult", 1.0)
