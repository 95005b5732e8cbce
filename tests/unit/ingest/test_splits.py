"""The grouped split is stratified by class, and an ESC-50 copy missing a fold still validates."""

import csv
import json
import random
from collections import Counter, defaultdict

import numpy as np
import pytest
import soundfile

from components.ingest import core, report, splits
from components.ingest.core import IngestConfig
from components.ingest.readers import SourceClip

POOL = {"train": 0.8, "validation": 0.1, "test": 0.1}


def _clips(sources_per_class: dict[str, int], clips_per_source=lambda i: 1 + i % 4, mixed=0):
    """Pooled clips: ``n`` single-class sources per class, plus ``mixed`` two-class sources."""
    clips, labels = [], {}
    for name, count in sources_per_class.items():
        for i in range(count):
            for k in range(clips_per_source(i)):
                clip_id = f"{name}-{i}-{k}"
                clips.append(SourceClip(clip_id, f"/a/{clip_id}.wav", (), f"{name}:{i}", "", None))
                labels[clip_id] = name
    names = list(sources_per_class)
    for i in range(mixed):
        for k, name in enumerate((names[i % len(names)], names[(i + 1) % len(names)])):
            clip_id = f"mixed-{i}-{k}"
            clips.append(SourceClip(clip_id, f"/a/{clip_id}.wav", (), f"mixed:{i}", "", None))
            labels[clip_id] = name
    return clips, labels


def _by_split(clips, labels, assigned):
    sources, classes = defaultdict(set), defaultdict(Counter)
    for clip in clips:
        sources[clip.source_id].add(assigned[clip.clip_id])
        classes[assigned[clip.clip_id]][labels[clip.clip_id]] += 1
    return sources, classes


@pytest.mark.parametrize("seed", range(12))
def test_every_class_with_three_sources_is_in_every_split_and_no_source_spans_two(seed):
    # Skewed like the real data: one rare class with 3 sources, common ones with many.
    clips, labels = _clips(
        {"alarm": 3, "movement": 4, "music": 7, "animal": 40, "ambient": 90}, mixed=12
    )
    assigned, moved = splits.assign(clips, labels, POOL, seed)
    sources, classes = _by_split(clips, labels, assigned)
    assert not moved
    assert all(len(found) == 1 for found in sources.values())
    for split in splits.SPLITS:
        assert set(classes[split]) == {"alarm", "movement", "music", "animal", "ambient"}, split


def test_classes_with_fewer_sources_go_to_train_then_test():
    clips, labels = _clips({"one": 1, "two": 2, "many": 30})
    assigned, _ = splits.assign(clips, labels, POOL, seed=3)
    _, classes = _by_split(clips, labels, assigned)
    assert classes["train"]["one"] > 0 and classes["train"]["two"] > 0 and classes["test"]["two"]
    assert not classes["validation"]["one"] and not classes["validation"]["two"]


def test_split_sizes_follow_the_fractions_on_a_larger_pool():
    clips, labels = _clips({f"c{k}": 40 + 10 * k for k in range(8)}, mixed=30)
    assigned, _ = splits.assign(clips, labels, POOL, seed=0)
    sizes = Counter(assigned.values())
    for split, share in POOL.items():
        assert abs(sizes[split] / len(clips) - share) < 0.01, sizes
    _, classes = _by_split(clips, labels, assigned)
    for name in {labels[c.clip_id] for c in clips}:
        total = sum(classes[split][name] for split in POOL)
        assert abs(classes["train"][name] / total - 0.8) < 0.05, (name, classes)


def test_same_clips_and_seed_give_the_same_split_in_any_input_order():
    clips, labels = _clips({"a": 5, "b": 9, "c": 30}, mixed=6)
    first, _ = splits.assign(clips, labels, POOL, seed=7)
    shuffled = list(clips)
    random.Random(1).shuffle(shuffled)
    assert splits.assign(shuffled, labels, POOL, seed=7)[0] == first
    assert splits.assign(clips, labels, POOL, seed=8)[0] != first


def test_a_two_way_pool_covers_both_of_its_splits():
    clips, labels = _clips({"rare": 2, "common": 20})
    assigned, _ = splits.assign(clips, labels, {"validation": 0.5, "test": 0.5}, seed=0)
    _, classes = _by_split(clips, labels, assigned)
    assert classes["validation"]["rare"] and classes["test"]["rare"] and not classes["train"]


