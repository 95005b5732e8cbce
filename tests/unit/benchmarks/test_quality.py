"""benchmarks/quality.py: layout detection, merging datasets that share recordings, model list."""

import pytest

from benchmarks import quality
from components.artifacts.manifest import read_manifest, write_manifest
from pipelines import training


def test_layouts_are_detected_from_their_files(tmp_path):
    (tmp_path / "esc" / "meta").mkdir(parents=True)
    (tmp_path / "esc" / "meta" / "esc50.csv").write_text("filename\n")
    (tmp_path / "fsd" / "FSD50K.metadata").mkdir(parents=True)
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "manifest.csv").write_text("uri,tags\n")
    assert quality.detect_format(str(tmp_path / "esc")) == "esc50"
    assert quality.detect_format(str(tmp_path / "fsd")) == "fsd50k"
    assert quality.detect_format(str(tmp_path / "csv")) == "manifest"
    assert quality.detect_format(str(tmp_path / "csv" / "manifest.csv")) == "manifest"
    with pytest.raises(ValueError, match="no meta/esc50.csv"):
        quality.detect_format(str(tmp_path))


def _record(clip_id, source_id, split, label="animal"):
    return {"clip_id": clip_id, "uri": f"/a/{clip_id}.wav", "source_id": source_id,
            "split": split, "label": label}  # fmt: skip


def test_a_recording_in_two_datasets_ends_up_in_one_split(tmp_path):
    # ESC-50's src_file and UrbanSound8K's fsID name the same Freesound recording "7".
    first = [_record("a1", "src:7", "test"), _record("a2", "src:8", "test")]
    second = [_record("b1", "source:7", "train"), _record("b2", "uploader:7", "validation")]
    write_manifest(str(tmp_path / "a.jsonl"), first)
    write_manifest(str(tmp_path / "b.jsonl"), second)
    out = str(tmp_path / "merged.jsonl")
    summary = quality.merge([str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl")], out)
    splits = {r["clip_id"]: (r["source_id"], r["split"]) for r in read_manifest(out)}
    assert splits == {
        "a1": ("7", "train"),
        "a2": ("8", "test"),
        "b1": ("7", "train"),
        "b2": ("uploader:7", "validation"),  # an uploader is not a recording id
    }
    assert summary["moved_shared_recordings"] == 1 and summary["clips"] == 4


def test_clip_ids_used_by_two_datasets_are_refused(tmp_path):
    write_manifest(str(tmp_path / "a.jsonl"), [_record("x", "src:1", "train")])
    write_manifest(str(tmp_path / "b.jsonl"), [_record("x", "source:2", "test")])
    with pytest.raises(ValueError, match="clip ids are in two datasets"):
        quality.merge([str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl")], str(tmp_path / "m"))


def test_the_models_are_the_pipelines(monkeypatch):
    families = [*training.KERAS_FAMILIES]
    assert quality.model_names() == [
        *families, *(f"{f}_tuned" for f in families), *training.BASELINE_MODELS
    ]  # fmt: skip
    monkeypatch.setattr(training, "KERAS_FAMILIES", [*families, "new_family"])
    assert "new_family_tuned" in quality.model_names()
    with pytest.raises(SystemExit, match="unknown model"):
        quality._models_to_run(["no_such_model"])


def test_a_resumed_run_reuses_recorded_steps_and_their_times(tmp_path):
    calls = []
    first = quality._Steps(str(tmp_path), resume=False)
    assert first.run("a", lambda: calls.append("a") or {"x": 1}) == {"x": 1}
    resumed = quality._Steps(str(tmp_path), resume=True)
    assert resumed.run("a", lambda: calls.append("again") or {"x": 2}) == {"x": 1}
    assert resumed.run("b", lambda: calls.append("b") or {}) == {}
    assert calls == ["a", "b"] and resumed.reused == ["a"]
    assert set(resumed.done["a"]) == {"seconds", "cpu_seconds", "result"}
    assert quality._Steps(str(tmp_path), resume=False).done == {}
