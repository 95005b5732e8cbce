"""No pretrained weight is committed or packaged: they are provisioned (components/pretrained).

A file counts as a weight when its sha256 is one the catalog pins, when its name ends like a
weights or array file, or when it is a binary over 1 MB; the repository (``git ls-files``) and
the wheel pip builds from it must hold none.
"""

import shutil
import subprocess
import sys
import zipfile

import pytest

from components.pretrained.cache import sha256_of
from components.pretrained.catalog import BACKBONES
from tests.helpers.paths import ROOT

pytestmark = pytest.mark.xdist_group("infra")

PINNED = {source.sha256 for b in BACKBONES for a in b.assets for source in a.sources}
WEIGHT_SUFFIXES = (".npz", ".npy", ".h5", ".hdf5", ".pt", ".pth", ".ckpt", ".tflite", ".onnx")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")
TEXT_SUFFIXES = (".md", ".lock", ".py", ".json", ".yaml", ".txt")


def test_the_repository_holds_no_weights() -> None:
    listed = (
        subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    files = [ROOT / name for name in listed if name and (ROOT / name).is_file()]
    assert len(files) > 100
    for path in files:
        assert not path.name.lower().endswith(WEIGHT_SUFFIXES), path
        assert sha256_of(path) not in PINNED, path
        if path.stat().st_size > 1_000_000:
            assert path.suffix in TEXT_SUFFIXES, f"{path}: a binary over 1 MB"


@pytest.mark.slow
def test_the_wheel_holds_no_weights(tmp_path) -> None:
    source = tmp_path / "src"  # a copy, so setuptools' build/ stays out of the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for name in ("components", "demo_data", "pipelines", "serving"):
        shutil.copytree(ROOT / name, source / name, ignore=IGNORED)
    pip = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*pip, "-w", str(tmp_path), str(source)], check=True, capture_output=True, timeout=300
    )
    (wheel,) = tmp_path.glob("household_sounds-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert any(name.startswith("components/pretrained/") for name in names)
        for name in names:
            assert not name.lower().endswith(WEIGHT_SUFFIXES), name
            assert archive.getinfo(name).file_size < 1_000_000, name
