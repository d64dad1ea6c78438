"""The weekly summary (Q-5, C-15, B-5): when it is due, what it counts, who gets it, and that
each estate gets each week's summary exactly once — also across restarts and downtime."""

from __future__ import annotations

import asyncio
import io
import json
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook

from bot.demo import DEMO_ESTATE
from bot.reports import OVERDUE_LINES, render_weekly, send_due_weekly, split_text
from procedures.calendar import WorkingCalendar
from procedures.cases import Action, Kind
from procedures.deadlines import load_estate
from procedures.reports import (
    CaseFacts,
    DeadlineFacts,
    Overdue,
    WeekSlot,
    is_late,
    latest_due,
    percent,
    summary_data,
    weekly_summary,
)
from storage.cases import Case
from storage.identity import IdentityStore
from storage.reports import ReportStore, SentReport
from tests.conftest import World
from tests.support.app import clock_of, services_of
from tests.support.reports import (
    NOT_RECIPIENTS,
    RECIPIENTS,
    deployed_at,
    estate_id,
    file,
    local,
    report_files,
    reports_in,
    step,
    sweep_at,
)
from tests.support.telegram import Group, Harness

# --- procedures.reports: which week is due (pure) ---------------------------------------


CAL = WorkingCalendar()


def test_q5_the_latest_friday_1700_at_or_before_now_is_due() -> None:
    before = latest_due(CAL, local(2026, 10, 16, 16, 59, 59))
    assert before is not None and before.period_start == date(2026, 10, 5)
    slot = latest_due(CAL, local(2026, 10, 16, 17))
    assert slot == WeekSlot(date(2026, 10, 12), local(2026, 10, 9, 17), local(2026, 10, 16, 17))
    assert slot.due_at.tzinfo is UTC
    # Saturday and Monday morning: still that week's report (sent late if it was missed).
    assert latest_due(CAL, local(2026, 10, 19, 9)) == slot
    assert not is_late(slot, local(2026, 10, 16, 17, 1))
    assert is_late(slot, local(2026, 10, 19, 9))


def test_q5_a_friday_holiday_moves_the_report_to_the_last_working_day_before_it() -> None:
    # 2026-10-01..07 National Day; 2026-09-25 (Fri) Mid-Autumn.
    slot = latest_due(CAL, local(2026, 10, 2, 17))
    assert slot is not None
    assert slot.period_start == date(2026, 9, 28)
    assert slot.due_at == local(2026, 9, 30, 17)  # Wednesday, the last working day
    assert slot.window_start == local(2026, 9, 24, 17)  # Thursday before Mid-Autumn
    # The next week's report counts from where this one ended: the holidays are covered.
    after = latest_due(CAL, local(2026, 10, 9, 17))
    assert after is not None and after.window_start == local(2026, 9, 30, 17)


def test_q5_a_week_without_a_working_day_has_no_report_and_the_next_covers_it() -> None:
    off = {date(2026, 11, 16) + timedelta(days=n) for n in range(5)}
    calendar = WorkingCalendar(extra_holidays=off)
    # Friday 17:00 of the closed week: the latest moment is still the week before.
    slot = latest_due(calendar, local(2026, 11, 20, 17))
    assert slot is not None and slot.period_start == date(2026, 11, 9)
    nxt = latest_due(calendar, local(2026, 11, 27, 17))
    assert nxt is not None and nxt.window_start == local(2026, 11, 13, 17)


def test_q5_no_report_of_a_week_before_the_estate_existed() -> None:
    assert latest_due(CAL, local(2026, 10, 19, 9), since=local(2026, 10, 16, 18)) is None
    slot = latest_due(CAL, local(2026, 10, 19, 9), since=local(2026, 10, 16, 16))
    assert slot is not None and slot.period_start == date(2026, 10, 12)


def test_q5_an_estate_weekday_and_time_are_used() -> None:
    slot = latest_due(CAL, local(2026, 10, 15, 12), 3, time(11, 30))
    assert slot is not None and slot.due_at == local(2026, 10, 15, 11, 30)


