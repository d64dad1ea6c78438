"""Which commands each person's private-chat menu lists, by role (no database, no Telegram)."""

from __future__ import annotations

import pytest

from procedures.identity import STAFF_ROLES, Role
from procedures.menus import ORDER, private_commands

STAFF = {"case"}
FIRST_RESPONDER = {"case", "record", "visit", "pending"}
ADMIN = {"case", "pending", "invite", "import"}
EVERYONE = {"start", "whoami", "lang", "help", "cancel"}


def menu(*roles: str, deployment_admin: bool = False) -> set[str]:
    return set(private_commands(set(roles), deployment_admin=deployment_admin))


def test_someone_with_no_role_sees_how_to_register() -> None:
    assert menu() == EVERYONE | {"register"}


@pytest.mark.parametrize("role", [Role.OWNER, Role.TENANT])
def test_a_resident_files_and_follows_cases_and_sees_no_staff_command(role: Role) -> None:
    renovate = {"renovate", "extend", "hotwork"} if role == Role.OWNER else set()
    assert menu(role) == EVERYONE | {"request", "complain", "my", "register"} | renovate


def test_r1_an_owner_applies_to_renovate_from_the_menu_and_a_tenant_does_not() -> None:
    """R-1: /renovate is in an owner's menu, next to their other commands."""
    assert "renovate" in menu(Role.OWNER)
    assert "renovate" not in menu(Role.TENANT)
    assert private_commands({Role.OWNER})[:4] == ("request", "complain", "my", "renovate")


def test_a_customer_assistant_records_calls_and_verifies_owners() -> None:
    papers = {"patrol", "renovations", "dossier", "temppass"}
    assert menu(Role.CUSTOMER_ASSISTANT) == EVERYONE | FIRST_RESPONDER | papers
    assert not menu(Role.CUSTOMER_ASSISTANT) & {"request", "invite", "import", "register"}


def test_an_engineer_reads_cases_only() -> None:
    assert menu(Role.ENGINEERING) == EVERYONE | STAFF | {"patrol"}


def test_r14_the_three_patrolling_departments_have_patrol_in_their_menu() -> None:
    """R-14: the customer assistants, engineering and the guards patrol renovations."""
    for role in (Role.CUSTOMER_ASSISTANT, Role.ENGINEERING, Role.SECURITY):
        assert "patrol" in menu(role)
    assert {"pass", "patrol"} <= menu(Role.SECURITY)
    for role in (Role.CASHIER, Role.OWNER, Role.PROJECT_MANAGER, Role.ENGINEERING_HEAD):
        assert "patrol" not in menu(role)


def test_the_project_manager_and_the_customer_head_stop_and_resume_works_from_the_menu() -> None:
    """Renovation works are stopped and resumed (``/works``) by the project manager and the
    customer-department head; the owner extends the works period (``/extend``)."""
    assert "works" in menu(Role.PROJECT_MANAGER) and "works" in menu(Role.CUSTOMER_HEAD)
    assert "works" not in menu(Role.CUSTOMER_ASSISTANT) and "works" not in menu(Role.OWNER)
    assert "extend" in menu(Role.OWNER) and "extend" not in menu(Role.TENANT)


def test_the_renovation_control_sheet_is_in_customer_services_heads_and_managers_menus() -> None:
    """Issue 11, item 17: /renovations for customer service, the heads and the project
    manager; not for patrollers of other departments, cashiers or residents."""
    for role in (Role.CUSTOMER_ASSISTANT, Role.CC_SUPERVISOR, Role.CUSTOMER_HEAD,
                 Role.ENGINEERING_HEAD, Role.PROJECT_MANAGER):  # fmt: skip
        assert "renovations" in menu(role)
    for role in (Role.ENGINEERING, Role.SECURITY, Role.CASHIER, Role.OWNER, Role.TENANT):
        assert "renovations" not in menu(role)


@pytest.mark.parametrize("deployment_admin", [False, True])
def test_an_admin_invites_and_imports_and_records_nothing(deployment_admin: bool) -> None:
    roles = () if deployment_admin else (Role.ADMIN,)
    assert menu(*roles, deployment_admin=deployment_admin) == EVERYONE | ADMIN


def test_roles_add_up_in_one_order() -> None:
    both = private_commands({Role.OWNER, Role.CUSTOMER_ASSISTANT})
    assert set(both) == menu(Role.OWNER) | menu(Role.CUSTOMER_ASSISTANT)
    assert list(both) == [c for c in ORDER if c in both]
    assert both[:3] == ("request", "complain", "my")


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_every_staff_role_reads_cases_and_none_files_them(role: Role) -> None:
    assert "case" in menu(role) and not menu(role) & {"request", "complain", "my"}


def test_r17_s1_hot_work_temporary_passes_and_dossiers_are_in_the_menus_of_who_uses_them() -> None:
    """R-17: an owner applies for hot work; S-1: customer service issues temporary passes;
    the dossier goes with the control sheet. Not for the others."""
    assert "hotwork" in menu(Role.OWNER) and "hotwork" not in menu(Role.TENANT)
    assert "temppass" in menu(Role.CUSTOMER_ASSISTANT) and "temppass" not in menu(Role.SECURITY)
    assert "dossier" in menu(Role.PROJECT_MANAGER) and "dossier" not in menu(Role.OWNER)
