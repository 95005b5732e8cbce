"""Audio URIs named by metadata stay inside the data root (or an allowed root), never read."""

import csv
import json
import os

import numpy as np
import pytest
import soundfile

from components.ingest import confine, core, readers
from components.ingest.core import IngestConfig


def refused(roots: confine.Roots, uri: str) -> str:
    with pytest.raises(confine.Refused) as caught:
        roots.resolve(uri)
    assert caught.value.detail
    return caught.value.reason


def test_local_uris_are_normalised_and_confined(tmp_path):
    root, outside = tmp_path / "data", tmp_path / "data2"
    (root / "clips").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.wav").write_bytes(b"x")
    (root / "clips" / "a.wav").write_bytes(b"x")
    os.symlink(outside / "secret.wav", root / "clips" / "escape.wav")
    os.symlink(outside, root / "linked_dir")
    os.symlink(root / "clips" / "a.wav", root / "clips" / "inside.wav")
    os.symlink(root / "loop_b.wav", root / "loop_a.wav")
    os.symlink(root / "loop_a.wav", root / "loop_b.wav")
    roots = confine.Roots.of(str(root))
    assert roots.resolve(str(root / "clips" / ".." / "clips" / "a.wav")) == str(
        root / "clips" / "a.wav"
    )
    assert roots.resolve(str(root / "clips" / "inside.wav")) == str(root / "clips" / "inside.wav")
    assert roots.resolve(f"file://{root}/clips/a.wav") == str(root / "clips" / "a.wav")
    assert refused(roots, str(root / ".." / "data2" / "secret.wav")) == "outside_root"
    assert refused(roots, str(outside / "secret.wav")) == "outside_root"  # a sibling prefix
    assert refused(roots, "/etc/passwd") == "outside_root"
    assert refused(roots, "file:///etc/passwd") == "outside_root"
    assert refused(roots, str(root / "clips" / "escape.wav")) == "symlink_escapes_root"
    assert refused(roots, str(root / "linked_dir" / "secret.wav")) == "symlink_escapes_root"
    assert refused(roots, str(root / "loop_a.wav")) == "symlink_loop"
    for uri in ("http://example.com/a.wav", "https://x/a.wav", "gs://bucket/a.wav", "s3://b/a"):
        assert refused(roots, uri) == "scheme_not_allowed"
    assert refused(roots, "file://otherhost/data/a.wav") == "scheme_not_allowed"
    allowed = confine.Roots.of(str(root), (str(outside),))
    assert allowed.resolve(str(outside / "secret.wav")) == str(outside / "secret.wav")
    assert allowed.resolve(str(root / "clips" / "escape.wav")) == str(root / "clips" / "escape.wav")


def test_bucket_uris_are_confined_to_their_prefix_and_allowed_buckets():
    roots = confine.Roots.of("gs://data-bucket/sounds/", ("gs://shared-bucket",))
    assert (
        roots.resolve("gs://data-bucket/sounds/a/./b/../c.wav") == "gs://data-bucket/sounds/a/c.wav"
    )
    assert roots.resolve("gs://shared-bucket/any/x.wav") == "gs://shared-bucket/any/x.wav"
    assert refused(roots, "gs://data-bucket/sounds/../private/x.wav") == "outside_root"
    assert refused(roots, "gs://data-bucket/sounds2/x.wav") == "outside_root"
    assert refused(roots, "gs://other-bucket/sounds/x.wav") == "outside_root"
    assert refused(roots, "gs://data-bucket/../../x.wav") == "outside_root"
    assert refused(roots, "/etc/passwd") == "outside_root"
    assert refused(roots, "http://data-bucket/sounds/x.wav") == "scheme_not_allowed"


def _wav(path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, np.full(80, 0.1, dtype=np.float32), 8000, subtype="PCM_16")


def _csv(path, header, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])


@pytest.fixture
def listed(monkeypatch):
    """Every folder the readers list (the only way they look at audio)."""
    folders: list[str] = []
    original = readers.tf.io.gfile.listdir

    def listdir(folder):
        folders.append(folder)
        return original(folder)

    monkeypatch.setattr(readers.tf.io.gfile, "listdir", listdir)
    return folders


