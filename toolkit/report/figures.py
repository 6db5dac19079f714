"""The statistics as plain data: every figure counts every complaint whose own fields allow it.

Pure: no file is written and openpyxl is not imported; the workbook, the dashboard and the
weekly digest lay these figures out.

>>> register = read_register(config, config.register_path)
>>> stats = compute_statistics(register, validate(register, config, today), config, today=today)
>>> stats.headline["received"]
20
>>> [(lo.cells, lo.figures) for lo in stats.left_out]      # what was left out of which figure

The counting rule: a complaint is left out of a figure only when a field *that figure needs*
is unusable — blank where the figure needs a value, or with an error finding on that very
field. A mistyped phone number leaves every figure alone; a blank 受理日期 keeps the complaint
out of the monthly trend but not out of the category Pareto. Each left-out complaint is listed
with the figures it is missing from and why (:attr:`Statistics.left_out`).

Definitions (also printed as footnotes in the workbook):

- Period: ``received_on`` between ``date_from`` and ``date_to`` inclusive (default: everything
  received up to ``today``). Without ``--from``/``--to`` a complaint whose 受理日期 is unusable
  is still counted in the figures that do not need the date; with a bounded period it cannot
  be placed in it and is left out of every figure (and listed).
- Reply on time: the register has no reply date, so replies are judged the way reminders judge
  them: a reply is late when the complaint is still 待处理 after its reply due date. A complaint
  that has left 待处理 counts as answered on time, since the register cannot show when it was
  answered; the rate is therefore an upper bound. A reply not yet due is not counted. A due date
  the register does not give and that would have to be guessed (no usable class) is not judged.
- Follow-up on time: ``followup_done <= followup_due``; an open complaint with no follow-up
  after its due date is late; one not yet due is not counted.
- Overdue now: the items of the reminder planner (:func:`toolkit.reminders.plan_reminders`) on
  every row of the register, whatever the period, so the report and the reminders agree.
- On-time rates per month are by the month the complaint was received.
- Satisfaction rate: (满意 + 基本满意) / closed complaints with a satisfaction recorded.
- Working days to close: working days after ``received_on`` up to and including ``closed_on``
  (the calendar of the reminders); the 90th percentile uses the nearest-rank method: the value
  at position ceil(0.9 × n) of the sorted list.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..config import Config
from ..errors import ConfigError
from ..fields import (
    CLOSED,
    FIELD_BY_NAME,
    NATURES,
    PENDING,
    ROOT_CAUSES,
    SATISFACTIONS,
    SEVERITIES,
    SPECIALS,
    VALID_COMPLAINT,
    is_special,
)
from ..i18n import Messages, translate
from ..model import ERROR, Finding, Record, Register, paused_gc
from ..reminders import DueDates, ReminderItem, ReminderPlan, due_dates, plan_reminders
from ..workdays import WorkCalendar

#: Satisfaction values that count as satisfied for the satisfaction rate.
SATISFIED = SATISFACTIONS[:2]
#: The kinds of special complaint (特殊客诉 other than 否).
SPECIAL_KINDS = SPECIALS[1:]
LEVELS = (1, 2, 3)

#: The figures, in the order of the workbook's sheets; each left-out complaint names these.
COUNTS, TREND, CATEGORY, ROOT_CAUSE, ON_TIME, OVERDUE, SATISFACTION, MIX, DURATION = (
    "counts", "trend", "category", "root_cause", "on_time", "overdue", "satisfaction", "mix", "duration")
FIGURES = (COUNTS, TREND, CATEGORY, ROOT_CAUSE, ON_TIME, OVERDUE, SATISFACTION, MIX, DURATION)

MESSAGES: Messages = {
    "period.value": {"zh": "{start} 至 {end}", "en": "{start} to {end}"},
    "period.start": {"zh": "最早记录", "en": "first record"},
    "kpi.received": {"zh": "受理投诉数", "en": "Complaints received"},
    "kpi.closed": {"zh": "已结案数", "en": "Complaints closed"},
    "kpi.reply_on_time_rate": {"zh": "按时答复率", "en": "On-time reply rate"},
    "kpi.satisfaction_rate": {"zh": "满意率（满意+基本满意）", "en": "Satisfaction rate (satisfied + fairly satisfied)"},
    "kpi.overdue_complaints": {"zh": "当前逾期投诉数", "en": "Complaints overdue now"},
    "tot.rows_read": {"zh": "台账数据行", "en": "Register rows read"},
    "tot.rows_left_out": {"zh": "有统计项未计入的投诉", "en": "Complaints left out of some figure"},
    "tot.rows_not_placed": {"zh": "受理日期不可用、无法归入统计期间的行",
                            "en": "Rows that cannot be placed in the period (date received unusable)"},
    "tot.rows_outside_period": {"zh": "不在统计期间的行", "en": "Rows outside the period"},
    "tot.received": {"zh": "计入统计的投诉", "en": "Complaints counted"},
    "tot.closed": {"zh": "已结案", "en": "Closed"},
    "tot.open": {"zh": "未结案", "en": "Open"},
    "tot.valid": {"zh": "有效投诉", "en": "Valid complaints"},
    "tot.communication": {"zh": "沟通性投诉", "en": "Communication complaints"},
    "tot.special": {"zh": "特殊客诉", "en": "Special complaints"},
    "tot.followup_on_time_rate": {"zh": "按时回访率", "en": "On-time follow-up rate"},
    "tot.overdue_items": {"zh": "当前逾期事项", "en": "Items overdue now"},
    # the figures, as named in the list of what was left out
    "figure.counts": {"zh": "结案/未结案数", "en": "Closed and open counts"},
    "figure.trend": {"zh": "月度趋势", "en": "Monthly trend"},
    "figure.category": {"zh": "类别帕累托", "en": "Category Pareto"},
    "figure.root_cause": {"zh": "原因帕累托", "en": "Root-cause Pareto"},
    "figure.on_time": {"zh": "按时率", "en": "On-time rates"},
    "figure.overdue": {"zh": "当前逾期", "en": "Overdue now"},
    "figure.satisfaction": {"zh": "满意度", "en": "Satisfaction"},
    "figure.mix": {"zh": "特殊与性质", "en": "Special and nature"},
    "figure.duration": {"zh": "结案时长", "en": "Time to close"},
    "figure.all": {"zh": "全部统计", "en": "every figure"},
    # why a complaint was left out of a figure
    "why.blank": {"zh": "“{header}”为空", "en": "'{header}' is blank"},
    "why.no_column": {"zh": "台账没有“{header}”列", "en": "the register has no '{header}' column"},
    "why.not_placed": {
        "zh": "受理日期为空或无法识别，无法归入统计期间 {period}",
        "en": "the date received is blank or unusable, so the row cannot be placed in the period {period}",
    },
    "why.guessed_due": {
        "zh": "“{header}”不可用，答复和回访期限只能猜测，不计入按时率",
        "en": "'{header}' is unusable, so the reply and follow-up due dates would be guesses and are not judged",
    },
    "text.head": {"zh": "客诉统计：{period}（统计日 {today}）", "en": "Complaint statistics: {period} (as of {today})"},
    "text.left_out": {"zh": "{count} 件投诉有统计项未计入，请修正：{cells}",
                      "en": "{count} complaint(s) left out of some figure; fix: {cells}"},
    "text.workbook": {"zh": "工作簿：{path}", "en": "Workbook: {path}"},
    "text.dashboard": {"zh": "看板：{path}", "en": "Dashboard: {path}"},
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
}


# -- the figures as data -------------------------------------------------------------------


@dataclass(slots=True)
class LeftOutRow:
    """A complaint left out of one or more figures: which, and the cells and problems why."""

    sheet: str
    row: int
    complaint_id: str
    cells: list[str]
    problems: list[str]
    #: The figures (:data:`FIGURES` keys) this complaint is missing from.
    figures: list[str] = field(default_factory=list)


@dataclass(slots=True)
class MonthRow:
    month: str  # "2026-03"
    by_class: dict[str, int]  # "A"/"B"/"C" -> received
    received: int
    closed: int  # closed in this month
    #: Received with no usable class (counted in ``received``, not in ``by_class``).
    unclassified: int = 0


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
class ActionItem:
    """One overdue (or escalated) item for the dashboard's action list."""

    complaint_id: str
    kind: str  # reply | followup | capa
    due: dt.date
    days_overdue: int
    level: int
    department: str
    person: str
    special: bool
    cell: str  # 台账!A14


