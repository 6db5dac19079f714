"""Statistics for the quality manager: figures as plain data, and a workbook with native charts.

The figures (:class:`Statistics`) are computed from the register's records that passed
validation and were received in the period; :func:`write_workbook` lays them out as tables
with native Excel charts (bar, line, pie), so they stay editable in Excel, WPS and LibreOffice.

>>> register = read_register(config, config.register_path)
>>> stats = compute_statistics(register, validate(register, config, today), config, today=today)
>>> stats.headline["received"]
20
>>> write_workbook(stats, config, "output/reports/complaint-statistics.xlsx")

Definitions (also printed as footnotes in the workbook):

- Period: ``received_on`` between ``date_from`` and ``date_to`` inclusive (default: everything
  received up to ``today``). Rows with validation errors are left out and listed.
- Reply on time: the register has no reply date, so replies are judged the way reminders judge
  them: a reply is late when the complaint is still 待处理 after its reply due date. A complaint
  that has left 待处理 counts as answered on time, since the register cannot show when it was
  answered; the rate is therefore an upper bound. A reply not yet due is not counted.
- Follow-up on time: ``followup_done <= followup_due``; an open complaint with no follow-up
  after its due date is late; one not yet due is not counted.
- On-time rates per month are by the month the complaint was received.
- Satisfaction rate: (满意 + 基本满意) / closed complaints with a satisfaction recorded, by the
  month closed.
- Working days to close: working days after ``received_on`` up to and including ``closed_on``
  (the calendar of the reminders); the 90th percentile uses the nearest-rank method: the value
  at position ceil(0.9 × n) of the sorted list.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import math
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
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

from .addresses import AddressError, check_address
from .config import Config, parse_weekly  # parse_weekly: re-exported, it lives with the config
from .errors import ConfigError
from .fields import (
    CLOSED,
    NATURES,
    PENDING,
    ROOT_CAUSES,
    SATISFACTIONS,
    SEVERITIES,
    SPECIALS,
    VALID_COMPLAINT,
    display_value,
    is_special,
)
from .fsutil import atomic_write_bytes, ensure_folder, same_file
from .i18n import Messages, translate
from .mail import sender_address  # the same sender check as reminders
from .model import Finding, Record, Register
from .reminders import DueDates, ReminderItem, due_dates, plan_reminders
from .workbooks import set_text
from .workdays import WorkCalendar

log = logging.getLogger(__name__)

#: Satisfaction values that count as satisfied for the satisfaction rate.
SATISFIED = SATISFACTIONS[:2]
#: The kinds of special complaint (特殊客诉 other than 否).
SPECIAL_KINDS = SPECIALS[1:]
LEVELS = (1, 2, 3)

M: Messages = {
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
    "period.value": {"zh": "{start} 至 {end}", "en": "{start} to {end}"},
    "period.start": {"zh": "最早记录", "en": "first record"},
    "today": {"zh": "统计日（逾期判断基准）", "en": "As of (for overdue)"},
    "key_figures": {"zh": "关键指标", "en": "Key figures"},
    "kpi.received": {"zh": "受理投诉数", "en": "Complaints received"},
    "kpi.closed": {"zh": "已结案数", "en": "Complaints closed"},
    "kpi.reply_on_time_rate": {"zh": "按时答复率", "en": "On-time reply rate"},
    "kpi.satisfaction_rate": {"zh": "满意率（满意+基本满意）", "en": "Satisfaction rate (satisfied + fairly satisfied)"},
    "kpi.overdue_complaints": {"zh": "当前逾期投诉数", "en": "Complaints overdue now"},
    "totals": {"zh": "合计", "en": "Totals"},
    "tot.rows_read": {"zh": "台账数据行", "en": "Register rows read"},
    "tot.rows_left_out": {"zh": "因错误未计入的行", "en": "Rows left out because of errors"},
    "tot.rows_outside_period": {"zh": "不在统计期间的行", "en": "Rows outside the period"},
    "tot.received": {"zh": "计入统计的投诉", "en": "Complaints counted"},
    "tot.closed": {"zh": "已结案", "en": "Closed"},
    "tot.open": {"zh": "未结案", "en": "Open"},
    "tot.valid": {"zh": "有效投诉", "en": "Valid complaints"},
    "tot.communication": {"zh": "沟通性投诉", "en": "Communication complaints"},
    "tot.special": {"zh": "特殊客诉", "en": "Special complaints"},
    "tot.followup_on_time_rate": {"zh": "按时回访率", "en": "On-time follow-up rate"},
    "tot.overdue_items": {"zh": "当前逾期事项", "en": "Items overdue now"},
    "left_out": {"zh": "未计入统计的行（请在台账中修正后重新生成）",
                 "en": "Rows left out (fix them in the register and run the report again)"},
    "left_out.none": {"zh": "无：所有行均已计入。", "en": "None: every row is counted."},
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
        "zh": "统计对象：受理日期在统计期间内、且没有错误的台账行。结案数按结案月份计。",
        "en": "Counted: register rows received in the period and free of errors. Closed counts are by the month closed.",
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
        "zh": "截至 {today} 逾期的答复、回访和纠正预防措施事项（与催办计划相同）。1级：负责人；2级：加部门负责人；"
              "3级：加质量经理。",
        "en": "Reply, follow-up and corrective-action items overdue on {today} (as in the reminder plan). "
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
    "text.head": {"zh": "客诉统计：{period}（统计日 {today}）", "en": "Complaint statistics: {period} (as of {today})"},
    "text.left_out": {"zh": "因错误未计入 {count} 行，请修正：{cells}",
                      "en": "{count} row(s) left out because of errors; fix: {cells}"},
    "text.workbook": {"zh": "工作簿：{path}", "en": "Workbook: {path}"},
    "mail.subject": {"zh": "【客诉周报】{today}：受理 {received} 件，当前逾期 {overdue} 件",
                     "en": "[Complaint weekly report] {today}: {received} received, {overdue} overdue now"},
    "mail.intro": {"zh": "您好：\n\n附件为本周客诉统计工作簿（含图表）。关键指标如下：",
                   "en": "Hello,\n\nAttached is this week's complaint statistics workbook (with charts). "
                         "Key figures:"},
    "mail.outro": {"zh": "此邮件由客诉工具自动发送，请勿直接回复。",
                   "en": "This message was sent automatically by the complaint toolkit; please do not reply."},
    "err.no_quality_manager": {
        "zh": "周报发给质量经理，但 [reminders].quality_manager 未填写；请在 config.toml 中填写其邮箱，"
              "或将 [reports].weekly 留空以关闭周报。",
        "en": "the weekly report goes to the quality manager, but [reminders].quality_manager is not set; "
              "set it in config.toml, or leave [reports].weekly empty to turn the weekly report off.",
    },
    "err.bad_recipient": {
        "zh": "[reminders].quality_manager 的地址“{address}”无效（{why}）；请更正 config.toml。",
        "en": "[reminders].quality_manager \"{address}\" is not a valid address ({why}); correct config.toml.",
    },
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
    "err.period": {
        "zh": "统计期间的开始日期 {start} 晚于结束日期 {end}；请交换 --from 和 --to。",
        "en": "the period starts on {start}, after its end {end}; swap --from and --to.",
    },
    "err.period_today": {
        "zh": "--from {start} 晚于统计日 {end}（未给 --to 时统计到 --today）：请给更早的 --from，"
              "或用 --to 指定结束日期。",
        "en": "--from {start} is after {end}, the end of the period when --to is not given (--today): "
              "give an earlier --from, or an end date with --to.",
    },
    "err.write": {
        "zh": "无法写入报表 {path}：{error}。请确认文件夹可写、文件未在 Excel 中打开。",
        "en": "cannot write the report {path}: {error}. Check that the folder is writable and the file is "
              "not open in Excel.",
    },
    "no_records_dated": {
        "zh": "受理日期为空或无法识别，无法归入统计期间",
        "en": "date received is blank or unreadable, so the row cannot be placed in the period",
    },
}


# -- the figures ---------------------------------------------------------------------------


@dataclass(slots=True)
class LeftOutRow:
    """A register row left out of the figures, with the cells and problems that caused it."""

    sheet: str
    row: int
    complaint_id: str
    cells: list[str]
    problems: list[str]


@dataclass(slots=True)
class MonthRow:
    month: str  # "2026-03"
    by_class: dict[str, int]  # "A"/"B"/"C" -> received
    received: int
    closed: int  # closed in this month


@dataclass(slots=True)
class ParetoRow:
    value: str  # canonical (Chinese) list value, or the config list's own text
    count: int
    share: float
    cumulative_share: float


@dataclass(slots=True)
class OnTimeRow:
    key: str  # month "2026-03" or a department
    reply_due: int
    reply_on_time: int
    reply_rate: float | None
    followup_due: int
    followup_on_time: int
    followup_rate: float | None


@dataclass(slots=True)
class OverdueRow:
    department: str
    by_level: dict[int, int]  # 1/2/3 -> items
    total: int


@dataclass(slots=True)
class SatisfactionRow:
    month: str  # month closed
    counts: dict[str, int]  # 满意/基本满意/不满意 -> closed complaints
    rated: int
    shares: dict[str, float | None]
    rate: float | None  # (满意 + 基本满意) / rated


@dataclass(slots=True)
class MixRow:
    month: str  # month received
    special: dict[str, int]  # 监管部门/消协/媒体/疑似敲诈 -> complaints
    special_total: int
    nature: dict[str, int]  # 有效投诉/求助型/咨询型/发泄型 -> complaints
    valid: int
    communication: int


@dataclass(slots=True)
class DurationRow:
    severity: str  # "A"/"B"/"C", or "" for all classes
    closed: int
    average: float | None
    p90: int | None
    longest: int | None


@dataclass(slots=True)
class Statistics:
    """Every figure of the report, as plain data (canonical Chinese list values)."""

    register_path: str
    today: dt.date
    date_from: dt.date | None  # None: from the first record
    date_to: dt.date
    headline: dict[str, int | float | None]
    totals: dict[str, int | float | None]
    monthly: list[MonthRow]
    category_pareto: list[ParetoRow]
    root_cause_pareto: list[ParetoRow]
    on_time_by_month: list[OnTimeRow]
    on_time_by_department: list[OnTimeRow]
    overdue_by_department: list[OverdueRow]
    satisfaction_by_month: list[SatisfactionRow]
    satisfaction_total: SatisfactionRow
    mix_by_month: list[MixRow]
    duration_by_class: list[DurationRow]
    left_out: list[LeftOutRow]
    #: The earliest date received counted (the period's start when --from is not given).
    first_received: dt.date | None = None
    #: Remarks met while computing (e.g. the calendar does not know a year).
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures: dates as ISO text, level keys as text."""
        data = asdict(self)
        for key in ("today", "date_from", "date_to", "first_received"):
            value = getattr(self, key)
            data[key] = value.isoformat() if value else None
        for row in data["overdue_by_department"]:
            row["by_level"] = {str(k): v for k, v in row["by_level"].items()}
        return data

    def period_text(self, language: str) -> str:
        start = self.date_from or self.first_received
        shown = start.isoformat() if start else translate(M, "period.start", language)
        return translate(M, "period.value", language, start=shown, end=self.date_to.isoformat())

    def to_text(self, language: str, workbook: str | Path | None = None) -> str:
        """A few lines for the terminal: period, the key figures, rows left out, the file."""
        lines = [translate(M, "text.head", language, period=self.period_text(language),
                           today=self.today.isoformat())]
        for key, value in self.headline.items():
            colon = "：" if language == "zh" else ": "
            lines.append(f"  {translate(M, f'kpi.{key}', language)}{colon}{_show_number(value)}")
        if self.left_out:
            cells = "; ".join(c for row in self.left_out for c in (row.cells or [f"{row.sheet}!{row.row}"]))
            lines.append(translate(M, "text.left_out", language, count=len(self.left_out), cells=cells))
        lines.extend(self.notes)
        if workbook is not None:
            lines.append(translate(M, "text.workbook", language, path=workbook))
        return "\n".join(lines)


