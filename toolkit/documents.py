"""File the paperwork: a feedback form (客诉反馈单) for every complaint and a corrective and
preventive action sheet (纠正预防措施单) where one is needed, rendered from .docx templates.

Templates are ordinary Word files with Jinja placeholders (``{{ complaint_id }}`` or
``{{ 投诉编号 }}``, ``{%tr if is_special %}`` rows, ``{%tr for a in actions %}`` rows). Each
template is prepared once: runs Word split a placeholder over are merged (docxtpl's
``patch_xml``), every run gets an East Asian font, and the XML of the body, headers and footers
is compiled. Each document then costs one render of those strings and one zip write; the other
parts of the package are copied byte for byte.

Register text is data: values are XML-escaped, line breaks become ``<w:br/>``, control
characters are dropped, and a ``{{`` typed into a cell is printed, never evaluated.

>>> result = generate(register, report, config, today=dt.date(2026, 11, 20))
>>> result.counts
{'created': 12, 'updated': 0, 'unchanged': 0, 'skipped': 1}
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import logging
import os
import re
import shutil
import struct
import subprocess
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from string import Formatter
from typing import Any, Protocol

import jinja2
from docxtpl import DocxTemplate
from jinja2 import meta
from jinja2.sandbox import ImmutableSandboxedEnvironment
from lxml import etree
from markupsafe import Markup, escape

from .config import Config
from .errors import ConfigError, TemplateError
from .fields import (
    FIELD_BY_NAME,
    FIELD_NAMES,
    FIELDS,
    LIST,
    NOT_SPECIAL,
    VALID_COMPLAINT,
    display_value,
    is_special,
)
from .fsutil import atomic_write_bytes, ensure_folder, sanitize_filename, truncate_bytes
from .i18n import Messages, translate
from .model import Finding, Record, Register, Value

log = logging.getLogger(__name__)

FEEDBACK, CAPA = "feedback", "capa"
KINDS = (FEEDBACK, CAPA)
CREATED, UPDATED, UNCHANGED, SKIPPED = "created", "updated", "unchanged", "skipped"
STATUSES = (CREATED, UPDATED, UNCHANGED, SKIPPED)

#: Bump when rendering changes in a way that should rewrite every document.
ENGINE_VERSION = "4"  # bump when the same inputs render differently
MANIFEST_NAME = ".toolkit-manifest.json"
#: File names when [documents] feedback_name / capa_name are empty, by language.
DEFAULT_NAMES = {
    "zh": {"feedback": "{complaint_id}_客诉反馈单.docx", "capa": "{complaint_id}_纠正预防措施单.docx"},
    "en": {"feedback": "{complaint_id}_feedback-form.docx", "capa": "{complaint_id}_capa-sheet.docx"},
}
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
_TEMPLATE_FILES = {
    ("feedback", "zh"): "feedback-form.docx",
    ("feedback", "en"): "feedback-form.en.docx",
    ("capa", "zh"): "capa-sheet.docx",
    ("capa", "en"): "capa-sheet.en.docx",
}
#: Below this many documents, starting worker processes costs more than it saves.
_POOL_THRESHOLD = 40

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_W = f"{{{W_NS}}}"
BODY_FONT, TITLE_FONT = "宋体", "黑体"
_RENDERED_PART = re.compile(r"word/(document|header\d*|footer\d*)\.xml")
_CJK = re.compile("[\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf"
                  "\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003ffff]")
#: Characters XML 1.0 forbids (tab, newline and carriage return are handled separately).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_BREAK = '</w:t><w:br/><w:t xml:space="preserve">'
_TAB = '</w:t><w:tab/><w:t xml:space="preserve">'
_TAG = re.compile(r"{{.*?}}|{%.*?%}", re.DOTALL)

MESSAGES: Messages = {
    "row-errors": {"zh": "该行有错误，未生成：{details}", "en": "row has errors, not generated: {details}"},
    "column-errors": {"zh": "台账有整列错误，所有文件均未生成：{details}",
                      "en": "the register has column errors, no document generated: {details}"},
    "no-id": {"zh": "该行没有投诉编号", "en": "the row has no complaint number"},
    "same-path": {"zh": "文件名 {path} 与 {other} 行的文件相同（文件夹或文件名规则只区分到这一步）：请调整 "
                        "[documents] 的 folder_pattern 或文件名规则，使每条投诉的文件名不同。",
                  "en": "the file name {path} is the same as row {other}'s (the folder or name pattern "
                        "does not tell them apart): change [documents] folder_pattern or the name "
                        "patterns so every complaint gets its own file."},
    "not-found": {"zh": "台账中没有此投诉编号", "en": "no complaint with this number in the register"},
    "more": {"zh": "等 {n} 项", "en": "and {n} more"},
    "unknown-placeholder": {
        "zh": "模板 {path} 使用了没有字段提供的占位符 {names}（{where}）。请改用字段名（如 complaint_id）"
              "或其中文表头（如 投诉编号）；运行 complaint-toolkit check-templates --names 查看全部可用名称。",
        "en": "template {path} uses placeholder(s) {names} that no field provides ({where}). Use a field "
              "name (e.g. complaint_id) or its Chinese header (e.g. 投诉编号); run complaint-toolkit "
              "check-templates --names to list the names available.",
    },
    "template-missing": {"zh": "模板 {path} 不存在。请检查 [documents].{key}，或留空以使用自带模板。",
                         "en": "template {path} does not exist. Check [documents].{key}, or leave it "
                               "empty to use the shipped template."},
    "template-unreadable": {"zh": "无法读取模板 {path}：{error}。请用 Word 或 WPS 另存为 .docx 后重试。",
                            "en": "cannot read template {path}: {error}. Save it as .docx from Word or "
                                  "WPS and try again."},
    "template-syntax": {"zh": "模板 {path} 的 {part} 第 {paragraph} 段占位符语法错误：{error}（附近文字：{near}）。"
                              "请检查 {{{{ }}}} 与 {{% %}} 是否成对。",
                        "en": "template {path}, {part} paragraph {paragraph}: placeholder syntax error: "
                              "{error} (near: {near}). Check that {{{{ }}}} and {{% %}} are paired."},
    "template-render": {"zh": "用模板 {path} 生成 {complaint_id} 失败：{error}",
                        "en": "rendering {complaint_id} with template {path} failed: {error}"},
    "cannot-write": {"zh": "无法写入 {path}：{error}。如该文件正在 Word 或 WPS 中打开，请关闭后重试。",
                     "en": "cannot write {path}: {error}. If it is open in Word or WPS, close it and run again."},
    "bad-pattern": {"zh": "[documents].{option} 中的 {{{name}}} 不是字段名；可用字段名及 {{year}} {{month}} {{kind}}。",
                    "en": "{{{name}}} in [documents].{option} is not a field name; use field names and "
                          "{{year}} {{month}} {{kind}}."},
    "invalid-pattern": {"zh": "[documents].{option} = \"{pattern}\" 不是有效的格式：{error}。请把字段名写在花括号里，如 {{complaint_id}}。",
                        "en": "[documents].{option} = \"{pattern}\" is not a valid pattern: {error}. Write field names "
                              "in braces, e.g. {{complaint_id}}."},
    "no-soffice": {"zh": "未安装 LibreOffice（找不到 soffice），未生成 PDF。请安装 LibreOffice 后加 --pdf 重试。",
                   "en": "LibreOffice is not installed (soffice not found); no PDF made. Install "
                         "LibreOffice and run again with --pdf."},
    "no-cjk-font": {"zh": "系统没有中文字体（fc-list :lang=zh 为空），PDF 中的汉字会显示为方框，因此未生成 PDF。"
                          "请安装中文字体（如 fonts-noto-cjk）后重试。",
                    "en": "no Chinese font is installed (fc-list :lang=zh is empty); PDFs would show boxes "
                          "instead of Chinese text, so none was made. Install one (e.g. fonts-noto-cjk) and "
                          "run again."},
    "soffice-failed": {"zh": "LibreOffice 转换 PDF 失败：{error}", "en": "LibreOffice could not convert to PDF: {error}"},
    "pdf-missing": {"zh": "LibreOffice 未生成 {name} 的 PDF", "en": "LibreOffice made no PDF of {name}"},
    "no-merge": {"zh": "找不到 pdfunite（poppler-utils），无法合并打印批次；单个 PDF 已生成。",
                 "en": "pdfunite (poppler-utils) is not installed, so the print batch cannot be merged; "
                       "the single PDFs were made."},
    "merge-failed": {"zh": "合并打印批次失败：{error}", "en": "merging the print batch failed: {error}"},
    "nothing-to-print": {"zh": "今天没有新建或更新的文件，无需打印。",
                         "en": "no document was created or updated, nothing to print."},
}


# -- results ------------------------------------------------------------------------------------


@dataclass(slots=True)
class DocumentResult:
    """One document of one complaint and what this run did with it."""

    complaint_id: str
    kind: str  # FEEDBACK | CAPA
    path: str
    status: str  # CREATED | UPDATED | UNCHANGED | SKIPPED
    reason: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(slots=True)
class GenerateResult:
    """Every document considered, counts by status, and the PDFs made."""

    documents: list[DocumentResult]
    counts: dict[str, int]
    documents_dir: str = ""
    pdf: list[str] = field(default_factory=list)
    print_batch: str = ""
    #: Remarks for the user (no LibreOffice, no CJK font, nothing to print...).
    notes: list[str] = field(default_factory=list)

    @property
    def written(self) -> list[DocumentResult]:
        return [d for d in self.documents if d.status in (CREATED, UPDATED)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "documents": [d.to_dict() for d in self.documents],
            "counts": dict(self.counts),
            "documents_dir": self.documents_dir,
            "pdf": list(self.pdf),
            "print_batch": self.print_batch,
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class Placeholder:
    """A name a template uses and where: the part and paragraph of its first use."""

    name: str
    part: str
    paragraph: int
    tag: str

    def where(self) -> str:
        return f"{self.part} ¶{self.paragraph}: {self.tag}"


@dataclass(slots=True)
class TemplateCheck:
    """Pre-flight of one template: every placeholder it uses and those no field provides."""

    kind: str
    path: str
    placeholders: list[Placeholder]
    unknown: list[Placeholder]

    @property
    def ok(self) -> bool:
        return not self.unknown

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": self.path, "ok": self.ok,
                "placeholders": [asdict(p) for p in self.placeholders],
                "unknown": [asdict(p) for p in self.unknown]}


class ValidationReportLike(Protocol):
    """What :func:`generate` needs from :class:`toolkit.validate.ValidationReport`."""

    def errors_by_row(self) -> dict[tuple[str, int], list[Finding]]: ...

    def column_errors(self) -> list[Finding]: ...


# -- the template engine --------------------------------------------------------------------------


def wordml_text(value: object) -> Markup:
    """Register text as WordprocessingML run content: escaped, breaks and tabs as elements."""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    text = str(escape(_CONTROL.sub("", text)))
    return Markup(text.replace("\n", _BREAK).replace("\t", _TAB))


def _finalize(value: Any) -> Any:
    if isinstance(value, Markup):
        return value
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return wordml_text(value)


def _environment() -> jinja2.Environment:
    # Sandboxed: a template staff edit cannot reach Python internals through attributes.
    return ImmutableSandboxedEnvironment(autoescape=True, finalize=_finalize,
                                         undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


_ENV = _environment()


def ensure_east_asian_fonts(xml: bytes) -> bytes:
    """Give every run an East Asian font (``w:rFonts w:eastAsia``) so CJK text is never shown in
    a Latin fallback: 黑体 for bold or large runs (titles), 宋体 otherwise."""
    root = etree.fromstring(xml)
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


def _paragraph_text(xml_line: str) -> str:
    return re.sub(r"<[^>]+>", "", xml_line).strip()[:80]


@dataclass(frozen=True, slots=True)
class _Member:
    """One zip member, already deflated: static parts are compressed once per template."""

    name: bytes
    crc: int
    size: int
    data: bytes  # raw deflate stream

    @classmethod
    def of(cls, name: str, content: bytes) -> _Member:
        packer = zlib.compressobj(6, zlib.DEFLATED, -15)
        data = packer.compress(content) + packer.flush()
        return cls(name.encode("utf-8"), zlib.crc32(content), len(content), data)


_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01, 00:00: fixed so equal inputs give equal bytes


def _zip(members: Sequence[_Member]) -> bytes:
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


@dataclass
class PreparedTemplate:
    """A .docx template read, patched and compiled once; :meth:`render` fills it per document."""

    path: Path
    sha256: str
    #: Every package part in the original order: a compressed member, or the name of a part
    #: rendered per document.
    parts: list[_Member | str]
    templates: dict[str, jinja2.Template]
    placeholders: list[Placeholder]

    @property
    def names(self) -> set[str]:
        return {p.name for p in self.placeholders}

    def render_parts(self, context: dict[str, Any]) -> dict[str, bytes]:
        rendered = {}
        for name, template in self.templates.items():
            xml = template.render(context).replace("\n<w:p", "<w:p")
            rendered[name] = xml.encode("utf-8")
        return rendered

    def render(self, context: dict[str, Any]) -> bytes:
        """The filled document as .docx bytes (deterministic: same context, same bytes).
        Only the rendered parts are compressed here; the others were compressed once."""
        rendered = self.render_parts(context)
        return _zip([_Member.of(p, rendered[p]) if isinstance(p, str) else p for p in self.parts])


_PATCHER = DocxTemplate(io.BytesIO())  # patch_xml() only works on the string it is given


def prepare_template(path: str | os.PathLike[str], language: str = "zh") -> PreparedTemplate:
    """Read and compile a .docx template (cached per path and content)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise TemplateError(translate(MESSAGES, "template-missing", language, path=path,
                                      key="feedback_template / capa_template")) from exc
    except OSError as exc:
        raise TemplateError(translate(MESSAGES, "template-unreadable", language, path=path,
                                      error=exc)) from exc
    digest = hashlib.sha256(data).hexdigest()
    cached = _CACHE.get(str(path))
    if cached is not None and cached.sha256 == digest:
        return cached
    prepared = _prepare(path, data, digest, language)
    _CACHE[str(path)] = prepared
    return prepared


