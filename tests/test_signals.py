"""Ctrl-C and SIGTERM sent to the whole process group, as a terminal and ``kill -TERM -PGID``
(systemd, Task Scheduler's end, a container stopping) send them: ``run`` records itself
interrupted, never "ok", and ends with 130 or 143 and one line; the scheduler finishes the job in
progress, its render workers untouched (they used to die of the group's signal and the job's
documents stage failed with BrokenProcessPool)."""

from __future__ import annotations

import glob
import importlib.util
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="process groups are POSIX")


def _make_register(rows: int, path: Path) -> Path:
    spec = importlib.util.spec_from_file_location("bench_make_register", ROOT / "bench" / "make_register.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_register(rows, path)


@pytest.fixture(scope="module")
def register(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Big enough that the documents stage takes seconds with two workers, so the signal lands in it.
    return _make_register(1500, tmp_path_factory.mktemp("signals") / "register.xlsx")


def _config(folder: Path, register: Path) -> Path:
    path = folder / "config.toml"
    path.write_text(
        f"[register]\npath = '{register}'\n[output]\ndir = 'output'\n[documents]\nworkers = 2\n"
        "[reminders]\nquality_manager = 'quality.manager@example.com'\n"
        # A slot long past today, so the scheduler catches it up at once when it starts.
        "[schedule]\ntimes = ['00:01']\ndays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']\n"
        "workdays_only = false\n",
        encoding="utf-8")
    return path


def _signal_while_rendering(folder: Path, command: list[str], signum: int) -> tuple[int, str]:
    """Start the command in a process group of its own, wait for its first document, signal the
    whole group, return (exit code, stderr)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TOOLKIT_CONFIG", None)
    with open(folder / "err", "wb") as err, open(folder / "out", "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "toolkit", *command, "--config", str(folder / "config.toml")],
                                cwd=folder, env=env, stdout=out, stderr=err, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not glob.glob(str(folder / "output" / "documents" / "**" / "*.docx"), recursive=True):
            assert proc.poll() is None, (folder / "err").read_text(encoding="utf-8")
            assert time.monotonic() < deadline, "no document was written in two minutes"
            time.sleep(0.02)
        assert proc.poll() is None, "the run ended before the signal: the register is too small"
        os.killpg(proc.pid, signum)
        code = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return code, (folder / "err").read_text(encoding="utf-8")


def _runs(folder: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(folder / "output" / "state.sqlite") as conn:
        return conn.execute("SELECT status, errors FROM runs ORDER BY id").fetchall()


@pytest.mark.parametrize(("signum", "code", "why"), [(signal.SIGINT, 130, "Ctrl-C"), (signal.SIGTERM, 143, "SIGTERM")])
def test_run_signalled_while_rendering_is_recorded_interrupted_and_the_next_run_finishes(
        tmp_path: Path, register: Path, signum: int, code: int, why: str) -> None:
    _config(tmp_path, register)
    got, err = _signal_while_rendering(tmp_path, ["run"], signum)
    assert got == code, err
    assert "Traceback" not in err, err
    assert err.strip().splitlines()[-1] in ("已中断。", "Interrupted."), err
    [(status, errors)] = _runs(tmp_path)
    assert status == "interrupted"
    assert "文档" in errors and why in errors, errors
    # Not counted as the day's run: the scheduler's catch-up would run again.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TOOLKIT_CONFIG", None)
    again = subprocess.run([sys.executable, "-m", "toolkit", "run", "--config", str(tmp_path / "config.toml")],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert [s for s, _ in _runs(tmp_path)] == ["interrupted", "ok"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_scheduler_signalled_while_rendering_finishes_the_job_then_stops(
        tmp_path: Path, register: Path, signum: int) -> None:
    _config(tmp_path, register)
    got, err = _signal_while_rendering(tmp_path, ["schedule"], signum)
    assert got == 0, err
    assert "BrokenProcessPool" not in err and "Traceback" not in err, err
    [(status, errors)] = _runs(tmp_path)
    assert status == "ok", errors
    out = (tmp_path / "out").read_text(encoding="utf-8")
    assert "计划任务已停止" in out, out
