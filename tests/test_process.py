"""``python -m bot run`` as a real process over HTTP: polling, webhook with its secret,
and never the token in a log line."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.http_api import HttpBotApi

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "424242:PROCESS-TEST-TOKEN-secret"


def user(uid: int) -> dict[str, Any]:
    return {"id": uid, "is_bot": False, "first_name": "王伟", "language_code": "zh-hans"}


def start_message(uid: int) -> dict[str, Any]:
    return {
        "message_id": 1,
        "date": int(time.time()),
        "chat": {"id": uid, "type": "private", "first_name": "王伟"},
        "from": user(uid),
        "text": "/start",
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
    }


def contact_message(uid: int, phone: str) -> dict[str, Any]:
    return {
        "message_id": 3,
        "date": int(time.time()),
        "chat": {"id": uid, "type": "private", "first_name": "王伟"},
        "from": user(uid),
        "contact": {"phone_number": phone, "first_name": "王伟", "user_id": uid},
    }


@pytest.fixture
def api() -> Iterator[HttpBotApi]:
    server = HttpBotApi(TOKEN).start()
    yield server
    server.stop()


def env_for(tmp_path: Path, api: HttpBotApi, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("WUYE_")}
    return {
        **base,
        "PYTHONPATH": str(ROOT),
        "WUYE_TOKEN": TOKEN,
        "WUYE_API_URL": api.base_url,
        "WUYE_FILE_URL": api.base_url.replace("/bot", "/file/bot"),
        "WUYE_DB": str(tmp_path / "wuye.db"),
        "WUYE_LOG_LEVEL": "DEBUG",
        **extra,
    }


def seed(env: dict[str, str], cwd: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "bot", "seed-demo"], env=env, cwd=cwd, check=True, timeout=60,
        capture_output=True,
    )  # fmt: skip


def start_bot(env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    """``python -m bot run``, logging to ``cwd/bot.log``: a file, not a pipe, because a pipe
    nobody reads fills up under DEBUG logging and then blocks the bot's event loop."""
    log = (cwd / "bot.log").open("w", encoding="utf-8")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], env=env, cwd=cwd, text=True,
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    finally:
        log.close()  # the child holds its own copy


