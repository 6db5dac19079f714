"""The ledger of sent reminders: what counts as already sent, and what the file keeps."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from toolkit.errors import ToolkitError
from toolkit.reminders import CannotRemind, ReminderItem
from toolkit.state import Ledger

TODAY = dt.date(2026, 11, 23)
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def item(cid: str = "KS-1", *, kind: str = "reply", level: int = 1, days: int = 1,
         due: dt.date | None = None) -> ReminderItem:
    return ReminderItem(cid, kind, due or TODAY - dt.timedelta(days=days), days, level, "台账", 3,
                        "客户", "138****8000", "李明", "客服部", False)


def test_recorded_items_are_not_sent_again_the_same_day(tmp_path: Path) -> None:
    a, b = item("KS-1"), item("KS-2")
    with Ledger(tmp_path / "state.sqlite") as ledger:
        assert ledger.unsent("email", "li@example.com", [a, b], TODAY, 1) == [a, b]
        ledger.record("email", "li@example.com", [a], TODAY, NOW)
        assert ledger.unsent("email", "li@example.com", [a, b], TODAY, 1) == [b]
        # Recipients are compared case-insensitively; another recipient is separate.
        assert ledger.unsent("email", "LI@Example.com", [a, b], TODAY, 1) == [b]
        assert ledger.unsent("email", "head@example.com", [a, b], TODAY, 1) == [a, b]


def test_daily_repeat_while_overdue(tmp_path: Path) -> None:
    a = item()
    with Ledger(tmp_path / "state.sqlite") as ledger:
        ledger.record("email", "li@example.com", [a], TODAY, NOW)
        tomorrow = TODAY + dt.timedelta(days=1)
        assert ledger.unsent("email", "li@example.com", [a], tomorrow, 1) == [a]
        # Every 3 days: not again until the third day after.
        assert ledger.unsent("email", "li@example.com", [a], TODAY + dt.timedelta(days=2), 3) == []
        assert ledger.unsent("email", "li@example.com", [a], TODAY + dt.timedelta(days=3), 3) == [a]
        # 0: once per level, never repeated.
        assert ledger.unsent("email", "li@example.com", [a], TODAY + dt.timedelta(days=30), 0) == []


def test_level_rise_is_a_new_reminder(tmp_path: Path) -> None:
    due = TODAY - dt.timedelta(days=3)
    with Ledger(tmp_path / "state.sqlite") as ledger:
        ledger.record("email", "li@example.com", [item(level=1, due=due)], TODAY, NOW)
        risen = item(level=2, due=due)
        assert ledger.unsent("email", "li@example.com", [risen], TODAY, 1) == [risen]


def test_heads_up_is_sent_once_per_due_date(tmp_path: Path) -> None:
    due = TODAY + dt.timedelta(days=1)
    heads_up = item(level=0, days=-1, due=due)
    with Ledger(tmp_path / "state.sqlite") as ledger:
        ledger.record("email", "li@example.com", [heads_up], TODAY - dt.timedelta(days=5), NOW)
        assert ledger.unsent("email", "li@example.com", [heads_up], TODAY, 1) == []
        moved = item(level=0, days=-1, due=due + dt.timedelta(days=7))
        assert ledger.unsent("email", "li@example.com", [moved], TODAY, 1) == [moved]


def test_cannot_remind_rows_follow_the_same_cadence(tmp_path: Path) -> None:
    rows = [CannotRemind("KS-9", "台账", 9, "reply", "no address"),
            CannotRemind("", "台账", 12, "followup", "no date")]
    with Ledger(tmp_path / "state.sqlite") as ledger:
        ledger.record("email", "qm@example.com", rows[:1], TODAY, NOW)
        assert ledger.unsent_cannot_remind("email", "qm@example.com", rows, TODAY, 1) == rows[1:]
        ledger.record("email", "qm@example.com", rows[1:], TODAY, NOW)
        assert ledger.unsent_cannot_remind("email", "qm@example.com", rows, TODAY, 1) == []
        assert [r["complaint_id"] for r in ledger.rows()] == ["KS-9", "台账!12"]


def test_file_is_wal_and_keeps_other_tables(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE run_history (id INTEGER PRIMARY KEY, note TEXT)")
        conn.execute("INSERT INTO run_history (note) VALUES ('kept')")
    conn.close()
    with Ledger(path) as ledger:
        ledger.record("email", "li@example.com", [item()], TODAY, NOW)
        assert ledger.rows() == [{
            "channel": "email", "message_id": "", "complaint_id": "KS-1", "kind": "reply", "due": "2026-11-22", "level": 1,
            "recipient": "li@example.com", "sent_day": "2026-11-23", "sent_at": "2026-11-23T09:00:00+08:00",
        }]
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT note FROM run_history").fetchall() == [("kept",)]
    conn.close()


def test_read_only_ledger_creates_nothing_and_records_nothing(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "state.sqlite"
    with Ledger(path, readonly=True) as ledger:
        assert ledger.unsent("email", "li@example.com", [item()], TODAY, 1) == [item()]
        with pytest.raises(ToolkitError, match="以只读方式打开"):
            ledger.record("email", "li@example.com", [item()], TODAY, NOW)
    assert not path.parent.exists()
    with Ledger(path) as ledger:
        ledger.record("email", "li@example.com", [item()], TODAY, NOW)
    with Ledger(path, readonly=True) as ledger:
        assert ledger.unsent("email", "li@example.com", [item()], TODAY, 1) == []


def test_unwritable_place_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ToolkitError, match=r"无法打开状态文件 .*\[state\] path"):
        Ledger(blocker / "state.sqlite")
