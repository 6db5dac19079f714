"""``complaint-toolkit check-templates``: list every placeholder and MERGEFIELD of the document
templates, where each is, and everything that would make a form wrong, before anything is
rendered."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..config import Config
from ..documents import (
    EXTRA_NAMES,
    TemplateCheck,
    available_names,
    check_template,
    check_templates,
    document_kinds,
    header_names,
)
from ..fields import FIELDS
from ..i18n import Messages, translate
from . import _common

NAME = "check-templates"

MESSAGES: Messages = {
    "": {"zh": "模板", "en": "template"},
    "count": {"zh": "{n} 个占位符", "en": "{n} placeholders"},
    "mergefield": {"zh": "合并域", "en": "MERGEFIELD"},
    "unknown": {"zh": "未知（没有字段提供）", "en": "UNKNOWN (no field provides it)"},
    "ok": {"zh": "全部占位符都有字段提供。", "en": "Every placeholder is provided by a field."},
    "maybe": {"zh": "是否应为 {names}？", "en": "did you mean {names}?"},
    "names": {"zh": "模板中可用的名称（字段名 / 中文表头）：", "en": "Names a template may use (field name / Chinese header):"},
    "extras": {"zh": "其他：", "en": "Also:"},
    "actions": {"zh": "措施明细每一项（{%tr for a in actions %}）：", "en": "Each item of actions ({%tr for a in actions %}):"},
    "error": {"zh": "错误", "en": "error"},
    "warning": {"zh": "警告", "en": "warning"},
    "bad": {"zh": "{n} 个占位符没有字段提供：请改用字段名（如 complaint_id）或中文表头（如 投诉编号）。",
            "en": "{n} placeholder(s) no field provides: use a field name (e.g. complaint_id) or its "
                  "Chinese header (e.g. 投诉编号)."},
    "problems": {"zh": "共 {errors} 处错误、{warnings} 处警告。", "en": "{errors} error(s), {warnings} warning(s)."},
    "fatal": {"zh": "错误：{error}", "en": "Error: {error}"},
    "unread": {"zh": "{n} 个模板无法读取，未检查（原因见错误信息）。", "en": "{n} template(s) could not be read, so "
               "they were not checked (see the error)."},
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("templates", nargs="*", metavar="TEMPLATE.docx",
                        help=_common.say("要检查的模板（默认：每种文档的模板）",
                                         "templates to check (default: the template of every document kind)"))
    parser.add_argument("--names", action="store_true",
                        help=_common.say("同时列出模板中可用的全部名称", "also list every name a template may use"))
    _common.add_format(parser)


def run(args: argparse.Namespace, config: Config) -> int:
    if args.templates:
        checks = [check_template(path, "", config.language) for path in args.templates]
    else:
        checks = check_templates(config)
    if args.format == "json":
        data: dict[str, object] = {"templates": [c.to_dict() for c in checks]}
        if args.names:
            data["names"] = sorted(available_names())
        _common.print_json(data)  # one JSON document, a template that cannot be read included
    else:
        titles = {k.key: k.title(config.language) for k in document_kinds(config)}
        print(render_text(checks, config.language, names=args.names, titles=titles))
        for check in checks:
            if check.fatal:
                print(translate(MESSAGES, "fatal", config.language, error=check.fatal), file=sys.stderr)
    if any(c.fatal for c in checks):
        return 2
    return 0 if all(c.ok for c in checks) else 1


def render_text(checks: Sequence[TemplateCheck], language: str, names: bool = False,
                titles: dict[str, str] | None = None) -> str:
    t = lambda key, **kw: translate(MESSAGES, key, language, **kw)  # noqa: E731
    titles = titles or {}
    lines = []
    unknown = errors = warnings = 0
    # A file that could not be read is the command's error line (stderr), never a success here.
    unread = sum(1 for c in checks if c.fatal)
    for check in (c for c in checks if not c.fatal):
        title = titles.get(check.kind, check.kind) if check.kind else t("")
        if language == "zh":
            lines.append(f"{title}：{check.path}（{t('count', n=len(check.placeholders))}）")
        else:
            lines.append(f"{title}: {check.path}  ({t('count', n=len(check.placeholders))})")
        bad = {p.name for p in check.unknown}
        width = max((len(p.name) for p in check.placeholders), default=0)
        for p in check.placeholders:
            mark = ""
            if p.name in bad:
                close = check.suggestions.get(p.name, [])
                mark = f"  <- {t('unknown')}" + (f" {t('maybe', names=', '.join(close))}" if close else "")
            syntax = f"[{t('mergefield')}] " if p.syntax == "mergefield" else ""
            lines.append(f"  {p.name.ljust(width)}  {p.part} ¶{p.paragraph}  {syntax}{p.tag}{mark}")
        for problem in check.problems:
            where = f" {problem.where()}" if problem.where() else ""
            lines.append(f"  {t(problem.severity)}{where}  [{problem.code}]  {problem.message}")
        unknown += len(check.unknown)
        errors += len(check.errors)
        warnings += len(check.warnings)
        lines.append("")
    if unknown:
        lines.append(t("bad", n=unknown))
    elif not unread:
        lines.append(t("ok"))
    if unread:
        lines.append(t("unread", n=unread))
    if errors or warnings:
        lines.append(t("problems", errors=errors, warnings=warnings))
    if names:
        lines += ["", t("names")]
        lines += [f"  {f.name} / {' / '.join(header_names(f.zh)) or '-'}" for f in FIELDS]
        lines.append(f"  {t('extras')} " + ", ".join(f"{en} / {zh}" for en, zh in EXTRA_NAMES.items()))
        lines.append(f"  {t('actions')} a.no a.type a.text a.owner a.due")
    return "\n".join(lines)
