"""evaluate → deploy against the production model, the model card, and ``describe``.

Three runs of evaluate and deploy into one model base, as three pipeline runs would do: the
first has no production model; in the second the candidate's test predictions are worse than
what the published version answers through its own serving signature on the same test clips
(not blessed, nothing deployed); in the third they are better (deployed as a new version). In
the first run a model of another framework (an xgboost card) scores best overall but cannot be
exported, so the Keras model is the candidate. A separate run where a random forest scores best
deploys the forest itself. The model files are the session fixtures' real models; the
candidates' test predictions are written per run, since they are what evaluate reads.
"""

import json
import os
import shutil

import numpy as np
import pytest

from cli import main as cli
from components.audio.labels import NUM_CLASSES
from components.deploy import core as deploy
from components.evaluate import core as evaluate
from tests.helpers.served_model import MODEL_NAME, fit_sklearn, read_examples, write_model_json

pytestmark = pytest.mark.xdist_group("serving")

CONFIG = evaluate.EvaluateConfig(
    min_macro_f1=0.0,  # only the comparison with production decides here
    min_worst_slice_f1=0.0,
    baseline_tolerance=0.01,
    bootstrap_samples=50,
    permutation_repeats=1,
    screenshot=False,
)
LINEAGE = {
    "pipeline_run_name": "household-sounds-run-3",
    "pipeline_run_id": "0c3e",
    "git_commit": "abc123",
    "image": "ghcr.io/household-sounds/household-sounds:test",
    "created_at": "2026-01-01T00:00:00+00:00",
}


def write_predictions(model_dir, featurized, quality: str) -> None:
    """predictions/<split>.jsonl: right on every clip, or wrong on the first or every test clip."""
    for split in ("train", "validation", "test"):
        data = read_examples(featurized, split)
        labels = data["label"]
        wrong = np.zeros(len(labels), bool)
        if split == "test":
            wrong[: {"right": 0, "one wrong": 1, "wrong": len(labels)}[quality]] = True
        predicted = np.where(wrong, (labels + 1) % NUM_CLASSES, labels)
        rows = [
            {
                "clip_id": clip_id.decode(),
                "label": int(label),
                "probabilities": np.eye(NUM_CLASSES)[p].tolist(),
            }
            for clip_id, label, p in zip(data["clip_id"], labels, predicted, strict=True)
        ]
        folder = os.path.join(model_dir, "predictions")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"{split}.jsonl"), "w") as handle:
            handle.writelines(json.dumps(row) + "\n" for row in rows)


