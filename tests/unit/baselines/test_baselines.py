"""scikit-learn baselines: the study's grids, a searched and refit model, its artifact directory."""

import json

import joblib
import numpy as np
import pytest
from sklearn.metrics import f1_score

from components.audio.labels import NUM_CLASSES
from components.baselines import config, core
from tests.helpers.training_examples import source_of_example, write_examples


@pytest.fixture(scope="module")
def examples_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("baseline_examples")
    return write_examples(root, {"train": 9, "validation": 3, "test": 3}, seed=1)


def read_predictions(model_dir, split):
    return [json.loads(line) for line in open(f"{model_dir}/predictions/{split}.jsonl")]


def test_random_forest_grid_is_the_study_grid():
    estimator, grid = core.search_space("random_forest", seed=0)
    assert grid["max_features"] == ["log2", "sqrt"]
    assert grid["n_estimators"].support() == (50, 500)
    assert grid["max_depth"].support() == (5, 50)
    logistic, _ = core.search_space("logistic_regression", seed=0)
    assert (logistic.l1_ratio, logistic.solver, logistic.max_iter) == (0.5, "saga", 500)


@pytest.mark.parametrize("name", config.MODELS)
def test_baseline_writes_artifact_and_beats_majority_class(name, examples_dir, tmp_path):
    result = core.run(examples_dir, str(tmp_path), core.BaselinesConfig(name, n_iter=2, n_jobs=1))
    card = json.loads((tmp_path / "model.json").read_text())
    feature = {"yamnet": "yamnet_embedding", "mn04": "mn04_embedding"}.get(
        name.rsplit("_", 1)[-1], "mean_mfcc"
    )
    assert card["name"] == name and card["feature"] == feature and result.feature == feature
    assert card["framework"] == "sklearn"
    assert card["hyperparameters"] == result.best_params and card["training_seconds"] > 0
    assert len(json.loads((tmp_path / "search.json").read_text())) == 2
    estimator = joblib.load(tmp_path / "model.joblib")
    rows = read_predictions(tmp_path, "test")
    assert len(rows) == 3 * NUM_CLASSES and len(read_predictions(tmp_path, "train")) == 72
    probabilities = np.array([row["probabilities"] for row in rows])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    labels = np.array([row["label"] for row in rows])
    predicted = probabilities.argmax(axis=1)
    majority = f1_score(labels, np.full_like(labels, np.bincount(labels).argmax()), average="macro")
    assert f1_score(labels, predicted, average="macro") > majority + 0.5
    assert hasattr(estimator, "predict_proba")


def test_every_feature_named_by_the_config_is_a_feature_set():
    from components.audio.examples import FEATURE_KEYS

    assert set(config.FEATURE_OF.values()) <= set(FEATURE_KEYS)
    assert {config.estimator_of(name) for name in config.MODELS} == set(config.ESTIMATORS)
    assert set(config.ESTIMATORS) <= set(config.SEED_ITERATIONS)


def test_cv_folds_keep_every_clip_of_a_recording_in_one_fold(monkeypatch, examples_dir, tmp_path):
    # write_examples gives every three consecutive clips one source_id (one recording).
    seen = {}
    fit = core.RandomizedSearchCV.fit

    def record_folds(search, x, y, groups=None):
        seen["groups"] = groups
        seen["folds"] = list(search.cv.split(x, y, groups))
        return fit(search, x, y, groups=groups)

    monkeypatch.setattr(core.RandomizedSearchCV, "fit", record_folds)
    core.run(examples_dir, str(tmp_path), core.BaselinesConfig("svc", n_iter=1, n_jobs=1))
    ids = [json.loads(line)["clip_id"] for line in open(tmp_path / "predictions" / "train.jsonl")]
    assert seen["groups"] == [source_of_example(clip_id) for clip_id in ids]
    groups = np.array(seen["groups"])
    assert len(set(groups)) == len(ids) // 3
    for train_rows, test_rows in seen["folds"]:
        assert not set(groups[train_rows]) & set(groups[test_rows])


@pytest.mark.parametrize("name", config.ESTIMATORS)
def test_every_estimator_weights_classes_by_inverse_frequency(name):
    estimator, _ = core.search_space(name, seed=0)
    weighted = estimator.estimator if name == "svc" else estimator  # the SVC inside calibration
    assert weighted.class_weight == "balanced"


def test_unknown_baseline_is_refused():
    with pytest.raises(ValueError, match="unknown baseline"):
        core.search_space("xgboost", seed=0)
