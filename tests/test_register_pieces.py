"""A large sheet parsed in pieces on several cores (toolkit/register/pieces.py) reads exactly as
the sheet parsed whole; XML the cutter does not expect is parsed whole. Real files (several saved
by LibreOffice) are read both ways; the odd layouts are written here, as a writer could."""

from __future__ import annotations

import datetime as dt
import logging
import os
import zipfile
from pathlib import Path

import pytest
import python_calamine
from conftest import DATA, EXAMPLE_REGISTER, REALFILES

from toolkit.config import config_from_dict
from toolkit.register import pieces as pieces_module
from toolkit.register import read_register
from toolkit.register.formats import sheet_parts
from toolkit.register.pieces import pieces_for, start_pieces
from toolkit.validate import validate

FIXTURES = sorted([*DATA.glob("*.xlsx"), EXAMPLE_REGISTER, *REALFILES.glob("*.xlsx")])


def whole(path: Path, name: str) -> tuple[list[list[object]], list[object]]:
    """The sheet as one parse gives it: what the pieces must give."""
    with python_calamine.CalamineWorkbook.from_path(str(path)) as workbook:
        sheet = workbook.get_sheet_by_name(name)
        return sheet.to_python(skip_empty_area=False), list(sheet.merged_cell_ranges or ())


def in_pieces(path: Path, name: str, count: int) -> tuple[list[list[object]], list[object]] | None:
    """The sheet cut into ``count`` pieces and parsed by them; None: it would be parsed whole."""
    with zipfile.ZipFile(path) as archive:
        split = start_pieces(archive, name, _part(archive, name), count, sheets=sheet_parts(archive).values())
        return split.result() if split is not None else None


def _part(archive: zipfile.ZipFile, name: str) -> str:
    return sheet_parts(archive)[name]


def snapshot(register) -> str:
    return repr((register.sheets, [(r.sheet, r.row, r.values, r.bad, r.extra, r.cells, r.last_row)
                                   for r in register.records]))


@pytest.fixture
def cut_small(monkeypatch):
    """Every sheet is cut, however small, into as many pieces as asked (on any machine)."""
    monkeypatch.setattr(pieces_module, "PIECE_BYTES", 2)
    monkeypatch.setattr(pieces_module, "_SHARED_WEIGHT", 0)  # the shared strings too would say "whole"
    monkeypatch.setattr(pieces_module, "usable_cores", lambda: 3)


# -- real files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_every_register_fixture_reads_the_same_in_pieces_as_whole(path, monkeypatch, cut_small, caplog):
    if not path.exists():
        pytest.skip(f"{path} is not here")
    config = config_from_dict({"register": {"path": str(path)}})
    with monkeypatch.context() as whole_read:
        whole_read.setattr(pieces_module, "PIECE_BYTES", 10**15)
        try:
            expected = snapshot(read_register(config, path))
        except Exception as exc:  # a file refused whole must be refused in pieces, with the same words
            with pytest.raises(type(exc)) as raised:
                read_register(config, path)
            assert str(raised.value) == str(exc)
            return
    with caplog.at_level(logging.DEBUG, logger="toolkit.register.pieces"):
        got = snapshot(read_register(config, path))
    assert got == expected
    if zipfile.is_zipfile(path):  # an .xls saved under .xlsx is read whole, by calamine's .xls reader
        assert any(" parsed in " in r.getMessage() for r in caplog.records), "nothing was cut"


@pytest.mark.parametrize(("name", "sheet"), [
    ("reg-libreoffice-monthly-sheets.xlsx", "2026年10月"),
    ("reg-libreoffice-monthly-sheets.xlsx", "2026年11月"),
    ("lay-two-row-header.xlsx", "台账"),
    ("reg-formula-no-value.xlsx", "台账"),
    ("rep-statistics-register.xlsx", "台账"),
])
@pytest.mark.parametrize("count", [2, 3, 4])
def test_libreoffice_and_openpyxl_sheets_cut_into_pieces_give_the_rows_and_merges_of_one_parse(name, sheet, count):
    path = DATA / name
    got = in_pieces(path, sheet, count)
    assert got is not None, "the sheet was not cut: this test would prove nothing"
    assert got == whole(path, sheet)


