"""Atomic writes, JSON and JSON lines through ``tf.io.gfile`` (local paths and ``gs://``).

Every file is written under a temporary name and renamed, so a reader never sees a half-written
artifact. JSON is indented with numpy scalars as Python numbers; JSON lines hold one object per
line, non-ASCII text kept as it is.
"""

import contextlib
import json
from collections.abc import Iterable, Iterator
from typing import IO

import tensorflow as tf


@contextlib.contextmanager
def atomic(path: str, mode: str = "w") -> Iterator[IO]:
    """A handle on ``<path>.partial``, renamed to ``path`` once the block ends without error."""
    partial = f"{path}.partial"
    with tf.io.gfile.GFile(partial, mode) as handle:
        handle.write(b"" if "b" in mode else "")  # GFile creates the file on its first write
        yield handle
    tf.io.gfile.rename(partial, path, overwrite=True)


def write_text(path: str, text: str) -> None:
    """Writes ``text`` to ``path`` through a temporary name."""
    with atomic(path) as handle:
        handle.write(text)


def _plain(value: object) -> object:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def to_json(payload: object) -> str:
    """Indented JSON text with a final newline; numpy scalars become Python numbers."""
    return json.dumps(payload, indent=2, default=_plain) + "\n"


def write_json(path: str, payload: object) -> None:
    """Writes ``payload`` as indented JSON, atomically."""
    write_text(path, to_json(payload))


def read_json(path: str) -> object:
    """Reads one JSON file."""
    with tf.io.gfile.GFile(path) as handle:
        return json.load(handle)


def write_jsonl(path: str, rows: Iterable[dict]) -> int:
    """Writes ``rows`` as JSON lines (streamed), atomically.

    Returns:
        The number of rows written.
    """
    count = 0
    with atomic(path) as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, default=_plain) + "\n")
            count += 1
    return count


def read_jsonl(path: str) -> list[dict]:
    """Reads a JSON-lines file; blank lines are skipped.

    Raises:
        tf.errors.NotFoundError: If the file does not exist.
    """
    with tf.io.gfile.GFile(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]
