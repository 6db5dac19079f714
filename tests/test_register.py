"""Reading the register: real .xlsx files (several saved by LibreOffice), every value form staff
type, every kind of bad input. Fixtures are made by tests/data/make_register_fixtures.py."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import threading
from pathlib import Path

import openpyxl
import pytest
import python_calamine

from toolkit.config import Config, config_from_dict
from toolkit.errors import RegisterError
from toolkit.register import (
    ValueParseError,
    clean_text,
    formula_cells,
    list_value_table,
    parse_date,
    parse_number,
    read_register,
    read_stable_bytes,
)
from toolkit.register import formats as register_module
from toolkit.validate import validate

TODAY = dt.date(2026, 11, 23)


def cfg(**register: object) -> Config:
    """A config with ``[register]`` keys set (and the full-width product alias some tests need)."""
    return config_from_dict({"register": register,
                             "columns": {"product": {"aliases": ["产品(服务)"]}}})


def by_id(register):
    return {r.complaint_id: r for r in register.records}


# -- parse_date ---------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    (dt.date(2026, 3, 5), dt.date(2026, 3, 5)),
    (dt.datetime(2026, 3, 5, 9, 30), dt.datetime(2026, 3, 5, 9, 30)),
    (dt.datetime(2026, 3, 5), dt.date(2026, 3, 5)),
    (46086.0, dt.date(2026, 3, 5)),
    (46086, dt.date(2026, 3, 5)),
    (46086.5, dt.datetime(2026, 3, 5, 12, 0)),
    ("2026-03-05", dt.date(2026, 3, 5)),
    ("2026/3/5", dt.date(2026, 3, 5)),
    ("2026.3.5", dt.date(2026, 3, 5)),
    ("2026年3月5日", dt.date(2026, 3, 5)),
    ("2026 年 3 月 5 日", dt.date(2026, 3, 5)),
    (" 2026-3-5 ", dt.date(2026, 3, 5)),
    ("２０２６－０３－０５", dt.date(2026, 3, 5)),
    ("20260305", dt.date(2026, 3, 5)),
    (20260305.0, dt.date(2026, 3, 5)),
    ("2026-1-1 1:01", dt.datetime(2026, 1, 1, 1, 1)),
    ("2026-01-01T13:05:09", dt.datetime(2026, 1, 1, 13, 5, 9)),
    ("2026-01-01 00:00:00", dt.date(2026, 1, 1)),
    ("2026/1/1 1:01 上午", dt.datetime(2026, 1, 1, 1, 1)),
    ("2026/1/1 1:01 PM", dt.datetime(2026, 1, 1, 13, 1)),
    ("2026/1/1 下午3:30", dt.datetime(2026, 1, 1, 15, 30)),
    ("2026/1/1 12:00 AM", dt.date(2026, 1, 1)),
    ("25/12/2026", dt.date(2026, 12, 25)),  # only one reading is a date
    ("12/25/2026", dt.date(2026, 12, 25)),
    ("5/5/2026", dt.date(2026, 5, 5)),  # reads the same both ways
])
def test_parse_date_accepts_what_staff_type(raw, expected):
    result = parse_date(raw)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(("raw", "order", "expected"), [
    ("3/5/2026", "mdy", dt.date(2026, 3, 5)),
    ("3/5/2026", "dmy", dt.date(2026, 5, 3)),
    ("3-5-2026 8:15", "dmy", dt.datetime(2026, 5, 3, 8, 15)),
    ("3.5.2026", "mdy", dt.date(2026, 3, 5)),
])
def test_parse_date_uses_the_configured_order(raw, order, expected):
    assert parse_date(raw, order) == expected


@pytest.mark.parametrize(("raw", "code"), [
    ("3/5/2026", "ambiguous-date"),
    ("03-05-2026", "ambiguous-date"),
    ("下周一", "bad-date"),
    ("2026-02-30", "bad-date"),
    ("2026-13-01", "bad-date"),
    ("2026年3月", "bad-date"),
    ("3月5日", "bad-date"),
    ("20/1/1", "bad-date"),
    ("2026-1-1 25:00", "bad-date"),
    ("2026/1/1 13:00 PM", "bad-date"),
    (12345.0, "bad-date"),  # a serial far outside 1950-2099
    (99999.0, "bad-date"),
    (float("nan"), "bad-date"),
    (True, "bad-date"),
    (dt.time(9, 30), "bad-date"),
    (dt.timedelta(days=1), "bad-date"),
    ("", "bad-date"),
])
def test_parse_date_rejects_with_a_code(raw, code):
    with pytest.raises(ValueParseError) as info:
        parse_date(raw)
    assert info.value.code == code
    assert info.value.raw is raw


def test_parse_date_on_the_real_text_dates_file(realfiles):
    """x12 (easyexcel): one instant typed as text in many forms, beside the real date."""
    wb = python_calamine.load_workbook(realfiles / "x12_zh_dates_stored_as_text.xlsx")
    rows = wb.get_sheet_by_name("Sheet1").to_python()
    real = rows[1][0]
    assert real == dt.datetime(2020, 1, 1, 1, 1, 1)
    results: dict[str, object] = {}
    for row in rows[1:]:
        text = row[1]
        try:
            results[text] = parse_date(text)
        except ValueParseError as exc:
            results[text] = exc.code
    assert results["2020-1-1 1:01"] == dt.datetime(2020, 1, 1, 1, 1)
    assert results["2020/1/1"] == dt.date(2020, 1, 1)
    assert results["2020年1月1日"] == dt.date(2020, 1, 1)
    assert results["2020/1/1 1:01 上午"] == dt.datetime(2020, 1, 1, 1, 1)
    # Forms with no year, no day or a two-digit year are not dates we can trust.
    assert results["2020年1月"] == "bad-date"
    assert results["1月1日"] == "bad-date"
    assert results["20/1/1"] == "bad-date"
    assert results["01:01.0"] == "bad-date"
    # Its numbers typed as text read as numbers; a percentage is not an amount.
    texts = {row[5] for row in rows[1:]}
    parsed = {}
    for text in texts:
        try:
            parsed[text] = parse_number(text)
        except ValueParseError as exc:
            parsed[text] = exc.code
    assert parsed["￥1.11"] == 1.11
    assert parsed["¥1"] == 1
    assert parsed["$1.1111"] == 1.1111
    assert parsed["1,111.11"] == 1111.11
    assert parsed["111.11%"] == "bad-number"


# -- parse_number / clean_text / list values -------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("1,200", 1200.0), ("￥1.11", 1.11), ("¥ 50", 50.0), ("1.5", 1.5), ("200元", 200.0), (" 30 ", 30.0),
    ("-50", -50.0), ("１２０", 120.0), ("RMB 88", 88.0), (200.0, 200.0), (12.5, 12.5), (7, 7.0), (".5", 0.5),
])
def test_parse_number(raw, expected):
    result = parse_number(raw)
    assert result == expected
    assert type(result) is float


@pytest.mark.parametrize("raw", ["一百", "1,2,3", "12a", "", "111.11%", True, dt.date(2026, 1, 1),
                                 float("inf"), "1.2.3"])
def test_parse_number_rejects(raw):
    with pytest.raises(ValueParseError) as info:
        parse_number(raw)
    assert info.value.code == "bad-number"


@pytest.mark.parametrize(("raw", "expected"), [
    ("  TS001 ", "TS001"), ("\u3000", None), (" \t\n", None), ("", None), (None, None),
    (1001.0, "1001"), (12.5, "12.5"), (13800138000.0, "13800138000"), (7, "7"), (True, "TRUE"),
    (dt.date(2026, 3, 5), "2026-03-05"), (dt.datetime(2026, 3, 5, 9, 30), "2026-03-05 09:30:00"),
    (dt.datetime(2026, 3, 5), "2026-03-05"),
])
def test_clean_text(raw, expected):
    assert clean_text(raw) == expected


def test_clean_text_on_the_whitespace_file(realfiles):
    """x24 (calamine's own test file): spaces, tabs, CR/LF-only cells, inline and shared strings."""
    wb = python_calamine.load_workbook(realfiles / "x24_whitespace_inlinestr_cjk.xlsx")
    for sheet in ("inlineStr", "SharedStrings"):
        rows = wb.get_sheet_by_name(sheet).to_python()
        cleaned = [[clean_text(v) for v in row] for row in rows]
        assert cleaned[0][2] is None  # " \t\n": white space only is blank
        assert cleaned[1][1] == "line1\nline2"  # inner line break kept, ends trimmed
        assert cleaned[2][0] == "日期 时间"
        assert all(v is None or v == v.strip() for row in cleaned for v in row)


def test_list_value_table_accepts_english_only_in_english():
    assert list_value_table("status", "en")["closed"] == "已结案"
    assert "closed" not in list_value_table("status", "zh")
    assert list_value_table("severity", "zh")["a"] == "A"
    assert list_value_table("department", "zh", ["QA"])["qa"] == "QA"


# -- values read from a real file -----------------------------------------------------------


def test_value_forms_read_as_typed(data_dir):
    register = read_register(cfg(), data_dir / "reg-value-forms.xlsx")
    rec = by_id(register)
    march5 = dt.date(2026, 3, 5)
    for cid in ("V01", "V03", "V04", "V06", "V07", "V08", "V09", "V15"):
        assert rec[cid].values["received_on"] == march5, cid
        assert type(rec[cid].values["received_on"]) is dt.date, cid
    assert rec["V02"].values["received_on"] == dt.datetime(2026, 3, 5, 9, 30)
    assert rec["V05"].values["received_on"] == dt.datetime(2026, 3, 5, 12, 0)
    assert rec["V10"].values["received_on"] == dt.datetime(2026, 1, 1, 1, 1)
    assert rec["V17"].values["received_on"] == dt.date(2026, 12, 25)
    assert rec["V11"].bad == {"received_on": ("ambiguous-date", "3/5/2026")}
    assert rec["V12"].bad == {"received_on": ("bad-date", "下周一")}
    assert rec["V13"].bad == {"received_on": ("bad-date", "2026-02-30")}
    assert rec["V14"].bad == {"received_on": ("bad-date", 12345.0)}
    for cid in ("V11", "V12", "V13", "V14"):
        assert rec[cid].values["received_on"] is None
    assert rec["V16"].values["received_on"] is None and rec["V16"].bad == {}
    # phones
    assert rec["V01"].values["customer_phone"] == "13800138000"
    assert rec["V02"].values["customer_phone"] == "138-0013-8000"
    assert rec["V03"].values["customer_phone"] == "+86 138 0013 8000"
    # numbers
    assert [rec[c].values["compensation"] for c in ("V01", "V02", "V03", "V04", "V06", "V07")] == \
        [1200, 1.11, 1.5, 200, 12.5, 200]
    assert rec["V05"].values["compensation"] is None
    assert rec["V05"].bad == {"compensation": ("bad-number", "一百")}
    # ids typed as numbers
    assert rec["1001"].values["complaint_id"] == "1001"
    assert rec["12.5"].values["complaint_id"] == "12.5"
    # lists: stripped, case folded; English stays English in a Chinese register
    assert rec["V01"].values["channel"] == "电话"
    assert rec["V01"].values["severity"] == "A"
    assert rec["V02"].values["channel"] == "Phone"
    assert rec["V01"].values["status"] == "Closed"
    assert rec["V05"].values["channel"] == "12315"
    assert rec["V06"].values["channel"] == "12315"  # typed as a number
    # blanks
    assert rec["V01"].values["special"] is None
    assert rec["V01"].values["remarks"] is None
    assert rec["V02"].values["remarks"] is None  # a full-width space only
    assert "customer_phone" in rec["V04"].values and rec["V04"].values["customer_phone"] is None
    # unknown columns, with and without a header
    assert rec["V01"].extra == {"来源": "门店"}
    assert rec["V02"].extra == {"J": "无表头的值"}
    info = register.sheets[0]
    assert info.headers[9:] == ["", "来源"]
    # the white-space-only row is blank: not a record
    assert info.rows == len(register.records) == 19
    assert [r.row for r in register.records] == list(range(2, 21))


def test_english_list_values_map_to_canonical_in_english(data_dir):
    register = read_register(cfg(language="en"), data_dir / "reg-value-forms.xlsx")
    rec = by_id(register)
    assert rec["V02"].values["channel"] == "电话"
    assert rec["V03"].values["channel"] == "电子邮件"
    assert rec["V01"].values["status"] == "已结案"
    assert rec["V02"].values["special"] == "媒体"
    assert rec["V03"].values["special"] == "否"


def test_date_order_from_config(data_dir):
    rec = by_id(read_register(cfg(date_order="dmy"), data_dir / "reg-value-forms.xlsx"))
    assert rec["V11"].values["received_on"] == dt.date(2026, 5, 3)
    assert rec["V11"].bad == {}


# -- header row, sheets, offsets --------------------------------------------------------------


def test_libreoffice_merged_title_header_variants_hidden_and_blank_rows(data_dir):
    register = read_register(cfg(), data_dir / "reg-libreoffice-merged-title.xlsx")
    (info,) = register.sheets
    assert info.name == "投诉台账"
    assert info.header_row == 2
    assert info.columns == {
        "complaint_id": 0, "received_on": 1, "channel": 2, "customer_name": 3, "customer_phone": 4,
        "product": 5, "customer_email": 6, "severity": 7, "status": 8, "remarks": 9, "special": 11,
    }
    assert info.headers[1] == "受理\n日期"
    assert info.headers[10] == "内部编码"
    assert [r.row for r in register.records] == [3, 4, 6, 8]  # 5 and 7 blank; 6 hidden, still data
    assert info.rows == 4
    rec = by_id(register)
    assert rec["TS001"].values["customer_phone"] == "13800138000"
    assert rec["TS002"].values["received_on"] == dt.datetime(2026, 10, 9, 14, 30)
    assert rec["TS003"].values["special"] == "否"
    assert rec["TS004"].values["received_on"] == dt.date(2026, 10, 12)
    assert rec["TS004"].values["channel"] == "电话"
    assert rec["TS004"].values["severity"] == "B"
    assert rec["TS004"].values["remarks"] is None
    assert rec["TS001"].extra == {"内部编码": "K001"}
    assert register.cell(rec["TS003"], "customer_phone") == "投诉台账!E6"


def test_full_width_header_needs_its_alias(data_dir):
    """产品（服务） is not the default header 产品/服务; an alias in half-width matches it."""
    register = read_register(Config(), data_dir / "reg-libreoffice-merged-title.xlsx")
    assert "product" not in register.sheets[0].columns
    assert register.records[0].extra["产品（服务）"] == "中华（软）"


def test_libreoffice_monthly_sheets_formulas_and_instructions(data_dir):
    register = read_register(cfg(), data_dir / "reg-libreoffice-monthly-sheets.xlsx")
    assert [s.name for s in register.sheets] == ["2026年10月", "2026年11月"]  # 填写说明 skipped
    assert [s.rows for s in register.sheets] == [3, 2]
    assert [(r.sheet, r.row) for r in register.records] == [
        ("2026年10月", 3), ("2026年10月", 4), ("2026年10月", 5), ("2026年11月", 3), ("2026年11月", 4)]
    rec = by_id(register)
    # compensation is a formula; LibreOffice saved its values
    assert [rec[c].values["compensation"] for c in rec] == [50, 10.5, 0, 100, 90]
    assert all(r.bad == {} for r in register.records)
    assert rec["TS202610002"].values["received_on"] == dt.date(2026, 10, 9)
    assert rec["TS202610002"].values["closed_on"] == dt.date(2026, 10, 15)
    assert rec["TS202610003"].values["received_on"] == dt.datetime(2026, 10, 20, 9, 30)
    assert rec["TS202611002"].values["received_on"] == dt.date(2026, 11, 4)  # a serial number
    assert rec["TS202610001"].values["customer_phone"] == "13800138000"
    assert rec["TS202610003"].values["channel"] == "12315"


def test_configured_sheets_only(data_dir):
    register = read_register(cfg(sheets=["2026年11月"]), data_dir / "reg-libreoffice-monthly-sheets.xlsx")
    assert [s.name for s in register.sheets] == ["2026年11月"]
    assert {r.sheet for r in register.records} == {"2026年11月"}


def test_configured_sheet_that_does_not_exist(data_dir):
    path = data_dir / "reg-libreoffice-monthly-sheets.xlsx"
    with pytest.raises(RegisterError) as info:
        read_register(cfg(sheets=["2026年12月"], language="en"), path)
    assert str(info.value) == (
        f'the register {path} has no sheet named "2026年12月" (see [register].sheets in config.toml). '
        'Its sheets: "填写说明", "2026年10月", "2026年11月".')


def test_configured_sheet_without_header(data_dir):
    with pytest.raises(RegisterError, match="“填写说明”"):
        read_register(cfg(sheets=["填写说明"]), data_dir / "reg-libreoffice-monthly-sheets.xlsx")


def test_data_starting_at_b3_keeps_excel_positions(data_dir):
    register = read_register(cfg(), data_dir / "reg-offset-b3.xlsx")
    (info,) = register.sheets
    assert info.header_row == 3
    assert info.columns["complaint_id"] == 1
    assert info.column_letter("complaint_id") == "B"
    assert info.headers[0] == ""
    assert [r.row for r in register.records] == [4, 5]
    assert register.cell(register.records[1], "compensation") == "台账!E5"
    assert register.records[0].values["compensation"] == 50


def test_chart_sheet_is_skipped(data_dir):
    register = read_register(cfg(), data_dir / "reg-chart-sheet.xlsx")
    assert [s.name for s in register.sheets] == ["台账"]
    with pytest.raises(RegisterError, match="not a worksheet"):
        read_register(cfg(sheets=["图表"], language="en"), data_dir / "reg-chart-sheet.xlsx")


def test_header_found_below_rows_that_mention_few_fields(tmp_path):
    """A notes row naming one field is not the header; the row naming most fields is."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["台账说明：投诉编号必须唯一"])
    ws.append(["投诉编号", "客户名称"])  # too few fields to be the header
    ws.append(["投诉编号", "受理日期", "客户名称", "处理状态"])
    ws.append(["TS1", "2026-11-02", "张三", "处理中"])
    path = tmp_path / "r.xlsx"
    wb.save(path)
    register = read_register(cfg(), path)
    assert register.sheets[0].header_row == 3
    assert register.records[0].values["status"] == "处理中"


def test_header_beyond_row_20_is_not_found(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    for _ in range(20):
        ws.append(["说明"])
    ws.append(["投诉编号", "受理日期", "客户名称"])
    path = tmp_path / "r.xlsx"
    wb.save(path)
    with pytest.raises(RegisterError, match="first 20 rows"):
        read_register(cfg(language="en"), path)


def test_config_alias_maps_a_custom_header(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["投诉编号", "受理日期", "手机号"])
    ws.append(["TS1", "2026-11-02", 13800138000])
    path = tmp_path / "r.xlsx"
    wb.save(path)
    config = config_from_dict({"columns": {"customer_phone": {"aliases": ["手机号"]}}})
    register = read_register(config, path)
    assert register.records[0].values["customer_phone"] == "13800138000"


def test_header_only_sheet_gives_no_records(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["投诉编号", "受理日期", "客户名称"])
    path = tmp_path / "r.xlsx"
    wb.save(path)
    register = read_register(cfg(), path)
    assert register.records == [] and register.sheets[0].rows == 0


def test_many_trailing_empty_rows_cost_nothing(tmp_path):
    """Styled but empty cells far below the data (as LibreOffice and Excel leave them)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["投诉编号", "受理日期", "客户名称"])
    ws.append(["TS1", "2026-11-02", "张三"])
    ws["C5000"].number_format = "@"
    ws["C5000"] = ""
    path = tmp_path / "r.xlsx"
    wb.save(path)
    register = read_register(cfg(), path)
    assert [r.row for r in register.records] == [2]


