"""Repositories for identity: estates, units, people, roles, departments, invites, verifications.

Every change is one write transaction that also appends its audit event, so the trail and
the data can never disagree.

One module per aggregate: :mod:`.estates` (estates and their departments' chats),
:mod:`.people` (people and their roles), :mod:`.units` (units and their owners),
:mod:`.verifications` (owners' verification requests), :mod:`.invites` (staff invites) and
:mod:`.roster` (the roster import), over :mod:`.shared` (the database and the reads they
share). :class:`IdentityStore` composes them: callers see one store, as before.
"""

from __future__ import annotations

from storage.identity.estates import DepartmentChat, Estate, EstateStore
from storage.identity.invites import InviteOutcome, InviteStore, Redeemed
from storage.identity.people import Membership, PeopleStore, Person
from storage.identity.roster import ImportSummary, RosterStore
from storage.identity.units import Unit, UnitStore, unit_key
from storage.identity.verifications import Verification, VerificationStore

__all__ = [
    "DepartmentChat",
    "Estate",
    "IdentityStore",
    "ImportSummary",
    "InviteOutcome",
    "Membership",
    "Person",
    "Redeemed",
    "Unit",
    "Verification",
    "unit_key",
]


class IdentityStore(
    EstateStore, PeopleStore, UnitStore, VerificationStore, InviteStore, RosterStore
):
    """Narrow interface over the identity tables; handlers and the CLI use only this."""
