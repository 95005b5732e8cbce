"""Benchmark: the pipeline's quality on real audio, printed from one run of the pipeline itself.

    python benchmarks/quality.py --data-root DIR --data-format FORMAT [--data-root ... ...]
        [--output runs/quality] [--param K=V]... [--no-cache] [--esc50 DIR] [--cost-clips N]

1. Runs the training pipeline — ``pipelines.local.run_training``, what ``household-sounds run
   --preset quality`` does — on the data roots (several are merged by ingest, by source
   recording) into ``--output``, with the ``quality`` preset's budget (``pipelines/presets.py``);
   ``--param`` overrides any pipeline parameter (``families``, ``tuned_families`` and
   ``baseline_models`` leave models out). Rerunning the same command reuses every task
   kfp.local's cache holds, so a run stopped half-way resumes at the task that stopped
   (``--no-cache`` reruns them all); evaluate and deploy always run.
2. Reads the run: evaluate's ``metrics.json`` and ``slices.json`` (per model the test macro-F1
   with its percentile bootstrap interval, accuracy and per-class F1; the majority-class
   reference; classes without test clips; the best model by dataset), ingest's label report (the
   data roots, their notes, the clips moved because two datasets share a recording) and each
   task's wall and CPU seconds (``tasks.jsonl``, ``pipelines.task_times``: a task reused from the
   cache shows the times of the run that computed it).
3. Serves every test clip's WAV file through the version deploy published (its SavedModel's
   ``serving_default``): the served macro-F1 and the agreement with that model's pipeline
   predictions.
4. The frozen 50-class ESC-50 probe, YAMNet against mn04 (``esc50_probe``), on ``--esc50``
   (default: the first ``esc50`` data root).
5. What featurize costs per clip for each feature set (``feature_cost``), on ``--cost-clips``
   of the run's clips spread over the manifest.

Prints it all as Markdown and writes ``quality.md`` and ``quality.json`` into ``--output``. CPU
seconds are the comparable figure on a shared machine; wall seconds are not. The budget's
rationale and the measured runs are in docs/quality.md.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import esc50_probe, feature_cost  # noqa: E402
from cli import data_roots  # noqa: E402
from components.artifacts.names import (  # noqa: E402
    BLESSING_FILE,
    LABEL_REPORT_FILE,
    MANIFEST_FILE,
    METRICS_FILE,
    SLICES_FILE,
)
from components.audio.labels import CLASS_NAMES  # noqa: E402
from components.ingest.merge import MERGE_REASON_PREFIX  # noqa: E402
from pipelines import local, presets, task_times  # noqa: E402


def _json(path: str):
    with open(path) as handle:
        return json.load(handle)


def _manifest(run_dir: str) -> list[dict]:
    with open(os.path.join(run_dir, "manifest", MANIFEST_FILE)) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def model_scores(evaluation_dir: str) -> dict:
    """Every model's test scores with the ``overall`` slice's interval and its scores by dataset.

    Returns:
        ``{"models": name → metrics.json entry + macro_f1_ci + by_dataset, "ranking",
        "blessed", "majority_class"}``.
    """
    metrics = _json(os.path.join(evaluation_dir, METRICS_FILE))
    slices = _json(os.path.join(evaluation_dir, SLICES_FILE))
    blessing = _json(os.path.join(evaluation_dir, BLESSING_FILE))
    models = metrics["models"]
    for name, entry in models.items():
        mine = [s for s in slices if s["model"] == name]
        overall = next(s for s in mine if s["feature"] == "overall")
        entry["macro_f1_ci"] = [overall["macro_f1_ci_low"], overall["macro_f1_ci_high"]]
        entry["by_dataset"] = {
            s["value"]: {"n": s["size"], "macro_f1": s["macro_f1"], "accuracy": s["accuracy"]}
            for s in mine
            if s["feature"] == "dataset"
        }
    return {
        "models": models,
        "ranking": blessing["ranking"],
        "blessed": blessing["blessed"],
        "majority_class": metrics["majority_class"],
    }


def data_summary(run_dir: str) -> dict:
    """Ingest's data roots, their notes and the clips moved because datasets share a recording."""
    report = _json(os.path.join(run_dir, "manifest", LABEL_REPORT_FILE))
    moved = report["reassignments"]["by_reason"]
    return {
        "datasets": report.get("datasets", []),
        "taxonomy": report["taxonomy"]["name"],
        "notes": report["notes"],
        "clips_per_split": {
            split: sum(counts.values())
            for split, counts in report["class_counts"].items()
            if split != "all"
        },
        "moved_shared_recordings": sum(
            count for reason, count in moved.items() if reason.startswith(MERGE_REASON_PREFIX)
        ),
    }


