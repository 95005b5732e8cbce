"""Where the serving TensorFlow's environment lives and when it counts as installed.

The install itself (a venv from requirements-serving-tf.lock) is what ``make install`` runs and
the slow infra validation tests use; here, the cache key, the override and the marker checks,
plus one real install of a lock that holds no TensorFlow (refused with the versions named).
"""

import json
import sys

import pytest

from components.artifacts.serving_stack import SERVING_TENSORFLOW
from components.deploy import serving_tf


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.delenv(serving_tf.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "household-sounds" / "serving-tf"


def test_the_environment_is_keyed_by_the_locks_content(cache, tmp_path) -> None:
    lock = tmp_path / "a.lock"
    lock.write_text("six==1.17.0\n")
    first = serving_tf.env_dir(lock)
    assert first.parent == cache and first.name == serving_tf.lock_sha256(lock)[:16]
    lock.write_text("six==1.16.0\n")
    assert serving_tf.env_dir(lock) != first
    assert serving_tf.env_dir().name == serving_tf.lock_sha256(serving_tf.default_lock())[:16]


def test_the_variable_names_the_environment_and_no_lock_is_needed(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(serving_tf.ENV_VAR, str(tmp_path / "env"))
    assert serving_tf.env_dir(tmp_path / "missing.lock") == tmp_path / "env"
    (tmp_path / "env").mkdir()
    marker = {"tensorflow": SERVING_TENSORFLOW, "lock_sha256": "ab", "lock": "x"}
    (tmp_path / "env" / serving_tf.MARKER).write_text(json.dumps(marker))
    found = serving_tf.interpreter()
    assert found.python == str(tmp_path / "env" / "bin" / "python") and not found.installed


def test_an_environment_of_another_tensorflow_is_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(serving_tf.ENV_VAR, str(tmp_path / "env"))
    (tmp_path / "env").mkdir()
    marker = {"tensorflow": "2.19.0", "lock_sha256": "ab", "lock": "x"}
    (tmp_path / "env" / serving_tf.MARKER).write_text(json.dumps(marker))
    with pytest.raises(serving_tf.ServingTensorflowError, match="holds TensorFlow 2.19.0, not"):
        serving_tf.interpreter()


def test_no_lock_and_no_environment_says_how_to_fix_it(cache, tmp_path) -> None:
    with pytest.raises(serving_tf.ServingTensorflowError, match="no .* at .*missing.lock"):
        serving_tf.provision(tmp_path / "missing.lock")


@pytest.mark.slow
def test_a_lock_without_the_serving_tensorflow_installs_but_is_refused(cache, tmp_path) -> None:
    """A real venv and a hash-checked install of one small wheel (PyPI or pip's cache)."""
    six = (
        "six==1.17.0 --hash=sha256:4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274"
    )
    lock = tmp_path / "six.lock"
    lock.write_text(six + "\n")
    with pytest.raises(serving_tf.ServingTensorflowError) as refused:
        serving_tf.provision(lock)
    assert "importing TensorFlow failed" in str(refused.value)
    env = serving_tf.env_dir(lock)
    assert not (env / serving_tf.MARKER).exists(), "an unfinished install is never marked done"
    assert (env / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}").is_dir()


def test_comments_do_not_change_the_key(cache, tmp_path) -> None:
    lock = tmp_path / "a.lock"
    lock.write_text("# one header\nsix==1.17.0 \\\n    --hash=sha256:ab\n")
    key = serving_tf.env_dir(lock)
    lock.write_text("# another header\n\nsix==1.17.0 \\\n    --hash=sha256:ab\n")
    assert serving_tf.env_dir(lock) == key
