"""A local run a person can read: one console line per task, each task's whole log in a file.

While ``watch`` lasts, everything the process prints goes through ``pipelines.task_stream``:
each task's lines (kfp.local's and the task subprocess's: TensorFlow's banners, Beam, Keras...)
go to ``<run>/logs/<label>.log``, named by the label the task announces (``train cnn_log_mel
(seed)`` → ``train-cnn_log_mel-seed.log``), and lines outside any task to ``logs/pipeline.log``.
The console (stderr) gets one line when a task starts and one when it ends, with its duration,
the tasks done out of the total (``count_tasks``, from the pipeline's spec) and the time since
the run started; a failed task's last lines follow its line. A time left is shown only when it
is an honest one: the previous run into the same folder ran the same arguments, with no task
from the cache, to the end (``logs/tasks.json`` records each run), and so far this run has
taken nothing from the cache either. With ``verbose`` the console also gets every line, as kfp
prints it. Nothing here writes to stdout, which stays the command's JSON answer.
"""

import builtins
import contextlib
import hashlib
import json
import logging
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from components.wrapper.task_label import METADATA_KEY
from pipelines.task_stream import Event, ThreadLines, parse

LOGS_DIR = "logs"
PIPELINE_LOG = "pipeline.log"
RECORD_FILE = "tasks.json"
TAIL_LINES = 20
# Run arguments that change from run to run without changing the work.
_NOT_THE_WORK = frozenset({"data_fingerprint"})


def count_tasks(spec: Mapping[str, Any], arguments: Mapping[str, object]) -> int | None:
    """How many tasks a run of a compiled pipeline spec (as a dict) executes.

    A ``ParallelFor`` counts its body once per item: a raw list, a pipeline parameter given in
    ``arguments`` or defaulted, or the list a reading task (``families_reading``,
    ``baselines_reading``: a pure function of its parameters) will return. ``None`` when that
    cannot be known before the run (a condition, or items produced by another task).
    """
    components = spec.get("components", {})
    parameters = spec["root"].get("inputDefinitions", {}).get("parameters", {})
    tasks = spec["root"].get("dag", {}).get("tasks", {})

    def value(name: str) -> object:
        return (
            arguments[name] if name in arguments else parameters.get(name, {}).get("defaultValue")
        )

    def produced(loop: Mapping[str, Any], channel: str) -> list | None:
        source = loop.get("inputs", {}).get("parameters", {}).get(channel, {})
        name = source.get("taskOutputParameter", {}).get("producerTask", "")
        producer = tasks.get(name, {})
        reader = _READERS.get(name.rstrip("-0123456789"))  # families-reading-2: the second
        inputs = producer.get("inputs", {}).get("parameters", {})
        given = {name: value(p.get("componentInputParameter", "")) for name, p in inputs.items()}
        if reader is None or not all(isinstance(v, list) for v in given.values()):
            return None
        try:
            return reader(**given)
        except (TypeError, ValueError):
            return None

    def items(task: Mapping[str, Any]) -> int | None:
        source = task["parameterIterator"]["items"]
        if "raw" in source:
            return len(json.loads(source["raw"]))
        channel = source.get("inputParameter", "")
        listed = value(channel.removeprefix("pipelinechannel--"))
        listed = listed if isinstance(listed, list) else produced(task, channel)
        return None if listed is None else len(listed)

    def in_dag(dag: Mapping[str, Any]) -> int | None:
        total = 0
        for task in dag.get("tasks", {}).values():
            if task.get("triggerPolicy", {}).get("condition") or "artifactIterator" in task:
                return None
            times = items(task) if "parameterIterator" in task else 1
            component = components.get(task["componentRef"]["name"], {})
            each = in_dag(component["dag"]) if "dag" in component else 1
            if times is None or each is None:
                return None
            total += times * each
        return total

    return in_dag(spec["root"]["dag"])


def _families_reading(feature_sets: list, families: list) -> list:
    from components.train.config import families_reading

    return families_reading(feature_sets, families)


def _baselines_reading(feature_sets: list, models: list) -> list:
    from components.baselines.config import models_reading

    return models_reading(feature_sets, models)


# The reading tasks (by task name) whose output a ParallelFor iterates, as the functions they run.
_READERS = {"families-reading": _families_reading, "baselines-reading": _baselines_reading}


