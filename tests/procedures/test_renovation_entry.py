"""The entry inspection (R-12), the entry notice (R-13), suspension and resumption, the
works period's extension and the rectification notice's signatures (R-15) as rules: no
database, no Telegram."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from procedures.decisions import Department, Resident, Roles
from procedures.renovation import (
    TRANSITIONS,
    Form,
    InvalidMove,
    Move,
    NoticeState,
    Refusal,
    Renovation,
    Status,
    ViolationNotice,
    WorkerPass,
    check_pass,
    next_status,
)
from procedures.renovation_entry import (
    CHECKLIST,
    Checked,
    Extension,
    ExtensionState,
    Inspection,
    Item,
    NoticeSignature,
    SignState,
    entry_notice,
    extension_decided,
    extension_problem,
    extension_requested,
    item_checked,
    notice_signed,
    party_confirmed,
    refusal_recorded,
    refusal_witnessed,
    rest_ok,
    resumed,
    staff_confirmed,
    suspended,
)
from procedures.renovation_settings import RenovationSettings

FORM = Form(date(2026, 12, 1), date(2027, 2, 28), "安居装饰", "李工", "+8613800138000", ("walls",))
HOURS = "08:00–12:00, 14:00–18:00"


def ren(status: Status = Status.PERMITTED, contractor: int | None = None) -> Renovation:
    return Renovation(7, "ZX-20261127-0001", 1, 3, "1栋 101", 42, status, FORM,
                      contractor_id=contractor)  # fmt: skip


def walked(*damaged: Item, staff: bool = False, party: str | None = None) -> Inspection:
    """Every part recorded, those named damaged (with a line and a photo)."""
    items = {
        i: Checked(i, False, "地砖裂了", "ab" * 32) if i in damaged else Checked(i, True)
        for i in CHECKLIST
    }
    return Inspection(items, staff, party)


# --- the state machine ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "move", "end"),
    [
        (Status.PERMITTED, Move.CONFIRM_ENTRY, Status.ENTRY_CONFIRMED),
        (Status.ENTRY_CONFIRMED, Move.START_WORKS, Status.ACTIVE),
        (Status.ACTIVE, Move.SUSPEND, Status.SUSPENDED),
        (Status.SUSPENDED, Move.RESUME, Status.ACTIVE),
    ],
)
def test_r12_r13_entry_and_suspension_moves_are_built_and_legal(
    start: Status, move: Move, end: Status
) -> None:
    """R-12, R-13: entry confirmed → active ⇄ suspended, each built."""
    assert next_status(start, move) == end


@pytest.mark.parametrize("move", [Move.CONFIRM_ENTRY, Move.START_WORKS, Move.SUSPEND, Move.RESUME])
@pytest.mark.parametrize("status", list(Status))
def test_r12_r13_every_other_state_refuses_these_moves(status: Status, move: Move) -> None:
    """R-12, R-13: from anywhere else the entry and suspension moves are refused."""
    if (status, move) in TRANSITIONS:
        return
    with pytest.raises(InvalidMove):
        next_status(status, move)


# --- the entry inspection (R-12) ---------------------------------------------------------------


def test_r12_an_item_is_ok_in_one_tap_or_damaged_with_a_photo_and_a_line() -> None:
    ins = Inspection()
    ok = item_checked(ren(), ins, Item.LIFT_CAR, True, True)
    assert ok.data == {"items": [{"item": "lift_car", "ok": True}]}
    bad = item_checked(ren(), ins, Item.LIFT_CAR, False, True, "轿厢壁划痕", "cd" * 32)
    assert bad.data["items"] == [
        {"item": "lift_car", "ok": False, "note": "轿厢壁划痕", "photo": "cd" * 32}
    ]
    with pytest.raises(Refusal, match="photo_needed"):
        item_checked(ren(), ins, Item.LIFT_CAR, False, True, "轿厢壁划痕", None)
    with pytest.raises(Refusal, match="note_needed"):
        item_checked(ren(), ins, Item.LIFT_CAR, False, True, None, "cd" * 32)


def test_r12_only_customer_service_inspects_a_permitted_renovation_before_anyone_signed() -> None:
    with pytest.raises(Refusal, match="not_issuer"):
        item_checked(ren(), Inspection(), Item.DOORS, True, False)
    with pytest.raises(Refusal, match="not_startable"):
        item_checked(ren(Status.FEES_PAID), Inspection(), Item.DOORS, True, True)
    with pytest.raises(Refusal, match="entry_signed"):
        item_checked(ren(), walked(staff=True), Item.DOORS, False, True, "门框变形", "ef" * 32)
    with pytest.raises(Refusal, match="entry_signed"):
        rest_ok(ren(), walked(party="owner"), True)


def test_r12_the_rest_is_in_order_records_every_item_not_recorded_yet() -> None:
    ins = Inspection({Item.LIFT_CAR: Checked(Item.LIFT_CAR, False, "划痕", "ab" * 32)})
    decision = rest_ok(ren(), ins, True)
    assert [i["item"] for i in decision.data["items"]] == [
        i.value for i in CHECKLIST if i != Item.LIFT_CAR
    ]
    with pytest.raises(Refusal, match="entry_recorded"):
        rest_ok(ren(), walked(), True)


def test_r12_both_sides_must_confirm_a_complete_checklist_before_the_works_start() -> None:
    """R-12: customer service's confirmation alone asks the owner; the owner's alone tells
    customer service; an incomplete checklist is refused; the second confirmation (either
    order) confirms the entry and starts the works."""
    with pytest.raises(Refusal, match="entry_incomplete"):
        staff_confirmed(ren(), Inspection(), True, HOURS, 2)
    with pytest.raises(Refusal, match="entry_incomplete"):
        party_confirmed(ren(), Inspection(), "owner", HOURS, 2)
    [asked] = staff_confirmed(ren(), walked(Item.LIFT_CAR), True, HOURS, 2)
    assert asked.move is None and asked.data == {"signed": "staff", "damaged": 1}
    assert asked.approval is not None and asked.approval.step == "R-12"
    assert asked.approval.role == "customer_assistant"
    assert [t.to for t in asked.tell] == [Resident()]
    [told] = party_confirmed(ren(), walked(), "owner", HOURS, 2)
    assert told.move is None and told.approval is not None and told.approval.role == "owner"
    confirm, start = party_confirmed(ren(), walked(staff=True), "contractor", HOURS, 2)
    assert confirm.move == Move.CONFIRM_ENTRY and start.move == Move.START_WORKS
    assert confirm.approval is not None and confirm.approval.role == "contractor"
    confirm, start = staff_confirmed(ren(), walked(party="owner"), True, HOURS, 2)
    assert confirm.move == Move.CONFIRM_ENTRY and start.move == Move.START_WORKS
    with pytest.raises(Refusal, match="entry_confirmed_already"):
        staff_confirmed(ren(), walked(staff=True), True, HOURS, 2)
    with pytest.raises(Refusal, match="entry_confirmed_already"):
        party_confirmed(ren(), walked(party="owner"), "owner", HOURS, 2)
    with pytest.raises(Refusal, match="not_signer"):
        party_confirmed(ren(), walked(), None, HOURS, 2)
    with pytest.raises(Refusal, match="not_issuer"):
        staff_confirmed(ren(), walked(), False, HOURS, 2)


def test_r12_a_photo_of_the_signed_paper_stands_for_a_party_without_telegram() -> None:
    """R-12: customer service sends the photo of the paper form; no approval is signed in
    the party's name (the paper is the signature), the photo's hash is on the record."""
    confirm, _start = party_confirmed(
        ren(), walked(staff=True), None, HOURS, 2, paper="ff" * 32, may_inspect=True
    )
    assert confirm.move == Move.CONFIRM_ENTRY and confirm.approval is None
    assert confirm.data["signed"] == "paper" and confirm.data["paper"] == "ff" * 32
    with pytest.raises(Refusal, match="not_issuer"):
        party_confirmed(ren(), walked(), None, HOURS, 2, paper="ff" * 32, may_inspect=False)


def test_r13_the_entry_notice_goes_to_engineering_security_and_the_owner() -> None:
    """R-13: the owner's entry notice, engineering's and security's (with the card, the
    hours, the workers, the damaged parts), customer service's start of patrols."""
    told = entry_notice(ren(), walked(Item.DOORS), HOURS, 3)
    assert [(t.to, t.key) for t in told] == [
        (Resident(), "renovation_entry.notice_owner"),
        (Department("engineering"), "renovation_entry.notice_staff"),
        (Department("security"), "renovation_entry.notice_staff"),
        (Department("customer_service"), "renovation.patrol.works_staff"),
    ]
    assert told[1].params == {"hours": HOURS, "workers": 3, "damaged": 1}


