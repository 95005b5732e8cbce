"""The ``tf.train.Example`` schema of featurized clips and its encoder.

Raw examples (featurizer output, before tf.Transform) and transformed examples (after scaling)
share one layout: ``clip_id``, ``source_id`` (the recording it came from, which every clip and
augmented copy of that recording shares), ``label``, and the feature sets featurize computed
(``feature_sets.py``; spectral images flattened row-major, bands × frames). Training input, the
transform graph and the serving signature all take their feature spec from here.
"""

from collections.abc import Iterable, Sequence

import numpy as np
import pyarrow as pa
import tensorflow as tf
from tfx_bsl.coders import example_coder

from components.audio import feature_sets
from components.audio.features import FEATURE_SHAPES

CLIP_ID = "clip_id"
SOURCE_ID = "source_id"
LABEL = "label"
FEATURE_KEYS: tuple[str, ...] = feature_sets.ALL


def flat_size(key: str) -> int:
    """Number of floats feature ``key`` occupies in an example."""
    return int(np.prod(FEATURE_SHAPES[key]))


def feature_spec(keys: Iterable[str] = FEATURE_KEYS) -> dict[str, tf.io.FixedLenFeature]:
    """Parsing spec of examples holding the feature sets ``keys`` (every one by default)."""
    spec = {
        CLIP_ID: tf.io.FixedLenFeature([], tf.string),
        SOURCE_ID: tf.io.FixedLenFeature([], tf.string),
        LABEL: tf.io.FixedLenFeature([], tf.int64),
    }
    spec.update({key: tf.io.FixedLenFeature([flat_size(key)], tf.float32) for key in keys})
    return spec


def encode_batch(
    clip_ids: Sequence[str],
    source_ids: Sequence[str],
    labels: Sequence[int],
    features: dict[str, np.ndarray],
) -> list[bytes]:
    """Serializes a batch of clips as ``tf.train.Example``s, one per row of ``features``' arrays.

    ``features`` maps each feature set to ``[batch, ...]`` float32 rows (flattened here). The
    rows become an Arrow record batch without a copy, which tfx_bsl's C++ encoder (the one the
    transform pass uses) serializes; building the protos in Python cost ~1.3 CPU ms a clip for
    the default feature sets, and held Python's lock while the other worker threads waited.
    """
    columns = {
        CLIP_ID: pa.array([[clip_id.encode()] for clip_id in clip_ids], pa.list_(pa.binary())),
        SOURCE_ID: pa.array([[source.encode()] for source in source_ids], pa.list_(pa.binary())),
        LABEL: pa.array([[int(label)] for label in labels], pa.list_(pa.int64())),
    }
    for key in feature_sets.check(features):
        rows = np.asarray(features[key], dtype=np.float32).reshape(len(labels), -1)
        offsets = np.arange(0, rows.size + 1, rows.shape[1], dtype=np.int32)
        columns[key] = pa.ListArray.from_arrays(offsets, rows.reshape(-1))
    return example_coder.RecordBatchToExamples(pa.RecordBatch.from_pydict(columns))


def encode(clip_id: str, source_id: str, label: int, features: dict[str, np.ndarray]) -> bytes:
    """Serializes one clip's feature sets (every key of ``features``) as a ``tf.train.Example``."""
    rows = {key: np.asarray(values, dtype=np.float32)[None] for key, values in features.items()}
    return encode_batch([clip_id], [source_id], [label], rows)[0]
