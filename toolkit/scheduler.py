"""The long-running scheduler: run the main job at the configured times on working days.

>>> sched = DailyScheduler.from_config(config, job=my_job, clock=clock, sleep=sleep)  # doctest: +SKIP
>>> sched                                                                          # doctest: +SKIP
<Every working day at 09:00 run the daily job (last run: never, next run: 2026-11-23 09:00)>
>>> sched.run()          # until stop() is called (SIGINT/SIGTERM do that)         # doctest: +SKIP

What it promises, beyond the ``schedule`` package it builds on:

- **Days.** With ``[schedule] workdays_only = true`` (the default) the working-day calendar of
  ``[calendar]`` decides, the same one the reminders count with: public holidays are skipped,
  weekend days made working days (调休) and ``extra_workdays`` are run, and ``days`` is not
  used. With ``workdays_only = false``, ``days`` decides (default Monday-Friday).
- **Job errors.** A job that raises is logged with its traceback and the scheduler goes on.
- **Missed runs.** A slot counts as done when the run history has a run that processed the
  register (ok or partial) started at or after the slot's time that day. On start, on every
  tick, and after the machine wakes from sleep (the wall clock jumps ahead between two ticks),
  if the *latest* slot of today that has passed is not done, the job runs once, not once per
  missed slot. Slots of earlier days are not caught up: today's run covers them (reminders
  count overdue days from today, documents are regenerated from the register).
- **Stopping.** :meth:`stop` (called by the SIGINT/SIGTERM handlers) ends the loop between
  jobs within about a second: the loop sleeps in short slices. A job in progress is finished;
  a second Ctrl-C stops at once, and the next run completes what was left (documents are
  written atomically, the reminder ledger records each message as it is accepted).

Why the due-slot logic is ours and not ``schedule.run_pending()``: ``schedule`` reads
``datetime.datetime.now()`` inside ``Job.should_run`` and ``Job._schedule_next_run`` and keeps
no state across restarts, so it cannot be told the time (tests would have to patch the clock)
and cannot know about a run missed while the process was down. We use it for what it does
well: parsing and checking the times (``every().day.at("09:00")``) into jobs whose ``at_time``
we read; the clock (``clock``) and the sleep (``sleep``) are injected, so tests drive time.
"""

from __future__ import annotations

import datetime as dt
import logging
import logging.handlers
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import schedule

from . import history
from .addresses import CONTROL as _CONTROL
from .config import WEEKDAYS, Config, parse_days
from .errors import ConfigError
from .fsutil import writable_folder
from .i18n import Messages, translate

log = logging.getLogger(__name__)

#: Seconds between two looks at the clock: how fast a stop request or a due slot is noticed.
TICK = 1.0
#: A gap between two ticks this much longer than expected means the machine slept.
JUMP = dt.timedelta(seconds=60)
#: A run this late after its slot is logged (and recorded) as a catch-up.
LATE = dt.timedelta(seconds=60)
LOG_FILE = Path("logs") / "complaint-toolkit.log"
_ZH_DAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")

#: The job the scheduler runs: given the slot's "now" and a trigger ("schedule" or "catch-up").
Job = Callable[[dt.datetime, str], Any]


_MESSAGES: Messages = {
    "bad-time": {"zh": "[schedule].times[{i}] 为 \"{value}\"：时间请写成 HH:MM 或 HH:MM:SS，如 \"09:00\"。",
                 "en": "[schedule].times[{i}] is \"{value}\"; write times as HH:MM or HH:MM:SS, e.g. \"09:00\"."},
    "no-times": {"zh": "[schedule].times 为空：请至少给一个时间，如 times = [\"09:00\"]。",
                 "en": "[schedule].times is empty; give at least one time, e.g. times = [\"09:00\"]."},
    # Log lines: the log file is read by the office's IT staff, in the config's language.
    "log.history-unreadable": {"zh": "无法读取运行记录；仍执行 {slot} 这次运行",
                               "en": "cannot read the run history; running the {slot} slot"},
    "log.already-done": {"zh": "{slot} 这次运行已完成（见运行记录），无需补跑",
                         "en": "the {slot} run is already done (run history); nothing to catch up"},
    "log.missed": {"zh": "错过了 {slot} 这次运行（调度器未运行或机器休眠过），现在补跑一次",
                   "en": "missed the {slot} run (the scheduler was not running or the machine slept); "
                         "running it now, once"},
    "log.job-raised": {"zh": "{trigger} 任务出错；调度器继续运行，到下一个时间再执行",
                       "en": "the {trigger} job raised an error; the scheduler goes on and runs again at "
                             "the next time"},
    "log.started": {"zh": "调度器已启动：{what}", "en": "scheduler started: {what}"},
    "log.clock-jumped": {"zh": "时钟向前跳了 {span}（机器休眠过？）；检查是否错过了运行",
                         "en": "the clock jumped {span} ahead (the machine slept?); checking for a missed run"},
    "log.next": {"zh": "下次运行：{when}", "en": "next run: {when}"},
    "log.stopped": {"zh": "调度器已停止", "en": "scheduler stopped"},
    "log.signal": {"zh": "收到 {name}：当前任务（如有）完成后停止",
                   "en": "{name} received: stopping after the job in progress (if any)"},
    "log.skipped": {"zh": "跳过了 {trigger} 这次运行：{why}", "en": "skipped the {trigger} run: {why}"},
}


