"""The case engine: the manual's steps for requests and complaints, wired to storage.

Handlers call it for every step; the sweeper calls :meth:`Engine.react` when a deadline
warns or breaks. Each step is one transaction (case, audit event, deadlines, outbox), then
the outbox is drained at once — messages Telegram refuses for now stay queued and the
background sender retries them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from html import escape
from typing import TYPE_CHECKING, Any

import aiosqlite
from telegram import InlineKeyboardMarkup

from bot.i18n import t
from bot.outbox import OutboxSender
from bot.sweeper import Firing
from procedures.cases import CATEGORIES, INVALID_REASONS, Action, Kind, Severity, Status
from procedures.deadlines import ACCEPTANCE, EstateRules, load_estate
from procedures.identity import ROLE_DEPARTMENT, Department, Role
from procedures.permissions import DEPARTMENT_HEADS, Act, may
from procedures.phone import mask_phone
from storage import audit
from storage.cases import Case, CaseStore, Effects, NewCase, Notice, Timer, apply_effects
from storage.deadlines import DeadlineStore
from storage.identity import IdentityStore, Person
from storage.outbox import OutboxMessage

if TYPE_CHECKING:
    from handlers.common import Actor, Context

log = logging.getLogger(__name__)

#: Every clock of the work itself (not the callback's): all stop when a case is answered.
WORK_CLOCKS = [
    "V-1-first-response", "Q-1", "Q-4", "C-1-next-reply", "C-5-week", "C-11-same-day",
    "C-13-same-day", "C-12-important", "C-12-major-answer", "C-12-major-resolve",
]  # fmt: skip
CALLBACK_CLOCKS = ("B-1", "C-14")
#: The audit events that mark when each clock event happened for a case (a clock counted
#: from an event of the past starts at its first occurrence).
CLOCK_EVENTS: dict[str, tuple[str, ...]] = {
    "referred": ("case.refer",),
    "classified": ("case.classify", "case.made_major"),
    "fixed": ("case.promise",),
    "feedback": ("case.feedback",),
    "approved": ("case.approve",),
    "completed": ("case.done", "case.resolve", "case.approve", "case.invalidate"),
}


def engine(context: Context) -> Engine:
    """The running application's engine."""
    from handlers.common import services

    found: Engine = services(context).extras["engine"]
    return found


