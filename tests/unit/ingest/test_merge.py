"""Ingest of several data roots: each split on its own, merged by source recording."""

import json

import pytest

from cli import main as cli
from components.ingest import core, merge, report
from components.ingest.config import DataRoot, IngestConfig
from components.ingest.fingerprint import fingerprint
from tests.helpers.datasets import write_esc50, write_manifest_csv
from tests.helpers.local_run import record_local_runs
from tests.helpers.usage import usage_error


def _record(clip_id, source_id, split, dataset="esc50", label="animal"):
    return {"clip_id": clip_id, "uri": f"/a/{clip_id}.wav", "source_id": source_id,
            "split": split, "label": label, "dataset": dataset}  # fmt: skip


def test_a_recording_in_two_datasets_moves_whole_to_the_earliest_split():
    # ESC-50's src_file and UrbanSound8K's fsID name the same Freesound recording "7".
    first = [_record("a1", "src:7", "test"), _record("a2", "src:8", "test")]
    second = [
        _record("b1", "source:7", "train", "manifest"),
        _record("b2", "uploader:7", "validation", "manifest"),
    ]
    records, moved, rejects = merge.merge([first, second])
    assert {r["clip_id"]: (r["source_id"], r["split"]) for r in records} == {
        "a1": ("7", "train"),
        "a2": ("8", "test"),
        "b1": ("7", "train"),
        "b2": ("uploader:7", "validation"),  # an uploader is not a recording id
    }
    (move,) = moved
    assert (move.clip_id, move.requested, move.split) == ("a1", "test", "train")
    assert move.reason == "shared_recording_in_train" and move.origin == "esc50:test"
    assert rejects == []


def test_a_clip_id_an_earlier_root_used_is_rejected_and_the_rest_kept():
    first = [_record("x", "src:1", "train")]
    second = [_record("x", "source:2", "test", "manifest"), _record("y", "source:3", "test")]
    records, moved, rejects = merge.merge([first, second])
    assert [(r["clip_id"], r["source_id"]) for r in records] == [("x", "1"), ("y", "3")]
    (reject,) = rejects
    assert reject.reason == "duplicate_clip_id" and reject.clip_id == "x"
    assert "data root 2 (manifest) is already used by data root 1" in reject.detail
    assert moved == []


def test_a_data_root_entry_is_checked():
    entry = {"data_root": "gs://b/us8k", "data_format": "manifest"}
    assert DataRoot.parse(entry) == DataRoot("gs://b/us8k", "manifest")
    assert DataRoot.parse(entry).entry() == entry
    with pytest.raises(ValueError, match="expected"):
        DataRoot.parse({"root": "x"})
    with pytest.raises(ValueError, match="'audioset' is not one of"):
        DataRoot.parse({"data_root": "x", "data_format": "audioset"})


def _write_esc50(root):
    """Fold 1 (train) holds recording 7; fold 5 (test) recording 9; one clip per category."""
    write_esc50(
        root,
        [
            ["1-7-A-0.wav", 1, 0, "dog", "True", 7, "A"],
            ["1-8-A-42.wav", 1, 42, "siren", "False", 8, "A"],
            ["5-9-A-0.wav", 5, 0, "dog", "True", 9, "A"],
            ["5-10-A-42.wav", 5, 42, "siren", "False", 10, "A"],
        ],
    )


def _write_manifest(root):
    """Recording 9 (ESC-50's test fold) also in this dataset's train split; a clip id clash."""
    rows = [
        ["audio/9-1.wav", "dog_bark", "train", 9],
        ["audio/9-2.wav", "dog_bark", "train", 9],
        ["audio/20-1.wav", "siren", "test", 20],
        ["audio/1-7-A-0.wav", "siren", "test", 21],  # ESC-50 already has clip 1-7-A-0
    ]
    write_manifest_csv(root, ["uri", "tags", "split", "source_id"], rows)


