"""What an estate's config changes in a rule, end to end: whom it warns and escalates to,
and where its clock starts (Q-4 counted from the referral or the promise, C-12 and C-5
from the classification). A clock whose event has not happened yet waits for it; one whose
case ends first never runs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from procedures import complaints
from procedures.deadlines import load_estate
from procedures.decisions import Facts
from storage.cases import Case
from tests.conftest import ADMIN_ID, World
from tests.support.app import clock_of, configure_estates, services_of, sweeper_of
from tests.support.cases import file_complaint, file_request, latest_case, open_rules
from tests.support.telegram import Group, Harness, Person


def configure(world: World, rules: dict[str, dict[str, Any]]) -> None:
    """Give the demo estate these rule overrides, as its TOML config would."""
    configure_estates(world, {"estates": {"阳光花园": {"rules": rules}}})


def let_pass(world: World, case: Case, hours: float) -> Case:
    """``hours`` pass after the case was accepted (so clock starts differ)."""
    clock_of(world).advance(hours=hours)
    return case


async def only_clock(world: World, case: Case, rule: str) -> None:
    """Cancel the case's other clocks, so a sweep fires only ``rule``'s."""
    async with world.db.write() as conn:
        await conn.execute(
            "UPDATE deadlines SET state = 'cancelled' WHERE case_id = ? AND rule != ?",
            (case.id, rule),
        )


async def due_of(world: World, case: Case, rule: str) -> datetime:
    row = await world.db.fetchone(
        "SELECT due_at FROM deadlines WHERE case_id = ? AND rule = ?"
        " AND state IN ('pending', 'warned')",
        (case.id, rule),
    )
    assert row is not None, f"{rule} is not running"
    return datetime.fromisoformat(row["due_at"])


async def refer(bot: Harness, groups: dict[str, Group]) -> tuple[datetime, datetime]:
    """The assistant refers the latest case to engineering; returns the moments around it."""
    assistant = bot.person(9001, "周晓梅")
    before = bot.application.bot_data["services"].clock.now()
    await assistant.tap("➡️ 转交部门", chat=groups["cs"])
    await assistant.tap("工程部", chat=groups["cs"])
    return before, bot.application.bot_data["services"].clock.now()


def test_an_estate_may_only_start_a_clock_where_the_rule_can_run() -> None:
    """A clock the rule would never see (Q-4 from the approval) is refused at load time,
    naming the estate, the rule, the field and the choices."""
    config = {"estates": {"阳光花园": {"rules": {"Q-4": {"clock": "referred"}}}}}
    assert load_estate("阳光花园", config).rule("Q-4").clock == "referred"
    config = {"estates": {"阳光花园": {"rules": {"Q-4": {"clock": "approved"}}}}}
    with pytest.raises(ValueError, match="cannot start this rule") as error:
        load_estate("阳光花园", config)
    message = str(error.value)
    assert "阳光花园" in message and "'Q-4'" in message and "'clock'" in message
    assert "accepted, fixed, received, recorded, referred" in message
    bad = {"estates": {"阳光花园": {"rules": {"C-14": {"clock": "accepted"}}}}}
    with pytest.raises(ValueError, match="choose completed"):
        load_estate("阳光花园", bad)


async def test_q4_counted_from_the_referral_waits_for_it_and_then_runs(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """Q-4 with ``clock = "referred"``: the department's time starts when it gets the case."""
    configure(world, {"Q-4": {"clock": "referred", "due": "2h", "warn_before": "30m"}})
    supervisor = bot.person(9002, "吴建国")
    await file_request(owner)
    case = let_pass(world, await latest_case(world), hours=1)
    assert (await open_rules(world, case))["Q-4"] == "waiting"
    await only_clock(world, case, "Q-4")
    before, after = await refer(bot, groups)
    due = await due_of(world, case, "Q-4")
    # two hours from the referral, not from the acceptance an hour earlier
    assert before + timedelta(hours=2) - timedelta(seconds=1) <= due <= after + timedelta(hours=2)
    assert await sweep(world, due - timedelta(seconds=1)) == 1  # the warning, 30 minutes before
    assert not any("超时" in t and case.number in t for t in supervisor.texts())
    assert await sweep(world, due) == 1
    assert "超时" in supervisor.last_text and case.number in supervisor.last_text


