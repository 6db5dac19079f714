"""Run history: what a run record keeps, interrupted runs, slot checks, the history command."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from toolkit.cli import main
from toolkit.history import RunHistory, render_text
from toolkit.reminders import ReminderItem
from toolkit.state import Ledger

D = dt.datetime
DAY = dt.date(2026, 11, 20)


def finished_run(store: RunHistory, started: dt.datetime, status: str = "ok", **kwargs: object) -> int:
    run_id = store.start(started=started, run_date=started.date(), trigger="run")
    store.finish(run_id, finished=started + dt.timedelta(seconds=2.5), status=status, **kwargs)  # type: ignore[arg-type]
    return run_id


def test_a_run_is_recorded_at_start_and_completed_at_the_end(tmp_path: Path) -> None:
    store = RunHistory(tmp_path / "state.sqlite")
    run_id = store.start(started=D(2026, 11, 20, 9, 0), run_date=DAY, trigger="schedule")
    running = store.get(run_id)
    assert running is not None and running.status == "running" and running.finished_at is None
    store.finish(run_id, finished=D(2026, 11, 20, 9, 0, 3), status="partial",
                 register_path="/srv/台账.xlsx", register_sha256="ab" * 32, register_size=1234,
                 counts={"rows": 60, "error": 2}, errors=["提醒未发出:连接被拒绝"])
    record = store.get(run_id)
    assert record is not None
    assert record.to_dict() == {
        "id": run_id, "started_at": "2026-11-20T09:00:00", "finished_at": "2026-11-20T09:00:03",
        "run_date": "2026-11-20", "trigger": "schedule", "status": "partial", "pid": record.pid,
        "register_path": "/srv/台账.xlsx", "register_sha256": "ab" * 32, "register_size": 1234,
        "counts": {"rows": 60, "error": 2}, "errors": ["提醒未发出:连接被拒绝"],
    }
    assert record.seconds == 3.0
    with pytest.raises(ValueError, match="status must be ok, partial, failed or interrupted"):
        store.finish(run_id, finished=D(2026, 11, 20, 9, 1), status="running")


def test_recent_is_newest_first_and_limited(tmp_path: Path) -> None:
    store = RunHistory(tmp_path / "state.sqlite")
    assert store.recent() == []
    assert not (tmp_path / "state.sqlite").exists()  # reading an absent history creates nothing
    ids = [finished_run(store, D(2026, 11, d, 9, 0)) for d in (18, 20, 19)]
    assert [r.id for r in store.recent(2)] == [ids[1], ids[2]]


def test_a_run_whose_process_is_gone_shows_as_interrupted(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    store = RunHistory(tmp_path / "state.sqlite")
    run_id = store.start(started=D(2026, 11, 20, 9, 0), run_date=DAY)
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE runs SET pid = ? WHERE id = ?", (proc.pid, run_id))
    assert store.recent()[0].status == "interrupted"
    # This process's own run in progress is still running.
    mine = store.start(started=D(2026, 11, 20, 10, 0), run_date=DAY)
    assert store.get(mine).status == "running"  # type: ignore[union-attr]


def test_last_success_since_counts_ok_and_partial_runs_at_or_after_the_slot(tmp_path: Path) -> None:
    store = RunHistory(tmp_path / "state.sqlite")
    slot = D(2026, 11, 20, 9, 0)
    assert store.last_success_since(slot) is None
    finished_run(store, D(2026, 11, 20, 8, 59, 59))
    finished_run(store, D(2026, 11, 20, 9, 30), status="failed")
    assert store.last_success_since(slot) is None
    partial = finished_run(store, D(2026, 11, 20, 9, 0), status="partial")
    assert store.last_success_since(slot).id == partial  # type: ignore[union-attr]
    # An aware timestamp (a run recorded with a time zone) compares with a naive slot.
    store2 = RunHistory(tmp_path / "other.sqlite")
    aware = D(2026, 11, 20, 9, 5).astimezone()
    finished_run(store2, aware)
    assert store2.last_success_since(slot) is not None


def test_history_shares_the_state_file_with_the_ledger(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    item = ReminderItem("KS-1", "reply", DAY, 1, 1, "台账", 3, "客户", "138****8000", "李明", "客服部", False)
    with Ledger(path) as ledger:
        ledger.record("email", "li@example.com", [item], DAY, D(2026, 11, 20, 9, 0))
    store = RunHistory(path)
    finished_run(store, D(2026, 11, 20, 9, 0))
    with Ledger(path) as ledger:
        assert len(ledger.rows()) == 1
    assert len(store.recent()) == 1


def test_render_text_english_table(tmp_path: Path) -> None:
    store = RunHistory(tmp_path / "state.sqlite")
    finished_run(store, D(2026, 11, 20, 9, 0), status="partial", register_path="/srv/reg.xlsx",
                 register_sha256="0123456789abcdef" * 4, register_size=17386,
                 counts={"rows": 60, "error": 11, "documents_created": 70, "documents_skipped": 12,
                         "reminders_sent": 12, "reminders_failed": 1},
                 errors=["1 reminder message(s) could not be delivered; the next run sends them again"])
    text = render_text(store.recent(), "en")
    assert text.splitlines() == [
        "#  Started              Took  Status   Trigger  Rows  Err/Warn/Note  Docs new/upd/same/skip"
        "  Mail sent/failed/before",
        "1  2026-11-20 09:00:00  2.5s  partial  run      60    11/0/0         70/0/0/12"
        "               12/1/0",
        "    register /srv/reg.xlsx (17386 bytes, sha256 0123456789ab)",
        "    ! 1 reminder message(s) could not be delivered; the next run sends them again",
    ]


def test_history_command_text_json_and_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[output]\ndir = "out"\n[register]\nlanguage = "en"\n', encoding="utf-8")
    assert main(["history", "--config", str(config)]) == 0
    assert capsys.readouterr().out == (
        f"No runs recorded yet ({tmp_path / 'out' / 'state.sqlite'}). Each complaint-toolkit run adds one.\n")
    store = RunHistory(tmp_path / "out" / "state.sqlite")
    for day in (18, 19, 20):
        finished_run(store, D(2026, 11, day, 9, 0), counts={"rows": day})
    assert main(["history", "--config", str(config), "--limit", "2", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["counts"]["rows"] for r in data] == [20, 19]
    assert data == [r.to_dict() for r in store.recent(2)]
    assert main(["history", "--config", str(config), "--limit", "1"]) == 0
    out = capsys.readouterr().out
    assert "2026-11-20 09:00:00" in out and "2026-11-19" not in out


def test_history_limit_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["history", "--limit", "0"])
    assert info.value.code == 2
    assert "参数 --limit：“0”不是正整数，例如 --limit 20" in capsys.readouterr().err
