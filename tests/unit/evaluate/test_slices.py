import numpy as np
import pytest

from components.artifacts.model_files import Predictions
from components.evaluate import slices


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("http://creativecommons.org/licenses/by-nc/3.0/", "CC BY-NC 3.0"),
        ("http://creativecommons.org/publicdomain/zero/1.0/", "CC0"),
        ("http://creativecommons.org/licenses/sampling+/1.0/", "CC SAMPLING+ 1.0"),
        ("", "unknown"),
    ],
)
def test_license_names(url, name):
    assert slices.license_name(url) == name


def test_clips_without_metadata_are_unknown_not_dropped():
    manifest = [
        {
            "clip_id": "a",
            "uploader": "u",
            "tags": ["multisample"],
            "ambiguous": True,
            "license": "",
            "rule": "human",
            "dataset": "fsd50k",
            "title": "A",
        }
    ]
    stats = [
        {
            "clip_id": "a",
            "duration_s": 0.4,
            "sample_rate": 8000,
            "channels": 2,
            "padded": True,
            "trimmed": False,
            "rms_dbfs": -50.0,
        }
    ]
    predictions = Predictions(["a", "b"], np.array([0, 1]), np.eye(8)[[0, 2]].astype(float))
    frame = slices.clip_frame(slices.metadata_frame(manifest, stats), predictions)
    values = slices.slice_values(frame)
    assert values.loc["a"].to_dict() | {} == {
        "true_class": "human",
        "predicted_class": "human",
        "duration": "<1s",
        "pad_trim": "padded",
        "sample_rate": "8000",
        "channels": "stereo",
        "n_tags": "0-2",
        "tag_field_recording": "no",
        "tag_multisample": "yes",
        "license": "unknown",
        "uploader_clips": "1",
        "ambiguous": "ambiguous",
        "rule": "human",
        "loudness": "<-40",
        "dataset": "fsd50k",
    }
    assert (
        values.loc["b", "duration"] == "unknown" and values.loc["b", "uploader_clips"] == "unknown"
    )
    assert values.loc["b", "ambiguous"] == "unknown"


def test_small_slices_are_listed_and_marked():
    predictions = Predictions(
        [f"c{i}" for i in range(30)], np.zeros(30, int), np.eye(8)[np.zeros(30, int)].astype(float)
    )
    frame = slices.clip_frame(slices.metadata_frame([], []), predictions)
    table = slices.slice_table(
        frame,
        slices.slice_values(frame),
        "m",
        crosses=True,
        min_size=31,
        samples=50,
        confidence=0.9,
        rng=np.random.default_rng(0),
    )
    assert table[0]["feature"] == "overall" and table[0]["size"] == 30
    assert all(entry["too_small"] for entry in table)
    assert any(" x " in entry["feature"] for entry in table)
