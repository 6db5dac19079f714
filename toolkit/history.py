"""Run history: one row per run of the main job, the audit trail staff and auditors read.

Rows live in the ``runs`` table of the state database (``config.state_path``, the same SQLite
file as the reminder ledger). A run is recorded when it starts (status ``running``) and
updated when it ends (``ok``, ``partial`` or ``failed``), so a run killed half-way stays
visible as ``running`` and is shown as *interrupted* once no process holds the lock.

>>> store = RunHistory(Path("output/state.sqlite"))              # doctest: +SKIP
>>> run_id = store.start(started=now, trigger="run")            # doctest: +SKIP
>>> store.finish(run_id, finished=later, status="ok", ...)      # doctest: +SKIP
>>> store.recent(limit=10)                                       # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import sqlite3
import unicodedata
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import StateError
from .fsutil import pid_alive
from .i18n import Messages, translate

_ERRORS: Messages = {
    "open": {"zh": "无法打开状态数据库 {path}：{error}。请确认该文件夹存在且可写，或在 config.toml 中设置 [state].path。",
             "en": "cannot open the state database {path}: {error}. Check that the folder exists and is "
                   "writable, or set [state].path in config.toml."},
    "unwritable": {"zh": "无法写入状态数据库 {path}：{error}。请检查该文件和文件夹是否可写（网络盘是否只读、"
                         "磁盘是否已满）；不要删除它，其中记录着已发送的提醒。",
                   "en": "cannot write the state database {path}: {error}. Check that the file and its folder "
                         "are writable (a read-only share, a full disk); do not delete it: it records the "
                         "reminders already sent."},
    "damaged": {"zh": "状态数据库 {path} 无法使用：{error}。如果它已损坏，请把它移到别处，工具会新建一个"
                      "（已发送过的提醒会再发一次）。",
                "en": "the state database {path} cannot be used: {error}. If it is damaged, move it aside; the "
                      "toolkit starts a new one (reminders already sent will be sent again)."},
}

#: SQLite's words for a file it may not write, as opposed to one it cannot make sense of.
_UNWRITABLE = re.compile(r"readonly|read-only|unable to open|disk is full|disk I/O error|permission", re.I)

OK, PARTIAL, FAILED, RUNNING, INTERRUPTED = "ok", "partial", "failed", "running", "interrupted"
STATUSES = (OK, PARTIAL, FAILED, RUNNING, INTERRUPTED)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at      TEXT NOT NULL,
    finished_at     TEXT,
    run_date        TEXT NOT NULL,
    trigger         TEXT NOT NULL,
    status          TEXT NOT NULL,
    pid             INTEGER NOT NULL,
    register_path   TEXT NOT NULL DEFAULT '',
    register_sha256 TEXT NOT NULL DEFAULT '',
    register_size   INTEGER,
    counts          TEXT NOT NULL DEFAULT '{}',
    errors          TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS runs_started ON runs (started_at);
CREATE TABLE IF NOT EXISTS weekly_reports (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    sent_at   TEXT NOT NULL,
    recipient TEXT NOT NULL,
    run_id    INTEGER
);
"""


@dataclass(slots=True)
class RunRecord:
    """One run of the main job as recorded."""

    id: int
    started_at: dt.datetime
    finished_at: dt.datetime | None
    run_date: dt.date  # the ``today`` the run compared deadlines against
    trigger: str  # "run" | "schedule" | "catch-up"
    status: str  # ok | partial | failed | running | interrupted (running, its process gone)
    pid: int
    register_path: str = ""
    register_sha256: str = ""
    register_size: int | None = None
    #: Flat counts, e.g. {"rows": 120, "error": 3, "created": 2, "sent": 4, ...}
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat(timespec="seconds")
        data["finished_at"] = self.finished_at.isoformat(timespec="seconds") if self.finished_at else None
        data["run_date"] = self.run_date.isoformat()
        return data


