"""Renovation's first step as rules, no database and no Telegram: the state machine, one
open renovation per unit, the form, the documents' checklist (R-1..R-3), the heads'
signatures and R-4's clock (across National Day 2026 and a make-up Saturday), the owner
accepting the terms (R-7)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from procedures.deadlines import load_estate
from procedures.decisions import Approval, Department, Resident, Roles, Targets, Text, Title
from procedures.renovation import (
    ENDED,
    HEADS,
    REQUIRED,
    TRANSITIONS,
    Balance,
    Doc,
    DocState,
    Document,
    Entry,
    Fee,
    FeeLine,
    Form,
    InvalidMove,
    LedgerEntry,
    Move,
    NoticeState,
    PatrolResult,
    PenaltyState,
    Refusal,
    Renovation,
    Signature,
    Status,
    ViolationNotice,
    WithDelegates,
    WorkerPass,
    agreement_signed,
    balance,
    check_pass,
    checked,
    clean_code,
    clean_id_number,
    clean_phone,
    clean_receipt,
    collect,
    contractor_told,
    deduct,
    delegated,
    duty_day,
    duty_timer,
    fee_lines,
    fees_paid,
    file_added,
    is_complete,
    is_open,
    joined,
    mask_id,
    may_apply,
    missing,
    next_duty_timer,
    next_status,
    notice_issued,
    owner_understood,
    parse_date,
    parse_penalty,
    pass_period,
    patrol_department,
    patrol_reaction,
    patrolled,
    penalty_decided,
    period_problem,
    permitted,
    progress,
    reaction,
    reinspected,
    signed,
    signer,
    signing_role,
    submitted,
    terms_accepted,
    total,
    withdrawn,
)
from procedures.renovation_settings import RenovationSettings
from procedures.rule_ids import RuleId

SHANGHAI = ZoneInfo("Asia/Shanghai")
RULES = load_estate("")
CUSTOMER_HEAD, ENGINEERING_HEAD = HEADS


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A local time in Shanghai."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


FORM = Form(date(2026, 12, 1), date(2027, 2, 28), "安居装饰", "李工", "+8613800138000",
            ("walls", "floors"))  # fmt: skip


def docs(**states: DocState) -> dict[Doc, Document]:
    """Every required document in ``default`` state (pending unless named otherwise)."""
    default = states.pop("default", DocState.PENDING)
    return {d: Document(d, states.get(d.value, default), 1) for d in REQUIRED}


def ren(status: Status = Status.SUBMITTED, **states: DocState) -> Renovation:
    return Renovation(7, "ZX-20261127-0001", 1, 3, "1栋 101", 42, status, FORM, docs(**states))


# --- the state machine ------------------------------------------------------------------------


BUILT_PATH = [
    (Status.DRAFT, Move.SUBMIT, Status.SUBMITTED),
    (Status.SUBMITTED, Move.COMPLETE, Status.COMPLETE),
    (Status.COMPLETE, Move.APPROVE, Status.APPROVED),
    (Status.COMPLETE, Move.REJECT, Status.REJECTED),
    (Status.APPROVED, Move.ACCEPT_TERMS, Status.TERMS_ACCEPTED),
    (Status.DRAFT, Move.WITHDRAW, Status.CLOSED),
    (Status.SUBMITTED, Move.WITHDRAW, Status.CLOSED),
    (Status.TERMS_ACCEPTED, Move.SIGN_AGREEMENT, Status.AGREEMENT_SIGNED),
    (Status.AGREEMENT_SIGNED, Move.PAY_FEES, Status.FEES_PAID),
    (Status.FEES_PAID, Move.PERMIT, Status.PERMITTED),
    (Status.PERMITTED, Move.CONFIRM_ENTRY, Status.ENTRY_CONFIRMED),
    (Status.ENTRY_CONFIRMED, Move.START_WORKS, Status.ACTIVE),
]


@pytest.mark.parametrize(("start", "move", "end"), BUILT_PATH)
def test_r1_r4_r7_every_legal_move_of_this_step(start: Status, move: Move, end: Status) -> None:
    """R-1..R-4, R-7: the application's moves, each where the state machine allows it."""
    assert next_status(start, move) == end


@pytest.mark.parametrize("move", list(Move))
@pytest.mark.parametrize("status", list(Status))
def test_r1_r4_r7_every_illegal_move_of_this_step_is_refused(status: Status, move: Move) -> None:
    """R-1..R-4, R-7 and the later steps: every (state, move) the machine does not declare
    is refused."""
    if (status, move) in TRANSITIONS:
        assert next_status(status, move) == TRANSITIONS[status, move]
    else:
        with pytest.raises(InvalidMove):
            next_status(status, move)


def test_every_state_is_declared_reached_and_every_move_used() -> None:
    """The whole lifecycle is declared (issue 11, item 1): every state is reached by some
    move, every move leads somewhere."""
    reached = {Status.DRAFT} | set(TRANSITIONS.values())
    assert reached == set(Status)
    assert {m for (_, m) in TRANSITIONS} == set(Move)
    assert next_status(Status.ACTIVE, Move.SUSPEND) == Status.SUSPENDED
    assert next_status(Status.SUSPENDED, Move.RESUME) == Status.ACTIVE
    assert next_status(Status.FAILED, Move.REINSPECT) == Status.COMPLETION_REQUESTED


