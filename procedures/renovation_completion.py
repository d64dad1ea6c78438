"""Renovation (P2), its last steps as code: the completion inspection (R-20), the deposit held
three months and refunded (R-21), and the workers' ID data deleted after the estate's
retention period (issue 11, item 7). Pure: no database, no Telegram, no clock (time and
"today" come in).

**Completion** (R-20): the owner of an active renovation applies for the completion
inspection (竣工驗收申請) and picks a slot (the next working days of the estate's
calendar, or a typed working day): completion requested, the works are over (worker passes
no longer admit anyone: :data:`procedures.renovation.WORKS_ALLOWED`). Customer service
tells engineering and security (a notice each with the slot and the open rectification
notices); each department inspects once a round: passed, or its problems (a line each, a
photo optional) with the fix the owner is told. Both passed: passed, then the deposit held,
the earliest refund date three months from the inspection's date. A problem: failed; the
owner reads the problems and asks for a re-inspection (a new round).

**Refund** (R-21): the earliest date is not a deadline: a durable timer on the subject
``(DEPOSIT, id)`` fires once at its start (:func:`refund_opened`): refund due, the owner
(and the contractor's head who joined) told. A claim or a check before it is refused with
the date. The contractor's claim needs the owner's consent. Customer service checks common
parts and neighbours (:data:`CHECKS`), reads the ledger and the violations, enters the
utilities owed and any damage (deductions: the ledger clamps at zero and records arrears);
the refundable amount is what the deposit still holds. The owner, the contractor's head
(when one joined) and the project-centre head confirm it (the project manager when nobody
holds that role); the project manager approves (退還同意表); the cashier records the
refund against a voucher (押金退還備忘表): refunded, then closed (the unit is free).
"""

from __future__ import annotations

import calendar as months
import unicodedata
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from procedures.calendar import WorkingCalendar
from procedures.decisions import Approval, Department, Resident, Roles, Style, Tell, Text
from procedures.identity import Role
from procedures.renovation import (
    CONTRACTOR,
    CUSTOMER_SERVICE,
    ENGINEERING,
    SECURITY,
    Entry,
    LedgerEntry,
    Move,
    Posting,
    Refusal,
    Renovation,
    RenovationDecision,
    Status,
    balance,
    deduct,
)
from procedures.renovation_settings import yuan
from procedures.rule_ids import RuleId

#: The subject kind of a renovation's clocks after the works (its id is the renovation's):
#: the refund's earliest date (:data:`REFUND_OPENS`) and the ID retention
#: (:data:`ID_RETENTION`). Apart from ``renovation`` so R-4's reaction never sees them.
DEPOSIT = "renovation_deposit"
#: The timer of the refund's earliest date (R-21: an earliest date, not a deadline).
REFUND_OPENS = RuleId.R21.value
#: The timer that deletes the workers' ID numbers and photos (issue 11, item 7).
ID_RETENTION = "id-retention"

#: R-20: the departments that inspect, in order, and the roles that inspect for each.
INSPECTING: tuple[str, ...] = (ENGINEERING, SECURITY)
INSPECTOR_ROLES: Mapping[str, frozenset[str]] = {
    ENGINEERING: frozenset({Role.ENGINEERING.value, Role.ENGINEERING_HEAD.value}),
    SECURITY: frozenset({Role.SECURITY.value}),
}
#: How many working-day slots the owner is offered.
SLOTS = 3
#: The furthest a typed slot may be.
MAX_SLOT_AHEAD = timedelta(days=60)
#: R-21: the deposit is refunded not before this many months after the inspection.
REFUND_MONTHS = 3
#: The longest line about one problem.
MAX_PROBLEM = 300
#: The longest voucher number kept.
MAX_VOUCHER = 40
#: The most a typed amount of utilities or damage may be (a typo guard), in fen: ¥100,000.
MAX_AMOUNT = 10_000_000
#: R-21: what customer service checks before a refund, each a text
#: ``renovation_completion.check.<name>``: leaks into neighbours, damage to common parts,
#: prohibited acts (facade, structure, fire…).
CHECKS: tuple[str, ...] = ("leaks", "damage", "prohibited")
#: The project-centre head (项目中心负责人): confirms the refund (R-21).
CENTRE_HEAD = Role.PROJECT_CENTRE_HEAD.value