def _show_number(value: int | float | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1%}"
    return str(value)


def compute_statistics(register: Register, report: Any, config: Config, *, today: dt.date,
                       date_from: dt.date | None = None, date_to: dt.date | None = None) -> Statistics:
    """The report's figures for records received from ``date_from`` to ``date_to`` (inclusive;
    default: everything up to ``today``). Rows with errors in ``report`` (a
    :class:`toolkit.validate.ValidationReport`, or None) are left out and listed."""
    language = config.language
    end = date_to or today
    if date_from and date_from > end:
        key = "err.period" if date_to else "err.period_today"
        raise ConfigError(translate(M, key, language, start=date_from, end=end))
    errors: dict[tuple[str, int], list[Finding]] = report.errors_by_row() if report is not None else {}

    left_out: list[LeftOutRow] = []
    counted: list[Record] = []
    outside = 0
    for record in register.records:
        findings = errors.get((record.sheet, record.row))
        if findings:
            left_out.append(_left_out(record, findings))
            continue
        received = _date(record.get("received_on"))
        if received is None:
            cell = register.cell(record, "received_on")
            left_out.append(LeftOutRow(record.sheet, record.row, record.complaint_id, [cell],
                                       [translate(M, "no_records_dated", language)]))
            continue
        if received > end or (date_from and received < date_from):
            outside += 1
            continue
        counted.append(record)

    calendar = WorkCalendar.from_config(config)
    plan = plan_reminders(counted, config, today, calendar)
    overdue_items = [item for item in plan.items if item.level >= 1]
    dues = {id(r): due_dates(r, config, calendar) for r in counted}

    months = _months(counted, date_from, end)
    closed = [r for r in counted if r.get("status") == CLOSED]
    reply_total = _on_time_row("", counted, dues, today)
    followup_rate = reply_total.followup_rate
    communication = sum(1 for r in counted if r.get("nature") in NATURES[1:])
    headline: dict[str, int | float | None] = {
        "received": len(counted),
        "closed": len(closed),
        "reply_on_time_rate": reply_total.reply_rate,
        "satisfaction_rate": None,  # filled below
        "overdue_complaints": len({item.complaint_id for item in overdue_items}),
    }
    satisfaction_by_month = _satisfaction(closed, months)
    satisfaction_total = _satisfaction_row("", closed)
    headline["satisfaction_rate"] = satisfaction_total.rate
    totals: dict[str, int | float | None] = {
        "rows_read": len(register.records),
        "rows_left_out": len(left_out),
        "rows_outside_period": outside,
        "received": len(counted),
        "closed": len(closed),
        "open": len(counted) - len(closed),
        "valid": sum(1 for r in counted if r.get("nature") == VALID_COMPLAINT),
        "communication": communication,
        "special": sum(1 for r in counted if is_special(r.get("special"))),
        "followup_on_time_rate": followup_rate,
        "overdue_items": len(overdue_items),
    }
    categories = list(config.list_values("categories"))
    departments = list(config.list_values("departments"))
    return Statistics(
        register_path=str(register.path),
        today=today,
        date_from=date_from,
        date_to=end,
        headline=headline,
        totals=totals,
        monthly=_monthly(counted, months),
        category_pareto=_pareto((r.get("category") for r in counted), categories),
        root_cause_pareto=_pareto((r.get("root_cause") for r in counted), list(ROOT_CAUSES)),
        on_time_by_month=[_on_time_row(m, [r for r in counted if _month(r.get("received_on")) == m],
                                       dues, today) for m in months],
        on_time_by_department=[
            _on_time_row(d, [r for r in counted if r.get("department") == d], dues, today)
            for d in _ordered({str(r.get("department")) for r in counted if r.get("department")}, departments)
        ],
        overdue_by_department=_overdue(overdue_items, departments),
        satisfaction_by_month=satisfaction_by_month,
        satisfaction_total=satisfaction_total,
        mix_by_month=[_mix_row(m, [r for r in counted if _month(r.get("received_on")) == m]) for m in months],
        duration_by_class=_durations(closed, calendar),
        left_out=left_out,
        first_received=min((_date(r.get("received_on")) for r in counted), default=None),
        # Calendar warnings only: the plan's other warnings are about mailing, not figures.
        notes=list(calendar.warnings),
    )


