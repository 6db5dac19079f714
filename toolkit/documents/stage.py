"""The documents stage: every document each complaint needs, rendered where its inputs changed.

>>> result = generate(register, report, config, today=dt.date(2026, 11, 20))
>>> result.counts
{'created': 12, 'updated': 0, 'unchanged': 0, 'skipped': 1}
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import Any, Protocol

import jinja2

from ..config import Config
from ..errors import ConfigError, OutputError, TemplateError
from ..fsutil import atomic_write_bytes, ensure_folder
from ..i18n import Messages, translate
from ..model import Finding, Record, Register, paused_gc
from ..workers import parent_gone, process_pool
from . import jinja, kinds, manifest, superseded
from .check import suggestions
from .context import DueDates, build_context
from .jinja import PreparedTemplate, TemplateCheck, inspect_template, prepare_template
from .kinds import DocumentKind, WhenError, check_when, document_kinds
from .superseded import SupersededDocument

log = logging.getLogger(__name__)

CREATED, UPDATED, UNCHANGED, SKIPPED = "created", "updated", "unchanged", "skipped"
STATUSES = (CREATED, UPDATED, UNCHANGED, SKIPPED)
#: Below this many documents, starting worker processes costs more than it saves: spawning two
#: costs about half a second, a document rendered here about 3 ms (measured with bench/run.py,
#: a day's edits to 100k rows rewriting 215 documents: 1.2 s with the pool, 0.7 s without).
_POOL_THRESHOLD = 300

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
    "template-render": {"zh": "用模板 {path} 生成 {complaint_id} 失败：{error}",
                        "en": "rendering {complaint_id} with template {path} failed: {error}"},
    "cannot-write": {"zh": "无法写入 {path}：{error}。如该文件正在 Word 或 WPS 中打开，请关闭后重试。",
                     "en": "cannot write {path}: {error}. If it is open in Word or WPS, close it and run again."},
    "same-form": {"zh": "{title}模板 {path} 没有任何占位符：每条投诉都会得到同样的表单。",
                  "en": "the {title} template {path} has no placeholder: every complaint would get the same form."},
    "when-failed": kinds.MESSAGES["when-failed"],
    "records-not-written": {
        "zh": "文档已生成，但无法写入其记录 {path}：{error}。下次运行会重新核对全部文档；请确认该文件夹可写、"
              "磁盘未满，且该位置没有同名的文件夹。",
        "en": "the documents are filed, but their record {path} could not be written: {error}. The next "
              "run checks every document again; make sure the folder is writable, the disk is not full and "
              "no folder of that name stands there.",
    },
}


# -- results ------------------------------------------------------------------------------------


@dataclass(slots=True)
class DocumentResult:
    """One document of one complaint and what this run did with it."""

    complaint_id: str
    kind: str  # a DocumentKind key: feedback, capa, acknowledgement, or one from config
    #: The document's path below :attr:`root` ("" for a skipped document): the manifest's own
    #: string, shared, so 227k results at 100k rows do not each hold a full path (60 MB).
    relpath: str
    status: str  # CREATED | UPDATED | UNCHANGED | SKIPPED
    reason: str = ""
    #: For a document skipped because of the register: the codes and cells of the findings
    #: (the others share one empty tuple: 218k empty lists were 12 MB at 100k rows).
    blocked_by: Sequence[str] = ()
    #: The documents folder with its trailing separator, one string for every result of a run.
    root: str = ""

    @property
    def path(self) -> str:
        """The document's full path ("" for a skipped document)."""
        return self.root + self.relpath if self.relpath else ""

    def to_dict(self) -> dict[str, Any]:
        return {"complaint_id": self.complaint_id, "kind": self.kind, "path": self.path, "status": self.status,
                "reason": self.reason, "blocked_by": list(self.blocked_by)}


