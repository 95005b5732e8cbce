"""The embedded demo dataset: a small, deterministic, FSD50K-shaped dataset of synthetic clips.

``generate`` writes exactly the files and fields of a real FSD50K download —
``FSD50K.metadata/{dev,eval}_clips_info_FSD50K.json`` (title, description, tags, license,
uploader), ``FSD50K.ground_truth/{dev,eval}.csv`` (``fname,labels,mids``; dev also ``split``
train/val) plus ``vocabulary.csv``, and ``FSD50K.{dev,eval}_audio/<id>.wav`` — so the whole
pipeline runs with no download. Clips follow the scenario table (``scenarios.json``:
class-typical sounds from ``sounds`` under realistic metadata that exercises the taxonomy's
precedence, ambiguity and exact-match misses), with the seed's class imbalance, uploaders with
very different clip counts (a few uploading to both dev and eval), several CC licenses, durations
of 0.3–30 s, sample rates of 8–48 kHz, PCM_16/PCM_24/FLOAT WAVs and some stereo. Six eval clips
are deliberately broken (empty, text named .wav, truncated header, digital silence, NaN samples,
12 kHz) and must reach featurize's dead letter. Everything derives from ``DemoConfig.seed``: the
same seed gives byte-identical files.
"""

import csv
import io
import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, replace

import numpy as np
import soundfile
import tensorflow as tf

from components.audio.labels import CLASS_NAMES
from components.ingest.readers import join
from demo_data import scenarios, sounds

LICENSES: tuple[str, ...] = (
    "http://creativecommons.org/publicdomain/zero/1.0/",
    "http://creativecommons.org/licenses/by/3.0/",
    "http://creativecommons.org/licenses/by-nc/3.0/",
    "http://creativecommons.org/licenses/sampling+/1.0/",
)
SAMPLE_RATES: dict[int, float] = {44100: 0.3, 48000: 0.1, 22050: 0.2, 16000: 0.25, 8000: 0.15}
SUBTYPES: dict[str, float] = {"PCM_16": 0.75, "PCM_24": 0.15, "FLOAT": 0.1}
STEREO_SHARE = 0.1
BROKEN_KINDS: tuple[str, ...] = (
    "empty_file",
    "text_as_wav",
    "truncated_header",
    "silent",
    "nan_samples",
    "unsupported_rate",
)
_DEVICES = (
    "a Zoom H4n",
    "a Tascam DR-40",
    "a Sony PCM-M10",
    "my phone",
    "a Zoom H1",
    "a pair of Rode NT5s",
)
_PLACES = ("at home", "in my flat", "in the kitchen", "outside", "in the garage", "downtown")
_NAME_PARTS = (
    (
        "amber",
        "brook",
        "cedar",
        "delta",
        "ember",
        "fjord",
        "grove",
        "harbor",
        "iris",
        "juniper",
        "kestrel",
        "lumen",
        "mossy",
        "nadir",
        "onyx",
        "pixel",
        "quill",
        "rook",
        "sable",
        "tundra",
    ),
    ("_audio", "sound", "_rec", "fx", "field", "_foley", "lab", "tapes", "noise", "_sfx"),
)
_TEXT_AS_WAV = b"<html><body>Download limit reached. Please try again later.</body></html>\n"


@dataclass(frozen=True)
class DemoConfig:
    """Size and seed of the demo dataset.

    Attributes:
        seed: Seed of everything generated.
        dev_clips: Clips in FSD50K.dev (all become train).
        eval_clips: Clips in FSD50K.eval (validation/test; six of them are broken on purpose).
        dev_uploaders: Distinct uploaders of dev clips.
        eval_uploaders: Distinct uploaders of eval clips (two of them also upload to dev).
    """

    seed: int = 0
    dev_clips: int = 480
    eval_clips: int = 160
    dev_uploaders: int = 40
    eval_uploaders: int = 16

    def __post_init__(self) -> None:
        if self.dev_clips < len(CLASS_NAMES):
            raise ValueError(f"dev_clips must be at least {len(CLASS_NAMES)} (one per class)")
        if self.eval_clips < 2 * len(BROKEN_KINDS):
            raise ValueError(f"eval_clips must be at least {2 * len(BROKEN_KINDS)}")
        if self.dev_uploaders < 3 or self.eval_uploaders < 4:
            raise ValueError("need at least 3 dev and 4 eval uploaders")


