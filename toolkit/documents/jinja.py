"""The template engine: a .docx read, checked and compiled once, then rendered per document.

Templates hold Jinja placeholders (``{{ complaint_id }}`` or ``{{ 投诉编号 }}``, ``{%tr if %}``
rows, ``{%tr for a in actions %}`` rows) and/or Word MERGEFIELDs (:mod:`.mailmerge`). Preparing
a template: MERGEFIELDs become slots, runs Word split a tag over are merged (docxtpl's
``patch_xml``), every run gets an East Asian font, and the XML of the body, headers, footers,
footnotes and endnotes is compiled (tags in comments are reported, not filled). Each document then costs one render of those strings and one zip write; the other
parts of the package are copied byte for byte (already compressed).

Preparing never stops at the first problem: every tag of every part is checked and the
problems are kept (:attr:`PreparedTemplate.problems`); :func:`prepare_template` refuses a
template with errors, :func:`inspect_template` returns them for ``check-templates``.

Register text is data: values are XML-escaped, line breaks become ``<w:br/>``, control
characters are dropped, and a ``{{`` typed into a cell is printed, never evaluated.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import re
import struct
import traceback
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from xml.parsers import expat

import jinja2
from docxtpl import DocxTemplate
from jinja2 import meta
from jinja2.sandbox import ImmutableSandboxedEnvironment
from lxml import etree
from markupsafe import Markup, escape

from ..errors import TemplateError
from ..i18n import Messages, translate
from . import check, mailmerge
from .context import meaning

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_W = f"{{{W_NS}}}"
BODY_FONT, TITLE_FONT = "宋体", "黑体"
_RENDERED_PART = re.compile(r"word/(document|header\d*|footer\d*|footnotes|endnotes)\.xml")
#: Comments are notes to the reader, not the form: tags there are named, never filled.
_COMMENTS_PART = re.compile(r"word/comments\w*\.xml")
_CJK = re.compile("[\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf"
                  "\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003ffff]")
#: Characters XML 1.0 forbids (tab, newline and carriage return are handled separately).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_BREAK = '</w:t><w:br/><w:t xml:space="preserve">'
_TAB = '</w:t><w:tab/><w:t xml:space="preserve">'
TAG = re.compile(r"{{.*?}}|{%.*?%}", re.DOTALL)
#: The context key holding each MERGEFIELD's text, in slot order.
SLOTS = "_mf"

MESSAGES: Messages = {
    "template-missing": {"zh": "模板 {path} 不存在。请检查 [documents] 中的模板路径，或留空以使用自带模板。",
                         "en": "template {path} does not exist. Check the template path in [documents], or "
                               "leave it empty to use the shipped template."},
    "template-unreadable": {"zh": "无法读取模板 {path}：{error}。请用 Word 或 WPS 另存为 .docx 后重试。",
                            "en": "cannot read template {path}: {error}. Save it as .docx from Word or "
                                  "WPS and try again."},
    "template-folder": {"zh": "模板 {path} 是文件夹，不是 .docx 文件。", "en": "template {path} is a folder, not a .docx file."},
    "template-macros": {"zh": "模板 {path} 是启用宏的 Word 文件（.docm/.dotm）：本工具不生成带宏的文件。请在 Word 或 WPS 中"
                              "另存为 .docx（Word 文档）后使用。",
                        "en": "template {path} is a macro-enabled Word file (.docm/.dotm): the toolkit files no "
                              "document with macros. Save it as .docx (Word Document) from Word or WPS and use that."},
    "render-failed": {"zh": "{where}的 {tag} 无法计算{row}：{error}。{hint}",
                      "en": "{tag} in {where} could not be worked out{row}: {error}. {hint}"},
    "render-row": {"zh": "（工作表“{sheet}”第 {row} 行）", "en": " (sheet \"{sheet}\", row {row})"},
    "render-hint": {"zh": "数字只能与数字比较，日期与日期比较；字段可能为空时请先判断，如 {example}。",
                    "en": "compare numbers with numbers and dates with dates; where a field may be blank, test it "
                          "first, e.g. {example}."},
    "trial-failed": {"zh": "试填一条示例投诉时出错：{error}", "en": "filling in a sample complaint failed: {error}"},
    "trial-blank": {"zh": "试填一条字段空白的投诉时出错：{error} 这样的投诉不会生成此文件（结果中会说明原因）。",
                    "en": "filling in a complaint with blank fields failed: {error} Such complaints get no "
                          "document from this template (their result says why)."},
    "trial-error": {"zh": "{tag} 无法计算：{error}。{hint}", "en": "{tag} could not be worked out: {error}. {hint}"},
    "not-xml": {"zh": "填写后的 {part} 不是有效的 XML（{error}），Word 无法打开，因此未写入。请运行 complaint-toolkit "
                      "check-templates 检查该模板；{{% if %}} 与 {{% endif %}} 不在同一段落时请改用 {{%p if %}}…{{%p endif %}}。",
                "en": "the filled {part} is not well-formed XML ({error}), which Word cannot open, so it was not "
                      "written. Run complaint-toolkit check-templates on the template; an {{% if %}} and its "
                      "{{% endif %}} in different paragraphs should be {{%p if %}}…{{%p endif %}}."},
    "template-errors": {"zh": "模板 {path} 有 {n} 处问题，未生成任何文件：{first}。运行 complaint-toolkit "
                              "check-templates {path} 查看全部。",
                        "en": "template {path} has {n} problem(s), so nothing was generated: {first}. Run "
                              "complaint-toolkit check-templates {path} to see them all."},
}


# -- results of preparing ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Placeholder:
    """A name a template uses and where: the part and paragraph of its first use."""

    name: str
    part: str
    paragraph: int
    tag: str
    #: "tag" ({{ }}) or "mergefield".
    syntax: str = "tag"

    def where(self) -> str:
        return f"{self.part} ¶{self.paragraph}: {self.tag}"


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong or doubtful in a template: a code, error or warning, where, what to do."""

    code: str
    severity: str  # "error" | "warning"
    part: str
    paragraph: int
    text: str
    message: str

    def where(self) -> str:
        return f"{self.part} ¶{self.paragraph}" if self.part else ""