# -- formulas ---------------------------------------------------------------------------------


def test_formula_without_cached_value_is_bad_not_a_crash(data_dir):
    register = read_register(cfg(), data_dir / "reg-formula-no-value.xlsx")
    rec = by_id(register)
    assert rec["TS001"].values["compensation"] is None
    assert rec["TS001"].bad == {"compensation": ("formula-no-value", "=D2*E2")}
    assert rec["TS002"].bad == {}
    assert rec["TS003"].bad == {"received_on": ("formula-no-value", "=TODAY()"),
                                "compensation": ("formula-no-value", "=D4*E4")}
    # row 5 holds only a formula filled down: not a complaint
    assert [r.row for r in register.records] == [2, 3, 4]


def test_large_files_scan_formulas_in_a_worker_process_with_the_same_result(data_dir, monkeypatch):
    path = data_dir / "reg-formula-no-value.xlsx"
    inline = read_register(cfg(), path)
    # Pretend the file is large, so the scan runs in the second process as for a 100k-row register.
    monkeypatch.setattr(register_module, "PARALLEL_SCAN_BYTES", 0)
    monkeypatch.setattr(register_module.os, "cpu_count", lambda: 2)
    results = []
    original = register_module.FormulaScan.result

    def spy(self):
        results.append(original(self))
        return results[-1]

    monkeypatch.setattr(register_module.FormulaScan, "result", spy)
    parallel = read_register(cfg(), path)
    assert results and results[0] is not None and results[0]["台账"]  # the worker's answer was used
    assert parallel.records == inline.records
    assert by_id(parallel)["TS003"].bad["received_on"] == ("formula-no-value", "=TODAY()")


