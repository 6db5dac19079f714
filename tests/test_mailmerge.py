"""Word/WPS mail-merge templates: MERGEFIELDs merged as Word merges them (toolkit/documents/mailmerge.py),
on the shared real mail-merge letters and on a 客诉反馈单 of our own (tests/data/make_doc_fixtures.py)."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from docx import Document

from toolkit.config import Config, DocumentKindConfig
from toolkit.documents import CREATED, check_template, generate, inspect_template
from toolkit.documents.mailmerge import (
    format_date_picture,
    format_number_picture,
    format_value,
    parse_instruction,
)
from toolkit.model import Record, Register, SheetInfo
from toolkit.validate import ValidationReport

TODAY = dt.date(2026, 11, 20)
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def text_of(data: bytes, part: str = "word/document.xml") -> str:
    from lxml import etree

    with zipfile.ZipFile(__import__("io").BytesIO(data)) as package:
        root = etree.fromstring(package.read(part))
    return "".join(t.text or "" for t in root.iter(f"{W}t"))


def parts_of(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as package:
        return {n: package.read(n) for n in package.namelist()}


def assert_no_data_source(parts: dict[str, bytes]) -> None:
    assert b"<w:mailMerge" not in parts["word/settings.xml"]
    assert all(b"mailMergeSource" not in data for name, data in parts.items() if name.endswith(".rels"))
    fields = b"".join(data for name, data in parts.items() if name.startswith("word/") and name.endswith(".xml"))
    assert b"MERGEFIELD" not in fields and b"fldChar" not in fields.replace(b"PAGE", b"")


# -- the switches, as Word formats them --------------------------------------------------------------


def test_instructions_are_parsed_with_quotes_and_switches() -> None:
    assert parse_instruction(' MERGEFIELD "Voornaam" ') == ("Voornaam", ())
    assert parse_instruction(" MERGEFIELD 投诉编号 \\* MERGEFORMAT ") == ("投诉编号", (("\\*", "MERGEFORMAT"),))
    assert parse_instruction(' MERGEFIELD 受理日期 \\@ "yyyy年M月d日" ') == ("受理日期", (("\\@", "yyyy年M月d日"),))
    assert parse_instruction(" MERGEFIELD x \\*Upper") == ("x", (("\\*", "Upper"),))
    assert parse_instruction(" PAGE ") is None and parse_instruction(" FORMTEXT ") is None


def test_picture_switches() -> None:
    day = dt.date(2026, 3, 5)
    assert format_date_picture(day, "yyyy年M月d日", "zh") == "2026年3月5日"
    assert format_date_picture(day, "yyyy-MM-dd", "zh") == "2026-03-05"
    assert format_date_picture(day, "d MMMM yyyy", "en") == "5 March 2026"
    assert format_date_picture(dt.datetime(2026, 3, 5, 14, 7), "yyyy/MM/dd HH:mm", "zh") == "2026/03/05 14:07"
    assert format_number_picture(12.5, "0.00") == "12.50"
    assert format_number_picture(1234567.891, "#,##0.00") == "1,234,567.89"
    assert format_number_picture(3, "0") == "3"
    assert format_number_picture(7.5, "¥#,##0.00") == "¥7.50"
    assert format_value("a@b.cn", "a@b.cn", (("\\*", "Upper"),), "zh") == "A@B.CN"
    assert format_value("WANG fang", "WANG fang", (("\\*", "Lower"),), "zh") == "wang fang"
    assert format_value("wang", "wang", (("\\*", "FirstCap"),), "zh") == "Wang"
    assert format_value(None, "", (("\\b", "电话："),), "zh") == ""
    assert format_value("1", "1", (("\\b", "电话："),), "zh") == "电话：1"


@pytest.mark.parametrize(("value", "picture", "shown"), [
    # Word rounds half away from zero (Python's format rounds half to even) ...
    (1234.5, "#,##0", "1,235"), (2.5, "0", "3"), (3.5, "0", "4"), (-2.5, "0", "-3"), (0.5, "0", "1"),
    # ... on the number as its decimal text shows it, not on the binary float below it.
    (0.125, "0.00", "0.13"), (2.675, "0.00", "2.68"), (1.005, "0.00", "1.01"), (-0.125, "0.00", "-0.13"),
    (1234.565, "￥#,##0.00", "￥1,234.57"), (1234.5, "¥#,##0", "¥1,235"),
    # A space between placeholders groups by spaces (French, Russian, ISO 31-0 style).
    (1234.5, "# ##0", "1 235"), (1234567.891, "# ##0.00", "1 234 567.89"), (999.5, "# ##0", "1 000"),
    (5, "# ##0", "5"),
    # Word's own examples of the numeric picture switch: zero placeholders pad, # do not show.
    (9, "00.00", "09.00"), (2456800, "$#,###,###", "$2,456,800"), (15, "$###", "$15"),
    (0.5, "#.00", ".50"), (5, "0,000", "0,005"),
    # Optional decimals, literal text around, a value that rounds to zero, integers kept exact.
    (1.5, "0.0#", "1.5"), (1.255, "0.0#", "1.26"), (12.5, "共 0.0 元", "共 12.5 元"),
    (-0.001, "0.00", "0.00"), (12345678901234567891, "#,##0", "12,345,678,901,234,567,891"),
    (1e30, "0", "1" + "0" * 30), (-7.5, "0;(0)", "(8)"),
    # Word's x drops the digits left of it ({ = 111053 + 111439 \# x## } is 492); a third section is for zero.
    (222492, "x##", "492"), (7, "x##", "7"), (1234.56, "x#.x", "34.6"), (0, "#,##0;-#,##0;无", "无"),
    (-3, "#,##0;-#,##0;无", "-3"), (4, "#,##0;-#,##0;无", "4"),
])
def test_number_pictures_round_and_group_as_word_does(value: float, picture: str, shown: str) -> None:
    assert format_number_picture(value, picture) == shown


def test_a_number_picture_on_a_register_amount_in_a_real_word_letter(tmp_path: Path, realfiles: Path) -> None:
    """The Word 2010 letter with its fields renamed to 赔付金额 with number pictures, filed by generate."""
    template = tmp_path / "amounts.docx"
    fields = {"Titel": "投诉编号", "Voornaam": '赔付金额" \\# "#,##0', "Achternaam": '赔付金额" \\# "0.00',
              "Adresregel_1": '赔付金额" \\# "# ##0', "Postcode": "客户名称", "Plaats": "客户名称",
              "Provincie": "客户名称", "Land_of_regio": "客户名称"}
    with zipfile.ZipFile(realfiles / "d10_mergefields_word2010_complex_fields.docx") as source, \
            zipfile.ZipFile(template, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "word/document.xml":
                text = data.decode()
                for old, new in fields.items():
                    text = text.replace(f'MERGEFIELD "{old}"', f'MERGEFIELD "{new}"')
                data = text.encode()
            out.writestr(info, data)
    cfg = Config()
    cfg.documents.feedback_template = str(template)
    cfg.documents.kinds["acknowledgement"] = DocumentKindConfig(when="false")
    lines = []
    for amount in (1234.5, 0.125, 2.5):
        register = _register()
        register.records[0].values["compensation"] = amount
        result = generate(register, ValidationReport("register.xlsx", 1, [], {"error": 0}), cfg, today=TODAY,
                          out_dir=tmp_path / str(amount))
        (doc,) = result.documents
        lines.append(text_of(Path(doc.path).read_bytes()).split("Dear")[0])
    # 投诉编号 赔付金额\# "#,##0" 赔付金额\# "0.00" / 赔付金额\# "# ##0" (the next paragraph) 客户名称...
    assert [line.split("张三")[0] for line in lines] == [
        "KS-2026-0007 1,235 1234.501 235", "KS-2026-0007 0 0.130", "KS-2026-0007 3 2.503"]


# -- the shared real mail-merge letters ----------------------------------------------------------------


def test_word2010_letter_with_quoted_complex_fields_is_merged(realfiles: Path) -> None:
    path = realfiles / "d10_mergefields_word2010_complex_fields.docx"
    template = inspect_template(path)
    assert [m.name for m in template.mergefields].count("Voornaam") == 2
    data = template.merge({"Titel": "Dhr.", "Voornaam": "Jan", "Achternaam": "de Vries",
                           "Adresregel_1": "Dorpsstraat 1", "Postcode": "9711 AA", "Plaats": "Groningen",
                           "Provincie": "Groningen", "Land_of_regio": "Nederland"})
    text = text_of(data)
    assert text.startswith("Dhr. Jan de Vries") and "Dear Jan," in text and "«" not in text
    out = Path(template.path).name
    assert out
    with zipfile.ZipFile(__import__("io").BytesIO(data)) as package:
        assert_no_data_source({n: package.read(n) for n in package.namelist()})
    # check-templates names every field and flags the Dutch names no register field provides
    check = check_template(path)
    assert {p.syntax for p in check.placeholders} == {"mergefield"}
    assert "Voornaam" in {p.name for p in check.unknown} and not check.ok


def test_word2007_letter_with_fldsimple_and_complex_fields_is_merged(realfiles: Path) -> None:
    path = realfiles / "d11_da_mailmerge_fldsimple_sdt.docx"
    template = inspect_template(path)
    assert len(template.mergefields) == 7
    data = template.merge({"Fornavn": "Hans", "Efternavn": "Jensen", "Telefon": "12345678",
                           "Email": "h@example.dk", "Navn": "Hans Jensen"})
    text = text_of(data)
    assert "Hans Jensen12345678h@example.dk" in text.replace(" ", " ")
    assert "Du, Hans Jensen, tiltræder" in text and "«" not in text
    with zipfile.ZipFile(__import__("io").BytesIO(data)) as package:
        assert_no_data_source({n: package.read(n) for n in package.namelist()})
    codes = [p.code for p in check_template(path).problems]
    assert "bound-control" in codes  # the date content control bound to a document property


# -- our own mail-merge 客诉反馈单 with Chinese field names --------------------------------------------------


def _register() -> Register:
    record = Record("台账", 3, {
        "complaint_id": "KS-2026-0007", "received_on": dt.date(2026, 11, 3), "channel": "电话",
        "customer_name": "张三", "customer_phone": "13800138000", "customer_email": "zhang.san@example.cn",
        "description": "包装 <破损> & 受潮\n第二行", "category": "产品质量", "nature": "咨询型", "severity": "C",
        "department": "质量部", "handler": "王芳", "compensation": 12.5, "status": "待处理"})
    return Register("register.xlsx", "", 0, [SheetInfo("台账", 2, {}, [])], [record])


def test_mail_merge_feedback_form_is_filed_by_generate(tmp_path: Path, data_dir: Path) -> None:
    cfg = Config()
    cfg.documents.feedback_template = str(data_dir / "doc-mailmerge-feedback-form.docx")
    cfg.documents.kinds["acknowledgement"] = DocumentKindConfig(when="false")
    result = generate(_register(), ValidationReport("register.xlsx", 1, [], {"error": 0}), cfg, today=TODAY,
                      out_dir=tmp_path / "docs")
    (doc,) = result.documents
    assert doc.status == CREATED
    parts = parts_of(Path(doc.path))
    body = text_of(parts_bytes(parts), "word/document.xml")
    # split instruction, \* MERGEFORMAT, \@ date picture, fldSimple, \# number picture, \* Upper
    assert "投诉编号KS-2026-0007" in body
    assert "受理日期2026年11月3日" in body
    assert "客户名称张三" in body
    assert "赔付金额12.50" in body
    assert "客户邮箱ZHANG.SAN@EXAMPLE.CN" in body
    assert "投诉内容包装 <破损> & 受潮第二行" in body  # escaped, the line break a <w:br/>
    assert text_of(parts_bytes(parts), "word/header1.xml") == "编号：KS-2026-0007"
    assert text_of(parts_bytes(parts), "word/footer1.xml") == "客户：张三"
    assert_no_data_source(parts)
    Document(doc.path)  # python-docx opens it


def parts_bytes(parts: dict[str, bytes]) -> bytes:
    buffer = __import__("io").BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        for name, data in parts.items():
            package.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is needed")
def test_libreoffice_converts_the_merged_form(tmp_path: Path, data_dir: Path) -> None:
    cfg = Config()
    cfg.documents.feedback_template = str(data_dir / "doc-mailmerge-feedback-form.docx")
    cfg.documents.kinds["acknowledgement"] = DocumentKindConfig(when="false")
    result = generate(_register(), ValidationReport("register.xlsx", 1, [], {"error": 0}), cfg, today=TODAY,
                      out_dir=tmp_path / "docs", pdf=True)
    assert len(result.pdf) == 1, result.notes
    pdf = Path(result.pdf[0])
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert "2026年11月3日" in text.replace(" ", "") and "KS-2026-0007" in text and "«" not in text


def test_tags_and_mergefields_mix_in_one_template(tmp_path: Path, data_dir: Path) -> None:
    from docx.oxml import parse_xml

    doc = Document(str(data_dir / "doc-mailmerge-feedback-form.docx"))
    doc.add_paragraph("处理状态：{{ 处理状态 }}，责任部门：{{ department }}")
    p = doc.add_paragraph("首问负责人：")
    p._p.append(parse_xml('<w:fldSimple xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
                          'w:instr=" MERGEFIELD 首问负责人 "><w:r><w:t>«首问负责人»</w:t></w:r></w:fldSimple>'))
    path = tmp_path / "mixed.docx"
    doc.save(str(path))
    template = inspect_template(path)
    from toolkit.documents import build_context

    data = template.render(build_context(_register().records[0], "feedback", Config()))
    body = text_of(data)
    assert "处理状态：待处理，责任部门：质量部" in body and "首问负责人：王芳" in body


def test_forms_with_number_pictures_filed_before_the_rounding_fix_are_written_once_more(
        tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from toolkit.documents import UNCHANGED, UPDATED, manifest

    cfg = Config()
    cfg.documents.feedback_template = str(data_dir / "doc-mailmerge-feedback-form.docx")  # has a \# picture
    cfg.documents.kinds["acknowledgement"] = DocumentKindConfig(when="true")  # the shipped letter: none
    register = _register()
    report = ValidationReport("register.xlsx", 1, [], {"error": 0})
    monkeypatch.setattr(manifest, "NUMBER_PICTURES", "1")  # as the engine before the fix filed them
    generate(register, report, cfg, today=TODAY, out_dir=tmp_path / "docs")
    monkeypatch.undo()
    again = generate(register, report, cfg, today=TODAY, out_dir=tmp_path / "docs")
    assert [(d.kind, d.status) for d in again.documents] == [("feedback", UPDATED), ("acknowledgement", UNCHANGED)]
