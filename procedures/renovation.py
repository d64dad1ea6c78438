"""Renovation (P2) as code: its states, its application form and documents, and the
decisions of each step. Pure: no database, no Telegram, no clock (time comes in).

**States** (issue 11, item 1): draft → submitted → complete → approved | rejected → terms
accepted → agreement signed → fees paid → permitted → entry confirmed → active (⇄
suspended) → completion requested → passed | failed → deposit held → refund due → refunded
→ closed. Every state is declared here, with every transition (:data:`TRANSITIONS`);
:func:`next_status` refuses any other move. The steps after the permit decide in their own
modules: ``procedures.renovation_entry`` (R-12, R-13, suspension, extension),
``procedures.renovation_completion`` (R-20, R-21), ``procedures.renovation_hotwork`` (R-17,
temporary passes) and ``procedures.renovation_filings`` (R-6).

**One open renovation per unit**: a renovation is open until it is rejected or closed
(:data:`ENDED`); a second application for the unit is refused (:func:`may_apply`), and the
database's unique index says the same.

**The application** (R-1..R-3): the guide and checklist, the form (works period,
contractor, its head and phone, scope ticks), the commitment letter confirmed from the
owner's own account, then one upload per required document (:data:`REQUIRED`, plus an
agent's power of attorney and commercial or key premises' design qualification when the
application needs them: :func:`required_of`). Customer
service marks each document valid or invalid with a reason (R-3: a photo cannot prove a
wet seal; staff confirm they saw the originals); :func:`is_complete` decides.

**Approval** (R-4, R-5, R-7): the complete file goes to engineering (R-5); the
customer-department head and the engineering head each approve or reject with comments,
signed by role (an admin, as such, never signs); R-4's clock runs one working day from
"application complete"; the owner is told and accepts the terms by button (R-7).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from procedures.clocks import Timer, timer
from procedures.deadlines import EstateRules
from procedures.decisions import (
    Approval,
    Decision,
    Department,
    Resident,
    Roles,
    Style,
    Targets,
    Tell,
    Text,
    Title,
)
from procedures.identity import Role
from procedures.phone import normalise_caller_phone
from procedures.renovation_settings import RenovationSettings, yuan
from procedures.rule_ids import RuleId
from procedures.subjects import Subject

#: The subject kind of renovations (rows of ``renovations``): clocks, outbox rows, audit
#: events, approvals and evidence attach to ``Subject(RENOVATION, id)``.
RENOVATION = "renovation"
#: The number prefix: ``ZX-20261127-0001`` (装修).
PREFIX = "ZX"


def subject(renovation_id: int) -> Subject:
    """The subject of a renovation."""
    return Subject(RENOVATION, renovation_id)


def number(day: date, sequence: int) -> str:
    """A renovation's number: prefix, local date, the day's sequence."""
    return f"{PREFIX}-{day:%Y%m%d}-{sequence:04d}"


# --- states ---------------------------------------------------------------------------------


class Status(StrEnum):
    """Where a renovation is (issue 11, item 1)."""

    DRAFT = "draft"  # the form and commitment letter done, documents being sent
    SUBMITTED = "submitted"  # sent to customer service, documents being checked
    COMPLETE = "complete"  # every required document valid: the heads decide
    APPROVED = "approved"  # both heads approved: the owner accepts the terms
    REJECTED = "rejected"  # a head rejected it (ended: the owner may apply again)
    TERMS_ACCEPTED = "terms_accepted"  # the owner accepted the approval's terms
    # The states of the steps to come (not reachable yet: no move of this step leads there).
    AGREEMENT_SIGNED = "agreement_signed"  # the management agreement signed, rules told
    FEES_PAID = "fees_paid"  # fees and deposit collected by the cashier
    PERMITTED = "permitted"  # works permit and worker passes issued
    ENTRY_CONFIRMED = "entry_confirmed"  # the unit walked through, both sides signed
    ACTIVE = "active"  # works under way, patrolled daily
    SUSPENDED = "suspended"  # works stopped (a serious violation)
    COMPLETION_REQUESTED = "completion_requested"  # the owner asked for the inspection
    PASSED = "passed"  # completion inspection passed
    FAILED = "failed"  # completion inspection failed: re-inspection
    DEPOSIT_HELD = "deposit_held"  # the three months before a refund run
    REFUND_DUE = "refund_due"  # the deposit may be refunded
    REFUNDED = "refunded"  # the cashier recorded the refund
    CLOSED = "closed"  # ended (withdrawn, or refunded and filed)


class Move(StrEnum):
    """What moves a renovation from one state to the next."""

    SUBMIT = "submit"  # R-1..R-3: the owner sends the application, every document attached
    COMPLETE = "complete"  # the last required document is marked valid
    APPROVE = "approve"  # the second head approves (the first's approval stands)
    REJECT = "reject"  # a head rejects
    ACCEPT_TERMS = "accept_terms"  # the owner accepts by button
    WITHDRAW = "withdraw"  # the owner withdraws an application not yet decided
    SIGN_AGREEMENT = "sign_agreement"
    PAY_FEES = "pay_fees"
    PERMIT = "permit"
    CONFIRM_ENTRY = "confirm_entry"
    START_WORKS = "start_works"
    SUSPEND = "suspend"
    RESUME = "resume"
    REQUEST_COMPLETION = "request_completion"
    PASS = "pass"
    FAIL = "fail"
    REINSPECT = "reinspect"  # a failed inspection asks for another
    HOLD_DEPOSIT = "hold_deposit"
    OPEN_REFUND = "open_refund"  # three months after the completion inspection
    REFUND = "refund"
    CLOSE = "close"  # filed


S = Status
#: Every transition of the whole lifecycle: (from, move) → to.
TRANSITIONS: Mapping[tuple[Status, Move], Status] = {
    (S.DRAFT, Move.SUBMIT): S.SUBMITTED,
    (S.SUBMITTED, Move.COMPLETE): S.COMPLETE,
    (S.COMPLETE, Move.APPROVE): S.APPROVED,
    (S.COMPLETE, Move.REJECT): S.REJECTED,
    (S.APPROVED, Move.ACCEPT_TERMS): S.TERMS_ACCEPTED,
    (S.DRAFT, Move.WITHDRAW): S.CLOSED,
    (S.SUBMITTED, Move.WITHDRAW): S.CLOSED,
    (S.TERMS_ACCEPTED, Move.SIGN_AGREEMENT): S.AGREEMENT_SIGNED,
    (S.AGREEMENT_SIGNED, Move.PAY_FEES): S.FEES_PAID,
    (S.FEES_PAID, Move.PERMIT): S.PERMITTED,
    (S.PERMITTED, Move.CONFIRM_ENTRY): S.ENTRY_CONFIRMED,
    (S.ENTRY_CONFIRMED, Move.START_WORKS): S.ACTIVE,
    (S.ACTIVE, Move.SUSPEND): S.SUSPENDED,
    (S.SUSPENDED, Move.RESUME): S.ACTIVE,
    (S.ACTIVE, Move.REQUEST_COMPLETION): S.COMPLETION_REQUESTED,
    (S.COMPLETION_REQUESTED, Move.PASS): S.PASSED,
    (S.COMPLETION_REQUESTED, Move.FAIL): S.FAILED,
    (S.FAILED, Move.REINSPECT): S.COMPLETION_REQUESTED,
    (S.PASSED, Move.HOLD_DEPOSIT): S.DEPOSIT_HELD,
    (S.DEPOSIT_HELD, Move.OPEN_REFUND): S.REFUND_DUE,
    (S.REFUND_DUE, Move.REFUND): S.REFUNDED,
    (S.REFUNDED, Move.CLOSE): S.CLOSED,
}
#: States a renovation has ended in: the unit is free for a new application.
ENDED: frozenset[Status] = frozenset({S.REJECTED, S.CLOSED})


class InvalidMove(ValueError):
    """A move the state machine does not allow from where the renovation is."""


def next_status(status: Status | str, move: Move) -> Status:
    """Where ``move`` takes a renovation in ``status``; InvalidMove when it cannot."""
    found = TRANSITIONS.get((Status(status), move))
    if found is None:
        raise InvalidMove(f"cannot {move.value} a {Status(status).value} renovation")
    return found


def is_open(status: Status | str) -> bool:
    """Whether a renovation in ``status`` still holds its unit (one open per unit)."""
    return Status(status) not in ENDED


# --- the form (R-2) --------------------------------------------------------------------------

#: Scope ticks of the application form; three of them need the authorities (R-6).
SCOPES: tuple[str, ...] = (
    "walls",
    "floors",
    "plumbing",
    "electrical",
    "fire",
    "structural",
    "gas",
    "other",
)
#: R-6: the ticks that need a filing with the authorities (procedures.renovation_filings).
FILING_SCOPES: frozenset[str] = frozenset({"fire", "structural", "gas"})
#: The longest works period one application may ask for (default: 6 months).
MAX_PERIOD = timedelta(days=183)
#: The longest name (contractor, its head) kept.
MAX_NAME = 60

_DATE = re.compile(r"(?:(\d{4})\D{1,2})?(\d{1,2})\D{1,2}(\d{1,2})\D?", re.ASCII)


def parse_date(text: str, today: date) -> date | None:
    """A date as people type it: ``2026-12-01``, ``2026/12/1``, ``2026年12月1日``, or without
    the year (``12-01``, ``12月1日``: this year, or next year when that day has passed).
    None when it is not a date."""
    plain = unicodedata.normalize("NFKC", text).strip()
    match = _DATE.fullmatch(plain)
    if match is None:
        return None
    year, month, day = match.group(1), int(match.group(2)), int(match.group(3))
    try:
        found = date(int(year) if year else today.year, month, day)
    except ValueError:
        return None
    if year is None and found < today:
        try:
            found = found.replace(year=today.year + 1)
        except ValueError:
            return None
    return found


def period_problem(start: date, end: date | None, today: date) -> str | None:
    """What is wrong with a works period (a text key's last part), or None: it cannot start
    before today, end before it starts, or run longer than :data:`MAX_PERIOD`."""
    if start < today:
        return "period_past"
    if end is None:
        return None
    if end < start:
        return "period_backwards"
    if end - start > MAX_PERIOD:
        return "period_too_long"
    return None


def clean_name(text: str) -> str | None:
    """A contractor's or head's name on one line, or None when empty or too long."""
    name = " ".join(unicodedata.normalize("NFKC", text).split())
    return name if 0 < len(name) <= MAX_NAME else None


def clean_phone(text: str) -> str | None:
    """The contractor head's phone (a mobile or a landline), normalised; None if unusable."""
    return normalise_caller_phone(text)


@dataclass(frozen=True)
class Form:
    """The application form (装修申请表, R-2)."""

    period_from: date
    period_to: date
    contractor: str
    head_name: str
    head_phone: str
    scope: tuple[str, ...]

    @property
    def filings(self) -> tuple[str, ...]:
        """R-6: the ticks that need the authorities, in the form's order."""
        return tuple(s for s in self.scope if s in FILING_SCOPES)


# --- documents (R-3) -------------------------------------------------------------------------


class Doc(StrEnum):
    """A required document of the application (R-3)."""

    PLAN = "plan"  # 平面图
    CEILING = "ceiling"  # 天花图
    PIPES_POWER = "pipes_power"  # 水电管线图
    LOW_VOLTAGE = "low_voltage"  # 弱电图
    SECTIONS = "sections"  # 剖面图
    HEAD_ID = "head_id"  # 施工负责人身份证
    LICENCE = "licence"  # 营业执照
    QUALIFICATION = "qualification"  # 施工资质证书
    # Only some applications need these (appended, so every older index stays the same):
    POWER_OF_ATTORNEY = "power_of_attorney"  # 委托书 (R-2: an agent acts for the owner)
    DESIGN_QUALIFICATION = "design_qualification"  # 设计资质证书 (R-3: commercial/key premises)


#: The documents every application needs, in the checklist's order.
REQUIRED: tuple[Doc, ...] = (
    Doc.PLAN,
    Doc.CEILING,
    Doc.PIPES_POWER,
    Doc.LOW_VOLTAGE,
    Doc.SECTIONS,
    Doc.HEAD_ID,
    Doc.LICENCE,
    Doc.QUALIFICATION,
)
#: The documents only some applications need (R-2: an agent's power of attorney; R-3:
#: commercial or key premises' design qualification). An application needs one when it has
#: a row for it: the owner ticks it while sending documents, or customer service requires
#: the design qualification while checking (:func:`conditional_toggled`,
#: :func:`design_required`).
CONDITIONAL: tuple[Doc, ...] = (Doc.POWER_OF_ATTORNEY, Doc.DESIGN_QUALIFICATION)
#: Every document in button data's order: a button carries its index here (the first eight
#: are :data:`REQUIRED`'s, so buttons sent before the conditional documents still work).
ALL_DOCS: tuple[Doc, ...] = tuple(Doc)


class DocState(StrEnum):
    """Where one document is."""

    MISSING = "missing"  # nothing sent yet
    PENDING = "pending"  # sent, not checked yet
    VALID = "valid"  # checked valid by customer service
    INVALID = "invalid"  # checked invalid, with a reason: the owner sends it again


#: Why customer service marks a document invalid (each has a text the owner reads).
INVALID_REASONS: tuple[str, ...] = ("no_seal", "unclear", "expired", "mismatch", "incomplete")


@dataclass(frozen=True)
class Document:
    """One required document of an application: its state, how many files of its current
    round were sent, and why it was refused."""

    doc: Doc
    state: DocState = DocState.MISSING
    files: int = 0
    reason: str | None = None


def required_of(documents: Mapping[Doc, Document]) -> tuple[Doc, ...]:
    """The documents this application needs, in the checklist's order: :data:`REQUIRED`,
    then the conditional ones it has (R-2's power of attorney, R-3's design
    qualification)."""
    return REQUIRED + tuple(d for d in CONDITIONAL if d in documents)


def doc_index(doc: Doc) -> int:
    """A document's index in button data (into :data:`ALL_DOCS`)."""
    return ALL_DOCS.index(doc)


def doc_at(index: int | None) -> Doc | None:
    """The document a button's index names, or None for an index out of range."""
    return ALL_DOCS[index] if index is not None and 0 <= index < len(ALL_DOCS) else None


def is_complete(documents: Mapping[Doc, Document]) -> bool:
    """R-3: the application is complete when every document it needs is checked valid."""
    return all(_state(documents, d) == DocState.VALID for d in required_of(documents))


def missing(documents: Mapping[Doc, Document]) -> list[Doc]:
    """The needed documents with nothing sent yet (or refused and not sent again)."""
    return [
        d
        for d in required_of(documents)
        if _state(documents, d) in (DocState.MISSING, DocState.INVALID)
    ]


def progress(documents: Mapping[Doc, Document]) -> tuple[int, int]:
    """How many needed documents are valid, of how many."""
    needed = required_of(documents)
    return sum(_state(documents, d) == DocState.VALID for d in needed), len(needed)


def _state(documents: Mapping[Doc, Document], doc: Doc) -> DocState:
    found = documents.get(doc)
    return found.state if found is not None else DocState.MISSING


# --- the record -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Renovation:
    """A renovation as decisions read it."""

    id: int
    number: str
    estate_id: int
    unit_id: int
    unit_label: str
    owner_id: int
    status: Status
    form: Form
    documents: Mapping[Doc, Document] = field(default_factory=dict)
    complete_at: datetime | None = None
    #: R-8: the contractor's head, once they joined by the owner's invite link (a person
    #: with no estate role, scoped to this renovation).
    contractor_id: int | None = None
    #: The unit's area (m², the roster's): R-10's management fee per m².
    area_m2: Decimal | None = None
    #: R-19: the numbers of the owner's requests and complaints filed during the works.
    cases: tuple[str, ...] = ()
    #: R-6: the filings whose authority's receipt the owner attached.
    filed: frozenset[str] = frozenset()

    @property
    def open_filings(self) -> tuple[str, ...]:
        """R-6: the filings the form needs whose receipt is still missing, in its order."""
        return tuple(f for f in self.form.filings if f not in self.filed)


#: R-4: the two heads who sign an application (or their recorded delegates,
#: ``procedures.renovation_delegate``).
HEADS: tuple[str, ...] = (Role.CUSTOMER_HEAD.value, Role.ENGINEERING_HEAD.value)


@dataclass(frozen=True)
class WithDelegates(Roles):
    """R-4: everyone holding one of these head roles in the estate, and the delegates each
    head recorded for that role whose delegation is in force today, privately."""


@dataclass
class RenovationDecision(Decision):
    """A :class:`Decision` about a renovation: ``move`` is its move through the state
    machine (``action`` stays None: that is a case's); ``documents`` are documents whose
    state changes (their new state and reason)."""

    move: Move | None = None
    documents: dict[Doc, tuple[DocState, str | None]] = field(default_factory=dict)
    #: Signatures besides ``approval`` signed in the same step (R-9's rules with R-8's
    #: agreement).
    also: list[Approval] = field(default_factory=list)
    #: Conditional documents (:data:`CONDITIONAL`) this step adds to the application's
    #: list (True: a row, nothing sent) or takes off it (False: only while nothing was
    #: sent for it).
    needs: dict[Doc, bool] = field(default_factory=dict)


class Refusal(Exception):
    """A step that cannot be taken now; ``code`` names the text that says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def may_apply(open_for_unit: Renovation | None, owner_id: int) -> Renovation | None:
    """One open renovation per unit: None when the unit is free; the owner's own draft to
    go on with; Refusal ``already_open`` for any other open one."""
    if open_for_unit is None:
        return None
    if open_for_unit.status == Status.DRAFT and open_for_unit.owner_id == owner_id:
        return open_for_unit
    raise Refusal("already_open")


# --- the steps --------------------------------------------------------------------------------

#: Customer service: where applications are checked (R-1..R-3).
CUSTOMER_SERVICE = "customer_service"
#: Engineering: receives the complete file (R-5).
ENGINEERING = "engineering"


def file_added(ren: Renovation, doc: Doc, by_owner: bool) -> RenovationDecision:
    """A file sent for ``doc``. In a draft it only counts; after submission it is the
    owner fixing a document marked invalid (it goes back to pending and customer service
    is told), and a document already valid takes no more files."""
    if not by_owner:
        raise Refusal("not_owner")
    if doc not in required_of(ren.documents):  # a conditional document taken off the list
        raise Refusal("doc_not_needed")
    state = _state(ren.documents, doc)
    if ren.status == Status.DRAFT:
        return RenovationDecision(
            event="renovation.document_added",
            data={"doc": doc.value},
            documents={doc: (DocState.PENDING, None)},
        )
    if ren.status != Status.SUBMITTED:
        raise Refusal("not_editable")
    if state == DocState.VALID:
        raise Refusal("doc_valid_already")
    decision = RenovationDecision(
        event="renovation.document_added",
        data={"doc": doc.value, "again": True},
        documents={doc: (DocState.PENDING, None)},
        expect_status=Status.SUBMITTED,
    )
    if state == DocState.INVALID:  # the first file of the fixed document: customer service
        decision.tell.append(
            Tell(
                Department(CUSTOMER_SERVICE),
                "renovation.doc_resent",
                {"doc": Text(f"renovation.doc.{doc.value}")},
                style=Style.WITH_CARD,
                buttons="ren_review",
            )
        )
    elif state == DocState.MISSING:  # the first file of a document required after submission
        decision.tell.append(
            Tell(
                Department(CUSTOMER_SERVICE),
                "renovation.doc_added_staff",
                {"doc": Text(f"renovation.doc.{doc.value}")},
                style=Style.WITH_CARD,
                buttons="ren_review",
            )
        )
    return decision


def conditional_toggled(ren: Renovation, doc: Doc, by_owner: bool) -> RenovationDecision:
    """R-2, R-3: while the owner sends the documents (a draft), a tap adds a conditional
    document to the list — the power of attorney when an agent applies for the owner, the
    design qualification for commercial or key premises — and a second tap takes it off
    again, while nothing was sent for it (Refusal ``doc_sent_already`` after)."""
    if not by_owner:
        raise Refusal("not_owner")
    if ren.status != Status.DRAFT:
        raise Refusal("not_editable")
    if doc not in CONDITIONAL:
        raise Refusal("doc_not_needed")
    found = ren.documents.get(doc)
    if found is not None and (found.state != DocState.MISSING or found.files):
        raise Refusal("doc_sent_already")
    needed = found is None
    return RenovationDecision(
        event="renovation.document_needed",
        data={"doc": doc.value, "needed": needed, "by": "owner"},
        needs={doc: needed},
        expect_status=Status.DRAFT,
    )


def design_required(ren: Renovation) -> RenovationDecision:
    """R-3: customer service, checking a submitted application, finds the premises
    commercial or key and requires the design qualification the owner did not add. It
    joins the list as missing, so the application is not complete until it is sent and
    checked valid; the owner is told, with the button that uploads it (the same step as a
    refused document's)."""
    doc = Doc.DESIGN_QUALIFICATION
    if ren.status != Status.SUBMITTED:
        raise Refusal("not_checkable")
    if doc in ren.documents:
        raise Refusal("doc_needed_already")
    return RenovationDecision(
        event="renovation.document_needed",
        data={"doc": doc.value, "needed": True, "by": CUSTOMER_SERVICE},
        needs={doc: True},
        expect_status=Status.SUBMITTED,
        tell=[
            Tell(
                Resident(),
                "renovation.doc_needed_owner",
                {"doc": Text(f"renovation.doc.{doc.value}")},
                buttons="ren_fix",
                button_arg=doc_index(doc),
            )
        ],
    )


def submitted(ren: Renovation) -> RenovationDecision:
    """R-1..R-3: the owner submits: every required document has a file. Customer service
    gets the application to check, with a button per document."""
    if ren.status != Status.DRAFT:
        raise Refusal("not_editable")
    if missing(ren.documents):
        raise Refusal("documents_missing")
    return RenovationDecision(
        move=Move.SUBMIT,
        expect_status=Status.DRAFT,
        tell=[
            Tell(Resident(), "renovation.submitted", style=Style.WITH_CARD),
            Tell(
                Department(CUSTOMER_SERVICE),
                "renovation.to_check",
                style=Style.WITH_CARD,
                buttons="ren_review",
            ),
        ],
    )


def withdrawn(ren: Renovation) -> RenovationDecision:
    """The owner withdraws an application not yet complete: closed, the unit is free."""
    next_status(ren.status, Move.WITHDRAW)  # InvalidMove once complete
    tell = [Tell(Resident(), "renovation.withdrawn")]
    if ren.status == Status.SUBMITTED:
        tell.append(
            Tell(Department(CUSTOMER_SERVICE), "renovation.withdrawn_staff", style=Style.WITH_CARD)
        )
    return RenovationDecision(move=Move.WITHDRAW, expect_status=ren.status, tell=tell)


def checked(
    ren: Renovation,
    doc: Doc,
    valid: bool,
    reason: str | None,
    rules: EstateRules,
    now: datetime,
) -> RenovationDecision:
    """R-3: customer service marks a sent document valid, or invalid with a reason.

    Invalid: the owner is told what to fix, with a button to send it again. Valid and the
    last one missing: the application is complete (R-3's checklist) — the R-4 clock starts
    (one working day, holidays out, 调休 in), engineering gets the file (R-5), and the two
    heads get it to approve or reject; the owner hears that it is complete."""
    if ren.status != Status.SUBMITTED:
        raise Refusal("not_checkable")
    if _state(ren.documents, doc) != DocState.PENDING:
        raise Refusal("doc_not_pending")
    if not valid and reason not in INVALID_REASONS:
        raise Refusal("reason_needed")
    data: dict[str, object] = {"doc": doc.value, "valid": valid}
    if not valid:
        data["reason"] = reason
        return RenovationDecision(
            event="renovation.document_checked",
            data=data,
            expect_status=Status.SUBMITTED,
            documents={doc: (DocState.INVALID, reason)},
            tell=[
                Tell(
                    Resident(),
                    "renovation.doc_invalid",
                    {
                        "doc": Text(f"renovation.doc.{doc.value}"),
                        "reason": Text(f"renovation.reason.{reason}"),
                    },
                    buttons="ren_fix",
                    button_arg=doc_index(doc),
                )
            ],
        )
    after = dict(ren.documents) | {doc: Document(doc, DocState.VALID)}
    decision = RenovationDecision(
        event="renovation.document_checked",
        data=data,
        expect_status=Status.SUBMITTED,
        documents={doc: (DocState.VALID, None)},
    )
    if is_complete(after):
        complete = completed(ren, rules, now)
        decision.move = complete.move
        decision.event = None
        decision.changes = complete.changes
        decision.start = complete.start
        decision.tell = complete.tell
    return decision


def completed(ren: Renovation, rules: EstateRules, now: datetime) -> RenovationDecision:
    """R-3 → R-4, R-5: the application is complete now."""
    clock = timer(rules, RuleId.R4, now)  # one working day from "application complete"
    return RenovationDecision(
        move=Move.COMPLETE,
        changes={"complete_at": now},
        start=[clock],
        tell=[
            Tell(Resident(), "renovation.complete_owner", {"limit": Title(RuleId.R4)}),
            # the complete file goes to engineering (the documents as an album first)
            Tell(
                Department(ENGINEERING),
                "renovation.to_engineering",
                style=Style.WITH_CARD,
                photos=True,
            ),
            Tell(
                WithDelegates(frozenset(HEADS)),
                "renovation.to_decide",
                {"limit": Title(RuleId.R4)},
                style=Style.WITH_CARD,
                buttons="ren_decide",
            ),
        ],
    )


@dataclass(frozen=True)
class Signature:
    """A head's signature already given on an application (R-4)."""

    role: str
    approved: bool


def signing_role(held: set[str], signed: Sequence[Signature]) -> str | None:
    """R-4: the role in which someone holding ``held`` signs now: a head's role not yet
    signed (in the order of :data:`HEADS`); None when they hold none (an admin, as such,
    signs nothing) or have signed in each they hold."""
    done = {s.role for s in signed}
    return next((r for r in HEADS if r in held and r not in done), None)


def signed(
    ren: Renovation,
    role: str,
    approved: bool,
    comment: str | None,
    before: Sequence[Signature],
    *,
    waits_for_filings: bool = False,
) -> RenovationDecision:
    """R-4: a head signs, approving or rejecting, with comments (a rejection needs them).
    Where the estate has approval wait for the authorities (R-6, ``waits_for_filings``), an
    approval is refused while a filing's receipt is missing (Refusal ``filings_open``).

    A rejection ends it at once (R-4's clock stopped, the owner told why); an approval
    waits for the other head's, and the second approval approves the application: the
    owner is told, with the button that accepts its terms (R-7)."""
    if ren.status != Status.COMPLETE:
        raise Refusal("not_decidable")
    if role not in HEADS:
        raise Refusal("not_a_head")
    if any(s.role == role for s in before):
        raise Refusal("signed_already")
    if not approved and not comment:
        raise Refusal("comment_needed")
    if approved and waits_for_filings and ren.open_filings:
        raise Refusal("filings_open")
    approval = Approval(RuleId.R4.value, role, approved, comment=comment)
    shown = comment or "—"
    head = Text(f"role.{role}")
    if not approved:
        return RenovationDecision(
            move=Move.REJECT,
            expect_status=Status.COMPLETE,
            approval=approval,
            stop=[RuleId.R4],
            data={"role": role, "comment": comment},
            tell=[
                Tell(
                    Resident(),
                    "renovation.rejected_owner",
                    {"head": head, "comment": shown},
                    style=Style.WITH_CARD,
                ),
                Tell(
                    Department(CUSTOMER_SERVICE),
                    "renovation.rejected_staff",
                    {"head": head, "comment": shown},
                    style=Style.WITH_CARD,
                ),
            ],
        )
    others = [r for r in HEADS if r != role]
    if all(any(s.role == r and s.approved for s in before) for r in others):
        return RenovationDecision(
            move=Move.APPROVE,
            expect_status=Status.COMPLETE,
            approval=approval,
            stop=[RuleId.R4],
            data={"role": role, "comment": comment},
            tell=[
                Tell(
                    Resident(),
                    "renovation.approved_owner",
                    style=Style.WITH_CARD,
                    buttons="ren_terms",
                ),
                Tell(
                    Department(CUSTOMER_SERVICE), "renovation.approved_staff", style=Style.WITH_CARD
                ),
            ],
        )
    return RenovationDecision(
        event="renovation.signed",
        expect_status=Status.COMPLETE,
        approval=approval,
        data={"role": role, "approved": True, "comment": comment},
        tell=[
            Tell(
                WithDelegates(frozenset(others)),
                "renovation.other_signed",
                {"head": head, "comment": shown},
                style=Style.WITH_CARD,
                buttons="ren_decide",
            ),
        ],
    )


def terms_accepted(ren: Renovation, by_owner: bool) -> RenovationDecision:
    """R-7: the owner accepts the approval's terms (审批表), by button, from their own
    account: signed as the owner."""
    if not by_owner:
        raise Refusal("not_owner")
    if ren.status != Status.APPROVED:
        raise Refusal("not_approved")
    return RenovationDecision(
        move=Move.ACCEPT_TERMS,
        expect_status=Status.APPROVED,
        approval=Approval(RuleId.R7.value, Role.OWNER.value, True),
        tell=[
            Tell(Resident(), "renovation.terms_owner", buttons="ren_agree"),
            Tell(Department(CUSTOMER_SERVICE), "renovation.terms_staff", style=Style.WITH_CARD),
        ],
    )


# --- R-4's clock ------------------------------------------------------------------------------


def reaction(
    ren: Renovation,
    rule_id: str,
    warning: bool,
    late: bool,
    rules: EstateRules,
    signatures: Sequence[Signature],
    due: datetime,
) -> list[RenovationDecision]:
    """What R-4's warning or breach does (the rule's data: warn the approvers, escalate to
    the project manager). The warning goes to the heads who have not signed yet; the breach
    to the rule's ``escalate_to`` and is recorded. A renovation decided meanwhile hears
    nothing (its clock was stopped; a timer that still fires says nothing)."""
    rule = rules.rules.get(rule_id)
    if rule is None or ren.status != Status.COMPLETE:
        return []
    title = Title(rule.id)
    waiting = frozenset(r for r in HEADS if not any(s.role == r for s in signatures))
    if warning:
        shown = rules.calendar.local(due).strftime("%m-%d %H:%M")
        to = (
            WithDelegates(waiting)
            if rule.warn_to == "approvers"
            else Targets((rule.warn_to or "approvers",))
        )
        tell = Tell(
            to,
            "renovation.r4_warning",
            {"rule": title, "due": shown},
            style=Style.WITH_CARD,
            buttons="ren_decide",
            late=late,
        )
        return [RenovationDecision(tell=[tell])]
    return [
        RenovationDecision(
            event="renovation.deadline_missed",
            data={"rule": rule.id, "late": late, "waiting": sorted(waiting)},
            tell=[
                Tell(
                    Targets(tuple(rule.escalate_to)),
                    "renovation.r4_breached",
                    {"rule": title, "waiting": tuple(Text(f"role.{r}") for r in sorted(waiting))},
                    style=Style.WITH_CARD,
                    late=late,
                ),
            ],
        )
    ]


# --- agreement and rules (R-8, R-9) ------------------------------------------------------------

#: The contractor's head as a signer (a person scoped to one renovation, no estate role).
CONTRACTOR = "contractor"
#: What the signer reads and signs with the agreement (each a text of the renovation's
#: locale part, ``renovation.paper.<name>``): the management agreement (裝修管理服務協議),
#: the renovation regulations (裝修管理規定) with the prohibitions, and the fire-safety
#: responsibility agreement (安全防火責任制書).
PAPERS: tuple[str, ...] = ("agreement", "regulations", "fire_safety")
#: The prohibitions stressed out loud (R-9), each a text ``renovation.prohibition.<name>``.
PROHIBITIONS: tuple[str, ...] = (
    "facade",
    "bars",
    "structure",
    "common_parts",
    "fire",
    "debris",
)


def signer(ren: Renovation, person_id: int) -> str | None:
    """R-8: in which role ``person_id`` signs the agreement: the owner, or the contractor's
    head who joined by the owner's delegation; None for anyone else."""
    if person_id == ren.owner_id:
        return Role.OWNER.value
    if ren.contractor_id is not None and person_id == ren.contractor_id:
        return CONTRACTOR
    return None


def delegated(ren: Renovation, by_owner: bool) -> RenovationDecision:
    """R-8: the owner delegates the signature to the contractor's head (as the commitment
    letter allows): from their own account, while the agreement waits. The link itself is
    storage's (a one-time code, kept hashed)."""
    if not by_owner:
        raise Refusal("not_owner")
    if ren.status != Status.TERMS_ACCEPTED:
        raise Refusal("not_signable")
    return RenovationDecision(
        event="renovation.delegated",
        data={"to": "contractor head", "head": {"name": ren.form.head_name}},
        expect_status=Status.TERMS_ACCEPTED,
    )


def joined(ren: Renovation, person_id: int) -> RenovationDecision:
    """R-8: the contractor's head opened the owner's link: scoped to this renovation."""
    if ren.status != Status.TERMS_ACCEPTED:
        raise Refusal("not_signable")
    if person_id == ren.owner_id:
        raise Refusal("own_link")
    return RenovationDecision(
        event="renovation.contractor_joined",
        data={"person": person_id},
        expect_status=Status.TERMS_ACCEPTED,
        tell=[Tell(Resident(), "renovation.contractor_joined_owner")],
    )


def agreement_signed(ren: Renovation, role: str | None, hours: str) -> RenovationDecision:
    """R-8, R-9: the owner (or the delegated contractor's head) has read the agreement, the
    regulations with the prohibitions and the working and moving hours (``hours``, as they
    were shown: the signature's version), and signs them with the fire-safety
    responsibility agreement, by button: agreement signed. Customer service and the owner
    are told; the cashier's fees come next (R-10)."""
    if role is None:
        raise Refusal("not_signer")
    if ren.status != Status.TERMS_ACCEPTED:
        raise Refusal("not_signable")
    decision = RenovationDecision(
        move=Move.SIGN_AGREEMENT,
        expect_status=Status.TERMS_ACCEPTED,
        approval=Approval(RuleId.R8.value, role, True, version="agreement+fire_safety"),
        also=[Approval(RuleId.R9.value, role, True, version=hours)],
        data={"signer": role, "papers": list(PAPERS), "hours": hours},
        tell=[
            Tell(Department(CUSTOMER_SERVICE), "renovation.agreement_staff", style=Style.WITH_CARD),
            # the cashier computes and collects the fees
            Tell(
                Roles(frozenset({Role.CASHIER.value})),
                "renovation.to_cashier",
                style=Style.WITH_CARD,
                buttons="ren_fees",
            ),
        ],
    )
    decision.tell.insert(0, Tell(Resident(), "renovation.agreement_owner", style=Style.WITH_CARD))
    return decision


# --- fees (R-10) -------------------------------------------------------------------------------


class Fee(StrEnum):
    """A line of the published fee scale (装修押金、管理服务费、清运费、出入证)."""

    DEPOSIT = "deposit"  # refundable, kept in the deposit ledger
    MANAGEMENT = "management"  # per m² of the unit, or fixed (the estate's scale)
    DEBRIS = "debris"  # debris removal
    PASSES = "passes"  # per worker pass


#: The most workers one renovation registers passes for at once (a typo guard).
MAX_WORKERS = 50
#: The longest receipt number kept.
MAX_RECEIPT = 40


@dataclass(frozen=True)
class FeeLine:
    """One computed line: the item, its amount in fen, and what it was computed from (the
    rate, the area, the workers), as the cashier explains it."""

    item: Fee
    amount_fen: int
    basis: Mapping[str, object] = field(default_factory=dict)


def fee_lines(scale: RenovationSettings, area_m2: Decimal | None, workers: int) -> list[FeeLine]:
    """R-10: the amounts on this application by the estate's scale: the deposit; the
    management fee (fixed, or per m² of the unit's area, rounded to the fen); debris
    removal; a pass fee per worker. Refusal ``area_unknown`` when the fee is per m² and
    the roster has no area; ``workers_range`` outside 1..:data:`MAX_WORKERS`."""
    if not 1 <= workers <= MAX_WORKERS:
        raise Refusal("workers_range")
    if scale.management_fee_fixed is not None:
        management = FeeLine(Fee.MANAGEMENT, scale.management_fee_fixed, {"fixed": True})
    else:
        if area_m2 is None or area_m2 <= 0:
            raise Refusal("area_unknown")
        amount = (Decimal(scale.management_fee_per_m2) * area_m2).quantize(
            Decimal(1), rounding=ROUND_HALF_UP
        )
        management = FeeLine(
            Fee.MANAGEMENT,
            int(amount),
            {"rate_fen": scale.management_fee_per_m2, "area_m2": str(area_m2)},
        )
    return [
        FeeLine(Fee.DEPOSIT, scale.deposit),
        management,
        FeeLine(Fee.DEBRIS, scale.debris_removal),
        FeeLine(
            Fee.PASSES, scale.pass_fee * workers, {"rate_fen": scale.pass_fee, "workers": workers}
        ),
    ]


def total(lines: Sequence[FeeLine]) -> int:
    """The lines' sum in fen."""
    return sum(line.amount_fen for line in lines)


def clean_receipt(text: str) -> str | None:
    """A receipt number on one line (1..:data:`MAX_RECEIPT` characters), or None."""
    found = " ".join(unicodedata.normalize("NFKC", text).split())
    return found if 0 < len(found) <= MAX_RECEIPT else None


def fees_paid(
    ren: Renovation, lines: Sequence[FeeLine], receipt: str | None, by_cashier: bool
) -> RenovationDecision:
    """R-10: the cashier collected the computed lines, against a receipt number: fees paid;
    the deposit goes into the ledger (storage). The owner and customer service are told;
    the works permit comes next."""
    if not by_cashier:
        raise Refusal("not_cashier")
    if ren.status != Status.AGREEMENT_SIGNED:
        raise Refusal("not_payable")
    if receipt is None:
        raise Refusal("receipt_needed")
    paid = total(lines)
    return RenovationDecision(
        move=Move.PAY_FEES,
        expect_status=Status.AGREEMENT_SIGNED,
        data={
            "receipt": receipt,
            "lines": {line.item.value: line.amount_fen for line in lines},
            "total_fen": paid,
        },
        tell=[
            Tell(Resident(), "renovation.fees_owner", {"total": yuan(paid), "receipt": receipt}),
            Tell(
                Department(CUSTOMER_SERVICE),
                "renovation.fees_staff",
                {"total": yuan(paid), "receipt": receipt},
                style=Style.WITH_CARD,
                buttons="ren_permit",
            ),
        ],
    )


# --- the deposit ledger (R-10, R-16, R-21) -----------------------------------------------------


class Entry(StrEnum):
    """A line of the deposit ledger."""

    COLLECTED = "collected"  # the cashier collected the deposit
    PENALTY = "penalty"  # a penalty under the agreement, approved
    UTILITIES = "utilities"  # utilities owed
    DAMAGE = "damage"  # damage to common parts or neighbours
    REFUND = "refund"  # what was paid back
    ARREARS = "arrears"  # what a deduction asked beyond the balance: the owner owes it


#: The entries that take money out of the deposit.
DEDUCTIONS: frozenset[Entry] = frozenset(
    {Entry.PENALTY, Entry.UTILITIES, Entry.DAMAGE, Entry.REFUND}
)


@dataclass(frozen=True)
class LedgerEntry:
    """One line as kept (amounts positive, in fen; an arrears line names its deduction)."""

    kind: Entry
    amount_fen: int
    for_kind: Entry | None = None


@dataclass(frozen=True)
class Balance:
    """The deposit now: collected, deducted, held (never negative) and arrears owed."""

    collected_fen: int
    deducted_fen: int
    held_fen: int
    arrears_fen: int


def balance(entries: Sequence[LedgerEntry]) -> Balance:
    """The ledger's balance: what was collected less what was deducted; arrears apart."""
    collected = sum(e.amount_fen for e in entries if e.kind == Entry.COLLECTED)
    deducted = sum(e.amount_fen for e in entries if e.kind in DEDUCTIONS)
    arrears = sum(e.amount_fen for e in entries if e.kind == Entry.ARREARS)
    return Balance(collected, deducted, collected - deducted, arrears)


@dataclass(frozen=True)
class Posting:
    """What a deduction comes to: the lines to append, what it asked, what the deposit
    covered, and the excess recorded as arrears (``clamped``: the balance stopped at
    zero)."""

    entries: tuple[LedgerEntry, ...]
    asked_fen: int
    applied_fen: int
    excess_fen: int

    @property
    def clamped(self) -> bool:
        """Whether the deposit did not cover it: the balance is zero, the rest is owed."""
        return self.excess_fen > 0


def deduct(entries: Sequence[LedgerEntry], kind: Entry, amount_fen: int) -> Posting:
    """A penalty (R-16), utilities or damage (R-21) against the deposit: the deposit covers
    what it holds, the balance never goes negative, and the excess is recorded as arrears
    the owner owes. A refund pays back at most what is held (Refusal ``refund_exceeds``).
    Refusal ``amount`` for a non-positive amount or an entry that is no deduction."""
    if kind not in DEDUCTIONS or amount_fen <= 0:
        raise Refusal("amount")
    held = balance(entries).held_fen
    if kind == Entry.REFUND and amount_fen > held:
        raise Refusal("refund_exceeds")
    applied = min(amount_fen, held)
    excess = amount_fen - applied
    lines: list[LedgerEntry] = []
    if applied:
        lines.append(LedgerEntry(kind, applied))
    if excess:
        lines.append(LedgerEntry(Entry.ARREARS, excess, kind))
    return Posting(tuple(lines), amount_fen, applied, excess)


def collect(amount_fen: int) -> Posting:
    """R-10: the deposit collected."""
    if amount_fen <= 0:
        raise Refusal("amount")
    return Posting((LedgerEntry(Entry.COLLECTED, amount_fen),), amount_fen, amount_fen, 0)


# --- the works permit and worker passes (R-11, S-1) --------------------------------------------

#: States in which works go on, so workers may come in (S-1): permitted (the entry walk
#: and the works start), entry confirmed, active. Suspended works admit nobody.
WORKS_ALLOWED: frozenset[Status] = frozenset({S.PERMITTED, S.ENTRY_CONFIRMED, S.ACTIVE})
#: The alphabet of pass codes: no 0/O, 1/I/L to misread at the gate.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def permitted(ren: Renovation, may_issue: bool) -> RenovationDecision:
    """R-11: customer service issues the works permit (施工進場證) once the fees are paid:
    permitted. The owner gets the permit image to post outside the door (storage sends
    it) and registers the workers for their passes; customer service is told."""
    if not may_issue:
        raise Refusal("not_issuer")
    if ren.status != Status.FEES_PAID:
        raise Refusal("not_permittable")
    return RenovationDecision(
        move=Move.PERMIT,
        expect_status=Status.FEES_PAID,
        tell=[
            Tell(Resident(), "renovation.permit_owner", buttons="ren_workers"),
            Tell(
                Department(CUSTOMER_SERVICE),
                "renovation.permit_staff",
                style=Style.WITH_CARD,
                buttons="ren_works",  # then: confirm the works began (R-14's patrols)
            ),
        ],
    )


def clean_id_number(text: str) -> str | None:
    """A mainland resident ID number (18 characters, its check digit right), upper-case;
    None otherwise."""
    found = unicodedata.normalize("NFKC", text).strip().upper().replace(" ", "")
    if len(found) != 18 or not found[:17].isdigit():
        return None
    check = _ID_CHECK[sum(int(d) * w for d, w in zip(found[:17], _ID_WEIGHTS, strict=True)) % 11]
    return found if found[17] == check else None


def mask_id(id_number: str) -> str:
    """An ID number as cards show it: the first 3 and the last 4 characters."""
    if len(id_number) <= 7:
        return "*" * len(id_number)
    return id_number[:3] + "*" * (len(id_number) - 7) + id_number[-4:]


def clean_code(text: str) -> str | None:
    """A pass code as a guard types it (spaces, lower case, full-width): upper-case, or
    None when it cannot be one."""
    found = "".join(unicodedata.normalize("NFKC", text).split()).upper()
    return found if 4 <= len(found) <= 12 and found.isalnum() else None


def pass_period(ren: Renovation, today: date) -> tuple[date, date]:
    """A new pass is valid from today (or the works' first day, if later) to the works'
    last day."""
    return max(today, ren.form.period_from), ren.form.period_to


@dataclass(frozen=True)
class WorkerPass:
    """A worker's pass (裝修工人出入證) as the gate reads it; the ID number stays in the
    database, ``id_masked`` is what cards show."""

    id: int
    renovation_id: int
    code: str
    name: str
    id_masked: str
    phone: str
    valid_from: date
    valid_to: date
    revoked: bool = False
    photo: str | None = None  # the display copy's SHA-256


def check_pass(
    found: WorkerPass | None,
    status: Status | None,
    local: datetime,
    scale: RenovationSettings,
) -> str | None:
    """S-1: why a pass does not admit its worker now (a text key's last part), or None
    when it does: an unknown code, a revoked pass, a renovation whose works are not on
    (suspended, not permitted yet, finished), a date outside the pass, a time outside the
    estate's working hours. ``local`` is the estate's local time."""
    if found is None or status is None:
        return "unknown"
    if found.revoked:
        return "revoked"
    if status not in WORKS_ALLOWED:
        return "suspended" if status == Status.SUSPENDED else "not_active"
    if local.date() < found.valid_from:
        return "not_yet"
    if local.date() > found.valid_to:
        return "expired"
    if not scale.in_hours(local.time()):
        return "out_of_hours"
    return None


# --- daily patrols (R-14, R-18) -------------------------------------------------------------------

#: Security: the third department of the daily patrols.
SECURITY = "security"
#: R-14: the departments that patrol every active renovation every working day, each once.
PATROL_DEPARTMENTS: tuple[str, ...] = (CUSTOMER_SERVICE, ENGINEERING, SECURITY)
#: Who patrols for each department: the customer assistants, engineering, the guards.
PATROL_ROLES: Mapping[str, str] = {
    CUSTOMER_SERVICE: Role.CUSTOMER_ASSISTANT.value,
    ENGINEERING: Role.ENGINEERING.value,
    SECURITY: Role.SECURITY.value,
}
#: The subject kind of one department's daily patrol duty on one renovation (a row of
#: ``renovation_patrol_duties``): R-14's clock runs on it, one day at a time.
PATROL_DUTY = "renovation_patrol"
#: The longest line a patroller writes about a violation.
MAX_NOTE = 300


class PatrolResult(StrEnum):
    """What a patrol found."""

    OK = "ok"  # 一切正常
    MINOR = "minor"  # a minor violation, warned on the spot, with its photo
    SERIOUS = "serious"  # a serious one, a rectification notice (违章整改表)


def patrol_department(held: Set[str]) -> str | None:
    """R-14: the department someone patrols for, by the roles they hold in the estate (in
    :data:`PATROL_DEPARTMENTS`' order); None for anyone who patrols for none."""
    return next((d for d in PATROL_DEPARTMENTS if PATROL_ROLES[d] in held), None)


def duty_day(rules: EstateRules, now: datetime) -> date:
    """R-14: the working day a patrol at ``now`` counts for: today while the working day
    lasts; after its end, or on a non-working day (the works of a weekend are patrolled the
    next working day), the next working day."""
    calendar = rules.calendar
    return calendar.local(calendar.end_of_working_day(now)).date()


def works_begun(ren: Renovation, day: date) -> bool:
    """R-14: whether ``day`` is inside the works period (from its first day on). Before it
    every pass is refused and nothing is built: no patrol is due."""
    return day >= ren.form.period_from


def _not_before(rules: EstateRules, moment: datetime, starts: date | None) -> datetime:
    """``moment``, or the start of the works period's first day when that is later."""
    if starts is None:
        return moment
    return max(moment, rules.calendar.at(starts, time(0)).astimezone(UTC))


def duty_timer(rules: EstateRules, now: datetime, starts: date | None = None) -> Timer:
    """R-14's clock for the duty day of ``now``, or of the works period's first day
    (``starts``) when the works begin later (an entry inspection done days before): due at
    the end of that working day, the department warned before it (the rule's data)."""
    return timer(rules, RuleId.R14, _not_before(rules, now, starts))


def next_duty_timer(rules: EstateRules, due: datetime, starts: date | None = None) -> Timer:
    """R-14's clock for the working day after the one due at ``due`` (met or missed), not
    before the works period's first day (``starts``)."""
    return timer(rules, RuleId.R14, _not_before(rules, due + timedelta(seconds=1), starts))


def clean_note(text: str) -> str | None:
    """A patroller's line about a violation, on one line; None when empty or too long."""
    note = " ".join(unicodedata.normalize("NFKC", text).split())
    return note if 0 < len(note) <= MAX_NOTE else None


def patrolled(
    ren: Renovation,
    department: str | None,
    result: PatrolResult,
    day: date,
    note: str | None = None,
    photo: str | None = None,
) -> RenovationDecision:
    """R-14, R-18: a department's patrol of the day recorded (现场巡视签到 and 巡视记录):
    all in order, or a minor violation (R-15: the worker told on the spot to fix it) with
    its line and photo (the original's SHA-256, in the audit event). Only while the works
    are on and their period has begun; a minor violation needs its photo and its line."""
    if department is None:
        raise Refusal("not_patroller")
    if ren.status != Status.ACTIVE:
        raise Refusal("not_patrollable")
    if not works_begun(ren, day):
        raise Refusal("works_not_begun")
    data: dict[str, object] = {
        "department": department,
        "day": day.isoformat(),
        "result": result.value,
    }
    if result != PatrolResult.OK:
        if photo is None:
            raise Refusal("photo_needed")
        if note is None:
            raise Refusal("note_needed")
        data |= {"note": note, "photo": photo}
    return RenovationDecision(event="renovation.patrolled", data=data, expect_status=Status.ACTIVE)


def patrol_reaction(
    ren: Renovation,
    department: str,
    warning: bool,
    late: bool,
    rules: EstateRules,
    due: datetime,
) -> list[RenovationDecision]:
    """What R-14's warning or breach does for one department's patrol of the day (the
    rule's data): warn the department, then tell the project manager, each once, and the
    breach recorded. Works no longer on hear nothing."""
    rule = rules.rules.get(RuleId.R14.value)
    if rule is None or ren.status != Status.ACTIVE:
        return []
    params: dict[str, object] = {
        "rule": Title(rule.id),
        "department": Text(f"department.{department}"),
        "day": rules.calendar.local(due).date().isoformat(),
    }
    if warning:
        shown = rules.calendar.local(due).strftime("%H:%M")
        return [
            RenovationDecision(
                tell=[
                    Tell(
                        Department(department),
                        "renovation.patrol.r14_warning",
                        params | {"due": shown},
                        late=late,
                    )
                ]
            )
        ]
    return [
        RenovationDecision(
            event="renovation.patrol_missed",
            data={"rule": rule.id, "department": department, "day": params["day"], "late": late},
            tell=[
                Tell(
                    Targets(tuple(rule.escalate_to)),
                    "renovation.patrol.r14_breached",
                    params,
                    late=late,
                )
            ],
        )
    ]


# --- serious violations: the rectification notice (R-15, R-16) ---------------------------------

#: The largest penalty one notice may propose (a typo guard), in fen: ¥100,000.
MAX_PENALTY = 10_000_000


class NoticeState(StrEnum):
    """Where a rectification notice (违章整改表) is."""

    ISSUED = "issued"  # drafted at once with its photo and due date: the owner first
    OWNER_TOLD = "owner_told"  # the owner understood (by button, or a recorded call)
    CONTRACTOR_TOLD = "contractor_told"  # only then the contractor's head
    CLOSED = "closed"  # re-inspected: rectified


class PenaltyState(StrEnum):
    """A penalty proposed on a notice (R-16)."""

    PROPOSED = "proposed"  # written on the notice: the project manager decides
    APPROVED = "approved"  # approved and entered in the deposit ledger
    REFUSED = "refused"  # the project manager did not approve it


@dataclass(frozen=True)
class ViolationNotice:
    """A rectification notice as decisions read it."""

    id: int
    renovation_id: int
    state: NoticeState
    note: str
    due: date
    penalty_fen: int = 0
    penalty: PenaltyState | None = None


def parse_penalty(text: str) -> int | None:
    """A penalty typed in yuan (``500``, ``500.5``, ``0`` for none) in fen; None when it is
    no amount or above :data:`MAX_PENALTY`."""
    plain = unicodedata.normalize("NFKC", text).strip().removeprefix("¥").removesuffix("元")
    try:
        found = int(Decimal(plain.replace(",", "")) * 100)
    except (ArithmeticError, ValueError):  # not a number, NaN, infinity
        return None
    return found if 0 <= found <= MAX_PENALTY else None


def notice_issued(
    ren: Renovation,
    department: str | None,
    note: str,
    due: date,
    today: date,
    penalty_fen: int,
    photo: str,
    day: date | None = None,
) -> RenovationDecision:
    """R-15: a serious violation found on a patrol: the rectification notice (违章整改表)
    drafted at once, with its photo, its line and the date it must be rectified by (not
    before today); a penalty under the agreement may be written on it (R-16). The owner is
    told first and asked for their understanding; customer service gets the notice (the
    contractor's head is told only after the owner); the project manager decides the
    penalty."""
    if department is None:
        raise Refusal("not_patroller")
    if ren.status != Status.ACTIVE:
        raise Refusal("not_patrollable")
    if due < today:
        raise Refusal("due_past")
    if not 0 <= penalty_fen <= MAX_PENALTY:
        raise Refusal("amount")
    params = {"note": note, "due": due.isoformat(), "penalty": yuan(penalty_fen)}
    tell = [
        Tell(
            Resident(),
            "renovation.notice.owner" if penalty_fen else "renovation_walk.notice_owner_no_penalty",
            params,
            buttons="ren_notice_owner",
        ),
        Tell(
            Department(CUSTOMER_SERVICE),
            "renovation.notice.staff",
            params | {"department": Text(f"department.{department}")},
            buttons="ren_notice_staff",
        ),
    ]
    if penalty_fen:
        tell.append(
            Tell(
                Roles(frozenset({Role.PROJECT_MANAGER.value})),
                "renovation.notice.penalty_asked",
                params,
                buttons="ren_notice_pm",
            )
        )
    return RenovationDecision(
        event="renovation.notice_issued",
        data={
            "department": department,
            "note": note,
            "due": due.isoformat(),
            "penalty_fen": penalty_fen,
            "photo": photo,
            # the department's patrol of the day, too
            "day": (day or today).isoformat(),
            "result": PatrolResult.SERIOUS.value,
        },
        expect_status=Status.ACTIVE,
        tell=tell,
    )


def owner_understood(
    notice: ViolationNotice, how: str, by_owner: bool, by_staff: bool
) -> RenovationDecision:
    """R-15: the owner told and their understanding obtained: their own acknowledgement by
    button (``how="button"``, the owner only), or customer service recording the phone call
    (``how="call"``). Then the contractor's head may be told."""
    if how == "button" and not by_owner:
        raise Refusal("not_owner")
    if how == "call" and not by_staff:
        raise Refusal("not_issuer")
    if notice.state != NoticeState.ISSUED:
        raise Refusal("owner_told_already")
    return RenovationDecision(
        event="renovation.notice_owner_told",
        data={"notice": notice.id, "how": how},
        tell=[Tell(Department(CUSTOMER_SERVICE), "renovation.notice.owner_understood",
                   {"note": notice.note}, buttons="ren_notice_staff", button_arg=notice.id)],
    )  # fmt: skip


def contractor_told(notice: ViolationNotice, by_staff: bool) -> RenovationDecision:
    """R-15: customer service tells the contractor's head — refused until the owner has
    been told and understood (Refusal ``owner_first``). (The head hears it in the chat when
    they joined by the owner's link; else by phone, the number shown to customer service.)"""
    if not by_staff:
        raise Refusal("not_issuer")
    if notice.state == NoticeState.ISSUED:
        raise Refusal("owner_first")
    if notice.state != NoticeState.OWNER_TOLD:
        raise Refusal("contractor_told_already")
    return RenovationDecision(event="renovation.notice_contractor_told", data={"notice": notice.id})


def penalty_decided(
    notice: ViolationNotice, approved: bool, by_manager: bool
) -> RenovationDecision:
    """R-16: the project manager approves (or not) the penalty written on the notice; an
    approved one is entered in the deposit ledger (storage posts it) and customer service
    files it."""
    if not by_manager:
        raise Refusal("not_manager")
    if notice.penalty != PenaltyState.PROPOSED:
        raise Refusal("penalty_decided")
    key = "renovation.notice.penalty_approved" if approved else "renovation.notice.penalty_refused"
    return RenovationDecision(
        event="renovation.penalty_approved" if approved else "renovation.penalty_refused",
        data={"notice": notice.id, "penalty_fen": notice.penalty_fen},
        approval=Approval(
            RuleId.R16.value, Role.PROJECT_MANAGER.value, approved, version=f"notice:{notice.id}"
        ),
        tell=[
            Tell(
                Department(CUSTOMER_SERVICE),
                key,
                {"note": notice.note, "penalty": yuan(notice.penalty_fen)},
            ),
            Tell(  # the owner was told a penalty was proposed: they hear how it ended
                Resident(),
                f"renovation_walk.penalty_{'approved' if approved else 'refused'}_owner",
                {"note": notice.note, "penalty": yuan(notice.penalty_fen)},
            ),
        ],
    )


def reinspected(notice: ViolationNotice, by_staff: bool) -> RenovationDecision:
    """R-15: the re-inspection found it rectified: the notice is closed (after the
    contractor was told); the owner hears it."""
    if not by_staff:
        raise Refusal("not_issuer")
    if notice.state == NoticeState.CLOSED:
        raise Refusal("notice_closed")
    if notice.state != NoticeState.CONTRACTOR_TOLD:
        raise Refusal("owner_first" if notice.state == NoticeState.ISSUED else "contractor_first")
    return RenovationDecision(
        event="renovation.notice_closed",
        data={"notice": notice.id},
        tell=[Tell(Resident(), "renovation.notice.closed_owner", {"note": notice.note})],
    )
