"""End-to-end plumbing: the sandbox and the real bot as separate processes, over HTTP.

``SandboxProcess`` runs ``python -m sandbox`` on a free port; ``BotProcess`` runs
``python -m bot run`` against it (polling, as in production) and can be stopped, killed
(SIGKILL) and started again on the same database. ``Player`` acts as one person through
the sandbox's JSON API so tests read like a script.
"""

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
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from storage.clock import read_offset, write_offset

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "7100000001:e2e-sandbox-token"
BOT_USERNAME = "wuye_e2e_bot"
#: Where the bot's clock starts in end-to-end tests: a Wednesday 10:00 in Shanghai, an
#: ordinary working week. From there it runs with the machine's seconds, and a test moves
#: it on (:meth:`BotProcess.advance`) instead of waiting.
E2E_START = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: How long a poll waits for something the bot should do by default: generous, because a
#: loaded machine (CI, two cores) can be slow; a test that passes waits only as long as
#: the bot takes. No test relies on real seconds passing: the bot's clock is moved instead.
PATIENCE = 60.0


def wait_for(predicate: Callable[[], Any], timeout: float = PATIENCE, what: str = "") -> Any:
    """Poll until ``predicate()`` is truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.05)


def _env(extra: dict[str, str]) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("WUYE_")}
    return {**base, "PYTHONPATH": str(ROOT), **extra}


class SandboxProcess:
    """``python -m sandbox`` on a free port, with its own data folder."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> SandboxProcess:
        # Its log goes to a file: a pipe nobody reads would fill up and stall the sandbox.
        self.log = self.data.with_name(self.data.name + ".log")
        handle = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "--port", str(self.port), "--data", str(self.data),
             "--token", TOKEN, "--bot-username", BOT_USERNAME],
            env=_env({}), stdout=subprocess.DEVNULL, stderr=handle,
        )  # fmt: skip
        handle.close()
        wait_for(self._up, what="the sandbox to answer")
        return self

    def _up(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            err = self.log.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise AssertionError(f"sandbox exited: {err}")
        try:
            self.get("/api/state")
            return True
        except (urllib.error.URLError, ConnectionError):
            return False

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.base + path, data=data, method=method,
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(req, timeout=15) as response:
            return json.loads(response.read() or b"null")

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def upload(self, path: str, fields: dict[str, str], content: bytes, filename: str) -> Any:
        """POST a multipart form with one file (as the chat page sends a photo)."""
        return self.upload_files(path, fields, [(content, filename)])

    def upload_files(
        self, path: str, fields: dict[str, str], files: list[tuple[bytes, str]]
    ) -> Any:
        """POST a multipart form with files, each named ``file`` (as the page sends an album)."""
        boundary = f"wuye-{os.getpid()}-{time.monotonic_ns()}"
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
            for k, v in fields.items()
        ]
        parts.extend(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"'
            f"\r\nContent-Type: application/octet-stream\r\n\r\n".encode()
            + content
            + b"\r\n"
            for content, filename in files
        )
        data = b"".join(parts) + f"--{boundary}--\r\n".encode()
        req = urllib.request.Request(
            self.base + path, data=data, method="POST",
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )  # fmt: skip
        with urllib.request.urlopen(req, timeout=15) as response:
            return json.loads(response.read() or b"null")

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, body if body is not None else {})

    def messages(self, chat_id: int) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.get(f"/api/chats/{chat_id}/messages")
        return result

    def bot_texts(self, chat_id: int) -> list[str]:
        """Texts (or captions) the bot sent to a chat, edits applied, in order."""
        return [
            str(m.get("text") or m.get("caption") or "")
            for m in self.messages(chat_id)
            if (m.get("from") or {}).get("is_bot")
        ]

    def wait_text(self, chat_id: int, fragment: str, timeout: float = PATIENCE) -> str:
        """The newest bot message in a chat containing ``fragment`` (waiting for it)."""

        def found() -> str | None:
            return next((t for t in reversed(self.bot_texts(chat_id)) if fragment in t), None)

        result: str = wait_for(found, timeout, f"{fragment!r} in chat {chat_id}")
        return result

    def group(self, title: str, members: list[int]) -> int:
        chat = self.post("/api/groups", {"title": title, "members": members})
        return int(chat["id"])

    def player(
        self, uid: int, name: str, phone: str | None = None, lang: str = "zh-hans"
    ) -> Player:
        self.post(
            "/api/people",
            {"id": uid, "first_name": name, "phone": phone, "language_code": lang},
        )
        return Player(self, uid)