def test_a_failed_worker_scan_is_done_again_here_on_the_same_bytes(data_dir, monkeypatch, tmp_path):
    path = tmp_path / "r.xlsx"
    shutil.copyfile(data_dir / "reg-formula-no-value.xlsx", path)
    monkeypatch.setattr(register_module, "PARALLEL_SCAN_BYTES", 0)
    monkeypatch.setattr(register_module.os, "cpu_count", lambda: 2)

    def broken(data):
        raise OSError("worker died")

    monkeypatch.setattr(register_module, "scan_formulas", broken)  # in the (forked) worker only
    register = read_register(cfg(), path)
    assert by_id(register)["TS003"].bad["received_on"] == ("formula-no-value", "=TODAY()")


def test_formula_cells_from_sheet_xml():
    xml = (b'<worksheet><sheetData><row r="2">'
           b'<c r="A2"><f>SUM(B2:C2)</f><v>3</v></c>'
           b'<c r="B2"><f>IF(C2&gt;1,&quot;x&quot;,"")</f><v></v></c>'
           b'<c r="C2" t="str"><f>""</f><v></v></c>'
           b'<c r="D2"><f t="shared" ref="D2:D3" si="0">A2*2</f></c></row>'
           b'<row r="3"><c r="D3"><f t="shared" si="0"/></c><c r="AB3"><f>1+1</f><v/></c></row>'
           b'</sheetData><conditionalFormatting><cfRule><formula>A1</formula></cfRule>'
           b'</conditionalFormatting></worksheet>')
    assert formula_cells(xml) == {
        1: {0: None, 1: '=IF(C2>1,"x","")', 2: None, 3: "=A2*2"},
        2: {3: "=A2*2", 27: "=1+1"},
    }
    assert formula_cells(b"<worksheet><sheetData/></worksheet>") == {}


