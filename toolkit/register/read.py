"""Read the complaint register into plain :class:`~toolkit.model.Register` data.

The file's bytes are read once (the register lives on a network drive and staff may save it
while we read), checked for what they really are (:mod:`.formats`) and parsed from memory with
python-calamine. Each sheet's header block is found by its header texts and its merged cells
are read (:mod:`.layout`); every cell of a known column is turned into a typed value: dates as
:class:`datetime.date` (or :class:`datetime.datetime` when a time was given), numbers,
canonical list values, text. A cell that cannot be read is ``None`` in ``Record.values`` and
kept in ``Record.bad`` for the validator to report; nothing here decides what is *wrong* with
the data.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import logging
import os
import re
import threading
import unicodedata
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from types import NoneType
from typing import Any

import python_calamine

from ..config import Config, usable_cores
from ..errors import RegisterError
from ..fields import DATE, EMAIL, FIELD_BY_NAME, LIST, NUMBER, PHONE, header_aliases, normalize_header
from ..i18n import Messages, translate
from ..model import Record, Register, SheetInfo, column_letter, paused_gc
from ..workers import share_malloc_arenas
from . import cache as readcache
from .biff import BiffError, BiffFacts, read_facts
from .formats import (
    ODS,
    XLS,
    XLSB,
    XLSX,
    ZIP_ERRORS,
    FormulaCells,
    FormulaScan,
    Limits,
    Merge,
    _has_formulas,
    fail,
    formula_cells,
    identify,
    lock_notes,
    ods_errors,
    ods_merges,
    read_stable_bytes,
    scan_formulas,
    sheet_parts,
    uses_1904_dates,
    xlsb_merges,
)
from .layout import (
    HEADER_SEARCH_ROWS,
    MAX_BLOCK_ROWS,
    MIN_HEADER_FIELDS,
    Candidate,
    HeaderBlock,
    best_candidate,
    data_merges,
    fill_merged,
    find_header,
    record_spans,
    suggest_alias,
)
from .pieces import Pieces, pieces_for, start_pieces
from .values import (
    CONFLICTING_VALUES,
    FORMULA_ERROR,
    FORMULA_NO_VALUE,
    ValueParseError,
    _text_of,
    clean_text,
    list_value_table,
    parse_date,
    parse_number,
)

log = logging.getLogger(__name__)

_MESSAGES: Messages = {
    "no-header": {
        "zh": "台账 {path} 中找不到表头行。已查找的工作表：{sheets}（每个表的前 {rows} 行）。"
              "表头行需包含“投诉编号”及至少 {others} 个其他已知列名，例如：{expected}。{closest}"
              "请检查表头文字，或在 config.toml 的 [columns.<字段>] aliases 中添加别名。",
        "en": "no header row found in the register {path}. Sheets searched: {sheets} (the first "
              "{rows} rows of each). The header row needs \"Complaint No.\" and at least {others} "
              "other known headers, e.g.: {expected}. {closest}Check the header texts, or add aliases in "
              "config.toml under [columns.<field>] aliases.",
    },
    "closest-no-id": {
        "zh": "最接近的是工作表“{sheet}”第 {row} 行：识别出 {found}，但缺少“{missing}”。如果“{suggest}”"
              "就是投诉编号，请在 config.toml 中加入：{alias_line}。",
        "en": "The closest was sheet \"{sheet}\" row {row}: it has {found} but no \"{missing}\". If "
              "\"{suggest}\" is the complaint number, add to config.toml: {alias_line}. ",
    },
    "closest-no-id-column": {
        "zh": "最接近的是工作表“{sheet}”第 {row} 行：识别出 {found}，但该行没有“{missing}”列：请在该行添加"
              "“{missing}”列；如果编号在别的列名下，请在 config.toml 中加入 "
              "[columns.complaint_id] aliases = [\"<列名>\"]。",
        "en": "The closest was sheet \"{sheet}\" row {row}: it has {found} but no \"{missing}\" column: add "
              "one to that row; if the number is under another header, add [columns.complaint_id] aliases = "
              "[\"<header>\"] to config.toml. ",
    },
    "closest-few": {
        "zh": "最接近的是工作表“{sheet}”第 {row} 行：只识别出 {found}（需要至少 {need} 个）。"
              "未识别的列名有 {unknown}；请为其中的台账字段加别名，例如：{alias_line}。",
        "en": "The closest was sheet \"{sheet}\" row {row}: it has only {found} (at least {need} are "
              "needed). Headers not recognised: {unknown}; add aliases for the register's fields among "
              "them, e.g.: {alias_line}. ",
    },
    "closest-nothing": {"zh": "（无）", "en": "(none)"},
    "sheet-unread": {
        "zh": "工作表“{sheet}”看起来是台账的一部分，但没有读取：其中的投诉没有计入检查、文件和统计。{why}",
        "en": "Sheet \"{sheet}\" looks like part of the register but was not read: its complaints are not in "
              "the checks, the documents or the figures. {why}",
    },
    "repeated-header-row": {
        "zh": "第 {row} 行重复了表头，没有当作投诉读取。",
        "en": "Row {row} repeats the header: not read as a complaint.",
    },
    "total-row": {
        "zh": "第 {row} 行（“{text}”）是合计或签字行，没有当作投诉读取；如果它是一件投诉，请改正其投诉编号。",
        "en": "Row {row} (\"{text}\") is a total or sign-off row: not read as a complaint; if it is a complaint, "
              "correct its complaint number.",
    },
    "header-too-low": {
        "zh": "第 {row} 行像是表头，但表头只在每个工作表的前 {rows} 行中查找：请删除表头上方多余的说明行，"
              "使表头位于前 {rows} 行内。",
        "en": "Row {row} looks like its header, but a header is looked for in the first {rows} rows of a sheet "
              "only: delete the note rows above it so that the header is within the first {rows} rows.",
    },
    "closest-unknown": {
        "zh": "没有一列的表头是已知列名；看起来最像表头的是工作表“{sheet}”第 {row} 行：{unknown}。"
              "如果这就是台账，请为各列加别名，先从投诉编号开始：{alias_line}。",
        "en": "No column has a known header; the row that looks most like a header is sheet \"{sheet}\" "
              "row {row}: {unknown}. If this is the register, add aliases for its columns, starting with "
              "the complaint number: {alias_line}. ",
    },
}

#: Fields whose value is one thing (a date, a number, a list value, an address): different
#: values in the rows of one complaint are a finding, never joined or picked.
_SINGLE_KINDS = (DATE, NUMBER, LIST, PHONE, EMAIL)


# -- reading the file -----------------------------------------------------------------------


def read_register(config: Config, path: str | os.PathLike[str] | None = None, *,
                  cache: bool = False, while_parsing: Callable[[], object] | None = None,
                  pieces: bool = True) -> Register:
    """Read the register at ``path`` (default ``config.register_path``).

    Returns the data sheets' :class:`SheetInfo` and every complaint as a :class:`Record` in
    sheet/row order (rows merged together in the complaint-number column are one record). Raises :class:`RegisterError` when the file cannot be read as a
    register; problems in single cells are left in ``Record.bad`` for the validator.
    With ``cache``, records parsed from the very same bytes before (same config, same toolkit)
    are loaded from ``<output>/cache`` instead of parsed again (:mod:`toolkit.readcache`).
    ``while_parsing`` is called just before the file is parsed (not when the records come from
    the cache): calamine lets go of the GIL for the seconds it parses, so a thread started
    there runs beside it. ``pieces``: a large sheet may be parsed in pieces on several cores
    (:mod:`.pieces`).
    """
    language = config.language
    target = Path(path) if path is not None else config.register_path
    data = read_stable_bytes(target, language)
    sha256 = hashlib.sha256(data).hexdigest()
    notes = lock_notes(target, language)
    key = readcache.cache_key(sha256, config) if cache else ""
    cached = None
    if cache:
        with paused_gc():
            cached = readcache.load(readcache.cache_path(config), key)
    if cached is not None:
        log.debug("register %s unchanged since it was last parsed: records loaded from the cache", target)
        sheets, records, unread = cached
        return Register(path=str(target), sha256=sha256, size=len(data), sheets=sheets, records=records,
                        notes=notes, unread=unread)
    size = len(data)
    share_malloc_arenas()  # before the threads below start
    if while_parsing is not None:
        while_parsing()
    kind, archive = identify(data, target, language, _limits(config))
    parts = sheet_parts(archive) if kind == XLSX and archive is not None else {}
    # An .xls is walked record by record before calamine sees it (see :mod:`.biff`).
    facts = _xls_facts(data, target, language, _limits(config)) if kind == XLS else None
    date1904 = facts.date1904 if facts is not None else uses_1904_dates(archive, kind)
    # A large sheet is cut into pieces parsed on several cores (they start here, beside the
    # parse of the rest); cutting it tells whether it has formulas, and one without is not
    # scanned for them.
    split: dict[str, Pieces] = {}
    scan = None
    try:
        split = _start_pieces(archive, parts, config) if parts and pieces else {}
        plain = frozenset(name for name, pieces in split.items() if not pieces.has_formulas)
        for name in plain:
            parts[name] = ""
        scan = FormulaScan.start(data, plain) if kind == XLSX and set(parts) - plain else None
        try:
            workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        except BaseException as exc:  # calamine raises its own and plain errors on bad files, and panics
            if not _calamine_failed(exc):
                raise
            raise _open_error(exc, target, language) from exc
        if archive is not None and kind == XLSX and (scan is not None or not set(parts) - plain):
            # The worker and calamine each hold a copy of the bytes: ours can go before the
            # sheets are parsed (it is the peak). Should the worker fail, the file is read again
            # and scanned here, if it still has the same bytes. (No sheet left to scan, once the
            # pieces found no formula: nothing needs them either.)
            archive.close()
            archive = None
            del data
            if scan is not None:
                scan.fallback = lambda: _rescan(target, sha256, language)
        unread: list[tuple[str, int | None, str]] = []
        with workbook, archive or contextlib.nullcontext(), paused_gc():
            sheets, records = _read_sheets(workbook, kind, archive, config, target, scan, parts, split, unread,
                                           date1904, facts.cells if facts is not None else None)
    finally:
        for pieces in split.values():
            pieces.close()
        if scan is not None:
            scan.close()
        if archive is not None:
            archive.close()
    if cache and readcache.should_save(readcache.cache_path(config), key):
        readcache.save(readcache.cache_path(config), key, sheets, records, unread)
    return Register(path=str(target), sha256=sha256, size=size, sheets=sheets, records=records,
                    notes=notes, unread=unread)




def _start_pieces(archive: zipfile.ZipFile | None, parts: dict[str, str], config: Config) -> dict[str, Pieces]:
    """Start the piece parse of every large sheet the register is read from: name -> Pieces."""
    if archive is None:
        return {}
    wanted = set(config.register.sheets) or set(parts)
    gate = threading.Semaphore(usable_cores())
    shared = sum(i.file_size for i in archive.infolist() if i.filename.lower().endswith("sharedstrings.xml"))
    split: dict[str, Pieces] = {}
    try:
        for name, part in parts.items():
            if name not in wanted or part not in archive.NameToInfo:
                continue
            count = pieces_for(archive.getinfo(part).file_size, shared=shared)
            pieces = start_pieces(archive, name, part, count, gate, parts.values())
            if pieces is not None:
                split[name] = pieces
    except BaseException:
        for pieces in split.values():  # the sheets cut already: their threads and scratch files
            pieces.close()
        raise
    return split


def _limits(config: Config) -> Limits:
    limits = getattr(config, "limits", None)
    return Limits(limits.unpacked_mb, limits.compression_ratio) if limits is not None else Limits()


def _calamine_failed(exc: BaseException) -> bool:
    """Whether ``exc`` is calamine failing on the file: its errors, plain errors, and a Rust
    panic (pyo3's PanicException derives from BaseException, so ``except Exception`` misses it;
    a cut-off .xls panics). Not Ctrl-C or SystemExit."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


