"""Multiply-accumulates (MACs) per 5 s clip of each feature set, and one core's measured MAC rate.

The bound a benchmark sets its throughput against: ``core_macs_per_s`` times a large float32
(or bfloat16) matrix product on one TensorFlow thread, the best rate this core reaches on
dense arithmetic; ``bound = core rate / MACs per clip`` is the clips/s one core could not
exceed if every multiply ran at that rate, and measured / bound is how close the path gets.
Counted as the graphs execute them, not as an ideal algorithm would: the resampler's products are
those of its runs of phases (``resample.bands``: each run's rows, zeros inside a run included), the
mel filterbanks' those of ``melbank``'s runs of bands (YAMNet's a dense product). An N-point real
FFT counts 1.25·N·log2(N) MACs (the usual 2.5·N·log2(N) flops); element-wise work (windows, powers,
logs) counts one per value. A network (a trunk as built from its provisioned weights, before
``frozen.py`` turns them into constants) counts each convolution's, depthwise convolution's and
dense layer's products, read from the layers' output shapes on a real input.
"""

import math
import time

import numpy as np
import tensorflow as tf

from components.audio import (
    feature_sets,
    features,
    melbank,
    mn04,
    mn04_frontend,
    mn04_weights,
    waveform,
    yamnet,
    yamnet_frontend,
    yamnet_weights,
)
from components.audio.resample import bands, block_matrix, output_length

WAVEFORM_RATE = waveform.SAMPLE_RATE


def resample_macs(source_rate: int, target_rate: int, num_output: int) -> int:
    """The resampler's MACs for ``num_output`` samples at ``target_rate``: every run, every step."""
    if source_rate == target_rate:
        return 0
    _, _, _, outputs = block_matrix(source_rate, target_rate)
    per_step = sum(run.size for _, run in bands(source_rate, target_rate))
    return per_step * -(-num_output // outputs)


def stft_macs(frames: int, window: int, n_fft: int, mel_weights: int) -> int:
    """Window, real FFT, power and a mel product of ``mel_weights`` per frame, ``frames`` frames."""
    bins = n_fft // 2 + 1
    fft = 1.25 * n_fft * math.log2(n_fft)
    return int(frames * (window + fft + 2 * bins + mel_weights))


def banded_weights(matrix: np.ndarray) -> int:
    """Weights ``melbank.apply`` multiplies per frame: those of its runs of bands."""
    return sum(run.size for run in melbank.groups(matrix))


def spectral_macs() -> int:
    """log-mel, MFCC and mean-MFCC of a prepared clip (one STFT; the DCT on the log-mel)."""
    frames, mels = features.NUM_FRAMES, features.N_MELS
    mel_weights = banded_weights(features.mel_filterbank())
    stft = stft_macs(frames, features.N_FFT, features.N_FFT, mel_weights)
    return stft + frames * mels + features.N_MFCC * mels * frames + features.N_MFCC * frames


def network_macs(network, example: np.ndarray) -> int:
    """Products of every Conv2D, DepthwiseConv2D and Dense layer of a Keras model on ``example``."""
    import keras

    kinds = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.Dense)
    layers = [layer for layer in network.layers if isinstance(layer, kinds)]
    probe = keras.Model(network.inputs, [layer.output for layer in layers])
    total = 0
    for layer, output in zip(layers, probe([example]), strict=True):
        values = int(np.prod(output.shape[1:])) * int(example.shape[0])
        kernel = layer.kernel.shape
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            total += values * kernel[0] * kernel[1]
        elif isinstance(layer, keras.layers.Conv2D):
            total += values * kernel[0] * kernel[1] * kernel[2]
        else:
            total += values * kernel[0]
    return total


def mn04_macs() -> int:
    """mn04's embedding of a prepared clip: to 32 kHz, its front end, its trunk."""
    network = mn04.inference_network(mn04_weights.load())
    samples = output_length(waveform.CLIP_SAMPLES, WAVEFORM_RATE, mn04_frontend.SAMPLE_RATE)
    frames = mn04_frontend.num_frames(samples)
    return (
        resample_macs(WAVEFORM_RATE, mn04_frontend.SAMPLE_RATE, samples)
        + stft_macs(
            frames,
            mn04_frontend.N_FFT,
            mn04_frontend.N_FFT,
            banded_weights(mn04_frontend.kaldi_mel_matrix()),
        )
        + network_macs(network, np.zeros((1, mn04_frontend.N_MELS, frames), np.float32))
    )


def yamnet_macs() -> int:
    """YAMNet's embedding of a prepared clip: to 16 kHz, its front end, its trunk per patch."""
    network = yamnet.build_network(yamnet_weights.load())
    samples = output_length(waveform.CLIP_SAMPLES, WAVEFORM_RATE, yamnet_frontend.SAMPLE_RATE)
    padded = int(yamnet_frontend.pad_waveform(tf.zeros([samples])).shape[0])
    frames = 1 + (padded - yamnet_frontend.WINDOW_SAMPLES) // yamnet_frontend.HOP_SAMPLES
    patches = yamnet_frontend.num_patches(samples)
    patch = np.zeros((patches, yamnet_frontend.PATCH_FRAMES, yamnet_frontend.MEL_BANDS), np.float32)
    return (
        resample_macs(WAVEFORM_RATE, yamnet_frontend.SAMPLE_RATE, samples)
        + stft_macs(
            frames,
            yamnet_frontend.WINDOW_SAMPLES,
            yamnet_frontend.FFT_LENGTH,
            (yamnet_frontend.FFT_LENGTH // 2 + 1) * yamnet_frontend.MEL_BANDS,  # a dense product
        )
        + network_macs(network, patch)
    )


def served_macs(feature: str, source_rate: int) -> int | None:
    """The served graph's MACs for one 5 s clip at ``source_rate`` up to its classifier.

    Resampling to the prepared rate, then the feature set the classifier reads. The classifier
    is not counted, so only features whose classifiers are small get a count: the embeddings
    (a scikit-learn model or a dense head on 384 or 2,048 values; svc_mn04's RBF kernel over
    1,315 support vectors is ~0.5 M) and the mean MFCC. ``None`` for the log-mel and MFCC
    feature sets, read by convolutional networks that would be most of the work.
    """
    counts = {
        feature_sets.MN04_EMBEDDING: mn04_macs,
        feature_sets.YAMNET_EMBEDDING: yamnet_macs,
        feature_sets.MEAN_MFCC: spectral_macs,
    }
    if feature not in counts:
        return None
    return resample_macs(source_rate, WAVEFORM_RATE, waveform.CLIP_SAMPLES) + counts[feature]()


def core_macs_per_s(dtype: tf.DType = tf.float32, size: int = 1024, seconds: float = 1.0) -> float:
    """MACs per CPU-second of a ``size``³ matrix product on one TF thread.

    Timed in this process's CPU time, so a core shared with other jobs still gives its own rate
    (set TF's threads to one before calling).
    """
    rng = np.random.default_rng(0)
    a = tf.constant(rng.standard_normal((size, size)), dtype)
    b = tf.constant(rng.standard_normal((size, size)), dtype)
    product = tf.function(lambda: tf.matmul(a, b))
    product().numpy()
    runs, started = 0, time.process_time()
    while time.process_time() - started < seconds:
        product().numpy()
        runs += 1
    return runs * size**3 / (time.process_time() - started)
