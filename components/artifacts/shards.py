"""Featurize's example shards ``examples/<split>/*.tfrecord.gz``, as later steps read them.

Each shard holds GZIP ``tf.train.Example``s after the tf.Transform graph (features in
``components.audio.examples``), with the feature sets featurize computed, which it records in
``feature_sets.json`` (``write_feature_sets``; ``require_feature`` turns a model's missing one
into a clear error). ``records`` streams a split's serialized examples in a fixed,
interleaved shard order (optionally with the shard order shuffled, for training);
``load_arrays`` reads a whole split of a small 1-D feature (mean-MFCC, an embedding) into
``SplitArrays``.
"""

import os
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from components.artifacts import files
from components.artifacts.names import EXAMPLES_DIR, FEATURE_SETS_FILE, SHARD_SUFFIX
from components.audio import examples
from components.audio.features import FEATURE_SHAPES


class MissingFeatureError(ValueError):
    """A model reads a feature set that featurize did not compute."""


def write_feature_sets(examples_dir: str, keys: tuple[str, ...]) -> None:
    """Records which feature sets the examples of ``examples_dir`` hold."""
    files.write_json(os.path.join(examples_dir, FEATURE_SETS_FILE), {"feature_sets": list(keys)})


def feature_sets(examples_dir: str) -> tuple[str, ...] | None:
    """The feature sets the examples hold; ``None`` for examples written before the record."""
    path = os.path.join(examples_dir, FEATURE_SETS_FILE)
    if not tf.io.gfile.exists(path):
        return None
    return tuple(files.read_json(path)["feature_sets"])


def require_feature(examples_dir: str, feature: str, model: str) -> None:
    """Checks that the examples hold ``feature``, which ``model`` reads.

    Raises:
        MissingFeatureError: Naming the feature sets featurize computed and how to add one.
    """
    held = feature_sets(examples_dir)
    if held is not None and feature not in held:
        raise MissingFeatureError(
            f"{model} reads the feature set {feature}, which featurize did not compute "
            f"(it computed {', '.join(held)}): add {feature} to the pipeline's feature_sets "
            "(featurize --feature-set)"
        )


def split_files(examples_dir: str, split: str) -> list[str]:
    """The shard files of one split, sorted.

    Raises:
        FileNotFoundError: If the split has no shard.
    """
    pattern = os.path.join(examples_dir, EXAMPLES_DIR, split, f"*{SHARD_SUFFIX}")
    files = sorted(tf.io.gfile.glob(pattern))
    if not files:
        raise FileNotFoundError(f"no TFRecord shard matches {pattern}")
    return files


def records(
    examples_dir: str, split: str, *, shuffle: bool = False, seed: int = 0
) -> tf.data.Dataset:
    """The serialized examples of one split, interleaved over up to four shards at a time.

    Args:
        examples_dir: Featurize output directory (holding ``examples/<split>/``).
        split: ``train``, ``validation`` or ``test``.
        shuffle: Shuffle the shard order each epoch (deterministically from ``seed``).
        seed: Seed of the shard shuffle.
    """
    files = split_files(examples_dir, split)
    paths = tf.data.Dataset.from_tensor_slices(files)
    if shuffle:
        paths = paths.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    return paths.interleave(
        lambda path: tf.data.TFRecordDataset(path, compression_type="GZIP"),
        cycle_length=min(4, len(files)),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )


@dataclass(frozen=True)
class SplitArrays:
    """A split's examples as arrays, in shard order.

    Attributes:
        clip_ids: Each example's clip.
        source_ids: Each example's recording (shared by its clips and their augmented copies).
        x: ``[n, d]`` feature values.
        y: ``[n]`` labels.
    """

    clip_ids: list[str]
    source_ids: list[str]
    x: np.ndarray
    y: np.ndarray


def load_arrays(examples_dir: str, split: str, feature: str) -> SplitArrays:
    """Loads a whole split of a small (1-D) feature.

    Raises:
        ValueError: For image features, which must be streamed.
    """
    if len(FEATURE_SHAPES[feature]) != 1:
        raise ValueError(f"{feature} is an image; stream it with records() instead")
    full = examples.feature_spec()
    spec = {
        key: full[key] for key in (examples.CLIP_ID, examples.SOURCE_ID, examples.LABEL, feature)
    }
    parsed = (
        records(examples_dir, split)
        .batch(512)
        .map(
            lambda batch: tf.io.parse_example(batch, spec),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
    )
    ids, sources, xs, ys = [], [], [], []
    for batch in parsed.as_numpy_iterator():
        xs.append(batch[feature].reshape(-1, *FEATURE_SHAPES[feature]))
        ys.append(batch[examples.LABEL])
        ids.extend(clip_id.decode() for clip_id in batch[examples.CLIP_ID])
        sources.extend(source_id.decode() for source_id in batch[examples.SOURCE_ID])
    return SplitArrays(ids, sources, np.concatenate(xs), np.concatenate(ys))