@dataclass(slots=True)
class OpenSpecial:
    """An open special complaint (监管部门, 消协, 媒体, 疑似敲诈)."""

    complaint_id: str
    special: str
    received_on: dt.date | None
    department: str
    handler: str
    status: str
    cell: str


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
    #: Figure key -> how many complaints it left out (every figure listed, 0 included).
    left_out_by_figure: dict[str, int] = field(default_factory=dict)
    #: The earliest date received counted (the period's start when --from is not given).
    first_received: dt.date | None = None
    #: Overdue items now, most urgent first (the reminder planner's, on the whole register).
    actions: list[ActionItem] = field(default_factory=list)
    #: Special complaints not yet closed, in the period.
    open_specials: list[OpenSpecial] = field(default_factory=list)
    #: Complaints in the period with no root cause recorded yet (not in the root-cause Pareto).
    no_root_cause: int = 0
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
        for item in data["actions"]:
            item["due"] = item["due"].isoformat()
        for item in data["open_specials"]:
            item["received_on"] = item["received_on"].isoformat() if item["received_on"] else None
        return data

    def period_text(self, language: str) -> str:
        start = self.date_from or self.first_received
        shown = start.isoformat() if start else translate(MESSAGES, "period.start", language)
        return translate(MESSAGES, "period.value", language, start=shown, end=self.date_to.isoformat())

    def to_text(self, language: str, workbook: str | Path | None = None,
                dashboard: str | Path | None = None) -> str:
        """A few lines for the terminal: period, the key figures, what was left out, the files."""
        lines = [translate(MESSAGES, "text.head", language, period=self.period_text(language),
                           today=self.today.isoformat())]
        colon = "：" if language == "zh" else ": "
        for key, value in self.headline.items():
            lines.append(f"  {translate(MESSAGES, f'kpi.{key}', language)}{colon}{show_number(value)}")
        if self.left_out:
            cells = "; ".join(c for row in self.left_out for c in (row.cells or [f"{row.sheet}!{row.row}"]))
            lines.append(translate(MESSAGES, "text.left_out", language, count=len(self.left_out), cells=cells))
        lines.extend(self.notes)
        if workbook is not None:
            lines.append(translate(MESSAGES, "text.workbook", language, path=workbook))
        if dashboard is not None:
            lines.append(translate(MESSAGES, "text.dashboard", language, path=dashboard))
        return "\n".join(lines)