@dataclass(frozen=True)
class Inspection:
    """One department's inspection of a round, as kept."""

    department: str
    passed: bool
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Completion:
    """A renovation's completion and refund file, as decisions read it."""

    renovation_id: int
    slot: date
    round: int = 1
    notified: bool = False  # customer service told the inspectors this round
    inspections: tuple[Inspection, ...] = ()  # this round's
    inspected_on: date | None = None
    refund_from: date | None = None
    claimant: str | None = None  # "owner" or "contractor"
    consented: bool = False  # the owner consented to the contractor's claim
    checked: bool = False
    refundable_fen: int | None = None
    confirmed: frozenset[str] = field(default_factory=frozenset)  # the roles who confirmed
    approved: bool = False  # the project manager's consent (退還同意表)


# --- completion (R-20) ----------------------------------------------------------------------


def slots(calendar: WorkingCalendar, today: date, count: int = SLOTS) -> list[date]:
    """R-20: the inspection slots offered: the next ``count`` working days after today."""
    found: list[date] = []
    day = today
    while len(found) < count:
        day = calendar.next_working_day(day)
        found.append(day)
    return found


def slot_problem(calendar: WorkingCalendar, day: date, today: date) -> str | None:
    """What is wrong with a typed slot (a text key's last part), or None: it must be a
    working day after today and within :data:`MAX_SLOT_AHEAD`."""
    if day <= today:
        return "slot_past"
    if day - today > MAX_SLOT_AHEAD:
        return "slot_too_far"
    if not calendar.is_working_day(day):
        return "slot_not_working"
    return None


def completion_requested(ren: Renovation, by_owner: bool, slot: date) -> RenovationDecision:
    """R-20: the owner applies for the completion inspection (竣工驗收申請) with a slot: the
    works end (passes stop admitting), customer service is told and tells the inspectors."""
    if not by_owner:
        raise Refusal("not_owner")
    if ren.status != Status.ACTIVE:
        raise Refusal("not_completable")
    params = {"slot": slot.isoformat()}
    return RenovationDecision(
        move=Move.REQUEST_COMPLETION,
        expect_status=Status.ACTIVE,
        data={"slot": slot.isoformat()},
        tell=[
            Tell(Resident(), "renovation_completion.requested_owner", params),
            Tell(
                Department(CUSTOMER_SERVICE),
                "renovation_completion.requested_staff",
                params,
                style=Style.WITH_CARD,
                buttons="ren_cp_notify",
            ),
        ],
    )


def inspectors_told(
    ren: Renovation, done: Completion, by_staff: bool, open_notices: Sequence[str]
) -> RenovationDecision:
    """R-20: customer service tells engineering and security (a notice to each inspector: the
    engineers and their head, the guards; with the slot
    and the renovation's open rectification notices, which the inspection must see), once
    a round."""
    if not by_staff:
        raise Refusal("not_issuer")
    if ren.status != Status.COMPLETION_REQUESTED:
        raise Refusal("not_inspectable")
    if done.notified:
        raise Refusal("told_already")
    params: dict[str, object] = {
        "slot": done.slot.isoformat(),
        "open": "\n".join(f"• {n}" for n in open_notices) or "—",
        "count": len(open_notices),
    }
    return RenovationDecision(
        event="renovation.inspectors_told",
        data={
            "slot": done.slot.isoformat(),
            "round": done.round,
            "open_notices": len(open_notices),
        },
        expect_status=Status.COMPLETION_REQUESTED,
        tell=[
            Tell(
                Roles(INSPECTOR_ROLES[d]),
                "renovation_completion.inspect",
                params | {"round": done.round},
                style=Style.WITH_CARD,
                buttons="ren_cp_inspect",
            )
            for d in INSPECTING
        ],
    )


def inspector_department(held: Set[str]) -> str | None:
    """R-20: the department someone inspects for, by the roles they hold (None: none)."""
    return next((d for d in INSPECTING if INSPECTOR_ROLES[d] & set(held)), None)


def clean_problem(text: str) -> str | None:
    """A problem's line (what is wrong, and the fix), on one line; None if empty/too long."""
    line = " ".join(unicodedata.normalize("NFKC", text).split())
    return line if 0 < len(line) <= MAX_PROBLEM else None


def earliest_refund(inspected_on: date) -> date:
    """R-21: the earliest refund date, :data:`REFUND_MONTHS` calendar months after the
    inspection (the month's last day when it has no such day: 30 November → 28 February)."""
    month = inspected_on.month - 1 + REFUND_MONTHS
    year, month = inspected_on.year + month // 12, month % 12 + 1
    return date(year, month, min(inspected_on.day, months.monthrange(year, month)[1]))


