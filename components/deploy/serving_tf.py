"""The serving image's TensorFlow as a separate Python environment, provisioned from its own lock.

deploy's infra validation runs ``serving_replay.py`` with the TensorFlow that TF Serving runs
(``serving_stack.SERVING_TENSORFLOW``), which cannot share an interpreter with the pipeline's. It
lives in a virtualenv without pip holding exactly ``requirements-serving-tf.lock``, installed by
this interpreter's pip with ``--require-hashes --no-deps --only-binary :all:`` (so the same
checked files on every machine; PyPI or pip's cache supplies them). Where: ``$HOUSEHOLD_SOUNDS_
SERVING_TF`` when set (the image bakes one at ``/opt/serving-tf``), else
``$XDG_CACHE_HOME/household-sounds/serving-tf/<first 16 hex of lock_sha256>`` (``~/.cache`` by
default; the hash of the lock's requirements, not its comments), so a changed lock gets a new
environment and every checkout of a machine shares one.
``provision`` makes it (``make install`` and the image build run ``python -m
components.deploy.serving_tf [LOCK]``, which needs only the standard library and pip; deploy does
on first use); it writes ``MARKER`` last, so an interrupted install is redone, and holds a file
lock so concurrent deploys install once. ``interpreter`` answers the Python to run, checked
against the marker's TensorFlow version.
"""

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from components.artifacts.serving_stack import SERVING_TENSORFLOW, SERVING_TF_LOCK

ENV_VAR = "HOUSEHOLD_SOUNDS_SERVING_TF"
MARKER = "household-sounds-serving-tf.json"
# The repository root of a source checkout (``make install`` installs it editable).
SOURCE_ROOT = Path(__file__).resolve().parents[2]
INSTALL_TIMEOUT_S = 1800
FIX = "run `make install` (or `python -m components.deploy.serving_tf`)"


class ServingTensorflowError(RuntimeError):
    """The serving TensorFlow's environment is missing, broken, or could not be installed."""


@dataclass(frozen=True)
class ServingTensorflow:
    """A provisioned environment.

    Attributes:
        path: Its folder.
        python: Its interpreter.
        tensorflow: The TensorFlow version it holds.
        lock_sha256: sha256 of the lock it was installed from.
        installed: Whether this call installed it (False: it was there).
        seconds: How long this call took.
    """

    path: str
    python: str
    tensorflow: str
    lock_sha256: str
    installed: bool
    seconds: float


def default_lock() -> Path:
    """The lock file of the source checkout this package runs from."""
    return SOURCE_ROOT / SERVING_TF_LOCK


def lock_sha256(lock: Path) -> str:
    """Hex sha256 of the lock's requirements: its lines without comments and blank lines."""
    lines = [line.strip() for line in lock.read_text().splitlines()]
    kept = [line for line in lines if line and not line.startswith("#")]
    return hashlib.sha256("\n".join(kept).encode()).hexdigest()


def env_dir(lock: Path | None = None) -> Path:
    """Where the environment is (or will be): ``$HOUSEHOLD_SOUNDS_SERVING_TF``, else the cache."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    lock = lock or default_lock()
    if not lock.is_file():
        raise ServingTensorflowError(
            f"no {SERVING_TF_LOCK} at {lock} and ${ENV_VAR} is not set: point ${ENV_VAR} at a "
            "provisioned environment (the image has one) or run from a source checkout"
        )
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "household-sounds" / "serving-tf" / lock_sha256(lock)[:16]


def _read_marker(path: Path) -> dict | None:
    try:
        return json.loads((path / MARKER).read_text())
    except (OSError, ValueError):
        return None


def _installed(path: Path, started: float, installed: bool) -> ServingTensorflow:
    marker = _read_marker(path)
    if marker is None:
        raise ServingTensorflowError(f"no serving TensorFlow environment at {path}: {FIX}")
    if marker["tensorflow"] != SERVING_TENSORFLOW:
        raise ServingTensorflowError(
            f"the environment at {path} holds TensorFlow {marker['tensorflow']}, not "
            f"{SERVING_TENSORFLOW} (the serving image's): delete it and {FIX}"
        )
    return ServingTensorflow(
        path=str(path),
        python=str(path / "bin" / "python"),
        tensorflow=marker["tensorflow"],
        lock_sha256=marker["lock_sha256"],
        installed=installed,
        seconds=time.monotonic() - started,
    )


def interpreter() -> ServingTensorflow:
    """The provisioned environment, installed first when it is missing (first use).

    Raises:
        ServingTensorflowError: If it cannot be found or installed, saying how to fix it.
    """
    started = time.monotonic()
    path = env_dir()
    if _read_marker(path) is not None:
        return _installed(path, started, installed=False)
    return provision()


def _run(command: list[str], what: str) -> str:
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise ServingTensorflowError(f"{what} took over {INSTALL_TIMEOUT_S} s") from None
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-8:])
        raise ServingTensorflowError(f"{what} failed (exit {done.returncode}):\n{tail}")
    return done.stdout


def provision(lock: Path | None = None, log=lambda line: None) -> ServingTensorflow:
    """Installs the environment from ``lock`` unless it is there; returns it.

    Args:
        lock: The lock file; the source checkout's ``requirements-serving-tf.lock`` if None.
        log: Called with a line per step.

    Raises:
        ServingTensorflowError: If the install fails (no network and no cached wheels, a
            platform TensorFlow publishes no CPU wheel for...), or installs the wrong version.
    """
    started = time.monotonic()
    lock = lock or default_lock()
    path = env_dir(lock)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)  # a concurrent provision installs, this one waits
        if _read_marker(path) is not None:
            return _installed(path, started, installed=False)
        if not lock.is_file():
            raise ServingTensorflowError(f"cannot install {path}: no lock file at {lock}")
        shutil.rmtree(path, ignore_errors=True)  # an interrupted install
        log(f"serving TensorFlow {SERVING_TENSORFLOW}: a virtualenv at {path}")
        _run([sys.executable, "-m", "venv", "--without-pip", str(path)], "creating the venv")
        python = path / "bin" / "python"
        log(f"installing {lock.name} (--require-hashes; from PyPI or pip's cache)")
        install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
        options = ["--require-hashes", "--no-deps", "--only-binary", ":all:", "-r", str(lock)]
        _run(install + options, f"installing {lock}")
        probe = "import tensorflow as tf; print(tf.__version__)"
        version = _run([str(python), "-I", "-c", probe], "importing TensorFlow").strip()
        version = version.splitlines()[-1] if version else ""
        if version != SERVING_TENSORFLOW:
            raise ServingTensorflowError(
                f"{lock} installed TensorFlow {version!r}, not {SERVING_TENSORFLOW}: "
                "regenerate it with `make lock`"
            )
        marker = {"tensorflow": version, "lock_sha256": lock_sha256(lock), "lock": str(lock)}
        (path / MARKER).write_text(json.dumps(marker, indent=2) + "\n")
        log(f"installed in {time.monotonic() - started:.0f} s")
    return _installed(path, started, installed=True)


def main(argv: list[str]) -> int:
    """``python -m components.deploy.serving_tf [LOCK]``: provisions, prints the result as JSON."""
    lock = Path(argv[0]) if argv else None
    try:
        done = provision(lock, log=lambda line: print(line, file=sys.stderr))
    except ServingTensorflowError as error:
        print(f"serving-tf: {error}", file=sys.stderr)
        return 1
    print(json.dumps(asdict(done), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