@dataclass(slots=True)
class GenerateResult:
    """Every document considered, counts by status, and the PDFs made."""

    documents: list[DocumentResult]
    counts: dict[str, int]
    documents_dir: str = ""
    pdf: list[str] = field(default_factory=list)
    print_batch: str = ""
    #: Remarks for the user (no LibreOffice, no CJK font, a template without placeholders...).
    notes: list[str] = field(default_factory=list)
    #: Documents filed earlier that no row files any more, moved into the superseded folder.
    superseded: list[SupersededDocument] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """What needs staff's hand: superseded documents that could not be moved."""
        return [d.error for d in self.superseded if d.error]

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
            "superseded": [d.to_dict() for d in self.superseded],
        }


class ValidationReportLike(Protocol):
    """What :func:`generate` needs from :class:`toolkit.validate.ValidationReport`."""

    def errors_by_row(self) -> dict[tuple[str, int], list[Finding]]: ...

    def column_errors(self) -> list[Finding]: ...


# -- templates from config ----------------------------------------------------------------------


def template_path(config: Config, kind: str) -> Path:
    """The configured template for ``kind``, else the shipped one for the configured language."""
    by_key = {k.key: k for k in document_kinds(config)}
    return by_key[kind].template_path(config)


def check_template(path: str | os.PathLike[str], kind: str = "", language: str = "zh") -> TemplateCheck:
    """Pre-flight of one .docx file: placeholders, unknown names, problems. Never raises: a file
    that cannot be read is the check's ``fatal``."""
    try:
        prepared = inspect_template(path, language)
    except TemplateError as exc:
        return TemplateCheck(kind, str(path), fatal=str(exc))
    known = jinja.check.available_names()
    unknown = [p for p in prepared.placeholders if (p.name not in known if p.syntax == "tag" else
                                                    jinja.check.context_key(p.name) is None)]
    problems = list(prepared.problems)
    if not prepared.placeholders and not any(p.severity == "error" for p in problems):
        problems.append(jinja.check.no_placeholder(language))
    return TemplateCheck(kind, str(prepared.path), list(prepared.placeholders), unknown, problems,
                         suggestions={p.name: suggestions(p.name) for p in unknown})


def check_templates(config: Config) -> list[TemplateCheck]:
    """Pre-flight of every kind's template and of its ``when`` condition."""
    checks = []
    for kind in document_kinds(config):
        try:
            path = kind.template_path(config)
        except ConfigError as exc:  # a kind from config without a template
            checks.append(TemplateCheck(kind.key, "", fatal=str(exc)))
            continue
        result = check_template(path, kind.key, config.language)
        problem = check_when(kind, config.language)
        if problem:
            result.problems.append(jinja.Problem("bad-when", "error", "", 0, kind.when, problem))
        checks.append(result)
    return checks


def _load_templates(config: Config, kinds_: list[DocumentKind],
                    notes: list[str]) -> dict[str, PreparedTemplate]:
    """Prepare every kind's template, refusing one with an unknown name or any error."""
    language = config.language
    prepared = {}
    for kind in kinds_:
        problem = check_when(kind, language)
        if problem:
            raise TemplateError(problem)
        path = kind.template_path(config)
        check = check_template(path, kind.key, language)
        if check.fatal:
            raise TemplateError(check.fatal)
        if check.unknown:
            names = ", ".join(p.name for p in check.unknown)
            where = "; ".join(p.where() for p in check.unknown[:5])
            raise TemplateError(translate(MESSAGES, "unknown-placeholder", language, path=check.path,
                                          names=names, where=where))
        prepared[kind.key] = prepare_template(path, language)  # raises on errors
        if not check.placeholders:
            notes.append(translate(MESSAGES, "same-form", language, title=kind.title(language), path=path))
    return prepared


# -- rendering, serially or in worker processes ----------------------------------------------------


@dataclass(slots=True)
class _Job:
    index: int  # position in the result list
    template: str  # template path (workers prepare it once)
    template_sha256: str
    language: str
    #: Shared by the documents of one row (built once): the kind's own form number is set at render.
    context: dict[str, Any]
    target: str
    form_no: str = ""


def _render_job(job: _Job) -> tuple[int, str]:
    """Render one document and write it atomically; returns (index, error message or "")."""
    if parent_gone():
        os._exit(1)  # the run is gone: never write on for a dead parent
    prepared = jinja.cached(job.template)
    try:
        if prepared is None or prepared.sha256 != job.template_sha256:
            prepared = prepare_template(job.template, job.language)
        context = job.context
        if job.form_no != context.get("form_no"):
            context = {**context, "form_no": job.form_no, "表单编号": job.form_no}
        data = prepared.render(context)
    except (jinja2.TemplateError, TemplateError) as exc:
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
    with process_pool(min(workers, total)) as pool:
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


