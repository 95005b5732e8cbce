"""``data.dataset(cache=True)``: the same examples as streaming, decoded once, every epoch."""

import numpy as np
import pytest

from components.audio.features import LOG_MEL, MEAN_MFCC
from components.train import data
from tests.helpers.training_examples import write_examples


@pytest.fixture(scope="module")
def examples_dir(tmp_path_factory):
    return write_examples(tmp_path_factory.mktemp("examples"), {"train": 3}, shards=3)


def _epoch(dataset) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {
        clip_id.decode(): (x, y)
        for xs, ys, ids in dataset.as_numpy_iterator()
        for x, y, clip_id in zip(xs, ys, ids, strict=True)
    }


@pytest.mark.parametrize("feature", [MEAN_MFCC, LOG_MEL])
def test_cached_batches_hold_the_streamed_examples(examples_dir, feature):
    streamed = _epoch(data.dataset(examples_dir, "train", feature, 4, with_ids=True))
    cached = data.dataset(examples_dir, "train", feature, 4, with_ids=True, cache=True)
    first, second = _epoch(cached), _epoch(cached)
    assert set(first) == set(second) == set(streamed)
    for clip_id, (x, y) in streamed.items():
        np.testing.assert_array_equal(first[clip_id][0], x)
        np.testing.assert_array_equal(second[clip_id][1], y)
    sizes = [len(ids) for _, _, ids in cached.as_numpy_iterator()]
    assert sizes[:-1] == [4] * (len(sizes) - 1) and sum(sizes) == len(streamed)


def test_cached_training_batches_are_reshuffled_each_epoch(examples_dir):
    cached = data.dataset(
        examples_dir, "train", MEAN_MFCC, 4, with_ids=True, shuffle=True, seed=3, cache=True
    )
    orders = [[i for _, _, ids in cached.as_numpy_iterator() for i in ids] for _ in range(3)]
    assert sorted(orders[0]) == sorted(orders[1]) == sorted(orders[2])
    assert len({tuple(order) for order in orders}) > 1
