"""Renovation's first step through the bot and a fake Telegram: an owner applies with
photos (R-1..R-3), customer service marks one document invalid and the owner fixes it,
the application is complete, engineering gets the file (R-5), both heads approve (R-4) and
the owner accepts the terms (R-7); a second application for the unit is refused; R-4's
clock warns, then escalates once; only the heads may sign."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import re
import sqlite3
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from bot.__main__ import main
from handlers.renovation_permit import draw_pass_qr, draw_permit, pass_link, permit_lines
from procedures.renovation import REQUIRED, Entry, Form, Renovation, Status
from procedures.renovation_settings import RenovationSettings
from storage import audit
from storage.clock import ManualClock
from storage.renovation import RenovationStore
from storage.renovation_patrol import PatrolStore, verify_patrols
from tests.conftest import ADMIN_ID, World
from tests.support.app import services_of, sweeper_of
from tests.support.renovation_steps import (
    ASSISTANT,
    CUSTOMER_HEAD,
    ENGINEER_HEAD,
    MANAGER,
    alert,
    enter,
    latest,
    page,
)
from tests.support.renovation_steps import customer_head as customer_head  # the fixture
from tests.support.telegram import Group, Harness, Person

pytestmark = pytest.mark.usefixtures("customer_head")


async def fill_in(owner: Person, starts: str = "2026-12-01") -> None:
    """R-1, R-2: /renovate, the unit, the form (works from ``starts``), the scope and the
    commitment letter."""
    await owner.send("/renovate")
    await owner.tap("1栋 101")
    await owner.send(starts)
    await owner.send("2027-02-28")
    await owner.send("安居装饰")
    await owner.send("李工")
    await owner.send("138 0013 8000")
    await owner.tap("墙面")
    await owner.tap("地面")
    await owner.tap("完成")
    await owner.tap("本人确认承诺书")


async def apply(owner: Person, starts: str = "2026-12-01") -> None:
    """R-1..R-3: the form, a photo for each document, submitted."""
    await fill_in(owner, starts)
    for index, _ in enumerate(REQUIRED):
        await owner.send_photo(page(index))
    await owner.tap("提交申请")


async def check_all(assistant: Person, cs: Group, invalid: str | None = None) -> None:
    """R-3: customer service opens each document and marks it valid (``invalid``: that
    one without a fresh seal)."""
    for name in ("平面图", "天花图", "水电管线图", "弱电图", "剖面图", "施工负责人身份证",
                 "营业执照", "施工资质证书"):  # fmt: skip
        await assistant.tap(name, chat=cs)
        if name == invalid:
            await assistant.tap("无效", chat=cs)
            await assistant.tap("没有施工单位鲜章", chat=cs)
        else:
            await assistant.tap("有效", chat=cs)


async def test_r1_r3_r4_r5_r7_an_owner_applies_with_photos_and_two_heads_approve(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """R-1..R-5, R-7: the whole first step, as people do it."""
    await owner.send("/renovate")
    assert any("装修申报须知" in text for text in owner.texts())  # the guide
    assert "施工资质证书" in owner.texts()[-2]  # and the checklist
    await owner.send("/cancel")
    await fill_in(owner)
    assert "ZX-20261127-0001" in owner.last_text and "平面图" in owner.last_text
    for index, _ in enumerate(REQUIRED[:3]):
        await owner.send_photo(page(index))
    await owner.send("这是文字")  # wrong input: a polite hint, nothing kept
    assert "请发送资料的照片或图片文件" in owner.last_text
    await owner.tap("提交申请")  # five documents still missing: refused, politely
    assert "还有资料没有上传" in alert(bot)
    for index, _ in enumerate(REQUIRED[3:], 3):
        await owner.send_photo(page(index))
    await owner.tap("提交申请")
    assert "已提交" in owner.last_text
    ren_id = await latest(world)
    cs, eng = groups["cs"], groups["eng"]
    card = bot.person(ASSISTANT, "周晓梅").messages(cs)[-1]
    assert "新的装修申请" in card["text"] and "李工" in card["text"]

    assistant = bot.person(ASSISTANT, "周晓梅")
    await check_all(assistant, cs, invalid="平面图")
    assert "“平面图”未通过审核：没有施工单位鲜章" in owner.last_text  # the owner is told why
    renos = RenovationStore(world.db)
    ren = await renos.get(ren_id)
    assert ren is not None and ren.status == Status.SUBMITTED

    await owner.tap("重新上传")  # the owner fixes it (and leaves 完成 untapped for now)
    await owner.send_photo(page(20))
    assert "业主已补交" in assistant.messages(cs)[-1]["text"]
    await assistant.tap("平面图", chat=cs)
    await assistant.tap("有效", chat=cs)
    ren = await renos.get(ren_id)
    assert ren is not None and ren.status == Status.COMPLETE  # the checklist decides
    assert "资料已齐全" in owner.last_text
    eng_texts = [m.get("text") or m.get("caption") or "" for m in assistant.messages(eng)]
    assert any("送工程部审核" in text for text in eng_texts)  # the file
    assert any("申请资料" in text for text in eng_texts)  # with its documents' photos

    # only the heads sign; an assistant or an admin, as such, cannot.
    await assistant.tap_data(f"ren:ap:{ren_id}", chat=cs)
    assert "客户部负责人和工程部负责人审批" in alert(bot)
    await bot.person(ADMIN_ID, "管理员").tap_data(f"ren:ap:{ren_id}", chat=cs)
    assert "客户部负责人和工程部负责人审批" in alert(bot)

    engineer = bot.person(ENGINEER_HEAD, "冯立")
    await engineer.tap("批准")
    await engineer.send("水电走向合理")
    assert "已批准" in engineer.last_text
    head = bot.person(CUSTOMER_HEAD, "李淑芬")
    assert "工程部负责人已批准" in head.last_text
    await head.tap("批准")
    await head.tap("无意见")
    assert "已获批准" in owner.last_text
    await owner.tap("接受审批条款")
    ren = await renos.get(ren_id)
    assert ren is not None and ren.status == Status.TERMS_ACCEPTED
    await owner.tap("完成")  # the re-upload's 完成, long after the check: nothing to re-check
    assert "已失效" in owner.last_text and "重新审核" not in owner.last_text
    assert "已接受装修申请" in assistant.messages(cs)[-1]["text"]

    signed = await renos.signatures(ren_id)
    assert [(s.step, s.role, s.approved) for s in signed] == [
        ("R-4", "engineering_head", True),
        ("R-4", "customer_head", True),
        ("R-7", "owner", True),
    ]
    assert signed[0].comment == "水电走向合理"
    clocks = await renos.clocks(ren_id)
    assert [(c.rule, c.state) for c in clocks] == [("R-4", "met")]
    trail = await audit.trail(world.db, f"renovation:{ren_id}")
    hashes = [e for e in trail if e["event"] == "evidence.attached"]
    assert len(hashes) == 9  # every file kept by its SHA-256, the fixed one too

    # one open renovation per unit: a second application is refused.
    await owner.send("/renovate")
    await owner.tap("1栋 101")
    assert "已有一份装修申请" in owner.last_text


async def test_r4_the_clock_warns_the_heads_then_escalates_once(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """R-4: complete on Friday 27 November 2026 at 09:00: the heads still to sign are
    warned two working hours before Monday 09:00, and the project manager hears of the
    breach once, however often the sweeper runs."""
    await apply(owner)
    ren_id = await latest(world)
    await check_all(bot.person(ASSISTANT, "周晓梅"), groups["cs"])
    renos = RenovationStore(world.db)
    [clock] = await renos.clocks(ren_id)
    assert clock.rule == "R-4" and clock.warn_at is not None
    engineer = bot.person(ENGINEER_HEAD, "冯立")
    await engineer.tap("批准")
    await engineer.tap("无意见")  # one head signed; the other sits on it
    head, manager = bot.person(CUSTOMER_HEAD, "李淑芬"), bot.person(MANAGER, "钱振东")
    head_seen, engineer_seen = head.mark(), engineer.mark()

    async def sweep(at: datetime) -> int:
        acted = await sweeper_of(world, clock=lambda: at).sweep()
        await services_of(world).deliver()
        return acted

    assert await sweep(clock.warn_at + timedelta(seconds=1)) == 1
    assert any("即将超时" in t for t in head.texts(head_seen))
    assert not any("即将超时" in t for t in engineer.texts(engineer_seen))  # signed already
    assert await sweep(clock.due_at + timedelta(seconds=1)) == 1
    assert any("未按时审批" in t and "客户部负责人" in t for t in manager.texts())
    assert await sweep(clock.due_at + timedelta(days=1)) == 0  # once
    trail = await audit.trail(world.db, f"renovation:{ren_id}")
    assert [e["event"] for e in trail].count("renovation.deadline_missed") == 1
    # still decidable after the breach: the approval stops nothing twice
    await head.tap("批准")
    await head.tap("无意见")
    ren = await renos.get(ren_id)
    assert ren is not None and ren.status == Status.APPROVED


async def test_r4_a_head_rejects_with_reasons_and_the_owner_is_told(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """R-4: a rejection needs its reasons (a polite ask), reaches the owner, and frees the
    unit for a new application."""
    await apply(owner)
    ren_id = await latest(world)
    await check_all(bot.person(ASSISTANT, "周晓梅"), groups["cs"])
    head = bot.person(CUSTOMER_HEAD, "李淑芬")
    await head.tap("驳回")
    await head.send_photo(page(1))  # not a text: asked again
    assert "请用文字回复" in head.last_text
    await head.send("拆改承重墙，不予批准")
    assert "已驳回" in head.last_text
    assert "未获批准" in owner.last_text and "拆改承重墙" in owner.last_text
    ren = await RenovationStore(world.db).get(ren_id)
    assert ren is not None and ren.status == Status.REJECTED
    await bot.person(ENGINEER_HEAD, "冯立").tap_data(f"ren:ap:{ren_id}")
    assert "不在审批阶段" in alert(bot)
    await owner.send("/renovate")
    await owner.tap("1栋 101")
    assert "请输入开工日期" in owner.last_text  # the unit is free again


async def test_r2_wrong_input_gets_a_polite_hint_and_changes_nothing(
    world: World, bot: Harness, owner: Person
) -> None:
    """R-2: a date in the past, a period backwards, a bad phone, no scope ticked: each is
    asked again with a hint; nothing is stored until the commitment is confirmed."""
    await owner.send("/renovate")
    await owner.tap("1栋 101")
    await owner.send("明天")
    assert "没看懂这个日期" in owner.last_text
    await owner.send("2026-11-01")
    assert "不能早于今天" in owner.last_text
    await owner.send("2026-12-01")
    await owner.send("2026-11-30")
    assert "不能早于开工日期" in owner.last_text
    await owner.send("2026-12-31")
    await owner.send("安居装饰")
    await owner.send("李工")
    await owner.send("12345")
    assert "号码看起来不对" in owner.last_text
    await owner.send("13800138000")
    await owner.tap("完成")
    assert "至少勾选一项" in alert(bot)
    assert await world.db.fetchone("SELECT id FROM renovations") is None
    tenant_like = bot.person(2999, "路人")
    await tenant_like.send("/renovate")
    assert "由业主本人办理" in tenant_like.last_text


# --- step 2: agreement and rules (R-8, R-9) ----------------------------------------------------

CASHIER, GUARD = 9006, 9005


async def to_terms(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person, starts: str = "2026-12-01"
) -> int:
    """Step 1 done: applied, checked, both heads approved, the terms accepted (R-1..R-7)."""
    await apply(owner, starts)
    ren_id = await latest(world)
    await check_all(bot.person(ASSISTANT, "周晓梅"), groups["cs"])
    for head_id, name in ((ENGINEER_HEAD, "冯立"), (CUSTOMER_HEAD, "李淑芬")):
        head = bot.person(head_id, name)
        await head.tap("批准")
        await head.tap("无意见")
    await owner.tap("接受审批条款")
    return ren_id


async def test_r8_r9_the_owner_reads_the_rules_and_signs_the_agreement_and_fire_safety(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """R-8, R-9: after the terms, the owner reads the agreement, the regulations with the
    prohibitions and the estate's working and moving hours, and the fire-safety
    responsibility agreement, and signs them by button: agreement signed, both signatures
    kept (R-9's with the hours shown); customer service is told; a second press changes
    nothing."""
    ren_id = await to_terms(world, bot, groups, owner)
    await owner.tap("阅读并签署装修协议")
    papers = owner.last_text
    assert "装修管理服务协议" in papers and "安全防火责任书" in papers
    assert "施工时间：08:00–12:00、14:00–18:00" in papers  # the estate's hours (defaults)
    assert "搬运时间：08:00–20:00" in papers
    assert "防护栏" in papers and "外立面" in papers  # the prohibitions
    stranger = bot.person(2999, "路人")
    await stranger.send("/start")
    await stranger.tap_data(f"ren:agr:{ren_id}")
    assert "由业主本人签署" in alert(bot)
    await owner.tap("签署协议和防火责任书")
    ren = await RenovationStore(world.db).get(ren_id)
    assert ren is not None and ren.status == Status.AGREEMENT_SIGNED
    assert "装修协议" in owner.last_text and "收银处" in owner.last_text
    assert (
        "安全防火责任书已签署" in bot.person(ASSISTANT, "周晓梅").messages(groups["cs"])[-1]["text"]
    )
    signed = await RenovationStore(world.db).signatures(ren_id)
    assert [(s.step, s.role) for s in signed[-2:]] == [("R-8", "owner"), ("R-9", "owner")]
    assert signed[-1].version == "work 08:00–12:00, 14:00–18:00; moving 08:00–20:00"
    await owner.tap_data(f"ren:agr:{ren_id}")  # again: refused politely, nothing twice
    assert "不在签署协议的阶段" in alert(bot)
    assert len(await RenovationStore(world.db).signatures(ren_id)) == len(signed)


async def test_r8_the_contractor_head_signs_by_the_owners_invite_link(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """R-8: the owner delegates the signature: a one-time link for the contractor's head,
    who joins scoped to this renovation (no estate role), reads the papers and signs as the
    contractor; the link works once."""
    ren_id = await to_terms(world, bot, groups, owner)
    await owner.tap("委托施工负责人签署")
    assert "李工" in owner.last_text
    match = re.search(r"start=ct_([A-Za-z0-9_-]+)", owner.last_text)
    assert match is not None
    head = bot.person(3001, "李工")
    await head.send("/start")
    await head.tap_data(f"ren:agr:{ren_id}")  # not joined yet: refused
    assert "由业主本人签署" in alert(bot)
    await head.send(f"/start ct_{match.group(1)}")
    assert any("施工负责人加入装修申请" in t for t in head.texts())
    assert "安全防火责任书" in head.last_text
    assert "施工负责人已通过您的链接加入" in owner.last_text
    await head.tap("签署协议和防火责任书")
    assert "代业主签署" in head.last_text
    ren = await RenovationStore(world.db).get(ren_id)
    assert ren is not None and ren.status == Status.AGREEMENT_SIGNED
    signed = await RenovationStore(world.db).signatures(ren_id)
    assert [(s.step, s.role) for s in signed[-2:]] == [("R-8", "contractor"), ("R-9", "contractor")]
    roles = await world.db.fetchall(
        "SELECT m.role FROM memberships m JOIN people p ON p.id = m.person_id"
        " WHERE p.tg_user_id = 3001"
    )
    assert roles == []  # scoped to the renovation, no estate role
    other = bot.person(3002, "另一人")
    await other.send(f"/start ct_{match.group(1)}")
    assert "已经用过" in other.last_text


# --- step 2: fees and the deposit ledger (R-10, R-16, R-21) ------------------------------------


async def to_agreement(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person, starts: str = "2026-12-01"
) -> int:
    """Through the agreement: the owner signed it (R-8, R-9)."""
    ren_id = await to_terms(world, bot, groups, owner, starts)
    await owner.tap("阅读并签署装修协议")
    await owner.tap("签署协议和防火责任书")
    return ren_id


async def test_r10_the_cashier_shows_the_scale_computes_the_lines_and_records_the_receipt(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """R-10: the cashier gets the signed renovation, shows the published scale (each item
    explained, the unit's area), types the workers and gets the computed lines, then the
    receipt number: fees paid, each line kept, the deposit in the ledger; bad input is asked
    again politely; nobody but the cashier may collect."""
    ren_id = await to_agreement(world, bot, groups, owner)
    cashier = bot.person(CASHIER, "何小芸")
    assert "请向业主出示收费标准" in cashier.last_text
    await bot.person(ASSISTANT, "周晓梅").tap_data(f"ren:fee:{ren_id}", chat=groups["cs"])
    assert "由收银员收取" in alert(bot)
    await cashier.tap("收费")
    assert "装修押金 ¥2,000.00" in cashier.last_text
    assert "¥5.00/m²（本户 104 m²）" in cashier.last_text  # 1栋 101: 104 m² on the roster
    await cashier.send("三个")
    assert "请输入人数" in cashier.last_text
    await cashier.send("3")
    lines = cashier.last_text
    assert "管理服务费：¥520.00" in lines and "出入证：¥30.00" in lines
    assert "合计：<b>¥2,850.00</b>" in lines or "合计：¥2,850.00" in lines
    await cashier.send("SJ-20261127-01")
    assert "已登记" in cashier.last_text
    renos = RenovationStore(world.db)
    ren = await renos.get(ren_id)
    assert ren is not None and ren.status == Status.FEES_PAID
    fees = await renos.fees(ren_id)
    assert [(f["item"], f["amount_fen"], f["receipt"]) for f in fees] == [
        ("deposit", 200_000, "SJ-20261127-01"),
        ("management", 52_000, "SJ-20261127-01"),
        ("debris", 30_000, "SJ-20261127-01"),
        ("passes", 3_000, "SJ-20261127-01"),
    ]
    assert [(e.kind, e.amount_fen) for e in await renos.ledger(ren_id)] == [("collected", 200_000)]
    assert "¥2,850.00" in owner.last_text and "SJ-20261127-01" in owner.last_text
    await cashier.tap_data(f"ren:fee:{ren_id}")  # again: nothing to collect
    assert "不在缴费阶段" in alert(bot)


async def test_r16_r21_deductions_beyond_the_deposit_show_the_cashier_what_the_owner_owes(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """R-16, R-21: the ledger is append-only (the database refuses edits and deletions, and
    a deduction beyond the balance); a penalty and utilities beyond the deposit leave it at
    zero and the excess as arrears, which the cashier reads in the ledger."""
    ren_id = await to_agreement(world, bot, groups, owner)
    cashier = bot.person(CASHIER, "何小芸")
    await cashier.tap("收费")
    await cashier.send("2")
    await cashier.send("SJ-7")
    renos = RenovationStore(world.db)
    await renos.post(ren_id, Entry.PENALTY, 150_000, reference="WZ-1", by=None)
    posting = await renos.post(ren_id, Entry.UTILITIES, 80_000, reference="SD-1", by=None)
    assert posting is not None and posting.clamped and posting.excess_fen == 30_000
    await cashier.tap("押金台账")
    shown = cashier.last_text
    assert "押金余额：<b>¥0.00</b>" in shown or "押金余额：¥0.00" in shown
    assert "业主欠款" in shown and "¥300.00" in shown
    for sql in (
        "UPDATE renovation_deposit SET amount_fen = 1",
        "DELETE FROM renovation_deposit",
        f"INSERT INTO renovation_deposit(renovation_id, kind, amount_fen, at)"
        f" VALUES ({ren_id}, 'refund', 1, '2026-12-01T00:00:00+00:00')",
    ):
        with pytest.raises(sqlite3.IntegrityError):
            async with world.db.write() as conn:
                await conn.execute(sql)
    trail = await audit.trail(world.db, f"renovation:{ren_id}")
    events = [e["event"] for e in trail]
    assert "renovation.deposit_collected" in events and "renovation.deposit_utilities" in events


# --- step 2: the works permit and worker passes (R-11, S-1) ------------------------------------

ID_NUMBER = "11010519491231002X"


async def to_fees(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person, starts: str = "2026-12-01"
) -> int:
    """Through the fees: the cashier collected them (R-10)."""
    ren_id = await to_agreement(world, bot, groups, owner, starts)
    cashier = bot.person(CASHIER, "何小芸")
    await cashier.tap("收费")
    await cashier.send("2")
    await cashier.send("SJ-9")
    return ren_id


async def register_worker(owner: Person) -> str:
    """R-11: the owner registers 张三 for a pass; its code."""
    await owner.tap("登记施工人员出入证")
    await owner.send("张三")
    await owner.send("123456")  # not an ID number: asked again
    assert "身份证号码不对" in owner.last_text
    await owner.send(ID_NUMBER)
    await owner.send("139 0013 9000")
    await owner.send_photo(page(30))
    card = owner.last_text
    assert "张三" in card and "110***********002X" in card and ID_NUMBER not in card
    match = re.search(r"出入证 (?:<b>)?([A-Z0-9]{6})", card)
    assert match is not None
    return match.group(1)


async def test_r11_the_permit_image_goes_to_the_owner_who_registers_a_worker(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """R-11: once the fees are paid customer service issues the works permit: a PNG (the
    unit, the period, the hours, the contractor's head, the service phone) the owner posts
    outside the door; the owner registers a worker (ID checked, shown masked) and gets the
    pass's code; the ID number stays out of the audit trail."""
    ren_id = await to_fees(world, bot, groups, owner)
    assistant = bot.person(ASSISTANT, "周晓梅")
    await bot.person(CASHIER, "何小芸").tap_data(f"ren:permit:{ren_id}")
    assert "由客服中心发放" in alert(bot)
    await assistant.tap("发放施工进场证", chat=groups["cs"])
    ren = await RenovationStore(world.db).get(ren_id)
    assert ren is not None and ren.status == Status.PERMITTED
    photos = [c for c in bot.api.calls_of("sendPhoto") if c.params.get("chat_id") == owner.user_id]
    assert photos and "施工进场证" in str(photos[-1].params.get("caption"))
    [upload] = photos[-1].files.values()
    permit = Image.open(io.BytesIO(upload.content))
    assert permit.format == "PNG" and permit.size == (900, 1273)
    assert "张贴在门外" in owner.last_text
    code = await register_worker(owner)
    [worker] = await RenovationStore(world.db).passes(ren_id)
    assert worker.code == code and worker.valid_from.isoformat() == "2026-12-01"
    trail = await audit.trail(world.db, f"renovation:{ren_id}")
    assert "renovation.pass_issued" in [e["event"] for e in trail]
    assert ID_NUMBER not in json.dumps(trail, ensure_ascii=False)


async def test_s1_a_guard_checks_passes_admitted_or_refused_with_the_reason_each_logged(
    world: World,
    bot: Harness,
    groups: dict[str, Group],
    owner: Person,
    clock: ManualClock,
) -> None:
    """S-1: a guard checks `/pass CODE`: not yet valid before the works start; admitted in
    working hours; refused at lunchtime (out of hours), when the renovation is suspended,
    once revoked, after the period (expired), and for an unknown code; only guards check;
    every check is kept and audited without the ID number."""
    ren_id = await to_fees(world, bot, groups, owner)
    await bot.person(ASSISTANT, "周晓梅").tap("发放施工进场证", chat=groups["cs"])
    code = await register_worker(owner)
    guard = bot.person(GUARD, "陈保华")

    async def check(at: datetime, typed: str = code) -> str:
        clock.set(at)
        await guard.send(f"/pass {typed}")
        return guard.last_text

    shanghai = ZoneInfo("Asia/Shanghai")
    assert "尚未生效" in await check(datetime(2026, 11, 30, 10, tzinfo=shanghai))
    assert "放行" in await check(datetime(2026, 12, 1, 10, tzinfo=shanghai), code.lower())
    assert any("张三 的照片" in (m.get("caption") or "") for m in guard.messages())
    assert "不是施工时间" in await check(datetime(2026, 12, 1, 12, 30, tzinfo=shanghai))
    async with world.db.write() as conn:  # works stopped (a serious violation, later steps)
        await conn.execute("UPDATE renovations SET status = 'suspended' WHERE id = ?", (ren_id,))
    assert "已停工" in await check(datetime(2026, 12, 2, 10, tzinfo=shanghai))
    async with world.db.write() as conn:
        await conn.execute("UPDATE renovations SET status = 'active' WHERE id = ?", (ren_id,))
    assert "✅ 放行" in await check(datetime(2026, 12, 2, 10, tzinfo=shanghai))
    assert "已过期" in await check(datetime(2027, 3, 1, 10, tzinfo=shanghai))
    await owner.tap("注销出入证")
    assert "已注销" in owner.last_text
    assert "出入证已注销" in await check(datetime(2026, 12, 3, 10, tzinfo=shanghai))
    assert "查无此证" in await check(datetime(2026, 12, 3, 10, tzinfo=shanghai), "ZZZZZZ")
    await guard.send("/pass")
    assert "请在 /pass 后输入出入证号" in guard.last_text
    await owner.send(f"/pass {code}")  # not a guard
    assert "由门岗保安核验" in owner.last_text
    renos = RenovationStore(world.db)
    reasons = [c["reason"] for c in await renos.checks(code)]
    assert reasons == ["not_yet", "admitted", "out_of_hours", "suspended", "admitted",
                       "expired", "revoked"]  # fmt: skip
    assert [c["reason"] for c in await renos.checks("ZZZZZZ")] == ["unknown"]
    trail = await audit.trail(world.db, f"renovation:{ren_id}")
    assert [e["event"] for e in trail].count("renovation.pass_checked") == 7
    assert ID_NUMBER not in json.dumps(trail, ensure_ascii=False)


async def test_s1_a_pass_comes_with_a_qr_code_a_guard_scans_to_check_it(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """S-1 (issue 11, item 7): the owner gets the pass's QR code (its deep link) before its
    card, to forward to the worker; a guard's phone scanning it opens ``/start pass_CODE``
    and the pass is checked as ``/pass`` checks it; anyone else scanning it learns nothing."""
    await to_fees(world, bot, groups, owner)
    await bot.person(ASSISTANT, "周晓梅").tap("发放施工进场证", chat=groups["cs"])
    code = await register_worker(owner)
    sent = [c for c in bot.api.calls_of("sendPhoto") if c.params.get("chat_id") == owner.user_id]
    assert f"出入证 <b>{code}</b> 的二维码" in str(sent[-1].params.get("caption"))
    [upload] = sent[-1].files.values()
    link = pass_link(str(bot.api.bot_user["username"]), code)
    assert upload.content == draw_pass_qr(link)  # the code holds the pass's deep link
    assert link.endswith(f"?start=pass_{code}")
    assert "张三" in owner.last_text  # the card came after the code
    guard = bot.person(GUARD, "陈保华")
    await guard.send(f"/start pass_{code}")  # the works begin on 12-01: checked, not yet
    assert f"不予放行：出入证 {code}，出入证尚未生效" in guard.last_text
    await owner.send(f"/start pass_{code}")  # not a guard: nothing about the worker
    assert "张三" not in owner.last_text and "保安" in owner.last_text
    checks = await world.db.fetchall("SELECT code, by_id FROM renovation_pass_checks")
    assert [r["code"] for r in checks] == [code]  # the guard's check, logged; not the owner's


def test_r11_the_permit_shows_the_unit_period_hours_head_and_the_service_phone() -> None:
    """R-11: the permit's lines: the unit, the period, the permitted hours, the contractor's
    head, and the estate's service phone for emergencies (or where to call without one)."""
    form = Form(date(2026, 12, 1), date(2027, 2, 28), "安居装饰", "李工", "+8613800138000", ())
    ren = Renovation(1, "ZX-20261127-0001", 1, 1, "1栋 101", 1, Status.PERMITTED, form)
    title, lines = permit_lines("zh-Hans", ren, RenovationSettings(service_phone="021-5555 0000"),
                                "2026-11-27")  # fmt: skip
    assert title == "施工进场证"
    shown = "\n".join(lines)
    for part in ("房号：1栋 101", "工期：2026-12-01 至 2027-02-28",
                 "施工时间：08:00–12:00、14:00–18:00", "施工负责人：李工",
                 "物业服务电话（紧急情况）：021-5555 0000"):  # fmt: skip
        assert part in shown
    _, plain = permit_lines("zh-Hans", ren, RenovationSettings(), "2026-11-27")
    assert "请联系物业客服中心" in "\n".join(plain)
    assert draw_permit(title, lines)[:8] == b"\x89PNG\r\n\x1a\n"


ENGINEER = 9003


async def to_works(world: World, bot: Harness, groups: dict[str, Group], owner: Person) -> int:
    """Through the permit and the entry inspection (all in order, both sides confirmed by
    button, R-12) on the works period's first day (today): active, the patrols due."""
    ren_id = await to_fees(world, bot, groups, owner, starts="2026-11-27")
    await bot.person(ASSISTANT, "周晓梅").tap("发放施工进场证", chat=groups["cs"])
    await enter(bot, groups, owner)
    return ren_id


async def test_r14_r18_the_works_begin_and_each_department_patrols_its_list_in_one_tap(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """R-14, R-18: the works begin after the entry inspection (the owner is told); an
    engineer's /patrol lists the unit, one tap opens it, "all in order" records the patrol
    in one more tap and it leaves the engineer's list but not customer service's; a second
    patrol the same day is refused; an owner has no /patrol."""
    ren_id = await to_works(world, bot, groups, owner)
    ren = await RenovationStore(world.db).get(ren_id)
    assert ren is not None and ren.status == Status.ACTIVE
    assert "入场通知单" in owner.texts()[-2]  # then the thanks for their confirmation
    engineer = bot.person(ENGINEER, "郑海")
    await engineer.send("/patrol")
    assert "工程部还需巡查 1 户" in engineer.last_text
    await engineer.tap("1栋 101")
    assert "安居装饰" in engineer.last_text and "今天已巡查：暂无" in engineer.last_text
    await engineer.tap("一切正常")
    assert "已记录巡查" in engineer.last_text
    await engineer.tap_data(f"ren:po:{ren_id}")  # the same department again today
    assert "今天工程部已经巡查过这一户了" in alert(bot)
    await engineer.send("/patrol")
    assert "工程部的装修巡查都已完成" in engineer.last_text
    assistant = bot.person(ASSISTANT, "周晓梅")
    await assistant.send("/patrol")  # customer service's list still has it
    assert "客服中心还需巡查 1 户" in assistant.last_text
    await assistant.tap("1栋 101")
    assert "今天已巡查：工程部" in assistant.last_text
    await owner.send("/patrol")
    assert "装修巡查由客服助理、工程部和保安部负责" in owner.last_text
    patrols = await PatrolStore(world.db).patrols(ren_id)
    assert [(p.department, p.result) for p in patrols] == [("engineering", "ok")]
    trail = await audit.trail(world.db, f"renovation:{ren_id}")
    events = [e["event"] for e in trail]
    assert "renovation.confirm_entry" in events and "renovation.start_works" in events
    assert events.count("renovation.patrolled") == 1


async def test_r15_r14_a_minor_violation_is_a_photo_and_a_line_kept_as_evidence(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """R-15 (minor), R-14: a guard's "violation" asks for a photo and a line; the photo with
    its caption records it, the original kept under its SHA-256 (named in the audit event)
    and a watermarked copy for display; a line alone first waits for the photo."""
    ren_id = await to_works(world, bot, groups, owner)
    guard = bot.person(GUARD, "陈保华")
    await guard.send("/patrol")
    await guard.tap("1栋 101")
    await guard.tap("有违规")
    assert "请拍一张违规现场的照片" in guard.last_text
    await guard.send_photo(page(40), caption="楼道堆放建材")
    assert "已记录违规" in guard.last_text and "楼道堆放建材" in guard.last_text
    [kept] = await PatrolStore(world.db).patrols(ren_id)
    assert kept.department == "security" and kept.result == "minor"
    assert kept.note == "楼道堆放建材" and kept.photo_display is not None
    trail = await audit.trail(world.db, f"renovation:{ren_id}")
    [event] = [e for e in trail if e["event"] == "renovation.patrolled"]
    original = event["data"]["photo"]
    assert original != kept.photo_display  # the display copy is watermarked, apart
    assert hashlib.sha256(page(40)).hexdigest() == original
    # engineering: the line first, then the photo
    engineer = bot.person(ENGINEER, "郑海")
    await engineer.send("/patrol")
    await engineer.tap("1栋 101")
    await engineer.tap("有违规")
    await engineer.send("电线裸露")
    assert "请发送违规现场的照片" in engineer.last_text
    await engineer.send_photo(page(41))
    assert "已记录违规" in engineer.last_text and "电线裸露" in engineer.last_text
    assert len(await PatrolStore(world.db).patrols(ren_id)) == 2


async def test_r14_r18_check_audit_catches_a_patrol_record_edited_or_deleted(
    world: World,
    bot: Harness,
    groups: dict[str, Group],
    owner: Person,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """R-14, R-18 (evidence): the photo is kept byte for byte as received (the watermark is
    on the display copy only); a minor violation turned into "all in order" in the
    database, or an engineer's patrol deleted, makes ``check-audit`` fail and name it."""
    await to_works(world, bot, groups, owner)
    guard, engineer = bot.person(GUARD, "陈保华"), bot.person(ENGINEER, "郑海")
    await guard.send("/patrol")
    await guard.tap("1栋 101")
    await guard.tap("有违规")
    await guard.send_photo(page(40), caption="楼道堆放建材")
    await engineer.send("/patrol")
    await engineer.tap("1栋 101")
    await engineer.tap("一切正常")
    original = hashlib.sha256(page(40)).hexdigest()
    store = services_of(world).evidence
    assert store.path(original).read_bytes() == page(40)  # the original, untouched
    monkeypatch.setenv("WUYE_DB", str(world.settings.db))
    monkeypatch.setenv("WUYE_DATA_DIR", str(world.settings.data_dir))
    assert await asyncio.to_thread(main, ["check-audit"]) == 0
    assert "Patrol records match the trail." in capsys.readouterr().out
    async with world.db.write() as conn:  # a violation quietly made "all in order"
        await conn.execute(
            "UPDATE renovation_patrols SET result = 'ok', note = NULL, photo_sha256 = NULL"
            " WHERE department = 'security'"
        )
        await conn.execute("DELETE FROM renovation_patrols WHERE department = 'engineering'")
    problems = {(p.department, p.problem) for p in await verify_patrols(world.db)}
    assert problems == {("security", "result"), ("security", "note"), ("security", "photo"),
                        ("engineering", "missing")}  # fmt: skip
    assert await asyncio.to_thread(main, ["check-audit"]) == 1
    said = capsys.readouterr().err
    assert "Patrol record RESULT" in said and "Patrol record MISSING" in said


async def test_r14_a_missing_department_patrol_warns_then_escalates_once(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """R-14: each department's patrol is due by the end of the working day: engineering
    and security patrol, customer service does not; customer service is warned before the
    end of the day, then the project manager hears of it, once however often the sweeper
    runs; the patrols met their clocks and the next working day's clocks run."""
    ren_id = await to_works(world, bot, groups, owner)
    for person_id, name in ((ENGINEER, "郑海"), (GUARD, "陈保华")):
        patroller = bot.person(person_id, name)
        await patroller.send("/patrol")
        await patroller.tap("1栋 101")
        await patroller.tap("一切正常")
    clocks = await PatrolStore(world.db).duty_clocks(ren_id)
    assert [c.state for c in clocks["engineering"]] == ["met", "pending"]
    assert [c.state for c in clocks["security"]] == ["met", "pending"]
    [clock] = clocks["customer_service"]
    assert clock.rule == "R-14" and clock.warn_at is not None
    assert clock.due_at == datetime(2026, 11, 27, 17, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    assistant, manager = bot.person(ASSISTANT, "周晓梅"), bot.person(MANAGER, "钱振东")
    cs_seen, manager_seen = len(assistant.messages(groups["cs"])), manager.mark()
    engineer_seen = len(assistant.messages(groups["eng"]))

    async def sweep(at: datetime) -> int:
        acted = await sweeper_of(world, clock=lambda: at).sweep()
        await services_of(world).deliver()
        return acted

    assert await sweep(clock.warn_at + timedelta(seconds=1)) == 1
    warned = [m["text"] for m in assistant.messages(groups["cs"])[cs_seen:]]
    assert any("客服中心今天还没有巡查" in text for text in warned)
    assert len(assistant.messages(groups["eng"])) == engineer_seen  # engineering patrolled
    assert await sweep(clock.due_at + timedelta(seconds=1)) == 1
    assert any("客服中心 2026-11-27 未巡查" in text for text in manager.texts(manager_seen))
    assert await sweep(clock.due_at + timedelta(minutes=5)) == 0  # once
    trail = await audit.trail(world.db, f"renovation:{ren_id}")
    assert [e["event"] for e in trail].count("renovation.patrol_missed") == 1
    clocks = await PatrolStore(world.db).duty_clocks(ren_id)
    assert [c.state for c in clocks["customer_service"]] == ["fired", "pending"]
    # the weekend's works are patrolled on Monday: the next clock is due Monday evening
    assert clocks["customer_service"][1].due_at == datetime(
        2026, 11, 30, 17, 30, tzinfo=ZoneInfo("Asia/Shanghai")
    )


async def test_r15_r16_a_serious_violation_tells_the_owner_before_the_contractor_then_the_penalty(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """R-15, R-16: an engineer's patrol finds a serious violation: a photo and a line, the
    date to rectify by and a proposed penalty make the rectification notice (the day's
    patrol too). The owner is told first; customer service telling the contractor's head
    before the owner understood is refused; the owner's button unlocks it. The project
    manager (only) approves the penalty: it is in the deposit ledger. The re-inspection
    closes the notice and the owner hears it."""
    ren_id = await to_works(world, bot, groups, owner)
    engineer = bot.person(ENGINEER, "郑海")
    await engineer.send("/patrol")
    await engineer.tap("1栋 101")
    await engineer.tap("严重违规")
    await engineer.send_photo(page(50), caption="擅自拆除承重墙")
    assert "整改期限" in engineer.last_text
    await engineer.send("2026-11-20")  # in the past: asked again
    assert "不早于今天" in engineer.last_text
    await engineer.send("12月5日")
    await engineer.send("很多")  # not an amount
    assert "请输入金额" in engineer.last_text
    await engineer.send("500")
    assert "已开违章整改单" in engineer.last_text and "¥500.00" in engineer.last_text
    assert "严重违规" in owner.last_text and "2026-12-05" in owner.last_text
    assert "R-1" not in owner.last_text  # residents never read rule ids
    for chat in (owner.user_id, groups["cs"].chat_id):  # the photo comes with the notice
        sent = [c for c in bot.api.calls_of("sendPhoto") if c.params.get("chat_id") == chat]
        assert len([c for c in sent if "现场照片" in str(c.params.get("caption"))]) == 1
    patrols = PatrolStore(world.db)
    [notice] = await patrols.notices(ren_id)
    assert notice.state == "issued" and notice.penalty_fen == 50000
    assert [p.result for p in await patrols.patrols(ren_id)] == ["serious"]

    cs = groups["cs"]
    assistant = bot.person(ASSISTANT, "周晓梅")
    await assistant.tap("通知施工负责人", chat=cs)  # before the owner: refused
    assert "请先告知业主" in alert(bot)
    assert (await patrols.notice(notice.id)).state == "issued"  # type: ignore[union-attr]
    await owner.tap("已知悉，支持整改")
    assert "业主已知悉并支持整改" in assistant.messages(cs)[-1]["text"]
    await assistant.tap("通知施工负责人", chat=cs)
    assert "李工" in alert(bot)
    assert (await patrols.notice(notice.id)).state == "contractor_told"  # type: ignore[union-attr]

    await engineer.tap_data(f"ren:npa:{notice.id}")  # not the project manager
    assert "罚款由项目经理审批" in alert(bot)
    manager = bot.person(MANAGER, "钱振东")
    assert any("拟罚款 ¥500.00" in text for text in manager.texts())
    await manager.tap("批准罚款")
    ledger = await RenovationStore(world.db).ledger(ren_id)
    assert [(e.kind, e.amount_fen) for e in ledger][-1] == (Entry.PENALTY, 50000)
    await manager.tap_data(f"ren:npa:{notice.id}")  # twice: decided already
    assert "已经审批过了" in alert(bot)
    assert len(await RenovationStore(world.db).ledger(ren_id)) == len(ledger)

    await assistant.tap("复查合格，结案", chat=cs)
    assert "复查整改合格" in owner.last_text
    assert (await patrols.notice(notice.id)).state == "closed"  # type: ignore[union-attr]
    trail = await audit.trail(world.db, f"renovation:{ren_id}")
    events = [e["event"] for e in trail]
    for event in ("renovation.notice_issued", "renovation.notice_owner_told",
                  "renovation.notice_contractor_told", "renovation.penalty_approved",
                  "renovation.deposit_penalty", "renovation.notice_closed"):  # fmt: skip
        assert event in events
    [issued] = [e for e in trail if e["event"] == "renovation.notice_issued"]
    assert issued["data"]["photo"] == hashlib.sha256(page(50)).hexdigest()