def _xls_facts(data: bytes, path: Path, language: str, limits: Limits) -> BiffFacts | None:
    """What an .xls's records say (:func:`biff.read_facts`), or the RegisterError that says why
    it is not read: damaged, password-protected, or a sheet too big for ``[limits]``."""
    try:
        facts = read_facts(data)
    except BiffError as exc:
        if path.suffix.lower() == ".et":
            raise fail("et", path, language, reason=exc) from exc
        raise fail("corrupt", path, language, reason=exc) from exc
    if facts is None:
        return None
    if facts.encrypted:
        raise fail("encrypted", path, language)
    for sheet, area in facts.area.items():
        if area > limits.unpacked_mb * 1024 * 1024:
            raise fail("xls-too-big", path, language, sheet=sheet, unpacked=f"{area / (1 << 20):,.1f}",
                       limit=limits.unpacked_mb)
    return facts


def _open_error(exc: BaseException, path: Path, language: str) -> RegisterError:
    reason = str(exc) or type(exc).__name__
    lowered = reason.lower()
    if "password" in lowered or "encrypt" in lowered:
        return fail("encrypted", path, language)
    if path.suffix.lower() == ".et":
        return fail("et", path, language, reason=reason)
    return fail("corrupt", path, language, reason=reason)


# -- sheets -----------------------------------------------------------------------------------


