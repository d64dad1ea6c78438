"""The outbox: notifications written in the same transaction as the change that causes them.

A row is ``pending`` until Telegram confirms it (``sent``), refuses it for good
(``blocked``: the person blocked the bot; ``failed``: Telegram called the request bad), and
is retried after a 429, a 5xx or a timeout. Messages to one chat leave in the order they
were queued: only the oldest pending row of each chat is ever handed out.

**Each attempt is recorded before it is made.** :meth:`OutboxStore.begin` marks the rows
about to be sent (``sending_at``, ``attempts + 1``) in a short write of its own, and the
outcome (:meth:`~OutboxStore.sent`, :meth:`~OutboxStore.retry`,
:meth:`~OutboxStore.give_up`) clears the mark. The sender is one per process and database,
so a row still marked when a sender starts (:meth:`~OutboxStore.recover`), or handed out
again with no send of its own under way, was in flight when a process died or a send
broke: Telegram may have it or not. It is sent once more, and ``crashed_sends`` counts it
(:func:`crashed_sends` lists them). A row found in flight at a crash a second time is not
sent again: it is ``failed`` with the reason, so a notice reaches Telegram at most twice
(and a message that itself kills the process cannot make the bot crash for ever).

**Edits of a message sent earlier** (:func:`enqueue_edit`) are rows of their own (``kind``
``edit``: the text or caption and the inline keyboard; ``edit_markup``: the keyboard
alone) naming the row they edit (``edit_of``), whose Telegram ``message_id`` they change.
An edit is queued in its target's chat, behind it, so it waits until the target was sent
(and retried as long as the target is). A newer edit of the same target supersedes the
pending ones (``superseded``, never sent): it carries what they would have changed and it
did not, so three quick edits are one request. A target refused for good fails its pending
edits with it, and an edit of such a target is recorded ``failed`` at once.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiosqlite

from procedures.subjects import CASE, Subject
from storage.db import Database, iso, now_of

#: Row kinds: a message; an edit of a sent message's text or caption and its keyboard; an
#: edit of its keyboard alone.
MESSAGE, EDIT, EDIT_MARKUP = "message", "edit", "edit_markup"
EDITS = (EDIT, EDIT_MARKUP)
#: Row kind: photos kept as evidence, sent as one photo or an album (:func:`enqueue`).
ALBUM = "album"
#: The most photos Telegram takes in one album (sendMediaGroup).
ALBUM_MOST = 10


@dataclass(frozen=True)
class OutboxMessage:
    """One queued notification."""

    id: int
    chat_id: int
    text: str
    markup: dict[str, Any] | None
    attempts: int
    case_id: int | None
    person_id: int | None
    photo: str | None = None
    blob: str | None = None  # the SHA-256 of a stored file (see :func:`store_blob`)
    blob_as: str | None = None  # "photo" or "document"
    subject: Subject | None = None  # what it is about (a case, a renovation…)
    sending_at: str | None = None  # set while an attempt is in flight (see the module)
    crashed_sends: int = 0  # times it was found in flight after a crash
    kind: str = MESSAGE  # MESSAGE, EDIT, EDIT_MARKUP or ALBUM
    edit_of: int | None = None  # an edit's target row
    album: tuple[str, ...] = ()  # an album's display copies (SHA-256), in order

    @property
    def weight(self) -> int:
        """How many messages Telegram counts this row as: an album's photos each count."""
        return max(len(self.album), 1)


@dataclass(frozen=True)
class EditTarget:
    """The message an edit changes: its row's state, Telegram's id of it, and whether it
    is a photo or file with a caption (edited by editMessageCaption) rather than a text."""

    id: int
    state: str
    message_id: int | None
    captioned: bool


@dataclass(frozen=True)
class Blob:
    """A file the bot made, as stored: name, bytes, and Telegram's id once uploaded."""

    sha256: str
    filename: str
    data: bytes
    file_id: str | None


