"""The development server follows a rollout config as TF Serving follows ``--model_config_file``.

``ConfigFollower.apply`` reads the config (``components/artifacts/rollout_config.py``) and does
what TF Serving's ``ServerCore::ReloadConfig`` does, in its order: first it checks every version
label against the versions already loaded, then swaps the labels, then loads the versions the
policy names (``specific``, the newest ``latest``, or ``all``, under each model's
``base_path``; warmup replayed) and unloads the others. A label may point only at a loaded
version, except a label that is new, or keeps its version, which may point at one still to be
loaded: TF Serving's rule with ``--allow_version_labels_for_unavailable_models=true``, the
flag ``k8s/`` sets. A config that breaks it is refused whole with TF Serving's message
(``Request to assign label to version N of model M, which is not currently available for
inference``): labels unchanged and nothing loaded, as TF Serving, which then retries the same
file at every poll (so moving a label onto a version nobody loads never completes; that is why
``promote`` first adds the version, then moves the label). ``start`` re-applies the file every
``poll_s`` seconds in a thread, as ``--model_config_file_poll_wait_seconds`` does. The first
``apply`` (at start-up) loads before it serves, as TF Serving's initial load does.
"""

import logging
import threading

from components.artifacts import rollout_config
from components.artifacts.model_base import rollout_config_file, versions_under
from serving.dev_server.repository import ModelRepository, load_version


class ConfigRefused(Exception):
    """A config TF Serving would refuse (nothing of it was applied)."""


def wanted_versions(model: rollout_config.ModelRollout) -> set[int]:
    """The versions the model's policy loads, from what is under its ``base_path``."""
    if model.policy == "specific":
        return set(model.versions)
    present = versions_under(model.base_path)
    return set(present if model.policy == "all" else present[-model.latest_count :])


class ConfigFollower:
    """Keeps a ``ModelRepository`` in step with a rollout config file."""

    def __init__(
        self,
        repository: ModelRepository,
        model_base: str,
        poll_s: float,
        allow_labels_for_unavailable: bool = True,
    ):
        """Remembers what to follow.

        Args:
            repository: The repository to load versions into and label.
            model_base: The model base whose rollout config to follow (local or ``gs://``).
            poll_s: Seconds between two reads of the file.
            allow_labels_for_unavailable: TF Serving's
                ``--allow_version_labels_for_unavailable_models``.
        """
        self.repository = repository
        self.model_base = model_base
        self.path = rollout_config_file(model_base)
        self.poll_s = poll_s
        self.allow = allow_labels_for_unavailable
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def apply(self) -> None:
        """Reads the config and applies it (TF Serving's order and rules).

        Raises:
            ConfigRefused: A label assignment TF Serving refuses; nothing was changed.
            ValueError: The file is not a model config.
            FileNotFoundError: There is no such file.
        """
        config = rollout_config.read(self.model_base)
        if config is None:
            raise FileNotFoundError(f"no rollout config at {self.path}")
        for model in config.models:
            loaded = set(self.repository.loaded(model.name))
            current = self.repository.labels(model.name)
            for label, version in model.labels.items():
                unchanged_or_new = current.get(label, version) == version
                if version not in loaded and not (self.allow and unchanged_or_new):
                    raise ConfigRefused(
                        f"Request to assign label to version {version} of model {model.name}, "
                        "which is not currently available for inference"
                    )
        self.repository.set_labels({model.name: dict(model.labels) for model in config.models})
        wanted = {model.name: wanted_versions(model) for model in config.models}
        for model in config.models:
            for version in sorted(wanted[model.name] - set(self.repository.loaded(model.name))):
                self._load(model, version)
        for name, version in self.repository.keep(wanted):
            logging.info("dev server: unloaded %s version %d", name, version)

    def _load(self, model: rollout_config.ModelRollout, version: int) -> None:
        self.repository.begin_loading(model.name, version)
        loaded = None
        try:
            loaded = load_version(model.name, model.base_path, version)
            logging.info("dev server: loaded %s version %d", model.name, version)
        except Exception as error:  # noqa: BLE001 - a bad version must not stop the server
            logging.error("dev server: cannot load %s version %d: %s", model.name, version, error)
        finally:
            self.repository.finish_loading(model.name, version, loaded)

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.apply()
            except (ConfigRefused, ValueError, OSError) as error:
                logging.error("dev server: config %s not applied: %s", self.path, error)

    def start(self) -> None:
        """Re-applies the config every ``poll_s`` seconds in a daemon thread."""
        self._thread = threading.Thread(target=self._poll, daemon=True, name="config-follower")
        self._thread.start()

    def stop(self) -> None:
        """Stops polling (waits for an apply in progress)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
