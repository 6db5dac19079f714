"""Benchmark the main job on an unchanged register: a rerun must touch no document and cost
little more than reading the file.

    python bench/run.py                      # 10,000 and 100,000 rows
    python bench/run.py 10000 --repeat 3

From the second run on the same bytes the job keeps the records it parsed (toolkit/readcache.py),
so an unchanged register is not parsed again; the same rerun without that cache is printed too
("first run": the daily run after staff changed the register).

For each size: write a synthetic register (bench/make_register.py; cached in --workdir), run
the job once to file every document and send every reminder (the outbox transport), then time
``run_job`` again on the same register and the same day. Prints the bare calamine read of the
file (the floor, bench/_floor.py), the rerun's seconds and its ratio to the floor, seconds per
stage, and checks that no document and no mail was written (modification times compared).
The best of ``--repeat`` timings is kept for both the floor and the rerun.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._floor import calamine_floor, peak_rss_mb, timed
from bench.make_register import make_register
from toolkit import readcache
from toolkit.config import Config, config_from_dict
from toolkit.job import JobResult, run_job

TODAY = dt.date(2026, 11, 23)
NOW = dt.datetime(2026, 11, 23, 9, 0)


def files(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and modification time (ns)."""
    out = {}
    for base, _, names in os.walk(folder):
        for name in names:
            stat = os.stat(os.path.join(base, name))
            out[os.path.join(base, name)] = (stat.st_size, stat.st_mtime_ns)
    return out


def config_for(register: Path, out: Path) -> Config:
    return config_from_dict({
        "register": {"path": str(register)},
        "output": {"dir": str(out)},
        "documents": {"dir": str(out / "documents")},
        "mail": {"transport": "outbox", "outbox_dir": str(out / "outbox")},
        "reminders": {"quality_manager": "quality.manager@example.com"},
    })


def timed_run(config: Config) -> tuple[JobResult, float]:
    result, seconds = timed(lambda: run_job(config, today=TODAY, now=NOW))
    result.details.clear()  # drop the records: results kept for the report must not pile up in memory
    return result, seconds


_CHILD = """
import sys
sys.path.insert(0, {root!r})
from pathlib import Path
from bench.run import NOW, TODAY, config_for
from toolkit import readcache
from toolkit.job import run_job
config = config_for(Path({register!r}), Path({out!r}))
if {cold!r}:
    cache = readcache.cache_path(config)
    cache.unlink(missing_ok=True)
    cache.with_name(cache.name + ".seen").unlink(missing_ok=True)
code = run_job(config, today=TODAY, now=NOW).exit_code
# VmHWM: this process's own high-water mark (ru_maxrss would keep the forking parent's after exec).
status = Path("/proc/self/status")
if status.exists():
    print(next(int(line.split()[1]) / 1024 for line in status.read_text().splitlines() if line.startswith("VmHWM")))
else:
    import resource
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024))
sys.exit(code)
"""


def child_peak_mb(register: Path, out: Path, *, cold: bool) -> float:
    """Peak RSS of the daily run alone, in a fresh process (the bench's own process also holds
    the setup run's leftovers): ``cold`` is the first run after staff changed the register."""
    code = _CHILD.format(root=str(Path(__file__).resolve().parent.parent), register=str(register),
                         out=str(out), cold=cold)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"FAILED: the measured run exited {done.returncode}: {done.stderr[-2000:]}")
    return float(done.stdout.split()[-1])


def bench(rows: int, workdir: Path, repeat: int) -> None:
    register = workdir / f"register-{rows}.xlsx"
    if not register.exists():
        _, seconds = timed(lambda: make_register(rows, register))
        print(f"  wrote {register} in {seconds:.1f} s")
    config = config_for(register, workdir / f"out-{rows}")
    first, seconds = timed_run(config)
    print(f"  setup run:  {seconds:.1f} s, documents {first.documents}, reminders {first.reminders}")

    # A second run on the same bytes is when the job keeps its parsed records (toolkit/readcache.py).
    _, seconds = timed_run(config)
    print(f"  second run: {seconds:.1f} s (keeps the parsed register for later runs)")
    before = files(config.output_dir / "documents"), files(config.output_dir / "outbox")
    floors = [calamine_floor(register) for _ in range(repeat)]
    reruns = [timed_run(config) for _ in range(repeat)]
    cold = []  # the same run as the first one after staff changed the register: nothing cached
    for _ in range(repeat):
        cache = readcache.cache_path(config)
        cache.unlink(missing_ok=True)
        cache.with_name(cache.name + ".seen").unlink(missing_ok=True)
        cold.append(timed_run(config))
    after = files(config.output_dir / "documents"), files(config.output_dir / "outbox")
    result, rerun = min(reruns, key=lambda r: r[1])
    floor = min(floors)
    touched = sum(1 for name, stat in after[0].items() if before[0].get(name) != stat)
    mails = len(after[1]) - len(before[1])
    stages = ", ".join(f"{s.name} {s.seconds:.2f}" for s in result.stages)
    print(f"  rows:       {result.rows:,} ({result.findings.get('error', 0):,} error findings)")
    print(f"  documents:  {result.documents.get('unchanged', 0):,} unchanged, "
          f"{result.documents.get('skipped', 0):,} skipped (rows with errors); {touched} touched")
    print(f"  reminders:  {result.reminders.get('already-sent', 0)} already sent, "
          f"{result.reminders.get('sent', 0)} sent; {mails} new mail files")
    print(f"  floor:      {floor:.2f} s (bare calamine read, best of {repeat})")
    print(f"  rerun:      {rerun:.2f} s (best of {repeat}) = {rerun / floor:.2f}x the floor")
    print(f"  by stage:   {stages} s")
    checked = sum(result.documents.values())
    documents_s = next((st.seconds for st in result.stages if st.name == "documents"), 0.0)
    print(f"  documents check: {documents_s:.2f} s for {checked:,} documents "
          f"({1e6 * documents_s / max(1, checked):.1f} µs a document, {documents_s / floor:.2f}x the floor; "
          "target ≤ 2 s at 122k documents)")
    cold_result, cold_seconds = min(cold, key=lambda r: r[1])
    cold_stages = ", ".join(f"{s.name} {s.seconds:.2f}" for s in cold_result.stages)
    print(f"  first run:  {cold_seconds:.2f} s = {cold_seconds / floor:.2f}x the floor ({cold_stages} s)")
    print(f"  peak RSS:   {peak_rss_mb():.0f} MB (this process, setup run included)")
    cold_mb = child_peak_mb(register, config.output_dir, cold=True)
    warm_mb = child_peak_mb(register, config.output_dir, cold=False)
    print(f"  daily run's own peak (fresh process): {cold_mb:.0f} MB after a change, {warm_mb:.0f} MB "
          "on unchanged bytes (target ≤ 600 MB at 100k)")
    if touched or mails or result.exit_code != 0:
        raise SystemExit(f"FAILED: {touched} documents touched, {mails} mails written, "
                         f"exit code {result.exit_code}: {result.errors}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/complaint-toolkit-bench-run"),
                        help="registers and outputs are kept here, so a second bench skips the setup")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    for rows in args.sizes:
        print(f"{rows:,} rows:")
        bench(rows, args.workdir, max(1, args.repeat))


if __name__ == "__main__":
    main()
