"""Albums of evidence photos through the outbox: staff see the owners' photos (display
copies from the evidence store) as one album with the card's caption on the first, each
photo uploaded once and then sent by Telegram's file_id, more than ten cut into several
albums, Telegram's failures retried, and each photo counted as a message under Telegram's
limits. Rule: DESIGN's Evidence ("department cards carry the photos (an album)") and
Pitfalls (pace the outbox yourself)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from telegram import Bot

from bot.app import build_application
from bot.outbox import OutboxSender, backoff
from bot.pacing import SLACK, Pacer, SteppingClock
from bot.settings import Settings
from procedures.subjects import Subject
from storage import evidence
from storage.clock import ManualClock
from storage.db import Database
from storage.evidence import EvidenceStore
from storage.outbox import enqueue, enqueue_edit
from tests.conftest import TOKEN
from tests.support.images import encoded
from tests.support.telegram import FakeBotApi

STAFF = 9001
GROUP = -300
VIOLATION = Subject("renovation", 7)


@pytest.fixture
def pace() -> SteppingClock:
    return SteppingClock(1000.0)


@pytest.fixture
def api(pace: SteppingClock) -> FakeBotApi:
    fake = FakeBotApi(clock=pace.now)  # the world stamps each call with the pacing clock
    fake.world.add_user(STAFF, "张工")
    fake.world.add_group("工程部", [], chat_id=GROUP, announce=False)
    return fake


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, request=api, get_updates_request=api) as b:
        yield b


@pytest.fixture
def store(tmp_path: Path) -> EvidenceStore:
    return EvidenceStore(tmp_path / "files")


@pytest.fixture
def sender(db: Database, bot: Bot, store: EvidenceStore, pace: SteppingClock) -> OutboxSender:
    return OutboxSender(db, bot, evidence=store, pace=pace)


async def photos(db: Database, store: EvidenceStore, count: int) -> list[str]:
    """``count`` owners' photos kept as evidence; the SHA-256s of their display copies."""
    shas = []
    for n in range(count):
        data = encoded(Image.new("RGB", (64, 48), (n * 19 % 256, 90, 160)), "JPEG")
        kept = await evidence.keep(store, db, data, label_lines=["ZX-1"])
        assert isinstance(kept, evidence.Kept)
        shas.append(kept.display.sha256)
    assert len(set(shas)) == count
    return shas


async def album(db: Database, chat_id: int, caption: str, shas: list[str]) -> int:
    async with db.write() as conn:
        return await enqueue(conn, chat_id, caption, album=shas, subject=VIOLATION)


def seen(api: FakeBotApi, chat_id: int) -> list[dict[str, Any]]:
    """The photos the chat shows, in order."""
    return [m for m in api.messages(chat_id) if "photo" in m]


def sha_of(api: FakeBotApi, message: dict[str, Any]) -> str:
    """The SHA-256 of the bytes Telegram keeps for a photo message (its largest size)."""
    return hashlib.sha256(api.file_content(message["photo"][-1]["file_id"])).hexdigest()


def uploads(api: FakeBotApi) -> int:
    """How many files the bot uploaded (the parts of its requests that carry bytes)."""
    return sum(len(call.files) for call in api.calls if call.ok)


async def test_three_photos_arrive_as_one_album_with_the_caption_on_the_first(
    db: Database, api: FakeBotApi, store: EvidenceStore, sender: OutboxSender
) -> None:
    shas = await photos(db, store, 3)
    row = await album(db, GROUP, "<b>违规施工</b> ZX-1 · 现场照片", shas)
    assert await sender.drain() == 1
    shown = seen(api, GROUP)
    assert len(shown) == 3 and [sha_of(api, m) for m in shown] == shas
    assert len({m["media_group_id"] for m in shown}) == 1
    assert shown[0]["caption"] == "违规施工 ZX-1 · 现场照片"
    assert shown[0]["caption_entities"][0]["type"] == "bold"
    assert ["caption" in m for m in shown] == [True, False, False]
    [call] = api.calls_of("sendMediaGroup")
    assert len(call.files) == 3  # uploaded, the first time
    found = await db.fetchone("SELECT state, message_id FROM outbox WHERE id = ?", (row,))
    assert found is not None and tuple(found) == ("sent", shown[0]["message_id"])