def stop(process: subprocess.Popen[str], cwd: Path) -> str:
    """Stop the bot as Ctrl-C does and return what it logged."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    return (cwd / "bot.log").read_text(encoding="utf-8")


def test_polling_against_the_api_url_registers_an_owner(tmp_path: Path, api: HttpBotApi) -> None:
    metrics = free_port()
    env = env_for(tmp_path, api, WUYE_METRICS_PORT=str(metrics))
    seed(env, tmp_path)
    api.push("message", start_message(2001))
    bot = start_bot(env, tmp_path)
    try:
        assert api.wait_for(lambda: any("手机号码" in t for t in api.sent_texts(2001)))
        api.push("message", contact_message(2001, "8613900000001"))
        assert api.wait_for(lambda: any("身份验证成功" in t for t in api.sent_texts(2001)))
        # Prometheus' page and the health endpoint, on the metrics port.
        assert api.wait_for(lambda: _listening(metrics))
        # (the answer may reach Telegram before its update's handling has ended and is
        # counted: the outbox sends while the handler finishes)
        counted = 'wuye_updates_total{kind="message"} 2.0'
        assert api.wait_for(lambda: counted in get(f"http://127.0.0.1:{metrics}/metrics")[1])
        status, page = get(f"http://127.0.0.1:{metrics}/metrics")
        assert status == 200
        assert counted in page
        assert "wuye_handler_seconds_count 2.0" in page
        assert "wuye_outbox_pending 0.0" in page
        assert api.wait_for(lambda: get(f"http://127.0.0.1:{metrics}/healthz")[0] == 200)
        assert get(f"http://127.0.0.1:{metrics}/healthz")[1].startswith("ok: database opens")
        health = run_cli(env, tmp_path, "health")
        assert health.returncode == 0, health.stderr
    finally:
        logs = stop(bot, tmp_path)
    methods = {m for m, _ in api.calls}
    assert {"getMe", "getUpdates", "setMyCommands", "sendMessage"} <= methods
    assert "Calling Bot API endpoint" in logs or "getUpdates" in logs  # DEBUG logging was on
    assert TOKEN not in logs
    assert TOKEN.split(":")[1] not in logs


def run_cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], env=env, cwd=cwd, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode()
    except OSError:
        return 0, ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post(url: str, payload: dict[str, Any], secret: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    request = urllib.request.Request(url, json.dumps(payload).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_webhook_mode_enforces_the_secret_token(tmp_path: Path, api: HttpBotApi) -> None:
    port = free_port()
    hook = f"http://127.0.0.1:{port}/hook"
    env = env_for(
        tmp_path,
        api,
        WUYE_WEBHOOK_URL=hook,
        WUYE_WEBHOOK_SECRET="s3cret-value-0123456789",
        WUYE_WEBHOOK_LISTEN="127.0.0.1",
        WUYE_WEBHOOK_PORT=str(port),
    )
    seed(env, tmp_path)
    bot = start_bot(env, tmp_path)
    try:
        assert api.wait_for(lambda: any(m == "setWebhook" for m, _ in api.calls))
        registered = next(p for m, p in api.calls if m == "setWebhook")
        assert registered["url"] == hook and registered["secret_token"] == "s3cret-value-0123456789"
        update = {"update_id": 1, "message": start_message(2001)}
        assert api.wait_for(lambda: _listening(port))
        assert post(hook, update, None) == 403
        assert post(hook, update, "wrong") == 403
        assert api.sent_texts(2001) == []
        assert post(hook, update, "s3cret-value-0123456789") == 200
        assert api.wait_for(lambda: any("手机号码" in t for t in api.sent_texts(2001)))
    finally:
        logs = stop(bot, tmp_path)
    assert TOKEN not in logs and "s3cret-value-0123456789" not in logs


def test_a_webhook_url_without_a_path_is_served_at_the_root(
    tmp_path: Path, api: HttpBotApi
) -> None:
    """Telegram posts to the URL exactly as registered: with no path, to /. The bot listens
    there (it listened on /telegram and every update was lost); `health` calls it."""
    port = free_port()
    hook = f"http://127.0.0.1:{port}"
    secret = "a-secret-of-32-characters-0123456"
    env = env_for(
        tmp_path, api, WUYE_WEBHOOK_URL=hook, WUYE_WEBHOOK_SECRET=secret,
        WUYE_WEBHOOK_LISTEN="127.0.0.1", WUYE_WEBHOOK_PORT=str(port),
    )  # fmt: skip
    seed(env, tmp_path)
    bot = start_bot(env, tmp_path)
    try:
        assert api.wait_for(lambda: any(m == "setWebhook" for m, _ in api.calls))
        registered = next(p for m, p in api.calls if m == "setWebhook")
        assert registered["url"] == hook
        assert api.wait_for(lambda: _listening(port))
        update = {"update_id": 1, "message": start_message(2001)}
        assert post(f"{hook}/", update, secret) == 200
        assert api.wait_for(lambda: any("手机号码" in t for t in api.sent_texts(2001)))
        assert api.wait_for(lambda: run_cli(env, tmp_path, "health").returncode == 0)
        health = run_cli(env, tmp_path, "health")
        assert health.stdout.strip().endswith("the webhook server answers")
    finally:
        logs = stop(bot, tmp_path)
    assert secret not in logs
    health = run_cli(env, tmp_path, "health")
    assert health.returncode == 1
    assert health.stderr.startswith("the webhook server does not answer")


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_webhook_without_a_secret_refuses_to_start(tmp_path: Path, api: HttpBotApi) -> None:
    env = env_for(tmp_path, api, WUYE_WEBHOOK_URL="https://example.org/hook")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"], env=env, cwd=tmp_path, text=True,
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "WUYE_WEBHOOK_SECRET" in done.stderr and "Traceback" not in done.stderr
