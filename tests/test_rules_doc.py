"""docs/rules.md is generated from the source and kept fresh, and every rule the code
implements has a test that names it; the scanner itself, on a small tree of its own."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.__main__ import main as cli
from bot.rules_doc import COMMAND, OUTPUT, ROOT, main, render, rules_in_name, scan
from procedures.rule_ids import RuleId


def test_the_committed_rules_doc_is_fresh() -> None:
    committed = (ROOT / OUTPUT).read_text(encoding="utf-8")
    fresh = render(scan(ROOT))
    assert committed == fresh, f"{OUTPUT.as_posix()} is stale: run `{COMMAND}`"


def test_every_implemented_rule_has_a_test() -> None:
    untested = scan(ROOT).untested
    assert not untested, (
        f"implemented rules no test names: {', '.join(untested)} (name the rule in a test's "
        "name like test_c12_…, its docstring or a comment inside it)"
    )


def test_the_command_line_checks_the_committed_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["rules-doc", "--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def write(root: Path, rel: str, source: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source), encoding="utf-8")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small source tree: two enforcing modules, a handler, the rule ids and tests."""
    write(
        tmp_path,
        "procedures/thing.py",
        '''
        """A module of rules."""

        NOTE = "X-9, S-99, 2026-11-27 and XQ-20261127-0001 are not rules"


        def check_reply(x: int) -> int:
            y = x + 1
            # C-12: the day runs from the acceptance
            return y


        class Table:
            def row(self) -> object:
                return RuleId.Q1_SOMETHING if False else RuleId.Q1
        ''',
    )
    write(tmp_path, "bot/clock.py", 'CLOCK = "C-12-important"\n')
    write(tmp_path, "procedures/rule_ids.py", '"""Every id: H-1, H-2, R-4."""\n')
    write(
        tmp_path,
        "handlers/chat.py",
        '''
        async def on_tap() -> None:
            """The supervisor decides the nature (C-4)."""
        ''',
    )
    write(
        tmp_path,
        "tests/test_thing.py",
        '''
        def test_c12_x() -> None:
            pass


        def test_other() -> None:
            # proves Q-1
            pass


        def test_unrelated() -> None:
            """Names X-9 only."""


        def helper_c4() -> None:
            """Not a test, though it names C-4."""


        class TestGroup:
            def test_more(self) -> None:
                """C-12 again."""
        ''',
    )
    return tmp_path


def test_the_scanner_places_each_mention_and_finds_its_tests(tree: Path) -> None:
    result = scan(tree)
    assert result.implemented == [RuleId.Q1, RuleId.C4, RuleId.C12]
    c12, q1, c4 = (result.rules[r] for r in (RuleId.C12, RuleId.Q1, RuleId.C4))
    # a comment inside a function is that function's; a clock's id at module level, the file's
    assert [str(p) for p in c12.enforced] == ["bot/clock.py", "procedures/thing.py::check_reply"]
    assert [str(p) for p in q1.enforced] == ["procedures/thing.py::Table.row"]
    assert [str(p) for p in c4.enforced] == []
    assert [str(p) for p in c4.chat] == ["handlers/chat.py::on_tap"]
    # a test's name, docstring or comment names the rule it proves; a helper is no test
    assert [t.node for t in c12.tests] == [
        "tests/test_thing.py::test_c12_x",
        "tests/test_thing.py::TestGroup::test_more",
    ]
    assert [t.node for t in q1.tests] == ["tests/test_thing.py::test_other"]
    assert result.untested == [RuleId.C4]
    # rule_ids.py names every rule but implements none
    assert RuleId.H1 in result.not_implemented and RuleId.R4 in result.not_implemented
    text = render(result)
    assert "| C-4 | — | `handlers/chat.py::on_tap` | **none** |" in text
    assert "X-9" not in text and "S-99" not in text


def test_a_rule_in_a_test_name_is_a_whole_token() -> None:
    assert rules_in_name("test_c12_x") == [RuleId.C12]
    assert rules_in_name("test_c_12_x") == [RuleId.C12]
    assert rules_in_name("test_C12") == [RuleId.C12]
    assert rules_in_name("test_b1_b2_both") == [RuleId.B1, RuleId.B2]
    assert rules_in_name("test_abc12_x") == []
    assert rules_in_name("test_c123") == []
    assert rules_in_name("test_x9") == []


def test_the_command_writes_and_checks_the_file(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(check=True, root=tree) == 1  # not written yet
    assert main(root=tree) == 0
    assert main(check=True, root=tree) == 0
    write(tree, "handlers/chat.py", "async def on_tap() -> None:\n    pass  # A-1\n")
    assert main(check=True, root=tree) == 1
    assert COMMAND in capsys.readouterr().err
    assert main(root=tree) == 0
    assert "`handlers/chat.py::on_tap`" in (tree / OUTPUT).read_text(encoding="utf-8")


def test_a_rule_named_only_as_a_clock_is_listed_apart_not_as_implemented(tree: Path) -> None:
    """The daily patrol's rule has a clock in the deadline table and nothing else: no chat
    step leads to it and no test proves it, so it is neither implemented nor owed a test;
    the doc says it is a clock only. A rule without a clock named the same way (a gate
    rule) is implemented and untested; once a handler names the clock's rule, it is
    implemented and needs its test. (Rule ids stay out of this docstring: the scanner of
    the real tree would take them for this test's proofs.)"""
    write(tree, "procedures/table.py", 'PATROL = "R-14"  # the day\'s patrol\nGATE = "S-1"\n')
    result = scan(tree)
    assert result.clocks_only == [RuleId.R14]
    assert RuleId.R14 not in result.implemented and RuleId.R14 not in result.not_implemented
    assert result.untested == [RuleId.C4, RuleId.S1]
    text = render(result)
    assert "## Clocks only: the procedure is not built" in text
    assert "| R-14 | `procedures/table.py` |" in text
    assert "## R — Renovation" not in text
    write(tree, "handlers/patrol.py", 'async def on_patrol() -> None:\n    """R-14."""\n')
    result = scan(tree)
    assert result.clocks_only == [] and RuleId.R14 in result.untested
    assert "Clocks only" not in render(result)
