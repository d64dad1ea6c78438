"""R-4's "or someone they authorised" as rules: a head's recorded delegate signs only while
the delegation is in force, always in the head's role, the approval naming the delegation;
the head keeps the right to sign (whoever signs first counts); the period and who may be a
delegate."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from procedures.renovation import (
    HEADS,
    REQUIRED,
    DocState,
    Document,
    Form,
    Move,
    Refusal,
    Renovation,
    Signature,
    Status,
)
from procedures.renovation_delegate import (
    MAX_DAYS,
    Delegation,
    current,
    delegable,
    delegation_of,
    in_force,
    may_be_delegate,
    period,
    sign,
    signer,
    why_not,
)

CUSTOMER_HEAD, ENGINEERING_HEAD = HEADS
HEAD, DELEGATE, STRANGER = 4, 3, 99
FORM = Form(date(2026, 12, 1), date(2027, 2, 28), "安居装饰", "李工", "+8613800138000",
            ("walls",))  # fmt: skip
#: The engineering head 冯立 (4) delegates to 郑海 (3) from 27 November to 4 December.
D = Delegation(
    5, 1, ENGINEERING_HEAD, HEAD, DELEGATE, date(2026, 11, 27), date(2026, 12, 4), "出差",
    head_name="冯立", delegate_name="郑海",
)  # fmt: skip


def ren() -> Renovation:
    docs = {d: Document(d, DocState.VALID, 1) for d in REQUIRED}
    return Renovation(7, "ZX-20261127-0001", 1, 3, "1栋 101", 42, Status.COMPLETE, FORM, docs)


def test_r4_a_delegate_signs_only_while_the_delegation_is_in_force() -> None:
    """In force from its first to its last day, both included; not before, not after, not
    once revoked; a stranger named in no delegation signs nothing."""
    assert in_force(D, date(2026, 11, 27)) and in_force(D, date(2026, 12, 4))
    assert not in_force(D, date(2026, 11, 26)) and not in_force(D, date(2026, 12, 5))
    revoked = Delegation(**{**D.__dict__, "revoked_at": datetime(2026, 11, 28, tzinfo=UTC)})
    assert not in_force(revoked, date(2026, 11, 28)) and not current(revoked, date(2026, 11, 28))
    assert signer(set(), DELEGATE, [], set(), [D], date(2026, 12, 1)) is not None
    assert signer(set(), DELEGATE, [], set(), [D], date(2026, 12, 5)) is None
    assert signer(set(), DELEGATE, [], set(), [revoked], date(2026, 12, 1)) is None
    assert signer(set(), STRANGER, [], set(), [D], date(2026, 12, 1)) is None
    assert why_not(set(), DELEGATE, [D], date(2026, 12, 5)) == "delegation_not_in_force"
    assert why_not(set(), STRANGER, [], date(2026, 12, 1)) == "not_a_head"
    assert why_not({"engineering"}, STRANGER, [], date(2026, 12, 1)) == "not_a_head"


def test_r4_the_delegate_signs_in_the_heads_role_naming_the_delegation() -> None:
    """The role is the head's (not the delegate's own), the approval's version names the
    delegation, its audit data the head on whose behalf; the second approval approves."""
    found = signer({"engineering"}, DELEGATE, [], set(), [D], date(2026, 12, 1))
    assert found is not None and found.role == ENGINEERING_HEAD and found.delegation == D
    before = [Signature(CUSTOMER_HEAD, True)]
    decision = sign(ren(), found, DELEGATE, True, "水电走向合理", before)
    assert decision.move == Move.APPROVE
    assert decision.approval is not None
    assert decision.approval.role == ENGINEERING_HEAD and decision.approval.step == "R-4"
    assert delegation_of(decision.approval.version) == D.id
    assert decision.data["on_behalf_of"] == HEAD and decision.data["delegate"] == DELEGATE
    assert decision.data["delegation"] == D.id
    own = signer({"engineering_head"}, HEAD, [], set(), [], date(2026, 12, 1))
    assert own is not None and own.delegation is None  # the head signs as before
    mine = sign(ren(), own, HEAD, True, None, [])
    assert mine.approval is not None and delegation_of(mine.approval.version) is None
    assert "on_behalf_of" not in mine.data


def test_r4_whoever_signs_first_counts_the_head_or_the_delegate() -> None:
    """The head keeps the right to sign: once the role is signed, by either, the other is
    refused as already signed for the role; a delegate who signed in another role does not
    sign again for a head."""
    signed = [Signature(ENGINEERING_HEAD, True)]
    assert signer(set(), DELEGATE, signed, {HEAD}, [D], date(2026, 12, 1)) is None
    assert why_not(set(), DELEGATE, [D], date(2026, 12, 1), {HEAD}) == "role_signed"
    assert signer({"engineering_head"}, HEAD, signed, {DELEGATE}, [], date(2026, 12, 1)) is None
    assert why_not({"engineering_head"}, HEAD, [], date(2026, 12, 1), {DELEGATE}) == "role_signed"
    assert why_not({"engineering_head"}, HEAD, [], date(2026, 12, 1), {HEAD}) == "signed_already"
    both = [Signature(CUSTOMER_HEAD, True)]
    assert signer(set(), DELEGATE, both, {DELEGATE}, [D], date(2026, 12, 1)) is None
    first = signer(set(), DELEGATE, [], set(), [D], date(2026, 12, 1))
    assert first is not None  # a press read before the head signed: refused when it lands
    with pytest.raises(Refusal, match="signed_already"):
        sign(ren(), first, DELEGATE, True, None, [Signature(ENGINEERING_HEAD, True)])


def test_r4_a_delegation_runs_from_today_for_at_most_30_days_to_someone_else_on_the_staff() -> None:
    """The period starts today and ends on a day not past and at most 30 days away; the
    delegate is another person holding a staff role (a resident, or the head, is not);
    only the head roles are delegated."""
    today = date(2026, 11, 27)
    assert period(today, today) == (today, today)
    assert period(today, date(2026, 12, 27)) == (today, date(2026, 12, 27))
    assert MAX_DAYS == 30
    with pytest.raises(Refusal, match="delegate_too_long"):
        period(today, date(2026, 12, 28))
    with pytest.raises(Refusal, match="delegate_past"):
        period(today, date(2026, 11, 26))
    assert may_be_delegate(HEAD, DELEGATE, {"engineering"})
    assert not may_be_delegate(HEAD, HEAD, {"engineering_head"})
    assert not may_be_delegate(HEAD, DELEGATE, {"owner"})
    assert not may_be_delegate(HEAD, DELEGATE, set())
    assert delegable({"engineering_head", "admin"}) == (ENGINEERING_HEAD,)
    assert delegable({"admin", "project_manager"}) == ()