def _rescan(path: Path, sha256: str, language: str) -> dict[str, FormulaCells]:
    """The formula scan in this process, on the file read again; it must hold the same bytes."""
    data = read_stable_bytes(path, language)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise fail("changing", path, language)
    return scan_formulas(data)


def _read_sheets(workbook: python_calamine.CalamineWorkbook, kind: str, archive: zipfile.ZipFile | None,
                 config: Config, path: Path, scan: FormulaScan | None = None,
                 parts: dict[str, str] | None = None,
                 split: dict[str, Pieces] | None = None,
                 unread: list[tuple[str, int | None, str]] | None = None,
                 date1904: bool = False, xls_cells: dict[str, FormulaCells] | None = None,
                 ) -> tuple[list[SheetInfo], list[Record]]:
    """The data sheets and their records; ``xls_cells``: an .xls's formula and error cells
    (:mod:`.biff`). ``unread`` gets (sheet, None, message) for each sheet
    that looks like part of the register but has no header the reader can use, and (sheet, row,
    message) for each row that is no complaint (the header repeated, a total or sign-off row)."""
    language = config.language
    aliases = header_aliases(config.column_aliases)
    metadata = workbook.sheets_metadata
    all_names = [m.name for m in metadata]
    worksheets = [m.name for m in metadata if m.typ == python_calamine.SheetTypeEnum.WorkSheet]
    wanted = list(config.register.sheets)
    for name in wanted:
        if name not in all_names:
            raise fail("sheet-missing", path, language, sheet=name, sheets=_join(all_names, language))
        if name not in worksheets:
            raise fail("sheet-not-worksheet", path, language, sheet=name)
    if parts is None:
        parts = sheet_parts(archive) if kind == XLSX and archive is not None else {}
    other_merges = _other_merges(kind, archive)
    ods_cells = _ods_errors(archive) if kind == ODS else xls_cells
    infos: list[SheetInfo] = []
    records: list[Record] = []
    any_data = False
    closest: Candidate | None = None
    for name in wanted or worksheets:
        pieces = split.get(name) if split else None
        parsed = pieces.result() if pieces is not None else None
        if parsed is not None:
            rows, merges = parsed
            parsed = None  # ``rows`` is then the rows' only holder: the reader lets go of them as it converts
        else:
            try:
                sheet = workbook.get_sheet_by_name(name)
                rows = sheet.to_python(skip_empty_area=False)
                merges = (other_merges.get(name, []) if other_merges is not None
                          else list(sheet.merged_cell_ranges or ()))
            except BaseException as exc:  # calamine's XmlError/ZipError, and panics on odd files
                if not _calamine_failed(exc):
                    raise
                raise fail("corrupt", path, language, reason=f"{name}: {exc}") from exc
            del sheet  # calamine's own copy of the cells: freed before ours are converted
        any_data = any_data or bool(rows)
        block = find_header(rows, merges, aliases)
        if block is None:
            log.info("sheet %s: no header row, skipped", name)
            candidate = best_candidate(name, rows, merges, aliases)
            if candidate is not None and (closest is None or len(candidate.fields) > len(closest.fields)):
                closest = candidate
            if wanted:
                raise _no_header(path, [name], language, closest)
            why = _why_unread(rows, candidate, aliases, language)
            if why and unread is not None:
                unread.append((name, None, translate(_MESSAGES, "sheet-unread", language, sheet=name, why=why)))
            continue
        scanned = scan.result if scan is not None else (lambda: ods_cells)
        reader = _SheetReader(name, rows, block, merges, config, archive, parts.get(name), scanned, aliases,
                              date1904)
        del rows  # the reader lets go of the rows as soon as it has them column by column
        info, sheet_records = reader.read()
        if unread is not None:
            unread.extend((name, row, message) for row, message in reader.not_complaints)
        infos.append(info)
        records.extend(sheet_records)
        if block.top < block.bottom:
            log.info("sheet %s: header rows %d-%d, %d records (%d spanning rows)", name, block.top + 1,
                     info.header_row, info.rows, info.spanning)
        else:
            log.info("sheet %s: header row %d, %d records", name, info.header_row, info.rows)
    if not infos:
        if not any_data:
            raise fail("empty-workbook", path, language)
        raise _no_header(path, worksheets, language, closest)
    return infos, records


