"""``complaint-toolkit report``: the statistics workbook (tables and native charts) for the
quality manager, and with ``--html`` the dashboard page."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..config import Config
from ..register import read_register
from ..report import compute_statistics, default_out_path, write_dashboard, write_workbook
from ..validate import validate
from . import _common

NAME = "report"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _common.add_register(parser)
    _common.add_today(parser)
    parser.add_argument("--from", dest="date_from", type=_common.parse_date, metavar="YYYY-MM-DD",
                        help=_common.say("统计的第一个受理日期（默认：最早的记录）", "first day received to count (default: the first record)"))
    parser.add_argument("--to", dest="date_to", type=_common.parse_date, metavar="YYYY-MM-DD",
                        help=_common.say("统计的最后一个受理日期（默认：--today）", "last day received to count (default: --today)"))
    parser.add_argument("--out", metavar="PATH.xlsx",
                        help=_common.say("要写入的工作簿（默认：[reports].out，否则 <output.dir>/reports/complaint-statistics.xlsx）",
                                         "workbook to write (default: [reports].out, else "
                                         "<output.dir>/reports/complaint-statistics.xlsx)"))
    parser.add_argument("--html", metavar="PATH.html",
                        help=_common.say("同时把看板页面写到这里（一个可离线打开的文件），旁边附上它链接的问题工作簿",
                                         "also write the dashboard page there (one file that opens offline), "
                                         "with the findings workbook it links to beside it"))
    _common.add_format(parser)


def run(args: argparse.Namespace, config: Config) -> int:
    _common.apply_register(args, config)
    today = _common.today(args)
    register = read_register(config)
    report = validate(register, config, today)
    stats = compute_statistics(register, report, config, today=today, date_from=args.date_from,
                               date_to=args.date_to)
    out = Path(args.out).resolve() if args.out else default_out_path(config)
    path = write_workbook(stats, config, out)
    dashboard = None
    if args.html:
        dashboard = write_dashboard(stats, config, Path(args.html).resolve(), today=today, report=report,
                                    register=register)
    if args.format == "json":
        _common.print_json({**stats.to_dict(), "workbook": str(path),
                            **({"dashboard": str(dashboard)} if dashboard else {})})
    else:
        print(stats.to_text(config.language, path, dashboard))
    return 0
