"""Cases in the database: filing, and every later step as a decision applied in one unit of
work (the case, its audit event, its deadlines and the outbox rows it causes).

Every SQL statement about cases lives here; procedures decide, handlers render.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

import aiosqlite

from procedures.cases import Case, InvalidTransition, Kind, case_number, next_status
from procedures.clocks import Timer, armed, history_of
from procedures.complaints import opinion_version
from procedures.deadlines import EstateRules
from procedures.decisions import Decision, Tell
from procedures.subjects import CASE, Subject
from procedures.subjects import case as subject_of
from storage import approvals, audit, deadlines, evidence, inbox
from storage.db import Database, iso, now_of, parse_iso
from storage.deadlines import Deadline
from storage.outbox import enqueue, enqueue_edit

__all__ = ["Case", "CaseStore", "NewCase", "Notice", "Timer", "apply", "link_event"]


def _case(row: sqlite3.Row) -> Case:
    return Case(
        row["id"],
        row["number"],
        row["estate_id"],
        row["kind"],
        row["category"],
        row["unit_id"],
        row["resident_id"],
        row["description"],
        bool(row["urgent"]),
        row["status"],
        row["severity"],
        row["department"],
        row["assignee_id"],
        parse_iso(row["promised_at"]) if row["promised_at"] else None,
        parse_iso(row["accepted_at"]),
        row["channel"],
        row["caller_name"],
        row["caller_phone"],
        row["opinion"],
        row["opinion_by"],
        row["event_key"],
        row["unit_label"],
        row["feedback"],
        row["reply_draft"],
        row["reply_by"],
        row["approved_by"],
        parse_iso(row["answered_at"]) if row["answered_at"] else None,
        row["answer"],
        row["satisfaction"],
        parse_iso(row["called_back_at"]) if row["called_back_at"] else None,
        row["renovation_number"],
    )


@dataclass(frozen=True)
class Notice:
    """A message to queue: to a chat, maybe with buttons, maybe to a person."""

    chat_id: int
    text: str
    markup: dict[str, Any] | None = None
    person_id: int | None = None
    photo: str | None = None
    album: tuple[str, ...] = ()  # display copies of kept photos (SHA-256s), sent as an album
    locale: str | None = None  # the reader's language (for what goes with it)
    card: Card | None = None  # a card to keep true: redrawn on every later step


@dataclass(frozen=True)
class Card:
    """What a card was drawn from, to draw it again as the case moves on: the reader's
    language, the text above the card as rendered then, the layout and the keyboard's
    name (and argument)."""

    locale: str
    head: str
    style: str
    buttons: str | None = None
    button_arg: int | None = None


@dataclass(frozen=True)
class PostedCard:
    """A card posted about a case (an outbox row), with what it was drawn from."""

    outbox_id: int
    chat_id: int
    card: Card
    posted_markup: dict[str, Any] | None = None  # the keyboard it was posted with


@dataclass(frozen=True)
class Redrawn:
    """A card as it should read now: its text and keyboard (None: none)."""

    outbox_id: int
    text: str
    markup: dict[str, Any] | None


@dataclass(frozen=True)
class Rendered:
    """A step's messages: its tells as notices, and the posted cards as they read now."""

    notices: list[Notice]
    redrawn: list[Redrawn]


class Render(Protocol):
    """Renders a decision's tells for the record as it is after the step (numbers, status
    and fields are known then), inside the step's transaction, and draws again the cards
    already posted about it: handlers.notify.Notifier."""

    async def __call__(
        self, case: Case, tells: Sequence[Tell], cards: Sequence[PostedCard] = ()
    ) -> Rendered: ...


#: The fields a step may change besides the status (and the times it sets itself).
_STEP_FIELDS = frozenset(
    {
        "department",
        "urgent",
        "assignee_id",
        "severity",
        "promised_at",
        "resolved_at",
        "satisfaction",
        "called_back_at",
        "callback_channel",
        "invalid_reason",
        "opinion",
        "opinion_by",
        "approved_by",
        "replied_at",
        "feedback",
        "reply_draft",
        "reply_by",
        "answered_at",
        "answer",
    }
)


