"""baselines: scikit-learn models 3b-3d on mean-MFCC or a pretrained embedding, randomized search.

Loads the model's feature of every split — the 32-float mean-MFCC, or for ``<estimator>_yamnet``
the 2,048-float pooled YAMNet embedding and for ``<estimator>_mn04`` the 384-float mn04 one (the
linear probe of transfer learning); all already
z-scored by the tf.Transform graph, so no second scaler — runs ``RandomizedSearchCV`` with
3-fold stratified CV and macro-F1 scoring over the model's grid, and writes the best estimator
refit on the whole training split as the model artifact directory of docs/contracts.md
(``model.joblib``, ``model.json``, predictions per split; ``search.json`` has every candidate's
CV score). Grids: the study's for the random forest (50-500 trees, ``log2``/``sqrt`` features,
depth 5-50; its best was 476 / sqrt / 41). The study fixed logistic regression's settings
(elastic net, ``l1_ratio`` 0.5, saga, 500 iterations) and did not print its SVC grid, so the
searched ``C`` (and SVC ``gamma``) ranges are ours. On the embedding, logistic regression is the
plain L2 probe (lbfgs): saga's elastic net had not finished one fit after a minute of CPU on
2,048 dimensions (lbfgs: seconds), and a search makes 3 fits per candidate.
``n_iter`` 0 means the study's budget: 50 (RF), 20 (SVC), 10 (LR).
Every estimator weights classes by inverse frequency (``class_weight="balanced"``: exactly
uniform on a rebalanced split, where every class has the target's count, and what keeps the
majority from winning when rebalance keeps its clips), and the CV folds are grouped by the
examples' ``source_id``: every clip of one recording (ESC-50 takes, UrbanSound8K slices) and
every augmented copy of them falls in one fold, so the search never scores a clip whose
recording it trained on. (Grouped by clip only, the real-audio benchmark's best CV score was
0.91 against a test score of 0.82.)
"""

import os
import time
from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import loguniform, randint
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import RandomizedSearchCV, StratifiedGroupKFold
from sklearn.svm import SVC

from components.artifacts import files, model_files, shards
from components.artifacts.names import SKLEARN, SPLITS
from components.audio.labels import NUM_CLASSES
from components.baselines.config import (
    ESTIMATORS,
    FEATURE_OF,
    SEED_ITERATIONS,
    BaselinesConfig,
    embedding_suffix,
    estimator_of,
)


@dataclass(frozen=True, kw_only=True)
class BaselinesResult:
    """What the search produced."""

    name: str
    feature: str
    model_dir: str
    best_params: dict
    cv_macro_f1: float
    validation_macro_f1: float
    validation_accuracy: float
    training_seconds: float

    def summary(self) -> dict:
        """JSON-serialisable summary."""
        return asdict(self)


BALANCED = "balanced"


def search_space(model_name: str, seed: int) -> tuple[BaseEstimator, dict]:
    """The estimator and its parameter distributions (the same for either feature).

    Raises:
        ValueError: For an unknown model name.
    """
    if embedding_suffix(model_name) and estimator_of(model_name) == "logistic_regression":
        estimator = LogisticRegression(max_iter=1000, class_weight=BALANCED, random_state=seed)
        return estimator, {"C": loguniform(1e-3, 1e1)}
    model_name = estimator_of(model_name)
    if model_name == "logistic_regression":
        # scikit-learn >= 1.8 expresses the elastic net through l1_ratio alone (``penalty`` is
        # deprecated); l1_ratio=0.5 with saga is the study's elastic-net model.
        estimator = LogisticRegression(
            l1_ratio=0.5, solver="saga", max_iter=500, class_weight=BALANCED, random_state=seed
        )
        return estimator, {"C": loguniform(1e-3, 1e2)}
    if model_name == "random_forest":
        estimator = RandomForestClassifier(class_weight=BALANCED, random_state=seed)
        return estimator, {
            "n_estimators": randint(50, 501),
            "max_features": ["log2", "sqrt"],
            "max_depth": randint(5, 51),
        }
    if model_name == "svc":
        # SVC(probability=True) is deprecated in scikit-learn 1.9; this is its stated
        # replacement (Platt scaling fit on cross-validated decisions, one final SVC).
        estimator = CalibratedClassifierCV(
            SVC(class_weight=BALANCED, random_state=seed), ensemble=False
        )
        return estimator, {
            "estimator__C": loguniform(1e-1, 1e2),
            "estimator__gamma": ["scale", 1e-3, 1e-2, 1e-1],
            "estimator__kernel": ["rbf"],
        }
    raise ValueError(f"unknown baseline {model_name!r}; expected one of {ESTIMATORS}")


