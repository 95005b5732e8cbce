"""Benchmark: the featurizer against librosa and its MAC-count bound, and the Beam job end to end.

Takes its clips from ``--audio-dir`` (every audio file below it, e.g. the real-audio set that
``../shared/data/real_audio.py`` builds) or generates synthetic ones (FSD50K-like: mostly
44.1 kHz, some 48/22.05/16 kHz, 1-10 s, 16-bit WAV) in a temporary folder, then measures in
separate processes so thread settings and peak memory are isolated, and prints every figure
beside what it is compared with:
  (0) the bound: one core's measured multiply-accumulate rate (a float32 matrix product on one
      TF thread, and bfloat16) against the MACs per clip of each piece of work the featurizer
      does (``multiplies.py``): resampling at each rate of the clips, the study's three feature
      sets, each pretrained embedding; each piece's measured clips per CPU-second on one core as
      a share of that bound;
  (a) librosa reference path: soundfile decode → librosa.resample (soxr_hq) → melspectrogram →
      power_to_db → mfcc, one process and two processes, one thread each;
  (b) this project's TF featurizer on the study's feature sets only (log-mel, MFCC, mean MFCC;
      what (a) computes), after the same decode, one and two processes, one TF thread each, and
      its rate as a multiple of (a)'s;
  (c) the Beam job's two DoFns called directly (read + soundfile decode + clip stats, then TF
      resample + the default feature sets, mn04's embedding included, + tf.Example encoding in
      batches of 32), one and two processes with one TF thread each (both cores);
  (d) featurize.core.run (Beam, both passes, tf.Transform, every usable core: the pipeline's
      default: worker threads in the driver process) on each of ``--sizes`` clips, with wall
      time, its rate as a share of (c)'s two-process rate, its CPU milliseconds per clip as a
      multiple of (c)'s, the peak RSS of the driver (which holds the worker threads) and of its
      largest child process, if any (neither should grow with the number of clips: the job
      streams; a child forked by the driver counts the driver's pages in its peak), the job's fixed
      overhead (the intercept of the line through the two largest sizes' (clips, seconds)), and
      where the largest run's time went: each pass's wall time, the workers' seconds per
      transform, the DoFns' own milliseconds per clip, batch and bundle sizes, worker start-up.
Rates (a)-(c) are measured on ``--rate-clips`` clips spread evenly over the largest run's clips
(the same mix of sources, rates and lengths as (d)); each also gets its CPU
milliseconds per clip, which stay meaningful when other jobs share the cores (wall rates do
not: the load average is printed at the start and the end). They are measured in ``--rounds``
rounds, each round running every path once in turn, and each figure is the median over the
rounds; the ratios ((b) / (a), (b)'s scaling) are the medians of each round's own ratio, so a
drift of the machine's speed (this shared VM's moves by a third within minutes) is not read as a
difference between the paths. Usage: python benchmarks/featurize.py [--sizes 1000,4000]
[--audio-dir DIR] [--rate-clips N] [--rounds N] [--beam-arg=FLAG]
"""

import argparse
import functools
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time

import numpy as np
import soundfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.rounds import alternated, median_ratio  # noqa: E402

RATES = [44100] * 6 + [48000, 22050, 16000]
BATCH = 32
LIBROSA_1, LIBROSA_2 = "(a) librosa reference, 1 process", "(a) librosa reference, 2 processes"
STUDY_1 = "(b) TF featurizer, study's features, 1 process"
STUDY_2 = "(b) TF featurizer, study's features, 2 processes"
DOFNS_2 = "(c) Beam DoFns, default feature sets, 2 processes"


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


def one_tf_thread():
    """Imports TensorFlow with one intra-op and one inter-op thread; returns the module."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    return tf


def timed(work, items: list, warmup: int) -> tuple[int, float, float]:
    """Runs ``work`` on ``items[:warmup]`` then on all; ``(items, wall s, CPU s)`` of the second."""
    work(items[:warmup])
    wall, cpu = time.perf_counter(), time.process_time()
    work(items)
    return len(items), time.perf_counter() - wall, time.process_time() - cpu


def librosa_worker(paths: list[str]) -> tuple[int, float, float]:
    """The study's librosa path on each clip, one thread.

    One BLAS/OpenMP thread per process, like the TF worker: otherwise two processes each start a
    thread per core and run slower together than one alone (measured: 74 vs 125 clips/s).
    """
    import librosa
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)

    def featurize(chunk: list[str]) -> None:
        for path in chunk:
            samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
            mono = librosa.resample(samples.mean(axis=1), orig_sr=rate, target_sr=22050)
            mono = librosa.util.fix_length(mono[: 22050 * 5], size=22050 * 5)
            mel = librosa.feature.melspectrogram(y=mono, sr=22050, n_mels=128)
            librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=32).mean(axis=1)

    return timed(featurize, paths, 5)


def decoded(paths: list[str]) -> list[dict]:
    """The Beam job's decode DoFn on each clip (its clips, not its stats or dead letters)."""
    from components.featurize import clips

    decode = clips.DecodeClip()
    decode.setup()
    out = []
    for index, path in enumerate(paths):
        record = {"clip_id": str(index), "uri": path, "split": "train", "label_index": 0}
        out += [clip for clip in decode.process(record) if isinstance(clip, dict)]
    return out


