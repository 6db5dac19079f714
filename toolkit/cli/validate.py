"""``complaint-toolkit validate``: check the register against REGISTER.md's rules and list what
is wrong, row by row, with what to do about it."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ..config import Config
from ..i18n import Messages, translate
from ..register import read_register
from ..validate import validate
from . import _common

MESSAGES: Messages = {
    "written": {"zh": "检查报告已写入 {path}", "en": "Findings workbook written to {path}"},
}

NAME = "validate"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _common.add_register(parser)
    _common.add_today(parser)
    _common.add_format(parser)
    parser.add_argument("--report", metavar="PATH.xlsx",
                        help=_common.say("同时写一个工作簿：台账各行，问题单元格标色并加批注，另有一张链接到它们的问题清单",
                                         "also write a workbook: the register's rows with problem cells marked and "
                                         "commented, and a findings sheet linking to them"))


def run(args: argparse.Namespace, config: Config) -> int:
    _common.apply_register(args, config)
    today = _common.today(args)
    register = read_register(config)
    report = validate(register, config, today)
    written = None
    if args.report:
        from ..workbooks import write_validation_workbook  # openpyxl: only when a workbook is asked for

        written = write_validation_workbook(report, register, Path(args.report).absolute(), today)
    if args.format == "json":
        _common.print_json(report.to_dict())
    else:
        sys.stdout.write(report.render_text(colour=_common.use_colour(sys.stdout)) + "\n")
    if written is not None:
        # After the findings, where staff look last; on stderr with --format json, so the JSON stays the report.
        stream = sys.stderr if args.format == "json" else sys.stdout
        print(translate(MESSAGES, "written", config.language, path=written), file=stream)
    return 1 if report.counts["error"] else 0
