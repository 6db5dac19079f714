"""Workbooks for staff: the validation report and a new, empty register.

Both are new files written with openpyxl to a temporary name and renamed into place; the
staff's register is never written. Register text goes into cells as text, never as a formula:
a description that starts with ``=`` stays the text the customer's words were.

>>> write_validation_workbook(report, register, "output/检查报告.xlsx")   # doctest: +SKIP
>>> write_new_register("投诉登记台账.xlsx", config)                        # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import io
import math
import os
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

from . import xlsx
from .config import Config
from .errors import ConfigError, RegisterError
from .fields import DATE, EMAIL, FIELD_BY_NAME, FIELDS, LIST, NUMBER, PHONE, Field, display_value
from .fsutil import atomic_write_bytes, ensure_folder, same_file
from .i18n import Messages, translate
from .model import ERROR, NOTE, WARNING, Finding, Register, SheetInfo, paused_gc
from .validate import CLOSE_REQUIRED, REQUIRED, ValidationReport
from .validate import MESSAGES as VALIDATE_MESSAGES

MESSAGES: Messages = {
    "findings-sheet": {"zh": "问题清单", "en": "Findings"},
    "findings-headers": {
        "zh": "严重程度|代码|单元格|投诉编号|字段|值|说明",
        "en": "Severity|Code|Cell|Complaint No.|Field|Value|Message",
    },
    "findings-title": {
        "zh": "台账检查报告：{register}（检查日期 {today}）。{summary} 点击“单元格”列可跳到出错的单元格。",
        "en": "Register check: {register} (as of {today}). {summary} Click a cell address to jump to it.",
    },
    "severity-error": {"zh": "错误", "en": "error"},
    "severity-warning": {"zh": "警告", "en": "warning"},
    "severity-note": {"zh": "提示", "en": "note"},
    "same-file": {
        "zh": "检查报告不能写到台账本身（{path}）：台账只读不写。请用 --report 指定另一个文件名，如 {suggestion}。",
        "en": "the report cannot be written onto the register itself ({path}): the register is never "
              "written. Give --report another file name, e.g. {suggestion}.",
    },
    "not-xlsx": {
        "zh": "{path} 不是 .xlsx 文件名：检查报告和新台账都是 Excel 工作簿，请用 .xlsx 结尾的文件名。",
        "en": "{path} does not end in .xlsx: reports and new registers are Excel workbooks; use a file "
              "name ending in .xlsx.",
    },
    "exists": {
        "zh": "{path} 已存在：为免覆盖现有台账，不会改写已有文件。请换一个文件名，或先把旧文件移走。",
        "en": "{path} already exists: an existing register is never overwritten. Choose another file "
              "name or move the old file away first.",
    },
    "bad-sheet-name": {
        "zh": "工作表名“{name}”不可用：不能为空、不超过 31 个字符，且不能包含 [ ] : * ? / \\。",
        "en": "sheet name '{name}' cannot be used: it must be 1-31 characters without [ ] : * ? / \\.",
    },
    "cannot-write": {
        "zh": "无法写入 {path}：{reason}。请检查文件夹是否存在、是否有写入权限，以及文件是否在 Excel 中打开。",
        "en": "cannot write {path}: {reason}. Check that the folder exists and is writable and that the "
              "file is not open in Excel.",
    },
    "register-sheet": {"zh": "台账", "en": "Register"},
    "reserved-sheet-name": {
        "zh": "工作表名“{name}”已用于新台账自带的“{name}”工作表：请给数据工作表另取一个名字（默认：台账）。",
        "en": "sheet name '{name}' is the name of the new register's own '{name}' sheet: give the data sheet "
              "another name (default: Register).",
    },
    "lists-sheet": {"zh": "列表", "en": "Lists"},
    "help-sheet": {"zh": "填写说明", "en": "Instructions"},
    "help-title": {
        "zh": "投诉登记台账填写说明（{company}）",
        "en": "How to fill in the complaint register ({company})",
    },
    "help-intro": {
        "zh": "每行登记一件投诉。表头文字请勿修改（工具按表头识别各列）；可以在右侧增加自己的列。"
              "带 * 的列为必填。日期请填写真正的日期（如 2026-03-05）；有下拉箭头的列请从列表中选择。",
        "en": "One complaint per row. Do not change the header texts (the toolkit finds each column by "
              "its header); you may add columns of your own on the right. Columns marked * are "
              "required. Enter real dates (e.g. 2026-03-05); pick values from the drop-down lists.",
    },
    "help-headers": {
        "zh": "列名|必填|含义|可选值|规则",
        "en": "Column|Required|Meaning|Allowed values|Rule",
    },
    "required-yes": {"zh": "是", "en": "yes"},
    "required-close": {"zh": "结案时", "en": "to close"},
    "list-error-title": {"zh": "不在列表中", "en": "Not in the list"},
    "list-error": {"zh": "请从下拉列表中选择一个值。", "en": "Pick a value from the drop-down list."},
    "date-error-title": {"zh": "不是日期", "en": "Not a date"},
    "date-error": {"zh": "请填写日期，如 2026-03-05。", "en": "Enter a date, e.g. 2026-03-05."},
    "number-error-title": {"zh": "不是金额", "en": "Not an amount"},
    "number-error": {"zh": "请填写 0 或正数。", "en": "Enter 0 or a positive number."},
    "rule-list": {"zh": "列表在 config.toml 的 [lists] {list_key} 中配置。",
                  "en": "The list is set in config.toml [lists] {list_key}."},
    "rule-reply-due": {"zh": "可空：空白时按等级自动计算（{days} 个{unit}）。",
                       "en": "May be blank: then computed from the class ({days} {unit})."},
    "rule-followup-due": {"zh": "可空：空白时按等级自动计算（{days} 个{unit}）。",
                          "en": "May be blank: then computed from the class ({days} {unit})."},
    "rule-capa": {"zh": "{classes} 类有效投诉结案时必填。",
                  "en": "Required to close a valid class {classes} complaint."},
    "rule-capa-none": {"zh": "可选（当前配置不要求任何等级填写）。",
                       "en": "Optional (the config requires it for no class)."},
    "unit-working": {"zh": "工作日", "en": "working days"},
    "unit-calendar": {"zh": "自然日", "en": "calendar days"},
    "also-accepted": {"zh": "（也可写：{pairs}）", "en": " (also accepted: {pairs})"},
    "footer-page": {"zh": "第 &P 页，共 &N 页", "en": "Page &P of &N"},
}

#: Meaning and rule of every column, for the instructions sheet: field -> (zh, en) pairs.
FIELD_HELP: dict[str, tuple[str, str, str, str]] = {
    # field: (zh meaning, en meaning, zh rule, en rule)
    "complaint_id": ("投诉的唯一编号，如 KS-2026-001。", "The complaint's unique number, e.g. KS-2026-001.",
                     "必填；整个台账内不得重复。", "Required; unique in the register."),
    "received_on": ("接到投诉的日期。", "Date the complaint was received.",
                    "必填；不得晚于今天。", "Required; not after today."),
    "channel": ("客户投诉的途径。", "How the complaint came in.", "必填。", "Required."),
    "customer_name": ("投诉人姓名或单位名称。", "Name of the person or company complaining.",
                      "必填。", "Required."),
    "customer_phone": ("客户联系电话。", "Customer's phone number.",
                       "联系电话与客户邮箱至少填一项；手机 11 位（1 开头），座机带区号（如 0871-63125678，可加分机），"
                       "国际号码以 + 开头。",
                       "Phone or customer e-mail required; CN mobile (11 digits, starting 1), landline "
                       "with area code (0871-63125678, extension allowed) or +CC international."),
    "customer_email": ("客户邮箱。", "Customer's e-mail address.", "填写时须为有效邮箱。",
                       "A valid address when filled in."),
    "product": ("涉及的产品或服务，如卷烟规格、套餐名称。", "Product or service concerned.", "", ""),
    "batch_no": ("产品批次号（产品质量投诉请填写）。", "Product batch number (for product complaints).",
                 "", ""),
    "respondent": ("被投诉的单位、门店、车间或人员。", "Company, shop, workshop or person complained about.",
                   "必填：被投诉方不明确的投诉不能受理。",
                   "Required: a complaint with no identifiable respondent cannot be accepted."),
    "description": ("投诉的具体内容：时间、经过、客户诉求。", "What happened and what the customer asks for.",
                    "必填。", "Required."),
    "category": ("投诉类别。", "Complaint category.", "必填。", "Required."),
    "nature": ("有效投诉，或沟通性投诉（求助型/咨询型/发泄型）。",
               "A valid complaint, or a communication complaint (help-seeking, inquiry, venting).",
               "必填。", "Required."),
    "severity": ("投诉等级，A 最严重；决定答复和回访期限。",
                 "Class, A the most serious; sets the reply and follow-up deadlines.", "必填。", "Required."),
    "special": ("特殊客诉：监管部门、消协、媒体反映或疑似敲诈；立即逐级上报。",
                "Special complaint: from a regulator, consumer association, media, or suspected extortion; "
                "escalated at once.", "空白视为“否”。", "Blank means No."),
    "department": ("负责处理的部门。", "Department responsible.",
                   "必填。", "Required."),
    "handler": ("首问负责人：最先接待并负责到底的人。", "The first person who took the complaint and stays "
                "responsible.", "必填。", "Required."),
    "handler_email": ("首问负责人的邮箱，用于发送提醒。", "Handler's e-mail address, for reminders.",
                      "必填，除非 config.toml 的 [people] 或 [departments] 中已有地址。",
                      "Required unless config.toml [people] or [departments] gives an address."),
    "immediate_action": ("已采取的应急措施。", "Immediate measures taken.", "", ""),
    "root_cause": ("投诉原因分类。", "Root cause category.", "有效投诉结案时必填。",
                   "Required to close a valid complaint."),
    "cause_analysis": ("原因分析说明。", "Cause analysis.", "", ""),
    "resolution": ("与客户达成的处理结果。", "Solution agreed with the customer.", "结案时必填。",
                   "Required to close."),
    "compensation": ("赔付金额（元）。", "Compensation paid (amount).", "不得为负数。", "0 or more."),
    "reply_due": ("承诺答复客户的日期。", "Date a reply was promised by.",
                  "可空：空白时按等级自动计算（A 1 个、B 2 个、C 3 个工作日）。",
                  "May be blank: then computed from the class (A 1, B 2, C 3 working days)."),
    "corrective_action": ("纠正预防措施：防止再次发生的措施。每行一项（措施单上每行一条，编号自动生成，"
                          "行首的 1. 2、(1) 不会重复编号）；以“预防”开头的一行计为预防措施，其余为纠正措施。",
                          "Corrective and preventive action, one per line (numbered on the CAPA sheet; a "
                          "typed 1. 2. (1) is not numbered twice); a line starting with Preventive counts "
                          "as preventive, any other as corrective.",
                          "A、B 类有效投诉结案时必填。", "Required to close a valid class A or B complaint."),
    "capa_owner": ("纠正预防措施的负责人。", "Person responsible for the corrective action.",
                   "填写了纠正预防措施时必填。", "Required when a corrective action is set."),
    "capa_owner_email": ("措施负责人的邮箱。", "CAPA owner's e-mail address.",
                         "同负责人邮箱。", "As the handler's e-mail."),
    "capa_due": ("措施应完成的期限。", "Date the action is due.",
                 "填写了纠正预防措施时必填；不得早于受理日期。",
                 "Required when a corrective action is set; not before the date received."),
    "capa_done": ("措施实际完成的日期。", "Date the action was done.", "不得早于受理日期，不得晚于今天。",
                  "Not before the date received, not after today."),
    "followup_due": ("回访客户的期限。", "Date the follow-up call is due.",
                     "可空：空白时按等级自动计算（A 3 个、B 7 个、C 15 个工作日）。",
                     "May be blank: then computed from the class (A 3, B 7, C 15 working days)."),
    "followup_done": ("实际回访客户的日期。", "Date of the follow-up call.",
                      "结案时必填；不得早于受理日期，不得晚于今天。",
                      "Required to close; not before the date received, not after today."),
    "satisfaction": ("回访时客户的满意度。", "Customer satisfaction at follow-up.", "结案时必填。",
                     "Required to close."),
    "status": ("处理进度。", "Where the complaint stands.", "必填。", "Required."),
    "closed_on": ("结案日期。", "Date the complaint was closed.",
                  "状态为“已结案”时必填，否则不填；不得早于受理日期，不得晚于今天。",
                  "Required when Closed, blank otherwise; not before the date received, not after today."),
    "remarks": ("其他说明。", "Anything else.", "", ""),
}

_FILL_RGB = {ERROR: "FFC7CE", WARNING: "FFEB9C", NOTE: "DDEBF7"}
_HEADER_RGB = "DDEBF7"
_HEADER_FILL = PatternFill("solid", fgColor=_HEADER_RGB)
_BOLD = Font(bold=True)
_REQUIRED_FONT = Font(bold=True, color="9C0006")
_WRAP = Alignment(wrap_text=True, vertical="top")
_HEADER_ALIGN = Alignment(wrap_text=True, vertical="center", horizontal="center")
_SEVERITY_ORDER = {ERROR: 0, WARNING: 1, NOTE: 2}
#: Excel's formula limit for an inline list of choices (``"a,b,c"``).
INLINE_LIST_LIMIT = 255
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
_COLUMN_SUFFIX = re.compile(r" \(([A-Z]{1,3})\)$")
_LETTERS = re.compile(r"[A-Z]{1,3}")
_LAST_ROW = 1048576
_MAX_CELL_TEXT = 32767


# -- text that stays text -----------------------------------------------------------------


def set_text(cell: Cell, value: Any) -> None:
    """Put a value into ``cell``; text always stays text (``=SUM(...)`` is shown, never run)."""
    if isinstance(value, str):
        text = ILLEGAL_CHARACTERS_RE.sub("", value)[:_MAX_CELL_TEXT]
        cell.value = text
        cell.data_type = "s"  # openpyxl would otherwise store "=..." as a formula
        if text[:1] in ("=", "+", "-", "@"):
            cell.quotePrefix = True  # Excel keeps it text when someone edits the cell
        return
    cell.value = value
    if isinstance(value, dt.datetime):
        cell.number_format = "yyyy-mm-dd hh:mm"
    elif isinstance(value, dt.date):
        cell.number_format = "yyyy-mm-dd"


def _save(wb: Workbook, path: Path, language: str) -> Path:
    buffer = io.BytesIO()
    wb.save(buffer)
    return _save_bytes(buffer.getvalue(), path, language)


def _check_xlsx_name(path: Path, language: str) -> None:
    if path.suffix.lower() != ".xlsx":
        raise ConfigError(translate(MESSAGES, "not-xlsx", language, path=path))


# -- the validation report workbook -------------------------------------------------------


# The register's rows are written straight as SpreadsheetML (toolkit.xlsx): openpyxl's object
# per cell made the daily job's findings workbook (140k cells at 100k rows) cost 2.1 s of CPU and
# a whole-register report close to a minute.
@paused_gc()
def write_validation_workbook(report: ValidationReport, register: Register, path: str | os.PathLike[str],
                              today: dt.date | None = None) -> Path:
    """A new workbook: the register's rows with offending cells filled and commented, and a
    findings sheet (问题清单) whose cell addresses link to those cells.

    Rows keep their row numbers and columns their letters, so ``台账!B14`` in a finding is
    ``台账!B14`` in this workbook too. Refuses to write onto the register's own file.
    """
    target = Path(path)
    language = report.language
    _check_xlsx_name(target, language)
    if same_file(target, Path(register.path)):
        suggestion = Path(register.path).with_name(Path(register.path).stem + "-检查报告.xlsx"
                                                    if language == "zh" else
                                                    Path(register.path).stem + "-check.xlsx").name
        raise ConfigError(translate(MESSAGES, "same-file", language, path=target, suggestion=suggestion))
    book = xlsx.Book()
    findings = book.sheet(_unique_title(translate(MESSAGES, "findings-sheet", language),
                                        {s.name for s in register.sheets}))
    by_sheet: dict[str, list[Any]] = {}
    for record in register.records:
        by_sheet.setdefault(record.sheet, []).append(record)
    marks = _marks(report.findings, language)
    for info in register.sheets:
        _copy_sheet(book.sheet(info.name), info, by_sheet.get(info.name, []), language, marks.get(info.name, {}))
    _findings_sheet(findings, report, register, language, today)
    try:
        data = book.to_bytes()
    except ValueError as exc:  # a sheet name Excel cannot hold (from an .ods register)
        raise ConfigError(translate(MESSAGES, "cannot-write", language, path=target, reason=exc)) from exc
    return _save_bytes(data, target, language)


def _save_bytes(data: bytes, path: Path, language: str) -> Path:
    ensure_folder(path.parent, language)
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise ConfigError(translate(MESSAGES, "cannot-write", language, path=path, reason=exc)) from exc
    return path


def _unique_title(title: str, taken: set[str]) -> str:
    candidate, n = title, 2
    while candidate in taken:
        candidate = f"{title} ({n})"
        n += 1
    return candidate


def _extra_columns(info: SheetInfo) -> dict[str, int]:
    """``Record.extra`` key -> column index (the reader keys unknown columns by header text)."""
    mapped = set(info.columns.values())
    result: dict[str, int] = {}
    for index, text in enumerate(info.headers):
        if index not in mapped and text:
            result.setdefault(text, index)
    return result


def _extra_index(key: str, extra_cols: dict[str, int]) -> int | None:
    if key in extra_cols:
        return extra_cols[key]
    match = _COLUMN_SUFFIX.search(key)
    letters = match.group(1) if match else key if _LETTERS.fullmatch(key) else None
    return None if letters is None else xlsx.column_number(letters) - 1


_HEADER_STYLE = xlsx.Style(bold=True, fill=_HEADER_RGB, wrap=True, vertical="center", horizontal="center")
_MARK_STYLES = {severity: xlsx.Style(fill=rgb) for severity, rgb in _FILL_RGB.items()}


def _marks(findings: Iterable[Finding], language: str) -> dict[str, dict[tuple[int, int], tuple[str, xlsx.Comment]]]:
    """Per sheet, each offending cell (row, 1-based column): the worst finding's severity and a
    comment with every message."""
    per_cell: dict[tuple[str, int, int], list[Finding]] = {}
    for f in findings:
        if f.row is not None and f.column:
            per_cell.setdefault((f.sheet, f.row, xlsx.column_number(f.column)), []).append(f)
    marks: dict[str, dict[tuple[int, int], tuple[str, xlsx.Comment]]] = {}
    for (sheet, row, column), found in per_cell.items():
        worst = min(found, key=lambda f: _SEVERITY_ORDER[f.severity])
        text = "\n".join(f"[{translate(MESSAGES, f'severity-{f.severity}', language)}] {f.message}" for f in found)
        marks.setdefault(sheet, {})[(row, column)] = (
            worst.severity, xlsx.Comment(row, column, text, "complaint-toolkit", 320, 40 + 50 * len(found)))
    return marks


def _copy_sheet(ws: xlsx.Sheet, info: SheetInfo, records: list[Any], language: str,
                marks: dict[tuple[int, int], tuple[str, xlsx.Comment]]) -> None:
    header_row = info.header_row
    columns = sorted(info.columns.items(), key=lambda item: item[1])
    extra_cols = _extra_columns(info)
    list_fields = {name for name, _ in columns if FIELD_BY_NAME[name].kind == LIST}
    header = [(index + 1, text, _HEADER_STYLE) for index, text in enumerate(info.headers) if text]
    marked_rows: dict[int, list[int]] = {}
    for row, column in sorted(marks):
        marked_rows.setdefault(row, []).append(column)

    def rows() -> Iterable[xlsx.Row]:
        done = {header_row}
        yield header_row, _with_marks(header_row, {c: (v, s) for c, v, s in header}, marked_rows, marks)
        for record in sorted(records, key=lambda r: r.row):
            row = record.row
            if row in done:
                continue  # never two rows of one number (the header's own row holds no record)
            done.add(row)
            values = record.values
            cells: dict[int, tuple[Any, xlsx.Style | None]] = {}
            for name, index in columns:
                value = values.get(name)
                if name in record.bad:
                    value = record.bad[name][1]
                elif value is not None and name in list_fields:
                    value = display_value(name, value, language)
                if value is not None:
                    cells[index + 1] = (_cell_value(value), None)
            for key, value in record.extra.items():
                index = _extra_index(key, extra_cols)
                if index is not None and value is not None:
                    cells[index + 1] = (_cell_value(value), None)
            yield row, _with_marks(row, cells, marked_rows, marks)
        for row in sorted(set(marked_rows) - done):  # a finding on a row no record holds
            yield row, _with_marks(row, {}, marked_rows, marks)

    ws.rows = rows()
    for name, index in columns:
        kind = FIELD_BY_NAME[name].kind
        ws.widths[index + 1] = 40 if name in ("description", "resolution", "corrective_action") else \
            12 if kind == DATE else 22 if kind == EMAIL else 14
    ws.freeze = (header_row + 1, 1)
    ws.comments = [marks[key][1] for key in sorted(marks)]
    # A register is 30-odd columns: one A3 landscape page wide is the most that stays legible.
    ws.page = _page(language, paper=xlsx.A3)
    ws.print_title_rows = (header_row, header_row)


def _cell_value(value: Any) -> Any:
    """What a register value is in a cell: text, a number, a date (a tuple of conflicting
    values from merged rows is shown as its values)."""
    if isinstance(value, (str, int, float, dt.date)):
        return value
    if isinstance(value, tuple):
        return "\n".join(str(v[1]) if isinstance(v, tuple) and len(v) == 2 else str(v) for v in value)
    return str(value)


def _with_marks(row: int, cells: dict[int, tuple[Any, xlsx.Style | None]], marked_rows: dict[int, list[int]],
                marks: dict[tuple[int, int], tuple[str, xlsx.Comment]]) -> list[tuple[int, Any, xlsx.Style | None]]:
    for column in marked_rows.get(row, ()):
        value = cells.get(column, (None, None))[0]
        cells[column] = (value, _MARK_STYLES[marks[(row, column)][0]])
    return [(column, value, style) for column, (value, style) in sorted(cells.items())]


def _page(language: str, paper: int = xlsx.A4) -> xlsx.PageSetup:
    """The report's page setup: as :func:`print_setup` gives the workbooks openpyxl writes."""
    footer = translate(MESSAGES, "footer-page", language)
    return xlsx.PageSetup(paper=paper, landscape=True, fit_to_page=True, fit_width=1, fit_height=0,
                          margins=_MARGINS, footer_left="&A", footer_right=footer)


