"""evaluate with hostile clip metadata: mathtext, spreadsheet formulas and Markdown/HTML in the
manifest reach the figures, ``errors.csv`` and ``slices.md`` as plain text and break nothing."""

import csv
import dataclasses
import io
import json

import pytest

from components.evaluate import core
from tests.helpers.evaluation_run import CONFIG

HOSTILE = {
    "license": r"$\foo$",
    "title": '=HYPERLINK("http://x")\nsecond line',
    "uploader": "@SUM(1+1)",
    "rule": "dog|cat <b>x</b>\r\nnext",
    "dataset": "-2+3",
    "tags": ["+cmd", "\tTAB"],
}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(scope="module")
def hostile_evaluation(synthetic_run, tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    manifest = [json.loads(line) for line in open(synthetic_run["manifest"])]
    for row in manifest:
        if row["split"] == "test":
            row.update(HOSTILE)
    (root / "manifest.jsonl").write_text("".join(json.dumps(row) + "\n" for row in manifest))
    scores = core.score(synthetic_run["model_dirs"])
    metadata = core.read_metadata(str(root / "manifest.jsonl"), synthetic_run["clip_stats"])
    config = dataclasses.replace(CONFIG, crosses=False, bootstrap_samples=20)
    result = core.write(
        core.analyse(scores, metadata, config, synthetic_run["features"]), str(root / "out")
    )
    return result, root / "out"


def test_a_mathtext_license_does_not_break_the_report(hostile_evaluation):
    _, out = hostile_evaluation
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") >= 5
    assert any(
        e["value"] == HOSTILE["license"] for e in json.loads((out / "slices.json").read_text())
    )


def test_errors_csv_cells_cannot_start_a_formula(hostile_evaluation):
    _, out = hostile_evaluation
    rows = list(csv.DictReader(io.StringIO((out / "errors.csv").read_text())))
    assert rows
    for row in rows:
        for value in row.values():
            assert not value.startswith(FORMULA_START), value
    first = rows[0]
    assert first["title"] == "'" + HOSTILE["title"]  # neutralised, not altered otherwise
    assert first["uploader"] == "'@SUM(1+1)" and first["tags"] == "'+cmd \tTAB"
    errors = json.loads((out / "errors.json").read_text())
    assert errors["misclassified"][0]["title"] == HOSTILE["title"]  # JSON keeps the data as is


def test_slices_markdown_rows_keep_their_columns(hostile_evaluation):
    _, out = hostile_evaluation
    markdown = (out / "slices.md").read_text()
    assert "<b>" not in markdown and "&lt;b&gt;" in markdown
    table = [line for line in markdown.splitlines() if line.startswith("|")]
    for line in table:
        cells = line.replace("\\|", "").split("|")
        assert len(cells) == 8, line  # 6 columns, no cell split by a pipe or a newline
    assert any(r"dog\|cat" in line for line in table)
