"""``make run`` with no token: the local sandbox Telegram, the demo estate, and the bot.

The sandbox runs as its own process (``python -m sandbox``); the bot talks to it over HTTP
exactly as it talks to Telegram (polling). Everything lives under ``data/sandbox/`` beside
the database, so a restart of ``make run`` continues where it stopped.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bot.demo import DEMO_ADMIN, DEMO_ESTATE, DEMO_STAFF, demo_rows, seed
from bot.settings import ConfigError, Settings, clock_for
from procedures.identity import ROLE_DEPARTMENT, Department, Role
from storage.db import Database
from storage.identity import IdentityStore

SANDBOX_TOKEN = "7000000001:sandbox-local-token"
SANDBOX_BOT = "wuye_sandbox_bot"

#: The demo's department groups: (department, title, members' Telegram ids).
DEMO_GROUPS: list[tuple[Department, str, list[int]]] = [
    (Department.CUSTOMER_SERVICE, "客服中心 · 阳光花园", [9001, 9002, 9012, DEMO_ADMIN]),
    (Department.ENGINEERING, "工程部 · 阳光花园", [9003, 9004, DEMO_ADMIN]),
    (Department.SECURITY, "保安部 · 阳光花园", [9005, DEMO_ADMIN]),
    (Department.FINANCE, "财务部 · 阳光花园", [9006, DEMO_ADMIN]),
    (Department.MANAGEMENT, "管理部 · 阳光花园", [9007, 9008, 9009, DEMO_ADMIN]),
    (Department.LEADERSHIP, "公司领导 · 阳光花园", [9008, 9010, DEMO_ADMIN]),
]

#: Demo owners played in the sandbox: Telegram id → owner number in the demo roster.
DEMO_OWNERS = {8001: 1, 8002: 2, 8003: 3, 8004: 14, 8005: 15, 8006: 25}
#: Someone whose phone is not on the roster (customer service must verify them).
NEWCOMER = (8100, "新业主", "+8613700000000")
#: Staff the sandbox adds to the demo estate: the customer-department head, who signs
#: renovation applications with the engineering head (R-4). (Not in bot.demo's staff, whose
#: tests count who gets customer service's daily report.)
SANDBOX_STAFF: list[tuple[int, str, list[Role]]] = [(9012, "李淑芬", [Role.CUSTOMER_HEAD])]


def sandbox_dir(settings: Settings) -> Path:
    """Where the sandbox keeps its world and the bot its database in local mode."""
    return settings.db.parent / "sandbox"


def local_settings(settings: Settings, base: str) -> Settings:
    """The settings the bot runs with against the sandbox."""
    return settings.model_copy(
        update={
            "token": SANDBOX_TOKEN,
            "api_url": f"{base}/bot",
            "file_url": f"{base}/file/bot",
            "db": sandbox_dir(settings) / "wuye.db",
            "bot_username": SANDBOX_BOT,
        }
    )


def _request(base: str, method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{base}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def wait_until_ready(base: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Block until the sandbox answers, or fail with its own words."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ConfigError(f"WUYE_SANDBOX_PORT: the sandbox stopped (exit {process.returncode})")
        try:
            _request(base, "GET", "/api/state")
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise ConfigError("WUYE_SANDBOX_PORT: the sandbox did not start in time")


def prepare_world(base: str) -> dict[Department, tuple[int, str]]:
    """People and department groups of the demo estate in the sandbox (idempotent)."""
    rows = demo_rows()
    for tg_id, number in DEMO_OWNERS.items():
        units = [r for r in rows if r.owner_phone.endswith(f"{number:04d}")]
        label = "业主 · " + "、".join(f"{u.building} {u.unit}" for u in units)
        _request(base, "POST", "/api/people", {
            "id": tg_id, "first_name": units[0].owner_name, "phone": units[0].owner_phone,
            "label": label,
        })  # fmt: skip
    uid, name, phone = NEWCOMER
    _request(base, "POST", "/api/people", {
        "id": uid, "first_name": name, "phone": phone, "label": "业主 · 不在清册（需客服核实）",
    })  # fmt: skip
    from bot.i18n import t

    for tg_id, staff_name, roles in [*DEMO_STAFF, *SANDBOX_STAFF]:
        label = "、".join(t("zh-Hans", f"role.{r.value}") for r in roles)
        _request(base, "POST", "/api/people", {
            "id": tg_id, "first_name": staff_name, "phone": f"+86135000{tg_id:05d}",
            "label": f"员工 · {label}",
        })  # fmt: skip
    state = _request(base, "GET", "/api/state")
    existing = {g["title"]: g["id"] for g in state.get("groups", [])}
    groups: dict[Department, tuple[int, str]] = {}
    for department, title, members in DEMO_GROUPS:
        chat_id = existing.get(title)
        if chat_id is None:
            chat = _request(base, "POST", "/api/groups", {
                "title": title, "members": members, "by": DEMO_ADMIN,
            })  # fmt: skip
            chat_id = chat["id"]
        groups[department] = (int(chat_id), title)
    return groups


async def prepare_database(settings: Settings, groups: dict[Department, tuple[int, str]]) -> None:
    """Seed the demo estate and bind its department groups to the sandbox's chats."""
    db = await Database.open(settings.db, clock=clock_for(settings))
    try:
        await seed(db)
        identity = IdentityStore(db)
        estate = await identity.estate_by_name(DEMO_ESTATE)
        admin = await identity.person_by_tg(DEMO_ADMIN)
        assert estate is not None and admin is not None
        for tg_id, name, roles in SANDBOX_STAFF:
            person = await identity.touch_person(tg_id, name, None, "zh-hans")
            for role in roles:
                department = ROLE_DEPARTMENT.get(role)
                await identity.grant_role(
                    person.id, estate.id, role, actor="seed-demo",
                    department=department.value if department else None,
                )  # fmt: skip
        for department, (chat_id, title) in groups.items():
            current = await identity.department(estate.id, department.value)
            if current is not None and current.chat_id != chat_id:
                await identity.bind_department(
                    estate.id, department.value, chat_id, title, by=admin
                )
    finally:
        await db.close()


def demo_timezone(settings: Settings) -> str:
    """The demo estate's time zone (its estates config's, by default Asia/Shanghai): the
    sandbox's page shows times in it, as the bot's texts do, whatever the browser's zone."""
    from bot.settings import load_estates_config
    from procedures.deadlines import load_estate

    return load_estate(DEMO_ESTATE, load_estates_config(settings)).timezone


def run_local(settings: Settings) -> int:
    """Start the sandbox, prepare the demo, run the bot against it; stop both on Ctrl-C."""
    from bot.__main__ import run

    host, port = settings.sandbox_host, settings.sandbox_port
    timezone = demo_timezone(settings)  # a bad estates file stops here, before the sandbox
    base = f"http://{host}:{port}"
    folder = sandbox_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    # The sandbox runs in a session of its own: Ctrl-C in the terminal reaches the bot only,
    # which stops cleanly (its last long poll answered) before the sandbox is stopped below.
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--host", host, "--port", str(port),
         "--data", str(folder), "--token", SANDBOX_TOKEN, "--bot-username", SANDBOX_BOT,
         "--timezone", timezone],
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_until_ready(base, process)
        bot_settings = local_settings(settings, base)
        groups = prepare_world(base)
        asyncio.run(prepare_database(bot_settings, groups))
        print(
            f"\n  Wuye is running against the local sandbox.\n  Open {base}/ in a browser"
            " and pick a person to play.\n  Stop with Ctrl-C.\n",
            flush=True,
        )
        return run(bot_settings)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