# --- procedures.reports: what the week counts (pure) ------------------------------------

START, END = local(2026, 10, 9, 17), local(2026, 10, 16, 17)


def fact(case_id: int, kind: str, status: str, accepted: datetime, **more: Any) -> CaseFacts:
    return CaseFacts(case_id, f"N{case_id}", kind, status, accepted, **more)


def test_c15_b5_counts_rates_callbacks_and_overdue() -> None:
    cases = [
        fact(1, "request", "closed", local(2026, 10, 12, 10), category="repairs",
             department="engineering", resolved_at=local(2026, 10, 13),
             closed_at=local(2026, 10, 14)),
        fact(2, "request", "new", local(2026, 10, 13, 9), category="cleaning"),
        fact(3, "complaint", "done", local(2026, 10, 14, 11), category="noise", severity="major",
             department="security", resolved_at=local(2026, 10, 15, 11)),
        fact(4, "complaint", "in_progress", local(2026, 10, 10, 8), category="parking",
             department="security"),
        fact(5, "request", "done", local(2026, 9, 1), category="repairs",
             resolved_at=local(2026, 10, 14)),
        fact(6, "complaint", "new", END, category="noise"),  # exactly at the moment: next week
    ]  # fmt: skip
    deadlines = [
        DeadlineFacts(1, "Q-1", local(2026, 10, 12, 10, 10), "met"),
        DeadlineFacts(1, "Q-4", local(2026, 10, 13, 10), "met"),
        DeadlineFacts(1, "B-1", local(2026, 10, 16, 10), "met"),
        DeadlineFacts(2, "Q-1", local(2026, 10, 13, 9, 10), "fired"),
        DeadlineFacts(2, "Q-4", local(2026, 10, 14, 9), "warned"),  # past due: missed
        DeadlineFacts(3, "Q-1", local(2026, 10, 14, 11, 10), "met"),
        DeadlineFacts(3, "C-14", local(2026, 10, 16, 11), "fired"),
        DeadlineFacts(4, "Q-1", local(2026, 10, 10, 8, 10), "met"),
        DeadlineFacts(4, "Q-4", local(2026, 10, 11, 8), "cancelled"),  # does not count
        DeadlineFacts(5, "B-1", local(2026, 10, 17), "pending"),
        DeadlineFacts(6, "Q-1", END + timedelta(minutes=10), "pending"),
    ]
    s = weekly_summary(cases, deadlines, start=START, end=END, as_of=END, rule_order=["Q-1", "Q-4"])
    assert s.filed == {"request": 2, "complaint": 2}
    assert s.severities == {"invalid": 0, "minor": 0, "important": 0, "major": 1,
                            "unclassified": 1}  # fmt: skip
    assert s.categories == {"repairs": 1, "cleaning": 1, "noise": 1, "parking": 1}
    assert s.departments == {"security": 2, "engineering": 1, None: 1}
    assert (s.done, s.closed, s.open_now) == (3, 1, 3)
    assert [(r.rule, r.met, r.missed, r.percent) for r in s.on_time] == [
        ("Q-1", 3, 1, 75), ("Q-4", 1, 1, 50), ("B-1", 1, 0, 100), ("C-14", 0, 1, 0),
    ]  # fmt: skip
    cb = s.callbacks
    assert (cb.completed, cb.called_back, cb.waiting, cb.missed, cb.percent) == (3, 1, 1, 1, 33)
    assert (s.complaint_callbacks.completed, s.complaint_callbacks.called_back) == (1, 0)
    assert [(o.number, o.rule) for o in s.overdue] == [("N2", "Q-1"), ("N2", "Q-4")]
    assert s.overdue[0].overdue_by == END - local(2026, 10, 13, 9, 10)
    json.dumps(summary_data(s), ensure_ascii=False, sort_keys=True)  # storable as is


def test_c15_percent_rounds_half_up_and_has_none_of_nothing() -> None:
    assert (percent(18, 20), percent(1, 3), percent(2, 3), percent(1, 8)) == (90, 33, 67, 13)
    assert percent(0, 0) is None


