"""Atomic publication of an exported model as ``<model_base>/<model_name>/<version>/``.

TF Serving polls ``<model_base>/<model_name>/`` and loads the highest child whose name is an
integer, so a half-written version directory must never carry an integer name. Locally the
export is copied into a sibling ``.staging-…`` directory on the same file system and then
``os.rename``-d to its version number: a POSIX rename is atomic, and TF Serving ignores the
non-integer staging name. On ``gs://`` there is no rename and no multi-object transaction: GCS
guarantees only that each single object write or copy is atomic and strongly consistent
(read-after-write and list-after-write). So every file is first uploaded under a staging prefix
TF Serving ignores, then copied server-side into ``<version>/`` with ``saved_model.pb`` copied
last, then the staging objects are deleted. During the copy (seconds) the version prefix is
visible without its graph; TF Serving cannot load a SavedModel without ``saved_model.pb`` and
retries the load (``max_num_load_retries``), so it never serves a partial model, but a reader
listing objects in that window does see some of them.

Two deploys never interleave one version: before anything is uploaded, the version is claimed by
creating ``<model_name>/.claim-<version>`` with the precondition ``ifGenerationMatch=0`` (the
write succeeds only if no object has that name), and every object copied into ``<version>/`` is
written with the same precondition, so nothing is ever overwritten. The deploy that loses the
claim raises ``VersionExistsError`` having written nothing. A deploy that fails after its claim
deletes its staging objects, whatever it had copied into ``<version>/`` (before the graph, so
never loadable) and its claim; a version that was published keeps its claim object, which TF
Serving ignores (not an integer folder).
"""

import os
import shutil
import time
import uuid

from components.artifacts.model_base import model_root, version_dir, versions
from components.artifacts.names import SAVED_MODEL_FILE


class VersionExistsError(FileExistsError):
    """The version directory to publish already exists (versions are immutable)."""


def next_version(existing: list[int], now_s: int | None = None) -> int:
    """A new version number: the current Unix time, or one more than the highest existing."""
    now_s = int(time.time()) if now_s is None else now_s
    return max([now_s, *(version + 1 for version in existing)])


def publish(
    local_dir: str, model_base: str, model_name: str, version: int | None = None
) -> tuple[str, int]:
    """Publishes the SavedModel in ``local_dir`` atomically under ``model_base``.

    Args:
        local_dir: Local directory of a complete export (``saved_model.pb``, ``variables/``...).
        model_base: Local path or ``gs://bucket/prefix`` TF Serving reads.
        model_name: Served model name (a folder under ``model_base``).
        version: Version number; ``None`` picks ``next_version``.

    Returns:
        ``(version_uri, version)``.

    Raises:
        VersionExistsError: If that version already exists.
    """
    if model_base.startswith("gs://"):
        return _publish_gcs(local_dir, model_base, model_name, version)
    return _publish_local(local_dir, model_base, model_name, version)


def _staging_name(version: int) -> str:
    return f".staging-{version}-{uuid.uuid4().hex[:8]}"


def _publish_local(
    local_dir: str, model_base: str, model_name: str, version: int | None
) -> tuple[str, int]:
    root = model_root(model_base, model_name)
    existing = versions(model_base, model_name)
    os.makedirs(root, exist_ok=True)
    version = next_version(existing) if version is None else version
    final = version_dir(model_base, model_name, version)
    if os.path.exists(final):
        raise VersionExistsError(f"{final} already exists; versions are immutable")
    staging = os.path.join(root, _staging_name(version))
    shutil.copytree(local_dir, staging)
    try:
        os.rename(staging, final)  # atomic; fails if another writer took the version meanwhile
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise VersionExistsError(f"cannot publish {final}: {error}") from error
    return final, version


def _split_gs(uri: str) -> tuple[str, str]:
    bucket, _, prefix = uri[len("gs://") :].partition("/")
    return bucket, prefix.strip("/")


def _publish_gcs(
    local_dir: str, model_base: str, model_name: str, version: int | None
) -> tuple[str, int]:
    from google.api_core import exceptions
    from google.cloud import storage

    client = storage.Client()
    bucket_name, root = _split_gs(model_root(model_base, model_name))
    bucket = client.bucket(bucket_name)
    if version is None:
        version = next_version(versions(model_base, model_name))
    final = _split_gs(version_dir(model_base, model_name, version))[1]
    if any(True for _ in client.list_blobs(bucket_name, prefix=f"{final}/", max_results=1)):
        raise VersionExistsError(f"gs://{bucket_name}/{final}/ already exists")
    claim = bucket.blob(f"{root}/.claim-{version}")
    try:
        claim.upload_from_string(b"", if_generation_match=0)
    except exceptions.PreconditionFailed:
        raise VersionExistsError(f"gs://{bucket_name}/{final}/ is being published") from None
    staging = f"{root}/{_staging_name(version)}"
    files = sorted(
        os.path.relpath(os.path.join(root, name), local_dir)
        for root, _, names in os.walk(local_dir)
        for name in names
    )
    # The graph goes last: without it no reader can load the version (see module docstring).
    files.sort(key=lambda relative: relative == SAVED_MODEL_FILE)
    staged, copied = [], []
    try:
        for relative in files:
            blob = bucket.blob(f"{staging}/{relative}")
            staged.append(blob)
            blob.upload_from_filename(os.path.join(local_dir, relative), checksum="crc32c")
        for blob, relative in zip(staged, files, strict=True):
            name = f"{final}/{relative}"
            bucket.copy_blob(blob, bucket, name, if_generation_match=0)
            copied.append(bucket.blob(name))
    except BaseException:
        _delete_quietly([*copied, claim])
        raise
    finally:
        _delete_quietly(staged)
    return f"gs://{bucket_name}/{final}", version


def _delete_quietly(blobs: list) -> None:
    """Deletes what this deploy wrote; an object already gone is fine."""
    from google.api_core import exceptions

    for blob in blobs:
        try:
            blob.delete()
        except exceptions.NotFound:
            pass
