"""The main job end to end on the example register: idempotent reruns (outbox and a real SMTP
server), a dead mail server, an unreadable register, a broken template, exit codes, the
summary and the run record. ``today`` and ``now`` are passed in; the clock is never patched."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from smtp_server import RecordingHandler, SmtpServer, free_port

from toolkit.cli import main
from toolkit.config import Config, load_config
from toolkit.history import RunHistory
from toolkit.job import JobResult, run_job

ROOT = Path(__file__).resolve().parent.parent
TODAY = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 20, 9, 0)


def project(tmp_path: Path, *, language: str = "en", smtp_port: int | None = None,
            extra: dict[tuple[str, str], str] | None = None) -> Path:
    """A copy of the shipped config.toml and example register in ``tmp_path``; returns the config.
    ``extra`` sets ``(section, key)`` to a TOML value."""
    (tmp_path / "examples").mkdir()
    shutil.copy(ROOT / "examples" / "complaint-register.xlsx", tmp_path / "examples")
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    settings = {("register", "language"): f'"{language}"', **(extra or {})}
    if smtp_port is not None:
        settings.update({("mail", "transport"): '"smtp"', ("mail", "host"): '"127.0.0.1"',
                         ("mail", "port"): str(smtp_port), ("mail", "security"): '"none"',
                         ("mail", "retries"): "0", ("mail", "timeout"): "5"})
    for (section, key), value in settings.items():
        text = set_key(text, section, key, value)
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def set_key(text: str, section: str, key: str, value: str) -> str:
    """``key = value`` in ``[section]`` of a TOML text: replaced if there, else added."""
    head = re.search(rf"(?m)^\[{re.escape(section)}\]\s*$", text)
    assert head is not None, section
    end = re.search(r"(?m)^\[", text[head.end():])
    stop = head.end() + end.start() if end else len(text)
    body = text[head.end():stop]
    line = re.compile(rf"(?m)^{re.escape(key)}\s*=.*$")
    body = line.sub(f"{key} = {value}", body, count=1) if line.search(body) else f"\n{key} = {value}{body}"
    return text[:head.end()] + body + text[stop:]


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``: its bytes and modification time."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def job(config: Config, now: dt.datetime = NOW) -> JobResult:
    return run_job(config, today=TODAY, now=now)


def test_two_runs_give_the_same_files_and_send_nothing_twice_outbox(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    config = project(tmp_path)
    assert main(["run", "--config", str(config), "--today", "2026-11-20"]) == 0
    first = capsys.readouterr().out
    out = tmp_path / "output"
    documents, outbox = snapshot(out / "documents"), snapshot(out / "outbox")
    assert documents and outbox
    register = snapshot(tmp_path / "examples")

    assert main(["run", "--config", str(config), "--today", "2026-11-20"]) == 0
    second = capsys.readouterr().out
    assert snapshot(out / "documents") == documents  # not one document rewritten
    assert snapshot(out / "outbox") == outbox  # not one mail more
    assert snapshot(tmp_path / "examples") == register  # the staff's register untouched

    sent = int(re.search(r"Reminders: (\d+) sent", first).group(1))  # type: ignore[union-attr]
    assert sent == len(outbox) > 0
    assert f"Reminders: 0 sent, 0 failed, {sent} already sent earlier" in second
    assert re.search(r"Documents: 0 created, 0 updated, \d+ unchanged", second)
    assert second.startswith("Daily job for 2026-11-20 (ok)\nRegister: ")
    runs = RunHistory(out / "state.sqlite").recent()
    assert [r.status for r in runs] == ["ok", "ok"]
    assert runs[0].register_sha256 == runs[1].register_sha256 != ""


def test_two_runs_send_each_message_once_through_a_real_smtp_server(tmp_path: Path) -> None:
    with SmtpServer() as server:
        config = load_config(project(tmp_path, smtp_port=server.port))
        first = job(config)
        assert first.exit_code == 0, first.errors
        received = len(server.handler.received)
        assert received == first.reminders["sent"] > 0
        second = job(config, NOW + dt.timedelta(minutes=5))
        assert len(server.handler.received) == received
        assert second.reminders["sent"] == 0
        assert second.reminders["already-sent"] == received
        assert second.exit_code == 0 and second.status == "ok"


def test_a_missing_smtp_password_is_a_setup_to_fix_exit_2_not_undelivered(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Exit 3 tells cron "undelivered, the next run sends it"; no run will while the variable is
    # empty, so it is 2 (cannot run: fix the setup), as `remind` says.
    monkeypatch.delenv("TOOLKIT_TEST_NO_PASSWORD", raising=False)
    config = load_config(project(tmp_path, smtp_port=free_port(), extra={
        ("mail", "security"): '"starttls"', ("mail", "username"): '"bot@example.com"',
        ("mail", "password_env"): '"TOOLKIT_TEST_NO_PASSWORD"'}))
    result = job(config)
    assert ("reminders", "failed") in [(s.name, s.status) for s in result.stages]
    assert result.exit_code == 2
    assert "TOOLKIT_TEST_NO_PASSWORD" in result.errors[0]
    assert result.documents["created"] > 0


def test_a_dead_mail_server_does_not_stop_the_documents(tmp_path: Path) -> None:
    config = load_config(project(tmp_path, smtp_port=free_port()))  # nothing listens there
    result = job(config)
    assert result.documents["created"] > 0
    assert result.findings["error"] > 0
    assert [(s.name, s.status) for s in result.stages] == [
        ("read", "ok"), ("validate", "ok"), ("documents", "ok"), ("reminders", "failed")]
    assert result.status == "partial"
    assert result.exit_code == 3
    assert len(result.errors) == 1 and result.errors[0].startswith("reminders not sent: ")
    text = result.to_text("en")
    assert "reminders: failed (see Problems below)" in text
    assert f"Problems:\n  - {result.errors[0]}" in text
    record = RunHistory(config.state_path).get(result.run_id)
    assert record is not None and record.status == "partial" and record.errors == result.errors
    assert record.counts["documents_created"] == result.documents["created"]
    # The digests that could not go are counted, not shown as zeros.
    assert result.reminders["failed"] == 13 and result.reminders["sent"] == 0
    assert record.counts["reminders_failed"] == 13


def test_undelivered_messages_exit_3_and_the_next_run_sends_them(tmp_path: Path) -> None:
    handler = RecordingHandler(drop_after=0, drops=None, drop_mode="421")
    with SmtpServer(handler) as server:
        config = load_config(project(tmp_path, smtp_port=server.port))
        first = job(config)
        failed = first.reminders["failed"]
        assert failed > 0 and first.reminders["sent"] == 0
        assert first.exit_code == 3
        assert first.status == "partial"
        assert first.errors[0] == (f"{failed} reminder message(s) could not be delivered; the next run "
                                   f"sends them again")
        assert len(first.errors) == 1 + min(failed, 10) + (failed > 10)
        assert "421 4.3.2 Service shutting down, try later" in first.errors[1]
        handler.drop_after = None  # the server recovers
        second = job(config, NOW + dt.timedelta(hours=1))
        assert second.exit_code == 0
        assert second.reminders["sent"] == len(handler.received) > 0


def test_an_unreadable_register_fails_the_run_with_a_clear_message(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    config = project(tmp_path)
    (tmp_path / "examples" / "complaint-register.xlsx").write_bytes(b"not a workbook at all")
    assert main(["run", "--config", str(config), "--today", "2026-11-20"]) == 2
    out = capsys.readouterr().out
    assert out.startswith("Daily job for 2026-11-20 (failed)\n")
    assert "validation: not run (the register could not be read)" in out
    assert "documents: not run (the register could not be read)" in out
    assert "reminders: not run (the register could not be read)" in out
    assert "complaint-register.xlsx" in out.split("Problems:")[1]
    record = RunHistory(tmp_path / "output" / "state.sqlite").recent()[0]
    assert record.status == "failed"
    assert record.errors and "complaint-register.xlsx" in record.errors[0]
    assert record.register_sha256 == ""
    assert not (tmp_path / "output" / "outbox").exists()


def test_a_broken_template_stops_documents_but_not_reminders(tmp_path: Path) -> None:
    bad = tmp_path / "broken.docx"
    bad.write_bytes(b"this is not a docx")
    config = load_config(project(tmp_path, extra={("documents", "feedback_template"): f'"{bad}"'}))
    result = job(config)
    documents = next(s for s in result.stages if s.name == "documents")
    assert documents.status == "failed" and "broken.docx" in documents.error
    assert result.reminders["sent"] > 0
    assert result.exit_code == 2
    assert result.status == "partial"


def test_json_output_is_the_library_result_and_matches_the_run_record(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    config = project(tmp_path)
    assert main(["run", "--config", str(config), "--today", "2026-11-20", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"run_id", "today", "started", "finished", "seconds", "trigger", "status",
                         "exit_code", "register", "rows", "findings", "documents", "reminders", "weekly", "dashboard",
                         "stages", "notes", "superseded", "errors"}
    assert data["status"] == "ok" and data["exit_code"] == 0 and data["trigger"] == "run"
    record = RunHistory(tmp_path / "output" / "state.sqlite").get(data["run_id"])
    assert record is not None
    assert record.counts["rows"] == data["rows"] == 60
    assert record.counts["reminders_sent"] == data["reminders"]["sent"]
    assert record.register_sha256 == data["register"]["sha256"]
    assert record.started_at.isoformat(timespec="seconds") == data["started"]


def test_chinese_summary_is_the_default(tmp_path: Path) -> None:
    config = load_config(project(tmp_path, language="zh"))
    text = job(config).to_text(config.language)
    assert text.startswith("每日任务 2026-11-20（完成）\n台账：")
    assert "读取行数：60" in text


def test_quick_start_runs_from_the_project_folder(tmp_path: Path) -> None:
    # What the README's quick start does: `complaint-toolkit run` beside the shipped config.toml.
    project(tmp_path, language="zh")
    shutil.copy(ROOT / "config.toml", tmp_path / "config.toml")
    done = subprocess.run([sys.executable, "-m", "toolkit", "run", "--today", "2026-11-20"], cwd=tmp_path,
                          capture_output=True, text=True, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("每日任务 2026-11-20（完成）")
    assert any((tmp_path / "output" / "outbox").iterdir())
    assert (tmp_path / "output" / "logs" / "complaint-toolkit.log").exists()


def test_the_weekly_report_goes_out_once_per_weekly_slot(tmp_path: Path) -> None:
    config = load_config(project(tmp_path, extra={("reports", "weekly"): '"fri 08:30"'}))  # 2026-11-20 is a Friday
    outbox = tmp_path / "output" / "outbox"
    workbook = tmp_path / "output" / "reports" / "complaint-statistics.xlsx"

    def weekly_mails() -> int:
        return len([p for p in outbox.iterdir() if "weekly-report" in p.name])

    # Never sent: last week's slot counts as missed, so the first run sends it.
    first = job(config, dt.datetime(2026, 11, 20, 8, 0))
    assert first.exit_code == 0, first.errors
    assert first.weekly == f"sent to quality.manager@example.com (workbook {workbook})"
    assert f"Weekly report: sent to quality.manager@example.com (workbook {workbook})" in first.to_text("en")
    assert weekly_mails() == 1 and workbook.exists()
    # Before this week's slot: nothing; after it: once; later that day: nothing.
    assert job(config, dt.datetime(2026, 11, 20, 8, 20)).weekly == ""
    assert job(config, dt.datetime(2026, 11, 20, 9, 0)).weekly.startswith("sent to ")
    later = job(config, dt.datetime(2026, 11, 20, 11, 0))
    assert later.weekly == "" and "weekly" not in [s.name for s in later.stages]
    assert weekly_mails() == 2


def test_a_weekly_report_mail_that_fails_once_is_retried_and_one_that_cannot_go_exits_3(
        tmp_path: Path) -> None:
    # Every reminder goes first; the weekly mail is the last message of the run. The server
    # answers that one with 421 once: the delivery stage retries on a new session.
    weekly = {("reports", "weekly"): '"fri 08:30"', ("mail", "retry_delay"): "0.01"}
    for name in ("count", "retry", "dead"):
        (tmp_path / name).mkdir()
    with SmtpServer() as probe:
        config = load_config(project(tmp_path / "count", smtp_port=probe.port, extra=weekly))
        assert job(config).exit_code == 0
    reminders = len(probe.handler.received) - 1
    handler = RecordingHandler(drop_after=reminders, drops=1, drop_mode="421")
    with SmtpServer(handler) as server:
        path = project(tmp_path / "retry", smtp_port=server.port, extra=weekly)
        config = load_config(path)
        config.mail.retries = 2
        result = job(config)
    assert result.exit_code == 0, result.errors
    assert result.weekly.startswith("sent to quality.manager@example.com")
    assert handler.dropped == 1
    assert sum(1 for r in handler.received if "weekly" in r.message["Message-ID"]) == 1

    # A server that is down for the weekly mail: undelivered (exit 3), not "unexpected error".
    dead = load_config(project(tmp_path / "dead", smtp_port=free_port(), extra=weekly))
    down = job(dead)
    assert down.exit_code == 3, down.errors
    assert not any("unexpected" in e for e in down.errors)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the helper processes are forked on Linux only")
def test_the_dashboard_is_the_same_from_helper_processes_as_from_the_run_itself(tmp_path: Path) -> None:
    """[limits] helper_processes 2 (figures and findings workbook each in a forked child), 1 (the
    default on two cores: the figures, then the workbook, in one child) and 0 (all in the run's
    own process) give the same page figures, the same findings workbook and the same run. Each
    run is a fresh `run` command, so it really forks."""
    from openpyxl import load_workbook

    pages = {}
    for helpers in (2, 1, 0):
        folder = tmp_path / f"helpers-{helpers}"
        folder.mkdir()
        config = project(folder)
        with config.open("a", encoding="utf-8") as out:
            out.write(f"\n[limits]\nhelper_processes = {helpers}\n")
        done = subprocess.run([sys.executable, "-m", "toolkit", "run", "--config", str(config), "--today",
                               TODAY.isoformat(), "--format", "json"], capture_output=True, text=True,
                              cwd=folder, timeout=300)
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        output = folder / "output"
        # The figures as kept beside the page: a magic line, the key line, the pickle.
        stats = pickle.loads((output / ".dashboard-figures.pickle").read_bytes().split(b"\n", 2)[2])
        stats = dataclasses.replace(stats, register_path="")  # each run has its own folder
        workbook = load_workbook(output / "register-findings.xlsx", read_only=True)
        cells = {ws.title: [tuple(c.value for c in row) for row in ws.iter_rows()] for ws in workbook.worksheets}
        workbook.close()
        page = (output / "dashboard.html").read_text(encoding="utf-8")
        pages[helpers] = (result["findings"], result["documents"], result["reminders"], stats, cells,
                          "overdue" in page and "id=\"action\"" in page)
    assert pages[2] == pages[1] == pages[0]
    assert pages[2][3].totals["rows_read"] > 0


def test_documents_whose_records_cannot_be_written_fail_the_stage_with_what_to_do(tmp_path: Path) -> None:
    """When the documents stage cannot write its records (here a folder stands where the last
    run's outcome goes), the stage is reported failed with what to do, not as an unexpected
    error; the reminders still go out; once the folder is gone the next run finds every
    document up to date (the manifest was written first)."""
    from toolkit.documents.manifest import MANIFEST_NAME, SNAPSHOT_NAME

    config = load_config(project(tmp_path))
    blocker = config.documents_dir / SNAPSHOT_NAME
    blocker.mkdir(parents=True)
    (blocker / "kept.txt").write_text("a folder in the way", encoding="utf-8")
    result = job(config)
    assert [s.name for s in result.stages] == ["read", "validate", "documents", "reminders"]
    documents = result.stages[2]
    assert documents.status == "failed" and str(blocker) in documents.error
    assert "could not be written" in documents.error and "unexpected" not in documents.error
    assert result.reminders["sent"] > 0 and result.exit_code == 2
    assert list(config.documents_dir.rglob("*.docx")) and (config.documents_dir / MANIFEST_NAME).is_file()
    assert not list(config.documents_dir.glob(".*.tmp"))
    shutil.rmtree(blocker)
    again = job(config, now=NOW + dt.timedelta(hours=1))
    assert again.exit_code == 0 and again.documents["created"] == again.documents["updated"] == 0
    assert (config.documents_dir / SNAPSHOT_NAME).is_file()
