"""The manifest: one JSON object per clip (fields in docs/contracts.md), read by every step.

Ingest writes it, rebalance rewrites it with oversampled copies, featurize and evaluate read it.
``source_of`` is the recording a record comes from, the group no split and no CV fold may cut.
"""

from collections.abc import Iterable

from components.artifacts import files
from components.artifacts.names import AUGMENTED_COPY_MARK


def source_of(record: dict) -> str:
    """The record's ``source_id``; without one, its clip's (an augmented copy's: its source's)."""
    return str(record.get("source_id") or record["clip_id"].split(AUGMENTED_COPY_MARK)[0])


def write_manifest(path: str, records: Iterable[dict]) -> None:
    """Writes manifest records as JSON lines, atomically."""
    files.write_jsonl(path, records)


def read_manifest(path: str) -> list[dict]:
    """Reads every record of a manifest, in file order."""
    return files.read_jsonl(path)
