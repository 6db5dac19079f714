"""Render workers never outlive or out-lock the run (issue #14, the worker side): a real
``kill -9`` of the process that started them, on Linux."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import EXAMPLE_REGISTER

from toolkit.lock import StateLock

ROOT = Path(__file__).resolve().parent.parent

PARENT = textwrap.dedent("""
    import datetime as dt, sys
    from pathlib import Path
    sys.path.insert(0, {root!r})
    from bench.generate import NoFindings, make_register
    from toolkit.config import Config, DocumentKindConfig
    from toolkit.documents import generate
    from toolkit.lock import StateLock

    out = Path({out!r})
    lock = StateLock(out / "state.sqlite", "run").acquire()
    cfg = Config()
    cfg.documents.workers = 2
    cfg.documents.kinds["acknowledgement"] = DocumentKindConfig(when="false")

    def progress(done, total):
        if done == 1:
            print("rendering", flush=True)

    generate(make_register(20000), NoFindings(), cfg, today=dt.date(2026, 11, 23), out_dir=out / "docs",
             progress=progress)
    print("finished", flush=True)
""")


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and PR_SET_PDEATHSIG")
def test_workers_hold_no_lock_and_die_with_a_killed_run(tmp_path: Path) -> None:
    script = PARENT.format(root=str(ROOT), out=str(tmp_path))
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline()
        assert line.strip() == "rendering", line
        workers = [pid for pid in children(parent.pid) if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()]
        assert len(workers) == 2
        lock_file = str(tmp_path / "state.sqlite.run.lock")
        for pid in workers:
            # no copy of the run lock's file descriptor in a worker
            fds = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
            assert lock_file not in fds
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        # the next run is never refused: the dead run's lock is free at once
        with StateLock(tmp_path / "state.sqlite", "run"):
            pass
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(alive(pid) for pid in workers), "a render worker outlived its killed parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def _open_paths(pid: int) -> set[str]:
    fd_dir = Path(f"/proc/{pid}/fd")
    paths = set()
    for entry in fd_dir.iterdir():
        try:
            paths.add(os.readlink(entry))
        except OSError:
            continue
    return paths


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs Linux /proc")
def test_every_pool_of_the_toolkit_starts_workers_without_the_run_lock(tmp_path: Path) -> None:
    """The reader's formula scan and the render workers share toolkit.workers.process_pool: a
    worker it starts holds no descriptor of the lock the run holds."""
    from toolkit.workers import process_pool

    lock = StateLock(tmp_path / "state.sqlite", "run").acquire()
    try:
        with process_pool(1) as pool:
            worker = pool.submit(os.getpid).result(timeout=60)
            held = _open_paths(worker)
        assert worker != os.getpid()
        assert not any(str(tmp_path) in path for path in held), held
    finally:
        lock.release()


# -- in_child: whole-register work on the other core --------------------------------------------

_IN_CHILD = textwrap.dedent("""
    import os, sys, threading, time
    sys.path.insert(0, {root!r})
    from toolkit.workers import in_child

    parent = os.getpid()

    def pid():
        return os.getpid()

    def fails():
        raise KeyError("boom")

    def dies_in_child():
        if os.getpid() != parent:
            os._exit(9)  # killed, out of memory...: no answer
        return "computed here"

    def sleeps():
        time.sleep(60)

    pending = in_child(pid)
    print("forked", pending.forked, pending.result() != parent)
    try:
        in_child(fails).result()
    except KeyError as exc:
        print("raised", exc)
    print("fallback", in_child(dies_in_child).result())
    started = time.monotonic()
    pending = in_child(sleeps)
    child = pending._pid
    pending.cancel()
    print("cancelled", time.monotonic() - started < 10, not os.path.exists(f"/proc/{{child}}"))
    big = in_child(lambda: "x" * 5_000_000).result()  # more than a pipe holds at once
    print("big", len(big))
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        pending = in_child(pid)
        print("with a thread", pending.forked, pending.result() == parent)
    finally:
        stop.set()
        thread.join()
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="in_child forks on Linux only")
def test_in_child_computes_in_a_forked_child_and_never_loses_the_work() -> None:
    """The answer comes from another process; an exception comes back as itself; a child that
    dies without answering has its work done in the parent; a cancelled child is gone at once; a
    process with another thread does not fork (a lock held by it would stay locked in the child)."""
    done = subprocess.run([sys.executable, "-c", _IN_CHILD.format(root=str(ROOT))], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "forked True True",
        "raised 'boom'",
        "fallback computed here",
        "cancelled True True",
        "big 5000000",
        "with a thread False True",
    ], done.stderr


