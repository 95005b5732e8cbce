"""Named slices of the test split: declarative features over one per-clip frame.

``clip_frame`` merges, per test clip, the ingest manifest (title, tags, license, uploader,
ambiguity...), featurize's clip statistics (duration and sample rate before pad/trim, loudness)
and one model's predictions into a pandas frame. Each ``SliceFeature`` is a named, documented
function of that frame returning one string value per clip (a bucket); a slice is a feature and
one of its values, and a cross is two features at once. ``slice_table`` scores every slice with
bootstrap intervals (``metrics.slice_scores``) and marks slices below the minimum size
``too_small`` instead of hiding them.
"""

import itertools
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from components.artifacts.model_files import Predictions
from components.audio.labels import CLASS_NAMES
from components.evaluate import metrics

UNKNOWN = "unknown"
TEXT_COLUMNS = ("title", "license", "uploader", "rule", "dataset")


@dataclass(frozen=True)
class SliceFeature:
    """A named way to bucket test clips.

    Attributes:
        name: Feature name used in ``slices.json`` (``feature``).
        description: One line saying what the buckets are (documentation kept with the code).
        values: Function of the clip frame returning one string bucket per clip.
    """

    name: str
    description: str
    values: Callable[[pd.DataFrame], pd.Series]


def _bucket(values: pd.Series, edges: list[float], labels: list[str]) -> pd.Series:
    """Buckets numbers into ``labels`` (``len(edges) + 1`` of them); missing → ``unknown``."""
    index = np.searchsorted(np.asarray(edges), values.to_numpy(dtype=float), side="right")
    out = pd.Series(np.asarray(labels, dtype=object)[np.minimum(index, len(labels) - 1)])
    out.index = values.index
    return out.where(values.notna(), UNKNOWN)


def license_name(url: str) -> str:
    """Short name of a Creative Commons URL (``.../licenses/by-nc/3.0/`` → ``CC BY-NC 3.0``)."""
    parts = [part for part in str(url).split("/") if part]
    if "publicdomain" in parts:
        return "CC0" if "zero" in parts else "public domain"
    if "licenses" in parts:
        kind_and_version = parts[parts.index("licenses") + 1 :][:2]
        return " ".join(["CC", *(piece.upper() for piece in kind_and_version)]).strip()
    return str(url) or UNKNOWN


def _has_tag(tag: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda frame: frame["tags"].map(lambda tags: "yes" if tag in tags else "no")


def _padding(frame: pd.DataFrame) -> pd.Series:
    padded = frame["padded"].map({True: "padded", False: ""}).fillna("")
    trimmed = frame["trimmed"].map({True: "trimmed", False: ""}).fillna("")
    state = (padded + trimmed).replace("", "exact")
    return state.where(frame["padded"].notna(), UNKNOWN)


def _channels(value: object) -> str:
    if pd.isna(value):
        return UNKNOWN
    return {1: "mono", 2: "stereo"}.get(int(value), f"{int(value)}ch")


FEATURES: tuple[SliceFeature, ...] = (
    SliceFeature("true_class", "the clip's label", lambda f: f["label_name"]),
    SliceFeature("predicted_class", "the model's prediction", lambda f: f["predicted_name"]),
    SliceFeature(
        "duration",
        "original duration before pad/trim to 5 s",
        lambda f: _bucket(
            f["duration_s"], [1, 3, 5, 10], ["<1s", "1-3s", "3-5s", "5-10s", ">=10s"]
        ),
    ),
    SliceFeature("pad_trim", "was the clip padded or trimmed to 5 s", _padding),
    SliceFeature(
        "sample_rate",
        "original sample rate (Hz)",
        lambda f: f["sample_rate"].map(lambda v: UNKNOWN if pd.isna(v) else str(int(v))),
    ),
    SliceFeature("channels", "original channel count", lambda f: f["channels"].map(_channels)),
    SliceFeature(
        "n_tags",
        "number of Freesound tags",
        lambda f: _bucket(f["tags"].map(len), [3, 6, 10], ["0-2", "3-5", "6-9", ">=10"]),
    ),
    SliceFeature("tag_field_recording", "tagged field-recording", _has_tag("field-recording")),
    SliceFeature("tag_multisample", "tagged multisample", _has_tag("multisample")),
    SliceFeature("license", "Creative Commons license", lambda f: f["license"].map(license_name)),
    SliceFeature(
        "uploader_clips",
        "clips by the same uploader in the whole manifest",
        lambda f: _bucket(f["uploader_clips"], [2, 10, 50], ["1", "2-9", "10-49", ">=50"]),
    ),
    SliceFeature(
        "ambiguous",
        "several taxonomy keyword lists matched the tags",
        lambda f: f["ambiguous"].map({True: "ambiguous", False: "unambiguous"}).fillna(UNKNOWN),
    ),
    SliceFeature(
        "rule", "taxonomy rule that fired (none: no list matched → other)", lambda f: f["rule"]
    ),
    SliceFeature(
        "loudness",
        "RMS level of the original clip (dBFS)",
        lambda f: _bucket(
            f["rms_dbfs"],
            [-40, -30, -20, -10],
            ["<-40", "-40..-30", "-30..-20", "-20..-10", ">=-10"],
        ),
    ),
    SliceFeature("dataset", "source dataset", lambda f: f["dataset"]),
)


def metadata_frame(manifest: list[dict], clip_stats: list[dict]) -> pd.DataFrame:
    """Per-clip metadata (manifest + clip statistics), indexed by clip id.

    Augmented copies (rows with ``augment``) are left out; ``uploader_clips`` counts every
    original clip of the same uploader in the whole manifest.
    """
    originals = [row for row in manifest if not row.get("augment")]
    uploads = Counter(row.get("uploader", "") for row in originals)
    columns = ("title", "tags", "license", "uploader", "ambiguous", "rule", "dataset", "split")
    rows = {
        str(row["clip_id"]): {
            **{key: row.get(key) for key in columns},
            "uploader_clips": uploads[row.get("uploader", "")] if row.get("uploader") else None,
        }
        for row in originals
    }
    stats_columns = ("duration_s", "sample_rate", "channels", "padded", "trimmed", "rms_dbfs")
    stats = {str(row["clip_id"]): {k: row.get(k) for k in stats_columns} for row in clip_stats}
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=[*columns, "uploader_clips"])
    stats_frame = pd.DataFrame.from_dict(stats, orient="index", columns=list(stats_columns))
    return frame.join(stats_frame, how="left")


