"""The validator: every rule positive and negative, missing columns once, duplicates, the report."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from toolkit.config import Config, config_from_dict, load_config
from toolkit.fields import FIELDS
from toolkit.model import Record, Register, SheetInfo
from toolkit.register import read_register
from toolkit.validate import ValidationReport, is_email, is_phone, validate

TODAY = dt.date(2026, 11, 23)
D = dt.date

#: A complete, correct, closed valid class-B complaint with its corrective action done.
GOOD: dict[str, Any] = {
    "complaint_id": "KS-2026-001", "received_on": D(2026, 11, 2), "channel": "电话",
    "customer_name": "张先生", "customer_phone": "13800138000", "customer_email": "zhang@example.com",
    "product": "卷烟（中华·硬）", "batch_no": "20260712B05", "respondent": "人民路烟酒店",
    "description": "烟支松散、掉丝。", "category": "产品质量", "nature": "有效投诉", "severity": "B",
    "special": "否", "department": "质量部", "handler": "李明", "handler_email": "liming@example.com",
    "immediate_action": "封存同批次", "root_cause": "运输及储存过程不良", "cause_analysis": "库房受潮",
    "resolution": "调换两包", "compensation": 0, "reply_due": D(2026, 11, 3),
    "corrective_action": "仓储巡查", "capa_owner": "孙丽", "capa_owner_email": "sunli@example.com",
    "capa_due": D(2026, 11, 30), "capa_done": D(2026, 11, 18), "followup_due": D(2026, 11, 11),
    "followup_done": D(2026, 11, 10), "satisfaction": "满意", "status": "已结案",
    "closed_on": D(2026, 11, 18), "remarks": None,
}
ALL = tuple(f.name for f in FIELDS)


def make_register(*rows: dict[str, Any], columns: tuple[str, ...] = ALL, sheet: str = "台账",
                  header_row: int = 2, notes: list[str] | None = None,
                  bad: dict[int, dict[str, tuple[str, Any]]] | None = None) -> Register:
    """A register as the reader returns it: one sheet, header at ``header_row``, given columns."""
    info = SheetInfo(name=sheet, header_row=header_row, columns={n: i for i, n in enumerate(columns)},
                     headers=[next(f.zh for f in FIELDS if f.name == n) for n in columns], rows=len(rows))
    records = []
    for i, row in enumerate(rows):
        values = {n: row.get(n) for n in columns}
        records.append(Record(sheet, header_row + 1 + i, values, dict((bad or {}).get(i, {}))))
    return Register(path="/data/台账.xlsx", sha256="", size=0, sheets=[info], records=records,
                    notes=list(notes or []))


def row(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


def check(*rows: dict[str, Any], config: Config | None = None, **kw: Any) -> ValidationReport:
    return validate(make_register(*rows, **kw), config or Config(), TODAY)


def codes(report: ValidationReport) -> list[tuple[str, str, str]]:
    return [(f.code, f.field, f.severity) for f in report.findings]


def test_a_complete_correct_register_has_no_findings() -> None:
    report = check(row(), row(complaint_id="KS-2026-002", status="处理中", closed_on=None))
    assert report.findings == []
    assert report.counts == {"error": 0, "warning": 0, "note": 0, "rows": 2, "rows_with_errors": 0}


# -- each rule: the change that breaks it, and the finding ------------------------------

CASES = [
    ("missing-required", {"customer_name": None}, "customer_name", "error"),
    ("missing-required", {"received_on": None}, "received_on", "error"),
    ("missing-required", {"respondent": None}, "respondent", "error"),
    ("missing-required", {"customer_phone": None, "customer_email": None}, "customer_phone", "error"),
    ("not-in-list", {"channel": "抖音私信"}, "channel", "error"),
    ("not-in-list", {"department": "仓储部"}, "department", "error"),
    ("not-in-list", {"severity": "D"}, "severity", "error"),
    ("not-in-list", {"special": "是"}, "special", "error"),
    ("bad-phone", {"customer_phone": "1380013800"}, "customer_phone", "error"),
    ("bad-phone", {"customer_phone": "12800138000"}, "customer_phone", "error"),
    ("bad-phone", {"customer_phone": "63125678"}, "customer_phone", "error"),
    ("bad-email", {"customer_email": "zhang@example"}, "customer_email", "error"),
    ("bad-email", {"handler_email": "李明"}, "handler_email", "error"),
    # Addresses reminders go to must be ones the mail stage can send to.
    ("bad-email", {"handler_email": "李明@example.com"}, "handler_email", "error"),
    ("bad-email", {"handler_email": "li..ming@example.com"}, "handler_email", "error"),
    ("bad-email", {"capa_owner_email": "liming@例子.中国"}, "capa_owner_email", "error"),
    ("date-in-future", {"received_on": D(2026, 11, 30), "status": "待处理", "closed_on": None,
                        "followup_done": None, "capa_done": None, "capa_due": D(2026, 12, 30),
                        "reply_due": None, "followup_due": None}, "received_on", "error"),
    ("date-in-future", {"closed_on": D(2026, 11, 24)}, "closed_on", "error"),
    ("date-in-future", {"followup_done": D(2026, 11, 25), "status": "待回访", "closed_on": None},
     "followup_done", "error"),
    ("date-order", {"capa_due": D(2026, 10, 30)}, "capa_due", "error"),
    ("date-order", {"followup_done": D(2026, 11, 1)}, "followup_done", "error"),
    ("date-order", {"reply_due": D(2026, 11, 1)}, "reply_due", "warning"),
    ("closed-date-missing", {"closed_on": None}, "closed_on", "error"),
    ("closed-date-forbidden", {"status": "处理中"}, "closed_on", "error"),
    ("close-incomplete", {"followup_done": None}, "followup_done", "error"),
    ("close-incomplete", {"satisfaction": None}, "satisfaction", "error"),
    ("close-incomplete", {"resolution": None}, "resolution", "error"),
    ("close-incomplete", {"root_cause": None}, "root_cause", "error"),
    ("capa-required", {"corrective_action": None, "capa_owner": None, "capa_owner_email": None,
                       "capa_due": None, "capa_done": None}, "corrective_action", "error"),
    ("capa-incomplete", {"capa_owner": None, "capa_owner_email": None}, "capa_owner", "error"),
    ("capa-incomplete", {"capa_due": None}, "capa_due", "error"),
    ("capa-not-done", {"capa_done": None}, "capa_done", "warning"),
    ("negative-number", {"compensation": -50}, "compensation", "error"),
]


@pytest.mark.parametrize(("code", "changes", "field", "severity"), CASES,
                         ids=[f"{c[0]}-{c[2]}-{i}" for i, c in enumerate(CASES)])
def test_rule_finds_its_problem(code: str, changes: dict[str, Any], field: str, severity: str) -> None:
    report = check(row(**changes))
    assert codes(report) == [(code, field, severity)]
    finding = report.findings[0]
    letter = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    index = ALL.index(field)
    expected_letter = letter[index] if index < 26 else "A" + letter[index - 26]
    assert (finding.sheet, finding.row, finding.column) == ("台账", 3, expected_letter)
    assert finding.cell == f"台账!{expected_letter}3"
    assert finding.complaint_id == "KS-2026-001"
    assert "：" in finding.message  # what is wrong : what to do


OK_CASES = [
    {"customer_phone": "0871-63125678"},
    {"customer_phone": "010-8456 7821-806"},
    {"customer_phone": "(0871)63125678"},
    {"customer_phone": "+852 9123 4567"},
    {"customer_phone": "+86 138-0013-8000"},
    {"customer_phone": "138 0013 8000"},
    {"customer_phone": 13800138000.0},
    {"customer_phone": 13800138000},
    {"customer_phone": None},  # e-mail is enough
    {"customer_email": None},  # phone is enough
    {"special": None},  # blank means 否
    {"special": "消协"},
    {"received_on": TODAY, "closed_on": TODAY, "followup_done": TODAY, "capa_done": TODAY,
     "reply_due": TODAY, "followup_due": TODAY},
    {"received_on": dt.datetime(2026, 11, 2, 9, 30), "closed_on": dt.datetime(2026, 11, 18, 17, 0)},
    {"closed_on": dt.datetime(2026, 11, 23, 18, 0)},  # today, with a time
    {"nature": "咨询型", "root_cause": None, "corrective_action": None, "capa_owner": None,
     "capa_owner_email": None, "capa_due": None, "capa_done": None},  # no cause or CAPA needed
    {"severity": "C", "corrective_action": None, "capa_owner": None, "capa_owner_email": None,
     "capa_due": None, "capa_done": None},  # class C: no CAPA needed
    {"status": "处理中", "closed_on": None, "followup_done": None, "satisfaction": None,
     "resolution": None},  # open: nothing needed to close yet
    {"compensation": 0.0},
    {"customer_email": "张三@例子.中国"},  # never sent to: any script is a fine customer address
    {"handler_email": None, "department": "质量部"},  # config has the department head
    {"handler": "王芳", "handler_email": None},  # config has her address
]


@pytest.mark.parametrize("changes", OK_CASES, ids=[str(i) for i in range(len(OK_CASES))])
def test_correct_values_pass(changes: dict[str, Any]) -> None:
    config = config_from_dict({"people": {"王芳": {"email": "wangfang@example.com"}},
                               "departments": {"质量部": {"head": "q@example.com"}}})
    assert check(row(**changes), config=config).findings == []


def test_phone_and_email_helpers() -> None:
    assert is_phone("13912345678") and is_phone("0871-63125678-806") and is_phone("+1 415 555 0100")
    assert not is_phone("139123456789") and not is_phone("abc") and not is_phone(13912345678.5)
    assert is_email("a.b+c@example.com.cn") and is_email("王@例子.中国")
    assert not is_email("a@b") and not is_email("a b@example.com") and not is_email(3)


def test_message_says_what_and_what_to_do() -> None:
    report = check(row(received_on=D(2026, 11, 30), status="待处理", closed_on=None, followup_done=None,
                       capa_done=None, capa_due=D(2026, 12, 30), reply_due=None, followup_due=None))
    assert report.findings[0].message == "“受理日期”（2026-11-30）晚于今天（2026-11-23）：请核对并改为实际受理日期。"


def test_english_messages() -> None:
    config = config_from_dict({"register": {"language": "en"}})
    report = check(row(received_on=D(2026, 11, 30), status="待处理", closed_on=None, followup_done=None,
                       capa_done=None, capa_due=D(2026, 12, 30), reply_due=None, followup_due=None),
                   row(complaint_id="KS-2026-002", department="Storage"), config=config)
    messages = [f.message for f in report.findings]
    assert messages[0] == "'受理日期' (2026-11-30) is after today (2026-11-23): check it and enter the actual date."
    assert messages[1].startswith("'责任部门' value 'Storage' is not one of the allowed values: choose one of "
                                  "客服部, 质量部")
    assert "[lists] departments in config.toml" in messages[1]
    text = report.render_text()
    assert "Data rows: 2; errors: 2, warnings: 0, notes: 0; rows with errors: 2." in text


def test_english_list_values_are_accepted_in_english() -> None:
    config = config_from_dict({"register": {"language": "en"}})
    assert check(row(satisfaction="Satisfied"), config=config).findings == []
    assert codes(check(row(satisfaction="Satisfied"))) == [("not-in-list", "satisfaction", "error")]


def test_not_in_list_names_the_allowed_values() -> None:
    (finding,) = check(row(nature="投诉")).findings
    assert finding.message == "“投诉性质”的值“投诉”不在可选值中：请从 有效投诉、求助型、咨询型、发泄型 中选择。"
    assert finding.value == "投诉"


def test_config_lists_feed_the_list_rules() -> None:
    config = config_from_dict({"lists": {"departments": ["仓储部"], "categories": ["产品质量"]}})
    assert codes(check(row(department="仓储部"), config=config)) == []
    assert codes(check(row(), config=config)) == [("not-in-list", "department", "error")]


def test_capa_classes_come_from_config() -> None:
    no_capa = {"corrective_action": None, "capa_owner": None, "capa_owner_email": None, "capa_due": None,
               "capa_done": None}
    config = config_from_dict({"rules": {"capa_classes": ["A"]}})
    assert check(row(**no_capa), config=config).findings == []
    assert codes(check(row(severity="A", **no_capa), config=config))[0][0] == "capa-required"


def test_no_address_when_neither_register_nor_config_has_one() -> None:
    report = check(row(handler_email=None, capa_owner_email=None))
    assert codes(report) == [("no-address", "handler_email", "error"), ("no-address", "capa_owner_email", "error")]
    assert report.findings[0].message == ("“负责人邮箱”为空，config.toml 中也没有“李明”或部门“质量部”的邮箱："
                                          "请填写邮箱，否则无法发送提醒。")


# -- cells the reader could not parse -------------------------------------------------------


@pytest.mark.parametrize(("code", "field", "raw", "needle"), [
    ("bad-date", "received_on", "下周一", "不是日期"),
    ("ambiguous-date", "followup_done", "3/5/2026", "date_order"),
    ("bad-number", "compensation", "两百", "不是数字"),
    ("formula-no-value", "closed_on", "=TODAY()", "没有计算结果"),
])
def test_unparsed_cells_become_findings(code: str, field: str, raw: str, needle: str) -> None:
    report = check(row(**{field: None}), bad={0: {field: (code, raw)}})
    assert codes(report) == [(code, field, "error")]  # and no second "missing" finding for it
    assert report.findings[0].value == raw
    assert raw in report.findings[0].message and needle in report.findings[0].message


# -- start hook: missing columns ---------------------------------------------------------


def test_missing_column_is_reported_once_and_its_rules_skipped() -> None:
    columns = tuple(n for n in ALL if n not in ("respondent", "closed_on"))
    report = check(row(), row(complaint_id="KS-2026-002"), row(complaint_id="KS-2026-003"), columns=columns)
    assert codes(report) == [("missing-column", "respondent", "error"), ("missing-column", "closed_on", "warning")]
    first = report.findings[0]
    assert (first.sheet, first.row, first.column, first.cell) == ("台账", None, "", "")
    assert first.message.startswith("工作表“台账”没有“被投诉方”列：请在表头行添加此列")
    assert report.column_errors() == [first]
    assert report.errors_by_row() == {}


def test_missing_optional_column_is_a_note() -> None:
    columns = tuple(n for n in ALL if n != "compensation")
    assert codes(check(row(), columns=columns)) == [("missing-column", "compensation", "note")]


def test_missing_both_contact_columns_is_one_error_and_no_row_findings() -> None:
    columns = tuple(n for n in ALL if n not in ("customer_phone", "customer_email"))
    report = check(row(), row(complaint_id="KS-2026-002"), columns=columns)
    assert codes(report) == [("missing-column", "customer_phone", "error")]
    assert "“联系电话”" in report.findings[0].message and "“客户邮箱”" in report.findings[0].message


def test_only_complaint_id_column() -> None:
    report = check({"complaint_id": "KS-1"}, columns=("complaint_id",))
    assert all(f.code == "missing-column" and f.row is None for f in report.findings)
    assert len({f.field for f in report.findings}) == len(report.findings)


# -- end hook: duplicates ------------------------------------------------------------------


def test_every_repeat_of_an_id_names_the_first_cell() -> None:
    report = check(row(), row(complaint_id="KS-2026-002"), row(), row(complaint_id=" ks-2026-001"))
    dupes = [f for f in report.findings if f.code == "duplicate-id"]
    assert [(f.cell, f.severity) for f in dupes] == [("台账!A5", "error"), ("台账!A6", "error")]
    assert dupes[0].message == "投诉编号“KS-2026-001”与 台账!A3 重复：请为此投诉改用新的编号。"
    assert all("台账!A3" in f.message for f in dupes)


def test_duplicates_across_sheets() -> None:
    reg = make_register(row())
    other = make_register(row(), sheet="11月")
    reg.sheets += other.sheets
    reg.records += other.records
    (finding,) = validate(reg, Config(), TODAY).findings
    assert finding.cell == "11月!A3" and "台账!A3" in finding.message


# -- the register's notes, the report object -------------------------------------------------


def test_register_notes_are_findings_of_severity_note() -> None:
    report = check(row(), notes=["台账正在 Excel 中打开（~$台账.xlsx）：读取的是最后一次保存的内容。"])
    assert codes(report) == [("register-open", "", "note")]
    assert report.counts["note"] == 1 and report.counts["error"] == 0
    assert "Excel 中打开" in report.render_text()


def test_today_is_what_date_rules_compare_against() -> None:
    reg = make_register(row(closed_on=D(2026, 11, 18)))
    assert validate(reg, Config(), D(2026, 11, 17)).findings[0].code == "date-in-future"
    assert validate(reg, Config(), D(2026, 11, 18)).findings == []


def test_counts_and_grouping_helpers() -> None:
    report = check(row(customer_phone="123", nature="x"), row(complaint_id="KS-2", capa_done=None),
                   row(complaint_id="KS-3"))
    assert report.counts == {"error": 2, "warning": 1, "note": 0, "rows": 3, "rows_with_errors": 1}
    by_row = report.errors_by_row()
    assert list(by_row) == [("台账", 3)]
    assert [f.code for f in by_row[("台账", 3)]] == ["bad-phone", "not-in-list"]


def test_to_dict_is_plain_json_data() -> None:
    import json

    report = check(row(received_on=D(2026, 11, 30), status="待处理", closed_on=None, followup_done=None,
                       capa_done=None, capa_due=D(2026, 12, 30), reply_due=None, followup_due=None))
    data = report.to_dict()
    assert set(data) == {"register", "rows", "findings", "counts"}
    assert data["findings"][0] == {
        "code": "date-in-future", "severity": "error", "sheet": "台账", "row": 3, "column": "B",
        "cell": "台账!B3", "field": "received_on", "complaint_id": "KS-2026-001", "value": "2026-11-30",
        "message": "“受理日期”（2026-11-30）晚于今天（2026-11-23）：请核对并改为实际受理日期。"}
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data


def test_render_text_groups_by_row_and_colours_on_request() -> None:
    report = check(row(customer_phone="123", capa_done=None), row(complaint_id="KS-2", nature="x"))
    plain = report.render_text()
    assert plain.splitlines()[:3] == [
        "台账!3  KS-2026-001",
        "  错误  E3  [bad-phone]  " + report.findings[0].message,
        "  警告  AB3  [capa-not-done]  " + report.findings[1].message,
    ]
    assert "台账!4  KS-2" in plain
    assert plain.endswith("共 2 行数据：2 个错误，1 个警告，0 条提示；2 行有错误。")
    assert "\x1b[" not in plain
    coloured = report.render_text(colour=True)
    assert "\x1b[31m错误\x1b[0m" in coloured and "\x1b[33m警告\x1b[0m" in coloured


def test_no_findings_text() -> None:
    assert check(row()).render_text().splitlines()[0] == "未发现问题。"


# -- the shipped example register --------------------------------------------------------------


def test_example_register_has_exactly_its_seven_planted_mistakes(example_register: Path) -> None:
    config = load_config(example_register.parent.parent / "config.toml")
    register = read_register(config, example_register)
    report = validate(register, config, TODAY)
    assert [(f.code, f.cell) for f in report.findings] == [
        ("duplicate-id", "台账!A20"),
        ("missing-required", "台账!I25"),
        ("bad-phone", "台账!E38"),
        ("date-in-future", "台账!B45"),
        ("close-incomplete", "台账!AD50"),
        ("not-in-list", "台账!O55"),
        ("capa-incomplete", "台账!Y61"),
    ]
    assert report.rows == 60
    assert report.counts["rows_with_errors"] == 7


def test_example_register_without_config_addresses_reports_no_address(example_register: Path) -> None:
    """王芳 has no address in the register; only config.toml's [people] supplies it."""
    config = Config()
    report = validate(read_register(config, example_register), config, TODAY)
    no_address = [f for f in report.findings if f.code == "no-address"]
    assert no_address and all(f.field == "handler_email" for f in no_address)
    assert all("王芳" in f.message for f in no_address)


