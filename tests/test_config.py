"""Config loading: defaults, lookup order, unknown keys, wrong types, relative paths."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from toolkit.config import Config, load_config
from toolkit.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_loads_without_warnings() -> None:
    cfg = load_config(ROOT / "config.toml")
    assert cfg.warnings == []
    assert cfg.register_path == ROOT / "examples" / "complaint-register.xlsx"
    assert cfg.mail.transport == "outbox"
    assert cfg.rules.for_class("B").followup_days == 7
    assert cfg.department_head("客服部") == "kefu.head@example.com"


def test_defaults_when_no_config_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TOOLKIT_CONFIG", raising=False)
    cfg = load_config(None)
    assert cfg.source is None
    assert cfg.register.language == "zh"
    assert cfg.state_path == tmp_path / "output" / "state.sqlite"


def test_lookup_order_env_then_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    env_cfg = write(tmp_path / "a", '[register]\nlanguage = "en"\n')
    write(tmp_path / "b", '[register]\nlanguage = "zh"\n')
    monkeypatch.chdir(tmp_path / "b")
    monkeypatch.setenv("TOOLKIT_CONFIG", str(env_cfg))
    assert load_config(None).language == "en"
    monkeypatch.delenv("TOOLKIT_CONFIG")
    assert load_config(None).language == "zh"
    assert load_config(env_cfg).language == "en"


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, '[register]\npath = "data/reg.xlsx"\n[output]\ndir = "out"\n'))
    assert cfg.register_path == tmp_path / "data" / "reg.xlsx"
    assert cfg.state_path == tmp_path / "out" / "state.sqlite"


def test_unknown_key_is_a_warning_naming_it(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, '[register]\npaht = "x.xlsx"\n[registr]\n'))
    assert f"{tmp_path / 'config.toml'}: 未知的配置项 [register].paht 已忽略：请检查拼写。是否应为 [register].path？" \
        in cfg.warnings
    assert any("[registr]" in w for w in cfg.warnings)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[register]\npath = 3\n", "[register].path 应为带引号的文字，但这里是整数（3）。"),
        ("[register]\nsheets = \"Sheet1\"\n", "[register].sheets 应为一个列表"),
        ("[rules]\nworking_days = \"yes\"\n", "[rules].working_days 应为布尔值 true 或 false"),
        ("[mail]\nport = \"25\"\n", "[mail].port 应为整数"),
        ("[register]\nlanguage = \"fr\"\n", '[register].language 为 "fr"，只能是 "zh", "en" 之一。'),
        ("[mail]\ntransport = \"smpt\"\n", '只能是 "outbox", "smtp" 之一'),
        ("[columns.no_such_field]\naliases = [\"x\"]\n", "[columns.no_such_field] 不是台账的字段名"),
        ("[schedule]\ntimes = [\"9am\"]\n", "HH:MM"),
        ("[calendar]\nextra_holidays = [\"2026/10/1\"]\n", "YYYY-MM-DD"),
        ("[reports]\nweekly = \"monday 9am\"\n", "[reports].weekly"),
        ("[schedule]\ndays = [\"mo\", \"xyz\"]\n", "[schedule].days"),
    ],
)
def test_wrong_values_name_the_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert expected in str(info.value)
    assert str(info.value).startswith(f"{tmp_path / 'config.toml'}: ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[register]\nlanguage = \"en\"\npath = 3\n", "[register].path must be text in quotes, got a whole number (3)."),
        ("[register]\nlanguage = \"en\"\n[mail]\nport = \"25\"\n", "[mail].port must be a whole number, got text in quotes ('25')."),
        ("[register]\nlanguage = \"en\"\n[mail]\ntransport = \"smpt\"\n", '[mail].transport is "smpt"; it must be one of "outbox", "smtp".'),
    ],
)
def test_an_english_config_gets_english_messages(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert str(info.value) == f"{tmp_path / 'config.toml'}: {expected}"
    assert info.value.language == "en"


def test_broken_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="不是有效的 TOML"):
        load_config(write(tmp_path, "[register\n"))
    with pytest.raises(ConfigError, match="is not valid TOML"):  # the language is sniffed from the text
        load_config(write(tmp_path, "[register]\nlanguage = \"en\"\npath = \n"))
    with pytest.raises(ConfigError, match="不存在。请创建它"):
        load_config(tmp_path / "nope.toml")


@pytest.mark.parametrize(("text", "expected"), [
    ("[register]\npath = '台账.xlsx\n", "第 2 行第 16 列不是有效的 TOML（Expected \"'\"），可能少了一个引号或括号："
                                         "请修改这一行：path = '台账.xlsx"),
    ("[register]\npath = 'a.xlsx'\n[register]\nlanguage = 'zh'\n",
     "第 3 行第 10 列不是有效的 TOML（Cannot declare ('register',) twice），同一个 [节] 或同一项写了两次：请修改这一行：[register]"),
    ("[register]\nlanguage = 'en'\n[mail]\nport = 25 26\n", "is not valid TOML at line 4, column 11 "),
])
def test_a_toml_mistake_names_its_line_and_shows_it(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert expected in str(info.value)


def test_a_config_saved_as_utf16_is_refused_saying_how_to_save_it(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[register]\npath = 'a.xlsx'\n", encoding="utf-16")  # Notepad's "Unicode", with its BOM
    with pytest.raises(ConfigError, match=r"是 UTF-16 编码.*请以 UTF-8 保存"):
        load_config(path)


@pytest.mark.parametrize(("text", "expected"), [
    ("[schedule]\ntimes = []\n", "[schedule].times 为空：计划任务永远不会运行"),
    ("[schedule]\ndays = []\nworkdays_only = false\n", "[schedule].days 为空，而 workdays_only = false"),
])
def test_a_schedule_that_would_never_run_is_refused(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert expected in str(info.value)


def test_no_days_with_the_working_day_calendar_is_fine(tmp_path: Path) -> None:
    # workdays_only = true follows the calendar; the days list is not used then.
    assert load_config(write(tmp_path, "[schedule]\ndays = []\n")).schedule.days == []


def test_column_aliases_and_maps(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, """
[columns.customer_phone]
aliases = ["手机号"]
[people."张三"]
email = "zhangsan@example.com"
"""))
    assert cfg.column_aliases == {"customer_phone": ["手机号"]}
    assert cfg.person_email("张三") == "zhangsan@example.com"
    assert cfg.person_email("李四") == ""
    assert isinstance(cfg, Config)


# -- ranges, through the real command ------------------------------------------------------------

from toolkit.cli import main as cli_main  # noqa: E402
from toolkit.config import RANGES, number_keys, range_for  # noqa: E402


@pytest.mark.parametrize(("section", "key", "value", "expected"), [
    ("mail", "timeout", "0", "[mail].timeout 为 0，超出范围：应大于 0（最大 3600）。"),
    ("mail", "timeout", "-1.5", "[mail].timeout 为 -1.5，超出范围：应大于 0（最大 3600）。"),
    ("mail", "retry_delay", "-5", "[mail].retry_delay 为 -5，超出范围：应在 0 到 3600 之间。"),
    ("mail", "port", "99999", "[mail].port 为 99999，超出范围：应在 1 到 65535 之间。"),
    ("mail", "port", "0", "[mail].port 为 0，超出范围：应在 1 到 65535 之间。"),
    ("mail", "retries", "-1", "[mail].retries 为 -1，超出范围：应在 0 到 100 之间。"),
    ("documents", "workers", "-3", "[documents].workers 为 -3，超出范围：应在 0 到 256 之间（0 表示每个 CPU 核心一个）。"),
    ("reminders", "level2_after", "-1", "[reminders].level2_after 为 -1，超出范围：应不小于 0。"),
    ("reminders", "level3_after", "-2", "[reminders].level3_after 为 -2，超出范围：应不小于 0。"),
    ("reminders", "heads_up_days", "-1", "[reminders].heads_up_days 为 -1，超出范围：应不小于 0。"),
    ("reminders", "repeat_every_days", "-7", "[reminders].repeat_every_days 为 -7，超出范围：应不小于 0。"),
    ("rules.A", "reply_days", "-1", "[rules].A.reply_days 为 -1，超出范围：应不小于 0。"),
    ("rules.C", "followup_days", "-15", "[rules].C.followup_days 为 -15，超出范围：应不小于 0。"),
])
def test_each_number_out_of_range_stops_the_command_naming_key_and_range(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], section: str, key: str, value: str, expected: str) -> None:
    cfg = write(tmp_path, f"[{section}]\n{key} = {value}\n")
    assert cli_main(["validate", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert err == f"错误：{cfg}: {expected}\n"


def test_a_range_error_is_in_english_for_an_english_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write(tmp_path, '[register]\nlanguage = "en"\n[mail]\nport = 99999\n')
    assert cli_main(["run", "--config", str(cfg)]) == 2
    assert capsys.readouterr().err == f"Error: {cfg}: [mail].port is 99999, out of range: it must be from 1 to 65535.\n"
    assert not (tmp_path / "output").exists()  # stopped before anything was written


def test_values_at_the_edges_of_their_ranges_are_accepted(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "[mail]\nport = 65535\ntimeout = 0.5\nretries = 0\nretry_delay = 0\n"
                                      "[documents]\nworkers = 0\n[reminders]\nlevel2_after = 0\n"
                                      "repeat_every_days = 10000\n"))
    assert (cfg.mail.port, cfg.mail.timeout, cfg.mail.retries, cfg.reminders.repeat_every_days) == (65535, 0.5, 0, 10000)


def test_every_number_in_the_config_has_a_range() -> None:
    """A new numeric key without an entry in RANGES fails here, so none arrives unchecked."""
    config = Config()
    keys = list(number_keys(config))
    assert keys, "the walk found no numbers"
    missing = [path for path, pattern, _ in keys if range_for(pattern) is None]
    assert missing == []
    # and every entry of RANGES names a key that exists
    patterns = {pattern for _, pattern, _ in keys}
    assert all(any(range_for(p) is RANGES[key] for p in patterns) for key in RANGES)


# -- hints for what Windows users write --------------------------------------------------------


def test_a_config_saved_as_gbk_says_save_as_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_bytes('[company]\nname = "示例烟草零售有限公司"\n'.encode("gbk"))
    assert cli_main(["validate", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "请以 UTF-8 保存" in err and str(cfg) in err and "Traceback" not in err


@pytest.mark.parametrize("line", [
    'path = "D:\\投诉\\台账.xlsx"',          # \投 is no TOML escape: a parse error
    'path = "D:\\new\\table.xlsx"',          # \n and \t are escapes: parses, silently wrong
])
def test_a_windows_path_in_double_quotes_gets_the_single_quote_hint(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str) -> None:
    cfg = write(tmp_path, f"[register]\n{line}\n")
    assert cli_main(["validate", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "第 2 行" in err and "请改用单引号" in err and "D:/" in err


def test_a_windows_path_written_correctly_is_accepted(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "[register]\npath = 'D:\\投诉\\台账.xlsx'\n[output]\ndir = \"D:\\\\out\"\n"))
    assert cfg.register.path == "D:\\投诉\\台账.xlsx" and cfg.output.dir == "D:\\out"


def test_a_misspelt_key_gets_did_you_mean(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, '[mail]\nprot = 25\n[reminder]\n'))
    assert any("[mail].prot 已忽略：请检查拼写。是否应为 [mail].port？" in w for w in cfg.warnings)
    assert any("[reminder] 已忽略：请检查拼写。是否应为 [reminders]" in w for w in cfg.warnings)


def test_a_misspelt_column_field_gets_did_you_mean(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"是否应为 \[columns\]\.complaint_id？"):
        load_config(write(tmp_path, '[columns.complaint_ld]\naliases = ["单号"]\n'))


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity is a Linux call")
@pytest.mark.parametrize("cores, helpers", [(1, 0), (2, 1), (3, 2), (4, 2)])
def test_the_daily_runs_helpers_default_to_one_core_fewer_than_the_run_may_use(
        tmp_path: Path, cores: int, helpers: int) -> None:
    """Measured on two cores, one helper beats two (three busy processes slow the documents
    stage); with more cores each helper gets its own; on one core a helper only costs memory.
    A config that names the number keeps it."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) < cores:
        pytest.skip(f"this machine gives the tests {len(available)} cores")
    (tmp_path / "three.toml").write_text("[limits]\nhelper_processes = 2\n", encoding="utf-8")
    code = ("import os, sys\n"
            f"os.sched_setaffinity(0, {set(available[:cores])!r})\n"
            "from toolkit.config import Config, load_config\n"
            "print(Config().limits.helper_processes, load_config(sys.argv[1]).limits.helper_processes)\n")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "three.toml")], capture_output=True,
                          text=True, check=True, timeout=60)
    assert done.stdout.split() == [str(helpers), "2"]
