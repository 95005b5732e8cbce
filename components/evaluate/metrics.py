"""Classification metrics of the evaluate step: per model, per split, and bootstrapped per slice.

Reads a model directory's ``predictions/<split>.jsonl`` (docs/contracts.md) and scores it with
scikit-learn: accuracy, macro (over the classes present in the split, the absent ones listed) and
weighted precision/recall/F1, the per-class report and the confusion matrix over all eight
classes, plus the train/validation/test gap the study used to tell its overfitting story. For
slices, ``slice_scores`` gives accuracy and macro-F1 with percentile bootstrap intervals computed
for all resamples at once (one ``bincount`` builds every resample's confusion matrix), so
thousands of slices stay cheap.
"""

import numpy as np
from sklearn import metrics as skm

from components.artifacts.model_files import Predictions, read_model_card, read_predictions
from components.artifacts.names import SPLITS
from components.audio.labels import CLASS_NAMES, NUM_CLASSES


def classification_metrics(labels: np.ndarray, predicted: np.ndarray) -> dict:
    """Accuracy, macro and weighted precision/recall/F1, per-class report and confusion matrix.

    Macro averages weigh the classes present among the true labels equally (scikit-learn's
    ``labels=np.unique(labels), average="macro"``, as for slices): a class with no clip in the
    split has no F1 to average, and counting it as 0 would cap macro-F1 below 1 for a perfect
    model. Those classes are listed in ``absent_classes``; the per-class table keeps all eight
    (an absent class has support 0; predicting it still costs the true class its recall).

    Args:
        labels: True class indices.
        predicted: Predicted class indices.

    Returns:
        A JSON-serialisable dict (see ``metrics.json`` in docs/contracts.md).
    """
    classes = list(range(NUM_CLASSES))
    report = skm.classification_report(
        labels,
        predicted,
        labels=classes,
        target_names=list(CLASS_NAMES),
        output_dict=True,
        zero_division=0,
    )
    support = np.bincount(np.asarray(labels, dtype=np.int64), minlength=NUM_CLASSES)
    present = [name for name, count in zip(CLASS_NAMES, support, strict=True) if count]
    averaged = present or list(CLASS_NAMES)

    def macro(key: str) -> float:
        return float(np.mean([report[name][key] for name in averaged]))

    return {
        "accuracy": float(skm.accuracy_score(labels, predicted)),
        "macro_precision": macro("precision"),
        "macro_recall": macro("recall"),
        "macro_f1": macro("f1-score"),
        "absent_classes": [name for name in CLASS_NAMES if name not in present],
        "weighted_precision": report["weighted avg"]["precision"],
        "weighted_recall": report["weighted avg"]["recall"],
        "weighted_f1": report["weighted avg"]["f1-score"],
        "per_class_f1": {name: report[name]["f1-score"] for name in CLASS_NAMES},
        "per_class": {name: report[name] for name in CLASS_NAMES},
        "confusion_matrix": skm.confusion_matrix(labels, predicted, labels=classes).tolist(),
    }


def majority_class(labels: np.ndarray) -> dict:
    """The constant-prediction reference: always the test split's most frequent class.

    Training is rebalanced to equal class counts, so its majority is a tie; the test split's is
    the strongest constant predictor of accuracy, which makes this the harder reference to beat.
    """
    most_frequent = int(np.bincount(labels, minlength=NUM_CLASSES).argmax())
    scores = classification_metrics(labels, np.full_like(labels, most_frequent))
    return {
        "class": CLASS_NAMES[most_frequent],
        "accuracy": scores["accuracy"],
        "macro_f1": scores["macro_f1"],
    }


