"""featurize's output directories start empty: what an earlier attempt left is cleared, with a log.

Consumers find the shards by glob (``examples/<split>/part-*``), so a shard left by an earlier
run of another manifest (more shards, another split) would be read as today's. A KFP retry
reuses the same output paths, so refusing a non-empty directory would fail every retry; instead
``clear`` removes what featurize itself writes (its files and folders, Beam's temporary folders,
``.partial`` files) and logs each removal. Anything else in the directory is not featurize's to
delete: then it refuses (``FileExistsError``) rather than guess, so a mistyped ``--output`` can
never wipe a user's folder.
"""

import logging
import os

import tensorflow as tf

from components.artifacts.names import (
    CLIP_STATS_FILE,
    DEAD_LETTER_FILE,
    EXAMPLES_DIR,
    FEATURE_SETS_FILE,
    TRANSFORM_GRAPH_DIR,
)

RAW_DIR = "raw"
# The raw shards are featurize's own intermediate, read back by its transform pass and deleted:
# uncompressed, since gzip costs ~4 ms of CPU per clip to write (float data, 30 % smaller).
RAW_SUFFIX = ".tfrecord"
REPORT_FILE = "featurize_report.json"
OWN = frozenset(
    {
        RAW_DIR,
        EXAMPLES_DIR,
        TRANSFORM_GRAPH_DIR,
        CLIP_STATS_FILE,
        DEAD_LETTER_FILE,
        FEATURE_SETS_FILE,
        REPORT_FILE,
    }
)
TRANSFORM_GRAPH_OWN = frozenset({"transform_fn", "transformed_metadata"})  # tf.Transform's


def _own(name: str, own: frozenset[str]) -> bool:
    return name in own or name.startswith("beam-temp-") or name.endswith(".partial")


def clear(directory: str, own: frozenset[str] = OWN) -> list[str]:
    """Empties ``directory`` of featurize's earlier outputs; creates it when missing.

    Args:
        directory: An output directory of featurize (local or ``gs://``).
        own: Names featurize writes there.

    Returns:
        The names removed.

    Raises:
        FileExistsError: If the directory holds anything featurize does not write (nothing is
            removed then).
    """
    if not tf.io.gfile.exists(directory):
        tf.io.gfile.makedirs(directory)
        return []
    names = sorted(name.rstrip("/") for name in tf.io.gfile.listdir(directory))
    foreign = [name for name in names if not _own(name, own)]
    if foreign:
        raise FileExistsError(
            f"{directory} holds files featurize did not write ({', '.join(foreign[:5])}); "
            "choose an empty or new output directory"
        )
    for name in names:
        path = os.path.join(directory, name)
        logging.warning("featurize: removing %s left by an earlier run", path)
        if tf.io.gfile.isdir(path):
            tf.io.gfile.rmtree(path)
        else:
            tf.io.gfile.remove(path)
    return names


def clear_all(output_dir: str, transform_graph_dir: str) -> None:
    """Clears the output directory and, when it lies elsewhere, the transform graph's."""
    clear(output_dir)
    if os.path.normpath(os.path.dirname(transform_graph_dir)) != os.path.normpath(output_dir):
        clear(transform_graph_dir, TRANSFORM_GRAPH_OWN)
