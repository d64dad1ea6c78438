"""Complaints as decisions (procedures.complaints): nature and severity (C-4..C-7), the
C-12 clocks, "becomes major" on every path (C-3, C-5, C-9), linking one event (C-5), the
review (C-11, C-13) and C-12's extension; no database, no Telegram."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from procedures import complaints, reactions
from procedures.cases import Action, Case, Status
from procedures.clocks import WORK_CLOCKS, History
from procedures.decisions import Approval, Approvers, By, Department, Resident, Roles, Targets, Text
from procedures.rule_ids import RuleId
from tests.support.decisions import FILED, a_complaint, facts, keys, rules, timer_of, to

SUPERVISOR = By(7, "孙志远")
MANAGER = By(8, "钱振东")
MAJOR_TELL = (
    "cc_supervisor", "project_supervisor", "department_head", "project_manager", "leadership",
)  # fmt: skip


def test_c7_a_minor_complaint_starts_no_day_clock_and_asks_only_for_the_opinion() -> None:
    """C-7: no C-12 clock and no superior told; C-4's own clock stops; C-11: the
    customer-centre supervisor is asked for the handling opinion, on its own clock."""
    decision = complaints.classify(a_complaint(), "minor", SUPERVISOR, facts())
    assert decision.action is Action.CLASSIFY and decision.changes == {"severity": "minor"}
    assert decision.started == [RuleId.C11_OPINION] and decision.stop == [RuleId.C4]
    assert [(t.to, t.key, t.buttons) for t in decision.tell] == [
        (Roles(frozenset({"cc_supervisor"})), "review.opinion_please", "opinion")
    ]
    assert decision.arm[0].event == "classified"


def test_c4_c5_a_valid_complaint_classified_after_its_week_ran_out_is_major() -> None:
    """C-5: the week counts valid complaints only: it ran out while the complaint was
    unclassified (made nothing major then); classified valid now, it is major, from now."""
    late = facts(timedelta(days=8), due={RuleId.C5_WEEK: FILED + timedelta(days=7)})
    decision = complaints.classify(a_complaint(), "minor", SUPERVISOR, late)
    assert decision.changes == {"severity": "major"}
    assert decision.data == {"chosen": "minor", "rule": "C-5-week"}
    assert RuleId.C12_MAJOR_RESOLVE in decision.started
    unclassified = a_complaint(status="referred", department="engineering")
    assert complaints.made_major(unclassified, RuleId.C5_WEEK, {}, late) is None


def test_c6_c9_c12_an_important_complaint_gets_a_day_and_reaches_the_extender() -> None:
    """C-6, C-12: handled within a day of acceptance; C-9: the superior and the manager who
    may extend it hear it, with the severity in their own language."""
    decision = complaints.classify(
        a_complaint(), "important", SUPERVISOR, facts(timedelta(hours=1))
    )
    assert decision.started == [RuleId.C12_IMPORTANT, RuleId.C11_OPINION]
    assert timer_of(decision, RuleId.C12_IMPORTANT).due_at == FILED + timedelta(days=1)
    [told] = to(decision, Roles(frozenset({"cc_supervisor", "mgmt_manager"})))
    assert told.key == "complaint.reported"
    assert told.params == {"severity": Text("severity.important"), "name": "孙志远"}


def test_c12_an_important_complaint_already_handled_gets_no_day_clock() -> None:
    case = a_complaint(status=Status.REVIEW.value, department="engineering")
    case = replace(case, opinion="先更换阀门")
    assert complaints.classify(case, "important", SUPERVISOR, facts()).started == []


def test_c5_c12_a_major_complaint_gets_two_days_and_fifteen_and_the_estates_people_hear() -> None:
    """C-5, C-12: a clear answer in 2 days, resolved in 15 (from acceptance); C-3, C-9:
    the estate's major_tell hears it, without the supervisor who classified it."""
    decision = complaints.classify(a_complaint(), "major", SUPERVISOR, facts())
    assert decision.started == [
        RuleId.C12_MAJOR_ANSWER, RuleId.C12_MAJOR_RESOLVE, RuleId.C11_OPINION
    ]  # fmt: skip
    assert timer_of(decision, RuleId.C12_MAJOR_ANSWER).due_at == FILED + timedelta(days=2)
    assert timer_of(decision, RuleId.C12_MAJOR_RESOLVE).due_at == FILED + timedelta(days=15)
    [told] = to(decision, Targets(MAJOR_TELL))
    assert told.besides == SUPERVISOR.id


