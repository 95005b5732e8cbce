"""The TF Serving model base ``<model_base>/<model_name>/<version>/``: the one place that knows it.

deploy publishes versions into it, evaluate scores its production version, the development
server and ``describe`` read it, and ``promote``/``rollback`` keep the rollout config beside the
models (``<model_base>/models.config``, ``rollout_config.py``). A version is a folder whose name
is an integer (TF Serving ignores any other name, so a staging folder is never served) holding
the SavedModel (``saved_model.pb``) and ``assets.extra/``: the warmup requests TF Serving
replays before serving the version, and the model card. A path may be local or any
``tf.io.gfile`` scheme (``gs://``): a local one is read with ``os`` and a remote one through
``tf.io.gfile``, imported only then, so the TensorFlow-free light client (``serving/``) reads a
local model base without TensorFlow; a ``gs://`` base needs the pipeline's install anyway.
"""

import json
import os

from components.artifacts.names import (
    ASSETS_EXTRA_DIR,
    ROLLOUT_CONFIG_FILE,
    SAVED_MODEL_FILE,
    VERSION_CARD_JSON,
    WARMUP_FILE,
)


def is_remote(path: str) -> bool:
    """Whether ``path`` is a URI (``gs://...``) rather than a local path."""
    return "://" in path


def join(base: str, *parts: str) -> str:
    """``base/part/...``: ``os.path.join`` locally, ``/`` between the parts of a URI."""
    if is_remote(base):
        return "/".join([base.rstrip("/"), *parts])
    return os.path.join(base, *parts)


def model_root(model_base: str, model_name: str) -> str:
    """``<model_base>/<model_name>``: the folder TF Serving's ``base_path`` names."""
    return join(model_base, model_name)


def version_dir(model_base: str, model_name: str, version: int) -> str:
    """``<model_base>/<model_name>/<version>``, where ``version`` is (or will be) published."""
    return version_in(model_root(model_base, model_name), version)


def version_in(root: str, version: int) -> str:
    """``<root>/<version>``: a version of the model whose root (its base_path) is ``root``."""
    return join(root, str(version))


def saved_model_file(version_path: str) -> str:
    """The version's ``saved_model.pb`` (the graph: a version without it cannot be loaded)."""
    return join(version_path, SAVED_MODEL_FILE)


def assets_dir(version_path: str) -> str:
    """``<version>/assets.extra``: the files deploy puts beside the SavedModel."""
    return join(version_path, ASSETS_EXTRA_DIR)


def asset_file(version_path: str, name: str) -> str:
    """``<version>/assets.extra/<name>``."""
    return join(assets_dir(version_path), name)


def warmup_file(version_path: str) -> str:
    """The warmup requests TF Serving replays before it serves the version."""
    return asset_file(version_path, WARMUP_FILE)


def rollout_config_file(model_base: str) -> str:
    """``<model_base>/models.config``: the TF Serving model config with versions and labels."""
    return join(model_base, ROLLOUT_CONFIG_FILE)


def _gfile():
    import tensorflow as tf  # only for a remote path

    return tf.io.gfile


def exists(path: str) -> bool:
    """Whether the file or folder exists (local or remote)."""
    return _gfile().exists(path) if is_remote(path) else os.path.exists(path)


def _children(folder: str) -> list[str]:
    if is_remote(folder):
        gfile = _gfile()
        return [name.strip("/") for name in gfile.listdir(folder)] if gfile.isdir(folder) else []
    return os.listdir(folder) if os.path.isdir(folder) else []


def read_text(path: str) -> str:
    """A text file's content (local or remote).

    Raises:
        FileNotFoundError: If it does not exist.
    """
    if not is_remote(path):
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    gfile = _gfile()
    if not gfile.exists(path):
        raise FileNotFoundError(f"no such file: {path}")
    with gfile.GFile(path) as handle:
        return handle.read()


def versions(model_base: str, model_name: str) -> list[int]:
    """The integer versions under ``<model_base>/<model_name>/``, ascending ([] if none)."""
    return versions_under(model_root(model_base, model_name))


def versions_under(root: str) -> list[int]:
    """The integer versions of the model whose root (its base_path) is ``root``, ascending."""
    return sorted(int(name) for name in _children(root) if name.isdigit())


def latest(model_base: str, model_name: str) -> int | None:
    """The highest version (what TF Serving serves without a version policy), or None."""
    found = versions(model_base, model_name)
    return found[-1] if found else None


def is_complete(model_base: str, model_name: str, version: int) -> bool:
    """Whether the version folder holds its graph (a publish on ``gs://`` copies it last)."""
    return exists(saved_model_file(version_dir(model_base, model_name, version)))


def model_names(model_base: str) -> list[str]:
    """The models under ``model_base``: folders holding at least one integer version, sorted."""
    return sorted(name for name in _children(model_base) if versions(model_base, name))


def read_card(version_path: str) -> dict | None:
    """The version's model card (``assets.extra/model_card.json``), or None without one."""
    try:
        return json.loads(read_text(asset_file(version_path, VERSION_CARD_JSON)))
    except FileNotFoundError:
        return None
