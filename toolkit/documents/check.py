"""Honest template checks: every tag of every part, another engine's syntax, form fields,
data-bound content controls, loop attributes and the names a template may use.

Each check returns :class:`~toolkit.documents.jinja.Problem` values (never raises), so
``check-templates`` lists all of them and ``generate`` refuses a template with an error.
Paragraph numbers count the part's ``w:p`` elements from 1 in document order (tables included).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING

import jinja2
from lxml import etree

from ..fields import FIELDS
from ..i18n import Messages, translate

if TYPE_CHECKING:
    from .jinja import Problem
    from .mailmerge import FieldNote

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
ERROR, WARNING = "error", "warning"

#: Names a template may use beyond the fields (English name, Chinese name).
EXTRA_NAMES = {
    "company_name": "公司名称",
    "form_no": "表单编号",
    "is_special": "是否特殊客诉",
    "actions": "措施明细",
    "capa_status": "措施完成情况",
}
#: What each item of ``actions`` holds.
ACTION_KEYS = ("no", "type", "text", "owner", "due")

MESSAGES: Messages = {
    "syntax": {"zh": "占位符语法错误：{error}（附近文字：{near}）。请检查 {{{{ }}}} 与 {{% %}} 是否成对。",
               "en": "placeholder syntax error: {error} (near: {near}). Check that {{{{ }}}} and {{% %}} are paired."},
    "poi-loop": {"zh": "{text} 是 poi-tl 的表格循环写法，本工具不识别；请改用 {{%tr for a in actions %}}…{{%tr endfor %}}"
                       "（每行一项措施，a.no a.type a.text a.owner a.due）。",
                 "en": "{text} is poi-tl's table-loop syntax, which this toolkit does not read; write "
                       "{{%tr for a in actions %}}…{{%tr endfor %}} instead (one row per action: a.no a.type "
                       "a.text a.owner a.due)."},
    "poi-picture": {"zh": "{text} 是 poi-tl 的图片标签，本工具不插入图片；请把图片直接放进模板，或删除此标签。",
                    "en": "{text} is poi-tl's picture tag; this toolkit inserts no pictures: put the picture "
                          "in the template itself, or remove the tag."},
    "poi-condition": {"zh": "{text} 是 poi-tl 的条件/区块写法；请改用 {{%p if {name} %}}…{{%p endif %}}。",
                      "en": "{text} is poi-tl's condition/section syntax; write {{%p if {name} %}}…{{%p endif %}} "
                            "instead."},
    "poi-other": {"zh": "{text} 是另一种模板引擎（poi-tl）的标签；请改用 {{{{ 字段名 }}}}。",
                  "en": "{text} is another template engine's (poi-tl) tag; write {{{{ field name }}}} instead."},
    "dollar": {"zh": "{text} 是 FreeMarker/Velocity 等引擎的写法，会原样印在文件上；请改为 {{{{ {name} }}}}。",
               "en": "{text} is FreeMarker/Velocity-style syntax and would be printed as it is; write "
                     "{{{{ {name} }}}} instead."},
    "bracket": {"zh": "{text} 是 poi-tl 表格循环中的列字段写法，会原样印在文件上；请改为 {{{{ {name} }}}}"
                      "（措施表格的行中用 {{%tr for a in actions %}} 与 a.no a.type a.text a.owner a.due）。",
                "en": "{text} is a poi-tl loop-row column field and would be printed as it is; write "
                      "{{{{ {name} }}}} instead (in the actions table, a {{%tr for a in actions %}} row with "
                      "a.no a.type a.text a.owner a.due)."},
    "guillemets": {"zh": "{text} 是手工输入的文字，不是合并域，会原样印在文件上；请在 Word 中用“邮件 → 插入合并域”"
                         "插入 {name}，或改写为 {{{{ {name} }}}}。",
                   "en": "{text} is typed text, not a merge field, and would be printed as it is; insert a real "
                         "MERGEFIELD {name} (Word: Mailings → Insert Merge Field) or write {{{{ {name} }}}}."},
    "ime-braces": {"zh": "{text} 不是占位符（{why}），会原样印在文件上；请改为半角的 {{{{ {name} }}}}（切换到英文输入法，"
                         "输入两个 {{ 和两个 }}）。",
                   "en": "{text} is not a placeholder ({why}) and would be printed as it is; write {{{{ {name} }}}} "
                         "with half-width braces (two {{ and two }}, typed with the input method in English mode)."},
    "form-field": {"zh": "旧式窗体域 {text} 不会被填写（它供在 Word 中手工输入）；请改用 {{{{ 字段名 }}}} 或合并域。",
                   "en": "legacy form field {text} is not filled (it is for typing into in Word); use "
                         "{{{{ field name }}}} or a MERGEFIELD instead."},
    "nested-mergefield": {"zh": "合并域 {text} 位于另一个域（如 IF）之中，本工具不计算该域；请把合并域移出，"
                                "或改用 {{%p if … %}}。",
                          "en": "MERGEFIELD {text} sits inside another field (such as IF), which this toolkit "
                                "does not evaluate; move it out, or use {{%p if … %}} instead."},
    "bound-control": {"zh": "内容控件“{text}”绑定到文档属性（{xpath}），其文字来自文件属性而不是台账；"
                            "请删除绑定（控件属性中取消映射）或改用 {{{{ 字段名 }}}}。",
                      "en": "content control \"{text}\" is bound to a document property ({xpath}): its text "
                            "comes from the file's properties, not the register; remove the binding or use "
                            "{{{{ field name }}}} instead."},
    "loop-attribute": {"zh": "{text} 中的 {var}.{attr} 不存在：{var} 是 actions 的一项，可用 {valid}。",
                       "en": "{var}.{attr} in {text} does not exist: {var} is an item of actions, which has "
                             "{valid}."},
    "comment-tag": {"zh": "批注中的 {text} 不会被填写（批注不属于表单内容）；如需印出，请把它移到正文、表格、页眉页脚或脚注中。",
                    "en": "{text} in a comment is not filled (comments are not part of the form); to print it, "
                          "move it into the body, a table, a header or footer, or a footnote."},
    "unsafe": {"zh": "{text} 中的 {what} 会让台账文字不经转义写入文件（如“<”“&”会损坏文件）：本工具总是按原文印出台账文字，"
                     "请删除 {what}。",
               "en": "{what} in {text} would write register text into the file unescaped (a \"<\" or \"&\" "
                     "corrupts it): the toolkit always prints register text as typed, so remove {what}."},
    "filter-block": {"zh": "{text} 会作用于 Word 文件的 XML 而不只是文字，会损坏文件；请删除它，改在占位符上用过滤器，"
                           "如 {{{{ 客户名称|upper }}}}。",
                     "en": "{text} works on the Word file's XML, not only its text, and corrupts it; remove it and "
                           "put the filter on the placeholder instead, e.g. {{{{ customer_name|upper }}}}."},
    "no-placeholder": {"zh": "模板中没有任何占位符或合并域：每条投诉都会得到同样的表单。请加入如 {{{{ 投诉编号 }}}} "
                             "的占位符。",
                       "en": "the template has no placeholder or merge field at all: every complaint would get "
                             "the same form. Add placeholders such as {{{{ complaint_id }}}}."},
}


def _problem(code: str, severity: str, part: str, paragraph: int, text: str, language: str,
             **values: object) -> Problem:
    from .jinja import Problem

    return Problem(code, severity, part, paragraph,
                   text, translate(MESSAGES, code, language, text=text, **values))


_TEXT = re.compile(r"<[^>]+>")


def paragraph_text(xml_line: str) -> str:
    return _TEXT.sub("", xml_line).strip()[:80]


# -- names --------------------------------------------------------------------------------------------


def header_names(f_zh: str) -> list[str]:
    """The Chinese header usable as a Jinja name (``产品/服务`` -> ``产品服务``)."""
    names = [f_zh] if f_zh.isidentifier() else []
    squeezed = re.sub(r"\W", "", f_zh)
    if squeezed != f_zh and squeezed.isidentifier():
        names.append(squeezed)
    return names


def available_names() -> set[str]:
    """Every name a ``{{ }}`` tag may use: fields by canonical name and Chinese header, the
    extras, and Jinja's own globals."""
    from .jinja import ENV

    names = set(ENV.globals)
    for f in FIELDS:
        names.add(f.name)
        names.update(header_names(f.zh))
    for en, zh in EXTRA_NAMES.items():
        names.update((en, zh))
    return names


