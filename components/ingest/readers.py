"""Readers that turn a dataset layout into uniform clip records plus rejected metadata rows.

Three layouts are understood. FSD50K: ``FSD50K.metadata/{dev,eval}_clips_info_FSD50K.json``
(object keyed by clip id with title, description, tags, license, uploader),
``FSD50K.ground_truth/{dev,eval}.csv`` (``fname,labels,mids[,split]``) and
``FSD50K.{dev,eval}_audio/<id>.wav``; dev clips are fixed to train and eval clips are left for
the grouped validation/test split, grouped by uploader. ESC-50: ``meta/esc50.csv``
(``filename,fold,target,category,esc10,src_file,take``) and ``audio/``; the category is the
clip's only tag, folds 1–3 are train, 4 validation, 5 test, grouped by source recording; a split
whose folds are all absent (a copy without the reserved fold 4, say) is drawn, grouped and
stratified, from the training folds in proportion to its folds, and a note says so. A
manifest CSV (``<root>/manifest.csv`` or the CSV's own path): ``uri`` relative to the CSV's
folder or absolute (under that folder or an allowed root), ``tags`` (split on ``;``, else
``,``, else whitespace) and/or ``label`` (a class name), optional ``split``, ``clip_id``,
``source_id`` or ``uploader``, ``title``, ``description``, ``license``; other columns are kept
as metadata. Every row that cannot become a clip (missing audio, malformed fields, ids absent
from the other metadata file, audio outside the data root and the explicitly allowed roots, see
``confine.py``) becomes a ``Reject`` with a reason code and the reader carries on. All IO goes
through ``tf.io.gfile``.
"""

import csv
import dataclasses
import io
import json
import os
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import tensorflow as tf

from components.audio.labels import CLASS_NAMES
from components.ingest import confine

_SPLIT_NAMES = {
    "train": "train",
    "training": "train",
    "val": "validation",
    "valid": "validation",
    "validation": "validation",
    "test": "test",
    "eval": "test",
    "evaluation": "test",
}
ESC50_FOLD_SPLITS = {1: "train", 2: "train", 3: "train", 4: "validation", 5: "test"}
_CLIP_INFO_FIELDS = ("title", "description", "license", "uploader")


@dataclass(frozen=True)
class SourceClip:
    """One clip as read from a layout, before labelling and splitting.

    Attributes:
        clip_id: Unique id within the dataset.
        uri: Absolute path or ``gs://`` URI of the audio file.
        tags: Tags exactly as the metadata gives them.
        source_id: Grouping key that must never span two splits.
        origin: Where the dataset puts the clip (``dev``, ``eval``, ``fold4``, a CSV split...).
        split: The split the layout fixes, or None when the grouped seeded split decides.
        label: A class given directly (manifest ``label`` column) instead of by tags.
        title: Free-text title.
        description: Free-text description.
        license: License URL or name.
        uploader: Uploader or author name.
        metadata: Layout-specific extras kept for slicing (official labels, fold, columns...).
    """

    clip_id: str
    uri: str
    tags: tuple[str, ...]
    source_id: str
    origin: str
    split: str | None
    label: str | None = None
    title: str = ""
    description: str = ""
    license: str = ""
    uploader: str = ""
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Reject:
    """A metadata row that could not become a clip.

    Attributes:
        clip_id: The row's clip id (or row number when there is none).
        reason: Stable short code, e.g. ``missing_audio`` or ``tags_not_list``.
        detail: Human-readable explanation.
        file: The metadata file the row came from.
    """

    clip_id: str
    reason: str
    detail: str
    file: str


@dataclass
class Layout:
    """What a reader found: clips in file order, rejected rows, and how to split the rest.

    Attributes:
        clips: Clips in file order.
        rejects: Rows that could not become clips.
        pool_fractions: Split shares of the clips whose ``split`` is None when the layout decides
            them (an ESC-50 copy missing a fold); empty means the ingest configuration's.
        notes: Human-readable remarks for the label report (e.g. a missing fold).
    """

    clips: list[SourceClip] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    pool_fractions: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def join(root: str, *parts: str) -> str:
    """Joins path parts; local roots become absolute, URIs (``gs://``) keep their scheme."""
    if "://" in root:
        return posixpath.join(root, *parts)
    return os.path.join(os.path.abspath(root), *parts)


