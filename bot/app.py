"""The application factory: handlers in order, persistence, commands, error handling."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import time
from typing import Any

from telegram import BotCommand, BotCommandScopeAllGroupChats, Update
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, TypeHandler
from telegram.request import BaseRequest

from bot.backups import BACKUP_JOB, daily_backup
from bot.calendar_watch import CALENDAR_EVERY, calendar_job
from bot.errors import AdminAlerts, on_error
from bot.health import POLLING, SENDER, Heart, beat, heartbeat_path
from bot.http import BotApiRequest
from bot.i18n import catalogs, t
from bot.inbox import PRUNE_EVERY, Inbox, InboxBot
from bot.menus import MenuSync
from bot.outbox import OutboxSender
from bot.renovation_reports import RENOVATION_WEEKLY_EVERY, SHEET_EVERY, sheet_job
from bot.renovation_reports import weekly_job as renovation_weekly_job
from bot.reports import DAILY_EVERY, WEEKLY_EVERY, daily_job, weekly_job
from bot.settings import Settings, load_estates_config, require_token
from bot.sweeper import Firing, Sweeper
from bot.updates import PerChatUpdateProcessor, plain_update
from handlers import (
    callbacks,
    calls,
    cards,
    complaints,
    customer_visits,
    general,
    photos,
    reactions,
    registration,
    renovation,
    renovation_completion,
    renovation_delegate,
    renovation_entry,
    renovation_filings,
    renovation_hotwork,
    renovation_patrol,
    renovation_reports,
    reports,
    requests,
    roster,
    staff,
    verification,
)
from handlers.common import AnyHandler, Context, Rulebook, Services, flush_persistence
from handlers.notify import Notifier
from storage.cases import CaseStore
from storage.db import Database, update_scope
from storage.evidence import EvidenceStore
from storage.identity import IdentityStore
from storage.persistence import SQLitePersistence

log = logging.getLogger(__name__)

#: Commands shown in Telegram's menu, per language: (command, text key).
PRIVATE_COMMANDS = [
    ("start", "command.start"),
    ("register", "command.register"),
    ("whoami", "command.whoami"),
    ("lang", "command.lang"),
    ("help", "command.help"),
    ("cancel", "command.cancel"),
    ("invite", "command.invite"),
    ("import", "command.import"),
    ("pending", "command.pending"),
    ("request", "command.request"),
    ("complain", "command.complain"),
    ("my", "command.my"),
    ("renovate", "command.renovate"),
    ("case", "command.case"),
    ("record", "command.record"),
    ("visit", "command.visit"),
    ("pass", "command.pass"),
    ("patrol", "command.patrol"),
    ("hotwork", "command.hotwork"),
    ("temppass", "command.temppass"),
]
GROUP_COMMANDS = [("bind", "command.bind"), ("help", "command.help")]

#: Telegram's language codes are two letters: "zh" users share the default (zh-Hans).
COMMAND_LANGUAGES = {None: "zh-Hans", "en": "en"}


class PlainTextApplication(Application[Any, Context, Any, Any, Any, Any]):
    """PTB's application, handed every update with what people typed made plain first
    (``bot.updates.plain_update``): polling, webhook and the inbox's replays alike."""

    async def process_update(self, update: object) -> None:
        """Handle one update in a scope of its own (``storage.db.update_scope``: who the
        person is, read once for every handler it passes)."""
        metrics = self.bot_data.get("metrics")
        if metrics is None:
            with update_scope():
                await super().process_update(plain_update(update, self.bot))
            return
        began = time.perf_counter()  # handler latency and updates by kind (bot/metrics.py)
        try:
            with update_scope():
                await super().process_update(plain_update(update, self.bot))
        finally:
            metrics.updated(update_kind(update), time.perf_counter() - began)

    async def initialize(self) -> None:
        """PTB's initialize (getMe answers in it); then the department cards' reply links
        name the bot: ``WUYE_BOT_USERNAME``, else the username getMe gave."""
        await super().initialize()
        settings = self.bot_data.get("settings")
        configured = settings.bot_username if isinstance(settings, Settings) else ""
        cards.use_bot_username(configured or self.bot.username)


