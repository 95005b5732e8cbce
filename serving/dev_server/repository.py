"""The development server's model repository: what it serves and TF Serving's request semantics.

``ModelRepository.from_base`` loads the highest integer version of every model under a model
base (``<model_base>/<model_name>/<version>/``), replaying each version's warmup requests
(``assets.extra/tf_serving_warmup_requests``) as TF Serving does before serving it; ``predict``
runs one request through a signature and refuses it as TF Serving would: ``NOT_FOUND`` for an
unknown model or version, ``INVALID_ARGUMENT`` for an unknown signature, missing or unexpected
inputs, a wrong dtype or shape, or an ``InvalidArgumentError`` of the model (with TF's message
stripped of its graph trace). Both APIs (``grpc_api.py``, ``rest.py``) answer from one
repository.
"""

import os
import re
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.apis import prediction_log_pb2

from components.artifacts.names import ASSETS_EXTRA_DIR, VERSION_CARD_JSON
from components.artifacts.signature import DEFAULT_SIGNATURE
from serving.limits import MAX_BATCH_SIZE
from serving.status import ServingError

WARMUP_FILE = "assets.extra/tf_serving_warmup_requests"  # TF Serving's fixed location
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
        for value in inputs.values():
            if np.ndim(value) and len(value) > MAX_BATCH_SIZE:  # TF Serving's batcher refuses it
                raise ServingError(
                    "INVALID_ARGUMENT",
                    f"Task size {len(value)} is larger than maximum input batch size "
                    f"{MAX_BATCH_SIZE}",
                )
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
