"""The training recipe: SpecAugment, mixup, the cosine schedule, and where the recipe may act."""

import math

import keras
import keras_tuner as kt
import numpy as np
import pytest
import tensorflow as tf

from components.audio.labels import NUM_CLASSES
from components.train import model, recipe
from components.train.config import RECIPES, TrainConfig
from components.train.tuning import RecipeHyperModel

SEED = tf.constant([3, 7], tf.int64)


def masked_cells(images: np.ndarray, augmented: np.ndarray) -> np.ndarray:
    return ~np.isclose(images, augmented)


def test_spec_augment_masks_the_expected_fraction_with_the_example_mean():
    rng = np.random.default_rng(0)
    # 0s and 1s: no cell equals its example's mean (~0.5), so a masked cell always changes.
    images = rng.integers(0, 2, (300, 128, 216, 1)).astype(np.float32)
    augmented = recipe.spec_augment(images, SEED, masks=1, mask_width=0.2).numpy()
    changed = masked_cells(images, augmented)
    # Masked cells hold the example's mean; the others are untouched.
    means = images.mean(axis=(1, 2, 3))
    for i in range(3):
        np.testing.assert_allclose(augmented[i][changed[i]], means[i], rtol=1e-5)
        np.testing.assert_array_equal(augmented[i][~changed[i]], images[i][~changed[i]])
    # Masks are whole rows and columns: a changed cell's row or column is changed throughout.
    rows = changed[..., 0].all(axis=2)
    columns = changed[..., 0].all(axis=1)
    np.testing.assert_array_equal(changed[..., 0], rows[:, :, None] | columns[:, None, :])
    # One span per axis of width U{0..int(0.2·size)}: mean width 12.5 of 128 rows, 21.5 of 216.
    assert rows.sum(axis=1).mean() == pytest.approx(12.5, rel=0.12)
    assert columns.sum(axis=1).mean() == pytest.approx(21.5, rel=0.12)
    assert rows.sum(axis=1).max() <= 25 and columns.sum(axis=1).max() <= 43
    expected = 1 - (1 - 12.5 / 128) * (1 - 21.5 / 216)  # independent row and column masks
    assert changed.mean() == pytest.approx(expected, rel=0.1)


def test_spec_augment_draws_differ_by_seed_and_repeat_for_the_same_seed():
    images = np.random.default_rng(1).uniform(size=(4, 32, 216, 1)).astype(np.float32)
    first = recipe.spec_augment(images, SEED).numpy()
    np.testing.assert_array_equal(first, recipe.spec_augment(images, SEED).numpy())
    assert not np.array_equal(first, recipe.spec_augment(images, SEED + 1).numpy())


def test_mixup_mixes_inputs_and_labels_with_one_weight_and_labels_sum_to_one():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(64, 32)).astype(np.float32)
    labels = rng.integers(0, NUM_CLASSES, 64)
    y = np.eye(NUM_CLASSES, dtype=np.float32)[labels]
    mixed_x, mixed_y = (t.numpy() for t in recipe.mixup(x, y, SEED, alpha=0.4))
    np.testing.assert_allclose(mixed_y.sum(axis=1), 1.0, atol=1e-6)
    lambdas = []
    for i in range(64):
        # Find the partner j and λ that explain row i's inputs, then check its labels with them.
        candidates = []
        for j in range(64):
            difference = x[i] - x[j]
            if i == j or not difference.any():
                continue
            lam = float(np.dot(mixed_x[i] - x[j], difference) / np.dot(difference, difference))
            if np.allclose(lam * x[i] + (1 - lam) * x[j], mixed_x[i], atol=1e-5):
                candidates.append((j, lam))
        if not candidates:  # the partner drawn was i itself: nothing mixed
            np.testing.assert_allclose(mixed_x[i], x[i], atol=1e-6)
            np.testing.assert_allclose(mixed_y[i], y[i], atol=1e-6)
            continue
        j, lam = candidates[0]
        np.testing.assert_allclose(mixed_y[i], lam * y[i] + (1 - lam) * y[j], atol=1e-5)
        lambdas.append(lam)
    assert 0.0 <= min(lambdas) and max(lambdas) <= 1.0
    assert np.std(lambdas) > 0.1  # one weight per example, Beta(0.4, 0.4) is spread out


def test_augment_leaves_batches_alone_when_off_and_changes_every_epoch_when_on():
    x = np.random.default_rng(3).uniform(size=(8, 32, 216, 1)).astype(np.float32)
    y = np.eye(NUM_CLASSES, dtype=np.float32)[np.arange(8)]
    batches = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
    assert recipe.augment(batches, recipe.Augmentation(), seed=0) is batches
    on = recipe.augment(batches, recipe.Augmentation(spec_augment=True, mixup_alpha=0.2), seed=0)
    first, second = ([b[0].numpy() for b in on] for _ in range(2))
    assert not np.array_equal(first[0], second[0])  # new masks and weights each epoch
    again = recipe.augment(batches, recipe.Augmentation(spec_augment=True, mixup_alpha=0.2), 0)
    np.testing.assert_array_equal(first[0], next(iter(again))[0].numpy())  # seeded
    assert all(np.allclose(b[1].numpy().sum(axis=1), 1.0) for b in on)