def test_r1_one_open_renovation_per_unit() -> None:
    """R-1: a unit with an open renovation refuses a second application; the owner's own
    draft is carried on; a rejected or closed one frees the unit."""
    assert may_apply(None, 42) is None
    draft = ren(Status.DRAFT)
    assert may_apply(draft, 42) is draft
    with pytest.raises(Refusal, match="already_open"):
        may_apply(draft, 99)  # another owner's draft holds the unit too
    for status in (Status.SUBMITTED, Status.COMPLETE, Status.APPROVED, Status.ACTIVE):
        with pytest.raises(Refusal, match="already_open"):
            may_apply(ren(status), 42)
    assert {Status.REJECTED, Status.CLOSED} == ENDED
    assert not is_open(Status.REJECTED) and is_open(Status.TERMS_ACCEPTED)


# --- the form (R-2) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("2026-12-01", date(2026, 12, 1)),
        ("2026/12/1", date(2026, 12, 1)),
        ("2026年12月1日", date(2026, 12, 1)),
        ("１２月３日", date(2026, 12, 3)),
        ("12-01", date(2026, 12, 1)),
        ("3月1日", date(2027, 3, 1)),  # passed this year: next year's
        ("2026-02-30", None),
        ("tomorrow", None),
        ("", None),
    ],
)
def test_r2_dates_as_people_type_them(typed: str, found: date | None) -> None:
    assert parse_date(typed, date(2026, 11, 27)) == found


def test_r2_a_works_period_is_checked() -> None:
    today = date(2026, 11, 27)
    assert period_problem(date(2026, 11, 26), None, today) == "period_past"
    assert period_problem(date(2026, 12, 1), date(2026, 11, 30), today) == "period_backwards"
    assert period_problem(date(2026, 12, 1), date(2027, 12, 1), today) == "period_too_long"
    assert period_problem(date(2026, 11, 27), date(2027, 2, 28), today) is None


def test_r2_the_heads_phone_is_a_mobile_or_a_landline() -> None:
    assert clean_phone("138 0013 8000") == "+8613800138000"
    assert clean_phone("021-62345678") is not None
    assert clean_phone("12345") is None


# --- documents and completeness (R-3) --------------------------------------------------------


def test_r3_the_checklist_is_complete_only_when_every_required_document_is_valid() -> None:
    """R-3: complete = every required document checked valid; pending or invalid is not."""
    assert len(REQUIRED) == 8
    assert is_complete(docs(default=DocState.VALID))
    assert not is_complete(docs(default=DocState.VALID, plan=DocState.PENDING))
    assert not is_complete(docs(default=DocState.VALID, head_id=DocState.INVALID))
    partial = {d: Document(d, DocState.VALID) for d in REQUIRED[:-1]}
    assert not is_complete(partial)  # one never sent
    assert missing(partial) == [REQUIRED[-1]]
    assert progress(docs(default=DocState.VALID, plan=DocState.INVALID)) == (7, 8)


def test_r3_submitting_needs_a_file_for_every_document() -> None:
    """R-1..R-3: a draft with a document missing cannot be submitted; one with every
    document goes to customer service with the review buttons."""
    with pytest.raises(Refusal, match="documents_missing"):
        submitted(ren(Status.DRAFT, plan=DocState.MISSING))
    decision = submitted(ren(Status.DRAFT))
    assert decision.move == Move.SUBMIT and decision.expect_status == Status.DRAFT
    staff = [t for t in decision.tell if t.to == Department("customer_service")]
    assert staff and staff[0].buttons == "ren_review"
    assert any(isinstance(t.to, Resident) for t in decision.tell)
    with pytest.raises(Refusal):
        submitted(ren(Status.SUBMITTED))


def test_r3_an_invalid_document_tells_the_owner_what_to_fix() -> None:
    """R-3: invalid needs a reason; the owner reads it, with a button to send it again."""
    with pytest.raises(Refusal, match="reason_needed"):
        checked(ren(), Doc.PLAN, False, None, RULES, sh(2026, 11, 27, 10))
    decision = checked(ren(), Doc.PLAN, False, "no_seal", RULES, sh(2026, 11, 27, 10))
    assert decision.move is None and decision.event == "renovation.document_checked"
    assert decision.documents == {Doc.PLAN: (DocState.INVALID, "no_seal")}
    [owner] = decision.tell
    assert isinstance(owner.to, Resident) and owner.buttons == "ren_fix"
    assert owner.params["reason"] == Text("renovation.reason.no_seal")
    assert owner.button_arg == REQUIRED.index(Doc.PLAN)
    assert not decision.start


