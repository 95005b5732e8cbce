"""Benchmark: what featurize costs per clip, for each feature set, in CPU milliseconds (measured).

    python benchmarks/feature_cost.py AUDIO_DIR [--clips 256]

Takes the first ``--clips`` audio files below ``AUDIO_DIR`` (sorted) through featurize's own path,
one stage at a time, in one process: decode (``components.audio.decode``: the leading samples a
5 s clip needs, as the Beam job's ``DecodeClip`` reads them), prepare (``waveform.RatePreparer``:
mono, 22,050 Hz, 5 s) and then the featurizer (``components.audio.featurizer.Featurizer``) for
one feature set at a time on batches of 32, each after one warm-up batch. The spectral sets
(log-mel, MFCC, mean MFCC) are one computation in the featurizer, so they are one row. Each row
gives CPU milliseconds per clip (process time, every thread: the figure that stays meaningful
when other jobs share the cores) and clips per wall second (which does not). The Beam job's own
overhead (two passes, tf.Transform, TFRecord writing) is ``benchmarks/featurize.py``'s.
"""

import argparse
import functools
import os
import time
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from components.audio.features import MN04_EMBEDDING, YAMNET_EMBEDDING

BATCH_SIZE = 32
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
# A row per computation the featurizer does: the spectral sets come out of one.
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "log_mel + mfcc + mean_mfcc": ("log_mel", "mfcc", "mean_mfcc"),
    YAMNET_EMBEDDING: (YAMNET_EMBEDDING,),
    MN04_EMBEDDING: (MN04_EMBEDDING,),
}


def audio_files(folder: str, count: int) -> list[str]:
    """The first ``count`` audio files below ``folder``, in sorted order."""
    found = sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(folder)
        for name in names
        if name.lower().endswith(AUDIO_SUFFIXES)
    )
    return found[:count]


def decode(paths: Sequence[str]) -> list[tuple[np.ndarray, int]]:
    """``(mono samples a 5 s clip needs, rate)`` per file, as featurize decodes them.

    Raises:
        AudioDecodeError: A file featurize would dead-letter (the benchmark's input is chosen).
    """
    from components.audio import waveform
    from components.audio.decode import decode_file

    decoded = [decode_file(path, waveform.samples_needed) for path in paths]
    return [(clip.mono(), clip.sample_rate) for clip in decoded]


@functools.cache
def _preparer():
    from components.audio import waveform

    return waveform.RatePreparer()


def prepare(decoded: Sequence[tuple[np.ndarray, int]]) -> np.ndarray:
    """``[clips, CLIP_SAMPLES]`` float32: decoded clips prepared (mono, 22,050 Hz, 5 s)."""
    return _preparer()([samples for samples, _ in decoded], [rate for _, rate in decoded]).numpy()


def batches(items: Sequence, batch_size: int = BATCH_SIZE) -> Iterator[Sequence]:
    """``items`` in consecutive batches of ``batch_size`` (the last may be shorter)."""
    for start in range(0, len(items), batch_size):
        yield items[start : start + batch_size]


def featurizer(keys: Sequence[str]) -> Callable[[np.ndarray], dict]:
    """The pipeline's featurizer for ``keys``, traced once for any batch size."""
    import tensorflow as tf

    from components.audio.featurizer import Featurizer
    from components.audio.waveform import CLIP_SAMPLES

    module = Featurizer(keys)
    return tf.function(module.__call__, input_signature=[tf.TensorSpec([None, CLIP_SAMPLES])])


def _timed(action: Callable[[], object]) -> tuple[object, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def _row(stage: str, clips: int, wall: float, cpu: float) -> dict:
    return {
        "stage": stage,
        "clips": clips,
        "cpu_ms_per_clip": round(1000 * cpu / clips, 2),
        "clips_per_s": round(clips / wall, 1) if wall > 0 else None,
    }


def measure(
    paths: Sequence[str],
    feature_sets: dict[str, tuple[str, ...]] = FEATURE_SETS,
    batch_size: int = BATCH_SIZE,
) -> list[dict]:
    """A row per stage: decode, prepare, then each feature set (``FEATURE_SETS``' names)."""
    decoded, wall, cpu = _timed(lambda: decode(paths))
    rows = [_row("decode", len(paths), wall, cpu)]
    prepare(decoded[:batch_size])  # trace
    prepared, wall, cpu = _timed(lambda: [prepare(b) for b in batches(decoded, batch_size)])
    rows.append(_row("prepare (mono, 22,050 Hz, 5 s)", len(paths), wall, cpu))
    for name, keys in feature_sets.items():
        compute = featurizer(keys)
        compute(prepared[0])  # trace and warm up
        _, wall, cpu = _timed(lambda c=compute: [c(batch) for batch in prepared])
        rows.append(_row(name, len(paths), wall, cpu))
    return rows


def markdown(rows: list[dict]) -> str:
    """The rows as a Markdown table."""
    lines = ["| stage | clips | CPU ms per clip | clips/s (wall) |", "|---|---:|---:|---:|"]
    lines += [
        f"| {r['stage']} | {r['clips']} | {r['cpu_ms_per_clip']:.1f} | {r['clips_per_s']} |"
        for r in rows
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("audio_dir", metavar="AUDIO_DIR")
    parser.add_argument("--clips", type=int, default=256, help="files to measure on")
    args = parser.parse_args()
    paths = audio_files(args.audio_dir, args.clips)
    if not paths:
        raise SystemExit(f"no audio files below {args.audio_dir}")
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start")
    print(markdown(measure(paths)))


if __name__ == "__main__":
    main()
