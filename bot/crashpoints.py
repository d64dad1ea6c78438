"""Chosen moments to die at, for crash tests.

``crashpoint("outbox.sent")`` kills the process on the spot (SIGKILL: no shutdown, no flush,
as a power cut) when ``WUYE_TEST_CRASH_AT`` names that point and ``WUYE_TEST_MODE`` is on;
otherwise it does nothing. A test starts the bot with the variable set, lets it die at that
very moment, and starts it again without it (``tests/test_crash.py``).

Like the test clock, it is refused outside test mode: the settings stop start-up when
``WUYE_TEST_CRASH_AT`` is set without ``WUYE_TEST_MODE`` (``bot.settings``), and this module
checks both again, so a stray variable never kills a production bot.
"""

from __future__ import annotations

import os
import signal

#: The variable naming the point to die at.
VARIABLE = "WUYE_TEST_CRASH_AT"

#: Every crash point there is, and where:
POINTS = {
    # handlers.requests.got_urgency: the case is filed and the person's message edited, the
    # update not yet finished (its conversation state not stored).
    "filing.edited",
    # bot.outbox.OutboxSender._send: Telegram took the message, the row is not yet marked.
    "outbox.sent",
    # bot.sweeper.Sweeper._fire: a timer marked fired or warned inside its transaction, its
    # reaction not yet queued, nothing committed.
    "deadline.marked",
}

#: What pydantic reads as true (the settings' ``test_mode``).
_ON = {"1", "on", "t", "true", "y", "yes"}


def test_mode() -> bool:
    """Whether ``WUYE_TEST_MODE`` is on (read as the settings read a boolean)."""
    return os.environ.get("WUYE_TEST_MODE", "").strip().lower() in _ON


def crashpoint(name: str) -> None:
    """Die here (SIGKILL) when the tests asked for this point; else nothing."""
    if os.environ.get(VARIABLE) == name and test_mode():
        os.kill(os.getpid(), signal.SIGKILL)
