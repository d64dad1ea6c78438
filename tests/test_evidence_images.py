"""Photos as evidence, the image work (storage.evidence_images): what is refused and why,
and the display copy others see — upright, capped, stripped of every metadata (GPS above
all), watermarked. Pure functions of bytes: no database, no files, no Telegram."""

from __future__ import annotations

import hashlib
import io
import tempfile

import pytest
from PIL import Image, ImageCms, ImageFile

from bot.i18n import catalogs
from bot.settings import LOCALES
from storage import evidence_images as images
from storage.evidence_images import Checked, NotEvidence, Reason, Refused
from storage.fonts import cjk_font
from tests.support.images import (
    BLUE,
    RED,
    encoded,
    gps_exif,
    gps_jpeg,
    halves,
    jpeg_segments,
    png_header,
    textured,
)

LABEL = ["XQ-20261127-0003", "2026-11-27 09:00", "王伟（业主）"]
APP1, APP2, COM = 0xE1, 0xE2, 0xFE


def refused(data: bytes, filename: str | None = None) -> Reason:
    result = images.inspect(data, filename)
    assert isinstance(result, Refused), result
    return result.reason


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# --- refused, each with its reason ----------------------------------------------------------


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to decode pixels fails the test: a bomb must be refused on its header."""

    def decoded(self: ImageFile.ImageFile) -> None:
        raise AssertionError(f"decoded a {self.size} image")

    monkeypatch.setattr(ImageFile.ImageFile, "load", decoded)


@pytest.mark.usefixtures("no_decoding")
@pytest.mark.parametrize(
    "size",
    [
        (30000, 30000),  # 900 MP: Pillow's own guard (an error past 179 MP)
        (10000, 10000),  # 100 MP: Pillow's warning (an error where warnings are errors)
        (8000, 8000),  # 64 MP: ours (over 50 MP)
    ],
)
def test_a_png_bomb_is_refused_on_its_header_without_decoding(size: tuple[int, int]) -> None:
    bomb = png_header(*size)
    assert len(bomb) < 200
    assert refused(bomb, "leak.png") is Reason.TOO_MANY_PIXELS
    with pytest.raises(NotEvidence) as caught:
        images.display_copy(bomb, label_lines=LABEL)
    assert caught.value.refused.reason is Reason.TOO_MANY_PIXELS


@pytest.mark.usefixtures("no_decoding")
def test_a_real_compressed_bomb_is_refused_without_decoding() -> None:
    """A 1-bit 8000×8000 PNG Pillow wrote: 64 MP in a few kilobytes."""
    bomb = encoded(Image.new("1", (8000, 8000)), "PNG")
    assert len(bomb) < 20_000
    assert refused(bomb) is Reason.TOO_MANY_PIXELS


def test_an_executable_renamed_jpg_is_not_an_image() -> None:
    elf = b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00" + bytes(4000)
    assert refused(elf, "leak.jpg") is Reason.NOT_AN_IMAGE
    windows = b"MZ\x90\x00" + bytes(60) + b"PE\x00\x00" + bytes(2000)
    assert refused(windows, "漏水.jpg") is Reason.NOT_AN_IMAGE
    assert refused(b"", "empty.jpg") is Reason.NOT_AN_IMAGE
    assert refused("不是图片".encode(), "note.png") is Reason.NOT_AN_IMAGE


def test_a_file_over_telegrams_20_mb_is_refused_before_it_is_read() -> None:
    header = encoded(Image.new("RGB", (8, 8)), "JPEG")
    big = header + bytes(21 * 1024 * 1024 - len(header))
    assert refused(big, "big.jpg") is Reason.TOO_BIG
    assert refused(bytes(images.MAX_BYTES + 1)) is Reason.TOO_BIG
    assert refused(bytes(images.MAX_BYTES)) is Reason.NOT_AN_IMAGE  # 20 MB itself is allowed


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF", "AVIF"])
def test_other_kinds_of_image_are_not_allowed(fmt: str) -> None:
    assert refused(encoded(halves(), fmt)) is Reason.FORMAT_NOT_ALLOWED


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "HEIF"])
def test_a_truncated_file_is_corrupt(fmt: str) -> None:
    whole = encoded(textured((200, 150)), fmt)
    assert isinstance(images.inspect(whole), Checked)
    assert refused(whole[: len(whole) * 2 // 3]) is Reason.CORRUPT


def test_a_damaged_header_is_corrupt() -> None:
    jpeg = bytearray(encoded(textured((64, 64)), "JPEG"))
    jpeg[30:200] = bytes(170)
    assert refused(bytes(jpeg)) is Reason.CORRUPT
    assert refused(b"\xff\xd8\xff\xe0" + bytes(50)) is Reason.CORRUPT
    assert refused(png_header(0, 10)) is Reason.CORRUPT
    webp = encoded(textured((64, 64)), "WEBP")
    assert refused(webp[:12] + bytes(40)) is Reason.CORRUPT


def test_every_reason_has_a_polite_text_in_every_locale() -> None:
    for locale in LOCALES:
        texts = catalogs()[locale]
        for reason in Reason:
            assert texts.get(f"evidence.refused.{reason.value}"), (locale, reason)


# --- accepted --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "mime", "extension", "options"),
    [
        ("JPEG", "image/jpeg", ".jpg", {}),
        ("PNG", "image/png", ".png", {}),
        ("WEBP", "image/webp", ".webp", {}),
        ("HEIF", "image/heif", ".heic", {}),  # an iPhone's HEIC, through pillow-heif
        ("MPO", "image/jpeg", ".jpg", {"save_all": True, "append_images": [halves((64, 48))]}),
    ],
)
def test_jpeg_png_webp_heic_are_accepted(
    fmt: str, mime: str, extension: str, options: dict[str, object]
) -> None:
    data = encoded(textured((64, 48)), fmt, **options)
    checked = images.inspect(data, "photo.bin")
    assert isinstance(checked, Checked), checked
    assert (checked.format, checked.mime, checked.extension) == (fmt, mime, extension)
    assert (checked.width, checked.height, checked.size) == (64, 48, len(data))
    assert checked.sha256 == hashlib.sha256(data).hexdigest() == images.sha256(data)
    shown = opened(images.display_copy(data, label_lines=LABEL, font_path=cjk_font()))
    assert (shown.format, shown.size) == ("JPEG", (64, 48))


def test_gps_and_all_metadata_are_stripped_from_the_display_copy() -> None:
    """A JPEG with GPS sent as a file: what others see has no EXIF (nor XMP, comment or
    profile), while the bytes the owner sent are left as they were."""
    original = gps_jpeg()
    sent = bytes(original)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # GPS is there
    prepared = images.prepare(original, label_lines=LABEL, font_path=cjk_font())
    assert not isinstance(prepared, Refused)
    assert prepared.original.sha256 == hashlib.sha256(sent).hexdigest()
    assert original == sent
    display = prepared.display.data
    markers = [marker for marker, _ in jpeg_segments(display)]
    assert APP1 not in markers and APP2 not in markers and COM not in markers
    assert b"Exif" not in display and b"GPS" not in display and b"iPhone" not in display
    shown = opened(display)
    assert not shown.getexif() and not shown.getexif().get_ifd(0x8825)
    assert "exif" not in shown.info and "icc_profile" not in shown.info


def test_a_comment_xmp_and_colour_profile_do_not_reach_the_display_copy() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>secret-place</rdf:RDF></x:xmpmeta>'
    data = encoded(
        textured((300, 200)), "JPEG", comment=b"home of Wang Wei", icc_profile=srgb, xmp=xmp
    )
    source = Image.open(io.BytesIO(data))
    assert "comment" in source.info and "icc_profile" in source.info and "xmp" in source.info
    display = images.display_copy(data, label_lines=[])
    assert [m for m, _ in jpeg_segments(display) if m in (APP1, APP2, COM)] == []
    assert b"Wang Wei" not in display and b"secret-place" not in display


@pytest.mark.parametrize("fmt", ["JPEG", "HEIF"])
def test_orientation_is_applied_first(fmt: str) -> None:
    """A phone held upright writes a landscape picture and "turn it a quarter" (EXIF
    orientation 6): staff see it upright, its left edge on top."""
    data = encoded(halves((40, 20)), fmt, exif=gps_exif(orientation=6).tobytes(), quality=95)
    checked = images.inspect(data)
    assert isinstance(checked, Checked) and (checked.width, checked.height) == (20, 40)
    shown = opened(images.display_copy(data, label_lines=[])).convert("RGB")
    assert shown.size == (20, 40)
    top, bottom = shown.getpixel((10, 3)), shown.getpixel((10, 36))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert _near(top, RED) and _near(bottom, BLUE), (top, bottom)


def _near(pixel: tuple[float, ...], colour: tuple[int, int, int]) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(pixel, colour, strict=False))


@pytest.mark.parametrize(
    ("fmt", "size", "expected"),
    [
        ("PNG", (3000, 1200), (2560, 1024)),  # decoded in full, scaled down
        ("JPEG", (5200, 1000), (2560, 492)),  # decoded at ½ (2,600 px), then scaled
        ("JPEG", (4000, 3000), (2000, 1500)),  # a 12-MP photo: decoded at ½, 2,000 px
        ("JPEG", (1600, 1200), (1600, 1200)),  # small enough: as it is
    ],
)
def test_the_long_side_is_capped(
    fmt: str, size: tuple[int, int], expected: tuple[int, int]
) -> None:
    data = encoded(Image.new("RGB", size, (90, 140, 60)), fmt)
    prepared = images.prepare(data, label_lines=[])
    assert not isinstance(prepared, Refused)
    assert (prepared.display.width, prepared.display.height) == expected
    assert opened(prepared.display.data).size == expected
    assert max(expected) <= images.LONG_SIDE
    assert (prepared.original.width, prepared.original.height) == size


@pytest.mark.parametrize("background", [(255, 255, 255), (0, 0, 0), (128, 128, 128)])
def test_the_watermark_is_drawn_legibly_at_the_bottom_left(
    background: tuple[int, int, int],
) -> None:
    """The label area changes, the rest does not; on white, black or grey alike it holds
    light letters and dark outlines."""
    data = encoded(Image.new("RGB", (900, 600), background), "PNG")
    plain = opened(images.display_copy(data, label_lines=[])).convert("L")
    marked = opened(images.display_copy(data, label_lines=LABEL, font_path=cjk_font()))
    marked = marked.convert("L")
    label_area = (0, 600 - 120, 300, 600)
    before, after = plain.crop(label_area).tobytes(), marked.crop(label_area).tobytes()
    changed = [abs(a - b) for a, b in zip(before, after, strict=True)]
    assert sum(1 for d in changed if d > 40) > 1000
    far = (600, 0, 900, 300)
    assert plain.crop(far).tobytes() == marked.crop(far).tobytes()
    levels = after
    assert max(levels) > 220 and min(levels) < 40  # white letters, black outlines


def test_a_long_label_is_cut_to_fit() -> None:
    data = encoded(Image.new("RGB", (200, 150), (255, 255, 255)), "PNG")
    shown = opened(images.display_copy(data, label_lines=["名" * 80, "x" * 200]))
    assert shown.size == (200, 150)


@pytest.mark.parametrize(
    "image",
    [
        Image.new("RGBA", (50, 40), (255, 0, 0, 0)),  # transparent: on white
        Image.new("LA", (50, 40), (10, 128)),
        Image.new("P", (50, 40), 3),
        Image.new("L", (50, 40), 90),
        Image.new("I;16", (50, 40), 40000),  # 16-bit grey
        Image.new("CMYK", (50, 40), (0, 255, 255, 0)),
    ],
    ids=lambda image: image.mode,
)
def test_every_colour_mode_becomes_an_rgb_jpeg(image: Image.Image) -> None:
    fmt = "JPEG" if image.mode == "CMYK" else "PNG"
    shown = opened(images.display_copy(encoded(image, fmt), label_lines=[]))
    assert (shown.format, shown.mode, shown.size) == ("JPEG", "RGB", (50, 40))
    if image.mode == "RGBA":
        pixel = shown.getpixel((25, 20))
        assert isinstance(pixel, tuple) and min(pixel) > 240  # transparent is white


def test_without_a_font_the_label_is_drawn_with_pillows_own() -> None:
    data = encoded(Image.new("RGB", (400, 300), (255, 255, 255)), "PNG")
    plain = images.display_copy(data, label_lines=[])
    marked = images.display_copy(data, label_lines=["XQ-20261127-0003"], font_path=None)
    missing = images.display_copy(data, label_lines=["XQ-20261127-0003"], font_path="/nope.ttf")
    assert plain != marked == missing


# --- off the event loop's way ---------------------------------------------------------------


def test_the_display_copy_is_encoded_into_a_file_so_the_gil_is_free_meanwhile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pillow holds the GIL while it encodes a JPEG into memory (``io.BytesIO``, chunk by
    chunk), so while a worker thread made a display copy (about 10 ms at 2000×1500) the event
    loop's thread got in only at the interpreter's 5-ms switches, and everyone's answers
    waited (bench/evidence_chat.py); into a file descriptor it encodes with the GIL
    released. The encoder is given a real file, and the bytes are the copy's all the same."""
    data = gps_jpeg()
    before = images.prepare(data, label_lines=LABEL, font_path=cjk_font())
    given: list[int | None] = []
    save = Image.Image.save

    def spied(image: Image.Image, fp: object, *args: object, **kwargs: object) -> None:
        try:
            given.append(fp.fileno())  # type: ignore[attr-defined]
        except (AttributeError, io.UnsupportedOperation):
            given.append(None)
        save(image, fp, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Image.Image, "save", spied)
    after = images.prepare(data, label_lines=LABEL, font_path=cjk_font())
    assert given and all(isinstance(fd, int) for fd in given), given
    assert not isinstance(before, Refused) and not isinstance(after, Refused)
    assert after.display.data == before.display.data and opened(after.display.data).size


def test_without_a_temporary_file_the_display_copy_is_encoded_in_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No room or no temporary folder costs the GIL, never the photo."""

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    data = gps_jpeg()
    expected = images.display_copy(data, label_lines=LABEL, font_path=cjk_font())
    monkeypatch.setattr(tempfile, "TemporaryFile", full)
    assert images.display_copy(data, label_lines=LABEL, font_path=cjk_font()) == expected
