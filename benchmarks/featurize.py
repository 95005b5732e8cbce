"""Benchmark: featurizer throughput (librosa reference vs our TF ops) and the Beam job end to end.

Generates N synthetic clips (FSD50K-like: mostly 44.1 kHz, some 48/22.05/16 kHz, 1-10 s, 16-bit
WAV) in a temporary folder, then measures in separate processes so thread settings and peak
memory are isolated:
  (a) librosa reference path: soundfile decode → librosa.resample (soxr_hq) → melspectrogram →
      power_to_db → mfcc, one process and two processes, one thread each;
  (b) this project's path: the Beam job's two DoFns called directly (read + soundfile decode +
      clip stats, then TF resample + features + tf.Example encoding in batches of 32), one
      process with one TF thread, and two processes with one thread each (both cores);
  (c) featurize.core.run (Beam FnApiRunner, both passes, tf.Transform) on a quarter of the
      clips and on all of them, with wall time and the process's peak RSS (which should not
      grow with the number of clips: the job streams).
Prints a table of what it measured on this machine. Usage: python benchmarks/featurize.py [N]
"""

import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time

import numpy as np
import soundfile

RATES = [44100] * 6 + [48000, 22050, 16000]


def make_clips(folder: str, count: int) -> list[str]:
    """Writes ``count`` deterministic WAV clips; returns their paths."""
    rng = np.random.default_rng(0)
    paths = []
    for index in range(count):
        rate = RATES[index % len(RATES)]
        seconds = float(rng.uniform(1.0, 10.0))
        t = np.arange(int(seconds * rate)) / rate
        samples = 0.2 * np.sin(2 * np.pi * rng.uniform(100, 4000) * t)
        samples += 0.05 * rng.standard_normal(t.size)
        path = os.path.join(folder, f"{index:05d}.wav")
        soundfile.write(path, samples.astype(np.float32), rate, subtype="PCM_16")
        paths.append(path)
    return paths


def librosa_worker(paths: list[str]) -> tuple[int, float]:
    """The study's librosa path on each clip, one thread; returns (clips, seconds) after warm-up.

    One BLAS/OpenMP thread per process, like the TF worker: otherwise two processes each start a
    thread per core and run slower together than one alone (measured: 74 vs 125 clips/s).
    """
    import librosa
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)

    def featurize(path: str) -> None:
        samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
        mono = librosa.resample(samples.mean(axis=1), orig_sr=rate, target_sr=22050)
        mono = librosa.util.fix_length(mono[: 22050 * 5], size=22050 * 5)
        mel = librosa.power_to_db(librosa.feature.melspectrogram(y=mono, sr=22050, n_mels=128))
        librosa.feature.mfcc(S=mel, n_mfcc=32).mean(axis=1)

    for path in paths[:5]:
        featurize(path)
    started = time.perf_counter()
    for path in paths:
        featurize(path)
    return len(paths), time.perf_counter() - started


def tf_worker(paths: list[str]) -> tuple[int, float]:
    """This project's featurizer as the Beam job runs it, without the runner; one TF thread."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from components.featurize import clips

    decode, compute = clips.DecodeClip(), clips.ComputeFeatures()
    decode.setup()
    compute.setup()

    def featurize(chunk: list[str]) -> None:
        batch = []
        for index, path in enumerate(chunk):
            record = {"clip_id": str(index), "uri": path, "split": "train", "label_index": 0}
            batch += [out for out in decode.process(record) if isinstance(out, dict)]
            if len(batch) == 32 or index == len(chunk) - 1:
                for _ in compute.process(batch):
                    pass
                batch = []

    featurize(paths[:64])  # trace the graph and both batch shapes
    started = time.perf_counter()
    featurize(paths)
    return len(paths), time.perf_counter() - started


def timed_rate(worker, paths: list[str], processes: int) -> float:
    """Clips/s of ``worker`` with ``paths`` split over ``processes`` concurrent processes.

    Each process warms up on its own, then times its share; the rate is all clips divided by
    the slowest process's time.
    """
    chunks = [paths[i::processes] for i in range(processes)]
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        results = pool.map(worker, chunks, chunksize=1)
    return sum(done for done, _ in results) / max(seconds for _, seconds in results)


def beam_run(paths: list[str], folder: str, queue) -> None:
    """featurize.core.run on a manifest of ``paths``; reports seconds and peak RSS."""
    from components.artifacts.names import MANIFEST_FILE
    from components.featurize import core

    folder = tempfile.mkdtemp(dir=folder)
    manifest = os.path.join(folder, MANIFEST_FILE)
    with open(manifest, "w") as handle:
        for index, path in enumerate(paths):
            split = ("train", "train", "validation", "test")[index % 4]
            row = {"clip_id": str(index), "uri": path, "split": split, "label_index": index % 8}
            handle.write(json.dumps(row) + "\n")
    started = time.perf_counter()
    result = core.run(manifest, os.path.join(folder, "out"), core.FeaturizeConfig())
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((sum(result.clips_per_split.values()), seconds, peak_mb))


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    print(f"cpus: {os.cpu_count()}, clips: {count} (mostly 44.1 kHz, 1-10 s, 16-bit WAV)")
    with tempfile.TemporaryDirectory() as folder:
        paths = make_clips(folder, count)
        rows = [
            ("librosa reference, 1 process", timed_rate(librosa_worker, paths, 1)),
            ("librosa reference, 2 processes", timed_rate(librosa_worker, paths, 2)),
            ("TF featurizer, 1 process x 1 thread", timed_rate(tf_worker, paths, 1)),
            ("TF featurizer, 2 processes x 1 thread", timed_rate(tf_worker, paths, 2)),
        ]
        beam_rows = [beam_in_fresh_process(paths[:size], folder) for size in (count // 4, count)]
    print(f"{'path':<56} {'clips/s':>9}")
    for name, rate in rows:
        print(f"{name:<56} {rate:>9.1f}")
    for clips, seconds, peak_mb in beam_rows:
        name = f"Beam featurize end to end, {clips} clips (2 passes)"
        print(f"{name:<56} {clips / seconds:>9.1f}   {seconds:.1f} s, peak RSS {peak_mb:.0f} MB")


def beam_in_fresh_process(paths: list[str], folder: str) -> tuple[int, float, float]:
    """Runs ``beam_run`` in a new process so its peak RSS is its own."""
    context = multiprocessing.get_context("spawn")
    queue = context.SimpleQueue()
    process = context.Process(target=beam_run, args=(paths, folder, queue))
    process.start()
    process.join()
    return queue.get()


if __name__ == "__main__":
    main()
