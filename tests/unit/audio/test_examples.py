"""The example encoder: a batch of clips serialized by tfx_bsl's C++ encoder parses back to its
inputs, row by row, and one clip's ``encode`` parses as its row of a batch does (the bytes may
order the features differently: a proto map has no order)."""

import numpy as np
import tensorflow as tf

from components.audio import examples, feature_sets


def _features(batch: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        key: rng.standard_normal((batch, examples.flat_size(key))).astype(np.float32)
        for key in feature_sets.DEFAULT
    }


def test_a_batch_parses_back_to_each_clips_ids_label_and_features():
    features = _features(3)
    records = examples.encode_batch(["a", "b", "c"], ["s1", "s1", "s2"], [4, 0, 7], features)
    parsed = tf.io.parse_example(records, examples.feature_spec(feature_sets.DEFAULT))
    assert parsed[examples.CLIP_ID].numpy().tolist() == [b"a", b"b", b"c"]
    assert parsed[examples.SOURCE_ID].numpy().tolist() == [b"s1", b"s1", b"s2"]
    assert parsed[examples.LABEL].numpy().tolist() == [4, 0, 7]
    for key, rows in features.items():
        np.testing.assert_array_equal(parsed[key].numpy(), rows)


def test_one_clip_is_the_batch_encoders_row():
    features = _features(2)
    images = {key: rows[1].reshape(examples.FEATURE_SHAPES[key]) for key, rows in features.items()}
    one = examples.encode("b", "s", 5, images)  # any shape: flattened row-major
    batch = examples.encode_batch(["a", "b"], ["s", "s"], [1, 5], features)
    spec = examples.feature_spec(feature_sets.DEFAULT)
    ours, row = tf.io.parse_single_example(one, spec), tf.io.parse_single_example(batch[1], spec)
    assert ours.keys() == row.keys()
    for key in ours:
        np.testing.assert_array_equal(ours[key].numpy(), row[key].numpy())
