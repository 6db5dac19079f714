"""The command line: a thin layer over the library.

Each command lives in its own module in this package and defines ``NAME``,
``add_arguments(parser)`` and ``run(args, config) -> int``; its one-line summary and example
are in :data:`COMMANDS` below, so ``--help`` lists every command without importing any of them,
and a command imports only the stages it uses (``complaint-toolkit --help`` loads no openpyxl).
A command parses options, loads config, calls one library function, prints its result and
returns an exit code. Library errors (:class:`toolkit.errors.ToolkitError`) become one line
``错误：...`` (``Error: ...`` in English) and their exit code; ``--debug`` also shows the
traceback (and keeps the exit code). The console shows warnings and errors; ``-v`` adds
progress (INFO); ``-q`` prints nothing when the command succeeds, so cron mails only failures.

``--help`` and argparse's own messages are in the configured language (``[register] language``
of the config the command would use; Chinese by default).

Exit codes: 0 fine, 1 findings of severity error (validate), 2 cannot run (bad input or
config), 3 some reminders could not be delivered, 130 interrupted (Ctrl-C), 143 stopped by
SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import gettext
import importlib
import io
import logging
import os
import pkgutil
import re
import signal
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..config import find_config, load_config, sniff_language
from ..errors import ConfigError, ToolkitError
from ..i18n import Messages, translate
from . import _common

log = logging.getLogger("toolkit")


@dataclass(frozen=True, slots=True)
class Command:
    """A command as ``--help`` lists it: the module is imported only when the command runs."""

    name: str
    module: str
    zh: str
    en: str
    example: str
    #: Writes into the output folder or the state database: refuses to run without a config
    #: file, rather than create ``output/`` in whatever folder it was started in.
    writes: bool = False

    def summary(self, language: str) -> str:
        return self.zh if language == "zh" else self.en


COMMANDS: tuple[Command, ...] = (
    Command("validate", "validate", "检查台账（投诉登记台账），逐行列出发现的问题",
            "check the register (投诉登记台账) and list the problems found, row by row",
            "complaint-toolkit validate --today 2026-11-23 --report output/检查报告.xlsx"),
    Command("init-register", "init_register", "新建一个空台账 .xlsx，带下拉列表和“填写说明”工作表",
            "create a new, empty register .xlsx with drop-down lists and an instructions sheet",
            "complaint-toolkit init-register 新台账.xlsx"),
    Command("generate", "generate", "生成客诉反馈单、纠正预防措施单和投诉受理告知书（.docx，可选 PDF）",
            "render the feedback forms, CAPA sheets and acknowledgement letters as .docx (and PDF)",
            "complaint-toolkit generate --today 2026-11-23 --only KS-2026-001", writes=True),
    Command("check-templates", "check_templates", "检查文档模板（{{ }} 标签和 Word 合并域），指出没有字段提供的占位符",
            "check the document templates ({{ }} tags and Word merge fields) and report placeholders no field provides",
            "complaint-toolkit check-templates --names"),
    Command("remind", "remind", "发送逾期答复、回访和纠正措施的提醒（邮件、企业微信、钉钉、飞书群，逐级上升）",
            "send reminders about overdue replies, follow-ups and corrective actions (e-mail, WeCom, DingTalk, Feishu)",
            "complaint-toolkit remind --today 2026-11-23 --dry-run", writes=True),
    Command("run", "run", "每日任务：检查台账、生成文档、发送提醒、记录本次运行",
            "the main job: validate the register, file its documents, send reminders, record the run",
            "complaint-toolkit run --today 2026-11-23", writes=True),
    Command("schedule", "schedule", "常驻运行，在工作日的 [schedule] 时间执行每日任务（--once：现在执行一次后退出）",
            "keep running and do the main job at [schedule] times on working days (--once: now, then exit)",
            "complaint-toolkit schedule --once --quiet", writes=True),
    Command("report", "report", "生成统计工作簿和看板页：趋势、帕累托图、及时率和满意度",
            "write the statistics workbook and dashboard: trends, Pareto charts, on-time and satisfaction rates",
            "complaint-toolkit report --from 2026-01-01 --to 2026-11-30 --out output/统计.xlsx", writes=True),
    Command("history", "history", "显示运行记录（开始、结束、台账哈希、计数、错误），最新的在前",
            "show the recorded runs (start, end, register hash, counts, errors), newest first",
            "complaint-toolkit history --limit 5", writes=True),
)

_MESSAGES: Messages = {
    "description": {"zh": "检查投诉登记台账、生成存档文档、发送提醒、统计报表。",
                    "en": "Validate the complaint register, file its documents, send reminders, report."},
    "epilog": {"zh": "例：complaint-toolkit --config config.toml validate\n"
                     "每个命令的说明：complaint-toolkit 命令 --help",
               "en": "Example: complaint-toolkit --config config.toml validate\n"
                     "Help on one command: complaint-toolkit COMMAND --help"},
    "example": {"zh": "例：{example}", "en": "Example: {example}"},
    "commands": {"zh": "命令", "en": "commands"},
    "version": {"zh": "显示版本号并退出", "en": "show the version and exit"},
    "config": {"zh": "配置文件（默认：$TOOLKIT_CONFIG，否则 ./config.toml）",
               "en": "config file (default: $TOOLKIT_CONFIG, else ./config.toml)"},
    "debug": {"zh": "出错时显示完整的调用栈和调试日志", "en": "show tracebacks and debug logging"},
    "verbose": {"zh": "同时显示进度信息（INFO）", "en": "also show progress messages (INFO)"},
    "quiet": {"zh": "成功时什么也不打印，只在出错时输出（适合 cron）",
              "en": "print nothing when all went well; only errors (for cron)"},
    "no-command": {"zh": "没有“{name}”这个命令。", "en": "there is no command '{name}'."},
    "maybe": {"zh": "是否应为 {names}？", "en": "Did you mean {names}?"},
    "known": {"zh": "可用命令：{names}。", "en": "Commands: {names}."},
    "no-config-writes": {
        "zh": "找不到配置文件（--config、$TOOLKIT_CONFIG 或当前文件夹中的 config.toml）。{command} 会写入输出文件夹"
              "和状态数据库，所以没有配置文件时不运行，以免在当前文件夹（{cwd}）里建出 output/。请到 config.toml "
              "所在的文件夹运行，或用 --config 指定配置文件。",
        "en": "no config file found (--config, $TOOLKIT_CONFIG or ./config.toml). {command} writes to the output "
              "folder and the state database, so it does not run without one rather than create output/ in the "
              "current folder ({cwd}). Run it in the folder of your config.toml, or pass --config.",
    },
    "no-config": {
        "zh": "找不到配置文件（--config、$TOOLKIT_CONFIG 或 ./config.toml）：使用默认设置，台账 {register}",
        "en": "no config file found (--config, $TOOLKIT_CONFIG or ./config.toml): using the defaults, "
              "register {register}",
    },
    "interrupted": {"zh": "已中断。", "en": "Interrupted."},
    "error": {"zh": "错误：", "en": "Error: "},
}

#: argparse's own messages (it words them through gettext) in Chinese.
_ARGPARSE_ZH = {
    "usage: ": "用法：",
    "positional arguments": "位置参数",
    "options": "选项",
    "show this help message and exit": "显示此帮助并退出",
    "%(prog)s: error: %(message)s\n": "%(prog)s：错误：%(message)s\n",
    "the following arguments are required: %s": "缺少必需的参数：%s",
    "unrecognized arguments: %s": "无法识别的参数：%s",
    "invalid choice: %(value)r (choose from %(choices)s)": "无效的选择 %(value)r（可选：%(choices)s）",
    "expected one argument": "需要一个值",
    "expected at least one argument": "至少需要一个值",
    "expected at most one argument": "最多只能有一个值",
    "invalid %(type)s value: %(value)r": "无效的 %(type)s 值：%(value)r",
    "argument %(argument_name)s: %(message)s": "参数 %(argument_name)s：%(message)s",
    "ambiguous option: %(option)s could match %(matches)s": "有歧义的选项：%(option)s 可匹配 %(matches)s",
    "not allowed with argument %s": "不能与参数 %s 同时使用",
    "one of the arguments %s is required": "需要参数 %s 之一",
    "ignored explicit argument %r": "忽略了显式给出的值 %r",
    "can't open '%(filename)s': %(error)s": "无法打开 '%(filename)s'：%(error)s",
}


def _speak_argparse(language: str) -> None:
    """Make argparse word its messages in ``language``. It looks up ``_`` and ``ngettext`` (the
    gettext functions it imported) at call time, so swapping them is enough; a gettext catalogue
    would need a compiled .mo file per language for the same 20 strings."""
    if language == "zh":
        argparse._ = lambda text: _ARGPARSE_ZH.get(text, text)  # type: ignore[attr-defined]
        argparse.ngettext = lambda one, many, n: "需要 %s 个值" if one == "expected %s argument" else (  # type: ignore[attr-defined]
            one if n == 1 else many)
    else:
        argparse._ = gettext.gettext  # type: ignore[attr-defined]
        argparse.ngettext = gettext.ngettext  # type: ignore[attr-defined]


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """argparse ends section titles with a hard-coded ASCII colon; Chinese takes the full-width one."""

    def format_help(self) -> str:
        text = super().format_help()
        if _common.HELP_LANGUAGE == "zh":
            text = re.sub(r"^(\S[^\n]*?):\n", r"\1：\n", text, flags=re.MULTILINE)
        return text


def _t(key: str, language: str, **values: Any) -> str:
    return translate(_MESSAGES, key, language, **values)


def _all_commands() -> list[Command]:
    """The registry, plus any command module it does not list yet (found by name, imported for
    its ``HELP``), so a new command works before anyone adds its line above."""
    known = {c.module for c in COMMANDS}
    extra = []
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_") and info.name not in known:
            module = importlib.import_module(f"{__name__}.{info.name}")
            help_text = getattr(module, "HELP", module.NAME)
            extra.append(Command(module.NAME, info.name, help_text, help_text, f"complaint-toolkit {module.NAME}",
                                 writes=True))
    return [*COMMANDS, *extra]


def _global_options(parser: argparse.ArgumentParser, language: str, *, suppress: bool) -> None:
    """``--config``, ``--debug``, ``-v``, ``-q``: before the command or after it. The copies on
    each command default to SUPPRESS, so a value given before the command is not overwritten."""
    default: Any = argparse.SUPPRESS if suppress else None
    flag: Any = argparse.SUPPRESS if suppress else False
    parser.add_argument("--config", metavar="PATH", default=default, help=_t("config", language))
    parser.add_argument("--debug", action="store_true", default=flag, help=_t("debug", language))
    parser.add_argument("-v", "--verbose", action="store_true", default=flag, help=_t("verbose", language))
    parser.add_argument("-q", "--quiet", action="store_true", default=flag, help=_t("quiet", language))


def build_parser(language: str = "zh", command: str | None = None) -> argparse.ArgumentParser:
    """The parser, with the options of ``command`` only (the others are listed, not imported)."""
    _speak_argparse(language)
    _common.HELP_LANGUAGE = language
    parser = argparse.ArgumentParser(prog="complaint-toolkit", description=_t("description", language),
                                     epilog=_t("epilog", language),
                                     formatter_class=_Formatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}",
                        help=_t("version", language))
    _global_options(parser, language, suppress=False)
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, language, suppress=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, title=_t("commands", language))
    for entry in _all_commands():
        summary = entry.summary(language)
        cmd = sub.add_parser(entry.name, help=summary, description=summary, parents=[common],
                             epilog=_t("example", language, example=entry.example),
                             formatter_class=_Formatter)
        if entry.name == command:
            module = importlib.import_module(f"{__name__}.{entry.module}")
            module.add_arguments(cmd)
            cmd.set_defaults(_run=module.run, _verbose=getattr(module, "VERBOSE", False), _writes=entry.writes)
    return parser


def _scan(argv: Sequence[str]) -> tuple[str | None, str | None]:
    """(the --config value, the command word) from the raw arguments, before parsing: the
    config says which language --help speaks, the command which module to import."""
    config = command = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--config" and i + 1 < len(argv):
            config = argv[i + 1]
            i += 2
            continue
        if arg.startswith("--config="):
            config = arg.partition("=")[2]
        elif arg == "--":
            break
        elif not arg.startswith("-") and command is None:
            command = arg
        i += 1
    return config, command


def _language_for(config_arg: str | None) -> str:
    """The language of the config the command would use, without loading it (a broken config
    must not break --help): its ``language = "en"`` line, else Chinese."""
    try:
        path = find_config(config_arg)
        if path is not None and path.is_file():
            return sniff_language(path.read_bytes().decode("utf-8-sig", "replace"))
    except OSError:
        pass
    return "zh"


def _unknown_command(parser: argparse.ArgumentParser, name: str, language: str) -> int:
    names = [c.name for c in _all_commands()]
    message = _t("no-command", language, name=name)
    close = difflib.get_close_matches(name, names, n=2, cutoff=0.5)
    sep = "" if language == "zh" else " "
    if close:
        message += sep + _t("maybe", language, names=("、" if language == "zh" else " or ").join(close))
    message += sep + _t("known", language, names=("、" if language == "zh" else ", ").join(names))
    parser.print_usage(sys.stderr)
    print(f"complaint-toolkit{'：' if language == 'zh' else ': '}{_t('error', language)}{message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    # Output redirected to a file on a Chinese Windows is encoded in GBK: a character it lacks
    # (¶, ✓) must become "?" rather than end the command with a UnicodeEncodeError.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    _terminate_as_interrupt()
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except BrokenPipeError:
        # `complaint-toolkit validate | head`: the reader has gone; end quietly, as `cat` does.
        # Python flushes stdout once more at exit: point it at devnull so that flush cannot fail.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a command ended by a closed pipe


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, systemd, a container stopping), met as Ctrl-C is: the run in progress
    records itself interrupted and the command ends with 128 + 15."""


