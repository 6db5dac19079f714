"""Build the shipped document templates with python-docx.

    python templates/make_templates.py          # writes the six .docx files beside this script

The templates are ordinary Word files: staff may edit them in Word or WPS (a placeholder Word
splits across runs still works). Placeholders use the register's field names
(``{{ complaint_id }}``) or their Chinese headers (``{{ 投诉编号 }}``); ``{%tr ... %}`` rows are
docxtpl's row tags (the row holding the tag is removed when rendering).
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT, WD_TAB_LEADER
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.table import Table, _Cell

HERE = Path(__file__).resolve().parent
WIDTH = 17.0  # cm between the margins of A4 with 2 cm margins
LABEL_FILL = "EDEDED"
FIXED_TIME = dt.datetime(2026, 1, 1)


@dataclass(frozen=True)
class Lang:
    code: str
    body: str  # East Asian body font
    title: str  # East Asian title font
    latin: str


ZH = Lang("zh", "宋体", "黑体", "Times New Roman")
EN = Lang("en", "SimSun", "SimHei", "Arial")


# -- low-level helpers ----------------------------------------------------------------------------


def set_fonts(run, lang: Lang, *, title: bool = False, size: float | None = None, bold: bool = False) -> None:
    """Latin and East Asian font set directly on the run, so CJK text never falls back."""
    run.font.name = lang.latin
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), lang.title if title else lang.body)
    fonts.set(qn("w:hAnsi"), lang.latin)
    if size:
        run.font.size = Pt(size)
    run.font.bold = bold or None


def add_text(paragraph, text: str, lang: Lang, **kw) -> None:
    set_fonts(paragraph.add_run(text), lang, **kw)


BOX = "□"


def add_choices(paragraph, text: str, lang: Lang, size: float = 10.5) -> None:
    """Text with check boxes: every □ in its own run, in the East Asian font at one size (Word
    would otherwise draw it in the Latin font in English text, at another size)."""
    for number, piece in enumerate(text.split(BOX)):
        if number:
            run = paragraph.add_run(BOX)
            set_fonts(run, lang, size=size)
            fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
            for key in ("ascii", "hAnsi", "eastAsia"):
                fonts.set(qn(f"w:{key}"), lang.body)
            fonts.set(qn("w:hint"), "eastAsia")
        if piece:
            add_text(paragraph, piece, lang, size=size)


def shade(cell: _Cell, fill: str) -> None:
    tc_pr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    tc_pr.append(shd)


def fill_cell(cell: _Cell, text: str, lang: Lang, *, label: bool = False, center: bool = False,
              size: float = 10.5) -> None:
    paragraph = cell.paragraphs[0]
    paragraph.paragraph_format.space_before = Pt(2)
    paragraph.paragraph_format.space_after = Pt(2)
    if label or center:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    add_text(paragraph, text, lang, title=label, size=size)
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    if label:
        shade(cell, LABEL_FILL)


def new_table(doc, widths: list[float]) -> Table:
    table = doc.add_table(rows=0, cols=len(widths))
    table.style = "Table Grid"
    table.autofit = False
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    table._tbl.tblPr.append(layout)
    for column, width in zip(table.columns, widths, strict=True):
        column.width = Cm(width)
    table._widths = widths  # type: ignore[attr-defined]
    return table


def add_row(table: Table, height: float | None = None):
    row = table.add_row()
    for cell, width in zip(row.cells, table._widths, strict=True):  # type: ignore[attr-defined]
        cell.width = Cm(width)
    if height:
        row.height = Cm(height)
        row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
    return row


def pair_row(table: Table, lang: Lang, l1: str, v1: str, l2: str, v2: str) -> None:
    cells = add_row(table, 0.75).cells
    fill_cell(cells[0], l1, lang, label=True)
    fill_cell(cells[1], v1, lang)
    fill_cell(cells[2], l2, lang, label=True)
    fill_cell(cells[3], v2, lang)


def wide_row(table: Table, lang: Lang, label: str, value: str, height: float = 0.75) -> None:
    cells = add_row(table, height).cells
    fill_cell(cells[0], label, lang, label=True)
    merged = cells[1].merge(cells[-1])
    fill_cell(merged, value, lang)
    merged.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.TOP


def tag_row(table: Table, lang: Lang, tag: str) -> None:
    """A row holding only a docxtpl row tag; it disappears from rendered documents."""
    cells = add_row(table).cells
    merged = cells[0].merge(cells[-1])
    add_text(merged.paragraphs[0], tag, lang, size=8)


def banner_row(table: Table, lang: Lang, text: str, fill: str, colour: RGBColor | None = None) -> None:
    cells = add_row(table, 0.75).cells
    merged = cells[0].merge(cells[-1])
    paragraph = merged.paragraphs[0]
    paragraph.paragraph_format.space_before = Pt(3)
    paragraph.paragraph_format.space_after = Pt(3)
    run = paragraph.add_run(text)
    set_fonts(run, lang, title=True, size=10.5, bold=True)
    if colour is not None:
        run.font.color.rgb = colour
    shade(merged, fill)


def page_field(paragraph, instruction: str, lang: Lang) -> None:
    simple = OxmlElement("w:fldSimple")
    simple.set(qn("w:instr"), f" {instruction} ")
    run = OxmlElement("w:r")
    properties = OxmlElement("w:rPr")
    fonts = OxmlElement("w:rFonts")
    for key in ("ascii", "hAnsi"):
        fonts.set(qn(f"w:{key}"), lang.latin)
    fonts.set(qn("w:eastAsia"), lang.body)
    size = OxmlElement("w:sz")
    size.set(qn("w:val"), "18")
    properties.extend([fonts, size])
    run.append(properties)
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    simple.append(run)
    paragraph._p.append(simple)


def new_document(lang: Lang, title: str, header_left: str, header_right: str, footer: tuple[str, str, str]):
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.0)
    section.top_margin, section.bottom_margin = Cm(2.2), Cm(2.0)
    section.header_distance, section.footer_distance = Cm(1.2), Cm(1.0)

    normal = doc.styles["Normal"]
    normal.font.name = lang.latin
    normal.font.size = Pt(10.5)
    rpr = normal.element.get_or_add_rPr()
    rpr.get_or_add_rFonts().set(qn("w:eastAsia"), lang.body)
    language = OxmlElement("w:lang")
    language.set(qn("w:val"), "zh-CN" if lang.code == "zh" else "en-US")
    language.set(qn("w:eastAsia"), "zh-CN")
    rpr.append(language)
    normal.paragraph_format.space_after = Pt(0)

    # The built-in Header style has centre and right tab stops for Letter paper: replace them.
    header_style = doc.styles["Header"].paragraph_format
    header_style.tab_stops.clear_all()
    header_style.tab_stops.add_tab_stop(Cm(WIDTH), WD_TAB_ALIGNMENT.RIGHT)
    header = section.header.paragraphs[0]
    add_text(header, header_left, lang, size=9)
    add_text(header, "\t" + header_right, lang, size=9)
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("val", "single"), ("sz", "6"), ("space", "1"), ("color", "404040")):
        bottom.set(qn(f"w:{key}"), value)
    borders.append(bottom)
    header._p.get_or_add_pPr().append(borders)

    foot = section.footer.paragraphs[0]
    foot.alignment = WD_ALIGN_PARAGRAPH.CENTER
    add_text(foot, footer[0], lang, size=9)
    page_field(foot, "PAGE", lang)
    add_text(foot, footer[1], lang, size=9)
    page_field(foot, "NUMPAGES", lang)
    add_text(foot, footer[2], lang, size=9)

    heading = doc.add_paragraph()
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    heading.paragraph_format.space_before = Pt(6)
    heading.paragraph_format.space_after = Pt(4)
    add_text(heading, title, lang, title=True, size=18, bold=True)
    return doc


def number_line(doc, lang: Lang, text: str) -> None:
    paragraph = doc.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    paragraph.paragraph_format.space_after = Pt(4)
    add_text(paragraph, text, lang, size=10)


def section_heading(doc, lang: Lang, text: str) -> None:
    paragraph = doc.add_paragraph()
    paragraph.paragraph_format.space_before = Pt(8)
    paragraph.paragraph_format.space_after = Pt(3)
    add_text(paragraph, text, lang, title=True, size=11, bold=True)


def signatures(doc, lang: Lang, lines: list[tuple[str, str]]) -> None:
    """Label, a signature line drawn by a tab leader up to one fixed point (so every line ends
    in the same place, whatever the label's length), then the date."""
    doc.add_paragraph().paragraph_format.space_after = Pt(6)
    for left, right in lines:
        paragraph = doc.add_paragraph()
        paragraph.paragraph_format.space_before = Pt(10)
        stops = paragraph.paragraph_format.tab_stops
        stops.add_tab_stop(Cm(9.5), WD_TAB_ALIGNMENT.LEFT, WD_TAB_LEADER.LINES)
        stops.add_tab_stop(Cm(10.5), WD_TAB_ALIGNMENT.LEFT)
        label = left.rstrip("_ ") + ("" if lang.code == "zh" else " ")  # "：" already spaces Chinese
        add_text(paragraph, f"{label}\t\t{right}", lang)


# -- the forms --------------------------------------------------------------------------------------

T = {
    "zh": {
        "feedback_title": "客诉反馈单", "capa_title": "纠正预防措施单",
        "form_no": "表单编号：{{ form_no }}", "number": "投诉编号：{{ 投诉编号 }}",
        "footer": ("第 ", " 页 / 共 ", " 页"),
        "complaint_id": "投诉编号", "received_on": "受理日期", "channel": "投诉渠道", "category": "投诉类别",
        "customer_name": "客户名称", "customer_phone": "联系电话", "product": "产品/服务", "batch_no": "批次号",
        "respondent": "被投诉方", "department": "责任部门", "nature": "投诉性质", "severity": "投诉等级",
        "special": "特殊客诉", "handler": "首问负责人", "description": "投诉内容", "root_cause": "原因分类",
        "reply_due": "承诺答复日期", "cause_analysis": "原因分析", "immediate_action": "应急措施",
        "resolution": "处理结果", "compensation": "赔付金额（元）", "status": "处理状态",
        "followup_due": "回访期限", "followup_done": "回访日期", "satisfaction": "客户满意度",
        "closed_on": "结案日期", "remarks": "备注",
        "special_box": "特殊客诉（{{ special }}）：须立即上报质量负责人，逐级处理；处理过程如实记录，全程留档。",
        "feedback_signs": [("首问负责人（签字）：________________", "日期：________年____月____日"),
                           ("责任部门负责人（签字）：____________", "日期：________年____月____日"),
                           ("质量负责人（审核）：______________", "日期：________年____月____日")],
        "problem": "问题描述", "root_analysis": "根本原因分析", "correction": "纠正（应急）",
        "actions_heading": "纠正及预防措施", "no": "序号", "type": "类别", "action": "措施内容",
        "owner": "负责人", "due": "完成期限", "no_actions": "（台账未填写纠正预防措施，请补充后重新生成）",
        "verify_heading": "实施与效果验证", "capa_owner": "措施负责人", "capa_due": "完成期限",
        "capa_done": "完成日期", "capa_status": "完成情况", "verification": "效果验证",
        "verification_text": "□ 有效，问题未再发生　　□ 基本有效，需继续跟踪　　□ 无效，需重新制定措施\n\n"
                             "验证说明：\n\n验证人：________________　　验证日期：________年____月____日",
        "capa_signs": [("编制（措施负责人）：______________", "日期：________年____月____日"),
                       ("审核（责任部门负责人）：__________", "日期：________年____月____日"),
                       ("批准（质量负责人）：______________", "日期：________年____月____日")],
    },
    "en": {
        "feedback_title": "Customer Complaint Feedback Form",
        "capa_title": "Corrective and Preventive Action Sheet",
        "form_no": "Form No. {{ form_no }}", "number": "Complaint No. {{ complaint_id }}",
        "footer": ("Page ", " of ", ""),
        "complaint_id": "Complaint No.", "received_on": "Date Received", "channel": "Channel",
        "category": "Category", "customer_name": "Customer", "customer_phone": "Phone",
        "product": "Product / Service", "batch_no": "Batch No.", "respondent": "Respondent",
        "department": "Department", "nature": "Nature", "severity": "Class", "special": "Special",
        "handler": "Handler", "description": "Description", "root_cause": "Root Cause",
        "reply_due": "Reply Due", "cause_analysis": "Cause Analysis", "immediate_action": "Immediate Action",
        "resolution": "Resolution", "compensation": "Compensation", "status": "Status",
        "followup_due": "Follow-up Due", "followup_done": "Follow-up Done", "satisfaction": "Satisfaction",
        "closed_on": "Date Closed", "remarks": "Remarks",
        "special_box": "Special complaint ({{ special }}): report to the quality manager at once and "
                       "escalate level by level; record every step truthfully.",
        "feedback_signs": [("Handler (signature): ________________", "Date: ______________"),
                           ("Department head (signature): _________", "Date: ______________"),
                           ("Quality manager (review): ___________", "Date: ______________")],
        "problem": "Problem", "root_analysis": "Root Cause Analysis", "correction": "Correction",
        "actions_heading": "Corrective and Preventive Actions", "no": "No.", "type": "Type",
        "action": "Action", "owner": "Owner", "due": "Due",
        "no_actions": "(No corrective action in the register yet: add it and generate again.)",
        "verify_heading": "Implementation and Verification", "capa_owner": "CAPA Owner",
        "capa_due": "CAPA Due", "capa_done": "Completed On", "capa_status": "Completion",
        "verification": "Effectiveness",
        "verification_text": "□ Effective, no recurrence\n□ Partly effective, keep monitoring\n"
                             "□ Not effective, new action needed\nNotes:\n\n"
                             "Verified by: ________________    Date: ______________",
        "capa_signs": [("Prepared (CAPA owner): ______________", "Date: ______________"),
                       ("Reviewed (department head): _________", "Date: ______________"),
                       ("Approved (quality manager): _________", "Date: ______________")],
    },
}


def _value(name: str) -> str:
    return "{{ " + name + " }}"


def feedback_form(lang: Lang) -> Document:
    t = T[lang.code]
    doc = new_document(lang, t["feedback_title"], "{{ company_name }}", t["form_no"], t["footer"])
    number_line(doc, lang, t["number"])
    table = new_table(doc, [3.0, 5.5, 3.0, 5.5])
    for left, right in (("complaint_id", "received_on"), ("channel", "category"),
                        ("customer_name", "customer_phone"), ("product", "batch_no"),
                        ("respondent", "department"), ("nature", "severity"), ("special", "handler")):
        pair_row(table, lang, t[left], _value(left), t[right], _value(right))
    tag_row(table, lang, "{%tr if is_special %}")
    banner_row(table, lang, t["special_box"], "FDE9E7", RGBColor(0xC0, 0x00, 0x00))
    tag_row(table, lang, "{%tr endif %}")
    wide_row(table, lang, t["description"], _value("description"), 2.6)
    pair_row(table, lang, t["root_cause"], _value("root_cause"), t["reply_due"], _value("reply_due"))
    wide_row(table, lang, t["cause_analysis"], _value("cause_analysis"), 1.8)
    wide_row(table, lang, t["immediate_action"], _value("immediate_action"), 1.5)
    wide_row(table, lang, t["resolution"], _value("resolution"), 1.8)
    pair_row(table, lang, t["compensation"], _value("compensation"), t["status"], _value("status"))
    pair_row(table, lang, t["followup_due"], _value("followup_due"), t["followup_done"], _value("followup_done"))
    pair_row(table, lang, t["satisfaction"], _value("satisfaction"), t["closed_on"], _value("closed_on"))
    wide_row(table, lang, t["remarks"], _value("remarks"), 1.0)
    signatures(doc, lang, t["feedback_signs"])
    return doc


def capa_sheet(lang: Lang) -> Document:
    t = T[lang.code]
    doc = new_document(lang, t["capa_title"], "{{ company_name }}", t["form_no"], t["footer"])
    number_line(doc, lang, t["number"])
    facts = new_table(doc, [3.0, 5.5, 3.0, 5.5])
    for left, right in (("complaint_id", "received_on"), ("customer_name", "department"),
                        ("product", "batch_no"), ("category", "severity"), ("nature", "handler")):
        pair_row(facts, lang, t[left], _value(left), t[right], _value(right))
    wide_row(facts, lang, t["problem"], _value("description"), 2.2)
    pair_row(facts, lang, t["root_cause"], _value("root_cause"), t["special"], _value("special"))
    wide_row(facts, lang, t["root_analysis"], _value("cause_analysis"), 1.8)
    wide_row(facts, lang, t["correction"], _value("immediate_action"), 1.3)

    section_heading(doc, lang, t["actions_heading"])
    # English action types (Corrective/Preventive) need a wider column than 纠正/预防.
    widths = [1.2, 1.5, 8.5, 2.2, 3.6] if lang.code == "zh" else [1.1, 2.3, 7.9, 2.2, 3.5]
    actions = new_table(doc, widths)
    header = add_row(actions, 0.7).cells
    for cell, key in zip(header, ("no", "type", "action", "owner", "due"), strict=True):
        fill_cell(cell, t[key], lang, label=True)
    tag_row(actions, lang, "{%tr for a in actions %}")
    row = add_row(actions, 0.8).cells
    for cell, name in zip(row, ("a.no", "a.type", "a.text", "a.owner", "a.due"), strict=True):
        fill_cell(cell, _value(name), lang, center=name != "a.text")
    tag_row(actions, lang, "{%tr endfor %}")
    tag_row(actions, lang, "{%tr if not actions %}")
    empty = add_row(actions, 0.8).cells
    fill_cell(empty[0].merge(empty[-1]), t["no_actions"], lang, center=True)
    tag_row(actions, lang, "{%tr endif %}")

    section_heading(doc, lang, t["verify_heading"])
    verify = new_table(doc, [3.0, 5.5, 3.0, 5.5])
    pair_row(verify, lang, t["capa_owner"], _value("capa_owner"), t["capa_due"], _value("capa_due"))
    pair_row(verify, lang, t["capa_done"], _value("capa_done"), t["capa_status"], _value("capa_status"))
    cells = add_row(verify, 3.0).cells
    fill_cell(cells[0], t["verification"], lang, label=True)
    merged = cells[1].merge(cells[3])
    lines = t["verification_text"].split("\n")
    first = merged.paragraphs[0]
    first.paragraph_format.space_before = Pt(2)
    add_choices(first, lines[0], lang)
    for line in lines[1:]:
        add_choices(merged.add_paragraph(), line, lang)
    signatures(doc, lang, t["capa_signs"])
    return doc


ACK = {
    "zh": {
        "title": "投诉受理告知书", "form_no": "表单编号：{{ form_no }}", "number": "受理编号：{{ 投诉编号 }}",
        "footer": ("第 ", " 页 / 共 ", " 页"),
        "greeting": "尊敬的{{ 客户名称 }}：",
        # The number early in the sentence: LibreOffice may break a Latin number at a line end.
        "opening": "您好！您的投诉（受理编号 {{ 投诉编号 }}）已于 {{ 受理日期 }} 由我公司正式受理。您通过"
                   "{{ 投诉渠道 }}反映的问题，我们将认真调查、及时处理。感谢您的反馈。",
        "facts_heading": "受理内容",
        "facts": [("投诉编号", "{{ 投诉编号 }}", "受理日期", "{{ 受理日期 }}"),
                  ("产品/服务", "{{ 产品服务 }}", "投诉类别", "{{ 投诉类别 }}"),
                  ("责任部门", "{{ 责任部门 }}", "首问负责人", "{{ 首问负责人 }}")],
        "description": ("投诉内容", "{{ 投诉内容 }}"),
        "next_heading": "后续处理",
        "next": ["我们将在 {{ 承诺答复日期 }} 前将调查和处理结果答复您；",
                 "{{ 责任部门 }}负责调查原因，首问负责人{{ 首问负责人 }}全程跟进您的投诉；",
                 "处理完毕后，我们将在 {{ 回访期限 }} 前回访，了解您对处理结果是否满意；",
                 "如需补充情况或查询进度，请告知受理编号 {{ 投诉编号 }}。"],
        "closing": "特此告知。",
        "sign": ["{{ 公司名称 }}", "{{ 受理日期 }}"],
    },
    "en": {
        "title": "Complaint Acknowledgement", "form_no": "Form No. {{ form_no }}",
        "number": "Complaint No. {{ complaint_id }}", "footer": ("Page ", " of ", ""),
        "greeting": "Dear {{ customer_name }},",
        "opening": "Thank you for contacting us on {{ received_on }} ({{ channel }}). We have registered your "
                   "complaint under number {{ complaint_id }} and will look into it carefully.",
        "facts_heading": "What we registered",
        "facts": [("Complaint No.", "{{ complaint_id }}", "Date Received", "{{ received_on }}"),
                  ("Product / Service", "{{ product }}", "Category", "{{ category }}"),
                  ("Department", "{{ department }}", "Handler", "{{ handler }}")],
        "description": ("Description", "{{ description }}"),
        "next_heading": "What happens next",
        "next": ["We will reply with the outcome of our investigation by {{ reply_due }}.",
                 "{{ department }} investigates the cause; {{ handler }} follows your complaint throughout.",
                 "Once it is resolved, we will call you by {{ followup_due }} to ask whether you are satisfied.",
                 "To add information or ask about progress, please quote complaint number {{ complaint_id }}."],
        "closing": "Yours sincerely,",
        "sign": ["{{ company_name }}", "{{ received_on }}"],
    },
}


def acknowledgement(lang: Lang) -> Document:
    """投诉受理告知书 (ISO 10002 7.3): the complaint number, what happens next, the reply date."""
    t = ACK[lang.code]
    doc = new_document(lang, t["title"], "{{ company_name }}", t["form_no"], t["footer"])
    number_line(doc, lang, t["number"])
    for key in ("greeting", "opening"):
        paragraph = doc.add_paragraph()
        paragraph.paragraph_format.space_after = Pt(6)
        paragraph.paragraph_format.line_spacing = 1.3
        if key == "opening" and lang.code == "zh":
            paragraph.paragraph_format.first_line_indent = Pt(21)
        add_text(paragraph, t[key], lang, size=11)
    section_heading(doc, lang, t["facts_heading"])
    facts = new_table(doc, [3.0, 5.5, 3.0, 5.5])
    for l1, v1, l2, v2 in t["facts"]:
        pair_row(facts, lang, l1, v1, l2, v2)
    wide_row(facts, lang, t["description"][0], t["description"][1], 1.6)
    section_heading(doc, lang, t["next_heading"])
    for number, line in enumerate(t["next"], 1):
        paragraph = doc.add_paragraph()
        paragraph.paragraph_format.space_after = Pt(3)
        paragraph.paragraph_format.line_spacing = 1.3
        paragraph.paragraph_format.left_indent = Cm(0.6)
        paragraph.paragraph_format.first_line_indent = Cm(-0.6)
        add_text(paragraph, f"{number}. " if lang.code == "en" else f"{number}．", lang, size=11)
        add_text(paragraph, line, lang, size=11)
    closing = doc.add_paragraph()
    closing.paragraph_format.space_before = Pt(10)
    add_text(closing, t["closing"], lang, size=11)
    for line in t["sign"]:
        paragraph = doc.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        paragraph.paragraph_format.space_before = Pt(8)
        add_text(paragraph, line, lang, size=11)
    return doc


def _deterministic(doc) -> bytes:
    """The package with fixed zip timestamps: rebuilding unchanged templates gives the same bytes,
    so documents are not all rewritten (their inputs include the template's hash)."""
    buffer = io.BytesIO()
    doc.save(buffer)
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            content = source.read(info)
            if info.filename == "word/settings.xml":
                # python-docx's default declares ja-JP East Asian theme fonts, so LibreOffice
                # picks the Japanese face for theme text: declare Simplified Chinese.
                content = content.replace(b'w:eastAsia="ja-JP"', b'w:eastAsia="zh-CN"')
            target.writestr(fixed, content)
    return out.getvalue()


def build(out_dir: Path = HERE) -> list[Path]:
    written = []
    for lang, suffix in ((ZH, ""), (EN, ".en")):
        for stem, make in (("feedback-form", feedback_form), ("capa-sheet", capa_sheet),
                           ("acknowledgement", acknowledgement)):
            path = out_dir / f"{stem}{suffix}.docx"
            doc = make(lang)
            doc.core_properties.title = (ACK[lang.code]["title"] if stem == "acknowledgement"
                                         else T[lang.code][f"{stem.split('-')[0]}_title"])
            doc.core_properties.author = "complaint-toolkit"
            doc.core_properties.last_modified_by = "complaint-toolkit"
            doc.core_properties.created = doc.core_properties.modified = FIXED_TIME
            doc.core_properties.revision = 1
            path.write_bytes(_deterministic(doc))
            written.append(path)
    return written


if __name__ == "__main__":
    for written_path in build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(written_path)
