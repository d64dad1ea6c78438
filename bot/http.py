"""The bot's HTTP client for the Bot API: PTB's request interface, made cheap for the calls
the bot makes most.

The HTTP client was the largest share of the bot's CPU per update (README, Benchmarks):
PTB's own :class:`telegram.request.HTTPXRequest` (httpx over httpcore and anyio) spent
1.1–2.0 ms of the event loop's CPU a ``sendMessage``, aiohttp 0.15–0.2 ms, and a request
written to a kept-alive connection by hand (``bot.http11``) a few tens of microseconds.
:class:`BotApiRequest` is PTB's interface (``do_request`` returns the status and the body;
PTB parses it and raises its errors) over three clients:

- **the lean client** (``bot.http11``) for every call without a file to a server reached
  directly: the parameters as one JSON document (Telegram takes JSON bodies; a form would
  carry every keyboard as a JSON text of its own, then quote it character by character),
  keep-alive connections, up to ``connection_pool_size`` at once. Nearly every call:
  answers, cards, edits, presses answered, ``getUpdates``.
- **aiohttp** for file uploads (multipart), downloads, and a server behind the
  environment's proxy (``HTTPS_PROXY``, ``NO_PROXY``…, honoured as httpx honoured them,
  looked up once per server: aiohttp's own ``trust_env`` did it in two worker-thread round
  trips per call).
- **httpx** (PTB's own) for those while aiohttp is being imported: it takes about 0.1 s,
  which the first answer after start-up must not wait for (README, Benchmarks: start-up
  within 0.3 s of a bare bot's), so it is imported in a worker thread :data:`IMPORT_AFTER`
  seconds after the bot initialised (a worker thread's import started at once slowed the
  first answer by 0.3 s on a loaded machine: the loop's thread waits for the interpreter
  lock after each of its socket calls).

What is kept from HTTPXRequest: the default timeouts (read, write, connect 5 s, pool 1 s;
a file upload's write 20 s), a request's own timeouts when PTB passes them (``getUpdates``
long polling), multipart when files are uploaded, and the errors PTB expects:
:class:`telegram.error.TimedOut` for any timeout and :class:`telegram.error.NetworkError`
for a connection that failed.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import sys
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from urllib.request import getproxies_environment, proxy_bypass_environment  # type: ignore[attr-defined]

from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.http11 import Http11Pool

if TYPE_CHECKING:
    import aiohttp

log = logging.getLogger(__name__)

#: The header of a call's parameters as JSON (through aiohttp).
_JSON = {"Content-Type": "application/json"}

#: Seconds after the first request object's initialisation before aiohttp is imported.
IMPORT_AFTER = 1.0

#: Set once aiohttp is imported, completely (by the worker thread :func:`_load_aiohttp`
#: starts, whoever else imports it meanwhile).
_READY = threading.Event()
_STARTED = threading.Lock()


def _load_aiohttp() -> None:
    """Start importing aiohttp in a worker thread (once per process)."""
    if _STARTED.acquire(blocking=False):
        threading.Thread(target=_import_aiohttp, name="aiohttp import", daemon=True).start()


def _import_aiohttp() -> None:
    try:
        importlib.import_module("aiohttp")  # waits for another thread's import under way
    except Exception as error:
        log.warning("aiohttp could not be imported (the bot stays on httpx): %s", error)
    else:
        _READY.set()


def _aiohttp() -> Any:
    """The aiohttp module once imported, else None."""
    return sys.modules["aiohttp"] if _READY.is_set() else None


class BotApiRequest(BaseRequest):
    """PTB's :class:`~telegram.request.BaseRequest` over the lean client, aiohttp and httpx
    (module docstring). Built outside the event loop; connections are opened by the first
    request that needs them."""

    __slots__ = (
        "_agent",
        "_connect_timeout",
        "_fallback",
        "_media_write_timeout",
        "_pool_size",
        "_pool_timeout",
        "_pools",
        "_proxies",
        "_read_timeout",
        "_session",
        "_targets",
        "_urls",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        #: The proxy for each server (scheme, host, port), from the environment; None: none.
        self._proxies: dict[tuple[str, str, int | None], Any] = {}
        #: Each Bot API method's URL, parsed once (yarl's URL).
        self._urls: dict[str, Any] = {}
        #: The lean client's connections, per server; None for one it does not serve.
        self._pools: dict[tuple[str, str, int | None], Http11Pool | None] = {}
        #: Per URL: its server's connections and the request target (None: not lean).
        self._targets: dict[str, tuple[Http11Pool, str] | None] = {}
        self._agent = self.USER_AGENT.encode("ascii", "replace")
        #: PTB's own client with the same settings, used until aiohttp is imported.
        self._fallback = HTTPXRequest(
            connection_pool_size=connection_pool_size,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
            media_write_timeout=media_write_timeout,
        )

    @property
    def read_timeout(self) -> float | None:
        """The read timeout used when PTB passes none (seconds)."""
        return self._read_timeout

    def _open(self, module: Any) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = module.ClientSession(
                connector=module.TCPConnector(limit=self._pool_size, limit_per_host=0),
                headers={"User-Agent": self.USER_AGENT},
            )
        return self._session

    def _proxy(self, module: Any, url: Any) -> Any:
        """The environment's proxy for ``url``'s server (its URL, or None), looked up once."""
        key = (url.scheme, url.host or "", url.port)
        if key not in self._proxies:
            try:
                proxy, auth = module.helpers.get_env_proxy_for_url(url)
            except LookupError:
                self._proxies[key] = None
            else:
                self._proxies[key] = (proxy, auth)
        return self._proxies[key]

    def _lean(self, url: str) -> tuple[Http11Pool, str] | None:
        """The lean client's connections to ``url``'s server (``bot.http11``) and the
        request target (path and query), or None when it is not for it: a proxy set for it
        in the environment, or not HTTP(S). Worked out once per URL (one per Bot API
        method), then looked up."""
        if url in self._targets:
            return self._targets[url]
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "", parts.port)
        if key not in self._pools:
            proxied = parts.scheme in getproxies_environment() and not proxy_bypass_environment(
                parts.hostname or ""
            )
            lean = parts.scheme in ("http", "https") and parts.hostname and not proxied
            self._pools[key] = (
                Http11Pool(parts.scheme, parts.hostname or "", parts.port, limit=self._pool_size)
                if lean
                else None
            )
        pool = self._pools[key]
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        self._targets[url] = (pool, target) if pool is not None else None
        return self._targets[url]

    async def _post_lean(
        self,
        pool: Http11Pool,
        target: str,
        request_data: RequestData | None,
        read_timeout: ODVInput[float],
        connect_timeout: ODVInput[float],
        pool_timeout: ODVInput[float],
    ) -> tuple[int, bytes]:
        """A call without files through the lean client: one JSON document."""
        parameters = request_data.parameters if request_data is not None else {}
        body = json.dumps(parameters, ensure_ascii=False).encode() if parameters else b""
        try:
            return await pool.post(
                target, body, b"application/json",
                connect_timeout=self._connect_timeout
                if isinstance(connect_timeout, DefaultValue) else connect_timeout,
                read_timeout=self._read_timeout
                if isinstance(read_timeout, DefaultValue) else read_timeout,
                pool_timeout=self._pool_timeout
                if isinstance(pool_timeout, DefaultValue) else pool_timeout,
                user_agent=self._agent,
            )  # fmt: skip
        except TimeoutError as err:
            raise TimedOut(str(err)) from err
        except ConnectionError as err:
            raise NetworkError(f"http11: {err}") from err

    async def initialize(self) -> None:
        """Ready to send: through httpx at once, through aiohttp once it is imported."""
        await self._fallback.initialize()
        if not _READY.is_set():
            asyncio.get_running_loop().call_later(IMPORT_AFTER, _load_aiohttp)

    async def shutdown(self) -> None:
        """Close the sessions and their connections."""
        for pool in self._pools.values():
            if pool is not None:
                pool.close()
        self._pools.clear()
        self._targets.clear()
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
        await self._fallback.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """One call to the Bot API: (HTTP status, body)."""
        with_files = request_data is not None and request_data.contains_files
        if method == "POST" and not with_files and (lean := self._lean(url)) is not None:
            return await self._post_lean(
                *lean, request_data, read_timeout, connect_timeout, pool_timeout
            )
        aiohttp = _aiohttp()
        if aiohttp is None:
            return await self._fallback.do_request(
                url, method, request_data, read_timeout, write_timeout, connect_timeout,
                pool_timeout,
            )  # fmt: skip
        files = request_data.multipart_data if request_data and with_files else None
        read = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = (
            self._connect_timeout if isinstance(connect_timeout, DefaultValue) else connect_timeout
        )
        pool = self._pool_timeout if isinstance(pool_timeout, DefaultValue) else pool_timeout
        if isinstance(write_timeout, DefaultValue):
            write = self._write_timeout if not files else self._media_write_timeout
        else:
            write = write_timeout
        # aiohttp has no write timeout of its own: the write and the read share one budget
        # once connected (sock_read runs from the request's start of reading).
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=_sum(pool, connect),
            sock_connect=connect,
            sock_read=_sum(read, write if files else None),
        )
        body: Any
        if files:
            form = aiohttp.FormData(quote_fields=False)
            assert request_data is not None  # there are files
            for name, value in request_data.json_parameters.items():
                form.add_field(name, value)
            for name, (filename, content, mimetype) in files.items():
                form.add_field(name, content, filename=filename, content_type=mimetype)
            body = form
            headers = None
        elif request_data is not None and (parameters := request_data.parameters):
            # One JSON document, as Telegram takes it: cheaper to make than a form, whose
            # every keyboard is a JSON text of its own, then quoted character by character.
            body = json.dumps(parameters, ensure_ascii=False).encode()
            headers = _JSON
        else:
            body, headers = None, None
        target = self._urls.get(url)
        if target is None:
            import yarl  # aiohttp's own URLs (imported with it)

            target = self._urls[url] = yarl.URL(url)
        proxy, proxy_auth = self._proxy(aiohttp, target) or (None, None)
        try:
            session = self._open(aiohttp)
            async with session.request(
                method, target, data=body, headers=headers, timeout=timeout, proxy=proxy,
                proxy_auth=proxy_auth,
            ) as answer:  # fmt: skip
                return answer.status, await answer.read()
        except TimeoutError as err:  # aiohttp's timeouts are TimeoutErrors too
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {err}") from err


def _sum(first: float | None, second: float | None) -> float | None:
    """Two timeouts' sum; None (no limit) when the first is None."""
    if first is None:
        return None
    return first + (second or 0.0)
