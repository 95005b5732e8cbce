"""The exported SavedModel loaded as TF Serving loads it: a TF1 session, its saver, its main op.

TF Serving does not call ``tf.saved_model.load``: it imports the MetaGraph into a session,
restores the variables through the SavedModel's saver and runs the signature's tensors. A Keras 3
model held by a ``tf.Module`` passes the first and fails the second with "Could not find
variable" on every request unless the module tracks its variables (``export.keras_variables``);
the development server (``tf.saved_model.load``) never showed it. Both Keras kinds the project
exports are checked: a trained Keras classifier, and a pretrained trunk in the featurizer (the
mn04 head's graph holds both).
"""

import io
import os

import numpy as np
import pytest
import soundfile
import tensorflow as tf

from components.artifacts.signature import DEFAULT_SIGNATURE, PROBABILITIES, WAV_INPUT
from components.deploy import core

# One worker builds the shared session fixtures (featurize, train, export) once: see conftest.
pytestmark = pytest.mark.xdist_group("serving")


def five_seconds_of_noise() -> bytes:
    samples = 0.1 * np.random.default_rng(0).standard_normal(5 * 16_000)
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, 16_000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def session_scores(version_dir: str, wav: bytes) -> np.ndarray:
    """``serving_default``'s probabilities from a session, as TF Serving runs the SavedModel."""
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        meta = tf.compat.v1.saved_model.loader.load(session, ["serve"], version_dir)
        signature = meta.signature_def[DEFAULT_SIGNATURE]
        fetch = signature.outputs[PROBABILITIES].name
        return session.run(fetch, {signature.inputs[WAV_INPUT].name: [wav]})


@pytest.fixture(scope="module")
def mn04_head_version(mn04_model_dir, transform_graph, tmp_path_factory) -> str:
    base = str(tmp_path_factory.mktemp("mn04-session"))
    blessing = {"blessed": True, "candidate": "mn04", "reasons": []}
    config = core.DeployConfig(version=1)
    return core.run([mn04_model_dir], transform_graph, base, blessing, config).uri


@pytest.mark.parametrize("model", ["keras_cnn", "mn04_head"])
def test_a_session_restores_every_variable_and_scores_as_the_saved_model(
    model, request, version_dir
):
    directory = (
        version_dir if model == "keras_cnn" else request.getfixturevalue("mn04_head_version")
    )
    wav = five_seconds_of_noise()
    got = session_scores(directory, wav)
    expected = tf.saved_model.load(directory).signatures[DEFAULT_SIGNATURE](
        **{WAV_INPUT: tf.constant([wav])}
    )[PROBABILITIES]
    np.testing.assert_allclose(got, expected.numpy(), rtol=0, atol=1e-6)
    assert os.path.isdir(os.path.join(directory, "variables"))
