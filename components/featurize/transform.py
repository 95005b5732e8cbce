"""tf.Transform: full-pass feature scaling analysed on the training split only.

The study min-max scaled its spectrogram images to [0, 1] and standardised mean-MFCC. Here those
statistics come from one full pass over the (rebalanced) training examples: one global min/max
for the log-mel image (as an image rescale would), a min/max per coefficient for the MFCC image,
and a per-coefficient mean/variance for mean-MFCC and for the YAMNet and mn04 embeddings (their
dimensions span very different ranges; z-scored, a linear probe fits faster and scores higher,
see ``SCALERS``); mn04's log-mel passes unchanged. Only the feature sets featurize computed are
in the examples, and only they are scaled. The resulting transform graph is applied
unchanged to validation and test here and inside the served model, so nothing computed on
evaluation data leaks into training.
"""

import time

import apache_beam as beam
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import schema_utils
from tfx_bsl.coders import example_coder
from tfx_bsl.public import tfxio

from components.artifacts.names import SHARD_SUFFIX
from components.audio import examples
from components.audio.features import (
    FEATURE_SHAPES,
    LOG_MEL,
    MEAN_MFCC,
    MFCC,
    MN04_EMBEDDING,
    MN04_LOG_MEL,
    YAMNET_EMBEDDING,
)
from components.featurize import timings
from components.featurize.gzip_shards import WriteGzipTFRecord


def scale_rows_to_0_1(flat: tf.Tensor, shape: tuple[int, int]) -> tf.Tensor:
    """Min-max scales each row (band) of flattened ``[rows, columns]`` images separately.

    The minimum and maximum of row ``r`` are taken over every column of every training image.
    """
    rows, columns = shape
    images = tf.reshape(flat, [-1, rows, columns])
    by_row = tf.reshape(tf.transpose(images, [0, 2, 1]), [-1, rows])  # one row per frame
    low = tft.min(by_row, reduce_instance_dims=False)
    high = tft.max(by_row, reduce_instance_dims=False)
    scaled = (images - low[:, None]) / tf.maximum(high - low, 1e-6)[:, None]
    return tf.reshape(scaled, [-1, rows * columns])


def _z_score(flat: tf.Tensor) -> tf.Tensor:
    return tft.scale_to_z_score(flat, elementwise=True)


def _mfcc_rows(flat: tf.Tensor) -> tf.Tensor:
    return scale_rows_to_0_1(flat, FEATURE_SHAPES[MFCC])


# How each feature set is scaled. MFCC is scaled per coefficient: coefficient 0 (overall
# loudness) spans a range an order of magnitude wider than the others, so one global range would
# squash every other coefficient into a sliver of [0, 1] (measured per-pixel std 0.018) and the
# MFCC CNNs could not learn. mn04's log-mel passes unchanged: the network was trained on its
# front end's fixed normalisation.
SCALERS = {
    LOG_MEL: tft.scale_to_0_1,
    MFCC: _mfcc_rows,
    MEAN_MFCC: _z_score,
    YAMNET_EMBEDDING: _z_score,
    MN04_EMBEDDING: _z_score,
    MN04_LOG_MEL: tf.identity,
}


def preprocessing_fn(inputs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """Scales the feature sets the examples hold; ``clip_id``, ``source_id``, ``label`` pass."""
    passed = (examples.CLIP_ID, examples.SOURCE_ID, examples.LABEL)
    outputs = {key: inputs[key] for key in passed}
    outputs.update({key: scale(inputs[key]) for key, scale in SCALERS.items() if key in inputs})
    return outputs


def raw_tfxio(file_pattern: str, keys: tuple[str, ...]) -> tfxio.TFExampleRecord:
    """A TFXIO source over raw example shards holding the feature sets ``keys``."""
    schema = schema_utils.schema_from_feature_spec(examples.feature_spec(keys))
    return tfxio.TFExampleRecord(
        file_pattern=file_pattern, schema=schema, telemetry_descriptors=["featurize"]
    )


def build(
    pipeline: beam.Pipeline,
    raw_patterns: dict[str, str],
    output_prefixes: dict[str, str],
    transform_graph_dir: str,
    num_shards: int,
    keys: tuple[str, ...],
) -> None:
    """Attaches analyse (train) + transform (every split) + write to ``pipeline``.

    Args:
        pipeline: The Beam pipeline, inside a ``tft_beam.Context``.
        raw_patterns: Split name → glob of raw example shards (must contain ``train``).
        output_prefixes: Split name → path prefix for transformed shards.
        transform_graph_dir: Where ``WriteTransformFn`` puts the transform graph.
        num_shards: Shards per split; 0 lets the runner decide (and never buffers a split).
        keys: The feature sets the raw examples hold.
    """
    train_source = raw_tfxio(raw_patterns["train"], keys)
    train_records = pipeline | "ReadTrainForAnalysis" >> train_source.BeamSource()
    transform_fn = (
        train_records,
        train_source.TensorAdapterConfig(),
    ) | "Analyze" >> tft_beam.AnalyzeDataset(preprocessing_fn)
    _ = transform_fn | "WriteTransformGraph" >> tft_beam.WriteTransformFn(transform_graph_dir)
    for split, pattern in raw_patterns.items():
        source = raw_tfxio(pattern, keys)
        records = pipeline | f"Read{split}" >> source.BeamSource()
        transformed, metadata = (
            (records, source.TensorAdapterConfig()),
            transform_fn,
        ) | f"Transform{split}" >> tft_beam.TransformDataset(output_record_batches=True)
        _ = (
            transformed
            | f"Encode{split}" >> beam.ParDo(EncodeRecordBatch(), metadata.schema)
            | f"Write{split}" >> WriteGzipTFRecord(output_prefixes[split], SHARD_SUFFIX, num_shards)
        )


class EncodeRecordBatch(beam.DoFn):
    """Transformed Arrow record batches → serialized ``tf.train.Example``s (C++ encoder)."""

    def setup(self) -> None:
        """No encoder until the schema arrives with the first batch."""
        self._encoder = None

    def process(self, batch_and_passthrough, schema):
        """Yields one serialized example per row of the record batch."""
        if self._encoder is None:
            self._encoder = example_coder.RecordBatchToExamplesEncoder(schema)
        started = time.perf_counter()
        record_batch, _ = batch_and_passthrough
        encoded = self._encoder.encode(record_batch)
        timings.record("encode_transformed_us", time.perf_counter() - started)
        yield from encoded
