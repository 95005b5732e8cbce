"""Resampling, mono and pad/trim: compared with soxr (librosa.resample) and with decode_wav."""

import librosa
import numpy as np
import pytest
import tensorflow as tf

from components.audio import waveform
from components.audio.resample import (
    SUPPORTED_RATES,
    output_length,
    phase_matrix,
    rate_ratio,
    resample,
)
from tests.helpers.audio import tone, wav_bytes
from tests.helpers.audio_files import decode_data


@pytest.mark.parametrize("rate", [r for r in SUPPORTED_RATES if r != waveform.SAMPLE_RATE])
def test_resampler_matches_soxr_within_60_db(rate):
    # Pure in-band sines (300 Hz + 3 kHz, below every supported Nyquist after our 0.945
    # roll-off). The reference is soxr_hq; the two filters differ only in their transition
    # bands, so in-band the outputs must agree closely.
    t = np.arange(2 * rate) / rate
    x = (0.3 * np.sin(2 * np.pi * 300 * t) + 0.3 * np.sin(2 * np.pi * 3000 * t)).astype(np.float32)
    ours = resample(x, rate, waveform.SAMPLE_RATE).numpy()
    ref = librosa.resample(x, orig_sr=rate, target_sr=waveform.SAMPLE_RATE)
    assert ours.size == ref.size
    middle = slice(1000, ref.size - 1000)
    error = ours[middle] - ref[middle]
    snr = 10 * np.log10(np.sum(ref[middle] ** 2) / np.sum(error**2))
    assert snr > 60, snr


