"""Shared helpers for the bench scripts: peak memory, timing, and the calamine floor.

    from bench._floor import calamine_floor, peak_rss_mb, timed
    floor_s = calamine_floor("/tmp/register-100k.xlsx")
    result, seconds = timed(lambda: read_register(config, path))
    print(f"{seconds:.2f} s, peak {peak_rss_mb():.0f} MB")

The *floor* is the least any reader of the file can cost: python-calamine opening it and
turning every sheet into Python lists, with no other work. Stages are measured against it.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Callable
from typing import TypeVar

import python_calamine

T = TypeVar("T")


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    """Call ``fn()``; its result and the wall-clock seconds it took."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def calamine_floor(path: str | os.PathLike[str]) -> float:
    """Seconds for a bare calamine read: ``load_workbook(path)`` + ``to_python()`` of every sheet."""
    start = time.perf_counter()
    workbook = python_calamine.load_workbook(path)
    for name in workbook.sheet_names:
        workbook.get_sheet_by_name(name).to_python()
    workbook.close()
    return time.perf_counter() - start
