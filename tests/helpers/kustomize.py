"""The kustomize targets rendered with the pinned kubectl, and the documents tests look into."""

import subprocess
from functools import cache

import yaml

from tests.helpers.paths import ROOT
from tests.helpers.tools import tool


@cache
def render(target: str) -> list[dict]:
    out = subprocess.run(
        [tool("kubectl"), "kustomize", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def one(docs: list[dict], kind: str, name: str | None = None) -> dict:
    found = [d for d in docs if d["kind"] == kind and name in (None, d["metadata"]["name"])]
    assert len(found) == 1, f"expected one {kind} {name or ''}, got {len(found)}"
    return found[0]


def serving_container(docs: list[dict]) -> dict:
    pod = one(docs, "Deployment", "tf-serving")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return container
