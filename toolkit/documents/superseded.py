"""Documents the toolkit filed earlier that no row of the register files any more.

A row's document path changes when a field of the folder or name pattern changes (责任部门 in
``{year}/{department}``, 受理日期 into another month) or when staff fix its complaint number:
the stage files the form at the new path, and the old form, saying what the row used to say,
would stay beside it. Such a document is moved, never deleted (staff may have signed or printed
it; a row may have been deleted by mistake), into ``已作废/`` (``superseded/`` in English) under
the documents folder, at its original relative path, and the run names it and says why.

Only documents in the manifest are considered: a file staff put in the folder is never touched.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from string import Formatter
from typing import Any

from ..i18n import Messages, translate
from .kinds import DocumentKind
from .manifest import name_part

#: The folder, under the documents folder, that superseded documents are moved into, by language.
FOLDERS = {"zh": "已作废", "en": "superseded"}
#: Both names: a document filed under either is never taken for one of the register's.
FOLDER_NAMES = frozenset(FOLDERS.values())

MOVED, ID_GONE, NOT_NEEDED, NO_ROW = "moved", "id-gone", "not-needed", "no-row"

MESSAGES: Messages = {
    "superseded-" + MOVED: {"zh": "{complaint_id} 的{title}现存为 {new}",
                            "en": "the {title} of {complaint_id} is now filed as {new}"},
    "superseded-" + ID_GONE: {"zh": "台账中已没有投诉编号 {complaint_id}（行被删除或编号已更改）",
                              "en": "no row of the register has complaint number {complaint_id} any more "
                                    "(the row was deleted or its number changed)"},
    "superseded-" + NOT_NEEDED: {"zh": "投诉 {complaint_id} 已不再需要{title}",
                                 "en": "complaint {complaint_id} no longer needs a {title}"},
    "superseded-" + NO_ROW: {"zh": "台账中已没有生成此文件的行", "en": "no row of the register files it any more"},
    "superseded-line": {"zh": "已作废  {old} → {moved}：{why}", "en": "superseded  {old} → {moved}: {why}"},
    "superseded-summary": {
        "zh": "已作废的旧文档：{n} 份，已移至 {folder}（原文件保留，未删除；文件夹中只留台账现在生成的文档）",
        "en": "Superseded documents: {n}, moved to {folder} (kept, not deleted; the documents folder "
              "holds only what the register files now)"},
    "kept-unsure": {
        "zh": "有 {n} 份旧文档（{paths}）台账中已没有对应的投诉编号，但台账中有未填投诉编号的行，"
              "它们可能属于这些行：暂留原处，补填编号后再次运行时再处理。",
        "en": "{n} earlier document(s) ({paths}) have a complaint number no row has any more, but some rows "
              "have no complaint number and may be theirs: they stay where they are until those rows get "
              "their number and the toolkit runs again."},
    "kept-held": {
        "zh": "有 {n} 份旧文档（{paths}）已没有行生成，其文件名不含投诉编号，而台账中有因错误本次未生成文件的行，"
              "它们可能属于这些行：暂留原处，改正这些行后再次运行时再处理。",
        "en": "{n} earlier document(s) ({paths}) no row files any more; their names do not carry the complaint "
              "number and some rows were held back by errors this run, so they may be theirs: they stay where "
              "they are until those rows are fixed and the toolkit runs again."},
    "kept-orphan": {
        "zh": "有 {n} 份旧文档（{paths}）台账中已没有生成它们的行（投诉编号不在台账中）：原样保留，没有移动，此后不再提示。"
              "如果是改正了编号或撤销了投诉，请把旧文件移到 {folder}/ 文件夹；如果是把这些行移到了别的台账"
              "（如新一年的台账、归档表），这些文件照旧有效，无需处理。",
        "en": "{n} earlier document(s) ({paths}) are filed by no row any more (their complaint number is not in "
              "the register): kept as they are, not moved, and not mentioned again. If a number was corrected "
              "or a complaint withdrawn, move the old file into {folder}/; if those rows moved to another "
              "register (a new year's, an archive), the files stand as they are."},
    "cannot-move": {"zh": "无法把已作废的 {path} 移至 {target}：{error}。如该文件正在 Word 或 WPS 中打开，"
                          "请关闭后重试；下次运行会再移。",
                    "en": "cannot move the superseded {path} to {target}: {error}. If it is open in Word or "
                          "WPS, close it; the next run moves it."},
}


@dataclass(slots=True)
class SupersededDocument:
    """A document filed earlier that no row files any more, and where it went."""

    relpath: str  # where it was, below the documents folder
    reason: str  # MOVED | ID_GONE | NOT_NEEDED | NO_ROW
    message: str  # why, in the configured language
    complaint_id: str = ""  # as read from the file name, "" when the name does not tell
    kind: str = ""
    replaced_by: str = ""  # for MOVED: the row's document now
    moved_to: str = ""  # below the documents folder; "" when the move failed
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.relpath, "reason": self.reason, "message": self.message,
                "complaint_id": self.complaint_id, "kind": self.kind, "replaced_by": self.replaced_by,
                "moved_to": self.moved_to, "error": self.error}

    def line(self, language: str) -> str:
        """``已作废  2026/生产部/… → 已作废/2026/生产部/…：…`` for the run's summary."""
        return translate(MESSAGES, "superseded-line", language, old=self.relpath,
                         moved=self.moved_to or "?", why=self.message)


