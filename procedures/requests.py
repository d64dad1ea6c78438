"""Requests (P6, Q-) and the steps every case shares with complaints (P7): filing, the
first responder's resolve / refer / escalate (Q-1, C-9, V-2, C-3), the department's take,
promise and done (Q-4, C-1), progress posted to the resident.

Each function is a pure decision: the case as it is, the facts (estate rules, the time,
the case's clock history) and who acts go in; a :class:`~procedures.decisions.Decision`
comes out. Storage applies it only if the case is still where the decision expects.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from procedures import callbacks, complaints
from procedures.cases import Action, Case, Kind, Status
from procedures.clocks import WORK_CLOCKS, Timer
from procedures.decisions import (
    Approval,
    Arm,
    By,
    Decision,
    Department,
    Evidence,
    Facts,
    Limit,
    Resident,
    Roles,
    Style,
    Tell,
    Text,
)
from procedures.identity import Department as Dept
from procedures.identity import Role
from procedures.rule_ids import RuleId

CUSTOMER_SERVICE = Dept.CUSTOMER_SERVICE.value


def filed(case: Case, facts: Facts) -> Decision:
    """Q-2, C-10: recorded; the resident gets the card, customer service the first
    responder's card (Q-1, C-9); Q-1, V-1, Q-4 and C-5's week start; a complaint goes to the
    project supervisor to classify (C-4); an urgent case to the superior at once (V-2, C-3)."""
    start = case.accepted_at
    decision = Decision(
        tell=[
            # the resident and the first responder read the estate's own limit.
            Tell(Resident(), "case.filed", {"limit": Limit(RuleId.Q1)}, style=Style.WITH_CARD),
            Tell(
                Department(CUSTOMER_SERVICE),
                "case.new_for_first_responder",
                {"limit": Limit(RuleId.Q1)},
                style=Style.CARD,
                buttons="first_responder",
                photos=True,
            ),
        ],
        start=[facts.clocked(case, RuleId.Q1, start)],  # Q-1, C-9
    )
    if case.channel == "chat":  # V-1: a person takes it up within minutes (office hours)
        decision.start.append(facts.clocked(case, RuleId.V1_FIRST_RESPONSE, start))
    if case.kind == Kind.REQUEST:
        decision.start.append(facts.clocked(case, RuleId.Q4, start))
    if case.kind == Kind.COMPLAINT:
        decision.start.append(facts.clocked(case, RuleId.C5_WEEK, start))  # C-5
        decision.start.append(facts.clocked(case, RuleId.C4, start))  # C-4, its own clock
        decision.tell.append(  # C-4: the supervisor decides its nature, criteria in sight
            Tell(
                Roles(frozenset({Role.PROJECT_SUPERVISOR.value})),
                "complaint.classify_please",
                {"limit": Limit(RuleId.C4)},
                style=Style.WITH_CARD,
                buttons="classification",
                photos=True,
            )
        )
    if case.urgent:  # V-2, Q-1, C-3: major, urgent or sudden → the superior at once
        decision.tell.append(
            Tell(
                Roles(frozenset({Role.CC_SUPERVISOR.value})),
                "case.urgent_reported",
                style=Style.WITH_CARD,
                photos=True,
            )
        )
    return decision


def refer(case: Case, department: str, facts: Facts) -> Decision | None:
    """Q-1, C-9: to the department that handles it; the referral clocks stop, and clocks an
    estate counts from the referral (Q-4, C-12) start. None when it is with that department
    already (a second tap, a stale card): nothing is sent twice."""
    if case.department == department and case.status != Status.NEW:
        return None
    return Decision(
        action=Action.REFER,
        changes={"department": department},
        expect_status=case.status,
        stop=[RuleId.Q1, RuleId.V1_FIRST_RESPONSE],
        arm=[Arm("referred", facts.now)],
        tell=[
            Tell(
                Department(department),
                "case.new_for_department",
                style=Style.CARD,
                buttons="department",
                photos=True,
            ),
            Tell(Resident(), "case.referred", {"department": Text(f"department.{department}")}),
        ],
    )


def escalate(case: Case, by: By) -> Decision | None:
    """V-2, Q-1, C-3, C-9: reported at once to the superior (and for a complaint the project
    supervisor and leadership); the case is urgent from now on, and a person has taken it
    up, so V-1 stops. None when it is urgent already (filed so, or escalated: a second tap,
    a stale card): the superiors are not told twice."""
    if case.urgent:
        return None
    roles = {Role.CC_SUPERVISOR.value}
    if case.kind == Kind.COMPLAINT:
        roles |= {Role.PROJECT_SUPERVISOR.value, Role.LEADERSHIP.value}
    return Decision(
        action=Action.ESCALATE,
        changes={"urgent": True},
        expect_status=case.status,
        stop=[RuleId.V1_FIRST_RESPONSE],
        tell=[
            Tell(
                Roles(frozenset(roles)),
                "case.escalated",
                {"name": by.name},
                style=Style.WITH_CARD,
                photos=True,
            )
        ],
    )


def take(case: Case, by: By) -> Decision | None:
    """A department member takes the case; the resident hears who. None when they have it
    already (a second tap): the resident is not told twice."""
    if case.assignee_id == by.id and case.status == Status.IN_PROGRESS:
        return None
    return Decision(
        action=Action.TAKE,
        changes={"assignee_id": by.id},
        expect_status=case.status,
        tell=[Tell(Resident(), "case.taken", {"name": by.name})],
    )


def resolve(case: Case, by: By, facts: Facts) -> Decision | None:
    """Answered on the spot by the first responder (Q-1): done; the callback clock starts.
    None for a complaint not classified yet (:func:`resolvable`)."""
    if not resolvable(case):
        return None
    return finished(case, by, facts, Action.RESOLVE, "case.resolved")


def done(case: Case, by: By, facts: Facts, notes: str = "") -> Decision | None:
    """Handled (Q-4: handling, not a first reply, stops the clock); the resident is told and
    asked; the callback clock starts. A complaint's department feeds back instead (C-11:
    ``notes``, what it reported; None before the handling opinion or without feedback)."""
    if case.kind == Kind.COMPLAINT:
        return complaints.feedback(case, by, facts, notes)
    return finished(case, by, facts, Action.DONE, "case.done")


def resolvable(case: Case) -> bool:
    """Q-1, C-8: a case may be resolved on the spot; a complaint only once classified (C-4:
    none is closed unclassified)."""
    return case.kind != Kind.COMPLAINT or case.severity is not None


def finished(case: Case, by: By, facts: Facts, action: Action, key: str) -> Decision:
    """The work is over: every work clock stops, the resident hears it and is asked (B-3),
    and the callback clock starts (B-1, or C-14 for a complaint)."""
    callback = RuleId.C14 if case.kind == Kind.COMPLAINT else RuleId.B1
    return Decision(
        action=action,
        expect_status=case.status,
        stop=list(WORK_CLOCKS),
        tell=[Tell(Resident(), key, {"name": by.name}), *callbacks.question(case)],
        start=[facts.clocked(case, callback, events={"completed"})],
    )


def promise_choices(now: datetime) -> dict[str, datetime]:
    """Promise times offered to staff, in the estate's local time: later today, tomorrow
    noon or evening, the day after tomorrow."""
    day = now.replace(second=0, microsecond=0)
    return {
        "today18": day.replace(hour=18, minute=0),
        "tomorrow12": (day + timedelta(days=1)).replace(hour=12, minute=0),
        "tomorrow18": (day + timedelta(days=1)).replace(hour=18, minute=0),
        "after18": (day + timedelta(days=2)).replace(hour=18, minute=0),
    }


def offered_promises(facts: Facts) -> list[str]:
    """The promise choices still in the future (their codes, in order)."""
    now = facts.rules.calendar.local(facts.now)
    return [code for code, moment in promise_choices(now).items() if moment > now]


def promise(
    case: Case, code: str, facts: Facts, *, by: By | None = None, role: str | None = None
) -> Decision | None:
    """Q-4 (requests) or C-1 (complaints): a time promised to the resident; the clock
    follows it (Q-4's 24 h is replaced; C-1 runs to it, and a new next reply time told in
    time is itself the reply that was due: :func:`replied_in_time`). None for a choice
    already past.

    Q-4 once its clock ran out (:func:`promise_too_late`): only ``by`` the customer-centre
    supervisor (``role``, checked by the handler: ``Act.LATE_PROMISE``), signed as their
    approval, the department told; the clock runs anew to the time promised and the day
    missed stays missed. None without them."""
    now = facts.rules.calendar.local(facts.now)
    when = promise_choices(now).get(code)
    if when is None or when <= now:
        return None
    late = promise_too_late(case, facts)
    if late and (by is None or role is None):
        return None
    shown = when.strftime("%m-%d %H:%M")
    rule = promise_rule(case)
    # C-1: the resident of a complaint is told when they will hear from us next.
    told = "progress.promised" if rule == RuleId.Q4 else "progress.promised_reply"
    due = facts.rules.due_at(rule, now, promised=when)
    # C-1: a new next reply time, told to the resident in time, is the reply that was due.
    met: list[str] = [rule] if rule == RuleId.C1_NEXT_REPLY and replied_in_time(case, facts) else []
    decision = Decision(
        action=Action.PROMISE,
        changes={"promised_at": when},
        expect_status=case.status,
        note=shown,
        stop=met,
        arm=[Arm("fixed", now, besides=(rule,))],
        start=[Timer(rule, due, facts.rules.warn_at(rule, now, due))],
        tell=[Tell(Resident(), told, {"when": shown})],
    )
    if late and by is not None and role is not None:
        ran_out = facts.due[RuleId.Q4]
        moved = f"{ran_out.isoformat()} → {due.isoformat()}"
        decision.approval = Approval(rule, role, approved=True, comment=moved)
        decision.data = {"late": True, "ran_out": ran_out.isoformat()}
        if case.department:  # whoever handles it hears of the time the supervisor fixed
            decision.tell.append(
                Tell(
                    Department(case.department),
                    "progress.promised_late",
                    {"name": by.name, "when": shown},
                )
            )
    return decision


def promise_too_late(case: Case, facts: Facts) -> bool:
    """Q-4: whether a time promised now would come after the request's clock ran out.

    The seed (客戶需求、建議受理, 回復):
    客戶任何需求、建議在受理后1天內做出處理和回復；
    或在事前給客戶承諾的時間內做出回復
    — handled and answered within 1 day of acceptance, or within the time promised to the
    customer *beforehand* (事前). A promise replaces the day only when it is made before
    the day runs out: the clock in force is the day, or a time promised in time that
    replaced it; once that is due (fired or not yet), a promise is no longer beforehand.
    The customer-centre supervisor, whom the miss escalates to (the table's "customer-centre
    manager"), may still fix a time with the resident (``Act.LATE_PROMISE``); nobody else,
    the department's head included. A complaint's next reply time (C-1) has no such bound:
    it is fixed whenever what cannot be solved yet is explained.
    """
    due = facts.due.get(RuleId.Q4)
    return case.kind == Kind.REQUEST and due is not None and facts.now >= due


def promise_rule(case: Case) -> RuleId:
    """The clock a promise sets: a request's Q-4, a complaint's next reply (C-1)."""
    return RuleId.Q4 if case.kind == Kind.REQUEST else RuleId.C1_NEXT_REPLY


def promise_locked(case: Case, facts: Facts) -> bool:
    """Q-4, C-1: a time is promised and its clock is still in force (running, or run out
    unmet): moving it is the department head's or the supervisor's. Once a reply met a
    complaint's next reply time (C-1), the next one is fixed afresh by whoever may promise
    (the first responder, the department): explaining and fixing the next reply time is
    how C-1 goes on until the complaint is solved."""
    return case.promised_at is not None and promise_rule(case) in facts.due


def replied_in_time(case: Case, facts: Facts) -> bool:
    """C-1: whether a reply reaching the resident now meets the next reply time fixed with
    them.

    The seed (投訴受理, 接待、受理, item 3):
    受理客戶投訴要一跟到底，直到問題得到解決並回復客戶為止；
    對不能解決的投訴，應婉轉地向業主講清楚，並確定下次回復的時間
    — follow the complaint until it is solved *and the customer answered*; what cannot be
    solved yet is explained and the time of the *next reply* (下次回復) fixed. What falls
    due then is a reply (回復) to the customer, not the solution. So in this bot any word
    of the case that reaches the resident meets it when it comes at or before that time:
    the department's or the first responder's progress posted to the case card (text or
    photo, :func:`update`), or a new next reply time told to them (:func:`promise`); the
    solution (done, the department's feedback, the approved reply) stops it as before. A
    reply after the time meets nothing: the clock ran out, and its breach is the
    sweeper's. A caller without the bot (phone, visit: V-5) is answered by phone, which
    the bot does not see: a note on the card reaches nobody and meets nothing. Requests
    have no such clock: Q-4 is stopped by the handling, never by a first reply.
    """
    due = facts.due.get(RuleId.C1_NEXT_REPLY)
    return case.resident_id is not None and due is not None and facts.now <= due


def update(case: Case, by: By, text: str, photo: Evidence | None, facts: Facts) -> Decision:
    """Progress from the department or the first responder (a reply to the case card, text
    or photo): kept with the case and passed to the resident; a photo kept as evidence
    reaches them as its display copy (watermarked, its metadata gone), otherwise as
    Telegram's photo. C-1: at or before the next reply time fixed with the resident, it is
    that reply (:func:`replied_in_time`)."""
    shown = photo.display_sha256 if photo is not None else None
    tell = Tell(
        Resident(),
        "progress.update",
        {"name": by.name, "text": text or "📷"},
        photo=photo.file_id if photo is not None and shown is None else None,
        album=(shown,) if shown is not None else (),
    )
    return Decision(
        action=Action.UPDATE,
        expect_status=case.status,
        note=(text or "📷")[:500],
        evidence=[photo] if photo is not None else [],
        tell=[tell],
        stop=[RuleId.C1_NEXT_REPLY] if replied_in_time(case, facts) else [],
    )


def resident_blocked(case: Case, name: str, phone: str | None) -> Decision:
    """The resident blocked the bot: the case goes on, and customer service phones them
    instead (only a resident's refusal is news; staff's is not)."""
    return Decision(
        tell=[
            Tell(
                Department(CUSTOMER_SERVICE),
                "case.resident_blocked",
                {"name": name, "phone": phone or "—"},
            )
        ]
    )
