"""Regenerate the register-reading fixtures (tests/data/reg-*.xlsx).

    /work/venv/bin/python tests/data/make_register_fixtures.py [--crypt-python PATH]

The files are committed; run this only to change them. Two registers are saved by LibreOffice
(built with openpyxl, then converted by ``soffice --convert-to xlsx``) so the tests meet what
LibreOffice really writes. ``reg-encrypted.xlsx`` needs msoffcrypto-tool, which is not a
project dependency: pass ``--crypt-python`` naming a Python that has it (e.g. a throwaway
venv); without it that file is left as it is.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import docx
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference

HERE = Path(__file__).resolve().parent
LO_PROFILE = "file:///tmp/lo-register-fixtures"


def save_via_libreoffice(wb: Workbook, target: Path) -> None:
    """Save ``wb`` with openpyxl, then let LibreOffice open and re-save it as ``target``."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / target.name
        wb.save(source)
        out = Path(tmp) / "out"
        subprocess.run(["soffice", f"-env:UserInstallation={LO_PROFILE}", "--headless",
                        "--convert-to", "xlsx", "--outdir", str(out), str(source)],
                       check=True, capture_output=True, timeout=180)
        shutil.copyfile(out / target.name, target)


def merged_title() -> None:
    """Merged title row, header variants, hidden and blank rows (saved by LibreOffice)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "投诉台账"
    ws["A1"] = "示例烟草零售有限公司 客户投诉登记台账"
    ws.merge_cells("A1:L1")
    ws.append(["Complaint No.", "受理\n日期", " 投诉渠道 ", "客户名称", "联系电话", "产品（服务）",
               "CUSTOMER EMAIL", "等级", "处理状态", "备注", "内部编码", "特殊客诉"])
    rows = [
        ["TS001", dt.date(2026, 10, 8), "电话", "张三", 13800138000, "中华（软）", "a@example.com", "A",
         "处理中", None, "K001", None],
        ["TS002", dt.datetime(2026, 10, 9, 14, 30), "来访", "李四", "0571-88886666", "玉溪（硬）", None, "B",
         "已结案", "客户已签字确认", "K002", "媒体"],
        None,  # row 5: blank
        ["TS003", dt.date(2026, 10, 10), "信函", "王五", "138 0013 8001", "云烟（紫）", None, "C",
         "待处理", None, "K003", "否"],  # row 6: hidden
        None,  # row 7: blank
        ["  TS004  ", "2026/10/12", " 电话 ", "赵六", 13900139000, "会员积分服务", None, "b",
         "待回访", "\u3000", None, None],
    ]
    for row in rows:
        ws.append(row or [])
    ws.row_dimensions[6].hidden = True
    ws.column_dimensions["B"].width = 14
    save_via_libreoffice(wb, HERE / "reg-libreoffice-merged-title.xlsx")


MONTH_HEADER = ["投诉编号", "受理日期", "投诉渠道", "客户名称", "联系电话", "投诉内容", "等级",
                "单价", "数量", "赔付金额", "处理状态", "结案日期"]


def monthly_sheets() -> None:
    """One sheet per month plus an instructions sheet; a formula column (saved by LibreOffice)."""
    wb = Workbook()
    notes = wb.active
    notes.title = "填写说明"
    notes.append(["填写说明"])
    notes.append(["1. 每月一个工作表，表头不要修改。"])
    notes.append(["2. 受理日期请填写日期，例如 2026-10-08。"])
    months = {
        "2026年10月": [
            ["TS202610001", dt.date(2026, 10, 8), "电话", "张三", 13800138000, "烟支破损", "A", 25, 2,
             "已结案", "2026-10-12"],
            ["TS202610002", "2026年10月9日", "网站", "李四", 13900139001, "配送超时", "C", 10.5, 1,
             "已结案", "2026.10.15"],
            ["TS202610003", "2026/10/20 9:30", "12315", "王五", "021-66668888", "价格不符", "B", 0, 0,
             "处理中", None],
        ],
        "2026年11月": [
            ["TS202611001", dt.date(2026, 11, 2), "来访", "赵六", 13600136000, "服务态度差", "B", 100, 1,
             "待回访", None],
            ["TS202611002", 46330, "信函", "钱七", 13700137000, "商品过期", "A", 30, 3, "待处理", None],
        ],
    }
    for name, rows in months.items():
        ws = wb.create_sheet(name)
        ws["A1"] = f"{name} 投诉登记台账"
        ws.merge_cells("A1:L1")
        ws.append(MONTH_HEADER)
        for excel_row, row in enumerate(rows, start=3):
            ws.append([*row[:9], f"=H{excel_row}*I{excel_row}", *row[9:]])
    save_via_libreoffice(wb, HERE / "reg-libreoffice-monthly-sheets.xlsx")


def formula_no_value() -> None:
    """Formulas written by openpyxl: no cached value until an office program recalculates."""
    wb = Workbook()
    ws = wb.active
    ws.title = "台账"
    ws.append(["投诉编号", "受理日期", "客户名称", "单价", "数量", "赔付金额", "处理状态"])
    ws.append(["TS001", dt.date(2026, 11, 2), "张三", 10, 2, "=D2*E2", "处理中"])
    ws.append(["TS002", dt.date(2026, 11, 3), "李四", 5, 1, 5, "待处理"])
    ws.append(["TS003", "=TODAY()", "王五", 1, 1, "=D4*E4", "待处理"])
    ws.append([None, None, None, None, None, "=D5*E5", None])  # formula filled down: not data
    wb.save(HERE / "reg-formula-no-value.xlsx")


def formula_errors() -> None:
    """Error values (saved by LibreOffice, which works them out): formulas that fail, and an
    error pasted as a value; calamine reads each as a blank cell. Also as an .ods."""
    wb = Workbook()
    ws = wb.active
    ws.title = "台账"
    ws.append(["投诉编号", "受理日期", "客户名称", "联系电话", "责任部门", "赔付金额", "处理状态"])
    ws.append(["TE001", dt.date(2026, 11, 2), "张三", "13800138000", "质量部", "=1/0", "处理中"])
    ws.append(["TE002", dt.date(2026, 11, 3), "李四", "13800138001", "=NA()", 5, "待处理"])
    ws.append(['=INDIRECT("ZZZ0")', dt.date(2026, 11, 4), "王五", "13800138002", "质量部", 0, "待处理"])
    ws.append(["TE004", dt.date(2026, 11, 5), "赵六", "13800138003", "质量部", "#N/A", "待处理"])  # pasted
    ws["F5"].data_type = "e"
    ws.append(["TE005", dt.date(2026, 11, 6), "钱七", "13800138004", "质量部", 8, "待处理"])
    save_via_libreoffice(wb, HERE / "reg-formula-errors.xlsx")
    # And as LibreOffice's own .ods (calcext error cells) and .xls (BIFF8 FORMULA and BOOLERR records).
    for suffix in ("ods", "xls"):
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["soffice", f"-env:UserInstallation={LO_PROFILE}", "--headless", "--convert-to", suffix,
                            "--outdir", tmp, str(HERE / "reg-formula-errors.xlsx")],
                           check=True, capture_output=True, timeout=180)
            shutil.copyfile(Path(tmp) / f"reg-formula-errors.{suffix}", HERE / f"reg-formula-errors.{suffix}")


def formula_empty_text() -> None:
    """An .xls saved by LibreOffice whose formulas all have results, one of them an empty text
    (=IF(...,"",...), as staff fill a column down): that is a result, not a formula never
    calculated."""
    wb = Workbook()
    ws = wb.active
    ws.title = "台账"
    ws.append(["投诉编号", "受理日期", "客户名称", "联系电话", "责任部门", "赔付金额", "处理状态"])
    ws.append(["TF001", dt.date(2026, 11, 2), "张三", "13800138000", "质量部", '=IF(G2="已结案",100,"")', "处理中"])
    ws.append(["TF002", dt.date(2026, 11, 3), "李四", "13800138001", "质量部", "=50*2", "已结案"])
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "reg-formula-empty-text.xlsx"
        wb.save(source)
        subprocess.run(["soffice", f"-env:UserInstallation={LO_PROFILE}", "--headless", "--convert-to", "xls",
                        "--outdir", tmp, str(source)], check=True, capture_output=True, timeout=180)
        shutil.copyfile(Path(tmp) / "reg-formula-empty-text.xls", HERE / "reg-formula-empty-text.xls")


def offset_b3() -> None:
    """Data that starts at column B, header on row 3 (calamine's own range starts there)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "台账"
    ws["B1"] = "投诉登记台账"
    ws["B3"], ws["C3"], ws["D3"], ws["E3"], ws["F3"] = "投诉编号", "受理日期", "客户名称", "赔付金额", "处理状态"
    ws.append([None, "TS001", dt.date(2026, 11, 2), "张三", 50, "处理中"])
    ws.append([None, "TS002", dt.date(2026, 11, 3), "李四", None, "待处理"])
    wb.save(HERE / "reg-offset-b3.xlsx")


VALUE_HEADER = ["投诉编号", "受理日期", "联系电话", "赔付金额", "投诉渠道", "等级", "特殊客诉", "处理状态",
                "备注", None, "来源"]


def value_forms() -> None:
    """Every value form staff type, one case per row (see tests/test_register.py)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "台账"
    ws.append(VALUE_HEADER)
    rows = [
        ["V01", dt.date(2026, 3, 5), 13800138000, "1,200", " 电话 ", "a", None, "Closed", "  ", None, "门店"],
        ["V02", dt.datetime(2026, 3, 5, 9, 30), "138-0013-8000", "￥1.11", "Phone", "B", "Media", "已结案",
         "\u3000", "无表头的值", None],
        ["V03", dt.datetime(2026, 3, 5), "+86 138 0013 8000", "1.5", "e-mail", "C", "否", "处理中", None, None,
         None],
        ["V04", 46086, None, 200.0, "电子邮件", "A", None, "待处理", None, None, None],
        ["V05", 46086.5, None, "一百", "12315", "A", None, "待处理", None, None, None],
        ["V06", "2026-03-05", None, 12.5, 12315, "A", None, "待处理", None, None, None],
        ["V07", "2026/3/5", None, "200元", None, None, None, None, None, None, None],
        ["V08", "2026.3.5", None, None, None, None, None, None, None, None, None],
        ["V09", "2026年3月5日", None, None, None, None, None, None, None, None, None],
        ["V10", "2026-1-1 1:01", None, None, None, None, None, None, None, None, None],
        ["V11", "3/5/2026", None, None, None, None, None, None, None, None, None],
        ["V12", "下周一", None, None, None, None, None, None, None, None, None],
        ["V13", "2026-02-30", None, None, None, None, None, None, None, None, None],
        ["V14", 12345, None, None, None, None, None, None, None, None, None],
        ["V15", "20260305", None, None, None, None, None, None, None, None, None],
        ["V16", "   ", None, None, None, None, None, None, None, None, None],
        ["V17", "25/12/2026", None, None, None, None, None, None, None, None, None],
        [1001, None, None, None, None, None, None, None, None, None, None],
        [12.5, None, None, None, None, None, None, None, None, None, None],
        [" \t", "", "  ", None, None, None, None, None, None, None, None],  # white space only: blank row
    ]
    for row in rows:
        ws.append(row)
    for cell in ("B5", "B6"):
        ws[cell].number_format = "General"  # an Excel serial typed as a plain number
    wb.save(HERE / "reg-value-forms.xlsx")


def chart_sheet() -> None:
    """A data sheet and a chart sheet (a sheet with no cells at all)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "台账"
    ws.append(["投诉编号", "受理日期", "客户名称", "赔付金额"])
    ws.append(["TS001", dt.date(2026, 11, 2), "张三", 50])
    ws.append(["TS002", dt.date(2026, 11, 3), "李四", 20])
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=4, min_row=1, max_row=3), titles_from_data=True)
    sheet = wb.create_chartsheet("图表")
    sheet.add_chart(chart)
    wb.save(HERE / "reg-chart-sheet.xlsx")


