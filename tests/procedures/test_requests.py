"""Requests and every case's shared steps as decisions (procedures.requests), with no
database and no Telegram: what each step changes, which clocks start and stop, who is
told with which text and buttons."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from procedures import requests
from procedures.cases import Action, Status
from procedures.clocks import WORK_CLOCKS, in_force
from procedures.decisions import (
    Arm,
    Assistant,
    By,
    Contact,
    Department,
    Evidence,
    Resident,
    Roles,
    Style,
    Text,
)
from procedures.rule_ids import RuleId
from tests.support.decisions import FILED, a_case, a_complaint, facts, keys, timer_of, to

ENGINEER = By(21, "郑海")


def test_q2_c10_q1_v1_q4_a_filed_request_starts_its_clocks_and_reaches_customer_service() -> None:
    """Q-2, C-10: recorded (the resident's card: C-8, a first answer at once); Q-1: customer
    service's card with the first responder's buttons; the clocks Q-1 (10 min), V-1 (5
    working minutes), Q-4 (24 h)."""
    decision = requests.filed(a_case(), facts())
    assert decision.started == [RuleId.Q1, RuleId.V1_FIRST_RESPONSE, RuleId.Q4]
    assert timer_of(decision, RuleId.Q1).due_at == FILED + timedelta(minutes=10)
    assert timer_of(decision, RuleId.Q1).warn_at == FILED + timedelta(minutes=8)
    assert timer_of(decision, RuleId.V1_FIRST_RESPONSE).due_at == FILED + timedelta(minutes=5)
    assert timer_of(decision, RuleId.Q4).due_at == FILED + timedelta(hours=24)
    [resident] = to(decision, Resident())
    assert (resident.key, resident.style) == ("case.filed", Style.WITH_CARD)
    [cs] = to(decision, Department("customer_service"))
    assert (cs.key, cs.style, cs.buttons) == (
        "case.new_for_first_responder",
        Style.CARD,
        "first_responder",
    )
    assert decision.action is None and decision.stop == []


def test_v1_a_recorded_phone_call_has_no_chat_clock() -> None:
    """V-1 runs for chat messages; a call staff recorded starts Q-1 and Q-4 only."""
    decision = requests.filed(a_case(channel="phone", resident_id=None), facts())
    assert decision.started == [RuleId.Q1, RuleId.Q4]


def test_c4_c5_a_filed_complaint_asks_the_supervisor_and_starts_its_week() -> None:
    """C-4: the project supervisor is asked to classify (with the buttons and the estate's
    limit), on C-4's own clock; C-5: the week starts; no Q-4 (a complaint's handling
    clock comes with its classification)."""
    decision = requests.filed(a_complaint(), facts())
    assert decision.started == [RuleId.Q1, RuleId.V1_FIRST_RESPONSE, RuleId.C5_WEEK, RuleId.C4]
    assert timer_of(decision, RuleId.C4).warn_at is not None
    assert timer_of(decision, RuleId.C5_WEEK).due_at == FILED + timedelta(days=7)
    [ask] = to(decision, Roles(frozenset({"project_supervisor"})))
    assert (ask.key, ask.buttons) == ("complaint.classify_please", "classification")


def test_v2_an_urgent_case_goes_to_the_superior_at_once() -> None:
    """V-2, Q-1, C-3: major, urgent or sudden → the customer-centre supervisor at once."""
    assert "case.urgent_reported" not in keys(requests.filed(a_case(), facts()))
    urgent = requests.filed(a_case(urgent=True), facts())
    [told] = to(urgent, Roles(frozenset({"cc_supervisor"})))
    assert told.key == "case.urgent_reported"


def test_q1_c9_referring_stops_the_referral_clocks_and_tells_the_department() -> None:
    """Q-1, C-9: referred within 10 minutes: Q-1 and V-1 stop; clocks counted from the
    referral start; the department gets the card with take/promise; the resident hears
    which department, in their own language."""
    decision = requests.refer(a_case(), "engineering", facts(timedelta(minutes=3)))
    assert (
        decision is not None
        and decision.action is Action.REFER
        and decision.expect_status == Status.NEW
    )
    assert decision.changes == {"department": "engineering"}
    assert decision.stop == [RuleId.Q1, RuleId.V1_FIRST_RESPONSE]
    assert decision.arm == [Arm("referred", FILED + timedelta(minutes=3))]
    [dept] = to(decision, Department("engineering"))
    assert (dept.key, dept.buttons) == ("case.new_for_department", "department")
    [resident] = to(decision, Resident())
    assert resident.params == {"department": Text("department.engineering")}


def test_v2_escalating_a_complaint_reaches_the_supervisors_and_leadership() -> None:
    """V-2, Q-1, C-3, C-9: a request goes to the customer-centre supervisor; a complaint
    also to the project supervisor and leadership; V-1 stops (someone took it up)."""
    request = requests.escalate(a_case(), ENGINEER)
    assert request is not None and to(request, Roles(frozenset({"cc_supervisor"})))
    assert request.changes == {"urgent": True}
    complaint = requests.escalate(a_complaint(), ENGINEER)
    assert complaint is not None
    everyone = frozenset({"cc_supervisor", "project_supervisor", "leadership"})
    [told] = to(complaint, Roles(everyone))
    assert told.params == {"name": "郑海"}
    assert complaint.stop == [RuleId.V1_FIRST_RESPONSE]
    assert complaint.action is Action.ESCALATE


def test_v2_an_urgent_case_is_not_escalated_again() -> None:
    """V-2: the superior heard of it already (filed urgent, or escalated): a second press
    tells nobody."""
    assert requests.escalate(a_case(urgent=True), ENGINEER) is None


def test_q1_a_second_referral_to_the_same_department_changes_nothing() -> None:
    """A double tap, or a stale card: one notice, one card, one audit event. Referring on to
    another department is still a referral."""
    referred = a_case(status="referred", department="engineering")
    assert requests.refer(referred, "engineering", facts()) is None
    assert requests.refer(referred, "security", facts()) is not None
    taken = a_case(status="in_progress", department="engineering", assignee_id=21)
    assert requests.refer(taken, "engineering", facts()) is None


def test_q4_taking_a_case_one_has_already_taken_changes_nothing() -> None:
    taken = a_case(status="in_progress", department="engineering", assignee_id=21)
    assert requests.take(taken, ENGINEER) is None
    assert requests.take(taken, By(22, "钱工")) is not None  # a reassignment (checked by role)


def test_q4_taking_a_case_assigns_it_and_tells_the_resident_who() -> None:
    decision = requests.take(a_case(status="referred", department="engineering"), ENGINEER)
    assert (
        decision is not None
        and decision.action is Action.TAKE
        and decision.changes == {"assignee_id": 21}
    )
    assert decision.expect_status == "referred"
    [told] = to(decision, Resident())
    assert (told.key, told.params) == ("case.taken", {"name": "郑海"})


def test_q4_b1_b3_done_stops_every_work_clock_asks_the_resident_and_starts_the_callback() -> None:
    """Q-4: handling (not a first reply) stops the clock; B-3: the resident is asked
    whether it was solved; B-1: the callback clock (3 days) starts from the completion."""
    case = a_case(status="in_progress", department="engineering", assignee_id=21)
    decision = requests.done(case, ENGINEER, facts(timedelta(hours=5)))
    assert decision is not None and decision.action is Action.DONE
    assert decision.stop == list(WORK_CLOCKS)
    assert decision.started == [RuleId.B1]
    assert timer_of(decision, RuleId.B1).due_at == FILED + timedelta(hours=5, days=3)
    assert keys(decision) == ["case.done", "callback.question"]
    assert decision.tell[1].buttons == "callback_question"


def test_c11_a_handled_complaint_goes_to_review_instead() -> None:
    """C-11: a complaint the department has handled is not done yet: it is reviewed."""
    case = a_complaint(status="in_progress", department="engineering", assignee_id=21)
    assert requests.done(case, ENGINEER, facts(timedelta(hours=5)), "已修好") is None  # C-11
    case = replace(case, opinion="更换阀门")
    decision = requests.done(case, ENGINEER, facts(timedelta(hours=5)), "已修好")
    assert decision is not None and decision.action is Action.FEEDBACK
    assert decision.started == [RuleId.C11_SAME_DAY]


def test_c4_an_unclassified_complaint_is_not_resolved_on_the_spot() -> None:
    """C-4: no complaint is closed unclassified, one resolved on the spot included."""
    assert requests.resolve(a_complaint(), ENGINEER, facts()) is None
    decision = requests.resolve(a_complaint(severity="minor"), ENGINEER, facts())
    assert decision is not None and decision.started == [RuleId.C14]


def test_q1_resolved_on_the_spot_is_done_with_the_callback_to_follow() -> None:
    decision = requests.resolve(a_case(), ENGINEER, facts(timedelta(minutes=2)))
    assert (
        decision is not None
        and decision.action is Action.RESOLVE
        and decision.started == [RuleId.B1]
    )
    assert keys(decision)[0] == "case.resolved"


def test_v5_a_caller_without_the_bot_is_phoned_by_the_assistant() -> None:
    """V-5: no chat to ask in: the assistant responsible (B-2) gets the phone task with its
    buttons and the caller's number."""
    case = a_case(resident_id=None, channel="phone", caller_name="李女士", caller_phone="021")
    decision = requests.resolve(case, ENGINEER, facts())
    assert decision is not None
    [task] = to(decision, Assistant())
    assert (task.key, task.buttons) == ("callback.phone_caller", "phone_callback")
    assert task.params == {"contact": Contact()}
    assert "callback.question" not in keys(decision)  # nobody to ask in chat