def test_c12_an_estate_counting_major_clocks_from_the_classification() -> None:
    """Estate overrides: counted from the classification, the major clocks start now."""
    config = {"rules": {"C-12-major-answer": {"clock": "classified"}}}
    later = facts(timedelta(hours=6), config=config)
    decision = complaints.classify(a_complaint(), "major", SUPERVISOR, later)
    due = FILED + timedelta(hours=6, days=2)
    assert timer_of(decision, RuleId.C12_MAJOR_ANSWER).due_at == due


def test_c4_an_invalid_complaint_is_explained_politely_and_still_called_back() -> None:
    decision = complaints.invalidate(a_complaint(), "duplicate", facts())
    assert decision.action is Action.INVALIDATE
    assert decision.changes == {"severity": "invalid", "invalid_reason": "duplicate"}
    assert decision.stop == list(WORK_CLOCKS) and decision.started == [RuleId.C14]
    [explained, asked] = to(decision, Resident())
    assert explained.params == {"reason": Text("complaint.invalid_explained.duplicate")}
    assert asked.key == "callback.question"


@pytest.mark.parametrize("path", ["classified", "five_complainants", "a_week_unresolved"])
def test_c3_c9_becoming_major_tells_the_same_people_on_every_path(path: str) -> None:
    """C-3, C-9 with C-5: classified major, five complainants of one event, or a week
    unresolved — each path tells the estate's major_tell, and only it."""
    case = a_complaint(status="referred", department="engineering", severity="minor")
    if path == "classified":
        case = replace(case, severity=None)
        decisions = [complaints.classify(case, "major", SUPERVISOR, facts())]
    elif path == "five_complainants":
        event: list[tuple[Case, History]] = [
            (
                a_complaint(
                    id=i,
                    resident_id=100 + i,
                    event_key="TS-1",
                    accepted_at=FILED,
                    severity="minor",
                ),
                {},
            )
            for i in range(1, 6)
        ]
        _, found = complaints.linked(case, event, rules(), FILED)
        decisions = [d for _, d in found]
    else:
        due = reactions.Due(1, RuleId.C5_WEEK, FILED + timedelta(days=7), False, False, {})
        decisions = reactions.react(case, due, facts(timedelta(days=7)))
    told = [t for d in decisions for t in d.tell if t.key != "review.opinion_please"]
    assert [t.to for t in told] == [Targets(MAJOR_TELL)]


def test_c3_an_estates_major_tell_is_obeyed() -> None:
    custom = rules({"major_tell": ["leadership"]})
    assert complaints.major_tell(custom, "x", {}).to == Targets(("leadership",))


def test_c5_made_major_stops_the_important_day_unmet_and_starts_the_major_clocks() -> None:
    case = a_complaint(status="in_progress", severity="important", department="engineering")
    decision = complaints.made_major(case, "C-5-week", {"late": False}, facts(timedelta(days=7)))
    assert decision is not None
    assert decision.event == "case.made_major" and decision.changes == {"severity": "major"}
    assert decision.missed == [RuleId.C12_IMPORTANT]
    assert decision.started == [RuleId.C12_MAJOR_ANSWER, RuleId.C12_MAJOR_RESOLVE]
    assert decision.data == {"rule": "C-5-week", "late": False}
    # raised later, the major clocks count from the raise, not from acceptance
    raised = FILED + timedelta(days=7)
    assert timer_of(decision, RuleId.C12_MAJOR_ANSWER).due_at == raised + timedelta(days=2)
    assert timer_of(decision, RuleId.C12_MAJOR_RESOLVE).due_at == raised + timedelta(days=15)


