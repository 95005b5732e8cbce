"""TCP ports on 127.0.0.1 for the servers tests start: a free one, and waiting until one listens."""

import socket
import subprocess
import time


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_listening(port: int, server: subprocess.Popen, seconds: float, name: str) -> None:
    """Returns once ``port`` accepts connections; raises if ``server`` exits or time runs out.

    Raises:
        RuntimeError: ``"<name> did not start"``, after killing ``server``.
    """
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError(f"{name} did not start") from None
            time.sleep(0.1)
