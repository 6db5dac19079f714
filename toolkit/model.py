"""Plain data passed between pipeline stages: records read from the register and findings.

Stages exchange these small objects and nothing else, so each stage can be tested with
hand-built values and no file at all.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any

ERROR, WARNING, NOTE = "error", "warning", "note"

#: A parsed cell value: text, a date, a date with time, or a number. ``None`` means blank.
Value = str | dt.date | dt.datetime | float | int | None


@dataclass(slots=True)
class Record:
    """One complaint row of the register, as read.

    ``values`` maps canonical field names (see :mod:`toolkit.fields`) to parsed values; a field
    whose column is missing is absent, a blank cell is ``None``. List values are canonical
    (Chinese). A cell that could not be parsed is ``None`` in ``values`` and kept in ``bad`` as
    ``field -> (code, raw value)`` for the validator to report (``bad-date``, ``bad-number``,
    ``ambiguous-date``, ``formula-no-value``).
    """

    sheet: str
    row: int  # Excel row number, 1-based
    values: dict[str, Value]
    bad: dict[str, tuple[str, Any]] = field(default_factory=dict)
    #: Columns the toolkit does not know, header text -> value; kept for reports.
    extra: dict[str, Any] = field(default_factory=dict)
    #: field -> the Excel row that holds its value, where that is not ``row``: a value merged
    #: down over several complaints ("same as above"), or a later row of a record spanning rows.
    cells: dict[str, int] = field(default_factory=dict)
    #: The last Excel row of a record spanning rows (its 投诉编号 cell merged down); 0: one row.
    last_row: int = 0

    @property
    def complaint_id(self) -> str:
        value = self.values.get("complaint_id")
        return "" if value is None else str(value)

    def get(self, name: str) -> Value:
        return self.values.get(name)


@dataclass(slots=True)
class SheetInfo:
    """Where the data sits in one sheet."""

    name: str
    header_row: int  # Excel row number of the header row
    #: canonical field -> 0-based column index
    columns: dict[str, int]
    #: every header cell's text by 0-based column index (unknown columns included)
    headers: list[str]
    rows: int = 0  # records read (blank rows not counted)
    #: Excel row where the header block starts (a group row above the header row, or header_row).
    header_top: int = 0
    #: records spanning several rows (their 投诉编号 cell merged down)
    spanning: int = 0
    #: field -> later columns (0-based) whose header names it too: not read (validate says so)
    repeated: dict[str, list[int]] = field(default_factory=dict)

    def column_letter(self, field_name: str) -> str:
        index = self.columns.get(field_name)
        return "" if index is None else column_letter(index)


@dataclass(slots=True)
class Register:
    """The whole register as read: where it came from and its records in sheet/row order."""

    path: str
    sha256: str
    size: int
    sheets: list[SheetInfo]
    records: list[Record]
    #: Non-fatal remarks about the file itself (e.g. "open in Excel": lock file present).
    notes: list[str] = field(default_factory=list)
    #: (sheet, None, message): sheets that look like part of the register but could not be read
    #: (no usable header); (sheet, row, message): rows read as no complaint (the header repeated,
    #: a total row). validate reports each, so no complaint is ever left out unsaid.
    unread: list[tuple[str, int | None, str]] = field(default_factory=list)

    def sheet(self, name: str) -> SheetInfo:
        for info in self.sheets:
            if info.name == name:
                return info
        raise KeyError(name)

    def has_column(self, field_name: str) -> bool:
        """True when at least one data sheet has this field's column."""
        return any(field_name in s.columns for s in self.sheets)

    def cell(self, record: Record, field_name: str) -> str:
        """``台账!B14`` for a record's field, or ``台账!14`` when the column is missing."""
        letter = self.sheet(record.sheet).column_letter(field_name)
        return f"{record.sheet}!{letter}{record.cells.get(field_name, record.row) if record.cells else record.row}"


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem in the data: one cell (or one column, or the file) and what to do about it."""

    code: str  # stable, e.g. "duplicate-id"
    severity: str  # "error" | "warning" | "note"
    sheet: str
    row: int | None
    column: str  # column letter, "" when not a cell
    cell: str  # "台账!B14", "" when not a cell
    field: str
    complaint_id: str
    value: Any
    message: str

    def to_dict(self) -> dict[str, Any]:
        # Not dataclasses.asdict: it deep-copies every field, a third of `validate --format json`'s
        # own time on a register with thousands of findings.
        data = {name: getattr(self, name) for name in _FINDING_FIELDS}
        value = data["value"]
        if isinstance(value, (dt.date, dt.datetime)):
            data["value"] = value.isoformat()
        elif value is not None and not isinstance(value, (str, int, float, bool)):
            data["value"] = str(value)
        return data


_FINDING_FIELDS = tuple(f.name for f in fields(Finding))


def column_letter(index: int) -> str:
    """0-based column index -> Excel letters (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a stage builds many acyclic plain-data objects.

    Building ~100k records (or the reminder items of as many rows) makes millions of objects and
    no cycles; the collector would scan them again and again for nothing (a third of the time of
    building records). Resumed however the stretch ends."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
