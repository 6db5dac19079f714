"""Where a sheet's header and records are: header blocks of one to three rows, merged cells.

Staff's registers are laid out in more ways than one header row over one row per complaint:

- **Header blocks.** WPS and Tencent Docs exports put group cells over their columns
  (客户信息 over 客户名称 / 联系电话) with the column names in the row below, and single
  headers merged down the block. A column's header is its lowest text in the block; when that
  alone is no known header, the group and the sub-header joined are tried (纠正预防措施 +
  负责人). Rows of the block are never data. Title and "填表单位：… 日期：…" rows above it
  are left alone.
- **Records that span rows.** When the 投诉编号 cell is merged down several rows, those rows
  are one complaint (:func:`record_spans`).
- **"Same as above".** A value merged down over several complaints belongs to each of them
  (:func:`fill_merged`).

>>> from toolkit.fields import header_aliases
>>> block = find_header([["投诉编号", "受理日期", "客户名称"], ["K1", "2026-01-01", "王"]], [], header_aliases())
>>> block.bottom, block.columns
(0, {0: 'complaint_id', 1: 'received_on', 2: 'customer_name'})

Everything here is skipped on a flat register: a sheet without merges in its data pays nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..fields import FIELD_BY_NAME, normalize_header
from .formats import Merge

#: The header row is looked for within this many rows from the top of a sheet.
HEADER_SEARCH_ROWS = 20
#: A header row must map at least this many known fields, complaint_id among them.
MIN_HEADER_FIELDS = 3
#: A header block has at most this many rows.
MAX_BLOCK_ROWS = 3
#: "填表单位：…", "日期: …": a meta cell above the header, never a group header.
_META = re.compile(r"[:：]")


@dataclass
class HeaderBlock:
    """A sheet's header: its rows (0-based, inclusive) and what each column holds."""

    top: int
    bottom: int
    #: 0-based column -> canonical field
    columns: dict[int, str]
    #: 0-based column -> header text as the sheet shows it ("纠正预防措施 负责人" for a joined one)
    headers: list[str]
    #: field -> the later columns (0-based) whose header names it too; only the first is read
    repeated: dict[str, list[int]] = field(default_factory=dict)


@dataclass
class Candidate:
    """The row that came closest to being a header row, for the "no header" message."""

    sheet: str
    row: int  # 0-based
    fields: list[str]
    #: header texts of the row that name no field, in column order
    unknown: list[str] = field(default_factory=list)


def _text(cell: Any) -> str:
    if cell is None or cell == "":
        return ""
    if isinstance(cell, str):
        return cell.strip()
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


class _Grid:
    """The top rows of a sheet as header texts, with merged cells filled from their first cell."""

    def __init__(self, rows: list[list[Any]], merges: Iterable[Merge], depth: int) -> None:
        self.depth = min(depth, len(rows))
        self.width = max((len(row) for row in rows[:self.depth]), default=0)
        self.own = [[_text(cell) for cell in row] + [""] * (self.width - len(row))
                    for row in rows[:self.depth]]
        self.filled = [list(row) for row in self.own]
        #: (row, col) of a merge's first cell -> its last (row, col)
        self.origins: dict[tuple[int, int], tuple[int, int]] = {}
        for (r0, c0), (r1, c1) in merges:
            if r0 >= self.depth:
                continue
            self.origins[(r0, c0)] = (r1, c1)
            text = self.own[r0][c0] if c0 < self.width else ""
            for r in range(r0, min(r1, self.depth - 1) + 1):
                for c in range(c0, min(c1, self.width - 1) + 1):
                    if not self.own[r][c]:
                        self.filled[r][c] = text

    def stack(self, top: int, bottom: int, col: int) -> list[str]:
        """The column's texts down the block, a merged cell counted once."""
        texts: list[str] = []
        for r in range(top, bottom + 1):
            text = self.filled[r][col]
            if text and (not texts or texts[-1] != text):
                texts.append(text)
        return texts


