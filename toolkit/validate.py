"""Validate the register against the rules of REGISTER.md: problems become findings, never errors.

Each rule is a small function ``check(record, plan) -> Iterable[Finding]`` that reads one
record; a start hook (:func:`_plan_sheet`) reports every column a rule needs but a sheet lacks
once, as ``missing-column``, and leaves the rules for that column out on that sheet; an end hook
(:func:`_check_duplicates`) checks across rows. Findings carry a stable code, a severity, the
cell (``台账!B14``) and a message in the configured language that says what is wrong and what to
do about it.

>>> report = validate(read_register(config), config, today=dt.date(2026, 11, 23))
>>> report.counts["error"], report.findings[0].cell, report.findings[0].message
(7, '台账!A20', '投诉编号“KS-2026-002”与 台账!A4 重复：请为此投诉改用新的编号。')

Speed matters (a register may hold 100 000 rows): the rules are plain functions that return an
empty tuple when the record is fine (no generator per row), the per-sheet set-up (which fields
are present, which list values are allowed) is done once, and a message is only formatted
when a finding is made.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .addresses import is_sendable
from .config import Config
from .fields import (
    CLOSED,
    EMAIL,
    FIELD_BY_NAME,
    FIELDS,
    LIST,
    VALID_COMPLAINT,
    display_value,
)
from .i18n import Messages, translate
from .model import ERROR, NOTE, WARNING, Finding, Record, Register, SheetInfo, column_letter

#: The reader's code for rows of one complaint holding different values (toolkit.register.values).
CONFLICTING_VALUES = "conflicting-values"

# -- messages -----------------------------------------------------------------------------

MESSAGES: Messages = {
    "missing-column": {
        "zh": "工作表“{sheet}”没有“{header}”列：请在表头行添加此列，或在 config.toml 的 "
              "[columns.{field}] aliases 中登记你们使用的列名。{consequence}",
        "en": "Sheet '{sheet}' has no '{header}' column: add it to the header row, or list the header "
              "you use under [columns.{field}] aliases in config.toml. {consequence}",
    },
    "missing-column-required": {
        "zh": "这是必填项，在添加此列之前无法检查。",
        "en": "It is required; it cannot be checked until the column exists.",
    },
    "missing-column-optional": {
        "zh": "与此列有关的检查已跳过。",
        "en": "The checks that use it are skipped.",
    },
    "missing-contact-column": {
        "zh": "工作表“{sheet}”既没有“{phone}”列也没有“{email}”列：请至少添加其中一列，以便记录客户的联系方式。",
        "en": "Sheet '{sheet}' has neither a '{phone}' nor a '{email}' column: add at least one so the "
              "customer's contact can be recorded.",
    },
    "bad-date": {
        "zh": "“{header}”的值“{value}”不是日期：请填写日期，如 2026-03-05。",
        "en": "'{header}' value '{value}' is not a date: enter a date such as 2026-03-05.",
    },
    "ambiguous-date": {
        "zh": "“{header}”的值“{value}”看不出是月/日还是日/月：请改写为 2026-03-05 这样的格式，"
              "或在 config.toml 的 [register] date_order 中指定 \"mdy\" 或 \"dmy\"。",
        "en": "'{header}' value '{value}' could be month/day or day/month: write it as 2026-03-05, or set "
              "[register] date_order = \"mdy\" or \"dmy\" in config.toml.",
    },
    "bad-number": {
        "zh": "“{header}”的值“{value}”不是数字：请只填写数字，如 200。",
        "en": "'{header}' value '{value}' is not a number: enter digits only, such as 200.",
    },
    "formula-no-value": {
        "zh": "“{header}”是公式（{value}）但没有计算结果：请在 Excel 或 WPS 中打开并保存一次，或直接填写值。",
        "en": "'{header}' is a formula ({value}) with no calculated value: open and save the file once in "
              "Excel or WPS, or type the value in.",
    },
    "formula-error": {
        "zh": "“{header}”显示错误值 {value}（公式出错，或粘贴了错误值）：请修正该单元格的公式，或直接填写正确的值。",
        "en": "'{header}' shows the error {value} (a formula that fails, or an error pasted as a value): fix "
              "the cell's formula, or type the right value in.",
    },
    "conflicting-values": {
        "zh": "“{header}”在同一件投诉的几行中填写了不同的值：{cells}。这几行的投诉编号单元格是合并的，"
              "所以它们是一件投诉：请只保留一个值；如果是不同的投诉，请取消合并、分开登记。",
        "en": "'{header}' has different values in the rows of one complaint: {cells}. Its Complaint No. "
              "cell is merged over these rows, so they are one complaint: keep one value; if they are "
              "different complaints, unmerge the cell and register them separately.",
    },
    "conflicting-cell": {"zh": "{cell} 为“{value}”", "en": "{cell} is '{value}'"},
    "missing-required": {
        "zh": "“{header}”为空：此项必填，请补充。",
        "en": "'{header}' is blank: it is required; fill it in.",
    },
    "missing-respondent": {
        "zh": "“{header}”为空：被投诉方不明确的投诉不能受理，请补充被投诉的单位、门店或人员。",
        "en": "'{header}' is blank: a complaint with no identifiable respondent cannot be accepted; name "
              "the company, shop or person complained about.",
    },
    "missing-contact": {
        "zh": "“{header}”和“{email}”都为空：请至少填写一项，以便联系客户。",
        "en": "'{header}' and '{email}' are both blank: fill in at least one so the customer can be reached.",
    },
    "missing-contact-phone-only": {
        "zh": "“{header}”为空：请填写客户的联系电话，以便联系客户。",
        "en": "'{header}' is blank: fill in the customer's phone so the customer can be reached.",
    },
    "missing-contact-email-only": {
        "zh": "“{header}”为空，且本表没有“{phone}”列：请填写客户邮箱，或添加“{phone}”列并填写电话，以便联系客户。",
        "en": "'{header}' is blank and the sheet has no '{phone}' column: fill in the customer's e-mail, or add "
              "a '{phone}' column with the phone, so the customer can be reached.",
    },
    "repeated-column": {
        "zh": "工作表“{sheet}”中有不止一列的表头是“{header}”（{columns} 列）：只读取了 {first} 列，{others} 列"
              "未读取（隐藏的列也算在内）。请删除或改名多余的列，让每个字段只有一列。",
        "en": "Sheet '{sheet}' has more than one column headed '{header}' (columns {columns}): only column "
              "{first} is read, column {others} is not (hidden columns count too). Delete or rename the "
              "extra columns so that each field has one column.",
    },
    "not-in-list": {
        "zh": "“{header}”的值“{value}”不在可选值中：请从 {allowed} 中选择。",
        "en": "'{header}' value '{value}' is not one of the allowed values: choose one of {allowed}.",
    },
    "not-in-config-list": {
        "zh": "“{header}”的值“{value}”不在可选值中：请从 {allowed} 中选择；如确需新增，请在 config.toml 的 "
              "[lists] {list_key} 中添加。",
        "en": "'{header}' value '{value}' is not one of the allowed values: choose one of {allowed}, or add "
              "it to [lists] {list_key} in config.toml.",
    },
    "bad-phone-zero": {
        "zh": "“{header}”的值“{value}”不是有效的电话号码，看起来是开头的 0 丢失了的座机号（单元格是数字格式时，"
              "Excel 会去掉开头的 0）：请把该列设为文本格式后重新填写，如 0871-63125678。",
        "en": "'{header}' value '{value}' is not a valid phone number; it looks like a landline that lost its "
              "leading 0 (Excel drops it when the cell is formatted as a number): format the column as text and "
              "enter it again, such as 0871-63125678.",
    },
    "bad-phone": {
        "zh": "“{header}”的值“{value}”不是有效的电话号码：请填写 11 位手机号（如 13800138000）、带区号的座机"
              "（如 0871-63125678，可加分机号 -806）或以 + 开头的国际号码。",
        "en": "'{header}' value '{value}' is not a valid phone number: enter an 11-digit mobile number "
              "(13800138000), a landline with area code (0871-63125678, extension -806 allowed) or an "
              "international number starting with +.",
    },
    "bad-email": {
        "zh": "“{header}”的值“{value}”不是有效的邮箱地址：请改为 name@example.com 这样的地址。",
        "en": "'{header}' value '{value}' is not a valid e-mail address: write it as name@example.com.",
    },
    "date-in-future": {
        "zh": "“{header}”（{value}）晚于今天（{today}）：请核对并改为实际{header}。",
        "en": "'{header}' ({value}) is after today ({today}): check it and enter the actual date.",
    },
    "date-order": {
        "zh": "“{header}”（{value}）早于“{received_header}”（{received}）：请核对这两个日期。",
        "en": "'{header}' ({value}) is before '{received_header}' ({received}): check both dates.",
    },
    "closed-date-missing": {
        "zh": "处理状态为“{closed}”但“{header}”为空：请填写结案日期。",
        "en": "Status is '{closed}' but '{header}' is blank: enter the date the complaint was closed.",
    },
    "closed-date-forbidden": {
        "zh": "已填写“{header}”，但处理状态是“{status}”：若已结案请把状态改为“{closed}”，否则请清空结案日期。",
        "en": "'{header}' is filled in but the status is '{status}': if the complaint is closed set the "
              "status to '{closed}', otherwise clear the date.",
    },
    "close-incomplete": {
        "zh": "已结案但“{header}”为空：结案前须填写{header}，请补充，或把处理状态改回未结案。",
        "en": "Closed but '{header}' is blank: it is required to close; fill it in or set the status back "
              "to an open one.",
    },
    "capa-required": {
        "zh": "{klass} 类有效投诉已结案但“{header}”为空：请填写纠正预防措施（及措施负责人、完成期限）后再结案。",
        "en": "A valid class {klass} complaint is closed but '{header}' is blank: record the corrective "
              "action (with its owner and due date) before closing.",
    },
    "capa-incomplete": {
        "zh": "已填写纠正预防措施，但“{header}”为空：请填写{header}，以便跟踪措施落实。",
        "en": "A corrective action is recorded but '{header}' is blank: fill it in so the action can be "
              "followed up.",
    },
    "capa-not-done": {
        "zh": "已结案，但纠正预防措施还没有“{header}”：请填写措施完成日期，或确认措施仍在跟踪。",
        "en": "Closed, but the corrective action has no '{header}': enter the date it was done, or make "
              "sure it is still being tracked.",
    },
    "negative-number": {
        "zh": "“{header}”为负数（{value}）：请填写 0 或正数。",
        "en": "'{header}' is negative ({value}): enter 0 or a positive amount.",
    },
    "no-address": {
        "zh": "“{header}”为空，config.toml 中也没有“{person}”或部门“{department}”的邮箱：请填写邮箱，否则无法发送提醒。",
        "en": "'{header}' is blank and config.toml has no address for '{person}' or department "
              "'{department}': enter an e-mail address, otherwise no reminder can be sent.",
    },
    "duplicate-id": {
        "zh": "投诉编号“{value}”与 {first} 重复：请为此投诉改用新的编号。",
        "en": "Complaint No. '{value}' repeats {first}: give this complaint a new number.",
    },
    "list-separator": {"zh": "、", "en": ", "},
    "summary": {
        "zh": "共 {rows} 行数据：{errors} 个错误，{warnings} 个警告，{notes} 条提示；{rows_with_errors} 行有错误。",
        "en": "Data rows: {rows}; errors: {errors}, warnings: {warnings}, notes: {notes}; "
              "rows with errors: {rows_with_errors}.",
    },
    "no-findings": {"zh": "未发现问题。", "en": "No problems found."},
    "file-level": {"zh": "文件与列", "en": "File and columns"},
    "severity-error": {"zh": "错误", "en": "error"},
    "severity-warning": {"zh": "警告", "en": "warning"},
    "severity-note": {"zh": "提示", "en": "note"},
}

# -- the rules' fixed parts ------------------------------------------------------------

#: Fields that must have a value on every row (customer_phone/customer_email: one of them).
REQUIRED = ("complaint_id", "received_on", "channel", "customer_name", "respondent", "description",
            "category", "nature", "severity", "department", "handler", "status")
#: Fields required to close a complaint (root_cause: valid complaints only).
CLOSE_REQUIRED = ("resolution", "followup_done", "satisfaction")
CLOSE_REQUIRED_VALID = (*CLOSE_REQUIRED, "root_cause")
EMAILS = tuple(f.name for f in FIELDS if f.kind == EMAIL)
LISTS = tuple(f.name for f in FIELDS if f.kind == LIST)
#: Dates that may not be after today.
NOT_FUTURE = ("received_on", "closed_on", "followup_done", "capa_done")
#: Dates that may not be before received_on, with the severity of the slip.
NOT_BEFORE_RECEIVED = (("capa_due", ERROR), ("capa_done", ERROR), ("followup_done", ERROR),
                       ("closed_on", ERROR), ("reply_due", WARNING), ("followup_due", WARNING))

#: Severity of a missing column, for the columns rules read (others are not reported).
MISSING_COLUMN_SEVERITY: dict[str, str] = {name: ERROR for name in REQUIRED}
MISSING_COLUMN_SEVERITY.update({
    "resolution": WARNING, "followup_done": WARNING, "satisfaction": WARNING, "closed_on": WARNING,
    "root_cause": WARNING, "corrective_action": WARNING, "capa_owner": WARNING, "capa_due": WARNING,
    "handler_email": WARNING,
    "special": NOTE, "capa_done": NOTE, "capa_owner_email": NOTE, "reply_due": NOTE,
    "followup_due": NOTE, "compensation": NOTE,
})

_MOBILE = re.compile(r"(?:\+?86)?1[3-9]\d{9}")
_LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}(?:(?:-|转|#|ext\.?|x)\d{1,6})?", re.IGNORECASE)
_INTERNATIONAL = re.compile(r"\+[1-9]\d{0,3}-?\d[\d-]{5,14}\d")
_PHONE_NOISE = re.compile(r"[\s()（）]+")
_EMAIL = re.compile(r"[^@\s<>(),;:\"\[\]]+@[A-Za-z0-9\u00a1-\uffff](?:[A-Za-z0-9\u00a1-\uffff-]*[A-Za-z0-9\u00a1-\uffff])?"
                    r"(?:\.[A-Za-z0-9\u00a1-\uffff](?:[A-Za-z0-9\u00a1-\uffff-]*[A-Za-z0-9\u00a1-\uffff])?)+")
_WS = re.compile(r"\s+")
#: A landline that lost its leading 0: area code and number run together, 9-11 digits.
_LOST_ZERO = re.compile(r"[2-9][0-9]{8,10}")
_NOTHING: tuple[Finding, ...] = ()


def is_phone(value: object) -> bool:
    """True for a CN mobile, a CN landline with area code, or an international ``+CC`` number."""
    if isinstance(value, float):
        if not value.is_integer():
            return False
        value = int(value)
    text = str(value)
    if not text.isascii():  # full-width digits and dashes typed with a Chinese input method
        text = unicodedata.normalize("NFKC", text)
    text = _PHONE_NOISE.sub("", text)
    if _MOBILE.fullmatch(text.replace("-", "")):
        return True
    return bool(_LANDLINE.fullmatch(text) or _INTERNATIONAL.fullmatch(text))


def is_email(value: object) -> bool:
    """A plausible address (the customer's: we never send to it, so any script is fine)."""
    return isinstance(value, str) and _EMAIL.fullmatch(value.strip()) is not None


#: Addresses reminders are sent to must be ones the mail stage can send to.
SENDABLE = ("handler_email", "capa_owner_email")


def show_value(value: Any) -> str:
    """A cell value as a message shows it: dates ISO, whole floats without ``.0``."""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="minutes") if value.time() != dt.time() else \
            value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


