"""Runs the fault suite (``tests/faults``) and prints its reliability table (Markdown).

Each fault test writes a JSON record of what it tried (``tests/faults/conftest.py``): inputs
and mutations, faults injected (kill -9s), requests sent to a server, crashes (a dead server, or
an answer other than a score or ``INVALID_ARGUMENT``) and clips or versions lost (or seen
half-written). This script runs ``pytest tests/faults`` with ``FAULTS_REPORT_DIR`` set, then
prints one row per test, the totals, and when and on what it ran: UTC date, commit, CPUs and the
load average before and after (the suite's timings depend on what else the machine runs). Its
exit status is pytest's. Usage: python benchmarks/reliability.py [--records DIR] [PYTEST_ARG...]
(``--records`` keeps the records there instead of a temporary folder); ``--tabulate DIR...``
prints the table of records already written (by earlier or parallel runs) without running.
"""

import argparse
import datetime
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLUMNS = (
    ("inputs", "inputs / mutations"),
    ("faults", "faults injected"),
    ("requests", "requests"),
    ("crashes", "crashes"),
    ("lost", "clips or versions lost"),
)


def run_suite(records: str, pytest_args: list[str]) -> tuple[int, float]:
    """Runs the fault suite writing records into ``records``; (exit status, seconds)."""
    env = {**os.environ, "FAULTS_REPORT_DIR": records}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, env.get("PYTHONPATH", "")]))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *pytest_args]
    started = time.monotonic()
    status = subprocess.call(
        command if pytest_args else [*command, "tests/faults"], cwd=ROOT, env=env
    )
    return status, time.monotonic() - started


def table(records: list[dict]) -> str:
    """The Markdown table: one row per test and the totals."""
    header = ["test", *(title for _, title in COLUMNS), "seconds", "outcome"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for record in sorted(records, key=lambda r: r["test"]):
        cells = [f"`{record['test']}`", *(str(record[key]) for key, _ in COLUMNS)]
        lines.append("| " + " | ".join([*cells, str(record["seconds"]), record["outcome"]]) + " |")
    totals = [str(sum(r[key] for r in records)) for key, _ in COLUMNS]
    passed = sum(r["outcome"] == "passed" for r in records)
    seconds = f"{sum(r['seconds'] for r in records):.0f}"
    lines.append(
        "| **total** | " + " | ".join([*totals, seconds, f"{passed}/{len(records)} passed"]) + " |"
    )
    return "\n".join(lines)


def commit() -> str:
    try:
        return subprocess.check_output(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True
        ).strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", default="", help="folder for the records (default: temporary)")
    parser.add_argument("--tabulate", nargs="+", default=[], help="only tabulate these folders")
    args, pytest_args = parser.parse_known_args()
    if args.tabulate:
        report(read_records(args.tabulate), "records tabulated")
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        records_dir = args.records or scratch
        os.makedirs(records_dir, exist_ok=True)
        load_before = os.getloadavg()
        status, seconds = run_suite(records_dir, pytest_args)
        load_after = os.getloadavg()
        records = read_records([records_dir])
    ran = (
        f"fault suite ran {seconds:.0f} s, load average {load_before[0]:.1f} before / "
        f"{load_after[0]:.1f} after, pytest exit {status}"
    )
    report(records, ran)
    return status


def read_records(folders: list[str]) -> list[dict]:
    """Every test record in ``folders`` (a test recorded twice: the later folder's)."""
    records = {}
    for folder in folders:
        for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
            with open(path) as handle:
                record = json.load(handle)
            records[record["test"]] = record
    return list(records.values())


def report(records: list[dict], how: str) -> None:
    """Prints when and where, the table and each test's details."""
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\nreliability at {when}, commit {commit()}, {os.cpu_count()} CPUs: {how}\n")
    print(table(records))
    for record in sorted(records, key=lambda r: r["test"]):
        if record["details"]:
            print(f"\n{record['test']}: {json.dumps(record['details'], sort_keys=True)}")


if __name__ == "__main__":
    sys.exit(main())
