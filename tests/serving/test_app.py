"""``household-sounds app``: the proxy's answers and limits, and the page in headless Chromium
with a fake microphone against the development server."""

import base64
import http.client
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
import soundfile

from components.audio.labels import CLASS_NAMES
from components.evaluate.screenshot import find_browser
from serving.app import server
from serving.client import GrpcClient, RestClient
from tests.helpers.audio import tone, wav_bytes

pytestmark = pytest.mark.xdist_group("serving")

LIMIT = 400_000
WAV = wav_bytes(tone(600.0, 3.0, 16000), 16000)


def start(client, limit: int = LIMIT) -> str:
    httpd = server.make_server(client, server.AppConfig(max_upload_bytes=limit), port=0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{httpd.server_address[1]}"


@pytest.fixture(scope="module")
def app(dev_server):
    with GrpcClient(dev_server[0]) as client:
        yield start(client)


def post(url: str, body: bytes, content_type: str = "audio/wav") -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{url}/api/classify", data=body, headers={"Content-Type": content_type}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def test_page_and_static_files_come_from_the_package(app):
    status, kind, page = get(f"{app}/?autostart=1")
    assert status == 200 and kind.startswith("text/html") and b"/static/app.js" in page
    for name, expected in [("app.js", "javascript"), ("recorder-worklet.js", "javascript")]:
        status, kind, body = get(f"{app}/static/{name}")
        assert status == 200 and expected in kind and body
    assert get(f"{app}/static/style.css")[1].startswith("text/css")
    assert get(f"{app}/static/../server.py")[0] == 404
    assert get(f"{app}/nope")[0] == 404
    config = json.loads(get(f"{app}/api/config")[2])
    assert config["class_names"] == list(CLASS_NAMES) and config["max_upload_bytes"] == LIMIT
    assert json.loads(get(f"{app}/healthz")[2]) == {"status": "ok"}


def test_classify_proxies_to_serving_over_grpc_and_rest(app, dev_server):
    status, by_grpc = post(app, WAV)
    assert status == 200 and by_grpc["class_name"] in CLASS_NAMES
    assert abs(sum(by_grpc["probabilities"].values()) - 1) < 1e-5
    status, by_rest = post(start(RestClient(dev_server[1])), WAV)
    assert status == 200 and by_rest["class_name"] == by_grpc["class_name"]
    np.testing.assert_allclose(
        list(by_rest["probabilities"].values()), list(by_grpc["probabilities"].values()), atol=1e-6
    )


def test_bad_requests_are_400_with_a_json_error(app):
    status, error = post(app, b"not a wav at all")
    assert status == 400 and error["error"] == "INVALID_ARGUMENT" and error["message"]
    status, error = post(app, WAV, "text/plain")
    assert status == 400 and "expected a WAV body" in error["message"]
    assert post(app, b"")[0] == 400


def test_oversized_upload_is_413_and_the_server_keeps_serving(app):
    status, error = post(app, b"\0" * (LIMIT + 1))
    assert status == 413 and "over the limit" in error["message"]
    assert post(app, WAV)[0] == 200


def test_missing_length_is_411(app):
    host, port = app.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest("POST", "/api/classify")
    connection.putheader("Content-Type", "audio/wav")
    connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders()
    connection.send(b"0\r\n\r\n")
    response = connection.getresponse()
    assert response.status == 411 and json.load(response)["error"] == "INVALID_ARGUMENT"
    connection.close()


def test_unreachable_serving_is_503():
    with GrpcClient("127.0.0.1:9", timeout_s=2) as client:  # discard port: nothing listens
        status, error = post(start(client), WAV)
    assert status == 503 and error["error"] == "UNAVAILABLE"


# ---- the page in headless Chromium ---------------------------------------------------------


class DevTools:
    """The few DevTools protocol calls the test needs, over websocket-client."""

    def __init__(self, url: str):
        import websocket

        self.socket = websocket.create_connection(url, timeout=60, suppress_origin=True)
        self.next_id = 0

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")


def launch(browser: str, clip: str, profile: str) -> tuple[subprocess.Popen, int]:
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--remote-debugging-port=0",
        f"--user-data-dir={profile}",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={clip}",
        "--autoplay-policy=no-user-gesture-required",
        "--window-size=1200,900",
        "about:blank",
    ]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if "DevTools listening on ws://" in line:
            port = int(line.split("ws://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
            threading.Thread(target=process.stderr.read, daemon=True).start()  # keep draining
            return process, port
        if not line and process.poll() is not None:
            break
    process.kill()
    raise RuntimeError("Chromium did not start its DevTools endpoint")


def page_target(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as response:
        pages = [t for t in json.load(response) if t["type"] == "page"]
    return pages[0]["webSocketDebuggerUrl"]


def wait_for(devtools: DevTools, expression: str, timeout_s: float = 90):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = devtools.evaluate(expression)
        if value:
            return value
        time.sleep(0.5)
    log = devtools.evaluate("document.getElementById('status').textContent")
    raise AssertionError(f"timed out waiting for {expression}; page status: {log}")


@pytest.mark.slow
@pytest.mark.skipif(find_browser() is None, reason="no Chromium (apt-get install chromium)")
def test_browser_listens_to_a_fake_microphone_and_classifies_an_upload(app, tmp_path):
    clip = tmp_path / "clip.wav"
    samples = np.concatenate([tone(500.0, 2.0, 16000), tone(2500.0, 2.0, 16000, 0.5)])
    soundfile.write(clip, samples, 16000, subtype="PCM_16")
    upload = tmp_path / "upload.wav"
    upload.write_bytes(WAV)
    profile = tempfile.mkdtemp(prefix="chromium-")
    process, port = launch(find_browser(), str(clip), profile)
    try:
        devtools = DevTools(page_target(port))
        devtools.call("Page.enable")
        devtools.call("Page.navigate", url=f"{app}/?autostart=1")
        count = "document.querySelectorAll('#log li.prediction[data-kind=live]').length"
        wait_for(devtools, f"{count} >= 4")
        rows = devtools.evaluate(
            "[...document.querySelectorAll('#log li.prediction')].map(li =>"
            " [li.dataset.className, Number(li.dataset.confidence)])"
        )
        assert all(name in CLASS_NAMES and 0 < confidence <= 1 for name, confidence in rows)
        assert devtools.evaluate("document.querySelectorAll('#timeline .hop').length") >= 4
        assert devtools.evaluate("document.getElementById('status').className") != "error"

        document = devtools.call("DOM.getDocument")["root"]["nodeId"]
        node = devtools.call("DOM.querySelector", nodeId=document, selector="#upload")["nodeId"]
        devtools.call("DOM.setFileInputFiles", files=[str(upload)], nodeId=node)
        wait_for(devtools, "document.querySelectorAll('#log li[data-kind=file]').length >= 1")
        uploaded = devtools.evaluate("document.querySelector('li[data-kind=file]').textContent")
        assert uploaded.startswith("upload.wav: ")

        shot = devtools.call("Page.captureScreenshot", format="png")["data"]
        png = tmp_path / "app.png"
        png.write_bytes(base64.b64decode(shot))
        assert png.stat().st_size > 10_000
        print(f"screenshot: {png}")
    finally:
        process.kill()
        process.wait(timeout=30)
        shutil.rmtree(profile, ignore_errors=True)
    assert os.path.exists(png)
