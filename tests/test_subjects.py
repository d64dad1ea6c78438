"""The shared machinery attaches to any subject (kind, id): clocks, outbox rows, audit
events and approvals of a case today, and of a renovation or a pass tomorrow."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from bot.sweeper import Sweeper
from procedures import complaints
from procedures.cases import Action, Kind
from procedures.deadlines import load_estate
from procedures.decisions import By, Decision, Facts
from procedures.subjects import Subject, case
from storage import approvals, deadlines
from storage.cases import CaseStore, NewCase
from storage.clock import ManualClock
from storage.db import Database
from storage.deadlines import DeadlineStore, Firing
from storage.identity import IdentityStore
from storage.outbox import OutboxStore, enqueue


def test_a_subject_is_named_as_the_audit_trail_names_it() -> None:
    assert str(Subject("renovation", 5)) == "renovation:5"
    assert Subject.parse("case:12") == case(12) == ("case", 12)
    for bad in ("case", "case:", ":3", "case:x"):
        with pytest.raises(ValueError, match="not a subject"):
            Subject.parse(bad)


async def test_any_subject_has_clocks_that_fire_once(db: Database, clock: ManualClock) -> None:
    """A renovation's timer lives in the same table and fires through the same sweeper
    as a case's; a subject no procedure reacts to yet is marked fired, not retried."""
    renovation = Subject("renovation", 5)
    now = clock.now()
    async with db.write() as conn:
        await deadlines.schedule(conn, renovation, "R-4", now + timedelta(hours=1))
        await enqueue(conn, 42, "装修申请已受理", subject=renovation)
    [timer] = await DeadlineStore(db).of_case(renovation)
    assert (timer.subject, timer.case_id, timer.state) == (renovation, None, "pending")
    seen: list[Firing] = []

    async def react(conn: object, firing: Firing) -> None:
        seen.append(firing)

    clock.advance(hours=2)
    assert await Sweeper(db, react).sweep() == 1
    assert await Sweeper(db, react).sweep() == 0
    assert [f.deadline.subject for f in seen] == [renovation]
    [message] = await OutboxStore(db).due(clock.now(), 10)
    assert message.subject == renovation and message.case_id is None


async def test_a_case_timer_keeps_its_case(db: Database, clock: ManualClock) -> None:
    store = CaseStore(db)
    estate = await IdentityStore(db).ensure_estate("阳光花园")
    filed = await store.file(
        NewCase(estate.id, Kind.COMPLAINT, "noise", "楼上噪音"),
        clock.now(),
        lambda c: Decision(),
        actor="test",
    )
    async with db.write() as conn:
        await deadlines.schedule(conn, filed.id, "C-5-week", clock.now() + timedelta(days=7))
        await enqueue(conn, 42, "x", case_id=filed.id)
    [timer] = await store.clocks(filed.id)
    assert timer.subject == case(filed.id) and timer.case_id == filed.id
    [message] = await OutboxStore(db).due(clock.now(), 10)
    assert message.subject == case(filed.id)


async def test_c13_an_approval_is_kept_with_its_role_and_version_and_never_changed(
    db: Database, clock: ManualClock
) -> None:
    """C-13: who approved, in which role, which version of the opinion; a refusal is kept
    the same way; neither can be edited or deleted afterwards."""
    store = CaseStore(db)
    identity = IdentityStore(db)
    estate = await identity.ensure_estate("阳光花园")
    manager = await identity.touch_person(9002, "吴建国", None, "zh-hans")
    writer = await identity.touch_person(9003, "周主管", None, "zh-hans")
    filed = await store.file(
        NewCase(estate.id, Kind.COMPLAINT, "noise", "楼上噪音"),
        clock.now(),
        lambda c: Decision(),
        actor="test",
    )
    rules = load_estate("阳光花园")
    for step in ("refer", "classify", "opinion", "feedback"):
        current = await store.get(filed.id)
        assert current is not None
        now = Facts(rules, clock.now())
        decision: Decision | None
        if step == "refer":
            decision = Decision(action=Action.REFER, changes={"department": "engineering"})
        elif step == "classify":
            decision = complaints.classify(current, "minor", By(1, "孙志远"), now)
        elif step == "opinion":
            decision = complaints.write_opinion(current, "更换阀门", By(writer.id, writer.name))
        else:
            decision = complaints.feedback(current, By(1, "郑海"), now, "已更换阀门")
        assert decision is not None
        assert await store.apply(filed.id, decision, by=None, actor="test", rules=rules)
    who = By(manager.id, manager.name)
    for text, approve in (("第一版", False), ("第二版", True)):
        current = await store.get(filed.id)
        assert current is not None
        draft = complaints.draft(current, text, By(writer.id, writer.name))
        assert draft is not None
        current = await store.apply(filed.id, draft, by=writer.id, actor="test")
        assert current is not None
        version = complaints.opinion_version(text)
        decision = (
            complaints.approve(current, version, who, "cc_supervisor", Facts(rules, clock.now()))
            if approve
            else complaints.reject(current, version, who, "cc_supervisor")
        )
        assert decision is not None
        assert await store.apply(filed.id, decision, by=manager.id, actor="test", rules=rules)
    signed = await approvals.of_subject(db, case(filed.id))
    assert [(s.step, s.role, s.approved, s.version) for s in signed] == [
        ("C-13", "cc_supervisor", False, complaints.opinion_version("第一版")),
        ("C-13", "cc_supervisor", True, complaints.opinion_version("第二版")),
    ]
    assert {s.by_id for s in signed} == {manager.id}
    for sql in ("UPDATE approvals SET role = 'admin'", "DELETE FROM approvals"):
        with pytest.raises(sqlite3.IntegrityError, match="never"):
            async with db.write() as conn:
                await conn.execute(sql)
