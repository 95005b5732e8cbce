"""Light client for the served household-sounds model: TF Serving gRPC (port 8500) and REST (8501).

Applications send whole WAV files; the model decodes and featurizes them itself, so no client
re-implements the featurizer. Nothing here imports TensorFlow: ``GrpcClient`` speaks
``tensorflow.serving.PredictionService`` (``Predict`` and ``GetModelMetadata``, called by their
method paths) with the messages generated into ``serving/protos`` and converts tensors by hand
(``serving/tensors.py``); ``RestClient`` posts ``{"instances": [{"b64": ...}]}`` to
``/v1/models/<name>:predict`` with urllib. Both ask for the version a ``VersionChoice`` names (a
number, a label such as ``stable``, or by default the newest the server has loaded) and reach the
server as a ``Security`` says (TLS, client certificate, bearer token, headers:
``serving/security.py``). Both decode every output the signature returns, so a
``Prediction`` carries the class, its probabilities (for a clip longer than 5 s, the mean over its
overlapping 5 s windows), its ``Window`` timeline and any further per-clip outputs, and both
raise ``ServingError`` with the server's gRPC status name (e.g. ``INVALID_ARGUMENT``) when a
request is rejected. They work against TF Serving and the development server alike.
``predict_files`` classifies any number of audio files: read (a format other than WAV re-encoded
as WAV, ``audio_bytes``), grouped into requests within the server's limits
(``serving/limits.py``), and answered file by file, so one bad file fails only itself.
"""

import base64
import io
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import numpy as np

from components.artifacts.names import SERVED_MODEL_NAME
from components.artifacts.signature import (
    CLASS_INDEX,
    CLASS_NAME,
    DEFAULT_SIGNATURE,
    MAX_PROBABILITIES,
    PROBABILITIES,
    WAV_INPUT,
    WAVEFORM_INPUT,
    WAVEFORM_SIGNATURE,
    WINDOW_CLASS_NAME,
    WINDOW_COUNT,
    WINDOW_END_S,
    WINDOW_OUTPUTS,
    WINDOW_PROBABILITIES,
    WINDOW_START_S,
)
from serving import limits
from serving.protos import get_model_metadata_pb2, predict_pb2
from serving.security import Security, explain_failure
from serving.status import ServingError, code_for_http_status
from serving.tensors import dtype_name, to_ndarray, to_tensor_proto

TIMEOUT_S = 30.0  # seconds per request, unless the caller says otherwise
# The service the RPCs belong to: its full proto name is part of each method path.
PREDICTION_SERVICE = "tensorflow.serving.PredictionService"
SIGNATURE_DEF_MAP = "tensorflow.serving.SignatureDefMap"
CLASS_OUTPUTS = (CLASS_NAME, CLASS_INDEX, PROBABILITIES)


@dataclass(frozen=True)
class VersionChoice:
    """Which version of the model a request asks for (TF Serving's ``ModelSpec.version_choice``).

    Attributes:
        version: A version number.
        label: A version label (``stable``, ``canary``) the server's config assigns.
        Neither: the newest version the server has loaded.
    """

    version: int | None = None
    label: str | None = None

    def __post_init__(self) -> None:
        if self.version is not None and self.label is not None:
            raise ValueError("ask for a version or a label, not both")
        if self.version is not None and self.version < 0:
            raise ValueError(f"a version is a non-negative integer, got {self.version}")
        if self.label is not None and not self.label.strip():
            raise ValueError("the version label is empty")

    def apply(self, spec) -> None:
        """Sets the choice on a ``ModelSpec`` (its ``name`` is set by the caller)."""
        if self.version is not None:
            spec.version.value = self.version
        elif self.label is not None:
            spec.version_label = self.label

    def rest_path(self) -> str:
        """The REST path segment: ``/versions/<n>``, ``/labels/<label>`` or nothing."""
        if self.version is not None:
            return f"/versions/{self.version}"
        if self.label is not None:
            return f"/labels/{urllib.parse.quote(self.label, safe='')}"
        return ""


