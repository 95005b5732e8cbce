"""What a command shows on stderr: its own progress lines, not every library's chatter.

The steps and the serving commands log through the root logger (``featurize: 400/1240 clips``,
``train: cnn_mfcc epoch 3/12: ...``); ``configure`` shows those from INFO up and any other
logger's only from ERROR up, and hides Python warnings and TensorFlow's native INFO lines: the
CPU-feature note through ``TF_CPP_MIN_LOG_LEVEL=1`` (which Beam's worker processes inherit), and
the oneDNN banner, which absl prints before TensorFlow reads that variable, by filtering what
reaches file descriptor 2 (``_drop_native_info``: a pipe read by a thread that passes every
other line on, this process's and its children's alike). ``run`` and ``demo`` keep each task's
full log in a file and write their own console (``pipelines.progress``), so for them the
environment their tasks inherit is left alone. With ``verbose`` nothing is hidden.
"""

import atexit
import logging
import os
import re
import sys
import threading

_TF_CPP = "TF_CPP_MIN_LOG_LEVEL"
# absl's line before its logging is initialised, and its INFO lines
# (``I0000 00:00:1796621395.449652  1707 port.cc:153] oneDNN custom operations are on...``).
_NATIVE_INFO = re.compile(
    rb"^(WARNING: All log messages before absl::InitializeLog\(\) is called"
    rb"|I\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\] )"
)
_filtering = False


class _Stderr(logging.Handler):
    """Writes to whatever ``sys.stderr`` is when a record comes (a test may have replaced it)."""

    def __init__(self, verbose: bool) -> None:
        super().__init__()
        self.verbose = verbose

    def filter(self, record: logging.LogRecord) -> bool:
        """Everything when verbose; else the root logger's lines and any logger's errors."""
        return self.verbose or record.name == "root" or record.levelno >= logging.ERROR

    def emit(self, record: logging.LogRecord) -> None:
        """``message`` (INFO), ``LEVEL message`` (above), with the logger's name when verbose."""
        try:
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            if self.verbose:
                text = f"{record.levelname} {record.name}: {text}"
            elif record.levelno > logging.INFO:
                text = f"{record.levelname} {text}"
            sys.stderr.write(text + "\n")
        except Exception:  # noqa: BLE001 - logging must never break the command
            self.handleError(record)


def _drop_native_info() -> None:
    """Passes what is written to file descriptor 2 on, less absl's INFO lines (see above).

    Only where ``sys.stderr`` is the process's own (a test's captured stderr is left alone), and
    once; at exit descriptor 2 is put back and what is left in the pipe is passed on.
    """
    global _filtering
    if _filtering or sys.stderr is not sys.__stderr__:
        return
    _filtering = True
    sys.stderr.flush()
    original = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def copy() -> None:
        with os.fdopen(read_end, "rb") as lines:
            for line in lines:
                if not _NATIVE_INFO.match(line):
                    os.write(original, line)

    copier = threading.Thread(target=copy, name="stderr-filter", daemon=True)
    copier.start()

    def restore() -> None:
        sys.stderr.flush()
        os.dup2(original, 2)  # closes this process's write end of the pipe
        copier.join(timeout=2)  # a child still holding the pipe keeps it open

    atexit.register(restore)


def configure(verbose: bool, tasks_keep_logs: bool) -> None:
    """Sets up stderr logging for a command (``tasks_keep_logs``: ``run``/``demo``); idempotent."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _Stderr)]:
        root.removeHandler(handler)
    root.addHandler(_Stderr(verbose))
    root.setLevel(logging.INFO)
    logging.captureWarnings(not verbose)  # to the py.warnings logger, which is then hidden
    if not (verbose or tasks_keep_logs):
        os.environ.setdefault(_TF_CPP, "1")
        _drop_native_info()
