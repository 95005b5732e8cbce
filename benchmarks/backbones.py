"""Benchmark: throughput of the pretrained backbones on 5 s clips, in one process.

Each row runs one path as a ``tf.function`` on batches of 1 and 32 deterministic 5 s noise clips,
with TF's default threads, after one warm-up call per batch size, and prints clips per second of
wall time and CPU milliseconds per clip (process time, all threads: the figure that stays
meaningful when other jobs share the cores; the load average at the start says whether they
did). The paths: ``mn04`` (``mn04.Mn04``: 32 kHz waveform
→ front end → trunk → embedding and AudioSet logits), YAMNet at its own 16 kHz
(``yamnet.Yamnet``: 10 patches per clip) and today's ``yamnet_embedding`` feature
(``embedding.YamnetEmbedding``: a prepared 22,050 Hz clip resampled to 16 kHz, then YAMNet,
mean+max pooled).
Usage: python benchmarks/backbones.py --checkpoint mn04_as_mAP_432.pt [--seconds 10].
"""

import argparse
import os
import time
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from components.audio import (
    embedding,
    mn04,
    mn04_frontend,
    mn04_weights,
    waveform,
    yamnet,
    yamnet_frontend,
)

CLIP_SECONDS = 5
BATCH_SIZES = (1, 32)


def measure(run: Callable, batch: np.ndarray, budget_s: float) -> tuple[float, float]:
    """``(clips per wall second, CPU ms per clip)`` of ``run`` on ``batch``."""
    tf.nest.map_structure(np.asarray, run(batch))  # trace and warm up
    done, start, cpu_start = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < budget_s:
        tf.nest.map_structure(np.asarray, run(batch))
        done += batch.shape[0]
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return done / wall, 1000 * cpu / done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True, help="EfficientAT's mn04_as .pt file")
    parser.add_argument("--seconds", type=float, default=10.0, help="time per row")
    args = parser.parse_args()
    modules: list[tuple[str, int, tf.Module]] = [
        (
            "mn04 (32 kHz)",
            mn04_frontend.SAMPLE_RATE,
            mn04.Mn04(mn04_weights.read_checkpoint(args.checkpoint)),
        ),
        ("YAMNet (16 kHz)", yamnet_frontend.SAMPLE_RATE, yamnet.Yamnet()),
        ("yamnet_embedding (22.05 kHz)", waveform.SAMPLE_RATE, embedding.YamnetEmbedding()),
    ]
    signature = [tf.TensorSpec([None, None], tf.float32)]
    rng = np.random.default_rng(0)
    print(
        f"Backbones on {CLIP_SECONDS} s clips, one process, {args.seconds:.0f} s per row, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start"
    )
    print("| path | batch | clips/s | CPU ms/clip |\n|---|---:|---:|---:|")
    for name, rate, module in modules:
        run = tf.function(module.__call__, input_signature=signature)
        for size in BATCH_SIZES:
            clips = 0.1 * rng.standard_normal((size, CLIP_SECONDS * rate))
            clips_per_s, cpu_ms = measure(run, clips.astype(np.float32), args.seconds)
            print(f"| {name} | {size} | {clips_per_s:.1f} | {cpu_ms:.1f} |")


if __name__ == "__main__":
    main()
