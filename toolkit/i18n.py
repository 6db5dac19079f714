"""User-facing text in Chinese (zh-CN, the default) and English.

Each stage keeps its own message table next to its code, ``{key: {"zh": ..., "en": ...}}``,
and formats through :func:`translate`, so a message and the code that emits it stay together.
"""

from __future__ import annotations

from typing import Any

Messages = dict[str, dict[str, str]]
LANGUAGES = ("zh", "en")


def translate(table: Messages, key: str, language: str, **values: Any) -> str:
    """``table[key]`` in ``language`` (falling back to Chinese), formatted with ``values``."""
    entry = table[key]
    text = entry.get(language) or entry["zh"]
    return text.format(**values) if values else text
