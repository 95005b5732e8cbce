"""The embedding feature sets and the shared Featurizer: shapes, pooling, resampling."""

import numpy as np
import pytest
import soxr
import tensorflow as tf

from components.audio import embedding, examples, features, mn04, mn04_weights, waveform, yamnet
from components.audio.featurizer import Featurizer
from components.audio.resample import resample
from tests.helpers.audio import tone


@pytest.fixture(scope="module")
def embedder() -> embedding.YamnetEmbedding:
    return embedding.YamnetEmbedding()


def clips() -> np.ndarray:
    """Three prepared 5 s clips at 22,050 Hz: noise, a tone that stops at 1 s, silence."""
    rng = np.random.default_rng(0)
    noise = 0.1 * rng.standard_normal(waveform.CLIP_SAMPLES)
    short = waveform.fit_to_clip(tone(700.0, 1.0, waveform.SAMPLE_RATE)).numpy()
    return np.stack([noise, short, np.zeros(waveform.CLIP_SAMPLES)]).astype(np.float32)


def test_shape_is_the_declared_feature_shape():
    assert (embedding.YAMNET_SAMPLES, embedding.NUM_PATCHES) == (80_000, 10)
    pooled = len(("mean", "max")) * yamnet.EMBEDDING_SIZE
    assert features.FEATURE_SHAPES[features.YAMNET_EMBEDDING] == (pooled,)
    assert examples.flat_size(features.YAMNET_EMBEDDING) == 2048


def test_embedding_is_mean_then_max_of_yamnets_patch_embeddings(embedder):
    batch = clips()
    got = embedder(batch).numpy()
    assert got.shape == (3, 2048)
    at_16k = embedding.to_yamnet_rate(batch).numpy()
    patches = yamnet.Yamnet()(at_16k)["embeddings"].numpy()  # [3, 10, 1024]
    assert patches.shape == (3, 10, 1024)
    np.testing.assert_allclose(got[:, :1024], patches.mean(axis=1), atol=1e-5)
    np.testing.assert_allclose(got[:, 1024:], patches.max(axis=1), atol=1e-5)
    # the tone lasts 2 of 10 patches: its max keeps it where its mean is diluted by silence
    assert np.abs(got[1, 1024:] - got[2, 1024:]).max() > np.abs(got[1, :1024] - got[2, :1024]).max()


@pytest.fixture(scope="module")
def mn04_embedder() -> embedding.Mn04Embedding:
    return embedding.Mn04Embedding()


def test_mn04_embedding_is_the_networks_pooled_embedding_of_the_32k_clip(mn04_embedder):
    batch = clips()
    got = mn04_embedder(batch).numpy()
    assert got.shape == (3, 384) == (3, *features.FEATURE_SHAPES[features.MN04_EMBEDDING])
    assert features.MN04_SAMPLES == 160_000
    at_32k = np.stack([resample(clip, waveform.SAMPLE_RATE, 32_000).numpy() for clip in batch])
    # The whole model with its AudioSet head (BN folded too): the same embedding.
    expected = mn04.Mn04(mn04_weights.load())(at_32k)[mn04.EMBEDDING].numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    assert np.abs(got[0] - got[2]).max() > 0.1  # noise and silence differ
    alone = np.concatenate([mn04_embedder(clip[None]).numpy() for clip in batch])
    np.testing.assert_allclose(got, alone, rtol=0, atol=1e-5)


def test_resampling_to_16k_matches_soxr_in_band():
    # As the resampler's own test (test_waveform.py) for the rates into 22,050 Hz: pure in-band
    # sines, soxr_hq as the reference, 60 dB.
    t = np.arange(waveform.CLIP_SAMPLES) / waveform.SAMPLE_RATE
    clip = 0.3 * np.sin(2 * np.pi * 300 * t) + 0.3 * np.sin(2 * np.pi * 3000 * t)
    ours = embedding.to_yamnet_rate(clip[None].astype(np.float32)).numpy()[0]
    reference = soxr.resample(clip, waveform.SAMPLE_RATE, 16_000, quality="HQ")
    assert ours.shape == reference.shape == (80_000,)
    middle = slice(1000, 79_000)
    error = ours[middle] - reference[middle]
    assert 10 * np.log10(np.sum(reference[middle] ** 2) / np.sum(error**2)) > 60


def test_a_batch_equals_clip_by_clip(embedder):
    batch = clips()
    together = embedder(batch).numpy()
    alone = np.concatenate([embedder(clip[None]).numpy() for clip in batch])
    np.testing.assert_allclose(together, alone, rtol=0, atol=1e-5)


def test_featurizer_computes_every_feature_set_or_only_those_asked(embedder):
    batch = clips()[:2]
    everything = Featurizer()(batch)
    assert set(everything) == set(examples.FEATURE_KEYS)
    for key, value in everything.items():
        assert value.shape == (2, examples.flat_size(key)), key
    spectral = features.compute(batch)
    np.testing.assert_array_equal(
        everything[features.LOG_MEL].numpy(),
        tf.reshape(spectral[features.LOG_MEL], [2, -1]).numpy(),
    )
    np.testing.assert_allclose(
        everything[features.YAMNET_EMBEDDING].numpy(), embedder(batch).numpy(), atol=1e-6
    )
    only_mfcc = Featurizer((features.MFCC,))
    assert (only_mfcc.yamnet, only_mfcc.mn04) == (None, None)
    assert set(only_mfcc(batch)) == {features.MFCC}
    assert set(Featurizer((features.YAMNET_EMBEDDING,))(batch)) == {features.YAMNET_EMBEDDING}
    only_mn04 = Featurizer((features.MN04_EMBEDDING,))
    assert only_mn04.yamnet is None and only_mn04.mn04 is not None
    np.testing.assert_allclose(
        only_mn04(batch)[features.MN04_EMBEDDING].numpy(),
        everything[features.MN04_EMBEDDING].numpy(),
        rtol=0,
        atol=1e-6,
    )
    with pytest.raises(ValueError, match="unknown feature"):
        Featurizer(("chroma",))
