"""kfp.local's output lines read as task events, and two threads' lines kept apart."""

import threading

from components.wrapper.task_label import MARK
from pipelines.task_stream import ThreadLines, parse

CYAN, GREEN, RED, RESET = "\x1b[96m", "\x1b[92m", "\x1b[91m", "\x1b[0m"


def test_kfp_local_lines_are_events():
    # The lines as kfp 2.17's local runner logs them (logging_utils: colours, ms timestamps).
    started = parse(f"05:12:04.817 - INFO - Executing task {CYAN}'train'{RESET}")
    assert (started.kind, started.name) == ("started", "train")
    done = parse(
        f"05:12:05.1 - INFO - Task {CYAN}'train'{RESET} finished with status {GREEN}SUCCESS{RESET}"
    )
    assert (done.kind, done.name, done.ok) == ("finished", "train", True)
    failed = parse(
        f"05:12:05.1 - ERROR - Task {CYAN}'each'{RESET} finished with status {RED}FAILURE{RESET}"
    )
    assert (failed.kind, failed.ok) == ("finished", False)
    cached = parse(
        "05:12:05,100 - INFO - Task ingest cache hit (key=0123456789ab); skipping execution."
    )
    assert (cached.kind, cached.name, cached.key) == ("cached", "ingest", "0123456789ab")
    retrying = parse("Task featurize failed (attempt 1/2). Retrying in 60.0s...")
    assert retrying.kind == "retrying"
    labelled = parse(f"{MARK}train cnn_log_mel (seed)")
    assert (labelled.kind, labelled.label) == ("labelled", "train cnn_log_mel (seed)")
    assert parse("    Executing task 'x' is what my own program prints").kind == "line"
    assert parse(f"05:12:04.817 - INFO - Executing task {CYAN}'x'{RESET}").text.endswith("'x'")


def test_each_threads_lines_stay_together_and_kfp_indentation_goes():
    lines: list[tuple[int, str]] = []
    stream = ThreadLines(lambda thread, line: lines.append((thread, line)))
    half_written = threading.Event()
    other_done = threading.Event()

    def other() -> None:
        half_written.wait()
        stream.write("    ")  # kfp.local's indentation, written apart from the line
        stream.write("other line\n")
        other_done.set()

    worker = threading.Thread(target=other)
    worker.start()
    stream.write("    ")
    stream.write("    ")  # two tasks at once: kfp indents twice
    stream.write("mine, ")
    half_written.set()
    other_done.wait()
    stream.write("finished\nand a last one")
    worker.join()
    stream.close()
    me, them = threading.get_ident(), worker.ident
    assert lines == [(them, "other line"), (me, "mine, finished"), (me, "and a last one")]


def test_spaces_inside_a_line_are_kept():
    lines: list[str] = []
    stream = ThreadLines(lambda thread, line: lines.append(line))
    print("a", "b", file=stream)  # print writes "a", " ", "b", "\n"
    stream.write("  indented by the task itself\n")
    assert lines == ["a b", "  indented by the task itself"]