@dataclass(frozen=True)
class Window:
    """The model's answer for one 5 s window of a clip (docs/contracts.md).

    Attributes:
        start_s: Where the window starts in the clip, in seconds.
        end_s: Where it ends (the clip's end when that comes first).
        class_name: Most probable class in the window.
        probabilities: One probability per class, in class-index order.
    """

    start_s: float
    end_s: float
    class_name: str
    probabilities: tuple[float, ...]

    def to_json(self, class_names: Sequence[str]) -> dict:
        """JSON form with probabilities keyed by class name."""
        return {
            "start_s": round(self.start_s, 4),
            "end_s": round(self.end_s, 4),
            CLASS_NAME: self.class_name,
            PROBABILITIES: dict(zip(class_names, self.probabilities, strict=True)),
        }


@dataclass(frozen=True)
class Prediction:
    """The model's answer for one clip.

    Attributes:
        class_name: Most probable class (of the mean over windows).
        class_index: Its index in ``components.audio.labels.CLASS_NAMES``.
        probabilities: One probability per class, in class-index order (the mean over windows).
        outputs: Every other per-clip output of the signature for this clip, as JSON values
            (``max_probabilities``, ``clip_duration_s``, ...).
        windows: The clip's 5 s windows in time order (empty from a signature without them).
    """

    class_name: str
    class_index: int
    probabilities: tuple[float, ...]
    outputs: Mapping[str, object] = field(default_factory=dict)
    windows: tuple[Window, ...] = ()

    def to_json(self, class_names: Sequence[str]) -> dict:
        """JSON form with probabilities keyed by class name, the other outputs, the windows."""
        result = {
            CLASS_NAME: self.class_name,
            CLASS_INDEX: self.class_index,
            PROBABILITIES: dict(zip(class_names, self.probabilities, strict=True)),
            **self.outputs,
        }
        if MAX_PROBABILITIES in self.outputs:
            maxima = self.outputs[MAX_PROBABILITIES]
            result[MAX_PROBABILITIES] = dict(zip(class_names, maxima, strict=True))
        if self.windows:
            result["windows"] = [window.to_json(class_names) for window in self.windows]
        return result


def _windows(outputs: Mapping[str, Sequence], clip: int) -> tuple[Window, ...]:
    """The first ``window_count`` entries of one clip's padded window outputs."""
    if WINDOW_COUNT not in outputs:
        return ()
    return tuple(
        Window(
            float(outputs[WINDOW_START_S][clip][k]),
            float(outputs[WINDOW_END_S][clip][k]),
            _jsonable(outputs[WINDOW_CLASS_NAME][clip][k]),
            tuple(float(p) for p in outputs[WINDOW_PROBABILITIES][clip][k]),
        )
        for k in range(int(outputs[WINDOW_COUNT][clip]))
    )


def _jsonable(value):
    """An output value (array, bytes, NumPy scalar) as plain JSON types."""
    if isinstance(value, np.ndarray):
        return [_jsonable(item) for item in value] if value.ndim else _jsonable(value.item())
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.generic):
        return value.item()
    return value


def predictions_from_outputs(outputs: Mapping[str, Sequence]) -> list[Prediction]:
    """Output name → batch-major values (arrays or lists) → one ``Prediction`` per clip.

    Outputs whose first dimension is not the batch (a scalar, say) are given to every clip.
    """
    missing = [name for name in CLASS_OUTPUTS if name not in outputs]
    if missing:
        raise ServingError("INTERNAL", f"the response lacks outputs {missing}")
    batch = len(outputs[CLASS_NAME])
    rows = []
    for i in range(batch):
        extra = {
            key: _jsonable(value[i] if _is_batched(value, batch) else value)
            for key, value in sorted(outputs.items())
            if key not in CLASS_OUTPUTS and key not in WINDOW_OUTPUTS
        }
        rows.append(
            Prediction(
                _jsonable(outputs[CLASS_NAME][i]),
                int(outputs[CLASS_INDEX][i]),
                tuple(float(p) for p in outputs[PROBABILITIES][i]),
                extra,
                _windows(outputs, i),
            )
        )
    return rows


def _is_batched(value, batch: int) -> bool:
    return np.ndim(value) > 0 and len(value) == batch