def _squeeze(text: str) -> str:
    return re.sub(r"[\W_]", "", unicodedata.normalize("NFKC", text)).casefold()


def _merge_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for f in FIELDS:
        for text in (f.name, f.zh, f.en):
            table.setdefault(_squeeze(text), f.name)
    for en, zh in EXTRA_NAMES.items():
        table.setdefault(_squeeze(en), en)
        table.setdefault(_squeeze(zh), en)
    return table


_MERGE_NAMES = _merge_table()


def context_key(name: str) -> str | None:
    """The context key a MERGEFIELD name prints: field names, Chinese and English headers,
    ignoring case, spaces, underscores and punctuation (Word writes ``产品_服务`` for 产品/服务)."""
    key = _MERGE_NAMES.get(_squeeze(name))
    return key if key != "actions" else None  # a list: not printable as one field


def suggestions(name: str) -> list[str]:
    """The closest names a template may use: an exact match ignoring case first."""
    known = sorted(available_names())
    folded = [k for k in known if k.casefold() == name.casefold()]
    if folded:
        return folded
    squeezed = _MERGE_NAMES.get(_squeeze(name))
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    if squeezed and squeezed not in close:
        close.insert(0, squeezed)
    return close[:3]


# -- another engine's syntax ----------------------------------------------------------------------------

