"""Records and facts for the pure tests of procedures (no database, no Telegram)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from procedures.cases import Case
from procedures.deadlines import EstateRules, load_estate
from procedures.decisions import Audience, Decision, Facts, Tell

#: A Friday 10:00 in Shanghai (office hours), as UTC: the moment a test's case is filed.
FILED = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def a_case(**fields: Any) -> Case:
    """A request of the demo estate, new, filed by chat at :data:`FILED` (``fields``
    change any of it)."""
    base = Case(
        id=7, number="XQ-20261127-0001", estate_id=1, kind="request", category="repairs",
        unit_id=3, resident_id=11, description="厨房水管漏水", urgent=False, status="new",
        severity=None, department=None, assignee_id=None, promised_at=None,
        accepted_at=FILED, channel="chat", caller_name=None, caller_phone=None,
    )  # fmt: skip
    return replace(base, **fields)


def a_complaint(**fields: Any) -> Case:
    """A complaint, otherwise as :func:`a_case`."""
    return a_case(kind="complaint", number="TS-20261127-0001", **fields)


def rules(config: Mapping[str, Any] | None = None) -> EstateRules:
    """The demo estate's rules: the manual's defaults, or ``config``'s overrides (a
    ``{"rules": {...}}`` table as the estate's TOML holds)."""
    return load_estate("阳光花园", {"estates": {"阳光花园": dict(config or {})}})


def facts(
    after: timedelta = timedelta(0),
    *,
    config: Mapping[str, Any] | None = None,
    history: Mapping[str, Sequence[datetime]] | None = None,
    due: Mapping[str, datetime] | None = None,
) -> Facts:
    """The facts ``after`` the filing, with the estate's ``config``, clock ``history`` and
    the ``due`` times of the clocks in force."""
    return Facts(rules(config), FILED + after, dict(history or {}), dict(due or {}))


def to(decision: Decision, audience: Audience) -> list[Tell]:
    """The tells of a decision to one audience."""
    return [t for t in decision.tell if t.to == audience]


def keys(decision: Decision) -> list[str]:
    """The text keys a decision tells, in order."""
    return [t.key for t in decision.tell]


def timer_of(decision: Decision, rule: str) -> Any:
    """The one timer a decision starts for ``rule``."""
    found = [t for t in decision.start if t.rule == rule]
    assert len(found) == 1, f"{rule}: {decision.started}"
    return found[0]
