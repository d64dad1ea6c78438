"""R-2, R-3's conditional documents through the bot and a fake Telegram: the owner ticks
"an agent applies" and sends the power of attorney with the rest, customer service checks
it with the others and the last valid one completes the application; customer service
requires the design qualification of a submitted application (commercial or key premises),
the owner is told, uploads it, and only its valid check completes the application."""

from __future__ import annotations

import pytest

from procedures.renovation import REQUIRED, Doc, DocState, Status
from storage import audit
from storage.renovation import RenovationStore
from tests.conftest import World
from tests.support.renovation_steps import ASSISTANT, alert, latest, page
from tests.support.renovation_steps import customer_head as customer_head  # the fixture
from tests.support.telegram import Group, Harness, Person

pytestmark = pytest.mark.usefixtures("customer_head")

EIGHT = ("平面图", "天花图", "水电管线图", "弱电图", "剖面图", "施工负责人身份证", "营业执照",
         "施工资质证书")  # fmt: skip
AGENT = "由代理人办理（需委托书）"
DESIGN = "商铺或重点部位（需设计资质）"


async def fill_in(owner: Person) -> None:
    """R-1, R-2: /renovate, the unit, the form, the scope and the commitment letter."""
    await owner.send("/renovate")
    await owner.tap("1栋 101")
    for typed in ("2026-12-01", "2027-02-28", "安居装饰", "李工", "138 0013 8000"):
        await owner.send(typed)
    await owner.tap("墙面")
    await owner.tap("完成")
    await owner.tap("本人确认承诺书")


async def check(assistant: Person, cs: Group, names: tuple[str, ...]) -> None:
    """R-3: customer service opens each document and marks it valid."""
    for name in names:
        await assistant.tap(name, chat=cs)
        await assistant.tap("有效", chat=cs)


