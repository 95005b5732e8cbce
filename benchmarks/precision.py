"""Benchmark: the pretrained trunks in bfloat16 against float32 on this CPU (issue 21, bf16).

    python benchmarks/precision.py AUDIO_DIR [--clips 256] [--esc50 ESC50_DIR]

This machine's processor has AVX512-BF16 and AMX (``lscpu``), which TensorFlow's oneDNN kernels
use for bfloat16 convolutions and matrix products. For each embedding feature set
(``mn04_embedding``, ``yamnet_embedding``), a fresh process per precision builds the featurizer
for that set alone — float32 as the pipeline does, or with the trunk built under Keras's
``mixed_bfloat16`` policy (weights kept in float32, convolutions and products in bfloat16, the
front end and pooling left in float32) — and runs it on the first ``--clips`` files below
``AUDIO_DIR`` (decoded and prepared by featurize's own path, ``feature_cost``), on one TF
thread: CPU milliseconds per clip in batches of 32 (featurize) and of 1 (a served request), best
of five rounds. It prints the speed-up and how far the bfloat16 embeddings are from float32
(largest absolute difference, RMS difference relative to the embeddings' RMS, lowest cosine
similarity). With ``--esc50``, it also embeds that ESC-50 copy both ways and prints the frozen
50-class probe (``esc50_probe.probe``, test fold 5) for each: the quality the choice moves.
"""

import argparse
import multiprocessing
import os
import queue as queues
import sys
import tempfile
import time
from collections.abc import Sequence

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import esc50_probe, feature_cost  # noqa: E402
from components.audio.features import MN04_EMBEDDING, YAMNET_EMBEDDING  # noqa: E402

PRECISIONS = ("float32", "bfloat16")
ROUNDS = 5
SERVED_CLIPS = 32  # batch-1 timing runs this many single-clip calls per round


def embed_in_process(key: str, precision: str, clips_file: str, out_file: str, queue) -> None:
    """Child process: embeds the prepared clips in ``clips_file``; puts its CPU ms per clip."""
    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras.mixed_precision.set_global_policy(
        "mixed_bfloat16" if precision == "bfloat16" else "float32"
    )
    compute = feature_cost.featurizer((key,))
    clips = np.load(clips_file)
    embeddings = np.concatenate(
        [tf.cast(compute(batch)[key], tf.float32).numpy() for batch in feature_cost.batches(clips)]
    )
    np.save(out_file, embeddings)
    timings = {}
    for label, batch_size, batch_count in (("batch_32", 32, None), ("batch_1", 1, SERVED_CLIPS)):
        batches = list(feature_cost.batches(clips, batch_size))[:batch_count]
        compute(batches[0])  # traced for this shape
        best = float("inf")
        for _ in range(ROUNDS):
            started = time.process_time()
            for batch in batches:
                compute(batch)
            best = min(best, (time.process_time() - started) / sum(len(b) for b in batches))
        timings[label] = 1e3 * best
    queue.put(timings)


def embed(key: str, precision: str, clips: np.ndarray, folder: str) -> tuple[np.ndarray, dict]:
    """``(embeddings, {batch: CPU ms per clip})`` from a fresh process."""
    clips_file = os.path.join(folder, "clips.npy")
    out_file = os.path.join(folder, f"{key}-{precision}.npy")
    np.save(clips_file, clips)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(
        target=embed_in_process, args=(key, precision, clips_file, out_file, queue)
    )
    process.start()
    while True:
        try:
            timings = queue.get(timeout=5)
            break
        except queues.Empty:
            if not process.is_alive():
                raise RuntimeError(f"{key} in {precision}: exit code {process.exitcode}") from None
    process.join()
    return np.load(out_file), timings


def distance(reference: np.ndarray, other: np.ndarray) -> dict:
    """How far ``other`` is from ``reference`` (rows are embeddings)."""
    cosine = np.sum(reference * other, 1) / (
        np.linalg.norm(reference, axis=1) * np.linalg.norm(other, axis=1)
    )
    return {
        "max_abs": float(np.abs(reference - other).max()),
        "relative_rms": float(np.sqrt(np.mean((reference - other) ** 2) / np.mean(reference**2))),
        "min_cosine": float(cosine.min()),
    }


def prepared(paths: Sequence[str]) -> np.ndarray:
    """``[clips, CLIP_SAMPLES]``: the files decoded and prepared as featurize does, 32 at a time."""
    return np.concatenate(
        [feature_cost.prepare(feature_cost.decode(batch)) for batch in feature_cost.batches(paths)]
    )


def measure(paths: Sequence[str], keys: Sequence[str]) -> list[dict]:
    """One row per embedding: both precisions' costs and their embeddings' distance."""
    clips = prepared(paths)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for key in keys:
            (reference, f32), (bf16_values, bf16) = (
                embed(key, precision, clips, folder) for precision in PRECISIONS
            )
            rows.append(
                {
                    "embedding": key,
                    "clips": len(clips),
                    **{f"float32_{b}_ms": round(f32[b], 2) for b in f32},
                    **{f"bfloat16_{b}_ms": round(bf16[b], 2) for b in bf16},
                    **{f"speedup_{b}": round(f32[b] / bf16[b], 2) for b in f32},
                    **distance(reference, bf16_values),
                }
            )
    return rows


def probe_both(esc50_dir: str, keys: Sequence[str], test_fold: int = 5) -> list[dict]:
    """The frozen ESC-50 probe on each embedding, float32 and bfloat16."""
    paths, targets, folds = esc50_probe.read_esc50(esc50_dir)
    clips = prepared(paths)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for key in keys:
            for precision in PRECISIONS:
                values, _ = embed(key, precision, clips, folder)
                result = esc50_probe.probe(values, targets, folds, test_fold)
                rows.append({"embedding": key, "precision": precision, **result})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("audio_dir", metavar="AUDIO_DIR")
    parser.add_argument("--clips", type=int, default=256)
    parser.add_argument("--esc50", default="", help="an ESC-50 copy for the probe (optional)")
    args = parser.parse_args()
    keys = (MN04_EMBEDDING, YAMNET_EMBEDDING)
    paths = feature_cost.audio_files(args.audio_dir, args.clips)
    print("| embedding | batch | float32 CPU ms/clip | bfloat16 CPU ms/clip | speed-up |")
    print("|---|---:|---:|---:|---:|")
    rows = measure(paths, keys)
    for row in rows:
        for batch in ("batch_32", "batch_1"):
            print(
                f"| {row['embedding']} | {batch.split('_')[1]} | {row[f'float32_{batch}_ms']} "
                f"| {row[f'bfloat16_{batch}_ms']} | {row[f'speedup_{batch}']}× |"
            )
    print("\n| embedding | clips | max abs diff | relative RMS diff | lowest cosine |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['embedding']} | {row['clips']} | {row['max_abs']:.4f} "
            f"| {row['relative_rms']:.4f} | {row['min_cosine']:.4f} |"
        )
    if args.esc50:
        print("\n| embedding | precision | ESC-50 fold 5 accuracy | macro-F1 |")
        print("|---|---|---:|---:|")
        for row in probe_both(args.esc50, keys):
            print(
                f"| {row['embedding']} | {row['precision']} | {row['accuracy']:.4f} "
                f"| {row['macro_f1']:.4f} |"
            )


if __name__ == "__main__":
    main()
