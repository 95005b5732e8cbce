"""featurize: manifest → sharded TFRecords of scaled log-mel, MFCC, mean-MFCC, and a dead letter.

Two Beam pipelines run back to back with the same runner and options. The first streams every
manifest record through decode → mono → 22,050 Hz → 5 s → features (``clips.py``) and writes raw
example shards per split (uncompressed: they are read back once and deleted, and gzip would cost
more CPU per clip than reading them), ``clip_stats.jsonl`` and ``dead_letter.jsonl``; bad clips are
reported there and the job continues. The second analyses the raw training shards with tf.Transform
(``transform.py``), writes the transform graph and the transformed shards of every split (GZIP,
``gzip_shards.py``). Splitting the work at files means no stage ever holds the dataset: each read
streams from disk and the analysers are combiners. Runner and options pass straight through, so the
same code runs on FnApiRunner here and on Dataflow, Flink or Spark (``--beam-arg`` flags); a local
runner gets one worker thread per usable core unless told otherwise (``local_workers.py``: threads
of this process, so both pipelines pay TensorFlow's start-up once), a remote one runs the project
image and gets only URIs its workers can open (``remote.py``): every input, output and
tf.Transform's scratch folder lies under the given locations, so on ``gs://`` nothing touches the
local disk. Before an EXTERNAL worker pool (or a PROCESS environment) gets the jobs, a one-element
check job proves it starts workers that import the project, within a deadline (``worker_check.py``).
The two pipelines are built by ``featurize_pipeline`` and ``transform_pipeline``, so a runner's
job graph can be inspected without running it (a Dataflow dry run, see ``docs/runners.md``).
Each pass's wall time, its transforms' worker-seconds and the DoFns' own timings (``timings.py``)
are returned in ``FeaturizeResult.timings`` and written to the report.
"""

import dataclasses
import json
import logging
import os
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

import apache_beam as beam
import tensorflow as tf
import tensorflow_transform.beam as tft_beam
from apache_beam.options.pipeline_options import PipelineOptions, TestOptions

from components.artifacts import files, shards
from components.artifacts.names import (
    CLIP_STATS,
    DEAD_LETTER,
    DEAD_LETTER_FILE,
    EXAMPLES_DIR,
    SPLITS,
    TRANSFORM_GRAPH_DIR,
)
from components.audio import feature_sets
from components.audio.featurizer import weight_files
from components.featurize import (
    clips,
    local_workers,
    outputs,
    progress,
    remote,
    timings,
    transform,
    worker_check,
)
from components.featurize.config import FeaturizeConfig

RAW_DIR = outputs.RAW_DIR
RAW_SUFFIX = outputs.RAW_SUFFIX
TRANSFORM_SCRATCH = "beam-temp-transform"  # under a remote output; cleared like Beam's own


@dataclass(frozen=True, kw_only=True)
class FeaturizeResult:
    """Counts of what the featurization produced."""

    clips_per_split: dict[str, int]
    dead_letter_per_reason: dict[str, int]
    seconds: float
    output_dir: str
    transform_graph_dir: str
    dead_letter_examples: list[dict] = field(default_factory=list)
    feature_sets: list[str] = field(default_factory=list)
    pretrained: list[dict] = field(default_factory=list)
    timings: dict[str, dict] = field(default_factory=dict)

    @property
    def dead_letter_total(self) -> int:
        """Clips that could not be featurized."""
        return sum(self.dead_letter_per_reason.values())

    def summary(self) -> dict:
        """JSON-serialisable summary for logs and KFP metadata."""
        return {**asdict(self), "dead_letter_total": self.dead_letter_total}


def _read_manifest(pipeline: beam.Pipeline, manifest_path: str) -> beam.PCollection:
    return (
        pipeline
        | "ReadManifest" >> beam.io.ReadFromText(manifest_path)
        | "ParseManifest" >> beam.Map(json.loads)
        # Spread clips over workers: a single small manifest file is otherwise one bundle.
        | "Distribute" >> beam.Reshuffle()
    )


