"""The reports' counting with no database and no Telegram: C-15's complaint breakdown, B-5's
satisfaction and callbacks by what they followed (B-1), the daily department report's day
and numbers, and Q-5's written conclusion."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from procedures.calendar import WorkingCalendar
from procedures.reports import (
    MAX_CONCLUSION,
    CaseFacts,
    DeadlineFacts,
    Satisfaction,
    conclusion_problem,
    daily_data,
    daily_summary,
    department_cases,
    followed,
    latest_daily_due,
    summary_data,
    weekly_summary,
)

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkingCalendar()


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


START, END = local(2026, 10, 9, 17), local(2026, 10, 16, 17)


def fact(case_id: int, kind: str, status: str, accepted: datetime, **more: Any) -> CaseFacts:
    return CaseFacts(case_id, f"N{case_id}", kind, status, accepted, **more)


# --- C-15: complaints apart ----------------------------------------------------------------


def test_c15_complaints_have_their_own_categories_departments_and_progress() -> None:
    """Complaints are counted apart from requests: by category and department, completed
    and open, each with how many ran past a C-12 limit (fired, or running past due)."""
    cases = [
        fact(1, "request", "done", local(2026, 10, 12, 9), category="noise",
             department="security", resolved_at=local(2026, 10, 12, 11)),
        fact(2, "complaint", "done", local(2026, 10, 12, 10), category="noise",
             department="security", severity="important", resolved_at=local(2026, 10, 14)),
        fact(3, "complaint", "in_progress", local(2026, 10, 13, 10), category="parking",
             department="security", severity="major"),
        fact(4, "complaint", "new", local(2026, 10, 15, 10), category="noise"),
        fact(5, "complaint", "referred", local(2026, 9, 1, 10), category="fees",
             department="finance", severity="important"),
        fact(6, "complaint", "closed", local(2026, 10, 13, 8), category="cleaning",
             department="customer_service", severity="minor",
             resolved_at=local(2026, 10, 13, 9), closed_at=local(2026, 10, 14)),
    ]  # fmt: skip
    deadlines = [
        DeadlineFacts(2, "C-12-important", local(2026, 10, 13, 10), "fired"),  # late, then done
        DeadlineFacts(3, "C-12-major-answer", local(2026, 10, 15, 10), "warned"),  # past due
        DeadlineFacts(3, "C-12-major-resolve", local(2026, 10, 28, 10), "pending"),
        DeadlineFacts(4, "Q-1", local(2026, 10, 15, 10, 10), "fired"),  # not C-12
        DeadlineFacts(5, "C-12-important", local(2026, 9, 2, 10), "pending"),  # long overdue
        DeadlineFacts(6, "C-12-important", local(2026, 10, 14, 8), "met"),
    ]
    s = weekly_summary(cases, deadlines, start=START, end=END, as_of=END)
    assert s.complaint_categories == {"noise": 2, "parking": 1, "cleaning": 1}
    assert s.complaint_departments == {
        "security": 2, None: 1, "customer_service": 1,
    }  # fmt: skip
    assert s.categories["noise"] == 3  # everything filed still counts the request too
    p = s.complaints
    assert (p.resolved, p.resolved_over, p.unresolved, p.unresolved_over) == (2, 1, 3, 2)
    data = summary_data(s)
    assert data["complaints"] == {
        "resolved": 2, "resolved_over": 1, "unresolved": 3, "unresolved_over": 2,
    }  # fmt: skip
    assert data["complaint_departments"] == {"security": 2, "": 1, "customer_service": 1}


# --- B-5, A-1: satisfaction; B-1: callbacks by what they followed --------------------------


def test_b5_a1_satisfaction_of_callbacks_and_of_visits_is_counted_apart() -> None:
    """Scores recorded in the week (called_back_at): callbacks' and visits' apart, the
    average to one decimal; a score recorded outside the week does not count."""
    cases = [
        fact(1, "request", "closed", local(2026, 9, 30), satisfaction=5,
             called_back_at=local(2026, 10, 12, 9)),
        fact(2, "complaint", "closed", local(2026, 10, 10), satisfaction=4,
             called_back_at=local(2026, 10, 13, 9)),
        fact(3, "request", "in_progress", local(2026, 10, 10), satisfaction=1,
             called_back_at=local(2026, 10, 14, 9)),  # unsatisfied: reopened
        fact(4, "request", "closed", local(2026, 10, 1), satisfaction=2,
             called_back_at=local(2026, 10, 8, 9)),  # last week's
        fact(5, "request", "closed", local(2026, 10, 11), called_back_at=local(2026, 10, 12),
             satisfaction=None),  # phoned, no score given
        fact(6, "visit", "closed", local(2026, 10, 12, 15), satisfaction=5,
             called_back_at=local(2026, 10, 12, 15)),
        fact(7, "visit", "closed", local(2026, 10, 13, 15), satisfaction=4,
             called_back_at=local(2026, 10, 13, 15)),
    ]  # fmt: skip
    s = weekly_summary(cases, [], start=START, end=END, as_of=END)
    assert s.satisfaction.counts == {1: 1, 2: 0, 3: 0, 4: 1, 5: 1}
    assert (s.satisfaction.total, s.satisfaction.average) == (3, 3.3)
    assert s.visit_satisfaction.counts == {1: 0, 2: 0, 3: 0, 4: 1, 5: 1}
    assert s.visit_satisfaction.average == 4.5
    assert s.callbacks_by == {"request": 3, "complaint": 1, "help": 0, "event": 0, "other": 0}
    assert summary_data(s)["visit_satisfaction"] == {
        "counts": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1}, "average": 4.5,
    }  # fmt: skip


def test_b5_satisfaction_average_rounds_half_up_and_is_none_without_scores() -> None:
    assert Satisfaction({1: 0, 2: 0, 3: 0, 4: 3, 5: 1}).average == 4.3  # 4.25
    assert Satisfaction({1: 0, 2: 0, 3: 1, 4: 0, 5: 1}).average == 4.0
    assert Satisfaction().average is None and Satisfaction().total == 0


def test_b1_staff_opened_callbacks_count_by_their_category() -> None:
    """Callbacks opened by staff (kind ``callback``) after helping a resident in trouble or
    a community event count as such; any other category as "other"; none at all, zeros."""
    empty = weekly_summary([], [], start=START, end=END, as_of=END)
    assert empty.callbacks_by == {"request": 0, "complaint": 0, "help": 0, "event": 0, "other": 0}
    called = local(2026, 10, 14, 10)
    cases = [
        fact(1, "callback", "closed", local(2026, 10, 12), category="help",
             called_back_at=called, satisfaction=5),
        fact(2, "callback", "closed", local(2026, 10, 12), category="event",
             called_back_at=called, satisfaction=3),
        fact(3, "callback", "closed", local(2026, 10, 12), category="event",
             called_back_at=called),
        fact(4, "callback", "closed", local(2026, 10, 12), category="moving_day",
             called_back_at=called),
        fact(5, "callback", "new", local(2026, 10, 12), category="help"),  # not called yet
    ]  # fmt: skip
    s = weekly_summary(cases, [], start=START, end=END, as_of=END)
    assert s.callbacks_by == {"request": 0, "complaint": 0, "help": 1, "event": 2, "other": 1}
    assert s.satisfaction.total == 2  # their scores count with the callbacks'
    assert [followed(c) for c in cases[:4]] == ["help", "event", "event", "other"]


# --- the written conclusion -----------------------------------------------------------


def test_q5_a_conclusion_is_a_few_words_at_least_and_fits_a_message() -> None:
    assert conclusion_problem("好") == "too_short"
    assert conclusion_problem("   ok  ") == "too_short"
    assert conclusion_problem("本周投诉下降。") is None
    assert conclusion_problem("字" * MAX_CONCLUSION) is None
    assert conclusion_problem("字" * (MAX_CONCLUSION + 1)) == "too_long"


# --- the daily department report: which day ------------------------------------------------


def test_c15_the_daily_report_is_due_at_the_end_of_each_working_day() -> None:
    """17:30 (workday_end) of a working day; before it, the working day before; a weekend
    counts in Monday's report, and a day off has none."""
    thursday = latest_daily_due(CAL, local(2026, 10, 15, 17, 30))
    assert thursday is not None
    assert thursday.period_start == date(2026, 10, 15)
    assert thursday.due_at == local(2026, 10, 15, 17, 30)
    assert thursday.window_start == local(2026, 10, 14, 17, 30)
    before = latest_daily_due(CAL, local(2026, 10, 16, 17, 29))
    assert before == thursday
    # Saturday and Sunday: still Friday's; Monday's counts from Friday's end.
    friday = latest_daily_due(CAL, local(2026, 10, 18, 12))
    assert friday is not None and friday.period_start == date(2026, 10, 16)
    monday = latest_daily_due(CAL, local(2026, 10, 19, 18))
    assert monday is not None and monday.window_start == local(2026, 10, 16, 17, 30)


