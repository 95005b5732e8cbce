"""benchmarks/quality.py reads a run as the pipeline leaves it; the probe and the served check.

The run here is synthetic but made by the real steps where it is cheap: ingest merges a tiny
ESC-50 copy and a manifest CSV, evaluate scores two models' made-up test predictions (on the
manifest's real test clips), and the task ledger holds one task reused from the cache.
"""

import json
import os
from types import SimpleNamespace

import numpy as np
import pytest

from benchmarks import esc50_probe, feature_cost, quality
from components.artifacts.names import MANIFEST_FILE
from components.audio.labels import CLASS_NAMES, NUM_CLASSES
from components.evaluate import core as evaluate
from components.ingest import core as ingest
from components.ingest.config import DataRoot, IngestConfig
from pipelines import presets, task_times
from tests.helpers.datasets import write_esc50, write_manifest_csv

CATEGORIES = ["dog", "siren", "crying_baby", "rain"]
THIS_RUN = "kfp/household-sounds-2"


def _ingested(root):
    """Ingest of ESC-50 folds 1, 2, 3, 5 (3 recordings per category) and a manifest sharing one."""
    rows = [
        [f"{fold}-{src}-A-{target}.wav", fold, target, category, "False", src, "A"]
        for target, category in enumerate(CATEGORIES)
        for fold in (1, 2, 3, 5)
        for src in (100 * target + 10 * fold + k for k in range(3))
    ]
    write_esc50(root / "esc", rows)
    manifest = [
        [f"audio/m{i}.wav", ("dog_bark", "siren")[i % 2], 900 + i // 2, ""] for i in range(40)
    ]
    manifest.append(["audio/shared.wav", "dog_bark", 10, "test"])  # ESC-50's recording 10: fold 1
    write_manifest_csv(root / "csv", ["uri", "tags", "source_id", "split"], manifest)
    config = IngestConfig(
        "esc50",
        taxonomy_path="categories",
        more_data_roots=(DataRoot(str(root / "csv"), "manifest"),),
    )
    out = root / "run" / "kfp" / "household-sounds-1" / "ingest" / "manifest"
    ingest.run(str(root / "esc"), str(out), config)
    return out


def _write_model(folder, name, records, accuracy, rng):
    """A model directory whose predictions are right for ``accuracy`` of each split's clips."""
    (folder / "predictions").mkdir(parents=True)
    (folder / "model.json").write_text(json.dumps({"name": name, "framework": "keras"}))
    for split in ("train", "validation", "test"):
        clips = [row for row in records if row["split"] == split]
        labels = np.array([row["label_index"] for row in clips])
        right = rng.random(len(clips)) < accuracy
        guesses = np.where(right, labels, (labels + 1) % NUM_CLASSES)
        probabilities = np.full((len(clips), NUM_CLASSES), 0.02)
        probabilities[np.arange(len(clips)), guesses] = 1 - 0.02 * (NUM_CLASSES - 1)
        lines = [
            {"clip_id": row["clip_id"], "label": int(label), "probabilities": list(p)}
            for row, label, p in zip(clips, labels, probabilities, strict=True)
        ]
        text = "".join(json.dumps(line) + "\n" for line in lines)
        (folder / "predictions" / f"{split}.jsonl").write_text(text)
    return str(folder)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("quality")
    manifest_dir = _ingested(root)
    run = root / "run"
    os.symlink(manifest_dir, run / "manifest")
    records = [json.loads(line) for line in (manifest_dir / MANIFEST_FILE).open()]
    rng = np.random.default_rng(0)
    models = run / THIS_RUN
    model_dirs = [
        _write_model(models / "good" / "model", "good", records, 0.9, rng),
        _write_model(models / "weak" / "model", "weak", records, 0.4, rng),
    ]
    stats = [{"clip_id": r["clip_id"], "split": r["split"], "duration_s": 5.0} for r in records]
    (root / "clip_stats.jsonl").write_text("".join(json.dumps(s) + "\n" for s in stats))
    config = evaluate.EvaluateConfig(bootstrap_samples=50, permutation_repeats=1, screenshot=False)
    evaluation = run / THIS_RUN / "evaluate" / "evaluation"
    evaluate.run(model_dirs, str(manifest_dir / MANIFEST_FILE), str(root / "clip_stats.jsonl"),
                 str(evaluation), config)  # fmt: skip
    os.symlink(evaluation, run / "evaluation")
    ledger = [
        {"task": "ingest", "folder": "kfp/household-sounds-1/ingest", "started": 1.0,
         "seconds": 30.0, "cpu_seconds": 12.0, "succeeded": True},
        {"task": "evaluate", "folder": f"{THIS_RUN}/evaluate", "started": 5.0,
         "seconds": 8.0, "cpu_seconds": 9.0, "succeeded": True},
        {"task": "train good (seed)", "folder": f"{THIS_RUN}/good", "started": 3.0,
         "seconds": 1.0, "cpu_seconds": 1.0, "succeeded": False},  # failed, then rerun: not timed
    ]  # fmt: skip
    (run / task_times.LEDGER_FILE).write_text("".join(json.dumps(line) + "\n" for line in ledger))
    return run


def test_every_model_is_read_with_its_interval_and_its_scores_by_dataset(run_dir):
    scores = quality.model_scores(str(run_dir / "evaluation"))
    assert scores["ranking"] == ["good", "weak"]
    good = scores["models"]["good"]
    low, high = good["macro_f1_ci"]
    assert 0 <= low <= good["macro_f1"] <= high <= 1
    assert set(good["by_dataset"]) == {"esc50", "manifest"}
    clips = sum(map(sum, good["confusion_matrix"]))
    assert sum(d["n"] for d in good["by_dataset"].values()) == clips
    assert scores["majority_class"]["class"] in CLASS_NAMES


def test_the_data_summary_counts_the_recording_two_datasets_share(run_dir):
    data = quality.data_summary(str(run_dir))
    assert [(d["data_format"], d["clips"]) for d in data["datasets"]] == [
        ("esc50", 48),
        ("manifest", 41),
    ]
    assert data["moved_shared_recordings"] == 1  # recording 10: train in ESC-50, test here
    assert sum(data["clips_per_split"].values()) == 89 and data["taxonomy"]
    assert any("fold(s) [4]" in note for note in data["notes"])


def test_task_rows_mark_what_the_cache_reused_and_what_was_not_timed(run_dir):
    published = {
        "manifest": "kfp/household-sounds-1/ingest/manifest",
        "evaluation": f"{THIS_RUN}/evaluate/evaluation",
        "models/good": f"{THIS_RUN}/good/model",
    }
    rows = quality.task_rows(str(run_dir), published, THIS_RUN)
    assert [(r["task"], r["reused"], r.get("cpu_seconds")) for r in rows] == [
        ("ingest", True, 12.0),
        ("evaluate", False, 9.0),
        ("good", False, None),
    ]


def test_served_scores_are_compared_with_the_pipelines():
    labels = np.array([0, 1, 2, 2])
    pipeline = np.eye(NUM_CLASSES)[[0, 1, 2, 1]]
    predictions = SimpleNamespace(labels=labels, probabilities=pipeline)
    same = quality.agreement(pipeline.copy(), predictions)
    assert same["max_abs_diff"] == 0 and same["same_class"] == 4 and same["test_clips"] == 4
    assert same["served_macro_f1"] == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)
    other = quality.agreement(np.eye(NUM_CLASSES)[[0, 1, 2, 2]], predictions)
    assert other["same_class"] == 3 and other["served_macro_f1"] == 1.0


