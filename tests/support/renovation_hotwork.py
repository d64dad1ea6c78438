"""A renovation walked through the bot up to active works, for the hot-work and temporary
pass tests (the same steps as tests/test_renovation.py's, as people take them): applied
with photos, checked, approved by both heads, terms accepted, agreement signed, fees paid,
permit issued, works begun."""

from __future__ import annotations

import pytest
from PIL import Image

from bot.demo import DEMO_ESTATE
from procedures.identity import Role
from procedures.renovation import REQUIRED
from tests.conftest import World
from tests.support.app import services_of
from tests.support.images import encoded
from tests.support.telegram import Group, Harness, Person

ASSISTANT, ENGINEER, ENGINEER_HEAD, GUARD, CASHIER, CUSTOMER_HEAD = (
    9001, 9003, 9004, 9005, 9006, 9012,
)  # fmt: skip


@pytest.fixture
async def customer_head(world: World, bot: Harness) -> None:
    """李淑芬, the customer-department head, who signs with the engineering head (R-4)."""
    identity = services_of(world).identity
    person = await identity.touch_person(CUSTOMER_HEAD, "李淑芬", None, "zh-hans")
    estate = await identity.estate_by_name(DEMO_ESTATE)
    assert estate is not None
    await identity.grant_role(person.id, estate.id, Role.CUSTOMER_HEAD,
                              department="customer_service", actor="test")  # fmt: skip


def alert(bot: Harness) -> str:
    """The text of the bot's newest answer to a button."""
    return str(bot.api.calls_of("answerCallbackQuery")[-1].params.get("text", ""))


async def to_works(
    world: World,
    bot: Harness,
    groups: dict[str, Group],
    owner: Person,
    scope: tuple[str, ...] = ("墙面", "地面"),
) -> int:
    """An application for 1栋 101 (works 2026-12-01 to 2027-02-28, ``scope`` ticked) taken
    to active works; its id. Needs the ``customer_head`` fixture."""
    await owner.send("/renovate")
    await owner.tap("1栋 101")
    for typed in ("2026-12-01", "2027-02-28", "安居装饰", "李工", "138 0013 8000"):
        await owner.send(typed)
    for tapped in (*scope, "完成", "本人确认承诺书"):
        await owner.tap(tapped)
    for index, _ in enumerate(REQUIRED):
        await owner.send_photo(encoded(Image.new("RGB", (40, 30), (20 * index, 120, 60)), "PNG"))
    await owner.tap("提交申请")
    row = await world.db.fetchone("SELECT id FROM renovations ORDER BY id DESC LIMIT 1")
    assert row is not None
    assistant, cs = bot.person(ASSISTANT, "周晓梅"), groups["cs"]
    for name in ("平面图", "天花图", "水电管线图", "弱电图", "剖面图", "施工负责人身份证",
                 "营业执照", "施工资质证书"):  # fmt: skip
        await assistant.tap(name, chat=cs)
        await assistant.tap("有效", chat=cs)
    for head_id, name in ((ENGINEER_HEAD, "冯立"), (CUSTOMER_HEAD, "李淑芬")):
        head = bot.person(head_id, name)
        await head.tap("批准")
        await head.tap("无意见")
    await owner.tap("接受审批条款")
    await owner.tap("阅读并签署装修协议")
    await owner.tap("签署协议和防火责任书")
    cashier = bot.person(CASHIER, "何小芸")
    await cashier.tap("收费")
    await cashier.send("2")
    await cashier.send("SJ-9")
    await assistant.tap("发放施工进场证", chat=cs)
    await assistant.tap("确认已开工", chat=cs)
    return int(row["id"])