def test_c15_no_daily_report_on_a_holiday_and_a_make_up_workday_has_one() -> None:
    """2026-10-01..07 National Day; Saturday 2026-10-10 is a make-up workday (调休)."""
    during = latest_daily_due(CAL, local(2026, 10, 5, 18))
    assert during is not None and during.period_start == date(2026, 9, 30)
    after = latest_daily_due(CAL, local(2026, 10, 8, 18))
    assert after is not None and after.window_start == local(2026, 9, 30, 17, 30)
    assert CAL.is_working_day(date(2026, 10, 10))
    saturday = latest_daily_due(CAL, local(2026, 10, 10, 17, 31))
    assert saturday is not None and saturday.period_start == date(2026, 10, 10)


def test_c15_the_estates_own_end_of_work_and_no_day_before_it_existed() -> None:
    calendar = WorkingCalendar(workday_end=datetime(2000, 1, 1, 18).time())
    slot = latest_daily_due(calendar, local(2026, 10, 15, 17, 45))
    assert slot is not None and slot.period_start == date(2026, 10, 14)
    assert slot.due_at == local(2026, 10, 14, 18)
    assert latest_daily_due(CAL, local(2026, 10, 15, 18), since=local(2026, 10, 15, 18)) is None


# --- the daily department report: what it counts -------------------------------------------

