"""Cell values as staff type them, parsed once: dates, numbers, text and list spellings.

Pure functions shared with other stages, so nobody parses register values twice.

>>> parse_date("2026年3月5日")
datetime.date(2026, 3, 5)
>>> parse_number("￥1,200")
1200.0
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from ..fields import FIELD_BY_NAME

BAD_DATE, AMBIGUOUS_DATE, BAD_NUMBER, FORMULA_NO_VALUE, FORMULA_ERROR = (
    "bad-date", "ambiguous-date", "bad-number", "formula-no-value", "formula-error")
#: Two rows of one complaint (a record spanning rows) hold different single values.
CONFLICTING_VALUES = "conflicting-values"


class ValueParseError(ValueError):
    """A register value that cannot be read as its field's type; :attr:`code` says why."""

    def __init__(self, code: str, raw: Any) -> None:
        super().__init__(f"{code}: {raw!r}")
        self.code = code
        self.raw = raw



#: Plausible Excel serial numbers for a complaint date: 1950-01-01 .. 2099-12-31.
_SERIAL_MIN, _SERIAL_MAX = 18264, 73050
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
#: Day 0 of a workbook that counts from 1904 (Excel for Mac's old default): 1462 days later.
_EPOCH_1904 = dt.datetime(1904, 1, 1)
_TIME = r"(?:[ T]+(?P<ampm1>上午|下午|AM|PM)?\s*(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?" \
        r"\s*(?P<ampm2>上午|下午|AM|PM)?)?"
_YMD = re.compile(r"(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?" + _TIME,
                  re.IGNORECASE)
_XYY = re.compile(r"(?P<a>\d{1,2})\s*(?P<sep>[-/.])\s*(?P<b>\d{1,2})\s*(?P=sep)\s*(?P<y>\d{4})" + _TIME,
                  re.IGNORECASE)
_COMPACT = re.compile(r"(?P<y>(?:19|20)\d{2})(?P<m>\d{2})(?P<d>\d{2})")


def parse_date(value: Any, date_order: str = "", date1904: bool = False) -> dt.date | dt.datetime:
    """A register date cell as a date, or a datetime when it carries a time of day.

    Accepts real Excel dates, Excel serial numbers (1950-2099), ``YYYYMMDD`` and text such as
    ``2026-03-05``, ``2026/3/5``, ``2026.3.5``, ``2026年3月5日``, optionally followed by a
    time (``2026-1-1 1:01``, ``2026/1/1 1:01 下午``). ``3/5/2026`` is read with
    ``date_order`` ("mdy" or "dmy"); without it, it is ambiguous unless one part exceeds 12.
    ``date1904``: serial numbers count from 1904-01-01 (the workbook says so). A value at midnight is a plain date. Raises :class:`ValueParseError` with code
    ``bad-date`` or ``ambiguous-date``.
    """
    kind = type(value)
    if kind is dt.date:
        return value
    if kind is dt.datetime:
        return _midnight_to_date(value)
    if kind is float or kind is int:
        return _date_from_number(value, date1904)
    if isinstance(value, str):
        return _date_from_text(value, date_order)
    raise ValueParseError(BAD_DATE, value)


def _midnight_to_date(value: dt.datetime) -> dt.date | dt.datetime:
    if value.hour == value.minute == value.second == value.microsecond == 0:
        return value.date()
    return value


def _date_from_number(value: float, date1904: bool = False) -> dt.date | dt.datetime:
    if not math.isfinite(value):
        raise ValueParseError(BAD_DATE, value)
    shift = 1462 if date1904 else 0
    if _SERIAL_MIN - shift <= value <= _SERIAL_MAX - shift:
        # Round to the second: a serial's fraction rarely lands exactly on one.
        moment = (_EPOCH_1904 if date1904 else _EXCEL_EPOCH) + dt.timedelta(seconds=round(value * 86400))
        return _midnight_to_date(moment)
    if float(value).is_integer():
        match = _COMPACT.fullmatch(str(int(value)))
        if match:
            return _build_date(int(match["y"]), int(match["m"]), int(match["d"]), None, value)
    raise ValueParseError(BAD_DATE, value)


