"""Pictures the evidence tests send: made with Pillow in memory, small and fast, and the
JPEG markers a display copy is read for."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

from PIL import ExifTags, Image

#: Where the test photo was taken: the GPS position the display copy must not carry.
LATITUDE = (31.0, 14.0, 5.5)
LONGITUDE = (121.0, 28.0, 1.0)
RED, BLUE = (220, 20, 20), (20, 20, 220)


def encoded(image: Image.Image, fmt: str, **options: Any) -> bytes:
    """``image`` saved in ``fmt`` (Pillow's name: JPEG, PNG, WEBP, HEIF, MPO, GIF…)."""
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def halves(size: tuple[int, int] = (40, 20)) -> Image.Image:
    """A picture red on its left half and blue on its right: which way is up shows."""
    image = Image.new("RGB", size, RED)
    image.paste(BLUE, (size[0] // 2, 0, size[0], size[1]))
    return image


def textured(size: tuple[int, int]) -> Image.Image:
    """A photo-like picture (noise over a gradient) of ``size``, quick to make."""
    width, height = size
    noise = Image.effect_noise((max(1, width // 8), max(1, height // 8)), 40).convert("RGB")
    gradient = Image.linear_gradient("L").convert("RGB")
    return Image.blend(noise.resize(size), gradient.resize(size), 0.5)


def gps_exif(orientation: int = 1) -> Image.Exif:
    """EXIF as a phone writes it: camera make, orientation and a GPS position."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Apple"
    exif[ExifTags.Base.Model] = "iPhone 15"
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: LATITUDE,
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: LONGITUDE,
    }
    return exif


def gps_jpeg(size: tuple[int, int] = (640, 480)) -> bytes:
    """A JPEG with a GPS position in its EXIF (as sent as a file, which Telegram leaves
    untouched)."""
    return encoded(textured(size), "JPEG", quality=90, exif=gps_exif())


def png_header(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width``×``height`` 1-bit pixels (a decompression
    bomb's header: the size alone must refuse it)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def jpeg_segments(data: bytes) -> list[tuple[int, bytes]]:
    """A JPEG's marker segments before its image data: (marker, payload) — APP0 (JFIF),
    APP1 (EXIF, XMP), APP2 (ICC profile, MPF), COM (comments), tables and frame headers."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    segments, at = [], 2
    while at < len(data):
        assert data[at] == 0xFF
        marker = data[at + 1]
        if marker == 0xDA:  # start of scan: pixels follow
            break
        length = struct.unpack(">H", data[at + 2 : at + 4])[0]
        segments.append((marker, data[at + 4 : at + 2 + length]))
        at += 2 + length
    return segments
