"""Who may do what: one table for every step of the manual, and the IT tasks (PROCEDURES.md,
Roles).

An **admin** (a deployment admin from ``WUYE_ADMINS``, or the ``admin`` role of an estate)
runs the system: invites, rosters, department groups, settings, reading any case. An admin
does *not* sign for the manual: classifying a complaint (C-4), writing the handling opinion
(C-11), approving the reply (C-13), extending a deadline (C-12), recording a callback (B-2),
overriding a promise or promising after the day ran out (Q-4) and the other steps need the
role the rule names, which an admin may also hold. Handlers ask :func:`may` on every update,
with the roles read from the database just now; nothing is trusted from a button.

Who may extend a clock is not in this table: it is the clock's own rule
(``Rule.extension_by``), the same object the deadline reaction reads when it asks that role
to approve, so an estate that names another role is obeyed in both places.
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from enum import StrEnum
from typing import Protocol

from procedures.identity import ROLE_DEPARTMENT, Department, Role


class Act(StrEnum):
    """The privileged acts a handler checks."""

    # IT tasks: admins only (or the deployment's operator)
    INVITE = "invite"
    IMPORT_ROSTER = "import_roster"
    BIND_GROUP = "bind_group"
    SETTINGS = "settings"
    # reading any case of the estate: staff, and admins for support
    READ_CASE = "read_case"
    # steps of the manual: the role the rule names
    FIRST_RESPONSE = "first_response"  # Q-1, C-8, C-9: refer, resolve on the spot, escalate
    LINK_EVENT = "link_event"  # C-5: complaints about one event
    CLASSIFY = "classify"  # C-4: nature and severity
    WRITE_OPINION = "write_opinion"  # C-11: the handling opinion
    DRAFT_REPLY = "draft_reply"  # C-11: the assistant drafts the reply; V-5: phones it
    CLEAR_ANSWER = "clear_answer"  # C-12: a major complaint's clear answer, no approval
    RECORD_CALLBACK = "record_callback"  # B-2, B-4: the phone callback's outcome
    OVERRIDE = "override"  # re-promise or reassign a department's case
    LATE_PROMISE = "late_promise"  # promise a time once the request's day ran out
    FINISH_ANY = "finish_any"  # finish a case someone else of the department took
    RECORD_CALL = "record_call"  # V-4, A-1: record calls, visits and customer visits
    WRITE_CONCLUSION = "write_conclusion"  # the week's written conclusion
    EXTEND = "extend"  # C-12: see the rule's extension_by
    CHECK_DOCUMENTS = "check_documents"  # a renovation's documents valid or invalid
    SIGN_RENOVATION = "sign_renovation"  # approve or reject a renovation application
    DELEGATE_SIGNATURE = "delegate_signature"  # a head records who signs for them
    COLLECT_FEES = "collect_fees"  # the cashier collects a renovation's fees and deposit
    ISSUE_PERMIT = "issue_permit"  # customer service issues the works permit, revokes passes
    CHECK_PASS = "check_pass"  # S-1: a guard checks a worker's pass at the gate
    PATROL = "patrol"  # the daily patrol of renovations by the three departments
    APPROVE_PENALTY = "approve_penalty"  # a penalty on a rectification notice
    INSPECT_COMPLETION = "inspect_completion"  # engineering and security inspect
    APPROVE_REFUND = "approve_refund"  # the project manager approves a deposit refund
    PAY_REFUND = "pay_refund"  # the cashier records the refund
    SUSPEND_WORKS = "suspend_works"  # a renovation's works stopped and resumed
    APPROVE_EXTENSION = "approve_extension"  # a renovation's works period extended
    RENOVATION_PAPERS = "renovation_papers"  # the control sheet, the patrol grid, a dossier


class HasExtension(Protocol):
    """A clock's rule, as far as extending it goes (``procedures.rules.Rule``)."""

    @property
    def extension_by(self) -> str | None: ...


#: The IT tasks: an admin's, never a manual step.
IT_TASKS = frozenset({Act.INVITE, Act.IMPORT_ROSTER, Act.BIND_GROUP, Act.SETTINGS})

#: Roles that act as first responder (首問責任人) for an estate's cases.
FIRST_RESPONDERS = frozenset({Role.CUSTOMER_ASSISTANT, Role.CC_SUPERVISOR, Role.CUSTOMER_HEAD})

#: The head of each department that has one: may finish or re-promise any of its cases.
DEPARTMENT_HEADS: dict[str, Role] = {
    Department.ENGINEERING.value: Role.ENGINEERING_HEAD,
    Department.CUSTOMER_SERVICE.value: Role.CUSTOMER_HEAD,
}

