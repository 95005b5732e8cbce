import csv
import json
from collections import defaultdict

import numpy as np
import pytest
import soundfile

from components.audio.labels import CLASS_NAMES
from components.ingest import core, report
from components.ingest.config import MANIFEST_POOL
from components.ingest.core import IngestConfig

MANIFEST_FIELDS = {
    "clip_id", "uri", "split", "label", "label_index", "tags", "rule", "matched_tag",
    "matched_classes", "ambiguous", "source_id", "title", "description", "license", "uploader",
    "dataset",
}  # fmt: skip


def _wav(path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, np.full(80, 0.1, dtype=np.float32), 8000, subtype="PCM_16")


def _csv(path, header, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _fsd50k(root, subsets: dict, audio_missing=(), truth_extra=()):
    """Writes a tiny FSD50K layout; ``subsets`` maps dev/eval → {clip id: clips-info entry}."""
    for subset, info in subsets.items():
        meta = root / "FSD50K.metadata" / f"{subset}_clips_info_FSD50K.json"
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta.write_text(json.dumps(info))
        ids = [*info, *(truth_extra if subset == "dev" else ())]
        header = ["fname", "labels", "mids"] + (["split"] if subset == "dev" else [])
        extra = ["train"] if subset == "dev" else []
        rows = [[clip_id, "Bark,Dog", "/m/05tny_,/m/0bt9lr", *extra] for clip_id in ids]
        _csv(root / "FSD50K.ground_truth" / f"{subset}.csv", header, rows)
        for clip_id in info:
            if clip_id not in audio_missing:
                _wav(root / f"FSD50K.{subset}_audio" / f"{clip_id}.wav")


def _entry(tags, uploader, title="t"):
    return {"title": title, "description": "d", "tags": tags, "license": "cc0",
            "uploader": uploader}  # fmt: skip


def _read(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def fsd50k_root(tmp_path):
    root = tmp_path / "fsd"
    dev = {str(100 + i): _entry(["dog", "bark"], f"dev_user{i % 3}") for i in range(6)}
    dev["200"] = _entry(["man", "speech"], "dev_user0")
    eval_ = {str(300 + i): _entry(["piano"], f"eval_user{i % 6}") for i in range(18)}
    eval_["400"] = _entry(["drums", "groovy"], "dev_user1")  # uploader also in dev
    eval_["401"] = _entry("dog", "eval_user0")  # tags not a list
    eval_["402"] = _entry(["cat"], "eval_user1")  # audio missing
    _fsd50k(root, {"dev": dev, "eval": eval_}, audio_missing={"402"}, truth_extra=("999",))
    return root


def test_fsd50k_manifest_has_contract_fields_and_seed_labels(fsd50k_root, tmp_path):
    out = tmp_path / "out"
    result = core.run(str(fsd50k_root), str(out), IngestConfig(data_format="fsd50k"))
    records = {r["clip_id"]: r for r in _read(out / "manifest.jsonl")}
    assert all(MANIFEST_FIELDS <= set(r) for r in records.values())
    assert records["200"]["label"] == "human" and records["200"]["label_index"] == 0
    drums = records["400"]
    assert (drums["label"], drums["rule"], drums["matched_tag"]) == ("noise", "noise", "drums")
    assert drums["matched_classes"] == ["noise", "music"] and drums["ambiguous"]
    assert records["100"]["uri"] == str(fsd50k_root / "FSD50K.dev_audio" / "100.wav")
    assert records["100"]["metadata"]["fsd50k_split"] == "train"
    assert records["100"]["dataset"] == "fsd50k"
    assert result.clips == len(records) == 26
    assert result.summary()["clips_per_split"] == result.clips_per_split
    json.dumps(result.summary())


def test_fsd50k_dev_is_train_and_eval_splits_about_evenly(fsd50k_root, tmp_path):
    out = tmp_path / "out"
    core.run(str(fsd50k_root), str(out), IngestConfig(data_format="fsd50k"))
    records = _read(out / "manifest.jsonl")
    assert all(r["split"] == "train" for r in records if int(r["clip_id"]) < 300)
    evaluation = [r["split"] for r in records if r["clip_id"].startswith("3")]
    assert evaluation.count("validation") == evaluation.count("test") == 9


def test_eval_clip_of_a_dev_uploader_moves_to_train_and_is_reported(fsd50k_root, tmp_path):
    out = tmp_path / "out"
    result = core.run(str(fsd50k_root), str(out), IngestConfig(data_format="fsd50k"))
    split = {r["clip_id"]: r["split"] for r in _read(out / "manifest.jsonl")}
    assert split["400"] == "train"
    moves = json.loads((out / "label_report.json").read_text())["reassignments"]
    assert moves["count"] == result.reassigned == 1
    assert moves["clips"][0] == {
        "clip_id": "400",
        "source_id": "uploader:dev_user1",
        "origin": "eval",
        "requested": "pool",
        "split": "train",
        "reason": "source_in_train",
    }


def test_malformed_metadata_rows_are_rejected_and_the_rest_continues(fsd50k_root, tmp_path):
    out = tmp_path / "out"
    result = core.run(str(fsd50k_root), str(out), IngestConfig(data_format="fsd50k"))
    rejects = {r["clip_id"]: r for r in _read(out / "rejects.jsonl")}
    assert {k: r["reason"] for k, r in rejects.items()} == {
        "999": "not_in_clips_info",
        "401": "tags_not_list",
        "402": "missing_audio",
    }
    assert "402.wav" in rejects["402"]["detail"]
    assert result.rejects == 3
    label_report = json.loads((out / "label_report.json").read_text())
    assert label_report["rejects"]["by_reason"]["tags_not_list"] == 1


def test_no_source_id_is_in_two_splits(fsd50k_root, tmp_path):
    out = tmp_path / "out"
    core.run(str(fsd50k_root), str(out), IngestConfig(data_format="fsd50k", seed=3))
    splits_of = defaultdict(set)
    for record in _read(out / "manifest.jsonl"):
        splits_of[record["source_id"]].add(record["split"])
    assert all(len(splits) == 1 for splits in splits_of.values())


def test_ingest_is_deterministic_per_seed(fsd50k_root, tmp_path):
    outputs = []
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        core.run(str(fsd50k_root), str(tmp_path / name), IngestConfig("fsd50k", seed=seed))
        outputs.append((tmp_path / name / "manifest.jsonl").read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0] != outputs[2]  # 6 eval uploaders: another seed deals them differently


def test_validation_fraction_and_normalisation_options(fsd50k_root, tmp_path):
    config = IngestConfig("fsd50k", validation_fraction=0.0, normalize_tags=True)
    core.run(str(fsd50k_root), str(tmp_path / "o"), config)
    records = _read(tmp_path / "o" / "manifest.jsonl")
    assert {r["split"] for r in records} == {"train", "test"}
    label_report = json.loads((tmp_path / "o" / "label_report.json").read_text())
    assert label_report["normalize_tags"] is True


def test_label_report_counts_classes_rules_and_ambiguity(fsd50k_root, tmp_path):
    out = tmp_path / "out"
    core.run(str(fsd50k_root), str(out), IngestConfig(data_format="fsd50k"))
    label_report = json.loads((out / "label_report.json").read_text())
    assert set(label_report["class_counts"]["all"]) == set(CLASS_NAMES)
    assert label_report["class_counts"]["all"]["animal"] == 6
    assert label_report["rule_hits"] == {"music": 18, "animal": 6, "human": 1, "noise": 1}
    assert label_report["tag_hits"]["animal"] == {"dog": 6}
    assert label_report["ambiguous"] == {"count": 1, "by_classes": {"noise+music": 1}}
    text = report.markdown(label_report)
    assert "| animal | 6 | 0 | 0 | 6 |" in text and "noise+music: 1" in text


def test_log_counts_reports_scalars(fsd50k_root, tmp_path):
    result = core.run(str(fsd50k_root), str(tmp_path / "o"), IngestConfig("fsd50k"))
    logged = {}
    report.log_counts(result, logged.__setitem__)
    assert logged["clips"] == 26 and logged["train_animal"] == 6 and logged["rejects"] == 3


def test_esc50_folds_map_to_splits_with_normalised_categories(tmp_path):
    root = tmp_path / "esc"
    rows = [
        ["1-100-A-0.wav", 1, 0, "dog", "True", 100, "A"],
        ["1-100-B-0.wav", 1, 0, "dog", "True", 100, "B"],
        ["2-200-A-20.wav", 2, 20, "crying_baby", "False", 200, "A"],
        ["4-300-A-1.wav", 4, 1, "rooster", "False", 300, "A"],
        ["5-400-A-42.wav", 5, 42, "siren", "False", 400, "A"],
        ["6-500-A-1.wav", 6, 1, "rooster", "False", 500, "A"],  # bad fold
        ["3-600-A-1.wav", 3, 1, "rooster", "False", 600, "A"],  # audio missing
    ]
    _csv(root / "meta" / "esc50.csv",
         ["filename", "fold", "target", "category", "esc10", "src_file", "take"], rows)  # fmt: skip
    for row in rows[:-1]:
        _wav(root / "audio" / row[0])
    result = core.run(str(root), str(tmp_path / "o"), IngestConfig(data_format="esc50"))
    records = {r["clip_id"]: r for r in _read(tmp_path / "o" / "manifest.jsonl")}
    assert {k: r["split"] for k, r in records.items()} == {
        "1-100-A-0": "train",
        "1-100-B-0": "train",
        "2-200-A-20": "train",
        "4-300-A-1": "validation",
        "5-400-A-42": "test",
    }
    baby = records["2-200-A-20"]
    assert baby["tags"] == ["crying-baby", "crying", "baby"] and baby["label"] == "human"
    assert records["1-100-B-0"]["source_id"] == records["1-100-A-0"]["source_id"] == "src:100"
    assert records["5-400-A-42"]["label"] == "alarm"
    assert records["4-300-A-1"]["metadata"]["fold"] == "4"
    rejects = {r["clip_id"]: r["reason"] for r in _read(tmp_path / "o" / "rejects.jsonl")}
    assert rejects == {"6-500-A-1": "bad_fold", "3-600-A-1": "missing_audio"}
    assert result.clips == 5


def test_esc50_source_spanning_folds_is_kept_in_one_split(tmp_path):
    root = tmp_path / "esc"
    rows = [
        ["1-7-A-0.wav", 1, 0, "dog", "True", 7, "A"],
        ["5-7-B-0.wav", 5, 0, "dog", "True", 7, "B"],
    ]
    _csv(root / "meta" / "esc50.csv",
         ["filename", "fold", "target", "category", "esc10", "src_file", "take"], rows)  # fmt: skip
    for row in rows:
        _wav(root / "audio" / row[0])
    result = core.run(str(root), str(tmp_path / "o"), IngestConfig(data_format="esc50"))
    assert {r["split"] for r in _read(tmp_path / "o" / "manifest.jsonl")} == {"train"}
    assert result.reassigned == 1


def test_manifest_csv_with_tags_and_grouped_seeded_split(tmp_path):
    rows = []
    for i in range(40):
        _wav(tmp_path / "data" / "clips" / f"c{i}.wav")
        tags = ["Dog; Field Recording", "crying_baby", "piano guitar", "alarm,beep"][i % 4]
        rows.append([f"clips/c{i}.wav", tags, f"user{i % 10}", f"title {i}", "blue"])
    _csv(tmp_path / "data" / "manifest.csv", ["uri", "tags", "uploader", "title", "colour"], rows)
    out = tmp_path / "o"
    core.run(str(tmp_path / "data"), str(out), IngestConfig(data_format="manifest", seed=5))
    records = {r["clip_id"]: r for r in _read(out / "manifest.jsonl")}
    assert records["c0"]["tags"] == ["dog", "field-recording", "field", "recording"]
    assert [records[f"c{i}"]["label"] for i in range(4)] == ["animal", "human", "music", "alarm"]
    assert records["c0"]["uri"] == str(tmp_path / "data" / "clips" / "c0.wav")
    assert records["c0"]["metadata"] == {"colour": "blue"}
    assert records["c0"]["source_id"] == "source:user0"
    splits_of = defaultdict(set)
    for record in records.values():
        splits_of[record["source_id"]].add(record["split"])
    assert all(len(s) == 1 for s in splits_of.values())
    # Ten sources of four clips; each holds two of the four classes (five sources per class).
    # Stratification puts every class in every split, which takes two sources in validation and
    # two in test instead of the one each that 80/10/10 alone would give.
    counts = {s: sum(r["split"] == s for r in records.values()) for s in MANIFEST_POOL}
    assert counts == {"train": 24, "validation": 8, "test": 8}
    for split in MANIFEST_POOL:
        present = {r["label"] for r in records.values() if r["split"] == split}
        assert present == {"animal", "human", "music", "alarm"}


def test_manifest_csv_with_labels_and_given_splits(tmp_path):
    audio = tmp_path / "audio"
    for name in ("a", "b", "c", "d"):
        _wav(audio / f"{name}.wav")
    rows = [
        [str(audio / "a.wav"), "Music", "train", "s1"],
        [str(audio / "b.wav"), "other", "val", "s2"],
        [str(audio / "c.wav"), "doorbell", "test", "s3"],  # not a class name
        [str(audio / "d.wav"), "movement", "test", "s1"],  # source s1 is already in train
        [str(audio / "missing.wav"), "human", "test", "s4"],
    ]
    csv_path = tmp_path / "lists" / "labelled.csv"
    _csv(csv_path, ["uri", "label", "split", "source_id"], rows)
    config = IngestConfig(data_format="manifest", allowed_roots=(str(audio),))
    result = core.run(str(csv_path), str(tmp_path / "o"), config)
    records = {r["clip_id"]: r for r in _read(tmp_path / "o" / "manifest.jsonl")}
    assert {k: (r["label"], r["split"]) for k, r in records.items()} == {
        "a": ("music", "train"),
        "b": ("other", "validation"),
        "d": ("movement", "train"),
    }
    assert records["a"]["rule"] == core.LABEL_RULE and not records["a"]["ambiguous"]
    rejects = {r["clip_id"]: r["reason"] for r in _read(tmp_path / "o" / "rejects.jsonl")}
    assert rejects == {"c": "unknown_label", "missing": "missing_audio"}
    assert result.reassigned == 1


def test_manifest_csv_without_tags_or_label_column_is_refused(tmp_path):
    _csv(tmp_path / "manifest.csv", ["uri", "title"], [["a.wav", "x"]])
    with pytest.raises(ValueError, match="'tags' or a 'label' column"):
        core.run(str(tmp_path), str(tmp_path / "o"), IngestConfig(data_format="manifest"))


def test_missing_layout_files_and_empty_datasets_fail_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="esc50.csv"):
        core.run(str(tmp_path), str(tmp_path / "o"), IngestConfig(data_format="esc50"))
    _csv(tmp_path / "manifest.csv", ["uri", "tags"], [["gone.wav", "dog"]])
    with pytest.raises(ValueError, match="no usable clips"):
        core.run(str(tmp_path), str(tmp_path / "o"), IngestConfig(data_format="manifest"))


def test_config_rejects_unknown_format_and_fraction():
    with pytest.raises(ValueError, match="data_format"):
        IngestConfig(data_format="audioset")
    with pytest.raises(ValueError, match="validation_fraction"):
        IngestConfig(data_format="fsd50k", validation_fraction=1.5)