# -- whole-file properties --------------------------------------------------------------------


def test_register_hash_size_and_path(data_dir, tmp_path):
    source = data_dir / "reg-offset-b3.xlsx"
    config = cfg(path=str(source))
    register = read_register(config)  # path from config
    data = source.read_bytes()
    assert register.sha256 == hashlib.sha256(data).hexdigest()
    assert register.size == len(data)
    assert register.path == str(source)
    assert register.notes == []


@pytest.mark.parametrize("lock_name", ["~$register.xlsx", "~$gister.xlsx", ".~lock.register.xlsx#"])
def test_lock_file_beside_it_is_a_note(data_dir, tmp_path, lock_name):
    path = tmp_path / "register.xlsx"
    shutil.copyfile(data_dir / "reg-offset-b3.xlsx", path)
    (tmp_path / lock_name).write_bytes(b"\x00" * 165)
    register = read_register(cfg(language="en"), path)
    assert register.notes == [
        f"the register is open in Excel/WPS (lock file {lock_name} found): the last saved version "
        "was read; unsaved changes are not included."]
    zh = read_register(cfg(), path)
    assert zh.notes[0].startswith("台账正在被 Excel/WPS 打开")
    assert len(zh.records) == 2


def test_register_is_never_written(data_dir, tmp_path):
    path = tmp_path / "r.xlsx"
    shutil.copyfile(data_dir / "reg-libreoffice-monthly-sheets.xlsx", path)
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    read_register(cfg(), path)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.xlsx"]


