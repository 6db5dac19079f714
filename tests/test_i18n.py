"""Every user-facing message table has both languages with the same placeholders."""

from __future__ import annotations

import importlib
import pkgutil
import string
from typing import Any

import pytest

import toolkit
from toolkit.errors import StateError
from toolkit.i18n import LANGUAGES


def _tables() -> list[tuple[str, dict[str, dict[str, str]]]]:
    found = []
    for info in pkgutil.walk_packages(toolkit.__path__, "toolkit."):
        if info.name == "toolkit.__main__":  # runs the command line when imported
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values())
                    and all("zh" in v for v in value.values())):
                found.append((f"{info.name}.{name}", value))
    return found


def _placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


TABLES = _tables()


def test_the_tables_are_found() -> None:
    names = {name for name, _ in TABLES}
    for expected in ("toolkit.config.MESSAGES", "toolkit.lock._LOCK_MESSAGES", "toolkit.scheduler._MESSAGES",
                     "toolkit.state._MESSAGES", "toolkit.history._ERRORS", "toolkit.cli._MESSAGES"):
        assert expected in names


@pytest.mark.parametrize(("name", "table"), TABLES, ids=[n for n, _ in TABLES])
def test_every_message_has_both_languages_with_the_same_placeholders(name: str, table: dict[str, Any]) -> None:
    for key, entry in table.items():
        for language in LANGUAGES:
            assert entry.get(language), f"{name}[{key!r}] has no {language}"
        assert _placeholders(entry["zh"]) == _placeholders(entry["en"]), f"{name}[{key!r}]"


def test_an_error_raised_without_a_language_carries_both() -> None:
    error = StateError.translated({"x": {"zh": "无法打开 {path}", "en": "cannot open {path}"}}, "x", path="a.db")
    assert str(error) == "无法打开 a.db" and error.text("en") == "cannot open a.db" and error.text("zh") == str(error)
