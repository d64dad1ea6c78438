"""The works permit (施工進場證, R-11) as a PNG the owner posts outside the door: the unit,
the works period, the permitted working and moving hours, the contractor and its site head,
and the company's service phone for emergencies.

:func:`permit_lines` says what it shows (in a locale's words, tested as text);
:func:`draw_permit` draws those lines with Pillow in a CJK font (``storage.fonts``), or
Pillow's own font when the machine has none (Chinese then shows as boxes; the log says
which package to install).

A worker's pass carries a QR code (:func:`draw_pass_qr`) holding the pass's deep link
(:func:`pass_link`): a guard scans it with the phone's camera, Telegram opens the bot with
``/start pass_<CODE>``, and the bot checks the pass as ``/pass CODE`` does (S-1) — the
guard's role checked on the server, the code nothing without it.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Pillow loads when a permit is first drawn, not at start-up
    from PIL import ImageDraw, ImageFont

from bot.i18n import t
from procedures.renovation import Renovation
from procedures.renovation_settings import RenovationSettings, hours_text
from storage.fonts import cjk_font

#: The image's size (a portrait A-series page at screen resolution) and margins.
SIZE = (900, 1273)
MARGIN = 70


def permit_lines(
    locale: str, ren: Renovation, settings: RenovationSettings, issued: str
) -> tuple[str, list[str]]:
    """The permit's title and lines (no rule ids: residents and workers read it)."""
    form = ren.form
    phone = settings.service_phone or t(locale, "renovation.permit.no_phone")
    sep = t(locale, "common.choice_separator")  # 08:00–12:00、14:00–18:00 in Chinese
    lines = [
        t(locale, "renovation.permit.number", number=ren.number),
        t(locale, "renovation.permit.unit", unit=ren.unit_label),
        t(
            locale,
            "renovation.permit.period",
            start=form.period_from.isoformat(),
            end=form.period_to.isoformat(),
        ),
        t(locale, "renovation.permit.hours", hours=hours_text(settings.work_hours, sep)),
        t(locale, "renovation.permit.moving", hours=hours_text(settings.moving_hours, sep)),
        t(locale, "renovation.permit.contractor", contractor=form.contractor),
        t(locale, "renovation.permit.head", head=form.head_name, phone=form.head_phone),
        t(locale, "renovation.permit.service", phone=phone),
        t(locale, "renovation.permit.issued", date=issued),
    ]
    if ren.open_filings:  # filings whose authority's receipt is still missing
        scope = t(locale, "renovation.list_separator").join(
            t(locale, f"renovation.scope.{s}") for s in ren.open_filings
        )
        lines.append(t(locale, "renovation.permit.filings_open", scope=scope))
    return t(locale, "renovation.permit.title"), lines


def draw_permit(title: str, lines: list[str], font_path: str | None = None) -> bytes:
    """The permit as PNG bytes: a bordered page, the title large, one line each."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", SIZE, "white")
    draw = ImageDraw.Draw(image)
    found = cjk_font(font_path)
    big: ImageFont.FreeTypeFont | ImageFont.ImageFont
    small: ImageFont.FreeTypeFont | ImageFont.ImageFont
    if found:
        big, small = ImageFont.truetype(found, 72), ImageFont.truetype(found, 34)
    else:
        big = small = ImageFont.load_default()
    width, height = SIZE
    draw.rectangle((24, 24, width - 24, height - 24), outline=(180, 20, 20), width=8)
    draw.text((width // 2, MARGIN + 40), title, fill=(180, 20, 20), font=big, anchor="mm")
    y = MARGIN + 160
    for line in lines:
        for part in _wrap(draw, line, small, width - 2 * MARGIN):
            draw.text((MARGIN, y), part, fill="black", font=small)
            y += 58
        y += 12
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _wrap(
    draw: ImageDraw.ImageDraw,
    text: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    width: int,
) -> list[str]:
    """A line cut into pieces no wider than ``width`` (character by character: Chinese
    has no spaces to break at)."""
    parts, current = [], ""
    for char in text:
        if current and draw.textlength(current + char, font=font) > width:
            parts.append(current)
            current = char
        else:
            current += char
    return [*parts, current] if current else parts


#: The start parameter of a pass's deep link: ``/start pass_<CODE>`` checks it (S-1).
PASS_LINK_PREFIX = "pass_"


def pass_link(bot_username: str, code: str) -> str:
    """The link a pass's QR code holds: opens the bot with ``/start pass_<CODE>``."""
    return f"https://t.me/{bot_username}?start={PASS_LINK_PREFIX}{code}"


def draw_pass_qr(link: str) -> bytes:
    """A pass's QR code as a PNG (error correction M: a worn printout still scans; ten
    pixels a module and the standard quiet zone of four)."""
    import segno  # loaded when a pass is first issued, not at start-up

    out = io.BytesIO()
    segno.make(link, error="m").save(out, kind="png", scale=10, border=4)
    return out.getvalue()