def _blockers(findings: Sequence[Finding]) -> list[str]:
    return [f"{f.code} {f.cell or f.field}".strip() for f in findings]


@dataclass(slots=True)
class Prepared:
    """What the stage reads before it looks at a single record: the kinds, their templates
    (checked and prepared), the manifest and the listing of the documents folder. The daily
    job has it read on a thread while calamine parses the register (:func:`prepare`)."""

    docs_dir: Path
    kinds: list[DocumentKind]
    templates: dict[str, PreparedTemplate]
    notes: list[str]
    existing: manifest.ExistingFiles
    #: The manifest, when read ahead (None: read when needed, which a rerun on the same bytes is not).
    recorded: dict[str, str] | None = None


def prepare(config: Config, out_dir: str | os.PathLike[str] | None = None, *,
            ahead: bool = True) -> Prepared:
    """Read the stage's inputs that do not depend on the register; ``ahead`` reads the manifest
    too, which only a run on changed bytes needs. Raises :class:`TemplateError` for a template
    with an error, as :func:`generate` does."""
    kinds_ = document_kinds(config)
    notes: list[str] = []
    templates = _load_templates(config, kinds_, notes)
    docs_dir = Path(out_dir) if out_dir else config.documents_dir
    ensure_folder(docs_dir, config.language)  # a file in the way stops the stage with a clear message
    existing = manifest.ExistingFiles(str(docs_dir))
    existing.list_all()
    recorded = manifest.load_manifest(docs_dir / manifest.MANIFEST_NAME) if ahead else None
    if recorded:
        existing.share(recorded)
    return Prepared(docs_dir, kinds_, templates, notes, existing, recorded)