def update_kind(update: object) -> str:
    """What an update carries (``message``, ``callback_query``…), as the metrics label it."""
    if isinstance(update, Update):
        for kind in Update.ALL_TYPES:
            if getattr(update, kind, None) is not None:
                return kind
    return "other"


def build_application(
    settings: Settings,
    *,
    db: Database,
    request: BaseRequest | None = None,
    rate_limit: bool = True,
) -> Application[Any, Context, Any, Any, Any, Any]:
    """Build the bot on an open database (opened on the loop the bot will run on).

    ``request`` replaces the HTTP layer (tests pass a recording fake of the Bot API).
    """
    # Every update getUpdates returns is stored before PTB can confirm it to Telegram, marked
    # when handled, and handled after a crash (bot/inbox.py): the bot is built here, with
    # what ApplicationBuilder would give it (its HTTP pools: 256 connections, 1 for polling).
    inbox = Inbox(db)
    bot = InboxBot(
        require_token(settings),
        inbox=inbox,
        base_url=settings.api_url,
        base_file_url=settings.file_url,
        request=request or BotApiRequest(connection_pool_size=256),  # bot/http.py: cheaper
        get_updates_request=request or BotApiRequest(connection_pool_size=1),
        # The outbox paces itself to Telegram's limits (bot.pacing); the limiter is the net
        # under what still bursts. No retries: while it waits out one chat's 429 it holds
        # every request of every chat. A 429 is the caller's: the outbox retries that chat's
        # message when Telegram says, a direct answer goes to the outbox.
        rate_limiter=AIORateLimiter(max_retries=0) if rate_limit else None,
    )
    builder: ApplicationBuilder[Any, Context, Any, Any, Any, Any] = (
        Application.builder()
        .application_class(PlainTextApplication)
        .bot(bot)
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
    )
    # Different people's updates at once, each person's in order (bot/updates.py); the end
    # of each update's handling marks it in the inbox.
    builder = builder.concurrent_updates(PerChatUpdateProcessor(finished=inbox.done))
    # A flow's state and data changed by an update are written with the update's mark
    # (storage.persistence), in one transaction at its end.
    inbox.persistence = SQLitePersistence(db)
    builder = builder.persistence(inbox.persistence)
    app = builder.build()
    app.bot_data["inbox"] = inbox
    app.bot_data["settings"] = settings
    app.bot_data["alerts"] = AdminAlerts(
        settings.admins, secrets=[settings.token, settings.webhook_secret]
    )
    identity = IdentityStore(db)
    # Albums of evidence photos are read from the files check-audit verifies (bot.__main__).
    evidence = EvidenceStore(settings.data_dir)
    sender = OutboxSender(db, app.bot, on_migrated=identity.migrate_chat, evidence=evidence)
    services = Services(
        settings=settings,
        db=db,
        identity=identity,
        cases=CaseStore(db),
        rules=(rulebook := Rulebook(identity, load_estates_config(settings))),
        notifier=Notifier(identity, settings.locale, rulebook),
        sender=sender,
    )
    sender.on_blocked = reactions.on_blocked(services)
    sweeper = Sweeper(db, reactions.reactor(services))
    sweeper.on_fired = sender.poke
    sweeper.on_wake = Heart(heartbeat_path(settings)).beat  # `python -m bot health` reads it
    app.bot_data["sweeper"] = sweeper
    app.bot_data["outbox"] = sender
    watch(app, settings, db)  # heartbeats and metrics (bot/health.py, bot/metrics.py)
    # Each person's private-chat menu, by role and language (bot/menus.py), set in the
    # background from the rows role and language changes mark.
    app.bot_data["menus"] = MenuSync(
        db, app.bot, admins=settings.admins, default_locale=settings.locale
    )
    app.bot_data["services"] = services
    register(app)
    return app