_POI = re.compile(r"{{\s*([#@?/>^*+=~])\s*([^{}]*?)\s*}}")
_DOLLAR = re.compile(r"\$\{\s*([^{}]+?)\s*\}")
_BRACKET = re.compile(r"\[\s*([A-Za-z_\u4e00-\u9fff][\w\u4e00-\u9fff.]*)\s*\]")
_GUILLEMETS = re.compile(r"«([^«»<>]{1,60})»")
#: Braces around a name that are not a tag: full-width ``｛｛ 投诉编号 ｝｝`` typed with a Chinese
#: IME, or one brace too few (``{ 投诉编号 }``, ``{ 客户名称 }}``). Only flagged around a name a
#: template may use, so braces in ordinary text are left alone.
_BRACES = re.compile(r"(?<!\$)(?P<open>[{｛](?:[ \t\u3000]*[{｛])?)[ \t\u3000]*(?P<name>[^\s{}｛｝|]{1,40}?)"
                     r"[ \t\u3000]*(?:\|[^{}｛｝]*?)?(?P<close>[}｝](?:[ \t\u3000]*[}｝])?)")
_WHY = {"zh": ("全角括号 ｛ ｝", "括号不成对：须两个 {{ 和两个 }}", "两个括号之间有空格"),
        "en": ("full-width braces ｛ ｝", "braces not paired: it takes two {{ and two }}", "a space between the braces")}
_XML_BRACE = "&#123;"
_TAG = re.compile(r"{{.*?}}|{%.*?%}")


