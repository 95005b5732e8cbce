"""Beam SDK worker pools on 127.0.0.1, as a Flink or Spark task manager's sidecar runs them.

``worker_pool(python, path)`` starts ``python -m apache_beam.runners.worker.worker_pool_main``
in a process group of its own, with ``path``'s ``bin`` folder first on ``PATH``: the pool spawns
each SDK worker as ``python -c ...`` from ``PATH``, so that folder's Python is the workers'. It
yields the pool's address once the port accepts connections and, at the end, kills the group
(the pool and any workers it spawned). Environments for the failure tests: ``bare_venv`` (a venv
without Beam) and ``venv_without_project`` (Beam and the locked stack importable through a
``.pth`` line, but not the project: a ``.pth`` line adds a folder to ``sys.path`` without
processing the ``.pth`` files in it, such as the editable install's).
"""

import os
import signal
import subprocess
import sys
import sysconfig
import venv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.ports import free_port, wait_until_listening


def bare_venv(folder: Path) -> Path:
    """A venv with nothing installed (no pip either); returns its folder."""
    venv.EnvBuilder(with_pip=False).create(folder)
    return folder


def venv_without_project(folder: Path) -> Path:
    """A venv that imports this interpreter's packages, Beam included, but not the project."""
    bare_venv(folder)
    site = folder / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    (site / "site-packages" / "locked_stack.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return folder


@contextmanager
def worker_pool(environment: Path, cwd: Path) -> Iterator[str]:
    """Runs a worker pool whose workers are ``environment``'s Python; yields ``localhost:PORT``.

    Args:
        environment: A venv folder (its ``bin/python`` becomes the workers' ``python``).
        cwd: The pool's working folder (outside the project: ``python -c`` imports from it).
    """
    port = free_port()
    env = {**os.environ, "PATH": f"{environment / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    command = [sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main"]
    pool = subprocess.Popen(
        [*command, f"--service_port={port}"],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(cwd / f"worker_pool_{port}.log", "wb"),  # noqa: SIM115 (the pool's lifetime)
        start_new_session=True,
    )
    try:
        wait_until_listening(port, pool, 60, f"the worker pool (log in {cwd})")
        yield f"localhost:{port}"
    finally:
        try:
            os.killpg(pool.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        pool.wait()