@dataclass(frozen=True)
class _Clip:
    clip_id: int
    subset: str
    scenario: scenarios.Scenario
    uploader: str
    license: str
    title: str
    description: str
    tags: tuple[str, ...]
    seconds: float
    rate: int
    subtype: str
    channels: int
    broken: str = ""


def _class_counts(total: int, shares: dict[str, float]) -> dict[str, int]:
    """Largest-remainder allocation of ``total`` clips to the class shares, at least one each."""
    spare = total - len(shares)
    exact = {name: spare * share / sum(shares.values()) for name, share in shares.items()}
    counts = {name: 1 + int(value) for name, value in exact.items()}
    by_remainder = sorted(shares, key=lambda name: int(exact[name]) - exact[name])
    for name in by_remainder[: total - sum(counts.values())]:
        counts[name] += 1
    return counts


def _uploaders(rng: np.random.Generator, count: int, taken: set[str]) -> list[str]:
    names: list[str] = []
    while len(names) < count:
        first, second = rng.choice(_NAME_PARTS[0]), rng.choice(_NAME_PARTS[1])
        suffix = str(rng.integers(2, 99)) if rng.random() < 0.4 else ""
        name = f"{first}{second}{suffix}"
        if name not in taken:
            taken.add(name)
            names.append(name)
    return names


def _zipf(count: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, count + 1) ** 1.2
    return weights / weights.sum()


def _duration(rng: np.random.Generator) -> float:
    draw = rng.random()
    low, high = (0.3, 2.0) if draw < 0.85 else (2.0, 5.0) if draw < 0.97 else (5.0, 30.0)
    return round(float(np.exp(rng.uniform(np.log(low), np.log(high)))), 3)


def _pick(rng: np.random.Generator, options: dict):
    keys = list(options)
    return keys[rng.choice(len(keys), p=np.array(list(options.values())) / sum(options.values()))]


def _plan_subset(
    table: scenarios.ScenarioTable,
    rng: np.random.Generator,
    subset: str,
    total: int,
    clip_ids: list[int],
    uploaders: list[str],
    uploader_license: dict[str, str],
) -> list[_Clip]:
    by_class: dict[str, list[scenarios.Scenario]] = {}
    for scenario in table.scenarios:
        by_class.setdefault(scenario.label, []).append(scenario)
    counts = _class_counts(total, table.class_shares)
    labels = [name for name, n in counts.items() for _ in range(n)]
    rng.shuffle(labels)
    uploader_weights = _zipf(len(uploaders))
    clips = []
    for index, (clip_id, label) in enumerate(zip(clip_ids, labels, strict=True)):
        options = by_class[label]
        weights = np.array([scenario.weight for scenario in options])
        scenario = options[rng.choice(len(options), p=weights / weights.sum())]
        uploader = uploaders[rng.choice(len(uploaders), p=uploader_weights)]
        extras = list(rng.choice(table.neutral_tags, size=rng.integers(0, 4), replace=False))
        if subset == "eval" and rng.random() < 0.4:
            extras.append("field-recording")
        if subset == "dev" and label == "music" and rng.random() < 0.3:
            extras.append("multisample")
        tags = tuple(dict.fromkeys([*scenario.tags, *extras]))
        number = int(rng.integers(1, 40))
        title = (
            f"{scenario.title.lower().replace(' ', '_')}_{number:02d}.wav"
            if rng.random() < 0.4
            else f"{scenario.title} {number}"
        )
        description = (
            f"{scenario.phrase}. Recorded with {rng.choice(_DEVICES)} {rng.choice(_PLACES)}."
        )
        # The first two dev clips pin the range's ends, so padding and trimming both occur.
        seconds = (
            {0: 30.0, 1: 0.3}.get(index, _duration(rng)) if subset == "dev" else _duration(rng)
        )
        long_clip = seconds > 5.0
        rate = int(rng.choice([8000, 16000])) if long_clip else _pick(rng, SAMPLE_RATES)
        subtype = "PCM_16" if long_clip else _pick(rng, SUBTYPES)
        channels = 2 if not long_clip and rng.random() < STEREO_SHARE else 1
        clips.append(
            _Clip(
                clip_id,
                subset,
                scenario,
                uploader,
                uploader_license[uploader],
                title,
                description,
                tags,
                seconds,
                rate,
                subtype,
                channels,
            )
        )
    return clips


