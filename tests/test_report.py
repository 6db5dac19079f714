"""The statistics report: every figure computed by hand on rep-statistics-register.xlsx (written
by tests/data/rep-make-statistics-register.py, saved again by LibreOffice), the workbook reopened
with its charts, the command's JSON equal to the library's figures, and the weekly mail.

The fixture, as of 2026-04-10 (a Friday): 20 complaints received 2025-12-15 .. 2026-04-10 (rows
3-22) and three with errors in fields some figures need: 台账!AA23 KS-2603-07 closed without a
date; 台账!B24 "=1+2" an impossible date received; 台账!H25/J25 KS-2604-05 no category and no
class. Three of the 20 have errors in fields no figure needs (台账!E13 a mistyped phone on the
media complaint KS-2603-01, 台账!N6 a Chinese handler e-mail, 台账!F10 a blank respondent): today's
rule counts them everywhere. Per-row facts used below are listed in the fixture script.
"""

from __future__ import annotations

import datetime as dt
import email
import hashlib
import json
import shutil
import subprocess
import zipfile
from email import policy
from pathlib import Path

import pytest
from openpyxl import load_workbook

from toolkit.cli import main
from toolkit.config import Config, config_from_dict
from toolkit.errors import ConfigError
from toolkit.mail import OutboxTransport
from toolkit.model import Record, Register, SheetInfo
from toolkit.register import read_register
from toolkit.report import (
    DurationRow,
    MonthRow,
    OnTimeRow,
    OverdueRow,
    ParetoRow,
    Statistics,
    build_weekly_mail,
    compute_statistics,
    percentile_nearest_rank,
    weekly_report_due,
    write_workbook,
)
from toolkit.validate import validate

FIXTURE = Path(__file__).resolve().parent / "data" / "rep-statistics-register.xlsx"
TODAY = dt.date(2026, 4, 10)


def _stats(config: Config | None = None, **period: dt.date) -> Statistics:
    config = config or Config()
    register = read_register(config, FIXTURE)
    return compute_statistics(register, validate(register, config, TODAY), config, today=TODAY, **period)


@pytest.fixture(scope="module")
def stats() -> Statistics:
    return _stats()


# -- figures ------------------------------------------------------------------------------


def test_headline_five_numbers(stats: Statistics) -> None:
    assert stats.headline == {
        # Every complaint: no figure here needs a field any row has an error in.
        "received": 23,
        # 14 of the 20, and KS-2603-07 (its status is fine; only its closing date is missing).
        "closed": 15,
        # 19 replies due among the 20 (KS-2604-03 is pending but not due until 04-14); late:
        # KS-2603-06 and KS-2604-02 (blank due date: class B, 2 working days from 04-07 = 04-09).
        # KS-2603-07 (closed) and "=1+2" (处理中, reply due 03-05 given) count as answered;
        # KS-2604-05 has no class, so its due date would be a guess: not judged.
        "reply_on_time_rate": 19 / 21,
        # 9 满意 + 3 基本满意 of 14 closed, and KS-2603-07 满意.
        "satisfaction_rate": 13 / 15,
        # KS-2603-02 (CAPA), KS-2603-04 (follow-up), KS-2603-06 (reply + follow-up), KS-2604-02
        # (reply), "=1+2" (follow-up due 03-20), KS-2604-05 (reply, due as class A: 04-09).
        "overdue_complaints": 6,
    }


def test_totals(stats: Statistics) -> None:
    assert stats.totals == {
        "rows_read": 23, "rows_left_out": 3, "rows_not_placed": 0, "rows_outside_period": 0,
        "received": 23, "closed": 15, "open": 8, "valid": 12,
        # 8 among the 20, and KS-2603-07, "=1+2" and KS-2604-05 (all 咨询型).
        "communication": 11, "special": 4,
        # 17 follow-ups due among the 20; late: KS-2601-02, KS-2602-03 (done after due),
        # KS-2603-04, KS-2603-06 (none); KS-2603-07 on time (03-25 <= 04-08); "=1+2" late.
        "followup_on_time_rate": 14 / 19, "overdue_items": 7,
    }
    assert stats.date_from is None and stats.date_to == TODAY and stats.today == TODAY


