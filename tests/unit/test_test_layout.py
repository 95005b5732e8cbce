"""The tests' own layout: shared helpers in tests/helpers, no test module imports another.

Every module under ``tests/`` is a test module (``test_*.py``), a ``conftest.py`` (fixtures and
hooks only), a package ``__init__.py``, or a helper in ``tests/helpers/``. No module there imports
a test module or a ``conftest`` (absolute, relative or bare imports, at the top or inside a
function, and ``pytest_plugins`` entries alike), so what tests share has one home and a test
module can be moved or deleted on its own. The check is run on the repository and, so that it is
known to fail, on small trees with one planted violation each.
"""

import ast
from pathlib import Path

import pytest

from tests.helpers.paths import ROOT

HELPERS = "helpers"
ALLOWED_NAMES = ("conftest.py", "__init__.py")


def is_test_module_or_conftest(path: Path) -> bool:
    return path.name == "conftest.py" or path.name.startswith("test_")


def imported_names(tree: ast.Module) -> set[tuple[str, int]]:
    """Every module a file names, as ``(dotted name, relative level)``, with ``from A import B``
    naming both ``A`` and ``A.B`` (``B`` may be a module); ``pytest_plugins`` strings count too."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {(alias.name, 0) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            names.add((base, node.level))
            names |= {(f"{base}.{a.name}".lstrip("."), node.level) for a in node.names}
        elif isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "pytest_plugins"
            for target in node.targets
        ):
            names |= {
                (constant.value, 0)
                for constant in ast.walk(node.value)
                if isinstance(constant, ast.Constant) and isinstance(constant.value, str)
            }
    return names


def resolve(name: str, level: int, importer: Path, root: Path) -> list[Path]:
    """The files under ``root`` that ``name`` may load: from the repository root (how the tests
    import), relative to the importer's package, or bare from the importer's folder (pytest's
    rootdir-based ``sys.path`` insertion)."""
    parts = [part for part in name.split(".") if part]
    if level:
        bases = [importer.parents[level - 1]]
    else:
        bases = [root, importer.parent]
    files = []
    for base in bases:
        stem = base.joinpath(*parts) if parts else base
        files += [stem.with_suffix(".py"), stem / "__init__.py"] if parts else [stem]
    return [path for path in files if path.is_file()]


def violations(root: Path) -> list[str]:
    """What breaks the layout under ``root/tests``, one line each (empty when nothing does)."""
    tests = root / "tests"
    found = []
    for path in sorted(tests.rglob("*.py")):
        relative = path.relative_to(root)
        in_helpers = relative.parts[1] == HELPERS
        if in_helpers and is_test_module_or_conftest(path):
            found.append(f"{relative}: tests/helpers holds helpers only, not tests or fixtures")
        if not in_helpers and not (path.name.startswith("test_") or path.name in ALLOWED_NAMES):
            found.append(f"{relative}: a helper outside tests/helpers (move it there)")
        tree = ast.parse(path.read_text(), str(path))
        for name, level in sorted(imported_names(tree)):
            for target in resolve(name, level, path, root):
                if is_test_module_or_conftest(target) and target != path:
                    found.append(
                        f"{relative}: imports {target.relative_to(root)} "
                        "(shared code belongs in tests/helpers, fixtures in a conftest.py)"
                    )
    return found


def test_no_test_module_imports_another_or_a_conftest():
    assert violations(ROOT) == []


def plant(root: Path, files: dict[str, str]) -> Path:
    """A small tests tree: a package with a conftest, a helper and two test modules, plus
    ``files`` (relative path → source) written over it."""
    tree = {
        "tests/__init__.py": "",
        "tests/conftest.py": "import pytest\n",
        "tests/helpers/__init__.py": "",
        "tests/helpers/audio.py": "def tone():\n    return 1\n",
        "tests/unit/__init__.py": "",
        "tests/unit/test_a.py": "from tests.helpers.audio import tone\n\n\ndef helper():\n"
        "    return tone()\n",
        "tests/unit/test_b.py": "import pytest\n",
        **files,
    }
    for relative, source in tree.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return root


def test_a_clean_tree_passes(tmp_path):
    assert violations(plant(tmp_path, {})) == []


B = "tests/unit/test_b.py"
A_IMPORTED = "imports tests/unit/test_a.py"
CONFTEST_IMPORTED = "imports tests/conftest.py"
PLANTED = {
    "absolute": (B, "from tests.unit.test_a import helper\n", A_IMPORTED),
    "module from package": (B, "from tests.unit import test_a\n", A_IMPORTED),
    "import statement": (B, "import tests.unit.test_a\n", A_IMPORTED),
    "relative": (B, "from .test_a import helper\n", A_IMPORTED),
    "relative module": (B, "from . import test_a\n", A_IMPORTED),
    "bare": (B, "import test_a\n", A_IMPORTED),
    "inside a function": (B, "def f():\n    from tests.unit.test_a import helper\n", A_IMPORTED),
    "conftest": (B, "from tests.conftest import pytest\n", CONFTEST_IMPORTED),
    "relative conftest": (B, "from ..conftest import pytest\n", CONFTEST_IMPORTED),
    "plugin": ("tests/conftest.py", 'pytest_plugins = ["tests.unit.test_a"]\n', A_IMPORTED),
    "from a helper": ("tests/helpers/audio.py", "from tests.unit.test_a import x\n", A_IMPORTED),
    "loose helper": ("tests/unit/shared.py", "X = 1\n", "a helper outside tests/helpers"),
    "test in helpers": ("tests/helpers/test_c.py", "X = 1\n", "tests/helpers holds helpers only"),
}


@pytest.mark.parametrize("case", sorted(PLANTED))
def test_each_planted_violation_is_found(tmp_path, case):
    relative, source, expected = PLANTED[case]
    (found,) = violations(plant(tmp_path, {relative: source}))
    assert found.startswith(f"{relative}: ") and expected in found, found