class NameReader:
    """The kind and complaint number a document's file name was made from, read back with the
    kinds' name patterns (``{complaint_id}_客诉反馈单.docx``). Only used for the few documents
    no row files any more, so it may be slow."""

    def __init__(self, kinds: Iterable[DocumentKind], language: str) -> None:
        self._patterns: list[tuple[str, re.Pattern[str]]] = []
        for kind in kinds:
            regex = []
            has_id = False
            try:
                parts = list(Formatter().parse(kind.file_pattern(language)))
            except ValueError:
                continue
            for literal, name, _, _ in parts:
                regex.append(re.escape(literal))
                if name is None:
                    continue
                base = name.split(".")[0].split("[")[0]
                if base == "kind":
                    regex.append(re.escape(kind.key))
                elif base == "complaint_id" and not has_id:
                    regex.append("(?P<cid>[^/]+?)")
                    has_id = True
                else:
                    regex.append("[^/]*?")
            self._patterns.append((kind.key, re.compile("".join(regex))))

    def read(self, relpath: str) -> tuple[str, str]:
        """(kind, complaint number as it stands in the name) or ("", "") when no pattern fits."""
        name = relpath.rpartition("/")[2]
        for key, pattern in self._patterns:
            match = pattern.fullmatch(name)
            if match:
                return key, match.groupdict().get("cid") or ""
        return "", ""


@dataclass(slots=True)
class Produced:
    """What the stage filed this run, as :func:`find` needs it."""

    #: (complaint number as in a file name, casefolded; kind) -> the document's relpath, for
    #: the documents written this run (the few a move makes).
    written: dict[tuple[str, str], str]
    #: All the run's documents as (complaint id, kind, relpath): looked at only when a stale
    #: document's row was not among those written.
    every: Callable[[], Iterable[tuple[str, str, str]]]
    #: The register's complaint numbers (as in a file name, casefolded), worked out when needed.
    ids: Callable[[], Collection[str]]
    #: File name (casefolded) -> (complaint id, kind, relpath) of the documents written this run,
    #: None for a name two of them share: for names that do not carry the complaint number.
    names: dict[str, tuple[str, str, str] | None]
    #: File names (casefolded) the rows held back would give their documents.
    held_names: Collection[str]


