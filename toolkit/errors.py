"""The one small hierarchy of errors that stop a run.

A problem *in the data* (a bad cell) is a :class:`toolkit.model.Finding`, collected and never
raised. These exceptions are for what stops the run: an unreadable file, a bad config, a broken
template, an unreachable mail server. Each message names the file and ends with the fix.
"""

from __future__ import annotations


class ToolkitError(Exception):
    """Base class; the CLI prints ``错误：<message>`` (``Error:`` in English) and exits with
    :attr:`exit_code`."""

    exit_code = 2
    #: The message's language when the raiser knows it (config errors); else the config's.
    language: str | None = None


class ConfigError(ToolkitError):
    """config.toml is missing, unreadable, or has a wrong type or value."""


class RegisterError(ToolkitError):
    """The register cannot be read (missing, not an .xlsx, encrypted, no header row...)."""


class TemplateError(ToolkitError):
    """A .docx template is unreadable or uses a placeholder no field provides."""


class MailError(ToolkitError):
    """The mail server cannot be reached or refuses the login."""


class OutputError(ToolkitError):
    """An output folder cannot be created or written (a file stands where a folder should)."""


class StateError(ToolkitError):
    """The state database (reminder ledger, run history) cannot be opened or written."""


class LockError(ToolkitError):
    """Another run or scheduler holds the state folder."""