def test_the_example_register_read_in_pieces_is_validated_alike(monkeypatch, cut_small, caplog):
    config = config_from_dict({"register": {"path": str(EXAMPLE_REGISTER)}})
    with caplog.at_level(logging.DEBUG, logger="toolkit.register.pieces"):
        register = read_register(config)
    assert any("parsed in 3 pieces" in r.getMessage() for r in caplog.records)
    monkeypatch.setattr(pieces_module, "PIECE_BYTES", 10**15)
    alone = read_register(config)
    today = dt.date(2026, 11, 23)
    assert [f.to_dict() for f in validate(register, config, today).findings] == \
           [f.to_dict() for f in validate(alone, config, today).findings]


def test_a_sheet_with_formulas_is_still_scanned_for_them_and_one_without_is_not(cut_small, tmp_path):
    with zipfile.ZipFile(DATA / "reg-formula-no-value.xlsx") as archive:
        split = start_pieces(archive, "台账", _part(archive, "台账"), 2, sheets=[])
        assert split is not None and split.has_formulas
        split.close()
    with zipfile.ZipFile(DATA / "lay-flat.xlsx") as archive:
        split = start_pieces(archive, "台账", _part(archive, "台账"), 2, sheets=[])
        assert split is not None and not split.has_formulas
        split.close()
    # The formula cells without a value are still found when the sheet is read in pieces.
    path = DATA / "reg-formula-no-value.xlsx"
    register = read_register(config_from_dict({"register": {"path": str(path)}}), path)
    assert any(code == "formula-no-value" for r in register.records for code, _ in r.bad.values())


# -- layouts the cutter must not trust ------------------------------------------------------------

_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet '
         'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
_TAIL = '</sheetData><mergeCells count="1"><mergeCell ref="A1:C1"/></mergeCells></worksheet>'


def row(number: int | None, *cells: tuple[str, str]) -> str:
    """``<row r="N">`` with inline-string cells given as (reference, text)."""
    r = f' r="{number}"' if number is not None else ""
    inner = "".join(f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>' if ref else
                    f'<c t="inlineStr"><is><t>{text}</t></is></c>' for ref, text in cells)
    # A row without its number, as some writers lay it out: other attributes, but no r=.
    return f"<row{r}>{inner}</row>" if r else f'<row spans="1:2">{inner}</row>'