class Engine:
    """Steps, cards and reactions for cases."""

    def __init__(
        self,
        identity: IdentityStore,
        cases: CaseStore,
        sender: OutboxSender,
        *,
        default_locale: str,
        config: dict[str, Any] | None = None,
    ) -> None:
        self.identity = identity
        self.clock = identity.db.clock  # the application's one clock
        self.cases = cases
        self.sender = sender
        self.default_locale = default_locale
        self.config = config
        self._rules: dict[int, EstateRules] = {}

    # --- rules and people -------------------------------------------------------------------

    async def rules(self, estate_id: int) -> EstateRules:
        """The estate's time limits and calendar (defaults, overridden by its config)."""
        if estate_id not in self._rules:
            estate = await self.identity.estate(estate_id)
            self._rules[estate_id] = load_estate(estate.name if estate else "", self.config)
        return self._rules[estate_id]

    async def timer(self, estate_id: int, rule: str, start: datetime, **data: Any) -> Timer:
        """A deadline for ``rule`` counted from ``start`` (warning included)."""
        rules = await self.rules(estate_id)
        due = rules.due_at(rule, start)
        return Timer(rule, due, rules.warn_at(rule, start, due), data)

    async def clocked(
        self,
        case: Case,
        rule: str,
        at: datetime,
        *,
        events: frozenset[str] | set[str] = ACCEPTANCE,
        since: datetime | None = None,
        happening: dict[str, datetime] | None = None,
        **data: Any,
    ) -> Timer:
        """Rule ``rule`` comes into force for ``case`` now; ``at`` is when ``events`` happened.

        The engine decides when a rule applies (Q-4 when a request is filed, C-12 when a
        complaint is classified); the estate decides from which event its clock counts
        (the rule's ``clock``, one of ``CLOCK_CHOICES``). The clock starts at ``at`` when
        its event is one of ``events``; else at the first time that event happened to the
        case (not before ``since``: a reopened case's clocks count afresh); else the timer
        waits for the event, and :meth:`arm` starts it when the event happens. ``happening``
        names other events of this very moment (a complaint made major is classified now).
        """
        rules = await self.rules(case.estate_id)
        clock = rules.rule(rule).clock
        if happening and clock in happening:
            start: datetime | None = happening[clock]
        elif clock in events:
            start = at
        else:
            start = await self.clock_started(case, clock, since)
        if start is None:
            return Timer(rule, at, None, data | {"waiting_for": clock}, waiting=True)
        return await self.timer(case.estate_id, rule, start, **data)

    async def clock_started(
        self, case: Case, clock: str, since: datetime | None = None
    ) -> datetime | None:
        """When ``clock``'s event first happened to ``case`` (at or after ``since``)."""
        if clock in ACCEPTANCE:
            return case.accepted_at if since is None or case.accepted_at >= since else None
        names = CLOCK_EVENTS.get(clock, ())
        for event in await audit.trail(self.identity.db, f"case:{case.id}"):
            at = datetime.fromisoformat(event["at"])
            if event["event"] in names and (since is None or at >= since):
                return at
        return None

    async def arm(
        self, case: Case, event: str, at: datetime, *, besides: tuple[str, ...] = ()
    ) -> list[Timer]:
        """The case's timers that waited for ``event`` (see :meth:`clocked`), started at
        ``at`` (the rules in ``besides`` are left to the caller, which starts them itself)."""
        armed = []
        for waiting in await DeadlineStore(self.identity.db).waiting(case.id, event):
            if waiting.rule in besides:
                continue
            data = {k: v for k, v in waiting.data.items() if k != "waiting_for"}
            armed.append(await self.timer(case.estate_id, waiting.rule, at, **data))
        return armed

    def locale_of(self, person: Person) -> str:
        """A person's language."""
        from handlers.common import person_locale

        return person_locale(person, self.default_locale)

    async def people(self, estate_id: int, roles: set[str]) -> list[Person]:
        """Everyone holding one of ``roles`` in the estate (each once)."""
        found: dict[int, Person] = {}
        for role in sorted(roles):
            for person in await self.identity.people_with_role(estate_id, role):
                found.setdefault(person.id, person)
        return list(found.values())

    def is_first_responder(self, actor: Actor, case: Case) -> bool:
        """Customer-service staff of the case's estate (Q-1, C-9; an admin is IT, not one)."""
        return may(Act.FIRST_RESPONSE, actor.roles_in(case.estate_id))

    def is_staff_of(self, actor: Actor, estate_id: int) -> bool:
        """May read the estate's cases: its staff, and its admins (support, no steps)."""
        return may(Act.READ_CASE, actor.roles_in(estate_id), deployment_admin=actor.is_global_admin)

    def is_department_member(self, actor: Actor, case: Case) -> bool:
        """Belongs to the department the case was referred to (its members act, Q-4; an
        admin who is not one of them does not)."""
        if case.department is None:
            return False
        for m in actor.memberships:
            if m.estate_id != case.estate_id or m.role in (Role.OWNER, Role.TENANT):
                continue
            department = m.department or (
                ROLE_DEPARTMENT[Role(m.role)].value if Role(m.role) in ROLE_DEPARTMENT else None
            )
            if department == case.department:
                return True
        return False

    def may_override(self, actor: Actor, case: Case) -> bool:
        """The department's head or the supervisor: may reassign or re-promise (Q-4)."""
        return may(Act.OVERRIDE, actor.roles_in(case.estate_id), department=case.department)

    def may_finish(self, actor: Actor, case: Case) -> bool:
        """The assignee, the department's head or the supervisor."""
        return case.assignee_id in (None, actor.person.id) or may(
            Act.FINISH_ANY, actor.roles_in(case.estate_id), department=case.department
        )

    # --- cards --------------------------------------------------------------------------------

    def card(self, locale: str, case: Case, resident: Person | None = None) -> str:
        """The summary card of a case."""
        lines = [
            t(locale, "case.card_title", kind=t(locale, f"kind.{case.kind}"), number=case.number),
            t(locale, "case.card_category", category=t(locale, f"category.{case.category}"))
            if case.category in CATEGORIES
            else "",
            t(locale, "case.card_status", status=t(locale, f"status.{case.status}")),
            t(locale, "case.card_unit", unit=case.unit_label) if case.unit_label else "",
        ]
        if case.department:
            lines.append(
                t(
                    locale,
                    "case.card_department",
                    department=t(locale, f"department.{case.department}"),
                )
            )
        if case.urgent:
            lines.append(t(locale, "case.card_urgent"))
        if case.severity:
            lines.append(
                t(locale, "case.card_severity", severity=t(locale, f"severity.{case.severity}"))
            )
        if resident is not None:
            phone = mask_phone(resident.phone) if resident.phone else "—"
            lines.append(t(locale, "case.card_resident", name=resident.name, phone=phone))
        elif case.caller_name or case.caller_phone:  # V-4: recorded by staff from a call/visit
            phone = mask_phone(case.caller_phone) if case.caller_phone else "—"
            lines.append(
                t(locale, f"case.card_caller_{'visit' if case.channel == 'visit' else 'phone'}",
                  name=case.caller_name or "—", phone=phone)
            )  # fmt: skip
        lines.append(t(locale, "case.card_description", description=case.description))
        return "\n".join(line for line in lines if line)

    def first_responder_keyboard(self, locale: str, case: Case) -> InlineKeyboardMarkup | None:
        """Resolve / refer / escalate, while the case waits for the first responder."""
        from handlers.common import button, keyboard

        if case.status != Status.NEW:
            return None
        rows = [
            [
                button(t(locale, "case.btn_resolve"), f"cs:resolve:{case.id}"),
                button(t(locale, "case.btn_refer"), f"cs:refer:{case.id}"),
            ],
            [button(t(locale, "case.btn_escalate"), f"cs:escalate:{case.id}")],
        ]
        if case.kind == Kind.COMPLAINT:  # C-5: complaints about one event are counted together
            rows.append([button(t(locale, "event_link.btn_link"), f"cs:link:{case.id}")])
        return keyboard(rows)

    # --- one event, many complainants (C-5) --------------------------------------------------

    async def link_candidates(self, case: Case) -> list[Case]:
        """Other complaints of the estate filed within the C-5 window around this one."""
        rules = await self.rules(case.estate_id)
        window = rules.same_event_window.elapsed
        rows = await self.identity.db.fetchall(
            "SELECT id FROM cases WHERE estate_id = ? AND kind = 'complaint' AND id != ?"
            " AND accepted_at BETWEEN ? AND ? ORDER BY id DESC LIMIT 8",
            (
                case.estate_id,
                case.id,
                (case.accepted_at - window).isoformat(timespec="seconds"),
                (case.accepted_at + window).isoformat(timespec="seconds"),
            ),
        )
        found = [await self.cases.get(int(r["id"])) for r in rows]
        return [c for c in found if c is not None]

    async def link(self, case: Case, other: Case, actor: Actor) -> int:
        """C-5: the two complaints are about one event. When that event has enough different
        complainants within the window (5 by default), every one of its complaints becomes
        major, and the superiors and leadership are told (C-3). Returns the complainants."""
        rules = await self.rules(case.estate_id)
        key = other.event_key_or_number()
        async with self.identity.db.write() as conn:
            for linked in (case, other):
                await conn.execute("UPDATE cases SET event_key = ? WHERE id = ?", (key, linked.id))
                if linked.event_key is not None and linked.event_key != key:
                    await conn.execute(  # merge an earlier event into this one
                        "UPDATE cases SET event_key = ? WHERE estate_id = ? AND event_key = ?",
                        (key, case.estate_id, linked.event_key),
                    )
            await audit.append(
                conn, event="case.linked", subject=f"case:{case.id}",
                actor=f"person:{actor.person.id}", actor_id=actor.person.id,
                estate_id=case.estate_id, data={"event": key, "with": other.number},
            )  # fmt: skip
            async with conn.execute(
                "SELECT id, severity, resident_id, caller_phone, accepted_at FROM cases"
                " WHERE estate_id = ? AND event_key = ? AND kind = 'complaint'",
                (case.estate_id, key),
            ) as cur:
                members = list(await cur.fetchall())
            window = rules.same_event_window.elapsed
            people = most_complainants_in_window(
                [(datetime.fromisoformat(m["accepted_at"]), complainant(m)) for m in members],
                window,
            )
            if people >= rules.same_event_threshold:
                raised = [
                    m["id"] for m in members
                    if await self.make_major(
                        conn, int(m["id"]), "C-5-five", {"event": key, "complainants": people}
                    )
                ]  # fmt: skip
                if raised:
                    fresh = await self.cases.get(case.id)
                    assert fresh is not None
                    told = await self.major_notices(
                        fresh, "event_link.made_major", count=people, event=key
                    )
                    await apply_effects(conn, fresh, Effects(notices=told))
        return people

    def department_keyboard(self, locale: str, case: Case) -> InlineKeyboardMarkup | None:
        """Take (when referred) or done (when in progress)."""
        from handlers.common import button, keyboard

        promise = [button(t(locale, "progress.btn_promise"), f"dp:when:{case.id}")]
        if case.status == Status.REFERRED:
            return keyboard([[button(t(locale, "case.btn_take"), f"dp:take:{case.id}")], promise])
        if case.status == Status.IN_PROGRESS:
            return keyboard([[button(t(locale, "case.btn_done"), f"dp:done:{case.id}")], promise])
        return None

    async def promise_keyboard(self, locale: str, case: Case) -> InlineKeyboardMarkup:
        """Q-4, C-1: quick choices of a time to promise the resident (estate time)."""
        from handlers.common import button, keyboard

        rules = await self.rules(case.estate_id)
        now = rules.calendar.local(self.clock.now())
        buttons = [
            button(t(locale, f"progress.when_{code}"), f"dp:pr:{case.id}:{code}")
            for code, moment in promise_choices(now).items()
            if moment > now
        ]
        buttons.append(button(t(locale, "common.back"), f"dp:back:{case.id}"))
        return keyboard([[b] for b in buttons])

    async def promise(self, case: Case, code: str, actor: Actor) -> Case | None:
        """Q-4 (requests) or C-1 (complaints): promise a time; the clock follows it."""
        rules = await self.rules(case.estate_id)
        now = rules.calendar.local(self.clock.now())
        when = promise_choices(now).get(code)
        if when is None or when <= now:
            return None
        shown = when.strftime("%m-%d %H:%M")

        async def compose(after: Case) -> Effects:
            rule = "Q-4" if after.kind == Kind.REQUEST else "C-1-next-reply"
            due = rules.due_at(rule, now, promised=when)
            effects = Effects(start=await self.arm(after, "fixed", now, besides=(rule,)))
            effects.start.append(Timer(rule, due, rules.warn_at(rule, now, due)))
            effects.notices += await self.to_resident(after, "progress.promised", when=shown)
            return effects

        return await self.cases.step(
            case.id, Action.PROMISE, compose, by=actor.person.id,
            actor=f"person:{actor.person.id}", changes={"promised_at": when},
            expect_status=case.status, note=shown,
        )  # fmt: skip

    async def post_update(
        self, case: Case, actor: Actor, text: str, photo: str | None
    ) -> Case | None:
        """Progress from the department (a reply to the case card): kept, and told."""

        async def compose(after: Case) -> Effects:
            effects = Effects()
            if photo:
                effects.photos.append((photo, actor.person.id))
            for notice in await self.to_resident(
                after, "progress.update", name=actor.person.name, text=text or "📷"
            ):
                effects.notices.append(
                    Notice(notice.chat_id, notice.text, None, notice.person_id, photo)
                )
            return effects

        return await self.cases.step(
            case.id, Action.UPDATE, compose, by=actor.person.id,
            actor=f"person:{actor.person.id}", expect_status=case.status,
            note=(text or "📷")[:500],
        )  # fmt: skip

    async def open_clocks(self, locale: str, case: Case) -> str | None:
        """The case's deadlines still running (and waiting for their event), soonest first,
        for staff reading ``/case``; None when none is open."""
        rules = await self.rules(case.estate_id)
        found = [
            d for d in await DeadlineStore(self.identity.db).of_case(case.id)
            if d.state in ("pending", "warned", "waiting")
        ]  # fmt: skip
        if not found:
            return None
        lines = [t(locale, "clocks.title")]
        for deadline in sorted(found, key=lambda d: (d.state == "waiting", d.due_at)):
            rule = rules.rules.get(deadline.rule)
            title = t(locale, rule.title_key) if rule and _has(rule.title_key) else ""
            if deadline.state == "waiting":
                event = str(deadline.data.get("waiting_for", ""))
                key = f"clocks.event_{event}"
                lines.append(
                    t(locale, "clocks.waiting", rule=deadline.rule, title=title,
                      event=t(locale, key) if _has(key) else event)
                )  # fmt: skip
            else:
                due = rules.calendar.local(deadline.due_at).strftime("%m-%d %H:%M")
                key = "clocks.warned" if deadline.state == "warned" else "clocks.running"
                lines.append(t(locale, key, rule=deadline.rule, title=title, due=due))
        return "\n".join(lines)

    async def timeline(self, locale: str, case: Case) -> str:
        """The case's audit trail as lines: when, who, what."""
        rules = await self.rules(case.estate_id)
        lines = [t(locale, "case.timeline_title")]
        for event in await audit.trail(self.identity.db, f"case:{case.id}"):
            at = rules.calendar.local(datetime.fromisoformat(event["at"])).strftime("%m-%d %H:%M")
            who = event["actor"]
            if who.startswith("person:") and who[7:].isdigit():
                person = await self.identity.person(int(who[7:]))
                who = person.name if person else who
            key = "event." + event["event"].replace(".", "_")
            what = t(locale, key) if _has(key) else escape(event["event"])
            note = event["data"].get("note")
            if note:
                what += f": {escape(str(note))[:200]}"
            lines.append(f"{at} · {escape(who)} · {what}")
        return "\n".join(lines)

    # --- notices --------------------------------------------------------------------------

    async def to_resident(
        self, case: Case, key: str, *, with_card: bool = False, **params: object
    ) -> list[Notice]:
        """A message to the case's resident in their language (none for phone/visit cases)."""
        if case.resident_id is None:
            return []
        person = await self.identity.person(case.resident_id)
        if person is None:
            return []
        locale = self.locale_of(person)
        text = t(locale, key, number=case.number, **params)
        if with_card:
            text += "\n\n" + self.card(locale, case)
        return [Notice(person.tg_user_id, text, person_id=person.id)]

    async def to_department(self, case: Case, department: str, text_for: Any) -> list[Notice]:
        """A message to a department's group; without a group, to its members privately."""
        chat = await self.identity.department(case.estate_id, department)
        if chat is not None and chat.chat_id is not None:
            text, markup = text_for(self.default_locale)
            return [Notice(chat.chat_id, text, _markup(markup))]
        roles = {r.value for r, d in ROLE_DEPARTMENT.items() if d.value == department}
        notices = []
        for person in await self.people(case.estate_id, roles | {Role.ADMIN.value}):
            text, markup = text_for(self.locale_of(person))
            notices.append(Notice(person.tg_user_id, text, _markup(markup), person.id))
        return notices

    async def to_roles(
        self,
        case: Case,
        roles: set[str],
        key: str,
        *,
        markup: Any = None,
        suffix: str = "",
        **params: object,
    ) -> list[Notice]:
        """A message to everyone holding ``roles`` in the case's estate, privately; ``markup``
        builds each person's buttons from their locale and the case; ``suffix`` follows the
        headline (a "late" note)."""
        notices = []
        for person in await self.people(case.estate_id, roles):
            locale = self.locale_of(person)
            text = t(locale, key, number=case.number, **params) + suffix
            text += "\n\n" + self.card(locale, case)
            buttons = _markup(markup(locale, case)) if markup is not None else None
            notices.append(Notice(person.tg_user_id, text, buttons, person.id))
        return notices

    async def to_targets(
        self, case: Case, targets: Iterable[str], key: str, *, suffix: str = "", **params: object
    ) -> list[Notice]:
        """A deadline's message to whom a rule names (``warn_to``, ``escalate_to``; see
        :data:`procedures.deadlines.ROLES`), each chat once:

        * ``first_responder``, ``customer_assistant``: the customer-service group (or its
          staff privately, when no group is bound), where whoever is on duty sees it;
        * ``department_group``, ``patrol_department``: the case's department group;
        * ``department_head``: the head of the case's department (engineering, customer
          service), or its group for a department without a head role;
        * ``approvers``: the customer-department and engineering heads (R-4);
        * every other name is a role, told privately (cc_supervisor, project_manager…).
        """
        cs = Department.CUSTOMER_SERVICE.value
        departments: list[str] = []
        roles: set[str] = set()
        for target in targets:
            if target in ("first_responder", "customer_assistant"):
                departments.append(cs)
            elif target in ("department_group", "patrol_department"):
                departments.append(case.department or cs)
            elif target == "department_head":  # not referred yet: customer service's head
                head = DEPARTMENT_HEADS.get(case.department or cs)
                if head is not None:
                    roles.add(head.value)
                else:
                    departments.append(case.department or cs)
            elif target == "approvers":
                roles |= {Role.CUSTOMER_HEAD.value, Role.ENGINEERING_HEAD.value}
            else:
                roles.add(target)

        def text_for(locale: str) -> tuple[str, None]:
            text = t(locale, key, number=case.number, **params) + suffix
            return text + "\n\n" + self.card(locale, case), None

        notices: list[Notice] = []
        for department in dict.fromkeys(departments):
            notices += await self.to_department(case, department, text_for)
        if roles:
            notices += await self.to_roles(case, roles, key, suffix=suffix, **params)
        once: dict[int, Notice] = {}  # each chat once (one group named twice…)
        for notice in notices:
            once.setdefault(notice.chat_id, notice)
        return list(once.values())

    async def resident(self, case: Case) -> Person | None:
        """The case's resident."""
        return await self.identity.person(case.resident_id) if case.resident_id else None

    # --- steps ----------------------------------------------------------------------------------

    async def file(self, new: NewCase, *, actor: Actor) -> Case:
        """File a case (Q-2, C-10: recorded) and start its clocks (Q-1, Q-4, C-5)."""
        rules = await self.rules(new.estate_id)
        now_local = rules.calendar.local(self.clock.now())
        if new.unit_id is not None and new.unit_label is None:
            unit = await self.identity.unit(new.unit_id)
            if unit is not None:
                new = replace(new, unit_label=unit.label)

        async def compose(case: Case) -> Effects:
            resident = await self.resident(case)
            effects = Effects()
            effects.notices += await self.to_resident(case, "case.filed", with_card=True)
            effects.notices += await self.to_department(
                case,
                Department.CUSTOMER_SERVICE.value,
                lambda locale: (
                    t(locale, "case.new_for_first_responder")
                    + "\n"
                    + self.card(locale, case, resident),
                    self.first_responder_keyboard(locale, case),
                ),
            )
            start = case.accepted_at
            effects.start.append(await self.clocked(case, "Q-1", start))  # Q-1, C-9
            if case.channel == "chat":  # V-1: a person takes it up within minutes (office hours)
                effects.start.append(await self.clocked(case, "V-1-first-response", start))
            if case.kind == Kind.REQUEST:
                effects.start.append(await self.clocked(case, "Q-4", start))
            if case.kind == Kind.COMPLAINT:
                effects.start.append(await self.clocked(case, "C-5-week", start))  # C-5
                effects.notices += await self.to_roles(  # C-4: the supervisor decides its nature
                    case, {Role.PROJECT_SUPERVISOR.value}, "complaint.classify_please",
                    markup=self.classification_keyboard,
                )  # fmt: skip
            if case.urgent:  # V-2, Q-1, C-3: major, urgent or sudden → the superior at once
                effects.notices += await self.to_roles(
                    case, {Role.CC_SUPERVISOR.value}, "case.urgent_reported"
                )
            return effects

        case = await self.cases.file(new, now_local, compose, actor=f"person:{actor.person.id}")
        await self.deliver()
        return case

    async def refer(self, case: Case, department: str, actor: Actor) -> Case | None:
        """Q-1, C-9: to the department that handles it; the referral clock stops."""

        async def compose(after: Case) -> Effects:
            resident = await self.resident(after)
            effects = Effects(stop=["Q-1", "V-1-first-response"])
            # clocks an estate counts from the referral (Q-4, C-12) start now
            effects.start += await self.arm(after, "referred", self.clock.now())
            effects.notices += await self.to_department(
                after,
                department,
                lambda locale: (
                    t(locale, "case.new_for_department")
                    + "\n"
                    + self.card(locale, after, resident),
                    self.department_keyboard(locale, after),
                ),
            )
            effects.notices += await self.to_resident(
                after,
                "case.referred",
                department=t(self.default_locale, f"department.{department}"),
            )
            return effects

        return await self.cases.step(
            case.id, Action.REFER, compose, by=actor.person.id,
            actor=f"person:{actor.person.id}", changes={"department": department},
            expect_status=case.status,
        )  # fmt: skip

    async def resolve(self, case: Case, actor: Actor) -> Case | None:
        """Answered on the spot by the first responder: done; the callback clock starts."""
        return await self._finish(case, actor, Action.RESOLVE, "case.resolved")

    async def escalate(self, case: Case, actor: Actor) -> Case | None:
        """V-2, Q-1, C-3, C-9: reported at once to the superior (and leadership if major)."""

        async def compose(after: Case) -> Effects:
            roles = {Role.CC_SUPERVISOR.value}
            if after.kind == Kind.COMPLAINT:
                roles |= {Role.PROJECT_SUPERVISOR.value, Role.LEADERSHIP.value}
            return Effects(
                notices=await self.to_roles(after, roles, "case.escalated", name=actor.person.name),
                stop=["V-1-first-response"],  # a person has taken it up
            )

        return await self.cases.step(
            case.id, Action.ESCALATE, compose, by=actor.person.id,
            actor=f"person:{actor.person.id}", expect_status=case.status,
        )  # fmt: skip

    async def take(self, case: Case, actor: Actor) -> Case | None:
        """A department member takes the case."""

        async def compose(after: Case) -> Effects:
            return Effects(
                notices=await self.to_resident(after, "case.taken", name=actor.person.name)
            )

        return await self.cases.step(
            case.id, Action.TAKE, compose, by=actor.person.id,
            actor=f"person:{actor.person.id}", changes={"assignee_id": actor.person.id},
            expect_status=case.status,
        )  # fmt: skip

    async def finish(self, case: Case, actor: Actor) -> Case | None:
        """Handled (Q-4: this stops the clock); the resident is told; callback clock starts.

        A complaint goes to review instead (C-11, C-13): the department's feedback, then the
        supervisor's handling opinion and the manager's approval, and only then the reply.
        """
        if case.kind == Kind.COMPLAINT:
            return await self.feedback(case, actor)
        return await self._finish(case, actor, Action.DONE, "case.done")

    # --- complaint review (C-11, C-13) -------------------------------------------------------

    def opinion_keyboard(self, locale: str, case: Case) -> InlineKeyboardMarkup | None:
        """C-11: the button that asks the supervisor for the handling opinion."""
        from handlers.common import button, keyboard

        if case.status != Status.REVIEW:
            return None
        return keyboard([[button(t(locale, "review.btn_write"), f"op:w:{case.id}")]])

    def approval_keyboard(self, locale: str, case: Case) -> InlineKeyboardMarkup | None:
        """C-13: approve the reply, or send the opinion back."""
        from handlers.common import button, keyboard

        if case.status != Status.REVIEW or not case.opinion:
            return None
        version = opinion_version(case.opinion)
        return keyboard(
            [
                [
                    button(t(locale, "review.btn_approve"), f"op:ok:{case.id}:{version}"),
                    button(t(locale, "review.btn_reject"), f"op:no:{case.id}:{version}"),
                ]
            ]
        )

    def review_card(self, locale: str, case: Case, resident: Person | None = None) -> str:
        """The card with the opinion, when there is one."""
        text = self.card(locale, case, resident)
        if case.opinion:
            text += "\n" + t(locale, "review.card_opinion", opinion=case.opinion)
        return text

    async def feedback(self, case: Case, actor: Actor) -> Case | None:
        """C-11: the department has handled the complaint; the same-day reply clock starts."""
        now = self.clock.now()

        async def compose(after: Case) -> Effects:
            # C-12 important: handled within 1 day; C-5: resolved within the week.
            effects = Effects(stop=["Q-1", "Q-4", "C-1-next-reply", "C-12-important", "C-5-week"])
            effects.start.append(
                await self.clocked(after, "C-11-same-day", now, events={"feedback"})
            )
            effects.notices += await self.to_opinion_writers(after, "review.feedback", actor)
            effects.notices += await self.to_resident(after, "review.for_resident")
            return effects

        return await self.cases.step(
            case.id, Action.FEEDBACK, compose, by=actor.person.id,
            actor=f"person:{actor.person.id}", expect_status=case.status,
            changes={"opinion": None, "opinion_by": None, "approved_by": None},
        )  # fmt: skip

    async def to_opinion_writers(self, case: Case, key: str, actor: Actor) -> list[Notice]:
        """C-11: the card with the "write the opinion" button, to customer service (after
        the department's feedback, or when the manager sent the opinion back)."""
        resident = await self.resident(case)

        def card(locale: str) -> tuple[str, InlineKeyboardMarkup | None]:
            text = t(locale, key, name=actor.person.name) + "\n" + self.card(locale, case, resident)
            return text, self.opinion_keyboard(locale, case)

        return await self.to_department(case, Department.CUSTOMER_SERVICE.value, card)

    async def approvers(self, case: Case, writer_id: int | None) -> list[Person]:
        """C-13: who approves the reply — the customer-centre manager (cc_supervisor role,
        by default), never the opinion's own writer; the project manager when nobody else."""
        found = [
            p for p in await self.people(case.estate_id, {Role.CC_SUPERVISOR.value})
            if p.id != writer_id
        ]  # fmt: skip
        if not found:
            found = [
                p for p in await self.people(case.estate_id, {Role.PROJECT_MANAGER.value})
                if p.id != writer_id
            ]  # fmt: skip
        return found

    async def write_opinion(self, case: Case, opinion: str, actor: Actor) -> Case | None:
        """C-11: the supervisor's handling opinion; the approvers get it with buttons."""

        async def compose(after: Case) -> Effects:
            effects = Effects()
            resident = await self.resident(after)
            for person in await self.approvers(after, actor.person.id):
                locale = self.locale_of(person)
                text = t(locale, "review.approve_please", name=actor.person.name) + "\n"
                text += self.review_card(locale, after, resident)
                markup = _markup(self.approval_keyboard(locale, after))
                effects.notices.append(Notice(person.tg_user_id, text, markup, person.id))
            return effects

        return await self.cases.step(
            case.id, Action.OPINION, compose, by=actor.person.id,
            actor=f"person:{actor.person.id}",
            changes={"opinion": opinion, "opinion_by": actor.person.id},
            expect_status=Status.REVIEW, note=opinion,
        )  # fmt: skip

    async def approve(self, case: Case, actor: Actor, version: str) -> Case | None:
        """C-13: approved, the reply goes to the resident now (same day), with confirm or
        dispute (C-2) — which is also the complaint's callback (C-14)."""
        now = self.clock.now()

        async def compose(after: Case) -> Effects:
            effects = Effects(stop=list(WORK_CLOCKS))
            person = await self.resident(after)
            if person is not None:
                from handlers.common import button, keyboard

                locale = self.locale_of(person)
                text = t(locale, "review.reply", number=after.number, opinion=after.opinion or "")
                markup = keyboard(
                    [
                        [
                            button(t(locale, "review.btn_confirm"), f"cb:ok:{after.id}"),
                            button(t(locale, "review.btn_dispute"), f"cb:no:{after.id}"),
                        ]
                    ]
                )
                effects.notices.append(Notice(person.tg_user_id, text, _markup(markup), person.id))
            effects.start.append(
                await self.clocked(after, "C-14", now, events={"approved", "completed"})
            )
            return effects

        return await self.cases.step(
            case.id, Action.APPROVE, compose, by=actor.person.id,
            actor=f"person:{actor.person.id}",
            changes={"approved_by": actor.person.id, "replied_at": now, "resolved_at": now},
            expect_status=Status.REVIEW,
            guard=lambda c: bool(c.opinion) and opinion_version(c.opinion) == version,
        )  # fmt: skip

    async def reject_opinion(self, case: Case, actor: Actor, version: str) -> Case | None:
        """C-13: the manager sends the opinion back; the supervisor writes it again."""

        async def compose(after: Case) -> Effects:
            return Effects(notices=await self.to_opinion_writers(after, "review.rejected", actor))

        return await self.cases.step(
            case.id, Action.REJECT, compose, by=actor.person.id,
            actor=f"person:{actor.person.id}",
            changes={"opinion": None, "opinion_by": None}, expect_status=Status.REVIEW,
            guard=lambda c: bool(c.opinion) and opinion_version(c.opinion) == version,
        )  # fmt: skip

    async def _finish(self, case: Case, actor: Actor, action: Action, key: str) -> Case | None:
        async def compose(after: Case) -> Effects:
            effects = Effects(stop=list(WORK_CLOCKS))
            effects.notices += await self.to_resident(after, key, name=actor.person.name)
            effects.notices += await self.callback_question(after)
            callback = "C-14" if after.kind == Kind.COMPLAINT else "B-1"  # C-14, B-1
            now = self.clock.now()
            effects.start.append(await self.clocked(after, callback, now, events={"completed"}))
            return effects

        return await self.cases.step(
            case.id, action, compose, by=actor.person.id,
            actor=f"person:{actor.person.id}", expect_status=case.status,
        )  # fmt: skip

    # --- complaints (C-4..C-7, C-3, C-9, C-12) ----------------------------------------------

    def classification_keyboard(self, locale: str, case: Case) -> InlineKeyboardMarkup | None:
        """C-4: invalid, or valid and minor / important / major."""
        from handlers.common import button, keyboard

        if case.severity is not None:
            return None
        return keyboard(
            [
                [
                    button(t(locale, "severity.minor"), f"cx:sev:{case.id}:minor"),
                    button(t(locale, "severity.important"), f"cx:sev:{case.id}:important"),
                    button(t(locale, "severity.major"), f"cx:sev:{case.id}:major"),
                ],
                [
                    button(t(locale, f"complaint.invalid.{r}"), f"cx:inv:{case.id}:{r}")
                    for r in INVALID_REASONS
                ],
            ]
        )

    def extension_keyboard(self, timer_id: int) -> Any:
        """C-12: the management-department manager alone may let it run over; the button
        names the clock (built per person by :meth:`to_roles`)."""
        from handlers.common import button, keyboard

        def build(locale: str, case: Case) -> InlineKeyboardMarkup:
            data = f"cx:ext:{case.id}:{timer_id}"
            return keyboard([[button(t(locale, "complaint.btn_extend"), data)]])

        return build

    async def classify(self, case: Case, severity: str, actor: Actor) -> Case | None:
        """C-4..C-7: a valid complaint's severity; C-9/C-3 reports and C-12 clocks follow."""
        now = self.clock.now()

        async def compose(after: Case) -> Effects:
            # clocks an estate counts from the classification (C-5, C-12) start now
            effects = Effects(start=await self.arm(after, "classified", now))
            start = after.accepted_at  # C-12: counted from acceptance (default)
            if severity == Severity.IMPORTANT and after.status != Status.REVIEW:
                # (in review the department has already handled it: C-12's day is over)
                effects.start.append(await self.clocked(after, "C-12-important", start))
            if severity == Severity.MAJOR:
                effects.start += await self.major_clocks(after)
            said = {
                "severity": t(self.default_locale, f"severity.{severity}"),
                "name": actor.person.name,
            }
            if severity == Severity.IMPORTANT:  # C-9: the superior, and who approves overruns
                roles = {Role.CC_SUPERVISOR.value, Role.MGMT_MANAGER.value}
                effects.notices += await self.to_roles(after, roles, "complaint.reported", **said)
            elif severity == Severity.MAJOR:  # C-3, C-9: whom the estate tells of a major one
                effects.notices += await self.major_notices(
                    after, "complaint.reported", besides=actor.person.id, **said
                )
            return effects

        return await self.cases.step(
            case.id, Action.CLASSIFY, compose, by=actor.person.id,
            actor=f"person:{actor.person.id}", changes={"severity": severity},
            expect_status=case.status,
        )  # fmt: skip

    async def invalidate(self, case: Case, reason: str, actor: Actor) -> Case | None:
        """C-4: an invalid complaint is still explained politely to the resident; done."""

        async def compose(after: Case) -> Effects:
            effects = Effects(stop=list(WORK_CLOCKS))
            person = await self.resident(after)
            if person is not None:
                locale = self.locale_of(person)
                explained = t(locale, f"complaint.invalid_explained.{reason}")
                text = t(locale, "complaint.invalid_for_resident", number=after.number,
                         reason=explained)  # fmt: skip
                effects.notices.append(Notice(person.tg_user_id, text, person_id=person.id))
            effects.notices += await self.callback_question(after)
            now = self.clock.now()
            effects.start.append(await self.clocked(after, "C-14", now, events={"completed"}))
            return effects

        return await self.cases.step(
            case.id, Action.INVALIDATE, compose, by=actor.person.id,
            actor=f"person:{actor.person.id}",
            changes={"severity": Severity.INVALID.value, "invalid_reason": reason},
            expect_status=case.status,
        )  # fmt: skip

    async def major_notices(
        self, case: Case, key: str, *, besides: int | None = None, **params: object
    ) -> list[Notice]:
        """C-3, C-9: a complaint became major, however it happened (classified, five
        complainants of one event, a week unresolved): the people the estate's
        ``major_tell`` names hear it, each once (``besides``: the person who did it)."""
        rules = await self.rules(case.estate_id)
        notices = await self.to_targets(case, rules.major_tell, key, **params)  # type: ignore[arg-type]
        return [n for n in notices if besides is None or n.person_id != besides]

    async def major_clocks(
        self, case: Case, *, answer: bool = True, made_major_at: datetime | None = None
    ) -> list[Timer]:
        """C-12 for a major complaint: a clear answer in 2 days, resolved in 15 (from
        acceptance); any C-12 important clock is replaced by these. ``made_major_at``: the
        complaint becomes major now (C-5), which is its classification as major for clocks
        counted from the classification."""
        start = case.accepted_at
        now = {"classified": made_major_at} if made_major_at is not None else None
        rules = ["C-12-major-answer", "C-12-major-resolve"] if answer else ["C-12-major-resolve"]
        return [await self.clocked(case, rule, start, happening=now) for rule in rules]

    async def make_major(
        self, conn: aiosqlite.Connection, case_id: int, rule: str, data: dict[str, Any]
    ) -> bool:
        """C-5: a complaint becomes major (a week unresolved, or five complainants of one
        event): severity, audit, and the major clocks, inside the caller's transaction."""
        from storage import deadlines as timers

        case = await self.cases.get(case_id)
        if (
            case is None
            or case.severity in ("major", "invalid")
            or case.status not in (Status.NEW, Status.REFERRED, Status.IN_PROGRESS, Status.REVIEW)
        ):
            return False
        await conn.execute("UPDATE cases SET severity = 'major' WHERE id = ?", (case.id,))
        await audit.append(
            conn, event="case.made_major", subject=f"case:{case.id}", actor="system",
            estate_id=case.estate_id, data={"rule": rule} | data,
        )  # fmt: skip
        await timers.settle(conn, case.id, ["C-12-important"], met=False)
        now = self.clock.now()
        started = await self.arm(case, "classified", now)
        if case.status != Status.REVIEW:
            started += await self.major_clocks(case, made_major_at=now)
        await apply_effects(conn, case, Effects(start=started))
        return True

    async def extend(self, case: Case, actor: Actor, timer_id: int) -> bool:
        """C-12: the management-department manager lets an important complaint run over by
        one more rule period (1 day by default). The button names the clock it extends, so
        two managers pressing at once extend it once; False when that clock is no longer
        open (handled, already extended, or over)."""
        from storage import deadlines as timers

        rules = await self.rules(case.estate_id)
        async with self.identity.db.write() as conn:
            async with conn.execute(
                "SELECT due_at FROM deadlines WHERE id = ? AND case_id = ? AND rule = ?"
                " AND state IN ('pending', 'warned')",
                (timer_id, case.id, "C-12-important"),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                return False
            old_due = datetime.fromisoformat(row["due_at"])
            new_due = rules.due_at("C-12-important", old_due)
            await timers.schedule(
                conn, case.id, "C-12-important", new_due,
                rules.warn_at("C-12-important", old_due, new_due),
                {"extended_by": actor.person.id},
            )  # fmt: skip
            await audit.append(
                conn, event="case.extended", subject=f"case:{case.id}",
                actor=f"person:{actor.person.id}", actor_id=actor.person.id,
                estate_id=case.estate_id,
                data={"rule": "C-12-important", "from": old_due.isoformat(),
                      "to": new_due.isoformat()},
            )  # fmt: skip
        return True

    # --- callbacks (B-1..B-4, C-14, C-2) --------------------------------------------------

    async def callback_question(self, case: Case) -> list[Notice]:
        """B-3: did we get it done? (then: how satisfied?) — asked in the resident's chat."""
        from handlers.common import button, keyboard

        person = await self.resident(case)
        if person is None:  # V-5: a caller without the bot is answered and called back by phone
            return await self.to_roles(
                case, {Role.CUSTOMER_ASSISTANT.value}, "callback.phone_caller",
                name=case.caller_name or "—", phone=case.caller_phone or "—",
                markup=self.phone_callback_keyboard,
            )  # fmt: skip
        locale = self.locale_of(person)
        markup = keyboard(
            [
                [
                    button(t(locale, "callback.btn_solved"), f"cb:ok:{case.id}"),
                    button(t(locale, "callback.btn_unsolved"), f"cb:no:{case.id}"),
                ]
            ]
        )
        text = t(locale, "callback.question", number=case.number)
        return [Notice(person.tg_user_id, text, _markup(markup), person.id)]

    def score_keyboard(self, locale: str, case: Case) -> InlineKeyboardMarkup:
        """B-3: how satisfied, 1–5."""
        from handlers.common import button, keyboard

        return keyboard(
            [[button("⭐" * n, f"cb:s:{case.id}:{n}") for n in (1, 2, 3)],
             [button("⭐" * n, f"cb:s:{case.id}:{n}") for n in (4, 5)]]
        )  # fmt: skip

    def phone_callback_keyboard(self, locale: str, case: Case) -> InlineKeyboardMarkup | None:
        """B-2, B-4: the assistant records the phone callback's outcome."""
        from handlers.common import button, keyboard

        if case.status != Status.DONE:
            return None
        return keyboard(
            [
                [
                    button(t(locale, "callback.btn_phone_ok"), f"cb:call:{case.id}:ok"),
                    button(t(locale, "callback.btn_phone_bad"), f"cb:call:{case.id}:bad"),
                ],
                [button(t(locale, "callback.btn_phone_none"), f"cb:call:{case.id}:none")],
            ]
        )

    async def called_back(
        self, case: Case, actor: Actor, *, satisfied: bool, score: int | None, channel: str
    ) -> Case | None:
        """B-4: record the callback; satisfied closes the case, unsatisfied reopens it (C-2)."""
        now = self.clock.now()
        fields: dict[str, Any] = {"called_back_at": now, "callback_channel": channel}
        if score is not None:
            fields["satisfaction"] = score
        if satisfied:

            async def closed(after: Case) -> Effects:
                effects = Effects(stop=["B-1", "C-14"])
                effects.notices += await self.to_resident(after, "callback.thanks")
                return effects

            return await self.cases.step(
                case.id, Action.CLOSE, closed, by=actor.person.id,
                actor=f"person:{actor.person.id}", changes=fields, expect_status=Status.DONE,
            )  # fmt: skip
        action = Action.REOPEN if case.department else Action.RETURN

        async def reopened(after: Case) -> Effects:
            effects = Effects(stop=["B-1", "C-14"])
            effects.notices += await self.to_resident(after, "callback.reopened")
            resident = await self.resident(after)
            department = after.department or Department.CUSTOMER_SERVICE.value

            def card(locale: str) -> tuple[str, InlineKeyboardMarkup | None]:
                text = t(locale, "callback.reopened_for_staff") + "\n"
                text += self.card(locale, after, resident)
                if after.department:
                    return text, self.department_keyboard(locale, after)
                return text, self.first_responder_keyboard(locale, after)

            effects.notices += await self.to_department(after, department, card)
            effects.notices += await self.to_roles(
                after, {Role.CC_SUPERVISOR.value}, "callback.reopened_for_supervisor"
            )
            # The reopening is a new acceptance (and a new referral when the case goes back
            # to its department): count afresh from it.
            again = ACCEPTANCE | ({"referred"} if after.department else set())
            if after.kind == Kind.REQUEST:  # Q-4 runs again from the reopening
                effects.start.append(await self.clocked(after, "Q-4", now, events=again, since=now))
            if after.status == Status.NEW:  # back with the first responder: Q-1 again
                effects.start.append(await self.clocked(after, "Q-1", now, events=again, since=now))
            if after.severity == Severity.MAJOR:  # C-12: a major one must still be resolved
                effects.start += await self.major_clocks(after, answer=False)
            return effects

        return await self.cases.step(
            case.id, action, reopened, by=actor.person.id, actor=f"person:{actor.person.id}",
            changes=fields
            | {"assignee_id": None, "opinion": None, "opinion_by": None, "approved_by": None},
            expect_status=Status.DONE,
        )  # fmt: skip

    async def add_comment(self, case: Case, actor: Actor, text: str) -> None:
        """B-3, B-4: the resident's further opinion, kept with the case and passed on."""
        if not text:
            return
        resident = await self.resident(case)
        async with self.identity.db.write() as conn:
            await audit.append(
                conn, event="case.comment", subject=f"case:{case.id}",
                actor=f"person:{actor.person.id}", actor_id=actor.person.id,
                estate_id=case.estate_id, data={"note": text},
            )  # fmt: skip

            def card(locale: str) -> tuple[str, None]:
                head = t(locale, "callback.comment_for_staff", number=case.number, text=text)
                return head + "\n" + self.card(locale, case, resident), None

            notices = await self.to_department(case, Department.CUSTOMER_SERVICE.value, card)
            await apply_effects(conn, case, Effects(notices=notices))

    async def on_blocked(self, conn: aiosqlite.Connection, message: OutboxMessage) -> None:
        """A resident blocked the bot: the case goes on; customer service phones instead."""
        case = await self.cases.get(message.case_id) if message.case_id else None
        person = await self.identity.person(message.person_id) if message.person_id else None
        if case is None or person is None or person.id != case.resident_id:
            return  # only a resident's refusal is news for customer service (not staff's)

        def notice(locale: str) -> tuple[str, None]:
            phone = person.phone or "—"
            text = t(
                locale, "case.resident_blocked", number=case.number, name=person.name, phone=phone
            )
            return text, None

        notices = await self.to_department(case, Department.CUSTOMER_SERVICE.value, notice)
        await apply_effects(conn, case, Effects(notices=notices))

    async def deliver(self) -> None:
        """Send what the step queued now (failures stay queued for the background sender)."""
        try:
            await self.sender.drain()
        except Exception:  # never fail a person's step because delivery hiccuped
            log.exception("outbox drain after a step failed")

    # --- deadlines ----------------------------------------------------------------------

    async def react(self, conn: aiosqlite.Connection, firing: Firing) -> None:
        """What a warning or a breach does, inside the sweeper's transaction."""
        case = await self.cases.get(firing.deadline.case_id)
        if case is None:
            return
        rules = await self.rules(case.estate_id)
        rule = rules.rules.get(firing.deadline.rule)
        if rule is None:
            log.warning("deadline %s has unknown rule %s", firing.deadline.id, firing.deadline.rule)
            return
        late = t(self.default_locale, "deadline.late") if firing.late else ""
        title = t(self.default_locale, rule.title_key) if _has(rule.title_key) else rule.id
        notices: list[Notice] = []
        finished = case.status in (Status.DONE, Status.CLOSED)
        if finished and rule.id not in CALLBACK_CLOCKS:
            return  # the work is done: a clock that was not stopped has nothing left to say
        if firing.warning:
            due = rules.calendar.local(firing.deadline.due_at).strftime("%m-%d %H:%M")
            notices += await self.to_targets(
                case, [rule.warn_to or "first_responder"], "deadline.warning",
                suffix=late, rule=title, due=due,
            )  # fmt: skip
            if rule.extension_by:  # C-12: only this role's approval lets it run over
                notices += await self.to_roles(
                    case, {rule.extension_by}, "complaint.extension_please", rule=title,
                    due=due, markup=self.extension_keyboard(firing.deadline.id),
                )  # fmt: skip
        elif rule.on_breach == "callback_task":  # B-1, C-14: the assistant phones the resident
            notices += await self.to_roles(
                case, {Role.CUSTOMER_ASSISTANT.value}, "deadline.callback_task", rule=title,
                markup=self.phone_callback_keyboard,
            )  # fmt: skip
            notices += await self.to_targets(  # and the supervisor hears it was missed
                case, [r for r in rule.escalate_to if r != Role.CUSTOMER_ASSISTANT.value],
                "deadline.breached", rule=title,
            )  # fmt: skip
        elif rule.on_breach == "make_major":  # C-5: a week unresolved makes it major
            if await self.make_major(conn, case.id, rule.id, {"late": firing.late}):
                notices += await self.major_notices(case, "deadline.made_major", rule=title)
        else:  # escalate
            notices += await self.to_targets(
                case, rule.escalate_to, "deadline.breached", suffix=late, rule=title
            )
        if firing.warning is False:
            await audit.append(
                conn, event="case.deadline_missed", subject=f"case:{case.id}", actor="system",
                estate_id=case.estate_id, data={"rule": rule.id, "late": firing.late},
            )  # fmt: skip
        await apply_effects(conn, case, Effects(notices=notices))


def complainant(row: Any) -> str:
    """Who complained (C-5 counts people, not complaints): the resident's account, else the
    caller's phone, else (a visitor who gave none) that complaint alone."""
    if row["resident_id"] is not None:
        return f"person:{row['resident_id']}"
    if row["caller_phone"]:
        return f"phone:{row['caller_phone']}"
    return f"case:{row['id']}"


def most_complainants_in_window(filed: list[tuple[datetime, str]], window: timedelta) -> int:
    """C-5 "at the same time": the most different complainants in any one window."""
    filed = sorted(filed)
    best = 0
    for i, (start, _) in enumerate(filed):
        inside = {who for at, who in filed[i:] if at - start <= window}
        best = max(best, len(inside))
    return best


def opinion_version(opinion: str | None) -> str:
    """A short fingerprint of an opinion: an approval button approves exactly what it showed."""
    import hashlib

    return hashlib.sha256((opinion or "").encode("utf-8")).hexdigest()[:8]


def promise_choices(now: datetime) -> dict[str, datetime]:
    """Promise times offered to staff, in the estate's local time: later today, tomorrow
    noon or evening, the day after tomorrow."""
    day = now.replace(second=0, microsecond=0)
    return {
        "today18": day.replace(hour=18, minute=0),
        "tomorrow12": (day + timedelta(days=1)).replace(hour=12, minute=0),
        "tomorrow18": (day + timedelta(days=1)).replace(hour=18, minute=0),
        "after18": (day + timedelta(days=2)).replace(hour=18, minute=0),
    }


def _markup(markup: InlineKeyboardMarkup | None) -> dict[str, Any] | None:
    return markup.to_dict() if markup is not None else None


def _has(key: str) -> bool:
    from bot.i18n import has

    return has(key)
