"""Renovation (P2), its first step in chat: application → completeness → approval → terms
(procedures.renovation decides; storage.renovation applies in one unit of work).

**The owner** (private chat): ``/renovate`` shows the guide (装修申报须知) and the checklist
(R-1), then the form (R-2): the unit (when they own several), the works period from and
to, the contractor, its head and the head's phone, the scope ticks; then the commitment
letter, confirmed by a button from their own account, makes the draft (its number
``ZX-…``). Then one document at a time (R-3): the checklist's buttons pick the document,
photos or image files sent are kept as evidence (original by SHA-256, a watermarked display
copy for staff), and "📨 提交申请" sends it once every document has a file. A document
customer service refuses comes back with the reason and "📎 重新上传", which opens the
same upload step for that document.

**Customer service** (its group, or its members privately without one): the application's
card has a 🔍 button per document: the document's files come as an album with ✅ 有效 /
❌ 无效 (then a reason). The last valid document completes it (R-3's checklist).

**Approval** (R-4, R-5, R-7): engineering gets the complete file (R-5: the documents as an
album and the card); the customer-department head and the engineering head each get it
privately with ✅ 批准 / ❌ 驳回, then type their comments (a rejection must say why; an
approval may skip them): signed in their role in the approvals table. R-4's clock (one
working day from "application complete") warns the heads still to sign, then tells the
project manager (:func:`react`, from the deadline sweeper). The owner is told, and accepts
the terms with ✅ 接受审批条款 (R-7). A head's delegate in force (``/delegate``,
handlers.renovation_delegate) hears what the head hears and signs in the head's role, the
approval naming the delegation; cards list the signatures (handlers.renovation_signatures).

Every press is checked again against the roles in the database (``may``); nothing is
trusted from button data. Button data: ``ren:<action>:<renovation>[:<doc index>[:<reason
index>]]``.
"""

from __future__ import annotations

import asyncio
import logging
import unicodedata
from collections.abc import Callable, Coroutine, Iterable, Sequence, Set
from datetime import date
from enum import IntEnum
from html import escape
from typing import Any

import aiosqlite
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.i18n import has, t
from handlers import limits, photos
from handlers import renovation_signatures as signatures
from handlers.common import (
    TAP_HINT,
    Actor,
    AnyHandler,
    Context,
    Services,
    button,
    canceller,
    edit,
    in_rows,
    keep_answered,
    keyboard,
    parse_id,
    persistent_flow,
    person_locale,
    reply,
    services,
    who,
    with_hint,
)
from handlers.records import OTHER, TEXT, draft_of, stale
from handlers.renovation_permit import draw_pass_qr, draw_permit, pass_link, permit_lines
from procedures import renovation as reno
from procedures import renovation_delegate as delegating
from procedures.decisions import (
    Department,
    Resident,
    Roles,
    Style,
    Targets,
    Tell,
    Text,
    Title,
)
from procedures.identity import ROLE_DEPARTMENT, Role, looks_like_invite_code
from procedures.permissions import Act, may
from procedures.reactions import route
from procedures.renovation import (
    INVALID_REASONS,
    REQUIRED,
    SCOPES,
    Doc,
    DocState,
    Form,
    Refusal,
    Renovation,
    RenovationDecision,
    Signature,
    Status,
)
from procedures.renovation_settings import RenovationSettings, hours_text, yuan
from procedures.rule_ids import RuleId
from storage import evidence
from storage import renovation as store_module
from storage.cases import Notice
from storage.deadlines import Firing
from storage.identity import Person
from storage.outbox import enqueue, store_blob
from storage.renovation import DocFile, NewPass, NewRenovation, RenovationStore
from storage.renovation_delegate import DelegationStore

log = logging.getLogger(__name__)

#: ``user_data`` keys of the two flows.
KEY = "renovation"
SIGN_KEY = "renovation_sign"
#: Longest comment a head may write (a longer one is asked again, shorter).
MAX_COMMENT = 500
#: Icons of a document's state on the checklists.
ICONS = {
    DocState.MISSING: "▫️",
    DocState.PENDING: "⏳",
    DocState.VALID: "✅",
    DocState.INVALID: "❌",
}


class Step(IntEnum):
    """Where an owner is in the application (R-1..R-3)."""

    UNIT = 1
    FROM = 2
    TO = 3
    CONTRACTOR = 4
    HEAD = 5
    PHONE = 6
    SCOPE = 7
    COMMIT = 8
    DOCS = 9


class SignStep(IntEnum):
    """A head signing (R-4): their comments are asked."""

    COMMENT = 1


def store(svc: Services) -> RenovationStore:
    """The renovations of the deployment."""
    return RenovationStore(svc.db)


# --- cards and keyboards -----------------------------------------------------------------------


def doc_name(locale: str, doc: Doc) -> str:
    """A document as people call it."""
    return t(locale, f"renovation.doc.{doc.value}")


def card(locale: str, ren: Renovation, owner: Person | None) -> str:
    """A renovation's card: its number, unit, state, the form, the documents' checklist.
    No rule ids (owners read it too)."""
    form = ren.form
    scope = t(locale, "renovation.list_separator").join(
        t(locale, f"renovation.scope.{s}") for s in form.scope
    )
    lines = [
        t(locale, "renovation.card.title", number=ren.number, unit=ren.unit_label),
        t(locale, "renovation.card.status", status=t(locale, f"renovation.status.{ren.status}")),
        t(locale, "renovation.card.owner", name=owner.name if owner else "—"),
        t(
            locale,
            "renovation.card.period",
            start=form.period_from.isoformat(),
            end=form.period_to.isoformat(),
        ),
        t(
            locale,
            "renovation.card.contractor",
            contractor=form.contractor,
            head=form.head_name,
            phone=form.head_phone,
        ),
        t(locale, "renovation.card.scope", scope=scope),
    ]
    if form.filings:
        filings = t(locale, "renovation.list_separator").join(
            t(locale, f"renovation.scope.{s}") for s in form.filings
        )
        lines.append(t(locale, "renovation.card.filings", scope=filings))
        open_ = t(locale, "renovation.list_separator").join(
            t(locale, f"renovation.scope.{s}") for s in ren.open_filings
        )  # R-6: the authorities' receipts still missing
        key = "renovation.card.filings_open" if open_ else "renovation.card.filings_done"
        lines.append(t(locale, key, scope=open_))
    if ren.cases:  # R-19: the owner's requests during the works
        shown = t(locale, "renovation.list_separator").join(ren.cases)
        lines.append(t(locale, "renovation.card.cases", numbers=shown))
    valid, total = reno.progress(ren.documents)
    lines.append(t(locale, "renovation.card.documents", valid=valid, total=total))
    for doc in reno.required_of(ren.documents):
        lines.append(doc_line(locale, ren, doc))
    return "\n".join(lines)


def doc_line(locale: str, ren: Renovation, doc: Doc) -> str:
    """One line of the documents' checklist: icon, name, files, reason."""
    found = ren.documents.get(doc)
    state = found.state if found else DocState.MISSING
    line = f"{ICONS[state]} {doc_name(locale, doc)}"
    if found and found.files and state != DocState.INVALID:
        line += t(locale, "renovation.card.files", count=found.files)
    if state == DocState.INVALID and found and found.reason:
        line += t(
            locale, "renovation.card.reason", reason=t(locale, f"renovation.reason.{found.reason}")
        )
    return line


def one_button(
    states: Set[Status], label: str, prefix: str
) -> Callable[[str, Renovation, int | None], InlineKeyboardMarkup | None]:
    """A keyboard of one button (``label``'s text, data ``<prefix>:<renovation id>``),
    offered while the renovation is in one of ``states`` and gone once it moved on."""

    def make(locale: str, ren: Renovation, _arg: int | None) -> InlineKeyboardMarkup | None:
        if ren.status not in states:
            return None
        return keyboard([[button(t(locale, label), f"{prefix}:{ren.id}")]])

    return make


def arg_buttons(
    rows: Sequence[Sequence[tuple[str, str]]],
) -> Callable[[str, Renovation, int | None], InlineKeyboardMarkup | None]:
    """A keyboard about the item a message names (a notice, an extension, a permit: the
    ``arg`` the Notifier passes), each button a (label's text key, data) pair whose data
    carries the item as ``{}`` (``"ren:npa:{}"``); none for a message naming no item."""

    def make(locale: str, _ren: Renovation, arg: int | None) -> InlineKeyboardMarkup | None:
        if arg is None:
            return None
        return keyboard(
            [[button(t(locale, label), data.format(arg)) for label, data in row] for row in rows]
        )

    return make


def review_keyboard(locale: str, ren: Renovation, _arg: int | None) -> InlineKeyboardMarkup | None:
    """Customer service's: a 🔍 per document (its files, then valid / invalid), and, while
    the owner did not add it, the button that requires the design qualification (R-3:
    commercial or key premises)."""
    if ren.status != Status.SUBMITTED:
        return None
    buttons = []
    for doc in reno.required_of(ren.documents):
        found = ren.documents.get(doc)
        icon = ICONS[found.state if found else DocState.MISSING]
        data = f"ren:doc:{ren.id}:{reno.doc_index(doc)}"
        buttons.append(button(f"{icon} {doc_name(locale, doc)}", data))
    rows = in_rows(buttons, 2)
    if Doc.DESIGN_QUALIFICATION not in ren.documents:
        rows.append([button(t(locale, "renovation.btn_need_design"), f"ren:dq:{ren.id}")])
    return keyboard(rows)


def decide_keyboard(locale: str, ren: Renovation, _arg: int | None) -> InlineKeyboardMarkup | None:
    """The heads': approve, reject, and the documents (R-4)."""
    if ren.status != Status.COMPLETE:
        return None
    return keyboard(
        [
            [
                button(t(locale, "renovation.btn_approve"), f"ren:ap:{ren.id}"),
                button(t(locale, "renovation.btn_reject"), f"ren:rj:{ren.id}"),
            ],
            [button(t(locale, "renovation.btn_documents"), f"ren:all:{ren.id}")],
        ]
    )


#: The owner's: accept the approval's terms (R-7).
terms_keyboard = one_button(frozenset({Status.APPROVED}), "renovation.btn_terms", "ren:terms")


def fix_keyboard(locale: str, ren: Renovation, arg: int | None) -> InlineKeyboardMarkup | None:
    """The owner's: send a refused document again."""
    doc = reno.doc_at(arg)
    if ren.status != Status.SUBMITTED or doc is None:
        return None
    label = t(locale, "renovation.btn_fix", doc=doc_name(locale, doc))
    return keyboard([[button(label, f"ren:fix:{ren.id}:{arg}")]])


def agree_keyboard(locale: str, ren: Renovation, _arg: int | None) -> InlineKeyboardMarkup | None:
    """The owner's, once the terms are accepted: read and sign the agreement, or delegate
    the signature to the contractor's head (R-8)."""
    if ren.status != Status.TERMS_ACCEPTED:
        return None
    return keyboard(
        [
            [button(t(locale, "renovation.btn_read_agreement"), f"ren:rules:{ren.id}")],
            [button(t(locale, "renovation.btn_delegate"), f"ren:dlg:{ren.id}")],
        ]
    )


#: The cashier's, once the agreement is signed: compute and collect the fees (R-10).
fees_keyboard = one_button(
    frozenset({Status.AGREEMENT_SIGNED}), "renovation.btn_collect", "ren:fee"
)


