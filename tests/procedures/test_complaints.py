"""Complaints as decisions (procedures.complaints): nature and severity (C-4..C-7), the
C-12 clocks, "becomes major" on every path (C-3, C-5, C-9), linking one event (C-5), the
review (C-11, C-13) and C-12's extension; no database, no Telegram."""

from __future__ import annotations

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


def test_c7_a_minor_complaint_starts_no_day_clock_and_tells_nobody() -> None:
    decision = complaints.classify(a_complaint(), "minor", SUPERVISOR, facts())
    assert decision.action is Action.CLASSIFY and decision.changes == {"severity": "minor"}
    assert decision.started == [] and decision.tell == []
    assert decision.arm[0].event == "classified"


def test_c6_c9_c12_an_important_complaint_gets_a_day_and_reaches_the_extender() -> None:
    """C-6, C-12: handled within a day of acceptance; C-9: the superior and the manager who
    may extend it hear it, with the severity in their own language."""
    decision = complaints.classify(
        a_complaint(), "important", SUPERVISOR, facts(timedelta(hours=1))
    )
    assert decision.started == [RuleId.C12_IMPORTANT]
    assert timer_of(decision, RuleId.C12_IMPORTANT).due_at == FILED + timedelta(days=1)
    [told] = to(decision, Roles(frozenset({"cc_supervisor", "mgmt_manager"})))
    assert told.key == "complaint.reported"
    assert told.params == {"severity": Text("severity.important"), "name": "孙志远"}


def test_c12_an_important_complaint_already_handled_gets_no_day_clock() -> None:
    case = a_complaint(status=Status.REVIEW.value, department="engineering")
    assert complaints.classify(case, "important", SUPERVISOR, facts()).started == []


def test_c5_c12_a_major_complaint_gets_two_days_and_fifteen_and_the_estates_people_hear() -> None:
    """C-5, C-12: a clear answer in 2 days, resolved in 15 (from acceptance); C-3, C-9:
    the estate's major_tell hears it, without the supervisor who classified it."""
    decision = complaints.classify(a_complaint(), "major", SUPERVISOR, facts())
    assert decision.started == [RuleId.C12_MAJOR_ANSWER, RuleId.C12_MAJOR_RESOLVE]
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
    case = a_complaint(status="referred", department="engineering")
    if path == "classified":
        decisions = [complaints.classify(case, "major", SUPERVISOR, facts())]
    elif path == "five_complainants":
        event: list[tuple[Case, History]] = [
            (a_complaint(id=i, resident_id=100 + i, event_key="TS-1", accepted_at=FILED), {})
            for i in range(1, 6)
        ]
        _, found = complaints.linked(case, event, rules(), FILED)
        decisions = [d for _, d in found]
    else:
        due = reactions.Due(1, RuleId.C5_WEEK, FILED + timedelta(days=7), False, False, {})
        decisions = reactions.react(case, due, facts(timedelta(days=7)))
    told = [t for d in decisions for t in d.tell]
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


def test_c11_the_departments_feedback_stops_its_clocks_and_starts_the_same_day_reply() -> None:
    case = a_complaint(status="in_progress", department="engineering")
    decision = complaints.feedback(case, By(21, "郑海"), facts(timedelta(hours=3)))
    assert decision.action is Action.FEEDBACK
    assert set(decision.stop) >= {RuleId.Q1, RuleId.C12_IMPORTANT, RuleId.C5_WEEK}
    assert decision.started == [RuleId.C11_SAME_DAY]
    [cs] = to(decision, Department("customer_service"))
    assert (cs.key, cs.buttons) == ("review.feedback", "opinion")


def test_c11_c13_the_opinion_goes_to_the_approvers_never_its_writer() -> None:
    case = a_complaint(status="review")
    decision = complaints.write_opinion(case, "已更换阀门并致歉。", SUPERVISOR)
    assert decision.changes == {"opinion": "已更换阀门并致歉。", "opinion_by": 7}
    [told] = to(decision, Approvers(7))
    assert told.buttons == "approval"
    assert complaints.APPROVER_ROLES == ("cc_supervisor", "project_manager")


def test_c13_approval_is_for_the_opinion_shown_and_sends_the_reply() -> None:
    """C-13: approved, the reply goes to the resident the same day with confirm/dispute
    (C-2), and the complaint's callback clock starts (C-14)."""
    case = a_complaint(status="review", opinion="处理意见")
    version = complaints.opinion_version("处理意见")
    decision = complaints.approve(
        case, version, MANAGER, "cc_supervisor", facts(timedelta(hours=4))
    )
    assert decision.action is Action.APPROVE and decision.expect_version == version
    assert decision.stop == list(WORK_CLOCKS) and decision.started == [RuleId.C14]
    [reply] = to(decision, Resident())
    assert (reply.key, reply.buttons) == ("review.reply", "reply_confirm")
    assert complaints.opinion_version("另一版") != version
    assert decision.approval == Approval(RuleId.C13, "cc_supervisor", True, version)
    assert complaints.approver_role({"project_manager", "owner"}) == "project_manager"
    assert complaints.approver_role({"cc_supervisor", "project_manager"}) == "cc_supervisor"
    assert complaints.approver_role({"admin"}) is None


def test_c13_sending_back_clears_the_opinion_for_a_new_one() -> None:
    decision = complaints.reject(
        a_complaint(status="review", opinion="x"), "v", MANAGER, "project_manager"
    )
    assert decision.action is Action.REJECT
    assert decision.changes == {"opinion": None, "opinion_by": None}
    assert keys(decision) == ["review.rejected"]
    assert decision.approval == Approval(RuleId.C13, "project_manager", False, "v")


def test_c12_an_extension_adds_one_rule_period_to_the_clock() -> None:
    due = FILED + timedelta(days=1)
    decision = complaints.extended(rules(), due, MANAGER, "mgmt_manager")
    [timer] = decision.start
    assert timer.rule == RuleId.C12_IMPORTANT and timer.due_at == due + timedelta(days=1)
    assert timer.data == {"extended_by": 8} and decision.event == "case.extended"
    assert decision.approval is not None and decision.approval.role == "mgmt_manager"
    assert decision.approval.step == RuleId.C12_IMPORTANT and decision.approval.approved
