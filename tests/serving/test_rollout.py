"""promote and rollback on a model base: the labels' meaning, TF Serving's two-step rule, errors.

The versions here are folders with a placeholder ``saved_model.pb`` (nothing loads them); the
drill against a server that does is ``test_rollout_drill.py``.
"""

import json
import shutil
import threading
import time

import pytest

from cli import main as cli
from components.artifacts import rollout_config
from components.artifacts.rollout_config import ConcurrentChangeError, ConfigStore
from serving import describe, rollout
from serving.rollout import RolloutSettings
from tests.helpers.gcs import gcs_emulator

NAME = "household_sounds"
FAST = RolloutSettings(poll_s=0.0)


@pytest.fixture
def base(tmp_path):
    for version in (1, 2, 3):
        folder = tmp_path / NAME / str(version)
        folder.mkdir(parents=True)
        (folder / "saved_model.pb").write_bytes(b"graph")
    (tmp_path / NAME / "4").mkdir()  # being published: no graph yet
    return tmp_path


def state(base) -> rollout_config.ModelRollout:
    return rollout_config.read(str(base)).model(NAME)


def test_the_first_stable_version_creates_the_config(base):
    summary = rollout.promote(str(base), 1, "stable", FAST)
    model = state(base)
    assert model.labels == {"stable": 1, "canary": 1}  # no canary in flight: canary is stable
    assert (model.versions, model.stable_history) == ((1,), (1,))
    assert model.base_path == str(base / NAME)
    assert summary["changed"] and summary["labels"] == {"stable": 1, "canary": 1}
    assert [event["action"] for event in model.events] == ["promote"]


def test_a_new_config_takes_the_path_tf_serving_sees(base, monkeypatch):
    rollout.promote(str(base), 1, "stable", RolloutSettings(served_base_path=f"/models/{NAME}"))
    assert state(base).base_path == f"/models/{NAME}"
    (base / "models.config").unlink()
    monkeypatch.chdir(base.parent)
    rollout.promote(base.name, 1, "stable", FAST)  # a relative model base
    assert state(base).base_path == str(base / NAME), "absolute, as TF Serving requires"


def test_canary_then_stable_then_rollback(base):
    rollout.promote(str(base), 1, "stable", FAST)
    rollout.promote(str(base), 2, "canary", FAST)
    model = state(base)
    assert model.labels == {"stable": 1, "canary": 2} and model.versions == (1, 2)

    rollout.promote(str(base), 2, "stable", FAST)
    model = state(base)
    assert model.labels == {"stable": 2, "canary": 2}
    assert model.stable_history == (1, 2)
    assert model.versions == (1, 2), "the previous stable stays loaded for an instant rollback"

    rollout.promote(str(base), 3, "stable", FAST)  # straight to stable, no canary
    assert state(base).versions == (2, 3), "version 1 is no longer needed: unloaded"

    summary = rollout.rollback(str(base), FAST)
    model = state(base)
    assert model.labels == {"stable": 2, "canary": 2} and model.stable_history == (1, 2)
    assert model.versions == (1, 2), "3 unloaded, 1 loaded again for the next rollback"
    assert summary["steps"] == ["labels {'stable': 2, 'canary': 2}, serving [1, 2]"]

    rollout.rollback(str(base), FAST)
    assert state(base).labels == {"stable": 1, "canary": 1}
    with pytest.raises(rollout.RolloutError, match=r"nothing to roll back to: .* is \[1\]"):
        rollout.rollback(str(base), FAST)
    actions = [(e["action"], e["label"], e["version"], e["from"]) for e in state(base).events]
    assert actions == [
        ("promote", "stable", 1, None),
        ("promote", "canary", 2, 1),
        ("promote", "stable", 2, 1),
        ("promote", "stable", 3, 2),
        ("rollback", "stable", 2, 3),
        ("rollback", "stable", 1, 2),
    ]


def test_a_label_moves_onto_a_new_version_only_after_it_is_served(base):
    """TF Serving refuses a label on a version it has not loaded: two writes, a wait between."""
    rollout.promote(str(base), 1, "stable", FAST)
    seen = []

    def version_states() -> dict[int, str]:  # the server's status, asked between the writes
        model = state(base)
        seen.append((model.versions, dict(model.labels), time.monotonic()))
        return {1: "AVAILABLE", 2: "AVAILABLE" if len(seen) > 2 else "LOADING"}

    started = time.monotonic()
    settings = RolloutSettings(poll_s=0.3, version_states=version_states)
    summary = rollout.promote(str(base), 2, "canary", settings)
    assert seen[0][:2] == ((1, 2), {"stable": 1, "canary": 1}), "served first, label unmoved"
    assert seen[0][2] - started >= 0.3, "one config poll before asking"
    assert len(seen) == 3, "asked until AVAILABLE"
    assert state(base).labels == {"stable": 1, "canary": 2}
    assert len(summary["steps"]) == 2


def test_a_version_that_never_loads_moves_no_label(base):
    rollout.promote(str(base), 1, "stable", FAST)
    settings = RolloutSettings(
        poll_s=0.0, load_timeout_s=0.2, version_states=lambda: {1: "AVAILABLE", 2: "LOADING"}
    )
    with pytest.raises(rollout.NotLoadedError, match="version 2 is not AVAILABLE .* LOADING"):
        rollout.promote(str(base), 2, "canary", settings)
    model = state(base)
    assert model.versions == (1, 2) and model.labels == {"stable": 1, "canary": 1}
    rollout.promote(str(base), 2, "canary", FAST)  # once it loads, the same command finishes
    assert state(base).labels == {"stable": 1, "canary": 2}


