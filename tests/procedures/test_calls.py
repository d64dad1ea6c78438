"""Calls and visits received (procedures.calls) and customer visits turned into cases
(procedures.customer_visits) as decisions: V-3, A-1; no database, no Telegram."""

from __future__ import annotations

from dataclasses import replace

from procedures import calls, customer_visits
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
    assert decision is not None
    assert decision.action is Action.RESOLVE and decision.expect_status == "new"
    assert decision.note == "已当场解答"
    assert decision.stop == list(WORK_CLOCKS) and decision.started == [RuleId.B1]
    visitor = a_complaint(channel="visit", resident_id=None)
    # C-4: an unclassified complaint is not resolved, even on the spot; classified, it is
    assert calls.resolved_on_the_spot(visitor, "已道歉并说明", By(5, "周晓梅"), facts()) is None
    complaint = calls.resolved_on_the_spot(
        replace(visitor, severity="minor"), "已道歉并说明", By(5, "周晓梅"), facts()
    )
    assert complaint is not None and complaint.started == [RuleId.C14]


VISIT = a_case(
    id=40, number="FW-20261127-0001", kind="visit", category=None, channel="home",
    status="closed", resident_id=None, caller_name="张娜",
)  # fmt: skip


def test_a1_a_visit_becomes_one_case_whichever_button() -> None:
    assert customer_visits.follow_up_key(VISIT) == "visit-case:40"
    assert customer_visits.FOLLOW_UP_KINDS == ("request", "complaint")


def test_a1_a_visit_by_phone_becomes_a_call_any_other_a_visit() -> None:
    assert customer_visits.follow_up_channel(VISIT) == "visit"
    assert customer_visits.follow_up_channel(a_case(kind="visit", channel="phone")) == "phone"


def test_a1_the_link_is_audited_on_both_records() -> None:
    case = a_case(id=41, number="XQ-20261127-0002", resident_id=None)
    on_case, on_visit = customer_visits.linked(VISIT, case)
    assert on_case.event == "case.from_visit" and on_case.data["visit"] == VISIT.number
    assert on_visit.event == "case.became" and on_visit.data["case"] == case.number
    assert on_visit.data["kind"] == "request"
    assert on_case.action is None and on_visit.action is None  # no moves, no notices
    assert on_case.tell == [] and on_visit.tell == []