def _match(texts: list[str], aliases: dict[str, str]) -> tuple[str | None, str]:
    """The field a column's stacked header texts name, and the header to show for it.

    The group and the sub-header joined are tried first: under 纠正预防措施, 负责人邮箱 is the
    corrective action owner's address (纠正预防措施负责人邮箱), not the handler's, which is what
    负责人邮箱 alone names. A join no alias knows (客户信息 + 客户名称) falls back to the lowest text.
    """
    if not texts:
        return None, ""
    for start in range(len(texts) - 1):
        joined = texts[start:]
        name = aliases.get("".join(normalize_header(t) for t in joined))
        if name:
            return name, " ".join(joined)
    lowest = texts[-1]
    name = aliases.get(normalize_header(lowest))
    if name:
        return name, lowest
    return None, " ".join(texts[-2:])


def _map_row(grid: _Grid, top: int, bottom: int,
             aliases: dict[str, str]) -> tuple[dict[int, str], list[str], dict[str, list[int]]]:
    """The block's columns -> fields, the header texts, and the later columns naming a field
    an earlier one already has (the first is read: the others are said, never dropped unsaid)."""
    columns: dict[int, str] = {}
    headers: list[str] = []
    repeated: dict[str, list[int]] = {}
    seen: set[str] = set()
    for col in range(grid.width):
        name, header = _match(grid.stack(top, bottom, col), aliases)
        headers.append(header)
        if name and name not in seen:
            seen.add(name)
            columns[col] = name
        elif name:
            repeated.setdefault(name, []).append(col)
    while headers and not headers[-1]:
        headers.pop()
    return columns, headers, repeated


def _is_group_row(grid: _Grid, row: int, block_top: int, header_cols: set[int], width: int) -> bool:
    """Whether ``row`` (just above the block) belongs to it: each of its texts is a header
    merged down into the block, or a group cell merged across some (not all) header columns."""
    any_text = False
    for col, text in enumerate(grid.own[row]):
        if not text:
            continue
        any_text = True
        end = grid.origins.get((row, col))
        if end is None:
            return False
        last_row, last_col = end
        if last_row >= block_top:
            continue  # a single header merged down the block
        covered = set(range(col, last_col + 1)) & header_cols
        if last_col == col or not covered or len(covered) >= width or _META.search(text):
            return False
    return any_text


def find_header(rows: list[list[Any]], merges: list[Merge], aliases: dict[str, str]) -> HeaderBlock | None:
    """The sheet's header block, or None when no row maps complaint_id and enough fields.

    Among the first :data:`HEADER_SEARCH_ROWS` rows, the row mapping the most known fields wins
    (the first on a tie); its block then grows down over header cells merged into the rows
    below it and up over group rows, to at most :data:`MAX_BLOCK_ROWS` rows.
    """
    grid = _Grid(rows, merges, HEADER_SEARCH_ROWS + MAX_BLOCK_ROWS - 1)
    best: tuple[int, dict[int, str]] | None = None
    for index in range(min(len(rows), HEADER_SEARCH_ROWS)):
        top = max(0, index - MAX_BLOCK_ROWS + 1)
        columns = _candidate_columns(grid, top, index, aliases)
        if "complaint_id" in columns.values() and len(columns) >= MIN_HEADER_FIELDS:
            if best is None or len(columns) > len(best[1]):
                best = (index, columns)
    if best is None:
        return None
    index, found = best
    bottom = index
    for (r0, c0), (r1, _) in grid.origins.items():
        # A header cell of this row merged down: the rows it covers are header too.
        if r0 == index and r1 > bottom and grid.own[r0][c0]:
            bottom = min(r1, index + MAX_BLOCK_ROWS - 1)
    key_col = next(col for col, name in found.items() if name == "complaint_id")
    for row in range(index + 1, bottom + 1):
        if row >= grid.depth or grid.own[row][key_col]:
            # A complaint number of its own: that row is data, whatever is merged beside it.
            bottom = row - 1
            break
    top = index
    header_cols = {c for c in range(grid.width) if grid.filled[index][c]}
    width = len(header_cols)
    while top > 0 and bottom - top + 1 < MAX_BLOCK_ROWS and _is_group_row(grid, top - 1, top, header_cols, width):
        top -= 1
    columns, headers, repeated = _map_row(grid, top, bottom, aliases)
    if "complaint_id" not in columns.values():  # the grown block must still hold the key
        columns, headers, repeated = _map_row(grid, index, index, aliases)
        top = bottom = index
    return HeaderBlock(top=top, bottom=bottom, columns=columns, headers=headers, repeated=repeated)