def log_name(label: str) -> str:
    """A label as a file name: ``train cnn_log_mel (seed)`` → ``train-cnn_log_mel-seed``."""
    return re.sub(r"[^A-Za-z0-9_.]+", "-", label).strip("-") or "task"


def clock(seconds: float) -> str:
    """``75`` → ``1:15``; ``3725`` → ``1:02:05``."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def arguments_key(arguments: Mapping[str, object]) -> str:
    """A digest of the arguments that decide the work (not the data's fingerprint)."""
    work = {k: v for k, v in arguments.items() if k not in _NOT_THE_WORK}
    return hashlib.sha256(json.dumps(work, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class _Task:
    """A task running in one thread: its log is buffered until it says what it is."""

    name: str
    started: float
    label: str = ""
    log: IO[str] | None = None
    buffered: list[str] = field(default_factory=list)
    tail: deque = field(default_factory=lambda: deque(maxlen=TAIL_LINES))


class RunProgress:
    """Turns a run's lines into task logs and console lines (see the module docstring)."""

    def __init__(
        self,
        run_dir: Path,
        total: int | None,
        console: IO[str],
        verbose: bool = False,
        cache_root: Path | None = None,
        arguments: Mapping[str, object] | None = None,
    ) -> None:
        self.logs = run_dir / LOGS_DIR
        self.logs.mkdir(parents=True, exist_ok=True)
        self.total = total
        self.console = console
        self.verbose = verbose
        self.cache_root = cache_root
        self.key = arguments_key(arguments or {})
        self.previous = self._previous()
        self.started = time.monotonic()
        self.running: dict[int, _Task] = {}
        self.last_label: dict[int, str] = {}  # per thread, for a retry's line
        self.tasks: dict[str, dict] = {}  # label → {"status", "seconds"}
        self.opened: set[str] = set()
        self.done = self.cached = 0
        self.failed: list[str] = []
        self._lock = threading.RLock()
        self.pipeline_log = (self.logs / PIPELINE_LOG).open("w", encoding="utf-8")

    def _previous(self) -> dict | None:
        """The last run's record, if it can honestly time this one (see the module docstring)."""
        try:
            record = json.loads((self.logs / RECORD_FILE).read_text())
        except (OSError, ValueError):
            return None
        same = record.get("arguments") == self.key and record.get("total") == self.total
        return record if same and record.get("complete") and not record.get("cached") else None

    def log_path(self, label: str) -> Path:
        """Where the task ``label``'s log is."""
        return self.logs / f"{log_name(label)}.log"

    def _where(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(Path.cwd()))
        except ValueError:
            return str(path)

    def _say(self, text: str) -> None:
        elapsed = time.monotonic() - self.started
        total = "?" if self.total is None else str(self.total)
        left = ""
        if self.previous and not self.cached and self.previous["seconds"] > elapsed:
            left = f", ~{clock(self.previous['seconds'] - elapsed)} left"
        self.console.write(f"[{self.done:>{len(total)}}/{total} {clock(elapsed)}{left}] {text}\n")
        self.console.flush()

    def on_line(self, thread: int, line: str) -> None:
        """Handles one line printed by ``thread``."""
        event = parse(line)
        with self._lock:
            if self.verbose:
                self.console.write(event.text + "\n")
            task = self.running.get(thread)
            if event.kind == "started":
                self._close(thread)
                self.running[thread] = _Task(event.name, time.monotonic(), buffered=[event.text])
            elif event.kind == "labelled" and task is not None and not task.label:
                self._label(task, event.label)
                self._write(task, event.text)
            elif event.kind == "finished" and task is not None:
                self._finish(thread, task, event)
            elif event.kind == "cached":
                self._cache_hit(event)
            elif task is not None:
                self._write(task, event.text)
            else:
                self.pipeline_log.write(event.text + "\n")
                if event.kind == "retrying":
                    self._say(f"retry  {self.last_label.get(thread, event.name)}")

    def _label(self, task: _Task, label: str, say: bool = True) -> None:
        task.label = label
        path = self.log_path(label)
        task.log = path.open("a" if label in self.opened else "w", encoding="utf-8")
        self.opened.add(label)
        for text in task.buffered:
            task.log.write(text + "\n")
        task.buffered.clear()
        task.log.flush()
        if say:
            self._say(f"start  {label}")

    def _write(self, task: _Task, text: str) -> None:
        task.tail.append(text)
        if task.log is None:
            task.buffered.append(text)
        else:
            task.log.write(text + "\n")
            task.log.flush()

    def _finish(self, thread: int, task: _Task, event: Event) -> None:
        del self.running[thread]
        if not task.label:  # it failed before saying what it is: kfp's name will do
            self._label(task, task.name, say=False)
        task.log.write(event.text + "\n")
        task.log.close()
        self.last_label[thread] = task.label
        seconds = round(time.monotonic() - task.started, 1)
        self.tasks[task.label] = {"status": "done" if event.ok else "failed", "seconds": seconds}
        if event.ok:
            self.done += 1
            self._say(f"done   {task.label} in {clock(seconds)}")
            return
        self.failed.append(task.label)
        where = self._where(self.log_path(task.label))
        self._say(f"FAILED {task.label} after {clock(seconds)}; its last lines ({where}):")
        tail = list(task.tail)
        while tail and not tail[-1].strip():
            tail.pop()
        for text in tail:
            self.console.write(f"    | {text}\n")
        self.console.flush()

    def _close(self, thread: int) -> None:
        """A task left open (its "finished" line never came): its log is closed as it is."""
        task = self.running.pop(thread, None)
        if task is not None and task.log is not None:
            task.log.close()

    def _cache_hit(self, event: Event) -> None:
        self.pipeline_log.write(event.text + "\n")
        label = self._cached_label(event.key) or event.name
        self.done += 1
        self.cached += 1
        self.tasks[label] = {"status": "cached", "seconds": 0.0}
        self._say(f"cached {label}")

    def _cached_label(self, key: str) -> str:
        """The label a cached task recorded in its outputs' metadata (kfp.local's cache entry)."""
        if self.cache_root is None:
            return ""
        for entry in sorted(self.cache_root.glob(f"{key}*.json")):
            try:
                outputs = json.loads(entry.read_text())
            except (OSError, ValueError):
                continue
            for output in outputs.values():
                artifacts = output.get("artifacts", [output]) if isinstance(output, dict) else []
                for artifact in artifacts:
                    label = (artifact.get("metadata") or {}).get(METADATA_KEY)
                    if label:
                        return str(label)
        return ""

    def finish(self, complete: bool) -> None:
        """Closes the logs, says how the run ended and records it for the next run's estimate."""
        with self._lock:
            for thread in list(self.running):
                self._close(thread)
            self.pipeline_log.close()
            seconds = round(time.monotonic() - self.started, 1)
            cached = f" ({self.cached} from the cache)" if self.cached else ""
            done = f"{self.done} tasks done{cached}"
            failed = f"{len(self.failed)} failed, " if self.failed else ""
            outcome = f"finished: {done}" if complete else f"stopped: {failed}{done}"
            self._say(f"{outcome}; logs in {self._where(self.logs)}")
            record = {
                "arguments": self.key,
                "total": self.total,
                "complete": complete,
                "cached": self.cached,
                "seconds": seconds,
                "tasks": self.tasks,
            }
            (self.logs / RECORD_FILE).write_text(json.dumps(record, indent=2) + "\n")


@contextlib.contextmanager
def watch(progress: RunProgress) -> Iterator[RunProgress]:
    """Routes the process's output through ``progress`` while the block runs.

    ``sys.stdout``, ``sys.stderr``, the root logger (at INFO, where kfp.local logs its cache
    hits) and ``builtins.print`` (which kfp.local replaces while a task runs, and with two tasks
    at once can leave replaced) are all put back afterwards.
    """
    stream = ThreadLines(progress.on_line)
    saved = sys.stdout, sys.stderr, builtins.print
    root = logging.getLogger()
    saved_logging = root.level, root.handlers[:]
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s - %(levelname)s - %(message)s"))
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    sys.stdout = sys.stderr = stream
    complete = False
    try:
        yield progress
        complete = True
    finally:
        sys.stdout, sys.stderr, builtins.print = saved
        root.setLevel(saved_logging[0])
        root.handlers[:] = saved_logging[1]
        stream.close()
        progress.finish(complete)
