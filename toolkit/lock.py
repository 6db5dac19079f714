"""One process at a time per state folder: the lock taken by ``run``, ``remind`` and the
scheduler, so two of them never send the same reminder or write the same document at once.

A lock whose holder is dead is taken over, whatever it left running: the OS lock dies with the
process, and when children of the dead run still hold it (render workers forked with the lock's
file descriptor), the lock file is *replaced* by a new one, so the orphans keep a lock on a file
nobody looks at any more. The ``filelock`` and ``portalocker`` packages were considered: both
lock a file but record no holder, so the PID check, the refusal message naming the holder and
the replacement would all stay here; they would add a dependency and remove no code.

>>> with StateLock(config.state_path, "run", language="zh", started=now):   # doctest: +SKIP
...     run_job(config, today=today, now=now)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .config import Config
from .errors import LockError
from .fsutil import remove_stale_temps, writable_folder
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
    "changing": {"zh": "无法获取锁 {lock}：它一直在变化（另一个任务正在启动或结束）。请稍后重试。",
                 "en": "cannot take the lock {lock}: it keeps changing (another run is starting or ending). "
                       "Try again in a moment."},
    "took-over": {"zh": "已接管失效的锁 {lock}：留下它的进程 PID {pid}（{since} 启动）已不在运行。",
                  "en": "took over the stale lock {lock} left by PID {pid} (started {since}), which is no "
                        "longer running."},
    "cleaned": {"zh": "已删除被中断的任务留下的 {n} 个临时文件（如 {example}）。",
                "en": "removed {n} temporary file(s) left by an interrupted run (e.g. {example})."},
}


@dataclass(frozen=True, slots=True)
class LockHolder:
    pid: int
    started: str
    what: str
    #: The process's start time as the OS counts it (Linux: clock ticks since boot), so a PID
    #: reused by an unrelated process after a reboot or a long time is not taken for the holder.
    pid_start: str = ""

    def alive(self) -> bool:
        if not pid_alive(self.pid):
            return False
        return not self.pid_start or _process_start(self.pid) in ("", self.pid_start)


def _process_start(pid: int) -> str:
    """When process ``pid`` started, as an opaque text; empty where the OS does not say."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read().decode("ascii", "replace")
    except OSError:
        return ""
    # The command name (field 2) is in parentheses and may hold spaces: count after its end.
    fields = stat[stat.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else ""


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
        writable_folder(self.path.parent, self.language)
        for attempt in range(20):
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
            if not locked:
                if holder is None:
                    # Locked but not yet written: another run is starting this instant.
                    os.close(fd)
                    time.sleep(0.05 * (attempt + 1))
                    continue
                if holder.pid != os.getpid() and not holder.alive() and sys.platform != "win32":
                    # The holder is dead but its children hold the OS lock: replace the file.
                    new_fd = self._replace(fd)
                    if new_fd is None:
                        continue  # someone else changed the file meanwhile: look again
                    self._taken_over(holder)
                    self._fd = new_fd
                    return self
                os.close(fd)
                raise self._held_error(holder)
            if (not os_locks and not created and holder and holder.alive() and holder.pid != os.getpid()):
                os.close(fd)
                raise self._held_error(holder)
            if not self._same_file(fd):
                # Another process removed the file between our open and our lock: start over.
                _os_unlock(fd)
                os.close(fd)
                continue
            if not created and holder is not None and holder.pid:
                self._taken_over(holder)
            self._fd = fd
            self._write(fd)
            return self
        raise LockError(translate(_LOCK_MESSAGES, "changing", self.language, lock=self.path))

    def _taken_over(self, holder: LockHolder) -> None:
        self.took_over = holder
        unknown = translate(_LOCK_MESSAGES, "unknown", self.language)
        log.warning("%s", translate(_LOCK_MESSAGES, "took-over", self.language, lock=self.path, pid=holder.pid,
                                    since=holder.started or unknown))

    def _replace(self, stale_fd: int) -> int | None:
        """Put a new, locked lock file in place of the one ``stale_fd`` has open, whose holder is
        dead but whose OS lock is still held (by its orphaned children). Returns the new file's
        descriptor, or None when the file was changed by someone else first.

        Two runs starting together must not both replace it: the replacement is done holding
        an OS lock on the folder, and only if the file is still the stale one.
        """
        folder_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            deadline = time.monotonic() + 5
            while not _os_lock(folder_fd):
                if time.monotonic() > deadline:
                    return None
                time.sleep(0.02)
            try:
                if not self._same_file(stale_fd):
                    return None
                fresh = self.path.with_name(f"{self.path.name}.{os.getpid()}.new")
                with contextlib.suppress(FileNotFoundError):
                    fresh.unlink()
                fd = os.open(fresh, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
                if not _os_lock(fd):  # a brand-new file nobody else has open: cannot happen
                    os.close(fd)
                    return None
                self._write(fd)
                os.replace(fresh, self.path)
                return fd
            finally:
                _os_unlock(folder_fd)
        finally:
            os.close(folder_fd)
            os.close(stale_fd)

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
        text = f"pid={os.getpid()}\nstarted={started}\nwhat={self.what}\npid_start={_process_start(os.getpid())}\n"
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
        return LockHolder(pid, values.get("started", ""), values.get("what", ""), values.get("pid_start", ""))

    def _held_error(self, holder: LockHolder | None) -> LockError:
        unknown = translate(_LOCK_MESSAGES, "unknown", self.language)
        return LockError(translate(
            _LOCK_MESSAGES, "schedule" if self.what == "schedule" else "run", self.language,
            pid=holder.pid if holder else unknown,
            since=(holder.started or unknown) if holder else unknown,
            folder=self.path.parent, lock=self.path,
        ))


def clean_after_crash(config: Config) -> list[Path]:
    """Remove the temporary files (fsutil's atomic-write names) that a killed process left in the
    folders the toolkit writes (output, documents, outbox, state, reports); call it holding the
    run lock. A file a live process is writing (a ``generate`` at the same time) is kept: its
    name carries the writer's PID."""
    folders: list[Path] = [config.output_dir, config.documents_dir, config.outbox_dir, config.state_path.parent]
    if config.reports.out:
        folders.append(config.path(config.reports.out).parent)
    removed = remove_stale_temps(folders)
    if removed:
        log.warning("%s", translate(_LOCK_MESSAGES, "cleaned", config.language, n=len(removed),
                                    example=removed[0]))
    return removed