def refund_opens_at(calendar: WorkingCalendar, day: date) -> datetime:
    """R-21: when the refund-open notice goes: the start of the working day on the
    earliest date (a date, not a deadline: nobody is late)."""
    return calendar.at(day, calendar.workday_start)


def inspected(
    ren: Renovation,
    done: Completion,
    department: str | None,
    passed: bool,
    problems: Sequence[str],
    today: date,
    photo: str | None = None,
) -> list[RenovationDecision]:
    """R-20: a department's inspection of this round: passed, or its problems (each a line
    saying what is wrong and the fix; a photo optional, its hash in the audit event).

    The first of the two is recorded and customer service hears it; the second decides:
    both passed → passed, then the deposit held (the earliest refund date three months on,
    shown to the owner); a problem on either → failed: the owner reads every problem with
    its fix and may ask for a re-inspection."""
    if department is None:
        raise Refusal("not_inspector")
    if ren.status != Status.COMPLETION_REQUESTED:
        raise Refusal("not_inspectable")
    if any(i.department == department for i in done.inspections):
        raise Refusal("inspected_already")
    if not passed and not problems:
        raise Refusal("problems_needed")
    data: dict[str, object] = {
        "department": department,
        "round": done.round,
        "passed": passed,
        "day": today.isoformat(),
    }
    if problems:
        data["note"] = " / ".join(problems)  # free text: kept out of the chain, erasable
    if photo:
        data["photo"] = photo
    results = (*done.inspections, Inspection(department, passed, tuple(problems)))
    named = {"department": f"department.{department}"}
    if len(results) < len(INSPECTING):
        return [
            RenovationDecision(
                event="renovation.inspected",
                data=data,
                expect_status=Status.COMPLETION_REQUESTED,
                tell=[
                    Tell(
                        Department(CUSTOMER_SERVICE),
                        "renovation_completion.one_inspected",
                        {"department": _text(named["department"]), "result": _result(passed)},
                    )
                ],
            )
        ]
    if all(r.passed for r in results):
        refund_from = earliest_refund(today)
        params = {"day": today.isoformat(), "refund_from": refund_from.isoformat()}
        return [
            RenovationDecision(
                move=Move.PASS, data=data, expect_status=Status.COMPLETION_REQUESTED
            ),
            RenovationDecision(
                move=Move.HOLD_DEPOSIT,
                expect_status=Status.PASSED,
                data={"inspected_on": today.isoformat(), "refund_from": refund_from.isoformat()},
                tell=[
                    Tell(
                        Resident(),
                        "renovation_completion.passed_owner",
                        params,
                        buttons="ren_rf_claim",
                    ),
                    Tell(
                        Department(CUSTOMER_SERVICE),
                        "renovation_completion.passed_staff",
                        params,
                        style=Style.WITH_CARD,
                    ),
                ],
            ),
        ]
    shown = problem_params(results)
    return [
        RenovationDecision(
            move=Move.FAIL,
            data=data,
            expect_status=Status.COMPLETION_REQUESTED,
            tell=[
                Tell(
                    Resident(),
                    "renovation_completion.failed_owner",
                    shown,
                    buttons="ren_cp_again",
                ),
                Tell(
                    Department(CUSTOMER_SERVICE),
                    "renovation_completion.failed_staff",
                    shown,
                    style=Style.WITH_CARD,
                ),
            ],
        )
    ]


def _text(key: str) -> Text:
    return Text(key)


def _result(passed: bool) -> Text:
    return Text(f"renovation_completion.result.{'passed' if passed else 'failed'}")


def problem_params(results: Sequence[Inspection]) -> dict[str, object]:
    """The problems of a round by department (``engineering``, ``security``: their lines,
    one a line, or a dash when it passed), as the owner and customer service read them."""
    return {
        d: "\n".join(f"• {p}" for r in results if r.department == d for p in r.problems) or "—"
        for d in INSPECTING
    }


def reinspection_asked(ren: Renovation, by_owner: bool, slot: date) -> RenovationDecision:
    """R-20: after a failed inspection, the owner (the problems fixed) asks again with a new
    slot: completion requested, a new round; customer service tells the inspectors again."""
    if not by_owner:
        raise Refusal("not_owner")
    if ren.status != Status.FAILED:
        raise Refusal("not_failed")
    params = {"slot": slot.isoformat()}
    return RenovationDecision(
        move=Move.REINSPECT,
        expect_status=Status.FAILED,
        data={"slot": slot.isoformat()},
        tell=[
            Tell(Resident(), "renovation_completion.requested_owner", params),
            Tell(
                Department(CUSTOMER_SERVICE),
                "renovation_completion.again_staff",
                params,
                style=Style.WITH_CARD,
                buttons="ren_cp_notify",
            ),
        ],
    )


