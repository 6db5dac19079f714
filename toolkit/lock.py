"""One process at a time per state folder: the lock taken by ``run``, ``remind`` and the
scheduler, so two of them never send the same reminder or write the same document at once.

>>> with StateLock(config.state_path, "run", language="zh", started=now):   # doctest: +SKIP
...     run_job(config, today=today, now=now)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import LockError
from .history import pid_alive
from .i18n import Messages, translate

log = logging.getLogger(__name__)

# -- OS locks -------------------------------------------------------------------

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    # Lock one byte far past the text, so other processes can still read who holds the lock.
    _LOCK_OFFSET = 0x7FFF0000

    def _os_lock(fd: int) -> bool:
        os.lseek(fd, _LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        finally:
            os.lseek(fd, 0, os.SEEK_SET)
        return True

    def _os_unlock(fd: int) -> None:
        os.lseek(fd, _LOCK_OFFSET, os.SEEK_SET)
        with contextlib.suppress(OSError):
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import errno
    import fcntl

    def _os_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False
            raise
        return True

    def _os_unlock(fd: int) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)


_LOCK_MESSAGES: Messages = {
    "run": {
        "zh": "另一个 complaint-toolkit 任务（PID {pid}，{since} 启动）正在使用状态文件夹 {folder}。"
              "请等它结束后再试；如果确定该进程已不在运行，删除锁文件 {lock} 后重试。",
        "en": "another complaint-toolkit run (PID {pid}, started {since}) is in progress on the state "
              "folder {folder}. Wait for it to finish and try again; if you are sure that process is "
              "not running, delete the lock file {lock}.",
    },
    "schedule": {
        "zh": "已有一个 complaint-toolkit schedule（PID {pid}，{since} 启动）在使用状态文件夹 {folder}，"
              "同一文件夹只能运行一个。请先停止它（Ctrl-C 或 kill {pid}）；如果确定该进程已不在运行，"
              "删除锁文件 {lock} 后重试。",
        "en": "a complaint-toolkit scheduler (PID {pid}, started {since}) is already running on the state "
              "folder {folder}; only one may run. Stop it first (Ctrl-C, or kill {pid}); if you are sure "
              "that process is not running, delete the lock file {lock}.",
    },
    "unknown": {"zh": "未知", "en": "unknown"},
}


@dataclass(frozen=True, slots=True)
class LockHolder:
    pid: int
    started: str
    what: str


class StateLock:
    """One process at a time per state folder: a lock file next to the state database.

    Two kinds: ``"run"`` is held while the main job runs (by ``run``, ``schedule --once`` and
    the scheduler during each job); ``"schedule"`` is held by a long-running scheduler for its
    whole life. So a second scheduler refuses, a ``run`` refuses while a job is in progress, and
    a manual ``run`` between two scheduled ones works.

    The file (``state.sqlite.run.lock``, ``state.sqlite.schedule.lock``) is created with ``O_EXCL`` and holds the owner's PID, start
    time and purpose, so a refusal can name who holds it. The file is also locked with the
    operating system (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows): when a process
    is killed, the OS drops its lock, so a lock file left behind is recognised as stale and
    taken over. Where the file system offers no OS locks, a lock file whose PID is no longer
    running counts as stale.

    >>> with StateLock(config.state_path, what="run"):                # doctest: +SKIP
    ...     run_job(config, today=today, now=now)
    """

    def __init__(self, state_path: str | os.PathLike[str], what: str = "run", *,
                 language: str = "zh", started: dt.datetime | None = None) -> None:
        self.path = Path(f"{os.fspath(state_path)}.{what}.lock")
        self.what = what
        self.language = language
        self.started = started
        self._fd: int | None = None
        #: Who held the lock before we took it over (a crashed process), for the log.
        self.took_over: LockHolder | None = None

    def __repr__(self) -> str:
        state = "held" if self._fd is not None else "free"
        return f"<StateLock {self.path} {state}>"

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> StateLock:
        """Take the lock or raise :class:`LockError` naming the process that holds it."""
        if self._fd is not None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(5):
            created = True
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                created = False
                try:
                    fd = os.open(self.path, os.O_RDWR)
                except FileNotFoundError:
                    continue  # released between our two calls: try again
            try:
                locked = _os_lock(fd)
                os_locks = True
            except OSError:  # no OS locks on this file system: fall back to the PID
                locked, os_locks = True, False
            holder = self._read(fd)
            if not locked or (not os_locks and not created and holder and pid_alive(holder.pid)
                              and holder.pid != os.getpid()):
                os.close(fd)
                raise self._held_error(holder)
            if not self._same_file(fd):
                # Another process removed the file between our open and our lock: start over.
                _os_unlock(fd)
                os.close(fd)
                continue
            if not created and holder is not None and holder.pid:
                self.took_over = holder
                log.warning("took over a stale lock %s left by PID %s (started %s), which is no longer "
                            "running", self.path, holder.pid, holder.started)
            self._fd = fd
            self._write(fd)
            return self
        raise LockError(f"cannot take the lock {self.path}: it keeps changing. Try again.")

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        if sys.platform == "win32":  # pragma: no cover - an open file cannot be removed there
            _os_unlock(fd)
            os.close(fd)
            with contextlib.suppress(OSError):
                self.path.unlink()
        else:
            # Remove while still locked, so nobody can lock the old file after we let go.
            with contextlib.suppress(OSError):
                self.path.unlink()
            _os_unlock(fd)
            os.close(fd)

    def __enter__(self) -> StateLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def holder(self) -> LockHolder | None:
        """Who the lock file names (without taking the lock), or None when there is none."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return None
        try:
            return self._read(fd)
        finally:
            os.close(fd)

    # -- helpers ------------------------------------------------------------------------------
    def _same_file(self, fd: int) -> bool:
        try:
            return os.path.samestat(os.fstat(fd), os.stat(self.path))
        except OSError:
            return False

    def _write(self, fd: int) -> None:
        # The caller says when (the library never reads the clock); without it the line is empty.
        started = self.started.isoformat(timespec="seconds") if self.started else ""
        text = f"pid={os.getpid()}\nstarted={started}\nwhat={self.what}\n"
        os.lseek(fd, 0, os.SEEK_SET)
        os.ftruncate(fd, 0)
        os.write(fd, text.encode("utf-8"))
        with contextlib.suppress(OSError):
            os.fsync(fd)

    @staticmethod
    def _read(fd: int) -> LockHolder | None:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            text = os.read(fd, 4096).decode("utf-8", "replace")
        except OSError:
            return None
        values = dict(line.partition("=")[::2] for line in text.splitlines() if "=" in line)
        try:
            pid = int(values.get("pid", ""))
        except ValueError:
            return None
        return LockHolder(pid, values.get("started", ""), values.get("what", ""))

    def _held_error(self, holder: LockHolder | None) -> LockError:
        unknown = translate(_LOCK_MESSAGES, "unknown", self.language)
        return LockError(translate(
            _LOCK_MESSAGES, "schedule" if self.what == "schedule" else "run", self.language,
            pid=holder.pid if holder else unknown,
            since=(holder.started or unknown) if holder else unknown,
            folder=self.path.parent, lock=self.path,
        ))
