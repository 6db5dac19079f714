"""Worker processes that never outlive or out-lock the run.

Every process pool of the toolkit (the render workers, the reader's formula scan) is made by
:func:`process_pool`: its workers are *spawned* fresh interpreters, so they hold no copy of the
run lock's file descriptor (a forked worker would, and keep the lock after a killed run), and
each asks Linux to end it when its parent dies (``PR_SET_PDEATHSIG``, a kill -9 included), and
leaves Ctrl-C and SIGTERM to its parent (they reach the whole process group).
:func:`parent_gone` is the portable fallback a worker checks before each job.

:func:`in_child` is the one exception, for work that reads the whole register and writes
little: a *forked* child computes it on the other core while this process goes on, reading the
records it inherited instead of having them pickled over. It too dies with its parent; the lock
handles a forked orphan (:mod:`toolkit.lock`), and the child never outlives the run (its
result is awaited before the run ends).

:class:`Background` runs a call on a thread while calamine parses (it lets go of the GIL), and
:func:`release_free_memory` hands the heap the parse freed back to the OS.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import logging.handlers
import multiprocessing
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

_PARENT = 0


def _init(parent: int) -> None:
    global _PARENT
    _PARENT = parent
    _leave_signals_to_parent()
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _leave_signals_to_parent() -> None:
    """Ctrl-C in a terminal and ``kill -TERM`` of the process group reach every worker too; the
    run decides what they mean (the scheduler finishes the job in progress, ``run`` records
    itself interrupted), so a worker must not die of them with half the documents rendered."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _die_with_parent() -> None:
    # SIGKILL, not SIGTERM: workers ignore SIGTERM (above), and have nothing to clean up (every
    # file they write is renamed into place whole).
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


def parent_gone() -> bool:
    """True in a pool worker whose run has died (never in the run itself)."""
    return bool(_PARENT) and os.getppid() != _PARENT


def process_pool(max_workers: int) -> ProcessPoolExecutor:
    """A pool of spawned workers that die with this process."""
    return ProcessPoolExecutor(max_workers=max_workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init, initargs=(os.getpid(),))


