"""Storage owns every SQL statement of the application: the bot, handlers, procedures and
the sandbox hold none (they ask storage's repositories, which a PostgreSQL backend can later
replace without touching them)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: A string that is an SQL statement: a leading verb and one of its clauses.
SQL = re.compile(
    r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|PRAGMA|BEGIN|WITH)\b"
    r"(.|\n)*\b(FROM|INTO|SET|TABLE|WHERE|VALUES|INDEX|TRIGGER|IMMEDIATE|journal_mode)\b"
)


def sql_in(path: Path) -> list[str]:
    """The SQL statements written in a Python file (string literals, f-strings included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        text = None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif isinstance(node, ast.JoinedStr):
            parts = [v.value for v in node.values if isinstance(v, ast.Constant)]
            text = "".join(p for p in parts if isinstance(p, str))
        if not isinstance(node, ast.expr):
            continue
        if text is not None and SQL.search(text):
            found.append(f"{path.relative_to(path.parents[1])}:{node.lineno}: {text[:60]!r}")
    return found


def test_no_sql_outside_storage() -> None:
    found = [
        hit
        for package in ("bot", "handlers", "procedures", "sandbox")
        for path in sorted((ROOT / package).rglob("*.py"))
        for hit in sql_in(path)
    ]
    assert found == []


def test_the_check_finds_sql(tmp_path: Path) -> None:
    """The check above can fail: a handler with a query of its own is caught, a docstring
    that merely mentions updating is not."""
    (tmp_path / "handlers").mkdir()
    module = tmp_path / "handlers" / "x.py"
    module.write_text(
        '"""Update the case."""\n'
        'Q = "SELECT status FROM cases WHERE id = ?"\n'
        'def f(t):\n    return f"UPDATE cases SET {t} = ? WHERE id = ?"\n',
        encoding="utf-8",
    )
    assert {hit.split(":")[1] for hit in sql_in(module)} == {"2", "4"}
    assert any(sql_in(p) for p in (ROOT / "storage").rglob("*.py"))  # storage has them
