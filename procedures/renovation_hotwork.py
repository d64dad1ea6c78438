"""Renovation (P2): hot work (R-17) and the estate's temporary passes (臨時出入證, S-1) as
code. Pure: no database, no Telegram, no clock (time comes in).

**Hot work** (R-17, 動火審批): acetylene cylinders and welding gear stay out without written
consent. The owner or the contractor's head (or customer service for them) applies on an
active renovation: the place, the window (one local day, from and to), the kind (welding,
cutting, grinding, other), the operator's name and certificate number, and that an
extinguisher is on site. The seed names no approver; engineering decides (an engineer or
the engineering head, :data:`APPROVERS`: the department that answers for fire and
equipment on site). On approval the permit gets a code and security is told; at the gate
``/pass CODE`` admits welding gear and gas cylinders only inside the window and while the
works are active (:func:`check_hot_work`).

**Temporary passes** (臨時出入證): customer service issues a one-off pass for a visitor to
the works (a designer, a supplier): a name, a purpose, valid for a few hours or the rest
of the day; ``/pass CODE`` admits once (:func:`check_temp_pass`: a second use is refused).

Codes: ``DH`` (動火) or ``LS`` (臨時) and five characters of the worker passes' alphabet —
seven characters, never mistaken for a worker's six.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from procedures.decisions import Approval, Department, Resident, Style, Tell, Text
from procedures.identity import Role
from procedures.renovation import (
    CUSTOMER_SERVICE,
    ENGINEERING,
    SECURITY,
    WORKS_ALLOWED,
    Refusal,
    Renovation,
    RenovationDecision,
    Status,
    clean_name,
    parse_date,
)
from procedures.renovation_settings import parse_window
from procedures.rule_ids import RuleId

#: Hot-work permit codes start with this (動火), temporary passes' with :data:`TEMP_PREFIX`.
HOT_PREFIX = "DH"
TEMP_PREFIX = "LS"
#: The characters after the prefix.
CODE_TAIL = 5
#: Who decides a hot-work permit: engineering (an engineer or its head).
APPROVERS: frozenset[str] = frozenset({Role.ENGINEERING.value, Role.ENGINEERING_HEAD.value})
#: The longest place or purpose kept.
MAX_TEXT = 80


class HotKind(StrEnum):
    """What hot work is done (each a text ``renovation_hotwork.kind.<value>``)."""

    WELDING = "welding"  # 电焊
    CUTTING = "cutting"  # 气割
    GRINDING = "grinding"  # 切割打磨
    OTHER = "other"


class HotState(StrEnum):
    """Where a hot-work permit is."""

    ASKED = "asked"  # applied for: engineering decides
    APPROVED = "approved"  # approved, with its code: security told
    REFUSED = "refused"  # refused with a reason


#: Why engineering refuses (each a text ``renovation_hotwork.reason.<value>``).
REFUSE_REASONS: tuple[str, ...] = ("place", "certificate", "window", "protection")


@dataclass(frozen=True)
class HotWorkForm:
    """The application (動火審批表): ``starts``/``ends`` are aware datetimes."""

    place: str
    starts: datetime
    ends: datetime
    kind: HotKind
    operator: str
    certificate: str
    extinguisher: bool


@dataclass(frozen=True)
class HotWork:
    """A hot-work permit as decisions and the gate read it."""

    id: int
    renovation_id: int
    form: HotWorkForm
    state: HotState = HotState.ASKED
    code: str | None = None
    reason: str | None = None


def clean_text(text: str) -> str | None:
    """A place or a purpose on one line, or None when empty or too long."""
    found = " ".join(unicodedata.normalize("NFKC", text).split())
    return found if 0 < len(found) <= MAX_TEXT else None


def clean_certificate(text: str) -> str | None:
    """An operator's certificate number (特种作业操作证): letters, digits and dashes, 6..30
    characters, upper-case; None otherwise."""
    found = "".join(unicodedata.normalize("NFKC", text).split()).upper()
    return found if re.fullmatch(r"[A-Z0-9-]{6,30}", found) else None


def parse_hot_window(text: str, today: date) -> tuple[date, time, time] | None:
    """A window as people type it: ``2026-12-02 09:00-11:00`` or ``12-02 9:00-11:00``
    (the date as :func:`procedures.renovation.parse_date` reads it); None when unreadable."""
    plain = unicodedata.normalize("NFKC", text).strip().replace("—", "-").replace("–", "-")
    parts = plain.split(None, 1)
    if len(parts) != 2:
        return None
    day = parse_date(parts[0], today)
    hours = re.sub(r"(?<!\d)(\d):", r"0\1:", parts[1].replace(" ", ""))
    if day is None:
        return None
    try:
        start, end = parse_window(hours)
    except ValueError:
        return None
    return day, start, end


def applied(
    ren: Renovation, permit_id: int, form: HotWorkForm, may_apply: bool, now: datetime
) -> RenovationDecision:
    """R-17: a hot-work permit applied for (動火審批表) by the owner, the contractor's head
    or customer service for them. Refused when the works are not active, the window has
    passed, the operator has no certificate number or there is no extinguisher on site.
    Engineering gets it to approve or refuse."""
    if not may_apply:
        raise Refusal("hot_not_applicant")
    if ren.status != Status.ACTIVE:
        raise Refusal("hot_not_active")
    if form.ends <= now or form.ends <= form.starts:
        raise Refusal("hot_window_past")
    if not form.certificate:
        raise Refusal("hot_certificate")
    if not form.extinguisher:
        raise Refusal("hot_extinguisher")
    return RenovationDecision(
        event="renovation.hotwork_applied",
        data={"permit": permit_id, "kind": form.kind.value, "place": form.place,
              "window": [form.starts.isoformat(), form.ends.isoformat()],
              "operator": {"name": form.operator}},
        expect_status=Status.ACTIVE,
        tell=[Tell(Department(ENGINEERING), "renovation_hotwork.to_engineering",
                   _params(form), style=Style.WITH_CARD, buttons="ren_hot", button_arg=permit_id)],
    )  # fmt: skip


def decided(
    permit: HotWork,
    ren: Renovation,
    approved: bool,
    reason: str | None,
    role: str | None,
    code: str,
    now: datetime,
) -> RenovationDecision:
    """R-17: engineering approves (written consent: the permit gets ``code``, security and
    the owner are told) or refuses with a reason (the owner and customer service told).
    Signed in the decider's role; once only."""
    if role is None:
        raise Refusal("hot_not_engineering")
    if permit.state != HotState.ASKED:
        raise Refusal("hot_decided")
    params = _params(permit.form)
    if not approved:
        if reason not in REFUSE_REASONS:
            raise Refusal("hot_reason_needed")
        why = Text(f"renovation_hotwork.reason.{reason}")
        return RenovationDecision(
            event="renovation.hotwork_refused",
            data={"permit": permit.id, "reason": reason},
            approval=Approval(RuleId.R17.value, role, False, comment=reason,
                              version=f"hotwork:{permit.id}"),
            tell=[Tell(Resident(), "renovation_hotwork.refused_owner", params | {"reason": why}),
                  Tell(Department(CUSTOMER_SERVICE), "renovation_hotwork.refused_staff",
                       params | {"reason": why})],
        )  # fmt: skip
    if ren.status != Status.ACTIVE:
        raise Refusal("hot_not_active")
    if permit.form.ends <= now:
        raise Refusal("hot_window_past")
    params |= {"code": code}
    return RenovationDecision(
        event="renovation.hotwork_approved",
        data={"permit": permit.id, "code": code},
        expect_status=Status.ACTIVE,
        approval=Approval(RuleId.R17.value, role, True, version=f"hotwork:{permit.id}"),
        tell=[Tell(Resident(), "renovation_hotwork.approved_owner", params),
              Tell(Department(SECURITY), "renovation_hotwork.to_security", params,
                   style=Style.WITH_CARD)],
    )  # fmt: skip


