"""Help, languages, hints, stale buttons, command menus, errors and log redaction."""

from __future__ import annotations

import logging

import pytest
from telegram.error import NetworkError

from bot.app import set_commands
from bot.errors import AdminAlerts, RedactingFilter, install_redaction
from storage.identity import IdentityStore
from tests.conftest import ADMIN_ID, TOKEN, World
from tests.support.telegram import Group, Harness


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh-hans", "分享您的手机号码"),
        ("zh-cn", "分享您的手机号码"),
        ("zh-hant", "分享您的手機號碼"),
        ("zh-tw", "分享您的手機號碼"),
        ("zh-hk", "分享您的手機號碼"),
        ("en", "share your phone number"),
        ("en-us", "share your phone number"),
        ("fr", "分享您的手机号码"),  # an unsupported language gets the deployment's default
    ],
)
async def test_the_locale_follows_telegram(bot: Harness, language: str, expected: str) -> None:
    person = bot.person(2001, "Wei", language_code=language)
    await person.send("/start")
    assert expected in person.last_text


async def test_lang_overrides_the_telegram_language(bot: Harness) -> None:
    person = bot.person(2001, "王伟", language_code="zh-hans")
    await person.send("/lang")
    await person.tap("English")
    assert "Language set to English" in person.last_text
    await person.send("/help")
    assert "Property service assistant" in person.last_text
    await person.send("/lang")
    await person.tap("Follow my Telegram language")
    assert "已切换为简体中文" in person.last_text


@pytest.mark.parametrize("failure", [(500, None), (429, 3)], ids=["5xx", "429"])
async def test_a_press_telegram_fails_to_answer_still_takes_its_step(
    bot: Harness, failure: tuple[int, int | None]
) -> None:
    """Answering a press only stops the button's spinner: Telegram failing that answer (a
    5xx, flood control) must not cost the person the step they pressed for."""
    person = bot.person(2001, "王伟", language_code="zh-hans")
    await person.send("/lang")
    code, retry_after = failure
    bot.api.fail_next("answerCallbackQuery", code, "no", retry_after=retry_after)
    await person.tap("English")
    assert "Language set to English" in person.last_text
    await person.send("/help")
    assert "Property service assistant" in person.last_text


async def test_a_language_chooser_telegram_would_not_edit_is_edited_once_it_recovers(
    world: World, bot: Harness
) -> None:
    """Flood control on the chooser's edit: the language is set, and the chooser loses its
    buttons once Telegram takes the edit (it waits in the outbox), not never."""
    from tests.support.app import services_of

    person = bot.person(2001, "王伟", language_code="zh-hans")
    await person.send("/lang")
    bot.api.fail_next("editMessageText", 429, "Too Many Requests", retry_after=1)
    await person.tap("English")
    await services_of(world).sender.drain()
    chooser = person.messages()[-1]
    assert "Language set to English" in chooser["text"] and not chooser.get("reply_markup")


async def test_help_shows_the_commands_for_the_persons_roles(bot: Harness) -> None:
    admin = bot.person(ADMIN_ID, "管理员")
    await admin.send("/help")
    assert "/invite" in admin.last_text and "/import" in admin.last_text
    owner = bot.person(2001, "王伟", phone="8613900000001")
    await owner.send("/start")
    await owner.share_contact()
    await owner.send("/help")
    assert "/whoami" in owner.last_text and "/invite" not in owner.last_text


async def test_text_outside_any_flow_gets_a_hint_never_silence(bot: Harness) -> None:
    stranger = bot.person(2001, "王伟")
    await stranger.send("你好，我家漏水了")
    assert "/start" in stranger.last_text
    staff = bot.person(9001, "周晓梅")
    await staff.send("在吗")
    assert "/help" in staff.last_text
    await staff.send_photo(b"\xff\xd8\xff" + bytes(100))
    assert "/help" in staff.last_text


async def test_cancel_with_nothing_to_cancel(bot: Harness) -> None:
    person = bot.person(2001, "王伟")
    await person.send("/cancel")
    assert "没有进行中的操作" in person.last_text


async def test_a_stale_button_gets_a_clear_answer(bot: Harness) -> None:
    person = bot.person(2001, "王伟")
    await person.send("/help")
    await person.tap_data("reg:estate:1")
    answer = bot.api.calls_of("answerCallbackQuery")[-1].params
    assert "按钮已失效" in answer["text"]


async def test_whoami_for_staff(bot: Harness) -> None:
    staff = bot.person(9008, "钱振东")
    await staff.send("/whoami")
    text = staff.last_text
    assert "项目经理" in text and "管理员" not in text and "阳光花园" in text
    it = bot.person(9011, "韩立新")
    await it.send("/whoami")
    assert "管理员" in it.last_text and "阳光花园" in it.last_text


