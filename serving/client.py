"""Client for the served household-sounds model: TF Serving gRPC (port 8500) and REST (8501).

Applications send whole WAV files; the model decodes and featurizes them itself, so no client
re-implements the featurizer. ``GrpcClient`` uses the official ``tensorflow-serving-api`` stubs
(``Predict`` and ``GetModelMetadata``), ``RestClient`` posts ``{"instances": [{"b64": ...}]}`` to
``/v1/models/<name>:predict``. Both return ``Prediction`` objects and raise ``ServingError`` with
the server's gRPC status name (e.g. ``INVALID_ARGUMENT``) when a request is rejected. They work
against TF Serving and against the development server (``serving/dev_server.py``) alike.
"""

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
import numpy as np

from components.artifacts.signature import (
    CLASS_INDEX,
    CLASS_NAME,
    DEFAULT_SIGNATURE,
    PROBABILITIES,
    WAV_INPUT,
    WAVEFORM_INPUT,
    WAVEFORM_SIGNATURE,
)
from serving.status import ServingError, code_for_http_status

DEFAULT_MODEL_NAME = "household_sounds"


@dataclass(frozen=True)
class Prediction:
    """The model's answer for one clip.

    Attributes:
        class_name: Most probable class.
        class_index: Its index in ``components.audio.labels.CLASS_NAMES``.
        probabilities: One probability per class, in class-index order.
    """

    class_name: str
    class_index: int
    probabilities: tuple[float, ...]

    def to_json(self, class_names: Sequence[str]) -> dict:
        """JSON form with probabilities keyed by class name."""
        return {
            CLASS_NAME: self.class_name,
            CLASS_INDEX: self.class_index,
            PROBABILITIES: dict(zip(class_names, self.probabilities, strict=True)),
        }


def _predictions(names, indices, probabilities) -> list[Prediction]:
    return [
        Prediction(
            name.decode() if isinstance(name, bytes) else str(name),
            int(index),
            tuple(float(p) for p in row),
        )
        for name, index, row in zip(names, indices, probabilities, strict=True)
    ]


class GrpcClient:
    """TF Serving's ``PredictionService`` over gRPC."""

    def __init__(self, target: str, model_name: str = DEFAULT_MODEL_NAME, timeout_s: float = 30.0):
        """Opens an insecure channel.

        Args:
            target: ``host:port`` of the gRPC API (TF Serving's 8500).
            model_name: Served model name.
            timeout_s: Deadline per call.
        """
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        self.model_name = model_name
        self.timeout_s = timeout_s
        # TF Serving accepts large requests; batches of WAVs exceed gRPC's 4 MB default.
        options = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]
        self._channel = grpc.insecure_channel(target, options=options)
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)

    def __enter__(self) -> "GrpcClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Closes the channel."""
        self._channel.close()

    def _predict(self, signature: str, key: str, value: np.ndarray) -> list[Prediction]:
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2

        request = predict_pb2.PredictRequest()
        request.model_spec.name = self.model_name
        request.model_spec.signature_name = signature
        request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
        try:
            response = self._stub.Predict(request, timeout=self.timeout_s)
        except grpc.RpcError as error:
            raise ServingError(error.code().name, error.details() or "") from None
        outputs = {k: tf.make_ndarray(v) for k, v in response.outputs.items()}
        return _predictions(outputs[CLASS_NAME], outputs[CLASS_INDEX], outputs[PROBABILITIES])

    def predict_wav(self, wavs: Sequence[bytes]) -> list[Prediction]:
        """Classifies whole WAV files (16-bit PCM, any supported rate, mono or stereo)."""
        return self._predict(DEFAULT_SIGNATURE, WAV_INPUT, np.array(list(wavs), dtype=object))

    def predict_waveforms(self, clips: np.ndarray) -> list[Prediction]:
        """Classifies ``[batch, 110250]`` float32 clips already at 22,050 Hz."""
        return self._predict(WAVEFORM_SIGNATURE, WAVEFORM_INPUT, np.asarray(clips, np.float32))

    def metadata(self) -> dict[str, dict]:
        """Signature name → ``{"inputs"|"outputs": {name: {"dtype", "shape"}}}``."""
        from tensorflow_serving.apis import get_model_metadata_pb2

        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        request.model_spec.name = self.model_name
        try:
            response = self._stub.GetModelMetadata(request, timeout=self.timeout_s)
        except grpc.RpcError as error:
            raise ServingError(error.code().name, error.details() or "") from None
        signatures = get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(signatures)
        return {
            name: {
                "inputs": {k: _tensor_info(v) for k, v in signature.inputs.items()},
                "outputs": {k: _tensor_info(v) for k, v in signature.outputs.items()},
            }
            for name, signature in signatures.signature_def.items()
        }


def _tensor_info(info) -> dict:
    import tensorflow as tf

    shape = [dim.size for dim in info.tensor_shape.dim]
    return {"dtype": tf.dtypes.as_dtype(info.dtype).name, "shape": shape}


class RestClient:
    """TF Serving's REST API (``POST /v1/models/<name>:predict``)."""

    def __init__(
        self, base_url: str, model_name: str = DEFAULT_MODEL_NAME, timeout_s: float = 30.0
    ):
        """Remembers where the server is.

        Args:
            base_url: ``http://host:port`` of the REST API (TF Serving's 8501).
            model_name: Served model name.
            timeout_s: Timeout per request.
        """
        self.url = f"{base_url.rstrip('/')}/v1/models/{model_name}:predict"
        self.timeout_s = timeout_s

    def predict_wav(self, wavs: Sequence[bytes]) -> list[Prediction]:
        """Classifies whole WAV files sent base64-encoded in the row format."""
        instances = [{"b64": base64.b64encode(wav).decode("ascii")} for wav in wavs]
        body = json.dumps({"instances": instances}).encode()
        request = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                rows = json.load(response)["predictions"]
        except urllib.error.HTTPError as error:
            try:
                message = json.load(error).get("error", "")
            except ValueError:
                message = str(error)
            raise ServingError(code_for_http_status(error.code), message) from None
        except urllib.error.URLError as error:
            raise ServingError("UNAVAILABLE", str(error.reason)) from None
        return _predictions(
            [row[CLASS_NAME] for row in rows],
            [row[CLASS_INDEX] for row in rows],
            [row[PROBABILITIES] for row in rows],
        )


def predict_files(
    paths: Sequence[str], target: str, model_name: str, timeout_s: float, rest: bool = False
) -> list[dict]:
    """Classifies WAV files with the model served at ``target`` (``host:port``), gRPC or REST.

    Returns one ``{"file": path, "class_name": ..., ...}`` per path, in order.

    Raises:
        ServingError: the server rejected the request (its gRPC status name and message).
    """
    from components.audio.labels import CLASS_NAMES

    wavs = [Path(path).read_bytes() for path in paths]
    if rest:
        predictions = RestClient(f"http://{target}", model_name, timeout_s).predict_wav(wavs)
    else:
        with GrpcClient(target, model_name, timeout_s) as client:
            predictions = client.predict_wav(wavs)
    pairs = zip(paths, predictions, strict=True)
    return [{"file": path, **prediction.to_json(CLASS_NAMES)} for path, prediction in pairs]