# The check makes a few objects per document (half a million at 100k rows) and no cycles: the
# cyclic collector would walk them again and again, more than half the time of a rerun's check.
@paused_gc()
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
    prepared: Prepared | None = None,
) -> GenerateResult:
    """Render every document kind each complaint needs (see :mod:`.kinds`).

    A row with an error finding that blocks documents is skipped (with the findings that
    blocked it); a document whose inputs did not change since the last run is left alone unless
    ``force``. ``today`` names the print batch. Raises :class:`TemplateError` before writing
    anything if a template has an error or uses an unknown name. ``prepared``: the inputs
    :func:`prepare` read already, for the same ``config`` and ``out_dir``.
    """
    language = config.language
    if prepared is None:
        prepared = prepare(config, out_dir, ahead=False)
    kinds_, templates, notes = prepared.kinds, prepared.templates, list(prepared.notes)
    docs_dir = prepared.docs_dir
    manifest_path = docs_dir / manifest.MANIFEST_NAME
    blocking = report.column_errors()
    # Only a document's own content blocks it: a bad handler e-mail stops reminders, not forms.
    by_row = getattr(report, "document_errors_by_row", report.errors_by_row)()
    # --only ks-2026-001 finds KS-2026-001: staff type numbers in either case.
    wanted = {str(i).strip().casefold(): str(i).strip() for i in only} if only else None

    namer = manifest.Namer(config, kinds_)
    hasher = manifest.InputHasher(config, templates, kinds_)
    due = DueDates(config)
    docs_root = str(docs_dir)
    prefix = docs_root + os.sep  # what os.path.join(docs_root, relpath) gives, without its cost
    existing = prepared.existing
    listed = existing.paths  # grows as folders are listed
    # A rerun on the same register bytes, config, templates and findings: the last run's outcome
    # holds, once every file it names is still there (a deleted one sends us the long way).
    snapshot_path = docs_dir / manifest.SNAPSHOT_NAME
    snapshot_key = ""
    if not force and wanted is None and register.sha256:
        snapshot_key = _snapshot_key(register, hasher, blocking, by_row)
        restored = _restore(manifest.load_snapshot(snapshot_path, snapshot_key), existing, docs_root)
        if restored is not None:
            result = GenerateResult(restored, _counts(restored), str(docs_dir), notes=notes)
            if pdf or print_batch:
                from .pdf import make_pdfs

                make_pdfs(result, docs_dir, today, language, print_batch, config.documents.pdf_workers,
                          profiles=config.output_dir / "cache" / "libreoffice")
            return result
    recorded = prepared.recorded if prepared.recorded is not None else manifest.load_manifest(manifest_path)
    by_digest = {digest: relpath for relpath, digest in recorded.items()}
    claims = _Claims()
    claim = claims.claim  # which row each path is for
    documents: list[DocumentResult] = []
    jobs: list[_Job] = []
    hashes: dict[int, tuple[str, str]] = {}  # index -> (relpath, hash)
    seen_ids: set[str] = set()
    # Rows whose documents are not filed this run: what they filed earlier must not look stale.
    held_rows: list[tuple[Record, list[DocumentKind]]] = []
    # A row held back without a complaint number may be the row of any document no row files:
    # none is then taken for a deleted row's. (A number with an error, e.g. a duplicate, is still
    # the number staff typed: it holds its own documents, not every other number's; the example
    # register, like most, always has one.)
    unsure_ids = False
    for record in register.records:
        cid = record.complaint_id.strip()
        if wanted is not None and cid.casefold() not in wanted:
            continue
        if wanted is not None:
            seen_ids.add(cid.casefold())
        needed: list[DocumentKind] = []
        failed: dict[str, str] = {}
        for kind in kinds_:
            try:
                if kind.applies(record, config):
                    needed.append(kind)
            except WhenError as exc:
                needed.append(kind)
                failed[kind.key] = translate(MESSAGES, "when-failed", language, expr=kind.when, error=exc)
        reason, blockers = "", []
        if blocking:
            reason = translate(MESSAGES, "column-errors", language, details=_summarise(blocking, language))
            blockers = _blockers(blocking)
        elif by_row.get((record.sheet, record.row)):
            found = by_row[(record.sheet, record.row)]
            reason = translate(MESSAGES, "row-errors", language, details=_summarise(found, language))
            blockers = _blockers(found)
        elif not cid:
            reason = translate(MESSAGES, "no-id", language)
        if reason:
            held_rows.append((record, needed))
            unsure_ids = unsure_ids or not cid
            documents.extend(DocumentResult(cid or f"{record.sheet}!{record.row}", kind.key, "", SKIPPED, reason, list(blockers))
                             for kind in needed)
            continue
        context_cache: dict[str, Any] | None = None
        for kind in needed:
            key = kind.key
            if key in failed:
                held_rows.append((record, [kind]))
                documents.append(DocumentResult(cid, key, "", SKIPPED, failed[key]))
                continue
            digest = hasher.digest(record, key)
            # The hash covers the row, the kind, the naming patterns and the language: a document
            # recorded under it has the path it would be given now. Trusting that path (when the
            # file is there) spares working it out for every unchanged document of a rerun.
            known = by_digest.get(digest)
            if known is not None and not force and (known in listed or known in existing):
                if claim(known, record) is record:
                    documents.append(DocumentResult(cid, key, known, UNCHANGED, root=prefix))
                    continue
            relpath = namer.relpath(record, key)
            # Case-insensitive, as on Windows: one file must never hold two complaints' forms.
            owner = claim(relpath, record)
            if owner is not record:
                held_rows.append((record, [kind]))
                documents.append(DocumentResult(cid, key, "", SKIPPED, translate(
                    MESSAGES, "same-path", language, path=relpath, other=f"{owner.sheet}!{owner.row}")))
                continue
            target = prefix + relpath
            exists = relpath in existing
            index = len(documents)
            if exists and not force and recorded.get(relpath) == digest:
                documents.append(DocumentResult(cid, key, relpath, UNCHANGED, root=prefix))
                continue
            documents.append(DocumentResult(cid, key, relpath, UPDATED if exists else CREATED, root=prefix))
            hashes[index] = (relpath, digest)
            if context_cache is None:
                context_cache = build_context(record, kind, config, due)
            jobs.append(_Job(index, str(templates[key].path), templates[key].sha256, language, context_cache,
                             target, kind.form_no))
    for cid in sorted(wanted[key] for key in (wanted or {}).keys() - seen_ids):
        documents.append(DocumentResult(cid, kinds_[0].key, "", SKIPPED, translate(MESSAGES, "not-found", language)))

    errors = _run_jobs(jobs, config.documents.workers, progress)
    for index, (relpath, digest) in hashes.items():
        if index in errors:
            doc = documents[index]
            doc.status, doc.reason = SKIPPED, errors[index]
            continue
        recorded[relpath] = digest
    counts = _counts(documents)
    stale: list[SupersededDocument] = []
    dropped = False
    # Every path a document of this run has is in the manifest now (an unchanged one was found
    # there; a written one was just put there), each once: when they are as many as the
    # manifest's, no document it names is left over, and a run where nothing moved pays nothing.
    filed = counts[UNCHANGED] + len(hashes) - len(errors) + sum(documents[i].relpath in recorded for i in errors)
    # With column errors nothing was filed: no document can be judged stale.
    if not blocking and len(recorded) > filed:
        stale, dropped = _supersede(documents, hashes, errors, held_rows, recorded, register, namer, claims,
                                    filed, existing, docs_root, kinds_, wanted, language, unsure_ids, notes)
    # The manifest first: the snapshot is only trusted beside the files it names.
    path = manifest_path
    try:
        if hashes or dropped:
            manifest.save_manifest(manifest_path, recorded)
        path = snapshot_path
        if snapshot_key and not errors and not any(d.error for d in stale):
            manifest.save_snapshot(snapshot_path, snapshot_key, (
                [d.complaint_id, d.kind, d.relpath,
                 SKIPPED if d.status == SKIPPED else UNCHANGED, d.reason, d.blocked_by] for d in documents))
    except OSError as exc:
        raise OutputError(translate(MESSAGES, "records-not-written", language, path=path,
                                    error=exc.strerror or exc)) from exc

    if stale:
        counts = _counts(documents)  # a moved document is its complaint's, updated
    result = GenerateResult(documents, counts, str(docs_dir), notes=notes, superseded=stale)
    if pdf or print_batch:
        from .pdf import make_pdfs

        make_pdfs(result, docs_dir, today, language, print_batch, config.documents.pdf_workers,
                  profiles=config.output_dir / "cache" / "libreoffice")
    return result