def show_number(value: int | float | None) -> str:
    """A figure for text: rates as percentages, missing as '-'."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1%}"
    return str(value)


# -- which fields a complaint can be counted by ---------------------------------------------


class _Usable:
    """Which fields of each record a figure may use, and the record of what was left out."""

    def __init__(self, register: Register, report: Any, language: str) -> None:
        self.register = register
        self.language = language
        self.errors: dict[tuple[str, int], dict[str, list[Finding]]] = defaultdict(dict)
        self.columns: dict[str, frozenset[str]] = {s.name: frozenset(s.columns) for s in register.sheets}
        #: The columns every data sheet has: for them the sheet need not be looked up.
        self.common: frozenset[str] = frozenset.intersection(*self.columns.values()) if self.columns else frozenset()
        for f in getattr(report, "findings", ()) or ():
            if f.severity == ERROR and f.row is not None and f.field:
                self.errors[(f.sheet, f.row)].setdefault(f.field, []).append(f)
        # bad() is asked a dozen times per record: by the record's identity, no (sheet, row)
        # tuple is built and hashed each time.
        self.by_record: dict[int, dict[str, list[Finding]]] = {}
        if self.errors:
            errors = self.errors
            for record in register.records:
                found = errors.get((record.sheet, record.row))
                if found is not None:
                    self.by_record[id(record)] = found
        self.left: dict[tuple[str, int], LeftOutRow] = {}
        self.by_figure: Counter[str] = Counter()
        self._seen: set[tuple[str, int, str]] = set()
        #: Calls of leave_out so far (whether a computation listed anything).
        self.listed = 0

    def bad(self, record: Record, name: str, blank_ok: bool = False) -> str | None:
        """Why ``name`` cannot be used on this record (None: it can)."""
        # Called a dozen times per record: the common case (no error, column present, a value)
        # is three lookups.
        errors = self.by_record.get(id(record)) if self.by_record else None
        if errors is not None:
            found = errors.get(name)
            if found:
                return found[0].message
        if name not in self.common and name not in self.columns.get(record.sheet, ()):
            return translate(MESSAGES, "why.no_column", self.language, header=_header(name, self.language))
        if not blank_ok:
            value = record.values.get(name)
            if value is None or value == "":
                return translate(MESSAGES, "why.blank", self.language, header=_header(name, self.language))
        return None

    def error(self, record: Record, name: str) -> str | None:
        """The message of an error finding on this field, if any."""
        errors = self.by_record.get(id(record))
        found = errors.get(name) if errors is not None else None
        return found[0].message if found else None

    def ok(self, record: Record, figure: str, *names: str, blank_ok: bool = False) -> bool:
        """True when every field in ``names`` is usable; else the record is listed as left out of
        ``figure`` with the first unusable field's cell and problem."""
        if not self.by_record or id(record) not in self.by_record:
            # A record without errors, a column every sheet has: usable unless blank (a million
            # calls at 100k rows, so bad() is asked only when this cannot tell).
            values = record.values
            common = self.common
            for name in names:
                if name in common:
                    if blank_ok:
                        continue
                    value = values.get(name)
                    if value is not None and value != "":
                        continue
                why = self.bad(record, name, blank_ok)
                if why is not None:
                    self.leave_out(record, figure, self.register.cell(record, name), why)
                    return False
            return True
        for name in names:
            why = self.bad(record, name, blank_ok)
            if why is not None:
                self.leave_out(record, figure, self.register.cell(record, name), why)
                return False
        return True

    def keep(self, records: Iterable[Record], figure: str, name: str, blank_ok: bool = False) -> list[Record]:
        """The records whose ``name`` is usable, as ``[r for r in records if self.ok(r, figure,
        name)]`` (the others listed as left out, in the same order), without a call of ok() for
        the many records a glance shows usable: no error, a column every sheet has, a value."""
        if name not in self.common:
            return [r for r in records if self.ok(r, figure, name, blank_ok=blank_ok)]
        by_record, ok = self.by_record, self.ok
        if blank_ok:
            return [r for r in records if id(r) not in by_record or ok(r, figure, name, blank_ok=True)]
        return [r for r in records
                if ((value := r.values.get(name)) is not None and value != "" and id(r) not in by_record)
                or ok(r, figure, name)]

    def leave_out(self, record: Record, figure: str, cell: str, why: str) -> None:
        self.listed += 1
        key = (record.sheet, record.row)
        entry = self.left.get(key)
        if entry is None:
            entry = self.left[key] = LeftOutRow(record.sheet, record.row, record.complaint_id, [], [])
        if figure not in entry.figures:
            entry.figures.append(figure)
        if (record.sheet, record.row, figure) not in self._seen:
            self._seen.add((record.sheet, record.row, figure))
            self.by_figure[figure] += 1
        if cell not in entry.cells:
            entry.cells.append(cell)
        if why not in entry.problems:
            entry.problems.append(why)

    def left_out(self) -> list[LeftOutRow]:
        rows = sorted(self.left.values(), key=lambda r: (r.sheet, r.row))
        for row in rows:
            row.figures.sort(key=FIGURES.index)
        return rows


