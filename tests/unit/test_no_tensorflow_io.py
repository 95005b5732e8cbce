"""Why tensorflow-io is not used, kept honest by a test.

tensorflow-io 0.37.1 (its last release) loads no kernels on TF >= 2.17 (``undefined symbol`` at
import); pairing it with TF 2.16 forces protobuf 4 and kfp <= 2.13, whose local runner rejects
ParallelFor/If. So WAV decoding uses the core op ``tf.audio.decode_wav`` in the served graph and
libsndfile (soundfile) in Beam, and resampling is written as TF ops. If someone adds
tensorflow-io back, this test fails and points here.
"""

from pathlib import Path

import tensorflow as tf

from components.audio import waveform

ROOT = Path(__file__).resolve().parents[2]


def test_tensorflow_io_is_not_in_the_dependency_set():
    for manifest in ("pyproject.toml", "requirements.lock"):
        assert "tensorflow-io" not in (ROOT / manifest).read_text().lower(), manifest


def test_wav_decoding_in_graph_uses_only_core_ops():
    graph = (
        tf.function(
            lambda wav: waveform.prepare_any_rate(*waveform.decode_wav(wav)),
            input_signature=[tf.TensorSpec([], tf.string)],
        )
        .get_concrete_function()
        .graph.as_graph_def()
    )
    op_types = {node.op for node in graph.node}
    for function in graph.library.function:
        op_types |= {node.op for node in function.node_def}
    assert "DecodeWav" in op_types
    registered = set(tf.raw_ops.__dict__)
    assert all(op in registered for op in op_types), op_types - registered
