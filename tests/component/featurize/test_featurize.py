"""featurize end to end on a small synthetic manifest: outputs, dead letter, train-only scaling."""

import glob
import json

import numpy as np
import pytest
import soundfile
import tensorflow as tf
import tensorflow_transform as tft
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions

from components.artifacts import files
from components.audio import examples, feature_sets
from components.featurize import core, local_workers
from tests.helpers.audio import tone
from tests.helpers.featurize_inputs import read_split, read_split_from, write_manifest


@pytest.fixture(scope="module")
def featurized(tmp_path_factory):
    root = tmp_path_factory.mktemp("featurize")
    manifest = write_manifest(root)
    out = root / "out"
    # every feature set, the opt-in ones included (the default is tested in test_feature_sets.py)
    config = core.FeaturizeConfig(feature_sets=feature_sets.ALL, num_shards=2, keep_raw=True)
    result = core.run(manifest, str(out), config)
    return result, out


def test_counts_and_dead_letter_reasons(featurized):
    result, out = featurized
    assert result.clips_per_split == {"train": 8, "validation": 4, "test": 4}
    assert result.dead_letter_per_reason == {
        "empty_file": 1,
        "undecodable": 1,
        "silent": 1,
        "unreadable": 1,
    }
    dead = files.read_jsonl(str(out / "dead_letter.jsonl"))
    assert {row["clip_id"]: row["reason"] for row in dead} == {
        "empty": "empty_file",
        "text": "undecodable",
        "silent": "silent",
        "missing": "unreadable",
    }
    assert json.loads((out / "featurize_report.json").read_text())["dead_letter_total"] == 4


def test_examples_are_sharded_and_parse(featurized):
    _, out = featurized
    assert len(glob.glob(str(out / "examples" / "train" / "*.tfrecord.gz"))) == 2
    train = read_split(out, "train")
    assert {row["clip_id"].decode() for row in train} == {f"c{i}" for i in range(16) if i % 4 < 2}
    assert {int(row["clip_id"][1:]) // 4: row["source_id"] for row in train} == {
        i: f"recording-{i}".encode() for i in range(4)
    }
    (test_row, *_) = read_split(out, "test")
    assert test_row["source_id"] == test_row["clip_id"]  # no source_id: the clip is its own
    assert train[0]["log_mel"].shape == (128 * 216,)
    assert train[0]["mfcc"].shape == (32 * 216,)
    assert train[0]["mean_mfcc"].shape == (32,)
    assert train[0]["yamnet_embedding"].shape == (2048,)
    assert train[0]["mn04_embedding"].shape == (384,)
    assert train[0]["mn04_log_mel"].shape == (128 * 500,)
    assert json.loads((out / "feature_sets.json").read_text()) == {
        "feature_sets": list(feature_sets.ALL)
    }


def test_clip_stats_describe_the_original_audio(featurized):
    _, out = featurized
    stats = {row["clip_id"]: row for row in files.read_jsonl(str(out / "clip_stats.jsonl"))}
    assert len(stats) == 16
    assert stats["c0"]["sample_rate"] == 8000 and stats["c0"]["padded"] is True
    assert stats["c2"]["trimmed"] is True and stats["c2"]["duration_s"] == pytest.approx(7.5)
    assert stats["c1"]["subtype"] == "PCM_24"


