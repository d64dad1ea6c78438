"""Cases: requests, complaints, callbacks and visits as state machines (P5–P9).

A case moves only by the actions below; anything else is refused with
:class:`InvalidTransition`, so a stale button can never move a case backwards or twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from procedures.identity import Department


class Kind(StrEnum):
    """What a case is."""

    REQUEST = "request"  # 客戶需求、建議 (Q-)
    COMPLAINT = "complaint"  # 投訴 (C-)
    CALLBACK = "callback"  # 回訪 (B-)
    VISIT = "visit"  # 客戶訪問


#: Case number prefixes: TS-20261127-0003 is the third complaint of that day in the estate.
PREFIX = {Kind.REQUEST: "XQ", Kind.COMPLAINT: "TS", Kind.CALLBACK: "HF", Kind.VISIT: "FW"}


class Status(StrEnum):
    """Where a case is."""

    NEW = "new"  # filed; the first responder has not acted yet (Q-1/C-9: 10 minutes)
    REFERRED = "referred"  # sent to a department group; nobody has taken it yet
    IN_PROGRESS = "in_progress"  # a member of the department took it
    REVIEW = "review"  # a complaint handled by the department: opinion and approval (C-11, C-13)
    DONE = "done"  # handled, the resident told; waiting for the callback (B-1/C-14)
    CLOSED = "closed"  # called back (or confirmed); finished


class Action(StrEnum):
    """What people do to a case."""

    RESOLVE = "resolve"  # answered on the spot by the first responder
    REFER = "refer"  # to the department that handles it (Q-1, C-9)
    ESCALATE = "escalate"  # major, urgent or sudden: to the superior at once (V-2, Q-1, C-3)
    TAKE = "take"  # a department member takes it
    DONE = "done"  # handled (Q-4: this, not a first reply, stops the clock)
    REOPEN = "reopen"  # the resident is not satisfied: back to the department (C-2, B-3)
    RETURN = "return"  # the same, for a case no department had: back to the first responder
    CLOSE = "close"  # called back, and the resident is satisfied (B-1..B-4, C-14)
    FEEDBACK = "feedback"  # C-11: the department handled a complaint and reports back
    OPINION = "opinion"  # C-11: the customer-centre supervisor's instructions to the department
    DRAFT = "draft"  # C-11: the assistant drafts the reply from the department's feedback
    APPROVE = "approve"  # C-13: the manager approves the reply; it goes to the resident
    REJECT = "reject"  # C-13: the manager sends the draft back to be rewritten
    DELIVER = "deliver"  # V-5, C-13: the assistant phoned the approved reply to a caller
    ANSWER = "answer"  # C-12: a major complaint's clear answer (what, by when), no approval
    UPDATE = "update"  # progress posted by the department (text or photo); no state change
    PROMISE = "promise"  # Q-4, C-1: a time promised to the resident
    CLASSIFY = "classify"  # C-4: the project supervisor decides a complaint's nature
    INVALIDATE = "invalidate"  # C-4: an invalid complaint, explained politely; done


#: (from, action) → to. Escalating keeps the case where it is (it adds people, not a state).
TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (Status.NEW, Action.RESOLVE): Status.DONE,
    (Status.NEW, Action.REFER): Status.REFERRED,
    (Status.NEW, Action.ESCALATE): Status.NEW,
    (Status.REFERRED, Action.REFER): Status.REFERRED,
    (Status.REFERRED, Action.ESCALATE): Status.REFERRED,
    (Status.REFERRED, Action.TAKE): Status.IN_PROGRESS,
    (Status.REFERRED, Action.DONE): Status.DONE,
    (Status.IN_PROGRESS, Action.TAKE): Status.IN_PROGRESS,
    (Status.IN_PROGRESS, Action.ESCALATE): Status.IN_PROGRESS,
    (Status.IN_PROGRESS, Action.DONE): Status.DONE,
    (Status.REFERRED, Action.FEEDBACK): Status.REVIEW,
    (Status.IN_PROGRESS, Action.FEEDBACK): Status.REVIEW,
    **{(s, Action.OPINION): s for s in (Status.NEW, Status.REFERRED, Status.IN_PROGRESS)},
    **{
        (s, Action.ANSWER): s
        for s in (Status.NEW, Status.REFERRED, Status.IN_PROGRESS, Status.REVIEW)
    },
    (Status.REVIEW, Action.DRAFT): Status.REVIEW,
    (Status.REVIEW, Action.REJECT): Status.REVIEW,
    (Status.REVIEW, Action.APPROVE): Status.DONE,
    (Status.REVIEW, Action.DELIVER): Status.DONE,
    (Status.REVIEW, Action.CLASSIFY): Status.REVIEW,
    (Status.REVIEW, Action.INVALIDATE): Status.DONE,
    **{
        (s, Action.UPDATE): s
        for s in (Status.NEW, Status.REFERRED, Status.IN_PROGRESS, Status.REVIEW)
    },
    **{(s, Action.PROMISE): s for s in (Status.NEW, Status.REFERRED, Status.IN_PROGRESS)},
    (Status.DONE, Action.REOPEN): Status.REFERRED,
    (Status.DONE, Action.RETURN): Status.NEW,
    (Status.DONE, Action.CLOSE): Status.CLOSED,
    (Status.NEW, Action.CLASSIFY): Status.NEW,
    (Status.REFERRED, Action.CLASSIFY): Status.REFERRED,
    (Status.IN_PROGRESS, Action.CLASSIFY): Status.IN_PROGRESS,
    (Status.NEW, Action.INVALIDATE): Status.DONE,
    (Status.REFERRED, Action.INVALIDATE): Status.DONE,
    (Status.IN_PROGRESS, Action.INVALIDATE): Status.DONE,
}


class Severity(StrEnum):
    """C-4..C-7: the nature of a complaint, decided by the project supervisor."""

    INVALID = "invalid"
    MINOR = "minor"  # C-7
    IMPORTANT = "important"  # C-6
    MAJOR = "major"  # C-5


#: Why a complaint is invalid (C-4): each has a polite explanation for the resident.
INVALID_REASONS = ("outside_service", "misunderstanding", "duplicate")

#: B-3: a satisfaction score at or below this reopens the case.
UNSATISFIED_AT_MOST = 2

OPEN_STATUSES = frozenset({Status.NEW, Status.REFERRED, Status.IN_PROGRESS, Status.REVIEW})


class InvalidTransition(ValueError):
    """The action does not apply to the case as it is now."""


def next_status(status: str, action: Action) -> Status:
    """The status after ``action``, or :class:`InvalidTransition`."""
    try:
        return TRANSITIONS[(Status(status), action)]
    except (KeyError, ValueError):
        raise InvalidTransition(f"{action} is not possible when a case is {status}") from None


#: The categories residents choose from (an estate may narrow them later), with the
#: department that handles each by default.
CATEGORIES: dict[str, Department] = {
    "repairs": Department.ENGINEERING,  # 报修
    "cleaning": Department.CUSTOMER_SERVICE,  # 保洁
    "security": Department.SECURITY,  # 安全
    "noise": Department.SECURITY,  # 噪音
    "parking": Department.SECURITY,  # 停车
    "fees": Department.FINANCE,  # 收费
    "greening": Department.CUSTOMER_SERVICE,  # 绿化
    "other": Department.CUSTOMER_SERVICE,  # 其他
}

#: Departments a case may be referred to (every one but leadership).
REFERRABLE = tuple(d for d in Department if d is not Department.LEADERSHIP)

#: Longest description kept (Telegram allows 4096 characters a message; cards repeat it).
MAX_DESCRIPTION = 1500
#: Photos one case may carry.
MAX_PHOTOS = 10


def case_number(kind: Kind, day: date, sequence: int) -> str:
    """``TS-20261127-0003``: prefix, the estate's local date, the day's sequence."""
    return f"{PREFIX[kind]}-{day:%Y%m%d}-{sequence:04d}"


def clean_description(text: str) -> str:
    """What the resident wrote, trimmed to what a card can carry (line breaks kept)."""
    return text.strip()[:MAX_DESCRIPTION]


@dataclass(frozen=True)
class Case:
    """A case as recorded (storage reads and writes it; procedures decide on it)."""

    id: int
    number: str
    estate_id: int
    kind: str
    category: str | None
    unit_id: int | None
    resident_id: int | None
    description: str
    urgent: bool
    status: str
    severity: str | None
    department: str | None
    assignee_id: int | None
    promised_at: datetime | None
    accepted_at: datetime
    channel: str
    caller_name: str | None
    caller_phone: str | None
    opinion: str | None = None
    opinion_by: int | None = None
    event_key: str | None = None
    unit_label: str | None = None
    feedback: str | None = None  # C-11: what the department reported back
    reply_draft: str | None = None  # C-11: the assistant's draft of the reply (C-13 approves)
    reply_by: int | None = None
    approved_by: int | None = None  # C-13: who approved the reply
    answered_at: datetime | None = None  # C-12: a major complaint's clear answer, when
    answer: str | None = None  # … and what it said (what will be done, by when)
    satisfaction: int | None = None  # B-3: the resident's latest score, 1–5
    called_back_at: datetime | None = None  # B-4: when the latest callback was recorded
    renovation: str | None = None  # the number of the unit's works it was filed during

    def event_key_or_number(self) -> str:
        """The event this complaint is counted under (C-5): its own number when unlinked."""
        return self.event_key or self.number
