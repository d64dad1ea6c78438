"""Renovation (P2) from the works permit to the works, and while they run, as pure decisions:
the entry inspection (R-12) and the entry notice (R-13), suspension and resumption, the
extension of the works period, and the signatures on a rectification notice (R-15). No
database, no Telegram, no clock (dates come in).

**Entry inspection** (R-12, 進場裝修確認表): on a permitted renovation customer service
walks the common parts with the owner or the contractor's head: each item of
:data:`CHECKLIST` is recorded OK (one tap) or damaged (a photo, kept as evidence, and a
line). Then both sides confirm: the assistant by button, and the owner or the contractor's
head (whoever is on the renovation in the bot: the owner's account, or the head who joined
by the owner's link) by button; a party with no Telegram account signs the paper form, and
the assistant sends a photo of it instead. The items cannot change once either side has
confirmed. When both have: entry confirmed, then active (two moves in one step), and the
entry notice goes out (R-13): the 裝修入場知會單 to engineering and security, the 業主裝修入場
通知單 to the owner, the start of works to customer service; the daily patrols run (R-14).

**Suspension** (停工): the project manager or the customer-department head stops active
works with a reason and resumes them. While suspended the gate refuses every worker's pass
("works suspended", :func:`procedures.renovation.check_pass`) and no patrol is due: there
are no works to patrol; the patrol duties' clocks are stopped and start again from the
resumption. The owner (and the contractor's head, when in the bot) hears both.

**Extension** (issue 11, item 1): the owner asks for a new end date with a reason; the
customer-department head approves or refuses (signed in the approvals table); an approval
moves the works period's end and the worker passes that ran to the old end.

**Signatures on a rectification notice** (R-15: "both parties sign the written record"):
the owner and the contractor's head each sign by button. A party who refuses to sign is
recorded by customer service as refusing; a *second* staff member, present as witness,
confirms it by button from their own account (the witness is a person of the estate, not a
typed name, and never the one who recorded the refusal).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from procedures.decisions import Approval, Department, Resident, Roles, Style, Tell, Text
from procedures.identity import Role
from procedures.renovation import (
    CONTRACTOR,
    CUSTOMER_SERVICE,
    ENGINEERING,
    MAX_PERIOD,
    SECURITY,
    Move,
    NoticeState,
    Refusal,
    Renovation,
    RenovationDecision,
    Status,
    ViolationNotice,
)
from procedures.rule_ids import RuleId

# --- the entry inspection (R-12) ---------------------------------------------------------------


class Item(StrEnum):
    """A common part walked through at entry (進場裝修確認表): its state before the works."""

    CORRIDOR_FLOOR = "corridor_floor"  # 楼道地面
    CORRIDOR_WALLS = "corridor_walls"  # 楼道墙面
    LIFT_CAR = "lift_car"  # 电梯轿厢
    DOORS = "doors"  # 入户门、楼道门
    FIRE_EQUIPMENT = "fire_equipment"  # 消防设施（烟感、喷淋、消火栓）
    PIPES_METERS = "pipes_meters"  # 公共管道、水电表


#: The checklist, in the order it is walked.
CHECKLIST: tuple[Item, ...] = tuple(Item)
#: The longest line about a damaged part.
MAX_LINE = 300
#: Who signs the entry confirmation besides customer service: by button, or on paper.
PAPER = "paper"


@dataclass(frozen=True)
class Checked:
    """One item as recorded: OK, or damaged with its line and photo (the original's hash)."""

    item: Item
    ok: bool
    note: str | None = None
    photo: str | None = None


@dataclass(frozen=True)
class Inspection:
    """An entry inspection as decisions read it: the items recorded, whether customer
    service confirmed, and how the other side did (``owner``, ``contractor``, ``paper``)."""

    items: Mapping[Item, Checked] = field(default_factory=dict)
    staff: bool = False
    party: str | None = None

    @property
    def complete(self) -> bool:
        """Every item of the checklist recorded."""
        return all(i in self.items for i in CHECKLIST)

    @property
    def damaged(self) -> list[Checked]:
        """The items found damaged, in the checklist's order."""
        return [self.items[i] for i in CHECKLIST if i in self.items and not self.items[i].ok]

    @property
    def signed(self) -> bool:
        """Either side has confirmed: the items are fixed."""
        return self.staff or self.party is not None


def clean_line(text: str) -> str | None:
    """A line about a damaged part, on one line; None when empty or too long."""
    line = " ".join(unicodedata.normalize("NFKC", text).split())
    return line if 0 < len(line) <= MAX_LINE else None


def _inspectable(ren: Renovation, ins: Inspection, may_inspect: bool) -> None:
    if not may_inspect:
        raise Refusal("not_issuer")
    if ren.status != Status.PERMITTED:
        raise Refusal("not_startable")
    if ins.signed:
        raise Refusal("entry_signed")


def item_checked(
    ren: Renovation,
    ins: Inspection,
    item: Item,
    ok: bool,
    may_inspect: bool,
    note: str | None = None,
    photo: str | None = None,
) -> RenovationDecision:
    """R-12: one common part recorded: OK, or damaged with its photo and its line (both
    needed). Customer service only, on a permitted renovation, before anyone confirmed; an
    item recorded again replaces what was recorded."""
    _inspectable(ren, ins, may_inspect)
    entry: dict[str, object] = {"item": item.value, "ok": ok}
    if not ok:
        if photo is None:
            raise Refusal("photo_needed")
        if note is None:
            raise Refusal("note_needed")
        entry |= {"note": note, "photo": photo}
    return RenovationDecision(
        event="renovation.entry_checked", data={"items": [entry]}, expect_status=Status.PERMITTED
    )


def rest_ok(ren: Renovation, ins: Inspection, may_inspect: bool) -> RenovationDecision:
    """R-12: "the rest is in order": every item not recorded yet, OK, in one press."""
    _inspectable(ren, ins, may_inspect)
    rest = [{"item": i.value, "ok": True} for i in CHECKLIST if i not in ins.items]
    if not rest:
        raise Refusal("entry_recorded")
    return RenovationDecision(
        event="renovation.entry_checked", data={"items": rest}, expect_status=Status.PERMITTED
    )


def staff_confirmed(
    ren: Renovation, ins: Inspection, may_inspect: bool, hours: str, workers: int
) -> list[RenovationDecision]:
    """R-12: customer service confirms the inspection (every item recorded). The owner is
    asked to confirm by button; when the other side has confirmed already, the entry is
    confirmed and the works start (:func:`entered`)."""
    if not may_inspect:
        raise Refusal("not_issuer")
    if ren.status != Status.PERMITTED:
        raise Refusal("not_startable")
    if ins.staff:
        raise Refusal("entry_confirmed_already")
    if not ins.complete:
        raise Refusal("entry_incomplete")
    approval = Approval(
        RuleId.R12.value, Role.CUSTOMER_ASSISTANT.value, True, version=_version(ins)
    )
    if ins.party is not None:
        return entered(ren, ins, approval, hours, workers, {"signed": "staff"})
    return [
        RenovationDecision(
            event="renovation.entry_signed",
            data={"signed": "staff", "damaged": len(ins.damaged)},
            approval=approval,
            expect_status=Status.PERMITTED,
            tell=[
                Tell(
                    Resident(),
                    "renovation_entry.ask_party_damaged"
                    if ins.damaged
                    else "renovation_entry.ask_party",
                    {"damaged": len(ins.damaged), "parts": damaged_parts(ins)},
                    buttons="ren_entry_party",
                )
            ],
        )
    ]


def damaged_parts(ins: Inspection) -> tuple[Text, ...]:
    """The parts found damaged, by name in each reader's language: what the owner or the
    site head confirms (R-12: damage recorded now is not theirs later)."""
    return tuple(Text(f"renovation_entry.item.{c.item.value}") for c in ins.damaged)


def party_confirmed(
    ren: Renovation,
    ins: Inspection,
    role: str | None,
    hours: str,
    workers: int,
    paper: str | None = None,
    may_inspect: bool = False,
) -> list[RenovationDecision]:
    """R-12: the other side confirms: the owner or the contractor's head by button from
    their own account (``role``, :func:`procedures.renovation.signer`), or customer service
    sends the photo of the paper form they signed (``paper``: the original's hash). When
    customer service confirmed already: entry confirmed, works active (:func:`entered`)."""
    if paper is not None:
        if not may_inspect:
            raise Refusal("not_issuer")
        role = PAPER
    elif role is None:
        raise Refusal("not_signer")
    if ren.status != Status.PERMITTED:
        raise Refusal("not_startable")
    if ins.party is not None:
        raise Refusal("entry_confirmed_already")
    if not ins.complete:
        raise Refusal("entry_incomplete")
    data: dict[str, object] = {"signed": role}
    if paper is not None:
        data["paper"] = paper
    approval = (
        Approval(RuleId.R12.value, role, True, version=_version(ins)) if paper is None else None
    )
    if ins.staff:
        return entered(ren, ins, approval, hours, workers, data)
    return [
        RenovationDecision(
            event="renovation.entry_signed",
            data=data,
            approval=approval,
            expect_status=Status.PERMITTED,
            tell=[Tell(Department(CUSTOMER_SERVICE), "renovation_entry.party_signed_staff")],
        )
    ]


def _version(ins: Inspection) -> str:
    """What was confirmed: the items' results (the signature's version)."""
    return ";".join(f"{c.item.value}={'ok' if c.ok else 'damaged'}" for c in ins.items.values())


def entered(
    ren: Renovation,
    ins: Inspection,
    approval: Approval | None,
    hours: str,
    workers: int,
    data: Mapping[str, object],
) -> list[RenovationDecision]:
    """R-12 → R-13: both sides confirmed: entry confirmed, then the works active (applied
    together), with the entry notice (:func:`entry_notice`)."""
    return [
        RenovationDecision(
            move=Move.CONFIRM_ENTRY,
            expect_status=Status.PERMITTED,
            approval=approval,
            data=dict(data) | {"damaged": [c.item.value for c in ins.damaged]},
        ),
        RenovationDecision(
            move=Move.START_WORKS,
            expect_status=Status.ENTRY_CONFIRMED,
            tell=entry_notice(ren, ins, hours, workers),
        ),
    ]


#: R-13: the departments the entry notice (裝修入場知會單) goes to.
NOTICE_DEPARTMENTS: tuple[str, ...] = (ENGINEERING, SECURITY)


def entry_notice(ren: Renovation, ins: Inspection, hours: str, workers: int) -> list[Tell]:
    """R-13: the start of works announced: engineering and security get the entry notice
    (the card: unit, owner, contractor, head and phone, works period, scope; with the
    working hours, the number of workers with passes, the parts found damaged at entry);
    the owner gets theirs (業主裝修入場通知單); customer service starts its daily patrols."""
    params = {"hours": hours, "workers": workers, "damaged": len(ins.damaged)}
    return [
        # R-20: the owner applies for the completion inspection from here
        Tell(Resident(), "renovation_entry.notice_owner", params, buttons="ren_cp_apply"),
        *(
            Tell(Department(d), "renovation_entry.notice_staff", params, style=Style.WITH_CARD)
            for d in NOTICE_DEPARTMENTS
        ),
        Tell(Department(CUSTOMER_SERVICE), "renovation.patrol.works_staff", style=Style.WITH_CARD),
    ]


# --- suspension and resumption -------------------------------------------------------------

#: The longest reason kept.
MAX_REASON = 300


def clean_reason(text: str) -> str | None:
    """A reason (to stop works, to extend them) on one line; None when empty or too long."""
    line = " ".join(unicodedata.normalize("NFKC", text).split())
    return line if 0 < len(line) <= MAX_REASON else None


def suspended(ren: Renovation, reason: str | None, may: bool) -> RenovationDecision:
    """Works stopped (停工) with a reason: the passes stop admitting, no patrol is due; the
    owner and customer service are told."""
    if not may:
        raise Refusal("not_suspender")
    if ren.status != Status.ACTIVE:
        raise Refusal("not_suspendable")
    if reason is None:
        raise Refusal("reason_needed")
    return RenovationDecision(
        move=Move.SUSPEND,
        expect_status=Status.ACTIVE,
        data={"reason": reason},
        tell=[
            Tell(Resident(), "renovation_entry.suspended_owner", {"reason": reason}),
            Tell(
                Department(CUSTOMER_SERVICE),
                "renovation_entry.suspended_staff",
                {"reason": reason},
                style=Style.WITH_CARD,
            ),
            Tell(Department(SECURITY), "renovation_entry.suspended_staff", {"reason": reason}),
        ],
    )


def resumed(ren: Renovation, may: bool) -> RenovationDecision:
    """Works resumed (复工): active again, the passes admit, the patrols are due again."""
    if not may:
        raise Refusal("not_suspender")
    if ren.status != Status.SUSPENDED:
        raise Refusal("not_suspended")
    return RenovationDecision(
        move=Move.RESUME,
        expect_status=Status.SUSPENDED,
        tell=[
            Tell(Resident(), "renovation_entry.resumed_owner"),
            Tell(Department(CUSTOMER_SERVICE), "renovation_entry.resumed_staff"),
            Tell(Department(SECURITY), "renovation_entry.resumed_staff"),
        ],
    )


# --- the extension of the works period --------------------------------------------------------

#: States in which the works period may be extended: works not finished yet.
EXTENDABLE: frozenset[Status] = frozenset(
    {Status.PERMITTED, Status.ENTRY_CONFIRMED, Status.ACTIVE, Status.SUSPENDED}
)
#: The approvals' step of an extension (no rule of the manual names it: issue 11, item 1).
EXTENSION = "extension"


class ExtensionState(StrEnum):
    """Where a request to extend the works period is."""

    REQUESTED = "requested"
    APPROVED = "approved"
    REFUSED = "refused"


@dataclass(frozen=True)
class Extension:
    """A request to move the works period's end."""

    id: int
    renovation_id: int
    old_to: date
    new_to: date
    reason: str
    state: ExtensionState = ExtensionState.REQUESTED


def extension_problem(ren: Renovation, new_to: date, today: date) -> str | None:
    """What is wrong with a new end date (a text key's last part), or None: it must be
    after the current end and not before today, and the period no longer than twice
    :data:`procedures.renovation.MAX_PERIOD`."""
    if new_to <= ren.form.period_to or new_to < today:
        return "extension_not_later"
    if new_to - ren.form.period_from > 2 * MAX_PERIOD:
        return "period_too_long"
    return None


def extension_requested(
    ren: Renovation,
    new_to: date,
    reason: str | None,
    today: date,
    by_owner: bool,
    pending: bool = False,
) -> RenovationDecision:
    """The owner asks to extend the works to ``new_to`` with a reason: the customer-
    department head decides (:func:`extension_decided`). One request at a time
    (``pending``: one waits for its decision)."""
    if not by_owner:
        raise Refusal("not_owner")
    if ren.status not in EXTENDABLE:
        raise Refusal("not_extendable")
    if pending:
        raise Refusal("extension_pending")
    if reason is None:
        raise Refusal("reason_needed")
    problem = extension_problem(ren, new_to, today)
    if problem is not None:
        raise Refusal(problem)
    params = {"old": ren.form.period_to.isoformat(), "new": new_to.isoformat(), "reason": reason}
    return RenovationDecision(
        event="renovation.extension_requested",
        data={"from": params["old"], "to": params["new"], "reason": reason},
        tell=[
            Tell(
                Roles(frozenset({Role.CUSTOMER_HEAD.value})),
                "renovation_entry.extension_asked",
                params,
                style=Style.WITH_CARD,
                buttons="ren_extension",
            )
        ],
    )


def extension_decided(
    ren: Renovation, ext: Extension, approved: bool, by_head: bool
) -> RenovationDecision:
    """The customer-department head approves or refuses an extension (signed); approved,
    the period's end moves (storage moves the passes that ran to the old end too). The
    owner is told either way."""
    if not by_head:
        raise Refusal("not_customer_head")
    if ext.state != ExtensionState.REQUESTED:
        raise Refusal("extension_decided")
    if ren.status not in EXTENDABLE:
        raise Refusal("not_extendable")
    if ren.form.period_to != ext.old_to:  # the period moved meanwhile: ask again
        raise Refusal("extension_outdated")
    params = {"old": ext.old_to.isoformat(), "new": ext.new_to.isoformat()}
    key = (
        "renovation_entry.extension_approved" if approved else "renovation_entry.extension_refused"
    )
    return RenovationDecision(
        event="renovation.extension_approved" if approved else "renovation.extension_refused",
        data={"extension": ext.id, "from": params["old"], "to": params["new"]},
        approval=Approval(
            EXTENSION,
            Role.CUSTOMER_HEAD.value,
            approved,
            version=f"{params['old']}>{params['new']}",
        ),
        tell=[
            Tell(Resident(), key, params),
            Tell(Department(CUSTOMER_SERVICE), key, params),
        ],
    )


# --- signatures on the rectification notice (R-15) ---------------------------------------------

#: The two parties who sign a rectification notice.
PARTIES: tuple[str, ...] = (Role.OWNER.value, CONTRACTOR)


class SignState(StrEnum):
    """A party's signature on a notice."""

    SIGNED = "signed"  # by button, from their own account
    REFUSING = "refusing"  # customer service recorded a refusal: a witness must confirm
    REFUSED = "refused"  # the refusal confirmed by a second staff member (the witness)


@dataclass(frozen=True)
class NoticeSignature:
    """One party's signature (or refusal) on a notice."""

    id: int
    notice_id: int
    party: str
    state: SignState
    recorded_by: int
    witness_id: int | None = None


def _party_of(signatures: Mapping[str, NoticeSignature], party: str) -> NoticeSignature | None:
    return signatures.get(party)


def notice_signed(
    ren: Renovation,
    notice: ViolationNotice,
    party: str | None,
    signatures: Mapping[str, NoticeSignature],
) -> RenovationDecision:
    """R-15: the owner or the contractor's head signs the notice by button (``party``:
    :func:`procedures.renovation.signer` of the presser). Once per party; the contractor
    only once told (after the owner, R-15)."""
    if party is None:
        raise Refusal("not_signer")
    if _party_of(signatures, party) is not None:
        raise Refusal("notice_signed_already")
    if party == CONTRACTOR and notice.state == NoticeState.ISSUED:
        raise Refusal("owner_first")
    return RenovationDecision(
        event="renovation.notice_signed",
        data={"notice": notice.id, "party": party},
        approval=Approval(RuleId.R15.value, party, True, version=f"notice:{notice.id}"),
        tell=[
            Tell(
                Department(CUSTOMER_SERVICE),
                "renovation_entry.notice_signed_staff",
                {"party": _party_text(party), "note": notice.note},
            )
        ],
    )


def _party_text(party: str) -> Text:
    return Text(f"renovation_entry.party.{party}")


def refusal_recorded(
    notice: ViolationNotice,
    party: str,
    signatures: Mapping[str, NoticeSignature],
    by_staff: bool,
) -> RenovationDecision:
    """R-15: customer service records that a party refuses to sign the notice; a second
    staff member must witness it (:func:`refusal_witnessed`). Customer service is asked
    for the witness."""
    if not by_staff:
        raise Refusal("not_issuer")
    if party not in PARTIES:
        raise Refusal("not_signer")
    if _party_of(signatures, party) is not None:
        raise Refusal("notice_signed_already")
    return RenovationDecision(
        event="renovation.notice_refusing",
        data={"notice": notice.id, "party": party},
        tell=[
            Tell(
                Department(CUSTOMER_SERVICE),
                "renovation_entry.witness_asked",
                {"party": _party_text(party), "note": notice.note},
                buttons="ren_witness",
            )
        ],
    )


def refusal_witnessed(
    notice: ViolationNotice, sig: NoticeSignature, witness_id: int, by_staff: bool
) -> RenovationDecision:
    """R-15: a second staff member (not the one who recorded it) confirms, as witness, that
    the party refused to sign: the refusal is on the record with the witness."""
    if not by_staff:
        raise Refusal("not_witness")
    if sig.state != SignState.REFUSING:
        raise Refusal("witnessed_already")
    if witness_id == sig.recorded_by:
        raise Refusal("witness_other")
    return RenovationDecision(
        event="renovation.notice_refused",
        data={"notice": notice.id, "party": sig.party, "witness": witness_id,
              "recorded_by": sig.recorded_by},
        tell=[
            Tell(
                Department(CUSTOMER_SERVICE),
                "renovation_entry.witnessed_staff",
                {"party": _party_text(sig.party), "note": notice.note},
            )
        ],
    )  # fmt: skip