@dataclass(slots=True)
class TemplateCheck:
    """Pre-flight of one template: its placeholders, the unknown ones, and other problems."""

    kind: str
    path: str
    placeholders: list[Placeholder] = field(default_factory=list)
    unknown: list[Placeholder] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: A problem that stops the template from being read at all (missing, not a .docx).
    fatal: str = ""
    #: For each unknown name, the closest names a template may use.
    suggestions: dict[str, list[str]] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.fatal and not self.unknown and not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": self.path, "ok": self.ok, "fatal": self.fatal,
                "placeholders": [asdict(p) for p in self.placeholders],
                "unknown": [{**asdict(p), "suggestions": self.suggestions.get(p.name, [])} for p in self.unknown],
                "problems": [asdict(p) for p in self.problems]}


# -- escaping and fonts -----------------------------------------------------------------------------


class _WordML(Markup):
    """Run content :func:`wordml_text` made: the only markup a template may print as it is."""

    __slots__ = ()


def wordml_text(value: object) -> Markup:
    """Register text as WordprocessingML run content: escaped, breaks and tabs as elements."""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    text = str(escape(_CONTROL.sub("", text)))
    return _WordML(text.replace("\n", _BREAK).replace("\t", _TAB))


def _finalize(value: Any) -> Any:
    if isinstance(value, _WordML):
        return value
    if isinstance(value, Markup):
        # Markup from a filter (|e, or |safe if one ever got past the checks) is printed as the
        # text it stands for, escaped here once: register text can never reach the XML raw.
        return wordml_text(value.unescape())
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return wordml_text(value)


