"""The owner roster (主清冊): read the spreadsheet the office sends and check every row.

The office keeps its list of units and owners in Excel or WPS and sends it to the bot as a
file. :func:`parse_roster` accepts CSV/TSV text (UTF-8, with or without BOM, or GB18030,
which is what Chinese Excel and WPS write) and XLSX/XLSM workbooks, finds the columns by
their Chinese (Simplified or Traditional) or English headers, and checks every row. All
problems are reported at once, each with its row and column, so the office can fix the
whole file in one go instead of resending it once per mistake.

Nothing here talks to Telegram or the database: errors are message keys with parameters,
to be rendered by the caller in the reader's language.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import PurePath

from procedures.phone import normalise_phone

__all__ = [
    "MAX_ROWS",
    "OPTIONAL_COLUMNS",
    "PROGRESS_EVERY",
    "REQUIRED_COLUMNS",
    "RosterError",
    "RosterParseResult",
    "RosterRow",
    "parse_roster",
]

#: Most data rows a roster may have; a bigger file is refused as a whole.
MAX_ROWS = 50_000
#: ``progress`` is called after every this many data rows (and once at the end).
PROGRESS_EVERY = 500
#: Columns every roster must have, in the order they are reported when missing.
REQUIRED_COLUMNS = ("unit", "owner_name", "owner_phone")
#: Columns a roster may have.
OPTIONAL_COLUMNS = ("building", "area_m2")

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "unit": ("房号", "房號", "房间号", "房間號", "单元房号"),
    "owner_name": ("业主姓名", "業主姓名", "业主", "業主", "姓名"),
    "owner_phone": (
        "手机", "手機", "电话", "電話", "手机号", "手機號", "手机号码", "手機號碼",
        "联系电话", "聯繫電話",
    ),
    "building": ("楼栋", "樓棟", "楼号", "樓號", "栋号", "棟號"),
    "area_m2": ("面积", "面積", "建筑面积", "建築面積", "area"),
}  # fmt: skip

# A bracketed note after a header ("面积(㎡)", "手机号码（必填）") and required-field stars.
_HEADER_NOTE = re.compile(r"[(\[【].*[)\]】]$")
_SPACES = re.compile(r"\s+")
_AREA_NUMBER = re.compile(r"\d+(?:\.\d+)?", re.ASCII)
_AREA_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", re.ASCII)
_AREA_SUFFIXES = ("平方米", "平米", "平方", "m2", "sqm")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")

_OLE_MAGIC = b"\xd0\xcf\x11\xe0"
_ZIP_MAGIC = b"PK"
_BINARY_MAGIC = (
    b"\x89PNG",  # PNG
    b"\xff\xd8\xff",  # JPEG
    b"GIF8",  # GIF
    b"%PDF",  # PDF
    b"RIFF",  # WebP, WAV, AVI
    b"\x1f\x8b",  # gzip
    b"7z\xbc\xaf\x27\x1c",  # 7-Zip
    b"Rar!",  # RAR
    b"II*\x00",  # TIFF
    b"MM\x00*",  # TIFF
    b"OggS",  # Ogg (Telegram voice notes)
    b"ID3",  # MP3
    b"{\\rtf",  # RTF
)
# Documents that are not tables even when their content happens to decode as text.
_NOT_TABLE_SUFFIXES = frozenset(
    {
        ".pdf", ".doc", ".docx", ".ppt", ".pptx", ".jpg", ".jpeg", ".png", ".gif", ".webp",
        ".heic", ".bmp", ".tif", ".tiff", ".zip", ".rar", ".7z", ".gz", ".mp3", ".mp4",
        ".mov", ".ogg", ".oga", ".opus",
    }
)  # fmt: skip
_OLE_NOT_TABLE_SUFFIXES = frozenset({".doc", ".ppt", ".msg", ".pub", ".vsd"})
_EXCEL_SUFFIXES = frozenset({".xls", ".xlsx", ".xlsm", ".xml", ".et"})
# Rows above the header that may hold a title such as "XX小区业主清册".
_TITLE_ROWS = 5


@dataclass(frozen=True)
class RosterRow:
    """One unit of the roster, checked and normalised."""

    line: int
    """The row number as a spreadsheet shows it (1-based, the header row counts)."""
    building: str
    """The building (楼栋), ``""`` when the roster has none."""
    unit: str
    """The unit number or code, NFKC-normalised with whitespace collapsed; never empty."""
    owner_name: str
    """The owner's name, NFKC-normalised with whitespace collapsed."""
    owner_phone: str
    """The owner's phone in E.164 form, see :func:`procedures.phone.normalise_phone`."""
    area_m2: Decimal | None
    """The floor area in square metres, None when not given."""


