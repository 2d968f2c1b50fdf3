"""The task interface: everything that differs between classification, segmentation and detection.

A :class:`Task` is a small object that owns its task's whole life; the rest of mobilevit (the
engine, ``apis``, the CLI, export, conversion, the zoo) asks ``get_task(model.task)`` or
``get_task(config.task)`` and never branches on a model class or a task name. A task gives:

- ``name`` (the config's top-level ``task``, every task model's ``task``), ``best_metric`` (the
  attribute of its metrics that picks ``best.pth``, higher is better), ``default_preprocessing``
  (the published weights' input) and the export facts ``spatial_output`` / ``pooled_head``;
- models: ``build_model(config, training=False)`` (``training``: with the modules only training
  uses), ``build_from_arch(arch, **options)`` (the zoo's),
  ``recognises(state_dict)`` and ``model_for_weights(arch, state_dict, metadata)`` (a state dict
  of its layouts, once in ours, builds its model alone), ``settings_of(model)`` (what our files
  record beside the weights);
- training: ``build_data``, ``loss_function``, ``evaluator``;
- inference: ``runner(model)`` (what computes the model's outputs; an exported file's runner takes
  its place), ``predict(model, images, run)`` (results of RGB arrays), ``render(...)`` (a line, a
  JSON object and the pictures of one result), ``published(record)`` (a zoo record's figures).

Batches are NamedTuples whose first field is ``images`` (B, 3, H, W) and whose last is
``skipped`` (the unreadable files replaced to fill the batch); the engine moves their tensors to
the device and reads nothing else. To add a task, write a module with such an object and add it
to :data:`mobilevit.tasks.TASKS` (and its data layouts to :data:`mobilevit.config.DATA_KINDS`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader

from ..config import Config, ConfigError
from ..convert import is_v2_state_dict
from ..data.sampler import DENSE_MIN_BATCH, BatchShape
from ..data.transforms import EvalTransform, Preprocessing
from ..errors import UsageError

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


# What computes a model's outputs for predict: a logits function ((B, 3, H, W) -> logits) for
# classifiers and segmenters, a detector (list of (3, H, W) images -> detections) for detectors.
Runner = Callable[[Any], Any]


@dataclass(frozen=True)
class RenderOptions:
    """How ``predict`` shows a result: ``topk`` classes, detections scoring ``score_threshold`` or
    more, pictures (masks, overlays, drawn boxes) written under ``out_dir``."""

    out_dir: Path = Path("predictions")
    topk: int = 5
    score_threshold: float = 0.3


@dataclass(frozen=True)
class Rendered:
    """One image's result as predict shows it: terminal ``text``, a ``record`` for ``--json`` and
    the ``pictures`` written."""

    text: str
    record: dict[str, Any]
    pictures: tuple[Path, ...] = ()


class Task(Protocol):
    """The parts of a model's life that depend on the task (see the module docstring)."""

    name: str
    best_metric: str
    default_preprocessing: Preprocessing
    default_preprocessing_v2: Preprocessing  # the published MobileViT v2 weights' (RGB)
    spatial_output: bool  # the network's output has the input's height and width (exports keep them free)
    pooled_head: bool  # the network pools the backbone's last map (multiply-adds count it)
    runner_output: str  # "logits" or "detections": what its predict takes from a runner

    def build_model(self, config: Config, training: bool = False) -> nn.Module:
        """The model ``config`` describes (random weights), with its ``class_names``; ``training``:
        with the modules only training uses (a segmenter's auxiliary head), where the config asks for them."""

    def build_from_arch(self, arch: Any, **options: Any) -> nn.Module:
        """The model of a named or custom ``arch``; ``options`` as its builder takes them."""

    def recognises(self, state_dict: Mapping[str, torch.Tensor]) -> bool:
        """Whether a state dict in our layout is this task's model."""

    def model_for_weights(self, arch: Any, state_dict: Mapping[str, torch.Tensor], metadata: Mapping) -> nn.Module:
        """The model whose weights ``state_dict`` holds, with the settings our ``metadata`` records."""

    def known_class_names(self, model: nn.Module) -> tuple[str, ...]:
        """The class names of weights that name none, where the class count tells them (or none)."""

    def settings_of(self, model: nn.Module) -> dict[str, Any]:
        """The settings that shape no tensor but the model's outputs, as our files record them."""

    def published(self, record: Any) -> str:
        """A zoo record's published figures, as this task measures them."""

    def runner(self, model: nn.Module) -> Runner:
        """What computes ``model``'s outputs in eval mode without changing it."""

    def predict(
        self,
        model: nn.Module,
        images: Sequence[np.ndarray],
        run: Runner,
        names: Sequence[str] = (),
        pixel_scores: bool = True,
    ) -> list[dict[str, Any]]:
        """Results of RGB (H, W, 3) uint8 arrays (see :func:`mobilevit.inference_model`); errors
        name each image by ``names`` (its path, say). ``pixel_scores=False`` lets a dense task leave
        out its scores per pixel and class (a segmenter's ``pred_scores``: the memory of a large
        photo), for callers that only render the results."""

    def render(
        self,
        model: nn.Module,
        image: str,
        rgb: np.ndarray,
        result: dict[str, Any],
        stem: str,
        options: RenderOptions,
    ) -> Rendered:
        """How predict shows one image's result; its pictures are ``options.out_dir / f"{stem}_*.png"``."""

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

    def training_images(self, config: Config) -> list[Path]:
        """The image files of the config's training split (int8 calibration reads them)."""

    def loss_function(self, config: Config) -> LossFunction:
        """The training loss."""

    def evaluator(self, config: Config, device: torch.device) -> Evaluator:
        """A fresh evaluator of the validation metric."""