def _plan(config: DemoConfig) -> list[_Clip]:
    table = scenarios.load()
    rng = np.random.default_rng([config.seed, 0])
    taken: set[str] = set()
    dev_uploaders = _uploaders(rng, config.dev_uploaders, taken)
    eval_only = _uploaders(rng, config.eval_uploaders - 2, taken)
    # Two dev uploaders also upload to eval: ingest must move those eval clips to train.
    shared = dev_uploaders[1:3]
    eval_uploaders = [*eval_only[:2], shared[0], *eval_only[2:], shared[1]]
    license_weights = [0.4, 0.3, 0.2, 0.1]
    licenses = {
        name: LICENSES[int(rng.choice(len(LICENSES), p=license_weights))]
        for name in [*dev_uploaders, *eval_only]
    }
    ids = rng.choice(
        np.arange(1000, 460000), size=config.dev_clips + config.eval_clips, replace=False
    )
    ids = [int(clip_id) for clip_id in ids]
    dev = _plan_subset(
        table, rng, "dev", config.dev_clips, ids[: config.dev_clips], dev_uploaders, licenses
    )
    evaluation = _plan_subset(
        table, rng, "eval", config.eval_clips, ids[config.dev_clips :], eval_uploaders, licenses
    )
    # Broken files are eval clips of eval-only uploaders: rebalance (train only) cannot drop
    # them and ingest cannot move them to train, so they always reach featurize's dead letter.
    for index, kind in enumerate(BROKEN_KINDS):
        clip = evaluation[index]
        uploader = (
            clip.uploader if clip.uploader in eval_only else eval_only[index % len(eval_only)]
        )
        evaluation[index] = replace(
            clip, broken=kind, channels=1, uploader=uploader, license=licenses[uploader]
        )
    return dev + evaluation


def _wav(samples: np.ndarray, rate: int, subtype: str) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, subtype=subtype, format="WAV")
    data = bytearray(buffer.getvalue())
    # libsndfile stamps float WAVs' PEAK chunk (id, size, version, timestamp...) with the wall
    # clock; zero the timestamp so the same seed gives byte-identical files.
    peak = data.find(b"PEAK", 12, 512)
    if peak >= 0:
        data[peak + 12 : peak + 16] = bytes(4)
    return bytes(data)


