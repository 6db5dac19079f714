"""Regenerate the layout and format fixtures (tests/data/lay-*.{xlsx,xls,ods,xlsb}).

    .venv/bin/python tests/data/make_layout_fixtures.py [--calamine-xlsb PATH]

The registers are built with openpyxl and then opened and saved by LibreOffice
(``soffice --convert-to xlsx/xls/ods``), so the tests read what an office program writes:

- ``lay-flat.xlsx``: a small register, one header row, one row per complaint.
- ``lay-two-row-header.{xlsx,xls,ods}``: the same complaints as staff get them from WPS / Tencent
  Docs: a title row, a "填表单位：… 日期：…" row, a two-row header (group cells over their
  columns, single headers merged down), one complaint over two rows (its 投诉编号 merged down,
  two lines of corrective action), 责任部门 merged down over three complaints.
- ``lay-group-subheaders.xlsx``: sub-headers that only mean something with their group
  (纠正预防措施 over 措施内容 / 负责人 / 完成期限), and a complaint whose two rows disagree on a
  date.
- ``lay-group-owner-email.xlsx``: 负责人邮箱 twice, under 处理 (the handler's) and under
  纠正预防措施 (the action owner's, which the group decides), and 处理状态 twice (an old column
  hidden, a new one at the end: which one is read must be said).
- ``lay-sheet-not-read.xlsx``: month sheets, one whose 投诉编号 header is typed 投诉单号 and
  one whose header sits below 21 note rows, beside one that reads: their complaints must not
  be left out unsaid.
- ``lay-repeated-header.xlsx``: the header row pasted again under the first half-year, a 合计 row
  with a SUM formula and a 制表人 / 审核 sign-off row: none of them a complaint.
- ``lay-1904-dates.{xlsx,ods,xls}``: a workbook counting dates from 1904 (Excel for Mac's old
  default), with one 受理日期 formatted as a date and one typed as a bare serial number.
- ``lay-merged.xlsb``: python-calamine's own test file ``tests/any_sheets.xlsb`` (MIT) with
  two merged ranges added to its first sheet (no program here writes .xlsb; the records are
  added by hand, as Excel writes them). Needs ``--calamine-xlsb`` naming that file.
- ``docs/two-row-header-register.png``: the README's picture of ``lay-two-row-header.xlsx``,
  rendered by LibreOffice to PDF and by pdftoppm to PNG (``--screenshot``).
- ``lay-bomb-sheet.xlsx`` (a 4 MB file whose sheet unpacks to 1.1 GB) and
  ``lay-bomb-cell.xlsx`` (1 MB, one 1.1 GB cell): hostile workbooks, written directly.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import shutil
import struct
import subprocess
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

HERE = Path(__file__).resolve().parent
LO_PROFILE = "file:///tmp/lo-layout-fixtures"

#: (header, group or "") in column order; a group spans its consecutive columns.
COLUMNS = [
    ("投诉编号", ""), ("受理日期", ""), ("投诉渠道", ""), ("客户名称", "客户信息"), ("联系电话", "客户信息"),
    ("被投诉方", ""), ("投诉内容", ""), ("投诉类别", ""), ("投诉性质", ""), ("等级", ""),
    ("责任部门", "处理"), ("首问负责人", "处理"), ("负责人邮箱", "处理"),
    ("纠正预防措施", "措施跟踪"), ("措施负责人", "措施跟踪"), ("措施完成期限", "措施跟踪"),
    ("处理状态", ""), ("结案日期", ""),
]
D = dt.date
#: The complaints; a list in a cell means one value per row of a complaint spanning rows.
COMPLAINTS = [
    ["KS-001", D(2026, 11, 2), "电话", "王芳", "13800138000", "五华店", "买到的烟受潮", "产品质量", "有效投诉", "B",
     "质量部", "李强", "liqiang@example.com", "加强仓储防潮检查", "赵敏", D(2026, 11, 30), "处理中", None],
    ["KS-002", D(2026, 11, 3), "12345 市民热线", "张伟", "0871-63125678", "配送中心", "配送迟到三天", "物流配送",
     "有效投诉", "A", "物流部", "周杰", "zhoujie@example.com", ["调整配送线路", "增加周末班次"], "孙涛",
     D(2026, 11, 28), "处理中", None],
    ["KS-003", D(2026, 11, 5), "微信", "刘洋", "13912345678", "盘龙店", "店员态度差", "服务态度", "有效投诉", "C",
     "客服部", "陈静", "chenjing@example.com", None, None, None, "待处理", None],
    ["KS-004", D(2026, 11, 6), "来访", "黄磊", "1391234", "盘龙店", "价格标签不符", "计费收费", "有效投诉", "C",
     "客服部", "陈静", "chenjing@example.com", None, None, None, "待处理", None],
    ["KS-005", D(2026, 11, 9), "媒体", "吴娜", "13712345678", "官渠店", "积分未到账", "其他", "咨询型", "C",
     "客服部", "陈静", "chenjing@example.com", None, None, None, "处理中", None],
    ["KS-006", "2026-13-01", "网站", "徐丽", "13612345678", "官渠店", "网页下单失败", "信息安全", "有效投诉", "B",
     "市场部", None, None, None, None, None, "待处理", None],
    ["KS-002", D(2026, 11, 10), "电话", "马军", "13512345678", "五华店", "重复登记的编号", "其他", "求助型", "C",
     "销售部", "林勇", "linyong@example.com", None, None, None, "待处理", None],
]
#: Rows of the two-row layout where 责任部门 is merged down over several complaints.
SAME_AS_ABOVE = (2, 4)  # complaints KS-003 .. KS-005 (0-based indexes into COMPLAINTS)


def convert(source: Path, target: Path) -> None:
    """Open ``source`` in LibreOffice and save it as ``target`` (format from its suffix)."""
    out = source.parent / "out"
    subprocess.run(["soffice", f"-env:UserInstallation={LO_PROFILE}", "--headless", "--convert-to",
                    target.suffix[1:], "--outdir", str(out), str(source)],
                   check=True, capture_output=True, timeout=180)
    shutil.copyfile(out / (source.stem + target.suffix), target)


def flat(path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "台账"
    ws.append([header for header, _ in COLUMNS])
    for complaint in COMPLAINTS:
        ws.append(["\n".join(v) if isinstance(v, list) else v for v in complaint])
    wb.save(path)


def two_row(path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "台账"
    last = len(COLUMNS)
    ws.cell(1, 1, "示例烟草零售有限公司 客户投诉登记台账（WPS 导出）").font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=last)
    ws.cell(2, 1, "填表单位：客服部")
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=6)
    ws.cell(2, last - 2, "日期：2026-11-20")
    ws.merge_cells(start_row=2, start_column=last - 2, end_row=2, end_column=last)
    col = 1
    while col <= last:
        header, group = COLUMNS[col - 1]
        if not group:
            ws.cell(3, col, header)
            ws.merge_cells(start_row=3, start_column=col, end_row=4, end_column=col)
            col += 1
            continue
        end = col
        while end < last and COLUMNS[end][1] == group:
            end += 1
        ws.cell(3, col, group)
        ws.merge_cells(start_row=3, start_column=col, end_row=3, end_column=end)
        for c in range(col, end + 1):
            ws.cell(4, c, COLUMNS[c - 1][0])
        col = end + 1
    for row in (3, 4):
        for c in range(1, last + 1):
            ws.cell(row, c).alignment = Alignment(horizontal="center", vertical="center")
    row = 5
    dept_col = [h for h, _ in COLUMNS].index("责任部门") + 1
    first_of_group = None
    for index, complaint in enumerate(COMPLAINTS):
        height = max(len(v) if isinstance(v, list) else 1 for v in complaint)
        for c, value in enumerate(complaint, start=1):
            if isinstance(value, list):
                for k, line in enumerate(value):
                    ws.cell(row + k, c, line)
                continue
            if c == dept_col and SAME_AS_ABOVE[0] < index <= SAME_AS_ABOVE[1]:
                continue  # merged from the first complaint of the group below
            ws.cell(row, c, value)
            if height > 1:
                ws.merge_cells(start_row=row, start_column=c, end_row=row + height - 1, end_column=c)
        if index == SAME_AS_ABOVE[0]:
            first_of_group = row
        if index == SAME_AS_ABOVE[1]:
            ws.merge_cells(start_row=first_of_group, start_column=dept_col, end_row=row, end_column=dept_col)
        row += height
    wb.save(path)


def _two_row_heads(ws: Any, heads: list[tuple[str, str]]) -> None:
    """(header, group) in column order: a grouped header on row 2 (its group cell is the
    caller's), a single one on row 1 merged down over row 2."""
    for c, (header, group) in enumerate(heads, start=1):
        if group:
            ws.cell(2, c, header)
        else:
            ws.cell(1, c, header)
            ws.merge_cells(start_row=1, start_column=c, end_row=2, end_column=c)


def group_subheaders(path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "登记"
    heads = [("投诉编号", ""), ("受理日期", ""), ("客户名称", ""), ("联系电话", ""), ("投诉内容", ""),
             ("措施内容", "纠正预防措施"), ("负责人", "纠正预防措施"), ("完成期限", "纠正预防措施"), ("赔付金额", "")]
    _two_row_heads(ws, heads)
    ws.cell(1, 6, "纠正预防措施")
    ws.merge_cells("F1:H1")
    rows = [
        ["GS-01", D(2026, 11, 2), "王芳", "13800138000", "烟盒破损", "更换包装供应商", "赵敏", D(2026, 11, 30), 50],
        ["GS-02", D(2026, 11, 3), "张伟", "13912345678", "配送迟到", "调整线路", "孙涛", D(2026, 11, 28), 20],
        [None, D(2026, 11, 4), None, "13912345678", "客户再次来电", "增加班次", None, None, 30],
    ]
    for r, values in enumerate(rows, start=3):
        for c, value in enumerate(values, start=1):
            if value is not None:
                ws.cell(r, c, value)
    for c in (1, 3):  # 投诉编号 and 客户名称 merged over GS-02's two rows
        ws.merge_cells(start_row=4, start_column=c, end_row=5, end_column=c)
    wb.save(path)


def group_owner_email(path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "台账"
    heads = [("投诉编号", ""), ("受理日期", ""), ("投诉渠道", ""), ("客户名称", ""), ("联系电话", ""),
             ("投诉内容", ""), ("处理状态", ""), ("首问负责人", "处理"), ("负责人邮箱", "处理"),
             ("措施内容", "纠正预防措施"), ("负责人", "纠正预防措施"), ("负责人邮箱", "纠正预防措施"),
             ("完成期限", "纠正预防措施"), ("处理状态", "")]
    _two_row_heads(ws, heads)
    ws.cell(1, 8, "处理")
    ws.merge_cells("H1:I1")
    ws.cell(1, 10, "纠正预防措施")
    ws.merge_cells("J1:M1")
    ws.column_dimensions["G"].hidden = True  # the old status column, hidden, as staff leave it
    rows = [
        ["GE-01", D(2026, 11, 2), "电话", "王芳", "13800138000", "烟盒破损", "已结案", "李娜", "li.na@example.com",
         "更换包装供应商", "赵敏", "zhao.min@example.com", D(2026, 11, 30), "处理中"],
        ["GE-02", D(2026, 11, 3), "电话", "张伟", "13912345678", "配送迟到", "已结案", "李娜", "li.na@example.com",
         None, None, None, None, "待处理"],
    ]
    for r, values in enumerate(rows, start=3):
        for c, value in enumerate(values, start=1):
            if value is not None:
                ws.cell(r, c, value)
    wb.save(path)


def sheet_not_read(path: Path) -> None:
    wb = Workbook()
    head = [header for header, _ in COLUMNS]
    for title, first, notes in (("10月", "投诉编号", 0), ("11月", "投诉单号", 0), ("12月", "投诉编号", 21)):
        ws = wb.active if title == "10月" else wb.create_sheet(title)
        ws.title = title
        for n in range(notes):
            ws.append([f"填表说明 {n + 1}：请按受理顺序逐行登记"])
        ws.append([first, *head[1:]])
        for complaint in (COMPLAINTS[0], COMPLAINTS[2]):
            ws.append([f"{title}-{complaint[0]}", *complaint[1:len(head)]])
    wb.save(path)


def repeated_header(path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "台账"
    head = ["投诉编号", "受理日期", "投诉渠道", "客户名称", "联系电话", "被投诉方", "投诉内容", "投诉类别", "投诉性质",
            "等级", "责任部门", "首问负责人", "处理状态", "赔付金额"]
    ws.append(head)

    def complaint(n: int) -> list[object]:
        return [f"RH-0{n}", D(2026, 11, n), "电话", "王芳", "13800138000", "五华店", "受潮", "产品质量", "有效投诉",
                "C", "质量部", "李强", "待处理", 10 * n]
    ws.append(complaint(1))
    ws.append(complaint(2))
    ws.append([])
    ws.append(head)
    ws.append(complaint(3))
    ws.append(complaint(4))
    ws.append(["合计", *[None] * 12, "=SUM(N2:N7)"])
    ws.append(["制表人：王芳", None, None, "审核：李明"])
    wb.save(path)


def dates_1904(path: Path) -> None:
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    wb = Workbook()
    wb.epoch = CALENDAR_MAC_1904
    ws = wb.active
    ws.title = "台账"
    ws.append(["投诉编号", "受理日期", "客户名称", "联系电话", "处理状态"])
    ws.append(["MD-01", D(2026, 9, 1), "王芳", "13800138000", "待处理"])
    ws.append(["MD-02", 44805, "张伟", "13800138001", "待处理"])  # 2026-09-02 counted from 1904
    ws["B3"].number_format = "General"
    wb.save(path)


def _record(kind: int, data: bytes) -> bytes:
    """An .xlsb record: its type and size as 7-bit varints, then its data."""
    head = bytearray()
    for value, most in ((kind, 2), (len(data), 4)):
        for _ in range(most):
            byte = value & 0x7F
            value >>= 7
            head.append(byte | (0x80 if value else 0))
            if not value:
                break
    return bytes(head) + data


def xlsb_with_merges(source: Path, target: Path) -> None:
    """Add BrtBeginMergeCells / BrtMergeCell x2 / BrtEndMergeCells after the first sheet's data."""
    merges = [(0, 1, 0, 0), (2, 2, 0, 1)]  # rwFirst, rwLast, colFirst, colLast: A1:A2, A3:B3
    block = _record(177, struct.pack("<I", len(merges)))
    block += b"".join(_record(176, struct.pack("<4I", *m)) for m in merges) + _record(178, b"")
    end_sheet_data = _record(146, b"")
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.bin":
                at = data.rindex(end_sheet_data) + len(end_sheet_data)
                data = data[:at] + block + data[at:]
            dst.writestr(item, data)


def _bomb(path: Path, size: int, chunk: Callable[[], bytes], head: bytes, tail: bytes) -> None:
    """A minimal .xlsx whose sheet is ``head``, ``chunk()`` until ``size`` bytes, ``tail``; deflated."""
    parts = {
        "[Content_Types].xml": b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.'
        b'openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/'
        b'vnd.openxmlformats-package.relationships+xml"/><Override PartName="/xl/workbook.xml" ContentType="'
        b'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/'
        b'xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml'
        b'.worksheet+xml"/></Types>',
        "_rels/.rels": b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxml'
        b'formats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats'
        b'.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": b'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxml'
        b'formats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://'
        b'schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
        b'openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        b'</Relationships>',
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(head)
            written = 0
            while written < size:
                written += sheet.write(chunk())
            sheet.write(tail)


def bombs() -> None:
    head = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
            b'spreadsheetml/2006/main"><sheetData>')
    rng = random.Random(10)

    def sheet_chunk() -> bytes:
        # Rows that are mostly the same with a few different values: deflate packs them about
        # 275:1, so 1.1 GB of sheet fits in 4 MB.
        return b"".join(b'<row><c t="n"><v>%d</v></c></row>' % (rng.randrange(1000) if rng.random() < 0.012 else 1)
                        for _ in range(3000))

    _bomb(HERE / "lay-bomb-sheet.xlsx", 1_100_000_000, sheet_chunk, head, b"</sheetData></worksheet>")
    cell_head = head + b'<row><c t="inlineStr"><is><t>'
    block = b"A" * 1_000_000
    _bomb(HERE / "lay-bomb-cell.xlsx", 1_100_000_000, lambda: block, cell_head,
          b"</t></is></c></row></sheetData></worksheet>")


def screenshot(target: Path) -> None:
    """Render the two-row-header register as the README's picture: one landscape page, gridlines."""
    from openpyxl import load_workbook

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        wb = load_workbook(HERE / "lay-two-row-header.xlsx")
        ws = wb.active
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 1
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_options.gridLines = True
        for letter, width in zip("ABCDEFGHIJKLMNOPQR", (9, 10, 13, 7, 13, 8, 13, 8, 8, 5, 7, 9, 22, 15, 9, 11, 7, 9),
                                 strict=True):
            ws.column_dimensions[letter].width = width
        for row in ws.iter_rows(min_row=5):
            for cell in row:
                cell.alignment = Alignment(wrap_text=True, vertical="center")
        wb.save(work / "shot.xlsx")
        convert(work / "shot.xlsx", work / "shot.pdf")
        # Crop to the printed words (pdftotext -bbox, in points) plus a margin.
        boxes = subprocess.run(["pdftotext", "-bbox", str(work / "shot.pdf"), "-"], check=True,
                               capture_output=True, text=True, timeout=120).stdout
        found = [tuple(map(float, m)) for m in re.findall(
            r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)"', boxes)]
        dpi, margin = 150, 14
        x0 = min(b[0] for b in found) - margin
        y0 = min(b[1] for b in found) - margin
        x1 = max(b[2] for b in found) + margin
        y1 = max(b[3] for b in found) + margin
        scale = dpi / 72
        subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-singlefile", "-x", str(int(x0 * scale)),
                        "-y", str(int(y0 * scale)), "-W", str(int((x1 - x0) * scale)),
                        "-H", str(int((y1 - y0) * scale)), str(work / "shot.pdf"), str(work / "shot")],
                       check=True, capture_output=True, timeout=120)
        shutil.copyfile(work / "shot.png", target)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calamine-xlsb", type=Path, help="python-calamine's tests/any_sheets.xlsb")
    parser.add_argument("--screenshot", action="store_true", help="only render docs/two-row-header-register.png")
    args = parser.parse_args()
    if args.screenshot:
        screenshot(HERE.parent.parent / "docs" / "two-row-header-register.png")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        flat(work / "lay-flat.xlsx")
        convert(work / "lay-flat.xlsx", HERE / "lay-flat.xlsx")
        two_row(work / "lay-two-row-header.xlsx")
        for suffix in (".xlsx", ".xls", ".ods"):
            convert(work / "lay-two-row-header.xlsx", HERE / f"lay-two-row-header{suffix}")
        group_subheaders(work / "lay-group-subheaders.xlsx")
        convert(work / "lay-group-subheaders.xlsx", HERE / "lay-group-subheaders.xlsx")
        group_owner_email(work / "lay-group-owner-email.xlsx")
        convert(work / "lay-group-owner-email.xlsx", HERE / "lay-group-owner-email.xlsx")
        sheet_not_read(work / "lay-sheet-not-read.xlsx")
        convert(work / "lay-sheet-not-read.xlsx", HERE / "lay-sheet-not-read.xlsx")
        repeated_header(work / "lay-repeated-header.xlsx")
        convert(work / "lay-repeated-header.xlsx", HERE / "lay-repeated-header.xlsx")
        dates_1904(work / "lay-1904-dates.xlsx")
        for suffix in (".xlsx", ".ods", ".xls"):
            convert(work / "lay-1904-dates.xlsx", HERE / f"lay-1904-dates{suffix}")
    if args.calamine_xlsb:
        xlsb_with_merges(args.calamine_xlsb, HERE / "lay-merged.xlsb")
    bombs()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
