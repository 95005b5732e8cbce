"""Property: whatever a clip file holds, the Beam decode path never raises and loses nothing.

Real small WAV (PCM_16, FLOAT stereo, PCM_24 6-channel), FLAC and OGG/Vorbis files are mutated
by hypothesis (``mutations.py``: truncation, bit flips, byte overwrites and insertions anywhere,
and overwrites of the header fields that size a decode: WAV channels/rate/bits/data size, FLAC
STREAMINFO rate/channels/bits/total frames, Vorbis channels/rate with the Ogg CRCs recomputed so
the change reaches the decoder) and fed, as files, through ``DecodeClip`` exactly as the Beam
job calls it. Every clip must come out either as one example plus its stats, or as one
dead-letter row with a known reason, within a bounded allocation; the clips that come out are
then featurized and their features must be finite. The number of examples and the per-example
deadline bound the time.
"""

import logging
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from components.artifacts.names import CLIP_STATS, DEAD_LETTER
from components.audio import decode, feature_sets, waveform
from components.audio.resample import SUPPORTED_RATES
from components.featurize import clips
from tests.helpers.mutations import SEEDS, mutated_files

MAX_TRACED_BYTES = 32 << 20  # per decode; the seeds are < 100 kB


def decode_through_dofn(dofn: clips.DecodeClip, path: str) -> tuple[list, int]:
    """Runs the DoFn on one file; returns what it yielded and the peak traced allocation."""
    record = {"clip_id": "fuzz", "uri": path, "split": "train", "label_index": 3}
    tracemalloc.start()
    try:
        outputs = list(dofn.process(record))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return outputs, peak


def check_outcome(outputs: list) -> dict | None:
    """Asserts one clip's outcome is an example plus stats or one dead-letter row."""
    tagged = [out for out in outputs if not isinstance(out, dict)]
    examples = [out for out in outputs if isinstance(out, dict)]
    if examples:
        assert len(examples) == 1 and [t.tag for t in tagged] == [CLIP_STATS]
        example = examples[0]
        assert example["sample_rate"] in SUPPORTED_RATES
        assert example["samples"].dtype == np.float32 and example["samples"].ndim == 1
        assert 0 < example["samples"].size <= waveform.samples_needed(example["sample_rate"])
        assert np.all(np.isfinite(example["samples"]))
        return example
    assert len(tagged) == 1 and tagged[0].tag == DEAD_LETTER, outputs
    row = tagged[0].value
    assert row["reason"] in decode.REASONS and row["detail"], row
    assert row["clip_id"] == "fuzz" and row["uri"]
    return None


@pytest.fixture
def quiet():
    """Silences the DoFn's per-clip dead-letter warnings (hundreds of them)."""
    logging.disable(logging.WARNING)
    yield
    logging.disable(logging.NOTSET)


@pytest.mark.timeout(120)
@pytest.mark.filterwarnings("ignore:Generating overly large repr")
def test_mutated_files_are_featurized_or_dead_lettered(tmp_path, quiet, fault_record):
    dofn = clips.DecodeClip()
    dofn.setup()
    accepted: list[dict] = []
    reasons: dict[str, int] = {}
    decoded = [0]
    path = str(tmp_path / "clip")
    for name, data in SEEDS.items():  # warm up (first calls load codecs); seeds must decode
        (tmp_path / name).write_bytes(data)
        assert check_outcome(decode_through_dofn(dofn, str(tmp_path / name))[0]) is not None

    @settings(
        max_examples=300,
        deadline=3000,
        database=None,
        derandomize=True,  # the same mutations on every run: a CI failure reproduces
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(mutated_files())
    def property_(case):
        _, data = case
        with open(path, "wb") as handle:
            handle.write(data)
        outputs, peak = decode_through_dofn(dofn, path)
        fault_record["inputs"] += 1
        assert peak < MAX_TRACED_BYTES, peak
        example = check_outcome(outputs)
        if example is None:
            reason = outputs[0].value["reason"]
            reasons[reason] = reasons.get(reason, 0) + 1
        else:
            decoded[0] += 1
            if len(accepted) < 64:
                accepted.append(example)

    property_()
    # Mutations that leave a valid file must featurize to finite numbers, not poison the scaling.
    assert accepted and len(reasons) >= 3, reasons
    compute = clips.ComputeFeatures(feature_sets.DEFAULT)
    compute.setup()
    compute.start_bundle()  # as Beam calls it before the bundle's batches
    for start in range(0, len(accepted), 16):
        for _, serialized in compute.process(accepted[start : start + 16]):
            example = waveform.tf.train.Example.FromString(serialized)
            for key in ("log_mel", "mfcc", "mean_mfcc"):
                values = np.array(example.features.feature[key].float_list.value)
                assert values.size and np.all(np.isfinite(values)), key
    # Every input came out once, as an example or a dead-letter row (else check_outcome failed).
    fault_record["lost"] = fault_record["inputs"] - decoded[0] - sum(reasons.values())
    fault_record["details"] = {"featurized": decoded[0], "dead_lettered": reasons}
    print(f"accepted {decoded[0]}; dead-lettered by reason {reasons}")