def _audio_bytes(clip: _Clip, seed: int) -> bytes:
    rng = np.random.default_rng([seed, 1, clip.clip_id])
    if clip.broken == "empty_file":
        return b""
    if clip.broken == "text_as_wav":
        return _TEXT_AS_WAV
    samples = sounds.render(clip.scenario.synth, rng, clip.seconds, clip.rate)
    if clip.broken == "truncated_header":
        # libsndfile reads a WAV cut inside its data; one cut before the data chunk is undecodable.
        return _wav(samples, clip.rate, "PCM_16")[:36]
    if clip.broken == "silent":
        return _wav(np.zeros_like(samples), clip.rate, "PCM_16")
    if clip.broken == "nan_samples":
        samples[:: max(1, samples.size // 50)] = np.nan
        return _wav(samples, clip.rate, "FLOAT")
    if clip.broken == "unsupported_rate":
        return _wav(samples[: int(clip.seconds * 12000)], 12000, "PCM_16")
    if clip.channels == 2:
        delay = int(rng.integers(1, max(2, clip.rate // 1000)))
        right = np.roll(samples, delay)
        right[:delay] = 0.0
        samples = np.stack([samples, rng.uniform(0.6, 1.0) * right], axis=1)
    return _wav(samples, clip.rate, clip.subtype)


def _write(path: str, data: bytes | str) -> None:
    with tf.io.gfile.GFile(path, "wb" if isinstance(data, bytes) else "w") as handle:
        handle.write(data)


def _ground_truth(clips: list[_Clip], with_split: bool, val_uploaders: set[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["fname", "labels", "mids", *(["split"] if with_split else [])])
    for clip in clips:
        row = [
            clip.clip_id,
            ",".join(label for label, _ in clip.scenario.audioset),
            ",".join(mid for _, mid in clip.scenario.audioset),
        ]
        if with_split:
            row.append("val" if clip.uploader in val_uploaders else "train")
        writer.writerow(row)
    return buffer.getvalue()


def _readme(config: DemoConfig) -> str:
    return (
        "# Household-sounds demo dataset (synthetic, FSD50K layout)\n\n"
        "Generated by `demo_data/dataset.py` with "
        f"{json.dumps(asdict(config))}. Every sound is synthesized; no Freesound audio is "
        "included. Titles, tags, uploaders and licenses are invented but shaped like FSD50K's, "
        "so the whole pipeline runs offline. Six eval clips are broken on purpose.\n"
    )


def generate(output_dir: str, config: DemoConfig) -> dict:
    """Writes the demo dataset under ``output_dir`` (local or ``gs://``).

    Args:
        output_dir: Dataset root to create (it then holds the ``FSD50K.*`` folders).
        config: Seed and size.

    Returns:
        JSON-serialisable summary: clips and intended labels per subset, broken clips, bytes
        and audio seconds written, wall seconds taken.
    """
    started = time.perf_counter()
    clips = _plan(config)
    for folder in (
        "FSD50K.metadata",
        "FSD50K.ground_truth",
        "FSD50K.dev_audio",
        "FSD50K.eval_audio",
        "FSD50K.doc",
    ):
        tf.io.gfile.makedirs(join(output_dir, folder))
    total_bytes = 0
    for clip in clips:
        data = _audio_bytes(clip, config.seed)
        total_bytes += len(data)
        _write(join(output_dir, f"FSD50K.{clip.subset}_audio", f"{clip.clip_id}.wav"), data)
    dev_uploaders = sorted({clip.uploader for clip in clips if clip.subset == "dev"})
    val_rng = np.random.default_rng([config.seed, 2])
    val_uploaders = set(
        val_rng.choice(dev_uploaders, size=max(1, len(dev_uploaders) // 8), replace=False)
    )
    vocabulary: dict[str, str] = {}
    for subset in ("dev", "eval"):
        members = [clip for clip in clips if clip.subset == subset]
        info = {
            str(clip.clip_id): {
                "title": clip.title,
                "description": clip.description,
                "tags": list(clip.tags),
                "license": clip.license,
                "uploader": clip.uploader,
            }
            for clip in members
        }
        _write(
            join(output_dir, "FSD50K.metadata", f"{subset}_clips_info_FSD50K.json"),
            json.dumps(info),
        )
        _write(
            join(output_dir, "FSD50K.ground_truth", f"{subset}.csv"),
            _ground_truth(members, subset == "dev", val_uploaders),
        )
        for clip in members:
            vocabulary.update(clip.scenario.audioset)
    _write(
        join(output_dir, "FSD50K.ground_truth", "vocabulary.csv"),
        "".join(
            f"{i},{label},{mid}\n" for i, (label, mid) in enumerate(sorted(vocabulary.items()))
        ),
    )
    _write(join(output_dir, "FSD50K.doc", "README.md"), _readme(config))
    return {
        "output_dir": output_dir,
        "config": asdict(config),
        "clips": dict(Counter(clip.subset for clip in clips)),
        "labels": {
            subset: {
                name: sum(c.scenario.label == name for c in clips if c.subset == subset)
                for name in CLASS_NAMES
            }
            for subset in ("dev", "eval")
        },
        "broken": {str(clip.clip_id): clip.broken for clip in clips if clip.broken},
        "uploaders": len({clip.uploader for clip in clips}),
        "bytes": total_bytes,
        "audio_seconds": round(sum(clip.seconds for clip in clips), 1),
        "seconds": round(time.perf_counter() - started, 2),
    }