def bad_inputs(crypt_python: str | None) -> None:
    """Files that are not a readable register."""
    wb = Workbook()
    wb.active.title = "Sheet1"
    wb.save(HERE / "reg-empty-workbook.xlsx")

    wb = Workbook()
    ws = wb.active
    ws.title = "说明"
    ws.append(["本文件是投诉处理流程说明，不是台账。"])
    data = wb.create_sheet("客户")
    data.append(["客户名称", "联系电话", "受理日期"])  # no 投诉编号: not a register header
    data.append(["张三", 13800138000, dt.date(2026, 11, 2)])
    wb.save(HERE / "reg-no-header.xlsx")

    with open(HERE / "reg-csv-renamed.xlsx", "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["投诉编号", "受理日期", "客户名称"])
        writer.writerow(["TS001", "2026-11-02", "张三"])

    document = docx.Document()
    document.add_paragraph("客户投诉反馈单")
    document.save(HERE / "reg-docx-renamed.xlsx")

    good = (HERE / "reg-offset-b3.xlsx").read_bytes()
    (HERE / "reg-truncated.xlsx").write_bytes(good[: len(good) // 2])

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "old.xlsx"
        shutil.copyfile(HERE / "reg-offset-b3.xlsx", source)
        subprocess.run(["soffice", f"-env:UserInstallation={LO_PROFILE}", "--headless",
                        "--convert-to", "xls", "--outdir", tmp, str(source)],
                       check=True, capture_output=True, timeout=180)
        shutil.copyfile(Path(tmp) / "old.xls", HERE / "reg-old-xls-renamed.xlsx")

    if crypt_python:
        script = ("import msoffcrypto.format.ooxml as o, sys\n"
                  "f = o.OOXMLFile(open(sys.argv[1], 'rb'))\n"
                  "f.encrypt('secret', open(sys.argv[2], 'wb'))\n")
        subprocess.run([crypt_python, "-c", script, str(HERE / "reg-offset-b3.xlsx"),
                        str(HERE / "reg-encrypted.xlsx")], check=True)
    else:
        print("reg-encrypted.xlsx left as it is (no --crypt-python)", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crypt-python", help="a Python with msoffcrypto-tool, for reg-encrypted.xlsx")
    args = parser.parse_args()
    os.makedirs(HERE, exist_ok=True)
    merged_title()
    monthly_sheets()
    formula_no_value()
    formula_errors()
    formula_empty_text()
    offset_b3()
    value_forms()
    chart_sheet()
    bad_inputs(args.crypt_python)
    for path in sorted(HERE.glob("reg-*")):
        print(f"{path.name}: {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
