"""An estate's time limits as people read them: "10 分钟", "1 个工作日", "10 minutes".

Texts never hard-code a limit the estate can change (Q-1's ten minutes, C-5's window, …):
they take it from the estate's rules (``procedures.deadlines``) through these functions,
in the reader's language. A limit in whole days reads as days (``"24h"`` is "1 天"), in
whole weeks as weeks (``"7d"`` is "1 周"), in whole hours as hours (``"60m"`` is "1 小时").
A rule counted in working time says so ("工作时间 5 分钟", "2 个工作小时").
"""

from __future__ import annotations

from datetime import timedelta

from bot.i18n import has, t
from procedures.deadlines import Duration, EstateRules
from procedures.deadlines.rules import Rule

#: Units from the largest down, with their length in seconds (elapsed time).
_UNITS = (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def span(locale: str, duration: Duration, *, working: bool = False) -> str:
    """A duration as people say it: the largest whole unit (``"24h"`` → "1 天")."""
    if duration.unit == "wd" or (working and duration.unit == "d"):
        return _count(locale, "wd", duration.amount)
    seconds = duration.amount * _SECONDS[duration.unit]
    if working:  # working hours and minutes are not folded into days
        unit = "working_h" if seconds and seconds % 3600 == 0 else "working_m"
        return _count(locale, unit, seconds // (3600 if unit == "working_h" else 60))
    return elapsed(locale, timedelta(seconds=seconds))


def elapsed(locale: str, length: timedelta) -> str:
    """A length of time in the largest unit it fills whole (``timedelta(days=1)`` → "1 天")."""
    seconds = int(length.total_seconds())
    for unit, size in _UNITS:
        if seconds and seconds % size == 0:
            return _count(locale, unit, seconds // size)
    return _count(locale, "s", seconds)


def _count(locale: str, unit: str, amount: int) -> str:
    return t(locale, f"limit.{unit}_{'one' if amount == 1 else 'other'}", n=amount)


def of_rule(locale: str, rule: Rule) -> str:
    """A rule's limit: its duration, or what its due time means ("当天", "约定时间")."""
    if isinstance(rule.due, Duration):
        return span(locale, rule.due, working=rule.working_days)
    return t(locale, f"limit.{rule.due}")


def limit(locale: str, rules: EstateRules, rule_id: str) -> str:
    """The estate's limit for ``rule_id`` (its default when the estate has no such rule)."""
    rule = rules.rules.get(rule_id)
    return of_rule(locale, rule) if rule is not None else ""


def title(locale: str, rules: EstateRules, rule_id: str) -> str:
    """A rule's title with the estate's own limit in it ("10 分钟内转交"); "" for a clock
    without a title."""
    rule = rules.rules.get(rule_id)
    if rule is None or not has(rule.title_key):
        return ""
    return t(locale, rule.title_key, limit=of_rule(locale, rule))