# -- reading a file that changes or is locked ------------------------------------------------


def test_file_saved_while_reading_is_read_again(data_dir, tmp_path):
    path = tmp_path / "r.xlsx"
    shutil.copyfile(data_dir / "reg-offset-b3.xlsx", path)
    final = (data_dir / "reg-chart-sheet.xlsx").read_bytes()
    calls = []

    def read_while_staff_save(p: Path) -> bytes:
        data = p.read_bytes()
        calls.append(1)
        if len(calls) == 1:
            p.write_bytes(final)  # staff press Save while we read
        return data

    assert read_stable_bytes(path, read=read_while_staff_save) == final
    assert len(calls) == 2


def test_file_that_keeps_changing(data_dir, tmp_path):
    path = tmp_path / "r.xlsx"
    shutil.copyfile(data_dir / "reg-offset-b3.xlsx", path)

    def read_while_always_saving(p: Path) -> bytes:
        data = p.read_bytes()
        p.write_bytes(data + b"\x00")
        return data

    with pytest.raises(RegisterError) as info:
        read_stable_bytes(path, "en", read=read_while_always_saving)
    assert str(info.value) == (f"the register {path} kept changing while it was read (someone is "
                               "saving it). Try again when staff have saved it.")


def test_locked_file_is_retried_then_reported(data_dir, tmp_path):
    path = tmp_path / "r.xlsx"
    shutil.copyfile(data_dir / "reg-offset-b3.xlsx", path)
    attempts = []

    def locked_twice(p: Path) -> bytes:
        attempts.append(1)
        if len(attempts) <= 2:
            raise PermissionError(13, "Permission denied")  # what Windows says for a locked share
        return p.read_bytes()

    assert read_stable_bytes(path, read=locked_twice) == path.read_bytes()

    def always_locked(p: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    with pytest.raises(RegisterError, match="locked or not readable") as info:
        read_stable_bytes(path, "en", read=always_locked)
    assert str(path) in str(info.value)


def test_file_replaced_by_a_save_while_read(data_dir, tmp_path):
    """Excel saves by writing a new file and renaming it over the old one."""
    path = tmp_path / "r.xlsx"
    shutil.copyfile(data_dir / "reg-offset-b3.xlsx", path)
    other = tmp_path / "new.xlsx"
    shutil.copyfile(data_dir / "reg-chart-sheet.xlsx", other)
    done = threading.Event()

    def read_then_replace(p: Path) -> bytes:
        data = p.read_bytes()
        if not done.is_set():
            done.set()
            other.replace(p)
        return data

    assert read_stable_bytes(path, read=read_then_replace) == (data_dir / "reg-chart-sheet.xlsx").read_bytes()


# -- bad input ----------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "nope.xlsx"
    with pytest.raises(RegisterError) as info:
        read_register(cfg(language="en"), path)
    assert str(info.value) == (f"register file {path} does not exist. Check [register].path in "
                               "config.toml or the --register path.")
    with pytest.raises(RegisterError, match="找不到台账文件"):
        read_register(cfg(), path)


def test_directory(tmp_path):
    with pytest.raises(RegisterError, match="is a folder"):
        read_register(cfg(language="en"), tmp_path)


def test_empty_file(tmp_path):
    path = tmp_path / "r.xlsx"
    path.write_bytes(b"")
    with pytest.raises(RegisterError, match=r"empty file \(0 bytes\)"):
        read_register(cfg(language="en"), path)


@pytest.mark.parametrize(("name", "expected"), [
    ("reg-encrypted.xlsx", "password-protected and cannot be read. Remove the password in Excel: "
                           "File > Info > Protect Workbook"),
    ("reg-csv-renamed.xlsx", "is a text file (CSV or similar)"),
    ("reg-docx-renamed.xlsx", "is a Word document"),
    ("reg-truncated.xlsx", "is damaged or incomplete"),
    ("reg-empty-workbook.xlsx", "contains no data"),
    ("reg-no-header.xlsx", "no header row found"),
])
def test_bad_input_is_a_clear_error(data_dir, name, expected):
    path = data_dir / name
    with pytest.raises(RegisterError) as info:
        read_register(cfg(language="en"), path)
    message = str(info.value)
    assert expected in message
    assert str(path) in message


def test_no_header_lists_searched_sheets_and_expected_headers(data_dir):
    path = data_dir / "reg-no-header.xlsx"
    with pytest.raises(RegisterError) as info:
        read_register(cfg(), path)
    message = str(info.value)
    assert "已查找的工作表：“说明”、“客户”" in message
    assert "“投诉编号”" in message and "“受理日期”" in message
    with pytest.raises(RegisterError) as info:
        read_register(cfg(language="en"), path)
    assert '"Complaint No."' in str(info.value) and '"Date Received"' in str(info.value)


def test_binary_junk_is_not_excel(tmp_path):
    path = tmp_path / "r.xlsx"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(RegisterError, match=r"is not a spreadsheet \(\.xlsx, \.xlsm, \.xls, \.xlsb and \.ods"):
        read_register(cfg(language="en"), path)


def test_zip_that_is_not_a_workbook(tmp_path):
    import zipfile

    path = tmp_path / "r.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(RegisterError, match=r"is not a spreadsheet \(\.xlsx, \.xlsm, \.xls, \.xlsb and \.ods"):
        read_register(cfg(language="en"), path)


def test_damaged_sheet_inside_a_good_zip(data_dir, tmp_path):
    import zipfile

    path = tmp_path / "r.xlsx"
    with zipfile.ZipFile(data_dir / "reg-offset-b3.xlsx") as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]  # cut mid-element
            dst.writestr(item, data)
    with pytest.raises(RegisterError):
        read_register(cfg(language="en"), path)


@pytest.mark.parametrize("name", ["x24_whitespace_inlinestr_cjk.xlsx", "x20_libreoffice41_formulas_numfmts.xlsx"])
def test_real_files_without_a_register_header(realfiles, name):
    path = realfiles / name
    with pytest.raises(RegisterError) as info:
        read_register(cfg(language="en"), path)
    assert str(info.value).startswith(f"no header row found in the register {path}. Sheets searched:")


# -- layouts staff get from WPS / Tencent Docs (tests/data/make_layout_fixtures.py) -------------


def test_two_row_header_block_title_and_meta_rows(data_dir):
    register = read_register(cfg(), data_dir / "lay-two-row-header.xlsx")
    (info,) = register.sheets
    assert (info.header_top, info.header_row) == (3, 4)  # title row 1 and 填表单位 row 2 left alone
    flat = read_register(cfg(), data_dir / "lay-flat.xlsx").sheets[0]
    assert info.columns == flat.columns
    assert info.headers[3:5] == ["客户名称", "联系电话"]  # under the group cell 客户信息
    assert [r.complaint_id for r in register.records] == ["KS-001", "KS-002", "KS-003", "KS-004", "KS-005",
                                                          "KS-006", "KS-002"]
    assert info.rows == 7 and info.spanning == 1


def test_records_spanning_rows_are_one_complaint_with_joined_text(data_dir):
    register = read_register(cfg(), data_dir / "lay-two-row-header.xlsx")
    record = by_id(register)["KS-002"]  # the first KS-002 (by_id keeps the last: look it up)
    record = next(r for r in register.records if r.complaint_id == "KS-002")
    assert (record.row, record.last_row) == (6, 7)
    # Two lines of corrective action in two rows: two actions (documents split on line breaks).
    assert record.values["corrective_action"] == "调整配送线路\n增加周末班次"
    assert record.values["capa_owner"] == "孙涛" and record.values["status"] == "处理中"
    assert record.values["received_on"] == dt.date(2026, 11, 3)
    assert not record.bad


def test_value_merged_down_over_several_complaints_belongs_to_each(data_dir):
    config = config_from_dict({"lists": {"departments": ["质量部", "物流部", "市场部", "销售部"]}})
    register = read_register(config, data_dir / "lay-two-row-header.xlsx")
    ids = by_id(register)
    assert [ids[k].values["department"] for k in ("KS-003", "KS-004", "KS-005")] == ["客服部"] * 3
    report = validate(register, config, TODAY)
    cells = [f.cell for f in report.findings if f.code == "not-in-list" and f.field == "department"]
    # Each complaint's finding points at the one cell that holds the value: K8, top of the merge.
    assert cells == ["台账!K8", "台账!K8", "台账!K8"]
    assert [f.row for f in report.findings if f.code == "not-in-list"] == [8, 9, 10]


@pytest.mark.parametrize("suffix", [".xls", ".ods", ".xlsm"])
def test_every_format_gives_the_same_findings_and_cells(data_dir, suffix, tmp_path):
    config = cfg()
    expected = validate(read_register(config, data_dir / "lay-two-row-header.xlsx"), config, TODAY).to_dict()
    source = data_dir / f"lay-two-row-header{suffix}"
    if suffix == ".xlsm":  # the same package under a macro workbook's name (its parts are the same)
        source = tmp_path / "台账.xlsm"
        shutil.copyfile(data_dir / "lay-two-row-header.xlsx", source)
    got = validate(read_register(config, source), config, TODAY).to_dict()
    assert got["findings"] == expected["findings"] and got["counts"] == expected["counts"]
    assert any(f["code"] == "bad-date" and f["cell"] == "台账!B11" for f in got["findings"])


def test_a_real_xls_is_read_whatever_its_name(data_dir):
    register = read_register(cfg(), data_dir / "reg-old-xls-renamed.xlsx")
    assert [r.complaint_id for r in register.records] == ["TS001", "TS002"]
    assert register.records[0].values["compensation"] == 50.0  # a float, as from .xlsx


def test_wps_et_is_read_as_xls_or_refused_with_save_as(data_dir, tmp_path):
    et = tmp_path / "台账.et"
    shutil.copyfile(data_dir / "lay-two-row-header.xls", et)
    assert len(read_register(cfg(), et).records) == 7
    junk = tmp_path / "junk.et"
    junk.write_bytes(b"\x01\x02WPS" + bytes(range(256)) * 4)
    with pytest.raises(RegisterError, match=r"WPS Spreadsheets' own format \(\.et\).*save it as"):
        read_register(cfg(language="en"), junk)


def test_group_and_sub_header_joined_and_conflicting_values(data_dir):
    register = read_register(cfg(), data_dir / "lay-group-subheaders.xlsx")
    (info,) = register.sheets
    assert info.columns["corrective_action"] == 5 and info.columns["capa_owner"] == 6
    assert info.headers[5:8] == ["纠正预防措施 措施内容", "纠正预防措施 负责人", "纠正预防措施 完成期限"]
    record = by_id(register)["GS-02"]
    assert record.values["corrective_action"] == "调整线路\n增加班次"
    assert record.values["customer_phone"] == "13912345678"  # the same value twice is one value
    assert record.values["received_on"] is None  # never a silent pick
    report = validate(register, cfg(), TODAY)
    conflicts = [f for f in report.findings if f.code == "conflicting-values"]
    assert [(f.cell, f.field, f.row) for f in conflicts] == [("登记!B4", "received_on", 4), ("登记!I4", "compensation", 4)]
    assert "登记!B4 为“2026-11-03”、登记!B5 为“2026-11-04”" in conflicts[0].message
    assert conflicts[0].value == "2026-11-03 / 2026-11-04"
    assert not [f for f in report.findings if f.code == "missing-required" and f.field == "received_on"]


def test_alias_matches_the_group_and_sub_header_joined(tmp_path, data_dir):
    config = config_from_dict({"columns": {"remarks": {"aliases": ["纠正预防措施完成期限"]}}})
    info = read_register(config, data_dir / "lay-group-subheaders.xlsx").sheets[0]
    assert info.columns["remarks"] == 7 and "capa_due" not in info.columns


def test_the_real_wps_file_is_refused_honestly(realfiles):
    path = realfiles / "x10_zh_two_row_merged_header_wps.xlsx"
    with pytest.raises(RegisterError) as info:
        read_register(cfg(), path)
    message = str(info.value)
    assert "看起来最像表头的是工作表“项目支付情况”第 2 行" in message
    assert '[columns.complaint_id] aliases = ["项目编号"]' in message


def test_the_real_wps_file_header_block_and_merged_records(realfiles):
    config = config_from_dict({"columns": {
        "complaint_id": {"aliases": ["项目编号"]}, "customer_name": {"aliases": ["项目名称"]},
        "received_on": {"aliases": ["合同开始日期"]}, "handler": {"aliases": ["负责人"]},
        "compensation": {"aliases": ["付款金额"]}, "closed_on": {"aliases": ["付款日期"]}}})
    register = read_register(config, realfiles / "x10_zh_two_row_merged_header_wps.xlsx")
    (info,) = register.sheets
    assert (info.header_top, info.header_row, info.rows, info.spanning) == (1, 2, 2, 2)
    first, second = register.records
    assert (first.row, first.last_row, second.row, second.last_row) == (3, 4, 5, 6)
    assert first.values["closed_on"] == dt.date(2021, 10, 3)  # only row 3 has a payment date
    assert first.extra["项目信息 合同金额"] == 136260.0  # an unknown column, under its group
    report = validate(register, config, TODAY)
    conflicts = [(f.cell, f.field) for f in report.findings if f.code == "conflicting-values"]
    # One-to-many payment sub-rows are not one value: said, never summed or picked.
    assert conflicts == [("项目支付情况!Q3", "compensation"), ("项目支付情况!P5", "closed_on"),
                         ("项目支付情况!Q5", "compensation")]


def test_xlsb_is_read_and_its_merges_found(data_dir):
    import zipfile

    from toolkit.register.formats import xlsb_merges

    with zipfile.ZipFile(data_dir / "lay-merged.xlsb") as archive:
        assert xlsb_merges(archive) == {"Visible": [((0, 0), (1, 0)), ((2, 0), (2, 1))]}
    with pytest.raises(RegisterError) as info:  # calamine's test sheets hold no register
        read_register(cfg(language="en"), data_dir / "lay-merged.xlsb")
    assert 'Sheets searched: "Visible", "Hidden", "VeryHidden"' in str(info.value)


def test_ods_merges_found_from_content_xml(data_dir):
    import zipfile

    from toolkit.register.formats import ods_merges

    with zipfile.ZipFile(data_dir / "lay-two-row-header.ods") as archive:
        merges = ods_merges(archive)["台账"]
    assert ((0, 0), (0, 17)) in merges and ((5, 0), (6, 0)) in merges and ((7, 10), (9, 10)) in merges


def test_header_row_merged_down_alone_is_still_found(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["投诉编号", "受理日期", "客户名称"])
    ws.append([None, None, None])
    ws.merge_cells("A1:A2")
    ws.merge_cells("B1:B2")
    ws.merge_cells("C1:C2")
    ws.append(["K1", dt.date(2026, 11, 2), "王"])
    path = tmp_path / "r.xlsx"
    wb.save(path)
    register = read_register(cfg(), path)
    assert register.sheets[0].header_row == 2  # the block's second row is never data
    assert [r.row for r in register.records] == [3]


def test_three_row_header_block(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    for col, header in enumerate(("投诉编号", "受理日期", "客户名称"), start=1):
        ws.cell(1, col, header)
        ws.merge_cells(start_row=1, start_column=col, end_row=3, end_column=col)
    ws["D1"] = "处理情况"
    ws.merge_cells("D1:G1")
    ws["D2"] = "处理结果"
    ws.merge_cells("D2:D3")
    ws["E2"] = "纠正预防措施"
    ws.merge_cells("E2:G2")
    for col, header in zip("EFG", ("措施内容", "负责人", "完成期限"), strict=True):
        ws[f"{col}3"] = header
    ws.append(["K1", dt.date(2026, 11, 2), "王", "已调换", "加强巡查", "赵敏", dt.date(2026, 11, 30)])
    path = tmp_path / "r.xlsx"
    wb.save(path)
    register = read_register(cfg(), path)
    (info,) = register.sheets
    assert (info.header_top, info.header_row) == (1, 3)
    assert info.columns == {"complaint_id": 0, "received_on": 1, "customer_name": 2, "resolution": 3,
                            "corrective_action": 4, "capa_owner": 5, "capa_due": 6}
    (record,) = register.records
    assert record.row == 4 and record.values["capa_owner"] == "赵敏"


def test_a_header_cell_merged_into_the_first_data_row_does_not_eat_it(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["投诉编号", "受理日期", "客户名称", "备注"])
    ws.append(["K1", dt.date(2026, 11, 2), "王", None])
    ws.merge_cells("D1:D2")  # a slip: the 备注 header merged over the first complaint's cell
    ws.append(["K2", dt.date(2026, 11, 3), "李", "x"])
    path = tmp_path / "r.xlsx"
    wb.save(path)
    register = read_register(cfg(), path)
    assert [r.complaint_id for r in register.records] == ["K1", "K2"]


# -- hostile workbooks ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["lay-bomb-sheet.xlsx", "lay-bomb-cell.xlsx"])
def test_zip_bombs_are_refused_at_once_in_little_memory(data_dir, name, tmp_path):
    import resource
    import subprocess
    import sys
    import time

    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "toolkit", "validate", "--register", str(data_dir / name)],
                            capture_output=True, text=True, cwd=tmp_path, timeout=120)
    seconds = time.perf_counter() - start
    assert result.returncode == 2, result.stderr
    assert "解压后有 1,049" in result.stderr and "[limits] unpacked_mb" in result.stderr
    assert "Traceback" not in result.stderr
    assert seconds < 10
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < 600 * 1024  # KiB


