"""The time-limits table as data (PROCEDURES.md "Time limits at a glance") and its overrides."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.settings import ConfigError, read_estates_config
from procedures.calendar import WorkingCalendar
from procedures.deadlines import (
    DEFAULT_RULES,
    Duration,
    EstateRules,
    Rule,
    due_at,
    load_estate,
    load_rules,
    warn_at,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "estates.example.toml"
ESTATE = "阳光花园"


def sh(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """A local time in Shanghai."""
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


def estate_config(**settings: Any) -> dict[str, Any]:
    """A config document with ``settings`` for the estate 阳光花园."""
    return {"estates": {ESTATE: settings}}


@pytest.fixture
def cal() -> WorkingCalendar:
    """The statutory calendar with default hours."""
    return WorkingCalendar()


def due(rule_id: str, start: datetime, cal: WorkingCalendar, **kw: Any) -> datetime:
    """Due time of a default rule."""
    return due_at(DEFAULT_RULES[rule_id], start, cal, **kw)


def warn(rule_id: str, start: datetime, cal: WorkingCalendar, **kw: Any) -> datetime | None:
    """Warning time of a default rule."""
    rule = DEFAULT_RULES[rule_id]
    return warn_at(rule, start, due_at(rule, start, cal, **kw), cal)


# -- the table -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule_id", "clock", "due_text", "warn_to", "escalate_to", "on_breach"),
    [
        ("V-1-first-response", "received", "5m", None, ("cc_supervisor",), "escalate"),
        ("Q-1", "accepted", "10m", "first_responder", ("cc_supervisor",), "escalate"),
        ("Q-4", "accepted", "24h", "department_group", ("cc_supervisor",), "escalate"),
        ("C-1-next-reply", "fixed", "promised", "first_responder", ("cc_supervisor",), "escalate"),
        ("C-11-same-day", "feedback", "end_of_day", "customer_assistant", ("cc_supervisor",),
         "escalate"),
        ("C-13-same-day", "approved", "end_of_day", "customer_assistant", ("cc_supervisor",),
         "escalate"),
        ("C-12-important", "accepted", "1d", "department_head", ("mgmt_manager",), "escalate"),
        ("C-12-major-answer", "accepted", "2d", "department_head", ("leadership",), "escalate"),
        ("C-12-major-resolve", "accepted", "15d", "department_head", ("leadership",),
         "escalate"),
        ("C-5-week", "accepted", "7d", None, (), "make_major"),
        ("C-14", "completed", "1d", "customer_assistant", ("cc_supervisor",), "callback_task"),
        ("B-1", "completed", "3d", "customer_assistant", ("cc_supervisor",), "callback_task"),
        ("R-4", "application_complete", "1wd", "approvers", ("project_manager",), "escalate"),
        ("R-14", "works_day", "end_of_working_day", "patrol_department", ("project_manager",),
         "escalate"),
    ],
)  # fmt: skip
def test_table_defaults_follow_procedures(
    rule_id: str,
    clock: str,
    due_text: str,
    warn_to: str | None,
    escalate_to: tuple[str, ...],
    on_breach: str,
) -> None:
    """Every rule of "Time limits at a glance": clock, due, whom to warn and escalate to."""
    rule = DEFAULT_RULES[rule_id]
    assert rule.id == rule_id
    assert rule.clock == clock
    assert str(rule.due) == due_text
    assert rule.warn_to == warn_to
    assert rule.escalate_to == escalate_to
    assert rule.on_breach == on_breach
    assert rule.title_key.startswith("deadline.")


def test_table_only_the_renovation_clocks_v1_c4_c11_opinion_count_working_time() -> None:
    """The renovation decision's and daily patrol's clocks (seed; the table holds them, the
    renovation procedure is not built), V-1, C-4's classification and C-11's opinion (defaults: the
    office decides them) run on working time; the rest on the clock."""
    working = {rule_id for rule_id, rule in DEFAULT_RULES.items() if rule.working_days}
    assert working == {"R-4", "R-14", "V-1-first-response", "C-4", "C-11-opinion"}


def test_rules_are_frozen_and_round_trip() -> None:
    """Rules cannot be changed in place and survive a JSON round trip (for storage)."""
    rule = DEFAULT_RULES["Q-4"]
    with pytest.raises(ValueError, match="frozen"):
        rule.due = Duration.parse("1h")
    assert Rule.model_validate_json(rule.model_dump_json()) == rule
    assert rule.model_dump()["due"] == "24h"


# -- each rule -------------------------------------------------------------------------


def test_q1_referral_within_10_minutes_warned_2_minutes_before(cal: WorkingCalendar) -> None:
    """Q-1, C-9: referral due 10 minutes after acceptance, warning at 8 minutes."""
    start = sh(2026, 3, 10, 10)
    assert due("Q-1", start, cal) == start + timedelta(minutes=10)
    assert warn("Q-1", start, cal) == start + timedelta(minutes=8)


def test_q1_runs_outside_working_hours_too(cal: WorkingCalendar) -> None:
    """Q-1: the 10 minutes are elapsed time, also at night and on holidays."""
    start = sh(2026, 10, 2, 22)
    assert due("Q-1", start, cal) == sh(2026, 10, 2, 22, 10)


def test_q4_handled_within_24_hours(cal: WorkingCalendar) -> None:
    """Q-4: handled and answered within 24 hours of acceptance; warned 2 hours before."""
    start = sh(2026, 3, 10, 15, 20)
    assert due("Q-4", start, cal) == sh(2026, 3, 11, 15, 20)
    assert warn("Q-4", start, cal) == sh(2026, 3, 11, 13, 20)


def test_q4_or_by_the_promised_time(cal: WorkingCalendar) -> None:
    """Q-4: a time promised to the customer replaces the 24 hours, earlier or later."""
    start = sh(2026, 3, 10, 15)
    assert due("Q-4", start, cal, promised=sh(2026, 3, 10, 18)) == sh(2026, 3, 10, 18)
    later = sh(2026, 3, 13, 10)
    assert due("Q-4", start, cal, promised=later) == later
    assert due("Q-4", start, cal, promised=later).tzinfo is UTC
    # A promise closer than the warning period is warned about at once, never before.
    soon = sh(2026, 3, 10, 16)
    assert warn_at(DEFAULT_RULES["Q-4"], start, soon, cal) == start


def test_q4_promise_must_be_after_the_start(cal: WorkingCalendar) -> None:
    """Q-4: a promised time before acceptance is a mistake, refused."""
    with pytest.raises(ValueError, match="not after the clock start"):
        due("Q-4", sh(2026, 3, 10, 15), cal, promised=sh(2026, 3, 10, 14))


def test_c1_next_reply_at_the_fixed_time(cal: WorkingCalendar) -> None:
    """C-1: the next reply is due at the time fixed with the customer; warned 1 h before."""
    start, fixed = sh(2026, 3, 10, 10), sh(2026, 3, 12, 15)
    assert due("C-1-next-reply", start, cal, promised=fixed) == fixed
    assert warn("C-1-next-reply", start, cal, promised=fixed) == sh(2026, 3, 12, 14)
    with pytest.raises(ValueError, match="none was given"):
        due("C-1-next-reply", start, cal)


def test_c1_promise_refused_by_rules_without_one(cal: WorkingCalendar) -> None:
    """C-1, Q-1: a rule that has no promised time refuses one, to catch mix-ups."""
    with pytest.raises(ValueError, match="does not take a promised time"):
        due("Q-1", sh(2026, 3, 10, 10), cal, promised=sh(2026, 3, 10, 12))


def test_c11_same_day_reply_by_end_of_that_day(cal: WorkingCalendar) -> None:
    """C-11: feedback at 16:00 → the customer answered by 23:59:59 the same day."""
    start = sh(2026, 3, 10, 16)
    assert due("C-11-same-day", start, cal) == sh(2026, 3, 10, 23, 59, 59)
    assert warn("C-11-same-day", start, cal) == sh(2026, 3, 10, 21, 59, 59)


def test_c13_same_day_reply_after_approval(cal: WorkingCalendar) -> None:
    """C-13: approved at 23:00 → due 23:59:59; the warning cannot come before the start."""
    start = sh(2026, 3, 10, 23)
    assert due("C-13-same-day", start, cal) == sh(2026, 3, 10, 23, 59, 59)
    assert warn("C-13-same-day", start, cal) == start


def test_c12_important_handled_within_1_day(cal: WorkingCalendar) -> None:
    """C-12: an important complaint is due 1 day after acceptance; only mgmt extends it."""
    start = sh(2026, 3, 10, 11)
    assert due("C-12-important", start, cal) == sh(2026, 3, 11, 11)
    assert warn("C-12-important", start, cal) == sh(2026, 3, 11, 9)
    assert DEFAULT_RULES["C-12-important"].extension_by == "mgmt_manager"


def test_c12_major_answer_in_2_days_resolved_in_15(cal: WorkingCalendar) -> None:
    """C-12: a major complaint: clear answer within 2 days, resolution within 15."""
    start = sh(2026, 9, 28, 11)
    assert due("C-12-major-answer", start, cal) == sh(2026, 9, 30, 11)
    assert warn("C-12-major-answer", start, cal) == sh(2026, 9, 30, 7)
    # Calendar days: the National Day holiday does not stop the 15 days.
    assert due("C-12-major-resolve", start, cal) == sh(2026, 10, 13, 11)
    assert warn("C-12-major-resolve", start, cal) == sh(2026, 10, 12, 11)


def test_c5_a_week_unresolved_makes_it_major(cal: WorkingCalendar) -> None:
    """C-5: 7 days after acceptance a valid complaint becomes major, without warning."""
    start = sh(2026, 3, 10, 11)
    assert due("C-5-week", start, cal) == sh(2026, 3, 17, 11)
    assert warn("C-5-week", start, cal) is None
    assert DEFAULT_RULES["C-5-week"].on_breach == "make_major"


def test_c5_same_event_window_and_threshold_defaults() -> None:
    """C-5: five or more complaints on one event within 24 hours (default window)."""
    estate = load_estate(ESTATE)
    assert estate.same_event_threshold == 5
    assert estate.same_event_window.elapsed == timedelta(hours=24)


def test_c14_complaint_callback_within_1_day(cal: WorkingCalendar) -> None:
    """C-14: callback 1 day after completion; a miss gives the assistant a callback task."""
    start = sh(2026, 3, 10, 11)
    assert due("C-14", start, cal) == sh(2026, 3, 11, 11)
    assert warn("C-14", start, cal) == sh(2026, 3, 11, 9)
    assert DEFAULT_RULES["C-14"].on_breach == "callback_task"


def test_b1_other_callbacks_within_3_days(cal: WorkingCalendar) -> None:
    """B-1: other callbacks are due 3 days after completion (default)."""
    start = sh(2026, 3, 10, 11)
    assert due("B-1", start, cal) == sh(2026, 3, 13, 11)
    assert warn("B-1", start, cal) == sh(2026, 3, 13, 5)


def test_renovation_clock_one_working_day_across_national_day_2026(cal: WorkingCalendar) -> None:
    """The renovation decision's clock (table data only): complete on Wed 30 Sep, 16:00 →
    due Thu 8 Oct, 16:00."""
    start = sh(2026, 9, 30, 16)
    assert due("R-4", start, cal) == sh(2026, 10, 8, 16)
    # Warned 2 working hours before, in office hours.
    assert warn("R-4", start, cal) == sh(2026, 10, 8, 14)


def test_renovation_clock_warning_counted_back_in_working_time(cal: WorkingCalendar) -> None:
    """Due 10:00 on Oct 8 → warned 2 working hours earlier: 16:30 on Sep 30."""
    start = sh(2026, 9, 30, 10)
    assert due("R-4", start, cal) == sh(2026, 10, 8, 10)
    assert warn("R-4", start, cal) == sh(2026, 9, 30, 16, 30)


def test_renovation_clock_make_up_saturday_is_a_working_day(cal: WorkingCalendar) -> None:
    """Complete on Fri 9 Oct 2026, 16:00 → due on the make-up Saturday, 16:00."""
    assert due("R-4", sh(2026, 10, 9, 16), cal) == sh(2026, 10, 10, 16)


def test_renovation_clock_completed_during_the_holiday(cal: WorkingCalendar) -> None:
    """Completed on 3 Oct (holiday) → counted from 8 Oct, due at its end."""
    assert due("R-4", sh(2026, 10, 3, 10), cal) == sh(2026, 10, 8, 17, 30)


def test_patrol_clock_due_by_end_of_working_day(cal: WorkingCalendar) -> None:
    """The daily patrol's clock (table data only): due at 17:30, warned 16:30."""
    start = sh(2026, 3, 10, 0)
    assert due("R-14", start, cal) == sh(2026, 3, 10, 17, 30)
    assert warn("R-14", start, cal) == sh(2026, 3, 10, 16, 30)
    # A works day on the make-up Saturday is a working day too.
    assert due("R-14", sh(2026, 10, 10, 0), cal) == sh(2026, 10, 10, 17, 30)