async def store_blob(conn: aiosqlite.Connection, filename: str, data: bytes) -> str:
    """Keep a file inside the caller's transaction; returns its SHA-256 (stored once)."""
    digest = hashlib.sha256(data).hexdigest()
    await conn.execute(
        "INSERT OR IGNORE INTO blobs(sha256, filename, data, created_at) VALUES (?, ?, ?, ?)",
        (digest, filename, data, iso(now_of(conn))),
    )
    return digest


def _not_before_iso(moment: datetime) -> str:
    """A time to wait for, as stored: rounded up to its second, never cut down (stored
    times keep whole seconds; cut down, a "retry after 8" came round after 7.x s)."""
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return iso(moment)


async def enqueue(
    conn: aiosqlite.Connection,
    chat_id: int,
    text: str,
    *,
    markup: dict[str, Any] | None = None,
    case_id: int | None = None,
    subject: Subject | None = None,
    person_id: int | None = None,
    not_before: datetime | None = None,
    photo: str | None = None,
    blob: str | None = None,
    blob_as: str | None = None,
    album: Sequence[str] | None = None,
) -> int:
    """Queue a message inside the caller's write transaction; returns its id.

    With ``photo`` (a Telegram file_id) it is that photo with ``text`` as its caption; with
    ``blob`` (from :func:`store_blob`) the stored file, sent as ``blob_as`` ("photo" or
    "document"), with ``text`` as its caption. ``subject`` is what it is about (a case's
    notice may name just ``case_id``).

    With ``album`` (the SHA-256s of display copies kept by ``storage.evidence``, in order)
    it is those photos, ``text`` the caption of the first: one photo is sent as a photo,
    2 to 10 as an album. More than 10 (Telegram's most in one album) are queued as several
    albums of as equal a size as can be (12 photos: 6 and 6, never 10 and a lone photo), in
    order, one after the other in the chat's queue, the caption on the first; the id
    returned is the first's. One photo may carry ``markup`` (a photo with its caption and
    buttons); an album of more carries no keyboard (Telegram's albums cannot): queue the
    buttons as a message of their own. ValueError for a hash that is not a registered
    display copy."""
    if (blob is None) != (blob_as is None) or blob_as not in (None, "photo", "document"):
        raise ValueError("a stored file needs blob_as 'photo' or 'document'")
    if subject is None and case_id is not None:
        subject = Subject(CASE, case_id)
    if subject is not None and subject.kind == CASE:
        case_id = subject.id
    parts: list[list[str] | None] = [None]
    if album is not None:
        if photo or blob or (markup and len(album) != 1):
            raise ValueError("an album is photos and a caption: no photo, file or keyboard")
        parts = list(_album_parts(await _displays(conn, album)))
    now = iso(now_of(conn))
    first = 0
    for number, part in enumerate(parts):
        cur = await conn.execute(
            "INSERT INTO outbox(chat_id, text, markup, case_id, subject_kind, subject_id,"
            " person_id, next_attempt_at, created_at, photo, blob, blob_as, kind, album)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                chat_id,
                text if number == 0 else "",
                json.dumps(markup, ensure_ascii=False) if markup else None,
                case_id,
                subject.kind if subject else None,
                subject.id if subject else None,
                person_id,
                _not_before_iso(not_before) if not_before else now,
                now,
                photo,
                blob,
                blob_as,
                MESSAGE if part is None else ALBUM,
                None if part is None else json.dumps(part),
            ),
        )
        first = first or int(cur.lastrowid or 0)
    return first


async def _displays(conn: aiosqlite.Connection, album: Sequence[str]) -> list[str]:
    """An album's hashes, checked: each names a display copy the evidence store registered
    (a photo others see is never an original, nor a hash mistyped)."""
    shas = [str(sha) for sha in album]
    if not shas:
        raise ValueError("an album needs at least one photo")
    async with conn.execute(
        "SELECT sha256 FROM evidence WHERE role = 'display'"
        " AND sha256 IN (SELECT value FROM json_each(?))",
        (json.dumps(shas),),
    ) as cur:
        known = {str(row[0]) for row in await cur.fetchall()}
    unknown = [sha for sha in shas if sha not in known]
    if unknown:
        raise ValueError(f"not display copies kept as evidence: {unknown}")
    return shas


