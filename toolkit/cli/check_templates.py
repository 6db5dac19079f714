"""``complaint-toolkit check-templates``: list every placeholder of the document templates and the
ones no field provides, before anything is rendered."""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Sequence

from ..config import Config
from ..documents import (
    EXTRA_NAMES,
    TemplateCheck,
    available_names,
    check_template,
    check_templates,
    header_names,
)
from ..fields import FIELDS
from ..i18n import Messages, translate
from . import _common

NAME = "check-templates"

MESSAGES: Messages = {
    "feedback": {"zh": "反馈单模板", "en": "feedback form template"},
    "capa": {"zh": "纠正预防措施单模板", "en": "CAPA sheet template"},
    "": {"zh": "模板", "en": "template"},
    "count": {"zh": "{n} 个占位符", "en": "{n} placeholders"},
    "unknown": {"zh": "未知（没有字段提供）", "en": "UNKNOWN (no field provides it)"},
    "ok": {"zh": "全部占位符都有字段提供。", "en": "Every placeholder is provided by a field."},
    "maybe": {"zh": "是否应为 {names}？", "en": "did you mean {names}?"},
    "names": {"zh": "模板中可用的名称（字段名 / 中文表头）：", "en": "Names a template may use (field name / Chinese header):"},
    "extras": {"zh": "其他：", "en": "Also:"},
    "bad": {"zh": "{n} 个占位符没有字段提供：请改用字段名（如 complaint_id）或中文表头（如 投诉编号）。",
            "en": "{n} placeholder(s) no field provides: use a field name (e.g. complaint_id) or its "
                  "Chinese header (e.g. 投诉编号)."},
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("templates", nargs="*", metavar="TEMPLATE.docx",
                        help=_common.say("要检查的模板（默认：配置中的反馈单和纠正预防措施单模板）",
                                         "templates to check (default: the configured feedback and CAPA templates)"))
    parser.add_argument("--names", action="store_true", help=_common.say("同时列出模板中可用的全部名称", "also list every name a template may use"))
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
        _common.print_json(data)
    else:
        print(render_text(checks, config.language, names=args.names))
    return 0 if all(c.ok for c in checks) else 1


def render_text(checks: Sequence[TemplateCheck], language: str, names: bool = False) -> str:
    t = lambda key, **kw: translate(MESSAGES, key, language, **kw)  # noqa: E731
    lines = []
    unknown = 0
    known = sorted(available_names())
    for check in checks:
        if language == "zh":
            lines.append(f"{t(check.kind)}：{check.path}（{t('count', n=len(check.placeholders))}）")
        else:
            lines.append(f"{t(check.kind)}: {check.path}  ({t('count', n=len(check.placeholders))})")
        bad = {p.name for p in check.unknown}
        width = max((len(p.name) for p in check.placeholders), default=0)
        for p in check.placeholders:
            mark = ""
            if p.name in bad:
                close = difflib.get_close_matches(p.name, known, n=3, cutoff=0.6)
                mark = f"  <- {t('unknown')}" + (f" {t('maybe', names=', '.join(close))}" if close else "")
            lines.append(f"  {p.name.ljust(width)}  {p.part} ¶{p.paragraph}  {p.tag}{mark}")
        unknown += len(check.unknown)
        lines.append("")
    lines.append(t("bad", n=unknown) if unknown else t("ok"))
    if names:
        lines += ["", t("names")]
        lines += [f"  {f.name} / {' / '.join(header_names(f.zh)) or '-'}" for f in FIELDS]
        lines.append(f"  {t('extras')} " + ", ".join(f"{en} / {zh}" for en, zh in EXTRA_NAMES.items()))
    return "\n".join(lines)
