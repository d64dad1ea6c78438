"""Renovation as its people meet it in the chat, found walking the sandbox's web page: a
re-upload left open without "完成" no longer swallows the owner's answers to a later
question (the worker's name for a pass); once every document is sent the checklist says to
submit instead of asking for the plan again; the menu lists the renovation commands each
person has (/renovate for an owner, /pass and /patrol for a guard)."""

from __future__ import annotations

import pytest

from procedures.renovation import REQUIRED
from tests.conftest import World
from tests.support.renovation_steps import (
    ASSISTANT,
    CASHIER,
    CUSTOMER_HEAD,
    ENGINEER,
    ENGINEER_HEAD,
    GUARD,
    ID_NUMBER,
    MANAGER,
    alert,
    page,
    register_worker,
    to_permit,
    to_works,
)
from tests.support.renovation_steps import customer_head as customer_head  # the fixture
from tests.support.telegram import Group, Harness, Person

pytestmark = pytest.mark.usefixtures("customer_head")
DOCS = ("平面图", "天花图", "水电管线图", "弱电图", "剖面图", "施工负责人身份证", "营业执照",
        "施工资质证书")  # fmt: skip


async def fill_in(owner: Person) -> None:
    """/renovate, the unit, the form, the scope and the commitment letter: a draft."""
    await owner.send("/renovate")
    await owner.tap("1栋 101")
    for typed in ("2026-12-01", "2027-02-28", "安居装饰", "李工", "138 0013 8000"):
        await owner.send(typed)
    for tick in ("墙面", "完成", "本人确认承诺书"):
        await owner.tap(tick)


async def test_every_document_sent_the_checklist_says_to_submit_not_to_send_the_plan_again(
    bot: Harness, owner: Person
) -> None:
    await fill_in(owner)
    for index, _ in enumerate(REQUIRED[:-1]):
        await owner.send_photo(page(index))
    assert "现在请发送：施工资质证书" in owner.last_text
    await owner.send_photo(page(9))
    assert "资料已全部上传，请点“📨 提交申请”" in owner.last_text
    assert "现在请发送" not in owner.last_text
    await owner.tap("天花图")  # picked: a second page goes to it
    await owner.send_photo(page(10))
    assert "已收到“天花图”第 2 份" in owner.last_text


