"""Statistics for the quality manager, in four parts:

- :mod:`.figures` — every figure as plain data (pure: no openpyxl, nothing written);
- :mod:`.workbook` — the statistics workbook with native Excel charts;
- :mod:`.dashboard` — ``dashboard.html``, one self-contained page that opens offline;
- :mod:`.weekly` — when the weekly digest is due and what it says.

>>> stats = compute_statistics(register, validate(register, config, today), config, today=today)
>>> write_workbook(stats, config, "output/reports/complaint-statistics.xlsx")   # doctest: +SKIP
>>> write_dashboard(stats, config, "output/dashboard.html")                      # doctest: +SKIP

Names are loaded on first use, so importing :mod:`toolkit.report.figures` does not import
openpyxl or the chart library.
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {
    "figures": ("ActionItem", "DurationRow", "FIGURES", "LeftOutRow", "MixRow", "MonthRow", "OnTimeRow",
                "OpenSpecial", "OverdueRow", "ParetoRow", "SatisfactionRow", "Statistics", "compute_statistics",
                "overdue_now", "percentile_nearest_rank"),
    "workbook": ("build_workbook", "default_out_path", "write_workbook"),
    "dashboard": ("DashboardInputs", "build_dashboard", "default_dashboard_path", "dashboard_inputs",
                  "write_daily_dashboard", "write_dashboard"),
    "weekly": ("WeeklyDigest", "build_weekly_mail", "compose_weekly", "last_weekly_slot", "parse_weekly",
               "weekly_report_due"),
}
_WHERE = {name: module for module, names in _NAMES.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