_RELPATH = attrgetter("relpath")


def _supersede(documents: list[DocumentResult], hashes: dict[int, tuple[str, str]], errors: dict[int, str],
               held_rows: list[tuple[Record, list[DocumentKind]]], recorded: dict[str, str],
               register: Register, namer: manifest.Namer, claims: _Claims, filed: int,
               existing: manifest.ExistingFiles, docs_root: str,
               kinds_: list[DocumentKind], wanted: dict[str, str] | None, language: str,
               unsure_ids: bool, notes: list[str]) -> tuple[list[SupersededDocument], bool]:
    """Find the documents of the manifest that no row filed this run: a complaint's document now
    at another path, or of a kind it no longer needs, is moved into the superseded folder
    (:mod:`.superseded`); one whose complaint no row has any more stays and is named once.
    Drops from ``recorded`` what was moved, is gone or was named; returns the moved ones, and
    whether ``recorded`` changed. ``unsure_ids``: a row was held back without a complaint
    number, so a document of a number no row has may be that row's: it stays tracked (and a
    note says so) until the row has its number; likewise a name without the number while rows
    are held back.

    Called when the manifest has more paths than the run's documents (``filed`` of them are
    there): first the paths the rows held back would have (their documents filed before they got
    an error); when those make up the difference, nothing moved, and the manifest's paths are
    never compared with the run's (two set operations over 227k paths, 30 ms at 100k rows).
    Otherwise the few paths that comparison leaves are looked at."""
    # What the rows not filed this run (errors) would file: theirs stand until they are fixed.
    held_paths = set()
    held_ids = set()
    for record, needed in held_rows:
        cid = record.complaint_id.strip()
        if cid:
            held_ids.add(manifest.name_part(cid).casefold())
        for kind in needed:
            try:
                held_paths.add(namer.relpath(record, kind.key))
            except ConfigError:  # the name patterns fail for every row alike: reported already
                pass
    for index in errors:  # a document that failed to render: its row's old one stays too
        held_ids.add(manifest.name_part(documents[index].complaint_id).casefold())
    # A held path another row's document has is counted in ``filed`` already.
    if filed + sum(p in recorded and not claims.claimed(p) for p in held_paths) == len(recorded):
        return [], False
    candidates = recorded.keys() - set(map(_RELPATH, documents))
    candidates -= held_paths
    written = {index: documents[index] for index in hashes if index not in errors}
    # A path differing only in case from one written now is the same file where case does not
    # count (Windows, macOS): that file is the new document, never to be moved away.
    folded_written = {doc.relpath.casefold(): doc.relpath for doc in written.values()}
    dropped = False
    for relpath in list(candidates):
        twin = folded_written.get(relpath.casefold())
        if relpath not in existing or (twin is not None and _same_file(docs_root, relpath, twin)):
            # Gone (staff moved it, or an earlier run was stopped right after moving it), or the
            # very file just written: only the record is left to drop.
            del recorded[relpath]
            dropped = True
            candidates.discard(relpath)
    if not candidates:
        return [], dropped
    if wanted is not None:
        folded_wanted = {manifest.name_part(cid).casefold() for cid in wanted.values()}
    produced = superseded.Produced(
        written={(manifest.name_part(doc.complaint_id).casefold(), doc.kind): doc.relpath for doc in written.values()},
        every=lambda: ((d.complaint_id, d.kind, d.relpath) for d in documents if d.status != SKIPPED),
        ids=_lazy(lambda: {manifest.name_part(r.complaint_id.strip()).casefold() for r in register.records}),
        names=_by_name(written.values()),
        held_names={p.rpartition("/")[2].casefold() for p in held_paths})
    titles = {k.key: k.title(language) for k in kinds_}
    stale = superseded.find(candidates, superseded.NameReader(kinds_, language), produced, held_ids,
                            folded_wanted if wanted is not None else None, titles, language)
    for unsure, reasons, key in ((unsure_ids, (superseded.ID_GONE, superseded.NO_ROW), "kept-unsure"),
                                 # A name without the number may be a held row's old one.
                                 (bool(held_rows), (superseded.NO_ROW,), "kept-held")):
        kept = [d for d in stale if d.reason in reasons] if unsure else []
        if kept:
            stale = [d for d in stale if d.reason not in reasons]
            notes.append(translate(superseded.MESSAGES, key, language, n=len(kept),
                                   paths=("、" if language == "zh" else ", ").join(d.relpath for d in kept[:5])))
    # A number no row has any more: a row deleted or renumbered, or rows moved to another register
    # (a new year's file, an archive), whose forms are still valid records. Moving them into 已作废
    # would say they are void, so they stay, are named once and are no longer tracked (a new
    # year's register would otherwise repeat thousands of them every day).
    orphans = [d for d in stale if d.reason in (superseded.ID_GONE, superseded.NO_ROW)]
    if orphans:
        stale = [d for d in stale if d.reason not in (superseded.ID_GONE, superseded.NO_ROW)]
        shown = ("、" if language == "zh" else ", ").join(d.relpath for d in orphans[:5])
        notes.append(translate(superseded.MESSAGES, "kept-orphan", language, n=len(orphans),
                               paths=shown + ("…" if len(orphans) > 5 else ""),
                               folder=superseded.FOLDERS.get(language, superseded.FOLDERS["zh"])))
        for doc in orphans:
            del recorded[doc.relpath]
        dropped = True
    by_path = {doc.relpath: doc for doc in written.values()}
    for doc in stale:
        superseded.move(doc, docs_root, language)
        if doc.error:
            log.warning("%s", doc.error)
            continue
        del recorded[doc.relpath]
        dropped = True
        new = by_path.get(doc.replaced_by)
        if new is not None and new.status == CREATED:
            new.status = UPDATED  # the complaint's document, moved: not a new one
    return stale, dropped