def test_q4_c1_a_promise_moves_the_clock_to_the_promised_time() -> None:
    """Q-4: "or by the time promised to the customer": the request's clock is due then;
    C-1: a complaint's next-reply clock runs to it; clocks counted from it start."""
    now = facts(timedelta(hours=1))  # 11:00 in Shanghai
    assert requests.offered_promises(now) == ["today18", "tomorrow12", "tomorrow18", "after18"]
    decision = requests.promise(a_case(status="referred"), "tomorrow12", now)
    assert decision is not None and decision.action is Action.PROMISE
    promised = FILED + timedelta(days=1, hours=2)  # tomorrow 12:00 Shanghai
    assert decision.changes == {"promised_at": promised}
    assert timer_of(decision, RuleId.Q4).due_at == promised
    assert decision.arm[0].event == "fixed" and decision.arm[0].besides == (RuleId.Q4,)
    complaint = requests.promise(a_complaint(status="referred"), "tomorrow12", now)
    assert complaint is not None and complaint.started == [RuleId.C1_NEXT_REPLY]


def test_q4_a_promise_already_past_is_refused() -> None:
    evening = facts(timedelta(hours=9))  # 19:00 in Shanghai: today 18:00 has passed
    assert "today18" not in requests.offered_promises(evening)
    assert requests.promise(a_case(), "today18", evening) is None
    assert requests.promise(a_case(), "someday", evening) is None


