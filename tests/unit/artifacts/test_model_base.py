"""The model base layout, read locally (without TensorFlow) and on gs:// (the GCS emulator)."""

import json
import subprocess
import sys

import pytest

from components.artifacts import model_base
from components.artifacts.names import ASSETS_EXTRA_DIR, VERSION_CARD_JSON
from tests.helpers.gcs import gcs_emulator

NAME = "household_sounds"
CARD = {"model": {"name": "cnn_log_mel"}, "served": {"version": 3}}


def _version(root, version: int, complete: bool = True, card: bool = True) -> None:
    folder = root / NAME / str(version)
    (folder / ASSETS_EXTRA_DIR).mkdir(parents=True)
    if complete:
        (folder / "saved_model.pb").write_bytes(b"graph")
    if card:
        (folder / ASSETS_EXTRA_DIR / VERSION_CARD_JSON).write_text(json.dumps(CARD))


@pytest.fixture
def local_base(tmp_path):
    for version, complete in ((3, True), (12, True), (20, False)):
        _version(tmp_path, version, complete, card=version == 3)
    (tmp_path / NAME / ".staging-30-ab12cd34").mkdir()  # a publish in progress: not a version
    (tmp_path / NAME / ".claim-30").write_text("")
    (tmp_path / "empty_model").mkdir()
    (tmp_path / "models.config").write_text("model_config_list {}\n")
    return tmp_path


def test_versions_are_the_integer_folders_in_numeric_order(local_base):
    base = str(local_base)
    assert model_base.versions(base, NAME) == [3, 12, 20]  # 12 after 3: numbers, not strings
    assert model_base.latest(base, NAME) == 20
    assert model_base.versions(base, "missing") == [] and model_base.latest(base, "missing") is None
    assert model_base.model_names(base) == [NAME]  # empty_model and models.config are not models


def test_paths_of_a_version_and_its_files(local_base):
    base = str(local_base)
    version = model_base.version_dir(base, NAME, 3)
    assert version == str(local_base / NAME / "3")
    assert model_base.version_in(model_base.model_root(base, NAME), 3) == version
    assert model_base.versions_under(model_base.model_root(base, NAME)) == [3, 12, 20]
    assert model_base.warmup_file(version).endswith("3/assets.extra/tf_serving_warmup_requests")
    assert model_base.rollout_config_file(base) == str(local_base / "models.config")
    assert model_base.is_complete(base, NAME, 3)
    assert not model_base.is_complete(base, NAME, 20), "no saved_model.pb: not loadable yet"


def test_cards_are_read_where_they_exist(local_base):
    assert model_base.read_card(model_base.version_dir(str(local_base), NAME, 3)) == CARD
    assert model_base.read_card(model_base.version_dir(str(local_base), NAME, 12)) is None
    with pytest.raises(FileNotFoundError):
        model_base.read_text(str(local_base / "nope.txt"))


def test_remote_paths_are_joined_with_slashes():
    assert model_base.version_dir("gs://bucket/models/", NAME, 7) == f"gs://bucket/models/{NAME}/7"
    assert model_base.asset_file("gs://b/m/1", "x.json") == "gs://b/m/1/assets.extra/x.json"


def test_a_local_model_base_is_read_without_tensorflow(local_base):
    code = (
        "import sys; from components.artifacts import model_base as m; "
        f"assert m.versions({str(local_base)!r}, {NAME!r}) == [3, 12, 20]; "
        f"assert m.read_card(m.version_dir({str(local_base)!r}, {NAME!r}, 3)); "
        "assert 'tensorflow' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.slow
def test_the_same_layout_on_gcs(tmp_path, monkeypatch):
    from google.cloud import storage

    (tmp_path / "tls").mkdir()
    with gcs_emulator(tmp_path / "tls", bucket="models") as environment:
        for key, value in environment.items():
            monkeypatch.setenv(key, value)
        bucket = storage.Client().bucket("models")
        for version, complete in ((3, True), (12, True), (20, False)):
            root = f"base/{NAME}/{version}"
            bucket.blob(f"{root}/variables/variables.index").upload_from_string(b"index")
            if complete:
                bucket.blob(f"{root}/saved_model.pb").upload_from_string(b"graph")
        card = f"base/{NAME}/3/{ASSETS_EXTRA_DIR}/{VERSION_CARD_JSON}"
        bucket.blob(card).upload_from_string(json.dumps(CARD))
        bucket.blob(f"base/{NAME}/.claim-30").upload_from_string(b"")
        bucket.blob(f"base/{NAME}/.staging-30-ab12cd34/saved_model.pb").upload_from_string(b"g")

        base = "gs://models/base"
        assert model_base.versions(base, NAME) == [3, 12, 20]
        assert model_base.latest(base, NAME) == 20
        assert model_base.model_names(base) == [NAME]
        assert model_base.is_complete(base, NAME, 12)
        assert not model_base.is_complete(base, NAME, 20)
        assert model_base.read_card(model_base.version_dir(base, NAME, 3)) == CARD
        assert model_base.read_card(model_base.version_dir(base, NAME, 12)) is None
        assert model_base.versions(base, "missing") == []