def torch_logits(model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """Outputs of a PyTorch model, computed in eval mode on the model's device and in its dtype
    (float32 logits whatever the dtype).

    The model is never changed: one in train mode is run as an eval-mode copy of its current
    weights (flipping the shared module would race with other threads and update BatchNorm
    statistics), so calls from several threads give the results of sequential calls.
    """

    def logits(batch: torch.Tensor) -> torch.Tensor:
        network = copy.deepcopy(model).eval() if model.training else model
        parameter = next(network.parameters())
        with torch.inference_mode():
            return network(batch.to(parameter.device, parameter.dtype)).float().cpu()

    return logits


def prepare_arrays(
    images: Sequence[np.ndarray], preprocessing: Preprocessing, names: Sequence[str] = ()
) -> torch.Tensor:
    """RGB arrays as one (B, 3, crop, crop) batch of the test pipeline; errors name each image by ``names``."""
    if not images:
        raise UsageError("no images given: expected a path, an array, a PIL image or a list of them")
    if preprocessing.size_multiple and len(images) > 1:
        raise UsageError(
            f"preprocessing.size_multiple={preprocessing.size_multiple} keeps each image at its own size: "
            f"prepare the {len(images)} images one at a time"
        )
    transform = EvalTransform(preprocessing)
    return torch.stack([transform(image, name) for image, name in zip(images, image_names(len(images), names))])


def image_names(count: int, names: Sequence[str] = ()) -> list[str]:
    """``names``, or for unnamed images "image i of count", as errors name them."""
    return list(names) or [f"image {index + 1} of {count}" for index in range(count)]


def preprocessing_of(model: nn.Module, default: Preprocessing) -> Preprocessing:
    """The model's preprocessing, or ``default`` (its task's published one) for a model built without it."""
    preprocessing = getattr(model, "preprocessing", None)
    return default if preprocessing is None else preprocessing


def model_preprocessing(model: nn.Module, task: Task) -> Preprocessing:
    """The model's preprocessing or, for a model built without it, its task's published one for the
    model's family (the MobileViT v2 weights take RGB, v1's BGR)."""
    v2 = getattr(model, "preprocessing", None) is None and is_v2_state_dict(model.state_dict())
    return preprocessing_of(model, task.default_preprocessing_v2 if v2 else task.default_preprocessing)


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


def refuse_size_multiple(config: Config) -> None:
    """Refuse ``data.preprocessing.size_multiple`` for a task whose batches take one image size."""
    multiple = config.data.preprocessing.size_multiple
    if multiple:
        raise ConfigError(
            f"data.preprocessing.size_multiple={multiple} keeps each image at its own size, which only "
            f"segmentation evaluates; {config.task} batches take one size: set data.preprocessing.size_multiple=0"
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
