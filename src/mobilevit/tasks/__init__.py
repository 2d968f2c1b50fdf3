"""Tasks: one small module per task, the only place that knows what a task is (see :mod:`.base`)."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from ..config import Config
from ..errors import UsageError
from .base import (
    Evaluator,
    LossFunction,
    Metrics,
    Rendered,
    RenderOptions,
    Runner,
    Task,
    TaskData,
    sum_over_processes,
    torch_logits,
)
from .classification import CLASSIFICATION
from .detection import DETECTION
from .segmentation import SEGMENTATION

TASKS: dict[str, Task] = {task.name: task for task in (CLASSIFICATION, SEGMENTATION, DETECTION)}

__all__ = [
    "CLASSIFICATION",
    "DETECTION",
    "Evaluator",
    "LossFunction",
    "Metrics",
    "RenderOptions",
    "Rendered",
    "Runner",
    "SEGMENTATION",
    "TASKS",
    "Task",
    "TaskData",
    "build_model",
    "get_task",
    "sum_over_processes",
    "task_for_weights",
    "task_of",
    "torch_logits",
]


def get_task(name: str) -> Task:
    """The task of a config's ``task`` value, or of a model's."""
    if name not in TASKS:
        raise UsageError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)}")
    return TASKS[name]


def task_of(model: nn.Module) -> Task:
    """The task that serves ``model`` (every mobilevit task model says its ``task``)."""
    name = getattr(model, "task", None)
    if name is None:
        raise TypeError(f"a {type(model).__name__} is no mobilevit task model (it has no task attribute)")
    return get_task(name)


def task_for_weights(state_dict: Mapping[str, torch.Tensor]) -> Task:
    """The task whose model a state dict in our layout holds: a detector's or a segmenter's head
    tells itself; anything else is a classifier (or its backbone)."""
    for task in (DETECTION, SEGMENTATION, CLASSIFICATION):
        if task.recognises(state_dict):
            return task
    raise UsageError(f"the state dict is no MobileViT model of a known task (keys such as {next(iter(state_dict))})")


def build_model(config: Config) -> nn.Module:
    """The model of ``config``'s task, as its config describes it."""
    return get_task(config.task).build_model(config)
