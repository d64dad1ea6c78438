"""Renovation (P2) in chat: the authorities' filings (R-6). procedures.renovation_filings
decides; storage.renovation_hotwork keeps the receipts.

When the owner submits an application whose scope ticks fire protection, structural change
or gas change (handlers.renovation calls :func:`send_guides`), they get one guide per
filing: the steps, the forms and documents, and the office's name, phone and address from
the estate's settings (or "ask customer service"), with "📎 上传备案回执". That button asks for
the authority's receipt (a photo or an image file): kept as evidence of the renovation
(original by SHA-256, a watermarked display copy); customer service is told. A filing
without a receipt stays open on the renovation's card, the works permit and the patrol card;
where the estate makes the heads' approval wait for the receipts, they cannot approve
before (procedures.renovation.signed).

Button data: ``ren:fr:<renovation>:<filing index>``.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.i18n import t
from handlers import photos
from handlers.common import (
    AnyHandler,
    Context,
    Services,
    button,
    canceller,
    keyboard,
    persistent_flow,
    person_locale,
    reply,
    services,
    who,
)
from handlers.records import OTHER, TEXT, draft_of
from handlers.renovation import Notifier, _ids, refusal_text, store
from procedures import renovation as reno
from procedures.renovation import Refusal, Renovation
from procedures.renovation_filings import FILINGS, receipt_added
from procedures.renovation_settings import RenovationSettings
from storage import evidence
from storage.outbox import enqueue
from storage.renovation_hotwork import HotWorkStore

#: ``user_data`` key of a receipt awaited.
KEY = "renovation_filing"
#: The one step: the receipt's photo.
PHOTO = 1


def open_text(locale: str, ren: Renovation) -> str:
    """The open filings by name (``消防、燃气``), empty when none is open."""
    return t(locale, "renovation.list_separator").join(
        t(locale, f"renovation.scope.{f}") for f in ren.open_filings
    )


def guide(locale: str, ren: Renovation, settings: RenovationSettings, filing: str) -> str:
    """R-6: one filing's guide: what it is, the steps, the forms and documents, the office
    (the estate's, or where to ask). No rule ids: the owner reads it."""
    office = settings.office(filing)
    ask = t(locale, "renovation_filing.ask_customer_service")
    return t(
        locale,
        "renovation_filing.guide",
        number=ren.number,
        unit=ren.unit_label,
        filing=t(locale, f"renovation.scope.{filing}"),
        steps=t(locale, f"renovation_filing.steps.{filing}"),
        office=office.name or t(locale, f"renovation_filing.office.{filing}"),
        phone=office.phone or ask,
        address=office.address or ask,
    )


async def send_guides(svc: Services, ren: Renovation) -> None:
    """R-6: the owner gets each filing's guide with the button that attaches its receipt
    (nothing when the scope needs no filing)."""
    owner = await svc.identity.person(ren.owner_id)
    if owner is None or not ren.form.filings:
        return
    settings = (await svc.rules(ren.estate_id)).renovation
    locale = person_locale(owner, svc.settings.locale)
    async with svc.db.write() as conn:
        for filing in ren.form.filings:
            markup = keyboard([[button(t(locale, "renovation_filing.btn_receipt"),
                                       f"ren:fr:{ren.id}:{FILINGS.index(filing)}")]])  # fmt: skip
            await enqueue(
                conn, owner.tg_user_id, guide(locale, ren, settings, filing),
                markup=markup.to_dict(), subject=reno.subject(ren.id), person_id=owner.id,
            )  # fmt: skip
    await svc.deliver()


async def on_receipt(update: Update, context: Context) -> int:
    """``ren:fr:<id>:<filing>``: the owner will send the authority's receipt."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None or context.user_data is None:
        return ConversationHandler.END
    ids = _ids(query.data, 2)
    ren = await store(services(context)).get(ids[0]) if ids else None
    if ids is None or ren is None or not 0 <= ids[1] < len(FILINGS):
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return ConversationHandler.END
    filing = FILINGS[ids[1]]
    try:  # refused now rather than after the photo
        receipt_added(ren, filing, reno.signer(ren, actor.person.id) is not None, "")
    except Refusal as refusal:
        await query.answer(refusal_text(actor, refusal), show_alert=True)
        return ConversationHandler.END
    await query.answer()
    context.user_data[KEY] = {"id": ren.id, "filing": filing}
    name = actor.t(f"renovation.scope.{filing}")
    await reply(update, context, actor.t("renovation_filing.ask_receipt", filing=name))
    return PHOTO


async def got_receipt(update: Update, context: Context) -> int:
    """The receipt's photo: kept, the filing no longer open; what is still open."""
    actor = await who(update, context)
    if actor is None or KEY not in (context.user_data or {}):
        return ConversationHandler.END
    svc = services(context)
    pending = draft_of(context, KEY)
    ren = await store(svc).get(int(pending["id"]))
    if ren is None:
        return ConversationHandler.END
    received = await photos.take_in(update, context, actor)
    if received is None:
        return PHOTO
    filing = str(pending["filing"])
    font = str(svc.settings.chart_font) if svc.settings.chart_font else None
    shown = await evidence.render(
        svc.evidence, svc.db, received.sha256, label_lines=[ren.number, filing], font_path=font
    )
    by_owner = reno.signer(ren, actor.person.id) is not None
    try:
        after = await HotWorkStore(svc.db).add_receipt(
            ren.id,
            filing,
            (received.sha256, shown.sha256, received.file_id),
            lambda r: receipt_added(r, filing, by_owner, received.sha256),
            by=actor.person.id,
            render=Notifier(svc),
        )
    except Refusal as refusal:
        await reply(update, context, refusal_text(actor, refusal))
        after = None
    if context.user_data is not None:
        context.user_data.pop(KEY, None)
    if after is not None:
        still = open_text(actor.locale, after)
        text = actor.t("renovation_filing.kept", filing=actor.t(f"renovation.scope.{filing}"))
        text += "\n" + (
            actor.t("renovation_filing.still_open", scope=still)
            if still
            else actor.t("renovation_filing.all_filed")
        )
        await reply(update, context, text)
        await svc.deliver()
    return ConversationHandler.END


async def receipt_expected(update: Update, context: Context) -> int:
    """Not a photo while the receipt is awaited: ask again."""
    actor = await who(update, context)
    if actor is not None:
        await reply(update, context, actor.t("renovation_filing.photo_please"))
    return PHOTO


cancel_receipt = canceller(KEY, "renovation_filing.cancelled")


def conversation() -> ConversationHandler[Context]:
    """Attaching an authority's receipt (R-6), persistent."""
    return persistent_flow(
        entry_points=[CallbackQueryHandler(on_receipt, pattern=r"^ren:fr:")],
        states={
            PHOTO: [MessageHandler(filters.PHOTO | filters.Document.ALL, got_receipt)],
        },
        fallbacks=[
            CommandHandler("cancel", cancel_receipt),
            MessageHandler(OTHER | TEXT, receipt_expected),
        ],
        name="renovation_filing",
    )


def handlers() -> list[AnyHandler]:
    """The receipts of the authorities' filings."""
    return [conversation()]
