"""The bot's HTTP client for the Bot API (bot/http.py): PTB's calls over aiohttp, what a
Telegram server receives from it and what PTB makes of the answers and the failures."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

import bot.http
from bot.http import BotApiRequest

TOKEN = "123456:TEST"


class FakeTelegram:
    """A Bot API server on a free local port that records each call and answers it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.delay = 0.0
        #: The next call's failure: (status, parameters).
        self.fail: tuple[int, dict[str, Any] | None] | None = None

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        fields: dict[str, Any] = {}
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                data = await part.read()  # type: ignore[union-attr]
                name = part.name or ""  # type: ignore[union-attr]
                filename = part.filename  # type: ignore[union-attr]
                fields[name] = (filename, bytes(data)) if filename else data.decode()
        elif request.content_type == "application/json":
            fields = await request.json()
        else:
            fields = dict(await request.post())
        self.calls.append((method, request.content_type, fields))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail is not None:
            code, parameters = self.fail
            self.fail = None
            failure: dict[str, Any] = {"ok": False, "error_code": code, "description": "no"}
            if parameters:
                failure["parameters"] = parameters
            return web.json_response(failure, status=code)
        chat = {"id": int(fields.get("chat_id", 1)), "type": "private", "first_name": "王伟"}
        result: Any = {"message_id": len(self.calls), "date": 0, "chat": chat}
        if method == "sendMessage":
            result["text"] = fields["text"]
        elif method == "sendDocument":
            result["document"] = {"file_id": "f1", "file_unique_id": "u1"}
        elif method == "getMe":
            result = {"id": 42, "is_bot": True, "first_name": "物业", "username": "wuye_bot"}
        return web.json_response({"ok": True, "result": result})


@pytest.fixture
async def telegram() -> AsyncIterator[tuple[FakeTelegram, str]]:
    fake = FakeTelegram()
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield fake, f"http://127.0.0.1:{port}/bot"
    await runner.cleanup()


async def ready(request: BotApiRequest) -> BotApiRequest:
    """The request initialised and aiohttp imported (the worker thread's import done)."""
    await request.initialize()
    await asyncio.to_thread(bot.http._READY.wait, 10)
    return request


async def test_a_message_is_sent_as_one_json_document_and_its_answer_parsed(
    telegram: tuple[FakeTelegram, str],
) -> None:
    fake, base = telegram
    request = await ready(BotApiRequest())
    keys = InlineKeyboardMarkup([[InlineKeyboardButton("普通", callback_data="urg:normal")]])
    async with Bot(TOKEN, base_url=base, request=request, get_updates_request=request) as tg:
        message = await tg.send_message(
            chat_id=2001, text="您的报修已受理：BX-0001", reply_markup=keys
        )
    assert message.text == "您的报修已受理：BX-0001" and message.chat.id == 2001
    method, content_type, fields = fake.calls[-1]
    assert (method, content_type) == ("sendMessage", "application/json")
    assert fields["chat_id"] == 2001 and fields["text"] == "您的报修已受理：BX-0001"
    # the keyboard is an object of the document, not a JSON text inside a form field
    assert fields["reply_markup"] == {
        "inline_keyboard": [[{"text": "普通", "callback_data": "urg:normal"}]]
    }


async def test_a_file_is_uploaded_as_multipart(telegram: tuple[FakeTelegram, str]) -> None:
    fake, base = telegram
    request = await ready(BotApiRequest())
    async with Bot(TOKEN, base_url=base, request=request, get_updates_request=request) as tg:
        sent = await tg.send_document(
            chat_id=-100, document=b"week,cases\n1,3\n", filename="周报.csv", caption="周报"
        )
    assert sent.document is not None
    method, content_type, fields = fake.calls[-1]
    assert (method, content_type) == ("sendDocument", "multipart/form-data")
    assert fields["chat_id"] == "-100" and fields["caption"] == "周报"
    assert fields["document"] == ("周报.csv", b"week,cases\n1,3\n")


async def test_a_slow_answer_is_timed_out(telegram: tuple[FakeTelegram, str]) -> None:
    fake, base = telegram
    request = await ready(BotApiRequest(read_timeout=0.2))
    async with Bot(TOKEN, base_url=base, request=request, get_updates_request=request) as tg:
        fake.delay = 1.0
        with pytest.raises(TimedOut):
            await tg.send_message(chat_id=2001, text="?")


async def test_no_server_is_a_network_error() -> None:
    request = await ready(BotApiRequest(connect_timeout=2.0))
    bot_ = Bot(TOKEN, base_url="http://127.0.0.1:9/bot", request=request)
    with pytest.raises(NetworkError) as raised:
        await bot_.initialize()  # getMe
    assert not isinstance(raised.value, TimedOut)
    await request.shutdown()


async def test_calls_do_not_wait_for_aiohttps_import(
    telegram: tuple[FakeTelegram, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """At start-up the first calls do not wait for aiohttp's import: JSON calls go through
    the lean client (bot/http11.py) at once, a file upload through httpx meanwhile."""
    fake, base = telegram
    request = BotApiRequest()
    monkeypatch.setattr(bot.http, "_READY", threading.Event())  # as if still importing
    monkeypatch.setattr(bot.http, "_load_aiohttp", lambda: None)
    through: list[str] = []
    original = request._fallback.do_request

    async def recorded(url: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        through.append(url.rsplit("/", 1)[-1])
        return await original(url, *args, **kwargs)

    monkeypatch.setattr(request._fallback, "do_request", recorded)
    await request.initialize()
    async with Bot(TOKEN, base_url=base, request=request, get_updates_request=request) as tg:
        message = await tg.send_message(chat_id=2001, text="你好")
        await tg.send_document(chat_id=2001, document=b"a,b\n", filename="a.csv")
    assert message.text == "你好"
    assert through == ["sendDocument"]  # httpx took only the upload
    assert [(method, kind) for method, kind, _ in fake.calls] == [
        ("getMe", "application/octet-stream"),  # no parameters: no body, no type
        ("sendMessage", "application/json"),
        ("sendDocument", "multipart/form-data"),
    ]
    assert fake.calls[1][2] == {"chat_id": 2001, "text": "你好"}


async def test_a_telegram_error_is_raised_as_ptbs_from_the_lean_client(
    telegram: tuple[FakeTelegram, str],
) -> None:
    """PTB reads the status and body the lean client returns and raises its own errors."""
    fake, base = telegram
    request = await ready(BotApiRequest())
    async with Bot(TOKEN, base_url=base, request=request, get_updates_request=request) as tg:
        fake.fail = (429, {"retry_after": 7})
        with pytest.raises(RetryAfter) as raised:
            await tg.send_message(chat_id=2001, text="太快")
        fake.fail = (400, None)
        with pytest.raises(BadRequest):
            await tg.send_message(chat_id=2001, text="坏")
    assert raised.value.retry_after in (7, timedelta(seconds=7))


async def test_the_environments_proxy_is_used(
    telegram: tuple[FakeTelegram, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``HTTP_PROXY`` (as httpx honoured it): the server is only reachable through it."""
    fake, base = telegram
    monkeypatch.setenv("HTTP_PROXY", base.removesuffix("/bot"))
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    request = await ready(BotApiRequest(connect_timeout=2.0))
    url = "http://api.telegram.invalid/bot"
    async with Bot(TOKEN, base_url=url, request=request, get_updates_request=request) as tg:
        message = await tg.send_message(chat_id=2001, text="经代理")
    assert message.text == "经代理"
    assert [method for method, _, _ in fake.calls] == ["getMe", "sendMessage"]
