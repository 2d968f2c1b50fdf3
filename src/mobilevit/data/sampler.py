"""The variable batch sampler of MobileViT (arXiv 2110.02178, section 3.3).

Every batch has its own resolution, drawn from a few scales, and a batch size that keeps the
pixels per batch about those of the base resolution: small images come in large batches. Two
parts: :func:`variable_batch_shapes`, a pure function giving the (height, width, batch) choices,
and :class:`VariableBatchSampler`, which draws one choice per batch with its own generator seeded
by (seed, epoch), so every process of a distributed run makes the same draws without any
communication and without touching the global random state.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np
import torch

from ..errors import UsageError

# Dense models normalise features that hold one value per channel per image (DeepLabv3's ASPP
# image pooling, SSDLite's last 1x1 feature maps): BatchNorm needs two images per batch in training.
DENSE_MIN_BATCH = 2


class BatchShape(NamedTuple):
    """The image size and number of images of one batch (per process)."""

    height: int
    width: int
    batch_size: int


class SampleRequest(NamedTuple):
    """What the sampler asks a training data set for: one sample, at its batch's size, with the
    seed of its random augmentation (so the augmentation does not depend on workers or resumes)."""

    index: int
    height: int
    width: int
    seed: int


def round_to_multiple(value: float, multiple: int) -> int:
    """The multiple of ``multiple`` nearest to ``value`` (halves round up), at least ``multiple``."""
    return max(multiple, math.floor(value / multiple + 0.5) * multiple)


def variable_batch_shapes(
    base_size: int = 256,
    base_batch: int = 128,
    min_size: int = 160,
    max_size: int = 320,
    num_scales: int = 5,
    multiple: int = 32,
    batch_floor: str = "base",
    num_replicas: int = 1,
) -> list[BatchShape]:
    """The (height, width, batch size) choices of the variable batch sampler, smallest images first.

    Sizes are ``num_scales`` evenly spaced values from ``min_size`` to ``max_size`` plus
    ``base_size``, each rounded to a multiple of ``multiple`` (defaults: 160, 192, 256, 288, 320).
    The batch size keeps ``base_size**2 * base_batch`` pixels per batch, floored in one of two ways:

    - ``'base'`` (default; the release that trained the published weights): never below
      ``base_batch``, rounded to a multiple of ``num_replicas``. On 8 processes:
      (160, 328), (192, 224), (256, 128), (288, 128), (320, 128).
    - ``'one'`` (later releases): the pixel rule truncated, at least 1:
      (160, 327), (192, 227), (256, 128), (288, 101), (320, 81).
    """
    if batch_floor not in ("base", "one"):
        raise UsageError(f"batch_floor must be 'base' or 'one', got {batch_floor!r}")
    if num_scales < 1 or base_batch < 1 or num_replicas < 1:
        raise UsageError("num_scales, base_batch and num_replicas must be positive")
    steps = max(num_scales - 1, 1)
    sizes = {round_to_multiple(min_size + (max_size - min_size) * i / steps, multiple) for i in range(num_scales)}
    sizes.add(base_size)
    pixels = base_size * base_size * base_batch
    shapes = []
    for size in sorted(sizes):
        exact = pixels / (size * size)
        if batch_floor == "base":
            batch = max(base_batch, num_replicas * round(exact / num_replicas))
        else:
            batch = max(1, int(exact))
        shapes.append(BatchShape(size, size, batch))
    return shapes


def mixed_seed(*keys: int) -> int:
    """A 63-bit seed mixed from non-negative integers (seed, epoch, ...), equal on every platform."""
    if any(key < 0 for key in keys):
        raise UsageError(f"seeds must be non-negative, got {keys}")
    return int(np.random.SeedSequence(list(keys)).generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


class EpochPlan(NamedTuple):
    """One process's share of an epoch: its sample indices and augmentation seeds in order, and
    the batches as (start, stop, shape) slices of them."""

    indices: list[int]
    seeds: list[int]
    batches: list[tuple[int, int, BatchShape]]


class VariableBatchSampler:
    """Batches of :class:`SampleRequest`, one randomly drawn :class:`BatchShape` per batch.

    Each epoch shuffles the data set with a generator seeded by (seed, epoch), pads the order by
    wrapping around until it divides evenly among ``num_replicas`` processes, and gives process
    ``rank`` every ``num_replicas``-th sample: processes see disjoint samples and the same number
    of them, hence, drawing the same shapes, the same number of batches. The last batch of an
    epoch may be short; one shorter than ``min_batch_size`` joins the batch before it (dense
    models need :data:`DENSE_MIN_BATCH`). ``set_epoch(epoch, start_batch)`` selects the epoch and
    skips its first ``start_batch`` batches (to resume mid-epoch).
    """

    def __init__(
        self,
        num_samples: int,
        shapes: Sequence[BatchShape],
        seed: int = 0,
        num_replicas: int = 1,
        rank: int = 0,
        shuffle: bool = True,
        min_batch_size: int = 1,
    ) -> None:
        if num_samples < 1:
            raise UsageError("the sampler needs at least one sample")
        if not shapes:
            raise UsageError("the sampler needs at least one batch shape")
        if not 0 <= rank < num_replicas:
            raise UsageError(f"rank {rank} is outside [0, {num_replicas})")
        small = [shape for shape in shapes if shape.batch_size < min_batch_size]
        if small:
            raise UsageError(f"batches of {small[0].batch_size} are fewer than the {min_batch_size} images needed")
        if math.ceil(num_samples / num_replicas) < min_batch_size:
            raise UsageError(
                f"{num_samples} training image(s) shared by {num_replicas} process(es) make batches of fewer than "
                f"the {min_batch_size} images needed"
            )
        self.min_batch_size = min_batch_size
        self.num_samples = num_samples
        self.shapes = list(shapes)
        self.seed = seed
        self.num_replicas = num_replicas
        self.rank = rank
        self.shuffle = shuffle
        self.epoch = 0
        self.start_batch = 0
        self._plan: tuple[int, EpochPlan] | None = None

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        """Select the epoch to draw and how many of its batches to skip."""
        self.epoch = epoch
        self.start_batch = start_batch

    def plan(self) -> EpochPlan:
        """This process's share of the current epoch (computed once per epoch)."""
        if self._plan is None or self._plan[0] != self.epoch:
            self._plan = (self.epoch, self._make_plan())
        return self._plan[1]

    def _make_plan(self) -> EpochPlan:
        generator = torch.Generator().manual_seed(mixed_seed(self.seed, self.epoch))
        if self.shuffle:
            order = torch.randperm(self.num_samples, generator=generator)
        else:
            order = torch.arange(self.num_samples)
        per_replica = math.ceil(self.num_samples / self.num_replicas)
        total = per_replica * self.num_replicas
        order = order.repeat(math.ceil(total / self.num_samples))[:total]  # pad by wrapping around
        seeds = torch.randint(0, 2**62, (total,), generator=generator)
        batches = []
        start = 0
        while start < per_replica:
            shape = self.shapes[int(torch.randint(len(self.shapes), (1,), generator=generator))]
            stop = min(start + shape.batch_size, per_replica)
            batches.append((start, stop, shape))
            start = stop
        if len(batches) > 1 and batches[-1][1] - batches[-1][0] < self.min_batch_size:
            _, last_stop, _ = batches.pop()
            before_start, _, before_shape = batches.pop()
            batches.append((before_start, last_stop, before_shape))
        return EpochPlan(
            order[self.rank :: self.num_replicas].tolist(), seeds[self.rank :: self.num_replicas].tolist(), batches
        )

    @property
    def num_batches(self) -> int:
        """Batches in the whole current epoch, skipped ones included."""
        return len(self.plan().batches)

    def __len__(self) -> int:
        return max(self.num_batches - self.start_batch, 0)

    def __iter__(self) -> Iterator[list[SampleRequest]]:
        plan = self.plan()
        for start, stop, shape in plan.batches[self.start_batch :]:
            yield [
                SampleRequest(plan.indices[position], shape.height, shape.width, plan.seeds[position])
                for position in range(start, stop)
            ]


def shard_batches(num_samples: int, batch_size: int, num_replicas: int = 1, rank: int = 0) -> list[list[int]]:
    """Evaluation batches of process ``rank``: every ``num_replicas``-th index in order, no padding,
    so the processes together see every sample exactly once."""
    indices = list(range(rank, num_samples, num_replicas))
    return [indices[start : start + batch_size] for start in range(0, len(indices), batch_size)]
