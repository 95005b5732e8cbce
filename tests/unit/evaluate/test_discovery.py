import numpy as np
import pandas as pd
import pytest

from components.evaluate import discovery


def frame_and_values(n=600, weak_accuracy=None, seed=0):
    """Clips with independent random features; optionally one planted weak slice."""
    rng = np.random.default_rng(seed)
    values = pd.DataFrame(
        {
            "colour": rng.choice(["red", "green", "blue"], n),
            "size": rng.choice(["s", "m", "l", "xl"], n),
            "random_tag": np.where(rng.random(n) < 0.1, "yes", "no"),
            "weak": np.where(np.arange(n) < 60, "planted", "normal"),
        }
    )
    correct = rng.random(n) < 0.85
    if weak_accuracy is not None:
        correct[:60] = rng.random(60) < weak_accuracy
    labels = rng.integers(0, 8, n)
    predicted = np.where(correct, labels, (labels + 1) % 8)
    frame = pd.DataFrame({"label": labels, "predicted": predicted, "correct": correct})
    return frame, values


def test_planted_weak_slice_is_found():
    frame, values = frame_and_values(weak_accuracy=0.3)
    found = discovery.discover(frame, values, "m", discovery.DiscoveryConfig(min_size=20))
    significant = [e for e in found if e["significant"]]
    singles = [e for e in significant if " x " not in e["feature"]]
    assert [(e["feature"], e["value"]) for e in singles] == [("weak", "planted")]
    assert singles[0]["gap"] > 0.3 and singles[0]["q_value"] < 1e-6
    for entry in significant:  # every discovery is the planted slice or a refinement of it
        assert "planted" in entry["value"], entry


def test_random_slices_are_not_found():
    frame, values = frame_and_values(weak_accuracy=None)
    found = discovery.discover(frame, values, "m", discovery.DiscoveryConfig(min_size=20))
    assert found  # slices were tested
    assert not [e for e in found if e["significant"]]
    tag = next(e for e in found if (e["feature"], e["value"]) == ("random_tag", "yes"))
    assert tag["q_value"] > 0.05


def test_slices_below_min_size_are_not_tested():
    frame, values = frame_and_values(weak_accuracy=0.3)
    found = discovery.discover(frame, values, "m", discovery.DiscoveryConfig(min_size=100))
    assert all(e["size"] >= 100 for e in found)
    assert not any(e["value"] == "planted" for e in found)


def test_benjamini_hochberg_matches_the_textbook_example():
    p = np.array([0.01, 0.04, 0.03, 0.005])
    q = discovery.benjamini_hochberg(p)
    assert q == pytest.approx([0.02, 0.04, 0.04, 0.02])
