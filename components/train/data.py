"""Training input: streaming ``tf.data`` pipelines over the featurizer's transformed TFRecords.

Reads ``<examples_dir>/examples/<split>/*.tfrecord.gz`` (GZIP, already scaled by the
tf.Transform graph, so training sees exactly what the transform graph gives serving), parses
only the requested feature with ``components.audio.examples.feature_spec()``, reshapes it to
``FEATURE_SHAPES`` (plus a channel axis for images) and one-hot encodes the label. Records
stream from disk through a bounded shuffle buffer, so memory does not grow with the dataset:
shards are read in parallel (interleaved), batches parsed in parallel and prefetched, so a GPU
is not kept waiting. With ``cache`` the decoded examples of the first epoch stay in memory
and later epochs skip reading, decompressing and parsing (memory then grows with the split:
~110 KB per log-mel example). The shard layout and the record stream are the contract's
(``components.artifacts.shards``).
"""

import numpy as np
import tensorflow as tf

from components.artifacts import shards
from components.audio import examples
from components.audio.features import FEATURE_SHAPES
from components.audio.labels import NUM_CLASSES

_PARSE_BATCH = 256


def _parser(feature: str, channel_axis: bool):
    full = examples.feature_spec()
    spec = {key: full[key] for key in (examples.CLIP_ID, examples.LABEL, feature)}
    shape = FEATURE_SHAPES[feature] + (
        (1,) if channel_axis and len(FEATURE_SHAPES[feature]) > 1 else ()
    )

    def parse(records: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        parsed = tf.io.parse_example(records, spec)
        x = tf.reshape(parsed[feature], (-1, *shape))
        y = tf.one_hot(parsed[examples.LABEL], NUM_CLASSES)
        return x, y, parsed[examples.CLIP_ID]

    return parse


def dataset(
    examples_dir: str,
    split: str,
    feature: str,
    batch_size: int,
    *,
    shuffle: bool = False,
    shuffle_buffer: int = 1024,
    seed: int = 0,
    with_ids: bool = False,
    channel_axis: bool = True,
    cache: bool = False,
) -> tf.data.Dataset:
    """Batches of ``(features, one_hot_labels)`` (or ``+ clip_ids``) streamed from one split.

    Args:
        examples_dir: Featurize output directory (holding ``examples/<split>/``).
        split: ``train``, ``validation`` or ``test``.
        feature: ``log_mel``, ``mfcc`` or ``mean_mfcc``.
        batch_size: Examples per batch (the last batch may be smaller).
        shuffle: Shuffle shard order and examples (training); off keeps file order.
        shuffle_buffer: Examples held by the shuffle buffer — the memory bound.
        seed: Shuffle seed; each epoch reshuffles deterministically from it.
        with_ids: Also yield the clip ids (for writing predictions).
        channel_axis: Append a channel axis to 2-D features (CNN input).
        cache: Keep the decoded examples in memory after the first epoch (the shard order and
            the shuffle buffer's input are then the first epoch's; the buffer still reshuffles).

    Returns:
        A prefetching ``tf.data.Dataset``.
    """
    records = shards.records(examples_dir, split, shuffle=shuffle, seed=seed)
    parse = _parser(feature, channel_axis)
    if cache:  # parse once, in large batches, then batch the decoded examples
        decoded = records.batch(_PARSE_BATCH).map(
            parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
        )
        cached = decoded.unbatch().cache()
        if shuffle:
            cached = cached.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
        parsed = cached.batch(batch_size)
    else:
        if shuffle:
            records = records.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
        parsed = records.batch(batch_size).map(
            parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
        )
    if not with_ids:
        parsed = parsed.map(lambda x, y, ids: (x, y))
    return parsed.prefetch(tf.data.AUTOTUNE)


def class_counts(examples_dir: str, split: str = "train") -> np.ndarray:
    """Examples per class in one split, counted by streaming the labels."""
    spec = {examples.LABEL: examples.feature_spec()[examples.LABEL]}
    labels = (
        shards.records(examples_dir, split)
        .batch(512)
        .map(lambda records: tf.io.parse_example(records, spec)[examples.LABEL])
    )
    counts = np.zeros(NUM_CLASSES, dtype=np.int64)
    for batch in labels.as_numpy_iterator():
        counts += np.bincount(batch, minlength=NUM_CLASSES)
    return counts


def class_weights(counts: np.ndarray) -> dict[int, float]:
    """Inverse-frequency weights ``total / (classes_present * count)`` for present classes."""
    present = counts > 0
    total, n_present = float(counts.sum()), int(present.sum())
    return {int(i): total / (n_present * float(counts[i])) for i in np.flatnonzero(present)}
