"""A local Beam run gets one worker thread per usable core, and its process one TF thread per
op and one op per worker; worker processes, when asked for, each get their share of the cores
for TensorFlow; remote runners are left alone."""

import os
import subprocess
import sys

import pytest

from components.featurize.local_workers import (
    local_beam_args,
    tf_threads,
    usable_cores,
    worker_thread_pools,
)

THREADS = ("--direct_running_mode=multi_threading", "--direct_num_workers=4")
PARALLEL = ("--direct_running_mode=multi_processing", "--direct_num_workers=4")


@pytest.mark.parametrize("runner", ["FnApiRunner", "DirectRunner"])
def test_local_runners_get_a_worker_per_core(runner):
    assert local_beam_args(runner, ("--x=1",), 4) == (*THREADS, "--x=1")


@pytest.mark.parametrize(
    "runner, args, cores",
    [
        ("DataflowRunner", ("--project=p",), 4),
        ("FlinkRunner", (), 4),
        ("FnApiRunner", ("--direct_num_workers=1",), 4),
        ("FnApiRunner", ("--direct_running_mode=in_memory",), 4),
        ("FnApiRunner", ("--direct_running_mode=multi_processing",), 4),
        ("FnApiRunner", (), 1),
    ],
)
def test_remote_runners_explicit_choices_and_one_core_are_unchanged(runner, args, cores):
    assert local_beam_args(runner, args, cores) == args


def test_usable_cores_is_capped_by_a_cgroup_quota(tmp_path):
    affinity = len(os.sched_getaffinity(0))
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("100000 100000\n")
    assert usable_cores(str(cpu_max)) == 1
    cpu_max.write_text("150000 100000\n")  # 1.5 CPUs: two workers share them
    assert usable_cores(str(cpu_max)) == min(affinity, 2)
    cpu_max.write_text("max 100000\n")
    assert usable_cores(str(cpu_max)) == affinity
    assert usable_cores(str(tmp_path / "absent")) == affinity


@pytest.mark.parametrize(
    "runner, args, cores, threads",
    [
        ("FnApiRunner", PARALLEL, 4, 1),  # four workers on four cores: one thread each
        ("FnApiRunner", ("--direct_running_mode=multi_processing", "--direct_num_workers=2"), 4, 2),
        ("FnApiRunner", ("--direct_running_mode=multi_processing",), 2, 2),  # Beam: 1 worker
        ("FnApiRunner", ("--direct_running_mode=multi_processing", "--direct_num_workers=0"), 2, 1),
        ("FnApiRunner", ("--direct_running_mode=multi_processing", "--direct_num_workers=8"), 4, 1),
        ("FnApiRunner", ("--direct_running_mode=in_memory",), 4, 0),
        ("FnApiRunner", THREADS, 4, 0),  # worker threads share one TF runtime
        ("FnApiRunner", (), 4, 0),
        ("DataflowRunner", PARALLEL, 4, 0),
    ],
)
def test_local_worker_processes_share_the_cores_for_tensorflow(runner, args, cores, threads):
    assert tf_threads(runner, args, cores) == threads


@pytest.mark.parametrize(
    "runner, args, cores, pools",
    [
        ("FnApiRunner", (), 4, (1, 4)),  # the default: four worker threads, one op each
        ("FnApiRunner", THREADS, 8, (1, 4)),
        ("FnApiRunner", PARALLEL, 4, None),  # worker processes: tf_threads sizes theirs
        ("FnApiRunner", ("--direct_num_workers=1",), 4, None),
        ("FnApiRunner", (), 1, None),  # one core: one worker
        ("DataflowRunner", (), 4, None),
    ],
)
def test_worker_threads_get_one_thread_per_op_and_one_op_per_worker(runner, args, cores, pools):
    assert worker_thread_pools(runner, args, cores) == pools


def test_the_featurize_process_sizes_its_pools_before_its_first_op():
    script = (
        "import tensorflow as tf\n"
        "from components.featurize import core, local_workers\n"
        "core.use_worker_thread_pools(core.FeaturizeConfig())\n"
        "tf.constant(1.0) + 1.0\n"
        "print(tf.config.threading.get_intra_op_parallelism_threads(),"
        " tf.config.threading.get_inter_op_parallelism_threads(), local_workers.usable_cores())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    intra, inter, cores = map(int, done.stdout.split()[-3:])
    assert (intra, inter) == ((1, cores) if cores > 1 else (0, 0))