#: Customer service's, once the fees are paid: issue the works permit (R-11).
permit_keyboard = one_button(frozenset({Status.FEES_PAID}), "renovation.btn_permit", "ren:permit")


#: The owner's (and the contractor head's), while works may go on: register a worker for a
#: pass (R-11).
workers_keyboard = one_button(reno.WORKS_ALLOWED, "renovation.btn_add_worker", "ren:wk")


#: Customer service's, once the permit is issued: the entry inspection (R-12,
#: handlers.renovation_entry), then the works and the daily patrols (R-13, R-14).
works_keyboard = one_button(frozenset({Status.PERMITTED}), "renovation_entry.btn_open", "ren:ent")


#: The owner's, on a rectification notice: their understanding, their signature (R-15).
notice_owner_keyboard = arg_buttons(
    [
        [("renovation.notice.btn_ack", "ren:nack:{}")],
        [("renovation_entry.btn_sign", "ren:nsg:{}")],
    ]
)


#: Customer service's, on a rectification notice: the owner's call recorded, the
#: contractor's head told (only after the owner, R-15), the re-inspection, a refusal to sign.
notice_staff_keyboard = arg_buttons(
    [
        [("renovation.notice.btn_call", "ren:ncall:{}")],
        [("renovation.notice.btn_contractor", "ren:nctr:{}")],
        [("renovation.notice.btn_reinspect", "ren:nok:{}")],
        [
            ("renovation_entry.btn_refuse_owner", "ren:nrf:{}:0"),
            ("renovation_entry.btn_refuse_contractor", "ren:nrf:{}:1"),
        ],
    ]
)


#: The project manager's: approve the penalty written on a notice, or not (R-16).
notice_pm_keyboard = arg_buttons(
    [
        [
            ("renovation.notice.btn_approve", "ren:npa:{}"),
            ("renovation.notice.btn_refuse", "ren:npr:{}"),
        ]
    ]
)


KEYBOARDS = {
    "ren_review": review_keyboard,
    "ren_decide": decide_keyboard,
    "ren_terms": terms_keyboard,
    "ren_fix": fix_keyboard,
    "ren_agree": agree_keyboard,
    "ren_fees": fees_keyboard,
    "ren_permit": permit_keyboard,
    "ren_workers": workers_keyboard,
    "ren_works": works_keyboard,
    "ren_notice_owner": notice_owner_keyboard,
    "ren_notice_staff": notice_staff_keyboard,
    "ren_notice_pm": notice_pm_keyboard,
}


# --- notices ----------------------------------------------------------------------------------


class Notifier:
    """Renders a renovation decision's tells per reader (``storage.renovation.Render``):
    the owner, a department's group (or its members privately when it has none), people of
    some roles, whom a rule names; an album of the documents before a card that asks for
    them (``Tell.photos``: engineering's file, R-5)."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc

    async def __call__(self, ren: Renovation, tells: Sequence[Tell]) -> list[Notice]:
        identity = self.svc.identity
        owner = await identity.person(ren.owner_id)
        notices: list[Notice] = []
        for tell in tells:
            found = await self._one(ren, tell, owner)
            if tell.photos:
                shown = tuple(
                    f.display_sha256
                    for f in await store(self.svc).files(ren.id)
                    if f.display_sha256
                )
                if shown:
                    notices += [self._album(n, ren, shown) for n in found]
            if tell.album:  # photos taken on site (a violation's): before the text
                notices += [self._site_photos(n, ren, tell.album) for n in found]
            notices += found
        return notices

    def _album(self, notice: Notice, ren: Renovation, shown: tuple[str, ...]) -> Notice:
        locale = notice.locale or self.svc.settings.locale
        caption = t(locale, "renovation.album", number=ren.number, count=len(shown))
        return Notice(notice.chat_id, caption, None, notice.person_id, album=shown, locale=locale)

    def _site_photos(self, notice: Notice, ren: Renovation, shown: tuple[str, ...]) -> Notice:
        locale = notice.locale or self.svc.settings.locale
        caption = t(locale, "renovation.site_photos", number=ren.number, unit=ren.unit_label)
        return Notice(notice.chat_id, caption, None, notice.person_id, album=shown, locale=locale)

    async def text(self, locale: str, ren: Renovation, tell: Tell, owner: Person | None) -> str:
        """A tell's text in ``locale``, with the card when its style says so."""
        rules = await self.svc.rules(ren.estate_id)
        params = {k: self._param(locale, v, rules) for k, v in tell.params.items()}
        head = t(locale, tell.key, number=ren.number, unit=ren.unit_label, **params)
        if tell.late:
            head += t(locale, "deadline.late")
        if tell.style != Style.PLAIN:
            head += "\n\n" + card(locale, ren, owner)
            signed = await signatures.lines(self.svc, locale, ren.id)  # R-4, delegates named
            if signed:
                head += "\n" + "\n".join(signed)
        return head

    @staticmethod
    def _param(locale: str, value: object, rules: Any) -> object:
        if isinstance(value, Text):
            return (
                t(locale, value.key) if has(value.key) or value.fallback is None else value.fallback
            )
        if isinstance(value, Title):
            return limits.title(locale, rules, value.rule) or value.rule
        if isinstance(value, tuple):
            parts = [str(Notifier._param(locale, v, rules)) for v in value]
            return t(locale, "renovation.list_separator").join(parts) or "—"
        if isinstance(value, str):  # people's words (a violation's line, a reason): as text
            return escape(value, quote=False)
        return value

    async def _to(
        self, person: Person, ren: Renovation, tell: Tell, owner: Person | None
    ) -> Notice:
        locale = person_locale(person, self.svc.settings.locale)
        markup = self._markup(locale, ren, tell)
        text = await self.text(locale, ren, tell, owner)
        return Notice(person.tg_user_id, text, markup, person.id, locale=locale)

    @staticmethod
    def _markup(locale: str, ren: Renovation, tell: Tell) -> dict[str, object] | None:
        if tell.buttons is None:
            return None
        built = KEYBOARDS[tell.buttons](locale, ren, tell.button_arg)
        return built.to_dict() if built is not None else None

    async def _people(self, estate_id: int, roles: Iterable[str]) -> list[Person]:
        found: dict[int, Person] = {}
        for role in sorted(set(roles)):
            for person in await self.svc.identity.people_with_role(estate_id, role):
                found.setdefault(person.id, person)
        return list(found.values())

    async def _one(self, ren: Renovation, tell: Tell, owner: Person | None) -> list[Notice]:
        audience = tell.to
        if isinstance(audience, Resident):
            return [await self._to(owner, ren, tell, owner)] if owner is not None else []
        if isinstance(audience, Department):
            return await self._department(ren, audience.name, tell, owner)
        if isinstance(audience, Roles):
            people = await self._people(ren.estate_id, audience.roles)
            if isinstance(audience, reno.WithDelegates):  # R-4: and the delegates in force
                today = await today_of(self.svc, ren.estate_id)
                seen = {p.id for p in people}
                for extra in await signatures.delegates(
                    self.svc, ren.estate_id, audience.roles, today
                ):
                    if extra.id not in seen:
                        people.append(extra)
            return [await self._to(p, ren, tell, owner) for p in people]
        if isinstance(audience, Targets):
            where = route(audience.names, None)
            notices: list[Notice] = []
            for name in where.departments:
                notices += await self._department(ren, name, tell, owner)
            for p in await self._people(ren.estate_id, where.roles):
                notices.append(await self._to(p, ren, tell, owner))
            once: dict[int, Notice] = {}
            for notice in notices:
                once.setdefault(notice.chat_id, notice)
            return list(once.values())
        return []

    async def _department(
        self, ren: Renovation, name: str, tell: Tell, owner: Person | None
    ) -> list[Notice]:
        chat = await self.svc.identity.department(ren.estate_id, name)
        if chat is not None and chat.chat_id is not None:
            locale = self.svc.settings.locale
            text = await self.text(locale, ren, tell, owner)
            return [
                Notice(chat.chat_id, text, self._markup(locale, ren, tell), None, locale=locale)
            ]
        roles = {r.value for r, d in ROLE_DEPARTMENT.items() if d.value == name}
        people = await self._people(ren.estate_id, roles | {Role.ADMIN.value})
        return [await self._to(p, ren, tell, owner) for p in people]


async def run(
    svc: Services,
    actor: Actor | None,
    renovation_id: int,
    decide: Any,
) -> Renovation | None:
    """Read, decide (``decide(ren, signatures)``, which may raise Refusal) and apply in one
    unit of work; then wake the outbox."""
    after = await store(svc).step(
        renovation_id,
        decide,
        by=actor.person.id if actor else None,
        actor=f"person:{actor.person.id}" if actor else "system",
        render=Notifier(svc),
    )
    await svc.deliver()
    return after


def refusal_text(actor: Actor, refusal: Refusal) -> str:
    """Why a step cannot be taken now, in the person's words."""
    key = f"renovation.refused.{refusal.code}"
    return actor.t(key) if has(key) else actor.t("common.stale_button")


# --- the owner's application (R-1..R-3) -------------------------------------------------------


async def owned_units(svc: Services, actor: Actor) -> list[Any]:
    """The units this person is bound to as an owner."""
    units = await svc.identity.units_of(actor.person.id)
    return [u for u in units if Role.OWNER.value in actor.roles_in(u.estate_id)]


async def today_of(svc: Services, estate_id: int) -> date:
    """The estate's date today."""
    rules = await svc.rules(estate_id)
    return rules.calendar.local(svc.clock.now()).date()


async def start(update: Update, context: Context) -> int:
    """``/renovate``: the guide and checklist (R-1), then the unit, or straight on."""
    actor = await who(update, context)
    if actor is None or context.user_data is None:
        return ConversationHandler.END
    context.user_data.pop(KEY, None)
    svc = services(context)
    units = await owned_units(svc, actor)
    if not units:
        await reply(update, context, actor.t("renovation.owners_only"))
        return ConversationHandler.END
    checklist = "\n".join(f"• {doc_name(actor.locale, d)}" for d in REQUIRED)
    checklist += "\n" + actor.t("renovation.guide_conditional")  # R-2, R-3: when needed
    await reply(update, context, actor.t("renovation.guide", checklist=checklist))
    context.user_data[KEY] = {"key": f"renovation:{actor.person.id}:{update.update_id}"}
    if len(units) == 1:
        return await chose_unit(update, context, actor, units[0].id)
    buttons = [button(f"{u.estate_name} {u.label}", f"ren:unit:{u.id}") for u in units]
    await reply(update, context, actor.t("renovation.ask_unit"), keyboard(in_rows(buttons, 2)))
    return Step.UNIT