@pytest.mark.parametrize(("name", "ratio"), [("lay-bomb-sheet.xlsx", "2"), ("lay-bomb-cell.xlsx", "10")])
def test_zip_bomb_ratio_limit(data_dir, name, ratio):
    config = config_from_dict({"register": {"language": "en"}, "limits": {"unpacked_mb": 4096}})
    with pytest.raises(RegisterError) as info:
        read_register(config, data_dir / name)
    message = str(info.value)
    assert f"is packed {ratio}" in message and "[limits] compression_ratio" in message
    assert "zip bomb" in message


def test_limits_in_config_are_checked():
    from toolkit.errors import ConfigError

    with pytest.raises(ConfigError, match=r"\[limits\]\.compression_ratio is 0; it must be more than 0"):
        config_from_dict({"register": {"language": "en"}, "limits": {"compression_ratio": 0}})


# -- lists and aliases from config ----------------------------------------------------------


@pytest.mark.parametrize("alias", ["", "   ", "\u3000"])
def test_blank_alias_is_a_config_error(alias):
    from toolkit.errors import ConfigError

    with pytest.raises(ConfigError, match=r"\[columns\.complaint_id\]\.aliases\[1\] is a blank alias"):
        config_from_dict({"register": {"language": "en"}, "columns": {"complaint_id": {"aliases": ["单号", alias]}}})


