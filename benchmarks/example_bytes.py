"""Benchmark: bytes per example and per feature set in a featurize output, for sizing storage.

Reads every transformed example of a featurize output (``examples/<split>/part-*.tfrecord.gz``,
local or ``gs://``) and prints, per feature, the mean serialized size of its ``tf.train.Feature``
in an example, the mean serialized example, and the gzip'd bytes on disk per example per split
(what storage and the training input pipeline actually read). Gzip shrinks the examples as a
whole, so the per-feature disk share is the feature's share of the serialized bytes, applied to
the on-disk size (an estimate; the serialized sizes are exact).
Usage: python benchmarks/example_bytes.py FEATURIZE_OUTPUT
"""

import os
import sys

import tensorflow as tf

from components.artifacts.names import EXAMPLES_DIR, SHARD_SUFFIX, SPLITS


def measure(output_dir: str) -> dict:
    """Per split: examples, gzip bytes; per feature: total serialized bytes."""
    per_feature: dict[str, int] = {}
    splits, serialized = {}, 0
    for split in SPLITS:
        shards = tf.io.gfile.glob(os.path.join(output_dir, EXAMPLES_DIR, split, f"*{SHARD_SUFFIX}"))
        disk = sum(tf.io.gfile.stat(shard).length for shard in shards)
        count = 0
        for record in tf.data.TFRecordDataset(shards, compression_type="GZIP"):
            example = tf.train.Example.FromString(record.numpy())
            for key, feature in example.features.feature.items():
                per_feature[key] = per_feature.get(key, 0) + feature.ByteSize()
            serialized += len(record.numpy())
            count += 1
        splits[split] = {"examples": count, "gzip_bytes": disk}
    return {"splits": splits, "per_feature": per_feature, "serialized": serialized}


def main(output_dir: str) -> None:
    """Prints the table."""
    measured = measure(output_dir)
    examples = sum(split["examples"] for split in measured["splits"].values())
    disk = sum(split["gzip_bytes"] for split in measured["splits"].values())
    serialized = measured["serialized"]
    print(
        f"{examples} examples; serialized {serialized / examples:,.0f} B/example; "
        f"gzip on disk {disk / examples:,.0f} B/example (ratio {disk / serialized:.2f})"
    )
    for split, values in measured["splits"].items():
        per = values["gzip_bytes"] / max(values["examples"], 1)
        print(f"  {split:<10} {values['examples']:>6} examples  {per:>10,.0f} B/example on disk")
    print(f"{'feature':<18} {'serialized B/ex':>16} {'share':>7} {'est. gzip B/ex':>15}")
    for key, total in sorted(measured["per_feature"].items(), key=lambda kv: -kv[1]):
        share, per = total / serialized, total / examples
        print(f"{key:<18} {per:>16,.0f} {share:>7.1%} {share * disk / examples:>15,.0f}")


if __name__ == "__main__":
    main(sys.argv[1])