def test_errors_in_fields_no_figure_needs_leave_everything_alone(stats: Statistics) -> None:
    register = read_register(Config(), FIXTURE)
    report = validate(register, Config(), TODAY)
    unrelated = {(f.cell, f.code) for f in report.findings if f.severity == "error" and f.row in (6, 10, 13)}
    assert unrelated == {("台账!N6", "bad-email"), ("台账!F10", "missing-required"), ("台账!E13", "bad-phone")}
    assert not {lo.row for lo in stats.left_out} & {6, 10, 13}
    # The media complaint with the mistyped phone is in the special counts (March: 媒体 1).
    assert stats.mix_by_month[3].special["媒体"] == 1


def test_complaints_are_left_out_only_of_the_figures_that_need_the_field(stats: Statistics) -> None:
    assert [(r.row, r.complaint_id, r.cells, r.figures) for r in stats.left_out] == [
        (23, "KS-2603-07", ["台账!AA23"], ["trend", "satisfaction", "duration"]),
        (24, "=1+2", ["台账!B24"], ["trend", "on_time", "mix"]),
        (25, "KS-2604-05", ["台账!J25", "台账!H25"], ["trend", "category", "on_time"]),
    ]
    assert "结案日期" in stats.left_out[0].problems[0]
    assert stats.left_out[2].problems == ["“等级”为空：此项必填，请补充。", "“投诉类别”为空：此项必填，请补充。",
                                          "“等级”不可用，答复和回访期限只能猜测，不计入按时率"]
    assert stats.left_out_by_figure == {"counts": 0, "trend": 3, "category": 1, "root_cause": 0, "on_time": 2,
                                        "overdue": 0, "satisfaction": 1, "mix": 1, "duration": 1}


def test_overdue_counts_are_the_reminders_counts(stats: Statistics) -> None:
    from toolkit.reminders import plan_reminders

    register = read_register(Config(), FIXTURE)
    plan = plan_reminders(register.records, Config(), TODAY)
    overdue = [i for i in plan.items if i.level >= 1]
    assert stats.totals["overdue_items"] == len(overdue) == 7
    assert stats.headline["overdue_complaints"] == len({(i.sheet, i.row) for i in overdue}) == 6
    assert [(a.complaint_id, a.kind, a.level) for a in stats.actions] == [
        (i.complaint_id, i.kind, i.level) for i in overdue]
    assert [(s.complaint_id, s.special) for s in stats.open_specials] == [("KS-2603-06", "疑似敲诈")]


def test_monthly_trend_by_class_and_closed(stats: Statistics) -> None:
    assert stats.monthly == [
        MonthRow("2025-12", {"A": 0, "B": 0, "C": 1}, 1, 1),
        MonthRow("2026-01", {"A": 1, "B": 2, "C": 2}, 5, 4),
        MonthRow("2026-02", {"A": 1, "B": 1, "C": 2}, 4, 3),  # KS-2601-05 closed 02-04
        # KS-2603-07 received in March (C); not in the closed counts: no closing date.
        MonthRow("2026-03", {"A": 2, "B": 2, "C": 3}, 7, 5),
        # KS-2604-05 has no class: received, not in the class split.
        MonthRow("2026-04", {"A": 1, "B": 1, "C": 2}, 5, 1, unclassified=1),
    ]


def test_pareto_of_categories_sorted_with_ties_in_list_order(stats: Statistics) -> None:
    # KS-2603-07 adds 服务态度, "=1+2" 其他; KS-2604-05 has no category: 22 counted.
    counts = [("产品质量", 7), ("服务态度", 6), ("物流配送", 3), ("计费收费", 2), ("其他", 2), ("营销宣传", 1),
              ("信息安全", 1)]
    running = 0
    expected = []
    for value, count in counts:
        running += count
        expected.append(ParetoRow(value, count, count / 22, running / 22))
    assert stats.category_pareto == expected
    assert stats.category_pareto[-1].cumulative_share == 1.0


def test_pareto_of_root_causes_skips_blanks(stats: Statistics) -> None:
    assert [(p.value, p.count) for p in stats.root_cause_pareto] == [
        ("服务态度", 4), ("制造品质不良", 3), ("运输及储存过程不良", 2), ("设计品质不良", 1),
        ("使用后发生不良反映", 1), ("消费者保存或处理不当", 1), ("流程问题", 1)]
    assert [p.cumulative_share for p in stats.root_cause_pareto] == [
        4 / 13, 7 / 13, 9 / 13, 10 / 13, 11 / 13, 12 / 13, 13 / 13]
    assert stats.no_root_cause == 10  # 7 of the 20 and the three others: not analysed yet