_CACHE: dict[str, PreparedTemplate] = {}


def _prepare(path: Path, data: bytes, digest: str, language: str) -> PreparedTemplate:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            raw = [(info.filename, package.read(info)) for info in package.infolist()]
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise TemplateError(translate(MESSAGES, "template-unreadable", language, path=path,
                                      error=exc)) from exc
    if not any(name == "word/document.xml" for name, _ in raw):
        raise TemplateError(translate(MESSAGES, "template-unreadable", language, path=path,
                                      error="no word/document.xml"))
    parts: list[_Member | str] = []
    templates: dict[str, jinja2.Template] = {}
    placeholders: list[Placeholder] = []
    seen: set[str] = set()
    for name, content in raw:
        if not _RENDERED_PART.fullmatch(name):
            parts.append(_Member.of(name, content))
            continue
        try:
            xml = ensure_east_asian_fonts(content).decode("utf-8")
        except (etree.XMLSyntaxError, ValueError) as exc:
            raise TemplateError(translate(MESSAGES, "template-unreadable", language, path=path,
                                          error=f"{name}: {exc}")) from exc
        source = _PATCHER.patch_xml(xml)
        # Runs docxtpl's {{r }} handling creates carry no properties: give them the body font.
        source = source.replace("<w:r><w:t", f'<w:r><w:rPr><w:rFonts w:eastAsia="{BODY_FONT}"/></w:rPr><w:t')
        # One paragraph per line, so a Jinja error's line number names the paragraph.
        source = re.sub(r"<w:p([ >])", r"\n<w:p\1", source)
        lines = source.split("\n")
        try:
            templates[name] = _ENV.from_string(source)
            names = meta.find_undeclared_variables(_ENV.parse(source))
        except jinja2.TemplateSyntaxError as exc:
            line = lines[(exc.lineno or 1) - 1] if lines else ""
            raise TemplateError(translate(MESSAGES, "template-syntax", language, path=path, part=name,
                                          paragraph=exc.lineno, error=exc.message,
                                          near=_paragraph_text(line))) from exc
        for placeholder in _locate(name, lines, names):
            if placeholder.name not in seen:
                seen.add(placeholder.name)
                placeholders.append(placeholder)
        parts.append(name)
    return PreparedTemplate(path, digest, parts, templates, placeholders)


