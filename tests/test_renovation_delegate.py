"""R-4's "or someone they authorised" through the bot and a fake Telegram: the engineering
head 冯立 records 郑海 (engineering) as his delegate with /delegate; 郑海 is told, gets the
complete application to decide, approves it with a comment in the engineering head's role
and the records say he signed on 冯立's behalf; the cards show it; 冯立's own press then
counts as already signed; a stranger cannot sign; R-4's warning reaches the delegate too;
after the period, or once revoked, the delegate cannot sign."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from procedures.renovation import REQUIRED, Status
from storage import audit
from storage.clock import ManualClock
from storage.renovation import RenovationStore
from tests.conftest import World
from tests.support.app import services_of, sweeper_of
from tests.support.renovation_steps import (
    ASSISTANT,
    CUSTOMER_HEAD,
    ENGINEER,
    ENGINEER_HEAD,
    GUARD,
    alert,
    latest,
    page,
)
from tests.support.renovation_steps import customer_head as customer_head  # the fixture
from tests.support.telegram import Group, Harness, Person

pytestmark = pytest.mark.usefixtures("customer_head")


async def complete(world: World, bot: Harness, groups: dict[str, Group], owner: Person) -> int:
    """R-1..R-3: 1栋 101's application sent and every document marked valid: the heads
    decide (R-4). Its id."""
    await owner.send("/renovate")
    await owner.tap("1栋 101")
    for typed in ("2026-12-01", "2027-02-28", "安居装饰", "李工", "138 0013 8000"):
        await owner.send(typed)
    for tick in ("墙面", "完成", "本人确认承诺书"):
        await owner.tap(tick)
    for index, _ in enumerate(REQUIRED):
        await owner.send_photo(page(index))
    await owner.tap("提交申请")
    cs, assistant = groups["cs"], bot.person(ASSISTANT, "周晓梅")
    for name in ("平面图", "天花图", "水电管线图", "弱电图", "剖面图", "施工负责人身份证",
                 "营业执照", "施工资质证书"):  # fmt: skip
        await assistant.tap(name, chat=cs)
        await assistant.tap("有效", chat=cs)
    return await latest(world)


async def delegate(head: Person, to: str, until: str, reason: str = "出差") -> None:
    """/delegate: the staff member, the last day, the reason."""
    await head.send("/delegate")
    await head.tap(to)
    await head.send(until)
    await head.send(reason)


async def test_r4_the_engineering_heads_delegate_approves_on_his_behalf(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """冯立 delegates to 郑海 until 4 December; 郑海 approves with a comment: signed in the
    engineering head's role, naming the delegation; the cards say 代签; 冯立's press is
    already signed; a stranger's is refused; the customer head's approval approves it."""
    head, engineer = bot.person(ENGINEER_HEAD, "冯立"), bot.person(ENGINEER, "郑海")
    await engineer.send("/start")
    await head.send("/delegate")
    assert "请选择本小区的代签人" in head.last_text
    await head.send("郑")  # a typed part of the name: the one match is chosen
    assert "代签人 郑海 从今天（2026-11-27）起代签" in head.last_text
    await head.send("2026-12-28")  # more than 30 days: asked again
    assert "委托最长 30 天" in head.last_text
    await head.send("2026-11-20")  # before today: asked again
    assert "不能早于今天" in head.last_text
    await head.send("下周五")  # not a date: a polite hint
    assert "请按 2026-12-04 的格式输入日期" in head.last_text
    await head.send("2026-12-04")
    await head.send_photo(page(1))  # not the reason: asked again, nothing recorded yet
    assert "请用文字说明原因" in head.last_text
    await head.send("出差")
    assert "已委托 郑海 自 2026-11-27 至 2026-12-04 代签工程部负责人的装修审批" in head.last_text
    assert "冯立（工程部负责人）委托您自 2026-11-27 至 2026-12-04" in engineer.last_text
    trail = await audit.trail(world.db, "renovation_delegation:1")
    assert [e["event"] for e in trail] == ["renovation.delegation_recorded"]

    ren_id = await complete(world, bot, groups, owner)
    assert "资料齐全，等您签批" in engineer.last_text  # he hears what the head hears
    seen = engineer.mark()
    stranger = bot.person(GUARD, "陈保华")  # security: neither a head nor a delegate
    await stranger.send("/start")
    await stranger.tap_data(f"ren:ap:{ren_id}")
    assert "客户部负责人和工程部负责人审批" in alert(bot)

    await engineer.tap("批准")  # on the card he got as the engineering head's delegate
    await engineer.send("水电走向合理")
    assert "已批准" in engineer.last_text
    signed = await RenovationStore(world.db).signatures(ren_id)
    [one] = signed
    person = await services_of(world).identity.person_by_tg(ENGINEER)
    assert person is not None
    assert (one.step, one.role, one.by_id, one.comment) == (
        "R-4", "engineering_head", person.id, "水电走向合理",
    )  # fmt: skip
    assert one.version == "delegation:1"  # the delegation he signed under
    trail = await audit.trail(world.db, f"renovation:{ren_id}")
    [event] = [e for e in trail if e["event"] == "renovation.signed"]
    assert event["data"]["on_behalf_of"] != person.id and event["data"]["delegation"] == 1

    customer = bot.person(CUSTOMER_HEAD, "李淑芬")
    assert "代签：郑海（受冯立委托）" in customer.last_text  # the card's signature line
    assert "工程部负责人已批准" in customer.last_text
    await head.tap_data(f"ren:ap:{ren_id}")  # the head himself: his role is signed already
    assert "已经签署" in alert(bot)
    await engineer.tap_data(f"ren:ap:{ren_id}")
    assert "已经审批过" in alert(bot)
    await customer.tap("批准")
    await customer.tap("无意见")
    ren = await RenovationStore(world.db).get(ren_id)
    assert ren is not None and ren.status == Status.APPROVED
    assert not any("批准" in t and "驳回" in t for t in engineer.texts(seen))


async def test_r4_the_warning_reaches_the_delegate_who_cannot_sign_after_the_period(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person, clock: ManualClock
) -> None:
    """A delegation for today only: R-4's warning (this afternoon) reaches 郑海 as well as
    冯立; on Monday, past its last day, 郑海's press is refused politely and nothing is
    signed; 冯立 still signs himself."""
    head, engineer = bot.person(ENGINEER_HEAD, "冯立"), bot.person(ENGINEER, "郑海")
    await engineer.send("/start")
    await delegate(head, "郑海", "2026-11-27", "休假")
    ren_id = await complete(world, bot, groups, owner)
    [timer] = await RenovationStore(world.db).clocks(ren_id)
    assert timer.warn_at is not None
    head_seen, engineer_seen = head.mark(), engineer.mark()
    at = timer.warn_at + timedelta(seconds=1)
    assert await sweeper_of(world, clock=lambda: at).sweep() == 1
    await services_of(world).deliver()
    assert any("即将超时" in t for t in engineer.texts(engineer_seen))  # the delegate
    assert any("即将超时" in t for t in head.texts(head_seen))  # and the head

    clock.set(datetime(2026, 11, 30, 9, tzinfo=ZoneInfo("Asia/Shanghai")))  # past its day
    await engineer.tap_data(f"ren:ap:{ren_id}")
    assert "不在有效期内或已撤销" in alert(bot)
    assert await RenovationStore(world.db).signatures(ren_id) == []
    await head.tap("批准")
    await head.tap("无意见")
    [one] = await RenovationStore(world.db).signatures(ren_id)
    assert one.role == "engineering_head" and one.version is None


async def test_r4_a_revoked_delegate_cannot_sign_and_is_told(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """A delegate recorded while an application waits gets its card to decide; /delegate
    again shows the delegation with 撤销委托; only its head revokes it; the delegate is told
    and their press is refused; nothing is signed."""
    head, engineer = bot.person(ENGINEER_HEAD, "冯立"), bot.person(ENGINEER, "郑海")
    await engineer.send("/start")
    ren_id = await complete(world, bot, groups, owner)
    await delegate(head, "郑海", "2026-12-04")
    assert "资料齐全，等您签批" in engineer.last_text  # the application already waiting
    assert "批准" in str(engineer.last_message.get("reply_markup"))
    await head.send("/delegate")
    assert "代签人：郑海" in head.last_text and "2026-11-27 至 2026-12-04" in head.last_text
    await bot.person(CUSTOMER_HEAD, "李淑芬").tap_data("rdl:rv:1")  # not hers
    assert "只有委托人本人可以撤销" in alert(bot)
    await head.tap("撤销委托")
    assert "已撤销：郑海 不再代签工程部负责人的装修审批" in head.last_text
    assert "冯立已撤销对您的代签委托" in engineer.last_text
    await engineer.tap_data(f"ren:ap:{ren_id}")
    assert "不在有效期内或已撤销" in alert(bot)
    assert await RenovationStore(world.db).signatures(ren_id) == []
    trail = await audit.trail(world.db, "renovation_delegation:1")
    assert [e["event"] for e in trail][-1] == "renovation.delegation_revoked"


async def test_r4_only_a_head_records_a_delegate(bot: Harness, owner: Person) -> None:
    """/delegate from anyone else: a polite no, nothing recorded."""
    await bot.person(ENGINEER, "郑海").send("/delegate")
    assert "只有客户部负责人和工程部负责人可以委托" in bot.person(ENGINEER, "郑海").last_text
    await owner.send("/delegate")
    assert "只有客户部负责人和工程部负责人可以委托" in owner.last_text
