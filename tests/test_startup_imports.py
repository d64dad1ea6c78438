"""The bot starts fast: importing its entry modules loads none of the heavy libraries (the
spreadsheet, image and holiday packages), which are imported the first time they are
needed (a roster file, a photo, a report, a working-day count)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

#: Loaded only when needed: each costs tens of milliseconds or more at start-up.
HEAVY = ["openpyxl", "PIL", "pillow_heif", "holidays", "matplotlib", "numpy", "opencc", "yaml"]

ROOT = Path(__file__).resolve().parent.parent


def loaded_after(code: str) -> list[str]:
    """The heavy libraries in sys.modules after running ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    modules = set(json.loads(done.stdout.splitlines()[-1]))
    return [name for name in HEAVY if name in modules]


def test_starting_the_bot_imports_no_heavy_library() -> None:
    """What ``python -m bot run`` imports before its first answer: the command line, the
    application with every handler, the reports' jobs and the sandbox runner."""
    code = "import bot.__main__, bot.app, bot.local, bot.reports, bot.calendar_watch"
    assert loaded_after(code) == []


def test_the_heavy_libraries_come_when_needed() -> None:
    """A working-day count loads the holiday calendar; a photo, Pillow; a roster, openpyxl."""
    code = (
        "from datetime import date\n"
        "from procedures.calendar import WorkingCalendar\n"
        "WorkingCalendar().is_working_day(date(2026, 10, 1))\n"
        "from storage import evidence_images\n"
        "evidence_images.inspect(b'not a photo')\n"
        "import io, zipfile\n"
        "book = io.BytesIO()\n"
        "zipfile.ZipFile(book, 'w').writestr('xl/workbook.xml', 'damaged')\n"
        "from procedures.roster import parse_roster\n"
        "parse_roster(book.getvalue(), 'roster.xlsx')\n"
    )
    assert loaded_after(code) == ["openpyxl", "PIL", "pillow_heif", "holidays"]
