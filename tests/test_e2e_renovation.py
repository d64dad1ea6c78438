"""A renovation's whole life end to end, through the sandbox and the real bot process, as
issue 11 lists it: the application with a photo per document; the two heads' approvals;
the fees paid; a worker's pass admitted at the gate, then refused once revoked; three
patrols; a serious violation with its penalty; the completion inspection; three months on
the bot's clock (moved, with a restart while the deposit is held) and the refund with its
three confirmations. The people act only through their chats; a few facts are read from
the database afterwards, from outside.

Each step waits for the bot's answer before the next (:class:`Expect`, or :func:`press`
waiting for its button and the bot's answer to the press), so nothing depends on how fast
the machine is. The bot runs with Telegram's limits lifted (``BotProcess(unpaced=True)``:
kept, the walk waits about 50 s on a group's 20 messages a minute — the customer-service
group gets a card and a verdict per document; the pacing has tests of its own), so the walk
takes about 15 s.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from tests.support.images import encoded
from tests.support.sandbox import BotProcess, Player, SandboxProcess, wait_for

SHANGHAI = ZoneInfo("Asia/Shanghai")
ADMIN = 500
ASSISTANT, ENGINEER, ENGINEER_HEAD, GUARD, CASHIER = 9001, 9003, 9004, 9005, 9006
MANAGER, CUSTOMER_HEAD = 9008, 9012
ID_NUMBER = "11010519491231002X"
DOCUMENTS = ("平面图", "天花图", "水电管线图", "弱电图", "剖面图", "施工负责人身份证",
             "营业执照", "施工资质证书")  # fmt: skip


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxProcess]:
    server = SandboxProcess(tmp_path / "sandbox").start()
    yield server
    server.stop()


@pytest.fixture
def bot(sandbox: SandboxProcess, tmp_path: Path) -> Iterator[BotProcess]:
    process = BotProcess(sandbox, tmp_path / "wuye.db", admins=str(ADMIN), unpaced=True)
    process.cli("seed-demo")
    process.start()
    yield process
    process.stop()


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    """Read the bot's database from outside (WAL lets a reader in while the bot writes)."""
    conn = sqlite3.connect(db)
    try:
        return list(conn.execute(sql))
    finally:
        conn.close()


def page(index: int) -> bytes:
    """A small distinct image: one document's (or one patrol's) photo."""
    return encoded(Image.new("RGB", (40, 30), (20 * index, 120, 60)), "PNG")


def count(sandbox: SandboxProcess, chat: int, fragment: str) -> int:
    """How many of the bot's messages in a chat contain ``fragment``."""
    return sum(fragment in t for t in sandbox.bot_texts(chat))


class Expect:
    """``with Expect(sandbox, chat, "fragment") as answer: <a step>`` waits, on leaving, for
    one more bot message in ``chat`` containing ``fragment`` than there was before the
    step (a new message or an edited one): the answer to this step, not to an earlier one;
    ``answer.text`` is the newest such message."""

    def __init__(self, sandbox: SandboxProcess, chat: int, fragment: str = "") -> None:
        self.sandbox, self.chat, self.fragment = sandbox, chat, fragment
        self.text = ""

    def __enter__(self) -> Expect:
        self.before = count(self.sandbox, self.chat, self.fragment)
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None:
            return
        wait_for(
            lambda: count(self.sandbox, self.chat, self.fragment) > self.before,
            what=f"{self.fragment!r} in chat {self.chat}",
        )
        self.text = self.sandbox.wait_text(self.chat, self.fragment)


def press(player: Player, label: str, chat: int | None = None) -> dict[str, Any]:
    """Tap the newest inline button whose text contains ``label`` (its emoji and tick
    aside), waiting until it appears; the sandbox's answer (with the toast) is returned."""
    chat_id = chat or player.uid

    def find() -> tuple[int, str] | None:
        for message in reversed(player.sandbox.messages(chat_id)):
            for row in (message.get("reply_markup") or {}).get("inline_keyboard") or []:
                for button in row:
                    if label in str(button.get("text")) and "callback_data" in button:
                        return int(message["message_id"]), str(button["callback_data"])
        return None

    message_id, data = wait_for(find, what=f"button {label!r} in chat {chat_id}")
    tapped: dict[str, Any] = player.sandbox.post(
        f"/api/chats/{chat_id}/tap", {"as": player.uid, "message_id": message_id, "data": data}
    )
    return tapped


