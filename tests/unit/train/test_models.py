"""The four Keras families: the study's layer tables, the search space, one-batch overfitting."""

import keras
import keras_tuner as kt
import numpy as np
import pytest

from components.audio.labels import NUM_CLASSES
from components.train import model
from tests.helpers.training_examples import synthetic_features

# (total, trainable) parameters printed in the study's model summaries.
STUDY_PARAMETERS = {
    "cnn_log_mel": (443_064, 443_000),
    "cnn_mfcc": (871_296, 871_232),
    "dense_mean_mfcc": (12_520, 12_520),
}


def trainable_parameters(network: keras.Model) -> int:
    return sum(int(np.prod(weight.shape)) for weight in network.trainable_weights)


def small_batch(family: str, per_class: int = 2, seed: int = 0):
    rng = np.random.default_rng(seed)
    feature, shape = model.FEATURE_OF[family], model.input_shape(family)
    labels = np.arange(NUM_CLASSES * per_class) % NUM_CLASSES
    x = np.stack([synthetic_features(int(y), rng)[feature].reshape(shape) for y in labels])
    return x.astype(np.float32), keras.utils.to_categorical(labels, NUM_CLASSES)


@pytest.mark.parametrize("family", sorted(STUDY_PARAMETERS))
def test_seed_configuration_matches_the_study_parameter_counts(family):
    network = model.build_model(family)
    assert (network.count_params(), trainable_parameters(network)) == STUDY_PARAMETERS[family]
    assert network.output_shape == (None, NUM_CLASSES)
    assert isinstance(network.optimizer, keras.optimizers.SGD)
    assert network.loss == "categorical_crossentropy"


def test_resnet_with_the_study_freezing_matches_its_parameter_counts():
    hp = kt.HyperParameters()
    hp.Fixed("backbone_trainable", "batch_norm")  # the study's choice with ImageNet weights
    network = model.build_model("resnet50_mfcc", hp, weights=None)
    assert network.count_params() == 27_299_656
    assert trainable_parameters(network) == 3_765_064
    backbone = network.get_layer("resnet50")
    assert backbone.output.shape == (None, 1, 7, 2048)  # 14,336 flattened, as in the study
    assert network.input_shape == (None, 32, 216, 1)


def test_resnet_without_pretrained_weights_trains_whole_and_takes_a_step():
    hp = kt.HyperParameters()
    network = model.build_model("resnet50_mfcc", hp, weights=None)
    assert hp.values["backbone_trainable"] == "all"
    x, y = small_batch("resnet50_mfcc", per_class=1)
    before = [w.numpy().copy() for w in network.trainable_weights[:3]]
    loss = network.train_on_batch(x, y)
    assert np.isfinite(loss).all()
    assert any(
        not np.array_equal(a, b.numpy())
        for a, b in zip(before, network.trainable_weights, strict=False)
    )


def test_seed_hyperparameters_are_the_search_space_defaults():
    hp = kt.HyperParameters()
    model.build_model("cnn_log_mel", hp)
    assert hp.values == {
        "filters": 16,
        "kernel_size": 3,
        "conv_dropout": 0.25,
        "dense_units": 64,
        "dense_dropout": 0.5,
        "batch_norm_momentum": 0.99,
        "conv_batch_norm": False,
        "optimizer": "sgd",
        "learning_rate": 0.01,
        "lr_schedule": "constant",
        "warmup_fraction": 0.0,
        "weight_decay": 0.0001,
        "label_smoothing": 0.0,
        "spec_augment": False,
        "mask_width": 0.1,
        "mixup_alpha": 0.0,
    }
    assert {p.name for p in hp.space} >= {"filters", "kernel_size", "learning_rate", "optimizer"}


@pytest.mark.parametrize("family", ["cnn_log_mel", "cnn_mfcc", "dense_mean_mfcc"])
def test_search_space_samples_build_and_differ_from_the_seed(family):
    hp = kt.HyperParameters()
    seed_network = model.build_model(family, hp)
    for parameter in hp.space:
        hp.values[parameter.name] = parameter.random_sample(seed=3)
    sampled = model.build_model(family, hp, total_steps=100)
    assert sampled.output_shape == (None, NUM_CLASSES)
    assert sampled.count_params() != seed_network.count_params() or hp.values["optimizer"] != "sgd"


# ResNet50's head stacks three Dropout(0.5) layers: under them the training-mode loss on 16 clips
# only wanders down to ~1.7 (from 5.6) in 40 steps, so its memorisation is checked with the head's
# dropout off, the backbone and everything else as the seed builds them (0.0 after 12 steps).
@pytest.mark.parametrize(
    "family,steps,hparams",
    [
        ("cnn_log_mel", 30, {}),
        ("cnn_mfcc", 30, {}),
        ("dense_mean_mfcc", 500, {}),
        ("resnet50_mfcc", 15, {"dense_dropout": 0.0}),
    ],
)
def test_seed_model_overfits_one_small_batch(family, steps, hparams):
    keras.utils.set_random_seed(0)
    network = model.build_model(family, model.fixed_hyperparameters(family, hparams))
    x, y = small_batch(family)
    # Training-mode loss (dropout on, batch statistics): what memorisation is about.
    losses = [float(network.train_on_batch(x, y)[0]) for _ in range(steps)]
    assert losses[-1] < 0.25 * losses[0], losses


