"""Q-5: the customer-centre supervisor's written conclusion of a week's summary.

The weekly summary reaches the supervisors (role ``cc_supervisor`` of the estate) with a
button, ``✍️ 写本周总结`` (``rp:cc:<estate>:<yyyymmdd>``, the week's local Monday). Pressed,
the bot asks for the conclusion; the supervisor's next private text message, within the
hour, is it — a plain message, no need to reply to the question. ``/cancel`` drops the
question; any other command means they moved on, and drops it too (the command runs as
usual), so a flow started afterwards never has its answers taken for a conclusion.

The conclusion is archived with the report (who, in which role, when, the text; append-only,
audited: :meth:`storage.reports.ReportStore.conclude`) and sent to the summary's recipients
(:data:`procedures.reports.WEEKLY_RECIPIENTS` and the management group), the writer
answered instead. One per week: a second is refused politely, naming who wrote the first
and when (the first stays the record; nothing is amended). Who may write it is checked on
the press and again on the message (:attr:`procedures.permissions.Act.WRITE_CONCLUSION`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop, CallbackQueryHandler, MessageHandler, filters

from bot.i18n import t
from handlers.common import (
    AnyHandler,
    Context,
    Services,
    button,
    flush_persistence,
    keyboard,
    newest_question,
    parse_id,
    reply,
    services,
    who,
)
from procedures.identity import Department, Role
from procedures.permissions import Act, may
from procedures.reports import MAX_CONCLUSION, WEEKLY, WEEKLY_RECIPIENTS, conclusion_problem
from storage.reports import Conclusion, Outgoing, ReportStore, SentReport

#: Where the awaited conclusion is remembered in the supervisor's user data.
AWAITED = "conclusion"
#: How long the question waits for its answer, in seconds.
CONCLUSION_SECONDS = 3600


def conclusion_keyboard(locale: str, estate_id: int, monday: date) -> InlineKeyboardMarkup:
    """Q-5: the button on a supervisor's copy of the weekly summary."""
    return keyboard(
        [[button(t(locale, "conclusion.button"), f"rp:cc:{estate_id}:{monday:%Y%m%d}")]]
    )


def _week(raw: str) -> date | None:
    """The week's Monday from button data (``20261012``), or None."""
    try:
        return datetime.strptime(raw, "%Y%m%d").date() if len(raw) == 8 else None
    except ValueError:
        return None


async def on_conclude(update: Update, context: Context) -> None:
    """``rp:cc``: a supervisor asks to write the week's conclusion: re-check the role, that
    the summary exists and has none yet; then ask for it, and await their next message."""
    query = update.callback_query
    if query is None or query.data is None or context.user_data is None:
        return
    actor = await who(update, context)
    parts = query.data.split(":")
    estate_id = parse_id(parts[2]) if len(parts) == 4 else None
    monday = _week(parts[3]) if len(parts) == 4 else None
    private = query.message is not None and query.message.chat.type == ChatType.PRIVATE
    if actor is None or estate_id is None or monday is None or not private:
        locale = actor.locale if actor else services(context).settings.locale
        await query.answer(t(locale, "common.stale_button"), show_alert=True)
        return
    if not may(Act.WRITE_CONCLUSION, actor.roles_in(estate_id)):
        await query.answer(actor.t("conclusion.only_supervisor"), show_alert=True)
        return
    svc = services(context)
    store = ReportStore(svc.db)
    report = await store.report(estate_id, WEEKLY, monday)
    if report is None:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    written = await store.conclusion(report.id)
    if written is not None:
        await query.answer(await _already(actor.locale, svc, estate_id, written), show_alert=True)
        return
    context.user_data[AWAITED] = {
        "estate": estate_id,
        "week": monday.isoformat(),
        "at": svc.clock.now().timestamp(),
    }
    await query.answer()
    await reply(
        update,
        context,
        actor.t("conclusion.write_now", week=monday.strftime("%m-%d"), most=MAX_CONCLUSION),
    )
    await flush_persistence(update, context)


async def _already(locale: str, svc: Services, estate_id: int, written: Conclusion) -> str:
    """A second conclusion refused politely: who wrote the first, and when (estate time)."""
    moment = (await svc.rules(estate_id)).calendar.local(written.at)
    return t(locale, "conclusion.already", name=written.by_name, at=moment.strftime("%m-%d %H:%M"))


