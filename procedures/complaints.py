"""Complaints (P7, C-1..C-15): nature and severity (C-4..C-7), one event with many
complainants (C-5), the superiors told (C-3, C-9), the C-12 clocks and their extension,
and the review before the reply (C-11 feedback and opinion, C-13 approval).

Pure decisions: the case, the facts and who acts go in, a Decision comes out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from procedures import callbacks
from procedures.cases import OPEN_STATUSES, Action, Case, Severity, Status
from procedures.clocks import WORK_CLOCKS, History, Timer, major_clocks
from procedures.deadlines import EstateRules
from procedures.decisions import (
    Approval,
    Approvers,
    Arm,
    By,
    Decision,
    Department,
    Facts,
    Limit,
    Resident,
    Roles,
    Style,
    Targets,
    Tell,
    Text,
)
from procedures.identity import Department as Dept
from procedures.identity import Role
from procedures.rule_ids import RuleId

CUSTOMER_SERVICE = Dept.CUSTOMER_SERVICE.value


def classify(case: Case, severity: str, by: By, facts: Facts) -> Decision:
    """C-4..C-7: a valid complaint's severity. An important one gets C-12's day (unless the
    department already handled it) and goes to the superior and the manager who may extend
    it (C-9); a major one gets C-12's answer and resolution clocks and is told to whom the
    estate names (C-3, C-9). Clocks an estate counts from the classification start now."""
    now = facts.now
    happening = {"classified": now}
    decision = Decision(
        action=Action.CLASSIFY,
        changes={"severity": severity},
        expect_status=case.status,
        arm=[Arm("classified", now)],
    )
    start = case.accepted_at  # C-12: counted from acceptance (default)
    if severity == Severity.IMPORTANT and case.status != Status.REVIEW:
        # (in review the department has already handled it: C-12's day is over)
        decision.start.append(facts.clocked(case, RuleId.C12_IMPORTANT, start, happening=happening))
    if severity == Severity.MAJOR:
        decision.start += major_clocks(case, facts, made_major_at=now)
    said = {"severity": Text(f"severity.{severity}"), "name": by.name}
    if severity == Severity.IMPORTANT:  # C-9: the superior, and who approves overruns
        roles = frozenset({Role.CC_SUPERVISOR.value, Role.MGMT_MANAGER.value})
        decision.tell.append(Tell(Roles(roles), "complaint.reported", said, style=Style.WITH_CARD))
    elif severity == Severity.MAJOR:
        decision.tell.append(major_tell(facts.rules, "complaint.reported", said, besides=by.id))
    return decision


def invalidate(case: Case, reason: str, facts: Facts) -> Decision:
    """C-4: an invalid complaint is still explained politely to the resident; done, and the
    callback (C-14) follows as for any complaint."""
    return Decision(
        action=Action.INVALIDATE,
        changes={"severity": Severity.INVALID.value, "invalid_reason": reason},
        expect_status=case.status,
        stop=list(WORK_CLOCKS),
        tell=[
            Tell(
                Resident(),
                "complaint.invalid_for_resident",
                {"reason": Text(f"complaint.invalid_explained.{reason}")},
            ),
            *callbacks.question(case),
        ],
        start=[facts.clocked(case, RuleId.C14, events={"completed"})],
    )


def major_tell(
    rules: EstateRules, key: str, params: Mapping[str, object], *, besides: int | None = None
) -> Tell:
    """C-3, C-9: a complaint became major, however it happened (classified, five
    complainants of one event, a week unresolved): whom the estate's ``major_tell`` names
    hear it, each once (``besides``: the person who did it)."""
    return Tell(
        Targets(tuple(rules.major_tell)), key, params, style=Style.WITH_CARD, besides=besides
    )


def made_major(case: Case, rule: str, data: Mapping[str, Any], facts: Facts) -> Decision | None:
    """C-5: a complaint becomes major (a week unresolved, or five complainants of one
    event): severity, the important clock stopped unmet, the major clocks started. None
    when it is major already, invalid or finished. Whom to tell is the caller's (it tells
    once for a whole event)."""
    if case.severity in (Severity.MAJOR, Severity.INVALID) or case.status not in OPEN_STATUSES:
        return None
    now = facts.now
    decision = Decision(
        event="case.made_major",
        data={"rule": rule, **data},
        changes={"severity": Severity.MAJOR.value},
        expect_status=case.status,
        missed=[RuleId.C12_IMPORTANT],
        arm=[Arm("classified", now)],
    )
    if case.status != Status.REVIEW:
        decision.start += major_clocks(case, facts, made_major_at=now)
    return decision


# --- C-5: one event, many complainants ------------------------------------------------------


@dataclass(frozen=True)
class EventMember:
    """A complaint counted under one event: who complained and when."""

    case_id: int
    complainant: str
    accepted_at: datetime


def complainant(case_id: int, resident_id: int | None, caller_phone: str | None) -> str:
    """Who complained (C-5 counts people, not complaints): the resident's account, else the
    caller's phone, else (a visitor who gave none) that complaint alone."""
    if resident_id is not None:
        return f"person:{resident_id}"
    if caller_phone:
        return f"phone:{caller_phone}"
    return f"case:{case_id}"