def test_cosine_schedule_values_with_and_without_warmup():
    plain = recipe.cosine_decay(0.001, total_steps=100)
    for step in (0, 25, 50, 100):
        expected = 0.0005 * (1 + math.cos(math.pi * step / 100))
        assert float(plain(step)) == pytest.approx(expected, abs=1e-9)
    warm = recipe.cosine_decay(0.001, total_steps=100, warmup_fraction=0.1)
    assert float(warm(0)) == pytest.approx(0.0)
    assert float(warm(5)) == pytest.approx(0.0005)
    assert float(warm(10)) == pytest.approx(0.001)
    assert float(warm(55)) == pytest.approx(0.0005, abs=1e-9)  # halfway through 90 decay steps
    assert float(warm(100)) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="total_steps"):
        recipe.cosine_decay(0.001, total_steps=0)


def test_recipe_optimizers_and_loss_are_built_from_the_hyperparameters():
    fixed = model.fixed_hyperparameters(
        "cnn_mfcc",
        {
            "optimizer": "adamw",
            "learning_rate": 0.002,
            "lr_schedule": "cosine",
            "weight_decay": 0.001,
            "label_smoothing": 0.1,
        },
    )
    network = model.build_model("cnn_mfcc", fixed, total_steps=40)
    assert isinstance(network.optimizer, keras.optimizers.AdamW)
    assert network.optimizer.weight_decay == pytest.approx(0.001)
    schedule = network.optimizer._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.CosineDecay)
    assert float(schedule(0)) == pytest.approx(0.002) and schedule.decay_steps == 40
    assert network.loss.get_config()["label_smoothing"] == pytest.approx(0.1)


def test_search_space_holds_the_recipe_choices_with_the_study_as_defaults():
    for family, image in [("cnn_log_mel", True), ("cnn_mfcc", True), ("dense_mean_mfcc", False)]:
        hp = kt.HyperParameters()
        model.build_model(family, hp)
        space = {p.name: p for p in hp.space}
        assert set(space["optimizer"].values) == {"sgd", "adam", "adamw"}
        assert set(space["lr_schedule"].values) == {"constant", "cosine"}
        assert 0.1 in space["label_smoothing"].values and 0.2 in space["mixup_alpha"].values
        assert ("spec_augment" in space) == image and ("conv_batch_norm" in space) == image
        assert hp.values["optimizer"] == "sgd" and hp.values["lr_schedule"] == "constant"
        assert hp.values["label_smoothing"] == 0.0 and hp.values["mixup_alpha"] == 0.0
        assert hp.values.get("spec_augment", False) is False
        assert not model.augmentation(family, hp).active


def test_conv_batch_norm_adds_a_normalisation_after_every_convolution():
    values = {"conv_batch_norm": True, "batch_norm_momentum": 0.9}
    network = model.build_model("cnn_log_mel", model.fixed_hyperparameters("cnn_log_mel", values))
    convolutions = [layer for layer in network.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convolutions) == 4 and not any(c.use_bias for c in convolutions)
    for conv in convolutions:
        norm = network.get_layer(f"{conv.name}_bn")
        assert isinstance(norm, keras.layers.BatchNormalization) and norm.momentum == 0.9
    assert network.get_layer("batch_norm").momentum == 0.9
    seed = model.build_model("cnn_log_mel")
    assert not any(layer.name.endswith("_bn") for layer in seed.layers)
    assert seed.get_layer("batch_norm").momentum == 0.99


def test_tuned_runs_fix_the_recipe_and_seed_runs_never_do():
    seed = TrainConfig("cnn_mfcc", hparams={"optimizer": "adam"})
    assert seed.fixed_hparams == {"optimizer": "adam"}
    tuned = TrainConfig("cnn_mfcc", tuned=True, hparams={"optimizer": "adam"})
    assert tuned.fixed_hparams == {**RECIPES["cnn_mfcc"], "optimizer": "adam"}
    searched = tuned.with_overrides({"cnn_mfcc": {"recipe": False}})
    assert searched.recipe is False and searched.fixed_hparams == {"optimizer": "adam"}
    for family, values in RECIPES.items():  # every recipe value is in the family's space
        model.fixed_hyperparameters(family, values)


def test_hypermodel_fit_trains_on_augmented_batches_only():
    x = np.random.default_rng(4).uniform(size=(16, 32, 216, 1)).astype(np.float32)
    y = np.eye(NUM_CLASSES, dtype=np.float32)[np.arange(16) % NUM_CLASSES]
    batches = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    seen = []
    hypermodel = RecipeHyperModel("cnn_mfcc", None, total_steps=4, seed=0)
    hp = model.fixed_hyperparameters("cnn_mfcc", {"spec_augment": True, "mixup_alpha": 0.2})
    network = hypermodel.build(hp)
    original_fit = network.fit

    def recording_fit(data, *args, **kwargs):
        seen.extend(b for b in data)
        return original_fit(data, *args, **kwargs)

    network.fit = recording_fit
    hypermodel.fit(hp, network, batches, epochs=1, shuffle=False, verbose=0)
    assert len(seen) == 2
    labels = np.concatenate([b[1].numpy() for b in seen])
    assert (labels.max(axis=1) < 1.0).any()  # mixed labels reached fit
    assert not np.array_equal(seen[0][0].numpy(), x[:8])
