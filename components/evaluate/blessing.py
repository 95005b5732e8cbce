"""The blessing: may the best model be deployed?

The best model is the one with the highest test macro-F1 (ties: higher accuracy, then name),
averaged over the classes present in the test split (the first reason names any absent one).
It is blessed only if every check passes: its macro-F1 reaches ``min_macro_f1``; the macro-F1 of
its worst *significant* slice (from worst-slice discovery) reaches ``min_worst_slice_f1`` — when
no slice is significantly worse, that check passes and the reasons say so; and, when a previous
deployment's ``metrics.json`` is given, its macro-F1 is not below that model's by more than
``baseline_tolerance``. Every check writes one human-readable reason; deploy reads the decision
(``blessing.json``: ``blessed``, ``model``, ``ranking``...).
"""

from dataclasses import dataclass

from components.audio.labels import NUM_CLASSES


@dataclass(frozen=True)
class BlessingPolicy:
    """Thresholds of the blessing.

    Attributes:
        min_macro_f1: Lowest acceptable test macro-F1 of the best model.
        min_worst_slice_f1: Lowest acceptable macro-F1 of its worst significant slice.
        baseline_tolerance: How far below a previous deployment's macro-F1 is still accepted.
    """

    min_macro_f1: float
    min_worst_slice_f1: float
    baseline_tolerance: float = 0.0


def rank(models: dict[str, dict]) -> list[str]:
    """Model names, best first: by test macro-F1, then accuracy, then name."""
    return sorted(
        models, key=lambda name: (-models[name]["macro_f1"], -models[name]["accuracy"], name)
    )


def decide(
    models: dict[str, dict],
    significant_slices: list[dict],
    policy: BlessingPolicy,
    baseline: dict | None = None,
) -> dict:
    """Decides whether the best model is blessed.

    Args:
        models: ``metrics.json``'s ``models`` (name → metrics entry).
        significant_slices: The best model's significant discovery entries (``macro_f1``...).
        policy: Thresholds.
        baseline: A previous deployment's ``metrics.json``, or None.

    Returns:
        ``{"blessed", "model", "best_model", "reasons", "ranking", "checks", "worst_slice",
        "baseline_macro_f1"}``.
    """
    ranking = rank(models)
    best = ranking[0]
    f1 = models[best]["macro_f1"]
    absent = models[best].get("absent_classes", [])
    over = ""
    if absent:
        over = f" over the {NUM_CLASSES - len(absent)} classes in the test split; absent: "
        over += ", ".join(absent)
    reasons = [f"{best} has the best test macro-F1 ({f1:.3f}{over}) of {len(models)} models"]
    checks = {"macro_f1": f1 >= policy.min_macro_f1}
    reasons.append(
        f"macro-F1 {f1:.3f} {'>=' if checks['macro_f1'] else '<'} "
        f"min_macro_f1 {policy.min_macro_f1}"
    )
    worst = min(significant_slices, key=lambda entry: entry["macro_f1"], default=None)
    if worst is None:
        checks["worst_slice_f1"] = True
        reasons.append(
            "no slice is significantly worse than the rest of the test split, "
            "so the worst-slice check passes"
        )
    else:
        checks["worst_slice_f1"] = worst["macro_f1"] >= policy.min_worst_slice_f1
        reasons.append(
            f"worst significant slice {worst['feature']}={worst['value']} "
            f"(n={worst['size']}, accuracy {worst['accuracy']:.3f} vs {worst['accuracy_rest']:.3f} "
            f"elsewhere, q={worst['q_value']:.3g}) has macro-F1 {worst['macro_f1']:.3f} "
            f"{'>=' if checks['worst_slice_f1'] else '<'} min_worst_slice_f1 "
            f"{policy.min_worst_slice_f1}"
        )
    baseline_f1 = None
    if baseline is not None:
        baseline_f1 = baseline["models"][baseline["best_model"]]["macro_f1"]
        checks["baseline"] = f1 >= baseline_f1 - policy.baseline_tolerance
        reasons.append(
            f"macro-F1 {f1:.3f} {'is not' if checks['baseline'] else 'is'} worse than the "
            f"deployed {baseline['best_model']} ({baseline_f1:.3f}, tolerance "
            f"{policy.baseline_tolerance})"
        )
    return {
        "blessed": all(checks.values()),
        "model": best,
        "best_model": best,
        "reasons": reasons,
        "ranking": ranking,
        "checks": checks,
        "worst_slice": worst,
        "baseline_macro_f1": baseline_f1,
    }
