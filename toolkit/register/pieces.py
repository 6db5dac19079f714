"""Parse a large worksheet on several cores at once.

calamine parses a sheet on one thread, and at 100k rows that is most of the read. Here the
sheet's XML is cut at row boundaries into pieces; each piece, with the workbook's other parts,
goes into a scratch .xlsx (stored, not compressed, in the system's temporary folder, so the
pieces cost disk cache rather than the run's memory) and is parsed by its own calamine
workbook on its own thread: calamine lets go of the GIL while it parses. A piece starts to
parse as soon as it is written, while the next is cut.

The rows are put back together exactly as one parse of the whole sheet gives them. Whenever
that cannot be guaranteed the sheet is parsed whole, the usual way: XML this module does not
expect (a namespace prefix, a comment or CDATA section, a cut row without its number), rows
whose numbers do not follow on from one piece to the next, or a piece calamine cannot parse.

>>> split = start_pieces(archive, "台账", "xl/worksheets/sheet1.xml", pieces=2)
>>> rows, merges = split.result()   # None: parse the sheet whole
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Iterable
from typing import Any

import python_calamine

from ..config import usable_cores
from .formats import Merge, has_formula_or_error

log = logging.getLogger(__name__)

#: Below this much sheet XML (about 8k rows) cutting and writing the pieces costs more than
#: the second core saves. Measured at 100k rows (200 MB of XML) with bench/validate.py.
PIECE_BYTES = 16_000_000
#: More pieces than cores only add work; past four the cutting (one thread) is the bottleneck.
MAX_PIECES = 4

_OPEN, _CLOSE = b"<sheetData>", b"</sheetData>"
_ROW = b"<row "
#: A piece that is not the last ends here; the last keeps the sheet's own ending (its merged
#: cells among it).
_END = b"</sheetData></worksheet>"
_READ = 1 << 20


def pieces_for(size: int, cores: int | None = None, shared: int = 0) -> int:
    """How many pieces a sheet of ``size`` bytes of XML is cut into (1: parse it whole).

    ``shared``: the bytes of the workbook's shared strings. Every piece's workbook parses all
    of them again (and holds them), so a sheet whose texts are mostly there gains nothing:
    at 100k rows saved by LibreOffice (57 MB of shared strings, 120 MB of sheet) two pieces
    took as long as one parse and 90 MB more. Registers written as inline strings (the
    streaming writers of openpyxl and of Java's POI, which many systems export with) have none.
    """
    cores = usable_cores() if cores is None else cores
    if cores < 2 or size < PIECE_BYTES or shared * _SHARED_WEIGHT > size:
        return 1
    return max(1, min(cores, MAX_PIECES, size // (PIECE_BYTES // 2)))


#: Shared strings count this many times their size against the sheet's (measured, see pieces_for).
_SHARED_WEIGHT = 4


#: A piece parsed: where its first cell is (None: it has none), its rows, its merged cells.
_Parsed = tuple[tuple[int, int] | None, list[list[Any]], list[Merge]]


class Pieces:
    """A sheet being parsed in pieces; :meth:`result` waits for them."""

    def __init__(self, name: str, part: str, gate: threading.Semaphore | None = None) -> None:
        self.name, self.part = name, part
        #: Held by a piece while it parses: no more pieces parse at once than there are cores.
        self._gate = gate or threading.Semaphore(MAX_PIECES)
        #: Whether the sheet's XML has a formula (known once it has been cut, before parsing ends).
        self.has_formulas = False
        self._threads: list[threading.Thread] = []
        self._parsed: list[_Parsed | None] = []
        self._errors: list[BaseException] = []
        #: Set when a piece's rows are Python lists (or it failed): the next piece converts then.
        self._converted: list[threading.Event] = []
        self._scratch = ""
        self._failed = ""

    def _parse(self, index: int, path: str, first: bool) -> None:
        try:
            with python_calamine.CalamineWorkbook.from_path(path) as workbook:
                # The gate is held for the parse alone, never while waiting for another piece:
                # a later piece holding it while an earlier one waits for it would wait forever
                # (the sheets of one read share the gate, and it lets threads in in no set order).
                with self._gate:
                    sheet = workbook.get_sheet_by_name(self.name)
                # The pieces' cells become Python objects one piece after the other, in the
                # sheet's order, as one parse makes them: made at once (the GIL switching between
                # the threads) they lie interleaved in memory, and freeing the raw rows after the
                # conversion left 35 MB of it held at 100k rows.
                if index:
                    self._converted[index - 1].wait()
                # The first piece starts at A1, as a whole sheet does; the others at their first cell.
                rows = sheet.to_python(skip_empty_area=not first)
                self._parsed[index] = (sheet.start, rows, list(sheet.merged_cell_ranges or ()))
                del sheet  # calamine's copy of the cells, as soon as they are Python objects
        except BaseException as exc:  # calamine's errors and panics: the sheet is parsed whole
            self._errors.append(exc)
        finally:
            self._converted[index].set()

    def _start(self, path: str) -> None:
        index = len(self._parsed)
        self._parsed.append(None)
        self._converted.append(threading.Event())
        thread = threading.Thread(target=self._parse, args=(index, path, index == 0),
                                  name=f"sheet-piece-{index}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def result(self) -> tuple[list[list[Any]], list[Merge]] | None:
        """The sheet's rows (as ``to_python(skip_empty_area=False)`` of the whole sheet gives
        them) and its merged cells; None when it must be parsed whole."""
        try:
            for thread in self._threads:
                thread.join()
            if self._failed or self._errors:
                log.info("sheet %s parsed whole: %s", self.name, self._failed or self._errors[0])
                return None
            # The reader lets go of the rows as it converts them: nothing here may hold them.
            parsed, self._parsed = self._parsed, []
            joined = _join(parsed)
            del parsed
            if joined is None:
                log.info("sheet %s parsed whole: its pieces' rows do not follow on", self.name)
            else:
                log.debug("sheet %s parsed in %d pieces", self.name, len(self._threads))
            return joined
        finally:
            self.close()

    def close(self) -> None:
        """Remove the scratch files (the threads are waited for first: they read them)."""
        for thread in self._threads:
            thread.join()
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = ""


def start_pieces(archive: zipfile.ZipFile, name: str, part: str, pieces: int,
                 gate: threading.Semaphore | None = None, sheets: Iterable[str] = ()) -> Pieces | None:
    """Cut sheet ``name`` (its XML ``part``) into ``pieces`` and start parsing them; None when
    the sheet is better (or must be) parsed whole. ``sheets``: every worksheet part of the
    workbook (a piece holds an empty stand-in for the others). Returns once the XML is cut: the pieces parse on their threads, at
    most as many at once as ``gate`` lets (shared by the sheets of one read)."""
    if pieces < 2:
        return None
    split = Pieces(name, part, gate)
    try:
        split._scratch = tempfile.mkdtemp(prefix="complaint-toolkit-")
        _cut(archive, part, pieces, split, frozenset(sheets))
    except Exception as exc:  # a damaged part (zlib, lzma...), a full disk: the whole parse says what it is
        split._failed = split._failed or f"{type(exc).__name__}: {exc}"
    if split._failed:
        log.info("sheet %s parsed whole: %s", name, split._failed)
        split.close()
        return None
    return split


class _Piece:
    """One scratch workbook being written: the other parts, then the sheet's XML as it comes."""

    def __init__(self, path: str, others: list[tuple[zipfile.ZipInfo, bytes]], part: str, head: bytes) -> None:
        self.path = path
        self.zip = zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True)
        for info, data in others:
            self.zip.writestr(info.filename, data)
        self.sheet = self.zip.open(part, "w", force_zip64=True)
        self.sheet.write(head)

    def finish(self, ending: bytes) -> None:
        self.sheet.write(ending)
        self.close()

    def close(self) -> None:
        """Close the file (again is harmless): a piece given up is closed as well."""
        self.sheet.close()
        self.zip.close()  # writes the central directory once; a second close does nothing