# -- the report ---------------------------------------------------------------------------


@dataclass
class ValidationReport:
    """Everything validation found, in register order, with counts; renders itself."""

    register: str
    rows: int
    findings: list[Finding]
    counts: dict[str, int]
    language: str = "zh"
    #: (sheet, row, code, field) of findings made by rules that do not block documents.
    non_blocking: frozenset[tuple[str, int | None, str, str]] = frozenset()

    def to_dict(self) -> dict[str, Any]:
        """Exactly the JSON ``validate --format json`` prints."""
        return {"register": self.register, "rows": self.rows,
                "findings": [f.to_dict() for f in self.findings], "counts": dict(self.counts)}

    def errors_by_row(self) -> dict[tuple[str, int], list[Finding]]:
        """(sheet, row) -> the error findings of that row."""
        result: dict[tuple[str, int], list[Finding]] = {}
        for f in self.findings:
            if f.severity == ERROR and f.row is not None:
                result.setdefault((f.sheet, f.row), []).append(f)
        return result

    def document_errors_by_row(self) -> dict[tuple[str, int], list[Finding]]:
        """(sheet, row) -> the error findings that stop that row's documents: those of rules
        that block documents, on fields a document prints."""
        return {key: kept for key, found in self.errors_by_row().items()
                if (kept := [f for f in found if blocks_documents(f, self.non_blocking)])}

    def column_errors(self) -> list[Finding]:
        """Error findings not tied to a row (a missing required column)."""
        return [f for f in self.findings if f.severity == ERROR and f.row is None]

    def render_text(self, colour: bool = False) -> str:
        """Findings grouped by row (``台账!20  KS-2026-002``), indented, then the counts."""
        lang = self.language
        paint = {ERROR: "\x1b[31m", WARNING: "\x1b[33m", NOTE: "\x1b[36m"} if colour else {}
        reset = "\x1b[0m" if colour else ""
        labels = {s: translate(MESSAGES, f"severity-{s}", lang) for s in (ERROR, WARNING, NOTE)}
        width = max(len(v) for v in labels.values())
        lines: list[str] = []
        group: tuple[str, int | None] | None = None
        for f in self.findings:
            key = (f.sheet, f.row) if f.row is not None else ("", None)
            if key != group:
                group = key
                if lines:
                    lines.append("")
                if f.row is None:
                    lines.append(translate(MESSAGES, "file-level", lang))
                else:
                    lines.append(f"{f.sheet}!{f.row}  {f.complaint_id}".rstrip())
            where = f.cell.rpartition("!")[2] if f.cell else f.sheet
            label = labels[f.severity].ljust(width if lang == "en" else 0)
            where = f"  {where}" if where else ""
            lines.append(f"  {paint.get(f.severity, '')}{label}{reset}{where}  [{f.code}]  {f.message}")
        if not self.findings:
            lines.append(translate(MESSAGES, "no-findings", lang))
        lines.append("")
        lines.append(translate(MESSAGES, "summary", lang, rows=self.counts["rows"],
                               errors=self.counts[ERROR], warnings=self.counts[WARNING],
                               notes=self.counts[NOTE], rows_with_errors=self.counts["rows_with_errors"]))
        return "\n".join(lines)


