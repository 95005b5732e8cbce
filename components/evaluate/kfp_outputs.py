"""Copies an evaluation directory's results into Kubeflow-native artifacts.

The Kubeflow UI renders ``Metrics`` as a table, ``ClassificationMetrics`` as a confusion matrix,
and ``HTML``/``Markdown`` inline. This module fills those from the files ``core.run`` wrote; it
duck-types the artifact objects, so it imports no KFP and tests can pass simple stand-ins. The
slices go out as ``slices.md`` (Markdown): ``SlicedClassificationMetrics`` is not rendered by the
KFP UI (its ``MetricsVisualizations`` view knows Metrics, ClassificationMetrics, HTML and
Markdown only) and is broken in kfp 2.17.3 (kubeflow/pipelines#8117, #10250).
"""

import os
import shutil

from components.artifacts import files
from components.artifacts.names import (
    BEST,
    METRICS_FILE,
    REPORT_HTML_FILE,
    SLICES_TABLE_FILE,
)

HEADLINE_KEYS = ("accuracy", "macro_f1", "macro_precision", "macro_recall", "weighted_f1")


def read(evaluation_dir: str, filename: str) -> dict | list:
    """Reads one JSON file of the evaluation directory."""
    return files.read_json(os.path.join(evaluation_dir, filename))


def headline_metrics(summary: dict) -> dict[str, float]:
    """``{"<model>.<metric>": value}`` for every model, plus the best model's macro-F1.

    Args:
        summary: ``metrics.json`` as a dict.
    """
    scalars = {
        f"{name}.{key}": round(float(entry[key]), 4)
        for name, entry in sorted(summary["models"].items())
        for key in HEADLINE_KEYS
        if key in entry
    }
    best = summary["models"][summary[BEST]]
    scalars["best_macro_f1"] = round(float(best["macro_f1"]), 4)
    return scalars


def confusion_matrix_for_kfp(summary: dict, model: str) -> tuple[list[str], list[list[int]]]:
    """``(categories, matrix)`` for ``ClassificationMetrics.log_confusion_matrix``.

    Args:
        summary: ``metrics.json`` as a dict.
        model: A model name in it.
    """
    return list(summary["class_names"]), summary["models"][model]["confusion_matrix"]


def write(evaluation_dir: str, metrics, confusion, report, slice_table) -> None:
    """Logs headline metrics, the best model's confusion matrix, the report and slice table.

    Args:
        evaluation_dir: Output directory of ``core.run``.
        metrics: A KFP ``Metrics`` artifact (``log_metric``).
        confusion: A KFP ``ClassificationMetrics`` artifact (``log_confusion_matrix``).
        report: A KFP ``HTML`` artifact (``path``).
        slice_table: A KFP ``Markdown`` artifact (``path``).
    """
    summary = read(evaluation_dir, METRICS_FILE)
    for name, value in headline_metrics(summary).items():
        metrics.log_metric(name, value)
    confusion.log_confusion_matrix(*confusion_matrix_for_kfp(summary, summary[BEST]))
    shutil.copyfile(os.path.join(evaluation_dir, REPORT_HTML_FILE), report.path)
    shutil.copyfile(os.path.join(evaluation_dir, SLICES_TABLE_FILE), slice_table.path)
