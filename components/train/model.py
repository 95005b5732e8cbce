"""The study's four Keras model families, the embedding heads, and their Keras Tuner spaces.

``build_model(family, hp)`` is the only architecture definition in the project. Every
hyperparameter is declared on a Keras Tuner ``HyperParameters`` object whose *default* is the
seed study's value, so ``build_model(family)`` (a fresh ``HyperParameters``, which answers every
question with its default) reproduces the study's layer tables exactly, and a tuner calling
``build_model(family, hp)`` searches around them. Families: ``cnn_log_mel`` (1a, 128×216),
``cnn_mfcc`` (2a, 32×216), ``resnet50_mfcc`` (2b, MFCC image repeated to 3 channels — 32×216×3
already meets ResNet50's 32×32 minimum, so no resizing — into ``keras.applications.ResNet50``
without its top; the study froze the pretrained convolutions and left BatchNorm trainable, which
the seed configuration does with ``weights="imagenet"``, while random weights train whole) and
``dense_mean_mfcc`` (3a, 32 values). The study's tables give filters, kernels (3×3, from the
parameter counts), pooling, BatchNorm and dense units, but not dropout rates (a Dropout layer
has no parameters): the seed rates here (0.25 after convolutions, 0.5 in dense heads, 0.2 in
3a) are ours. All use ReLU, softmax outputs, categorical cross-entropy and SGD (Keras's default
learning rate 0.01) in the seed configuration. The space also holds the training recipe
(``recipe.py``: SpecAugment, mixup, Adam/AdamW, cosine decay, label smoothing) and BatchNorm after
every convolution of the CNNs, all off by default.

``yamnet`` is not the study's: a small head on the 2,048-d pooled YAMNet embedding (featurize's
``yamnet_embedding``, z-scored; the pretrained trunk runs in featurize and in the served graph,
frozen). Its seed configuration is ours: input dropout 0.2, one hidden ReLU layer of 256 with
dropout 0.5, AdamW (learning rate 1e-3, weight decay 1e-4); against its alternatives
(docs/benchmarks.md#yamnet-head) only BatchNorm differed beyond the seed spread, so the seed keeps
one hidden layer (a head, not a second linear probe) and the tuner searches 0-2 of them.
Fine-tuning the trunk's top blocks is not offered: it needs the log-mel patches (61,440 floats
per clip) in the examples instead of the embedding, and a trunk pass per clip and epoch. ``mn04``
is the same head, seed and space on the 384-d pooled EfficientAT mn04 embedding
(``mn04_embedding``, z-scored, trunk frozen likewise).
"""

import keras
import keras_tuner as kt

from components.audio import mn04, mn04_weights
from components.audio.features import FEATURE_SHAPES
from components.audio.labels import NUM_CLASSES
from components.train import recipe
from components.train.config import (
    CNN_LOG_MEL,
    CNN_MFCC,
    EMBEDDING_FAMILIES,
    FAMILIES,
    FEATURE_OF,
    MN04_FINETUNED,
    RESNET50_MFCC,
)

# The fine-tuned mn04's seed augmentation: SpecAugment on its log-mel (two frequency and two time
# masks of up to a tenth of the axis), as the recipe draws them.
FINETUNE_AUGMENTATION = recipe.Augmentation(spec_augment=True)


def input_shape(family: str) -> tuple[int, ...]:
    """Shape of one example as the family's model takes it (images get a channel axis)."""
    shape = FEATURE_SHAPES[FEATURE_OF[family]]
    return shape if len(shape) == 1 else (*shape, 1)


def augmentation(family: str, hp: kt.HyperParameters) -> recipe.Augmentation:
    """The recipe's training-batch augmentation of ``family`` (SpecAugment on images only)."""
    defaults = FINETUNE_AUGMENTATION if family == MN04_FINETUNED else recipe.Augmentation()
    return recipe.augmentation(hp, image=len(input_shape(family)) > 1, defaults=defaults)


