"""The ledger of sent reminders: an SQLite file (``[state] path``, default
``<output>/state.sqlite``) that remembers which reminder went where on which day.

A row is (channel, destination, item, level): the channel is ``email`` (SMTP), ``outbox``,
``wecom``, ``dingtalk`` or ``feishu``; the destination is an address for mail, the name of the
environment variable that holds a group robot's URL for a group (never the URL: it is a secret).
A reminder is recorded when, and only when, the channel accepted the message that carried it,
so a rerun sends nothing twice and a run after a crash or a dead server sends exactly what was
not yet sent. What went to the outbox does not count as sent by SMTP or a robot.

>>> with Ledger(tmp / "state.sqlite") as ledger:                       # doctest: +SKIP
...     fresh = ledger.unsent("email", digest.recipient, digest.items, today, repeat_every_days=1)
...     ledger.record("email", digest.recipient, fresh, today, now)

Ledgers written before channels existed (no ``channel`` column) are migrated in place: their
rows are given the channel the toolkit was configured with when it first opens them
(``legacy_channel``: ``outbox`` or ``email``), which is where those reminders went.

The same file may hold other tables (the run history); this module only creates and reads its
own table and never drops anything.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType

from .errors import StateError
from .i18n import Messages
from .reminders import CannotRemind, ReminderItem

_MESSAGES: Messages = {
    "open": {"zh": "无法打开状态文件 {path}：{error}。请确认该文件夹存在且可写，或在 config.toml 的 [state] path 中改到别处。",
             "en": "cannot open the state file {path}: {error}. Check that the folder exists and is writable, or "
                   "set [state] path in config.toml to another place."},
    "read": {"zh": "无法读取状态文件 {path}：{error}", "en": "cannot read the state file {path}: {error}"},
    "readonly": {"zh": "状态文件 {path} 以只读方式打开，无法记录任何内容。",
                 "en": "the state file {path} is open read-only; nothing can be recorded."},
    "write": {"zh": "无法写入状态文件 {path}：{error}。邮件已发出但未记录，下次运行可能再发一次。请检查磁盘空间和权限。",
              "en": "cannot write the state file {path}: {error}. The message was sent but is not recorded, so "
                    "the next run may send it again. Check disk space and permissions."},
}

#: Level stored for a "cannot remind" row reported to the quality manager (not a reminder level).
CANNOT_REMIND_LEVEL = -1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sent_reminders (
    id           INTEGER PRIMARY KEY,
    channel      TEXT    NOT NULL DEFAULT 'email',  -- email | outbox | wecom | dingtalk | feishu
    complaint_id TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    due          TEXT    NOT NULL,   -- ISO date; '' for a cannot-remind row
    level        INTEGER NOT NULL,   -- 0 heads-up, 1..3 escalation, -1 cannot-remind
    recipient    TEXT    NOT NULL,   -- the destination: lower-cased address, or a group's env var
    sent_day     TEXT    NOT NULL,   -- ISO date of the run's "today"
    sent_at      TEXT    NOT NULL,   -- ISO timestamp the channel accepted the message
    message_id   TEXT    NOT NULL DEFAULT ''  -- the message's stable identity (Message-ID, part id)
);
"""
_INDEX = """
CREATE INDEX IF NOT EXISTS sent_reminders_by_destination
    ON sent_reminders (channel, recipient, sent_day);
"""

#: (complaint_id, kind, due, level): what makes two reminders "the same" for one recipient.
Key = tuple[str, str, str, int]


def item_key(item: ReminderItem | CannotRemind) -> Key:
    """The ledger key of a reminder item or a cannot-remind row."""
    # The planner's ledger_id: the complaint id, or id and row where the id is blank or repeated.
    if isinstance(item, CannotRemind):
        ident = item.ledger_id or item.complaint_id or f"{item.sheet}!{item.row}"
        return (ident, item.kind, "", CANNOT_REMIND_LEVEL)
    return (item.ledger_id or item.complaint_id, item.kind, item.due.isoformat(), item.level)