def test_on_time_per_month_received(stats: Statistics) -> None:
    assert stats.on_time_by_month == [
        OnTimeRow("2025-12", 1, 1, 1.0, 1, 1, 1.0),
        OnTimeRow("2026-01", 5, 5, 1.0, 5, 4, 4 / 5),
        OnTimeRow("2026-02", 4, 4, 1.0, 4, 3, 3 / 4),
        OnTimeRow("2026-03", 7, 6, 6 / 7, 7, 5, 5 / 7),  # and KS-2603-07: answered, followed up on time
        # KS-2604-03 reply not yet due; only KS-2604-01's follow-up is due.
        OnTimeRow("2026-04", 3, 2, 2 / 3, 1, 1, 1.0),
    ]


def test_on_time_per_department_in_config_order(stats: Statistics) -> None:
    assert stats.on_time_by_department == [
        OnTimeRow("客服部", 6, 6, 1.0, 5, 5, 1.0),
        OnTimeRow("质量部", 4, 4, 1.0, 4, 3, 3 / 4),
        OnTimeRow("生产部", 2, 2, 1.0, 2, 0, 0.0),
        OnTimeRow("物流部", 3, 2, 2 / 3, 2, 2, 1.0),
        OnTimeRow("销售部", 2, 2, 1.0, 2, 1, 1 / 2),  # "=1+2": answered; follow-up late
        OnTimeRow("市场部", 2, 1, 1 / 2, 2, 1, 1 / 2),
        OnTimeRow("财务部", 2, 2, 1.0, 2, 2, 1.0),
    ]


def test_overdue_by_department_and_level(stats: Statistics) -> None:
    # CAPA due 03-25: 11 working days -> 3; follow-up due 04-03: 4 (04-06 is a holiday) -> 2;
    # a special complaint -> 3 at once; reply due 04-09: 1 -> 1.
    # "=1+2": follow-up due 03-20, 14 working days -> 3; KS-2604-05 reply due 04-09 (class A) -> 1.
    assert stats.overdue_by_department == [
        OverdueRow("客服部", {1: 1, 2: 0, 3: 0}, 1),
        OverdueRow("质量部", {1: 0, 2: 0, 3: 1}, 1),
        OverdueRow("生产部", {1: 0, 2: 1, 3: 0}, 1),
        OverdueRow("物流部", {1: 1, 2: 0, 3: 0}, 1),
        OverdueRow("销售部", {1: 0, 2: 0, 3: 1}, 1),
        OverdueRow("市场部", {1: 0, 2: 0, 3: 2}, 2),
    ]


def test_satisfaction_per_month_closed(stats: Statistics) -> None:
    rows = [(r.month, r.counts["满意"], r.counts["基本满意"], r.counts["不满意"], r.rated, r.rate)
            for r in stats.satisfaction_by_month]
    assert rows == [("2025-12", 1, 0, 0, 1, 1.0), ("2026-01", 2, 1, 1, 4, 3 / 4),
                    ("2026-02", 2, 1, 0, 3, 1.0), ("2026-03", 3, 1, 1, 5, 4 / 5),
                    ("2026-04", 1, 0, 0, 1, 1.0)]
    total = stats.satisfaction_total
    # KS-2603-07 (满意) is in the total but in no month: it has no closing date.
    assert (total.counts, total.rated, total.rate) == ({"满意": 10, "基本满意": 3, "不满意": 2}, 15, 13 / 15)
    assert total.shares == {"满意": 10 / 15, "基本满意": 3 / 15, "不满意": 2 / 15}


def test_special_and_nature_per_month(stats: Statistics) -> None:
    rows = [(m.month, m.special, m.special_total, m.valid, m.communication) for m in stats.mix_by_month]
    none = {"监管部门": 0, "消协": 0, "媒体": 0, "疑似敲诈": 0}
    assert rows == [
        ("2025-12", none, 0, 0, 1),
        ("2026-01", {**none, "消协": 1}, 1, 3, 2),
        ("2026-02", {**none, "监管部门": 1}, 1, 3, 1),
        ("2026-03", {**none, "媒体": 1, "疑似敲诈": 1}, 2, 4, 3),  # and KS-2603-07
        ("2026-04", none, 0, 2, 3),  # and KS-2604-05
    ]
    assert stats.mix_by_month[1].nature == {"有效投诉": 3, "求助型": 1, "咨询型": 0, "发泄型": 1}