@dataclass(frozen=True)
class NewCase:
    """What filing needs."""

    estate_id: int
    kind: Kind
    category: str | None
    description: str
    unit_id: int | None = None
    resident_id: int | None = None
    urgent: bool = False
    channel: str = "chat"
    caller_name: str | None = None
    caller_phone: str | None = None
    department: str | None = None
    photos: Sequence[tuple[str, str | None]] = ()  # (Telegram file_id, SHA-256 or None)
    displays: Mapping[str, str] = field(default_factory=dict)  # original → display copy
    created_by: int | None = None
    unit_label: str | None = None
    draft_key: str | None = None  # the person's draft it was filed from (filed once)
    number: str | None = None  # reserved beforehand (reserve_number), else taken at filing


async def _next_number(conn: aiosqlite.Connection, kind: Kind, day: date) -> str:
    """The next number of ``kind`` on ``day``: one sequence per kind and day for the whole
    deployment (counter row estate 0), so a number names one case everywhere, whichever
    estate it belongs to."""
    prefix = case_number(kind, day, 0).split("-")[0]
    return case_number(kind, day, await next_in_day(conn, prefix, day))


async def next_in_day(conn: aiosqlite.Connection, prefix: str, day: date) -> int:
    """The next sequence number of numbers starting ``prefix`` on ``day`` (cases' XQ, TS…;
    renovations' ZX), one counter for the whole deployment, inside the caller's
    transaction."""
    await conn.execute(
        "INSERT INTO case_counters(estate_id, prefix, day, last) VALUES (0, ?, ?, 1)"
        " ON CONFLICT(estate_id, prefix, day) DO UPDATE SET last = last + 1",
        (prefix, day.isoformat()),
    )
    counter = await _one(
        conn,
        "SELECT last FROM case_counters WHERE estate_id = 0 AND prefix = ? AND day = ?",
        [prefix, day.isoformat()],
    )
    assert counter is not None
    return int(counter["last"])


async def _one(conn: aiosqlite.Connection, sql: str, params: Sequence[Any]) -> sqlite3.Row | None:
    async with conn.execute(sql, params) as cur:
        row: sqlite3.Row | None = await cur.fetchone()
        return row


async def _read(conn: aiosqlite.Connection, case_id: int) -> Case | None:
    row = await _one(conn, "SELECT * FROM cases WHERE id = ?", [case_id])
    return _case(row) if row else None


async def _clocks(
    conn: aiosqlite.Connection, case: Case, decision: Decision, rules: EstateRules | None
) -> None:
    """A decision's clocks, in order: stopped (met, then missed), armed, started."""
    if decision.stop:
        await deadlines.settle(conn, case.id, list(decision.stop))
    if decision.missed:
        await deadlines.settle(conn, case.id, list(decision.missed), met=False)
    starts: list[Timer] = []
    for arm in decision.arm:  # timers that waited for this event start first
        if rules is None:
            raise ValueError("arming clocks needs the estate's rules")
        async with conn.execute(
            "SELECT rule, data FROM deadlines WHERE subject_kind = 'case' AND subject_id = ?"
            " AND state = 'waiting' ORDER BY id",
            (case.id,),
        ) as cur:
            waiting = [(r["rule"], json.loads(r["data"])) for r in await cur.fetchall()]
        starts += [
            armed(rules, rule, arm.at, data)
            for rule, data in waiting
            if data.get("waiting_for") == arm.event and rule not in arm.besides
        ]
    for timer in [*starts, *decision.start]:
        await deadlines.schedule(
            conn,
            case.id,
            timer.rule,
            timer.due_at,
            timer.warn_at,
            timer.data,
            waiting=timer.waiting,
        )


async def _effects(
    conn: aiosqlite.Connection,
    case: Case,
    decision: Decision,
    rules: EstateRules | None,
    render: Render | None,
    actor: str,
) -> None:
    """Carry out a decision's effects inside the caller's transaction: photos kept, clocks
    stopped and started, its tells rendered and queued in the outbox."""
    for photo in decision.evidence:
        await _keep_photo(
            conn, case, photo.file_id, photo.sha256, photo.added_by, actor, photo.display_sha256
        )
    await _clocks(conn, case, decision, rules)
    await inbox.settle(conn)  # the update that took this step is handled, with the step
    if render is None:
        return
    posted = await _posted_cards(conn, case.id)
    if not decision.tell and not posted:
        return
    rendered = await render(case, decision.tell, [card for card, _ in posted])
    await _redraw(conn, {c.outbox_id: shown for c, shown in posted}, rendered.redrawn)
    for notice in rendered.notices:
        row = await enqueue(
            conn,
            notice.chat_id,
            notice.text,
            markup=notice.markup,
            case_id=case.id,
            person_id=notice.person_id,
            photo=notice.photo,
            album=list(notice.album) or None,
        )
        if notice.card is not None:
            await _remember_card(conn, case.id, row, notice)


