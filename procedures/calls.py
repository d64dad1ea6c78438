"""Calls and visits received (P5, V-1..V-5): what customer service records of people who
phone or walk in without the bot.

* V-1: a chat message is taken up within minutes of office time (the ``V-1-first-response``
  clock, started for chat cases in :func:`procedures.requests.filed`);
* V-2: something major, urgent or sudden goes to the superior at once (an urgent case);
* V-3: the answer given on the spot (the satisfactory reply, or the handling view told to
  the customer) is its own step of the record: :func:`spot_answer` keeps it with the case,
  or that none was given, never neither; resolved on the spot, that answer is the
  resolution's text (:func:`resolved_on_the_spot`). The satisfaction is asked after the
  work (the callback, P8);
* V-4: the record (客戶來電來訪記錄表): channel, the caller's name and number (a landline
  with its area code or a 400 number is accepted: :mod:`procedures.phone`), unit, what
  they said; filed as a case like a resident's, so every later rule applies;
* V-5: a caller without the bot is called back by phone (:func:`procedures.callbacks.question`).
"""

from __future__ import annotations

from procedures import requests
from procedures.cases import Case
from procedures.decisions import By, Decision, Facts

#: How a call or visit reached us (V-1): the case's channel.
CHANNELS = ("phone", "visit")

#: V-3: the audit events of the answer given on the spot: what the customer was told, or
#: that nothing was (one of the two, once per case).
SPOT_ANSWER = "case.spot_answer"
NO_SPOT_ANSWER = "case.no_spot_answer"
SPOT_EVENTS = (SPOT_ANSWER, NO_SPOT_ANSWER)
#: Shortest and longest answer kept (it is read on /case's timeline).
MIN_SPOT_ANSWER = 2
MAX_SPOT_ANSWER = 1000


def recorded(case: Case, facts: Facts) -> Decision:
    """V-4: a recorded call or visit is filed as a resident's case is (Q-1, C-9, Q-4, C-5,
    C-4; V-2 when urgent); it has no chat, so V-1 does not run and the resident hears
    nothing in chat."""
    return requests.filed(case, facts)


def clean_spot_answer(text: str) -> str | None:
    """V-3: the answer as kept (trimmed, cut to :data:`MAX_SPOT_ANSWER`), or None when it
    is too short to say anything."""
    answer = text.strip()[:MAX_SPOT_ANSWER]
    return answer if len(answer) >= MIN_SPOT_ANSWER else None


def spot_answer(case: Case, answer: str | None, *, answered_already: bool) -> Decision | None:
    """V-3: the answer given on the spot, kept with the case as its own audited event (its
    text is the event's note, shown on /case's timeline and erasable as personal data);
    ``answer`` None records that no answer was given on the spot. None when the case has
    its spot answer already (a message handled twice records it once)."""
    if answered_already:
        return None
    if answer is None:
        return Decision(event=NO_SPOT_ANSWER, data={"number": case.number})
    return Decision(event=SPOT_ANSWER, data={"number": case.number, "note": answer})


def resolved_on_the_spot(case: Case, answer: str, by: By, facts: Facts) -> Decision | None:
    """V-3, Q-1: the call or visit was resolved on the spot: resolved as the first
    responder's "resolved on the spot" does (work clocks stop, the callback clock starts),
    with the spot answer as the resolution's text. None for a complaint not classified yet
    (C-4: none is resolved unclassified; its spot answer is kept all the same)."""
    decision = requests.resolve(case, by, facts)
    if decision is not None:
        decision.note = answer
    return decision
