"""Admins import the developer's roster (主清冊) by sending a CSV or XLSX file.

``/import [estate]`` picks the estate (buttons when the admin has several; a deployment
admin may name a new estate), then the file is checked row by row. A file with any error
imports nothing and every bad row is listed (row, column, reason); a good file creates or
updates units in one transaction. Large files show their progress by editing one message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from html import escape
from typing import Any

from telegram import Message, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from handlers import asked
from handlers.common import (
    Actor,
    AnyHandler,
    Context,
    button,
    edit,
    in_rows,
    keyboard,
    reply,
    services,
    who,
)
from handlers.staff import administered, administered_estate
from procedures.roster import RosterError, parse_roster
from storage.identity import Estate

log = logging.getLogger(__name__)

#: Telegram lets bots download files up to 20 MB.
MAX_FILE_BYTES = 20 * 1024 * 1024
#: How many row errors one reply lists before "… and N more".
ERRORS_SHOWN = 30
#: Files with at least this many rows get progress messages.
PROGRESS_ROWS = 1000
#: A chosen estate waits this long for its file; after that a file asks again.
CHOICE_SECONDS = 30 * 60
#: The error report stays under Telegram's 4096 characters; cell values are cut to this.
REPORT_LIMIT = 3800
VALUE_LIMIT = 40
#: Longest estate name accepted.
ESTATE_NAME_LIMIT = 60


async def import_command(update: Update, context: Context) -> None:
    """/import [estate]: choose where the next roster file goes."""
    actor = await who(update, context)
    if actor is None or context.user_data is None:
        return
    if update.effective_chat and update.effective_chat.type != ChatType.PRIVATE:
        await reply(update, context, actor.t("roster.private_only"))
        return
    svc = services(context)
    if context.args:
        name = " ".join(" ".join(context.args).split())
        estate = await svc.identity.estate_by_name(name)
        if estate is None and actor.is_global_admin and len(name) <= ESTATE_NAME_LIMIT:
            # A new estate is created only on a tap, so a typo does not leave one behind.
            context.user_data["import_new_estate"] = name
            text = actor.t("roster.confirm_new_estate", estate=name)
            markup = keyboard([[button(actor.t("roster.create_estate"), "imp:new")]])
            asked.remember(context, text, markup)  # typed text meanwhile: the button named
            await reply(update, context, text, markup)
            return
        if estate is None or not actor.admin_of(estate.id):
            await reply(
                update, context, actor.t("roster.unknown_estate", estate=name[:ESTATE_NAME_LIMIT])
            )
            return
        await choose(update, context, actor, estate)
        return
    estates = await administered(context, actor)
    if not estates:
        key = "roster.no_estates_yet" if actor.is_global_admin else "common.admins_only"
        await reply(update, context, actor.t(key))
        return
    if len(estates) == 1:
        await choose(update, context, actor, estates[0])
        return
    await ask_estate(update, context, actor, estates)


async def ask_estate(update: Update, context: Context, actor: Actor, estates: list[Estate]) -> None:
    """Which estate the roster goes to: its buttons (typed text meanwhile names them)."""
    buttons = [button(e.name, f"imp:e:{e.id}") for e in estates]
    text, markup = actor.t("roster.choose_estate"), keyboard(in_rows(buttons))
    asked.remember(context, text, markup)
    await reply(update, context, text, markup)


async def choose(update: Update, context: Context, actor: Actor, estate: Estate) -> None:
    """Remember the estate; import a file already waiting, or ask for one."""
    assert context.user_data is not None
    context.user_data["import_estate"] = estate.id
    context.user_data["import_chosen_at"] = services(context).clock.now().timestamp()
    waiting = context.user_data.pop("import_file", None)
    if waiting:
        await run_import(update, context, actor, estate, waiting)
    else:
        text = actor.t("roster.send_file", estate=estate.name)
        asked.remember(context, text, None, "roster.file_expected")  # text is no file
        await reply(update, context, text)


async def on_estate_button(update: Update, context: Context) -> None:
    """An estate button of /import (admin rights re-checked)."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return
    estate = await administered_estate(query, context, actor, (query.data or "").rsplit(":")[-1])
    if estate is None:
        return
    await query.answer()
    await edit(query.message, actor.t("roster.estate_chosen", estate=estate.name))
    await choose(update, context, actor, estate)


async def on_new_estate(update: Update, context: Context) -> None:
    """The confirm button of ``/import <new estate>`` (deployment admins only)."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None or context.user_data is None:
        return
    name = context.user_data.pop("import_new_estate", None)
    if not actor.is_global_admin:
        await query.answer(actor.t("common.admins_only"), show_alert=True)
        return
    if not name:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    await query.answer()
    estate = await services(context).identity.ensure_estate(name, actor=f"person:{actor.person.id}")
    await edit(query.message, actor.t("roster.estate_chosen", estate=estate.name))
    await choose(update, context, actor, estate)


async def got_document(update: Update, context: Context) -> None:
    """A file in the private chat: an admin's roster; anyone else gets a polite word."""
    actor = await who(update, context)
    message = update.effective_message
    if actor is None or message is None or message.document is None:
        return
    assert context.user_data is not None
    estates = await administered(context, actor)
    if not estates:
        await reply(update, context, actor.t("roster.file_admins_only"))
        return
    doc = message.document
    waiting = {"file_id": doc.file_id, "name": doc.file_name or "", "size": doc.file_size or 0}
    chosen = context.user_data.get("import_estate")
    now = services(context).clock.now().timestamp()
    fresh = now - float(context.user_data.get("import_chosen_at") or 0) < CHOICE_SECONDS
    estate = next((e for e in estates if e.id == chosen), None) if fresh else None
    if estate is None:
        # Without a recent /import, a file is imported only once the admin taps the estate.
        context.user_data["import_file"] = waiting
        await ask_estate(update, context, actor, estates)
        return
    await run_import(update, context, actor, estate, waiting)


