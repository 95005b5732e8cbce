"""The rollout config ``<model_base>/models.config``: which versions TF Serving serves, and labels.

TF Serving reads it as a text ``ModelServerConfig`` (``--model_config_file``, re-read every
``--model_config_file_poll_wait_seconds``). Per model: its ``base_path``, the versions it loads
(``model_version_policy { specific { versions: ... } }``) and ``version_labels`` naming two of
them, ``stable`` and ``canary``, which clients ask for instead of a number
(``ModelSpec.version_label``, REST ``/labels/<label>``). ``household-sounds promote`` and
``rollback`` rewrite it (``serving/rollout.py``), the development server follows it, and
evaluate and deploy take the ``stable`` version as production (``production_version``). What
TF Serving does not need rides along as comment lines, which its parser skips, so one atomic
write changes both: ``# rollout <model> {json}`` holds the versions in the order they became
stable (what ``rollback`` walks back through, the last ``HISTORY_KEPT``) and when each served
version was added to the config; ``# event <model> {json}`` lines log the promotions and
rollbacks. ``ConfigStore`` reads the file and replaces it atomically and only if it is
unchanged since read: a local file renamed into place under a lock on its folder, a ``gs://``
object through google-cloud-storage (strongly consistent, where TensorFlow's GCS file system
caches what it read) written with a generation precondition. The protobuf messages come from
tensorflow-serving-api's ``model_server_config_pb2`` (no TensorFlow import), loaded when a
config is parsed or written.
"""

import fcntl
import json
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from components.artifacts import model_base

STABLE, CANARY = "stable", "canary"
LABELS = (STABLE, CANARY)
HISTORY_KEPT = 20
EVENTS_KEPT = 20
_STATE, _EVENT = "# rollout ", "# event "
HEADER = (
    "# TF Serving model config (--model_config_file) written by `household-sounds promote` and\n"
    "# `household-sounds rollback`. TF Serving skips the comment lines; the `# rollout` and\n"
    "# `# event` lines are the rollout's own state and log (docs/serving.md).\n"
)


def _messages():
    try:
        from tensorflow_serving.config import model_server_config_pb2  # no TensorFlow import
    except ImportError as error:
        raise ImportError(
            f"reading a rollout config needs tensorflow-serving-api (the pipeline install): {error}"
        ) from None
    return model_server_config_pb2


@dataclass(frozen=True)
class ModelRollout:
    """One model of the config: what TF Serving is told, and the rollout's state for it.

    Attributes:
        name: Served model name.
        base_path: The model root as TF Serving sees it (``<model_base>/<name>`` where it reads
            the store: a ``gs://`` URI, or the path of the volume mounted into its pod).
        policy: ``specific`` (the listed versions), ``latest`` (the newest ``latest_count``)
            or ``all``.
        versions: The versions a ``specific`` policy loads, ascending.
        latest_count: How many newest versions a ``latest`` policy loads.
        labels: Label → version.
        stable_history: The versions in the order they became stable, the current one last.
        added_at: Served version → when it was added to the config (Unix seconds).
        events: The log, one JSON object per promotion or rollback, oldest first.
    """

    name: str
    base_path: str
    policy: Literal["specific", "latest", "all"] = "specific"
    versions: tuple[int, ...] = ()
    latest_count: int = 1
    labels: Mapping[str, int] = field(default_factory=dict)
    stable_history: tuple[int, ...] = ()
    added_at: Mapping[int, float] = field(default_factory=dict)
    events: tuple[dict, ...] = ()

    @property
    def stable(self) -> int | None:
        """The version labelled ``stable``, or None."""
        return self.labels.get(STABLE)

    @property
    def canary(self) -> int | None:
        """The version labelled ``canary``, or None."""
        return self.labels.get(CANARY)


@dataclass(frozen=True)
class RolloutConfig:
    """A parsed ``models.config``: its models in file order (other fields of theirs kept).

    Attributes:
        models: The models.
        proto: The serialized ``ModelServerConfig`` it was read from, so that ``render`` keeps
            every field this module does not manage (platform, logging, ...).
    """

    models: tuple[ModelRollout, ...] = ()
    proto: bytes = b""

    def model(self, name: str) -> ModelRollout | None:
        """The model called ``name``, or None."""
        return next((model for model in self.models if model.name == name), None)

    def with_model(self, model: ModelRollout) -> "RolloutConfig":
        """This config with ``model`` replacing the one of its name (or added at the end)."""
        kept = [other for other in self.models if other.name != model.name]
        position = next(
            (i for i, other in enumerate(self.models) if other.name == model.name), None
        )
        kept.insert(len(kept) if position is None else position, model)
        return replace(self, models=tuple(kept))


