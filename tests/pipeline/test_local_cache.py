"""``pipelines.local.run`` reuses completed tasks from kfp.local's cache and publishes them."""

from pathlib import Path

import pytest
from kfp import dsl

from pipelines import local


@dsl.component(base_image="example.org/tiny:1", install_kfp_package=False)
def ingest(data_root: str, log: str, manifest: dsl.Output[dsl.Dataset]):
    import os

    with open(log, "a") as handle:
        handle.write("ingest\n")
    os.makedirs(manifest.path)
    with open(os.path.join(manifest.path, "manifest.jsonl"), "w") as handle:
        handle.write(data_root + "\n")


@dsl.component(base_image="example.org/tiny:1", install_kfp_package=False)
def evaluate(
    manifest: dsl.Input[dsl.Dataset], log: str, fail: bool, evaluation: dsl.Output[dsl.Artifact]
):
    with open(log, "a") as handle:
        handle.write("evaluate\n")
    if fail:
        raise RuntimeError("evaluate fails on purpose")
    with open(evaluation.path, "w") as handle:
        handle.write(open(f"{manifest.path}/manifest.jsonl").read())


@dsl.pipeline(name="tiny-cache")
def tiny(data_root: str, log: str, fail: bool = False):
    manifest = ingest(data_root=data_root, log=log).outputs["manifest"]
    evaluate(manifest=manifest, log=log, fail=fail)


@pytest.mark.slow
def test_a_rerun_after_a_failure_reuses_the_completed_steps(tmp_path):
    log = tmp_path / "executions.log"
    run_dir = tmp_path / "run"
    arguments = {"data_root": "/data/x", "log": str(log)}
    with pytest.raises(RuntimeError):
        local.run(tiny, str(run_dir), {**arguments, "fail": True})
    assert log.read_text().split() == ["ingest", "evaluate"]
    result = local.run(tiny, str(run_dir), arguments)
    assert log.read_text().split() == ["ingest", "evaluate", "evaluate"]  # ingest came from cache
    assert (run_dir / "manifest" / "manifest.jsonl").read_text() == "/data/x\n"
    assert Path(run_dir, "evaluation").read_text() == "/data/x\n"
    assert set(result.published) == {"manifest", "evaluation"}
    local.run(tiny, str(run_dir), arguments, cache=False)
    assert log.read_text().split() == ["ingest", "evaluate", "evaluate", "ingest", "evaluate"]
