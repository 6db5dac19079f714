"""The kinds of document the toolkit files: one table, so a new kind is one entry (or config).

>>> [k.key for k in document_kinds(Config())]
['feedback', 'capa', 'acknowledgement']

Each kind names its shipped templates, its default file name, its form number and *when* a
complaint needs it. Staff add their own in ``config.toml``::

    [documents.kinds."赔付审批单"]
    template = "templates/赔付审批单.docx"
    when = "compensation > 0"          # a sandboxed expression over the row's fields
    form_no = "QR-KF-009"

A built-in kind takes the same keys (``[documents.kinds.acknowledgement] when = "false"`` turns
the letter off). ``when`` sees every field by its name and Chinese header; a blank number is 0
and blank text is "", so ``compensation > 0`` needs no guard.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ..config import Config
from ..errors import ConfigError
from ..fields import FIELDS, NUMBER, VALID_COMPLAINT, is_special
from ..i18n import Messages, translate
from ..model import Record

FEEDBACK, CAPA, ACKNOWLEDGEMENT = "feedback", "capa", "acknowledgement"
TEMPLATES_DIR = Path(__file__).resolve().parent.parent.parent / "templates"

MESSAGES: Messages = {
    "bad-when": {"zh": "[documents.kinds.\"{kind}\"].when = “{expr}” 不是有效的条件：{error}。"
                       "请写成如 compensation > 0 或 投诉等级 == \"A\" 的表达式。",
                 "en": "[documents.kinds.\"{kind}\"].when = \"{expr}\" is not a valid condition: {error}. "
                       "Write an expression such as compensation > 0 or severity == \"A\"."},
    "unknown-when": {"zh": "[documents.kinds.\"{kind}\"].when 使用了未知名称 {names}；可用字段名或中文表头，"
                           "如 compensation、赔付金额。",
                     "en": "[documents.kinds.\"{kind}\"].when uses unknown name(s) {names}; use field names or "
                           "Chinese headers, e.g. compensation, 赔付金额."},
    "when-failed": {"zh": "条件 when = “{expr}” 无法计算：{error}",
                    "en": "the condition when = \"{expr}\" could not be worked out: {error}"},
    "no-template": {"zh": "[documents.kinds.\"{kind}\"] 没有 template：请填写模板路径。",
                    "en": "[documents.kinds.\"{kind}\"] has no template: set its template path."},
}


@dataclass(frozen=True, slots=True)
class DocumentKind:
    """One kind of document: where its template is, how files are named, when it is needed."""

    key: str
    title_zh: str
    title_en: str
    #: Shipped template file per language ("" for a kind from config only).
    shipped: tuple[str, str] = ("", "")
    #: Configured template path ("" = the shipped one for the language).
    template: str = ""
    #: File-name pattern ("" = ``{complaint_id}_<title>.docx``).
    name: str = ""
    form_no: str = ""
    #: Built-in condition, or the config's sandboxed expression in ``when``.
    needed: Callable[[Record, Config], bool] | None = None
    when: str = ""

    def title(self, language: str) -> str:
        return self.title_en if language == "en" else self.title_zh

    def file_pattern(self, language: str) -> str:
        if self.name:
            return self.name
        stem = {FEEDBACK: ("客诉反馈单", "feedback-form"), CAPA: ("纠正预防措施单", "capa-sheet"),
                ACKNOWLEDGEMENT: ("投诉受理告知书", "acknowledgement")}.get(self.key)
        label = (stem[1] if language == "en" else stem[0]) if stem else self.key
        return "{complaint_id}_" + label + ".docx"

    def template_path(self, config: Config) -> Path:
        if self.template:
            return config.path(self.template)
        if not self.shipped[0]:
            raise ConfigError(translate(MESSAGES, "no-template", config.language, kind=self.key))
        return TEMPLATES_DIR / self.shipped[1 if config.language == "en" else 0]

    def applies(self, record: Record, config: Config) -> bool:
        """Whether ``record`` needs this document (raises :class:`WhenError` if ``when`` fails)."""
        if self.when:
            return _evaluate(self, record)
        return True if self.needed is None else self.needed(record, config)


def needs_capa(record: Record, config: Config) -> bool:
    """A CAPA sheet: a corrective action is recorded, or a valid complaint of a CAPA class."""
    action = record.get("corrective_action")
    if action is not None and str(action).strip():
        return True
    return record.get("nature") == VALID_COMPLAINT and record.get("severity") in config.rules.capa_classes


def is_accepted(record: Record, config: Config) -> bool:
    """The acknowledgement (ISO 10002 7.3): every complaint the desk has received (受理日期 is a date)."""
    return isinstance(record.get("received_on"), dt.date)


#: The built-in kinds, in the order their documents are listed.
BUILTIN: tuple[DocumentKind, ...] = (
    DocumentKind(FEEDBACK, "客诉反馈单", "feedback form", ("feedback-form.docx", "feedback-form.en.docx")),
    DocumentKind(CAPA, "纠正预防措施单", "CAPA sheet", ("capa-sheet.docx", "capa-sheet.en.docx"),
                 needed=needs_capa),
    DocumentKind(ACKNOWLEDGEMENT, "投诉受理告知书", "acknowledgement letter",
                 ("acknowledgement.docx", "acknowledgement.en.docx"), form_no="QR-KF-003", needed=is_accepted),
)


def document_kinds(config: Config) -> list[DocumentKind]:
    """The built-in kinds with the config's settings applied, then the kinds config adds."""
    docs = config.documents
    configured = dict(docs.kinds)
    kinds = []
    for kind in BUILTIN:
        template = {FEEDBACK: docs.feedback_template, CAPA: docs.capa_template}.get(kind.key, "")
        name = {FEEDBACK: docs.feedback_name, CAPA: docs.capa_name}.get(kind.key, "")
        form_no = {FEEDBACK: config.company.feedback_form_no, CAPA: config.company.capa_form_no}.get(
            kind.key, kind.form_no)
        extra = configured.pop(kind.key, None)
        when = ""
        if extra is not None:
            template, name = extra.template or template, extra.name or name
            form_no, when = extra.form_no or form_no, extra.when
        kinds.append(DocumentKind(kind.key, kind.title_zh, kind.title_en, kind.shipped, template, name,
                                  form_no, kind.needed, when))
    for key, extra in configured.items():
        kinds.append(DocumentKind(key, extra.title or key, extra.title or key, ("", ""), extra.template,
                                  extra.name, extra.form_no, None, extra.when))
    return kinds


