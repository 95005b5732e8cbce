"""ingest: a dataset layout → labelled, split ``manifest.jsonl`` plus a label report and rejects.

The first step of the pipeline. A reader (``readers.py``) turns FSD50K, ESC-50 or a manifest CSV
into clip records (several data roots: each read and split on its own, then merged by source
recording, ``merge.py``); the taxonomy file (``taxonomy.py``) bins each clip's tags into one of the
eight classes and records which rule and tag fired and whether the clip is ambiguous; the split
(``splits.py``) keeps every uploader / source recording inside one of train, validation and
test, stratified by class where the layout leaves the split open. Outputs under ``output_dir``
(local or ``gs://``, written atomically): ``manifest.jsonl`` (one record per clip, fields in
``docs/contracts.md``), ``label_report.json`` (class counts per split, rule and tag hits,
ambiguity, rejects, reassignments, the layout's notes such as a missing fold) and
``rejects.jsonl`` (metadata rows that could not become clips, with the reason; ingestion carries
on without them).
"""

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass

import tensorflow as tf

from components.artifacts import files
from components.artifacts.manifest import write_manifest
from components.artifacts.names import LABEL_REPORT_FILE, MANIFEST_FILE, REJECTS_FILE, SPLITS
from components.audio.labels import CLASS_INDEX, CLASS_NAMES
from components.ingest import merge, readers, splits, taxonomy
from components.ingest.config import DataRoot, IngestConfig

LABEL_RULE = "label"  # rule recorded for clips whose class a manifest CSV gives directly


@dataclass(frozen=True, kw_only=True)
class IngestResult:
    """Counts of what ingest wrote.

    Attributes:
        dataset: The layout read (``esc50+manifest`` for several data roots).
        clips: Clips in the manifest.
        clips_per_split: Clips per split.
        class_counts: Clips per class per split (every class and split present).
        ambiguous: Clips whose tags matched more than one class.
        rejects: Metadata rows that did not become clips.
        reassigned: Clips moved to another split to keep their source in one split.
        output_dir: Where the manifest, label report and rejects are.
    """

    dataset: str
    clips: int
    clips_per_split: dict[str, int]
    class_counts: dict[str, dict[str, int]]
    ambiguous: int
    rejects: int
    reassigned: int
    output_dir: str

    @property
    def manifest_path(self) -> str:
        """Path of ``manifest.jsonl``."""
        return readers.join(self.output_dir, MANIFEST_FILE)

    def summary(self) -> dict:
        """JSON-serialisable summary for logs and KFP metadata."""
        return {**asdict(self), "manifest_path": self.manifest_path}


def _label(clip: readers.SourceClip, tags: list[str], rules: taxonomy.Taxonomy) -> dict:
    if clip.label is not None:
        match = taxonomy.Match(clip.label, LABEL_RULE, None, (clip.label,))
    else:
        match = rules.classify(tags)
    return {
        "label": match.label,
        "label_index": CLASS_INDEX[match.label],
        "tags": tags,
        "rule": match.rule,
        "matched_tag": match.matched_tag,
        "matched_classes": list(match.matched_classes),
        "ambiguous": match.ambiguous,
    }


def _dedupe(layout: readers.Layout) -> list[readers.SourceClip]:
    seen: set[str] = set()
    unique = []
    for clip in layout.clips:
        if clip.clip_id in seen:
            detail = f"clip id {clip.clip_id} already used; {clip.uri} skipped"
            layout.rejects.append(readers.Reject(clip.clip_id, "duplicate_clip_id", detail, ""))
            continue
        seen.add(clip.clip_id)
        unique.append(clip)
    return unique


@dataclass(frozen=True)
class _Dataset:
    """One data root as ingest read, labelled and split it on its own."""

    root: DataRoot
    records: list[dict]
    layout: readers.Layout
    moved: list[splits.Reassignment]

    def summary(self, config: IngestConfig) -> dict:
        """The root's line in the label report's ``datasets``."""
        return {
            "data_root": self.root.root,
            "data_format": self.root.data_format,
            "normalize_tags": config.normalizes(self.root.data_format),
            "clips": len(self.records),
            "rejects": len(self.layout.rejects),
            "reassigned": len(self.moved),
            "notes": list(self.layout.notes),
        }


def _read(root: DataRoot, config: IngestConfig, rules: taxonomy.Taxonomy) -> _Dataset:
    """Reads, labels and splits one data root as if it were the only one."""
    layout = readers.READERS[root.data_format](root.root, tuple(config.allowed_roots))
    clips = _dedupe(layout)
    if not clips:
        raise ValueError(
            f"no usable clips in {root.root} ({root.data_format}); "
            f"{len(layout.rejects)} row(s) rejected"
        )
    normalizes = config.normalizes(root.data_format)
    labelled = {
        clip.clip_id: _label(
            clip, taxonomy.normalize_tags(clip.tags) if normalizes else list(clip.tags), rules
        )
        for clip in clips
    }
    assigned, moved = splits.assign(
        clips,
        {clip_id: labels["label"] for clip_id, labels in labelled.items()},
        layout.pool_fractions or config.pool_fractions(root.data_format),
        config.seed,
    )
    records = [
        {
            "clip_id": clip.clip_id,
            "uri": clip.uri,
            "split": assigned[clip.clip_id],
            **labelled[clip.clip_id],
            "source_id": clip.source_id,
            "title": clip.title,
            "description": clip.description,
            "license": clip.license,
            "uploader": clip.uploader,
            "dataset": root.data_format,
            "metadata": clip.metadata,
        }
        for clip in clips
    ]
    return _Dataset(root, records, layout, moved)


