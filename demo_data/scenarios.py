"""The demo dataset's scenario table, read from ``scenarios.json`` (data, not code).

A scenario pairs free-form Freesound-style metadata (tags, a title, a description phrase, the
official AudioSet labels FSD50K would list) with a synthesizer from ``sounds`` and the class the
seed taxonomy gives those tags (``label``, checked by a unit test). The file also holds the class
shares (the imbalance, shaped like the seed's), the neutral tags uploaders pad their lists with
and the AudioSet vocabulary (label → mid, each written once). ``load`` validates the table and
fails with a message naming the file and the problem; what each entry means, including the seed
rule's failure modes the table deliberately contains, is the file's ``description``.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from components.audio.labels import CLASS_NAMES
from demo_data.sounds import SYNTHS

DEFAULT_SCENARIOS_PATH = str(Path(__file__).with_name("scenarios.json"))


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Scenario:
    """One kind of demo clip.

    Attributes:
        label: Class the seed taxonomy assigns to ``tags``.
        synth: Name of the synthesizer in ``sounds.SYNTHS``.
        tags: The scenario's core tags.
        title: Human title, varied per clip.
        phrase: Start of the description.
        audioset: ``(label, mid)`` pairs for the FSD50K ground-truth CSV.
        weight: Relative frequency within its class.
    """

    label: str
    synth: str
    tags: tuple[str, ...]
    title: str
    phrase: str
    audioset: tuple[tuple[str, str], ...]
    weight: float = 1.0


@dataclass(frozen=True)
class ScenarioTable:
    """The validated file.

    Attributes:
        class_shares: Share of the clips per class, in ``CLASS_NAMES`` order.
        neutral_tags: Tags no keyword list contains.
        scenarios: Every scenario, in file order.
    """

    class_shares: dict[str, float]
    neutral_tags: tuple[str, ...]
    scenarios: tuple[Scenario, ...]


def load(path: str = DEFAULT_SCENARIOS_PATH) -> ScenarioTable:
    """Reads and validates a scenario file.

    Args:
        path: The JSON file; the packaged table by default.

    Returns:
        The table, with each scenario's AudioSet labels resolved to ``(label, mid)`` pairs.

    Raises:
        ScenarioError: The file is not valid JSON or breaks one of the table's rules.
    """

    def fail(problem: str) -> ScenarioError:
        return ScenarioError(f"{path}: {problem}")

    try:
        raw = json.loads(Path(path).read_text())
        shares = {str(name): float(share) for name, share in raw["class_shares"].items()}
        vocabulary = {str(label): str(mid) for label, mid in raw["audioset_vocabulary"].items()}
        entries = raw["scenarios"]
        neutral_tags = tuple(str(tag) for tag in raw["neutral_tags"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise fail(f"not a scenario table ({type(error).__name__}: {error})") from error
    if list(shares) != list(CLASS_NAMES) or min(shares.values()) <= 0:
        raise fail(f"class_shares must give a positive share to each of {list(CLASS_NAMES)}")
    scenarios = []
    for index, entry in enumerate(entries):
        try:
            scenarios.append(_scenario(entry, shares, vocabulary))
        except (KeyError, TypeError, AttributeError, ValueError) as error:
            raise fail(f"scenario {index}: {type(error).__name__}: {error}") from error
    missing = set(shares) - {scenario.label for scenario in scenarios}
    if missing:
        raise fail(f"no scenario for {sorted(missing)}")
    return ScenarioTable(shares, neutral_tags, tuple(scenarios))


def _scenario(entry: dict, shares: dict[str, float], vocabulary: dict[str, str]) -> Scenario:
    if entry["label"] not in shares:
        raise ValueError(f"unknown label {entry['label']!r}")
    if entry["synth"] not in SYNTHS:
        raise ValueError(f"unknown synth {entry['synth']!r}")
    unknown = [label for label in entry["audioset"] if label not in vocabulary]
    if unknown or not entry["audioset"]:
        raise ValueError(f"AudioSet labels missing from the vocabulary: {unknown}")
    weight = float(entry.get("weight", 1.0))
    if weight <= 0:
        raise ValueError("weight must be positive")
    return Scenario(
        label=entry["label"],
        synth=entry["synth"],
        tags=tuple(entry["tags"]),
        title=entry["title"],
        phrase=entry["phrase"],
        audioset=tuple((label, vocabulary[label]) for label in entry["audioset"]),
        weight=weight,
    )