def clip_frame(metadata: pd.DataFrame, predictions: Predictions) -> pd.DataFrame:
    """One row per test clip: metadata joined with one model's labels and predictions.

    Clips missing from the manifest or the clip statistics keep ``unknown`` metadata rather
    than being dropped.
    """
    labels, probabilities = predictions.labels, predictions.probabilities
    frame = pd.DataFrame(
        {
            "label": labels,
            "predicted": predictions.predicted,
            "confidence": probabilities.max(axis=1),
            "true_probability": probabilities[np.arange(len(labels)), labels],
        },
        index=pd.Index(predictions.clip_ids, name="clip_id"),
    )
    frame["correct"] = frame["label"] == frame["predicted"]
    frame["label_name"] = frame["label"].map(dict(enumerate(CLASS_NAMES)))
    frame["predicted_name"] = frame["predicted"].map(dict(enumerate(CLASS_NAMES)))
    frame = frame.join(metadata.drop(columns=["split"]), how="left")
    frame["tags"] = frame["tags"].map(lambda tags: tags if isinstance(tags, list) else [])
    for column in TEXT_COLUMNS:
        frame[column] = frame[column].fillna("").replace("", UNKNOWN)
    return frame


def slice_values(frame: pd.DataFrame, features: Iterable[SliceFeature] = FEATURES) -> pd.DataFrame:
    """The bucket of every clip under every feature: one string column per feature name."""
    return pd.DataFrame({feature.name: feature.values(frame).astype(str) for feature in features})


def groups(values: pd.DataFrame, crosses: bool) -> Iterable[tuple[str, str, np.ndarray]]:
    """``(feature, value, row positions)`` of every non-empty slice, singles then crosses.

    A cross is named ``"a x b"`` with value ``"va & vb"``.
    """
    for name in values.columns:
        for value, rows in values.groupby(name, sort=True).indices.items():
            yield name, str(value), rows
    if crosses:
        for first, second in itertools.combinations(values.columns, 2):
            for (a, b), rows in values.groupby([first, second], sort=True).indices.items():
                yield f"{first} x {second}", f"{a} & {b}", rows


def slice_table(
    frame: pd.DataFrame,
    values: pd.DataFrame,
    model: str,
    *,
    crosses: bool,
    min_size: int,
    samples: int,
    confidence: float,
    rng: np.random.Generator,
) -> list[dict]:
    """Scores the whole split and every slice of one model.

    Args:
        frame: ``clip_frame`` of the model.
        values: ``slice_values`` of the frame.
        model: Model name recorded in each entry.
        crosses: Whether to score the crosses of two features too.
        min_size: Slices with fewer clips are marked ``too_small`` (still scored and listed).
        samples: Bootstrap resamples per slice.
        confidence: Interval level.
        rng: Seeded random generator.

    Returns:
        One dict per slice: ``feature``, ``value``, ``model``, ``size``, ``accuracy``,
        ``macro_f1``, their interval bounds, ``too_small`` and ``confusion_matrix``; the first
        is ``overall``/``all``.
    """
    labels, predicted = frame["label"].to_numpy(), frame["predicted"].to_numpy()
    everything = ("overall", "all", np.arange(len(frame)))
    table = []
    for feature, value, rows in itertools.chain([everything], groups(values, crosses)):
        scores = metrics.slice_scores(labels[rows], predicted[rows], samples, confidence, rng)
        table.append(
            {
                "feature": feature,
                "value": value,
                "model": model,
                "size": len(rows),
                **scores,
                "too_small": len(rows) < min_size,
                "confusion_matrix": metrics.confusion(labels[rows], predicted[rows]).tolist(),
            }
        )
    return table