async def test_r2_an_agent_adds_the_power_of_attorney_and_it_must_be_valid(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """R-2: the owner ticks "an agent applies": the power of attorney joins the checklist
    and takes the next photo; a tick of "commercial or key premises" and a second tick take
    the design qualification on and off again; once a file was sent the power of attorney
    stays. Customer service checks nine documents: the eight valid leave it waiting; the
    power of attorney's valid check completes it."""
    await fill_in(owner)
    assert AGENT in str(owner.messages()[-1].get("reply_markup"))  # offered in the draft
    await owner.tap(AGENT)
    assert "业主委托书" in owner.last_text and "☑️" in str(owner.messages()[-1]["reply_markup"])
    await owner.tap(DESIGN)
    assert "设计资质证书" in owner.last_text  # on the list
    await owner.tap(DESIGN)
    assert "设计资质证书" not in owner.last_text  # and off it again, nothing sent
    ren_id = await latest(world)
    renos = RenovationStore(world.db)
    ren = await renos.get(ren_id)
    assert ren is not None and set(ren.documents) == {*REQUIRED, Doc.POWER_OF_ATTORNEY}

    await owner.tap("业主委托书")  # the untick fell back to the first missing: pick it
    await owner.send_photo(page(40))
    ren = await renos.get(ren_id)
    assert ren is not None and ren.documents[Doc.POWER_OF_ATTORNEY].state == DocState.PENDING
    assert ren.documents[Doc.PLAN].state == DocState.MISSING
    await owner.tap(AGENT)  # a file was sent: it stays on the list
    assert "不能再从清单中取消" in alert(bot)
    for index, _ in enumerate(REQUIRED):
        await owner.send_photo(page(index))
    await owner.tap("提交申请")
    assert "已提交" in owner.last_text

    cs = groups["cs"]
    assistant = bot.person(ASSISTANT, "周晓梅")
    assert "业主委托书" in assistant.messages(cs)[-1]["text"]  # on customer service's card
    await check(assistant, cs, EIGHT)
    ren = await renos.get(ren_id)
    assert ren is not None and ren.status == Status.SUBMITTED  # the ninth still to check
    last = assistant.messages(cs)[-1]  # the last page checked, its caption edited
    assert "资料：8/9" in str(last.get("text") or last.get("caption"))
    await check(assistant, cs, ("业主委托书",))
    ren = await renos.get(ren_id)
    assert ren is not None and ren.status == Status.COMPLETE
    assert "资料已齐全" in owner.last_text
    trail = await audit.trail(world.db, f"renovation:{ren_id}")
    needed = [e["data"] for e in trail if e["event"] == "renovation.document_needed"]
    assert [(d["doc"], d["needed"]) for d in needed] == [
        ("power_of_attorney", True),
        ("design_qualification", True),
        ("design_qualification", False),
    ]


async def test_r3_customer_service_requires_the_design_qualification_and_the_owner_sends_it(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """R-3: commercial or key premises: customer service, checking a submitted application,
    taps "需补设计资质": the owner is told, with the upload button; the eight valid do not
    complete it; the owner uploads it, customer service is told, and its valid check
    completes the application. Only customer service may require it, and only once."""
    await fill_in(owner)
    for index, _ in enumerate(REQUIRED):
        await owner.send_photo(page(index))
    await owner.tap("提交申请")
    ren_id = await latest(world)
    renos = RenovationStore(world.db)
    cs = groups["cs"]
    assistant = bot.person(ASSISTANT, "周晓梅")

    await owner.tap_data(f"ren:dq:{ren_id}")  # not customer service: refused, nothing changes
    assert "由客服中心人员审核" in alert(bot)
    ren = await renos.get(ren_id)
    assert ren is not None and Doc.DESIGN_QUALIFICATION not in ren.documents

    await assistant.tap("需补设计资质", chat=cs)
    assert "还需提供“设计资质证书”" in owner.last_text  # the owner is told
    card = assistant.messages(cs)[-1]
    assert "已要求业主补交" in card["text"] and "需补设计资质" not in str(card["reply_markup"])
    await assistant.tap_data(f"ren:dq:{ren_id}", chat=cs)  # once is enough
    assert "已经有这项资料" in alert(bot)

    await check(assistant, cs, EIGHT)
    ren = await renos.get(ren_id)
    assert ren is not None and ren.status == Status.SUBMITTED  # not complete without it

    await owner.tap("重新上传“设计资质证书”")
    await owner.send_photo(page(41))
    await owner.tap("完成")
    assert "补充要求的“设计资质证书”" in assistant.messages(cs)[-1]["text"]
    await check(assistant, cs, ("设计资质证书",))
    ren = await renos.get(ren_id)
    assert ren is not None and ren.status == Status.COMPLETE
    assert "资料已齐全" in owner.last_text
    trail = await audit.trail(world.db, f"renovation:{ren_id}")
    needed = [e for e in trail if e["event"] == "renovation.document_needed"]
    row = await world.db.fetchone("SELECT id FROM people WHERE tg_user_id = ?", (ASSISTANT,))
    assert row is not None
    assistant_id = row["id"]
    assert [(e["data"]["by"], e["actor"]) for e in needed] == [
        ("customer_service", f"person:{assistant_id}")
    ]


async def test_r3_a_one_page_document_is_one_message_whose_caption_the_verdict_edits(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """R-3: customer service opens a document of one page: the page comes as one photo
    with the check and ✅ / ❌ under it (not an album and a card: a group takes 20 messages
    a minute); the verdict edits that photo's caption and takes the buttons away."""
    await fill_in(owner)
    for index, _ in enumerate(REQUIRED):
        await owner.send_photo(page(index))
    await owner.tap("提交申请")
    cs = groups["cs"]
    assistant = bot.person(ASSISTANT, "周晓梅")
    before = len(assistant.messages(cs))
    await assistant.tap("平面图", chat=cs)
    [shown] = assistant.messages(cs)[before:]
    assert shown.get("photo") and "平面图" in shown["caption"]
    assert {"✅ 有效", "❌ 无效"} <= {
        b["text"] for row in shown["reply_markup"]["inline_keyboard"] for b in row
    }
    await assistant.tap("有效", chat=cs)
    assert len(assistant.messages(cs)) == before + 1  # nothing more posted
    [edited] = [m for m in assistant.messages(cs) if m["message_id"] == shown["message_id"]]
    assert "有效" in edited["caption"] and "资料：1/8" in edited["caption"]
    assert not edited.get("reply_markup")
    ren = await RenovationStore(world.db).get(await latest(world))
    assert ren is not None and ren.documents[Doc.PLAN].state == DocState.VALID
