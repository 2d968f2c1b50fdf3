"""Data loaders: training batches from the variable batch sampler, evaluation batches from each
process's share of the data set."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

import torch
from torch.utils.data import DataLoader, Dataset

from ..config import DataConfig
from .datasets import ImageDataset, ImageList, Sample
from .sampler import BatchShape, VariableBatchSampler, shard_batches, variable_batch_shapes
from .transforms import EvalTransform, TrainTransform


class Batch(NamedTuple):
    """Images (B, 3, H, W), labels (B,), and the unreadable files skipped to fill the batch."""

    images: torch.Tensor
    labels: torch.Tensor
    skipped: tuple[str, ...]


def collate(samples: list[Sample]) -> Batch:
    """Stack the samples of one batch (all of one size)."""
    return Batch(
        torch.stack([sample.image for sample in samples]),
        torch.tensor([sample.label for sample in samples]),
        tuple(reason for sample in samples for reason in sample.skipped),
    )


def batch_shapes(data: DataConfig, num_replicas: int = 1) -> list[BatchShape]:
    """The (height, width, batch size) choices of a config's training sampler."""
    sampler = data.sampler
    if not sampler.variable:
        return [BatchShape(sampler.base_size, sampler.base_size, data.batch_size)]
    return variable_batch_shapes(
        sampler.base_size,
        data.batch_size,
        sampler.min_size,
        sampler.max_size,
        sampler.num_scales,
        sampler.multiple,
        sampler.batch_floor,
        num_replicas,
    )


def make_loader(
    dataset: Dataset, batch_sampler: Iterable, collate_fn: Callable, num_workers: int, pin_memory: bool = False
) -> DataLoader:
    """The one way mobilevit builds a DataLoader: batches from ``batch_sampler``, the workers kept
    between the epochs of a training sampler, and a generator of its own, which keeps the global
    random state untouched, so resumed runs match."""
    return DataLoader(
        dataset,
        batch_sampler=batch_sampler,
        num_workers=num_workers,
        collate_fn=collate_fn,
        pin_memory=pin_memory,
        persistent_workers=num_workers > 0 and isinstance(batch_sampler, VariableBatchSampler),
        generator=torch.Generator(),
    )


def build_train_loader(
    data: DataConfig, images: ImageList, seed: int, num_replicas: int = 1, rank: int = 0, pin_memory: bool = False
) -> DataLoader:
    """The training loader; its ``batch_sampler`` is the :class:`VariableBatchSampler` to ``set_epoch``."""
    transform = TrainTransform(data.preprocessing, data.crop_scale, data.crop_ratio, data.horizontal_flip)
    sampler = VariableBatchSampler(len(images.samples), batch_shapes(data, num_replicas), seed, num_replicas, rank)
    return make_loader(
        ImageDataset(images, transform, data.skip_bad_images), sampler, collate, data.num_workers, pin_memory
    )


def build_eval_loader(
    data: DataConfig, images: ImageList, num_replicas: int = 1, rank: int = 0, pin_memory: bool = False
) -> DataLoader:
    """The evaluation loader of process ``rank``: its share of the samples, each exactly once."""
    return make_loader(
        ImageDataset(images, EvalTransform(data.preprocessing), data.skip_bad_images),
        shard_batches(len(images.samples), data.val_batch_size, num_replicas, rank),
        collate,
        data.num_workers,
        pin_memory,
    )
