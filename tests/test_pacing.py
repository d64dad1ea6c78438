"""Pacing decisions (bot.pacing), on a clock the test moves: Telegram's limits are at most
30 messages in any second overall, one private chat's messages a second apart, 20 a minute
to one group. Rule: DESIGN's Pitfalls (pace the outbox yourself)."""

from __future__ import annotations

import math

import pytest

from bot.pacing import ANSWER_ALLOWANCE, SLACK, Pacer, SteppingClock

OWNER, OTHER = 2001, 2002
GROUP, OTHER_GROUP = -100, -200


@pytest.fixture
def pacer() -> Pacer:
    return Pacer(SteppingClock(0.0))


def send(pacer: Pacer, chat_id: int, at: float, took: float = 0.1) -> None:
    """One send to ``chat_id`` beginning at ``at`` and answered ``took`` seconds later."""
    assert pacer.wait(chat_id, at) == 0, f"chat {chat_id} may not be sent to at {at}"
    pacer.begin(chat_id, at)
    pacer.end(chat_id, at + took)


def test_a_private_chats_second_message_waits_a_second_after_the_first(pacer: Pacer) -> None:
    pacer.begin(OWNER, 0.0)
    assert pacer.chat_wait(OWNER, 0.05) == math.inf  # under way: nothing else to that chat
    pacer.end(OWNER, 0.2)  # Telegram answered
    assert pacer.chat_wait(OWNER, 0.2) == pytest.approx(1.0)
    assert pacer.chat_wait(OWNER, 0.7) == pytest.approx(0.5)
    assert pacer.chat_wait(OWNER, 1.2) == 0
    assert pacer.chat_wait(OTHER, 0.2) == 0  # another person is not held


def test_a_groups_21st_message_in_a_minute_waits_for_the_minute(pacer: Pacer) -> None:
    for second in range(20):
        send(pacer, GROUP, float(second))
    assert pacer.chat_wait(GROUP, 20.0) == pytest.approx(40.1)  # the first ended at 0.1
    assert pacer.chat_wait(GROUP, 59.0) == pytest.approx(1.1)
    assert pacer.chat_wait(OTHER_GROUP, 20.0) == 0  # another group has its own minute
    assert pacer.chat_wait(OWNER, 20.0) == 0
    send(pacer, GROUP, 60.1)
    assert pacer.chat_wait(GROUP, 60.2) == pytest.approx(0.9)  # the second ended at 1.1


def test_the_31st_message_in_a_second_waits_for_the_next_second(pacer: Pacer) -> None:
    for n in range(30):
        send(pacer, 3000 + n, n * 0.01)
    assert pacer.free(0.5) == 0
    assert pacer.wait(4000, 0.5) == pytest.approx(0.5 + SLACK)  # the first began at 0
    assert pacer.overall_wait(1.0 + SLACK) == 0
    assert pacer.free(1.0 + SLACK + 0.015) == 2  # the first two have left the window


def test_a_send_counts_from_when_its_request_really_left(pacer: Pacer) -> None:
    """The dispatcher counts a send when it starts it; the request leaves a little later,
    and the window counts it from then."""
    counted = pacer.begin(OWNER, 0.0)
    assert pacer.started(counted, 0.004) == 0.004
    for n in range(29):
        send(pacer, 3000 + n, 0.01)
    assert pacer.overall_wait(1.0 + SLACK) == pytest.approx(0.004)


def test_a_direct_answer_is_counted_but_not_held_by_its_chats_second(pacer: Pacer) -> None:
    send(pacer, OWNER, 0.0)  # a notice went out
    assert pacer.reserve(OWNER, 1.5, 0.3) == 0  # the person's answer does not wait
    # …but the next notice waits its second after the answer (assumed over after a while).
    assert pacer.chat_wait(OWNER, 0.3) == pytest.approx(1.0 + ANSWER_ALLOWANCE)
    assert pacer.free(0.3) == 28  # both count in the overall second


def test_a_direct_answer_waits_for_the_overall_second_and_not_for_a_spent_minute(
    pacer: Pacer,
) -> None:
    for n in range(30):
        send(pacer, 3000 + n, 0.0)
    assert pacer.reserve(OWNER, 1.5, 0.5) == pytest.approx(0.5 + SLACK)  # a moment
    assert pacer.free(0.6) == 0  # its place is taken: the outbox cannot take it too
    for second in range(20):
        send(pacer, GROUP, 10.0 + second)
    assert pacer.reserve(GROUP, 1.5, 30.0) is None  # 40 s off: the answer is queued
    assert pacer.chat_wait(GROUP, 30.0) == pytest.approx(40.1)  # and nothing was taken


def test_an_answer_never_overtakes_a_notice_under_way(pacer: Pacer) -> None:
    pacer.begin(OWNER, 0.0)
    assert pacer.reserve(OWNER, 1.5, 0.01) is None


def test_only_chats_their_own_limit_holds_are_held(pacer: Pacer) -> None:
    send(pacer, OWNER, 0.0)
    send(pacer, GROUP, 0.0)
    assert pacer.held(0.5) == {OWNER: pytest.approx(0.6)}  # the group is far from its 20
    assert pacer.held(2.0) == {}
    assert pacer.free(2.0) == 30


async def test_a_stepping_clock_moves_when_slept_on() -> None:
    clock = SteppingClock(5.0)
    await clock.sleep(1.5)
    clock.advance(0.5)
    assert clock.now() == 7.0 and clock.sleeps == [1.5]