def foreign_syntax(part: str, lines: list[str], language: str) -> tuple[list[Problem], list[str]]:
    """Tags of poi-tl/Mustache (``{{#x}}``, ``{{@x}}``), ``${x}``, ``[x]`` loop fields and
    ``«x»`` typed as text. Returns the problems and the lines with those tags made plain text."""
    problems: list[Problem] = []
    poi_seen = any("{{#" in line or "{{ #" in line for line in lines)
    known = available_names()
    out = []
    for number, line in enumerate(lines):
        # The whole paragraph's text (paragraph_text keeps 80 characters, for messages).
        text_only = _TEXT.sub("", line) if any(c in line for c in "{$[«｛") else ""
        if not text_only.strip():
            out.append(line)
            continue
        for match in _POI.finditer(line):
            sign, name = match.group(1), paragraph_text(match.group(2))
            code = {"#": "poi-loop", "@": "poi-picture", "?": "poi-condition", "/": "poi-condition"}.get(
                sign, "poi-other")
            problems.append(_problem(code, ERROR, part, number, paragraph_text(match.group(0)), language,
                                     name=name))
        line = _POI.sub(lambda m: m.group(0).replace("{", _XML_BRACE), line)
        text_only = _TAG.sub("", text_only)  # ${x} or [x] inside a {{ }} tag is Jinja's business
        for match in _DOLLAR.finditer(text_only):
            problems.append(_problem("dollar", ERROR, part, number, match.group(0), language,
                                     name=match.group(1).strip()))
        for match in _BRACKET.finditer(text_only):
            name = match.group(1)
            if poi_seen or name in known or context_key(name):
                problems.append(_problem("bracket", ERROR, part, number, match.group(0), language, name=name))
        for match in _GUILLEMETS.finditer(text_only):
            name = match.group(1).strip()
            problems.append(_problem("guillemets", ERROR, part, number, match.group(0), language, name=name))
        for match in _BRACES.finditer(text_only):
            name = match.group("name")
            braces = match.group("open") + match.group("close")
            if not (name in known or context_key(name)):
                continue
            kind = 0 if "｛" in braces or "｝" in braces else 2 if re.sub(r"\s", "", braces) == "{{}}" else 1
            why = _WHY["en" if language == "en" else "zh"][kind]
            problems.append(_problem("ime-braces", ERROR, part, number, match.group(0), language, name=name,
                                     why=why))
        out.append(line)
    return problems, out


# -- every tag, one by one ------------------------------------------------------------------------------


def syntax_problem(part: str, line: int, error: str, near: str, language: str) -> Problem:
    return _problem("syntax", ERROR, part, max(0, line - 1), near, language, error=error, near=near)


#: What would let text past the escaping: the ``safe`` filter, Markup, turning autoescape off.
_UNSAFE = re.compile(r"\|\s*safe\b|\bmarkupsafe\b|\bMarkup\b|^[{]%-?\s*(?:autoescape)\b")
_FILTER_BLOCK = re.compile(r"^[{]%-?\s*filter\b")


def unsafe(part: str, number: int, tag: str, language: str) -> list[Problem]:
    """A tag that would print register text unescaped (``|safe``, ``{% autoescape false %}``)
    or rewrite the part's XML (``{% filter %}``): refused, whatever the row holds."""
    found = []
    for match in _UNSAFE.finditer(tag):
        text = match.group(0)
        what = "{% autoescape %}" if "autoescape" in text else "|safe" if text.startswith("|") else text
        found.append(_problem("unsafe", ERROR, part, number, paragraph_text(tag), language, what=what))
    if _FILTER_BLOCK.match(tag):
        found.append(_problem("filter-block", ERROR, part, number, paragraph_text(tag), language))
    return found


def tags(part: str, lines: list[str], language: str, env: jinja2.Environment) -> tuple[list[Problem], set[str]]:
    """Check each ``{{ }}`` on its own, so a bad tag does not hide the ones after it. Returns the
    problems and the names the good tags use."""
    problems: list[Problem] = []
    names: set[str] = set()
    from jinja2 import meta

    for number, line in enumerate(lines):
        for match in re.finditer(r"{{.*?}}|{%.*?%}", line, re.DOTALL):
            problems.extend(unsafe(part, number, match.group(0), language))
        for match in re.finditer(r"{{.*?}}", line, re.DOTALL):
            tag = match.group(0)
            try:
                names |= meta.find_undeclared_variables(env.parse(tag))
            except jinja2.TemplateSyntaxError as exc:
                problems.append(syntax_problem(part, number + 1, exc.message or str(exc),
                                               paragraph_text(tag), language))
        for match in re.finditer(r"{%.*?%}", line, re.DOTALL):
            body = match.group(0)[2:-2].strip()
            body = re.sub(r"^(tr|tc|p|r)\s", "", body)
            head = body.split(" ", 1)[0] if body else ""
            if head in ("if", "elif", "for") or head.startswith("end") or head == "else":
                expr = body[len(head):].strip()
                if head == "for":
                    expr = expr.split(" in ", 1)[1] if " in " in expr else ""
                if expr:
                    try:
                        names |= meta.find_undeclared_variables(env.parse("{{ " + expr + " }}"))
                    except jinja2.TemplateSyntaxError as exc:
                        problems.append(syntax_problem(part, number + 1, exc.message or str(exc),
                                                       paragraph_text(match.group(0)), language))
    return problems, names