def task_rows(run_dir: str, published: dict[str, str], kfp_run_dir: str) -> list[dict]:
    """Wall and CPU seconds of the task behind every published output, in pipeline order.

    A task whose folder is not under this run's ``kfp_run_dir`` was reused from the cache
    (``reused``); a task the ledger does not know (run before it existed) has no times.
    """
    ledger = task_times.read(run_dir)
    folders = list(dict.fromkeys(os.path.dirname(path) for path in published.values()))
    rows = []
    for folder in folders:
        line = ledger.get(folder, {"task": os.path.basename(folder)})
        reused = not folder.startswith(kfp_run_dir + os.sep)
        rows.append({**line, "folder": folder, "reused": reused})
    return sorted(rows, key=lambda row: row.get("started", float("inf")))


def agreement(served: np.ndarray, predictions) -> dict:
    """Served probabilities against the pipeline's test predictions of the same model."""
    from sklearn.metrics import f1_score

    present = sorted(set(predictions.labels.tolist()))
    return {
        "test_clips": len(served),
        "max_abs_diff": float(np.abs(served - predictions.probabilities).max()),
        "same_class": int((served.argmax(1) == predictions.probabilities.argmax(1)).sum()),
        "served_macro_f1": float(
            f1_score(predictions.labels, served.argmax(1), labels=present, average="macro")
        ),
    }


def serve_test_split(run_dir: str) -> dict:
    """Every test clip's WAV file through the SavedModel deploy published, against the pipeline.

    Returns:
        The deployment (``deployment.json``) and, if a version was published, ``agreement``'s
        figures for the model it holds.
    """
    deployment = _json(os.path.join(run_dir, "deployment"))
    if not deployment["deployed"]:
        return {"deployment": deployment}
    import tensorflow as tf

    from components.artifacts.model_files import read_predictions
    from components.artifacts.signature import DEFAULT_SIGNATURE

    signature = tf.saved_model.load(deployment["uri"]).signatures[DEFAULT_SIGNATURE]
    model_dir = os.path.join(run_dir, "models", deployment["model"])
    predictions = read_predictions(model_dir, "test")
    uri_of = {clip["clip_id"]: clip["uri"] for clip in _manifest(run_dir)}
    served = []
    for clip_id in predictions.clip_ids:
        with open(uri_of[clip_id], "rb") as handle:
            wav = tf.constant([handle.read()])
        served.append(signature(audio_wav=wav)["probabilities"].numpy()[0])
    return {"deployment": deployment, **agreement(np.array(served), predictions)}


def spread(items: list, count: int) -> list:
    """``count`` items evenly spaced over ``items`` (all of them if fewer)."""
    if len(items) <= count:
        return list(items)
    return [items[int(index * len(items) / count)] for index in range(count)]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data_roots.add_flags(parser)
    presets.add_flags(parser)
    parser.set_defaults(preset="quality")
    parser.add_argument("--output", default="runs/quality", help="the run directory")
    help = "rerun every task (default: reuse what an earlier run into --output finished)"
    parser.add_argument("--no-cache", dest="cache", action="store_false", help=help)
    parser.add_argument("--esc50", default="", help="ESC-50 copy for the frozen probe")
    parser.add_argument("--cost-clips", type=int, default=256, help="clips for featurize's cost")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> dict:
    """Runs the pipeline, then every measurement; returns the results (``quality.json``)."""
    roots = data_roots.parse(args)
    started, load = time.time(), os.getloadavg()[0]
    done = local.run_training(roots, args.output, presets.arguments(args), args.cache)
    run_dir = done.run_dir
    esc50 = args.esc50 or next((r.root for r in roots if r.data_format == "esc50"), "")
    uris = sorted(clip["uri"] for clip in _manifest(run_dir))
    scores = model_scores(os.path.join(run_dir, "evaluation"))
    # the run's own tasks: publish also links models an earlier run into --output trained
    published = {
        name: path
        for name, path in done.published.items()
        if not name.startswith("models/") or name.removeprefix("models/") in scores["models"]
    }
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "command": " ".join(sys.argv),
        "cores": os.cpu_count(),
        "load_average_at_start": load,
        "preset": args.preset,
        "arguments": _json(os.path.join(run_dir, local.RUN_FILE))["arguments"],
        "pipeline_seconds": done.seconds,
        "data": data_summary(run_dir),
        **scores,
        "served": serve_test_split(run_dir),
        "tasks": task_rows(run_dir, published, done.kfp_run_dir),
        "esc50_probe": esc50_probe.run(esc50) if esc50 else None,
        "feature_cost": feature_cost.measure(spread(uris, args.cost_clips)),
    }


