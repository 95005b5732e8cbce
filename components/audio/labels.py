"""The study's eight sound classes, in the index order used by every model and report.

The tag-to-class rules live in the ingest step's taxonomy file (data, not code); this module
only fixes the class names and their indices, which the taxonomy file must list in this order.
"""

CLASS_NAMES: tuple[str, ...] = (
    "human",
    "noise",
    "animal",
    "music",
    "ambient",
    "alarm",
    "movement",
    "other",
)
NUM_CLASSES = len(CLASS_NAMES)
CLASS_INDEX: dict[str, int] = {name: index for index, name in enumerate(CLASS_NAMES)}