def _on_meaning(filter_: Any) -> Any:
    def on_meaning(value: Any, *args: Any, **kwargs: Any) -> Any:
        return filter_(meaning(value), *args, **kwargs)

    return on_meaning


def _environment() -> jinja2.Environment:
    # Sandboxed: a template staff edit cannot reach Python internals through attributes.
    env = ImmutableSandboxedEnvironment(autoescape=True, finalize=_finalize,
                                        undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    # Arithmetic filters see the number, not its text: '1,200.50'|int would be 0.
    for name in ("int", "float", "round", "abs"):
        env.filters[name] = _on_meaning(env.filters[name])
    return env


ENV = _environment()


def _east_asian_fonts(root: etree._Element) -> None:
    for run in root.iter(f"{_W}r"):
        rpr = run.find(f"{_W}rPr")
        if rpr is None:
            rpr = etree.Element(f"{_W}rPr")
            run.insert(0, rpr)
        fonts = rpr.find(f"{_W}rFonts")
        if fonts is None:
            fonts = etree.Element(f"{_W}rFonts")
            style = rpr.find(f"{_W}rStyle")
            rpr.insert(0 if style is None else 1, fonts)
        if fonts.get(f"{_W}eastAsia"):
            continue
        # A theme font would win over eastAsia, and Latin themes have no East Asian face.
        fonts.attrib.pop(f"{_W}eastAsiaTheme", None)
        size = rpr.find(f"{_W}sz")
        large = size is not None and int(size.get(f"{_W}val", "0") or 0) >= 28
        fonts.set(f"{_W}eastAsia", TITLE_FONT if large or rpr.find(f"{_W}b") is not None else BODY_FONT)


def ensure_east_asian_fonts(xml: bytes) -> bytes:
    """Give every run an East Asian font (``w:rFonts w:eastAsia``) so CJK text is never shown in
    a Latin fallback: 黑体 for bold or large runs (titles), 宋体 otherwise."""
    root = etree.fromstring(xml)
    _east_asian_fonts(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def runs_missing_east_asian_font(xml: bytes | str) -> list[str]:
    """Texts of runs holding CJK characters without a direct ``w:eastAsia`` font (should be [])."""
    root = etree.fromstring(xml.encode("utf-8") if isinstance(xml, str) else xml)
    missing = []
    for run in root.iter(f"{_W}r"):
        text = "".join(t.text or "" for t in run.iter(f"{_W}t"))
        if not _CJK.search(text):
            continue
        fonts = run.find(f"{_W}rPr/{_W}rFonts")
        if fonts is None or not fonts.get(f"{_W}eastAsia"):
            missing.append(text)
    return missing


# -- zip writing ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Member:
    """One zip member, already deflated: static parts are compressed once per template."""

    name: bytes
    crc: int
    size: int
    data: bytes  # raw deflate stream

    @classmethod
    def of(cls, name: str, content: bytes) -> Member:
        packer = zlib.compressobj(6, zlib.DEFLATED, -15)
        data = packer.compress(content) + packer.flush()
        return cls(name.encode("utf-8"), zlib.crc32(content), len(content), data)


_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01, 00:00: fixed so equal inputs give equal bytes


def zip_members(members: Sequence[Member]) -> bytes:
    """A zip archive (deflate, UTF-8 names) from pre-compressed members."""
    out = bytearray()
    central = bytearray()
    for m in members:
        offset = len(out)
        flags = 0 if m.name.isascii() else 0x0800  # bit 11: the name is UTF-8
        fixed = struct.pack("<HHHHHIII", 20, flags, 8, 0, _DOS_DATE, m.crc, len(m.data), m.size)
        out += b"PK\x03\x04" + fixed + struct.pack("<HH", len(m.name), 0) + m.name + m.data
        central += (b"PK\x01\x02" + struct.pack("<H", 20) + fixed
                    + struct.pack("<HHHHHII", len(m.name), 0, 0, 0, 0, 0, offset) + m.name)
    end = struct.pack("<HHHHIIH", 0, 0, len(members), len(members), len(central), len(out), 0)
    return bytes(out + central + b"PK\x05\x06" + end)


# -- the prepared template --------------------------------------------------------------------------


def _hint(language: str) -> str:
    example = ("{% if closed_on and closed_on > reply_due %}" if language == "en"
               else "{% if 结案日期 and 结案日期 > 承诺答复日期 %}")
    return translate(MESSAGES, "render-hint", language, example=example)


class RenderError(TemplateError):
    """One document could not be filled: where (part, paragraph, tag) and the error."""

    def __init__(self, message: str, part: str, paragraph: int, tag: str, error: str,
                 undefined: bool = False) -> None:
        super().__init__(message)
        self.part, self.paragraph, self.tag, self.error, self.undefined = part, paragraph, tag, error, undefined


def _failed_at(exc: BaseException, lines: list[str]) -> tuple[int, str]:
    """The paragraph and tag(s) a render error happened in: Jinja puts the template's line in the
    traceback, and line n + 1 of a part's source is its paragraph n."""
    lineno = 0
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == "<template>" and frame.lineno:
            lineno = frame.lineno
    if not 1 < lineno <= len(lines):
        return 0, ""
    found = [check.paragraph_text(m.group(0)) for m in TAG.finditer(lines[lineno - 1])]
    # {% endif %} / {% else %} compute nothing: the tags that may have failed are the others.
    found = [t for t in found if not re.fullmatch(r"{%-?\s*(end\w*|else)\s*-?%}", t)] or found
    return lineno - 1, " ".join(found[:3])


@dataclass
class PreparedTemplate:
    """A .docx template read, patched and compiled once; :meth:`render` fills it per document."""

    path: Path
    sha256: str
    #: Every package part in the original order: a compressed member, or the name of a part
    #: rendered per document.
    parts: list[Member | str]
    templates: dict[str, jinja2.Template]
    placeholders: list[Placeholder]
    mergefields: list[mailmerge.MergeField] = field(default_factory=list)
    #: For each MERGEFIELD slot, the context key it prints (None: no field provides the name).
    slot_keys: list[str | None] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: Each rendered part's source, one paragraph a line: names the tag a render error is in.
    sources: dict[str, list[str]] = field(default_factory=dict)

    @property
    def names(self) -> set[str]:
        return {p.name for p in self.placeholders}

    def render_parts(self, context: dict[str, Any]) -> dict[str, bytes]:
        if self.mergefields:
            context = {**context, SLOTS: self.slot_texts(context)}
        return self._render_all(context)

    def _render_all(self, context: dict[str, Any]) -> dict[str, bytes]:
        """Every rendered part, each checked to be well-formed XML: a part Word could not open is
        never written. Raises :class:`RenderError` (a :class:`TemplateError`) saying which part,
        paragraph and tag and why, whatever went wrong: one document fails, never the stage."""
        language = context.get("_language", "zh")
        rendered = {}
        for name, template in self.templates.items():
            try:
                xml = template.render(context).replace("\n<w:p", "<w:p").encode("utf-8")
            except Exception as exc:  # a TypeError comparing '0.00' with 0, a sandbox refusal...
                paragraph, tag = _failed_at(exc, self.sources.get(name, []))
                where = f"{name} ¶{paragraph} " if paragraph else f"{name} "
                if language == "en":
                    where = where.strip()
                error = f"{type(exc).__name__}: {exc}"
                hint = _hint(language) if isinstance(exc, TypeError) else ""
                sheet, row = context.get("_row") or ("", 0)
                row_text = translate(MESSAGES, "render-row", language, sheet=sheet, row=row) if row else ""
                raise RenderError(translate(MESSAGES, "render-failed", language, where=where, tag=tag or "?",
                                            row=row_text, error=error, hint=hint).rstrip(), name, paragraph, tag,
                                  error, isinstance(exc, jinja2.UndefinedError)) from exc
            try:
                # expat: a well-formedness check at half lxml's cost (0.15 ms a form, not 0.3)
                expat.ParserCreate().Parse(xml, True)
            except expat.ExpatError as exc:
                raise RenderError(translate(MESSAGES, "not-xml", language, part=name, error=exc), name, 0, "",
                                  str(exc)) from exc
            rendered[name] = xml
        return rendered

    def slot_texts(self, context: dict[str, Any]) -> list[str]:
        """Each MERGEFIELD's text for this document, switches applied."""
        raw = context.get("_values", {})
        language = context.get("_language", "zh")
        texts = []
        for merge, key in zip(self.mergefields, self.slot_keys, strict=True):
            if key is None:
                texts.append("")
                continue
            shown = context.get(key, "")
            shown = "" if shown is None else str(shown)
            texts.append(mailmerge.format_value(raw.get(key), shown, merge.switches, language))
        return texts

    def merge(self, values: dict[str, Any], language: str = "zh") -> bytes:
        """The document merged from ``values`` by MERGEFIELD and tag name, as Word merges a data
        source row (any names, not only the register's): for templates from elsewhere."""
        from .context import display

        context: dict[str, Any] = {k: display(k, v, language) for k, v in values.items()}
        context["_values"], context["_language"] = dict(values), language
        texts = []
        for merge in self.mergefields:
            shown = context.get(merge.name, "")
            texts.append(mailmerge.format_value(values.get(merge.name), shown, merge.switches, language))
        return self._zip({**context, SLOTS: texts})

    def _zip(self, context: dict[str, Any]) -> bytes:
        rendered = self._render_all(context)
        return zip_members([Member.of(p, rendered[p]) if isinstance(p, str) else p for p in self.parts])

    def render(self, context: dict[str, Any]) -> bytes:
        """The filled document as .docx bytes (deterministic: same context, same bytes).
        Only the rendered parts are compressed here; the others were compressed once."""
        rendered = self.render_parts(context)
        return zip_members([Member.of(p, rendered[p]) if isinstance(p, str) else p for p in self.parts])


#: A Word template's (.dotx) main part: a .docx keeping it is refused by Word ("file format or
#: extension not valid"), so every document is filed with the document's type.
_TEMPLATE_MAIN = b"application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml"
_DOCUMENT_MAIN = b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
_MACROS = re.compile(rb"application/vnd\.ms-word\.(?:document|template)\.macroEnabled|vbaProject", re.IGNORECASE)


def _as_document(name: str, content: bytes) -> bytes:
    """[Content_Types].xml of a filed .docx: the main part typed as a document, not a template."""
    return content.replace(_TEMPLATE_MAIN, _DOCUMENT_MAIN) if name == "[Content_Types].xml" else content


_PATCHER = DocxTemplate(io.BytesIO())  # patch_xml() only works on the string it is given
#: docxtpl's first two steps: a tag Word split over runs (``{<w:r>…{``, ``{{ a</w:t>…<w:t>b }}``)
#: made one string again, so the row/paragraph tags below can be found.
_SPLIT_OPEN = re.compile(r"(?<={)(<[^>]*>)+(?=[\{%\#])|(?<=[%\}\#])(<[^>]*>)+(?=\})", re.DOTALL)
_SPLIT_TAG = re.compile(r"{%(?:(?!%}).)*|{#(?:(?!#}).)*|{{(?:(?!}}).)*", re.DOTALL)
_SPLIT_TEXT = re.compile(r"</w:t>.*?(<w:t>|<w:t [^>]*>)", re.DOTALL)
#: docxtpl's ``{%tr %}`` / ``{%tc %}`` / ``{%p %}``: the row, cell or paragraph holding the tag.
_ELEMENT_TAGS = [re.compile(rf"<w:{y}[ >](?:(?!<w:{y}[ >]).)*({{%|{{{{){y} ([^}}%]*(?:%}}|}}}})).*?</w:{y}>",
                            re.DOTALL) for y in ("tr", "tc", "p")]


def _patch_xml(xml: str) -> str:
    """docxtpl's ``patch_xml`` on a part with one paragraph per line, keeping the lines: a row,
    cell or paragraph a ``{%tr %}`` / ``{%tc %}`` / ``{%p %}`` tag replaces leaves its line breaks
    in Jinja comments (no output), so line n + 1 is still paragraph n after it — for the checks'
    paragraph numbers and for a render error's."""
    xml = _SPLIT_OPEN.sub("", xml)
    xml = _SPLIT_TAG.sub(lambda m: _SPLIT_TEXT.sub("", m.group(0)), xml)

    def keep_lines(m: re.Match[str]) -> str:
        before = m.string.count("\n", m.start(), m.start(1))
        after = m.string.count("\n", m.end(2), m.end())
        tag = f"{m.group(1)} {m.group(2)}"
        return ("{#" + "\n" * before + "#}" if before else "") + tag + ("{#" + "\n" * after + "#}" if after else "")

    for pattern in _ELEMENT_TAGS:
        xml = pattern.sub(keep_lines, xml)
    return _PATCHER.patch_xml(xml)
_CACHE: dict[str, PreparedTemplate] = {}


def read_template(path: str | os.PathLike[str], language: str = "zh") -> tuple[Path, bytes]:
    path = Path(path)
    try:
        return path, path.read_bytes()
    except FileNotFoundError as exc:
        raise TemplateError(translate(MESSAGES, "template-missing", language, path=path)) from exc
    except IsADirectoryError as exc:
        raise TemplateError(translate(MESSAGES, "template-folder", language, path=path)) from exc
    except OSError as exc:
        raise TemplateError(translate(MESSAGES, "template-unreadable", language, path=path, error=exc)) from exc


def inspect_template(path: str | os.PathLike[str], language: str = "zh") -> PreparedTemplate:
    """Read and compile a .docx template (cached per path and content), keeping its problems.
    Raises :class:`TemplateError` only when the file cannot be read as a .docx at all."""
    path, data = read_template(path, language)
    digest = hashlib.sha256(data).hexdigest()
    cached = _CACHE.get(str(path))
    if cached is not None and cached.sha256 == digest:
        return cached
    prepared = _prepare(path, data, digest, language)
    _CACHE[str(path)] = prepared
    return prepared


def prepare_template(path: str | os.PathLike[str], language: str = "zh") -> PreparedTemplate:
    """:func:`inspect_template`, refusing a template with errors (syntax, another engine's tags)."""
    prepared = inspect_template(path, language)
    errors = [p for p in prepared.problems if p.severity == "error"]
    if errors:
        first = errors[0]
        shown = f"{first.where()}: {first.message}" if first.where() else first.message
        shown = shown.rstrip("。.")  # the message goes on with its own full stop
        raise TemplateError(translate(MESSAGES, "template-errors", language, path=prepared.path,
                                      n=len(errors), first=shown))
    return prepared


def cached(path: str) -> PreparedTemplate | None:
    return _CACHE.get(path)


def _prepare(path: Path, data: bytes, digest: str, language: str) -> PreparedTemplate:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            raw = [(info.filename, package.read(info)) for info in package.infolist()]
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise TemplateError(translate(MESSAGES, "template-unreadable", language, path=path,
                                      error=exc)) from exc
    if not any(name == "word/document.xml" for name, _ in raw):
        raise TemplateError(translate(MESSAGES, "template-unreadable", language, path=path,
                                      error="no word/document.xml"))
    # Macros are refused, not dropped: a .docm's document part is typed macro-enabled and may
    # point at its macros from several parts; a form saved as .docx is what staff should file.
    if any(name == "word/vbaProject.bin" or (name == "[Content_Types].xml" and _MACROS.search(content))
           for name, content in raw):
        raise TemplateError(translate(MESSAGES, "template-macros", language, path=path))
    parts: list[Member | str] = []
    templates: dict[str, jinja2.Template] = {}
    placeholders: list[Placeholder] = []
    problems: list[Problem] = []
    merges: list[mailmerge.MergeField] = []
    sources: dict[str, list[str]] = {}
    seen: set[str] = set()
    for name, content in raw:
        if _COMMENTS_PART.fullmatch(name):
            problems.extend(check.comment_tags(name, content, language))
        if not _RENDERED_PART.fullmatch(name):
            # The merged documents must not link the data source Word merged from.
            parts.append(Member.of(name, _as_document(name, mailmerge.unlink_data_source(name, content))))
            continue
        try:
            root = etree.fromstring(content)
        except (etree.XMLSyntaxError, ValueError) as exc:
            raise TemplateError(translate(MESSAGES, "template-unreadable", language, path=path,
                                          error=f"{name}: {exc}")) from exc
        problems.extend(check.content_controls(root, name, language))
        fields, notes = mailmerge.convert_fields(root, name, start=len(merges))
        merges.extend(fields)
        problems.extend(check.field_notes(notes, language))
        _east_asian_fonts(root)
        xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True).decode("utf-8")
        xml = xml.replace("?>\n", "?>", 1)  # line 1 = the root, so line n + 1 = paragraph n
        # One paragraph per line, so a Jinja error's line number names the paragraph.
        source = _patch_xml(re.sub(r"<w:p([ >/])", r"\n<w:p\1", xml))  # <w:p/> too: an empty cell
        # Runs docxtpl's {{r }} handling creates carry no properties: give them the body font.
        source = source.replace("<w:r><w:t", f'<w:r><w:rPr><w:rFonts w:eastAsia="{BODY_FONT}"/></w:rPr><w:t')
        lines = source.split("\n")
        # Another engine's tags ({{#x}}, ${x}, «x»...) are named, then made plain text so the
        # rest of the part can still be checked.
        foreign, lines = check.foreign_syntax(name, lines, language)
        problems.extend(foreign)
        tag_problems, names = check.tags(name, lines, language, ENV)
        problems.extend(tag_problems)
        source = "\n".join(lines)
        sources[name] = lines
        try:
            templates[name] = ENV.from_string(source)
            names = meta.find_undeclared_variables(ENV.parse(source))  # loop variables known as such
        except jinja2.TemplateSyntaxError as exc:
            names -= set(re.findall(r"{%-?\s*(?:tr|tc|p|r)?\s*for\s+(\w+)\s+in\b", source))
            if not tag_problems:  # a block left open, an endfor without for: the part as a whole
                line = lines[(exc.lineno or 1) - 1] if lines else ""
                problems.append(check.syntax_problem(name, exc.lineno or 0, exc.message or str(exc),
                                                     check.paragraph_text(line), language))
        problems.extend(check.loop_attributes(name, lines, language))
        names.discard(SLOTS)
        for placeholder in locate(name, lines, names):
            if placeholder.name not in seen:
                seen.add(placeholder.name)
                placeholders.append(placeholder)
        parts.append(name)
    order = {name: i for i, (name, _) in enumerate(raw)}
    for merge in sorted(merges, key=lambda m: (order.get(m.part, 0), m.paragraph)):
        placeholders.append(Placeholder(merge.name, merge.part, merge.paragraph, merge.instruction, "mergefield"))
    prepared = PreparedTemplate(path, digest, parts, templates, placeholders, merges,
                                [check.context_key(m.name) for m in merges], problems, sources)
    problems.extend(_trial(prepared, language))
    return prepared


def _trial(prepared: PreparedTemplate, language: str) -> list[Problem]:
    """Fill the template once with a complete sample complaint (a failure is an error: every
    complaint would fail) and once with blank fields (a warning: such rows get no document and
    are told why), so ``check-templates`` finds a failing condition before ``generate`` does.
    Unknown names are left to the name check."""
    from ..config import Config
    from ..model import Record
    from .context import build_context
    from .kinds import FEEDBACK

    config = Config()
    config.register.language = language
    found: list[Problem] = []
    seen: set[tuple[str, int, str]] = set()
    for code, values in (("trial-failed", SAMPLE), ("trial-blank", {"complaint_id": SAMPLE["complaint_id"]})):
        context = build_context(Record("台账", 3, dict(values)), FEEDBACK, config)
        unknown = prepared.names - context.keys()
        for name in unknown:
            context[name] = ""  # an unknown name: reported as such, not as a failed trial
        try:
            prepared.render_parts(context)
        except RenderError as exc:
            if exc.undefined or (exc.part, exc.paragraph, exc.tag) in seen:
                continue
            if any(re.search(rf"(?<![\w.]){re.escape(n)}(?!\w)", exc.tag) for n in unknown):
                continue  # {{ 产品/服务 }}: the unknown names 产品 and 服务 say what is wrong
            seen.add((exc.part, exc.paragraph, exc.tag))
            severity = "error" if code == "trial-failed" else "warning"
            error = str(exc)
            if exc.tag:
                hint = _hint(language) if exc.error.startswith("TypeError") else ""
                error = translate(MESSAGES, "trial-error", language, tag=exc.tag, error=exc.error, hint=hint).rstrip()
            text = translate(MESSAGES, code, language, error=error)
            found.append(Problem(code, severity, exc.part, exc.paragraph, exc.tag, text))
    return found


#: A complete complaint for the trial fill: every kind of value a condition may meet.
SAMPLE: dict[str, Any] = {
    "complaint_id": "KS-2026-0001", "received_on": dt.datetime(2026, 11, 2, 9, 30), "channel": "电话",
    "customer_name": "张三", "customer_phone": "13800138000", "customer_email": "zhang@example.com",
    "product": "中华（硬）", "batch_no": "B20261101", "respondent": "人民路店", "description": "包装破损 <松散> & 受潮",
    "category": "产品质量", "nature": "有效投诉", "severity": "A", "special": "媒体", "department": "质量部",
    "handler": "王芳", "handler_email": "wang@example.com", "immediate_action": "当日上门致歉",
    "root_cause": "运输及储存过程不良", "cause_analysis": "仓库漏水", "resolution": "更换两条",
    "compensation": 1200.5, "reply_due": dt.date(2026, 11, 4), "corrective_action": "1. 维修仓库屋顶\n2. 预防：每月检查",
    "capa_owner": "李明", "capa_owner_email": "li@example.com", "capa_due": dt.date(2026, 12, 15),
    "capa_done": dt.date(2026, 12, 1), "followup_due": dt.date(2026, 11, 25), "followup_done": dt.date(2026, 11, 24),
    "satisfaction": "满意", "status": "已结案", "closed_on": dt.date(2026, 11, 26), "remarks": "无",
}


def locate(part: str, lines: list[str], names: Iterable[str]) -> list[Placeholder]:
    """Where each name is first used: the paragraph (line) and the tag's text."""
    found = []
    for name in sorted(names):
        pattern = re.compile(rf"(?<![\w.]){re.escape(name)}(?!\w)")
        where = Placeholder(name, part, 0, "")
        for number, line in enumerate(lines, 1):
            tag = next((m.group(0) for m in TAG.finditer(line) if pattern.search(m.group(0))), None)
            if tag is not None:
                where = Placeholder(name, part, number - 1, tag)  # line 1 is before the first w:p
                break
        found.append(where)
    return sorted(found, key=lambda p: (p.paragraph, p.name))