def test_v1_first_response_in_working_minutes(cal: WorkingCalendar) -> None:
    """V-1: a person takes up a chat within 5 working minutes (default)."""
    assert due("V-1-first-response", sh(2026, 3, 10, 10), cal) == sh(2026, 3, 10, 10, 5)
    assert due("V-1-first-response", sh(2026, 3, 10, 22), cal) == sh(2026, 3, 11, 9, 5)
    assert warn("V-1-first-response", sh(2026, 3, 10, 10), cal) is None


def test_naive_start_refused(cal: WorkingCalendar) -> None:
    """Q-1: a naive start time is refused rather than guessed."""
    with pytest.raises(ValueError, match="aware"):
        due("Q-1", datetime(2026, 3, 10, 10), cal)


# -- overrides -------------------------------------------------------------------------


def test_q4_override_due_12h_from_config(cal: WorkingCalendar) -> None:
    """Q-4: an estate answers within 12 hours; other estates keep 24."""
    config = estate_config(rules={"Q-4": {"due": "12h"}})
    rules = load_rules(ESTATE, config)
    start = sh(2026, 3, 10, 9)
    assert due_at(rules["Q-4"], start, cal) == sh(2026, 3, 10, 21)
    assert load_rules("月亮湾", config)["Q-4"] == DEFAULT_RULES["Q-4"]
    assert rules["Q-1"] == DEFAULT_RULES["Q-1"]


