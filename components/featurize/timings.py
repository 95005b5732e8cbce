"""Where a featurize run's time went, read from the Beam job's own metrics.

The DoFns time their work and report it as Beam distributions in the ``featurize`` namespace,
in microseconds (``record``): ``decode_us`` per clip (read, decode, clip statistics), per batch
``resample_us`` (to 22,050 Hz and 5 s), ``features_us`` (every feature set, pretrained trunks
included) and ``encode_us`` (``tf.Example`` serialization) with ``batch_clips``, the clips of each
featurizer call; once per worker process ``worker_start_us`` (from the process's start to its
first batch's examples; none for the local default's worker threads, which run in the process that
built the job), and per feature DoFn instance ``setup_us``, building the featurizer (once per
process: later instances take it ready), and ``first_batch_us``, running the first batch (tracing
included); and ``encode_transformed_us`` per record batch of the
transform pass. Runners that report Beam's per-transform execution time (FnApiRunner here;
Dataflow shows the same in its console) add the worker-seconds of every top-level transform,
the splits' copies of a transform summed (``WriteRaw`` for ``WriteRawtrain`` ...). ``summarize``
turns a finished pipeline into the plain dict that ``featurize_report.json`` carries and
``benchmarks/featurize.py`` prints.
"""

import os
import time
from collections import Counter

import apache_beam as beam
from apache_beam.metrics import monitoring_infos

from components.artifacts.names import SPLITS

NAMESPACE = "featurize"
_EXECUTION_MSECS = frozenset(
    {
        monitoring_infos.START_BUNDLE_MSECS_URN,
        monitoring_infos.PROCESS_BUNDLE_MSECS_URN,
        monitoring_infos.FINISH_BUNDLE_MSECS_URN,
    }
)


def record(name: str, seconds: float) -> None:
    """Adds ``seconds`` to the distribution ``name`` (stored in whole microseconds)."""
    beam.metrics.Metrics.distribution(NAMESPACE, name).update(int(seconds * 1e6))


def process_age_s() -> float | None:
    """Seconds since this process started (Linux ``/proc``); ``None`` where unknown."""
    try:
        with open("/proc/self/stat", encoding="ascii") as handle:
            # the fields after the command name (which may hold spaces), from field 3 on
            fields = handle.read().rsplit(")", 1)[1].split()
        with open("/proc/stat", encoding="ascii") as handle:
            boot = next(int(line.split()[1]) for line in handle if line.startswith("btime "))
    except (OSError, StopIteration, IndexError, ValueError):
        return None
    started = boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime
    return max(0.0, time.time() - started)


def _stage(label: str) -> str:
    """A transform's top-level label without its split (``WriteRawtrain`` → ``WriteRaw``)."""
    top = label.split("/", 1)[0]
    for split in SPLITS:
        if top.endswith(split) and len(top) > len(split):
            return top[: -len(split)]
    return top


def transform_seconds(result: beam.runners.runner.PipelineResult) -> dict[str, float]:
    """Worker-seconds per top-level transform, largest first; empty if the runner has none."""
    infos = getattr(result, "monitoring_infos", None)
    if infos is None:
        return {}
    msecs: Counter[str] = Counter()
    for info in infos():
        if info.urn in _EXECUTION_MSECS and "PTRANSFORM" in info.labels:
            msecs[_stage(info.labels["PTRANSFORM"])] += monitoring_infos.extract_counter_value(info)
    return {stage: round(ms / 1000, 2) for stage, ms in msecs.most_common() if ms}


def distributions(result: beam.runners.runner.PipelineResult) -> dict[str, dict[str, float]]:
    """The DoFns' timings: ``{name: {count, total_s, mean_ms, max_ms}}`` (sizes unscaled)."""
    query = result.metrics().query(beam.metrics.MetricsFilter().with_namespace(NAMESPACE))
    summed: dict[str, list[int]] = {}
    for metric in query["distributions"]:
        value = metric.committed or metric.attempted
        if value is None or not value.count:
            continue
        total = summed.setdefault(metric.key.metric.name, [0, 0, 0])
        total[0] += value.count
        total[1] += value.sum
        total[2] = max(total[2], value.max)
    out = {}
    for name, (count, total, largest) in sorted(summed.items()):
        if name.endswith("_us"):
            out[name] = {
                "count": count,
                "total_s": round(total / 1e6, 3),
                "mean_ms": round(total / count / 1e3, 3),
                "max_ms": round(largest / 1e3, 3),
            }
        else:
            out[name] = {"count": count, "total": total, "mean": round(total / count, 2)}
    return out


def summarize(result: beam.runners.runner.PipelineResult, seconds: float) -> dict:
    """One pipeline's wall ``seconds``, its transforms' worker-seconds and the DoFns' timings."""
    return {
        "seconds": round(seconds, 2),
        "transforms_s": transform_seconds(result),
        "dofns": distributions(result),
    }
