"""The multiply counts the featurize benchmark sets its throughput against."""

import keras
import numpy as np
import tensorflow as tf

from benchmarks import multiplies
from components.audio import feature_sets, waveform
from components.audio.resample import bands, block_matrix


def test_a_network_counts_each_convolutions_and_dense_layers_products():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)  # 8·8·4 outputs × 3·3·3 taps
    x = keras.layers.DepthwiseConv2D(3, padding="same")(x)  # 8·8·4 outputs × 3·3 taps
    x = keras.layers.GlobalAveragePooling2D()(x)  # no multiply counted
    outputs = keras.layers.Dense(5)(x)  # 5 outputs × 4 inputs
    network = keras.Model(inputs, outputs)
    per_example = 8 * 8 * 4 * 27 + 8 * 8 * 4 * 9 + 5 * 4
    assert multiplies.network_macs(network, np.zeros((2, 8, 8, 3), np.float32)) == 2 * per_example


def test_resampling_counts_each_run_of_phases_per_step():
    assert multiplies.resample_macs(22050, 22050, 110_250) == 0
    matrix, _, _, outputs = block_matrix(44100, 22050)  # one run: the whole block matrix
    assert multiplies.resample_macs(44100, 22050, 110_250) == matrix.size * -(-110_250 // outputs)
    _, _, _, outputs = block_matrix(16000, 22050)  # 441 phases in runs: no longer dense
    per_step = sum(run.size for _, run in bands(16000, 22050))
    assert multiplies.resample_macs(16000, 22050, 110_250) == per_step * -(-110_250 // outputs)
    assert per_step < block_matrix(16000, 22050)[0].size / 3


def test_a_cores_rate_is_a_positive_number_of_products_per_cpu_second():
    rate = multiplies.core_macs_per_s(tf.float32, size=64, seconds=0.05)
    assert 1e6 < rate < 1e13


def test_the_served_path_counts_resampling_and_features_unless_a_network_classifies():
    resampling = multiplies.resample_macs(44100, waveform.SAMPLE_RATE, waveform.CLIP_SAMPLES)
    assert resampling > 0
    served = multiplies.served_macs(feature_sets.MEAN_MFCC, 44100)
    assert served == resampling + multiplies.spectral_macs()
    prepared = multiplies.served_macs(feature_sets.MEAN_MFCC, waveform.SAMPLE_RATE)
    assert prepared == served - resampling  # a clip at the prepared rate is not resampled
    assert multiplies.served_macs(feature_sets.LOG_MEL, 44100) is None  # a CNN reads it
    assert multiplies.served_macs(feature_sets.MN04_LOG_MEL, 44100) is None
