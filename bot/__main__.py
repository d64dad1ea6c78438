"""Command line: ``python -m bot run | start | import-roster | invite | grant | revoke |
seed-demo | check-audit | health | backup | restore | rules-doc``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sqlite3
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from bot.settings import (
    ConfigError,
    Settings,
    clock_for,
    load_estates_config,
    load_settings,
    require_token,
)
from procedures.identity import (
    ROLE_DEPARTMENT,
    STAFF_ROLES,
    Role,
    deep_link,
    parse_department,
    parse_role,
)
from procedures.roster import parse_roster
from storage import audit
from storage.db import Database
from storage.identity import IdentityStore

log = logging.getLogger("wuye")

#: A sweeper heartbeat younger than this (seconds) means the bot runs: no restore under it.
RUNNING_WITHIN = 10.0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run one command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bot", description="Wuye property bot")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot (polling; webhook when WUYE_WEBHOOK_URL is set)")
    sub.add_parser(
        "start", help="run against Telegram when WUYE_TOKEN is set, else the local sandbox"
    )
    p = sub.add_parser("import-roster", help="import the owner roster (CSV or XLSX)")
    p.add_argument("file", type=Path)
    p.add_argument("--estate", required=True, help="estate name (created if new)")
    p = sub.add_parser("invite", help="print a one-time staff invite link")
    p.add_argument("--estate", required=True)
    p.add_argument("--role", required=True, help=", ".join(r.value for r in STAFF_ROLES))
    p.add_argument("--department", help="department code (default: the role's own)")
    for name, text in (("grant", "give a role to a person"), ("revoke", "take a role away")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--estate", required=True)
        p.add_argument("--role", required=True)
        p.add_argument("--user", required=True, type=int, help="Telegram user id")
    sub.add_parser("seed-demo", help="create the demo estate (units, owners, staff)")
    sub.add_parser("check-audit", help="verify the hash-chained audit trail")
    sub.add_parser(
        "health",
        help="exit 0 when the database opens and polling (or the webhook server), the deadline"
        " sweeper and the outbox sender ran lately",
    )
    p = sub.add_parser(
        "backup", help="copy the database and its photos now (safe while the bot runs)"
    )
    p.add_argument("dir", nargs="?", type=Path, help="backup folder (default WUYE_BACKUP_DIR)")
    p = sub.add_parser(
        "restore", help="put a backup's database copy and its photos back (the bot stopped)"
    )
    p.add_argument("copy", type=Path, help="a database copy, e.g. backups/wuye-…Z.db")
    p.add_argument(
        "--evidence", type=Path, help="the backup folder holding evidence/ (default: the copy's)"
    )
    p.add_argument("--force", action="store_true", help="even though the bot's heartbeat is recent")
    p = sub.add_parser(
        "rules-doc", help="write docs/rules.md: where each rule is enforced, asked and tested"
    )
    p.add_argument("--check", action="store_true", help="only check it: exit 1 when stale")
    args = parser.parse_args(argv)
    if args.command == "rules-doc":  # reads the source, not the settings
        from bot.rules_doc import main as rules_doc

        return rules_doc(check=args.check)
    try:
        settings = load_settings()
        if args.command == "run":
            return run(settings)
        if args.command == "health":
            return health(settings)
        if args.command == "backup":
            return backup(settings, args.dir)
        if args.command == "restore":
            return restore(settings, args)
        if args.command == "start":
            if settings.token:
                return run(settings)
            from bot.local import run_local

            return run_local(settings)
        commands: dict[str, Callable[[Settings, argparse.Namespace], Awaitable[int]]] = {
            "import-roster": import_roster,
            "invite": invite,
            "grant": grant,
            "revoke": revoke,
            "seed-demo": seed_demo,
            "check-audit": check_audit,
        }
        return asyncio.run(with_db(settings, args, commands[args.command]))
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2


async def with_db(
    settings: Settings,
    args: argparse.Namespace,
    command: Callable[[Settings, argparse.Namespace], Awaitable[int]],
) -> int:
    """Run one offline command with the database open."""
    db = await Database.open(settings.db, clock=clock_for(settings))
    try:
        return await command(settings, args)
    finally:
        await db.close()


async def _open(settings: Settings) -> tuple[Database, IdentityStore]:
    db = await Database.open(settings.db, clock=clock_for(settings))
    return db, IdentityStore(db)


def health(settings: Settings) -> int:
    """Print one line on the bot's health; 0 when healthy (Docker's HEALTHCHECK)."""
    from bot.health import check

    ok, line = asyncio.run(check(settings))
    print(line, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


def backup(settings: Settings, folder: Path | None) -> int:
    """Back up the database and its photos now (the bot may be running); 0 when complete."""
    from bot.backups import summary, take

    report = asyncio.run(take(settings, folder, now_at=clock_for(settings).now().timestamp()))
    print(summary(report))
    for sha, role, what in report.problems:
        print(f"Evidence file {what.upper()} in the store, not copied: {role} {sha}",
              file=sys.stderr)  # fmt: skip
    return 0 if report.ok else 1


def restore(settings: Settings, args: argparse.Namespace) -> int:
    """Make a backup's database copy the database and put its photos back, then check both
    (``check-audit``); refused while the bot's heartbeat says it runs."""
    from bot.health import SWEEPER, heartbeat_age, heartbeat_path
    from storage.backup import restore as put_back

    age = heartbeat_age(heartbeat_path(settings, SWEEPER))
    if age is not None and age < RUNNING_WITHIN and not args.force:
        print(
            f"The bot seems to be running (its sweeper beat {age:.0f} s ago): stop it first "
            "(or pass --force).",
            file=sys.stderr,
        )
        return 2
    try:
        report = put_back(
            args.copy, settings.db, settings.data_dir, now=clock_for(settings).now(),
            evidence_from=args.evidence,
        )  # fmt: skip
    except (FileNotFoundError, sqlite3.DatabaseError) as exc:
        print(f"Cannot restore {args.copy}: {exc}", file=sys.stderr)
        return 1
    if report.moved_aside is not None:
        print(f"The database it replaces was kept as {report.moved_aside}.")
    print(
        f"Restored {report.database} from {args.copy}: {report.files} evidence file(s) named, "
        f"{report.restored} put back."
    )
    for sha, role, what in report.problems:
        print(f"Evidence file {what.upper()} in the backup: {role} {sha}", file=sys.stderr)
    checked = asyncio.run(with_db(settings, args, check_audit))
    return checked if report.ok else 1