def test_c12_override_to_working_days(cal: WorkingCalendar) -> None:
    """C-12: an estate counts the important-complaint day in working days."""
    rules = load_rules(ESTATE, estate_config(rules={"C-12-important": {"working_days": True}}))
    # Accepted on Wed 30 Sep at 11:00 → due 8 Oct at 11:00 instead of 1 Oct.
    assert due_at(rules["C-12-important"], sh(2026, 9, 30, 11), cal) == sh(2026, 10, 8, 11)


def test_c14_override_warning_and_escalation() -> None:
    """C-14: warning off, escalation to the supervisor (by its alias) and the manager."""
    config = estate_config(
        rules={"C-14": {"warn_before": "none", "escalate_to": ["cc_manager", "project_manager"]}}
    )
    rule = load_rules(ESTATE, config)["C-14"]
    assert rule.warn_before is None
    assert rule.escalate_to == ("cc_supervisor", "project_manager")


def test_b1_callback_days_shorthand(cal: WorkingCalendar) -> None:
    """B-1: ``callback_days = 5`` sets the B-1 limit to 5 days."""
    rules = load_rules(ESTATE, estate_config(callback_days=5))
    assert str(rules["B-1"].due) == "5d"
    assert due_at(rules["B-1"], sh(2026, 3, 10, 11), cal) == sh(2026, 3, 15, 11)


