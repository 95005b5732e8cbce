"""Benchmark: throughput of YAMNet (front end + trunk, ``yamnet.Yamnet``) on 5 s clips.

Runs the module as one ``tf.function`` on batches of 1 and 32 deterministic 5 s noise clips at
16 kHz (10 patches each) with TF's default threads, after one warm-up call per batch size, and
prints clips per second of wall time and CPU milliseconds per clip (process time, all threads:
the figure that stays meaningful when other jobs share the cores).
Usage: python benchmarks/yamnet.py [SECONDS] (how long to run each batch size; default 10).
"""

import sys
import time

import numpy as np
import tensorflow as tf

from components.audio import yamnet, yamnet_frontend

CLIP_SAMPLES = 5 * yamnet_frontend.SAMPLE_RATE


def measure(run, batch: np.ndarray, budget_s: float) -> tuple[float, float]:
    """``(clips per wall second, CPU ms per clip)`` of ``run`` on ``batch``."""
    run(batch)  # trace and warm up
    done, start, cpu_start = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < budget_s:
        run(batch)["embeddings"].numpy()
        done += batch.shape[0]
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return done / wall, 1000 * cpu / done


def main() -> None:
    budget_s = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    model = yamnet.Yamnet()
    run = tf.function(model.__call__, input_signature=[tf.TensorSpec([None, None], tf.float32)])
    rng = np.random.default_rng(0)
    print(f"YAMNet on 5 s clips at 16 kHz, {budget_s:.0f} s per row")
    print("| batch | clips/s | CPU ms/clip |\n|---:|---:|---:|")
    for size in (1, 8, 32):
        batch = (0.1 * rng.standard_normal((size, CLIP_SAMPLES))).astype(np.float32)
        rate, cpu_ms = measure(run, batch, budget_s)
        print(f"| {size} | {rate:.1f} | {cpu_ms:.0f} |")


if __name__ == "__main__":
    main()