def _conv(x, filters: int, kernel: int, name: str, norm_momentum: float | None = None):
    """A "same" convolution with ReLU; with a BatchNorm momentum, Conv → BatchNorm → ReLU."""
    if norm_momentum is None:
        return keras.layers.Conv2D(filters, kernel, padding="same", activation="relu", name=name)(x)
    x = keras.layers.Conv2D(filters, kernel, padding="same", use_bias=False, name=name)(x)
    x = keras.layers.BatchNormalization(momentum=norm_momentum, name=f"{name}_bn")(x)
    return keras.layers.Activation("relu", name=f"{name}_relu")(x)


def _batch_norm(hp: kt.HyperParameters) -> tuple[float, float | None]:
    """The CNNs' BatchNorm momentum, and it again if the recipe's conv BatchNorm is on.

    Keras's 0.99 is the study's; the recipe's BatchNorm after every convolution needs 0.9 in
    short runs, or the moving statistics lag the weights and inference answers one class.
    """
    momentum = hp.Choice("batch_norm_momentum", [0.9, 0.99], default=0.99)
    return momentum, momentum if hp.Boolean("conv_batch_norm", default=False) else None


def _cnn_log_mel(hp: kt.HyperParameters, inputs):
    """1a: 4 conv (16,16,32,32) with max pooling, BatchNorm, Dropout, Dense 64."""
    base = hp.Choice("filters", [8, 16, 32], default=16)
    kernel = hp.Choice("kernel_size", [3, 5], default=3)
    momentum, norm = _batch_norm(hp)
    x = inputs
    for i, (scale, pool) in enumerate([(1, (1, 2)), (1, (2, 2)), (2, (2, 2)), (2, (2, 2))]):
        x = _conv(x, base * scale, kernel, f"conv_{i}", norm)
        x = keras.layers.MaxPooling2D(pool, name=f"pool_{i}")(x)
    x = keras.layers.BatchNormalization(momentum=momentum, name="batch_norm")(x)
    x = keras.layers.Dropout(hp.Float("conv_dropout", 0.0, 0.5, step=0.05, default=0.25))(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(hp.Choice("dense_units", [32, 64, 128, 256], default=64), "relu")(x)
    return keras.layers.Dropout(hp.Float("dense_dropout", 0.0, 0.6, step=0.05, default=0.5))(x)


def _cnn_mfcc(hp: kt.HyperParameters, inputs):
    """2a: 6 conv (8,8,16,16,32,32), pooling on time first, BatchNorm, Dropout, Dense 128."""
    base = hp.Choice("filters", [4, 8, 16], default=8)
    kernel = hp.Choice("kernel_size", [3, 5], default=3)
    conv_dropout = hp.Float("conv_dropout", 0.0, 0.5, step=0.05, default=0.25)
    momentum, norm = _batch_norm(hp)
    x = inputs
    for i, (scale, pool) in enumerate([(1, (1, 2)), (1, (1, 2)), (2, (1, 2)), (2, (2, 2))]):
        x = _conv(x, base * scale, kernel, f"conv_{i}", norm)
        x = keras.layers.MaxPooling2D(pool, name=f"pool_{i}")(x)
    x = _conv(x, base * 4, kernel, "conv_4", norm)
    x = keras.layers.Dropout(conv_dropout)(x)
    x = _conv(x, base * 4, kernel, "conv_5", norm)
    x = keras.layers.BatchNormalization(momentum=momentum, name="batch_norm")(x)
    x = keras.layers.Dropout(conv_dropout)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(hp.Choice("dense_units", [64, 128, 256], default=128), "relu")(x)
    return keras.layers.Dropout(hp.Float("dense_dropout", 0.0, 0.6, step=0.05, default=0.5))(x)


def _resnet50_mfcc(hp: kt.HyperParameters, inputs, weights: str | None):
    """2b: ResNet50 body on the MFCC image, then Dense 256/128/64 with Dropout."""
    rgb = keras.layers.Concatenate(name="to_3_channels")([inputs, inputs, inputs])
    backbone = keras.applications.ResNet50(
        include_top=False, weights=weights, input_shape=tuple(rgb.shape[1:])
    )
    # The study fine-tuned ImageNet weights with only BatchNorm trainable; random weights have
    # nothing to transfer, so without them the whole backbone trains (and a search does not
    # waste trials on frozen random convolutions).
    if weights:
        trainable = hp.Choice("backbone_trainable", ["batch_norm", "all"], default="batch_norm")
    else:
        trainable = hp.Choice("backbone_trainable", ["all"], default="all")
    if trainable == "batch_norm":
        for layer in backbone.layers:
            layer.trainable = isinstance(layer, keras.layers.BatchNormalization)
    # Keras's 0.99 is the study's; in a short run (the demo's ~100 updates) the moving statistics
    # stay near their initial values and the inference-mode model answers one class for every
    # clip, which 0.9 avoids.
    momentum = hp.Choice("batch_norm_momentum", [0.9, 0.99], default=0.99)
    for layer in backbone.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = momentum
    x = keras.layers.Flatten()(backbone(rgb))
    units = hp.Choice("dense_units", [64, 128, 256, 512], default=256)
    dropout = hp.Float("dense_dropout", 0.0, 0.6, step=0.05, default=0.5)
    for i in range(3):
        x = keras.layers.Dense(units // 2**i, activation="relu", name=f"dense_{i}")(x)
        x = keras.layers.Dropout(dropout)(x)
    return x


def _dense_mean_mfcc(hp: kt.HyperParameters, inputs):
    """3a: Dense 32/64/128 with Dropout."""
    units = hp.Choice("dense_units", [16, 32, 64, 128], default=32)
    dropout = hp.Float("dense_dropout", 0.0, 0.5, step=0.05, default=0.2)
    x = inputs
    for i in range(3):
        x = keras.layers.Dense(units * 2**i, activation="relu", name=f"dense_{i}")(x)
        x = keras.layers.Dropout(dropout)(x)
    return x


def _embedding_head(hp: kt.HyperParameters, inputs):
    """yamnet, mn04: Dropout on the embedding, then 0-2 Dense ReLU layers (optional BatchNorm)."""
    x = keras.layers.Dropout(hp.Float("input_dropout", 0.0, 0.5, step=0.1, default=0.2))(inputs)
    units = hp.Choice("dense_units", [128, 256, 512, 1024], default=256)
    dropout = hp.Float("dense_dropout", 0.0, 0.6, step=0.1, default=0.5)
    batch_norm = hp.Boolean("batch_norm", default=False)
    for i in range(hp.Int("hidden_layers", 0, 2, default=1)):
        x = keras.layers.Dense(units, name=f"dense_{i}")(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(name=f"batch_norm_{i}")(x)
        x = keras.layers.Dropout(dropout)(keras.layers.ReLU()(x))
    return x


def _mn04_finetuned(hp: kt.HyperParameters, inputs):
    """mn04_finetuned: the pretrained mn04 trunk, its top stages trainable, then the mn04 head.

    The trunk (``mn04.build_network``, AudioSet weights from the cache) reads the log-mel its
    front end made in featurize and pools its last feature map as the frozen family's embedding
    does; ``trainable_stages`` of its 17 stages, counted from the top, train (their batch norms
    on batch statistics), the rest stay frozen (moving statistics).
    """
    trunk = mn04.build_network(
        mn04_weights.load(),
        trainable_stages=hp.Int("trainable_stages", 0, len(mn04.STAGES), default=4),
    )
    log_mel = keras.layers.Reshape(FEATURE_SHAPES[FEATURE_OF[MN04_FINETUNED]])(inputs)
    return _embedding_head(hp, trunk(log_mel)[mn04.EMBEDDING])


def pretrained_files(family: str) -> list[dict[str, str]]:
    """The pretrained files (backbone, file, sha256) a family's model starts from itself."""
    return mn04_weights.weight_files() if family == MN04_FINETUNED else []


def _finetune_optimizer(hp: kt.HyperParameters, total_steps: int) -> keras.optimizers.Optimizer:
    """AdamW at a low rate (pretrained weights), cosine-decayed over the planned steps."""
    rate = hp.Float("learning_rate", 1e-5, 1e-3, sampling="log", default=1e-4)
    decay = hp.Float("weight_decay", 1e-6, 1e-2, sampling="log", default=1e-4)
    schedule = recipe.cosine_decay(rate, total_steps) if total_steps else rate
    return keras.optimizers.AdamW(learning_rate=schedule, weight_decay=decay)


def _embedding_optimizer(hp: kt.HyperParameters) -> keras.optimizers.Optimizer:
    return keras.optimizers.AdamW(
        learning_rate=hp.Float("learning_rate", 1e-4, 1e-2, sampling="log", default=1e-3),
        weight_decay=hp.Float("weight_decay", 1e-6, 1e-2, sampling="log", default=1e-4),
    )


def fixed_hyperparameters(family: str, values: dict) -> kt.HyperParameters:
    """Hyperparameters with ``values`` fixed, each cast to the type of the space's default.

    Used to change a few of the study's values (a seed run builds with the rest at their
    defaults) or to take them out of a tuner's search. Casting matters because KFP hands dict
    parameters over as protobuf Structs, in which ``16`` arrives as ``16.0``.

    Raises:
        ValueError: For a name the family's space does not declare.
    """
    fixed = kt.HyperParameters()
    if not values:
        return fixed
    defaults = kt.HyperParameters()
    build_model(family, defaults)
    for name, value in values.items():
        if name not in defaults.values:
            known = ", ".join(sorted(defaults.values))
            raise ValueError(f"{family} has no hyperparameter {name!r}; it has: {known}")
        fixed.Fixed(name, type(defaults.values[name])(value))
    return fixed


def build_model(
    family: str,
    hp: kt.HyperParameters | None = None,
    weights: str | None = None,
    total_steps: int = 0,
) -> keras.Model:
    """Builds and compiles one family's model.

    Args:
        family: One of ``FAMILIES``.
        hp: Hyperparameters to build with; None builds the seed study's configuration.
            A tuner passes its trial's object, so this is also the search space.
        weights: ResNet50 backbone weights for ``resnet50_mfcc``: ``"imagenet"`` where they can
            be downloaded, or None (random initialisation; nothing is ever faked).
        total_steps: Planned training steps (epochs × batches), for a cosine learning rate.

    Returns:
        A compiled model (categorical cross-entropy, accuracy) named after the family.

    Raises:
        ValueError: For an unknown family.
    """
    if family not in FEATURE_OF:
        raise ValueError(f"unknown family {family!r}; expected one of {FAMILIES}")
    hp = hp if hp is not None else kt.HyperParameters()
    inputs = keras.Input(input_shape(family), name=FEATURE_OF[family])
    if family == CNN_LOG_MEL:
        x = _cnn_log_mel(hp, inputs)
    elif family == CNN_MFCC:
        x = _cnn_mfcc(hp, inputs)
    elif family == RESNET50_MFCC:
        x = _resnet50_mfcc(hp, inputs, weights)
    elif family in EMBEDDING_FAMILIES:
        x = _embedding_head(hp, inputs)
    elif family == MN04_FINETUNED:
        x = _mn04_finetuned(hp, inputs)
    else:
        x = _dense_mean_mfcc(hp, inputs)
    # float32 even under a mixed_float16 policy: a float16 softmax loses small probabilities.
    outputs = keras.layers.Dense(
        NUM_CLASSES, activation="softmax", name="probabilities", dtype="float32"
    )(x)
    model = keras.Model(inputs, outputs, name=family)
    augmentation(family, hp)  # declared here, so the space is whole; fit applies it
    if family in EMBEDDING_FAMILIES:
        optimizer = _embedding_optimizer(hp)
    elif family == MN04_FINETUNED:
        optimizer = _finetune_optimizer(hp, total_steps)
    else:
        optimizer = recipe.optimizer(hp, total_steps)
    model.compile(optimizer=optimizer, loss=recipe.loss(hp), metrics=["accuracy"])
    return model
