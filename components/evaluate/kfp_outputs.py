"""Copies an evaluation directory's results into Kubeflow-native artifacts.

The Kubeflow UI renders ``Metrics`` as a table, ``ClassificationMetrics`` as a confusion matrix,
and ``HTML``/``Markdown`` inline. This module fills those from the files ``core.run`` wrote; it
duck-types the artifact objects, so it imports no KFP and tests can pass simple stand-ins.
"""

import json
import os
import shutil

HEADLINE_KEYS = ("accuracy", "macro_f1", "macro_precision", "macro_recall", "weighted_f1")


def write(evaluation_dir: str, metrics, confusion, report, slice_table) -> None:
    """Logs headline metrics, the best model's confusion matrix, the report and slice table.

    Args:
        evaluation_dir: Output directory of ``core.run``.
        metrics: A KFP ``Metrics`` artifact (``log_metric``).
        confusion: A KFP ``ClassificationMetrics`` artifact (``log_confusion_matrix``).
        report: A KFP ``HTML`` artifact (``path``).
        slice_table: A KFP ``Markdown`` artifact (``path``).
    """
    with open(os.path.join(evaluation_dir, "metrics.json")) as handle:
        summary = json.load(handle)
    for name, entry in sorted(summary["models"].items()):
        for key in HEADLINE_KEYS:
            if key in entry:
                metrics.log_metric(f"{name}.{key}", round(float(entry[key]), 4))
    best = summary["models"][summary["best_model"]]
    confusion.log_confusion_matrix(list(summary["class_names"]), best["confusion_matrix"])
    metrics.log_metric("best_model_macro_f1", round(float(best["macro_f1"]), 4))
    shutil.copyfile(os.path.join(evaluation_dir, "report.html"), report.path)
    shutil.copyfile(os.path.join(evaluation_dir, "slices.md"), slice_table.path)