def test_promoting_what_is_already_labelled_changes_nothing(base):
    rollout.promote(str(base), 1, "stable", FAST)
    before = (base / "models.config").read_text()
    assert rollout.promote(str(base), 1, "stable", FAST)["changed"] is False
    assert (base / "models.config").read_text() == before


@pytest.mark.parametrize(
    ("version", "label", "message"),
    [
        (9, "stable", r"the version 9 is not under .* \(versions: \[1, 2, 3, 4\]\)"),
        (4, "stable", "version 4 .* has no saved_model.pb"),
        (2, "beta", "unknown label 'beta': use one of stable, canary"),
    ],
)
def test_wrong_versions_and_labels_are_refused(base, version, label, message):
    rollout.promote(str(base), 1, "stable", FAST)
    before = (base / "models.config").read_text()
    with pytest.raises(rollout.RolloutError, match=message):
        rollout.promote(str(base), version, label, FAST)
    assert (base / "models.config").read_text() == before


def test_a_canary_needs_a_stable_version(base):
    with pytest.raises(rollout.RolloutError, match="no stable version yet"):
        rollout.promote(str(base), 2, "canary", FAST)
    assert not (base / "models.config").exists()


def test_labels_never_point_at_a_version_that_is_gone(base):
    rollout.promote(str(base), 1, "stable", FAST)
    rollout.promote(str(base), 2, "stable", FAST)
    shutil.rmtree(base / NAME / "1")
    before = (base / "models.config").read_text()
    with pytest.raises(rollout.RolloutError, match="previous stable version 1 is not under"):
        rollout.rollback(str(base), FAST)
    shutil.rmtree(base / NAME / "2")
    with pytest.raises(rollout.RolloutError, match="the stable version 2 is not under"):
        rollout.promote(str(base), 3, "canary", FAST)
    assert (base / "models.config").read_text() == before


def test_rollback_without_a_config(base):
    with pytest.raises(rollout.RolloutError, match="no rollout config at .*: nothing to roll"):
        rollout.rollback(str(base), FAST)


def test_a_concurrent_change_is_never_overwritten(base):
    rollout.promote(str(base), 1, "stable", FAST)
    store = ConfigStore(str(base))
    text, token = store.read()
    rollout.promote(str(base), 2, "canary", FAST)  # somebody else, meanwhile
    theirs = (base / "models.config").read_text()
    with pytest.raises(ConcurrentChangeError, match="changed while this command ran"):
        store.write(text, token)
    assert (base / "models.config").read_text() == theirs
    assert [p.name for p in base.iterdir() if p.name.startswith(".")] == [], "no temporary left"


def test_racing_promotions_apply_one_at_a_time(base):
    rollout.promote(str(base), 1, "stable", FAST)
    outcomes = []

    def promote(version: int) -> None:
        try:
            outcomes.append(rollout.promote(str(base), version, "canary", FAST)["labels"])
        except ConcurrentChangeError as error:
            outcomes.append(str(error))

    threads = [threading.Thread(target=promote, args=(v,)) for v in (2, 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    winners = [o for o in outcomes if isinstance(o, dict)]
    assert winners and state(base).labels == winners[-1]
    assert rollout_config.read(str(base)).model(NAME).canary in (2, 3)


def test_the_cli_prints_the_labels_and_refuses_with_one_line(base, capsys):
    code = cli.main(["promote", "1", "--label", "stable", "--model-base", str(base)])
    assert code == 0 and json.loads(capsys.readouterr().out)["labels"]["stable"] == 1
    code = cli.main(["promote", "7", "--label", "canary", "--model-base", str(base)])
    error = capsys.readouterr().err
    assert code == 2 and error.count("\n") == 1 and "version 7 is not under" in error
    code = cli.main(["rollback", "--model-base", str(base)])
    assert code == 2 and "nothing to roll back to" in capsys.readouterr().err


@pytest.mark.slow
def test_promote_and_rollback_on_gcs(base, tmp_path, monkeypatch):
    from google.cloud import storage

    (tmp_path / "tls").mkdir()
    with gcs_emulator(tmp_path / "tls", bucket="models") as environment:
        for key, value in environment.items():
            monkeypatch.setenv(key, value)
        bucket = storage.Client().bucket("models")
        for version in (1, 2):
            bucket.blob(f"base/{NAME}/{version}/saved_model.pb").upload_from_string(b"graph")
        gcs_base = "gs://models/base"
        rollout.promote(gcs_base, 1, "stable", FAST)
        rollout.promote(gcs_base, 2, "stable", FAST)
        config = rollout_config.read(gcs_base).model(NAME)
        assert config.base_path == f"gs://models/base/{NAME}", "TF Serving reads gs:// itself"
        assert config.labels == {"stable": 2, "canary": 2}
        rollout.rollback(gcs_base, FAST)
        assert rollout_config.production_version(gcs_base, NAME) == 1  # read right after writes


def test_describe_reads_the_card_of_a_label_from_the_model_base(base):
    for version in (1, 2):
        card = base / NAME / str(version) / "assets.extra" / "model_card.json"
        card.parent.mkdir()
        card.write_text(json.dumps({"served": {"version": version}}))
    rollout.promote(str(base), 1, "stable", FAST)
    rollout.promote(str(base), 2, "canary", FAST)
    assert describe.from_model_base(str(base), NAME)["version"] == 1, "production: stable"
    canary = describe.from_model_base(str(base), NAME, label="canary")
    assert canary["card"] == {"served": {"version": 2}}
    with pytest.raises(FileNotFoundError, match="no version of household_sounds is labelled 'x'"):
        describe.from_model_base(str(base), NAME, label="x")
