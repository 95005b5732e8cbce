"""What is served: a model version's metadata and its model card (``household-sounds describe``).

Three sources. ``from_grpc`` asks ``GetModelMetadata`` for ``signature_def`` and
``model_card``: the development server answers both (``serving/dev_server/``); TF Serving
answers ``INVALID_ARGUMENT`` for the card field, since it serves only signature definitions and
never reads a version's ``assets.extra/`` beyond the warmup file, so the signatures are fetched
alone and the result says where the card is instead. ``from_rest`` reads ``GET
/v1/models/<name>`` (the version) and ``.../metadata`` (signatures, and the card where the
server adds it). ``from_model_base`` reads the card straight from
``<model_base>/<name>/<version>/assets.extra/`` (local or ``gs://``): the way to describe what
a real TF Serving serves, since it reads the same directory. ``render`` prints the version, its
signatures and the card (``components/model_card.render``).
"""

import json
import os

from components import model_card
from components.artifacts.names import ASSETS_EXTRA_DIR, VERSION_CARD_JSON
from serving.client import TIMEOUT_S, GrpcClient, request_json, signature_def_map
from serving.status import ServingError

SIGNATURE_DEF_FIELD = "signature_def"
MODEL_CARD_FIELD = "model_card"
NO_CARD = (
    "this server does not serve model cards (TF Serving serves signature_def only); every "
    "version carries one in assets.extra/: household-sounds describe --model-base PATH"
)


def _signature_summary(signature_defs: dict) -> dict[str, dict]:
    """Signature name → ``{"inputs"|"outputs": {name: {"dtype", "shape"}}}`` from JSON form."""

    def shape(info: dict) -> list[int]:
        return [int(dim.get("size", 0)) for dim in info.get("tensor_shape", {}).get("dim", [])]

    def tensors(infos: dict) -> dict:
        return {
            name: {"dtype": info.get("dtype", ""), "shape": shape(info)}
            for name, info in sorted(infos.items())
        }

    return {
        name: {"inputs": tensors(sig.get("inputs", {})), "outputs": tensors(sig.get("outputs", {}))}
        for name, sig in sorted(signature_defs.items())
        if not name.startswith("__")
    }


def from_grpc(target: str, model_name: str, timeout_s: float = TIMEOUT_S) -> dict:
    """``{"source", "model_name", "version", "signatures", "card", "card_note"}`` over gRPC.

    Raises:
        ServingError: The server rejected the metadata request (e.g. ``NOT_FOUND``).
    """
    from google.protobuf import json_format, wrappers_pb2

    with GrpcClient(target, model_name, timeout_s) as client:
        note = None
        try:
            response = client.model_metadata([SIGNATURE_DEF_FIELD, MODEL_CARD_FIELD])
        except ServingError as error:
            if error.code not in ("INVALID_ARGUMENT", "NOT_FOUND"):
                raise
            response, note = client.model_metadata([SIGNATURE_DEF_FIELD]), NO_CARD
            if error.code == "NOT_FOUND":
                note = error.message
    signatures = signature_def_map(response)
    card = None
    if MODEL_CARD_FIELD in response.metadata:
        text = wrappers_pb2.StringValue()
        response.metadata[MODEL_CARD_FIELD].Unpack(text)
        card = json.loads(text.value)
    return {
        "source": f"gRPC {target}",
        "model_name": response.model_spec.name,
        "version": response.model_spec.version.value,
        "signatures": _signature_summary(
            json_format.MessageToDict(signatures, preserving_proto_field_name=True).get(
                "signature_def", {}
            )
        ),
        "card": card,
        "card_note": note,
    }


def from_rest(base_url: str, model_name: str, timeout_s: float = TIMEOUT_S) -> dict:
    """The same as ``from_grpc`` over TF Serving's REST API (``http://host:port``)."""
    root = f"{base_url.rstrip('/')}/v1/models/{model_name}"
    answer = request_json(f"{root}/metadata", timeout_s)
    metadata = answer.get("metadata", {})
    card = metadata.get(MODEL_CARD_FIELD)
    return {
        "source": f"REST {base_url}",
        "model_name": answer["model_spec"]["name"],
        "version": int(answer["model_spec"]["version"]),
        "signatures": _signature_summary(
            metadata.get(SIGNATURE_DEF_FIELD, {}).get("signature_def", {})
        ),
        "card": card,
        "card_note": None if card is not None else NO_CARD,
    }


def _read(path: str) -> str:
    if "://" not in path:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    import tensorflow as tf  # gs:// and other remote file systems

    with tf.io.gfile.GFile(path) as handle:
        return handle.read()


def _versions(model_root: str) -> list[int]:
    if "://" not in model_root:
        names = os.listdir(model_root) if os.path.isdir(model_root) else []
    else:
        import tensorflow as tf

        names = tf.io.gfile.listdir(model_root) if tf.io.gfile.isdir(model_root) else []
    return [int(name.strip("/")) for name in names if name.strip("/").isdigit()]


def from_model_base(model_base: str, model_name: str, version: int | None = None) -> dict:
    """The card of ``version`` (default: the newest, which TF Serving serves) from the base.

    Raises:
        FileNotFoundError: If there is no such version, or it has no model card.
    """
    model_root = os.path.join(model_base, model_name)
    versions = _versions(model_root)
    if version is None:
        if not versions:
            raise FileNotFoundError(f"no integer version directory under {model_root}")
        version = max(versions)
    elif version not in versions:
        raise FileNotFoundError(f"version {version} is not under {model_root}")
    path = os.path.join(model_root, str(version), ASSETS_EXTRA_DIR, VERSION_CARD_JSON)
    try:
        card = json.loads(_read(path))
    except (FileNotFoundError, OSError) as error:
        raise FileNotFoundError(f"version {version} has no model card ({path})") from error
    return {
        "source": model_root,
        "model_name": model_name,
        "version": version,
        "signatures": None,
        "card": card,
        "card_note": None,
    }


def render(described: dict) -> str:
    """Plain text: the served version, its signatures, then the card as Markdown."""
    lines = [f"{described['model_name']} version {described['version']} ({described['source']})"]
    for name, signature in (described["signatures"] or {}).items():
        for side in ("inputs", "outputs"):
            tensors = ", ".join(
                f"{key} {info['dtype']}{info['shape']}" for key, info in signature[side].items()
            )
            lines.append(f"  {name} {side}: {tensors}")
    lines.append("")
    if described["card"] is None:
        lines.append(f"No model card: {described['card_note']}")
    else:
        lines.append(model_card.render(described["card"]))
    return "\n".join(lines).rstrip() + "\n"
