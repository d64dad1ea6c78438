"""Calls and visits received (P5, V-1..V-5): what customer service records of people who
phone or walk in without the bot.

* V-1: a chat message is taken up within minutes of office time (the ``V-1-first-response``
  clock, started for chat cases in :func:`procedures.requests.filed`);
* V-2: something major, urgent or sudden goes to the superior at once (an urgent case);
* V-3: the satisfaction is asked after the work (the callback, P8);
* V-4: the record (客戶來電來訪記錄表): channel, the caller's name and number (a landline
  with its area code or a 400 number is accepted: :mod:`procedures.phone`), unit, what
  they said; filed as a case like a resident's, so every later rule applies;
* V-5: a caller without the bot is called back by phone (:func:`procedures.callbacks.question`).
"""

from __future__ import annotations

from procedures import requests
from procedures.cases import Case
from procedures.decisions import Decision, Facts

#: How a call or visit reached us (V-1): the case's channel.
CHANNELS = ("phone", "visit")


def recorded(case: Case, facts: Facts) -> Decision:
    """V-4: a recorded call or visit is filed as a resident's case is (Q-1, C-9, Q-4, C-5,
    C-4; V-2 when urgent); it has no chat, so V-1 does not run and the resident hears
    nothing in chat."""
    return requests.filed(case, facts)