def build_featurize(pipeline: beam.Pipeline, manifest_path: str, output_dir: str, cfg) -> None:
    """Attaches decode → features → raw shards, clip stats and dead letter to ``pipeline``."""
    decoded = _read_manifest(pipeline, manifest_path) | "Decode" >> beam.ParDo(
        clips.DecodeClip()
    ).with_outputs(DEAD_LETTER, CLIP_STATS, main="clips")
    keyed = (
        decoded.clips
        # Fixed batches: adaptive ones (from 1 clip up) averaged 2.3 clips, each paying the
        # featurizer's per-call costs (timings' batch_clips).
        | "Batch"
        >> beam.BatchElements(min_batch_size=cfg.batch_size, max_batch_size=cfg.batch_size)
        | "Features" >> beam.ParDo(clips.ComputeFeatures(cfg.feature_sets, _tf_threads(cfg)))
    )
    by_split = keyed | "BySplit" >> beam.Partition(lambda kv, _: SPLITS.index(kv[0]), len(SPLITS))
    for split, examples in zip(SPLITS, by_split, strict=True):
        _ = (
            examples
            | f"Values{split}" >> beam.Values()
            | f"WriteRaw{split}"
            >> beam.io.WriteToTFRecord(
                os.path.join(output_dir, RAW_DIR, split, "part"), file_name_suffix=RAW_SUFFIX
            )
        )
    for tag in (DEAD_LETTER, CLIP_STATS):  # <tag>.jsonl
        _ = (
            decoded[tag]
            | f"Json{tag}" >> beam.Map(json.dumps, sort_keys=True)
            | f"Write{tag}"
            >> beam.io.WriteToText(
                os.path.join(output_dir, tag), file_name_suffix=".jsonl", shard_name_template=""
            )
        )


def beam_args(cfg: FeaturizeConfig) -> tuple[str, ...]:
    """The Beam options both pipelines get: the caller's, plus local cores or a worker image."""
    args = local_workers.local_beam_args(cfg.runner, cfg.beam_args, local_workers.usable_cores())
    return remote.container_args(cfg.runner, args, cfg.sdk_container_image)


def _pipeline(cfg: FeaturizeConfig) -> beam.Pipeline:
    return beam.Pipeline(options=PipelineOptions([f"--runner={cfg.runner}", *beam_args(cfg)]))


def featurize_pipeline(manifest_path: str, output_dir: str, cfg: FeaturizeConfig) -> beam.Pipeline:
    """The first pipeline, built and not run: manifest → raw shards, clip stats, dead letter."""
    pipeline = _pipeline(cfg)
    build_featurize(pipeline, manifest_path, output_dir, cfg)
    return pipeline


def transform_pipeline(
    output_dir: str, transform_graph_dir: str, cfg: FeaturizeConfig, scratch: str
) -> beam.Pipeline:
    """The second pipeline, built and not run: tf.Transform over the first one's raw shards.

    ``scratch`` is tf.Transform's temporary folder (``_transform_scratch``).
    """
    raw_patterns = {
        split: os.path.join(output_dir, RAW_DIR, split, f"*{RAW_SUFFIX}") for split in SPLITS
    }
    prefixes = {split: os.path.join(output_dir, EXAMPLES_DIR, split, "part") for split in SPLITS}
    pipeline = _pipeline(cfg)
    with tft_beam.Context(temp_dir=scratch):
        transform.build(
            pipeline,
            raw_patterns,
            prefixes,
            transform_graph_dir,
            cfg.num_shards,
            cfg.feature_sets,
        )
    return pipeline


def _run_to_end(pipeline: beam.Pipeline) -> beam.runners.runner.PipelineResult:
    """Runs ``pipeline`` and waits, as ``with beam.Pipeline()`` does.

    The ``with`` also stops what the runner started for this pipeline (a Flink or Spark job
    server that ``FlinkRunner`` or ``SparkRunner`` launched) once it has finished.
    """
    with pipeline:
        pass
    return pipeline.result


def use_worker_thread_pools(cfg: FeaturizeConfig) -> None:
    """Sizes this process's TF pools for ``cfg``'s local worker threads, if it runs them.

    ``local_workers.worker_thread_pools``; TF fixes its pools at its first op, so a process that
    will featurize calls this before running anything else (the component and the CLI do). A
    process that then goes on to other TF work keeps these pools.
    """
    pools = local_workers.worker_thread_pools(
        cfg.runner, cfg.beam_args, local_workers.usable_cores()
    )
    if pools is not None:
        local_workers.set_tf_threads(*pools)


def _tf_threads(cfg: FeaturizeConfig) -> int:
    return local_workers.tf_threads(cfg.runner, cfg.beam_args, local_workers.usable_cores())


@contextmanager
def _transform_scratch(output_dir: str):
    """tf.Transform's temporary folder: local, or under a remote output for remote workers."""
    if not remote.is_remote(output_dir):
        with tempfile.TemporaryDirectory() as scratch:
            yield scratch
        return
    scratch = os.path.join(output_dir, TRANSFORM_SCRATCH)
    try:
        yield scratch
    finally:
        if tf.io.gfile.exists(scratch):
            tf.io.gfile.rmtree(scratch)


def _count_records(manifest_path: str) -> int:
    """The manifest's records (one per non-empty line)."""
    with tf.io.gfile.GFile(manifest_path) as lines:
        return sum(1 for line in lines if line.strip())