def _date_from_text(raw: str, date_order: str) -> dt.date | dt.datetime:
    text = unicodedata.normalize("NFKC", raw).strip()
    match = _YMD.fullmatch(text)
    if match:
        return _build_date(int(match["y"]), int(match["m"]), int(match["d"]), match, raw)
    match = _COMPACT.fullmatch(text)
    if match:
        return _build_date(int(match["y"]), int(match["m"]), int(match["d"]), None, raw)
    match = _XYY.fullmatch(text)
    if match:
        first, second, year = int(match["a"]), int(match["b"]), int(match["y"])
        order = date_order
        if not order:
            if first > 12 >= second:
                order = "dmy"
            elif second > 12 >= first:
                order = "mdy"
            elif first != second:
                raise ValueParseError(AMBIGUOUS_DATE, raw)
            else:
                order = "mdy"  # 5/5/2026 reads the same either way
        month, day = (first, second) if order == "mdy" else (second, first)
        return _build_date(year, month, day, match, raw)
    raise ValueParseError(BAD_DATE, raw)


def _build_date(year: int, month: int, day: int, match: re.Match[str] | None,
                raw: Any) -> dt.date | dt.datetime:
    try:
        day_value = dt.date(year, month, day)
        if match is None or match["h"] is None:
            return day_value
        hour = int(match["h"])
        ampm = (match["ampm1"] or match["ampm2"] or "").upper()
        if ampm:
            if not 1 <= hour <= 12:
                raise ValueError(hour)
            hour = hour % 12 + (12 if ampm in ("PM", "下午") else 0)
        moment = dt.datetime(year, month, day, hour, int(match["mi"]), int(match["s"] or 0))
    except ValueError:
        raise ValueParseError(BAD_DATE, raw) from None
    return _midnight_to_date(moment)


_CURRENCY = re.compile(r"^(?:¥|\$|RMB|CNY|人民币)\s*|\s*(?:元|圆|块|RMB|CNY)$", re.IGNORECASE)
_PLAIN_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)")
_GROUPED_NUMBER = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")


def parse_number(value: Any) -> float:
    """A number cell or a number typed as text (``1,200``, ``￥1.11``, ``200元``) as a float.

    Raises :class:`ValueParseError` (``bad-number``).
    """
    kind = type(value)
    if kind is float or kind is int:
        if not math.isfinite(value):
            raise ValueParseError(BAD_NUMBER, value)
        return float(value)
    if not isinstance(value, str):
        raise ValueParseError(BAD_NUMBER, value)
    text = _CURRENCY.sub("", unicodedata.normalize("NFKC", value).strip()).replace(" ", "")
    if _GROUPED_NUMBER.fullmatch(text):
        text = text.replace(",", "")
    elif not _PLAIN_NUMBER.fullmatch(text):
        raise ValueParseError(BAD_NUMBER, value)
    return float(text)


def clean_text(value: Any) -> str | None:
    """A cell as the text staff typed: stripped; blank or all-white-space is ``None``.

    A number typed where text belongs reads as written (1001.0 -> ``"1001"``,
    13800138000.0 -> ``"13800138000"``, 12.5 -> ``"12.5"``).
    """
    if type(value) is str:
        return value.strip() or None
    return _text_of(value)


def _text_of(value: Any) -> str | None:
    """Text form of a non-string cell (the slow path of :func:`clean_text`)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e17:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        moment = _midnight_to_date(value)
        return moment.isoformat(sep=" ") if isinstance(moment, dt.datetime) else moment.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value).strip() or None


def list_value_table(field_name: str, language: str, config_values: Iterable[str] = (),
                     synonyms: Mapping[str, str] | None = None) -> dict[str, str]:
    """Case-folded spellings of a list field's values -> canonical value.

    Canonical values match case-insensitively in every language; English equivalents are
    accepted only when ``language`` is "en"; ``synonyms`` (``[lists.synonyms]``, spelling ->
    canonical value) count for this field when their target is one of its values.
    """
    f = FIELD_BY_NAME[field_name]
    table = {v.casefold(): v for v in (*f.choices, *config_values)}
    if language == "en":
        for canonical, english in zip(f.choices, f.choices_en, strict=True):
            table.setdefault(english.casefold(), canonical)
    targets = set(table.values())
    for spelling, canonical in (synonyms or {}).items():
        if canonical in targets:
            table.setdefault(spelling.strip().casefold(), canonical)
    return table
