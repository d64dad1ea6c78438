"""Photos in chat as evidence: taken in when they arrive, shown to the staff who act.

**Taken in** (:func:`take_in`): a photo, or an image sent as a file (JPEG, PNG, WebP,
HEIC), is downloaded at its largest size as soon as it arrives, checked, hashed and its
original kept byte for byte (:mod:`storage.evidence`, in a worker thread). A file over
Telegram's 20 MB is refused before it is downloaded; a refused file gets its reason in the
sender's language and changes nothing.

**Attached** in the step's own transaction (filing, a staff reply): the record's
``evidence.attached`` audit event names the original's SHA-256.

**Shown**: staff are sent the display copy (EXIF and GPS stripped, watermarked with the
record's number, the estate's time and the sender's name), never the original. The
watermark names the case's number, so filing a draft with photos reserves the number first
and makes the display copies (:func:`filing_displays`), then files: the cards that carry
photos (``Tell.photos``: customer service's, the supervisor's, the urgent alert; a
department's on referral) go with the album, just before the card
(:class:`handlers.notify.Notifier`). A photo attached without its display copy
(filed by an earlier version, say) gets it at the next start (:func:`recover`) or when
``/case``'s 📷 button asks for the photos.

**Timed**: each photo kept logs (INFO) how long it took, by the first 12 hex digits of
its SHA-256 and nothing personal: ``photo <sha12> kept in 41.2 ms (downloaded in 9.8 ms,
3412345 bytes)`` — checked, hashed, written and registered, after its download — and
``display copy <sha12> made in 38.0 ms`` (checked and decoded again, stripped,
watermarked, written and registered). Elapsed time (``time.perf_counter``), not the
application's clock; ``bench/evidence_chat.py`` reads these lines from the bot's log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler

from handlers import steps
from handlers.common import (
    Actor,
    AnyHandler,
    Context,
    Services,
    button,
    keyboard,
    reply,
    services,
    who,
)
from procedures.cases import Case, Kind
from procedures.decisions import Evidence
from procedures.subjects import CASE, Subject
from storage import evidence
from storage.evidence import Link
from storage.evidence_images import MAX_BYTES, Checked, Reason, Refused
from storage.outbox import enqueue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Received:
    """A photo taken in: Telegram's id for it and its original's SHA-256."""

    file_id: str
    sha256: str


def sent_image(message: Message) -> tuple[str, int | None, str | None] | None:
    """The photo (its largest size) or file in ``message``: Telegram's id, its size when
    Telegram says, and a file's name; None when it carries neither."""
    if message.photo:
        largest = message.photo[-1]
        return largest.file_id, largest.file_size, None
    if message.document is not None:
        document = message.document
        return document.file_id, document.file_size, document.file_name
    return None


async def take_in(update: Update, context: Context, actor: Actor) -> Received | None:
    """Download, check and keep the photo or image file in the update's message; on a
    refusal tell the sender why (nothing kept) and return None."""
    message = update.effective_message
    found = sent_image(message) if message is not None else None
    if found is None:
        return None
    file_id, size, name = found
    if size is not None and size > MAX_BYTES:  # Telegram would not even hand it over
        await refuse(update, context, actor, Refused(Reason.TOO_BIG, f"{size} bytes"))
        return None
    svc = services(context)
    started = time.perf_counter()
    try:
        data = bytes(await (await context.bot.get_file(file_id)).download_as_bytearray())
    except TelegramError as exc:  # Telegram would not hand it over now: nothing kept
        log.warning("photo from person %s not downloaded: %s", actor.person.id, exc)
        await reply(update, context, actor.t("evidence.download_failed"))
        return None
    downloaded = time.perf_counter()
    checked = await evidence.receive(svc.evidence, svc.db, data, filename=name)
    if isinstance(checked, Refused):
        await refuse(update, context, actor, checked)
        return None
    assert isinstance(checked, Checked)
    log.info(
        "photo %s kept in %.1f ms (downloaded in %.1f ms, %d bytes)",
        checked.sha256[:12], _ms_since(downloaded), (downloaded - started) * 1000, len(data),
    )  # fmt: skip
    return Received(file_id, checked.sha256)


async def refuse(update: Update, context: Context, actor: Actor, refused: Refused) -> None:
    """Why the file is not kept, in the sender's language (the detail goes to the log)."""
    log.info("file from person %s refused: %s %s", actor.person.id, refused.reason, refused.detail)
    await reply(update, context, actor.t(f"evidence.refused.{refused.reason.value}"))


# --- display copies and albums ---------------------------------------------------------------


async def displayed(svc: Services, case: Case, actor: str) -> list[Link]:
    """Give every photo of ``case`` its display copy (those without one: rendered in a
    worker thread, linked with an ``evidence.displayed`` event); returns the photos that
    got theirs now."""
    subject = Subject(CASE, case.id)
    done: list[Link] = []
    for link in await evidence.links(svc.db, subject):
        if link.display_sha256 is not None:
            continue
        sender = await svc.identity.person(link.added_by) if link.added_by else None
        came = datetime.fromisoformat(link.added_at)
        name = sender.name if sender is not None else ""
        shown = await _display_copy(svc, link.sha256, case.estate_id, case.number, came, name)
        async with svc.db.write() as conn:
            if await evidence.set_display(
                conn, link.id, shown.sha256, actor=actor, estate_id=case.estate_id
            ):
                done.append(link)
    return done