class Player:
    """One person in the sandbox, acting through the JSON API."""

    def __init__(self, sandbox: SandboxProcess, uid: int) -> None:
        self.sandbox = sandbox
        self.uid = uid

    def send(self, text: str, chat: int | None = None, reply_to: int | None = None) -> None:
        body: dict[str, Any] = {"as": self.uid, "text": text}
        if reply_to is not None:
            body["reply_to"] = reply_to
        self.sandbox.post(f"/api/chats/{chat or self.uid}/text", body)

    def photo(
        self,
        content: bytes,
        *,
        caption: str | None = None,
        chat: int | None = None,
        reply_to: int | None = None,
        media_group_id: str | None = None,
    ) -> None:
        """Send a photo (an album's, when several share ``media_group_id``)."""
        fields = {"as": str(self.uid)}
        if caption:
            fields["caption"] = caption
        if reply_to is not None:
            fields["reply_to"] = str(reply_to)
        if media_group_id is not None:
            fields["media_group_id"] = media_group_id
        self.sandbox.upload(f"/api/chats/{chat or self.uid}/photo", fields, content, "photo.jpg")

    def album(
        self, contents: list[bytes], *, caption: str | None = None, chat: int | None = None
    ) -> None:
        """Send photos as one album, as Telegram's apps do: at once (the bot receives them
        together, nothing comes between them), the caption on the first."""
        fields = {"as": str(self.uid)}
        if caption:
            fields["caption"] = caption
        files = [(content, f"photo-{index}.jpg") for index, content in enumerate(contents, 1)]
        self.sandbox.upload_files(f"/api/chats/{chat or self.uid}/album", fields, files)

    def answer(self, fragment: str, text: str) -> None:
        """Reply (in the private chat) to the bot's newest message containing ``fragment``."""
        self.wait_text(fragment)
        message = next(
            m for m in reversed(self.sandbox.messages(self.uid))
            if (m.get("from") or {}).get("is_bot") and fragment in str(m.get("text"))
        )  # fmt: skip
        self.send(text, reply_to=int(message["message_id"]))

    def share_contact(self) -> None:
        self.sandbox.post(f"/api/chats/{self.uid}/contact", {"as": self.uid})

    def tap(
        self, button: str, chat: int | None = None, timeout: float = PATIENCE
    ) -> dict[str, Any]:
        """Tap the newest inline button with this text (waiting until it appears)."""
        chat_id = chat or self.uid

        def find() -> tuple[int, str] | None:
            for message in reversed(self.sandbox.messages(chat_id)):
                rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
                for row in rows:
                    for b in row:
                        if b.get("text") == button and "callback_data" in b:
                            return int(message["message_id"]), str(b["callback_data"])
            return None

        message_id, data = wait_for(find, timeout, f"button {button!r} in chat {chat_id}")
        result: dict[str, Any] = self.sandbox.post(
            f"/api/chats/{chat_id}/tap", {"as": self.uid, "message_id": message_id, "data": data}
        )
        return result

    def wait_text(self, fragment: str, timeout: float = PATIENCE) -> str:
        return self.sandbox.wait_text(self.uid, fragment, timeout)


class BotProcess:
    """``python -m bot run`` against the sandbox, on one database."""

    def __init__(
        self, sandbox: SandboxProcess, db: Path, admins: str = "", *, unpaced: bool = False
    ) -> None:
        """``unpaced``: Telegram's limits (a group's 20 messages a minute, a private chat's
        second) lifted, as ``bench/throughput.py`` lifts them — for a test walking a long
        flow through busy groups that checks something else (the pacing has tests of its
        own: tests/test_outbox_pacing.py); the same code otherwise."""
        self.unpaced = unpaced
        self.env = _env(
            {
                "WUYE_TOKEN": TOKEN,
                "WUYE_API_URL": f"{sandbox.base}/bot",
                "WUYE_FILE_URL": f"{sandbox.base}/file/bot",
                "WUYE_DB": str(db),
                "WUYE_ADMINS": admins,
                "WUYE_BOT_USERNAME": BOT_USERNAME,
                "WUYE_LOG_LEVEL": "INFO",
                "WUYE_TEST_MODE": "1",
                "WUYE_TEST_CLOCK_FILE": str(db.parent / "bot-clock"),
            }
        )
        self.cwd = db.parent
        self.process: subprocess.Popen[bytes] | None = None
        self.log = db.parent / "bot.log"
        self.clock_file = db.parent / "bot-clock"
        if not self.clock_file.exists():
            self.set_clock(E2E_START)

    def now(self) -> datetime:
        """The bot's time now (its clock file's offset on the machine's time)."""
        return datetime.fromtimestamp(time.time() + read_offset(self.clock_file), UTC)

    def set_clock(self, moment: datetime) -> None:
        """Put the bot's clock (and its CLI commands') at ``moment``; it runs on from there."""
        write_offset(self.clock_file, moment.timestamp() - time.time())

    def advance(self, delta: timedelta | None = None, **units: float) -> datetime:
        """Let time pass for the bot (``advance(days=15)``); its sweeper sees the new time at
        its next pass. Returns the bot's new time."""
        step = (delta or timedelta(0)) + timedelta(**units)
        write_offset(self.clock_file, read_offset(self.clock_file) + step.total_seconds())
        return self.now()

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``python -m bot …`` (seed-demo, invite…) with the same settings."""
        return subprocess.run(
            [sys.executable, "-m", "bot", *args], env=self.env, cwd=self.cwd,
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip

    def start(self) -> BotProcess:
        handle = self.log.open("ab")
        command = (
            [str(ROOT / "bench" / "throughput.py"), "--as-unpaced-bot"]
            if self.unpaced
            else ["-m", "bot", "run"]
        )
        self.process = subprocess.Popen(
            [sys.executable, *command], env=self.env, cwd=self.cwd,
            stdout=handle, stderr=subprocess.STDOUT,
        )  # fmt: skip
        handle.close()
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush — as a crash or a power cut."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
