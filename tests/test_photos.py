"""Photos in chat are evidence and reach the people who act (Q-2, Q-1, C-9): an owner's
photos are kept byte for byte under their SHA-256 when they arrive; staff receive the
display copies (watermarked, without GPS) as albums with their cards; an engineer's photo
reaches the owner; ``/case`` lists the hashes and sends the photos; a file that is not a
photo (or too big, or a bomb) is refused politely and changes nothing."""

from __future__ import annotations

import hashlib
import io
import logging
import re
from typing import Any

import pytest
from PIL import Image

from procedures.subjects import CASE, Subject
from storage import evidence
from storage.evidence import EvidenceStore
from tests.conftest import OWNER_PHONE, World
from tests.support.app import services_of
from tests.support.cases import latest_case
from tests.support.images import encoded, gps_jpeg, png_header, textured
from tests.support.telegram import Group, Harness, Person

CS_STAFF, ENGINEER = 9001, 9003


def photo_bytes(world: World, message: dict[str, Any]) -> bytes:
    """The bytes of a photo a chat received (its largest size)."""
    content: bytes = world.api.world.file_content(message["photo"][-1]["file_id"])
    return content


def photos_in(chat: Group | Person, since: int = 0) -> list[dict[str, Any]]:
    return [m for m in chat.messages()[since:] if m.get("photo")]


async def describe(owner: Person) -> None:
    await owner.send("/request")
    await owner.tap("报修")
    await owner.tap("阳光花园 · 1栋 101")


async def links_of(world: World, case_id: int) -> list[evidence.Link]:
    return await evidence.links(world.db, Subject(CASE, case_id))


