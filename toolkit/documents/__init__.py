"""File the paperwork: for every complaint, the documents its kind table says it needs, rendered
from .docx templates staff can edit in Word or WPS.

The package, stage by stage:

- :mod:`.kinds` — the one table of document kinds (template, file name, form number, when);
- :mod:`.jinja` — the template engine: a template prepared once, rendered per document;
- :mod:`.mailmerge` — Word/WPS MERGEFIELDs and their picture switches;
- :mod:`.check` — honest template checks (another engine's syntax, form fields, loop attributes);
- :mod:`.context` — what a document says (a row as the names a template may print);
- :mod:`.manifest` — file names, input hashes and the manifest of what was written;
- :mod:`.pdf` — PDFs with LibreOffice and the print batch;
- :mod:`.stage` — :func:`generate`, the stage itself.

>>> result = generate(register, report, config, today=dt.date(2026, 11, 20))
>>> result.counts
{'created': 12, 'updated': 0, 'unchanged': 0, 'skipped': 1}
"""

from __future__ import annotations

from ..i18n import translate
from . import check, jinja, kinds, manifest, pdf, stage, superseded
from .check import EXTRA_NAMES, available_names, header_names
from .context import build_context, display, format_date
from .jinja import (
    BODY_FONT,
    TITLE_FONT,
    Placeholder,
    PreparedTemplate,
    Problem,
    TemplateCheck,
    ensure_east_asian_fonts,
    inspect_template,
    prepare_template,
    runs_missing_east_asian_font,
    wordml_text,
)
from .kinds import ACKNOWLEDGEMENT, BUILTIN, CAPA, FEEDBACK, DocumentKind, document_kinds, needs_capa
from .manifest import ENGINE_VERSION, MANIFEST_NAME, document_relpath, input_hash
from .pdf import cjk_font_installed, convert_to_pdf, find_soffice
from .stage import (
    CREATED,
    SKIPPED,
    STATUSES,
    UNCHANGED,
    UPDATED,
    DocumentResult,
    GenerateResult,
    Prepared,
    ValidationReportLike,
    check_template,
    check_templates,
    generate,
    prepare,
    template_path,
)

#: Every message of the package (tests and callers look messages up by key).
MESSAGES = {**jinja.MESSAGES, **check.MESSAGES, **kinds.MESSAGES, **manifest.MESSAGES, **pdf.MESSAGES,
            **stage.MESSAGES, **superseded.MESSAGES}
#: The built-in kind keys, in order.
KINDS = tuple(k.key for k in BUILTIN)

__all__ = [
    "ACKNOWLEDGEMENT", "BODY_FONT", "BUILTIN", "CAPA", "CREATED", "ENGINE_VERSION", "EXTRA_NAMES", "FEEDBACK",
    "KINDS", "MANIFEST_NAME", "MESSAGES", "SKIPPED", "STATUSES", "TITLE_FONT", "UNCHANGED", "UPDATED",
    "DocumentKind", "DocumentResult", "GenerateResult", "Placeholder", "Prepared", "PreparedTemplate", "Problem",
    "TemplateCheck", "ValidationReportLike", "available_names", "build_context", "check_template",
    "check_templates", "cjk_font_installed", "convert_to_pdf", "display", "document_kinds",
    "document_relpath", "ensure_east_asian_fonts", "find_soffice", "format_date", "generate", "header_names",
    "input_hash", "inspect_template", "needs_capa", "prepare", "prepare_template", "runs_missing_east_asian_font",
    "template_path", "translate", "wordml_text",
]
