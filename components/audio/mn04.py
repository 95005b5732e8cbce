"""EfficientAT ``mn04_as`` rebuilt as Keras layers: log-mel → 384-d embedding → AudioSet logits.

``mn04_as`` (Schmid, Koutini, Widmer, ICASSP 2023; MIT) is a MobileNetV3-Large at width 0.4
trained on AudioSet by knowledge distillation. The trunk has 17 stages, numbered as the
checkpoint's ``features.N``: a 3×3 stride-2 stem convolution (1 → 8 channels), the 15 inverted
residual blocks of ``BLOCKS`` (1×1 expansion unless the width is unchanged, k×k depthwise,
channel squeeze-excitation where marked, linear 1×1 projection, a residual sum when the shape
is kept) and a 1×1 convolution to 384 channels; every convolution is followed by batch
normalisation (kept as Keras layers so a fine-tuned stage can update it) and ReLU or hard-swish.
The embedding is the feature map's mean over frequency and time; the AudioSet head is
Dense 512, hard-swish, dropout, Dense 527 logits (apply a sigmoid for tags). Layout is
channels-last, frequency on the height axis and time on the width axis. PyTorch pads every
convolution by ``(k - 1) // 2`` on both sides, which TF's ``'same'`` reproduces only at stride
1; the stride-2 convolutions get an explicit ``ZeroPadding2D``. ``build_network`` returns a plain
functional model (no custom layers) whose layer names start with their stage's name, so
``set_trainable_stages`` can freeze all but the top stages; ``load_checkpoint`` fills it from a
``state_dict`` (``mn04_weights.read_checkpoint``) with every tensor accounted for;
``fold_batch_norm`` turns a (trained) network into its faster inference form, which
``inference_network`` builds straight from a checkpoint; ``Mn04`` is the
whole path from a 32 kHz waveform as a ``tf.Module`` that ``tf.saved_model.save`` exports.
"""

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from components.audio import mn04_frontend

EMBEDDING_SIZE = 384
NUM_AUDIOSET_CLASSES = 527
STEM_CHANNELS = 8
HEAD_HIDDEN = 512
HEAD_DROPOUT = 0.2
# EfficientAT's BatchNorm2d(eps=0.001, momentum=0.01): PyTorch's momentum is Keras' 1 − momentum.
BN_EPSILON = 1e-3
BN_MOMENTUM = 0.99
EMBEDDING = "embedding"
LOGITS = "logits"


@dataclass(frozen=True)
class Block:
    """One inverted residual block: its widths, depthwise kernel and stride, SE and activation.

    ``se_channels`` is the squeeze-excitation bottleneck (0: no SE); ``hard_swish`` selects
    hard-swish over ReLU for the expansion and depthwise convolutions.
    """

    in_channels: int
    kernel: int
    expanded: int
    out_channels: int
    stride: int
    se_channels: int
    hard_swish: bool

    @property
    def expands(self) -> bool:
        """Whether a 1×1 expansion convolution precedes the depthwise one."""
        return self.expanded != self.in_channels

    @property
    def activation(self) -> str:
        """The Keras activation of the expansion and depthwise convolutions."""
        return "hard_silu" if self.hard_swish else "relu"

    @property
    def residual(self) -> bool:
        """Whether the block's input is added to its output."""
        return self.stride == 1 and self.in_channels == self.out_channels


# MobileNetV3-Large's bneck table at width 0.4 (channels rounded to multiples of 8, the SE
# bottleneck a quarter of the expanded width, rounded likewise) as the checkpoint's shapes give it.
BLOCKS: tuple[Block, ...] = (
    Block(8, 3, 8, 8, 1, 0, False),
    Block(8, 3, 24, 16, 2, 0, False),
    Block(16, 3, 32, 16, 1, 0, False),
    Block(16, 5, 32, 16, 2, 8, False),
    Block(16, 5, 48, 16, 1, 16, False),
    Block(16, 5, 48, 16, 1, 16, False),
    Block(16, 3, 96, 32, 2, 0, True),
    Block(32, 3, 80, 32, 1, 0, True),
    Block(32, 3, 72, 32, 1, 0, True),
    Block(32, 3, 72, 32, 1, 0, True),
    Block(32, 3, 192, 48, 1, 48, True),
    Block(48, 3, 272, 48, 1, 72, True),
    Block(48, 5, 272, 64, 2, 72, True),
    Block(64, 5, 384, 64, 1, 96, True),
    Block(64, 5, 384, 64, 1, 96, True),
)
STAGES: tuple[str, ...] = ("stem", *(f"block{i:02d}" for i in range(1, 16)), "top")