def blocks_documents(finding: Finding, non_blocking: frozenset[tuple[str, int | None, str, str]] = frozenset()) -> bool:
    """Whether an error finding stops its row's documents."""
    if finding.field in REMINDER_ONLY_FIELDS:
        return False
    return (finding.sheet, finding.row, finding.code, finding.field) not in non_blocking


# -- per-sheet plan: the start hook's result ---------------------------------------------


Check = Callable[[Record, "SheetPlan"], Iterable[Finding]]


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: its check, and the columns without which it is skipped on a sheet."""

    name: str
    check: Check
    needs: tuple[str, ...] = ()
    #: Skipped on a sheet that has none of these columns.
    needs_any: tuple[str, ...] = ()
    #: Whether this rule's errors stop the row's documents (see ``REMINDER_ONLY_FIELDS`` too).
    blocks_documents: bool = True

    def applies(self, present: frozenset[str]) -> bool:
        return all(n in present for n in self.needs) and (
            not self.needs_any or any(n in present for n in self.needs_any))


@dataclass(slots=True)
class SheetPlan:
    """What the rules need to know about one sheet, worked out once before the rows."""

    register: Register
    config: Config
    today: dt.date
    language: str
    info: SheetInfo
    present: frozenset[str]
    checks: tuple[Check, ...] = ()
    required: tuple[str, ...] = ()
    required_get: Callable[[dict[str, Any]], Any] | None = None
    lists: tuple[tuple[str, frozenset[Any]], ...] = ()
    emails: tuple[str, ...] = ()
    not_future: tuple[str, ...] = ()
    not_before: tuple[tuple[str, str], ...] = ()
    header_cache: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str:
        """The column's header as this sheet writes it (one line), else the default header."""
        text = self.header_cache.get(name)
        if text is None:
            index = self.info.columns.get(name)
            raw = self.info.headers[index] if index is not None and index < len(self.info.headers) else ""
            text = _WS.sub(" ", str(raw or "")).strip() or FIELD_BY_NAME[name].header(self.language)
            self.header_cache[name] = text
        return text

    def finding(self, code: str, record: Record, name: str, value: Any, severity: str = ERROR,
                key: str | None = None, **extra: Any) -> Finding:
        """A finding on ``record``'s ``name`` cell; the message is formatted here, only now."""
        message = translate(MESSAGES, key or code, self.language, header=self.header(name),
                            value=show_value(value), **extra)
        return Finding(code=code, severity=severity, sheet=record.sheet, row=record.row,
                       column=self.info.column_letter(name), cell=self.register.cell(record, name),
                       field=name, complaint_id=record.complaint_id, value=value, message=message)

    def show(self, name: str, value: Any) -> str:
        return display_value(name, value, self.language) if isinstance(value, str) else show_value(value)


