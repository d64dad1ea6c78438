"""A font with Chinese glyphs on this machine, for the images the bot draws: the weekly
report's chart (``bot.report_files``) and the watermark on evidence photos
(``storage.evidence_images``).

:func:`cjk_font` looks at ``configured`` (``WUYE_CHART_FONT``, passed in by the caller:
storage reads no settings), the usual Debian, macOS and Windows paths, then fontconfig.
Without one, charts are drawn in English and watermarks with Pillow's own font (Chinese
names then show as boxes), and the log says which package to install. It lives in storage,
not in bot, because storage's image work needs it and may not import bot; it is the file
system's business, so not the procedures'.
"""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)

#: Where CJK fonts usually are (Debian's fonts-wqy-microhei first: small and complete).
FONT_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
)


@functools.cache
def cjk_font(configured: str | None = None) -> str | None:
    """The path of a font with Chinese glyphs, or None when this machine has none."""
    candidates = [configured] if configured else []
    candidates += list(FONT_PATHS)
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    if shutil.which("fc-list"):
        try:
            listed = subprocess.run(
                ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=10
            ).stdout
        except (OSError, subprocess.SubprocessError):
            listed = ""
        for line in sorted(listed.splitlines()):
            path = line.split(":", 1)[0].strip()
            if path and Path(path).is_file():
                return path
    log.warning(
        "no CJK font found: weekly charts are drawn in English and photo watermarks without "
        "Chinese glyphs; install fonts-wqy-microhei (Debian) or set WUYE_CHART_FONT to a "
        ".ttf/.ttc with Chinese glyphs"
    )
    return None