#: The next reply time fixed with the resident of :func:`a_complaint`: 18:00 on the day.
NEXT_REPLY = FILED + timedelta(hours=8)


def test_c1_a_reply_reaching_the_resident_by_the_next_reply_time_meets_it() -> None:
    """C-1: 確定下次回復的時間 — what falls due is a reply to the customer, not the
    solution: progress posted to the card reaches the resident at (or before) that time,
    and the clock is met; the case moves on as it was."""
    complaint = a_complaint(status="in_progress", department="security")
    for after in (timedelta(hours=3), timedelta(hours=8)):  # before, and at the time
        at = facts(after, due={RuleId.C1_NEXT_REPLY: NEXT_REPLY})
        decision = requests.update(complaint, ENGINEER, "已约保安队长今晚上门", None, at)
        assert decision.stop == [RuleId.C1_NEXT_REPLY]
        assert decision.action is Action.UPDATE and decision.expect_status == "in_progress"
        assert keys(decision) == ["progress.update"]


def test_c1_a_reply_after_the_next_reply_time_meets_nothing() -> None:
    """C-1: late, the reply still reaches the resident, but the clock ran out: its breach
    stands (the sweeper's), nothing is met."""
    complaint = a_complaint(status="in_progress", department="security")
    late = facts(timedelta(hours=8, seconds=1), due={RuleId.C1_NEXT_REPLY: NEXT_REPLY})
    decision = requests.update(complaint, ENGINEER, "抱歉，今晚才能上门", None, late)
    assert decision.stop == [] and keys(decision) == ["progress.update"]


def test_c1_a_note_that_reaches_no_resident_is_no_reply() -> None:
    """C-1, V-5: a caller without the bot is answered by phone; a note on the card reaches
    nobody and meets nothing. Without a next reply time fixed there is nothing to meet."""
    by_phone = a_complaint(status="in_progress", resident_id=None, channel="phone")
    fixed = facts(timedelta(hours=3), due={RuleId.C1_NEXT_REPLY: NEXT_REPLY})
    assert requests.update(by_phone, ENGINEER, "已电话联系", None, fixed).stop == []
    nothing_fixed = facts(timedelta(hours=3))
    assert requests.update(a_complaint(), ENGINEER, "在处理", None, nothing_fixed).stop == []


def test_q4_a_first_reply_does_not_stop_the_requests_clock() -> None:
    """Q-4: handling, not a first reply, stops it: progress on a request stops no clock."""
    running = facts(timedelta(hours=3), due={RuleId.Q4: FILED + timedelta(hours=24)})
    assert requests.update(a_case(status="in_progress"), ENGINEER, "在修", None, running).stop == []


