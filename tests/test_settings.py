"""Settings and the command line: a bad value is one clear line, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[1]


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings(_env_file=None)
    assert s.timezone == "Asia/Shanghai"
    assert s.locale == "zh-Hans"
    assert s.api_url == "https://api.telegram.org/bot"
    assert s.admins == ()


def test_values_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WUYE_ADMINS", "101, 202")
    monkeypatch.setenv("WUYE_LOCALE", "en")
    monkeypatch.setenv("WUYE_API_URL", "http://127.0.0.1:8081/bot")
    s = load_settings(_env_file=None)
    assert s.admins == (101, 202)
    assert s.locale == "en"
    assert s.api_url == "http://127.0.0.1:8081/bot"


def test_a_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("WUYE_TIMEZONE=Asia/Hong_Kong\n", encoding="utf-8")
    assert load_settings().timezone == "Asia/Hong_Kong"


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("WUYE_TIMEZONE", "Mars/Olympus", "unknown time zone"),
        ("WUYE_ADMINS", "alice", "Telegram user ids"),
        ("WUYE_LOCALE", "fr", "zh-Hans"),
        ("WUYE_WEBHOOK_PORT", "99999", ""),
        ("WUYE_TOKEN", "not-a-token", "@BotFather"),
        ("WUYE_API_URL", "ftp://x", "http"),
    ],
)
def test_a_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    message = str(caught.value)
    assert message.startswith(f"{name}:")
    assert fragment in message
    assert "\n" not in message


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("WUYE_")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**base, "PYTHONPATH": str(ROOT), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_start_up_with_a_bad_value_prints_one_line(tmp_path: Path) -> None:
    done = _run(["run"], {"WUYE_TIMEZONE": "Nowhere/Land"}, tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "Configuration error: WUYE_TIMEZONE: unknown time zone 'Nowhere/Land'"
    ]


def test_run_without_a_token_says_how_to_get_one(tmp_path: Path) -> None:
    done = _run(["run"], {}, tmp_path)
    assert done.returncode == 2
    assert "WUYE_TOKEN" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("[estates.x.rules.Q-4]\ndue = '12x'\n", "estate 'x', rule 'Q-4'"),
        ("not toml = = =", "not valid TOML"),
    ],
)
def test_a_bad_estates_file_stops_start_up_with_one_line(
    tmp_path: Path, content: str, fragment: str
) -> None:
    config = tmp_path / "estates.toml"
    config.write_text(content, encoding="utf-8")
    done = _run(["run"], {"WUYE_TOKEN": "1:x", "WUYE_ESTATES_CONFIG": str(config)}, tmp_path)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("Configuration error: WUYE_ESTATES_CONFIG:") and fragment in line


@pytest.mark.parametrize(
    ("secret", "fragment"),
    [
        ("short-secret-15c", ""),  # 16: the shortest accepted
        ("A" * 256, ""),  # Telegram's longest
        ("only-15-chars!!", "only the letters A-Z and a-z"),
        ("fifteen_chars_x", "too short (15 characters): use at least 16"),
        ("x" * 257, "at most 256"),
        ("with space in the secret", "only the letters"),
        ("密码密码密码密码密码密码密码密码", "only the letters"),
    ],
)
def test_the_webhook_secret_follows_telegrams_rule(
    monkeypatch: pytest.MonkeyPatch, secret: str, fragment: str
) -> None:
    """Telegram's secret_token: 1–256 of A-Z a-z 0-9 _ -; under 16 is refused here."""
    monkeypatch.setenv("WUYE_WEBHOOK_SECRET", secret)
    if not fragment:
        assert load_settings(_env_file=None).webhook_secret == secret
        return
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert str(caught.value).startswith("WUYE_WEBHOOK_SECRET:")
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_a_short_webhook_secret_stops_start_up_with_one_line(tmp_path: Path) -> None:
    done = _run(
        ["run"],
        {"WUYE_TOKEN": "1:x", "WUYE_WEBHOOK_URL": "https://bot.example.org/tg",
         "WUYE_WEBHOOK_SECRET": "s3cret"},
        tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("Configuration error: WUYE_WEBHOOK_SECRET: too short (6 characters)")


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("https://bot.example.org", ""),
        ("https://bot.example.org/", ""),
        ("https://bot.example.org/telegram", "telegram"),
        ("https://bot.example.org/wuye/hook/", "wuye/hook"),
    ],
)
def test_the_webhook_listens_where_telegram_is_told_to_post(url: str, path: str) -> None:
    """The path the bot listens on is the URL's own: a URL with no path is served at /
    (it listened on /telegram while Telegram posted to /)."""
    assert load_settings(_env_file=None, webhook_url=url).webhook_path == path


@pytest.mark.parametrize(
    ("value", "fragment"),
    [("25:00", "03:30, or off"), ("3.30", "03:30"), ("soon", "off")],
)
def test_a_bad_backup_time_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str, fragment: str
) -> None:
    monkeypatch.setenv("WUYE_BACKUP_AT", value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert str(caught.value).startswith("WUYE_BACKUP_AT:") and fragment in str(caught.value)


def test_the_daily_backup_time_is_in_the_deployments_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WUYE_BACKUP_AT", "4:05")
    monkeypatch.setenv("WUYE_TIMEZONE", "Asia/Hong_Kong")
    moment = load_settings(_env_file=None).backup_time
    assert moment is not None and (moment.hour, moment.minute) == (4, 5)
    assert str(moment.tzinfo) == "Asia/Hong_Kong"
    monkeypatch.setenv("WUYE_BACKUP_AT", "off")
    assert load_settings(_env_file=None).backup_time is None
