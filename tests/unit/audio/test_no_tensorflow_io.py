"""Why tensorflow-io is not used, kept honest by a test.

tensorflow-io 0.37.1 (its last release) loads no kernels on TF >= 2.17 (``undefined symbol`` at
import); pairing it with TF 2.16 forces protobuf 4 and kfp <= 2.13, whose local runner rejects
ParallelFor/If. So the served graph parses WAV with core string ops (``components/audio/wav.py``),
Beam decodes with libsndfile (soundfile), and resampling and windowing are written as TF ops. If
someone adds tensorflow-io back, or a non-core op (``py_function``) into the serving decode path,
this test fails and points here.
"""

import tensorflow as tf

from components.audio import timeline, wav, waveform
from tests.helpers.paths import ROOT


def test_tensorflow_io_is_not_in_the_dependency_set():
    for manifest in ("pyproject.toml", "requirements.lock", "requirements-dev.lock"):
        assert "tensorflow-io" not in (ROOT / manifest).read_text().lower(), manifest


def serving_decode(wav_bytes: tf.Tensor) -> tf.Tensor:
    """What the served graph does before the featurizer: parse, downmix, resample, window."""
    samples, rate = wav.decode(wav_bytes)
    return timeline.windows(timeline.to_sample_rate(waveform.to_mono(samples), rate))


def op_types(function) -> set[str]:
    graph = (
        tf.function(function, input_signature=[tf.TensorSpec([], tf.string)])
        .get_concrete_function()
        .graph.as_graph_def()
    )
    types = {node.op for node in graph.node}
    for library_function in graph.library.function:
        types |= {node.op for node in library_function.node_def}
    return types


def test_wav_decoding_in_graph_uses_only_core_ops():
    types = op_types(serving_decode)
    # The chunk walk, the byte decoding and the resampler are in it.
    assert {"DecodeRaw", "Substr", "Conv2D"} <= types and types & {"While", "StatelessWhile"}
    assert not types & {"DecodeWav", "PyFunc", "EagerPyFunc"}
    registered = set(tf.raw_ops.__dict__)
    assert all(op in registered for op in types), types - registered