def test_c1_a_new_next_reply_time_told_in_time_meets_the_one_before() -> None:
    """C-1: fixing the next reply time again tells the resident, a reply in its own right:
    told in time, the earlier time is met and the new one runs; told late, the earlier one
    stays run out (its breach stands) and the new one runs all the same."""
    complaint = a_complaint(status="in_progress", promised_at=NEXT_REPLY)
    in_time = requests.promise(
        complaint, "tomorrow12", facts(timedelta(hours=7), due={RuleId.C1_NEXT_REPLY: NEXT_REPLY})
    )
    assert in_time is not None and in_time.stop == [RuleId.C1_NEXT_REPLY]
    assert in_time.started == [RuleId.C1_NEXT_REPLY]
    late = requests.promise(
        complaint, "tomorrow12", facts(timedelta(hours=9), due={RuleId.C1_NEXT_REPLY: NEXT_REPLY})
    )
    assert late is not None and late.stop == [] and late.started == [RuleId.C1_NEXT_REPLY]


def test_c1_the_complainant_is_told_when_they_will_hear_from_us_next() -> None:
    """C-1: a complaint's promise is its next reply time (下次回復的時間), and the resident
    reads it as such; a request's is the time it will be handled by (Q-4)."""
    at = facts(timedelta(hours=1))
    complaint = requests.promise(a_complaint(status="new"), "today18", at)
    assert complaint is not None and keys(complaint) == ["progress.promised_reply"]
    request = requests.promise(a_case(status="new"), "today18", at)
    assert request is not None and keys(request) == ["progress.promised"]


def test_c1_q4_a_promised_time_is_moved_only_while_its_clock_is_in_force() -> None:
    """C-1, Q-4: a time promised whose clock still runs (or ran out unmet) is moved only by
    the head or the supervisor; once a reply met a complaint's next reply time, the next
    one is fixed afresh by whoever may promise."""
    complaint = a_complaint(status="referred", promised_at=NEXT_REPLY)
    running = facts(timedelta(hours=3), due={RuleId.C1_NEXT_REPLY: NEXT_REPLY})
    run_out = facts(timedelta(hours=9), due={RuleId.C1_NEXT_REPLY: NEXT_REPLY})
    assert requests.promise_locked(complaint, running)
    assert requests.promise_locked(complaint, run_out)
    assert not requests.promise_locked(complaint, facts(timedelta(hours=9)))  # met
    assert not requests.promise_locked(a_complaint(), running)  # nothing promised yet
    request = a_case(status="in_progress", promised_at=NEXT_REPLY)
    assert requests.promise_locked(request, facts(due={RuleId.Q4: NEXT_REPLY}))
    assert not requests.promise_locked(request, facts(due={RuleId.C1_NEXT_REPLY: NEXT_REPLY}))


def test_c1_q4_the_clock_in_force_is_the_latest_timer_running_or_run_out() -> None:
    """C-1, Q-4: a rule's clock in force is its latest timer while it runs, or once it ran
    out unmet (fired); a met, cancelled or waiting one is none (a promise moved replaced
    the timer before it)."""
    day, promised, later = (FILED + timedelta(hours=h) for h in (24, 30, 48))
    timers = [
        ("Q-4", day, "cancelled"),  # replaced by the promise
        ("Q-4", promised, "pending"),
        ("C-1-next-reply", day, "fired"),
        ("Q-1", day, "met"),
        ("C-12-important", later, "warned"),
        ("C-14", later, "waiting"),
    ]
    assert in_force(timers) == {
        "Q-4": promised,
        "C-1-next-reply": day,
        "C-12-important": later,
    }
    assert in_force([("C-1-next-reply", day, "fired"), ("C-1-next-reply", later, "met")]) == {}


#: The end of a request's day (Q-4: 24 hours from its acceptance at :data:`FILED`).
DAY_ENDS = FILED + timedelta(hours=24)
SUPERVISOR = By(12, "吴建国")


def test_q4_a_promise_before_the_day_runs_out_replaces_it() -> None:
    """Q-4: 事前 — promised before the day runs out, the time replaces it, unsigned."""
    request = a_case(status="in_progress", department="engineering")
    at = facts(timedelta(hours=23, minutes=59), due={RuleId.Q4: DAY_ENDS})
    assert not requests.promise_too_late(request, at)
    decision = requests.promise(request, "after18", at)
    assert decision is not None and decision.approval is None
    assert timer_of(decision, RuleId.Q4).due_at == FILED + timedelta(days=3, hours=8)


