"""A real Beam featurize run over good clips and hostile files: nothing lost, memory bounded.

The issue's failure, reproduced and fixed: one 110-byte FLAC whose header claims 2^36 frames
made featurize allocate 256 GiB and fail the whole job, losing every good clip. Here the
manifest mixes good clips of every container and rate (plus a legal 599 s FLAC that decodes
26 M frames from 1 MB) with that FLAC, 1 MB FLAC bombs, a directory, a missing file, a
symbolic-link loop, a FIFO, a device, a sparse 300 MB file and broken audio of each kind. The
job runs in a child process (``featurize_run.py``) first on the good clips alone, then on
everything: every good clip must be featurized, every hostile one dead-lettered with its
expected reason, and the hostile files may add at most ``MAX_EXTRA_RSS_MB`` to the run's peak
resident memory (each run's own peak, measured in the child).
"""

import glob
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from components.featurize import core
from tests.helpers import hostile, wavs

MAX_EXTRA_RSS_MB = 64  # an unbounded decode of the long FLAC alone would hold 2 × 106 MB
REPO = Path(__file__).resolve().parents[2]


def good_clips(root: Path) -> dict[str, Path]:
    """Valid clips of every container and a range of rates and channel counts."""
    cases = {
        "wav16_mono": (hostile.tone(1.0, 16000), 16000, "WAV", "PCM_16"),
        "wav44_stereo_float": (hostile.tone(7.0, 44100, 2), 44100, "WAV", "FLOAT"),
        "wav48_6ch_24": (hostile.tone(2.0, 48000, 6), 48000, "WAV", "PCM_24"),
        "wav8": (hostile.tone(3.0, 8000), 8000, "WAV", "PCM_16"),
        "wav96": (hostile.tone(0.5, 96000), 96000, "WAV", "PCM_24"),
        "flac22": (hostile.tone(5.5, 22050), 22050, "FLAC", "PCM_16"),
        "flac32_stereo": (hostile.tone(1.5, 32000, 2), 32000, "FLAC", "PCM_24"),
        "ogg16": (hostile.tone(2.5, 16000), 16000, "OGG", "VORBIS"),
        "ogg44_stereo": (hostile.tone(4.0, 44100, 2), 44100, "OGG", "VORBIS"),
        "aiff24": (hostile.tone(1.0, 24000), 24000, "AIFF", "PCM_16"),
    }
    paths = {}
    for name, (samples, rate, fmt, subtype) in cases.items():
        paths[name] = root / f"{name}.{fmt.lower()}"
        paths[name].write_bytes(hostile.encode(samples, rate, fmt, subtype))
    return paths


def hostile_files(root: Path) -> dict[str, tuple[Path, str]]:
    """Hostile paths and the dead-letter reason each must get."""
    write = {
        "flac_claims_2^36_frames": (hostile.flac(hostile.MAX_FLAC_FRAMES, 110), "too_long"),
        "flac_1mb_bomb_claims_2^36": (
            hostile.flac(hostile.MAX_FLAC_FRAMES, 1_000_000),
            "too_long",
        ),
        "flac_1mb_bomb_unknown_length": (hostile.flac(0, 1_000_000), "unknown_length"),
        "flac_truncated": (hostile.flac(hostile.FLAC_BLOCK * 10, 81), "truncated"),
        "wav_claims_4gb_holds_23ms": (
            wavs.overclaim(
                hostile.encode(hostile.tone(0.023, 44100), 44100, "WAV", "PCM_16"), 2**32 - 16
            ),
            "truncated",
        ),
        "wav_one_sample": (
            hostile.encode(hostile.tone(1 / 16000, 16000), 16000, "WAV", "PCM_16"),
            "too_short",
        ),
        "empty": (b"", "empty_file"),
        "text": (b"this is not audio\n" * 20, "undecodable"),
        "wav_truncated_header": (hostile.good_files()["wav16"][:30], "undecodable"),
        "wav_100_channels": (
            hostile.encode(hostile.tone(0.01, 16000, 100), 16000, "WAV", "PCM_16"),
            "too_many_channels",
        ),
        "wav_12khz": (
            hostile.encode(hostile.tone(1, 12000), 12000, "WAV", "PCM_16"),
            ("unsupported_rate"),
        ),
        "wav_silent": (
            hostile.encode(np.zeros((8000, 1), np.float32), 16000, "WAV", "PCM_16"),
            "silent",
        ),
        "wav_nan": (
            hostile.encode(np.full((800, 1), np.nan, np.float32), 16000, "WAV", "FLOAT"),
            "non_finite",
        ),
        "wav_1e30": (
            hostile.encode(np.full((800, 1), 1e30, np.float32), 16000, "WAV", "FLOAT"),
            "out_of_range",
        ),
    }
    files = {}
    for name, (data, reason) in write.items():
        files[name] = (root / f"{name}.bin", reason)
        files[name][0].write_bytes(data)
    sparse = root / "sparse_300mb.wav"
    with open(sparse, "wb") as handle:
        handle.truncate(300 * 1024 * 1024)
    files["sparse_300mb"] = (sparse, "too_large")
    reasons = {"directory": "not_a_file", "missing": "unreadable", "fifo": "not_a_file",
               "symlink_loop": "symlink_loop"}  # fmt: skip
    for name, path in hostile.place(root).items():
        files[name] = (path, reasons[name])
    files["device"] = (Path("/dev/zero"), "not_a_file")
    return files