def _findings_sheet(ws: xlsx.Sheet, report: ValidationReport, register: Register, language: str,
                    today: dt.date | None) -> None:
    counts = report.counts
    summary = translate(VALIDATE_MESSAGES, "summary", language, rows=counts["rows"], errors=counts[ERROR],
                        warnings=counts[WARNING], notes=counts[NOTE],
                        rows_with_errors=counts["rows_with_errors"])
    title = translate(MESSAGES, "findings-title", language, register=Path(register.path).name,
                      today=today.isoformat() if today else "", summary=summary)
    widths = (8, 18, 14, 16, 14, 18, 80)
    headers = translate(MESSAGES, "findings-headers", language).split("|")
    rows: list[xlsx.Row] = [(1, [(1, title, _TITLE_STYLE)]),
                            (2, [(col, text, _BOLD_HEADER_STYLE) for col, text in enumerate(headers, start=1)])]
    # The title is one long line in A1: wrapped over the table's width so it is not cut.
    title_lines = wrapped_lines(title, sum(widths))
    if title_lines > 1:
        ws.heights[1] = title_lines * LINE_HEIGHT + 2
    for r, f in enumerate(report.findings, start=3):
        header = FIELD_BY_NAME[f.field].header(language) if f.field in FIELD_BY_NAME else f.field
        row_values = (translate(MESSAGES, f"severity-{f.severity}", language), f.code,
                      f.cell or f.sheet, f.complaint_id, header, f.value, f.message)
        cells: list[tuple[int, Any, xlsx.Style | None]] = []
        for col, value in enumerate(row_values, start=1):
            style = _MARK_STYLES[f.severity] if col == 1 else _LINK_STYLE if col == 3 and f.row is not None \
                else _WRAP_STYLE if col == 7 else None
            if value is not None and value != "":
                cells.append((col, _cell_value(value), style))
            elif style is not None:
                cells.append((col, None, style))
        rows.append((r, cells))
        if f.row is not None:
            ws.links.append((r, 3, f"{xlsx.quote_sheet(f.sheet)}!{f.column or 'A'}{f.row}", f.cell))
        lines = wrapped_lines(f.message, widths[6])
        if lines > 1:
            ws.heights[r] = lines * LINE_HEIGHT + 2
    ws.rows = rows
    ws.dimension = f"A1:G{len(report.findings) + 2}"
    ws.widths.update(enumerate(widths, start=1))
    ws.freeze = (3, 1)
    ws.merged.append("A1:G1")
    if report.findings:
        ws.auto_filter = f"A2:G{len(report.findings) + 2}"
    ws.page = _page(language)
    ws.print_title_rows = (2, 2)


