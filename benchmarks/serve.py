"""Benchmark: serving latency and throughput, in-process and over gRPC on loopback.

Serves the newest version under ``--model-base`` (a run's ``serving/`` folder is the model base its
deploy published into: ``--model-base runs/quality/serving`` measures the model that run deployed,
named from its model card in the table), or else builds one: featurizes eight synthetic clips (for
a real tf.Transform graph), builds the train step's ``cnn_log_mel`` network in its seed
configuration (weights do not change the cost, so it is not trained) and deploys it with the deploy
step into a temporary model base. Then, for one 5 s clip (44.1 kHz, 16-bit mono WAV) and for
batches of 32, it runs a bounded closed loop (``--requests`` calls or ``--seconds``, which ever
ends first, after warm-up) (a) in-process through the SavedModel's ``serving_default`` signature,
the same signature run as TF Serving runs it (a TF1 session that restores the SavedModel through
its saver) and (b) through the gRPC client against the development server started in a
subprocess; also (c) the ``waveform`` signature in-process. Then (d) long audio in-process (30 s
and 5 min at 44.1 kHz, one clip per call, ``--long-requests`` calls), (e) the WAV variants clients
send (8-bit unsigned,
16/24/32-bit PCM, float 32/64, WAVE_FORMAT_EXTENSIBLE stereo; 5 s at 44.1 kHz, written by
libsndfile) in-process, and (f) a mixed load over gRPC and REST: ``--clients`` (8) concurrent
clients, alternately gRPC and REST, each with its own connection, sending one 5 s clip per call, of
which ``--malformed`` (5 %) are malformed (random bytes, text, a truncated header, a RIFF header
with a broken ``fmt `` chunk): p50/p99 and clips/s of the good requests, errors on good requests
(must be 0), malformed ones rejected with INVALID_ARGUMENT, and whether the server still answers
afterwards. A case the served graph refuses shows its errors and the first message. Prints p50/p99
latency, clips/s, CPU milliseconds per clip (the process's CPU time, which stays meaningful when
other jobs share the cores; in-process cases only, a gRPC row counts the client) and errors per
case. Last, (g) the multiply bound (``multiplies.served_macs``): one core's measured MAC rate
over the served path's MACs for one clip, the most clips/s one core could reach, against one
clip's measured clips/s and clips per CPU-second, as ratios (a model whose classifier is a
network gets no bound). With ``--baseline-model-base``, (h) compares one clip in-process with the
newest version under that base (e.g. the model the served one replaces), in ``--rounds``
alternated rounds (``rounds.py``): each round's clips/s and p99 of both, and their ratio.
Usage: python benchmarks/serve.py
[--model-base DIR] [--family F] [--intra-op-threads N] [--inter-op-threads N]
[--baseline-model-base DIR] [--rounds N]
"""

import argparse
import functools
import io
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

WAV_RATE = 44_100  # the test clip's rate: a common recorder rate, resampled in the graph
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.rounds import alternated, median_ratio  # noqa: E402


def build_model_base(folder: str, family: str) -> str:
    """Featurizes synthetic clips, builds ``family`` untrained and deploys it under ``folder``."""
    import soundfile

    from components.artifacts import manifest as manifest_file
    from components.artifacts import model_files
    from components.artifacts.names import (
        KERAS,
        KERAS_MODEL_FILE,
        MANIFEST_FILE,
        TRANSFORM_GRAPH_DIR,
    )
    from components.audio.labels import CLASS_NAMES
    from components.deploy import core
    from components.featurize import core as featurize
    from components.train import model as train_model

    rows = []
    for index in range(8):
        rate = 22050
        t = np.arange(2 * rate) / rate
        path = os.path.join(folder, f"{index}.wav")
        soundfile.write(path, (0.2 * np.sin(2 * np.pi * (200 + 150 * index) * t)), rate)
        split = "train" if index < 6 else ("validation" if index == 6 else "test")
        label = {"label": CLASS_NAMES[index], "label_index": index}
        rows.append({"clip_id": str(index), "uri": path, "split": split, **label})
    manifest = os.path.join(folder, MANIFEST_FILE)
    manifest_file.write_manifest(manifest, rows)
    featurized = os.path.join(folder, "featurized")
    featurize.run(manifest, featurized, featurize.FeaturizeConfig(num_shards=1))
    model_dir = os.path.join(folder, family)
    os.makedirs(model_dir)
    train_model.build_model(family).save(os.path.join(model_dir, KERAS_MODEL_FILE))
    model_files.write_model_card(
        model_dir, {"name": family, "framework": KERAS, "feature": train_model.FEATURE_OF[family]}
    )
    base = os.path.join(folder, "model_base")
    blessing = {"blessed": True, "candidate": family, "reasons": []}
    transform_graph = os.path.join(featurized, TRANSFORM_GRAPH_DIR)
    core.run([model_dir], transform_graph, base, blessing, core.DeployConfig(version=1))
    return base