def _left_out(record: Record, findings: Sequence[Finding]) -> LeftOutRow:
    cells = list(dict.fromkeys(f.cell for f in findings if f.cell))
    problems = list(dict.fromkeys(f.message for f in findings))
    return LeftOutRow(record.sheet, record.row, record.complaint_id, cells, problems)


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None


def _month(value: Any) -> str:
    day = _date(value)
    return f"{day.year:04d}-{day.month:02d}" if day else ""


def _months(records: Sequence[Record], date_from: dt.date | None, end: dt.date) -> list[str]:
    """Every month from the period's start (or first record) to its end, extended to the last
    closing month so no closed count falls off the chart."""
    received = [_date(r.get("received_on")) for r in records]
    closed = [_date(r.get("closed_on")) for r in records]
    first = date_from or min((d for d in received if d), default=None)
    if first is None:
        return []
    last = max([end, *(d for d in closed if d)])
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _ordered(values: Iterable[str], order: Sequence[str]) -> list[str]:
    """``values`` in config-list order, unknown ones after, alphabetically."""
    rank = {v: i for i, v in enumerate(order)}
    return sorted(values, key=lambda v: (rank.get(v, len(rank)), v))


def _monthly(records: Sequence[Record], months: Sequence[str]) -> list[MonthRow]:
    received = Counter((_month(r.get("received_on")), r.get("severity")) for r in records)
    closed = Counter(_month(r.get("closed_on")) for r in records if r.get("status") == CLOSED)
    rows = []
    for m in months:
        by_class = {s: received[(m, s)] for s in SEVERITIES}
        rows.append(MonthRow(m, by_class, sum(by_class.values()), closed[m]))
    return rows