def _shown(text: str, markup: dict[str, Any] | None) -> str:
    return hashlib.sha256(json.dumps([text, markup], ensure_ascii=False).encode()).hexdigest()


async def _remember_card(
    conn: aiosqlite.Connection, case_id: int, outbox_id: int, notice: Notice
) -> None:
    card = notice.card
    assert card is not None
    await conn.execute(
        "INSERT INTO case_cards(outbox_id, case_id, chat_id, locale, head, style, buttons,"
        " button_arg, shown) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (outbox_id, case_id, notice.chat_id, card.locale, card.head, card.style, card.buttons,
         card.button_arg, _shown(notice.text, notice.markup)),
    )  # fmt: skip


async def _posted_cards(conn: aiosqlite.Connection, case_id: int) -> list[tuple[PostedCard, str]]:
    """The cards posted (or about to be) about a case, each with the hash of what it
    shows (its text and keyboard as last queued)."""
    async with conn.execute(
        "SELECT c.*, o.markup AS posted_markup FROM case_cards c"
        " JOIN outbox o ON o.id = c.outbox_id"
        " WHERE c.case_id = ? AND o.state IN ('pending', 'sent') ORDER BY c.outbox_id",
        (case_id,),
    ) as cur:
        rows = list(await cur.fetchall())
    return [(_posted(r), str(r["shown"])) for r in rows]


def _posted(row: sqlite3.Row) -> PostedCard:
    """A ``case_cards`` row joined with its outbox row's keyboard (``posted_markup``)."""
    return PostedCard(
        int(row["outbox_id"]),
        int(row["chat_id"]),
        Card(row["locale"], row["head"], row["style"], row["buttons"], row["button_arg"]),
        json.loads(row["posted_markup"]) if row["posted_markup"] else None,
    )


async def _redraw(
    conn: aiosqlite.Connection, shown: Mapping[int, str], redrawn: Sequence[Redrawn]
) -> None:
    """Cards stay true: every card posted about the case that reads otherwise now (its
    status, who took it, the time promised; buttons of a step that is over) gets an outbox
    edit; pending edits of one card collapse into the newest."""
    for card in redrawn:
        now = _shown(card.text, card.markup)
        if shown.get(card.outbox_id) == now:
            continue
        await enqueue_edit(conn, card.outbox_id, card.text, card.markup)
        await conn.execute(
            "UPDATE case_cards SET shown = ? WHERE outbox_id = ?", (now, card.outbox_id)
        )


async def _keep_photo(
    conn: aiosqlite.Connection,
    case: Case,
    file_id: str,
    sha: str | None,
    added_by: int | None,
    actor: str,
    display_sha256: str | None = None,
) -> None:
    """A photo goes with the case: its Telegram id, and when its original was kept, the
    evidence link whose audit event names its SHA-256."""
    await conn.execute(
        "INSERT INTO case_photos(case_id, file_id, sha256, added_by, added_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (case.id, file_id, sha, added_by, iso(now_of(conn))),
    )
    if sha is not None:
        await evidence.link(
            conn,
            Subject(CASE, case.id),
            sha,
            actor=actor,
            display_sha256=display_sha256,
            file_id=file_id,
            added_by=added_by,
            estate_id=case.estate_id,
        )