def workbook(path: Path, rows: str) -> Path:
    """A minimal .xlsx of one sheet 台账 whose sheetData is ``rows``."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/'
                   'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/'
                   'xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
                   'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" '
                   'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
        z.writestr("_rels/.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
                   'openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
                   '</Relationships>')
        z.writestr("xl/workbook.xml", '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.'
                   'openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/'
                   'officeDocument/2006/relationships"><sheets><sheet name="台账" sheetId="1" r:id="rId1"/>'
                   '</sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns='
                   '"http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type='
                   '"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target='
                   '"worksheets/sheet1.xml"/></Relationships>')
        z.writestr("xl/worksheets/sheet1.xml", _HEAD + rows + _TAIL)
    return path


def many(first: int, last: int, column: str = "A") -> str:
    return "".join(row(n, (f"{column}{n}", f"第{n}行"), (f"{chr(ord(column) + 1)}{n}", "x")) for n in range(first, last + 1))


@pytest.mark.parametrize("count", [2, 3])
def test_blank_rows_at_a_cut_a_piece_starting_further_right_and_pieces_of_other_widths_join_as_one_parse(tmp_path, count):
    rows = (row(1, ("A1", "标题")) + many(2, 40) + many(60, 90, column="C")
            + row(95, ("A95", "a"), ("F95", "wide")) + many(96, 130, column="B"))
    path = workbook(tmp_path / "gaps.xlsx", rows)
    got = in_pieces(path, "台账", count)
    assert got is not None
    assert got == whole(path, "台账")


def test_rows_without_numbers_are_not_cut_at(tmp_path):
    # calamine numbers a row without r= after the row before it, which a piece would not know.
    rows = row(1, ("A1", "标题")) + "".join(row(None, ("", f"第{n}行")) for n in range(2, 200))
    path = workbook(tmp_path / "unnumbered.xlsx", rows)
    assert in_pieces(path, "台账", 2) is None


def test_an_unnumbered_row_at_the_cut_moves_the_cut_to_the_next_numbered_row(tmp_path):
    rows = many(1, 30) + "".join(row(None, ("", f"无号{n}")) for n in range(150)) + many(181, 210)
    path = workbook(tmp_path / "some-unnumbered.xlsx", rows)
    got = in_pieces(path, "台账", 2)
    assert got is not None
    assert got == whole(path, "台账")


@pytest.mark.parametrize("odd", ["<!-- 备注 -->", "<!-- <row r=\"70\"><c r=\"A70\" t=\"inlineStr\"><is><t>假</t></is></c></row> -->",
                                 "<?mso-application progid=\"Excel.Sheet\"?>"])
def test_a_comment_or_instruction_among_the_rows_makes_the_sheet_parse_whole(tmp_path, odd):
    rows = many(1, 60) + odd + many(61, 120)
    path = workbook(tmp_path / "odd.xlsx", rows)
    assert in_pieces(path, "台账", 2) is None


def test_rows_out_of_order_across_the_cut_make_the_sheet_parse_whole(tmp_path):
    rows = many(100, 160) + many(1, 60)
    path = workbook(tmp_path / "unordered.xlsx", rows)
    assert in_pieces(path, "台账", 2) is None


def cells_without_references(number: int, text: str) -> str:
    """A numbered row whose cell has no r=: calamine places it by counting from the last </row>."""
    return f'<row r="{number}"><c t="inlineStr"><is><t>{text}</t></is></c></row>'


_STRAY = '<c t="inlineStr"><is><t>游离</t></is></c>'


def test_a_cell_between_rows_is_never_cut_after(tmp_path):
    # Invalid, but calamine reads it: a cell after </row> moves the next row's r-less cells one
    # column right in the whole parse, and a piece starting at that row would not know. Here
    # every row in the middle has one before it: the cut moves on to the first row that has not.
    rows = ("".join(cells_without_references(n, f"前{n}") for n in range(1, 41))
            + "".join(_STRAY + cells_without_references(n, f"中{n}") for n in range(41, 121))
            + "".join(cells_without_references(n, f"后{n}") for n in range(121, 161)))
    path = workbook(tmp_path / "stray.xlsx", rows)
    got = in_pieces(path, "台账", 2)
    assert got is not None, "the sheet was not cut: this test would prove nothing"
    assert got == whole(path, "台账")
    everywhere = "".join(cells_without_references(n, f"第{n}行") + _STRAY for n in range(1, 121))
    path = workbook(tmp_path / "stray-everywhere.xlsx", everywhere)
    for count in (2, 3, 4):
        assert in_pieces(path, "台账", count) is None  # nowhere to cut: parsed whole


def test_r_inside_a_single_quoted_attribute_is_not_a_row_number(tmp_path):
    # Valid XML: in a single-quoted value ' r="' is text. Taken for the number, the pieces would
    # count the rows after it from 0 (the rows before have no cell, so the join could not tell).
    fake = "<row spans='1:1 r=\"1'>"
    rows = "".join(f"{fake}</row>" for _ in range(200)) + "".join(
        f"{fake}<c t=\"inlineStr\"><is><t>u{n}</t></is></c></row>" for n in range(30))
    path = workbook(tmp_path / "fake-r.xlsx", rows)
    for count in (2, 3, 4):
        assert in_pieces(path, "台账", count) in (None, whole(path, "台账"))
    assert in_pieces(path, "台账", 2) is None


def test_a_question_mark_where_a_chunk_is_joined_on_is_text(tmp_path, monkeypatch):
    # The cutter reads the XML a chunk at a time and keeps the end of each with the next, so a
    # "?" or "!" that starts the joined bytes was looked at already: it is text, not "<?" or "<!"
    # (taken for them, a large sheet with such texts could be parsed whole for nothing).
    monkeypatch.setattr(pieces_module, "_READ", 256)
    monkeypatch.setattr(pieces_module, "_KEEP", 32)
    rows = "".join(row(n, (f"A{n}", "为什么?!" * 8), (f"B{n}", "x")) for n in range(1, 121))
    path = workbook(tmp_path / "questions.xlsx", rows)
    got = in_pieces(path, "台账", 3)
    assert got is not None, "a ? or ! in the text was taken for markup"
    assert got == whole(path, "台账")


@pytest.mark.parametrize("odd", ["<!-- 备注 -->", "<?mso-application progid=\"Excel.Sheet\"?>"])
def test_a_comment_across_two_chunks_is_still_seen(tmp_path, monkeypatch, odd):
    # Wherever the chunks are joined, "<!" or "<?" split between them is found in one of them.
    monkeypatch.setattr(pieces_module, "_READ", 256)
    monkeypatch.setattr(pieces_module, "_KEEP", 32)
    for shift in range(257):  # the markup at every position against the chunks' ends
        rows = row(1, ("A1", "x" * shift)) + many(2, 60) + odd + many(61, 120)
        path = workbook(tmp_path / f"odd-{shift}.xlsx", rows)
        assert in_pieces(path, "台账", 2) is None, shift


def damaged(source: Path, target: Path, part: str | None = None) -> Path:
    """``source`` with its ``part`` (default: a custom-properties part added to it) made
    undecompressable: its first deflate block says block type 3, which does not exist."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info, old.read(info))
        if part is None:
            part = "customXml/item9.xml"
            new.writestr(part, "<Properties>" + "备注" * 2000 + "</Properties>")
    data = bytearray(target.read_bytes())
    with zipfile.ZipFile(target) as archive:
        info = archive.getinfo(part)
    name_len, extra_len = int.from_bytes(data[info.header_offset + 26:info.header_offset + 28], "little"), \
        int.from_bytes(data[info.header_offset + 28:info.header_offset + 30], "little")
    data[info.header_offset + 30 + name_len + extra_len] = 0xFF
    target.write_bytes(bytes(data))
    return target