class GrpcClient:
    """TF Serving's ``PredictionService`` over gRPC."""

    def __init__(
        self,
        target: str,
        model_name: str = SERVED_MODEL_NAME,
        timeout_s: float = TIMEOUT_S,
        *,
        choice: VersionChoice = VersionChoice(),
        security: Security = Security(),
    ):
        """Opens a channel (TLS if ``security`` says so).

        Args:
            target: ``host:port`` of the gRPC API (TF Serving's 8500).
            model_name: Served model name.
            timeout_s: Deadline per call.
            choice: The version every call asks for.
            security: TLS and the credentials sent with every call.

        Raises:
            ValueError: Credentials that would go in plaintext beyond this machine.
            FileNotFoundError: A CA bundle, certificate or key that cannot be read.
        """
        self.target = target
        self.model_name = model_name
        self.timeout_s = timeout_s
        self.choice = choice
        self._metadata_pairs = security.metadata() or None
        # TF Serving accepts large requests; batches of WAVs exceed gRPC's 4 MB default.
        options = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]
        self._channel = security.grpc_channel(target, options)
        self._predict = self._channel.unary_unary(
            f"/{PREDICTION_SERVICE}/Predict",
            request_serializer=predict_pb2.PredictRequest.SerializeToString,
            response_deserializer=predict_pb2.PredictResponse.FromString,
        )
        self._metadata = self._channel.unary_unary(
            f"/{PREDICTION_SERVICE}/GetModelMetadata",
            request_serializer=get_model_metadata_pb2.GetModelMetadataRequest.SerializeToString,
            response_deserializer=get_model_metadata_pb2.GetModelMetadataResponse.FromString,
        )

    def _call(self, method, request):
        try:
            return method(request, timeout=self.timeout_s, metadata=self._metadata_pairs)
        except grpc.RpcError as error:
            code = error.code().name
            message = explain_failure(self.target, code, error.details() or "")
            raise ServingError(code, message) from None

    def __enter__(self) -> "GrpcClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Closes the channel."""
        self._channel.close()

    def predict(self, signature: str, inputs: Mapping[str, object]) -> dict[str, np.ndarray]:
        """Runs one ``Predict`` call: input name → array in, output name → array out."""
        return {
            key: to_ndarray(value)
            for key, value in self.predict_response(signature, inputs).outputs.items()
        }

    def predict_response(
        self, signature: str, inputs: Mapping[str, object]
    ) -> predict_pb2.PredictResponse:
        """Runs one ``Predict`` call: the raw response (its ``model_spec`` names the version)."""
        request = predict_pb2.PredictRequest()
        request.model_spec.name = self.model_name
        request.model_spec.signature_name = signature
        self.choice.apply(request.model_spec)
        for key, value in inputs.items():
            request.inputs[key].CopyFrom(to_tensor_proto(value))
        return self._call(self._predict, request)

    def predict_wav(self, wavs: Sequence[bytes]) -> list[Prediction]:
        """Classifies whole WAV files (any format and rate the served model accepts)."""
        batch = np.empty(len(wavs), dtype=object)
        batch[:] = list(wavs)
        return predictions_from_outputs(self.predict(DEFAULT_SIGNATURE, {WAV_INPUT: batch}))

    def predict_waveforms(self, clips: np.ndarray) -> list[Prediction]:
        """Classifies ``[batch, 110250]`` float32 clips already at 22,050 Hz."""
        outputs = self.predict(WAVEFORM_SIGNATURE, {WAVEFORM_INPUT: np.asarray(clips, np.float32)})
        return predictions_from_outputs(outputs)

    def model_metadata(
        self, fields: Sequence[str]
    ) -> get_model_metadata_pb2.GetModelMetadataResponse:
        """One ``GetModelMetadata`` call asking for ``fields``: the raw response."""
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=list(fields))
        request.model_spec.name = self.model_name
        self.choice.apply(request.model_spec)
        return self._call(self._metadata, request)

    def metadata(self) -> dict[str, dict]:
        """Signature name → ``{"inputs"|"outputs": {name: {"dtype", "shape"}}}``."""
        signatures = signature_def_map(self.model_metadata(["signature_def"]))
        return {
            name: {
                "inputs": {k: _tensor_info(v) for k, v in signature.inputs.items()},
                "outputs": {k: _tensor_info(v) for k, v in signature.outputs.items()},
            }
            for name, signature in signatures.signature_def.items()
        }