#: A sheet not read is said to be part of the register when its closest row names this many fields.
_LOOKS_LIKE_REGISTER = MIN_HEADER_FIELDS + 1
#: How far below the searched rows a header is looked for, only to say it is there.
_LOW_HEADER_ROWS = 500


def _why_unread(rows: list[list[Any]], candidate: Candidate | None, aliases: dict[str, str],
                language: str) -> str:
    """Why a sheet with no usable header looks like part of the register (else ""): a row
    naming several fields (the closest-row sentence, with the alias to add), or a whole header
    below the rows searched. A summary or notes sheet names too few fields to be said."""
    if candidate is not None and len(candidate.fields) >= _LOOKS_LIKE_REGISTER:
        return _closest(candidate, language)
    step = HEADER_SEARCH_ROWS
    for start in range(step, min(len(rows), step + _LOW_HEADER_ROWS), step):
        block = find_header(rows[start:start + step + MAX_BLOCK_ROWS], [], aliases)
        if block is not None:
            return translate(_MESSAGES, "header-too-low", language, row=start + block.bottom + 1, rows=step)
    return ""


def _ods_errors(archive: zipfile.ZipFile | None) -> dict[str, FormulaCells] | None:
    """An .ods file's error cells (None when they cannot be looked for: then none are said)."""
    if archive is None:
        return None
    try:
        return ods_errors(archive)
    except (KeyError, SyntaxError, *ZIP_ERRORS) as exc:
        log.warning("error values of this .ods file could not be looked for (%s)", exc)
        return None