def test_r3_only_a_sent_unchecked_document_is_checked() -> None:
    with pytest.raises(Refusal, match="doc_not_pending"):
        checked(ren(plan=DocState.INVALID), Doc.PLAN, True, None, RULES, sh(2026, 11, 27))
    with pytest.raises(Refusal, match="not_checkable"):
        checked(ren(Status.DRAFT), Doc.PLAN, True, None, RULES, sh(2026, 11, 27))


def test_r3_a_fixed_document_goes_back_to_customer_service() -> None:
    """R-3: the owner's file for a refused document makes it pending again, and customer
    service hears of it; a valid one takes no more files; only the owner sends."""
    decision = file_added(ren(plan=DocState.INVALID), Doc.PLAN, by_owner=True)
    assert decision.documents == {Doc.PLAN: (DocState.PENDING, None)}
    assert [t.to for t in decision.tell] == [Department("customer_service")]
    again = file_added(ren(plan=DocState.PENDING), Doc.PLAN, by_owner=True)
    assert again.tell == []  # the second file of the same round: no second notice
    with pytest.raises(Refusal, match="doc_valid_already"):
        file_added(ren(plan=DocState.VALID), Doc.PLAN, by_owner=True)
    with pytest.raises(Refusal, match="not_owner"):
        file_added(ren(Status.DRAFT), Doc.PLAN, by_owner=False)
    with pytest.raises(Refusal, match="not_editable"):
        file_added(ren(Status.COMPLETE), Doc.PLAN, by_owner=True)


def test_r4_r5_the_last_valid_document_completes_it_and_starts_the_clock() -> None:
    """R-3 → R-4, R-5: the last document marked valid completes the application: R-4's
    clock starts (1 working day), engineering gets the file with its documents, both heads
    get it to decide; the owner is told."""
    now = sh(2026, 11, 27, 10)
    before = ren(default=DocState.VALID, licence=DocState.PENDING)
    decision = checked(before, Doc.LICENCE, True, None, RULES, now)
    assert decision.move == Move.COMPLETE
    assert decision.changes == {"complete_at": now}
    [clock] = decision.start
    assert clock.rule == RuleId.R4
    assert clock.due_at == sh(2026, 11, 30, 10)  # Friday → Monday, 10:00
    assert clock.warn_at == sh(2026, 11, 27, 16, 30)  # two working hours before
    audiences = [t.to for t in decision.tell]
    assert Department("engineering") in audiences
    heads = next(t for t in decision.tell if t.to == WithDelegates(frozenset(HEADS)))
    assert heads.buttons == "ren_decide" and heads.params["limit"] == Title(RuleId.R4)
    engineering = next(t for t in decision.tell if t.to == Department("engineering"))
    assert engineering.photos  # the documents go with the file
    not_last = checked(ren(default=DocState.PENDING), Doc.LICENCE, True, None, RULES, now)
    assert not_last.move is None and not not_last.start


def test_r4_across_national_day_2026() -> None:
    """R-4: complete on Wednesday 30 September 2026 at 16:00, the eve of National Day: the
    decision is due one working day later, Thursday 8 October at 16:00 (1–7 October off);
    the approvers are warned two working hours before."""
    start = sh(2026, 9, 30, 16)
    decision = checked(ren(default=DocState.VALID, plan=DocState.PENDING), Doc.PLAN, True,
                       None, RULES, start)  # fmt: skip
    [clock] = decision.start
    assert clock.due_at == sh(2026, 10, 8, 16)
    assert clock.warn_at == sh(2026, 10, 8, 14)


def test_r4_across_a_make_up_saturday() -> None:
    """R-4: 调休 counts: complete on Friday 9 October 2026 at 16:00, due on the make-up
    Saturday 10 October at 16:00, not on Monday."""
    start = sh(2026, 10, 9, 16)
    decision = checked(ren(default=DocState.VALID, plan=DocState.PENDING), Doc.PLAN, True,
                       None, RULES, start)  # fmt: skip
    [clock] = decision.start
    assert clock.due_at == sh(2026, 10, 10, 16)
    assert clock.warn_at == sh(2026, 10, 10, 14)


# --- signatures and terms (R-7) --------------------------------------------------------


def test_r4_only_a_heads_role_signs_and_each_once() -> None:
    """R-4: the role signed in is a head's not yet signed; an admin, a customer assistant or
    a project manager, as such, signs nothing."""
    assert signing_role({"customer_head"}, []) == CUSTOMER_HEAD
    assert signing_role({"engineering_head", "admin"}, []) == ENGINEERING_HEAD
    assert signing_role({"admin"}, []) is None
    assert signing_role({"customer_assistant", "project_manager"}, []) is None
    assert signing_role({"customer_head"}, [Signature(CUSTOMER_HEAD, True)]) is None
    both = {"customer_head", "engineering_head"}
    assert signing_role(both, [Signature(CUSTOMER_HEAD, True)]) == ENGINEERING_HEAD
    with pytest.raises(Refusal, match="not_a_head"):
        signed(ren(Status.COMPLETE), "admin", True, None, [])
    with pytest.raises(Refusal, match="signed_already"):
        signed(ren(Status.COMPLETE), CUSTOMER_HEAD, True, None, [Signature(CUSTOMER_HEAD, True)])
    with pytest.raises(Refusal, match="not_decidable"):
        signed(ren(Status.SUBMITTED), CUSTOMER_HEAD, True, None, [])