def signature_def_map(
    response: get_model_metadata_pb2.GetModelMetadataResponse,
) -> get_model_metadata_pb2.SignatureDefMap:
    """The ``signature_def`` field of a metadata response (packed under TF Serving's type name)."""
    packed = response.metadata["signature_def"]
    if packed.type_url.rsplit("/", 1)[-1] != SIGNATURE_DEF_MAP:
        raise ServingError("INTERNAL", f"signature_def metadata is a {packed.type_url}")
    return get_model_metadata_pb2.SignatureDefMap.FromString(packed.value)


def _tensor_info(info) -> dict:
    shape = [dim.size for dim in info.tensor_shape.dim]
    return {"dtype": dtype_name(info.dtype), "shape": shape}


def request_json(
    request: "urllib.request.Request | str",
    timeout_s: float,
    context: "ssl.SSLContext | None" = None,
) -> dict:
    """One HTTP request to TF Serving's REST API: its JSON answer, or a ``ServingError``."""
    url = request.full_url if isinstance(request, urllib.request.Request) else request
    try:
        with urllib.request.urlopen(request, timeout=timeout_s, context=context) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        try:
            message = json.load(error).get("error", "")
        except ValueError:
            message = str(error)
        raise ServingError(code_for_http_status(error.code), message) from None
    except (urllib.error.URLError, OSError) as error:  # OSError: TLS 1.3 refusals, resets
        reason = getattr(error, "reason", error)
        if isinstance(reason, TimeoutError):
            raise ServingError("DEADLINE_EXCEEDED", f"no answer within {timeout_s:g} s") from None
        netloc = urllib.parse.urlsplit(url).netloc
        message = explain_failure(netloc, "UNAVAILABLE", str(reason))
        raise ServingError("UNAVAILABLE", message) from None


class RestClient:
    """TF Serving's REST API (``/v1/models/<name>[/versions/<n>|/labels/<label>]``)."""

    def __init__(
        self,
        base_url: str,
        model_name: str = SERVED_MODEL_NAME,
        timeout_s: float = TIMEOUT_S,
        *,
        choice: VersionChoice = VersionChoice(),
        security: Security = Security(),
    ):
        """Remembers where the server is.

        Args:
            base_url: ``http://host:port`` (or ``https://``) of the REST API (TF Serving's 8501).
            model_name: Served model name.
            timeout_s: Timeout per request.
            choice: The version every request asks for.
            security: TLS and the credentials sent with every request.

        Raises:
            ValueError: Credentials that would go in plaintext beyond this machine.
            FileNotFoundError: A CA bundle, certificate or key that cannot be read.
        """
        netloc = urllib.parse.urlsplit(base_url).netloc
        if not base_url.startswith("https://"):
            security.check(netloc)
        self.root = f"{base_url.rstrip('/')}/v1/models/{model_name}"
        self.url = f"{self.root}{choice.rest_path()}:predict"
        self.timeout_s = timeout_s
        self.choice = choice
        self._headers = security.http_headers()
        self._context = security.ssl_context()

    def __enter__(self) -> "RestClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release (one connection per request); here to match ``GrpcClient``."""

    def get_json(self, suffix: str = "") -> dict:
        """``GET <root>[/versions/<n>|/labels/<label>]<suffix>``: status (no suffix) or metadata."""
        url = f"{self.root}{self.choice.rest_path()}{suffix}"
        request = urllib.request.Request(url, headers=self._headers)
        return request_json(request, self.timeout_s, self._context)

    def version_states(self) -> dict[int, str]:
        """Version → state (``AVAILABLE``, ``LOADING``...) from TF Serving's model status."""
        answer = self.get_json()
        return {
            int(entry["version"]): entry["state"]
            for entry in answer.get("model_version_status", [])
        }

    def predict_wav(self, wavs: Sequence[bytes]) -> list[Prediction]:
        """Classifies whole WAV files sent base64-encoded in the row format."""
        instances = [{"b64": base64.b64encode(wav).decode("ascii")} for wav in wavs]
        body = json.dumps({"instances": instances}).encode()
        headers = {**self._headers, "Content-Type": "application/json"}
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        rows = request_json(request, self.timeout_s, self._context)["predictions"]
        if not rows:
            return []
        return predictions_from_outputs({key: [row[key] for row in rows] for key in rows[0]})


