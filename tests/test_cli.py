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
EXAMPLE = ROOT / "examples" / "complaint-register.xlsx"


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


@pytest.mark.parametrize("command", [["run"], ["remind"], ["schedule", "--once"]])
@pytest.mark.parametrize("where", ["{blocker}", "{blocker}/sub"])
def test_an_output_folder_that_cannot_be_made_stops_the_run_with_one_line(
        tmp_path: Path, command: list[str], where: str) -> None:
    # [output] dir itself, not an --out: the log file, the lock and the state live there.
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    config = tmp_path / "config.toml"
    config.write_text(f"[register]\npath = '{EXAMPLE}'\n[output]\ndir = '{where.format(blocker=blocker)}'\n"
                      "[schedule]\nworkdays_only = false\ndays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']\n",
                      encoding="utf-8")
    done = cli(*command, "--config", str(config), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"{blocker} 是一个文件，不是文件夹" in done.stderr.strip().splitlines()[-1]
    assert blocker.read_text() == "not a folder"


def test_an_output_folder_that_cannot_be_created_says_why_in_chinese(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    missing = Path("/proc/complaint-toolkit-no-such-folder")  # /proc takes no new folders, even from root
    if not Path("/proc/self").exists():
        pytest.skip("no /proc here")
    config.write_text(f"[register]\npath = '{EXAMPLE}'\n[output]\ndir = '{missing}'\n", encoding="utf-8")
    done = cli("run", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert f"无法创建输出文件夹 {missing}" in last and "路径不存在" in last and "No such file" not in last


def test_a_state_file_that_cannot_be_written_is_not_called_damaged(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"[register]\npath = '{EXAMPLE}'\n[output]\ndir = 'out'\n", encoding="utf-8")
    assert cli("run", "--config", str(config), "-q", cwd=tmp_path).returncode == 0
    state = tmp_path / "out" / "state.sqlite"
    # An immutable file is what a read-only share looks like to SQLite; chmod does not stop root.
    if subprocess.run(["chattr", "+i", str(state)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not possible here")
    try:
        done = cli("run", "--config", str(config), cwd=tmp_path)
    finally:
        subprocess.run(["chattr", "-i", str(state)], capture_output=True)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert f"无法写入状态数据库 {state}" in last and "不要删除它" in last
    assert "损坏" not in last and "移到别处" not in last


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


def test_without_a_config_the_warning_names_the_register_given_on_the_command_line(tmp_path: Path) -> None:
    done = cli("validate", "--register", str(EXAMPLE), "--today", "2026-11-23", cwd=tmp_path)
    assert done.returncode == 1  # the example has errors on purpose
    warning = done.stderr.splitlines()[0]
    assert "使用默认设置" in warning and warning.endswith(f"台账 {EXAMPLE}"), warning


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


# -- a CLI that speaks the user's language and habits -------------------------------------------

from toolkit.cli import COMMANDS  # noqa: E402


def _en_config(tmp_path: Path) -> Path:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[register]\nlanguage = "en"\npath = \'{ROOT / "examples" / "complaint-register.xlsx"}\'\n'
                   '[output]\ndir = "out"\n', encoding="utf-8")
    return cfg


def test_help_is_chinese_by_default_with_an_example(tmp_path: Path) -> None:
    done = cli("--help", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.startswith("用法：complaint-toolkit")
    assert "选项：" in done.stdout and "显示此帮助并退出" in done.stdout
    assert "例：complaint-toolkit --config config.toml validate" in done.stdout
    for command in COMMANDS:
        assert command.name in done.stdout and command.zh in done.stdout


@pytest.mark.parametrize("command", [c.name for c in COMMANDS])
def test_every_command_has_help_in_both_languages_with_one_example(tmp_path: Path, command: str) -> None:
    zh = cli(command, "--help", cwd=tmp_path)
    assert zh.returncode == 0, zh.stderr
    entry = next(c for c in COMMANDS if c.name == command)
    assert entry.zh in zh.stdout and f"例：{entry.example}" in zh.stdout
    assert "显示此帮助并退出" in zh.stdout and "配置文件（默认" in zh.stdout
    en = cli("--config", str(_en_config(tmp_path)), command, "--help", cwd=tmp_path)
    assert en.returncode == 0, en.stderr
    assert entry.en in en.stdout and f"Example: {entry.example}" in en.stdout
    assert "show this help message and exit" in en.stdout and "usage: " in en.stdout
    assert not re.search(r"[\u4e00-\u9fff]", en.stdout.replace(entry.example, "").replace(entry.en, ""))


def test_argparse_errors_are_in_the_configured_language(tmp_path: Path) -> None:
    zh = cli("validate", "--today", "23/11/2026", cwd=tmp_path)
    assert zh.returncode == 2
    assert "complaint-toolkit validate：错误：参数 --today：“23/11/2026”不是日期" in zh.stderr
    unknown = cli("validate", "--nope", cwd=tmp_path)
    assert "无法识别的参数：--nope" in unknown.stderr
    en = cli("--config", str(_en_config(tmp_path)), "validate", "--today", "23/11/2026", cwd=tmp_path)
    assert "complaint-toolkit validate: error: argument --today: '23/11/2026' is not a date" in en.stderr


def test_a_misspelt_command_gets_did_you_mean(tmp_path: Path) -> None:
    done = cli("valdate", cwd=tmp_path)
    assert done.returncode == 2
    assert "没有“valdate”这个命令。是否应为 validate？" in done.stderr
    en = cli("--config", str(_en_config(tmp_path)), "histroy", cwd=tmp_path)
    assert "there is no command 'histroy'. Did you mean history?" in en.stderr


def test_global_options_work_before_the_command(tmp_path: Path) -> None:
    cfg = _en_config(tmp_path)
    before = cli("--config", str(cfg), "-q", "validate", "--today", "2026-11-23", cwd=tmp_path)
    after = cli("validate", "--today", "2026-11-23", "--config", str(cfg), "-q", cwd=tmp_path)
    assert before.returncode == after.returncode == 1
    assert before.stdout == after.stdout and "Data rows: 60; errors: 17" in before.stdout  # English: config read


def test_quiet_prints_nothing_when_the_command_succeeds(tmp_path: Path) -> None:
    cfg = _en_config(tmp_path)
    done = cli("-q", "--config", str(cfg), "init-register", str(tmp_path / "new.xlsx"), cwd=tmp_path)
    assert done.returncode == 0 and (tmp_path / "new.xlsx").exists()
    assert done.stdout == "" and done.stderr == ""
    loud = cli("--config", str(cfg), "init-register", str(tmp_path / "new2.xlsx"), cwd=tmp_path)
    assert "Created a new register" in loud.stdout
    # on an error, the error is printed (cron mails it)
    failed = cli("-q", "--config", str(cfg), "init-register", str(tmp_path / "new.xlsx"), cwd=tmp_path)
    assert failed.returncode == 2 and failed.stderr.startswith("Error: ")


def test_debug_shows_the_traceback_and_keeps_the_exit_code(tmp_path: Path) -> None:
    done = cli("--debug", "validate", "--register", str(tmp_path / "missing.xlsx"), cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback (most recent call last)" in done.stderr
    assert done.stderr.splitlines()[-1].startswith("错误：找不到台账文件")


@pytest.mark.parametrize("command", [c.name for c in COMMANDS if c.writes and c.name != "schedule"]
                         + ["schedule"])
def test_a_writing_command_without_a_config_file_creates_nothing(tmp_path: Path, command: str) -> None:
    args = [command, "--once"] if command == "schedule" else [command]
    done = cli(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert "找不到配置文件" in done.stderr and "请到 config.toml 所在的文件夹运行，或用 --config 指定配置文件" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_validate_report_says_where_it_wrote_the_workbook(tmp_path: Path) -> None:
    out = tmp_path / "检查报告.xlsx"
    done = cli("validate", "--config", str(ROOT / "config.toml"), "--today", "2026-11-23", "--report", str(out),
               cwd=tmp_path)
    assert done.returncode == 1 and out.exists()
    assert done.stdout.splitlines()[-1] == f"检查报告已写入 {out}"
    as_json = cli("validate", "--config", str(ROOT / "config.toml"), "--today", "2026-11-23", "--report", str(out),
                  "--format", "json", cwd=tmp_path)
    assert f"检查报告已写入 {out}" in as_json.stderr and as_json.stdout.lstrip().startswith("{")


def test_output_piped_into_head_ends_quietly() -> None:
    env = {k: v for k, v in os.environ.items() if k != "TOOLKIT_CONFIG"}
    env["PYTHONPATH"] = str(ROOT)
    # `validate --format json | head -c 1`: far more output than a pipe buffer, reader gone.
    done = subprocess.run(f"'{sys.executable}' -m toolkit validate --today 2026-11-23 --format json "
                          f"--register '{ROOT / 'examples' / 'complaint-register.xlsx'}' | head -c 1 >/dev/null; "
                          "echo \"exit=${PIPESTATUS[0]}\"", shell=True, executable="/bin/bash", cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr
    assert done.stderr == ""
    assert done.stdout.strip() in ("exit=141", "exit=1")  # 1: the output fit the pipe before head left


def test_help_imports_no_command_module() -> None:
    code = ("import sys; from toolkit.cli import build_parser; build_parser('zh'); "
            "print(sorted(m for m in sys.modules if m.startswith('toolkit.cli.') or m in "
            "('openpyxl', 'holidays', 'smtplib', 'toolkit.register', 'toolkit.report')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.stdout.strip() == "['toolkit.cli._common']"


def test_every_command_module_is_in_the_registry() -> None:
    import pkgutil

    import toolkit.cli

    modules = {info.name for info in pkgutil.iter_modules(toolkit.cli.__path__) if not info.name.startswith("_")}
    assert modules == {c.module for c in COMMANDS}