DAY_START, DAY_END = local(2026, 10, 14, 17, 30), local(2026, 10, 15, 17, 30)


def day_cases() -> tuple[list[CaseFacts], list[DeadlineFacts]]:
    cases = [
        fact(1, "request", "in_progress", local(2026, 10, 15, 9), category="repairs",
             department="engineering"),
        fact(2, "complaint", "done", local(2026, 10, 15, 10), category="noise",
             department="security", resolved_at=local(2026, 10, 15, 15)),
        fact(3, "request", "new", local(2026, 10, 15, 11), category="cleaning"),
        fact(4, "request", "referred", local(2026, 10, 12, 9), category="repairs",
             department="engineering"),  # older, still open, overdue
        fact(5, "request", "closed", local(2026, 10, 10, 9), category="repairs",
             department="engineering", resolved_at=local(2026, 10, 13),
             closed_at=local(2026, 10, 15, 10), satisfaction=5,
             called_back_at=local(2026, 10, 15, 10)),
        fact(6, "visit", "closed", local(2026, 10, 15, 14), satisfaction=4,
             called_back_at=local(2026, 10, 15, 14)),  # a visit is nobody's case
        fact(7, "complaint", "in_progress", local(2026, 10, 14, 18), category="repairs",
             department="engineering"),  # after yesterday's report: today's
    ]  # fmt: skip
    deadlines = [
        DeadlineFacts(4, "Q-4", local(2026, 10, 13, 9), "fired"),
        DeadlineFacts(4, "Q-1", local(2026, 10, 12, 9, 10), "met"),
        DeadlineFacts(3, "Q-1", local(2026, 10, 15, 11, 10), "fired"),
        DeadlineFacts(1, "Q-4", local(2026, 10, 16, 9), "pending"),
    ]
    return cases, deadlines


def test_c15_b5_a_departments_day_counts_its_own_cases() -> None:
    """Engineering: what was referred to it — received (complaints among them), done, open,
    overdue with their numbers, callbacks recorded of its cases."""
    cases, deadlines = day_cases()
    s = daily_summary(cases, deadlines, "engineering", start=DAY_START, end=DAY_END, as_of=DAY_END)
    assert (s.received, s.complaints, s.done) == (2, 1, 0)
    assert (s.open_now, s.open_complaints, s.callbacks) == (3, 1, 1)
    assert [(o.number, o.rule) for o in s.overdue] == [("N4", "Q-4")]
    assert s.overdue[0].overdue_by == DAY_END - local(2026, 10, 13, 9)
    assert s.overdue_cases == 1
    assert {c.number for c in s.cases} == {"N1", "N4", "N5", "N7"}
    assert daily_data(s)["overdue"] == [
        {"number": "N4", "rule": "Q-4", "seconds": int(s.overdue[0].overdue_by.total_seconds())}
    ]


def test_c15_b5_customer_service_follows_every_case_of_the_estate() -> None:
    """Customer service is every case's first responder (Q-3) and makes the callbacks: its
    day counts the estate's cases, whoever has them; never a customer visit."""
    cases, deadlines = day_cases()
    assert [c.id for c in department_cases(cases, "customer_service")] == [1, 2, 3, 4, 5, 7]
    s = daily_summary(
        cases, deadlines, "customer_service", start=DAY_START, end=DAY_END, as_of=DAY_END
    )
    assert (s.received, s.complaints, s.done, s.open_now, s.callbacks) == (4, 2, 1, 4, 1)
    assert [o.number for o in s.overdue] == ["N4", "N3"]
    security = daily_summary(
        cases, deadlines, "security", start=DAY_START, end=DAY_END, as_of=DAY_END
    )
    assert (security.received, security.done, security.open_now) == (1, 1, 0)
    nothing = daily_summary([], [], "finance", start=DAY_START, end=DAY_END, as_of=DAY_END)
    assert (nothing.received, nothing.open_now, nothing.overdue) == (0, 0, [])


def test_c15_a_day_counts_from_the_previous_working_days_end() -> None:
    cases, deadlines = day_cases()
    later = DAY_END + timedelta(hours=1)
    s = daily_summary(cases, deadlines, "engineering", start=DAY_START, end=DAY_END, as_of=later)
    assert s.received == 2  # N7 came at 18:00 the day before: after that day's report
    assert s.as_of == later
