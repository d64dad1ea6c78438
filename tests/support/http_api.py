"""A tiny Bot API over real HTTP (stdlib only), for tests that run ``python -m bot run``.

It answers the few methods start-up and the registration flow use, queues updates for
``getUpdates`` (long polling, offset confirms), and records every call. The full local
Telegram is the sandbox; this stays small so the process tests need nothing else.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

BOT_USER = {
    "id": 777001,
    "is_bot": True,
    "first_name": "物业测试",
    "username": "wuye_http_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


class HttpBotApi:
    """Start with :meth:`start`; ``calls`` holds ``(method, params)`` in order."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.updates: list[dict[str, Any]] = []
        self.next_update_id = 1
        self.next_message_id = 1
        self.lock = threading.Condition()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """What ``WUYE_API_URL`` should be."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/bot"

    def start(self) -> HttpBotApi:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def push(self, kind: str, payload: dict[str, Any]) -> None:
        """Queue an update (``message``, ``callback_query``…) for the next getUpdates."""
        with self.lock:
            self.updates.append({"update_id": self.next_update_id, kind: payload})
            self.next_update_id += 1
            self.lock.notify_all()

    def sent_texts(self, chat_id: int) -> list[str]:
        with self.lock:
            return [
                str(p.get("text"))
                for m, p in self.calls
                if m == "sendMessage" and str(p.get("chat_id")) == str(chat_id)
            ]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.05)
        return False

    def _answer(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            timeout = min(float(params.get("timeout") or 0), 1.0)
            with self.lock:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
                if not self.updates and timeout:
                    self.lock.wait(timeout)
                return list(self.updates)
        if method == "sendMessage":
            with self.lock:
                message_id = self.next_message_id
                self.next_message_id += 1
            chat_id = int(params["chat_id"])
            return {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
                "from": BOT_USER,
                "text": str(params.get("text", "")),
            }
        return True

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8") if length else ""
                prefix = f"/bot{api.token}/"
                if not self.path.startswith(prefix):
                    self._send(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                    return
                method = self.path.removeprefix(prefix)
                ctype = self.headers.get("Content-Type", "")
                if "json" in ctype:
                    params: dict[str, Any] = json.loads(body or "{}")
                else:
                    params = {k: v[0] for k, v in parse_qs(body).items()}
                with api.lock:
                    api.calls.append((method, params))
                self._send(200, {"ok": True, "result": api._answer(method, params)})

            do_GET = do_POST

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
