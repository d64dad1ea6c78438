"""``docs/rules.md``, generated from the source: for each rule of the manual the code names,
where it is enforced, the chat step that leads to it and the tests that prove it.

Nothing here knows where things are: it scans the source. A rule is *mentioned* where a
comment, a docstring or any string holds its id as a token (a clock's id like
``C-12-important`` names its rule), or where the code uses a ``RuleId`` member
(``RuleId.C12_IMPORTANT`` names the same rule); only ids that are ``RuleId`` members count.

* **Implemented**: mentioned in shipped code (``procedures/``, ``storage/``, ``bot/``,
  ``handlers/``), leaving out ``procedures/rule_ids.py`` and this file.
* **Clocks only**: a rule the deadline table times (``procedures.rule_ids.CLOCKS``) that no
  chat step names and no test proves: its clock and the working-day calendar exist (R-4 and
  R-14 ahead of renovation), the procedure does not. It is listed apart, never as implemented;
  once a handler names it, it is implemented and needs its test.
* **Enforced at**: the mentions in ``procedures/``, ``storage/`` and ``bot/``, each as
  ``path::function``, the innermost enclosing ``def`` or ``class`` (just the path at module
  level).
* **Chat step**: the mentions in ``handlers/``, the same way.
* **Proved by**: the tests under ``tests/`` whose name (``test_c12_…``), docstring, or a
  comment inside the test function names the rule.

``python -m bot rules-doc`` writes the file; ``--check`` exits 1 when it is stale.
``tests/test_rules_doc.py`` compares it byte for byte and fails when an implemented rule has
no test.
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from procedures.rule_ids import CLOCKS, RuleId

#: The repository this module belongs to.
ROOT = Path(__file__).resolve().parents[1]
#: The generated file, relative to the root.
OUTPUT = Path("docs") / "rules.md"
COMMAND = "python -m bot rules-doc"

#: Shipped code that enforces rules, and the chat handlers that lead to them.
ENFORCING = ("procedures", "storage", "bot")
CHAT = ("handlers",)
#: Files that name every rule without enforcing any.
NOT_SCANNED = frozenset({"procedures/rule_ids.py", "bot/rules_doc.py"})
TESTS = "tests"
#: How many tests a rule's row names before it only counts the rest.
TESTS_SHOWN = 5
#: The manual's rules the deadline table runs a clock for.
CLOCK_RULES = frozenset(r.manual_rule for r in CLOCKS)

#: The manual's families in its own order, with their part of PROCEDURES.md.
FAMILIES: tuple[tuple[str, str], ...] = (
    ("H", "House handover (P1)"),
    ("R", "Renovation (P2)"),
    ("M", "Move-in (P3)"),
    ("G", "Goods exit pass (P4)"),
    ("V", "Visits and calls (P5)"),
    ("Q", "Requests and suggestions (P6)"),
    ("C", "Complaints (P7)"),
    ("B", "Callbacks (P8)"),
    ("A", "Customer visits (P9)"),
    ("S", "Security gate"),
)

#: A rule id in text: ``C-12``, also inside ``C-12-important``; never part of a longer word
#: (``XQ-20261127`` is a case number), Chinese around it allowed.
RULE_IN_TEXT = re.compile(r"\b([HRMGVQCBAS])-(\d{1,2})\b", re.ASCII)
#: A rule id in a function's name: ``c12``, ``c_12``, ``C12`` as a whole token of it.
RULE_IN_NAME = re.compile(
    r"(?<![A-Za-z0-9])([HRMGVQCBAS])[-_]?(\d{1,2})(?![A-Za-z0-9])", re.IGNORECASE
)

_VALUES = {r.value: r for r in RuleId}


def _rule(family: str, number: str) -> RuleId | None:
    found = _VALUES.get(f"{family.upper()}-{number}")
    return found.manual_rule if found is not None else None


def rules_in_text(text: str) -> list[RuleId]:
    """The manual's rules ``text`` names, in order (a clock's id names its rule)."""
    return [r for m in RULE_IN_TEXT.finditer(text) if (r := _rule(m[1], m[2])) is not None]


def rules_in_name(name: str) -> list[RuleId]:
    """The manual's rules a function's name names (``test_c12_x`` → C-12)."""
    return [r for m in RULE_IN_NAME.finditer(name) if (r := _rule(m[1], m[2])) is not None]


@dataclass(frozen=True, order=True)
class Place:
    """Where a rule is mentioned: ``path::scope`` (scope empty at module level)."""

    path: str
    line: int
    scope: str

    def __str__(self) -> str:
        return f"{self.path}::{self.scope}" if self.scope else self.path


@dataclass(frozen=True)
class _Scope:
    first: int
    last: int
    name: str


def _scopes(tree: ast.Module) -> list[_Scope]:
    """Every def and class with its lines (decorators included) and qualified name."""
    found: list[_Scope] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                found.append(_Scope(first, child.end_lineno or child.lineno, name))
                visit(child, f"{name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def _innermost(scopes: list[_Scope], line: int) -> str:
    around = [s for s in scopes if s.first <= line <= s.last]
    return min(around, key=lambda s: s.last - s.first).name if around else ""


def _comments(source: str) -> Iterator[tuple[int, str]]:
    """Each comment of ``source`` with its line."""
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            yield token.start[0], token.string


def _parse(path: Path) -> tuple[str, ast.Module]:
    source = path.read_text(encoding="utf-8")
    return source, ast.parse(source, filename=str(path))


def mentions_in_module(path: Path, rel: str) -> list[tuple[RuleId, Place]]:
    """Every mention of a rule in one source file, each placed in its innermost scope."""
    source, tree = _parse(path)
    scopes = _scopes(tree)
    found: list[tuple[int, RuleId]] = []
    for line, comment in _comments(source):
        found += [(line, r) for r in rules_in_text(comment)]
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [(node.lineno, r) for r in rules_in_text(node.value)]
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == RuleId.__name__
            and node.attr in RuleId.__members__
        ):
            found.append((node.lineno, RuleId[node.attr].manual_rule))
    return sorted(
        ((rule, Place(rel, line, _innermost(scopes, line))) for line, rule in found),
        key=lambda item: (item[1], item[0].value),
    )


@dataclass(frozen=True)
class Proof:
    """One test function: its pytest node id and the rules it names."""

    node: str
    line: int
    rules: frozenset[RuleId]


def _test_functions(
    tree: ast.Module,
) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """pytest's test functions: ``test_*`` at module level or in a ``Test*`` class."""
    functions = ast.FunctionDef | ast.AsyncFunctionDef
    for node in tree.body:
        if isinstance(node, functions) and node.name.startswith("test"):
            yield node.name, node
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            for inner in node.body:
                if isinstance(inner, functions) and inner.name.startswith("test"):
                    yield f"{node.name}::{inner.name}", inner