def _locate(part: str, lines: list[str], names: Iterable[str]) -> list[Placeholder]:
    """Where each name is first used: the paragraph (line) and the tag's text."""
    found = []
    for name in sorted(names):
        pattern = re.compile(rf"(?<![\w.]){re.escape(name)}(?!\w)")
        where = Placeholder(name, part, 0, "")
        for number, line in enumerate(lines, 1):
            tag = next((m.group(0) for m in _TAG.finditer(line) if pattern.search(m.group(0))), None)
            if tag is not None:
                where = Placeholder(name, part, number, tag)
                break
        found.append(where)
    return sorted(found, key=lambda p: (p.paragraph, p.name))


# -- what a document says -----------------------------------------------------------------------


def format_date(value: dt.date | dt.datetime, language: str) -> str:
    """``2026年11月20日`` / ``2026-11-20``; a time other than midnight is kept (``14:30``)."""
    text = value.isoformat()[:10] if language == "en" else f"{value.year}年{value.month}月{value.day}日"
    if isinstance(value, dt.datetime) and (value.hour, value.minute) != (0, 0):
        text += f" {value:%H:%M}"
    return text


def display(field_name: str, value: Value, language: str) -> str:
    """A register value as printed on a form."""
    if value is None:
        return ""
    if isinstance(value, (dt.date, dt.datetime)):
        return format_date(value, language)
    if field_name == "compensation" and isinstance(value, (int, float)):
        return f"{value:,.2f}"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if FIELD_BY_NAME.get(field_name) is not None and FIELD_BY_NAME[field_name].kind == LIST:
        return display_value(field_name, str(value).strip(), language)
    return str(value)