def _other_merges(kind: str, archive: zipfile.ZipFile | None) -> dict[str, list[Merge]] | None:
    """Merged cells of the formats calamine gives none for (None: ask calamine, sheet by sheet)."""
    if archive is None or kind not in (ODS, XLSB):
        return None
    try:
        return ods_merges(archive) if kind == ODS else xlsb_merges(archive)
    except (KeyError, SyntaxError, *ZIP_ERRORS) as exc:  # ElementTree.ParseError is a SyntaxError
        log.warning("merged cells of this %s file could not be read (%s); read as unmerged", kind, exc)
        return {}


def _no_header(path: Path, searched: list[str], language: str,
               closest: Candidate | None = None) -> RegisterError:
    sample = ("complaint_id", "received_on", "channel", "customer_name", "customer_phone",
              "description", "status")
    expected = _join((FIELD_BY_NAME[n].header(language) for n in sample), language)
    return RegisterError(translate(_MESSAGES, "no-header", language, path=path,
                                   sheets=_join(searched, language) or "-", rows=HEADER_SEARCH_ROWS,
                                   others=MIN_HEADER_FIELDS - 1, expected=expected,
                                   closest=_closest(closest, language)))


def _closest(candidate: Candidate | None, language: str) -> str:
    """The "closest row" sentence: what matched, what is missing, the alias line to add."""
    if candidate is None:
        return ""
    found = _join((FIELD_BY_NAME[n].header(language) for n in candidate.fields), language)
    if not candidate.fields:
        suggest = suggest_alias(candidate)
        return translate(_MESSAGES, "closest-unknown", language, sheet=candidate.sheet, row=candidate.row + 1,
                         unknown=_join(candidate.unknown[:10], language),
                         alias_line=f'[columns.complaint_id] aliases = ["{suggest}"]')
    if "complaint_id" not in candidate.fields:
        suggest = suggest_alias(candidate)
        line = f'[columns.complaint_id] aliases = ["{suggest}"]'
        return translate(_MESSAGES, "closest-no-id" if suggest else "closest-no-id-column", language, sheet=candidate.sheet, row=candidate.row + 1,
                         found=found, missing=FIELD_BY_NAME["complaint_id"].header(language),
                         suggest=suggest, alias_line=line)
    unknown = candidate.unknown[0] if candidate.unknown else ("列名" if language == "zh" else "header")
    return translate(_MESSAGES, "closest-few", language, sheet=candidate.sheet, row=candidate.row + 1,
                     found=found, need=MIN_HEADER_FIELDS,
                     unknown=_join(candidate.unknown[:8], language) or translate(_MESSAGES, "closest-nothing",
                                                                                language),
                     alias_line=f'[columns.received_on] aliases = ["{unknown}"]')


def _join(items: Iterable[str], language: str = "zh") -> str:
    if language == "zh":
        return "、".join(f"“{item}”" for item in items)
    return ", ".join(f'"{item}"' for item in items)


# -- one sheet ------------------------------------------------------------------------------


#: The words a total or sign-off row's 投诉编号 cell starts with: 合计, 总计, 制表人：王芳, 审核：李明.
_TOTAL_WORDS = ("合计", "总计", "小计", "共计", "累计", "制表", "审核", "填表", "编制", "复核")
_TOTAL_ROW = re.compile(rf"(?:{'|'.join(_TOTAL_WORDS)})(?:人|日期)?(?:[:：\s]|$)")
#: Their first characters: the one look every 投诉编号 cell gets.
_TOTAL_FIRSTS = frozenset(word[0] for word in _TOTAL_WORDS)


#: ``list(map(_BLANK, column, column))`` turns calamine's "" (an empty cell) into None in C.
_BLANK = {"": None}.get
_NO_BAD: list[tuple[int, str, Any]] = []


