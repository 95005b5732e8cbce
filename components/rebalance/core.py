"""rebalance: manifest → manifest whose training split has the same number of clips per class.

Runs before featurize, on the manifest written by ingest. Classes with more training clips than
the target are randomly undersampled (or kept whole with ``keep_majority_clips``); classes with
fewer keep every clip and are topped up with randomly drawn copies, each a new record
(``<clip_id>__aug<k>``: ``AUGMENTED_COPY_MARK``) with the source's ``source_id`` and an
``augment`` spec (SNR, semitones, seed) that featurize applies to the waveform
(``components/audio/augment.py``). Validation and test records pass through untouched, and a
training ``source_id`` that also appears in another split stops the step, so no source leaks.
Outputs: ``manifest.jsonl``, ``rebalance_report.json`` and the per-class before/after table
(``class_table.md``, ``class_table.csv``). Everything is drawn from one seeded generator.
"""

import csv
import io
import logging
import os
from collections import Counter
from dataclasses import asdict, dataclass

import numpy as np
import tensorflow as tf

from components.artifacts import files
from components.artifacts.cells import csv_cell, markdown_cell
from components.artifacts.manifest import read_manifest, source_of, write_manifest
from components.artifacts.names import AUGMENTED_COPY_MARK, MANIFEST_FILE, TRAIN
from components.audio.labels import CLASS_NAMES
from components.rebalance.config import MIN_SEMITONES, RebalanceConfig


@dataclass(frozen=True, kw_only=True)
class RebalanceResult:
    """Per-class training counts before and after, and where the outputs went."""

    before: dict[str, int]
    after: dict[str, int]
    augmented: dict[str, int]
    dropped: dict[str, int]
    untouched_per_split: dict[str, int]
    empty_classes: list[str]
    manifest_path: str

    def summary(self) -> dict:
        """JSON-serialisable form, as written to ``rebalance_report.json``."""
        return asdict(self)


def _check_no_leak(train: list[dict], others: list[dict]) -> None:
    leaked = {source_of(r) for r in train} & {source_of(r) for r in others}
    if leaked:
        raise ValueError(
            f"{len(leaked)} source_id(s) appear in train and in validation/test, e.g. "
            f"{sorted(leaked)[:5]}; fix the splits before rebalancing"
        )


def _semitones(rng: np.random.Generator, low: float, high: float) -> float:
    while True:
        value = float(rng.uniform(low, high))
        if abs(value) >= MIN_SEMITONES:
            return value


def _augmented_copies(
    records: list[dict], count: int, rng: np.random.Generator, cfg: RebalanceConfig
) -> list[dict]:
    """Draws ``count`` sources with replacement and makes one augmented record per draw."""
    copies, numbers = [], Counter()
    for index in rng.choice(len(records), size=count, replace=True):
        source = records[int(index)]
        numbers[source["clip_id"]] += 1
        spec = {
            "source_clip_id": source["clip_id"],
            "snr_db": round(float(rng.uniform(*cfg.snr_db_range)), 3),
            "semitones": round(_semitones(rng, *cfg.semitone_range), 3),
            "seed": int(rng.integers(0, 2**31 - 1)),
        }
        clip_id = f"{source['clip_id']}{AUGMENTED_COPY_MARK}{numbers[source['clip_id']]}"
        copies.append({**source, "clip_id": clip_id, "augment": spec})
    return copies