def test_file_and_column_findings_come_first_under_one_heading() -> None:
    columns = tuple(n for n in ALL if n != "compensation")
    report = check(row(nature="x"), columns=columns, notes=["台账正在 Excel 中打开。"])
    lines = report.render_text().splitlines()
    assert lines[0] == "文件与列"
    assert lines[1] == "  提示  [register-open]  台账正在 Excel 中打开。"
    assert lines[2].startswith("  提示  台账  [missing-column]  工作表“台账”没有“赔付金额”列")
    assert lines[3] == "" and lines[4] == "台账!3  KS-2026-001"
    assert lines.count("文件与列") == 1


# -- layouts, merged records, configured lists (issue #10) --------------------------------


def _without_cells(report: ValidationReport) -> dict[str, Any]:
    """The report's JSON with every cell reference (and row number) taken out."""
    import re

    data = report.to_dict()
    for finding in data["findings"]:
        finding.pop("row")
        finding.pop("cell")
        finding["message"] = re.sub(r"台账!\w+?\d+", "<cell>", finding["message"])
    data.pop("register")
    return data


def test_two_row_header_register_validates_like_the_same_data_laid_out_flat() -> None:
    data = Path(__file__).parent / "data"
    config = Config()
    flat = validate(read_register(config, data / "lay-flat.xlsx"), config, TODAY)
    two_row = validate(read_register(config, data / "lay-two-row-header.xlsx"), config, TODAY)
    assert _without_cells(two_row) == _without_cells(flat)
    assert {f.code for f in flat.findings} >= {"bad-date", "bad-phone", "duplicate-id", "missing-required"}
    # and the cells are where the values are in each file
    assert [f.cell for f in flat.findings if f.code == "duplicate-id"] == ["台账!A8"]
    assert [f.cell for f in two_row.findings if f.code == "duplicate-id"] == ["台账!A12"]
    assert "台账!A6" in next(f.message for f in two_row.findings if f.code == "duplicate-id")


