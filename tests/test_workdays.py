"""The working-day calendar against the real data of the holidays package (no mocks)."""

from __future__ import annotations

import datetime as dt

import holidays
import pytest

from toolkit.config import config_from_dict
from toolkit.errors import ConfigError
from toolkit.workdays import CalendarDays, WorkCalendar

D = dt.date


@pytest.fixture(scope="module")
def cn() -> WorkCalendar:
    return WorkCalendar("CN")


def test_the_package_data_the_cases_rely_on() -> None:
    """The facts below come from the State Council notices as the package holds them."""
    official = holidays.country_holidays("CN", years=[2025, 2026])
    assert all(D(2026, 10, day) in official for day in (1, 2, 3, 5, 6, 7))
    assert D(2026, 10, 10) in official.weekend_workdays  # Saturday
    assert D(2026, 9, 20) in official.weekend_workdays  # Sunday
    assert all(D(2025, 1, 28) + dt.timedelta(days=k) in official for k in (0, 1, 2, 3, 6, 7))
    assert {D(2025, 1, 26), D(2025, 2, 8)} <= official.weekend_workdays


def test_national_day_2026_is_skipped(cn: WorkCalendar) -> None:
    assert [cn.is_workday(D(2026, 10, day)) for day in range(1, 9)] == [False] * 7 + [True]
    assert cn.add_workdays(D(2026, 9, 30), 1) == D(2026, 10, 8)
    assert cn.add_workdays(D(2026, 9, 29), 3) == D(2026, 10, 9)
    assert cn.workdays_between(D(2026, 9, 30), D(2026, 10, 12)) == 4  # 8, 9, 10 (Sat), 12
    assert cn.prev_workday(D(2026, 10, 8)) == D(2026, 9, 30)
    assert cn.next_workday(D(2026, 9, 30)) == D(2026, 10, 8)


def test_tiaoxiu_saturday_is_a_working_day(cn: WorkCalendar) -> None:
    assert cn.is_workday(D(2026, 10, 10))
    assert not cn.is_workday(D(2026, 10, 11))  # the Sunday after stays a day off
    assert cn.add_workdays(D(2026, 10, 9), 1) == D(2026, 10, 10)
    assert cn.next_workday(D(2026, 10, 10)) == D(2026, 10, 12)
    assert cn.is_workday(D(2026, 9, 20))  # a working Sunday before the holiday
    assert cn.add_workdays(D(2026, 9, 18), 1) == D(2026, 9, 20)


def test_spring_festival_2025(cn: WorkCalendar) -> None:
    assert cn.add_workdays(D(2025, 1, 24), 1) == D(2025, 1, 26)  # working Sunday
    assert cn.add_workdays(D(2025, 1, 27), 1) == D(2025, 2, 5)  # Jan 28 - Feb 4 off
    assert cn.workdays_between(D(2025, 1, 24), D(2025, 2, 8)) == 6  # 26, 27, Feb 5-8


def test_new_year_across_years(cn: WorkCalendar) -> None:
    # 2026-01-01 holiday, 01-02 swapped off, 01-04 (Sunday) swapped on.
    assert cn.add_workdays(D(2025, 12, 31), 1) == D(2026, 1, 4)
    assert cn.add_workdays(D(2026, 1, 4), -1) == D(2025, 12, 31)
    assert cn.workdays_between(D(2025, 12, 30), D(2026, 1, 5)) == 3  # 31, Jan 4, Jan 5


def test_counting_backwards_and_zero(cn: WorkCalendar) -> None:
    assert cn.workdays_between(D(2026, 10, 12), D(2026, 9, 30)) == -4
    assert cn.workdays_between(D(2026, 10, 3), D(2026, 10, 3)) == 0
    assert cn.add_workdays(D(2026, 10, 3), 0) == D(2026, 10, 3)
    assert cn.add_workdays(D(2026, 10, 12), -4) == D(2026, 9, 30)
    assert cn.is_workday(dt.datetime(2026, 10, 10, 9, 30))


def test_agrees_with_the_package_day_by_day(cn: WorkCalendar) -> None:
    official = holidays.country_holidays("CN", years=range(2020, 2027))
    day = D(2020, 1, 1)
    while day.year < 2027:
        assert cn.is_workday(day) == official.is_working_day(day), day
        day += dt.timedelta(days=1)
    assert cn.warnings == []


