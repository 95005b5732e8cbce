"""keras-tuner state files are written atomically during a search (atomic_state_files)."""

import json

import pytest
import tensorflow as tf
from keras_tuner.src import utils

from components.train import tuning


def test_a_save_replaces_the_file_whole_and_the_library_is_restored(tmp_path):
    path = str(tmp_path / "oracle.json")
    utils.save_json(path, {"old": True})
    original = utils.save_json
    with tuning.atomic_state_files():
        assert utils.save_json(path, {"trials": [1, 2]}) == '{"trials": [1, 2]}'
    assert json.loads(open(path).read()) == {"trials": [1, 2]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["oracle.json"]
    assert utils.save_json is original


def test_a_save_that_dies_midway_leaves_the_previous_state(tmp_path, monkeypatch):
    path = str(tmp_path / "oracle.json")
    utils.save_json(path, {"completed": ["00"]})

    def dies(self, text):
        raise KeyboardInterrupt  # as a SIGTERM'd task would, halfway through the write

    monkeypatch.setattr(tf.io.gfile.GFile, "write", dies)
    with pytest.raises(KeyboardInterrupt), tuning.atomic_state_files():
        utils.save_json(path, {"completed": ["00", "01"]})
    monkeypatch.undo()
    assert utils.load_json(path) == {"completed": ["00"]}