def _counters(result: beam.runners.runner.PipelineResult, prefix: str) -> dict[str, int]:
    query = result.metrics().query(beam.metrics.MetricsFilter().with_namespace("featurize"))
    counts: dict[str, int] = {}
    for counter in query["counters"]:
        name = counter.key.metric.name
        if name.startswith(prefix):
            key = name[len(prefix) :]
            counts[key] = counts.get(key, 0) + int(counter.committed or counter.attempted or 0)
    return counts


def run(
    manifest_path: str,
    output_dir: str,
    cfg: FeaturizeConfig = FeaturizeConfig(),
    transform_graph_dir: str | None = None,
) -> FeaturizeResult:
    """Featurizes every clip of a manifest.

    Args:
        manifest_path: ``manifest.jsonl`` written by ingest (or rebalance).
        output_dir: Receives ``examples/<split>/part-*.tfrecord.gz``, ``clip_stats.jsonl``,
            ``dead_letter.jsonl`` and ``featurize_report.json``.
        cfg: Runner and sharding options.
        transform_graph_dir: Where the tf.Transform graph goes (default
            ``<output_dir>/transform_graph``).

    Returns:
        Counts per split and per dead-letter reason.

    Raises:
        ValueError: If no training clip could be featurized (nothing to fit scaling on).
        FileExistsError: If an output directory holds files featurize does not write (its own
            earlier outputs are cleared, see ``outputs.py``).
        ValueError: Also if the runner's workers cannot reach a location (``remote.py``), or
            for ``--dry_run``.
        worker_check.WorkerStartError: If an EXTERNAL worker pool (or PROCESS environment)
            starts no worker that runs the project within ``cfg.worker_start_timeout_s``.
    """
    started = time.monotonic()
    if PipelineOptions(list(cfg.beam_args)).view_as(TestOptions).dry_run:
        raise ValueError(
            "featurize cannot be a --dry_run: its second job reads the first one's output "
            "(build the job graphs with featurize_pipeline and transform_pipeline instead)"
        )
    cfg = dataclasses.replace(cfg, feature_sets=feature_sets.check(cfg.feature_sets))
    transform_graph_dir = transform_graph_dir or os.path.join(output_dir, TRANSFORM_GRAPH_DIR)
    remote.check_reachable(cfg.runner, (manifest_path, output_dir, transform_graph_dir))
    if worker_check.checked_environment(cfg.runner, args := beam_args(cfg)):  # before clearing
        worker_check.check_workers(cfg.runner, args, cfg.worker_start_timeout_s)
    outputs.clear_all(output_dir, transform_graph_dir)  # no shard of an earlier run survives
    total = _count_records(manifest_path)
    logging.info("featurize: %d clips of %s, with %s", total, manifest_path, cfg.runner)
    first_started = time.monotonic()
    with progress.watching(total):
        first = _run_to_end(featurize_pipeline(manifest_path, output_dir, cfg))
    passes = {"featurize": timings.summarize(first, time.monotonic() - first_started)}
    clips_per_split = {split: _counters(first, "clips_").get(split, 0) for split in SPLITS}
    dead_letter = _counters(first, "dead_letter_")
    logging.info(
        "featurize: %d clips featurized %s, %d dead-lettered %s",
        sum(clips_per_split.values()),
        clips_per_split,
        sum(dead_letter.values()),
        dead_letter,
    )
    if clips_per_split["train"] == 0:
        raise ValueError(
            f"no training clip could be featurized ({dead_letter or 'empty manifest'}); "
            f"see {os.path.join(output_dir, DEAD_LETTER_FILE)}"
        )
    logging.info("featurize: fitting tf.Transform on %d training clips", clips_per_split["train"])
    second_started = time.monotonic()
    with _transform_scratch(output_dir) as scratch:
        second = _run_to_end(transform_pipeline(output_dir, transform_graph_dir, cfg, scratch))
    passes["transform"] = timings.summarize(second, time.monotonic() - second_started)
    if not cfg.keep_raw:
        tf.io.gfile.rmtree(os.path.join(output_dir, RAW_DIR))
    result = FeaturizeResult(
        clips_per_split=clips_per_split,
        dead_letter_per_reason=dead_letter,
        seconds=round(time.monotonic() - started, 2),
        output_dir=output_dir,
        transform_graph_dir=transform_graph_dir,
        dead_letter_examples=files.read_jsonl(os.path.join(output_dir, DEAD_LETTER_FILE))[:20],
        feature_sets=list(cfg.feature_sets),
        pretrained=weight_files(cfg.feature_sets),
        timings=passes,
    )
    shards.write_feature_sets(output_dir, cfg.feature_sets)
    files.write_json(os.path.join(output_dir, outputs.REPORT_FILE), result.summary())
    return result
