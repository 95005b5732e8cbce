"""The light client: its generated protos are wire-identical to the official ones, its tensor
conversion agrees with TensorFlow's, and neither it nor ``predict``/``listen``/``app`` loads TF."""

import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import any_pb2
from tensorflow.core.framework import tensor_pb2 as official_tensor
from tensorflow.core.protobuf import meta_graph_pb2 as official_meta_graph
from tensorflow_serving.apis import get_model_metadata_pb2 as official_metadata
from tensorflow_serving.apis import predict_pb2 as official_predict
from tensorflow_serving.apis import prediction_service_pb2 as official_service

from serving import client
from serving.protos import get_model_metadata_pb2, predict_pb2, tensor_pb2
from serving.tensors import dtype_name, to_ndarray, to_tensor_proto
from tests.helpers.audio import tone, wav_bytes

pytestmark = pytest.mark.xdist_group("serving")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARRAYS = {
    "string": np.array([[b"a", b"\x00\xffwav"], [b"", b"xyz"]], dtype=object),
    "float32": np.array([[0.5, -1.25, np.inf], [3e-38, 0.0, -0.0]], np.float32),
    "float64": np.array([1e-300, -2.5], np.float64),
    "int64": np.array([[-(2**62), 7]], np.int64),
    "int32": np.array([2**31 - 1, -5, 0], np.int32),
    "bool": np.array([True, False, True]),
    "scalar": np.array(4.5, np.float32),
    "empty": np.zeros((0, 8), np.float32),
}


def official_request() -> official_predict.PredictRequest:
    request = official_predict.PredictRequest(output_filter=["probabilities"], client_id=b"c")
    request.model_spec.name = "household_sounds"
    request.model_spec.signature_name = "serving_default"
    request.model_spec.version.value = 7
    request.request_options.max_cache_length = 3
    for key, value in ARRAYS.items():
        request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
    return request


def official_metadata_response() -> official_metadata.GetModelMetadataResponse:
    info = official_meta_graph.TensorInfo(name="x:0", dtype=tf.string.as_datatype_enum)
    info.tensor_shape.dim.add(size=-1)
    composite = official_meta_graph.TensorInfo(dtype=tf.float32.as_datatype_enum)
    composite.composite_tensor.components.add(name="y:0")  # a field the reduced proto drops
    signature = official_meta_graph.SignatureDef(method_name="tensorflow/serving/predict")
    signature.inputs["audio_wav"].CopyFrom(info)
    signature.outputs["ragged"].CopyFrom(composite)
    signature.defaults["k"].CopyFrom(tf.make_tensor_proto(np.float32(1.0)))
    signatures = official_metadata.SignatureDefMap()
    signatures.signature_def["serving_default"].CopyFrom(signature)
    response = official_metadata.GetModelMetadataResponse()
    response.model_spec.name = "household_sounds"
    response.model_spec.version.value = 3
    response.metadata["signature_def"].Pack(signatures)
    return response


@pytest.mark.parametrize(
    "official, ours",
    [
        (official_request, predict_pb2.PredictRequest),
        (official_metadata_response, get_model_metadata_pb2.GetModelMetadataResponse),
    ],
)
def test_generated_messages_are_wire_identical_both_ways(official, ours):
    message = official()
    data = message.SerializeToString(deterministic=True)
    parsed = ours.FromString(data)
    assert parsed.SerializeToString(deterministic=True) == data
    back = type(message).FromString(parsed.SerializeToString(deterministic=True))
    assert back == message


def test_signature_def_map_parses_from_the_packed_any():
    packed = official_metadata_response().metadata["signature_def"]
    ours = get_model_metadata_pb2.SignatureDefMap.FromString(packed.value)
    signature = ours.signature_def["serving_default"]
    assert signature.inputs["audio_wav"].tensor_shape.dim[0].size == -1
    assert dtype_name(signature.inputs["audio_wav"].dtype) == "string"
    assert packed.type_url.endswith("/" + client.SIGNATURE_DEF_MAP)
    assert isinstance(packed, any_pb2.Any)


def test_method_paths_and_types_match_the_official_service():
    service = official_service.DESCRIPTOR.services_by_name["PredictionService"]
    assert service.full_name == client.PREDICTION_SERVICE
    ours = {
        "Predict": (predict_pb2.PredictRequest, predict_pb2.PredictResponse),
        "GetModelMetadata": (
            get_model_metadata_pb2.GetModelMetadataRequest,
            get_model_metadata_pb2.GetModelMetadataResponse,
        ),
    }
    for name, (request, response) in ours.items():
        method = service.methods_by_name[name]
        prefix = "household_sounds."
        assert request.DESCRIPTOR.full_name == prefix + method.input_type.full_name
        assert response.DESCRIPTOR.full_name == prefix + method.output_type.full_name


