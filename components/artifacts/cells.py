"""Text cells of the human-readable artifacts: Markdown tables and CSV files built from metadata.

Clip metadata (titles, tags, uploaders, licenses, taxonomy rules) is free text from the dataset,
and it ends up in tables people open: Markdown in the Kubeflow UI and CSV in a spreadsheet.
``markdown_cell`` keeps such text inside its cell (``|`` escaped, newlines folded to spaces) and
inert (``& < >`` as HTML entities); ``csv_cell`` stops a spreadsheet from reading a cell as a
formula (OWASP's CSV injection rule: a text cell starting with ``= + - @``, tab or carriage return
gets a leading ``'``). The data files (JSON, JSON lines) keep the text as it is. These live in the
contracts package because every step that writes such a table imports it, and no step may import
another.
"""

import html
import re

_NEWLINES = re.compile(r"\r\n|\r|\n")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def markdown_cell(value: object) -> str:
    """``value`` as the text of one Markdown table cell (or list item), rendered as written."""
    text = html.escape(str(value), quote=False)
    return _NEWLINES.sub(" ", text).replace("|", "\\|")


def csv_cell(value: object) -> object:
    """``value`` with a ``'`` in front when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
