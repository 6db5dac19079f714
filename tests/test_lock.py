"""The run lock after a crash: a dead holder's lock is taken over even while its orphaned
children still hold the OS lock, and temporary files a killed run left are removed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from toolkit.config import load_config
from toolkit.errors import LockError
from toolkit.fsutil import atomic_writer, remove_stale_temps
from toolkit.lock import StateLock, clean_after_crash

ROOT = Path(__file__).resolve().parent.parent
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="fork and flock inheritance are POSIX")

# A run that takes the lock, then forks a worker that inherits the lock's file descriptor (as
# a fork-started process pool does) and outlives it.
_HOLDER = textwrap.dedent("""
    import os, sys, time
    from toolkit.lock import StateLock
    lock = StateLock(sys.argv[1], "run").acquire()
    child = os.fork()
    if child == 0:
        time.sleep(120)
        os._exit(0)
    print(child, flush=True)
    time.sleep(120)
""")


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    return int(done.stdout)


@posix_only
def test_a_killed_runs_lock_is_taken_over_while_its_orphaned_worker_holds_it(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(state)], stdout=subprocess.PIPE, text=True,
                              cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert holder.stdout is not None
    orphan = int(holder.stdout.readline())
    try:
        # While the run lives, a second one is refused, naming it.
        with pytest.raises(LockError, match=f"PID {holder.pid}"):
            StateLock(state, "run").acquire()
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        os.kill(orphan, 0)  # the worker survived its parent and still holds the OS lock
        lock = StateLock(state, "run").acquire()
        try:
            assert lock.took_over is not None and lock.took_over.pid == holder.pid
            assert lock.holder() is not None and lock.holder().pid == os.getpid()  # type: ignore[union-attr]
            # and the lock now really is ours: a third process is refused, naming us
            with pytest.raises(LockError, match=f"PID {os.getpid()}"):
                StateLock(state, "run").acquire()
        finally:
            lock.release()
        assert not Path(f"{state}.run.lock").exists()
        assert [p.name for p in tmp_path.iterdir()] == []  # no replacement file left behind
    finally:
        for pid in (orphan, holder.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@posix_only
def test_a_live_holder_with_a_reused_pid_is_recognised_by_its_start_time(tmp_path: Path) -> None:
    """The lock names a PID that is alive but is another process (the PID was reused): its
    start time differs from the one recorded, so the lock is stale and taken over."""
    state = tmp_path / "state.sqlite"
    lock_path = Path(f"{state}.run.lock")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        # An orphan holds the OS lock on the file; the file names a live, unrelated process.
        keeper = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
            import fcntl, os, sys, time
            fd = os.open({str(lock_path)!r}, os.O_RDWR | os.O_CREAT)
            os.write(fd, b"pid={sleeper.pid}\\nstarted=2026-11-23T09:00:00\\nwhat=run\\npid_start=1\\n")
            fcntl.flock(fd, fcntl.LOCK_EX)
            print("ready", flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
        assert keeper.stdout is not None and keeper.stdout.readline().strip() == "ready"
        try:
            lock = StateLock(state, "run").acquire()
            assert lock.took_over is not None and lock.took_over.pid == sleeper.pid
            lock.release()
        finally:
            keeper.kill()
            keeper.wait()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_lock_whose_holder_is_alive_is_not_taken_over(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    with StateLock(state, "run", language="en"), pytest.raises(LockError, match="another complaint-toolkit run"):
        StateLock(state, "run", language="en").acquire()


def test_lock_messages_are_in_both_languages(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    with StateLock(state, "run"):
        with pytest.raises(LockError, match="另一个 complaint-toolkit 任务"):
            StateLock(state, "run", language="zh").acquire()
        with pytest.raises(LockError, match="another complaint-toolkit run"):
            StateLock(state, "run", language="en").acquire()


def test_temporary_files_of_dead_writers_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    docs = tmp_path / "output" / "documents" / "2026" / "11"
    docs.mkdir(parents=True)
    dead = docs / f".KS-1_客诉反馈单.docx.{_dead_pid()}.abcd1234.tmp"
    dead.write_bytes(b"half a document")
    mine = docs / f".KS-2_客诉反馈单.docx.{os.getpid()}.abcd1234.tmp"
    mine.write_bytes(b"being written")
    staff = docs / ".notes.tmp"  # not one of ours: left alone
    staff.write_bytes(b"x")
    assert remove_stale_temps([tmp_path / "output", docs]) == [dead]
    assert not dead.exists() and mine.exists() and staff.exists()


def test_a_run_cleans_what_a_killed_run_left(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[output]\ndir = "out"\n[mail]\noutbox_dir = "elsewhere/outbox"\n', encoding="utf-8")
    config = load_config(cfg)
    outbox = tmp_path / "elsewhere" / "outbox"
    outbox.mkdir(parents=True)
    left = outbox / f".20261123-090000_a@example.com_1.eml.{_dead_pid()}.zz99yy88.tmp"
    left.write_bytes(b"From: x")
    assert clean_after_crash(config) == [left]
    # an atomic write in progress in this process is never touched
    with atomic_writer(tmp_path / "out" / "x.bin") as handle:
        handle.write(b"data")
        assert clean_after_crash(config) == []
    assert (tmp_path / "out" / "x.bin").read_bytes() == b"data"


def test_a_killed_writer_leaves_only_a_temporary_file_and_it_is_cleaned(tmp_path: Path) -> None:
    target = tmp_path / "big.bin"
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from toolkit.fsutil import atomic_writer
        with atomic_writer({str(target)!r}) as handle:
            handle.write(b"x" * 1000)
            handle.flush()
            print("writing", flush=True)
            time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
    assert remove_stale_temps([tmp_path]) == []  # its writer is alive
    writer.kill()
    writer.wait()
    time.sleep(0.05)
    removed = remove_stale_temps([tmp_path])
    assert len(removed) == 1 and not target.exists()
    assert list(tmp_path.iterdir()) == []
