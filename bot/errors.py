"""One error handler: log with context, tell the admins (rate-limited); and log redaction.

The bot token is part of every Bot API URL; :class:`RedactingFilter` removes it from every
log record, and httpx (which logs request URLs) is kept at WARNING.
"""

from __future__ import annotations

import contextlib
import html
import logging
import time
import traceback

from telegram import Update, User
from telegram.constants import ParseMode
from telegram.error import NetworkError, RetryAfter, TelegramError
from telegram.ext import ContextTypes

from bot.settings import Settings

log = logging.getLogger("wuye.errors")

#: At most one alert per this many seconds reaches the admins; the rest are counted.
ALERT_INTERVAL = 60.0


class RedactingFilter(logging.Filter):
    """Replace secrets (the bot token, the webhook secret) in every log record."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def redact(self, text: str) -> str:
        """The text with every secret replaced."""
        for secret in self.secrets:
            text = text.replace(secret, "[REDACTED]")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message once, redact it, and drop the arguments."""
        if not self.secrets:
            return True
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.redact(
                "".join(traceback.format_exception(*record.exc_info))
            ).rstrip("\n")
            record.exc_info = None
        return True


def configure_logging(settings: Settings) -> None:
    """Root logging with the redacting filter on every handler; quiet httpx."""
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    install_redaction(settings)


def install_redaction(settings: Settings) -> None:
    """Attach the filter to every root handler (idempotent)."""
    secret_filter = RedactingFilter([settings.token, settings.webhook_secret])
    for handler in logging.getLogger().handlers:
        for existing in list(handler.filters):
            if isinstance(existing, RedactingFilter):
                handler.removeFilter(existing)
        handler.addFilter(secret_filter)
    for noisy in ("httpx", "httpcore", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class AdminAlerts:
    """Tell admins about errors, at most once per :data:`ALERT_INTERVAL`."""

    def __init__(
        self,
        admins: tuple[int, ...],
        interval: float = ALERT_INTERVAL,
        secrets: list[str] | None = None,
    ) -> None:
        self.admins = admins
        self.redactor = RedactingFilter(secrets or [])
        self.interval = interval
        self.last_sent = float("-inf")
        self.suppressed = 0

    def due(self, now: float | None = None) -> bool:
        """Whether an alert may go out now (otherwise it is counted as suppressed)."""
        moment = time.monotonic() if now is None else now
        if moment - self.last_sent < self.interval:
            self.suppressed += 1
            return False
        self.last_sent = moment
        return True


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the error with what caused it; alert the admins; apologise to the person.

    Telegram out of reach while polling (a ``getUpdates`` that failed: no update, no job)
    is a warning, not an error: PTB polls again by itself, nothing was lost (the updates
    stay with Telegram until confirmed), and a long outage shows in ``health``."""
    error = context.error
    if update is None and context.job is None and isinstance(error, NetworkError | RetryAfter):
        log.warning("polling Telegram failed, trying again: %s: %s", type(error).__name__, error)
        return
    where = describe(update)
    log.error("error while handling %s", where, exc_info=error)
    alerts: AdminAlerts | None = context.application.bot_data.get("alerts")
    if alerts is not None and alerts.admins and alerts.due():
        summary = alerts.redactor.redact(f"{type(error).__name__}: {error}")
        extra = f" (+{alerts.suppressed} more since the last alert)" if alerts.suppressed else ""
        alerts.suppressed = 0
        text = (
            f"⚠️ <b>Wuye error</b>{html.escape(extra)}\n<code>{html.escape(where)}</code>\n"
            f"<pre>{html.escape(summary[:3000])}</pre>"
        )
        for admin in alerts.admins:
            try:
                await context.bot.send_message(admin, text, parse_mode=ParseMode.HTML)
            except TelegramError as exc:
                log.warning("could not alert admin %s: %s", admin, exc)
    if isinstance(update, Update) and update.effective_chat and update.effective_user:
        from bot.i18n import t

        if update.effective_chat.type == "private":
            locale = await apology_locale(update.effective_user, context)
            with contextlib.suppress(TelegramError):
                await context.bot.send_message(update.effective_chat.id, t(locale, "common.error"))


async def apology_locale(user: User, context: ContextTypes.DEFAULT_TYPE) -> str:
    """The person's language for the apology: their /lang choice, else Telegram's; Telegram's
    when the database cannot tell (it may be what failed)."""
    from handlers.common import person_locale, services
    from procedures.identity import locale_for

    svc = services(context)
    try:
        person = await svc.identity.person_by_tg(user.id)
    except Exception:  # the error being apologised for may be the database's
        log.warning("no locale for the apology to user %s", user.id, exc_info=True)
        person = None
    if person is not None:
        return person_locale(person, svc.settings.locale)
    return locale_for(user.language_code, svc.settings.locale)


def describe(update: object) -> str:
    """A short description of an update for logs: kind, chat, user — never message text."""
    if not isinstance(update, Update):
        return repr(update)[:200]
    kind = "callback" if update.callback_query else "message" if update.message else "update"
    chat = update.effective_chat.id if update.effective_chat else None
    user = update.effective_user.id if update.effective_user else None
    return f"{kind} #{update.update_id} chat={chat} user={user}"