def most_complainants_in_window(filed: Iterable[tuple[datetime, str]], window: timedelta) -> int:
    """C-5 "at the same time": the most different complainants in any one window."""
    ordered = sorted(filed)
    best = 0
    for i, (start, _) in enumerate(ordered):
        inside = {who for at, who in ordered[i:] if at - start <= window}
        best = max(best, len(inside))
    return best


def event_members(cases: Iterable[Case]) -> list[EventMember]:
    """The complaints of one event as C-5 counts them (people, not complaints)."""
    return [
        EventMember(c.id, complainant(c.id, c.resident_id, c.caller_phone), c.accepted_at)
        for c in cases
    ]


def linked(
    case: Case,
    event: Sequence[tuple[Case, History]],
    rules: EstateRules,
    now: datetime,
) -> tuple[int, list[tuple[int, Decision]]]:
    """C-5: ``case`` was linked to another complaint; ``event`` is every complaint now
    counted under that event (with its clock history). When the event has enough different
    complainants within the window (5 by default), each complaint of it becomes major, and
    whom the estate names hear it once (C-3). Returns the complainants and the decisions."""
    people = most_complainants_in_window(
        [(m.accepted_at, m.complainant) for m in event_members(c for c, _ in event)],
        rules.same_event_window.elapsed,
    )
    if people < rules.same_event_threshold:
        return people, []
    key = next((c.event_key for c, _ in event if c.event_key), case.event_key_or_number())
    decisions = []
    for member, history in event:
        data = {"event": key, "complainants": people}
        major = made_major(member, "C-5-five", data, Facts(rules, now, history))
        if major is not None:
            decisions.append((member.id, major))
    if decisions:
        told = major_tell(rules, "event_link.made_major", {"count": people, "event": key})
        decisions.append((case.id, Decision(tell=[told])))
    return people, decisions


def linkable(case: Case, other: Case | None) -> bool:
    """C-5: two different open complaints of one estate may be linked as one event."""
    return (
        other is not None
        and other.id != case.id
        and other.estate_id == case.estate_id
        and all(c.kind == "complaint" and c.status in OPEN_STATUSES for c in (case, other))
    )


# --- review: feedback, opinion, approval (C-11, C-13) ----------------------------------------


def feedback(case: Case, by: By, facts: Facts) -> Decision:
    """C-11: the department has handled the complaint: its clocks stop (C-12 important's
    day, C-5's week, Q-1, Q-4, C-1) and the same-day reply clock starts; customer service
    is asked for the handling opinion; the resident hears it is being answered."""
    stop = [RuleId.Q1, RuleId.Q4, RuleId.C1_NEXT_REPLY, RuleId.C12_IMPORTANT, RuleId.C5_WEEK]
    return Decision(
        action=Action.FEEDBACK,
        expect_status=case.status,
        changes={"opinion": None, "opinion_by": None, "approved_by": None},
        stop=list(stop),
        start=[facts.clocked(case, RuleId.C11_SAME_DAY, events={"feedback"})],
        tell=[
            Tell(
                Department(CUSTOMER_SERVICE),
                "review.feedback",
                {"name": by.name, "limit": Limit(RuleId.C11_SAME_DAY)},
                style=Style.CARD,
                buttons="opinion",
            ),
            Tell(Resident(), "review.for_resident", {"limit": Limit(RuleId.C11_SAME_DAY)}),
        ],
    )