async def got_unit(update: Update, context: Context) -> int:
    """A unit button: one of the person's own units."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return ConversationHandler.END
    await query.answer()
    unit_id = parse_id((query.data or "").rsplit(":", 1)[-1])
    if KEY not in (context.user_data or {}) or unit_id is None:
        await edit(query.message, actor.t("common.stale_button"))
        return ConversationHandler.END
    await keep_answered(query)
    return await chose_unit(update, context, actor, unit_id)


async def chose_unit(update: Update, context: Context, actor: Actor, unit_id: int) -> int:
    """R-1: one open renovation per unit: refuse a second; carry on the owner's own draft."""
    svc = services(context)
    units = {u.id: u for u in await owned_units(svc, actor)}
    if unit_id not in units:
        await reply(update, context, actor.t("common.stale_button"))
        return ConversationHandler.END
    draft = draft_of(context, KEY)
    try:
        going = reno.may_apply(await store(svc).open_for_unit(unit_id), actor.person.id)
    except Refusal:
        found = await store(svc).open_for_unit(unit_id)
        assert found is not None
        status = actor.t(f"renovation.status.{found.status}")
        await reply(
            update,
            context,
            actor.t(
                "renovation.already_open", number=found.number, unit=found.unit_label, status=status
            ),
        )
        context.user_data.pop(KEY, None) if context.user_data is not None else None
        return ConversationHandler.END
    if going is not None:  # the owner's own draft: on to its documents
        draft["id"] = going.id
        await reply(update, context, actor.t("renovation.draft_resumed", number=going.number))
        return await ask_docs(update, context, actor)
    draft["unit_id"] = unit_id
    draft["estate_id"] = units[unit_id].estate_id
    draft["unit_label"] = units[unit_id].label
    return await ask(update, context, actor, Step.FROM)


async def ask(update: Update, context: Context, actor: Actor, step: Step, hint: str = "") -> int:
    """Ask the question of ``step`` (after ``hint`` when bad input came)."""
    draft = draft_of(context, KEY)
    markup: InlineKeyboardMarkup | None = None
    if step == Step.FROM:
        text = actor.t("renovation.ask_from", unit=draft.get("unit_label", ""))
    elif step == Step.TO:
        text = actor.t("renovation.ask_to", start=draft.get("from", ""))
    elif step == Step.CONTRACTOR:
        text = actor.t("renovation.ask_contractor")
    elif step == Step.HEAD:
        text = actor.t("renovation.ask_head")
    elif step == Step.PHONE:
        text = actor.t("renovation.ask_phone")
    elif step == Step.SCOPE:
        text = actor.t("renovation.ask_scope")
        markup = scope_keyboard(actor, draft.get("scope", []))
    elif step == Step.COMMIT:
        form = form_of(draft)
        scope = actor.t("renovation.list_separator").join(
            actor.t(f"renovation.scope.{s}") for s in form.scope
        )
        text = actor.t(
            "renovation.commitment",
            unit=draft.get("unit_label", ""),
            start=form.period_from.isoformat(),
            end=form.period_to.isoformat(),
            contractor=form.contractor,
            head=form.head_name,
            phone=form.head_phone,
            scope=scope,
        )
        markup = keyboard([[button(actor.t("renovation.btn_commit"), "ren:commit")]])
    else:
        return await ask_docs(update, context, actor, hint)
    await reply(update, context, with_hint(actor, hint, text, markup), markup)
    return step


def scope_keyboard(actor: Actor, ticked: list[str]) -> InlineKeyboardMarkup:
    """The scope ticks, each toggled by a press, and "done"."""
    buttons = [
        button(("☑️ " if s in ticked else "⬜ ") + actor.t(f"renovation.scope.{s}"), f"ren:sc:{s}")
        for s in SCOPES
    ]
    rows = in_rows(buttons, 2)
    rows.append([button(actor.t("renovation.btn_scope_done"), "ren:sc:done")])
    return keyboard(rows)


def form_of(draft: dict[str, Any]) -> Form:
    """The form as typed so far (every field there by the commitment step)."""
    return Form(
        date.fromisoformat(draft["from"]),
        date.fromisoformat(draft["to"]),
        draft["contractor"],
        draft["head"],
        draft["phone"],
        tuple(s for s in SCOPES if s in draft.get("scope", [])),
    )


async def got_from(update: Update, context: Context) -> int:
    """The first day of works: a date, not before today."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None or KEY not in (context.user_data or {}):
        return ConversationHandler.END
    draft = draft_of(context, KEY)
    today = await today_of(services(context), int(draft["estate_id"]))
    found = reno.parse_date(message.text or "", today)
    if found is None:
        return await ask(update, context, actor, Step.FROM, actor.t("renovation.date_hint"))
    problem = reno.period_problem(found, None, today)
    if problem is not None:
        return await ask(update, context, actor, Step.FROM, actor.t(f"renovation.{problem}"))
    draft["from"] = found.isoformat()
    return await ask(update, context, actor, Step.TO)


async def got_to(update: Update, context: Context) -> int:
    """The last day of works: not before the first, at most six months on."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None or KEY not in (context.user_data or {}):
        return ConversationHandler.END
    draft = draft_of(context, KEY)
    today = await today_of(services(context), int(draft["estate_id"]))
    found = reno.parse_date(message.text or "", today)
    if found is None:
        return await ask(update, context, actor, Step.TO, actor.t("renovation.date_hint"))
    problem = reno.period_problem(date.fromisoformat(draft["from"]), found, today)
    if problem is not None:
        return await ask(update, context, actor, Step.TO, actor.t(f"renovation.{problem}"))
    draft["to"] = found.isoformat()
    return await ask(update, context, actor, Step.CONTRACTOR)


def name_step(field: str, step: Step, after: Step) -> Any:
    """A step that takes a name (the contractor's, its head's)."""

    async def got(update: Update, context: Context) -> int:
        actor = await who(update, context)
        message = update.effective_message
        if actor is None or message is None or KEY not in (context.user_data or {}):
            return ConversationHandler.END
        name = reno.clean_name(message.text or "")
        if name is None:
            hint = actor.t("renovation.name_hint", limit=reno.MAX_NAME)
            return await ask(update, context, actor, step, hint)
        draft_of(context, KEY)[field] = name
        return await ask(update, context, actor, after)

    got.__doc__ = f"The {field}'s name; then the next question."
    return got


async def got_phone(update: Update, context: Context) -> int:
    """The contractor head's phone: a mobile or a landline."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None or KEY not in (context.user_data or {}):
        return ConversationHandler.END
    phone = reno.clean_phone(message.text or "")
    if phone is None:
        return await ask(update, context, actor, Step.PHONE, actor.t("renovation.phone_hint"))
    draft_of(context, KEY)["phone"] = phone
    return await ask(update, context, actor, Step.SCOPE)


async def got_scope(update: Update, context: Context) -> int:
    """A scope tick toggled, or "done" (at least one tick)."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return ConversationHandler.END
    draft = draft_of(context, KEY)
    if KEY not in (context.user_data or {}):
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return ConversationHandler.END
    chosen = (query.data or "").rsplit(":", 1)[-1]
    ticked: list[str] = list(draft.get("scope", []))
    if chosen == "done":
        if not ticked:
            await query.answer(actor.t("renovation.scope_hint"), show_alert=True)
            return Step.SCOPE
        await query.answer()
        await keep_answered(query)
        return await ask(update, context, actor, Step.COMMIT)
    if chosen not in SCOPES:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return Step.SCOPE
    ticked = [s for s in ticked if s != chosen] if chosen in ticked else [*ticked, chosen]
    draft["scope"] = ticked
    await query.answer()
    await edit(query.message, actor.t("renovation.ask_scope"), scope_keyboard(actor, ticked))
    return Step.SCOPE


async def got_commitment(update: Update, context: Context) -> int:
    """R-2: the commitment letter confirmed by the owner's own account: the draft is made
    (one per unit: a unit taken meanwhile is refused)."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return ConversationHandler.END
    await query.answer()
    draft = draft_of(context, KEY)
    svc = services(context)
    units = {u.id: u for u in await owned_units(svc, actor)}
    unit_id = int(draft.get("unit_id", 0))
    if unit_id not in units or "phone" not in draft:
        await edit(query.message, actor.t("common.stale_button"))
        return ConversationHandler.END
    await keep_answered(query)
    new = NewRenovation(
        int(draft["estate_id"]),
        unit_id,
        units[unit_id].label,
        actor.person.id,
        form_of(draft),
        draft.get("key"),
    )
    rules = await svc.rules(new.estate_id)
    try:
        made = await store(svc).draft(
            new,
            rules.calendar.local(svc.clock.now()),
            by=actor.person.id,
            actor=f"person:{actor.person.id}",
        )
    except Refusal:
        await reply(update, context, actor.t("renovation.refused.already_open"))
        if context.user_data is not None:
            context.user_data.pop(KEY, None)
        return ConversationHandler.END
    draft["id"] = made.id
    await reply(update, context, actor.t("renovation.drafted", number=made.number))
    return await ask_docs(update, context, actor)


async def current(context: Context, svc: Services) -> Renovation | None:
    """The renovation the draft is about."""
    draft = draft_of(context, KEY)
    ren_id = draft.get("id")
    return await store(svc).get(int(ren_id)) if isinstance(ren_id, int) else None


def current_doc(draft: dict[str, Any], ren: Renovation) -> Doc:
    """The document files go to now: the one picked, else the first still to send."""
    picked = draft.get("doc")
    needed = reno.required_of(ren.documents)
    if isinstance(picked, str) and picked in Doc._value2member_map_ and Doc(picked) in needed:
        return Doc(picked)
    left = reno.missing(ren.documents)
    return left[0] if left else REQUIRED[0]


async def docs_closed(update: Update, context: Context, actor: Actor) -> bool:
    """Whether the owner's document step is over (the application was checked and moved on
    while a re-upload was left open without "完成"): then the form is dropped and the owner
    told to send again what they meant for another question (which was still waiting)."""
    ren = await current(context, services(context))
    if ren is None or ren.status in (Status.DRAFT, Status.SUBMITTED):
        return False
    if context.user_data is not None:
        context.user_data.pop(KEY, None)
    await reply(update, context, actor.t("renovation_walk.docs_closed", number=ren.number))
    return True


async def ask_docs(update: Update, context: Context, actor: Actor, hint: str = "") -> int:
    """The documents' checklist, the one to send now, and the buttons: pick a document,
    submit (once each has a file), withdraw; after submission only the refused ones."""
    svc = services(context)
    ren = await current(context, svc)
    if ren is None:
        await reply(update, context, actor.t("common.stale_button"))
        return ConversationHandler.END
    draft = draft_of(context, KEY)
    doc = current_doc(draft, ren)
    needed = reno.required_of(ren.documents)
    lines = "\n".join(doc_line(actor.locale, ren, d) for d in needed)
    if ren.status == Status.DRAFT:
        every_one_sent = "doc" not in draft and not reno.missing(ren.documents)
        text = actor.t(
            "renovation_walk.ask_docs_all_sent" if every_one_sent else "renovation.ask_docs",
            number=ren.number,
            checklist=lines,
            doc=doc_name(actor.locale, doc),
        )
        buttons = [
            button(
                f"{ICONS[ren.documents[d].state if d in ren.documents else DocState.MISSING]}"
                f" {doc_name(actor.locale, d)}",
                f"ren:pick:{reno.doc_index(d)}",
            )
            for d in needed
        ]
        rows = in_rows(buttons, 2)
        for extra in reno.CONDITIONAL:  # R-2, R-3: a tap adds it, a second takes it off
            tick = "☑️ " if extra in ren.documents else "⬜ "
            label = tick + actor.t(f"renovation.btn_need.{extra.value}")
            rows.append([button(label, f"ren:need:{reno.doc_index(extra)}")])
        rows.append([button(actor.t("renovation.btn_submit"), "ren:submit")])
        rows.append([button(actor.t("renovation.btn_withdraw"), "ren:withdraw")])
    else:
        text = actor.t(
            "renovation.ask_fix",
            number=ren.number,
            checklist=lines,
            doc=doc_name(actor.locale, doc),
        )
        rows = [[button(actor.t("renovation.btn_fix_done"), "ren:done")]]
    markup = keyboard(rows)
    await reply(update, context, with_hint(actor, hint, text, markup), markup)
    return Step.DOCS


async def got_pick(update: Update, context: Context) -> int:
    """A document picked: the next files go to it."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return ConversationHandler.END
    await query.answer()
    doc = reno.doc_at(parse_id((query.data or "").rsplit(":", 1)[-1]))
    ren = await current(context, services(context)) if KEY in (context.user_data or {}) else None
    if ren is None or doc is None or doc not in reno.required_of(ren.documents):
        await edit(query.message, actor.t("common.stale_button"))
        return ConversationHandler.END
    draft_of(context, KEY)["doc"] = doc.value
    await edit(query.message, actor.t("renovation.doc_picked", doc=doc_name(actor.locale, doc)))
    return Step.DOCS


