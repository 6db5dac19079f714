"""``complaint-toolkit schedule``: run the main job every working day at the configured times."""

from __future__ import annotations

import argparse
import datetime as dt
import logging

from ..config import Config
from ..i18n import Messages, translate
from ..job import run_job
from ..lock import StateLock, clean_after_crash
from ..scheduler import DailyScheduler, daily_job, log_to_file
from . import _common

NAME = "schedule"

_MESSAGES: Messages = {
    "started": {
        "zh": "计划任务已启动：{what}\n日志：{log}\n按 Ctrl-C 停止。",
        "en": "Scheduler started: {what}\nLog: {log}\nPress Ctrl-C to stop.",
    },
    "stopped": {"zh": "计划任务已停止。", "en": "Scheduler stopped."},
    "not-today": {
        "zh": "{today} 不是运行日({why}),今天不运行。要强制运行请用 complaint-toolkit run。",
        "en": "{today} is not a run day ({why}); nothing to do. To run anyway, use complaint-toolkit run.",
    },
    "why-workday": {"zh": "按 [calendar] 的工作日历不是工作日", "en": "not a working day in the [calendar]"},
    "why-days": {"zh": "不在 [schedule].days 中", "en": "not in [schedule].days"},
}


#: The console of a long-running scheduler is its running log: show INFO by default.
VERBOSE = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--once", action="store_true",
                        help=_common.say("如果今天是运行日，现在执行一次任务后退出（供 cron、systemd 定时器、"
                                         "Windows 任务计划程序调用）",
                                         "run the job now if today is a run day, then exit (for cron, systemd "
                                         "timers, Windows Task Scheduler)"))


def run(args: argparse.Namespace, config: Config) -> int:
    language = config.language
    log_path = log_to_file(config)
    _timestamps_on_console()
    now = dt.datetime.now()  # the CLI reads the clock; the library is told the time
    if args.once:
        sched = DailyScheduler.from_config(config, job=daily_job(config))
        if not sched.run_day(now.date()):
            why = "why-workday" if config.schedule.workdays_only else "why-days"
            print(translate(_MESSAGES, "not-today", language, today=now.date().isoformat(),
                            why=translate(_MESSAGES, why, language)))
            return 0
        with StateLock(config.state_path, "run", language=language, started=now):
            clean_after_crash(config)
            result = run_job(config, today=now.date(), now=now, trigger="schedule")
        print(result.to_text(language))
        return result.exit_code
    with StateLock(config.state_path, "schedule", language=language, started=now):
        sched = DailyScheduler.from_config(config, job=daily_job(config))
        sched.install_signal_handlers()
        print(translate(_MESSAGES, "started", language, what=sched.describe(now, language), log=log_path), flush=True)
        sched.run()
    print(translate(_MESSAGES, "stopped", language), flush=True)
    return 0


def _timestamps_on_console() -> None:
    """A long-running process's console lines need the time."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s: %(message)s", "%Y-%m-%d %H:%M:%S"))