def test_conflicting_values_names_both_cells_in_english() -> None:
    register = make_register(row(), bad={0: {"capa_due": ("conflicting-values", ((3, D(2026, 11, 30)),
                                                                                   (4, D(2026, 12, 5))))}})
    report = validate(register, config_from_dict({"register": {"language": "en"}}), TODAY)
    (finding,) = [f for f in report.findings if f.code == "conflicting-values"]
    assert finding.severity == "error" and finding.cell == "台账!AA3"
    assert "台账!AA3 is '2026-11-30', 台账!AA4 is '2026-12-05'" in finding.message
    assert "Complaint No. cell is merged over these rows" in finding.message
    assert finding.to_dict()["value"] == "2026-11-30 / 2026-12-05"


@pytest.mark.parametrize(("lists", "field", "value"), [
    ({"channels": ["电话", "抖音"]}, "channel", "来访"),
    ({"root_causes": ["设计缺陷", "其他"]}, "root_cause", "运输及储存过程不良"),
    ({"specials": ["否", "网络舆情"]}, "special", "媒体"),
])
def test_every_list_is_configurable(lists: dict[str, list[str]], field: str, value: str) -> None:
    config = config_from_dict({"lists": lists})
    report = check(row(**{field: value}), row(complaint_id="KS-2026-002", **{field: lists[next(iter(lists))][1]}),
                   config=config)
    assert [(f.code, f.field, f.row) for f in report.findings] == [("not-in-list", field, 3)]
    assert lists[next(iter(lists))][1] in report.findings[0].message


def test_new_default_channels_are_everyday_ones() -> None:
    for channel in ("12345 市民热线", "微信", "媒体"):
        assert check(row(channel=channel)).findings == []
