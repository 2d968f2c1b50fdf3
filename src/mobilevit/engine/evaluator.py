"""The evaluation loop of every task: the model's outputs on this process's batches go to the
task's evaluator, which sums over all processes so every sample counts once."""

from __future__ import annotations

from typing import Any, Iterable, NamedTuple

import torch
from torch import nn

from ..tasks import Evaluator, Metrics


def to_device(batch: NamedTuple, device: torch.device) -> Any:
    """``batch`` with its tensors (and lists of tensors) on ``device``; other fields as they are."""
    def move(value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            return value.to(device, non_blocking=True)
        if isinstance(value, list) and value and isinstance(value[0], torch.Tensor):
            return [item.to(device, non_blocking=True) for item in value]
        return value
    return type(batch)(*(move(value) for value in batch))


@torch.no_grad()
def evaluate(model: nn.Module, loader: Iterable[NamedTuple], device: torch.device, evaluator: Evaluator) -> Metrics:
    """``evaluator``'s metrics of ``model`` (not a DDP wrapper) on the loader's batches, in eval mode."""
    was_training = model.training
    model.eval()
    try:
        for batch in loader:
            batch = to_device(batch, device)
            evaluator.update(model(batch.images), batch)
    finally:
        model.train(was_training)
    return evaluator.compute()
