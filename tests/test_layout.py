"""The test suite's layout: helpers live in tests/support/, shared fixtures in conftest, and
no module of the suite imports a test module (one test file importing another runs the other's
fixtures under two names and ties both to the order pytest collects them in)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _is_test_module(name: str) -> bool:
    """``tests.test_cases``, ``tests.procedures.test_permissions`` (or a name inside one)."""
    parts = name.split(".")
    return parts[0] == "tests" and any(part.startswith("test_") for part in parts[1:])


def _imported(node: ast.Import | ast.ImportFrom, package: tuple[str, ...]) -> list[str]:
    """The modules (or names in them) an import statement in ``package`` reaches."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:  # relative: ``from .test_cases import x``, ``from . import test_cases``
        anchor = package[: len(package) - (node.level - 1)]
        module = ".".join([*anchor, *([node.module] if node.module else [])])
    else:
        module = node.module or ""
    return [module, *(f"{module}.{alias.name}" for alias in node.names)]


def imports_of_test_modules(root: Path) -> list[str]:
    """Every import of a test module in the Python files under ``root``/tests, anywhere in
    them (functions too), as ``path:line: module``."""
    found: list[tuple[str, int, str]] = []
    for path in sorted((root / "tests").rglob("*.py")):
        rel = path.relative_to(root)
        package = rel.with_suffix("").parts[:-1]
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                hits = [name for name in _imported(node, package) if _is_test_module(name)]
                if hits:
                    found.append((rel.as_posix(), node.lineno, hits[0]))
    return [f"{file}:{line}: {module}" for file, line, module in sorted(found)]


def test_no_test_module_imports_another() -> None:
    """A helper two test files need goes to tests/support/, a fixture to conftest."""
    assert imports_of_test_modules(ROOT) == []


def test_the_layout_check_finds_every_kind_of_import(tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    (tests / "support").mkdir(parents=True)
    (tests / "__init__.py").write_text("")
    (tests / "support" / "cases.py").write_text("from tests.test_cases import PNG\n")
    (tests / "test_ok.py").write_text(
        "import tests.conftest\n"
        "from tests.support.cases import file_request\n"
        "from tests import support\n"
        "from tests.support import testing\n"
    )
    (tests / "test_bad.py").write_text(
        "from tests.test_cases import groups, latest_case\n"
        "import tests.test_reports\n"
        "from tests import conftest, test_followups\n"
        "from .test_records import cs\n"
        "from . import test_answers\n"
        "\n"
        "\n"
        "def helper() -> None:\n"
        "    from tests.procedures.test_permissions import table\n"
    )
    assert imports_of_test_modules(tmp_path) == [
        "tests/support/cases.py:1: tests.test_cases",
        "tests/test_bad.py:1: tests.test_cases",
        "tests/test_bad.py:2: tests.test_reports",
        "tests/test_bad.py:3: tests.test_followups",
        "tests/test_bad.py:4: tests.test_records",
        "tests/test_bad.py:5: tests.test_answers",
        "tests/test_bad.py:9: tests.procedures.test_permissions",
    ]
