"""``complaint-toolkit remind`` on the example register, through the real entry point."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from smtp_server import RecordingHandler, SmtpServer

from toolkit.cli import main
from toolkit.config import load_config
from toolkit.lock import StateLock
from toolkit.notify import send_reminders
from toolkit.register import read_register
from toolkit.reminders import plan_reminders

TODAY = "2026-11-23"  # the example register has overdue items at levels 1-3 on this Monday
HANDLERS = ["chenjing@example.com", "liming@example.com", "liuyang@example.com", "sunli@example.com",
            "zhangwei@example.com", "zhaolei@example.com", "zhenghao@example.com"]


def write_config(tmp_path: Path, example_register: Path, server: SmtpServer | None = None,
                 extra: str = "") -> Path:
    mail = f'transport = "smtp"\nhost = "{server.host}"\nport = {server.port}\nretries = 0\n' if server \
        else ""
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[register]\npath = "{example_register.as_posix()}"\n'
        f'[reminders]\nquality_manager = "qm@example.com"\n'
        f'[mail]\n{mail}{extra}', encoding="utf-8")
    return cfg


def test_outbox_run_then_rerun_sends_nothing(tmp_path: Path, example_register: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, example_register)
    assert main(["remind", "--config", str(cfg), "--today", TODAY]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "共 8 封：已发送 8，将发送 0，今日已发过 0，失败 0。"
    assert "已发送  qm@example.com  【投诉升级提醒·质量经理】4 项逾期，9 条无法提醒" in out
    outbox = tmp_path / "output" / "outbox"
    files = sorted(outbox.iterdir())
    assert len(files) == 8
    assert (tmp_path / "output" / "state.sqlite").exists()

    assert main(["remind", "--config", str(cfg), "--today", TODAY]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "共 8 封：已发送 0，将发送 0，今日已发过 8，失败 0。"
    assert sorted(outbox.iterdir()) == files


def test_dry_run_records_and_writes_nothing(tmp_path: Path, example_register: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, example_register)
    assert main(["remind", "--config", str(cfg), "--today", TODAY, "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "共 8 封：已发送 0，将发送 8，今日已发过 0，失败 0。"
    assert not (tmp_path / "output").exists()


def test_json_equals_what_the_library_returns(tmp_path: Path, example_register: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, example_register)
    assert main(["remind", "--config", str(cfg), "--today", TODAY, "--dry-run", "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    config = load_config(cfg)
    plan = plan_reminders(read_register(config).records, config, dt.date.fromisoformat(TODAY))
    expected = send_reminders(plan, config, now=dt.datetime.now().astimezone(), dry_run=True).to_dict()
    assert printed == expected
    levels = {m["to"][0]: sorted({i["level"] for i in m["items"]}) for m in printed["messages"]}
    assert levels["qm@example.com"] == [3]
    assert levels["chenjing@example.com"] == [0, 2, 3]


def test_smtp_run_delivers_each_digest_once(tmp_path: Path, example_register: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    with SmtpServer() as server:
        cfg = write_config(tmp_path, example_register, server)
        assert main(["remind", "--config", str(cfg), "--today", TODAY]) == 0
        assert main(["remind", "--config", str(cfg), "--today", TODAY]) == 0
    got = server.handler.by_recipient()
    assert sorted(got) == sorted([*HANDLERS, "qm@example.com"])
    assert all(len(messages) == 1 for messages in got.values())
    qm = got["qm@example.com"][0].message
    text = qm.get_body(("plain",)).get_content()
    assert "KS-2026-036 | 台账!39 | 答复 | 在台账中改正 | 首问负责人“王芳”没有可用的邮箱地址" in text
    assert "KS-2026-037 | 台账!40 | 答复 | 在 config.toml 中改正 | 答复已逾期 11 个工作日" in text


def test_undeliverable_recipient_exits_3_and_is_named(tmp_path: Path, example_register: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    with SmtpServer(RecordingHandler(refuse=("zhangwei@example.com",))) as server:
        cfg = write_config(tmp_path, example_register, server)
        assert main(["remind", "--config", str(cfg), "--today", TODAY]) == 3
    out = capsys.readouterr().out
    failed = [line for line in out.splitlines() if line.startswith("失败")]
    assert len(failed) == 1
    assert "zhangwei@example.com" in failed[0] and "550" in failed[0]
    assert out.splitlines()[-1] == "共 8 封：已发送 7，将发送 0，今日已发过 0，失败 1。"


def test_unreachable_server_exits_2_naming_host_and_port(tmp_path: Path, example_register: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    server = SmtpServer()  # never started
    cfg = write_config(tmp_path, example_register, server)
    assert main(["remind", "--config", str(cfg), "--today", TODAY]) == 2
    err = capsys.readouterr().err
    assert f"错误：无法连接邮件服务器 127.0.0.1:{server.port}" in err
    assert "Traceback" not in err


def test_remind_refuses_while_a_run_holds_the_state_folder(tmp_path: Path, example_register: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, example_register)
    state = tmp_path / "output" / "state.sqlite"
    with StateLock(state, "run"):
        code = main(["remind", "--config", str(config), "--today", "2026-11-23"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("错误：") and str(os.getpid()) in err
    assert not (tmp_path / "output" / "outbox").exists()


# -- addresses in the config: checked when it is loaded, not when a digest is sent -------------


@pytest.mark.parametrize("sender", [
    '"x\r\nBcc: evil@attacker.com" <complaints@example.com>',
    "投诉系统\r\nBcc: evil@attacker.com <complaints@example.com>",
    "complaints@example.com, evil@attacker.com",
    "Office <complaints@example.com> evil@attacker.com",
])
def test_a_sender_that_is_not_exactly_one_mailbox_stops_the_command(
        tmp_path: Path, example_register: Path, capsys: pytest.CaptureFixture[str], sender: str) -> None:
    with SmtpServer() as server:
        cfg = write_config(tmp_path, example_register, server,
                           extra=f"sender = {json.dumps(sender, ensure_ascii=False)}\n")
        assert main(["remind", "--config", str(cfg), "--today", TODAY]) == 2
    err = capsys.readouterr().err
    assert "[mail].sender" in err and "complaints@example.com 或 投诉系统 <complaints@example.com>" in err
    assert "Traceback" not in err and "\nBcc" not in err  # the bad value is shown on its one line
    assert server.handler.received == []


def test_a_sender_with_a_name_is_one_clean_from_header(tmp_path: Path, example_register: Path) -> None:
    with SmtpServer() as server:
        cfg = write_config(tmp_path, example_register, server,
                           extra='sender = "投诉系统 <complaints@example.com>"\n')
        assert main(["remind", "--config", str(cfg), "--today", TODAY]) == 0
    msg = server.handler.received[0].message
    assert msg["From"].addresses[0].addr_spec == "complaints@example.com"
    assert msg["From"].addresses[0].display_name == "投诉系统" and len(msg["From"].addresses) == 1
    assert server.handler.received[0].mail_from == "complaints@example.com"


def write_recipients(tmp_path: Path, example_register: Path, server: SmtpServer, *, qm: str, head: str,
                     language: str = "zh") -> Path:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[register]\npath = "{example_register.as_posix()}"\nlanguage = "{language}"\n'
        f"[reminders]\nquality_manager = {json.dumps(qm, ensure_ascii=False)}\n"
        f'[departments."客服部"]\nhead = {json.dumps(head, ensure_ascii=False)}\n'
        f'[mail]\ntransport = "smtp"\nhost = "{server.host}"\nport = {server.port}\nretries = 0\n',
        encoding="utf-8")
    return cfg


@pytest.mark.parametrize(("qm", "head", "option"), [
    ("qm@example.com", "kefu.head@example.com, boss@example.com", '[departments."客服部"].head'),
    ("qm@example.com; boss@example.com", "kefu.head@example.com", "[reminders].quality_manager"),
    ("qm@example.com\nBcc: evil@attacker.com", "kefu.head@example.com", "[reminders].quality_manager"),
    ("qm@example.com", "张经理\r\nBcc", '[departments."客服部"].head'),
])
def test_a_recipient_in_the_config_that_cannot_be_sent_to_stops_the_command(
        tmp_path: Path, example_register: Path, capsys: pytest.CaptureFixture[str], qm: str, head: str,
        option: str) -> None:
    with SmtpServer() as server:
        cfg = write_recipients(tmp_path, example_register, server, qm=qm, head=head, language="en")
        assert main(["remind", "--config", str(cfg), "--today", TODAY]) == 2
    err = capsys.readouterr().err
    assert f"{option} is " in err and "not one valid recipient" in err
    assert "write one e-mail address (such as qm@example.com, or Quality Manager <qm@example.com>)" in err
    assert "Traceback" not in err and server.handler.received == []


def test_recipients_written_name_and_address_are_escalated_to(tmp_path: Path, example_register: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    # Before: loaded fine, then every run failed these digests (exit 3) and no level-2/3 went.
    with SmtpServer() as server:
        cfg = write_recipients(tmp_path, example_register, server, qm="Quality Manager <qm@example.com>",
                               head="客服部负责人 <kefu.head@example.com>")
        assert main(["remind", "--config", str(cfg), "--today", TODAY]) == 0
    got = server.handler.by_recipient()
    assert "qm@example.com" in got and "kefu.head@example.com" in got
    assert got["qm@example.com"][0].message["To"] == "qm@example.com"


HEADERS = ["投诉编号", "受理日期", "投诉渠道", "客户名称", "联系电话", "被投诉方", "投诉内容", "投诉类别",
           "投诉性质", "等级", "特殊客诉", "责任部门", "首问负责人", "负责人邮箱", "处理状态"]


def test_register_text_with_line_breaks_stays_on_its_console_line(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    import openpyxl

    evil = "\r\nBcc: evil@attacker.com"
    base = {"投诉渠道": "电话", "客户名称": "张先生", "联系电话": "13800138000", "被投诉方": "门店",
            "投诉内容": "烟丝发潮", "投诉类别": "产品质量", "投诉性质": "有效投诉", "等级": "B", "特殊客诉": "否",
            "责任部门": "客服部", "处理状态": "待处理", "受理日期": dt.datetime(2026, 11, 2)}
    rows = [{"投诉编号": "H1", "首问负责人": "李明" + evil, "负责人邮箱": "liming@example.com"},
            {"投诉编号": "H2", "首问负责人": "王五", "负责人邮箱": "wangwu@example.com" + evil},
            {"投诉编号": "H5" + evil, "首问负责人": "孙八", "负责人邮箱": "sun8@example.com",
             "客户名称": "<script>x</script>\r\nX-Evil: 1"}]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "台账"
    sheet.append(HEADERS)
    for row in rows:
        values = {**base, **row}
        sheet.append([values.get(h) for h in HEADERS])
    register = tmp_path / "reg.xlsx"
    book.save(register)
    cfg = write_config(tmp_path, register)
    main(["remind", "--config", str(cfg), "--today", TODAY])
    captured = capsys.readouterr()
    lines = (captured.out + captured.err).splitlines()
    assert any(line.startswith("无法提醒：") for line in lines)
    assert not any(line.lstrip().startswith(("Bcc", "X-Evil")) for line in lines)