def test_r4_two_approvals_approve_and_stop_the_clock() -> None:
    """R-4, R-7: the first approval is recorded and waits for the other head; the second
    approves it, stops R-4's clock and gives the owner the button that accepts the terms."""
    first = signed(ren(Status.COMPLETE), ENGINEERING_HEAD, True, "水电走向合理", [])
    assert first.move is None and first.event == "renovation.signed"
    assert first.approval is not None and first.approval.role == ENGINEERING_HEAD
    assert first.approval.step == RuleId.R4 and first.approval.comment == "水电走向合理"
    assert [t.to for t in first.tell] == [WithDelegates(frozenset({CUSTOMER_HEAD}))]
    assert not first.stop
    second = signed(ren(Status.COMPLETE), CUSTOMER_HEAD, True, None,
                    [Signature(ENGINEERING_HEAD, True)])  # fmt: skip
    assert second.move == Move.APPROVE and second.stop == [RuleId.R4]
    owner = next(t for t in second.tell if isinstance(t.to, Resident))
    assert owner.buttons == "ren_terms"


def test_r4_a_rejection_needs_comments_and_ends_it() -> None:
    with pytest.raises(Refusal, match="comment_needed"):
        signed(ren(Status.COMPLETE), CUSTOMER_HEAD, False, None, [])
    decision = signed(ren(Status.COMPLETE), CUSTOMER_HEAD, False, "拆改承重墙", [])
    assert decision.move == Move.REJECT and decision.stop == [RuleId.R4]
    assert decision.approval is not None and not decision.approval.approved
    owner = next(t for t in decision.tell if isinstance(t.to, Resident))
    assert owner.params["comment"] == "拆改承重墙"
    assert next_status(Status.COMPLETE, Move.REJECT) in ENDED


def test_r7_the_owner_accepts_the_terms_by_button() -> None:
    """R-7: only the owner, only once approved; signed as the owner."""
    decision = terms_accepted(ren(Status.APPROVED), by_owner=True)
    assert decision.move == Move.ACCEPT_TERMS
    assert decision.approval is not None and decision.approval.role == "owner"
    assert decision.approval.step == RuleId.R7
    with pytest.raises(Refusal, match="not_owner"):
        terms_accepted(ren(Status.APPROVED), by_owner=False)
    with pytest.raises(Refusal, match="not_approved"):
        terms_accepted(ren(Status.COMPLETE), by_owner=True)


def test_withdrawing_frees_the_unit_until_it_is_complete() -> None:
    assert withdrawn(ren(Status.DRAFT)).move == Move.WITHDRAW
    staff = withdrawn(ren(Status.SUBMITTED)).tell
    assert Department("customer_service") in [t.to for t in staff]
    with pytest.raises(InvalidMove):
        withdrawn(ren(Status.COMPLETE))


# --- R-4's clock reacting ---------------------------------------------------------------------


def test_r4_warning_goes_to_the_heads_who_have_not_signed() -> None:
    """R-4: the warning reaches only the heads still to sign, with the buttons."""
    due = datetime(2026, 11, 30, 2, tzinfo=UTC)
    [warn] = reaction(ren(Status.COMPLETE), RuleId.R4, True, False, RULES,
                      [Signature(ENGINEERING_HEAD, True)], due)  # fmt: skip
    [tell] = warn.tell
    assert tell.to == WithDelegates(frozenset({CUSTOMER_HEAD})) and tell.buttons == "ren_decide"
    assert tell.params["due"] == "11-30 10:00"
    assert warn.event is None


def test_r4_breach_escalates_to_the_project_manager_and_is_recorded() -> None:
    due = datetime(2026, 11, 30, 2, tzinfo=UTC)
    [breach] = reaction(ren(Status.COMPLETE), RuleId.R4, False, True, RULES, [], due)
    assert breach.event == "renovation.deadline_missed"
    assert breach.data["late"] is True
    [tell] = breach.tell
    assert tell.to == Targets(("project_manager",)) and tell.late
    assert reaction(ren(Status.APPROVED), RuleId.R4, False, False, RULES, [], due) == []


def test_r6_fire_structural_and_gas_ticks_are_flagged_for_a_filing() -> None:
    """R-6 (flag only, for now): the ticks that need the authorities, in the form's order;
    the card shows them (the guides and receipts come with the filings step)."""
    form = Form(date(2026, 12, 1), date(2026, 12, 31), "安居装饰", "李工", "+8613800138000",
                ("walls", "gas", "fire"))  # fmt: skip
    assert form.filings == ("gas", "fire")
    assert FORM.filings == ()


# --- agreement and rules (R-8, R-9) ------------------------------------------------------------