def _awaited(context: Context, svc: Services) -> dict[str, Any] | None:
    """The conclusion this person was asked for, if the question is still open and no
    other flow's question came after it."""
    data = context.user_data
    waiting = data.get(AWAITED) if data is not None else None
    if not isinstance(waiting, dict) or data is None:
        return None
    at = float(waiting.get("at", 0))
    if svc.clock.now().timestamp() - at > CONCLUSION_SECONDS:
        data.pop(AWAITED, None)
        return None
    if newest_question(context) is not waiting:
        return None  # asked for something else since: that question takes the message
    return waiting


async def conclusion_text(update: Update, context: Context) -> None:
    """A supervisor's private message while a conclusion is awaited: it is the conclusion
    (Q-5), checked, archived and sent; ``/cancel`` drops the question, another command too
    (and goes on its way). Runs in an early handler group and stops the update only when it
    took it."""
    svc = services(context)
    waiting = _awaited(context, svc)
    message = update.effective_message
    if waiting is None or message is None or context.user_data is None:
        return
    text = (message.text or "").strip()
    if text.startswith("/"):
        context.user_data.pop(AWAITED, None)
        if text.split()[0].split("@")[0].lower() != "/cancel":
            return  # they moved on: the command runs as usual
        actor = await who(update, context)
        if actor is not None:
            await reply(update, context, actor.t("conclusion.cancelled"))
        await flush_persistence(update, context)
        raise ApplicationHandlerStop
    actor = await who(update, context)
    if actor is None:
        return
    estate_id, monday = int(waiting["estate"]), date.fromisoformat(str(waiting["week"]))
    store = ReportStore(svc.db)
    report = await store.report(estate_id, WEEKLY, monday)
    problem = conclusion_problem(text)
    if not may(Act.WRITE_CONCLUSION, actor.roles_in(estate_id)) or report is None:
        context.user_data.pop(AWAITED, None)  # no longer a supervisor there: nothing kept
        await reply(update, context, actor.t("conclusion.only_supervisor"))
    elif problem is not None:  # asked again: the question stays open
        await reply(
            update, context, actor.t(f"conclusion.{problem}", most=MAX_CONCLUSION, got=len(text))
        )
    else:
        context.user_data.pop(AWAITED, None)
        messages = await _messages(svc, report, actor.person.id, actor.person.name, text)
        now = svc.clock.now()
        stored = await store.conclude(
            report,
            by_id=actor.person.id,
            role=Role.CC_SUPERVISOR.value,
            text=text,
            at=now,
            messages=messages,
        )
        if stored:
            await reply(
                update,
                context,
                actor.t(
                    "conclusion.saved",
                    week=monday.strftime("%m-%d"),
                    count=len({m.chat_id for m in messages}),
                ),
            )
            await svc.deliver()
        else:
            written = await store.conclusion(report.id)
            if written is not None:
                await reply(update, context, await _already(actor.locale, svc, estate_id, written))
    await flush_persistence(update, context)
    raise ApplicationHandlerStop


async def _messages(
    svc: Services, report: SentReport, writer_id: int, writer: str, text: str
) -> list[Outgoing]:
    """The conclusion to the summary's recipients, each in their language, and to the
    management group; the writer is answered instead."""
    estate = await svc.identity.estate(report.estate_id)
    name = estate.name if estate else ""
    rules = await svc.rules(report.estate_id)
    at = rules.calendar.local(svc.clock.now()).strftime("%m-%d %H:%M")

    def render(locale: str) -> str:
        return t(
            locale,
            "conclusion.message",
            estate=name,
            week=report.period_start.strftime("%m-%d"),
            name=writer,
            at=at,
            text=text,
        )

    messages: list[Outgoing] = []
    people = await svc.notifier.people(report.estate_id, {r.value for r in WEEKLY_RECIPIENTS})
    for person in people:
        if person.id != writer_id:
            locale = svc.notifier.locale_of(person)
            messages.append(Outgoing(person.tg_user_id, render(locale), person.id))
    group = await svc.identity.department(report.estate_id, Department.MANAGEMENT.value)
    if group is not None and group.chat_id is not None:
        messages.append(Outgoing(group.chat_id, render(svc.notifier.default_locale)))
    return messages


def handlers() -> list[AnyHandler]:
    """The conclusion's button."""
    return [CallbackQueryHandler(on_conclude, pattern=r"^rp:cc:")]


def conclusion_text_handler() -> AnyHandler:
    """Private text (commands too) while a conclusion is awaited (an early group: see
    :func:`conclusion_text`)."""
    return MessageHandler(
        filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & filters.TEXT, conclusion_text
    )
