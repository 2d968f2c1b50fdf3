"""Tasks: one small module per task, the only place that knows what a task is (see :mod:`.base`)."""

from __future__ import annotations

from torch import nn

from ..config import Config
from .base import Evaluator, LossFunction, Metrics, Task, TaskData, sum_over_processes
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
    "SEGMENTATION",
    "TASKS",
    "Task",
    "TaskData",
    "build_model",
    "get_task",
    "sum_over_processes",
]


def get_task(name: str) -> Task:
    """The task of a config's ``task`` value."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)}")
    return TASKS[name]


def build_model(config: Config) -> nn.Module:
    """The model of ``config``'s task, as its config describes it."""
    return get_task(config.task).build_model(config)