def connect(
    target: str,
    rest: bool = False,
    model_name: str = SERVED_MODEL_NAME,
    timeout_s: float = TIMEOUT_S,
    *,
    choice: VersionChoice = VersionChoice(),
    security: Security = Security(),
) -> GrpcClient | RestClient:
    """A client for ``host:port``: gRPC (TF Serving's 8500) or, with ``rest``, REST (8501)."""
    if rest:
        base_url = f"{security.scheme()}://{target}"
        return RestClient(base_url, model_name, timeout_s, choice=choice, security=security)
    return GrpcClient(target, model_name, timeout_s, choice=choice, security=security)


# The error code of a file the client could not read or decode (nothing was sent for it).
UNREADABLE = "UNREADABLE"
# WAV subtypes a re-encoded file keeps (exact for integer PCM); any other becomes 32-bit float.
_KEPT_SUBTYPES = ("PCM_U8", "PCM_16", "PCM_24", "PCM_32")


def audio_bytes(path: str) -> bytes:
    """A file as the served model takes it: a WAV file's bytes, or any other audio re-encoded.

    Any other format libsndfile reads (FLAC, OGG, AIFF, ...) is decoded and re-encoded as WAV at
    its own rate and channels.

    Raises:
        OSError: The file cannot be read.
        soundfile.LibsndfileError: It is not audio libsndfile can decode.
    """
    data = Path(path).read_bytes()
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return data
    import soundfile

    with soundfile.SoundFile(io.BytesIO(data)) as audio:
        subtype = audio.subtype if audio.subtype in _KEPT_SUBTYPES else "FLOAT"
        samples, rate = audio.read(dtype="float32", always_2d=True), audio.samplerate
    encoded = io.BytesIO()
    soundfile.write(encoded, samples, rate, subtype=subtype, format="WAV")
    return encoded.getvalue()


def _error(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def _score(client: GrpcClient | RestClient, wavs: list[bytes]) -> list[dict]:
    """Each file's prediction (JSON) or error; a refused request is retried file by file."""
    from components.audio.labels import CLASS_NAMES

    try:
        return [prediction.to_json(CLASS_NAMES) for prediction in client.predict_wav(wavs)]
    except ServingError as error:
        if error.code != "INVALID_ARGUMENT" or len(wavs) == 1:
            return [_error(error.code, error.message) for _ in wavs]
        return [outcome for wav in wavs for outcome in _score(client, [wav])]


def predict_files(
    paths: Sequence[str],
    target: str,
    model_name: str,
    timeout_s: float,
    rest: bool = False,
    *,
    choice: VersionChoice = VersionChoice(),
    security: Security = Security(),
) -> list[dict]:
    """Classifies audio files with the model served at ``target`` (``host:port``), gRPC or REST.

    ``choice`` picks the version (a number or a label) and ``security`` how to reach the server
    (``connect``).

    Files go in requests of at most ``limits.MAX_BATCH_SIZE`` files and
    ``limits.MAX_MESSAGE_BYTES``; a request the server refuses as ``INVALID_ARGUMENT`` is
    resent file by file, so the error lands on the file that caused it.

    Returns:
        One dict per path, in order: ``{"file": path, "class_name": ..., ...}`` with every
        further output of the signature, or ``{"file": path, "error": {"code", "message"}}``
        with the server's gRPC status name, ``RESOURCE_EXHAUSTED`` for a file too large for any
        request, or ``UNREADABLE`` for a file that could not be read or decoded.
    """
    results: list[dict] = [{"file": path} for path in paths]
    ready: list[tuple[int, bytes]] = []
    for index, path in enumerate(paths):
        try:
            data = audio_bytes(path)
        except (OSError, RuntimeError) as error:  # soundfile's errors are RuntimeErrors
            reason = (error.strerror if isinstance(error, OSError) else None) or str(error)
            results[index].update(_error(UNREADABLE, reason))
            continue
        if not limits.fits_one_request(len(data), rest):
            limit = limits.MAX_MESSAGE_BYTES
            message = f"{len(data)} bytes: more than one request may hold ({limit}); split it"
            results[index].update(_error("RESOURCE_EXHAUSTED", message))
            continue
        ready.append((index, data))
    if ready:
        with connect(
            target, rest, model_name, timeout_s, choice=choice, security=security
        ) as client:
            for request in limits.batches([len(data) for _, data in ready], rest):
                members = [ready[position] for position in request]
                outcomes = _score(client, [data for _, data in members])
                for (index, _), outcome in zip(members, outcomes, strict=True):
                    results[index].update(outcome)
    return results
