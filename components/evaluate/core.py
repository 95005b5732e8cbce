"""evaluate: every model on the same test split, overall and per class, and the blessing.

Reads each model directory's ``predictions/{train,validation,test}.jsonl`` (docs/contracts.md),
checks that all models were scored on the same test clips, and computes with scikit-learn the
accuracy, macro/weighted precision, recall and F1, the per-class report, the confusion matrix and
the train/validation/test gap of every model. The best model by test macro-F1 is blessed when it
clears ``min_macro_f1``. Writes ``metrics.json``, ``blessing.json`` (with the ranking deploy
falls back on), ``slices.md`` and a self-contained ``report.html``.
"""

import html
import json
import os
from dataclasses import asdict, dataclass

import numpy as np
import tensorflow as tf
from sklearn import metrics as skm

from components.audio.labels import CLASS_NAMES

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class EvaluateConfig:
    """Blessing thresholds and the bootstrap seed."""

    min_macro_f1: float = 0.3
    min_worst_slice_f1: float = 0.1
    seed: int = 0


@dataclass(frozen=True)
class EvaluateResult:
    """The winner and whether it may be deployed."""

    best_model: str
    blessed: bool
    reasons: list[str]
    ranking: list[str]

    def summary(self) -> dict:
        """JSON-serialisable summary."""
        return asdict(self)


