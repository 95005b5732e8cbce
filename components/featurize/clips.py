"""Beam DoFns that turn manifest records into raw feature examples, one clip at a time.

``DecodeClip`` decodes a clip (local or ``gs://``) with ``decode.decode_file``, which checks the
file's size, header and declared length against ``decode.DecodeLimits`` before decoding and then
keeps only the mono samples that the 5 s clip needs, reading the rest block by block for the
clip's statistics; it applies the rebalance step's augmentation when the record asks for it.
Anything unusable, whatever the decoder raised, leaves through the ``dead_letter`` output with
its reason, and facts about every good clip (duration, rate, loudness...) leave through
``clip_stats``, so one hostile file never fails the job.
``ComputeFeatures`` prepares (resample, pad/trim) and featurizes a batch of clips with the shared
``Featurizer`` (the feature sets the pipeline asks for) in one graph call: a TF function call
costs ~0.6 ms here, as much as resampling a clip. Both DoFns hold no state beyond a compiled TF
function (one a process, with the backbones' weights), so memory stays flat however many clips
and jobs flow through.
"""

import functools
import logging
import math

import apache_beam as beam
import numpy as np
import tensorflow as tf

from components.artifacts.manifest import source_of
from components.artifacts.names import CLIP_STATS, DEAD_LETTER
from components.audio import examples, waveform
from components.audio.decode import DEFAULT_LIMITS, AudioDecodeError, DecodeLimits, decode_file
from components.audio.featurizer import Featurizer
from components.featurize.progress import ClipCounter

# Augmentation (pitch shift, noise) sees at most this much of a clip, FSD50K's longest: enough for
# any clip of the study, and bounded memory for a long recording.
AUGMENT_MAX_SECONDS = 30


def clip_stats(record: dict, decoded, mono: np.ndarray | None = None) -> dict:
    """Facts about a decoded clip before pad/trim, for slicing the evaluation.

    Loudness is the whole file's (accumulated while decoding), or that of ``mono`` when given
    (an augmented copy).
    """
    if mono is None:
        rms, peak = decoded.rms, decoded.peak
    else:
        rms = float(np.sqrt(np.mean(np.square(mono, dtype=np.float64))))
        peak = float(np.max(np.abs(mono)))
    return {
        "clip_id": record["clip_id"],
        "split": record["split"],
        "duration_s": round(decoded.duration_s, 4),
        "sample_rate": decoded.sample_rate,
        "channels": decoded.channels,
        "subtype": decoded.subtype,
        "padded": decoded.duration_s < waveform.CLIP_SECONDS,
        "trimmed": decoded.duration_s > waveform.CLIP_SECONDS,
        "rms_dbfs": round(20 * math.log10(max(rms, 1e-10)), 2),
        "peak": round(peak, 5),
    }


class DecodeClip(beam.DoFn):
    """Manifest record → ``{clip_id, label, split, samples, sample_rate}``, or ``dead_letter``.

    ``samples`` is the mono waveform at its own rate, cut to what the 5 s clip needs.
    """

    def __init__(self, limits: DecodeLimits = DEFAULT_LIMITS):
        super().__init__()
        self._limits = limits

    def setup(self) -> None:
        """Starts the progress count (``progress.py``)."""
        self._progress = ClipCounter()

    def process(self, record: dict):
        """Yields the decoded clip and its stats, or a tagged dead-letter record."""
        spec = record.get("augment")
        keep = _augment_frames if spec else waveform.samples_needed
        self._progress.count()
        try:
            decoded = decode_file(record.get("uri"), keep, self._limits)
        except AudioDecodeError as error:
            yield self._reject(record, error.reason, error.detail)
            return
        mono, augmented = decoded.mono(), None
        if spec:
            from components.audio import augment  # only oversampled training copies

            mono = augmented = augment.apply(mono, decoded.sample_rate, spec)
        yield beam.pvalue.TaggedOutput(CLIP_STATS, clip_stats(record, decoded, augmented))
        beam.metrics.Metrics.counter("featurize", f"clips_{record['split']}").inc()
        yield {
            "clip_id": record["clip_id"],
            "source_id": source_of(record),
            "label": int(record["label_index"]),
            "split": record["split"],
            "samples": mono[: waveform.samples_needed(decoded.sample_rate)],
            "sample_rate": decoded.sample_rate,
        }

    @staticmethod
    def _reject(record: dict, reason: str, detail: str):
        beam.metrics.Metrics.counter("featurize", f"dead_letter_{reason}").inc()
        logging.warning("featurize: dead-letter %s (%s: %s)", record.get("clip_id"), reason, detail)
        return beam.pvalue.TaggedOutput(
            DEAD_LETTER,
            {
                "clip_id": record.get("clip_id"),
                "uri": record.get("uri"),
                "split": record.get("split"),
                "reason": reason,
                "detail": detail,
            },
        )


def _augment_frames(sample_rate: int) -> int:
    return max(waveform.samples_needed(sample_rate), AUGMENT_MAX_SECONDS * sample_rate)


@functools.cache
def compiled(keys: tuple[str, ...]) -> tf.types.experimental.PolymorphicFunction:
    """Preparation + ``Featurizer(keys)`` as one TF function, built once per process.

    Every Beam job (and every DoFn instance) of a process shares it: a new function would load
    the trunk again, and its first call instantiates the graph (the rate branches, mn04's trunk),
    a transient measured at 70-280 MB that each job would pay again on top of the last one's
    leftovers.
    """
    featurizer = Featurizer(keys)
    return tf.function(
        lambda monos, rates: featurizer(waveform.prepare_batch(monos, rates)),
        input_signature=[
            tf.RaggedTensorSpec([None, None], tf.float32, ragged_rank=1),
            tf.TensorSpec([None], tf.int32),
        ],
    )


class ComputeFeatures(beam.DoFn):
    """Batch of decoded clips → ``(split, serialized raw tf.train.Example)`` per clip."""

    def __init__(self, keys: tuple[str, ...]):
        """Computes the feature sets ``keys``."""
        super().__init__()
        self._keys = keys

    def setup(self) -> None:
        """Takes the process's preparation + featurizer function for ``keys`` (``compiled``)."""
        self._compute = compiled(self._keys)

    def process(self, batch: list[dict]):
        """Yields one keyed example per clip of the batch."""
        monos = tf.RaggedTensor.from_row_lengths(
            np.concatenate([clip["samples"] for clip in batch]).astype(np.float32, copy=False),
            np.array([clip["samples"].size for clip in batch], np.int64),
        )
        computed = self._compute(monos, np.array([c["sample_rate"] for c in batch], np.int32))
        computed = {key: value.numpy() for key, value in computed.items()}
        for row, clip in enumerate(batch):
            values = {key: values[row] for key, values in computed.items()}
            yield (
                clip["split"],
                examples.encode(clip["clip_id"], clip["source_id"], clip["label"], values),
            )
