"""Renovation's last steps through the bot and a fake Telegram: the owner applies for the
completion inspection with a slot, customer service tells engineering and security, a
problem fails it and the owner asks again, both pass and the deposit is held three months
(R-20); a refund before then is refused; the bot's clock moved three months and the bot
restarted, the refund opens once; the check, the confirmations, the project manager's
approval and the cashier's refund close it (R-21); the workers' ID numbers are deleted
after the retention period and the audit trail still verifies (issue 11, item 7)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from procedures.renovation import Entry, Status, balance
from storage import audit
from storage.backup import backup
from storage.clock import ManualClock
from storage.evidence import verify_files
from storage.renovation import RenovationStore
from storage.renovation_completion import CompletionStore
from tests.conftest import World
from tests.support.app import services_of, sweeper_of
from tests.support.renovation_steps import (
    ASSISTANT,
    CASHIER,
    ENGINEER,
    GUARD,
    ID_NUMBER,
    MANAGER,
    alert,
    page,
    register_worker,
    to_works,
)
from tests.support.renovation_steps import customer_head as customer_head  # the fixture
from tests.support.telegram import Group, Harness, Person

SHANGHAI = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.usefixtures("customer_head")


async def status_of(world: World, ren_id: int) -> Status:
    ren = await RenovationStore(world.db).get(ren_id)
    assert ren is not None
    return ren.status


async def inspect_all(bot: Harness, cs: Group) -> None:
    """Customer service tells the inspectors; engineering and security both pass it."""
    await bot.person(ASSISTANT, "周晓梅").tap("通知工程部、保安部验收", chat=cs)
    await bot.person(ENGINEER, "郑海").tap("验收合格")
    await bot.person(GUARD, "陈保华").tap("验收合格")


async def to_held(world: World, bot: Harness, groups: dict[str, Group], owner: Person) -> int:
    """Through the completion inspection, passed on Friday 27 November 2026: the deposit
    held until Saturday 27 February 2027."""
    ren_id = await to_works(world, bot, groups, owner)
    await owner.tap("申请竣工验收")
    await owner.tap("2026-11-30")
    await inspect_all(bot, groups["cs"])
    return ren_id


async def test_r20_the_completion_inspection_fails_then_passes_and_holds_the_deposit(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """R-20: the owner applies with a typed working day (a Saturday asked again); the
    works end, so a worker's pass is refused at the gate; customer service tells
    engineering and security (the open rectification notices listed); engineering passes,
    twice changes nothing; security finds a problem: failed, the owner reads it with its
    fix and asks again with an offered slot; both pass: the deposit is held, the owner
    told the earliest refund date; a refund before it is refused with the date."""
    ren_id = await to_works(world, bot, groups, owner)
    code = await register_worker(owner)
    await owner.tap("申请竣工验收")
    assert "请选择验收日期" in owner.last_text and "2026-11-30" in str(owner.messages()[-1])
    await owner.tap("其他日期")
    await owner.send("2026-11-28")  # a Saturday
    assert "须是工作日" in owner.last_text
    await owner.send("12月2日")
    assert "已提交竣工验收申请" in owner.last_text and "2026-12-02" in owner.last_text
    assert await status_of(world, ren_id) == Status.COMPLETION_REQUESTED
    guard = bot.person(GUARD, "陈保华")
    await guard.send(f"/pass {code}")
    assert "不在施工期" in guard.last_text  # the works are over: passes no longer admit

    cs = groups["cs"]
    assistant = bot.person(ASSISTANT, "周晓梅")
    assert "申请竣工验收" in assistant.messages(cs)[-1]["text"]
    await owner.tap_data(f"ren:cpn:{ren_id}")  # not customer service
    assert "这一步由客服中心办理" in alert(bot)
    await assistant.tap("通知工程部、保安部验收", chat=cs)
    engineer = bot.person(ENGINEER, "郑海")
    assert "请到场竣工验收" in engineer.last_text and "2026-12-02" in engineer.last_text
    assert "请到场竣工验收" in guard.last_text
    await assistant.tap_data(f"ren:cpn:{ren_id}", chat=cs)  # twice
    assert "已经通知过了" in alert(bot)
    await engineer.tap("验收合格")
    assert "已记录验收合格" in alert(bot)
    assert "工程部验收合格" in assistant.messages(cs)[-1]["text"]
    await engineer.tap_data(f"ren:cpy:{ren_id}")
    assert "已经记录过了" in alert(bot)
    await owner.tap_data(f"ren:cpy:{ren_id}")  # not an inspector
    assert "由工程部和保安部负责" in alert(bot)

    await guard.tap("有问题")
    await guard.send_photo(page(60))  # the photo first: the problems asked for
    assert "请写明问题及整改要求" in guard.last_text
    await guard.send("消防栓被遮挡，请清理\n楼道墙面破损，请修补")
    assert "已记录验收问题" in guard.last_text
    assert await status_of(world, ren_id) == Status.FAILED
    told = owner.last_text
    assert "竣工验收未通过" in told and "消防栓被遮挡" in told and "楼道墙面破损" in told
    assert "R-2" not in told  # residents never read rule ids

    await owner.tap("已整改，申请复验")
    await owner.tap("2026-11-30")
    assert await status_of(world, ren_id) == Status.COMPLETION_REQUESTED
    assert "申请复验" in assistant.messages(cs)[-1]["text"]
    await inspect_all(bot, cs)
    assert await status_of(world, ren_id) == Status.DEPOSIT_HELD
    assert "竣工验收合格" in owner.last_text and "2027-02-27" in owner.last_text
    completions = CompletionStore(world.db)
    done = await completions.completion(ren_id)
    assert done is not None and done.round == 2 and str(done.refund_from) == "2027-02-27"
    inspections = await completions.inspections(ren_id)
    assert inspections[1]["problems"] == ["消防栓被遮挡,请清理", "楼道墙面破损,请修补"]
    assert inspections[1]["photo_sha256"] == hashlib.sha256(page(60)).hexdigest()  # evidence
    assert [(i["round"], i["department"], i["passed"]) for i in inspections] == [
        (1, "engineering", 1), (1, "security", 0), (2, "engineering", 1), (2, "security", 1),
    ]  # fmt: skip
    [clock] = await completions.clocks(ren_id)
    assert clock.rule == "R-21" and clock.state == "pending"
    assert clock.due_at == datetime(2027, 2, 27, 9, 0, tzinfo=SHANGHAI)

    await owner.tap("申请退还押金")  # before three months
    assert "最早可退日期：2027-02-27" in alert(bot)
    await assistant.tap_data(f"ren:rfc:{ren_id}", chat=cs)
    assert "最早可退日期：2027-02-27" in alert(bot)
    trail = [e["event"] for e in await audit.trail(world.db, f"renovation:{ren_id}")]
    for event in ("renovation.request_completion", "renovation.inspectors_told",
                  "renovation.inspected", "renovation.fail", "renovation.reinspect",
                  "renovation.pass", "renovation.hold_deposit"):  # fmt: skip
        assert event in trail


async def open_refund(world: World, clock: ManualClock, at: datetime) -> int:
    """The bot's clock moved to ``at`` and the bot restarted; its sweeper runs."""
    clock.set(at)
    await world.crash_and_restart()
    acted = await sweeper_of(world, clock=lambda: at).sweep()
    await services_of(world).deliver()
    return acted