async def test_a_reupload_left_open_does_not_swallow_the_workers_name_for_a_pass(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """The owner re-sends the refused plan and never taps "完成"; the application goes on
    to the permit. Registering a worker, the first answer gets a polite word that the
    document step is over (nothing kept); sent again, the pass form takes it."""
    await fill_in(owner)
    for index, _ in enumerate(REQUIRED):
        await owner.send_photo(page(index))
    await owner.tap("提交申请")
    cs = groups["cs"]
    assistant = bot.person(ASSISTANT, "周晓梅")
    await assistant.tap("平面图", chat=cs)
    await assistant.tap("无效", chat=cs)
    await assistant.tap("图像不清晰", chat=cs)
    await owner.tap("📎 重新上传“平面图”")
    await owner.send_photo(page(20))  # … and no "完成"
    for name in DOCS:
        await assistant.tap(name, chat=cs)
        await assistant.tap("有效", chat=cs)
    for head_id, name in ((ENGINEER_HEAD, "冯立"), (CUSTOMER_HEAD, "李淑芬")):
        signer = bot.person(head_id, name)
        await signer.tap("批准")
        await signer.tap("无意见")
    await owner.tap("接受审批条款")
    await owner.tap("阅读并签署装修协议")
    await owner.tap("签署协议和防火责任书")
    cashier = bot.person(CASHIER, "何小芸")
    await cashier.tap("收费")
    await cashier.send("2")
    await cashier.send("SJ-9")
    await assistant.tap("发放施工进场证", chat=cs)

    await owner.tap("登记施工人员出入证")
    assert "请输入施工人员姓名" in owner.last_text
    await owner.send("张三")
    assert "资料上传已结束" in owner.last_text
    assert "请发送资料的照片" not in owner.last_text
    await owner.send("张三")
    assert "身份证号码" in owner.last_text
    await owner.send(ID_NUMBER)
    await owner.send("139 0013 9000")
    await owner.send_photo(page(30))
    assert "出入证已办理" in owner.last_text


async def test_the_menu_lists_the_renovation_commands_each_person_has(
    bot: Harness, owner: Person
) -> None:
    await owner.send("/help")
    assert "/renovate — 装修申报" in owner.last_text
    assert "/extend — 延长装修工期" in owner.last_text
    assert "/pass" not in owner.last_text
    guard = bot.person(GUARD, "陈保华")
    await guard.send("/help")
    assert "/pass — 核验装修工人出入证" in guard.last_text
    assert "/patrol — 装修日常巡查" in guard.last_text
    assert "/renovate" not in guard.last_text


async def test_a_pass_refused_before_the_works_begin_does_not_call_itself_valid(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """The guard's refusal shows the pass's card: it says the pass is in use (not revoked),
    not "有效" next to "出入证尚未生效"."""
    await to_permit(world, bot, groups, owner, starts="2026-12-01")
    code = await register_worker(owner)
    assert f"出入证 {code}（在用）" in owner.last_text
    guard = bot.person(GUARD, "陈保华")
    await guard.send(f"/pass {code}")
    assert "不予放行" in guard.last_text
    assert "尚未生效" in guard.last_text
    assert "有效）" not in guard.last_text


async def test_the_penalty_decided_and_the_notice_closed_leave_no_buttons_to_press_again(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """The project manager's approval shows on the message (» ✅ 批准罚款) instead of the
    two buttons, and the owner, told a penalty was proposed, hears it was approved; the
    message customer service closed the notice from likewise."""
    await to_works(world, bot, groups, owner)
    engineer = bot.person(ENGINEER, "郑海")
    await engineer.send("/patrol")
    await engineer.tap("1栋 101")
    await engineer.tap("严重违规")
    await engineer.send_photo(page(50), caption="擅自拆除承重墙")
    await engineer.send("12月5日")
    await engineer.send("500")
    manager = bot.person(MANAGER, "钱振东")
    assert "✅ 批准罚款" in manager.buttons()
    await manager.tap("批准罚款")
    assert "已批准罚款" in alert(bot)
    assert "✅ 批准罚款" not in manager.buttons() and "❌ 不批准" not in manager.buttons()
    assert "» ✅ 批准罚款" in manager.last_text
    assert "罚款 ¥500.00 已经项目经理批准" in owner.last_text  # told how it ended
    cs = groups["cs"]
    assistant = bot.person(ASSISTANT, "周晓梅")
    await owner.tap("已知悉，支持整改")
    await assistant.tap("通知施工负责人", chat=cs)
    await assistant.tap("复查合格，结案", chat=cs)
    assert "复查整改合格" in owner.last_text
    [pressed] = [m for m in assistant.messages(cs) if "» 🔍 复查合格，结案" in str(m.get("text"))]
    assert "reply_markup" not in pressed or not pressed["reply_markup"].get("inline_keyboard")


async def test_a_notice_without_a_penalty_says_none_and_the_patrollers_words_show_as_typed(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """A penalty of 0 is none: the owner is not told of a ¥0.00 penalty awaiting approval.
    The line with < and & reaches the owner and customer service as text (Telegram would
    refuse the message as broken HTML otherwise)."""
    await to_works(world, bot, groups, owner)
    engineer = bot.person(ENGINEER, "郑海")
    await engineer.send("/patrol")
    await engineer.tap("1栋 101")
    await engineer.tap("严重违规")
    await engineer.send_photo(page(50), caption="电线<乱接> & 私拉")
    await engineer.send("12月5日")
    await engineer.send("0")
    told = owner.last_text
    assert "严重违规：电线&lt;乱接&gt; &amp; 私拉。" in told
    assert "罚款" not in told and "¥0.00" not in told
    assert "✅ 已知悉，支持整改" in owner.buttons()
    staff = bot.person(ASSISTANT, "周晓梅").messages(groups["cs"])[-1]["text"]
    assert "电线&lt;乱接&gt; &amp; 私拉" in staff