#: Act → the roles that may do it (the manual's; PROCEDURES.md, Roles and the rules named).
ALLOWED: dict[Act, frozenset[Role]] = {
    Act.FIRST_RESPONSE: FIRST_RESPONDERS,
    Act.LINK_EVENT: FIRST_RESPONDERS,
    Act.CLASSIFY: frozenset({Role.PROJECT_SUPERVISOR}),
    Act.WRITE_OPINION: frozenset({Role.CC_SUPERVISOR}),
    Act.DRAFT_REPLY: FIRST_RESPONDERS,
    Act.CLEAR_ANSWER: frozenset({Role.CUSTOMER_ASSISTANT, Role.CC_SUPERVISOR}),
    Act.RECORD_CALLBACK: frozenset({Role.CUSTOMER_ASSISTANT, Role.CC_SUPERVISOR}),
    Act.OVERRIDE: frozenset({Role.CC_SUPERVISOR}),  # plus the department's head
    # "or by the time promised beforehand" (事前): after the day, whom its miss
    # escalates to, the customer-centre supervisor, and no department head
    Act.LATE_PROMISE: frozenset({Role.CC_SUPERVISOR}),
    Act.FINISH_ANY: frozenset({Role.CC_SUPERVISOR}),  # plus the department's head
    Act.RECORD_CALL: FIRST_RESPONDERS,
    Act.WRITE_CONCLUSION: frozenset({Role.CC_SUPERVISOR}),
    Act.CHECK_DOCUMENTS: FIRST_RESPONDERS,  # customer service checks the documents
    # the customer-department head and the engineering head (never an admin as such)
    Act.SIGN_RENOVATION: frozenset({Role.CUSTOMER_HEAD, Role.ENGINEERING_HEAD}),
    # R-4 "or someone they authorised": each head records their own delegate
    Act.DELEGATE_SIGNATURE: frozenset({Role.CUSTOMER_HEAD, Role.ENGINEERING_HEAD}),
    Act.COLLECT_FEES: frozenset({Role.CASHIER}),
    Act.ISSUE_PERMIT: FIRST_RESPONDERS,  # customer service
    Act.CHECK_PASS: frozenset({Role.SECURITY}),  # S-1: the guards
    # the customer assistants, engineering and the guards patrol renovations
    Act.PATROL: frozenset({Role.CUSTOMER_ASSISTANT, Role.ENGINEERING, Role.SECURITY}),
    Act.APPROVE_PENALTY: frozenset({Role.PROJECT_MANAGER}),  # the project manager
    # engineering (its head too) and security inspect a completed renovation
    Act.INSPECT_COMPLETION: frozenset({Role.ENGINEERING, Role.ENGINEERING_HEAD, Role.SECURITY}),
    Act.APPROVE_REFUND: frozenset({Role.PROJECT_MANAGER}),
    Act.PAY_REFUND: frozenset({Role.CASHIER}),  # the deposit refund memo
    Act.SUSPEND_WORKS: frozenset({Role.PROJECT_MANAGER, Role.CUSTOMER_HEAD}),
    Act.APPROVE_EXTENSION: frozenset({Role.CUSTOMER_HEAD}),  # issue 11, item 1
    # Issue 11, items 9, 16, 17: customer service, the heads and the project manager read
    # the renovation control sheet and the patrol grid, and export a renovation's dossier
    Act.RENOVATION_PAPERS: FIRST_RESPONDERS | {Role.ENGINEERING_HEAD, Role.PROJECT_MANAGER},
    Act.READ_CASE: frozenset(set(Role) - {Role.OWNER, Role.TENANT}),
}


def is_admin(roles: Set[str], *, deployment_admin: bool = False) -> bool:
    """Holds the admin role of the estate, or administers the deployment."""
    return deployment_admin or Role.ADMIN.value in roles


def may(
    act: Act,
    roles: Set[str],
    *,
    deployment_admin: bool = False,
    rule: HasExtension | None = None,
    department: str | None = None,
) -> bool:
    """Whether someone holding ``roles`` in an estate may do ``act`` there.

    ``rule`` is the clock's rule for :attr:`Act.EXTEND`; ``department`` the department that
    has the case, whose head may also override and finish (:attr:`Act.OVERRIDE`,
    :attr:`Act.FINISH_ANY`).
    """
    if act in IT_TASKS:
        return is_admin(roles, deployment_admin=deployment_admin)
    if act is Act.READ_CASE and is_admin(roles, deployment_admin=deployment_admin):
        return True  # support: an admin reads any case, and acts on none
    if act is Act.EXTEND:
        return rule is not None and rule.extension_by is not None and rule.extension_by in roles
    if act in (Act.OVERRIDE, Act.FINISH_ANY):
        head = DEPARTMENT_HEADS.get(department or "")
        if head is not None and head.value in roles:
            return True
    return bool({str(r) for r in ALLOWED.get(act, frozenset())} & set(roles))


def in_department(memberships: Iterable[tuple[str, str | None]], department: str | None) -> bool:
    """Whether someone with these (role, department) memberships in an estate belongs to
    ``department`` (its members act on its cases, Q-4; an admin who is not one does not).
    A role of a department (engineer, security…) belongs to it without naming it."""
    if department is None:
        return False
    for role, named in memberships:
        if role in (Role.OWNER, Role.TENANT):
            continue
        known = ROLE_DEPARTMENT.get(Role(role)) if role in Role._value2member_map_ else None
        if (named or (known.value if known else None)) == department:
            return True
    return False