async def got_need(update: Update, context: Context) -> int:
    """R-2, R-3: "由代理人办理（需委托书）" or "商铺或重点部位（需设计资质）" ticked: that
    document joins the list (the next files go to it); ticked again while nothing was sent
    for it, it leaves the list."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return ConversationHandler.END
    doc = reno.doc_at(parse_id((query.data or "").rsplit(":", 1)[-1]))
    ren_id = draft_of(context, KEY).get("id") if KEY in (context.user_data or {}) else None
    if doc is None or not isinstance(ren_id, int):
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return ConversationHandler.END

    def toggle(ren: Renovation, _signed: object) -> RenovationDecision:
        return reno.conditional_toggled(ren, doc, ren.owner_id == actor.person.id)

    try:
        after = await run(services(context), actor, ren_id, toggle)
    except Refusal as refusal:
        await query.answer(refusal_text(actor, refusal), show_alert=True)
        return Step.DOCS
    if after is None:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return ConversationHandler.END
    await query.answer()
    await keep_answered(query)
    draft = draft_of(context, KEY)
    if doc in after.documents:
        draft["doc"] = doc.value  # the next files go to it
    elif draft.get("doc") == doc.value:
        draft.pop("doc", None)
    return await ask_docs(update, context, actor)


async def got_file(update: Update, context: Context) -> int:
    """R-3: a photo or an image file for the current document: kept as evidence (original
    by SHA-256, a watermarked display copy), counted on the checklist."""
    actor = await who(update, context)
    if actor is None or KEY not in (context.user_data or {}):
        return ConversationHandler.END
    if await docs_closed(update, context, actor):
        return ConversationHandler.END
    svc = services(context)
    ren = await current(context, svc)
    if ren is None:
        await reply(update, context, actor.t("common.stale_button"))
        return ConversationHandler.END
    received = await photos.take_in(update, context, actor)
    if received is None:
        return Step.DOCS  # refused with its reason (or nothing kept): still this step
    draft = draft_of(context, KEY)
    doc = current_doc(draft, ren)
    rules = await svc.rules(ren.estate_id)
    at = rules.calendar.local(svc.clock.now()).strftime("%Y-%m-%d %H:%M")
    font = str(svc.settings.chart_font) if svc.settings.chart_font else None
    shown = await evidence.render(
        svc.evidence,
        svc.db,
        received.sha256,
        label_lines=[ren.number, doc_name(svc.settings.locale, doc), at, actor.person.name],
        font_path=font,
    )
    sent = DocFile(doc, 0, received.sha256, shown.sha256, received.file_id)
    try:
        after = await store(svc).add_file(
            ren.id,
            doc,
            sent,
            lambda r: reno.file_added(r, doc, r.owner_id == actor.person.id),
            by=actor.person.id,
            actor=f"person:{actor.person.id}",
            render=Notifier(svc),
        )
    except Refusal as refusal:
        await reply(update, context, refusal_text(actor, refusal))
        return Step.DOCS
    await svc.deliver()
    if after is None:
        return ConversationHandler.END
    count = after.documents[doc].files if doc in after.documents else 1
    done = None  # fixing a refused document: "done" when it is all sent
    if after.status != Status.DRAFT:
        done = keyboard([[button(actor.t("renovation.btn_fix_done"), "ren:done")]])
    kept = actor.t("renovation.file_kept", doc=doc_name(actor.locale, doc), count=count)
    await reply(update, context, kept, done)
    if after.status == Status.DRAFT and after.documents[doc].files == 1:
        draft.pop("doc", None)  # the next files go to the next document still to send
        return await ask_docs(update, context, actor)
    return Step.DOCS


async def got_submit(update: Update, context: Context) -> int:
    """R-1..R-3: the application goes to customer service (every document has a file)."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return ConversationHandler.END
    draft = draft_of(context, KEY)
    svc = services(context)
    ren_id = draft.get("id")
    if not isinstance(ren_id, int):
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return ConversationHandler.END
    try:
        after = await run(svc, actor, ren_id, lambda r, _s: _owners(r, actor, reno.submitted))
    except Refusal as refusal:
        await query.answer(refusal_text(actor, refusal), show_alert=True)
        return Step.DOCS
    await query.answer()
    await keep_answered(query)
    if context.user_data is not None:
        context.user_data.pop(KEY, None)
    if after is None:
        await reply(update, context, actor.t("common.stale_button"))
    elif after.form.filings:  # R-6: the authorities' guides, one per filing
        from handlers.renovation_filings import send_guides

        await send_guides(svc, after)
    return ConversationHandler.END


def _owners(ren: Renovation, actor: Actor, decide: Any) -> RenovationDecision:
    """An owner's step on their own renovation only."""
    if ren.owner_id != actor.person.id:
        raise Refusal("not_owner")
    decision: RenovationDecision = decide(ren)
    return decision


async def got_withdraw(update: Update, context: Context) -> int:
    """The owner withdraws the draft: closed, the unit is free again."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return ConversationHandler.END
    ren_id = draft_of(context, KEY).get("id")
    if not isinstance(ren_id, int):
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return ConversationHandler.END
    try:
        await run(services(context), actor, ren_id, lambda r, _s: _owners(r, actor, reno.withdrawn))
    except (Refusal, reno.InvalidMove):
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return ConversationHandler.END
    await query.answer()
    await keep_answered(query)
    if context.user_data is not None:
        context.user_data.pop(KEY, None)
    return ConversationHandler.END


async def got_fix_done(update: Update, context: Context) -> int:
    """The owner is done sending a refused document again: customer service checks it
    again — unless the application has moved on meanwhile (a stale 完成: nothing to say
    about a check that is over)."""
    query = update.callback_query
    actor = await who(update, context)
    if query is not None:
        await query.answer()
        await keep_answered(query)
    fixing = context.user_data.pop(KEY, None) if context.user_data is not None else None
    if actor is None:
        return ConversationHandler.END
    ren_id = fixing.get("id") if isinstance(fixing, dict) else None
    ren = await store(services(context)).get(ren_id) if isinstance(ren_id, int) else None
    checking = ren is not None and ren.status == Status.SUBMITTED
    await reply(
        update, context, actor.t("renovation.fix_done" if checking else "common.stale_button")
    )
    return ConversationHandler.END


async def on_fix(update: Update, context: Context) -> int:
    """``ren:fix:<id>:<doc>``: the owner sends a refused document again (R-3)."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None or context.user_data is None:
        return ConversationHandler.END
    parts = (query.data or "").split(":")
    ren_id = parse_id(parts[2]) if len(parts) == 4 else None
    index = parse_id(parts[3]) if len(parts) == 4 else None
    svc = services(context)
    ren = await store(svc).get(ren_id) if ren_id is not None else None
    doc = reno.doc_at(index)
    if (
        ren is None
        or doc is None
        or doc not in reno.required_of(ren.documents)
        or ren.owner_id != actor.person.id
    ):
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return ConversationHandler.END
    state = ren.documents[doc].state if doc in ren.documents else DocState.MISSING
    if ren.status != Status.SUBMITTED or state == DocState.VALID:
        await query.answer(actor.t("renovation.refused.not_editable"), show_alert=True)
        return ConversationHandler.END
    await query.answer()
    context.user_data[KEY] = {"id": ren.id, "doc": doc.value}
    return await ask_docs(update, context, actor)


def expected(step: Step, hint_key: str) -> Any:
    """Anything else at ``step``: a polite hint and the same question again."""

    async def got_other(update: Update, context: Context) -> int:
        actor = await who(update, context)
        if actor is None:
            return int(step)
        if KEY not in (context.user_data or {}):
            await reply(update, context, actor.t("common.stale_button"))
            return ConversationHandler.END
        if step == Step.DOCS and await docs_closed(update, context, actor):
            return ConversationHandler.END
        hint = hint_key if hint_key == TAP_HINT else actor.t(hint_key)
        return await ask(update, context, actor, step, hint)

    got_other.__doc__ = f"Bad input while the {step.name.lower()} is expected: ask again."
    return got_other


#: /cancel: the chat form is dropped (a draft already made stays, /renovate carries on).
cancel = canceller(KEY, "renovation.cancelled")


def conversation() -> ConversationHandler[Context]:
    """The owner's application (R-1..R-3), persistent."""
    S = Step
    names = {
        S.CONTRACTOR: name_step("contractor", S.CONTRACTOR, S.HEAD),
        S.HEAD: name_step("head", S.HEAD, S.PHONE),
    }
    return persistent_flow(
        entry_points=[
            CommandHandler("renovate", start, filters.ChatType.PRIVATE),
            CallbackQueryHandler(on_fix, pattern=r"^ren:fix:"),
        ],
        states={
            S.UNIT: [
                CallbackQueryHandler(got_unit, pattern=r"^ren:unit:"),
                MessageHandler(OTHER, expected(S.UNIT, TAP_HINT)),
            ],
            S.FROM: [
                MessageHandler(TEXT, got_from),
                MessageHandler(OTHER, expected(S.FROM, "renovation.date_hint")),
            ],
            S.TO: [
                MessageHandler(TEXT, got_to),
                MessageHandler(OTHER, expected(S.TO, "renovation.date_hint")),
            ],
            S.CONTRACTOR: [
                MessageHandler(TEXT, names[S.CONTRACTOR]),
                MessageHandler(OTHER, expected(S.CONTRACTOR, "renovation.text_please")),
            ],
            S.HEAD: [
                MessageHandler(TEXT, names[S.HEAD]),
                MessageHandler(OTHER, expected(S.HEAD, "renovation.text_please")),
            ],
            S.PHONE: [
                MessageHandler(TEXT, got_phone),
                MessageHandler(OTHER, expected(S.PHONE, "renovation.phone_hint")),
            ],
            S.SCOPE: [
                CallbackQueryHandler(got_scope, pattern=r"^ren:sc:"),
                MessageHandler(OTHER, expected(S.SCOPE, TAP_HINT)),
            ],
            S.COMMIT: [
                CallbackQueryHandler(got_commitment, pattern=r"^ren:commit$"),
                MessageHandler(OTHER, expected(S.COMMIT, TAP_HINT)),
            ],
            S.DOCS: [
                MessageHandler(filters.PHOTO | filters.Document.ALL, got_file),
                CallbackQueryHandler(got_pick, pattern=r"^ren:pick:"),
                CallbackQueryHandler(got_need, pattern=r"^ren:need:"),
                CallbackQueryHandler(got_submit, pattern=r"^ren:submit$"),
                CallbackQueryHandler(got_withdraw, pattern=r"^ren:withdraw$"),
                CallbackQueryHandler(got_fix_done, pattern=r"^ren:done$"),
                MessageHandler(OTHER, expected(S.DOCS, "renovation.file_please")),
            ],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            CommandHandler("renovate", start, filters.ChatType.PRIVATE),
            CallbackQueryHandler(
                stale, pattern=r"^ren:(unit|sc|commit|pick|need|submit|withdraw|done):"
            ),
        ],
        name="renovations",
    )


