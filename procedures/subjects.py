"""What the shared machinery attaches to: a subject, ``(kind, id)``.

Clocks (deadlines), outbox rows, audit events, approvals and evidence belong to a subject,
never only to a case, so a new procedure adds its own records and rules and reuses the
machinery. Requests, complaints, callbacks and visits are ``case`` subjects (one ``cases``
row each); renovations, handovers, exit passes and violations will be subjects of their own
kinds with their own tables (see the README, "Records and subjects").
"""

from __future__ import annotations

from typing import NamedTuple


class Subject(NamedTuple):
    """A record the machinery attaches to: its kind and its id in that kind's table."""

    kind: str
    id: int

    def __str__(self) -> str:
        """``case:12``: the form the audit trail names subjects by."""
        return f"{self.kind}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> Subject:
        """The subject ``case:12`` names (ValueError for anything else)."""
        kind, _, number = text.partition(":")
        if not kind or not number.isdigit():
            raise ValueError(f"not a subject: {text!r}")
        return cls(kind, int(number))


#: The kind of requests, complaints, callbacks and visits (rows of ``cases``).
CASE = "case"


def case(case_id: int) -> Subject:
    """The subject of a case."""
    return Subject(CASE, case_id)
