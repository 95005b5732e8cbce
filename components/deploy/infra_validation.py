"""Infra validation: the export must load and answer in the serving image's TensorFlow, as TFX's.

Before a version is published, ``validate`` replays its warmup records and a few of the run's
test clips (``test_clips``: the first WAV files of the manifest's test split, by clip id) through
the export twice, the way TF Serving runs them (``serving_replay.py``): in this process, with the
export's TensorFlow, and in a subprocess with the TensorFlow that the pinned TF Serving image is
built on (``serving_stack.SERVING_TENSORFLOW``; the environment is ``serving_tf.py``'s). It
refuses (``InfraValidationError``, a message naming every request that differs and how) when the
serving TensorFlow cannot load the SavedModel (an op it does not register, say), fails a request
the export's TensorFlow answers or the reverse, or answers with other output names, dtypes,
shapes or values (floats beyond ``TOLERANCE``, anything else not equal); also when the export
does not load the TF Serving way even in its own TensorFlow, or the subprocess crashes or
outlives ``TIMEOUT_S``. A clip both refuse (too short, say) agrees: TF Serving would answer it
INVALID_ARGUMENT in both. What cannot be checked here: TF Serving's own C++ (batching, the model
server's request parsing), which the image alone runs.
"""

import base64
import json
import logging
import os
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2

from components.artifacts import model_base
from components.artifacts.manifest import read_manifest
from components.artifacts.names import SERVED_MODEL_NAME, TEST
from components.artifacts.serving_stack import SERVING_IMAGE
from components.artifacts.signature import DEFAULT_SIGNATURE, WAV_INPUT
from components.deploy import serving_replay, serving_tf, warmup

TOLERANCE = 1e-5
TIMEOUT_S = 600
# A clip larger than TF Serving's request limit (serving/limits.py) would never reach the model.
MAX_CLIP_BYTES = 32 * 1024 * 1024


class InfraValidationError(RuntimeError):
    """The export would fail, or answer differently, in the serving image's TensorFlow."""


@dataclass(frozen=True)
class Clip:
    """A recording replayed through the export.

    Attributes:
        name: Its clip id (or file name).
        wav: The WAV file's bytes.
    """

    name: str
    wav: bytes


@dataclass(frozen=True, kw_only=True)
class Report:
    """A passed infra validation.

    Attributes:
        image: The TF Serving image whose TensorFlow answered.
        tensorflow: That TensorFlow's version.
        export_tensorflow: The TensorFlow the export was checked against (this process's).
        requests: Requests replayed (warmup records and clips).
        clips: Of which test clips.
        max_abs_difference: Largest difference between the two TensorFlows' float outputs.
        seconds: Wall time of the whole validation.
        serving_seconds: Of which the serving TensorFlow's subprocess.
    """

    image: str
    tensorflow: str
    export_tensorflow: str
    requests: int
    clips: int
    max_abs_difference: float
    seconds: float
    serving_seconds: float

    def summary(self) -> dict:
        """JSON-serialisable form."""
        return asdict(self)


def is_wav(data: bytes) -> bool:
    """Whether ``data`` starts like a RIFF/WAVE file (what ``serving_default`` takes)."""
    return data[:4] == b"RIFF" and data[8:12] == b"WAVE"


def test_clips(manifest_path: str, count: int) -> list[Clip]:
    """The first ``count`` test-split WAV files of the manifest, by clip id.

    A clip whose file cannot be read, is not a WAV file (the signature takes WAV; clients
    re-encode other formats) or is over ``MAX_CLIP_BYTES`` is passed over with a warning.
    """
    rows = sorted(
        (row for row in read_manifest(manifest_path) if row.get("split") == TEST),
        key=lambda row: row["clip_id"],
    )
    clips: list[Clip] = []
    for row in rows:
        if len(clips) == count:
            break
        try:
            if tf.io.gfile.stat(row["uri"]).length > MAX_CLIP_BYTES:
                logging.warning("infra validation: %s is over 32 MiB; passed over", row["uri"])
                continue
            with tf.io.gfile.GFile(row["uri"], "rb") as handle:
                data = handle.read()
        except (tf.errors.OpError, OSError) as error:
            logging.warning("infra validation: cannot read %s (%s); passed over", row["uri"], error)
            continue
        if is_wav(data):
            clips.append(Clip(str(row["clip_id"]), data))
    return clips


