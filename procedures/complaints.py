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
from procedures.clocks import WORK_CLOCKS, History, Timer, major_clocks, timer
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


#: C-4..C-7: the valid severities, lowest first (raising moves up, lowering down).
ORDER: tuple[str, ...] = (Severity.MINOR.value, Severity.IMPORTANT.value, Severity.MAJOR.value)


def week_over(facts: Facts) -> bool:
    """C-5: the complaint's week ran out before it was classified (its clock fired while the
    complaint was unclassified: the week counts valid complaints only, so the classification
    decides)."""
    due = facts.due.get(RuleId.C5_WEEK)
    return due is not None and due <= facts.now


def classify(case: Case, severity: str, by: By, facts: Facts) -> Decision:
    """C-4..C-7: a valid complaint's severity; C-4's own clock stops. An important one gets
    C-12's day (unless the department already handled it) and goes to the superior and the
    manager who may extend it (C-9); a major one gets C-12's answer and resolution clocks
    and is told to whom the estate names (C-3, C-9). A valid complaint whose week already
    ran out is major (C-5). The handling opinion's clock starts (C-11) unless it is written.
    Clocks an estate counts from the classification start now."""
    now = facts.now
    happening = {"classified": now}
    data: dict[str, Any] = {}
    if severity != Severity.MAJOR and week_over(facts):  # C-5: a week unresolved
        data = {"chosen": severity, "rule": RuleId.C5_WEEK.value}
        severity = Severity.MAJOR.value
    decision = Decision(
        action=Action.CLASSIFY,
        changes={"severity": severity},
        data=data,
        expect_status=case.status,
        stop=[RuleId.C4],
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
    decision.start += opinion_clock(case, facts, happening)
    decision.tell += opinion_asked(case)
    return decision


def opinion_clock(case: Case, facts: Facts, happening: Mapping[str, datetime]) -> list[Timer]:
    """C-11: the handling opinion's clock, from the classification (default), unless the
    opinion is written already or the department has handled the complaint."""
    if case.opinion or case.status == Status.REVIEW:
        return []
    return [facts.clocked(case, RuleId.C11_OPINION, happening=happening)]


def opinion_asked(case: Case) -> list[Tell]:
    """C-11: the customer-centre supervisor is asked for the handling opinion, the
    department's instructions (not when it is written, or the department is done)."""
    if case.opinion or case.status == Status.REVIEW:
        return []
    return [
        Tell(
            Roles(frozenset({Role.CC_SUPERVISOR.value})),
            "review.opinion_please",
            {"limit": Limit(RuleId.C11_OPINION)},
            style=Style.CARD,
            buttons="opinion",
        )
    ]


def reclassify(
    case: Case, severity: str, by: By, facts: Facts, reason: str | None = None
) -> Decision | None:
    """C-4..C-7 later: the project supervisor raises a complaint (minor → important → major,
    e.g. when it drags on or more complainants come) or lowers it, only with a written
    ``reason``. Raised, the new severity's clocks count from the raise and its people hear
    it; lowered, the higher severity's clocks are cancelled and an important one gets its
    day from the lowering. None when it does not apply (unclassified, invalid, the same
    severity, finished, or lowered without a reason)."""
    if case.severity not in ORDER or severity not in ORDER or severity == case.severity:
        return None
    if case.status not in OPEN_STATUSES:
        return None
    raised = ORDER.index(severity) > ORDER.index(str(case.severity))
    reason = (reason or "").strip() or None
    if not raised and reason is None:
        return None
    now = facts.now
    working = case.status != Status.REVIEW  # in review the department has handled it
    decision = Decision(
        event="case.raised" if raised else "case.lowered",
        changes={"severity": severity},
        data={"from": case.severity, "to": severity, "note": reason},
        expect_status=case.status,
    )
    said = {"severity": Text(f"severity.{severity}"), "name": by.name}
    if severity == Severity.MAJOR:
        decision.missed.append(RuleId.C12_IMPORTANT)
        if working:
            decision.start += major_clocks(case, facts, raised_at=now)
        decision.tell.append(major_tell(facts.rules, "complaint.raised", said, besides=by.id))
        return decision
    if case.severity == Severity.MAJOR:
        decision.missed += [RuleId.C12_MAJOR_ANSWER, RuleId.C12_MAJOR_RESOLVE]
    if severity == Severity.IMPORTANT:
        if working:
            decision.start.append(timer(facts.rules, RuleId.C12_IMPORTANT, now))
    else:
        decision.missed.append(RuleId.C12_IMPORTANT)
    key = "complaint.raised" if raised else "complaint.lowered"
    roles = frozenset({Role.CC_SUPERVISOR.value, Role.MGMT_MANAGER.value})
    decision.tell.append(
        Tell(Roles(roles), key, said | {"reason": reason or ""}, style=Style.WITH_CARD)
    )
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
    event): severity, the important clock stopped unmet, the major clocks started from now.
    An unclassified complaint made major by its complainants is classified by it (C-4's
    clock stops, the opinion's starts); the week counts valid complaints only, so it leaves
    an unclassified one to its classification (:func:`classify` makes it major then). None
    when it is major already, invalid, finished or not known valid. Whom to tell is the
    caller's (it tells once for a whole event)."""
    if case.severity in (Severity.MAJOR, Severity.INVALID) or case.status not in OPEN_STATUSES:
        return None
    if case.severity is None and rule == RuleId.C5_WEEK:
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
        decision.start += major_clocks(case, facts, raised_at=now)
    if case.severity is None:  # classified by the rule: C-4 is over, C-11 begins
        decision.stop.append(RuleId.C4)
        decision.start += opinion_clock(case, facts, {"classified": now})
        decision.tell += opinion_asked(case)
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


# --- review: opinion, feedback, draft, approval, delivery (C-11, C-13) ------------------------
#
# The seed's order (C-11): the customer-centre supervisor writes the handling opinion, the
# department's instructions (the department may start before it: the referral never
# waits); the department handles the complaint and feeds back, which it cannot do before
# the opinion exists; the assistant drafts the reply from the feedback; one approval
# (C-13) sends it to the customer the same day, or, for a caller without the bot, asks the
# assistant to phone it (V-5) the same day. The reply delivered is the completion: the
# callback (C-14) follows.


def write_opinion(case: Case, opinion: str, by: By) -> Decision | None:
    """C-11: the supervisor's handling opinion, the department's instructions: it shows on
    the department's cards from now on, and the department hears it. None once written, or
    once the department has fed back (the complaint is past instructions)."""
    if case.opinion or case.status not in (Status.NEW, Status.REFERRED, Status.IN_PROGRESS):
        return None
    decision = Decision(
        action=Action.OPINION,
        changes={"opinion": opinion, "opinion_by": by.id},
        expect_status=case.status,
        note=opinion,
        stop=[RuleId.C11_OPINION],
    )
    if case.department:
        decision.tell.append(
            Tell(  # a notice: the department's card itself is redrawn with the opinion
                Department(case.department),
                "review.opinion_for_department",
                {"name": by.name, "opinion": opinion},
            )
        )
    return decision


def feedback(case: Case, by: By, facts: Facts, notes: str) -> Decision | None:
    """C-11: the department has handled the complaint and feeds back (``notes``: what it
    reported on the case): its clocks stop (C-12 important's day, C-5's week, Q-1, Q-4,
    C-1) and the same-day reply clock starts; the assistant is asked to draft the reply;
    the resident hears it is being answered. None before the handling opinion exists
    (the department works to it) or without any feedback."""
    if not case.opinion or not notes.strip():
        return None
    stop = [RuleId.Q1, RuleId.Q4, RuleId.C1_NEXT_REPLY, RuleId.C12_IMPORTANT, RuleId.C5_WEEK]
    return Decision(
        action=Action.FEEDBACK,
        expect_status=case.status,
        changes={"feedback": notes.strip(), "reply_draft": None, "reply_by": None},
        note=notes.strip(),
        stop=list(stop),
        start=[facts.clocked(case, RuleId.C11_SAME_DAY, events={"feedback"})],
        tell=[
            Tell(
                Department(CUSTOMER_SERVICE),
                "review.feedback",
                {"name": by.name, "limit": Limit(RuleId.C11_SAME_DAY)},
                style=Style.REVIEW,
                buttons="draft",
            ),
            Tell(Resident(), "review.for_resident", {"limit": Limit(RuleId.C11_SAME_DAY)}),
        ],
    )


def opinion_version(text: str | None) -> str:
    """A short fingerprint of a text (the reply draft): an approval button approves exactly
    what it showed."""
    return hashlib.sha256((text or "").encode("utf-8")).hexdigest()[:8]


def draft(case: Case, text: str, by: By) -> Decision | None:
    """C-11: the assistant drafts the reply from the department's feedback; it goes, with the
    opinion and the feedback, to the C-13 approver (never its writer), and a copy to the
    project supervisor. None when the complaint is not classified (no reply leaves an
    unclassified complaint, C-4), not in review, or a draft already waits."""
    if case.severity is None or case.status != Status.REVIEW or case.reply_draft:
        return None
    return Decision(
        action=Action.DRAFT,
        changes={"reply_draft": text, "reply_by": by.id},
        expect_status=Status.REVIEW,
        note=text,
        tell=[
            Tell(
                Approvers(by.id),
                "review.approve_please",
                {"name": by.name},
                style=Style.REVIEW,
                buttons="approval",
            ),
            Tell(
                Roles(frozenset({Role.PROJECT_SUPERVISOR.value})),
                "review.copy_for_supervisor",
                {"name": by.name},
                style=Style.REVIEW,
            ),
        ],
    )


def approver_role(roles: Iterable[str], rules: EstateRules) -> str | None:
    """C-13: the role someone approves in: the estate's approver role (the customer-centre
    manager by default), else the project manager (who approves when the only approver
    wrote the draft)."""
    held = set(roles)
    return next((r for r in (rules.reply_approver, Role.PROJECT_MANAGER.value) if r in held), None)


def approve(case: Case, version: str, by: By, role: str, facts: Facts) -> Decision | None:
    """C-13: approved, the reply goes to the resident now (the same day), with confirm or
    dispute (C-2), which is also the complaint's callback (C-14); the reply time is
    recorded. A caller without the bot is phoned by the assistant instead (V-5), within
    C-13's same day: the reply is delivered, and the callback starts, when they record the
    call (:func:`deliver`). The approval is kept with the complaint: who, in which role,
    which version of the draft. None for an unclassified complaint or no draft."""
    if case.severity is None or not case.reply_draft or case.approved_by is not None:
        return None
    now = facts.now
    approval = Approval(RuleId.C13, role, approved=True, version=version)
    if case.resident_id is None:  # V-5: the assistant phones the answer
        return Decision(
            approval=approval,
            event="case.approve",
            data={"version": version},
            changes={"approved_by": by.id},
            expect_status=Status.REVIEW,
            expect_version=version,
            start=[facts.clocked(case, RuleId.C13_SAME_DAY, events={"approved"})],
            tell=[
                Tell(
                    Department(CUSTOMER_SERVICE),
                    "review.phone_reply_please",
                    {"name": case.caller_name or "—", "phone": case.caller_phone or "—"},
                    style=Style.REVIEW,
                    buttons="deliver",
                )
            ],
        )
    return Decision(
        approval=approval,
        action=Action.APPROVE,
        changes={"approved_by": by.id, "replied_at": now, "resolved_at": now},
        expect_status=Status.REVIEW,
        expect_version=version,
        stop=list(WORK_CLOCKS),
        tell=[
            Tell(
                Resident(),
                "review.reply",
                {"opinion": case.reply_draft or ""},
                buttons="reply_confirm",
            )
        ],
        start=[facts.clocked(case, RuleId.C14, events={"approved", "completed"})],
    )


def deliver(case: Case, by: By, facts: Facts) -> Decision | None:
    """V-5, C-13: the assistant phoned the approved reply to a caller without the bot: the
    reply time is recorded, the work's clocks stop (C-11's and C-13's same day met or
    late), and the callback follows (C-14: the assistant phones again). None before the
    approval, or once delivered."""
    if case.approved_by is None or case.status != Status.REVIEW:
        return None
    now = facts.now
    return Decision(
        action=Action.DELIVER,
        changes={"replied_at": now, "resolved_at": now},
        expect_status=Status.REVIEW,
        data={"by": by.id},
        stop=list(WORK_CLOCKS),
        tell=callbacks.question(case),
        start=[facts.clocked(case, RuleId.C14, events={"completed"})],
    )


def reject(case: Case, version: str, by: By, role: str) -> Decision | None:
    """C-13: the approver sends the draft back (a refusal, kept like an approval); the
    assistant drafts it again."""
    if not case.reply_draft or case.approved_by is not None:
        return None
    return Decision(
        approval=Approval(RuleId.C13, role, approved=False, version=version),
        action=Action.REJECT,
        changes={"reply_draft": None, "reply_by": None},
        expect_status=Status.REVIEW,
        expect_version=version,
        tell=[
            Tell(
                Department(CUSTOMER_SERVICE),
                "review.rejected",
                {"name": by.name},
                style=Style.REVIEW,
                buttons="draft",
            )
        ],
    )


# --- C-12: a major complaint's clear answer ----------------------------------------------------


def clear_answer(case: Case, text: str, by: By, facts: Facts) -> Decision | None:
    """C-12: a major complaint gets a clear answer within 2 days (what will be done, and by
    when), sent from the case card by the first responder or the customer-centre supervisor
    without approval: it goes to the resident (a caller hears it by phone: the text is what
    was said) and meets C-12's answer clock; the resolution clock runs on. None when the
    complaint is not major, is finished, or was answered already."""
    if case.severity != Severity.MAJOR or case.status not in OPEN_STATUSES or case.answered_at:
        return None
    return Decision(
        action=Action.ANSWER,
        changes={"answered_at": facts.now, "answer": text},
        expect_status=case.status,
        note=text,
        data={"by": by.id},
        stop=[RuleId.C12_MAJOR_ANSWER],
        tell=[Tell(Resident(), "complaint.clear_answer", {"text": text})],
    )


# --- C-12: extension ---------------------------------------------------------------------------


def extended(rules: EstateRules, due: datetime, by: By, role: str, now: datetime) -> Decision:
    """C-12: the role the rule names lets an important complaint run over by one more rule
    period (1 day by default): before the day runs out, counted from its due time; after,
    the overrun is approved as such (recorded "after") and the new day counts from now. The
    button names the clock, so storage extends it only while it is open or ran out unmet
    (two presses extend it once)."""
    rule = RuleId.C12_IMPORTANT
    after = now > due
    new_due = rules.due_at(rule, now if after else due)
    moved = f"{due.isoformat()} → {new_due.isoformat()}"
    return Decision(
        approval=Approval(
            rule, role, approved=True, comment=moved + (" (after the limit)" if after else "")
        ),
        event="case.extended",
        data={
            "rule": rule.value,
            "from": due.isoformat(),
            "to": new_due.isoformat(),
            "after": after,
        },
        start=[Timer(rule, new_due, rules.warn_at(rule, due, new_due), {"extended_by": by.id})],
    )