def measure(call, batch: int, requests: int, seconds: float, warmup: int = 5) -> dict:
    """Closed loop: ``call()`` up to ``requests`` times or ``seconds``; latency percentiles."""
    first_error = ""
    for _ in range(warmup):
        try:
            call()
        except Exception as error:  # noqa: BLE001 - reported below, with the measured calls
            first_error = first_error or _message(error)
    latencies, errors = [], 0
    cpu_started = time.process_time()  # every thread of this process (not a server's)
    started = time.perf_counter()
    while len(latencies) < requests and time.perf_counter() - started < seconds:
        begin = time.perf_counter()
        try:
            call()
        except Exception as error:  # noqa: BLE001 - a benchmark counts failures, whatever they are
            errors += 1
            first_error = first_error or _message(error)
        latencies.append(time.perf_counter() - begin)
    total = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    ms = np.array(latencies) * 1000
    return {
        "batch": batch,
        "requests": len(latencies),
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "clips_per_s": batch * (len(latencies) - errors) / total,
        "cpu_ms/clip": 1000 * cpu / max(batch * len(latencies), 1),
        "errors": errors,
        "first_error": first_error,
    }


def _message(error: Exception) -> str:
    text = getattr(error, "message", None) or str(error)
    lines = [line for line in str(text).splitlines() if line.strip()]
    noise = ("Graph execution", "Detected at", "<stack traces", "Node:", "  ")
    useful = [line for line in lines if not line.startswith(noise)]
    return (useful or lines or [type(error).__name__])[0].strip()[:160]


WAV_VARIANTS = (
    ("wav u8", "WAV", "PCM_U8", 1),
    ("wav pcm16", "WAV", "PCM_16", 1),
    ("wav pcm24", "WAV", "PCM_24", 1),
    ("wav pcm32", "WAV", "PCM_32", 1),
    ("wav float32", "WAV", "FLOAT", 1),
    ("wav float64", "WAV", "DOUBLE", 1),
    ("wavex pcm16 stereo", "WAVEX", "PCM_16", 2),
)


def encode(
    samples: np.ndarray, rate: int, container: str = "WAV", subtype: str = "PCM_16"
) -> bytes:
    """``samples`` (``[n]`` or ``[n, channels]``) as a WAV file written by libsndfile."""
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format=container, subtype=subtype)
    return buffer.getvalue()


def malformed_requests(good: bytes, rng: np.random.Generator) -> list[bytes]:
    """Four kinds of bad input: random bytes, text, a truncated header, a broken fmt chunk."""
    broken_fmt = bytearray(good)
    broken_fmt[20:22] = (0x55).to_bytes(2, "little")  # format tag 0x55 (MP3) in a WAV header
    broken_fmt[22:24] = (0).to_bytes(2, "little")  # and zero channels
    return [
        rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        b"this is not audio, it is a text file renamed to .wav\n" * 20,
        good[:30],
        bytes(broken_fmt),
    ]


