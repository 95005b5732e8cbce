"""``household-sounds listen``: windows per hop, alerts with debouncing, the webhook, errors."""

import io
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import soundfile

from cli import main as cli
from serving import listen
from serving.alerts import Alerter, AlertRule
from serving.client import Prediction
from tests.helpers.audio import tone

pytestmark = pytest.mark.xdist_group("serving")

CLASSES = ("human", "noise", "animal", "music", "ambient", "alarm", "movement", "other")
RATE = 16000


def blocks(samples: np.ndarray, size: int):
    return [samples[i : i + size] for i in range(0, len(samples), size)]


def test_one_window_per_hop_then_the_remainder():
    samples = np.arange(int(7.5 * RATE), dtype=np.float32) / RATE
    found = list(listen.windows(blocks(samples, 800), RATE, hop_s=1.0))
    assert [w.end_s for w in found] == [1, 2, 3, 4, 5, 6, 7, 7.5]
    assert [w.start_s for w in found] == [0, 0, 0, 0, 0, 1, 2, 2.5]
    for window in found:  # each window is exactly the audio between its start and end
        np.testing.assert_array_equal(
            window.samples, samples[round(window.start_s * RATE) : round(window.end_s * RATE)]
        )
    assert all(w.skipped == 0 for w in found)


def test_a_backlog_yields_only_the_newest_window():
    samples = np.ones(int(3.5 * RATE), np.float32)
    [window, rest] = listen.windows([samples], RATE, hop_s=1.0)
    assert (window.end_s, window.skipped, len(window.samples)) == (3.0, 2, 3 * RATE)
    assert rest.end_s == 3.5


def test_level_and_wav_encoding():
    samples = tone(440.0, 0.5, RATE, amplitude=0.5)
    decoded, rate = soundfile.read(io.BytesIO(listen.encode_wav(samples, RATE)), dtype="float32")
    assert rate == RATE and np.max(np.abs(decoded - samples)) < 1 / 32767 + 1e-6
    assert abs(listen.level_dbfs(samples) - 20 * np.log10(0.5 / np.sqrt(2))) < 0.1
    assert listen.level_dbfs(np.zeros(10)) == -120.0


def fake(probabilities) -> Prediction:
    index = int(np.argmax(probabilities))
    return Prediction(CLASSES[index], index, tuple(probabilities))


def test_alerts_need_the_threshold_and_are_debounced_per_class():
    alerter = Alerter(AlertRule(("human", "alarm"), threshold=0.6, debounce_s=3.0), CLASSES)
    alarm = fake([0.1, 0, 0, 0, 0, 0.9, 0, 0])
    both = fake([0.65, 0, 0, 0, 0, 0.35, 0, 0])
    times = {}
    for second, prediction in enumerate([alarm, alarm, both, alarm, alarm, alarm], start=1):
        for event in alerter.check(prediction, 0.0, float(second), "test"):
            times.setdefault(event["class_name"], []).append(event["end_s"])
    assert times == {"alarm": [1.0, 4.0], "human": [3.0]}
    with pytest.raises(ValueError, match="unknown alert classes"):
        Alerter(AlertRule(("burglar",)), CLASSES)


def test_terminal_line_has_class_confidence_and_meter():
    out = io.StringIO()
    display = listen.Display(CLASSES, out, tty=True)
    window = listen.Window(0.0, 5.0, np.zeros(1), level_dbfs=-30.0)
    display.prediction(window, fake([0, 0, 0, 0, 0, 0.83, 0.17, 0]))
    display.event({"event": "alert"})
    text = out.getvalue()
    assert text.startswith("\r\x1b[2K") and "alarm" in text and "83%" in text
    assert "[█████·····]" in text and "-30.0 dBFS" in text
    assert text.endswith('\n{"event": "alert"}\n')


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("listen") / "kitchen.wav"
    samples = np.concatenate([tone(400.0, 3.0, RATE), tone(3000.0, 4.5, RATE, 0.6)])
    soundfile.write(path, samples, RATE, subtype="PCM_16")
    return str(path)


