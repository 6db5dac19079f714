"""Layouts of staff's own registers that were read silently wrong (QA of 2026-12-04): a field's
header under another field's group, a field headed twice, month sheets whose header the reader
cannot use, a register without a phone column, headers marked 必填. Fixtures are made by
tests/data/make_layout_fixtures.py (saved by LibreOffice)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from toolkit.config import Config, config_from_dict
from toolkit.register import read_register
from toolkit.validate import validate

TODAY = dt.date(2026, 11, 23)


def cfg(language: str = "zh", **sections: object) -> Config:
    return config_from_dict({"register": {"language": language}, **sections})


def test_the_owner_email_under_the_corrective_action_group_is_the_owners(data_dir: Path) -> None:
    # 负责人邮箱 alone is the handler's address; under 纠正预防措施 it is the action owner's.
    register = read_register(cfg(), data_dir / "lay-group-owner-email.xlsx")
    (info,) = register.sheets
    assert (info.columns["handler_email"], info.columns["capa_owner_email"]) == (8, 11)
    assert info.headers[11] == "纠正预防措施 负责人邮箱"
    first = register.records[0].values
    assert (first["handler_email"], first["capa_owner_email"]) == ("li.na@example.com", "zhao.min@example.com")
    assert not [f for f in validate(register, cfg(), TODAY).findings if f.field == "capa_owner_email"]


def test_a_field_headed_twice_is_said_with_the_column_read(data_dir: Path) -> None:
    register = read_register(cfg(), data_dir / "lay-group-owner-email.xlsx")
    assert register.records[0].values["status"] == "已结案"  # G, the first (here hidden) column
    assert register.sheets[0].repeated == {"status": [13]}
    (found,) = [f for f in validate(register, cfg(), TODAY).findings if f.code == "repeated-column"]
    assert (found.severity, found.sheet, found.field, found.row) == ("warning", "台账", "status", None)
    assert "（G、N 列）：只读取了 G 列，N 列未读取" in found.message
    (english,) = [f for f in validate(read_register(cfg("en"), data_dir / "lay-group-owner-email.xlsx"),
                                      cfg("en"), TODAY).findings if f.code == "repeated-column"]
    assert "columns G, N): only column G is read, column N is not" in english.message


def test_month_sheets_the_reader_cannot_use_are_said(data_dir: Path) -> None:
    register = read_register(cfg(), data_dir / "lay-sheet-not-read.xlsx")
    assert [s.name for s in register.sheets] == ["10月"] and len(register.records) == 2
    found = [f for f in validate(register, cfg(), TODAY).findings if f.code == "sheet-not-read"]
    assert [(f.sheet, f.severity) for f in found] == [("11月", "warning"), ("12月", "warning")]
    assert "其中的投诉没有计入检查、文件和统计" in found[0].message
    assert '[columns.complaint_id] aliases = ["投诉单号"]' in found[0].message
    assert "第 22 行像是表头，但表头只在每个工作表的前 20 行中查找" in found[1].message
    english = read_register(cfg("en"), data_dir / "lay-sheet-not-read.xlsx").unread
    assert english[1] == ("12月", None, 'Sheet "12月" looks like part of the register but was not read: its complaints '
                          "are not in the checks, the documents or the figures. Row 22 looks like its header, but "
                          "a header is looked for in the first 20 rows of a sheet only: delete the note rows above "
                          "it so that the header is within the first 20 rows.")
    # Once the alias is given, the sheet is read and nothing is said about it.
    fixed = cfg(columns={"complaint_id": {"aliases": ["投诉单号"]}})
    assert [s.name for s in read_register(fixed, data_dir / "lay-sheet-not-read.xlsx").sheets] == ["10月", "11月"]


def test_sheets_not_read_are_said_again_when_the_records_come_from_the_cache(data_dir: Path, tmp_path: Path) -> None:
    config = cfg(output={"dir": str(tmp_path / "out")})
    path = data_dir / "lay-sheet-not-read.xlsx"
    first = read_register(config, path, cache=True)
    read_register(config, path, cache=True)  # the second read of the same bytes saves them
    cached = read_register(config, path, cache=True)
    assert (tmp_path / "out" / "cache").is_dir()
    assert cached.unread == first.unread and len(first.unread) == 2
    cached_owner = read_register(config, data_dir / "lay-group-owner-email.xlsx", cache=True)
    read_register(config, data_dir / "lay-group-owner-email.xlsx", cache=True)
    assert read_register(config, data_dir / "lay-group-owner-email.xlsx", cache=True).sheets[0].repeated \
        == cached_owner.sheets[0].repeated == {"status": [13]}


def test_an_instructions_sheet_beside_the_month_sheets_is_not_said(data_dir: Path) -> None:
    register = read_register(cfg(), data_dir / "reg-libreoffice-monthly-sheets.xlsx")
    assert register.unread == []  # 填写说明 names a few headers in its text: not a register sheet


def _register(path: Path, headers: list[str], row: list[object]) -> Path:
    wb = openpyxl.Workbook()
    wb.active.append(headers)
    wb.active.append(row)
    wb.save(path)
    return path


HEADERS = ["投诉编号", "受理日期", "投诉渠道", "客户名称", "被投诉方", "投诉内容", "投诉类别", "投诉性质", "等级",
           "责任部门", "首问负责人", "处理状态"]
ROW = ["KS-1", dt.datetime(2026, 11, 2), "电话", "王芳", "五华店", "受潮", "产品质量", "有效投诉", "C", "质量部",
       "李强", "待处理"]


def test_a_register_without_a_phone_column_says_so_once_and_blames_the_email_cell(tmp_path: Path) -> None:
    path = _register(tmp_path / "r.xlsx", [*HEADERS, "客户邮箱"], [*ROW, None])
    report = validate(read_register(cfg(), path), cfg(), TODAY)
    (column,) = [f for f in report.findings if f.code == "missing-column" and f.field == "customer_phone"]
    assert column.severity == "warning"
    (row,) = [f for f in report.findings if f.row == 2]
    assert (row.cell, row.field) == ("Sheet!M2", "customer_email")
    assert row.message == "“客户邮箱”为空，且本表没有“联系电话”列：请填写客户邮箱，或添加“联系电话”列并填写电话，以便联系客户。"


def test_a_register_without_an_email_column_asks_for_the_phone(tmp_path: Path) -> None:
    path = _register(tmp_path / "r.xlsx", [*HEADERS, "联系电话"], [*ROW, None])
    (row,) = [f for f in validate(read_register(cfg(), path), cfg(), TODAY).findings if f.row == 2]
    assert (row.cell, row.message) == ("Sheet!M2", "“联系电话”为空：请填写客户的联系电话，以便联系客户。")


def test_headers_marked_required_or_optional_are_known(tmp_path: Path) -> None:
    headers = ["*投诉编号", "受理日期(必填)", "投诉渠道（必填）", "客户名称＊", "联系电话 (必填)", "备注（选填）"]
    path = _register(tmp_path / "r.xlsx", headers, ["KS-1", dt.datetime(2026, 11, 2), "电话", "王芳",
                                                    "13800138000", "x"])
    (info,) = read_register(cfg(), path).sheets
    assert list(info.columns) == ["complaint_id", "received_on", "channel", "customer_name", "customer_phone",
                                  "remarks"]


@pytest.mark.parametrize("name", ["reg-formula-errors.xlsx", "reg-formula-errors.ods", "reg-formula-errors.xls"])
def test_error_values_are_findings_not_blank_cells(data_dir: Path, name: str) -> None:
    # LibreOffice saved the failing formulas' results (#DIV/0!, #N/A, #REF!); calamine reads
    # each as a blank cell, which said "投诉编号为空" or nothing at all (赔付金额).
    register = read_register(cfg(), data_dir / name)
    bad = {r.row: r.bad for r in register.records}
    assert bad == {2: {"compensation": ("formula-error", "#DIV/0!")}, 3: {"department": ("formula-error", "#N/A")},
                   4: {"complaint_id": ("formula-error", "#REF!")}, 5: {"compensation": ("formula-error", "#N/A")},
                   6: {}}
    found = [(f.cell, f.code) for f in validate(register, cfg(), TODAY).findings if f.row is not None]
    assert found == [("台账!F2", "formula-error"), ("台账!E3", "formula-error"), ("台账!A4", "formula-error"),
                     ("台账!F5", "formula-error")]
    (first,) = [f for f in validate(register, cfg(), TODAY).findings if f.cell == "台账!F2"]
    assert first.message == "“赔付金额”显示错误值 #DIV/0!（公式出错，或粘贴了错误值）：请修正该单元格的公式，或直接填写正确的值。"


def test_an_error_pasted_as_a_value_is_found_and_text_that_reads_t_e_is_not() -> None:
    from toolkit.register.formats import formula_cells

    xml = (b'<worksheet><sheetData><row r="2"><c r="A2" t="inlineStr"><is><t>x t="e" y</t></is></c>'
           b'<c r="B2" t="e"><v>#N/A</v></c><c r="C2"><f>1+1</f><v>2</v></c><c r="D2"><f>E2</f></c></row>'
           b"</sheetData></worksheet>")
    assert formula_cells(xml) == {1: {1: "#N/A", 2: None, 3: "=E2"}}


def test_a_repeated_header_and_total_rows_are_said_not_counted(data_dir: Path) -> None:
    register = read_register(cfg(), data_dir / "lay-repeated-header.xlsx")
    assert [r.values["complaint_id"] for r in register.records] == ["RH-01", "RH-02", "RH-03", "RH-04"]
    assert [(row, text) for _, row, text in register.unread] == [
        (5, "第 5 行重复了表头，没有当作投诉读取。"),
        (8, "第 8 行（“合计”）是合计或签字行，没有当作投诉读取；如果它是一件投诉，请改正其投诉编号。"),
        (9, "第 9 行（“制表人：王芳”）是合计或签字行，没有当作投诉读取；如果它是一件投诉，请改正其投诉编号。")]
    report = validate(register, cfg(), TODAY)
    said = [(f.cell, f.code, f.severity) for f in report.findings if f.code == "row-not-read"]
    assert said == [("台账!A5", "row-not-read", "note"), ("台账!A8", "row-not-read", "note"),
                    ("台账!A9", "row-not-read", "note")]
    assert report.counts["error"] == 0 and report.rows == 4


def test_a_complaint_numbered_like_a_total_with_a_date_is_still_a_complaint(tmp_path: Path) -> None:
    path = _register(tmp_path / "r.xlsx", [*HEADERS, "联系电话"], ["合计 01", *ROW[1:], "13800138000"])
    register = read_register(cfg(), path)
    assert [r.values["complaint_id"] for r in register.records] == ["合计 01"] and register.unread == []


def test_full_width_phone_class_and_number_are_read_as_typed_in_half_width(tmp_path: Path) -> None:
    # Typed with a Chinese input method in full-width mode: the same phone, class and number.
    path = tmp_path / "r.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append([*HEADERS, "联系电话"])
    wb.active.append([*ROW, "１３９０１２４２４８６"])
    wb.active.append(["ＫＳ－１", *ROW[1:8], "ｃ", *ROW[9:], "139-0124-2487"])
    wb.save(path)
    register = read_register(cfg(), path)
    assert register.records[1].values["severity"] == "C"
    found = [(f.cell, f.code) for f in validate(register, cfg(), TODAY).findings if f.row is not None]
    assert found == [("Sheet!A3", "duplicate-id")]


def test_bare_serial_numbers_in_a_1904_workbook_count_from_1904(data_dir: Path) -> None:
    for name in ("lay-1904-dates.xlsx", "lay-1904-dates.ods", "lay-1904-dates.xls"):
        register = read_register(cfg(), data_dir / name)
        assert [r.values["received_on"] for r in register.records] == [dt.date(2026, 9, 1), dt.date(2026, 9, 2)], name


def test_the_daily_run_says_in_its_summary_which_sheets_it_did_not_read(data_dir: Path, tmp_path: Path) -> None:
    from toolkit.job import run_job

    out = tmp_path / "out"
    config = config_from_dict({"register": {"path": str(data_dir / "lay-sheet-not-read.xlsx")},
                               "output": {"dir": str(out)}, "documents": {"dir": str(out / "documents")},
                               "mail": {"transport": "outbox", "outbox_dir": str(out / "outbox")}})
    result = run_job(config, today=TODAY, now=dt.datetime(2026, 11, 23, 9, 0))
    text = result.to_text("zh")
    said = [n for n in result.notes if "看起来是台账的一部分，但没有读取" in n]
    assert [n[:8] for n in said] == ["工作表“11月”", "工作表“12月”"]
    assert all(n in text for n in said)


def test_a_landline_stored_as_a_number_says_its_leading_zero_was_dropped(tmp_path: Path) -> None:
    path = _register(tmp_path / "r.xlsx", [*HEADERS, "联系电话"], [*ROW, 871631256])
    (row,) = [f for f in validate(read_register(cfg(), path), cfg(), TODAY).findings if f.row == 2]
    assert (row.code, row.value) == ("bad-phone", "871631256")
    assert "看起来是开头的 0 丢失了的座机号" in row.message


def test_a_date_written_with_hao_for_the_day_is_read(tmp_path: Path) -> None:
    path = _register(tmp_path / "r.xlsx", HEADERS, ["KS-1", "2026年11月3号", *ROW[2:]])
    assert read_register(cfg(), path).records[0].values["received_on"] == dt.date(2026, 11, 3)


def test_the_report_and_the_dashboard_say_which_sheets_their_figures_leave_out(data_dir: Path, tmp_path: Path) -> None:
    from toolkit.report import compute_statistics
    from toolkit.report.dashboard import write_dashboard

    config = cfg(output={"dir": str(tmp_path / "out")})
    register = read_register(config, data_dir / "lay-sheet-not-read.xlsx")
    report = validate(register, config, TODAY)
    stats = compute_statistics(register, report, config, today=TODAY)
    assert stats.headline["received"] == 2
    said = [n for n in stats.notes if "看起来是台账的一部分，但没有读取" in n]
    assert len(said) == 2 and all(n in stats.to_text("zh") for n in said)
    page = write_dashboard(stats, config, tmp_path / "dashboard.html", today=TODAY, report=report,
                           register=register).read_text(encoding="utf-8")
    assert "工作表“11月”看起来是台账的一部分" in page and "工作表“12月”看起来是台账的一部分" in page


def test_a_damaged_file_is_explained_in_chinese_before_the_librarys_words(data_dir: Path) -> None:
    from toolkit.errors import RegisterError

    with pytest.raises(RegisterError) as info:
        read_register(cfg(), data_dir / "reg-truncated.xlsx")
    assert "已损坏或不完整（不是完整的 xlsx（zip）文件：File is not a zip file）" in str(info.value)
    with pytest.raises(RegisterError) as english:
        read_register(cfg("en"), data_dir / "reg-truncated.xlsx")
    assert "damaged or incomplete (File is not a zip file)" in str(english.value)
