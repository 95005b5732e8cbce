"""The rollout drill on the development server, every step seen by clients over gRPC and REST.

Two versions are deployed (copies of the session's exported model), the first is made stable,
the second canaried, promoted and rolled back with ``household-sounds promote|rollback``, while
the server follows the rollout config as TF Serving does (``config_follower.py``). After each
step a gRPC client asking for each label gets its answer from the expected version
(``PredictResponse.model_spec.version``), and the REST API reports the same (status and
``:predict`` per label). Version 1 starts loaded from the session's model; version 2 is loaded
by the follower from disk, warmup and all.
"""

import shutil
import time

import pytest

from cli import main as cli
from components.artifacts import rollout_config
from components.artifacts.names import SERVED_MODEL_NAME as NAME
from serving.client import GrpcClient, RestClient, VersionChoice
from serving.dev_server import grpc_api, rest
from serving.dev_server.config_follower import ConfigFollower, ConfigRefused
from serving.dev_server.repository import ModelRepository, ServedModel, signature_defs
from serving.rollout import RolloutSettings, promote, rollback
from serving.status import ServingError
from tests.helpers.audio import tone, wav_bytes

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serving")]

WAV = wav_bytes(tone(300.0, 1.0, 16000), 16000)
POLL_S = 0.2


@pytest.fixture
def server(version_dir, served, tmp_path):
    """Versions 1 and 2 under a new model base, 1 stable; the server follows the config."""
    for version in (1, 2):
        shutil.copytree(version_dir, tmp_path / NAME / str(version))
    promote(str(tmp_path), 1, "stable", RolloutSettings(poll_s=0.0))
    path = str(tmp_path / NAME / "1")
    repository = ModelRepository([ServedModel(NAME, 1, path, served, signature_defs(path))])
    follower = ConfigFollower(repository, str(tmp_path), POLL_S)
    follower.apply()
    follower.start()
    grpc_server, grpc_port = grpc_api.serve(repository)
    rest_server, rest_port = rest.serve(repository)
    yield tmp_path, repository, f"127.0.0.1:{grpc_port}", f"127.0.0.1:{rest_port}"
    follower.stop()
    rest_server.shutdown()
    grpc_server.stop(grace=1)


def answered_by(grpc_target: str, rest_target: str, label: str) -> tuple[int, int]:
    """The version that answers a request for ``label``: over gRPC, and per REST's status."""
    choice = VersionChoice(label=label)
    response = GrpcClient(grpc_target, choice=choice).predict_response(
        "serving_default", {"audio_wav": [WAV]}
    )
    client = RestClient(f"http://{rest_target}", choice=choice)
    assert len(client.predict_wav([WAV])) == 1, "REST answers for the label too"
    (rest_version,) = client.version_states()
    return response.model_spec.version.value, rest_version


def until(expected: dict[str, int], grpc_target: str, rest_target: str) -> None:
    """Waits (the server re-reads the config every POLL_S) until each label answers as expected."""
    deadline = time.monotonic() + 120
    while True:
        seen = {label: answered_by(grpc_target, rest_target, label) for label in expected}
        if seen == {label: (version, version) for label, version in expected.items()}:
            return
        assert time.monotonic() < deadline, f"labels answer {seen}, expected {expected}"
        time.sleep(POLL_S)


def test_deploy_canary_promote_and_roll_back(server):
    base, repository, grpc_target, rest_target = server
    status = RestClient(f"http://{rest_target}").version_states
    settings = RolloutSettings(poll_s=POLL_S, load_timeout_s=300, version_states=status)
    until({"stable": 1, "canary": 1}, grpc_target, rest_target)
    with pytest.raises(ServingError, match=r"Servable not found for request: Specific\("):
        GrpcClient(grpc_target, choice=VersionChoice(version=2)).predict_wav([WAV])

    promote(str(base), 2, "canary", settings)  # version 2 is loaded first, then labelled
    until({"stable": 1, "canary": 2}, grpc_target, rest_target)
    assert sorted(repository.loaded(NAME)) == [1, 2]
    clip = base / "clip.wav"
    clip.write_bytes(WAV)
    predict = ["predict", str(clip), "--target", grpc_target]
    assert cli.main([*predict, "--label", "canary"]) == 0
    assert cli.main([*predict, "--label", "beta"]) == 3  # INVALID_ARGUMENT: unknown label

    code = cli.main(["promote", "2", "--label", "stable", "--model-base", str(base)])
    assert code == 0  # already loaded: the labels move at once, no wait
    until({"stable": 2, "canary": 2}, grpc_target, rest_target)
    assert sorted(repository.loaded(NAME)) == [1, 2], "the previous stable stays loaded"

    rollback(str(base), settings)
    until({"stable": 1, "canary": 1}, grpc_target, rest_target)
    deadline = time.monotonic() + 60
    while 2 in repository.loaded(NAME):  # unloaded right after the labels moved
        assert time.monotonic() < deadline
        time.sleep(POLL_S)
    with pytest.raises(ServingError) as gone:
        GrpcClient(grpc_target, choice=VersionChoice(version=2)).predict_wav([WAV])
    assert gone.value.code == "NOT_FOUND"
    with pytest.raises(ServingError, match="Unrecognized servable version label: beta"):
        GrpcClient(grpc_target, choice=VersionChoice(label="beta")).predict_wav([WAV])


def test_the_server_refuses_a_label_moved_onto_a_version_it_has_not_loaded(server):
    """What promote's two writes avoid: TF Serving refuses the config, loads nothing, retries."""
    base, repository, *_ = server
    config = rollout_config.read(str(base))
    model = config.model(NAME)
    moved = config.with_model(
        rollout_config.ModelRollout(
            NAME, model.base_path, versions=(1, 2), labels={"stable": 1, "canary": 2}
        )
    )
    follower = ConfigFollower(repository, str(base), poll_s=60)
    (base / "models.config").write_text(rollout_config.render(moved))
    with pytest.raises(ConfigRefused, match="assign label to version 2 of model household_sounds"):
        follower.apply()
    assert repository.labels(NAME) == {"stable": 1, "canary": 1}
    assert sorted(repository.loaded(NAME)) == [1], "nothing of a refused config is applied"