def _pareto(values: Iterable[Any], order: Sequence[str]) -> list[ParetoRow]:
    counts = Counter(str(v) for v in values if v not in (None, ""))
    total = sum(counts.values())
    rank = {v: i for i, v in enumerate(order)}
    # Ties keep the list's own order, so the chart does not reshuffle from run to run.
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], rank.get(kv[0], len(rank)), kv[0]))
    rows, running = [], 0
    for value, count in ranked:
        running += count
        rows.append(ParetoRow(value, count, count / total, running / total))
    return rows


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _on_time_row(key: str, records: Sequence[Record], dues: dict[int, DueDates], today: dt.date) -> OnTimeRow:
    reply_due = reply_ok = followup_due = followup_ok = 0
    for record in records:
        due = dues[id(record)]
        status = record.get("status")
        if due.reply is not None:
            if status == PENDING:
                if due.reply < today:  # still pending after the due date: late
                    reply_due += 1
            elif status:  # answered; the register cannot date it (see the module docstring)
                reply_due += 1
                reply_ok += 1
        if due.followup is not None:
            done = _date(record.get("followup_done"))
            if done is not None:
                followup_due += 1
                followup_ok += done <= due.followup
            elif status != CLOSED and due.followup < today:
                followup_due += 1
    return OnTimeRow(key, reply_due, reply_ok, _rate(reply_ok, reply_due),
                     followup_due, followup_ok, _rate(followup_ok, followup_due))