class CheckpointMismatch(ValueError):
    """A ``state_dict`` does not fit the network: missing, unused or misshapen tensors."""


@dataclass(frozen=True)
class _Param:
    """One Keras layer and the checkpoint module whose tensors fill it."""

    layer: str
    module: str
    kind: str  # "conv", "depthwise", "bn" or "dense"


def _conv_bn_params(stage: str, part: str, module: str, kind: str = "conv") -> list[_Param]:
    return [
        _Param(f"{stage}_{part}", f"{module}.0", kind),
        _Param(f"{stage}_{part}_bn", f"{module}.1", "bn"),
    ]


def _params() -> Iterator[_Param]:
    """Every weighted layer of ``build_network`` with its checkpoint module, in graph order."""
    yield from _conv_bn_params("stem", "conv", "features.0")
    for index, block in enumerate(BLOCKS, start=1):
        stage = STAGES[index]
        # The block's parts are numbered in order, and expansion and SE are optional.
        part = (f"features.{index}.block.{n}" for n in itertools.count())
        if block.expands:
            yield from _conv_bn_params(stage, "expand", next(part))
        yield from _conv_bn_params(stage, "depthwise", next(part), "depthwise")
        if block.se_channels:
            se = f"{next(part)}.conc_se_layers.0"
            yield _Param(f"{stage}_se_reduce", f"{se}.fc1", "dense")
            yield _Param(f"{stage}_se_expand", f"{se}.fc2", "dense")
        yield from _conv_bn_params(stage, "project", next(part))
    yield from _conv_bn_params("top", "conv", f"features.{len(BLOCKS) + 1}")
    yield _Param("head_hidden", "classifier.2", "dense")
    yield _Param("head_logits", "classifier.5", "dense")