class Progress:
    """Row counts reported from the parsing thread, shown by editing one message."""

    def __init__(self) -> None:
        self.done = 0
        self.total = 0

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = done, total


async def tick(message: Message, actor: Actor, progress: Progress, key: str) -> None:
    """Every second, show how far the work is (until cancelled)."""
    shown = -1
    while True:
        await asyncio.sleep(1.0)
        if progress.total >= PROGRESS_ROWS and progress.done != shown:
            shown = progress.done
            with contextlib.suppress(TelegramError):
                await message.edit_text(
                    actor.t(key, done=progress.done, total=progress.total),
                    parse_mode=ParseMode.HTML,
                )


async def run_import(
    update: Update, context: Context, actor: Actor, estate: Estate, waiting: dict[str, Any]
) -> None:
    """Download, check and (if every row is good) import one roster file."""
    svc = services(context)
    if int(waiting.get("size") or 0) > MAX_FILE_BYTES:
        await reply(update, context, actor.t("roster.too_big"))
        return
    # None when Telegram is down and the note was queued: the import goes on, and what the
    # note would have been edited to is sent as a message of its own.
    status = await reply(update, context, actor.t("roster.reading", estate=estate.name), keep=True)

    async def say(text: str) -> None:
        if status is not None:
            await edit(status, text)
        else:
            await reply(update, context, text)

    try:
        file = await context.bot.get_file(waiting["file_id"])
        data = bytes(await file.download_as_bytearray())
    except TelegramError as exc:
        log.warning("roster download failed: %s", exc)
        await say(actor.t("roster.download_failed"))
        return
    progress = Progress()
    ticker = (
        asyncio.create_task(tick(status, actor, progress, "roster.checking"))
        if status is not None
        else None
    )
    try:
        result = await asyncio.to_thread(parse_roster, data, waiting.get("name") or "", progress)
    finally:
        if ticker is not None:
            ticker.cancel()
    if not result.ok:
        await say(actor.t("roster.rejected", errors=len(result.errors) or 1))
        await reply(update, context, error_report(actor, result.errors))
        return
    if len(result.rows) >= PROGRESS_ROWS:
        await say(actor.t("roster.checked", rows=len(result.rows)))
    summary = await svc.identity.import_roster(
        estate.id,
        result.rows,
        actor=f"person:{actor.person.id}",
        actor_id=actor.person.id,
    )
    assert context.user_data is not None
    context.user_data.pop("import_estate", None)
    context.user_data.pop("import_chosen_at", None)
    asked.forget(context)
    await reply(
        update,
        context,
        actor.t(
            "roster.imported",
            estate=estate.name,
            rows=len(result.rows),
            created=summary.created,
            updated=summary.updated,
            unchanged=summary.unchanged,
            unbound=summary.unbound,
        ),
    )


def error_report(actor: Actor, errors: list[RosterError]) -> str:
    """Every bad row as ``row · column: reason`` (the first few dozen, then a count)."""
    lines: list[str] = []
    size = 0
    for shown, err in enumerate(errors[:ERRORS_SHOWN]):
        params = {
            k: v if len(v) <= VALUE_LIMIT else v[:VALUE_LIMIT] + "…" for k, v in err.params.items()
        }
        reason = actor.t(err.key, **params)
        where = []
        if err.row is not None:
            where.append(actor.t("roster.where_row", row=err.row))
        if err.column:
            where.append(escape(err.column))
        line = f"• {' · '.join(where)}: {reason}" if where else f"• {reason}"
        size += len(line) + 1
        if size > REPORT_LIMIT:
            lines.append(actor.t("roster.more_errors", count=len(errors) - shown))
            break
        lines.append(line)
    else:
        if len(errors) > ERRORS_SHOWN:
            lines.append(actor.t("roster.more_errors", count=len(errors) - ERRORS_SHOWN))
    return actor.t("roster.errors_title") + "\n" + "\n".join(lines)


def handlers() -> list[AnyHandler]:
    """/import, its estate buttons and documents sent in private."""
    return [
        CommandHandler("import", import_command),
        CallbackQueryHandler(on_estate_button, pattern=r"^imp:e:"),
        CallbackQueryHandler(on_new_estate, pattern=r"^imp:new$"),
        MessageHandler(
            filters.UpdateType.MESSAGE & filters.Document.ALL & filters.ChatType.PRIVATE,
            got_document,
        ),
    ]
