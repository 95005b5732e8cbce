"""kfp.local's output, line by line, told apart by the thread that printed it and read as events.

kfp.local (2.17) runs every task synchronously in one thread of the calling process: the
pipeline's own thread, or one of a ``dsl.ParallelFor``'s worker threads. In that thread it logs
``Executing task 'NAME'``, starts the task's subprocess, prints the subprocess's output (stdout
and stderr merged) line by line through ``print``, and logs ``Task 'NAME' finished with status
SUCCESS|FAILURE``; a task served from its cache only logs ``Task NAME cache hit (key=...)``.
So a stream that collects each thread's lines separately (``ThreadLines``, installed as
``sys.stdout`` and ``sys.stderr`` while a run lasts) keeps two tasks running side by side apart,
and ``parse`` reads those lines, and the marker line a task prints about itself
(``components.wrapper.task_label``), as ``Event``s. kfp.local indents a task's lines by printing
spaces before them, in a separate write (twice as many when two tasks overlap, as its ``print``
patch is not thread-safe): writes of only spaces at the start of a line are dropped, so a task's
log reads as the task printed it.
"""

import io
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from components.wrapper.task_label import MARK

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_STARTED = re.compile(r" - INFO - Executing task '(?P<name>[^']+)'$")
_FINISHED = re.compile(
    r" - (INFO|ERROR) - Task '(?P<name>[^']+)' finished with status (?P<status>SUCCESS|FAILURE)$"
)
_CACHED = re.compile(r"Task (?P<name>\S+) cache hit \(key=(?P<key>[0-9a-f]+)\)")
_RETRYING = re.compile(r"Task (?P<name>\S+) failed \(attempt \d+/\d+\)\. Retrying in ")

Kind = Literal["line", "started", "labelled", "finished", "cached", "retrying"]


@dataclass(frozen=True)
class Event:
    """What one line says.

    A task ``started``, was ``labelled``, ``finished`` (``ok`` or not), was served from the
    cache (``cached``, with its ``key`` prefix) or is ``retrying``; or a plain ``line`` of
    output. ``text`` is the line without colour codes.
    """

    kind: Kind
    text: str
    name: str = ""
    label: str = ""
    ok: bool = False
    key: str = ""


def parse(line: str) -> Event:
    """The event a line of kfp.local's output (or a task's marker line) is."""
    text = _ANSI.sub("", line).rstrip()
    stripped = text.strip()
    if stripped.startswith(MARK):
        return Event("labelled", text, label=stripped[len(MARK) :].strip())
    for kind, pattern in (("started", _STARTED), ("finished", _FINISHED)):
        found = pattern.search(text)
        if found:
            ok = found.groupdict().get("status") == "SUCCESS"
            return Event(kind, text, name=found["name"], ok=ok)
    found = _CACHED.search(text)
    if found:
        return Event("cached", text, name=found["name"], key=found["key"])
    found = _RETRYING.search(text)
    if found:
        return Event("retrying", text, name=found["name"])
    return Event("line", text)


class ThreadLines(io.TextIOBase):
    """A text stream that hands each complete line to ``on_line(thread id, line)``.

    Writes are collected per thread, so lines from two threads never mix; a line left without
    its newline is handed over by ``close``.
    """

    def __init__(self, on_line: Callable[[int, str], None]) -> None:
        super().__init__()
        self._on_line = on_line
        self._pending: dict[int, str] = {}
        self._lock = threading.Lock()

    @property
    def encoding(self) -> str:
        """Text is UTF-8."""
        return "utf-8"

    def writable(self) -> bool:
        """It is."""
        return True

    def isatty(self) -> bool:
        """Never a terminal: tasks print plain text here."""
        return False

    def write(self, text: str) -> int:
        """Collects ``text`` into the calling thread's lines."""
        thread = threading.get_ident()
        with self._lock:
            pending = self._pending.get(thread, "")
            if not pending and text and not text.strip(" "):
                return len(text)  # kfp.local's indentation before a task's line
            *lines, rest = (pending + text).split("\n")
            self._pending[thread] = rest
        for line in lines:
            self._on_line(thread, line)
        return len(text)

    def close(self) -> None:
        """Hands over every unfinished line, then closes."""
        with self._lock:
            pending, self._pending = self._pending, {}
        for thread, rest in pending.items():
            if rest:
                self._on_line(thread, rest)
        super().close()