def parse(text: str, source: str = "models.config") -> RolloutConfig:
    """Reads a config's text.

    Raises:
        ValueError: If it is not a text ``ModelServerConfig`` with a model list, or a rollout
            line is not valid JSON (the message names ``source`` and the line).
    """
    from google.protobuf import text_format

    messages = _messages()
    proto = messages.ModelServerConfig()
    try:
        text_format.Parse(text, proto)
    except text_format.ParseError as error:
        raise ValueError(f"{source} is not a TF Serving model config: {error}") from None
    if proto.WhichOneof("config") != "model_config_list":
        raise ValueError(f"{source} has no model_config_list")
    states: dict[str, dict] = {}
    events: dict[str, list[dict]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        for prefix, into in ((_STATE, states), (_EVENT, events)):
            if line.startswith(prefix):
                name, _, payload = line[len(prefix) :].partition(" ")
                try:
                    value = json.loads(payload)
                except json.JSONDecodeError as error:
                    raise ValueError(f"{source}:{number}: bad rollout line: {error}") from None
                if prefix == _STATE:
                    into[name] = value
                else:
                    into.setdefault(name, []).append(value)
    models = []
    for config in proto.model_config_list.config:
        policy = config.model_version_policy.WhichOneof("policy_choice") or "latest"
        state = states.get(config.name, {})
        models.append(
            ModelRollout(
                name=config.name,
                base_path=config.base_path,
                policy=policy,
                versions=tuple(sorted(config.model_version_policy.specific.versions)),
                latest_count=config.model_version_policy.latest.num_versions or 1,
                labels=dict(sorted(config.version_labels.items())),
                stable_history=tuple(state.get("stable_history", ())),
                added_at={int(v): float(t) for v, t in state.get("added_at", {}).items()},
                events=tuple(events.get(config.name, ())),
            )
        )
    return RolloutConfig(tuple(models), proto.SerializeToString())


def render(config: RolloutConfig) -> str:
    """The config's text: the header, the rollout lines, then the ``ModelServerConfig``."""
    from google.protobuf import text_format

    messages = _messages()
    proto = messages.ModelServerConfig.FromString(config.proto)
    old = {entry.name: entry for entry in proto.model_config_list.config}
    proto.ClearField("model_config_list")
    lines = [HEADER]
    for model in config.models:
        entry = proto.model_config_list.config.add()
        if model.name in old:
            entry.CopyFrom(old[model.name])
        entry.name = model.name
        entry.base_path = model.base_path
        entry.model_platform = entry.model_platform or "tensorflow"
        policy = entry.model_version_policy
        policy.Clear()
        if model.policy == "specific":
            policy.specific.versions.extend(sorted(model.versions))
        elif model.policy == "latest":
            policy.latest.num_versions = model.latest_count
        else:
            policy.all.SetInParent()
        entry.ClearField("version_labels")
        entry.version_labels.update(model.labels)
        state = {
            "stable_history": list(model.stable_history[-HISTORY_KEPT:]),
            "added_at": {str(v): t for v, t in sorted(model.added_at.items())},
        }
        lines.append(f"{_STATE}{model.name} {json.dumps(state)}\n")
        lines.extend(
            f"{_EVENT}{model.name} {json.dumps(event)}\n" for event in model.events[-EVENTS_KEPT:]
        )
    return "".join(lines) + text_format.MessageToString(proto)


class ConcurrentChangeError(RuntimeError):
    """The config changed between this command's read and its write (nothing more written)."""


class ConfigStore:
    """Reads and conditionally replaces ``<model_base>/models.config`` (local or ``gs://``)."""

    def __init__(self, base: str):
        """Where the config is.

        Raises:
            ValueError: For a remote scheme other than ``gs://``.
        """
        self.path = model_base.rollout_config_file(base)
        if model_base.is_remote(self.path) and not self.path.startswith("gs://"):
            raise ValueError(f"the rollout config is local or on gs://, not {self.path}")

    def read(self) -> tuple[str | None, object]:
        """``(text, token)``: the config's text (None if absent) and what ``write`` checks."""
        if not self.path.startswith("gs://"):
            try:
                with open(self.path, encoding="utf-8") as handle:
                    text = handle.read()
            except FileNotFoundError:
                return None, None
            return text, text
        blob = self._blob()
        from google.api_core import exceptions

        try:
            blob.reload()
        except exceptions.NotFound:
            return None, 0
        return blob.download_as_text(if_generation_match=blob.generation), blob.generation

    def write(self, text: str, token: object) -> object:
        """Replaces the config with ``text`` if it is still what ``token`` says; the new token.

        Raises:
            ConcurrentChangeError: Somebody changed the config since it was read.
        """
        if self.path.startswith("gs://"):
            return self._write_gcs(text, token)
        folder = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(folder, exist_ok=True)
        lock = os.open(folder, os.O_RDONLY)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self.read()[1] != token:
                raise ConcurrentChangeError(f"{self.path} changed while this command ran")
            partial = os.path.join(folder, f".{os.path.basename(self.path)}.{uuid.uuid4().hex}")
            with open(partial, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(partial, self.path)  # atomic: a reader sees the old file or the new
        finally:
            os.close(lock)  # releases the lock
        return text

    def _blob(self):
        from google.cloud import storage

        bucket, _, name = self.path[len("gs://") :].partition("/")
        return storage.Client().bucket(bucket).blob(name)

    def _write_gcs(self, text: str, token: object) -> object:
        from google.api_core import exceptions

        blob = self._blob()
        try:  # one object write is atomic; the precondition makes it conditional
            blob.upload_from_string(text, content_type="text/plain", if_generation_match=token)
        except exceptions.PreconditionFailed:
            raise ConcurrentChangeError(f"{self.path} changed while this command ran") from None
        return blob.generation


def read(base: str) -> RolloutConfig | None:
    """The rollout config of a model base (local or ``gs://``), or None if it has none."""
    store = ConfigStore(base)
    text, _ = store.read()
    return None if text is None else parse(text, store.path)


def production_version(base: str, model_name: str) -> int | None:
    """The version clients get as production: ``stable`` in the rollout config, else the newest.

    Without a rollout config (or a ``stable`` label for the model) TF Serving serves the newest
    version, which is then production; None when there is no version at all.
    """
    config = read(base)
    model = config.model(model_name) if config else None
    if model is not None and model.stable is not None:
        return model.stable
    return model_base.latest(base, model_name)