def decider_role(held: set[str] | frozenset[str]) -> str | None:
    """The role in which someone decides a hot-work permit: the engineering head's first,
    then an engineer's; None for anyone else (an admin, as such, decides nothing)."""
    for role in (Role.ENGINEERING_HEAD.value, Role.ENGINEERING.value):
        if role in held:
            return role
    return None


def _params(form: HotWorkForm) -> dict[str, object]:
    return {
        "place": form.place,
        "day": form.starts.date().isoformat(),
        "start": f"{form.starts:%H:%M}",
        "end": f"{form.ends:%H:%M}",
        "kind": Text(f"renovation_hotwork.kind.{form.kind.value}"),
        "operator": form.operator,
        "certificate": form.certificate,
    }


def check_hot_work(found: HotWork | None, status: Status | None, now: datetime) -> str | None:
    """R-17 at the gate: why a hot-work permit does not admit welding gear or gas cylinders
    now (a text key's last part), or None when it does: an unknown code, a permit not
    approved, works not active (suspended, or not on), before or after its window."""
    if found is None or status is None:
        return "unknown"
    if found.state != HotState.APPROVED:
        return "not_approved"
    if status != Status.ACTIVE:
        return "suspended" if status == Status.SUSPENDED else "not_active"
    if now < found.form.starts:
        return "not_yet"
    if now >= found.form.ends:
        return "expired"
    return None


