"""A decision's tells → outbox rows, each in its reader's language.

Procedures say whom to tell with which text (:class:`procedures.decisions.Tell`); this
module finds the people and chats (the resident, a department's group or its members,
everyone of some roles, the names a rule gives, the approvers), renders the text with the
case's card and buttons per reader, and returns the notices storage queues in the step's
own transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from telegram import InlineKeyboardMarkup

from bot.i18n import has, t
from handlers import cards, limits
from handlers.common import RulesOf, person_locale
from procedures.cases import Case, Kind
from procedures.deadlines import EstateRules, load_estate
from procedures.decisions import (
    Approvers,
    Assistant,
    Contact,
    Department,
    Limit,
    Resident,
    Roles,
    Style,
    Targets,
    Tell,
    Text,
    Title,
)
from procedures.identity import ROLE_DEPARTMENT, Role
from procedures.permissions import DEPARTMENT_HEADS
from procedures.reactions import route
from procedures.subjects import CASE, Subject
from storage import callbacks as callback_store
from storage import evidence
from storage.cases import Card, Notice, PostedCard, Redrawn, Rendered
from storage.identity import IdentityStore, Person

__all__ = ["Notifier"]

#: Customer service's group: where an assistant's work goes when there is no assistant.
CUSTOMER_SERVICE = "customer_service"


@cache
def _defaults() -> EstateRules:
    """The manual's defaults, for a notifier given no estates' rules (some tests)."""
    return load_estate("")


@dataclass(frozen=True)
class Seen:
    """What staff's cards show besides the record: the resident, who took the case, and the
    time promised (estate time)."""

    resident: Person | None
    assignee: str | None = None
    promised: str | None = None
    photos: tuple[str, ...] = ()  # the display copies of the case's photos, in order
    photo_count: int = 0  # its photos, display copies made or not
    rules: EstateRules | None = None  # the estate's: its limits are named in texts
    head: str | None = None  # the responsible department's head, named on staff cards (C-11)
    assistant: Person | None = None  # B-2: the assistant responsible (read when a tell needs it)


def _wants_assistant(tells: Iterable[Tell]) -> bool:
    """Whether a tell goes to, or names, the assistant responsible (B-2)."""
    return any(
        isinstance(tell.to, Assistant)
        or any(isinstance(v, Assistant) for v in tell.params.values())
        for tell in tells
    )


def _labels(markup: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The buttons a keyboard offers, by their labels (their data carry versions)."""
    rows = (markup or {}).get("inline_keyboard") or []
    return tuple(str(button.get("text")) for row in rows for button in row)


