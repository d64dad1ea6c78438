"""The manual's time limits as data: the table of rules ("Time limits at a glance").

Each timer the bot keeps is a :class:`Rule`: what starts its clock, when it is due, when
and whom to warn before, whom to tell when it passes and what else a breach does. The
defaults in :data:`DEFAULT_RULES` follow the table in PROCEDURES.md; an estate overrides
them field by field (:mod:`procedures.deadlines.estates`).

"At once" rows of the table (V-2, C-3, C-9 reports, C-5 five at once, the handover log and
the serious-violation notice) are immediate actions, not timers, and the deposit refund's
three months are an earliest date, not a deadline: none is here.
The C-5 "five at once" threshold and window are estate settings
(:class:`~procedures.deadlines.estates.EstateRules`).
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from procedures.deadlines.timing import Duration, _comparable, _parse_duration
from procedures.rule_ids import RuleId

#: What starts a rule's clock.
Clock = Literal[
    "accepted",  # a request or complaint is accepted (受理)
    "recorded",  # an item is recorded
    "received",  # a customer's chat message arrives (V-1)
    "referred",  # the case reaches the department that handles it (Q-1, C-9)
    "classified",  # a complaint's nature is decided, or it is made major (C-4..C-7, C-5)
    "completed",  # the work on a case is done (C-14, B-1 callbacks)
    "fixed",  # a next reply time is fixed with the customer (C-1)
    "feedback",  # the department's feedback reaches the assistant (C-11)
    "approved",  # the manager approves the result (C-13)
    "application_complete",  # a renovation application is complete
    "works_day",  # each day of active renovation works
]
#: The moments a case is filed: a chat message is received, recorded and accepted at once.
ACCEPTANCE: frozenset[str] = frozenset({"accepted", "recorded", "received"})
#: The clocks an estate may give each rule. A rule comes into force at a fixed point of a
#: case (Q-4 when a request is filed, C-12 important when a complaint is classified, C-14
#: when the work is done) and stops at one (the answer); its clock can only start at an
#: event that can happen in between, or the rule would never run. A clock that has not
#: started yet when the rule comes into force waits for its event (a Q-4 counted from
#: the referral waits for the referral).
CLOCK_CHOICES: dict[str, frozenset[str]] = {
    RuleId.V1_FIRST_RESPONSE: ACCEPTANCE,
    RuleId.Q1: ACCEPTANCE,
    RuleId.Q4: ACCEPTANCE | {"referred", "fixed"},
    RuleId.C1_NEXT_REPLY: frozenset({"fixed"}),
    RuleId.C4: ACCEPTANCE,
    RuleId.C11_OPINION: ACCEPTANCE | {"referred", "classified"},
    RuleId.C11_SAME_DAY: frozenset({"feedback"}),
    RuleId.C13_SAME_DAY: frozenset({"approved"}),
    RuleId.C12_IMPORTANT: ACCEPTANCE | {"referred", "classified"},
    RuleId.C12_MAJOR_ANSWER: ACCEPTANCE | {"referred", "classified"},
    RuleId.C12_MAJOR_RESOLVE: ACCEPTANCE | {"referred", "classified"},
    RuleId.C5_WEEK: ACCEPTANCE | {"referred", "classified"},
    RuleId.C14: frozenset({"completed"}),
    RuleId.B1: frozenset({"completed"}),
    RuleId.R4: frozenset({"application_complete"}),
    RuleId.R14: frozenset({"works_day"}),
}
#: Deadlines that are not a fixed duration after the clock starts.
DueKind = Literal["end_of_working_day", "end_of_day", "promised"]
#: What a breach does besides telling ``escalate_to``.
OnBreach = Literal["escalate", "make_major", "callback_task"]
_DUE_KINDS: frozenset[str] = frozenset({"end_of_working_day", "end_of_day", "promised"})

#: Roles and groups a rule can warn or escalate to. "cc_manager" is accepted as another
#: name of "cc_supervisor": PROCEDURES.md's roles table makes the customer-centre
#: supervisor and manager (客戶中心主管 / 經理) one role.
ROLES: frozenset[str] = frozenset(
    {
        "first_responder",  # 首問責任人, the assistant who took the case
        "customer_assistant",  # 客戶助理
        "department_group",  # the responsible department's group chat
        "department_head",  # head of the responsible department
        "approvers",  # customer-department head and engineering head
        "patrol_department",  # the department whose patrol it is
        "cc_supervisor",  # 客戶中心主管 (經理)
        "project_supervisor",  # 項目主管
        "project_manager",  # 項目經理
        "mgmt_manager",  # 管理部經理
        "leadership",  # 公司領導
    }
)
_ROLE_ALIASES = {"cc_manager": "cc_supervisor"}


#: When a rule is due: a duration after its clock starts, or one of :data:`DueKind`.
Due = Duration | DueKind


class Rule(BaseModel):
    """One time limit: clock, due time, warning, escalation and breach effect.

    ``due = "promised"`` takes the time promised to the customer (C-1); a rule with
    ``promise_overrides`` (Q-4) is due at the promised time when one was given, else
    after ``due``. ``extension_by`` names the role whose approval alone may extend the
    deadline (C-12 important: the management-department manager).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    title_key: str = Field(min_length=1)
    clock: Clock
    due: Due
    warn_before: Duration | None = None
    warn_to: str | None = None
    escalate_to: tuple[str, ...] = ()
    on_breach: OnBreach = "escalate"
    working_days: bool = False
    promise_overrides: bool = False
    extension_by: str | None = None

    @field_validator("due", mode="before")
    @classmethod
    def _parse_due(cls, value: object) -> object:
        """Turn ``"24h"`` into a :class:`Duration`; keep the named kinds as they are."""
        if isinstance(value, str) and value.strip() not in _DUE_KINDS:
            return _parse_duration(value)
        if isinstance(value, str):
            return value.strip()
        if isinstance(value, int | float):
            raise ValueError(
                f"write the duration as text with a unit, e.g. '{value}h' or '{value}d', "
                f"not the bare number {value}"
            )
        return value

    @field_validator("warn_before", mode="before")
    @classmethod
    def _parse_warn_before(cls, value: object) -> object:
        """Read ``"none"``, ``""`` or ``false`` as no warning (TOML has no null)."""
        if value is False or (isinstance(value, str) and value.strip().lower() in ("", "none")):
            return None
        return value

    @field_validator("warn_to", "extension_by", mode="before")
    @classmethod
    def _check_role(cls, value: object) -> object:
        """Accept a known role (or ``"none"`` for nobody); see :data:`ROLES`."""
        if value is False or (isinstance(value, str) and value.strip().lower() in ("", "none")):
            return None
        if isinstance(value, str):
            return _role(value)
        return value

    @field_validator("escalate_to", mode="before")
    @classmethod
    def _check_roles(cls, value: object) -> object:
        """Accept one role or a list of known roles; see :data:`ROLES`."""
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list | tuple):
            return tuple(_role(v) if isinstance(v, str) else v for v in value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        """Reject a rule that escalates to nobody or warns no earlier than it is due."""
        if self.on_breach == "escalate" and not self.escalate_to:
            raise ValueError("on_breach 'escalate' needs at least one role in escalate_to")
        if self.warn_before is not None and self.warn_to is None:
            raise ValueError("warn_before is set but warn_to names nobody to warn")
        due, warn = self.due, self.warn_before
        if (
            isinstance(due, Duration)
            and warn is not None
            and (due.unit == "wd") == (warn.unit == "wd")
            and _comparable(warn) >= _comparable(due)
        ):
            raise ValueError(
                f"warn_before ({warn}) must be shorter than due ({due}), "
                f"or the warning would come with the deadline"
            )
        return self


def _role(name: str) -> str:
    """Return the canonical name of role ``name``; raise ``ValueError`` if unknown."""
    key = _ROLE_ALIASES.get(name.strip(), name.strip())
    if key not in ROLES:
        raise ValueError(f"unknown role {name!r}; known roles: {', '.join(sorted(ROLES))}")
    return key


def _rule(**fields: Any) -> Rule:
    """Build a default rule from readable values (durations as text)."""
    return Rule.model_validate(fields)


#: The "Time limits at a glance" table of PROCEDURES.md. Warnings marked (default) are
#: this project's choice: the table names whom to warn, not when.
DEFAULT_RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        # V-1: first response in chat, "a few minutes in working hours" → 5 working
        # minutes (default); the table has no warning.
        _rule(
            id=RuleId.V1_FIRST_RESPONSE,
            title_key="deadline.v1_first_response",
            clock="received",
            due="5m",
            working_days=True,
            escalate_to=["cc_supervisor"],
        ),
        # Q-1, C-9: referral to the right department within 10 minutes (seed). Warn the
        # first responder 2 minutes before (default).
        _rule(
            id=RuleId.Q1,
            title_key="deadline.q1_referral",
            clock="accepted",
            due="10m",
            warn_before="2m",
            warn_to="first_responder",
            escalate_to=["cc_supervisor"],
        ),
        # handled and answered within 1 day of acceptance (seed), read as 24 hours
        # (default), or by the time promised to the customer. Warn the department's group
        # 2 hours before (default). The table's "customer-centre manager" is the
        # cc_supervisor role.
        _rule(
            id=RuleId.Q4,
            title_key="deadline.q4_handled",
            clock="accepted",
            due="24h",
            promise_overrides=True,
            warn_before="2h",
            warn_to="department_group",
            escalate_to=["cc_supervisor"],
        ),
        # C-1: the next reply time fixed with the customer (seed). Warn the first
        # responder 1 hour before (default).
        _rule(
            id=RuleId.C1_NEXT_REPLY,
            title_key="deadline.c1_next_reply",
            clock="fixed",
            due="promised",
            warn_before="1h",
            warn_to="first_responder",
            escalate_to=["cc_supervisor"],
        ),
        # C-4: the project supervisor decides the complaint's nature within 2 working hours
        # of acceptance (default: the seed has no limit); the referral (Q-1, C-9) never
        # waits for it. Warn the supervisor 30 minutes before (default).
        _rule(
            id=RuleId.C4,
            title_key="deadline.c4_classification",
            clock="accepted",
            due="2h",
            working_days=True,
            warn_before="30m",
            warn_to="project_supervisor",
            escalate_to=["project_manager"],
        ),
        # C-11: the customer-centre supervisor writes the handling opinion (the department's
        # instructions) within 2 working hours of the classification (default); the
        # department may start before it. The table escalates to the customer-centre
        # manager, who is the cc_supervisor role here: the project manager hears it too, so
        # that a miss reaches someone besides the people who were warned.
        _rule(
            id=RuleId.C11_OPINION,
            title_key="deadline.c11_opinion",
            clock="classified",
            due="2h",
            working_days=True,
            warn_before="30m",
            warn_to="cc_supervisor",
            escalate_to=["cc_supervisor", "project_manager"],
        ),
        # C-11: the customer is answered the same day as the department's feedback
        # (seed: 当天 → 23:59:59 local). Warn the assistant 2 hours before (default).
        _rule(
            id=RuleId.C11_SAME_DAY,
            title_key="deadline.c11_same_day",
            clock="feedback",
            due="end_of_day",
            warn_before="2h",
            warn_to="customer_assistant",
            escalate_to=["cc_supervisor"],
        ),
        # C-13: the reply goes out the same day the manager approves it (seed).
        _rule(
            id=RuleId.C13_SAME_DAY,
            title_key="deadline.c13_same_day",
            clock="approved",
            due="end_of_day",
            warn_before="2h",
            warn_to="customer_assistant",
            escalate_to=["cc_supervisor"],
        ),
        # C-12 important: handled within 1 day (seed) of acceptance (default); running
        # over needs the management-department manager's approval. Warn the department
        # head 2 hours before (default).
        _rule(
            id=RuleId.C12_IMPORTANT,
            title_key="deadline.c12_important",
            clock="accepted",
            due="1d",
            warn_before="2h",
            warn_to="department_head",
            escalate_to=["mgmt_manager"],
            extension_by="mgmt_manager",
        ),
        # C-12 major: a clear answer within 2 days (seed). Warn 4 hours before (default).
        _rule(
            id=RuleId.C12_MAJOR_ANSWER,
            title_key="deadline.c12_major_answer",
            clock="accepted",
            due="2d",
            warn_before="4h",
            warn_to="department_head",
            escalate_to=["leadership"],
        ),
        # C-12 major: resolved within 15 days (seed). Warn 1 day before (default).
        _rule(
            id=RuleId.C12_MAJOR_RESOLVE,
            title_key="deadline.c12_major_resolve",
            clock="accepted",
            due="15d",
            warn_before="1d",
            warn_to="department_head",
            escalate_to=["leadership"],
        ),
        # C-5: a valid complaint not resolved within a week (seed) of acceptance
        # (default) becomes major; becoming major starts the C-3 / C-9 reports itself.
        _rule(
            id=RuleId.C5_WEEK,
            title_key="deadline.c5_week",
            clock="accepted",
            due="7d",
            on_breach="make_major",
        ),
        # C-14: every complaint called back within 1 day of completion (seed); a miss
        # counts against the 100 % callback rate. Warn the assistant 2 hours before
        # (default); on breach the assistant gets an overdue callback task and the
        # supervisor is told.
        _rule(
            id=RuleId.C14,
            title_key="deadline.c14_callback",
            clock="completed",
            due="1d",
            warn_before="2h",
            warn_to="customer_assistant",
            escalate_to=["cc_supervisor"],
            on_breach="callback_task",
        ),
        # B-1: other callbacks within 3 days of completion (default: the seed has no
        # limit). Warn the assistant 6 hours before (default).
        _rule(
            id=RuleId.B1,
            title_key="deadline.b1_callback",
            clock="completed",
            due="3d",
            warn_before="6h",
            warn_to="customer_assistant",
            escalate_to=["cc_supervisor"],
            on_breach="callback_task",
        ),
        # renovation decision within 1 working day (seed) of the complete application
        # (default), holidays out and 调休 in (default). Warn the approvers 2 working
        # hours before (default).
        _rule(
            id=RuleId.R4,
            title_key="deadline.r4_renovation_decision",
            clock="application_complete",
            due="1wd",
            working_days=True,
            warn_before="2h",
            warn_to="approvers",
            escalate_to=["project_manager"],
        ),
        # each department's patrol of each active renovation, every day (seed), by
        # the end of the working day (default). Warn the department 1 working hour
        # before (default).
        _rule(
            id=RuleId.R14,
            title_key="deadline.r14_daily_patrol",
            clock="works_day",
            due="end_of_working_day",
            working_days=True,
            warn_before="1h",
            warn_to="patrol_department",
            escalate_to=["project_manager"],
        ),
    )
}
