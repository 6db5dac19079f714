"""What a document says: a register row as the names a template may print.

Values are shown as the form prints them (``2026年11月20日`` / ``2026-11-20``, list values in the
form's language). A blank 承诺答复日期 / 回访期限 prints the due date the toolkit computed (the
reminders use the same one). The corrective action becomes one item per line (``actions``).

A number, date or list value is a :class:`Shown`: it prints its display text, and a condition
reads what it means (``{% if 赔付金额 %}`` is false for 0, ``{% if 特殊客诉 %}`` for 否).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from ..config import Config
from ..fields import DATE, FIELD_BY_NAME, FIELDS, LIST, NOT_SPECIAL, NUMBER, display_value, is_special
from ..model import Record, Value
from .check import EXTRA_NAMES, header_names
from .kinds import CAPA, DocumentKind


def format_date(value: dt.date | dt.datetime, language: str) -> str:
    """``2026年11月20日`` / ``2026-11-20``; a time other than midnight is kept (``14:30``)."""
    text = value.isoformat()[:10] if language == "en" else f"{value.year}年{value.month}月{value.day}日"
    if isinstance(value, dt.datetime) and (value.hour, value.minute) != (0, 0):
        text += f" {value:%H:%M}"
    return text


def display(field_name: str, value: Value, language: str) -> str:
    """A register value as printed on a form."""
    if value is None:
        return ""
    if isinstance(value, (dt.date, dt.datetime)):
        return format_date(value, language)
    if field_name == "compensation" and isinstance(value, (int, float)):
        return f"{value:,.2f}"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if FIELD_BY_NAME.get(field_name) is not None and FIELD_BY_NAME[field_name].kind == LIST:
        return display_value(field_name, str(value).strip(), language)
    return str(value)


class Shown(str):
    """A value as the form prints it (``'1,200.00'``, ``'否'``, ``'2026年11月20日'``) that a
    template's condition reads as what it means: truth is the value's (0, 否 and blank are false),
    ``<``/``>`` compare the numbers or dates, ``==`` holds for the register's value or the printed
    text (``特殊客诉 == "否"``, ``赔付金额 == 0``). ``{{ }}`` prints the text, exactly as before."""

    raw: Any
    truth: bool

    def __new__(cls, text: str, raw: Any, truth: bool) -> Shown:
        self = super().__new__(cls, text)
        self.raw, self.truth = raw, truth
        return self

    def __reduce__(self) -> tuple[Any, ...]:  # to worker processes with its value
        return (Shown, (str(self), self.raw, self.truth))

    def __bool__(self) -> bool:
        return self.truth

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str) and str.__eq__(self, other):
            return True
        return bool(self.raw == meaning(other))

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = str.__hash__

    def __lt__(self, other: object) -> bool:
        a, b = _comparable(self.raw, meaning(other))
        return bool(a < b)

    def __le__(self, other: object) -> bool:
        a, b = _comparable(self.raw, meaning(other))
        return bool(a <= b)

    def __gt__(self, other: object) -> bool:
        a, b = _comparable(self.raw, meaning(other))
        return bool(a > b)

    def __ge__(self, other: object) -> bool:
        a, b = _comparable(self.raw, meaning(other))
        return bool(a >= b)


def meaning(value: object) -> Any:
    """What a template value stands for: a :class:`Shown`'s register value, anything else as is."""
    return value.raw if isinstance(value, Shown) else value


def _comparable(a: Any, b: Any) -> tuple[Any, Any]:
    # A 受理日期 with a time against a plain date: compare the days (Python refuses the pair).
    if isinstance(a, dt.datetime) and isinstance(b, dt.date) and not isinstance(b, dt.datetime):
        return a.date(), b
    if isinstance(b, dt.datetime) and isinstance(a, dt.date) and not isinstance(a, dt.datetime):
        return a, b.date()
    return a, b


def shown(field_name: str, value: Value, text: str) -> str:
    """``text`` as a :class:`Shown` where a condition on the display text would be wrong: numbers
    (a blank one is 0, as in a kind's ``when``), dates (a blank one compares as nothing: an error),
    list values (特殊客诉 否 is false)."""
    f = FIELD_BY_NAME.get(field_name)
    if f is None:
        return text
    if f.kind == NUMBER:
        return Shown(text, 0 if value is None or value == "" else value, bool(value))
    if value is None:
        # A blank date stays None: comparing it fails loudly (naming the tag), never silently.
        return Shown(text, None, False) if f.kind == DATE else text
    if isinstance(value, (dt.date, dt.datetime)):
        return Shown(text, value, True)
    if field_name == "special":
        return Shown(text, value, is_special(value))
    if f.kind == LIST:
        return Shown(text, value, bool(text.strip()))
    return text