def test_c15_the_overdue_list_stops_at_15_lines() -> None:
    overdue = [
        Overdue(f"XQ-20261012-{n:04d}", "Q-1", START, timedelta(days=1, hours=n % 24))
        for n in range(1, 21)
    ]
    s = weekly_summary([], [], start=START, end=END, as_of=END)
    s = replace(s, overdue=overdue)
    slot = WeekSlot(date(2026, 10, 12), START, END)
    text = render_weekly("zh-Hans", "阳光花园", s, slot, load_estate(DEMO_ESTATE), late=False)
    assert sum("XQ-20261012-" in line for line in text.splitlines()) == OVERDUE_LINES
    assert "XQ-20261012-0015" in text and "XQ-20261012-0016" not in text
    assert text.endswith("… 另有 5 条")
    assert "超时 1 天 1 小时" in text


def test_q5_long_reports_are_split_at_line_breaks() -> None:
    text = "\n".join(f"line {n:04d} " + "x" * 90 for n in range(100))
    parts = split_text(text)
    assert len(parts) == 3 and all(len(p) <= 4096 for p in parts)
    assert "\n".join(parts) == text
    assert split_text("short") == ["short"]


# --- the bot: a week of cases, then Friday 17:00 ------------------------------------------
# (the ``week`` and ``management`` fixtures are conftest's; tests.support.reports files the
# cases and reads the reports)


async def sent(world: World) -> list[SentReport]:
    return await ReportStore(world.db).sent(await estate_id(world), "weekly")


async def test_q5_nothing_before_friday_1700(
    world: World, bot: Harness, week: dict[str, Case]
) -> None:
    leader = bot.person(9010, "赵总")
    assert await send_due_weekly(services_of(world), local(2026, 10, 16, 16, 59, 59)) == 0
    assert await sent(world) == []
    assert reports_in(leader) == []


async def test_q5_c15_b5_the_summary_at_1700_reaches_managers_and_leadership(
    world: World, bot: Harness, week: dict[str, Case], management: Group
) -> None:
    people = {tg: bot.person(tg, name) for tg, name in {**RECIPIENTS, **NOT_RECIPIENTS}.items()}
    identity = IdentityStore(world.db)
    leader = await identity.person_by_tg(9010)
    assert leader is not None
    await identity.set_locale(leader.id, "en")  # each in their own language
    now = local(2026, 10, 16, 17, 0, 30)
    assert await send_due_weekly(services_of(world), now) == 1

    for tg in RECIPIENTS:
        marker = "weekly summary" if tg == 9010 else "周报"
        assert len(reports_in(people[tg], marker)) == 1, RECIPIENTS[tg]
    for tg in NOT_RECIPIENTS:
        assert reports_in(people[tg]) == [], NOT_RECIPIENTS[tg]
    assert len(reports_in(management)) == 1

    text = reports_in(people[9002])[0]
    assert "阳光花园 周报" in text and "补发" not in text
    assert "统计区间：2026-10-09 17:00 至 2026-10-16 17:00" in text
    assert "新受理：报事 2 件 · 投诉 2 件" in text
    assert "投诉性质：无效投诉 0 · 轻微 0 · 重要 0 · 重大 1 · 未定性 1" in text
    for category in ("报修 1", "保洁 1", "噪音 1", "停车 1"):
        assert category in text.split("按类别：")[1].split("\n")[0]
    assert "按部门：保安部 2 · 工程部 1 · 未转交 1" in text
    assert "本期完成 3 件，结案 1 件；截至 10-16 17:00 未办结 3 件" in text
    # On-time rates per rule, by the rule's title (title_key).
    assert "Q-1 10 分钟内转交：3/4（75%）" in text
    assert "Q-4 1 天内处理并答复：1/2（50%）" in text
    assert "B-1 3 天内回访：1/1（100%）" in text
    assert "C-14 投诉 1 天内回访：0/1（0%）" in text
    # B-5, C-14: callbacks against 100 %.
    assert "本期完成 3 件，已回访 1 件，回访率 33%" in text
    assert "其中投诉：0/1（0%）" in text
    assert "尚未回访：未到期 1 件，已逾期 1 件" in text and "未达到 100%" in text
    # The overdue list: R2's two missed clocks, most overdue first.
    r2 = week["r2"].number
    overdue = text.split("超时未办")[1]
    assert f"{r2} · Q-1 10 分钟内转交 · 超时 3 天 7 小时" in overdue
    assert f"{r2} · Q-4 1 天内处理并答复 · 超时 2 天 8 小时" in overdue
    assert overdue.index("Q-1") < overdue.index("Q-4")
    assert week["late"].number not in text

    english = reports_in(people[9010], "weekly summary")[0]
    assert "Q-1 referral within 10 minutes: 3/4 (75%)" in english
    assert "Filed: Requests 2 · Complaints 2" in english

    [record] = await sent(world)
    assert record.period_start == date(2026, 10, 12) and not record.late
    assert record.due_at == local(2026, 10, 16, 17) and record.recipients == 5
    assert record.data["filed"] == {"request": 2, "complaint": 2}