def _by_name(written: Iterable[DocumentResult]) -> dict[str, tuple[str, str, str] | None]:
    """File name (casefolded) -> (complaint id, kind, relpath); None for a name shared."""
    names: dict[str, tuple[str, str, str] | None] = {}
    for doc in written:
        name = doc.relpath.rpartition("/")[2].casefold()
        names[name] = None if name in names else (doc.complaint_id, doc.kind, doc.relpath)
    return names


def _same_file(root: str, a: str, b: str) -> bool:
    try:
        return os.path.samefile(os.path.join(root, a), os.path.join(root, b))
    except OSError:
        return False


def _lazy(make: Callable[[], set[str]]) -> Callable[[], set[str]]:
    """``make``, called once, when first needed."""
    made: list[set[str]] = []

    def get() -> set[str]:
        if not made:
            made.append(make())
        return made[0]
    return get


class _Claims:
    """Which row each document path is for, without regard to case (as on Windows): one file
    must never hold two complaints' forms. Keyed by the hash of the casefolded path, with the
    path itself (the caller's string, shared) to tell a real clash from two paths that only
    share a hash: a casefolded copy of every path was some 50 MB at 227k documents."""

    def __init__(self) -> None:
        self._owner: dict[int, Record] = {}
        self._path: dict[int, str] = {}
        self._exact: dict[str, Record] = {}  # the casefolded paths whose hash another path had first

    def claim(self, relpath: str, where: Record) -> Record:
        """The record ``relpath`` is for: ``where`` when it is the first to claim it."""
        folded = relpath.casefold()
        key = self._key(folded)
        owner = self._owner.setdefault(key, where)
        first = self._path.setdefault(key, relpath)
        if first is relpath or first.casefold() == folded:
            return owner
        return self._exact.setdefault(folded, where)

    def claimed(self, relpath: str) -> bool:
        """Whether a row claimed ``relpath`` (or the same path in another case)."""
        folded = relpath.casefold()
        first = self._path.get(self._key(folded))
        if first is None:
            return False
        return first is relpath or first.casefold() == folded or folded in self._exact

    _key = staticmethod(hash)


