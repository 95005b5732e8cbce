"""Seeded, grouped train/validation/test assignment in which no source spans two splits.

Clips arrive with a ``source_id`` (uploader, ESC-50 source recording...) and either a split the
layout fixes (FSD50K dev → train, ESC-50 folds, a manifest's ``split`` column) or none. First,
every source group that has fixed clips is pulled whole into the earliest of their splits in
``train → validation → test`` order; each clip that moves (an FSD50K eval clip whose uploader also
uploaded dev clips, say) is recorded as a ``Reassignment``. Then the remaining groups are shuffled
with the seed (after sorting, so input order does not matter) and dealt, whole, to the split
furthest below its target share of the pool. The same clips and seed always give the same splits.
"""

import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from components.artifacts.names import SPLITS
from components.ingest.readers import SourceClip


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
    clips: Sequence[SourceClip], pool_fractions: dict[str, float], seed: int
) -> tuple[dict[str, str], list[Reassignment]]:
    """Assigns every clip a split, keeping each ``source_id`` within one split.

    Args:
        clips: Clips with unique ids.
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
        for source_id, split in _deal(pooled, groups, pool_fractions, seed).items():
            for clip in groups[source_id]:
                splits[clip.clip_id] = split
    return splits, moved


def _deal(
    source_ids: list[str],
    groups: dict[str, list[SourceClip]],
    pool_fractions: dict[str, float],
    seed: int,
) -> dict[str, str]:
    unknown = set(pool_fractions) - set(SPLITS)
    total_share = sum(share for share in pool_fractions.values() if share > 0)
    if unknown or total_share <= 0:
        raise ValueError(f"pool fractions {pool_fractions} must give splits {SPLITS} a share")
    order = sorted(source_ids)
    random.Random(seed).shuffle(order)
    size = sum(len(groups[source_id]) for source_id in order)
    targets = {
        split: size * pool_fractions.get(split, 0.0) / total_share
        for split in SPLITS
        if pool_fractions.get(split, 0.0) > 0
    }
    counts: Counter[str] = Counter()
    dealt: dict[str, str] = {}
    for source_id in order:
        split = max(targets, key=lambda name: targets[name] - counts[name])
        dealt[source_id] = split
        counts[split] += len(groups[source_id])
    return dealt