def header_names(f_zh: str) -> list[str]:
    """The Chinese header usable as a Jinja name (``产品/服务`` -> ``产品服务``)."""
    names = [f_zh] if f_zh.isidentifier() else []
    squeezed = re.sub(r"\W", "", f_zh)
    if squeezed != f_zh and squeezed.isidentifier():
        names.append(squeezed)
    return names


#: (canonical name, Chinese header names) per field, worked out once: contexts are built per row.
_CONTEXT_NAMES = tuple((f.name, tuple(header_names(f.zh))) for f in FIELDS)


#: Names a template may use beyond the fields (English name, Chinese name).
EXTRA_NAMES = {
    "company_name": "公司名称",
    "form_no": "表单编号",
    "is_special": "是否特殊客诉",
    "actions": "措施明细",
    "capa_status": "措施完成情况",
}


def available_names() -> set[str]:
    """Every name a template may use: fields by canonical name and Chinese header, the extras,
    and Jinja's own globals."""
    names = set(_ENV.globals)
    for f in FIELDS:
        names.add(f.name)
        names.update(header_names(f.zh))
    for en, zh in EXTRA_NAMES.items():
        names.update((en, zh))
    return names


def needs_capa(record: Record, config: Config) -> bool:
    """A CAPA sheet: a corrective action is recorded, or a valid complaint of a CAPA class."""
    action = record.get("corrective_action")
    if action is not None and str(action).strip():
        return True
    return record.get("nature") == VALID_COMPLAINT and record.get("severity") in config.rules.capa_classes


_PREVENTIVE = re.compile(r"^\s*(\d+[.、)）]\s*)?(预防|preventive|prevention)", re.IGNORECASE)


def _actions(record: Record, language: str) -> list[dict[str, str]]:
    """One table row per line of the corrective action; a line starting 预防/Preventive is
    listed as preventive, any other as corrective."""
    text = record.get("corrective_action")
    lines = [line.strip() for line in str(text or "").replace("\r", "\n").split("\n") if line.strip()]
    owner = display("capa_owner", record.get("capa_owner"), language)
    due = display("capa_due", record.get("capa_due"), language)
    rows = []
    for number, line in enumerate(lines, 1):
        preventive = bool(_PREVENTIVE.match(line))
        if language == "en":
            kind = "Preventive" if preventive else "Corrective"
        else:
            kind = "预防" if preventive else "纠正"
        rows.append({"no": str(number), "type": kind, "text": line, "owner": owner, "due": due})
    return rows


