"""Options and output helpers shared by several commands."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from typing import Any

from ..config import Config
from ..errors import ConfigError

#: The language of --help and of option errors, set by the CLI from the config before it
#: builds the parser (Chinese by default).
HELP_LANGUAGE = "zh"


def say(zh: str, en: str) -> str:
    """A help text or option error in the CLI's language: ``help=say("中文", "English")``."""
    return en if HELP_LANGUAGE == "en" else zh


def parse_date(text: str) -> dt.date:
    """argparse type for ``--today``/``--from``/``--to``: YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(say(f"“{text}”不是日期：请写成 YYYY-MM-DD，如 2026-11-20",
                                             f"'{text}' is not a date; write it as YYYY-MM-DD, e.g. 2026-11-20")
                                         ) from None


def add_register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--register", metavar="PATH",
                        help=say("台账 .xlsx 文件（默认：[register].path）", "register .xlsx (default: [register].path)"))


def add_today(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--today", type=parse_date, metavar="YYYY-MM-DD",
                        help=say("规则和期限以哪一天为准（默认：今天）",
                                 "the date rules and deadlines compare against (default: today)"))


def add_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help=say("输出格式（text 文字，json 数据）", "output format"))


def apply_register(args: argparse.Namespace, config: Config) -> None:
    """``--register`` overrides the config's register path (relative to the current folder)."""
    if getattr(args, "register", None):
        config.register.path = os.path.abspath(args.register)


def today(args: argparse.Namespace) -> dt.date:
    return getattr(args, "today", None) or dt.date.today()


def print_json(data: Any) -> None:
    # One write: json.dump writes each of its ~200k pieces to stdout on its own (0.4 s for the
    # findings of a 100k-row register); encoding them into one text costs a tenth of that.
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def use_colour(stream: Any = sys.stdout) -> bool:
    return hasattr(stream, "isatty") and stream.isatty() and "NO_COLOR" not in os.environ


def require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)