def _models_table(results: dict) -> list[str]:
    models, ranking = results["models"], results["ranking"]
    absent = models[ranking[0]]["absent_classes"]
    present = [name for name in CLASS_NAMES if name not in absent]
    lines = [
        "| model | test macro-F1 [95% bootstrap CI] | accuracy | " + " | ".join(present) + " |",
        "|---|---|---:|" + "---:|" * len(present),
    ]
    for name in ranking:
        entry = models[name]
        low, high = entry["macro_f1_ci"]
        cells = " | ".join(f"{entry['per_class_f1'][c]:.2f}" for c in present)
        lines.append(
            f"| {name} | {entry['macro_f1']:.3f} [{low:.3f}, {high:.3f}] | "
            f"{entry['accuracy']:.3f} | {cells} |"
        )
    majority = results["majority_class"]
    lines += [
        "",
        f"Majority-class reference (always `{majority['class']}`): macro-F1 "
        f"{majority['macro_f1']:.3f}, accuracy {majority['accuracy']:.3f}. Macro averages over "
        f"the {len(present)} classes with test clips"
        + (f"; no test clip: {', '.join(absent)}." if absent else "."),
        "",
        "Best model by dataset: "
        + ", ".join(
            f"{value} {scores['macro_f1']:.3f} (n={scores['n']})"
            for value, scores in models[ranking[0]]["by_dataset"].items()
        ),
    ]
    return lines


def _served_line(results: dict) -> str:
    served, deployment = results["served"], results["served"]["deployment"]
    if not deployment["deployed"]:
        return f"Deployed: nothing ({'; '.join(deployment['reasons'])})."
    return (
        f"Deployed: {deployment['model']} (version {deployment['version']}, "
        f"{'blessed' if results['blessed'] else 'not blessed'}; the best model: "
        f"{results['ranking'][0]}), served from its WAV files through the published SavedModel: "
        f"test macro-F1 {served['served_macro_f1']:.3f}, max |served - pipeline| "
        f"{served['max_abs_diff']:.1e}, same class for {served['same_class']} of "
        f"{served['test_clips']} clips."
    )


def _tasks_table(results: dict) -> list[str]:
    lines = ["| task | wall s | CPU s | |", "|---|---:|---:|---|"]
    for row in results["tasks"]:
        if "seconds" not in row:
            lines.append(f"| {row['task']} | | | not timed |")
            continue
        when = "reused from the cache" if row["reused"] else ""
        seconds = f"{row['seconds']:.0f} | {row['cpu_seconds']:.0f}"
        lines.append(f"| {row['task']} | {seconds} | {when} |")
    timed = [row for row in results["tasks"] if "seconds" in row]
    lines.append(
        f"| total | {sum(r['seconds'] for r in timed):.0f} | "
        f"{sum(r['cpu_seconds'] for r in timed):.0f} | tasks overlap: wall is not additive |"
    )
    return lines


def markdown(results: dict) -> str:
    """The results as Markdown."""
    data = results["data"]
    roots = ", ".join(
        f"{d['data_root']} ({d['data_format']}, {d['clips']} clips)" for d in data["datasets"]
    )
    lines = [
        f"Quality run of {results['date']}, preset `{results['preset']}`, {results['cores']} "
        f"cores (load average {results['load_average_at_start']:.1f} at the start): `"
        f"{results['command']}`",
        "",
        f"Data: {roots}; taxonomy `{data['taxonomy']}`; clips per split "
        f"{data['clips_per_split']}; clips moved because two datasets share their recording: "
        f"{data['moved_shared_recordings']}.",
        *(f"Note: {note}" for note in data["notes"]),
        "",
        *_models_table(results),
        "",
        _served_line(results),
        "",
        *_tasks_table(results),
        "",
    ]
    if results["esc50_probe"]:
        lines.append(esc50_probe.markdown(results["esc50_probe"]))
    lines += ["Featurize's cost per clip:", "", feature_cost.markdown(results["feature_cost"])]
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    results = run(args)
    text = markdown(results)
    with open(os.path.join(args.output, "quality.json"), "w") as handle:
        json.dump(results, handle, indent=2)
    with open(os.path.join(args.output, "quality.md"), "w") as handle:
        handle.write(text)
    print(text)


if __name__ == "__main__":
    main()
