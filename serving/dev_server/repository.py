"""The development server's model repository: the versions it serves, their labels, the rules.

A ``ModelRepository`` holds loaded versions per model and the version labels (``stable``,
``canary``) that point at them. ``from_base`` loads the highest integer version of every model
under a model base (``components/artifacts/model_base.py``), as TF Serving does without a
version policy; with a rollout config, ``config_follower.py`` loads, labels and unloads versions
as the config says. Loading a version replays its warmup requests
(``assets.extra/tf_serving_warmup_requests``) as TF Serving does before serving it. ``model``
resolves a request's version choice as TF Serving does: a label it does not know is
``INVALID_ARGUMENT`` (``Unrecognized servable version label``), a version that is not loaded
(also one a label points at while it loads) ``NOT_FOUND``, and no choice the highest loaded
version. ``predict`` runs one request through a signature and refuses it as TF Serving would:
``INVALID_ARGUMENT`` for an unknown signature, missing or unexpected inputs, a wrong dtype or
shape, too many inputs for the batcher, or an ``InvalidArgumentError`` of the model (with TF's
message stripped of its graph trace). Both APIs (``grpc_api.py``, ``rest.py``) answer from one
repository; it is safe to use from their threads while a follower changes it.
"""

import re
import threading
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.apis import prediction_log_pb2

from components.artifacts.model_base import (
    asset_file,
    model_names,
    model_root,
    read_text,
    saved_model_file,
    version_in,
    versions_under,
    warmup_file,
)
from components.artifacts.names import VERSION_CARD_JSON
from components.artifacts.signature import DEFAULT_SIGNATURE
from serving.limits import MAX_BATCH_SIZE
from serving.status import ServingError

AVAILABLE, LOADING = "AVAILABLE", "LOADING"  # TF Serving's names of a version's state
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
        try:
            return read_text(asset_file(self.path, VERSION_CARD_JSON))
        except FileNotFoundError:
            return None


def signature_defs(path: str) -> dict:
    """The ``SignatureDef`` protos of the SavedModel in ``path``, by name (for metadata)."""
    graph = saved_model_pb2.SavedModel()
    with tf.io.gfile.GFile(saved_model_file(path), "rb") as handle:
        graph.ParseFromString(handle.read())
    found = dict(graph.meta_graphs[0].signature_def)
    found.pop("__saved_model_init_op", None)
    return found


def load_version(name: str, root: str, version: int) -> ServedModel:
    """Loads ``<root>/<version>`` of model ``name`` and replays its warmup requests."""
    path = version_in(root, version)
    loaded = tf.saved_model.load(path)
    _replay_warmup(loaded, warmup_file(path))
    return ServedModel(name, version, path, loaded, signature_defs(path))


