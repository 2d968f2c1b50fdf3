"""Exponential moving average of a model's weights, as the published weights were made."""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..errors import UsageError


class ModelEma:
    """A copy of a model whose whole state dict (parameters and BatchNorm buffers) follows the
    model's: ``ema = decay * ema + (1 - decay) * weights`` after every optimizer step. Integer
    buffers (BatchNorm's batch counters) are copied. ``module`` is the averaged model, in eval mode."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 <= decay < 1.0:
            raise UsageError(f"the EMA decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.module = copy.deepcopy(model).eval()
        self.module.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the average toward ``model``'s current state."""
        averages, values = [], []
        for average, value in zip(self.module.state_dict().values(), model.state_dict().values()):
            if average.is_floating_point():
                averages.append(average)
                values.append(value if value.dtype == average.dtype else value.to(average.dtype))
            else:
                average.copy_(value)
        if averages:  # one kernel launch for all of them rather than one per tensor
            torch._foreach_lerp_(averages, values, 1.0 - self.decay)
