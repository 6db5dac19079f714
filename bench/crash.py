"""The kill drill: ``run`` killed with SIGKILL at random moments, then run again, and checked.

    python bench/crash.py                       # 3,000 rows, 20 rounds
    python bench/crash.py --rows 500 --rounds 6 --seed 7

Each round starts a fresh output folder, starts ``complaint-toolkit run`` on the same register
(real SMTP to an aiosmtpd server on 127.0.0.1, documents rendered by worker processes), kills
the main process with SIGKILL at a random moment (as ``kill -9 PID`` does: its render workers,
if any, are not killed), and runs again at once in the same folder. The rounds cycle through
the three stages: a moment drawn while the register is read, while documents are rendered,
while reminders are sent (stage windows measured on an uninterrupted reference run). Checked
after each round, against the reference run:

- the next run was not refused (the lock of a killed run is taken over) and exits 0;
- no reminder lost: every (recipient, complaint) pair the reference run sent was received;
- at most one message repeated (the one in flight when the run was killed);
- the same documents exist as after the reference run and every .docx opens (zipfile check of
  all, python-docx on those written around the kill and a sample of the rest);
- no temporary file is left anywhere under the output folder, and no lock file;
- the register is byte-identical.

Prints the figures per round and in total, and the recovery run's time against the
uninterrupted run (the floor, same machine, same run). Exit 1 if any round failed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from smtp_server import SmtpServer  # noqa: E402

from bench.make_register import make_register  # noqa: E402

TODAY = "2026-11-23"
STAGES = ("reading", "rendering", "sending")
#: Complaint numbers as bench/make_register.py writes them (TS + received month + serial).
_ID = re.compile(r"TS\d{12}")


@dataclass
class Round:
    number: int
    aimed: str  # the stage the kill was aimed at
    at: float  # seconds after start
    stage: str = ""  # what the run was doing when killed: reading, rendering, sending, finished
    refused: bool = False
    rerun_code: int = 0
    rerun_seconds: float = 0.0
    lost: int = 0
    repeated: int = 0
    documents: int = 0
    documents_missing: int = 0
    unreadable: list[str] = field(default_factory=list)
    temp_files: list[str] = field(default_factory=list)
    register_changed: bool = False
    orphans: int = 0  # processes of the killed run still alive after it was killed
    pairs: int = 0

    @property
    def ok(self) -> bool:
        return (not self.refused and self.rerun_code == 0 and self.lost == 0 and self.repeated <= 1
                and self.documents_missing == 0 and not self.unreadable and not self.temp_files
                and not self.register_changed)

    def problems(self) -> str:
        out = []
        if self.refused:
            out.append("next run REFUSED")
        if self.rerun_code != 0:
            out.append(f"rerun exit {self.rerun_code}")
        if self.lost:
            out.append(f"{self.lost} reminder pairs LOST")
        if self.repeated > 1:
            out.append(f"{self.repeated} messages repeated")
        if self.documents_missing:
            out.append(f"{self.documents_missing} documents missing")
        if self.unreadable:
            out.append(f"unreadable: {self.unreadable[:3]}")
        if self.temp_files:
            out.append(f"temp files left: {self.temp_files[:3]}")
        if self.register_changed:
            out.append("REGISTER CHANGED")
        return "; ".join(out) or "ok"


@dataclass
class Drill:
    rows: int
    rounds: list[Round]
    reference_seconds: float
    windows: dict[str, tuple[float, float]]
    reference_pairs: int
    reference_documents: int

    @property
    def passed(self) -> int:
        return sum(r.ok for r in self.rounds)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _config(folder: Path, register: Path, port: int, workers: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    path.write_text(
        f"[register]\npath = '{register}'\n"
        f"[output]\ndir = 'output'\n"
        f"[documents]\nworkers = {workers}\n"
        f"[mail]\ntransport = 'smtp'\nhost = '127.0.0.1'\nport = {port}\ntimeout = 10\nretries = 1\n"
        f"retry_delay = 0.2\n"
        f"[reminders]\nquality_manager = 'quality.manager@example.com'\n",
        encoding="utf-8")
    return path


def _start(config: Path, name: str) -> subprocess.Popen[bytes]:
    """``run`` in its own process. Output goes to files, not pipes: orphaned workers of a killed
    run would keep a pipe open and block whoever waits for its end."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TOOLKIT_CONFIG", None)
    with open(config.parent / f"{name}.out", "wb") as out, open(config.parent / f"{name}.err", "wb") as err:
        return subprocess.Popen([sys.executable, "-m", "toolkit", "run", "--config", str(config), "--today", TODAY,
                                 "-q"], cwd=config.parent, env=env, stdout=out, stderr=err)


def _stderr(config: Path, name: str) -> str:
    return (config.parent / f"{name}.err").read_text(encoding="utf-8", errors="replace")


def _documents(folder: Path) -> list[Path]:
    base = folder / "output" / "documents"
    return sorted(p for p in base.rglob("*.docx")) if base.exists() else []