# --- customer service checks the documents (R-3) ----------------------------------------------


def _ids(data: str | None, count: int) -> list[int] | None:
    """The ids after ``ren:<action>:`` in button data (``count`` of them), or None."""
    parts = (data or "").split(":")[2:]
    if len(parts) != count:
        return None
    found = [parse_id(p) for p in parts]
    return None if any(f is None for f in found) else [int(f) for f in found if f is not None]


async def pressed_renovation(
    update: Update,
    context: Context,
    act: Act | None = None,
    refused: str = "",
    *,
    more_data: bool = False,
) -> tuple[Actor, Renovation] | None:
    """The person pressing a button and the renovation its data names (``ren:<action>:
    <id>``; with ``more_data``, parts after the id are the caller's); an alert (and None)
    when it is gone, or, with ``act``, when the presser may not do that in its estate
    (``refused``: the alert's text key). Roles are read afresh at every press (``who``)."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return None
    data = ":".join((query.data or "").split(":")[:3]) if more_data else query.data
    ids = _ids(data, 1)
    ren = await store(services(context)).get(ids[0]) if ids else None
    if ren is None:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return None
    if act is not None and not may(act, actor.roles_in(ren.estate_id)):
        await query.answer(actor.t(refused), show_alert=True)
        return None
    return actor, ren


async def checker(update: Update, context: Context) -> tuple[Actor, Renovation, Doc] | None:
    """The customer-service member pressing a document's button, its renovation and
    document; an alert (and None) for anyone else or stale data."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return None
    ids = _ids(query.data, 2) if not (query.data or "").startswith("ren:why:") else None
    if (query.data or "").startswith("ren:why:"):
        ids = (_ids(query.data, 3) or [])[:2] or None
    svc = services(context)
    ren = await store(svc).get(ids[0]) if ids else None
    doc = reno.doc_at(ids[1]) if ids else None
    if ren is None or doc is None or doc not in reno.required_of(ren.documents):
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return None
    if not may(Act.CHECK_DOCUMENTS, actor.roles_in(ren.estate_id)):  # R-3: customer service
        await query.answer(actor.t("renovation.refused.not_checker"), show_alert=True)
        return None
    return actor, ren, doc


async def on_document(update: Update, context: Context) -> None:
    """``ren:doc:<id>:<doc>``: the document's page to this chat with its state and ✅ / ❌
    while it waits for a check (several pages: an album, then the state and buttons)."""
    found = await checker(update, context)
    query = update.callback_query
    if found is None or query is None or query.message is None:
        return
    actor, ren, doc = found
    svc = services(context)
    shown = [f.display_sha256 for f in await store(svc).files(ren.id, doc) if f.display_sha256]
    index = reno.doc_index(doc)
    state = ren.documents[doc].state if doc in ren.documents else DocState.MISSING
    text = actor.t(
        "renovation.check_doc",
        number=ren.number,
        unit=ren.unit_label,
        doc=doc_name(actor.locale, doc),
        count=len(shown),
        state=actor.t(f"renovation.doc_state.{state}"),
    )
    markup = None
    if ren.status == Status.SUBMITTED and state == DocState.PENDING:
        markup = keyboard(
            [
                [
                    button(actor.t("renovation.btn_valid"), f"ren:ok:{ren.id}:{index}"),
                    button(actor.t("renovation.btn_invalid"), f"ren:bad:{ren.id}:{index}"),
                ]
            ]
        )
    chat_id = query.message.chat.id
    private = query.message.chat.type == "private"
    # One page: one message, the photo with the check as its caption and ✅ / ❌ (the
    # verdict edits that caption). More: an album (it cannot carry buttons), then the check.
    # The group gets one message a page, not an album and a card: its 20 a minute.
    single = shown if len(shown) == 1 else None
    async with svc.db.write() as conn:
        if len(shown) > 1:
            await enqueue(
                conn,
                chat_id,
                actor.t(
                    "renovation.album_doc",
                    number=ren.number,
                    doc=doc_name(actor.locale, doc),
                    count=len(shown),
                ),
                subject=reno.subject(ren.id),
                album=shown,
                person_id=actor.person.id if private else None,
            )
        await enqueue(
            conn,
            chat_id,
            text,
            markup=markup.to_dict() if markup else None,
            subject=reno.subject(ren.id),
            album=single,
            person_id=actor.person.id if private else None,
        )
    await query.answer()
    await svc.deliver()


async def on_valid(update: Update, context: Context) -> None:
    """``ren:ok``: the document is valid (R-3); the last one completes the application."""
    await _check(update, context, True, None)


async def on_invalid(update: Update, context: Context) -> None:
    """``ren:bad``: the reasons to choose from."""
    found = await checker(update, context)
    query = update.callback_query
    if found is None or query is None:
        return
    actor, ren, doc = found
    index = reno.doc_index(doc)
    buttons = [
        button(actor.t(f"renovation.reason.{r}"), f"ren:why:{ren.id}:{index}:{i}")
        for i, r in enumerate(INVALID_REASONS)
    ]
    await query.answer()
    text = actor.t("renovation.ask_reason", doc=doc_name(actor.locale, doc), number=ren.number)
    await edit(query.message, text, keyboard(in_rows(buttons, 2)))


async def on_reason(update: Update, context: Context) -> None:
    """``ren:why:<id>:<doc>:<reason>``: invalid for that reason; the owner is told."""
    query = update.callback_query
    ids = _ids(query.data if query else None, 3)
    reason = INVALID_REASONS[ids[2]] if ids and ids[2] < len(INVALID_REASONS) else None
    await _check(update, context, False, reason)


async def _check(update: Update, context: Context, valid: bool, reason: str | None) -> None:
    found = await checker(update, context)
    query = update.callback_query
    if found is None or query is None:
        return
    actor, ren, doc = found
    svc = services(context)
    rules = await svc.rules(ren.estate_id)
    now = svc.clock.now()
    try:
        after = await run(
            svc, actor, ren.id, lambda r, _s: reno.checked(r, doc, valid, reason, rules, now)
        )
    except Refusal as refusal:
        await query.answer(refusal_text(actor, refusal), show_alert=True)
        return
    if after is None:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    await query.answer()
    said = (
        actor.t("renovation.checked_valid", doc=doc_name(actor.locale, doc), name=actor.person.name)
        if valid
        else actor.t(
            "renovation.checked_invalid",
            doc=doc_name(actor.locale, doc),
            name=actor.person.name,
            reason=actor.t(f"renovation.reason.{reason}"),
        )
    )
    valid_count, total = reno.progress(after.documents)
    said += "\n" + actor.t("renovation.card.documents", valid=valid_count, total=total)
    await edit(query.message, f"{escape(ren.number)} · {said}", later=svc)


async def on_need_design(update: Update, context: Context) -> None:
    """``ren:dq:<id>``: customer service requires the design qualification of a submitted
    application (R-3: commercial or key premises): it joins the list as missing, the owner
    is told with the button that uploads it, and the card's buttons show it."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return
    ids = _ids(query.data, 1)
    svc = services(context)
    ren = await store(svc).get(ids[0]) if ids else None
    if ren is None:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    if not may(Act.CHECK_DOCUMENTS, actor.roles_in(ren.estate_id)):  # R-3: customer service
        await query.answer(actor.t("renovation.refused.not_checker"), show_alert=True)
        return
    doc = Doc.DESIGN_QUALIFICATION
    try:
        after = await run(svc, actor, ren.id, lambda r, _s: reno.design_required(r))
    except Refusal as refusal:
        await query.answer(refusal_text(actor, refusal), show_alert=True)
        return
    if after is None:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    said = actor.t("renovation.doc_needed_staff", doc=doc_name(actor.locale, doc))
    await query.answer(said)
    message = query.message
    private = message is not None and message.chat.type == "private"
    locale = actor.locale if private else svc.settings.locale  # a group reads the default
    owner = await svc.identity.person(after.owner_id)
    shown = t(locale, "renovation.doc_needed_staff", doc=doc_name(locale, doc))
    text = f"{shown}\n\n{card(locale, after, owner)}"
    await edit(message, text, review_keyboard(locale, after, None), later=svc)


async def on_all_documents(update: Update, context: Context) -> None:
    """``ren:all:<id>``: every document's files to this chat (staff of the estate, the
    owner)."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None or query.message is None:
        return
    ids = _ids(query.data, 1)
    svc = services(context)
    ren = await store(svc).get(ids[0]) if ids else None
    allowed = ren is not None and (
        ren.owner_id == actor.person.id or may(Act.READ_CASE, actor.roles_in(ren.estate_id))
    )
    if ren is None or not allowed:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    shown = [f.display_sha256 for f in await store(svc).files(ren.id) if f.display_sha256]
    if not shown:
        await query.answer(actor.t("evidence.none"), show_alert=True)
        return
    private = query.message.chat.type == "private"
    async with svc.db.write() as conn:
        await enqueue(
            conn,
            query.message.chat.id,
            actor.t("renovation.album", number=ren.number, count=len(shown)),
            subject=reno.subject(ren.id),
            album=shown,
            person_id=actor.person.id if private else None,
        )
    await query.answer(actor.t("evidence.sending"))
    await svc.deliver()


# --- the heads sign (R-4), the owner accepts the terms (R-7) ----------------------------------


async def on_sign(update: Update, context: Context) -> int:
    """``ren:ap`` / ``ren:rj``: a head approves or rejects; their comments are asked (a
    rejection must give them). Only the heads may (R-4), each once, in their role."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None or context.user_data is None:
        return ConversationHandler.END
    ids = _ids(query.data, 1)
    svc = services(context)
    ren = await store(svc).get(ids[0]) if ids else None
    if ren is None or ren.status != Status.COMPLETE:
        await query.answer(actor.t("renovation.refused.not_decidable"), show_alert=True)
        return ConversationHandler.END
    # R-4: the two heads (never an admin as such), or a head's delegate in force
    held = actor.roles_in(ren.estate_id)
    held = held if may(Act.SIGN_RENOVATION, held) else set()
    mine = await DelegationStore(svc.db).to_person(actor.person.id, ren.estate_id)
    today = await today_of(svc, ren.estate_id)
    rows = [s for s in await store(svc).signatures(ren.id) if s.step == RuleId.R4.value]
    signed, signed_by = [Signature(s.role, s.approved) for s in rows], {s.by_id for s in rows}
    found = delegating.signer(held, actor.person.id, signed, signed_by, mine, today)
    if found is None:
        why = delegating.why_not(held, actor.person.id, mine, today, signed_by)
        await query.answer(actor.t(f"renovation.refused.{why}"), show_alert=True)
        return ConversationHandler.END
    approve = (query.data or "").startswith("ren:ap:")
    await query.answer()
    context.user_data[SIGN_KEY] = {"id": ren.id, "approve": approve}
    if approve:
        markup = keyboard([[button(actor.t("renovation.btn_no_comment"), "ren:nc")]])
        await reply(update, context, actor.t("renovation.ask_comment", number=ren.number), markup)
    else:
        await reply(update, context, actor.t("renovation.ask_why", number=ren.number))
    return SignStep.COMMENT


async def got_comment(update: Update, context: Context) -> int:
    """The head's comments: signed with them."""
    message = update.effective_message
    text = " ".join((message.text or "").split()) if message else ""
    actor = await who(update, context)
    if actor is not None and len(text) > MAX_COMMENT:
        await reply(update, context, actor.t("renovation.comment_hint", limit=MAX_COMMENT))
        return SignStep.COMMENT
    return await _sign(update, context, text or None)


