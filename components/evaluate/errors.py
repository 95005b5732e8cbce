"""Error analysis of the best model: its top confusions and misclassified clips with metadata.

The study inspected wrong predictions next to each clip's title and tags and found labels that
were wrong rather than the model (a church organ scored as a music "error"). ``misclassified``
lists every wrong test prediction with title, tags, uploader, license and original duration,
the most confident errors first, since those are where mislabelled clips hide.
"""

import pandas as pd

from components.artifacts.cells import csv_cell
from components.audio.labels import CLASS_NAMES

ERROR_COLUMNS = (
    "clip_id",
    "true_class",
    "predicted_class",
    "confidence",
    "true_probability",
    "title",
    "tags",
    "uploader",
    "license",
    "duration_s",
    "ambiguous",
    "rule",
)


def top_confusions(confusion_matrix: list[list[int]], limit: int = 10) -> list[dict]:
    """The largest off-diagonal cells: ``{true_class, predicted_class, count, share_of_true}``."""
    cells = []
    for true, row in enumerate(confusion_matrix):
        support = sum(row)
        for predicted, count in enumerate(row):
            if true != predicted and count:
                cells.append(
                    {
                        "true_class": CLASS_NAMES[true],
                        "predicted_class": CLASS_NAMES[predicted],
                        "count": int(count),
                        "share_of_true": count / support,
                    }
                )
    cells.sort(key=lambda cell: (-cell["count"], cell["true_class"], cell["predicted_class"]))
    return cells[:limit]


def misclassified(frame: pd.DataFrame) -> list[dict]:
    """Every wrong prediction of a ``slices.clip_frame``, most confident first."""
    wrong = frame[~frame["correct"]].reset_index()
    wrong = wrong.assign(true_class=wrong["label_name"], predicted_class=wrong["predicted_name"])
    wrong = wrong.sort_values(["confidence", "clip_id"], ascending=[False, True])
    rows = []
    for record in wrong[list(ERROR_COLUMNS)].to_dict(orient="records"):
        rows.append({key: None if _missing(value) else value for key, value in record.items()})
    return rows


def _missing(value: object) -> bool:
    return not isinstance(value, list) and bool(pd.isna(value))


def errors_csv(rows: list[dict]) -> str:
    """The misclassified clips as CSV (tags joined with spaces, no cell read as a formula)."""
    frame = pd.DataFrame(rows, columns=list(ERROR_COLUMNS))
    frame["tags"] = frame["tags"].map(lambda tags: " ".join(tags or []))
    return frame.map(csv_cell).to_csv(index=False)