def _snapshot_key(register: Register, hasher: manifest.InputHasher, blocking: Sequence[Finding],
                  by_row: dict[tuple[str, int], list[Finding]]) -> str:
    """Everything a run's outcome depends on: the register's bytes, the config and templates, and
    the findings that block documents (they change with the day, e.g. a date now in the past)."""
    state = hashlib.sha256(f"{register.sha256}\x00{hasher.static_digest()}\x00".encode())
    for f in blocking:
        state.update(repr((f.code, f.field, f.cell, f.message)).encode())
    for key in sorted(by_row):
        state.update(repr((key, [(f.code, f.field, f.cell, f.message) for f in by_row[key]])).encode())
    return state.hexdigest()


def _restore(saved: Iterable[list[list[Any]]] | None, existing: manifest.ExistingFiles,
             docs_root: str) -> list[DocumentResult] | None:
    if saved is None:
        return None
    documents = []
    prefix = docs_root + os.sep  # what os.path.join(docs_root, relpath) gives, without its cost
    listed = existing.paths
    contains = existing.__contains__
    # JSON gives each document its own copy of the kind and of the complaint number (two
    # documents a row): one string each instead, 20 MB less at 227k documents.
    shared: dict[str, str] = {}
    share = shared.setdefault
    try:
        for part in saved:
            for cid, kind, relpath, status, reason, blocked_by in part:
                if status == SKIPPED:
                    documents.append(DocumentResult(share(cid, cid), share(kind, kind), relpath, SKIPPED, reason,
                                                    list(blocked_by)))
                elif relpath in listed or contains(relpath):
                    documents.append(DocumentResult(share(cid, cid), share(kind, kind), relpath, UNCHANGED,
                                                    root=prefix))
                else:
                    return None
    except (OSError, TypeError, ValueError):
        return None  # a damaged snapshot, or one of another shape
    return documents


def _counts(documents: Sequence[DocumentResult]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for doc in documents:
        counts[doc.status] += 1
    return counts