def watch(
    app: Application[Any, Context, Any, Any, Any, Any], settings: Settings, db: Database
) -> None:
    """Let the outbox sender and polling beat (the sweeper beats at each wake-up), and, when
    ``WUYE_METRICS_PORT`` is set, count updates, sends and fired clocks."""
    inbox: Inbox = app.bot_data["inbox"]
    sender: OutboxSender = app.bot_data["outbox"]
    sweeper: Sweeper = app.bot_data["sweeper"]
    sender.on_tick = Heart(heartbeat_path(settings, SENDER)).beat
    inbox.on_polled = Heart(heartbeat_path(settings, POLLING)).beat
    if not settings.metrics_port:
        return
    from bot.metrics import Metrics

    metrics = Metrics(db.path, db.clock.now)
    app.bot_data["metrics"] = metrics
    sender.on_result = metrics.sent

    def fired(firing: Firing) -> None:
        due = firing.deadline.warn_at if firing.warning else firing.deadline.due_at
        lateness = (firing.now - due).total_seconds() if due is not None else 0.0
        metrics.fired(warning=firing.warning, late=firing.late, lateness=lateness)

    sweeper.on_fire = fired


def register(app: Application[Any, Context, Any, Any, Any, Any]) -> None:
    """Every handler, in the order that matters (first match in a group wins)."""
    # Group -3: a week's written conclusion being awaited takes the supervisor's next private
    # message; it steps aside for a question another flow asked after it (group -1).
    app.add_handler(reports.conclusion_text_handler(), group=-3)
    # Group -2: a phone callback's notes being written (B-4) take the assistant's next
    # private message before anything else does.
    app.add_handler(callbacks.notes_handler(), group=-2)
    # Group -1: a handling opinion or a resident's further opinion being written takes that
    # person's next private message before any flow or hint sees it.
    app.add_handler(complaints.opinion_text_handler(), group=-1)
    # Group -4: a private command starts something else; the questions awaiting a text
    # there are dropped first, so a plain message after it is not taken as their answer.
    app.add_handler(complaints.questions_dropped_handler(), group=-4)
    # Group -6: staff who opened the private chat from a card's reply link: their next
    # private message or photo is the progress for the owner (when that is the newest
    # question), before any flow sees it.
    app.add_handler(requests.private_progress_handler(), group=-6)
    # Group 0, in order: the persistent flows first, so their steps see their replies; then
    # each procedure's buttons and commands; the catch-all hints last, for what nothing took.
    procedures: list[AnyHandler] = [
        registration.conversation(),  # owners bind their account to the roster
        *requests.handlers(),  # P6, and every case's first-responder and department steps
        *photos.handlers(),  # a case's photos sent on request (/case's 📷 button)
        *calls.handlers(),  # P5: /record, calls and visits received
        *customer_visits.handlers(),  # P9: /visit, customer visits
        *complaints.handlers(),  # P7: complaints
        *callbacks.handlers(),  # P8: callbacks
        *renovation.handlers(),  # P2: /renovate, documents checked, the heads' approval
        *renovation_patrol.handlers(),  # P2: works begun, /patrol
        *renovation_completion.handlers(),  # P2: completion inspection, refund
        *renovation_delegate.handlers(),  # P2: /delegate, a head's delegate signs
        *renovation_hotwork.handlers(),  # P2: /hotwork, /temppass (S-1)
        *renovation_filings.handlers(),  # P2: the authorities' receipts (R-6)
        *renovation_entry.handlers(),  # P2: the entry inspection and notice
        *renovation_entry.handlers(),  # P2: entry inspection, /works
        *renovation_entry.handlers(),  # P2: entry inspection, /works, /extend
        *renovation_reports.handlers(),  # P2: /renovations (the control sheet), /dossier
        *reports.handlers(),  # the weekly summary's written conclusion
        *verification.handlers(),  # staff verify owners not on the roster
        *staff.handlers(),  # invites and roles (IT)
        *roster.handlers(),  # the developer's roster (IT)
        *general.commands(),  # /start, /help, /lang, /whoami…
    ]
    for handler in procedures:
        app.add_handler(handler)
    for handler in general.catch_all():
        app.add_handler(handler)
    # Group 99: after every update, write conversation state and user data at once, so a
    # killed process loses nothing a person already sent (not only every 60 s).
    app.add_handler(TypeHandler(Update, flush_persistence), group=99)
    app.add_error_handler(on_error)


