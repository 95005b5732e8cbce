"""Write requirements-serving-tf.lock: the serving image's TensorFlow, for the infra validation.

Run by ``scripts/lock.sh`` (``make lock``; needs PyPI) with the project's interpreter:
``python scripts/lock_serving_tf.py``. pip resolves ``tensorflow-cpu==SERVING_TENSORFLOW``
(``components/artifacts/serving_stack.py``) for CPython 3.11 on manylinux x86_64 without
installing anything (``--dry-run --report``), and ``tensorflow-serving-api`` of the same version
is added (it declares the full ``tensorflow`` wheel, which the CPU build replaces, so it is
installed ``--no-deps`` like every pin of the lock). Each pin gets the sha256 of every file PyPI
has for it that CPython 3.11 can install (``write_locks.hashes``), so
``pip install --require-hashes --no-deps`` accepts those files and no other.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import write_locks  # noqa: E402 - scripts/ is not a package

from components.artifacts.serving_stack import SERVING_TENSORFLOW, SERVING_TF_LOCK  # noqa: E402

PLATFORM = ["--platform", "manylinux2014_x86_64", "--python-version", "3.11"]


def resolved(requirement: str) -> list[tuple[str, str]]:
    """``(name, version)`` of everything pip would install for ``requirement``, itself included."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--dry-run"]
        command += ["--ignore-installed", "--only-binary", ":all:", *PLATFORM]
        command += ["--report", str(report), requirement]
        subprocess.run(command, check=True)
        installs = json.loads(report.read_text())["install"]
    return [(item["metadata"]["name"], item["metadata"]["version"]) for item in installs]


def main() -> None:
    """Resolves and writes the lock."""
    pins = resolved(f"tensorflow-cpu=={SERVING_TENSORFLOW}")
    pins.append(("tensorflow-serving-api", SERVING_TENSORFLOW))
    write_locks.write(SERVING_TF_LOCK, pins)


if __name__ == "__main__":
    main()