def _cut(archive: zipfile.ZipFile, part: str, pieces: int, split: Pieces, sheets: frozenset[str]) -> None:
    """Stream ``part`` out of the archive into ``pieces`` scratch workbooks, starting each
    piece's parse as soon as it is written. Sets ``split._failed`` when it must not be cut."""
    size = archive.getinfo(part).file_size
    # Each piece has the workbook's other parts (shared strings, styles, the workbook), so that
    # calamine reads its cells exactly as in the whole workbook; the other sheets (one a month
    # can each be large) are there as empty sheets.
    others = [(info, _EMPTY_SHEET if info.filename in sheets else archive.read(info))
              for info in archive.infolist() if info.filename != part and not info.is_dir()]
    with archive.open(part) as stream:
        buffer = b""
        while _OPEN not in buffer:
            chunk = stream.read(_READ)
            if not chunk or len(buffer) > _READ:
                split._failed = "no <sheetData> element where one was expected"
                return
            buffer += chunk
        start = buffer.index(_OPEN) + len(_OPEN)
        head, buffer = buffer[:start], buffer[start:]
        if _odd(_declaration_off(head)):
            split._failed = "markup before the rows that this reader does not cut"
            return
        offset = start  # where ``buffer`` starts in the sheet's XML
        targets = [start + (size - start) * k // pieces for k in range(1, pieces)]

        def new_piece() -> _Piece:
            return _Piece(os.path.join(split._scratch, f"piece-{len(split._threads)}.xlsx"), others, part, head)

        piece = new_piece()
        try:
            while True:
                # Everything from </sheetData> on is the sheet's ending: kept for the last piece.
                close = buffer.find(_CLOSE)
                rows = buffer if close < 0 else buffer[:close]
                # The first rows follow <sheetData>; later ones the bytes kept from the last chunk.
                if _odd(rows, after_checked=True):
                    split._failed = "a comment, CDATA section or instruction among the rows"
                    return
                if not split.has_formulas and has_formula_or_error(rows):
                    split.has_formulas = True
                while len(split._threads) < len(targets) and offset + len(rows) > targets[len(split._threads)]:
                    cut = _row_start(rows, max(0, targets[len(split._threads)] - offset))
                    if cut is None:
                        break  # no numbered row starts here yet: look again in the next chunk
                    piece.sheet.write(rows[:cut])
                    offset, rows, buffer = offset + cut, rows[cut:], buffer[cut:]
                    close = close - cut if close >= 0 else close
                    piece.finish(_END)
                    split._start(piece.path)
                    piece = new_piece()
                if close >= 0:
                    piece.sheet.write(rows)
                    ending = buffer[close:] + stream.read()
                    # calamine reads the first sheetData only, but the formula scan reads to the
                    # last </sheetData>: a formula after the first one is looked for as it would be.
                    if not split.has_formulas and has_formula_or_error(ending):
                        split.has_formulas = True
                    break
                chunk = stream.read(_READ)
                if not chunk:
                    split._failed = "the rows do not end with </sheetData>"
                    return
                # Keep the last bytes: a tag (a cut row's start tag, </sheetData>) may straddle chunks.
                keep = min(len(buffer), _KEEP)
                piece.sheet.write(buffer[:len(buffer) - keep])
                offset += len(buffer) - keep
                buffer = buffer[len(buffer) - keep:] + chunk
            piece.finish(ending)
        finally:
            piece.close()  # given up half-way: closed all the same (it is removed with the scratch)
        if not split._threads:
            split._failed = "no numbered row to cut at"
            return
        split._start(piece.path)


#: What a piece holds for each of the workbook's other sheets.
_EMPTY_SHEET = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet '
                b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>')
#: Bytes kept from one chunk to the next: more than any row's start tag.
_KEEP = 4096


def _odd(xml: bytes, after_checked: bool = False) -> bool:
    """Markup that could hide a ``<row `` calamine does not read as a row: a comment, a CDATA
    section, a processing instruction (``<!``, ``<?``). Real sheets have none among their rows;
    a sheet that has is parsed whole. (An element of an extension is read by its name, as a
    row is: cutting before one gives what the whole parse gives.) ``after_checked``: what came
    just before ``xml`` was looked at already, with ``xml``'s first bytes (the cutter keeps the
    end of each chunk with the next): a ``!`` or ``?`` that starts it is text."""
    return _follows_lt(xml, b"!", after_checked) or _follows_lt(xml, b"?", after_checked)


def _follows_lt(xml: bytes, char: bytes, after_checked: bool = False) -> bool:
    """Whether ``<`` + ``char`` is in ``xml`` (or ``char`` starts it, where what came before is
    not known). ``!`` and ``?`` are rare in a sheet's XML: finding them is ten times quicker
    than finding ``<!`` among the millions of ``<``."""
    at = xml.find(char)
    while at >= 0:
        if (at == 0 and not after_checked) or (at > 0 and xml[at - 1] == 0x3C):  # "<"
            return True
        at = xml.find(char, at + 1)
    return False


def _declaration_off(head: bytes) -> bytes:
    """The head without its ``<?xml ...?>`` declaration (and a byte-order mark before it)."""
    at = head.find(b"<?xml", 0, 8)
    return head[head.index(b"?>", at) + 2:] if at >= 0 and b"?>" in head else head


def _row_start(buffer: bytes, start: int) -> int | None:
    """Where the first row at or after ``start`` that a piece can start with begins: its start
    tag gives its number (a row without ``r=`` is numbered after the one before it, which a
    piece would not know), and it follows straight on from the end of a row. calamine counts the
    columns of cells without ``r=`` from the last ``</row>``, so a cell between two rows (invalid,
    but read) moves the next row's cells to the right in the whole parse and not in a piece."""
    at = start
    while True:
        at = buffer.find(_ROW, at)
        if at < 0:
            return None
        tag_end = buffer.find(b">", at)
        if tag_end < 0:
            return None  # the start tag goes on in the next chunk
        tag = buffer[at:tag_end]
        # In a single-quoted value ' r="' is text, not the row's number: such tags are not cut at.
        if b' r="' in tag and b"'" not in tag and _after_a_row(buffer, at):
            return at
        at = tag_end


def _after_a_row(buffer: bytes, at: int) -> bool:
    """Whether the markup just before ``at`` (whitespace aside) ends a row: ``</row>``, or a row
    with no cells, ``<row .../>``. Not known (nothing before it here): no."""
    before = buffer.rfind(b"<", 0, at)
    if before < 0:
        return False
    last = buffer[before:at].rstrip()
    return last == b"</row>" or (last.startswith(_ROW) and last.endswith(b"/>"))


def _join(parsed: list[_Parsed | None]) -> tuple[list[list[Any]], list[Merge]] | None:
    """The pieces' rows as one sheet's, or None when they do not follow on from each other."""
    done = [p for p in parsed if p is not None]
    if not done or len(done) < len(parsed):
        return None
    rows = done[0][1]
    merges = done[-1][2]  # the last piece has the sheet's own ending
    widths = [len(rows[0]) if rows else 0]
    spans = [(0, len(rows))]  # each piece's rows in ``rows``: (first index, end)
    lefts = [0]
    for start, piece_rows, _ in done[1:]:
        if not piece_rows or start is None:
            continue  # a piece with no cell (only empty rows)
        row0, col0 = start
        if row0 < len(rows):
            return None  # rows out of order, or numbered again: only a whole parse is sure
        width = len(piece_rows[0])
        if any(len(r) != width for r in piece_rows):
            return None
        if row0 > len(rows):
            rows.extend([] for _ in range(row0 - len(rows)))  # empty rows between the pieces
        spans.append((len(rows), len(rows) + len(piece_rows)))
        widths.append(col0 + width)
        lefts.append(col0)
        rows.extend(piece_rows)
    if not rows:
        return rows, merges
    full = max(widths)
    for (begin, end), width, left in zip(spans, widths, lefts, strict=True):
        if left or width < full:
            pad_left, pad_right = [""] * left, [""] * (full - width)
            for i in range(begin, end):
                rows[i] = pad_left + rows[i] + pad_right
    for i, row in enumerate(rows):
        if not row and full:  # a row between two pieces
            rows[i] = [""] * full
    return rows, merges
