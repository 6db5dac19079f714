"""Sending digests through a real SMTP server on 127.0.0.1 (aiosmtpd) and the outbox."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import re
import time
from email.policy import default
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from smtp_server import RecordingHandler, SmtpServer, make_certificate

from toolkit.config import Config, config_from_dict
from toolkit.errors import MailError
from toolkit.notify import send_reminders
from toolkit.notify.email import subject_for
from toolkit.notify.message import message_id
from toolkit.reminders import CannotRemind, Digest, Person, ReminderItem, ReminderPlan
from toolkit.state import Ledger

TODAY = dt.date(2026, 11, 23)  # a Monday
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def item(cid: str, *, kind: str = "reply", level: int = 1, days: int = 1, handler: str = "李明",
         customer: str = "王先生", special: bool = False) -> ReminderItem:
    due = TODAY + dt.timedelta(days=1) if level == 0 else TODAY - dt.timedelta(days=days)
    return ReminderItem(cid, kind, due, -1 if level == 0 else days, level, "台账", 3, customer,
                        "138****8000", handler, "客服部", special, respondent="人民路店",
                        description="烟支破损，包装内有碎屑，客户要求更换并道歉，否则向烟草专卖局投诉")


def digest(to: str, items: list[ReminderItem], role: str = "handler",
           cannot: list[CannotRemind] | None = None) -> Digest:
    return Digest(Person("", to), role, items, cannot or [])


def plan_of(*digests: Digest) -> ReminderPlan:
    items = [i for d in digests for i in d.items]
    cannot = [c for d in digests for c in d.cannot_remind]
    return ReminderPlan(TODAY, items, list(digests), cannot)


def make_config(tmp_path: Path, server: SmtpServer | None = None, language: str = "zh",
                **mail: Any) -> Config:
    raw: dict[str, Any] = {"register": {"language": language},
                           "state": {"path": str(tmp_path / "state.sqlite")},
                           "mail": {"outbox_dir": str(tmp_path / "outbox"), "retry_delay": 0.01,
                                    "timeout": 5.0, **mail}}
    if server is not None:
        raw["mail"].update(transport="smtp", host=server.host, port=server.port)
    return config_from_dict(raw)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("cert"))


def test_digests_arrive_with_recipients_levels_and_content(tmp_path: Path) -> None:
    handler_digest = digest("liming@example.com", [
        item("KS-001", level=1, days=1), item("KS-002", kind="capa", level=3, days=9, special=True),
        item("KS-003", kind="followup", level=0)])
    qm_digest = digest("qm@example.com", [item("KS-002", kind="capa", level=3, days=9, special=True)],
                       role="quality_manager",
                       cannot=[CannotRemind("KS-036", "台账", 39, "reply", "首问负责人“王芳”没有邮箱")])
    with SmtpServer() as server:
        result = send_reminders(plan_of(handler_digest, qm_digest), make_config(tmp_path, server),
                                now=NOW)
    assert [m.status for m in result.messages] == ["sent", "sent"]
    assert (result.sent, result.failed) == (2, 0)
    by_rcpt = server.handler.by_recipient()
    assert sorted(by_rcpt) == ["liming@example.com", "qm@example.com"]

    msg = by_rcpt["liming@example.com"][0].message
    assert msg["Subject"] == "【投诉跟进提醒】2 项逾期（1 项已升级），1 项明日到期"
    assert msg["From"] == "complaints@example.com"
    assert msg["To"] == "liming@example.com"
    assert msg["Date"] == format_datetime(NOW)
    assert msg["Message-ID"].endswith("@example.com>")
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    # Grouped by urgency: level 3 first, heads-up last.
    assert text.index("三级") < text.index("一级") < text.index("即将到期")
    # 被投诉方 and a one-line summary of 投诉内容 (at most 40 characters, "…" when shortened).
    summary = "烟支破损，包装内有碎屑，客户要求更换并道歉，否则向烟草专卖局投诉"
    assert len(summary) <= 40
    assert f"KS-002 | 王先生 | 138****8000 | 人民路店 | {summary} | 纠正预防措施 | 2026-11-14 | 9 | " \
           "3 (特殊客诉) | 李明" in text
    assert f"KS-003 | 王先生 | 138****8000 | 人民路店 | {summary} | 回访 | 2026-11-24 | - | - | 李明" in text
    page = msg.get_body(("html",)).get_content()
    assert f"<td>KS-001</td><td>王先生</td><td>138****8000</td><td>人民路店</td><td>{summary}</td>" \
           "<td>答复</td>" in page
    # A stable identity: the same reminders on the same day give the same Message-ID, so a
    # mail repeated after a crash is recognisable.
    ident = message_id("email", "liming@example.com", TODAY, handler_digest.items)
    assert msg["Message-ID"] == f"<reminder.{ident}@example.com>"
    assert result.messages[0].message_id == ident

    qm = by_rcpt["qm@example.com"][0].message
    assert qm["Subject"] == "【投诉升级提醒·质量经理】1 项逾期，1 条无法提醒"
    qm_text = qm.get_body(("plain",)).get_content()
    assert "KS-036 | 台账!39 | 答复 | 在台账中改正 | 首问负责人“王芳”没有邮箱" in qm_text


def test_subjects_in_english() -> None:
    items = [item("A", days=2), item("B", days=4), item("C", days=5), item("D", level=0)]
    assert subject_for("handler", items, [], TODAY, "en") == \
        "[Complaint follow-up] 3 overdue, 1 due tomorrow"
    assert subject_for("department_head", [item("B", level=2, days=4)], [], TODAY, "en") == \
        "[Complaint escalation] 1 overdue"
    friday = dt.date(2026, 11, 20)  # heads-up on Friday for Monday: not "tomorrow"
    monday_due = ReminderItem("E", "reply", dt.date(2026, 11, 23), -1, 0, "s", 2, "", "", "", "", False)
    assert subject_for("handler", [monday_due], [], friday, "zh") == "【投诉跟进提醒】1 项即将到期"


def test_rerun_sends_nothing_and_level_rise_sends_only_the_new_item(tmp_path: Path) -> None:
    first = digest("liming@example.com", [item("KS-001", days=3), item("KS-002", days=1)])
    with SmtpServer() as server:
        config = make_config(tmp_path, server)
        assert send_reminders(plan_of(first), config, now=NOW).sent == 1
        again = send_reminders(plan_of(first), config, now=NOW)
        assert [m.status for m in again.messages] == ["already-sent"]
        assert len(server.handler.received) == 1
        risen = digest("liming@example.com", [item("KS-001", level=2, days=3), item("KS-002", days=1)])
        third = send_reminders(plan_of(risen), config, now=NOW)
    assert [i.complaint_id for i in third.messages[0].items] == ["KS-001"]
    assert len(server.handler.received) == 2
    last = server.handler.received[1].message
    assert "KS-002" not in last.get_body(("plain",)).get_content()


def test_register_text_cannot_inject_headers_and_is_escaped_in_html(tmp_path: Path) -> None:
    evil = item("KS-001", handler="x\nBcc: evil@x", customer="<script>alert(1)</script>\r\nX-Evil: 1")
    good = digest("liming@example.com", [evil])
    bad = digest("zhang@example.com\nBcc: evil@x", [item("KS-002")])
    with SmtpServer() as server:
        result = send_reminders(plan_of(bad, good), make_config(tmp_path, server), now=NOW)
    assert [m.status for m in result.messages] == ["failed", "sent"]
    assert "zhang@example.com Bcc: evil@x" in result.messages[0].error
    assert "不是有效的电子邮件地址" in result.messages[0].error
    assert len(server.handler.received) == 1
    received = server.handler.received[0]
    assert received.rcpt_tos == ["liming@example.com"]
    msg = received.message
    assert msg["Bcc"] is None and msg["X-Evil"] is None
    assert "evil@x" not in "".join(f"{k}: {v}" for k, v in msg.items())
    page = msg.get_body(("html",)).get_content()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; X-Evil: 1" in page
    assert "x Bcc: evil@x" in msg.get_body(("plain",)).get_content()


def test_outbox_writes_eml_files_once_and_dry_run_writes_nothing(tmp_path: Path) -> None:
    plan = plan_of(digest("liming@example.com", [item("KS-001")]),
                   digest("zhang@example.com", [item("KS-002"), item("KS-003", level=0)]))
    config = make_config(tmp_path)
    dry = send_reminders(plan, config, now=NOW, dry_run=True)
    assert [m.status for m in dry.messages] == ["dry-run", "dry-run"]
    assert not (tmp_path / "outbox").exists() and not (tmp_path / "state.sqlite").exists()

    result = send_reminders(plan, config, now=NOW)
    assert result.sent == 2
    files = sorted(p.name for p in (tmp_path / "outbox").iterdir())
    assert len(files) == 2
    assert all(re.fullmatch(r"20261123-090000_(liming|zhang)@example\.com_[0-9a-f]{8}\.eml", f)
               for f in files)
    eml = email.message_from_bytes((tmp_path / "outbox" / files[1]).read_bytes(), policy=default)
    assert eml["To"] == "zhang@example.com"
    assert eml["Subject"] == "【投诉跟进提醒】1 项逾期，1 项明日到期"

    assert send_reminders(plan, config, now=NOW).already_sent == 2
    assert len(list((tmp_path / "outbox").iterdir())) == 2
    # A dry run after sending shows "already-sent" from the ledger and records nothing.
    with Ledger(tmp_path / "state.sqlite") as ledger:
        before = len(ledger.rows())
    assert send_reminders(plan, config, now=NOW, dry_run=True).already_sent == 2
    with Ledger(tmp_path / "state.sqlite") as ledger:
        assert len(ledger.rows()) == before == 3


def test_starttls_with_self_signed_certificate_and_login(tmp_path: Path, certificate: tuple[Path, Path],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret")
    plan = plan_of(digest("liming@example.com", [item("KS-001")]))
    with SmtpServer(mode="starttls", certificate=certificate, users={"mailer": "s3cret"}) as server:
        config = make_config(tmp_path, server, security="starttls", ca_file=str(certificate[0]),
                             username="mailer", password_env="TEST_SMTP_PASSWORD")
        assert send_reminders(plan, config, now=NOW).sent == 1
    assert [r.user for r in server.handler.received] == ["mailer"]


def test_implicit_tls(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    plan = plan_of(digest("liming@example.com", [item("KS-001")]))
    with SmtpServer(mode="ssl", certificate=certificate) as server:
        config = make_config(tmp_path, server, security="ssl", ca_file=str(certificate[0]))
        assert send_reminders(plan, config, now=NOW).sent == 1
    assert len(server.handler.received) == 1


def test_unverifiable_certificate_is_refused_with_advice(tmp_path: Path,
                                                         certificate: tuple[Path, Path]) -> None:
    plan = plan_of(digest("liming@example.com", [item("KS-001")]))
    with SmtpServer(mode="starttls", certificate=certificate) as server:
        config = make_config(tmp_path, server, language="en", security="starttls")
        with pytest.raises(MailError, match=r"cannot verify the certificate .*set \[mail\]\.ca_file"):
            send_reminders(plan, config, now=NOW)
    assert server.handler.received == []
    with Ledger(tmp_path / "state.sqlite") as ledger:
        assert ledger.rows() == []


def test_password_comes_from_the_environment(tmp_path: Path, certificate: tuple[Path, Path],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_SMTP_PASSWORD", raising=False)
    plan = plan_of(digest("liming@example.com", [item("KS-001")]))
    with SmtpServer(mode="starttls", certificate=certificate, users={"mailer": "s3cret"}) as server:
        config = make_config(tmp_path, server, language="en", security="starttls",
                             ca_file=str(certificate[0]), username="mailer",
                             password_env="TEST_SMTP_PASSWORD")
        with pytest.raises(MailError, match="environment variable TEST_SMTP_PASSWORD is empty"):
            send_reminders(plan, config, now=NOW)
        monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong")
        with pytest.raises(MailError, match=r"refused the login of 'mailer'.*TEST_SMTP_PASSWORD"):
            send_reminders(plan, config, now=NOW)
        # A non-ASCII password: a clear error that quotes no character of it.
        monkeypatch.setenv("TEST_SMTP_PASSWORD", "Pässwörd-秘密")
        with pytest.raises(MailError, match="non-ASCII characters") as info:
            send_reminders(plan, config, now=NOW)
        assert not any(ch in str(info.value) for ch in "äö秘密") and "position" not in str(info.value)
        assert info.value.__cause__ is None and info.value.__suppress_context__
    assert server.handler.received == []


def test_unreachable_server_names_host_and_port(tmp_path: Path) -> None:
    server = SmtpServer()  # never started: nothing listens on its port
    config = make_config(tmp_path, server, language="en")
    with pytest.raises(MailError) as info:
        send_reminders(plan_of(digest("liming@example.com", [item("KS-001")])), config, now=NOW)
    assert f"cannot connect to the mail server 127.0.0.1:{server.port}" in str(info.value)
    assert "Check host, port and security in [mail]" in str(info.value)


def test_refused_recipient_does_not_stop_the_others(tmp_path: Path) -> None:
    plan = plan_of(digest("a@example.com", [item("KS-001")]), digest("gone@example.com", [item("KS-002")]),
                   digest("c@example.com", [item("KS-003")]))
    with SmtpServer(RecordingHandler(refuse=("gone@example.com",))) as server:
        result = send_reminders(plan, make_config(tmp_path, server), now=NOW)
    assert [m.status for m in result.messages] == ["sent", "failed", "sent"]
    assert "550" in result.messages[1].error and "gone@example.com" in result.messages[1].error
    assert sorted(server.handler.by_recipient()) == ["a@example.com", "c@example.com"]
    assert not result.ok


def test_dropped_connection_loses_nothing_and_duplicates_nothing_after_rerun(tmp_path: Path) -> None:
    recipients = [f"h{i}@example.com" for i in range(5)]
    plan = plan_of(*(digest(r, [item(f"KS-{i:03d}")]) for i, r in enumerate(recipients)))
    # The server accepts two messages, then drops every connection at DATA.
    with SmtpServer(RecordingHandler(drop_after=2)) as broken:
        first = send_reminders(plan, make_config(tmp_path, broken, retries=1), now=NOW)
    assert [m.status for m in first.messages] == ["sent", "sent", "failed", "failed", "failed"]
    # Cut off after the whole message went: the server may have it, so it is not resent and
    # the rest wait for the next run.
    assert first.messages[2].error.startswith("可能已送达：邮件服务器收下邮件内容后、确认之前断开了连接")
    assert first.messages[3].error.startswith("本次未发送：邮件上一条消息是否送达不明")
    with SmtpServer() as healthy:
        second = send_reminders(plan, make_config(tmp_path, healthy, retries=1), now=NOW)
    assert [m.status for m in second.messages] == ["already-sent"] * 2 + ["sent"] * 3
    got = broken.handler.by_recipient()
    for rcpt, messages in healthy.handler.by_recipient().items():
        got.setdefault(rcpt, []).extend(messages)
    assert {r: len(m) for r, m in got.items()} == {r: 1 for r in recipients}


def test_transient_421_is_retried_on_a_new_session(tmp_path: Path) -> None:
    plan = plan_of(*(digest(f"h{i}@example.com", [item(f"KS-{i}")]) for i in range(3)))
    handler = RecordingHandler(drop_after=1, drops=1, drop_mode="421")
    with SmtpServer(handler) as server:
        result = send_reminders(plan, make_config(tmp_path, server, retries=2), now=NOW)
    assert [m.status for m in result.messages] == ["sent"] * 3
    assert handler.dropped == 1
    assert sorted(handler.by_recipient()) == [f"h{i}@example.com" for i in range(3)]


class SlowRcptOnce(RecordingHandler):
    """Answers the first RCPT only after the client has given up waiting: before DATA, so the
    server has no message yet."""

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if not self.dropped:
            self.dropped += 1
            await asyncio.sleep(1.0)
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


def test_a_timeout_before_the_message_went_is_retried_on_a_new_session(tmp_path: Path) -> None:
    plan = plan_of(digest("a@example.com", [item("KS-1")]), digest("b@example.com", [item("KS-2")]))
    handler = SlowRcptOnce()
    with SmtpServer(handler) as server:
        config = make_config(tmp_path, server, timeout=0.3, retries=1)
        result = send_reminders(plan, config, now=NOW)
    assert [m.status for m in result.messages] == ["sent", "sent"]
    assert handler.dropped == 1
    assert sorted(handler.by_recipient()) == ["a@example.com", "b@example.com"]
    assert len(handler.received) == 2


class SlowToConfirm(RecordingHandler):
    """Keeps every message but answers the end of DATA after ``delay`` seconds (a busy server
    queueing what it already has), for the first ``slow`` messages."""

    def __init__(self, delay: float, slow: int = 1000) -> None:
        super().__init__()
        self.delay = delay
        self.slow = slow

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        if len(self.received) <= self.slow:
            await asyncio.sleep(self.delay)
        return reply


def test_a_slow_confirmation_is_waited_for_far_past_the_command_timeout(tmp_path: Path) -> None:
    # [mail] timeout = 0.3 s, the server confirms each message after 1 s: waiting only the
    # command timeout would resend each one (retries + 1 copies a run, and nothing recorded).
    recipients = [f"h{i}@example.com" for i in range(3)]
    plan = plan_of(*(digest(r, [item(f"KS-{i}")]) for i, r in enumerate(recipients)))
    handler = SlowToConfirm(1.0)
    with SmtpServer(handler) as server:
        config = make_config(tmp_path, server, timeout=0.3, retries=2)
        first = send_reminders(plan, config, now=NOW)
        second = send_reminders(plan, config, now=NOW)
    assert [m.status for m in first.messages] == ["sent"] * 3
    assert [m.status for m in second.messages] == ["already-sent"] * 3
    assert {r: len(m) for r, m in handler.by_recipient().items()} == {r: 1 for r in recipients}


def test_no_confirmation_at_all_is_in_doubt_never_resent_in_the_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from toolkit.notify import email as email_channel

    # The RFC's 10 minutes, shortened for the test: the server keeps the first message and
    # answers after 1.5 s, when the client has stopped waiting.
    monkeypatch.setattr(email_channel._Session, "data_timeout", 0.5)
    recipients = [f"h{i}@example.com" for i in range(3)]
    plan = plan_of(*(digest(r, [item(f"KS-{i}")]) for i, r in enumerate(recipients)))
    handler = SlowToConfirm(1.5, slow=1)
    with SmtpServer(handler) as server:
        config = make_config(tmp_path, server, language="en", timeout=0.3, retries=2)
        first = send_reminders(plan, config, now=NOW)
        time.sleep(1.3)  # the slow reply, answered to a closed connection
        assert len(handler.received) == 1  # no copy on a new session, nothing more this run
        assert [m.status for m in first.messages] == ["failed"] * 3
        assert first.messages[0].error.startswith(
            "may have been delivered: the mail server did not confirm the message within 0.5 s")
        assert "the next run sends it again (it may arrive twice)" in first.messages[0].error
        assert first.messages[1].error == first.messages[2].error == (
            "not sent: e-mail stopped for this run after a message whose delivery is in doubt; the "
            "next run sends it")
        with Ledger(tmp_path / "state.sqlite") as ledger:
            assert ledger.rows() == []  # nothing recorded: the next run sends all three
        second = send_reminders(plan, config, now=NOW)
        third = send_reminders(plan, config, now=NOW)
    assert [m.status for m in second.messages] == ["sent"] * 3
    assert [m.status for m in third.messages] == ["already-sent"] * 3
    # The one in doubt arrived twice (the README's one repeat), with the same Message-ID.
    got = handler.by_recipient()
    assert {r: len(m) for r, m in got.items()} == {"h0@example.com": 2, "h1@example.com": 1,
                                                   "h2@example.com": 1}
    assert got["h0@example.com"][0].message["Message-ID"] == got["h0@example.com"][1].message["Message-ID"]


class GoneAfterOne(RecordingHandler):
    """Accepts one message, then stops listening and drops the connection at the next MAIL
    (before any of the next message went, so nothing is in doubt): the server is gone."""

    def __init__(self) -> None:
        super().__init__()
        self.listener: Any = None

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          mail_options: list[str]) -> str:
        if self.received:
            self.listener.close()
            server.transport.close()
            return "421 4.3.2 gone"
        return await super().handle_MAIL(server, session, envelope, address, mail_options)


def test_server_gone_mid_run_fails_the_rest_and_names_it(tmp_path: Path) -> None:
    plan = plan_of(*(digest(f"h{i}@example.com", [item(f"KS-{i}")]) for i in range(4)))
    handler = GoneAfterOne()
    with SmtpServer(handler) as server:
        handler.listener = server.controller.server
        result = send_reminders(plan, make_config(tmp_path, server, language="en", retries=1), now=NOW)
    assert [m.status for m in result.messages] == ["sent", "failed", "failed", "failed"]
    assert "went away during the run" in result.messages[1].error
    assert f"127.0.0.1:{server.port}" in result.messages[1].error
    assert result.messages[3].error == result.messages[1].error
    assert len(handler.received) == 1


def test_invalid_sender_stops_the_run(tmp_path: Path) -> None:
    from toolkit.errors import ConfigError

    with pytest.raises(ConfigError, match=r'\[mail\]\.sender is "complaints@@example.com", not one valid'):
        make_config(tmp_path, language="en", sender="complaints@@example.com")
    # A config built in code, past the loader's check: the run stops before sending.
    config = make_config(tmp_path, language="en")
    config.mail.sender = "complaints@example.com, evil@attacker.com"
    with pytest.raises(MailError, match=r"\[mail\]\.sender 'complaints@example.com, evil@attacker.com' is not a"):
        send_reminders(plan_of(digest("a@example.com", [item("KS-1")])), config, now=NOW)


def test_json_shape() -> None:
    plan = plan_of(digest("a@example.com", [item("KS-001", days=4, level=2)]))
    result = send_reminders(plan, make_config(Path("/nonexistent-never-written")), now=NOW, dry_run=True)
    [message] = result.to_dict()["messages"]
    preview = message.pop("preview")
    assert message == {
        "channel": "outbox", "to": ["a@example.com"], "cc": [],
        "subject": "【投诉跟进提醒】1 项逾期（1 项已升级）", "message_id": result.messages[0].message_id,
        "items": [{"complaint_id": "KS-001", "kind": "reply", "due": "2026-11-19", "days_overdue": 4,
                   "level": 2}],
        "cannot_remind": [], "status": "dry-run", "error": "",
    }
    assert re.fullmatch(r"[0-9a-f]{16}", message["message_id"])
    assert "KS-001 | 王先生 | 138****8000 | 人民路店 |" in preview


def test_a_second_complaint_with_the_same_number_is_still_reminded(tmp_path: Path) -> None:
    # The review's case: 客户甲 is reminded, then staff add 客户乙 under the same (blank or
    # repeated) number, date and class. 乙 must be reminded too, not counted as already sent.
    from toolkit.model import Record
    from toolkit.reminders import plan_reminders

    def record(row: int, cid: str, customer: str) -> Record:
        return Record("台账", row, {"complaint_id": cid, "received_on": dt.date(2026, 11, 17),
                                   "severity": "C", "status": "待处理", "customer_name": customer,
                                   "handler": "李明", "handler_email": "liming@example.com",
                                   "department": "客服部"})

    for cid in ("", "KS-9"):
        config = make_config(tmp_path / (cid or "blank"))
        first = send_reminders(plan_reminders([record(3, cid, "客户甲")], config, TODAY), config, now=NOW)
        assert first.sent == 1
        both = plan_reminders([record(3, cid, "客户甲"), record(4, cid, "客户乙")], config, TODAY)
        second = send_reminders(both, config, now=NOW)
        assert [m.status for m in second.messages] == ["sent"]
        assert [i.customer for i in second.messages[0].items] == ["客户乙"]


def test_a_password_is_never_sent_over_an_unencrypted_connection_unless_asked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOLKIT_SMTP_PASSWORD", "pa55word")
    with SmtpServer() as server:
        config = make_config(tmp_path, server, language="en", security="none", username="sender")
        with pytest.raises(MailError, match="the password would cross the network in clear") as caught:
            send_reminders(plan_of(digest("a@example.com", [item("KS-1")])), config, now=NOW)
        assert "allow_plaintext_login = true" in str(caught.value)
        assert "pa55word" not in str(caught.value)
    assert server.handler.received == [] and server.handler.sessions == 0
    # Said explicitly: the login is attempted (this test server offers AUTH only after TLS).
    config.mail.allow_plaintext_login = True
    with SmtpServer() as server:
        config.mail.port = server.port
        with pytest.raises(MailError, match="offers no login"):
            send_reminders(plan_of(digest("a@example.com", [item("KS-1")])), config, now=NOW)


def test_the_weekly_report_in_doubt_is_not_sent_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from email.message import EmailMessage

    from toolkit.notify import deliver_one
    from toolkit.notify import email as email_channel

    monkeypatch.setattr(email_channel._Session, "data_timeout", 0.5)
    handler = SlowToConfirm(1.5, slow=1)
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "complaints@example.com", "qm@example.com", "weekly"
    msg["Message-ID"] = "<weekly.2026-11-23@example.com>"
    msg.set_content("figures")
    with SmtpServer(handler) as server:
        config = make_config(tmp_path, server, language="en", timeout=0.3, retries=2)
        out = email_channel.weekly_outgoing(msg, config)
        with pytest.raises(MailError, match=r"^may have been delivered: the mail server did not confirm"):
            deliver_one(email_channel.EmailChannel(config, NOW), out, "en")
        time.sleep(1.3)
    assert len(handler.received) == 1
