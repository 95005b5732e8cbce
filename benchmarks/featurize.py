"""Benchmark: featurizer throughput (librosa reference vs our TF ops) and the Beam job end to end.

Takes its clips from ``--audio-dir`` (every audio file below it, e.g. the real-audio set that
``../shared/data/real_audio.py`` builds) or generates synthetic ones (FSD50K-like: mostly
44.1 kHz, some 48/22.05/16 kHz, 1-10 s, 16-bit WAV) in a temporary folder, then measures in
separate processes so thread settings and peak memory are isolated:
  (a) librosa reference path: soundfile decode → librosa.resample (soxr_hq) → melspectrogram →
      power_to_db → mfcc, one process and two processes, one thread each;
  (b) this project's TF featurizer on the study's feature sets only (log-mel, MFCC, mean MFCC;
      what (a) computes), after the same decode, one and two processes, one TF thread each;
  (c) the Beam job's two DoFns called directly (read + soundfile decode + clip stats, then TF
      resample + every feature set, YAMNet's embedding included, + tf.Example encoding in
      batches of 32), one and two processes with one TF thread each (both cores);
  (d) featurize.core.run (Beam, both passes, tf.Transform, every usable core: the pipeline's
      default) on each of ``--sizes`` clips, with wall time, its rate as a share of (c)'s
      two-process rate, the peak RSS of the driver and of its largest worker process (neither
      should grow with the number of clips: the job streams), and the job's fixed overhead:
      the intercept of the line through the two largest sizes' (clips, seconds).
Rates (a)-(c) are measured on the first ``--rate-clips`` clips. Prints a table of what it
measured on this machine. Usage: python benchmarks/featurize.py [--sizes 1000,4000]
[--audio-dir DIR] [--rate-clips N]
"""

import argparse
import functools
import json
import multiprocessing
import os
import resource
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


def find_clips(folder: str, count: int) -> list[str]:
    """The first ``count`` audio files below ``folder``, in sorted order."""
    found = sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(folder)
        for name in names
        if name.lower().endswith((".wav", ".flac", ".ogg"))
    )
    if len(found) < count:
        raise SystemExit(f"{folder} holds {len(found)} audio files, fewer than {count}")
    return found[:count]


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


def tf_worker(paths: list[str], study_features: bool) -> tuple[int, float]:
    """This project's featurizer as the Beam job runs it, without the runner; one TF thread.

    ``study_features``: only the study's feature sets, straight from the featurizer (no
    tf.Example encoding); otherwise the Beam job's feature DoFn as it is (every feature set).
    """
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from components.audio import feature_sets, waveform
    from components.audio.features import LOG_MEL, MEAN_MFCC, MFCC
    from components.audio.featurizer import Featurizer
    from components.featurize import clips

    decode = clips.DecodeClip()
    decode.setup()
    if study_features:
        featurizer = Featurizer((LOG_MEL, MFCC, MEAN_MFCC))

        @tf.function(autograph=False)
        def study(monos: tf.RaggedTensor, rates: tf.Tensor) -> dict[str, tf.Tensor]:
            return featurizer(waveform.prepare_batch(monos, rates))

        def compute_batch(batch: list[dict]) -> None:
            monos = tf.RaggedTensor.from_row_lengths(
                np.concatenate([clip["samples"] for clip in batch]).astype(np.float32),
                [clip["samples"].size for clip in batch],
            )
            study(monos, tf.constant([clip["sample_rate"] for clip in batch], tf.int32))

    else:
        compute = clips.ComputeFeatures(feature_sets.DEFAULT)  # as the Beam job below
        compute.setup()

        def compute_batch(batch: list[dict]) -> None:
            for _ in compute.process(batch):
                pass

    def featurize(chunk: list[str]) -> None:
        batch = []
        for index, path in enumerate(chunk):
            record = {"clip_id": str(index), "uri": path, "split": "train", "label_index": 0}
            batch += [out for out in decode.process(record) if isinstance(out, dict)]
            if len(batch) == 32 or index == len(chunk) - 1:
                compute_batch(batch)
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
    driver_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    queue.put((sum(result.clips_per_split.values()), seconds, driver_mb, worker_mb))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,4000", help="clips per Beam run, comma-separated")
    parser.add_argument("--audio-dir", default="", help="take clips from here (default: synthetic)")
    parser.add_argument("--rate-clips", type=int, default=1000, help="clips for rates (a)-(c)")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    count = max(sizes)
    source = args.audio_dir or "synthetic: mostly 44.1 kHz, 1-10 s, 16-bit WAV"
    load = os.getloadavg()[0]
    print(f"cpus: {os.cpu_count()}, load average {load:.1f}, clips: {count} ({source})")
    with tempfile.TemporaryDirectory() as folder:
        paths = find_clips(args.audio_dir, count) if args.audio_dir else make_clips(folder, count)
        sample = paths[: args.rate_clips]
        study, beam_path = (
            functools.partial(tf_worker, study_features=True),
            functools.partial(tf_worker, study_features=False),
        )
        rows = [
            ("(a) librosa reference, 1 process", timed_rate(librosa_worker, sample, 1)),
            ("(a) librosa reference, 2 processes", timed_rate(librosa_worker, sample, 2)),
            ("(b) TF featurizer, study's features, 1 process", timed_rate(study, sample, 1)),
            ("(b) TF featurizer, study's features, 2 processes", timed_rate(study, sample, 2)),
            ("(c) Beam DoFns, every feature set, 1 process", timed_rate(beam_path, sample, 1)),
            ("(c) Beam DoFns, every feature set, 2 processes", timed_rate(beam_path, sample, 2)),
        ]
        beam_rows = [beam_in_fresh_process(paths[:size], folder) for size in sizes]
    print(f"{'path':<58} {'clips/s':>9}")
    for name, rate in rows:
        print(f"{name:<58} {rate:>9.1f}")
    print(f"(b) / (a) on 2 processes: {rows[3][1] / rows[1][1]:.2f}x the librosa reference")
    dofns_rate = rows[5][1]
    for clips, seconds, driver_mb, worker_mb in beam_rows:
        name = f"(d) Beam featurize end to end, {clips} clips"
        print(
            f"{name:<58} {clips / seconds:>9.1f}   {seconds:.1f} s, "
            f"{clips / seconds / dofns_rate:.0%} of (c) on 2 processes, "
            f"peak RSS driver {driver_mb:.0f} MB, largest worker {worker_mb:.0f} MB"
        )
    if len(beam_rows) > 1:
        (small, small_s, *_), (large, large_s, *_) = beam_rows[-2:]
        per_clip = (large_s - small_s) / (large - small)
        overhead = small_s - small * per_clip
        print(f"(d) fixed overhead {overhead:.1f} s, then {1 / per_clip:.1f} clips/s")


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