class Ledger:
    """The sent-reminders table of the state file. Use as a context manager or call close().

    ``readonly=True`` (for ``--dry-run``) opens an existing file without writing; a missing file
    then reads as empty and is not created.
    """

    def __init__(self, path: str | Path, *, readonly: bool = False, timeout: float = 30.0,
                 legacy_channel: str = "email") -> None:
        self.path = Path(path)
        self.readonly = readonly
        self.legacy_channel = legacy_channel
        self._conn: sqlite3.Connection | None = None
        self._cache: dict[tuple[str, str, int], dict[str, set[Key]]] = {}
        self._unmigrated = False
        try:
            if readonly:
                if self.path.exists():
                    self._conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                                 timeout=timeout)
                    if not self._has_table():
                        self.close()
                    else:
                        columns = {r[1] for r in self._conn.execute("PRAGMA table_info(sent_reminders)")}
                        # Not migrated yet (a dry run writes nothing): read it as it is.
                        self._unmigrated = "channel" not in columns
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._conn = sqlite3.connect(self.path, timeout=timeout)
                # WAL: readers (reports, a dry run) never block the sender. NORMAL sync: a power
                # cut can lose the last commits, which means a duplicate reminder, never a lost one.
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
                self._conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
                with self._conn:
                    self._conn.executescript(_SCHEMA)
                    self._migrate()
                    self._conn.executescript(_INDEX)
        except (sqlite3.Error, OSError) as exc:
            self.close()
            raise StateError.translated(_MESSAGES, "open", path=self.path, error=exc) from exc

    def _migrate(self) -> None:
        """Add the columns of later versions to a ledger written by an earlier one."""
        assert self._conn is not None
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(sent_reminders)")}
        if "channel" not in columns:
            # Rows from before channels went where [mail] transport sent them then; the caller
            # passes that transport, so switching it later sends the current items once.
            self._conn.execute("ALTER TABLE sent_reminders ADD COLUMN channel TEXT NOT NULL "
                               "DEFAULT 'email'")
            self._conn.execute("UPDATE sent_reminders SET channel = ?", (self.legacy_channel,))
        if "message_id" not in columns:
            self._conn.execute("ALTER TABLE sent_reminders ADD COLUMN message_id TEXT NOT NULL "
                               "DEFAULT ''")
        self._conn.execute("DROP INDEX IF EXISTS sent_reminders_by_recipient")

    # -- queries ----------------------------------------------------------------------------

    def unsent(self, channel: str, destination: str, items: Sequence[ReminderItem], today: dt.date,
               repeat_every_days: int) -> list[ReminderItem]:
        """The items not yet sent through ``channel`` to ``destination`` in the current repeat period.

        An item counts as sent when the ledger has the same complaint, kind, due date and level
        for this channel and destination with ``sent_day > today - repeat_every_days`` (0: never
        repeated at the same level). A heads-up (level 0) is sent once per due date. A level
        rise is new.
        """
        seen = self._seen(channel, destination, today, repeat_every_days)
        if not seen:
            return list(items)
        # item_key inlined: a run with nothing to send asks this for every planned item.
        return [item for item in items
                if (item.ledger_id or item.complaint_id, item.kind, item.due.isoformat(), item.level)
                not in seen]

    def unsent_cannot_remind(self, channel: str, destination: str, rows: Sequence[CannotRemind],
                             today: dt.date, repeat_every_days: int) -> list[CannotRemind]:
        """Cannot-remind rows not yet reported there in the current repeat period."""
        seen = self._seen(channel, destination, today, repeat_every_days)
        if not seen:
            return list(rows)
        return [row for row in rows if item_key(row) not in seen]

    def _seen(self, channel: str, destination: str, today: dt.date, repeat_every_days: int) -> set[Key]:
        if self._conn is None:
            return set()
        # One query per channel and run, not one per destination: a run with nothing to send
        # asks about every digest (a thousand handlers) and must stay quick.
        period = (channel, today.isoformat(), repeat_every_days)
        by_destination = self._cache.get(period)
        if by_destination is None:
            by_destination = self._cache[period] = self._load(channel, today, repeat_every_days)
        return by_destination.get(normalize_recipient(destination), set())

    def _load(self, channel: str, today: dt.date, repeat_every_days: int) -> dict[str, set[Key]]:
        assert self._conn is not None
        if self._unmigrated and channel != self.legacy_channel:
            return {}
        # An unmigrated ledger (a dry run reads it as it is) has no channel column: every row
        # is the legacy channel's.
        where = "1 = 1" if self._unmigrated else "channel = ?"
        args: tuple[str, ...] = () if self._unmigrated else (channel,)
        try:
            sql = f"SELECT recipient, complaint_id, kind, due, level FROM sent_reminders WHERE {where}"
            if repeat_every_days > 0:
                sql += " AND (sent_day > ? OR level = 0)"
                args = (*args, (today - dt.timedelta(days=repeat_every_days)).isoformat())
            out: dict[str, set[Key]] = {}
            # Rows come grouped by nothing in particular; one dict look-up per row, the key
            # tuple sliced off the row (the fewest Python objects per row).
            for row in self._conn.execute(sql, args).fetchall():
                who = row[0]
                seen = out.get(who)
                if seen is None:
                    seen = out[who] = set()
                seen.add(row[1:])
            return out
        except sqlite3.Error as exc:
            raise StateError.translated(_MESSAGES, "read", path=self.path, error=exc) from exc

    def rows(self) -> list[dict[str, object]]:
        """Every recorded reminder, oldest first (for tests and reports)."""
        if self._conn is None:
            return []
        cur = self._conn.execute(
            "SELECT channel, complaint_id, kind, due, level, recipient, sent_day, sent_at, message_id "
            "FROM sent_reminders ORDER BY id")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur]

    # -- writes -----------------------------------------------------------------------------

    def record(self, channel: str, destination: str, items: Iterable[ReminderItem | CannotRemind],
               sent_day: dt.date, sent_at: dt.datetime, message_id: str = "") -> None:
        """Record that the message carrying ``items`` was accepted: one transaction."""
        if self._conn is None or self.readonly:
            raise StateError.translated(_MESSAGES, "readonly", path=self.path)
        who = normalize_recipient(destination)
        day, at = sent_day.isoformat(), sent_at.isoformat(timespec="seconds")
        keys = [item_key(item) for item in items]
        try:
            with self._conn:
                self._conn.executemany(
                    "INSERT INTO sent_reminders "
                    "(channel, complaint_id, kind, due, level, recipient, sent_day, sent_at, message_id) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(channel, *key, who, day, at, message_id) for key in keys])
        except sqlite3.Error as exc:
            raise StateError.translated(_MESSAGES, "write", path=self.path, error=exc) from exc
        for (chan, _, _), by_destination in self._cache.items():
            if chan == channel:
                by_destination.setdefault(who, set()).update(keys)

    # -- lifecycle --------------------------------------------------------------------------

    def _has_table(self) -> bool:
        assert self._conn is not None
        found = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sent_reminders'").fetchone()
        return found is not None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "read-only" if self.readonly else "read-write"
        return f"<Ledger {self.path} ({mode})>"


def normalize_recipient(address: str) -> str:
    """Destinations are compared case-insensitively (staff type addresses in either case)."""
    return address.strip().lower()