# -- rules: each returns an empty tuple when the record is fine ------------------------


def check_bad_cells(record: Record, plan: SheetPlan) -> Iterable[Finding]:
    """Cells the reader could not parse: bad-date, ambiguous-date, bad-number, formula-no-value,
    formula-error (an error value such as #N/A), and conflicting-values (rows of one complaint
    holding different values)."""
    if not record.bad:
        return _NOTHING
    return [_conflicting(record, plan, name, raw) if code == CONFLICTING_VALUES
            else plan.finding(code, record, name, raw) for name, (code, raw) in record.bad.items()]


def _conflicting(record: Record, plan: SheetPlan, name: str, raw: tuple[tuple[int, Any], ...]) -> Finding:
    """A finding naming every cell of the record that holds one of the different values."""
    sep = translate(MESSAGES, "list-separator", plan.language)
    letter = plan.info.column_letter(name)
    cells = sep.join(translate(MESSAGES, "conflicting-cell", plan.language, cell=f"{record.sheet}!{letter}{row}",
                               value=plan.show(name, value)) for row, value in raw)
    shown = " / ".join(plan.show(name, value) for _, value in raw)
    return plan.finding(CONFLICTING_VALUES, record, name, shown, cells=cells)


def check_required(record: Record, plan: SheetPlan) -> Iterable[Finding]:
    values = record.values
    if plan.required_get is not None:
        got = plan.required_get(values)
        if None not in got and "" not in got:
            return _NOTHING
    found = []
    for name in plan.required:
        if values.get(name) in (None, "") and name not in record.bad:
            key = "missing-respondent" if name == "respondent" else "missing-required"
            found.append(plan.finding("missing-required", record, name, None, key=key))
    return found


