"""A renovation walked through its first steps by the people who take them, for the tests of
the later steps: applied with a photo per document, checked, both heads approved, terms
accepted, agreement signed, fees paid, permit issued, the entry inspection confirmed and
the works begun; a worker registered. Shared by every renovation test module."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from bot.demo import DEMO_ESTATE
from procedures.identity import Role
from procedures.renovation import REQUIRED
from tests.support.app import services_of
from tests.support.images import encoded
from tests.support.telegram import Group, Harness, Person

if TYPE_CHECKING:  # conftest imports the support modules its fixtures use
    from tests.conftest import World

ASSISTANT, ENGINEER, ENGINEER_HEAD, GUARD, CASHIER = 9001, 9003, 9004, 9005, 9006
MANAGER, CUSTOMER_HEAD = 9008, 9012
#: The demo worker's ID number (check digit right): never in the audit trail.
ID_NUMBER = "11010519491231002X"


@pytest.fixture
async def customer_head(world: World, bot: Harness) -> None:
    """李淑芬, the customer-department head (the demo estate has none; the sandbox adds
    her, bot.local), who signs with the engineering head 冯立 (R-4). A test module uses it
    with ``pytestmark = pytest.mark.usefixtures("customer_head")``."""
    identity = services_of(world).identity
    person = await identity.touch_person(CUSTOMER_HEAD, "李淑芬", None, "zh-hans")
    estate = await identity.estate_by_name(DEMO_ESTATE)
    assert estate is not None
    await identity.grant_role(person.id, estate.id, Role.CUSTOMER_HEAD,
                              department="customer_service", actor="test")  # fmt: skip


def page(index: int) -> bytes:
    """A small distinct image: one document's photo."""
    return encoded(Image.new("RGB", (40, 30), (20 * index, 120, 60)), "PNG")


def alert(bot: Harness) -> str:
    """The text of the bot's newest answer to a button."""
    return str(bot.api.calls_of("answerCallbackQuery")[-1].params.get("text", ""))


async def latest(world: World) -> int:
    """The newest renovation's id."""
    row = await world.db.fetchone("SELECT id FROM renovations ORDER BY id DESC LIMIT 1")
    assert row is not None
    return int(row["id"])


async def to_permit(
    world: World,
    bot: Harness,
    groups: dict[str, Group],
    owner: Person,
    head: Person | None = None,
    scope: tuple[str, ...] = ("墙面",),
    starts: str = "2026-11-27",
) -> int:
    """R-1..R-11: 1栋 101's renovation (works from ``starts``, the tests' first day by
    default, to 2027-02-28; ``scope`` ticked)
    applied, checked, approved, terms accepted, signed, paid and permitted; its id. With
    ``head``, the owner delegates the agreement to that contractor's site head, who joins by
    the link and signs (R-8). Needs the customer-department head (:func:`customer_head`)."""
    await owner.send("/renovate")
    await owner.tap("1栋 101")
    for typed in (starts, "2027-02-28", "安居装饰", "李工", "138 0013 8000"):
        await owner.send(typed)
    for tick in (*scope, "完成", "本人确认承诺书"):
        await owner.tap(tick)
    for index, _ in enumerate(REQUIRED):
        await owner.send_photo(page(index))
    await owner.tap("提交申请")
    ren_id = await latest(world)
    cs = groups["cs"]
    assistant = bot.person(ASSISTANT, "周晓梅")
    for name in ("平面图", "天花图", "水电管线图", "弱电图", "剖面图", "施工负责人身份证",
                 "营业执照", "施工资质证书"):  # fmt: skip
        await assistant.tap(name, chat=cs)
        await assistant.tap("有效", chat=cs)
    for head_id, name in ((ENGINEER_HEAD, "冯立"), (CUSTOMER_HEAD, "李淑芬")):
        signer = bot.person(head_id, name)
        await signer.tap("批准")
        await signer.tap("无意见")
    await owner.tap("接受审批条款")
    if head is None:
        await owner.tap("阅读并签署装修协议")
        await owner.tap("签署协议和防火责任书")
    else:
        await owner.tap("委托施工负责人签署")
        link = re.search(r"start=ct_([A-Za-z0-9_-]+)", owner.last_text)
        assert link is not None
        await head.send("/start")
        await head.send(f"/start ct_{link.group(1)}")
        await head.tap("签署协议和防火责任书")
    cashier = bot.person(CASHIER, "何小芸")
    await cashier.tap("收费")
    await cashier.send("2")
    await cashier.send("SJ-9")
    await assistant.tap("发放施工进场证", chat=cs)
    return ren_id


async def to_works(
    world: World,
    bot: Harness,
    groups: dict[str, Group],
    owner: Person,
    head: Person | None = None,
    scope: tuple[str, ...] = ("墙面",),
) -> int:
    """:func:`to_permit`, then the entry inspection (every part in order, customer service
    and the owner confirm by button, R-12): the works active (R-13, R-14)."""
    ren_id = await to_permit(world, bot, groups, owner, head, scope)
    await enter(bot, groups, owner)
    return ren_id


async def enter(bot: Harness, groups: dict[str, Group], owner: Person) -> None:
    """R-12: a permitted renovation's entry inspection, every part in order, confirmed by
    customer service and the owner: the works begin."""
    assistant = bot.person(ASSISTANT, "周晓梅")
    await assistant.tap("入场验收", chat=groups["cs"])  # the checklist comes privately
    await assistant.tap("其余完好")
    await assistant.tap("客服确认验收")
    await owner.tap("确认入场验收")


async def register_worker(owner: Person) -> str:
    """R-11: the owner registers 张三 for a pass; its code."""
    await owner.tap("登记施工人员出入证")
    await owner.send("张三")
    await owner.send(ID_NUMBER)
    await owner.send("139 0013 9000")
    await owner.send_photo(page(30))
    match = re.search(r"出入证 (?:<b>)?([A-Z0-9]{6})", owner.last_text)
    assert match is not None
    return match.group(1)
