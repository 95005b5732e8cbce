"""The blessing: may the best *exportable* model replace the production model?

Models are ranked by test macro-F1 (ties: higher accuracy, then name), averaged over the
classes present in the test split (the first reason names any absent one). The overall best may be
one deploy cannot export (another framework's, ``components/artifacts/exportable.py``), so the
decision is about the *candidate*: the best exportable model, which is what deploy exports
(``candidate`` in ``blessing.json`` and ``metrics.json``; ``best`` is the overall best, and the
analysis is of the candidate, or of the best when none is exportable: ``subject``). It is
blessed only if
every check passes: a candidate exists; its macro-F1 reaches ``min_macro_f1``; the macro-F1 of
its worst *significant* slice (from worst-slice discovery) reaches ``min_worst_slice_f1`` — when
no slice is significantly worse, that check passes and the reasons say so; and it is not worse
than the production model (``production.py``: the newest version under the model base, scored
through its own serving signature on the same test clips): its macro-F1 on the clips both models
answered may fall below the production model's by at most ``baseline_tolerance``. Without a
model base or a published version there is nothing to compare with and that check passes, saying
so. Every check writes one human-readable reason; deploy reads the decision.
"""

from dataclasses import dataclass

from components.artifacts.names import BEST, CANDIDATE
from components.audio.labels import NUM_CLASSES


@dataclass(frozen=True)
class BlessingPolicy:
    """Thresholds of the blessing.

    Attributes:
        min_macro_f1: Lowest acceptable test macro-F1 of the candidate.
        min_worst_slice_f1: Lowest acceptable macro-F1 of its worst significant slice.
        baseline_tolerance: How far below the production model's macro-F1 (on the same clips)
            the candidate's may be and still be blessed.
    """

    min_macro_f1: float
    min_worst_slice_f1: float
    baseline_tolerance: float = 0.0


def rank(models: dict[str, dict]) -> list[str]:
    """Model names, best first: by test macro-F1, then accuracy, then name."""
    return sorted(
        models, key=lambda name: (-models[name]["macro_f1"], -models[name]["accuracy"], name)
    )


def candidate(models: dict[str, dict]) -> str | None:
    """The best exportable model (entries carry ``exportable``), or None if there is none."""
    return next((name for name in rank(models) if models[name]["exportable"]), None)


def subject(decision: dict) -> str:
    """The model a ``decide`` result is about: the candidate, else (none exportable) the best."""
    return decision[CANDIDATE] or decision[BEST]


def _production_check(
    name: str, production: dict | None, policy: BlessingPolicy
) -> tuple[bool, str]:
    """The comparison with the production model: ``(passed, reason)``."""
    if production is None:
        return True, "no model base given: there is no production model to compare with"
    if production["version"] is None:
        return True, f"{production['reason']}: this is the first deployment"
    served = f"production version {production['version']}"
    if production.get("model"):
        served += f" ({production['model']})"
    if production["n_compared"] == 0:
        return False, (
            f"{served} refused all {production['n_test']} test clips, so {name} cannot be "
            f"shown not to be worse (e.g. {production['rejected'][0]['message']})"
        )
    new, old = production["candidate_macro_f1"], production["production_macro_f1"]
    passed = new >= old - policy.baseline_tolerance
    refused = ""
    if production["n_rejected"]:
        refused = f"; {production['n_rejected']} clips it refused are left out"
    return passed, (
        f"macro-F1 {new:.3f} {'is not' if passed else 'is'} worse than {served}'s {old:.3f} "
        f"on the same {production['n_compared']} test clips through its serving signature "
        f"(tolerance {policy.baseline_tolerance}){refused}"
    )


def decide(
    models: dict[str, dict],
    significant_slices: list[dict],
    policy: BlessingPolicy,
    production: dict | None = None,
) -> dict:
    """Decides whether the candidate (the best exportable model) is blessed.

    Args:
        models: ``metrics.json``'s ``models`` (name → metrics entry with ``exportable`` and,
            when not exportable, ``not_exportable``: why).
        significant_slices: The candidate's significant discovery entries (``macro_f1``...).
        policy: Thresholds.
        production: ``production.compare``'s result; ``{"version": None, "reason": ...}`` when
            the model base holds no version yet; None when no model base was given.

    Returns:
        ``{"blessed", "candidate" (the best exportable model, or None), "best" (the overall
        best), "reasons", "ranking", "checks", "worst_slice", "production"}``.
    """
    ranking = rank(models)
    best = ranking[0]
    deployable = candidate(models)
    name = deployable or best
    f1 = models[name]["macro_f1"]
    top = models[best]["macro_f1"]
    absent = models[best].get("absent_classes", [])
    over = ""
    if absent:
        over = f" over the {NUM_CLASSES - len(absent)} classes in the test split; absent: "
        over += ", ".join(absent)
    reasons = [f"{best} has the best test macro-F1 ({top:.3f}{over}) of {len(models)} models"]
    checks = {"exportable": deployable is not None}
    if deployable is None:
        reasons.append(f"no model can be exported: {models[best].get('not_exportable', '')}")
    elif deployable != best:
        reasons.append(
            f"{best} cannot be exported ({models[best].get('not_exportable', '')}); the "
            f"candidate is {deployable}, the best exportable model (rank "
            f"{ranking.index(deployable) + 1}, macro-F1 {f1:.3f})"
        )
    checks["macro_f1"] = f1 >= policy.min_macro_f1
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
    if deployable is not None:  # with nothing exportable there is nothing to compare
        checks["production"], reason = _production_check(name, production, policy)
        reasons.append(reason)
    return {
        "blessed": all(checks.values()),
        CANDIDATE: deployable,
        BEST: best,
        "reasons": reasons,
        "ranking": ranking,
        "checks": checks,
        "worst_slice": worst,
        "production": production,
    }
