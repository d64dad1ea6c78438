"""Texts for people, not for engineers: what residents and staff read says what happened
in their words — no raw text keys, no rule ids for residents, the estate's own limits."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bot.i18n import catalogs
from handlers import limits
from procedures.deadlines import Duration
from tests.conftest import OWNER_PHONE, World
from tests.support.app import configure_estates, services_of, sweeper_of
from tests.support.cases import PNG, file_complaint, file_request, latest_case
from tests.support.telegram import Group, Harness, Person


async def test_q1_the_case_timeline_names_photos_the_system_and_the_clock_missed(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """/case: a photo attached, the bot's own steps and a missed clock (Q-1) read as words,
    never as ``evidence.attached`` or ``system``."""
    await file_request(owner, photo=True)
    case = await latest_case(world)
    later = case.accepted_at + timedelta(minutes=11)
    await sweeper_of(world, clock=lambda: later).sweep()
    await services_of(world).deliver()
    assistant = bot.person(9001, "周晓梅")
    await assistant.send(f"/case {case.number}")
    timeline = assistant.last_text.split("处理记录", 1)[1]
    assert "evidence." not in timeline and "system" not in timeline
    assert "王伟 · 附上照片" in timeline
    assert "系统 · 超时：Q-1 10 分钟内转交" in timeline


async def test_q1_residents_and_staff_read_the_estates_own_referral_limit(
    world: World, bot: Harness, groups: dict[str, Group]
) -> None:
    """Q-1 set to 15 minutes: the resident's receipt, the first responder's card and the
    clock on /case say 15 minutes (not the manual's 10), each in the reader's language."""
    configure_estates(world, {"estates": {"阳光花园": {"rules": {"Q-1": {"due": "15m"}}}}})
    owner = bot.person(2001, "王伟", phone=OWNER_PHONE, language_code="en")
    await owner.send("/start")
    await owner.share_contact()
    await owner.send("/request")
    await owner.tap("Repairs")
    await owner.tap("阳光花园 · 1栋 101")
    await owner.send("The kitchen pipe leaks")
    await owner.tap("Normal")
    assert "within 15 minutes" in owner.last_text and "10 minutes" not in owner.last_text
    assert "请在 15 分钟内处理或转交" in groups["cs"].last_text
    case = await latest_case(world)
    assistant = bot.person(9001, "周晓梅")
    await assistant.send(f"/case {case.number}")
    assert "Q-1 15 分钟内转交" in assistant.last_text
    assert "Q-4 1 天内处理并答复" in assistant.last_text  # 24 hours read as a day


async def test_c5_the_same_event_window_named_is_the_estates(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """C-5: "complaints about one event at the same time" = within the estate's window."""
    configure_estates(world, {"estates": {"阳光花园": {"same_event_window": "12h"}}})
    await file_complaint(owner)
    await bot.person(9001, "周晓梅").tap("🔗 同一事件", chat=groups["cs"])
    assert "12 小时内没有其他投诉可关联" in groups["cs"].last_text


@pytest.mark.parametrize(
    ("locale", "due", "working", "said"),
    [
        ("zh-Hans", "10m", False, "10 分钟"),
        ("zh-Hans", "24h", False, "1 天"),
        ("zh-Hans", "7d", False, "1 周"),
        ("zh-Hans", "36h", False, "36 小时"),
        ("zh-Hans", "1wd", False, "1 个工作日"),
        ("zh-Hans", "5m", True, "工作时间 5 分钟"),
        ("zh-Hant", "2h", True, "2 個工作小時"),
        ("en", "1m", False, "1 minute"),
        ("en", "15d", False, "15 days"),
        ("en", "2wd", False, "2 working days"),
    ],
)
def test_a_limit_reads_as_people_say_it(locale: str, due: str, working: bool, said: str) -> None:
    assert limits.span(locale, Duration.parse(due), working=working) == said


RULE_ID = re.compile(r"\b[A-Z]-\d")


def test_no_text_names_a_rule_id_but_the_managers_weekly_report() -> None:
    """Rule ids are the manual's engineers' words: staff read them on /case (as values, from
    the clocks), managers in the weekly report's per-rule figures; no notice says "(C-4)"."""
    named = {
        (locale, key)
        for locale, texts in catalogs().items()
        for key, text in texts.items()
        if RULE_ID.search(text) and not key.startswith("report.")
    }
    assert named == set()


async def test_a_resident_reads_no_rule_id_from_filing_to_rating(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """Everything a resident reads along a request (referred, taken, promised, progress,
    done, unsatisfied, done again, rated) and a complaint (classified, resolved, rated)."""
    assistant, engineer = bot.person(9001, "周晓梅"), bot.person(9003, "郑海")
    await file_request(owner, photo=True)
    await assistant.tap("➡️ 转交部门", chat=groups["cs"])
    await assistant.tap("工程部", chat=groups["cs"])
    await engineer.tap("🙋 接单", chat=groups["eng"])
    await engineer.tap("⏰ 约定完成时间", chat=groups["eng"])
    await engineer.tap("明天 12:00 前", chat=groups["eng"])
    card = groups["eng"].messages()[-1]["message_id"]
    await engineer.reply_to(card, "已到现场", chat=groups["eng"])
    await engineer.tap("✅ 已完成", chat=groups["eng"])
    await owner.tap("❌ 没有解决")
    await engineer.tap("🙋 接单", chat=groups["eng"])
    await engineer.tap("✅ 已完成", chat=groups["eng"])
    await owner.tap("✅ 已解决")
    await owner.tap("⭐⭐⭐⭐⭐")
    await file_complaint(owner)
    await bot.person(9007, "孙志远").tap("重要")
    await assistant.tap("✅ 当场解决", chat=groups["cs"])
    await owner.tap("✅ 已解决")
    await owner.tap("⭐⭐⭐")
    await owner.send("/my")
    read = owner.texts()
    assert len(read) > 20 and [t for t in read if RULE_ID.search(t)] == []


SETTINGS_TALK = re.compile(r"WUYE_|\.toml|\.env\b|配置|設定檔|config", re.IGNORECASE)


def test_only_the_admins_calendar_note_talks_of_the_settings_file() -> None:
    """What to put in the estates' settings file is the admins' business (the calendar
    note, sent to admins only: tests/test_calendar_watch.py); nobody else reads of it."""
    talking = {
        key
        for texts in catalogs().values()
        for key, text in texts.items()
        if SETTINGS_TALK.search(text)
    }
    assert talking == {"calendar.unknown_years"}


async def test_b4_one_closed_message_per_close_and_per_album_sent_after_it(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """B-4: the resident who rates hears "closed" once (the rating's own answer); a
    department's album replying to the card gets one answer, not one per photo, and once
    the case is closed its photos are not kept."""
    assistant, engineer, eng = bot.person(9001, "周晓梅"), bot.person(9003, "郑海"), groups["eng"]
    await file_request(owner)
    await assistant.tap("➡️ 转交部门", chat=groups["cs"])
    await assistant.tap("工程部", chat=groups["cs"])
    await engineer.tap("🙋 接单", chat=eng)
    card = eng.messages()[-1]["message_id"]

    async def album(name: str, photos: int) -> None:
        for _ in range(photos):
            bot.world.send_photo(
                engineer.user_id, eng.chat_id, PNG, reply_to=card, media_group_id=name
            )
        await bot.deliver()

    before = eng.mark()
    await album("before", 2)
    assert [t for t in eng.texts(before) if "已记录" in t] == [eng.last_text]
    case = await latest_case(world)
    assert len(await services_of(world).cases.photos(case.id)) == 2
    await engineer.tap("✅ 已完成", chat=eng)
    await owner.tap("✅ 已解决")
    await owner.tap("⭐⭐⭐⭐⭐")
    told = [t for t in owner.texts() if f"事项 {case.number} 已结案" in t]
    assert len(told) == 1 and told[0].startswith("感谢您的评价")  # the rating's own answer
    after = eng.mark()
    await album("after", 3)
    assert eng.texts(after) == [f"事项 {case.number} 已结案，不能再添加进展。"]
    assert len(await services_of(world).cases.photos(case.id)) == 2  # none kept after
