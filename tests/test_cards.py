"""Buttons: today's data follow ``<procedure>:<action>:<id>``, stay within Telegram's 64
bytes, and the buttons of earlier versions still sitting in chats are read as today's."""

from __future__ import annotations

import pytest

from handlers import cards
from tests.support.decisions import a_case, a_complaint


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("cs:resolve:12", ["rq", "resolve", "12"]),
        ("cs:back:12", ["rq", "menu", "12"]),
        ("cs:lk:12:13", ["cp", "lk", "12", "13"]),
        ("dp:back:12", ["rq", "dmenu", "12"]),
        ("dp:pr:12:today18", ["rq", "pr", "12", "today18"]),
        ("cx:ext:12:40", ["cp", "ext", "12", "40"]),
        ("op:w:12", ["cp", "op", "12"]),
        ("op:ok:12:abcd1234", ["cp", "ok", "12", "abcd1234"]),
        ("cb:s:12:5", ["cb", "s", "12", "5"]),
        ("rq:take:12", ["rq", "take", "12"]),
    ],
)
def test_earlier_buttons_are_read_as_todays(old: str, new: list[str]) -> None:
    assert cards.modern_data(old) == new


def test_every_keyboard_names_its_procedure_and_fits_telegrams_limit() -> None:
    big = 2**31 - 1
    cases = [
        a_case(id=big),
        a_case(id=big, status="referred"),
        a_case(id=big, status="in_progress"),
        a_case(id=big, status="done"),
        a_complaint(id=big),
        a_complaint(id=big, status="review", opinion="意见"),
    ]
    seen = set()
    for case in cases:
        for build in cards.KEYBOARDS.values():
            markup = build("zh-Hans", case, big)
            for row in markup.inline_keyboard if markup else ():
                for button in row:
                    data = str(button.callback_data)
                    assert len(data.encode()) <= 64, data
                    procedure, action, ident = data.split(":")[:3]
                    assert procedure in {"rq", "cp", "cb"} and ident == str(big), data
                    seen.add(f"{procedure}:{action}")
    assert {"rq:resolve", "rq:take", "cp:sev", "cp:ext", "cp:ok", "cb:call"} <= seen