async def got_no_comment(update: Update, context: Context) -> int:
    """Approved without comments."""
    query = update.callback_query
    if query is not None:
        await query.answer()
        await keep_answered(query)
    return await _sign(update, context, None)


async def _sign(update: Update, context: Context, comment: str | None) -> int:
    actor = await who(update, context)
    pending = draft_of(context, SIGN_KEY)
    if actor is None or "id" not in pending:
        return ConversationHandler.END
    svc = services(context)
    approve = bool(pending.get("approve"))
    found = await store(svc).get(int(pending["id"]))  # R-6: does approval wait for receipts?
    waits = (
        found is not None
        and (await svc.rules(found.estate_id)).renovation.approval_waits_for_filings
    )
    # R-4: a delegation is in force by the estate's day (none at all for a renovation gone)
    today = await today_of(svc, found.estate_id) if found is not None else date.min

    def decide(
        ren: Renovation,
        signed: list[Signature],
        signed_by: Set[int],
        mine: list[delegating.Delegation],
    ) -> RenovationDecision:
        held, me = actor.roles_in(ren.estate_id), actor.person.id
        held = held if may(Act.SIGN_RENOVATION, held) else set()
        signer = delegating.signer(held, me, signed, signed_by, mine, today)
        if signer is None:  # R-4: the heads, or a delegate in force (checked again here)
            raise Refusal(delegating.why_not(held, me, mine, today, signed_by))
        return delegating.sign(ren, signer, me, approve, comment, signed, waits_for_filings=waits)

    try:
        after = await DelegationStore(svc.db).sign(
            int(pending["id"]), actor.person.id, decide, render=Notifier(svc)
        )
        await svc.deliver()
    except Refusal as refusal:
        if refusal.code == "comment_needed":
            await reply(update, context, actor.t("renovation.refused.comment_needed"))
            return SignStep.COMMENT
        await reply(update, context, refusal_text(actor, refusal))
        after = None
    if context.user_data is not None:
        context.user_data.pop(SIGN_KEY, None)
    if after is not None:
        key = "renovation.signed_approved" if approve else "renovation.signed_rejected"
        await reply(update, context, actor.t(key, number=after.number))
    return ConversationHandler.END


async def sign_expected(update: Update, context: Context) -> int:
    """Not a text while comments are awaited: ask again."""
    actor = await who(update, context)
    if actor is not None:
        await reply(update, context, actor.t("renovation.text_please"))
    return SignStep.COMMENT


def sign_conversation() -> ConversationHandler[Context]:
    """A head's signature with comments (R-4), persistent."""
    return persistent_flow(
        entry_points=[CallbackQueryHandler(on_sign, pattern=r"^ren:(ap|rj):")],
        states={
            SignStep.COMMENT: [
                MessageHandler(TEXT, got_comment),
                CallbackQueryHandler(got_no_comment, pattern=r"^ren:nc$"),
                MessageHandler(OTHER, sign_expected),
            ],
        },
        fallbacks=[
            CommandHandler("cancel", cancel_sign),
            CallbackQueryHandler(stale, pattern=r"^ren:nc$"),
        ],
        name="renovation_signatures",
    )


#: /cancel while comments are awaited: nothing signed.
cancel_sign = canceller(SIGN_KEY, "renovation.sign_cancelled")