def find(candidates: Iterable[str], reader: NameReader, produced: Produced, held_ids: Collection[str],
         wanted: Collection[str] | None, titles: dict[str, str], language: str) -> list[SupersededDocument]:
    """The stale documents among ``candidates`` (manifest paths no row filed this run) and why.

    ``held_ids``: complaint numbers (as in a file name, casefolded) of rows whose documents
    were not filed this run (errors): theirs are kept as they are. ``wanted``: the numbers of
    a ``--only`` run (casefolded); a document of another complaint, or whose name does not tell,
    is left alone by such a run.
    """
    found = []
    every: dict[tuple[str, str], str] | None = None
    for relpath in sorted(candidates):
        kind, cid = reader.read(relpath)
        folded = cid.casefold()
        if not cid:
            # A name without the number: the same file name, now in another folder, is the same
            # complaint's document when only one document has it; a held row's name holds it.
            name = relpath.rpartition("/")[2].casefold()
            if name in produced.held_names:
                continue
            if wanted is not None:
                continue
            same = produced.names.get(name)
            if same is None:
                message = translate(MESSAGES, "superseded-" + NO_ROW, language)
                found.append(SupersededDocument(relpath, NO_ROW, message, kind=kind))
            else:
                cid, kind, new = same
                message = translate(MESSAGES, "superseded-" + MOVED, language, complaint_id=cid,
                                    title=titles.get(kind, kind), new=new)
                found.append(SupersededDocument(relpath, MOVED, message, cid, kind, new))
            continue
        if cid and folded in held_ids:
            continue  # its row has errors this run: what was filed stands until they are fixed
        if wanted is not None and folded not in wanted:
            continue
        title = titles.get(kind, kind)
        new = produced.written.get((folded, kind)) if cid else None
        if cid and new is None:
            if every is None:
                every = {(name_part(c).casefold(), k): p for c, k, p in produced.every() if p}
            new = every.get((folded, kind))
        if new is not None:
            reason = MOVED
        elif folded in produced.ids():
            reason = NOT_NEEDED
        else:
            reason = ID_GONE
        message = translate(MESSAGES, "superseded-" + reason, language, complaint_id=cid, title=title,
                            new=new or "")
        found.append(SupersededDocument(relpath, reason, message, cid, kind, new or ""))
    return found


def move(doc: SupersededDocument, docs_root: str, language: str) -> None:
    """Move ``doc`` into the superseded folder at its relative path, never over another file
    (``name (2).docx`` when one is there), with the PDF ``--pdf`` made beside it, if any.

    Renames only: a crash before the document's rename leaves it where it was (the manifest
    still names it, the next run moves it), a crash after it leaves it moved (the next run finds
    it gone and drops it from the manifest). The PDF goes first, so a crash never leaves it
    behind in the documents folder without its document."""
    folder = FOLDERS.get(language, FOLDERS["zh"])
    source = os.path.join(docs_root, doc.relpath)
    stem, dot, suffix = doc.relpath.rpartition(".")
    if not dot:
        stem, suffix = doc.relpath, ""
    pdf = os.path.join(docs_root, stem + ".pdf") if suffix.lower() != "pdf" else ""
    has_pdf = bool(pdf) and os.path.isfile(pdf)
    number = 1
    target_rel = f"{folder}/{doc.relpath}"
    try:
        os.makedirs(os.path.dirname(os.path.join(docs_root, target_rel)), exist_ok=True)
        while True:
            named = f"{folder}/{stem}" + (f" ({number})" if number > 1 else "")
            target_rel = f"{named}{dot}{suffix}"
            target = os.path.join(docs_root, target_rel)
            pdf_target = os.path.join(docs_root, named + ".pdf")
            # Only one run at a time writes here (the state lock): nothing can take the name
            # between this look and the rename but staff, by hand, in that instant.
            if not os.path.lexists(target) and not (has_pdf and os.path.lexists(pdf_target)):
                break
            number += 1
        if has_pdf:
            os.rename(pdf, pdf_target)
        os.rename(source, target)
    except OSError as exc:
        doc.error = translate(MESSAGES, "cannot-move", language, path=doc.relpath, target=target_rel,
                              error=exc.strerror or exc)
        return
    doc.moved_to = target_rel