async def to_refunded(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person, clock: ManualClock
) -> int:
    """R-21: the whole refund: opened by the clock, claimed, checked (¥120 of utilities),
    confirmed, approved, paid against voucher FK-20270301."""
    ren_id = await to_held(world, bot, groups, owner)
    opens = datetime(2027, 2, 27, 9, 0, 1, tzinfo=SHANGHAI)
    await open_refund(world, clock, opens)
    await owner.tap("申请退还押金")
    assistant = bot.person(ASSISTANT, "周晓梅")
    await assistant.tap("退押金核查", chat=groups["cs"])
    await assistant.tap("下一步")
    await assistant.send("120")
    await assistant.send("0")
    manager = bot.person(MANAGER, "钱振东")
    await owner.tap("确认退款金额")
    await manager.tap("确认退款金额")
    await manager.tap("批准退还押金")
    cashier = bot.person(CASHIER, "何小芸")
    await cashier.tap("登记退款")
    await cashier.send("FK-20270301")
    return ren_id


async def test_r21_the_refund_opens_once_across_a_restart_then_three_confirm_and_it_closes(
    world: World,
    bot: Harness,
    groups: dict[str, Group],
    owner: Person,
    clock: ManualClock,
) -> None:
    """R-21: three months after the inspection the bot's clock moves on and the bot
    restarts: the owner is told once that the deposit can be refunded (not again after a
    second restart); the owner claims; customer service checks common parts and
    neighbours in the private chat with the ledger and the violations, marks a leak,
    enters the utilities owed (bad input asked again): the refundable amount; the owner and
    the project manager (no project-centre head in the estate) confirm, the project manager
    approves, the cashier records the voucher: refunded and closed, the ledger at zero, the
    unit free; a second press changes nothing."""
    ren_id = await to_held(world, bot, groups, owner)
    seen = owner.mark()
    before = datetime(2027, 2, 27, 8, 59, tzinfo=SHANGHAI)
    await open_refund(world, clock, before)
    assert await status_of(world, ren_id) == Status.DEPOSIT_HELD  # not yet
    opens = datetime(2027, 2, 27, 9, 0, 1, tzinfo=SHANGHAI)
    await open_refund(world, clock, opens)
    assert await status_of(world, ren_id) == Status.REFUND_DUE
    await open_refund(world, clock, opens + timedelta(hours=1))  # restarted again
    told = [t for t in owner.texts(seen) if "可以申请退还了" in t]
    assert len(told) == 1 and "2027-02-27" in told[0]
    trail = [e["event"] for e in await audit.trail(world.db, f"renovation:{ren_id}")]
    assert trail.count("renovation.open_refund") == 1

    cs = groups["cs"]
    assistant = bot.person(ASSISTANT, "周晓梅")
    await owner.tap("申请退还押金")
    assert "已提交退还押金申请" in alert(bot)
    assert "申请人：业主" in assistant.messages(cs)[-1]["text"]
    await owner.tap_data(f"ren:rfm:{ren_id}")  # twice
    assert "已经申请过" in alert(bot)
    await owner.tap_data(f"ren:rfc:{ren_id}")  # only customer service checks
    assert "押金核查由客服中心办理" in alert(bot)
    await assistant.tap("退押金核查", chat=cs)
    assert "核查单已私信给您" in alert(bot)
    sheet = assistant.last_text
    assert "押金退还核查" in sheet and "押金余额" in sheet and "违章记录" in sheet
    await assistant.tap("渗漏")
    await assistant.send_photo(page(70))  # optional: a photo of the leak, as evidence
    assert "已保存第 1 张照片" in assistant.last_text
    await assistant.tap("下一步")
    await assistant.send("很多")
    assert "请输入金额" in assistant.last_text
    await assistant.send("120")
    await assistant.send("0")
    assert "可退金额 ¥1,880.00" in assistant.last_text
    renos = RenovationStore(world.db)
    assert [(e.kind, e.amount_fen) for e in await renos.ledger(ren_id)] == [
        (Entry.COLLECTED, 200_000), (Entry.UTILITIES, 12_000),
    ]  # fmt: skip
    memo = await CompletionStore(world.db).memo(ren_id)
    assert memo is not None and json.loads(memo["checklist"])["leaks"] is True
    [checked] = [e for e in await audit.trail(world.db, f"renovation:{ren_id}")
                 if e["event"] == "renovation.refund_checked"]  # fmt: skip
    assert checked["data"]["photos"] == [hashlib.sha256(page(70)).hexdigest()]
    assert checked["data"]["flagged"] == ["leaks"]

    manager, cashier = bot.person(MANAGER, "钱振东"), bot.person(CASHIER, "何小芸")
    assert "可退金额 ¥1,880.00" in owner.last_text
    await cashier.tap_data(f"ren:rfa:{ren_id}")  # not the project manager
    assert "由项目经理审批" in alert(bot)
    await manager.tap_data(f"ren:rfa:{ren_id}")  # before the confirmations
    assert "还有人未确认" in alert(bot)
    await owner.tap("确认退款金额")
    await owner.tap_data(f"ren:rfy:{ren_id}")
    assert "已经确认过了" in alert(bot)
    await manager.tap("确认退款金额")  # as the project-centre head (nobody holds it)
    assert "请审批" in manager.last_text
    await manager.tap("批准退还押金")
    await cashier.tap("登记退款")
    assert "¥1,880.00" in cashier.last_text
    await cashier.send("FK-20270301")
    assert "已登记退款" in cashier.last_text
    assert await status_of(world, ren_id) == Status.CLOSED
    ledger = await renos.ledger(ren_id)
    assert ledger[-1].kind == Entry.REFUND and ledger[-1].amount_fen == 188_000
    assert balance(ledger).held_fen == 0
    assert "押金已退还 ¥1,880.00" in owner.last_text and "FK-20270301" in owner.last_text
    await cashier.tap_data(f"ren:rfp:{ren_id}")  # again: nothing to pay
    assert "不在押金退还阶段" in alert(bot)
    assert len(await renos.ledger(ren_id)) == len(ledger)
    signed = [(s.step, s.role) for s in await renos.signatures(ren_id) if s.step == "R-21"]
    assert signed == [("R-21", "owner"), ("R-21", "project_centre_head"),
                      ("R-21", "project_manager")]  # fmt: skip
    assert "renovation.refund" in [
        e["event"] for e in await audit.trail(world.db, f"renovation:{ren_id}")
    ]
    assert await renos.open_for_unit((await renos.get(ren_id)).unit_id) is None  # type: ignore[union-attr]


