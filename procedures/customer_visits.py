"""Customer visits (P9, A-1): staff record the visits they make themselves: where, whom,
what was heard, and a satisfaction score from 1 to 5.

A visit is a case of kind ``visit`` that tells nobody and starts no clock; it is filed
resolved and closed at once with its score (so the weekly report counts it), in one
transaction: a crash leaves the visit whole or absent.

A problem heard on a visit becomes a request or a complaint in one tap: a new case for the
visited resident or unit, filed as any other (customer service's first-responder card, its
clocks), once per visit (:func:`follow_up_key`), the two linked on both audit trails
(:func:`linked`).
"""

from __future__ import annotations

from datetime import datetime

from procedures import calls
from procedures.cases import Action, Case, Kind
from procedures.decisions import Decision, Facts

#: A-1: where a visit took place; stored as the visit case's channel.
PLACES = ("home", "phone", "common", "office")
#: The satisfaction scores offered.
SCORES = range(1, 6)

#: A-1: what a problem heard on a visit may become.
FOLLOW_UP_KINDS = (Kind.REQUEST, Kind.COMPLAINT)
#: The category such a case is filed in: customer service's own, whose first responder
#: resolves it or refers it on (Q-1, C-9) as with any case.
FOLLOW_UP_CATEGORY = "other"
#: A-1: the audit events of the link: on the visit (the case it became), on the new case
#: (the visit it came from). The other's number is the event's note, read on /case.
BECAME = "case.became"
FROM_VISIT = "case.from_visit"


def recorded(score: int, now: datetime) -> Decision:
    """A-1: the visit, filed and at once resolved and closed with its score."""
    if score not in SCORES:
        raise ValueError(f"a visit's score is 1 to 5, not {score}")
    scored = {"satisfaction": score, "called_back_at": now, "callback_channel": "visit"}
    return Decision(follow=[(Action.RESOLVE, {}), (Action.CLOSE, scored)])


def follow_up_key(visit: Case) -> str:
    """A-1: the one case a visit may become is filed under this key: a second tap (of
    either button, by anyone) finds it instead of filing another."""
    return f"visit-case:{visit.id}"


def follow_up_channel(visit: Case) -> str:
    """How the problem reached us: a visit by phone is a call, any other a visit (V-4's
    channels, as the case's card names the resident)."""
    return "phone" if visit.channel == "phone" else "visit"


def filed(case: Case, facts: Facts) -> Decision:
    """A-1: the case a visit's problem became is filed as a recorded call or visit is
    (V-4): customer service's first-responder card (Q-1, C-9), Q-4 or C-5's clocks, a
    complaint to be classified (C-4); the resident hears nothing in chat."""
    return calls.recorded(case, facts)


def linked(visit: Case, case: Case) -> tuple[Decision, Decision]:
    """A-1: the link, audited on both records: on the new case, the visit it came from; on
    the visit, the case it became (its kind and number)."""
    return (
        Decision(event=FROM_VISIT, data={"visit": visit.number, "note": visit.number}),
        Decision(event=BECAME, data={"case": case.number, "kind": case.kind, "note": case.number}),
    )
