"""Benchmark: the frozen 50-class ESC-50 probe, YAMNet's embedding against mn04's (issue 22).

    python benchmarks/esc50_probe.py ESC50_DIR [--test-folds 5,3]

Every clip of an ESC-50 copy (``meta/esc50.csv``, ``audio/``) goes through featurize's own path
(``feature_cost``: decode, prepare to 22,050 Hz and 5 s) into the pipeline's two frozen
embedding feature sets, ``yamnet_embedding`` (YAMNet, mean + max of its patch embeddings, 2,048
values) and ``mn04_embedding`` (EfficientAT mn04, pooled, 384), from the provisioned weights.
For each test fold, a probe — the embedding standardised on the training folds, then
scikit-learn's logistic regression (C 1, lbfgs) — trains on every other fold of the copy (the
real-audio development set has folds 1, 2, 3, 5: three folds) and is scored on the test fold over
ESC-50's 50 classes (``target``): accuracy and macro-F1. Issue 22's target: mn04 ≥ 0.91 accuracy
on fold 5.
"""

import argparse
import csv
import os
import sys
import time
from collections.abc import Sequence

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import feature_cost  # noqa: E402
from components.audio.features import MN04_EMBEDDING, YAMNET_EMBEDDING  # noqa: E402

EMBEDDINGS = (YAMNET_EMBEDDING, MN04_EMBEDDING)
TEST_FOLDS = (5, 3)
TARGET = {"embedding": MN04_EMBEDDING, "fold": 5, "accuracy": 0.91}


def read_esc50(root: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``(audio paths, targets, folds)`` of every row of ``meta/esc50.csv``."""
    with open(os.path.join(root, "meta", "esc50.csv"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    paths = [os.path.join(root, "audio", row["filename"]) for row in rows]
    targets, folds = (np.array([int(row[key]) for row in rows]) for key in ("target", "fold"))
    return paths, targets, folds


def embed(paths: Sequence[str], keys: Sequence[str] = EMBEDDINGS) -> dict[str, np.ndarray]:
    """``{key: [clips, size]}``: the featurizer's embeddings of every file, featurize's path."""
    compute = feature_cost.featurizer(keys)
    computed = [
        compute(feature_cost.prepare(feature_cost.decode(batch)))
        for batch in feature_cost.batches(paths)
    ]
    return {key: np.concatenate([batch[key].numpy() for batch in computed]) for key in keys}


def probe(features: np.ndarray, targets: np.ndarray, folds: np.ndarray, test_fold: int) -> dict:
    """Accuracy and macro-F1 on ``test_fold`` of a probe trained on every other fold.

    Raises:
        ValueError: No clip in ``test_fold``, or none outside it.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    test = folds == test_fold
    if not test.any() or test.all():
        raise ValueError(f"fold {test_fold}: needs clips in it and outside it; folds {set(folds)}")
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    model.fit(features[~test], targets[~test])
    predicted = model.predict(features[test])
    return {
        "test_fold": test_fold,
        "train_folds": sorted(int(fold) for fold in set(folds[~test])),
        "train_clips": int((~test).sum()),
        "test_clips": int(test.sum()),
        "accuracy": float(accuracy_score(targets[test], predicted)),
        "macro_f1": float(f1_score(targets[test], predicted, average="macro")),
    }


def run(root: str, test_folds: Sequence[int] = TEST_FOLDS) -> dict:
    """Embeds the copy's clips and probes each embedding on each test fold."""
    paths, targets, folds = read_esc50(root)
    started = time.perf_counter()
    embeddings = embed(paths)
    rows = [
        {"embedding": key, "size": int(values.shape[1]), **probe(values, targets, folds, fold)}
        for key, values in embeddings.items()
        for fold in test_folds
    ]
    return {
        "esc50_dir": root,
        "clips": len(paths),
        "classes": len(set(targets.tolist())),
        "embed_seconds": round(time.perf_counter() - started, 1),
        "rows": rows,
    }


def markdown(result: dict) -> str:
    """The probe as a Markdown table (one column per test fold) and the target's verdict."""
    folds = list(dict.fromkeys(row["test_fold"] for row in result["rows"]))
    cell = {(r["embedding"], r["test_fold"]): r for r in result["rows"]}
    lines = [
        f"Frozen ESC-50 probe: {result['clips']} clips, {result['classes']} classes, "
        "standardised embedding + logistic regression, trained on the other folds; "
        "test accuracy (macro-F1):",
        "",
        "| embedding | size | " + " | ".join(f"test fold {fold}" for fold in folds) + " |",
        "|---|---:|" + "---:|" * len(folds),
    ]
    for key in dict.fromkeys(row["embedding"] for row in result["rows"]):
        scores = [cell[key, fold] for fold in folds]
        lines.append(
            f"| {key} | {scores[0]['size']} | "
            + " | ".join(f"{s['accuracy']:.3f} ({s['macro_f1']:.3f})" for s in scores)
            + " |"
        )
    target = cell.get((TARGET["embedding"], TARGET["fold"]))
    if target:
        verdict = "met" if target["accuracy"] >= TARGET["accuracy"] else "NOT met"
        lines += [
            "",
            f"Target {TARGET['embedding']} ≥ {TARGET['accuracy']} on fold {TARGET['fold']}: "
            f"{verdict} ({target['accuracy']:.3f}).",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("esc50_dir", metavar="ESC50_DIR")
    parser.add_argument("--test-folds", default="5,3", help="comma-separated")
    args = parser.parse_args()
    folds = [int(fold) for fold in args.test_folds.split(",")]
    print(markdown(run(args.esc50_dir, folds)))


if __name__ == "__main__":
    main()
