"""The case state machine: every legal transition, and every other one refused."""

from __future__ import annotations

import pytest

from procedures.cases import TRANSITIONS, Action, InvalidTransition, Status, next_status

LEGAL = {
    ("new", "resolve"): "done", ("new", "refer"): "referred", ("new", "escalate"): "new",
    ("new", "update"): "new", ("new", "promise"): "new", ("new", "classify"): "new",
    ("new", "invalidate"): "done",
    ("referred", "refer"): "referred", ("referred", "escalate"): "referred",
    ("referred", "take"): "in_progress", ("referred", "done"): "done",
    ("referred", "feedback"): "review", ("referred", "update"): "referred",
    ("referred", "promise"): "referred", ("referred", "classify"): "referred",
    ("referred", "invalidate"): "done",
    ("in_progress", "take"): "in_progress", ("in_progress", "escalate"): "in_progress",
    ("in_progress", "done"): "done", ("in_progress", "feedback"): "review",
    ("in_progress", "update"): "in_progress", ("in_progress", "promise"): "in_progress",
    ("in_progress", "classify"): "in_progress", ("in_progress", "invalidate"): "done",
    # C-11: the opinion (instructions) before the department's feedback; the assistant's
    # draft in review; C-13's approval, or the approved reply phoned (V-5); C-12's answer
    ("new", "opinion"): "new", ("referred", "opinion"): "referred",
    ("in_progress", "opinion"): "in_progress",
    ("review", "draft"): "review", ("review", "deliver"): "done",
    ("new", "answer"): "new", ("referred", "answer"): "referred",
    ("in_progress", "answer"): "in_progress", ("review", "answer"): "review",
    ("review", "reject"): "review",
    ("review", "approve"): "done", ("review", "classify"): "review",
    ("review", "invalidate"): "done", ("review", "update"): "review",
    ("done", "reopen"): "referred", ("done", "return"): "new", ("done", "close"): "closed",
}  # fmt: skip


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("action", list(Action))
def test_q1_q4_c2_c11_c13_every_transition_legal_and_illegal(
    status: Status, action: Action
) -> None:
    """Q-1, Q-4, C-2, C-11, C-13: a case moves only as the manual lets it; anything else is
    refused (a stale button never moves a case backwards or twice)."""
    expected = LEGAL.get((status.value, action.value))
    if expected is None:
        with pytest.raises(InvalidTransition):
            next_status(status, action)
    else:
        assert next_status(status, action) == expected


def test_the_table_is_exactly_the_legal_moves() -> None:
    assert {(s.value, a.value): t.value for (s, a), t in TRANSITIONS.items()} == LEGAL
    with pytest.raises(InvalidTransition):
        next_status("lost", Action.CLOSE)
