"""The image every compiled task runs comes from ``--image`` or the environment, not from code."""

import pytest
import yaml

from components import IMAGE
from components.featurize.component import featurize
from pipelines import cli
from pipelines.image import IMAGE_ENV, check_image, default_image, with_image

MINE = "registry.example.com:5000/team/household-sounds:abc1234"


def executor_images(path: str) -> dict[str, str]:
    with open(path) as handle:
        executors = yaml.safe_load(handle)["deploymentSpec"]["executors"]
    return {name: executor["container"]["image"] for name, executor in executors.items()}


@pytest.fixture
def no_image_env(monkeypatch):
    monkeypatch.delenv(IMAGE_ENV, raising=False)


def test_compile_image_flag_reaches_every_executor(tmp_path, no_image_env, capsys):
    output = str(tmp_path / "pipeline.yaml")
    assert cli.main(["compile", "--output", output, "--image", MINE]) == 0
    images = executor_images(output)
    assert {"exec-ingest", "exec-featurize", "exec-train", "exec-deploy"} <= set(images)
    assert set(images.values()) == {MINE}


def test_compile_defaults_to_the_environment_then_the_release(tmp_path, monkeypatch):
    output = str(tmp_path / "pipeline.yaml")
    monkeypatch.delenv(IMAGE_ENV, raising=False)
    assert cli.main(["compile", "--output", output]) == 0
    assert set(executor_images(output).values()) == {IMAGE}
    digest = "ghcr.io/me/household-sounds@sha256:" + "0" * 64
    monkeypatch.setenv(IMAGE_ENV, digest)
    assert cli.main(["compile", "--output", output]) == 0
    assert set(executor_images(output).values()) == {digest}
    assert cli.main(["compile", "--output", output, "--image", MINE]) == 0  # the flag wins
    assert set(executor_images(output).values()) == {MINE}


@pytest.mark.parametrize("bad", ["household-sounds", "ghcr.io/Me/x:1", "ghcr.io/me/x:", "a b:1"])
def test_a_bad_image_is_refused_with_the_expected_form(bad, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(IMAGE_ENV, raising=False)
    with pytest.raises(SystemExit) as flag:
        cli.main(["compile", "--output", str(tmp_path / "p.yaml"), "--image", bad])
    assert flag.value.code == 2
    assert "REGISTRY/NAME:TAG" in capsys.readouterr().err
    monkeypatch.setenv(IMAGE_ENV, bad)
    with pytest.raises(SystemExit) as env:
        cli.main(["compile", "--output", str(tmp_path / "p.yaml")])
    assert IMAGE_ENV in str(env.value.code) and "REGISTRY/NAME:TAG" in str(env.value.code)
    assert not (tmp_path / "p.yaml").exists()


def test_recreated_component_differs_only_in_its_image():
    mine = with_image(featurize, MINE).component_spec
    release = featurize.component_spec
    assert (mine.implementation.container.image, release.implementation.container.image) == (
        MINE,
        IMAGE,
    )
    assert mine.implementation.container.command == release.implementation.container.command
    assert mine.implementation.container.args == release.implementation.container.args
    assert (mine.inputs, mine.outputs) == (release.inputs, release.outputs)
    assert with_image(featurize, IMAGE) is featurize


def test_image_helpers():
    assert check_image(MINE) == MINE
    assert default_image({}) == IMAGE
    assert default_image({IMAGE_ENV: MINE}) == MINE
    with pytest.raises(ValueError, match="explicit tag"):
        check_image("ghcr.io/me/household-sounds")
