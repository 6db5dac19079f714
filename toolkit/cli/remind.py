"""``complaint-toolkit remind``: reminders of overdue and nearly due items, with escalation,
through every channel of ``[notify] channels`` (e-mail, WeCom, DingTalk, Feishu groups)."""

from __future__ import annotations

import argparse
import datetime as dt
import logging

from ..config import Config
from ..lock import StateLock
from ..notify import send_reminders
from ..notify.message import clean
from ..register import read_register
from ..reminders import plan_reminders
from . import _common

NAME = "remind"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _common.add_register(parser)
    _common.add_today(parser)
    parser.add_argument("--dry-run", action="store_true",
                        help=_common.say("按各渠道将发出的样子显示消息；不发送、不写入、不记录",
                                         "show each channel's messages as they would be posted; send, write and "
                                         "record nothing"))
    _common.add_format(parser)


def run(args: argparse.Namespace, config: Config) -> int:
    _common.apply_register(args, config)
    today = _common.today(args)
    now = dt.datetime.now().astimezone()
    register = read_register(config)
    plan = plan_reminders(register.records, config, today)
    for warning in plan.warnings:
        log.warning("%s", clean(warning))  # may quote register text: one line each
    if args.dry_run:
        result = send_reminders(plan, config, now=now, dry_run=True)
    else:
        # The same lock as the daily job: two senders at once could both send a reminder.
        with StateLock(config.state_path, "run", language=config.language, started=now):
            result = send_reminders(plan, config, now=now)
    if args.format == "json":
        _common.print_json(result.to_dict())
    else:
        print(result.to_text(config.language, previews=args.dry_run))
    return 0 if result.ok else 3
