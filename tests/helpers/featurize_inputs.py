"""A small featurize input (16 clips of several rates, formats and lengths, 4 broken) and readers.

``write_manifest`` writes the WAVs and their ``manifest.jsonl`` (training clips in pairs from
one recording; broken ones: empty, not audio, silent, missing); ``read_split`` and
``read_split_from`` parse example shards (the raw ones uncompressed) back into numpy arrays per
feature.
"""

import glob
import json
import os

import numpy as np
import soundfile
import tensorflow as tf

from components.artifacts import shards
from components.audio import examples
from components.featurize.outputs import RAW_SUFFIX
from tests.helpers.audio import tone

RATES = [8000, 16000, 22050, 44100, 48000]


def write_manifest(root, broken: bool = True) -> str:
    """Writes the clips under ``root`` and returns the manifest's path."""
    rows = []
    for i in range(16):
        split = ["train", "train", "validation", "test"][i % 4]
        rate = RATES[i % len(RATES)]
        samples = tone(
            150.0 + 120 * (i % 8), [0.4, 3.0, 7.5][i % 3], rate, amplitude=0.1 + 0.05 * i
        )
        path = root / f"{i}.wav"
        soundfile.write(path, samples, rate, subtype=["PCM_16", "PCM_24", "FLOAT"][i % 3])
        row = {"clip_id": f"c{i}", "uri": str(path), "split": split, "label_index": i % 8}
        if i % 4 < 2:  # the training clips: c0 and c1 are one recording, c4 and c5 another, ...
            row["source_id"] = f"recording-{i // 4}"
        rows.append(row)
    if broken:
        (root / "empty.wav").write_bytes(b"")
        (root / "text.wav").write_text("not a wav file")
        soundfile.write(root / "silent.wav", np.zeros(8000, np.float32), 16000)
        for name in ("empty", "text", "silent", "missing"):
            rows.append(
                {
                    "clip_id": name,
                    "uri": str(root / f"{name}.wav"),
                    "split": "train",
                    "label_index": 0,
                }
            )
    manifest = root / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(manifest)


def _spec(output_dir) -> dict:
    """The parsing spec of the feature sets featurize recorded in ``output_dir``."""
    return examples.feature_spec(shards.feature_sets(str(output_dir)) or examples.FEATURE_KEYS)


def read_split(directory, split) -> list[dict]:
    """The transformed examples of ``split`` under featurize's output ``directory``."""
    files = sorted(glob.glob(os.path.join(directory, "examples", split, "*.tfrecord.gz")))
    spec = _spec(directory)
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP").map(
        lambda record: tf.io.parse_single_example(record, spec)
    )
    return [{k: v.numpy() for k, v in example.items()} for example in dataset]


def read_split_from(raw_dir, split) -> list[dict]:
    """The examples of ``split`` under a folder of split folders (e.g. ``raw/``) of featurize's
    output (which records the feature sets)."""
    files = sorted(glob.glob(os.path.join(raw_dir, split, f"*{RAW_SUFFIX}")))
    spec = _spec(os.path.dirname(os.path.normpath(str(raw_dir))))
    dataset = tf.data.TFRecordDataset(files).map(  # featurize's own intermediate: uncompressed
        lambda record: tf.io.parse_single_example(record, spec)
    )
    return [{k: v.numpy() for k, v in example.items()} for example in dataset]
