"""Replays TF Serving requests through a SavedModel the way TF Serving runs them.

TF Serving loads a version with TensorFlow's C++ SavedModel loader: it imports the ``serve``
meta graph into a session, runs the saver's restore op, then the init op, and it answers a
``Predict`` with one session run that feeds the signature's input tensors and fetches its output
tensors; before reporting a version available it replays the version's warmup records that way,
and one failing record fails the load. ``replay`` does the same with the TensorFlow of the
interpreter it runs in, through ``tf.compat.v1.saved_model.load`` (the same loader steps). That is
stricter than ``tf.saved_model.load``, which rebinds variables through the object graph: a model
whose saver misses a variable the graph reads loads there but not in TF Serving.

deploy's infra validation (``infra_validation.py``) imports it to replay in the export's
TensorFlow, and runs it as a script with the serving image's TensorFlow, in an environment that
holds nothing of this project (``serving_tf.py``): ``python -I serving_replay.py EXPORT_DIR
RESULT_JSON REQUESTS...``, each ``REQUESTS`` file a TFRecord of ``PredictionLog`` records like
the warmup file. So it imports only TensorFlow, the TF Serving protos and the standard library.
The result (``replay``'s dict, as JSON): the TensorFlow version, the load error or None, and per
request its error or the serialized ``PredictResponse`` (base64).
"""

import base64
import json
import sys
import time

import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

SERVE_TAG = "serve"


def read_requests(paths: list[str]) -> list[predict_pb2.PredictRequest]:
    """The ``PredictRequest`` of every ``PredictionLog`` record in the TFRecord files, in order."""
    return [
        prediction_log_pb2.PredictionLog.FromString(record.numpy()).predict_log.request
        for record in tf.data.TFRecordDataset(paths)
    ]


def error_text(error: BaseException) -> str:
    """``Type: message`` on one line: a TensorFlow error's message without its node lines."""
    message = getattr(error, "message", None) or str(error)
    lines = [line.strip() for line in message.splitlines()]
    kept = [line for line in lines if line and not line.startswith("[[")]
    if kept and kept[0] == "Graph execution error:":
        kept = kept[1:]
    return f"{type(error).__name__}: {' '.join(kept)}"


def predict(
    session, meta_graph, request: predict_pb2.PredictRequest
) -> predict_pb2.PredictResponse:
    """One ``Predict`` as TF Serving runs it: a session run over the signature's tensors."""
    name = request.model_spec.signature_name or "serving_default"
    if name not in meta_graph.signature_def:
        raise KeyError(f"serving signature {name!r} not found")
    signature = meta_graph.signature_def[name]
    if set(request.inputs) != set(signature.inputs):
        raise KeyError(f"inputs {sorted(request.inputs)} != signature's {sorted(signature.inputs)}")
    feeds = {
        signature.inputs[key].name: tf.make_ndarray(value) for key, value in request.inputs.items()
    }
    fetches = {key: info.name for key, info in signature.outputs.items()}
    outputs = session.run(fetches, feeds)
    response = predict_pb2.PredictResponse(model_spec=request.model_spec)
    for key, value in outputs.items():
        response.outputs[key].CopyFrom(tf.make_tensor_proto(value))
    return response


def replay(export_dir: str, request_files: list[str]) -> dict:
    """Loads ``export_dir`` as TF Serving does and answers every request in ``request_files``.

    Returns:
        ``{"tensorflow", "load_error", "load_seconds", "replay_seconds", "results"}``: the
        version of the TensorFlow that ran, why the SavedModel did not load (or None), and one
        ``{"error", "response"}`` per request: the error's text or None, and the base64 of the
        serialized ``PredictResponse`` (or None).
    """
    result = {"tensorflow": tf.__version__, "load_error": None, "results": []}
    requests = read_requests(request_files)
    started = time.monotonic()
    with tf.compat.v1.Session(graph=tf.Graph()) as session:
        try:
            meta_graph = tf.compat.v1.saved_model.load(session, [SERVE_TAG], export_dir)
        except Exception as error:  # noqa: BLE001 - any load failure is the answer
            result["load_error"] = error_text(error)
            result["load_seconds"] = time.monotonic() - started
            return result
        result["load_seconds"] = time.monotonic() - started
        started = time.monotonic()
        for request in requests:
            try:
                response = predict(session, meta_graph, request)
            except Exception as error:  # noqa: BLE001 - TF Serving answers every error
                result["results"].append({"error": error_text(error), "response": None})
                continue
            encoded = base64.b64encode(response.SerializeToString()).decode("ascii")
            result["results"].append({"error": None, "response": encoded})
        result["replay_seconds"] = time.monotonic() - started
    return result


def main(argv: list[str]) -> int:
    """``serving_replay.py EXPORT_DIR RESULT_JSON REQUESTS...``: writes ``replay``'s result."""
    if len(argv) < 3:
        print(__doc__.splitlines()[0], file=sys.stderr)
        print("usage: serving_replay.py EXPORT_DIR RESULT_JSON REQUESTS...", file=sys.stderr)
        return 2
    export_dir, result_path, *request_files = argv
    result = replay(export_dir, request_files)
    with open(result_path, "w") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
