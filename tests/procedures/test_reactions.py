"""What a deadline's warning or breach does (procedures.reactions): each reaction's
recipients, the estate's overrides obeyed, and whom a rule's names reach."""

from __future__ import annotations

from datetime import timedelta

import pytest

from procedures import reactions
from procedures.decisions import Assistant, Contact, Roles, Targets, Title
from procedures.rule_ids import RuleId
from tests.support.decisions import FILED, a_case, a_complaint, facts, rules


def due(rule: str, *, warning: bool, late: bool = False, hours: float = 0) -> reactions.Due:
    return reactions.Due(42, rule, FILED + timedelta(hours=hours), warning, late, {})


def test_q1_a_warning_goes_to_the_first_responder_and_a_breach_to_the_supervisor() -> None:
    case = a_case()
    [warned] = reactions.react(case, due(RuleId.Q1, warning=True), facts())
    assert warned.event is None
    [tell] = warned.tell
    assert tell.to == Targets(("first_responder",)) and tell.key == "deadline.warning"
    assert tell.params["rule"] == Title("Q-1")  # the title with the estate's limit in it
    assert tell.params["due"] == "11-27 10:00"  # estate time
    [breached] = reactions.react(case, due(RuleId.Q1, warning=False, late=True), facts())
    assert breached.event == "case.deadline_missed"
    assert breached.data == {"rule": "Q-1", "late": True}
    [tell] = breached.tell
    assert tell.to == Targets(("cc_supervisor",)) and tell.late


def test_c12_the_warning_asks_the_extender_with_a_button_naming_the_clock() -> None:
    case = a_complaint(severity="important", status="in_progress", department="engineering")
    [warned] = reactions.react(case, due(RuleId.C12_IMPORTANT, warning=True), facts())
    head, ask = warned.tell
    assert head.to == Targets(("department_head",))
    assert ask.to == Roles(frozenset({"mgmt_manager"}))
    assert (ask.key, ask.buttons, ask.button_arg) == ("complaint.extension_please", "extension", 42)


def test_c12_an_estates_extension_by_is_asked() -> None:
    """One rule object decides: the estate's extension_by is the role asked (and the role
    allowed, see tests/procedures/test_permissions.py)."""
    config = {"rules": {"C-12-important": {"extension_by": "project_manager"}}}
    case = a_complaint(severity="important", status="in_progress")
    [warned] = reactions.react(case, due(RuleId.C12_IMPORTANT, warning=True), facts(config=config))
    assert warned.tell[1].to == Roles(frozenset({"project_manager"}))


def test_b1_b2_c14_a_missed_callback_becomes_the_responsible_assistants_phone_task() -> None:
    """B-1, B-2, C-14: the assistant responsible (not every assistant) gets the task with
    the resident's number and the phone buttons; the supervisor hears it was missed; the
    breach is recorded even though the case is done; the task is chased a day later."""
    case = a_case(status="done")
    now = facts(timedelta(days=3))
    chase, breached = reactions.react(case, due(RuleId.B1, warning=False), now)
    task, missed = breached.tell
    assert task.to == Assistant() and task.buttons == "phone_callback"
    assert task.key == "callback.task" and task.params["contact"] == Contact()
    assert missed.to == Targets(("cc_supervisor",)) and missed.key == "deadline.breached"
    assert breached.event == "case.deadline_missed"
    [again] = chase.start
    assert (again.rule, again.due_at, again.data) == (
        RuleId.B1,
        now.now + timedelta(days=1),
        {"chase": 1},
    )


def test_b2_a_callback_task_left_undone_is_chased_every_further_day() -> None:
    """B-2: a day after the breach the task is sent to the assistant again, the supervisor
    hears it is still open, and it is chased again the next day; never dropped."""
    case = a_complaint(status="done")
    now = facts(timedelta(days=3))
    chased = reactions.Due(43, RuleId.C14, now.now, False, False, {"chase": 2})
    [decision] = reactions.react(case, chased, now)
    assert decision.event == "case.callback_chased" and decision.expect_status == "done"
    task, still = decision.tell
    assert (task.to, task.key, task.buttons) == (
        Assistant(),
        "callback.task_again",
        "phone_callback",
    )
    assert task.params["days"] == 2
    assert (still.to, still.key) == (Targets(("cc_supervisor",)), "callback.task_still_open")
    [again] = decision.start
    assert (again.rule, again.due_at, again.data) == (
        RuleId.C14,
        now.now + timedelta(days=1),
        {"chase": 3},
    )


@pytest.mark.parametrize("status", ["closed", "referred", "new"])
def test_b2_a_callback_recorded_or_reopened_has_nothing_left_to_chase(status: str) -> None:
    for data in ({}, {"chase": 1}):
        found = reactions.Due(43, RuleId.B1, FILED, False, False, data)
        assert reactions.react(a_case(status=status), found, facts(timedelta(days=4))) == []


def test_c5_a_week_unresolved_makes_the_complaint_major_then_records_the_breach() -> None:
    case = a_complaint(status="referred", department="engineering", severity="important")
    made, missed = reactions.react(
        case, due(RuleId.C5_WEEK, warning=False), facts(timedelta(days=7))
    )
    assert made.event == "case.made_major" and made.changes == {"severity": "major"}
    assert missed.event == "case.deadline_missed"
    assert [t.key for t in missed.tell] == ["deadline.made_major"]


def test_a_finished_case_raises_no_work_alarm() -> None:
    for status in ("done", "closed"):
        assert reactions.react(a_case(status=status), due(RuleId.Q4, warning=False), facts()) == []


def test_an_unknown_rule_does_nothing() -> None:
    assert reactions.react(a_case(), due("X-9", warning=False), facts()) == []


def test_escalation_targets_an_estate_names_are_obeyed() -> None:
    config = {"rules": {"Q-1": {"escalate_to": ["project_manager", "department_head"]}}}
    [breached] = reactions.react(a_case(), due(RuleId.Q1, warning=False), facts(config=config))
    assert breached.tell[0].to == Targets(("project_manager", "department_head"))


@pytest.mark.parametrize(
    ("names", "department", "groups", "roles"),
    [
        (["first_responder", "customer_assistant"], None, ("customer_service",), set()),
        (["department_group"], "engineering", ("engineering",), set()),
        (["department_group"], None, ("customer_service",), set()),
        (["department_head"], "engineering", (), {"engineering_head"}),
        (["department_head"], None, (), {"customer_head"}),
        (["department_head"], "security", ("security",), set()),
        (["approvers"], None, (), {"customer_head", "engineering_head"}),
        (["cc_supervisor", "leadership"], "finance", (), {"cc_supervisor", "leadership"}),
    ],
)
def test_whom_a_rules_names_reach(
    names: list[str], department: str | None, groups: tuple[str, ...], roles: set[str]
) -> None:
    route = reactions.route(names, department)
    assert route.departments == groups and route.roles == roles


def test_the_major_tell_default_is_the_manuals() -> None:
    assert rules().major_tell == [
        "cc_supervisor", "project_supervisor", "department_head", "project_manager", "leadership",
    ]  # fmt: skip
