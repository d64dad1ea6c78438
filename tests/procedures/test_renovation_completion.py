"""Renovation's last steps as rules, no database and no Telegram: the completion inspection
(R-20), the deposit held three months and refunded (R-21), the passes after the works."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from procedures.deadlines import load_estate
from procedures.decisions import Resident, Roles
from procedures.identity import Role
from procedures.renovation import (
    TRANSITIONS,
    Entry,
    Form,
    InvalidMove,
    LedgerEntry,
    Move,
    Refusal,
    Renovation,
    Status,
    WorkerPass,
    check_pass,
    next_status,
)
from procedures.renovation_completion import (
    CENTRE_HEAD,
    Completion,
    Inspection,
    claimed,
    completion_requested,
    confirming_role,
    consented,
    deductions,
    earliest_refund,
    inspected,
    inspector_department,
    inspectors_told,
    parse_amount,
    refund_approved,
    refund_checked,
    refund_confirmed,
    refund_not_yet,
    refund_opened,
    refund_opens_at,
    refunded,
    reinspection_asked,
    slot_problem,
    slots,
)
from procedures.renovation_settings import RenovationSettings

SHANGHAI = ZoneInfo("Asia/Shanghai")
RULES = load_estate("")
CAL = RULES.calendar
FORM = Form(date(2026, 12, 1), date(2027, 2, 28), "安居装饰", "李工", "+8613800138000", ("walls",))
OWNER, CONTRACTOR_HEAD = 42, 77


def ren(status: Status = Status.ACTIVE, contractor: int | None = None) -> Renovation:
    return Renovation(
        7, "ZX-20261127-0001", 1, 3, "1栋 101", OWNER, status, FORM, contractor_id=contractor
    )


def file(**changes: object) -> Completion:
    return replace(Completion(7, date(2026, 12, 2)), **changes)  # type: ignore[arg-type]


PATH = [
    (Status.ACTIVE, Move.REQUEST_COMPLETION, Status.COMPLETION_REQUESTED),
    (Status.COMPLETION_REQUESTED, Move.PASS, Status.PASSED),
    (Status.COMPLETION_REQUESTED, Move.FAIL, Status.FAILED),
    (Status.FAILED, Move.REINSPECT, Status.COMPLETION_REQUESTED),
    (Status.PASSED, Move.HOLD_DEPOSIT, Status.DEPOSIT_HELD),
    (Status.DEPOSIT_HELD, Move.OPEN_REFUND, Status.REFUND_DUE),
    (Status.REFUND_DUE, Move.REFUND, Status.REFUNDED),
    (Status.REFUNDED, Move.CLOSE, Status.CLOSED),
]
MOVES = sorted({m for _, m, _ in PATH})


@pytest.mark.parametrize(("start", "move", "end"), PATH)
def test_r20_r21_every_legal_move_of_completion_and_refund(
    start: Status, move: Move, end: Status
) -> None:
    """R-20, R-21: each move of these steps is built and goes where the machine says."""
    assert next_status(start, move) == end


@pytest.mark.parametrize("move", MOVES)
@pytest.mark.parametrize("status", list(Status))
def test_r20_r21_every_illegal_move_of_completion_and_refund_is_refused(
    status: Status, move: Move
) -> None:
    """R-20, R-21: from any other state, these moves are refused."""
    if (status, move) in TRANSITIONS:
        assert next_status(status, move) == TRANSITIONS[status, move]
    else:
        with pytest.raises(InvalidMove):
            next_status(status, move)


def test_r20_slots_are_the_next_working_days_and_a_typed_day_is_checked() -> None:
    """R-20: Friday 27 November 2026: Monday to Wednesday are offered; a typed day must be
    a working day after today and within two months."""
    today = date(2026, 11, 27)
    assert slots(CAL, today) == [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2)]
    assert slot_problem(CAL, today, today) == "slot_past"
    assert slot_problem(CAL, date(2026, 11, 28), today) == "slot_not_working"  # a Saturday
    assert slot_problem(CAL, date(2027, 2, 1), today) == "slot_too_far"
    assert slot_problem(CAL, date(2026, 12, 4), today) is None


def test_r20_only_the_owner_of_an_active_renovation_applies() -> None:
    """R-20: the owner applies from their account while the works are on; customer service
    is told with the button that tells the inspectors."""
    with pytest.raises(Refusal, match="not_owner"):
        completion_requested(ren(), False, date(2026, 12, 2))
    with pytest.raises(Refusal, match="not_completable"):
        completion_requested(ren(Status.PERMITTED), True, date(2026, 12, 2))
    decision = completion_requested(ren(), True, date(2026, 12, 2))
    assert decision.move == Move.REQUEST_COMPLETION and decision.expect_status == Status.ACTIVE
    assert [t.buttons for t in decision.tell] == [None, "ren_cp_notify"]


def test_r20_worker_passes_stop_admitting_once_the_works_end() -> None:
    """S-1 after R-20: from the completion request on, a pass in date and in hours is
    refused: the works are over."""
    worker = WorkerPass(1, 7, "ABCDEF", "张三", "110***", "139", date(2026, 12, 1),
                        date(2027, 2, 28))  # fmt: skip
    at = datetime(2026, 12, 3, 9, 0, tzinfo=SHANGHAI)
    scale = RenovationSettings()
    assert check_pass(worker, Status.ACTIVE, at, scale) is None
    for status in (Status.COMPLETION_REQUESTED, Status.PASSED, Status.FAILED,
                   Status.DEPOSIT_HELD, Status.REFUND_DUE, Status.CLOSED):  # fmt: skip
        assert check_pass(worker, status, at, scale) == "not_active"


def test_r20_customer_service_tells_each_inspector_once_with_the_open_notices() -> None:
    """R-20: a notice to the engineers (and their head) and to the guards, with the slot
    and the open rectification notices; once a round; customer service only."""
    requested = ren(Status.COMPLETION_REQUESTED)
    with pytest.raises(Refusal, match="not_issuer"):
        inspectors_told(requested, file(), False, [])
    decision = inspectors_told(requested, file(), True, ["楼道堆放建材（整改期限 2026-12-05）"])
    audiences = [t.to for t in decision.tell]
    assert audiences == [
        Roles(frozenset({Role.ENGINEERING.value, Role.ENGINEERING_HEAD.value})),
        Roles(frozenset({Role.SECURITY.value})),
    ]
    assert "楼道堆放建材" in str(decision.tell[0].params["open"])
    assert decision.tell[0].params["count"] == 1
    with pytest.raises(Refusal, match="told_already"):
        inspectors_told(requested, file(notified=True), True, [])


def test_r20_both_departments_passed_hold_the_deposit_three_months() -> None:
    """R-20, R-21: engineering's pass waits for security's; security's passes it and holds
    the deposit, the earliest refund date three months after the inspection."""
    requested = ren(Status.COMPLETION_REQUESTED)
    assert inspector_department({Role.ENGINEERING_HEAD.value}) == "engineering"
    assert inspector_department({Role.SECURITY.value}) == "security"
    assert inspector_department({Role.CUSTOMER_ASSISTANT.value}) is None
    with pytest.raises(Refusal, match="not_inspector"):
        inspected(requested, file(), None, True, [], date(2026, 11, 30))
    [first] = inspected(requested, file(), "engineering", True, [], date(2026, 11, 30))
    assert first.move is None and first.event == "renovation.inspected"
    both = file(inspections=(Inspection("engineering", True),))
    with pytest.raises(Refusal, match="inspected_already"):
        inspected(requested, both, "engineering", True, [], date(2026, 11, 30))
    passed, held = inspected(requested, both, "security", True, [], date(2026, 11, 30))
    assert passed.move == Move.PASS and held.move == Move.HOLD_DEPOSIT
    assert held.data == {"inspected_on": "2026-11-30", "refund_from": "2027-02-28"}
    assert held.tell[0].to == Resident() and held.tell[0].params["refund_from"] == "2027-02-28"


def test_r21_the_earliest_refund_date_is_three_calendar_months_on() -> None:
    """R-21: three months after the inspection (the month's last day when it is short);
    the notice goes at the start of that day's work."""
    assert earliest_refund(date(2026, 12, 2)) == date(2027, 3, 2)
    assert earliest_refund(date(2026, 11, 30)) == date(2027, 2, 28)
    assert earliest_refund(date(2027, 11, 15)) == date(2028, 2, 15)
    at = refund_opens_at(CAL, date(2027, 3, 2))
    assert at == datetime.combine(date(2027, 3, 2), time(9), tzinfo=SHANGHAI)


def test_r20_a_problem_fails_it_the_owner_reads_the_fix_and_asks_again() -> None:
    """R-20: a problem needs its line; with one, the second inspection fails it, the owner
    reads each department's problems with the fix and a re-inspection button; the owner
    asks again with a new slot (a new round)."""
    requested = ren(Status.COMPLETION_REQUESTED)
    with pytest.raises(Refusal, match="problems_needed"):
        inspected(requested, file(), "security", False, [], date(2026, 11, 30))
    one = file(inspections=(Inspection("security", False, ("消防栓被遮挡，请清理",)),))
    [failed] = inspected(requested, one, "engineering", True, [], date(2026, 11, 30))
    assert failed.move == Move.FAIL
    owner = failed.tell[0]
    assert owner.to == Resident() and owner.buttons == "ren_cp_again"
    assert (
        owner.params["security"] == "• 消防栓被遮挡，请清理" and owner.params["engineering"] == "—"
    )
    with pytest.raises(Refusal, match="not_failed"):
        reinspection_asked(requested, True, date(2026, 12, 8))
    again = reinspection_asked(ren(Status.FAILED), True, date(2026, 12, 8))
    assert again.move == Move.REINSPECT and again.data == {"slot": "2026-12-08"}


def test_r21_a_refund_before_three_months_is_refused_with_the_date() -> None:
    """R-21: an earliest date, not a deadline: a claim or a check while the deposit is held
    is refused; the timer opens it on the day, not before."""
    held = ren(Status.DEPOSIT_HELD)
    done = file(inspected_on=date(2026, 11, 30), refund_from=date(2027, 2, 28))
    for attempt in (
        lambda: claimed(held, done, OWNER, date(2027, 2, 27)),
        lambda: refund_not_yet(held, done, date(2027, 2, 27)),
        lambda: refund_checked(
            held, done, True, {}, deductions([], 0, 0), date(2027, 2, 27), False
        ),
    ):
        with pytest.raises(Refusal, match="refund_not_yet"):
            attempt()
    assert refund_opened(held, done, date(2027, 2, 27)) is None
    opened = refund_opened(held, done, date(2027, 2, 28))
    assert opened is not None and opened.move == Move.OPEN_REFUND
    assert opened.tell[0].to == Resident() and opened.tell[0].buttons == "ren_rf_claim"
    assert refund_opened(ren(Status.REFUND_DUE), done, date(2027, 3, 1)) is None  # once


def test_r21_a_contractors_claim_needs_the_owners_consent() -> None:
    """R-21: the contractor's head who joined claims; the owner is asked; the check waits
    for the consent; the owner alone consents."""
    due = ren(Status.REFUND_DUE, contractor=CONTRACTOR_HEAD)
    done = file(refund_from=date(2027, 2, 28))
    with pytest.raises(Refusal, match="not_claimant"):
        claimed(due, done, 999, date(2027, 3, 1))
    claim = claimed(due, done, CONTRACTOR_HEAD, date(2027, 3, 1))
    assert claim.data == {"claimant": "contractor"} and claim.tell[0].buttons == "ren_rf_consent"
    asked = replace(done, claimant="contractor")
    with pytest.raises(Refusal, match="claimed_already"):
        claimed(due, asked, OWNER, date(2027, 3, 1))
    with pytest.raises(Refusal, match="consent_first"):
        refund_checked(due, asked, True, {}, deductions([], 0, 0), date(2027, 3, 1), False)
    with pytest.raises(Refusal, match="not_owner"):
        consented(due, asked, False)
    assert consented(due, asked, True).approval is not None


def test_r16_r21_penalty_and_utilities_beyond_the_deposit_clamp_at_zero_and_say_so() -> None:
    """R-16, R-21: a ¥2,000 deposit less a ¥1,500 penalty; utilities ¥800 and damage ¥100:
    the deposit stops at zero, ¥400 + ¥100 are owed, nothing is refundable, and the
    confirmations say what the owner owes."""
    ledger = [LedgerEntry(Entry.COLLECTED, 200_000), LedgerEntry(Entry.PENALTY, 150_000)]
    found = deductions(ledger, 80_000, 10_000)
    assert found.refundable_fen == 0 and found.arrears_fen == 40_000 and found.clamped
    assert [p.excess_fen for p in found.postings] == [30_000, 10_000]
    clear = deductions(ledger, 12_000, 0)
    assert clear.refundable_fen == 38_000 and not clear.clamped
    due = ren(Status.REFUND_DUE)
    decision = refund_checked(due, file(), True, {"leaks": True}, found, date(2027, 3, 1), False)
    assert decision.tell[0].key == "renovation_completion.confirm_ask_owes"
    assert decision.tell[0].params["arrears"] == "¥400.00"
    assert decision.data["flagged"] == ["leaks"]
    assert parse_amount("120") == 12_000 and parse_amount("0") == 0
    assert parse_amount("很多") is None and parse_amount("-5") is None
    assert parse_amount("1.005") is None


def test_r21_the_project_manager_confirms_for_the_centre_head_only_when_nobody_holds_it() -> None:
    """R-21: the project-centre head confirms; while nobody in the estate holds the role,
    the project manager confirms in it; the check is asked of whoever that is."""
    due = ren(Status.REFUND_DUE)
    done = file(checked=True, refundable_fen=38_000)
    manager = {Role.PROJECT_MANAGER.value}
    assert confirming_role(due, 5, manager, False, done) == CENTRE_HEAD
    assert confirming_role(due, 5, manager, True, done) is None
    assert confirming_role(due, 6, {CENTRE_HEAD}, True, done) == CENTRE_HEAD
    assert confirming_role(due, OWNER, set(), True, done) == Role.OWNER.value
    checked = refund_checked(due, file(), True, {}, deductions([], 0, 0), date(2027, 3, 1), False)
    assert checked.tell[1].to == Roles(frozenset({Role.PROJECT_MANAGER.value}))
    checked = refund_checked(due, file(), True, {}, deductions([], 0, 0), date(2027, 3, 1), True)
    assert checked.tell[1].to == Roles(frozenset({CENTRE_HEAD}))


def test_r21_confirmations_then_the_approval_then_the_cashiers_refund_close_it() -> None:
    """R-21: nothing is confirmed before the check; each confirms once; the last brings the
    project manager's approval; the cashier pays only after it: refunded, then closed."""
    due = ren(Status.REFUND_DUE)
    with pytest.raises(Refusal, match="check_first"):
        refund_confirmed(due, file(), Role.OWNER.value)
    done = file(checked=True, refundable_fen=38_000)
    with pytest.raises(Refusal, match="not_confirmer"):
        refund_confirmed(due, done, None)
    first = refund_confirmed(due, done, Role.OWNER.value)
    assert first.approval is not None and first.approval.version == "refund:38000"
    assert not first.tell  # the centre head has not confirmed yet
    with pytest.raises(Refusal, match="confirmed_already"):
        refund_confirmed(due, replace(done, confirmed=frozenset({"owner"})), Role.OWNER.value)
    last = refund_confirmed(due, replace(done, confirmed=frozenset({"owner"})), CENTRE_HEAD)
    assert last.tell[0].to == Roles(frozenset({Role.PROJECT_MANAGER.value}))
    with pytest.raises(Refusal, match="confirmations_missing"):
        refund_approved(due, done, True)
    confirmed = replace(done, confirmed=frozenset({"owner", CENTRE_HEAD}))
    with pytest.raises(Refusal, match="not_manager"):
        refund_approved(due, confirmed, False)
    approval = refund_approved(due, confirmed, True).approval
    assert approval is not None and approval.role == Role.PROJECT_MANAGER.value
    with pytest.raises(Refusal, match="approved_already"):
        refund_approved(due, replace(confirmed, approved=True), True)
    with pytest.raises(Refusal, match="approval_first"):
        refunded(due, confirmed, True, "FK-1")
    approved = replace(confirmed, approved=True)
    with pytest.raises(Refusal, match="not_cashier"):
        refunded(due, approved, False, "FK-1")
    with pytest.raises(Refusal, match="receipt_needed"):
        refunded(due, approved, True, None)
    paid, closed = refunded(due, approved, True, "FK-1")
    assert paid.move == Move.REFUND and paid.data["amount_fen"] == 38_000
    assert closed.move == Move.CLOSE and closed.expect_status == Status.REFUNDED
    # a contractor who joined confirms too
    joined = ren(Status.REFUND_DUE, contractor=CONTRACTOR_HEAD)
    with pytest.raises(Refusal, match="confirmations_missing"):
        refund_approved(joined, confirmed, True)
