"""Alternated rounds: comparing two paths on a machine whose speed drifts.

This shared VM's core moves by a third within minutes, so two rates measured one after the other
can differ by more than the paths do. A benchmark that compares paths runs each of them once per
round, in turn, for several rounds, and reads the comparison as the median of each round's own
ratio (printed with every round's value, so the spread is visible), never as a ratio of figures
taken at different times.
"""

from collections.abc import Callable
from typing import TypeVar

import numpy as np

Result = TypeVar("Result")


def alternated(paths: dict[str, Callable[[], Result]], rounds: int) -> list[dict[str, Result]]:
    """Each of ``paths`` (``name: measure``) once per round, in turn: every round's results."""
    return [{name: measure() for name, measure in paths.items()} for _ in range(rounds)]


def median_ratio(per_round: list[dict], numerator: str, denominator: str) -> str:
    """The median of each round's ``numerator / denominator`` rate, and every round's."""
    ratios = [done[numerator] / done[denominator] for done in per_round]
    return f"{np.median(ratios):.2f}x (rounds: {', '.join(f'{r:.2f}' for r in ratios)})"