def _outputs(entry: dict) -> dict[str, np.ndarray]:
    response = predict_pb2.PredictResponse.FromString(base64.b64decode(entry["response"]))
    return {key: tf.make_ndarray(value) for key, value in response.outputs.items()}


def _first(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def output_differences(
    expected: dict[str, np.ndarray], actual: dict[str, np.ndarray]
) -> tuple[list[str], float]:
    """How ``actual`` differs from ``expected`` (one line per output), and the largest float gap."""
    if set(expected) != set(actual):
        return [f"outputs {sorted(actual)} instead of {sorted(expected)}"], 0.0
    found, largest = [], 0.0
    for key in sorted(expected):
        want, got = expected[key], actual[key]
        if want.dtype != got.dtype or want.shape != got.shape:
            found.append(
                f"{key} is {got.dtype} {list(got.shape)} instead of {want.dtype} {list(want.shape)}"
            )
            continue
        if want.dtype.kind in "fc":
            nan_differs = np.isnan(want) != np.isnan(got)
            gap = np.where(np.isnan(want) | np.isnan(got), 0.0, np.abs(want - got))
            worst = float(gap.max()) if gap.size else 0.0
            largest = max(largest, worst)
            if nan_differs.any():
                found.append(f"{key} is NaN in one TensorFlow only at {_first(nan_differs)}")
            elif worst > TOLERANCE:
                at = _first(gap == worst)
                found.append(
                    f"{key} differs by up to {worst:.3g} (> {TOLERANCE:g}) at {at}: "
                    f"{got[at]!r} instead of {want[at]!r}"
                )
        elif not np.array_equal(want, got):
            unequal = want != got
            at = _first(unequal)
            found.append(
                f"{key}: {int(unequal.sum())} of {want.size} values differ, first at {at}: "
                f"{got[at]!r} instead of {want[at]!r}"
            )
    return found, largest


def compare(reference: dict, served: dict, labels: Sequence[str]) -> tuple[list[str], float]:
    """Every way the serving TensorFlow's replay differs from the export's, and the largest gap.

    Args:
        reference: ``serving_replay.replay``'s result in the export's TensorFlow.
        served: The same in the serving TensorFlow.
        labels: What each request is, for the messages.
    """
    ours, theirs = reference["tensorflow"], served["tensorflow"]
    if served["load_error"]:
        return [f"TensorFlow {theirs} cannot load the SavedModel: {served['load_error']}"], 0.0
    problems: dict[str, list[str]] = {}  # what differs → the requests it differs on
    largest = 0.0
    for label, want, got in zip(labels, reference["results"], served["results"], strict=True):
        if want["error"] and got["error"]:
            continue  # refused by both, as TF Serving would refuse it
        if got["error"]:
            found = [f"TensorFlow {theirs} fails: {got['error']}"]
        elif want["error"]:
            found = [f"answered by {theirs}, refused by {ours}: {want['error']}"]
        else:
            found, worst = output_differences(_outputs(want), _outputs(got))
            largest = max(largest, worst)
        for line in found:
            problems.setdefault(line, []).append(label)
    return [f"{', '.join(where)}: {line}" for line, where in problems.items()], largest


def _own_problems(reference: dict, labels: Sequence[str], warmup_count: int) -> list[str]:
    """Why the export fails TF Serving's way of loading it in its own TensorFlow, if it does."""
    if reference["load_error"]:
        return [f"cannot load it: {reference['load_error']}"]
    failing: dict[str, list[str]] = {}
    for label, result in list(zip(labels, reference["results"], strict=True))[:warmup_count]:
        if result["error"]:
            failing.setdefault(result["error"], []).append(label)
    return [f"{', '.join(where)} fail: {error}" for error, where in failing.items()]


def _serving_replay(python: str, export_dir: str, request_files: list[str], scratch: str) -> dict:
    """``serving_replay.py`` run by ``python`` (the serving TensorFlow's), its result read back."""
    result_path = os.path.join(scratch, "served.json")
    command = [python, "-I", serving_replay.__file__, export_dir, result_path, *request_files]
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=TIMEOUT_S, env=environment
        )
    except subprocess.TimeoutExpired:
        raise InfraValidationError(
            f"infra validation: the serving TensorFlow's replay did not finish within "
            f"{TIMEOUT_S} s; nothing published"
        ) from None
    if done.returncode != 0 or not os.path.exists(result_path):
        tail = " | ".join(done.stderr.strip().splitlines()[-5:])
        raise InfraValidationError(
            f"infra validation: the serving TensorFlow's replay exited {done.returncode} "
            f"without a result ({tail}); nothing published"
        )
    with open(result_path) as handle:
        return json.load(handle)


