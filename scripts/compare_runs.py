"""Compare two published local runs of the pipeline: the same outputs, step by step.

``python scripts/compare_runs.py RUN_A RUN_B`` (the project's interpreter; ``make image-demo``
runs it on the demo run in the project image and the one in subprocesses). Checked, each a line
of the JSON it prints: the ingest manifest and the rebalanced one (rows equal); featurize's
feature sets, per split its example count, the order its examples are read in (what the seeded
trainers and baselines see) and every feature set per clip (to ``FEATURE_TOLERANCE``), and its
dead letter; the trained model names; the blessing (candidate, blessed) and what deploy did
(deployed, model, the infra validation passed). The models' test macro-F1 are reported, not
checked (training on two CPUs need not be bit-identical across interpreters). Exit 1 when a
check fails.
"""

import json
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from components.artifacts import shards  # noqa: E402 - scripts/ is not a package
from components.artifacts.names import (  # noqa: E402
    BLESSING_FILE,
    CANDIDATE,
    DEAD_LETTER_FILE,
    MANIFEST_FILE,
    METRICS_FILE,
    SPLITS,
)
from components.audio import examples  # noqa: E402
from components.audio.features import FEATURE_SHAPES  # noqa: E402

FEATURE_TOLERANCE = 1e-4


def rows(path: Path) -> list[dict]:
    """The JSON lines of ``path`` sorted by clip id."""
    lines = path.read_text().splitlines() if path.exists() else []
    return sorted((json.loads(line) for line in lines if line), key=lambda row: row["clip_id"])


def feature_sets(run: Path) -> list[str]:
    """The feature sets featurize recorded for its examples (mean-MFCC for older runs)."""
    return list(shards.feature_sets(str(run / "featurize")) or ("mean_mfcc",))


def features(run: Path, split: str, feature: str) -> dict[str, np.ndarray]:
    """Clip id → one feature set's values, for every example of one split."""
    spec = {key: examples.feature_spec()[key] for key in (examples.CLIP_ID, feature)}

    def parse(batch):
        return tf.io.parse_example(batch, spec)

    values = {}
    for batch in shards.records(str(run / "featurize"), split).batch(256).map(parse):
        for clip_id, x in zip(batch[examples.CLIP_ID].numpy(), batch[feature].numpy(), strict=True):
            values[clip_id.decode()] = x.reshape(FEATURE_SHAPES[feature])
    return values


def clip_ids(run: Path, split: str) -> list[str]:
    """The clip ids of one split in the order ``shards.records`` streams them."""
    spec = {examples.CLIP_ID: examples.feature_spec()[examples.CLIP_ID]}

    def parse(batch):
        return tf.io.parse_example(batch, spec)[examples.CLIP_ID]

    records = shards.records(str(run / "featurize"), split).batch(256).map(parse)
    return [clip_id.decode() for batch in records for clip_id in batch.numpy()]


def feature_gap(a: Path, b: Path, split: str, feature: str) -> float:
    """Largest difference of one feature set over the clips of one split (inf if they differ)."""
    left, right = features(a, split, feature), features(b, split, feature)
    if left.keys() != right.keys():
        return float("inf")
    return max((float(np.abs(left[k] - right[k]).max()) for k in left), default=0.0)


def deployment(run: Path) -> dict:
    """``deployment.json`` of the run (the deploy task's output file)."""
    return json.loads((run / "deployment").read_text())


def compare(a: Path, b: Path) -> list[dict]:
    """One ``{"check", "ok", "a", "b"}`` per comparison."""
    checks = []

    def check(name: str, left, right, ok: bool | None = None) -> None:
        checks.append(
            {"check": name, "ok": left == right if ok is None else ok, "a": left, "b": right}
        )

    for step in ("manifest", "rebalance"):
        left, right = rows(a / step / MANIFEST_FILE), rows(b / step / MANIFEST_FILE)
        check(f"{step} rows", len(left), len(right), ok=bool(left) and left == right)
    sets = [feature_sets(run) for run in (a, b)]
    check("featurize feature sets", *sets)
    for split in SPLITS:
        order = [clip_ids(run, split) for run in (a, b)]
        check(f"featurize {split} examples", *[len(ids) for ids in order])
        # the seeded trainers' and baselines' input order; the first clips stand for it here
        check(
            f"featurize {split} example order", *[ids[:3] for ids in order], ok=order[0] == order[1]
        )
        for feature in (key for key in sets[0] if key in sets[1]):
            gap = feature_gap(a, b, split, feature)
            checks.append(
                {
                    "check": f"featurize {split} {feature} max |diff|",
                    "ok": gap <= FEATURE_TOLERANCE,
                    "a": gap,
                    "b": FEATURE_TOLERANCE,
                }
            )
    check(
        "dead letter clips",
        [row["clip_id"] for row in rows(a / "featurize" / DEAD_LETTER_FILE)],
        [row["clip_id"] for row in rows(b / "featurize" / DEAD_LETTER_FILE)],
    )
    names = [sorted(path.name for path in (run / "models").iterdir()) for run in (a, b)]
    check("models", *names, ok=bool(names[0]) and names[0] == names[1])
    blessings = [json.loads((run / "evaluation" / BLESSING_FILE).read_text()) for run in (a, b)]
    for key in (CANDIDATE, "blessed"):
        check(f"blessing {key}", blessings[0].get(key), blessings[1].get(key))
    deployed = [deployment(run) for run in (a, b)]
    for key in ("deployed", "model"):
        check(f"deployment {key}", deployed[0][key], deployed[1][key])
    passed = [run.get("infra_validation", {}).get("tensorflow") for run in deployed]
    check("infra validation passed (serving TensorFlow)", *passed, ok=all(passed))
    metrics = [json.loads((run / "evaluation" / METRICS_FILE).read_text()) for run in (a, b)]
    scores = [run["models"] for run in metrics]
    gaps = {
        name: round(abs(scores[0][name]["macro_f1"] - scores[1][name]["macro_f1"]), 4)
        for name in scores[0]
        if name in scores[1]
    }
    checks.append(
        {"check": "test macro-F1 |diff| per model (reported)", "ok": True, "a": gaps, "b": None}
    )
    return checks


def main(argv: list[str]) -> int:
    """Prints the checks as JSON; 1 if one failed."""
    if len(argv) != 2:
        print("usage: compare_runs.py RUN_A RUN_B", file=sys.stderr)
        return 2
    checks = compare(Path(argv[0]), Path(argv[1]))
    json.dump(checks, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    failed = [c["check"] for c in checks if not c["ok"]]
    print(
        f"compare_runs: {len(checks) - len(failed)}/{len(checks)} checks equal"
        + (f"; differ: {failed}" if failed else ""),
        file=sys.stderr,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
