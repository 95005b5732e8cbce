"""Benchmark: train every model of the study on demo-sized data and print measured times and F1.

Runs the real steps in one process: (demo dataset → ingest, unless ``--manifest`` is given) →
rebalance (``--target-per-class``, default the demo's 60) → featurize (or an existing featurize
output, ``--examples``, e.g. to compare training recipes on one dataset) → each Keras family in its
seed and tuned configuration (demo budgets and the demo's per-family overrides unless given) →
the three scikit-learn baselines. Prints one table with, per model, epochs trained, seconds per
epoch, training and tuning seconds, wall seconds and test macro-F1, then the tuned-minus-seed
macro-F1 per family and the majority-class reference every model should beat.

    python benchmarks/train.py --work /tmp/bench [--manifest DIR/manifest.jsonl | --examples DIR]
"""

import argparse
import json
import os
import time

from components.artifacts.model_files import read_predictions
from components.artifacts.names import MANIFEST_FILE
from components.baselines import core as baselines
from components.baselines.config import PRESETS as BASELINES_PRESETS
from components.evaluate import metrics
from components.featurize import core as featurize
from components.rebalance import core as rebalance
from components.rebalance.config import PRESETS as REBALANCE_PRESETS
from components.train import core as train
from components.train.config import DEMO_FAMILY_OVERRIDES, FAMILIES
from components.train.config import PRESETS as TRAIN_PRESETS


def demo_manifest(work: str) -> str:
    """Generates the embedded demo dataset and ingests it; returns the manifest path."""
    from components.ingest import core as ingest
    from demo_data.dataset import DemoConfig, generate

    data_root = os.path.join(work, "demo_data")
    generate(data_root, DemoConfig())
    ingest.run(data_root, os.path.join(work, "ingest"), ingest.IngestConfig(data_format="fsd50k"))
    return os.path.join(work, "ingest", MANIFEST_FILE)


def prepare(args: argparse.Namespace) -> str:
    """Rebalances and featurizes the manifest (default: the demo's); returns the examples dir."""
    manifest = args.manifest or demo_manifest(args.work)
    balanced = rebalance.run(
        manifest,
        os.path.join(args.work, "rebalance"),
        rebalance.RebalanceConfig(target_per_class=args.target_per_class),
    )
    examples = os.path.join(args.work, "featurize")
    featurized = featurize.run(balanced.manifest_path, examples, featurize.FeaturizeConfig())
    print(f"clips per split: {featurized.clips_per_split}")
    return examples


def test_macro_f1(model_dir: str) -> float:
    test = read_predictions(model_dir, "test")
    return metrics.classification_metrics(test.labels, test.predicted)["macro_f1"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="runs/benchmark-train", help="scratch directory")
    parser.add_argument("--manifest", default="", help="ingest manifest (default: demo data)")
    parser.add_argument(
        "--examples", default="", help="an existing featurize output: skips rebalance+featurize"
    )
    demo = {**REBALANCE_PRESETS["demo"], **TRAIN_PRESETS["demo"], **BASELINES_PRESETS["demo"]}
    parser.add_argument("--target-per-class", type=int, default=demo["target_per_class"])
    parser.add_argument("--epochs", type=int, default=demo["epochs"])
    parser.add_argument("--max-trials", type=int, default=demo["max_trials"])
    parser.add_argument("--batch-size", type=int, default=demo["batch_size"])
    parser.add_argument("--n-iter", type=int, default=demo["n_iter"])
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument(
        "--family-overrides",
        default=json.dumps(DEMO_FAMILY_OVERRIDES),
        help="JSON, as the pipeline parameter (default: the demo's)",
    )
    args = parser.parse_args()

    started = time.perf_counter()
    examples = args.examples or prepare(args)
    print(f"data: {examples}; {time.perf_counter() - started:.1f} s to prepare")

    rows, f1 = [], {}
    for family in args.families.split(","):
        for tuned in (False, True):
            config = train.TrainConfig(
                family,
                epochs=args.epochs,
                batch_size=args.batch_size,
                tuned=tuned,
                max_trials=args.max_trials,
            ).with_overrides(json.loads(args.family_overrides))
            wall = time.perf_counter()
            result = train.run(examples, os.path.join(args.work, "models", config.name), config)
            wall = time.perf_counter() - wall
            f1[result.name] = test_macro_f1(result.model_dir)
            rows.append(
                (
                    result.name,
                    result.epochs_trained,
                    result.seconds_per_epoch,
                    result.training_seconds,
                    result.tuning_seconds,
                    wall,
                    f1[result.name],
                )
            )
    for name in baselines.MODELS:
        wall = time.perf_counter()
        result = baselines.run(
            examples,
            os.path.join(args.work, "models", name),
            baselines.BaselinesConfig(name, n_iter=args.n_iter),
        )
        wall = time.perf_counter() - wall
        f1[name] = test_macro_f1(result.model_dir)
        rows.append((name, 0, 0.0, result.training_seconds, 0.0, wall, f1[name]))

    print("\n| model | epochs | s/epoch | training s | tuning s | wall s | test macro-F1 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, epochs, per_epoch, training, tuning, wall, score in rows:
        epochs_text = str(epochs) if epochs else "-"
        per_epoch_text = f"{per_epoch:.2f}" if epochs else "-"
        print(
            f"| {name} | {epochs_text} | {per_epoch_text} | {training:.1f} | {tuning:.1f} | "
            f"{wall:.1f} | {score:.3f} |"
        )
    print("\n| family | seed macro-F1 | tuned macro-F1 | tuned - seed |")
    print("|---|---:|---:|---:|")
    for family in args.families.split(","):
        seed, tuned = f1[family], f1[f"{family}_tuned"]
        print(f"| {family} | {seed:.3f} | {tuned:.3f} | {tuned - seed:+.3f} |")
    majority = metrics.majority_class(read_predictions(result.model_dir, "test").labels)
    behind = [name for name, score in f1.items() if score <= majority["macro_f1"]]
    print(
        f"\nmajority class ({majority['class']}): test macro-F1 {majority['macro_f1']:.3f}; "
        f"not beaten by: {', '.join(behind) or 'none'}"
    )
    print(f"\ntotal wall: {time.perf_counter() - started:.1f} s on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