def test_r8_r9_the_owner_signs_the_agreement_rules_and_fire_safety_in_one_step() -> None:
    """R-8, R-9: the owner signs the agreement with the fire-safety responsibility agreement
    (R-8's signature) and acknowledges the rules and hours as shown (R-9's, its version the
    hours): agreement signed; the owner and customer service are told."""
    terms = replace(ren(Status.TERMS_ACCEPTED), contractor_id=None)
    role = signer(terms, 42)
    assert role == "owner"
    hours = "work 08:00–12:00, 14:00–18:00; moving 08:00–20:00"
    decision = agreement_signed(terms, role, hours)
    assert decision.move == Move.SIGN_AGREEMENT
    assert next_status(terms.status, Move.SIGN_AGREEMENT) == Status.AGREEMENT_SIGNED
    assert decision.approval == Approval("R-8", "owner", True, version="agreement+fire_safety")
    assert decision.also == [Approval("R-9", "owner", True, version=hours)]
    assert decision.data["papers"] == ["agreement", "regulations", "fire_safety"]
    assert [t.key for t in decision.tell] == [
        "renovation.agreement_owner",
        "renovation.agreement_staff",
        "renovation.to_cashier",  # R-10 next
    ]


def test_r8_only_the_owner_or_the_delegated_contractor_head_signs() -> None:
    """R-8: the contractor's head signs only once they joined by the owner's link; nobody
    else signs; and only while the terms are accepted and the agreement waits."""
    terms = ren(Status.TERMS_ACCEPTED)
    assert signer(terms, 77) is None
    with pytest.raises(Refusal, match="not_signer"):
        agreement_signed(terms, signer(terms, 77), "")
    with_head = replace(terms, contractor_id=77)
    assert signer(with_head, 77) == "contractor"
    assert agreement_signed(with_head, "contractor", "").approval == Approval(
        "R-8", "contractor", True, version="agreement+fire_safety"
    )
    for status in (Status.APPROVED, Status.AGREEMENT_SIGNED, Status.FEES_PAID):
        with pytest.raises(Refusal, match="not_signable"):
            agreement_signed(ren(status), "owner", "")


def test_r8_the_owner_delegates_from_their_own_account_and_the_head_joins() -> None:
    """R-8: only the owner delegates, while the agreement waits; the owner cannot join by
    their own link; the head joining tells the owner."""
    terms = ren(Status.TERMS_ACCEPTED)
    assert delegated(terms, True).event == "renovation.delegated"
    with pytest.raises(Refusal, match="not_owner"):
        delegated(terms, False)
    with pytest.raises(Refusal, match="not_signable"):
        delegated(ren(Status.AGREEMENT_SIGNED), True)
    assert [t.key for t in joined(terms, 77).tell] == ["renovation.contractor_joined_owner"]
    with pytest.raises(Refusal, match="own_link"):
        joined(terms, 42)
    with pytest.raises(Refusal, match="not_signable"):
        joined(ren(Status.AGREEMENT_SIGNED), 77)


def test_r9_r10_an_estate_sets_its_renovation_hours_and_fee_scale_in_yuan() -> None:
    """R-9, R-10: the hours and the fee scale default in procedures; an estate overrides
    them in the estates TOML, money in yuan (kept in fen); a bad value names the field."""
    default = load_estate("").renovation
    assert default.deposit == 200_000 and default.pass_fee == 1_000
    assert default.in_hours(time(9, 30)) and not default.in_hours(time(12, 30))
    config = {
        "estates": {
            "阳光花园": {
                "renovation": {
                    "work_hours": ["09:00-17:00"],
                    "deposit": 3000,
                    "management_fee_fixed": "500.50",
                }
            }
        }
    }
    own = load_estate("阳光花园", config).renovation
    assert own.work_hours == ((time(9), time(17)),)
    assert own.deposit == 300_000 and own.management_fee_fixed == 50_050
    assert own.in_hours(time(12, 30))
    bad = {"estates": {"阳光花园": {"renovation": {"work_hours": ["18:00-08:00"]}}}}
    with pytest.raises(ValueError, match="renovation"):
        load_estate("阳光花园", bad)
    with pytest.raises(ValueError, match="renovation"):
        load_estate("阳光花园", {"defaults": {"renovation": {"deposit": "12.345"}}})


# --- fees and the deposit ledger (R-10, R-16, R-21) --------------------------------------------


def test_r10_the_fee_lines_by_the_estates_scale() -> None:
    """R-10: the deposit, the management fee per m² of the unit (rounded to the fen) or
    fixed, debris removal, and a pass fee per worker; an unknown area or a silly number of
    workers is refused, politely."""
    scale = RenovationSettings()
    lines = fee_lines(scale, Decimal("104.33"), 3)
    assert [(line.item, line.amount_fen) for line in lines] == [
        (Fee.DEPOSIT, 200_000),
        (Fee.MANAGEMENT, 52_165),  # ¥5.00 × 104.33 m² = ¥521.65
        (Fee.DEBRIS, 30_000),
        (Fee.PASSES, 3_000),
    ]
    assert total(lines) == 285_165
    fixed = RenovationSettings(management_fee_fixed=50_000)
    assert fee_lines(fixed, None, 1)[1] == FeeLine(Fee.MANAGEMENT, 50_000, {"fixed": True})
    with pytest.raises(Refusal, match="area_unknown"):
        fee_lines(scale, None, 3)
    for workers in (0, 51):
        with pytest.raises(Refusal, match="workers_range"):
            fee_lines(scale, Decimal(100), workers)