def parse_times(times: list[str], language: str = "zh") -> list[dt.time]:
    """``["09:00", "13:30:15"]`` -> sorted times; ConfigError naming the bad one."""
    parsed = []
    helper = schedule.Scheduler()
    for i, text in enumerate(times):
        try:
            parsed.append(helper.every().day.at(text).at_time)
        except schedule.ScheduleValueError as exc:
            raise _config_error(translate(_MESSAGES, "bad-time", language, i=i, value=text), language) from exc
    if not parsed:
        raise _config_error(translate(_MESSAGES, "no-times", language), language)
    return sorted(set(parsed))


def _config_error(message: str, language: str) -> ConfigError:
    error = ConfigError(message)
    error.language = language
    return error


@dataclass(slots=True)
class LastRun:
    at: dt.datetime
    trigger: str
    outcome: str  # "ok" | "partial" | "failed" | "skipped" | "error"


class DailyScheduler:
    """Runs ``job`` at ``times`` on run days; see the module docstring for the rules."""

    def __init__(
        self,
        job: Job,
        *,
        times: list[dt.time],
        run_day: Callable[[dt.date], bool],
        days: frozenset[int] | None = None,
        done_since: Callable[[dt.datetime], bool] | None = None,
        clock: Callable[[], dt.datetime] = dt.datetime.now,
        sleep: Callable[[float], None] = time.sleep,
        tick: float = TICK,
        language: str = "zh",
    ) -> None:
        self.job = job
        self.language = language  # of the log lines
        self.times = sorted(times)
        self.run_day = run_day
        #: Weekdays (Monday 0) it runs on, for the description; None: the working-day calendar.
        self.days = days
        #: Whether a run that processed the register started at or after the given time.
        self.done_since = done_since or (lambda since: False)
        self.clock = clock
        self.sleep = sleep
        self.tick = tick
        self.last_run: LastRun | None = None
        self.runs = 0
        self.errors = 0
        self._handled: dt.datetime | None = None  # the latest slot already run or found done
        self._stop = threading.Event()
        self._stopping_hard = False

    @classmethod
    def from_config(cls, config: Config, job: Job, *, calendar: Any = None, **kwargs: Any) -> DailyScheduler:
        """A scheduler for ``config``'s ``[schedule]``; the run history of its state database
        tells which slots are done."""
        times = parse_times(config.schedule.times, config.language)
        store = history.RunHistory(config.state_path)
        done = lambda since: store.last_success_since(since) is not None  # noqa: E731
        if config.schedule.workdays_only:
            if calendar is None:
                from .workdays import WorkCalendar

                calendar = WorkCalendar.from_config(config)
            sched = cls(job, times=times, run_day=calendar.is_workday, done_since=done,
                        language=config.language, **kwargs)
        else:
            days = parse_days(config.schedule.days, config.language)
            sched = cls(job, times=times, run_day=lambda d: d.weekday() in days, days=days,
                        done_since=done, language=config.language, **kwargs)
        # The banner's "last run" is the history's, not "never" each time the scheduler restarts.
        last = store.recent(1)
        if last:
            sched.last_run = LastRun(last[0].started_at, last[0].trigger, last[0].status)
        return sched

    # -- slots --------------------------------------------------------------------------------
    def slots(self, day: dt.date) -> list[dt.datetime]:
        """The slot times of ``day`` (none on a day that is not a run day)."""
        if not self.run_day(day):
            return []
        return [dt.datetime.combine(day, t) for t in self.times]

    def latest_slot(self, now: dt.datetime) -> dt.datetime | None:
        """The latest slot of ``now``'s day at or before ``now``."""
        now = _naive(now)
        passed = [s for s in self.slots(now.date()) if s <= now]
        return passed[-1] if passed else None

    def next_slot(self, now: dt.datetime) -> dt.datetime | None:
        """The first slot after ``now`` (looking a year ahead)."""
        now = _naive(now)
        for offset in range(367):
            for slot in self.slots(now.date() + dt.timedelta(days=offset)):
                if slot > now:
                    return slot
        return None

    # -- running ------------------------------------------------------------------------------
    def check(self, now: dt.datetime, *, woke: bool = False) -> bool:
        """Run the job once if today's latest passed slot is not done; True if it ran."""
        local = _naive(now)
        slot = self.latest_slot(local)
        if slot is None or (self._handled is not None and slot <= self._handled):
            return False
        self._handled = slot
        try:
            done = self.done_since(slot)
        except Exception:  # an unreadable history must not kill the scheduler: run, to be safe
            log.exception("%s", self._t("log.history-unreadable", slot=_hm(slot)))
            done = False
        if done:
            log.info("%s", self._t("log.already-done", slot=_hm(slot)))
            return False
        late = local - slot > LATE
        trigger = "catch-up" if late or woke else "schedule"
        if late:
            log.info("%s", self._t("log.missed", slot=_hm(slot)))
        self.run_now(now, trigger)
        return True

    def run_now(self, now: dt.datetime, trigger: str = "schedule") -> None:
        """Run the job, whatever it does: an exception is logged and the scheduler goes on."""
        self.runs += 1
        try:
            outcome = self.job(now, trigger)
        except Exception:
            self.errors += 1
            log.exception("%s", self._t("log.job-raised", trigger=trigger))
            outcome = "error"
        self.last_run = LastRun(now, trigger, str(outcome) if outcome is not None else "ok")

    def run(self) -> None:
        """Loop until :meth:`stop`: check for a due slot every tick, run it, sleep in slices."""
        previous = self.clock()
        log.info("%s", self._t("log.started", what=self.describe(previous, self.language)))
        self.check(previous)
        previous = self.clock()
        while not self._stop.is_set():
            upcoming = self.next_slot(previous)
            wait = self.tick
            if upcoming is not None:
                wait = max(0.0, min(self.tick, (upcoming - _naive(previous)).total_seconds()))
            self.sleep(wait)
            if self._stop.is_set():
                break
            now = self.clock()
            gap = _naive(now) - _naive(previous)
            woke = gap > dt.timedelta(seconds=wait) + JUMP
            if woke:
                log.info("%s", self._t("log.clock-jumped", span=_span(gap)))
            if self.check(now, woke=woke):
                log.info("%s", self._t("log.next", when=_fmt(self.next_slot(self.clock()))))
            previous = self.clock()
        log.info("%s", self._t("log.stopped"))

    def _t(self, key: str, **values: Any) -> str:
        return translate(_MESSAGES, key, self.language, **values)

    def stop(self) -> None:
        """Ask the loop to end after the job in progress (if any). Safe from a signal handler."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def install_signal_handlers(self) -> None:
        """SIGINT (Ctrl-C) and SIGTERM stop the loop between jobs; a second Ctrl-C stops at once."""

        def handler(signum: int, frame: object) -> None:
            name = signal.Signals(signum).name
            if self._stop.is_set() and signum == signal.SIGINT:
                raise KeyboardInterrupt
            log.info("%s", self._t("log.signal", name=name))
            self.stop()

        signal.signal(signal.SIGINT, handler)
        if hasattr(signal, "SIGTERM"):
            signal.signal(signal.SIGTERM, handler)
        if hasattr(signal, "SIGBREAK"):  # pragma: no cover - Windows console Ctrl-Break
            signal.signal(signal.SIGBREAK, handler)

    # -- showing ------------------------------------------------------------------------------
    def describe(self, now: dt.datetime | None = None, language: str = "en") -> str:
        """``Every working day at 09:00 run the daily job (last run: ..., next run: ...)``; in
        Chinese with ``language="zh"``."""
        zh = language == "zh"
        times = ", ".join(t.strftime("%H:%M:%S" if t.second else "%H:%M") for t in self.times)
        if self.days is None:
            days = "每个工作日" if zh else "Every working day"
        elif len(self.days) == 7:
            days = "每天" if zh else "Every day"
        elif zh:
            days = "每" + "、".join(_ZH_DAYS[i] for i in sorted(self.days))
        else:
            days = "Every " + ", ".join(WEEKDAYS[i].capitalize() for i in sorted(self.days))
        if self.last_run is None:
            last = "从未" if zh else "never"
        else:
            words = {**history.status_words(language), "skipped": "跳过" if zh else "skipped",
                     "error": "出错" if zh else "error"}
            last = (f"{_fmt(self.last_run.at)} {words.get(self.last_run.trigger, self.last_run.trigger)}"
                    f"{'，' if zh else ', '}{words.get(self.last_run.outcome, self.last_run.outcome)}")
        nxt = _fmt(self.next_slot(now)) if now is not None else "?"
        if zh:
            return f"{days} {times} 运行每日任务（上次运行：{last}，下次运行：{nxt}）"
        return f"{days} at {times} run the daily job (last run: {last}, next run: {nxt})"

    def __repr__(self) -> str:
        try:
            now = self.clock()
        except Exception:  # a repr must not fail
            now = None
        return f"<{self.describe(now)}>"


# -- the production job ---------------------------------------------------------------------------


def daily_job(config: Config) -> Job:
    """The job the scheduler runs: the main job under the run lock, its summary logged.

    Returns the run's status; a run already in progress elsewhere (a manual ``run``) is
    skipped with a warning, since it covers the slot.
    """
    from .errors import LockError
    from .job import run_job
    from .lock import StateLock, clean_after_crash

    def job(now: dt.datetime, trigger: str) -> str:
        try:
            with StateLock(config.state_path, "run", language=config.language, started=now):
                clean_after_crash(config)
                result = run_job(config, today=_naive(now).date(), now=now, trigger=trigger)
        except LockError as exc:
            log.warning("%s", translate(_MESSAGES, "log.skipped", config.language, trigger=trigger,
                                                why=exc.text(config.language)))
            return "skipped"
        level = logging.INFO if result.exit_code == 0 else logging.WARNING
        log.log(level, "%s", result.to_text(config.language))
        return result.status

    return job


# -- logging --------------------------------------------------------------------------------------


class _OneLineFormatter(logging.Formatter):
    """One record, one line: a message may quote register text, and a line break in a cell must
    not start a line of its own in the log (a traceback below it stays as it is)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = _CONTROL.sub(" ", record.message)
        return super().formatMessage(record)


