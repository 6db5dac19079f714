"""The small .xlsx writer: what it writes is what Excel's readers (openpyxl, calamine) read back."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
import python_calamine
from openpyxl import load_workbook

from toolkit import xlsx


def _book() -> xlsx.Book:
    book = xlsx.Book()
    sheet = book.sheet("台账")
    sheet.rows = [
        (1, [(1, "投诉编号", xlsx.Style(bold=True, fill="DDEBF7")), (2, dt.date(2026, 11, 30), None),
             (3, '=HYPERLINK("http://evil.example")', None), (4, 3.5, None),
             (5, dt.datetime(2026, 1, 2, 12, 30), xlsx.Style(fill="FFC7CE")), (6, True, None)]),
        (4, [(2, " 两行\n文字\x07", xlsx.Style(wrap=True, vertical="top")), (28, 7, None)]),
    ]
    sheet.widths = {1: 20}
    sheet.heights = {2: 30, 4: 40, 9: 20}  # rows 2 and 9 have a height and no cell
    sheet.freeze = (2, 1)
    sheet.merged = ["A6:C6"]
    sheet.auto_filter = "A1:F4"
    sheet.links = [(4, 2, "'台账'!A1", "台账!A1")]
    sheet.comments = [xlsx.Comment(1, 1, "[错误] 编号重复", "complaint-toolkit", 320, 90),
                      xlsx.Comment(3, 2, "[警告] 空白单元格也可批注", "complaint-toolkit")]
    sheet.page = xlsx.PageSetup(paper=xlsx.A3, landscape=True, fit_to_page=True, footer_left="&A",
                                footer_right="第 &P 页，共 &N 页")
    sheet.print_title_rows = (1, 1)
    return book


def test_openpyxl_reads_back_every_feature(tmp_path) -> None:
    path = tmp_path / "t.xlsx"
    path.write_bytes(_book().to_bytes())
    ws = load_workbook(path)["台账"]
    assert ws["A1"].value == "投诉编号" and ws["A1"].font.b and ws["A1"].fill.fgColor.rgb.endswith("DDEBF7")
    assert ws["B1"].value == dt.datetime(2026, 11, 30) and ws["B1"].number_format == "yyyy-mm-dd"
    # text stays text: never a formula, and quoted so an edit in Excel keeps it text
    assert ws["C1"].data_type == "s" and ws["C1"].value.startswith("=HYPERLINK") and ws["C1"].quotePrefix
    assert ws["D1"].value == 3.5 and ws["F1"].value is True
    assert ws["E1"].value == dt.datetime(2026, 1, 2, 12, 30) and ws["E1"].number_format == "yyyy-mm-dd hh:mm"
    assert ws["E1"].fill.fgColor.rgb.endswith("FFC7CE")
    assert ws["B4"].value == " 两行\n文字" and ws["B4"].alignment.wrap_text  # control character dropped
    assert ws["AB4"].value == 7
    assert [ws.row_dimensions[r].height for r in (2, 4, 9)] == [30, 40, 20]
    assert ws.column_dimensions["A"].width == 20 and ws.freeze_panes == "A2"
    assert {str(r) for r in ws.merged_cells.ranges} == {"A6:C6"} and ws.auto_filter.ref == "A1:F4"
    assert ws["B4"].hyperlink.location == "'台账'!A1"
    assert ws["A1"].comment.text == "[错误] 编号重复" and ws["B3"].comment.text.startswith("[警告]")
    assert ws.print_title_rows == "$1:$1"
    setup = ws.page_setup
    assert (setup.paperSize, setup.orientation, setup.fitToWidth, setup.fitToHeight) == (8, "landscape", 1, 0)
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.oddFooter.left.text == "&A" and ws.oddFooter.right.text == "第 &P 页，共 &N 页"


def test_calamine_reads_back_the_values(tmp_path) -> None:
    path = tmp_path / "t.xlsx"
    path.write_bytes(_book().to_bytes())
    rows = python_calamine.load_workbook(str(path)).get_sheet_by_name("台账").to_python()
    assert rows[0][:4] == ["投诉编号", dt.date(2026, 11, 30), '=HYPERLINK("http://evil.example")', 3.5]
    assert rows[3][1] == " 两行\n文字" and rows[3][27] == 7


def test_same_input_same_bytes() -> None:
    assert _book().to_bytes() == _book().to_bytes()
    with zipfile.ZipFile(io.BytesIO(_book().to_bytes())) as archive:
        assert "xl/comments1.xml" in archive.namelist() and "xl/drawings/vmlDrawing1.vml" in archive.namelist()
        assert archive.testzip() is None


@pytest.mark.parametrize("name", ["", "a/b", "问题[1]", "x" * 32, "'quoted'"])
def test_sheet_names_excel_cannot_hold_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        xlsx.Book().sheet(name)


def test_a_taken_name_is_refused_whatever_its_case() -> None:
    book = xlsx.Book()
    book.sheet("Findings")
    with pytest.raises(ValueError):
        book.sheet("findings")