def test_r10_fees_are_paid_by_the_cashier_against_a_receipt() -> None:
    """R-10: only the cashier, only once the agreement is signed, only with a receipt."""
    signed_ = ren(Status.AGREEMENT_SIGNED)
    lines = fee_lines(RenovationSettings(), Decimal(100), 2)
    decision = fees_paid(signed_, lines, "SJ-001", True)
    assert decision.move == Move.PAY_FEES
    assert next_status(signed_.status, Move.PAY_FEES) == Status.FEES_PAID
    assert decision.data["total_fen"] == 200_000 + 50_000 + 30_000 + 2_000
    assert decision.tell[0].params["total"] == "¥2,820.00"
    with pytest.raises(Refusal, match="not_cashier"):
        fees_paid(signed_, lines, "SJ-001", False)
    with pytest.raises(Refusal, match="receipt_needed"):
        fees_paid(signed_, lines, clean_receipt("   "), True)
    with pytest.raises(Refusal, match="not_payable"):
        fees_paid(ren(Status.FEES_PAID), lines, "SJ-001", True)


def test_r16_r21_penalty_and_utilities_beyond_the_deposit_clamp_at_zero_and_say_so() -> None:
    """R-16, R-21: the ledger in integer fen: ¥2,000 collected, a ¥1,500 penalty, then ¥800
    of utilities: the deposit covers ¥500 of them, the balance stops at zero and the ¥300
    beyond it is recorded as arrears the owner owes (the posting says it clamped)."""
    ledger = list(collect(200_000).entries)
    penalty = deduct(ledger, Entry.PENALTY, 150_000)
    assert not penalty.clamped and penalty.entries == (LedgerEntry(Entry.PENALTY, 150_000),)
    ledger += penalty.entries
    utilities = deduct(ledger, Entry.UTILITIES, 80_000)
    assert utilities.clamped
    assert (utilities.applied_fen, utilities.excess_fen) == (50_000, 30_000)
    assert utilities.entries == (
        LedgerEntry(Entry.UTILITIES, 50_000),
        LedgerEntry(Entry.ARREARS, 30_000, Entry.UTILITIES),
    )
    ledger += utilities.entries
    assert balance(ledger) == Balance(200_000, 200_000, 0, 30_000)
    damage = deduct(ledger, Entry.DAMAGE, 10_000)  # nothing held: all of it is owed
    assert damage.entries == (LedgerEntry(Entry.ARREARS, 10_000, Entry.DAMAGE),)
    with pytest.raises(Refusal, match="refund_exceeds"):
        deduct(ledger, Entry.REFUND, 1)
    with pytest.raises(Refusal, match="amount"):
        deduct(ledger, Entry.PENALTY, 0)
    with pytest.raises(Refusal, match="amount"):
        deduct(ledger, Entry.COLLECTED, 100)
    refund = deduct(list(collect(200_000).entries), Entry.REFUND, 200_000)
    assert balance(list(collect(200_000).entries) + list(refund.entries)).held_fen == 0


# --- the works permit and worker passes (R-11, S-1) --------------------------------------------


def test_r11_customer_service_issues_the_permit_once_the_fees_are_paid() -> None:
    """R-11: the permit after the fees, by customer service only: permitted; the owner is
    told (with the button that registers workers)."""
    paid = ren(Status.FEES_PAID)
    decision = permitted(paid, True)
    assert decision.move == Move.PERMIT
    assert next_status(paid.status, Move.PERMIT) == Status.PERMITTED
    assert decision.tell[0].buttons == "ren_workers"
    with pytest.raises(Refusal, match="not_issuer"):
        permitted(paid, False)
    with pytest.raises(Refusal, match="not_permittable"):
        permitted(ren(Status.AGREEMENT_SIGNED), True)


def test_r11_a_workers_id_number_is_checked_and_shown_masked() -> None:
    """R-11: an ID number must carry its right check digit; cards show it masked; codes
    are read as guards type them."""
    assert clean_id_number(" 11010519491231002x ") == "11010519491231002X"
    assert clean_id_number("110105194912310021") is None  # wrong check digit
    assert clean_id_number("12345") is None
    assert mask_id("11010519491231002X") == "110***********002X"
    assert clean_code(" k7m2 qx ") == "K7M2QX"
    assert clean_code("K7") is None
    assert pass_period(ren(Status.PERMITTED), date(2026, 11, 27)) == (
        FORM.period_from,
        FORM.period_to,
    )
    assert pass_period(ren(Status.PERMITTED), date(2026, 12, 5))[0] == date(2026, 12, 5)


PASS = WorkerPass(1, 7, "K7M2QX", "张三", "110***********002X", "+8613900139000",
                  date(2026, 12, 1), date(2027, 2, 28))  # fmt: skip