async def apply(
    conn: aiosqlite.Connection,
    case_id: int,
    decision: Decision,
    *,
    by: int | None,
    actor: str,
    rules: EstateRules | None = None,
    render: Render | None = None,
) -> Case | None:
    """Apply a decision to a case inside the caller's transaction: the move (checked against
    the state machine) or the event, the changed fields, the audit event, the clocks and the
    outbox rows, all or nothing.

    Returns the case after it, or None when the decision no longer applies (someone else
    acted first, the button is stale, the draft reply is not the one shown); nothing changes
    then. ``rules`` are the estate's, for clocks armed by the decision.
    """
    fields = dict(decision.changes)
    if set(fields) - _STEP_FIELDS:
        raise ValueError(f"cannot change {sorted(set(fields) - _STEP_FIELDS)}")
    before = await _read(conn, case_id)
    if before is None:
        return None
    if decision.expect_status is not None and before.status != decision.expect_status:
        return None
    if decision.expect_version is not None and (
        not before.reply_draft or opinion_version(before.reply_draft) != decision.expect_version
    ):
        return None
    now = iso(now_of(conn))
    if decision.action is not None:
        try:
            status = next_status(before.status, decision.action)
        except InvalidTransition:
            return None
        fields["status"] = status.value
        if status.value == "done":
            fields.setdefault("resolved_at", now)
        if status.value == "closed":
            fields["closed_at"] = now
    encoded = {k: iso(v) if isinstance(v, datetime) else v for k, v in fields.items()}
    if encoded:
        sets = ", ".join(f"{k} = ?" for k in encoded)
        await conn.execute(
            f"UPDATE cases SET {sets}, updated_at = ? WHERE id = ?",
            [*encoded.values(), now, case_id],
        )
    after = await _read(conn, case_id)
    assert after is not None
    if decision.action is not None:
        data: dict[str, Any] = {"from": before.status, "to": after.status, "note": decision.note}
        data |= {k: v for k, v in encoded.items() if k != "status"} | decision.data
        event = f"case.{decision.action.value}"
    else:
        data = dict(decision.data)
        event = decision.event or ""
    if event:
        await audit.append(
            conn,
            event=event,
            subject=f"case:{case_id}",
            actor=actor,
            actor_id=by,
            estate_id=after.estate_id,
            data=data,
        )
    if decision.approval is not None:
        if by is None:
            raise ValueError("an approval is signed by a person")
        await approvals.record(conn, subject_of(case_id), decision.approval, by)
    await _effects(conn, after, decision, rules, render, actor)
    for action, changes in decision.follow:
        then = Decision(action=action, changes=changes, expect_status=after.status)
        stepped = await apply(conn, case_id, then, by=by, actor=actor)
        if stepped is None:
            raise InvalidTransition(f"cannot {action.value} a {after.status} case at once")
        after = stepped
    return after


