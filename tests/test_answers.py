"""Answers inside a conversation when Telegram is slow or down: tried again, then queued in
the outbox; the step the person took is kept, and the answer arrives once Telegram is back."""

from __future__ import annotations

import pytest
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.outbox import OutboxSender
from tests.conftest import World
from tests.support.app import clock_of
from tests.support.cases import latest_case
from tests.support.telegram import Harness, Person


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("handlers.common.REPLY_PAUSE", 0.0)


def sender(world: World) -> OutboxSender:
    assert world.harness is not None
    found: OutboxSender = world.harness.application.bot_data["services"].sender
    return found


async def test_a_dropped_connection_is_tried_again_and_answered_once(
    world: World, bot: Harness, owner: Person
) -> None:
    """Nothing was sent: trying again at once is safe."""
    bot.api.raise_next("sendMessage", NetworkError("Connection reset by peer"), times=2)
    mark = owner.mark()
    await owner.send("/request")
    assert len(owner.texts(mark)) == 1 and owner.buttons()[:1] == ["报修"]
    assert await sender(world).drain() == 0  # nothing was queued


async def test_a_timeout_is_not_sent_again_at_once_but_queued(
    world: World, bot: Harness, owner: Person
) -> None:
    """A timeout may come after delivery: the answer goes to the outbox once, not three times
    straight away."""
    bot.api.raise_next("sendMessage", TimedOut())
    calls = len(bot.api.calls_of("sendMessage"))
    mark = owner.mark()
    await owner.send("/request")
    await sender(world).drain()  # (the background sender may have sent it already)
    assert len(bot.api.calls_of("sendMessage")) == calls + 2  # the timed-out one, the queued
    assert len(owner.texts(mark)) == 1 and owner.buttons()[:1] == ["报修"]


async def test_telegram_down_the_answer_is_queued_and_the_step_is_kept(
    world: World, bot: Harness, owner: Person
) -> None:
    await owner.send("/request")
    await owner.tap("报修")
    await owner.tap("阳光花园 · 1栋 101")
    # every try of the next answer (502 Bad Gateway, as PTB reports it)
    bot.api.raise_next("sendMessage", NetworkError("Bad Gateway"), times=3)
    mark = owner.mark()
    await owner.send("厨房水管漏水，地面已经积水")  # the description
    assert owner.texts(mark) == []  # nothing reached the person yet, and no apology either
    assert await sender(world).drain() == 1  # Telegram is back: the queued answer goes out
    [question] = owner.texts(mark)
    assert "紧急" in " ".join(owner.buttons())  # the urgency question, with its buttons
    await owner.tap("普通")  # the conversation went on: the description was kept
    case = await latest_case(world)
    assert case.description == "厨房水管漏水，地面已经积水" and question


async def test_a_queued_answer_keeps_its_reply_keyboard(bot: Harness, world: World) -> None:
    """The contact button of /start survives the trip through the outbox."""
    person = bot.person(2002, "李娜", phone="8613900000002")
    bot.api.raise_next("sendMessage", TimedOut())
    await person.send("/start")
    assert await sender(world).drain() == 1
    keyboard = person.reply_keyboard()
    assert keyboard is not None and keyboard[0][0].get("request_contact") is True
    await person.press(keyboard[0][0]["text"])
    assert any("身份验证成功" in text for text in person.texts())


async def test_a_bad_request_is_not_retried(world: World, bot: Harness, owner: Person) -> None:
    """Telegram calling the answer bad is our mistake: it is not sent again, nor queued;
    the person gets the apology instead."""
    bot.raise_errors = False  # the error handler answers, as in production
    bot.api.raise_next("sendMessage", BadRequest("Can't parse entities"))
    before = len(bot.api.calls_of("sendMessage"))
    await owner.send("/request")
    calls = [c for c in bot.api.calls_of("sendMessage")[before:] if c.params["chat_id"] == 2001]
    assert len(calls) == 2 and calls[0].error is not None  # the answer once, the apology
    assert "抱歉" in owner.last_text
    queued = await world.db.fetchone("SELECT COUNT(*) FROM outbox WHERE chat_id = 2001")
    assert queued is not None and queued[0] == 0


async def test_an_answer_refused_429_is_queued_to_go_when_telegram_said(
    world: World, bot: Harness, owner: Person
) -> None:
    """Telegram refused the answer with "retry after 30": the outbox waits those 30 s (by
    the application's clock) before trying the chat again, as it does for its own 429s,
    rather than knocking again a second later."""
    bot.api.world.inject("sendMessage", "429", retry_after=30, chat_id=owner.user_id)
    mark = owner.mark()
    await owner.send("/request")
    calls = len(bot.api.calls_of("sendMessage"))
    await sender(world).drain()
    assert owner.texts(mark) == [] and len(bot.api.calls_of("sendMessage")) == calls
    clock_of(world).advance(seconds=29)
    await sender(world).drain()
    assert owner.texts(mark) == []
    clock_of(world).advance(seconds=1)
    await sender(world).drain()
    assert len(owner.texts(mark)) == 1 and owner.buttons()[:1] == ["报修"]