@pytest.mark.parametrize(
    ("found", "status", "at", "why"),
    [
        (PASS, Status.PERMITTED, sh(2026, 12, 1, 9), None),
        (PASS, Status.ACTIVE, sh(2027, 2, 28, 17, 59), None),
        (None, None, sh(2026, 12, 1, 9), "unknown"),
        (replace(PASS, revoked=True), Status.ACTIVE, sh(2026, 12, 1, 9), "revoked"),
        (PASS, Status.SUSPENDED, sh(2026, 12, 1, 9), "suspended"),
        (PASS, Status.COMPLETION_REQUESTED, sh(2026, 12, 1, 9), "not_active"),
        (PASS, Status.ACTIVE, sh(2026, 11, 30, 9), "not_yet"),
        (PASS, Status.ACTIVE, sh(2027, 3, 1, 9), "expired"),
        (PASS, Status.ACTIVE, sh(2026, 12, 1, 12, 30), "out_of_hours"),
        (PASS, Status.ACTIVE, sh(2026, 12, 1, 7, 59), "out_of_hours"),
        (PASS, Status.ACTIVE, sh(2026, 12, 1, 18), "out_of_hours"),
    ],
)
def test_s1_a_pass_admits_only_when_active_in_date_in_hours_and_works_on(
    found: WorkerPass | None, status: Status | None, at: datetime, why: str | None
) -> None:
    """S-1: expired, revoked, out of hours, renovation suspended, unknown code: each
    refused with its reason; admitted only when all hold."""
    assert check_pass(found, status, at, RenovationSettings()) == why


# --- works begun and the daily patrols (R-14, R-15, R-18) ------------------------------------


def test_r14_each_patroller_patrols_for_their_department() -> None:
    assert patrol_department({"customer_assistant"}) == "customer_service"
    assert patrol_department({"engineering"}) == "engineering"
    assert patrol_department({"security"}) == "security"
    assert patrol_department({"cashier", "owner"}) is None


def test_r14_the_patrol_is_due_at_the_end_of_the_working_day_weekends_on_monday() -> None:
    """R-14: due at the end of the working day (17:30); Saturday's works are patrolled on
    Monday; a patrol after the day's end counts for the next working day; after a day
    met or missed, the next working day's clock."""
    friday = sh(2026, 11, 27, 9)
    assert duty_day(RULES, friday) == date(2026, 11, 27)
    assert duty_day(RULES, sh(2026, 11, 28, 10)) == date(2026, 11, 30)  # Saturday
    assert duty_day(RULES, sh(2026, 11, 27, 18)) == date(2026, 11, 30)  # after 17:30
    first = duty_timer(RULES, friday)
    assert first.rule == RuleId.R14 and first.due_at == sh(2026, 11, 27, 17, 30)
    assert first.warn_at == sh(2026, 11, 27, 16, 30)  # the department warned an hour before
    assert next_duty_timer(RULES, first.due_at).due_at == sh(2026, 11, 30, 17, 30)


def test_r14_no_patrol_is_due_before_the_works_period_begins() -> None:
    """R-14: an entry inspection on Friday for works from Tuesday: the first clock is
    Tuesday's (every pass is refused until then, nothing is built); the next clock after a
    day is not before the period either."""
    friday = sh(2026, 11, 27, 9)
    first = duty_timer(RULES, friday, date(2026, 12, 1))
    assert first.due_at == sh(2026, 12, 1, 17, 30) and first.warn_at == sh(2026, 12, 1, 16, 30)
    assert duty_timer(RULES, friday, date(2026, 11, 27)).due_at == sh(2026, 11, 27, 17, 30)
    later = next_duty_timer(RULES, sh(2026, 11, 27, 17, 30), date(2026, 12, 2))
    assert later.due_at == sh(2026, 12, 2, 17, 30)
    with pytest.raises(Refusal, match="works_not_begun"):  # FORM's works begin on 12-01
        patrolled(ren(Status.ACTIVE), "engineering", PatrolResult.OK, date(2026, 11, 30))


def test_r14_r15_a_patrol_is_recorded_only_while_the_works_are_on() -> None:
    """R-14: all in order; R-15: a minor violation needs its photo and its line."""
    active, day = ren(Status.ACTIVE), date(2026, 12, 1)
    done = patrolled(active, "engineering", PatrolResult.OK, day)
    assert done.event == "renovation.patrolled" and done.expect_status == Status.ACTIVE
    assert done.data == {"department": "engineering", "day": "2026-12-01", "result": "ok"}
    minor = patrolled(active, "security", PatrolResult.MINOR, day, "堆放建材", "ab" * 32)
    assert minor.data["photo"] == "ab" * 32 and minor.data["note"] == "堆放建材"
    with pytest.raises(Refusal, match="photo_needed"):
        patrolled(active, "security", PatrolResult.MINOR, day, "堆放建材")
    with pytest.raises(Refusal, match="note_needed"):
        patrolled(active, "security", PatrolResult.MINOR, day, None, "ab" * 32)
    with pytest.raises(Refusal, match="not_patroller"):
        patrolled(active, None, PatrolResult.OK, day)
    with pytest.raises(Refusal, match="not_patrollable"):
        patrolled(ren(Status.SUSPENDED), "engineering", PatrolResult.OK, day)


