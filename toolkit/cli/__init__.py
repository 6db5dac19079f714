"""The command line: a thin layer over the library.

Each command lives in its own module in this package and defines ``NAME``, ``HELP``,
``ORDER`` (position in ``--help``), ``add_arguments(parser)`` and ``run(args, config) -> int``.
A command parses options, loads config, calls one library function, prints its result and
returns an exit code. Library errors (:class:`toolkit.errors.ToolkitError`) become one line
``错误：...`` (``Error: ...`` in English) and exit 2; ``--debug``
shows the traceback. The console shows warnings and errors; ``-v`` adds progress (INFO).

Exit codes: 0 fine, 1 findings of severity error (validate), 2 cannot run (bad input or
config), 3 some reminders could not be delivered, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType

from .. import __version__
from ..config import load_config
from ..errors import ToolkitError

log = logging.getLogger("toolkit")


def _command_modules() -> list[ModuleType]:
    modules = []
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            modules.append(importlib.import_module(f"{__name__}.{info.name}"))
    return sorted(modules, key=lambda m: (getattr(m, "ORDER", 100), m.NAME))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="complaint-toolkit",
        description="Validate the complaint register, file its documents, send reminders, report.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="PATH",
                        help="config file (default: $TOOLKIT_CONFIG, else ./config.toml)")
    common.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    common.add_argument("-v", "--verbose", action="store_true", help="also show progress messages (INFO)")
    common.add_argument("-q", "--quiet", action="store_true", help="only errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _command_modules():
        cmd = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP, parents=[common])
        module.add_arguments(cmd)
        cmd.set_defaults(_run=module.run, _verbose=getattr(module, "VERBOSE", False))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Output redirected to a file on a Chinese Windows is encoded in GBK: a character it lacks
    # (¶, ✓) must become "?" rather than end the command with a UnicodeEncodeError.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    parser = build_parser()
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
    language = "zh"  # the default, until the config says otherwise
    try:
        config = load_config(args.config)
        language = config.language
        if config.source is None:
            log.warning("no config file found (--config, $TOOLKIT_CONFIG or ./config.toml): using the "
                        "defaults, register %s", config.register_path)
        return int(args._run(args, config))
    except ToolkitError as exc:
        if args.debug:
            raise
        language = exc.language or language
        print(f"{'错误：' if language == 'zh' else 'Error: '}{exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
