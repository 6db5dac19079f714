"""What calamine does not tell of an .xls workbook, read from its own records (BIFF8, BIFF5).

calamine reads a formula without a saved result (web systems exporting with xlwt write no
result) and an error value (#DIV/0!, #N/A) as blank cells, ignores the 1904 date system for
bare serial numbers, calls a password-protected .xls "undetected format", and trusts the
file's row and column numbers: a damaged file naming column 46,082 made it ask for 61 GB and
abort the whole process. So before calamine sees an .xls its records are walked here, once:

- the cells of formulas and error values, as the .xlsx scan gives them (:data:`FormulaCells`);
- the DATE1904 flag and the FILEPASS record (encrypted);
- every cell's row and column within the format's bounds, every record within the stream, and
  the area calamine will allocate for a sheet within ``[limits] unpacked_mb``; otherwise
  :class:`BiffError` (the reader says the file is damaged or too big).

The compound-file container is read with olefile; the records are walked with ``struct``.

>>> facts = read_facts(Path("tests/data/xls-xlwt-formulas.xls").read_bytes())
>>> facts.cells["台账"][3][13]   # 0-based row 3, column N: =50*2 saved without its result
'=…'
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field

import olefile

from .formats import FormulaCells

_BOF, _EOF, _BOUNDSHEET, _DATE1904, _FILEPASS, _CODEPAGE = 0x0809, 0x000A, 0x0085, 0x0022, 0x002F, 0x0042
_FORMULA, _STRING, _BOOLERR = 0x0006, 0x0207, 0x0205
_SHRFMLA, _ARRAY, _TABLE = 0x04BC, 0x0221, 0x0236
_MULRK, _MULBLANK, _DIMENSIONS = 0x00BD, 0x00BE, 0x0200
#: Records of one cell, its row and column first (rw u16, col u16).
_CELLS = frozenset({_FORMULA, _BOOLERR, 0x00FD, 0x0203, 0x027E, 0x0201, 0x0204, 0x00D6})
#: Excel's error codes (MS-XLS 2.5.97.2 BErr).
_ERRORS = {0x00: "#NULL!", 0x07: "#DIV/0!", 0x0F: "#VALUE!", 0x17: "#REF!", 0x1D: "#NAME?",
           0x24: "#NUM!", 0x2A: "#N/A", 0x2B: "#GETTING_DATA"}
#: The last column BIFF8 has (IV, 0-based); BIFF5 the same. And its number of rows.
_LAST_COLUMN = 255
_ROWS = 65536
#: What calamine holds per cell of a sheet's rectangle (its Data enum), to judge the allocation.
CELL_BYTES = 32
#: A formula's text is not stored, only its tokens: the message shows this instead.
NO_TEXT = "=…"
#: Marks, during the walk, a formula whose saved result is an empty text.
_EMPTY = "\x00empty"
_CODECS = {936: "gbk", 950: "big5", 1252: "cp1252", 1200: "utf-16-le", 65001: "utf-8", 10000: "mac-roman"}


class BiffError(ValueError):
    """The workbook's records contradict each other or the format: the file is damaged."""


@dataclass
class BiffFacts:
    encrypted: bool = False
    date1904: bool = False
    #: Sheet name -> its formula and error cells (only sheets that have any).
    cells: dict[str, FormulaCells] = field(default_factory=dict)
    #: Sheet name -> the bytes calamine would allocate for its rectangle of cells.
    area: dict[str, int] = field(default_factory=dict)


def read_facts(data: bytes) -> BiffFacts | None:
    """The facts of an .xls given as bytes; None when it holds no Excel workbook stream (calamine
    then says what it makes of it). Raises :class:`BiffError` for a damaged workbook."""
    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            for name in ("Workbook", "Book"):
                if ole.exists(name):
                    stream = ole.openstream(name).read()
                    declared = ole.get_size(name)
                    break
            else:
                return None
    except (OSError, ValueError, IndexError, struct.error) as exc:  # olefile's own errors are OSError
        raise BiffError(f"compound file: {exc}") from exc
    if len(stream) < declared:
        raise BiffError(f"workbook stream cut short ({len(stream)} of {declared} bytes)")
    return walk(stream)


