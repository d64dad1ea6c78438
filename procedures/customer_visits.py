"""Customer visits (P9, A-1): staff record the visits they make themselves: where, whom,
what was heard, and a satisfaction score from 1 to 5.

A visit is a case of kind ``visit`` that tells nobody and starts no clock; it is filed
resolved and closed at once with its score (so the weekly report counts it), in one
transaction: a crash leaves the visit whole or absent.
"""

from __future__ import annotations

from datetime import datetime

from procedures.cases import Action
from procedures.decisions import Decision

#: A-1: where a visit took place; stored as the visit case's channel.
PLACES = ("home", "phone", "common", "office")
#: The satisfaction scores offered.
SCORES = range(1, 6)


def recorded(score: int, now: datetime) -> Decision:
    """A-1: the visit, filed and at once resolved and closed with its score."""
    if score not in SCORES:
        raise ValueError(f"a visit's score is 1 to 5, not {score}")
    scored = {"satisfaction": score, "called_back_at": now, "callback_channel": "visit"}
    return Decision(follow=[(Action.RESOLVE, {}), (Action.CLOSE, scored)])
