from collections import Counter

import pytest
import torch

from mobilevit.data.sampler import (
    BatchShape,
    VariableBatchSampler,
    mixed_seed,
    round_to_multiple,
    shard_batches,
    variable_batch_shapes,
)


def test_shapes_of_the_published_recipe_with_both_floors():
    v01 = variable_batch_shapes(num_replicas=8)
    assert [tuple(shape) for shape in v01] == [
        (160, 160, 328),
        (192, 192, 224),
        (256, 256, 128),
        (288, 288, 128),
        (320, 320, 128),
    ]
    later = variable_batch_shapes(batch_floor="one")
    assert [tuple(shape) for shape in later] == [
        (160, 160, 327),
        (192, 192, 227),
        (256, 256, 128),
        (288, 288, 101),
        (320, 320, 81),
    ]
    for shape in later:  # the pixel rule: about the pixels of 256 x 256 x 128, never more
        assert 0.97 < shape.height * shape.width * shape.batch_size / (256 * 256 * 128) <= 1.0
    assert variable_batch_shapes() == variable_batch_shapes(256, 128, 160, 320, 5, 32, "base", 1)
    with pytest.raises(ValueError, match="batch_floor"):
        variable_batch_shapes(batch_floor="two")


def test_sizes_are_multiples_and_the_base_is_kept():
    shapes = variable_batch_shapes(base_size=224, base_batch=64, min_size=128, max_size=320, num_scales=4)
    sizes = [shape.height for shape in shapes]
    assert 224 in sizes and all(size % 32 == 0 for size in sizes if size != 224)
    assert sizes == sorted(sizes) and round_to_multiple(240, 32) == 256 and round_to_multiple(3, 32) == 32


def _epoch(num_samples, shapes, num_replicas, seed=0, epoch=0, start_batch=0):
    batches = []
    for rank in range(num_replicas):
        sampler = VariableBatchSampler(num_samples, shapes, seed=seed, num_replicas=num_replicas, rank=rank)
        sampler.set_epoch(epoch, start_batch)
        batches.append(list(sampler))
        assert len(sampler) == len(batches[-1])
    return batches


SHAPES = [BatchShape(24, 24, 7), BatchShape(32, 32, 4), BatchShape(40, 40, 3)]


@pytest.mark.parametrize("num_samples, num_replicas", [(60, 1), (60, 3), (61, 4)])
def test_every_index_once_per_epoch_across_ranks(num_samples, num_replicas):
    per_rank = _epoch(num_samples, SHAPES, num_replicas)
    indices = [[request.index for batch in batches for request in batch] for batches in per_rank]
    assert len({len(rank_indices) for rank_indices in indices}) == 1  # the same count on every rank
    counts = Counter(index for rank_indices in indices for index in rank_indices)
    assert set(counts) == set(range(num_samples))
    padding = -num_samples % num_replicas
    assert sum(counts.values()) == num_samples + padding  # only the wrap-around padding repeats
    if padding == 0:
        for first in range(num_replicas):  # disjoint shards
            for second in range(first + 1, num_replicas):
                assert not set(indices[first]) & set(indices[second])


def test_batches_follow_the_shapes_and_every_rank_draws_the_same():
    per_rank = _epoch(100, SHAPES, 2)
    schedules = [[(batch[0].height, batch[0].width, len(batch)) for batch in batches] for batches in per_rank]
    assert schedules[0] == schedules[1]
    sizes = {shape.height: shape.batch_size for shape in SHAPES}
    for height, width, count in schedules[0][:-1]:  # the last batch may be short
        assert height == width and count == sizes[height]
    assert all(request.height == batch[0].height for batch in per_rank[0] for request in batch)
    assert len({height for height, _, _ in schedules[0]}) > 1


def test_deterministic_for_a_seed_and_epoch_without_global_random_state():
    state = torch.get_rng_state()
    first = _epoch(50, SHAPES, 2, seed=3, epoch=1)
    assert torch.equal(state, torch.get_rng_state())
    assert first == _epoch(50, SHAPES, 2, seed=3, epoch=1)
    assert first != _epoch(50, SHAPES, 2, seed=3, epoch=2)
    assert first != _epoch(50, SHAPES, 2, seed=4, epoch=1)
    seeds = [request.seed for batch in first[0] for request in batch]
    assert len(set(seeds)) == len(seeds)  # each sample its own augmentation


def test_resume_mid_epoch_gives_the_remaining_batches():
    whole = _epoch(80, SHAPES, 2, epoch=5)
    rest = _epoch(80, SHAPES, 2, epoch=5, start_batch=4)
    assert [batches[4:] for batches in whole] == rest
    sampler = VariableBatchSampler(80, SHAPES)
    sampler.set_epoch(0, start_batch=10**6)
    assert list(sampler) == [] and len(sampler) == 0


def test_evaluation_shards_cover_every_sample_exactly_once():
    shards = [shard_batches(23, 4, 3, rank) for rank in range(3)]
    indices = sorted(index for batches in shards for batch in batches for index in batch)
    assert indices == list(range(23))
    assert all(len(batch) <= 4 for batches in shards for batch in batches)


def test_bad_arguments():
    with pytest.raises(ValueError, match="rank"):
        VariableBatchSampler(10, SHAPES, num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="at least one sample"):
        VariableBatchSampler(0, SHAPES)
    with pytest.raises(ValueError, match="non-negative"):
        mixed_seed(-1, 0)
