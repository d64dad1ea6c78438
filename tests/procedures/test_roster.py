"""Reading the owner roster the office sends: what gets in, and what the office is told."""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Sequence
from decimal import Decimal

import pytest
from openpyxl import Workbook

from procedures.roster import RosterError, RosterParseResult, RosterRow, parse_roster

MOBILE = "+8613800138000"
HEADER = ["building", "unit", "owner_name", "owner_phone", "area_m2"]


def csv_bytes(
    rows: Sequence[Sequence[str]], *, encoding: str = "utf-8", delimiter: str = ","
) -> bytes:
    """A CSV file as a spreadsheet program would save it: CRLF, quotes where needed."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: Sequence[Sequence[object]]) -> bytes:
    """A workbook whose first sheet holds ``rows`` from A1, None leaving a cell empty."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    workbook.create_sheet("备注").append(["this sheet is not read"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def only_error(result: RosterParseResult) -> RosterError:
    """The single error of ``result``, which must have no rows."""
    assert result.rows == []
    assert not result.ok
    assert len(result.errors) == 1
    return result.errors[0]


def row_errors(result: RosterParseResult) -> list[tuple[int | None, str | None, str]]:
    """Where each error is and what it is, without its parameters."""
    return [(error.row, error.column, error.key) for error in result.errors]


# --- files that are read -------------------------------------------------------------------


def test_a_utf8_csv_gives_one_checked_row_per_unit() -> None:
    data = csv_bytes(
        [
            HEADER,
            ["1栋", "502", "张三", "138 0013 8000", "89.5"],
            ["1栋", "503", "李四", "+86 139-0013-9000", ""],
        ]
    )

    result = parse_roster(data, "roster.csv")

    assert result.ok
    assert result.errors == []
    assert result.encoding == "utf-8"
    assert result.rows == [
        RosterRow(2, "1栋", "502", "张三", "+8613800138000", Decimal("89.5")),
        RosterRow(3, "1栋", "503", "李四", "+8613900139000", None),
    ]


def test_a_byte_order_mark_does_not_hide_the_first_column() -> None:
    data = codecs.BOM_UTF8 + csv_bytes(
        [["房号", "业主姓名", "手机"], ["502", "张三", "13800138000"]]
    )

    result = parse_roster(data, "清册.csv")

    assert result.ok
    assert result.encoding == "utf-8"
    assert result.rows == [RosterRow(2, "", "502", "张三", "+8613800138000", None)]


def test_a_gbk_csv_from_chinese_excel_or_wps_is_read() -> None:
    data = csv_bytes(
        [
            ["楼栋", "房号", "业主姓名", "手机号码", "建筑面积"],
            ["3号楼", "1201", "欧阳娜娜", "13912345678", "120.25"],
        ],
        encoding="gbk",
    )

    result = parse_roster(data, "业主清册.csv")

    assert result.ok
    assert result.encoding == "gb18030"
    assert result.rows == [
        RosterRow(2, "3号楼", "1201", "欧阳娜娜", "+8613912345678", Decimal("120.25"))
    ]


def test_traditional_chinese_headers_are_understood() -> None:
    data = csv_bytes(
        [
            ["樓棟", "房號", "業主姓名", "聯繫電話", "建築面積"],
            ["A座", "8樓B室", "陳大文", "+852 9123 4567", "65"],
        ]
    )

    result = parse_roster(data, "業主清冊.csv")

    assert result.ok
    assert result.rows == [RosterRow(2, "A座", "8樓B室", "陳大文", "+85291234567", Decimal("65"))]


@pytest.mark.parametrize(
    "header",
    [
        ["房间号", "业主", "电话"],
        ["房間號", "業主", "手機"],
        ["单元房号", "姓名", "手机号"],
        ["房号", "业主姓名", "联系电话"],
        ["Unit", " OWNER_NAME ", "Owner_Phone"],
        ["*房号", "业主姓名(必填)", "手机号码（必填）"],
        ["房 号", "业主【必填】", "手機號碼:"],
    ],
)
def test_header_synonyms_and_notes_are_recognised(header: list[str]) -> None:
    data = csv_bytes([header, ["502", "张三", "13800138000"]])

    result = parse_roster(data, "roster.csv")

    assert result.rows == [RosterRow(2, "", "502", "张三", MOBILE, None)]