def tf_worker(paths: list[str], study_features: bool) -> tuple[int, float, float]:
    """This project's featurizer as the Beam job runs it, without the runner; one TF thread.

    ``study_features``: only the study's feature sets, through the Beam job's own preparation
    and featurizer functions (``clips.preparer``, ``clips.compiled``; no tf.Example encoding);
    otherwise the Beam job's feature DoFn as it is (the default feature sets). Both decode with
    the Beam job's decode DoFn.
    """
    one_tf_thread()
    from components.audio import feature_sets
    from components.audio.featurizer import SPECTRAL_KEYS
    from components.featurize import clips

    if study_features:
        prepare, featurizer = clips.preparer(), clips.compiled(SPECTRAL_KEYS)

        def compute_batch(batch: list[dict]) -> None:
            prepared = prepare([c["samples"] for c in batch], [c["sample_rate"] for c in batch])
            for value in featurizer(prepared).values():
                value.numpy()

    else:
        compute = clips.ComputeFeatures(feature_sets.DEFAULT, tf_threads=1)  # one per process
        compute.setup()
        compute.start_bundle()

        def compute_batch(batch: list[dict]) -> None:
            for _ in compute.process(batch):
                pass

    def featurize(chunk: list[str]) -> None:
        for start in range(0, len(chunk), BATCH):
            compute_batch(decoded(chunk[start : start + BATCH]))

    return timed(featurize, paths, 2 * BATCH)  # the warm-up traces both batch shapes


def timed_rate(worker, paths: list[str], processes: int) -> tuple[float, float]:
    """``(clips/s, CPU ms per clip)`` of ``worker`` with ``paths`` split over ``processes``.

    Each process warms up on its own, then times its share; the rate is all clips divided by
    the slowest process's time.
    """
    chunks = [paths[i::processes] for i in range(processes)]
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        results = pool.map(worker, chunks, chunksize=1)
    clips = sum(done for done, _, _ in results)
    return clips / max(wall for _, wall, _ in results), sum(c for *_, c in results) / clips * 1e3


def alternated_rates(paths: list[str], runs: dict, rounds: int) -> tuple[dict, list[dict]]:
    """Each of ``runs`` (``name: (worker, processes)``) once per round, in turn, ``rounds`` times.

    Returns ``({name: (median clips/s, median CPU ms per clip)}, [{name: clips/s} per round])``.
    """
    measures = {name: functools.partial(timed_rate, w, paths, p) for name, (w, p) in runs.items()}
    per_round = alternated(measures, rounds)
    medians = {
        name: tuple(float(np.median([done[name][i] for done in per_round])) for i in (0, 1))
        for name in runs
    }
    return medians, [{name: done[name][0] for name in runs} for done in per_round]