async def post_init(app: Application[Any, Context, Any, Any, Any, Any]) -> None:
    """Replay what a crash cut off; start the outbox sender and the jobs; register the
    command menus."""
    settings: Settings = app.bot_data["settings"]
    # The texts (every locale's TOML files, some 50 ms to parse) are read in a worker thread
    # meanwhile, so the first answer does not wait for them on the event loop.
    app.bot_data["texts"] = asyncio.get_running_loop().run_in_executor(None, catalogs)
    # Persistence has loaded and polling has not started: the updates stored but never
    # handled go into the update queue first, oldest first, ahead of anything new.
    inbox: Inbox = app.bot_data["inbox"]
    await inbox.prune()
    await inbox.replay(app)
    # The outbox sender is a long-lived task of its own, woken when something is queued
    # (poke), when a chat's turn comes and every second; never a job, so a long drain (a
    # group's minute, a slow Telegram) cannot make the sweeper's ticks be skipped, nor a long
    # sweep the sender's. It stops in post_stop, after the sends under way are marked.
    outbox: OutboxSender = app.bot_data["outbox"]
    outbox.start()
    try:  # photos attached when the bot stopped, before their display copies were made
        await photos.recover(app.bot_data["services"])
    except Exception:  # a photo that no longer decodes must not stop the bot: logged
        log.exception("could not make the display copies left undone")
    # The deadline sweeper is a long-lived task too: it sleeps until the next timer's moment
    # and is woken by every nearer one scheduled (bot/sweeper.py). It stops in post_stop.
    sweeper: Sweeper = app.bot_data["sweeper"]
    sweeper.start()
    if app.job_queue is not None:
        app.job_queue.run_repeating(weekly_job, interval=WEEKLY_EVERY, first=5, name="weekly")
        app.job_queue.run_repeating(daily_job, interval=DAILY_EVERY, first=15, name="daily")
        app.job_queue.run_repeating(  # the renovation control sheet, each working day
            sheet_job, interval=SHEET_EVERY, first=20, name="renovation_sheet"
        )
        app.job_queue.run_repeating(  # the weekly renovation report
            renovation_weekly_job, interval=RENOVATION_WEEKLY_EVERY, first=25,
            name="renovation_weekly",
        )  # fmt: skip
        app.job_queue.run_repeating(
            calendar_job, interval=CALENDAR_EVERY, first=10, name="calendar"
        )
        app.job_queue.run_repeating(
            prune_inbox, interval=PRUNE_EVERY, first=PRUNE_EVERY, name="inbox"
        )
        if settings.backup_time is not None:  # WUYE_BACKUP_AT, in the deployment's zone
            app.job_queue.run_daily(daily_backup, time=settings.backup_time, name=BACKUP_JOB)
    # What the first answers need not wait for runs after polling starts, in the background.
    app.bot_data["settling"] = asyncio.create_task(settle_in(app), name="start-up's rest")
    menus: MenuSync = app.bot_data["menus"]
    menus.start()  # each person's own menu, in the background
    log.info("bot @%s ready (locale %s)", app.bot.username, settings.locale)


