"""The development REST server over a tiny model (``tests/helpers/tiny_model.py``) on 127.0.0.1."""

import pytest
import tensorflow as tf

from serving.dev_server import rest
from serving.dev_server.repository import ModelRepository, load_model
from tests.helpers.tiny_model import LIMITS, NAME, TinyModel


@pytest.fixture(scope="module")
def port(tmp_path_factory):
    base = tmp_path_factory.mktemp("models")
    module = TinyModel()
    tf.saved_model.save(
        module,
        str(base / NAME / "1"),
        signatures={"serving_default": module.wav, "waveform": module.waveform},
    )
    server, bound = rest.serve(ModelRepository([load_model(str(base), NAME)]), limits=LIMITS)
    yield bound
    server.shutdown()
    server.server_close()
