"""Print ``constraints.txt``: the locks as pip constraints for ``pip install ".[pipeline]"``.

``make install`` installs the hashed locks with ``--no-deps``; a user installing the package into
an existing environment (a Kubeflow notebook server) runs pip's resolver instead, and these
constraints (the pins of ``requirements.lock`` and ``requirements-build.lock``, without hashes)
make it pick the tested versions. The one exception is the TF Serving API: tfx-bsl 1.21 declares
``tensorflow-serving-api<2.20``, so the resolver takes 2.19 where the lock has 2.21 (a
constraint cannot override a dependency's own bound). The pipeline extra names ``tensorflow``,
the build every TF library declares, where the lock has the same release's CPU-only wheel
``tensorflow-cpu``; that lock line constrains nothing the resolver installs. ``scripts/lock.sh``
writes the file; a test keeps it equal to this script's output.
Usage: ``python scripts/constraints.py > constraints.txt``.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCKS = ("requirements.lock", "requirements-build.lock")

# Lock entries a resolver cannot take, with the reason.
EXCLUDED = {"tensorflow-serving-api": "tfx-bsl 1.21 declares tensorflow-serving-api<2.20"}
HEADER = """\
# requirements(-build).lock as constraints: pip install ".[pipeline]" -c constraints.txt gets
# the tested versions (docs/dependencies.md). Written by scripts/constraints.py; do not edit.
"""


def canonical(name: str) -> str:
    """PEP 503 name: ``tensorflow_cpu`` and ``TensorFlow-CPU`` are ``tensorflow-cpu``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: str) -> list[str]:
    """The ``name==version`` of every requirement in a (hashed) lock file's text."""
    return re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*==[^\s\\]+)", lock, re.MULTILINE)


def constraints(locks: list[str]) -> str:
    """The constraints file's text for the lock files' texts."""
    every = [pin for lock in locks for pin in pins(lock)]
    kept = [pin for pin in every if canonical(pin.split("==")[0]) not in EXCLUDED]
    excluded = "".join(f"# not {name}: {why}\n" for name, why in EXCLUDED.items())
    return HEADER + excluded + "\n".join(sorted(kept, key=str.lower)) + "\n"


if __name__ == "__main__":
    sys.stdout.write(constraints([(ROOT / lock).read_text() for lock in LOCKS]))
