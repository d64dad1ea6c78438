"""``python -m sandbox [--host H] [--port P] [--data DIR] [--token T] [--timezone Z]``: run the
local Telegram.

The Bot API is served at ``http://H:P/bot<token>/<method>``, the web chat page at
``http://H:P/``. State (people, chats, messages, files, undelivered updates) is kept in
``DIR`` and survives restarts. The page shows times in the time zone ``Z`` (the estate's:
``make run`` passes the demo estate's; default Asia/Shanghai), whatever the browser's.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from sandbox.server import DEFAULT_TIMEZONE, check_timezone, make_app
from sandbox.world import MAX_MESSAGES, World

#: The token the sandbox serves when none is given (local only: it guards nothing).
DEFAULT_TOKEN = "7000000001:sandbox-local-token"


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--data", type=Path, default=Path("data/sandbox"))
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--bot-username", default="wuye_sandbox_bot")
    parser.add_argument(
        "--timezone",
        default=DEFAULT_TIMEZONE,
        help=f"the estate's time zone, which the page shows times in (default {DEFAULT_TIMEZONE})",
    )
    parser.add_argument(
        "--max-messages",
        type=int,
        default=MAX_MESSAGES,
        help=f"messages each chat keeps, its newest (default {MAX_MESSAGES})",
    )
    args = parser.parse_args(argv)
    if args.max_messages < 1:
        print("--max-messages must be at least 1", file=sys.stderr)
        return 2
    if ":" not in args.token or not args.token.split(":", 1)[0].isdigit():
        print("--token must look like 123456:secret", file=sys.stderr)
        return 2
    try:
        check_timezone(args.timezone)
    except ValueError as exc:
        print(f"--timezone: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s sandbox: %(message)s")
    args.data.mkdir(parents=True, exist_ok=True)
    world = World.load(
        token=args.token,
        bot_username=args.bot_username,
        state_path=args.data / "world.json",
        files_dir=args.data / "files",
        max_messages=args.max_messages,
    )
    print(f"Sandbox Telegram on http://{args.host}:{args.port}/ (Bot API at /bot<token>/)")
    sys.stdout.flush()
    try:
        web.run_app(
            make_app(world, timezone=args.timezone),
            host=args.host,
            port=args.port,
            print=None,
            # A long poll whose client went away ends with it; shutdown does not wait on one.
            handler_cancellation=True,
            shutdown_timeout=1.0,
        )
    except OSError as exc:
        print(f"Cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