def test_fixed_hyperparameters_change_the_seed_configuration_with_the_space_types():
    # as a KFP Struct delivers them: every number a float
    fixed = model.fixed_hyperparameters(
        "cnn_mfcc", {"optimizer": "adam", "learning_rate": 0.001, "filters": 16.0}
    )
    network = model.build_model("cnn_mfcc", fixed)
    assert isinstance(network.optimizer, keras.optimizers.Adam)
    assert float(network.optimizer.learning_rate) == pytest.approx(0.001)
    assert network.get_layer("conv_0").filters == 16 and fixed.values["filters"] == 16
    assert isinstance(fixed.values["filters"], int)
    assert fixed.values["dense_units"] == 128  # everything not fixed keeps the study's value
    assert model.fixed_hyperparameters("cnn_mfcc", {}).values == {}


def test_fixing_an_unknown_hyperparameter_names_the_known_ones():
    with pytest.raises(ValueError, match="no hyperparameter 'momentum'.*learning_rate"):
        model.fixed_hyperparameters("dense_mean_mfcc", {"momentum": 0.9})


def test_resnet_batch_norm_momentum_is_keras_default_unless_fixed():
    def momenta(network: keras.Model) -> set[float]:
        backbone = network.get_layer("resnet50")
        return {
            layer.momentum
            for layer in backbone.layers
            if isinstance(layer, keras.layers.BatchNormalization)
        }

    assert momenta(model.build_model("resnet50_mfcc")) == {0.99}
    fixed = model.fixed_hyperparameters("resnet50_mfcc", {"batch_norm_momentum": 0.9})
    assert momenta(model.build_model("resnet50_mfcc", fixed)) == {0.9}


def test_unknown_family_is_refused():
    with pytest.raises(ValueError, match="unknown family"):
        model.build_model("transformer")


def test_family_overrides_apply_to_one_family_and_keep_field_types():
    from components.train.core import TrainConfig

    overrides = {
        "resnet50_mfcc": {"epochs": 2.0, "max_trials": 1.0, "hparams": {"dense_units": 64.0}}
    }
    resnet = TrainConfig(family="resnet50_mfcc", epochs=6).with_overrides(overrides)
    assert resnet.epochs == 2 and isinstance(resnet.epochs, int) and resnet.max_trials == 1
    assert resnet.hparams == {"dense_units": 64.0}
    assert TrainConfig(family="cnn_mfcc", epochs=6).with_overrides(overrides).epochs == 6


def test_yamnet_seed_head_is_the_documented_default():
    network = model.build_model("yamnet")
    assert network.input_shape == (None, 2048) and network.output_shape == (None, NUM_CLASSES)
    assert [layer.units for layer in network.layers if isinstance(layer, keras.layers.Dense)] == [
        256,
        NUM_CLASSES,
    ]
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in network.layers)
    assert isinstance(network.optimizer, keras.optimizers.AdamW)
    assert float(network.optimizer.learning_rate) == pytest.approx(1e-3)
    assert network.optimizer.weight_decay == pytest.approx(1e-4)
    assert model.FEATURE_OF["yamnet"] == "yamnet_embedding"


def test_yamnet_search_space_samples_build():
    hp = kt.HyperParameters()
    model.build_model("yamnet", hp)
    assert {p.name for p in hp.space} == {
        "input_dropout",
        "dense_units",
        "dense_dropout",
        "batch_norm",
        "hidden_layers",
        "learning_rate",
        "weight_decay",
        "label_smoothing",  # the training recipe's, shared by every family (off by default)
        "mixup_alpha",
    }
    for seed in range(4):
        for parameter in hp.space:
            hp.values[parameter.name] = parameter.random_sample(seed=seed)
        sampled = model.build_model("yamnet", hp)
        assert sampled.output_shape == (None, NUM_CLASSES)
    fixed = model.fixed_hyperparameters("yamnet", {"hidden_layers": 2.0, "batch_norm": True})
    deep = model.build_model("yamnet", fixed)
    assert len([layer for layer in deep.layers if isinstance(layer, keras.layers.Dense)]) == 3
    assert deep.get_layer("batch_norm_1") is not None


def test_yamnet_head_overfits_one_batch_of_random_embeddings():
    # Random 2,048-d "embeddings" with arbitrary labels: only memorisation can fit them.
    keras.utils.set_random_seed(0)
    network = model.build_model("yamnet")
    x = np.random.default_rng(0).standard_normal((32, 2048)).astype(np.float32)
    y = keras.utils.to_categorical(np.arange(32) % NUM_CLASSES, NUM_CLASSES)
    for _ in range(60):
        network.train_on_batch(x, y)
    loss, accuracy = network.evaluate(x, y, verbose=0)  # inference mode: dropout off
    assert loss < 0.05 and accuracy == 1.0, (loss, accuracy)