def _header(name: str, language: str) -> str:
    f = FIELD_BY_NAME.get(name)
    return f.header(language) if f else name


# -- the overdue items, through one function so the planner's shape can change --------------


def overdue_now(records: Sequence[Record], config: Config, today: dt.date, calendar: WorkCalendar,
                plan: ReminderPlan | None = None) -> tuple[list[ReminderItem], list[tuple[Record, str, str]]]:
    """The items overdue on ``today`` exactly as the reminders see them, and the items the
    planner could not date: ``(record, kind, reason)``. The one place the report reads the
    planner, so the report's overdue counts are the reminders' counts. ``plan``: the day's plan
    of these records, made with ``calendar``, when the caller has it already (the daily job)."""
    if plan is None:
        plan = plan_reminders(records, config, today, calendar)
    overdue = [item for item in plan.items if item.level >= 1]
    planned = {(item.sheet, item.row, item.kind) for item in plan.items}
    by_place = {(r.sheet, r.row): r for r in records}
    undated = [(by_place[(c.sheet, c.row)], c.kind, c.reason) for c in plan.cannot_remind
               if (c.sheet, c.row, c.kind) not in planned and (c.sheet, c.row) in by_place]
    return overdue, undated


# -- computing -----------------------------------------------------------------------------


@paused_gc()  # hundreds of thousands of small lists and tuples, no cycles: see model.paused_gc
def compute_statistics(register: Register, report: Any, config: Config, *, today: dt.date,
                       date_from: dt.date | None = None, date_to: dt.date | None = None,
                       planned: Planned | None = None) -> Statistics:
    """The report's figures for records received from ``date_from`` to ``date_to`` (inclusive;
    default: everything up to ``today``). ``report`` is the :class:`toolkit.validate.ValidationReport`
    of the register (or None): a field with an error finding is unusable, and only the figures
    that need that field leave the complaint out. ``planned``: the day's reminder plan of these
    records and the calendar it was made with, when the caller made it (the daily job does,
    for its reminders): the overdue figures are then read from it instead of planning again."""
    language = config.language
    end = date_to or today
    if date_from and date_from > end:
        key = "err.period" if date_to else "err.period_today"
        raise ConfigError(translate(MESSAGES, key, language, start=date_from, end=end))
    use = _Usable(register, report, language)
    bounded = date_from is not None or date_to is not None
    period = translate(MESSAGES, "period.value", language,
                       start=date_from.isoformat() if date_from else translate(MESSAGES, "period.start", language),
                       end=end.isoformat())

    counted: list[Record] = []
    outside = not_placed = 0
    for record in register.records:
        received = _date(record.values.get("received_on")) if use.bad(record, "received_on") is None else None
        if received is None:
            if bounded:
                not_placed += 1
                for figure in FIGURES:
                    if figure != OVERDUE:
                        use.leave_out(record, figure, register.cell(record, "received_on"),
                                      translate(MESSAGES, "why.not_placed", language, period=period))
                continue
        elif received > end or (date_from and received < date_from):
            outside += 1
            continue
        counted.append(record)
    # Fields a figure reads through a month: usable received_on (one check, listed once).
    dated = use.keep(counted, TREND, "received_on")

    plan, calendar = planned if planned is not None else (None, WorkCalendar.from_config(config))
    overdue_items, undated = overdue_now(register.records, config, today, calendar, plan)
    for record, kind, reason in undated:
        due_field = {"reply": "reply_due", "followup": "followup_due", "capa": "capa_due"}[kind]
        if kind != "capa" and record.values.get(due_field) is None and due_field not in record.bad:
            # A blank reply or follow-up due date is worked out from 受理日期: that is the cell to fix.
            due_field = "received_on"
        use.leave_out(record, OVERDUE, register.cell(record, due_field), reason)

    with_status = use.keep(counted, COUNTS, "status")
    if len(with_status) < len(counted):
        # No usable status: whether it was answered or closed is unknown, so it is in none of these.
        for r in counted:
            if use.bad(r, "status") is not None:
                for figure in (ON_TIME, SATISFACTION, DURATION):
                    use.ok(r, figure, "status")
    closed = [r for r in with_status if r.values.get("status") == CLOSED]
    closed_dated = use.keep(closed, TREND, "closed_on")
    months = _months(dated, closed_dated, date_from, end)

    # The trend: received by month (class split where the class is usable), closed by month.
    monthly = _monthly(dated, closed_dated, months, use)

    # Paretos.
    category_pareto = _pareto((r.values.get("category") for r in use.keep(counted, CATEGORY, "category")),
                              list(config.list_values("categories")))
    # A blank root cause is "not analysed yet", not a defect: only an error on the cell lists it.
    causes = use.keep(counted, ROOT_CAUSE, "root_cause", blank_ok=True)
    no_root_cause = sum(1 for r in causes if r.values.get("root_cause") in (None, ""))
    root_cause_pareto = _pareto((r.values.get("root_cause") for r in causes), list(ROOT_CAUSES))

    # On-time rates: need the status and a due date that is not a guess.
    dues = _all_judged_dues(with_status, config, calendar, use)
    judged = [r for r in with_status if dues[id(r)] != _NO_DUES]
    outcomes = _on_time_outcomes(judged, dues, today)
    totals_row = _on_time_row("", judged, outcomes)
    judged_by_month = _by_month(judged, "received_on")
    on_time_by_month = [_on_time_row(m, judged_by_month.get(m, []), outcomes) for m in months]
    if months:
        use.keep(judged, ON_TIME, "received_on")  # lists those without a usable month
    departments = list(config.list_values("departments"))
    by_dept = use.keep(judged, ON_TIME, "department")
    judged_by_department: dict[Any, list[Record]] = defaultdict(list)
    for r in by_dept:
        judged_by_department[r.values.get("department")].append(r)
    on_time_by_department = [
        _on_time_row(d, judged_by_department.get(d, []), outcomes)
        for d in _ordered({str(v) for v in judged_by_department}, departments)
    ]

    # Satisfaction: closed complaints with a usable rating; per month by the month closed.
    rated = use.keep(closed, SATISFACTION, "satisfaction")
    satisfaction_total = _satisfaction_row("", rated)
    rated_dated = use.keep(rated, SATISFACTION, "closed_on")
    rated_by_month = _by_month(rated_dated, "closed_on")
    satisfaction_by_month = [_satisfaction_row(m, rated_by_month.get(m, [])) for m in months]

    # Special complaints and the nature mix.
    with_special = use.keep(counted, MIX, "special", blank_ok=True)
    with_nature = use.keep(counted, MIX, "nature")
    use.keep(counted, MIX, "received_on")  # lists those without a usable month
    special_by_month, nature_by_month = _by_month(with_special, "received_on"), _by_month(with_nature, "received_on")
    kinds = [s for s in config.list_values("specials") if is_special(s)]  # [lists] specials, as configured
    mix_by_month = [_mix_row(m, special_by_month.get(m, []), nature_by_month.get(m, []), kinds) for m in months]

    # Time to close: closed, both dates usable; the class split needs a usable class.
    timed = [r for r in closed if use.ok(r, DURATION, "received_on", "closed_on")]
    duration_by_class = _durations(timed, calendar, use)

    communication = sum(1 for r in with_nature if r.values.get("nature") in NATURES[1:])
    headline: dict[str, int | float | None] = {
        "received": len(counted),
        "closed": len(closed),
        "reply_on_time_rate": totals_row.reply_rate,
        "satisfaction_rate": satisfaction_total.rate,
        "overdue_complaints": len({(item.sheet, item.row) for item in overdue_items}),
    }
    left_out = use.left_out()
    totals: dict[str, int | float | None] = {
        "rows_read": len(register.records),
        "rows_left_out": len(left_out),
        "rows_not_placed": not_placed,
        "rows_outside_period": outside,
        "received": len(counted),
        "closed": len(closed),
        "open": len(with_status) - len(closed),
        "valid": sum(1 for r in with_nature if r.values.get("nature") == VALID_COMPLAINT),
        "communication": communication,
        "special": sum(1 for r in with_special if is_special(r.values.get("special"))),
        "followup_on_time_rate": totals_row.followup_rate,
        "overdue_items": len(overdue_items),
    }
    return Statistics(
        register_path=str(register.path),
        today=today,
        date_from=date_from,
        date_to=end,
        headline=headline,
        totals=totals,
        monthly=monthly,
        category_pareto=category_pareto,
        root_cause_pareto=root_cause_pareto,
        on_time_by_month=on_time_by_month,
        on_time_by_department=on_time_by_department,
        overdue_by_department=_overdue(overdue_items, departments),
        satisfaction_by_month=satisfaction_by_month,
        satisfaction_total=satisfaction_total,
        mix_by_month=mix_by_month,
        duration_by_class=duration_by_class,
        left_out=left_out,
        left_out_by_figure={f: use.by_figure[f] for f in FIGURES},
        first_received=min((_date(r.values.get("received_on")) for r in dated), default=None),
        actions=[_action(item, register) for item in overdue_items],
        open_specials=_open_specials(with_special, register),
        no_root_cause=no_root_cause,
        # Calendar warnings only: the plan's other warnings are about mailing, not figures.
        # Sheets the reader could not use first: their complaints are in none of the figures below.
        notes=[m for _, row, m in register.unread if row is None] + list(calendar.warnings),
    )