async def test_q5_exactly_once_on_a_second_run_concurrent_runs_and_a_restart(
    world: World, bot: Harness, week: dict[str, Case]
) -> None:
    leader = bot.person(9010, "赵总")
    now = local(2026, 10, 16, 17, 0, 30)
    # Two runs at once (two jobs, or two processes on one database): one report.
    other = replace(services_of(world), identity=IdentityStore(world.db))
    counts = await asyncio.gather(
        send_due_weekly(services_of(world), now), send_due_weekly(other, now)
    )
    assert sorted(counts) == [0, 1]
    assert await send_due_weekly(services_of(world), now + timedelta(minutes=1)) == 0
    await world.crash_and_restart()
    assert await send_due_weekly(services_of(world), now + timedelta(minutes=2)) == 0
    assert await send_due_weekly(services_of(world), local(2026, 10, 19, 9)) == 0
    assert len(reports_in(leader)) == 1
    assert len(await sent(world)) == 1
    rows = await world.db.fetchall(
        "SELECT text FROM outbox WHERE text LIKE '%周报%' AND blob IS NULL"
    )
    assert len(rows) == 4  # one per recipient (no group bound here)
    assert len(report_files(leader)[0]) == 1 and len(report_files(leader)[1]) == 1


async def test_q5_a_crash_before_the_commit_loses_nothing(
    world: World, bot: Harness, week: dict[str, Case], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Row and messages are one transaction: a failure queues nothing, the next run sends."""
    leader = bot.person(9010, "赵总")
    now = local(2026, 10, 16, 17, 0, 30)

    async def broken(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("disk full")

    monkeypatch.setattr("storage.reports.audit.append", broken)
    assert await send_due_weekly(services_of(world), now) == 0
    assert await sent(world) == []
    assert await world.db.fetchall("SELECT 1 FROM outbox WHERE text LIKE '%周报%'") == []
    monkeypatch.undo()
    assert await send_due_weekly(services_of(world), now + timedelta(minutes=1)) == 1
    assert len(reports_in(leader)) == 1


async def test_q5_national_day_friday_the_report_comes_on_wednesday(
    world: World, bot: Harness
) -> None:
    """2026-10-02 (Fri) is National Day (10-01..10-07 off): the last working day of that week
    is Wednesday 09-30, so the report comes then; nothing more on Friday."""
    leader = bot.person(9010, "赵总")
    await deployed_at(world, local(2026, 9, 24, 18))
    r = await file(world, Kind.REQUEST, "repairs", local(2026, 9, 29, 10), ["Q-1"])
    await step(world, r, Action.RESOLVE, local(2026, 9, 29, 10, 3), stop=["Q-1"])
    services = services_of(world)
    assert await send_due_weekly(services, local(2026, 9, 30, 16, 59)) == 0
    assert await send_due_weekly(services, local(2026, 9, 30, 17)) == 1
    [text] = reports_in(leader)
    assert "统计区间：2026-09-24 17:00 至 2026-09-30 17:00" in text
    assert "新受理：报事 1 件 · 投诉 0 件" in text and "Q-1 10 分钟内转交：1/1（100%）" in text
    assert await send_due_weekly(services, local(2026, 10, 2, 17)) == 0
    [record] = await sent(world)
    assert record.period_start == date(2026, 9, 28) and record.due_at == local(2026, 9, 30, 17)
    # The week after the holiday: Friday 10-09 as usual, counting from Wednesday 09-30.
    assert await send_due_weekly(services, local(2026, 10, 9, 17, 0, 5)) == 1
    assert "统计区间：2026-09-30 17:00 至 2026-10-09 17:00" in reports_in(leader)[-1]


async def test_q5_a_missed_friday_is_sent_late_on_monday(
    world: World, bot: Harness, week: dict[str, Case]
) -> None:
    """The bot was down on Friday 17:00: Monday 09:00's first run sends it, marked 补发."""
    leader = bot.person(9010, "赵总")
    assert await send_due_weekly(services_of(world), local(2026, 10, 19, 9)) == 1
    [text] = reports_in(leader)
    assert "补发" in text and "原定 10-16 17:00" in text
    assert "统计区间：2026-10-09 17:00 至 2026-10-16 17:00" in text
    assert "新受理：报事 2 件 · 投诉 2 件" in text  # the same week as on Friday
    assert "截至 10-19 09:00" in text  # open cases and overdue as of sending
    [record] = await sent(world)
    assert record.late and record.period_start == date(2026, 10, 12)
    assert await send_due_weekly(services_of(world), local(2026, 10, 19, 9, 1)) == 0
    # That week's own report comes on its Friday, on time.
    assert await send_due_weekly(services_of(world), local(2026, 10, 23, 17, 0, 20)) == 1
    assert "补发" not in reports_in(leader)[-1]


async def test_q5_weeks_of_downtime_send_only_the_latest_week(world: World, bot: Harness) -> None:
    """No backfill: after three missed Fridays, one report — the latest week's, late."""
    await deployed_at(world, local(2026, 10, 9, 18))
    leader = bot.person(9010, "赵总")
    assert await send_due_weekly(services_of(world), local(2026, 11, 2, 9)) == 1
    [record] = await sent(world)
    assert record.period_start == date(2026, 10, 26) and record.late
    assert len(reports_in(leader)) == 1


async def test_q5_no_report_for_a_week_before_the_estate_existed(
    world: World, bot: Harness
) -> None:
    await deployed_at(world, local(2026, 10, 16, 18))
    assert await send_due_weekly(services_of(world), local(2026, 10, 19, 9)) == 0
    assert await send_due_weekly(services_of(world), local(2026, 10, 23, 17, 1)) == 1


# --- C-15's complaint breakdown, B-5's satisfaction and callbacks (the bot) -----------------


async def test_c15_b5_the_summary_breaks_complaints_down_and_shows_satisfaction(
    world: World, bot: Harness, week: dict[str, Case]
) -> None:
    """Complaints by category and department apart from requests, completed and open with
    those past their C-12 limit; the callbacks made by what they followed (a staff-opened
    callback after helping a resident included); satisfaction of callbacks and of customer
    visits apart."""
    supervisor = bot.person(9002, "吴建国")
    # An important complaint about cleaning, referred to customer service, past its C-12 day.
    c3 = await file(world, Kind.COMPLAINT, "cleaning", local(2026, 10, 13, 10), ["C-12-important"])
    await step(world, c3, Action.REFER, local(2026, 10, 13, 10, 5),
               department="customer_service", severity="important")  # fmt: skip
    assert await sweep_at(world, local(2026, 10, 14, 10, 1)) == 1
    # OLD's callback (B-1): satisfied, 3 stars.
    thursday = local(2026, 10, 15, 10)
    await step(world, week["old"], Action.CLOSE, thursday, stop=["B-1"],
               satisfaction=3, called_back_at=thursday, callback_channel="chat")  # fmt: skip
    # A callback staff opened after helping a resident in trouble (B-1): 5 stars.
    helped = await file(world, Kind.CALLBACK, "help", local(2026, 10, 14, 9), ["B-1"])
    await step(world, helped, Action.RESOLVE, local(2026, 10, 14, 9, 30))
    await step(world, helped, Action.CLOSE, thursday, stop=["B-1"],
               satisfaction=5, called_back_at=thursday, callback_channel="phone")  # fmt: skip
    # A customer visit: 4 stars, counted apart.
    visit = await file(world, Kind.VISIT, "other", local(2026, 10, 13, 15), [])
    await step(world, visit, Action.RESOLVE, local(2026, 10, 13, 15))
    await step(world, visit, Action.CLOSE, local(2026, 10, 13, 15),
               satisfaction=4, called_back_at=local(2026, 10, 13, 15),
               callback_channel="visit")  # fmt: skip

    friday = local(2026, 10, 16, 17, 0, 30)
    clock_of(world).set(friday)  # the bot's clock too: what the sweeps queued is due by now
    assert await send_due_weekly(services_of(world), friday) == 1
    text = reports_in(supervisor)[0]
    complaints = text.split("投诉（C-15）")[1].split("时限达成率")[0]
    assert "投诉性质：无效投诉 0 · 轻微 0 · 重要 1 · 重大 1 · 未定性 1" in complaints
    assert "投诉按类别：噪音 1 · 停车 1 · 保洁 1" in complaints
    assert "投诉按部门：保安部 2 · 客服中心 1" in complaints
    assert (
        "本期完成投诉 1 件（其中超过 C-12 时限 0 件）；"
        "截至 10-16 17:00 未办结 3 件（其中已超过 C-12 时限 1 件）" in complaints
    )
    assert "按类别：保洁 2 · " in text  # everything filed: R2's cleaning request too
    callbacks = text.split("回访（C-14")[1].split("超时未办")[0]
    assert "本期回访 2 次：报事 1 · 投诉 0 · 帮扶 1 · 社区活动 0" in callbacks
    assert (
        "满意度（回访）：平均 4.0 分（2 人评分） · 5 分 1 · 4 分 0 · 3 分 1 · 2 分 0 · 1 分 0"
        in callbacks
    )
    assert "满意度（客户访问）：平均 4.0 分（1 人评分） · 5 分 0 · 4 分 1" in callbacks
    [record] = await sent(world)
    assert record.data["callbacks_by"]["help"] == 1
    assert record.data["satisfaction"]["average"] == 4.0

    [_], [document] = report_files(supervisor)
    book = load_workbook(io.BytesIO(bot.api.world.file_content(document["document"]["file_id"])))
    summary = {row[0]: row[1] for row in book["概览"].iter_rows(values_only=True)}
    assert summary["回访满意度"] == 4.0 and summary["客户访问满意度"] == 4.0
    assert summary["未办结投诉（截至发送时）"] == 3 and summary["其中已超过投诉时限"] == 1
    counts = [tuple(row) for row in book["分类统计"].iter_rows(values_only=True)]
    assert ("回访对象", "帮扶", 1) in counts and ("投诉部门", "客服中心", 1) in counts
    assert ("回访评分", "3 分", 1) in counts and ("客户访问评分", "4 分", 1) in counts


async def test_b5_a_week_without_callbacks_or_scores_says_so(world: World, bot: Harness) -> None:
    """No staff-opened callbacks, no scores at all: zeros and "nobody scored", in English
    too."""
    await deployed_at(world, local(2026, 10, 9, 18))
    identity = IdentityStore(world.db)
    leader = await identity.person_by_tg(9010)
    assert leader is not None
    await identity.set_locale(leader.id, "en")
    assert await send_due_weekly(services_of(world), local(2026, 10, 16, 17, 0, 30)) == 1
    [text] = reports_in(bot.person(9010, "赵总"), "weekly summary")
    assert (
        "Callbacks made this period: 0 — requests 0 · complaints 0 · help given 0 · "
        "community events 0" in text
    )
    assert "Satisfaction (callbacks): nobody scored this period" in text
    assert "Satisfaction (customer visits): nobody scored this period" in text
    assert "Complaints completed this period: 0 (0 past their C-12 limit)" in text