_FOR = re.compile(r"{%-?\s*(?:tr|tc|p|r)?\s*for\s+(\w+)\s+in\s+actions\b")


def loop_attributes(part: str, lines: list[str], language: str) -> list[Problem]:
    """``{{ a.desc }}`` inside ``{%tr for a in actions %}``: an attribute no action has."""
    loops = {m.group(1) for line in lines for m in _FOR.finditer(line)}
    problems = []
    for var in loops:
        pattern = re.compile(rf"(?<![\w.]){re.escape(var)}\.(\w+)|(?<![\w.]){re.escape(var)}\[['\"](\w+)['\"]\]")
        for number, line in enumerate(lines):
            for tag in re.finditer(r"{{.*?}}|{%.*?%}", line):
                for m in pattern.finditer(tag.group(0)):
                    attr = m.group(1) or m.group(2)
                    if attr not in ACTION_KEYS:
                        problems.append(_problem("loop-attribute", ERROR, part, number,
                                                 paragraph_text(tag.group(0)), language, var=var, attr=attr,
                                                 valid=", ".join(f"{var}.{k}" for k in ACTION_KEYS)))
    return problems


# -- Word's own blanks: form fields, nested merge fields, bound content controls --------------------


def field_notes(notes: Iterable[FieldNote], language: str) -> list[Problem]:
    return [_problem(n.code, WARNING, n.part, n.paragraph, n.instruction, language) for n in notes]


def content_controls(root: etree._Element, part: str, language: str) -> list[Problem]:
    """Content controls bound to a data store (``w:dataBinding``): Word fills them from the file's
    properties, whatever the register says."""
    paragraphs = {p: n for n, p in enumerate(root.iter(f"{_W}p"), 1)}
    found = []
    for sdt in root.iter(f"{_W}sdt"):
        binding = sdt.find(f"{_W}sdtPr/{_W}dataBinding")
        if binding is None:
            continue
        alias = sdt.find(f"{_W}sdtPr/{_W}alias")
        tag = sdt.find(f"{_W}sdtPr/{_W}tag")
        label = (alias.get(f"{_W}val") if alias is not None else "") or (
            tag.get(f"{_W}val") if tag is not None else "") or "".join(sdt.itertext()).strip()[:40]
        first = next(sdt.iter(f"{_W}p"), None)
        paragraph = paragraphs.get(first, 0) if first is not None else next(
            (paragraphs.get(a, 0) for a in sdt.iterancestors(f"{_W}p")), 0)
        found.append(_problem("bound-control", WARNING, part, paragraph, label, language,
                              xpath=binding.get(f"{_W}xpath", "")))
    return found


def comment_tags(part: str, content: bytes, language: str) -> list[Problem]:
    """Tags typed in a comment (``word/comments.xml``): left as they are, so named as a warning."""
    try:
        root = etree.fromstring(content)
    except (etree.XMLSyntaxError, ValueError):
        return []
    found = []
    for number, paragraph in enumerate(root.iter(f"{_W}p"), 1):
        text = "".join(t.text or "" for t in paragraph.iter(f"{_W}t"))
        for match in _TAG.finditer(text):
            found.append(_problem("comment-tag", WARNING, part, number, match.group(0), language))
    return found


def no_placeholder(language: str) -> Problem:
    return _problem("no-placeholder", WARNING, "", 0, "", language)