def _terminate_as_interrupt() -> None:
    # Without a handler SIGTERM ends the process on the spot: no run record, no message. The
    # scheduler installs its own (finish the job in progress, then stop).
    if not hasattr(signal, "SIGTERM") or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def handler(signum: int, frame: object) -> None:
        raise Terminated

    with contextlib.suppress(ValueError):  # not the main thread (main() called from a thread)
        signal.signal(signal.SIGTERM, handler)


def _main(argv: list[str]) -> int:
    config_arg, command = _scan(argv)
    language = _language_for(config_arg)
    names = {c.name for c in _all_commands()}
    if command is not None and command not in names:
        return _unknown_command(build_parser(language), command, language)
    parser = build_parser(language, command)
    args = parser.parse_args(argv)
    # Staff read the results, not progress chatter: INFO only when asked (or for `schedule`,
    # whose console is a running log). The run's log file always gets INFO.
    if args.debug:
        level = logging.DEBUG
    elif args.quiet:
        level = logging.ERROR
    elif args.verbose or args._verbose:
        level = logging.INFO
    else:
        level = logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s", stream=sys.stderr)
    held = io.StringIO() if args.quiet else None
    code = 2
    try:
        try:
            config = load_config(args.config)
            language = config.language
            _common.HELP_LANGUAGE = language
            if config.source is None:
                if args._writes:
                    error = ConfigError(_t("no-config-writes", language, command=args.command, cwd=Path.cwd()))
                    error.language = language
                    raise error
                # The register the command reads: --register when given, not the default it replaces.
                given = getattr(args, "register", None)
                log.warning("%s", _t("no-config", language, register=given or config.register_path))
            if held is not None:
                sys.stdout, real = held, sys.stdout
                try:
                    code = int(args._run(args, config))
                finally:
                    sys.stdout = real
            else:
                code = int(args._run(args, config))
        except ToolkitError as exc:
            if args.debug:
                traceback.print_exc()
            language = exc.language or language
            print(f"{_t('error', language)}{exc.text(language)}", file=sys.stderr)
            code = exc.exit_code
        except KeyboardInterrupt as exc:
            print(_t("interrupted", language), file=sys.stderr)
            code = 143 if isinstance(exc, Terminated) else 130
    finally:
        # -q: what the command printed is shown only when it did not succeed (cron mails it).
        if held is not None and code != 0 and held.getvalue():
            sys.stdout.write(held.getvalue())
    return code
