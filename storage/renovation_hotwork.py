"""Hot-work permits (R-17) and temporary passes (臨時出入證, S-1) in the database: every SQL
statement about them lives here. A permit's steps are renovation decisions applied with
:func:`storage.renovation.apply` in the same transaction as the permit's row (its audit
event, its signature in ``approvals``, its notices); every check at the gate goes into
``renovation_pass_checks`` (its ``kind``) and the renovation's audit trail, like a
worker's pass.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from procedures.renovation import (
    CODE_ALPHABET,
    WORKS_ALLOWED,
    Renovation,
    RenovationDecision,
    Status,
    subject,
)
from procedures.renovation_hotwork import (
    CODE_TAIL,
    HOT_PREFIX,
    TEMP_PREFIX,
    HotKind,
    HotState,
    HotWork,
    HotWorkForm,
    TempPass,
)
from storage import audit, evidence
from storage.db import Database, iso, now_of
from storage.renovation import Render, apply, read

__all__ = ["HotWorkStore", "NewTempPass", "link_case"]


@dataclass(frozen=True)
class NewTempPass:
    """A visitor's temporary pass: name, purpose, validity (aware, the estate's time)."""

    name: str
    purpose: str
    valid_from: datetime
    valid_to: datetime


def _hot(row: sqlite3.Row) -> HotWork:
    form = HotWorkForm(
        row["place"],
        datetime.fromisoformat(row["starts"]),
        datetime.fromisoformat(row["ends"]),
        HotKind(row["kind"]),
        row["operator"],
        row["certificate"],
        bool(row["extinguisher"]),
    )
    return HotWork(
        int(row["id"]), int(row["renovation_id"]), form, HotState(row["state"]), row["code"],
        row["reason"],
    )  # fmt: skip


def _temp(row: sqlite3.Row) -> TempPass:
    return TempPass(
        int(row["id"]), int(row["renovation_id"]), row["code"], row["name"], row["purpose"],
        datetime.fromisoformat(row["valid_from"]), datetime.fromisoformat(row["valid_to"]),
        datetime.fromisoformat(row["used_at"]) if row["used_at"] else None,
    )  # fmt: skip


def _code(prefix: str) -> str:
    return prefix + "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_TAIL))


#: R-19: the states in which a renovation's works are on (a request filed then is linked).
_WORKS_ON = tuple(sorted(s.value for s in WORKS_ALLOWED | {Status.SUSPENDED}))


async def link_case(
    conn: aiosqlite.Connection, case_id: int, unit_id: int, resident_id: int
) -> str | None:
    """R-19: link a case just filed by ``resident_id`` about ``unit_id`` to the unit's
    renovation whose works are on, when that resident is its owner (inside the filing's
    transaction); the renovation's number, or None when there is none."""
    marks = ", ".join("?" * len(_WORKS_ON))
    async with conn.execute(
        f"SELECT id, number FROM renovations WHERE unit_id = ? AND owner_id = ?"
        f" AND status IN ({marks})",
        (unit_id, resident_id, *_WORKS_ON),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    await conn.execute(
        "UPDATE cases SET renovation_id = ?, renovation_number = ? WHERE id = ?",
        (row["id"], row["number"], case_id),
    )
    return str(row["number"])


class HotWorkStore:
    """Hot-work permits and temporary passes: made, decided, checked at the gate."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def apply_for(
        self,
        renovation_id: int,
        form: HotWorkForm,
        decide: Callable[[Renovation, int], RenovationDecision],
        *,
        by: int,
        render: Render | None = None,
    ) -> HotWork | None:
        """R-17: the permit's row and ``decide(ren, permit_id)`` (it may raise Refusal:
        nothing is kept then) in one transaction. None when the renovation is gone or no
        longer where the decision expects."""
        try:
            return await self._apply_for(renovation_id, form, decide, by=by, render=render)
        except _Stale:
            return None

    async def _apply_for(
        self,
        renovation_id: int,
        form: HotWorkForm,
        decide: Callable[[Renovation, int], RenovationDecision],
        *,
        by: int,
        render: Render | None,
    ) -> HotWork | None:
        async with self.db.write() as conn:
            ren = await read(conn, renovation_id)
            if ren is None:
                return None
            cur = await conn.execute(
                "INSERT INTO renovation_hotwork(renovation_id, place, starts, ends, kind,"
                " operator, certificate, extinguisher, applied_by, applied_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    renovation_id, form.place, form.starts.isoformat(), form.ends.isoformat(),
                    form.kind.value, form.operator, form.certificate, int(form.extinguisher),
                    by, iso(now_of(conn)),
                ),
            )  # fmt: skip
            permit_id = int(cur.lastrowid or 0)
            decision = decide(ren, permit_id)
            after = await apply(conn, ren.id, decision, by=by, actor=f"person:{by}", render=render)
            if after is None:
                raise _Stale
            return await self.get(permit_id)

    async def decide(
        self,
        permit_id: int,
        decide: Callable[[HotWork, Renovation, str], RenovationDecision],
        *,
        by: int,
        render: Render | None = None,
    ) -> tuple[HotWork, Renovation] | None:
        """R-17: engineering's decision, ``decide(permit, ren, code)`` with a fresh code (kept
        only when approved), applied with the permit's state in one transaction. None when
        the permit is gone or the renovation moved meanwhile."""
        try:
            async with self.db.write() as conn:
                permit = await self.get(permit_id)
                ren = await read(conn, permit.renovation_id) if permit else None
                if permit is None or ren is None:
                    return None
                code = await self._free_code(HOT_PREFIX)
                decision = decide(permit, ren, code)
                approved = decision.event == "renovation.hotwork_approved"
                after = await apply(
                    conn, ren.id, decision, by=by, actor=f"person:{by}", render=render
                )
                if after is None:
                    raise _Stale
                await conn.execute(
                    "UPDATE renovation_hotwork SET state = ?, code = ?, reason = ?,"
                    " decided_by = ?, decided_at = ? WHERE id = ? AND state = 'asked'",
                    (
                        (HotState.APPROVED if approved else HotState.REFUSED).value,
                        code if approved else None, decision.data.get("reason"), by,
                        iso(now_of(conn)), permit_id,
                    ),
                )  # fmt: skip
                changed = await self.get(permit_id)
                assert changed is not None
                return changed, after
        except _Stale:
            return None

    async def _free_code(self, prefix: str) -> str:
        for _ in range(20):
            code = _code(prefix)
            if await self._taken(code) is False:
                return code
        raise RuntimeError("no free code")  # pragma: no cover - 31^5 codes

    async def _taken(self, code: str) -> bool:
        row = await self.db.fetchone(
            "SELECT 1 FROM renovation_hotwork WHERE code = ?"
            " UNION ALL SELECT 1 FROM renovation_temp_passes WHERE code = ?",
            (code, code),
        )
        return row is not None

    async def get(self, permit_id: int) -> HotWork | None:
        """A hot-work permit by id (inside this task's transaction too)."""
        row = await self.db.fetchone("SELECT * FROM renovation_hotwork WHERE id = ?", (permit_id,))
        return _hot(row) if row is not None else None

    async def of_renovation(self, renovation_id: int) -> list[HotWork]:
        """A renovation's hot-work permits, oldest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM renovation_hotwork WHERE renovation_id = ? ORDER BY id",
            (renovation_id,),
        )
        return [_hot(r) for r in rows]

    async def renovation_id(self, number: str) -> int | None:
        """A renovation's id by its number (``ZX-…``), as customer service types it."""
        row = await self.db.fetchone("SELECT id FROM renovations WHERE number = ?", (number,))
        return int(row["id"]) if row is not None else None

    async def active_signed_by(self, person_id: int) -> list[int]:
        """R-17: the active renovations a person signs for (its owner, or its contractor's
        head), oldest first."""
        rows = await self.db.fetchall(
            "SELECT id FROM renovations WHERE (owner_id = ? OR contractor_id = ?)"
            " AND status = 'active' ORDER BY id",
            (person_id, person_id),
        )
        return [int(r["id"]) for r in rows]

    async def find_hot(self, code: str) -> HotWork | None:
        """An approved permit by its code."""
        row = await self.db.fetchone("SELECT * FROM renovation_hotwork WHERE code = ?", (code,))
        return _hot(row) if row is not None else None

    # --- the authorities' filings (R-6) -------------------------------------------------

    async def add_receipt(
        self,
        renovation_id: int,
        filing: str,
        photo: tuple[str, str | None, str | None],
        decide: Callable[[Renovation], RenovationDecision],
        *,
        by: int,
        render: Render | None = None,
    ) -> Renovation | None:
        """R-6: the authority's receipt of ``filing`` (``photo``: the original's SHA-256,
        the display copy's, Telegram's file id) kept as evidence of the renovation, its row
        and ``decide(ren)``'s audit event and notices, in one transaction; the renovation as
        it is after. ``decide`` may raise Refusal: nothing is kept then."""
        sha, display, file_id = photo
        async with self.db.write() as conn:
            ren = await read(conn, renovation_id)
            if ren is None:
                return None
            decision = decide(ren)
            await conn.execute(
                "INSERT INTO renovation_filings(renovation_id, filing, sha256, display_sha256,"
                " by_id, at) VALUES (?, ?, ?, ?, ?, ?)",
                (renovation_id, filing, sha, display, by, iso(now_of(conn))),
            )
            await evidence.link(
                conn, subject(renovation_id), sha, actor=f"person:{by}", display_sha256=display,
                file_id=file_id, added_by=by, estate_id=ren.estate_id,
            )  # fmt: skip
            return await apply(conn, ren.id, decision, by=by, actor=f"person:{by}", render=render)

    # --- temporary passes ---------------------------------------------------------------

    async def issue_temp(self, renovation_id: int, new: NewTempPass, *, by: int) -> TempPass | None:
        """S-1: a temporary pass with a fresh code (LS…), audited (the visitor's name as
        personal data). None when the renovation is gone."""
        async with self.db.write() as conn:
            ren = await read(conn, renovation_id)
            if ren is None:
                return None
            code = await self._free_code(TEMP_PREFIX)
            cur = await conn.execute(
                "INSERT INTO renovation_temp_passes(renovation_id, code, name, purpose,"
                " valid_from, valid_to, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    renovation_id, code, new.name, new.purpose,
                    new.valid_from.isoformat(timespec="seconds"),
                    new.valid_to.isoformat(timespec="seconds"), by, iso(now_of(conn)),
                ),
            )  # fmt: skip
            pass_id = int(cur.lastrowid or 0)
            await audit.append(
                conn,
                event="renovation.temp_pass_issued",
                subject=str(subject(renovation_id)),
                actor=f"person:{by}",
                actor_id=by,
                estate_id=ren.estate_id,
                data={"pass": pass_id, "code": code, "visitor": {"name": new.name},
                      "valid": [new.valid_from.isoformat(), new.valid_to.isoformat()]},
            )  # fmt: skip
            row = await self.db.fetchone(
                "SELECT * FROM renovation_temp_passes WHERE id = ?", (pass_id,)
            )
            assert row is not None
            return _temp(row)

    async def find_temp(self, code: str) -> TempPass | None:
        """A temporary pass by its code."""
        row = await self.db.fetchone("SELECT * FROM renovation_temp_passes WHERE code = ?", (code,))
        return _temp(row) if row is not None else None

    async def check(
        self,
        kind: str,
        code: str,
        found_id: int | None,
        renovation: Renovation | None,
        refused: str | None,
        *,
        by: int,
        estate_id: int | None,
    ) -> str | None:
        """S-1, R-17: one check at the gate kept and audited (by reference). A temporary
        pass admitted is marked used in the same transaction — once only: a second
        admission racing it is refused ``used``. Returns the reason as recorded."""
        async with self.db.write() as conn:
            now = iso(now_of(conn))
            if kind == "temp" and refused is None and found_id is not None:
                cur = await conn.execute(
                    "UPDATE renovation_temp_passes SET used_by = ?, used_at = ?"
                    " WHERE id = ? AND used_at IS NULL",
                    (by, now, found_id),
                )
                if cur.rowcount != 1:
                    refused = "used"
            await conn.execute(
                "INSERT INTO renovation_pass_checks(pass_id, code, admitted, reason, by_id, at,"
                " kind) VALUES (NULL, ?, ?, ?, ?, ?, ?)",
                (code, int(refused is None), refused or "admitted", by, now, kind),
            )
            await audit.append(
                conn,
                event="renovation.pass_checked",
                subject=str(subject(renovation.id)) if renovation else "renovation_pass:unknown",
                actor=f"person:{by}",
                actor_id=by,
                estate_id=renovation.estate_id if renovation else estate_id,
                data={"kind": kind, "id": found_id, "code": code, "admitted": refused is None,
                      "reason": refused or "admitted"},
            )  # fmt: skip
        return refused


class _Stale(Exception):
    """Raised inside a transaction to roll back a step that no longer applies."""