# --- the refund opens (R-21) -------------------------------------------------------------------


def refund_not_yet(ren: Renovation, done: Completion | None, today: date) -> None:
    """R-21: Refusal ``refund_not_yet`` while the deposit is held and its earliest date has
    not come (an earliest date: a refund before it is refused); ``not_refundable`` when the
    renovation is not at the refund at all."""
    held = ren.status == Status.DEPOSIT_HELD and done is not None
    if held and done is not None and done.refund_from is not None and today < done.refund_from:
        raise Refusal("refund_not_yet")
    if ren.status != Status.REFUND_DUE:
        raise Refusal("not_refundable")


def refund_opened(
    ren: Renovation, done: Completion | None, today: date
) -> RenovationDecision | None:
    """R-21: the earliest date came (the durable timer fired): refund due; the owner is told
    the deposit can be refunded (and the contractor's head who joined: storage tells them),
    customer service too. None when it no longer applies (not held, or not yet)."""
    if ren.status != Status.DEPOSIT_HELD or done is None or done.refund_from is None:
        return None
    if today < done.refund_from:
        return None
    params = {"refund_from": done.refund_from.isoformat()}
    return RenovationDecision(
        move=Move.OPEN_REFUND,
        expect_status=Status.DEPOSIT_HELD,
        data={"refund_from": done.refund_from.isoformat()},
        tell=[
            Tell(Resident(), "renovation_completion.open_owner", params, buttons="ren_rf_claim"),
            Tell(
                Department(CUSTOMER_SERVICE),
                "renovation_completion.open_staff",
                params,
                style=Style.WITH_CARD,
                buttons="ren_rf_check",
            ),
        ],
    )


# --- the refund (R-21) ---------------------------------------------------------------------------


def claimed(
    ren: Renovation, done: Completion | None, person_id: int, today: date
) -> RenovationDecision:
    """R-21: the owner claims the deposit back, or the contractor's head who joined (then
    the owner is asked to consent). Refused before the earliest date, with it."""
    refund_not_yet(ren, done, today)
    assert done is not None
    if person_id == ren.owner_id:
        who = "owner"
    elif ren.contractor_id is not None and person_id == ren.contractor_id:
        who = CONTRACTOR
    else:
        raise Refusal("not_claimant")
    if done.claimant is not None:
        raise Refusal("claimed_already")
    if who == "owner":
        return RenovationDecision(
            event="renovation.refund_claimed",
            data={"claimant": who},
            expect_status=Status.REFUND_DUE,
            tell=[
                Tell(Resident(), "renovation_completion.claimed_owner"),
                Tell(
                    Department(CUSTOMER_SERVICE),
                    "renovation_completion.claimed_staff",
                    {"claimant": _text("renovation_completion.claimant.owner")},
                    style=Style.WITH_CARD,
                    buttons="ren_rf_check",
                ),
            ],
        )
    return RenovationDecision(
        event="renovation.refund_claimed",
        data={"claimant": who},
        expect_status=Status.REFUND_DUE,
        tell=[Tell(Resident(), "renovation_completion.consent_asked", buttons="ren_rf_consent")],
    )


def consented(ren: Renovation, done: Completion, by_owner: bool) -> RenovationDecision:
    """R-21: the owner consents to the contractor's claim, by button from their account."""
    if not by_owner:
        raise Refusal("not_owner")
    if ren.status != Status.REFUND_DUE:
        raise Refusal("not_refundable")
    if done.claimant != CONTRACTOR or done.consented:
        raise Refusal("nothing_to_consent")
    return RenovationDecision(
        event="renovation.refund_consented",
        expect_status=Status.REFUND_DUE,
        approval=Approval(RuleId.R21.value, Role.OWNER.value, True, version="contractor_claim"),
        tell=[
            Tell(
                Department(CUSTOMER_SERVICE),
                "renovation_completion.claimed_staff",
                {"claimant": _text("renovation_completion.claimant.contractor")},
                style=Style.WITH_CARD,
                buttons="ren_rf_check",
            )
        ],
    )