def test_hostile_manifest_rows_are_rejected_with_reasons_and_never_listed(tmp_path, listed):
    root, outside = tmp_path / "data", tmp_path / "elsewhere"
    _wav(root / "clips" / "good.wav")
    _wav(outside / "secret.wav")
    os.symlink(outside / "secret.wav", root / "clips" / "escape.wav")
    rows = [
        ["clips/good.wav", "dog"],
        ["../elsewhere/secret.wav", "dog"],
        [str(outside / "secret.wav"), "dog"],
        ["clips/escape.wav", "dog"],
        ["http://example.com/secret.wav", "dog"],
        [f"file://{outside}/secret.wav", "dog"],
        ["gs://another-bucket/secret.wav", "dog"],
    ]
    _csv(root / "manifest.csv", ["uri", "tags"], rows)
    out = tmp_path / "o"
    result = core.run(str(root), str(out), IngestConfig(data_format="manifest"))
    manifest = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert [record["uri"] for record in manifest] == [str(root / "clips" / "good.wav")]
    rejects = [json.loads(line) for line in (out / "rejects.jsonl").read_text().splitlines()]
    assert [r["reason"] for r in rejects] == [
        "outside_root",
        "outside_root",
        "symlink_escapes_root",
        "scheme_not_allowed",
        "outside_root",
        "scheme_not_allowed",
    ]
    assert all(r["detail"] for r in rejects) and result.rejects == 6
    assert all(folder.startswith(str(root)) for folder in listed), listed
    report = json.loads((out / "label_report.json").read_text())
    assert report["rejects"]["by_reason"]["outside_root"] == 3


def test_allowed_roots_admit_audio_elsewhere(tmp_path):
    root, outside = tmp_path / "data", tmp_path / "elsewhere"
    _wav(outside / "secret.wav")
    _csv(root / "manifest.csv", ["uri", "tags"], [[str(outside / "secret.wav"), "dog"]])
    config = IngestConfig(data_format="manifest", allowed_roots=(str(outside),))
    assert core.run(str(root), str(tmp_path / "o"), config).clips == 1


def test_layout_file_names_cannot_climb_out_of_the_root(tmp_path, listed):
    esc = tmp_path / "esc"
    _wav(tmp_path / "outside.wav")
    _wav(esc / "audio" / "1-1-A-0.wav")
    header = ["filename", "fold", "target", "category", "esc10", "src_file", "take"]
    _csv(
        esc / "meta" / "esc50.csv",
        header,
        [
            ["1-1-A-0.wav", 1, 0, "dog", "True", 1, "A"],
            ["../../outside.wav", 1, 0, "dog", "True", 2, "A"],
            [str(tmp_path / "outside.wav"), 1, 0, "dog", "True", 3, "A"],
        ],
    )
    layout = readers.read_esc50(str(esc))
    assert [clip.clip_id for clip in layout.clips] == ["1-1-A-0"]
    assert [r.reason for r in layout.rejects] == ["outside_root", "outside_root"]
    fsd = tmp_path / "fsd"
    for subset in ("dev", "eval"):
        entry = {"title": "t", "description": "d", "tags": ["dog"], "license": "", "uploader": "u"}
        ids = ["1", "../../../outside"] if subset == "dev" else ["2"]
        (fsd / "FSD50K.metadata").mkdir(parents=True, exist_ok=True)
        (fsd / "FSD50K.metadata" / f"{subset}_clips_info_FSD50K.json").write_text(
            json.dumps({clip_id: entry for clip_id in ids})
        )
        _csv(
            fsd / "FSD50K.ground_truth" / f"{subset}.csv",
            ["fname", "labels", "mids"],
            [[clip_id, "Bark", "/m/x"] for clip_id in ids],
        )
        for clip_id in ids[:1]:
            _wav(fsd / f"FSD50K.{subset}_audio" / f"{clip_id}.wav")
    layout = readers.read_fsd50k(str(fsd))
    assert sorted(clip.clip_id for clip in layout.clips) == ["1", "2"]
    assert [(r.clip_id, r.reason) for r in layout.rejects] == [("../../../outside", "outside_root")]
    assert all(folder.startswith((str(esc), str(fsd))) for folder in listed), listed
