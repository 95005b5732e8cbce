"""A fine-tuned mn04 model served end to end: WAV bytes → 32 kHz → mn04 log-mel → its own trunk.

The served graph holds mn04's front end (the featurizer's ``mn04_log_mel``) and the model's
fine-tuned trunk and head, not the frozen trunk of the ``mn04_embedding`` feature set; its scores
equal the pipeline's path (the test clips' TFRecords through the trained model) to 1e-5, and its
model card names the EfficientAT files the trunk started from.
"""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from components.artifacts.signature import DEFAULT_SIGNATURE
from components.deploy import core
from components.pretrained.catalog import EFFICIENTAT
from components.train.config import FEATURE_OF, MN04_FINETUNED
from components.train.model import build_model, pretrained_files
from tests.helpers.served_model import read_examples, write_model_json

# One worker builds the shared session fixtures (featurize) once: see conftest.
pytestmark = pytest.mark.xdist_group("serving")
FEATURE = FEATURE_OF[MN04_FINETUNED]


@pytest.fixture(scope="module")
def finetuned_model_dir(featurized, tmp_path_factory) -> str:
    """The fine-tuned family's seed model after two epochs on the 16 training clips."""
    keras.utils.set_random_seed(0)
    train = read_examples(featurized, "train")
    model = build_model(MN04_FINETUNED, total_steps=4)
    labels = keras.utils.to_categorical(train["label"], 8)
    model.fit(train[FEATURE].reshape(-1, 128, 500, 1), labels, epochs=2, batch_size=8, verbose=0)
    model_dir = tmp_path_factory.mktemp("models") / MN04_FINETUNED
    write_model_json(model_dir, MN04_FINETUNED, "keras", FEATURE)
    card = json.loads((model_dir / "model.json").read_text())
    card["pretrained"] = pretrained_files(MN04_FINETUNED)  # as train writes it
    (model_dir / "model.json").write_text(json.dumps(card))
    model.save(model_dir / "model.keras")
    return str(model_dir)


@pytest.fixture(scope="module")
def finetuned_base(finetuned_model_dir, transform_graph, tmp_path_factory):
    base = tmp_path_factory.mktemp("finetuned-base")
    blessing = {"blessed": True, "candidate": MN04_FINETUNED, "reasons": []}
    core.run(
        [finetuned_model_dir], transform_graph, str(base), blessing, core.DeployConfig(version=3)
    )
    return base


def test_served_scores_equal_the_pipelines_from_the_tfrecords(
    finetuned_model_dir, finetuned_base, featurized
):
    model = keras.saving.load_model(os.path.join(finetuned_model_dir, "model.keras"))
    test = read_examples(featurized, "test")
    expected = model(test[FEATURE].reshape(-1, 128, 500, 1)).numpy()
    manifest = os.path.join(os.path.dirname(featurized), "manifest.jsonl")
    uris = {row["clip_id"]: row["uri"] for row in map(json.loads, open(manifest))}
    files = [open(uris[clip_id.decode()], "rb").read() for clip_id in test["clip_id"]]
    served = tf.saved_model.load(str(finetuned_base / "household_sounds" / "3"))
    got = served.signatures[DEFAULT_SIGNATURE](audio_wav=tf.constant(files))
    np.testing.assert_allclose(got["probabilities"].numpy(), expected, rtol=0, atol=1e-5)
    assert np.ptp(expected, axis=0).max() > 0.01  # the answers depend on the clip
    # its own trunk (trainable layers, batch norms unfolded), not the feature set's frozen one
    names = {v.name for v in served.signatures[DEFAULT_SIGNATURE].variables}
    assert any(name.startswith("top_conv_bn/") for name in names)


def test_model_card_names_the_efficientat_files_the_trunk_started_from(finetuned_base):
    (card_file,) = finetuned_base.glob("*/3/assets.extra/model_card.json")
    pretrained = json.loads(card_file.read_text())["pretrained"]
    assert {(f["backbone"], f["file"], f["sha256"]) for f in pretrained} == {
        ("efficientat", source.name, source.sha256)
        for asset in EFFICIENTAT.assets
        for source in asset.sources
    }
