"""Compare two published local runs of the pipeline: the same outputs, step by step.

``python scripts/compare_runs.py RUN_A RUN_B`` (the project's interpreter; ``make image-demo``
runs it on the demo run in the project image and the one in subprocesses). Checked, each a line
of the JSON it prints: the ingest manifest and the rebalanced one (rows equal), featurize's
example counts per split, its dead letter, and its mean-MFCC per clip (to ``FEATURE_TOLERANCE``),
the trained model names, the blessing (model, blessed) and what deploy did (deployed, model,
the infra validation passed). The models' test macro-F1 are reported, not checked (training on
two CPUs need not be bit-identical across interpreters). Exit 1 when a check fails.
"""

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from components.artifacts import shards  # noqa: E402 - scripts/ is not a package
from components.artifacts.names import (  # noqa: E402
    BLESSING_FILE,
    DEAD_LETTER_FILE,
    MANIFEST_FILE,
    METRICS_FILE,
    SPLITS,
)

FEATURE_TOLERANCE = 1e-4


def rows(path: Path) -> list[dict]:
    """The JSON lines of ``path`` sorted by clip id."""
    lines = path.read_text().splitlines() if path.exists() else []
    return sorted((json.loads(line) for line in lines if line), key=lambda row: row["clip_id"])


def features(run: Path, split: str) -> dict[str, np.ndarray]:
    """Clip id → mean-MFCC of one split's examples."""
    arrays = shards.load_arrays(str(run / "featurize"), split, "mean_mfcc")
    return dict(zip(arrays.clip_ids, arrays.x, strict=True))


def feature_gap(a: Path, b: Path, split: str) -> float:
    """Largest mean-MFCC difference over the clips of one split (inf if the clips differ)."""
    left, right = features(a, split), features(b, split)
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
    for split in SPLITS:
        counts = [sum(1 for _ in shards.records(str(run / "featurize"), split)) for run in (a, b)]
        check(f"featurize {split} examples", *counts)
        gap = feature_gap(a, b, split)
        checks.append(
            {
                "check": f"featurize {split} mean_mfcc max |diff|",
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
    for key in ("model", "blessed"):
        check(f"blessing {key}", blessings[0].get(key), blessings[1].get(key))
    deployed = [deployment(run) for run in (a, b)]
    for key in ("deployed", "model"):
        check(f"deployment {key}", deployed[0][key], deployed[1][key])
    passed = [run.get("infra_validation", {}).get("tensorflow") for run in deployed]
    check("infra validation passed (serving TensorFlow)", *passed, ok=all(passed))
    metrics = [
        json.loads((run / "evaluation" / METRICS_FILE).read_text())["models"] for run in (a, b)
    ]
    gaps = {
        name: round(abs(metrics[0][name]["macro_f1"] - metrics[1][name]["macro_f1"]), 4)
        for name in metrics[0]
        if name in metrics[1]
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
