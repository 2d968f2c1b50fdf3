"""The one way mobilevit builds a DataLoader (:func:`make_loader`), and the batches of the image
classification data sets. Each task builds its data sets and samplers from its config and hands
them to :func:`make_loader`; nothing here reads a config."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

import torch
from torch.utils.data import DataLoader, Dataset

from .datasets import Sample
from .sampler import BatchShape, VariableBatchSampler, shard_batches


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


class LoaderOptions(NamedTuple):
    """Where and how a loader runs: its worker processes, this process's ``rank`` of ``num_replicas``
    (each takes its share of the batches) and whether batches go to pinned memory."""

    num_workers: int = 0
    num_replicas: int = 1
    rank: int = 0
    pin_memory: bool = False


def training_loader(
    dataset: Dataset,
    shapes: Sequence[BatchShape],
    collate_fn: Callable,
    seed: int,
    options: LoaderOptions,
    min_batch_size: int = 1,
) -> DataLoader:
    """Training batches of ``dataset`` in the sizes of ``shapes``; the loader's ``batch_sampler`` is
    the :class:`VariableBatchSampler` to ``set_epoch``."""
    sampler = VariableBatchSampler(
        len(dataset), shapes, seed, options.num_replicas, options.rank, min_batch_size=min_batch_size
    )
    return make_loader(dataset, sampler, collate_fn, options.num_workers, options.pin_memory)


def evaluation_loader(dataset: Dataset, batch_size: int, collate_fn: Callable, options: LoaderOptions) -> DataLoader:
    """The evaluation batches of process ``options.rank``: its share of ``dataset``, each sample exactly once."""
    batches = shard_batches(len(dataset), batch_size, options.num_replicas, options.rank)
    return make_loader(dataset, batches, collate_fn, options.num_workers, options.pin_memory)