def evaluate_model(model_dir: str) -> tuple[str, Predictions, dict]:
    """Scores one model directory: test metrics, the train/validation gap and its training time.

    Args:
        model_dir: A model artifact directory.

    Returns:
        ``(name, test predictions, metrics entry)``.
    """
    card = read_model_card(model_dir)
    entry: dict = {}
    test = read_predictions(model_dir, "test")
    for split in SPLITS:
        predictions = test if split == "test" else read_predictions(model_dir, split)
        scores = classification_metrics(predictions.labels, predictions.predicted)
        if split == "test":
            entry.update(scores)
            entry["n_test"] = len(predictions.clip_ids)
        else:
            entry[f"{split}_accuracy"] = scores["accuracy"]
            entry[f"{split}_macro_f1"] = scores["macro_f1"]
    entry["train_test_accuracy_gap"] = entry["train_accuracy"] - entry["accuracy"]
    entry["train_test_macro_f1_gap"] = entry["train_macro_f1"] - entry["macro_f1"]
    entry["training_seconds"] = card.get("training_seconds")
    entry["framework"] = card.get("framework")
    entry["feature"] = card.get("feature")
    return card["name"], test, entry


def _confusions(labels: np.ndarray, predicted: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Confusion matrices ``[len(rows), K, K]``, one per row of resampled indices."""
    codes = labels * NUM_CLASSES + predicted
    cells = NUM_CLASSES * NUM_CLASSES
    flat = codes[rows] + (np.arange(len(rows)) * cells)[:, None]
    counts = np.bincount(flat.ravel(), minlength=len(rows) * cells)
    return counts.reshape(len(rows), NUM_CLASSES, NUM_CLASSES)


def _accuracy_and_macro_f1(confusions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy and macro-F1 of each confusion matrix; F1 averages the classes with support."""
    tp = np.diagonal(confusions, axis1=1, axis2=2).astype(np.float64)
    support = confusions.sum(axis=2)
    predicted = confusions.sum(axis=1)
    accuracy = tp.sum(axis=1) / np.maximum(support.sum(axis=1), 1)
    denominator = support + predicted
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    present = support > 0
    macro_f1 = (f1 * present).sum(axis=1) / np.maximum(present.sum(axis=1), 1)
    return accuracy, macro_f1


def confusion(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """The ``[K, K]`` confusion matrix (rows: true class) over all classes."""
    return _confusions(labels, predicted, np.arange(len(labels))[None, :])[0]


def point_scores(labels: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    """Accuracy and macro-F1 (over the classes with support, as in ``slice_scores``)."""
    accuracy, macro_f1 = _accuracy_and_macro_f1(
        _confusions(labels, predicted, np.arange(len(labels))[None, :])
    )
    return float(accuracy[0]), float(macro_f1[0])


def slice_scores(
    labels: np.ndarray,
    predicted: np.ndarray,
    samples: int,
    confidence: float,
    rng: np.random.Generator,
) -> dict[str, float]:
    """Accuracy and macro-F1 of a slice, with percentile bootstrap intervals.

    Macro-F1 averages the classes that occur among the slice's true labels (scikit-learn's
    ``f1_score(labels=np.unique(labels), average="macro")``): a slice such as "true class =
    human" is judged on its own classes, not penalised with zeros for classes it cannot contain.

    Args:
        labels: True class indices of the slice's clips.
        predicted: Predicted class indices of the slice's clips.
        samples: Bootstrap resamples (0 disables the intervals: they equal the estimate).
        confidence: Two-sided interval level, e.g. 0.95.
        rng: Random generator (seeded by the caller: reruns give the same intervals).

    Returns:
        ``accuracy``, ``macro_f1`` and their ``*_ci_low``/``*_ci_high`` bounds.
    """
    n = len(labels)
    accuracy, macro_f1 = point_scores(labels, predicted)
    scores = {"accuracy": accuracy, "macro_f1": macro_f1}
    if samples and n:
        resampled = _accuracy_and_macro_f1(
            _confusions(labels, predicted, rng.integers(0, n, size=(samples, n)))
        )
        tail = 100 * (1 - confidence) / 2
        for name, values in zip(("accuracy", "macro_f1"), resampled, strict=True):
            low, high = np.percentile(values, [tail, 100 - tail])
            scores[f"{name}_ci_low"], scores[f"{name}_ci_high"] = float(low), float(high)
    else:
        for name in ("accuracy", "macro_f1"):
            scores[f"{name}_ci_low"] = scores[f"{name}_ci_high"] = scores[name]
    return scores
