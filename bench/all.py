"""Every performance figure of the README, each against its floor, in one run.

    python bench/all.py              # the sizes of the README's performance table (tens of minutes)
    python bench/all.py --quick      # small sizes: checks that every script still runs

Runs each bench script in turn, in its own process (so one script's memory or caches never
colour the next), prints its output as it comes and, at the end, the lines of each that carry a
ratio ("1.42x"), under the script's name, with the date and the machine's core count. Each
script measures its floor in the same process run, so the ratios stay comparable on a busy
machine; the seconds do not.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (title, arguments for the full run, arguments for --quick)
SCRIPTS: list[tuple[str, list[str], list[str]]] = [
    ("validate", ["bench/validate.py", "100000", "--repeat", "2"], ["bench/validate.py", "300"]),
    # The same register as Excel, WPS and LibreOffice save it (shared strings): the lower floor.
    ("validate (re-saved by LibreOffice)", ["bench/validate.py", "100000", "--libreoffice", "--repeat", "2"],
     ["bench/validate.py", "300", "--libreoffice"]),
    ("run (daily job)", ["bench/run.py", "100000"], ["bench/run.py", "300", "--repeat", "1"]),
    ("generate", ["bench/generate.py", "1000"], ["bench/generate.py", "30"]),
    ("generate --pdf", ["bench/pdf.py"], ["bench/pdf.py", "--limit", "3", "--repeat", "1"]),
    ("remind", ["bench/remind.py"],
     ["bench/remind.py", "--complaints", "300", "--handlers", "20", "--groups", "20", "--rows", "300",
      "--rounds", "1"]),
    ("startup", ["bench/startup.py"], ["bench/startup.py", "--repeat", "1"]),
    ("kill drill", ["bench/crash.py", "--rows", "800"], ["bench/crash.py", "--rows", "60", "--rounds", "1"]),
]

RATIO = re.compile(r"\d\.?\d*\s?[x×]")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--only", nargs="*", default=None, help="titles to run (default: all)")
    args = parser.parse_args(argv)

    summary: list[tuple[str, int, float, list[str]]] = []
    for title, full, quick in SCRIPTS:
        if args.only and title.split()[0] not in args.only:
            continue
        command = quick if args.quick else full
        if not (ROOT / command[0]).exists():
            summary.append((title, -1, 0.0, [f"(missing: {command[0]})"]))
            continue
        print(f"\n=== {title}: python {' '.join(command)}", flush=True)
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, *command], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        lines: list[str] = []
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            lines.append(line.rstrip("\n"))
        code = proc.wait()
        summary.append((title, code, time.perf_counter() - started, [ln for ln in lines if RATIO.search(ln)]))

    print(f"\n=== summary: {dt.date.today().isoformat()}, {os.cpu_count()} cores"
          f"{' (quick sizes)' if args.quick else ''}")
    failed = 0
    for title, code, seconds, ratio_lines in summary:
        state = "ok" if code == 0 else ("missing" if code < 0 else f"exit {code}")
        failed += code != 0
        print(f"- {title}: {state}, {seconds:.0f} s")
        for line in ratio_lines:
            print(f"    {line.strip()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
