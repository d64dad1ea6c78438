"""Calls and visits received (procedures.calls) and customer visits turned into cases
(procedures.customer_visits) as decisions: V-3, A-1; no database, no Telegram."""

from __future__ import annotations

from procedures import calls
from procedures.cases import Action
from procedures.clocks import WORK_CLOCKS
from procedures.decisions import By
from procedures.rule_ids import RuleId
from tests.support.decisions import a_case, a_complaint, facts

CALL = a_case(channel="phone", resident_id=None, caller_name="李女士")


def test_v3_the_spot_answer_is_its_own_audited_event_with_the_answer_as_note() -> None:
    decision = calls.spot_answer(CALL, "已告知明天上午派人维修", answered_already=False)
    assert decision is not None and decision.action is None
    assert decision.event == "case.spot_answer"
    assert decision.data == {"number": CALL.number, "note": "已告知明天上午派人维修"}
    assert decision.tell == [] and decision.start == [] and decision.stop == []


def test_v3_no_answer_on_the_spot_is_recorded_as_such() -> None:
    decision = calls.spot_answer(CALL, None, answered_already=False)
    assert decision is not None and decision.event == "case.no_spot_answer"
    assert "note" not in decision.data


def test_v3_a_case_has_one_spot_answer() -> None:
    assert calls.spot_answer(CALL, "再说一遍", answered_already=True) is None
    assert calls.spot_answer(CALL, None, answered_already=True) is None


def test_v3_an_answer_is_trimmed_and_must_say_something() -> None:
    assert calls.clean_spot_answer("  好 ") is None
    assert calls.clean_spot_answer("  已答复  ") == "已答复"
    assert len(calls.clean_spot_answer("答" * 5000) or "") == calls.MAX_SPOT_ANSWER


def test_v3_resolved_on_the_spot_the_answer_is_the_resolution_text() -> None:
    """V-3, Q-1: resolved as the first responder's button does, with the answer as note."""
    decision = calls.resolved_on_the_spot(CALL, "已当场解答", By(5, "周晓梅"), facts())
    assert decision.action is Action.RESOLVE and decision.expect_status == "new"
    assert decision.note == "已当场解答"
    assert decision.stop == list(WORK_CLOCKS) and decision.started == [RuleId.B1]
    complaint = calls.resolved_on_the_spot(
        a_complaint(channel="visit", resident_id=None), "已道歉并说明", By(5, "周晓梅"), facts()
    )
    assert complaint.started == [RuleId.C14]
