"""featurize on a gs:// pipeline root: the compiled task, run by KFP's executor against an emulator.

The pipeline is compiled for an image; its featurize task must carry that image for the Beam
workers. Then the featurize component runs as the KFP launcher would run it on a gs:// pipeline
root: KFP's own executor gets artifacts whose URIs are ``gs://`` and whose local paths are the
launcher's ``/gcs/...`` staging folders (moved under ``tmp_path`` here). The clips, the manifest
and every output live in ``gcp-storage-emulator`` on 127.0.0.1, which Beam's GCS IO and
TensorFlow's GCS file system both reach (``tests/helpers/gcs.py``). What proves that Beam got
the URIs: the examples and the transform graph are in the bucket while the local staging folders,
which the launcher would upload afterwards, stay empty.
"""

import io
import json

import pytest
import soundfile
import tensorflow as tf
import yaml
from kfp.dsl import executor
from kfp.dsl.types import artifact_types

from components.audio import examples, feature_sets
from components.featurize.component import featurize
from pipelines.compile import compile_pipeline
from tests.helpers.audio import tone
from tests.helpers.gcs import emulated_gcs

pytestmark = pytest.mark.slow

IMAGE = "europe-docker.pkg.dev/project/repo/household-sounds:0123abc"
ROOT = "gs://data/pipeline-root/household-sounds-run"
SPLITS = {"train": 4, "validation": 2, "test": 2}


@pytest.fixture
def gcs(tmp_path, monkeypatch):
    with emulated_gcs(tmp_path, monkeypatch) as client:
        yield client


def _upload_dataset(client) -> list[dict]:
    bucket, rows = client.bucket("data"), []
    splits = [split for split, count in SPLITS.items() for _ in range(count)]
    for i, split in enumerate(splits):
        buffer = io.BytesIO()
        rate = [16000, 22050, 44100][i % 3]
        soundfile.write(buffer, tone(200.0 + 90 * i, 1.0 + i / 2, rate), rate, format="WAV")
        bucket.blob(f"audio/{i}.wav").upload_from_string(buffer.getvalue())
        rows.append(
            {
                "clip_id": f"c{i}",
                "uri": f"gs://data/audio/{i}.wav",
                "split": split,
                "label_index": i % 8,
            }
        )
    bucket.blob("audio/broken.wav").upload_from_string(b"RIFF, but nothing after it")
    rows.append(
        {
            "clip_id": "broken",
            "uri": "gs://data/audio/broken.wav",
            "split": "train",
            "label_index": 0,
        }
    )
    manifest = "".join(json.dumps(row) + "\n" for row in rows)
    bucket.blob(
        "pipeline-root/household-sounds-run/rebalance/balanced_manifest/manifest.jsonl"
    ).upload_from_string(manifest)
    return rows


def _featurize_task(tmp_path) -> dict:
    with open(compile_pipeline(str(tmp_path / "p.yaml"), image=IMAGE)) as handle:
        package = next(yaml.safe_load_all(handle))  # then the Kubernetes platform spec
    task = package["root"]["dag"]["tasks"]["featurize"]
    executor_label = package["components"][task["componentRef"]["name"]]["executorLabel"]
    container = package["deploymentSpec"]["executors"][executor_label]["container"]
    return {"parameters": task["inputs"]["parameters"], "image": container["image"]}


def test_the_compiled_featurize_task_passes_its_own_image_to_the_beam_workers(tmp_path):
    task = _featurize_task(tmp_path)
    assert task["image"] == IMAGE
    assert task["parameters"]["sdk_container_image"] == {"runtimeValue": {"constant": IMAGE}}
    assert task["parameters"]["runner"] == {"componentInputParameter": "runner"}


def _artifact(name: str, uri: str, schema: str) -> dict:
    return {"artifacts": [{"name": name, "type": {"schemaTitle": schema}, "uri": uri}]}


def test_featurize_on_a_gs_root_reads_and_writes_through_the_uris(gcs, tmp_path, monkeypatch):
    rows = _upload_dataset(gcs)
    mount = tmp_path / "gcs"  # the launcher's /gcs/ staging root
    monkeypatch.setattr(artifact_types, "_GCS_LOCAL_MOUNT_PREFIX", f"{mount}/")
    parameters = _featurize_task(tmp_path)["parameters"]
    output = f"{ROOT}/featurize"
    executor_input = {
        "inputs": {
            "parameterValues": {
                "runner": "FnApiRunner",
                "beam_args": ["--direct_num_workers=1"],
                "num_shards": 1,
                "feature_sets": list(feature_sets.DEFAULT),
                "sdk_container_image": parameters["sdk_container_image"]["runtimeValue"][
                    "constant"
                ],
            },
            "artifacts": {
                "manifest": _artifact(
                    "manifest", f"{ROOT}/rebalance/balanced_manifest", "system.Dataset"
                )
            },
        },
        "outputs": {
            "artifacts": {
                "examples": _artifact("examples", f"{output}/examples", "system.Dataset"),
                "transform_graph": _artifact(
                    "transform_graph", f"{output}/transform_graph", "system.Artifact"
                ),
                "counts": _artifact("counts", f"{output}/counts", "system.Metrics"),
                "dead_letter": _artifact("dead_letter", f"{output}/dead_letter", "system.Markdown"),
            },
            "outputFile": str(tmp_path / "executor_output.json"),
        },
    }
    executor.Executor(executor_input, featurize.python_func).execute()

    produced = json.loads((tmp_path / "executor_output.json").read_text())
    counts = produced["artifacts"]["counts"]["artifacts"][0]["metadata"]
    assert {split: counts[f"clips_{split}"] for split in SPLITS} == SPLITS
    assert counts["dead_letter_total"] == 1

    names = [blob.name for blob in gcs.list_blobs("data", prefix="pipeline-root/")]
    prefix = "pipeline-root/household-sounds-run/featurize/"
    for split in SPLITS:
        assert any(n.startswith(f"{prefix}examples/examples/{split}/part-") for n in names), split
    assert f"{prefix}transform_graph/transform_fn/saved_model.pb" in names
    assert f"{prefix}examples/clip_stats.jsonl" in names
    assert not [n for n in names if "beam-temp" in n or "/raw/" in n], "scratch left behind"
    # The launcher's local folders got nothing of Beam's: it would upload an empty folder.
    staged = mount / "data/pipeline-root/household-sounds-run/featurize"
    assert list((staged / "examples").iterdir()) == []
    assert list((staged / "transform_graph").iterdir()) == []
    assert "broken" in (staged / "dead_letter").read_text()  # KFP's own file, at its path

    # TensorFlow reads the examples back from gs:// with the labels of the manifest.
    labels = {row["clip_id"]: row["label_index"] for row in rows}
    spec = examples.feature_spec(feature_sets.DEFAULT)  # what featurize computes by default
    for split, count in SPLITS.items():
        shards = tf.io.gfile.glob(f"{output}/examples/examples/{split}/part-*")
        dataset = tf.data.TFRecordDataset(shards, compression_type="GZIP").map(
            lambda record: tf.io.parse_single_example(record, spec)
        )
        got = [(e[examples.CLIP_ID].numpy().decode(), int(e[examples.LABEL])) for e in dataset]
        assert len(got) == count and all(labels[clip] == label for clip, label in got)
    assert tf.io.gfile.stat(f"{output}/transform_graph/transform_fn/saved_model.pb").length > 0
