"""Hot work (R-17) and temporary passes (S-1) as rules, no database and no Telegram: who
applies and decides, what is refused (works not active, a past window, no certificate, no
extinguisher), the gate's check of a permit (its window, the works' state, an unknown
code) and of a temporary pass (once only, its validity)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from procedures.decisions import Department, Resident
from procedures.renovation import Form, Refusal, Renovation, Status, clean_code, signed
from procedures.renovation_filings import receipt_added
from procedures.renovation_hotwork import (
    HotKind,
    HotState,
    HotWork,
    HotWorkForm,
    TempPass,
    TempValidity,
    applied,
    check_hot_work,
    check_temp_pass,
    clean_certificate,
    decided,
    decider_role,
    is_hot_code,
    is_temp_code,
    parse_hot_window,
    temp_issued,
    temp_window,
)

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 2, 8, tzinfo=TZ)
FORM = HotWorkForm(
    "厨房",
    datetime(2026, 12, 2, 9, tzinfo=TZ),
    datetime(2026, 12, 2, 11, tzinfo=TZ),
    HotKind.WELDING,
    "王师傅",
    "T-1234567",
    True,
)
REN = Renovation(
    1, "ZX-20261127-0001", 1, 1, "1栋 101", 1, Status.ACTIVE,
    Form(date(2026, 12, 1), date(2027, 2, 28), "安居装饰", "李工", "+8613800138000", ()),
)  # fmt: skip


def refusal(call: object) -> str:
    assert callable(call)
    with pytest.raises(Refusal) as caught:
        call()
    return caught.value.code


def test_r17_an_application_on_active_works_goes_to_engineering() -> None:
    decision = applied(REN, 7, FORM, True, NOW)
    [tell] = decision.tell
    assert tell.to == Department("engineering") and tell.buttons == "ren_hot"
    assert tell.button_arg == 7 and decision.expect_status == Status.ACTIVE
    assert decision.data["operator"] == {"name": "王师傅"}  # personal: kept apart


def test_r17_refused_when_not_active_window_past_no_certificate_or_extinguisher() -> None:
    assert refusal(lambda: applied(REN, 7, FORM, False, NOW)) == "hot_not_applicant"
    suspended = replace(REN, status=Status.SUSPENDED)
    assert refusal(lambda: applied(suspended, 7, FORM, True, NOW)) == "hot_not_active"
    permitted = replace(REN, status=Status.PERMITTED)
    assert refusal(lambda: applied(permitted, 7, FORM, True, NOW)) == "hot_not_active"
    late = datetime(2026, 12, 2, 11, tzinfo=TZ)
    assert refusal(lambda: applied(REN, 7, FORM, True, late)) == "hot_window_past"
    no_cert = replace(FORM, certificate="")
    assert refusal(lambda: applied(REN, 7, no_cert, True, NOW)) == "hot_certificate"
    no_ext = replace(FORM, extinguisher=False)
    assert refusal(lambda: applied(REN, 7, no_ext, True, NOW)) == "hot_extinguisher"


def test_r17_engineering_decides_once_approval_tells_security_and_the_owner() -> None:
    permit = HotWork(7, 1, FORM)
    role = decider_role({"engineering"})
    decision = decided(permit, REN, True, None, role, "DHABCDE", NOW)
    assert decision.approval is not None and decision.approval.role == "engineering"
    assert decision.approval.step == "R-17" and decision.approval.approved
    assert [t.to for t in decision.tell] == [Resident(), Department("security")]
    assert decision.tell[1].params["code"] == "DHABCDE"
    assert decider_role({"engineering_head", "engineering"}) == "engineering_head"
    assert decider_role({"customer_assistant", "admin"}) is None
    assert refusal(lambda: decided(permit, REN, True, None, None, "X", NOW)) == (
        "hot_not_engineering"
    )
    done = replace(permit, state=HotState.APPROVED)
    assert refusal(lambda: decided(done, REN, False, "place", role, "X", NOW)) == "hot_decided"
    assert refusal(lambda: decided(permit, REN, False, None, role, "X", NOW)) == (
        "hot_reason_needed"
    )
    no = decided(permit, REN, False, "protection", role, "X", NOW)
    assert no.event == "renovation.hotwork_refused" and no.data["reason"] == "protection"
    late = datetime(2026, 12, 2, 12, tzinfo=TZ)
    assert refusal(lambda: decided(permit, REN, True, None, role, "X", late)) == "hot_window_past"


def test_r17_the_gate_admits_gear_only_in_the_window_while_the_works_are_active() -> None:
    permit = HotWork(7, 1, FORM, HotState.APPROVED, "DHABCDE")
    inside = datetime(2026, 12, 2, 10, tzinfo=TZ)
    assert check_hot_work(permit, Status.ACTIVE, inside) is None
    assert check_hot_work(permit, Status.ACTIVE, NOW) == "not_yet"
    assert check_hot_work(permit, Status.ACTIVE, FORM.ends) == "expired"  # expired window
    assert check_hot_work(permit, Status.SUSPENDED, inside) == "suspended"
    assert check_hot_work(permit, Status.COMPLETION_REQUESTED, inside) == "not_active"
    assert check_hot_work(None, None, inside) == "unknown"  # unknown code
    asked = replace(permit, state=HotState.ASKED)
    assert check_hot_work(asked, Status.ACTIVE, inside) == "not_approved"


def test_r17_windows_and_certificates_as_people_type_them() -> None:
    today = date(2026, 11, 27)
    assert parse_hot_window("12-02 9:00-11:00", today) == (date(2026, 12, 2), time(9), time(11))
    assert parse_hot_window("2026年12月2日 09:00—11:30", today) == (
        date(2026, 12, 2), time(9), time(11, 30),
    )  # fmt: skip
    assert parse_hot_window("12-02 11:00-09:00", today) is None
    assert parse_hot_window("明天", today) is None
    assert clean_certificate(" t-123 4567 ") == "T-1234567"
    assert clean_certificate("证") is None


def test_s1_a_temporary_pass_admits_once_within_its_validity() -> None:
    start, end = temp_window(TempValidity.HOURS_4, NOW)
    assert end - start == datetime(2026, 1, 1, 4) - datetime(2026, 1, 1)
    _, midnight = temp_window(TempValidity.DAY, NOW)
    assert midnight == datetime(2026, 12, 3, tzinfo=TZ)
    visitor = TempPass(3, 1, "LSABCDE", "林设计", "量尺寸", start, end)
    assert check_temp_pass(visitor, Status.ACTIVE, NOW) is None
    used = replace(visitor, used_at=NOW)
    assert check_temp_pass(used, Status.ACTIVE, NOW) == "used"  # used twice
    assert check_temp_pass(visitor, Status.ACTIVE, end) == "expired"
    assert check_temp_pass(visitor, Status.SUSPENDED, NOW) == "suspended"
    assert check_temp_pass(None, None, NOW) == "unknown"
    assert refusal(lambda: temp_issued(REN, False)) == "temp_not_issuer"
    closed = replace(REN, status=Status.CLOSED)
    assert refusal(lambda: temp_issued(closed, True)) == "no_works"


def test_s1_codes_of_each_kind_are_told_apart_and_read_like_worker_passes() -> None:
    assert clean_code("dh abcde") == "DHABCDE" and is_hot_code("DHABCDE")
    assert is_temp_code("LSABCDE") and not is_temp_code("LSABCD")  # a worker's six
    assert not is_hot_code("LSABCDE")


def test_r6_a_receipt_closes_its_filing_and_approval_may_wait_for_the_receipts() -> None:
    form = replace(REN.form, scope=("walls", "fire", "gas"))
    ren = replace(REN, status=Status.COMPLETE, form=form)
    assert ren.open_filings == ("fire", "gas")
    decision = receipt_added(ren, "gas", True, "ab" * 32)
    assert decision.event == "renovation.filing_receipt"
    assert decision.data == {"filing": "gas", "photo": "ab" * 32}
    assert [t.to for t in decision.tell] == [Department("customer_service")]
    assert refusal(lambda: receipt_added(ren, "gas", False, "x")) == "not_owner"
    assert refusal(lambda: receipt_added(ren, "structural", True, "x")) == "filing_not_needed"
    closed = replace(ren, status=Status.CLOSED)
    assert refusal(lambda: receipt_added(closed, "gas", True, "x")) == "not_editable"
    # by default the heads approve before the receipts (the case records the filing)
    assert signed(ren, "engineering_head", True, None, []).approval is not None
    waits = {"waits_for_filings": True}
    assert refusal(lambda: signed(ren, "engineering_head", True, None, [], **waits)) == (
        "filings_open"
    )
    assert signed(ren, "engineering_head", False, "图纸不全", [], **waits).move is not None
    filed = replace(ren, filed=frozenset({"fire", "gas"}))
    assert filed.open_filings == ()
    assert signed(filed, "engineering_head", True, None, [], **waits).approval is not None