async def test_the_second_recipient_gets_the_photos_by_file_id(
    db: Database, api: FakeBotApi, store: EvidenceStore, sender: OutboxSender
) -> None:
    """Both albums go in one pass (two chats, at the same moment): one uploads, the other
    waits for Telegram's ids rather than uploading the photos again."""
    shas = await photos(db, store, 3)
    async with db.write() as conn:
        for chat in (GROUP, STAFF):
            await enqueue(conn, chat, "现场照片", album=shas, subject=VIOLATION)
    assert await sender.drain() == 2
    first, second = api.calls_of("sendMediaGroup")
    assert len(first.files) == 3 and second.files == {}
    assert uploads(api) == 3
    assert [sha_of(api, m) for m in seen(api, STAFF)] == shas
    known = await evidence.file_ids(db, shas)
    assert sorted(known) == sorted(shas)
    assert [item["media"] for item in second.params["media"]] == [known[s] for s in shas]
    async with db.write() as conn:  # and a later one too
        await enqueue(conn, GROUP, "复查照片", album=shas, subject=VIOLATION)
    await sender.drain()
    assert uploads(api) == 3


async def test_twelve_photos_arrive_as_two_albums_in_order(
    db: Database, api: FakeBotApi, store: EvidenceStore, sender: OutboxSender
) -> None:
    shas = await photos(db, store, 12)
    row = await album(db, GROUP, "交房缺陷 12 处", shas)
    assert await sender.drain() == 2
    shown = seen(api, GROUP)
    assert [sha_of(api, m) for m in shown] == shas
    groups = [m["media_group_id"] for m in shown]
    assert groups[:6] == [groups[0]] * 6 and groups[6:] == [groups[6]] * 6
    assert groups[0] != groups[6]
    assert [m.get("caption") for m in shown] == ["交房缺陷 12 处"] + [None] * 11
    rows = await db.fetchall("SELECT id, state, message_id FROM outbox ORDER BY id")
    assert len(rows) == 2 and rows[0]["id"] == row
    assert [r["message_id"] for r in rows] == [shown[0]["message_id"], shown[6]["message_id"]]


async def test_a_500_on_an_album_is_retried_and_it_arrives_once(
    db: Database, api: FakeBotApi, store: EvidenceStore, sender: OutboxSender, clock: ManualClock
) -> None:
    shas = await photos(db, store, 3)
    row = await album(db, GROUP, "现场照片", shas)
    api.fail_next("sendMediaGroup", 500, "Internal Server Error")
    await sender.drain()
    assert seen(api, GROUP) == []
    clock.advance(backoff(0))
    await sender.drain()
    await sender.drain()
    assert [sha_of(api, m) for m in seen(api, GROUP)] == shas  # once
    found = await db.fetchone("SELECT state, attempts FROM outbox WHERE id = ?", (row,))
    assert found is not None and tuple(found) == ("sent", 2)


async def test_one_photo_goes_as_a_photo(
    db: Database, api: FakeBotApi, store: EvidenceStore, sender: OutboxSender
) -> None:
    shas = await photos(db, store, 1)
    await album(db, STAFF, "现场照片", shas)
    await sender.drain()
    assert api.calls_of("sendMediaGroup") == [] and len(api.calls_of("sendPhoto")) == 1
    [shown] = seen(api, STAFF)
    assert shown["caption"] == "现场照片" and "media_group_id" not in shown
    assert await evidence.file_ids(db, shas) == {shas[0]: shown["photo"][-1]["file_id"]}


async def test_a_file_id_telegram_refuses_is_uploaded_again(
    db: Database, api: FakeBotApi, store: EvidenceStore, sender: OutboxSender
) -> None:
    """Telegram's file ids belong to one bot: after a change of token the stored ones are
    refused, and the photos go up again (the album still arrives, once)."""
    shas = await photos(db, store, 2)
    await evidence.remember_file_id(db, shas[0], "AgACAgUAAxkBAAIold-bot")
    await album(db, GROUP, "现场照片", shas)
    await sender.drain()
    refused, taken = api.calls_of("sendMediaGroup")
    assert refused.error is not None and "file identifier" in refused.error
    assert taken.ok and len(taken.files) == 2
    assert [sha_of(api, m) for m in seen(api, GROUP)] == shas


async def test_an_albums_caption_is_edited_like_a_photos(
    db: Database, api: FakeBotApi, store: EvidenceStore, sender: OutboxSender
) -> None:
    row = await album(db, GROUP, "现场照片", await photos(db, store, 2))
    async with db.write() as conn:
        await enqueue_edit(conn, row, "现场照片 · 已整改")
    await sender.drain()
    assert len(api.calls_of("editMessageCaption")) == 1
    assert seen(api, GROUP)[0]["caption"] == "现场照片 · 已整改"


