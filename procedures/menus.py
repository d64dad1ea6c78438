"""The command menu of each person's private chat with the bot: the commands their roles let
them use, from the permission table (procedures.permissions), in one order for everyone.

The menu only guides: every command checks the person's roles again when it is used. Roles
are counted over every estate (a menu is per person, not per estate); an admin of the
deployment (``WUYE_ADMINS``) sees an admin's commands without holding the role.
"""

from __future__ import annotations

from collections.abc import Set

from procedures.identity import RESIDENT_ROLES, Role, can_verify_owners
from procedures.permissions import Act, may

#: Every command a private chat's menu may list, in the menu's order: the person's work
#: first (a resident's, staff's, an admin's), then what everyone has.
ORDER = (
    "request", "complain", "my", "renovate", "extend", "hotwork",  # residents
    "case", "record", "visit", "pending", "pass", "patrol", "works", "renovations",  # staff
    "temppass", "dossier", "delegate",
    "invite", "import",  # admins
    "register", "start", "whoami", "lang", "help", "cancel",
)  # fmt: skip

#: What everyone has.
COMMON = frozenset({"start", "whoami", "lang", "help", "cancel"})

#: A resident's commands: file, follow their cases, add a unit.
RESIDENT = frozenset({"request", "complain", "my", "register"})


def private_commands(roles: Set[str], *, deployment_admin: bool = False) -> tuple[str, ...]:
    """The commands of the private-chat menu of someone holding ``roles`` (in any estate).

    Someone with no role yet sees how to register; a resident files and follows cases;
    staff read cases, record calls and visits (first responders) and decide owners'
    verifications (customer service); an admin invites staff and imports rosters.
    """
    wanted = set(COMMON)
    if roles & RESIDENT_ROLES:
        wanted |= RESIDENT
    if Role.OWNER.value in roles:  # an owner applies to renovate (a tenant does not)
        # and asks for more time for the works, and for hot work on them
        wanted |= {"renovate", "extend", "hotwork"}
    if not roles and not deployment_admin:
        wanted.add("register")
    if may(Act.READ_CASE, roles, deployment_admin=deployment_admin):
        wanted.add("case")
    if may(Act.RECORD_CALL, roles):
        wanted |= {"record", "visit"}
    if can_verify_owners(roles, is_global_admin=deployment_admin):
        wanted.add("pending")
    if may(Act.CHECK_PASS, roles):  # S-1: a guard checks a worker's pass
        wanted.add("pass")
    if may(Act.PATROL, roles):  # the daily patrol of renovations
        wanted.add("patrol")
    if may(Act.SUSPEND_WORKS, roles):  # renovation works stopped and resumed
        wanted.add("works")
    if may(Act.RENOVATION_PAPERS, roles):  # the renovation control sheet, a dossier
        wanted |= {"renovations", "dossier"}
    if may(Act.DELEGATE_SIGNATURE, roles):  # a head records who signs for them
        wanted.add("delegate")
    if may(Act.ISSUE_PERMIT, roles):  # customer service: a visitor's temporary pass (S-1)
        wanted.add("temppass")
    if may(Act.INVITE, roles, deployment_admin=deployment_admin):
        wanted.add("invite")
    if may(Act.IMPORT_ROSTER, roles, deployment_admin=deployment_admin):
        wanted.add("import")
    return tuple(command for command in ORDER if command in wanted)