def test_scaling_is_fit_on_train_only(featurized):
    _, out = featurized
    raw_train = read_split_from(out / "raw", "train")
    low = min(row["log_mel"].min() for row in raw_train)
    high = max(row["log_mel"].max() for row in raw_train)
    mfcc_rows = np.concatenate([row["mfcc"].reshape(32, 216) for row in raw_train], axis=1)
    mfcc_low, mfcc_high = mfcc_rows.min(axis=1), mfcc_rows.max(axis=1)
    mean = np.mean([row["mean_mfcc"] for row in raw_train], axis=0)
    std = np.std([row["mean_mfcc"] for row in raw_train], axis=0)
    spread = {}
    for key, size in (("yamnet_embedding", 2048), ("mn04_embedding", 384)):
        values = np.array([row[key] for row in raw_train])
        spread[key] = values.mean(axis=0), values.std(axis=0)
        # units silent on every training clip (ReLU) have no spread
        assert (spread[key][1] > 1e-3).sum() > size // 2
    raw_test = {row["clip_id"]: row for row in read_split_from(out / "raw", "test")}
    for row in read_split(out, "test"):
        raw = raw_test[row["clip_id"]]
        np.testing.assert_allclose(row["log_mel"], (raw["log_mel"] - low) / (high - low), atol=1e-5)
        np.testing.assert_allclose(row["mean_mfcc"], (raw["mean_mfcc"] - mean) / std, atol=1e-3)
        for key, (key_mean, key_std) in spread.items():
            varies = key_std > 1e-3
            embedding = (raw[key] - key_mean) / np.maximum(key_std, 1e-12)
            np.testing.assert_allclose(row[key][varies], embedding[varies], atol=1e-3)
        expected = (raw["mfcc"].reshape(32, 216) - mfcc_low[:, None]) / (mfcc_high - mfcc_low)[
            :, None
        ]
        np.testing.assert_allclose(row["mfcc"].reshape(32, 216), expected, atol=1e-5)
        # mn04's log-mel keeps its front end's own fixed normalisation
        np.testing.assert_array_equal(row["mn04_log_mel"], raw["mn04_log_mel"])
    train = read_split(out, "train")
    assert min(r["log_mel"].min() for r in train) == pytest.approx(0.0, abs=1e-6)
    assert max(r["log_mel"].max() for r in train) == pytest.approx(1.0, abs=1e-6)


def test_raw_embedding_is_the_featurizers_on_the_decoded_clip(featurized):
    # The Beam path (decode, batch, prepare, YAMNet) gives what the featurizer gives one clip
    # prepared outside Beam: the values the served model recomputes from the file.
    from components.audio import decode, embedding, waveform

    _, out = featurized
    raw = {row["clip_id"].decode(): row for row in read_split_from(out / "raw", "train")}
    embedders = {
        "yamnet_embedding": embedding.YamnetEmbedding(),
        "mn04_embedding": embedding.Mn04Embedding(),
        "mn04_log_mel": lambda clips: tf.reshape(embedding.mn04_log_mel(clips), [1, -1]),
    }
    manifest = {row["clip_id"]: row for row in files.read_jsonl(str(out.parent / "manifest.jsonl"))}
    for clip_id in ("c0", "c1", "c4"):  # 8, 16 and 48 kHz
        decoded = decode.decode_file(manifest[clip_id]["uri"])
        clip = waveform.prepare(decoded.mono(), decoded.sample_rate)
        for key, embedder in embedders.items():
            expected = embedder(clip[None]).numpy()[0]
            np.testing.assert_allclose(raw[clip_id][key], expected, rtol=0, atol=1e-5, err_msg=key)


def test_transform_graph_loads(featurized):
    result, _ = featurized
    output = tft.TFTransformOutput(result.transform_graph_dir)
    assert set(output.transformed_feature_spec()) == set(examples.feature_spec())


def test_no_trainable_clip_is_a_clear_error(tmp_path):
    (tmp_path / "bad.wav").write_bytes(b"")
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text(
        json.dumps(
            {"clip_id": "x", "uri": str(tmp_path / "bad.wav"), "split": "train", "label_index": 0}
        )
        + "\n"
    )
    with pytest.raises(ValueError, match="no training clip could be featurized"):
        core.run(str(manifest), str(tmp_path / "out"))


def _options(cfg: core.FeaturizeConfig) -> PipelineOptions:
    return PipelineOptions(list(core.beam_args(cfg)))


def test_a_local_run_uses_every_usable_core_by_default():
    direct = _options(core.FeaturizeConfig()).view_as(DirectOptions)
    cores = local_workers.usable_cores()
    if cores < 2:
        pytest.skip("one usable core: a local run has one worker")
    assert (direct.direct_running_mode, direct.direct_num_workers) == ("multi_threading", cores)
    one = core.FeaturizeConfig(beam_args=("--direct_num_workers=1",))
    assert _options(one).view_as(DirectOptions).direct_num_workers == 1


