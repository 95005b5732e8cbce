"""Reads YAMNet's official float Keras weights (``yamnet.h5``), batch normalisation folded.

``yamnet.h5`` is a Keras weights file (``save_weights`` HDF5 layout: the root's ``layer_names``
attribute lists the layers, each layer's group lists its ``weight_names``) of the model built by
tensorflow/models' ``yamnet.py``: for block ``N`` a bias-free ``layerN/conv`` (or
``layerN/depthwise_conv`` and ``layerN/pointwise_conv``) followed by a batch normalisation named
``<conv>/bn`` with ``center=True, scale=False, epsilon=1e-4``, and the 521-way Dense head, which
that code leaves unnamed (so Keras called it ``dense``; ``logits`` is accepted too). Each
normalisation is folded into its convolution, ``s = 1 / sqrt(var + 1e-4)``, ``kernel · s`` per
output channel, ``bias = beta − mean · s``, giving the arrays the rebuilt network
(``yamnet.build_network``) loads. The float model computes its mel filterbank
(``tf.signal.linear_to_mel_weight_matrix(64, 257, 16000, 125, 7500)``) instead of storing one.
"""

from pathlib import Path

import h5py
import numpy as np
import tensorflow as tf

from components.audio import yamnet_frontend
from components.audio.yamnet_layout import BLOCKS, LOGITS

BATCH_NORM_EPSILON = 1e-4
_H5_PARTS = {"conv": "conv", "depthwise": "depthwise_conv", "pointwise": "pointwise_conv"}
_HEAD_NAMES = ("logits", "dense")


def _layer_weights(root: h5py.Group, layer: str) -> dict[str, np.ndarray]:
    """``{"kernel": ..., "beta": ...}``: a layer's arrays by their short Keras names."""
    group = root[layer]
    arrays = {}
    for name in group.attrs["weight_names"]:
        name = name.decode() if isinstance(name, bytes) else name
        short = name.rsplit("/", 1)[-1].split(":", 1)[0]
        arrays[short] = np.asarray(group[name], np.float32)
    return arrays


def _folded(root: h5py.Group, conv: str, depthwise: bool) -> tuple[np.ndarray, np.ndarray]:
    kernel = _layer_weights(root, conv)["depthwise_kernel" if depthwise else "kernel"]
    norm = _layer_weights(root, f"{conv}/bn")
    scale = 1.0 / np.sqrt(norm["moving_variance"] + BATCH_NORM_EPSILON)
    # the output channel is the kernel's last axis, or axis 2 of a depthwise (3, 3, C, 1)
    shape = (1, 1, -1, 1) if depthwise else (1, 1, 1, -1)
    return kernel * scale.reshape(shape), norm["beta"] - norm["moving_mean"] * scale


def read(path: Path) -> dict[str, np.ndarray]:
    """The float32 weights of ``yamnet.h5`` by Keras layer name, plus ``mel_matrix``.

    Raises:
        ValueError: If the file lacks one of YAMNet's layers or its head.
    """
    with h5py.File(path, "r") as handle:
        root = handle["model_weights"] if "model_weights" in handle else handle
        layers = [n.decode() if isinstance(n, bytes) else n for n in root.attrs["layer_names"]]
        weights: dict[str, np.ndarray] = {}
        for index, block in enumerate(BLOCKS, start=1):
            for part in block.parts():
                conv = f"layer{index}/{_H5_PARTS[part]}"
                if conv not in layers or f"{conv}/bn" not in layers:
                    raise ValueError(f"{path}: no layer {conv!r} (or its /bn): not YAMNet's h5")
                kernel, bias = _folded(root, conv, depthwise=part == "depthwise")
                weights[f"layer{index}_{part}.kernel"] = kernel
                weights[f"layer{index}_{part}.bias"] = bias
        heads = [name for name in layers if name in _HEAD_NAMES and _layer_weights(root, name)]
        if len(heads) != 1:
            raise ValueError(f"{path}: expected one head layer named {_HEAD_NAMES}, got {heads}")
        head = _layer_weights(root, heads[0])
    weights[f"{LOGITS}.kernel"] = head["kernel"]
    weights[f"{LOGITS}.bias"] = head["bias"]
    weights["mel_matrix"] = tf.signal.linear_to_mel_weight_matrix(
        yamnet_frontend.MEL_BANDS,
        yamnet_frontend.FFT_LENGTH // 2 + 1,
        yamnet_frontend.SAMPLE_RATE,
        yamnet_frontend.MEL_MIN_HZ,
        yamnet_frontend.MEL_MAX_HZ,
    ).numpy()
    return weights