def _conv_bn(
    x: keras.KerasTensor,
    filters: int,
    kernel: int,
    stride: int,
    name: str,
    activation: str | None,
    batch_norm: bool,
    depthwise: bool = False,
) -> keras.KerasTensor:
    """Convolution, batch norm (or a bias instead), then ``activation`` (a Keras name) if any."""
    padding = "same"
    if stride > 1:
        x = keras.layers.ZeroPadding2D((kernel - 1) // 2, name=f"{name}_pad")(x)
        padding = "valid"
    bias = not batch_norm
    if depthwise:
        conv = keras.layers.DepthwiseConv2D(kernel, stride, padding, use_bias=bias, name=name)
    else:
        conv = keras.layers.Conv2D(filters, kernel, stride, padding, use_bias=bias, name=name)
    x = conv(x)
    if batch_norm:
        x = keras.layers.BatchNormalization(
            epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=f"{name}_bn"
        )(x)
    if activation is None:
        return x
    return keras.layers.Activation(activation, name=f"{name}_act")(x)


def _squeeze_excite(x: keras.KerasTensor, block: Block, stage: str) -> keras.KerasTensor:
    """Channel gates ``sigmoid(W2 relu(W1 mean_ft(x)))`` multiplied into ``x``."""
    squeezed = keras.layers.GlobalAveragePooling2D(keepdims=True, name=f"{stage}_se_pool")(x)
    squeezed = keras.layers.Dense(block.se_channels, "relu", name=f"{stage}_se_reduce")(squeezed)
    gates = keras.layers.Dense(block.expanded, "sigmoid", name=f"{stage}_se_expand")(squeezed)
    return keras.layers.Multiply(name=f"{stage}_se_scale")([x, gates])


def _inverted_residual(
    x: keras.KerasTensor, block: Block, stage: str, batch_norm: bool
) -> keras.KerasTensor:
    inputs = x
    act = block.activation
    if block.expands:
        x = _conv_bn(x, block.expanded, 1, 1, f"{stage}_expand", act, batch_norm)
    x = _conv_bn(
        x, block.expanded, block.kernel, block.stride, f"{stage}_depthwise", act, batch_norm, True
    )
    if block.se_channels:
        x = _squeeze_excite(x, block, stage)
    x = _conv_bn(x, block.out_channels, 1, 1, f"{stage}_project", None, batch_norm)
    return keras.layers.Add(name=f"{stage}_add")([inputs, x]) if block.residual else x


def set_trainable_stages(network: keras.Model, trainable_stages: int) -> None:
    """Freezes all but the top ``trainable_stages`` of the 17 stages (``STAGES``).

    Frozen batch-norm layers run on their moving statistics even in training (Keras 3). The
    AudioSet head, where the network has one, trains with the top stage.

    Args:
        network: A model from ``build_network``.
        trainable_stages: 0 freezes the trunk; 17 trains all of it.
    """
    if not 0 <= trainable_stages <= len(STAGES):
        raise ValueError(f"trainable_stages must be in [0, {len(STAGES)}], got {trainable_stages}")
    trainable = set(STAGES[len(STAGES) - trainable_stages :])
    if trainable_stages:
        trainable.add("head")
    for layer in network.layers:
        if layer.weights:
            layer.trainable = layer.name.split("_")[0] in trainable


def _architecture(batch_norm: bool, with_logits: bool) -> keras.Model:
    """The layers of ``build_network`` (``batch_norm=False``: biases instead), untrained."""
    log_mel = keras.Input((mn04_frontend.N_MELS, None), name="log_mel")
    x = keras.layers.Reshape((mn04_frontend.N_MELS, -1, 1), name="stem_channel")(log_mel)
    x = _conv_bn(x, STEM_CHANNELS, 3, 2, "stem_conv", "hard_silu", batch_norm)
    for stage, block in zip(STAGES[1:-1], BLOCKS, strict=True):
        x = _inverted_residual(x, block, stage, batch_norm)
    x = _conv_bn(x, EMBEDDING_SIZE, 1, 1, "top_conv", "hard_silu", batch_norm)
    embedding = keras.layers.GlobalAveragePooling2D(name=EMBEDDING)(x)
    outputs = {EMBEDDING: embedding}
    if with_logits:
        hidden = keras.layers.Dense(HEAD_HIDDEN, "hard_silu", name="head_hidden")(embedding)
        hidden = keras.layers.Dropout(HEAD_DROPOUT, name="head_dropout")(hidden)
        outputs[LOGITS] = keras.layers.Dense(NUM_AUDIOSET_CLASSES, name="head_logits")(hidden)
    return keras.Model(log_mel, outputs, name="mn04")


def build_network(
    state_dict: Mapping[str, np.ndarray] | None = None,
    *,
    trainable_stages: int = 0,
    with_logits: bool = False,
) -> keras.Model:
    """The trunk (and head) as a Keras model: ``[batch, 128, frames]`` log-mel → embedding.

    Args:
        state_dict: The checkpoint's tensors (``mn04_weights.read_checkpoint``); ``None`` keeps
            Keras' random initialisation.
        trainable_stages: How many of the 17 stages, counted from the top, stay trainable.
        with_logits: Also output the ``[batch, 527]`` AudioSet logits (the checkpoint must then
            hold the head; without, its head tensors are left unused and refused).

    Returns:
        A functional model named ``mn04`` with output ``embedding`` (and ``logits``).
    """
    network = _architecture(batch_norm=True, with_logits=with_logits)
    if state_dict is not None:
        load_checkpoint(network, state_dict, with_logits=with_logits)
    set_trainable_stages(network, trainable_stages)
    return network


def fold_batch_norm(network: keras.Model) -> keras.Model:
    """The same function with every batch norm folded into its convolution, for inference.

    An inference-mode batch norm is a fixed per-channel affine map, so it folds exactly into
    the preceding convolution's kernel and a bias (computed in float64); the folded model has
    ~50 fewer ops per call and runs ~1.5× faster at batch 1 (measured, 5 s clips). It is frozen;
    fine-tune the network from ``build_network`` and fold it afterwards.

    Args:
        network: A model from ``build_network`` (trained or not, with or without logits).

    Returns:
        A frozen functional model with the same layer names (less the ``*_bn`` layers), inputs
        and outputs.
    """
    folded = _architecture(batch_norm=False, with_logits=LOGITS in network.output)
    weights = {layer.name: layer.get_weights() for layer in network.layers if layer.weights}
    return _load_folded(folded, weights)


def inference_network(
    state_dict: Mapping[str, np.ndarray], *, with_logits: bool = False
) -> keras.Model:
    """``fold_batch_norm(build_network(state_dict, with_logits=...))``, built in one step.

    The batch norms are folded as the checkpoint loads, so the network with them is never built
    (a process's first build: ~1 s less, measured); the weights are the same to the bit.

    Raises:
        CheckpointMismatch: As ``load_checkpoint``.
    """
    folded = _architecture(batch_norm=False, with_logits=with_logits)
    return _load_folded(folded, _checked_weights(folded, state_dict, with_logits))


def _load_folded(folded: keras.Model, weights: Mapping[str, list[np.ndarray]]) -> keras.Model:
    """Fills a batch-norm-free network from every layer's weights (``*_bn`` layers' included)."""
    for layer in folded.layers:
        if not layer.weights:
            continue
        source = weights[layer.name]
        if isinstance(layer, keras.layers.Conv2D | keras.layers.DepthwiseConv2D):
            depthwise = isinstance(layer, keras.layers.DepthwiseConv2D)
            source = _fold(source[0], weights[f"{layer.name}_bn"], depthwise)
        layer.set_weights(source)
    folded.trainable = False
    return folded


def _fold(kernel: np.ndarray, norm: list[np.ndarray], depthwise: bool) -> list[np.ndarray]:
    """``[kernel, bias]`` of one convolution computing a kernel's and its batch norm's work.

    ``norm`` is ``[gamma, beta, mean, variance]``; computed in float64, stored in float32.
    """
    gamma, beta, mean, variance = (w.astype(np.float64) for w in norm)
    scale = gamma / np.sqrt(variance + BN_EPSILON)
    # The output channel is the kernel's last axis (HWIO), the third of a depthwise one.
    shape = [1, 1, 1, 1]
    shape[2 if depthwise else 3] = -1
    folded = kernel.astype(np.float64) * scale.reshape(shape)
    return [folded.astype(np.float32), (beta - mean * scale).astype(np.float32)]


def _keras_weights(kind: str, tensors: dict[str, np.ndarray]) -> list[np.ndarray]:
    """A module's torch tensors in the order and layout of the Keras layer's weights."""
    if kind == "conv":  # OIHW → HWIO
        return [tensors["weight"].transpose(2, 3, 1, 0)]
    if kind == "depthwise":  # [C, 1, kh, kw] → [kh, kw, C, 1]
        return [tensors["weight"].transpose(2, 3, 0, 1)]
    if kind == "dense":  # [out, in] → [in, out]
        return [tensors["weight"].T, tensors["bias"]]
    return [tensors[k] for k in ("weight", "bias", "running_mean", "running_var")]


_TENSOR_NAMES = {
    "conv": ("weight",),
    "depthwise": ("weight",),
    "dense": ("weight", "bias"),
    "bn": ("weight", "bias", "running_mean", "running_var"),
}


def load_checkpoint(
    network: keras.Model, state_dict: Mapping[str, np.ndarray], *, with_logits: bool = True
) -> None:
    """Copies a ``state_dict`` into ``network``, using every tensor exactly once.

    ``num_batches_tracked`` counters are ignored (Keras' batch norm has none); the head's
    tensors are skipped when ``with_logits`` is false (a trunk-only network).

    Args:
        network: A model from ``build_network`` (built with or without logits).
        state_dict: ``{name: array}`` in torch layouts.
        with_logits: Whether the network has the AudioSet head to fill.

    Raises:
        CheckpointMismatch: If a tensor is missing, misshapen, or left unused.
    """
    for name, values in _checked_weights(network, state_dict, with_logits).items():
        network.get_layer(name).set_weights(values)


def _expected_shapes(
    layers: Mapping[str, keras.layers.Layer], param: _Param
) -> list[tuple[int, ...]]:
    """The shapes of ``param``'s checkpoint tensors, in Keras layout, as ``layers`` hold them.

    A network built without batch norms (``_architecture(batch_norm=False)``) has none of the
    ``*_bn`` layers and a bias beside each kernel: a norm's four vectors then have the bias's
    shape, and a convolution's checkpoint tensor is its kernel alone.
    """
    if param.kind == "bn" and param.layer not in layers:
        bias = layers[param.layer.removesuffix("_bn")].weights[1]
        return [tuple(bias.shape)] * 4
    shapes = [tuple(w.shape) for w in layers[param.layer].weights]
    return shapes[:1] if param.kind in ("conv", "depthwise") else shapes


def _checked_weights(
    network: keras.Model, state_dict: Mapping[str, np.ndarray], with_logits: bool
) -> dict[str, list[np.ndarray]]:
    """``load_checkpoint``'s values by layer name (``*_bn`` included), every tensor checked."""
    params = [p for p in _params() if with_logits or not p.module.startswith("classifier.")]
    layers = {layer.name: layer for layer in network.layers}
    used: set[str] = set()
    problems: list[str] = []
    assignments: dict[str, list[np.ndarray]] = {}
    for param in params:
        names = [f"{param.module}.{t}" for t in _TENSOR_NAMES[param.kind]]
        missing = [n for n in names if n not in state_dict]
        if missing:
            problems.append(f"missing {', '.join(missing)}")
            continue
        used.update(names)
        values = _keras_weights(
            param.kind, {n.rsplit(".", 1)[1]: np.asarray(state_dict[n]) for n in names}
        )
        expected = _expected_shapes(layers, param)
        if [v.shape for v in values] != expected:
            problems.append(
                f"{param.module} → {param.layer}: shapes {[v.shape for v in values]}, "
                f"expected {expected}"
            )
            continue
        assignments[param.layer] = [v.astype(np.float32) for v in values]
    ignored = {n for n in state_dict if n.endswith(".num_batches_tracked")}
    if not with_logits:
        ignored |= {n for n in state_dict if n.startswith("classifier.")}
    unused = sorted(set(state_dict) - used - ignored)
    if unused:
        problems.append(f"unused {', '.join(unused)}")
    if problems:
        raise CheckpointMismatch("checkpoint does not fit mn04: " + "; ".join(problems))
    return assignments


class Mn04(tf.Module):
    """32 kHz waveforms → ``mn04`` outputs, in-graph: the front end, then the network.

    ``__call__`` takes ``[batch, samples]`` float32 (each at least
    ``mn04_frontend.MIN_SAMPLES``, all of a batch the same length) and returns
    ``{"embedding": [batch, 384], "logits": [batch, 527], "log_mel": [batch, 128, frames]}``.
    """

    def __init__(self, state_dict: Mapping[str, np.ndarray]):
        """Builds the network with its AudioSet head from a checkpoint's tensors, BN folded."""
        super().__init__()
        self.network = inference_network(state_dict, with_logits=True)

    def __call__(self, waveforms: tf.Tensor) -> dict[str, tf.Tensor]:
        """Embedding, logits and log-mel of every waveform of a batch."""
        log_mel = mn04_frontend.log_mel(waveforms)
        outputs = self.network(log_mel, training=False)
        return {EMBEDDING: outputs[EMBEDDING], LOGITS: outputs[LOGITS], "log_mel": log_mel}
