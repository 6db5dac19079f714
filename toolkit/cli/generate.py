"""``complaint-toolkit generate``: file a feedback form for every complaint and a CAPA sheet where
one is needed; only documents whose inputs changed are rewritten."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TextIO

from ..config import Config
from ..documents import CREATED, SKIPPED, UNCHANGED, UPDATED, GenerateResult, document_kinds, generate
from ..documents.superseded import FOLDERS
from ..documents.superseded import MESSAGES as SUPERSEDED_MESSAGES
from ..i18n import Messages, translate
from ..register import read_register
from ..validate import validate
from . import _common

NAME = "generate"

MESSAGES: Messages = {
    CREATED: {"zh": "新建", "en": "created"},
    UPDATED: {"zh": "更新", "en": "updated"},
    UNCHANGED: {"zh": "未变", "en": "unchanged"},
    SKIPPED: {"zh": "跳过", "en": "skipped"},
    "nothing": {"zh": "没有变化，未写入任何文档。", "en": "Nothing changed; no document written."},
    "summary": {"zh": "文档（{dir}）：新建 {created}，更新 {updated}，未变 {unchanged}，跳过 {skipped}",
                "en": "Documents in {dir}: {created} created, {updated} updated, {unchanged} unchanged, "
                      "{skipped} skipped"},
    "pdf": {"zh": "PDF：{n} 个", "en": "PDF: {n} made"},
    "batch": {"zh": "打印批次：{path}", "en": "Print batch: {path}"},
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _common.add_register(parser)
    _common.add_today(parser)
    parser.add_argument("--out", metavar="DIR", help=_common.say("文档文件夹（默认：[documents].dir）", "documents folder (default: [documents].dir)"))
    parser.add_argument("--only", nargs="+", metavar="ID", help=_common.say("只处理这些投诉编号", "only these complaint numbers"))
    parser.add_argument("--force", action="store_true", help=_common.say("重写所有文档，不论是否变化", "rewrite every document, changed or not"))
    parser.add_argument("--pdf", action="store_true", help=_common.say("同时为每个文档生成 PDF（需要 LibreOffice）", "also a PDF of each document (LibreOffice)"))
    parser.add_argument("--print-batch", action="store_true",
                        help=_common.say("同时把本次新建或更新的文档合并为一个 PDF 以便打印",
                                         "also one merged PDF of the documents created or updated in this run"))
    _common.add_format(parser)


class ProgressBar:
    """A one-line bar on stderr, drawn only on a terminal and only for long runs."""

    def __init__(self, stream: TextIO | None = None, min_total: int = 20) -> None:
        self.stream = stream or sys.stderr
        self.enabled = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.min_total = min_total
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total < self.min_total:
            return
        now = time.monotonic()
        if done < total and now - self.last < 0.1:
            return
        self.last = now
        width = 30
        filled = width * done // total
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done == total:
            self.stream.write("\n")
        self.stream.flush()


def run(args: argparse.Namespace, config: Config) -> int:
    _common.apply_register(args, config)
    today = _common.today(args)
    register = read_register(config)
    report = validate(register, config, today)
    result = generate(register, report, config, today=today,
                      out_dir=Path(args.out).resolve() if args.out else None, only=args.only,
                      force=args.force, pdf=args.pdf, print_batch=args.print_batch,
                      progress=ProgressBar())
    if args.format == "json":
        _common.print_json(result.to_dict())
    else:
        titles = {k.key: k.title(config.language) for k in document_kinds(config)}
        print(render_text(result, config.language, titles))
    for note in (*result.notes, *result.problems):
        print(note, file=sys.stderr)
    # 1: some rows were not filed because of errors in the register (fix them and run again), or
    # a superseded document could not be moved (close it and run again).
    return 1 if result.counts[SKIPPED] or result.problems else 0


def render_text(result: GenerateResult, language: str, titles: dict[str, str] | None = None) -> str:
    """One line per document written or skipped (unchanged ones are only counted), then counts."""
    t = lambda key, **kw: translate(MESSAGES, key, language, **kw)  # noqa: E731
    base = Path(result.documents_dir)
    lines = []
    for doc in result.documents:
        if doc.status == UNCHANGED:
            continue
        label = f"{t(doc.status)}  {doc.complaint_id}  {(titles or {}).get(doc.kind, doc.kind)}"
        if doc.status == SKIPPED:
            lines.append(f"{label}: {doc.reason}")
        else:
            path = Path(doc.path)
            shown = path.relative_to(base) if path.is_relative_to(base) else path
            lines.append(f"{label}  {shown.as_posix()}")
    moved = [d for d in result.superseded if d.moved_to]
    lines.extend(d.line(language) for d in moved)
    if not result.written and not moved:
        lines.append(t("nothing"))
    if result.pdf:
        lines.append(t("pdf", n=len(result.pdf)))
    if result.print_batch:
        lines.append(t("batch", path=result.print_batch))
    lines.append(t("summary", dir=result.documents_dir, **result.counts))
    if moved:
        folder = Path(result.documents_dir) / FOLDERS.get(language, FOLDERS["zh"])
        lines.append(translate(SUPERSEDED_MESSAGES, "superseded-summary", language, n=len(moved), folder=folder))
    return "\n".join(lines)
