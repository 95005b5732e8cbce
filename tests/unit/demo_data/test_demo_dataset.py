import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from components.audio.decode import AudioDecodeError, decode_file
from components.audio.labels import CLASS_NAMES
from components.ingest import core, taxonomy
from demo_data import dataset, scenarios, sounds
from demo_data.dataset import DemoConfig

SMALL = DemoConfig(seed=7, dev_clips=48, eval_clips=24, dev_uploaders=8, eval_uploaders=6)
EXPECTED_DEAD_LETTER = {
    "empty_file": "empty_file",
    "text_as_wav": "undecodable",
    "truncated_header": "undecodable",
    "silent": "silent",
    "nan_samples": "non_finite",
    "unsupported_rate": "unsupported_rate",
}


def _digest(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    return root, dataset.generate(str(root), SMALL)


def test_same_seed_gives_byte_identical_files(demo, tmp_path):
    root, _ = demo
    dataset.generate(str(tmp_path / "again"), SMALL)
    assert _digest(root) == _digest(tmp_path / "again")
    other = DemoConfig(seed=8, dev_clips=48, eval_clips=24, dev_uploaders=8, eval_uploaders=6)
    dataset.generate(str(tmp_path / "other"), other)
    assert _digest(root) != _digest(tmp_path / "other")


def test_float_wavs_carry_no_wall_clock_timestamp(demo):
    root, summary = demo
    wavs = [p for p in root.glob("FSD50K.*_audio/*.wav") if p.stem not in summary["broken"]]
    floats = [p for p in wavs if soundfile.info(p).subtype == "FLOAT"]
    assert floats
    for path in floats:
        header = path.read_bytes()[:512]
        peak = header.find(b"PEAK")
        assert peak > 0 and header[peak + 12 : peak + 16] == bytes(4), path.name


def test_layout_and_fields_are_fsd50k_shaped(demo):
    root, summary = demo
    assert summary["clips"] == {"dev": 48, "eval": 24}
    for subset, count in summary["clips"].items():
        info = json.loads(
            (root / "FSD50K.metadata" / f"{subset}_clips_info_FSD50K.json").read_text()
        )
        assert len(info) == count
        for entry in info.values():
            assert set(entry) == {"title", "description", "tags", "license", "uploader"}
            assert entry["license"].startswith("http://creativecommons.org/")
        with (root / "FSD50K.ground_truth" / f"{subset}.csv").open() as handle:
            rows = list(csv.DictReader(handle))
        expected = ["fname", "labels", "mids"] + (["split"] if subset == "dev" else [])
        assert list(rows[0]) == expected
        assert [row["fname"] for row in rows] == list(info)
        assert all(len(r["labels"].split(",")) == len(r["mids"].split(",")) for r in rows)
        if subset == "dev":
            assert {row["split"] for row in rows} == {"train", "val"}
        wavs = {p.stem for p in (root / f"FSD50K.{subset}_audio").glob("*.wav")}
        assert wavs == set(info)
    json.dumps(summary)


def test_audio_varies_in_rate_depth_channels_and_duration(demo):
    root, summary = demo
    infos = [
        soundfile.info(path)
        for path in sorted(root.glob("FSD50K.*_audio/*.wav"))
        if path.stem not in summary["broken"]
    ]
    assert {info.samplerate for info in infos} >= {8000, 16000, 22050, 44100}
    assert {info.subtype for info in infos} >= {"PCM_16", "PCM_24"}
    assert {info.channels for info in infos} == {1, 2}
    durations = [info.duration for info in infos]
    assert min(durations) == pytest.approx(0.3, abs=1e-3)
    assert max(durations) == pytest.approx(30.0, abs=1e-3)


def test_broken_clips_fail_decoding_with_the_dead_letter_reason(demo):
    root, summary = demo
    assert sorted(summary["broken"].values()) == sorted(EXPECTED_DEAD_LETTER)
    for clip_id, kind in summary["broken"].items():
        path = root / "FSD50K.eval_audio" / f"{clip_id}.wav"
        with pytest.raises(AudioDecodeError) as error:
            decode_file(str(path))
        assert error.value.reason == EXPECTED_DEAD_LETTER[kind], kind


def test_demo_ingests_with_every_class_in_train_and_broken_clips_in_eval(demo, tmp_path):
    root, summary = demo
    result = core.run(str(root), str(tmp_path / "o"), core.IngestConfig(data_format="fsd50k"))
    assert result.rejects == 0 and result.clips == 72
    assert all(count > 0 for count in result.class_counts["train"].values())
    assert result.reassigned > 0  # two uploaders upload to dev and eval
    records = [json.loads(line) for line in (tmp_path / "o" / "manifest.jsonl").open()]
    broken_splits = {r["split"] for r in records if r["clip_id"] in summary["broken"]}
    assert broken_splits <= {"validation", "test"}
    assert sum(r["ambiguous"] for r in records) > 0
    dev = [r["label"] for r in records if "fsd50k_split" in r["metadata"]]  # dev.csv only
    assert summary["labels"]["dev"] == {name: dev.count(name) for name in CLASS_NAMES}


def test_class_imbalance_follows_the_seed_shape():
    counts = dataset._class_counts(480, scenarios.load().class_shares)
    assert sum(counts.values()) == 480
    assert max(counts, key=counts.get) == "noise"
    assert min(counts, key=counts.get) == "movement"


def test_every_scenario_gets_its_stated_label_from_the_seed_taxonomy():
    rules = taxonomy.load()
    table = scenarios.load()
    for scenario in table.scenarios:
        assert rules.classify(list(scenario.tags)).label == scenario.label, scenario.tags
        assert scenario.synth in sounds.SYNTHS
    assert all(rules.classify([tag]).label == "other" for tag in table.neutral_tags)
    assert {s.label for s in table.scenarios} == set(CLASS_NAMES)


@pytest.mark.parametrize("rate", [8000, 48000])
def test_every_synth_renders_finite_audible_samples(rate):
    for name in sounds.SYNTHS:
        samples = sounds.render(name, np.random.default_rng(0), 0.5, rate)
        assert samples.shape == (rate // 2,) and np.all(np.isfinite(samples)), name
        assert 0.09 < np.abs(samples).max() <= 0.9 + 1e-9, name


def test_scenario_table_resolves_audioset_labels_to_their_mids():
    table = scenarios.load()
    dog = next(s for s in table.scenarios if s.title == "Dog barking")
    assert dog.audioset[:2] == (("Bark", "/m/05tny_"), ("Dog", "/m/0bt9lr"))
    assert list(table.class_shares) == list(CLASS_NAMES)
    assert {s.weight for s in table.scenarios} == {0.5, 0.7, 1.0}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda raw: raw["scenarios"][0].update(synth="kazoo"), "unknown synth 'kazoo'"),
        (lambda raw: raw["scenarios"][0].update(label="robot"), "unknown label 'robot'"),
        (lambda raw: raw["scenarios"][0]["audioset"].append("Kazoo"), "vocabulary: ['Kazoo']"),
        (lambda raw: raw["scenarios"][0].pop("tags"), "scenario 0: KeyError: 'tags'"),
        (lambda raw: raw["scenarios"][3].update(weight=0), "weight must be positive"),
        (lambda raw: raw["class_shares"].pop("alarm"), "class_shares must give"),
        (
            lambda t: t.update(scenarios=[s for s in t["scenarios"] if s["label"] != "alarm"]),
            "no scenario for ['alarm']",
        ),
        (lambda raw: raw.pop("neutral_tags"), "not a scenario table (KeyError"),
    ],
)
def test_a_broken_scenario_table_fails_naming_the_file_and_problem(tmp_path, change, message):
    raw = json.loads(Path(scenarios.DEFAULT_SCENARIOS_PATH).read_text())
    change(raw)
    path = tmp_path / "scenarios.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(scenarios.ScenarioError) as error:
        scenarios.load(str(path))
    assert str(error.value).startswith(f"{path}: ") and message in str(error.value)