#: A day's reminder plan and the calendar it was made with (see compute_statistics).
Planned = tuple[ReminderPlan, WorkCalendar]

_NO_DUES = DueDates(None, None, None)
#: The due dates an on-time rate judges (CAPA has none of its own to judge).
_JUDGED = ("reply", "followup")


#: What a record's judged due dates depend on, when it has no error and no unreadable cell.
_DUE_INPUTS = ("reply_due", "followup_due", "received_on", "special", "severity")


def _all_judged_dues(records: Sequence[Record], config: Config, calendar: WorkCalendar,
                     use: _Usable) -> dict[int, DueDates]:
    """_judged_dues of each record, by its identity. A record without errors or unreadable
    cells, whose sheets all have the five columns, gets the same dates as any other with the
    same five values: those are worked out once (a few thousand over 100k rows), unless working
    them out listed something as left out, which is then done for each such record."""
    plain = use.common.issuperset(_DUE_INPUTS)
    by_record = use.by_record
    memo: dict[tuple[Any, ...], DueDates] = {}
    dues: dict[int, DueDates] = {}
    for record in records:
        if plain and not record.bad and id(record) not in by_record:
            key = tuple(map(record.values.get, _DUE_INPUTS))  # .get: a record may lack a key
            found = memo.get(key)
            if found is None:
                listed = use.listed
                found = _judged_dues(record, config, calendar, use)
                if use.listed == listed:
                    memo[key] = found  # nothing listed: the same inputs give the same, silently
            dues[id(record)] = found
        else:
            dues[id(record)] = _judged_dues(record, config, calendar, use)
    return dues


