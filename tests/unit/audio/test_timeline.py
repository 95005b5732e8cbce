"""Long clips as overlapping 5 s windows: where windows start, and what they contain."""

import numpy as np
import pytest
import tensorflow as tf

from components.audio import timeline, waveform
from components.audio.resample import resample
from tests.helpers.audio import tone

W = waveform.CLIP_SAMPLES
HOP = timeline.HOP_SAMPLES


def starts_of(num_samples: int) -> list[int]:
    return timeline.window_starts(tf.constant([num_samples])).flat_values.numpy().tolist()


def test_hop_is_two_and_a_half_seconds():
    assert HOP == 55_125 and HOP * 2 == W


@pytest.mark.parametrize("num_samples", [1, 22_050, W - 1, W])
def test_up_to_five_seconds_is_one_window_at_zero(num_samples):
    assert starts_of(num_samples) == [0]


def test_longer_clips_hop_and_end_with_a_window_aligned_to_the_end():
    assert starts_of(W + 1) == [0, 1]
    assert starts_of(7 * 22_050) == [0, 2 * 22_050]
    assert starts_of(30 * 22_050) == [k * HOP for k in range(11)]
    ten_minutes = starts_of(600 * 22_050)
    assert len(ten_minutes) == 239 and ten_minutes[-1] == 600 * 22_050 - W
    assert np.all(np.diff(ten_minutes) == HOP)


def test_window_counts_of_a_batch():
    counts = timeline.window_count(tf.constant([10, W, W + 1, 30 * 22_050]))
    assert counts.numpy().tolist() == [1, 1, 2, 11]


def test_a_short_clip_is_one_zero_padded_window_as_prepare_pads_it():
    clip = np.arange(1, 1001, dtype=np.float32)
    windows = timeline.windows(tf.constant(clip)).numpy()
    np.testing.assert_array_equal(windows, waveform.fit_to_clip(clip).numpy()[None])


@pytest.mark.parametrize("extra", [1, HOP // 2, HOP, 25 * 22_050])
def test_a_long_clip_is_cut_where_window_starts_says(extra):
    clip = np.random.default_rng(extra).standard_normal(W + extra).astype(np.float32)
    windows = timeline.windows(tf.constant(clip)).numpy()
    starts = starts_of(clip.size)
    assert windows.shape == (len(starts), W)
    for window, start in zip(windows, starts, strict=True):
        np.testing.assert_array_equal(window, clip[start : start + W])
    np.testing.assert_array_equal(windows[-1], clip[-W:])


@pytest.mark.parametrize("rate", [11025, 22050, 48000])
def test_to_sample_rate_resamples_the_whole_clip_as_the_featurizer_does(rate):
    mono = tone(330.0, 8.0, rate)
    whole = timeline.to_sample_rate(tf.constant(mono), tf.constant(rate)).numpy()
    np.testing.assert_array_equal(whole, resample(mono, rate, waveform.SAMPLE_RATE).numpy())
    # Its first five seconds are the clip the Beam featurizer keeps (the convolution over a longer
    # input rounds a few samples differently: float32 round-off, not a different filter).
    np.testing.assert_allclose(whole[:W], waveform.prepare(mono, rate).numpy(), rtol=0, atol=1e-6)


@pytest.mark.parametrize("rate", [8000, 44100, 96000])
def test_a_long_input_is_resampled_in_parts_with_the_same_result(rate, monkeypatch):
    mono = tone(523.0, 3.0, rate)
    whole = resample(mono, rate, waveform.SAMPLE_RATE).numpy()
    monkeypatch.setattr("components.audio.resample.PART_SAMPLES", 5000)  # many small parts
    in_parts = resample(mono, rate, waveform.SAMPLE_RATE).numpy()
    np.testing.assert_allclose(in_parts, whole, rtol=0, atol=1e-6)


def test_ten_minutes_at_96_khz_resample():
    # One 57.6M-sample convolution row crashes TF's CPU kernel; resample splits it.
    mono = np.full(600 * 96000, 0.25, np.float32)
    out = timeline.to_sample_rate(tf.constant(mono), tf.constant(96000)).numpy()
    assert out.size == 600 * waveform.SAMPLE_RATE
    np.testing.assert_allclose(out[1000:-1000], 0.25, atol=1e-4)