class AudioIndex:
    """Answers "does this audio file exist" with one directory listing per folder (cheap on GCS)."""

    def __init__(self) -> None:
        self._listings: dict[str, frozenset[str]] = {}

    def exists(self, uri: str) -> bool:
        """Whether ``uri`` is a file in its folder's listing."""
        folder, name = posixpath.split(uri) if "://" in uri else os.path.split(uri)
        if folder not in self._listings:
            try:
                self._listings[folder] = frozenset(tf.io.gfile.listdir(folder))
            except tf.errors.NotFoundError:
                self._listings[folder] = frozenset()
        return name in self._listings[folder]


def _confine(roots: confine.Roots, uri: str) -> tuple[str, tuple[str, str] | None]:
    """``(resolved uri, None)``, or ``(uri, (reason, detail))`` when it is outside the roots."""
    try:
        return roots.resolve(uri), None
    except confine.Refused as refused:
        return uri, (refused.reason, refused.detail)


def _read_text(path: str) -> str:
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"expected metadata file {path} is missing")
    with tf.io.gfile.GFile(path, "r") as handle:
        return handle.read()


def _csv_rows(path: str, required: Iterable[str]) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(_read_text(path)))
    missing = set(required) - set(reader.fieldnames or ())
    if missing:
        raise ValueError(f"{path}: missing column(s) {sorted(missing)}; found {reader.fieldnames}")
    return list(reader)


def read_fsd50k(data_root: str, allowed_roots: tuple[str, ...] = ()) -> Layout:
    """Reads the FSD50K layout (dev → train; eval left for the grouped validation/test split).

    Args:
        data_root: Folder holding ``FSD50K.metadata``, ``FSD50K.ground_truth`` and the audio.
        allowed_roots: Roots besides ``data_root`` that audio may live under.

    Returns:
        Clips of dev then eval in ground-truth order, and the rejected rows.

    Raises:
        FileNotFoundError: If a metadata or ground-truth file is missing.
    """
    layout, audio = Layout(), AudioIndex()
    roots = confine.Roots.of(data_root, allowed_roots)
    for subset in ("dev", "eval"):
        info_path = join(data_root, "FSD50K.metadata", f"{subset}_clips_info_FSD50K.json")
        truth_path = join(data_root, "FSD50K.ground_truth", f"{subset}.csv")
        info = json.loads(_read_text(info_path))
        if not isinstance(info, dict):
            raise ValueError(f"{info_path}: expected an object keyed by clip id")
        truth = {row["fname"]: row for row in _csv_rows(truth_path, ("fname", "labels", "mids"))}
        for clip_id in [*truth, *(key for key in info if key not in truth)]:
            if clip_id not in info:
                detail = f"{subset}.csv lists clip {clip_id} but the clips-info file does not"
                layout.rejects.append(Reject(clip_id, "not_in_clips_info", detail, truth_path))
                continue
            if clip_id not in truth:
                detail = f"clips-info has clip {clip_id} but {subset}.csv does not"
                layout.rejects.append(Reject(clip_id, "not_in_ground_truth", detail, info_path))
                continue
            clip = _fsd50k_clip(data_root, subset, clip_id, info[clip_id], truth[clip_id])
            if isinstance(clip, tuple):
                layout.rejects.append(Reject(clip_id, *clip, info_path))
                continue
            uri, problem = _confine(roots, clip.uri)
            if problem is None and not audio.exists(uri):
                problem = ("missing_audio", f"{uri} does not exist")
            if problem:
                layout.rejects.append(Reject(clip_id, *problem, info_path))
            else:
                layout.clips.append(dataclasses.replace(clip, uri=uri))
    return layout


