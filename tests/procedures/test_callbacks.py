"""Callbacks and visits as decisions (procedures.callbacks, calls, customer_visits): B-1..B-4,
C-2, C-14, V-4, A-1; no database, no Telegram."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from procedures import callbacks, calls, customer_visits, requests
from procedures.cases import Action
from procedures.clocks import CALLBACK_CLOCKS
from procedures.decisions import Assistant, By, Contact, Department, Resident, Roles, Text
from procedures.rule_ids import RuleId
from tests.support.decisions import FILED, a_case, a_complaint, facts, keys, timer_of, to


def test_b3_b4_a_satisfied_resident_closes_the_case_and_the_callback_is_recorded() -> None:
    done = a_case(status="done", department="engineering")
    decision = callbacks.called_back(
        done, satisfied=True, score=5, channel="chat", facts=facts(timedelta(days=1))
    )
    assert decision.action is Action.CLOSE and decision.expect_status == "done"
    assert decision.changes == {
        "called_back_at": FILED + timedelta(days=1), "callback_channel": "chat", "satisfaction": 5,
    }  # fmt: skip
    assert decision.stop == list(CALLBACK_CLOCKS)
    # answered in chat: the resident sees it recorded there already; the assistant hears it
    assert keys(decision) == ["callback.answered_for_assistant"]
    by_phone = callbacks.called_back(
        done, satisfied=True, score=None, channel="phone", facts=facts(timedelta(days=1))
    )
    assert keys(by_phone) == ["callback.thanks"]


@pytest.mark.parametrize(("score", "satisfied"), [(1, False), (2, False), (3, True), (5, True)])
def test_b3_two_stars_or_less_is_unsatisfied(score: int, satisfied: bool) -> None:
    assert callbacks.satisfied(score) is satisfied
    assert callbacks.satisfied(None) is False


def test_c2_an_unsatisfied_resident_reopens_the_case_to_its_department() -> None:
    """C-2, B-3: back to the department (Q-4 counted afresh from the reopening, which is a
    new referral), the supervisor told."""
    done = a_case(status="done", department="engineering", assignee_id=21)
    now = facts(timedelta(days=1))
    decision = callbacks.called_back(done, satisfied=False, score=2, channel="chat", facts=now)
    assert decision.action is Action.REOPEN
    assert decision.changes["assignee_id"] is None and decision.changes["satisfaction"] == 2
    assert decision.started == [RuleId.Q4]
    assert timer_of(decision, RuleId.Q4).due_at == now.now + timedelta(hours=24)
    [staff] = to(decision, Department("engineering"))
    assert (staff.key, staff.buttons) == ("callback.reopened_for_staff", "department")
    assert to(decision, Roles(frozenset({"cc_supervisor"})))


def test_c2_a_case_no_department_had_goes_back_to_the_first_responder() -> None:
    done = a_case(status="done")
    decision = callbacks.called_back(
        done, satisfied=False, score=None, channel="phone", facts=facts(timedelta(days=1))
    )
    assert decision.action is Action.RETURN
    assert decision.started == [RuleId.Q4, RuleId.Q1]
    [staff] = to(decision, Department("customer_service"))
    assert staff.buttons == "first_responder"


def test_c12_a_disputed_major_complaint_must_still_be_resolved() -> None:
    done = a_complaint(status="done", department="engineering", severity="major")
    decision = callbacks.called_back(
        done, satisfied=False, score=1, channel="chat", facts=facts(timedelta(days=3))
    )
    assert decision.started == [RuleId.C12_MAJOR_RESOLVE]
    assert timer_of(decision, RuleId.C12_MAJOR_RESOLVE).due_at == FILED + timedelta(days=15)


def test_b2_an_unreachable_resident_is_tried_again_within_a_day() -> None:
    now = facts(timedelta(days=3))
    request = callbacks.unreachable(a_case(status="done"), now)
    assert request.event == "case.callback_unreachable" and request.expect_status == "done"
    [timer] = request.start
    assert (timer.rule, timer.due_at) == (RuleId.B1, now.now + timedelta(days=1))
    assert timer.warn_at == now.now + timedelta(hours=22)
    assert callbacks.unreachable(a_complaint(status="done"), now).started == [RuleId.C14]


def test_b2_b3_a_further_opinion_is_kept_and_passed_to_the_assistant_responsible() -> None:
    decision = callbacks.comment(a_case(status="closed"), "师傅很准时")
    assert decision.event == "case.comment" and decision.data == {"note": "师傅很准时"}
    [told] = to(decision, Assistant())
    assert told.params == {"text": "师傅很准时"}
    assert not to(decision, Department("customer_service"))  # the group only without one


def test_b2_b3_the_resident_is_asked_in_chat_in_the_name_of_the_assistant() -> None:
    """B-3: after the work the customer is asked whether it was solved (then how
    satisfied), in chat with the buttons; B-2: in the name of the assistant responsible."""
    [asked] = callbacks.question(a_case(status="done"))
    assert asked.to == Resident() and asked.buttons == "callback_question"
    assert asked.params == {"by": Assistant()}


def test_b2_v5_a_caller_without_the_bot_is_phoned_by_the_assistant_responsible() -> None:
    [task] = callbacks.question(a_case(status="done", resident_id=None, caller_phone="021"))
    assert (task.to, task.buttons) == (Assistant(), "phone_callback")
    assert task.params == {"contact": Contact()}  # the number in full, to call


@pytest.mark.parametrize(
    ("solved", "score", "key"),
    [(True, 4, "callback.said_solved"), (False, None, "callback.said_unsolved")],
)
def test_b2_the_residents_chat_answer_reaches_the_assistant_responsible(
    solved: bool, score: int | None, key: str
) -> None:
    done = a_case(status="done", department="engineering")
    decision = callbacks.called_back(
        done,
        satisfied=solved,
        score=score,
        channel="chat",
        facts=facts(timedelta(days=1)),
        solved=solved,
    )
    [heard] = to(decision, Assistant())
    assert heard.key == "callback.answered_for_assistant"
    assert heard.params["solved"] == Text(key)
    assert heard.params["stars"] == ("⭐⭐⭐⭐" if score else "—")
    assert decision.data == {"solved": solved}


def test_b4_a_phone_callback_is_recorded_as_fully_as_a_chat_one() -> None:
    """B-2, B-4: solved, the score, the notes, who called and when; the same columns as a
    chat answer (satisfaction, channel, time), so the weekly report counts them alike."""
    done = a_case(status="done", department="engineering")
    now = facts(timedelta(days=2))
    decision = callbacks.phone_recorded(
        done, solved=True, score=4, note=" 师傅很好，建议楼道加灯 ", by=By(21, "周晓梅"), facts=now
    )
    assert decision.action is Action.CLOSE and decision.expect_status == "done"
    assert decision.changes == {
        "called_back_at": now.now, "callback_channel": "phone", "satisfaction": 4,
    }  # fmt: skip
    assert decision.data == {"solved": True, "called_back_by": 21}
    assert decision.note == "师傅很好，建议楼道加灯"
    assert keys(decision) == ["callback.thanks"]  # the resident hears it closed
    assert decision.stop == list(CALLBACK_CLOCKS)


@pytest.mark.parametrize(("solved", "score"), [(False, 5), (True, 2)])
def test_b4_c2_a_phone_callback_not_solved_or_unsatisfied_reopens(solved: bool, score: int) -> None:
    done = a_case(status="done", department="engineering")
    decision = callbacks.phone_recorded(
        done, solved=solved, score=score, note=None, by=By(21, "周晓梅"), facts=facts()
    )
    assert decision.action is Action.REOPEN and decision.changes["satisfaction"] == score
    assert decision.data == {"solved": solved, "called_back_by": 21} and decision.note is None
    with pytest.raises(ValueError, match="1 to 5"):
        callbacks.phone_recorded(
            done, solved=True, score=0, note=None, by=By(21, "周"), facts=facts()
        )


def test_b1_a_callback_opened_by_staff_is_asked_at_once_with_three_days() -> None:
    """B-1: after helping a resident in trouble (or an event), staff open a callback: done at
    once, the resident asked in the assistant's name, B-1's 3 days from now."""
    opened = a_case(kind="callback", category="help", number="HF-20261127-0001")
    now = facts(timedelta(hours=1))
    decision = callbacks.opened(opened, By(21, "周晓梅"), now)
    assert decision.action is Action.RESOLVE and decision.expect_status == "new"
    assert decision.note == "厨房水管漏水"
    [asked] = to(decision, Resident())
    assert asked.key == "callback.question" and asked.params == {"by": Assistant()}
    assert timer_of(decision, RuleId.B1).due_at == now.now + timedelta(days=3)
    by_phone = callbacks.opened(replace(opened, resident_id=None), By(21, "周晓梅"), now)
    assert [t.to for t in by_phone.tell] == [Assistant()]


def test_v4_a_recorded_call_is_filed_as_a_residents_case() -> None:
    case = a_case(resident_id=None, channel="phone", caller_name="李女士", caller_phone="021")
    assert calls.recorded(case, facts()) == requests.filed(case, facts())
    assert calls.CHANNELS == ("phone", "visit")


def test_a1_a_visit_is_resolved_and_closed_at_once_with_its_score() -> None:
    decision = customer_visits.recorded(4, FILED)
    assert decision.tell == [] and decision.start == []
    assert decision.follow == [
        (Action.RESOLVE, {}),
        (Action.CLOSE, {"satisfaction": 4, "called_back_at": FILED, "callback_channel": "visit"}),
    ]
    with pytest.raises(ValueError, match="1 to 5"):
        customer_visits.recorded(6, FILED)