def build_context(record: Record, kind: str, config: Config) -> dict[str, Any]:
    """Everything a template may print for one complaint, by canonical name and Chinese header."""
    language = config.language
    context: dict[str, Any] = {}
    values = record.values
    for field_name, header_names in _CONTEXT_NAMES:
        value = values.get(field_name)
        if field_name == "special" and value in (None, ""):
            value = NOT_SPECIAL  # REGISTER.md: a blank 特殊客诉 means 否, and the form says so
        shown = display(field_name, value, language)
        context[field_name] = shown
        for name in header_names:
            context[name] = shown
    done = record.get("capa_done")
    if language == "en":
        capa_status = "Completed" if done else "Open"
    else:
        capa_status = "已完成" if done else "未完成"
    extras = {
        "company_name": config.company.name,
        "form_no": config.company.capa_form_no if kind == CAPA else config.company.feedback_form_no,
        "is_special": is_special(record.get("special")),
        "actions": _actions(record, language),
        "capa_status": capa_status,
    }
    for en, value in extras.items():
        context[en] = context[EXTRA_NAMES[en]] = value
    return context


def input_hash(record: Record, kind: str, template: PreparedTemplate, config: Config) -> str:
    """What a document depends on: row values, template bytes, company config and language."""
    return _InputHasher(config, {kind: template}).digest(record, kind)


class _InputHasher:
    """Input hashes for many records: the config and template part is serialised once, the row
    values once per record (both kinds share them), so an unchanged run costs a few µs a row."""

    def __init__(self, config: Config, templates: dict[str, PreparedTemplate]) -> None:
        # Everything a document's path and content depend on besides its row: with the row, the
        # hash then identifies the document (generate() finds its path by it, see below).
        static = {"engine": ENGINE_VERSION, "company": asdict(config.company), "language": config.language,
                  "capa_classes": sorted(config.rules.capa_classes),
                  "names": [config.documents.folder_pattern, config.documents.feedback_name,
                            config.documents.capa_name]}
        self._prefix = {kind: json.dumps({**static, "kind": kind, "template": t.sha256}, ensure_ascii=False,
                                         sort_keys=True).encode()
                        for kind, t in templates.items()}
        self._record: Record | None = None
        self._values = b""

    def digest(self, record: Record, kind: str) -> str:
        if record is not self._record:
            # repr() of str/float/int/date/None in the fixed field order is stable and several
            # times cheaper than JSON (a missing column and a blank cell print alike: both "").
            self._values = repr(tuple(map(record.values.get, FIELD_NAMES))).encode()
            self._record = record
        # 128 bits are plenty to notice a change, and keep the manifest small.
        return hashlib.sha256(self._prefix[kind] + b"\x00" + self._values).hexdigest()[:32]


# -- templates from config ----------------------------------------------------------------------


def template_path(config: Config, kind: str) -> Path:
    """The configured template for ``kind``, else the shipped one for the configured language."""
    configured = config.documents.feedback_template if kind == FEEDBACK else config.documents.capa_template
    if configured:
        return config.path(configured)
    language = "en" if config.language == "en" else "zh"
    return TEMPLATES_DIR / _TEMPLATE_FILES[(kind, language)]


def check_template(path: str | os.PathLike[str], kind: str = "", language: str = "zh") -> TemplateCheck:
    """Pre-flight of one .docx file: its placeholders and the ones no field provides."""
    prepared = prepare_template(path, language)
    known = available_names()
    unknown = [p for p in prepared.placeholders if p.name not in known]
    return TemplateCheck(kind, str(path), list(prepared.placeholders), unknown)


def check_templates(config: Config) -> list[TemplateCheck]:
    """Pre-flight of the configured feedback and CAPA templates."""
    return [check_template(template_path(config, kind), kind, config.language) for kind in KINDS]


def _load_templates(config: Config) -> dict[str, PreparedTemplate]:
    """Prepare both templates, refusing one that uses a name no field provides."""
    language = config.language
    prepared = {}
    for check in check_templates(config):
        if check.unknown:
            names = ", ".join(p.name for p in check.unknown)
            where = "; ".join(p.where() for p in check.unknown[:5])
            raise TemplateError(translate(MESSAGES, "unknown-placeholder", language, path=check.path,
                                          names=names, where=where))
        prepared[check.kind] = prepare_template(check.path, language)
    return prepared


# -- file names and the manifest -----------------------------------------------------------------


def document_relpath(record: Record, kind: str, config: Config) -> str:
    """``2026/11/KS-2026-0001_客诉反馈单.docx``: folder and file name from the config patterns,
    every component sanitised (register text never chooses where a file goes)."""
    return _Namer(config).relpath(record, kind)


