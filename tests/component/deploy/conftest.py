"""A GCS emulator (gcp-storage-emulator, in memory, bucket ``models``) on 127.0.0.1 for publish."""

import socket
import subprocess
import sys
import time

import pytest


@pytest.fixture(scope="module")
def gcs_emulator():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "gcp_storage_emulator", "start", "--host", "127.0.0.1"]
    server = subprocess.Popen(
        [*command, "--port", str(port), "--in-memory", "--default-bucket", "models"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(10)