def _fsd50k_clip(
    data_root: str, subset: str, clip_id: str, entry: object, truth: dict[str, str]
) -> SourceClip | tuple[str, str]:
    """Builds one FSD50K clip, or returns ``(reason, detail)`` when the entry is malformed."""
    if not isinstance(entry, dict):
        return "bad_entry", f"clips-info value is {type(entry).__name__}, not an object"
    tags = entry.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        return "tags_not_list", f"tags is {json.dumps(tags)[:80]}, not a list of strings"
    fields = {name: entry.get(name) or "" for name in _CLIP_INFO_FIELDS}
    bad = [name for name, value in fields.items() if not isinstance(value, str)]
    if bad:
        return "bad_field", f"{bad} must be strings"
    uploader = fields["uploader"]
    metadata = {"fsd50k_labels": truth["labels"], "fsd50k_mids": truth["mids"]}
    if truth.get("split"):
        metadata["fsd50k_split"] = truth["split"]
    return SourceClip(
        clip_id=clip_id,
        uri=join(data_root, f"FSD50K.{subset}_audio", f"{clip_id}.wav"),
        tags=tuple(tags),
        source_id=f"uploader:{uploader}" if uploader else f"clip:{clip_id}",
        origin=subset,
        split="train" if subset == "dev" else None,
        metadata=metadata,
        **fields,
    )


def read_esc50(data_root: str, allowed_roots: tuple[str, ...] = ()) -> Layout:
    """Reads the ESC-50 layout (folds 1–3 train, 4 validation, 5 test; category = tag).

    Args:
        data_root: Folder holding ``meta/esc50.csv`` and ``audio/``.
        allowed_roots: Roots besides ``data_root`` that audio may live under.

    Returns:
        Clips in CSV order and the rejected rows; when a split's folds are all absent, the
        training folds' clips are left to the pool with shares by fold count, and a note.

    Raises:
        FileNotFoundError: If ``meta/esc50.csv`` is missing.
        ValueError: If clips exist but none of them is in a training fold.
    """
    layout, audio = Layout(), AudioIndex()
    roots = confine.Roots.of(data_root, allowed_roots)
    meta_path = join(data_root, "meta", "esc50.csv")
    columns = ("filename", "fold", "category", "src_file")
    for number, row in enumerate(_csv_rows(meta_path, columns), start=2):
        filename = (row["filename"] or "").strip()
        clip_id = posixpath.splitext(filename)[0] or f"row{number}"
        fold = (row["fold"] or "").strip()
        category = (row["category"] or "").strip()
        problem = None
        if not filename:
            problem = ("missing_filename", f"row {number} has no filename")
        elif not fold.isdigit() or int(fold) not in ESC50_FOLD_SPLITS:
            problem = ("bad_fold", f"fold {fold!r} is not 1-5")
        elif not category:
            problem = ("missing_category", "empty category")
        uri = join(data_root, "audio", filename)
        if problem is None:
            uri, problem = _confine(roots, uri)
        if problem is None and not audio.exists(uri):
            problem = ("missing_audio", f"{uri} does not exist")
        if problem:
            layout.rejects.append(Reject(clip_id, *problem, meta_path))
            continue
        src_file = (row["src_file"] or "").strip()
        layout.clips.append(
            SourceClip(
                clip_id=clip_id,
                uri=uri,
                tags=(category,),
                source_id=f"src:{src_file}" if src_file else f"clip:{clip_id}",
                origin=f"fold{fold}",
                split=ESC50_FOLD_SPLITS[int(fold)],
                metadata={
                    key: row[key]
                    for key in ("fold", "target", "category", "esc10", "take")
                    if row.get(key) is not None
                },
            )
        )
    return _draw_missing_folds(layout)


def _draw_missing_folds(layout: Layout) -> Layout:
    """Pools the training folds' clips when validation's or test's folds have no clip.

    A training-fold clip whose source also has clips in another kept fold stays fixed to train,
    so the grouping keeps the whole source in train as it does with every fold present.
    """
    present = {int(clip.metadata["fold"]) for clip in layout.clips}
    folds_of: dict[str, list[int]] = {}
    for fold, split in ESC50_FOLD_SPLITS.items():
        folds_of.setdefault(split, []).append(fold)
    missing = [split for split, folds in folds_of.items() if not present & set(folds)]
    if not layout.clips or not missing:
        return layout
    if "train" in missing:
        raise ValueError(f"ESC-50 layout has no clip in the training folds {folds_of['train']}")
    layout.pool_fractions = {split: float(len(folds_of[split])) for split in ("train", *missing)}
    total = sum(layout.pool_fractions.values())
    # A source that also has clips in a kept fold stays in train, where the grouping pulls it.
    anchored = {clip.source_id for clip in layout.clips if clip.split != "train"}
    layout.clips = [
        replace(clip, split=None)
        if clip.split == "train" and clip.source_id not in anchored
        else clip
        for clip in layout.clips
    ]
    for split in missing:
        layout.notes.append(
            f"ESC-50 fold(s) {folds_of[split]} ({split}) have no clip: {split} is drawn from "
            f"folds {folds_of['train']} ({len(folds_of[split])}/{total:g} of their clips, "
            "grouped by source recording, stratified by class)"
        )
    return layout