class Notifier:
    """Renders tells for the people of one deployment."""

    def __init__(
        self, identity: IdentityStore, default_locale: str, rules: RulesOf | None = None
    ) -> None:
        self.identity = identity
        self.default_locale = default_locale
        self.rules = rules  # the estates' calendars, to show a promised time in estate time

    def locale_of(self, person: Person) -> str:
        """A person's language."""
        return person_locale(person, self.default_locale)

    async def people(self, estate_id: int, roles: Iterable[str]) -> list[Person]:
        """Everyone holding one of ``roles`` in the estate (each once)."""
        found: dict[int, Person] = {}
        for role in sorted(set(roles)):
            for person in await self.identity.people_with_role(estate_id, role):
                found.setdefault(person.id, person)
        return list(found.values())

    async def approvers(self, case: Case, writer_id: int | None) -> list[Person]:
        """C-13: who approves the reply: the estate's approver role (the customer-centre
        manager by default), else the project manager; never the draft's writer."""
        rules = await self.rules(case.estate_id) if self.rules is not None else _defaults()
        for role in (rules.reply_approver, Role.PROJECT_MANAGER.value):
            found = [p for p in await self.people(case.estate_id, {role}) if p.id != writer_id]
            if found:
                return found
        return []

    async def seen(self, case: Case, *, assistant: bool = False) -> Seen:
        """What staff's cards show of ``case`` besides the record itself (and, ``assistant``,
        the customer assistant responsible for it, B-2)."""
        resident = await self.identity.person(case.resident_id) if case.resident_id else None
        assignee = await self.identity.person(case.assignee_id) if case.assignee_id else None
        rules = await self.rules(case.estate_id) if self.rules is not None else None
        promised = None
        if case.promised_at is not None and rules is not None:
            promised = rules.calendar.local(case.promised_at).strftime("%m-%d %H:%M")
        links = await evidence.links(self.identity.db, Subject(CASE, case.id))
        shown = tuple(link.display_sha256 for link in links if link.display_sha256 is not None)
        name = assignee.name if assignee else None
        head = None
        role = DEPARTMENT_HEADS.get(case.department or "")
        if role is not None and case.kind == Kind.COMPLAINT:  # C-11: the head is responsible
            heads = await self.identity.people_with_role(case.estate_id, role.value)
            head = "、".join(p.name for p in heads) or None
        responsible = None
        if assistant:
            found = await callback_store.responsible(self.identity.db, case)
            responsible = await self.identity.person(found) if found is not None else None
        return Seen(resident, name, promised, shown, len(links), rules, head, responsible)

    async def __call__(
        self, case: Case, tells: Sequence[Tell], cards: Sequence[PostedCard] = ()
    ) -> Rendered:
        """What storage queues for a step (``storage.cases.Render``): its tells as notices,
        and the cards already posted about the case as they read now; what the cards show
        of the case is read once for both."""
        seen = await self.seen(case, assistant=_wants_assistant(tells))
        return Rendered(await self._notices(case, tells, seen), self._redrawn(case, cards, seen))

    async def _notices(self, case: Case, tells: Sequence[Tell], seen: Seen) -> list[Notice]:
        """Every tell of a decision as notices, for the case as it is after the step."""
        notices: list[Notice] = []
        for tell in tells:
            found = await self._one(case, tell, seen)
            if tell.besides is not None:
                found = [n for n in found if n.person_id != tell.besides]
            if tell.photos and seen.photos:  # the photos first, then the card to act on
                notices += [self._album(n, case, seen.photos) for n in found]
            notices += found
        return notices

    def _redrawn(self, case: Case, cards: Sequence[PostedCard], seen: Seen) -> list[Redrawn]:
        """The cards posted about ``case`` as they read now: the head they were posted with,
        the card as the case is (status, who took it, the time promised, photos) and the
        keyboard of the steps still possible (none when they are over)."""
        drawn: list[Redrawn] = []
        for posted in cards:
            text, markup = self.redrawn(case, posted, seen)
            drawn.append(Redrawn(posted.outbox_id, text, markup))
        return drawn

    def redrawn_text(self, case: Case, posted: PostedCard, seen: Seen) -> str:
        """A posted card's text as the case is now (:meth:`redrawn`)."""
        return self.redrawn(case, posted, seen)[0]

    def redrawn(
        self, case: Case, posted: PostedCard, seen: Seen
    ) -> tuple[str, dict[str, object] | None]:
        """A posted card as the case is now: the head it was posted with (struck through
        once a step its keyboard offered is over: what it asked for is done), then the card;
        and its keyboard."""
        card, locale = posted.card, posted.card.locale
        markup = self.keyboard(locale, case, card.buttons, card.button_arg)
        head = card.head
        if not set(_labels(posted.posted_markup)) <= set(_labels(markup)):
            head = f"<s>{head}</s>"
        text = self.laid_out(locale, case, Style(card.style), head, seen, card.buttons)
        return text, markup

    def _album(self, card: Notice, case: Case, photos: Sequence[str]) -> Notice:
        """An album of ``photos`` to the chat of ``card``, captioned in its language."""
        locale = card.locale or self.default_locale
        caption = t(locale, "evidence.album_caption", number=case.number, count=len(photos))
        return Notice(card.chat_id, caption, None, card.person_id, album=tuple(photos))

    # --- one tell ----------------------------------------------------------------------------

    def text(self, locale: str, case: Case, tell: Tell, seen: Seen) -> str:
        """A tell's text in ``locale``, laid out as its style says."""
        head = self.head(locale, case, tell, seen.rules, seen)
        return self.laid_out(locale, case, tell.style, head, seen, tell.buttons)

    def head(
        self,
        locale: str,
        case: Case,
        tell: Tell,
        rules: EstateRules | None = None,
        seen: Seen | None = None,
    ) -> str:
        """A tell's own words in ``locale`` (what stands above a card); ``rules``: the
        estate's, whose limits the words may name; ``seen``: who the record's people are
        (the resident's contact, the assistant responsible)."""
        params = {
            name: self._param(locale, value, rules, seen, case)
            for name, value in tell.params.items()
        } | {"number": case.number}
        head = t(locale, tell.key, **params)
        if tell.late:
            head += t(locale, "deadline.late")
        return head

    def laid_out(
        self,
        locale: str,
        case: Case,
        style: Style,
        head: str,
        seen: Seen,
        buttons: str | None = None,
    ) -> str:
        """``head`` laid out with the case's card as ``style`` says; a department's or the
        first responder's card (its ``buttons``) ends saying that a reply to it reaches the
        owner."""
        if style == Style.WITH_CARD:
            return head + "\n\n" + cards.card(locale, case, photos=seen.photo_count)
        if style in (Style.CARD, Style.REVIEW):  # staff: who took it, the time promised
            text = head + "\n" + self.staff_card(locale, case, seen, review=style == Style.REVIEW)
            if buttons in ("department", "first_responder"):  # a reply reaches the owner
                text += "\n" + t(locale, "case.reply_hint")
            return text
        return head

    @staticmethod
    def staff_card(locale: str, case: Case, seen: Seen, *, review: bool = False) -> str:
        """A case's card as staff see it: with the resident's contact, who took it, the
        time promised and how many photos it has (with the handling opinion: ``review``)."""
        draw = cards.review_card if review else cards.staff_card
        return draw(
            locale,
            case,
            seen.resident,
            assignee=seen.assignee,
            promised=seen.promised,
            photos=seen.photo_count,
            head=seen.head,
        )

    def _param(
        self,
        locale: str,
        value: object,
        rules: EstateRules | None,
        seen: Seen | None = None,
        case: Case | None = None,
    ) -> object:
        if isinstance(value, Assistant):  # B-2: asked in the name of the assistant responsible
            if seen is not None and seen.assistant is not None:
                return t(locale, "callback.by_assistant", name=seen.assistant.name)
            return t(locale, "callback.by_centre")
        if isinstance(value, Contact):  # B-2: whom the assistant phones, number in full
            resident = seen.resident if seen is not None else None
            if resident is not None:
                return f"{resident.name} {resident.phone or '—'}"
            if case is not None and (case.caller_name or case.caller_phone):
                return f"{case.caller_name or '—'} {case.caller_phone or '—'}"
            return "—"
        if isinstance(value, Limit | Title):  # the estate's own limit, in the reader's words
            estate = rules if rules is not None else _defaults()
            if isinstance(value, Limit):
                return limits.limit(locale, estate, value.rule)
            return limits.title(locale, estate, value.rule) or value.rule
        if isinstance(value, Text):
            if has(value.key) or value.fallback is None:
                return t(locale, value.key)
            return value.fallback
        return value

    def markup(self, locale: str, case: Case, tell: Tell) -> dict[str, object] | None:
        """A tell's buttons in ``locale`` (None when the step they offer is over)."""
        return self.keyboard(locale, case, tell.buttons, tell.button_arg)

    @staticmethod
    def keyboard(
        locale: str, case: Case, name: str | None, arg: int | None
    ) -> dict[str, object] | None:
        """The keyboard ``name`` for ``case`` now, in ``locale`` (None: none, or the step it
        offers is over)."""
        if name is None:
            return None
        built: InlineKeyboardMarkup | None = cards.KEYBOARDS[name](locale, case, arg)
        return built.to_dict() if built is not None else None

    def card_of(
        self,
        locale: str,
        case: Case,
        tell: Tell,
        *,
        resident: bool,
        rules: EstateRules | None = None,
        seen: Seen | None = None,
    ) -> Card | None:
        """What a card notice is drawn from, to keep it true (None for a plain notice, and
        for a resident's message with buttons: their answer is kept on it)."""
        if tell.style == Style.PLAIN or (resident and tell.buttons is not None):
            return None
        head = self.head(locale, case, tell, rules, seen)
        return Card(locale, head, tell.style.value, tell.buttons, tell.button_arg)

    def _to(
        self, person: Person, case: Case, tell: Tell, seen: Seen, *, resident: bool = False
    ) -> Notice:
        locale = self.locale_of(person)
        return Notice(
            person.tg_user_id,
            self.text(locale, case, tell, seen),
            self.markup(locale, case, tell),
            person.id,
            tell.photo,
            tell.album,
            locale,
            None
            if tell.photo or tell.album
            else self.card_of(locale, case, tell, resident=resident, rules=seen.rules, seen=seen),
        )

    async def _one(self, case: Case, tell: Tell, seen: Seen) -> list[Notice]:
        audience = tell.to
        if isinstance(audience, Resident):
            resident = seen.resident
            if resident is None:
                return []
            return [self._to(resident, case, tell, seen, resident=True)]
        if isinstance(audience, Department):
            return await self._department(case, audience.name, tell, seen)
        if isinstance(audience, Roles):
            people = await self.people(case.estate_id, audience.roles)
            return [self._to(p, case, tell, seen) for p in people]
        if isinstance(audience, Approvers):
            people = await self.approvers(case, audience.writer_id)
            return [self._to(p, case, tell, seen) for p in people]
        if isinstance(audience, Assistant):  # B-2: privately; without one, customer service
            if seen.assistant is not None:
                return [self._to(seen.assistant, case, tell, seen)]
            return await self._department(case, CUSTOMER_SERVICE, tell, seen)
        assert isinstance(audience, Targets)
        return await self._targets(case, audience.names, tell, seen)

    async def _department(
        self, case: Case, department: str, tell: Tell, seen: Seen
    ) -> list[Notice]:
        """A department's group (in the deployment's language); without a group, its
        members and the estate's admins privately."""
        chat = await self.identity.department(case.estate_id, department)
        if chat is not None and chat.chat_id is not None:
            locale = self.default_locale
            text = self.text(locale, case, tell, seen)
            markup = self.markup(locale, case, tell)
            card = (
                None
                if tell.photo or tell.album
                else self.card_of(locale, case, tell, resident=False, rules=seen.rules, seen=seen)
            )
            return [Notice(chat.chat_id, text, markup, None, tell.photo, tell.album, locale, card)]
        roles = {r.value for r, d in ROLE_DEPARTMENT.items() if d.value == department}
        people = await self.people(case.estate_id, roles | {Role.ADMIN.value})
        return [self._to(p, case, tell, seen) for p in people]

    async def _targets(
        self, case: Case, names: Iterable[str], tell: Tell, seen: Seen
    ) -> list[Notice]:
        """Whom a rule names (:func:`procedures.reactions.route`), each chat once."""
        where = route(names, case.department)
        notices: list[Notice] = []
        for department in where.departments:
            notices += await self._department(case, department, tell, seen)
        if where.roles:
            people = await self.people(case.estate_id, where.roles)
            notices += [self._to(p, case, tell, seen) for p in people]
        once: dict[int, Notice] = {}  # each chat once (one group named twice…)
        for notice in notices:
            once.setdefault(notice.chat_id, notice)
        return list(once.values())