@pytest.mark.parametrize(
    "header",
    [
        ["楼栋", "房号", "业主姓名", "手机", "面积"],
        ["楼号", "房号", "业主姓名", "手机", "建筑面积(㎡)"],
        ["栋号", "房号", "业主姓名", "手机", "面积（平方米）"],
        ["樓號", "房號", "業主姓名", "手機", "面積"],
        ["棟號", "房號", "業主姓名", "手機", "Area (m²)"],
    ],
)
def test_optional_building_and_area_columns_are_recognised(header: list[str]) -> None:
    data = csv_bytes([header, ["2栋", "502", "张三", "13800138000", "90"]])

    result = parse_roster(data, "roster.csv")

    assert result.rows == [RosterRow(2, "2栋", "502", "张三", MOBILE, Decimal("90"))]


@pytest.mark.parametrize(("delimiter", "filename"), [(";", "roster.csv"), ("\t", "roster.tsv")])
def test_semicolon_and_tab_separated_files_are_read(delimiter: str, filename: str) -> None:
    data = csv_bytes(
        [["房号", "业主姓名", "手机", "面积"], ["502", "张三", "13800138000", "89,5"]],
        delimiter=delimiter,
    )

    result = parse_roster(data, filename)

    assert row_errors(result) == [(2, "area_m2", "roster.error.bad_area")]
    assert result.errors[0].params == {"value": "89,5"}


def test_tab_separated_text_saved_as_txt_is_read() -> None:
    data = csv_bytes([["房号", "业主姓名", "手机"], ["502", "张三", "13800138000"]], delimiter="\t")

    result = parse_roster(data, "roster.txt")

    assert result.ok
    assert result.rows[0].owner_phone == MOBILE


def test_extra_columns_are_ignored_and_quoted_cells_keep_their_commas() -> None:
    data = (
        "备注,房号,业主姓名,手机,身份证号\r\n"
        '"已入住, 有车位",502,"张, 三",13800138000,110101199001011234\r\n'
    ).encode()

    result = parse_roster(data, "roster.csv")

    assert result.ok
    assert result.rows == [RosterRow(2, "", "502", "张, 三", MOBILE, None)]


def test_units_and_names_are_normalised() -> None:
    data = csv_bytes(
        [
            ["樓棟", "房號", "業主姓名", "手機"],
            [" Ａ座 ", " Ｂ 　 ５０２ ", "Li  Si\u3000", "13800138000"],
        ]
    )

    result = parse_roster(data, "roster.csv")

    assert result.rows == [RosterRow(2, "A座", "B 502", "Li Si", MOBILE, None)]


def test_blank_rows_are_skipped_and_rows_keep_their_spreadsheet_numbers() -> None:
    data = csv_bytes(
        [
            [],
            ["房号", "业主姓名", "手机"],
            ["101", "甲", "13800138000"],
            ["", "", ""],
            [" ", "", "　"],
            ["102", "乙", "13800138001"],
            [],
        ]
    )

    result = parse_roster(data, "roster.csv")

    assert result.ok
    assert [(row.line, row.unit) for row in result.rows] == [(3, "101"), (6, "102")]


def test_a_cell_written_on_two_lines_is_still_one_row() -> None:
    data = csv_bytes(
        [
            ["房号", "业主姓名", "手机"],
            ["101", "张三\r\n(已过户)", "13800138000"],
            ["102", "李四", "bad"],
        ]
    )

    result = parse_roster(data, "roster.csv")

    assert result.rows == [RosterRow(2, "", "101", "张三 (已过户)", MOBILE, None)]
    assert row_errors(result) == [(3, "owner_phone", "roster.error.bad_phone")]


def test_a_title_row_above_the_header_is_tolerated() -> None:
    data = csv_bytes(
        [
            ["幸福里小区业主清册", "", ""],
            ["房号", "业主姓名", "手机"],
            ["502", "张三", "13800138000"],
        ]
    )

    result = parse_roster(data, "roster.csv")

    assert result.ok
    assert result.rows[0].line == 3


def test_a_workbook_with_numbers_typed_as_numbers_is_read_as_the_office_sees_it() -> None:
    data = xlsx_bytes(
        [
            ["楼栋", "房号", "业主姓名", "手机", "面积"],
            [1, 502, "张三", 13800138000, 89.5],
            [1, 503.0, "李四", 13900139000.0, 102],
            [None, None, None, None, None],
            ["2栋", "A-101", "王五", "8613700137000", "75.00㎡"],
        ]
    )

    result = parse_roster(data, "清册.xlsx")

    assert result.ok, result.errors
    assert result.encoding == "xlsx"
    assert result.rows == [
        RosterRow(2, "1", "502", "张三", "+8613800138000", Decimal("89.5")),
        RosterRow(3, "1", "503", "李四", "+8613900139000", Decimal("102")),
        RosterRow(5, "2栋", "A-101", "王五", "+8613700137000", Decimal("75.00")),
    ]