def _overdue(items: Sequence[ReminderItem], departments: Sequence[str]) -> list[OverdueRow]:
    counts = Counter((item.department or "", min(item.level, 3)) for item in items)
    names = _ordered({d for d, _ in counts}, departments)
    rows = []
    for name in names:
        by_level = {level: counts[(name, level)] for level in LEVELS}
        rows.append(OverdueRow(name, by_level, sum(by_level.values())))
    return rows


def _satisfaction_row(key: str, closed: Sequence[Record]) -> SatisfactionRow:
    counts = Counter(r.get("satisfaction") for r in closed)
    by_value = {s: counts[s] for s in SATISFACTIONS}
    rated = sum(by_value.values())
    shares = {s: _rate(n, rated) for s, n in by_value.items()}
    return SatisfactionRow(key, by_value, rated, shares, _rate(sum(by_value[s] for s in SATISFIED), rated))


def _satisfaction(closed: Sequence[Record], months: Sequence[str]) -> list[SatisfactionRow]:
    return [_satisfaction_row(m, [r for r in closed if _month(r.get("closed_on")) == m]) for m in months]


def _mix_row(month: str, records: Sequence[Record]) -> MixRow:
    special = Counter(r.get("special") for r in records)
    nature = Counter(r.get("nature") for r in records)
    by_special = {s: special[s] for s in SPECIAL_KINDS}
    by_nature = {n: nature[n] for n in NATURES}
    communication = sum(by_nature[n] for n in NATURES[1:])
    return MixRow(month, by_special, sum(by_special.values()), by_nature, by_nature[VALID_COMPLAINT],
                  communication)