@pytest.mark.parametrize(
    "fields", [{"severity": "major"}, {"severity": "invalid"}, {"status": "done"}]
)
def test_c5_a_major_invalid_or_finished_complaint_is_not_made_major(fields: dict[str, str]) -> None:
    assert complaints.made_major(a_complaint(**fields), "C-5-week", {}, facts()) is None


def test_c5_complainants_are_people_counted_in_any_window() -> None:
    """C-5: five different people within 24 h; the same person twice counts once; a
    caller counts by phone; the window slides."""
    at = [FILED + timedelta(hours=h) for h in (0, 5, 10, 20, 23, 30)]
    people = ["person:1", "person:2", "person:2", "phone:138", "case:9", "person:3"]
    assert (
        complaints.most_complainants_in_window(zip(at, people, strict=True), timedelta(hours=24))
        == 4
    )
    assert (
        complaints.most_complainants_in_window(
            zip(at[1:], people[1:], strict=True), timedelta(hours=25)
        )
        == 4
    )
    assert complaints.complainant(9, None, None) == "case:9"
    assert complaints.complainant(9, None, "138") == "phone:138"


def test_c5_below_the_threshold_an_event_stays_as_it_is() -> None:
    event: list[tuple[Case, History]] = [
        (a_complaint(id=i, resident_id=100 + i, event_key="TS-1"), {}) for i in range(4)
    ]
    count, decisions = complaints.linked(event[0][0], event, rules(), FILED)
    assert (count, decisions) == (4, [])
    lower = rules({"same_event_threshold": 4})
    count, decisions = complaints.linked(event[0][0], event, lower, FILED)
    assert count == 4 and len(decisions) == 5  # four made major, then one notice
    assert decisions[-1][1].tell[0].key == "event_link.made_major"
    assert decisions[-1][1].tell[0].params == {"count": 4, "event": "TS-1"}


def test_c5_only_open_complaints_of_one_estate_are_linked() -> None:
    case = a_complaint()
    assert complaints.linkable(case, a_complaint(id=8))
    assert not complaints.linkable(case, case)
    assert not complaints.linkable(case, a_complaint(id=8, estate_id=2))
    assert not complaints.linkable(case, a_complaint(id=8, status="closed"))
    assert not complaints.linkable(case, None)


def test_c11_the_opinion_is_the_departments_instructions_and_comes_before_its_feedback() -> None:
    """C-11: the supervisor's opinion is written while the department works (it never holds
    the referral up) and reaches the department; its clock stops. The department's feedback
    cannot be recorded before the opinion exists."""
    working = a_complaint(status="in_progress", department="engineering", severity="minor")
    opinion = complaints.write_opinion(working, "更换阀门，向业主致歉。", SUPERVISOR)
    assert opinion is not None and opinion.action is Action.OPINION
    assert opinion.changes == {"opinion": "更换阀门，向业主致歉。", "opinion_by": 7}
    assert opinion.stop == [RuleId.C11_OPINION]
    [told] = to(opinion, Department("engineering"))
    assert (told.key, told.buttons) == ("review.opinion_for_department", None)
    assert told.params == {"name": "孙志远", "opinion": "更换阀门，向业主致歉。"}
    assert complaints.feedback(working, By(21, "郑海"), facts(), "已更换") is None
    written = replace(working, opinion="更换阀门")
    assert complaints.write_opinion(written, "第二次", SUPERVISOR) is None
    assert complaints.feedback(written, By(21, "郑海"), facts(), "  ") is None


