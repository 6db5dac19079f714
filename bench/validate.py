"""Benchmark reading and validating the register against a bare calamine read.

    python bench/validate.py              # 10k and 100k rows
    python bench/validate.py 100000 --repeat 3
    python bench/validate.py --libreoffice     # the same registers re-saved by LibreOffice
    python bench/validate.py --merged          # laid out as WPS exports them (two-row header, merged rows)

For each size, a synthetic register (bench/make_register.py) is generated into /tmp if it is
not there yet, then measured in this one process: the *floor* (python-calamine opening the
file and turning every sheet into lists, nothing else), ``read_register`` and
``toolkit.validate.validate``. With ``--repeat`` each figure is the best of that many runs,
which steadies the figures on a busy machine. openpyxl writes every text as an inline string
with each CJK character escaped (``&#25237;``), which slows calamine; ``--libreoffice``
measures the register re-saved by LibreOffice (shared strings, as office programs save it),
where the floor is lower and the reader's own share larger. The *command* columns time the whole
``python -m toolkit validate --format json`` process (start-up, read, rules, JSON out) and its peak
memory, as a user meets it, against the floor and against the bare read run as a command of its
own (*bare cmd*: a fresh interpreter that maps its memory anew, as the command does; the floor
above runs in this warmed-up process). Targets (issue #15): the whole command on 100k rows
within 1.5x the floor and 500 MB. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import shutil
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

from _floor import calamine_floor, peak_rss_mb, timed
from make_register import TODAY, make_register

from toolkit.config import Config
from toolkit.register import read_register
from toolkit.validate import validate

#: Synthetic registers are generated once and kept here ($TOOLKIT_BENCH_DIR to move them).
BENCH_DIR = Path(os.environ.get("TOOLKIT_BENCH_DIR") or Path(tempfile.gettempdir()) / "complaint-toolkit-bench")


def register_file(rows: int, libreoffice: bool = False, merged: bool = False) -> Path:
    """The synthetic register with ``rows`` rows, generated on first use."""
    path = BENCH_DIR / (f"register-merged-{rows}.xlsx" if merged else f"register-{rows}.xlsx")
    if not path.exists():
        print(f"generating {path} ...", file=sys.stderr)
        make_register(rows, path, merged=merged)
    if not libreoffice:
        return path
    saved = BENCH_DIR / "libreoffice" / path.name
    if not saved.exists():
        print(f"re-saving {path.name} with LibreOffice ...", file=sys.stderr)
        subprocess.run(["soffice", "-env:UserInstallation=file:///tmp/lo-complaint-bench", "--headless",
                        "--convert-to", "xlsx", "--outdir", str(saved.parent), str(path)],
                       check=True, capture_output=True, timeout=900)
    return saved


#: ``python -m toolkit ...`` as it is, plus its own peak memory written at exit: VmHWM, since a child's
#: ru_maxrss keeps the high-water mark of the parent it was forked from (Linux copies it at exec).
_COMMAND = """
import atexit, os, runpy, sys
def _peak():
    if os.path.exists("/proc/self/status"):
        with open("/proc/self/status") as status, open(os.environ["TOOLKIT_BENCH_PEAK"], "w") as out:
            out.write(next(line.split()[1] for line in status if line.startswith("VmHWM")))
