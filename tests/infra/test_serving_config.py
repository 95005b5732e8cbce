"""serving/*.config parse as the text protos TF Serving reads, with the values we depend on.

(The model config is the rollout config in the model store, written by ``promote``: its tests
parse it with the real ``ModelServerConfig``.) tensorflow-serving-api ships no
``BatchingParameters`` or ``MonitoringConfig`` module, so those two messages are built here from
TF Serving 2.20.0's .proto definitions (field names, numbers and types transcribed
from tensorflow_serving/servables/tensorflow/session_bundle_config.proto and
tensorflow_serving/config/monitoring_config.proto at tag 2.20.0).
"""

from functools import cache

import pytest
from google.protobuf import (
    descriptor_pb2,
    descriptor_pool,
    message_factory,
    text_format,
    wrappers_pb2,
)

from serving.limits import MAX_BATCH_SIZE
from tests.helpers.paths import ROOT

pytestmark = pytest.mark.xdist_group("infra")

F = descriptor_pb2.FieldDescriptorProto
BATCHING_FIELDS = [  # (name, number, label, type, type_name)
    ("max_batch_size", 1, F.LABEL_OPTIONAL, F.TYPE_MESSAGE, ".google.protobuf.Int64Value"),
    ("batch_timeout_micros", 2, F.LABEL_OPTIONAL, F.TYPE_MESSAGE, ".google.protobuf.Int64Value"),
    ("max_enqueued_batches", 3, F.LABEL_OPTIONAL, F.TYPE_MESSAGE, ".google.protobuf.Int64Value"),
    ("num_batch_threads", 4, F.LABEL_OPTIONAL, F.TYPE_MESSAGE, ".google.protobuf.Int64Value"),
    ("thread_pool_name", 5, F.LABEL_OPTIONAL, F.TYPE_MESSAGE, ".google.protobuf.StringValue"),
    ("allowed_batch_sizes", 6, F.LABEL_REPEATED, F.TYPE_INT64, None),
    ("pad_variable_length_inputs", 7, F.LABEL_OPTIONAL, F.TYPE_BOOL, None),
    (
        "enable_large_batch_splitting",
        8,
        F.LABEL_OPTIONAL,
        F.TYPE_MESSAGE,
        ".google.protobuf.BoolValue",
    ),
    (
        "max_execution_batch_size",
        9,
        F.LABEL_OPTIONAL,
        F.TYPE_MESSAGE,
        ".google.protobuf.Int64Value",
    ),
]


@cache
def _messages() -> dict[str, type]:
    pool = descriptor_pool.DescriptorPool()
    wrappers = descriptor_pb2.FileDescriptorProto()
    wrappers_pb2.DESCRIPTOR.CopyToProto(wrappers)
    pool.Add(wrappers)
    proto = descriptor_pb2.FileDescriptorProto(
        name="tf_serving_subset.proto",
        package="tensorflow.serving",
        syntax="proto3",
        dependency=["google/protobuf/wrappers.proto"],
    )
    batching = proto.message_type.add(name="BatchingParameters")
    for name, number, label, kind, type_name in BATCHING_FIELDS:
        field = batching.field.add(name=name, number=number, label=label, type=kind)
        if type_name:
            field.type_name = type_name
    prometheus = proto.message_type.add(name="PrometheusConfig")
    prometheus.field.add(name="enable", number=1, label=F.LABEL_OPTIONAL, type=F.TYPE_BOOL)
    prometheus.field.add(name="path", number=2, label=F.LABEL_OPTIONAL, type=F.TYPE_STRING)
    monitoring = proto.message_type.add(name="MonitoringConfig")
    monitoring.field.add(
        name="prometheus_config",
        number=1,
        label=F.LABEL_OPTIONAL,
        type=F.TYPE_MESSAGE,
        type_name=".tensorflow.serving.PrometheusConfig",
    )
    pool.Add(proto)
    return {
        name: message_factory.GetMessageClass(
            pool.FindMessageTypeByName(f"tensorflow.serving.{name}")
        )
        for name in ("BatchingParameters", "MonitoringConfig")
    }


def parse(path: str, message: object) -> object:
    return text_format.Parse((ROOT / path).read_text(), message)


def test_batching_config() -> None:
    params = parse("serving/batching.config", _messages()["BatchingParameters"]())
    assert params.max_batch_size.value == MAX_BATCH_SIZE == 32  # what the clients split by
    assert 0 < params.batch_timeout_micros.value <= 10_000
    sizes = list(params.allowed_batch_sizes)
    # TF Serving rejects a list that is not increasing or does not end at max_batch_size.
    assert sizes == sorted(set(sizes)) and sizes[-1] == params.max_batch_size.value
    assert params.num_batch_threads.value >= 1
    assert params.pad_variable_length_inputs is False


def test_monitoring_config() -> None:
    config = parse("serving/monitoring.config", _messages()["MonitoringConfig"]())
    assert config.prometheus_config.enable is True
    assert config.prometheus_config.path == "/monitoring/prometheus/metrics"
    annotations = (ROOT / "k8s/base/deployment.yaml").read_text()
    assert f"prometheus.io/path: {config.prometheus_config.path}" in annotations


def test_unknown_field_is_rejected() -> None:
    """The hand-built messages are strict: a typo in a config file fails, as in TF Serving."""
    with pytest.raises(text_format.ParseError):
        text_format.Parse("max_batch_sise { value: 1 }", _messages()["BatchingParameters"]())