class CaseStore:
    """Filing and stepping cases; reads for lists and cards."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def file(
        self,
        new: NewCase,
        local_day: datetime,
        decide: Callable[[Case], Decision],
        *,
        actor: str,
        rules: EstateRules | None = None,
        render: Render | None = None,
    ) -> Case:
        """Create a case with its number, photos and audit event, and apply what filing
        decides (``decide`` sees the case with its number: clocks, notices, follow-up moves),
        in one transaction."""
        now = self.db.now()
        day = local_day.date()
        async with self.db.write() as conn:
            if new.draft_key is not None:  # filed already from this draft: that case, once
                filed = await _one(conn, "SELECT * FROM cases WHERE draft_key = ?", [new.draft_key])
                if filed is not None:
                    return _case(filed)
            number = new.number or await _next_number(conn, new.kind, day)
            cur = await conn.execute(
                "INSERT INTO cases(number, estate_id, kind, category, unit_id, resident_id,"
                " caller_name, caller_phone, channel, description, urgent, status, department,"
                " accepted_at, created_by, created_at, updated_at, unit_label, draft_key)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'new', ?, ?, ?, ?, ?, ?, ?)",
                (
                    number,
                    new.estate_id,
                    new.kind.value,
                    new.category,
                    new.unit_id,
                    new.resident_id,
                    new.caller_name,
                    new.caller_phone,
                    new.channel,
                    new.description,
                    int(new.urgent),
                    new.department,
                    iso(now),
                    new.created_by,
                    iso(now),
                    iso(now),
                    new.unit_label,
                    new.draft_key,
                ),
            )
            case_id = int(cur.lastrowid or 0)
            linked = None
            if new.unit_id is not None and new.resident_id is not None:  # during works
                from storage.renovation_hotwork import link_case  # (it imports this module)

                linked = await link_case(conn, case_id, new.unit_id, new.resident_id)
            case = await _read(conn, case_id)
            assert case is not None
            await audit.append(
                conn,
                event="case.filed",
                subject=f"case:{case_id}",
                actor=actor,
                actor_id=new.created_by,
                estate_id=new.estate_id,
                data={
                    "number": number,
                    "kind": new.kind.value,
                    "category": new.category,
                    "channel": new.channel,
                    "urgent": new.urgent,
                    "photos": len(new.photos),
                    "description": new.description,
                }
                | ({"renovation": linked} if linked else {}),
            )
            for file_id, sha in new.photos:
                shown = new.displays.get(sha) if sha else None
                await _keep_photo(conn, case, file_id, sha, new.created_by, actor, shown)
            decision = decide(case)
            await _effects(conn, case, decision, rules, render, actor)
            for action, changes in decision.follow:
                then = Decision(action=action, changes=changes, expect_status=case.status)
                stepped = await apply(conn, case.id, then, by=new.created_by, actor=actor)
                if stepped is None:
                    raise InvalidTransition(f"cannot {action.value} a new case at once")
                case = stepped
            return case

    async def card_at(self, chat_id: int, message_id: int) -> PostedCard | None:
        """The card that is message ``message_id`` in ``chat_id``, with what it was drawn
        from (None for a message that is no recorded card)."""
        row = await self.db.fetchone(
            "SELECT c.*, o.markup AS posted_markup FROM case_cards c"
            " JOIN outbox o ON o.id = c.outbox_id"
            " WHERE o.chat_id = ? AND o.message_id = ? AND o.state = 'sent'",
            (chat_id, message_id),
        )
        return _posted(row) if row is not None else None

    async def cards_with_buttons(
        self, chat_id: int, limit: int
    ) -> list[tuple[int, str, int | None]]:
        """The newest ``limit`` cards posted in ``chat_id`` with a keyboard (a staff member's
        private chat): each case's id, the keyboard's name and its argument, newest first
        (whether its step is still open is for the keyboard, drawn now, to say)."""
        rows = await self.db.fetchall(
            "SELECT c.case_id, c.buttons, c.button_arg FROM case_cards c"
            " JOIN outbox o ON o.id = c.outbox_id"
            " WHERE c.chat_id = ? AND c.buttons IS NOT NULL AND o.state = 'sent'"
            " ORDER BY c.outbox_id DESC LIMIT ?",
            (chat_id, limit),
        )
        return [(int(r["case_id"]), str(r["buttons"]), r["button_arg"]) for r in rows]

    async def reserve_number(self, kind: Kind, local_day: datetime) -> str:
        """The next case number, taken now for a case about to be filed (its photos'
        watermarks name it before the filing's transaction): given back to :meth:`file`
        in ``NewCase.number``. A number reserved and never filed (the process died in
        between, and the draft with it) is a gap in the day's sequence."""
        async with self.db.write() as conn:
            return await _next_number(conn, kind, local_day.date())

    async def apply(
        self,
        case_id: int,
        decision: Decision,
        *,
        by: int | None,
        actor: str,
        rules: EstateRules | None = None,
        render: Render | None = None,
    ) -> Case | None:
        """:func:`apply` in a transaction of its own (one unit of work per step)."""
        async with self.db.write() as conn:
            return await apply(
                conn, case_id, decision, by=by, actor=actor, rules=rules, render=render
            )

    async def history(self, case_id: int) -> dict[str, list[datetime]]:
        """When each clock event happened to a case (its audit trail), oldest first."""
        rows = await self.db.fetchall(_HISTORY, (f"case:{case_id}",))
        return history_of([(r["event"], parse_iso(r["at"])) for r in rows])

    async def link_candidates(self, case: Case, window: timedelta, limit: int = 8) -> list[Case]:
        """C-5: the estate's other complaints filed within ``window`` around this one,
        newest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM cases WHERE estate_id = ? AND kind = 'complaint' AND id != ?"
            " AND accepted_at BETWEEN ? AND ? ORDER BY id DESC LIMIT ?",
            (
                case.estate_id,
                case.id,
                iso(case.accepted_at - window),
                iso(case.accepted_at + window),
                limit,
            ),
        )
        return [_case(r) for r in rows]

    async def extend(
        self,
        case_id: int,
        timer_id: int,
        rule: str,
        decide: Callable[[datetime], Decision],
        *,
        by: int,
        actor: str,
    ) -> bool:
        """C-12: extend a case's timer, running or run out unmet (an overrun approved
        after the fact): ``decide`` gets its due time and says what the extension does.
        False when that timer was met, cancelled, or already followed by another (extended
        once): two presses of one button extend it once."""
        async with self.db.write() as conn:
            row = await _one(
                conn,
                "SELECT due_at FROM deadlines d WHERE id = ? AND case_id = ? AND rule = ?"
                " AND (state IN ('pending', 'warned') OR (state = 'fired' AND NOT EXISTS ("
                "SELECT 1 FROM deadlines n WHERE n.case_id = d.case_id AND n.rule = d.rule"
                " AND n.id > d.id)))",
                [timer_id, case_id, rule],
            )
            if row is None:
                return False
            decision = decide(parse_iso(row["due_at"]))
            return await apply(conn, case_id, decision, by=by, actor=actor) is not None

    async def get(self, case_id: int) -> Case | None:
        """A case by id."""
        row = await self.db.fetchone("SELECT * FROM cases WHERE id = ?", (case_id,))
        return _case(row) if row else None

    async def filed_from(self, draft_key: str) -> Case | None:
        """The case filed from a person's draft, if it was (a crash can leave the draft)."""
        row = await self.db.fetchone("SELECT * FROM cases WHERE draft_key = ?", (draft_key,))
        return _case(row) if row else None

    async def by_number(self, number: str) -> Case | None:
        """A case by its number (``TS-20261127-0003``)."""
        row = await self.db.fetchone(
            "SELECT * FROM cases WHERE number = ?", (number.strip().upper(),)
        )
        return _case(row) if row else None

    async def of_resident(self, person_id: int, limit: int = 20) -> list[Case]:
        """A resident's cases, newest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM cases WHERE resident_id = ? ORDER BY id DESC LIMIT ?",
            (person_id, limit),
        )
        return [_case(r) for r in rows]

    async def photos(self, case_id: int) -> list[str]:
        """The Telegram file ids of a case's photos, in order."""
        rows = await self.db.fetchall(
            "SELECT file_id FROM case_photos WHERE case_id = ? ORDER BY id", (case_id,)
        )
        return [r["file_id"] for r in rows]

    async def clocks(self, case_id: int) -> list[Deadline]:
        """Every timer of a case, oldest first."""
        return await deadlines.DeadlineStore(self.db).of_case(case_id)

    async def trail(self, case_id: int) -> list[dict[str, Any]]:
        """The case's audit events, oldest first (its timeline)."""
        return await audit.trail(self.db, f"case:{case_id}")


