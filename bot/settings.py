"""Settings from ``WUYE_*`` environment variables and an optional ``.env`` file.

A bad value stops start-up with one clear line naming the variable (see
:func:`load_settings`), never a traceback.
"""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot import crashpoints
from storage.clock import Clock, OffsetClock, SystemClock

LOCALES = ("zh-Hans", "zh-Hant", "en")
#: Telegram's characters for a webhook's ``secret_token`` (setWebhook), 1 to 256 of them.
SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
#: The shortest webhook secret accepted: shorter ones are refused at start-up.
MIN_SECRET = 16


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


class Settings(BaseSettings):
    """Everything the process can be told from outside."""

    model_config = SettingsConfigDict(
        env_prefix="WUYE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    token: str = ""
    api_url: str = "https://api.telegram.org/bot"
    file_url: str = "https://api.telegram.org/file/bot"
    db: Path = Path("data/wuye.db")
    data_dir: Path = Path("data/files")
    timezone: str = "Asia/Shanghai"
    admins: Annotated[tuple[int, ...], NoDecode] = ()
    locale: str = "zh-Hans"
    bot_username: str = ""
    invite_ttl_hours: int = Field(default=72, ge=1, le=24 * 90)
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    log_level: str = "INFO"
    # Backups (storage/backup.py): the folder of `python -m bot backup` and the daily job,
    # how many database copies stay there, and the estate-time moment of the daily one.
    backup_dir: Path = Path("data/backups")
    backup_keep: int = Field(default=7, ge=1, le=3650)
    backup_at: str = "03:30"
    # Prometheus metrics and the HTTP health endpoint (bot/metrics.py); port 0: none.
    metrics_listen: str = "127.0.0.1"
    metrics_port: int = Field(default=9464, ge=0, le=65535)
    # `python -m bot health`: the longest a heartbeat (polling, sweeper, sender) may be old.
    health_max_age: float = Field(default=60.0, gt=0, le=86400)
    estates_config: Path | None = None
    chart_font: Path | None = None  # a .ttf/.ttc with Chinese glyphs for report charts

    @field_validator("chart_font", mode="before")
    @classmethod
    def _check_chart_font(cls, value: object) -> object:
        """``WUYE_CHART_FONT``: empty means none; otherwise a font file that exists."""
        if value is None or value == "":
            return None
        if not Path(str(value)).is_file():
            raise ValueError(f"no font file at {value} (give a .ttf or .ttc with Chinese glyphs)")
        return value

    # Test mode only (end-to-end tests start the bot as a process): the bot's clock runs
    # ahead of the machine's by the seconds written in this file, so a test can let days
    # pass in seconds. Refused unless WUYE_TEST_MODE is set: a production bot keeps time.
    test_mode: bool = False
    test_clock_file: Path | None = None
    # Test mode only: the crash point (bot.crashpoints) where the process kills itself.
    test_crash_at: str = ""

    @model_validator(mode="after")
    def _test_clock_only_in_test_mode(self) -> Settings:
        if self.test_clock_file is not None and not self.test_mode:
            raise ValueError(
                "WUYE_TEST_CLOCK_FILE is for tests only; set WUYE_TEST_MODE=1 with it, "
                "or unset it (a production bot keeps the real time)"
            )
        if self.test_crash_at and not self.test_mode:
            raise ValueError(
                "WUYE_TEST_CRASH_AT is for tests only; set WUYE_TEST_MODE=1 with it, "
                "or unset it (a production bot does not kill itself)"
            )
        if self.test_crash_at and self.test_crash_at not in crashpoints.POINTS:
            raise ValueError(
                f"WUYE_TEST_CRASH_AT: no crash point {self.test_crash_at!r}"
                f" (known: {', '.join(sorted(crashpoints.POINTS))})"
            )
        return self

    sandbox_host: str = "127.0.0.1"
    sandbox_port: int = Field(default=8080, ge=1, le=65535)

    @field_validator("admins", mode="before")
    @classmethod
    def _parse_admins(cls, value: object) -> tuple[int, ...]:
        if value is None or value == "":
            return ()
        if isinstance(value, int):
            return (value,)
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
            try:
                return tuple(int(p) for p in parts)
            except ValueError:
                raise ValueError("expected comma-separated Telegram user ids") from None
        if isinstance(value, list | tuple):
            return tuple(int(v) for v in value)
        raise ValueError("expected comma-separated Telegram user ids")

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("locale")
    @classmethod
    def _check_locale(cls, value: str) -> str:
        for known in LOCALES:
            if value.lower() == known.lower():
                return known
        raise ValueError(f"expected one of {', '.join(LOCALES)}")

    @field_validator("token")
    @classmethod
    def _check_token(cls, value: str) -> str:
        value = value.strip()
        if value and (":" not in value or not value.split(":", 1)[0].isdigit()):
            raise ValueError("expected a bot token like 123456:ABC… from @BotFather")
        return value

    @field_validator("api_url", "file_url", "webhook_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// address")
        return value

    @field_validator("backup_at")
    @classmethod
    def _check_backup_at(cls, value: str) -> str:
        """``WUYE_BACKUP_AT``: ``HH:MM`` in the deployment's time zone, or ``off``."""
        value = value.strip().lower()
        if value == "off":
            return value
        match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value)
        if not match:
            raise ValueError("expected a time of day like 03:30, or off")
        return f"{int(match[1]):02d}:{match[2]}"

    @field_validator("webhook_secret")
    @classmethod
    def _check_webhook_secret(cls, value: str) -> str:
        """Telegram's ``secret_token``: 1–256 of A-Z a-z 0-9 _ -; refused under
        :data:`MIN_SECRET` characters, which a guess could find (empty: polling)."""
        if not value:
            return value
        if not SECRET.fullmatch(value):
            raise ValueError(
                "only the letters A-Z and a-z, the digits 0-9, _ and - are allowed"
                " (Telegram's rule), at most 256 of them"
            )
        if len(value) < MIN_SECRET:
            raise ValueError(
                f"too short ({len(value)} characters): use at least {MIN_SECRET}, e.g. the"
                " output of: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return value

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("expected DEBUG, INFO, WARNING or ERROR")
        return value

    @property
    def tz(self) -> ZoneInfo:
        """The deployment's default time zone."""
        return ZoneInfo(self.timezone)

    @property
    def webhook_path(self) -> str:
        """The URL path the webhook listens on: the path of ``webhook_url``, which is where
        Telegram posts, without its leading slash; empty for a URL with no path (the bot
        then listens at ``/``). A reverse proxy passes the path on unchanged
        (docs/reverse-proxy.md)."""
        from urllib.parse import urlparse

        return urlparse(self.webhook_url).path.strip("/")

    @property
    def backup_time(self) -> time | None:
        """The daily backup's time of day in the deployment's zone (None: ``off``)."""
        if self.backup_at == "off":
            return None
        hours, minutes = self.backup_at.split(":")
        return time(int(hours), int(minutes), tzinfo=self.tz)


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning a validation failure into one :class:`ConfigError` line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = str(err["msg"]).removeprefix("Value error, ")
        if not err["loc"] and msg.startswith("WUYE_"):  # a check across settings names its own
            raise ConfigError(msg) from None
        field = str(err["loc"][0]) if err["loc"] else "?"
        raise ConfigError(f"WUYE_{field.upper()}: {msg}") from None


def clock_for(settings: Settings) -> Clock:
    """The application's clock: the machine's, or in test mode the one the test moves."""
    if settings.test_clock_file is not None:
        return OffsetClock(settings.test_clock_file)
    return SystemClock()


def read_estates_config(path: Path) -> dict[str, Any]:
    """The estates' config file (TOML) as a document for :func:`procedures.deadlines.load_estate`;
    a :class:`ConfigError` if it cannot be read or is not TOML. Not checked: see
    :func:`load_estates_config`."""
    import tomllib

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"WUYE_ESTATES_CONFIG: cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"WUYE_ESTATES_CONFIG: {path} is not valid TOML: {exc}") from None


def load_estates_config(settings: Settings) -> dict[str, Any] | None:
    """The estates' time settings (``WUYE_ESTATES_CONFIG``), checked in full at start-up so a
    mistake stops the bot with one line instead of surfacing at the first deadline."""
    path = settings.estates_config
    if path is None:
        return None
    from procedures.deadlines import load_estate

    document = read_estates_config(path)
    try:
        load_estate("", document)
        for name in document.get("estates", {}) or {}:
            load_estate(str(name), document)
    except ValueError as exc:
        raise ConfigError(f"WUYE_ESTATES_CONFIG: {exc}") from None
    return document


def require_token(settings: Settings) -> str:
    """The bot token, or a :class:`ConfigError` explaining how to get one."""
    if not settings.token:
        raise ConfigError("WUYE_TOKEN: not set; get a token from @BotFather and set WUYE_TOKEN")
    return settings.token
