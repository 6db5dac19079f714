"""Working days: the official calendar of the configured country (China by default), including
weekend days made working days (调休), plus the company's own extra days off and extra working
days from ``[calendar]``.

>>> cal = WorkCalendar("CN")
>>> cal.add_workdays(dt.date(2026, 9, 30), 1)   # National Day: Oct 1-7 off
datetime.date(2026, 10, 8)
>>> cal.is_workday(dt.date(2026, 10, 10))        # a 调休 Saturday
True

Where the data comes from: the ``holidays`` package. It computes statutory holidays (and the
补假 the law requires when one falls on a weekend) for any year, but China's State Council
publishes each year's 调休 arrangement only in the November before; a year after the last one
the installed package knows is still computed from the statutory rules, and a warning per
such year says so (``warnings``). A year outside the package's range counts Monday-Friday,
also with a warning. Config dates in a year silence its warning: the staff filled it in.

Speed: each year is turned once into a sorted list of working-day ordinals, so counting and
adding working days is a binary search, not a walk through the days.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import holidays

from .errors import ConfigError
from .i18n import Messages, translate

if TYPE_CHECKING:
    from .config import Config

log = logging.getLogger(__name__)

#: Countries whose government announces the working-day swaps (调休) year by year, so a year
#: after the last one in the package is only an estimate. Elsewhere (including countries that
#: made such swaps once) the package's rules hold for every year it supports.
ANNOUNCED_YEARLY = frozenset({"CN", "CHN"})

MESSAGES: Messages = {
    "unknown-country": {
        "zh": "[calendar].country 为“{country}”，holidays 包不认识这个国家/地区代码。"
              "请改为 ISO 3166 两字母代码，例如 \"CN\"（中国）。",
        "en": "[calendar].country is \"{country}\", which the holidays package does not know. "
              "Use an ISO 3166 two-letter code such as \"CN\" (China).",
    },
    "bad-date": {
        "zh": "[calendar].{name} 中的“{value}”不是有效日期；请写成 YYYY-MM-DD，例如 2026-12-31。",
        "en": "[calendar].{name} has \"{value}\", which is not a real date; write YYYY-MM-DD, "
              "e.g. 2026-12-31.",
    },
    "both": {
        "zh": "{value} 同时出现在 [calendar].extra_holidays 和 [calendar].extra_workdays 中；"
              "请只保留一处。",
        "en": "{value} is in both [calendar].extra_holidays and [calendar].extra_workdays; "
              "keep it in one of them.",
    },
    "not-announced": {
        "zh": "日历：holidays {version} 只收录到 {last} 年的调休安排，{year} 年按法定节假日（含补假）"
              "和周一至周五计算，调休上班的周末和调休放假的工作日都不知道。请升级 holidays 包"
              "（pip install -U holidays），或在 config.toml 的 [calendar] extra_holidays / "
              "extra_workdays 中写入该年的安排。",
        "en": "calendar: holidays {version} knows China's official working-day swaps (调休) only "
              "up to {last}; {year} is counted from statutory holidays and Monday-Friday, without "
              "its swapped working weekends and bridge days. Upgrade the holidays package "
              "(pip install -U holidays) or add the year's dates to [calendar].extra_holidays / "
              "extra_workdays in config.toml.",
    },
    "out-of-range": {
        "zh": "日历：holidays 包的 {country} 日历只支持 {start}–{end} 年，{year} 年按周一至周五计算"
              "（不含节假日）。若该日期是笔误，请更正台账。",
        "en": "calendar: the holidays package's {country} calendar covers {start}-{end} only; "
              "{year} is counted as Monday-Friday without holidays. If the date is a typo, "
              "correct the register.",
    },
}


class DayCounter(Protocol):
    """What the reminder planner needs: working days (or plain calendar days)."""

    warnings: list[str]

    def is_workday(self, d: dt.date) -> bool: ...
    def add_workdays(self, d: dt.date, n: int) -> dt.date: ...
    def workdays_between(self, a: dt.date, b: dt.date) -> int: ...


@dataclass(frozen=True, slots=True)
class _Year:
    workdays: list[int]  # sorted ordinals of the year's working days
    workset: frozenset[int]


class WorkCalendar:
    """Working days of one country plus config extras; built lazily and cached per year."""

    def __init__(
        self,
        country: str = "CN",
        extra_holidays: Iterable[str | dt.date] = (),
        extra_workdays: Iterable[str | dt.date] = (),
        *,
        language: str = "zh",
    ) -> None:
        self.language = language
        code = (country or "").strip().upper()
        try:
            # Asking for the one country, not list_supported_countries(): that imports the
            # module of every country holidays knows (70 ms of each command's start).
            sample = holidays.country_holidays(code)
        except NotImplementedError:
            raise ConfigError(translate(MESSAGES, "unknown-country", language, country=country)) from None
        self.country = code
        self._cls = type(sample)
        self._extra_off = self._parse("extra_holidays", extra_holidays)
        self._extra_on = self._parse("extra_workdays", extra_workdays)
        both = self._extra_off & self._extra_on
        if both:
            day = dt.date.fromordinal(min(both)).isoformat()
            raise ConfigError(translate(MESSAGES, "both", language, value=day))
        self._config_years = {dt.date.fromordinal(o).year for o in self._extra_off | self._extra_on}
        self._last_announced = self._find_last_announced(sample)
        self._years: dict[int, _Year] = {}
        # A large register asks the same few (date, n) and (a, b) questions thousands of times
        # (received_on + the class's days; due date vs today): answer each once. The answers
        # never change, and a year's warning was given when it was first built.
        self._added: dict[tuple[dt.date, int], dt.date] = {}
        self._between: dict[tuple[dt.date, dt.date], int] = {}
        self.warnings: list[str] = []

    @classmethod
    def from_config(cls, config: Config) -> WorkCalendar:
        """The official calendar of ``[calendar]`` (``rules.working_days`` is the planner's
        business: the scheduler needs real working days either way)."""
        cal = config.calendar
        return cls(cal.country, cal.extra_holidays, cal.extra_workdays, language=config.language)

    def __repr__(self) -> str:
        return (f"WorkCalendar({self.country}, {len(self._extra_off)} extra holidays, "
                f"{len(self._extra_on)} extra workdays, years cached: {sorted(self._years)})")

    # -- queries ------------------------------------------------------------------------

    def is_workday(self, d: dt.date) -> bool:
        return _day(d).toordinal() in self._year(d.year).workset

    def add_workdays(self, d: dt.date, n: int) -> dt.date:
        """The ``n``-th working day after ``d`` (``d`` itself not counted); ``n < 0`` goes back,
        ``n == 0`` returns ``d``."""
        key = (d, n)
        found = self._added.get(key)
        if found is None:
            found = self._added[key] = self._add_workdays(_day(d), n)
        return found

    def _add_workdays(self, d: dt.date, n: int) -> dt.date:
        if n == 0:
            return d
        ordinal, year = d.toordinal(), d.year
        days = self._year(year).workdays
        if n > 0:
            index = bisect.bisect_right(days, ordinal)
            remaining = n
            while remaining > len(days) - index:
                remaining -= len(days) - index
                year += 1
                days, index = self._year(year).workdays, 0
            return dt.date.fromordinal(days[index + remaining - 1])
        index = bisect.bisect_left(days, ordinal)  # working days strictly before d
        remaining = -n
        while remaining > index:
            remaining -= index
            year -= 1
            days = self._year(year).workdays
            index = len(days)
        return dt.date.fromordinal(days[index - remaining])

    def workdays_between(self, a: dt.date, b: dt.date) -> int:
        """Working days in ``(a, b]``; negative (minus those in ``(b, a]``) when ``b < a``."""
        key = (a, b)
        found = self._between.get(key)
        if found is None:
            found = self._between[key] = self._workdays_between(_day(a), _day(b))
        return found

    def _workdays_between(self, a: dt.date, b: dt.date) -> int:
        if b < a:
            return -self.workdays_between(b, a)
        count = 0
        for year in range(a.year, b.year + 1):
            days = self._year(year).workdays
            low = bisect.bisect_right(days, a.toordinal()) if year == a.year else 0
            high = bisect.bisect_right(days, b.toordinal()) if year == b.year else len(days)
            count += high - low
        return count

    def next_workday(self, d: dt.date) -> dt.date:
        """The first working day after ``d`` (``d`` itself excluded)."""
        return self.add_workdays(d, 1)

    def prev_workday(self, d: dt.date) -> dt.date:
        """The last working day before ``d`` (``d`` itself excluded)."""
        return self.add_workdays(d, -1)

    # -- building -----------------------------------------------------------------------

    def _parse(self, key: str, values: Iterable[str | dt.date]) -> frozenset[int]:
        ordinals = set()
        for value in values:
            if isinstance(value, dt.date):
                ordinals.add(_day(value).toordinal())
                continue
            try:
                ordinals.add(dt.date.fromisoformat(str(value).strip()).toordinal())
            except ValueError as exc:
                raise ConfigError(translate(MESSAGES, "bad-date", self.language, name=key,
                                            value=value)) from exc
        return frozenset(ordinals)

    def _find_last_announced(self, sample: holidays.HolidayBase) -> int | None:
        """Last year whose 调休 arrangement the installed package knows, for countries that
        announce it yearly (the newest year in the special-holidays table, which the package
        copies from its static-holidays class onto each instance)."""
        if self.country not in ANNOUNCED_YEARLY:
            return None
        table = getattr(sample, "special_public_holidays", None) or {}
        return max(table) if table else None

    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is not None:
            return cached
        first = dt.date(year, 1, 1).toordinal()
        last = dt.date(year, 12, 31).toordinal()
        start, end = self._cls.start_year, self._cls.end_year
        if start <= year <= end:
            official = holidays.country_holidays(self.country, years=year)
            weekend = frozenset(official.weekend)
            days_off = {d.toordinal() for d in official if d.year == year}
            weekend_on = {d.toordinal() for d in official.weekend_workdays if d.year == year}
            if self._last_announced is not None and year > self._last_announced:
                self._warn(year, "not-announced", version=holidays.__version__,
                           last=self._last_announced)
        else:
            weekend, days_off, weekend_on = frozenset({5, 6}), set(), set()
            self._warn(year, "out-of-range", country=self.country, start=start, end=end)
        workdays = []
        for ordinal in range(first, last + 1):
            if ordinal in self._extra_on:
                workdays.append(ordinal)
            elif ordinal in self._extra_off:
                continue
            elif (ordinal - 1) % 7 in weekend:  # date.fromordinal(1) is a Monday (weekday 0)
                if ordinal in weekend_on:
                    workdays.append(ordinal)
            elif ordinal not in days_off:
                workdays.append(ordinal)
        built = _Year(workdays, frozenset(workdays))
        self._years[year] = built
        return built

    def _warn(self, year: int, key: str, **values: object) -> None:
        if year in self._config_years:
            return
        message = translate(MESSAGES, key, self.language, year=year, **values)
        log.warning(message)
        self.warnings.append(message)


class CalendarDays:
    """Every day counts: used when ``[rules].working_days = false``."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def __repr__(self) -> str:
        return "CalendarDays()"

    def is_workday(self, d: dt.date) -> bool:
        return True

    def add_workdays(self, d: dt.date, n: int) -> dt.date:
        return _day(d) + dt.timedelta(days=n)

    def workdays_between(self, a: dt.date, b: dt.date) -> int:
        return (_day(b) - _day(a)).days


def _day(value: dt.date) -> dt.date:
    """The date part of a date or datetime."""
    return value.date() if isinstance(value, dt.datetime) else value
