"""pipelines.local's run directory: a run's links and run.json appear together, only on success.

Fake KFP output folders stand in for two pipeline runs (the layout ``kfp.local`` writes); the
second run fails before, or while, its outputs are linked, and the run directory must still
show the first run, whole.
"""

import json
import os
from pathlib import Path

import pytest

from pipelines import local


def fake_pipeline_dir(run_dir: Path, name: str, models: tuple[str, ...]) -> Path:
    pipeline_dir = run_dir / "kfp" / name
    for source in local.PUBLISHED_OUTPUTS:
        output = pipeline_dir / source
        output.mkdir(parents=True)
        (output / "from.txt").write_text(name)
    for model in models:
        card = pipeline_dir / f"train-{model}" / "model"
        card.mkdir(parents=True)
        (card / "model.json").write_text(json.dumps({"name": model}))
    return pipeline_dir


def finish(run_dir: Path, pipeline_dir: Path) -> None:
    published = local.publish(run_dir, [pipeline_dir])
    local.activate(
        run_dir, pipeline_dir, {"kfp_run_dir": pipeline_dir.name, "published": published}
    )


def shown(run_dir: Path) -> dict:
    return {
        "run": json.loads((run_dir / "run.json").read_text())["kfp_run_dir"],
        "evaluation": (run_dir / "evaluation" / "from.txt").read_text(),
        "models": sorted(p.name for p in (run_dir / "models").iterdir()),
    }


def test_a_successful_run_replaces_every_link_and_run_json_at_once(tmp_path):
    finish(tmp_path, fake_pipeline_dir(tmp_path, "p-1", ("cnn", "forest")))
    assert shown(tmp_path) == {"run": "p-1", "evaluation": "p-1", "models": ["cnn", "forest"]}
    finish(tmp_path, fake_pipeline_dir(tmp_path, "p-2", ("cnn",)))
    assert shown(tmp_path) == {"run": "p-2", "evaluation": "p-2", "models": ["cnn"]}


def test_a_failed_pipeline_leaves_the_previous_run_as_it_was(tmp_path):
    finish(tmp_path, fake_pipeline_dir(tmp_path, "p-1", ("cnn",)))
    before = shown(tmp_path)

    def failing_pipeline(**_):
        fake_pipeline_dir(tmp_path, "p-2", ("cnn", "forest"))  # half of a run's outputs
        raise RuntimeError("task featurize failed")

    with pytest.raises(RuntimeError, match="featurize"):
        local.run(failing_pipeline, str(tmp_path), {})
    assert shown(tmp_path) == before


def test_a_crash_while_linking_leaves_the_previous_run_as_it_was(tmp_path, monkeypatch):
    finish(tmp_path, fake_pipeline_dir(tmp_path, "p-1", ("cnn",)))
    before = shown(tmp_path)
    second = fake_pipeline_dir(tmp_path, "p-2", ("cnn", "forest"))
    links = []

    def crash_on_the_third(target, link):
        links.append(link)
        if len(links) == 3:
            raise OSError("disk full")
        real_link(target, link)

    real_link = local._link
    monkeypatch.setattr(local, "_link", crash_on_the_third)
    with pytest.raises(OSError):
        finish(tmp_path, second)
    assert shown(tmp_path) == before


def test_a_run_directory_of_the_earlier_layout_is_taken_over(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "old").symlink_to(tmp_path)
    (tmp_path / "evaluation").symlink_to(tmp_path)
    finish(tmp_path, fake_pipeline_dir(tmp_path, "p-1", ("cnn",)))
    assert shown(tmp_path) == {"run": "p-1", "evaluation": "p-1", "models": ["cnn"]}


def test_outputs_of_cached_tasks_are_published_from_the_earlier_run(tmp_path):
    first = fake_pipeline_dir(tmp_path, "p-1", ("cnn",))
    second = tmp_path / "kfp" / "p-2"
    (second / "deploy" / "deployment").mkdir(parents=True)  # only deploy ran: the rest was cached
    published = local.publish(tmp_path, [second, first])
    assert published["evaluation"] == os.path.relpath(first / "evaluate" / "evaluation", tmp_path)
    assert published["deployment"] == os.path.relpath(second / "deploy" / "deployment", tmp_path)
    assert published["models/cnn"] == os.path.relpath(first / "train-cnn" / "model", tmp_path)
