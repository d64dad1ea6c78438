"""Prometheus metrics, and the small HTTP server that serves them with ``/healthz``.

On when ``WUYE_METRICS_PORT`` is set (``WUYE_METRICS_LISTEN``, default 127.0.0.1): the bot
then serves ``GET /metrics`` (Prometheus' text format) and ``GET /healthz`` (200 ``ok: …``
or 503 with the one line ``python -m bot health`` prints: a load balancer in front of
webhook mode checks it). This module is imported only then (``prometheus_client`` costs
some 50 ms to import).

What is counted, where it happens:

=============================================  ==============================================
``wuye_updates_total{kind}``                   each update handled (``message``,
                                               ``callback_query``…; ``bot.app``)
``wuye_handler_seconds``                       how long handling one update took (histogram)
``wuye_sends_total{result}``                   each outbox send by Telegram's answer: ``sent``,
                                               ``retry_429``, ``retry`` (5xx, timeout),
                                               ``blocked``, ``failed``, ``migrated``
``wuye_outbox_pending``, ``…_oldest_seconds``  read at each scrape (``storage.gauges``)
``wuye_clocks_fired_total{what,late}``         each deadline warning or breach the sweeper
                                               fired; ``late="true"``: it fell due while the bot
                                               was down
``wuye_clock_lateness_seconds``                from due to fired (histogram)
``wuye_clocks_open``, ``wuye_clocks_overdue``  read at each scrape: running, and past due now
``wuye_backups_total{result}``                 each backup (``ok``, ``incomplete``, ``failed``)
``wuye_backup_last_success_timestamp_seconds`` and ``wuye_backup_duration_seconds``
=============================================  ==============================================

Each application has a registry of its own (tests build many in one process).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from storage import gauges

log = logging.getLogger(__name__)

#: Handling one update: a few milliseconds usually, seconds when a photo is worked on.
HANDLER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: From due to fired: the sweep interval (2 s) normally; hours after downtime.
LATENESS_BUCKETS = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 60.0, 600.0, 3600.0)


class _DatabaseCollector(Collector):
    """The gauges read from the database at each scrape."""

    def __init__(self, database: str | Path, now: Callable[[], datetime]) -> None:
        self.database = database
        self.now = now

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            read = gauges.read(self.database, self.now())
        except Exception as exc:  # the scrape says so rather than failing whole
            log.warning("metrics: could not read the database: %s", exc)
            return
        yield GaugeMetricFamily(
            "wuye_outbox_pending", "Outbox rows waiting to be sent", value=read.outbox_pending
        )
        yield GaugeMetricFamily(
            "wuye_outbox_oldest_seconds",
            "How long the oldest outbox row waiting to be sent has waited",
            value=read.outbox_oldest_age,
        )
        yield GaugeMetricFamily(
            "wuye_clocks_open", "Deadlines running (pending or warned)", value=read.clocks_open
        )
        yield GaugeMetricFamily(
            "wuye_clocks_overdue",
            "Deadlines due and not yet fired by the sweeper",
            value=read.clocks_overdue,
        )


class Metrics:
    """The bot's metrics, in a registry of their own."""

    def __init__(self, database: str | Path, now: Callable[[], datetime]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.updates = Counter("wuye_updates", "Updates handled, by kind", ["kind"], registry=r)
        self.handler_seconds = Histogram(
            "wuye_handler_seconds", "Seconds to handle one update", buckets=HANDLER_BUCKETS,
            registry=r,
        )  # fmt: skip
        self.sends = Counter("wuye_sends", "Outbox sends, by result", ["result"], registry=r)
        self.clocks_fired = Counter(
            "wuye_clocks_fired", "Deadline warnings and breaches fired", ["what", "late"],
            registry=r,
        )  # fmt: skip
        self.clock_lateness = Histogram(
            "wuye_clock_lateness_seconds", "Seconds from a deadline's due moment to its firing",
            buckets=LATENESS_BUCKETS, registry=r,
        )  # fmt: skip
        self.backups = Counter("wuye_backups", "Backups made, by result", ["result"], registry=r)
        self.backup_last = Gauge(
            "wuye_backup_last_success_timestamp_seconds",
            "When the last complete backup ended (Unix time)", registry=r,
        )  # fmt: skip
        self.backup_seconds = Gauge(
            "wuye_backup_duration_seconds", "How long the last backup took", registry=r
        )
        r.register(_DatabaseCollector(database, now))

    def updated(self, kind: str, seconds: float) -> None:
        """An update of ``kind`` was handled in ``seconds``."""
        self.updates.labels(kind).inc()
        self.handler_seconds.observe(seconds)

    def sent(self, result: str) -> None:
        """The outbox made one send; Telegram's answer was ``result``."""
        self.sends.labels(result).inc()

    def fired(self, *, warning: bool, late: bool, lateness: float) -> None:
        """The sweeper fired a deadline's warning or breach ``lateness`` seconds after due."""
        self.clocks_fired.labels("warning" if warning else "breach", str(late).lower()).inc()
        self.clock_lateness.observe(max(0.0, lateness))

    def backed_up(self, result: str, seconds: float, at: float) -> None:
        """A backup ended with ``result`` (``ok``, ``incomplete``, ``failed``) at ``at``."""
        self.backups.labels(result).inc()
        self.backup_seconds.set(seconds)
        if result == "ok":
            self.backup_last.set(at)

    def render(self) -> bytes:
        """The metrics in Prometheus' text format (reads the database: call off the loop)."""
        return generate_latest(self.registry)


async def serve(
    metrics: Metrics,
    healthy: Callable[[], Awaitable[tuple[bool, str]]],
    *,
    listen: str,
    port: int,
) -> Any:
    """Serve ``/metrics`` and ``/healthz`` on ``listen:port``; returns the server's runner
    (``await runner.cleanup()`` stops it)."""
    from aiohttp import web

    async def scrape(request: web.Request) -> web.Response:
        body = await asyncio.to_thread(metrics.render)
        return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4"})

    async def health(request: web.Request) -> web.Response:
        ok, line = await healthy()
        return web.Response(text=line + "\n", status=200 if ok else 503)

    app = web.Application()
    app.router.add_get("/metrics", scrape)
    app.router.add_get("/healthz", health)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, listen, port).start()
    log.info("metrics and health on http://%s:%d/metrics and /healthz", listen, port)
    return runner
