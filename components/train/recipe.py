"""The from-scratch families' training recipe: SpecAugment, mixup, AdamW, cosine decay, smoothing.

Every part is a Keras Tuner hyperparameter declared here, whose *default is off* (no augmentation,
the study's SGD at a constant rate, plain categorical cross-entropy), so ``build_model(family)``
stays the study's configuration and a tuner, or ``hparams``, switches the parts on. SpecAugment
(masks of random frequency rows and time columns of an image feature, filled with the example's
mean) and mixup (each example blended with another of its batch, inputs and one-hot labels with
the same Beta(α, α) weight) act on *training batches* in the ``tf.data`` pipeline (``augment``):
the model has no augmentation layer, so evaluation, prediction and the exported serving graph are
exactly what they would be without the recipe. Random draws are stateless, seeded per batch from
``tf.data.Dataset.random``, so a seed fixes every epoch's masks and weights and epochs differ.
The learning rate may decay along a cosine over the planned steps, after an optional linear
warmup (Keras's ``CosineDecay``), for SGD, Adam or AdamW.
"""

import math
from dataclasses import dataclass

import keras
import keras_tuner as kt
import tensorflow as tf

OPTIMIZERS: tuple[str, ...] = ("sgd", "adam", "adamw")


@dataclass(frozen=True)
class Augmentation:
    """Training-batch augmentation (defaults: none).

    Attributes:
        spec_augment: Mask frequency rows and time columns of image features.
        masks: Masks per axis (frequency and time each).
        mask_width: Largest mask as a fraction of its axis (width drawn uniformly from 0 to it).
        mixup_alpha: Beta(α, α) of mixup's blending weight; 0 turns mixup off.
    """

    spec_augment: bool = False
    masks: int = 2
    mask_width: float = 0.1
    mixup_alpha: float = 0.0

    @property
    def active(self) -> bool:
        """Whether any augmentation applies."""
        return self.spec_augment or self.mixup_alpha > 0


def augmentation(
    hp: kt.HyperParameters, image: bool, defaults: Augmentation = Augmentation()
) -> Augmentation:
    """Declares (or reads) the augmentation hyperparameters; SpecAugment only for images.

    ``defaults`` are the values a family's seed configuration uses (none for the study's).
    """
    spec_augment, width = False, defaults.mask_width
    if image:
        spec_augment = hp.Boolean("spec_augment", default=defaults.spec_augment)
        width = hp.Choice("mask_width", [0.05, 0.1, 0.2], default=defaults.mask_width)
    alpha = hp.Choice("mixup_alpha", [0.0, 0.1, 0.2, 0.4], default=defaults.mixup_alpha)
    return Augmentation(spec_augment=spec_augment, mask_width=width, mixup_alpha=alpha)


def _axis_mask(seed, batch: int, size: int, masks: int, max_width: int) -> tf.Tensor:
    """``[batch, size]`` booleans: the union of ``masks`` random spans of 0..max_width cells."""
    widths_seed, starts_seed = tf.unstack(
        tf.random.experimental.stateless_split(seed, num=2), axis=0
    )
    widths = tf.random.stateless_uniform(
        (batch, masks, 1), widths_seed, minval=0, maxval=max_width + 1, dtype=tf.int32
    )
    starts = tf.cast(
        tf.random.stateless_uniform((batch, masks, 1), starts_seed)
        * tf.cast(size - widths + 1, tf.float32),
        tf.int32,
    )
    positions = tf.range(size, dtype=tf.int32)[tf.newaxis, tf.newaxis, :]
    return tf.reduce_any((positions >= starts) & (positions < starts + widths), axis=1)


def spec_augment(
    images: tf.Tensor, seed: tf.Tensor, masks: int = 2, mask_width: float = 0.1
) -> tf.Tensor:
    """SpecAugment's frequency and time masks on a batch ``[batch, freq, time, channels]``.

    Each example gets ``masks`` frequency spans and ``masks`` time spans, each of a width drawn
    uniformly from 0 to ``mask_width`` of its axis (rounded down) at a uniform position, set to
    the example's mean value (a neutral value under any feature scaling).

    Args:
        images: The batch.
        seed: Shape-``[2]`` integer seed of the stateless draws.
        masks: Spans per axis.
        mask_width: Largest span as a fraction of its axis.
    """
    batch, freq, time = tf.shape(images)[0], images.shape[1], images.shape[2]
    freq_seed, time_seed = tf.unstack(tf.random.experimental.stateless_split(seed, num=2), axis=0)
    freq_mask = _axis_mask(freq_seed, batch, freq, masks, int(mask_width * freq))
    time_mask = _axis_mask(time_seed, batch, time, masks, int(mask_width * time))
    masked = freq_mask[:, :, tf.newaxis, tf.newaxis] | time_mask[:, tf.newaxis, :, tf.newaxis]
    mean = tf.reduce_mean(images, axis=(1, 2, 3), keepdims=True)
    return tf.where(masked, mean, images)