class RunHistory:
    """The ``runs`` table of one state database. Opens a short connection per call, so the
    reminder ledger in the same file is never blocked for long."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunHistory({str(self.path)!r})"

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30)
        except (OSError, sqlite3.Error) as exc:
            raise StateError.translated(_ERRORS, "open", path=self.path, error=exc) from exc
        try:
            with conn:
                conn.executescript(_SCHEMA)
                yield conn
        except sqlite3.DatabaseError as exc:
            # A file that cannot be written (read-only share, no permission, full disk) is not a
            # damaged one: moving it aside, as "damaged" advises, would send every reminder again.
            key = "unwritable" if _UNWRITABLE.search(str(exc)) else "damaged"
            raise StateError.translated(_ERRORS, key, path=self.path, error=exc) from exc
        finally:
            conn.close()

    def start(self, *, started: dt.datetime, run_date: dt.date, trigger: str = "run") -> int:
        """Record that a run began; returns its id."""
        with self._connect() as conn:
            cur = conn.execute(
                "INSERT INTO runs (started_at, run_date, trigger, status, pid) VALUES (?, ?, ?, ?, ?)",
                (started.isoformat(), run_date.isoformat(), trigger, RUNNING, os.getpid()),
            )
            return int(cur.lastrowid or 0)

    def finish(
        self,
        run_id: int,
        *,
        finished: dt.datetime,
        status: str,
        register_path: str = "",
        register_sha256: str = "",
        register_size: int | None = None,
        counts: dict[str, int] | None = None,
        errors: list[str] | None = None,
    ) -> None:
        """Record how a run ended (``interrupted``: stopped by Ctrl-C or a signal before it was
        done; never counted as the day's run by the catch-up)."""
        if status not in (OK, PARTIAL, FAILED, INTERRUPTED):
            raise ValueError(f"status must be ok, partial, failed or interrupted, not {status!r}")
        with self._connect() as conn:
            conn.execute(
                "UPDATE runs SET finished_at = ?, status = ?, register_path = ?, register_sha256 = ?, "
                "register_size = ?, counts = ?, errors = ? WHERE id = ?",
                (finished.isoformat(), status, register_path, register_sha256, register_size,
                 json.dumps(counts or {}, ensure_ascii=False), json.dumps(errors or [], ensure_ascii=False),
                 run_id),
            )

    def recent(self, limit: int = 20) -> list[RunRecord]:
        """The last ``limit`` runs, newest first."""
        if not self.path.exists():
            return []
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT * FROM runs ORDER BY started_at DESC, id DESC LIMIT ?", (max(0, limit),)
            ).fetchall()
        return [_record(row) for row in rows]

    def get(self, run_id: int) -> RunRecord | None:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return _record(row) if row else None

    def record_weekly(self, *, sent_at: dt.datetime, recipient: str, run_id: int | None = None) -> None:
        """Remember that the weekly report went out (so the next run does not send it again)."""
        with self._connect() as conn:
            conn.execute("INSERT INTO weekly_reports (sent_at, recipient, run_id) VALUES (?, ?, ?)",
                         (sent_at.isoformat(), recipient, run_id))

    def last_weekly(self) -> dt.datetime | None:
        """When the weekly report last went out, or None."""
        if not self.path.exists():
            return None
        with self._connect() as conn:
            rows = conn.execute("SELECT sent_at FROM weekly_reports").fetchall()
        times = [dt.datetime.fromisoformat(row[0]) for row in rows]
        return max(times, key=lambda t: _comparable(t, dt.datetime(2000, 1, 1))) if times else None

    def last_success_since(self, since: dt.datetime) -> RunRecord | None:
        """The latest run that started at or after ``since`` and did not fail (ok or partial:
        it processed the register), or None. Used to tell whether a scheduled slot was missed."""
        if not self.path.exists():
            return None
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT * FROM runs WHERE status IN (?, ?) ORDER BY started_at DESC, id DESC",
                (OK, PARTIAL),
            ).fetchall()
        # Compared as datetimes, not text: an ISO string with seconds and one without sort apart.
        for row in rows:
            record = _record(row)
            if _comparable(record.started_at, since) >= since:
                return record
        return None


def _comparable(value: dt.datetime, other: dt.datetime) -> dt.datetime:
    """Drop or add a time zone so two datetimes compare (the clock may be naive or aware)."""
    if (value.tzinfo is None) == (other.tzinfo is None):
        return value
    if other.tzinfo is None:
        return value.astimezone().replace(tzinfo=None)
    return value.astimezone(other.tzinfo)


