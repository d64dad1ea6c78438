"""Callbacks (P8, B-1..B-5, and C-14 for complaints): asking the resident whether it was
solved and how satisfied they are, or the assistant phoning them; C-2's reopening.

Pure decisions: the case, the facts and who acts go in, a Decision comes out.
"""

from __future__ import annotations

from datetime import timedelta

from procedures.cases import UNSATISFIED_AT_MOST, Action, Case, Kind, Severity, Status
from procedures.clocks import CALLBACK_CLOCKS, Timer, major_clocks
from procedures.deadlines import ACCEPTANCE
from procedures.decisions import (
    Decision,
    Department,
    Facts,
    Resident,
    Roles,
    Style,
    Tell,
)
from procedures.identity import Department as Dept
from procedures.identity import Role
from procedures.rule_ids import RuleId

#: B-2: a resident the assistant could not reach is phoned again within this time.
RETRY_AFTER = timedelta(days=1)
#: … and the assistant is reminded this long before.
RETRY_WARNING = timedelta(hours=2)
#: Who records a phone callback's outcome (B-2, B-4; see procedures.permissions).
ASSISTANTS = frozenset({Role.CUSTOMER_ASSISTANT.value})


def callback_rule(case: Case) -> str:
    """B-1 for a request, C-14 for a complaint."""
    return RuleId.C14 if case.kind == Kind.COMPLAINT else RuleId.B1


def question(case: Case) -> list[Tell]:
    """B-3: did we get it done? — asked in the resident's chat; a caller without the bot is
    phoned by the assistant instead (V-5)."""
    if case.resident_id is None:
        return [
            Tell(
                Roles(ASSISTANTS),
                "callback.phone_caller",
                {"name": case.caller_name or "—", "phone": case.caller_phone or "—"},
                style=Style.WITH_CARD,
                buttons="phone_callback",
            )
        ]
    return [Tell(Resident(), "callback.question", buttons="callback_question")]


def satisfied(score: int | None) -> bool:
    """B-3: a score above :data:`UNSATISFIED_AT_MOST` is satisfied."""
    return score is not None and score > UNSATISFIED_AT_MOST


def called_back(
    case: Case, *, satisfied: bool, score: int | None, channel: str, facts: Facts
) -> Decision:
    """B-4: the callback is recorded; satisfied closes the case, unsatisfied reopens it
    (C-2): back to its department, or to the first responder when it had none; its clocks
    count afresh from the reopening."""
    fields: dict[str, object] = {"called_back_at": facts.now, "callback_channel": channel}
    if score is not None:
        fields["satisfaction"] = score
    # Answered in chat, the resident already sees the answer recorded there; called back by
    # phone, they hear it in chat too.
    told = channel != "chat"
    if satisfied:
        return Decision(
            action=Action.CLOSE,
            changes=fields,
            expect_status=Status.DONE,
            stop=list(CALLBACK_CLOCKS),
            tell=[Tell(Resident(), "callback.thanks")] if told else [],
        )
    now = facts.now
    back_to = case.department or Dept.CUSTOMER_SERVICE.value
    decision = Decision(
        action=Action.REOPEN if case.department else Action.RETURN,
        changes=fields
        | {"assignee_id": None, "opinion": None, "opinion_by": None, "approved_by": None},
        expect_status=Status.DONE,
        stop=list(CALLBACK_CLOCKS),
        tell=[
            *([Tell(Resident(), "callback.reopened")] if told else []),
            Tell(
                Department(back_to),
                "callback.reopened_for_staff",
                style=Style.CARD,
                buttons="department" if case.department else "first_responder",
            ),
            Tell(
                Roles(frozenset({Role.CC_SUPERVISOR.value})),
                "callback.reopened_for_supervisor",
                style=Style.WITH_CARD,
            ),
        ],
    )
    # The reopening is a new acceptance (and a new referral when the case goes back to its
    # department): count afresh from it.
    again = ACCEPTANCE | ({"referred"} if case.department else set())
    if case.kind == Kind.REQUEST:  # Q-4 runs again from the reopening
        decision.start.append(facts.clocked(case, RuleId.Q4, events=again, since=now))
    if not case.department:  # back with the first responder: Q-1 again
        decision.start.append(facts.clocked(case, RuleId.Q1, events=again, since=now))
    if case.severity == Severity.MAJOR:  # C-12: a major one must still be resolved
        decision.start += major_clocks(case, facts, answer=False)
    return decision


def unreachable(case: Case, facts: Facts) -> Decision:
    """B-2: the assistant could not reach the resident: recorded, and the callback is tried
    again within a day (its clock set anew)."""
    again = facts.now + RETRY_AFTER
    return Decision(
        event="case.callback_unreachable",
        expect_status=Status.DONE,
        start=[Timer(callback_rule(case), again, again - RETRY_WARNING)],
    )


def comment(case: Case, text: str) -> Decision:
    """B-3, B-4: the resident's further opinion, kept with the case and passed to customer
    service."""
    return Decision(
        event="case.comment",
        data={"note": text},
        tell=[
            Tell(
                Department(Dept.CUSTOMER_SERVICE.value),
                "callback.comment_for_staff",
                {"text": text},
                style=Style.CARD,
            )
        ],
    )