def test_estate_calendar_and_hours_move_working_day_clocks() -> None:
    """The estate's make-up day and office hours move the clocks counted in working days
    (the renovation decision's and the patrol's, table data only)."""
    config = estate_config(
        workday_start=time(8, 30),
        workday_end=time(18, 0),
        extra_workdays=["2027-02-20"],
        timezone="Asia/Shanghai",
    )
    estate = load_estate(ESTATE, config)
    # Friday 19 Feb 2027, 16:00 → the estate's make-up Saturday 20 Feb, 16:00.
    assert estate.due_at("R-4", sh(2027, 2, 19, 16)) == sh(2027, 2, 20, 16)
    assert estate.calendar.schedule_known(2027)
    assert estate.due_at("R-14", sh(2027, 2, 20)) == sh(2027, 2, 20, 18)
    assert estate.warn_at("R-14", sh(2027, 2, 20), sh(2027, 2, 20, 18)) == sh(2027, 2, 20, 17)


def test_q5_weekly_summary_settings() -> None:
    """Q-5: the weekly summary's weekday and time are estate settings."""
    default = load_estate(ESTATE)
    assert default.next_weekly_summary(sh(2026, 3, 9)) == sh(2026, 3, 13, 17)
    custom = load_estate(
        ESTATE, estate_config(weekly_summary_weekday="thu", weekly_summary_at="16:00")
    )
    assert custom.next_weekly_summary(sh(2026, 3, 9)) == sh(2026, 3, 12, 16)


