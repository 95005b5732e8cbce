"""Benchmark: serving latency and throughput, in-process and over gRPC on loopback.

Builds a model to serve unless ``--model-base`` names one: featurizes eight synthetic clips
(for a real tf.Transform graph), builds the train step's ``cnn_log_mel`` network in its seed
configuration (weights do not change the cost, so it is not trained) and deploys it with the
deploy step into a temporary model base. Then, for one 5 s clip (44.1 kHz, 16-bit mono WAV) and
for batches of 32, it runs a bounded closed loop (``--requests`` calls or ``--seconds``, which
ever ends first, after warm-up) (a) in-process through the SavedModel's ``serving_default``
signature and (b) through the gRPC client against the development server started in a
subprocess; also (c) the ``waveform`` signature in-process. Prints p50/p99 latency, clips/s and
errors per case. Usage: python benchmarks/serve.py [--model-base DIR] [--family F]
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
MODEL_NAME = "household_sounds"


def build_model_base(folder: str, family: str) -> str:
    """Featurizes synthetic clips, builds ``family`` untrained and deploys it under ``folder``."""
    import soundfile

    from components.artifacts import manifest as manifest_file
    from components.artifacts import model_files
    from components.artifacts.names import (
        KERAS,
        KERAS_MODEL_FILE,
        MANIFEST_FILE,
        TRANSFORM_GRAPH_DIR,
    )
    from components.audio.labels import CLASS_NAMES
    from components.deploy import core
    from components.featurize import core as featurize
    from components.train import model as train_model

    rows = []
    for index in range(8):
        rate = 22050
        t = np.arange(2 * rate) / rate
        path = os.path.join(folder, f"{index}.wav")
        soundfile.write(path, (0.2 * np.sin(2 * np.pi * (200 + 150 * index) * t)), rate)
        split = "train" if index < 6 else ("validation" if index == 6 else "test")
        label = {"label": CLASS_NAMES[index], "label_index": index}
        rows.append({"clip_id": str(index), "uri": path, "split": split, **label})
    manifest = os.path.join(folder, MANIFEST_FILE)
    manifest_file.write_manifest(manifest, rows)
    featurized = os.path.join(folder, "featurized")
    featurize.run(manifest, featurized, featurize.FeaturizeConfig(num_shards=1))
    model_dir = os.path.join(folder, family)
    os.makedirs(model_dir)
    train_model.build_model(family).save(os.path.join(model_dir, KERAS_MODEL_FILE))
    model_files.write_model_card(
        model_dir, {"name": family, "framework": KERAS, "feature": train_model.FEATURE_OF[family]}
    )
    base = os.path.join(folder, "model_base")
    blessing = {"blessed": True, "model": family, "reasons": []}
    transform_graph = os.path.join(featurized, TRANSFORM_GRAPH_DIR)
    core.run(model_dir, transform_graph, base, blessing, core.DeployConfig(version=1))
    return base


def measure(call, batch: int, requests: int, seconds: float, warmup: int = 5) -> dict:
    """Closed loop: ``call()`` up to ``requests`` times or ``seconds``; latency percentiles."""
    for _ in range(warmup):
        call()
    latencies, errors = [], 0
    started = time.perf_counter()
    while len(latencies) < requests and time.perf_counter() - started < seconds:
        begin = time.perf_counter()
        try:
            call()
        except Exception:  # noqa: BLE001 - a benchmark counts failures, whatever they are
            errors += 1
        latencies.append(time.perf_counter() - begin)
    total = time.perf_counter() - started
    ms = np.array(latencies) * 1000
    return {
        "batch": batch,
        "requests": len(latencies),
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "clips_per_s": batch * (len(latencies) - errors) / total,
        "errors": errors,
    }


def start_dev_server(model_base: str) -> tuple[subprocess.Popen, str]:
    """Starts ``household-sounds serve-dev`` in a subprocess; returns it and its target."""
    from serving.client import GrpcClient
    from serving.status import ServingError

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "pipelines.cli", "serve-dev", "--model-base", model_base]
    server = subprocess.Popen([*command, "--port", str(port)], cwd=ROOT, stderr=subprocess.DEVNULL)
    target = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with GrpcClient(target, timeout_s=2) as client:
                client.metadata()
            return server, target
        except ServingError:
            time.sleep(0.5)
    server.kill()
    raise RuntimeError("development server did not come up within 120 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-base", default="", help="existing base with household_sounds/")
    parser.add_argument("--family", default="cnn_log_mel", help="train family to build")
    parser.add_argument("--requests", type=int, default=300, help="max calls per case")
    parser.add_argument("--seconds", type=float, default=20.0, help="max seconds per case")
    args = parser.parse_args()

    import tensorflow as tf

    from components.artifacts.signature import DEFAULT_SIGNATURE, WAVEFORM_SIGNATURE
    from components.deploy import warmup
    from serving.client import GrpcClient

    with tempfile.TemporaryDirectory() as folder:
        model_base = args.model_base or build_model_base(folder, args.family)
        version_dir = os.path.join(model_base, MODEL_NAME)
        version_dir = os.path.join(version_dir, max(os.listdir(version_dir), key=int))
        served = tf.saved_model.load(version_dir)
        wav = warmup.wav_bytes(warmup.chirp(44100), 44100)
        clip = warmup.chirp(22050)[None]
        by_wav = served.signatures[DEFAULT_SIGNATURE]
        by_waveform = served.signatures[WAVEFORM_SIGNATURE]
        one, batch = tf.constant([wav]), tf.constant([wav] * 32)
        cases = [
            ("in-process wav 44.1k", lambda: by_wav(audio_wav=one), 1),
            ("in-process wav 44.1k", lambda: by_wav(audio_wav=batch), 32),
            ("in-process waveform", lambda: by_waveform(waveform=tf.constant(clip)), 1),
        ]
        results = [
            (name, measure(call, size, args.requests, args.seconds)) for name, call, size in cases
        ]
        server, target = start_dev_server(model_base)
        try:
            with GrpcClient(target) as client:
                for wavs in ([wav], [wav] * 32):
                    row = measure(
                        lambda wavs=wavs: client.predict_wav(wavs),
                        len(wavs),
                        args.requests,
                        args.seconds,
                    )
                    results.append(("gRPC loopback wav 44.1k", row))
        finally:
            server.terminate()
            server.wait(30)
    print_table(results, args.model_base or f"{args.family} (untrained, seed configuration)")


def print_table(results: list[tuple[str, dict]], model: str) -> None:
    import tensorflow as tf

    print(f"\nserving benchmark: {model}; {os.cpu_count()} CPUs; TF {tf.__version__}")
    columns = ("batch", "requests", "p50_ms", "p99_ms", "clips_per_s", "errors")
    header = f"{'case':24}" + "".join(f"{column:>12}" for column in columns)
    print(header)
    print("-" * len(header))
    for name, row in results:
        cells = "".join(
            f"{row[c]:12.1f}" if isinstance(row[c], float) else f"{row[c]:12d}" for c in columns
        )
        print(f"{name:24}{cells}")


if __name__ == "__main__":
    main()
