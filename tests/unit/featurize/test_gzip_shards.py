"""Transformed shards written by TensorFlow's writer: GZIP TFRecords of the same records, named
as Beam's ``WriteToTFRecord`` names them, within 2 % of the size zlib's default level gives."""

import glob
import os

import apache_beam as beam
import numpy as np
import tensorflow as tf
from apache_beam.testing.util import assert_that, equal_to

from components.featurize import gzip_shards


def _records(count: int) -> list[bytes]:
    rng = np.random.default_rng(0)
    walk = np.cumsum(rng.normal(size=(count, 4096)), axis=1)  # floats as features are
    return [row.astype(np.float32).tobytes() for row in walk]


def _read(paths: list[str]) -> list[bytes]:
    return [r.numpy() for r in tf.data.TFRecordDataset(paths, compression_type="GZIP")]


def test_shards_hold_the_records_gzipped_under_beams_names(tmp_path):
    records = _records(40)
    with beam.Pipeline(runner="FnApiRunner") as pipeline:
        written = (
            pipeline
            | beam.Create(records)
            | gzip_shards.WriteGzipTFRecord(str(tmp_path / "ours" / "part"), ".tfrecord.gz", 2)
        )
        assert_that(written | beam.combiners.Count.Globally(), equal_to([2]))
        _ = (
            pipeline
            | "Again" >> beam.Create(records)
            | beam.io.WriteToTFRecord(
                str(tmp_path / "beams" / "part"), file_name_suffix=".tfrecord.gz", num_shards=2
            )
        )
    ours = sorted(glob.glob(str(tmp_path / "ours" / "*")))
    beams = sorted(glob.glob(str(tmp_path / "beams" / "*")))
    assert [os.path.basename(p) for p in ours] == [os.path.basename(p) for p in beams]
    assert [os.path.basename(p) for p in ours] == [
        "part-00000-of-00002.tfrecord.gz",
        "part-00001-of-00002.tfrecord.gz",
    ]
    assert sorted(_read(ours)) == sorted(_read(beams)) == sorted(records)
    with open(ours[0], "rb") as shard:
        assert shard.read(2) == b"\x1f\x8b"  # a GZIP stream any reader opens
    ours_bytes = sum(os.path.getsize(p) for p in ours)
    beams_bytes = sum(os.path.getsize(p) for p in beams)
    assert ours_bytes < 1.02 * beams_bytes
    assert ours_bytes < 0.95 * sum(map(len, records))  # it does compress