def _wrapped_lines(text: str, width: int) -> int:
    """Lines ``text`` takes in a column ``width`` characters wide (CJK characters count two)."""
    total = 0
    for line in str(text).split("\n"):
        cells = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)
        total += max(1, -(-cells // width))
    return total


def percentile_nearest_rank(values: Sequence[int], percent: float) -> int | None:
    """The nearest-rank percentile: the value at position ceil(p/100 × n) of the sorted list."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def _durations(closed: Sequence[Record], calendar: WorkCalendar) -> list[DurationRow]:
    days: dict[str, list[int]] = defaultdict(list)
    for record in closed:
        start, end = _date(record.get("received_on")), _date(record.get("closed_on"))
        if start is None or end is None:
            continue
        value = calendar.workdays_between(start, end)
        days[str(record.get("severity") or "")].append(value)
        days[""].append(value)
    rows = []
    for severity in (*SEVERITIES, ""):
        values = days.get(severity, [])
        rows.append(DurationRow(severity, len(values), sum(values) / len(values) if values else None,
                                percentile_nearest_rank(values, 90), max(values) if values else None))
    return rows


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
        raise ConfigError(translate(M, "err.not_xlsx", language, path=target))
    if same_file(target, Path(stats.register_path)):
        raise ConfigError(translate(M, "err.same_as_register", language, path=target))
    ensure_folder(target.parent, language)
    book = build_workbook(stats, config)
    buffer = io.BytesIO()
    book.save(buffer)
    try:
        atomic_write_bytes(target, buffer.getvalue())
    except OSError as exc:
        raise ConfigError(translate(M, "err.write", language, path=target, error=exc.strerror or exc)) from exc
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
        # Printed (or exported to PDF) landscape, each sheet one page wide, so a chart is never
        # cut in two; the summary may run to several pages when many rows were left out.
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0 if ws is book.worksheets[0] else 1
    return book


class _Writer:
    """Lays out each sheet: a title, a table (header at row 3), footnotes, then the charts."""

    def __init__(self, stats: Statistics, language: str) -> None:
        self.stats = stats
        self.language = language

    def t(self, key: str, **values: Any) -> str:
        return translate(M, key, self.language, **values)

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
        self.put(ws, row, 1, self.t("key_figures"))
        ws.cell(row=row, column=1).font = _TITLE
        row += 1
        for key, value in s.headline.items():
            self.put(ws, row, 1, self.t(f"kpi.{key}"))
            self.put(ws, row, 2, "-" if value is None else value, _PERCENT if key.endswith("_rate") else None)
            ws.cell(row=row, column=2).font = Font(name=_FONT, bold=True, size=13)
            ws.cell(row=row, column=2).alignment = Alignment(horizontal="right")
            row += 1
        row += 1
        self.put(ws, row, 1, self.t("totals"))
        ws.cell(row=row, column=1).font = _BOLD
        row += 1
        for key, value in s.totals.items():
            self.put(ws, row, 1, self.t(f"tot.{key}"))
            self.put(ws, row, 2, "-" if value is None else value, _PERCENT if key.endswith("_rate") else None)
            ws.cell(row=row, column=2).alignment = Alignment(horizontal="right")
            row += 1
        row += 1
        self.put(ws, row, 1, self.t("left_out"))
        ws.cell(row=row, column=1).font = _BOLD
        row += 1
        if s.left_out:
            headers = [self.t(k) for k in ("col.cells", "col.complaint_id", "col.problems")]
            rows = [[", ".join(lo.cells) or f"{lo.sheet}!{lo.row}", lo.complaint_id, "\n".join(lo.problems)]
                    for lo in s.left_out]
            last = self.table(ws, row, headers, rows)
            for r, values in zip(range(row + 1, last + 1), rows, strict=True):
                for col in (1, 2, 3):
                    ws.cell(row=r, column=col).alignment = Alignment(wrap_text=True, vertical="top")
                # Excel and LibreOffice do not grow a wrapped row when printing: size it here.
                lines = max(_wrapped_lines(values[0], 34), _wrapped_lines(values[2], 80))
                ws.row_dimensions[r].height = 15 * lines
            row = last + 1
        else:
            self.put(ws, row, 1, self.t("left_out.none"))
            row += 1
        row += 1
        ws.column_dimensions["A"].width = 34
        ws.column_dimensions["B"].width = 22
        ws.column_dimensions["C"].width = 80
        self.notes(ws, row, self.t("note.period"), *s.notes)

    def trend(self, ws: Worksheet) -> None:
        s = self.stats
        self.title(ws, "chart.trend")
        headers = [self.t("col.month"), *(self.t("col.class", value=c) for c in SEVERITIES),
                   self.t("col.received"), self.t("col.closed")]
        rows = [[m.month, *(m.by_class[c] for c in SEVERITIES), m.received, m.closed] for m in s.monthly]
        last = self.table(ws, 3, headers, rows)
        self.notes(ws, last + 2, self.t("note.period"))
        if not s.headline["received"]:
            self.no_data(ws)
            return
        bar = self.bar("chart.trend", ws, cats=(1, 4, last), data=(2, 3, 4, last), stacked=True,
                       y_title="axis.count")
        _colour(bar.series, _CLASS_COLOURS)
        line = LineChart()
        line.add_data(Reference(ws, min_col=6, min_row=3, max_row=last), titles_from_data=True)
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
        self.notes(ws, last + 2, self.t("note.pareto", what=what))
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
        headers = [self.t("col.month"), *(self.show("special", v) for v in SPECIAL_KINDS),
                   self.t("col.special_total"), *(self.show("nature", v) for v in NATURES),
                   self.t("col.communication")]
        rows = [[m.month, *(m.special[v] for v in SPECIAL_KINDS), m.special_total,
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


# -- the weekly digest ---------------------------------------------------------------------

def last_weekly_slot(config: Config, now: dt.datetime) -> dt.datetime | None:
    """The latest scheduled weekly time at or before ``now`` (None when the digest is off)."""
    parsed = parse_weekly(config.reports.weekly, config.language)
    if parsed is None:
        return None
    weekday, at = parsed
    slot = dt.datetime.combine(now.date() - dt.timedelta(days=(now.weekday() - weekday) % 7), at,
                               tzinfo=now.tzinfo)
    if slot > now:
        slot -= dt.timedelta(days=7)
    return slot


def weekly_report_due(config: Config, now: dt.datetime, last_sent: dt.datetime | None) -> bool:
    """True when the weekly digest should go out now: a scheduled time has passed since it was
    last sent. A missed slot (the scheduler was down on Monday) is caught up once, at the next
    run; older missed weeks are not sent again."""
    slot = last_weekly_slot(config, now)
    if slot is None:
        return False
    return last_sent is None or last_sent < slot


def build_weekly_mail(stats: Statistics, config: Config, workbook: str | Path, *,
                      now: dt.datetime) -> EmailMessage:
    """The weekly digest to the quality manager: key figures in the body, the workbook attached.

    Built like the reminder digests (same sender, headers and policy) so it goes through the
    same transport: ``make_transport(config, now).send(sender, [to], msg.as_bytes(), label)``.
    The subject holds numbers only, never register text. Raises :class:`ConfigError` when
    ``[reminders].quality_manager`` is missing or not an address, :class:`MailError` for a bad
    ``[mail].sender``.
    """
    language = config.language
    recipient = config.reminders.quality_manager.strip()
    if not recipient:
        raise ConfigError(translate(M, "err.no_quality_manager", language))
    try:
        to = check_address(recipient)
    except AddressError as exc:
        raise ConfigError(translate(M, "err.bad_recipient", language, address=recipient, why=exc)) from exc
    sender = sender_address(config.mail, language)
    path = Path(workbook)
    msg = EmailMessage(policy=SMTP)
    msg["Subject"] = translate(M, "mail.subject", language, today=stats.today.isoformat(),
                               received=stats.headline["received"],
                               overdue=stats.headline["overdue_complaints"])
    msg["From"] = sender
    msg["To"] = to
    msg["Date"] = format_datetime(now if now.tzinfo else now.astimezone())
    msg["Message-ID"] = make_msgid("weekly-report", domain=sender.domain)
    msg["Auto-Submitted"] = "auto-generated"
    body = [translate(M, "mail.intro", language), "",
            stats.to_text(language), "", translate(M, "mail.outro", language)]
    msg.set_content("\n".join(body) + "\n", subtype="plain", charset="utf-8")
    msg.add_attachment(path.read_bytes(), maintype="application",
                       subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       filename=path.name)
    return msg