class _SheetReader:
    """Turns one sheet's rows (from calamine) into records.

    Work is done column by column: each column's values are checked for their types in C
    (``Counter(map(type, ...))``) and take a fast path when they are what they should be
    (text, real dates, blanks); only odd cells go through the Python parsers.
    """

    def __init__(self, name: str, rows: list[list[Any]], block: HeaderBlock, merges: list[Merge],
                 config: Config, archive: zipfile.ZipFile | None, part: str | None,
                 scanned: Callable[[], dict[str, FormulaCells] | None] = lambda: None,
                 aliases: dict[str, str] | None = None, date1904: bool = False) -> None:
        self.scanned = scanned
        self.date1904 = date1904
        self.aliases = aliases if aliases is not None else header_aliases(config.column_aliases)
        #: (Excel row, message) of the rows read as no complaint (see :meth:`_not_complaints`)
        self.not_complaints: list[tuple[int, str]] = []
        self.name = name
        self.rows = rows
        self.block = block
        self.header_index = block.bottom
        self.columns = block.columns
        self.merges = data_merges(merges, block.bottom + 1)
        self.config = config
        self.archive = archive
        self.part = part
        #: row offset of a record spanning rows -> its last Excel row
        self.last_rows: dict[int, int] = {}

    def read(self) -> tuple[SheetInfo, list[Record]]:
        rows, self.rows = self.rows, []
        headers = self.block.headers
        # Merged cells in the data: only a sheet that has them pays for them.
        origin = fill_merged(rows, self.merges) if self.merges else {}
        data = rows[self.header_index + 1:]
        width = len(rows[0]) if rows else 0
        del rows
        mapped = sorted(self.columns.items())  # (col, field)
        names = tuple(field for _, field in mapped)
        extra_cols = [c for c in range(width) if c not in self.columns and self._column_used(c, headers, data)]
        extra_keys = _extra_keys(extra_cols, headers)
        order = [c for c, _ in mapped] + extra_cols
        info = SheetInfo(name=self.name, header_row=self.header_index + 1,
                         columns={field: col for col, field in mapped}, headers=headers,
                         header_top=self.block.top + 1, repeated=self.block.repeated)
        if not data:
            return info, []
        # Transposing once in C is cheaper than picking each column out of the rows.
        transposed = list(zip(*data, strict=True))
        del data
        converted: list[list[Any]] = []
        bad: dict[int, dict[str, tuple[str, Any]]] = {}
        for col, field in mapped:
            column, column_bad = self._convert(field, transposed[col])
            converted.append(column)
            for offset, code, raw in column_bad:
                bad.setdefault(offset, {})[field] = (code, raw)
        for col in extra_cols:
            converted.append([clean_text(v) if type(v) is str else (None if v == "" else v)
                              for v in transposed[col]])
        del transposed
        formulas = self._formulas()
        cells: dict[int, dict[str, int]] = {}
        if self.merges:
            cells = self._merged(converted, bad, names, extra_keys, order, origin)
        skip = self._not_complaints(names, converted)
        records = self._records(names, converted, bad, extra_keys, order, formulas, cells, skip)
        info.rows = len(records)
        info.spanning = sum(1 for r in records if r.last_row > r.row)
        return info, records

    def _merged(self, converted: list[list[Any]], bad: dict[int, dict[str, tuple[str, Any]]],
                names: tuple[str, ...], extra_keys: list[str], order: list[int],
                origin: dict[tuple[int, int], int]) -> dict[int, dict[str, int]]:
        """Apply the data's merged cells to the converted columns, in place.

        Rows merged together in the complaint-number column become one record (on its first
        row): text is joined with line breaks, a single-valued field with different values in
        different rows becomes a ``conflicting-values`` bad cell naming every value's cell.
        Returns, per record (row offset), field -> the Excel row that holds its value, where
        that is not the record's own row (a merged "same as above" value, a later row of a span).
        """
        first_row = self.header_index + 1
        n = len(converted[0]) if converted else 0
        keys = (*names, *extra_keys)
        column_of = dict(zip(keys, order, strict=True))
        cells: dict[int, dict[str, int]] = {}
        field_at = {col: name for name, col in column_of.items()}
        for (row, col), source in origin.items():
            name = field_at.get(col)
            if name is not None and row >= first_row:
                cells.setdefault(row - first_row, {})[name] = source + 1
        key_col = self.columns_inverse().get("complaint_id")
        if key_col is None:
            return cells
        for r0, r1 in record_spans(self.merges, key_col):
            start, end = r0 - first_row, min(r1 - first_row, n - 1)
            if start < 0 or end <= start:
                continue
            span_cells = cells.setdefault(start, {})
            span_bad = bad.setdefault(start, {})
            later = range(start + 1, end + 1)
            later_bad = any(offset in bad for offset in later)
            for position, name in enumerate(keys):
                column = converted[position]
                # Most columns are blank below a span's first row: nothing to join or compare.
                if not later_bad and (column[start + 1] is None if end == start + 1
                                      else all(column[offset] is None for offset in later)):
                    continue
                col = column_of[name]
                picked: list[tuple[int, Any]] = []  # (0-based row holding the value, value)
                sources: set[int] = set()
                for offset in range(start, end + 1):
                    row_bad = bad.get(offset) if offset != start else None
                    if row_bad and name in row_bad:
                        span_bad.setdefault(name, row_bad.pop(name))
                        span_cells.setdefault(name, first_row + offset + 1)
                        if not row_bad:
                            del bad[offset]
                    value = column[offset]
                    if offset != start:
                        column[offset] = None
                    if value is None:
                        continue
                    source = origin.get((first_row + offset, col), first_row + offset)
                    if source in sources:
                        continue  # the same merged cell, seen on an earlier row
                    sources.add(source)
                    picked.append((source, value))
                if not picked or name in span_bad:
                    continue
                single = position < len(names) and FIELD_BY_NAME[name].kind in _SINGLE_KINDS
                distinct: list[tuple[int, Any]] = []
                for source, value in picked:
                    if all(value != other for _, other in distinct):
                        distinct.append((source, value))
                if len(distinct) == 1:
                    column[start] = distinct[0][1]
                elif single:
                    column[start] = None
                    span_bad[name] = (CONFLICTING_VALUES, tuple((source + 1, value) for source, value in distinct))
                else:
                    column[start] = "\n".join(v if isinstance(v, str) else (_text_of(v) or "")
                                               for _, v in distinct)
                if distinct[0][0] != first_row + start:
                    span_cells[name] = distinct[0][0] + 1
                elif name in span_cells and len(distinct) == 1:
                    del span_cells[name]
            if not span_bad:
                del bad[start]
            self.last_rows[start] = first_row + end + 1
        return cells

    def _not_complaints(self, names: tuple[str, ...], converted: list[list[Any]]) -> frozenset[int]:
        """Row offsets that hold no complaint: the header row repeated (a second half-year
        pasted under the first) and total or sign-off rows (合计, 制表人：王芳) with no date or
        customer (or another sign-off there). Each is said in :attr:`not_complaints`. Only the
        投诉编号 cells are looked at first: a register without such rows pays one pass over them."""
        key = names.index("complaint_id")
        ids = converted[key]
        # The header as this sheet writes it (a pasted copy repeats it exactly) and as the
        # aliases spell it; anything else is looked at closely only if it starts like 合计.
        col = self.columns_inverse()["complaint_id"]
        own = self.block.headers[col] if col < len(self.block.headers) else ""
        headers = {t for t, f in self.aliases.items() if f == "complaint_id"}
        headers.update((FIELD_BY_NAME["complaint_id"].zh, FIELD_BY_NAME["complaint_id"].en, own, own.split(" ")[-1]))
        headers.discard("")
        firsts = _TOTAL_FIRSTS
        candidates = [i for i, v in enumerate(ids) if type(v) is str and (v in headers or v[:1] in firsts)]
        if not candidates:
            return frozenset()
        aliases = self.aliases
        blank_when_total = [converted[names.index(n)] for n in ("received_on", "customer_name") if n in names]
        skip: list[int] = []
        language = self.config.language
        first_row = self.header_index + 1
        for i in candidates:
            text = ids[i]
            row = first_row + i + 1
            if text in headers or aliases.get(normalize_header(text)) == "complaint_id":
                repeats = sum(1 for pos, name in enumerate(names) if pos != key and type(converted[pos][i]) is str
                              and aliases.get(normalize_header(converted[pos][i])) == name)
                if repeats:
                    skip.append(i)
                    self.not_complaints.append((row, translate(_MESSAGES, "repeated-header-row", language, row=row)))
            elif _TOTAL_ROW.match(text) and all(column[i] is None or (type(column[i]) is str and _TOTAL_ROW.match(
                    column[i])) for column in blank_when_total):  # "制表人：王芳 … 审核：李明"
                skip.append(i)
                self.not_complaints.append((row, translate(_MESSAGES, "total-row", language, row=row, text=text)))
        return frozenset(skip)

    def columns_inverse(self) -> dict[str, int]:
        return {name: col for col, name in self.columns.items()}

    @staticmethod
    def _column_used(col: int, headers: list[str], data: list[list[Any]]) -> bool:
        """An unknown column with a header, or with data under an empty header."""
        if col < len(headers) and headers[col]:
            return True
        return any(row[col] != "" for row in data)

    def _convert(self, field: str, raw: tuple[Any, ...]) -> tuple[list[Any], list[tuple[int, str, Any]]]:
        """A column's raw cells -> values, and the bad cells as (row offset, code, raw)."""
        f = FIELD_BY_NAME[field]
        if f.kind == DATE or f.kind == NUMBER:
            values = list(map(_BLANK, raw, raw))
            types = set(map(type, values))
            if f.kind == NUMBER:
                if types <= {NoneType, float}:
                    return values, _NO_BAD
                if types <= {NoneType, float, int}:  # .xls and .ods give whole numbers as int
                    return [float(v) if type(v) is int else v for v in values], _NO_BAD
                return values, _convert_slowly(values, float, parse_number)
            if types <= {NoneType, dt.date}:
                return values, _NO_BAD
            order = self.config.register.date_order
            date1904 = self.date1904
            return values, _convert_slowly(values, dt.date, lambda v: parse_date(v, order, date1904))
        # "" is a str too: it strips to "" and becomes None. A column of text only (the usual
        # case) takes the short comprehension; a number among it (AttributeError) the long one.
        try:
            texts = [v.strip() or None for v in raw]
        except AttributeError:
            texts = [(v.strip() or None) if type(v) is str else _text_of(v) for v in raw]
        if f.kind == LIST:
            texts = self._canonical(f, texts)
        return texts, _NO_BAD

    def _canonical(self, f: Any, texts: list[str | None]) -> list[str | None]:
        """List values in their canonical spelling (case, English equivalents when "en",
        ``[lists.synonyms]``)."""
        config_values = self.config.list_values(f.config_list) if f.config_list else ()
        canonical = (*f.choices, *config_values)
        synonyms = self.config.lists.synonyms
        if not synonyms and self.config.language != "en" and all(v.casefold() == v == v.upper() for v in canonical):
            return texts  # Chinese values have no case: nothing to fold
        others = set(texts) - set(canonical) - {None}
        if not others:
            return texts
        table = list_value_table(f.name, self.config.language, config_values, synonyms)
        # Full-width letters typed with a Chinese input method (ｃ for C) are the value too.
        folded = {t: unicodedata.normalize("NFKC", t).casefold() for t in others}  # type: ignore[arg-type]
        renames = {t: table[key] for t, key in folded.items() if key in table}
        return list(map(renames.get, texts, texts)) if renames else texts

    def _formulas(self) -> dict[int, dict[int, str | None]]:
        """Formula cells of this sheet; only a sheet whose XML has a formula is scanned. An .ods
        sheet (no part) has its error cells from :func:`ods_errors`."""
        if not self.part:
            scanned = self.scanned()
            return scanned.get(self.name, {}) if scanned else {}
        scanned = self.scanned()
        if scanned is not None and self.name in scanned:
            return scanned[self.name]
        if self.archive is None:  # the bytes were let go for the worker's scan, which has no such sheet
            log.warning("sheet %s: formula check skipped (not in the scan)", self.name)
            return {}
        try:
            if not _has_formulas(self.archive, self.part):
                return {}
            return formula_cells(self.archive.read(self.part))
        except (KeyError, *ZIP_ERRORS) as exc:
            log.warning("sheet %s: formula check skipped (%s)", self.name, exc)
            return {}

    def _records(self, names: tuple[str, ...], converted: list[list[Any]],
                 bad: dict[int, dict[str, tuple[str, Any]]], extra_keys: list[str], order: list[int],
                 formulas: dict[int, dict[int, str | None]],
                 cells: dict[int, dict[str, int]] | None = None,
                 skip: frozenset[int] = frozenset()) -> list[Record]:
        sheet = self.name
        first_row = self.header_index + 1  # 0-based index of the first data row
        n_all = len(order)
        n_mapped = len(names)
        # Checked first for a blank row: it is rarely blank in a row that holds data.
        key = names.index("complaint_id")
        # Copying a dict that has the keys already and updating it is faster than building
        # each row's dict from nothing (no resizing).
        blank_values = dict.fromkeys(names).copy
        records: list[Record] = []
        append = records.append
        for offset, values in enumerate(zip(*converted, strict=True)):
            row0 = first_row + offset
            in_row = formulas.get(row0) if formulas else None
            row_bad = bad.get(offset) if bad else None
            if skip and offset in skip:
                continue
            if row_bad is None:
                if values[key] is None and values.count(None) == n_all:
                    continue
                if in_row is not None and _only_formulas(values, order, in_row):
                    continue  # a formula filled down into an otherwise empty row
            row_values = blank_values()
            row_values.update(zip(names, values, strict=False))
            record = Record(sheet, row0 + 1, row_values, row_bad or {},
                            _extra(values, n_mapped, extra_keys) if extra_keys else {})
            if in_row is not None:
                for position in range(n_mapped):
                    text = in_row.get(order[position])
                    if text is not None and values[position] is None:
                        # "#N/A": an error value, which calamine reads as a blank cell.
                        record.bad[names[position]] = (FORMULA_ERROR if text[0] == "#" else FORMULA_NO_VALUE, text)
            if cells:
                where = cells.get(offset)
                if where:
                    record.cells = where
                last = self.last_rows.get(offset)
                if last is not None:
                    record.last_row = last
            append(record)
        return records