async def test_a_clock_waiting_for_an_event_that_never_comes_never_fires(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """Resolved on the spot, a request never reaches a department: its Q-4 counted from the
    referral is cancelled, and nothing about it is ever sent."""
    configure(world, {"Q-4": {"clock": "referred"}})
    supervisor = bot.person(9002, "吴建国")
    await file_request(owner)
    await bot.person(9001, "周晓梅").tap("✅ 当场解决", chat=groups["cs"])
    case = await latest_case(world)
    assert (await open_rules(world, case))["Q-4"] == "cancelled"
    await sweep(world, case.accepted_at + timedelta(days=30))
    assert not any("处理时限" in t or "Q-4" in t for t in supervisor.texts())


async def test_q4_counted_from_the_promise_waits_for_a_time_to_be_fixed(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    configure(world, {"Q-4": {"clock": "fixed"}})
    await file_request(owner)
    case = await latest_case(world)
    await refer(bot, groups)
    assert (await open_rules(world, case))["Q-4"] == "waiting"  # the referral is not its event
    engineer = bot.person(9003, "郑海")
    await engineer.tap("⏰ 约定完成时间", chat=groups["eng"])
    await engineer.tap("后天 18:00 前", chat=groups["eng"])
    case = await latest_case(world)
    assert case.promised_at is not None
    assert await due_of(world, case, "Q-4") == case.promised_at.replace(microsecond=0)


async def test_c12_important_counted_from_the_classification(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """By default C-12 counts from the acceptance; this estate counts from the decision."""
    configure(world, {"C-12-important": {"clock": "classified"}})
    await file_complaint(owner)
    case = let_pass(world, await latest_case(world), hours=20)
    before = clock_of(world).now()
    await bot.person(9007, "孙志远").tap("重要")
    due = await due_of(world, case, "C-12-important")
    assert due >= before.replace(microsecond=0) + timedelta(days=1) - timedelta(seconds=1)
    assert due > case.accepted_at + timedelta(days=1, hours=19)  # not from the acceptance


async def test_c12_counted_from_acceptance_by_default(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    await file_complaint(owner)
    case = let_pass(world, await latest_case(world), hours=20)
    await bot.person(9007, "孙志远").tap("重要")
    assert await due_of(world, case, "C-12-important") == case.accepted_at + timedelta(days=1)


async def test_c5_week_counted_from_the_classification_waits_for_it(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    configure(world, {"C-5-week": {"clock": "classified"}})
    await file_complaint(owner)
    case = await latest_case(world)
    assert (await open_rules(world, case))["C-5-week"] == "waiting"
    before = clock_of(world).now()
    await bot.person(9007, "孙志远").tap("轻微")
    assert await due_of(world, case, "C-5-week") >= before + timedelta(days=7)


async def test_c12_major_clocks_counted_from_the_referral_start_when_it_comes(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """Declared major before any department has it, the major clocks wait for the referral."""
    configure(
        world,
        {"C-12-major-answer": {"clock": "referred"}, "C-12-major-resolve": {"clock": "referred"}},
    )
    await file_complaint(owner)
    case = let_pass(world, await latest_case(world), hours=5)
    await bot.person(9007, "孙志远").tap("重大")
    rules = await open_rules(world, case)
    assert rules["C-12-major-answer"] == rules["C-12-major-resolve"] == "waiting"
    before, _ = await refer(bot, groups)
    answer = await due_of(world, case, "C-12-major-answer")
    assert answer >= before.replace(microsecond=0) + timedelta(days=2)
    resolve = await due_of(world, case, "C-12-major-resolve")
    assert resolve >= before.replace(microsecond=0) + timedelta(days=15)


async def test_a_reopened_request_counts_q4_from_the_reopening(
    world: World,
    bot: Harness,
    groups: dict[str, Group],
    owner: Person,
) -> None:
    """C-2: back with its department, the reopening is a new referral for a Q-4 counted from
    the referral; the referral of ten hours ago does not make it overdue at once."""
    configure(world, {"Q-4": {"clock": "referred", "due": "4h"}})
    await file_request(owner)
    await refer(bot, groups)
    engineer = bot.person(9003, "郑海")
    await engineer.tap("🙋 接单", chat=groups["eng"])
    await engineer.tap("✅ 已完成", chat=groups["eng"])
    clock_of(world).advance(hours=10)
    before = clock_of(world).now()
    await owner.tap("❌ 没有解决")
    case = await latest_case(world)
    assert case.status == "referred"
    assert await due_of(world, case, "Q-4") >= before + timedelta(hours=4)


async def test_a_complaint_made_major_counts_major_clocks_from_then(
    world: World,
    bot: Harness,
    groups: dict[str, Group],
    owner: Person,
) -> None:
    """C-5: a complaint judged minor six days ago and made major now is classified major
    now: major clocks counted from the classification start now, not six days back."""
    configure(
        world,
        {
            "C-12-major-answer": {"clock": "classified"},
            "C-12-major-resolve": {"clock": "classified"},
        },
    )
    await file_complaint(owner)
    await bot.person(9007, "孙志远").tap("轻微")
    clock_of(world).advance(days=6)
    case = await latest_case(world)
    before = clock_of(world).now()
    svc = services_of(world)
    rules = await svc.rules(case.estate_id)
    facts = Facts(rules, svc.clock.now(), await svc.cases.history(case.id))
    decision = complaints.made_major(case, "C-5-event", {}, facts)
    assert decision is not None
    assert await svc.cases.apply(case.id, decision, by=None, actor="system", rules=rules)
    assert await due_of(world, case, "C-12-major-answer") >= before + timedelta(days=2)
    assert await due_of(world, case, "C-12-major-resolve") >= before + timedelta(days=15)


# --- warning and escalation targets -----------------------------------------------------------


async def sweep(world: World, at: datetime) -> int:
    clock_of(world).set(at)
    fired = await sweeper_of(world).sweep()
    await services_of(world).deliver()
    return fired


async def test_an_estate_names_whom_q1_warns_and_escalates_to(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """Q-1 warning to the supervisor privately, the breach to the project manager (not the
    defaults: the customer-service group, then the supervisor)."""
    configure(world, {"Q-1": {"warn_to": "cc_supervisor", "escalate_to": ["project_manager"]}})
    supervisor, manager = bot.person(9002, "吴建国"), bot.person(9008, "钱振东")
    await file_request(owner)
    case = await latest_case(world)
    await only_clock(world, case, "Q-1")
    cs_before = len(groups["cs"].messages())
    assert await sweep(world, case.accepted_at + timedelta(minutes=8, seconds=30)) == 1
    assert "提醒" in supervisor.last_text and case.number in supervisor.last_text
    assert len(groups["cs"].messages()) == cs_before  # not the group this time
    assert await sweep(world, case.accepted_at + timedelta(minutes=10, seconds=1)) == 1
    assert "超时" in manager.last_text and case.number in manager.last_text
    assert not any("超时" in t for t in supervisor.texts())


async def test_the_department_head_is_warned_privately(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """warn_to = "department_head" reaches the head of the department that has the case."""
    configure(world, {"Q-4": {"warn_to": "department_head"}})
    head, engineer = bot.person(9004, "冯立"), bot.person(9003, "郑海")
    await file_request(owner)
    await refer(bot, groups)
    case = await latest_case(world)
    due = await due_of(world, case, "Q-4")
    await only_clock(world, case, "Q-4")
    assert await sweep(world, due - timedelta(minutes=90)) == 1
    assert "提醒" in head.last_text and case.number in head.last_text
    assert not any("提醒" in t for t in engineer.texts())


async def test_case_shows_staff_the_clocks_still_running_and_those_waiting(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """/case: what is due when, and which clock waits for which event."""
    configure(world, {"Q-4": {"clock": "referred"}})
    await file_request(owner)
    case = await latest_case(world)
    assistant = bot.person(9001, "周晓梅")
    await assistant.send(f"/case {case.number}")
    text = assistant.last_text
    assert "时限" in text and "Q-1 10 分钟内转交 · " in text
    assert "Q-4 1 天内处理并答复 · 转交部门后开始计时" in text
    await refer(bot, groups)
    await assistant.send(f"/case {case.number}")
    rules = await services_of(world).rules(case.estate_id)
    q4 = rules.calendar.local(await due_of(world, case, "Q-4")).strftime("%m-%d %H:%M")
    assert f"Q-4 1 天内处理并答复 · {q4} 前" in assistant.last_text
    assert "Q-1 10 分钟内转交" not in assistant.last_text  # met: no longer running


# --- who signs: the rule names the role ----------------------------------------------------------


async def test_c12_an_estate_names_who_extends_and_that_role_may(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """C-12 with ``extension_by = "project_manager"``: the warning asks the project manager,
    whose tap extends the clock by a day; the management manager, whom the estate did not
    name, is refused. (The permission and the reaction read the same rule.)"""
    configure(world, {"C-12-important": {"extension_by": "project_manager"}})
    manager, mgmt = bot.person(9008, "钱振东"), bot.person(9009, "林慧")
    await file_complaint(owner)
    await bot.person(9007, "孙志远").tap("重要")
    case = await latest_case(world)
    due = await due_of(world, case, "C-12-important")
    await only_clock(world, case, "C-12-important")
    assert await sweep(world, due - timedelta(hours=1)) == 1
    assert "如需延期" in manager.last_text and case.number in manager.last_text
    assert not any("如需延期" in t for t in mgmt.texts())
    # the management manager presses the same data (a forged or forwarded button)
    data = str(manager.last_message["reply_markup"]["inline_keyboard"][0][0]["callback_data"])
    await mgmt.tap_data(data, chat=groups["cs"])
    assert "项目经理" in last_answer(bot)["text"]
    assert await due_of(world, case, "C-12-important") == due
    await manager.tap("✅ 批准延期")
    assert "已批准" in manager.last_text
    assert await due_of(world, case, "C-12-important") == due + timedelta(days=1)


async def test_admins_run_the_system_but_sign_nothing_of_the_manual(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """An admin (the deployment's or the estate's) classifies no complaint (C-4), writes no
    opinion (C-11), approves no reply (C-13), extends no clock (C-12), refers nothing (Q-1):
    those need the role the rule names (PROCEDURES.md, Roles)."""
    it, deployment = bot.person(9011, "韩立新"), bot.person(ADMIN_ID, "管理员")
    await file_complaint(owner)
    case = await latest_case(world)
    classify = bot.person(9007, "孙志远").last_message
    data = str(classify["reply_markup"]["inline_keyboard"][0][1]["callback_data"])  # 重要
    for admin in (it, deployment):
        await admin.tap_data(data, chat=groups["cs"])
        assert "项目主管" in last_answer(bot)["text"]
        await admin.tap_data(f"cs:refer:{case.id}", chat=groups["cs"])
        assert last_answer(bot).get("show_alert")
    after = await latest_case(world)
    assert after.severity is None and after.status == "new"
    await it.send(f"/case {case.number}")  # reading any case is support: allowed
    assert case.number in it.last_text and "时限" in it.last_text


def last_answer(bot: Harness) -> dict[str, Any]:
    """The bot's newest answer to a button press."""
    params: dict[str, Any] = bot.api.calls_of("answerCallbackQuery")[-1].params
    return params