def bound_worker(paths: list[str]) -> dict:
    """One core's MAC rate and each piece of featurizing's MACs and CPU seconds per clip."""
    tf = one_tf_thread()
    from benchmarks import multiplies
    from components.audio import waveform
    from components.audio.feature_sets import MN04_EMBEDDING, YAMNET_EMBEDDING
    from components.audio.featurizer import SPECTRAL_KEYS, Featurizer
    from components.featurize import clips

    decoded_clips = decoded(paths)
    monos, rates = [c["samples"] for c in decoded_clips], [c["sample_rate"] for c in decoded_clips]
    prepare = clips.preparer()
    rows = []
    for rate in sorted(set(rates)):
        of_rate = [mono for mono, clip_rate in zip(monos, rates, strict=True) if clip_rate == rate]

        def prepare_all(chunk: list, rate: int = rate) -> None:
            for start in range(0, len(chunk), BATCH):
                batch = chunk[start : start + BATCH]
                prepare(batch, [rate] * len(batch)).numpy()

        done, _, cpu = timed(prepare_all, of_rate, BATCH)
        macs = multiplies.resample_macs(rate, waveform.SAMPLE_RATE, waveform.CLIP_SAMPLES)
        rows.append((f"resample {rate} Hz -> {waveform.SAMPLE_RATE} Hz", macs, cpu / done))
    prepared = prepare(monos, rates).numpy()
    counts = {
        SPECTRAL_KEYS: multiplies.spectral_macs,
        (MN04_EMBEDDING,): multiplies.mn04_macs,
        (YAMNET_EMBEDDING,): multiplies.yamnet_macs,
    }
    for keys, count in counts.items():
        featurizer = tf.function(
            Featurizer(keys),
            input_signature=[tf.TensorSpec([None, waveform.CLIP_SAMPLES], tf.float32)],
        )

        def featurize(batch_rows: np.ndarray, featurizer=featurizer) -> None:
            for start in range(0, len(batch_rows), BATCH):
                for value in featurizer(batch_rows[start : start + BATCH]).values():
                    value.numpy()

        done, _, cpu = timed(featurize, prepared, BATCH)
        rows.append((" + ".join(keys), count(), cpu / done))
    return {
        "float32": multiplies.core_macs_per_s(tf.float32),
        "bfloat16": multiplies.core_macs_per_s(tf.bfloat16),
        "rows": rows,
    }


def in_fresh_process(target, *args):
    """Runs ``target(*args, queue)`` in a new spawned process; returns what it put."""
    context = multiprocessing.get_context("spawn")
    queue = context.SimpleQueue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    process.join()
    return queue.get()


def bound_in_process(paths: list[str], queue) -> None:
    """``bound_worker`` for ``in_fresh_process``."""
    queue.put(bound_worker(paths))


def beam_run(paths: list[str], folder: str, beam_args: tuple[str, ...], queue) -> None:
    """featurize.core.run with ``beam_args`` on ``paths``; reports time, CPU, peak RSS, timings."""
    from components.artifacts.names import MANIFEST_FILE
    from components.featurize import core

    folder = tempfile.mkdtemp(dir=folder)
    manifest = os.path.join(folder, MANIFEST_FILE)
    with open(manifest, "w") as handle:
        for index, path in enumerate(paths):
            split = ("train", "train", "validation", "test")[index % 4]
            row = {"clip_id": str(index), "uri": path, "split": split, "label_index": index % 8}
            handle.write(json.dumps(row) + "\n")
    started, cpu = time.perf_counter(), os.times()
    cfg = core.FeaturizeConfig(beam_args=beam_args)
    core.use_worker_thread_pools(cfg)  # as the component and the CLI do
    result = core.run(manifest, os.path.join(folder, "out"), cfg)
    seconds, after = time.perf_counter() - started, os.times()
    cpu_s = sum(after[i] - cpu[i] for i in range(4))  # user + system, self + children
    driver_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    clips = sum(result.clips_per_split.values())
    queue.put((clips, seconds, cpu_s, driver_mb, child_mb, result.timings))


def print_bound(bound: dict) -> None:
    """(0): the MACs per clip of each piece against one core's rate."""
    core = bound["float32"]
    print(
        f"(0) one core: {core / 1e9:.1f} GMAC/s float32, {bound['bfloat16'] / 1e9:.1f} bfloat16 "
        "(1024^3 matmul, one TF thread, per CPU-second)"
    )
    print(f"{'work per 5 s clip':<40} {'MMAC':>8} {'bound/s':>9} {'measured/s':>11} {'share':>6}")
    for name, macs, cpu_s in bound["rows"]:
        limit = core / macs if macs else float("inf")
        print(
            f"{name:<40} {macs / 1e6:>8.1f} {limit:>9.0f} {1 / cpu_s:>11.1f} "
            f"{(1 / cpu_s) / limit:>6.0%}"
        )