def mixup(x: tf.Tensor, y: tf.Tensor, seed: tf.Tensor, alpha: float) -> tuple[tf.Tensor, tf.Tensor]:
    """Mixup within a batch: example i becomes λᵢ·(xᵢ, yᵢ) + (1−λᵢ)·(xⱼ, yⱼ), j a shuffle of i.

    λᵢ ~ Beta(α, α) (as the ratio of two Gamma(α) draws), one per example, the same for its
    input and its label, so soft labels still sum to 1.

    Args:
        x: Inputs ``[batch, ...]``.
        y: One-hot (or soft) labels ``[batch, classes]``.
        seed: Shape-``[2]`` integer seed of the stateless draws.
        alpha: Beta concentration (> 0).
    """
    gamma_seed, order_seed = tf.unstack(tf.random.experimental.stateless_split(seed, num=2), axis=0)
    batch = tf.shape(x)[0]
    gammas = tf.random.stateless_gamma((2, batch), gamma_seed, alpha=alpha)
    lam = gammas[0] / tf.maximum(gammas[0] + gammas[1], 1e-12)
    partner = tf.argsort(tf.random.stateless_uniform((batch,), order_seed))
    lam_x = tf.reshape(lam, tf.concat([[batch], tf.ones(tf.rank(x) - 1, tf.int32)], axis=0))
    mixed_x = lam_x * x + (1.0 - lam_x) * tf.gather(x, partner)
    mixed_y = lam[:, tf.newaxis] * y + (1.0 - lam[:, tf.newaxis]) * tf.gather(y, partner)
    return mixed_x, mixed_y


def augment(batches: tf.data.Dataset, recipe: Augmentation, seed: int) -> tf.data.Dataset:
    """The training batches ``(x, one_hot_y)`` with ``recipe``'s augmentation (unchanged if none).

    One stateless seed pair per batch comes from ``tf.data.Dataset.random`` re-randomised each
    epoch: the same ``seed`` repeats a run exactly, while every epoch draws new masks.
    """
    if not recipe.active:
        return batches
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(4)

    def apply(pair, seeds):
        x, y = pair
        seeds = tf.reshape(seeds, (2, 2))
        if recipe.spec_augment:
            x = spec_augment(x, seeds[0], recipe.masks, recipe.mask_width)
        if recipe.mixup_alpha > 0:
            x, y = mixup(x, y, seeds[1], recipe.mixup_alpha)
        return x, y

    return tf.data.Dataset.zip(batches, seeds).map(
        apply, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )


def cosine_decay(
    rate: float, total_steps: int, warmup_fraction: float = 0.0
) -> keras.optimizers.schedules.LearningRateSchedule:
    """``rate`` along a half cosine to 0 over ``total_steps``, after a linear warmup from 0.

    Raises:
        ValueError: Without a positive ``total_steps`` (the decay needs the planned length).
    """
    if total_steps <= 0:
        raise ValueError("a cosine learning-rate schedule needs the planned total_steps (> 0)")
    warmup = int(math.floor(warmup_fraction * total_steps))
    if warmup == 0:
        return keras.optimizers.schedules.CosineDecay(rate, total_steps)
    return keras.optimizers.schedules.CosineDecay(
        0.0, total_steps - warmup, warmup_target=rate, warmup_steps=warmup
    )


def optimizer(hp: kt.HyperParameters, total_steps: int = 0) -> keras.optimizers.Optimizer:
    """Declares the optimizer's hyperparameters and builds it (defaults: the study's SGD, 0.01).

    Args:
        hp: Hyperparameters.
        total_steps: Planned training steps, needed by the cosine schedule only.
    """
    name = hp.Choice("optimizer", list(OPTIMIZERS), default="sgd")
    rate = hp.Float("learning_rate", 1e-4, 1e-1, sampling="log", default=0.01)
    schedule = hp.Choice("lr_schedule", ["constant", "cosine"], default="constant")
    warmup = hp.Choice("warmup_fraction", [0.0, 0.05, 0.1], default=0.0)
    weight_decay = hp.Float("weight_decay", 1e-5, 1e-2, sampling="log", default=1e-4)
    learning_rate = cosine_decay(rate, total_steps, warmup) if schedule == "cosine" else rate
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate=learning_rate, weight_decay=weight_decay)
    if name == "adam":
        return keras.optimizers.Adam(learning_rate=learning_rate)
    return keras.optimizers.SGD(learning_rate=learning_rate)


def loss(hp: kt.HyperParameters) -> str | keras.losses.Loss:
    """Categorical cross-entropy, with label smoothing when the hyperparameter asks for it."""
    smoothing = hp.Choice("label_smoothing", [0.0, 0.05, 0.1, 0.2], default=0.0)
    if smoothing == 0.0:
        return "categorical_crossentropy"
    return keras.losses.CategoricalCrossentropy(label_smoothing=smoothing)
