"""The fine-tuned mn04 family: the pretrained trunk in the model, its top stages trained.

The seed configuration starts from the AudioSet checkpoint (its embedding is the frozen
family's), trains only the top ``trainable_stages`` of the trunk and the head at a low rate, with
SpecAugment on its log-mel; a training step moves those weights and no others.
"""

import keras
import keras_tuner as kt
import numpy as np
import pytest

from components.audio import embedding, mn04, waveform
from components.audio.labels import NUM_CLASSES
from components.train import model
from components.train.config import MN04_FINETUNED


@pytest.fixture(scope="module")
def seed_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    return model.build_model(MN04_FINETUNED, total_steps=10)


def log_mels(count: int) -> np.ndarray:
    """``[count, 128, 500, 1]``: the front end's output for noise clips at 22,050 Hz."""
    rng = np.random.default_rng(0)
    clips = (0.1 * rng.standard_normal((count, waveform.CLIP_SAMPLES))).astype(np.float32)
    return embedding.mn04_log_mel(clips).numpy()[..., None]


def trunk_of(network: keras.Model) -> keras.Model:
    return network.get_layer("mn04")


def test_seed_configuration_trains_the_top_four_stages_and_the_head_at_a_low_rate(seed_model):
    assert seed_model.input_shape == (None, 128, 500, 1)
    assert seed_model.output_shape == (None, NUM_CLASSES)
    trunk = trunk_of(seed_model)
    trainable = {layer.name.split("_")[0] for layer in trunk.layers if layer.trainable_weights}
    assert trainable == {"block13", "block14", "block15", "top"}
    assert isinstance(seed_model.optimizer, keras.optimizers.AdamW)
    assert float(seed_model.optimizer.learning_rate) == pytest.approx(1e-4)  # step 0 of the cosine
    hp = kt.HyperParameters()
    model.build_model(MN04_FINETUNED, hp)
    recipe = model.augmentation(MN04_FINETUNED, hp)
    assert recipe.spec_augment and recipe.mixup_alpha == 0.0
    # The study's families keep SpecAugment off unless asked.
    assert not model.augmentation("cnn_log_mel", kt.HyperParameters()).spec_augment
    assert model.pretrained_files(MN04_FINETUNED) and not model.pretrained_files("mn04")


def test_it_starts_from_the_frozen_familys_embedding(seed_model):
    x = log_mels(2)
    inner = trunk_of(seed_model)(x[..., 0], training=False)[mn04.EMBEDDING].numpy()
    frozen = embedding.Mn04Embedding().of_log_mel(x[..., 0]).numpy()  # BN folded, from the cache
    np.testing.assert_allclose(inner, frozen, rtol=0, atol=1e-4)


def test_a_training_step_moves_only_the_trainable_stages():
    keras.utils.set_random_seed(0)
    network = model.build_model(MN04_FINETUNED, total_steps=10)
    trunk = trunk_of(network)
    before = {w.path: w.numpy().copy() for w in trunk.weights}
    x = log_mels(4)
    y = keras.utils.to_categorical(np.arange(4) % NUM_CLASSES, NUM_CLASSES)
    network.train_on_batch(x, y)
    after = {w.path: w.numpy() for w in trunk.weights}
    moved = {path for path, value in before.items() if not np.array_equal(value, after[path])}
    stages = {path.split("/")[-2].split("_")[0] for path in moved}
    assert stages == {"block13", "block14", "block15", "top"}, stages


def test_saved_and_loaded_it_scores_the_same(seed_model, tmp_path):
    path = str(tmp_path / "model.keras")
    seed_model.save(path)
    loaded = keras.saving.load_model(path, compile=False)
    x = log_mels(2)
    np.testing.assert_allclose(loaded(x).numpy(), seed_model(x).numpy(), rtol=0, atol=1e-6)