def run(settings: Settings) -> int:
    """Run the bot until interrupted."""
    from telegram import Update

    from bot.app import build_application
    from bot.errors import configure_logging

    require_token(settings)
    if settings.webhook_url and not settings.webhook_secret:
        raise ConfigError("WUYE_WEBHOOK_SECRET: required when WUYE_WEBHOOK_URL is set")
    load_estates_config(settings)  # a bad estates file stops start-up with one line
    configure_logging(settings)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    db = loop.run_until_complete(Database.open(settings.db, clock=clock_for(settings)))
    app = build_application(settings, db=db)
    app.bot_data["owned_db"] = db
    app.bot_data["serve_http"] = True  # /metrics and /healthz when WUYE_METRICS_PORT is set
    if settings.webhook_url:
        app.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=settings.webhook_path,
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0


async def import_roster(settings: Settings, args: argparse.Namespace) -> int:
    """Check a roster file; import it only when every row is good."""
    path: Path = args.file
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        print(f"Cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 1
    from bot.i18n import t

    def show(done: int, total: int) -> None:
        print(f"\r  checked {done}/{total} rows", end="", file=sys.stderr, flush=True)

    result = parse_roster(data, path.name, show)
    print(file=sys.stderr)
    if not result.ok:
        print(
            f"{path}: {len(result.errors) or 1} problem(s); nothing was imported.", file=sys.stderr
        )
        for err in result.errors:
            where = f"row {err.row}" if err.row is not None else "file"
            column = f", column {err.column}" if err.column else ""
            print(f"  {where}{column}: {_plain(t('en', err.key, **err.params))}", file=sys.stderr)
        return 1
    db, identity = await _open(settings)
    try:
        estate = await identity.ensure_estate(args.estate, actor="cli")
        summary = await identity.import_roster(estate.id, result.rows, actor="cli", actor_id=None)
    finally:
        await db.close()
    print(
        f"{estate.name}: {len(result.rows)} rows ({result.encoding}) — {summary.created} new, "
        f"{summary.updated} updated, {summary.unchanged} unchanged, "
        f"{summary.unbound} old owner binding(s) removed."
    )
    return 0


def _plain(text: str) -> str:
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", text))


async def invite(settings: Settings, args: argparse.Namespace) -> int:
    """Make a one-time invite and print its deep link."""
    role = parse_role(args.role)
    if role is None or role not in STAFF_ROLES:
        print(
            f"Unknown staff role {args.role!r}; one of: {', '.join(STAFF_ROLES)}", file=sys.stderr
        )
        return 2
    department = ROLE_DEPARTMENT.get(role)
    if args.department:
        department = parse_department(args.department)
        if department is None:
            print(f"Unknown department {args.department!r}", file=sys.stderr)
            return 2
    db, identity = await _open(settings)
    try:
        estate = await identity.estate_by_name(args.estate)
        if estate is None:
            print(f"No estate called {args.estate!r}; import its roster first.", file=sys.stderr)
            return 2
        code, expires = await identity.create_invite(
            estate.id,
            role,
            department=department.value if department else None,
            ttl_hours=settings.invite_ttl_hours,
            actor="cli",
            actor_id=None,
        )
    finally:
        await db.close()
    username = settings.bot_username or await _bot_username(settings)
    when = expires.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M %Z")
    if username:
        print(deep_link(username, code))
    else:
        print(f"/start inv_{code}")
        print("(set WUYE_BOT_USERNAME to print a t.me link)", file=sys.stderr)
    print(f"One-time invite: {role.value} at {estate.name}, valid until {when}.", file=sys.stderr)
    return 0


async def _bot_username(settings: Settings) -> str:
    """Ask the Bot API for the bot's username (empty when it cannot be reached)."""
    if not settings.token:
        return ""
    from telegram import Bot
    from telegram.error import TelegramError

    try:
        async with Bot(settings.token, base_url=settings.api_url) as bot:
            return bot.username
    except (TelegramError, OSError):
        return ""


async def grant(settings: Settings, args: argparse.Namespace) -> int:
    """Give a role to someone who has already talked to the bot."""
    return await _change_role(settings, args, give=True)


async def revoke(settings: Settings, args: argparse.Namespace) -> int:
    """Take a role away."""
    return await _change_role(settings, args, give=False)


async def _change_role(settings: Settings, args: argparse.Namespace, *, give: bool) -> int:
    role = parse_role(args.role)
    if role is None:
        print(f"Unknown role {args.role!r}; one of: {', '.join(Role)}", file=sys.stderr)
        return 2
    db, identity = await _open(settings)
    try:
        estate = await identity.estate_by_name(args.estate)
        person = await identity.person_by_tg(args.user)
        if estate is None or person is None:
            print("Unknown estate, or that user has never talked to the bot.", file=sys.stderr)
            return 2
        if give:
            department = ROLE_DEPARTMENT.get(role)
            changed = await identity.grant_role(
                person.id,
                estate.id,
                role,
                department=department.value if department else None,
                actor="cli",
            )
        else:
            changed = await identity.revoke_role(
                person.id, estate.id, role.value, actor="cli", actor_id=None
            )
    finally:
        await db.close()
    verb = "granted" if give else "revoked"
    print(f"{person.name}: {role.value} at {estate.name} {verb}." if changed else "No change.")
    return 0


async def seed_demo(settings: Settings, args: argparse.Namespace) -> int:
    """Create (or refresh) the demo estate."""
    from bot.demo import seed

    db, _ = await _open(settings)
    try:
        summary = await seed(db)
    finally:
        await db.close()
    print(summary)
    return 0


async def check_audit(settings: Settings, args: argparse.Namespace) -> int:
    """Verify the audit trail and every stored evidence file against its hash; non-zero
    exit when either was tampered with."""
    from storage.evidence import EvidenceStore, verify_files
    from storage.renovation_patrol import verify_patrols

    db, _ = await _open(settings)
    try:
        report = await audit.verify(db)
        files = await verify_files(db, EvidenceStore(settings.data_dir))
        patrols = await verify_patrols(db) if report.ok else []
    finally:
        await db.close()
    for sha, role, problem in files.problems:
        print(f"Evidence file {problem.upper()}: {role} {sha}", file=sys.stderr)
    for found in patrols:  # a record edited or deleted behind the trail's back
        print(
            f"Patrol record {found.problem.upper()}: {found.renovation} {found.department}"
            f" {found.day}",
            file=sys.stderr,
        )
    if report.ok:
        print(f"Audit trail intact: {report.events} events.")
        # Keeping this line elsewhere (a ticket, a printout) also proves later that no
        # event was cut from the end or the chain rewritten wholesale.
        print(f"Head: event #{report.events} {report.head}")
        if files.ok:
            print(f"Evidence files intact: {files.files} files.")
        if not patrols:
            print("Patrol records match the trail.")
        return 0 if files.ok and not patrols else 1
    print(
        f"Audit trail BROKEN at event #{report.broken_at}: {report.problem}. "
        f"Events before it are intact.",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