def test_ingest_merges_an_esc50_copy_and_a_manifest(tmp_path):
    _write_esc50(tmp_path / "esc")
    _write_manifest(tmp_path / "csv")
    config = IngestConfig(
        "esc50",
        taxonomy_path="categories",
        more_data_roots=(DataRoot(str(tmp_path / "csv"), "manifest"),),
    )
    result = core.run(str(tmp_path / "esc"), str(tmp_path / "out"), config)
    records = {
        r["clip_id"]: r
        for r in map(json.loads, (tmp_path / "out" / "manifest.jsonl").read_text().splitlines())
    }
    assert len(records) == 7 and result.dataset == "esc50+manifest"
    # recording 9: test in ESC-50, train in the manifest → train, with every clip of it
    assert {records[c]["split"] for c in ("5-9-A-0", "9-1", "9-2")} == {"train"}
    assert records["5-9-A-0"]["source_id"] == records["9-1"]["source_id"] == "9"
    assert records["20-1"]["split"] == "test" and records["20-1"]["dataset"] == "manifest"
    assert records["1-7-A-0"]["dataset"] == "esc50"  # the first root keeps its clip id
    label_report = json.loads((tmp_path / "out" / "label_report.json").read_text())
    assert label_report["dataset"] == "esc50+manifest"
    assert [(d["data_format"], d["clips"]) for d in label_report["datasets"]] == [
        ("esc50", 4),
        ("manifest", 4),
    ]
    assert label_report["reassignments"]["by_reason"] == {"shared_recording_in_train": 1}
    assert label_report["rejects"]["by_reason"] == {"duplicate_clip_id": 1}
    assert result.reassigned == 1 and result.rejects == 1
    rejects = (tmp_path / "out" / "rejects.jsonl").read_text()
    assert "duplicate_clip_id" in rejects
    text = report.markdown(label_report)
    assert "| data root | layout | clips |" in text and "shared_recording_in_train: 1" in text


def test_one_data_root_keeps_its_source_ids_and_report(tmp_path):
    _write_esc50(tmp_path / "esc")
    core.run(str(tmp_path / "esc"), str(tmp_path / "out"), IngestConfig("esc50"))
    first = json.loads((tmp_path / "out" / "manifest.jsonl").read_text().splitlines()[0])
    assert first["source_id"] == "src:7"
    label_report = json.loads((tmp_path / "out" / "label_report.json").read_text())
    assert label_report["dataset"] == "esc50" and len(label_report["datasets"]) == 1
    assert "| data root |" not in report.markdown(label_report)


def test_the_fingerprint_of_several_roots_follows_each(tmp_path):
    for name, size in (("a", 4), ("b", 8)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "x.wav").write_bytes(b"R" * size)
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    both = fingerprint(a, b)
    assert both not in (fingerprint(a), fingerprint(b), fingerprint(b, a))
    (tmp_path / "b" / "y.wav").write_bytes(b"RIFF")
    assert fingerprint(a, b) != both


def test_the_ingest_command_takes_a_format_per_data_root(tmp_path, capsys):
    _write_esc50(tmp_path / "esc")
    _write_manifest(tmp_path / "csv")
    roots = ["--data-root", str(tmp_path / "esc"), "--data-format", "esc50"]
    roots += ["--data-root", str(tmp_path / "csv"), "--data-format", "manifest"]
    argv = ["ingest", *roots, "--taxonomy", "categories", "--output", str(tmp_path / "out")]
    assert cli.main(argv) == 0
    assert json.loads(capsys.readouterr().out)["dataset"] == "esc50+manifest"
    three = [*roots, "--data-root", str(tmp_path / "csv")]
    message = usage_error(["ingest", *three, "--output", str(tmp_path / "o")])
    assert "3 --data-root but 2 --data-format" in message


def test_run_passes_every_data_root_and_their_fingerprint(monkeypatch, tmp_path):
    seen = record_local_runs(monkeypatch)
    for name in ("esc", "csv"):
        (tmp_path / name).mkdir()
    argv = ["run", "--data-root", str(tmp_path / "esc"), "--data-format", "esc50"]
    argv += ["--data-root", str(tmp_path / "csv"), "--data-format", "manifest"]
    assert cli.main([*argv, "--preset", "quality", "--output", str(tmp_path / "run")]) == 0
    assert (seen["data_root"], seen["data_format"]) == (str(tmp_path / "esc"), "esc50")
    more = [{"data_root": str(tmp_path / "csv"), "data_format": "manifest"}]
    assert seen["more_data_roots"] == more
    assert seen["data_fingerprint"] == fingerprint(str(tmp_path / "esc"), str(tmp_path / "csv"))
    assert seen["taxonomy_path"] == "categories"  # the quality preset's