def _plain(params: dict) -> dict:
    """Numpy scalars from the distributions → Python values (for JSON)."""
    return {key: value.item() if hasattr(value, "item") else value for key, value in params.items()}


def _probabilities(model: BaseEstimator, x: np.ndarray) -> np.ndarray:
    """Probabilities over all classes, zero for classes absent from training."""
    full = np.zeros((len(x), NUM_CLASSES))
    full[:, model.classes_] = model.predict_proba(x)
    return full


def run(examples_dir: str, output_dir: str, cfg: BaselinesConfig) -> BaselinesResult:
    """Searches, refits and writes one baseline's model artifact directory.

    Args:
        examples_dir: Featurize output directory (``examples/<split>/*.tfrecord.gz``).
        output_dir: The model artifact directory to write.
        cfg: Which model and the search budget.

    Returns:
        Best parameters, CV and validation scores, and the search time.

    Raises:
        shards.MissingFeatureError: If featurize did not compute the model's feature set.
    """
    estimator, distributions = search_space(cfg.model_name, cfg.seed)
    feature = FEATURE_OF[cfg.model_name]
    shards.require_feature(examples_dir, feature, cfg.model_name)
    splits = {split: shards.load_arrays(examples_dir, split, feature) for split in SPLITS}
    train = splits["train"]
    folds = StratifiedGroupKFold(cfg.cv_folds, shuffle=True, random_state=cfg.seed)
    search = RandomizedSearchCV(
        estimator,
        distributions,
        n_iter=cfg.n_iter or SEED_ITERATIONS[estimator_of(cfg.model_name)],
        scoring="f1_macro",
        cv=folds,
        random_state=cfg.seed,
        n_jobs=cfg.n_jobs,
        refit=True,
    )
    started = time.perf_counter()
    search.fit(train.x, train.y, groups=train.source_ids)
    training_seconds = time.perf_counter() - started
    model = search.best_estimator_
    model_files.write_sklearn_model(output_dir, model)
    for split, arrays in splits.items():
        rows = zip(arrays.clip_ids, arrays.y, _probabilities(model, arrays.x), strict=True)
        model_files.write_predictions(output_dir, split, rows)
    y_val = splits["validation"].y
    predicted = model.predict(splits["validation"].x)
    best_params = _plain(search.best_params_)
    result = BaselinesResult(
        name=cfg.model_name,
        feature=feature,
        model_dir=output_dir,
        best_params=best_params,
        cv_macro_f1=round(float(search.best_score_), 6),
        validation_macro_f1=round(float(f1_score(y_val, predicted, average="macro")), 6),
        validation_accuracy=round(float(accuracy_score(y_val, predicted)), 6),
        training_seconds=round(training_seconds, 3),
    )
    candidates = [
        {"params": _plain(params), "mean_cv_macro_f1": float(score)}
        for params, score in zip(
            search.cv_results_["params"], search.cv_results_["mean_test_score"], strict=True
        )
    ]
    files.write_json(os.path.join(output_dir, "search.json"), candidates)
    model_files.write_model_card(
        output_dir,
        {
            "name": cfg.model_name,
            "framework": SKLEARN,
            "estimator": type(model).__name__,  # artifacts/exportable.py reads it
            "feature": feature,
            "training_seconds": result.training_seconds,
            "hyperparameters": best_params,
            "search": {"n_iter": search.n_iter, "cv_folds": cfg.cv_folds, "scoring": "f1_macro"},
            "cv_macro_f1": result.cv_macro_f1,
            "config": asdict(cfg),
        },
    )
    return result
