"""Staff answer the owner from their private chat, without "reply to": the department card's
"✍️ 回复业主" button is a t.me deep link; Telegram opens the private chat with the bot and
sends ``/start r<case id>``; the bot checks who may answer and asks for the progress; the
next plain message, photo or album there reaches the owner exactly as a reply to the card
in the group does. Whoever may not act on the case, or a closed case, gets a polite answer
and nothing is recorded."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from bot.demo import seed
from bot.settings import Settings
from storage.db import Database
from tests.conftest import ADMIN_ID, OWNER_PHONE, World
from tests.support.app import services_of
from tests.support.cases import PNG, latest_case, referred_to_engineering
from tests.support.telegram import FakeBotApi, Group, Harness, Person, inline_buttons

ENGINEER, GUARD = 9003, 9005  # 郑海 (工程部), 陈保华 (保安部): demo staff


def reply_link(group: Group) -> str:
    """The URL of the "✍️ 回复业主" button on the newest card in ``group`` that has one."""
    for message in reversed(group.messages()):
        for button in inline_buttons(message):
            if button.get("text") == "✍️ 回复业主":
                assert "callback_data" not in button  # a URL button, as Telegram has them
                return str(button["url"])
    raise AssertionError(f"no ✍️ 回复业主 link in {group!r}")


async def follow(person: Person, url: str) -> None:
    """Tap a t.me deep link as Telegram does: the bot's private chat opens and the person's
    app sends ``/start <payload>``."""
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "t.me", "/wuye_test_bot")
    await person.send(f"/start {parse_qs(parts.query)['start'][0]}")


async def updates(world: World) -> list[str]:
    """The notes of the progress recorded on the latest case, oldest first."""
    case = await latest_case(world)
    trail = await services_of(world).cases.trail(case.id)
    return [str(e["data"].get("note")) for e in trail if e["event"] == "case.update"]


async def test_the_cards_link_opens_the_private_chat_where_a_plain_message_reaches_the_owner(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    await referred_to_engineering(bot, groups, owner)
    case = await latest_case(world)
    url = reply_link(groups["eng"])
    assert url == f"https://t.me/wuye_test_bot?start=r{case.id}"
    engineer = bot.person(ENGINEER, "郑海")
    await follow(engineer, url)
    asked = engineer.last_text
    assert "请发送给业主的进展（文字或照片）" in asked and case.number in asked
    assert "厨房水管漏水" in asked  # which case it is, in the chat that has no card

    await engineer.send("师傅下午两点上门更换阀门")  # no "reply to" anything
    assert f"已记录 {case.number} 的进展" in engineer.last_text
    assert "最新进展" in owner.last_text and "师傅下午两点上门更换阀门" in owner.last_text
    assert "郑海" in owner.last_text
    assert await updates(world) == ["师傅下午两点上门更换阀门"]

    # One answer per tap: the next message is no progress (the usual hint answers it).
    heard = len(owner.messages())
    await engineer.send("另外帮我查一下排班")
    assert len(owner.messages()) == heard
    assert await updates(world) == ["师傅下午两点上门更换阀门"]

    # A reply to the card in the group still works, and the link is still on the card.
    await engineer.tap("🙋 接单", chat=groups["eng"])
    card = groups["eng"].messages()[-1]["message_id"]
    await engineer.reply_to(card, "已到现场", chat=groups["eng"])
    assert "已到现场" in owner.last_text
    assert reply_link(groups["eng"]) == url

    # The question is asked with a ForceReply: a reply to it is the answer too.
    await follow(engineer, url)
    await engineer.reply_to(engineer.messages()[-1]["message_id"], "明早复查一次")
    assert "明早复查一次" in owner.last_text
    # /cancel, or any other command, drops the question: what follows is no progress.
    await follow(engineer, url)
    await engineer.send("/cancel")
    assert "已取消" in engineer.last_text
    await engineer.send("不用发给业主")
    await follow(engineer, url)
    await engineer.send("/my")
    await engineer.send("这条也不用")
    assert await updates(world) == ["师傅下午两点上门更换阀门", "已到现场", "明早复查一次"]


async def test_a_photo_and_an_album_sent_after_the_link_reach_the_owner_as_evidence(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    await referred_to_engineering(bot, groups, owner)
    case = await latest_case(world)
    engineer = bot.person(ENGINEER, "郑海")
    photos = services_of(world).cases.photos

    await follow(engineer, reply_link(groups["eng"]))
    await engineer.send_photo(PNG)  # a photo alone, no caption
    assert f"已记录 {case.number} 的进展" in engineer.last_text
    assert owner.messages()[-1].get("photo")  # the photo itself reached the owner
    assert len(await photos(case.id)) == 1  # kept as evidence
    assert await updates(world) == ["📷"]

    # An album: each photo is kept and sent, and the album gets one answer.
    await follow(engineer, reply_link(groups["eng"]))
    mark = engineer.mark()
    heard = len(owner.messages())
    await engineer.send_album([PNG, PNG], caption="更换前后")
    assert [t for t in engineer.texts(mark) if "已记录" in t] == [
        f"✅ 已记录 {case.number} 的进展，并已告知业主。"
    ]
    assert len(await photos(case.id)) == 3
    got = owner.messages()[heard:]
    assert len([m for m in got if m.get("photo")]) == 2
    assert await updates(world) == ["📷", "更换前后", "📷"]


async def test_only_who_may_act_on_the_case_is_asked_and_nothing_else_is_recorded(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """The link carries nothing to trust: the person is checked when the chat opens (and
    again at the answer). A guard of another department is told politely; a resident, or
    a case that does not exist, gets "this link opens no case" (no hint it exists)."""
    await referred_to_engineering(bot, groups, owner)
    case = await latest_case(world)
    url = reply_link(groups["eng"])
    heard = len(owner.messages())

    guard = bot.person(GUARD, "陈保华")
    await follow(guard, url)
    assert "只有负责部门或客服的人员可以回复" in guard.last_text
    await guard.send("我来回复业主")
    assert "我来回复业主" not in owner.last_text

    await follow(owner, url)  # the resident who got hold of the link
    assert "这个链接打不开对应的事项" in owner.last_text
    assert case.number not in owner.last_text

    engineer = bot.person(ENGINEER, "郑海")
    for forged in ("r999999", "rabc", "r"):
        await engineer.send(f"/start {forged}")
        assert "这个链接打不开对应的事项" in engineer.last_text
    await engineer.send("这是一条普通消息")

    assert len(owner.messages()) == heard + 1  # only the owner's own answer above
    assert await updates(world) == []

    # Customer service (first responders) may answer from the link too.
    assistant = bot.person(9001, "周晓梅")
    await follow(assistant, url)
    await assistant.send("已通知工程部，今天处理")
    assert "已通知工程部，今天处理" in owner.last_text


async def test_a_closed_case_takes_no_more_progress_from_the_link(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """Asked while the case was open, answered after it was closed: refused, nothing kept;
    the link of a closed case says so at once."""
    await referred_to_engineering(bot, groups, owner)
    case = await latest_case(world)
    url = reply_link(groups["eng"])
    engineer = bot.person(ENGINEER, "郑海")
    await follow(engineer, url)
    assert "请发送给业主的进展" in engineer.last_text

    await engineer.tap("🙋 接单", chat=groups["eng"])
    await engineer.tap("✅ 已完成", chat=groups["eng"])
    await owner.tap("✅ 已解决")
    await owner.tap("⭐⭐⭐⭐⭐")
    assert (await latest_case(world)).status == "closed"
    heard = len(owner.messages())

    await engineer.send_photo(PNG, caption="补充一张照片")
    assert f"事项 {case.number} 已结案，不能再添加进展" in engineer.last_text
    await follow(engineer, url)
    assert f"事项 {case.number} 已结案，不能再添加进展" in engineer.last_text
    await engineer.send("还有一句")
    assert len(owner.messages()) == heard
    assert await updates(world) == []
    assert await services_of(world).cases.photos(case.id) == []


async def test_help_in_a_group_names_the_reply_link(bot: Harness, groups: dict[str, Group]) -> None:
    """/help in a department's group: tap ✍️ 回复业主 and answer from the private chat, or
    reply to the card."""
    await bot.person(ENGINEER, "郑海").send("/help", chat=groups["eng"])
    text = groups["eng"].last_text
    assert "点卡片上的 ✍️ 回复业主，在与我的私聊里直接发文字或照片" in text
    assert "回复事项卡片" in text
    english = bot.person(9002, "Li", language_code="en")
    await english.send("/help", chat=groups["eng"])
    assert "tap ✍️ Reply to owner on the case card" in groups["eng"].last_text


async def test_without_a_configured_username_the_link_names_the_bot_getme_gave(
    settings: Settings, db: Database
) -> None:
    """WUYE_BOT_USERNAME unset (as in most deployments): the link names the bot as
    Telegram's getMe answered at start-up."""
    unnamed = settings.model_copy(update={"bot_username": ""})
    world = World(unnamed, db)
    world.api = FakeBotApi(bot_username="wuye_getme_bot")
    bot = await world.start()
    try:
        await seed(db)
        admin = bot.person(ADMIN_ID, "管理员")
        groups = {"cs": bot.group(-100, "客服中心"), "eng": bot.group(-200, "工程部")}
        await admin.send("/bind 客服中心", chat=groups["cs"])
        await admin.send("/bind 工程部", chat=groups["eng"])
        owner = bot.person(2001, "王伟", phone=OWNER_PHONE)
        await owner.send("/start")
        await owner.share_contact()
        await referred_to_engineering(bot, groups, owner)
        case = await latest_case(world)
        assert reply_link(groups["eng"]) == f"https://t.me/wuye_getme_bot?start=r{case.id}"
    finally:
        await world.stop()