# --- temporary passes (臨時出入證) -------------------------------------------------------------


class TempValidity(StrEnum):
    """How long a temporary pass is valid from its issue."""

    HOURS_2 = "2h"
    HOURS_4 = "4h"
    DAY = "day"  # until the end of the local day


@dataclass(frozen=True)
class TempPass:
    """A one-off visitor's pass to the works."""

    id: int
    renovation_id: int
    code: str
    name: str
    purpose: str
    valid_from: datetime
    valid_to: datetime
    used_at: datetime | None = None


def temp_window(choice: TempValidity, local_now: datetime) -> tuple[datetime, datetime]:
    """A temporary pass's validity from ``local_now`` (aware, the estate's time)."""
    if choice == TempValidity.DAY:
        midnight = datetime.combine(local_now.date() + timedelta(days=1), time(), local_now.tzinfo)
        return local_now, midnight
    return local_now, local_now + timedelta(hours=int(choice.value.removesuffix("h")))


def temp_issued(ren: Renovation, may_issue: bool) -> None:
    """A temporary pass may be issued by customer service while works may go on (S-1);
    Refusal otherwise."""
    if not may_issue:
        raise Refusal("temp_not_issuer")
    if ren.status not in WORKS_ALLOWED:
        raise Refusal("no_works")


def check_temp_pass(found: TempPass | None, status: Status | None, now: datetime) -> str | None:
    """S-1: why a temporary pass does not admit its visitor now, or None when it does (the
    caller marks it used in the same step): unknown, used already, works not on, before or
    after its validity."""
    if found is None or status is None:
        return "unknown"
    if found.used_at is not None:
        return "used"
    if status not in WORKS_ALLOWED:
        return "suspended" if status == Status.SUSPENDED else "not_active"
    if now < found.valid_from:
        return "not_yet"
    if now >= found.valid_to:
        return "expired"
    return None


def is_temp_code(code: str) -> bool:
    """Whether a cleaned code is a temporary pass's."""
    return code.startswith(TEMP_PREFIX) and len(code) == len(TEMP_PREFIX) + CODE_TAIL


def is_hot_code(code: str) -> bool:
    """Whether a cleaned code is a hot-work permit's."""
    return code.startswith(HOT_PREFIX) and len(code) == len(HOT_PREFIX) + CODE_TAIL


__all__ = [
    "APPROVERS",
    "HotKind",
    "HotState",
    "HotWork",
    "HotWorkForm",
    "TempPass",
    "TempValidity",
    "applied",
    "check_hot_work",
    "check_temp_pass",
    "clean_certificate",
    "clean_name",
    "clean_text",
    "decided",
    "decider_role",
    "parse_hot_window",
    "temp_issued",
    "temp_window",
]
