"""Top-1, top-5 and per-class accuracy, summed over all processes so every sample counts once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Union

import torch
from torch import nn

from ..data.loader import Batch
from .distributed import all_gather_objects, all_reduce_sum

# A model, or any function from an image batch to logits (an exported model in its runtime).
Scorer = Union[nn.Module, Callable[[torch.Tensor], torch.Tensor]]


@dataclass(frozen=True)
class Metrics:
    """Accuracy in percent over ``count`` images; per-class counts in class order. ``top5`` is None
    for a model of 5 classes or fewer, where every label is among the 5 highest scores."""

    top1: float
    top5: float | None
    count: int
    class_correct: list[int]
    class_count: list[int]
    skipped: tuple[str, ...] = ()

    def class_accuracy(self) -> list[float | None]:
        """Top-1 accuracy of each class in percent (None for a class without images)."""
        pairs = zip(self.class_correct, self.class_count)
        return [100.0 * correct / count if count else None for correct, count in pairs]


@torch.no_grad()
def evaluate(model: Scorer, loader: Iterable[Batch], device: torch.device, num_classes: int) -> Metrics:
    """Accuracy of ``model`` (not a DDP wrapper, or a logits function) on this process's batches,
    summed over all processes (and the images every process skipped).

    Top-5 counts an image as right when its label is among the 5 highest scores (only for more than 5 classes).
    """
    is_module = isinstance(model, nn.Module)
    was_training = is_module and model.training
    if is_module:
        model.eval()
    correct1 = torch.zeros(num_classes, dtype=torch.int64, device=device)
    correct5 = torch.zeros(num_classes, dtype=torch.int64, device=device)
    counts = torch.zeros(num_classes, dtype=torch.int64, device=device)
    skipped: list[str] = []
    for batch in loader:
        skipped += batch.skipped
        images = batch.images.to(device, non_blocking=True)
        labels = batch.labels.to(device, non_blocking=True)
        keep = labels >= 0  # label -1: an unreadable image that was skipped
        scores = model(images)[keep].float().to(device)
        labels = labels[keep]
        top = scores.topk(min(5, num_classes), dim=1).indices
        hits = top == labels[:, None]
        counts += torch.bincount(labels, minlength=num_classes)
        correct1 += torch.bincount(labels[hits[:, 0]], minlength=num_classes)
        correct5 += torch.bincount(labels[hits.any(dim=1)], minlength=num_classes)
    for tensor in (correct1, correct5, counts):
        all_reduce_sum(tensor)
    skipped = [reason for part in all_gather_objects(skipped) for reason in part]  # every process's
    if is_module:
        model.train(was_training)
    total = int(counts.sum())
    if total == 0:
        raise ValueError("evaluation saw no images")
    return Metrics(
        top1=100.0 * int(correct1.sum()) / total,
        top5=100.0 * int(correct5.sum()) / total if num_classes > 5 else None,
        count=total,
        class_correct=correct1.tolist(),
        class_count=counts.tolist(),
        skipped=tuple(skipped),
    )
