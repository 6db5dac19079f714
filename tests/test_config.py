"""Config loading: defaults, lookup order, unknown keys, wrong types, relative paths."""

from __future__ import annotations

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
