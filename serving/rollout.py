"""``household-sounds promote`` and ``rollback``: move the ``stable`` and ``canary`` labels.

What the labels mean, in the rollout config (``components/artifacts/rollout_config.py``):

- ``stable`` is the version clients should use; ``canary`` the version tried on a slice of the
  traffic, and the stable one when no canary is in flight, so both labels always answer.
- ``promote V --label canary`` points ``canary`` at V; it needs a stable version first.
- ``promote V --label stable`` points both labels at V (a canary in flight is over) and appends
  V to the stable history. The first promotion of a model base must be this one; it creates the
  config, whose ``base_path`` is where TF Serving finds the model (``served_base_path``,
  default the model root as given, made absolute as TF Serving requires).
- ``rollback`` points both labels at the previous stable version (the one before the current
  in the history) and takes the current one off the history, so a second rollback goes one
  further back; with no previous version it refuses.
- TF Serving loads the stable, the canary and the previous stable version (three at most), so a
  rollback never waits for a load; any other version is unloaded.

TF Serving refuses to move a label that is in use onto a version it has not loaded yet, and
refuses the whole config with it (it then retries the same file at every poll, so the version
would never load). So a label moves onto a version that is not served in two writes: first the
version joins the served set, labels unchanged; then, once every server has re-read the config
(``poll_s``, its ``--model_config_file_poll_wait_seconds``, since the version was added) and,
given a REST status endpoint, that server reports it ``AVAILABLE``, the label moves. A version
added by an earlier command counts from when it was added. Every write replaces the whole file
atomically and only if nobody changed it since it was read (``ConfigStore``): a local file is
renamed into place under a lock, a ``gs://`` object written with a generation precondition
(``rollout_config.ConfigStore``); a concurrent change stops the command with nothing more
written (``ConcurrentChangeError``).
"""

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from components.artifacts import model_base as layout
from components.artifacts import rollout_config
from components.artifacts.names import SERVED_MODEL_NAME
from components.artifacts.rollout_config import (
    CANARY,
    LABELS,
    STABLE,
    ConfigStore,
    ModelRollout,
)


class RolloutError(ValueError):
    """A promotion or rollback that cannot be done as asked (nothing was written)."""


class NotLoadedError(RuntimeError):
    """The version did not become AVAILABLE in time; the label was not moved."""


@dataclass(frozen=True)
class RolloutSettings:
    """How a promotion or rollback is carried out.

    Attributes:
        model_name: Served model name.
        poll_s: The servers' ``--model_config_file_poll_wait_seconds``: how long after a
            version joins the config every server has read it.
        load_timeout_s: Longest wait for the status endpoint to report the version AVAILABLE.
        served_base_path: ``base_path`` of a new config (default: the model root as given).
        version_states: The servers' model status (version → state), if one can be asked.
    """

    model_name: str = SERVED_MODEL_NAME
    poll_s: float = 60.0
    load_timeout_s: float = 600.0
    served_base_path: str | None = None
    version_states: Callable[[], dict[int, str]] | None = None


def served_versions(labels: dict[str, int], history: tuple[int, ...]) -> tuple[int, ...]:
    """What TF Serving loads: the labelled versions and the previous stable one."""
    kept = set(labels.values()) | ({history[-2]} if len(history) > 1 else set())
    return tuple(sorted(kept))


def _check_version(model_base: str, model_name: str, version: int, role: str) -> None:
    root = layout.model_root(model_base, model_name)
    present = layout.versions(model_base, model_name)
    if version not in present:
        raise RolloutError(f"{role} version {version} is not under {root} (versions: {present})")
    if not layout.is_complete(model_base, model_name, version):
        raise RolloutError(
            f"{role} version {version} under {root} has no saved_model.pb (still being "
            "published, or broken)"
        )


def _event(action: str, label: str, version: int, previous: int | None) -> dict:
    at = datetime.now(UTC).isoformat(timespec="seconds")
    return {"at": at, "action": action, "label": label, "version": version, "from": previous}


def _summary(path: str, model: ModelRollout, changed: bool, steps: list[str]) -> dict:
    return {
        "config": path,
        "model_name": model.name,
        "changed": changed,
        "steps": steps,
        "labels": dict(model.labels),
        "served_versions": list(model.versions),
        "stable_history": list(model.stable_history),
    }


def _wait_until_loaded(model: ModelRollout, version: int, settings: RolloutSettings) -> None:
    """Waits one config poll since ``version`` was added, and for AVAILABLE if it can ask."""
    delay = model.added_at.get(version, 0.0) + settings.poll_s - time.time()
    if delay > 0:
        time.sleep(delay)
    if settings.version_states is None:
        return
    from serving.status import ServingError

    deadline = time.monotonic() + settings.load_timeout_s
    state = "unknown"
    while True:
        try:
            state = settings.version_states().get(version, "not loaded")
        except ServingError as error:
            state = f"{error.code}: {error.message}"
        if state == "AVAILABLE":
            return
        if time.monotonic() > deadline:
            raise NotLoadedError(
                f"version {version} is not AVAILABLE after {settings.load_timeout_s:g} s (last "
                f"state: {state}); the config serves it but no label moved: run the same "
                "command again once it is, or read the server's log"
            )
        time.sleep(min(1.0, settings.poll_s))