def write_manifest(path: Path, clips: dict[str, Path]) -> str:
    rows = [
        {"clip_id": name, "uri": str(uri), "split": "train", "label_index": i % 8}
        for i, (name, uri) in enumerate(clips.items())
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


def featurized_ids(directory: Path) -> set[str]:
    files = glob.glob(str(directory / core.RAW_DIR / "*" / f"*{core.RAW_SUFFIX}"))
    ids = set()
    for record in tf.data.TFRecordDataset(files):
        example = tf.train.Example.FromString(record.numpy())
        ids.add(example.features.feature["clip_id"].bytes_list.value[0].decode())
    return ids


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_beam_featurize_survives_hostile_files_in_bounded_memory(tmp_path, fault_record):
    audio = tmp_path / "audio"
    audio.mkdir()
    good = good_clips(audio)
    long_flac = audio / "long_599s.flac"
    long_flac.write_bytes(hostile.flac(599 * 44100, 1_000_000))
    bad = hostile_files(audio)
    good_manifest = write_manifest(tmp_path / "good.jsonl", good)
    everything = {**good, "long_599s": long_flac, **{name: path for name, (path, _) in bad.items()}}
    all_manifest = write_manifest(tmp_path / "all.jsonl", everything)
    child = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.helpers.featurize_run",
            good_manifest,
            all_manifest,
            str(tmp_path / "out"),
        ],  # fmt: skip
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    measured = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"featurize under hostile input: {measured}")
    kept = featurized_ids(tmp_path / "out" / "all")
    dead = [json.loads(line) for line in (tmp_path / "out" / "all" / "dead_letter.jsonl").open()]
    fault_record.update(
        inputs=len(everything),
        lost=len({*good, "long_599s"} - kept) + len(bad) - len(dead),
        details={
            "good": len(good) + 1,
            "hostile": len(bad),
            "extra_peak_rss_mb": round(measured["peak_rss_mb_all"] - measured["peak_rss_mb_good"]),
        },
    )
    assert featurized_ids(tmp_path / "out" / "good") == set(good)
    assert kept == {*good, "long_599s"}
    assert {row["clip_id"]: row["reason"] for row in dead} == {
        name: reason for name, (_, reason) in bad.items()
    }
    assert all(row["detail"] for row in dead)
    stats = [json.loads(line) for line in (tmp_path / "out" / "all" / "clip_stats.jsonl").open()]
    long_stats = next(row for row in stats if row["clip_id"] == "long_599s")
    assert long_stats["duration_s"] == pytest.approx(599) and long_stats["trimmed"]
    assert measured["peak_reset_good"] and measured["peak_reset_all"], "peak RSS not reset"
    extra = measured["peak_rss_mb_all"] - measured["peak_rss_mb_good"]
    assert extra < MAX_EXTRA_RSS_MB, measured
