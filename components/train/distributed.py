"""Keras Tuner's chief/worker mode, made safe to run on a cluster: roles, meeting, lost workers.

keras-tuner 1.4.8 runs a distributed search when ``KERASTUNER_TUNER_ID``,
``KERASTUNER_ORACLE_IP`` and ``KERASTUNER_ORACLE_PORT`` are set: the process whose id contains
``chief`` serves the oracle over gRPC and runs no trial; every other process (``tuner0``,
``tuner1``...) is a worker that asks the chief for trials, trains them and reports back.
``config.Role`` says which one this process is and ``environment`` sets those variables only
while the search runs. Where the workers cannot be told the chief's address in advance
(pipeline tasks start on pods whose IPs nobody knows), the chief writes its reachable address
into a *rendezvous* folder on storage every task reaches and the workers read it there
(``publish_address``, ``read_address``).

Two gaps of keras-tuner are closed here. (1) A worker has no trials of its own (its oracle is a
gRPC proxy, ``OracleClient``, which has no ``trials``): ``WorkerHooks`` keeps, after each trial
it ends, the chief's scored copy of it, which is the worker's result. (2) keras-tuner's chief
waits until every worker has asked for a trial past the budget and no trial is running; a
worker killed mid-trial (a pod evicted, a node lost) leaves its trial running forever and the
chief waits forever (``oracle_chief.start_server`` sleeps in a loop with no deadline). So a
worker sends a heartbeat (a ``GetTrial`` of its trial) every quarter of ``timeout_s`` while it
trains, and ``serve_oracle`` replaces keras-tuner's loop: a trial the chief has not heard of
for ``timeout_s`` is ended as FAILED ("lost") and its worker forgotten, and a search with no
trial running that no worker has contacted for ``timeout_s`` ends. A late report for a lost
trial is ignored. A worker restarted under the same id (a Kubernetes indexed Job's pod, a
retried pipeline task) gets its unfinished trial back from keras-tuner and runs it again.
Workers wait at most ``timeout_s`` for the chief (keras-tuner's own client waits an hour).
"""

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from concurrent import futures

import grpc
import keras_tuner as kt
import tensorflow as tf
from keras_tuner.src import protos
from keras_tuner.src.distribute import oracle_chief, oracle_client
from keras_tuner.src.engine.trial import TrialStatus

from components.artifacts import files
from components.train.config import Role, split_address

ADDRESS_FILE = "chief_address.json"  # in the rendezvous folder: {"address": "host:port"}
_LISTEN_ANYWHERE = {"", "0.0.0.0", "::", "[::]"}
_POLL_S = 1.0


def reachable_address(listen: str) -> str:
    """The address workers use for a chief listening on ``listen``.

    The host's own IP if it listens on every interface (on Kubernetes, the pod IP), else
    ``listen`` itself.
    """
    host, port = split_address(listen)
    if host in _LISTEN_ANYWHERE:
        host = socket.gethostbyname(socket.gethostname())
    return f"{host}:{port}"


def publish_address(rendezvous: str, address: str) -> None:
    """Writes ``address`` into the rendezvous folder, atomically."""
    tf.io.gfile.makedirs(rendezvous)
    files.write_json(os.path.join(rendezvous, ADDRESS_FILE), {"address": address})


def read_address(rendezvous: str, timeout_s: float) -> str:
    """The chief's address from the rendezvous folder, waiting up to ``timeout_s`` for it.

    Raises:
        TimeoutError: If the chief published nothing in time.
    """
    path = os.path.join(rendezvous, ADDRESS_FILE)
    deadline = time.monotonic() + timeout_s
    while not tf.io.gfile.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no tuner chief published its address in {path} in {timeout_s} s")
        time.sleep(_POLL_S)
    return files.read_json(path)["address"]


@contextlib.contextmanager
def environment(role: Role) -> Iterator[None]:
    """keras-tuner's chief/worker variables and timeouts while the block runs; no-op alone.

    A worker without an address reads it from the rendezvous (waiting up to ``timeout_s``); a
    chief with a rendezvous publishes its reachable address there. The chief serves the oracle
    through ``serve_oracle`` (lost trials fail after ``timeout_s``); a worker's calls to the
    chief wait at most ``timeout_s``.
    """
    if not role.distributed:
        yield
        return
    role.check()
    address = role.oracle_address or read_address(role.rendezvous, role.timeout_s)
    host, port = split_address(address)
    values = {
        "KERASTUNER_TUNER_ID": role.tuner_id,
        "KERASTUNER_ORACLE_IP": host,
        "KERASTUNER_ORACLE_PORT": str(port),
    }
    saved = {key: os.environ.get(key) for key in values}
    patched = (oracle_chief.start_server, oracle_client.TIMEOUT)
    os.environ.update(values)
    oracle_chief.start_server = lambda oracle: serve_oracle(oracle, address, role.timeout_s)
    oracle_client.TIMEOUT = role.timeout_s
    try:
        if not role.is_worker and role.rendezvous:
            publish_address(role.rendezvous, reachable_address(address))
        yield
    finally:
        oracle_chief.start_server, oracle_client.TIMEOUT = patched
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class WorkerHooks:
    """A tuner mixin: a heartbeat while a worker trains a trial, and the trials it ran.

    ``prepare`` sets its state. ``ran`` holds the oracle's copy of each trial this process
    ended; on a worker it comes from the chief (``get_trial``, while the chief still counts
    this worker), so it carries the chief's score and status.
    """

    ran: list
    heartbeat_s: float
    _beating: threading.Event | None = None

    def on_trial_begin(self, trial) -> None:
        """Starts the heartbeat when the oracle is the chief's (a worker)."""
        super().on_trial_begin(trial)
        if isinstance(self.oracle, oracle_client.OracleClient):
            self._beating = threading.Event()
            beat = threading.Thread(
                target=_heartbeat,
                args=(self.oracle, trial.trial_id, self.heartbeat_s, self._beating),
                daemon=True,
            )
            beat.start()

    def on_trial_end(self, trial) -> None:
        """Stops the heartbeat, ends the trial as keras-tuner does, keeps the oracle's copy."""
        if self._beating is not None:
            self._beating.set()
        super().on_trial_end(trial)
        self.ran.append(self.oracle.get_trial(trial.trial_id))