def tests_in_module(path: Path, rel: str) -> list[Proof]:
    """The test functions of one file and the rules each names."""
    source, tree = _parse(path)
    comments = list(_comments(source))
    cases = []
    for name, func in _test_functions(tree):
        first = min([func.lineno, *(d.lineno for d in func.decorator_list)])
        last = func.end_lineno or func.lineno
        rules = set(rules_in_name(func.name))
        rules.update(rules_in_text(ast.get_docstring(func, clean=False) or ""))
        for line, comment in comments:
            if first <= line <= last:
                rules.update(rules_in_text(comment))
        cases.append(Proof(f"{rel}::{name}", func.lineno, frozenset(rules)))
    return cases


@dataclass
class RuleInfo:
    """One implemented rule: its places in the code and its tests."""

    enforced: list[Place] = field(default_factory=list)
    chat: list[Place] = field(default_factory=list)
    tests: list[Proof] = field(default_factory=list)


@dataclass
class Scan:
    """What the source says about every rule."""

    rules: dict[RuleId, RuleInfo]

    @property
    def clocks_only(self) -> list[RuleId]:
        """Rules the code names only as a clock of the deadline table (with the calendar
        that counts it): no chat step leads to them and no test proves them."""
        return [
            r
            for r in RuleId
            if r in self.rules
            and r in CLOCK_RULES
            and not self.rules[r].chat
            and not self.rules[r].tests
        ]

    @property
    def implemented(self) -> list[RuleId]:
        """Implemented rules in the manual's order (clocks only left out)."""
        only_clocks = set(self.clocks_only)
        return [r for r in RuleId if r in self.rules and r not in only_clocks]

    @property
    def untested(self) -> list[RuleId]:
        """Implemented rules that no test names."""
        return [r for r in self.implemented if not self.rules[r].tests]

    @property
    def not_implemented(self) -> list[RuleId]:
        """The manual's rules no shipped code names yet."""
        return [r for r in RuleId if r.manual_rule is r and r not in self.rules]