def check_contact(record: Record, plan: SheetPlan) -> Iterable[Finding]:
    """A phone or an e-mail address is needed to reach the customer; a phone must look like one."""
    values = record.values
    phone = values.get("customer_phone")
    if phone is not None and phone != "":
        if is_phone(phone):
            return _NOTHING
        # 9-11 digits not starting with 0 or 1: a landline whose 0 Excel dropped (a number cell).
        key = "bad-phone-zero" if _LOST_ZERO.fullmatch(show_value(phone)) else None
        return (plan.finding("bad-phone", record, "customer_phone", phone, key=key),)
    if values.get("customer_email") not in (None, "") or "customer_phone" in record.bad \
            or "customer_email" in record.bad:
        return _NOTHING
    if "customer_phone" not in plan.present:
        return (plan.finding("missing-required", record, "customer_email", None, key="missing-contact-email-only",
                             phone=plan.header("customer_phone")),)
    key = "missing-contact" if "customer_email" in plan.present else "missing-contact-phone-only"
    return (plan.finding("missing-required", record, "customer_phone", None, key=key,
                         email=plan.header("customer_email")),)


def check_lists(record: Record, plan: SheetPlan) -> Iterable[Finding]:
    values = record.values
    found: list[Finding] | None = None
    for name, allowed in plan.lists:
        value = values.get(name)
        if value is not None and value not in allowed:
            found = found or []
            found.append(_not_in_list(record, plan, name, value))
    return found or _NOTHING