_ROTATING = textwrap.dedent("""
    import logging, logging.handlers, os, sys
    sys.path.insert(0, {root!r})
    from toolkit.workers import in_child

    handler = logging.handlers.RotatingFileHandler({log!r}, maxBytes=300, backupCount=3, encoding="utf-8")
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)
    logging.info("the run starts and fills half of its log: " + "x" * 100)

    def work():
        logging.getLogger("toolkit.report").warning("a warning from the helper " + "y" * 150)
        return os.getpid()

    assert in_child(work).result() != os.getpid()
    logging.info("the run goes on")
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="in_child forks on Linux only")
def test_a_forked_helper_logs_to_the_runs_log_without_rolling_it_over(tmp_path: Path) -> None:
    """The scheduler's log rotates by size: a helper's warning is appended to the run's current
    file, and only the run itself rolls it over (else the file would be renamed under it)."""
    log = tmp_path / "toolkit.log"
    done = subprocess.run([sys.executable, "-c", _ROTATING.format(root=str(ROOT), log=str(log))],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    # The helper's line went past the limit but was appended; the run's next line rolled the
    # file over. Had the helper rolled it over, the run would have gone on writing to the renamed
    # file, and toolkit.log.1 would hold the run's two lines instead.
    rolled = (tmp_path / "toolkit.log.1").read_text(encoding="utf-8")
    assert "fills half of its log" in rolled and "a warning from the helper" in rolled
    assert "the run goes on" in log.read_text(encoding="utf-8")
    assert not (tmp_path / "toolkit.log.2").exists()


_GENTLE_PARENT = textwrap.dedent("""
    import os, signal, sys, time
    sys.path.insert(0, {root!r})
    from toolkit.workers import in_child

    signal.signal(signal.SIGTERM, lambda *_: print("parent asked to stop", flush=True))

    def work():
        time.sleep(120)
        return "late"

    pending = in_child(work)
    print(pending._pid, flush=True)
    time.sleep(120)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="in_child forks on Linux only")
def test_a_forked_helper_dies_with_its_parent_whatever_the_parents_signal_handlers() -> None:
    """The scheduler stops gently on SIGTERM; a helper it forked must not inherit that: killed with
    its parent (kill -9), the SIGTERM of PR_SET_PDEATHSIG ends the helper at once."""
    parent = subprocess.Popen([sys.executable, "-c", _GENTLE_PARENT.format(root=str(ROOT))],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert alive(child)
        parent.kill()
        parent.wait(timeout=30)
        deadline = time.monotonic() + 10
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(child), "a forked helper outlived its killed parent"
    finally:
        parent.kill()


HEAPS = textwrap.dedent("""
    import ctypes, sys, threading
    sys.path.insert(0, {root!r})
    from toolkit.config import config_from_dict
    from toolkit.register import pieces, read, read_register

    pieces.PIECE_BYTES, pieces._SHARED_WEIGHT, pieces.usable_cores = 2, 0, lambda: 2  # cut it, small as it is
    if not {share!r}:
        read.share_malloc_arenas = lambda: None
    held, barrier, threads = [], threading.Barrier(4), []

    def work():
        held.append(bytes(4000))  # above pymalloc's 512 bytes: from malloc, in this thread's heap
        barrier.wait()  # all alive at once: a thread that ended would hand its heap to the next

    def while_parsing():  # as the daily job reads the documents stage's inputs meanwhile
        threads.extend(threading.Thread(target=work) for _ in range(4))
        for thread in threads:
            thread.start()

    register = read_register(config_from_dict({{}}), {register!r}, while_parsing=while_parsing)
    assert register.records
    for thread in threads:
        thread.join()
    libc = ctypes.CDLL("libc.so.6")
    libc.fopen.restype = ctypes.c_void_p
    out = libc.fopen({path!r}.encode(), b"w")
    libc.malloc_info(0, ctypes.c_void_p(out))
    libc.fclose(ctypes.c_void_p(out))
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's heaps")
def test_the_reads_threads_share_two_malloc_heaps(tmp_path: Path) -> None:
    """Each thread's own glibc heap kept the freed cells of the read among what the other threads
    keep (66 MB more for the daily run at 100k rows): the reader caps them at two before its
    threads (the pieces', and those the caller starts while it parses) make any."""
    counts = {}
    for share in (False, True):
        path = tmp_path / f"heaps-{share}.xml"
        subprocess.run([sys.executable, "-c", HEAPS.format(root=str(ROOT), share=share, path=str(path),
                                                           register=str(EXAMPLE_REGISTER))],
                       check=True, timeout=60)
        counts[share] = path.read_text().count("<heap nr=")
    assert counts[False] >= 4, counts  # glibc's default: a heap per thread, up to 8 a core
    assert counts[True] <= 2, counts
