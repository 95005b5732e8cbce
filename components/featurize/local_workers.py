"""Beam options that make a local run use every core this process may use.

Beam's local runners (FnApiRunner, DirectRunner) run one worker unless told otherwise, which
leaves all but one core idle. ``local_beam_args`` adds ``--direct_running_mode=multi_threading
--direct_num_workers=<cores>`` for a local runner unless the caller set either option
(``--direct_num_workers=1`` restores one worker, ``--direct_running_mode=multi_processing`` one
process per worker). Threads, not processes: the featurizer's work is TensorFlow ops, which run
outside Python's lock, so worker threads in this process use every core while paying the start-up
(importing TensorFlow, loading the pretrained trunks, tracing the featurizer) once, and not once
per worker process and pipeline (docs/benchmarks.md). Cores are the CPUs the scheduler allows
this process, capped by a cgroup v2 CPU quota (a Kubernetes CPU limit), so a pod limited to 2
CPUs on a 64-core node starts 2 workers, not 64. Remote runners (Dataflow, Flink, Spark) get the
arguments unchanged. ``tf_threads`` gives each worker process of a multi-process run its share
of the cores for TensorFlow: left at TF's default, every one of two worker processes on two cores
starts a pool of two busy threads, and the four fight over the two cores. Worker threads share
their process's pools, which ``worker_thread_pools`` sizes for them: one thread per op and as
many ops at once as there are workers, so two workers do not each split every op over both cores
and wait on each other's pieces (measured: 4,000 real clips in 42.8 and 41.8 s against 49.8 and
43.8 s with TF's default, alternated). A process sets its pools before its first TF op, so the
featurize component and command set them (``core.use_worker_thread_pools``) before the job.
"""

import logging
import math
import os
from collections.abc import Sequence

import tensorflow as tf
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions

LOCAL_RUNNERS = frozenset({"FnApiRunner", "DirectRunner", "BundleBasedDirectRunner"})
_CPU_MAX = "/sys/fs/cgroup/cpu.max"


def usable_cores(cpu_max_path: str = _CPU_MAX) -> int:
    """CPUs this process may use: its affinity, capped by a cgroup v2 quota if there is one."""
    cores = len(os.sched_getaffinity(0))
    try:
        with open(cpu_max_path, encoding="ascii") as handle:
            quota, period = handle.read().split()[:2]
    except (OSError, ValueError):
        return cores
    if quota == "max":
        return cores
    return max(1, min(cores, math.ceil(int(quota) / int(period))))


def local_beam_args(runner: str, beam_args: Sequence[str], cores: int) -> tuple[str, ...]:
    """``beam_args`` plus options for ``cores`` worker threads on a local runner."""
    chosen = any(
        arg.startswith(("--direct_running_mode", "--direct_num_workers")) for arg in beam_args
    )
    if runner not in LOCAL_RUNNERS or chosen or cores < 2:
        return tuple(beam_args)
    parallel = ("--direct_running_mode=multi_threading", f"--direct_num_workers={cores}")
    return (*parallel, *beam_args)


def tf_threads(runner: str, beam_args: Sequence[str], cores: int) -> int:
    """TensorFlow threads for each worker process of a run with ``beam_args`` (0: TF's default).

    ``beam_args`` are the caller's, as ``worker_thread_pools`` takes them (localised here). A
    local multi-process run shares ``cores`` among its worker processes; a single-process local
    run (in memory, or worker threads sharing one TF runtime, the default) and a remote runner,
    whose machines this process cannot see, keep TF's default.
    """
    if runner not in LOCAL_RUNNERS:
        return 0
    mode, workers = _running_mode(local_beam_args(runner, beam_args, cores), cores)
    if mode != "multi_processing":
        return 0
    return max(1, cores // workers)


def worker_thread_pools(
    runner: str, beam_args: Sequence[str], cores: int
) -> tuple[int, int] | None:
    """TF's ``(intra-op, inter-op)`` threads for a local run's worker threads, or None.

    None: not a local run with worker threads (a remote runner, worker processes, one worker),
    whose process keeps TF's default.
    """
    if runner not in LOCAL_RUNNERS:
        return None
    mode, workers = _running_mode(local_beam_args(runner, beam_args, cores), cores)
    if mode != "multi_threading" or workers < 2:
        return None
    return 1, workers


def _running_mode(beam_args: Sequence[str], cores: int) -> tuple[str, int]:
    """A local run's ``(direct_running_mode, workers)`` as Beam reads ``beam_args``."""
    options = PipelineOptions(list(beam_args)).view_as(DirectOptions)
    return options.direct_running_mode, options.direct_num_workers or cores  # 0: one per core


def set_tf_threads(intra_op: int, inter_op: int) -> None:
    """Sizes this process's TF thread pools; once TF has run an op they stay (a warning says so)."""
    try:
        tf.config.threading.set_intra_op_parallelism_threads(intra_op)
        tf.config.threading.set_inter_op_parallelism_threads(inter_op)
    except RuntimeError as error:  # TF already ran an op in this process
        logging.warning("featurize: TensorFlow's threads stay as they were (%s)", error)
