"""DEVELOPMENT SERVER: a stand-in for TF Serving's ``PredictionService`` over exported models.

The TF Serving binary is not installable on development machines without Docker, so this module
serves the exported SavedModels over the real wire protocol (the official
``tensorflow-serving-api`` stubs) on 127.0.0.1, letting clients, the CLI, tests and benchmarks
run unchanged against it. It is not a production server: it loads only the highest integer
version under ``<model_base>/<model_name>/`` at start-up (no polling) and, like TF Serving,
replays its warmup requests before serving; it has no batching and no monitoring. It
implements ``Predict`` and ``GetModelMetadata`` (``Classify``, ``Regress`` and
``MultiInference`` answer ``UNIMPLEMENTED``). Beyond TF Serving, ``GetModelMetadata`` also
answers the metadata field ``model_card``: the version's ``assets.extra/model_card.json``
(``components/model_card.py``) as a packed ``google.protobuf.StringValue``; TF Serving rejects
that field with ``INVALID_ARGUMENT`` (it serves ``signature_def`` only and never reads
``assets.extra/`` beyond the warmup file), so there the card is read from the model base
(``serving/describe.py``). It rejects requests as TF Serving does: an
unknown model or version is ``NOT_FOUND``; a missing or unexpected input, a wrong dtype or
shape, or an ``InvalidArgumentError`` raised by the model is ``INVALID_ARGUMENT`` with the
message; and it keeps serving afterwards. ``serving/rest.py`` adds the REST ``:predict`` API.
"""

import logging
import os
import re
from concurrent import futures
from dataclasses import dataclass

import grpc
import numpy as np
import tensorflow as tf
from google.protobuf import wrappers_pb2
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    predict_pb2,
    prediction_log_pb2,
    prediction_service_pb2_grpc,
)

from components.artifacts.names import ASSETS_EXTRA_DIR, VERSION_CARD_JSON
from components.artifacts.signature import DEFAULT_SIGNATURE
from serving.status import ServingError

BANNER = "DEVELOPMENT SERVER (a stand-in for TF Serving, not for production)"
# Largest request, gRPC and REST alike; k8s/base/deployment.yaml gives TF Serving the same
# (--grpc_channel_arguments). 32 MiB holds a batch of about 200 five-second 16 kHz WAV clips.
MAX_MESSAGE_BYTES = 32 * 1024 * 1024
SIGNATURE_DEF_FIELD = "signature_def"
WARMUP_FILE = "assets.extra/tf_serving_warmup_requests"  # TF Serving's fixed location
MODEL_CARD_FIELD = "model_card"
_FUNCTION_NODE = re.compile(r"\{\{function_node [^}]*\}\}\s*")


@dataclass(frozen=True)
class ServedModel:
    """One loaded model version.

    Attributes:
        name: Served model name.
        version: Integer version directory it was loaded from.
        path: That directory.
        loaded: The ``tf.saved_model.load`` result.
        signature_defs: The SavedModel's ``SignatureDef`` protos by name (for metadata).
    """

    name: str
    version: int
    path: str
    loaded: object
    signature_defs: dict

    def card_json(self) -> str | None:
        """The text of ``assets.extra/model_card.json``, or None if the version has none."""
        path = os.path.join(self.path, ASSETS_EXTRA_DIR, VERSION_CARD_JSON)
        if not tf.io.gfile.exists(path):
            return None
        with tf.io.gfile.GFile(path) as handle:
            return handle.read()


def latest_version(model_root: str) -> int:
    """The highest integer-named child of ``model_root`` (what TF Serving serves by default).

    Raises:
        FileNotFoundError: If there is none.
    """
    versions = [int(name) for name in tf.io.gfile.listdir(model_root) if name.strip("/").isdigit()]
    if not versions:
        raise FileNotFoundError(f"no integer version directory under {model_root}")
    return max(versions)


def load_model(model_base: str, name: str) -> ServedModel:
    """Loads the latest version of model ``name`` under ``model_base``."""
    version = latest_version(os.path.join(model_base, name))
    path = os.path.join(model_base, name, str(version))
    graph = saved_model_pb2.SavedModel()
    with tf.io.gfile.GFile(os.path.join(path, "saved_model.pb"), "rb") as handle:
        graph.ParseFromString(handle.read())
    signature_defs = dict(graph.meta_graphs[0].signature_def)
    signature_defs.pop("__saved_model_init_op", None)
    loaded = tf.saved_model.load(path)
    _replay_warmup(loaded, os.path.join(path, WARMUP_FILE))
    return ServedModel(name, version, path, loaded, signature_defs)


def _replay_warmup(loaded, warmup_path: str) -> None:
    """Runs the version's warmup requests, as TF Serving does before serving a version."""
    if not tf.io.gfile.exists(warmup_path):
        return
    for record in tf.data.TFRecordDataset(warmup_path):
        request = prediction_log_pb2.PredictionLog.FromString(record.numpy()).predict_log.request
        signature = loaded.signatures[request.model_spec.signature_name or DEFAULT_SIGNATURE]
        signature(**{key: tf.make_ndarray(value) for key, value in request.inputs.items()})