def _not_in_list(record: Record, plan: SheetPlan, name: str, value: Any) -> Finding:
    f = FIELD_BY_NAME[name]
    sep = translate(MESSAGES, "list-separator", plan.language)
    if f.config_list:
        return plan.finding("not-in-list", record, name, value, key="not-in-config-list",
                            allowed=sep.join(plan.config.list_values(f.config_list)), list_key=f.config_list)
    choices = f.choices_en if plan.language == "en" and f.choices_en else f.choices
    return plan.finding("not-in-list", record, name, value, allowed=sep.join(choices))


def check_emails(record: Record, plan: SheetPlan) -> Iterable[Finding]:
    values = record.values
    found: list[Finding] | None = None
    for name in plan.emails:
        value = values.get(name)
        if value is not None and value != "" and not (
                is_sendable(value) if name in SENDABLE and isinstance(value, str) else is_email(value)):
            found = found or []
            found.append(plan.finding("bad-email", record, name, value))
    return found or _NOTHING


def check_dates(record: Record, plan: SheetPlan) -> Iterable[Finding]:
    """Dates not after today (received, closed, done) and not before the date received."""
    values = record.values
    found: list[Finding] | None = None
    today = plan.today
    datetime = dt.datetime
    for name in plan.not_future:
        value = values.get(name)
        if value is None:
            continue
        day = value.date() if type(value) is datetime else value
        try:
            late = day > today
        except TypeError:  # not a date: the reader reports such cells
            continue
        if late:
            found = found or []
            found.append(plan.finding("date-in-future", record, name, value, today=today.isoformat()))
    received = values.get("received_on")
    if received is not None:
        if type(received) is datetime:
            received = received.date()
        for name, severity in plan.not_before:
            value = values.get(name)
            if value is None:
                continue
            day = value.date() if type(value) is datetime else value
            try:
                early = day < received
            except TypeError:
                continue
            if early:
                found = found or []
                found.append(plan.finding("date-order", record, name, value, severity,
                                          received=show_value(received),
                                          received_header=plan.header("received_on")))
    return found or _NOTHING


def check_closed_date(record: Record, plan: SheetPlan) -> Iterable[Finding]:
    """结案日期 is required when the status is 已结案 and forbidden otherwise."""
    values = record.values
    status = values.get("status")
    closed_on = values.get("closed_on")
    if status == CLOSED:
        if closed_on is None and "closed_on" not in record.bad:
            return (plan.finding("closed-date-missing", record, "closed_on", None,
                                 closed=plan.show("status", CLOSED)),)
    elif closed_on is not None and status is not None:
        return (plan.finding("closed-date-forbidden", record, "closed_on", closed_on,
                             status=plan.show("status", status), closed=plan.show("status", CLOSED)),)
    return _NOTHING


def check_close_complete(record: Record, plan: SheetPlan) -> Iterable[Finding]:
    """A closed complaint has its resolution, follow-up, satisfaction (and cause, if valid)."""
    values = record.values
    if values.get("status") != CLOSED:
        return _NOTHING
    found = []
    names = CLOSE_REQUIRED_VALID if values.get("nature") == VALID_COMPLAINT else CLOSE_REQUIRED
    for name in names:
        if name in plan.present and values.get(name) in (None, "") and name not in record.bad:
            found.append(plan.finding("close-incomplete", record, name, None))
    return found


