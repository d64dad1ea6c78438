"""Renovation's papers in chat (issue 11, items 9, 16, 17): the control sheet (装修掌控表),
the day's patrol grid and a renovation's dossier, on demand, for customer service, the
heads and the project manager (:attr:`procedures.permissions.Act.RENOVATION_PAPERS`,
checked against the roles in the database at every command and press).

* ``/renovations``: for each estate the person may read, the control sheet of today's
  working day (R-14's duty day) as a summary text — counts by state, deposits held and
  arrears, open notices, each department's patrols, the renovations that need attention
  first — with a button for the day's patrol grid, then the spreadsheet of every
  renovation (with the grid on its own sheet).
* ``/renovations grid`` or the button (``rs:grid:<estate>``): item 9, the day's patrol
  grid — each department's patrols done against due, and the renovations a department
  has not patrolled yet.
* ``/dossier ZX-…``: item 16, the renovation's dossier as a zip (timeline, originals,
  SHA-256 sums) sent as a document (``handlers.renovation_papers.dossier_zip``).

The daily control sheet and the weekly renovation report are jobs
(``bot.renovation_reports``). Texts in ``templates/locales/*.renovation_reports.toml``.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from handlers.common import (
    Actor,
    AnyHandler,
    Context,
    Services,
    button,
    keyboard,
    parse_id,
    reply,
    services,
    who,
)
from handlers.renovation_papers import (
    MAX_DOCUMENT,
    dossier_zip,
    render_grid,
    render_sheet,
    sheet_file_name,
    sheet_workbook,
)
from procedures import renovation as reno
from procedures.permissions import Act, may
from procedures.renovation_reports import Sheet, control_sheet
from storage.outbox import enqueue, store_blob
from storage.renovation_reports import RenovationReportStore

log = logging.getLogger(__name__)


def readable_estates(actor: Actor) -> list[tuple[int, str]]:
    """The estates whose renovation papers ``actor`` may read (roles as stored now)."""
    seen: dict[int, str] = {}
    for m in actor.memberships:
        if may(Act.RENOVATION_PAPERS, actor.roles_in(m.estate_id)):
            seen[m.estate_id] = m.estate_name
    return sorted(seen.items())


async def _sheet(svc: Services, estate_id: int) -> Sheet:
    """The control sheet of today's working day (R-14's duty day) of one estate."""
    rules = await svc.rules(estate_id)
    day = reno.duty_day(rules, svc.clock.now())
    return control_sheet(await RenovationReportStore(svc.db).sheet_rows(estate_id, day), day)


async def _document(
    svc: Services, chat_id: int, person_id: int, name: str, data: bytes, caption: str
) -> None:
    """Queue a file for the chat (after what was said there) and send it."""
    async with svc.db.write() as conn:
        blob = await store_blob(conn, name, data)
        await enqueue(
            conn, chat_id, caption, person_id=person_id, blob=blob, blob_as="document"
        )  # fmt: skip
    await svc.deliver()


async def renovations(update: Update, context: Context) -> None:
    """``/renovations`` (``grid``): the control sheet, or the day's patrol grid, of each
    estate the person may read; their spreadsheet after the text."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None:
        return
    estates = readable_estates(actor)
    if not estates:
        await reply(update, context, actor.t("renovation_reports.staff_only"))
        return
    words = context.args or []
    grid = bool(words) and words[0].lower() in ("grid", "巡查", "巡查表", "巡查錶")
    svc = services(context)
    for estate_id, name in estates:
        sheet = await _sheet(svc, estate_id)
        if grid:
            await reply(update, context, render_grid(actor.locale, name, sheet))
            if not sheet.grid:
                continue
        else:
            text = render_sheet(actor.locale, name, sheet, with_grid=False)
            markup = None
            if sheet.grid:
                markup = keyboard(
                    [[button(actor.t("renovation_reports.btn_grid"), f"rs:grid:{estate_id}")]]
                )
            await reply(update, context, text, markup)
            if not sheet.rows:
                continue
        book = await asyncio.to_thread(sheet_workbook, actor.locale, name, sheet)
        caption = actor.t("renovation_reports.workbook_caption", estate=name)
        await _document(
            svc, message.chat_id, actor.person.id, sheet_file_name(actor.locale, name, sheet),
            book, caption,
        )  # fmt: skip


async def on_grid(update: Update, context: Context) -> None:
    """``rs:grid:<estate>``: the day's patrol grid of the sheet's estate (roles checked
    again)."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return
    estate_id = parse_id((query.data or "").removeprefix("rs:grid:"))
    names = dict(readable_estates(actor))
    if estate_id is None or estate_id not in names:
        await query.answer(actor.t("renovation_reports.staff_only"), show_alert=True)
        return
    await query.answer()
    sheet = await _sheet(services(context), estate_id)
    await reply(update, context, render_grid(actor.locale, names[estate_id], sheet))


async def dossier(update: Update, context: Context) -> None:
    """``/dossier ZX-…``: item 16, one renovation's dossier as a zip, to staff who may read
    its estate's renovation papers."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None:
        return
    if not readable_estates(actor):
        await reply(update, context, actor.t("renovation_reports.staff_only"))
        return
    number = (context.args[0] if context.args else "").strip().upper()
    svc = services(context)
    found = await RenovationReportStore(svc.db).find(number) if number else None
    if found is None or not may(Act.RENOVATION_PAPERS, actor.roles_in(found[1])):
        await reply(update, context, actor.t("renovation_reports.dossier_unknown"))
        return
    ren_id, estate_id = found
    facts = await RenovationReportStore(svc.db).dossier(ren_id)
    rules = await svc.rules(estate_id)
    store = svc.evidence

    def build() -> bytes:
        originals: dict[str, bytes] = {}
        for kept in facts.files:
            try:
                originals[kept.sha256] = store.read_original(kept.sha256)
            except FileNotFoundError:
                log.warning("dossier %s: original %s is missing", number, kept.sha256)
        return dossier_zip(actor.locale, number, facts, originals, rules)

    data = await asyncio.to_thread(build)
    if len(data) > MAX_DOCUMENT:
        await reply(update, context, actor.t("renovation_reports.dossier_too_big"))
        return
    await reply(
        update,
        context,
        actor.t(
            "renovation_reports.dossier_made",
            number=number,
            events=len(facts.events),
            files=len(facts.files),
        ),
    )
    caption = actor.t("renovation_reports.dossier_caption", number=number)
    await _document(svc, message.chat_id, actor.person.id, f"{number}-dossier.zip", data, caption)


def handlers() -> list[AnyHandler]:
    """/renovations (grid), its grid button, /dossier."""
    return [
        CommandHandler("renovations", renovations, filters.ChatType.PRIVATE),
        CommandHandler("dossier", dossier, filters.ChatType.PRIVATE),
        CallbackQueryHandler(on_grid, pattern=r"^rs:grid:"),
    ]