def validate(
    export_dir: str, clips: Sequence[Clip] = (), model_name: str = SERVED_MODEL_NAME
) -> Report:
    """Replays the export's warmup records and ``clips`` in both TensorFlows; refuses on a change.

    Args:
        export_dir: Local SavedModel directory with its warmup file (``warmup.write``).
        clips: Recordings to replay besides the warmup records (``test_clips``).
        model_name: Served model name written into the clips' requests.

    Returns:
        What was replayed and how close the answers were.

    Raises:
        InfraValidationError: If the export would fail or answer differently in TF Serving.
        serving_tf.ServingTensorflowError: If the serving TensorFlow's environment is missing
            and cannot be installed (the message says how to fix it).
    """
    started = time.monotonic()
    environment = serving_tf.interpreter()
    warmup_requests = model_base.warmup_file(export_dir)
    with tempfile.TemporaryDirectory(prefix="infra-validation-") as scratch:
        clips_file = os.path.join(scratch, "clips.tfrecord")
        warmup.write_requests(
            clips_file,
            [
                warmup.predict_request(model_name, DEFAULT_SIGNATURE, WAV_INPUT, [c.wav])
                for c in clips
            ],
        )
        request_files = [warmup_requests, clips_file]
        requests = serving_replay.read_requests(request_files)
        warmup_count = len(requests) - len(clips)
        labels = [
            f"warmup record {i + 1} ({request.model_spec.signature_name})"
            for i, request in enumerate(requests[:warmup_count])
        ] + [f"test clip {clip.name}" for clip in clips]
        reference = serving_replay.replay(export_dir, request_files)
        own = _own_problems(reference, labels, warmup_count)
        if own:
            raise InfraValidationError(
                f"infra validation: loaded as TF Serving loads it, the export fails even in its "
                f"own TensorFlow {reference['tensorflow']}: {'; '.join(own)}; nothing published"
            )
        serving_started = time.monotonic()
        served = _serving_replay(environment.python, export_dir, request_files, scratch)
        serving_seconds = time.monotonic() - serving_started
    problems, largest = compare(reference, served, labels)
    if problems:
        raise InfraValidationError(
            f"infra validation: TensorFlow {served['tensorflow']} (the TensorFlow of "
            f"{SERVING_IMAGE}, which serves the model) differs from the export's TensorFlow "
            f"{reference['tensorflow']} ({len(requests)} requests replayed): "
            f"{'; '.join(problems)}; nothing published (--skip-infra-validation publishes anyway)"
        )
    return Report(
        image=SERVING_IMAGE,
        tensorflow=served["tensorflow"],
        export_tensorflow=reference["tensorflow"],
        requests=len(requests),
        clips=len(clips),
        max_abs_difference=largest,
        seconds=round(time.monotonic() - started, 2),
        serving_seconds=round(serving_seconds, 2),
    )