async def settle_in(app: Application[Any, Context, Any, Any, Any, Any]) -> None:
    """The rest of start-up, which no answer waits for: the HTTP server of ``/metrics`` and
    ``/healthz`` (aiohttp imported in a worker thread: it takes a fifth of a second) and the
    default command menus (four calls to Telegram)."""
    if app.bot_data.get("serve_http") and app.bot_data.get("metrics") is not None:
        await asyncio.to_thread(importlib.import_module, "aiohttp.web")
        await start_http(app)
    try:
        await set_commands(app)
    except Exception as exc:  # a menu is a nicety; never block start-up on it
        log.warning("could not register the command menus: %s", exc)


async def set_commands(app: Application[Any, Context, Any, Any, Any, Any]) -> None:
    """The default command menus, for people the bot does not know yet: private chats per
    language, and group chats (the people it knows get their own: bot/menus.py)."""
    for language, locale in COMMAND_LANGUAGES.items():
        await app.bot.set_my_commands(
            [BotCommand(c, t(locale, key)) for c, key in PRIVATE_COMMANDS],
            language_code=language,
        )
        await app.bot.set_my_commands(
            [BotCommand(c, t(locale, key)) for c, key in GROUP_COMMANDS],
            scope=BotCommandScopeAllGroupChats(),
            language_code=language,
        )


async def sweep(context: Context) -> None:
    """One sweep by hand, as the sweeper's task makes at each wake-up: warn about and fire
    due deadlines. What they queue is the outbox sender's (the sweeper pokes it); the sweep
    never waits for Telegram."""
    services: Services = context.application.bot_data["services"]
    sweeper: Sweeper = context.application.bot_data["sweeper"]
    await sweeper.sweep()
    beat(heartbeat_path(services.settings))  # `python -m bot health` reads it


async def prune_inbox(context: Context) -> None:
    """Job: forget the inbox's handled updates older than a few days."""
    inbox: Inbox = context.application.bot_data["inbox"]
    await inbox.prune()


async def post_stop(app: Application[Any, Context, Any, Any, Any, Any]) -> None:
    """Stop the outbox sender (before PTB shuts the bot's connection down)."""
    await stop_sender(app)


async def stop_sender(app: Application[Any, Context, Any, Any, Any, Any]) -> None:
    """Stop the deadline sweeper's task (a firing under way commits first), the outbox
    sender's (the sends under way end and are marked first) and the menus' (a menu being set
    stays due)."""
    sweeper = app.bot_data.get("sweeper")
    if isinstance(sweeper, Sweeper):
        await sweeper.stop()
    menus = app.bot_data.get("menus")
    if isinstance(menus, MenuSync):
        await menus.stop()
    outbox = app.bot_data.get("outbox")
    if isinstance(outbox, OutboxSender):
        await outbox.stop()


async def start_http(app: Application[Any, Context, Any, Any, Any, Any]) -> None:
    """Serve ``/metrics`` and ``/healthz`` (``WUYE_METRICS_PORT``); a port already taken is
    logged, and the bot runs on without them."""
    settings: Settings = app.bot_data["settings"]
    metrics = app.bot_data.get("metrics")
    if metrics is None:
        return
    from bot.health import check
    from bot.metrics import serve

    try:
        app.bot_data["http"] = await serve(
            metrics, lambda: check(settings), listen=settings.metrics_listen,
            port=settings.metrics_port,
        )  # fmt: skip
    except OSError as exc:
        log.error(
            "metrics: cannot listen on %s:%d: %s", settings.metrics_listen,
            settings.metrics_port, exc,
        )  # fmt: skip


async def post_shutdown(app: Application[Any, Context, Any, Any, Any, Any]) -> None:
    """Close what ``python -m bot run`` opened (the sender too, had post_stop not run)."""
    settling = app.bot_data.pop("settling", None)
    if isinstance(settling, asyncio.Task) and not settling.done():
        settling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await settling
    await stop_sender(app)
    http = app.bot_data.pop("http", None)
    if http is not None:
        await http.cleanup()
    owned = app.bot_data.get("owned_db")
    if isinstance(owned, Database):
        await owned.close()
