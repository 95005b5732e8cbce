"""rebalance: per-class targets, untouched validation/test, no source leakage, seeded output."""

import json
from collections import Counter

import pytest

from components.rebalance import core
from tests.helpers.unbalanced_manifest import SIZES, manifest_rows


def write(tmp_path, rows) -> str:
    path = tmp_path / "manifest.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


def read(path) -> list[dict]:
    return [json.loads(line) for line in open(path)]


@pytest.fixture
def rebalanced(tmp_path):
    rows = manifest_rows()
    result = core.run(write(tmp_path, rows), str(tmp_path / "out"), core.RebalanceConfig(10))
    return rows, result, read(tmp_path / "out" / "manifest.jsonl")


def test_train_counts_match_target(rebalanced):
    _, result, out = rebalanced
    counts = Counter(r["label"] for r in out if r["split"] == "train")
    assert counts == {name: 10 for name in SIZES}
    assert result.after == {**{name: 10 for name in SIZES}, "other": 0}
    assert result.empty_classes == ["other"]
    assert result.dropped["noise"] == 20 and result.augmented["alarm"] == 9
    assert result.augmented["human"] == 0 and result.dropped["human"] == 2


def test_validation_and_test_are_untouched(rebalanced):
    rows, _, out = rebalanced
    held = [r for r in rows if r["split"] != "train"]
    assert sorted(json.dumps(r, sort_keys=True) for r in out if r["split"] != "train") == sorted(
        json.dumps(r, sort_keys=True) for r in held
    )


def test_no_heldout_clip_or_source_in_train(rebalanced):
    _, _, out = rebalanced
    train = [r for r in out if r["split"] == "train"]
    held = [r for r in out if r["split"] != "train"]
    assert not {r["clip_id"] for r in train} & {r["clip_id"] for r in held}
    assert not {r["source_id"] for r in train} & {r["source_id"] for r in held}
    assert not {r["augment"]["source_clip_id"] for r in train if "augment" in r} & {
        r["clip_id"] for r in held
    }


def test_copies_are_unique_augmented_and_linked(rebalanced):
    rows, _, out = rebalanced
    originals = {r["clip_id"]: r for r in rows}
    ids = [r["clip_id"] for r in out]
    assert len(ids) == len(set(ids))
    copies = [r for r in out if "augment" in r]
    assert len(copies) == 9 + 7 + 5 + 3 + 1
    for copy in copies:
        source = originals[copy["augment"]["source_clip_id"]]
        assert copy["clip_id"].startswith(source["clip_id"] + "__aug")
        assert copy["source_id"] == source["source_id"] and copy["uri"] == source["uri"]
        assert copy["label"] == source["label"]
        assert 10.0 <= copy["augment"]["snr_db"] <= 30.0
        assert core.MIN_SEMITONES <= abs(copy["augment"]["semitones"]) <= 2.0


def test_same_seed_same_manifest(tmp_path):
    manifest = write(tmp_path, manifest_rows())
    core.run(manifest, str(tmp_path / "a"), core.RebalanceConfig(10, seed=3))
    core.run(manifest, str(tmp_path / "b"), core.RebalanceConfig(10, seed=3))
    core.run(manifest, str(tmp_path / "c"), core.RebalanceConfig(10, seed=4))
    a, b, c = ((tmp_path / d / "manifest.jsonl").read_text() for d in "abc")
    assert a == b and a != c


def test_reports_are_written(rebalanced, tmp_path):
    report = json.loads((tmp_path / "out" / "rebalance_report.json").read_text())
    assert report["before"]["noise"] == 30 and report["config"]["target_per_class"] == 10
    table = (tmp_path / "out" / "class_table.md").read_text()
    assert "| noise | 30 | 10 | 0 | 20 |" in table
    assert (tmp_path / "out" / "class_table.csv").read_text().splitlines()[2] == "noise,30,10,0,20"


def test_source_spanning_splits_is_refused(tmp_path):
    rows = manifest_rows()
    rows[0]["source_id"] = "held-human-test"
    with pytest.raises(ValueError, match="source_id"):
        core.run(write(tmp_path, rows), str(tmp_path / "out"), core.RebalanceConfig(10))


def test_class_table_csv_and_markdown_escape_class_names(monkeypatch):
    hostile = ("=cmd|x", "dog")
    monkeypatch.setattr(core, "CLASS_NAMES", hostile)
    counts = {name: 1 for name in hostile}
    result = core.RebalanceResult(
        before=counts,
        after=counts,
        augmented=counts,
        dropped=counts,
        untouched_per_split={},
        empty_classes=["<b>x</b>"],
        manifest_path="m",
    )
    assert core._class_table_csv(result).splitlines()[1] == "'=cmd|x,1,1,1,1"
    markdown = core.class_table_markdown(result)
    assert "| =cmd\\|x | 1 | 1 | 1 | 1 |" in markdown and "&lt;b&gt;x&lt;/b&gt;" in markdown


def test_keep_majority_clips_keeps_every_clip_and_still_tops_up(tmp_path):
    rows = manifest_rows()
    config = core.RebalanceConfig(10, keep_majority_clips=True)
    result = core.run(write(tmp_path, rows), str(tmp_path / "out"), config)
    out = read(tmp_path / "out" / "manifest.jsonl")
    train_ids = {r["clip_id"] for r in out if r["split"] == "train" and "augment" not in r}
    assert train_ids == {r["clip_id"] for r in rows if r["split"] == "train"}
    counts = Counter(r["label"] for r in out if r["split"] == "train")
    assert counts == {name: max(size, 10) for name, size in SIZES.items()}
    assert sum(result.dropped.values()) == 0 and result.augmented["alarm"] == 9