def opinion_version(opinion: str | None) -> str:
    """A short fingerprint of an opinion: an approval button approves exactly what it showed."""
    return hashlib.sha256((opinion or "").encode("utf-8")).hexdigest()[:8]


def write_opinion(case: Case, opinion: str, by: By) -> Decision:
    """C-11: the supervisor's handling opinion; the approvers get it with buttons (C-13)."""
    return Decision(
        action=Action.OPINION,
        changes={"opinion": opinion, "opinion_by": by.id},
        expect_status=Status.REVIEW,
        note=opinion,
        tell=[
            Tell(
                Approvers(by.id),
                "review.approve_please",
                {"name": by.name},
                style=Style.REVIEW,
                buttons="approval",
            )
        ],
    )


#: C-13: who approves the reply, in order of preference (never the opinion's own writer):
#: the customer-centre manager, else the project manager.
APPROVER_ROLES: tuple[str, ...] = (Role.CC_SUPERVISOR.value, Role.PROJECT_MANAGER.value)


def approver_role(roles: Iterable[str]) -> str | None:
    """C-13: the role someone approves in (the first of :data:`APPROVER_ROLES` they hold)."""
    held = set(roles)
    return next((r for r in APPROVER_ROLES if r in held), None)


def approve(case: Case, version: str, by: By, role: str, facts: Facts) -> Decision:
    """C-13: approved, the reply goes to the resident now (the same day), with confirm or
    dispute (C-2), which is also the complaint's callback (C-14). The approval is kept
    with the complaint: who, in which role, which version of the opinion."""
    now = facts.now
    return Decision(
        approval=Approval(RuleId.C13, role, approved=True, version=version),
        action=Action.APPROVE,
        changes={"approved_by": by.id, "replied_at": now, "resolved_at": now},
        expect_status=Status.REVIEW,
        expect_version=version,
        stop=list(WORK_CLOCKS),
        tell=[
            Tell(
                Resident(), "review.reply", {"opinion": case.opinion or ""}, buttons="reply_confirm"
            )
        ],
        start=[facts.clocked(case, RuleId.C14, events={"approved", "completed"})],
    )


def reject(case: Case, version: str, by: By, role: str) -> Decision:
    """C-13: the manager sends the opinion back (a refusal, kept like an approval); the
    supervisor writes it again."""
    return Decision(
        approval=Approval(RuleId.C13, role, approved=False, version=version),
        action=Action.REJECT,
        changes={"opinion": None, "opinion_by": None},
        expect_status=Status.REVIEW,
        expect_version=version,
        tell=[
            Tell(
                Department(CUSTOMER_SERVICE),
                "review.rejected",
                {"name": by.name},
                style=Style.CARD,
                buttons="opinion",
            )
        ],
    )


# --- C-12: extension ---------------------------------------------------------------------------


def extended(rules: EstateRules, due: datetime, by: By, role: str) -> Decision:
    """C-12: the role the rule names lets an important complaint run over by one more rule
    period (1 day by default), counted from the clock's due time; the button names the clock,
    so storage extends it only while it is still open (two presses extend it once)."""
    rule = RuleId.C12_IMPORTANT
    new_due = rules.due_at(rule, due)
    return Decision(
        approval=Approval(
            rule, role, approved=True, comment=f"{due.isoformat()} → {new_due.isoformat()}"
        ),
        event="case.extended",
        data={"rule": rule.value, "from": due.isoformat(), "to": new_due.isoformat()},
        start=[Timer(rule, new_due, rules.warn_at(rule, due, new_due), {"extended_by": by.id})],
    )