_TITLE_STYLE = xlsx.Style(bold=True, wrap=True, vertical="top")
_BOLD_HEADER_STYLE = xlsx.Style(bold=True, fill=_HEADER_RGB)
_LINK_STYLE = xlsx.Style(color="0563C1", underline=True)
_WRAP_STYLE = xlsx.Style(wrap=True, vertical="top")
_MARGINS = (0.4, 0.4, 0.6, 0.6, 0.3, 0.3)



# -- a new, empty register ------------------------------------------------------------------


def write_new_register(path: str | os.PathLike[str], config: Config, sheet: str | None = None) -> Path:
    """An empty register for staff: headers in the configured language, drop-down lists,
    date and text formats, a frozen header and an instructions sheet. Never overwrites."""
    target = Path(path)
    language = config.language
    _check_xlsx_name(target, language)
    if target.exists():
        raise RegisterError(translate(MESSAGES, "exists", language, path=target))
    title = sheet or translate(MESSAGES, "register-sheet", language)
    if not title or len(title) > 31 or _SHEET_NAME_BAD.search(title) or title.startswith("'"):
        raise ConfigError(translate(MESSAGES, "bad-sheet-name", language, name=title))
    # Excel compares sheet names without case; the instructions and lists sheets are added below
    # (a clash used to rename the instructions sheet to 填写说明1 and leave the data sheet as 填写说明).
    for key in ("help-sheet", "lists-sheet"):
        if title.casefold() == translate(MESSAGES, key, language).casefold():
            raise ConfigError(translate(MESSAGES, "reserved-sheet-name", language, name=title))
    wb = Workbook()
    ws = wb.active
    ws.title = title
    lists_ws: Worksheet | None = None
    required = set(REQUIRED)
    for col, f in enumerate(FIELDS, start=1):
        letter = get_column_letter(col)
        cell = ws.cell(row=1, column=col)
        set_text(cell, f.header(language))
        cell.font = _REQUIRED_FONT if f.name in required else _BOLD
        cell.fill = _HEADER_FILL
        cell.alignment = _HEADER_ALIGN
        dim = ws.column_dimensions[letter]
        dim.width = _width(f)
        cells = f"{letter}2:{letter}{_LAST_ROW}"
        if f.kind == LIST:
            choices = _choices(f, config, language)
            inline = ",".join(choices)
            if len(inline) + 2 <= INLINE_LIST_LIMIT and not any(c in inline for c in '"'):
                formula = f'"{inline}"'
            else:
                if lists_ws is None:
                    lists_ws = wb.create_sheet(translate(MESSAGES, "lists-sheet", language))
                    lists_ws.sheet_state = "hidden"
                formula = _list_range(lists_ws, f, choices, language)
            dv = DataValidation(type="list", formula1=formula, allow_blank=True, showErrorMessage=True,
                                errorTitle=translate(MESSAGES, "list-error-title", language),
                                error=translate(MESSAGES, "list-error", language))
        elif f.kind == DATE:
            dim.number_format = "yyyy-mm-dd"
            dv = DataValidation(type="date", operator="greaterThan", formula1="36526", allow_blank=True,
                                showErrorMessage=True,
                                errorTitle=translate(MESSAGES, "date-error-title", language),
                                error=translate(MESSAGES, "date-error", language))
        elif f.kind == NUMBER:
            dim.number_format = "#,##0.00"
            dv = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0",
                                allow_blank=True, showErrorMessage=True,
                                errorTitle=translate(MESSAGES, "number-error-title", language),
                                error=translate(MESSAGES, "number-error", language))
        else:
            if f.kind == PHONE or f.name in ("complaint_id", "batch_no"):
                dim.number_format = "@"  # keeps leading zeros and 11-digit phones as typed
            continue
        dv.add(cells)
        ws.add_data_validation(dv)
    ws.freeze_panes = "B2"
    ws.row_dimensions[1].height = 32
    _help_sheet(wb.create_sheet(translate(MESSAGES, "help-sheet", language), 1), config, language)
    _print_new_register(wb, language)
    return _save(wb, target, language)


