"""The deploy step: blessing gate, model choice, versioning, atomic publish locally and on GCS."""

import json
import os
import time

import joblib
import numpy as np
import pytest
import tensorflow as tf

from components.artifacts import model_files
from components.audio.labels import NUM_CLASSES
from components.deploy import classifiers, core, publish
from tests.helpers.served_model import MODEL_NAME, fit_sklearn, read_examples, write_model_json

# One worker builds the shared session fixtures (featurize, train, export) once: see conftest.
pytestmark = pytest.mark.xdist_group("serving")

UNBLESSED = {"blessed": False, "candidate": "cnn_log_mel", "reasons": ["macro-F1 0.1 < 0.3"]}


def test_unblessed_model_is_not_deployed(keras_model_dir, transform_graph, tmp_path):
    result = core.run([keras_model_dir], transform_graph, str(tmp_path), UNBLESSED)
    assert not result.deployed and result.model == "cnn_log_mel"
    assert result.reasons == ["not blessed", "macro-F1 0.1 < 0.3"]
    assert os.listdir(tmp_path) == []


def test_nothing_is_deployed_without_a_model_base_or_a_candidate(keras_model_dir, tmp_path):
    # No export is attempted: the transform graph's path is never read.
    graph = str(tmp_path / "no_graph")
    blessed = {**UNBLESSED, "blessed": True}
    forced = core.DeployConfig(force=True)
    no_base = core.run([keras_model_dir], graph, "", blessed, forced)
    assert not no_base.deployed and no_base.reasons == ["no model_base given: nothing to deploy to"]
    none = {"blessed": False, "candidate": None, "best": "xgboost", "reasons": ["no model"]}
    no_candidate = core.run([keras_model_dir], graph, str(tmp_path), none, forced)
    assert not no_candidate.deployed
    assert no_candidate.reasons == ["no exportable candidate: nothing to deploy", "no model"]
    assert os.listdir(tmp_path) == []


def test_force_deploys_an_unblessed_model_and_says_so(keras_model_dir, transform_graph, tmp_path):
    blessing_file = tmp_path / "evaluation" / "blessing.json"
    blessing_file.parent.mkdir()
    blessing_file.write_text('{"blessed": false, "candidate": "cnn_log_mel", "reasons": ["low"]}')
    config = core.DeployConfig(model_name="forced", force=True)
    base, evaluation = str(tmp_path / "base"), str(blessing_file.parent)
    result = core.run([keras_model_dir], transform_graph, base, evaluation, config)
    assert result.deployed
    assert result.reasons == ["not blessed; deployed because force=True", "low"]
    assert result.version >= int(time.time()) - 600
    assert os.listdir(tmp_path / "base" / "forced") == [str(result.version)]


def test_versions_are_immutable_and_increase(tmp_path):
    export = tmp_path / "export"
    export.mkdir()
    (export / "saved_model.pb").write_bytes(b"x")
    base = str(tmp_path / "base")
    _, first = publish.publish(str(export), base, MODEL_NAME, version=5)
    with pytest.raises(publish.VersionExistsError):
        publish.publish(str(export), base, MODEL_NAME, version=5)
    assert publish.next_version([5], now_s=3) == 6
    assert publish.next_version([5], now_s=1_800_000_000) == 1_800_000_000
    assert sorted(os.listdir(os.path.join(base, MODEL_NAME))) == ["5"]


@pytest.fixture(scope="module")
def forest_model_dir(featurized, tmp_path_factory) -> str:
    from sklearn.ensemble import RandomForestClassifier

    directory = tmp_path_factory.mktemp("models") / "random_forest"
    forest = RandomForestClassifier(50, random_state=0)
    return fit_sklearn(featurized, directory, "random_forest", forest)


@pytest.fixture(scope="module")
def svc_model_dir(featurized, tmp_path_factory) -> str:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import SVC

    directory = tmp_path_factory.mktemp("models") / "svc"
    svc = CalibratedClassifierCV(SVC(), ensemble=False, cv=2)
    return fit_sklearn(featurized, directory, "svc", svc)


@pytest.fixture(scope="module")
def xgboost_model_dir(tmp_path_factory) -> str:
    """A card of a framework deploy cannot export (no model file is ever read)."""
    directory = tmp_path_factory.mktemp("models") / "xgboost"
    write_model_json(directory, "xgboost", "xgboost", "mean_mfcc")
    return str(directory)