class _Namer:
    """Document paths from the config patterns. The patterns are parsed once, only the fields
    they name are formatted for each record, and each folder is worked out once."""

    def __init__(self, config: Config) -> None:
        self.language = config.language
        docs = config.documents
        defaults = DEFAULT_NAMES["en" if self.language == "en" else "zh"]
        self.patterns = {"folder_pattern": docs.folder_pattern,
                         "feedback_name": docs.feedback_name or defaults[FEEDBACK],
                         "capa_name": docs.capa_name or defaults[CAPA]}
        used: dict[str, set[str]] = {}
        for key, pattern in self.patterns.items():
            try:
                used[key] = {n.split(".")[0].split("[")[0] for _, n, _, _ in Formatter().parse(pattern) if n}
            except ValueError as exc:
                raise ConfigError(translate(MESSAGES, "invalid-pattern", self.language, option=key,
                                            pattern=pattern, error=exc)) from exc
        names = set().union(*used.values())
        self.fields = [f.name for f in FIELDS if f.name in names]
        self.folder_fields = [f.name for f in FIELDS if f.name in used["folder_pattern"]]
        self._folders: dict[tuple[Any, ...], str] = {}

    def relpath(self, record: Record, kind: str) -> str:
        get = record.values.get
        received = get("received_on")
        if isinstance(received, dt.date):  # datetime is a date too
            year, month = f"{received.year:04d}", f"{received.month:02d}"
        else:
            year, month = "0000", "00"
        values = {name: _name_part(display(name, get(name), self.language)) for name in self.fields}
        values.update(year=year, month=month, kind=kind)
        folder_key = (year, month, kind, *(values[n] for n in self.folder_fields))
        folder = self._folders.get(folder_key)
        if folder is None:
            text = _format_pattern(self.patterns["folder_pattern"], values, "folder_pattern", self.language)
            folder = "/".join(sanitize_filename(c) for c in text.replace("\\", "/").split("/") if c.strip())
            self._folders[folder_key] = folder
        pattern_key = "feedback_name" if kind == FEEDBACK else "capa_name"
        name = _format_pattern(self.patterns[pattern_key], values, pattern_key, self.language)
        name = sanitize_filename(name.replace("/", "_").replace("\\", "_"))
        return f"{folder}/{name}" if folder else name


#: Room for one register value in a file name, so the pattern's own text (``_客诉反馈单.docx``)
#: always survives the length cap.
_PART_BYTES = 90


def _name_part(text: str) -> str:
    """A register value made safe to stand inside a file name.

    When making it safe changed it, a short hash of the original is added, so values that
    differ only in unsafe characters (``KS/1``, ``KS:1``, ``KS_1``) never share a file.
    """
    safe = sanitize_filename(text, _PART_BYTES) if text else ""
    if safe == text:
        return text
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:6]
    return f"{truncate_bytes(safe, _PART_BYTES - 7)}~{digest}"


def _format_pattern(pattern: str, values: dict[str, str], key: str, language: str) -> str:
    try:
        return pattern.format_map(values)
    except KeyError as exc:
        raise ConfigError(translate(MESSAGES, "bad-pattern", language, option=key, name=exc.args[0])) from exc
    except (ValueError, IndexError) as exc:
        raise ConfigError(translate(MESSAGES, "invalid-pattern", language, option=key, pattern=pattern,
                                    error=exc)) from exc


MANIFEST_VERSION = 2


def _load_manifest(path: Path) -> dict[str, str]:
    """relative path -> hash of the inputs the document was last written from."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        # Losing the manifest only costs a rewrite of every document; never a reason to stop.
        log.warning("document manifest %s is unreadable (%s); every document will be rewritten", path, exc)
        return {}
    if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
        return {}  # an older manifest: documents are written once more, then recorded anew
    documents = data.get("documents")
    return documents if isinstance(documents, dict) else {}


def _save_manifest(path: Path, documents: dict[str, str]) -> None:
    # One line per document: staff can read it, and it stays quick to load at 100k documents.
    data = {"version": MANIFEST_VERSION, "documents": dict(sorted(documents.items()))}
    atomic_write_bytes(path, json.dumps(data, ensure_ascii=False, indent=0).encode("utf-8"))


class _ExistingFiles:
    """Which documents exist, one directory listing per folder instead of a stat per file."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._folders: dict[str, set[str]] = {}

    def __contains__(self, relpath: str) -> bool:
        folder, _, name = relpath.rpartition("/")
        names = self._folders.get(folder)
        if names is None:
            try:
                with os.scandir(os.path.join(self.root, folder)) as entries:
                    names = {entry.name for entry in entries if entry.is_file()}
            except OSError:  # no such folder yet
                names = set()
            self._folders[folder] = names
        return name in names


# -- rendering, serially or in worker processes ----------------------------------------------------


@dataclass(slots=True)
class _Job:
    index: int  # position in the result list
    kind: str
    template: str  # template path (workers prepare it once)
    template_sha256: str
    language: str
    context: dict[str, Any]
    target: str


def _render_job(job: _Job) -> tuple[int, str]:
    """Render one document and write it atomically; returns (index, error message or "")."""
    cached = _CACHE.get(job.template)
    try:
        # Workers forked from the run inherit the prepared template; others prepare it once.
        if cached is None or cached.sha256 != job.template_sha256:
            cached = prepare_template(job.template, job.language)
        data = cached.render(job.context)
    except jinja2.TemplateError as exc:
        return job.index, translate(MESSAGES, "template-render", job.language, path=job.template,
                                    complaint_id=job.context.get("complaint_id", ""), error=exc)
    try:
        atomic_write_bytes(job.target, data)
    except OSError as exc:
        return job.index, translate(MESSAGES, "cannot-write", job.language, path=job.target, error=exc)
    return job.index, ""


