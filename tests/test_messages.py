"""Every user-facing message table has both languages with the same placeholders.

Tables are found generically: every module-level dict in toolkit/** whose values are all
``{"zh": ..., "en": ...}`` dicts (the shape :func:`toolkit.i18n.translate` reads), so a table
added tomorrow is checked without touching this test.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import string
from typing import Any

import toolkit
from toolkit.i18n import LANGUAGES


def _modules() -> list[Any]:
    names = [m.name for m in pkgutil.walk_packages(toolkit.__path__, "toolkit.")]
    return [importlib.import_module(name) for name in sorted(names) if not name.endswith("__main__")]


def _is_table(value: object) -> bool:
    return (isinstance(value, dict) and bool(value)
            and all(isinstance(k, str) for k in value)
            and all(isinstance(v, dict) and ("zh" in v or "en" in v) for v in value.values()))


def _tables() -> dict[str, dict[str, dict[str, str]]]:
    found: dict[str, dict[str, dict[str, str]]] = {}
    for module in _modules():
        source = inspect.getsource(module)
        for attr, value in vars(module).items():
            # Named where it is assigned: a table imported under another name is checked once,
            # in its own module.
            if _is_table(value) and re.search(rf"^{re.escape(attr)}\s*(:[^=\n]*)?=", source, re.MULTILINE):
                found[f"{module.__name__}.{attr}"] = value
    return found


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_the_tables_are_found() -> None:
    tables = _tables()
    # A sample of the modules that speak to users: the discovery must reach packages too.
    for name in ("toolkit.validate.MESSAGES", "toolkit.reminders.MESSAGES", "toolkit.job._MESSAGES",
                 "toolkit.report.figures.MESSAGES", "toolkit.report.dashboard.MESSAGES",
                 "toolkit.report.workbook.MESSAGES", "toolkit.report.weekly.MESSAGES"):
        assert name in tables, sorted(tables)
    assert len(tables) >= 10


def _problems(tables: dict[str, dict[str, dict[str, str]]]) -> list[str]:
    problems = []
    for table_name, table in tables.items():
        for key, entry in table.items():
            where = f"{table_name}[{key!r}]"
            missing = [lang for lang in LANGUAGES if not isinstance(entry.get(lang), str) or not entry[lang].strip()]
            if missing:
                problems.append(f"{where}: no {'/'.join(missing)} text")
                continue
            extra = set(entry) - set(LANGUAGES)
            if extra:
                problems.append(f"{where}: unknown language(s) {sorted(extra)}")
            try:
                zh, en = _placeholders(entry["zh"]), _placeholders(entry["en"])
            except ValueError as exc:  # an unbalanced brace would fail at run time
                problems.append(f"{where}: {exc}")
                continue
            if zh != en:
                problems.append(f"{where}: placeholders differ, zh {sorted(zh)} vs en {sorted(en)}")
    return problems


def test_every_message_has_both_languages_with_the_same_placeholders() -> None:
    problems = _problems(_tables())
    assert not problems, "\n".join(problems)


def test_the_check_catches_a_bad_table() -> None:
    """The rule itself: a missing language, a placeholder in one language only, a stray brace."""
    bad = {"a": {"zh": "第 {n} 行", "en": "row {row}"}, "b": {"zh": "只有中文"}, "c": {"zh": "{x", "en": "{x}"}}
    assert _is_table(bad)
    assert _problems({"t": bad}) == [
        "t['a']: placeholders differ, zh ['n'] vs en ['row']",
        "t['b']: no en text",
        "t['c']: expected '}' before end of string",
    ]
