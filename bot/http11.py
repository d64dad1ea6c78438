"""A lean HTTP/1.1 client for the Bot API's JSON calls: keep-alive connections to one server.

Nearly every call the bot makes is a small JSON document POSTed to one server and a small
JSON answer back (``sendMessage``, ``answerCallbackQuery``, ``editMessageText``,
``getUpdates``). aiohttp's client did that in about 0.15–0.2 ms of the event loop's CPU a
call, most of it building and tearing down its request and response objects (headers
multidicts, cookie jars, tracing hooks, timers, a payload writer task); that was a sixth
of the bot's CPU per update (``bench/throughput.py``, py-spy). Here a request is one
``bytes`` written to a kept-alive connection and the answer is parsed from what the socket
gives: the status line, the headers it needs (``Content-Length``, ``Transfer-Encoding:
chunked``, ``Connection: close``) and the body.

What it does not do, and who does: file uploads (multipart), downloads (GET), proxies and
anything but ``http``/``https`` go through aiohttp (``bot.http.BotApiRequest`` chooses).
No redirects (Telegram sends none) and no compression (none is asked for).

Connections: at most ``limit`` at once (waiting for one counts against the pool timeout);
an idle one is kept :data:`IDLE_FOR` seconds, less than servers' keep-alive (nginx 75 s),
and one the server closed meanwhile is never reused. A connection that fails before any
byte of the answer came is a :class:`ConnectionError` (the caller's ``NetworkError``: the
request may not have reached the server); a timeout is a :class:`TimeoutError`; in both
cases the connection is closed, never reused.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from typing import Any

#: Seconds an idle connection is kept for the next request.
IDLE_FOR = 30.0
#: The largest answer taken (bytes): getUpdates' 100 updates fit many times over.
MAX_ANSWER = 64 * 1024 * 1024


class _Connection(asyncio.Protocol):
    """One connection: an answer at a time, parsed as its bytes arrive."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self.closed = False
        self.idle_since = 0.0
        #: The answer's head, once parsed: (status, header end, body length or -1 chunked,
        #: keep-alive).
        self._head: tuple[int, int, int, bool] | None = None

    # -- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is None or self.waiter.done():
            if self.waiter is None:  # bytes nobody asked for: the connection is unusable
                self.close()
            return
        try:
            answer = self._answer()
        except ValueError as error:
            self.waiter.set_exception(ConnectionError(f"bad answer from the server: {error}"))
            self.close()
            return
        if answer is not None:
            self.waiter.set_result(answer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if self._head is not None and self._head[2] == -2:  # the body runs to the close
            status, end, _, _ = self._head
            waiter.set_result((status, bytes(self.buffer[end:]), False))
            return
        waiter.set_exception(
            ConnectionError(
                "the server closed the connection"
                + (" before answering" if not self.buffer else " in the middle of its answer")
                + (f": {exc}" if exc else "")
            )
        )

    # -- use ----------------------------------------------------------------------------------

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def send(self, request: bytes) -> asyncio.Future[tuple[int, bytes, bool]]:
        """Write a request; the future is its answer (status, body, connection reusable)."""
        assert self.transport is not None
        self.buffer.clear()
        self._head = None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.waiter

    def _answer(self) -> tuple[int, bytes, bool] | None:
        """The answer once it is whole in the buffer, else None."""
        if self._head is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > 65536:
                    raise ValueError("headers too long")
                return None
            self._head = _parse_head(bytes(self.buffer[:end]), end + 4)
        status, start, length, keep = self._head
        if length >= 0:
            if len(self.buffer) - start < length:
                return None
            # bytes past the answer were never asked for: the connection is not reused
            keep = keep and len(self.buffer) - start == length
            return status, bytes(self.buffer[start : start + length]), keep
        if length == -2:  # to the end of the connection (connection_lost)
            return None
        body = _dechunk(self.buffer, start)
        return None if body is None else (status, body, keep)


def _parse_head(head: bytes, start: int) -> tuple[int, int, int, bool]:
    """(status, where the body starts, its length: -1 chunked, -2 up to the close,
    keep-alive) from an answer's status line and headers."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise ValueError(f"status line {lines[0][:80]!r}")
    status = int(parts[1])
    length = -2
    keep = parts[0] == "HTTP/1.1"
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        value = value.strip()
        if name == "content-length":
            if not value.isdigit() or int(value) > MAX_ANSWER:
                raise ValueError(f"content-length {value[:20]!r}")
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value.lower():
            length = -1
        elif name == "connection":
            keep = "close" not in value.lower() and (keep or "keep-alive" in value.lower())
    if status in (204, 304) or 100 <= status < 200:
        length = 0
    if length == -2:
        keep = False
    return status, start, length, keep


def _dechunk(buffer: bytearray, start: int) -> bytes | None:
    """A chunked body once its last chunk came, else None."""
    body = bytearray()
    at = start
    while True:
        line_end = buffer.find(b"\r\n", at)
        if line_end < 0:
            return None
        size_text = bytes(buffer[at:line_end]).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ValueError(f"chunk size {size_text[:20]!r}") from None
        if size == 0:
            # the trailers (normally none) end with an empty line
            return bytes(body) if buffer.find(b"\r\n\r\n", line_end) >= 0 else None
        chunk_start = line_end + 2
        if len(buffer) < chunk_start + size + 2:
            return None
        body += buffer[chunk_start : chunk_start + size]
        if len(body) > MAX_ANSWER:
            raise ValueError("chunked body too long")
        at = chunk_start + size + 2


class Http11Pool:
    """Keep-alive connections to one server, for POSTs of a body (module docstring)."""

    def __init__(
        self,
        scheme: str,
        host: str,
        port: int | None,
        *,
        limit: int,
        context: ssl.SSLContext | None = None,
    ) -> None:
        """``context``: the TLS settings for ``https`` (default: :meth:`_ssl`'s)."""
        if scheme not in ("http", "https"):
            raise ValueError(f"not an HTTP URL scheme: {scheme}")
        self.host = host
        self.tls = scheme == "https"
        self.port = port or (443 if self.tls else 80)
        default_port = self.port == (443 if self.tls else 80)
        self._host_header = (host if default_port else f"{host}:{self.port}").encode("idna")
        self._idle: deque[_Connection] = deque()
        self._slots = asyncio.Semaphore(limit)
        self._context = context

    async def post(
        self,
        path: str,
        body: bytes,
        content_type: bytes,
        *,
        connect_timeout: float | None,
        read_timeout: float | None,
        pool_timeout: float | None,
        user_agent: bytes,
    ) -> tuple[int, bytes]:
        """POST ``body`` (of ``content_type``; an empty body goes without one) to ``path``;
        the answer's status and body.

        TimeoutError when the pool, the connection or the answer took too long;
        ConnectionError when the connection failed."""
        if self._slots.locked():  # every connection busy: wait, up to the pool timeout
            try:
                await asyncio.wait_for(self._slots.acquire(), pool_timeout)
            except TimeoutError:
                raise TimeoutError("no connection free within the pool timeout") from None
        else:
            await self._slots.acquire()  # free: taken at once
        try:
            conn = self._idle_connection() or await self._connect(within=connect_timeout)
            request = b"".join(
                (
                    b"POST ", path.encode("ascii"), b" HTTP/1.1\r\nHost: ", self._host_header,
                    b"\r\nUser-Agent: ", user_agent,
                    b"\r\nContent-Type: " + content_type if body else b"",
                    b"\r\nContent-Length: ", str(len(body)).encode("ascii"),
                    b"\r\nAccept: application/json\r\n\r\n", body,
                )
            )  # fmt: skip
            answer = conn.send(request)
            loop = asyncio.get_running_loop()
            timer = (
                loop.call_later(read_timeout, _expire, answer, conn)
                if read_timeout is not None
                else None
            )
            try:
                status, content, keep = await answer
            except BaseException:
                conn.close()
                raise
            finally:
                if timer is not None:
                    timer.cancel()
                conn.waiter = None
            if keep and not conn.closed:
                conn.idle_since = time.monotonic()
                self._idle.append(conn)
            else:
                conn.close()
            return status, content
        finally:
            self._slots.release()

    def _idle_connection(self) -> _Connection | None:
        """The most recently used idle connection still open and fresh, if any."""
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if conn.closed or now - conn.idle_since > IDLE_FOR or conn.transport is None:
                conn.close()
                continue
            if conn.transport.is_closing():
                conn.close()
                continue
            return conn
        return None

    async def _connect(self, *, within: float | None) -> _Connection:
        loop = asyncio.get_running_loop()
        context = self._ssl() if self.tls else None
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(
                    _Connection, self.host, self.port, ssl=context,
                    server_hostname=self.host if context else None,
                ),
                within,
            )  # fmt: skip
        except TimeoutError:
            raise TimeoutError(f"connecting to {self.host}:{self.port} timed out") from None
        except OSError as error:
            raise ConnectionError(f"cannot connect to {self.host}:{self.port}: {error}") from error
        return conn

    def _ssl(self) -> ssl.SSLContext:
        """The TLS context (made once): certifi's authorities when installed (as httpx and
        PTB use them), else the system's."""
        if self._context is None:
            try:
                import certifi

                self._context = ssl.create_default_context(cafile=certifi.where())
            except ImportError:
                self._context = ssl.create_default_context()
        return self._context

    def close(self) -> None:
        """Close every idle connection."""
        while self._idle:
            self._idle.pop().close()


def _expire(answer: asyncio.Future[Any], conn: _Connection) -> None:
    if not answer.done():
        answer.set_exception(TimeoutError("the server did not answer in time"))
    conn.close()
