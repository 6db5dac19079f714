"""Build ``doc-mailmerge-feedback-form.docx``: a 客诉反馈单 made for Word's mail merge (邮件合并).

    python tests/data/make_mailmerge_fixture.py

What it holds, as Word writes it: MERGEFIELDs with Chinese field names as complex fields (one
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


def main() -> None:
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
        ("赔偿金额", complex_field([' MERGEFIELD 赔偿金额 \\# "0.00" '], "«赔偿金额»")),
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


if __name__ == "__main__":
    main()
