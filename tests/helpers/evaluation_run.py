"""A synthetic evaluate input: three models' predictions, a manifest and clip stats, in a folder.

The test split plants one weak slice (quietly recorded clips, where the Keras-like model is poor)
and one tag given at random (a slice that must not be discovered); ``CONFIG`` is the evaluation
configuration the component tests run it with.
"""

import json
from pathlib import Path

import joblib
import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from components.audio.labels import CLASS_NAMES, NUM_CLASSES
from components.evaluate import core

N = {"train": 240, "validation": 80, "test": 400}
QUIET = 60  # test clips recorded very quietly: the planted weak slice of the best model
RANDOM = 60  # test clips tagged multisample at random: a slice that must not be discovered
CONFIG = core.EvaluateConfig(
    min_macro_f1=0.5,
    min_worst_slice_f1=0.1,
    bootstrap_samples=200,
    permutation_repeats=2,
    screenshot=False,
)


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def one_hot_probabilities(predicted: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    probabilities = rng.dirichlet(np.ones(NUM_CLASSES), len(predicted)) * 0.4
    probabilities[np.arange(len(predicted)), predicted] += 0.6
    return probabilities


def write_model(root: Path, name: str, framework: str, predictions: dict, estimator=None) -> str:
    model_dir = root / name
    card = {
        "name": name,
        "framework": framework,
        "feature": "mean_mfcc" if framework == "sklearn" else "log_mel",
        "class_names": list(CLASS_NAMES),
        "training_seconds": 1.5,
        "hyperparameters": {},
    }
    model_dir.mkdir(parents=True)
    (model_dir / "model.json").write_text(json.dumps(card))
    for split, (ids, labels, probabilities) in predictions.items():
        rows = [
            {"clip_id": c, "label": int(y), "probabilities": p.round(6).tolist()}
            for c, y, p in zip(ids, labels, probabilities, strict=True)
        ]
        write_jsonl(model_dir / "predictions" / f"{split}.jsonl", rows)
    if estimator is not None:
        joblib.dump(estimator, model_dir / "model.joblib")
    return str(model_dir)


def write_synthetic_run(root: Path) -> dict:
    """A tiny run in ``root``: 3 models (one Keras-like, LR, RF), manifest, clip stats, test
    mean-MFCC."""
    rng = np.random.default_rng(0)
    ids, labels, x = {}, {}, {}
    manifest, stats = [], []
    for split, n in N.items():
        ids[split] = [f"{split}{i:04d}" for i in range(n)]
        labels[split] = rng.integers(0, NUM_CLASSES, n)
        centres = np.eye(NUM_CLASSES, 32) * 2.0
        x[split] = centres[labels[split]] + rng.normal(0, 1.0, (n, 32))
        for i, clip_id in enumerate(ids[split]):
            quiet = split == "test" and i < QUIET
            tags = ["sound", "household"]
            if split == "test" and i in set(rng.choice(N["test"], RANDOM, replace=False)):
                tags.append("multisample")
            manifest.append(
                {
                    "clip_id": clip_id,
                    "split": split,
                    "label": CLASS_NAMES[labels[split][i]],
                    "tags": tags,
                    "rule": CLASS_NAMES[labels[split][i]],
                    "ambiguous": bool(i % 7 == 0),
                    "title": f"clip {clip_id}",
                    "license": "http://creativecommons.org/licenses/by/3.0/",
                    "uploader": f"user{i % 25}",
                    "dataset": "fsd50k",
                }
            )
            stats.append(
                {
                    "clip_id": clip_id,
                    "split": split,
                    "duration_s": float(rng.uniform(0.5, 12)),
                    "sample_rate": int(rng.choice([22050, 44100])),
                    "channels": 1,
                    "subtype": "PCM_16",
                    "padded": True,
                    "trimmed": False,
                    "rms_dbfs": float(rng.uniform(-60, -45) if quiet else rng.uniform(-35, -5)),
                    "peak": 0.5,
                }
            )
    stats.append({"clip_id": "train0000", "split": "train"})  # a clip with missing stats
    write_jsonl(root / "manifest.jsonl", manifest)
    write_jsonl(root / "clip_stats.jsonl", stats)

    def cnn_predictions(split):
        accuracy = np.full(N[split], 0.9)
        if split == "test":
            accuracy[:QUIET] = 0.25
        correct = rng.random(N[split]) < accuracy
        wrong = (labels[split] + rng.integers(1, NUM_CLASSES, N[split])) % NUM_CLASSES
        predicted = np.where(correct, labels[split], wrong)
        return ids[split], labels[split], one_hot_probabilities(predicted, rng)

    model_dirs = [
        write_model(root / "models", "cnn_log_mel", "keras", {s: cnn_predictions(s) for s in N})
    ]
    for name, estimator in (
        ("logistic_regression", make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))),
        ("random_forest", RandomForestClassifier(n_estimators=20, random_state=0)),
    ):
        estimator.fit(x["train"], labels["train"])
        predictions = {s: (ids[s], labels[s], estimator.predict_proba(x[s])) for s in N}
        model_dirs.append(write_model(root / "models", name, "sklearn", predictions, estimator))
    return {
        "root": root,
        "model_dirs": model_dirs,
        "manifest": str(root / "manifest.jsonl"),
        "clip_stats": str(root / "clip_stats.jsonl"),
        "features": core.TestFeatures(ids["test"], x["test"]),
    }
