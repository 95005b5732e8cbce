"""components.artifacts.cells: Markdown and CSV cells built from free-text metadata."""

import pytest

from components.artifacts.cells import csv_cell, markdown_cell
from components.featurize import report as featurize_report
from components.featurize.core import FeaturizeResult
from components.ingest import report as ingest_report


def test_markdown_cell_escapes_pipes_html_and_newlines():
    assert markdown_cell("a|b") == "a\\|b"
    assert (
        markdown_cell("<img src=x onerror=alert(1)>&") == "&lt;img src=x onerror=alert(1)&gt;&amp;"
    )
    assert markdown_cell("one\r\ntwo\nthree\rfour") == "one two three four"
    assert markdown_cell(3) == "3"


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cell_neutralises_formula_starts(text):
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["plain", "", "a=1", 5, -3.5, None])
def test_csv_cell_leaves_other_values_alone(value):
    assert csv_cell(value) == value


def test_ingest_markdown_keeps_hostile_rules_and_tags_in_their_cells():
    report = {
        "clips": 1,
        "dataset": "ds|<x>",
        "taxonomy": {"name": "t\nx"},
        "normalize_tags": True,
        "seed": 0,
        "class_counts": {"train": {"dog": 1}, "all": {"dog": 1}},
        "rule_hits": {"r|<script>": 1},
        "tag_hits": {"r|<script>": {"a|b\nc": 1}},
        "ambiguous": {"by_classes": {"x|y": 1}},
        "rejects": {"by_reason": {}},
        "reassignments": {"by_reason": {}},
    }
    text = ingest_report.markdown(report)
    assert "<script>" not in text and "<x>" not in text
    row = next(line for line in text.splitlines() if line.startswith("| r"))
    assert len(row.replace("\\|", "").split("|")) == 5  # 3 cells


def test_featurize_markdown_keeps_a_hostile_dead_letter_in_its_row():
    result = FeaturizeResult(
        clips_per_split={"train": 1},
        dead_letter_per_reason={"decode": 1},
        seconds=0.0,
        output_dir="out",
        transform_graph_dir="out/transform",
        dead_letter_examples=[
            {"clip_id": "c|1", "split": "train", "reason": "decode", "detail": "bad\n<b>|</b>"}
        ],
    )
    rows = [line for line in featurize_report.markdown(result).splitlines() if "decode" in line]
    assert rows == ["| c\\|1 | train | decode | bad &lt;b&gt;\\|&lt;/b&gt; |"]