def split_tags(field_value: str) -> tuple[str, ...]:
    """Splits a manifest ``tags`` cell on ``;``, else ``,``, else whitespace."""
    for separator in (";", ","):
        if separator in field_value:
            return tuple(tag.strip() for tag in field_value.split(separator) if tag.strip())
    return tuple(field_value.split())


def read_manifest(data_root: str, allowed_roots: tuple[str, ...] = ()) -> Layout:
    """Reads a labelled manifest CSV (``uri`` plus ``tags`` and/or ``label``).

    Args:
        data_root: The CSV's path, or a folder holding ``manifest.csv``; audio must lie under
            the CSV's folder.
        allowed_roots: Roots besides the CSV's folder that audio may live under.

    Returns:
        Clips in CSV order and the rejected rows.

    Raises:
        FileNotFoundError: If the CSV is missing.
        ValueError: If it has no ``uri`` column or neither ``tags`` nor ``label``.
    """
    csv_path = data_root if data_root.endswith(".csv") else join(data_root, "manifest.csv")
    csv_path = join(csv_path)
    folder = posixpath.dirname(csv_path) if "://" in csv_path else os.path.dirname(csv_path)
    rows = _csv_rows(csv_path, ("uri",))
    columns = set(rows[0]) if rows else set()
    if rows and not columns & {"tags", "label"}:
        raise ValueError(f"{csv_path}: needs a 'tags' or a 'label' column; found {sorted(columns)}")
    known = {
        "uri",
        "tags",
        "label",
        "split",
        "clip_id",
        "source_id",
        "uploader",
        "title",
        "description",
        "license",
    }
    layout, audio = Layout(), AudioIndex()
    roots = confine.Roots.of(folder, allowed_roots)
    for number, row in enumerate(rows, start=2):
        row = {key: (value or "").strip() for key, value in row.items() if key is not None}
        uri = row["uri"]
        if uri and "://" not in uri and not os.path.isabs(uri):
            uri = join(folder, uri)
        stem = posixpath.splitext(posixpath.basename(uri))[0]
        clip_id = row.get("clip_id") or stem or f"row{number}"
        label = row.get("label", "").lower() or None
        split = row.get("split", "").lower()
        problem = None
        if not uri:
            problem = ("missing_uri", f"row {number} has no uri")
        elif label is not None and label not in CLASS_NAMES:
            problem = ("unknown_label", f"label {label!r} is not one of {list(CLASS_NAMES)}")
        elif split and split not in _SPLIT_NAMES:
            problem = ("unknown_split", f"split {split!r} is not one of {sorted(_SPLIT_NAMES)}")
        else:
            uri, problem = _confine(roots, uri)
        if problem is None and not audio.exists(uri):
            problem = ("missing_audio", f"{uri} does not exist")
        if problem:
            layout.rejects.append(Reject(clip_id, *problem, csv_path))
            continue
        source = row.get("source_id") or row.get("uploader")
        layout.clips.append(
            SourceClip(
                clip_id=clip_id,
                uri=uri,
                tags=split_tags(row.get("tags", "")),
                source_id=f"source:{source}" if source else f"clip:{clip_id}",
                origin=split,
                split=_SPLIT_NAMES[split] if split else None,
                label=label,
                title=row.get("title", ""),
                description=row.get("description", ""),
                license=row.get("license", ""),
                uploader=row.get("uploader", ""),
                metadata={key: value for key, value in row.items() if key not in known},
            )
        )
    return layout


READERS = {"fsd50k": read_fsd50k, "esc50": read_esc50, "manifest": read_manifest}
