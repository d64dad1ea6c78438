"""The renovation papers' numbers, no database (issue 11, items 9, 17): the control sheet's
order, counts, money and patrol ticks; the day's grid and its gaps; the week's coverage."""

from __future__ import annotations

from datetime import date

from procedures.renovation import Status
from procedures.renovation_reports import (
    SHEET_STATUSES,
    SheetRow,
    WeeklyRenovation,
    control_sheet,
    sheet_data,
    unit_key,
)

DAY = date(2026, 11, 27)


def row(
    ren_id: int, building: str, unit: str, status: Status = Status.ACTIVE, **kw: object
) -> SheetRow:
    return SheetRow(
        ren_id, f"ZX-{ren_id}", building, unit, status, "陈明", "安居装饰",
        date(2026, 11, 1), date(2027, 1, 31), **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def test_the_sheet_is_by_building_and_unit_as_people_walk_them() -> None:
    sheet = control_sheet(
        [row(1, "10栋", "101"), row(2, "2栋", "1201"), row(3, "2栋", "301"), row(4, "", "A5")],
        DAY,
    )
    assert [r.label for r in sheet.rows] == ["A5", "2栋 301", "2栋 1201", "10栋 101"]
    assert unit_key("2栋", "301") < unit_key("10栋", "101")


def test_drafts_and_ended_renovations_are_not_on_the_sheet() -> None:
    assert Status.DRAFT not in SHEET_STATUSES
    assert Status.REJECTED not in SHEET_STATUSES and Status.CLOSED not in SHEET_STATUSES
    assert Status.ACTIVE in SHEET_STATUSES and Status.REFUND_DUE in SHEET_STATUSES


def test_r14_only_active_works_are_in_the_grid_and_a_missing_department_is_a_gap() -> None:
    done = row(
        1, "1栋", "101", patrolled=frozenset({"customer_service", "engineering", "security"})
    )
    half = row(2, "1栋", "102", patrolled=frozenset({"engineering"}))
    suspended = row(3, "1栋", "103", Status.SUSPENDED)
    permitted = row(4, "1栋", "104", Status.PERMITTED)
    sheet = control_sheet([done, half, suspended, permitted], DAY)
    assert [r.id for r in sheet.grid] == [1, 2]
    assert [r.id for r in sheet.gaps] == [2]
    assert half.missing == ("customer_service", "security")
    assert permitted.missing == () and suspended.missing == ()
    assert sheet.coverage("engineering") == (2, 2)
    assert sheet.coverage("security") == (1, 2)


def test_r14_works_whose_period_begins_later_are_not_in_the_days_grid() -> None:
    """Entry inspected, works from next week: active, on the sheet, no patrol due yet."""
    later = SheetRow(
        5, "ZX-5", "1栋", "105", Status.ACTIVE, "陈明", "安居装饰",
        date(2026, 12, 1), date(2027, 1, 31), day=DAY,
    )  # fmt: skip
    begun = row(6, "1栋", "106", day=DAY)
    sheet = control_sheet([later, begun], DAY)
    assert [r.id for r in sheet.rows] == [5, 6]
    assert [r.id for r in sheet.grid] == [6] and later.missing == ()
    assert sheet.coverage("engineering") == (0, 1)


def test_the_sheet_counts_states_money_and_open_notices() -> None:
    sheet = control_sheet(
        [
            row(1, "1栋", "101", held_fen=0, arrears_fen=50000, open_violations=1),
            row(2, "1栋", "102", Status.PERMITTED, held_fen=300000),
            row(3, "1栋", "103", Status.REFUND_DUE, held_fen=120000),
        ],
        DAY,
    )
    assert sheet.by_status == {Status.PERMITTED: 1, Status.ACTIVE: 1, Status.REFUND_DUE: 1}
    assert (sheet.held_fen, sheet.arrears_fen, sheet.open_violations) == (420000, 50000, 1)
    assert [r.id for r in sheet.attention] == [1]  # unpatrolled, a notice, money owed
    data = sheet_data(sheet)
    assert data["gaps"] == ["ZX-1"] and data["patrols"] == {
        "customer_service": [0, 1], "engineering": [0, 1], "security": [0, 1],
    }  # fmt: skip


def test_the_weeks_patrol_coverage_is_met_against_due() -> None:
    week = WeeklyRenovation(patrols={"engineering": (3, 4), "security": (1, 4)})
    assert week.coverage() == 50
    assert week.coverage("engineering") == 75
    assert week.coverage("customer_service") is None
    assert WeeklyRenovation().coverage() is None
