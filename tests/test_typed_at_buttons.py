"""Text typed where a tap is expected outside a conversation gets a hint naming what is
awaited, never the general "not understood": /invite's estate and role, /import's estate,
new estate and file, and a case card in a staff member's private chat (C-4's
classification)."""

from __future__ import annotations

from storage.identity import IdentityStore
from tests.conftest import ADMIN_ID, World
from tests.support.cases import file_complaint, file_request, latest_case
from tests.support.telegram import Group, Harness, Person

NOT_UNDERSTOOD = "没有理解"
GOOD = "房号,业主姓名,手机,楼栋\n502,王伟,13800138000,5栋\n"


async def test_invite_text_at_the_role_step_names_the_roles_and_asks_again(
    world: World, bot: Harness
) -> None:
    admin = bot.person(ADMIN_ID, "管理员")
    await admin.send("/invite")
    await admin.send("工程部负责人吧")
    assert admin.last_text.startswith("请点按钮选择：“")
    assert "“工程部负责人”" in admin.last_text and "请选择岗位" in admin.last_text
    assert "工程部负责人" in admin.buttons()  # asked again, with its buttons
    await admin.tap("工程部负责人")
    assert "一次性" in admin.last_text
    await admin.send("谢谢")  # the link is made: nothing waits any more
    assert NOT_UNDERSTOOD in admin.last_text


async def test_invite_text_at_the_estate_step_names_the_estates_and_cancel_drops_it(
    world: World, bot: Harness
) -> None:
    admin = bot.person(ADMIN_ID, "Admin", language_code="en")
    await IdentityStore(world.db).ensure_estate("翠湖苑", actor="test")
    await admin.send("/invite")
    await admin.send("the first one")
    assert admin.last_text.startswith("Please choose with a button: “")
    assert "“阳光花园”" in admin.last_text and "“翠湖苑”" in admin.last_text
    await admin.tap("阳光花园")
    await admin.send("?")
    assert "“Customer assistant”" in admin.last_text and "阳光花园" in admin.last_text
    await admin.send("/cancel")
    assert admin.last_text.startswith("Cancelled.")
    await admin.send("?")
    assert "did not understand" in admin.last_text


async def test_import_text_where_the_file_is_expected_asks_for_the_file(
    world: World, bot: Harness
) -> None:
    admin = bot.person(ADMIN_ID, "管理员")
    await admin.send("/import")
    await admin.send("502,王伟,13800138000")
    assert "这一步需要文件" in admin.last_text and "业主清册文件" in admin.last_text
    await admin.send_document(GOOD.encode(), "roster.csv")
    assert "新增 1" in admin.last_text
    await admin.send("好了")
    assert NOT_UNDERSTOOD in admin.last_text


async def test_import_text_at_the_new_estate_and_estate_steps_names_their_buttons(
    world: World, bot: Harness
) -> None:
    admin = bot.person(ADMIN_ID, "管理员")
    await admin.send("/import 翠湖苑")
    await admin.send("是的")
    assert "“✅ 新建小区”" in admin.last_text and "确认新建" in admin.last_text
    assert await IdentityStore(world.db).estate_by_name("翠湖苑") is None  # nothing made
    await admin.tap("✅ 新建小区")
    await admin.send("/cancel")
    await admin.send_document(GOOD.encode(), "roster.csv")  # two estates: which one?
    await admin.send("翠湖")
    assert "“阳光花园”" in admin.last_text and "“翠湖苑”" in admin.last_text
    await admin.tap("翠湖苑")
    assert "新增 1" in admin.last_text


async def test_c4_text_at_a_private_classification_card_names_its_buttons(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    classifier = bot.person(9007, "孙志远")
    await classifier.send("/start")
    await file_complaint(owner)
    case = await latest_case(world)
    await classifier.send("这个算重要吧")
    assert f"事项 {case.number} 的卡片正等您点按钮" in classifier.last_text
    assert "“轻微”、“重要”、“重大”" in classifier.last_text
    assert (await latest_case(world)).severity is None  # a hint changes nothing
    await classifier.tap("重要")
    await classifier.send("好")  # classified: the card offers raising or lowering now
    assert "⬆️ 升为重大" in classifier.last_text


async def test_a_private_card_without_buttons_leaves_the_general_answer(
    world: World, bot: Harness, cs: Group, owner: Person
) -> None:
    """An urgent request's alert to the supervisor is for reading: nothing to tap there."""
    supervisor = bot.person(9002, "吴建国")
    await supervisor.send("/start")
    await file_request(owner, urgent=True)
    await supervisor.send("收到")
    assert NOT_UNDERSTOOD in supervisor.last_text
