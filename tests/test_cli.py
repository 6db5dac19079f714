"""The command-line shell: help, version, config errors as one line and exit 2."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from toolkit import __version__
from toolkit.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_python_m_toolkit_help_lists_commands() -> None:
    out = subprocess.run([sys.executable, "-m", "toolkit", "--help"], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    for command in ("validate", "generate", "remind", "run", "schedule", "report"):
        assert command in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_bad_config_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[register]\npath = 3\n', encoding="utf-8")
    assert main(["validate", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("错误：")
    assert "[register].path 应为带引号的文字" in err
    assert "Traceback" not in err


def test_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--config", str(tmp_path / "nope.toml")]) == 2
    assert "不存在" in capsys.readouterr().err


@pytest.mark.parametrize("command", [
    ["generate", "--out", "{blocker}"],
    ["report", "--out", "{blocker}/stats.xlsx"],
    ["validate", "--report", "{blocker}/findings.xlsx"],
])
def test_a_file_where_an_output_folder_should_be_is_one_line_and_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    args = [a.replace("{blocker}", str(blocker)) for a in command]
    code = main([*args, "--config", str(ROOT / "config.toml"), "--today", "2026-11-23"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{blocker} 是一个文件，不是文件夹" in err
    assert "Traceback" not in err
    assert blocker.read_text() == "not a folder"


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """The real entry point in a fresh process, so logging is set up as a user gets it."""
    env = {k: v for k, v in os.environ.items() if k != "TOOLKIT_CONFIG"}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "toolkit", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, check=False)


def test_no_config_found_is_said(tmp_path: Path) -> None:
    done = cli("validate", cwd=tmp_path)
    assert done.returncode == 2
    assert "找不到配置文件（--config、$TOOLKIT_CONFIG 或 ./config.toml）：使用默认设置" in done.stderr
    assert done.stderr.splitlines()[-1].startswith("错误：找不到台账文件")  # Chinese is the default


def test_console_shows_results_not_progress_unless_verbose() -> None:
    args = ["validate", "--config", str(ROOT / "config.toml"), "--today", "2026-11-23"]
    quiet = cli(*args)
    assert quiet.returncode == 1 and quiet.stderr == ""
    verbose = cli(*args, "-v")
    assert verbose.returncode == 1
    assert "INFO: sheet 台账: header row 2, 60 records" in verbose.stderr


def test_run_with_a_dead_mail_server_says_it_once(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = tmp_path / "config.toml"
    config.write_text(
        f'[register]\npath = "{(ROOT / "examples" / "complaint-register.xlsx").as_posix()}"\n'
        f'[mail]\ntransport = "smtp"\nhost = "127.0.0.1"\nport = {port}\nretries = 0\n', encoding="utf-8")
    done = cli("run", "--config", str(config), "--today", "2026-11-23", cwd=tmp_path)
    assert done.returncode == 3
    assert f"提醒未发出：无法连接邮件服务器 127.0.0.1:{port}" in done.stdout
    assert "无法连接邮件服务器" not in done.stderr  # the summary says it; the log file keeps it too
    created = re.search(r"文档：新建 (\d+)", done.stdout)
    assert created and int(created.group(1)) > 0  # a dead mail server does not stop the documents
    assert "无法连接邮件服务器" in (tmp_path / "output" / "logs" / "complaint-toolkit.log").read_text("utf-8")


def test_output_to_a_gbk_console_or_file_never_crashes() -> None:
    # check-templates prints ¶, which GBK (a Chinese Windows code page) cannot encode.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "gbk"}
    done = subprocess.run([sys.executable, "-m", "toolkit", "check-templates", "--config", str(ROOT / "config.toml")],
                          cwd=ROOT, env=env, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode("gbk", "replace")
    assert "投诉编号".encode("gbk") in done.stdout
