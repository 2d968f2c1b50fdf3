"""The evaluation loop of every task: the model's outputs on this process's batches go to the
task's evaluator, which sums over all processes so every sample counts once."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import torch
from torch import nn
from tqdm import tqdm

from ..tasks import Evaluator, Metrics

# A model, or any function from an image batch to outputs (an exported model in its runtime).
Scorer = nn.Module | Callable[[torch.Tensor], torch.Tensor]


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
def evaluate(
    model: Scorer,
    loader: Iterable[NamedTuple],
    device: torch.device,
    evaluator: Evaluator,
    progress: str | None = None,
) -> Metrics:
    """``evaluator``'s metrics of ``model`` on the loader's batches: a module (not a DDP wrapper)
    runs as a fused copy in eval mode (see ``fuse()``), the module itself untouched; or a logits
    function such as an exported model's. ``progress`` names a progress bar over the batches,
    shown where stderr is a terminal (None: no bar)."""
    if isinstance(model, nn.Module):
        model = inference_copy(model)
    # disable=None: no bar where stderr is not a terminal; leave=False: the result line replaces it
    bar = tqdm(loader, desc=progress, unit="batch", dynamic_ncols=True, leave=False, disable=None if progress else True)
    for batch in bar:
        batch = to_device(batch, device)
        output = model(batch.images)
        # an exported model's logits come back on the CPU; a detector's outputs are a dict
        evaluator.update(output.to(device) if isinstance(output, torch.Tensor) else output, batch)
    return evaluator.compute()


def inference_copy(model: nn.Module) -> nn.Module:
    """A copy of ``model`` in eval mode with its BatchNorms folded into the convolutions, where it
    has a ``fuse()`` (every mobilevit model does)."""
    model = copy.deepcopy(model)
    return model.fuse() if callable(getattr(model, "fuse", None)) else model.eval()
