"""The image every compiled task runs comes from ``--image`` or the environment, not from code."""

import subprocess

import pytest
import yaml

from cli import main as cli
from cli.image import resolve_image
from cli.user_config import IMAGE_ENV, ConfigFileError
from components import IMAGE
from components.featurize.component import featurize
from pipelines.image import check_image, with_image
from tests.helpers.usage import usage_error

MINE = "registry.example.com:5000/team/household-sounds:abc1234"


def executor_images(path: str) -> dict[str, str]:
    with open(path) as handle:
        executors = next(yaml.safe_load_all(handle))["deploymentSpec"]["executors"]
    return {name: executor["container"]["image"] for name, executor in executors.items()}


@pytest.fixture
def no_image_env(monkeypatch, tmp_path):
    """No image in the environment, and no settings file: not the user's, not the checkout's."""
    monkeypatch.delenv(IMAGE_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)


def git_checkout(path):
    """A git repository with one commit at ``path``; returns its short commit."""
    path.mkdir(parents=True, exist_ok=True)

    def git(*args):
        return subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True)

    git("init", "-q")
    (path / "f").write_text("x")
    git("add", "f")
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "c")
    return git("rev-parse", "--short", "HEAD").stdout.decode().strip()


def test_compile_image_flag_reaches_every_executor(tmp_path, no_image_env, capsys):
    output = str(tmp_path / "pipeline.yaml")
    assert cli.main(["compile", "--output", output, "--image", MINE]) == 0
    images = executor_images(output)
    assert {"exec-ingest", "exec-featurize", "exec-train", "exec-deploy"} <= set(images)
    assert set(images.values()) == {MINE}


def test_compile_defaults_to_the_environment_then_the_release(
    tmp_path, monkeypatch, no_image_env, capsys
):
    output = str(tmp_path / "pipeline.yaml")
    assert cli.main(["compile", "--output", output]) == 0
    assert set(executor_images(output).values()) == {IMAGE}
    # The release name is compiled, with a warning: nothing publishes it.
    assert f"warning: {IMAGE} is the release name, which nothing publishes" in (
        capsys.readouterr().err
    )
    digest = "ghcr.io/me/household-sounds@sha256:" + "0" * 64
    monkeypatch.setenv(IMAGE_ENV, digest)
    assert cli.main(["compile", "--output", output]) == 0
    assert set(executor_images(output).values()) == {digest}
    assert cli.main(["compile", "--output", output, "--image", MINE]) == 0  # the flag wins
    assert set(executor_images(output).values()) == {MINE}
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["ghcr.io/Me/x:1", "ghcr.io/me/x:", "a b:1", "x/"])
def test_a_bad_image_is_refused_with_the_expected_form(bad, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(IMAGE_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    with pytest.raises(SystemExit) as flag:
        cli.main(["compile", "--output", str(tmp_path / "p.yaml"), "--image", bad])
    assert flag.value.code == 2
    assert "REGISTRY/NAME[:TAG]" in capsys.readouterr().err
    monkeypatch.setenv(IMAGE_ENV, bad)
    line = usage_error(["compile", "--output", str(tmp_path / "p.yaml")])
    assert IMAGE_ENV in line and "REGISTRY/NAME[:TAG]" in line
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
    with pytest.raises(ValueError, match="explicit tag"):
        check_image("ghcr.io/me/household-sounds")


def test_an_untagged_image_gets_the_git_commit_and_is_refused_outside_a_checkout(tmp_path):
    commit = git_checkout(tmp_path / "repo")
    environ = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    name = "localhost:5000/team/household-sounds"
    assert resolve_image(name, environ, tmp_path / "repo") == f"{name}:{commit}"
    assert resolve_image(f"{name}:v1", environ, tmp_path / "repo") == f"{name}:v1"
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(ValueError, match="--image: no tag given and not in a git checkout"):
        resolve_image(name, environ, tmp_path / "elsewhere")
    untagged_env = {**environ, IMAGE_ENV: name}
    with pytest.raises(ValueError, match=rf"\${IMAGE_ENV}: no tag given"):
        resolve_image(None, untagged_env, tmp_path / "elsewhere")


def test_an_uncommitted_change_is_warned_about(tmp_path, capsys):
    commit = git_checkout(tmp_path)
    (tmp_path / "f").write_text("changed")
    assert resolve_image("ghcr.io/me/x", {"XDG_CONFIG_HOME": "/nonexistent"}, tmp_path).endswith(
        commit
    )
    assert f"uncommitted changes; the image tag {commit}" in capsys.readouterr().err


def test_precedence_flag_environment_project_file_user_file_release(tmp_path):
    user_file = tmp_path / "xdg" / "household-sounds" / "config.toml"
    user_file.parent.mkdir(parents=True)
    project = tmp_path / "project"
    project.mkdir()
    environ = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert resolve_image(None, environ, project) == IMAGE
    user_file.write_text('image = "ghcr.io/user/x:u"\n')
    assert resolve_image(None, environ, project) == "ghcr.io/user/x:u"
    (project / "household-sounds.toml").write_text('image = "ghcr.io/project/x:p"\n')
    assert resolve_image(None, environ, project) == "ghcr.io/project/x:p"
    assert resolve_image(None, {**environ, IMAGE_ENV: MINE}, project) == MINE
    flag = "ghcr.io/flag/x@sha256:" + "a" * 64
    assert resolve_image(flag, {**environ, IMAGE_ENV: MINE}, project) == flag
    commit = git_checkout(project)  # an untagged image in a file takes the checkout's commit
    (project / "household-sounds.toml").write_text('image = "ghcr.io/project/x"\n')
    assert resolve_image(None, environ, project) == f"ghcr.io/project/x:{commit}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('imgae = "ghcr.io/me/x:1"\n', r"unknown key\(s\) \['imgae'\]"),
        ("image = 3\n", "image must be a string"),
        ("image = \n", "not valid TOML"),
        ('image = "Ghcr.io/Me/X"\n', "image in .*household-sounds.toml: image 'Ghcr.io/Me/X'"),
    ],
)
def test_a_bad_settings_file_is_an_error_naming_it(tmp_path, text, message):
    (tmp_path / "household-sounds.toml").write_text(text)
    with pytest.raises((ConfigFileError, ValueError), match=message):
        resolve_image(None, {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}, tmp_path)


def test_compile_uses_the_settings_file_of_the_working_directory(tmp_path, no_image_env):
    (tmp_path / "household-sounds.toml").write_text(f'image = "{MINE}"\n')
    assert cli.main(["compile", "--output", str(tmp_path / "p.yaml")]) == 0
    assert set(executor_images(str(tmp_path / "p.yaml")).values()) == {MINE}