def _choices(f: Field, config: Config, language: str) -> list[str]:
    """The drop-down's values: the configured list (shown in English when it holds built-in
    values and the register is English), else the field's own values."""
    values = config.list_values(f.config_list) if f.config_list else list(f.choices)
    return [display_value(f.name, v, language) for v in values]


#: Rules of the instructions sheet that depend on the config in force: field -> message key.
_CONFIG_RULES = {"channel": "rule-list", "category": "rule-list", "department": "rule-list",
                 "root_cause": "rule-list", "special": "rule-list", "reply_due": "rule-reply-due",
                 "followup_due": "rule-followup-due", "corrective_action": "rule-capa"}


def _help_rule(f: Field, config: Config, language: str, rule: str) -> str:
    """The rule text of a field as the config in force makes it (lists, deadlines, CAPA classes)."""
    key = _CONFIG_RULES.get(f.name)
    if key is None:
        return rule
    sep = "、" if language == "zh" else ", "
    rules = config.rules
    unit = translate(MESSAGES, "unit-working" if rules.working_days else "unit-calendar", language)
    if key == "rule-list":
        joiner = "" if language == "zh" else " "
        return joiner.join(part for part in (rule, translate(MESSAGES, key, language, list_key=f.config_list)) if part)
    if key in ("rule-reply-due", "rule-followup-due"):
        attr = "reply_days" if key == "rule-reply-due" else "followup_days"
        days = sep.join(f"{klass} {getattr(rules.for_class(klass), attr)}" for klass in ("A", "B", "C"))
        return translate(MESSAGES, key, language, days=days, unit=unit)
    classes = [c for c in ("A", "B", "C") if c in rules.capa_classes]
    if not classes:
        return translate(MESSAGES, "rule-capa-none", language)
    return translate(MESSAGES, key, language, classes=sep.join(classes))