def _album_parts(shas: list[str]) -> list[list[str]]:
    """Photos cut into albums of at most :data:`ALBUM_MOST`, as equal as can be, in order."""
    count = -(-len(shas) // ALBUM_MOST)
    size, more = divmod(len(shas), count)
    parts, at = [], 0
    for number in range(count):
        step = size + (1 if number < more else 0)
        parts.append(shas[at : at + step])
        at += step
    return parts


async def enqueue_edit(
    conn: aiosqlite.Connection,
    target: int,
    text: str | None = None,
    markup: dict[str, Any] | None = None,
) -> int:
    """Queue an edit of the message outbox row ``target`` became, inside the caller's write
    transaction; returns the edit's id.

    After the edit the message shows ``text`` (None: its text or caption as it is) with the
    inline keyboard ``markup`` (None: none). As Telegram's edit methods do, a keyboard not
    given again is removed, so ``enqueue_edit(conn, card)`` takes a card's buttons away and
    ``enqueue_edit(conn, card, text, keyboard)`` redraws it. The edit waits in the target's
    chat queue until the target was sent; a photo's or a file's caption is edited as its
    caption. A pending edit of the same target (not yet in flight) is superseded: marked
    ``superseded``, never sent, its text kept when this one keeps the text as it is. An edit
    of a message refused for good is recorded ``failed`` (it could never be applied).
    ``target`` may name an edit: its target is meant. ValueError for no such row or a
    keyboard that is not inline."""
    if markup is not None and "inline_keyboard" not in markup:
        raise ValueError("an edited message takes an inline keyboard only")
    async with conn.execute(
        "SELECT t.id, t.chat_id, t.state, t.case_id, t.subject_kind, t.subject_id,"
        " t.person_id FROM outbox e JOIN outbox t ON t.id = COALESCE(e.edit_of, e.id)"
        " WHERE e.id = ?",
        (target,),
    ) as cur:
        found = await cur.fetchone()
    if found is None:
        raise ValueError(f"no outbox row {target} to edit")
    kind = EDIT if text is not None else EDIT_MARKUP
    async with conn.execute(
        "UPDATE outbox SET state = 'superseded' WHERE edit_of = ? AND state = 'pending'"
        " AND sending_at IS NULL RETURNING id, kind, text",
        (found["id"],),
    ) as cur:
        superseded = sorted(await cur.fetchall(), key=lambda row: int(row["id"]))
    if text is None and superseded and superseded[-1]["kind"] == EDIT:
        kind, text = EDIT, str(superseded[-1]["text"])  # the newest pending edit's text stays
    now = iso(now_of(conn))
    refused = found["state"] in ("blocked", "failed")
    cur = await conn.execute(
        "INSERT INTO outbox(chat_id, text, markup, case_id, subject_kind, subject_id,"
        " person_id, next_attempt_at, created_at, kind, edit_of, state, last_error)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            found["chat_id"],
            text or "",
            json.dumps(markup, ensure_ascii=False) if markup is not None else None,
            found["case_id"],
            found["subject_kind"],
            found["subject_id"],
            found["person_id"],
            now,
            now,
            kind,
            found["id"],
            "failed" if refused else "pending",
            _target_refused(found["state"]) if refused else None,
        ),
    )
    return int(cur.lastrowid or 0)


async def edit_sent(
    conn: aiosqlite.Connection,
    chat_id: int,
    message_id: int,
    text: str,
    markup: dict[str, Any] | None = None,
) -> int:
    """Queue an edit of a text message already in a chat (:func:`enqueue_edit`), whether
    the outbox sent it or a handler answered directly: for an edit Telegram did not take
    just now (a 5xx, a 429), so the card still changes once Telegram recovers. A message the
    outbox did not send is recorded as sent first (its row names it for the edit)."""
    async with conn.execute(
        "SELECT id FROM outbox WHERE chat_id = ? AND message_id = ? AND state = 'sent'"
        " AND edit_of IS NULL ORDER BY id LIMIT 1",
        (chat_id, message_id),
    ) as cur:
        row = await cur.fetchone()
    if row is not None:
        target = int(row["id"])
    else:
        now = iso(now_of(conn))
        cur = await conn.execute(
            "INSERT INTO outbox(chat_id, text, state, message_id, next_attempt_at, created_at,"
            " sent_at) VALUES (?, '', 'sent', ?, ?, ?, ?)",
            (chat_id, message_id, now, now, now),
        )
        target = int(cur.lastrowid or 0)
    return await enqueue_edit(conn, target, text, markup)


