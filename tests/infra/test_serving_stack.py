"""The export's and the serving image's TensorFlow agree wherever they are written.

``components/artifacts/serving_stack.py`` names them once; k8s/, the locks, pyproject.toml, the
Dockerfile and the Makefile must follow it (see its docstring), so that deploy's infra
validation checks exports against the TensorFlow the cluster really runs.
"""

import re
import tomllib
from importlib import metadata

import pytest
import yaml
from packaging.version import Version

from components.artifacts.serving_stack import (
    EXPORT_TENSORFLOW,
    SERVING_IMAGE,
    SERVING_IMAGE_NAME,
    SERVING_TENSORFLOW,
    SERVING_TF_LOCK,
    SERVING_VERSION,
)
from tests.helpers.lock_files import pins
from tests.helpers.paths import ROOT

pytestmark = pytest.mark.xdist_group("infra")


def serving_images() -> list[tuple[str, str]]:
    """``(file, image)`` of every container image under k8s/ that is a TF Serving image."""
    found = []
    for path in sorted((ROOT / "k8s").rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            for image in re.findall(r"'image': '([^']+)'", str(doc)):
                if image.split(":")[0] == SERVING_IMAGE_NAME:
                    found.append((str(path.relative_to(ROOT)), image))
            for override in (doc or {}).get("images", []) if isinstance(doc, dict) else []:
                if override.get("name") == SERVING_IMAGE_NAME:
                    tag = override.get("newTag", "")
                    found.append((str(path.relative_to(ROOT)), f"{SERVING_IMAGE_NAME}:{tag}"))
    return found


def test_every_manifest_runs_the_pinned_serving_image() -> None:
    images = serving_images()
    assert images, "no tensorflow/serving container under k8s/"
    for where, image in images:
        assert image == SERVING_IMAGE, f"{where} runs {image}, serving_stack says {SERVING_IMAGE}"


def test_the_serving_tensorflow_is_the_serving_release() -> None:
    """TF Serving X.Y.Z is built on TensorFlow X.Y.Z."""
    assert SERVING_TENSORFLOW == SERVING_VERSION
    assert Version(SERVING_TENSORFLOW) <= Version(EXPORT_TENSORFLOW), (
        "a server newer than the exporting TensorFlow needs no infra validation of this kind; "
        "revisit serving_stack.py"
    )


def test_the_validation_lock_holds_the_serving_tensorflow() -> None:
    lock = ROOT / SERVING_TF_LOCK
    found = pins(lock)
    assert found["tensorflow-cpu"] == SERVING_TENSORFLOW
    assert found["tensorflow-serving-api"] == SERVING_TENSORFLOW
    assert "tensorflow" not in found, "the CPU build only: the full wheel is 2.4x larger"


def test_the_pipeline_exports_with_the_export_tensorflow() -> None:
    assert pins(ROOT / "requirements.lock")["tensorflow-cpu"] == EXPORT_TENSORFLOW
    assert pins(ROOT / "requirements-gpu.lock")["tensorflow"] == EXPORT_TENSORFLOW
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert f"tensorflow=={EXPORT_TENSORFLOW}" in project["optional-dependencies"]["pipeline"]
    assert metadata.version("tensorflow-cpu") == EXPORT_TENSORFLOW, "run `make install`"


def test_the_image_and_make_install_provision_the_validation_environment() -> None:
    dockerfile = (ROOT / "docker/pipeline.Dockerfile").read_text()
    assert f"-m components.deploy.serving_tf {SERVING_TF_LOCK}" in dockerfile
    assert "COPY --from=serving_tf /opt/serving-tf /opt/serving-tf" in dockerfile
    assert "HOUSEHOLD_SOUNDS_SERVING_TF=/opt/serving-tf" in dockerfile
    assert f"!{SERVING_TF_LOCK}" in (ROOT / ".dockerignore").read_text().splitlines()
    makefile = (ROOT / "Makefile").read_text()
    (install,) = [line for line in makefile.splitlines() if line.startswith("install:")]
    assert "serving-tf" in install.split("##")[0]