def _synonyms_of(f: Field, config: Config, language: str) -> str:
    """``（也可写：已办结 = 已结案）`` for the synonyms configured for this field's values."""
    values = set(config.list_values(f.config_list) if f.config_list else f.choices)
    pairs = [(s, t) for s, t in config.lists.synonyms.items() if t in values]
    if not pairs:
        return ""
    sep = "、" if language == "zh" else ", "
    shown = sep.join(f"{s} = {display_value(f.name, t, language)}" for s, t in pairs)
    return translate(MESSAGES, "also-accepted", language, pairs=shown)


def _list_range(ws: Worksheet, f: Field, choices: list[str], language: str) -> str:
    """Write ``choices`` into a new column of the lists sheet; the range formula for it."""
    col = ws.max_column + 1 if ws.max_row > 1 or ws.cell(row=1, column=1).value else 1
    letter = get_column_letter(col)
    set_text(ws.cell(row=1, column=col), f.header(language))
    for r, value in enumerate(choices, start=2):
        set_text(ws.cell(row=r, column=col), value)
    return f"{quote_sheetname(ws.title)}!${letter}$2:${letter}${len(choices) + 1}"


def _width(f: Field) -> float:
    if f.name in ("description", "resolution", "corrective_action", "cause_analysis"):
        return 36
    return {DATE: 12, EMAIL: 24, PHONE: 16, LIST: 12, NUMBER: 11}.get(f.kind, 14)


