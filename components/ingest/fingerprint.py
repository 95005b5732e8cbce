"""A fingerprint of a dataset's files, so a cached ingest reruns exactly when the data changes.

KFP reuses a task's outputs when its inputs are unchanged, but ingest's input is a path whose
files can change under the same name. ``fingerprint`` hashes the sorted listing under the root
(relative path, size in bytes, modification time in nanoseconds; for gs:// objects the time GCS
reports for each object) through ``tf.io.gfile``, so adding, removing, resizing or rewriting
any file changes it, while rereading unchanged data does not. A data root that is a manifest
CSV's own path stands for the folder holding it (its ``uri``s are relative to it, and its audio
must lie under it). Several data roots (ingest's ``more_data_roots``) get one fingerprint: the
hash of each root's, in order. Contents are not read: a rewrite that keeps both size and time is
not detected.
"""

import hashlib
import os
import posixpath


def fingerprint(root: str, *more_roots: str) -> str:
    """SHA-256 (hex) of every file's relative path, size and mtime under ``root``.

    With ``more_roots``, the SHA-256 of every root's fingerprint, in order.

    Raises:
        FileNotFoundError: A root is neither a directory nor a manifest CSV.
    """
    if more_roots:
        each = [fingerprint(one) for one in (root, *more_roots)]
        return hashlib.sha256("\n".join(each).encode("ascii")).hexdigest()
    import tensorflow as tf

    if root.endswith(".csv") and not tf.io.gfile.isdir(root):
        if not tf.io.gfile.exists(root):
            raise FileNotFoundError(f"data root {root!r}: no such manifest CSV")
        root = posixpath.dirname(root) if "://" in root else os.path.dirname(root) or "."
    if not tf.io.gfile.isdir(root):
        raise FileNotFoundError(f"data root {root!r} is not a directory or a manifest CSV")
    digest = hashlib.sha256()
    entries = []
    for folder, _, names in tf.io.gfile.walk(root):
        for name in names:
            path = posixpath.join(folder, name) if "://" in root else f"{folder}/{name}"
            stat = tf.io.gfile.stat(path)
            relative = path[len(root) :].lstrip("/")
            entries.append(f"{relative}\0{stat.length}\0{stat.mtime_nsec}")
    for entry in sorted(entries):
        digest.update(entry.encode("utf-8") + b"\n")
    return digest.hexdigest()
