"""Human-readable views of a featurize run for the Kubeflow UI: metrics and a dead-letter table."""

from collections.abc import Callable

import tensorflow as tf

from components.artifacts.cells import markdown_cell
from components.featurize.core import FeaturizeResult


def log_counts(result: FeaturizeResult, log_metric: Callable[[str, float], None]) -> None:
    """Logs clips per split, dead letters per reason and the wall time as scalar metrics."""
    for split, count in result.clips_per_split.items():
        log_metric(f"clips_{split}", count)
    for reason, count in sorted(result.dead_letter_per_reason.items()):
        log_metric(f"dead_letter_{reason}", count)
    log_metric("dead_letter_total", result.dead_letter_total)
    log_metric("seconds", result.seconds)


def markdown(result: FeaturizeResult) -> str:
    """A Markdown summary: counts per split and the first dead-lettered clips with reasons."""
    lines = ["## Featurize", "", "| split | clips |", "|---|---|"]
    lines += [f"| {split} | {count} |" for split, count in result.clips_per_split.items()]
    lines += ["", f"**Dead letter: {result.dead_letter_total} clips**", ""]
    if result.dead_letter_examples:
        cell = markdown_cell
        lines += ["| clip | split | reason | detail |", "|---|---|---|---|"]
        lines += [
            f"| {cell(row['clip_id'])} | {cell(row['split'])} | {cell(row['reason'])} | "
            f"{cell(row['detail'][:120])} |"
            for row in result.dead_letter_examples
        ]
    return "\n".join(lines) + "\n"


def write_markdown(result: FeaturizeResult, path: str) -> None:
    """Writes ``markdown(result)`` to ``path``."""
    with tf.io.gfile.GFile(path, "w") as handle:
        handle.write(markdown(result))