def _convert_slowly(values: list[Any], ok_type: type,
                    parse: Callable[[Any], Any]) -> list[tuple[int, str, Any]]:
    """Parse, in place, the cells that are not blank and not already ``ok_type``.

    Returns the cells that failed as (row offset, code, raw value); they become None.
    """
    bad: list[tuple[int, str, Any]] = []
    for offset, value in enumerate(values):
        if value is None or type(value) is ok_type:
            continue
        try:
            values[offset] = parse(value)
        except ValueParseError as exc:
            values[offset] = None
            if not (isinstance(value, str) and not value.strip()):
                bad.append((offset, exc.code, value))
    return bad


def _only_formulas(values: tuple[Any, ...], order: list[int], formula_cols: dict[int, str | None]) -> bool:
    return all(v is None or order[i] in formula_cols for i, v in enumerate(values))


def _extra(values: tuple[Any, ...], start: int, keys: list[str]) -> dict[str, Any]:
    return {key: value for key, value in zip(keys, values[start:], strict=False) if value is not None}


def _extra_keys(cols: list[int], headers: list[str]) -> list[str]:
    """Keys for unknown columns in ``Record.extra``: header text, or the column letter."""
    keys: list[str] = []
    for col in cols:
        key = headers[col] if col < len(headers) and headers[col] else column_letter(col)
        if key in keys:
            key = f"{key} ({column_letter(col)})"
        keys.append(key)
    return keys