async def on_terms(update: Update, context: Context) -> None:
    """``ren:terms:<id>``: R-7, the owner accepts the approval's terms, from their own
    account."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return
    ids = _ids(query.data, 1)
    if not ids:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    svc = services(context)
    try:
        after = await run(
            svc, actor, ids[0], lambda r, _s: reno.terms_accepted(r, r.owner_id == actor.person.id)
        )
    except Refusal as refusal:
        await query.answer(refusal_text(actor, refusal), show_alert=True)
        return
    if after is None:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    await query.answer()
    await keep_answered(query)


# --- the agreement and the rules (R-8, R-9) ----------------------------------------------------

#: ``/start`` payload of the owner's delegation link for the contractor's head (R-8).
CONTRACTOR_PREFIX = "ct_"


def papers_text(locale: str, ren: Renovation, settings: RenovationSettings) -> str:
    """R-8, R-9: what the signer reads before signing: the agreement, the regulations with
    the prohibitions, the working and moving hours, and the fire-safety responsibility
    agreement (安全防火責任制書)."""
    prohibitions = "\n".join(
        f"• {t(locale, f'renovation.prohibition.{p}')}" for p in reno.PROHIBITIONS
    )
    return t(
        locale,
        "renovation.papers",
        number=ren.number,
        unit=ren.unit_label,
        start=ren.form.period_from.isoformat(),
        end=ren.form.period_to.isoformat(),
        work_hours=hours_text(settings.work_hours, t(locale, "common.choice_separator")),
        moving_hours=hours_text(settings.moving_hours, t(locale, "common.choice_separator")),
        prohibitions=prohibitions,
    )


async def send_papers(update: Update, context: Context, actor: Actor, ren: Renovation) -> None:
    """The papers to read, with the button that signs them."""
    rules = await services(context).rules(ren.estate_id)
    markup = keyboard([[button(actor.t("renovation.btn_sign_agreement"), f"ren:agr:{ren.id}")]])
    await reply(update, context, papers_text(actor.locale, ren, rules.renovation), markup)


async def on_papers(update: Update, context: Context) -> None:
    """``ren:rules:<id>``: the owner (or the delegated contractor's head) reads the papers."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return
    ids = _ids(query.data, 1)
    ren = await store(services(context)).get(ids[0]) if ids else None
    if ren is None or reno.signer(ren, actor.person.id) is None:
        await query.answer(actor.t("renovation.refused.not_signer"), show_alert=True)
        return
    if ren.status != Status.TERMS_ACCEPTED:
        await query.answer(actor.t("renovation.refused.not_signable"), show_alert=True)
        return
    await query.answer()
    await send_papers(update, context, actor, ren)


async def on_agreement(update: Update, context: Context) -> None:
    """``ren:agr:<id>``: R-8, R-9: signed by button from the signer's own account."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return
    ids = _ids(query.data, 1)
    if not ids:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    svc = services(context)
    found = await store(svc).get(ids[0])
    rules = await svc.rules(found.estate_id) if found else None
    shown = rules.renovation if rules else RenovationSettings()
    hours = f"work {hours_text(shown.work_hours)}; moving {hours_text(shown.moving_hours)}"
    try:
        after = await run(
            svc,
            actor,
            ids[0],
            lambda r, _s: reno.agreement_signed(r, reno.signer(r, actor.person.id), hours),
        )
    except Refusal as refusal:
        await query.answer(refusal_text(actor, refusal), show_alert=True)
        return
    if after is None:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    await query.answer()
    await keep_answered(query)
    if after.owner_id != actor.person.id:  # the contractor's head: told here
        await reply(
            update, context, actor.t("renovation.agreement_contractor", number=after.number)
        )


async def on_delegate(update: Update, context: Context) -> None:
    """``ren:dlg:<id>``: R-8, the owner delegates the signature: a one-time link to send to
    the contractor's head."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return
    ids = _ids(query.data, 1)
    if not ids:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    svc = services(context)
    try:
        code = await store(svc).delegate(
            ids[0],
            lambda r: reno.delegated(r, r.owner_id == actor.person.id),
            by=actor.person.id,
            ttl_hours=svc.settings.invite_ttl_hours,
        )
    except Refusal as refusal:
        await query.answer(refusal_text(actor, refusal), show_alert=True)
        return
    if code is None:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    await query.answer()
    username = svc.settings.bot_username or context.bot.username
    link = f"https://t.me/{username}?start={CONTRACTOR_PREFIX}{code}"
    ren = await store(svc).get(ids[0])
    head = ren.form.head_name if ren else ""
    text = actor.t(
        "renovation.delegate_link", head=escape(head), link=link,
        hours=svc.settings.invite_ttl_hours,
    )  # fmt: skip
    await reply(update, context, text)


async def join(update: Update, context: Context, actor: Actor, code: str) -> None:
    """``/start ct_<code>``: the contractor's head opens the owner's link (R-8): scoped to
    that renovation (no estate role), they read the papers and sign."""
    svc = services(context)
    if not looks_like_invite_code(code):
        await reply(update, context, actor.t("renovation.join.unknown"))
        return
    try:
        found = await store(svc).join(
            code,
            actor.person.id,
            lambda r: reno.joined(r, actor.person.id),
            render=Notifier(svc),
        )
    except Refusal as refusal:
        await reply(update, context, refusal_text(actor, refusal))
        return
    await svc.deliver()
    if isinstance(found, str):
        await reply(update, context, actor.t(f"renovation.join.{found}"))
        return
    await reply(
        update,
        context,
        actor.t("renovation.join.welcome", number=found.number, unit=found.unit_label),
    )
    await send_papers(update, context, actor, found)


# --- fees and the deposit ledger (R-10, R-16, R-21) ------------------------------------------

FEE_KEY = "renovation_fees"


class FeeStep(IntEnum):
    """The cashier collecting (R-10): the workers, then the receipt number."""

    WORKERS = 1
    RECEIPT = 2


def scale_text(locale: str, ren: Renovation, scale: RenovationSettings) -> str:
    """R-10: the published scale, each item explained, with this unit's area."""
    management = (
        t(locale, "renovation.fee_scale.fixed", amount=yuan(scale.management_fee_fixed))
        if scale.management_fee_fixed is not None
        else t(
            locale,
            "renovation.fee_scale.per_m2",
            rate=yuan(scale.management_fee_per_m2),
            area=str(ren.area_m2) if ren.area_m2 is not None else "—",
        )
    )
    return t(
        locale,
        "renovation.fee_scale.text",
        number=ren.number,
        unit=ren.unit_label,
        deposit=yuan(scale.deposit),
        management=management,
        debris=yuan(scale.debris_removal),
        passes=yuan(scale.pass_fee),
    )


def lines_text(locale: str, lines: Sequence[reno.FeeLine]) -> str:
    """The computed lines and their total."""
    shown = [
        t(locale, "renovation.fee_line", item=t(locale, f"renovation.fee.{line.item}"),
          amount=yuan(line.amount_fen))
        for line in lines
    ]  # fmt: skip
    shown.append(t(locale, "renovation.fee_total", amount=yuan(reno.total(lines))))
    return "\n".join(shown)


def ledger_text(locale: str, ren: Renovation, entries: Sequence[reno.LedgerEntry]) -> str:
    """The deposit ledger as the cashier reads it: its lines, the balance, the arrears."""
    lines = [t(locale, "renovation.ledger.title", number=ren.number, unit=ren.unit_label)]
    for entry in entries:
        line = t(
            locale,
            "renovation.ledger.line",
            kind=t(locale, f"renovation.entry.{entry.kind}"),
            amount=yuan(entry.amount_fen),
        )
        if entry.for_kind is not None:
            line += t(
                locale,
                "renovation.ledger.for",
                kind=t(locale, f"renovation.entry.{entry.for_kind}"),
            )
        lines.append(line)
    if not entries:
        lines.append(t(locale, "renovation.ledger.empty"))
    found = reno.balance(entries)
    lines.append(t(locale, "renovation.ledger.balance", amount=yuan(found.held_fen)))
    if found.arrears_fen:
        lines.append(t(locale, "renovation.ledger.arrears", amount=yuan(found.arrears_fen)))
    return "\n".join(lines)


async def cashier_for(update: Update, context: Context) -> tuple[Actor, Renovation] | None:
    """The cashier pressing a renovation's fee button, and the renovation; an alert (and
    None) for anyone else, or a renovation not waiting for its fees."""
    # R-10: the cashier
    return await pressed_renovation(
        update, context, Act.COLLECT_FEES, "renovation.refused.not_cashier"
    )


async def on_collect(update: Update, context: Context) -> int:
    """``ren:fee:<id>``: R-10, the cashier shows the published scale and is asked how many
    workers will need passes."""
    found = await cashier_for(update, context)
    query = update.callback_query
    if found is None or query is None or context.user_data is None:
        return ConversationHandler.END
    actor, ren = found
    if ren.status != Status.AGREEMENT_SIGNED:
        await query.answer(actor.t("renovation.refused.not_payable"), show_alert=True)
        return ConversationHandler.END
    await query.answer()
    rules = await services(context).rules(ren.estate_id)
    context.user_data[FEE_KEY] = {"id": ren.id}
    text = (
        scale_text(actor.locale, ren, rules.renovation)
        + "\n\n"
        + actor.t("renovation.ask_workers", limit=reno.MAX_WORKERS)
    )
    await reply(update, context, text)
    return FeeStep.WORKERS


async def _fee_lines(
    context: Context, actor: Actor
) -> tuple[Renovation, list[reno.FeeLine]] | None:
    """The renovation being charged and its lines by the estate's scale (Refusal when the
    area is unknown or the workers out of range)."""
    pending = draft_of(context, FEE_KEY)
    svc = services(context)
    ren = await store(svc).get(int(pending["id"])) if "id" in pending else None
    if ren is None:
        return None
    rules = await svc.rules(ren.estate_id)
    return ren, reno.fee_lines(rules.renovation, ren.area_m2, int(pending.get("workers", 0)))


async def got_workers(update: Update, context: Context) -> int:
    """How many workers: the lines computed and shown; the receipt number asked."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None or FEE_KEY not in (context.user_data or {}):
        return ConversationHandler.END
    typed = unicodedata.normalize("NFKC", message.text or "").strip()
    if not typed.isdigit():
        await reply(update, context, actor.t("renovation.workers_hint", limit=reno.MAX_WORKERS))
        return FeeStep.WORKERS
    draft_of(context, FEE_KEY)["workers"] = int(typed)
    try:
        found = await _fee_lines(context, actor)
    except Refusal as refusal:
        await reply(update, context, refusal_text(actor, refusal))
        if refusal.code == "workers_range":
            return FeeStep.WORKERS
        context.user_data.pop(FEE_KEY, None) if context.user_data is not None else None
        return ConversationHandler.END
    if found is None:
        await reply(update, context, actor.t("common.stale_button"))
        return ConversationHandler.END
    ren, lines = found
    text = actor.t("renovation.fee_lines", number=ren.number, unit=ren.unit_label)
    text += "\n" + lines_text(actor.locale, lines) + "\n\n" + actor.t("renovation.ask_receipt")
    await reply(update, context, text)
    return FeeStep.RECEIPT


async def got_receipt(update: Update, context: Context) -> int:
    """The receipt number: fees paid, the deposit into the ledger (R-10)."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None or FEE_KEY not in (context.user_data or {}):
        return ConversationHandler.END
    receipt = reno.clean_receipt(message.text or "")
    if receipt is None:
        await reply(update, context, actor.t("renovation.receipt_hint", limit=reno.MAX_RECEIPT))
        return FeeStep.RECEIPT
    svc = services(context)
    after: Renovation | None = None
    said = "common.stale_button"
    try:
        found = await _fee_lines(context, actor)
        if found is not None:
            ren, lines = found
            after = await store(svc).pay_fees(
                ren.id,
                lambda r: reno.fees_paid(
                    r, lines, receipt, may(Act.COLLECT_FEES, actor.roles_in(r.estate_id))
                ),
                lines,
                receipt,
                by=actor.person.id,
                render=Notifier(svc),
            )
    except Refusal as refusal:
        said = f"renovation.refused.{refusal.code}"
    if context.user_data is not None:
        context.user_data.pop(FEE_KEY, None)
    await svc.deliver()
    if after is None:
        await reply(update, context, actor.t(said) if has(said) else actor.t("common.stale_button"))
        return ConversationHandler.END
    markup = keyboard([[button(actor.t("renovation.btn_ledger"), f"ren:dep:{after.id}")]])
    text = actor.t("renovation.fees_recorded", number=after.number, receipt=escape(receipt))
    await reply(update, context, text, markup)
    return ConversationHandler.END


async def fees_expected(update: Update, context: Context) -> int:
    """Not a text while the cashier is asked: ask again."""
    actor = await who(update, context)
    if actor is not None:
        await reply(update, context, actor.t("renovation.text_please"))
    pending = draft_of(context, FEE_KEY)
    return FeeStep.RECEIPT if "workers" in pending else FeeStep.WORKERS


#: /cancel while collecting: nothing recorded.
cancel_fees = canceller(FEE_KEY, "renovation.fees_cancelled")


def fees_conversation() -> ConversationHandler[Context]:
    """The cashier's collection (R-10), persistent."""
    return persistent_flow(
        entry_points=[CallbackQueryHandler(on_collect, pattern=r"^ren:fee:")],
        states={
            FeeStep.WORKERS: [
                MessageHandler(TEXT, got_workers),
                MessageHandler(OTHER, fees_expected),
            ],
            FeeStep.RECEIPT: [
                MessageHandler(TEXT, got_receipt),
                MessageHandler(OTHER, fees_expected),
            ],
        },
        fallbacks=[CommandHandler("cancel", cancel_fees)],
        name="renovation_fees",
    )


async def on_ledger(update: Update, context: Context) -> None:
    """``ren:dep:<id>``: the deposit ledger, its balance and the arrears owed (the cashier;
    staff of the estate may read it too)."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return
    ids = _ids(query.data, 1)
    svc = services(context)
    ren = await store(svc).get(ids[0]) if ids else None
    held = actor.roles_in(ren.estate_id) if ren else set()
    if ren is None or not (may(Act.COLLECT_FEES, held) or may(Act.READ_CASE, held)):
        await query.answer(actor.t("renovation.refused.not_cashier"), show_alert=True)
        return
    await query.answer()
    entries = await store(svc).ledger(ren.id)
    await reply(update, context, ledger_text(actor.locale, ren, entries))


# --- the works permit and worker passes (R-11, S-1) ----------------------------------------

WORKER_KEY = "renovation_worker"


class WorkerStep(IntEnum):
    """Registering a worker for a pass (R-11): name, ID number, phone, photo."""

    NAME = 1
    ID = 2
    PHONE = 3
    PHOTO = 4


async def on_permit(update: Update, context: Context) -> None:
    """``ren:permit:<id>``: R-11, customer service issues the works permit: the image (the
    unit, the period, the hours, the contractor and its head, the service phone) goes to
    the owner to post outside the door."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return
    ids = _ids(query.data, 1)
    svc = services(context)
    ren = await store(svc).get(ids[0]) if ids else None
    if ren is None:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    rules = await svc.rules(ren.estate_id)
    locale = svc.settings.locale
    issued = rules.calendar.local(svc.clock.now()).date().isoformat()
    font = str(svc.settings.chart_font) if svc.settings.chart_font else None
    title, lines = permit_lines(locale, ren, rules.renovation, issued)
    image = await asyncio.to_thread(draw_permit, title, lines, font)

    def picture(after: Renovation) -> tuple[bytes, str]:
        return image, t(
            locale, "renovation.permit_caption", number=after.number, unit=after.unit_label
        )

    try:
        after = await store(svc).permit(
            ren.id,
            lambda r: reno.permitted(r, may(Act.ISSUE_PERMIT, actor.roles_in(r.estate_id))),
            picture,
            by=actor.person.id,
            render=Notifier(svc),
        )
    except Refusal as refusal:
        await query.answer(refusal_text(actor, refusal), show_alert=True)
        return
    if after is None:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    await query.answer()
    await keep_answered(query)
    await svc.deliver()


def pass_card(locale: str, ren: Renovation, worker: reno.WorkerPass) -> str:
    """A pass as cards show it: the code, the worker (ID masked), the unit, the dates."""
    state = "revoked" if worker.revoked else "active"
    return t(
        locale,
        "renovation.pass.card",
        code=worker.code,
        name=escape(worker.name),
        id=worker.id_masked,
        phone=worker.phone,
        number=ren.number,
        unit=ren.unit_label,
        start=worker.valid_from.isoformat(),
        end=worker.valid_to.isoformat(),
        state=t(locale, f"renovation.pass.state.{state}"),
    )


async def on_add_worker(update: Update, context: Context) -> int:
    """``ren:wk:<id>``: the owner or the contractor's head registers a worker (R-11)."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None or context.user_data is None:
        return ConversationHandler.END
    ids = _ids(query.data, 1)
    ren = await store(services(context)).get(ids[0]) if ids else None
    if ren is None or reno.signer(ren, actor.person.id) is None:
        await query.answer(actor.t("renovation.refused.not_signer"), show_alert=True)
        return ConversationHandler.END
    if ren.status not in reno.WORKS_ALLOWED:
        await query.answer(actor.t("renovation.refused.no_works"), show_alert=True)
        return ConversationHandler.END
    await query.answer()
    context.user_data[WORKER_KEY] = {"id": ren.id}
    await reply(update, context, actor.t("renovation.pass.ask_name", number=ren.number))
    return WorkerStep.NAME


def worker_field(
    field: str,
    clean: Callable[[str], str | None],
    hint: str,
    ask_next: str,
    step: WorkerStep,
    then: WorkerStep,
    **hint_params: object,
) -> Callable[[Update, Context], Coroutine[Any, Any, int]]:
    """One typed field of a worker's pass: checked by ``clean`` (its hint and the same step
    again when it fails), kept in the draft, then the next question."""

    async def got(update: Update, context: Context) -> int:
        actor = await who(update, context)
        message = update.effective_message
        if actor is None or message is None or WORKER_KEY not in (context.user_data or {}):
            return ConversationHandler.END
        value = clean(message.text or "")
        if value is None:
            await reply(update, context, actor.t(hint, **hint_params))
            return step
        draft_of(context, WORKER_KEY)[field] = value
        await reply(update, context, actor.t(ask_next))
        return then

    return got


#: The worker's name, ID number (checked; kept, shown masked) and phone.
got_worker_name = worker_field(
    "name", reno.clean_name, "renovation.name_hint", "renovation.pass.ask_id",
    WorkerStep.NAME, WorkerStep.ID, limit=reno.MAX_NAME,
)  # fmt: skip
got_worker_id = worker_field(
    "id_number", reno.clean_id_number, "renovation.pass.id_hint", "renovation.pass.ask_phone",
    WorkerStep.ID, WorkerStep.PHONE,
)  # fmt: skip
got_worker_phone = worker_field(
    "phone", reno.clean_phone, "renovation.phone_hint", "renovation.pass.ask_photo",
    WorkerStep.PHONE, WorkerStep.PHOTO,
)  # fmt: skip


async def got_worker_photo(update: Update, context: Context) -> int:
    """The worker's photo: kept as evidence; the pass made with its code and sent back as
    a card (ID masked) with the button that revokes it."""
    actor = await who(update, context)
    if actor is None or WORKER_KEY not in (context.user_data or {}):
        return ConversationHandler.END
    svc = services(context)
    pending = draft_of(context, WORKER_KEY)
    ren = await store(svc).get(int(pending["id"]))
    if ren is None or ren.status not in reno.WORKS_ALLOWED:
        await reply(update, context, actor.t("renovation.refused.no_works"))
        context.user_data.pop(WORKER_KEY, None) if context.user_data is not None else None
        return ConversationHandler.END
    received = await photos.take_in(update, context, actor)
    if received is None:
        return WorkerStep.PHOTO
    font = str(svc.settings.chart_font) if svc.settings.chart_font else None
    shown = await evidence.render(
        svc.evidence,
        svc.db,
        received.sha256,
        label_lines=[ren.number, str(pending["name"])],
        font_path=font,
    )
    start, end = reno.pass_period(ren, await today_of(svc, ren.estate_id))
    worker = await store(svc).add_pass(
        ren.id,
        NewPass(
            str(pending["name"]),
            str(pending["id_number"]),
            str(pending["phone"]),
            received.sha256,
            shown.sha256,
            start,
            end,
        ),
        by=actor.person.id,
    )
    if context.user_data is not None:
        context.user_data.pop(WORKER_KEY, None)
    if worker is None:
        await reply(update, context, actor.t("common.stale_button"))
        return ConversationHandler.END
    await send_qr(update, context, actor, ren, worker)
    markup = keyboard([[button(actor.t("renovation.btn_revoke"), f"ren:rv:{worker.id}")]])
    text = actor.t("renovation.pass.issued") + "\n\n" + pass_card(actor.locale, ren, worker)
    await reply(update, context, text, markup)  # queued behind the QR code: after it
    return ConversationHandler.END


async def send_qr(
    update: Update, context: Context, actor: Actor, ren: Renovation, worker: reno.WorkerPass
) -> None:
    """The pass's QR code (its deep link, S-1) to whoever registered the worker, to forward
    to them: queued in the outbox, so the pass's card, answered next, comes after it."""
    chat = update.effective_chat
    if chat is None:
        return
    svc = services(context)
    username = svc.settings.bot_username or context.bot.username
    image = await asyncio.to_thread(draw_pass_qr, pass_link(username, worker.code))
    async with svc.db.write() as conn:
        blob = await store_blob(conn, f"pass-{worker.code}.png", image)
        await enqueue(
            conn, chat.id, actor.t("renovation.pass.qr_caption", code=worker.code),
            subject=reno.subject(ren.id), blob=blob, blob_as="photo",
            person_id=actor.person.id,
        )  # fmt: skip
    await svc.deliver()