def print_beam_timings(timings: dict, clips: int) -> None:
    """Where one Beam run's time went: passes, transforms, DoFns per clip, start-up."""
    for name, run in timings.items():
        transforms = ", ".join(f"{k} {v:.1f}" for k, v in list(run["transforms_s"].items())[:8])
        print(f"    {name} pass {run['seconds']:.1f} s wall; worker-seconds: {transforms}")
        dofns = run["dofns"]
        per_clip = [
            f"{key[:-3]} {dofns[key]['total_s'] / clips * 1e3:.2f}"
            for key in ("decode_us", "resample_us", "features_us", "encode_us")
            if key in dofns
        ]
        if "encode_transformed_us" in dofns:
            total = dofns["encode_transformed_us"]["total_s"]
            per_clip.append(f"encode_transformed {total / clips * 1e3:.2f}")
        if per_clip:
            print(f"      DoFn ms per clip (summed over workers): {', '.join(per_clip)}")
        sizes = [
            f"{key} mean {dofns[key]['mean']:.1f}"
            for key in ("batch_clips", "bundle_clips")
            if key in dofns
        ]
        starts = [
            f"{key[:-3]} max {dofns[key]['max_ms'] / 1e3:.1f} s"
            for key in ("worker_start_us", "setup_us", "first_batch_us")
            if key in dofns
        ]
        if sizes or starts:
            print(f"      {', '.join(sizes + starts)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,4000", help="clips per Beam run, comma-separated")
    parser.add_argument("--audio-dir", default="", help="take clips from here (default: synthetic)")
    parser.add_argument("--rate-clips", type=int, default=1000, help="clips for rates (a)-(c)")
    parser.add_argument("--rounds", type=int, default=3, help="alternated rounds of (a)-(c)")
    parser.add_argument(
        "--beam-arg",
        action="append",
        default=[],
        help="Beam option for (d), repeatable (e.g. --beam-arg=--direct_num_workers=1)",
    )
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(",") if size)
    count = max([*sizes, args.rate_clips])
    source = args.audio_dir or "synthetic: mostly 44.1 kHz, 1-10 s, 16-bit WAV"
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"{started}; cpus: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    print(f"clips: {count} ({source}); Beam options for (d): {args.beam_arg or 'the defaults'}")
    with tempfile.TemporaryDirectory() as folder:
        paths = find_clips(args.audio_dir, count) if args.audio_dir else make_clips(folder, count)
        sample = paths[:: max(1, len(paths) // args.rate_clips)][: args.rate_clips]
        bound = in_fresh_process(bound_in_process, sample[: 4 * BATCH])
        study, beam_path = (
            functools.partial(tf_worker, study_features=True),
            functools.partial(tf_worker, study_features=False),
        )
        runs = {
            LIBROSA_1: (librosa_worker, 1),
            LIBROSA_2: (librosa_worker, 2),
            STUDY_1: (study, 1),
            STUDY_2: (study, 2),
            "(c) Beam DoFns, default feature sets, 1 process": (beam_path, 1),
            DOFNS_2: (beam_path, 2),
        }
        rates, per_round = alternated_rates(sample, runs, args.rounds)
        beam_args = tuple(args.beam_arg)
        beam_rows = [in_fresh_process(beam_run, paths[:size], folder, beam_args) for size in sizes]
    print_bound(bound)
    print(f"(a)-(c): median of {args.rounds} alternated rounds")
    print(f"{'path':<58} {'clips/s':>9} {'CPU ms/clip':>12}")
    for name, (rate, cpu_ms) in rates.items():
        print(f"{name:<58} {rate:>9.1f} {cpu_ms:>12.2f}")
    print(f"(b) / (a) on 2 processes: {median_ratio(per_round, STUDY_2, LIBROSA_2)}")
    print(f"(b) / (a) on 1 process: {median_ratio(per_round, STUDY_1, LIBROSA_1)}")
    print(f"(b) 2 processes / 1 process: {median_ratio(per_round, STUDY_2, STUDY_1)}")
    dofns_rate, dofns_cpu_ms = rates[DOFNS_2]
    for clips, seconds, cpu_s, driver_mb, child_mb, _ in beam_rows:
        name = f"(d) Beam featurize end to end, {clips} clips"
        print(
            f"{name:<58} {clips / seconds:>9.1f} {cpu_s / clips * 1e3:>12.2f}   {seconds:.1f} s, "
            f"{clips / seconds / dofns_rate:.0%} of (c) on 2 processes, CPU per clip "
            f"{cpu_s / clips * 1e3 / dofns_cpu_ms:.2f}x (c)'s, peak RSS driver {driver_mb:.0f} MB, "
            f"largest child {child_mb:.0f} MB"
        )
    if len(beam_rows) > 1:
        (small, small_s, *_), (large, large_s, *_) = beam_rows[-2:]
        per_clip = (large_s - small_s) / (large - small)
        overhead = small_s - small * per_clip
        print(
            f"(d) fixed overhead {overhead:.1f} s, then {1 / per_clip:.1f} clips/s "
            f"({1 / per_clip / dofns_rate:.0%} of (c) on 2 processes)"
        )
    if beam_rows:
        clips, *_, timings = beam_rows[-1]
        print(f"(d) where the {clips}-clip run's time went:")
        print_beam_timings(timings, clips)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