def mixed_load(connects: list, good: bytes, per_client: int, malformed: float) -> dict:
    """One thread per ``connects`` entry (a client factory: gRPC or REST), ``malformed`` bad.

    Each client opens its own connection and sends ``per_client`` one-clip requests, either
    ``good`` or (a ``malformed`` share, drawn with a fixed seed) one of ``malformed_requests``.
    """
    from serving.status import ServingError

    rng = np.random.default_rng(0)
    bad = malformed_requests(good, rng)
    clients = len(connects)
    total = clients * per_client
    is_bad = rng.random(total) < malformed
    plans = [
        [bad[int(rng.integers(len(bad)))] if is_bad[i] else good for i in range(c, total, clients)]
        for c in range(clients)
    ]
    good_ms: list[float] = []
    outcomes = {"good_errors": 0, "bad_rejected": 0, "bad_other": 0, "bad_accepted": 0}
    messages: list[str] = []
    lock = threading.Lock()

    def client(connect, plan: list[bytes]) -> None:
        with connect() as channel:
            for wav in plan:
                begin = time.perf_counter()
                try:
                    channel.predict_wav([wav])
                    outcome = "good" if wav is good else "bad_accepted"
                except ServingError as error:
                    outcome = (
                        "good_errors"
                        if wav is good
                        else ("bad_rejected" if error.code == "INVALID_ARGUMENT" else "bad_other")
                    )
                    if wav is good or len(messages) < 4:
                        messages.append(f"{error.code}: {error.message[:120]}")
                elapsed = (time.perf_counter() - begin) * 1000
                with lock:
                    if outcome == "good":
                        good_ms.append(elapsed)
                    else:
                        outcomes[outcome] += 1

    threads = [
        threading.Thread(target=client, args=(connect, plan))
        for connect, plan in zip(connects, plans, strict=True)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    ms = np.array(good_ms)
    return {
        "clients": clients,
        "requests": total,
        "malformed": int(is_bad.sum()),
        "good_ok": len(good_ms),
        "seconds": seconds,
        "p50_ms": float(np.percentile(ms, 50)) if len(ms) else float("nan"),
        "p99_ms": float(np.percentile(ms, 99)) if len(ms) else float("nan"),
        "clips_per_s": len(good_ms) / seconds,
        **outcomes,
        "messages": sorted(set(messages)),
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_dev_server(
    model_base: str, rest: bool = False, timeout_s: float = 120
) -> tuple[subprocess.Popen, str, str]:
    """Starts ``household-sounds serve-dev`` in a subprocess, waiting up to ``timeout_s``.

    Returns:
        ``(process, grpc_target, rest_url)``; ``rest_url`` is ``""`` unless ``rest``.
    """
    from serving.client import GrpcClient, RestClient
    from serving.status import ServingError

    port, rest_port = _free_port(), _free_port() if rest else 0
    command = [sys.executable, "-m", "cli.main", "serve-dev", "--model-base", model_base]
    command += ["--port", str(port), "--rest-port", str(rest_port)]
    server = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.DEVNULL)
    target, rest_url = f"127.0.0.1:{port}", f"http://127.0.0.1:{rest_port}" if rest else ""
    probe = warmup_wav()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with GrpcClient(target, timeout_s=2) as client:
                client.metadata()
            if rest:  # the REST thread starts after the gRPC server
                RestClient(rest_url, timeout_s=10).predict_wav([probe])
            return server, target, rest_url
        except ServingError:
            time.sleep(0.5)
    server.kill()
    raise RuntimeError(f"development server did not come up within {timeout_s} s")


def warmup_wav(seconds: float = 5.0) -> bytes:
    """A ``seconds`` chirp at 44.1 kHz as a 16-bit WAV (the deploy step's warmup signal)."""
    from components.deploy import warmup

    return warmup.wav_bytes(warmup.chirp(WAV_RATE, seconds), WAV_RATE)


def session_signature(version_dir: str, config):
    """``serving_default`` run as TF Serving runs it: a TF1 session, the SavedModel's saver.

    Returns a function of a list of WAV files' bytes giving the probabilities.
    """
    import tensorflow as tf

    from components.artifacts.signature import DEFAULT_SIGNATURE, PROBABILITIES, WAV_INPUT

    graph = tf.Graph()
    with graph.as_default():
        session = tf.compat.v1.Session(graph=graph, config=config)
        meta = tf.compat.v1.saved_model.loader.load(session, ["serve"], version_dir)
    signature = meta.signature_def[DEFAULT_SIGNATURE]
    fetch, feed = signature.outputs[PROBABILITIES].name, signature.inputs[WAV_INPUT].name
    return lambda wavs: session.run(fetch, {feed: wavs})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-base", default="", help="existing base with household_sounds/")
    parser.add_argument("--family", default="cnn_log_mel", help="train family to build")
    parser.add_argument("--requests", type=int, default=300, help="max calls per case")
    parser.add_argument("--seconds", type=float, default=20.0, help="max seconds per case")
    parser.add_argument("--long-requests", type=int, default=5, help="calls per long-audio case")
    parser.add_argument("--variant-requests", type=int, default=40, help="calls per WAV variant")
    parser.add_argument("--clients", type=int, default=8, help="concurrent gRPC clients")
    parser.add_argument("--mixed-requests", type=int, default=40, help="calls per client")
    parser.add_argument("--malformed", type=float, default=0.05, help="share of bad requests")
    help = "TF intra-op threads in this process (0: TF's default, one per core)"
    parser.add_argument("--intra-op-threads", type=int, default=0, help=help)
    help = "TF inter-op threads in this process (0: TF's default)"
    parser.add_argument("--inter-op-threads", type=int, default=0, help=help)
    help = "a model base whose newest version one clip in-process is compared with, alternated"
    parser.add_argument("--baseline-model-base", default="", help=help)
    parser.add_argument("--rounds", type=int, default=3, help="alternated rounds of (h)")
    args = parser.parse_args()

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.intra_op_threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.inter_op_threads)

    from components.artifacts.signature import DEFAULT_SIGNATURE, WAVEFORM_SIGNATURE
    from components.deploy import warmup
    from serving.client import GrpcClient, RestClient

    with tempfile.TemporaryDirectory() as folder:
        model_base = args.model_base or build_model_base(folder, args.family)
        version_dir = newest_version(model_base)
        served = tf.saved_model.load(version_dir)
        card = version_card(version_dir)
        model = served_model(version_dir, card) if args.model_base else None
        wav = warmup_wav()
        clip = warmup.chirp(22050)[None]
        by_wav = served.signatures[DEFAULT_SIGNATURE]
        by_waveform = served.signatures[WAVEFORM_SIGNATURE]
        one, batch = tf.constant([wav]), tf.constant([wav] * 32)
        session_call = session_signature(
            version_dir,
            tf.compat.v1.ConfigProto(
                intra_op_parallelism_threads=args.intra_op_threads,
                inter_op_parallelism_threads=args.inter_op_threads,
            ),
        )
        cases = [
            ("in-process wav 44.1k", lambda: by_wav(audio_wav=one), 1),
            ("in-process session wav 44.1k", lambda: session_call([wav]), 1),
            ("in-process wav 44.1k", lambda: by_wav(audio_wav=batch), 32),
            ("in-process waveform", lambda: by_waveform(waveform=tf.constant(clip)), 1),
        ]
        results = [
            (name, measure(call, size, args.requests, args.seconds)) for name, call, size in cases
        ]
        if args.baseline_model_base:
            one_clip = functools.partial(
                measure, batch=1, requests=args.requests, seconds=args.seconds
            )
            baseline = against_baseline(
                by_wav, args.baseline_model_base, one, one_clip, args.rounds
            )
        for seconds in (30, 300):
            long_wav = tf.constant([encode(warmup.chirp(WAV_RATE, seconds), WAV_RATE)])
            row = measure(lambda w=long_wav: by_wav(audio_wav=w), 1, args.long_requests, 600, 1)
            results.append((f"in-process {seconds} s 44.1k", row))
        stereo = np.stack([warmup.chirp(WAV_RATE), warmup.chirp(WAV_RATE)[::-1]], axis=1)
        for name, container, subtype, channels in WAV_VARIANTS:
            samples = stereo if channels == 2 else warmup.chirp(WAV_RATE)
            variant = tf.constant([encode(samples, WAV_RATE, container, subtype)])
            row = measure(lambda v=variant: by_wav(audio_wav=v), 1, args.variant_requests, 60)
            results.append((f"in-process {name}", row))
        server, target, rest_url = start_dev_server(model_base, rest=True)
        try:
            with GrpcClient(target) as client:
                for wavs in ([wav], [wav] * 32):
                    row = measure(
                        lambda wavs=wavs: client.predict_wav(wavs),
                        len(wavs),
                        args.requests,
                        args.seconds,
                    )
                    results.append(("gRPC loopback wav 44.1k", row))
            connects = [
                (lambda: GrpcClient(target, timeout_s=120))
                if c % 2 == 0
                else (lambda: RestClient(rest_url, timeout_s=120))
                for c in range(args.clients)
            ]
            mixed = mixed_load(connects, wav, args.mixed_requests, args.malformed)
            with GrpcClient(target, timeout_s=10) as client:
                mixed["server_alive_after"] = server.poll() is None and bool(client.metadata())
        finally:
            server.terminate()
            server.wait(30)
    print_table(results, model or f"{args.family} (untrained, seed configuration)")
    print_mixed(mixed)
    print(multiply_bound(card.get("model", {}).get("feature", "?"), results[0][1]))
    if args.baseline_model_base:
        print("\n".join(baseline))