atexit.register(_peak)
sys.argv[0] = "toolkit"
runpy.run_module("toolkit", run_name="__main__", alter_sys=True)
"""


def run_command(path: Path, today: dt.date) -> tuple[float, float]:
    """Wall seconds and peak MB of ``python -m toolkit validate`` on ``path``, in a child process."""
    argv = [sys.executable, "-c", _COMMAND, "validate", "--register", str(path), "--today", today.isoformat(),
            "--format", "json"]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as peak_file:
        start = time.perf_counter()
        child = subprocess.Popen(argv, stdout=out, stderr=err, cwd=tempfile.gettempdir(),
                                 env={**os.environ, "TOOLKIT_BENCH_PEAK": peak_file.name})
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        # Exit 1 is "findings of severity error", but also Python's for a crash: the JSON says which.
        if os.waitstatus_to_exitcode(status) not in (0, 1) or out.read(1) != b"{":
            raise SystemExit(f"validate failed on {path}: {err.read()[-2000:].decode(errors='replace')}")
        written = peak_file.read().strip()
    if written:
        return seconds, int(written) / 1024
    # No /proc (macOS): ru_maxrss, which may include the parent's high-water mark.
    return seconds, usage.ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else usage.ru_maxrss / 1024


_BARE_READ = ("import sys, python_calamine\n"
              "workbook = python_calamine.load_workbook(sys.argv[1])\n"
              "for name in workbook.sheet_names:\n"
              "    workbook.get_sheet_by_name(name).to_python()\n")


def command_floor(path: Path) -> float:
    """Wall seconds of the bare calamine read as a command of its own (a fresh interpreter that
    maps its memory anew, as ``python -m toolkit validate`` does): the floor for the command."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", _BARE_READ, str(path)], check=True, cwd=tempfile.gettempdir())
    return time.perf_counter() - start


def measure(rows: int, repeat: int, today: dt.date, libreoffice: bool = False,
            merged: bool = False) -> dict[str, float]:
    path = register_file(rows, libreoffice, merged)
    config = Config()
    floor = read = check = command = bare_command = float("inf")
    command_mb = 0.0
    records = 0
    for _ in range(repeat):
        floor = min(floor, calamine_floor(path))
        bare_command = min(bare_command, command_floor(path))
        seconds, peak = run_command(path, today)
        command, command_mb = min(command, seconds), max(command_mb, peak)
        gc.collect()
        register, seconds = timed(partial(read_register, config, path))
        read = min(read, seconds)
        _, seconds = timed(partial(validate, register, config, today))
        check = min(check, seconds)
        records = len(register.records)
        register = None
        gc.collect()
    total = read + check
    return {"rows": records, "floor": floor, "read": read, "validate": check, "total": total,
            "read_ratio": read / floor, "ratio": total / floor, "rows_s": records / total,
            "rss": peak_rss_mb(), "command": command, "command_ratio": command / floor, "command_mb": command_mb,
            "bare_command": bare_command, "command_floor_ratio": command / bare_command}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000], help="rows per register")
    parser.add_argument("--repeat", type=int, default=1, help="runs per figure; the best is shown")
    parser.add_argument("--libreoffice", action="store_true",
                        help="measure the registers re-saved by LibreOffice (needs soffice)")
    parser.add_argument("--merged", action="store_true",
                        help="the same complaints laid out as WPS exports them: two-row header, every tenth "
                             "complaint over two merged rows (what merge handling costs)")
    args = parser.parse_args(argv)
    if args.libreoffice and shutil.which("soffice") is None:
        print("LibreOffice (soffice) is not installed here: the re-saved registers are not measured")
        return 0
    print(f"{'rows':>8} {'floor s':>8} {'read s':>8} {'valid. s':>8} {'total s':>8} "
          f"{'read/fl':>8} {'tot/fl':>8} {'rows/s':>9} {'peak MB':>8} {'cmd s':>7} {'cmd/fl':>7} {'cmd MB':>7} "
          f"{'bare cmd':>8} {'cmd/bare':>8}")
    for size in args.sizes:
        m = measure(size, max(1, args.repeat), TODAY, args.libreoffice, args.merged)
        print(f"{m['rows']:>8,.0f} {m['floor']:>8.2f} {m['read']:>8.2f} {m['validate']:>8.2f} "
              f"{m['total']:>8.2f} {m['read_ratio']:>7.2f}x {m['ratio']:>7.2f}x {m['rows_s']:>9,.0f} "
              f"{m['rss']:>8.0f} {m['command']:>7.2f} {m['command_ratio']:>6.2f}x {m['command_mb']:>7.0f} "
              f"{m['bare_command']:>8.2f} {m['command_floor_ratio']:>7.2f}x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