def can_fork() -> bool:
    """True where :func:`in_child` really forks: Linux, and no other thread in this process (a
    thread holding a lock at the fork, a logging handler's say, would leave it locked forever in
    the child)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork") and threading.active_count() == 1


class Pending(Generic[T]):
    """The result of a call, being computed in a forked child (or, where this cannot fork,
    computed here when asked for)."""

    def __init__(self, fn: Callable[[], T], pid: int = 0, fd: int = -1) -> None:
        self._fn, self._pid, self._fd = fn, pid, fd
        #: True while a child is computing it
        self.forked = pid > 0

    def cancel(self) -> None:
        """End the child without waiting for its answer (the run failed before it was needed)."""
        if not self.forked:
            return
        self.forked = False
        try:
            os.kill(self._pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.close(self._fd)
        os.waitpid(self._pid, 0)

    def result(self) -> T:
        """The value, or the exception ``fn`` raised. Should the child die or its answer be
        unreadable, ``fn`` runs again here: the work is never lost, only done later."""
        if not self.forked:
            return self._fn()
        chunks = []
        with os.fdopen(self._fd, "rb") as pipe:
            while chunk := pipe.read(1 << 20):
                chunks.append(chunk)
        _, status = os.waitpid(self._pid, 0)
        self.forked = False
        try:
            ok, value = pickle.loads(b"".join(chunks))
        except Exception as exc:  # the child died (killed, out of memory) or sent what cannot be read
            log.warning("the child computing %s ended without an answer (status %s, %s); computing it here",
                        getattr(getattr(self._fn, "func", self._fn), "__name__", "?"), status, exc)
            return self._fn()
        if ok:
            return value
        raise value


def in_child(fn: Callable[..., T], *args: Any, **kwargs: Any) -> Pending[T]:
    """Start ``fn(*args, **kwargs)`` in a forked copy of this process; ``.result()`` waits for it.

    For pure computation over data this process already holds (the records): the child gets
    them at no cost, returns a pickled result through a pipe and ends. Where this process cannot
    fork safely (:func:`can_fork`), ``fn`` runs at ``.result()`` in this process instead.
    """
    call = functools.partial(fn, *args, **kwargs)
    if not can_fork():
        return Pending(call)
    read_fd, write_fd = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the child: compute, answer, end without running the parent's exit handlers
        code = 0
        try:
            os.close(read_fd)
            # The parent's handlers (the scheduler stops gently on SIGTERM) are not the child's:
            # the parent decides; the child ends with it (or is cancelled by it).
            _leave_signals_to_parent()
            _die_with_parent()
            if os.getppid() != parent:
                os._exit(1)
            _keep_log_files()
            try:
                payload = pickle.dumps((True, call()), protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException as exc:  # the parent re-raises it, or computes again
                try:
                    payload = pickle.dumps((False, exc), protocol=pickle.HIGHEST_PROTOCOL)
                except Exception:
                    payload = b""
            with os.fdopen(write_fd, "wb") as pipe:
                pipe.write(payload)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    return Pending(call, pid, read_fd)


def _keep_log_files() -> None:
    """In a forked child: log to the run's log file, never roll it over (the scheduler's rotating
    log would otherwise be renamed under the run by its child)."""
    for logger in (logging.getLogger(), *(v for v in logging.Logger.manager.loggerDict.values()
                                          if isinstance(v, logging.Logger))):
        for handler in logger.handlers:
            if isinstance(handler, logging.handlers.BaseRotatingHandler):
                handler.shouldRollover = lambda record: False  # type: ignore[method-assign]


class Background(Generic[T]):
    """A call running on a thread of this process: for reading files while calamine parses the
    register (it lets go of the GIL for the seconds it parses, so a thread runs beside it)."""

    def __init__(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> None:
        self._value: T | None = None
        self._error: BaseException | None = None

        def run() -> None:
            try:
                self._value = fn(*args, **kwargs)
            except BaseException as exc:  # re-raised by result(), where the caller would have met it
                self._error = exc

        self._thread = threading.Thread(target=run, name=f"background-{getattr(fn, '__name__', 'call')}",
                                        daemon=True)
        self._thread.start()

    def join(self) -> None:
        """Wait for the thread to end (before forking: :func:`can_fork` wants no other thread)."""
        self._thread.join()

    def result(self) -> T:
        """The call's value, or the exception it raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


def release_free_memory() -> None:
    """Hand the heap memory freed so far back to the operating system (glibc's malloc_trim).

    Parsing leaves tens of MB freed but still mapped (calamine's cells, the rows before they were
    converted); the stages after the read would otherwise grow on top of them, and the run's peak
    with them. A no-op where there is no glibc."""
    _glibc("malloc_trim", 0)


def _glibc(function: str, *args: int) -> None:
    """Call one of glibc's malloc functions; nothing where there is no glibc (macOS, Windows, musl)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        getattr(ctypes.CDLL("libc.so.6"), function)(*args)
    except (OSError, AttributeError):
        pass


#: glibc's mallopt option for the most heaps ("arenas") malloc keeps for threads (malloc.h).
_M_ARENA_MAX = -8


@functools.cache
def share_malloc_arenas(most: int = 2) -> None:
    """Let this process's threads share at most ``most`` glibc heaps (the default is 8 a core).

    The read's threads (the sheet's pieces on several cores, the documents stage's inputs read
    ahead) each got a heap of their own, and what they freed (calamine's cells) stayed mapped
    among what they keep: the daily run held 66 MB more from the read on at 100k rows, its peak
    625 MB instead of 550-560. With two heaps the read takes as long; with one its threads wait
    for each other (0.5 s more). glibc fixes its limit once there are more than eight heaps: call
    it before starting threads. Once a process; a no-op where there is no glibc."""
    _glibc("mallopt", _M_ARENA_MAX, most)
