"""The documentation a newcomer reads: a short README, and every link and path in the docs real.

README.md stays at most 300 lines (detail lives in focused pages under ``docs/``). Every relative
Markdown link in README.md and ``docs/*.md`` names a file that exists and, with ``#anchor``, a
heading of that file; every repository path written in backticks (``components/audio/wav.py``)
exists; and every ``docs/<page>.md#anchor`` that code cites (a one-line reason pointing at a
measurement) names a real heading. The checks run on the repository and, so that they are known
to fail, on a small tree with one broken link, anchor and path.
"""

import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers.paths import ROOT

MAX_README_LINES = 300
# Top-level folders whose paths the docs cite; a backticked token starting with one is a path.
TOP_LEVEL = (
    ".ci",
    "benchmarks",
    "cli",
    "components",
    "demo_data",
    "docker",
    "docs",
    "k8s",
    "notebooks",
    "pipelines",
    "scripts",
    "serving",
    "tests",
)
PLACEHOLDER = re.compile(r"[<>{}*\[\]$…]|\.\.\.")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
LINK = re.compile(r"\]\(([^)\s]+)\)")
BACKTICKED = re.compile(r"`([^`\n]+)`")
CITED_PAGE = re.compile(r"\bdocs/([\w-]+\.md)#([\w-]+)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = heading.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """The anchors of a Markdown page's headings (a repeated one gets ``-1``, ``-2``, ...)."""
    found: set[str] = set()
    for line in FENCE.sub("", page.read_text()).splitlines():
        if line.startswith("#"):
            base = slug(line.lstrip("#"))
            name, count = base, 0
            while name in found:
                count += 1
                name = f"{base}-{count}"
            found.add(name)
    return found


def link_problems(page: Path) -> list[str]:
    """Relative links of ``page`` whose file or heading does not exist."""
    problems = []
    for target in LINK.findall(FENCE.sub("", page.read_text())):
        if re.match(r"^[a-z]+:", target):  # https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        linked = (page.parent / path_part).resolve() if path_part else page
        if not linked.exists():
            problems.append(f"{page.name}: link to missing {target}")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            problems.append(f"{page.name}: no heading #{anchor} in {linked.name}")
    return problems


def path_problems(page: Path, root: Path) -> list[str]:
    """Backticked repository paths in ``page`` that do not exist under ``root``."""
    problems = []
    for token in BACKTICKED.findall(FENCE.sub("", page.read_text())):
        candidate = token.split()[0].rstrip(".,:;)")
        if "/" not in candidate or not candidate.startswith(TOP_LEVEL):
            continue
        if PLACEHOLDER.search(candidate) or "#" in candidate:
            continue
        if not (root / candidate).exists():
            problems.append(f"{page.name}: `{candidate}` does not exist")
    return problems


def cited_anchor_problems(source: Path, root: Path) -> list[str]:
    """``docs/<page>.md#anchor`` citations in ``source`` whose page or heading does not exist."""
    problems = []
    for page_name, anchor in CITED_PAGE.findall(source.read_text()):
        page = root / "docs" / page_name
        if not page.exists() or anchor not in anchors(page):
            problems.append(f"{source.relative_to(root)}: docs/{page_name}#{anchor} not found")
    return problems


def pages(root: Path) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def test_readme_is_at_most_300_lines():
    lines = len((ROOT / "README.md").read_text().splitlines())
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines: move detail into docs/"


@pytest.mark.parametrize("page", pages(ROOT), ids=lambda page: page.name)
def test_every_link_and_path_in_the_docs_exists(page):
    assert link_problems(page) + path_problems(page, ROOT) == []


def test_every_docs_anchor_cited_in_code_exists():
    tracked = subprocess.run(
        ["git", "ls-files", "*.py", "Makefile", "*.sh", "*.yaml", "*.toml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    problems = [p for name in tracked for p in cited_anchor_problems(ROOT / name, ROOT)]
    assert problems == []


def test_a_broken_link_anchor_path_or_citation_is_found(tmp_path):
    page = "docs/page.md"  # spelt apart so that this module cites no page itself
    (tmp_path / "docs").mkdir()
    (tmp_path / "components").mkdir()
    (tmp_path / "components" / "real.py").write_text(f"# see {page}#gone\n")
    (tmp_path / page).write_text("# A page\n\n## Real heading\n")
    readme = tmp_path / "README.md"
    readme.write_text(
        f"[ok]({page}#real-heading) [ok]({page}) [web](https://example.com)\n"
        "`components/real.py` `components/<step>/core.py` `runs/demo/x`\n"
        f"[gone](docs/missing.md) [anchor]({page}#no-such-heading)\n"
        "`components/missing.py`\n"
        "```\n[in a fence](docs/nowhere.md) `components/fenced.py`\n```\n"
    )
    assert link_problems(readme) == [
        "README.md: link to missing docs/missing.md",
        "README.md: no heading #no-such-heading in page.md",
    ]
    assert path_problems(readme, tmp_path) == ["README.md: `components/missing.py` does not exist"]
    assert cited_anchor_problems(tmp_path / "components" / "real.py", tmp_path) == [
        f"components/real.py: {page}#gone not found"
    ]
