"""Worker processes that never outlive or out-lock the run.

Every process pool of the toolkit (the render workers, the reader's formula scan) is made by
:func:`process_pool`: its workers are *spawned* fresh interpreters, so they hold no copy of the
run lock's file descriptor (a forked worker would, and keep the lock after a killed run), and
each asks Linux to end it when its parent dies (``PR_SET_PDEATHSIG``, a kill -9 included).
:func:`parent_gone` is the portable fallback a worker checks before each job.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor

_PARENT = 0


def _init(parent: int) -> None:
    global _PARENT
    _PARENT = parent
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def parent_gone() -> bool:
    """True in a pool worker whose run has died (never in the run itself)."""
    return bool(_PARENT) and os.getppid() != _PARENT


def process_pool(max_workers: int) -> ProcessPoolExecutor:
    """A pool of spawned workers that die with this process."""
    return ProcessPoolExecutor(max_workers=max_workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init, initargs=(os.getpid(),))
