"""The gRPC half of the development server: TF Serving's ``PredictionService`` on 127.0.0.1.

``PredictionServicer`` answers ``Predict`` (the request's ``TensorProto`` inputs through
``ModelRepository.predict``; a tensor that does not hold together is ``INVALID_ARGUMENT``) and
``GetModelMetadata`` (the ``signature_def`` field, and the ``model_card`` field that TF Serving
does not have) for the version the request's ``ModelSpec`` chooses (a number, a label, or the
highest loaded), aborting a refused call with TF Serving's status code. ``serve`` starts it on a
thread pool, with at most ``MAX_MESSAGE_BYTES`` per message and a cap on the RPCs in flight,
over TLS and requiring a bearer token when its ``ServerSecurity`` says so (``security.py``).
"""

import logging
from concurrent import futures

import grpc
import numpy as np
import tensorflow as tf
from google.protobuf import wrappers_pb2
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from components.artifacts.signature import DEFAULT_SIGNATURE
from serving.dev_server import BANNER
from serving.dev_server.repository import ModelRepository
from serving.dev_server.security import ServerSecurity, TokenInterceptor
from serving.limits import MAX_MESSAGE_BYTES
from serving.status import ServingError

SIGNATURE_DEF_FIELD = "signature_def"
MODEL_CARD_FIELD = "model_card"


def _ndarray(key: str, proto) -> np.ndarray:
    """A request's ``TensorProto`` as an array; one that does not hold together is a bad request."""
    try:
        return tf.make_ndarray(proto)
    except (ValueError, TypeError, KeyError) as error:  # e.g. content shorter than the shape
        raise ServingError(
            "INVALID_ARGUMENT", f"input {key!r}: malformed tensor: {error}"
        ) from None


def _choice(spec) -> tuple[int | None, str | None]:
    """A ``ModelSpec``'s version choice: ``(version, label)``, at most one of them set."""
    choice = spec.WhichOneof("version_choice")
    if choice == "version":
        return spec.version.value, None
    return None, spec.version_label if choice == "version_label" else None


class PredictionServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    """``PredictionService`` over a ``ModelRepository`` (Predict and GetModelMetadata)."""

    def __init__(self, repository: ModelRepository):
        self.repository = repository

    def Predict(self, request: predict_pb2.PredictRequest, context) -> predict_pb2.PredictResponse:  # noqa: N802
        """Runs a ``PredictRequest``; failures abort the call with TF Serving's status."""
        spec = request.model_spec
        version, label = _choice(spec)
        try:
            inputs = {key: _ndarray(key, proto) for key, proto in request.inputs.items()}
            model, outputs = self.repository.predict(
                spec.name, version, spec.signature_name, inputs, tuple(request.output_filter), label
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
        version, label = _choice(spec)
        fields = set(request.metadata_field)
        try:
            model = self.repository.model(spec.name, version, label)
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
    security: ServerSecurity = ServerSecurity(),
) -> tuple[grpc.Server, int]:
    """Starts the gRPC server (returns immediately).

    Args:
        repository: The models to serve.
        port: TCP port; 0 picks a free one.
        host: Interface to bind; loopback by default.
        workers: Request threads.
        max_concurrent: RPCs in flight or queued at once; more are RESOURCE_EXHAUSTED.
        security: TLS (and mTLS) and the bearer token calls must carry.

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
        interceptors=[TokenInterceptor(security)] if security.token is not None else None,
    )
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        PredictionServicer(repository), server
    )
    address = f"{host}:{port}"
    if security.tls:
        bound = server.add_secure_port(address, security.grpc_credentials())
    else:
        bound = server.add_insecure_port(address)
    server.start()
    for name in sorted(repository.models):
        logging.warning(
            "%s: serving %s versions %s (labels %s) on %s:%d (gRPC%s)",
            BANNER,
            name,
            sorted(repository.loaded(name)),
            repository.labels(name),
            host,
            bound,
            ", TLS" if security.tls else "",
        )
    return server, bound
