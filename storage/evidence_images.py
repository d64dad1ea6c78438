"""Photos as evidence: what is checked in the bytes someone sent, and the copy others see.

Pure functions of bytes: no file kept, no database, no Telegram, no clock (the one file
read is the font a caller names; a display copy is encoded through an unnamed temporary
file, gone once read, so that Pillow lets go of the GIL meanwhile). They are CPU-heavy (a
12-megapixel JPEG takes tens of milliseconds), so the bot calls them in a worker thread,
through :mod:`storage.evidence`.

* :func:`inspect` accepts or refuses: a format whitelist (JPEG, PNG, WebP, HEIC/HEIF through
  ``pillow-heif``), Telegram's 20 MB, at most :data:`MAX_PIXELS` pixels, and a file that
  decodes to the end. The header is read first: a decompression bomb is refused on the size
  it claims, before a pixel is decoded. The content decides, never the file's name (an
  executable called ``leak.jpg`` is ``not_an_image``). A refusal carries a
  :class:`Reason`, which a handler turns into a polite text (``evidence.refused.<reason>``).
* :func:`display_copy` is what staff and owners see: orientation applied, at most
  :data:`LONG_SIDE` pixels on the long side, a watermark (record number, estate time, who
  sent it) drawn on a darkened box with outlined letters so it reads on any background, and
  saved as a new JPEG with no metadata at all (EXIF and its GPS position, XMP, comments;
  an embedded colour profile is converted to sRGB, then dropped). The original bytes are
  never touched: they are kept as received, and :func:`sha256` names them.
* :func:`prepare` does both with one decode (the display-size decode is the integrity
  check), which is what the bot runs for each photo.

Why here and not in ``procedures/``: procedures are the manual as code, rules a manager
could read, cheap enough to call inline from a handler and free of I/O. Decoding images is
none of that: it is heavy work that must stay off the event loop, it registers
``pillow-heif``'s plugin in Pillow (a process-wide side effect) and reads a font file from
the machine. The limits here are Telegram's and the machine's, not the manual's, and the
only caller is the evidence file store, which the package table puts in storage.
"""

from __future__ import annotations

import hashlib
import io
import math
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from PIL import Image, ImageCms, ImageDraw, ImageFile, ImageFont, UnidentifiedImageError
    from PIL._imagingcms import CmsProfile

_LOADING = threading.Lock()


def _pillow() -> None:
    """Import Pillow (and register ``pillow-heif``'s opener) the first time a photo is
    looked at, not when the bot starts: they cost a good part of the bot's start-up, and
    most processes (the CLI, a bot that sees no photo for a while) never need them. Binds
    the names this module's functions use."""
    if "Image" in globals():
        return
    with _LOADING:
        if "Image" in globals():
            return
        import pillow_heif
        from PIL import Image, ImageCms, ImageDraw, ImageFile, ImageFont, UnidentifiedImageError

        pillow_heif.register_heif_opener()
        _TRANSPOSE.update({
            2: Image.Transpose.FLIP_LEFT_RIGHT,
            3: Image.Transpose.ROTATE_180,
            4: Image.Transpose.FLIP_TOP_BOTTOM,
            5: Image.Transpose.TRANSPOSE,
            6: Image.Transpose.ROTATE_270,
            7: Image.Transpose.TRANSVERSE,
            8: Image.Transpose.ROTATE_90,
        })  # fmt: skip
        _SRGB.append(ImageCms.createProfile("sRGB"))
        globals().update(
            Image=Image, ImageCms=ImageCms, ImageDraw=ImageDraw, ImageFile=ImageFile,
            ImageFont=ImageFont, UnidentifiedImageError=UnidentifiedImageError,
        )  # fmt: skip


#: Telegram's limit on files a bot may download (20 MB).
MAX_BYTES: Final = 20 * 1024 * 1024
#: The most pixels a photo may have: 50 megapixels (a phone's 48-MP mode fits; decoded
#: RGB that is 150 MB). Anything larger is refused on its header, before decoding.
MAX_PIXELS: Final = 50_000_000
#: The display copy's long side at most (Telegram serves photos at ≤ 2,560 px).
LONG_SIDE: Final = 2560
#: JPEGs are decoded at the smallest scale (½, ¼, ⅛: free in libjpeg) that keeps at least
#: this long side: a 12-MP phone photo (4,000 px) decodes at half size, 2,000 px.
DECODE_LONG_SIDE: Final = 1920
#: The display copy's JPEG quality.
QUALITY: Final = 85

#: The formats accepted (Pillow's names) and their media types; an MPO is a JPEG with a
#: second picture inside (many phones write them).
FORMATS: Final = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "HEIF": "image/heif",
}
#: At most two photos decoded at once (a 50-MP one is 150–200 MB decoded); more wait in
#: their worker threads, never on the event loop.
_SLOTS: Final = threading.BoundedSemaphore(2)