def test_a_workbook_starting_lower_down_keeps_the_sheets_row_numbers() -> None:
    data = xlsx_bytes(
        [
            [],
            ["幸福里小区业主清册"],
            ["房号", "业主姓名", "手机"],
            ["502", "张三", "12345"],
        ]
    )

    result = parse_roster(data, "清册.xlsx")

    assert row_errors(result) == [(4, "owner_phone", "roster.error.bad_phone")]
    assert result.errors[0].params == {"value": "12345"}


def _minimal_xlsx(rows: Sequence[Sequence[str]]) -> bytes:
    """A bare workbook as some exporters write it: an empty stylesheet, a wrong sheet size.

    openpyxl warns that it "contains no default style"; the warning must not escape, and
    the sheet's stated size ("A1") must not cut the rows short.
    """
    cells = "".join(
        f'<row r="{r}">'
        + "".join(
            f'<c r="{chr(65 + c)}{r}" t="inlineStr"><is><t>{value}</t></is></c>'
            for c, value in enumerate(row)
        )
        + "</row>"
        for r, row in enumerate(rows, start=1)
    )
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package = "http://schemas.openxmlformats.org/package/2006"
    parts = {
        "[Content_Types].xml": (
            f'<Types xmlns="{package}/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
            'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            f'<Relationships xmlns="{package}/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
            '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{package}/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            "</Relationships>"
        ),
        "xl/styles.xml": f'<styleSheet xmlns="{main}"/>',
        "xl/worksheets/sheet1.xml": (
            f'<worksheet xmlns="{main}"><dimension ref="A1"/><sheetData>{cells}</sheetData>'
            "</worksheet>"
        ),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_a_workbook_openpyxl_complains_about_is_still_read_in_full() -> None:
    data = _minimal_xlsx([["房号", "业主姓名", "手机"], ["502", "张三", "13800138000"]])

    result = parse_roster(data, "export.xlsx")

    assert result.ok, result.errors
    assert result.rows == [RosterRow(2, "", "502", "张三", MOBILE, None)]


def test_content_decides_over_the_extension() -> None:
    data = csv_bytes([["房号", "业主姓名", "手机"], ["502", "张三", "13800138000"]])

    assert parse_roster(data, "清册.xlsx").ok
    assert parse_roster(
        xlsx_bytes([["房号", "业主姓名", "手机"], [502, "张三", 13800138000]]), "a.csv"
    ).ok


# --- what the office is told ---------------------------------------------------------------


def test_missing_required_columns_are_reported_alone() -> None:
    data = csv_bytes([["业主姓名", "面积", "备注"], ["张三", "abc", ""], ["", "", "x"]])

    error = only_error(parse_roster(data, "roster.csv"))

    assert error == RosterError(
        None, None, "roster.error.missing_columns", {"columns": "unit, owner_phone"}
    )


def test_a_file_without_any_known_header_lists_every_required_column() -> None:
    data = csv_bytes([["502", "张三", "13800138000"]])

    error = only_error(parse_roster(data, "roster.csv"))

    assert error.key == "roster.error.missing_columns"
    assert error.params == {"columns": "unit, owner_name, owner_phone"}


def test_a_bad_phone_is_reported_with_its_row_and_what_was_written() -> None:
    data = csv_bytes(
        [
            ["房号", "业主姓名", "手机"],
            ["501", "张三", "13800138000"],
            ["502", "李四", "021-12345678"],
        ]
    )

    result = parse_roster(data, "roster.csv")

    assert not result.ok
    assert result.errors == [
        RosterError(3, "owner_phone", "roster.error.bad_phone", {"value": "021-12345678"})
    ]
    assert [row.unit for row in result.rows] == ["501"]


def test_a_duplicate_unit_points_to_where_it_first_appeared() -> None:
    data = csv_bytes(
        [
            ["楼栋", "房号", "业主姓名", "手机"],
            ["1栋", "502", "张三", "13800138000"],
            ["2栋", "502", "李四", "13800138001"],
            ["", "502", "王五", "13800138002"],
            ["1栋", "５０２", "赵六", "13800138003"],
            ["", " 502 ", "钱七", "13800138004"],
            ["A", "b-101", "孙八", "13800138005"],
            ["a", "B-101", "周九", "13800138006"],
        ]
    )

    result = parse_roster(data, "roster.csv")

    assert result.errors == [
        RosterError(
            5, "unit", "roster.error.duplicate_unit", {"unit": "1栋 502", "first_row": "2"}
        ),
        RosterError(6, "unit", "roster.error.duplicate_unit", {"unit": "502", "first_row": "4"}),
        RosterError(
            8, "unit", "roster.error.duplicate_unit", {"unit": "a B-101", "first_row": "7"}
        ),
    ]
    assert [row.line for row in result.rows] == [2, 3, 4, 7]


def test_missing_values_are_reported_per_cell() -> None:
    data = csv_bytes(
        [
            ["房号", "业主姓名", "手机", "面积"],
            ["", "张三", "13800138000", "80"],
            ["502", " ", "13800138001", ""],
            ["503", "王五", "", ""],
            ["", "", "", "90"],
        ]
    )

    result = parse_roster(data, "roster.csv")

    assert row_errors(result) == [
        (2, "unit", "roster.error.missing_value"),
        (3, "owner_name", "roster.error.missing_value"),
        (4, "owner_phone", "roster.error.missing_value"),
        (5, "unit", "roster.error.missing_value"),
        (5, "owner_name", "roster.error.missing_value"),
        (5, "owner_phone", "roster.error.missing_value"),
    ]
    assert all(error.params == {} for error in result.errors)
    assert result.rows == []


def test_a_short_row_lacks_its_trailing_cells() -> None:
    data = "房号,业主姓名,手机\r\n502,张三\r\n".encode()

    result = parse_roster(data, "roster.csv")

    assert row_errors(result) == [(2, "owner_phone", "roster.error.missing_value")]


@pytest.mark.parametrize(
    ("written", "area"),
    [
        ("89.5", "89.5"),
        ("89.5㎡", "89.5"),
        ("89.5 m2", "89.5"),
        ("89.5 M²", "89.5"),
        ("89.5平方米", "89.5"),
        ("89.5 平米", "89.5"),
        ("１２０", "120"),
        ("1,089.5", "1089.5"),
    ],
)
def test_areas_may_carry_their_unit(written: str, area: str) -> None:
    data = csv_bytes(
        [["房号", "业主姓名", "手机", "面积"], ["502", "张三", "13800138000", written]]
    )

    result = parse_roster(data, "roster.csv")

    assert result.ok, result.errors
    assert result.rows[0].area_m2 == Decimal(area)


@pytest.mark.parametrize("written", ["0", "-89.5", "abc", "约90", "90-100", "NaN", "1e3", "89.5.1"])
def test_an_area_that_is_not_a_positive_number_is_reported(written: str) -> None:
    data = csv_bytes(
        [["房号", "业主姓名", "手机", "面积"], ["502", "张三", "13800138000", written]]
    )

    result = parse_roster(data, "roster.csv")

    assert result.errors == [RosterError(2, "area_m2", "roster.error.bad_area", {"value": written})]
    assert result.rows == []


def test_every_problem_of_the_file_is_reported_together() -> None:
    data = csv_bytes(
        [
            ["楼栋", "房号", "业主姓名", "手机", "面积"],
            ["1栋", "101", "张三", "13800138000", "80"],
            ["1栋", "102", "", "12345", "-1"],
            ["1栋", "101", "李四", "13800138001", "80"],
            ["1栋", "103", "王五", "13800138002", "80"],
            ["1栋", "", "赵六", "", "大"],
        ]
    )

    result = parse_roster(data, "roster.csv")

    assert not result.ok
    assert row_errors(result) == [
        (3, "owner_name", "roster.error.missing_value"),
        (3, "owner_phone", "roster.error.bad_phone"),
        (3, "area_m2", "roster.error.bad_area"),
        (4, "unit", "roster.error.duplicate_unit"),
        (6, "unit", "roster.error.missing_value"),
        (6, "owner_phone", "roster.error.missing_value"),
        (6, "area_m2", "roster.error.bad_area"),
    ]
    assert [row.unit for row in result.rows] == ["101", "103"]


# --- files that are refused ----------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   \r\n\r\n",
        codecs.BOM_UTF8,
        b",,,\r\n,,\r\n",
    ],
)
def test_an_empty_file_is_refused(data: bytes) -> None:
    error = only_error(parse_roster(data, "roster.csv"))

    assert error == RosterError(None, None, "roster.error.empty_file", {})


