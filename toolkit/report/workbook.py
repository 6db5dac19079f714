"""The statistics workbook: the figures as tables with native Excel charts (bar, line, pie), so
they stay editable in Excel, WPS and LibreOffice, and a summary sheet that lists what was left
out of which figure and why.

>>> write_workbook(stats, config, "output/reports/complaint-statistics.xlsx")   # doctest: +SKIP

Every sheet prints on A4 landscape, one page wide, with its header row repeated and page
numbers in the footer (:func:`toolkit.workbooks.print_setup`).
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, PieChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.marker import DataPoint
from openpyxl.chart.series import SeriesLabel
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ..config import Config
from ..errors import ConfigError
from ..fields import NATURES, SATISFACTIONS, SEVERITIES, display_value
from ..fsutil import atomic_write_bytes, ensure_folder, same_file
from ..i18n import Messages, translate
from ..workbooks import fit_row_heights, print_setup, set_text
from .figures import FIGURES, LEVELS, SPECIAL_KINDS, OnTimeRow, ParetoRow, Statistics
from .figures import MESSAGES as FIGURE_MESSAGES

log = logging.getLogger(__name__)

MESSAGES: Messages = {
    # sheet names (31 characters at most, no []:*?/\)
    "sheet.summary": {"zh": "汇总", "en": "Summary"},
    "sheet.trend": {"zh": "月度趋势", "en": "Monthly trend"},
    "sheet.category": {"zh": "类别帕累托", "en": "Category Pareto"},
    "sheet.cause": {"zh": "原因帕累托", "en": "Root-cause Pareto"},
    "sheet.ontime": {"zh": "按时率", "en": "On-time rate"},
    "sheet.overdue": {"zh": "当前逾期", "en": "Overdue now"},
    "sheet.satisfaction": {"zh": "满意度", "en": "Satisfaction"},
    "sheet.mix": {"zh": "特殊与性质", "en": "Special and nature"},
    "sheet.duration": {"zh": "结案时长", "en": "Time to close"},
    # summary
    "title": {"zh": "客诉统计报表", "en": "Complaint statistics"},
    "register": {"zh": "台账文件", "en": "Register"},
    "period": {"zh": "统计期间（按受理日期）", "en": "Period (by date received)"},
    "today": {"zh": "统计日（逾期判断基准）", "en": "As of (for overdue)"},
    "key_figures": {"zh": "关键指标", "en": "Key figures"},
    "totals": {"zh": "合计", "en": "Totals"},
    "left_out": {"zh": "未计入某些统计的投诉（请在台账中修正后重新生成）",
                 "en": "Complaints left out of some figure (fix them in the register and run the report again)"},
    "left_out.none": {"zh": "无：每件投诉都计入了每项统计。", "en": "None: every complaint is in every figure."},
    "col.sheet": {"zh": "工作表", "en": "Sheet"},
    "col.row": {"zh": "行", "en": "Row"},
    "col.complaint_id": {"zh": "投诉编号", "en": "Complaint No."},
    "col.cells": {"zh": "单元格", "en": "Cells"},
    "col.problems": {"zh": "问题", "en": "Problems"},
    "notes": {"zh": "说明", "en": "Notes"},
    "no_data": {"zh": "本期间无数据。", "en": "No data in this period."},
    # column headers
    "col.month": {"zh": "月份", "en": "Month"},
    "col.received": {"zh": "受理数", "en": "Received"},
    "col.closed": {"zh": "结案数", "en": "Closed"},
    "col.class": {"zh": "{value}类", "en": "Class {value}"},
    "col.category": {"zh": "投诉类别", "en": "Category"},
    "col.root_cause": {"zh": "原因分类", "en": "Root cause"},
    "col.count": {"zh": "数量", "en": "Count"},
    "col.share": {"zh": "占比", "en": "Share"},
    "col.cumulative": {"zh": "累计占比", "en": "Cumulative %"},
    "col.department": {"zh": "责任部门", "en": "Department"},
    "col.reply_due": {"zh": "应答复", "en": "Replies due"},
    "col.reply_on_time": {"zh": "按时答复", "en": "Replied on time"},
    "col.reply_rate": {"zh": "按时答复率", "en": "Reply on-time rate"},
    "col.followup_due": {"zh": "应回访", "en": "Follow-ups due"},
    "col.followup_on_time": {"zh": "按时回访", "en": "Followed up on time"},
    "col.followup_rate": {"zh": "按时回访率", "en": "Follow-up on-time rate"},
    "col.level": {"zh": "{level}级", "en": "Level {level}"},
    "col.total": {"zh": "合计", "en": "Total"},
    "col.rated": {"zh": "已评价结案数", "en": "Closed with rating"},
    "col.rate": {"zh": "满意率", "en": "Satisfaction rate"},
    "col.special_total": {"zh": "特殊客诉合计", "en": "Special, total"},
    "col.communication": {"zh": "沟通性投诉", "en": "Communication"},
    "col.severity": {"zh": "等级", "en": "Class"},
    "col.closed_count": {"zh": "已结案数", "en": "Closed"},
    "col.average": {"zh": "平均工作日", "en": "Average working days"},
    "col.p90": {"zh": "90分位工作日", "en": "90th percentile, working days"},
    "col.max": {"zh": "最长", "en": "Longest"},
    "all_classes": {"zh": "全部", "en": "All"},
    # chart titles
    "chart.trend": {"zh": "每月受理（按等级）与结案", "en": "Received per month by class, and closed"},
    "chart.category": {"zh": "投诉类别帕累托图", "en": "Pareto of complaint categories"},
    "chart.cause": {"zh": "原因分类帕累托图", "en": "Pareto of root causes"},
    "chart.ontime_month": {"zh": "每月按时率", "en": "On-time rate per month"},
    "chart.ontime_dept": {"zh": "各部门按时率", "en": "On-time rate per department"},
    "chart.overdue": {"zh": "当前逾期事项（按部门和升级级别）", "en": "Items overdue now, by department and level"},
    "chart.satisfaction_month": {"zh": "每月满意度构成", "en": "Satisfaction per month"},
    "chart.satisfaction_total": {"zh": "满意度构成（期间合计）", "en": "Satisfaction, whole period"},
    "chart.special": {"zh": "每月特殊客诉", "en": "Special complaints per month"},
    "chart.nature": {"zh": "每月有效投诉与沟通性投诉", "en": "Valid and communication complaints per month"},
    "chart.duration": {"zh": "受理至结案工作日（按等级）", "en": "Working days from receipt to closing, by class"},
    "axis.count": {"zh": "数量", "en": "Count"},
    "axis.share": {"zh": "占比", "en": "Share"},
    "axis.days": {"zh": "工作日", "en": "Working days"},
    # footnotes
    "note.period": {
        "zh": "统计对象：受理日期在统计期间内的每一件投诉。某一统计只在它所需的字段为空或有错误时不计入该投诉"
              "（见汇总表“未计入”清单）；其他字段的错误（如电话、邮箱）不影响统计。结案数按结案月份计。",
        "en": "Counted: every complaint received in the period. A complaint is left out of a figure only when a "
              "field that figure needs is blank or has an error (see the list on the Summary sheet); errors in "
              "other fields (a phone, an e-mail) change no figure. Closed counts are by the month closed.",
    },
    "note.pareto": {
        "zh": "按数量从多到少排列；折线为累计占比（右轴）。空白的{what}不计入。",
        "en": "Sorted by count, largest first; the line is the cumulative share (right axis). Blank {what} not counted.",
    },
    "note.reply": {
        "zh": "按时答复：台账没有答复日期列，因此与催办规则一致——状态在承诺答复日期之后仍为“待处理”即为逾期答复；"
              "已离开“待处理”的投诉无法得知答复日期，按已按时答复计，故该比率为上限。尚未到期的答复不计入。"
              "如需精确比率，请在台账中增加答复日期列。",
        "en": "Reply on time: the register has no reply date, so replies are judged as the reminders judge them: "
              "a reply is late when the complaint is still Pending after its reply due date. A complaint that has "
              "left Pending counts as answered on time, as its reply date is unknown, so the rate is an upper bound. "
              "Replies not yet due are not counted. Add a reply-date column to the register for an exact rate.",
    },
    "note.followup": {
        "zh": "按时回访：回访日期不晚于回访期限；未结案且超过回访期限仍无回访日期的为逾期。"
              "承诺答复日期和回访期限为空时按等级计算（特殊客诉按A类）。按月统计时按受理月份归类。",
        "en": "Follow-up on time: follow-up done on or before its due date; an open complaint with no follow-up "
              "after its due date is late. Blank due dates are computed from the class (special complaints as "
              "class A). Per month means by the month received.",
    },
    "note.overdue": {
        "zh": "截至 {today} 逾期的答复、回访和纠正预防措施事项，取自催办计划、覆盖台账全部行（不受统计期间限制），"
              "与催办邮件一致。1级：负责人；2级：加部门负责人；3级：加质量经理。",
        "en": "Reply, follow-up and corrective-action items overdue on {today}, from the reminder plan over every "
              "row of the register (whatever the period), so they agree with the reminder mails. "
              "Level 1: handler; level 2: + department head; level 3: + quality manager.",
    },
    "note.satisfaction": {
        "zh": "已结案且填写了满意度的投诉，按结案月份统计。满意率 =（满意 + 基本满意）/ 已评价结案数。",
        "en": "Closed complaints with a satisfaction rating, by the month closed. "
              "Satisfaction rate = (satisfied + fairly satisfied) / closed with rating.",
    },
    "note.mix": {
        "zh": "按受理月份统计。沟通性投诉 = 求助型 + 咨询型 + 发泄型。",
        "en": "By the month received. Communication complaints = help-seeking + inquiry + venting.",
    },
    "note.duration": {
        "zh": "工作日数 = 受理日之后至结案日（含）的工作日，按工作日历（含法定节假日和调休）。"
              "90分位采用最近秩法：排序后第 ⌈0.9 × n⌉ 个值。",
        "en": "Working days = working days after the date received up to and including the date closed, by the "
              "work calendar (public holidays and make-up working days included). The 90th percentile uses the "
              "nearest-rank method: the value at position ceil(0.9 × n) of the sorted list.",
    },
    # terminal and mail
    # errors
    "err.same_as_register": {
        "zh": "报表路径 {path} 就是台账本身；报表绝不写入台账。请用 --out 指定另一个 .xlsx 文件。",
        "en": "the report path {path} is the register itself; the report never writes the register. "
              "Pass --out with another .xlsx file.",
    },
    "err.not_xlsx": {
        "zh": "报表路径 {path} 不是 .xlsx 文件；请用 --out 指定以 .xlsx 结尾的文件名。",
        "en": "the report path {path} is not an .xlsx file; pass --out with a name ending in .xlsx.",
    },
    "err.write": {
        "zh": "无法写入报表 {path}：{error}。请确认文件夹可写、文件未在 Excel 中打开。",
        "en": "cannot write the report {path}: {error}. Check that the folder is writable and the file is "
              "not open in Excel.",
    },
    "col.left_out_of": {"zh": "未计入的统计", "en": "Left out of"},
    "col.figure": {"zh": "统计项", "en": "Figure"},
    "col.unclassified": {"zh": "未分级", "en": "No class"},
    "left_out.by_figure": {"zh": "各统计项未计入的投诉数", "en": "Complaints left out, by figure"},
    "note.root_cause": {"zh": "另有 {count} 件投诉尚未填写原因分类（未分析），不计入本图。",
                        "en": "{count} more complaint(s) have no root cause recorded yet (not analysed) "
                              "and are not in this chart."},
}

_M: Messages = {**FIGURE_MESSAGES, **MESSAGES}


# -- the workbook --------------------------------------------------------------------------

_FONT = "Calibri"  # the workbook's default; CJK text falls back to the system's CJK font
_BOLD = Font(name=_FONT, bold=True)
_TITLE = Font(name=_FONT, bold=True, size=14)
_HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
_NOTE = Font(name=_FONT, italic=True, size=9, color="555555")
_PERCENT = "0.0%"
_DAYS = "0.0"
_CHART_W, _CHART_H = 18.0, 8.5  # cm


def default_out_path(config: Config) -> Path:
    """``[reports].out``, else ``<output.dir>/reports/complaint-statistics.xlsx``."""
    if config.reports.out:
        return config.path(config.reports.out)
    return config.output_dir / "reports" / "complaint-statistics.xlsx"


def write_workbook(stats: Statistics, config: Config, path: str | Path) -> Path:
    """Write the statistics workbook to ``path`` atomically; never onto the register."""
    language = config.language
    target = Path(path)
    if target.suffix.lower() != ".xlsx":
        raise ConfigError(translate(_M, "err.not_xlsx", language, path=target))
    if same_file(target, Path(stats.register_path)):
        raise ConfigError(translate(_M, "err.same_as_register", language, path=target))
    ensure_folder(target.parent, language)
    book = build_workbook(stats, config)
    buffer = io.BytesIO()
    book.save(buffer)
    try:
        atomic_write_bytes(target, buffer.getvalue())
    except OSError as exc:
        raise ConfigError(translate(_M, "err.write", language, path=target, error=exc.strerror or exc)) from exc
    log.info("statistics workbook written to %s", target)
    return target


def build_workbook(stats: Statistics, config: Config) -> Workbook:
    """The workbook in memory: a summary sheet first, then one sheet per figure."""
    w = _Writer(stats, config.language)
    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    w.summary(book.create_sheet(w.t("sheet.summary")))
    w.trend(book.create_sheet(w.t("sheet.trend")))
    w.pareto(book.create_sheet(w.t("sheet.category")), stats.category_pareto, "col.category", "category",
             "chart.category")
    w.pareto(book.create_sheet(w.t("sheet.cause")), stats.root_cause_pareto, "col.root_cause", "root_cause",
             "chart.cause")
    w.on_time(book.create_sheet(w.t("sheet.ontime")))
    w.overdue(book.create_sheet(w.t("sheet.overdue")))
    w.satisfaction(book.create_sheet(w.t("sheet.satisfaction")))
    w.mix(book.create_sheet(w.t("sheet.mix")))
    w.duration(book.create_sheet(w.t("sheet.duration")))
    for ws in book.worksheets:
        # Landscape, one page wide, so a chart is never cut in two; a figure sheet is one page,
        # the summary as many pages down as the left-out list needs, its table header repeated.
        summary = ws is book.worksheets[0]
        print_setup(ws, config.language, landscape=True, one_page=not summary,
                    header_rows=f"{w.left_out_header}:{w.left_out_header}" if summary and w.left_out_header
                    else None)
    return book


class _Writer:
    """Lays out each sheet: a title, a table (header at row 3), footnotes, then the charts."""

    def __init__(self, stats: Statistics, language: str) -> None:
        self.stats = stats
        self.language = language
        #: The header row of the summary's left-out table (repeated on every printed page).
        self.left_out_header = 0

    def t(self, key: str, **values: Any) -> str:
        return translate(_M, key, self.language, **values)

    def show(self, field_name: str, value: str) -> str:
        return display_value(field_name, value, self.language) if value else value

    # -- cells --------------------------------------------------------------------------
    @staticmethod
    def put(ws: Worksheet, row: int, col: int, value: Any, number_format: str | None = None) -> None:
        cell = ws.cell(row=row, column=col)
        set_text(cell, value)  # register text stays text: "=SUM(A1)" is shown, never run
        if number_format and value is not None:
            cell.number_format = number_format

    def title(self, ws: Worksheet, key: str) -> None:
        ws.cell(row=1, column=1, value=self.t(key)).font = _TITLE

    def table(self, ws: Worksheet, top: int, headers: Sequence[str], rows: Sequence[Sequence[Any]],
              formats: Sequence[str | None] = ()) -> int:
        """Write a header row and data rows from ``top``; returns the last row written."""
        for col, text in enumerate(headers, start=1):
            self.put(ws, top, col, text)
            cell = ws.cell(row=top, column=col)
            cell.font, cell.fill = _BOLD, _HEAD_FILL
            numeric = any(isinstance(v[col - 1], (int, float)) for v in rows if col - 1 < len(v))
            # A header sits over its figures: right-aligned over numbers, like Excel's own.
            cell.alignment = Alignment(wrap_text=True, vertical="center",
                                       horizontal="right" if numeric else "left")
        for r, values in enumerate(rows, start=top + 1):
            for col, value in enumerate(values, start=1):
                fmt = formats[col - 1] if col - 1 < len(formats) else None
                self.put(ws, r, col, value, fmt)
        for col, text in enumerate(headers, start=1):
            width = max([_width(text), *(_width(v[col - 1]) for v in rows if col - 1 < len(v))])
            letter = get_column_letter(col)
            ws.column_dimensions[letter].width = max(ws.column_dimensions[letter].width or 0,
                                                     min(max(width + 2, 10), 60))
        return top + len(rows)

    def no_data(self, ws: Worksheet) -> None:
        """Say so under the title (row 2 is always free) instead of drawing an empty chart."""
        self.put(ws, 2, 1, self.t("no_data"))
        ws.cell(row=2, column=1).font = _BOLD

    def notes(self, ws: Worksheet, row: int, *texts: str) -> int:
        """Footnotes wrapped in a merged cell as wide as the table, so they never run under a
        chart placed beside it."""
        last_col = max(ws.max_column, 6)
        width = sum(ws.column_dimensions[get_column_letter(c)].width or 8.43 for c in range(1, last_col + 1))
        for text in texts:
            self.put(ws, row, 1, text)
            cell = ws.cell(row=row, column=1)
            cell.font = _NOTE
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=last_col)
            # The 9-point font fits about 1.2 characters per unit of column width.
            lines = max(1, math.ceil(_width(text) / (width * 1.2)))
            ws.row_dimensions[row].height = 13 * lines
            row += 1
        return row

    # -- sheets -------------------------------------------------------------------------

    def _figure_block(self, ws: Worksheet, row: int, title: str, prefix: str, figures: dict[str, Any],
                      title_font: Font, value_font: Font | None) -> int:
        """A titled list of label/value rows (key figures, totals); returns the row after it."""
        self.put(ws, row, 1, self.t(title))
        ws.cell(row=row, column=1).font = title_font
        row += 1
        for key, value in figures.items():
            self.put(ws, row, 1, self.t(f"{prefix}.{key}"))
            self.put(ws, row, 2, "-" if value is None else value, _PERCENT if key.endswith("_rate") else None)
            if value_font is not None:
                ws.cell(row=row, column=2).font = value_font
            ws.cell(row=row, column=2).alignment = Alignment(horizontal="right")
            row += 1
        return row + 1
    def summary(self, ws: Worksheet) -> None:
        s = self.stats
        self.title(ws, "title")
        info = [
            (self.t("register"), s.register_path),
            (self.t("period"), s.period_text(self.language)),
            (self.t("today"), s.today.isoformat()),
        ]
        row = 3
        for label, value in info:
            self.put(ws, row, 1, label)
            ws.cell(row=row, column=1).font = _BOLD
            self.put(ws, row, 2, value)
            row += 1
        row += 1
        row = self._figure_block(ws, row, "key_figures", "kpi", s.headline, _TITLE,
                                 Font(name=_FONT, bold=True, size=13))
        row = self._figure_block(ws, row, "totals", "tot", s.totals, _BOLD, None)
        self.put(ws, row, 1, self.t("left_out.by_figure"))
        ws.cell(row=row, column=1).font = _BOLD
        row += 1
        for figure in FIGURES:
            self.put(ws, row, 1, self.t(f"figure.{figure}"))
            self.put(ws, row, 2, s.left_out_by_figure.get(figure, 0))
            ws.cell(row=row, column=2).alignment = Alignment(horizontal="right")
            row += 1
        row += 1
        self.put(ws, row, 1, self.t("left_out"))
        ws.cell(row=row, column=1).font = _BOLD
        row += 1
        if s.left_out:
            headers = [self.t(k) for k in ("col.cells", "col.complaint_id", "col.left_out_of", "col.problems")]
            sep = "、" if self.language == "zh" else ", "
            rows = [[", ".join(lo.cells) or f"{lo.sheet}!{lo.row}", lo.complaint_id,
                     sep.join(self.t(f"figure.{f}") for f in lo.figures), "\n".join(lo.problems)]
                    for lo in s.left_out]
            self.left_out_header = row
            last = self.table(ws, row, headers, rows)
            for r in range(row + 1, last + 1):
                for col in (1, 2, 3, 4):
                    ws.cell(row=r, column=col).alignment = Alignment(wrap_text=True, vertical="top")
            row = last + 1
        else:
            self.put(ws, row, 1, self.t("left_out.none"))
            row += 1
        row += 1
        ws.column_dimensions["A"].width = 34
        ws.column_dimensions["B"].width = 16
        ws.column_dimensions["C"].width = 28
        ws.column_dimensions["D"].width = 80
        if s.left_out:
            # Excel and LibreOffice do not grow a wrapped row when printing: size it here.
            fit_row_heights(ws, self.left_out_header + 1, self.left_out_header + len(s.left_out))
        self.notes(ws, row, self.t("note.period"), *s.notes)

    def trend(self, ws: Worksheet) -> None:
        s = self.stats
        self.title(ws, "chart.trend")
        # A "no class" column only when some complaint has no usable class.
        extra = any(m.unclassified for m in s.monthly)
        headers = [self.t("col.month"), *(self.t("col.class", value=c) for c in SEVERITIES),
                   *([self.t("col.unclassified")] if extra else []), self.t("col.received"), self.t("col.closed")]
        rows = [[m.month, *(m.by_class[c] for c in SEVERITIES), *([m.unclassified] if extra else []),
                 m.received, m.closed] for m in s.monthly]
        last = self.table(ws, 3, headers, rows)
        self.notes(ws, last + 2, self.t("note.period"))
        if not s.headline["received"]:
            self.no_data(ws)
            return
        bar = self.bar("chart.trend", ws, cats=(1, 4, last), data=(2, 3, 5 if extra else 4, last), stacked=True,
                       y_title="axis.count")
        _colour(bar.series, (*_CLASS_COLOURS, "A5A5A5") if extra else _CLASS_COLOURS)
        line = LineChart()
        line.add_data(Reference(ws, min_col=len(headers), min_row=3, max_row=last), titles_from_data=True)
        _straight(line)
        bar += line
        ws.add_chart(bar, "H3")

    def pareto(self, ws: Worksheet, rows_: Sequence[ParetoRow], col_key: str, field_name: str,
               chart_key: str) -> None:
        self.title(ws, chart_key)
        headers = [self.t(col_key), self.t("col.count"), self.t("col.share"), self.t("col.cumulative")]
        rows = [[self.show(field_name, p.value), p.count, p.share, p.cumulative_share] for p in rows_]
        last = self.table(ws, 3, headers, rows, (None, None, _PERCENT, _PERCENT))
        what = self.t(col_key)
        extra_notes = [self.t("note.root_cause", count=self.stats.no_root_cause)] \
            if field_name == "root_cause" and self.stats.no_root_cause else []
        self.notes(ws, last + 2, self.t("note.pareto", what=what), *extra_notes)
        if not rows:
            self.no_data(ws)
            return
        bar = self.bar(chart_key, ws, cats=(1, 4, last), data=(2, 3, 2, last), y_title="axis.count")
        bar.gapWidth = 40
        line = LineChart()
        line.add_data(Reference(ws, min_col=4, min_row=3, max_row=last), titles_from_data=True)
        _straight(line)
        line.y_axis.axId = 200
        line.y_axis.title = self.t("axis.share")
        line.y_axis.number_format = "0%"
        line.y_axis.scaling.min = 0
        line.y_axis.scaling.max = 1
        line.y_axis.majorGridlines = None
        line.y_axis.crosses = "max"
        line.y_axis.delete = False
        bar += line
        # Taller and wider than the others: category labels are long and get slanted.
        bar.width, bar.height = 22.0, 11.0
        ws.add_chart(bar, "F3")

    def on_time(self, ws: Worksheet) -> None:
        s = self.stats
        self.title(ws, "chart.ontime_month")
        keys = ("col.reply_due", "col.reply_on_time", "col.reply_rate",
                "col.followup_due", "col.followup_on_time", "col.followup_rate")
        formats = (None, None, None, _PERCENT, None, None, _PERCENT)

        def rows_of(items: Sequence[OnTimeRow]) -> list[list[Any]]:
            return [[o.key, o.reply_due, o.reply_on_time, o.reply_rate, o.followup_due,
                     o.followup_on_time, o.followup_rate] for o in items]

        month_rows = rows_of(s.on_time_by_month)
        last_m = self.table(ws, 3, [self.t("col.month"), *(self.t(k) for k in keys)], month_rows, formats)
        top_d = last_m + 3
        self.put(ws, top_d - 1, 1, self.t("chart.ontime_dept"))
        ws.cell(row=top_d - 1, column=1).font = _TITLE
        dept_rows = rows_of(s.on_time_by_department)
        last_d = self.table(ws, top_d, [self.t("col.department"), *(self.t(k) for k in keys)], dept_rows,
                            formats)
        self.notes(ws, last_d + 2, self.t("note.reply"), self.t("note.followup"))
        if not s.headline["received"]:
            self.no_data(ws)
            return
        if month_rows:
            line = LineChart()
            line.title = self.t("chart.ontime_month")
            for col in (4, 7):
                line.add_data(Reference(ws, min_col=col, min_row=3, max_row=last_m), titles_from_data=True)
            line.set_categories(Reference(ws, min_col=1, min_row=4, max_row=last_m))
            _straight(line)
            self.style_axes(line, "axis.share")
            line.y_axis.number_format = "0%"
            line.y_axis.scaling.min = 0
            line.y_axis.scaling.max = 1
            line.width, line.height = _CHART_W, _CHART_H
            ws.add_chart(line, "J3")
        if dept_rows:
            bar = BarChart()
            bar.type = "col"
            bar.title = self.t("chart.ontime_dept")
            for col in (4, 7):
                bar.add_data(Reference(ws, min_col=col, min_row=top_d, max_row=last_d), titles_from_data=True)
            bar.set_categories(Reference(ws, min_col=1, min_row=top_d + 1, max_row=last_d))
            self.style_axes(bar, "axis.share")
            bar.y_axis.number_format = "0%"
            bar.y_axis.scaling.min = 0
            bar.y_axis.scaling.max = 1
            bar.width, bar.height = _CHART_W, _CHART_H
            ws.add_chart(bar, "J21")

    def overdue(self, ws: Worksheet) -> None:
        s = self.stats
        self.title(ws, "chart.overdue")
        headers = [self.t("col.department"), *(self.t("col.level", level=lv) for lv in LEVELS),
                   self.t("col.total")]
        rows = [[o.department, *(o.by_level[lv] for lv in LEVELS), o.total] for o in s.overdue_by_department]
        last = self.table(ws, 3, headers, rows)
        self.notes(ws, last + 2, self.t("note.overdue", today=s.today.isoformat()))
        if not rows:
            self.no_data(ws)
            return
        bar = self.bar("chart.overdue", ws, cats=(1, 4, last), data=(2, 3, 4, last), stacked=True,
                       y_title="axis.count")
        _colour(bar.series, _LEVEL_COLOURS)
        ws.add_chart(bar, "H3")

    def satisfaction(self, ws: Worksheet) -> None:
        s = self.stats
        self.title(ws, "chart.satisfaction_month")
        names = [self.show("satisfaction", v) for v in SATISFACTIONS]
        headers = [self.t("col.month"), *names, self.t("col.rated"), *(f"{n} {self.t('col.share')}" for n in names),
                   self.t("col.rate")]
        rows = [[r.month, *(r.counts[v] for v in SATISFACTIONS), r.rated,
                 *(r.shares[v] for v in SATISFACTIONS), r.rate] for r in s.satisfaction_by_month]
        total = s.satisfaction_total
        rows.append([self.t("col.total"), *(total.counts[v] for v in SATISFACTIONS), total.rated,
                     *(total.shares[v] for v in SATISFACTIONS), total.rate])
        formats = (None, None, None, None, None, _PERCENT, _PERCENT, _PERCENT, _PERCENT)
        last = self.table(ws, 3, headers, rows, formats)
        for col in range(1, len(headers) + 1):
            ws.cell(row=last, column=col).font = _BOLD
        self.notes(ws, last + 2, self.t("note.satisfaction"))
        if total.rated == 0:
            self.no_data(ws)
            return
        # Per-month shares as 100 % stacked columns (the total row is left out of the chart).
        bar = BarChart()
        bar.type = "col"
        bar.grouping = "percentStacked"
        bar.overlap = 100
        bar.title = self.t("chart.satisfaction_month")
        bar.add_data(Reference(ws, min_col=2, max_col=4, min_row=3, max_row=last - 1), titles_from_data=True)
        bar.set_categories(Reference(ws, min_col=1, min_row=4, max_row=last - 1))
        self.style_axes(bar, "axis.share")
        bar.y_axis.number_format = "0%"
        bar.width, bar.height = _CHART_W, _CHART_H
        _colour(bar.series, _SATISFACTION_COLOURS)
        ws.add_chart(bar, f"A{last + 5}")
        pie = PieChart()
        pie.title = self.t("chart.satisfaction_total")
        pie.add_data(Reference(ws, min_col=2, max_col=4, min_row=last), from_rows=True, titles_from_data=False)
        pie.set_categories(Reference(ws, min_col=2, max_col=4, min_row=3))
        pie.series[0].tx = SeriesLabel(v=self.t("col.total"))
        pie.dataLabels = DataLabelList()
        pie.dataLabels.showPercent = True
        for flag in ("showVal", "showCatName", "showSerName", "showLegendKey"):
            setattr(pie.dataLabels, flag, False)
        pie.width, pie.height = 12.0, _CHART_H
        for index, colour in enumerate(_SATISFACTION_COLOURS):
            point = DataPoint(idx=index)
            point.graphicalProperties.solidFill = colour
            pie.series[0].dPt.append(point)
        ws.add_chart(pie, f"H{last + 5}")

    def mix(self, ws: Worksheet) -> None:
        s = self.stats
        self.title(ws, "chart.special")
        kinds = list(s.mix_by_month[0].special) if s.mix_by_month else list(SPECIAL_KINDS)
        headers = [self.t("col.month"), *(self.show("special", v) for v in kinds),
                   self.t("col.special_total"), *(self.show("nature", v) for v in NATURES),
                   self.t("col.communication")]
        rows = [[m.month, *(m.special[v] for v in kinds), m.special_total,
                 *(m.nature[v] for v in NATURES), m.communication] for m in s.mix_by_month]
        last = self.table(ws, 3, headers, rows)
        self.notes(ws, last + 2, self.t("note.mix"))
        if not s.headline["received"]:
            self.no_data(ws)
            return
        special = self.bar("chart.special", ws, cats=(1, 4, last), data=(2, 3, 5, last), stacked=True,
                           y_title="axis.count")
        ws.add_chart(special, f"A{last + 5}")
        # Valid (column G) against the communication total (column K).
        nature = self.bar("chart.nature", ws, cats=(1, 4, last), data=(7, 3, 7, last), stacked=True,
                          y_title="axis.count")
        nature.add_data(Reference(ws, min_col=11, min_row=3, max_row=last), titles_from_data=True)
        ws.add_chart(nature, f"H{last + 5}")

    def duration(self, ws: Worksheet) -> None:
        s = self.stats
        self.title(ws, "chart.duration")
        headers = [self.t("col.severity"), self.t("col.closed_count"), self.t("col.average"),
                   self.t("col.p90"), self.t("col.max")]
        rows = [[d.severity or self.t("all_classes"), d.closed, d.average, d.p90, d.longest]
                for d in s.duration_by_class]
        last = self.table(ws, 3, headers, rows, (None, None, _DAYS, None, None))
        self.notes(ws, last + 2, self.t("note.duration"))
        if not any(d.closed for d in s.duration_by_class):
            self.no_data(ws)
            return
        bar = self.bar("chart.duration", ws, cats=(1, 4, last - 1), data=(3, 3, 4, last - 1),
                       y_title="axis.days")
        ws.add_chart(bar, "H3")

    # -- charts -------------------------------------------------------------------------
    def bar(self, title_key: str, ws: Worksheet, *, cats: tuple[int, int, int],
            data: tuple[int, int, int, int], stacked: bool = False, y_title: str = "") -> BarChart:
        """A column chart of columns data[0]..data[2] (header at data[1]) down to row data[3]."""
        chart = BarChart()
        chart.type = "col"
        chart.title = self.t(title_key)
        if stacked:
            chart.grouping = "stacked"
            chart.overlap = 100
        min_col, header_row, max_col, max_row = data
        chart.add_data(Reference(ws, min_col=min_col, max_col=max_col, min_row=header_row, max_row=max_row),
                       titles_from_data=True)
        col, first, last = cats
        chart.set_categories(Reference(ws, min_col=col, min_row=first, max_row=last))
        self.style_axes(chart, y_title)
        if y_title == "axis.count":
            chart.y_axis.number_format = "0"
            chart.y_axis.majorUnit = 1 if _largest(ws, data) <= 10 else None
        chart.width, chart.height = _CHART_W, _CHART_H
        return chart

    def style_axes(self, chart: Any, y_title: str) -> None:
        # openpyxl 3.1 writes axes as deleted unless told otherwise; show them.
        chart.x_axis.delete = False
        chart.y_axis.delete = False
        if y_title:
            chart.y_axis.title = self.t(y_title)
        chart.legend.position = "b"


#: Green, amber, red: satisfied, fairly satisfied, dissatisfied; and escalation levels 1-3.
_SATISFACTION_COLOURS = ("70AD47", "FFC000", "C00000")
_LEVEL_COLOURS = ("FFC000", "ED7D31", "C00000")
#: Class A (most serious) red, B orange, C blue.
_CLASS_COLOURS = ("C00000", "ED7D31", "5B9BD5")


def _colour(series: Sequence[Any], colours: Sequence[str]) -> None:
    for one, colour in zip(series, colours, strict=True):
        one.graphicalProperties.solidFill = colour
        one.graphicalProperties.line.solidFill = colour


def _straight(chart: LineChart) -> None:
    """Straight segments with markers: a smoothed line suggests values between the months."""
    for series in chart.series:
        series.smooth = False
        series.marker.symbol = "circle"


def _largest(ws: Worksheet, data: tuple[int, int, int, int]) -> float:
    """The largest stacked total of a chart's data rows (for the axis step)."""
    min_col, header_row, max_col, max_row = data
    totals = [sum(v for c in range(min_col, max_col + 1)
                  if isinstance(v := ws.cell(row=r, column=c).value, (int, float)))
              for r in range(header_row + 1, max_row + 1)]
    return max(totals, default=0)


def _width(value: Any) -> int:
    """Display width of a cell value: CJK characters count double."""
    if value is None:
        return 0
    text = f"{value:.1%}" if isinstance(value, float) else str(value)
    longest = max(text.split("\n"), key=len)
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in longest)