def _help_sheet(ws: Worksheet, config: Config, language: str) -> None:
    set_text(ws.cell(row=1, column=1), translate(MESSAGES, "help-title", language, company=config.company.name))
    ws.cell(row=1, column=1).font = Font(bold=True, size=14)
    set_text(ws.cell(row=2, column=1), translate(MESSAGES, "help-intro", language))
    ws.merge_cells("A2:E2")
    ws.cell(row=2, column=1).alignment = _WRAP
    ws.row_dimensions[2].height = 48
    for col, text in enumerate(translate(MESSAGES, "help-headers", language).split("|"), start=1):
        cell = ws.cell(row=4, column=col)
        set_text(cell, text)
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
    required = set(REQUIRED)
    to_close = {*CLOSE_REQUIRED, "root_cause", "closed_on"}
    sep = "、" if language == "zh" else ", "
    for r, f in enumerate(FIELDS, start=5):
        zh_meaning, en_meaning, zh_rule, en_rule = FIELD_HELP[f.name]
        if f.name in required:
            need = translate(MESSAGES, "required-yes", language)
        elif f.name in to_close:
            need = translate(MESSAGES, "required-close", language)
        else:
            need = ""
        allowed = sep.join(_choices(f, config, language)) + _synonyms_of(f, config, language) \
            if f.kind == LIST else ""
        row = (f.header(language) + (" *" if f.name in required else ""), need,
               en_meaning if language == "en" else zh_meaning, allowed,
               _help_rule(f, config, language, en_rule if language == "en" else zh_rule))
        for col, value in enumerate(row, start=1):
            cell = ws.cell(row=r, column=col)
            if value:
                set_text(cell, value)
            cell.alignment = _WRAP
    for col, width in enumerate((18, 8, 40, 40, 50), start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = "A5"


# -- printing ---------------------------------------------------------------------------------
# Staff print these workbooks (or export them to PDF): without a page setup Excel and
# LibreOffice print 12-13 portrait pages with the columns split over pages and long messages
# cut at the row's default height.

#: Points per line of 11-point text in a wrapped cell (Excel's default row is 15 points).
LINE_HEIGHT = 15.0


def wrapped_lines(text: object, width: float) -> int:
    """Lines ``text`` takes when wrapped in a column ``width`` characters wide (CJK counts two)."""
    if text is None or text == "":
        return 1
    total = 0
    usable = max(1.0, width - 1)  # the cell's own padding
    for line in str(text).split("\n"):
        cells = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)
        total += max(1, math.ceil(cells / usable))
    return total