def read_predictions(model_dir: str, split: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``(clip_ids, labels, probabilities)`` of one split of one model directory."""
    with tf.io.gfile.GFile(os.path.join(model_dir, "predictions", f"{split}.jsonl")) as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    rows.sort(key=lambda row: row["clip_id"])
    return (
        [row["clip_id"] for row in rows],
        np.array([row["label"] for row in rows], dtype=np.int64),
        np.array([row["probabilities"] for row in rows], dtype=np.float64).reshape(len(rows), -1),
    )


def classification_metrics(labels: np.ndarray, predicted: np.ndarray) -> dict:
    """Accuracy, macro and weighted precision/recall/F1, per-class report, confusion matrix."""
    classes = list(range(len(CLASS_NAMES)))
    report = skm.classification_report(
        labels,
        predicted,
        labels=classes,
        target_names=list(CLASS_NAMES),
        output_dict=True,
        zero_division=0,
    )
    return {
        "accuracy": float(skm.accuracy_score(labels, predicted)),
        "macro_precision": report["macro avg"]["precision"],
        "macro_recall": report["macro avg"]["recall"],
        "macro_f1": report["macro avg"]["f1-score"],
        "weighted_precision": report["weighted avg"]["precision"],
        "weighted_recall": report["weighted avg"]["recall"],
        "weighted_f1": report["weighted avg"]["f1-score"],
        "per_class_f1": {name: report[name]["f1-score"] for name in CLASS_NAMES},
        "per_class": {name: report[name] for name in CLASS_NAMES},
        "confusion_matrix": skm.confusion_matrix(labels, predicted, labels=classes).tolist(),
    }


def evaluate_model(model_dir: str) -> tuple[str, list[str], dict]:
    """Metrics of one model directory: test metrics plus train/validation gap and timing."""
    with tf.io.gfile.GFile(os.path.join(model_dir, "model.json")) as handle:
        card = json.load(handle)
    entry: dict = {}
    test_ids: list[str] = []
    for split in SPLITS:
        clip_ids, labels, probabilities = read_predictions(model_dir, split)
        scores = classification_metrics(labels, probabilities.argmax(axis=1))
        if split == "test":
            entry.update(scores)
            entry["n_test"] = len(clip_ids)
            test_ids = clip_ids
        else:
            entry[f"{split}_accuracy"] = scores["accuracy"]
            entry[f"{split}_macro_f1"] = scores["macro_f1"]
    entry["train_test_accuracy_gap"] = entry["train_accuracy"] - entry["accuracy"]
    entry["training_seconds"] = card.get("training_seconds")
    entry["family"] = card.get("family")
    entry["feature"] = card.get("feature")
    return card["name"], test_ids, entry


def bless(models: dict[str, dict], cfg: EvaluateConfig) -> EvaluateResult:
    """Ranks models by test macro-F1 and blesses the best if it clears the threshold."""
    ranking = sorted(models, key=lambda name: models[name]["macro_f1"], reverse=True)
    best = ranking[0]
    f1 = models[best]["macro_f1"]
    passed = f1 >= cfg.min_macro_f1
    reasons = [
        f"{best} has the best test macro-F1 ({f1:.3f}) of {len(models)} models",
        f"macro-F1 {f1:.3f} {'>=' if passed else '<'} min_macro_f1 {cfg.min_macro_f1}",
    ]
    return EvaluateResult(best_model=best, blessed=passed, reasons=reasons, ranking=ranking)


def _write(path: str, text: str) -> None:
    with tf.io.gfile.GFile(path, "w") as handle:
        handle.write(text)


def comparison_markdown(models: dict[str, dict], ranking: list[str]) -> str:
    """Markdown comparison table, best model first."""
    lines = [
        "| model | accuracy | macro P | macro R | macro F1 | train acc | n_test |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in ranking:
        m = models[name]
        lines.append(
            f"| {name} | {m['accuracy']:.3f} | {m['macro_precision']:.3f} | "
            f"{m['macro_recall']:.3f} | {m['macro_f1']:.3f} | {m['train_accuracy']:.3f} | "
            f"{m['n_test']} |"
        )
    return "\n".join(lines) + "\n"


def report_html(models: dict[str, dict], result: EvaluateResult) -> str:
    """A self-contained HTML page: the blessing, the comparison and the best confusion matrix."""
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{models[name]['accuracy']:.3f}</td>"
        f"<td>{models[name]['macro_f1']:.3f}</td></tr>"
        for name in result.ranking
    )
    matrix = models[result.best_model]["confusion_matrix"]
    header = "".join(f"<th>{name}</th>" for name in CLASS_NAMES)
    body = "".join(
        f"<tr><th>{CLASS_NAMES[i]}</th>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>"
        for i, row in enumerate(matrix)
    )
    verdict = "BLESSED" if result.blessed else "NOT BLESSED"
    reasons = "".join(f"<li>{html.escape(reason)}</li>" for reason in result.reasons)
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Evaluation</title></head><body>"
        f"<h1>Evaluation: {html.escape(result.best_model)} ({verdict})</h1><ul>{reasons}</ul>"
        f"<h2>Models</h2><table><tr><th>model</th><th>accuracy</th><th>macro F1</th></tr>{rows}"
        f"</table><h2>Confusion matrix of {html.escape(result.best_model)} (rows: true)</h2>"
        f"<table><tr><th></th>{header}</tr>{body}</table></body></html>\n"
    )


def run(
    model_dirs: list[str],
    manifest_path: str,
    clip_stats_path: str,
    output_dir: str,
    config: EvaluateConfig = EvaluateConfig(),
    examples_dir: str | None = None,
    baseline_metrics_path: str | None = None,
) -> EvaluateResult:
    """Evaluates every model directory on the test split and writes the evaluation outputs.

    Args:
        model_dirs: Model artifact directories (docs/contracts.md).
        manifest_path: Ingest manifest (metadata; used by slice analysis).
        clip_stats_path: Featurize clip statistics (used by slice analysis).
        output_dir: Receives metrics.json, blessing.json, slices.md and report.html.
        config: Thresholds.
        examples_dir: Featurize output (used by permutation importance).
        baseline_metrics_path: A previous deployment's metrics.json (used by the blessing).

    Returns:
        The best model and the blessing decision.

    Raises:
        ValueError: If there is no model or two models were scored on different test clips.
    """
    if not model_dirs:
        raise ValueError("evaluate needs at least one model directory")
    models: dict[str, dict] = {}
    reference: list[str] | None = None
    for model_dir in model_dirs:
        name, test_ids, entry = evaluate_model(model_dir)
        if reference is not None and test_ids != reference:
            raise ValueError(f"{name} was scored on different test clips than the other models")
        reference = test_ids
        models[name] = entry
    result = bless(models, config)
    tf.io.gfile.makedirs(output_dir)
    summary = {"models": models, "best_model": result.best_model, "class_names": list(CLASS_NAMES)}
    _write(os.path.join(output_dir, "metrics.json"), json.dumps(summary, indent=2) + "\n")
    blessing = {**asdict(result), "model": result.best_model, "thresholds": asdict(config)}
    _write(os.path.join(output_dir, "blessing.json"), json.dumps(blessing, indent=2) + "\n")
    _write(os.path.join(output_dir, "slices.md"), comparison_markdown(models, result.ranking))
    _write(os.path.join(output_dir, "report.html"), report_html(models, result))
    return result