def _write_esc50(root, folds, categories, sources_per_category=6):
    """A tiny ESC-50 copy: per category and fold, ``sources`` recordings of 1–2 clips each."""
    rows = []
    for target, category in enumerate(categories):
        for fold in folds:
            for source in range(sources_per_category):
                src = 1000 * (target + 1) + 100 * fold + source
                for take in "AB"[: 1 + source % 2]:
                    rows.append([f"{fold}-{src}-{take}-{target}.wav", fold, target, category,
                                 "False", src, take])  # fmt: skip
    (root / "meta").mkdir(parents=True)
    with (root / "meta" / "esc50.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["filename", "fold", "target", "category", "esc10", "src_file", "take"])
        writer.writerows(rows)
    (root / "audio").mkdir()
    for row in rows:
        soundfile.write(root / "audio" / row[0], np.full(80, 0.1, np.float32), 8000)
    return rows


CATEGORIES = ["dog", "siren", "crying_baby", "footsteps", "rain"]


def _manifest(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_esc50_without_fold_4_draws_validation_from_folds_1_to_3(tmp_path):
    rows = _write_esc50(tmp_path / "esc", [1, 2, 3, 5], CATEGORIES)
    result = core.run(str(tmp_path / "esc"), str(tmp_path / "o"), IngestConfig("esc50", seed=1))
    records = _manifest(tmp_path / "o" / "manifest.jsonl")
    assert len(records) == len(rows) and result.reassigned == 0
    by_split = defaultdict(list)
    for record in records:
        by_split[record["split"]].append(record)
    assert {r["metadata"]["fold"] for r in by_split["test"]} == {"5"}
    assert {r["metadata"]["fold"] for r in by_split["validation"]} <= {"1", "2", "3"}
    assert all(r["split"] == "test" for r in records if r["metadata"]["fold"] == "5")
    pooled = len(by_split["train"]) + len(by_split["validation"])
    assert abs(len(by_split["validation"]) / pooled - 0.25) < 0.05
    for split in splits.SPLITS:
        assert {r["label"] for r in by_split[split]} == {
            "animal", "alarm", "human", "movement", "ambient"
        }, split  # fmt: skip
    sources = defaultdict(set)
    for record in records:
        sources[record["source_id"]].add(record["split"])
    assert all(len(found) == 1 for found in sources.values())
    label_report = json.loads((tmp_path / "o" / "label_report.json").read_text())
    (note,) = label_report["notes"]
    assert "fold(s) [4] (validation)" in note
    assert "drawn from folds [1, 2, 3]" in report.markdown(label_report)
    again = core.run(str(tmp_path / "esc"), str(tmp_path / "o2"), IngestConfig("esc50", seed=1))
    assert again.clips_per_split == result.clips_per_split
    assert _manifest(tmp_path / "o2" / "manifest.jsonl") == records


def test_esc50_with_every_fold_has_no_note_and_uses_the_folds(tmp_path):
    _write_esc50(tmp_path / "esc", [1, 2, 3, 4, 5], CATEGORIES[:2], sources_per_category=2)
    core.run(str(tmp_path / "esc"), str(tmp_path / "o"), IngestConfig("esc50"))
    records = _manifest(tmp_path / "o" / "manifest.jsonl")
    expected = {"1": "train", "2": "train", "3": "train", "4": "validation", "5": "test"}
    assert all(r["split"] == expected[r["metadata"]["fold"]] for r in records)
    assert json.loads((tmp_path / "o" / "label_report.json").read_text())["notes"] == []


def test_esc50_without_validation_and_test_folds_draws_both(tmp_path):
    _write_esc50(tmp_path / "esc", [1, 2, 3], CATEGORIES[:3])
    core.run(str(tmp_path / "esc"), str(tmp_path / "o"), IngestConfig("esc50"))
    records = _manifest(tmp_path / "o" / "manifest.jsonl")
    sizes = Counter(r["split"] for r in records)
    assert sizes["validation"] and sizes["test"] and sizes["train"] > sizes["test"]
    notes = json.loads((tmp_path / "o" / "label_report.json").read_text())["notes"]
    assert len(notes) == 2 and "1/5" in notes[0] and "(test)" in notes[1]


def test_esc50_without_training_folds_fails_clearly(tmp_path):
    _write_esc50(tmp_path / "esc", [4, 5], CATEGORIES[:1], sources_per_category=1)
    with pytest.raises(ValueError, match=r"no clip in the training folds \[1, 2, 3\]"):
        core.run(str(tmp_path / "esc"), str(tmp_path / "o"), IngestConfig("esc50"))
