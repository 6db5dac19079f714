"""Build the .docx fixtures of the template tests (LibreOffice opens and converts each).

    python tests/data/make_doc_fixtures.py

``doc-mailmerge-feedback-form.docx`` is a 客诉反馈单 made for Word's mail merge (邮件合并). What it holds, as Word writes it: MERGEFIELDs with Chinese field names as complex fields (one
with its instruction split over three runs, one with a ``\\@ "yyyy年M月d日"`` date switch, one
``\\# "0.00"`` number switch, one ``\\* Upper``), a ``w:fldSimple`` in the body and one in the
footer, a complex field in the header, and settings that still link the data source Word merged
from (``<w:mailMerge>`` plus an external ``mailMergeSource`` relationship).
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

MAIL_MERGE_SOURCE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/mailMergeSource"

HERE = Path(__file__).resolve().parent
TARGET = HERE / "doc-mailmerge-feedback-form.docx"
W = nsdecls("w")


def _run(text: str, *, instr: bool = False, bold: bool = False) -> str:
    tag = "w:instrText" if instr else "w:t"
    rpr = '<w:rPr><w:b/><w:noProof/></w:rPr>' if bold else '<w:rPr><w:noProof/></w:rPr>'
    return f'<w:r {W}>{rpr}<{tag} xml:space="preserve">{text}</{tag}></w:r>'


def _char(kind: str) -> str:
    return f'<w:r {W}><w:fldChar w:fldCharType="{kind}"/></w:r>'


def complex_field(instruction_parts: list[str], shown: str) -> list[str]:
    """begin, the instruction (in as many runs as given), separate, the shown result, end."""
    return [_char("begin"), *(_run(p, instr=True) for p in instruction_parts), _char("separate"),
            _run(shown), _char("end")]


def simple_field(instruction: str, shown: str) -> str:
    return (f'<w:fldSimple {W} w:instr="{instruction}"><w:r><w:rPr><w:noProof/></w:rPr>'
            f'<w:t>{shown}</w:t></w:r></w:fldSimple>')


def add_fields(paragraph, label: str, pieces: list[str]) -> None:  # type: ignore[no-untyped-def]
    paragraph._p.append(parse_xml(_run(label)))
    for xml in pieces:
        paragraph._p.append(parse_xml(xml))


def mailmerge_form() -> None:
    doc = Document()
    section = doc.sections[0]
    add_fields(section.header.paragraphs[0], "编号：", complex_field([" MERGEFIELD 投诉编号 "], "«投诉编号»"))
    add_fields(section.footer.paragraphs[0], "客户：", [simple_field(" MERGEFIELD 客户名称 ", "«客户名称»")])
    doc.add_heading("客诉反馈单", level=1)
    table = doc.add_table(rows=6, cols=2)
    table.style = "Table Grid"
    rows = [
        ("投诉编号", complex_field([" MERGE", "FIELD 投诉", "编号 \\* MERGEFORMAT "], "«投诉编号»")),
        ("受理日期", complex_field([' MERGEFIELD 受理日期 \\@ "yyyy年M月d日" '], "«受理日期»")),
        ("客户名称", [simple_field(" MERGEFIELD 客户名称 ", "«客户名称»")]),
        ("赔付金额", complex_field([' MERGEFIELD 赔付金额 \\# "0.00" '], "«赔付金额»")),
        ("客户邮箱", complex_field([" MERGEFIELD customer_email \\* Upper "], "«customer_email»")),
        ("投诉内容", complex_field([' MERGEFIELD "投诉内容" '], "«投诉内容»")),
    ]
    for row, (label, pieces) in zip(table.rows, rows, strict=True):
        row.cells[0].text = label
        add_fields(row.cells[1].paragraphs[0], "", pieces)
    settings_part = doc.part._settings_part
    rid = settings_part.relate_to("file:///C:/Users/kf/Desktop/客诉台账.xlsx", MAIL_MERGE_SOURCE,
                                  is_external=True)
    settings_part.element.append(parse_xml(
        f'<w:mailMerge {nsdecls("w", "r")}><w:mainDocumentType w:val="formLetters"/><w:linkToQuery/>'
        '<w:dataType w:val="native"/><w:connectString w:val="Provider=Microsoft.ACE.OLEDB.12.0;'
        'Data Source=C:\\Users\\kf\\Desktop\\客诉台账.xlsx"/><w:query w:val="SELECT * FROM `台账$`"/>'
        f'<w:dataSource r:id="{rid}"/></w:mailMerge>'))
    doc.save(TARGET)
    print(f"wrote {TARGET}")


def _save(doc, name: str) -> None:  # type: ignore[no-untyped-def]
    doc.save(HERE / name)
    print(f"wrote {HERE / name}")


def checks() -> None:
    """One small template per check-templates case."""
    doc = Document()
    doc.add_heading("客诉反馈单", level=1)
    doc.add_paragraph("投诉编号：____________  客户名称：____________")
    _save(doc, "doc-no-placeholder.docx")

    doc = Document()
    doc.add_paragraph("投诉编号：{{ 投诉编号 }}")
    p = doc.add_paragraph("客户名称：")
    for xml in complex_field([" FORMTEXT "], "     "):
        p._p.append(parse_xml(xml))
    p = doc.add_paragraph("已回访：")
    for xml in complex_field([" FORMCHECKBOX "], ""):
        p._p.append(parse_xml(xml))
    _save(doc, "doc-form-fields.docx")

    doc = Document()
    doc.add_paragraph("编号：{{#order}} {{/order}}")
    doc.add_paragraph("头像：{{@photo}}")
    doc.add_paragraph("客户：${customer_name}")
    doc.add_paragraph("内容：[description]")
    doc.add_paragraph("日期：«受理日期»")
    doc.add_paragraph("编号：{{ 投诉编号 }}")
    _save(doc, "doc-other-engines.docx")

    doc = Document()
    doc.add_paragraph("{%p for a in actions %}")
    doc.add_paragraph("{{ a.no }} {{ a.desc }} {{ a.owner }}")
    doc.add_paragraph("{%p endfor %}")
    _save(doc, "doc-loop-attribute.docx")

    doc = Document()
    doc.add_paragraph("编号：{{ 投诉编号 ) }}")
    doc.add_paragraph("客户：{{ CUSTOMER_NAME }}")
    doc.add_paragraph("日期：{{ received_on | | }}")
    doc.add_paragraph("内容：{{ description }}")
    _save(doc, "doc-two-syntax-errors.docx")


def main() -> None:
    mailmerge_form()
    checks()


if __name__ == "__main__":
    main()
