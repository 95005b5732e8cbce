"""Presenting ingest's label report: scalar metrics for KFP and a Markdown summary for its UI.

``log_counts`` feeds an ``IngestResult``'s counts to any ``log_metric(name, value)`` callable (the
KFP ``Metrics`` artifact's method in the wrapper). ``write_markdown`` renders
``label_report.json`` as Markdown: the data roots (when several), the layouts' notes (a missing
fold...), clips per class and split, the rules and tags that fired most, ambiguous class
combinations, rejected rows by reason and split reassignments.
"""

from collections.abc import Callable

import tensorflow as tf

from components.artifacts import files
from components.artifacts.cells import markdown_cell
from components.ingest.core import IngestResult

_TOP_TAGS = 5


def log_counts(result: IngestResult, log_metric: Callable[[str, float], None]) -> None:
    """Logs clips per split and class, ambiguous, rejected and reassigned counts.

    Args:
        result: What ``core.run`` returned.
        log_metric: Called once per metric with its name and value.
    """
    log_metric("clips", result.clips)
    for split, count in result.clips_per_split.items():
        log_metric(f"clips_{split}", count)
    for name, count in result.class_counts["train"].items():
        log_metric(f"train_{name}", count)
    log_metric("ambiguous", result.ambiguous)
    log_metric("rejects", result.rejects)
    log_metric("reassigned", result.reassigned)


def markdown(report: dict) -> str:
    """Renders a label report (``label_report.json``'s content) as Markdown."""
    counts = report["class_counts"]
    splits = [split for split in counts if split != "all"]
    lines = [
        f"# Ingest: {report['clips']} {markdown_cell(report['dataset'])} clips",
        "",
        f"Taxonomy {markdown_cell(report['taxonomy']['name'])}, tag normalisation "
        f"{'on' if report['normalize_tags'] else 'off'}, seed {report['seed']}.",
        "",
        *_datasets_table(report.get("datasets", [])),
        *(f"> {note}\n" for note in report.get("notes", [])),
        "| class | " + " | ".join(splits) + " | all |",
        "|---" * (len(splits) + 2) + "|",
    ]
    cell = markdown_cell
    for name in counts["all"]:
        cells = [str(counts[split][name]) for split in (*splits, "all")]
        lines.append(f"| {cell(name)} | " + " | ".join(cells) + " |")
    lines += ["", "## Rules fired", "", "| rule | clips | top tags |", "|---|---|---|"]
    for rule, hits in report["rule_hits"].items():
        tags = list(report["tag_hits"].get(rule, {}).items())[:_TOP_TAGS]
        top = ", ".join(f"{cell(t)} ({n})" for t, n in tags)
        lines.append(f"| {cell(rule)} | {hits} | {top} |")
    sections = (
        ("Ambiguous clips (first class won)", report["ambiguous"]["by_classes"]),
        ("Rejected metadata rows", report["rejects"]["by_reason"]),
        ("Clips moved to keep each source in one split", report["reassignments"]["by_reason"]),
    )
    for title, by_key in sections:
        lines += ["", f"## {title}: {sum(by_key.values())}", ""]
        lines += [f"- {cell(key)}: {count}" for key, count in by_key.items()] or ["- none"]
    return "\n".join(lines) + "\n"


def _datasets_table(datasets: list[dict]) -> list[str]:
    """One row per data root when there are several (none for one)."""
    if len(datasets) < 2:
        return []
    cell = markdown_cell
    rows = [
        f"| {cell(d['data_root'])} | {cell(d['data_format'])} | {d['clips']} | {d['rejects']} "
        f"| {d['reassigned']} |"
        for d in datasets
    ]
    header = "| data root | layout | clips | rejected rows | moved within it |"
    return [header, "|---|---|---:|---:|---:|", *rows, ""]


def write_markdown(report_path: str, markdown_path: str) -> None:
    """Reads ``label_report.json`` and writes its Markdown rendering.

    Args:
        report_path: Path of ``label_report.json`` (local or ``gs://``).
        markdown_path: Path of the Markdown file to write.
    """
    report = files.read_json(report_path)
    with tf.io.gfile.GFile(markdown_path, "w") as handle:
        handle.write(markdown(report))