def parse_amount(text: str) -> int | None:
    """An amount typed in yuan (``0`` for none) in fen; None when it is none or too big."""
    plain = unicodedata.normalize("NFKC", text).strip().removeprefix("¥").removesuffix("元")
    try:
        from decimal import Decimal

        found = Decimal(plain.replace(",", "")) * 100
    except (ArithmeticError, ValueError):
        return None
    if found != found.to_integral_value():
        return None
    return int(found) if 0 <= found <= MAX_AMOUNT else None


@dataclass(frozen=True)
class Deductions:
    """What the refund's check takes from the deposit: each posting (the ledger clamps at
    zero, the excess recorded as arrears), the refundable amount left and what the owner
    owes beyond the deposit."""

    postings: tuple[Posting, ...]
    refundable_fen: int
    arrears_fen: int

    @property
    def clamped(self) -> bool:
        """Whether the deductions went beyond the deposit (it is at zero; the rest owed)."""
        return any(p.clamped for p in self.postings)


def deductions(entries: Sequence[LedgerEntry], utilities_fen: int, damage_fen: int) -> Deductions:
    """R-21: utilities owed, then damage, deducted from the deposit as it is (penalties are
    in it already): :func:`procedures.renovation.deduct` each, in turn."""
    lines = list(entries)
    postings: list[Posting] = []
    for kind, amount in ((Entry.UTILITIES, utilities_fen), (Entry.DAMAGE, damage_fen)):
        if amount > 0:
            posting = deduct(lines, kind, amount)
            postings.append(posting)
            lines += posting.entries
    after = balance(lines)
    return Deductions(tuple(postings), after.held_fen, after.arrears_fen)


def refund_checked(
    ren: Renovation,
    done: Completion | None,
    by_staff: bool,
    findings: Mapping[str, bool],
    found: Deductions,
    today: date,
    centre_held: bool,
    photos: Sequence[str] = (),
) -> RenovationDecision:
    """R-21: customer service's check of common parts and neighbours (each of
    :data:`CHECKS` found or not; photos optional, their originals' SHA-256 in the audit
    event), the utilities and damage deducted: the refundable amount.
    Then the owner, the contractor's head (when one joined) and the project-centre head (the
    project manager when nobody holds that role) are asked to confirm it. Refused before
    the earliest date (with it), twice, or while a contractor's claim waits for the
    owner's consent."""
    if not by_staff:
        raise Refusal("not_issuer")
    refund_not_yet(ren, done, today)
    assert done is not None
    if done.checked:
        raise Refusal("checked_already")
    if done.claimant == CONTRACTOR and not done.consented:
        raise Refusal("consent_first")
    flagged = [c for c in CHECKS if findings.get(c)]
    params: dict[str, object] = {
        "amount": yuan(found.refundable_fen),
        "arrears": yuan(found.arrears_fen),
    }
    key = (
        "renovation_completion.confirm_ask_owes"
        if found.arrears_fen
        else ("renovation_completion.confirm_ask")
    )
    tell = [
        Tell(Resident(), key, params, buttons="ren_rf_confirm"),
        Tell(
            Roles(frozenset({CENTRE_HEAD if centre_held else Role.PROJECT_MANAGER.value})),
            key,
            params,
            style=Style.WITH_CARD,
            buttons="ren_rf_confirm",
        ),
    ]
    return RenovationDecision(
        event="renovation.refund_checked",
        data={
            "findings": {c: bool(findings.get(c)) for c in CHECKS},
            "flagged": flagged,
            "refundable_fen": found.refundable_fen,
            "arrears_fen": found.arrears_fen,
            "photos": list(photos),
        },
        expect_status=Status.REFUND_DUE,
        tell=tell,
    )


def confirmers(ren: Renovation) -> frozenset[str]:
    """R-21: who must confirm the refund: the owner, the contractor's head when one joined,
    the project-centre head."""
    found = {Role.OWNER.value, CENTRE_HEAD}
    if ren.contractor_id is not None:
        found.add(CONTRACTOR)
    return frozenset(found)


def confirming_role(
    ren: Renovation, person_id: int, held: Set[str], centre_held: bool, done: Completion
) -> str | None:
    """R-21: the role in which someone confirms now (one not yet confirmed): the owner, the
    contractor's head, or the project-centre head — held, or by default the project
    manager when nobody in the estate holds it. None for anyone else."""
    mine: list[str] = []
    if person_id == ren.owner_id:
        mine.append(Role.OWNER.value)
    if ren.contractor_id is not None and person_id == ren.contractor_id:
        mine.append(CONTRACTOR)
    if CENTRE_HEAD in held or (not centre_held and Role.PROJECT_MANAGER.value in held):
        mine.append(CENTRE_HEAD)
    return next((r for r in mine if r not in done.confirmed), mine[0] if mine else None)


