"""Copies an evaluation directory's results into Kubeflow-native artifacts.

The Kubeflow UI renders ``Metrics`` as a table, ``ClassificationMetrics`` as a confusion matrix,
and ``HTML``/``Markdown`` inline. This module fills those from the files ``core.run`` wrote; it
duck-types the artifact objects, so it imports no KFP and tests can pass simple stand-ins.
``SlicedClassificationMetrics`` is stored but not rendered by the KFP UI (its
``MetricsVisualizations`` view knows Metrics, ClassificationMetrics, HTML and Markdown only), and
in kfp 2.17.3 it never initialises its ``_sliced_metrics`` dict (kubeflow/pipelines#8117,
#10250) and its ``load_confusion_matrix`` calls the wrong method; ``log_sliced_metrics`` works
around both for whoever reads the slices from ML Metadata, and ``slices.md`` is what people see.
"""

import os
import shutil

from components.artifacts import files
from components.artifacts.names import (
    METRICS_FILE,
    REPORT_HTML_FILE,
    SLICES_FILE,
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
    best = summary["models"][summary["best_model"]]
    scalars["best_model_macro_f1"] = round(float(best["macro_f1"]), 4)
    return scalars


def confusion_matrix_for_kfp(summary: dict, model: str) -> tuple[list[str], list[list[int]]]:
    """``(categories, matrix)`` for ``ClassificationMetrics.log_confusion_matrix``.

    Args:
        summary: ``metrics.json`` as a dict.
        model: A model name in it.
    """
    return list(summary["class_names"]), summary["models"][model]["confusion_matrix"]


def log_sliced_metrics(sliced, evaluation_dir: str) -> int:
    """Logs the best model's single-feature slices' confusion matrices on a sliced artifact.

    Args:
        sliced: A KFP ``SlicedClassificationMetrics`` output.
        evaluation_dir: Output directory of ``core.run``.

    Returns:
        The number of slices logged.
    """
    summary = read(evaluation_dir, METRICS_FILE)
    categories = list(summary["class_names"])
    if not hasattr(sliced, "_sliced_metrics"):
        sliced._sliced_metrics = {}  # kfp 2.17.3 never initialises it (kubeflow/pipelines#8117)
    logged = 0
    for entry in read(evaluation_dir, SLICES_FILE):
        if entry["model"] != summary["best_model"] or " x " in entry["feature"]:
            continue
        name = f"{entry['feature']}={entry['value']}"
        # load_confusion_matrix calls log_confusion_matrix_cell with the wrong arguments in kfp
        # 2.17.3 (kubeflow/pipelines#8117), so the matrix goes in row by row.
        sliced.set_confusion_matrix_categories(name, categories)
        for category, row in zip(categories, entry["confusion_matrix"], strict=True):
            sliced.log_confusion_matrix_row(name, category, row)
        logged += 1
    return logged


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
    confusion.log_confusion_matrix(*confusion_matrix_for_kfp(summary, summary["best_model"]))
    shutil.copyfile(os.path.join(evaluation_dir, REPORT_HTML_FILE), report.path)
    shutil.copyfile(os.path.join(evaluation_dir, SLICES_TABLE_FILE), slice_table.path)
