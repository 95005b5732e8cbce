"""TF Serving warmup records: ``assets.extra/tf_serving_warmup_requests`` in every model version.

TF Serving replays these ``PredictionLog`` records when it loads a version, before it reports the
version available, so the first real request does not pay for lazy kernel and graph setup. The
requests are built here from generated audio (a 5 s chirp encoded as 16-bit WAV with TF's own
``encode_wav``): one ``serving_default`` request per supported sample rate, so every resampler
branch runs once, one batch, one recording long enough for the stepped classification loop of
long audio (``export.WINDOWS_PER_STEP`` + 1 windows, at the lowest rate to keep the file small),
and one ``waveform`` request.
"""

import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

from components.artifacts.model_base import assets_dir, warmup_file
from components.artifacts.signature import (
    DEFAULT_SIGNATURE,
    WAV_INPUT,
    WAVEFORM_INPUT,
    WAVEFORM_SIGNATURE,
)
from components.audio import timeline, waveform
from components.audio.resample import SUPPORTED_RATES
from components.deploy.export import WINDOWS_PER_STEP

WARMUP_BATCH = 8
# The shortest recording cut into more windows than one classification step takes.
LONG_SECONDS = waveform.CLIP_SECONDS + WINDOWS_PER_STEP * timeline.HOP_SECONDS


def chirp(sample_rate: int, seconds: float = waveform.CLIP_SECONDS) -> np.ndarray:
    """A quiet 100 Hz → 4 kHz linear chirp, float32 ``[samples]``."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    phase = 2 * np.pi * (100.0 * t + (4000.0 - 100.0) * t**2 / (2 * seconds))
    return (0.25 * np.sin(phase)).astype(np.float32)


def wav_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    """Encodes ``[samples]`` float32 audio as a 16-bit PCM WAV file."""
    return tf.audio.encode_wav(samples[:, None], sample_rate).numpy()


def predict_request(model_name: str, signature: str, key: str, value) -> predict_pb2.PredictRequest:
    """A ``PredictRequest`` of one input ``key`` (any value ``tf.make_tensor_proto`` takes)."""
    spec = model_pb2.ModelSpec(name=model_name, signature_name=signature)
    return predict_pb2.PredictRequest(model_spec=spec, inputs={key: tf.make_tensor_proto(value)})


def requests(model_name: str) -> list[predict_pb2.PredictRequest]:
    """The warmup requests for a model served as ``model_name``."""

    def request(signature: str, key: str, value) -> predict_pb2.PredictRequest:
        return predict_request(model_name, signature, key, value)

    one_per_rate = [
        request(DEFAULT_SIGNATURE, WAV_INPUT, [wav_bytes(chirp(rate), rate)])
        for rate in SUPPORTED_RATES
    ]
    clip = wav_bytes(chirp(waveform.SAMPLE_RATE), waveform.SAMPLE_RATE)
    batch = request(DEFAULT_SIGNATURE, WAV_INPUT, [clip] * WARMUP_BATCH)
    rate = min(SUPPORTED_RATES)
    long = request(DEFAULT_SIGNATURE, WAV_INPUT, [wav_bytes(chirp(rate, LONG_SECONDS), rate)])
    clips = np.stack([chirp(waveform.SAMPLE_RATE)] * 2)
    return [*one_per_rate, batch, long, request(WAVEFORM_SIGNATURE, WAVEFORM_INPUT, clips)]


def write_requests(path: str, predict_requests: list[predict_pb2.PredictRequest]) -> str:
    """Writes ``predict_requests`` as a TFRecord of ``PredictionLog`` records (warmup format)."""
    with tf.io.TFRecordWriter(path) as writer:
        for request in predict_requests:
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request)
            )
            writer.write(log.SerializeToString())
    return path


def write(export_dir: str, model_name: str) -> str:
    """Writes the warmup file into ``export_dir/assets.extra/`` and returns its path."""
    tf.io.gfile.makedirs(assets_dir(export_dir))
    return write_requests(warmup_file(export_dir), requests(model_name))


def read(path: str) -> list[prediction_log_pb2.PredictionLog]:
    """Parses a warmup file back into ``PredictionLog`` records."""
    return [
        prediction_log_pb2.PredictionLog.FromString(record.numpy())
        for record in tf.data.TFRecordDataset(path)
    ]
