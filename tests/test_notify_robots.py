"""Group robots (WeCom, DingTalk, Feishu) through the one delivery stage, against a local HTTP
server on 127.0.0.1 that behaves as each API does (tests/robot_server.py)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from robot_server import RobotServer

from toolkit.config import Config, config_from_dict
from toolkit.model import Record
from toolkit.notify import send_reminders
from toolkit.reminders import ReminderPlan, plan_reminders
from toolkit.state import Ledger
from toolkit.workdays import WorkCalendar

D = dt.date
TODAY = D(2026, 11, 23)  # a Monday
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
CAL = WorkCalendar("CN")
WECOM_KEY = "wecom-key-3f9a1c0e-SECRET"
DING_TOKEN, DING_SECRET = "ding-token-77aa-SECRET", "SECdingsecret0123456789"
FEISHU_HOOK, FEISHU_SECRET = "feishu-hook-5b5b-SECRET", "feishusecretABCDEF"
SECRETS = (WECOM_KEY, DING_TOKEN, DING_SECRET, FEISHU_HOOK, FEISHU_SECRET)


def rec(row: int, **values: Any) -> Record:
    base: dict[str, Any] = {
        "complaint_id": f"KS-2026-{row:03d}", "received_on": D(2026, 11, 2), "customer_name": "张先生",
        "customer_phone": "13800138000", "severity": "C", "special": None, "department": "客服部",
        "handler": "王芳", "handler_email": "wangfang@example.com", "status": "待处理",
        "reply_due": D(2026, 11, 20), "followup_due": D(2026, 12, 31), "respondent": "人民路店",
        "description": "烟支破损，包装内有碎屑，客户要求更换并道歉",
    }
    base.update(values)
    return Record(sheet="台账", row=row, values=base, bad={})


def make_config(tmp_path: Path, channels: list[str], **sections: dict[str, Any]) -> Config:
    raw: dict[str, Any] = {
        "state": {"path": str(tmp_path / "state.sqlite")},
        "notify": {"channels": channels, "retry_delay": 0.01, "rate_limit_wait": 0.05, "timeout": 2.0},
        "reminders": {"quality_manager": "qm@example.com"},
        "departments": {"客服部": {"head": "张经理"}},
        "people": {"王芳": {"email": "wangfang@example.com", "mobile": "13800001111",
                          "feishu_user_id": "ou_wangfang"},
                   "张经理": {"email": "zhang@example.com", "mobile": "13900002222"},
                   "质量经理": {"email": "qm@example.com", "mobile": "13700003333"}},
        "wecom": {"webhook_env": "TEST_WECOM_URL", "per_minute": 0},
        "dingtalk": {"webhook_env": "TEST_DING_URL", "secret_env": "TEST_DING_SECRET", "per_minute": 0},
        "feishu": {"webhook_env": "TEST_FEISHU_URL", "secret_env": "TEST_FEISHU_SECRET", "per_minute": 0},
    }
    for key, value in sections.items():
        # people={} means "nobody has a mobile": no mentions to post
        raw[key] = value if key == "people" else {**raw.get(key, {}), **value}
    return config_from_dict(raw)


def plan(*records: Record, config: Config, today: dt.date = TODAY) -> ReminderPlan:
    return plan_reminders(records, config, today, CAL)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Any:
    with RobotServer(wecom={WECOM_KEY}, dingtalk={DING_TOKEN: DING_SECRET},
                     feishu={FEISHU_HOOK: FEISHU_SECRET}) as robots:
        monkeypatch.setenv("TEST_WECOM_URL", robots.url("wecom", WECOM_KEY))
        monkeypatch.setenv("TEST_DING_URL", robots.url("dingtalk", DING_TOKEN))
        monkeypatch.setenv("TEST_DING_SECRET", DING_SECRET)
        monkeypatch.setenv("TEST_FEISHU_URL", robots.url("feishu", FEISHU_HOOK))
        monkeypatch.setenv("TEST_FEISHU_SECRET", FEISHU_SECRET)
        yield robots


def records() -> list[Record]:
    return [
        rec(3),                                                          # level 1, 1 day overdue
        rec(4, reply_due=D(2026, 11, 17)),                               # level 2: head
        rec(5, reply_due=D(2026, 11, 10), special="是"),                 # level 3: quality manager
        rec(6, reply_due=D(2026, 11, 24), handler="赵磊", handler_email="zhaolei@example.com"),  # tomorrow
    ]


# -- WeCom ----------------------------------------------------------------------------------------


def test_wecom_group_message_groups_by_urgency_and_mentions_who_must_act(tmp_path: Path, server: Any) -> None:
    config = make_config(tmp_path, ["wecom"])
    result = send_reminders(plan(*records(), config=config), config, now=NOW)
    assert (result.sent, result.failed) == (1, 0), result.to_text("en")
    markdown, mention = server.received
    text = markdown.body["markdown"]["content"]
    assert markdown.body["msgtype"] == "markdown"
    assert text.index("已升级（2）") < text.index("已逾期（1）") < text.index("今日/明日到期（1）")
    assert "**KS-2026-005**" in text and "特殊客诉" in text
    assert "客户 张先生（138＊＊＊＊8000）｜被投诉方 人民路店" in text  # "*" would be markdown
    assert "投诉内容：烟支破损，包装内有碎屑，客户要求更换并道歉" in text
    assert "到期 2026-11-20，逾期 1 个工作日" in text
    assert "王芳（负责人）、张经理（部门负责人）" in text
    assert "质量经理（质量经理）" in text or "qm@example.com" in text or "质量经理" in text
    assert "13800000000" not in text and "13800138000" not in text  # the customer's phone is masked
    # WeCom markdown cannot @ by mobile: a text message with mentioned_mobile_list follows.
    assert mention.body["msgtype"] == "text"
    assert sorted(mention.body["text"]["mentioned_mobile_list"]) == ["13700003333", "13800001111", "13900002222"]
    assert f"提醒编号 {result.messages[0].message_id}" in text


def test_each_item_arrives_once_over_repeated_runs_and_a_level_rise_is_new(tmp_path: Path, server: Any) -> None:
    config = make_config(tmp_path, ["wecom"], people={})
    first = send_reminders(plan(rec(3), config=config), config, now=NOW)
    again = send_reminders(plan(rec(3), config=config), config, now=NOW)
    assert (first.sent, again.sent, again.already_sent) == (1, 0, 1)
    assert len(server.received) == 1
    # Three working days later the same reply is level 2: new, sent once more.
    later = D(2026, 11, 26)
    risen = send_reminders(plan(rec(3), config=config, today=later), config, now=NOW)
    assert risen.sent == 1 and len(server.received) == 2
    assert "已升级（1）" in server.received[1].text
    with Ledger(config.state_path) as ledger:
        rows = ledger.rows()
    assert {(r["channel"], r["recipient"], r["level"]) for r in rows} == {
        ("wecom", "test_wecom_url", 1), ("wecom", "test_wecom_url", 2)}


def test_a_department_with_its_own_group_gets_its_items_there(tmp_path: Path, server: Any,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    server.wecom.add("sales-key-SECRET")
    monkeypatch.setenv("TEST_WECOM_SALES", server.url("wecom", "sales-key-SECRET"))
    config = make_config(tmp_path, ["wecom"], departments={"销售部": {"wecom_webhook_env": "TEST_WECOM_SALES"}})
    result = send_reminders(plan(rec(3), rec(4, department="销售部"), config=config), config, now=NOW)
    assert result.sent == 2
    by_robot = {r.robot: r.text for r in server.received if r.body["msgtype"] == "markdown"}
    assert "KS-2026-003" in by_robot[WECOM_KEY] and "KS-2026-004" not in by_robot[WECOM_KEY]
    assert "KS-2026-004" in by_robot["sales-key-SECRET"] and "销售部" in by_robot["sales-key-SECRET"]


def test_long_digests_split_into_numbered_parts_never_cut(tmp_path: Path, server: Any) -> None:
    config = make_config(tmp_path, ["wecom"], people={})
    many = [rec(i, description="长" * 300) for i in range(3, 63)]
    result = send_reminders(plan(*many, config=config), config, now=NOW)
    parts = [r.text for r in server.received]
    assert result.failed == 0 and len(parts) == result.sent > 2
    assert all(len(p.encode()) <= 4096 for p in parts)
    assert server.refused == []
    n = len(parts)
    for i, part in enumerate(parts, 1):
        assert f"（第 {i}/{n} 部分）" in part
    # Every item once, whole: its number, its line of content (summarised to 40 characters).
    seen = [cid for p in parts for cid in (f"KS-2026-{i:03d}" for i in range(3, 63)) if f"**{cid}**" in p]
    assert sorted(seen) == [f"KS-2026-{i:03d}" for i in range(3, 63)]
    assert all("投诉内容：" + "长" * 39 + "…" in p for p in parts)
    assert "**已逾期（60）**（续）" in parts[1]


def test_register_text_cannot_mention_everyone_or_restyle_the_message(tmp_path: Path, server: Any) -> None:
    config = make_config(tmp_path, ["wecom", "dingtalk"], people={})
    evil = rec(3, customer_name="<@all> **大字**", description="[点我](http://x.example) @13800001111\n# 标题")
    send_reminders(plan(evil, config=config), config, now=NOW)
    for received in server.received:
        text = received.text
        assert "<@all>" not in text and "[点我](" not in text and "\n# " not in text
        assert "＜＠all＞ ＊＊大字＊＊" in text
    ding = next(r for r in server.received if r.api == "dingtalk")
    assert ding.body["at"]["atMobiles"] == []


# -- DingTalk and Feishu: signing, mentions ------------------------------------------------------


def test_dingtalk_signed_markdown_with_at_mobiles(tmp_path: Path, server: Any) -> None:
    config = make_config(tmp_path, ["dingtalk"])
    result = send_reminders(plan(rec(4, reply_due=D(2026, 11, 17)), config=config), config, now=NOW)
    assert result.sent == 1, result.to_text("en")
    [got] = server.received
    assert got.body["msgtype"] == "markdown"
    assert sorted(got.body["at"]["atMobiles"]) == ["13800001111", "13900002222"]
    # DingTalk shows a mention only when the mobile is also written as @mobile in the text.
    assert "@13800001111 王芳（负责人）" in got.text and "@13900002222 张经理（部门负责人）" in got.text


def test_feishu_signed_card_mentions_by_open_id_and_names_the_rest(tmp_path: Path, server: Any) -> None:
    config = make_config(tmp_path, ["feishu"])
    result = send_reminders(plan(rec(4, reply_due=D(2026, 11, 17)), config=config), config, now=NOW)
    assert result.sent == 1, result.to_text("en")
    [got] = server.received
    assert got.body["msg_type"] == "interactive"
    assert "<at id=ou_wangfang></at>（负责人）" in got.text
    assert "张经理（部门负责人）" in got.text  # no Feishu id: named in text


@pytest.mark.parametrize("channel, var, value", [
    ("dingtalk", "TEST_DING_SECRET", "SECwrongwrongwrong"),
    ("feishu", "TEST_FEISHU_SECRET", "wrongwrongwrong"),
    ("wecom", "TEST_WECOM_URL", None),
])
def test_a_bad_key_or_signature_names_the_variable_never_the_value(
        tmp_path: Path, server: Any, monkeypatch: pytest.MonkeyPatch, channel: str, var: str,
        value: str | None) -> None:
    if value is None:  # a WeCom key that does not exist
        value = server.url("wecom", "no-such-key-SECRET")
    monkeypatch.setenv(var, value)
    config = make_config(tmp_path, [channel], register={"language": "en"})
    result = send_reminders(plan(rec(3), rec(4, department="物流部"), config=config), config, now=NOW)
    assert result.failed == 1 and result.sent == 0
    error = result.messages[0].error
    assert "\n" not in error
    assert var in error and value not in error
    assert all(secret not in result.to_text("en") for secret in (*SECRETS, value))
    assert server.received == []
    with Ledger(config.state_path) as ledger:
        assert ledger.rows() == []


def test_a_missing_variable_is_named(tmp_path: Path, server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_DING_URL")
    config = make_config(tmp_path, ["dingtalk"], register={"language": "en"})
    result = send_reminders(plan(rec(3), config=config), config, now=NOW)
    assert result.failed == 1
    assert "the environment variable TEST_DING_URL is empty" in result.messages[0].error


# -- rate limits, 5xx, a server that is down -----------------------------------------------------


def test_rate_limited_messages_are_waited_for_within_the_run(tmp_path: Path, server: Any) -> None:
    server.rate_limit = (2, 0.3)  # two messages per 0.3 s per robot
    config = make_config(tmp_path, ["wecom"], people={}, notify={"rate_limit_wait": 0.35, "retries": 3})
    many = [rec(i, description="长" * 300) for i in range(3, 40)]
    result = send_reminders(plan(*many, config=config), config, now=NOW)
    assert result.failed == 0 and result.sent >= 3
    assert ("wecom", 45009) in server.refused  # it was limited, and waited
    assert len(server.received) == result.sent


def test_still_rate_limited_is_left_for_the_next_run_never_dropped(tmp_path: Path, server: Any) -> None:
    server.rate_limit = (1, 3600.0)  # one message an hour: the rest must wait for the next run
    config = make_config(tmp_path, ["dingtalk"], people={}, register={"language": "en"},
                         notify={"rate_limit_wait": 0.01, "retries": 1})
    many = [rec(i, description="长" * 300) for i in range(3, 40)]
    first = send_reminders(plan(*many, config=config), config, now=NOW)
    assert first.sent == 1 and first.failed >= 2
    assert "rate limit (130101" in first.messages[1].error and "left for the next run" in first.messages[1].error
    assert "not sent this run" in first.messages[2].error
    server.rate_limit = None  # the next run
    second = send_reminders(plan(*many, config=config), config, now=NOW)
    assert second.failed == 0
    texts = [r.text for r in server.received]
    ids = [cid for t in texts for cid in (f"KS-2026-{i:03d}" for i in range(3, 40)) if f"**{cid}**" in t]
    assert sorted(ids) == [f"KS-2026-{i:03d}" for i in range(3, 40)]  # each once, none lost


def test_5xx_is_retried_with_backoff(tmp_path: Path, server: Any) -> None:
    server.fail_next = [500, 502, 503]
    config = make_config(tmp_path, ["feishu"], people={}, notify={"retries": 3})
    result = send_reminders(plan(rec(3), config=config), config, now=NOW)
    assert result.sent == 1 and len(server.received) == 1 and server.requests == 4


def test_a_server_that_is_down_loses_nothing_and_the_next_run_sends_it_once(tmp_path: Path, server: Any) -> None:
    config = make_config(tmp_path, ["wecom", "dingtalk"], people={}, register={"language": "en"},
                         notify={"retries": 1})
    server.stop()
    down = send_reminders(plan(rec(3), rec(4), config=config), config, now=NOW)
    assert (down.sent, down.failed) == (0, 2)
    assert "cannot reach the WeCom server" in down.messages[0].error
    assert "TEST_WECOM_URL" in down.messages[0].error and WECOM_KEY not in down.messages[0].error
    server.start()
    up = send_reminders(plan(rec(3), rec(4), config=config), config, now=NOW)
    assert (up.sent, up.failed) == (2, 0)
    again = send_reminders(plan(rec(3), rec(4), config=config), config, now=NOW)
    assert again.already_sent == 2 and len(server.received) == 2


def test_a_connect_timeout_is_retried(tmp_path: Path, server: Any) -> None:
    # Nothing listens behind a firewall that drops the SYN: the connection times out, the
    # request never left, so trying again is safe. (A closed port stands in: refused at once.)
    server.fail_next = [503]
    config = make_config(tmp_path, ["wecom"], people={}, notify={"timeout": 0.5, "retries": 2})
    result = send_reminders(plan(rec(3), config=config), config, now=NOW)
    assert result.sent == 1 and len(server.received) == 1


def test_no_answer_after_the_post_is_in_doubt_never_reposted_in_the_run(tmp_path: Path, server: Any) -> None:
    # The server takes the first post but answers after the client stopped waiting. Posting it
    # again in this run would put it in the group twice or more (retries + 1 before); it stays
    # pending, the channel stops for the run, and the next run posts it: at most one repeat.
    import time

    server.delay_next = [1.5]
    config = make_config(tmp_path, ["wecom"], people={}, register={"language": "en"},
                         notify={"timeout": 0.5, "retries": 2})
    many = [rec(i, description="长" * 300) for i in range(3, 30)]
    first = send_reminders(plan(*many, config=config), config, now=NOW)
    time.sleep(1.3)  # let the slow first request finish on the server
    assert len(first.messages) >= 3 and first.sent == 0
    assert server.requests == 1 and len(server.received) == 1
    error = first.messages[0].error
    assert error.startswith("may have been delivered: the WeCom server did not answer within 0.5 s")
    assert "cannot reach" not in error and "the next run sends it again" in error
    assert all(m.error == "not sent: WeCom stopped for this run after a message whose delivery is in "
                          "doubt; the next run sends it" for m in first.messages[1:])
    assert ledger_rows(tmp_path) == 0
    second = send_reminders(plan(*many, config=config), config, now=NOW)
    assert second.failed == 0 and second.sent == len(first.messages)
    texts = [r.text for r in server.received]
    assert texts[0] == texts[1]  # the one in doubt, once more, with the same message number
    assert f"Message {first.messages[0].message_id}" in texts[0]
    assert len(texts) == len(set(texts)) + 1


def test_a_kept_alive_connection_the_server_closed_is_retried_not_in_doubt(tmp_path: Path,
                                                                          server: Any) -> None:
    # The server hangs up on a post that came on a kept-alive connection, unread (it was closing
    # the idle connection as the post arrived): not in doubt, so it is sent again on a new
    # connection, once, and the channel goes on.
    server.hang_up_next = 1
    config = make_config(tmp_path, ["wecom"], people={}, notify={"retries": 2})
    many = [rec(i, description="长" * 300) for i in range(3, 30)]
    result = send_reminders(plan(*many, config=config), config, now=NOW)
    assert len(result.messages) >= 3 and result.failed == 0
    texts = [r.text for r in server.received]
    assert len(texts) == len(set(texts)) == result.sent


def ledger_rows(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "state.sqlite") as db:
        return db.execute("select count(*) from sent_reminders").fetchone()[0]


def test_pacing_keeps_every_server_window_within_the_limit(tmp_path: Path, server: Any) -> None:
    # The server counts a post when it handles it, after the client sent it; here the first
    # answer is slow, as a loaded API is. Timed from before each post, the pacer let post
    # n + 1 in at the window's end while the server still counted the first: 45009.
    from toolkit.notify.wecom import WecomChannel

    server.rate_limit = (3, 1.0)  # WeCom's 20 a minute, scaled down: 3 a second
    server.delay_next = [0.3]
    config = make_config(tmp_path, ["wecom"], people={}, wecom={"per_minute": 3})
    channel = WecomChannel(config, NOW)
    channel.window = 1.0
    many = [rec(i, description="长" * 300) for i in range(3, 80)]
    result = send_reminders(plan(*many, config=config), config, now=NOW, channels=[channel])
    assert len(result.messages) >= 7 and result.failed == 0
    assert server.refused == []  # never limited, not even once
    assert len(server.received) == result.sent


def test_dingtalk_throttle_redirect_is_a_rate_limit_held_for_the_next_run(tmp_path: Path, server: Any) -> None:
    server.fail_next = [302] * 10  # DingTalk redirects while it throttles a robot
    config = make_config(tmp_path, ["dingtalk"], people={}, register={"language": "en"},
                         notify={"rate_limit_wait": 0.01, "retries": 1})
    many = [rec(i, description="长" * 300) for i in range(3, 30)]
    result = send_reminders(plan(*many, config=config), config, now=NOW)
    assert result.sent == 0 and server.requests == 2  # waited once, then held: not hammered
    assert "HTTP 302" in result.messages[0].error and "left for the next run" in result.messages[0].error
    assert all("not sent this run" in m.error for m in result.messages[1:])


def test_dingtalk_quota_used_up_is_held_at_once(tmp_path: Path, server: Any) -> None:
    server.reply_next = [{"errcode": 90030, "errmsg": "webhook over limit"}]
    config = make_config(tmp_path, ["dingtalk"], people={}, register={"language": "en"},
                         notify={"rate_limit_wait": 5, "retries": 3})
    many = [rec(i, description="长" * 300) for i in range(3, 30)]
    result = send_reminders(plan(*many, config=config), config, now=NOW)
    assert result.sent == 0 and server.requests == 1  # no waiting for a quota
    assert "90030" in result.messages[0].error and "quota is used up" in result.messages[0].error
    assert all("not sent this run" in m.error for m in result.messages[1:])


# -- the ledger: channels are separate, old ledgers migrate -----------------------------------------


def test_outbox_then_a_robot_sends_the_current_items_once_there(tmp_path: Path, server: Any) -> None:
    config = make_config(tmp_path, ["email"], people={}, mail={"outbox_dir": str(tmp_path / "outbox")})
    outboxed = send_reminders(plan(rec(3), config=config), config, now=NOW)
    assert outboxed.sent == 1 and outboxed.messages[0].channel == "outbox"
    config.notify.channels = ["email", "wecom"]
    both = send_reminders(plan(rec(3), config=config), config, now=NOW)
    assert [(m.channel, m.status) for m in both.messages] == [("outbox", "already-sent"), ("wecom", "sent")]


def test_an_old_ledger_is_migrated_to_the_channel_it_was_written_by(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript("""
            CREATE TABLE sent_reminders (id INTEGER PRIMARY KEY, complaint_id TEXT NOT NULL,
                kind TEXT NOT NULL, due TEXT NOT NULL, level INTEGER NOT NULL, recipient TEXT NOT NULL,
                sent_day TEXT NOT NULL, sent_at TEXT NOT NULL);
            CREATE INDEX sent_reminders_by_recipient ON sent_reminders (recipient, sent_day);
            INSERT INTO sent_reminders (complaint_id, kind, due, level, recipient, sent_day, sent_at)
                VALUES ('KS-2026-003', 'reply', '2026-11-20', 1, 'wangfang@example.com', '2026-11-23',
                        '2026-11-23T09:00:00');
        """)
    conn.close()
    config = make_config(tmp_path, ["email"], people={}, mail={"outbox_dir": str(tmp_path / "outbox")})
    # A dry run reads it as it is, and writes nothing.
    dry = send_reminders(plan(rec(3), config=config), config, now=NOW, dry_run=True)
    assert dry.already_sent == 1
    result = send_reminders(plan(rec(3), config=config), config, now=NOW)  # outbox: the old rows' channel
    assert result.already_sent == 1 and result.sent == 0
    with Ledger(path) as ledger:
        assert [(r["channel"], r["recipient"]) for r in ledger.rows()] == [("outbox", "wangfang@example.com")]
    # Switching to SMTP: the old rows were the outbox's, so the item is mailed once.
    config.mail.transport = "smtp"
    with Ledger(path) as ledger:
        assert ledger.unsent("email", "wangfang@example.com", plan(rec(3), config=config).items, TODAY, 1)


# -- the command: dry run shows the messages; no secret anywhere ---------------------------------


def test_remind_dry_run_shows_each_channels_messages_and_no_secret_reaches_any_file(
        tmp_path: Path, server: Any, example_register: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from toolkit.cli import main

    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[register]\npath = "{example_register.as_posix()}"\n'
        f'[output]\ndir = "{(tmp_path / "output").as_posix()}"\n'
        '[notify]\nchannels = ["email", "wecom", "dingtalk", "feishu"]\nretry_delay = 0.01\n'
        '[reminders]\nquality_manager = "qm@example.com"\n'
        '[wecom]\nwebhook_env = "TEST_WECOM_URL"\nper_minute = 0\n'
        '[dingtalk]\nwebhook_env = "TEST_DING_URL"\nsecret_env = "TEST_DING_SECRET"\nper_minute = 0\n'
        '[feishu]\nwebhook_env = "TEST_FEISHU_URL"\nsecret_env = "TEST_FEISHU_SECRET"\nper_minute = 0\n',
        encoding="utf-8")
    assert main(["remind", "--config", str(cfg), "--today", "2026-11-23", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "将发送  [企业微信] 企业微信 (TEST_WECOM_URL)" in out
    assert "    | **【投诉跟进提醒】2026-11-23**" in out  # the markdown as it would be posted
    assert "[钉钉]" in out and "[飞书]" in out and "[发件箱]" in out
    assert server.received == []
    # A real run, then every file the toolkit wrote and everything it printed: no secret.
    assert main(["remind", "--config", str(cfg), "--today", "2026-11-23"]) == 0
    printed = capsys.readouterr()
    assert len(server.received) >= 3
    blobs = [printed.out, printed.err]
    blobs += [p.read_bytes().decode("utf-8", "replace") for p in (tmp_path / "output").rglob("*") if p.is_file()]
    for blob in blobs:
        for secret in SECRETS:
            assert secret not in blob
