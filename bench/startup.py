"""Start-up time of the command line: whole-process timing and ``python -X importtime``.

    python bench/startup.py               # 7 repeats, best kept
    python bench/startup.py --repeat 3

Times, each in a fresh process: a bare interpreter (the floor), ``complaint-toolkit --help``
(target ≤ 0.3 s) and ``validate`` on the shipped example register (target ≤ 0.5 s), and prints
the ratio of each to the floor. Then ``python -X importtime`` of loading the shipped config: how
many modules that pulls in, and whether any stage or heavy library is among them
(the config must import nothing above it).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"--help": 0.3, "validate": 0.5}
#: What the ground floor must not load: the stages above it and their heavy libraries.
HEAVY = ("openpyxl", "holidays", "smtplib", "docx", "docxtpl", "jinja2", "python_calamine", "schedule",
         "toolkit.report", "toolkit.scheduler", "toolkit.register", "toolkit.mail", "toolkit.documents")


def best(command: list[str], repeat: int, tree: Path = ROOT) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("TOOLKIT_CONFIG", None)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return min(times)


def imported_by(statement: str, tree: Path = ROOT) -> list[tuple[str, int]]:
    """(module, cumulative microseconds) for each module ``statement`` imports."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", statement], cwd=tree,
                          env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True, text=True, check=True)
    out = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line.split("|"))
        if cumulative.isdigit():
            out.append((name, int(cumulative)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--before", type=Path, metavar="TREE",
                        help="also time another source tree (e.g. `git archive OLD | tar -x -C TREE`), same run")
    args = parser.parse_args(argv)
    python = sys.executable
    floor = best([python, "-c", "pass"], args.repeat)
    cli = [python, "-m", "toolkit"]
    config = str(ROOT / "config.toml")
    figures = {
        "--help": best([*cli, "--help"], args.repeat),
        "validate": best([*cli, "validate", "--config", config, "--today", "2026-11-23"], args.repeat),
    }
    print(f"bare interpreter (floor): {floor:.3f} s  (machine shared, 2 cores; best of {args.repeat})")
    if args.before:
        old = args.before.resolve()
        for name, command in (("--help", [*cli, "--help"]),
                              ("validate", [*cli, "validate", "--config", str(old / "config.toml"), "--today",
                                            "2026-11-23"])):
            seconds = best(command, args.repeat, old)
            print(f"before ({old}): complaint-toolkit {name:9s} {seconds:.3f} s = {seconds / floor:.1f}x the floor")
    ok = True
    for name, seconds in figures.items():
        target = TARGETS[name]
        verdict = "ok" if seconds <= target else "OVER"
        ok &= seconds <= target
        print(f"complaint-toolkit {name:9s} {seconds:.3f} s = {seconds / floor:.1f}x the floor; target ≤ {target} s: "
              f"{verdict}")
    load = "import toolkit.config as c; c.load_config('config.toml')"
    trees = [("before", args.before.resolve())] if args.before else []
    for label, tree in [*trees, ("now", ROOT)]:
        modules = imported_by(load, tree)
        names = {name for name, _ in modules}
        heavy = sorted({n for n in names if n in HEAVY} | {n.split(".")[0] for n in names if n.split(".")[0] in HEAVY})
        print(f"{label}: loading the config imports {len(modules)} modules; stages or heavy libraries among "
              f"them: {', '.join(heavy) or 'none'}")
    ok &= not heavy
    slowest = sorted((m for m in imported_by("import toolkit.cli.validate") if m[0].startswith("toolkit")),
                     key=lambda m: -m[1])[:5]
    print("now, validate command imports (cumulative): "
          + ", ".join(f"{name} {us / 1000:.0f} ms" for name, us in slowest))
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    raise SystemExit(main())