# -- the sandboxed condition ----------------------------------------------------------------------

_ENV = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined)
_COMPILED: dict[str, Callable[..., Any]] = {}


class WhenError(Exception):
    """A ``when`` expression could not be evaluated for a row (the message says why)."""


def when_names() -> set[str]:
    names = {"true", "false", "none", "True", "False", "None", "is_special"}
    for f in FIELDS:
        names.add(f.name)
        names.add(f.zh)
    return names


def check_when(kind: DocumentKind, language: str) -> str:
    """'' when the kind's ``when`` is a valid expression over known names, else what is wrong."""
    if not kind.when:
        return ""
    try:
        names = meta.find_undeclared_variables(_ENV.parse("{{ (" + kind.when + ") }}"))
        _compile(kind.when)
    except jinja2.TemplateSyntaxError as exc:
        return translate(MESSAGES, "bad-when", language, kind=kind.key, expr=kind.when, error=exc.message)
    unknown = sorted(names - when_names())
    if unknown:
        return translate(MESSAGES, "unknown-when", language, kind=kind.key, names=", ".join(unknown))
    return ""


def _compile(expr: str) -> Callable[..., Any]:
    compiled = _COMPILED.get(expr)
    if compiled is None:
        compiled = _COMPILED[expr] = _ENV.compile_expression(expr)
    return compiled


def _evaluate(kind: DocumentKind, record: Record) -> bool:
    values: dict[str, Any] = {}
    for f in FIELDS:
        value = record.values.get(f.name)
        if value is None:
            value = 0 if f.kind == NUMBER else ("" if f.kind != "date" else None)
        values[f.name] = values[f.zh] = value
    values["is_special"] = is_special(record.get("special"))
    try:
        return bool(_compile(kind.when)(**values))
    except Exception as exc:  # a TypeError comparing a date with a number, a sandbox refusal...
        raise WhenError(f"{type(exc).__name__}: {exc}") from exc
