"""The lean HTTP/1.1 client (bot/http11.py) against a server that answers byte by byte as
the test says: what it sends, which answers it takes (lengths, chunks, an answer that runs
to the close), when it keeps a connection and when it must not, its timeouts and failures,
and TLS with a certificate it must check."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.http11 import Http11Pool

TLS = Path(__file__).parent / "support" / "tls"
AGENT = b"wuye-test"

#: What the server does with the n-th request (from 0) of the whole test: it writes these
#: pieces (pausing between them) and, with ``close``, closes the connection after.
Answer = Callable[[int, bytes], Awaitable["Reply"]]


@dataclass
class Reply:
    pieces: list[bytes]
    close: bool = False
    delay: float = 0.0  # before answering


@dataclass
class Wire:
    """A server on 127.0.0.1: every request it read, and how many connections it took."""

    answer: Answer
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                reply = await self.answer(len(self.requests) - 1, request)
                if reply.delay:
                    await asyncio.sleep(reply.delay)
                for piece in reply.pieces:
                    writer.write(piece)
                    await writer.drain()
                    await asyncio.sleep(0.01)  # the client sees the pieces one by one
                if reply.close:
                    writer.close()
                    return
        finally:
            writer.close()


def ok(body: bytes, *headers: bytes) -> Reply:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + b"".join(
        h + b"\r\n" for h in headers
    )
    return Reply([head + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n", body])


async def always_ok(n: int, request: bytes) -> Reply:
    return ok(b'{"ok":true,"result":%d}' % n)


@dataclass
class Served:
    """The server, and the clients made for it (closed after the test)."""

    server: Wire
    port: int
    host: str = "127.0.0.1"
    scheme: str = "http"
    clients: list[Http11Pool] = field(default_factory=list)

    def client(self, limit: int = 4, context: ssl.SSLContext | None = None) -> Http11Pool:
        pool = Http11Pool(self.scheme, self.host, self.port, limit=limit, context=context)
        self.clients.append(pool)
        return pool


@asynccontextmanager
async def serving(context: ssl.SSLContext | None = None) -> AsyncIterator[Served]:
    server_wire = Wire(always_ok)
    server = await asyncio.start_server(server_wire.serve, "127.0.0.1", 0, ssl=context)
    served = Served(server_wire, server.sockets[0].getsockname()[1])
    try:
        yield served
    finally:
        for pool in served.clients:
            pool.close()
        for writer in server_wire.writers:
            writer.close()
        server.close()
        await server.wait_closed()


@pytest.fixture
async def wire() -> AsyncIterator[Served]:
    async with serving() as served:
        yield served


async def post(
    client: Http11Pool, body: bytes = b'{"chat_id":1}', **timeouts: float
) -> tuple[int, bytes]:
    return await client.post(
        "/bot123:ABC/sendMessage", body, b"application/json",
        connect_timeout=timeouts.get("connect", 2.0), read_timeout=timeouts.get("read", 2.0),
        pool_timeout=timeouts.get("pool", 1.0), user_agent=AGENT,
    )  # fmt: skip


async def test_calls_go_as_one_request_each_on_one_kept_connection(wire: Served) -> None:
    server = wire.server
    pool = wire.client()
    answers = [await post(pool, '{"text":"你好"}'.encode()) for _ in range(3)]
    assert answers == [(200, b'{"ok":true,"result":%d}' % n) for n in range(3)]
    assert server.connections == 1  # kept alive
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /bot123:ABC/sendMessage HTTP/1.1"
    assert {b"Host: 127.0.0.1:%d" % wire.port, b"User-Agent: wuye-test"} <= set(lines)
    assert b"Content-Type: application/json" in lines
    assert body.decode() == '{"text":"你好"}' and b"Content-Length: %d" % len(body) in lines


async def test_a_chunked_answer_is_read_whole(wire: Served) -> None:
    server = wire.server

    async def chunked(n: int, request: bytes) -> Reply:
        return Reply([
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"7\r\n{\"ok\":t\r\n", b"5\r\nrue,\"", b"\r\n", b"b\r\nresult\":42}\r\n", b"0\r\n\r\n",
        ])  # fmt: skip

    server.answer = chunked
    pool = wire.client()
    assert await post(pool) == (200, b'{"ok":true,"result":42}')
    assert await post(pool) == (200, b'{"ok":true,"result":42}')
    assert server.connections == 1


async def test_a_connection_the_server_closes_is_not_used_again(wire: Served) -> None:
    server = wire.server

    async def closing(n: int, request: bytes) -> Reply:
        reply = ok(b'{"ok":true,"result":%d}' % n, b"Connection: close")
        reply.close = True
        return reply

    server.answer = closing
    pool = wire.client()
    assert await post(pool) == (200, b'{"ok":true,"result":0}')
    assert await post(pool) == (200, b'{"ok":true,"result":1}')
    assert server.connections == 2


async def test_an_answer_without_a_length_runs_to_the_close(wire: Served) -> None:
    server = wire.server

    async def old_style(n: int, request: bytes) -> Reply:
        return Reply([b"HTTP/1.0 200 OK\r\n\r\n", b'{"ok":', b"true}"], close=True)

    server.answer = old_style
    pool = wire.client()
    assert await post(pool) == (200, b'{"ok":true}')


async def test_an_idle_connection_closed_by_the_server_is_replaced_not_an_error(
    wire: Served,
) -> None:
    server = wire.server
    pool = wire.client()
    await post(pool)
    server.writers[0].close()  # the server's keep-alive ran out
    await asyncio.sleep(0.05)
    assert await post(pool) == (200, b'{"ok":true,"result":1}')
    assert server.connections == 2


async def test_errors_answers_come_back_with_their_status(wire: Served) -> None:
    server = wire.server

    async def too_many(n: int, request: bytes) -> Reply:
        body = b'{"ok":false,"error_code":429,"parameters":{"retry_after":3}}'
        return Reply([
            b"HTTP/1.1 429 Too Many Requests\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        ])  # fmt: skip

    server.answer = too_many
    pool = wire.client()
    status, body = await post(pool)
    assert status == 429 and b"retry_after" in body


async def test_a_slow_answer_times_out_and_its_connection_is_dropped(
    wire: Served,
) -> None:
    server = wire.server

    async def slow_first(n: int, request: bytes) -> Reply:
        reply = ok(b'{"ok":true,"result":%d}' % n)
        reply.delay = 0.5 if n == 0 else 0.0
        return reply

    server.answer = slow_first
    pool = wire.client()
    with pytest.raises(TimeoutError):
        await post(pool, read=0.1)
    # the late answer must never be taken for the next request's
    assert await post(pool) == (200, b'{"ok":true,"result":1}')
    assert server.connections == 2


async def test_a_server_that_hangs_up_before_answering_is_a_connection_error(
    wire: Served,
) -> None:
    server = wire.server

    async def hang_up(n: int, request: bytes) -> Reply:
        return Reply([], close=True)

    server.answer = hang_up
    pool = wire.client()
    with pytest.raises(ConnectionError, match="before answering"):
        await post(pool)


async def test_garbage_is_a_connection_error(wire: Served) -> None:
    server = wire.server

    async def garbage(n: int, request: bytes) -> Reply:
        return Reply([b"SSH-2.0-OpenSSH_9.2\r\n\r\n"])

    server.answer = garbage
    pool = wire.client()
    with pytest.raises(ConnectionError, match="bad answer"):
        await post(pool)


async def test_nothing_listening_is_a_connection_error() -> None:
    pool = Http11Pool("http", "127.0.0.1", 9, limit=4)
    with pytest.raises(ConnectionError, match="cannot connect"):
        await post(pool)


async def test_the_pool_limits_connections_and_a_wait_past_its_timeout_fails(
    wire: Served,
) -> None:
    server = wire.server

    async def slowly(n: int, request: bytes) -> Reply:
        reply = ok(b'{"ok":true,"result":%d}' % n)
        reply.delay = 0.3
        return reply

    server.answer = slowly
    pool = wire.client(limit=1)
    first = asyncio.create_task(post(pool))
    await asyncio.sleep(0.05)
    with pytest.raises(TimeoutError, match="pool"):
        await post(pool, pool=0.1)
    assert (await first)[0] == 200
    assert await post(pool, pool=1.0) == (200, b'{"ok":true,"result":1}')
    assert server.connections == 1


# --- TLS ------------------------------------------------------------------------------------


@pytest.fixture
async def tls_wire() -> AsyncIterator[Served]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(TLS / "server.pem", TLS / "server.key")
    async with serving(context) as served:
        served.host, served.scheme = "localhost", "https"
        yield served


async def test_https_checks_the_servers_certificate_and_keeps_the_connection(
    tls_wire: Served,
) -> None:
    trusting = tls_wire.client(context=ssl.create_default_context(cafile=str(TLS / "ca.pem")))
    assert await post(trusting) == (200, b'{"ok":true,"result":0}')
    assert await post(trusting) == (200, b'{"ok":true,"result":1}')
    assert tls_wire.server.connections == 1
    # the same server is refused by a client that does not trust its authority
    with pytest.raises(ConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        await post(tls_wire.client())