# The pretrained trunks round a clip differently in a batch of another shape (raw embeddings agree
# to 1e-5, checked below); z-scoring divides that by a dimension's spread, and mn04's scaled
# embedding then differed by up to 8.1e-5 between one worker and two (measured).
EMBEDDINGS = ("yamnet_embedding", "mn04_embedding")
SCALED_EMBEDDING_TOLERANCE = 5e-4


@pytest.mark.slow
def test_every_core_gives_the_examples_of_one_worker(tmp_path, featurized):
    """The default (one process per core, both passes) writes what one worker writes."""
    _, default_out = featurized
    manifest = str(default_out.parent / "manifest.jsonl")
    one = core.FeaturizeConfig(
        feature_sets=feature_sets.ALL,  # as the fixture
        num_shards=2,
        keep_raw=True,
        beam_args=("--direct_num_workers=1",),
    )
    core.run(manifest, str(tmp_path / "out"), one)
    for split in ("train", "validation", "test"):
        single = sorted(read_split(tmp_path / "out", split), key=lambda row: row["clip_id"])
        default = sorted(read_split(default_out, split), key=lambda row: row["clip_id"])
        assert [row["clip_id"] for row in default] == [row["clip_id"] for row in single], split
        assert len(single) > 0
        raw_single = {
            row["clip_id"]: row for row in read_split_from(tmp_path / "out" / "raw", split)
        }
        for row in read_split_from(default_out / "raw", split):
            for key in EMBEDDINGS:  # before z-scoring: the trunks' own rounding
                np.testing.assert_allclose(
                    row[key], raw_single[row["clip_id"]][key], rtol=0, atol=1e-5, err_msg=key
                )
        for mine, theirs in zip(default, single, strict=True):
            assert mine.keys() == theirs.keys()
            for key in mine:
                ours, reference = np.asarray(mine[key]), np.asarray(theirs[key])
                if ours.dtype.kind == "f":
                    tolerance = SCALED_EMBEDDING_TOLERANCE if key in EMBEDDINGS else 1e-5
                    np.testing.assert_allclose(ours, reference, atol=tolerance, err_msg=key)
                else:
                    np.testing.assert_array_equal(ours, reference, err_msg=key)


def test_decode_applies_an_oversampled_copys_augment_spec(tmp_path):
    from components.audio import augment
    from components.featurize.clips import DecodeClip

    samples = tone(440.0, 1.0, 16000)
    soundfile.write(tmp_path / "a.wav", samples, 16000, subtype="FLOAT")
    record = {"clip_id": "a", "uri": str(tmp_path / "a.wav"), "split": "train", "label_index": 3}
    spec = {"semitones": 1.0, "snr_db": 20.0, "seed": 5, "source_clip_id": "a"}
    decode = DecodeClip()
    decode.setup()
    original, copy = (
        [out for out in decode.process(r) if isinstance(out, dict)][0]
        for r in (record, {**record, "clip_id": "a__aug0", "augment": spec})
    )
    np.testing.assert_array_equal(original["samples"], samples)
    np.testing.assert_array_equal(copy["samples"], augment.apply(samples, 16000, spec))
    assert original["source_id"] == copy["source_id"] == "a"  # a copy keeps its source's group


def test_a_rerun_clears_the_shards_of_an_earlier_run(tmp_path):
    manifest = write_manifest(tmp_path, broken=False)
    out = tmp_path / "out"
    core.run(manifest, str(out), core.FeaturizeConfig(num_shards=3))
    (out / "examples" / "train" / "part-00099-of-00100.tfrecord.gz").write_bytes(b"stale")
    second = core.run(manifest, str(out), core.FeaturizeConfig(num_shards=1))
    for split in ("train", "validation", "test"):
        shards = sorted(p.name for p in (out / "examples" / split).iterdir())
        assert shards == ["part-00000-of-00001.tfrecord.gz"], shards
        assert len(read_split(out, split)) == second.clips_per_split[split]


def test_an_output_directory_with_foreign_files_is_refused_untouched(tmp_path):
    out = tmp_path / "out"
    (out / "examples").mkdir(parents=True)
    (out / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="notes.txt"):
        core.run(str(tmp_path / "never-read.jsonl"), str(out))
    assert (out / "notes.txt").read_text() == "mine" and (out / "examples").is_dir()
