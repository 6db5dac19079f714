"""The reminder planner: due dates, overdue kinds, levels, addresses, digests (today injected)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import holidays
import pytest

from toolkit.config import Config, config_from_dict, load_config
from toolkit.model import Record
from toolkit.reminders import (
    CAPA,
    FOLLOWUP,
    REPLY,
    Digest,
    DueDates,
    ReminderPlan,
    due_dates,
    mask_phone,
    plan_reminders,
)
from toolkit.workdays import WorkCalendar

D = dt.date
TODAY = D(2026, 11, 23)  # a Monday
QM = "qm@example.com"
ROOT = Path(__file__).resolve().parent.parent
KEFU_HEAD = "kefu.head@example.com"

CAL = WorkCalendar("CN")


def make_config(**overrides: Any) -> Config:
    raw: dict[str, Any] = {
        "reminders": {"quality_manager": QM},
        "departments": {"客服部": {"head": KEFU_HEAD}, "质量部": {"head": "zl.head@example.com"},
                        "物流部": {"head": ""}},
        "people": {"王芳": {"email": "wangfang@example.com"}, "孙丽": {"email": "sunli@example.com"}},
    }
    for key, value in overrides.items():
        raw.setdefault(key, {}).update(value)
    return config_from_dict(raw)


CONFIG = make_config()


def rec(row: int, bad: dict[str, tuple[str, Any]] | None = None, **values: Any) -> Record:
    """A complaint in progress, nothing due before 2026-12-31; tests change what they need."""
    base: dict[str, Any] = {
        "complaint_id": f"KS-{row:03d}", "received_on": D(2026, 11, 2), "customer_name": "张先生",
        "customer_phone": "13800138000", "severity": "C", "special": None, "department": "客服部",
        "handler": "李明", "handler_email": "liming@example.com", "status": "处理中",
        "followup_due": D(2026, 12, 31),
    }
    base.update(values)
    return Record(sheet="台账", row=row, values=base, bad=bad or {})


def plan(*records: Record, config: Config = CONFIG, today: dt.date = TODAY) -> ReminderPlan:
    return plan_reminders(records, config, today, CAL)


def summary(p: ReminderPlan) -> list[tuple[str, str, int, int]]:
    return [(i.complaint_id, i.kind, i.days_overdue, i.level) for i in p.items]


def digest(p: ReminderPlan, address: str) -> Digest:
    found = [d for d in p.digests if d.recipient.casefold() == address.casefold()]
    assert len(found) == 1, [d.recipient for d in p.digests]
    return found[0]


# -- due dates --------------------------------------------------------------------------------


def test_due_dates_across_national_day_2026() -> None:
    record = rec(3, received_on=D(2026, 9, 30), severity="A", followup_due=None)
    # A: reply in 1 working day, follow-up in 3: Oct 1-7 off, Oct 10 a 调休 Saturday.
    assert due_dates(record, CONFIG, CAL) == DueDates(D(2026, 10, 8), D(2026, 10, 10), None)
    record = rec(3, received_on=D(2026, 9, 30), severity="B", followup_due=None)
    assert due_dates(record, CONFIG, CAL) == DueDates(D(2026, 10, 9), D(2026, 10, 15), None)


def test_due_dates_spring_festival_2025() -> None:
    record = rec(3, received_on=D(2025, 1, 27), severity="C", followup_due=None)
    # C: 3 and 15 working days; Jan 28 - Feb 4 off, Feb 8 (Saturday) worked.
    assert due_dates(record, CONFIG, CAL).reply == D(2025, 2, 7)
    assert due_dates(record, CONFIG, CAL).followup == D(2025, 2, 24)


def test_explicit_due_dates_win_and_special_is_class_a() -> None:
    record = rec(3, received_on=dt.datetime(2026, 11, 16, 15, 30), reply_due=dt.datetime(2026, 11, 30, 12, 0),
                 capa_due=D(2026, 12, 15))
    assert due_dates(record, CONFIG, CAL) == DueDates(D(2026, 11, 30), D(2026, 12, 31), D(2026, 12, 15))
    special = rec(3, received_on=D(2026, 11, 16), severity="C", special="消协", followup_due=None)
    assert due_dates(special, CONFIG, CAL) == DueDates(D(2026, 11, 17), D(2026, 11, 19), None)
    not_special = rec(3, received_on=D(2026, 11, 16), severity="C", special="否", followup_due=None)
    assert due_dates(not_special, CONFIG, CAL).reply == D(2026, 11, 19)


def test_no_class_is_due_as_class_a() -> None:
    record = rec(3, received_on=D(2026, 11, 16), severity=None, followup_due=None)
    assert due_dates(record, CONFIG, CAL) == DueDates(D(2026, 11, 17), D(2026, 11, 19), None)


def test_calendar_days_mode() -> None:
    config = make_config(rules={"working_days": False})
    record = rec(3, received_on=D(2026, 9, 30), severity="B", followup_due=None)
    assert due_dates(record, config, CAL) == DueDates(D(2026, 10, 2), D(2026, 10, 7), None)
    # Days overdue are calendar days too: due Friday 11-20, today Monday 11-23 -> 3 -> level 2.
    p = plan(rec(4, status="待处理", reply_due=D(2026, 11, 20)), config=config)
    assert summary(p) == [("KS-004", REPLY, 3, 2)]


def test_configured_deadlines_are_used() -> None:
    config = make_config(rules={"C": {"reply_days": 5, "followup_days": 20}})
    record = rec(3, received_on=D(2026, 11, 16), followup_due=None)
    assert due_dates(record, config, CAL) == DueDates(D(2026, 11, 23), D(2026, 12, 14), None)


# -- overdue kinds and levels -------------------------------------------------------------


def test_nothing_due_produces_nothing() -> None:
    p = plan(rec(3), rec(4, status="待处理", reply_due=D(2026, 11, 30)))
    assert (p.items, p.digests, p.cannot_remind, p.warnings) == ([], [], [], [])


def test_reply_overdue_levels_by_working_days() -> None:
    p = plan(*(rec(row, status="待处理", reply_due=due) for row, due in (
        (3, D(2026, 11, 20)),   # 1 working day overdue (Friday -> Monday)
        (4, D(2026, 11, 19)),   # 2
        (5, D(2026, 11, 18)),   # 3: level 2
        (6, D(2026, 11, 13)),   # 6
        (7, D(2026, 11, 12)),   # 7: level 3
    )))
    assert summary(p) == [("KS-007", REPLY, 7, 3), ("KS-006", REPLY, 6, 2), ("KS-005", REPLY, 3, 2),
                          ("KS-004", REPLY, 2, 1), ("KS-003", REPLY, 1, 1)]


def test_escalation_thresholds_come_from_config() -> None:
    config = make_config(reminders={"level2_after": 1, "level3_after": 2})
    p = plan(rec(3, status="待处理", reply_due=D(2026, 11, 20)),
             rec(4, status="待处理", reply_due=D(2026, 11, 19)), config=config)
    assert summary(p) == [("KS-004", REPLY, 2, 3), ("KS-003", REPLY, 1, 2)]


def test_reply_only_while_pending() -> None:
    p = plan(rec(3, status="处理中", reply_due=D(2026, 11, 2)),
             rec(4, status="待处理", reply_due=None, received_on=D(2026, 11, 16)))
    assert summary(p) == [("KS-004", REPLY, 2, 1)]  # computed: C = 3 working days -> 11-19


def test_followup_overdue_until_done_or_closed() -> None:
    p = plan(rec(3, status="待回访", followup_due=D(2026, 11, 20)),
             rec(4, status="待回访", followup_due=D(2026, 11, 20), followup_done=D(2026, 11, 21)),
             rec(5, status="已结案", followup_due=D(2026, 11, 20)),
             rec(6, status="待回访", followup_due=D(2026, 11, 20), followup_done=None,
                 bad={"followup_done": ("bad-date", "已回访")}))
    assert summary(p) == [("KS-003", FOLLOWUP, 1, 1)]


def test_capa_overdue_goes_to_the_owner_and_goes_on_after_closing() -> None:
    capa = {"corrective_action": "加装异物剔除检测", "capa_owner": "周强",
            "capa_owner_email": "zhouqiang@example.com", "capa_due": D(2026, 11, 20)}
    p = plan(rec(3, **capa),
             rec(4, **capa, capa_done=D(2026, 11, 19)),
             rec(5, **capa, status="已结案", followup_done=D(2026, 11, 10)),
             rec(6, **{**capa, "capa_due": D(2026, 11, 10)}, capa_done=D(2026, 11, 19), status="已结案"))
    assert summary(p) == [("KS-003", CAPA, 1, 1), ("KS-005", CAPA, 1, 1)]
    assert p.items[0].handler == "周强"
    owner = digest(p, "zhouqiang@example.com")
    assert owner.role == "handler"
    assert [i.complaint_id for i in owner.items] == ["KS-003", "KS-005"]
    assert not [d for d in p.digests if d.recipient == "liming@example.com"]


def test_overdue_since_a_non_working_day_is_one_day() -> None:
    # Due Friday, seen on Saturday: overdue, though no working day has passed yet.
    p = plan(rec(3, status="待处理", reply_due=D(2026, 11, 20)), today=D(2026, 11, 21))
    assert summary(p) == [("KS-003", REPLY, 1, 1)]


def test_overdue_across_the_national_day_holiday() -> None:
    # Follow-up due Sep 30; on Oct 12 only Oct 8, 9, 10 (Saturday) and 12 have passed.
    p = plan(rec(3, status="待回访", followup_due=D(2026, 9, 30)), today=D(2026, 10, 12))
    assert summary(p) == [("KS-003", FOLLOWUP, 4, 2)]


# -- heads-up -----------------------------------------------------------------------------


def test_heads_up_one_working_day_before_and_on_the_due_day() -> None:
    records = [rec(3, status="待处理", reply_due=D(2026, 11, 24)),
               rec(4, status="待处理", reply_due=D(2026, 11, 23)),
               rec(5, status="待处理", reply_due=D(2026, 11, 25))]
    p = plan(*records)
    assert summary(p) == [("KS-004", REPLY, 0, 0), ("KS-003", REPLY, -1, 0)]
    assert all(i.heads_up for i in p.items)
    assert [d.recipient for d in p.digests] == ["liming@example.com"]
    assert plan(*records, config=make_config(reminders={"heads_up_days": 0})).items == []


def test_heads_up_over_a_weekend_and_a_holiday() -> None:
    # Friday: a Monday due date is one working day ahead, a Sunday one is "due by today".
    p = plan(rec(3, status="待处理", reply_due=D(2026, 11, 23)),
             rec(4, status="待处理", reply_due=D(2026, 11, 22)), today=D(2026, 11, 20))
    assert summary(p) == [("KS-004", REPLY, 0, 0), ("KS-003", REPLY, -1, 0)]
    # Sep 30, before the National Day week: Oct 8 is the next working day.
    p = plan(rec(3, status="待回访", followup_due=D(2026, 10, 8)), today=D(2026, 9, 30))
    assert summary(p) == [("KS-003", FOLLOWUP, -1, 0)]


def test_special_complaint_goes_to_level_three_at_once() -> None:
    p = plan(rec(3, status="待处理", special="消协", reply_due=D(2026, 11, 20)),
             rec(4, status="待处理", special="监管部门", reply_due=D(2026, 11, 24)))
    assert summary(p) == [("KS-003", REPLY, 1, 3), ("KS-004", REPLY, -1, 0)]
    assert p.items[0].special and p.items[1].special
    assert [i.complaint_id for i in digest(p, QM).items] == ["KS-003"]
    assert [i.complaint_id for i in digest(p, KEFU_HEAD).items] == ["KS-003"]
    assert [i.complaint_id for i in digest(p, "liming@example.com").items] == ["KS-003", "KS-004"]


# -- addresses ----------------------------------------------------------------------------


def test_handler_address_from_config_people() -> None:
    p = plan(rec(3, status="待处理", reply_due=D(2026, 11, 20), handler="王芳", handler_email=None))
    assert digest(p, "wangfang@example.com").items[0].handler == "王芳"
    assert p.cannot_remind == []


def test_handler_without_address_still_escalates() -> None:
    p = plan(rec(3, status="待处理", reply_due=D(2026, 11, 18), handler="赵六", handler_email=None))
    assert summary(p) == [("KS-003", REPLY, 3, 2)]
    assert [d.recipient for d in p.digests] == [KEFU_HEAD, QM]
    [cannot] = p.cannot_remind
    assert (cannot.complaint_id, cannot.sheet, cannot.row, cannot.kind) == ("KS-003", "台账", 3, REPLY)
    assert cannot.reason == ('首问负责人“赵六”没有可用的邮箱地址，答复提醒发不出去；请填写负责人邮箱，'
                             '或在 config.toml 中加入 [people."赵六"] email = "..."。')
    assert digest(p, QM).cannot_remind == [cannot]
    assert digest(p, QM).items == []


def test_invalid_handler_address_is_named() -> None:
    p = plan(rec(3, status="待处理", reply_due=D(2026, 11, 20), handler_email="liming#example.com"))
    assert p.cannot_remind[0].reason == (
        '首问负责人“李明”没有可用的邮箱地址（负责人邮箱“liming#example.com”不是邮箱地址），答复提醒发不出去；'
        '请填写负责人邮箱，或在 config.toml 中加入 [people."李明"] email = "..."。')
    # A mapped name rescues an unusable cell.
    p = plan(rec(3, status="待处理", reply_due=D(2026, 11, 20), handler="王芳", handler_email="王芳"))
    assert p.cannot_remind == [] and digest(p, "wangfang@example.com")


@pytest.mark.parametrize("address", ["李明@example.com", "liming@例子.中国", "li..ming@example.com",
                                     ".liming@example.com"])
def test_an_address_the_mail_stage_refuses_falls_back_or_is_reported(address: str) -> None:
    # The planner uses the mail stage's own check: an address it accepts can be sent to.
    p = plan(rec(3, status="待处理", reply_due=D(2026, 11, 20), handler_email=address))
    assert p.cannot_remind and f"“{address}”不是邮箱地址" in p.cannot_remind[0].reason
    p = plan(rec(3, status="待处理", reply_due=D(2026, 11, 20), handler="王芳", handler_email=address))
    assert p.cannot_remind == [] and digest(p, "wangfang@example.com")


def test_capa_owner_address_fallbacks() -> None:
    capa = {"corrective_action": "培训", "capa_due": D(2026, 11, 20)}
    p = plan(rec(3, **capa, capa_owner="孙丽"),  # config people
             rec(4, **capa, capa_owner="钱七"),  # nobody knows 钱七: the handler's address
             rec(5, **capa, capa_owner="钱七", handler="赵六", handler_email=None))
    assert [i.complaint_id for i in digest(p, "sunli@example.com").items] == ["KS-003"]
    assert [i.complaint_id for i in digest(p, "liming@example.com").items] == ["KS-004"]
    [cannot] = p.cannot_remind
    assert cannot.complaint_id == "KS-005"
    assert cannot.reason == ('措施负责人“钱七”没有可用的邮箱地址，纠正预防措施提醒发不出去；'
                             '请填写措施负责人邮箱，或在 config.toml 中加入 [people."钱七"] email = "..."。')


def test_addresses_are_deduplicated_case_insensitively() -> None:
    # The department head handles a complaint himself: one mail, as head, with both items.
    p = plan(rec(3, status="待处理", reply_due=D(2026, 11, 20), handler_email="KeFu.Head@Example.com"),
             rec(4, status="待处理", reply_due=D(2026, 11, 18)))
    recipients = [d.recipient for d in p.digests]
    assert recipients == ["liming@example.com", "KeFu.Head@Example.com"]
    head = digest(p, KEFU_HEAD)
    assert head.role == "department_head"
    assert head.person.email == "KeFu.Head@Example.com"
    assert [(i.complaint_id, i.level) for i in head.items] == [("KS-004", 2), ("KS-003", 1)]


# -- cannot remind ------------------------------------------------------------------------


def test_unknown_due_dates_cannot_be_planned() -> None:
    p = plan(rec(3, status="待处理", received_on=None, followup_due=None),
             rec(4, status="待处理", reply_due=None, bad={"reply_due": ("bad-date", "下周一")}),
             rec(5, corrective_action="培训", capa_owner="孙丽"))
    assert p.items == []
    assert [(c.complaint_id, c.kind, c.reason) for c in p.cannot_remind] == [
        ("KS-003", REPLY, "受理日期为空或无法识别，无法计算答复期限；请填写受理日期，或直接填写承诺答复日期。"),
        ("KS-003", FOLLOWUP, "受理日期为空或无法识别，无法计算回访期限；请填写受理日期，或直接填写回访期限。"),
        ("KS-004", REPLY, "承诺答复日期“下周一”无法识别为日期，不能计算答复提醒；请改成日期，例如 2026-11-23。"),
        ("KS-005", CAPA, "已填写纠正预防措施，但措施完成期限为空，无法提醒；请填写措施完成期限。"),
    ]
    [qm] = p.digests
    assert (qm.recipient, qm.role, qm.items, qm.cannot_remind) == (QM, "quality_manager", [], p.cannot_remind)


def test_explicit_due_date_without_received_on_is_enough() -> None:
    p = plan(rec(3, status="待处理", received_on=None, reply_due=D(2026, 11, 20)))
    assert summary(p) == [("KS-003", REPLY, 1, 1)]
    assert p.cannot_remind == []


def test_department_without_head_at_level_two() -> None:
    p = plan(rec(3, status="待处理", reply_due=D(2026, 11, 18), department="物流部"),
             rec(4, status="待处理", reply_due=D(2026, 11, 18), department=None))
    assert [c.reason for c in p.cannot_remind] == [
        '答复已逾期 3 个工作日，应上报部门负责人，但责任部门“物流部”没有配置负责人邮箱；'
        '请在 config.toml 中加入 [departments."物流部"] head = "..."。',
        "答复已逾期 3 个工作日，应上报部门负责人，但责任部门为空；请填写责任部门。",
    ]
    assert [i.complaint_id for i in digest(p, "liming@example.com").items] == ["KS-003", "KS-004"]


def test_no_quality_manager_is_a_plan_warning() -> None:
    config = make_config(reminders={"quality_manager": ""})
    p = plan(rec(3, status="待处理", reply_due=D(2026, 11, 12)),
             rec(4, status="待处理", received_on=None, followup_due=D(2026, 12, 31)), config=config)
    assert p.warnings == ["[reminders].quality_manager 未设置：2 项应上报质量经理的提醒和无法提醒的条目"
                          "没有收件人；请在 config.toml 中填写 quality_manager 邮箱。"]
    assert [d.role for d in p.digests] == ["handler", "department_head"]


def test_reasons_in_english() -> None:
    config = make_config(register={"language": "en"})
    p = plan(rec(3, status="待处理", received_on=None, followup_due=D(2026, 12, 31)),
             rec(4, status="待处理", reply_due=D(2026, 11, 20), handler="Zhao Liu", handler_email=None),
             config=config)
    assert [c.reason for c in p.cannot_remind] == [
        "Date Received is blank or not a date, so the reply due date is unknown; fill in "
        "Date Received or enter Reply Due directly.",
        'Handler "Zhao Liu" has no usable e-mail address, so the reply reminder cannot be sent; '
        'fill in Handler Email or add [people."Zhao Liu"] email = "..." to config.toml.',
    ]


# -- digests ------------------------------------------------------------------------------


def test_digest_grouping_and_sorting() -> None:
    records = [
        rec(3, status="待处理", reply_due=D(2026, 11, 20)),                          # L1, 1 day
        rec(4, status="待回访", followup_due=D(2026, 11, 12)),                       # L3, 7 days
        rec(5, status="待处理", reply_due=D(2026, 11, 24)),                          # heads-up
        rec(6, status="待处理", reply_due=D(2026, 11, 17), department="质量部"),      # L2, 4 days
        rec(7, status="待处理", reply_due=D(2026, 11, 18), handler="王芳", handler_email=None),  # L2, 3
        rec(8, status="待处理", reply_due=D(2026, 11, 18)),                          # L2, 3 days
        rec(9, status="待处理", received_on=None, followup_due=None),                # cannot x2
    ]
    p = plan(*records)
    assert summary(p) == [("KS-004", FOLLOWUP, 7, 3), ("KS-006", REPLY, 4, 2), ("KS-007", REPLY, 3, 2),
                          ("KS-008", REPLY, 3, 2), ("KS-003", REPLY, 1, 1), ("KS-005", REPLY, -1, 0)]
    shape = [(d.recipient, d.role, [i.complaint_id for i in d.items], len(d.cannot_remind)) for d in p.digests]
    assert shape == [
        ("liming@example.com", "handler", ["KS-004", "KS-006", "KS-008", "KS-003", "KS-005"], 0),
        ("wangfang@example.com", "handler", ["KS-007"], 0),
        (KEFU_HEAD, "department_head", ["KS-004", "KS-007", "KS-008"], 0),
        ("zl.head@example.com", "department_head", ["KS-006"], 0),
        (QM, "quality_manager", ["KS-004"], 2),
    ]
    assert all(d.person.email == d.recipient for d in p.digests)


def test_item_fields() -> None:
    p = plan(rec(3, status="待处理", reply_due=D(2026, 11, 20), customer_name="宏发烟酒店",
                 customer_phone=13912345678.0, department="质量部"))
    [item] = p.items
    assert (item.complaint_id, item.kind, item.due, item.sheet, item.row, item.customer,
            item.phone_masked, item.handler, item.department, item.special) == (
        "KS-003", REPLY, D(2026, 11, 20), "台账", 3, "宏发烟酒店", "139****5678", "李明", "质量部", False)
    assert p.today == TODAY


@pytest.mark.parametrize(("phone", "masked"), [
    ("13800138000", "138****8000"),
    (13800138000.0, "138****8000"),
    (13800138000, "138****8000"),
    ("138 0013 8000", "138****8000"),
    ("0871-63125678", "0871-****5678"),  # the area code tells where; the number stays hidden
    ("010-8456 7821-806", "010-****7821"),  # the extension is left out
    ("+852 9123 4567", "+852-****4567"),
    ("12315", "*****"),
    ("1234567", "*******"),
    (None, ""),
    ("", ""),
])
def test_phone_masking(phone: Any, masked: str) -> None:
    assert mask_phone(phone) == masked


def test_calendar_warnings_reach_the_plan() -> None:
    year = max(holidays.country_holidays("CN").special_public_holidays) + 1
    p = plan_reminders([rec(3, status="待处理", received_on=D(year, 3, 1), followup_due=None)],
                       CONFIG, D(year, 3, 2))
    assert len(p.warnings) == 1 and f"{year} 年按法定节假日" in p.warnings[0]


# -- end to end: the shipped example register -------------------------------------------------


def test_plan_for_the_example_register(example_register: Path) -> None:
    from toolkit.register import read_register

    config = load_config(ROOT / "config.toml")
    register = read_register(config, example_register)
    p = plan_reminders(register.records, config, D(2026, 11, 23))
    assert summary(p) == [
        ("KS-2026-045", CAPA, 16, 3), ("KS-2026-040", FOLLOWUP, 15, 3), ("KS-2026-037", REPLY, 11, 3),
        ("KS-2026-041", FOLLOWUP, 2, 3),  # the 消协 special complaint: level 3 at once
        ("KS-2026-044", CAPA, 6, 2), ("KS-2026-039", FOLLOWUP, 5, 2), ("KS-2026-036", REPLY, 4, 2),
        ("KS-2026-040", CAPA, 4, 2),
        ("KS-2026-035", REPLY, 1, 1), ("KS-2026-038", FOLLOWUP, 1, 1), ("KS-2026-043", CAPA, 1, 1),
        ("KS-2026-046", REPLY, -1, 0),  # due tomorrow: heads-up
    ]
    assert [(d.recipient, d.role, len(d.items)) for d in p.digests] == [
        ("chenjing@example.com", "handler", 3), ("liming@example.com", "handler", 1),
        ("liuyang@example.com", "handler", 1), ("sunli@example.com", "handler", 1),
        ("wangfang@example.com", "handler", 1),  # 王芳: address from [people] in config.toml
        ("zhangwei@example.com", "handler", 1), ("zhaolei@example.com", "handler", 2),
        ("zhenghao@example.com", "handler", 2),
        ("kefu.head@example.com", "department_head", 3), ("shengchan.head@example.com", "department_head", 1),
        ("xiaoshou.head@example.com", "department_head", 3), ("zhiliang.head@example.com", "department_head", 1),
        ("quality.manager@example.com", "quality_manager", 4),
    ]
    assert p.items[-4].phone_masked == "138***3800"  # the ten-digit phone of row 38
    assert (p.cannot_remind, p.warnings) == ([], [])