def fit_row_heights(ws: Worksheet, first_row: int, last_row: int | None = None,
                    columns: Iterable[int] | None = None, line_height: float = LINE_HEIGHT) -> None:
    """Make each row from ``first_row`` tall enough for its wrapped cells: Excel and LibreOffice
    grow a wrapped row on screen but print the height stored in the file."""
    last = ws.max_row if last_row is None else last_row
    merged = {(rng.min_row, rng.min_col): sum(ws.column_dimensions[get_column_letter(c)].width or 8.43
                                               for c in range(rng.min_col, rng.max_col + 1))
              for rng in ws.merged_cells.ranges}
    cols = list(columns) if columns is not None else list(range(1, ws.max_column + 1))
    for r in range(first_row, last + 1):
        lines = 1
        for c in cols:
            cell = ws.cell(row=r, column=c)
            if cell.value is None or not (cell.alignment and cell.alignment.wrap_text):
                continue
            width = merged.get((r, c)) or ws.column_dimensions[get_column_letter(c)].width or 8.43
            lines = max(lines, wrapped_lines(cell.value, width))
        if lines > 1:
            current = ws.row_dimensions[r].height or LINE_HEIGHT
            ws.row_dimensions[r].height = max(current, lines * line_height + 2)


def print_setup(ws: Worksheet, language: str, *, header_rows: str | None = None, landscape: bool | None = None,
                one_page: bool = False, paper: str = "A4") -> None:
    """The one page setup for every workbook staff print: A4 (or A3), landscape when the sheet
    is wider than a portrait page, fitted to one page wide (``one_page``: to one page in all),
    ``header_rows`` (e.g. ``"1:2"``) repeated on every page, the sheet name and "page n of m"
    in the footer."""
    width = sum(ws.column_dimensions[get_column_letter(c)].width or 8.43 for c in range(1, ws.max_column + 1))
    setup = ws.page_setup
    setup.paperSize = ws.PAPERSIZE_A3 if paper == "A3" else ws.PAPERSIZE_A4
    # About 95 characters of 11-point text fit across a portrait A4 page at 100 %.
    setup.orientation = "landscape" if (width > 95 if landscape is None else landscape) else "portrait"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    setup.fitToWidth = 1
    setup.fitToHeight = 1 if one_page else 0  # 0: as many pages down as the rows need
    if header_rows:
        ws.print_title_rows = header_rows
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.6, bottom=0.6, header=0.3, footer=0.3)
    ws.oddFooter.left.text = "&A"
    ws.oddFooter.right.text = translate(MESSAGES, "footer-page", language)
    ws.evenFooter.left.text = "&A"
    ws.evenFooter.right.text = ws.oddFooter.right.text


def _print_new_register(wb: Workbook, language: str) -> None:
    register, *others = wb.worksheets
    print_setup(register, language, header_rows="1:1", landscape=True, paper="A3")
    for ws in others:
        if ws.sheet_state != "visible":
            continue
        # The instructions: the column table's header row repeats; each row as tall as its text.
        header = next((r for r in range(1, min(ws.max_row, 10) + 1)
                       if ws.cell(row=r, column=1).font and ws.cell(row=r, column=1).font.b
                       and ws.cell(row=r, column=2).value), None)
        fit_row_heights(ws, 1)
        print_setup(ws, language, header_rows=f"{header}:{header}" if header else None, landscape=True)