def test_the_probe_trains_on_the_other_folds_and_scores_the_test_fold():
    rng = np.random.default_rng(0)
    folds = np.repeat([1, 2, 3, 5], 30)
    targets = np.tile(np.arange(3), 40)
    separable = np.eye(3, 16)[targets] * 4 + rng.normal(0, 0.5, (120, 16))
    score = esc50_probe.probe(separable, targets, folds, 5)
    assert score["train_folds"] == [1, 2, 3] and score["test_clips"] == 30
    assert score["accuracy"] == 1.0 and score["macro_f1"] == 1.0
    noise = esc50_probe.probe(rng.normal(size=(120, 16)), targets, folds, 3)
    assert noise["accuracy"] < 0.7
    with pytest.raises(ValueError, match="fold 4"):
        esc50_probe.probe(separable, targets, folds, 4)
    result = {"clips": 120, "classes": 3, "rows": [
        {"embedding": "mn04_embedding", "size": 16, **score},
        {"embedding": "mn04_embedding", "size": 16, **noise},
    ]}  # fmt: skip
    text = esc50_probe.markdown(result)
    assert "| mn04_embedding | 16 | 1.000 (1.000) |" in text and "on fold 5: met (1.000)" in text


@pytest.mark.slow  # traces the featurizer's graphs
def test_the_featurize_cost_covers_every_stage(tmp_path):
    write_manifest_csv(tmp_path, ["uri"], [[f"{i}.wav"] for i in range(3)])
    paths = feature_cost.audio_files(str(tmp_path), 2)
    assert [os.path.basename(p) for p in paths] == ["0.wav", "1.wav"]
    spectral = {"spectral": ("log_mel", "mfcc", "mean_mfcc")}
    rows = feature_cost.measure(paths, spectral, batch_size=2)
    assert [row["stage"] for row in rows] == [
        "decode",
        "prepare (mono, 22,050 Hz, 5 s)",
        "spectral",
    ]
    assert all(row["clips"] == 2 and row["cpu_ms_per_clip"] > 0 for row in rows)
    assert "| spectral | 2 |" in feature_cost.markdown(rows)


