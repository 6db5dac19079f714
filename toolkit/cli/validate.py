"""``complaint-toolkit validate``: check the register against REGISTER.md's rules and list what
is wrong, row by row, with what to do about it."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ..config import Config
from ..register import read_register
from ..validate import validate
from ..workbooks import write_validation_workbook
from . import _common

NAME = "validate"
HELP = "check the register (投诉登记台账) and list the problems found, row by row"
ORDER = 10

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _common.add_register(parser)
    _common.add_today(parser)
    _common.add_format(parser)
    parser.add_argument("--report", metavar="PATH.xlsx",
                        help="also write a workbook: the register's rows with problem cells marked and "
                             "commented, and a findings sheet linking to them")


def run(args: argparse.Namespace, config: Config) -> int:
    _common.apply_register(args, config)
    today = _common.today(args)
    register = read_register(config)
    report = validate(register, config, today)
    if args.report:
        written = write_validation_workbook(report, register, Path(args.report).absolute(), today)
        log.info("report written to %s", written)
    if args.format == "json":
        _common.print_json(report.to_dict())
    else:
        sys.stdout.write(report.render_text(colour=_common.use_colour(sys.stdout)) + "\n")
    return 1 if report.counts["error"] else 0
