"""``complaint-toolkit run``: the main job, once: validate, generate documents, send reminders."""

from __future__ import annotations

import argparse
import datetime as dt
import logging

from ..config import Config
from ..job import run_job
from ..lock import StateLock, clean_after_crash
from ..scheduler import log_to_file
from . import _common

NAME = "run"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _common.add_register(parser)
    _common.add_today(parser)
    _common.add_format(parser)


def run(args: argparse.Namespace, config: Config) -> int:
    _common.apply_register(args, config)
    today = _common.today(args)
    now = dt.datetime.now()  # local wall-clock time, as the scheduler and the history use
    log_to_file(config)
    _summary_speaks_for_the_job()
    with StateLock(config.state_path, "run", language=config.language, started=now):
        clean_after_crash(config)
        result = run_job(config, today=today, now=now, trigger="run")
    if args.format == "json":
        _common.print_json(result.to_dict())
    else:
        print(result.to_text(config.language))
    return result.exit_code


def _summary_speaks_for_the_job() -> None:
    """The summary printed at the end lists every stage's problem; the job's own log records
    go to the log file only, so the console does not say each one twice."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            handler.addFilter(lambda record: not record.name.startswith("toolkit.job"))