def _judged_dues(record: Record, config: Config, calendar: WorkCalendar, use: _Usable) -> DueDates:
    """The reply and follow-up due dates an on-time rate may judge: the register's own date,
    or one counted from a usable 受理日期 and class (a special complaint is due as class A);
    never one guessed from a missing class. A due date that cannot be judged is listed."""
    due = due_dates(record, config, calendar, _JUDGED)
    result = []
    for kind, explicit in (("reply", "reply_due"), ("followup", "followup_due")):
        value = getattr(due, kind)
        # The register's own due date is optional (no column = blank = counted from the class);
        # only an error in it (an unreadable date) makes it unusable.
        wrong = use.error(record, explicit)
        if wrong is not None:
            use.leave_out(record, ON_TIME, use.register.cell(record, explicit), wrong)
            value = None
        elif record.values.get(explicit) in (None, ""):
            # Counted from the class: both inputs must be real, not the planner's safe guess.
            if not use.ok(record, ON_TIME, "received_on"):
                value = None
            elif not is_special(record.values.get("special")) and use.bad(record, "severity") is not None:
                language = use.language
                use.leave_out(record, ON_TIME, use.register.cell(record, "severity"),
                              translate(MESSAGES, "why.guessed_due", language, header=_header("severity", language)))
                value = None
        result.append(value)
    return DueDates(result[0], result[1], None)