#: A case's audit events, oldest first, as far as its clocks care (their names and times).
_HISTORY = "SELECT event, at FROM audit WHERE subject = ? ORDER BY id"


async def history_in(conn: aiosqlite.Connection, case_id: int) -> dict[str, list[datetime]]:
    """:meth:`CaseStore.history` inside the caller's transaction."""
    async with conn.execute(_HISTORY, (f"case:{case_id}",)) as cur:
        rows = await cur.fetchall()
    return history_of([(r["event"], parse_iso(r["at"])) for r in rows])


#: C-5: what linking decides for the event's complaints (each with its clock history):
#: the complainants counted, and a decision for each complaint that changes.
DecideEvent = Callable[
    [Sequence[tuple[Case, dict[str, list[datetime]]]]], tuple[int, list[tuple[int, Decision]]]
]


async def link_event(
    db: Database,
    case_id: int,
    other_id: int,
    decide: DecideEvent,
    *,
    by: int,
    actor: str,
    rules: EstateRules,
    render: Render,
) -> int | None:
    """C-5: two complaints are about one event. Both (and any event either was counted
    under before) are put under one event key, the link is audited, and ``decide`` sees
    every complaint of the event: what it returns is applied in the same transaction.
    Returns the complainants counted, or None when either complaint is gone."""
    async with db.write() as conn:
        case, other = await _read(conn, case_id), await _read(conn, other_id)
        if case is None or other is None:
            return None
        key = other.event_key_or_number()
        for linked in (case, other):
            await conn.execute("UPDATE cases SET event_key = ? WHERE id = ?", (key, linked.id))
            if linked.event_key is not None and linked.event_key != key:
                await conn.execute(  # merge an earlier event into this one
                    "UPDATE cases SET event_key = ? WHERE estate_id = ? AND event_key = ?",
                    (key, case.estate_id, linked.event_key),
                )
        await audit.append(
            conn,
            event="case.linked",
            subject=f"case:{case.id}",
            actor=actor,
            actor_id=by,
            estate_id=case.estate_id,
            data={"event": key, "with": other.number},
        )
        async with conn.execute(
            "SELECT * FROM cases WHERE estate_id = ? AND event_key = ? AND kind = 'complaint'"
            " ORDER BY id",
            (case.estate_id, key),
        ) as cur:
            members = [_case(r) for r in await cur.fetchall()]
        count, decisions = decide([(m, await history_in(conn, m.id)) for m in members])
        for member_id, decision in decisions:
            await apply(
                conn, member_id, decision, by=None, actor="system", rules=rules, render=render
            )
        return count
