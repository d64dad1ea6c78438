"""Renovation from the permit to the works, and while they run, through the bot and a fake
Telegram: the entry inspection needs both sides' confirmations (or the photo of the signed
paper) before the works start (R-12); the entry notice reaches engineering, security and
the owner (R-13); the project manager stops the works (passes refused, no patrol due) and
resumes them; an approved extension moves the works period and the passes; the owner signs
a rectification notice and the contractor's refusal is recorded with a witness (R-15)."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from procedures.renovation import Status
from storage import audit
from storage.clock import ManualClock
from storage.renovation import RenovationStore
from storage.renovation_entry import EntryStore
from storage.renovation_patrol import PatrolStore
from tests.conftest import World
from tests.support.renovation_steps import (
    ASSISTANT,
    CASHIER,
    CUSTOMER_HEAD,
    ENGINEER,
    GUARD,
    MANAGER,
    alert,
    enter,
    page,
    register_worker,
    to_permit,
    to_works,
)
from tests.support.renovation_steps import customer_head as customer_head  # the fixture
from tests.support.telegram import Group, Harness, Person

SUPERVISOR = 9002
SHANGHAI = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.usefixtures("customer_head")


async def status_of(world: World, ren_id: int) -> Status:
    ren = await RenovationStore(world.db).get(ren_id)
    assert ren is not None
    return ren.status


async def test_r12_r13_both_sides_confirm_the_entry_inspection_then_the_entry_notice_goes_out(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """R-12: customer service walks the common parts: the lift car damaged (a photo with
    its line as caption: kept under its SHA-256 and a watermarked copy), the rest in order.
    Confirming before every part is recorded is refused; customer service's confirmation
    alone does not start the works, nor would the owner's; a stranger cannot confirm; once
    the owner confirms too: entry confirmed, active, both signatures kept. R-13: engineering
    (its group) and security (its guards, no group) get the entry notice, the owner theirs;
    the patrol duties run."""
    ren_id = await to_permit(world, bot, groups, owner)
    cs = groups["cs"]
    assistant = bot.person(ASSISTANT, "周晓梅")
    await assistant.tap("入场验收", chat=cs)
    assert "私聊" in alert(bot)  # the checklist comes privately (privacy mode in groups)
    assert "电梯轿厢" in assistant.last_text and "消防设施" in assistant.last_text
    await assistant.tap("客服确认验收")
    assert "还有公共部位没有记录" in alert(bot)
    await owner.tap_data(f"ren:eparty:{ren_id}")
    assert "还有公共部位没有记录" in alert(bot)
    await bot.person(CASHIER, "何小芸").tap_data(f"ren:eok:{ren_id}:0")
    assert "入场验收由客服中心负责" in alert(bot)
    [lift] = [b for b in assistant.buttons() if "电梯轿厢" in b]
    assert lift.startswith("✅")
    await assistant.tap_data(f"ren:ebad:{ren_id}:2")  # the lift car: damaged
    assert "请拍一张损坏处的照片" in assistant.last_text
    await assistant.send_photo(page(60), caption="轿厢内壁划痕")
    assert "⚠️ 电梯轿厢：轿厢内壁划痕" in assistant.last_text
    await assistant.tap("其余完好")
    await assistant.tap("客服确认验收")
    assert await status_of(world, ren_id) == Status.PERMITTED  # one side is not enough
    assert "请确认验收结果" in owner.last_text and "损坏 1 处：电梯轿厢" in owner.last_text
    stranger = bot.person(2999, "路人")
    await stranger.send("/start")
    await stranger.tap_data(f"ren:eparty:{ren_id}")
    assert "只有业主本人或业主委托的施工负责人可以确认" in alert(bot)
    await assistant.tap_data(f"ren:eok:{ren_id}:0")  # signed: the items are fixed
    assert "验收记录不能再修改" in alert(bot)
    eng_seen = len(assistant.messages(groups["eng"]))
    guard = bot.person(GUARD, "陈保华")
    guard_seen = guard.mark()
    await owner.tap("确认入场验收")
    assert await status_of(world, ren_id) == Status.ACTIVE
    owner_texts = owner.texts()
    assert any("业主装修入场通知单" in t for t in owner_texts[-3:])
    assert not any("R-1" in t for t in owner_texts)  # residents never read rule ids
    notices = [m["text"] for m in assistant.messages(groups["eng"])[eng_seen:]]
    assert any("装修入场知会单" in t and "08:00–12:00" in t and "损坏 1 处" in t
               for t in notices)  # fmt: skip
    assert any("装修入场知会单" in t for t in guard.texts(guard_seen))
    signed = await RenovationStore(world.db).signatures(ren_id)
    assert [(s.step, s.role) for s in signed if s.step == "R-12"] == [
        ("R-12", "customer_assistant"),
        ("R-12", "owner"),
    ]
    items = await EntryStore(world.db).items(ren_id)
    [damaged] = [i for i in items if not i["ok"]]
    assert damaged["item"] == "lift_car" and damaged["note"] == "轿厢内壁划痕"
    assert damaged["photo_sha256"] == hashlib.sha256(page(60)).hexdigest()
    assert damaged["photo_display"] not in (None, damaged["photo_sha256"])
    assert len(items) == 6
    clocks = await PatrolStore(world.db).duty_clocks(ren_id)
    assert sorted(clocks) == ["customer_service", "engineering", "security"]
    events = [e["event"] for e in await audit.trail(world.db, f"renovation:{ren_id}")]
    assert events.count("renovation.entry_checked") == 2  # the lift car, then the rest
    assert "renovation.confirm_entry" in events and "renovation.start_works" in events
    await owner.tap_data(f"ren:eparty:{ren_id}")  # again: nothing twice
    assert "才能确认开工" in alert(bot)


async def test_r12_a_photo_of_the_signed_paper_form_stands_for_a_party_without_telegram(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """R-12: the contractor's head has no Telegram: customer service confirms and sends a
    photo of the paper form he signed: the works start; the paper is kept as evidence."""
    ren_id = await to_permit(world, bot, groups, owner)
    cs = groups["cs"]
    assistant = bot.person(ASSISTANT, "周晓梅")
    await assistant.tap("入场验收", chat=cs)
    await assistant.tap("纸质确认表")
    await assistant.send("已签")  # not a photo: asked again
    assert "请拍一张对方已签字" in assistant.last_text
    await assistant.send_photo(page(61))  # before the items: refused politely
    assert "还有公共部位没有记录" in assistant.last_text
    assert await status_of(world, ren_id) == Status.PERMITTED
    await assistant.tap("其余完好")
    await assistant.tap("客服确认验收")
    await assistant.tap("纸质确认表")
    await assistant.send_photo(page(61))
    assert "已开工" in assistant.last_text
    assert await status_of(world, ren_id) == Status.ACTIVE
    kept = await EntryStore(world.db).entry(ren_id)
    assert kept is not None and kept["party"] == "paper"
    assert kept["paper_sha256"] == hashlib.sha256(page(61)).hexdigest()


async def test_r12_the_site_head_who_joined_by_the_owners_link_confirms_the_entry(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """R-12: the site head walked the unit with customer service: once customer service
    confirmed, he (in the bot by the owner's link) is asked too and his confirmation starts
    the works, signed as the contractor; the owner hears the entry notice."""
    head = bot.person(3001, "李工")
    await head.send("/start")
    ren_id = await to_permit(world, bot, groups, owner, head)
    assistant = bot.person(ASSISTANT, "周晓梅")
    await assistant.tap("入场验收", chat=groups["cs"])
    await assistant.tap("其余完好")
    await assistant.tap("客服确认验收")
    assert "请确认验收结果" in head.last_text
    await head.tap("确认入场验收")
    assert await status_of(world, ren_id) == Status.ACTIVE
    assert "已开工" in head.last_text
    assert any("业主装修入场通知单" in t for t in owner.texts()[-3:])
    signed = await RenovationStore(world.db).signatures(ren_id)
    assert [s.role for s in signed if s.step == "R-12"] == ["customer_assistant", "contractor"]
    await owner.tap("确认入场验收")  # the owner's button, after: nothing twice
    assert len(await RenovationStore(world.db).signatures(ren_id)) == len(signed)


async def test_r14_an_entry_inspected_before_the_works_period_asks_no_patrol_until_it_begins(
    world: World,
    bot: Harness,
    groups: dict[str, Group],
    owner: Person,
    clock: ManualClock,
) -> None:
    """R-12, R-14: the entry inspection on Friday 11-27 for works from Tuesday 12-01: the
    works are confirmed, but no department is asked to patrol (or warned, or reported to
    the project manager) before Tuesday, when every pass is still refused; on Tuesday the
    unit is on each department's list and its clocks are Tuesday's."""
    ren_id = await to_permit(world, bot, groups, owner, starts="2026-12-01")
    await enter(bot, groups, owner)
    assert await status_of(world, ren_id) == Status.ACTIVE
    clocks = await PatrolStore(world.db).duty_clocks(ren_id)
    tuesday_end = datetime(2026, 12, 1, 17, 30, tzinfo=SHANGHAI)
    assert sorted(clocks) == ["customer_service", "engineering", "security"]
    assert all([c.due_at for c in cs] == [tuesday_end] for cs in clocks.values())
    engineer = bot.person(ENGINEER, "郑海")
    await engineer.send("/patrol")
    assert "都已完成" in engineer.last_text  # nothing to patrol on Friday
    await engineer.tap_data(f"ren:po:{ren_id}")  # an old list's button: refused, not kept
    assert "施工期尚未开始" in alert(bot)
    assert await PatrolStore(world.db).patrols(ren_id) == []
    clock.set(datetime(2026, 12, 1, 10, tzinfo=SHANGHAI))
    await engineer.send("/patrol")
    assert "工程部还需巡查 1 户" in engineer.last_text
    await engineer.tap("1栋 101")
    await engineer.tap("一切正常")
    assert "已记录巡查" in engineer.last_text
    clocks = await PatrolStore(world.db).duty_clocks(ren_id)
    assert [c.state for c in clocks["engineering"]] == ["met", "pending"]


async def test_s1_r14_the_project_manager_stops_the_works_passes_refused_no_patrol_then_resumes(
    world: World,
    bot: Harness,
    groups: dict[str, Group],
    owner: Person,
    clock: ManualClock,
) -> None:
    """Works stopped with a reason by the project manager: the owner and security are
    told, the pass is refused ("works suspended"), the unit leaves /patrol and its patrol
    clocks stop; resumed: admitted again, the patrol clocks run again. Others may not."""
    ren_id = await to_permit(world, bot, groups, owner)
    code = await register_worker(owner)
    assistant = bot.person(ASSISTANT, "周晓梅")
    await assistant.tap("入场验收", chat=groups["cs"])  # the checklist comes privately
    await assistant.tap("其余完好")
    await assistant.tap("客服确认验收")
    await owner.tap("确认入场验收")
    await assistant.send("/works")
    assert "项目经理或客户部负责人" in assistant.last_text
    manager = bot.person(MANAGER, "钱振东")
    await manager.send("/works")
    await manager.tap("1栋 101")
    assert "施工中" in manager.last_text
    await manager.tap("停工")
    await manager.send("承重墙违章未整改")
    assert "已停工" in manager.last_text
    assert await status_of(world, ren_id) == Status.SUSPENDED
    assert "已被责令停工：承重墙违章未整改" in owner.last_text
    guard = bot.person(GUARD, "陈保华")
    assert any("已停工：承重墙违章未整改" in t for t in guard.texts())
    clock.set(datetime(2026, 12, 2, 10, tzinfo=SHANGHAI))
    await guard.send(f"/pass {code}")
    assert "不予放行" in guard.last_text and "该户装修已停工" in guard.last_text
    await guard.send("/patrol")
    assert "都已完成" in guard.last_text  # nothing to patrol while stopped
    clocks = await PatrolStore(world.db).duty_clocks(ren_id)
    assert all(c.state != "pending" for cs in clocks.values() for c in cs)
    await assistant.tap_data(f"ren:wres:{ren_id}")
    assert "项目经理或客户部负责人" in alert(bot)
    await manager.send("/works")
    await manager.tap("1栋 101")
    assert "承重墙违章未整改" in manager.last_text
    await manager.tap("复工")
    assert await status_of(world, ren_id) == Status.ACTIVE
    assert "已复工" in owner.last_text
    await guard.send(f"/pass {code}")
    assert "✅ 放行" in guard.last_text
    clocks = await PatrolStore(world.db).duty_clocks(ren_id)
    assert all(any(c.state == "pending" for c in cs) for cs in clocks.values())
    events = [e["event"] for e in await audit.trail(world.db, f"renovation:{ren_id}")]
    assert "renovation.suspend" in events and "renovation.resume" in events
    [stop] = [e for e in await audit.trail(world.db, f"renovation:{ren_id}")
              if e["event"] == "renovation.suspend"]  # fmt: skip
    assert stop["data"]["reason"] == "承重墙违章未整改"


async def test_r14_works_stopped_and_resumed_the_same_day_do_not_ask_a_done_patrol_again(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """R-14: engineering patrolled, then the works were stopped and resumed that day: the
    other departments' patrols are due today, engineering's the next working day."""
    ren_id = await to_works(world, bot, groups, owner)
    engineer = bot.person(ENGINEER, "郑海")
    await engineer.send("/patrol")
    await engineer.tap("1栋 101")
    await engineer.tap("一切正常")
    manager = bot.person(MANAGER, "钱振东")
    await manager.send("/works")
    await manager.tap("1栋 101")
    await manager.tap("停工")
    await manager.send("楼道堆放建材")
    await manager.send("/works")
    await manager.tap("1栋 101")
    await manager.tap("复工")
    assert await status_of(world, ren_id) == Status.ACTIVE
    clocks = await PatrolStore(world.db).duty_clocks(ren_id)
    [engineering] = [c for c in clocks["engineering"] if c.state == "pending"]
    [security] = [c for c in clocks["security"] if c.state == "pending"]
    assert security.due_at == datetime(2026, 11, 27, 17, 30, tzinfo=SHANGHAI)
    assert engineering.due_at == datetime(2026, 11, 30, 17, 30, tzinfo=SHANGHAI)


async def test_an_approved_extension_moves_the_end_date_and_the_passes(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """The owner asks for a later end date with a reason (an earlier one asked again); the
    customer-department head approves (signed): the works period ends later and so does the
    worker's pass; a second decision is refused; only the head decides."""
    ren_id = await to_permit(world, bot, groups, owner)
    code = await register_worker(owner)
    stranger = bot.person(2999, "路人")
    await stranger.send("/extend")
    assert "没有可以延长工期的装修" in stranger.last_text
    await owner.send("/extend")
    assert "2027-02-28" in owner.last_text
    await owner.send("下个月")  # not a date: asked again, nothing kept
    assert "请输入日期" in owner.last_text
    await owner.send("2027-02-01")
    assert "须晚于现在的工期" in owner.last_text
    await owner.send("2027-03-31")
    await owner.send_photo(page(70))  # not a reason: asked again
    assert "请用一句话写明原因" in owner.last_text
    assert await world.db.fetchone("SELECT id FROM renovation_extensions") is None
    await owner.send("瓷砖延迟到货")
    assert "已提交延期申请" in owner.last_text
    await owner.send("/extend")  # one request at a time
    assert "等待审批" in owner.last_text
    head = bot.person(CUSTOMER_HEAD, "李淑芬")
    assert "瓷砖延迟到货" in head.last_text and "2027-03-31" in head.last_text
    manager = bot.person(MANAGER, "钱振东")
    await manager.send("/start")
    await manager.tap_data("ren:xa:1")
    assert "延期由客户部负责人审批" in alert(bot)
    await head.tap("同意延期")
    ren = await RenovationStore(world.db).get(ren_id)
    assert ren is not None and ren.form.period_to == date(2027, 3, 31)
    [worker] = await RenovationStore(world.db).passes(ren_id)
    assert worker.code == code and worker.valid_to == date(2027, 3, 31)
    assert "延期已批准" in owner.last_text
    await head.tap_data("ren:xa:1")
    assert "已经审批过了" in alert(bot)
    signed = await RenovationStore(world.db).signatures(ren_id)
    assert [(s.step, s.role, s.approved) for s in signed][-1] == (
        "extension",
        "customer_head",
        True,
    )


async def test_r15_the_owner_signs_the_notice_and_the_contractors_refusal_is_witnessed(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """R-15: the owner signs the rectification notice by button (once); customer service
    records the contractor's head refusing to sign; the one who recorded it cannot witness
    it; a second staff member confirms it as witness: on the record with both names."""
    ren_id = await to_works(world, bot, groups, owner)
    engineer = bot.person(ENGINEER, "郑海")
    await engineer.send("/patrol")
    await engineer.tap("1栋 101")
    await engineer.tap("严重违规")
    await engineer.send_photo(page(50), caption="擅自拆除承重墙")
    await engineer.send("12月5日")
    await engineer.send("0")
    [notice] = await PatrolStore(world.db).notices(ren_id)
    await owner.tap("签收整改单")
    assert "已签收整改单" in alert(bot)
    await owner.tap_data(f"ren:nsg:{notice.id}")
    assert "已经签收" in alert(bot)
    cs = groups["cs"]
    assistant = bot.person(ASSISTANT, "周晓梅")
    assert "业主已签收违章整改单" in assistant.messages(cs)[-1]["text"]
    await assistant.tap("施工方拒签", chat=cs)
    assert "拒绝签收" in assistant.messages(cs)[-1]["text"]
    await assistant.tap("我在场见证", chat=cs)
    assert "不能是记录拒签的人" in alert(bot)
    await bot.person(CASHIER, "何小芸").tap_data("ren:nwit:2", chat=cs)
    assert "本小区的工作人员" in alert(bot)
    supervisor = bot.person(SUPERVISOR, "吴建国")
    await supervisor.tap("我在场见证", chat=cs)
    assert "已记录您的见证" in alert(bot)
    signatures = await EntryStore(world.db).signatures(notice.id)
    assert signatures["owner"].state == "signed"
    refused = signatures["contractor"]
    assert refused.state == "refused" and refused.witness_id is not None
    assert refused.witness_id != refused.recorded_by
    trail = await audit.trail(world.db, f"renovation:{ren_id}")
    [event] = [e for e in trail if e["event"] == "renovation.notice_refused"]
    assert event["data"]["party"] == "contractor"
    signed = await RenovationStore(world.db).signatures(ren_id)
    assert ("R-15", "owner") in [(s.step, s.role) for s in signed]