@pytest.mark.parametrize(("source", "part"), [
    (EXAMPLE_REGISTER, None),  # a part nothing reads: the whole read does not notice
    (DATA / "reg-libreoffice-monthly-sheets.xlsx", "xl/worksheets/sheet2.xml"),  # the second month
])
def test_a_damaged_part_reads_in_pieces_as_it_reads_whole_and_leaves_no_scratch(tmp_path, monkeypatch, cut_small,
                                                                                source, part):
    import tempfile

    (tmp_path / "scratch").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "scratch"))
    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    path = damaged(source, tmp_path / "damaged.xlsx", part)
    config = config_from_dict({"register": {"path": str(path)}})
    try:
        expected: object = snapshot(read_register(config, path, pieces=False))
    except Exception as exc:  # refused whole: refused in pieces with the same words
        expected = (type(exc), str(exc))
    try:
        got: object = snapshot(read_register(config, path))
    except Exception as exc:
        got = (type(exc), str(exc))
    assert got == expected
    assert os.listdir(tmp_path / "scratch") == []


def test_a_failure_after_some_sheets_were_cut_ends_their_pieces(tmp_path, monkeypatch, cut_small):
    import tempfile

    from toolkit.register import read as read_module

    (tmp_path / "scratch").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "scratch"))
    monkeypatch.setattr(tempfile, "tempdir", None)
    started = []

    def second_fails(*args, **kwargs):
        if started:
            raise MemoryError("the second month")
        split = start_pieces(*args, **kwargs)
        if split is not None:
            started.append(split)
        return split

    monkeypatch.setattr(read_module, "start_pieces", second_fails)
    path = DATA / "reg-libreoffice-monthly-sheets.xlsx"
    with pytest.raises(MemoryError):
        read_register(config_from_dict({"register": {"path": str(path)}}), path)
    assert started, "no sheet was cut: this test would prove nothing"
    assert os.listdir(tmp_path / "scratch") == []  # the first month's pieces are closed


