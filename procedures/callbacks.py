"""Callbacks (P8, B-1..B-5, and C-14 for complaints): asking the resident whether it was
solved and how satisfied they are, or the assistant phoning them; C-2's reopening.

B-2: the customer assistant responsible for a case (:class:`~procedures.decisions.Assistant`:
who first handled it on customer service's card, else any customer assistant) is the one
in whose name the resident is asked, who hears the answers, and who phones when the
resident has no account or no answer came within the limit (the breach's callback task,
chased every further day until it is recorded: :mod:`procedures.reactions`). B-1: staff
also open callbacks themselves, after helping a resident in trouble or after a large
community event (:func:`opened`; a case of kind ``callback``, category :data:`OPENED`).

Pure decisions: the case, the facts and who acts go in, a Decision comes out.
"""

from __future__ import annotations

from datetime import timedelta

from procedures.cases import UNSATISFIED_AT_MOST, Action, Case, Kind, Severity, Status
from procedures.clocks import CALLBACK_CLOCKS, Timer, major_clocks
from procedures.deadlines import ACCEPTANCE
from procedures.decisions import (
    Assistant,
    By,
    Contact,
    Decision,
    Department,
    Facts,
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

#: B-2: a resident the assistant could not reach is phoned again within this time.
RETRY_AFTER = timedelta(days=1)
#: … and the assistant is reminded this long before.
RETRY_WARNING = timedelta(hours=2)
#: Who records a phone callback's outcome (B-2, B-4; see procedures.permissions).
ASSISTANTS = frozenset({Role.CUSTOMER_ASSISTANT.value})
#: A callback task left undone is chased again this long after (B-2: never dropped).
CHASE_EVERY = timedelta(days=1)
#: B-1: the callbacks staff open themselves: after helping a resident in trouble, after a
#: large community event (the category of a ``callback`` case; the weekly report counts
#: them by these names).
OPENED = ("help", "event")
#: Longest notes of a phone callback kept (what the resident said).
MAX_NOTE = 2000


def callback_rule(case: Case) -> str:
    """B-1 for a request, C-14 for a complaint."""
    return RuleId.C14 if case.kind == Kind.COMPLAINT else RuleId.B1


def question(case: Case) -> list[Tell]:
    """B-3: did we get it done? — asked in the resident's chat in the name of the assistant
    responsible (B-2); a caller without the bot is phoned by that assistant instead (V-5),
    with the number to call."""
    if case.resident_id is None:
        return [
            Tell(
                Assistant(),
                "callback.phone_caller",
                {"contact": Contact()},
                style=Style.WITH_CARD,
                buttons="phone_callback",
            )
        ]
    return [Tell(Resident(), "callback.question", {"by": Assistant()}, buttons="callback_question")]


def satisfied(score: int | None) -> bool:
    """B-3: a score above :data:`UNSATISFIED_AT_MOST` is satisfied."""
    return score is not None and score > UNSATISFIED_AT_MOST


def called_back(
    case: Case,
    *,
    satisfied: bool,
    score: int | None,
    channel: str,
    facts: Facts,
    solved: bool | None = None,
    note: str | None = None,
    by: By | None = None,
) -> Decision:
    """B-4: the callback is recorded; satisfied closes the case, unsatisfied reopens it
    (C-2): back to its department, or to the first responder when it had none; its clocks
    count afresh from the reopening.

    Recorded in full (B-4): the score, the channel and when, and in the audit event whether
    it was solved, who called (``by``, the assistant who phoned) and the ``note`` of what
    was said. Answered in chat, the assistant responsible hears the answer (B-2)."""
    fields: dict[str, object] = {"called_back_at": facts.now, "callback_channel": channel}
    if score is not None:
        fields["satisfaction"] = score
    data: dict[str, object] = {}
    if solved is not None:
        data["solved"] = solved
    if by is not None:
        data["called_back_by"] = by.id
    # Answered in chat, the resident already sees the answer recorded there, and the
    # assistant responsible hears it; called back by phone, the resident hears it in chat.
    told = channel != "chat"
    heard = [] if told else [answered(case, solved=solved, score=score)]
    if satisfied:
        return Decision(
            action=Action.CLOSE,
            changes=fields,
            note=note,
            data=data,
            expect_status=Status.DONE,
            stop=list(CALLBACK_CLOCKS),
            tell=[Tell(Resident(), "callback.thanks")] if told else heard,
        )
    now = facts.now
    back_to = case.department or Dept.CUSTOMER_SERVICE.value
    decision = Decision(
        action=Action.REOPEN if case.department else Action.RETURN,
        changes=fields
        # C-2: a complaint handled again keeps the handling opinion (the department's
        # instructions stand) and needs a new feedback, draft and approval
        | {"assignee_id": None, "feedback": None, "reply_draft": None, "reply_by": None}
        | {"approved_by": None},
        note=note,
        data=data,
        expect_status=Status.DONE,
        stop=list(CALLBACK_CLOCKS),
        tell=[
            *([Tell(Resident(), "callback.reopened")] if told else heard),
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


def answered(case: Case, *, solved: bool | None, score: int | None) -> Tell:
    """B-2: what the resident answered in chat, for the assistant responsible (customer
    service's group when there is none): solved or not, and the stars given."""
    said = "callback.said_solved" if solved or score is not None else "callback.said_unsolved"
    return Tell(
        Assistant(),
        "callback.answered_for_assistant",
        {"solved": Text(said), "stars": "⭐" * score if score else "—"},
        style=Style.WITH_CARD,
    )


def phone_recorded(
    case: Case, *, solved: bool, score: int, note: str | None, by: By, facts: Facts
) -> Decision:
    """B-2, B-4: the assistant phoned the resident and records it as a chat answer is:
    solved or not, the score 1–5, the notes of what was said (``None``: none), who called
    and when. Solved and satisfied closes the case; otherwise it reopens (C-2)."""
    if not 1 <= score <= 5:
        raise ValueError("a satisfaction score is 1 to 5")
    text = note.strip()[:MAX_NOTE] if note else None
    return called_back(
        case,
        satisfied=solved and satisfied(score),
        score=score,
        channel="phone",
        facts=facts,
        solved=solved,
        note=text or None,
        by=by,
    )


def unreachable(case: Case, facts: Facts) -> Decision:
    """B-2: the assistant could not reach the resident: recorded, and the callback is tried
    again within a day (its clock set anew: storage replaces a chase or an earlier retry
    still pending, so one task chases the resident, never two)."""
    again = facts.now + RETRY_AFTER
    rule = callback_rule(case)
    return Decision(
        event="case.callback_unreachable",
        expect_status=Status.DONE,
        start=[Timer(rule, again, again - RETRY_WARNING)],
    )


def comment(case: Case, text: str) -> Decision:
    """B-3, B-4: the resident's further opinion, kept with the case and passed to the
    assistant responsible (B-2; customer service's group when there is none)."""
    return Decision(
        event="case.comment",
        data={"note": text},
        tell=[
            Tell(
                Assistant(),
                "callback.comment_for_staff",
                {"text": text},
                style=Style.CARD,
            )
        ],
    )


def chased(
    case: Case, rule: str, chase: int, escalate_to: tuple[str, ...], facts: Facts
) -> Decision:
    """B-2: a callback task still not done ``chase`` days after the limit: the assistant
    responsible gets it again, those the rule escalates to hear it is still open, and it is
    chased again a day later; never dropped until it is recorded or marked unreachable."""
    again = facts.now + CHASE_EVERY
    return Decision(
        event="case.callback_chased",
        data={"rule": rule, "chase": chase},
        expect_status=Status.DONE,
        start=[Timer(rule, again, None, {"chase": chase + 1})],
        tell=[
            Tell(
                Assistant(),
                "callback.task_again",
                {"contact": Contact(), "days": chase},
                style=Style.WITH_CARD,
                buttons="phone_callback",
            ),
            Tell(
                Targets(escalate_to),
                "callback.task_still_open",
                {"days": chase},
                style=Style.WITH_CARD,
            ),
        ],
    )


def opened(case: Case, by: By, facts: Facts) -> Decision:
    """B-1: a callback staff open themselves (after helping a resident in trouble, after a
    large community event): it is done at once (their help, or the event, is over), the
    resident is asked in chat in the name of the assistant responsible, or phoned (B-2),
    and B-1's clock starts."""
    return Decision(
        action=Action.RESOLVE,
        expect_status=Status.NEW,
        note=case.description,
        tell=question(case),
        start=[facts.clocked(case, RuleId.B1, events={"completed"})],
    )