def walk(stream: bytes) -> BiffFacts:
    """The facts of a workbook stream (the globals, then each worksheet from where BOUNDSHEET
    says it starts)."""
    facts = BiffFacts()
    unpack = struct.unpack_from
    end = len(stream)
    if end < 8 or unpack("<H", stream, 0)[0] != _BOF:
        raise BiffError("no BOF record at the start of the workbook stream")
    biff8 = unpack("<H", stream, 2)[0] >= 2 and unpack("<H", stream, 4)[0] == 0x0600  # BOF's vers
    sheets: list[tuple[str, int]] = []
    raw_names: list[tuple[bytes, int, bool]] = []
    codepage = 1252
    pos = 0
    while True:
        if pos + 4 > end:
            raise BiffError("the workbook's globals have no EOF record")
        rid, size = unpack("<HH", stream, pos)
        body = pos + 4
        if body + size > end:
            raise BiffError(f"record 0x{rid:04X} at {pos} runs past the end of the stream")
        if rid == _EOF:
            break
        if rid == _FILEPASS:
            facts.encrypted = True
            return facts  # everything after it is encrypted
        if rid == _DATE1904 and size >= 2:
            facts.date1904 = unpack("<H", stream, body)[0] == 1
        elif rid == _CODEPAGE and size >= 2:
            codepage = unpack("<H", stream, body)[0]
        elif rid == _BOUNDSHEET and size >= 7:
            offset, kind = unpack("<IxB", stream, body)
            if kind == 0:  # a worksheet (not a chart, macro or VB module)
                count = stream[body + 6]
                if biff8:
                    wide = bool(stream[body + 7] & 1) if size >= 8 else False
                    raw_names.append((stream[body + 8:body + 8 + count * (2 if wide else 1)], offset, wide))
                else:
                    raw_names.append((stream[body + 7:body + 7 + count], offset, False))
        pos = body + size
    codec = _CODECS.get(codepage, "cp1252")
    for raw, offset, wide in raw_names:
        name = raw.decode("utf-16-le" if wide else ("latin-1" if biff8 else codec), "replace")
        sheets.append((name, offset))
    padded = stream + bytes(8)
    calculated = [False]
    for name, offset in sheets:
        cells, area = _sheet(padded, offset, name, calculated)
        if cells:
            facts.cells[name] = cells
        facts.area[name] = area
    # An empty text is a formula's true result in a workbook whose other formulas have results;
    # where no formula has one, the program that wrote the file calculated none (xlwt).
    saved = None if calculated[0] else NO_TEXT
    for cells in facts.cells.values():
        for in_row in cells.values():
            for col, text in in_row.items():
                if text is _EMPTY:
                    in_row[col] = saved
    return facts