async def test_q1_an_owners_album_reaches_customer_service_and_the_department_as_photos(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """Q-1, C-9: the first responder's card and, on referral, the department's card come
    with the owner's photos as an album: the watermarked display copies, not the files."""
    first, second = encoded(textured((900, 600)), "JPEG"), encoded(textured((600, 900)), "PNG")
    await describe(owner)
    cs_before, eng_before = len(groups["cs"].messages()), len(groups["eng"].messages())
    await owner.send_album([first, second], caption="卫生间天花板渗水，见照片")
    await owner.tap("普通")
    case = await latest_case(world)
    album = photos_in(groups["cs"], cs_before)
    assert len(album) == 2 and len({m.get("media_group_id") for m in album}) == 1
    assert case.number in album[0]["caption"]
    sent = {photo_bytes(world, m) for m in album}
    assert first not in sent and second not in sent  # display copies, never the originals
    card = [m for m in groups["cs"].messages()[cs_before:] if case.number in m.get("text", "")]
    assert card and "📷 照片 2 张" in card[-1]["text"]
    await bot.person(CS_STAFF, "周晓梅").tap("➡️ 转交部门", chat=groups["cs"])
    await bot.person(CS_STAFF, "周晓梅").tap("工程部", chat=groups["cs"])
    eng = photos_in(groups["eng"], eng_before)
    assert len(eng) == 2  # the engineer goes out knowing what to bring
    assert "请接单" in groups["eng"].last_text or case.number in groups["eng"].last_text


async def test_q2_a_gps_photo_sent_as_a_file_is_kept_whole_and_reaches_staff_without_gps(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """The stored original's SHA-256 is that of the bytes the owner sent; what staff get
    has no GPS (nor any EXIF) and names the case."""
    sent = gps_jpeg((800, 600))
    await describe(owner)
    before = len(groups["cs"].messages())
    await owner.send_document(sent, "IMG_0042.jpg", mime_type="image/jpeg")
    await owner.send("阳台地漏堵了，水漫出来")
    await owner.tap("普通")
    case = await latest_case(world)
    [kept] = await links_of(world, case.id)
    assert kept.sha256 == hashlib.sha256(sent).hexdigest()
    store = EvidenceStore(services_of(world).settings.data_dir)
    assert store.read_original(kept.sha256) == sent
    [received] = photos_in(groups["cs"], before)
    shown = Image.open(io.BytesIO(photo_bytes(world, received)))
    assert not shown.getexif().get_ifd(0x8825)  # no GPS
    assert not shown.getexif()
    events = await world.db.fetchall(
        "SELECT data FROM audit WHERE event = 'evidence.attached' AND subject = ?",
        (f"case:{case.id}",),
    )
    assert len(events) == 1 and kept.sha256 in events[0]["data"]


@pytest.mark.parametrize(
    ("content", "name", "says"),
    [
        (png_header(30000, 30000), "bomb.png", "像素过大"),
        (b"MZ\x90\x00" + bytes(2000), "photo.jpg", "不是图片"),
        (b"\xff\xd8\xff\xe0" + bytes(21 * 1024 * 1024), "huge.jpg", "超过 20 MB"),
    ],
    ids=["bomb", "executable", "21MB"],
)
async def test_q2_a_file_that_is_not_a_photo_is_refused_politely_and_changes_nothing(
    world: World,
    bot: Harness,
    groups: dict[str, Group],
    owner: Person,
    content: bytes,
    name: str,
    says: str,
) -> None:
    await describe(owner)
    await owner.send_document(content, name, mime_type="image/jpeg")
    assert says in owner.last_text and "没有保存" in owner.last_text
    assert await world.db.fetchall("SELECT sha256 FROM evidence") == []
    await owner.send("厨房水管漏水")
    assert "照片 0 张" in owner.last_text  # the draft did not take it
    await owner.tap("普通")
    case = await latest_case(world)
    assert await links_of(world, case.id) == []


async def test_an_engineers_photo_reply_reaches_the_owner_as_a_photo(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """The engineer replies to the card with a photo: kept as evidence, and the owner gets
    it watermarked with the case's number."""
    await describe(owner)
    await owner.send("厨房水管漏水")
    await owner.tap("普通")
    staff = bot.person(CS_STAFF, "周晓梅")
    await staff.tap("➡️ 转交部门", chat=groups["cs"])
    await staff.tap("工程部", chat=groups["cs"])
    engineer = bot.person(ENGINEER, "郑海")
    await engineer.tap("🙋 接单", chat=groups["eng"])
    card = groups["eng"].messages()[-1]["message_id"]
    taken = gps_jpeg((640, 480))
    await engineer.reply_to(card, "已更换阀门", chat=groups["eng"], photo=taken)
    got = owner.messages()[-1]
    assert got.get("photo") and "已更换阀门" in got.get("caption", "")
    assert photo_bytes(world, got) != taken
    case = await latest_case(world)
    [kept] = await links_of(world, case.id)
    assert kept.added_by is not None and kept.display_sha256 is not None


async def test_case_lists_the_photos_with_their_hashes_and_sends_them(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    photo = encoded(textured((500, 400)), "JPEG")
    await describe(owner)
    await owner.send_photo(photo, caption="门禁坏了")
    await owner.tap("普通")
    case = await latest_case(world)
    staff = bot.person(CS_STAFF, "周晓梅")
    await staff.send(f"/case {case.number}", chat=groups["cs"])
    listing = groups["cs"].last_text
    assert hashlib.sha256(photo).hexdigest() in listing
    before = len(groups["cs"].messages())
    await staff.tap("📷 发送照片（1）", chat=groups["cs"])
    assert len(photos_in(groups["cs"], before)) == 1
    stranger = bot.person(2999, "路人")
    await stranger.send(f"/case {case.number}")
    assert hashlib.sha256(photo).hexdigest() not in stranger.last_text


async def test_photos_attached_without_display_copies_get_them_at_start(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A photo attached with no display copy (filed by an earlier version) gets it at the
    next start, and can then be sent."""
    from handlers import photos

    async def none(*args: object) -> dict[str, str]:
        return {}

    monkeypatch.setattr(photos, "filing_displays", none)
    await describe(owner)
    await owner.send_photo(encoded(textured((300, 200)), "JPEG"), caption="楼道灯不亮")
    await owner.tap("普通")
    case = await latest_case(world)
    assert [k.display_sha256 for k in await links_of(world, case.id)] == [None]
    monkeypatch.undo()
    assert await photos.recover(services_of(world)) == 1
    [kept] = await links_of(world, case.id)
    assert kept.display_sha256 is not None


async def test_q2_the_photos_name_the_case_number_reserved_for_them(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """The display copies are made before filing, watermarked with the number the case
    then gets: the card arrives with its album just before it, and the owner's receipt
    counts the photos."""
    await describe(owner)
    before = len(groups["cs"].messages())
    await owner.send_photo(encoded(textured((600, 400)), "JPEG"), caption="外墙渗水")
    await owner.tap("普通")
    case = await latest_case(world)
    album, card = groups["cs"].messages()[before:][-2:]
    assert album.get("photo") and case.number in album["caption"]
    assert "新事项" in card["text"] and card.get("reply_markup")
    assert "📷 照片 1 张" in owner.last_text
    [kept] = await links_of(world, case.id)
    events = await world.db.fetchall(
        "SELECT data FROM audit WHERE event = 'evidence.attached' AND subject = ?",
        (f"case:{case.id}",),
    )
    assert kept.display_sha256 is not None and kept.display_sha256 in events[0]["data"]


async def test_v2_the_urgent_alert_comes_with_the_photos(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """V-2, C-3: the superior alerted at once about an urgent case sees the photos too."""
    supervisor = bot.person(9002, "吴建国")
    await supervisor.send("/start")
    before = len(supervisor.messages())
    await describe(owner)
    await owner.send_photo(encoded(textured((400, 300)), "JPEG"), caption="电梯困人")
    await owner.tap("🚨 紧急")
    case = await latest_case(world)
    told = supervisor.messages()[before:]
    assert any(case.number in m.get("text", "") and "紧急" in m.get("text", "") for m in told)
    [album] = photos_in(supervisor, before)
    assert case.number in album["caption"]


async def test_q2_a_photo_telegram_will_not_hand_over_is_asked_again_not_lost_silently(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person
) -> None:
    """A 500 on getFile: the owner is told the photo was not kept and to send it again;
    the draft goes on, and the photo sent again is kept."""
    await describe(owner)
    bot.api.fail_next("getFile", 500, "Internal Server Error")
    await owner.send_photo(encoded(textured((300, 200)), "JPEG"))
    assert "没能从 Telegram 取到" in owner.last_text
    await owner.send_photo(encoded(textured((300, 200)), "JPEG"), caption="水管漏水")
    await owner.tap("普通")
    case = await latest_case(world)
    assert len(await links_of(world, case.id)) == 1


async def test_each_photo_kept_and_each_display_copy_made_logs_its_time_by_hash_alone(
    world: World, bot: Harness, groups: dict[str, Group], owner: Person,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """The bot's own timing of its evidence work (what bench/evidence_chat.py reads): one
    line when a photo is kept, one when its display copy is made, each naming the photo by
    its SHA-256's first 12 hex digits and nothing personal (no name, phone or caption)."""
    sent = gps_jpeg((800, 600))
    sha = hashlib.sha256(sent).hexdigest()
    await describe(owner)
    with caplog.at_level(logging.INFO, logger="handlers.photos"):
        await owner.send_photo(sent, caption="楼道灯不亮")
        await owner.tap("普通")
    lines = [r.getMessage() for r in caplog.records if r.name == "handlers.photos"]
    kept = re.fullmatch(
        rf"photo {sha[:12]} kept in (\d+\.\d) ms \(downloaded in (\d+\.\d) ms, (\d+) bytes\)",
        lines[0],
    )
    assert kept is not None, lines
    assert int(kept[3]) == len(sent)
    assert re.fullmatch(rf"display copy {sha[:12]} made in \d+\.\d ms", lines[1]), lines
    assert len(lines) == 2
    for line in lines:
        assert sha not in line and "王伟" not in line and "楼道灯" not in line
        assert OWNER_PHONE not in line
