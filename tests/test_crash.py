"""The kill drill, short: ``run`` killed with SIGKILL while reading, rendering and sending, then
run again; nothing refused, lost, half-written or left behind (bench/crash.py is the long one)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and /proc are POSIX")


def _bench_crash():
    spec = importlib.util.spec_from_file_location("bench_crash", ROOT / "bench" / "crash.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_crash"] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_a_run_killed_in_each_stage_is_recovered_by_the_next_run(tmp_path: Path) -> None:
    crash = _bench_crash()
    lines: list[str] = []
    result = crash.drill(120, 3, tmp_path, seed=7, workers=2, log=lines.append)
    crash.report(result, log=lines.append)
    text = "\n".join(lines)
    assert result.reference_pairs > 0 and result.reference_documents > 0, text
    assert [r.aimed for r in result.rounds] == ["reading", "rendering", "sending"]
    for r in result.rounds:
        assert not r.refused, text
        assert r.rerun_code == 0, text
        assert r.lost == 0, text
        assert r.repeated <= 1, text
        assert r.documents_missing == 0 and not r.unreadable, text
        assert not r.temp_files, text
        assert not r.register_changed, text
    assert result.passed == 3, text
    assert "rounds passed: 3/3" in text