#: Only these parsers see the bytes first (Pillow's names; HEIF is pillow-heif's).
_PLUGINS: Final = ("JPEG", "PNG", "WEBP", "HEIF")  # JPEG's parser opens MPOs too

_JPEG: Final = frozenset({"JPEG", "MPO"})
_EXTENSIONS: Final = {
    "JPEG": ".jpg",
    "MPO": ".jpg",
    "PNG": ".png",
    "WEBP": ".webp",
    "HEIF": ".heic",
}
_ORIENTATION: Final = 0x0112  # PIL.ExifTags.Base.Orientation
#: EXIF orientations that turn the picture a quarter: width and height swap.
_QUARTER_TURNS: Final = frozenset({5, 6, 7, 8})


class Reason(StrEnum):
    """Why a file is not kept as evidence (the text key is ``evidence.refused.<value>``)."""

    TOO_BIG = "too_big"  # over Telegram's 20 MB
    TOO_MANY_PIXELS = "too_many_pixels"  # over MAX_PIXELS: a decompression bomb, or huge
    NOT_AN_IMAGE = "not_an_image"  # no image at all (a document, an executable…)
    FORMAT_NOT_ALLOWED = "format_not_allowed"  # an image, but not JPEG/PNG/WebP/HEIC
    CORRUPT = "corrupt"  # an accepted format that does not decode (truncated, damaged)


@dataclass(frozen=True)
class Refused:
    """A file refused: the reason, and a detail for the log (never shown to a person)."""

    reason: Reason
    detail: str = ""


@dataclass(frozen=True)
class Checked:
    """A file accepted: the facts of its bytes, as received."""

    sha256: str
    format: str  # Pillow's name: JPEG, MPO, PNG, WEBP, HEIF
    size: int  # bytes
    width: int  # pixels, upright (EXIF orientation applied)
    height: int

    @property
    def mime(self) -> str:
        """The media type (``image/jpeg``…)."""
        return FORMATS[self.format]

    @property
    def extension(self) -> str:
        """The file name extension for its format (``.jpg``, ``.heic``…)."""
        return _EXTENSIONS[self.format]


@dataclass(frozen=True)
class DisplayCopy:
    """The copy others see: a JPEG without metadata, watermarked."""

    data: bytes
    width: int
    height: int

    @property
    def sha256(self) -> str:
        """The SHA-256 of the copy's bytes (its name in the store)."""
        return sha256(self.data)

    @property
    def size(self) -> int:
        """Its size in bytes."""
        return len(self.data)


@dataclass(frozen=True)
class Prepared:
    """A photo checked, and its display copy."""

    original: Checked
    display: DisplayCopy


class NotEvidence(ValueError):
    """:func:`display_copy` was given bytes :func:`inspect` refuses."""

    def __init__(self, refused: Refused) -> None:
        super().__init__(f"{refused.reason}: {refused.detail}")
        self.refused = refused


def sha256(data: bytes) -> str:
    """The SHA-256 of ``data``, in hex: the name an original is kept under."""
    return hashlib.sha256(data).hexdigest()


def inspect(data: bytes, filename: str | None = None) -> Checked | Refused:
    """Accept ``data`` as evidence or say why not. ``filename`` (as the sender named it)
    only goes into a refusal's detail: the bytes decide.

    The whole file is decoded (JPEGs at ⅛ scale, which still reads every byte) so a
    truncated or damaged one is refused here rather than when someone opens it."""
    opened = _open(data, filename)
    if isinstance(opened, Refused):
        return opened
    image, orientation = opened
    with _SLOTS, image:
        width, height = image.size
        if image.format in _JPEG:
            image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
        try:
            image.load()
        except Exception as exc:  # every decoder's error: hostile input must not escape
            return Refused(Reason.CORRUPT, _detail(exc, filename))
        return _checked(data, str(image.format), (width, height), orientation)


def display_copy(data: bytes, *, label_lines: Sequence[str], font_path: str | None = None) -> bytes:
    """The copy of ``data`` others see (JPEG bytes): upright, at most :data:`LONG_SIDE` on
    the long side, no metadata, ``label_lines`` drawn at its bottom left (none: no
    watermark) in the font at ``font_path`` (:func:`storage.fonts.cjk_font` finds one;
    None draws with Pillow's own font, which has no Chinese glyphs).

    Raises :class:`NotEvidence` for bytes :func:`inspect` refuses."""
    done = prepare(data, label_lines=label_lines, font_path=font_path)
    if isinstance(done, Refused):
        raise NotEvidence(done)
    return done.display.data