def test_working_days_to_close_average_and_p90(stats: Statistics) -> None:
    # A: 4 4 5; B: 7 8 11 4 (KS-2602-03 spans the Spring Festival and the working
    # Saturdays 02-14 and 02-28); C: 5 7 7 5 8 8 4 (KS-2604-01 skips the 04-06 holiday).
    assert stats.duration_by_class == [
        DurationRow("A", 3, 13 / 3, 5, 5),
        DurationRow("B", 4, 30 / 4, 11, 11),
        DurationRow("C", 7, 44 / 7, 8, 8),
        DurationRow("", 14, 87 / 14, 8, 11),
    ]


def test_percentile_nearest_rank() -> None:
    assert percentile_nearest_rank([], 90) is None
    assert percentile_nearest_rank([7], 90) == 7
    assert percentile_nearest_rank(list(range(1, 11)), 90) == 9  # rank ceil(9.0) = 9
    assert percentile_nearest_rank(list(range(1, 12)), 90) == 10  # rank ceil(9.9) = 10
    assert percentile_nearest_rank([5, 1, 3], 50) == 3


def test_period_filters_on_date_received() -> None:
    stats = _stats(date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 3, 31))
    # Out: KS-2512-01 and the five of April. "=1+2" has no usable date: with a bounded period it
    # cannot be placed, so it is in no figure (but the overdue list, which is the whole register's).
    assert stats.totals["rows_outside_period"] == 6
    assert stats.totals["rows_not_placed"] == 1
    not_placed = next(lo for lo in stats.left_out if lo.complaint_id == "=1+2")
    assert "overdue" not in not_placed.figures and len(not_placed.figures) == 8
    assert "无法归入统计期间 2026-01-01 至 2026-03-31" in not_placed.problems[-1]
    assert stats.headline == {"received": 16, "closed": 13, "reply_on_time_rate": 15 / 16,
                              "satisfaction_rate": 11 / 13, "overdue_complaints": 6}
    assert [m.month for m in stats.monthly] == ["2026-01", "2026-02", "2026-03"]


def test_months_run_on_to_the_last_closing() -> None:
    stats = _stats(date_to=dt.date(2026, 1, 31))
    # KS-2601-05, received in January, closed on 02-04: February stays on the chart.
    assert [(m.month, m.received, m.closed) for m in stats.monthly] == [
        ("2025-12", 1, 1), ("2026-01", 5, 4), ("2026-02", 0, 1)]


def test_period_the_wrong_way_round_is_refused() -> None:
    with pytest.raises(ConfigError, match="晚于结束日期"):
        _stats(date_from=dt.date(2026, 3, 1), date_to=dt.date(2026, 2, 1))


def test_empty_period_gives_a_workbook_without_charts(tmp_path: Path) -> None:
    stats = _stats(date_from=dt.date(2026, 4, 11), date_to=dt.date(2026, 4, 30))
    assert stats.headline["received"] == 0 and stats.headline["reply_on_time_rate"] is None
    book = load_workbook(write_workbook(stats, Config(), tmp_path / "empty.xlsx"))
    # Only "overdue now" has a chart: it is today's, over the whole register, whatever the period.
    assert [ws.title for ws in book.worksheets if ws._charts] == ["当前逾期"]
    assert all(ws["A2"].value == "本期间无数据。" for ws in book.worksheets[1:] if ws.title != "当前逾期")
    assert [c.value for c in book["月度趋势"][4]] == ["2026-04", 0, 0, 0, 0, 0]


# -- the workbook -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workbook(stats: Statistics, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_workbook(stats, Config(), tmp_path_factory.mktemp("report") / "stats.xlsx")


def _refs(chart: object) -> list[str]:
    charts = [chart, *getattr(chart, "_charts", [])[1:]]
    return [s.val.numRef.f for c in charts for s in c.series]


