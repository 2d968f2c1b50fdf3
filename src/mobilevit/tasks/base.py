"""The task interface: what differs between classification, segmentation (and detection) and nothing else.

The engine runs one training loop and one evaluation loop for every task; a :class:`Task` gives
it the parts that differ. A task is a small object with:

- ``name`` (the config's top-level ``task``) and ``best_metric``, the attribute of its metrics
  that picks ``best.pth`` (higher is better);
- ``build_model(config)``: the nn.Module, with ``class_names`` set from ``model.class_names``;
- ``build_data(config, ...)``: its data sets as loaders (a :class:`TaskData`);
- ``loss_function(config)``: ``loss(output, batch)``, the training loss of ``model(batch.images)``;
- ``evaluator(config, device)``: an :class:`Evaluator` that sums over all processes.

Batches are NamedTuples whose first field is ``images`` (B, 3, H, W) and whose last is
``skipped`` (the unreadable files replaced to fill the batch); the engine moves their tensors to
the device and reads nothing else. To add a task, write a module with such an object and add it
to :data:`mobilevit.tasks.TASKS` (and its data layouts to :data:`mobilevit.config.DATA_KINDS`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader

from ..config import Config, ConfigError
from ..data.sampler import DENSE_MIN_BATCH, BatchShape

# The training loss of a batch: ``loss(model(batch.images), batch)``, a scalar tensor.
LossFunction = Callable[[torch.Tensor, Any], torch.Tensor]


class Metrics(Protocol):
    """The results of one evaluation, summed over all processes."""

    count: int  # images evaluated
    skipped: tuple[str, ...]  # unreadable images left out (with data.skip_bad_images)

    def log_values(self) -> dict[str, float | int]:
        """The figures of a ``val`` line of the run's log."""

    def summary(self) -> str:
        """The headline figures for the terminal, e.g. ``top-1 75.20  top-5 92.10``."""

    def report(self, class_names: Sequence[str]) -> dict[str, Any]:
        """The JSON figures of a test run, with one entry per class."""


class Evaluator(Protocol):
    """Accumulates a metric batch by batch on each process; ``compute`` sums over all processes
    (a collective: every process calls it), so every sample counts exactly once."""

    def update(self, output: torch.Tensor, batch: Any) -> None:
        """Add the model's ``output`` on ``batch`` (both on the evaluation device)."""

    def compute(self) -> Metrics:
        """The metrics over everything seen by every process."""


@dataclass(frozen=True)
class TaskData:
    """The loaders of a run: ``train`` (None when only evaluating; its ``batch_sampler`` is a
    :class:`~mobilevit.data.sampler.VariableBatchSampler`) and ``val``, with the class names."""

    train: DataLoader | None
    val: DataLoader
    class_names: tuple[str, ...]
    description: str  # for the log: how many images of how many classes


class Task(Protocol):
    """The parts of a run that depend on the task (see the module docstring)."""

    name: str
    best_metric: str

    def build_model(self, config: Config) -> nn.Module:
        """The model ``config`` describes (random weights), with its ``class_names``."""

    def build_data(
        self,
        config: Config,
        train: bool,
        world_size: int = 1,
        rank: int = 0,
        pin_memory: bool = False,
        class_names: Sequence[str] = (),
    ) -> TaskData:
        """Loaders of this process's share of the data (``train=False``: validation only).
        ``class_names`` are used where neither the config nor the data set names the classes."""

    def loss_function(self, config: Config) -> LossFunction:
        """The training loss."""

    def evaluator(self, config: Config, device: torch.device) -> Evaluator:
        """A fresh evaluator of the validation metric."""


def sum_over_processes(tensor: torch.Tensor) -> torch.Tensor:
    """Sum ``tensor`` over all processes, in place (a no-op in a single process)."""
    if dist.is_initialized():
        dist.all_reduce(tensor)
    return tensor


def gather_over_processes(items: list[str]) -> tuple[str, ...]:
    """Every process's ``items``, in rank order (the items themselves in a single process)."""
    if not dist.is_initialized():
        return tuple(items)
    gathered: list[list[str] | None] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, list(items))
    return tuple(item for part in gathered for item in part or ())


def require_num_classes(config: Config) -> None:
    """Refuse to build a model whose class count the config leaves open."""
    if config.model.num_classes is None:
        raise ConfigError(
            "model.num_classes is not set: use the config.json a training run saved (training "
            "takes the count from the data set) or set model.num_classes"
        )


def require_dense_batches(config: Config, shapes: Sequence[BatchShape]) -> None:
    """Refuse training batch shapes of fewer than :data:`~mobilevit.data.sampler.DENSE_MIN_BATCH`
    images: a dense model's BatchNorm over pooled features (one value per channel) fails on one."""
    small = [shape for shape in shapes if shape.batch_size < DENSE_MIN_BATCH]
    if not small:
        return
    floor = " (or data.sampler.batch_floor='base')" if config.data.sampler.variable else ""
    raise ConfigError(
        f"data.batch_size={config.data.batch_size} makes training batches of {small[0].batch_size} image(s) at "
        f"{small[0].height}x{small[0].width} per process: {config.task} training needs at least {DENSE_MIN_BATCH} "
        f"images per batch (the BatchNorm of pooled features sees one value per channel): set data.batch_size "
        f">= {DENSE_MIN_BATCH}{floor}"
    )
