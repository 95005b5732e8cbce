"""An unbalanced training manifest (1 to 30 clips a class, two clips a recording) and held-out rows.

Seven of the eight classes in the train split, in very different numbers, and one validation and
one test clip a class, each from its own recording: what rebalance is tested on, and what the KFP
wrapper tests feed the rebalance component.
"""

from components.audio.labels import CLASS_NAMES

SIZES = {"human": 12, "noise": 30, "animal": 3, "music": 7, "ambient": 5, "alarm": 1, "movement": 9}


def manifest_rows() -> list[dict]:
    rows = []
    for name, size in SIZES.items():
        for i in range(size):
            rows.append(
                {
                    "clip_id": f"{name}{i}",
                    "uri": f"/a/{name}{i}.wav",
                    "split": "train",
                    "label": name,
                    "label_index": CLASS_NAMES.index(name),
                    "source_id": f"src-{name}-{i // 2}",
                }
            )
        for split in ("validation", "test"):
            rows.append(
                {
                    "clip_id": f"{name}-{split}",
                    "uri": "/a/x.wav",
                    "split": split,
                    "label": name,
                    "label_index": CLASS_NAMES.index(name),
                    "source_id": f"held-{name}-{split}",
                }
            )
    return rows