def test_c11_the_departments_feedback_stops_its_clocks_and_asks_for_the_draft() -> None:
    case = a_complaint(status="in_progress", department="engineering", opinion="更换阀门")
    decision = complaints.feedback(case, By(21, "郑海"), facts(timedelta(hours=3)), "已更换阀门")
    assert decision is not None and decision.action is Action.FEEDBACK
    assert decision.changes["feedback"] == "已更换阀门"
    assert set(decision.stop) >= {RuleId.Q1, RuleId.C12_IMPORTANT, RuleId.C5_WEEK}
    assert decision.started == [RuleId.C11_SAME_DAY]
    [cs] = to(decision, Department("customer_service"))
    assert (cs.key, cs.buttons) == ("review.feedback", "draft")


def test_c11_c13_the_draft_goes_to_the_approver_never_its_writer_and_a_copy_to_the_supervisor() -> (
    None
):
    case = a_complaint(status="review", severity="minor", opinion="更换阀门")
    decision = complaints.draft(case, "已为您更换阀门。", By(1, "周晓梅"))
    assert decision is not None
    assert decision.changes == {"reply_draft": "已为您更换阀门。", "reply_by": 1}
    [told] = to(decision, Approvers(1))
    assert told.buttons == "approval"
    [copy] = to(decision, Roles(frozenset({"project_supervisor"})))
    assert copy.buttons is None
    # C-4: no reply leaves an unclassified complaint
    assert complaints.draft(replace(case, severity=None), "x", By(1, "周晓梅")) is None


def test_c13_approval_is_for_the_draft_shown_and_sends_the_reply() -> None:
    """C-13: approved, the reply goes to the resident the same day with confirm/dispute
    (C-2), and the complaint's callback clock starts (C-14)."""
    case = a_complaint(status="review", severity="minor", reply_draft="答复")
    version = complaints.opinion_version("答复")
    decision = complaints.approve(
        case, version, MANAGER, "cc_supervisor", facts(timedelta(hours=4))
    )
    assert decision is not None
    assert decision.action is Action.APPROVE and decision.expect_version == version
    assert decision.stop == list(WORK_CLOCKS) and decision.started == [RuleId.C14]
    [reply] = to(decision, Resident())
    assert (reply.key, reply.buttons, reply.params) == (
        "review.reply", "reply_confirm", {"opinion": "答复"}
    )  # fmt: skip
    assert complaints.opinion_version("另一版") != version
    assert decision.approval == Approval(RuleId.C13, "cc_supervisor", True, version)
    assert complaints.approver_role({"project_manager", "owner"}, rules()) == "project_manager"
    assert complaints.approver_role({"cc_supervisor", "project_manager"}, rules()) == (
        "cc_supervisor"
    )
    assert complaints.approver_role({"admin"}, rules()) is None
    other = rules({"reply_approver": "project_supervisor"})
    assert complaints.approver_role({"project_supervisor", "cc_supervisor"}, other) == (
        "project_supervisor"
    )
    assert complaints.approve(replace(case, severity=None), version, MANAGER, "x", facts()) is None


def test_c13_v5_a_callers_approved_reply_is_phoned_the_same_day() -> None:
    """V-5, C-13: a caller without the bot: the approval starts the same-day clock and asks
    customer service to phone; recording the call delivers it and starts the callback."""
    case = a_complaint(
        status="review", severity="minor", reply_draft="答复", resident_id=None,
        caller_name="李女士", caller_phone="+8613800138000",
    )  # fmt: skip
    version = complaints.opinion_version("答复")
    approved = complaints.approve(case, version, MANAGER, "cc_supervisor", facts())
    assert approved is not None and approved.action is None and approved.event == "case.approve"
    assert approved.started == [RuleId.C13_SAME_DAY]
    [phone] = to(approved, Department("customer_service"))
    assert phone.buttons == "deliver"
    assert complaints.deliver(case, By(1, "周晓梅"), facts()) is None  # not approved yet
    delivered = complaints.deliver(replace(case, approved_by=8), By(1, "周晓梅"), facts())
    assert delivered is not None and delivered.action is Action.DELIVER
    assert delivered.stop == list(WORK_CLOCKS) and delivered.started == [RuleId.C14]
    assert keys(delivered) == ["callback.phone_caller"]