async def last_message_about(
    conn: aiosqlite.Connection, subject: Subject, chat_id: int
) -> int | None:
    """The newest message (not an edit, not an album) queued to ``chat_id`` about
    ``subject``: the card an edit of "the case's card in that chat" means (see
    :func:`enqueue_edit`)."""
    async with conn.execute(
        "SELECT MAX(id) FROM outbox WHERE chat_id = ? AND subject_kind = ? AND subject_id = ?"
        " AND kind = 'message'",
        (chat_id, subject.kind, subject.id),
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row and row[0] is not None else None


def _target_refused(state: str) -> str:
    """Why an edit failed with its target."""
    return f"the message it edits was not sent ({state})"


async def _fail_edits(conn: aiosqlite.Connection, targets: Collection[int], state: str) -> None:
    """Targets refused for good take their pending edits with them (they could never be
    applied, and must not wait or be retried for ever)."""
    await conn.execute(
        "UPDATE outbox SET state = 'failed', last_error = ? WHERE state = 'pending'"
        " AND edit_of IN (SELECT value FROM json_each(?))",
        (_target_refused(state), json.dumps(sorted(targets))),
    )


def _message(row: sqlite3.Row) -> OutboxMessage:
    return OutboxMessage(
        row["id"],
        row["chat_id"],
        row["text"],
        json.loads(row["markup"]) if row["markup"] else None,
        row["attempts"],
        row["case_id"],
        row["person_id"],
        row["photo"],
        row["blob"],
        row["blob_as"],
        Subject(row["subject_kind"], row["subject_id"]) if row["subject_kind"] else None,
        row["sending_at"],
        row["crashed_sends"],
        row["kind"],
        row["edit_of"],
        tuple(json.loads(row["album"])) if row["album"] else (),
    )


#: Why a row found in flight at a crash for the second time is not sent again.
CRASHED_AGAIN = (
    "in flight a second time when its process died or its send broke:"
    " not sent again (Telegram may have it)"
)


@dataclass(frozen=True)
class Recovered:
    """Rows found in flight with no send to own them: ``resent`` (their mark cleared, to be
    sent once more) and ``failed`` (found so a second time: not sent again)."""

    resent: tuple[int, ...] = ()
    failed: tuple[int, ...] = ()


@dataclass(frozen=True)
class CrashedSend:
    """A row that was in flight when a process died (:func:`crashed_sends`)."""

    id: int
    chat_id: int
    state: str
    crashed_sends: int
    attempts: int
    message_id: int | None


class OutboxStore:
    """What the sender needs: the heads of the per-chat queues that are due, and outcomes."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def due(
        self, now: datetime, limit: int = 50, *, skip: Collection[int] = ()
    ) -> list[OutboxMessage]:
        """The oldest pending message of each chat, when its time has come, oldest first;
        leaving out the chats in ``skip`` (the sender's: a send under way, a turn to wait).

        Read through the index of pending rows: the sender asks many times a second, and a
        scan in id order would walk every message ever sent first."""
        rows = await self.db.fetchall(
            "SELECT o.* FROM outbox o INDEXED BY outbox_pending"
            " WHERE o.state = 'pending' AND o.next_attempt_at <= ?"
            " AND o.chat_id NOT IN (SELECT value FROM json_each(?))"
            " AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.state = 'pending'"
            " AND p.chat_id = o.chat_id AND p.id < o.id) ORDER BY o.id LIMIT ?",
            (iso(now), json.dumps(sorted(skip)), limit),
        )
        return [_message(r) for r in rows]

    async def begin(self, ids: Collection[int]) -> tuple[list[int], Recovered]:
        """Record the attempts about to be made, before any request leaves: each pending
        row of ``ids`` gets ``sending_at`` and ``attempts + 1``, in one short write. Returns
        the rows marked (in id order; a row no longer pending is left out) and what was
        recovered on the way: a row of ``ids`` still marked was in flight when its send
        broke or its process died (the caller owns no send of it), and is counted as a
        crash (see the module)."""
        wanted = json.dumps(sorted(ids))
        async with self.db.write() as conn:
            recovered = await _recover(conn, wanted)
            async with conn.execute(
                "UPDATE outbox SET sending_at = ?, attempts = attempts + 1"
                " WHERE state = 'pending' AND id IN (SELECT value FROM json_each(?))"
                " RETURNING id",
                (iso(self.db.now()), wanted),
            ) as cur:
                marked = sorted(int(row[0]) for row in await cur.fetchall())
        return marked, recovered

    async def recover(self) -> Recovered:
        """A sender starts: every row still marked in flight was in flight when the last
        process died (one sender per database). Each is counted as a crash and left to be
        sent once more, or failed when it was found so before (see the module)."""
        async with self.db.write() as conn:
            return await _recover(conn, None)

    async def in_flight(self) -> list[int]:
        """The rows marked in flight now. Read while no sender runs (after a process was
        killed, before the next starts) they are the rows in flight at the kill."""
        rows = await self.db.fetchall(
            "SELECT id FROM outbox INDEXED BY outbox_in_flight"
            " WHERE sending_at IS NOT NULL ORDER BY id"
        )
        return [int(r["id"]) for r in rows]

    async def edit_target(self, edit: OutboxMessage) -> EditTarget | None:
        """The message an edit changes (None for a row that is no edit)."""
        if edit.edit_of is None:
            return None
        row = await self.db.fetchone(
            "SELECT id, state, message_id,"
            " photo IS NOT NULL OR blob IS NOT NULL OR kind = 'album' AS captioned"
            " FROM outbox WHERE id = ?",
            (edit.edit_of,),
        )
        if row is None:
            return None
        message_id = int(row["message_id"]) if row["message_id"] is not None else None
        return EditTarget(int(row["id"]), str(row["state"]), message_id, bool(row["captioned"]))

    async def blob(self, sha256: str) -> Blob | None:
        """A stored file."""
        row = await self.db.fetchone("SELECT * FROM blobs WHERE sha256 = ?", (sha256,))
        if row is None:
            return None
        return Blob(row["sha256"], row["filename"], bytes(row["data"]), row["file_id"])

    async def uploaded(self, sha256: str, file_id: str) -> None:
        """Telegram took the file: later recipients get it by ``file_id``, not a new upload."""
        async with self.db.write() as conn:
            await conn.execute(
                "UPDATE blobs SET file_id = ? WHERE sha256 = ?",
                (file_id, sha256),
            )

    async def case_of_message(self, chat_id: int, message_id: int) -> int | None:
        """The case a sent message belongs to (a reply to a card is about that case)."""
        row = await self.db.fetchone(
            "SELECT case_id FROM outbox WHERE chat_id = ? AND message_id = ? AND state = 'sent'",
            (chat_id, message_id),
        )
        return int(row["case_id"]) if row and row["case_id"] is not None else None

    async def waiting_in(self, chat_id: int) -> bool:
        """Whether a message to this chat still waits (a direct answer must not overtake it)."""
        row = await self.db.fetchone(
            "SELECT 1 FROM outbox WHERE state = 'pending' AND chat_id = ? LIMIT 1", (chat_id,)
        )
        return row is not None

    async def pending_count(self) -> int:
        """How many messages wait (for health checks and tests)."""
        row = await self.db.fetchone("SELECT COUNT(*) FROM outbox WHERE state = 'pending'")
        return int(row[0]) if row else 0

    async def next_attempt(self) -> datetime | None:
        """When the earliest pending message may be tried."""
        row = await self.db.fetchone(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'pending'"
        )
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    async def sent(self, message_id: int, telegram_id: int) -> None:
        """Telegram confirmed it (the attempt was counted by :meth:`begin`)."""
        async with self.db.write() as conn:
            await conn.execute(
                "UPDATE outbox SET state = 'sent', message_id = ?, sent_at = ?,"
                " sending_at = NULL WHERE id = ?",
                (telegram_id, iso(self.db.now()), message_id),
            )

    async def retry(self, message_id: int, error: str, at: datetime) -> None:
        """A passing failure (429, 5xx, timeout): try again at ``at``."""
        async with self.db.write() as conn:
            await conn.execute(
                "UPDATE outbox SET sending_at = NULL, last_error = ?, next_attempt_at = ?"
                " WHERE id = ?",
                (error[:500], _not_before_iso(at), message_id),
            )

    async def moved(self, old_chat: int, new_chat: int, message_id: int | None = None) -> None:
        """A group became a supergroup: its queue follows (``message_id``, the row whose
        send met the move, is no longer in flight; it goes again, to the new chat)."""
        async with self.db.write() as conn:
            await conn.execute(
                "UPDATE outbox SET chat_id = ?,"
                " sending_at = CASE WHEN id = ? THEN NULL ELSE sending_at END"
                " WHERE chat_id = ? AND state = 'pending'",
                (new_chat, message_id, old_chat),
            )

    async def give_up(
        self, conn: aiosqlite.Connection, message_id: int, state: str, error: str
    ) -> None:
        """A final refusal (``blocked`` or ``failed``), inside the caller's transaction so the
        consequences (staff told, admins alerted) are queued with it."""
        await conn.execute(
            "UPDATE outbox SET state = ?, sending_at = NULL, last_error = ? WHERE id = ?",
            (state, error[:500], message_id),
        )
        await _fail_edits(conn, [message_id], state)


async def _recover(conn: aiosqlite.Connection, ids: str | None) -> Recovered:
    """Rows marked in flight that no send owns (of ``ids``, a JSON list; None: all): found
    so for the first time, their mark is cleared and ``crashed_sends`` counts it (they are
    sent once more); found so before, they are ``failed`` (see the module)."""
    only = "" if ids is None else " AND id IN (SELECT value FROM json_each(?))"
    params: tuple[str, ...] = () if ids is None else (ids,)
    marked = "state = 'pending' AND sending_at IS NOT NULL" + only
    async with conn.execute(
        "UPDATE outbox SET state = 'failed', sending_at = NULL,"
        f" crashed_sends = crashed_sends + 1, last_error = ? WHERE {marked}"
        " AND crashed_sends >= 1 RETURNING id",
        (CRASHED_AGAIN, *params),
    ) as cur:
        failed = sorted(int(row[0]) for row in await cur.fetchall())
    await _fail_edits(conn, failed, "failed")
    async with conn.execute(
        "UPDATE outbox SET sending_at = NULL, crashed_sends = crashed_sends + 1"
        f" WHERE {marked} RETURNING id",
        params,
    ) as cur:
        resent = sorted(int(row[0]) for row in await cur.fetchall())
    return Recovered(tuple(resent), tuple(failed))


async def crashed_sends(db: Database) -> list[CrashedSend]:
    """Every row that was found in flight after a crash (its process died between recording
    the attempt and recording Telegram's answer), with how often and how it ended: for a
    crash benchmark, which counts these apart (each may have reached Telegram twice)."""
    rows = await db.fetchall(
        "SELECT id, chat_id, state, crashed_sends, attempts, message_id FROM outbox"
        " WHERE crashed_sends > 0 ORDER BY id"
    )
    return [
        CrashedSend(
            id=int(r["id"]),
            chat_id=int(r["chat_id"]),
            state=str(r["state"]),
            crashed_sends=int(r["crashed_sends"]),
            attempts=int(r["attempts"]),
            message_id=int(r["message_id"]) if r["message_id"] is not None else None,
        )
        for r in rows
    ]


async def outcome(db: Database, outbox_id: int) -> tuple[str, int | None] | None:
    """A queued message's state (pending, sent, blocked, failed) and, once sent, Telegram's
    id for it (a reply to that message answers it); None for no such row."""
    row = await db.fetchone("SELECT state, message_id FROM outbox WHERE id = ?", (outbox_id,))
    if row is None:
        return None
    return str(row["state"]), int(row["message_id"]) if row["message_id"] is not None else None