def test_workbook_sheets_and_summary(workbook: Path) -> None:
    book = load_workbook(workbook)
    assert book.sheetnames == ["汇总", "月度趋势", "类别帕累托", "原因帕累托", "按时率", "当前逾期",
                               "满意度", "特殊与性质", "结案时长"]
    ws = book["汇总"]
    cells = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=2).value for r in range(1, ws.max_row + 1)}
    assert cells["受理投诉数"] == 23 and cells["当前逾期投诉数"] == 6
    assert cells["按时答复率"] == pytest.approx(19 / 21)
    rate_row = next(r for r in range(1, ws.max_row + 1) if ws.cell(row=r, column=1).value == "按时答复率")
    assert ws.cell(row=rate_row, column=2).number_format == "0.0%"
    assert cells["台账!AA23"] == "KS-2603-07"
    assert cells["台账!B24"] == "=1+2"
    assert cells["台账!J25, 台账!H25"] == "KS-2604-05"
    # Which figure each complaint is missing from, and the count per figure.
    row = next(r for r in range(1, ws.max_row + 1) if ws.cell(row=r, column=1).value == "台账!AA23")
    assert ws.cell(row=row, column=3).value == "月度趋势、满意度、结案时长"
    assert "结案日期" in ws.cell(row=row, column=4).value
    assert cells["月度趋势"] == 3 and cells["类别帕累托"] == 1 and cells["当前逾期"] == 0


def test_register_text_stays_text_never_a_formula(workbook: Path) -> None:
    ws = load_workbook(workbook)["汇总"]
    cell = next(c for row in ws.iter_rows() for c in row if c.value == "=1+2")
    assert cell.data_type == "s"
    assert cell.quotePrefix  # and stays text when someone edits the cell in Excel
    with zipfile.ZipFile(workbook) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
        assert sheets and not any(b"<f>" in archive.read(n) or b"<f " in archive.read(n) for n in sheets)


def test_a_category_typed_as_a_formula_is_written_as_text(tmp_path: Path) -> None:
    config = config_from_dict({"lists": {"categories": ["=SUM(A1)", "产品质量"]}})
    info = SheetInfo("台账", 1, {"complaint_id": 0, "received_on": 1, "category": 2}, ["投诉编号", "受理日期", "投诉类别"])
    record = Record("台账", 2, {"complaint_id": "K1", "received_on": dt.date(2026, 3, 2), "category": "=SUM(A1)",
                                "severity": "C", "status": "处理中"})
    register = Register("register.xlsx", "", 0, [info], [record])
    stats = compute_statistics(register, None, config, today=TODAY)
    assert stats.category_pareto == [ParetoRow("=SUM(A1)", 1, 1.0, 1.0)]
    ws = load_workbook(write_workbook(stats, config, tmp_path / "r.xlsx"))["类别帕累托"]
    assert (ws["A4"].value, ws["A4"].data_type) == ("=SUM(A1)", "s")


def test_charts_are_native_and_point_at_their_tables(workbook: Path) -> None:
    book = load_workbook(workbook)
    trend = book["月度趋势"]._charts
    assert len(trend) == 1 and type(trend[0]).__name__ == "BarChart" and trend[0].grouping == "stacked"
    assert [type(c).__name__ for c in trend[0]._charts] == ["BarChart", "LineChart"]
    # Classes A-C, "no class" (KS-2604-05) stacked; received total in F; the closed line from G.
    assert _refs(trend[0]) == ["'月度趋势'!$B$4:$B$8", "'月度趋势'!$C$4:$C$8", "'月度趋势'!$D$4:$D$8",
                               "'月度趋势'!$E$4:$E$8", "'月度趋势'!$G$4:$G$8"]
    assert book["月度趋势"]["E3"].value == "未分级" and book["月度趋势"]["E8"].value == 1
    assert [trend[0].series[i].tx.strRef.f for i in range(3)] == ["'月度趋势'!B3", "'月度趋势'!C3", "'月度趋势'!D3"]
    pareto = book["类别帕累托"]._charts[0]
    assert _refs(pareto) == ["'类别帕累托'!$B$4:$B$10", "'类别帕累托'!$D$4:$D$10"]
    line = pareto._charts[1]
    assert line.y_axis.axId == 200 and line.y_axis.crosses == "max"  # cumulative % on a secondary axis
    categories = pareto.series[0].cat
    assert (categories.numRef or categories.strRef).f == "'类别帕累托'!$A$4:$A$10"
    assert book["类别帕累托"]["A4"].value == "产品质量"
    kinds = {ws.title: sorted(type(c).__name__ for c in ws._charts) for ws in book.worksheets}
    assert kinds == {"汇总": [], "月度趋势": ["BarChart"], "类别帕累托": ["BarChart"], "原因帕累托": ["BarChart"],
                     "按时率": ["BarChart", "LineChart"], "当前逾期": ["BarChart"],
                     "满意度": ["BarChart", "PieChart"], "特殊与性质": ["BarChart", "BarChart"],
                     "结案时长": ["BarChart"]}
    overdue = book["当前逾期"]
    assert [[c.value for c in row] for row in overdue.iter_rows(min_row=3, max_row=9, max_col=5)] == [
        ["责任部门", "1级", "2级", "3级", "合计"], ["客服部", 1, 0, 0, 1], ["质量部", 0, 0, 1, 1],
        ["生产部", 0, 1, 0, 1], ["物流部", 1, 0, 0, 1], ["销售部", 0, 0, 1, 1], ["市场部", 0, 0, 2, 2]]
    pie = book["满意度"]._charts[1]
    assert _refs(pie) == ["'满意度'!$B$9:$D$9"]  # the total row
    assert [book["满意度"].cell(row=9, column=c).value for c in (1, 2, 3, 4)] == ["合计", 10, 3, 2]


