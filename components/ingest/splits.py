"""Seeded, grouped, class-stratified train/validation/test assignment; no source spans two splits.

Clips arrive with a ``source_id`` (uploader, ESC-50 source recording...), a class, and either a
split the layout fixes (FSD50K dev → train, ESC-50 folds, a manifest's ``split`` column) or none.
First, every source group that has fixed clips is pulled whole into the earliest of their splits
in ``train → validation → test`` order; each clip that moves (an FSD50K eval clip whose uploader
also uploaded dev clips, say) is recorded as a ``Reassignment``. The remaining groups (the pool)
are sorted, shuffled with the seed and dealt whole, stratified by class: first, rarest class
first, each class gets one of its groups (the purest, then the smallest) in every pool split that
lacks it, in ``train → test → validation`` order, so a class with at least as many sources as
there are pool splits appears in all of them (with fewer, train and then test come first); then
each remaining group goes to the split whose per-class shares are furthest below their targets,
weighted by the group's clips of each class (ties: the split furthest below its size target).
With one class this is the plain grouped deal. The same clips, classes and seed always give the
same splits.
"""

import random
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from components.artifacts.names import SPLITS, TEST, TRAIN, VALIDATION
from components.ingest.readers import SourceClip

# Which pool split a class with few sources reaches first: training needs it, then measuring it.
COVERAGE_ORDER: tuple[str, ...] = (TRAIN, TEST, VALIDATION)


@dataclass(frozen=True, kw_only=True)
class Reassignment:
    """A clip moved away from the split its layout asked for, so its source stays in one split.

    Attributes:
        clip_id: The moved clip.
        source_id: Its group.
        origin: Where the dataset put it (e.g. ``eval``, ``fold4``).
        requested: The split the layout asked for, or ``pool`` for the seeded split.
        split: Where it went.
        reason: Why, e.g. ``source_in_train``.
    """

    clip_id: str
    source_id: str
    origin: str
    requested: str
    split: str
    reason: str


def assign(
    clips: Sequence[SourceClip],
    labels: Mapping[str, str],
    pool_fractions: dict[str, float],
    seed: int,
) -> tuple[dict[str, str], list[Reassignment]]:
    """Assigns every clip a split, keeping each ``source_id`` within one split.

    Args:
        clips: Clips with unique ids.
        labels: ``clip_id → class`` of every clip; the pool is stratified by it.
        pool_fractions: Target share per split for clips whose layout fixes none, e.g.
            ``{"validation": 0.5, "test": 0.5}``; shares are normalised to sum to one.
        seed: Seed of the group shuffle.

    Returns:
        ``clip_id → split`` and the clips moved to keep their source in one split.

    Raises:
        ValueError: If some clips need the seeded split and ``pool_fractions`` has no positive
            share or names an unknown split.
    """
    groups: dict[str, list[SourceClip]] = defaultdict(list)
    for clip in clips:
        groups[clip.source_id].append(clip)
    splits: dict[str, str] = {}
    moved: list[Reassignment] = []
    pooled: list[str] = []
    for source_id, members in groups.items():
        fixed = {clip.split for clip in members if clip.split}
        if not fixed:
            pooled.append(source_id)
            continue
        target = min(fixed, key=SPLITS.index)
        for clip in members:
            splits[clip.clip_id] = target
            if clip.split != target:
                moved.append(
                    Reassignment(
                        clip_id=clip.clip_id,
                        source_id=source_id,
                        origin=clip.origin,
                        requested=clip.split or "pool",
                        split=target,
                        reason=f"source_in_{target}",
                    )
                )
    if pooled:
        classes = {
            source_id: Counter(labels[clip.clip_id] for clip in groups[source_id])
            for source_id in pooled
        }
        for source_id, split in _deal(pooled, classes, pool_fractions, seed).items():
            for clip in groups[source_id]:
                splits[clip.clip_id] = split
    return splits, moved


def _deal(
    source_ids: list[str],
    classes: dict[str, Counter[str]],
    pool_fractions: dict[str, float],
    seed: int,
) -> dict[str, str]:
    """Deals whole groups (``source_id → clips per class``) to the pool splits, stratified."""
    unknown = set(pool_fractions) - set(SPLITS)
    total_share = sum(share for share in pool_fractions.values() if share > 0)
    if unknown or total_share <= 0:
        raise ValueError(f"pool fractions {pool_fractions} must give splits {SPLITS} a share")
    order = sorted(source_ids)
    random.Random(seed).shuffle(order)
    shares = {
        split: pool_fractions[split] / total_share
        for split in SPLITS
        if pool_fractions.get(split, 0.0) > 0
    }
    totals: Counter[str] = sum(classes.values(), Counter())
    size = sum(totals.values())
    counts: dict[str, Counter[str]] = {split: Counter() for split in shares}
    dealt: dict[str, str] = {}

    def place(source_id: str, split: str) -> None:
        dealt[source_id] = split
        counts[split].update(classes[source_id])

    def deficit(source_id: str, split: str) -> tuple[float, float]:
        by_class = sum(
            clips * (shares[split] - counts[split][name] / totals[name])
            for name, clips in classes[source_id].items()
        )
        return by_class, shares[split] * size - sum(counts[split].values())

    sources_of: dict[str, list[str]] = {name: [] for name in totals}
    for source_id in order:
        for name in classes[source_id]:
            sources_of[name].append(source_id)
    for name in sorted(totals, key=lambda name: (len(sources_of[name]), name)):
        candidates = sorted(
            (source_id for source_id in sources_of[name] if source_id not in dealt),
            key=lambda source_id: (
                -classes[source_id][name] / sum(classes[source_id].values()),
                sum(classes[source_id].values()),
            ),
        )
        lacking = [split for split in COVERAGE_ORDER if split in shares and not counts[split][name]]
        for source_id, split in zip(candidates, lacking, strict=False):
            place(source_id, split)
    for source_id in order:
        if source_id not in dealt:
            place(source_id, max(shares, key=lambda split: deficit(source_id, split)))
    return dealt
