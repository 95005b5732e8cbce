"""What is served: a model version's metadata and its model card (``household-sounds describe``).

Three sources. ``from_grpc`` asks ``GetModelMetadata`` for ``signature_def`` and
``model_card``: the development server answers both (``serving/dev_server/``); TF Serving
answers ``INVALID_ARGUMENT`` for the card field, since it serves only signature definitions and
never reads a version's ``assets.extra/`` beyond the warmup file, so the signatures are fetched
alone and the result says where the card is instead. ``from_rest`` reads ``GET
/v1/models/<name>`` (the version) and ``.../metadata`` (signatures, and the card where the
server adds it). Both ask for the version a ``VersionChoice`` names (a number or a label) and
reach the server as a ``Security`` says. ``from_model_base`` reads the card straight from the
model base (local or ``gs://``, ``components/artifacts/model_base.py``): a version, a label of
the rollout config, or by default the production version (``stable``, else the newest), the way
to describe what a real TF Serving serves, since it reads the same directory. ``render`` prints
the version, its signatures and the card (``components/model_card.render``).
"""

import json

from components import model_card
from components.artifacts import model_base
from serving.client import (
    TIMEOUT_S,
    GrpcClient,
    RestClient,
    VersionChoice,
    signature_def_map,
)
from serving.security import Security
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


def from_grpc(
    target: str,
    model_name: str,
    timeout_s: float = TIMEOUT_S,
    *,
    choice: VersionChoice = VersionChoice(),
    security: Security = Security(),
) -> dict:
    """``{"source", "model_name", "version", "signatures", "card", "card_note"}`` over gRPC.

    Raises:
        ServingError: The server rejected the metadata request (e.g. ``NOT_FOUND``).
    """
    from google.protobuf import json_format, wrappers_pb2

    with GrpcClient(target, model_name, timeout_s, choice=choice, security=security) as client:
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


def from_rest(
    base_url: str,
    model_name: str,
    timeout_s: float = TIMEOUT_S,
    *,
    choice: VersionChoice = VersionChoice(),
    security: Security = Security(),
) -> dict:
    """The same as ``from_grpc`` over TF Serving's REST API (``http[s]://host:port``)."""
    client = RestClient(base_url, model_name, timeout_s, choice=choice, security=security)
    answer = client.get_json("/metadata")
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


def from_model_base(
    base: str, model_name: str, version: int | None = None, label: str | None = None
) -> dict:
    """The card of one version read from the model base (local or ``gs://``).

    The version is ``version``, or the one ``label`` names in the rollout config, or by default
    the production version (``stable``, else the newest).

    Raises:
        FileNotFoundError: If there is no such version or label, or the version has no card.
    """
    from components.artifacts import rollout_config

    root = model_base.model_root(base, model_name)
    if label is not None:
        config = rollout_config.read(base)
        model = config.model(model_name) if config else None
        if model is None or label not in model.labels:
            where = model_base.rollout_config_file(base)
            raise FileNotFoundError(f"no version of {model_name} is labelled {label!r} in {where}")
        version = model.labels[label]
    elif version is None:
        version = rollout_config.production_version(base, model_name)
        if version is None:
            raise FileNotFoundError(f"no integer version directory under {root}")
    if version not in model_base.versions(base, model_name):
        raise FileNotFoundError(f"version {version} is not under {root}")
    card = model_base.read_card(model_base.version_dir(base, model_name, version))
    if card is None:
        raise FileNotFoundError(f"version {version} under {root} has no model card")
    return {
        "source": root,
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
