"""The one small hierarchy of errors that stop a run.

A problem *in the data* (a bad cell) is a :class:`toolkit.model.Finding`, collected and never
raised. These exceptions are for what stops the run: an unreadable file, a bad config, a broken
template, an unreachable mail server. Each message names the file and ends with the fix.
"""

from __future__ import annotations

from typing import Any, TypeVar

from .i18n import LANGUAGES, Messages, translate

E = TypeVar("E", bound="ToolkitError")


class ToolkitError(Exception):
    """Base class; the CLI prints ``错误：<message>`` (``Error:`` in English) and exits with
    :attr:`exit_code`.

    A raiser that does not know the configured language (the state database, opened by path)
    raises :meth:`translated`, which carries the message in every language; the CLI shows the
    one the config asks for (:meth:`text`)."""

    exit_code = 2
    #: The message's language when the raiser knows it (config errors); else the config's.
    language: str | None = None
    #: The message in each language, when raised by :meth:`translated`.
    texts: dict[str, str] | None = None

    @classmethod
    def translated(cls: type[E], table: Messages, key: str, **values: Any) -> E:
        """The error with ``table[key]`` in every language (``str()`` is the Chinese one)."""
        texts = {language: translate(table, key, language, **values) for language in LANGUAGES}
        error = cls(texts["zh"])
        error.texts = texts
        return error

    def text(self, language: str) -> str:
        """The message in ``language`` when it was raised in several, else as raised."""
        if self.texts and language in self.texts:
            return self.texts[language]
        return str(self)


class ConfigError(ToolkitError):
    """config.toml is missing, unreadable, or has a wrong type or value."""


class RegisterError(ToolkitError):
    """The register cannot be read (missing, not an .xlsx, encrypted, no header row...)."""


class TemplateError(ToolkitError):
    """A .docx template is unreadable or uses a placeholder no field provides."""


class MailError(ToolkitError):
    """The mail server cannot be reached or refuses the login."""

    #: True when the next run may well get through (the server down, a timeout); False when
    #: only a change of the setup can help (no password in its variable, the login refused):
    #: the daily job then exits 2 (fix the setup), not 3 (undelivered, sent next run).
    transient = True

    @classmethod
    def setup(cls, message: str) -> MailError:
        """A MailError that no retry can cure."""
        error = cls(message)
        error.transient = False
        return error


class OutputError(ToolkitError):
    """An output folder cannot be created or written (a file stands where a folder should)."""


class StateError(ToolkitError):
    """The state database (reminder ledger, run history) cannot be opened or written."""


class LockError(ToolkitError):
    """Another run or scheduler holds the state folder."""
