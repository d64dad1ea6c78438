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


@pytest.fixture
def linked(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cards name the bot in their links (as the app sets at start-up)."""
    monkeypatch.setattr(cards, "_bot_username", "")
    cards.use_bot_username("@wuye_test_bot")


@pytest.mark.usefixtures("linked")
def test_every_keyboard_names_its_procedure_and_fits_telegrams_limit() -> None:
    big = 2**31 - 1
    cases = [
        a_case(id=big),
        a_case(id=big, status="referred"),
        a_case(id=big, status="in_progress"),
        a_case(id=big, status="done"),
        a_complaint(id=big),
        a_complaint(id=big, status="review", opinion="意见"),
        a_complaint(id=big, status="review", severity="minor", reply_draft="答复"),
        a_complaint(id=big, status="review", severity="minor", reply_draft="答复", approved_by=8),
        a_complaint(id=big, status="referred", severity="major"),
        a_complaint(id=big, status="referred", severity="important"),
    ]
    seen = set()
    for case in cases:
        for build in cards.KEYBOARDS.values():
            markup = build("zh-Hans", case, big)
            for row in markup.inline_keyboard if markup else ():
                for button in row:
                    if button.url is not None:  # a link has no callback data
                        assert button.callback_data is None and str(big) in button.url
                        continue
                    data = str(button.callback_data)
                    assert len(data.encode()) <= 64, data
                    procedure, action, ident = data.split(":")[:3]
                    assert procedure in {"rq", "cp", "cb"} and ident == str(big), data
                    seen.add(f"{procedure}:{action}")
    assert {
        "rq:resolve", "rq:take", "cp:sev", "cp:up", "cp:down", "cp:ext", "cp:op", "cp:dr",
        "cp:ok", "cp:dv", "cp:ans", "cb:call",
    } <= seen  # fmt: skip


@pytest.mark.parametrize("locale", ["zh-Hans", "zh-Hant", "en"])
def test_every_event_of_a_case_has_a_name_on_the_timeline(locale: str) -> None:
    """/case names each event in the reader's language, never by its raw key: every move
    (case.<action>) and every event a procedure records without one."""
    from bot.i18n import catalogs
    from procedures.cases import Action
    from storage.audit import ERASURE_EVENT
    from storage.evidence import ATTACHED, DISPLAYED

    events = {f"case.{a.value}" for a in Action} | {
        "case.filed", "case.made_major", "case.deadline_missed", "case.linked",
        "case.comment", "case.extended", "case.callback_unreachable",
        ATTACHED, DISPLAYED, ERASURE_EVENT,  # a case's photos, and erasure (PIPL)
    }  # fmt: skip
    texts = catalogs()[locale]
    missing = sorted(e for e in events if "event." + e.replace(".", "_") not in texts)
    assert missing == []


def test_clocks_are_named_by_the_manuals_rule() -> None:
    assert cards.manual_rule("V-1-first-response") == "V-1"
    assert cards.manual_rule("C-12-important") == "C-12"
    assert cards.manual_rule("Q-4") == "Q-4"
    assert cards.manual_rule("X-clock") == "X-clock"


@pytest.mark.usefixtures("linked")
def test_the_department_card_links_to_the_private_chat_while_the_case_is_with_it() -> None:
    """The department's card carries "✍️ 回复业主", a t.me deep link (a URL button) that
    opens the private chat with ``/start r<case id>``, while it is referred or in progress;
    other cards have no link."""
    for status in ("referred", "in_progress"):
        markup = cards.department_keyboard("zh-Hans", a_case(id=42, status=status))
        assert markup is not None
        last = markup.inline_keyboard[-1]
        assert [(b.text, b.url, b.callback_data) for b in last] == [
            ("✍️ 回复业主", "https://t.me/wuye_test_bot?start=r42", None)
        ]
    english = cards.department_keyboard("en", a_case(id=42, status="referred"))
    assert english is not None and english.inline_keyboard[-1][0].text == "✍️ Reply to owner"
    assert cards.department_keyboard("zh-Hans", a_case(id=42, status="done")) is None
    responder = cards.first_responder_keyboard("zh-Hans", a_case(id=42, status="referred"))
    assert responder is not None
    assert all(b.url is None for row in responder.inline_keyboard for b in row)


def test_no_link_while_the_bot_is_nameless(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before the bot knows its @username the card has its buttons and no broken link."""
    monkeypatch.setattr(cards, "_bot_username", "")
    markup = cards.department_keyboard("zh-Hans", a_case(id=42, status="referred"))
    assert markup is not None
    assert [[b.text for b in row] for row in markup.inline_keyboard] == [
        ["🙋 接单"],
        ["⏰ 约定完成时间"],
    ]
