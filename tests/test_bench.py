"""The benchmark scripts still run (tiny sizes; figures are not checked here — speed is
measured by running bench/ by hand, see README "Performance")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "args",
    [
        ["bench/validate.py", "300"],
        ["bench/validate.py", "300", "--merged"],
        ["bench/validate.py", "300", "--libreoffice"],
        ["bench/generate.py", "30"],
        ["bench/remind.py", "--complaints", "300", "--handlers", "20", "--groups", "20", "--rows", "300",
         "--rounds", "1"],
        ["bench/run.py", "300", "--repeat", "1"],
        ["bench/pdf.py", "--limit", "3", "--repeat", "1"],
        ["bench/startup.py", "--repeat", "1"],
        ["bench/crash.py", "--rows", "60", "--rounds", "1"],
    ],
    ids=["validate", "validate-merged", "validate-libreoffice", "generate", "remind", "run", "pdf", "startup", "crash"],
)
def test_bench_script_runs(args: list[str], tmp_path: Path) -> None:
    if args[0] == "bench/run.py":
        args = [*args, "--workdir", str(tmp_path)]
    env = {**os.environ, "TOOLKIT_BENCH_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    # Every script prints ratios such as "1.42x" (one that needs LibreOffice says when it is missing).
    assert "x" in done.stdout or "is not installed here" in done.stdout