def _pairs(messages: list) -> Counter[tuple[str, str]]:
    """(envelope recipient, complaint number) pairs in the received digests."""
    pairs: Counter[tuple[str, str]] = Counter()
    for received in messages:
        text = received.data.decode("utf-8", "replace")
        message = received.message
        body = message.get_body(("plain",))
        if body is not None:
            text = body.get_content()
        ids = set(_ID.findall(text))
        for rcpt in received.rcpt_tos:
            for complaint in ids:
                pairs[(rcpt.lower(), complaint)] += 1
    return pairs


def _message_keys(messages: list) -> Counter[tuple[str, ...]]:
    return Counter((*sorted(r.lower() for r in m.rcpt_tos), str(m.message["Subject"])) for m in messages)


def _descendants(pid: int) -> list[int]:
    """The processes ``pid`` started, and theirs (render workers, the resource tracker)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir() if Path("/proc").exists() else []:
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _alive(pids: list[int]) -> list[int]:
    """Those of ``pids`` still running (a zombie is not)."""
    from toolkit.fsutil import pid_alive

    return [pid for pid in pids if pid_alive(pid)]


def _stray_files(folder: Path) -> list[str]:
    out = []
    for path in (folder / "output").rglob("*"):
        name = path.name
        if name.endswith(".tmp") or name.endswith(".new") or name.endswith(".lock"):
            out.append(str(path.relative_to(folder)))
    return out


def _check_docx(paths: list[Path], deep: set[Path]) -> list[str]:
    import docx

    bad = []
    for path in paths:
        try:
            with zipfile.ZipFile(path) as archive:
                if archive.testzip() is not None:
                    raise zipfile.BadZipFile("CRC error")
            if path in deep:
                docx.Document(str(path))
        except Exception as exc:  # any failure to open is what the drill looks for
            bad.append(f"{path.name}: {exc}")
    return bad


def _any_document(folder: Path) -> bool:
    for _, _, names in os.walk(folder / "output" / "documents"):
        if any(name.endswith(".docx") for name in names):
            return True
    return False


def _stage(proc: subprocess.Popen[bytes], folder: Path, server: SmtpServer) -> str:
    if proc.poll() is not None:
        return "finished"
    return "sending" if server.handler.received else "rendering" if _any_document(folder) else "reading"


def _kill_during(proc: subprocess.Popen[bytes], aimed: str, folder: Path, server: SmtpServer,
                 windows: dict[str, tuple[float, float]], rng: random.Random) -> float:
    """Wait for a random moment within stage ``aimed`` of this run (stages seen as they start:
    the first document written, the first message received); returns seconds since start."""
    start = time.monotonic()

    def wait_until(done, deadline: float) -> None:
        while proc.poll() is None and not done() and time.monotonic() - start < deadline:
            time.sleep(0.003)

    if aimed == "reading":
        wait_until(lambda: _any_document(folder), rng.uniform(0.05, windows["reading"][1]))
    else:
        first = (lambda: _any_document(folder)) if aimed == "rendering" else (lambda: bool(server.handler.received))
        wait_until(first, 600)
        low, high = windows[aimed]
        extra = rng.uniform(0, max(0.0, high - low) * 0.9)
        after = time.monotonic() - start + extra
        wait_until((lambda: bool(server.handler.received)) if aimed == "rendering" else (lambda: False), after)
    return time.monotonic() - start


def _reference(work: Path, register: Path, server: SmtpServer, workers: int) -> tuple[float, dict, Counter, list[str]]:
    """An uninterrupted run: its time, the stage windows, what it sent, what it filed."""
    folder = work / "reference"
    config = _config(folder, register, server.port, workers)
    server.handler.received.clear()
    start = time.monotonic()
    proc = _start(config, "reference")
    first_doc = first_mail = None
    while proc.poll() is None:
        now = time.monotonic() - start
        if first_doc is None and (folder / "output" / "documents").exists() and _documents(folder):
            first_doc = now
        if first_mail is None and server.handler.received:
            first_mail = now
        time.sleep(0.005)
    end = time.monotonic() - start
    proc.wait()
    if proc.returncode != 0:
        raise SystemExit(f"the reference run failed (exit {proc.returncode}): {_stderr(config, 'reference')[-2000:]}")
    first_doc = first_doc if first_doc is not None else end * 0.3
    first_mail = first_mail if first_mail is not None else end * 0.8
    windows = {"reading": (0.05, max(0.06, first_doc)), "rendering": (first_doc, max(first_doc, first_mail)),
               "sending": (first_mail, end)}
    names = [str(p.relative_to(folder)) for p in _documents(folder)]
    return end, windows, _pairs(server.handler.received), names


def drill(rows: int, rounds: int, work: Path, *, seed: int = 20261123, workers: int = 2,
          log=print) -> Drill:
    rng = random.Random(seed)
    register = make_register(rows, work / f"register-{rows}.xlsx")
    register_hash = _sha256(register)
    with SmtpServer() as server:
        seconds, windows, ref_pairs, ref_docs = _reference(work, register, server, workers)
        log(f"reference run: {seconds:.2f} s; reading 0-{windows['reading'][1]:.2f} s, rendering "
            f"{windows['rendering'][0]:.2f}-{windows['rendering'][1]:.2f} s, sending "
            f"{windows['sending'][0]:.2f}-{windows['sending'][1]:.2f} s; {sum(ref_pairs.values())} "
            f"recipient-complaint pairs, {len(ref_docs)} documents")
        results = []
        for number in range(1, rounds + 1):
            aimed = STAGES[(number - 1) % 3]
            folder = work / f"round-{number:02d}"
            config = _config(folder, register, server.port, workers)
            server.handler.received.clear()
            proc = _start(config, "killed")
            result = Round(number, aimed, _kill_during(proc, aimed, folder, server, windows, rng))
            result.stage = _stage(proc, folder, server)
            children = _descendants(proc.pid)
            if result.stage != "finished":
                proc.send_signal(signal.SIGKILL)
            killed_at = time.time()
            proc.wait()
            time.sleep(0.05)  # let the kernel re-parent or reap the workers before counting them
            result.orphans = len(_alive(children))
            begin = time.monotonic()
            rerun = _start(config, "rerun")
            rerun.wait()
            result.rerun_seconds = time.monotonic() - begin
            result.rerun_code = rerun.returncode
            text = _stderr(config, "rerun")
            result.refused = rerun.returncode == 2 and ("正在使用状态文件夹" in text or "in progress" in text)
            for pid in _alive(children):  # workers that outlived the killed run: ours to end
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            got = _pairs(server.handler.received)
            result.pairs = sum(got.values())
            result.lost = sum(1 for pair in ref_pairs if pair not in got)
            result.repeated = sum(n - 1 for n in _message_keys(server.handler.received).values() if n > 1)
            docs = _documents(folder)
            names = {str(p.relative_to(folder)) for p in docs}
            result.documents = len(docs)
            result.documents_missing = len(set(ref_docs) - names)
            near = {p for p in docs if abs(p.stat().st_mtime - killed_at) < 1.5}
            deep = near | set(rng.sample(docs, min(10, len(docs))))
            result.unreadable = _check_docx(docs, deep)
            result.temp_files = _stray_files(folder)
            result.register_changed = _sha256(register) != register_hash
            if rerun.returncode != 0:
                log(text[-1500:])
            log(f"round {number:2d}: kill at {result.at:5.2f} s aimed at {aimed:9s} -> {result.stage:9s}; "
                f"orphans {result.orphans}; rerun exit {result.rerun_code} in {result.rerun_seconds:.2f} s; "
                f"lost {result.lost}, repeated {result.repeated}; docs {result.documents} "
                f"(missing {result.documents_missing}, unreadable {len(result.unreadable)}): {result.problems()}")
            results.append(result)
    return Drill(rows, results, seconds, windows, sum(ref_pairs.values()), len(ref_docs))


def report(result: Drill, log=print) -> None:
    rounds = result.rounds
    stages = Counter(r.stage for r in rounds)
    recovery = statistics.median(r.rerun_seconds for r in rounds) if rounds else 0.0
    log("")
    log(f"kill drill, {result.rows} rows, {len(rounds)} rounds (machine shared, 2 cores):")
    log(f"  rounds passed: {result.passed}/{len(rounds)}")
    log("  killed while " + ", ".join(f"{stage} {stages.get(stage, 0)}" for stage in (*STAGES, "finished")))
    log(f"  next run refused: {sum(r.refused for r in rounds)}; reminders lost: {sum(r.lost for r in rounds)} of "
        f"{result.reference_pairs * len(rounds)} recipient-complaint pairs; messages repeated: "
        f"{sum(r.repeated for r in rounds)} (at most 1 a round allowed, max {max((r.repeated for r in rounds), default=0)})")
    log(f"  documents checked: {sum(r.documents for r in rounds)} (missing {sum(r.documents_missing for r in rounds)}, "
        f"unreadable {sum(len(r.unreadable) for r in rounds)}); temporary files left: "
        f"{sum(len(r.temp_files) for r in rounds)}; register changed: {sum(r.register_changed for r in rounds)}")
    log(f"  rounds where processes of the killed run outlived it (render workers): "
        f"{sum(1 for r in rounds if r.orphans)}")
    floor = result.reference_seconds
    log(f"  recovery run: median {recovery:.2f} s = {recovery / floor:.2f}x the uninterrupted run ({floor:.2f} s, floor)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--workers", type=int, default=2, help="[documents].workers of the drilled runs")
    parser.add_argument("--workdir", type=Path, help="keep the rounds' folders here (default: a temporary folder)")
    args = parser.parse_args(argv)
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        result = drill(args.rows, args.rounds, args.workdir, seed=args.seed, workers=args.workers)
    else:
        with tempfile.TemporaryDirectory(prefix="crash-drill-", dir=os.environ.get("TOOLKIT_BENCH_DIR")) as tmp:
            result = drill(args.rows, args.rounds, Path(tmp), seed=args.seed, workers=args.workers)
    report(result)
    return 0 if result.passed == len(result.rounds) else 1


if __name__ == "__main__":
    raise SystemExit(main())