def load_model(model_base: str, name: str) -> ServedModel:
    """Loads the latest version of model ``name`` under ``model_base``.

    Raises:
        FileNotFoundError: If it has no integer version directory.
    """
    root = model_root(model_base, name)
    found = versions_under(root)
    if not found:
        raise FileNotFoundError(f"no integer version directory under {root}")
    return load_version(name, root, found[-1])


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
    """The model versions one server instance serves, their labels, and TF Serving's rules."""

    def __init__(self, models: list[ServedModel], labels: dict[str, dict[str, int]] | None = None):
        self._lock = threading.Lock()
        self._versions: dict[str, dict[int, ServedModel]] = {}
        self._loading: dict[str, set[int]] = {}
        self._labels: dict[str, dict[str, int]] = dict(labels or {})
        for model in models:
            self._versions.setdefault(model.name, {})[model.version] = model

    @classmethod
    def from_base(cls, model_base: str, names: list[str] | None = None) -> "ModelRepository":
        """Loads the latest version of ``names`` (default: every model) under ``model_base``."""
        names = model_names(model_base) if names is None else names
        if not names:
            raise FileNotFoundError(f"no <model_name>/<version>/ directory under {model_base}")
        return cls([load_model(model_base, name) for name in names])

    @property
    def models(self) -> dict[str, ServedModel]:
        """Model name → its highest loaded version."""
        with self._lock:
            return {name: loaded[max(loaded)] for name, loaded in self._versions.items() if loaded}

    def loaded(self, name: str) -> dict[int, ServedModel]:
        """Version → loaded version of model ``name`` (a copy)."""
        with self._lock:
            return dict(self._versions.get(name, {}))

    def labels(self, name: str) -> dict[str, int]:
        """Label → version of model ``name`` (a copy)."""
        with self._lock:
            return dict(self._labels.get(name, {}))

    def version_states(self, name: str) -> dict[int, str]:
        """Version → ``AVAILABLE`` or ``LOADING`` for model ``name``.

        Raises:
            ServingError: ``NOT_FOUND`` for a model the server does not know.
        """
        with self._lock:
            states = {version: AVAILABLE for version in self._versions.get(name, {})}
            states.update({version: LOADING for version in self._loading.get(name, set())})
        if not states:
            raise ServingError("NOT_FOUND", f"Could not find any versions of model {name}")
        return dict(sorted(states.items()))

    def model(self, name: str, version: int | None = None, label: str | None = None) -> ServedModel:
        """The version a request asks for (a number, a label, or the highest loaded).

        Raises:
            ServingError: ``INVALID_ARGUMENT`` for an unknown label, ``NOT_FOUND`` for a version
                that is not loaded, both worded as TF Serving words them.
        """
        if label:
            version = self.label_version(name, label)
        with self._lock:
            loaded = self._versions.get(name, {})
            if version is None and loaded:
                return loaded[max(loaded)]
            if version in loaded:
                return loaded[version]
        wanted = f"Specific({name}, {version})" if version is not None else f"Latest({name})"
        raise ServingError("NOT_FOUND", f"Servable not found for request: {wanted}")

    def label_version(self, name: str, label: str) -> int:
        """The version ``label`` points at (loaded or not).

        Raises:
            ServingError: ``INVALID_ARGUMENT`` for a label the server does not know.
        """
        with self._lock:
            version = self._labels.get(name, {}).get(label)
        if version is None:
            raise ServingError("INVALID_ARGUMENT", f"Unrecognized servable version label: {label}")
        return version

    def begin_loading(self, name: str, version: int) -> None:
        """Marks a version ``LOADING`` (status reports it; requests for it are ``NOT_FOUND``)."""
        with self._lock:
            self._loading.setdefault(name, set()).add(version)

    def finish_loading(self, name: str, version: int, model: ServedModel | None) -> None:
        """Serves a loaded version (or, None, forgets one whose load failed)."""
        with self._lock:
            self._loading.get(name, set()).discard(version)
            if model is not None:
                self._versions.setdefault(name, {})[version] = model

    def set_labels(self, labels: dict[str, dict[str, int]]) -> None:
        """Replaces every model's labels (model name → label → version)."""
        with self._lock:
            self._labels = {name: dict(assigned) for name, assigned in labels.items()}

    def keep(self, wanted: dict[str, set[int]]) -> list[tuple[str, int]]:
        """Unloads every version not in ``wanted`` (model → versions); returns what it unloaded."""
        with self._lock:
            dropped = [
                (name, version)
                for name, loaded in self._versions.items()
                for version in loaded
                if version not in wanted.get(name, set())
            ]
            for name, version in dropped:
                del self._versions[name][version]
            self._versions = {name: loaded for name, loaded in self._versions.items() if loaded}
        return dropped

    def predict(
        self,
        name: str,
        version: int | None,
        signature_name: str,
        inputs: dict[str, np.ndarray],
        output_filter: tuple[str, ...] = (),
        label: str | None = None,
    ) -> tuple[ServedModel, dict[str, np.ndarray]]:
        """Runs one request through a signature.

        Args:
            name: Model name.
            version: Version, or ``None`` for the label's (or the highest loaded).
            signature_name: Signature, ``""`` meaning ``serving_default``.
            inputs: Input name → array.
            output_filter: Output names to return (all when empty).
            label: Version label, instead of ``version``.

        Returns:
            ``(model, outputs)``.

        Raises:
            ServingError: ``NOT_FOUND`` or ``INVALID_ARGUMENT`` with TF Serving's meaning.
        """
        model = self.model(name, version, label)
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
