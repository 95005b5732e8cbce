"""A distributed search's roles: who is chief or worker, how workers find the chief, scoping."""

import json
import os
import threading
import time

import pytest

from components.train import distributed
from components.train.config import Role, TrainConfig, rendezvous_dir, split_address


def test_roles_are_checked_before_any_work():
    assert not Role().distributed and not Role().is_worker
    Role().check()
    assert Role("chief", "0.0.0.0:8000").distributed and not Role("chief", ":8000").is_worker
    assert Role("tuner1", rendezvous="gs://b/r").is_worker
    for role, message in (
        (Role("", "10.0.0.5:8000"), "needs a tuner_id"),
        (Role("chief"), "the chief needs oracle_address"),
        (Role("chief", rendezvous="r"), "the chief needs oracle_address"),
        (Role("tuner0"), "needs oracle_address or a rendezvous"),
        (Role("tuner0", "no-port"), "expected host:port"),
        (Role("tuner0", "h:99999"), "expected host:port"),
        (Role("tuner0", "h:1", timeout_s=0), "must be positive"),
    ):
        with pytest.raises(ValueError, match=message):
            role.check()
    config = TrainConfig("dense_mean_mfcc", tuner_id="tuner2", oracle_address="h:1")
    assert config.role == Role("tuner2", "h:1", "", config.tuner_timeout_s)


def test_environment_is_scoped_to_the_search(monkeypatch):
    from keras_tuner.src.distribute import oracle_chief, oracle_client

    monkeypatch.delenv("KERASTUNER_TUNER_ID", raising=False)
    original = oracle_chief.start_server, oracle_client.TIMEOUT
    with distributed.environment(Role("tuner1", "10.0.0.5:8000", timeout_s=30)):
        assert os.environ["KERASTUNER_TUNER_ID"] == "tuner1"
        assert os.environ["KERASTUNER_ORACLE_IP"] == "10.0.0.5"
        assert os.environ["KERASTUNER_ORACLE_PORT"] == "8000"
        assert oracle_client.TIMEOUT == 30 and oracle_chief.start_server is not original[0]
    assert "KERASTUNER_TUNER_ID" not in os.environ
    assert (oracle_chief.start_server, oracle_client.TIMEOUT) == original
    with distributed.environment(Role()):
        assert "KERASTUNER_ORACLE_IP" not in os.environ


def test_the_chief_publishes_its_reachable_address_and_workers_wait_for_it(tmp_path):
    rendezvous = str(tmp_path / "rv")
    found = {}

    def worker():
        found["address"] = distributed.read_address(rendezvous, timeout_s=30)

    reader = threading.Thread(target=worker)
    reader.start()
    time.sleep(1.5)  # the worker polls before anything is published
    with distributed.environment(Role("chief", "127.0.0.1:8470", rendezvous)):
        reader.join(30)
    assert found["address"] == "127.0.0.1:8470"
    published = json.loads((tmp_path / "rv" / distributed.ADDRESS_FILE).read_text())
    assert published == {"address": "127.0.0.1:8470"}
    # listening everywhere, the chief advertises its own IP (a pod's IP on Kubernetes)
    host, port = split_address(distributed.reachable_address("0.0.0.0:8000"))
    assert port == 8000 and host not in {"", "0.0.0.0"}


def test_a_worker_gives_up_on_a_chief_that_never_publishes(tmp_path):
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="no tuner chief published its address"):
        distributed.read_address(str(tmp_path / "empty"), timeout_s=1.5)
    assert time.monotonic() - started < 10


def test_a_pipeline_run_meets_under_checkpoint_root():
    assert rendezvous_dir("gs://b/ckpt/", "run-1", "cnn_mfcc") == (
        "gs://b/ckpt/tuner-rendezvous/run-1/cnn_mfcc"
    )
    assert rendezvous_dir("", "", "cnn_mfcc") == ""  # not a distributed task
    with pytest.raises(ValueError, match="needs checkpoint_root"):
        rendezvous_dir("", "run-1", "cnn_mfcc")
