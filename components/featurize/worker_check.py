"""A one-element check job proves an EXTERNAL or PROCESS Beam environment starts workers, first.

A portable runner (the embedded job server, Flink's or Spark's) asks an EXTERNAL environment's
worker pool for a worker and then waits, with no deadline, for that worker to connect back:
Python's ``ExternalWorkerHandler`` blocks on it, Beam's Java ``ExternalEnvironmentFactory`` (and
``ProcessEnvironmentFactory``, for a worker process it forked) logs "Still waiting for startup of
environment" every 2 minutes, forever. A pool whose workers die at start (``worker_pool_main``
spawns ``python -c ...`` from its ``PATH``; without Beam there, the worker dies with ``No module
named 'apache_beam'``) hangs the job, and on a cluster holds its task slots. So
``check_workers`` first runs a check job with featurize's runner and options: one element
through ``on_worker``, a function of the project that a worker can run only if it
imports the project (cloudpickle sends it by reference). The job runs in a child process
(``python -m components.featurize.worker_check``) because the embedded job server cannot cancel
a job (its thread waits on): the child waits at most ``timeout_s``, cancels the job otherwise
(a Flink or Spark job server then frees the slots) and reports; the parent kills the child's
process group if that takes ``GRACE_S`` longer. A job that fails (no pool at the address, a
worker without the project) fails the check at once, with Beam's telling line as the reason
(``reason``). Other environments need no check: LOOPBACK workers live in this process, and
for a DOCKER environment Beam checks that the container still runs while it waits.
"""

import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

from components.featurize import remote

GRACE_S = 60  # the child's own start (importing Beam) and its cancel, beyond the timeout
# The environments whose worker a runner waits for forever, as Environment.from_options names them.
CHECKED = {"EXTERNAL": "beam:env:external:v1", "PROCESS": "beam:env:process:v1"}


class WorkerStartError(RuntimeError):
    """The SDK workers of featurize's Beam environment cannot start or cannot run the project."""


def checked_environment(runner: str, beam_args: Sequence[str]) -> str | None:
    """The environment the check is for, named for messages; ``None`` when none is needed.

    A portable runner's EXTERNAL environment (``"EXTERNAL environment at HOST:PORT"``) or
    PROCESS environment (``"PROCESS environment (COMMAND)"``); any other runner or environment
    gets ``None``.
    """
    environment = remote.flag_value(beam_args, "--environment_type")
    kind = next((name for name, urn in CHECKED.items() if environment in (name, urn)), None)
    if remote.runner_kind(runner) not in remote.PORTABLE or kind is None:
        return None
    config = remote.flag_value(beam_args, "--environment_config") or ""
    settings = json.loads(config) if config.startswith("{") else {}
    options = dict(
        arg.split("=", 2)[1:]
        for arg in beam_args
        if arg.startswith("--environment_opt") and arg.count("=") > 1
    )
    if kind == "PROCESS":
        command = settings.get("command") or options.get("process_command", "(none given)")
        return f"PROCESS environment ({command})"
    address = settings.get("url") or config or options.get("external_service_address")
    return f"EXTERNAL environment at {address or '(none given)'}"


def on_worker(element):
    """The check job's step: a worker runs it only if it could import this module, the project's."""
    return element


def check_workers(runner: str, beam_args: Sequence[str], timeout_s: float) -> float:
    """Runs the check job; returns its seconds, or raises if no worker ran the project in time.

    Args:
        runner: featurize's Beam runner.
        beam_args: featurize's Beam options (the check job gets the same).
        timeout_s: How long the check job may take, worker start included.

    Raises:
        WorkerStartError: When no worker started within ``timeout_s`` (plus at most
            ``GRACE_S`` for the child process), or a worker could not run the project's code.
    """
    environment = checked_environment(runner, beam_args) or f"environment of {runner}"
    started = time.monotonic()
    command = [sys.executable, "-m", __name__, str(timeout_s), f"--runner={runner}", *beam_args]
    logging.info("featurize: checking that the %s starts workers", environment)
    child = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        stdout, stderr = child.communicate(timeout=timeout_s + GRACE_S)
    except subprocess.TimeoutExpired:
        stdout, stderr = "", ""
    finally:
        _kill_group(child)
    seconds = time.monotonic() - started
    report = _report(stdout, stderr)
    if report["state"] == "DONE":
        logging.info("featurize: the %s ran the check job in %.1f s", environment, seconds)
        return seconds
    if report.get("error"):
        raise WorkerStartError(
            f"a one-element check job on the {environment} failed: {report['error']} (a worker "
            "pool must listen there, and the workers run the project image, or a Python with the "
            "project installed)"
        )
    raise WorkerStartError(
        f"no Beam SDK worker of the {environment} ran a one-element check job within "
        f"{timeout_s:g} s (Beam itself would wait forever). The workers must run the project "
        "image, or a Python with the project installed: a worker pool starts `python` from its "
        "PATH (or its --container_executable), and its log says why its workers exit. If they "
        "are only slow to start, raise --worker-start-timeout-s."
    )


def _kill_group(child: subprocess.Popen) -> None:
    """Ends the child and whatever it started (a job server it launched, a stuck job thread)."""
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    child.wait()


def _report(stdout: str, stderr: str) -> dict:
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return {"state": "NO_ANSWER", "error": reason(stderr) if stderr.strip() else ""}


_GRPC_DETAILS = re.compile(r'details = "(.+)"')
_EXCEPTION_LINE = re.compile(r"^[\w.]*(Error|Exception|Exit)\b.*: .+")


def reason(error_text: str) -> str:
    """The telling line of a Beam job's error: a gRPC status's details, else the last exception."""
    lines = [line.strip() for line in error_text.splitlines() if line.strip()]
    for line in reversed(lines):
        if details := _GRPC_DETAILS.search(line):
            return details.group(1)
    exceptions = [line for line in lines if _EXCEPTION_LINE.match(line)]
    return (exceptions or lines or ["(no message)"])[-1]


def _run_check_job(timeout_s: float, beam_args: list[str]) -> dict:
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.runners.runner import PipelineState

    from components.featurize import worker_check  # by its name: workers import it, not __main__

    pipeline = beam.Pipeline(options=PipelineOptions(beam_args))
    _ = pipeline | "One" >> beam.Create([0]) | "OnWorker" >> beam.Map(worker_check.on_worker)
    try:
        result = pipeline.run()
        state = result.wait_until_finish(duration=int(timeout_s * 1000))
    except Exception as error:  # the job failed: Beam's error says why
        return {"state": "FAILED", "error": reason(str(error)) or type(error).__name__}
    if state != PipelineState.DONE:
        try:
            result.cancel()
        except Exception as error:  # the job server may not cancel; the parent ends this process
            logging.warning("worker check: cancelling the job failed: %s", error)
    return {"state": str(state)}


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    print(json.dumps(_run_check_job(float(sys.argv[1]), sys.argv[2:])), flush=True)
    os._exit(0)  # a job thread of the embedded job server may still wait for its worker