async def test_group_start_explains_groups_and_stays_quiet_otherwise(bot: Harness) -> None:
    admin = bot.person(ADMIN_ID, "管理员")
    group = bot.group(-500, "工程部")
    await admin.send("大家好", chat=group)
    assert group.texts() == []
    await admin.send("/help", chat=group)
    assert "/bind" in group.last_text
    assert "回复事项卡片" in group.last_text  # how the group will work once bound


async def test_help_in_a_group_explains_replies_to_cards_and_their_buttons(
    bot: Harness, cs: Group
) -> None:
    """In a group the bot sees only commands and replies (privacy mode): /help tells staff
    that a reply to a case card, text or photo, reaches the owner, and names the buttons."""
    assistant = bot.person(9001, "周晓梅")
    await assistant.send("/help", chat=cs)
    text = cs.last_text
    assert "阳光花园 客服中心" in text and "隐私模式" in text
    assert "回复事项卡片" in text and "发照片" in text and "业主就会收到" in text
    for label in ("当场解决", "转交部门", "上报", "同一事件", "接单", "约定完成时间", "已完成"):
        assert label in text
    english = bot.person(9002, "Li", language_code="en")
    await english.send("/help", chat=cs)
    assert "reply to the case card" in cs.last_text and "🙋 Take it" in cs.last_text


async def test_commands_are_registered_per_language(bot: Harness) -> None:
    await set_commands(bot.application)
    default = {c["command"]: c["description"] for c in bot.api.my_commands()}
    english = {c["command"]: c["description"] for c in bot.api.my_commands(language_code="en")}
    assert default["whoami"] == "我的信息"
    assert english["whoami"] == "My details"
    groups = bot.api.my_commands("all_group_chats")
    assert "bind" in {c["command"] for c in groups}


async def test_an_error_is_logged_admins_are_told_and_the_person_gets_an_apology(
    world: World, bot: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    install_redaction(world.settings)

    async def broken(self: IdentityStore, person_id: int) -> list[object]:
        raise RuntimeError(f"database on fire near https://api.telegram.org/bot{TOKEN}/getMe")

    monkeypatch.setattr(IdentityStore, "memberships", broken)
    bot.raise_errors = False
    person = bot.person(2001, "王伟")
    with caplog.at_level(logging.ERROR):
        await person.send("/start")
    assert "系统处理时出了点问题" in person.last_text
    alert = bot.api.last_message(ADMIN_ID)
    assert alert is not None and "RuntimeError" in alert["text"]
    assert TOKEN not in alert["text"]
    assert "database on fire" in caplog.text
    assert TOKEN not in caplog.text
    assert "[REDACTED]" in caplog.text
    assert "你好" not in caplog.text  # message texts are not logged


async def test_telegram_out_of_reach_while_polling_is_a_warning_not_an_alert(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """A getUpdates that failed (the connection dropped, Telegram down a moment) is retried
    by PTB and loses nothing: a warning in the log, no traceback, no alert to the admins.
    Anything else without an update still is an error, and the admins hear of it."""
    bot.raise_errors = False
    app = bot.application
    with caplog.at_level(logging.WARNING):
        await app.process_error(None, NetworkError("http11: the server closed the connection"))
    assert bot.api.last_message(ADMIN_ID) is None
    [record] = [r for r in caplog.records if "polling Telegram failed" in r.getMessage()]
    assert record.levelno == logging.WARNING and record.exc_info is None
    with caplog.at_level(logging.WARNING):
        await app.process_error(None, RuntimeError("a bug outside any update"))
    alert = bot.api.last_message(ADMIN_ID)
    assert alert is not None and "RuntimeError" in alert["text"]


def test_the_token_never_reaches_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    secret_filter = RedactingFilter([TOKEN])
    logger = logging.getLogger("httpx")
    caplog.handler.addFilter(secret_filter)
    try:
        with caplog.at_level(logging.WARNING, logger="httpx"):
            logger.warning("HTTP Request: POST %s", f"https://api.telegram.org/bot{TOKEN}/getMe")
            try:
                raise ValueError(f"bad url bot{TOKEN}")
            except ValueError:
                logger.exception("failed")
    finally:
        caplog.handler.removeFilter(secret_filter)
    assert TOKEN not in caplog.text
    assert caplog.text.count("[REDACTED]") >= 2


def test_admin_alerts_are_rate_limited() -> None:
    alerts = AdminAlerts((1,), interval=60)
    assert alerts.due(now=1000.0)
    assert not alerts.due(now=1030.0)
    assert not alerts.due(now=1059.0)
    assert alerts.suppressed == 2
    assert alerts.due(now=1061.0)


async def test_the_apology_is_in_the_language_the_person_chose(
    world: World, bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Telegram says Chinese, /lang said English: the apology for an error is English, as
    every other answer is."""
    person = bot.person(2002, "Li Wei", language_code="zh-hans")
    await person.send("/lang")
    await person.tap("English")

    async def broken(self: IdentityStore, person_id: int) -> list[object]:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(IdentityStore, "memberships", broken)
    bot.raise_errors = False
    await person.send("/whoami")
    assert person.last_text.startswith("Sorry, something went wrong")
