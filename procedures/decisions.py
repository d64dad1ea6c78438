"""A decision: what one step of the manual does, as data.

Procedures return a :class:`Decision`; storage applies it in one transaction (the record's
change, its audit event, the clocks started and stopped, the outbox rows) and handlers
render each :class:`Tell` in its reader's language (``handlers.notify``). Nothing here
touches a database, Telegram or the clock: the tests in ``tests/procedures`` read a
decision's content directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from procedures.cases import Action, Case
from procedures.clocks import Dues, History, Timer, clocked
from procedures.deadlines import EstateRules


class Style(StrEnum):
    """How a notice is laid out around its text."""

    PLAIN = "plain"  # the text alone
    WITH_CARD = "with_card"  # the text, a blank line, the record's summary card
    CARD = "card"  # a headline, then the card with the resident's name and phone (staff)
    REVIEW = "review"  # a headline, then that card with the handling opinion (C-11, C-13)


@dataclass(frozen=True)
class Resident:
    """The record's resident, privately (nobody for a caller without the bot, V-5)."""


@dataclass(frozen=True)
class Department:
    """A department's group; without a group, its members (and admins) privately."""

    name: str


@dataclass(frozen=True)
class Roles:
    """Everyone holding one of these roles in the estate, privately."""

    roles: frozenset[str]


@dataclass(frozen=True)
class Targets:
    """Whom a rule names (``warn_to``, ``escalate_to``, ``major_tell``): see
    :func:`procedures.reactions.route`; each chat once."""

    names: tuple[str, ...]


@dataclass(frozen=True)
class Approvers:
    """C-13: who approves a handling opinion (never its writer)."""

    writer_id: int | None


@dataclass(frozen=True)
class Assistant:
    """B-2: the customer assistant responsible for the record (who first handled it on
    customer service's card, else any customer assistant of the estate), privately;
    customer service's group when the estate has none.

    As a parameter of a text: how the resident is told who asks ("客户助理 张三", or
    customer service when there is no assistant)."""


Audience = Resident | Department | Roles | Targets | Approvers | Assistant


@dataclass(frozen=True)
class Text:
    """A parameter that is itself a text, put in each reader's language (``fallback``
    when there is no such text)."""

    key: str
    fallback: str | None = None


@dataclass(frozen=True)
class Contact:
    """A parameter that is the record's resident (or caller) with their full phone number,
    for the assistant who phones them (B-2): "王伟 +8613900000001"."""


@dataclass(frozen=True)
class Limit:
    """A parameter that is the estate's limit for a rule (``Limit("Q-1")``: "10 分钟"),
    as its readers say it: a text never hard-codes a limit the estate can change."""

    rule: str


@dataclass(frozen=True)
class Title:
    """A parameter that is a rule's title with the estate's limit in it ("10 分钟内转交";
    the rule's id when it has no title)."""

    rule: str


@dataclass(frozen=True)
class Tell:
    """Who hears of a step: the audience, the text key and its parameters, the layout, the
    buttons (a keyboard's name, with an argument such as the clock a button extends), a
    photo (Telegram's id) or display copies of kept photos (``album``, their SHA-256s),
    whether the record's photos go with it (``photos``: an album before the card, for
    whoever must act on it), the "late" note, and a person left out (the one who did it)."""

    to: Audience
    key: str
    params: Mapping[str, object] = field(default_factory=dict)
    style: Style = Style.PLAIN
    buttons: str | None = None
    button_arg: int | None = None
    photo: str | None = None
    album: tuple[str, ...] = ()
    photos: bool = False
    late: bool = False
    besides: int | None = None


@dataclass(frozen=True)
class Arm:
    """Start the subject's timers that wait for ``event`` (it happens at ``at``), except
    the rules in ``besides``, which the decision starts itself."""

    event: str
    at: datetime
    besides: tuple[str, ...] = ()


@dataclass(frozen=True)
class Evidence:
    """A photo kept with the record: its Telegram file id, its original's hash when kept
    (then attached as evidence), its display copy's when made, who."""

    file_id: str
    sha256: str | None = None
    added_by: int | None = None
    display_sha256: str | None = None


@dataclass(frozen=True)
class Approval:
    """A signature on a step (C-13's reply, C-12's extension; R-4's heads later): which
    rule, in which role, approved or refused, for which version of what was shown."""

    step: str
    role: str
    approved: bool
    version: str | None = None
    comment: str | None = None


@dataclass
class Decision:
    """What a step does.

    * ``action`` moves the record (checked against the state machine inside storage's
      transaction; a record no longer where ``expect_status`` says is left alone: a stale
      button or a double tap changes nothing); ``event`` is an audit event with no move;
    * ``changes`` are the record's fields, ``note`` and ``data`` go into the audit event;
    * ``expect_version``: the handling opinion must still be the one the button showed;
    * clocks: ``start`` timers, ``stop`` rules (met), ``missed`` rules (stopped unmet),
      ``arm`` waiting timers;
    * ``tell`` whom, ``evidence`` photos;
    * ``follow``: moves taken at once after this one, in the same transaction, each audited
      (a visit recorded already closed, A-1);
    * ``approval``: the signature this step is, kept with the record (who, role, decision,
      version).
    """

    action: Action | None = None
    event: str | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    note: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    expect_status: str | None = None
    expect_version: str | None = None
    start: list[Timer] = field(default_factory=list)
    stop: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    arm: list[Arm] = field(default_factory=list)
    tell: list[Tell] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    follow: list[tuple[Action, dict[str, Any]]] = field(default_factory=list)
    approval: Approval | None = None

    @property
    def started(self) -> list[str]:
        """The rules of the timers started (waiting ones included)."""
        return [t.rule for t in self.start]


@dataclass(frozen=True)
class By:
    """Who takes a step (their person id and the name others are shown)."""

    id: int
    name: str


@dataclass(frozen=True)
class Facts:
    """What a decision reads besides the record: the estate's rules, the time now, when
    each clock event happened to the record (its audit trail), and when each of its clocks
    in force is due (``due``: running, or run out unmet; see
    :func:`procedures.clocks.in_force`)."""

    rules: EstateRules
    now: datetime
    history: History = field(default_factory=dict)
    due: Dues = field(default_factory=dict)

    def clocked(self, case: Case, rule: str, at: datetime | None = None, **options: Any) -> Timer:
        """:func:`procedures.clocks.clocked` for ``case`` (``at``: now by default)."""
        return clocked(
            self.rules,
            rule,
            self.now if at is None else at,
            accepted_at=case.accepted_at,
            history=self.history,
            **options,
        )