def test_q4_a_promise_after_the_day_ran_out_needs_the_supervisor() -> None:
    """Q-4: once the day is due (fired or not yet), a promise is no longer beforehand: the
    decision refuses it unless made by the customer-centre supervisor."""
    request = a_case(status="in_progress", department="engineering")
    for after in (timedelta(hours=24), timedelta(hours=30)):
        at = facts(after, due={RuleId.Q4: DAY_ENDS})
        assert requests.promise_too_late(request, at)
        assert requests.promise(request, "tomorrow12", at) is None
        assert requests.promise(request, "tomorrow12", at, by=ENGINEER) is None


def test_q4_a_time_promised_in_time_runs_out_too() -> None:
    """Q-4: a promise made in time replaced the day; once it is due, a new one is late."""
    promised = a_case(status="in_progress", promised_at=FILED + timedelta(hours=8))
    at = facts(timedelta(hours=9), due={RuleId.Q4: FILED + timedelta(hours=8)})
    assert requests.promise_too_late(promised, at)


def test_q4_the_supervisors_late_promise_is_signed_and_the_department_told() -> None:
    """Q-4: the customer-centre supervisor fixes a new time after the day: the clock runs
    to it, their approval is kept (from the missed due to the new one), the resident and
    the department are told; the missed day is not stopped, it stays missed."""
    request = a_case(status="in_progress", department="engineering")
    at = facts(timedelta(hours=25), due={RuleId.Q4: DAY_ENDS})
    decision = requests.promise(request, "tomorrow12", at, by=SUPERVISOR, role="cc_supervisor")
    assert decision is not None
    noon = FILED + timedelta(days=2, hours=2)  # Sunday 12:00 in Shanghai
    assert timer_of(decision, RuleId.Q4).due_at == noon
    assert decision.stop == [] and decision.missed == []
    approval = decision.approval
    assert approval is not None and (approval.step, approval.role) == (RuleId.Q4, "cc_supervisor")
    assert approval.approved and approval.comment == f"{DAY_ENDS.isoformat()} → {noon.isoformat()}"
    assert decision.data == {"late": True, "ran_out": DAY_ENDS.isoformat()}
    assert keys(decision) == ["progress.promised", "progress.promised_late"]
    [told] = to(decision, Department("engineering"))
    assert told.params == {"name": "吴建国", "when": "11-29 12:00"}


def test_c1_a_complaints_next_reply_is_fixed_whenever_it_is_explained() -> None:
    """C-1 has no day to run out: Q-4's bound on late promises is a request's only."""
    complaint = a_complaint(status="in_progress")
    at = facts(timedelta(hours=30), due={RuleId.Q4: DAY_ENDS})
    assert not requests.promise_too_late(complaint, at)
    assert requests.promise(complaint, "tomorrow12", at) is not None


def test_progress_is_kept_as_evidence_and_reaches_the_resident() -> None:
    """A staff photo kept as evidence reaches the resident as its display copy (the
    watermarked copy without metadata), never the sender's file."""
    photo = Evidence("photo-file-id", "a" * 64, ENGINEER.id, "b" * 64)
    decision = requests.update(a_case(status="in_progress"), ENGINEER, "", photo, facts())
    assert decision.action is Action.UPDATE and decision.note == "📷"
    assert decision.evidence == [photo]
    [told] = to(decision, Resident())
    assert told.album == ("b" * 64,) and told.photo is None and told.params["text"] == "📷"


def test_progress_photo_without_a_display_copy_goes_as_telegrams_photo() -> None:
    decision = requests.update(
        a_case(status="in_progress"), ENGINEER, "", Evidence("photo-file-id"), facts()
    )
    [told] = to(decision, Resident())
    assert told.photo == "photo-file-id" and told.album == ()


@pytest.mark.parametrize("config_clock", ["referred", "fixed"])
def test_q4_an_estate_counting_from_a_later_event_makes_the_clock_wait(config_clock: str) -> None:
    """Estate overrides: Q-4 counted from the referral (or the promise) waits for it."""
    decision = requests.filed(a_case(), facts(config={"rules": {"Q-4": {"clock": config_clock}}}))
    q4 = timer_of(decision, RuleId.Q4)
    assert q4.waiting and q4.data == {"waiting_for": config_clock}


def test_a_resident_who_blocked_the_bot_is_phoned_by_customer_service() -> None:
    decision = requests.resident_blocked(a_case(), "王伟", None)
    [told] = to(decision, Department("customer_service"))
    assert told.params == {"name": "王伟", "phone": "—"} and told.style == Style.PLAIN
