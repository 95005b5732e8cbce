"""The manifest: one JSON object per clip (fields in docs/contracts.md), read by every step.

Ingest writes it, rebalance rewrites it with oversampled copies, featurize and evaluate read it.
"""

from collections.abc import Iterable

from components.artifacts import files


def write_manifest(path: str, records: Iterable[dict]) -> None:
    """Writes manifest records as JSON lines, atomically."""
    files.write_jsonl(path, records)


def read_manifest(path: str) -> list[dict]:
    """Reads every record of a manifest, in file order."""
    return files.read_jsonl(path)
