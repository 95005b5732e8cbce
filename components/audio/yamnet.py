"""YAMNet rebuilt as Keras layers: a MobileNetV1 trunk that maps log-mel patches to embeddings.

YAMNet (Google, tensorflow/models research/audioset/yamnet, Apache-2.0) is a MobileNetV1 trained
on AudioSet: a 3×3 stride-2 convolution and 13 depthwise-separable blocks, each convolution
followed by ReLU, global average pooling to a 1,024-d embedding per 0.96 s patch, and a 521-way
sigmoid layer of AudioSet scores. Batch normalisation is folded into the convolutions' biases
(``yamnet_weights`` folds it); padding is TF's ``'same'`` (asymmetric at stride 2).
``build_network`` gives a plain functional Keras model (no custom layers, so it nests in other
Keras models and saves as ``.keras``) whose top ``trainable_blocks`` blocks can be fine-tuned;
``Yamnet`` wraps it with the front end as a ``tf.Module`` for waveform in, embeddings out, which
saves with ``tf.saved_model.save`` using core TF ops only.
"""

import keras
import numpy as np
import tensorflow as tf

from components.audio import yamnet_frontend, yamnet_weights
from components.audio.yamnet_layout import BLOCKS, LOGITS

EMBEDDING_SIZE = 1024
NUM_AUDIOSET_CLASSES = 521


def build_network(
    weights: dict[str, np.ndarray] | None = None,
    *,
    trainable_blocks: int = 0,
    with_scores: bool = False,
) -> keras.Model:
    """The trunk as a Keras model: ``[batch, 96, 64]`` log-mel patches → ``[batch, 1024]``.

    Args:
        weights: Float32 arrays by name (``yamnet_weights.load()`` when ``None``).
        trainable_blocks: How many of the 14 blocks, counted from the top, stay trainable
            (0 freezes the trunk; 14 trains all of it). The logits layer follows the top block.
        with_scores: Also output the ``[batch, 521]`` AudioSet scores (sigmoid).

    Returns:
        A functional model named ``yamnet`` with output ``embeddings`` (and ``scores``).
    """
    if not 0 <= trainable_blocks <= len(BLOCKS):
        raise ValueError(f"trainable_blocks must be in [0, {len(BLOCKS)}], got {trainable_blocks}")
    weights = yamnet_weights.load() if weights is None else weights
    patches = keras.Input(
        (yamnet_frontend.PATCH_FRAMES, yamnet_frontend.MEL_BANDS), name="log_mel_patches"
    )
    x = keras.layers.Reshape((yamnet_frontend.PATCH_FRAMES, yamnet_frontend.MEL_BANDS, 1))(patches)
    layers: list[tuple[keras.layers.Layer, bool]] = []
    first_trainable = len(BLOCKS) - trainable_blocks
    for index, block in enumerate(BLOCKS):
        trainable = index >= first_trainable
        name = f"layer{index + 1}"
        if block.kind == "conv":
            stack = [
                keras.layers.Conv2D(block.filters, 3, block.stride, "same", name=f"{name}_conv")
            ]
        else:
            stack = [
                keras.layers.DepthwiseConv2D(3, block.stride, "same", name=f"{name}_depthwise"),
                keras.layers.Conv2D(block.filters, 1, 1, "same", name=f"{name}_pointwise"),
            ]
        for layer in stack:
            x = keras.layers.ReLU(name=f"{layer.name}_relu")(layer(x))
            layers.append((layer, trainable))
    embeddings = keras.layers.GlobalAveragePooling2D(name="embeddings")(x)
    outputs = [embeddings]
    if with_scores:
        logits = keras.layers.Dense(NUM_AUDIOSET_CLASSES, "sigmoid", name=LOGITS)
        outputs.append(logits(embeddings))
        layers.append((logits, trainable_blocks > 0))
    model = keras.Model(patches, outputs if with_scores else embeddings, name="yamnet")
    for layer, trainable in layers:
        layer.set_weights([weights[f"{layer.name}.kernel"], weights[f"{layer.name}.bias"]])
        layer.trainable = trainable
    return model


class Yamnet(tf.Module):
    """Waveform → YAMNet outputs, all in-graph: the front end, then the trunk on every patch.

    ``__call__`` takes ``[samples]`` or ``[batch, samples]`` float32 at 16 kHz (all of a batch
    the same length) and returns ``{"embeddings": [..., patches, 1024], "scores": [..., patches,
    521], "log_mel": [..., frames, 64]}``; ``patches = yamnet_frontend.num_patches(samples)``.
    """

    def __init__(self, weights: dict[str, np.ndarray] | None = None):
        super().__init__()
        weights = yamnet_weights.load() if weights is None else weights
        self.network = build_network(weights, with_scores=True)
        self._mel_matrix = tf.constant(weights["mel_matrix"])

    def __call__(self, waveforms: tf.Tensor) -> dict[str, tf.Tensor]:
        """YAMNet's embeddings, scores and log-mel of one waveform or a batch."""
        waveforms = tf.convert_to_tensor(waveforms, tf.float32)
        log_mel, patches = yamnet_frontend.log_mel_patches(waveforms, self._mel_matrix)
        leading = tf.shape(patches)[:-2]  # [..., patches]
        flat = tf.reshape(patches, [-1, yamnet_frontend.PATCH_FRAMES, yamnet_frontend.MEL_BANDS])
        embeddings, scores = self.network(flat, training=False)
        return {
            "embeddings": tf.reshape(embeddings, tf.concat([leading, [EMBEDDING_SIZE]], 0)),
            "scores": tf.reshape(scores, tf.concat([leading, [NUM_AUDIOSET_CLASSES]], 0)),
            "log_mel": log_mel,
        }
