"""Write the hashed lock files from the packages installed in one Python environment.

Run with the interpreter of a fully installed environment (``scripts/lock.sh`` makes one):
``ENV/bin/python scripts/write_locks.py``. The installed set is split by following the
installed packages' declared requirements: everything reachable from pyproject's base
dependencies and its ``client`` and ``pipeline`` extras is ``requirements.lock`` (what the image
installs); what only the ``dev`` extra reaches (pytest, ruff, notebooks, kubectl, …) is
``requirements-dev.lock``; the installer itself (pip, setuptools, wheel) is
``requirements-build.lock``. Every pin gets the sha256 of each file PyPI publishes for it that
CPython 3.11 can install on any platform (wheels tagged cp311, abi3 or py3, and the sdist), so
``pip install --require-hashes`` accepts nothing else. A requirement that is not installed is
an error; ``tensorflow`` (what the pipeline extra and the TF libraries declare) is installed as
the identical CPU-only build ``tensorflow-cpu`` (``INSTALLED_AS``; see ``scripts/lock.sh``).
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "household-sounds"
INSTALLER = ("pip", "setuptools", "wheel")
# Declared by the pipeline extra, tensorflow-transform, tfx-bsl, tf_keras and
# tensorflow-serving-api; the lock has the identical tensorflow-cpu build instead
# (scripts/lock.sh installs those four with --no-deps).
INSTALLED_AS = {"tensorflow": "tensorflow-cpu"}
PYPI = "https://pypi.org/pypi/{name}/json"
HEADER = {
    "requirements-build.lock": "The installer and build backend, installed first.",
    "requirements.lock": "Runtime set: the image installs only this file.",
    "requirements-dev.lock": "Test, lint, notebook and cluster tools on top of requirements.lock.",
    "requirements-serving-tf.lock": "The serving image's TensorFlow, for deploy's infra validation "
    "(scripts/lock_serving_tf.py).",
}


def installed() -> dict[str, metadata.Distribution]:
    """Installed distributions by canonical name, the project itself left out."""
    found = {canonicalize_name(d.metadata["Name"]): d for d in metadata.distributions()}
    found.pop(PROJECT, None)
    return found


def closure(roots: list[str], dists: dict[str, metadata.Distribution]) -> set[str]:
    """Canonical names of the installed packages that ``roots`` need, transitively."""
    seen: set[tuple[str, frozenset[str]]] = set()
    names: set[str] = set()
    todo = [(Requirement(r), frozenset({""})) for r in roots]
    while todo:
        req, parent_extras = todo.pop()
        if req.marker and not any(req.marker.evaluate({"extra": e}) for e in parent_extras):
            continue
        name = canonicalize_name(req.name)
        name = INSTALLED_AS.get(name, name)
        if name not in dists:
            sys.exit(f"write_locks: {req} is required but not installed")
        extras = frozenset({"", *req.extras})
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        names.add(name)
        todo += [(Requirement(r), extras) for r in dists[name].requires or []]
    return names


def fits_cp311(filename: str) -> bool:
    """Whether a wheel can be installed by CPython 3.11 (any platform)."""
    _, _, _, tags = parse_wheel_filename(filename)
    for tag in tags:
        match = re.fullmatch(r"(cp|py)3(\d*)", tag.interpreter)
        if not match:
            continue
        minor = int(match.group(2) or 0)
        if tag.interpreter == "cp311" or (match.group(1) == "py" and minor <= 11):
            return True
        if tag.abi == "abi3" and minor <= 11:
            return True
    return False


def same_version(a: str, b: str) -> bool:
    """PEP 440 equality (``1.0`` == ``1.0.0``); PyPI still lists some unparseable versions."""
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return False


def hashes(name: str, version: str) -> list[str]:
    """sha256 of every file of ``name==version`` on PyPI that CPython 3.11 may pick."""
    with urllib.request.urlopen(PYPI.format(name=name), timeout=120) as answer:
        releases = json.load(answer)["releases"]
    files = releases.get(version) or next(
        (f for v, f in releases.items() if same_version(v, version)), []
    )
    picked = sorted(
        {
            f["digests"]["sha256"]
            for f in files
            if f["packagetype"] == "sdist"
            or (f["packagetype"] == "bdist_wheel" and fits_cp311(f["filename"]))
        }
    )
    if not picked:
        sys.exit(f"write_locks: PyPI has no file of {name}=={version} for CPython 3.11")
    return picked


def write(path: str, pins: list[tuple[str, str]]) -> None:
    """Writes ``name==version`` lines with their ``--hash`` options, sorted by name."""
    pins = sorted(pins, key=lambda pin: canonicalize_name(pin[0]))
    with ThreadPoolExecutor(8) as pool:
        digests = list(pool.map(lambda pin: hashes(*pin), pins))
    lines = [
        f"# {HEADER[path]}",
        "# Written by scripts/write_locks.py ('make lock'); install with",
        "# pip install --require-hashes --no-deps (see docs/dependencies.md).",
    ]
    for (name, version), sha in zip(pins, digests, strict=True):
        options = [f"    --hash=sha256:{h}" for h in sha]
        lines.append(" \\\n".join([f"{name}=={version}", *options]))
    (ROOT / path).write_text("\n".join(lines) + "\n")
    print(f"wrote {path} ({len(pins)} packages, {sum(map(len, digests))} hashes)")


def main() -> None:
    """Splits the environment into the three lock files."""
    dists = installed()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    installer = set(INSTALLER)
    runtime = closure(project["dependencies"] + extras["client"] + extras["pipeline"], dists)
    runtime -= installer
    dev = closure(extras["dev"], dists) - runtime - installer
    stray = set(dists) - runtime - dev - installer
    if stray:
        sys.exit(f"write_locks: installed but required by nothing: {sorted(stray)}")

    def pins(names: set[str] | tuple[str, ...]) -> list[tuple[str, str]]:
        return [(dists[n].metadata["Name"], dists[n].version) for n in names]

    write("requirements-build.lock", pins(INSTALLER))
    write("requirements.lock", pins(runtime))
    write("requirements-dev.lock", pins(dev))


if __name__ == "__main__":
    main()