def refund_confirmed(ren: Renovation, done: Completion, role: str | None) -> RenovationDecision:
    """R-21: one of :func:`confirmers` confirms the refundable amount (the refund acceptance,
    signed in their role, for that amount); the last one brings the project manager's
    approval."""
    if role is None:
        raise Refusal("not_confirmer")
    if ren.status != Status.REFUND_DUE:
        raise Refusal("not_refundable")
    if not done.checked or done.refundable_fen is None:
        raise Refusal("check_first")
    if role in done.confirmed:
        raise Refusal("confirmed_already")
    amount = yuan(done.refundable_fen)
    decision = RenovationDecision(
        event="renovation.refund_confirmed",
        data={"role": role, "refundable_fen": done.refundable_fen},
        expect_status=Status.REFUND_DUE,
        approval=Approval(RuleId.R21.value, role, True, version=f"refund:{done.refundable_fen}"),
    )
    if confirmers(ren) <= done.confirmed | {role}:
        decision.tell = [
            Tell(
                Roles(frozenset({Role.PROJECT_MANAGER.value})),
                "renovation_completion.approve_ask",
                {"amount": amount},
                style=Style.WITH_CARD,
                buttons="ren_rf_approve",
            )
        ]
    return decision


def refund_approved(ren: Renovation, done: Completion, by_manager: bool) -> RenovationDecision:
    """R-21: the project manager approves the refund (退還同意表), once every confirmation
    is in; the cashier is asked to pay it."""
    if not by_manager:
        raise Refusal("not_manager")
    if ren.status != Status.REFUND_DUE:
        raise Refusal("not_refundable")
    if done.refundable_fen is None or not confirmers(ren) <= done.confirmed:
        raise Refusal("confirmations_missing")
    if done.approved:
        raise Refusal("approved_already")
    return RenovationDecision(
        event="renovation.refund_approved",
        data={"refundable_fen": done.refundable_fen},
        expect_status=Status.REFUND_DUE,
        approval=Approval(
            RuleId.R21.value,
            Role.PROJECT_MANAGER.value,
            True,
            version=f"refund:{done.refundable_fen}",
        ),
        tell=[
            Tell(
                Roles(frozenset({Role.CASHIER.value})),
                "renovation_completion.pay_ask",
                {"amount": yuan(done.refundable_fen)},
                style=Style.WITH_CARD,
                buttons="ren_rf_pay",
            )
        ],
    )


def clean_voucher(text: str) -> str | None:
    """A receipt or voucher number on one line (1..:data:`MAX_VOUCHER`), or None."""
    found = " ".join(unicodedata.normalize("NFKC", text).split())
    return found if 0 < len(found) <= MAX_VOUCHER else None


def refunded(
    ren: Renovation, done: Completion, by_cashier: bool, voucher: str | None
) -> list[RenovationDecision]:
    """R-21: the cashier records the refund (押金退還備忘表: the amount, the voucher number)
    once the project manager approved: refunded (storage posts the ledger's refund entry:
    the balance is zero), then closed — the unit is free. The owner and customer service
    are told."""
    if not by_cashier:
        raise Refusal("not_cashier")
    if ren.status != Status.REFUND_DUE:
        raise Refusal("not_refundable")
    if not done.approved or done.refundable_fen is None:
        raise Refusal("approval_first")
    if voucher is None:
        raise Refusal("receipt_needed")
    params = {"amount": yuan(done.refundable_fen), "voucher": voucher}
    payee = done.claimant or Role.OWNER.value
    return [
        RenovationDecision(
            move=Move.REFUND,
            expect_status=Status.REFUND_DUE,
            data={"voucher": voucher, "amount_fen": done.refundable_fen, "payee": payee},
            tell=[
                Tell(Resident(), "renovation_completion.refunded_owner", params),
                Tell(
                    Department(CUSTOMER_SERVICE),
                    "renovation_completion.refunded_staff",
                    params,
                    style=Style.WITH_CARD,
                ),
            ],
        ),
        RenovationDecision(move=Move.CLOSE, expect_status=Status.REFUNDED),
    ]


def ids_purge_at(refunded_at: datetime, retention_days: int) -> datetime:
    """Issue 11, item 7: when the workers' ID numbers and photos are deleted: the estate's
    retention period after the refund."""
    return refunded_at + timedelta(days=retention_days)