async def worker_expected(update: Update, context: Context) -> int:
    """Something else while a worker is registered: ask again for what is missing."""
    actor = await who(update, context)
    pending = draft_of(context, WORKER_KEY)
    step = (
        WorkerStep.PHOTO
        if "phone" in pending
        else WorkerStep.PHONE
        if "id_number" in pending
        else WorkerStep.ID
        if "name" in pending
        else WorkerStep.NAME
    )
    if actor is not None:
        key = "renovation.pass.ask_photo" if step == WorkerStep.PHOTO else "renovation.text_please"
        await reply(update, context, actor.t(key))
    return step


#: /cancel while registering a worker: no pass made.
cancel_worker = canceller(WORKER_KEY, "renovation.pass.cancelled")


def workers_conversation() -> ConversationHandler[Context]:
    """Registering a worker for a pass (R-11), persistent."""
    W = WorkerStep
    return persistent_flow(
        entry_points=[CallbackQueryHandler(on_add_worker, pattern=r"^ren:wk:")],
        states={
            W.NAME: [MessageHandler(TEXT, got_worker_name)],
            W.ID: [MessageHandler(TEXT, got_worker_id)],
            W.PHONE: [MessageHandler(TEXT, got_worker_phone)],
            W.PHOTO: [MessageHandler(filters.PHOTO | filters.Document.ALL, got_worker_photo)],
        },
        fallbacks=[
            CommandHandler("cancel", cancel_worker),
            MessageHandler(OTHER | TEXT, worker_expected),
        ],
        name="renovation_workers",
    )


async def on_revoke(update: Update, context: Context) -> None:
    """``ren:rv:<pass>``: R-11, a pass revoked by the owner, the contractor's head or
    customer service; its card shows it, the gate refuses it from now on."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return
    ids = _ids(query.data, 1)
    svc = services(context)
    worker = await store(svc).get_pass(ids[0]) if ids else None
    ren = await store(svc).get(worker.renovation_id) if worker else None
    if worker is None or ren is None:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    allowed = reno.signer(ren, actor.person.id) is not None or may(
        Act.ISSUE_PERMIT, actor.roles_in(ren.estate_id)
    )
    if not allowed:
        await query.answer(actor.t("renovation.refused.not_signer"), show_alert=True)
        return
    revoked = await store(svc).revoke(worker.id, by=actor.person.id)
    if revoked is None:
        await query.answer(actor.t("renovation.pass.revoked_already"), show_alert=True)
        return
    await query.answer()
    text = actor.t("renovation.pass.revoked") + "\n\n" + pass_card(actor.locale, ren, revoked)
    await edit(query.message, text, later=svc)


async def check(update: Update, context: Context) -> None:
    """``/pass CODE``: S-1, a guard checks a worker's pass: admitted, or refused with the
    reason (unknown, revoked, works not on or suspended, not yet valid, expired, outside
    working hours). Every check is kept and audited. The worker's photo comes with a
    known pass, for the guard to compare the face."""
    actor = await who(update, context)
    if actor is None:
        return
    await check_code(update, context, actor, " ".join(context.args or []))


async def check_code(update: Update, context: Context, actor: Actor, typed: str) -> None:
    """Check the pass ``typed`` names (``/pass CODE``, or a pass's QR code scanned:
    ``/start pass_CODE``), for a guard; anyone else is told who checks passes."""
    svc = services(context)
    estates = [m.estate_id for m in actor.memberships if m.role == Role.SECURITY.value]
    if not estates or not any(may(Act.CHECK_PASS, actor.roles_in(e)) for e in estates):
        await reply(update, context, actor.t("renovation.pass.guards_only"))
        return
    code = reno.clean_code(typed)
    if code is None:
        await reply(update, context, actor.t("renovation.pass.usage"))
        return
    found = await store(svc).find_pass(code)
    if found is None:  # a hot-work permit (R-17) or a temporary pass: checked there
        from handlers.renovation_hotwork import other_pass

        if await other_pass(update, context, actor, code, estates):
            return
    if found is not None and not may(Act.CHECK_PASS, actor.roles_in(found[1].estate_id)):
        found = None  # another estate's pass: unknown here
    ren = found[1] if found else None
    rules = await svc.rules(ren.estate_id if ren else estates[0])
    scale = rules.renovation if ren else RenovationSettings()
    local = rules.calendar.local(svc.clock.now())
    worker = found[0] if found else None
    refused = reno.check_pass(worker, ren.status if ren else None, local, scale)
    await store(svc).record_check(code, found, refused, by=actor.person.id, estate_id=estates[0])
    if found is None:
        why = actor.t("renovation.pass.why.unknown")
        await reply(update, context, actor.t("renovation.pass.refused", code=code, reason=why))
        return
    worker, ren = found
    card_text = pass_card(actor.locale, ren, worker)
    if refused is None:
        head = actor.t("renovation.pass.admitted", code=code)
    else:
        reason = actor.t(
            f"renovation.pass.why.{refused}",
            hours=hours_text(scale.work_hours, actor.t("common.choice_separator")),
            status=actor.t(f"renovation.status.{ren.status}"),
        )
        head = actor.t("renovation.pass.refused", code=code, reason=reason)
    chat = update.effective_chat
    if worker.photo and chat is not None:
        async with svc.db.write() as conn:
            await enqueue(
                conn, chat.id, actor.t("renovation.pass.photo", name=escape(worker.name)),
                subject=reno.subject(ren.id), album=[worker.photo],
                person_id=actor.person.id if chat.type == "private" else None,
            )  # fmt: skip
        await svc.deliver()
    await reply(update, context, head + "\n\n" + card_text)


# --- R-4's clock --------------------------------------------------------------------------------


async def react(svc: Services, conn: aiosqlite.Connection, firing: Firing) -> None:
    """R-4's warning or breach (the sweeper's reaction for renovations), inside the
    transaction that marks the timer: :func:`procedures.renovation.reaction` decides."""
    deadline = firing.deadline
    ren = await store_module.read(conn, deadline.subject.id)
    if ren is None:
        return
    rules = await svc.rules(ren.estate_id)
    signed = [Signature(s.role, s.approved) for s in await store_module.signatures_in(conn, ren.id)]
    for decision in reno.reaction(
        ren, deadline.rule, firing.warning, firing.late, rules, signed, deadline.due_at
    ):
        await store_module.apply(
            conn, ren.id, decision, by=None, actor="system", render=Notifier(svc)
        )


def handlers() -> list[AnyHandler]:
    """The owner's application, the heads' signatures, customer service's checks, the
    owner's acceptance of the terms."""
    return [
        conversation(),
        sign_conversation(),
        fees_conversation(),
        workers_conversation(),
        CallbackQueryHandler(on_document, pattern=r"^ren:doc:"),
        CallbackQueryHandler(on_valid, pattern=r"^ren:ok:"),
        CallbackQueryHandler(on_invalid, pattern=r"^ren:bad:"),
        CallbackQueryHandler(on_reason, pattern=r"^ren:why:"),
        CallbackQueryHandler(on_need_design, pattern=r"^ren:dq:"),
        CallbackQueryHandler(on_all_documents, pattern=r"^ren:all:"),
        CallbackQueryHandler(on_terms, pattern=r"^ren:terms:"),
        CallbackQueryHandler(on_papers, pattern=r"^ren:rules:"),
        CallbackQueryHandler(on_agreement, pattern=r"^ren:agr:"),
        CallbackQueryHandler(on_delegate, pattern=r"^ren:dlg:"),
        CallbackQueryHandler(on_ledger, pattern=r"^ren:dep:"),
        CallbackQueryHandler(on_permit, pattern=r"^ren:permit:"),
        CallbackQueryHandler(on_revoke, pattern=r"^ren:rv:"),
        CommandHandler("pass", check),
    ]