def _move_labels(
    store: ConfigStore,
    token: object,
    config: rollout_config.RolloutConfig,
    model: ModelRollout,
    target: int,
    final: ModelRollout,
    settings: RolloutSettings,
    model_base: str,
) -> dict:
    """Writes ``final`` (labels moved onto ``target``), staging ``target`` first if needed."""
    for label, version in final.labels.items():
        _check_version(model_base, model.name, version, f"the {label}")
    present = set(layout.versions(model_base, model.name))
    labelled = set(final.labels.values())
    final = replace(final, versions=tuple(v for v in final.versions if v in labelled | present))
    steps = []
    if target not in model.versions:
        staged = replace(
            model,
            versions=tuple(sorted({*model.versions, target})),
            added_at={**model.added_at, target: time.time()},
        )
        config = config.with_model(staged)
        token = store.write(rollout_config.render(config), token)
        steps.append(f"served version {target} beside {list(model.versions)}, labels unchanged")
        model = staged
    _wait_until_loaded(model, target, settings)
    now = time.time()
    final = replace(final, added_at={v: model.added_at.get(v, now) for v in final.versions})
    store.write(rollout_config.render(config.with_model(final)), token)
    steps.append(f"labels {dict(final.labels)}, serving {list(final.versions)}")
    return _summary(store.path, final, True, steps)


def promote(
    model_base: str, version: int, label: str, settings: RolloutSettings = RolloutSettings()
) -> dict:
    """Points ``label`` at ``version`` (see the module docstring for what each label means).

    Returns:
        ``{"config", "model_name", "changed", "steps", "labels", "served_versions",
        "stable_history"}``.

    Raises:
        RolloutError: An unknown label or version, a canary before any stable version, a
            labelled version missing from the model base.
        ConcurrentChangeError: The config changed meanwhile.
        NotLoadedError: The version did not become AVAILABLE in time.
    """
    if label not in LABELS:
        raise RolloutError(f"unknown label {label!r}: use one of {', '.join(LABELS)}")
    name = settings.model_name
    _check_version(model_base, name, version, "the")
    store = ConfigStore(model_base)
    text, token = store.read()
    config = (
        rollout_config.parse(text, store.path)
        if text is not None
        else rollout_config.RolloutConfig()
    )
    model = config.model(name)
    if model is None or model.stable is None:
        if label != STABLE:
            raise RolloutError(
                f"{name} has no stable version yet: promote one with --label stable first"
            )
        root = layout.model_root(model_base, name)
        root = root if layout.is_remote(root) else os.path.abspath(root)  # TF Serving wants it
        first = ModelRollout(
            name=name,
            base_path=(model.base_path if model else None) or settings.served_base_path or root,
            versions=(version,),
            labels={STABLE: version, CANARY: version},
            stable_history=(version,),
            added_at={version: time.time()},
            events=(*(model.events if model else ()), _event("promote", STABLE, version, None)),
        )
        store.write(rollout_config.render(config.with_model(first)), token)
        return _summary(store.path, first, True, [f"{name} version {version} is stable"])
    if label == STABLE:
        labels = {STABLE: version, CANARY: version}
        history = (
            model.stable_history
            if model.stable == version
            else (
                *model.stable_history,
                version,
            )
        )
    else:
        labels = {**model.labels, CANARY: version}
        history = model.stable_history
    if labels == dict(model.labels) and history == model.stable_history:
        return _summary(store.path, model, False, [f"{label} is already version {version}"])
    final = replace(
        model,
        versions=served_versions(labels, history),
        labels=labels,
        stable_history=history,
        events=(*model.events, _event("promote", label, version, model.labels.get(label))),
    )
    return _move_labels(store, token, config, model, version, final, settings, model_base)


def rollback(model_base: str, settings: RolloutSettings = RolloutSettings()) -> dict:
    """Points ``stable`` and ``canary`` back at the previous stable version.

    Returns:
        The same summary as ``promote``.

    Raises:
        RolloutError: No rollout config, no previous stable version, or it is no longer in the
            model base.
        ConcurrentChangeError: The config changed meanwhile.
        NotLoadedError: The previous version did not become AVAILABLE in time.
    """
    name = settings.model_name
    store = ConfigStore(model_base)
    text, token = store.read()
    if text is None:
        raise RolloutError(f"no rollout config at {store.path}: nothing to roll back")
    config = rollout_config.parse(text, store.path)
    model = config.model(name)
    history = model.stable_history if model else ()
    if len(history) < 2:
        raise RolloutError(
            f"nothing to roll back to: the stable history of {name} is {list(history)}"
        )
    previous = history[-2]
    _check_version(model_base, name, previous, "previous stable")
    labels = {STABLE: previous, CANARY: previous}
    final = replace(
        model,
        versions=served_versions(labels, history[:-1]),
        labels=labels,
        stable_history=history[:-1],
        events=(*model.events, _event("rollback", STABLE, previous, model.stable)),
    )
    return _move_labels(store, token, config, model, previous, final, settings, model_base)
