"""train end to end on synthetic TFRecords: artifact layout, tuning artifacts, beating chance."""

import json
import os

import keras
import numpy as np
import pytest
from sklearn.metrics import f1_score

from components.audio.labels import CLASS_NAMES, NUM_CLASSES
from components.train import core, report
from components.train.config import RECIPES
from tests.helpers.training_examples import write_examples


@pytest.fixture(scope="module")
def examples_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("train_examples")
    return write_examples(root, {"train": 12, "validation": 3, "test": 3}, seed=2)


def test_macro_f1(model_dir, split="test") -> tuple[float, float]:
    rows = [
        json.loads(line) for line in open(os.path.join(model_dir, "predictions", f"{split}.jsonl"))
    ]
    labels = np.array([row["label"] for row in rows])
    predicted = np.array([np.argmax(row["probabilities"]) for row in rows])
    majority = np.full_like(labels, np.bincount(labels).argmax())
    return f1_score(labels, predicted, average="macro"), f1_score(labels, majority, average="macro")


test_macro_f1.__test__ = False  # a helper, not a test


# The seed dense model trains under the study's plain SGD: on these 96 examples it needs ~40
# epochs (~10 s) to clear the bar at every seed tried (0.37-0.84 test macro-F1 over seeds 0-3;
# 15 epochs gave 0.20 at seed 0).
@pytest.mark.parametrize(
    "family,epochs", [("dense_mean_mfcc", 40), ("cnn_mfcc", 3), ("cnn_log_mel", 3)]
)
def test_seed_model_artifact_and_beats_majority_class(family, epochs, examples_dir, tmp_path):
    config = core.TrainConfig(family, epochs=epochs, batch_size=16, early_stopping_patience=epochs)
    result = core.run(examples_dir, str(tmp_path), config)
    card = json.loads((tmp_path / "model.json").read_text())
    assert card["name"] == family and card["framework"] == "keras" and card["tuned"] is False
    assert card["class_names"] == list(CLASS_NAMES)
    assert card["feature"] == {"dense_mean_mfcc": "mean_mfcc", "cnn_mfcc": "mfcc"}.get(
        family, "log_mel"
    )
    assert len(card["history"]["val_loss"]) == result.epochs_trained == epochs
    assert card["seconds_per_epoch"] > 0 and card["training_seconds"] >= card["seconds_per_epoch"]
    assert card["hyperparameters"]["optimizer"] == "sgd"
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert loaded.output_shape == (None, NUM_CLASSES)
    for split, per_class in (("train", 12), ("validation", 3), ("test", 3)):
        rows = open(tmp_path / "predictions" / f"{split}.jsonl").read().splitlines()
        assert len(rows) == per_class * NUM_CLASSES
        assert len(json.loads(rows[0])["probabilities"]) == NUM_CLASSES
    model_f1, majority_f1 = test_macro_f1(tmp_path)
    assert model_f1 > majority_f1 + 0.2, (model_f1, majority_f1)
    assert not (tmp_path / "best_hparams.json").exists()


def test_tuned_run_writes_best_hparams_and_trials(examples_dir, tmp_path):
    config = core.TrainConfig(
        "dense_mean_mfcc", epochs=3, batch_size=16, tuned=True, max_trials=2, seed=1
    )
    result = core.run(examples_dir, str(tmp_path / "model"), config)
    assert result.name == "dense_mean_mfcc_tuned" and result.tuning_seconds > 0
    trials = json.loads((tmp_path / "model" / "trials.json").read_text())
    assert len(trials) == 2 and all(t["status"] == "COMPLETED" for t in trials)
    assert trials[0]["val_loss"] <= trials[1]["val_loss"]
    best = json.loads((tmp_path / "model" / "best_hparams.json").read_text())
    assert best == trials[0]["hyperparameters"] == result.hyperparameters
    # the family's training recipe is fixed in every trial and in the final model
    recipe = RECIPES["dense_mean_mfcc"]
    assert all(recipe.items() <= t["hyperparameters"].items() for t in trials)
    assert recipe.items() <= result.hyperparameters.items()
    card = json.loads((tmp_path / "model" / "model.json").read_text())
    assert card["name"] == "dense_mean_mfcc_tuned" and card["hyperparameters"] == best
    report.write_hparams(result, str(tmp_path / "hparams"))
    assert json.loads((tmp_path / "hparams" / "best_hparams.json").read_text()) == best
    assert (tmp_path / "hparams" / "trials.json").exists()


def test_hyperband_tuner_class_weights_and_fixed_hyperparameters(examples_dir, tmp_path):
    config = core.TrainConfig(
        "dense_mean_mfcc",
        epochs=2,
        batch_size=16,
        tuned=True,
        tuner="hyperband",
        class_weights=True,
        hparams={"optimizer": "adam", "dense_units": 16.0},
    )
    result = core.run(examples_dir, str(tmp_path), config)
    trials = json.loads((tmp_path / "trials.json").read_text())
    assert trials and result.epochs_trained >= 1
    # fixed values are left out of the search: every trial and the final model keep them, and
    # they win over the recipe's (AdamW for this family)
    assert {t["hyperparameters"]["optimizer"] for t in trials} == {"adam"}
    assert {t["hyperparameters"]["dense_units"] for t in trials} == {16}
    assert result.hyperparameters["optimizer"] == "adam"