async def test_an_album_counts_as_its_photos_in_a_groups_minute(
    db: Database, api: FakeBotApi, store: EvidenceStore, sender: OutboxSender
) -> None:
    """18 cards went to the group this minute: an album of 3 would make 21, so it waits
    for the minute, and no 60 s hold more than 20 of the group's messages."""
    shas = await photos(db, store, 3)
    async with db.write() as conn:
        for n in range(18):
            await enqueue(conn, GROUP, f"卡片{n}")
    await album(db, GROUP, "现场照片", shas)
    await sender.drain()
    times = [
        call.time
        for call in api.world.calls
        if call.ok and call.method in ("sendMessage", "sendMediaGroup")
        for _ in range(len(call.params.get("media", [None])))
    ]
    assert len(times) == 21
    assert max(sum(t <= u < t + 60 for u in times) for t in times) <= 20
    assert times[-1] - times[0] >= 60  # counted as one message, it would have gone at once


async def test_an_album_counts_as_its_photos_in_the_overall_second(
    db: Database, api: FakeBotApi, store: EvidenceStore, sender: OutboxSender
) -> None:
    """25 people are due a notice and staff an album of 10: 35 messages; the album waits for
    its ten places rather than burst past 30 in a second, and a notice queued after it does
    not take them first. (The photos were uploaded before: reading files in a worker
    thread would take longer than the pacing clock, which moves when slept on, waits.)"""
    shas = await photos(db, store, 10)
    await album(db, GROUP, "现场照片", shas)
    await sender.drain()
    api.world.calls.clear()
    async with db.write() as conn:
        for person in range(3001, 3026):
            await enqueue(conn, person, "通知")
    await album(db, STAFF, "现场照片", shas)
    async with db.write() as conn:
        await enqueue(conn, 4001, "之后的通知")
    await sender.drain()
    sends = [
        (call.time, len(call.params.get("media", [None])), call.params.get("chat_id"))
        for call in api.world.calls
        if call.ok and call.method in ("sendMessage", "sendMediaGroup")
    ]
    times = [t for t, weight, _ in sends for _ in range(weight)]
    assert len(times) == 36
    assert max(sum(t <= u < t + 1.0 for u in times) for t in times) <= 30
    when = {chat: t for t, _, chat in sends}
    assert when[STAFF] > when[3001] and when[STAFF] <= when[4001]


def test_the_pacer_counts_an_album_as_its_photos() -> None:
    """n photos take n places in the overall second and in a group's minute, and a private
    chat's next message waits n seconds after them."""
    pacer = Pacer(SteppingClock(0.0))
    pacer.begin(STAFF, 0.0, count=3)
    assert pacer.free(0.0) == 27
    pacer.end(STAFF, 0.2)
    assert pacer.chat_wait(STAFF, 0.2) == pytest.approx(3.0)
    for _ in range(18):
        pacer.begin(GROUP - 1, 0.0)
        pacer.end(GROUP - 1, 0.1)
    assert pacer.chat_wait(GROUP - 1, 1.0, count=2) == 0
    assert pacer.chat_wait(GROUP - 1, 1.0, count=3) == pytest.approx(59.1)
    assert pacer.overall_wait(0.5, count=9) == 0  # 21 places taken, 9 left
    assert pacer.overall_wait(0.5, count=10) == pytest.approx(0.5 + SLACK)
    counted = pacer.begin(GROUP, 0.5, count=2)
    assert pacer.started(counted, 0.6, count=2) == 0.6  # both counted from when they left
    # 23 places taken; for 29 more the 22nd start must leave the window: one of the album's
    assert pacer.overall_wait(0.7, count=29) == pytest.approx(0.6 + 1.0 + SLACK - 0.7)


async def test_an_album_takes_display_copies_only(
    db: Database, store: EvidenceStore, sender: OutboxSender
) -> None:
    data = encoded(Image.new("RGB", (64, 48), (1, 2, 3)), "JPEG")
    kept = await evidence.keep(store, db, data, label_lines=["ZX-1"])
    assert isinstance(kept, evidence.Kept)
    async with db.write() as conn:
        with pytest.raises(ValueError, match="display copies"):
            await enqueue(conn, GROUP, "原图", album=[kept.original.sha256])
        with pytest.raises(ValueError, match="no photo, file or keyboard"):
            await enqueue(
                conn, GROUP, "x", album=[kept.display.sha256] * 2, markup={"a": 1}
            )  # an album of two cannot carry buttons; one photo can
        with pytest.raises(ValueError, match="at least one"):
            await enqueue(conn, GROUP, "x", album=[])


async def test_the_bot_reads_albums_from_its_data_folder(
    settings: Settings, db: Database, api: FakeBotApi
) -> None:
    app = build_application(settings, db=db, request=api, rate_limit=False)
    sender = app.bot_data["outbox"]
    assert isinstance(sender, OutboxSender) and isinstance(sender.evidence, EvidenceStore)
    assert sender.evidence.root == EvidenceStore(settings.data_dir).root