def _label_report(
    records: list[dict],
    datasets: list[_Dataset],
    rejects: list[readers.Reject],
    moved: list[splits.Reassignment],
    config: IngestConfig,
    rules: taxonomy.Taxonomy,
) -> dict:
    class_counts = {split: {name: 0 for name in CLASS_NAMES} for split in (*SPLITS, "all")}
    tag_hits: dict[str, Counter[str]] = defaultdict(Counter)
    ambiguous_by_classes: Counter[str] = Counter()
    sources: dict[str, set[str]] = defaultdict(set)
    for record in records:
        class_counts[record["split"]][record["label"]] += 1
        class_counts["all"][record["label"]] += 1
        if record["matched_tag"] is not None:
            tag_hits[record["rule"]][record["matched_tag"]] += 1
        if record["ambiguous"]:
            ambiguous_by_classes["+".join(record["matched_classes"])] += 1
        sources[record["split"]].add(record["source_id"])
    rule_hits = Counter(record["rule"] for record in records)
    several = len(datasets) > 1
    return {
        "dataset": _formats(datasets),
        "datasets": [dataset.summary(config) for dataset in datasets],
        "taxonomy": {"name": rules.name, "source": rules.source},
        "normalize_tags": config.normalizes(config.data_format),
        "seed": config.seed,
        "clips": len(records),
        "class_counts": class_counts,
        "sources_per_split": {split: len(sources[split]) for split in SPLITS},
        "notes": [
            f"{dataset.root.root} ({dataset.root.data_format}): {note}" if several else note
            for dataset in datasets
            for note in dataset.layout.notes
        ],
        "rule_hits": dict(rule_hits.most_common()),
        "tag_hits": {rule: dict(hits.most_common()) for rule, hits in sorted(tag_hits.items())},
        "ambiguous": {
            "count": sum(ambiguous_by_classes.values()),
            "by_classes": dict(ambiguous_by_classes.most_common()),
        },
        "rejects": {
            "count": len(rejects),
            "by_reason": dict(Counter(reject.reason for reject in rejects).most_common()),
        },
        "reassignments": {
            "count": len(moved),
            "by_reason": dict(Counter(move.reason for move in moved).most_common()),
            "clips": [asdict(move) for move in moved],
        },
    }


def _formats(datasets: list[_Dataset]) -> str:
    """``esc50``, or ``esc50+manifest`` for several data roots."""
    return "+".join(dataset.root.data_format for dataset in datasets)


def run(data_root: str, output_dir: str, config: IngestConfig) -> IngestResult:
    """Reads dataset layouts, labels and splits their clips, and writes one manifest.

    Args:
        data_root: Dataset root (or a manifest CSV's path), local or ``gs://``; its layout is
            ``config.data_format``. ``config.more_data_roots`` are read the same way, each split
            on its own, then merged with it by source recording (``merge.py``).
        output_dir: Folder for ``manifest.jsonl``, ``label_report.json`` and ``rejects.jsonl``.
        config: Layouts, taxonomy, tag normalisation and split options.

    Returns:
        Counts of clips, classes, ambiguity, rejects and reassignments.

    Raises:
        FileNotFoundError: If a required metadata file of a layout is missing.
        ValueError: If a layout is malformed as a whole or a data root yields no usable clip.
        taxonomy.TaxonomyError: If the taxonomy file is invalid.
    """
    rules = taxonomy.load(config.taxonomy_path)
    roots = (DataRoot(data_root, config.data_format), *config.more_data_roots)
    datasets = [_read(root, config, rules) for root in roots]
    rejects = [reject for dataset in datasets for reject in dataset.layout.rejects]
    moved = [move for dataset in datasets for move in dataset.moved]
    if len(datasets) == 1:
        records = datasets[0].records
    else:
        records, merge_moves, merge_rejects = merge.merge([d.records for d in datasets])
        moved += merge_moves
        rejects += merge_rejects
    report = _label_report(records, datasets, rejects, moved, config, rules)
    tf.io.gfile.makedirs(output_dir)
    write_manifest(readers.join(output_dir, MANIFEST_FILE), records)
    files.write_jsonl(readers.join(output_dir, REJECTS_FILE), [asdict(r) for r in rejects])
    files.write_json(readers.join(output_dir, LABEL_REPORT_FILE), report)
    return IngestResult(
        dataset=report["dataset"],
        clips=len(records),
        clips_per_split={split: sum(report["class_counts"][split].values()) for split in SPLITS},
        class_counts={split: report["class_counts"][split] for split in SPLITS},
        ambiguous=report["ambiguous"]["count"],
        rejects=len(rejects),
        reassigned=len(moved),
        output_dir=output_dir,
    )