def _record(row: tuple[Any, ...]) -> RunRecord:
    (id_, started, finished, run_date, trigger, status, pid, reg_path, sha, size, counts, errors) = row
    if status == RUNNING and not (pid == os.getpid() or pid_alive(pid)):
        status = INTERRUPTED
    return RunRecord(
        id=id_,
        started_at=dt.datetime.fromisoformat(started),
        finished_at=dt.datetime.fromisoformat(finished) if finished else None,
        run_date=dt.date.fromisoformat(run_date),
        trigger=trigger,
        status=status,
        pid=pid,
        register_path=reg_path,
        register_sha256=sha,
        register_size=size,
        counts=json.loads(counts or "{}"),
        errors=json.loads(errors or "[]"),
    )


# -- showing the history --------------------------------------------------------------------------

_MESSAGES: Messages = {
    "empty": {"zh": "还没有运行记录（{path}）。运行 complaint-toolkit run 后这里会有记录。",
              "en": "No runs recorded yet ({path}). Each complaint-toolkit run adds one."},
    "header": {"zh": "编号|开始时间|用时|状态|方式|行数|错误/警告/提示|文档 新建/更新/未变/跳过|提醒 发送/失败/已发",
               "en": "#|Started|Took|Status|Trigger|Rows|Err/Warn/Note|Docs new/upd/same/skip|Mail sent/failed/before"},
    "register": {"zh": "台账 {path}（{size} 字节，sha256 {sha}）", "en": "register {path} ({size} bytes, sha256 {sha})"},
    OK: {"zh": "完成", "en": "ok"},
    PARTIAL: {"zh": "部分完成", "en": "partial"},
    FAILED: {"zh": "失败", "en": "failed"},
    RUNNING: {"zh": "运行中", "en": "running"},
    INTERRUPTED: {"zh": "已中断", "en": "interrupted"},
    "run": {"zh": "手动", "en": "run"},
    "schedule": {"zh": "定时", "en": "schedule"},
    "catch-up": {"zh": "补跑", "en": "catch-up"},
}


def status_words(language: str) -> dict[str, str]:
    """Statuses and triggers in ``language`` (ok → 完成, catch-up → 补跑...)."""
    keys = (*STATUSES, "run", "schedule", "catch-up")
    return {key: translate(_MESSAGES, key, language) for key in keys}


def render_text(records: list[RunRecord], language: str, *, path: Path | None = None) -> str:
    """The history as an aligned table, newest first, with each run's register and errors."""
    def t(key: str, **kw: Any) -> str:
        return translate(_MESSAGES, key, language, **kw) if key in _MESSAGES else key

    if not records:
        return t("empty", path=path or "")
    header = t("header").split("|")
    table: list[list[str]] = []
    for r in records:
        c = r.counts
        took = f"{r.seconds:.1f}s" if r.seconds is not None else "-"
        table.append([
            str(r.id), r.started_at.strftime("%Y-%m-%d %H:%M:%S"), took, t(r.status), t(r.trigger),
            str(c.get("rows", "-")),
            "/".join(str(c.get(k, 0)) for k in ("error", "warning", "note")),
            "/".join(str(c.get(f"documents_{k}", 0)) for k in ("created", "updated", "unchanged", "skipped")),
            "/".join(str(c.get(f"reminders_{k}", 0)) for k in ("sent", "failed", "already-sent")),
        ])
    widths = [max(_width(row[i]) for row in [header, *table]) for i in range(len(header))]
    lines = ["  ".join(_pad(cell, w) for cell, w in zip(header, widths, strict=True)).rstrip()]
    for r, row in zip(records, table, strict=True):
        lines.append("  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if r.register_path:
            size = r.register_size if r.register_size is not None else "?"
            lines.append("    " + t("register", path=r.register_path, size=size, sha=r.register_sha256[:12]))
        lines.extend(f"    ! {error}" for error in r.errors)
    return "\n".join(lines)


def _width(text: str) -> int:
    """Display width: CJK characters take two columns in a terminal."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