def test_a_header_without_data_rows_is_an_empty_file() -> None:
    data = csv_bytes([["房号", "业主姓名", "手机"], ["", "", ""], []])

    assert only_error(parse_roster(data, "roster.csv")).key == "roster.error.empty_file"


def test_a_workbook_with_only_a_header_is_an_empty_file() -> None:
    data = xlsx_bytes([["房号", "业主姓名", "手机"]])

    assert only_error(parse_roster(data, "roster.xlsx")).key == "roster.error.empty_file"


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (PNG, "roster.png"),
        (PNG, "roster.csv"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "photo.jpg"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "roster.pdf"),
        (b"unit,owner_name\x00,owner_phone\n", "roster.csv"),
        (b"\x00\x00\x00\x18ftypheic", "IMG_0001.HEIC"),
        ("房号,业主姓名,手机\n".encode(), "roster.pdf"),
        (b"<html><body><p>hello</p></body></html>", "page.html"),
    ],
)
def test_files_that_are_not_spreadsheets_are_refused(data: bytes, filename: str) -> None:
    error = only_error(parse_roster(data, filename))

    assert error == RosterError(None, None, "roster.error.not_spreadsheet", {})


def test_a_zip_that_is_not_a_workbook_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("roster.csv", "房号,业主姓名,手机\n502,张三,13800138000\n")

    error = only_error(parse_roster(buffer.getvalue(), "roster.zip"))

    assert error.key == "roster.error.not_spreadsheet"