#: (canonical name, Chinese header names) per field, worked out once: contexts are built per row.
_CONTEXT_NAMES = tuple((f.name, tuple(header_names(f.zh))) for f in FIELDS)

#: A line numbered by staff: ``1. …``, ``2、…``, ``(1) …``, ``（2）…``, ``1) …``, ``①…``. A digit
#: right after the separator means the number is the text's own (``1.5倍``, ``12:00前``,
#: ``3.1 修订``), not numbering, so it is kept.
_NUMBERED = re.compile(r"^\s*(?:[(（]\s*\d+\s*[)）]|\d+\s*[.、．)）:：](?!\d)|[①-⑳])\s*")
_PREVENTIVE = re.compile(r"^\s*(预防|preventive|prevention)", re.IGNORECASE)


def actions(record: Record, language: str) -> list[dict[str, str]]:
    """One table row per line of the corrective action, numbered once (a number staff typed,
    ``1.`` ``2、`` ``(1)``, is taken off the text); a line starting 预防 / Preventive (after its
    number) is listed as preventive, any other as corrective."""
    text = record.get("corrective_action")
    lines = [line.strip() for line in str(text or "").replace("\r", "\n").split("\n") if line.strip()]
    owner = display("capa_owner", record.get("capa_owner"), language)
    due = display("capa_due", record.get("capa_due"), language)
    rows = []
    for number, line in enumerate(lines, 1):
        body = _NUMBERED.sub("", line, count=1) or line
        preventive = bool(_PREVENTIVE.match(body))
        if language == "en":
            kind = "Preventive" if preventive else "Corrective"
        else:
            kind = "预防" if preventive else "纠正"
        rows.append({"no": str(number), "type": kind, "text": body, "owner": owner, "due": due})
    return rows


class DueDates:
    """The reply and follow-up due dates the reminders use, for rows that leave them blank."""

    def __init__(self, config: Config) -> None:
        from ..reminders import due_dates  # the planner owns the rule; documents only print it
        from ..workdays import WorkCalendar

        self._due_dates = due_dates
        self._config = config
        self._calendar = WorkCalendar.from_config(config)

    def __call__(self, record: Record) -> tuple[dt.date | None, dt.date | None]:
        due = self._due_dates(record, self._config, self._calendar)
        return due.reply, due.followup


def build_context(record: Record, kind: str | DocumentKind, config: Config,
                  due: DueDates | None = None) -> dict[str, Any]:
    """Everything a template may print for one complaint, by canonical name and Chinese header."""
    language = config.language
    key = kind if isinstance(kind, str) else kind.key
    context: dict[str, Any] = {}
    values = dict(record.values)
    if due is not None and (values.get("reply_due") is None or values.get("followup_due") is None):
        reply, followup = due(record)
        if values.get("reply_due") is None and "reply_due" not in record.bad:
            values["reply_due"] = reply
        if values.get("followup_due") is None and "followup_due" not in record.bad:
            values["followup_due"] = followup
    for field_name, names in _CONTEXT_NAMES:
        value = values.get(field_name)
        if field_name == "special" and value in (None, ""):
            value = NOT_SPECIAL  # REGISTER.md: a blank 特殊客诉 means 否, and the form says so
        text = shown(field_name, value, display(field_name, value, language))
        context[field_name] = text
        for name in names:
            context[name] = text
    done = record.get("capa_done")
    if language == "en":
        capa_status = "Completed" if done else "Open"
    else:
        capa_status = "已完成" if done else "未完成"
    if isinstance(kind, DocumentKind):
        form_no = kind.form_no
    else:
        form_no = config.company.capa_form_no if key == CAPA else config.company.feedback_form_no
    extras = {
        "company_name": config.company.name,
        "form_no": form_no,
        "is_special": is_special(record.get("special")),
        "actions": actions(record, language),
        "capa_status": capa_status,
    }
    for en, value in extras.items():
        context[en] = context[EXTRA_NAMES[en]] = value
    # Raw values for MERGEFIELD picture switches (\@ dates, \# numbers).
    context["_values"] = {k: v for k, v in values.items() if isinstance(v, (dt.date, int, float))}
    context["_language"] = language
    context["_row"] = (record.sheet, record.row)  # named when this row's document cannot be filled
    return context