def _action(item: ReminderItem, register: Register) -> ActionItem:
    letter = next((s.column_letter("complaint_id") for s in register.sheets if s.name == item.sheet), "")
    cell = f"{item.sheet}!{letter}{item.row}"
    return ActionItem(item.complaint_id, item.kind, item.due, item.days_overdue, item.level, item.department,
                      item.handler, item.special, cell)


def _open_specials(records: Iterable[Record], register: Register) -> list[OpenSpecial]:
    rows = []
    for r in records:
        if is_special(r.values.get("special")) and r.values.get("status") != CLOSED:
            rows.append(OpenSpecial(r.complaint_id, str(r.values.get("special")), _date(r.values.get("received_on")),
                                    _text(r.values.get("department")), _text(r.values.get("handler")), _text(r.values.get("status")),
                                    register.cell(r, "complaint_id")))
    return rows


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _date(value: Any) -> dt.date | None:
    kind = type(value)
    if kind is dt.date:  # the common case first: a million calls at 100k rows
        return value
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None


def _month(value: Any) -> str:
    month = _MONTHS.get(value)  # a few hundred distinct days, asked for half a million times
    if month is None:
        day = _date(value)
        month = f"{day.year:04d}-{day.month:02d}" if day else ""
        if day is not None:  # only dates are kept: the table stays a few thousand entries
            _MONTHS[value] = month
    return month


_MONTHS: dict[Any, str] = {}


def _by_month(records: Iterable[Record], name: str) -> dict[str, list[Record]]:
    """Records grouped by the month of a date field (one pass, not one per month)."""
    groups: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        groups[_month(r.values.get(name))].append(r)
    return groups


def _months(received: Sequence[Record], closed: Sequence[Record], date_from: dt.date | None,
            end: dt.date) -> list[str]:
    """Every month from the period's start (or first record) to its end, extended to the last
    closing month so no closed count falls off the chart."""
    first = date_from or min((d for r in received if (d := _date(r.values.get("received_on")))), default=None)
    if first is None:
        return []
    last = max([end, *(d for r in closed if (d := _date(r.values.get("closed_on"))))])
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _ordered(values: Iterable[str], order: Sequence[str]) -> list[str]:
    """``values`` in config-list order, unknown ones after, alphabetically."""
    rank = {v: i for i, v in enumerate(order)}
    return sorted(values, key=lambda v: (rank.get(v, len(rank)), v))