def test_a_damaged_workbook_is_refused() -> None:
    data = xlsx_bytes([["房号", "业主姓名", "手机"], [502, "张三", 13800138000]])

    assert (
        only_error(parse_roster(data[:1000], "roster.xlsx")).key == "roster.error.not_spreadsheet"
    )
    assert only_error(parse_roster(b"PK\x03\x04garbage", "x.xlsx")).key == (
        "roster.error.not_spreadsheet"
    )


@pytest.mark.parametrize("filename", ["清册.xls", "roster.XLS", "roster", "roster.et"])
def test_an_old_xls_file_is_recognised_so_the_office_can_resave_it(filename: str) -> None:
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)

    error = only_error(parse_roster(data, filename))

    assert error == RosterError(None, None, "roster.error.legacy_xls", {})


def test_an_html_table_saved_as_xls_is_treated_like_an_old_xls() -> None:
    data = "<html><table><tr><td>房号</td></tr></table></html>".encode()

    assert only_error(parse_roster(data, "export.xls")).key == "roster.error.legacy_xls"


def test_an_old_word_document_is_not_mistaken_for_an_xls() -> None:
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)

    assert only_error(parse_roster(data, "通知.doc")).key == "roster.error.not_spreadsheet"


def test_more_than_fifty_thousand_rows_are_refused() -> None:
    lines = ["房号,业主姓名,手机"] + [f"{i},业主{i},138{i:08d}" for i in range(50_001)]
    data = "\n".join(lines).encode()

    error = only_error(parse_roster(data, "roster.csv"))

    assert error == RosterError(None, None, "roster.error.too_many_rows", {"limit": "50000"})


def test_exactly_fifty_thousand_rows_are_accepted() -> None:
    lines = ["房号,业主姓名,手机"] + [f"{i},业主{i},138{i:08d}" for i in range(50_000)]

    result = parse_roster("\n".join(lines).encode(), "roster.csv")

    assert result.ok
    assert len(result.rows) == 50_000


# --- large files ---------------------------------------------------------------------------


def big_roster(count: int) -> bytes:
    """A roster of ``count`` units, all valid."""
    lines = ["楼栋,房号,业主姓名,手机,面积"]
    lines += [
        f"{i // 100 + 1}栋,{i % 100 + 101},业主{i},139{i:08d},{80 + i % 40}.5" for i in range(count)
    ]
    return "\r\n".join(lines).encode()


def test_a_large_file_reports_progress_and_returns_every_row() -> None:
    calls: list[tuple[int, int]] = []

    result = parse_roster(
        big_roster(5_000), "roster.csv", lambda done, total: calls.append((done, total))
    )

    assert result.ok
    assert len(result.rows) == 5_000
    assert result.rows[-1].line == 5_001
    assert calls == [(done, 5_000) for done in range(500, 5_001, 500)]


def test_progress_is_reported_once_more_at_the_end() -> None:
    calls: list[tuple[int, int]] = []

    parse_roster(big_roster(1_234), "roster.csv", lambda done, total: calls.append((done, total)))

    assert calls == [(500, 1_234), (1_000, 1_234), (1_234, 1_234)]


def test_ten_thousand_rows_parse_whole() -> None:
    """A large roster parses whole (how fast is a benchmark's business, not a test's: a
    timed assertion fails on a loaded machine and proves nothing on a fast one)."""
    result = parse_roster(big_roster(10_000), "roster.csv")

    assert result.ok
    assert len(result.rows) == 10_000
    assert result.rows[-1].unit != result.rows[0].unit