@dataclass(frozen=True)
class RosterError:
    """One problem found in a roster, as a message key and its placeholders."""

    row: int | None
    """The spreadsheet row number, None for a problem with the whole file."""
    column: str | None
    """The canonical column name (``"unit"``, ``"owner_phone"``…), or None."""
    key: str
    """The message key, ``"roster.error.*"``."""
    params: dict[str, str] = field(default_factory=dict)
    """Values for the message's placeholders."""


@dataclass
class RosterParseResult:
    """What :func:`parse_roster` found: the good rows, every error and the file's encoding."""

    rows: list[RosterRow]
    """The rows that passed every check, in file order."""
    errors: list[RosterError]
    """Every problem found, file-level ones first, then by row."""
    encoding: str | None
    """``"utf-8"``, ``"gb18030"`` or ``"xlsx"``; None when the file could not be read."""

    @property
    def ok(self) -> bool:
        """True when the roster has at least one row and no errors at all."""
        return not self.errors and bool(self.rows)


# A non-blank row of the file: its spreadsheet row number and its cells as text.
_Record = tuple[int, list[str]]


class _NotReadable(Exception):
    """The file cannot be read as a roster; carries the file-level error key."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def parse_roster(
    data: bytes, filename: str, progress: Callable[[int, int], None] | None = None
) -> RosterParseResult:
    """Read and check a roster file.

    The format is decided by the content first (XLSX zip, old XLS, images and other
    binaries, text) and by ``filename``'s extension only when the content leaves it open.
    ``progress(done, total)`` is called every :data:`PROGRESS_EVERY` data rows and once at
    the end, so a chat can show how far a large file has got.

    Errors never raise: they are collected in the result. A file-level problem (not a
    spreadsheet, old ``.xls``, empty, required columns missing, too many rows) is reported
    alone; otherwise every row is checked and every problem of every row is reported.
    """
    encoding: str | None = None
    try:
        if not data.strip():
            raise _NotReadable("roster.error.empty_file")
        if data.startswith(_ZIP_MAGIC):
            encoding = "xlsx"
            records = _read_xlsx(data)
        elif data.startswith(_OLE_MAGIC):
            if _suffix(filename) in _OLE_NOT_TABLE_SUFFIXES:
                raise _NotReadable("roster.error.not_spreadsheet")
            raise _NotReadable("roster.error.legacy_xls")
        else:
            text, encoding = _decode_text(data, filename)
            records = _read_csv(text, filename)
    except _NotReadable as problem:
        return RosterParseResult([], [RosterError(None, None, problem.key, {})], encoding)
    rows, errors = _check(records, progress)
    return RosterParseResult(rows, errors, encoding)


def _suffix(filename: str) -> str:
    """Return the lower-case extension of ``filename``, with its dot."""
    return PurePath(filename).suffix.lower()


# --- reading -------------------------------------------------------------------------------


def _decode_text(data: bytes, filename: str) -> tuple[str, str]:
    """Decode a text table as UTF-8 (BOM or not), else GB18030; refuse binaries."""
    if data.startswith(_BINARY_MAGIC) or data[4:8] == b"ftyp" or b"\x00" in data:
        raise _NotReadable("roster.error.not_spreadsheet")
    encoding = "utf-8"
    try:
        text = data.removeprefix(codecs.BOM_UTF8).decode("utf-8")
    except UnicodeDecodeError:
        encoding = "gb18030"
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise _NotReadable("roster.error.not_spreadsheet") from None
    sample = text[:65536]
    if len(_CONTROL_CHARS.findall(sample)) > max(2, len(sample) // 100):
        raise _NotReadable("roster.error.not_spreadsheet")
    suffix = _suffix(filename)
    if sample.lstrip().startswith("<"):
        # HTML or XML Spreadsheet 2003 that some systems save as ".xls": Excel and WPS
        # open it and can save it as .xlsx, which is the advice for an old .xls too.
        key = "legacy_xls" if suffix in _EXCEL_SUFFIXES else "not_spreadsheet"
        raise _NotReadable(f"roster.error.{key}")
    if suffix in _NOT_TABLE_SUFFIXES:
        raise _NotReadable("roster.error.not_spreadsheet")
    return text, encoding


def _read_csv(text: str, filename: str) -> list[_Record]:
    """Split CSV/TSV text into the non-blank records, numbered as a spreadsheet would."""
    try:
        delimiter = _sniff_delimiter(text, prefer_tab=_suffix(filename) == ".tsv")
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        return _collect(enumerate(reader, start=1))
    except csv.Error:
        raise _NotReadable("roster.error.not_spreadsheet") from None


def _sniff_delimiter(text: str, *, prefer_tab: bool) -> str:
    """Pick the delimiter among comma, tab and semicolon that makes the header make sense.

    The winner is the one that finds the most known column names in the first rows; on a
    tie, the one that splits the first row into the most cells; then comma (or tab for a
    ``.tsv`` file).
    """
    lines = [line for line in text[:65536].splitlines() if line.strip()][: _TITLE_ROWS + 1]
    if not lines:
        return ","
    candidates = ("\t", ",", ";") if prefer_tab else (",", "\t", ";")
    best, best_score = candidates[0], (-1, -1)
    for delimiter in candidates:
        rows = list(csv.reader(lines, delimiter=delimiter))
        score = (max(len(_map_header(row)) for row in rows), len(rows[0]))
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_xlsx(data: bytes) -> list[_Record]:
    """Read the first worksheet of an XLSX/XLSM workbook into non-blank text records."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise _NotReadable("roster.error.not_spreadsheet") from None
    if not any(name.startswith("xl/") for name in names):
        raise _NotReadable("roster.error.not_spreadsheet")

    # Imported here, not with the module: openpyxl is heavy and only an .xlsx needs it.
    from openpyxl import load_workbook
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    with warnings.catch_warnings():
        # openpyxl warns about features it drops ("Workbook contains no default style",
        # data validation extensions…); none of them matter for reading values.
        warnings.filterwarnings("ignore", module="openpyxl")
        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:  # a damaged or unsupported (e.g. .xlsb) workbook
            raise _NotReadable("roster.error.not_spreadsheet") from None
        try:
            if not workbook.worksheets:
                raise _NotReadable("roster.error.empty_file")
            sheet = workbook.worksheets[0]
            if isinstance(sheet, ReadOnlyWorksheet):
                # Some programs write a wrong size into the sheet; read what is there.
                sheet.reset_dimensions()
            rows = sheet.iter_rows(min_row=1, values_only=True)
            numbered = ((line, [_cell_text(v) for v in row]) for line, row in enumerate(rows, 1))
            return _collect(numbered)
        except _NotReadable:
            raise
        except Exception:
            raise _NotReadable("roster.error.not_spreadsheet") from None
        finally:
            workbook.close()