def newest_version(model_base: str) -> str:
    """The folder of the newest version of the served model under ``model_base``."""
    from components.artifacts.names import SERVED_MODEL_NAME

    versions = os.path.join(model_base, SERVED_MODEL_NAME)
    return os.path.join(versions, max(os.listdir(versions), key=int))


def against_baseline(served, baseline_base: str, clip, measure_one, rounds: int) -> list[str]:
    """(h) One clip in-process, the served model and a baseline's in alternated rounds.

    ``served`` is the served model's ``serving_default`` signature, ``clip`` a ``[1]`` string
    tensor of WAV bytes and ``measure_one(call)`` the closed loop every case runs. The baseline
    is the newest version under ``baseline_base``, loaded in this process with the same thread
    settings. Returns the lines to print: each model's clips/s and p99 in every round, and the
    ratio of clips/s as the median of each round's own ratio.
    """
    import tensorflow as tf

    from components.artifacts.signature import DEFAULT_SIGNATURE

    baseline_dir = newest_version(baseline_base)
    baseline = tf.saved_model.load(baseline_dir).signatures[DEFAULT_SIGNATURE]
    per_round = alternated(
        {
            "served": lambda: measure_one(lambda: served(audio_wav=clip)),
            "baseline": lambda: measure_one(lambda: baseline(audio_wav=clip)),
        },
        rounds,
    )
    lines = [
        f"(h) one 5 s clip in-process, {rounds} alternated rounds against the baseline "
        f"{served_model(baseline_dir, version_card(baseline_dir))}:"
    ]
    for name in ("served", "baseline"):
        rates = ", ".join(f"{done[name]['clips_per_s']:.1f}" for done in per_round)
        p99s = ", ".join(f"{done[name]['p99_ms']:.1f}" for done in per_round)
        lines.append(f"  {name:9s} clips/s {rates}; p99 ms {p99s}")
    rates = [{name: row["clips_per_s"] for name, row in done.items()} for done in per_round]
    lines.append(f"  served / baseline clips/s: {median_ratio(rates, 'served', 'baseline')}")
    return lines


