"""The scheduler: slots on working days, a raising job, missed-run catch-up, wake from sleep,
the single-instance lock, SIGTERM/SIGINT. Time is driven by an injected clock and sleep."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from toolkit import history
from toolkit.cli import main
from toolkit.config import config_from_dict
from toolkit.errors import ConfigError, LockError
from toolkit.lock import StateLock
from toolkit.scheduler import WEEKDAYS, DailyScheduler, daily_job, parse_days, parse_times

ROOT = Path(__file__).resolve().parent.parent
D = dt.datetime


class FakeClock:
    """``clock`` and ``sleep`` for the scheduler: sleeping moves the time on. ``until`` stops
    the scheduler once the time passes it; ``jumps`` maps a moment to a later one (the machine
    slept in between)."""

    def __init__(self, start: dt.datetime, until: dt.datetime) -> None:
        self.now = start
        self.until = until
        self.jumps: dict[dt.datetime, dt.datetime] = {}
        self.scheduler: DailyScheduler | None = None
        self.slept = 0.0

    def __call__(self) -> dt.datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds <= 1.0, "the loop must sleep in short slices to notice a stop request"
        self.slept += seconds
        self.now += dt.timedelta(seconds=seconds)
        for at, to in list(self.jumps.items()):
            if self.now >= at:
                self.now = to
                del self.jumps[at]
        if self.now >= self.until and self.scheduler is not None:
            self.scheduler.stop()


class Calls:
    """A job that records its calls and can be told to raise."""

    def __init__(self, raise_on: set[int] | None = None) -> None:
        self.calls: list[tuple[dt.datetime, str]] = []
        self.raise_on = raise_on or set()

    def __call__(self, now: dt.datetime, trigger: str) -> str:
        self.calls.append((now, trigger))
        if len(self.calls) in self.raise_on:
            raise RuntimeError("boom in the job")
        return "ok"


def make(job: Callable[[dt.datetime, str], object], clock: FakeClock, *, times: tuple[str, ...] = ("09:00",),
         run_day: Callable[[dt.date], bool] = lambda d: d.weekday() < 5,
         done_since: Callable[[dt.datetime], bool] | None = None) -> DailyScheduler:
    sched = DailyScheduler(job, times=parse_times(list(times)), run_day=run_day, done_since=done_since,
                           clock=clock, sleep=clock.sleep, language="en")
    clock.scheduler = sched
    return sched


# -- slots and days ---------------------------------------------------------------------------------


def test_times_are_parsed_sorted_and_checked() -> None:
    assert parse_times(["13:30:15", "09:00"]) == [dt.time(9, 0), dt.time(13, 30, 15)]
    with pytest.raises(ConfigError, match=r'\[schedule\].times\[0\] is "9am"; write times as HH:MM'):
        parse_times(["9am"], "en")
    with pytest.raises(ConfigError, match=r'\[schedule\].times\[0\] 为 "9am"：时间请写成 HH:MM'):
        parse_times(["9am"])
    with pytest.raises(ConfigError, match="give at least one time"):
        parse_times([], "en")
    with pytest.raises(ConfigError, match="请至少给一个时间"):
        parse_times([])


def test_days_are_checked() -> None:
    assert parse_days(["Mon", "fri"]) == {0, 4}
    with pytest.raises(ConfigError, match=r'\[schedule\].days\[1\] is "funday"; use mon, tue'):
        parse_days(["mon", "funday"], "en")
    with pytest.raises(ConfigError, match=r'\[schedule\].days\[1\] 为 "funday"：请用 mon、tue'):
        parse_days(["mon", "funday"])


def test_workdays_only_follows_the_calendar_and_ignores_days(tmp_path: Path) -> None:
    config = config_from_dict({"output": {"dir": str(tmp_path)},
                               "schedule": {"times": ["09:00"], "days": ["mon"], "workdays_only": True}})
    sched = DailyScheduler.from_config(config, job=Calls())
    assert sched.slots(dt.date(2026, 10, 10)) == [D(2026, 10, 10, 9, 0)]  # 调休 Saturday: a working day
    assert sched.slots(dt.date(2026, 10, 1)) == []  # National Day, a Thursday
    assert sched.slots(dt.date(2026, 10, 11)) == []  # an ordinary Sunday
    assert sched.next_slot(D(2026, 9, 30, 10, 0)) == D(2026, 10, 8, 9, 0)  # Oct 1-7 off


def test_days_decide_when_workdays_only_is_off(tmp_path: Path) -> None:
    config = config_from_dict({"output": {"dir": str(tmp_path)},
                               "schedule": {"times": ["09:00"], "days": ["sat"], "workdays_only": False}})
    sched = DailyScheduler.from_config(config, job=Calls())
    assert sched.slots(dt.date(2026, 10, 1)) == []  # a Thursday
    assert sched.slots(dt.date(2026, 10, 3)) == [D(2026, 10, 3, 9, 0)]  # a Saturday in the holiday


def test_repr_says_what_it_does() -> None:
    clock = FakeClock(D(2026, 11, 20, 8, 0), until=D(2026, 11, 20, 8, 0))  # a Friday
    sched = make(Calls(), clock, times=("09:00", "14:30:05"))
    assert repr(sched) == ("<Every working day at 09:00, 14:30:05 run the daily job "
                           "(last run: never, next run: 2026-11-20 09:00)>")
    sched.run_now(D(2026, 11, 20, 8, 0), "schedule")
    clock.now = D(2026, 11, 20, 15, 0)
    assert repr(sched) == ("<Every working day at 09:00, 14:30:05 run the daily job "
                           "(last run: 2026-11-20 08:00 schedule, ok, next run: 2026-11-23 09:00)>")


# -- the loop -----------------------------------------------------------------------------------------


def test_runs_each_slot_once_on_run_days_only() -> None:
    # Friday 08:59 to Monday 09:30: Friday 09:00 and Monday 09:00, nothing at the weekend.
    clock = FakeClock(D(2026, 11, 20, 8, 59), until=D(2026, 11, 23, 9, 30))
    job = Calls()
    sched = make(job, clock)
    clock.now = D(2026, 11, 20, 8, 59)
    # Skip the idle hours quickly: jump from 09:01 Friday to Monday 08:59.
    clock.jumps[D(2026, 11, 20, 9, 1)] = D(2026, 11, 23, 8, 59)
    sched.run()
    assert [(c[0].replace(microsecond=0), c[1]) for c in job.calls] == [
        (D(2026, 11, 20, 9, 0), "schedule"), (D(2026, 11, 23, 9, 0), "schedule")]
    assert sched.stopping


def test_a_raising_job_is_logged_and_the_scheduler_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock(D(2026, 11, 20, 8, 59, 50), until=D(2026, 11, 20, 10, 0, 30))
    job = Calls(raise_on={1})
    sched = make(job, clock, times=("09:00", "10:00"))
    with caplog.at_level(logging.INFO, logger="toolkit"):
        sched.run()
    assert [c[0].time().replace(microsecond=0) for c in job.calls] == [dt.time(9, 0), dt.time(10, 0)]
    assert sched.errors == 1
    failed = [r for r in caplog.records if "the schedule job raised an error" in r.getMessage()]
    assert len(failed) == 1 and failed[0].exc_info is not None
    assert "boom in the job" in caplog.text
    assert sched.last_run is not None and sched.last_run.outcome == "ok"
    assert "scheduler stopped" in caplog.text


def test_missed_slots_on_start_run_once() -> None:
    # Started at 15:00 with 09:00 and 13:00 passed and nothing in the history: one catch-up run.
    clock = FakeClock(D(2026, 11, 20, 15, 0), until=D(2026, 11, 20, 15, 5))
    job = Calls()
    make(job, clock, times=("09:00", "13:00"), done_since=lambda since: False).run()
    assert job.calls == [(D(2026, 11, 20, 15, 0), "catch-up")]


def test_no_catch_up_when_the_history_has_a_run_after_the_slot(tmp_path: Path) -> None:
    store = history.RunHistory(tmp_path / "state.sqlite")
    run_id = store.start(started=D(2026, 11, 20, 13, 2), run_date=dt.date(2026, 11, 20))
    store.finish(run_id, finished=D(2026, 11, 20, 13, 3), status="partial")
    failed = store.start(started=D(2026, 11, 20, 13, 10), run_date=dt.date(2026, 11, 20))
    store.finish(failed, finished=D(2026, 11, 20, 13, 11), status="failed")

    def done(since: dt.datetime) -> bool:
        return store.last_success_since(since) is not None

    clock = FakeClock(D(2026, 11, 20, 15, 0), until=D(2026, 11, 20, 15, 5))
    job = Calls()
    make(job, clock, times=("09:00", "13:00"), done_since=done).run()
    assert job.calls == []
    # A successful run before 13:00 does not cover the 13:00 slot.
    clock = FakeClock(D(2026, 11, 20, 15, 0), until=D(2026, 11, 20, 15, 5))
    make(job, clock, times=("09:00", "13:30"), done_since=done).run()
    assert job.calls == [(D(2026, 11, 20, 15, 0), "catch-up")]


def test_wake_from_sleep_runs_a_missed_slot_once(caplog: pytest.LogCaptureFixture) -> None:
    # Asleep from 08:30 to 14:00 across the 09:00 and 13:00 slots: one run on waking.
    clock = FakeClock(D(2026, 11, 20, 8, 29, 58), until=D(2026, 11, 20, 14, 1))
    clock.jumps[D(2026, 11, 20, 8, 30)] = D(2026, 11, 20, 14, 0)
    job = Calls()
    with caplog.at_level(logging.INFO, logger="toolkit"):
        make(job, clock, times=("09:00", "13:00"), done_since=lambda since: False).run()
    assert [c[1] for c in job.calls] == ["catch-up"]
    assert job.calls[0][0] == D(2026, 11, 20, 14, 0)
    assert "the clock jumped 5 h 30 min ahead" in caplog.text


def test_stop_ends_the_loop_between_jobs() -> None:
    clock = FakeClock(D(2026, 11, 20, 8, 0), until=D(2026, 11, 20, 8, 0, 3))
    sched = make(Calls(), clock)
    sched.run()
    assert clock.slept == pytest.approx(3.0)


# -- the single-instance lock -------------------------------------------------------------------------


def test_lock_refuses_a_second_holder_naming_the_pid(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    with StateLock(state, "schedule", language="en", started=D(2026, 11, 20, 9, 0)):
        with pytest.raises(LockError) as info:
            StateLock(state, "schedule", language="en").acquire()
        assert str(info.value) == (
            f"a complaint-toolkit scheduler (PID {os.getpid()}, started 2026-11-20T09:00:00) is already "
            f"running on the state folder {tmp_path}; only one may run. Stop it first (Ctrl-C, or kill "
            f"{os.getpid()}); if you are sure that process is not running, delete the lock file "
            f"{tmp_path / 'state.sqlite.schedule.lock'}.")
        # The run lock is another lock: a manual run between scheduled ones is fine.
        with StateLock(state, "run"):
            pass
    assert not (tmp_path / "state.sqlite.schedule.lock").exists()
    with StateLock(state, "schedule"):
        pass


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_stale_lock_file_of_a_dead_process_is_taken_over(tmp_path: Path,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    state = tmp_path / "state.sqlite"
    pid = _dead_pid()
    lock_file = tmp_path / "state.sqlite.run.lock"
    lock_file.write_text(f"pid={pid}\nstarted=2026-11-19T09:00:00\nwhat=run\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="toolkit"):
        lock = StateLock(state, "run").acquire()
    try:
        assert lock.took_over is not None and lock.took_over.pid == pid
        assert f"pid={os.getpid()}" in lock_file.read_text(encoding="utf-8")
        assert f"已接管失效的锁 {lock_file}：留下它的进程 PID {pid}" in caplog.text
    finally:
        lock.release()


HOLD = """
import sys, time
from toolkit.lock import StateLock
lock = StateLock(sys.argv[1], sys.argv[2]).acquire()
print("held", flush=True)
time.sleep(60)
"""


def _holder(state: Path, what: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(state), what], stdout=subprocess.PIPE,
                            text=True, cwd=ROOT)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_live_holder_in_another_process_refuses_then_a_killed_one_is_taken_over(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    proc = _holder(state, "schedule")
    try:
        with pytest.raises(LockError, match=f"PID {proc.pid}"):
            StateLock(state, "schedule").acquire()
    finally:
        proc.kill()  # SIGKILL: no clean-up, the lock file stays behind
        proc.wait()
    assert (tmp_path / "state.sqlite.schedule.lock").exists()
    with StateLock(state, "schedule") as lock:
        assert lock.took_over is not None and lock.took_over.pid == proc.pid


def test_schedule_and_run_commands_refuse_while_locked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[output]\ndir = "out"\n[register]\nlanguage = "en"\n', encoding="utf-8")
    state = tmp_path / "out" / "state.sqlite"
    proc = _holder(state, "schedule")
    try:
        assert main(["schedule", "--config", str(config)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"Error: a complaint-toolkit scheduler (PID {proc.pid}, started ")
    finally:
        proc.kill()
        proc.wait()
    proc = _holder(state, "run")
    try:
        assert main(["run", "--config", str(config)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"Error: another complaint-toolkit run (PID {proc.pid}, started ")
        assert "Wait for it to finish and try again" in err
    finally:
        proc.kill()
        proc.wait()


# -- signals, through the real command ----------------------------------------------------------------


def _far_away_config(tmp_path: Path) -> Path:
    # No slot today (a weekday that is not today), so nothing runs and nothing is caught up.
    other_day = WEEKDAYS[(dt.date.today().weekday() + 3) % 7]
    config = tmp_path / "config.toml"
    config.write_text(
        f'[register]\nlanguage = "en"\npath = "missing.xlsx"\n[output]\ndir = "out"\n'
        f'[schedule]\ntimes = ["09:00"]\ndays = ["{other_day}"]\nworkdays_only = false\n',
        encoding="utf-8")
    return config


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_ends_the_scheduler_cleanly(tmp_path: Path, signum: int) -> None:
    config = _far_away_config(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "toolkit", "schedule", "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("Scheduler started: Every ")
    time.sleep(0.5)
    proc.send_signal(signum)
    try:
        out, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == 0, err
    assert "Scheduler stopped." in out
    log_text = (tmp_path / "out" / "logs" / "complaint-toolkit.log").read_text(encoding="utf-8")
    assert f"{signal.Signals(signum).name} received: stopping" in log_text
    assert "scheduler stopped" in log_text
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "state.sqlite.schedule.lock").exists()


def test_describe_in_both_languages_and_for_chosen_days(tmp_path: Path) -> None:
    now = D(2026, 11, 20, 8, 0)  # a Friday
    config = config_from_dict({"output": {"dir": str(tmp_path)},
                               "schedule": {"times": ["09:00"], "days": ["wed", "mon"], "workdays_only": False}})
    sched = DailyScheduler.from_config(config, job=Calls())
    assert sched.describe(now) == ("Every Mon, Wed at 09:00 run the daily job "
                                   "(last run: never, next run: 2026-11-23 09:00)")
    assert sched.describe(now, "zh") == "每周一、周三 09:00 运行每日任务（上次运行：从未，下次运行：2026-11-23 09:00）"
    config.schedule.workdays_only = True
    assert DailyScheduler.from_config(config, job=Calls()).describe(now, "zh").startswith("每个工作日 09:00 运行")


def test_a_restarted_scheduler_shows_the_last_run_of_the_history(tmp_path: Path) -> None:
    config = config_from_dict({"output": {"dir": str(tmp_path)},
                               "schedule": {"times": ["09:00"], "days": ["mon"], "workdays_only": False}})
    store = history.RunHistory(config.state_path)
    run_id = store.start(started=D(2026, 11, 19, 9, 0), run_date=dt.date(2026, 11, 19), trigger="catch-up")
    store.finish(run_id, finished=D(2026, 11, 19, 9, 1), status="partial")
    sched = DailyScheduler.from_config(config, job=Calls())
    now = D(2026, 11, 20, 8, 0)
    assert "上次运行：2026-11-19 09:00 补跑，部分完成，下次运行" in sched.describe(now, "zh")
    assert "last run: 2026-11-19 09:00 catch-up, partial, next run" in sched.describe(now, "en")


def _once_config(tmp_path: Path, days: list[str]) -> Path:
    (tmp_path / "examples").mkdir(exist_ok=True)
    shutil.copy(ROOT / "examples" / "complaint-register.xlsx", tmp_path / "examples")
    config = tmp_path / "config.toml"
    config.write_text(
        '[register]\nlanguage = "en"\npath = "examples/complaint-register.xlsx"\n'
        f'[schedule]\ntimes = ["09:00"]\ndays = {json.dumps(days)}\nworkdays_only = false\n',
        encoding="utf-8")
    return config


def test_once_runs_the_job_on_a_run_day(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _once_config(tmp_path, list(WEEKDAYS))
    assert main(["schedule", "--once", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Daily job for {dt.date.today().isoformat()} (ok)\n")
    runs = history.RunHistory(tmp_path / "output" / "state.sqlite").recent()
    assert [(r.trigger, r.status) for r in runs] == [("schedule", "ok")]
    assert not (tmp_path / "output" / "state.sqlite.run.lock").exists()


def test_once_does_nothing_on_a_day_off(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other_day = WEEKDAYS[(dt.date.today().weekday() + 3) % 7]
    config = _once_config(tmp_path, [other_day])
    assert main(["schedule", "--once", "--config", str(config)]) == 0
    assert capsys.readouterr().out == (
        f"{dt.date.today().isoformat()} is not a run day (not in [schedule].days); nothing to do. "
        f"To run anyway, use complaint-toolkit run.\n")
    assert history.RunHistory(tmp_path / "output" / "state.sqlite").recent() == []


def test_a_stop_during_a_job_lets_the_job_finish() -> None:
    clock = FakeClock(D(2026, 11, 20, 8, 59, 58), until=D(2026, 11, 21))
    finished: list[bool] = []

    def job(now: dt.datetime, trigger: str) -> str:
        sched.stop()  # what the SIGTERM handler does, arriving mid-job
        finished.append(True)
        return "ok"

    sched = make(job, clock)
    sched.run()
    assert finished == [True]
    assert sched.last_run is not None and sched.last_run.outcome == "ok"
    assert clock.now < D(2026, 11, 20, 9, 0, 2)  # it stopped right after the job


def test_a_scheduled_job_is_skipped_while_a_manual_run_holds_the_run_lock(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = config_from_dict({"output": {"dir": str(tmp_path)}, "register": {"language": "en"}})
    proc = _holder(config.state_path, "run")
    try:
        with caplog.at_level(logging.WARNING, logger="toolkit"):
            assert daily_job(config)(D(2026, 11, 20, 9, 0), "schedule") == "skipped"
    finally:
        proc.kill()
        proc.wait()
    assert f"skipped the schedule run: another complaint-toolkit run (PID {proc.pid}" in caplog.text
    assert history.RunHistory(config.state_path).recent() == []


def test_log_lines_are_in_the_configured_language(caplog: pytest.LogCaptureFixture) -> None:
    """A Chinese install's log file reads in Chinese (the config's language, zh by default)."""
    clock = FakeClock(D(2026, 11, 20, 8, 59, 50), until=D(2026, 11, 20, 9, 0, 30))
    job = Calls(raise_on={1})
    sched = DailyScheduler(job, times=parse_times(["09:00"]), run_day=lambda d: True, clock=clock,
                           sleep=clock.sleep)
    clock.scheduler = sched
    with caplog.at_level(logging.INFO, logger="toolkit"):
        sched.run()
    text = caplog.text
    assert "调度器已启动" in text and "任务出错；调度器继续运行" in text and "调度器已停止" in text
    assert "scheduler stopped" not in text


def test_the_log_file_keeps_one_record_on_one_line(tmp_path: Path) -> None:
    import logging

    from toolkit.config import config_from_dict
    from toolkit.scheduler import log_to_file

    config = config_from_dict({"output": {"dir": str(tmp_path / "out")}})
    path = log_to_file(config)
    logger = logging.getLogger("toolkit.test_one_line")
    logger.warning("cannot remind: %s", "H5\r\nBcc: evil@attacker.com")
    for handler in logging.getLogger("toolkit").handlers:
        handler.flush()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert any(line.endswith("cannot remind: H5 Bcc: evil@attacker.com") for line in lines)
    assert not any(line.startswith("Bcc") for line in lines)
    for handler in list(logging.getLogger("toolkit").handlers):
        if getattr(handler, "baseFilename", "") == str(path):
            logging.getLogger("toolkit").removeHandler(handler)
            handler.close()


def test_the_start_line_is_in_one_language(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock(D(2026, 11, 20, 8, 0), until=D(2026, 11, 20, 8, 0, 30))
    sched = DailyScheduler(Calls(), times=parse_times(["09:00"]), run_day=lambda d: d.weekday() < 5,
                           clock=clock, sleep=clock.sleep, language="zh")
    clock.scheduler = sched
    with caplog.at_level(logging.INFO, logger="toolkit"):
        sched.run()
    started = [r.getMessage() for r in caplog.records if r.getMessage().startswith("调度器已启动")]
    assert started == ["调度器已启动：每个工作日 09:00 运行每日任务（上次运行：从未，下次运行：2026-11-20 09:00）"]
