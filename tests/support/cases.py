"""Filing and reading cases as the tests do: a resident files a request or a complaint
through the chat, a case is referred, and the latest case and its clocks are read back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage.cases import Case
from tests.support.app import services_of
from tests.support.telegram import Group, Harness, Person

if TYPE_CHECKING:  # conftest imports the support modules its fixtures use
    from tests.conftest import World

#: A 1×1 PNG, the photo a resident attaches.
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


async def file_request(owner: Person, *, urgent: bool = False, photo: bool = False) -> None:
    await owner.send("/request")
    await owner.tap("报修")
    await owner.tap("阳光花园 · 1栋 101")
    if photo:
        await owner.send_photo(PNG)
    await owner.send("厨房水管漏水，地面已经积水")
    await owner.tap("🚨 紧急" if urgent else "普通")


async def file_complaint(owner: Person) -> None:
    await owner.send("/complain")
    await owner.tap("噪音")
    await owner.tap("阳光花园 · 2栋 101")
    await owner.send("保安夜班态度恶劣，多次反映无果")
    await owner.tap("普通")


async def referred_to_engineering(bot: Harness, groups: dict[str, Group], owner: Person) -> None:
    await file_request(owner)
    assistant = bot.person(9001, "周晓梅")
    await assistant.tap("➡️ 转交部门", chat=groups["cs"])
    await assistant.tap("工程部", chat=groups["cs"])


async def latest_case(world: World) -> Case:
    row = await world.db.fetchone("SELECT id FROM cases ORDER BY id DESC LIMIT 1")
    assert row is not None
    case = await services_of(world).cases.get(int(row["id"]))
    assert case is not None
    return case


async def open_rules(world: World, case: Case) -> dict[str, str]:
    rows = await world.db.fetchall(
        "SELECT rule, state FROM deadlines WHERE case_id = ? ORDER BY id", (case.id,)
    )
    return {r["rule"]: r["state"] for r in rows}