def run_listen(capsys, clip, target, *flags) -> tuple[int, list[dict], list[dict], dict]:
    argv = ["listen", "--file", clip, "--speed", "100", "--target", target, *flags]
    code = cli.main(argv)
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    predictions = [line for line in lines if line["event"] == "prediction"]
    alerts = [line for line in lines if line["event"] == "alert"]
    summary = json.loads(captured.err.strip().splitlines()[-1]) if code == 0 else {}
    return code, predictions, alerts, summary


def test_file_stream_predicts_every_hop(dev_server, clip, capsys):
    code, predictions, alerts, summary = run_listen(capsys, clip, dev_server[0])
    assert code == 0 and alerts == []
    assert [p["end_s"] for p in predictions] == [1, 2, 3, 4, 5, 6, 7, 7.5]
    assert [p["start_s"] for p in predictions] == [0, 0, 0, 0, 0, 1, 2, 2.5]
    assert summary["predictions"] == 8 and summary["skipped_hops"] == 0
    assert all(abs(sum(p["probabilities"].values()) - 1) < 1e-4 for p in predictions)
    # The louder second tone shows in the level meter's numbers.
    assert predictions[-1]["level_dbfs"] > predictions[0]["level_dbfs"] + 3


def test_alerts_fire_on_threshold_and_debounce_over_rest(dev_server, clip, capsys):
    target = dev_server[1].removeprefix("http://")
    _, predictions, _, _ = run_listen(capsys, clip, target, "--rest")
    human = [p["probabilities"]["human"] for p in predictions]
    threshold = sorted(human)[len(human) // 2]
    flags = ["--rest", "--alert", "human", "--threshold", str(threshold), "--debounce", "0"]
    _, again, alerts, summary = run_listen(capsys, clip, target, *flags)
    assert [p["probabilities"] for p in again] == [p["probabilities"] for p in predictions]
    expected = [p["end_s"] for p in predictions if p["probabilities"]["human"] >= threshold]
    assert [a["end_s"] for a in alerts] == expected and summary["alerts"] == len(expected)
    assert all(a["class_name"] == "human" and a["confidence"] >= threshold for a in alerts)

    flags = ["--rest", "--alert", "human,alarm", "--threshold", "0", "--debounce", "3"]
    _, _, alerts, _ = run_listen(capsys, clip, target, *flags)
    by_class = {name: [a["end_s"] for a in alerts if a["class_name"] == name] for name in CLASSES}
    assert by_class["human"] == by_class["alarm"] == [1, 4, 7]


class Receiver(BaseHTTPRequestHandler):
    received: list

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.headers["Content-Type"], json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_webhook_receives_every_alert_and_a_dead_one_is_not_fatal(dev_server, clip, capsys):
    received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("R", (Receiver,), {"received": received}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    flags = ["--alert", "alarm", "--threshold", "0", "--debounce", "2.5", "--webhook", url]
    try:
        code, _, alerts, _ = run_listen(capsys, clip, dev_server[0], *flags)
    finally:
        server.shutdown()
        server.server_close()
    assert code == 0 and [a["end_s"] for a in alerts] == [1, 4, 7]
    assert received == [("application/json", alert) for alert in alerts]

    code, _, alerts, _ = run_listen(capsys, clip, dev_server[0], *flags[:-1], url)  # now closed
    assert code == 0 and len(alerts) == 3


def test_rejected_audio_exits_with_the_status_code(dev_server, tmp_path, capsys):
    path = tmp_path / "low.wav"
    soundfile.write(path, tone(300.0, 2.0, 4000), 4000)
    assert cli.main(["listen", "--file", str(path), "--target", dev_server[0]]) == 3
    assert json.loads(capsys.readouterr().err.splitlines()[-1])["error"] == "INVALID_ARGUMENT"


def test_unreadable_file_and_missing_microphone_are_clear_errors(tmp_path, capsys, monkeypatch):
    path = tmp_path / "notes.wav"
    path.write_text("not audio")
    assert cli.main(["listen", "--file", str(path)]) == 2
    assert "cannot read" in json.loads(capsys.readouterr().err)["message"]
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # as if not installed
    assert cli.main(["listen"]) == 2
    assert "use --file" in json.loads(capsys.readouterr().err)["message"]