def test_c5_window_and_threshold_override() -> None:
    """C-5: an estate narrows "at the same time" to 2 hours and needs 6 customers."""
    estate = load_estate(ESTATE, estate_config(same_event_window="2h", same_event_threshold=6))
    assert estate.same_event_window.elapsed == timedelta(hours=2)
    assert estate.same_event_threshold == 6


def test_q4_defaults_table_applies_to_every_estate_and_estate_wins() -> None:
    """Q-4: [defaults] sets every estate; an estate's own table wins over it."""
    config = {
        "defaults": {"rules": {"Q-4": {"due": "18h", "warn_before": "3h"}}},
        "estates": {ESTATE: {"rules": {"Q-4": {"due": "12h"}}}},
    }
    assert str(load_rules("月亮湾", config)["Q-4"].due) == "18h"
    own = load_rules(ESTATE, config)["Q-4"]
    assert (str(own.due), str(own.warn_before)) == ("12h", "3h")


def test_q4_example_config_loads() -> None:
    """Q-4: the shipped example sets Q-4 to 12 hours and 2027 make-up days."""
    estate = load_estate(ESTATE, read_estates_config(EXAMPLE))
    assert str(estate.rules["Q-4"].due) == "12h"
    assert estate.workday_start == time(8, 30)
    assert estate.calendar.schedule_known(2027)
    other = load_estate("月亮湾", read_estates_config(EXAMPLE))
    assert other.rules == DEFAULT_RULES
    assert other.workday_end == time(17, 30)


def test_no_config_gives_the_table() -> None:
    """Every rule: no config at all gives the table's defaults and the default calendar."""
    estate = load_estate(ESTATE, None)
    assert estate.rules == DEFAULT_RULES
    assert isinstance(estate, EstateRules)
    assert estate.calendar.tz.key == "Asia/Shanghai"


