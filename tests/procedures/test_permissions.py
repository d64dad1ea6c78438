"""The permission table, with no database and no Telegram: each act × each role, admins
included (PROCEDURES.md, Roles: an admin is IT and signs nothing of the manual)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from procedures.identity import Role
from procedures.permissions import Act, may

#: Act → the roles that may do it; every other role (and an admin as such) may not.
TABLE: dict[Act, set[Role]] = {
    Act.INVITE: {Role.ADMIN},
    Act.IMPORT_ROSTER: {Role.ADMIN},
    Act.BIND_GROUP: {Role.ADMIN},
    Act.SETTINGS: {Role.ADMIN},
    Act.READ_CASE: set(Role) - {Role.OWNER, Role.TENANT},
    Act.FIRST_RESPONSE: {Role.CUSTOMER_ASSISTANT, Role.CC_SUPERVISOR, Role.CUSTOMER_HEAD},
    Act.LINK_EVENT: {Role.CUSTOMER_ASSISTANT, Role.CC_SUPERVISOR, Role.CUSTOMER_HEAD},
    Act.CLASSIFY: {Role.PROJECT_SUPERVISOR},
    Act.WRITE_OPINION: {Role.CC_SUPERVISOR},
    Act.DRAFT_REPLY: {Role.CUSTOMER_ASSISTANT, Role.CC_SUPERVISOR, Role.CUSTOMER_HEAD},
    Act.CLEAR_ANSWER: {Role.CUSTOMER_ASSISTANT, Role.CC_SUPERVISOR},
    Act.RECORD_CALLBACK: {Role.CUSTOMER_ASSISTANT, Role.CC_SUPERVISOR},
    Act.RECORD_CALL: {Role.CUSTOMER_ASSISTANT, Role.CC_SUPERVISOR, Role.CUSTOMER_HEAD},
    Act.OVERRIDE: {Role.CC_SUPERVISOR},
    Act.LATE_PROMISE: {Role.CC_SUPERVISOR},
    Act.FINISH_ANY: {Role.CC_SUPERVISOR},
    Act.WRITE_CONCLUSION: {Role.CC_SUPERVISOR},
    # customer service checks a renovation's documents
    Act.CHECK_DOCUMENTS: {Role.CUSTOMER_ASSISTANT, Role.CC_SUPERVISOR, Role.CUSTOMER_HEAD},
    # the customer-department head and the engineering head sign
    Act.SIGN_RENOVATION: {Role.CUSTOMER_HEAD, Role.ENGINEERING_HEAD},
    Act.DELEGATE_SIGNATURE: {Role.CUSTOMER_HEAD, Role.ENGINEERING_HEAD},
    Act.COLLECT_FEES: {Role.CASHIER},  # the cashier collects
    Act.ISSUE_PERMIT: {Role.CUSTOMER_ASSISTANT, Role.CC_SUPERVISOR, Role.CUSTOMER_HEAD},
    Act.CHECK_PASS: {Role.SECURITY},  # S-1: the guards check passes
    # the customer assistants, engineering and the guards patrol renovations
    Act.PATROL: {Role.CUSTOMER_ASSISTANT, Role.ENGINEERING, Role.SECURITY},
    Act.APPROVE_PENALTY: {Role.PROJECT_MANAGER},  # the project manager approves
    Act.INSPECT_COMPLETION: {Role.ENGINEERING, Role.ENGINEERING_HEAD, Role.SECURITY},
    Act.APPROVE_REFUND: {Role.PROJECT_MANAGER},  # the refund's consent (退還同意表)
    Act.PAY_REFUND: {Role.CASHIER},  # the refund memo (押金退還備忘表)
    # a renovation's works stopped and resumed
    # a renovation's works stopped and resumed; its works period extended
    Act.SUSPEND_WORKS: {Role.PROJECT_MANAGER, Role.CUSTOMER_HEAD},
    Act.APPROVE_EXTENSION: {Role.CUSTOMER_HEAD},
    # the renovation control sheet, the patrol grid and a dossier (issue 11, items 9, 16, 17)
    Act.RENOVATION_PAPERS: {
        Role.CUSTOMER_ASSISTANT,
        Role.CC_SUPERVISOR,
        Role.CUSTOMER_HEAD,
        Role.ENGINEERING_HEAD,
        Role.PROJECT_MANAGER,
    },
}


@pytest.mark.parametrize("act", list(TABLE))
@pytest.mark.parametrize("role", list(Role))
def test_each_role_may_do_what_the_manual_gives_it(act: Act, role: Role) -> None:
    """C-4, C-11, B-2, Q-1, Q-4, V-4 and the IT tasks, role by role."""
    assert may(act, {role.value}) is (role in TABLE[act])


@pytest.mark.parametrize("act", [a for a in Act if a is not Act.EXTEND])
def test_a_deployment_admin_does_the_it_tasks_only(act: Act) -> None:
    """WUYE_ADMINS run the system everywhere; no manual step comes with it."""
    it_or_reading = {Act.INVITE, Act.IMPORT_ROSTER, Act.BIND_GROUP, Act.SETTINGS, Act.READ_CASE}
    assert may(act, set(), deployment_admin=True) is (act in it_or_reading)


def test_every_act_is_in_the_table() -> None:
    assert set(TABLE) | {Act.EXTEND} == set(Act)


@dataclass(frozen=True)
class Clock:
    extension_by: str | None


def test_c12_who_extends_is_the_rules_role() -> None:
    """C-12: the clock's rule names who may let it run over (the manual's management-
    department manager by default; an estate may name another). Nobody else, no admin."""
    default, moved = Clock("mgmt_manager"), Clock("project_manager")
    assert may(Act.EXTEND, {"mgmt_manager"}, rule=default)
    assert not may(Act.EXTEND, {"project_manager"}, rule=default)
    assert may(Act.EXTEND, {"project_manager"}, rule=moved)
    assert not may(Act.EXTEND, {"mgmt_manager"}, rule=moved)
    assert not may(Act.EXTEND, {"admin"}, rule=default, deployment_admin=True)
    assert not may(Act.EXTEND, {"mgmt_manager"}, rule=Clock(None))  # not extendable
    assert not may(Act.EXTEND, {"mgmt_manager"})  # no rule, no extension


def test_q4_only_the_customer_centre_supervisor_promises_after_the_day() -> None:
    """Q-4: once a request's day ran out, whom the miss escalates to may still promise a
    time: the customer-centre supervisor; no department head, no admin."""
    assert may(Act.LATE_PROMISE, {"cc_supervisor"})
    for head in ("engineering_head", "customer_head"):
        assert not may(Act.LATE_PROMISE, {head}, department="engineering")
        assert not may(Act.LATE_PROMISE, {head}, department="customer_service")
    assert not may(Act.LATE_PROMISE, {"admin"}, deployment_admin=True)


@pytest.mark.parametrize(
    ("department", "head"),
    [("engineering", Role.ENGINEERING_HEAD), ("customer_service", Role.CUSTOMER_HEAD)],
)
def test_q4_a_departments_head_overrides_and_finishes_its_own_cases(
    department: str, head: Role
) -> None:
    for act in (Act.OVERRIDE, Act.FINISH_ANY):
        assert may(act, {head.value}, department=department)
        assert not may(act, {head.value}, department="security")
        assert not may(act, {head.value})