def test_committed_protos_are_what_the_generator_writes():
    done = subprocess.run(
        [sys.executable, "scripts/gen_protos.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]


@pytest.mark.parametrize("name", sorted(ARRAYS))
def test_tensor_conversion_round_trips_through_tensorflow(name):
    value = ARRAYS[name]
    ours = to_tensor_proto(value)
    official_ours = official_tensor.TensorProto.FromString(ours.SerializeToString())
    np.testing.assert_array_equal(tf.make_ndarray(official_ours), value)
    official = tf.make_tensor_proto(value)
    back = to_ndarray(tensor_pb2.TensorProto.FromString(official.SerializeToString()))
    assert back.dtype == tf.make_ndarray(official).dtype
    np.testing.assert_array_equal(back, value)


def test_typed_value_fields_follow_tensorflows_fill_rule():
    official = tf.make_tensor_proto(0.0, shape=[2, 3])  # one float_val fills the tensor
    official.float_val[:] = [1.5, 2.5]
    ours = tensor_pb2.TensorProto.FromString(official.SerializeToString())
    np.testing.assert_array_equal(to_ndarray(ours), [[1.5, 2.5, 2.5], [2.5, 2.5, 2.5]])
    ours.float_val.extend([0.0] * 5)
    with pytest.raises(ValueError, match="7 values"):
        to_ndarray(ours)
    ours.ClearField("float_val")
    np.testing.assert_array_equal(to_ndarray(ours), np.zeros((2, 3)))
    with pytest.raises(TypeError):
        to_tensor_proto(np.zeros(2, np.complex64))


NO_TF = """
import importlib.abc
import sys

# Only the standard library, this project and the light install's packages may load: any other
# import fails as it would in a `pip install household-sounds[client]` environment.
ALLOWED = set(sys.stdlib_module_names) | {{
    "cli", "components", "pipelines", "serving", "grpc", "google", "numpy", "yaml", "_yaml",
    "soundfile", "_soundfile", "_soundfile_data", "sounddevice", "cffi", "_cffi_backend",
    "typing_extensions",  # grpcio's dependency
}}


class LightInstall(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] not in ALLOWED:
            raise ModuleNotFoundError(f"not in the light install: {{name}}")
        return None


sys.meta_path.insert(0, LightInstall())
from cli import main as cli
for argv in ({argvs}):
    try:
        code = cli.main(argv)
    except SystemExit as exit_info:
        code = exit_info.code
    assert code == 0, (argv, code)
import serving.app.server, serving.client, serving.listen  # noqa
print(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras")))
"""


def test_client_and_cli_need_only_the_light_install(dev_server, tmp_path):
    path = tmp_path / "clip.wav"
    path.write_bytes(wav_bytes(tone(500.0, 2.0, 16000), 16000))
    argvs = [
        ["predict", "--help"],
        ["listen", "--help"],
        ["app", "--help"],
        ["predict", str(path), "--target", dev_server[0]],
        ["listen", "--file", str(path), "--speed", "50", "--target", dev_server[0]],
    ]
    code = NO_TF.format(argvs=", ".join(map(repr, argvs)))
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert '"class_name"' in done.stdout


STARTUP = """
import time
start = time.perf_counter()
from cli import main as cli
from serving.client import GrpcClient
args = cli.build_parser().parse_args(["predict", "a.wav", "--target", "localhost:8500"])
GrpcClient(args.target).close()
print(time.perf_counter() - start)
"""


def test_predict_starts_in_under_two_seconds():
    """Interpreter start + imports + argument parsing + channel set-up, in a fresh process.

    Asserted on the child's CPU time (user + system), which a loaded shared machine does not
    inflate the way it inflates wall time; both are printed.
    """
    runs = []
    for _ in range(3):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", STARTUP], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        assert done.returncode == 0, done.stderr[-2000:]
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        runs.append((cpu, wall))
    cpu, wall = min(runs)
    print(f"predict start-up: {cpu:.3f} s CPU, {wall:.3f} s wall (load {os.getloadavg()[0]:.1f})")
    assert cpu < 2.0


def test_rest_and_grpc_clients_give_every_output(dev_server):
    wav = wav_bytes(tone(700.0, 3.0, 22050), 22050)
    with client.GrpcClient(dev_server[0]) as grpc_client:
        [by_grpc] = grpc_client.predict_wav([wav])
        outputs = set(grpc_client.metadata()["serving_default"]["outputs"])
    [by_rest] = client.RestClient(dev_server[1]).predict_wav([wav])
    per_clip = outputs - set(client.CLASS_OUTPUTS) - set(client.WINDOW_OUTPUTS)
    assert set(by_grpc.outputs) == set(by_rest.outputs) == per_clip
    assert by_grpc.windows == by_rest.windows and len(by_grpc.windows) == 1
    assert json.dumps(by_grpc.to_json(["c"] * 8))  # every output is JSON-ready