def rebalance_train(
    train: list[dict], cfg: RebalanceConfig
) -> tuple[list[dict], dict[str, dict[str, int]]]:
    """Under/oversamples training records to ``cfg.target_per_class`` per class.

    With ``cfg.keep_majority_clips`` a class above the target keeps every record.

    Args:
        train: Training manifest records (each with ``label``).
        cfg: Target, augmentation ranges and seed.

    Returns:
        The balanced records (originals in manifest order, then copies, class by class) and
        per-class counts ``{class: {before, after, augmented, dropped}}``.
    """
    rng = np.random.default_rng(cfg.seed)
    by_class: dict[str, list[dict]] = {name: [] for name in CLASS_NAMES}
    for record in train:
        by_class[record["label"]].append(record)
    balanced, counts = [], {}
    for name in CLASS_NAMES:
        records = by_class[name]
        if len(records) >= cfg.target_per_class and cfg.keep_majority_clips:
            chosen, copies = records, []
        elif len(records) >= cfg.target_per_class:
            keep = np.sort(rng.choice(len(records), size=cfg.target_per_class, replace=False))
            chosen, copies = [records[i] for i in keep], []
        elif records:
            chosen = records
            copies = _augmented_copies(records, cfg.target_per_class - len(records), rng, cfg)
        else:
            chosen, copies = [], []
        balanced.extend(chosen + copies)
        counts[name] = {
            "before": len(records),
            "after": len(chosen) + len(copies),
            "augmented": len(copies),
            "dropped": len(records) - len(chosen),
        }
    return balanced, counts


def class_table_markdown(result: RebalanceResult) -> str:
    """The per-class before/after table as Markdown."""
    lines = [
        "| class | before | after | augmented copies | dropped |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in CLASS_NAMES:
        lines.append(
            f"| {markdown_cell(name)} | {result.before[name]} | {result.after[name]} | "
            f"{result.augmented[name]} | {result.dropped[name]} |"
        )
    total = {key: sum(getattr(result, key).values()) for key in ("before", "after")}
    lines.append(
        f"| **total** | {total['before']} | {total['after']} | "
        f"{sum(result.augmented.values())} | {sum(result.dropped.values())} |"
    )
    if result.empty_classes:
        empty = ", ".join(markdown_cell(name) for name in result.empty_classes)
        lines.append(f"\nNo training clip to oversample for: {empty}.")
    return "\n".join(lines) + "\n"


def _class_table_csv(result: RebalanceResult) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["class", "before", "after", "augmented", "dropped"])
    for name in CLASS_NAMES:
        writer.writerow(
            [
                csv_cell(name),
                result.before[name],
                result.after[name],
                result.augmented[name],
                result.dropped[name],
            ]
        )
    return buffer.getvalue()


def run(
    manifest_path: str, output_dir: str, cfg: RebalanceConfig = RebalanceConfig()
) -> RebalanceResult:
    """Rebalances the training split of a manifest.

    Args:
        manifest_path: ``manifest.jsonl`` from ingest (local or ``gs://``).
        output_dir: Receives ``manifest.jsonl``, ``rebalance_report.json``, ``class_table.md``
            and ``class_table.csv``.
        cfg: Target per class, augmentation ranges and seed.

    Returns:
        Per-class counts and the written manifest's path.

    Raises:
        ValueError: If a training ``source_id`` also appears in validation or test.
    """
    records = read_manifest(manifest_path)
    train = [r for r in records if r["split"] == TRAIN]
    others = [r for r in records if r["split"] != TRAIN]
    _check_no_leak(train, others)
    balanced, counts = rebalance_train(train, cfg)
    empty = [name for name in CLASS_NAMES if counts[name]["before"] == 0]
    if empty:
        logging.warning("rebalance: no training clip for %s; they stay empty", empty)
    tf.io.gfile.makedirs(output_dir)
    manifest_out = os.path.join(output_dir, MANIFEST_FILE)
    write_manifest(manifest_out, others + balanced)
    result = RebalanceResult(
        before={name: c["before"] for name, c in counts.items()},
        after={name: c["after"] for name, c in counts.items()},
        augmented={name: c["augmented"] for name, c in counts.items()},
        dropped={name: c["dropped"] for name, c in counts.items()},
        untouched_per_split=dict(Counter(r["split"] for r in others)),
        empty_classes=empty,
        manifest_path=manifest_out,
    )
    report = {**result.summary(), "config": asdict(cfg)}
    files.write_json(os.path.join(output_dir, "rebalance_report.json"), report)
    files.write_text(os.path.join(output_dir, "class_table.md"), class_table_markdown(result))
    files.write_text(os.path.join(output_dir, "class_table.csv"), _class_table_csv(result))
    return result