def test_every_sheet_prints_landscape_one_page_wide(workbook: Path) -> None:
    book = load_workbook(workbook)
    for ws in book.worksheets:
        setup = ws.page_setup
        assert (setup.orientation, setup.paperSize, setup.fitToWidth) == ("landscape", 9, 1), ws.title
        assert ws.oddFooter.right.text == "第 &P 页，共 &N 页" and ws.oddFooter.left.text == "&A"
        # A figure sheet (table + chart) is one page; the summary runs on with its list header repeated.
        assert setup.fitToHeight == (0 if ws.title == "汇总" else 1)
    summary = book["汇总"]
    header = next(r for r in range(1, summary.max_row + 1) if summary.cell(row=r, column=1).value == "单元格")
    assert summary.print_title_rows == f"${header}:${header}"
    # The left-out rows are as tall as their wrapped problems.
    row = next(r for r in range(1, summary.max_row + 1) if summary.cell(row=r, column=2).value == "KS-2604-05")
    assert summary.row_dimensions[row].height >= 3 * 15


@pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdfinfo") is None,
                    reason="LibreOffice or poppler-utils is not installed")
def test_workbook_prints_one_page_per_sheet(workbook: Path, tmp_path: Path) -> None:
    subprocess.run(["soffice", f"-env:UserInstallation={(tmp_path / 'lo-profile').as_uri()}", "--headless",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(workbook)],
                   check=True, capture_output=True, timeout=300)
    pdf = tmp_path / "stats.pdf"
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", "99", str(pdf)], check=True, capture_output=True,
                          text=True).stdout
    sizes = [line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("Page") and "size" in line]
    assert sizes == ["841.89 x 595.304 pts (A4)"] * 9  # nine sheets, nine landscape pages
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout.split("\f")
    assert "第 1 页，共 9 页" in text[0] and "KS-2604-05" in text[0]
    assert "月度趋势" in text[1] and "第 2 页，共 9 页" in text[1]


def test_english_labels(stats: Statistics, tmp_path: Path) -> None:
    config = config_from_dict({"register": {"language": "en"}})
    book = load_workbook(write_workbook(stats, config, tmp_path / "en.xlsx"))
    assert book.sheetnames[:3] == ["Summary", "Monthly trend", "Category Pareto"]
    assert book["Root-cause Pareto"]["A4"].value == "Staff attitude"
    assert book["Satisfaction"]["B3"].value == "Satisfied"


def test_never_writes_onto_the_register(stats: Statistics, tmp_path: Path) -> None:
    register = tmp_path / "register.xlsx"
    register.write_bytes(FIXTURE.read_bytes())
    same = Statistics(**{**{f: getattr(stats, f) for f in stats.__slots__}, "register_path": str(register)})
    with pytest.raises(ConfigError, match="就是台账本身"):
        write_workbook(same, Config(), register)
    with pytest.raises(ConfigError, match=r"\.xlsx"):
        write_workbook(stats, Config(), tmp_path / "report.xls")
    assert register.read_bytes() == FIXTURE.read_bytes()


# -- the command --------------------------------------------------------------------------


def _config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[register]\npath = "{FIXTURE.as_posix()}"\n[output]\ndir = "out"\n{extra}', encoding="utf-8")
    return path