def test_extra_holidays_and_workdays() -> None:
    cal = WorkCalendar("CN", extra_holidays=["2026-12-31"], extra_workdays=["2026-12-26"])
    assert not cal.is_workday(D(2026, 12, 31))
    assert cal.is_workday(D(2026, 12, 26))  # a company working Saturday
    assert cal.add_workdays(D(2026, 12, 24), 2) == D(2026, 12, 26)
    assert cal.add_workdays(D(2026, 12, 30), 1) == D(2027, 1, 4)


def test_from_config() -> None:
    config = config_from_dict({"calendar": {"extra_holidays": ["2026-11-24"]}})
    cal = WorkCalendar.from_config(config)
    assert cal.country == "CN"
    assert cal.add_workdays(D(2026, 11, 23), 1) == D(2026, 11, 25)


#: The first year whose 调休 the installed package does not know (2027 with holidays 0.109).
UNANNOUNCED = max(holidays.country_holidays("CN").special_public_holidays) + 1


def _saturday(year: int) -> dt.date:
    day = D(year, 3, 1)
    return day + dt.timedelta(days=(5 - day.weekday()) % 7)


def test_year_without_announced_swaps_warns_once() -> None:
    cal = WorkCalendar("CN")
    # Statutory days still count; weekends are days off, none swapped.
    assert not cal.is_workday(D(UNANNOUNCED, 10, 1))
    assert not cal.is_workday(_saturday(UNANNOUNCED))
    assert cal.is_workday(_saturday(UNANNOUNCED) + dt.timedelta(days=2))
    cal.add_workdays(D(UNANNOUNCED, 3, 1), 30)
    assert len(cal.warnings) == 1
    assert cal.warnings[0].startswith(
        f"日历：holidays {holidays.__version__} 只收录到 {UNANNOUNCED - 1} 年的调休安排，{UNANNOUNCED} 年")
    assert "extra_holidays / extra_workdays" in cal.warnings[0]


def test_year_without_swaps_english_and_silenced_by_config() -> None:
    cal = WorkCalendar("CN", language="en")
    cal.is_workday(D(UNANNOUNCED, 1, 4))
    assert cal.warnings[0].startswith("calendar: holidays ")
    assert f"{UNANNOUNCED} is counted from statutory holidays" in cal.warnings[0]
    saturday = _saturday(UNANNOUNCED)
    filled = WorkCalendar("CN", extra_workdays=[saturday.isoformat()])
    assert filled.is_workday(saturday)
    assert filled.warnings == []


def test_year_out_of_the_package_range_is_monday_to_friday() -> None:
    cal = WorkCalendar("CN")
    assert cal.is_workday(D(2101, 1, 3))  # a Monday
    assert not cal.is_workday(D(2101, 1, 2))  # Sunday
    assert cal.add_workdays(D(2100, 12, 31), 1) == D(2101, 1, 3)
    assert len(cal.warnings) == 2  # 2100 is in range but its swaps are not announced
    assert any("2100 年按法定节假日" in w for w in cal.warnings)
    assert ("日历：holidays 包的 CN 日历只支持 1950–2100 年，2101 年按周一至周五计算"
            "（不含节假日）。若该日期是笔误，请更正台账。") in cal.warnings


def test_other_country_has_no_announced_year_warning() -> None:
    cal = WorkCalendar("de")
    assert cal.country == "DE"
    assert not cal.is_workday(D(2030, 12, 25))
    assert cal.warnings == []


def test_unknown_country_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        WorkCalendar("ZZ")
    assert str(caught.value) == ("[calendar].country 为“ZZ”，holidays 包不认识这个国家/地区代码。"
                                 "请改为 ISO 3166 两字母代码，例如 \"CN\"（中国）。")
    with pytest.raises(ConfigError, match=r'^\[calendar\].country is "China!"'):
        WorkCalendar.from_config(config_from_dict({"register": {"language": "en"},
                                                   "calendar": {"country": "China!"}}))


def test_impossible_extra_date_and_conflicts() -> None:
    with pytest.raises(ConfigError) as caught:
        WorkCalendar("CN", extra_holidays=["2026-02-30"])
    assert str(caught.value) == ("[calendar].extra_holidays 中的“2026-02-30”不是有效日期；"
                                 "请写成 YYYY-MM-DD，例如 2026-12-31。")
    with pytest.raises(ConfigError, match="2026-12-26 同时出现在"):
        WorkCalendar("CN", extra_holidays=["2026-12-26"], extra_workdays=["2026-12-26"])


def test_calendar_days() -> None:
    days = CalendarDays()
    assert days.add_workdays(D(2026, 9, 30), 1) == D(2026, 10, 1)
    assert days.workdays_between(D(2026, 9, 30), D(2026, 10, 12)) == 12
    assert days.is_workday(D(2026, 10, 1))
    assert days.warnings == []
