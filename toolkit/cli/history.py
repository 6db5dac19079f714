"""``complaint-toolkit history``: the audit trail of runs, newest first."""

from __future__ import annotations

import argparse

from ..config import Config
from ..history import RunHistory, render_text
from . import _common

NAME = "history"


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(_common.say(f"“{text}”不是正整数，例如 --limit 20",
                                                     f"'{text}' is not a positive whole number; e.g. --limit 20"))
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=_positive, default=20, metavar="N", help=_common.say("显示最近 N 次运行（默认 20）", "show the last N runs (20)"))
    _common.add_format(parser)


def run(args: argparse.Namespace, config: Config) -> int:
    store = RunHistory(config.state_path)
    records = store.recent(args.limit)
    if args.format == "json":
        _common.print_json([r.to_dict() for r in records])
    else:
        print(render_text(records, config.language, path=config.state_path))
    return 0