def check_capa(record: Record, plan: SheetPlan) -> Iterable[Finding]:
    """Corrective action: required to close a valid class A/B complaint; complete when set."""
    values = record.values
    action = values.get("corrective_action")
    closed = values.get("status") == CLOSED
    if action in (None, ""):
        severity = values.get("severity")
        if closed and values.get("nature") == VALID_COMPLAINT \
                and severity in plan.config.rules.capa_classes:
            return (plan.finding("capa-required", record, "corrective_action", None, klass=severity),)
        return _NOTHING
    found = []
    for name in ("capa_owner", "capa_due"):
        if name in plan.present and values.get(name) in (None, "") and name not in record.bad:
            found.append(plan.finding("capa-incomplete", record, name, None))
    if closed and "capa_done" in plan.present and values.get("capa_done") is None \
            and "capa_done" not in record.bad:
        found.append(plan.finding("capa-not-done", record, "capa_done", None, WARNING))
    return found


def check_compensation(record: Record, plan: SheetPlan) -> Iterable[Finding]:
    value = record.values.get("compensation")
    if isinstance(value, (int, float)) and value < 0:
        return (plan.finding("negative-number", record, "compensation", value),)
    return _NOTHING


def check_addresses(record: Record, plan: SheetPlan) -> Iterable[Finding]:
    """Reminders need an address: in the register, or config [people] / [departments]."""
    values = record.values
    found: list[Finding] | None = None
    config = plan.config
    department = values.get("department")
    for person_field, email_field in (("handler", "handler_email"), ("capa_owner", "capa_owner_email")):
        if email_field not in plan.present:
            continue
        person = values.get(person_field)
        if person in (None, "") or values.get(email_field) not in (None, "") or email_field in record.bad:
            continue
        if config.person_email(str(person)) or config.department_head(str(department or "")):
            continue
        found = found or []
        found.append(plan.finding("no-address", record, email_field, None, person=person,
                                  department=department or ""))
    return found or _NOTHING


RULES: tuple[Rule, ...] = (
    Rule("bad-cells", check_bad_cells),
    Rule("required", check_required),
    Rule("contact", check_contact, needs_any=("customer_phone", "customer_email")),
    Rule("lists", check_lists),
    Rule("emails", check_emails),
    Rule("dates", check_dates),
    Rule("closed-date", check_closed_date, needs=("status", "closed_on")),
    Rule("close-complete", check_close_complete, needs=("status",)),
    Rule("capa", check_capa, needs=("corrective_action",)),
    Rule("compensation", check_compensation, needs=("compensation",)),
    Rule("addresses", check_addresses, blocks_documents=False),  # reminders only
)
#: Fields no document prints: a finding on them stops that row's reminders, not its forms.
REMINDER_ONLY_FIELDS = frozenset({"handler_email", "capa_owner_email"})
_NON_BLOCKING_CHECKS = frozenset(rule.check for rule in RULES if not rule.blocks_documents)


def _allowed(name: str, config: Config, language: str) -> frozenset[Any]:
    f = FIELD_BY_NAME[name]
    values: list[Any] = list(config.list_values(f.config_list)) if f.config_list else list(f.choices)
    if language == "en":
        values += f.choices_en
    return frozenset(values)


def _plan_sheet(register: Register, info: SheetInfo, config: Config, today: dt.date,
                findings: list[Finding]) -> SheetPlan:
    """The start hook: report missing columns once for the sheet and keep the rules that apply."""
    language = config.language
    present = frozenset(info.columns)
    plan = SheetPlan(register, config, today, language, info, present)
    if "customer_phone" not in present and "customer_email" not in present:
        message = translate(MESSAGES, "missing-contact-column", language, sheet=info.name,
                            phone=FIELD_BY_NAME["customer_phone"].header(language),
                            email=FIELD_BY_NAME["customer_email"].header(language))
        findings.append(_column_finding("customer_phone", ERROR, info, message))
    elif "customer_phone" not in present:  # e-mail only: the phone is how staff reach most customers
        message = translate(MESSAGES, "missing-column", language, sheet=info.name, field="customer_phone",
                            header=FIELD_BY_NAME["customer_phone"].header(language),
                            consequence=translate(MESSAGES, "missing-column-optional", language))
        findings.append(_column_finding("customer_phone", WARNING, info, message))
    for name, cols in info.repeated.items():
        first = info.column_letter(name)
        letters = [column_letter(c) for c in cols]
        sep = translate(MESSAGES, "list-separator", language)
        message = translate(MESSAGES, "repeated-column", language, sheet=info.name, header=plan.header(name),
                            columns=sep.join([first, *letters]), first=first, others=sep.join(letters))
        findings.append(_column_finding(name, WARNING, info, message, code="repeated-column"))
    for name, severity in MISSING_COLUMN_SEVERITY.items():
        if name in present:
            continue
        consequence = translate(MESSAGES, "missing-column-required" if severity == ERROR
                                else "missing-column-optional", language)
        message = translate(MESSAGES, "missing-column", language, sheet=info.name, field=name,
                            header=FIELD_BY_NAME[name].header(language), consequence=consequence)
        findings.append(_column_finding(name, severity, info, message))
    plan.checks = tuple(rule.check for rule in RULES if rule.applies(present))
    plan.required = tuple(n for n in REQUIRED if n in present)
    if plan.required:
        plan.required_get = _tuple_getter(plan.required)
    plan.lists = tuple((n, _allowed(n, config, language)) for n in LISTS if n in present)
    plan.emails = tuple(n for n in EMAILS if n in present)
    plan.not_future = tuple(n for n in NOT_FUTURE if n in present)
    plan.not_before = tuple(p for p in NOT_BEFORE_RECEIVED if p[0] in present)
    return plan


