"""Benchmark: train every model of the study on demo-sized data and print measured times and F1.

Runs the real steps in one process: (demo dataset → ingest, unless ``--manifest`` is given) →
rebalance (``--target-per-class``, default the demo's 60) → featurize (or an existing featurize
output, ``--examples``, e.g. to compare training recipes on one dataset) → each Keras family in its
seed and tuned configuration (demo budgets and the demo's per-family overrides unless given) →
the three scikit-learn baselines. Prints one table with, per model, epochs trained, seconds per
epoch, training examples per second, training and tuning seconds, wall seconds and test
macro-F1, then the tuned-minus-seed macro-F1 per family and the majority-class reference every
model should beat. Then the input pipeline alone (``components.train.data``: parallel shard
reads, parallel parsing, prefetch) per feature, in training examples per second: streamed from
the TFRecords, and from the in-memory cache of decoded examples (``cache_examples``; its second
epoch), beside the slowest training step rate of the families reading that feature: the input
keeps an accelerator fed while its rate stays well above the step rate there.
``--input-only`` measures the input pipeline and skips training.

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
from components.train import data
from components.train.config import DEMO_FAMILY_OVERRIDES, FAMILIES
from components.train.config import PRESETS as TRAIN_PRESETS
from components.train.model import FEATURE_OF


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


def input_rate(examples: str, feature: str, batch_size: int, cache: bool) -> float:
    """Training examples per second through ``data.dataset`` (the cache's second epoch)."""
    batches = data.dataset(examples, "train", feature, batch_size, shuffle=True, cache=cache)
    for _ in range(2 if cache else 1):
        started, count = time.perf_counter(), 0
        for x, _ in batches:
            count += int(x.shape[0])
        seconds = time.perf_counter() - started
    return count / seconds


def print_input_rates(examples: str, batch_size: int, step_rates: dict[str, float]) -> None:
    """The input pipeline's rate per feature, beside the slowest training step rate on it."""
    print("\n| feature | input ex/s (streamed) | input ex/s (cached) | slowest training ex/s |")
    print("|---|---:|---:|---:|")
    for feature in sorted(set(FEATURE_OF.values())):
        streamed = input_rate(examples, feature, batch_size, cache=False)
        cached = input_rate(examples, feature, batch_size, cache=True)
        rates = [rate for family, rate in step_rates.items() if FEATURE_OF[family] == feature]
        slowest = f"{min(rates):.0f}" if rates else "-"
        print(f"| {feature} | {streamed:.0f} | {cached:.0f} | {slowest} |")


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
    parser.add_argument("--input-only", action="store_true", help="input pipeline rates only")
    args = parser.parse_args()

    started = time.perf_counter()
    examples = args.examples or prepare(args)
    print(f"data: {examples}; {time.perf_counter() - started:.1f} s to prepare")
    if args.input_only:
        print_input_rates(examples, args.batch_size, {})
        return
    train_examples = int(data.class_counts(examples).sum())

    rows, f1, step_rates = [], {}, {}
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
            rate = train_examples / result.seconds_per_epoch
            step_rates[family] = min(rate, step_rates.get(family, rate))
            rows.append(
                (
                    result.name,
                    result.epochs_trained,
                    result.seconds_per_epoch,
                    rate,
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
        rows.append((name, 0, 0.0, 0.0, result.training_seconds, 0.0, wall, f1[name]))

    print(
        "\n| model | epochs | s/epoch | train ex/s | training s | tuning s | wall s "
        "| test macro-F1 |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, epochs, per_epoch, rate, training, tuning, wall, score in rows:
        epochs_text = str(epochs) if epochs else "-"
        per_epoch_text = f"{per_epoch:.2f}" if epochs else "-"
        rate_text = f"{rate:.0f}" if epochs else "-"
        print(
            f"| {name} | {epochs_text} | {per_epoch_text} | {rate_text} | {training:.1f} | "
            f"{tuning:.1f} | {wall:.1f} | {score:.3f} |"
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
    print_input_rates(examples, args.batch_size, step_rates)
    print(f"\ntotal wall: {time.perf_counter() - started:.1f} s on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
