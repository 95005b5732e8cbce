"""A fingerprint of a dataset's files, so a cached ingest reruns exactly when the data changes.

KFP reuses a task's outputs when its inputs are unchanged, but ingest's input is a path whose
files can change under the same name. ``fingerprint`` hashes the sorted listing under the root,
so adding, removing, resizing or rewriting any file changes it, while rereading unchanged data
does not: for a local folder each file's relative path, size and modification time (ns); for a
``gs://`` prefix each object's relative name, size and generation (a new one on every rewrite),
from the bucket listing (one request per 1,000 objects, with Google's default credentials).
A data root that is a manifest CSV's own path stands for the folder holding it (its ``uri``s are
relative to it, and its audio must lie under it). Contents are not read: a local rewrite that
keeps both size and time is not detected. Imports no TensorFlow, so the command line can compute
it before a run starts without loading it. Several data roots (ingest's ``more_data_roots``)
get one fingerprint: the hash of each root's, in order.
"""

import hashlib
import os
import posixpath
from collections.abc import Iterable


def fingerprint(root: str, *more_roots: str) -> str:
    """SHA-256 (hex) of every file's relative path, size and version under ``root``.

    With ``more_roots``, the SHA-256 of every root's fingerprint, in order.

    Raises:
        FileNotFoundError: A root is neither a directory (a ``gs://`` prefix with objects)
            nor a manifest CSV.
        ValueError: A root is a URI other than ``gs://``.
    """
    if more_roots:
        each = [fingerprint(one) for one in (root, *more_roots)]
        return hashlib.sha256("\n".join(each).encode("ascii")).hexdigest()
    if root.startswith("gs://"):
        entries = _gcs_entries(root)
    elif "://" in root:
        raise ValueError(f"data root {root!r}: only local paths and gs:// have a fingerprint")
    else:
        entries = _local_entries(root)
    digest = hashlib.sha256()
    for entry in sorted(entries):
        digest.update(entry.encode("utf-8") + b"\n")
    return digest.hexdigest()


def _local_entries(root: str) -> list[str]:
    if root.endswith(".csv") and not os.path.isdir(root):
        if not os.path.isfile(root):
            raise FileNotFoundError(f"data root {root!r}: no such manifest CSV")
        root = os.path.dirname(root) or "."
    if not os.path.isdir(root):
        raise FileNotFoundError(f"data root {root!r} is not a directory or a manifest CSV")
    entries = []
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            stat = os.stat(path)
            relative = os.path.relpath(path, root).replace(os.sep, "/")
            entries.append(_entry(relative, stat.st_size, stat.st_mtime_ns))
    return entries


def _gcs_entries(root: str) -> list[str]:
    from google.api_core import exceptions
    from google.cloud import storage

    bucket_name, _, name = root[len("gs://") :].partition("/")
    name = name.rstrip("/")
    client = storage.Client()
    try:
        if name.endswith(".csv") and client.bucket(bucket_name).get_blob(name) is not None:
            name = posixpath.dirname(name)  # the manifest CSV's folder
        prefix = f"{name}/" if name else ""
        entries = _objects(client.list_blobs(bucket_name, prefix=prefix), len(prefix))
    except exceptions.NotFound:
        raise FileNotFoundError(f"data root {root!r}: no such bucket") from None
    if not entries:
        raise FileNotFoundError(f"data root {root!r}: no objects under it")
    return entries


def _objects(blobs: Iterable, skip: int) -> list[str]:
    """Entries of a listing's objects, without the folder markers some tools write."""
    return [
        _entry(blob.name[skip:], blob.size, blob.generation)
        for blob in blobs
        if not blob.name.endswith("/")
    ]


def _entry(relative: str, size: int, version: int) -> str:
    return f"{relative}\0{size}\0{version}"