def test_c13_sending_back_clears_the_draft_for_a_new_one() -> None:
    decision = complaints.reject(
        a_complaint(status="review", reply_draft="x"), "v", MANAGER, "project_manager"
    )
    assert decision is not None and decision.action is Action.REJECT
    assert decision.changes == {"reply_draft": None, "reply_by": None}
    assert keys(decision) == ["review.rejected"]
    assert decision.approval == Approval(RuleId.C13, "project_manager", False, "v")


def test_c12_a_major_complaints_clear_answer_meets_its_two_days_without_approval() -> None:
    case = a_complaint(status="referred", department="engineering", severity="major")
    decision = complaints.clear_answer(case, "明天上午修复，周五前答复。", By(1, "周晓梅"), facts())
    assert decision is not None and decision.action is Action.ANSWER
    assert decision.stop == [RuleId.C12_MAJOR_ANSWER] and decision.approval is None
    [told] = to(decision, Resident())
    assert told.params == {"text": "明天上午修复，周五前答复。"}
    assert (
        complaints.clear_answer(replace(case, severity="important"), "x", SUPERVISOR, facts())
        is None
    )
    answered = replace(case, answered_at=FILED)
    assert complaints.clear_answer(answered, "x", SUPERVISOR, facts()) is None


def test_c4_raising_starts_the_new_clocks_from_the_raise_and_lowering_needs_a_reason() -> None:
    case = a_complaint(status="referred", department="engineering", severity="minor")
    later = facts(timedelta(days=2))
    up = complaints.reclassify(case, "important", SUPERVISOR, later)
    assert up is not None and up.event == "case.raised" and up.changes == {"severity": "important"}
    assert timer_of(up, RuleId.C12_IMPORTANT).due_at == FILED + timedelta(days=3)
    major = complaints.reclassify(replace(case, severity="important"), "major", SUPERVISOR, later)
    assert major is not None and major.missed == [RuleId.C12_IMPORTANT]
    assert timer_of(major, RuleId.C12_MAJOR_ANSWER).due_at == FILED + timedelta(days=4)
    assert [t.to for t in major.tell] == [Targets(MAJOR_TELL)]
    high = replace(case, severity="major")
    assert complaints.reclassify(high, "minor", SUPERVISOR, later) is None  # no reason
    down = complaints.reclassify(high, "minor", SUPERVISOR, later, reason="误报，仅一户")
    assert down is not None and down.event == "case.lowered"
    assert set(down.missed) == {
        RuleId.C12_MAJOR_ANSWER, RuleId.C12_MAJOR_RESOLVE, RuleId.C12_IMPORTANT
    }  # fmt: skip
    assert down.data["note"] == "误报，仅一户"
    assert complaints.reclassify(case, "minor", SUPERVISOR, later) is None  # the same
    assert complaints.reclassify(replace(case, severity=None), "major", SUPERVISOR, later) is None


def test_c12_an_extension_adds_one_rule_period_to_the_clock() -> None:
    due = FILED + timedelta(days=1)
    decision = complaints.extended(rules(), due, MANAGER, "mgmt_manager", due)
    [timer] = decision.start
    assert timer.rule == RuleId.C12_IMPORTANT and timer.due_at == due + timedelta(days=1)
    assert timer.data == {"extended_by": 8} and decision.event == "case.extended"
    assert decision.approval is not None and decision.approval.role == "mgmt_manager"
    assert decision.approval.step == RuleId.C12_IMPORTANT and decision.approval.approved


def test_c12_an_overrun_approved_after_the_day_is_recorded_as_such() -> None:
    """C-12: the management-department manager may approve the overrun after the day ran
    out: recorded "after", and the new day counts from the approval."""
    due = FILED + timedelta(days=1)
    now = due + timedelta(hours=5)
    decision = complaints.extended(rules(), due, MANAGER, "mgmt_manager", now)
    [timer] = decision.start
    assert timer.due_at == now + timedelta(days=1) and decision.data["after"] is True
    assert decision.approval is not None and "after" in str(decision.approval.comment)
