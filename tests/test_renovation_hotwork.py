"""Hot work (R-17) and temporary passes (S-1) through the bot and a fake Telegram: the owner
applies for a hot-work permit on active works, engineering approves (security is told, the
permit gets a code) or refuses with a reason; the gate admits welding gear only inside the
window while the works are active, every check logged; customer service issues a visitor's
temporary pass that admits once."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from handlers.renovation import card
from handlers.renovation_filings import guide
from handlers.renovation_permit import permit_lines
from procedures.renovation import REQUIRED, Form, Renovation, Status
from procedures.renovation_hotwork import HotState
from procedures.renovation_settings import FilingOffice, RenovationSettings
from storage import audit
from storage.clock import ManualClock
from storage.renovation import RenovationStore
from storage.renovation_hotwork import HotWorkStore
from tests.conftest import World
from tests.support.app import configure_estates
from tests.support.cases import file_complaint, file_request, latest_case
from tests.support.images import encoded
from tests.support.renovation_steps import (
    ASSISTANT,
    CUSTOMER_HEAD,
    ENGINEER,
    ENGINEER_HEAD,
    GUARD,
    alert,
    to_works,
)
from tests.support.renovation_steps import customer_head as customer_head  # the fixture
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


def test_r6_the_estate_names_its_offices_and_whether_approval_waits() -> None:
    scale = RenovationSettings.from_config(
        {"approval_waits_for_filings": True,
         "gas_office": {"name": "燃气公司", "phone": "021-5555 0000", "address": "一路 1 号"}}
    )  # fmt: skip
    assert scale.approval_waits_for_filings and scale.office("gas").phone == "021-5555 0000"
    assert (
        scale.office("fire") == FilingOffice()
        and not RenovationSettings().approval_waits_for_filings
    )
    form = Form(
        date(2026, 12, 1), date(2027, 2, 28), "安居装饰", "李工", "+8613800138000", ("gas",)
    )
    ren = Renovation(1, "ZX-20261127-0001", 1, 1, "1栋 101", 1, Status.COMPLETE, form)
    text = guide("zh-Hans", ren, scale, "gas")
    assert "燃气公司" in text and "021-5555 0000" in text and "一路 1 号" in text
    assert "R-6" not in text  # residents never see rule ids
    plain = guide("zh-Hans", ren, RenovationSettings(), "fire")
    assert "当地消防救援机构" in plain and "请向物业客服中心询问" in plain


async def apply_with_filings(owner: Person) -> None:
    """An application whose scope changes fire protection and gas, submitted."""
    await owner.send("/renovate")
    await owner.tap("1栋 101")
    for typed in ("2026-12-01", "2027-02-28", "安居装饰", "李工", "138 0013 8000"):
        await owner.send(typed)
    for tapped in ("墙面", "消防改动", "燃气改动", "完成", "本人确认承诺书"):
        await owner.tap(tapped)
    for index, _ in enumerate(REQUIRED):
        await owner.send_photo(encoded(Image.new("RGB", (40, 30), (20 * index, 90, 60)), "PNG"))
    await owner.tap("提交申请")


async def test_r6_the_owner_gets_each_guide_attaches_a_receipt_and_approval_may_wait(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """R-6: an application ticking fire protection and gas: on submission the owner gets
    both guides (steps, the estate's office, phone and address; "ask customer service"
    where the estate gave none); this estate makes approval wait for the receipts, so a
    head's approval is refused while one is missing; the owner sends the gas receipt (kept
    as evidence, customer service told, the card shows what is still open), then the fire
    one; then the heads approve."""
    office = {"name": "申城燃气客服中心", "phone": "021-5555 0188", "address": "燃气路 8 号"}
    settings = {"approval_waits_for_filings": True, "gas_office": office}
    configure_estates(world, {"estates": {"阳光花园": {"renovation": settings}}})
    await apply_with_filings(owner)
    guides = [text for text in owner.texts() if text.startswith("🏛")]
    assert len(guides) == 2
    assert "消防改动" in guides[0] and "当地消防救援机构" in guides[0]
    assert "请向物业客服中心询问" in guides[0]
    assert "申城燃气客服中心" in guides[1] and "021-5555 0188" in guides[1]
    assert "燃气路 8 号" in guides[1] and "R-6" not in guides[1]
    row = await world.db.fetchone("SELECT MAX(id) AS id FROM renovations")
    assert row is not None
    ren_id = int(row["id"])
    assistant, cs = bot.person(ASSISTANT, "周晓梅"), groups["cs"]
    for name in ("平面图", "天花图", "水电管线图", "弱电图", "剖面图", "施工负责人身份证",
                 "营业执照", "施工资质证书"):  # fmt: skip
        await assistant.tap(name, chat=cs)
        await assistant.tap("有效", chat=cs)
    engineer = bot.person(ENGINEER_HEAD, "冯立")
    await engineer.tap("批准")
    await engineer.tap("无意见")
    assert "须收到有关部门的回执后才能批准" in engineer.last_text
    assert await RenovationStore(world.db).signatures(ren_id) == []
    await owner.tap("上传备案回执")  # the newest guide's: gas
    await owner.send("好的")  # not a photo: asked again
    assert "请发送回执的照片" in owner.last_text
    await owner.send_photo(encoded(Image.new("RGB", (50, 40), (200, 10, 10)), "PNG"))
    assert "已收到“燃气改动”的报备回执" in owner.last_text
    assert "还未交回执：消防改动" in owner.last_text
    staff = assistant.messages(cs)[-1]["text"]
    assert "业主已上传“燃气改动”的报备回执" in staff and "备案回执未交：消防改动" in staff
    ren = await RenovationStore(world.db).get(ren_id)
    assert ren is not None and ren.open_filings == ("fire",)
    trail = await audit.trail(world.db, f"renovation:{ren_id}")
    [receipt] = [e for e in trail if e["event"] == "renovation.filing_receipt"]
    assert receipt["data"]["filing"] == "gas" and len(receipt["data"]["photo"]) == 64
    guide_ids = [m["message_id"] for m in owner.messages() if m["text"].startswith("🏛")]
    await owner.tap_data(f"ren:fr:{ren_id}:0", message_id=guide_ids[0])  # fire
    await owner.send_photo(encoded(Image.new("RGB", (50, 40), (10, 200, 10)), "PNG"))
    assert "报备回执已全部交齐" in owner.last_text
    for head_id, name in ((ENGINEER_HEAD, "冯立"), (CUSTOMER_HEAD, "李淑芬")):
        head = bot.person(head_id, name)
        await head.tap("批准")
        await head.tap("无意见")
    assert "已获批准" in owner.last_text


async def test_r6_open_filings_show_on_the_permit_and_the_patrol_card(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """R-6 (default: approval does not wait): a renovation whose structural change has no
    authority's receipt yet goes ahead, and the open filing shows on the works permit and on
    the patrol card."""
    ren_id = await to_works(world, bot, groups, owner, scope=("墙面", "结构改动"))
    ren = await RenovationStore(world.db).get(ren_id)
    assert ren is not None and ren.open_filings == ("structural",)
    _, lines = permit_lines("zh-Hans", ren, RenovationSettings(), "2026-11-27")
    assert "待交备案回执：结构改动" in lines
    engineer = bot.person(ENGINEER, "郑海")
    await engineer.send("/patrol")
    await engineer.tap("1栋 101")
    assert "备案回执未交：结构改动" in engineer.last_text
