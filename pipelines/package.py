"""The compiled pipeline package as the submit backends read and rewrite it, before sending it.

``household-sounds compile`` writes the package (KFP IR YAML, which Kubeflow Pipelines and Vertex
AI Pipelines both run); ``pipelines.submit`` and ``pipelines.vertex`` both check the run's
arguments against the parameters it declares (``check_params``), so a typo or a wrong type fails
here rather than minutes later in a pod, and both set caching on the tasks compiled as cacheable
only (``set_caching``, through ``with_caching``), as neither backend's own ``enable_caching``
does. A package with Kubernetes settings (per-task deadlines, node selectors, volumes) holds a
second YAML document, the platform spec, which only Kubeflow reads: ``without_platform_spec``
is what Vertex gets. Imports no KFP: the package is read as YAML.
"""

import contextlib
import json
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml


class ParamError(ValueError):
    """A ``--param`` argument that cannot be used; the message says why and how to fix it."""


def _pipeline_docs(package_path: str) -> list[dict[str, Any]]:
    with open(package_path, encoding="utf-8") as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc]


def images(package_path: str) -> set[str]:
    """The container images the package's executors run."""
    executors = _pipeline_docs(package_path)[0].get("deploymentSpec", {}).get("executors", {})
    return {executor["container"]["image"] for executor in executors.values()}


def root_parameters(spec: Mapping[str, Any]) -> dict[str, str]:
    """``{name: parameterType}`` of a pipeline spec's root inputs (e.g. ``NUMBER_INTEGER``)."""
    inputs = spec.get("root", {}).get("inputDefinitions", {}).get("parameters", {})
    return {name: definition["parameterType"] for name, definition in inputs.items()}


def declared_parameters(package_path: str) -> dict[str, str]:
    """Returns ``{name: parameterType}`` of the package's root inputs."""
    return root_parameters(_pipeline_docs(package_path)[0])


def check_params(package_path: str, params: Mapping[str, object]) -> dict[str, object]:
    """``check_arguments`` against the package's declared parameters."""
    return check_arguments(declared_parameters(package_path), params)


def check_arguments(declared: Mapping[str, str], params: Mapping[str, object]) -> dict[str, object]:
    """Checks ``params`` against declared parameters (``root_parameters``), returns them typed.

    Integers are accepted for float parameters; numbers and booleans given to a string
    parameter are turned back into text (``seed_tag=7`` → ``"7"``).

    Raises:
        ParamError: an unknown parameter name, or a value of the wrong type.
    """
    checked: dict[str, object] = {}
    for name, value in params.items():
        if name not in declared:
            known = ", ".join(sorted(declared)) or "(none)"
            raise ParamError(f"unknown pipeline parameter {name!r}; the package declares: {known}")
        kind = declared[name]
        if kind == "STRING" and not isinstance(value, (dict, list)):
            value = json.dumps(value) if isinstance(value, bool) else str(value)
        elif kind == "NUMBER_DOUBLE" and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        expected = {
            "STRING": str,
            "NUMBER_INTEGER": int,
            "NUMBER_DOUBLE": float,
            "BOOLEAN": bool,
            "LIST": list,
            "STRUCT": dict,
        }.get(kind, object)
        wrong_bool = isinstance(value, bool) and expected in (int, float)
        if not isinstance(value, expected) or wrong_bool:
            raise ParamError(
                f"pipeline parameter {name!r} is {kind}; got {type(value).__name__} {value!r}"
            )
        checked[name] = value
    return checked


def set_caching(
    package_path: str, output_path: str, enabled: bool | None, always_run: Iterable[str] = ()
) -> str:
    """Writes a copy of the package with caching ``enabled`` on its cacheable tasks.

    Only tasks compiled with caching on are changed, nested ones too (``kfp.Client``'s
    ``enable_caching`` in kfp 2.17 would rewrite every root task, evaluate and deploy included,
    and miss those inside a ``ParallelFor``, our training fan-out). A task compiled with
    ``set_caching_options(False)`` stays uncached: evaluate (the production model it compares
    with changes under the same inputs) and deploy (it publishes a new version every time) must
    always run. ``enabled=None`` leaves those tasks as compiled; the tasks named in
    ``always_run`` are made uncached whatever ``enabled`` is.
    """
    docs = _pipeline_docs(package_path)
    spec = docs[0]
    dags = [spec["root"]["dag"]]
    dags += [c["dag"] for c in spec.get("components", {}).values() if "dag" in c]
    for dag in dags:
        for name, task in dag.get("tasks", {}).items():
            if name in always_run:
                task["cachingOptions"] = {}
            elif enabled is not None and task.get("cachingOptions", {}).get("enableCache"):
                task["cachingOptions"] = {"enableCache": True} if enabled else {}
    return _write(docs, output_path)


def _write(docs: list[dict[str, Any]], output_path: str) -> str:
    Path(output_path).parent.mkdir(parents=True, exist_ok=True)
    with open(output_path, "w", encoding="utf-8") as stream:
        yaml.safe_dump_all(docs, stream, sort_keys=True)
    return output_path


@contextlib.contextmanager
def with_caching(
    package_path: str, enabled: bool | None, always_run: Iterable[str] = ()
) -> Iterator[str]:
    """The package itself, or a temporary copy with caching set (see ``set_caching``)."""
    if enabled is None and not always_run:
        yield package_path
        return
    with tempfile.TemporaryDirectory() as tmp:
        yield set_caching(package_path, f"{tmp}/{Path(package_path).name}", enabled, always_run)


def kubernetes_settings(package_path: str) -> list[str]:
    """The Kubernetes settings in the package's platform spec (``activeDeadlineSeconds``...)."""
    docs = _pipeline_docs(package_path)[1:]
    executors = [
        config
        for doc in docs
        for config in doc.get("platforms", {})
        .get("kubernetes", {})
        .get("deploymentSpec", {})
        .get("executors", {})
        .values()
    ]
    return sorted({key for config in executors for key in config})


def without_platform_spec(package_path: str, output_path: str) -> str:
    """Writes a copy of the package without its platform spec: the pipeline spec alone."""
    return _write(_pipeline_docs(package_path)[:1], output_path)