@pytest.mark.slow  # ~20 s each: exports a SavedModel
@pytest.mark.parametrize("name", ["random_forest", "svc"])
def test_forest_and_svc_are_deployed_and_serve_the_pipelines_predictions(
    name, request, featurized, transform_graph, tmp_path
):
    # The pipeline's path for the test clips: Beam featurizer → tf.Transform → TFRecords →
    # predict_proba. The served path: the WAV files' bytes through the deployed SavedModel.
    model_dir = request.getfixturevalue(
        "forest_model_dir" if name == "random_forest" else "svc_model_dir"
    )
    blessing = {"blessed": True, "candidate": name, "reasons": []}
    result = core.run(
        [model_dir], transform_graph, str(tmp_path), blessing, core.DeployConfig(version=7)
    )
    assert result.deployed and result.model == name
    model = joblib.load(os.path.join(model_dir, "model.joblib"))
    test = read_examples(featurized, "test")
    expected = np.zeros((len(test["label"]), NUM_CLASSES))
    expected[:, model.classes_] = model.predict_proba(test["mean_mfcc"])
    manifest = os.path.join(os.path.dirname(featurized), "manifest.jsonl")
    uris = {row["clip_id"]: row["uri"] for row in map(json.loads, open(manifest))}
    files = [open(uris[clip_id.decode()], "rb").read() for clip_id in test["clip_id"]]
    served = tf.saved_model.load(result.uri).signatures["serving_default"]
    got = served(audio_wav=tf.constant(files))["probabilities"].numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    assert np.ptp(expected, axis=0).max() > 0.05  # the model's answers depend on the clip


def test_deploy_takes_exactly_the_model_the_blessing_names(
    forest_model_dir, keras_model_dir, linear_model_dir, svc_model_dir, xgboost_model_dir
):
    candidates = [forest_model_dir, keras_model_dir, linear_model_dir, svc_model_dir]
    candidates.append(xgboost_model_dir)
    expected = {
        "logistic_regression": linear_model_dir,
        "cnn_log_mel": keras_model_dir,
        "random_forest": forest_model_dir,
        "svc": svc_model_dir,
    }
    for name, model_dir in expected.items():
        chosen, card = core.choose_model(candidates, name)
        assert chosen == model_dir and card == model_files.read_model_card(model_dir)
    # evaluate never names an unexportable model; deploy refuses one instead of swapping it
    with pytest.raises(classifiers.UnsupportedModelError, match="cannot deploy 'xgboost'"):
        core.choose_model(candidates, "xgboost")
    with pytest.raises(classifiers.UnsupportedModelError, match="unknown model framework"):
        classifiers.load_classifier(model_files.read_model_info(xgboost_model_dir))
    with pytest.raises(ValueError, match="'gbt' is not among the 5 model directories"):
        core.choose_model(candidates, "gbt")


def test_deploy_to_gcs_publishes_a_complete_version(
    gcs_emulator, keras_model_dir, transform_graph, tmp_path, monkeypatch
):
    from google.cloud import storage

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator)
    blessing = {"blessed": True, "candidate": "cnn_log_mel", "reasons": []}
    result = core.run(
        [keras_model_dir], transform_graph, "gs://models/serving", blessing, core.DeployConfig()
    )
    assert result.uri == f"gs://models/serving/{MODEL_NAME}/{result.version}"
    client = storage.Client()
    names = [blob.name for blob in client.list_blobs("models")]
    root = f"serving/{MODEL_NAME}/{result.version}/"
    claim = f"serving/{MODEL_NAME}/.claim-{result.version}"
    assert all(name.startswith(root) or name == claim for name in names), "no staging left"
    for required in ("saved_model.pb", "variables/variables.index", "assets.extra/"):
        assert any(name.startswith(root + required) for name in names), required
    # A second deploy gets a higher version; the copy round-trips into a loadable model.
    again = core.run([keras_model_dir], transform_graph, "gs://models/serving", blessing)
    assert again.version > result.version
    local = tmp_path / "download"
    for blob in client.list_blobs("models", prefix=root):
        target = local / blob.name[len(root) :]
        target.parent.mkdir(parents=True, exist_ok=True)
        blob.download_to_filename(target)
    served = tf.saved_model.load(str(local))
    clip = np.zeros((1, 110250), np.float32)
    assert served.signatures["waveform"](waveform=clip)["probabilities"].shape == (1, 8)


def test_component_compiles_with_typed_artifacts(tmp_path):
    from kfp import compiler

    from components.deploy.component import deploy

    path = tmp_path / "deploy.yaml"
    compiler.Compiler().compile(deploy, str(path))
    text = path.read_text()
    assert "isArtifactList: true" in text and "model_base" in text


def test_run_gates_then_deploys_the_named_candidate_among_all_models(
    forest_model_dir, linear_model_dir, transform_graph, tmp_path
):
    unblessed = {"blessed": False, "candidate": "logistic_regression", "reasons": ["low"]}
    model_dirs = [forest_model_dir, linear_model_dir]
    skipped = core.run(model_dirs, transform_graph, str(tmp_path), unblessed)
    assert not skipped.deployed and skipped.reasons == ["not blessed", "low"]
    assert os.listdir(tmp_path) == []
    blessed = {**unblessed, "blessed": True, "reasons": ["fine"]}
    result = core.run(model_dirs, transform_graph, str(tmp_path), blessed)
    assert result.deployed and result.model == "logistic_regression"
    assert result.reasons == ["fine"]
    with pytest.raises(ValueError, match="'logistic_regression' is not among the 1 model"):
        core.run([forest_model_dir], transform_graph, str(tmp_path), blessed)