def _clean(message: str) -> str:
    """The op's own error text, without TF's "Graph execution error" preamble and node trace."""
    lines = _FUNCTION_NODE.sub("", message).split("\n\t [[", 1)[0].splitlines()
    preamble = ("Graph execution error:", "Detected at node", "  ", "<stack traces unavailable>")
    while lines and (not lines[0].strip() or lines[0].startswith(preamble)):
        lines.pop(0)
    return "\n".join(lines).strip() or message


class ModelRepository:
    """The models one server instance serves, and the request semantics of TF Serving."""

    def __init__(self, models: list[ServedModel]):
        self.models = {model.name: model for model in models}

    @classmethod
    def from_base(cls, model_base: str, names: list[str] | None = None) -> "ModelRepository":
        """Loads ``names`` (default: every folder with an integer version) under ``model_base``."""
        if names is None:
            names = [
                name.strip("/")
                for name in sorted(tf.io.gfile.listdir(model_base))
                if tf.io.gfile.isdir(os.path.join(model_base, name))
            ]
            names = [n for n in names if _has_version(os.path.join(model_base, n))]
        if not names:
            raise FileNotFoundError(f"no <model_name>/<version>/ directory under {model_base}")
        return cls([load_model(model_base, name) for name in names])

    def model(self, name: str, version: int | None = None) -> ServedModel:
        """The served model, or ``NOT_FOUND`` as TF Serving words it."""
        model = self.models.get(name)
        if model is None or (version is not None and version != model.version):
            wanted = f"specific({version})" if version is not None else "Latest"
            raise ServingError("NOT_FOUND", f"Servable not found for request: {wanted}({name})")
        return model

    def predict(
        self,
        name: str,
        version: int | None,
        signature_name: str,
        inputs: dict[str, np.ndarray],
        output_filter: tuple[str, ...] = (),
    ) -> tuple[ServedModel, dict[str, np.ndarray]]:
        """Runs one request through a signature.

        Args:
            name: Model name.
            version: Version, or ``None`` for the latest.
            signature_name: Signature, ``""`` meaning ``serving_default``.
            inputs: Input name → array.
            output_filter: Output names to return (all when empty).

        Returns:
            ``(model, outputs)``.

        Raises:
            ServingError: ``NOT_FOUND`` or ``INVALID_ARGUMENT`` with TF Serving's meaning.
        """
        model = self.model(name, version)
        signature_name = signature_name or DEFAULT_SIGNATURE
        if signature_name not in model.loaded.signatures:
            raise ServingError(
                "INVALID_ARGUMENT", f'Serving signature name: "{signature_name}" not found'
            )
        signature = model.loaded.signatures[signature_name]
        specs = signature.structured_input_signature[1]
        if set(inputs) != set(specs):
            raise ServingError(
                "INVALID_ARGUMENT",
                f"signature {signature_name!r} takes inputs {sorted(specs)}, request has "
                f"{sorted(inputs)}",
            )
        tensors = {key: _to_tensor(key, inputs[key], spec) for key, spec in specs.items()}
        unknown = set(output_filter) - set(signature.structured_outputs)
        if unknown:
            raise ServingError("INVALID_ARGUMENT", f"output_filter names unknown outputs {unknown}")
        try:
            outputs = signature(**tensors)
        except tf.errors.InvalidArgumentError as error:
            raise ServingError("INVALID_ARGUMENT", _clean(error.message)) from None
        keep = output_filter or tuple(outputs)
        return model, {key: outputs[key].numpy() for key in keep}


def _has_version(model_root: str) -> bool:
    return any(name.strip("/").isdigit() for name in tf.io.gfile.listdir(model_root))


def _ndarray(key: str, proto) -> np.ndarray:
    """A request's ``TensorProto`` as an array; one that does not hold together is a bad request."""
    try:
        return tf.make_ndarray(proto)
    except (ValueError, TypeError, KeyError) as error:  # e.g. content shorter than the shape
        raise ServingError(
            "INVALID_ARGUMENT", f"input {key!r}: malformed tensor: {error}"
        ) from None


def _to_tensor(key: str, value: np.ndarray, spec: tf.TensorSpec) -> tf.Tensor:
    is_string = value.dtype.kind in "OSU"
    if (spec.dtype == tf.string) != is_string or (
        not is_string and tf.as_dtype(value.dtype) != spec.dtype
    ):
        got = "string" if is_string else tf.as_dtype(value.dtype).name
        raise ServingError(
            "INVALID_ARGUMENT", f"input {key!r} must be {spec.dtype.name}, got {got}"
        )
    if not spec.shape.is_compatible_with(value.shape):
        raise ServingError(
            "INVALID_ARGUMENT",
            f"input {key!r} must have shape {spec.shape.as_list()}, got {list(value.shape)}",
        )
    return tf.constant(value, spec.dtype)


class PredictionServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    """``PredictionService`` over a ``ModelRepository`` (Predict and GetModelMetadata)."""

    def __init__(self, repository: ModelRepository):
        self.repository = repository

    def Predict(self, request: predict_pb2.PredictRequest, context) -> predict_pb2.PredictResponse:  # noqa: N802
        """Runs a ``PredictRequest``; failures abort the call with TF Serving's status."""
        spec = request.model_spec
        version = spec.version.value if spec.HasField("version") else None
        try:
            inputs = {key: _ndarray(key, proto) for key, proto in request.inputs.items()}
            model, outputs = self.repository.predict(
                spec.name, version, spec.signature_name, inputs, tuple(request.output_filter)
            )
        except ServingError as error:
            context.abort(error.grpc_code, error.message)
        response = predict_pb2.PredictResponse()
        response.model_spec.name = model.name
        response.model_spec.version.value = model.version
        response.model_spec.signature_name = spec.signature_name or DEFAULT_SIGNATURE
        for key, value in outputs.items():
            response.outputs[key].CopyFrom(tf.make_tensor_proto(value))
        return response

    def GetModelMetadata(  # noqa: N802
        self, request: get_model_metadata_pb2.GetModelMetadataRequest, context
    ) -> get_model_metadata_pb2.GetModelMetadataResponse:
        """Returns the signature definitions and, asked for ``model_card``, the model card."""
        spec = request.model_spec
        version = spec.version.value if spec.HasField("version") else None
        fields = set(request.metadata_field)
        try:
            model = self.repository.model(spec.name, version)
            if not fields or fields - {SIGNATURE_DEF_FIELD, MODEL_CARD_FIELD}:
                raise ServingError(
                    "INVALID_ARGUMENT",
                    f"metadata_field must be among [{SIGNATURE_DEF_FIELD!r}, "
                    f"{MODEL_CARD_FIELD!r}], got {list(request.metadata_field)}",
                )
            card = model.card_json() if MODEL_CARD_FIELD in fields else None
            if MODEL_CARD_FIELD in fields and card is None:
                raise ServingError(
                    "NOT_FOUND", f"version {model.version} of {model.name} has no model card"
                )
        except ServingError as error:
            context.abort(error.grpc_code, error.message)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = model.name
        response.model_spec.version.value = model.version
        if SIGNATURE_DEF_FIELD in fields:
            signatures = get_model_metadata_pb2.SignatureDefMap(signature_def=model.signature_defs)
            response.metadata[SIGNATURE_DEF_FIELD].Pack(signatures)
        if card is not None:
            response.metadata[MODEL_CARD_FIELD].Pack(wrappers_pb2.StringValue(value=card))
        return response


def serve(
    repository: ModelRepository,
    port: int = 0,
    host: str = "127.0.0.1",
    workers: int = 4,
    max_concurrent: int = 64,
) -> tuple[grpc.Server, int]:
    """Starts the gRPC server (returns immediately).

    Args:
        repository: The models to serve.
        port: TCP port; 0 picks a free one.
        host: Interface to bind; loopback by default.
        workers: Request threads.
        max_concurrent: RPCs in flight or queued at once; more are RESOURCE_EXHAUSTED.

    Returns:
        ``(server, bound_port)``; stop it with ``server.stop(grace)``.
    """
    # gRPC's default 4 MB is too small for a batch of WAV files; the limit stays explicit and
    # bounded (a larger request is RESOURCE_EXHAUSTED before it is read), as in k8s/.
    options = [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ]
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers),
        options=options,
        maximum_concurrent_rpcs=max_concurrent,
    )
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        PredictionServicer(repository), server
    )
    bound = server.add_insecure_port(f"{host}:{port}")
    server.start()
    for model in repository.models.values():
        logging.warning(
            "%s: serving %s version %d from %s on %s:%d (gRPC)",
            BANNER,
            model.name,
            model.version,
            model.path,
            host,
            bound,
        )
    return server, bound


def serve_until_stopped(model_base: str, port: int, rest_port: int = 0) -> None:
    """Serves every model under ``model_base`` over gRPC (and REST on ``rest_port`` if not 0).

    Stops on Ctrl-C and on SIGTERM (what Kubernetes and process managers send), also when
    started with SIGINT ignored, as the children of a shell's background job are.
    """
    import signal

    from serving import rest  # rest builds on this module

    logging.basicConfig(level=logging.INFO)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.default_int_handler)
    repository = ModelRepository.from_base(model_base)
    server, _ = serve(repository, port)
    if rest_port:
        rest.serve(repository, rest_port)
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:
        server.stop(grace=2).wait()
