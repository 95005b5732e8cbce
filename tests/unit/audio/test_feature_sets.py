"""The feature sets as a choice: names and defaults, what featurize computes, who reads what.

The pipeline's ``feature_sets`` parameter decides what featurize computes and stores; the
families and baselines that read a set left out are skipped (``families_reading``,
``baselines_reading``), and a step asked to read one anyway says so clearly.
"""

import numpy as np
import pytest
import tensorflow as tf

from components.artifacts import shards
from components.audio import embedding, examples, feature_sets, features, mn04_frontend, waveform
from components.audio.featurizer import Featurizer
from components.audio.resample import resample
from components.baselines import config as baselines
from components.featurize.config import FeaturizeConfig
from components.train import config as train


def test_yamnet_and_mn04_log_mel_are_opt_in():
    assert FeaturizeConfig().feature_sets == feature_sets.DEFAULT
    assert feature_sets.DEFAULT == ("log_mel", "mfcc", "mean_mfcc", "mn04_embedding")
    assert feature_sets.OPT_IN == ("yamnet_embedding", "mn04_log_mel")
    assert set(features.FEATURE_SHAPES) == set(feature_sets.ALL) == set(examples.FEATURE_KEYS)


def test_check_orders_and_refuses_unknown_or_no_sets():
    assert feature_sets.check(["mn04_embedding", "log_mel"]) == ("log_mel", "mn04_embedding")
    with pytest.raises(ValueError, match=r"unknown feature set\(s\) \['mel'\]"):
        feature_sets.check(["log_mel", "mel"])
    with pytest.raises(ValueError, match="no feature set given"):
        feature_sets.check([])
    with pytest.raises(ValueError, match="unknown feature set"):
        Featurizer(("yamnet",))


def test_every_model_reads_a_known_feature_set():
    assert set(train.FEATURE_OF) == set(train.FAMILIES)
    assert set(train.FEATURE_OF.values()) | set(baselines.FEATURE_OF.values()) <= set(
        feature_sets.ALL
    )
    assert train.FEATURE_OF[train.MN04_FINETUNED] == feature_sets.MN04_LOG_MEL


def test_by_default_no_yamnet_model_and_no_fine_tuned_mn04_trains():
    default = list(feature_sets.DEFAULT)
    families = train.families_reading(default, list(train.FAMILIES))
    assert families == ["cnn_log_mel", "cnn_mfcc", "resnet50_mfcc", "dense_mean_mfcc", "mn04"]
    fitted = baselines.models_reading(default, list(baselines.MODELS))
    assert not [name for name in fitted if "yamnet" in name]
    assert {"svc_mn04", "svc"} <= set(fitted)
    everything = list(feature_sets.ALL)
    assert train.families_reading(everything, list(train.FAMILIES)) == list(train.FAMILIES)
    assert train.MN04_FINETUNED not in train.DEFAULT_TUNED_FAMILIES


def test_a_list_with_nothing_to_train_or_an_unknown_name_is_a_clear_error():
    with pytest.raises(ValueError, match="none of the families .*'yamnet'.* reads a computed"):
        train.families_reading(["mean_mfcc"], ["yamnet"])
    with pytest.raises(ValueError, match="unknown families"):
        train.families_reading(["mean_mfcc"], ["dense"])
    with pytest.raises(ValueError, match="none of the baselines"):
        baselines.models_reading(["log_mel"], ["svc", "svc_mn04"])
    with pytest.raises(ValueError, match="unknown baselines"):
        baselines.models_reading(["log_mel"], ["svm"])


def test_examples_hold_only_the_sets_given_and_parse_with_their_spec():
    values = {"mean_mfcc": np.arange(32, dtype=np.float32), "log_mel": np.zeros((128, 216))}
    record = examples.encode("c1", "s1", 3, values)
    stored = tf.train.Example.FromString(record).features.feature
    assert set(stored) == {"clip_id", "source_id", "label", "mean_mfcc", "log_mel"}
    parsed = tf.io.parse_single_example(record, examples.feature_spec(("mean_mfcc",)))
    np.testing.assert_array_equal(parsed["mean_mfcc"].numpy(), values["mean_mfcc"])
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.io.parse_single_example(record, examples.feature_spec(("mn04_embedding",)))


def test_a_model_reading_a_set_featurize_left_out_is_a_clear_error(tmp_path):
    assert shards.feature_sets(str(tmp_path)) is None  # examples written before the record
    shards.require_feature(str(tmp_path), "yamnet_embedding", "yamnet")
    shards.write_feature_sets(str(tmp_path), feature_sets.DEFAULT)
    assert shards.feature_sets(str(tmp_path)) == feature_sets.DEFAULT
    shards.require_feature(str(tmp_path), "mn04_embedding", "svc_mn04")
    with pytest.raises(shards.MissingFeatureError) as error:
        shards.require_feature(str(tmp_path), "yamnet_embedding", "svc_yamnet")
    message = str(error.value)
    assert "svc_yamnet reads the feature set yamnet_embedding" in message
    assert "computed log_mel, mfcc, mean_mfcc, mn04_embedding" in message
    assert "add yamnet_embedding to the pipeline's feature_sets" in message


def test_mn04_log_mel_is_the_front_end_of_the_clip_at_32k_and_feeds_the_embedding():
    rng = np.random.default_rng(1)
    clips = (0.1 * rng.standard_normal((2, waveform.CLIP_SAMPLES))).astype(np.float32)
    computed = Featurizer((feature_sets.MN04_LOG_MEL, feature_sets.MN04_EMBEDDING))(clips)
    assert computed[feature_sets.MN04_LOG_MEL].shape == (2, 128 * 500)
    at_32k = np.stack([resample(clip, waveform.SAMPLE_RATE, 32_000).numpy() for clip in clips])
    expected = mn04_frontend.log_mel(at_32k).numpy().reshape(2, -1)
    np.testing.assert_allclose(computed[feature_sets.MN04_LOG_MEL], expected, rtol=0, atol=1e-5)
    alone = embedding.Mn04Embedding()(clips).numpy()
    np.testing.assert_allclose(computed[feature_sets.MN04_EMBEDDING], alone, rtol=0, atol=1e-5)
    only_log_mel = Featurizer((feature_sets.MN04_LOG_MEL,))
    assert only_log_mel.mn04 is None  # the front end alone: no trunk in its graph