def prepare(tuner: WorkerHooks, role: Role) -> None:
    """Sets a tuner's ``WorkerHooks`` state for ``role``."""
    tuner.ran = []
    tuner.heartbeat_s = role.timeout_s / 4


def _heartbeat(oracle, trial_id: str, period_s: float, stop: threading.Event) -> None:
    """Tells the chief every ``period_s`` that ``trial_id`` is still being trained."""
    while not stop.wait(period_s):
        try:
            oracle.get_trial(trial_id)
        except grpc.RpcError as error:  # the next beat, or the trial's report, tries again
            logging.warning("tuner: heartbeat of trial %s failed: %s", trial_id, error.code())


class _LeasingServicer(oracle_chief.OracleServicer):
    """keras-tuner's oracle service, noting when each trial and any worker was last heard of."""

    def __init__(self, oracle: kt.Oracle) -> None:
        super().__init__(oracle)
        self.seen: dict[str, float] = {}
        self.lost: set[str] = set()
        self.last_heard = time.monotonic()

    def _heard(self, trial_id: str = "") -> None:
        self.last_heard = time.monotonic()
        if trial_id:
            self.seen[trial_id] = self.last_heard

    def GetSpace(self, request, context):  # noqa: N802 - gRPC method names
        self._heard()
        return super().GetSpace(request, context)

    def UpdateSpace(self, request, context):  # noqa: N802
        self._heard()
        return super().UpdateSpace(request, context)

    def CreateTrial(self, request, context):  # noqa: N802
        self._heard()
        response = super().CreateTrial(request, context)
        if response.trial.status == TrialStatus.to_proto(TrialStatus.RUNNING):
            self._heard(response.trial.trial_id)
        return response

    def UpdateTrial(self, request, context):  # noqa: N802
        self._heard(request.trial_id)
        if request.trial_id in self.lost:
            trial = self.oracle.get_trial(request.trial_id)
            return protos.get_service().UpdateTrialResponse(trial=trial.to_proto())
        return super().UpdateTrial(request, context)

    def EndTrial(self, request, context):  # noqa: N802
        self._heard()
        if request.trial.trial_id in self.lost:
            logging.warning("tuner: ignored a late report of lost trial %s", request.trial.trial_id)
            return protos.get_service().EndTrialResponse()
        return super().EndTrial(request, context)

    def GetTrial(self, request, context):  # noqa: N802 - a worker's heartbeat
        self._heard(request.trial_id)
        return super().GetTrial(request, context)


@kt.synchronized
def _fail_lost_trials(oracle: kt.Oracle, servicer: _LeasingServicer, timeout_s: float) -> None:
    """Ends every trial not heard of for ``timeout_s`` as FAILED; forgets its worker."""
    now = time.monotonic()
    for tuner_id, trial in list(oracle.ongoing_trials.items()):
        if now - servicer.seen.setdefault(trial.trial_id, now) <= timeout_s:
            continue
        logging.warning(
            "tuner: trial %s of %s lost (silent %s s)", trial.trial_id, tuner_id, timeout_s
        )
        servicer.lost.add(trial.trial_id)
        trial.status = TrialStatus.FAILED
        trial.message = f"lost: worker {tuner_id} was not heard of for {timeout_s} s"
        oracle.end_trial(trial)
        oracle.tuner_ids.discard(tuner_id)


@kt.synchronized
def _search_over(oracle: kt.Oracle, servicer: _LeasingServicer, timeout_s: float) -> bool:
    """No trial running, and every worker told to stop or none heard from for ``timeout_s``."""
    if oracle.ongoing_trials:
        return False
    if servicer.stop_triggered and not oracle.tuner_ids:
        return True
    return time.monotonic() - servicer.last_heard > timeout_s


def serve_oracle(oracle: kt.Oracle, address: str, timeout_s: float) -> None:
    """Serves ``oracle`` to the workers on ``address`` until the search is over (module doc)."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    servicer = _LeasingServicer(oracle)
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    server.add_insecure_port(address)
    server.start()
    logging.info("tuner: chief serving the oracle on %s", address)
    try:
        while not _search_over(oracle, servicer, timeout_s):
            time.sleep(_POLL_S)
            _fail_lost_trials(oracle, servicer, timeout_s)
    finally:
        server.stop(grace=None)
