"""Benchmark: throughput of YAMNet (front end + trunk, ``yamnet.Yamnet``) on 5 s clips.

Runs the module as one ``tf.function`` on batches of 1 and 32 deterministic 5 s noise clips at
16 kHz (10 patches each) with TF's default threads, after one warm-up call per batch size, and
prints clips per second and milliseconds per clip. Usage: python benchmarks/yamnet.py [SECONDS]
(how long to run each batch size; default 10).
"""

import sys
import time

import numpy as np
import tensorflow as tf

from components.audio import yamnet, yamnet_frontend

CLIP_SAMPLES = 5 * yamnet_frontend.SAMPLE_RATE


def clips_per_second(run, batch: np.ndarray, budget_s: float) -> float:
    run(batch)  # trace and warm up
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < budget_s:
        run(batch)["embeddings"].numpy()
        done += batch.shape[0]
    return done / (time.perf_counter() - start)


def main() -> None:
    budget_s = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    model = yamnet.Yamnet()
    run = tf.function(model.__call__, input_signature=[tf.TensorSpec([None, None], tf.float32)])
    rng = np.random.default_rng(0)
    print(f"YAMNet on 5 s clips at 16 kHz, {budget_s:.0f} s per row")
    print("| batch | clips/s | ms/clip |\n|---:|---:|---:|")
    for size in (1, 32):
        batch = (0.1 * rng.standard_normal((size, CLIP_SAMPLES))).astype(np.float32)
        rate = clips_per_second(run, batch, budget_s)
        print(f"| {size} | {rate:.1f} | {1000 / rate:.1f} |")


if __name__ == "__main__":
    main()