def test_a_formula_after_the_first_sheet_data_is_looked_for_as_in_a_whole_read(tmp_path):
    # Invalid, but a file could have it: calamine reads the first sheetData, the formula scan
    # looks on to the last </sheetData>; the cutter must not call such a sheet formula-free.
    rows = many(1, 120)
    tail = '</sheetData><sheetData><row r="50"><c r="C50"><f>TODAY()</f></c></row></sheetData></worksheet>'
    path = workbook(tmp_path / "two-sheet-data.xlsx", rows)
    with zipfile.ZipFile(path) as old:
        parts = {i.filename: old.read(i) for i in old.infolist()}
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].replace(_TAIL.encode(), tail.encode())
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for name, data in parts.items():
            new.writestr(name, data)
    with zipfile.ZipFile(path) as archive:
        split = start_pieces(archive, "台账", _part(archive, "台账"), 2, sheets=[])
        assert split is not None and split.has_formulas
        split.close()


def test_a_part_missing_from_the_archive_means_parse_whole(tmp_path):
    path = workbook(tmp_path / "good.xlsx", many(1, 120))
    with zipfile.ZipFile(path) as archive:
        assert start_pieces(archive, "台账", "xl/worksheets/sheet9.xml", 2, sheets=[]) is None


def test_a_later_piece_never_holds_the_gate_while_it_waits_for_an_earlier_one(tmp_path, monkeypatch):
    """The sheets of one read share the gate, which lets threads in in no set order. Here the
    second piece gets it first, with room for one: had it kept it while waiting for the first
    piece's rows, the first could never parse and the read would hang."""
    import threading

    second_in = threading.Event()

    class Gate:
        def __init__(self) -> None:
            self.lock = threading.Semaphore(1)

        def __enter__(self) -> None:
            self.lock.acquire()
            if threading.current_thread().name == "sheet-piece-1":
                second_in.set()

        def __exit__(self, *exc: object) -> None:
            self.lock.release()

    parse = pieces_module.Pieces._parse

    def first_waits(self, index, path, first):
        if index == 0:
            second_in.wait(10)
        parse(self, index, path, first)

    monkeypatch.setattr(pieces_module.Pieces, "_parse", first_waits)
    path = workbook(tmp_path / "good.xlsx", many(1, 120))
    done: list[object] = []
    with zipfile.ZipFile(path) as archive:
        split = start_pieces(archive, "台账", _part(archive, "台账"), 2, Gate(), sheets=[])
        assert split is not None
        waiter = threading.Thread(target=lambda: done.append(split.result()), daemon=True)
        waiter.start()
        waiter.join(20)
    assert second_in.is_set(), "the second piece did not go first: this test would prove nothing"
    assert done, "the read hung: a piece held the gate while it waited for another"
    assert done[0] == whole(path, "台账")


def test_the_scratch_pieces_are_removed_whatever_the_outcome(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path / "scratch"))
    (tmp_path / "scratch").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    good = workbook(tmp_path / "good.xlsx", many(1, 120))
    bad = workbook(tmp_path / "bad.xlsx", many(100, 160) + many(1, 60))
    assert in_pieces(good, "台账", 3) is not None
    assert in_pieces(bad, "台账", 3) is None
    assert os.listdir(tmp_path / "scratch") == []


def test_how_many_pieces():
    assert pieces_for(10**6, cores=8) == 1  # small: one thread is as quick
    assert pieces_for(10**9, cores=1) == 1  # one core: nothing to gain
    assert pieces_for(pieces_module.PIECE_BYTES, cores=8) == 2
    assert pieces_for(200_000_000, cores=2) == 2
    assert pieces_for(200_000_000, cores=16) == pieces_module.MAX_PIECES
    # Texts mostly in the shared strings, which every piece parses again: parsed whole.
    assert pieces_for(120_000_000, cores=2, shared=57_000_000) == 1
    assert pieces_for(120_000_000, cores=2, shared=5_000_000) == 2
