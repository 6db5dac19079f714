"""``complaint-toolkit init-register PATH``: a new, empty register for staff, with drop-down
lists, date formats and an instructions sheet. Never overwrites an existing file."""

from __future__ import annotations

import argparse

from ..config import Config
from ..i18n import Messages, translate
from ..workbooks import write_new_register
from . import _common

NAME = "init-register"

MESSAGES: Messages = {
    "written": {
        "zh": "已创建新台账 {path}：表头、下拉列表和“填写说明”工作表已就绪。",
        "en": "Created a new register {path}: headers, drop-down lists and an Instructions sheet.",
    },
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH.xlsx", help=_common.say("新台账的文件（不能已存在）", "the new register's file (must not exist)"))
    parser.add_argument("--sheet", metavar="NAME", help=_common.say("数据工作表的名称（默认：台账）", "the data sheet's name (default: Register)"))


def run(args: argparse.Namespace, config: Config) -> int:
    written = write_new_register(args.path, config, sheet=args.sheet)
    print(translate(MESSAGES, "written", config.language, path=written))
    return 0