async def staff_photo(svc: Services, case: Case, actor: Actor, received: Received) -> Evidence:
    """A staff member's photo for a case (its number known): its display copy made now,
    so the resident is sent that, watermarked and without the metadata."""
    shown = await _display_copy(
        svc, received.sha256, case.estate_id, case.number, svc.clock.now(), actor.person.name
    )
    return Evidence(received.file_id, received.sha256, actor.person.id, shown.sha256)


async def _display_copy(
    svc: Services, sha: str, estate_id: int, number: str, came: datetime, sender: str
) -> evidence.Shown:
    """A stored original's display copy made and kept (worker thread), its time logged; its
    watermark's lines: the record's number, the estate's time the photo came, who sent it."""
    rules = await svc.rules(estate_id)
    at = rules.calendar.local(came).strftime("%Y-%m-%d %H:%M")
    started = time.perf_counter()
    shown = await evidence.render(
        svc.evidence, svc.db, sha, label_lines=[number, at, sender], font_path=_font(svc)
    )
    log.info("display copy %s made in %.1f ms", sha[:12], _ms_since(started))
    return shown


def _ms_since(started: float) -> float:
    """Milliseconds since ``started`` (``time.perf_counter``): elapsed time, for the log."""
    return (time.perf_counter() - started) * 1000


def _font(svc: Services) -> str | None:
    """The configured font with Chinese glyphs (``WUYE_CHART_FONT``), else one found."""
    return str(svc.settings.chart_font) if svc.settings.chart_font else None


async def filing_displays(
    svc: Services, actor: Actor, draft: dict[str, Any], kind: Kind, estate_id: int
) -> dict[str, str]:
    """Before filing a draft with photos: its case number, reserved now (kept in the draft,
    so pressing again reserves no other), and each photo's display copy watermarked with
    it, the estate's time it came and the sender; returns original → display copy. The
    filing then links them, and its cards go with the album."""
    kept = [p for p in draft.get("photos", []) if isinstance(p, dict) and p.get("sha256")]
    if not kept:
        return {}
    if not draft.get("number"):
        today = (await svc.rules(estate_id)).calendar.local(svc.clock.now())
        draft["number"] = await svc.cases.reserve_number(kind, today)
    shown: dict[str, str] = {}
    for photo in kept:
        came = datetime.fromisoformat(photo["at"]) if photo.get("at") else svc.clock.now()
        number, sha = str(draft["number"]), str(photo["sha256"])
        copy = await _display_copy(svc, sha, estate_id, number, came, actor.person.name)
        shown[str(photo["sha256"])] = copy.sha256
    return shown


async def recover(svc: Services) -> int:
    """At start-up: display copies for photos attached but not yet shown (the bot stopped
    between filing and making them); returns how many were made."""
    made = 0
    for case_id in await evidence.subjects_without_display(svc.db, CASE):
        case = await svc.cases.get(case_id)
        if case is not None:
            made += len(await displayed(svc, case, "system:recovery"))
    if made:
        log.warning("made %d display copies left undone by an earlier stop", made)
    return made


# --- /case's photos ---------------------------------------------------------------------------


def photo_lines(actor: Actor, links: Sequence[Link]) -> str:
    """``/case``: each photo with its SHA-256, format, size and pixels."""
    lines = [actor.t("evidence.list_title", count=len(links))]
    for index, link in enumerate(links, 1):
        lines.append(
            actor.t(
                "evidence.list_line",
                index=index,
                sha=link.sha256,
                format=link.format,
                size=f"{link.size / 1_000_000:.1f}",
                width=link.width,
                height=link.height,
            )
        )
    return "\n".join(lines)


def send_button(actor: Actor, case: Case, count: int) -> InlineKeyboardMarkup:
    """The button that sends the case's photos to this chat."""
    return keyboard([[button(actor.t("evidence.btn_send", count=count), f"ph:send:{case.id}")]])


async def on_send(update: Update, context: Context) -> None:
    """``ph:send:<case>``: the case's photos (display copies) to this chat, for the staff of
    its estate and the resident who filed it."""
    query = update.callback_query
    actor = await who(update, context)
    if query is None or actor is None:
        return
    svc = services(context)
    parts = (query.data or "").split(":")
    case = await svc.cases.get(int(parts[2])) if len(parts) == 3 and parts[2].isdigit() else None
    allowed = case is not None and (
        case.resident_id == actor.person.id or steps.is_staff_of(actor, case.estate_id)
    )
    if case is None or not allowed or query.message is None:
        await query.answer(actor.t("common.stale_button"), show_alert=True)
        return
    await displayed(svc, case, steps.signed(actor))
    shown = [
        link.display_sha256
        for link in await evidence.links(svc.db, Subject(CASE, case.id))
        if link.display_sha256 is not None
    ]
    if not shown:
        await query.answer(actor.t("evidence.none"), show_alert=True)
        return
    async with svc.db.write() as conn:
        await enqueue(
            conn,
            query.message.chat.id,
            actor.t("evidence.album_caption", number=case.number, count=len(shown)),
            case_id=case.id,
            person_id=actor.person.id if query.message.chat.type == "private" else None,
            album=shown,
        )
    await query.answer(actor.t("evidence.sending"))
    await svc.deliver()


def handlers() -> list[AnyHandler]:
    """The button that sends a case's photos."""
    return [CallbackQueryHandler(on_send, pattern=r"^ph:send:")]