def _candidate_columns(grid: _Grid, top: int, index: int, aliases: dict[str, str]) -> dict[int, str]:
    """What row ``index`` maps, its texts joined with the group texts above it."""
    columns: dict[int, str] = {}
    seen: set[str] = set()
    for col in range(grid.width):
        own = grid.filled[index][col]
        if not own:
            continue
        name, _ = _match(grid.stack(top, index, col), aliases)  # its last text is ``own``
        if name and name not in seen:
            seen.add(name)
            columns[col] = name
    return columns


def best_candidate(sheet: str, rows: list[list[Any]], merges: list[Merge],
                   aliases: dict[str, str]) -> Candidate | None:
    """The row of a sheet that maps the most known fields (None when no row maps one)."""
    grid = _Grid(rows, merges, HEADER_SEARCH_ROWS + MAX_BLOCK_ROWS - 1)
    best: Candidate | None = None
    for index in range(min(len(rows), HEADER_SEARCH_ROWS)):
        top = max(0, index - MAX_BLOCK_ROWS + 1)
        columns = _candidate_columns(grid, top, index, aliases)
        if columns and (best is None or len(columns) > len(best.fields)):
            unknown = [grid.filled[index][c] for c in range(grid.width)
                       if grid.filled[index][c] and c not in columns]
            best = Candidate(sheet, index, list(columns.values()), list(dict.fromkeys(unknown)))
    if best is None:
        # No known header anywhere: the row with the most texts (own, not merged over) is
        # what a reader would take for the header.
        counts = [(sum(1 for text in row if text and not _META.search(text)), -i) for i, row in enumerate(grid.own)]
        if counts and max(counts)[0] >= MIN_HEADER_FIELDS:
            index = -max(counts)[1]
            best = Candidate(sheet, index, [], list(dict.fromkeys(t for t in grid.own[index] if t)))
    return best


def suggest_alias(candidate: Candidate) -> str:
    """The header of a candidate row most likely to be its complaint number (编号, 单号, No.)."""
    for text in candidate.unknown:
        if re.search(r"编号|单号|工单|No\.?|number|id\b", text, re.IGNORECASE):
            return text
    return candidate.unknown[0] if candidate.unknown else ""


# -- records ---------------------------------------------------------------------------------


def data_merges(merges: list[Merge], first_data_row: int) -> list[Merge]:
    """The merges that reach into the data rows (header and title merges left out)."""
    return [m for m in merges if m[1][0] >= first_data_row and m[0][0] >= first_data_row]


def record_spans(merges: list[Merge], key_col: int) -> list[tuple[int, int]]:
    """Rows (0-based, inclusive) merged together in the complaint-number column: one record each."""
    return sorted((r0, r1) for (r0, c0), (r1, c1) in merges if c0 <= key_col <= c1 and r1 > r0)


def fill_merged(rows: list[list[Any]], merges: list[Merge]) -> dict[tuple[int, int], int]:
    """Give each cell a merge covers the value of the merge's first cell, down its first column.

    Changes ``rows`` in place; returns (row, col) -> the row the value came from, for each
    filled cell, so findings can name the cell that really holds the value. Only the first
    column is filled: a value merged across columns belongs to the first of them.
    """
    origin: dict[tuple[int, int], int] = {}
    for (r0, c0), (r1, _c1) in merges:
        if r0 >= len(rows) or c0 >= len(rows[r0]):
            continue
        value = rows[r0][c0]
        if value == "" or value is None:
            continue
        for r in range(r0 + 1, min(r1, len(rows) - 1) + 1):
            row = rows[r]
            if c0 < len(row) and (row[c0] == "" or row[c0] is None):
                row[c0] = value
                origin[(r, c0)] = r0
    return origin


def field_header(name: str, language: str) -> str:
    return FIELD_BY_NAME[name].header(language)
