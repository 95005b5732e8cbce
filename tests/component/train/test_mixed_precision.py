"""``TrainConfig.mixed_precision``: float16 compute with a float32 softmax; a float32 artifact."""

import json

import keras
import numpy as np
import pytest

from components.train import core
from tests.helpers.training_examples import write_examples


@pytest.fixture(scope="module")
def examples_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed_examples")
    return write_examples(root, {"train": 4, "validation": 2, "test": 2}, seed=1)


@pytest.mark.slow
@pytest.mark.parametrize("family", ["dense_mean_mfcc", "cnn_mfcc"])
def test_mixed_precision_trains_in_float16_and_saves_a_float32_model(
    family, examples_dir, tmp_path, monkeypatch
):
    built = []
    build_model = core.build_model

    def recording_build(*args, **kwargs):
        model = build_model(*args, **kwargs)
        built.append(model)
        return model

    monkeypatch.setattr(core, "build_model", recording_build)
    config = core.TrainConfig(family, epochs=2, batch_size=16, mixed_precision=True)
    core.run(examples_dir, str(tmp_path), config)

    trained, saved = built
    assert trained.dtype_policy.name == "mixed_float16"
    assert trained.get_layer("probabilities").compute_dtype == "float32"
    assert isinstance(trained.optimizer, keras.optimizers.LossScaleOptimizer)
    assert keras.mixed_precision.global_policy().name == "float32"  # restored after the run
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert {layer.compute_dtype for layer in loaded.layers} == {"float32"}
    rows = [json.loads(line) for line in open(tmp_path / "predictions" / "test.jsonl")]
    probabilities = np.array([row["probabilities"] for row in rows])
    assert np.isfinite(probabilities).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    card = json.loads((tmp_path / "model.json").read_text())
    assert card["config"]["mixed_precision"] is True and len(card["history"]["loss"]) == 2
