"""Backups in the running bot and on the command line (the work is ``storage.backup``'s).

* ``python -m bot backup [DIR]`` — a backup now, into ``DIR`` (default ``WUYE_BACKUP_DIR``),
  safe while the bot runs; exit 1 when a photo the database names could not be copied.
* The daily job (``WUYE_BACKUP_AT``, in the deployment's time zone) does the same into
  ``WUYE_BACKUP_DIR``; a failure goes to the error handler, which tells the admins.
* Both keep the newest ``WUYE_BACKUP_KEEP`` database copies in the folder.
* ``python -m bot restore COPY`` puts a copy back (the bot stopped), then checks it as
  ``check-audit`` does.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bot.settings import Settings
from storage.backup import BackupReport, backup

if TYPE_CHECKING:
    from handlers.common import Context

log = logging.getLogger(__name__)

#: The daily job's name in the job queue.
BACKUP_JOB = "backup"


def summary(report: BackupReport) -> str:
    """One line on a backup, as the command prints it and the job logs it."""
    line = (
        f"Backup {report.database}: {report.files} evidence file(s) named, {report.copied} "
        f"copied now ({report.copied_bytes / 1e6:.1f} MB)"
    )
    if report.removed:
        line += f"; {len(report.removed)} older copy(ies) removed"
    return line + "."


async def take(settings: Settings, folder: Path | None = None, *, now_at: float) -> BackupReport:
    """A backup now (worker thread); ``now_at`` is the time it is named after (Unix time)."""
    from datetime import UTC, datetime

    return await asyncio.to_thread(
        backup,
        settings.db,
        settings.data_dir,
        folder or settings.backup_dir,
        keep=settings.backup_keep,
        now=datetime.fromtimestamp(now_at, UTC),
    )


async def daily_backup(context: Context) -> None:
    """Job: the daily backup into ``WUYE_BACKUP_DIR``, counted in the metrics."""
    app = context.application
    settings: Settings = app.bot_data["settings"]
    metrics = app.bot_data.get("metrics")
    services = app.bot_data["services"]
    began = time.perf_counter()
    try:
        report = await take(settings, now_at=services.db.clock.now().timestamp())
    except Exception:
        if metrics is not None:
            ended = services.db.clock.now().timestamp()
            metrics.backed_up("failed", time.perf_counter() - began, ended)
        raise  # the error handler logs it and tells the admins
    result = "ok" if report.ok else "incomplete"
    if metrics is not None:
        ended = services.db.clock.now().timestamp()  # the application's clock (storage.clock)
        metrics.backed_up(result, time.perf_counter() - began, ended)
    log.info("%s", summary(report))
    for sha, role, what in report.problems:
        log.error("backup: evidence file %s (%s) is %s in the store: not copied", sha, role, what)