def _cell_text(value: object) -> str:
    """Turn a workbook cell's value into the text a person sees, integers without ".0"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _collect(numbered: Iterable[tuple[int, Sequence[str]]]) -> list[_Record]:
    """Keep the non-blank rows, stopping once there are clearly too many to accept."""
    limit = MAX_ROWS + _TITLE_ROWS + 2  # enough to tell "too many" from "just right"
    records: list[_Record] = []
    for line, cells in numbered:
        if any(cell.strip() for cell in cells):
            records.append((line, list(cells)))
            if len(records) >= limit:
                break
    return records


# --- checking ------------------------------------------------------------------------------


def _header_key(text: str) -> str:
    """Normalise a header cell for matching: NFKC, lower case, no spaces, notes or stars."""
    key = _SPACES.sub("", unicodedata.normalize("NFKC", text).lower()).strip("*")
    return _HEADER_NOTE.sub("", key).strip("*:")


_HEADERS: dict[str, str] = {
    _header_key(name): column for column, names in _SYNONYMS.items() for name in (column, *names)
}


def _map_header(cells: Sequence[str]) -> dict[str, int]:
    """Map canonical column names to their cell index; the first of duplicates wins."""
    columns: dict[str, int] = {}
    for index, cell in enumerate(cells):
        column = _HEADERS.get(_header_key(cell))
        if column is not None and column not in columns:
            columns[column] = index
    return columns


def _find_header(records: list[_Record]) -> tuple[int, dict[str, int], list[str]]:
    """Find the header: the first non-blank row, or below a title row when it has none.

    Returns the header's index in ``records``, its column map and the required columns
    it lacks.
    """
    columns = _map_header(records[0][1])
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing and not columns:
        # The first row names no column at all: perhaps a title ("XX小区业主清册").
        for index in range(1, min(len(records), _TITLE_ROWS + 1)):
            below = _map_header(records[index][1])
            if all(name in below for name in REQUIRED_COLUMNS):
                return index, below, []
    return 0, columns, missing


def _check(
    records: list[_Record], progress: Callable[[int, int], None] | None
) -> tuple[list[RosterRow], list[RosterError]]:
    """Check every data row below the header; return the good rows and all errors."""
    if not records:
        return [], [RosterError(None, None, "roster.error.empty_file", {})]
    header, columns, missing = _find_header(records)
    if missing:
        params = {"columns": ", ".join(missing)}
        return [], [RosterError(None, None, "roster.error.missing_columns", params)]
    data = records[header + 1 :]
    if not data:
        return [], [RosterError(None, None, "roster.error.empty_file", {})]
    if len(data) > MAX_ROWS:
        params = {"limit": str(MAX_ROWS)}
        return [], [RosterError(None, None, "roster.error.too_many_rows", params)]

    rows: list[RosterRow] = []
    errors: list[RosterError] = []
    first_seen: dict[tuple[str, str], int] = {}
    total = len(data)
    for done, (line, cells) in enumerate(data, start=1):
        row, row_errors = _check_row(line, cells, columns, first_seen)
        if row is not None:
            rows.append(row)
        errors.extend(row_errors)
        if progress is not None and (done % PROGRESS_EVERY == 0 or done == total):
            progress(done, total)
    return rows, errors


def _check_row(
    line: int, cells: list[str], columns: dict[str, int], first_seen: dict[tuple[str, str], int]
) -> tuple[RosterRow | None, list[RosterError]]:
    """Check one data row: the row when it is good, and every problem it has.

    ``first_seen`` maps each (building, unit) met so far to its row, for duplicates; this
    row's unit is added to it.
    """

    def cell(column: str) -> str:
        index = columns.get(column)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    errors: list[RosterError] = []
    building = _clean(cell("building"))
    unit = _clean(cell("unit"))
    if not unit:
        errors.append(RosterError(line, "unit", "roster.error.missing_value", {}))
    else:
        first = first_seen.setdefault((building.casefold(), unit.casefold()), line)
        if first != line:
            label = f"{building} {unit}" if building else unit
            params = {"unit": label, "first_row": str(first)}
            errors.append(RosterError(line, "unit", "roster.error.duplicate_unit", params))

    owner_name = _clean(cell("owner_name"))
    if not owner_name:
        errors.append(RosterError(line, "owner_name", "roster.error.missing_value", {}))

    raw_phone = cell("owner_phone")
    owner_phone = normalise_phone(raw_phone)
    if not raw_phone:
        errors.append(RosterError(line, "owner_phone", "roster.error.missing_value", {}))
    elif owner_phone is None:
        params = {"value": raw_phone}
        errors.append(RosterError(line, "owner_phone", "roster.error.bad_phone", params))

    raw_area = cell("area_m2")
    area = _parse_area(raw_area) if raw_area else None
    if raw_area and area is None:
        errors.append(RosterError(line, "area_m2", "roster.error.bad_area", {"value": raw_area}))

    if errors or owner_phone is None:
        return None, errors
    return RosterRow(line, building, unit, owner_name, owner_phone, area), errors


def _clean(text: str) -> str:
    """NFKC-normalise ``text`` and collapse its whitespace to single spaces."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _parse_area(raw: str) -> Decimal | None:
    """Read a positive area such as ``"89.5"``, ``"89.5㎡"``, ``"89.5 m2"``, ``"89.5平方米"``."""
    text = _SPACES.sub("", unicodedata.normalize("NFKC", raw).lower())
    for suffix in _AREA_SUFFIXES:
        if text.endswith(suffix):
            text = text.removesuffix(suffix)
            break
    if _AREA_THOUSANDS.fullmatch(text):
        text = text.replace(",", "")
    if not _AREA_NUMBER.fullmatch(text):
        return None
    area = Decimal(text)
    return area if area > 0 else None