async def test_r21_the_workers_ids_are_deleted_after_the_retention_period_and_audit_verifies(
    tmp_path: Path,
    world: World,
    bot: Harness,
    groups: dict[str, Group],
    owner: Person,
    clock: ManualClock,
) -> None:
    """Issue 11, item 7: a worker's ID number and photo stay after the refund for the
    estate's retention period (30 days, default), then they are deleted by a durable
    timer; the pass's row and checks stay; the audit trail never held the number and
    still verifies."""
    ren_id = await to_works(world, bot, groups, owner)
    await register_worker(owner)
    await owner.tap("申请竣工验收")
    await owner.tap("2026-11-30")
    await inspect_all(bot, groups["cs"])
    opens = datetime(2027, 2, 27, 9, 0, 1, tzinfo=SHANGHAI)
    await open_refund(world, clock, opens)
    await owner.tap("申请退还押金")
    assistant = bot.person(ASSISTANT, "周晓梅")
    await assistant.tap("退押金核查", chat=groups["cs"])
    await assistant.tap("下一步")
    await assistant.send("0")
    await assistant.send("0")
    manager = bot.person(MANAGER, "钱振东")
    await owner.tap("确认退款金额")
    await manager.tap("确认退款金额")
    await manager.tap("批准退还押金")
    cashier = bot.person(CASHIER, "何小芸")
    await cashier.tap("登记退款")
    await cashier.send("FK-1")
    assert await status_of(world, ren_id) == Status.CLOSED
    renos = RenovationStore(world.db)
    [kept] = await renos.passes(ren_id)
    assert kept.id_masked == "110***********002X" and kept.photo is not None
    assert services_of(world).evidence.path(kept.photo, display=True).exists()
    clocks = await CompletionStore(world.db).clocks(ren_id)
    [retention] = [c for c in clocks if c.rule == "id-retention"]
    await open_refund(world, clock, retention.due_at - timedelta(minutes=1))
    [kept] = await renos.passes(ren_id)
    assert kept.id_masked != ""  # not yet
    await open_refund(world, clock, retention.due_at + timedelta(minutes=1))
    [gone] = await renos.passes(ren_id)
    assert gone.id_masked == "" and gone.photo is None and gone.code == kept.code
    row = await world.db.fetchone(
        "SELECT id_number, photo_sha256, purged_at FROM renovation_passes WHERE id = ?",
        (gone.id,),
    )
    assert row is not None and row["id_number"] == "" and row["photo_sha256"] is None
    assert row["purged_at"] is not None
    trail = await audit.trail(world.db, f"renovation:{ren_id}")
    assert [e["event"] for e in trail].count("renovation.ids_deleted") == 1
    assert ID_NUMBER not in json.dumps(trail, ensure_ascii=False)
    [deleted] = [e for e in trail if e["event"] == "renovation.ids_deleted"]
    store = services_of(world).evidence
    assert kept.photo is not None and not store.path(kept.photo, display=True).exists()
    assert deleted["data"]["files_erased"]  # the original and its display copy
    for sha in deleted["data"]["files_erased"]:
        assert not store.path(sha).exists() and not store.path(sha, display=True).exists()
    report = await audit.verify(world.db)  # check-audit: the chain and the files
    assert report.ok
    files = await verify_files(world.db, store)
    assert files.ok and files.files > 0
    copied = backup(world.db.path, world.settings.data_dir, tmp_path / "backups", keep=1,
                    now=datetime(2027, 4, 1, tzinfo=SHANGHAI))  # fmt: skip
    assert not copied.problems  # a backup does not look for the deleted bytes


