"""Hot work (R-17) and temporary passes (S-1) through the bot and a fake Telegram: the owner
applies for a hot-work permit on active works, engineering approves (security is told, the
permit gets a code) or refuses with a reason; the gate admits welding gear only inside the
window while the works are active, every check logged; customer service issues a visitor's
temporary pass that admits once."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from handlers.renovation import card
from procedures.renovation_hotwork import HotState
from storage import audit
from storage.clock import ManualClock
from storage.renovation import RenovationStore
from storage.renovation_hotwork import HotWorkStore
from tests.conftest import World
from tests.support.cases import file_complaint, file_request, latest_case
from tests.support.renovation_hotwork import ASSISTANT, ENGINEER, GUARD, alert, to_works
from tests.support.renovation_hotwork import customer_head as customer_head  # the fixture
from tests.support.telegram import Group, Harness, Person

SHANGHAI = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.usefixtures("customer_head")


def code_in(text: str, prefix: str) -> str:
    """The permit's or pass's code shown in a message."""
    match = re.search(rf"\b({prefix}[A-Z0-9]{{5}})\b", text)
    assert match is not None, text
    return match.group(1)


async def apply_hot(owner: Person, extinguisher: str = "已配备灭火器") -> None:
    """R-17: /hotwork, the place, the window, welding, the operator and the certificate."""
    await owner.send("/hotwork")
    await owner.send("厨房")
    await owner.send("12-02 09:00-11:00")
    await owner.tap("电焊")
    await owner.send("王师傅")
    await owner.send("T-1234567")
    await owner.tap(extinguisher)


async def test_r17_hot_work_approved_by_engineering_admits_gear_only_in_its_window(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person, clock: ManualClock
) -> None:
    """R-17: on active works the owner applies (wrong input asked again); engineering's
    group gets it; a customer assistant cannot approve; an engineer approves: the owner gets
    the code, security hears of it; at the gate `/pass CODE` admits welding gear inside the
    window only: before it, after it, and with the works suspended it is refused with the
    reason; each check is logged and audited."""
    ren_id = await to_works(world, bot, groups, owner)
    await owner.send("/hotwork")
    await owner.send("厨房")
    await owner.send("明天早上")  # not a window: asked again, nothing kept
    assert "没有看懂" in owner.last_text
    await owner.send("2026-11-27 07:00-08:00")  # a window already over: asked again
    assert "动火时段已经过去" in owner.last_text
    await owner.send("12-02 09:00-11:00")
    await owner.tap("电焊")
    await owner.send("王师傅")
    await owner.send("证")  # no certificate number: asked again
    assert "证号不对" in owner.last_text
    await owner.send("T-1234567")
    await owner.tap("已配备灭火器")
    assert "动火申请已提交" in owner.last_text and "待审批" in owner.last_text
    eng = groups["eng"]
    engineer = bot.person(ENGINEER, "郑海")
    card = engineer.messages(eng)[-1]["text"]
    assert "动火申请" in card and "王师傅" in card and "T-1234567" in card
    assistant = bot.person(ASSISTANT, "周晓梅")
    await assistant.tap("批准动火", chat=eng)
    assert "动火审批由工程部负责" in alert(bot)
    await engineer.tap("批准动火", chat=eng)
    assert "已批准动火（郑海）" in engineer.messages(eng)[-1]["text"]
    assert "您的动火申请已批准" in owner.last_text
    code = code_in(owner.last_text, "DH")
    guard = bot.person(GUARD, "陈保华")
    assert any("动火审批已批准" in text and code in text for text in guard.texts())
    [permit] = await HotWorkStore(world.db).of_renovation(ren_id)
    assert permit.state == HotState.APPROVED and permit.code == code

    async def check(at: datetime, typed: str = code) -> str:
        clock.set(at)
        await guard.send(f"/pass {typed}")
        return guard.last_text

    assert "还没到动火时段" in await check(datetime(2026, 12, 2, 8, 30, tzinfo=SHANGHAI))
    assert "电焊工具和气瓶可以进入" in await check(datetime(2026, 12, 2, 9, 30, tzinfo=SHANGHAI))
    assert "动火时段已过" in await check(datetime(2026, 12, 2, 11, 0, tzinfo=SHANGHAI))
    async with world.db.write() as conn:  # works stopped (a serious violation, later steps)
        await conn.execute("UPDATE renovations SET status = 'suspended' WHERE id = ?", (ren_id,))
    assert "已停工" in await check(datetime(2026, 12, 2, 10, tzinfo=SHANGHAI))
    assert "查无此证" in await check(datetime(2026, 12, 2, 10, tzinfo=SHANGHAI), "DHZZZZZ")
    renos = RenovationStore(world.db)
    checks = await renos.checks(code)
    assert [(c["kind"], c["reason"]) for c in checks] == [
        ("hotwork", "not_yet"),
        ("hotwork", "admitted"),
        ("hotwork", "expired"),
        ("hotwork", "suspended"),
    ]
    assert [c["reason"] for c in await renos.checks("DHZZZZZ")] == ["unknown"]
    trail = await audit.trail(world.db, f"renovation:{ren_id}")
    events = [e["event"] for e in trail]
    assert "renovation.hotwork_applied" in events and "renovation.hotwork_approved" in events
    assert events.count("renovation.pass_checked") == 4
    signed = await renos.signatures(ren_id)
    assert ("R-17", "engineering", True) in [(s.step, s.role, s.approved) for s in signed]


async def test_r17_refused_without_extinguisher_before_the_works_and_by_engineering(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """R-17: no hot work before the works are active; none without an extinguisher on
    site (nothing kept); engineering refuses with a reason, the owner and customer service
    are told, and the permit admits nothing at the gate."""
    await owner.send("/hotwork")  # no works yet
    assert "没有施工中的装修" in owner.last_text
    ren_id = await to_works(world, bot, groups, owner)
    async with world.db.write() as conn:  # works stopped (a serious violation, later steps)
        await conn.execute("UPDATE renovations SET status = 'suspended' WHERE id = ?", (ren_id,))
    assistant = bot.person(ASSISTANT, "周晓梅")
    await assistant.send("/hotwork")  # customer service applies for an owner: which works?
    assert "请在 /hotwork 后输入装修编号" in assistant.last_text
    await assistant.send("/hotwork ZX-20261127-0001")
    assert "不在施工中，不能办理动火审批" in assistant.last_text
    async with world.db.write() as conn:
        await conn.execute("UPDATE renovations SET status = 'active' WHERE id = ?", (ren_id,))
    await apply_hot(owner, extinguisher="没有")
    assert "现场没有配备灭火器，不能动火" in owner.last_text
    assert await HotWorkStore(world.db).of_renovation(ren_id) == []
    await apply_hot(owner)
    engineer = bot.person(ENGINEER, "郑海")
    await engineer.tap("不批准", chat=groups["eng"])
    await engineer.tap("防火措施不足", chat=groups["eng"])
    assert "未获批准：防火措施不足" in owner.last_text
    cs = bot.person(ASSISTANT, "周晓梅").messages(groups["cs"])
    assert "未获工程部批准：防火措施不足" in cs[-1]["text"]
    [permit] = await HotWorkStore(world.db).of_renovation(ren_id)
    assert permit.state == HotState.REFUSED and permit.code is None
    await engineer.tap_data(f"ren:hwok:{permit.id}", chat=groups["eng"])
    assert "已经审批过了" in alert(bot)


async def test_s1_a_temporary_pass_admits_its_visitor_once(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person, clock: ManualClock
) -> None:
    """S-1 (临時出入證): customer service issues a visitor's pass for the works (a name, a
    purpose, 4 hours); the gate admits it once: the second use is refused "already used";
    another pass is refused once expired; the owner cannot issue one."""
    await to_works(world, bot, groups, owner)
    await owner.send("/temppass ZX-20261127-0001")
    assert "临时出入证由客服中心办理" in owner.last_text
    assistant = bot.person(ASSISTANT, "周晓梅")
    clock.set(datetime(2026, 12, 2, 9, tzinfo=SHANGHAI))
    await assistant.send("/temppass ZX-20261127-0001")
    await assistant.send("林设计")
    await assistant.send("设计师量尺寸")
    await assistant.tap("4 小时")
    assert "临时出入证已办理" in assistant.last_text
    code = code_in(assistant.last_text, "LS")
    guard = bot.person(GUARD, "陈保华")
    clock.set(datetime(2026, 12, 2, 10, tzinfo=SHANGHAI))
    await guard.send(f"/pass {code}")
    assert "放行：临时出入证" in guard.last_text and "已使用" in guard.last_text
    await guard.send(f"/pass {code}")
    assert "这张临时出入证已经使用过了" in guard.last_text
    await assistant.send("/temppass ZX-20261127-0001")
    await assistant.send("送货员")
    await assistant.send("送瓷砖样品")
    await assistant.tap("2 小时")
    other = code_in(assistant.last_text, "LS")
    clock.set(datetime(2026, 12, 2, 12, 30, tzinfo=SHANGHAI))
    await guard.send(f"/pass {other}")
    assert "临时出入证已过期" in guard.last_text
    renos = RenovationStore(world.db)
    assert [(c["kind"], c["reason"]) for c in await renos.checks(code)] == [
        ("temp", "admitted"),
        ("temp", "used"),
    ]
    assert [c["reason"] for c in await renos.checks(other)] == ["expired"]


async def test_r19_a_request_filed_during_the_works_is_linked_to_the_renovation(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """R-19: the owner's repair request about the unit under renovation is linked to it:
    its card says so ("装修中：ZX-…") for the owner and customer service, and the
    renovation's card lists it; a complaint about the owner's other unit is not linked,
    nor is a request filed before the works."""
    await file_request(owner)  # before any renovation: not linked
    before = await latest_case(world)
    assert before.renovation is None
    ren_id = await to_works(world, bot, groups, owner)
    await file_request(owner)
    case = await latest_case(world)
    assert case.renovation == "ZX-20261127-0001"
    assert "装修中：ZX-20261127-0001" in owner.last_text
    cs = bot.person(ASSISTANT, "周晓梅").messages(groups["cs"])
    assert "装修中：ZX-20261127-0001" in cs[-1]["text"]
    await file_complaint(owner)  # about 2栋 101: no works there
    assert (await latest_case(world)).renovation is None
    ren = await RenovationStore(world.db).get(ren_id)
    assert ren is not None and ren.cases == (case.number,)
    assert f"施工期间的报事：{case.number}" in card("zh-Hans", ren, None)  # staff's card
    trail = await audit.trail(world.db, f"case:{case.id}")
    assert trail[0]["data"]["renovation"] == "ZX-20261127-0001"