@pytest.mark.parametrize("rate,length", [(44100, 12_345), (11025, 3_001), (48000, 9_999)])
def test_blocked_convolution_is_the_plain_polyphase_product(rate, length):
    # frame q of the zero-padded input (step `down`) times the phase matrix gives outputs
    # q*up .. q*up + up - 1: the definition, in NumPy, that the blocked convolution must equal
    x = np.random.default_rng(rate).standard_normal(length).astype(np.float32)
    up, down = rate_ratio(rate, waveform.SAMPLE_RATE)
    matrix, pad = phase_matrix(rate, waveform.SAMPLE_RATE)
    count = output_length(length, rate, waveform.SAMPLE_RATE)
    frames = -(-count // up)
    padded = np.concatenate([np.zeros(pad), x, np.zeros(frames * down + matrix.shape[0])])
    expected = np.concatenate(
        [padded[q * down : q * down + matrix.shape[0]] @ matrix for q in range(frames)]
    )[:count]
    np.testing.assert_allclose(resample(x, rate, waveform.SAMPLE_RATE), expected, atol=2e-6)
    kept = resample(x, rate, waveform.SAMPLE_RATE, max_output=1000)
    np.testing.assert_allclose(kept, expected[:1000], atol=2e-6)


def test_downsampling_removes_content_above_new_nyquist():
    # 15 kHz is above the new Nyquist (11,025 Hz): it must be filtered out, not aliased.
    x = (0.5 * np.sin(2 * np.pi * 15000 * np.arange(96000) / 48000)).astype(np.float32)
    out = resample(x, 48000, waveform.SAMPLE_RATE).numpy()
    assert np.sqrt(np.mean(out[1000:-1000] ** 2)) < 1e-3


def test_prepare_pads_short_and_trims_long_clips():
    short = waveform.prepare(tone(440.0, 0.3, 44100), 44100).numpy()
    long = waveform.prepare(tone(440.0, 30.0, 48000), 48000).numpy()
    assert short.shape == long.shape == (waveform.CLIP_SAMPLES,)
    assert np.all(short[int(0.31 * waveform.SAMPLE_RATE) :] == 0)
    assert np.abs(long[-1000:]).max() > 0.1


def test_rate_preparer_gives_each_clip_what_prepare_gives_it_alone():
    # clips of three rates interleaved, shorter and longer than 5 s (one longer than the
    # samples a 5 s clip needs, one of a single sample): row i is prepare(clip i) in its order
    rng = np.random.default_rng(0)
    rates = [44100, 8000, 44100, 22050, 8000, 44100]
    seconds = [0.3, 7.0, 5.0, 2.0, 1 / 8000, 9.0]
    monos = [
        rng.standard_normal(round(s * r)).astype(np.float32)
        for s, r in zip(seconds, rates, strict=True)
    ]
    prepared = waveform.RatePreparer()(monos, rates).numpy()
    assert prepared.shape == (len(monos), waveform.CLIP_SAMPLES)
    for row, mono, rate in zip(prepared, monos, rates, strict=True):
        np.testing.assert_allclose(row, waveform.prepare(mono, rate), rtol=0, atol=1e-6)


def test_rows_are_laid_out_as_the_resampler_reads_them_and_shared_with_tensorflow():
    lead, width = waveform.row_layout(44100)
    assert width - lead == waveform.samples_needed(44100) and lead > 0
    short, long = np.ones(1000, np.float32), np.arange(width, dtype=np.float32)
    rows, lengths = waveform.pad_rows([short, long], width, lead)
    assert rows.ctypes.data % waveform.TF_ALIGNMENT == 0 and lengths.tolist() == [
        1000,
        width - lead,
    ]
    assert not rows[:, :lead].any() and not rows[0, lead + 1000 :].any()
    assert (rows[0, lead : lead + 1000] == 1).all() and (
        rows[1, lead:] == long[: width - lead]
    ).all()
    shared = waveform.shared_tensor(rows)
    rows[0, 0] = 7.0  # the tensor reads the same memory: no copy was made
    assert shared.numpy()[0, 0] == 7.0


def test_a_misaligned_array_is_copied_not_shared():
    buffer = np.zeros(1024 + 16, np.float32)
    start = (-buffer.ctypes.data % waveform.TF_ALIGNMENT) // 4 + 1  # 4 bytes past a boundary
    rows = buffer[start : start + 1024].reshape(8, 128)
    copied = waveform.shared_tensor(rows)
    rows[0, 0] = 7.0
    assert copied.numpy()[0, 0] == 0.0 and float(tf.reduce_sum(copied)) == 0.0


def test_rate_preparer_rejects_unsupported_rates_and_mismatched_lists():
    with pytest.raises(ValueError, match="unsupported sample rate 12345"):
        waveform.RatePreparer()([tone(440.0, 1.0, 12345)], [12345])
    with pytest.raises(ValueError, match="2 clips but 1 rates"):
        waveform.RatePreparer()([tone(440.0, 1.0, 8000)] * 2, [8000])


def test_prepare_rejects_unsupported_rate():
    with pytest.raises(ValueError, match="unsupported sample rate 12345"):
        waveform.prepare(tone(440.0, 1.0, 12345), 12345)


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000])
def test_in_graph_wav_path_equals_soundfile_path(rate):
    stereo = np.stack([tone(440.0, 1.5, rate), tone(660.0, 1.5, rate)], axis=1)
    data = wav_bytes(stereo, rate)
    mono, graph_rate = waveform.decode_wav(tf.constant(data))
    graph_clip = waveform.prepare_any_rate(mono, graph_rate).numpy()
    decoded = decode_data(data)
    beam_clip = waveform.prepare(decoded.mono(), decoded.sample_rate).numpy()
    np.testing.assert_allclose(graph_clip, beam_clip, atol=1e-6)


def test_in_graph_rate_check_names_the_rate():
    data = wav_bytes(tone(440.0, 0.5, 12000), 12000)
    with pytest.raises(tf.errors.InvalidArgumentError, match="unsupported sample rate 12000"):
        waveform.decode_wav(tf.constant(data))
    with pytest.raises(tf.errors.InvalidArgumentError, match="unsupported sample rate"):
        waveform.prepare_any_rate(tf.zeros([100]), tf.constant(12000))
