"""Texts for people, not for engineers: what residents and staff read says what happened
in their words — no raw text keys, no rule ids for residents, the estate's own limits."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import World
from tests.support.app import services_of, sweeper_of
from tests.support.cases import file_request, latest_case
from tests.support.telegram import Group, Harness, Person


async def test_q1_the_case_timeline_names_photos_the_system_and_the_clock_missed(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """/case: a photo attached, the bot's own steps and a missed clock (Q-1) read as words,
    never as ``evidence.attached`` or ``system``."""
    await file_request(owner, photo=True)
    case = await latest_case(world)
    later = case.accepted_at + timedelta(minutes=11)
    await sweeper_of(world, clock=lambda: later).sweep()
    await services_of(world).deliver()
    assistant = bot.person(9001, "周晓梅")
    await assistant.send(f"/case {case.number}")
    timeline = assistant.last_text.split("处理记录", 1)[1]
    assert "evidence." not in timeline and "system" not in timeline
    assert "王伟 · 附上照片" in timeline
    assert "系统 · 超时：Q-1 10 分钟内转交" in timeline