def test_cli_json_equals_the_library(stats: Statistics, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.xlsx"
    code = main(["report", "--config", str(_config(tmp_path)), "--today", "2026-04-10", "--out", str(out),
                 "--format", "json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data.pop("workbook") == str(out)
    assert data == json.loads(json.dumps(stats.to_dict()))
    assert data["headline"]["received"] == 23 and out.exists()


def test_cli_text_default_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["report", "--config", str(_config(tmp_path)), "--today", "2026-04-10", "--from", "2026-01-01"])
    assert code == 0
    out = capsys.readouterr().out
    expected = tmp_path / "out" / "reports" / "complaint-statistics.xlsx"
    assert expected.exists()
    assert out.splitlines()[0] == "客诉统计：2026-01-01 至 2026-04-10（统计日 2026-04-10）"
    assert "  受理投诉数：21" in out
    assert "3 件投诉有统计项未计入，请修正：台账!AA23; 台账!B24; 台账!J25; 台账!H25" in out
    assert f"工作簿：{expected}" in out


def test_cli_refuses_to_write_the_register(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    register = tmp_path / "register.xlsx"
    register.write_bytes(FIXTURE.read_bytes())
    before = hashlib.sha256(register.read_bytes()).hexdigest()
    code = main(["report", "--config", str(_config(tmp_path)), "--register", str(register), "--today", "2026-04-10",
                 "--out", str(register)])
    assert code == 2
    assert "错误：报表路径" in capsys.readouterr().err
    assert hashlib.sha256(register.read_bytes()).hexdigest() == before


def test_cli_bad_period_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["report", "--config", str(_config(tmp_path)), "--today", "2026-04-10", "--from", "2026-04-01",
                 "--to", "2026-03-01"])
    assert code == 2
    assert capsys.readouterr().err.startswith("错误：统计期间的开始日期 2026-04-01 晚于结束日期 2026-03-01")
    # Without --to the period ends on --today: the message must not ask to swap an option not given.
    code = main(["report", "--config", str(_config(tmp_path)), "--today", "2026-04-10", "--from", "2026-05-01"])
    assert code == 2
    assert capsys.readouterr().err.startswith("错误：--from 2026-05-01 晚于统计日 2026-04-10（未给 --to 时统计到 --today）")


# -- the weekly digest --------------------------------------------------------------------


def _weekly(value: str) -> Config:
    return config_from_dict({"reports": {"weekly": value},
                             "reminders": {"quality_manager": "qm@example.com"}})


def test_weekly_report_due() -> None:
    config = _weekly("mon 09:00")
    monday = dt.datetime(2026, 4, 13, 9, 0)
    assert not weekly_report_due(config, monday - dt.timedelta(minutes=1), dt.datetime(2026, 4, 6, 9, 0))
    assert weekly_report_due(config, monday, dt.datetime(2026, 4, 6, 9, 0))
    assert not weekly_report_due(config, monday + dt.timedelta(hours=1), monday)  # sent already
    # The scheduler was down on Monday: Wednesday catches up, once.
    assert weekly_report_due(config, dt.datetime(2026, 4, 15, 9, 0), dt.datetime(2026, 4, 6, 9, 5))
    assert weekly_report_due(config, monday, None)
    assert not weekly_report_due(_weekly(""), monday, None)


def test_weekly_schedule_must_be_day_and_time() -> None:
    with pytest.raises(ConfigError, match=r'\[reports\]\.weekly 为 "monday 9am"'):
        weekly_report_due(_weekly("monday 9am"), dt.datetime(2026, 4, 13, 9, 0), None)


def test_weekly_mail_goes_through_the_reminder_transport(stats: Statistics, workbook: Path, tmp_path: Path) -> None:
    config = _weekly("mon 09:00")
    now = dt.datetime(2026, 4, 13, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    msg = build_weekly_mail(stats, config, workbook, now=now)
    transport = OutboxTransport(tmp_path / "outbox", now, "zh")
    assert transport.send("complaints@example.com", ["qm@example.com"], msg.as_bytes(), "qm@example.com") == {}
    (written,) = transport.written
    back = email.message_from_bytes(written.read_bytes(), policy=policy.default)
    assert back["To"] == "qm@example.com"
    assert back["Subject"] == "【客诉周报】2026-04-10：受理 23 件，当前逾期 6 件"
    assert back["Auto-Submitted"] == "auto-generated"
    (attachment,) = list(back.iter_attachments())
    assert attachment.get_filename() == "stats.xlsx"
    assert attachment.get_content() == workbook.read_bytes()
    assert "当前逾期投诉数：6" in back.get_body(("plain",)).get_content()
    assert "客诉统计：2025-12-15 至 2026-04-10" in back.get_body(("plain",)).get_content()  # the first record's date


def test_weekly_mail_needs_the_quality_manager(stats: Statistics, workbook: Path) -> None:
    with pytest.raises(ConfigError, match="quality_manager 未填写"):
        build_weekly_mail(stats, Config(), workbook, now=dt.datetime(2026, 4, 13, 9, 0))


def test_a_complaint_is_left_out_only_where_its_field_is_needed() -> None:
    """Hand-built records, one unusable field each, and the figures each one is missing from."""
    info = SheetInfo("台账", 1, {name: i for i, name in enumerate(
        ("complaint_id", "received_on", "category", "nature", "severity", "special", "department", "status",
         "closed_on", "satisfaction", "root_cause", "customer_phone"))}, [])
    base = {"received_on": dt.date(2026, 3, 2), "category": "产品质量", "nature": "有效投诉", "severity": "C",
            "special": "否", "department": "质量部", "status": "处理中", "customer_phone": "13800138000"}
    records = [
        Record("台账", 2, {**base, "complaint_id": "K-ok"}),
        Record("台账", 3, {**base, "complaint_id": "K-status", "status": "搁置"}),
        Record("台账", 4, {**base, "complaint_id": "K-dept", "department": None}),
        Record("台账", 5, {**base, "complaint_id": "K-phone", "customer_phone": "123"}),
    ]
    register = Register("r.xlsx", "", 0, [info], records)
    report = validate(register, Config(), TODAY)
    stats = compute_statistics(register, report, Config(), today=TODAY)
    assert {lo.complaint_id: lo.figures for lo in stats.left_out} == {
        "K-status": ["counts", "on_time", "satisfaction", "duration"],
        "K-dept": ["on_time"],  # on time per department only: its rates are in the totals
    }
    assert stats.headline["received"] == 4 and stats.totals["open"] == 3  # K-status: neither open nor closed
    assert stats.category_pareto == [ParetoRow("产品质量", 4, 1.0, 1.0)]
    assert sum(r.reply_due for r in stats.on_time_by_department) == 2  # K-ok and K-phone


@pytest.mark.parametrize("register_file", ["example", "synthetic"])
def test_figures_read_from_the_days_plan_equal_figures_that_plan_for_themselves(tmp_path: Path, register_file: str,
                                                                                example_register: Path) -> None:
    # The daily job plans its reminders before the page's figures are worked out and hands the
    # plan over (one planning, not two), with the calendar it used; every figure, note and
    # left-out row must be what compute_statistics finds planning on its own. The holiday
    # calendar of 2031 is not known: its warning must be in the figures' notes either way.
    import sys

    from toolkit.reminders import plan_reminders
    from toolkit.workdays import WorkCalendar

    if register_file == "example":
        path = example_register
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from bench.make_register import make_register

        path = make_register(1500, tmp_path / "synthetic.xlsx")
    cfg = Config()
    cfg.register.path = str(path)
    register = read_register(cfg)
    for today in (dt.date(2026, 11, 23), dt.date(2031, 12, 29)):
        report = validate(register, cfg, today)
        alone = compute_statistics(register, report, cfg, today=today)
        calendar = WorkCalendar.from_config(cfg)
        plan = plan_reminders(register.records, cfg, today, calendar)
        handed = compute_statistics(register, report, cfg, today=today, planned=(plan, calendar))
        assert handed == alone
        assert handed.actions and handed.left_out
    assert any("2031" in note or "2032" in note for note in alone.notes)


def test_an_open_complaint_with_no_readable_date_names_that_cell_not_its_blank_due_dates() -> None:
    # Its reply and follow-up due dates are blank on purpose (worked out from 受理日期): the
    # cell to fix is 受理日期, which the reader could not read (QA of 2026-12-04).
    info = SheetInfo("台账", 1, {"complaint_id": 0, "received_on": 1, "severity": 2, "status": 3, "reply_due": 4,
                                "followup_due": 5}, ["投诉编号", "受理日期", "等级", "处理状态", "承诺答复日期", "回访期限"])
    record = Record("台账", 2, {"complaint_id": "K1", "received_on": None, "severity": "C", "status": "处理中",
                                "reply_due": None, "followup_due": None},
                    bad={"received_on": ("bad-date", "2026年9月1号")})
    register = Register("register.xlsx", "", 0, [info], [record])
    stats = compute_statistics(register, validate(register, Config(), TODAY), Config(), today=TODAY)
    (row,) = stats.left_out
    assert "台账!B2" in row.cells and not {"台账!E2", "台账!F2"} & set(row.cells)
