"""The gRPC and REST wire protocols through the development server, with the official stubs."""

import base64
import json
import re
import urllib.error
import urllib.request

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import (
    classification_pb2,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from serving.client import GrpcClient, RestClient
from serving.status import ServingError
from tests.helpers.audio import tone, wav_bytes
from tests.helpers.serving_inputs import (
    BAD_WAVS,
    SERVING_DEFAULT_OUTPUTS,
    sample_clip,
    three_sounds,
)

# One worker builds the shared session fixtures (featurize, train, export) once: see conftest.
pytestmark = pytest.mark.xdist_group("serving")

GOOD_WAV = wav_bytes(sample_clip(16000), 16000)


@pytest.fixture(scope="module")
def client(dev_server):
    with GrpcClient(dev_server[0]) as grpc_client:
        yield grpc_client


@pytest.fixture(scope="module")
def stub(dev_server):
    with grpc.insecure_channel(dev_server[0]) as channel:
        yield prediction_service_pb2_grpc.PredictionServiceStub(channel)


def test_grpc_prediction_equals_in_process_prediction(client, served):
    wavs = [GOOD_WAV, wav_bytes(sample_clip(44100, channels=2), 44100)]
    expected = served.signatures["serving_default"](audio_wav=tf.constant(wavs))
    predictions = client.predict_wav(wavs)
    np.testing.assert_allclose(
        [p.probabilities for p in predictions], expected["probabilities"].numpy(), atol=1e-7
    )
    assert [p.class_name.encode() for p in predictions] == list(expected["class_name"].numpy())


def test_waveform_signature_over_grpc(client):
    clips = np.stack([tone(300.0, 5.0, 22050), tone(2000.0, 5.0, 22050)])
    predictions = client.predict_waveforms(clips)
    assert len(predictions) == 2 and all(len(p.probabilities) == 8 for p in predictions)


def test_model_metadata_lists_both_signatures(client):
    metadata = client.metadata()
    assert metadata["serving_default"]["inputs"] == {
        "audio_wav": {"dtype": "string", "shape": [-1]}
    }
    assert metadata["waveform"]["inputs"]["waveform"]["shape"] == [-1, 110250]
    outputs = metadata["serving_default"]["outputs"]
    assert set(outputs) == SERVING_DEFAULT_OUTPUTS
    assert outputs["window_probabilities"]["shape"] == [-1, -1, 8]
    assert outputs["window_count"] == {"dtype": "int32", "shape": [-1]}


def test_long_clip_windows_over_grpc_and_rest_equal_in_process(client, dev_server, served):
    wavs = [wav_bytes(three_sounds(16000)[: 12 * 16000], 16000), GOOD_WAV]
    expected = served.signatures["serving_default"](audio_wav=tf.constant(wavs))
    for predictions in (client.predict_wav(wavs), RestClient(dev_server[1]).predict_wav(wavs)):
        long, short = predictions
        assert [len(long.windows), len(short.windows)] == [4, 1]
        assert [w.start_s for w in long.windows] == [0.0, 2.5, 5.0, 7.0]
        assert [w.end_s for w in long.windows] == [5.0, 7.5, 10.0, 12.0]
        assert long.outputs["clip_duration_s"] == 12.0 and short.windows[0].end_s == 3.0
        np.testing.assert_allclose(
            [w.probabilities for w in long.windows],
            expected["window_probabilities"].numpy()[0],
            atol=1e-6,
        )
        np.testing.assert_allclose(
            [p.outputs["max_probabilities"] for p in predictions],
            expected["max_probabilities"],
            atol=1e-6,
        )
        names = expected["window_class_name"].numpy()[0]
        assert [w.class_name.encode() for w in long.windows] == list(names)


@pytest.mark.parametrize("case", sorted(BAD_WAVS))
def test_bad_wav_is_invalid_argument_and_server_keeps_serving(case, client):
    data, message = BAD_WAVS[case]
    with pytest.raises(ServingError) as error:
        client.predict_wav([GOOD_WAV, data])
    assert error.value.code == "INVALID_ARGUMENT"
    assert re.search(message, error.value.message)
    assert not error.value.message.startswith(("Graph execution", "{{function_node"))
    assert len(client.predict_wav([GOOD_WAV])) == 1


def _request(signature: str = "", **inputs) -> predict_pb2.PredictRequest:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "household_sounds"
    request.model_spec.signature_name = signature
    for key, value in inputs.items():
        request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
    return request


MALFORMED = {
    "wrong_dtype": _request(audio_wav=np.zeros(3, np.float32)),
    "wrong_rank": _request(audio_wav=np.array([[GOOD_WAV]], dtype=object)),
    "missing_input": _request(),
    "unexpected_input": _request(audio_wav=np.array([GOOD_WAV], dtype=object), extra=[1.0]),
    "waveform_wrong_length": _request("waveform", waveform=np.zeros((1, 1000), np.float32)),
    "unknown_signature": _request("nope", audio_wav=np.array([GOOD_WAV], dtype=object)),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_request_is_invalid_argument(case, stub, client):
    with pytest.raises(grpc.RpcError) as error:
        stub.Predict(MALFORMED[case], timeout=30)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT, error.value.details()
    assert len(client.predict_wav([GOOD_WAV])) == 1


def test_unknown_model_or_version_is_not_found(stub, dev_server):
    request = _request(audio_wav=np.array([GOOD_WAV], dtype=object))
    request.model_spec.name = "nope"
    with pytest.raises(grpc.RpcError) as error:
        stub.Predict(request, timeout=30)
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    request.model_spec.name = "household_sounds"
    request.model_spec.version.value = 999
    with pytest.raises(grpc.RpcError) as error:
        stub.Predict(request, timeout=30)
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(ServingError, match="NOT_FOUND"):
        GrpcClient(dev_server[0], model_name="nope").metadata()


def test_response_names_the_served_version(stub):
    response = stub.Predict(_request(audio_wav=np.array([GOOD_WAV], dtype=object)), timeout=30)
    assert response.model_spec.version.value == 1
    assert tf.make_ndarray(response.outputs["probabilities"]).shape == (1, 8)


def test_classify_is_unimplemented(stub):
    with pytest.raises(grpc.RpcError) as error:
        stub.Classify(classification_pb2.ClassificationRequest(), timeout=30)
    assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_rest_predict_matches_grpc(dev_server, client):
    rest = RestClient(dev_server[1])
    by_rest = rest.predict_wav([GOOD_WAV])[0]
    by_grpc = client.predict_wav([GOOD_WAV])[0]
    assert by_rest.class_name == by_grpc.class_name
    np.testing.assert_allclose(by_rest.probabilities, by_grpc.probabilities, atol=1e-7)


def test_rest_bad_request_is_400_with_message(dev_server):
    with pytest.raises(ServingError) as error:
        RestClient(dev_server[1]).predict_wav([b"not a wav"])
    assert error.value.code == "INVALID_ARGUMENT" and "not a WAV file" in error.value.message
    body = json.dumps({"instances": [{"audio_wav": {"b64": base64.b64encode(GOOD_WAV).decode()}}]})
    request = urllib.request.Request(
        f"{dev_server[1]}/v1/models/household_sounds:predict", data=body.encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert json.load(response)["predictions"][0]["class_name"]
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"{dev_server[1]}/v1/models/nope", timeout=30)
    assert error.value.code == 404


def test_rest_model_status_is_available(dev_server):
    with urllib.request.urlopen(f"{dev_server[1]}/v1/models/household_sounds", timeout=30) as r:
        status = json.load(r)["model_version_status"][0]
    assert status["state"] == "AVAILABLE" and status["version"] == "1"