def version_card(version_dir: str) -> dict:
    """The version's model card (``{}`` for a version published without one)."""
    import json

    from components.artifacts.names import ASSETS_EXTRA_DIR, VERSION_CARD_JSON

    card_path = os.path.join(version_dir, ASSETS_EXTRA_DIR, VERSION_CARD_JSON)
    if not os.path.exists(card_path):
        return {}
    with open(card_path) as handle:
        return json.load(handle)


def served_model(version_dir: str, card: dict) -> str:
    """``<model> (version N of <version_dir>'s base)``, from the version's model ``card``."""
    name = card.get("model", {}).get("name", "a model without a card")
    return f"{name} (version {os.path.basename(version_dir)} of {version_dir})"


def multiply_bound(feature: str, one_clip: dict) -> str:
    """One clip's measured rate against the served path's multiply-count bound on one core."""
    import tensorflow as tf

    from benchmarks import multiplies

    macs = multiplies.served_macs(feature, WAV_RATE)
    if macs is None:
        return f"no multiply bound for a {feature} model (its classifier is a network, not counted)"
    core = multiplies.core_macs_per_s(tf.float32)
    bound = core / macs
    per_cpu_s, clips_per_s = 1000 / one_clip["cpu_ms/clip"], one_clip["clips_per_s"]
    return (
        f"multiply bound: one core {core / 1e9:.1f} GMAC/s float32 (1024^3 matmul); the served "
        f"path of {feature} is {macs / 1e6:.1f} MMAC per 5 s {WAV_RATE} Hz clip (resampling "
        f"and features; the classifier not counted), at most {bound:.0f} clips/s per core. "
        f"One clip in-process: {clips_per_s:.1f} clips/s ({clips_per_s / bound:.0%} of the "
        f"bound), {per_cpu_s:.1f} clips per CPU-second ({per_cpu_s / bound:.0%})"
    )


def print_table(results: list[tuple[str, dict]], model: str) -> None:
    import tensorflow as tf

    print(f"\nserving benchmark: {model}; {os.cpu_count()} CPUs; TF {tf.__version__}")
    columns = ("batch", "requests", "p50_ms", "p99_ms", "clips_per_s", "cpu_ms/clip", "errors")
    header = f"{'case':28}" + "".join(f"{column:>12}" for column in columns)
    print(header)
    print("-" * len(header))
    for name, row in results:
        cells = "".join(
            f"{row[c]:12.1f}" if isinstance(row[c], float) else f"{row[c]:12d}" for c in columns
        )
        print(f"{name:28}{cells}")
    for name, row in results:
        if row["errors"]:
            print(f"  {name}: {row['errors']} errors, e.g. {row['first_error']}")
    print("cpu_ms/clip: this process's CPU (all threads); for gRPC rows the client's only")


def print_mixed(row: dict) -> None:
    print(
        f"\nmixed gRPC + REST load: {row['clients']} clients, {row['requests']} requests of one "
        f"5 s clip, {row['malformed']} malformed"
    )
    for key, value in row.items():
        if key not in ("messages", "clients", "requests", "malformed"):
            print(f"  {key:20} {value:.1f}" if isinstance(value, float) else f"  {key:20} {value}")
    for message in row["messages"]:
        print(f"  rejected: {message}")


if __name__ == "__main__":
    main()
