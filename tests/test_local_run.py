"""``make run`` with no token: the sandbox, the demo estate and the bot, surviving a restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from bot.local import demo_timezone
from bot.settings import load_settings
from tests.support.sandbox import ROOT, Player, SandboxProcess, free_port, wait_for


def start(tmp_path: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WUYE_")}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "WUYE_DB": str(tmp_path / "data" / "wuye.db"),
            "WUYE_SANDBOX_PORT": str(port),
        }
    )
    log = (tmp_path / "run.log").open("ab")
    process = subprocess.Popen(  # its own process group, like a command in a terminal
        [sys.executable, "-m", "bot", "start"], env=env, cwd=tmp_path, stdout=log, stderr=log,
        start_new_session=True,
    )  # fmt: skip
    log.close()
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    """Ctrl-C in the terminal: SIGINT to the whole foreground process group."""
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:  # pragma: no cover - a hang is a failure below
        process.kill()
        process.wait()
        raise


def test_make_run_without_a_token_serves_the_demo_estate_and_keeps_it(tmp_path: Path) -> None:
    port = free_port()
    sandbox = SandboxProcess(tmp_path)  # only used as a client of the sandbox `bot start` runs
    sandbox.port, sandbox.base = port, f"http://127.0.0.1:{port}"
    process = start(tmp_path, port)
    try:
        state = wait_for(lambda: _prepared(sandbox), what="the demo world of `bot start`")
        titles = sorted(g["title"] for g in state["groups"])
        assert len(titles) == 6 and "客服中心 · 阳光花园" in titles
        assert {p["id"] for p in state["people"]} >= {8001, 8100, 9001, 9008}
        page = sandbox.request("GET", "/api/people")
        assert any(p["label"].startswith("业主") for p in page)
        owner = Player(sandbox, 8001)
        owner.send("/start")
        owner.wait_text("分享您的手机号码")
        owner.share_contact()
        owner.wait_text("身份验证成功")
        # The newcomer is verified in the demo's customer-service group, bound at start.
        newcomer = Player(sandbox, 8100)
        newcomer.send("/start")
        newcomer.wait_text("分享您的手机号码")
        newcomer.share_contact()
        newcomer.wait_text("请输入您在")
        newcomer.send("3栋 602")
        cs = next(g["id"] for g in state["groups"] if g["title"].startswith("客服中心"))
        sandbox.wait_text(cs, "业主身份核实申请")
    finally:
        stop(process)
    assert not _reachable(sandbox), "the sandbox stops with `make run`"
    # Ctrl-C stops the bot first, then its sandbox: a clean stop, no traceback.
    assert "Traceback" not in (tmp_path / "run.log").read_text(encoding="utf-8", errors="replace")
    process = start(tmp_path, port)
    try:
        again = wait_for(lambda: _prepared(sandbox), what="the restarted sandbox")
        assert sorted(g["title"] for g in again["groups"]) == titles  # nothing duplicated
        owner.send("/whoami")
        assert "1栋 101" in owner.wait_text("我的房屋")
    finally:
        stop(process)


def _state(sandbox: SandboxProcess) -> dict[str, object] | None:
    try:
        state: dict[str, object] = sandbox.request("GET", "/api/state")
        return state
    except OSError:
        return None


def _prepared(sandbox: SandboxProcess) -> dict[str, object] | None:
    """The sandbox's state once the demo's six department groups exist."""
    state = _state(sandbox)
    groups = state.get("groups") if state else None
    return state if isinstance(groups, list) and len(groups) >= 6 else None


def _reachable(sandbox: SandboxProcess) -> bool:
    return _state(sandbox) is not None


def test_the_sandbox_page_shows_times_in_the_demo_estates_time_zone(tmp_path: Path) -> None:
    """`make run` tells the sandbox the demo estate's zone (its estates config's; default
    Asia/Shanghai), which the page shows message times in whatever the browser's zone."""
    assert demo_timezone(load_settings(estates_config=None)) == "Asia/Shanghai"
    config = tmp_path / "estates.toml"
    config.write_text('[estates."阳光花园"]\ntimezone = "Asia/Urumqi"\n', encoding="utf-8")
    assert demo_timezone(load_settings(estates_config=config)) == "Asia/Urumqi"
    config.write_text('[defaults]\ntimezone = "Asia/Hong_Kong"\n', encoding="utf-8")
    assert demo_timezone(load_settings(estates_config=config)) == "Asia/Hong_Kong"
