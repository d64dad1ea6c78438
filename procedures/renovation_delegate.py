"""R-4's "or someone they authorised": a head's recorded delegate signs renovation
applications in the head's role (issue 11, item 3). Pure: no database, no Telegram, no
clock (the estate's local day comes in).

A head (``customer_head`` or ``engineering_head``) records, for one of the roles they hold
in an estate, a member of that estate's staff, a period from today to a day at most
:data:`MAX_DAYS` away (both days included, estate time) and a reason. While the delegation
is in force (:func:`in_force`: in its period, not revoked) the delegate may sign an
application in that role: the signature is the head's role's, its approval names the
delegation (``version`` ``delegation:<id>``) and is signed by the delegate (``by_id``), and
its audit event says on whose behalf. The head keeps the right to sign: whoever signs
first counts, the other's press is refused as already signed. Outside the period, or once
revoked, the delegate signs nothing. A delegate who already signed the application in
another role does not sign it again for a head (two signatures, two people).
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from procedures.identity import RESIDENT_ROLES
from procedures.renovation import (
    HEADS,
    Refusal,
    Renovation,
    RenovationDecision,
    Signature,
    signed,
    signing_role,
)

#: The longest delegation, in days after today (the head records a new one after it).
MAX_DAYS = 30
#: Longest reason kept.
MAX_REASON = 200
#: How an approval signed by a delegate names its delegation (``approvals.version``).
VERSION_PREFIX = "delegation:"


@dataclass(frozen=True)
class Delegation:
    """A head's recorded delegate for one role of one estate, with its names for cards."""

    id: int
    estate_id: int
    role: str
    head_id: int
    delegate_id: int
    valid_from: date
    valid_to: date
    reason: str
    revoked_at: datetime | None = None
    head_name: str = ""
    delegate_name: str = ""


def in_force(delegation: Delegation, today: date) -> bool:
    """In its period (both days included, the estate's local day) and not revoked."""
    return delegation.revoked_at is None and delegation.valid_from <= today <= delegation.valid_to


def current(delegation: Delegation, today: date) -> bool:
    """Not revoked and not over yet (in force, or starting later): what ``/delegate``
    shows with its revoke button."""
    return delegation.revoked_at is None and today <= delegation.valid_to


def delegable(held: Set[str]) -> tuple[str, ...]:
    """The head roles someone holding ``held`` may delegate, in :data:`HEADS`' order."""
    return tuple(r for r in HEADS if r in held)


def may_be_delegate(head_id: int, person_id: int, roles: Set[str]) -> bool:
    """A delegate is someone else, on the estate's staff (a role besides a resident's)."""
    return person_id != head_id and bool(set(roles) - RESIDENT_ROLES)


def period(today: date, until: date) -> tuple[date, date]:
    """The period of a new delegation: from today to ``until``. Refusal ``delegate_past``
    before today, ``delegate_too_long`` beyond :data:`MAX_DAYS`."""
    if until < today:
        raise Refusal("delegate_past")
    if until > today + timedelta(days=MAX_DAYS):
        raise Refusal("delegate_too_long")
    return today, until


@dataclass(frozen=True)
class Signer:
    """In which role someone signs an application now, and on whose behalf (``delegation``
    None: their own role)."""

    role: str
    delegation: Delegation | None = None


def signer(
    held: Set[str],
    person_id: int,
    before: Sequence[Signature],
    signed_by: Set[int],
    delegations: Sequence[Delegation],
    today: date,
) -> Signer | None:
    """R-4: the role in which ``person_id`` (holding ``held``) signs now: a head's own role
    not yet signed first (:func:`procedures.renovation.signing_role`), else a role a head
    delegated to them, in force today and not yet signed (not when they signed the
    application already: ``signed_by``). None when there is none."""
    own = signing_role(set(held), before)
    if own is not None:
        return Signer(own)
    if person_id in signed_by:
        return None
    done = {s.role for s in before}
    for delegation in delegations:
        if (
            delegation.delegate_id == person_id
            and delegation.role in HEADS
            and delegation.role not in done
            and in_force(delegation, today)
        ):
            return Signer(delegation.role, delegation)
    return None


def why_not(
    held: Set[str],
    person_id: int,
    delegations: Sequence[Delegation],
    today: date,
    signed_by: Set[int] = frozenset(),
) -> str:
    """Why :func:`signer` found no role: ``signed_already`` for someone who signed it;
    ``role_signed`` for a head or a delegate in force whose role the other signed first
    (the head, or their delegate); ``delegation_not_in_force`` for a delegate outside the
    period or revoked; ``not_a_head`` for anyone else."""
    if person_id in signed_by:
        return "signed_already"
    mine = [d for d in delegations if d.delegate_id == person_id]
    if delegable(held) or any(in_force(d, today) for d in mine):
        return "role_signed"
    if mine:
        return "delegation_not_in_force"
    return "not_a_head"


def sign(
    ren: Renovation,
    who: Signer,
    person_id: int,
    approved: bool,
    comment: str | None,
    before: Sequence[Signature],
    *,
    waits_for_filings: bool = False,
) -> RenovationDecision:
    """R-4: :func:`procedures.renovation.signed` in ``who``'s role; a delegate's signature
    names the delegation in its approval (``version``) and, in its audit event, the head
    on whose behalf the delegate signed."""
    decision = signed(ren, who.role, approved, comment, before, waits_for_filings=waits_for_filings)
    found = who.delegation
    if found is None:
        return decision
    if found.delegate_id != person_id:
        raise Refusal("not_a_head")
    if decision.approval is not None:
        decision.approval = replace(decision.approval, version=f"{VERSION_PREFIX}{found.id}")
    decision.data = dict(decision.data) | {
        "delegation": found.id,
        "on_behalf_of": found.head_id,
        "delegate": person_id,
    }
    return decision


def delegation_of(version: str | None) -> int | None:
    """The delegation an approval was signed under (its ``version``), or None."""
    if version is None or not version.startswith(VERSION_PREFIX):
        return None
    tail = version[len(VERSION_PREFIX) :]
    return int(tail) if tail.isdigit() else None
