"""``household-sounds predict`` and ``serve-dev``: JSON per file, the status code on rejection."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from cli import main as cli
from components.audio.labels import CLASS_NAMES
from tests.helpers.audio import tone, wav_bytes
from tests.helpers.serving_inputs import three_sounds

# One worker builds the shared session fixtures (featurize, train, export) once: see conftest.
pytestmark = pytest.mark.xdist_group("serving")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_predict_prints_json_per_file(dev_server, tmp_path, capsys):
    path = tmp_path / "clip.wav"
    path.write_bytes(wav_bytes(tone(500.0, 2.0, 48000), 48000))
    assert cli.main(["predict", str(path), str(path), "--target", dev_server[0]]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["file"] for row in rows] == [str(path)] * 2
    assert rows[0]["class_name"] in rows[0]["probabilities"]
    assert abs(sum(rows[0]["probabilities"].values()) - 1) < 1e-5


@pytest.mark.parametrize("rest", [False, True])
def test_predict_long_clip_prints_the_clip_and_its_windows(rest, dev_server, tmp_path, capsys):
    path = tmp_path / "long.wav"
    path.write_bytes(wav_bytes(three_sounds(22050), 22050, "PCM_24"))
    target = dev_server[1].removeprefix("http://") if rest else dev_server[0]
    assert cli.main(["predict", str(path), "--target", target] + (["--rest"] if rest else [])) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["file"] == str(path) and row["clip_duration_s"] == 30.0
    assert set(row["probabilities"]) == set(row["max_probabilities"]) == set(CLASS_NAMES)
    windows = row["windows"]
    assert [(w["start_s"], w["end_s"]) for w in windows] == [
        (2.5 * k, 2.5 * k + 5) for k in range(11)
    ]
    assert all(set(w) == {"start_s", "end_s", "class_name", "probabilities"} for w in windows)
    mean = {name: sum(w["probabilities"][name] for w in windows) / 11 for name in CLASS_NAMES}
    assert mean == pytest.approx(row["probabilities"], abs=1e-6)
    assert row["class_name"] == max(mean, key=mean.get)


def test_predict_over_rest(dev_server, tmp_path, capsys):
    path = tmp_path / "clip.wav"
    path.write_bytes(wav_bytes(tone(500.0, 2.0, 8000), 8000))
    target = dev_server[1].removeprefix("http://")
    assert cli.main(["predict", str(path), "--rest", "--target", target]) == 0
    assert json.loads(capsys.readouterr().out)[0]["class_index"] in range(8)


@pytest.mark.parametrize("rest", [False, True])
def test_rejected_request_exits_with_status_code_and_name(rest, dev_server, tmp_path, capsys):
    path = tmp_path / "bad.wav"
    path.write_bytes(wav_bytes(tone(500.0, 1.0, 12000), 12000))
    target = dev_server[1].removeprefix("http://") if rest else dev_server[0]
    argv = ["predict", str(path), "--target", target] + (["--rest"] if rest else [])
    assert cli.main(argv) == 3  # grpc.StatusCode.INVALID_ARGUMENT
    captured = capsys.readouterr()
    [row] = json.loads(captured.out)
    assert row["file"] == str(path) and row["error"]["code"] == "INVALID_ARGUMENT"
    assert "unsupported sample rate" in row["error"]["message"]
    assert captured.err.startswith(f"household-sounds predict: {path}: INVALID_ARGUMENT: ")


@pytest.mark.parametrize("rest", [False, True])
def test_predict_splits_40_files_into_requests_the_server_takes_and_answers_each(
    rest, dev_server, tmp_path, capsys
):
    import soundfile

    good = []
    for index in range(40):
        path = tmp_path / f"clip{index}.wav"
        path.write_bytes(wav_bytes(tone(300.0 + 10 * index, 1.0, 16000), 16000))
        good.append(str(path))
    flac = tmp_path / "clip.flac"
    soundfile.write(flac, tone(500.0, 1.0, 22050), 22050, format="FLAC")
    bad_rate = tmp_path / "bad.wav"
    bad_rate.write_bytes(wav_bytes(tone(500.0, 1.0, 12000), 12000))
    text = tmp_path / "notes.txt"
    text.write_text("not audio")
    files = [
        *good[:20],
        str(bad_rate),
        str(flac),
        str(tmp_path / "absent.wav"),
        *good[20:],
        str(text),
    ]
    target = dev_server[1].removeprefix("http://") if rest else dev_server[0]
    argv = ["predict", *files, "--target", target] + (["--rest"] if rest else [])
    assert cli.main(argv) == 3  # the first failure: INVALID_ARGUMENT
    captured = capsys.readouterr()
    rows = json.loads(captured.out)
    assert [row["file"] for row in rows] == files
    errors = {row["file"]: row["error"]["code"] for row in rows if "error" in row}
    assert errors == {
        str(bad_rate): "INVALID_ARGUMENT",
        str(tmp_path / "absent.wav"): "UNREADABLE",
        str(text): "UNREADABLE",
    }
    assert all(row["class_name"] in CLASS_NAMES for row in rows if "error" not in row)
    assert len(captured.err.strip().splitlines()) == 3


def test_the_development_server_refuses_more_inputs_than_tf_servings_batch_limit(dev_server):
    from serving.client import GrpcClient
    from serving.limits import MAX_BATCH_SIZE
    from serving.status import ServingError

    wav = wav_bytes(tone(500.0, 1.0, 16000), 16000)
    with GrpcClient(dev_server[0]) as client:
        assert len(client.predict_wav([wav] * MAX_BATCH_SIZE)) == MAX_BATCH_SIZE
        with pytest.raises(ServingError, match="Task size 33 is larger than maximum input batch"):
            client.predict_wav([wav] * (MAX_BATCH_SIZE + 1))


def test_serve_dev_subprocess_serves_and_labels_itself(model_base, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "cli.main", "serve-dev", "--model-base", model_base]
    server = subprocess.Popen(
        [*command, "--port", str(port)], cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    try:
        path = tmp_path / "clip.wav"
        path.write_bytes(wav_bytes(tone(500.0, 2.0, 22050), 22050))
        predict = [sys.executable, "-m", "cli.main", "predict", str(path), "--timeout", "5"]
        # Start-up loads the model and replays its warmup requests (as TF Serving does) first.
        deadline = time.monotonic() + 180
        while True:
            done = subprocess.run(
                [*predict, "--target", f"127.0.0.1:{port}"], cwd=ROOT, capture_output=True
            )
            if done.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert done.returncode == 0, done.stderr[-2000:]
        assert json.loads(done.stdout)[0]["file"] == str(path)
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=30)
    assert "DEVELOPMENT SERVER" in stderr