def _monthly(received: Sequence[Record], closed: Sequence[Record], months: Sequence[str],
             use: _Usable) -> list[MonthRow]:
    by_class: Counter[tuple[str, Any]] = Counter()
    unclassified: Counter[str] = Counter()
    for r in received:
        month = _month(r.values.get("received_on"))
        if use.ok(r, TREND, "severity") and r.values.get("severity") in SEVERITIES:
            by_class[(month, r.values.get("severity"))] += 1
        else:
            unclassified[month] += 1
    closed_in = Counter(_month(r.values.get("closed_on")) for r in closed)
    rows = []
    for m in months:
        split = {s: by_class[(m, s)] for s in SEVERITIES}
        rows.append(MonthRow(m, split, sum(split.values()) + unclassified[m], closed_in[m], unclassified[m]))
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


#: Bits of a complaint's on-time outcome (see _on_time_outcomes).
_REPLY_DUE, _REPLY_OK, _FOLLOWUP_DUE, _FOLLOWUP_OK = 1, 2, 4, 8


def _on_time_outcomes(records: Sequence[Record], dues: dict[int, DueDates], today: dt.date) -> dict[int, int]:
    """Each complaint's on-time outcome by its identity, as bits: worked out once, though the
    totals, every month and every department count it."""
    outcomes: dict[int, int] = {}
    for record in records:
        due = dues[id(record)]
        status = record.values.get("status")
        outcome = 0
        if due.reply is not None:
            if status == PENDING:
                if due.reply < today:  # still pending after the due date: late
                    outcome = _REPLY_DUE
            elif status:  # answered; the register cannot date it (see the module docstring)
                outcome = _REPLY_DUE | _REPLY_OK
        if due.followup is not None:
            done = _date(record.values.get("followup_done"))
            if done is not None:
                outcome |= _FOLLOWUP_DUE | (_FOLLOWUP_OK if done <= due.followup else 0)
            elif status != CLOSED and due.followup < today:
                outcome |= _FOLLOWUP_DUE
        outcomes[id(record)] = outcome
    return outcomes


def _on_time_row(key: str, records: Sequence[Record], outcomes: dict[int, int]) -> OnTimeRow:
    # Sixteen possible outcomes: counted in C, then added up by bit.
    counts = Counter(map(outcomes.__getitem__, map(id, records)))
    reply_due = sum(n for outcome, n in counts.items() if outcome & _REPLY_DUE)
    reply_ok = sum(n for outcome, n in counts.items() if outcome & _REPLY_OK)
    followup_due = sum(n for outcome, n in counts.items() if outcome & _FOLLOWUP_DUE)
    followup_ok = sum(n for outcome, n in counts.items() if outcome & _FOLLOWUP_OK)
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


def _satisfaction_row(key: str, rated: Sequence[Record]) -> SatisfactionRow:
    counts = Counter(r.values.get("satisfaction") for r in rated)
    by_value = {s: counts[s] for s in SATISFACTIONS}
    total = sum(by_value.values())
    shares = {s: _rate(n, total) for s, n in by_value.items()}
    return SatisfactionRow(key, by_value, total, shares, _rate(sum(by_value[s] for s in SATISFIED), total))


def _mix_row(month: str, with_special: Sequence[Record], with_nature: Sequence[Record],
             kinds: Sequence[str] = SPECIAL_KINDS) -> MixRow:
    special = Counter(r.values.get("special") for r in with_special)
    nature = Counter(r.values.get("nature") for r in with_nature)
    by_special = {s: special[s] for s in kinds}
    by_nature = {n: nature[n] for n in NATURES}
    communication = sum(by_nature[n] for n in NATURES[1:])
    return MixRow(month, by_special, sum(by_special.values()), by_nature, by_nature[VALID_COMPLAINT],
                  communication)


def percentile_nearest_rank(values: Sequence[int], percent: float) -> int | None:
    """The nearest-rank percentile: the value at position ceil(p/100 × n) of the sorted list."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def _durations(closed: Sequence[Record], calendar: WorkCalendar, use: _Usable) -> list[DurationRow]:
    days: dict[str, list[int]] = defaultdict(list)
    for record in closed:
        start, end = _date(record.values.get("received_on")), _date(record.values.get("closed_on"))
        if start is None or end is None:
            continue
        value = calendar.workdays_between(start, end)
        if use.ok(record, DURATION, "severity"):
            days[str(record.values.get("severity") or "")].append(value)
        days[""].append(value)
    rows = []
    for severity in (*SEVERITIES, ""):
        values = days.get(severity, [])
        rows.append(DurationRow(severity, len(values), sum(values) / len(values) if values else None,
                                percentile_nearest_rank(values, 90), max(values) if values else None))
    return rows