# --- suspension and resumption -------------------------------------------------------------


def test_r15_works_are_stopped_with_a_reason_and_resumed_by_whom_may() -> None:
    stop = suspended(ren(Status.ACTIVE), "严重违章未整改", True)
    assert stop.move == Move.SUSPEND and stop.data == {"reason": "严重违章未整改"}
    assert Resident() in [t.to for t in stop.tell]
    with pytest.raises(Refusal, match="reason_needed"):
        suspended(ren(Status.ACTIVE), None, True)
    with pytest.raises(Refusal, match="not_suspender"):
        suspended(ren(Status.ACTIVE), "x", False)
    with pytest.raises(Refusal, match="not_suspendable"):
        suspended(ren(Status.PERMITTED), "x", True)
    assert resumed(ren(Status.SUSPENDED), True).move == Move.RESUME
    with pytest.raises(Refusal, match="not_suspended"):
        resumed(ren(Status.ACTIVE), True)
    with pytest.raises(Refusal, match="not_suspender"):
        resumed(ren(Status.SUSPENDED), False)


def test_s1_the_pass_check_refuses_workers_while_works_are_suspended() -> None:
    worker = WorkerPass(1, 7, "ABC234", "张三", "110***002X", "139", date(2026, 12, 1),
                        date(2027, 2, 28))  # fmt: skip
    at = datetime(2026, 12, 2, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert check_pass(worker, Status.ACTIVE, at, RenovationSettings()) is None
    assert check_pass(worker, Status.SUSPENDED, at, RenovationSettings()) == "suspended"


# --- the extension of the works period -------------------------------------------------------


def test_the_owner_asks_for_a_later_end_date_and_the_customer_head_decides() -> None:
    today = date(2027, 2, 1)
    asked = extension_requested(ren(Status.ACTIVE), date(2027, 3, 31), "瓷砖延迟到货", today, True)
    assert asked.data == {"from": "2027-02-28", "to": "2027-03-31", "reason": "瓷砖延迟到货"}
    assert [t.to for t in asked.tell] == [Roles(frozenset({"customer_head"}))]
    assert extension_problem(ren(), date(2027, 2, 28), today) == "extension_not_later"
    assert extension_problem(ren(), date(2028, 2, 28), today) == "period_too_long"
    with pytest.raises(Refusal, match="not_owner"):
        extension_requested(ren(Status.ACTIVE), date(2027, 3, 31), "x", today, False)
    with pytest.raises(Refusal, match="not_extendable"):
        extension_requested(ren(Status.SUBMITTED), date(2027, 3, 31), "x", today, True)
    ext = Extension(3, 7, date(2027, 2, 28), date(2027, 3, 31), "瓷砖延迟到货")
    yes = extension_decided(ren(Status.ACTIVE), ext, True, True)
    assert yes.event == "renovation.extension_approved"
    assert yes.approval is not None and yes.approval.role == "customer_head"
    assert yes.approval.approved and yes.approval.step == "extension"
    assert extension_decided(ren(Status.ACTIVE), ext, False, True).event == (
        "renovation.extension_refused"
    )
    with pytest.raises(Refusal, match="not_customer_head"):
        extension_decided(ren(Status.ACTIVE), ext, True, False)
    with pytest.raises(Refusal, match="extension_pending"):
        extension_requested(ren(Status.ACTIVE), date(2027, 3, 31), "x", today, True, True)
    moved = Extension(4, 7, date(2027, 1, 31), date(2027, 3, 31), "x")
    with pytest.raises(Refusal, match="extension_outdated"):
        extension_decided(ren(Status.ACTIVE), moved, True, True)
    done = Extension(3, 7, ext.old_to, ext.new_to, ext.reason, ExtensionState.APPROVED)
    with pytest.raises(Refusal, match="extension_decided"):
        extension_decided(ren(Status.ACTIVE), done, True, True)


# --- signatures on the rectification notice (R-15) ---------------------------------------------


def notice(state: NoticeState = NoticeState.OWNER_TOLD) -> ViolationNotice:
    return ViolationNotice(5, 7, state, "擅自拆除承重墙", date(2026, 12, 5))


def test_r15_owner_and_contractor_each_sign_once_the_contractor_after_the_owner_told() -> None:
    signed = notice_signed(ren(Status.ACTIVE), notice(), "owner", {})
    assert signed.approval is not None and signed.approval.step == "R-15"
    assert signed.approval.role == "owner" and signed.approval.version == "notice:5"
    before = {"owner": NoticeSignature(1, 5, "owner", SignState.SIGNED, 42)}
    with pytest.raises(Refusal, match="notice_signed_already"):
        notice_signed(ren(Status.ACTIVE), notice(), "owner", before)
    with pytest.raises(Refusal, match="owner_first"):
        notice_signed(ren(Status.ACTIVE), notice(NoticeState.ISSUED), "contractor", {})
    assert notice_signed(ren(Status.ACTIVE), notice(), "contractor", before).data["party"] == (
        "contractor"
    )
    with pytest.raises(Refusal, match="not_signer"):
        notice_signed(ren(Status.ACTIVE), notice(), None, {})


def test_r15_a_refusal_to_sign_is_recorded_and_witnessed_by_another_staff_member() -> None:
    recorded = refusal_recorded(notice(), "contractor", {}, True)
    assert recorded.event == "renovation.notice_refusing" and recorded.tell[0].buttons
    with pytest.raises(Refusal, match="not_issuer"):
        refusal_recorded(notice(), "contractor", {}, False)
    refusing = NoticeSignature(2, 5, "contractor", SignState.REFUSING, 9001)
    with pytest.raises(Refusal, match="notice_signed_already"):
        refusal_recorded(notice(), "contractor", {"contractor": refusing}, True)
    with pytest.raises(Refusal, match="witness_other"):
        refusal_witnessed(notice(), refusing, 9001, True)
    with pytest.raises(Refusal, match="not_witness"):
        refusal_witnessed(notice(), refusing, 9002, False)
    witnessed = refusal_witnessed(notice(), refusing, 9002, True)
    assert witnessed.data["witness"] == 9002 and witnessed.data["recorded_by"] == 9001
    done = NoticeSignature(2, 5, "contractor", SignState.REFUSED, 9001, 9002)
    with pytest.raises(Refusal, match="witnessed_already"):
        refusal_witnessed(notice(), done, 9003, True)