@pytest.fixture(scope="module")
def runs(featurized, keras_model_dir, transform_graph, tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    base = str(root / "model_base")
    manifest = os.path.join(os.path.dirname(featurized), "manifest.jsonl")
    clip_stats = os.path.join(featurized, "clip_stats.jsonl")
    best = str(root / "xgboost")  # best overall, not exportable: only its predictions are read
    write_model_json(best, "xgboost", "xgboost", "mean_mfcc")
    write_predictions(best, featurized, "right")
    history = []
    for run, quality in enumerate(("one wrong", "wrong", "right"), start=1):
        cnn = str(root / f"run{run}" / "cnn_log_mel")
        shutil.copytree(keras_model_dir, cnn)
        write_predictions(cnn, featurized, quality)
        out = str(root / f"run{run}" / "evaluation")
        evaluated = evaluate.run(
            [best, cnn], manifest, clip_stats, out, CONFIG, model_base=base, model_name=MODEL_NAME
        )
        deployed = deploy.run([best, cnn], transform_graph, base, out, origin=LINEAGE)
        with open(os.path.join(out, "blessing.json")) as handle:
            blessing = json.load(handle)
        history.append({"evaluated": evaluated, "deployed": deployed, "blessing": blessing})
        history[-1]["versions"] = sorted(os.listdir(os.path.join(base, MODEL_NAME)))
    return {"base": base, "history": history, "evaluation": out}


def test_first_run_has_no_production_model_and_deploys_the_exportable_candidate(runs):
    first = runs["history"][0]
    blessing = first["blessing"]
    assert blessing["best"] == "xgboost" and blessing["candidate"] == "cnn_log_mel"
    assert blessing["blessed"] and blessing["checks"]["production"]
    assert "no published version under" in blessing["reasons"][-1]
    assert "this is the first deployment" in blessing["reasons"][-1]
    assert first["deployed"].deployed and first["deployed"].model == "cnn_log_mel"
    assert first["versions"] == [str(first["deployed"].version)]


@pytest.mark.slow  # ~20 s: exports a SavedModel
def test_a_random_forest_that_scores_best_is_the_one_deployed(
    featurized, keras_model_dir, transform_graph, tmp_path
):
    from sklearn.ensemble import RandomForestClassifier

    base = str(tmp_path / "model_base")
    manifest = os.path.join(os.path.dirname(featurized), "manifest.jsonl")
    clip_stats = os.path.join(featurized, "clip_stats.jsonl")
    forest = RandomForestClassifier(20, random_state=0)
    forest = fit_sklearn(featurized, tmp_path / "forest", "random_forest", forest)
    write_predictions(forest, featurized, "right")
    cnn = str(tmp_path / "cnn_log_mel")
    shutil.copytree(keras_model_dir, cnn)
    write_predictions(cnn, featurized, "one wrong")
    out = str(tmp_path / "evaluation")
    evaluate.run(
        [forest, cnn], manifest, clip_stats, out, CONFIG, model_base=base, model_name=MODEL_NAME
    )
    deployed = deploy.run([forest, cnn], transform_graph, base, out, origin=LINEAGE)
    with open(os.path.join(out, "blessing.json")) as handle:
        blessing = json.load(handle)
    assert blessing["best"] == blessing["candidate"] == "random_forest" and blessing["blessed"]
    assert deployed.deployed and deployed.model == "random_forest"
    with open(os.path.join(deployed.uri, "assets.extra", "model_card.json")) as handle:
        assert json.load(handle)["model"]["name"] == "random_forest"


def test_worse_candidate_than_production_is_not_blessed_and_nothing_is_deployed(runs):
    first, second = runs["history"][:2]
    production = second["blessing"]["production"]
    assert production["version"] == first["deployed"].version
    assert production["model"] == "cnn_log_mel"  # read from the served version's model card
    # Scored through the published version's own serving signature on the 4 test clips.
    assert production["n_compared"] == production["n_test"] == 4 and production["n_rejected"] == 0
    assert production["production_accuracy"] >= 0.75  # the tone model hears its tones
    assert production["candidate_accuracy"] == production["candidate_macro_f1"] == 0.0
    assert not second["blessing"]["blessed"] and not second["blessing"]["checks"]["production"]
    assert "is worse than production version" in second["blessing"]["reasons"][-1]
    assert not second["deployed"].deployed and second["deployed"].reasons[0] == "not blessed"
    assert second["versions"] == first["versions"]


def test_better_candidate_is_deployed_as_a_new_version(runs):
    first, _, third = runs["history"]
    assert third["blessing"]["blessed"]
    production = third["blessing"]["production"]
    assert production["candidate_accuracy"] == 1.0
    assert production["candidate_macro_f1"] >= production["production_macro_f1"]
    assert third["deployed"].deployed and third["deployed"].version > first["deployed"].version
    published = [str(first["deployed"].version), str(third["deployed"].version)]
    assert third["versions"] == sorted(published)


def test_a_stale_comparison_is_refused(runs, keras_model_dir, transform_graph):
    """Deploying run 3's evaluation again: it compared with a version that is no longer newest."""
    result = deploy.run(
        [os.path.join(os.path.dirname(runs["evaluation"]), "cnn_log_mel")],
        transform_graph,
        runs["base"],
        runs["evaluation"],
    )
    assert not result.deployed and "evaluate again" in result.reasons[0]


def test_every_version_carries_its_card_metrics_and_blessing(runs):
    third = runs["history"][2]
    extra = os.path.join(third["deployed"].uri, "assets.extra")
    assert {"model_card.json", "model_card.md", "metrics.json", "blessing.json"} <= set(
        os.listdir(extra)
    )
    with open(os.path.join(extra, "model_card.json")) as handle:
        card = json.load(handle)
    assert card["served"] == {
        "model_name": MODEL_NAME,
        "version": third["deployed"].version,
        "uri": third["deployed"].uri,
    }
    assert card["model"]["name"] == "cnn_log_mel" and card["model"]["feature"] == "log_mel"
    assert card["data"]["clips"]["test"]["alarm"] == 1 and card["data"]["total"]["train"] == 16
    macro_f1 = card["metrics"]["macro_f1"]
    assert macro_f1["ci_low"] <= macro_f1["value"] <= macro_f1["ci_high"]
    assert card["blessing"]["production"]["version"] == runs["history"][0]["deployed"].version
    assert card["lineage"] == LINEAGE
    assert card["pretrained"] == []  # a CNN on log-mel: no pretrained weight in its graph
    with open(os.path.join(extra, "blessing.json")) as handle:
        assert json.load(handle) == third["blessing"]
    markdown = open(os.path.join(extra, "model_card.md")).read()
    assert f"# Model card: {MODEL_NAME} version {third['deployed'].version}" in markdown
    assert "- pipeline run: household-sounds-run-3 (id 0c3e)" in markdown
    assert "## Pretrained weights\n\nNone: every weight was trained by this pipeline." in markdown


@pytest.fixture(scope="module")
def served_runs(runs):
    from serving.dev_server import grpc_api, rest
    from serving.dev_server.repository import ModelRepository

    repository = ModelRepository.from_base(runs["base"])
    grpc_server, grpc_port = grpc_api.serve(repository)
    http_server, http_port = rest.serve(repository)
    yield f"127.0.0.1:{grpc_port}", f"127.0.0.1:{http_port}"
    http_server.shutdown()
    grpc_server.stop(grace=1)


@pytest.mark.parametrize("rest", [False, True])
def test_describe_prints_metadata_and_card_from_the_dev_server(runs, served_runs, rest, capsys):
    version = runs["history"][2]["deployed"].version
    target = served_runs[1] if rest else served_runs[0]
    assert cli.main(["describe", "--target", target, *(["--rest"] if rest else [])]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"{MODEL_NAME} version {version} (")
    assert "serving_default inputs: audio_wav DT_STRING[-1]" in text
    assert f"# Model card: {MODEL_NAME} version {version}" in text
    assert "Blessed: yes" in text and "git commit: abc123" in text
    argv = ["describe", "--target", target, "--json", *(["--rest"] if rest else [])]
    assert cli.main(argv) == 0
    described = json.loads(capsys.readouterr().out)
    assert described["card"]["served"]["version"] == version
    assert set(described["signatures"]) == {"serving_default", "waveform"}


def test_describe_from_the_model_base_reads_any_version(runs, capsys):
    first = runs["history"][0]["deployed"].version
    assert cli.main(["describe", "--model-base", runs["base"], "--version", str(first)]) == 0
    assert f"# Model card: {MODEL_NAME} version {first}" in capsys.readouterr().out
    assert cli.main(["describe", "--model-base", runs["base"], "--version", "7"]) == 5
    assert "version 7 is not under" in json.loads(capsys.readouterr().err)["message"]


def test_a_server_that_refuses_the_card_field_is_described_without_it(model_base, capsys):
    """TF Serving answers INVALID_ARGUMENT for a metadata field other than signature_def."""
    from concurrent import futures

    import grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    from serving.dev_server.grpc_api import PredictionServicer
    from serving.dev_server.repository import ModelRepository

    class TfServingLike(PredictionServicer):
        def GetModelMetadata(self, request, context):  # noqa: N802
            if set(request.metadata_field) != {"signature_def"}:
                context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "Metadata field model_card is not supported",
                )
            return super().GetModelMetadata(request, context)

    repository = ModelRepository.from_base(model_base)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        TfServingLike(repository), server
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        assert cli.main(["describe", "--target", f"127.0.0.1:{port}"]) == 0
    finally:
        server.stop(grace=1)
    text = capsys.readouterr().out
    assert "serving_default inputs: audio_wav DT_STRING[-1]" in text
    assert "No model card: this server does not serve model cards" in text
    assert "describe --model-base PATH" in text


def test_a_version_deployed_without_an_evaluation_says_so(dev_server, capsys):
    """The shared session model was deployed from a blessing dict, not an evaluation."""
    assert cli.main(["describe", "--target", dev_server[0]]) == 0
    text = capsys.readouterr().out
    assert "Not recorded: deploy was given no evaluation directory." in text
    assert "Blessed: yes" in text
