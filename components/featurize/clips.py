"""Beam DoFns that turn manifest records into raw feature examples, one clip at a time.

``DecodeClip`` decodes a clip (local or ``gs://``) with ``decode.decode_file``, which checks the
file's size, header and declared length against ``decode.DecodeLimits`` before decoding and then
keeps only the mono samples that the 5 s clip needs, reading the rest block by block for the
clip's statistics; it applies the rebalance step's augmentation when the record asks for it.
Anything unusable, whatever the decoder raised, leaves through the ``dead_letter`` output with
its reason, and facts about every good clip (duration, rate, loudness...) leave through
``clip_stats``, so one hostile file never fails the job.
``ComputeFeatures`` prepares (resample, pad/trim) a batch of clips, the clips of one rate in one
graph call (``waveform.RatePreparer``, traced per rate present), and featurizes them with the
shared ``Featurizer`` (the feature sets the pipeline asks for) in one more: a TF function call
costs ~0.6 ms here, as much as resampling a clip. Both functions are built once per process
(``preparer``, ``compiled``, under one lock: the local runner's worker threads set up at once)
and shared by every Beam job, DoFn instance and worker thread in it, so memory stays flat however
many clips and jobs flow through; it encodes the batch's examples in one call of tfx_bsl's C++
encoder (``examples.encode_batch``). ``ComputeFeatures`` runs TensorFlow on
``tf_threads`` threads (``local_workers.tf_threads``: in a multi-process local run, the cores
divided among the worker processes, so two workers on two cores do not run four busy pools; worker
threads share their process's pools, which ``local_workers.worker_thread_pools`` sizes), and both
DoFns time their work as Beam metrics (``timings.py``).
"""

import functools
import logging
import math
import os
import threading
import time

import apache_beam as beam
import numpy as np
import tensorflow as tf

from components.artifacts.manifest import source_of
from components.artifacts.names import CLIP_STATS, DEAD_LETTER
from components.audio import examples, waveform
from components.audio.decode import DEFAULT_LIMITS, AudioDecodeError, DecodeLimits, decode_file
from components.audio.featurizer import Featurizer
from components.featurize import local_workers, timings
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
        started = time.perf_counter()
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
        stats = clip_stats(record, decoded, augmented)
        timings.record("decode_us", time.perf_counter() - started)
        yield beam.pvalue.TaggedOutput(CLIP_STATS, stats)
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


_BUILDING = threading.Lock()  # worker threads build the process's functions once, not each


@functools.cache
def preparer() -> waveform.RatePreparer:
    """The process's preparation (mono, 22,050 Hz, 5 s), one traced function per rate seen."""
    return waveform.RatePreparer()


@functools.cache
def compiled(keys: tuple[str, ...]) -> tf.types.experimental.PolymorphicFunction:
    """``Featurizer(keys)`` on prepared clips as one TF function, built once per process.

    Every Beam job (and every DoFn instance) of a process shares it: a new function would load
    the trunk again, and its first call instantiates the graph (mn04's trunk), a transient
    measured at 70-280 MB that each job would pay again on top of the last one's leftovers.
    """
    return tf.function(
        Featurizer(keys),
        input_signature=[tf.TensorSpec([None, waveform.CLIP_SAMPLES], tf.float32)],
        autograph=False,  # plain TF ops throughout; converting them tripled the trace (measured)
    )


class ComputeFeatures(beam.DoFn):
    """Batch of decoded clips → ``(split, serialized raw tf.train.Example)`` per clip."""

    def __init__(self, keys: tuple[str, ...], tf_threads: int = 0):
        """Computes the feature sets ``keys`` on ``tf_threads`` TF threads (0: TF's default)."""
        super().__init__()
        self._keys = keys
        self._tf_threads = tf_threads
        self._built_by = os.getpid()  # a worker thread of this process has no start-up of its own

    def setup(self) -> None:
        """Sets TF's threads, takes the process's preparation and featurizer for ``keys``."""
        started = time.perf_counter()
        if self._tf_threads:  # one op at a time per worker process, on its share of the cores
            local_workers.set_tf_threads(self._tf_threads, 1)
        with _BUILDING:
            self._prepare = preparer()
            self._compute = compiled(self._keys)
        self._setup_s = time.perf_counter() - started
        self._batches = 0

    def start_bundle(self) -> None:
        """Counts the clips of this bundle."""
        self._bundle_clips = 0

    def process(self, batch: list[dict]):
        """Yields one keyed example per clip of the batch."""
        started = time.perf_counter()
        prepared = self._prepare([c["samples"] for c in batch], [c["sample_rate"] for c in batch])
        prepared_at = time.perf_counter()
        computed = {key: value.numpy() for key, value in self._compute(prepared).items()}
        computed_at = time.perf_counter()
        records = examples.encode_batch(
            [clip["clip_id"] for clip in batch],
            [clip["source_id"] for clip in batch],
            [clip["label"] for clip in batch],
            computed,
        )
        encoded = [(clip["split"], record) for clip, record in zip(batch, records, strict=True)]
        finished = time.perf_counter()
        timings.record("resample_us", prepared_at - started)
        timings.record("features_us", computed_at - prepared_at)
        timings.record("encode_us", finished - computed_at)
        beam.metrics.Metrics.distribution(timings.NAMESPACE, "batch_clips").update(len(batch))
        self._bundle_clips += len(batch)
        if not self._batches:
            timings.record("setup_us", self._setup_s)
            timings.record("first_batch_us", finished - started)
            age = timings.process_age_s() if os.getpid() != self._built_by else None
            if age is not None:
                timings.record("worker_start_us", age)
        self._batches += 1
        yield from encoded

    def finish_bundle(self) -> None:
        """Reports the bundle's size: BatchElements never batches across a bundle's end."""
        beam.metrics.Metrics.distribution(timings.NAMESPACE, "bundle_clips").update(
            self._bundle_clips
        )