def _tuple_getter(names: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """itemgetter that always returns a tuple (itemgetter of one name returns the bare value)."""
    getter = operator.itemgetter(*names)
    if len(names) == 1:
        return lambda values: (getter(values),)
    return getter


def _column_finding(name: str, severity: str, info: SheetInfo, message: str,
                    code: str = "missing-column") -> Finding:
    return Finding(code=code, severity=severity, sheet=info.name, row=None, column="",
                   cell="", field=name, complaint_id="", value=None, message=message)


# -- end hook -----------------------------------------------------------------------------


def _check_duplicates(register: Register, plans: dict[str, SheetPlan]) -> list[Finding]:
    """Every repeat of a complaint number after the first is an error naming the first's cell."""
    first: dict[str, Record] = {}
    found: list[Finding] = []
    for record in register.records:
        value = record.values.get("complaint_id")
        if value is None or value == "":
            continue
        # Staff see "ks-2026-002 " and "KS-2026-002" (and its full-width ＫＳ－２０２６－００２, typed
        # with a Chinese input method) as the same number, so compare them so.
        if isinstance(value, str):
            key = (value if value.isascii() else unicodedata.normalize("NFKC", value)).strip().upper()
        else:
            key = show_value(value)
        seen = first.setdefault(key, record)
        if seen is not record:
            found.append(plans[record.sheet].finding(
                "duplicate-id", record, "complaint_id", value, first=register.cell(seen, "complaint_id")))
    return found


# -- the entry point ------------------------------------------------------------------------


def validate(register: Register, config: Config, today: dt.date) -> ValidationReport:
    """Check every record of ``register`` against the rules, as of ``today``."""
    findings: list[Finding] = []
    for note in register.notes:
        findings.append(Finding(code="register-open", severity=NOTE, sheet="", row=None, column="",
                                cell="", field="", complaint_id="", value=None, message=note))
    for sheet, row, message in register.unread:
        if row is None:
            findings.append(Finding(code="sheet-not-read", severity=WARNING, sheet=sheet, row=None, column="",
                                    cell="", field="", complaint_id="", value=None, message=message))
    plans = {info.name: _plan_sheet(register, info, config, today, findings) for info in register.sheets}
    row_findings: list[Finding] = []
    non_blocking: set[tuple[str, int | None, str, str]] = set()
    extend = row_findings.extend
    sheet_name = None
    checks: tuple[Check, ...] = ()
    plan: SheetPlan | None = None
    for record in register.records:
        if record.sheet != sheet_name:
            sheet_name = record.sheet
            plan = plans[sheet_name]
            checks = plan.checks
        for check in checks:
            found = check(record, plan)  # type: ignore[arg-type]
            if found:
                extend(found)
                if check in _NON_BLOCKING_CHECKS:
                    non_blocking.update((f.sheet, f.row, f.code, f.field) for f in found)
    row_findings.extend(_check_duplicates(register, plans))
    for sheet, row, message in register.unread:
        if row is not None:  # the header repeated, a total row: said where it is, not counted
            letter = plans[sheet].info.column_letter("complaint_id") if sheet in plans else ""
            row_findings.append(Finding(code="row-not-read", severity=NOTE, sheet=sheet, row=row, column=letter,
                                        cell=f"{sheet}!{letter}{row}", field="complaint_id", complaint_id="",
                                        value=None, message=message))
    order = {info.name: i for i, info in enumerate(register.sheets)}
    row_findings.sort(key=lambda f: (order.get(f.sheet, 0), f.row or 0, len(f.column), f.column))
    findings.extend(row_findings)

    counts = {ERROR: 0, WARNING: 0, NOTE: 0}
    error_rows: set[tuple[str, int]] = set()
    for f in findings:
        counts[f.severity] += 1
        if f.severity == ERROR and f.row is not None:
            error_rows.add((f.sheet, f.row))
    counts["rows"] = len(register.records)
    counts["rows_with_errors"] = len(error_rows)
    return ValidationReport(register=register.path, rows=len(register.records), findings=findings,
                            counts=counts, language=config.language, non_blocking=frozenset(non_blocking))
