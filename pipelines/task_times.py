"""The wall and CPU time of every task a local run executes, kept in ``<run>/tasks.jsonl``.

kfp.local's ``SubprocessRunner`` runs each task as a child process through one module function,
``subprocess_task_handler.run_local_subprocess``; while ``recording`` is active that function is
replaced by one that does the same (the task's output streamed to this process's stdout, its exit
code returned) and then appends a line per task: what it is (``label``: the component and the
parameters that tell its copies apart, ``train mn04 (tuned)``, ``baselines svc_mn04``), its folder
under the run (the parent of its outputs, the key the published links lead to), when it started,
its wall seconds and its CPU seconds — user plus system time of the task's process and every
process it waited for (Beam's workers, the baselines' CV jobs), from ``os.wait4``, so tasks that
ran side by side (``ParallelFor``) are each charged their own. A task served from kfp.local's
cache runs no process and adds no line: its time is the line an earlier run into the same
folder wrote, which ``read`` finds by folder.
"""

import contextlib
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence

LEDGER_FILE = "tasks.jsonl"
# The parameter that tells the copies of a component in a ParallelFor apart (train's ``tuned``
# adds seed/tuned); other components run once and need none.
_COPY_PARAMETER = {"train": "family", "baselines": "model_name"}


def label(function: str, parameters: dict) -> str:
    """``train mn04 (tuned)``, ``baselines svc_mn04``, ``featurize``: what a task is."""
    words = [function]
    if _COPY_PARAMETER.get(function) in parameters:
        words.append(str(parameters[_COPY_PARAMETER[function]]))
    if "tuned" in parameters:
        words.append("(tuned)" if parameters["tuned"] else "(seed)")
    return " ".join(words)


def describe(full_command: Sequence[str], run_dir: str) -> dict:
    """The label and folder (relative to ``run_dir``) of the task ``full_command`` runs."""
    command = list(full_command)
    executor_input = json.loads(command[command.index("--executor_input") + 1])
    function = command[command.index("--function_to_execute") + 1]
    parameters = executor_input.get("inputs", {}).get("parameterValues", {})
    folder = os.path.dirname(executor_input["outputs"]["outputFile"])
    return {"task": label(function, parameters), "folder": os.path.relpath(folder, run_dir)}


def _run_and_time(run_dir: str, lock: threading.Lock):
    """A stand-in for kfp.local's ``run_local_subprocess`` that appends each task's times."""

    def run_local_subprocess(full_command: list[str], env_vars: dict | None = None) -> int:
        task = describe(full_command, run_dir)
        started, start = time.time(), time.monotonic()
        env = {**os.environ, **env_vars} if env_vars else None
        with subprocess.Popen(
            full_command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            env=env,
        ) as process:
            for line in process.stdout:
                print(line, end="")
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
        times = {
            **task,
            "started": started,
            "seconds": round(time.monotonic() - start, 2),
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
            "succeeded": process.returncode == 0,
        }
        with lock, open(os.path.join(run_dir, LEDGER_FILE), "a") as handle:
            handle.write(json.dumps(times) + "\n")
        return process.returncode

    return run_local_subprocess


@contextlib.contextmanager
def recording(run_dir: str) -> Iterator[None]:
    """Appends every task kfp.local's SubprocessRunner executes meanwhile to the run's ledger."""
    from kfp.local import subprocess_task_handler

    original = subprocess_task_handler.run_local_subprocess
    subprocess_task_handler.run_local_subprocess = _run_and_time(run_dir, threading.Lock())
    try:
        yield
    finally:
        subprocess_task_handler.run_local_subprocess = original


def read(run_dir: str) -> dict[str, dict]:
    """Folder → the newest successful line of every task the ledger holds (none: empty)."""
    path = os.path.join(run_dir, LEDGER_FILE)
    if not os.path.exists(path):
        return {}
    with open(path) as handle:
        lines = [json.loads(line) for line in handle if line.strip()]
    return {line["folder"]: line for line in lines if line["succeeded"]}