def test_r14_a_missing_patrol_warns_the_department_then_escalates_and_is_recorded() -> None:
    due = sh(2026, 11, 27, 17, 30)
    [warn] = patrol_reaction(ren(Status.ACTIVE), "security", True, False, RULES, due)
    [tell] = warn.tell
    assert tell.to == Department("security") and tell.params["due"] == "17:30"
    assert tell.params["department"] == Text("department.security") and warn.event is None
    [breach] = patrol_reaction(ren(Status.ACTIVE), "security", False, True, RULES, due)
    assert breach.event == "renovation.patrol_missed"
    assert breach.data == {"rule": "R-14", "department": "security", "day": "2026-11-27",
                           "late": True}  # fmt: skip
    [tell] = breach.tell
    assert tell.to == Targets(("project_manager",)) and tell.params["rule"] == Title("R-14")
    assert patrol_reaction(ren(Status.SUSPENDED), "security", False, False, RULES, due) == []


def notice(state: NoticeState, penalty: PenaltyState | None = None) -> ViolationNotice:
    return ViolationNotice(5, 7, state, "擅自拆除承重墙", date(2026, 12, 5), 50000, penalty)


def test_r15_r16_a_serious_violation_makes_a_notice_the_owner_hears_first() -> None:
    """R-15: the notice with its photo and due date; the owner told first (with the button
    of their understanding), customer service and, for a penalty, the project manager."""
    today = date(2026, 11, 27)
    issued = notice_issued(ren(Status.ACTIVE), "engineering", "擅自拆除承重墙",
                           date(2026, 12, 5), today, 50000, "ab" * 32)  # fmt: skip
    assert issued.event == "renovation.notice_issued" and issued.data["result"] == "serious"
    assert [tell.to for tell in issued.tell] == [
        Resident(),
        Department("customer_service"),
        Roles(frozenset({"project_manager"})),
    ]
    assert issued.tell[0].buttons == "ren_notice_owner"
    no_penalty = notice_issued(ren(Status.ACTIVE), "security", "x", today, today, 0, "ab" * 32)
    assert len(no_penalty.tell) == 2
    with pytest.raises(Refusal, match="due_past"):
        notice_issued(ren(Status.ACTIVE), "security", "x", date(2026, 11, 26), today, 0, "a")
    with pytest.raises(Refusal, match="not_patrollable"):
        notice_issued(ren(Status.PERMITTED), "security", "x", today, today, 0, "a")


def test_r15_telling_the_contractor_before_the_owner_is_refused() -> None:
    """R-15: only after the owner's understanding (their button, or a recorded call) is the
    contractor's head told; re-inspection closes it after that."""
    with pytest.raises(Refusal, match="owner_first"):
        contractor_told(notice(NoticeState.ISSUED), by_staff=True)
    with pytest.raises(Refusal, match="owner_first"):
        reinspected(notice(NoticeState.ISSUED), by_staff=True)
    with pytest.raises(Refusal, match="not_owner"):
        owner_understood(notice(NoticeState.ISSUED), "button", by_owner=False, by_staff=True)
    assert owner_understood(notice(NoticeState.ISSUED), "call", False, True).data["how"] == "call"
    told = contractor_told(notice(NoticeState.OWNER_TOLD), by_staff=True)
    assert told.event == "renovation.notice_contractor_told"
    with pytest.raises(Refusal, match="contractor_first"):
        reinspected(notice(NoticeState.OWNER_TOLD), by_staff=True)
    closed = reinspected(notice(NoticeState.CONTRACTOR_TOLD), by_staff=True)
    assert closed.event == "renovation.notice_closed" and closed.tell[0].to == Resident()
    with pytest.raises(Refusal, match="notice_closed"):
        reinspected(notice(NoticeState.CLOSED), by_staff=True)


def test_r16_only_the_project_manager_decides_a_penalty_once() -> None:
    proposed = notice(NoticeState.ISSUED, PenaltyState.PROPOSED)
    approved = penalty_decided(proposed, approved=True, by_manager=True)
    assert approved.approval == Approval("R-16", "project_manager", True, version="notice:5")
    assert approved.event == "renovation.penalty_approved"
    with pytest.raises(Refusal, match="not_manager"):
        penalty_decided(proposed, approved=True, by_manager=False)
    with pytest.raises(Refusal, match="penalty_decided"):
        penalty_decided(notice(NoticeState.ISSUED, PenaltyState.APPROVED), True, True)


@pytest.mark.parametrize(
    ("typed", "fen"),
    [("500", 50000), ("¥12.5", 1250), ("0", 0), ("２００元", 20000), ("很多", None),
     ("-5", None), ("1000001", None), ("nan", None)],
)  # fmt: skip
def test_r16_a_penalty_is_typed_in_yuan(typed: str, fen: int | None) -> None:
    assert parse_penalty(typed) == fen