# -- bad config ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"rules": {"Q-4": {"due": "12x"}}},
         "estate '阳光花园', rule 'Q-4': field 'due': invalid duration '12x'"),
        ({"rules": {"Q-4": {"due": 12}}},
         "rule 'Q-4': field 'due': write the duration as text with a unit, e.g. '12h'"),
        ({"rules": {"Q-1": {"warn_before": "15m"}}},
         "rule 'Q-1': warn_before (15m) must be shorter than due (10m)"),
        ({"rules": {"Q-4": {"escalate_to": ["boss"]}}},
         "rule 'Q-4': field 'escalate_to': unknown role 'boss'"),
        ({"rules": {"Q-4": {"clock": "whenever"}}}, "rule 'Q-4': field 'clock'"),
        ({"rules": {"Q-4": {"dew": "1h"}}}, "rule 'Q-4': unknown field(s) dew"),
        ({"rules": {"Q-44": {"due": "1h"}}}, "estate '阳光花园': unknown rule 'Q-44'"),
        ({"rules": {"Q-4": {"id": "Q-5"}}}, "rule 'Q-4', field 'id': cannot rename"),
        ({"rules": {"Q-4": {"escalate_to": []}}},
         "rule 'Q-4': on_breach 'escalate' needs at least one role"),
        ({"rules": {"Q-4": "12h"}}, "rule 'Q-4': expected a table"),
        ({"timezone": "Mars/Olympus"}, "field 'timezone': unknown time zone 'Mars/Olympus'"),
        ({"workday_end": time(8)}, "the working day must start before it ends"),
        ({"workday_end": "late"}, "field 'workday_end'"),
        ({"extra_workdays": ["2027-02-31"]}, "field 'extra_workdays'"),
        ({"weekly_summary_weekday": "fryday"}, "unknown weekday 'fryday'"),
        ({"same_event_window": "1wd"}, "field 'same_event_window'"),
        ({"same_event_threshold": 1}, "field 'same_event_threshold'"),
        ({"callback_days": 0}, "field 'callback_days': must be at least 1"),
        ({"callback_days": "3d"}, "field 'callback_days': expected a whole number"),
        ({"callback_days": 5, "rules": {"B-1": {"due": "2d"}}}, "both set the B-1 limit"),
        ({"callbak_days": 5}, "estate '阳光花园': unknown setting 'callbak_days'"),
    ],
)  # fmt: skip
def test_bad_config_names_estate_rule_and_field(settings: dict[str, Any], message: str) -> None:
    """Q-4, Q-1, C-5, B-1 and working-day settings: invalid config is a ValueError saying where."""
    with pytest.raises(ValueError, match="estate '阳光花园'") as caught:
        load_estate(ESTATE, estate_config(**settings))
    assert message in str(caught.value)


def test_bad_config_document_shape(tmp_path: Path) -> None:
    """Every rule: a misspelt top-level table or broken TOML is reported, not ignored."""
    with pytest.raises(ValueError, match="unknown top-level table"):
        load_estate(ESTATE, {"estate": {ESTATE: {}}})
    broken = tmp_path / "estates.toml"
    broken.write_text('[estates."阳光花园"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        read_estates_config(broken)


def test_duration_text() -> None:
    """Durations read and write as "10m", "24h", "1d", "1wd"; working days have no length."""
    assert Duration.parse(" 10m ").elapsed == timedelta(minutes=10)
    assert Duration.parse("15d").elapsed == timedelta(days=15)
    assert str(Duration.parse("1wd")) == "1wd"
    with pytest.raises(ValueError, match="no fixed length"):
        _ = Duration.parse("1wd").elapsed
    with pytest.raises(ValueError, match="invalid duration"):
        Duration.parse("1.5h")


def test_an_estate_chooses_and_orders_its_categories() -> None:
    """Filing (P5, P6): the categories residents choose from are the estate's own list."""
    from procedures.deadlines import load_estate

    config = {"estates": {"阳光花园": {"categories": ["repairs", "noise", "other"]}}}
    assert load_estate("阳光花园", config).categories == ("repairs", "noise", "other")
    assert "parking" in load_estate("别的小区", config).categories  # the default: all
    with pytest.raises(ValueError, match="unknown category pets"):
        load_estate("x", {"estates": {"x": {"categories": ["pets"]}}})