def alert(tapped: dict[str, Any]) -> str:
    """The bot's answer to a button press (the toast the person sees)."""
    return str((tapped.get("answer") or {}).get("text") or "")


def test_r4_r11_r14_r15_r16_r20_r21_a_renovation_from_application_to_refund_through_the_sandbox(
    sandbox: SandboxProcess, bot: BotProcess, tmp_path: Path
) -> None:
    """Issue 11's end-to-end walk: the owner applies with a photo per document (R-1..R-3);
    customer service checks them; the engineering and customer-department heads approve
    (R-4); the owner accepts and signs; the cashier records the payment (R-10); the permit
    is issued and a worker's pass registered (R-11); the entry inspection starts the works
    (R-12); on the first works day the guard's /pass admits the worker, and once the owner
    revokes it refuses him (S-1); customer service, engineering and security each patrol
    (R-14); the next day engineering finds a serious violation: the owner is told first,
    then the contractor, the project manager approves the ¥500 penalty into the ledger and
    the re-inspection closes it (R-15, R-16); the completion inspection passes (R-20); a
    claim before the earliest date is refused with it, also three months on, the evening
    before; the bot is stopped while the deposit is held and its clock moved to the next
    morning: started again it tells the owner once that the refund is open, even after a
    second restart (a crash); the check deducts ¥120 of utilities, the owner and the
    project manager (for the project centre) confirm, the manager approves, the cashier
    pays ¥1,380.00 (R-21): the renovation closed, its deposit ledger at zero, the audit
    trail intact."""
    db = tmp_path / "wuye.db"
    admin = sandbox.player(ADMIN, "管理员")
    assistant, engineer = sandbox.player(ASSISTANT, "周晓梅"), sandbox.player(ENGINEER, "郑海")
    engineer_head, guard = sandbox.player(ENGINEER_HEAD, "冯立"), sandbox.player(GUARD, "陈保华")
    cashier, manager = sandbox.player(CASHIER, "何小芸"), sandbox.player(MANAGER, "钱振东")
    customer_head = sandbox.player(CUSTOMER_HEAD, "李淑芬")
    cs = sandbox.group("客服中心", [ADMIN, ASSISTANT, CUSTOMER_HEAD])
    eng = sandbox.group("工程部", [ADMIN, ENGINEER, ENGINEER_HEAD])
    admin.send("/bind 客服中心", chat=cs)
    admin.send("/bind 工程部", chat=eng)
    sandbox.wait_text(eng, "本群已绑定")
    # The demo estate has no customer-department head: she joins by a one-time invite.
    link = bot.cli("invite", "--estate", "阳光花园", "--role", "customer_head").stdout
    invite = re.search(r"start=(inv_[A-Za-z0-9_-]+)", link)
    assert invite is not None, link
    customer_head.send(f"/start {invite.group(1)}")
    assert "客户部负责人" in customer_head.wait_text("欢迎加入")

    owner = sandbox.player(8001, "王伟", phone="+8613900000001")
    owner.send("/start")
    owner.wait_text("分享您的手机号码")
    owner.share_contact()
    owner.wait_text("身份验证成功")

    # R-1..R-3: the application with a photo per document, each checked valid.
    owner.send("/renovate")
    press(owner, "阳光花园 1栋 101")
    for typed in ("2026-12-01", "2027-02-28", "安居装饰", "李工", "138 0013 8000"):
        with Expect(sandbox, owner.uid):
            owner.send(typed)
    for tick in ("墙面", "完成", "本人确认承诺书"):
        press(owner, tick)
    for index, name in enumerate(DOCUMENTS):
        with Expect(sandbox, owner.uid, f"已收到“{name}”"):
            owner.photo(page(index))
    with Expect(sandbox, owner.uid):
        press(owner, "提交申请")
    for name in DOCUMENTS:
        press(assistant, name, chat=cs)
        with Expect(sandbox, cs, f"“{name}”有效"):
            press(assistant, "有效", chat=cs)
    # the engineering head, then the customer-department head, approve.
    for head in (engineer_head, customer_head):
        press(head, "批准")
        with Expect(sandbox, head.uid, "已批准"):
            press(head, "无意见")
    # the owner accepts the terms and signs.
    assert "已获批准" in owner.wait_text("审批条款")
    press(owner, "接受审批条款")
    press(owner, "阅读并签署装修协议")
    with Expect(sandbox, cashier.uid, "请向业主出示收费标准"):
        press(owner, "签署协议和防火责任书")
    # the cashier records the payment.
    press(cashier, "收费")
    with Expect(sandbox, cashier.uid, "收款后请输入收据号"):
        cashier.send("2")
    with Expect(sandbox, owner.uid, "已收到您的装修费用") as paid:
        cashier.send("SJ-20261125-01")
    assert "¥2,840.00" in paid.text
    # the permit; the owner registers a worker for a pass.
    press(assistant, "发放施工进场证", chat=cs)
    press(owner, "登记施工人员出入证")
    for typed in ("张三", ID_NUMBER, "139 0013 9000"):
        with Expect(sandbox, owner.uid):
            owner.send(typed)
    with Expect(sandbox, owner.uid, "出入证 ") as registered:
        owner.photo(page(30))
    found = re.search(r"出入证 ([A-Z0-9]{6})", registered.text)
    assert found is not None, registered.text
    code = found.group(1)
    # Tuesday 1 December, the first works day, 09:00: the entry inspection; the
    # works begin.
    bot.set_clock(datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI))
    press(assistant, "入场验收", chat=cs)
    press(assistant, "其余完好")
    press(assistant, "客服确认验收")
    with Expect(sandbox, owner.uid, "入场通知单"):
        press(owner, "确认入场验收")

    # S-1: at 10:00 the guard admits the worker; the owner revokes his pass: refused.
    bot.set_clock(datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI))
    with Expect(sandbox, guard.uid, code) as admitted:
        guard.send(f"/pass {code}")
    assert "✅ 放行" in admitted.text and "张三" in admitted.text
    with Expect(sandbox, owner.uid, "出入证已注销"):
        press(owner, "注销出入证")
    with Expect(sandbox, guard.uid, code) as refused:
        guard.send(f"/pass {code}")
    assert "不予放行" in refused.text and "出入证已注销" in refused.text

    # three patrols, one by each department, each "all in order".
    for patroller, department in ((assistant, "客服中心"), (engineer, "工程部"), (guard, "保安部")):
        with Expect(sandbox, patroller.uid, f"{department}还需巡查 1 户"):
            patroller.send("/patrol")
        press(patroller, "1栋 101")
        with Expect(sandbox, patroller.uid, "已记录巡查"):
            press(patroller, "一切正常")
    with Expect(sandbox, engineer.uid, "工程部的装修巡查都已完成"):
        engineer.send("/patrol")

    # Wednesday, engineering's patrol finds a serious violation.
    bot.set_clock(datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI))
    with Expect(sandbox, engineer.uid, "工程部还需巡查 1 户"):
        engineer.send("/patrol")
    press(engineer, "1栋 101")
    press(engineer, "严重违规")
    with Expect(sandbox, engineer.uid, "整改期限"):
        engineer.photo(page(50), caption="擅自拆除承重墙")
    with Expect(sandbox, engineer.uid, "罚款"):
        engineer.send("12月5日")
    with Expect(sandbox, owner.uid, "严重违规") as told:
        engineer.send("500")
    assert "¥500.00" in engineer.wait_text("已开违章整改单")
    assert "2026-12-05" in told.text and "R-1" not in told.text  # no rule ids for residents
    with Expect(sandbox, cs, "业主已知悉并支持整改"):
        press(owner, "已知悉，支持整改")
    assert "李工" in alert(press(assistant, "通知施工负责人", chat=cs))
    manager.wait_text("拟罚款 ¥500.00")
    with Expect(sandbox, cs, "项目经理已批准罚款"):
        press(manager, "批准罚款")
    with Expect(sandbox, owner.uid, "复查整改合格") as closed:
        press(assistant, "复查合格，结案", chat=cs)
    assert "擅自拆除承重墙" in closed.text

    # the completion inspection, on the first slot the bot offers.
    with Expect(sandbox, owner.uid, "请选择验收日期"):
        press(owner, "申请竣工验收")
    slot = next(
        str(b["text"])
        for m in reversed(sandbox.messages(owner.uid))
        for row in (m.get("reply_markup") or {}).get("inline_keyboard") or []
        for b in row
        if re.search(r"\d{4}-\d{2}-\d{2}", str(b.get("text")))
    )
    press(owner, slot)
    press(assistant, "通知工程部、保安部验收", chat=cs)
    press(engineer, "验收合格")
    with Expect(sandbox, owner.uid, "竣工验收合格") as passed:
        press(guard, "验收合格")
    found = re.search(r"最早可退日期：(\d{4}-\d{2}-\d{2})", passed.text)
    assert found is not None, passed.text
    refund_from = found.group(1)
    assert refund_from == "2027-03-02"  # three months after Wednesday 2 December
    assert refund_from in alert(press(owner, "申请退还押金"))  # not yet

    # Three months on, the evening before the date: still refused, with the date. The bot
    # is stopped while the deposit is held; started again the next morning after 09:00 it
    # tells the owner once that the refund is open, and not again after a crash and
    # another start.
    bot.set_clock(datetime(2027, 3, 1, 17, 0, tzinfo=SHANGHAI))
    assert f"最早可退日期：{refund_from}" in alert(press(owner, "申请退还押金"))
    bot.stop()
    bot.set_clock(datetime(2027, 3, 2, 9, 1, tzinfo=SHANGHAI))
    bot.start()
    assert refund_from in owner.wait_text("可以申请退还了")
    bot.kill()
    bot.advance(hours=1)
    bot.start()
    with Expect(sandbox, owner.uid):
        owner.send("/start")  # it answers again: nothing lost
    time.sleep(3)  # a few sweeps: the notice may not come twice
    assert count(sandbox, owner.uid, "可以申请退还了") == 1

    # claimed, checked (¥120 of utilities), three confirmations, approved, paid.
    assert "已提交退还押金申请" in alert(press(owner, "申请退还押金"))
    press(assistant, "退押金核查", chat=cs)
    press(assistant, "下一步")
    with Expect(sandbox, assistant.uid):
        assistant.send("120")
    with Expect(sandbox, owner.uid, "可退金额") as amount:
        assistant.send("0")
    assert "¥1,380.00" in amount.text
    press(owner, "确认退款金额")
    with Expect(sandbox, manager.uid, "请审批") as ask:
        press(manager, "确认退款金额")
    assert "¥1,380.00" in ask.text
    press(manager, "批准退还押金")
    press(cashier, "登记退款")
    with Expect(sandbox, owner.uid, "押金已退还") as refunded:
        cashier.send("FK-20270302")
    assert "¥1,380.00" in refunded.text and "FK-20270302" in refunded.text

    # From outside: closed, the ledger at zero, the signatures, the audit chain intact.
    [(ren_id, status)] = query(db, "SELECT id, status FROM renovations")
    assert status == "closed"
    ledger = query(
        db, f"SELECT kind, amount_fen FROM renovation_deposit WHERE renovation_id = {ren_id}"
        " ORDER BY id",
    )  # fmt: skip
    assert ledger == [("collected", 200_000), ("penalty", 50_000), ("utilities", 12_000),
                      ("refund", 138_000)]  # fmt: skip
    assert sum(fen if kind == "collected" else -fen for kind, fen in ledger) == 0
    opened = query(
        db, "SELECT COUNT(*) FROM audit WHERE event = 'renovation.open_refund'"
        f" AND subject = 'renovation:{ren_id}'",
    )  # fmt: skip
    assert opened == [(1,)]
    signed = query(
        db, "SELECT step, role FROM approvals WHERE subject_kind = 'renovation'"
        f" AND subject_id = {ren_id} AND step IN ('R-4', 'R-21') ORDER BY id",
    )  # fmt: skip
    assert signed == [("R-4", "engineering_head"), ("R-4", "customer_head"),
                      ("R-21", "owner"), ("R-21", "project_centre_head"),
                      ("R-21", "project_manager")]  # fmt: skip
    checked = subprocess.run(
        [sys.executable, "-m", "bot", "check-audit"], env=bot.env, cwd=bot.cwd,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