def _run_jobs(jobs: Sequence[_Job], workers: int, progress: Callable[[int, int], None] | None) -> dict[int, str]:
    errors: dict[int, str] = {}
    total = len(jobs)
    if workers <= 0:
        workers = os.cpu_count() or 1
    if workers == 1 or total < _POOL_THRESHOLD:
        results: Iterable[tuple[int, str]] = map(_render_job, jobs)
        for done, (index, error) in enumerate(results, 1):
            if error:
                errors[index] = error
            if progress:
                progress(done, total)
        return errors
    chunk = max(1, min(64, total // (workers * 4)))
    with ProcessPoolExecutor(max_workers=min(workers, total)) as pool:
        for done, (index, error) in enumerate(pool.map(_render_job, jobs, chunksize=chunk), 1):
            if error:
                errors[index] = error
            if progress:
                progress(done, total)
    return errors


# -- the stage ----------------------------------------------------------------------------------


def _summarise(findings: Sequence[Finding], language: str) -> str:
    parts = [f"{f.cell or f.field}: {f.message}" if (f.cell or f.field) else f.message for f in findings[:3]]
    if len(findings) > 3:
        parts.append(translate(MESSAGES, "more", language, n=len(findings) - 3))
    return "; ".join(parts)


def generate(
    register: Register,
    report: ValidationReportLike,
    config: Config,
    *,
    today: dt.date,
    out_dir: str | os.PathLike[str] | None = None,
    only: Sequence[str] | None = None,
    force: bool = False,
    pdf: bool = False,
    print_batch: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> GenerateResult:
    """Render the feedback forms and CAPA sheets the register calls for.

    A row with an error finding is skipped (with the reason); a document whose inputs did not
    change since the last run is left alone unless ``force``. ``today`` names the print batch.
    Raises :class:`TemplateError` before writing anything if a template uses an unknown name.
    """
    language = config.language
    templates = _load_templates(config)
    docs_dir = Path(out_dir) if out_dir else config.documents_dir
    manifest_path = docs_dir / MANIFEST_NAME
    ensure_folder(docs_dir, language)  # a file in the way stops the stage with a clear message
    manifest = _load_manifest(manifest_path)
    blocking = report.column_errors()
    row_errors = report.errors_by_row()
    # --only ks-2026-001 finds KS-2026-001: staff type numbers in either case.
    wanted = {str(i).strip().casefold(): str(i).strip() for i in only} if only else None

    namer = _Namer(config)
    hasher = _InputHasher(config, templates)
    by_digest = {digest: relpath for relpath, digest in manifest.items()}
    docs_root = str(docs_dir)
    taken: dict[str, str] = {}  # casefolded relative path -> the row whose document it is
    existing = _ExistingFiles(docs_root)
    documents: list[DocumentResult] = []
    jobs: list[_Job] = []
    hashes: dict[int, tuple[str, str]] = {}  # index -> (relpath, hash)
    seen_ids: set[str] = set()
    for record in register.records:
        cid = record.complaint_id.strip()
        if wanted is not None and cid.casefold() not in wanted:
            continue
        seen_ids.add(cid.casefold())
        kinds = [FEEDBACK, CAPA] if needs_capa(record, config) else [FEEDBACK]
        reason = ""
        if blocking:
            reason = translate(MESSAGES, "column-errors", language, details=_summarise(blocking, language))
        elif row_errors.get((record.sheet, record.row)):
            details = _summarise(row_errors[(record.sheet, record.row)], language)
            reason = translate(MESSAGES, "row-errors", language, details=details)
        elif not cid:
            reason = translate(MESSAGES, "no-id", language)
        if reason:
            where = f"{record.sheet}!{record.row}"
            documents.extend(DocumentResult(cid or where, kind, "", SKIPPED, reason) for kind in kinds)
            continue
        for kind in kinds:
            digest = hasher.digest(record, kind)
            # The hash covers the row, the kind, the naming patterns and the language: a document
            # recorded under it has the path it would be given now. Trusting that path (when the
            # file is there) spares working it out for every unchanged document of a rerun.
            known = by_digest.get(digest)
            if known is not None and not force and known in existing:
                owner = taken.setdefault(known.casefold(), f"{record.sheet}!{record.row}")
                if owner == f"{record.sheet}!{record.row}":
                    documents.append(DocumentResult(cid, kind, os.path.join(docs_root, known), UNCHANGED))
                    continue
            relpath = namer.relpath(record, kind)
            # Case-insensitive, as on Windows: one file must never hold two complaints' forms.
            owner = taken.setdefault(relpath.casefold(), f"{record.sheet}!{record.row}")
            if owner != f"{record.sheet}!{record.row}":
                documents.append(DocumentResult(cid, kind, "", SKIPPED, translate(
                    MESSAGES, "same-path", language, path=relpath, other=owner)))
                continue
            target = os.path.join(docs_root, relpath)
            exists = relpath in existing
            index = len(documents)
            if exists and not force and manifest.get(relpath) == digest:
                documents.append(DocumentResult(cid, kind, target, UNCHANGED))
                continue
            documents.append(DocumentResult(cid, kind, target, UPDATED if exists else CREATED))
            hashes[index] = (relpath, digest)
            jobs.append(_Job(index, kind, str(templates[kind].path), templates[kind].sha256, language,
                             build_context(record, kind, config), target))
    for cid in sorted(wanted[key] for key in (wanted or {}).keys() - seen_ids):
        documents.append(DocumentResult(cid, FEEDBACK, "", SKIPPED, translate(MESSAGES, "not-found", language)))

    errors = _run_jobs(jobs, config.documents.workers, progress)
    for index, (relpath, digest) in hashes.items():
        if index in errors:
            doc = documents[index]
            doc.status, doc.reason = SKIPPED, errors[index]
            continue
        manifest[relpath] = digest
    if hashes:
        _save_manifest(manifest_path, manifest)

    result = GenerateResult(documents, _counts(documents), str(docs_dir))
    if pdf or print_batch:
        _make_pdfs(result, docs_dir, today, language, print_batch)
    return result


def _counts(documents: Sequence[DocumentResult]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for doc in documents:
        counts[doc.status] += 1
    return counts


# -- PDFs -----------------------------------------------------------------------------------------


def cjk_font_installed() -> bool:
    """True when fontconfig knows a Chinese font (or fontconfig is absent, e.g. on Windows)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return True
    try:
        out = subprocess.run([fc_list, ":lang=zh"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return True
    return bool(out.stdout.strip())


def find_soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_to_pdf(sources: Sequence[Path], *, soffice: str, timeout: float | None = None) -> dict[Path, Path]:
    """Convert .docx files to PDFs beside them with ONE LibreOffice call (it is slow to start),
    using a private profile so it never collides with a LibreOffice the user has open.
    Each PDF is moved into place atomically. Returns source -> PDF for those that worked."""
    if not sources:
        return {}
    done: dict[Path, Path] = {}
    with tempfile.TemporaryDirectory(prefix="complaint-toolkit-pdf-") as tmp:
        work = Path(tmp)
        profile = work / "profile"
        inputs = []
        for number, source in enumerate(sources):
            copy = work / f"{number:05d}.docx"  # unique names: one outdir for all
            shutil.copyfile(source, copy)
            inputs.append(copy)
        command = [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
                   "--convert-to", "pdf", "--outdir", str(work / "out"), *map(str, inputs)]
        try:
            subprocess.run(command, capture_output=True, timeout=timeout or 120 + 5 * len(inputs), check=True)
        except subprocess.CalledProcessError as exc:
            stderr = exc.stderr.decode("utf-8", "replace").strip() if exc.stderr else ""
            raise _PdfError(stderr or f"exit code {exc.returncode}") from exc
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise _PdfError(str(exc)) from exc
        for number, source in enumerate(sources):
            made = work / "out" / f"{number:05d}.pdf"
            if made.exists():
                target = source.with_suffix(".pdf")
                atomic_write_bytes(target, made.read_bytes())
                done[source] = target
    return done


class _PdfError(Exception):
    pass


def _make_pdfs(result: GenerateResult, docs_dir: Path, today: dt.date, language: str, batch: bool) -> None:
    soffice = find_soffice()
    if soffice is None:
        result.notes.append(translate(MESSAGES, "no-soffice", language))
        return
    if not cjk_font_installed():
        result.notes.append(translate(MESSAGES, "no-cjk-font", language))
        return
    written = [Path(d.path) for d in result.written]
    # An unchanged document whose PDF is missing (deleted, or first run with --pdf) gets one too.
    missing = [Path(d.path) for d in result.documents
               if d.status == UNCHANGED and not Path(d.path).with_suffix(".pdf").exists()]
    try:
        made = convert_to_pdf(written + missing, soffice=soffice)
    except _PdfError as exc:
        result.notes.append(translate(MESSAGES, "soffice-failed", language, error=exc))
        return
    for source in written + missing:
        if source not in made:
            result.notes.append(translate(MESSAGES, "pdf-missing", language, name=source.name))
    result.pdf = [str(p) for p in made.values()]
    if not batch:
        return
    batch_pdfs = [str(made[p]) for p in written if p in made]
    if not batch_pdfs:
        result.notes.append(translate(MESSAGES, "nothing-to-print", language))
        return
    pdfunite = shutil.which("pdfunite")
    if pdfunite is None:
        result.notes.append(translate(MESSAGES, "no-merge", language))
        return
    target = docs_dir / "print" / f"{today.isoformat()}_print-batch.pdf"
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="complaint-toolkit-merge-") as tmp:
        merged = Path(tmp) / "batch.pdf"
        try:
            subprocess.run([pdfunite, *batch_pdfs, str(merged)], capture_output=True, timeout=300, check=True)
        except (OSError, subprocess.SubprocessError) as exc:
            result.notes.append(translate(MESSAGES, "merge-failed", language, error=exc))
            return
        atomic_write_bytes(target, merged.read_bytes())
    result.print_batch = str(target)