def log_to_file(config: Config, *, max_bytes: int = 1_000_000, backups: int = 5) -> Path:
    """Add a rotating log file under the output folder (``output/logs/complaint-toolkit.log``) to
    the ``toolkit`` logger; returns its path. Calling it twice adds one handler."""
    path = config.output_dir / LOG_FILE
    writable_folder(path.parent, config.language)
    root = logging.getLogger("toolkit")
    for handler in root.handlers:
        if isinstance(handler, logging.handlers.RotatingFileHandler) and Path(handler.baseFilename) == path:
            return path
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups,
                                                   encoding="utf-8", delay=True)
    handler.setFormatter(_OneLineFormatter("%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    root.addHandler(handler)
    if root.getEffectiveLevel() > logging.INFO:
        # The file always gets INFO; the console keeps the level asked for (--quiet).
        console_level = root.getEffectiveLevel()
        for other in logging.getLogger().handlers:
            if other.level == logging.NOTSET:
                other.setLevel(console_level)
        root.setLevel(logging.INFO)
    return path


# -- small helpers --------------------------------------------------------------------------------


def _naive(value: dt.datetime) -> dt.datetime:
    """Local wall-clock time without a zone, so slots (naive) and an aware clock compare."""
    return value.astimezone().replace(tzinfo=None) if value.tzinfo else value


def _hm(slot: dt.datetime) -> str:
    return slot.strftime("%H:%M:%S" if slot.second else "%H:%M")


def _fmt(value: dt.datetime | None) -> str:
    if value is None:
        return "-"
    return value.strftime("%Y-%m-%d %H:%M:%S" if value.second else "%Y-%m-%d %H:%M")


def _span(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60} min" if hours else f"{rest // 60} min {rest % 60} s"
