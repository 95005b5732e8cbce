"""Confinement of the audio URIs that a dataset's metadata names to the dataset's root.

Metadata is input like any other: a manifest CSV's ``uri`` column, an ESC-50 ``filename`` or an
FSD50K clip id become paths, and a ``../``, an absolute path, a symbolic link or another scheme
(``http://``, ``file://`` elsewhere, another bucket) would otherwise make the pipeline read any
file its workers can reach. ``Roots`` holds the data root plus the roots a user allows
explicitly (``IngestConfig.allowed_roots``: folders, ``gs://bucket`` or ``gs://bucket/prefix``);
``Roots.resolve`` normalises a URI (local: absolute with ``.``/``..`` collapsed, then checked
again with symbolic links resolved; remote: ``.``/``..`` segments collapsed) and returns the URI
to read, or raises ``Refused`` with a reason code for the rejects file. Only resolved URIs reach
the manifest, so what featurize reads is exactly what was checked; nothing refused is opened.
"""

import errno
import os
import re
import urllib.parse
from dataclasses import dataclass

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


class Refused(ValueError):
    """A URI outside every allowed root; ``reason`` is a stable code, ``detail`` says why."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def _remote(uri: str) -> tuple[str, str, str]:
    """Splits ``scheme://bucket/key`` and collapses ``.``/``..`` in the key.

    Raises:
        Refused: If the key climbs above the bucket.
    """
    scheme, rest = uri.split("://", 1)
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise Refused("outside_root", f"{uri} names no bucket")
    parts: list[str] = []
    for part in key.split("/"):
        if part == "..":
            if not parts:
                raise Refused("outside_root", f"{uri} climbs above its bucket")
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return scheme.lower(), bucket, "/".join(parts)


def _file_path(uri: str) -> str:
    """The local path of a ``file://`` URI (only on this host)."""
    parsed = urllib.parse.urlsplit(uri)
    if parsed.netloc not in ("", "localhost"):
        raise Refused("scheme_not_allowed", f"{uri} names another host")
    return urllib.parse.unquote(parsed.path)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


@dataclass(frozen=True)
class Roots:
    """The roots a dataset's audio may live under.

    Attributes:
        local: Absolute, normalised local folders.
        local_real: The same folders with symbolic links resolved.
        remote: ``(scheme, bucket, key prefix)`` of each remote root (prefix "" = whole bucket).
    """

    local: tuple[str, ...]
    local_real: tuple[str, ...]
    remote: tuple[tuple[str, str, str], ...]

    @classmethod
    def of(cls, data_root: str, allowed: tuple[str, ...] = ()) -> "Roots":
        """Roots of a dataset: ``data_root`` and every explicitly ``allowed`` root."""
        local, remote = [], []
        for root in (data_root, *allowed):
            if root.startswith("file://"):
                root = _file_path(root)
            if _SCHEME.match(root):
                remote.append(_remote(root.rstrip("/")))
            else:
                local.append(os.path.normpath(os.path.abspath(root)))
        return cls(
            local=tuple(local),
            local_real=tuple(os.path.realpath(root) for root in local),
            remote=tuple(remote),
        )

    def describe(self) -> str:
        """The roots, for messages."""
        remote = [f"{scheme}://{bucket}/{prefix}" for scheme, bucket, prefix in self.remote]
        return ", ".join([*self.local, *remote])

    def resolve(self, uri: str) -> str:
        """Returns the normalised URI to read, if it lies under an allowed root.

        Args:
            uri: Absolute path, ``file://`` or ``scheme://bucket/key`` URI (relative paths are
                joined to their metadata file's folder by the reader before this).

        Returns:
            The URI with ``.``/``..`` collapsed (local paths absolute, links kept).

        Raises:
            Refused: ``scheme_not_allowed``, ``outside_root``, ``symlink_escapes_root`` or
                ``symlink_loop``.
        """
        if uri.startswith("file://"):
            uri = _file_path(uri)
        match = _SCHEME.match(uri)
        if match:
            scheme, bucket, key = _remote(uri)
            if not any(s == scheme for s, _, _ in self.remote):
                raise Refused("scheme_not_allowed", f"{uri}: no allowed root uses {scheme}://")
            if not any(
                s == scheme and b == bucket and (not p or key == p or key.startswith(p + "/"))
                for s, b, p in self.remote
            ):
                raise Refused("outside_root", f"{uri} is outside {self.describe()}")
            return f"{scheme}://{bucket}/{key}"
        path = os.path.normpath(os.path.abspath(uri))
        if not any(_inside(path, root) for root in self.local):
            raise Refused("outside_root", f"{uri} is outside {self.describe()}")
        real = os.path.realpath(path)  # reads links only, never a file's contents
        if not any(_inside(real, root) for root in self.local_real):
            raise Refused(
                "symlink_escapes_root", f"{uri} links to {real}, outside {self.describe()}"
            )
        try:
            os.stat(path)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise Refused("symlink_loop", f"{uri}: symbolic links loop") from None
        return path