def prepare(
    data: bytes,
    *,
    label_lines: Sequence[str],
    filename: str | None = None,
    font_path: str | None = None,
) -> Prepared | Refused:
    """:func:`inspect` and :func:`display_copy` with one decode: the checked facts of
    ``data`` and its display copy, or why it is refused."""
    opened = _open(data, filename)
    if isinstance(opened, Refused):
        return opened
    image, orientation = opened
    with _SLOTS, image:
        size, fmt = image.size, str(image.format)
        try:
            shown = _decoded(image)
        except Exception as exc:  # every decoder's error: hostile input must not escape
            return Refused(Reason.CORRUPT, _detail(exc, filename))
        try:
            shown = _fitted(_upright_rgb(shown, orientation))
            _watermark(shown, label_lines, font_path)
            shown.info = {}  # no comment, XMP or profile carried over from the original
            encoded = _jpeg(shown)
        except Exception as exc:  # decoded, yet unusable (a mode or profile Pillow refuses)
            return Refused(Reason.CORRUPT, _detail(exc, filename))
        checked = _checked(data, fmt, size, orientation)
        return Prepared(checked, DisplayCopy(encoded, shown.width, shown.height))


def _jpeg(image: Image.Image) -> bytes:
    """``image`` as JPEG bytes, encoded into an unnamed temporary file: Pillow encodes into
    a file descriptor with the GIL released, but into memory (``io.BytesIO``) it holds the
    GIL while it encodes each chunk, so the event loop's thread gets in only at the
    interpreter's 5-ms switches while a 2000×1500 copy is encoded (about 10 ms), and
    everyone's answers wait. Into memory when the temporary file fails (no room, no
    temporary folder)."""
    try:
        with tempfile.TemporaryFile() as spool:
            image.save(spool, "JPEG", quality=QUALITY)
            spool.seek(0)
            return spool.read()
    except OSError:
        out = io.BytesIO()
        image.save(out, "JPEG", quality=QUALITY)
        return out.getvalue()


def _detail(exc: BaseException, filename: str | None) -> str:
    named = f" ({filename!r})" if filename else ""
    return f"{type(exc).__name__}: {exc}{named}"[:300]