async def test_r21_the_contractors_claim_needs_the_owners_consent_and_all_three_confirm(
    world: World,
    bot: Harness,
    groups: dict[str, Group],
    owner: Person,
    clock: ManualClock,
) -> None:
    """R-21: the owner delegated to the contractor's site head, who joined: when the refund
    opens the head is told too and claims it; customer service's check waits for the
    owner's consent; then the owner, the head and the project-centre head (the project
    manager) confirm, and only the third brings the approval; the refund is paid to the
    contractor."""
    head = bot.person(3001, "李工")
    ren_id = await to_works(world, bot, groups, owner, head)
    await owner.tap("申请竣工验收")
    await owner.tap("2026-11-30")
    await inspect_all(bot, groups["cs"])
    await open_refund(world, clock, datetime(2027, 3, 1, 9, 30, tzinfo=SHANGHAI))
    assert "施工方领取须经业主同意" in head.last_text
    await head.tap("申请退还押金")
    assert "如您同意由施工方领取" in owner.last_text
    cs = groups["cs"]
    assistant = bot.person(ASSISTANT, "周晓梅")
    await assistant.tap_data(f"ren:rfc:{ren_id}", chat=cs)
    assert "须先经业主同意" in alert(bot)
    await head.tap_data(f"ren:rfo:{ren_id}")  # only the owner consents
    assert "只有申请的业主本人" in alert(bot)
    await owner.tap("同意由施工方领取押金")
    assert "申请人：施工方" in assistant.messages(cs)[-1]["text"]
    await assistant.tap("退押金核查", chat=cs)
    await assistant.tap("下一步")
    await assistant.send("0")
    await assistant.send("0")
    assert "可退金额 ¥2,000.00" in head.last_text
    manager = bot.person(MANAGER, "钱振东")
    await owner.tap("确认退款金额")
    await manager.tap("确认退款金额")
    assert "请审批" not in manager.last_text  # the head has not confirmed yet
    await head.tap("确认退款金额")
    assert "请审批" in manager.last_text
    await manager.tap("批准退还押金")
    cashier = bot.person(CASHIER, "何小芸")
    await cashier.tap("登记退款")
    await cashier.send("FK-2")
    assert await status_of(world, ren_id) == Status.CLOSED
    trail = await audit.trail(world.db, f"renovation:{ren_id}")
    [paid] = [e for e in trail if e["event"] == "renovation.refund"]
    assert paid["data"]["payee"] == "contractor" and paid["data"]["amount_fen"] == 200_000
    signed = [
        s.role for s in await RenovationStore(world.db).signatures(ren_id) if s.step == "R-21"
    ]
    assert signed == ["owner", "owner", "project_centre_head", "contractor", "project_manager"]
