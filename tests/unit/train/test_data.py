"""Training input: data.py over synthetic transformed TFRecords (helpers/training_examples)."""

import numpy as np
import pytest
import tensorflow as tf

from components.artifacts import shards
from components.audio.features import (
    LOG_MEL,
    MEAN_MFCC,
    MFCC,
)
from components.audio.labels import NUM_CLASSES
from components.train import data
from tests.helpers.training_examples import source_of_example, write_examples


@pytest.fixture(scope="module")
def examples_dir(tmp_path_factory):
    return write_examples(
        tmp_path_factory.mktemp("examples"), {"train": 3, "validation": 1, "test": 1}
    )


def test_dataset_shapes_and_one_hot_labels(examples_dir):
    x, y = next(iter(data.dataset(examples_dir, "train", LOG_MEL, 5)))
    assert x.shape == (5, 128, 216, 1) and y.shape == (5, NUM_CLASSES)
    x, y, ids = next(iter(data.dataset(examples_dir, "test", MEAN_MFCC, 4, with_ids=True)))
    assert x.shape == (4, 32) and ids.dtype == tf.string
    np.testing.assert_array_equal(y.numpy().sum(axis=1), 1.0)


def test_image_reshape_is_row_major_bands_by_frames(examples_dir):
    x, y, ids = next(iter(data.dataset(examples_dir, "validation", MFCC, 8, with_ids=True)))
    label = int(np.argmax(y[0]))
    rows = x[0, :, :, 0].numpy().mean(axis=1)
    assert set(np.flatnonzero(rows > 0.5)) == set(range(label * 4, label * 4 + 2))


def test_unshuffled_order_is_stable_and_shuffle_is_seeded(examples_dir):
    def ids(**kwargs):
        batches = data.dataset(examples_dir, "train", MEAN_MFCC, 6, with_ids=True, **kwargs)
        return [i for _, _, b in batches for i in b.numpy().tolist()]

    assert ids() == ids()
    assert ids(shuffle=True, seed=1) == ids(shuffle=True, seed=1)
    assert ids(shuffle=True, seed=1) != ids() and sorted(ids(shuffle=True, seed=1)) == sorted(ids())


def test_shard_order_follows_the_shards_contents_not_their_names(tmp_path):
    # Beam numbers a run's shards in the order of random temporary file names: the same shards
    # under swapped names must stream (and shuffle) the same.
    examples_dir = write_examples(tmp_path, {"train": 3}, shards=2)

    def ids(**kwargs):
        batches = data.dataset(examples_dir, "train", MEAN_MFCC, 6, with_ids=True, **kwargs)
        return [i for _, _, b in batches for i in b.numpy().tolist()]

    before, shuffled = ids(), ids(shuffle=True, seed=1)
    first, second = sorted((tmp_path / "examples" / "train").iterdir())
    first.rename(tmp_path / "swap")
    second.rename(first)
    (tmp_path / "swap").rename(second)
    assert shards.split_files(examples_dir, "train") == [str(second), str(first)]
    assert ids() == before and ids(shuffle=True, seed=1) == shuffled


def test_class_counts_and_weights(examples_dir):
    counts = data.class_counts(examples_dir, "train")
    assert counts.tolist() == [3] * NUM_CLASSES
    assert data.class_weights(np.array([2, 6, 0, 0, 0, 0, 0, 0])) == {0: 2.0, 1: 2 / 3}


def test_load_arrays_is_for_one_dimensional_features_only(examples_dir):
    train = shards.load_arrays(examples_dir, "train", MEAN_MFCC)
    assert train.x.shape == (24, 32) and train.y.shape == (24,) and len(set(train.clip_ids)) == 24
    assert train.source_ids == [source_of_example(clip_id) for clip_id in train.clip_ids]
    with pytest.raises(ValueError):
        shards.load_arrays(examples_dir, "train", LOG_MEL)


def test_missing_split_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError):
        shards.split_files(str(tmp_path), "train")