def _open(data: bytes, filename: str | None) -> tuple[ImageFile.ImageFile, int] | Refused:
    """The image's header parsed, nothing decoded, with its EXIF orientation; or why the
    bytes are refused before any decoding."""
    _pillow()
    if len(data) > MAX_BYTES:
        return Refused(
            Reason.TOO_BIG, f"{len(data)} bytes" + (f" ({filename!r})" if filename else "")
        )
    if not data:
        return Refused(Reason.NOT_AN_IMAGE, "empty")
    try:
        image = Image.open(io.BytesIO(data), formats=_PLUGINS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own guard, past 89 MP (a warning: an error where warnings are errors)
        return Refused(Reason.TOO_MANY_PIXELS, _detail(exc, filename))
    except UnidentifiedImageError:
        return _unwanted(data, filename)
    except Exception as exc:  # a parser failing on a damaged header
        return Refused(Reason.CORRUPT, _detail(exc, filename))
    width, height = image.size
    if image.format not in FORMATS:  # cannot happen with formats=_PLUGINS; kept as a guard
        image.close()
        return Refused(Reason.FORMAT_NOT_ALLOWED, str(image.format))
    if width * height > MAX_PIXELS or width < 1 or height < 1:
        image.close()
        return Refused(Reason.TOO_MANY_PIXELS, f"{width}×{height}")
    try:
        orientation = int(image.getexif().get(_ORIENTATION, 1))
    except Exception:  # a damaged EXIF block: the picture itself may be fine
        orientation = 1
    return image, orientation


def _unwanted(data: bytes, filename: str | None) -> Refused:
    """Bytes none of the accepted formats' parsers recognise: one of them damaged (it
    starts as they do), another kind of image (GIF, BMP, TIFF…: its header only is read, by
    Pillow's other parsers) or none."""
    if _signed(data):
        return Refused(
            Reason.CORRUPT, "unreadable header" + (f" ({filename!r})" if filename else "")
        )
    try:
        with Image.open(io.BytesIO(data)) as other:
            return Refused(Reason.FORMAT_NOT_ALLOWED, str(other.format))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        return Refused(Reason.FORMAT_NOT_ALLOWED, _detail(exc, filename))
    except Exception as exc:
        return Refused(Reason.NOT_AN_IMAGE, _detail(exc, filename))


#: How the accepted formats begin: JPEG's start of image, PNG's signature, WebP's RIFF,
#: HEIF's file type box (at byte 4: ``ftyp`` and a HEIF brand).
_SIGNATURES: Final = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")
_HEIF_BRANDS: Final = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")


def _signed(data: bytes) -> bool:
    """Whether ``data`` begins as an accepted format does."""
    if data.startswith(_SIGNATURES):
        return True
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return True
    return data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS


def _checked(data: bytes, fmt: str, size: tuple[int, int], orientation: int) -> Checked:
    width, height = size
    if orientation in _QUARTER_TURNS:
        width, height = height, width
    return Checked(sha256(data), fmt, len(data), width, height)


def _decoded(image: ImageFile.ImageFile) -> Image.Image:
    """The picture decoded at the size the display copy needs (JPEGs: at a reduced scale
    libjpeg gives for free; others in full)."""
    if image.format in _JPEG:
        width, height = image.size
        scale = 1
        for candidate in (8, 4, 2):
            if max(width, height) / candidate >= DECODE_LONG_SIDE:
                scale = candidate
                break
        if scale > 1:
            image.draft("RGB", (width // scale, height // scale))
    image.load()
    return image


#: How each EXIF orientation is undone (as ``ImageOps.exif_transpose`` does it, here from
#: the orientation read once in :func:`_open`, so a damaged EXIF block cannot fail later).
#: Filled by :func:`_pillow`.
_TRANSPOSE: Final[dict[int, Image.Transpose]] = {}


def _upright_rgb(image: Image.Image, orientation: int) -> Image.Image:
    """The picture turned as its EXIF orientation says (first: the watermark goes on the
    upright picture), in sRGB without transparency (transparent parts on white)."""
    profile = image.info.get("icc_profile")
    if orientation in _TRANSPOSE:
        image = image.transpose(_TRANSPOSE[orientation])
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    elif image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        image = image.convert("I").point(lambda v: v * (1 / 256)).convert("L").convert("RGB")
    elif image.mode != "RGB":
        image = image.convert("RGB")
    if profile and image.mode == "RGB":
        image = _to_srgb(image, profile)
    return image


def _to_srgb(image: Image.Image, profile: bytes) -> Image.Image:
    """Colours converted from an embedded profile (a phone's Display P3) to sRGB, which a
    JPEG without a profile is read as; on any trouble the pixels are kept as they are."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        converted = ImageCms.profileToProfile(image, source, _SRGB[0], outputMode="RGB")
    except Exception:  # a damaged or unusual profile: the colours stay, slightly off
        return image
    return converted if converted is not None else image


#: The sRGB profile (made by :func:`_pillow`).
_SRGB: Final[list[CmsProfile]] = []


def _fitted(image: Image.Image) -> Image.Image:
    """At most :data:`LONG_SIDE` pixels on the long side."""
    long_side = max(image.size)
    if long_side <= LONG_SIDE:
        return image
    ratio = LONG_SIDE / long_side
    size = (max(1, round(image.width * ratio)), max(1, round(image.height * ratio)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


#: Fonts loaded per worker thread (a FreeType face must not be shared between threads).
_FONTS = threading.local()


def _font(path: str | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    cache: dict[tuple[str | None, int], ImageFont.FreeTypeFont | ImageFont.ImageFont]
    cache = _FONTS.__dict__.setdefault("cache", {})
    key = (path, size)
    if key not in cache:
        font: ImageFont.FreeTypeFont | ImageFont.ImageFont
        try:
            font = ImageFont.truetype(path, size) if path else ImageFont.load_default(size)
        except OSError:
            font = ImageFont.load_default(size)
        if len(cache) > 32:
            cache.clear()
        cache[key] = font
    return cache[key]


def _watermark(image: Image.Image, label_lines: Sequence[str], font_path: str | None) -> None:
    """Draw the label at the bottom left, in place: white letters outlined in black on a
    darkened box, sized to the picture (a line is about 1/36 of its short side)."""
    lines = [line.strip() for line in label_lines if line and line.strip()]
    if not lines:
        return
    size = max(12, round(min(image.size) / 36))
    font = _font(font_path, size)
    pad = max(4, size // 2)
    stroke = max(1, size // 14)
    room = image.width - 2 * pad
    draw = ImageDraw.Draw(image)
    lines = [_cut(draw, line, font, room) for line in lines]
    leading = math.ceil(size * 1.25)
    width = min(image.width, 2 * pad + max(math.ceil(draw.textlength(s, font=font)) for s in lines))
    height = min(image.height, 2 * pad + leading * len(lines))
    box = (0, image.height - height, width, image.height)
    region = image.crop(box)
    image.paste(Image.blend(region, Image.new("RGB", region.size), 0.5), box)
    y = box[1] + pad
    for line in lines:
        draw.text(
            (pad, y), line, font=font, fill=(255, 255, 255), stroke_width=stroke,
            stroke_fill=(0, 0, 0),
        )  # fmt: skip
        y += leading


def _cut(
    draw: ImageDraw.ImageDraw,
    line: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    room: int,
) -> str:
    """``line``, shortened with an ellipsis to fit ``room`` pixels."""
    if draw.textlength(line, font=font) <= room:
        return line
    while line and draw.textlength(line + "…", font=font) > room:
        line = line[:-1]
    return line + "…"