def _sheet(stream: bytes, pos: int, name: str, calculated: list[bool]) -> tuple[FormulaCells, int]:
    """One worksheet's formula and error cells, and the bytes of its cells' rectangle (from A1:
    calamine's may start lower, so this can only overstate it). ``stream`` ends in 8 zero bytes
    (a record header then always has 8 bytes to read). ``calculated[0]`` becomes True at a
    formula whose result was saved as something other than an empty text."""
    head = _HEAD
    end = len(stream) - 8
    if pos + 4 > end or head(stream, pos)[0] != _BOF:
        raise BiffError(f"sheet {name}: no BOF record where the workbook says it starts ({pos})")
    pos += 4 + head(stream, pos)[1]  # past the sheet's own BOF
    cells: FormulaCells = {}
    high_row = high_col = -1
    depth = dimensions = 0
    cell_ids = _CELLS
    # One pass, a record at a time: at 60k rows (2M records) this costs about as much as
    # calamine's own parse, so the loop does no more per plain cell than two comparisons.
    while pos < end:
        rid, size, row, col = head(stream, pos)
        body = pos + 4
        pos = body + size
        if rid in cell_ids:
            if row > high_row:
                high_row = row
            if col > high_col:
                high_col = col
            if rid == _FORMULA:
                _formula(stream, body, size, pos, end, row, col, cells, calculated, name)
            elif rid == _BOOLERR and size >= 8 and stream[body + 7] == 1:
                cells.setdefault(row, {})[col] = _ERRORS.get(stream[body + 6], "#VALUE!")
        elif rid == _MULRK or rid == _MULBLANK:
            last = struct.unpack_from("<H", stream, pos - 2)[0]
            if size < 6 or last < col:
                raise BiffError(f"sheet {name}: columns {col + 1}-{last + 1} in one record")
            if row > high_row:
                high_row = row
            if last > high_col:
                high_col = last
        elif rid == _DIMENSIONS and depth == 0:
            # calamine sizes the sheet by this record too (a damaged one asked for 2 TB).
            if size >= 14:
                first_row, end_row, first_col, end_col = struct.unpack_from("<IIHH", stream, body)
            elif size >= 8:
                first_row, end_row, first_col, end_col = struct.unpack_from("<HHHH", stream, body)
            else:
                raise BiffError(f"sheet {name}: a DIMENSIONS record of {size} bytes")
            if end_row > _ROWS or end_col > _LAST_COLUMN + 1 or first_row > end_row or first_col > end_col:
                raise BiffError(f"sheet {name}: its used range (rows {first_row + 1}-{end_row}, columns "
                                f"{first_col + 1}-{end_col}) is past the format's {_ROWS} rows and "
                                f"{_LAST_COLUMN + 1} columns")
            dimensions = (end_row - first_row) * (end_col - first_col) * CELL_BYTES
        elif rid == _EOF:
            if depth == 0:
                break
            depth -= 1
        elif rid == _BOF:
            depth += 1  # a chart inside the sheet has its own BOF ... EOF
    else:
        raise BiffError(f"sheet {name}: no EOF record before the end of the stream")
    if pos > end:
        raise BiffError(f"sheet {name}: its last record runs past the end of the stream")
    if high_col > _LAST_COLUMN:
        raise BiffError(f"sheet {name}: a cell in column {high_col + 1}, past the format's {_LAST_COLUMN + 1}")
    area = 0 if high_row < 0 else (high_row + 1) * (high_col + 1) * CELL_BYTES
    return cells, max(area, dimensions)


_HEAD = struct.Struct("<HHHH").unpack_from


def _formula(stream: bytes, body: int, size: int, after: int, end: int, row: int, col: int,
             cells: FormulaCells, calculated: list[bool], name: str) -> None:
    """A FORMULA record's cached result: saved (None), an error, or none at all (NO_TEXT)."""
    if size < 14 or after > end:
        raise BiffError(f"sheet {name}: a formula record of {size} bytes")
    if stream[body + 12] != 0xFF or stream[body + 13] != 0xFF:
        calculated[0] = True  # a number
        cells.setdefault(row, {})[col] = None
        return
    kind = stream[body + 6]
    if kind == 2:
        calculated[0] = True
        cells.setdefault(row, {})[col] = _ERRORS.get(stream[body + 8], "#VALUE!")
        return
    if kind == 0:  # a text result: its STRING record follows (past a shared or array formula's)
        pos = after
        while pos + 4 <= end:
            rid, size = struct.unpack_from("<HH", stream, pos)
            if rid == _STRING:
                calculated[0] = True
                cells.setdefault(row, {})[col] = None
                return
            if rid not in (_SHRFMLA, _ARRAY, _TABLE):
                break
            pos += 4 + size
        cells.setdefault(row, {})[col] = NO_TEXT
        return
    if kind == 1:
        calculated[0] = True
    # kind 3, an empty text: what Excel saves for =IF(A2="","",…), and all xlwt ever saves.
    cells.setdefault(row, {})[col] = _EMPTY
