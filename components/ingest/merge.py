"""Several datasets in one manifest: each keeps its splits, a recording they share stays in one.

Ingest reads every data root with its own layout and splits it as if it were alone (``core``);
``merge`` then joins their records. Datasets cut from one collection name the same recordings
(ESC-50's ``src_file`` and UrbanSound8K's ``fsID`` are both Freesound recording ids, and 29
recordings are in both), so each record's ``source_id`` becomes the recording's id without its
reader's prefix (``src:123``, ``source:123`` → ``123``); an uploader (``uploader:…``) or a lone
clip (``clip:…``) keeps its prefix and never meets a recording id. ``splits.assign``, with every
clip's split fixed to the one its dataset gave it, then moves a recording that two datasets put
in different splits whole to the earliest (train → validation → test); each moved clip is a
``Reassignment`` with reason ``shared_recording_in_<split>``, counted in the label report. A clip
id an earlier data root already used becomes a ``Reject`` (``duplicate_clip_id``) and the rest
carries on.
"""

import dataclasses
from collections.abc import Sequence

from components.ingest import readers, splits

RECORDING_PREFIXES = ("src", "source")  # the ESC-50 and manifest readers' recording ids
MERGE_REASON_PREFIX = "shared_recording_in_"  # + the split: a move's reason in the label report


def recording(source_id: str) -> str:
    """A source id's recording value without its reader's prefix (``src:123`` → ``123``)."""
    prefix, _, value = source_id.partition(":")
    return value if prefix in RECORDING_PREFIXES and value else source_id


def merge(
    datasets: Sequence[Sequence[dict]],
) -> tuple[list[dict], list[splits.Reassignment], list[readers.Reject]]:
    """Joins the manifest records of several datasets, keeping every recording in one split.

    Args:
        datasets: Each data root's manifest records (with ``clip_id``, ``uri``, ``split``,
            ``label``, ``source_id``, ``dataset``), in the order the roots were given.

    Returns:
        The merged records (``source_id`` as the recording's id, ``split`` after the moves), the
        clips moved, and the clips refused because an earlier data root used their id.
    """
    records: list[dict] = []
    rejects: list[readers.Reject] = []
    root_of: dict[str, int] = {}
    for index, dataset in enumerate(datasets, start=1):
        for record in dataset:
            clip_id = record["clip_id"]
            if clip_id in root_of:
                detail = (
                    f"clip id {clip_id} of data root {index} ({record['dataset']}) is already "
                    f"used by data root {root_of[clip_id]}; {record['uri']} skipped"
                )
                rejects.append(readers.Reject(clip_id, "duplicate_clip_id", detail, record["uri"]))
                continue
            root_of[clip_id] = index
            records.append({**record, "source_id": recording(record["source_id"])})
    clips = [
        readers.SourceClip(
            clip_id=r["clip_id"],
            uri=r["uri"],
            tags=(),
            source_id=r["source_id"],
            origin=f"{r['dataset']}:{r['split']}",
            split=r["split"],
        )
        for r in records
    ]
    labels = {record["clip_id"]: record["label"] for record in records}
    assigned, moved = splits.assign(clips, labels, {}, seed=0)  # every split is fixed: no pool
    for record in records:
        record["split"] = assigned[record["clip_id"]]
    moved = [dataclasses.replace(move, reason=MERGE_REASON_PREFIX + move.split) for move in moved]
    return records, moved, rejects