def _python_files(root: Path, top: str) -> Iterator[tuple[Path, str]]:
    base = root / top
    if not base.is_dir():
        return
    for path in sorted(base.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if "__pycache__" not in path.parts and rel not in NOT_SCANNED:
            yield path, rel


def _distinct(places: Iterable[Place]) -> list[Place]:
    """One place per ``path::scope``, in the order of their first mention."""
    seen: dict[str, Place] = {}
    for place in sorted(places):
        seen.setdefault(str(place), place)
    return list(seen.values())


def scan(root: Path = ROOT) -> Scan:
    """Read the source tree under ``root``."""
    enforced: dict[RuleId, list[Place]] = {}
    chat: dict[RuleId, list[Place]] = {}
    for tops, into in ((ENFORCING, enforced), (CHAT, chat)):
        for top in tops:
            for path, rel in _python_files(root, top):
                for rule, place in mentions_in_module(path, rel):
                    into.setdefault(rule, []).append(place)
    tests = [
        case
        for path, rel in _python_files(root, TESTS)
        if path.name.startswith("test_")
        for case in tests_in_module(path, rel)
    ]
    rules: dict[RuleId, RuleInfo] = {}
    for rule in RuleId:
        if rule in enforced or rule in chat:
            rules[rule] = RuleInfo(
                enforced=_distinct(enforced.get(rule, [])),
                chat=_distinct(chat.get(rule, [])),
                tests=[c for c in tests if rule in c.rules],
            )
    return Scan(rules)


def _cell(items: list[str]) -> str:
    return "<br>".join(f"`{item}`" for item in items) if items else "—"


def _tests_cell(tests: list[Proof]) -> str:
    if not tests:
        return "**none**"
    shown = _cell([t.node for t in tests[:TESTS_SHOWN]])
    rest = len(tests) - TESTS_SHOWN
    count = f"{len(tests)} test{'s' if len(tests) > 1 else ''}"
    return f"{count}:<br>{shown}" + (f"<br>… and {rest} more" if rest > 0 else "")


def render(result: Scan) -> str:
    """The text of ``docs/rules.md``: the same source gives the same bytes."""
    lines = [
        "# The manual's rules in the code",
        "",
        f"Generated from the source by `{COMMAND}` (bot/rules_doc.py): do not edit by hand.",
        "`make test` fails when this file is stale or when an implemented rule has no test.",
        "",
        "A rule is implemented when shipped code names it: its id in a comment, docstring or",
        "string (a clock's id such as `C-12-important` names its rule), or a `RuleId` member.",
        "**Enforced at**: the functions of procedures/, storage/ and bot/ that name it;",
        "**chat step**: those of handlers/; **proved by**: the tests whose name (`test_c12_…`),",
        "docstring or comments name it. Rule numbers are PROCEDURES.md's.",
    ]
    for family, title in FAMILIES:
        rules = [r for r in result.implemented if r.value.startswith(f"{family}-")]
        if not rules:
            continue
        lines += [
            "",
            f"## {family} — {title}",
            "",
            "| rule | enforced at | chat step | proved by |",
            "|---|---|---|---|",
        ]
        for rule in rules:
            info = result.rules[rule]
            enforced = _cell([str(p) for p in info.enforced])
            chat = _cell([str(p) for p in info.chat])
            lines.append(f"| {rule.value} | {enforced} | {chat} | {_tests_cell(info.tests)} |")
    if result.clocks_only:
        lines += [
            "",
            "## Clocks only: the procedure is not built",
            "",
            "The deadline table times these rules and the working-day calendar counts their",
            "days, but no chat step leads to them and no test proves them: nothing enforces",
            "them yet. **Named at**: where shipped code names them.",
            "",
            "| rule | named at |",
            "|---|---|",
        ]
        for rule in result.clocks_only:
            named = _cell([str(p) for p in result.rules[rule].enforced])
            lines.append(f"| {rule.value} | {named} |")
    lines += ["", "## Not implemented yet", ""]
    missing = result.not_implemented
    for family, title in FAMILIES:
        ids = [r.value for r in missing if r.value.startswith(f"{family}-")]
        if ids:
            lines.append(f"- {title}: {', '.join(ids)}")
    if not missing:
        lines.append("Every rule of the manual is named in the code.")
    return "\n".join(lines) + "\n"


def main(*, check: bool = False, root: Path = ROOT) -> int:
    """Write ``docs/rules.md`` under ``root``; with ``check``, only compare (1 when stale)."""
    target = root / OUTPUT
    result = scan(root)
    text = render(result)
    if check:
        current = target.read_text(encoding="utf-8") if target.is_file() else None
        if current != text:
            print(f"{OUTPUT.as_posix()} is stale: run `{COMMAND}`", file=sys.stderr)
            return 1
        print(f"{OUTPUT.as_posix()} is up to date.")
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8", newline="\n")
    print(
        f"{OUTPUT.as_posix()}: {len(result.implemented)} rules implemented, "
        f"{len(result.untested)} without a test, {len(result.clocks_only)} clocks only, "
        f"{len(result.not_implemented)} not yet."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(check="--check" in sys.argv[1:]))