def test_the_report_holds_every_table(run_dir):
    results = {
        "date": "2026-12-07 05:00 UTC",
        "command": "benchmarks/quality.py --data-root ...",
        "cores": 2,
        "load_average_at_start": 3.0,
        "preset": "quality",
        "data": quality.data_summary(str(run_dir)),
        **quality.model_scores(str(run_dir / "evaluation")),
        "served": {
            "deployment": {"deployed": True, "model": "good", "version": 3},
            "served_macro_f1": 0.9,
            "max_abs_diff": 1e-7,
            "same_class": 20,
            "test_clips": 20,
        },  # fmt: skip
        "tasks": [{"task": "ingest", "seconds": 30.0, "cpu_seconds": 12.0, "reused": True}],
        "esc50_probe": None,
        "feature_cost": [{"stage": "decode", "clips": 2, "cpu_ms_per_clip": 1.0, "clips_per_s": 9}],
    }
    text = quality.markdown(results)
    assert "| good | " in text and "| weak | " in text
    assert "Deployed: good (version 3" in text and "same class for 20 of 20" in text
    assert "| ingest | 30 | 12 | reused from the cache |" in text
    assert "| decode | 2 | 1.0 | 9 |" in text
    results["served"] = {"deployment": {"deployed": False, "reasons": ["not blessed"]}}
    assert "Deployed: nothing (not blessed)." in quality.markdown(results)


def test_the_quality_preset_is_the_default_and_params_override_it():
    args = quality.parse_args(["--data-root", "a", "--param", "epochs=1"])
    assert args.preset == "quality" and args.output == "runs/quality"
    assert presets.arguments(args)["epochs"] == 1
    assert (
        presets.arguments(args)["target_per_class"] == presets.QUALITY_ARGUMENTS["target_per_class"]
    )
    assert quality.spread(list(range(10)), 3) == [0, 3, 6] and quality.spread([1], 3) == [1]