def test_synonyms_read_as_the_value_they_mean(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["投诉编号", "受理日期", "处理状态", "客户满意度", "投诉渠道"])
    ws.append(["K1", dt.date(2026, 11, 2), "已办结", "非常满意", "抖音"])
    path = tmp_path / "r.xlsx"
    wb.save(path)
    config = config_from_dict({"lists": {"synonyms": {"已办结": "已结案", "非常满意": "满意"},
                                         "channels": ["电话", "抖音"]}})
    (record,) = read_register(config, path).records
    assert (record.values["status"], record.values["satisfaction"]) == ("已结案", "满意")
    report = validate(read_register(config, path), config, TODAY)
    assert not [f for f in report.findings if f.code == "not-in-list"]
    plain = validate(read_register(Config(), path), Config(), TODAY)
    assert {f.field for f in plain.findings if f.code == "not-in-list"} == {"status", "satisfaction", "channel"}


def test_synonym_must_point_to_a_list_value():
    from toolkit.errors import ConfigError

    with pytest.raises(ConfigError, match=r'\[lists.synonyms\]\."已办结" points to "已完结"'):
        config_from_dict({"register": {"language": "en"}, "lists": {"synonyms": {"已办结": "已完结"}}})


def test_two_row_complaint_gets_a_capa_sheet_with_two_actions(data_dir, tmp_path):
    """The issue's acceptance: the complaint spread over two rows is one CAPA sheet, one action a line."""
    import subprocess
    import sys

    import docx

    (tmp_path / "config.toml").write_text(
        f'[register]\npath = "{data_dir / "lay-two-row-header.xlsx"}"\n[output]\ndir = "out"\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "toolkit", "generate", "--only", "KS-002", "--today", "2026-11-23"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stderr
    (sheet,) = (tmp_path / "out").rglob("KS-002_纠正预防措施单.docx")
    rows = [[c.text for c in row.cells] for table in docx.Document(sheet).tables for row in table.rows]
    assert ["1", "纠正", "调整配送线路", "孙涛", "2026年11月28日"] in rows
    assert ["2", "纠正", "增加周末班次", "孙涛", "2026年11月28日"] in rows


def test_parts_too_large_together(tmp_path, data_dir):
    import zipfile

    path = tmp_path / "r.xlsx"
    with zipfile.ZipFile(data_dir / "reg-offset-b3.xlsx") as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        for n in range(3):  # three parts of 0.6 MB each: none too big alone; over 1 MB by the second
            dst.writestr(f"xl/media/pad{n}.bin", b"\0" * 600_000)
    config = config_from_dict({"register": {"language": "en"}, "limits": {"unpacked_mb": 1}})
    with pytest.raises(RegisterError, match=r"parts of the register .* unpack to 1\.2 MB together, over the limit"):
        read_register(config, path)
