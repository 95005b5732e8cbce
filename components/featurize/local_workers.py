"""Beam options that make a local run use every core this process may use.

Beam's local runners (FnApiRunner, DirectRunner) run one worker in one process unless told
otherwise, which leaves all but one core idle. ``local_beam_args`` adds
``--direct_running_mode=multi_processing --direct_num_workers=<cores>`` for a local runner unless
the caller set either option (``--direct_num_workers=1`` restores one worker). Cores are the
CPUs the scheduler allows this process, capped by a cgroup v2 CPU quota (a Kubernetes CPU limit),
so a pod limited to 2 CPUs on a 64-core node starts 2 workers, not 64. Remote runners (Dataflow,
Flink, Spark) get the arguments unchanged.
"""

import math
import os
from collections.abc import Sequence

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
    """``beam_args`` plus multi-process options for ``cores`` workers on a local runner."""
    chosen = any(
        arg.startswith(("--direct_running_mode", "--direct_num_workers")) for arg in beam_args
    )
    if runner not in LOCAL_RUNNERS or chosen or cores < 2:
        return tuple(beam_args)
    parallel = ("--direct_running_mode=multi_processing", f"--direct_num_workers={cores}")
    return (*parallel, *beam_args)
