"""Templates never file a silently wrong form: what QA found in staff-made templates. Every test
builds a real .docx, renders it through the real stage or command and opens the result again."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

import pytest
from docx import Document
from lxml import etree

from toolkit.cli import main
from toolkit.config import Config, DocumentKindConfig
from toolkit.documents import CAPA, CREATED, FEEDBACK, SKIPPED, GenerateResult, generate
from toolkit.errors import TemplateError
from toolkit.model import Record, Register, SheetInfo
from toolkit.validate import ValidationReport

TODAY = dt.date(2026, 11, 20)


# -- helpers ----------------------------------------------------------------------------------------


def row(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "complaint_id": "KS-2026-0001", "received_on": dt.date(2026, 11, 2), "channel": "电话",
        "customer_name": "张三", "customer_phone": "13800138000", "product": "中华（硬）",
        "description": "包装破损", "category": "产品质量", "nature": "咨询型", "severity": "C",
        "special": "否", "department": "质量部", "handler": "王芳", "compensation": 200.0,
        "reply_due": dt.date(2026, 11, 21), "followup_due": dt.date(2026, 11, 25), "status": "处理中",
    }
    base.update(changes)
    return base


def register_of(*rows: dict[str, object]) -> Register:
    records = [Record("台账", 3 + i, dict(v)) for i, v in enumerate(rows)]
    return Register("register.xlsx", "", 0, [SheetInfo("台账", 2, {}, [])], records)


def config(feedback_template: Path | None = None, language: str = "zh") -> Config:
    cfg = Config()
    cfg.register.language = language
    cfg.documents.kinds["acknowledgement"] = DocumentKindConfig(when="false")
    if feedback_template is not None:
        cfg.documents.feedback_template = str(feedback_template)
    return cfg


def run(tmp_path: Path, *rows: dict[str, object], cfg: Config | None = None) -> GenerateResult:
    return generate(register_of(*rows), ValidationReport("register.xlsx", 0, [], {"error": 0}),
                    cfg or config(), today=TODAY, out_dir=tmp_path / "docs")


def template_of(path: Path, *paragraphs: str) -> Path:
    doc = Document()
    for text in paragraphs:
        doc.add_paragraph(text)
    doc.save(str(path))
    return path


def body_lines(path: str | Path) -> list[str]:
    return [p.text for p in Document(str(path)).paragraphs]


def check_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = main(["check-templates", *args, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


# -- 1. CAPA lines keep their own leading numbers -----------------------------------------------------


def test_capa_lines_keep_decimals_times_and_section_numbers(tmp_path: Path) -> None:
    action = ("1.5倍加严抽检同批次卷烟\n12:00前完成全部零售户库房排查\n0.5%作为月度不良率上限\n"
              "3.1 修订仓储作业指导书\n2、预防：每月检查\n(3) 复训\n① 通报")
    result = run(tmp_path, row(corrective_action=action, capa_owner="孙丽", capa_due=dt.date(2026, 12, 1)))
    (capa,) = [d for d in result.documents if d.kind == CAPA]
    table = Document(capa.path).tables[1]
    texts = [r.cells[2].text for r in table.rows][1:]
    assert texts == ["1.5倍加严抽检同批次卷烟", "12:00前完成全部零售户库房排查", "0.5%作为月度不良率上限",
                     "3.1 修订仓储作业指导书", "预防：每月检查", "复训", "通报"]
    assert [r.cells[1].text for r in table.rows][1:] == ["纠正"] * 4 + ["预防", "纠正", "纠正"]


# -- 7. paragraph numbers after {%p %} paragraphs and {%tr %} rows -------------------------------------


def test_paragraph_numbers_stay_right_after_paragraph_and_row_tags(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = template_of(tmp_path / "t.docx", "{{ 投诉编号 }}", "{%p if is_special %}", "特殊", "{%p endif %}",
                       "{{ 投诉等级 }}")
    doc = Document(str(path))
    table = doc.add_table(rows=3, cols=2)
    table.cell(0, 0).text = "{%tr for a in actions %}"
    table.cell(1, 0).text, table.cell(1, 1).text = "{{ a.text }}", "{{ a.desc }}"
    table.cell(2, 0).text = "{%tr endfor %}"
    doc.add_paragraph("{{ 客户名 }}")
    doc.save(str(path))
    code, data = check_json(capsys, str(path))
    assert code == 1
    checked = data["templates"][0]
    where = {u["name"]: u["paragraph"] for u in checked["unknown"]}
    assert where == {"投诉等级": 5, "客户名": 12}  # ¶6-¶11: the table's six cells
    assert [(p["code"], p["paragraph"]) for p in checked["problems"]] == [("loop-attribute", 9)]
    # and the template still renders as before where it is right
    fixed = template_of(tmp_path / "ok.docx", "{{ 投诉编号 }}", "{%p if is_special %}", "特殊", "{%p endif %}",
                        "{{ 等级 }}")
    result = run(tmp_path, row(special="媒体"), cfg=config(fixed))
    assert body_lines(result.documents[0].path) == ["KS-2026-0001", "特殊", "C"]


# -- 8. a file that cannot be read is never summed up as fine -----------------------------------------


def test_the_summary_does_not_claim_success_for_a_file_it_could_not_read(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# not a template\n", encoding="utf-8")
    code = main(["check-templates", str(readme)])
    out, err = capsys.readouterr()
    assert code == 2 and "无法读取模板" in err
    assert "全部占位符都有字段提供" not in out
    assert "1 个模板无法读取，未检查" in out
    good = template_of(tmp_path / "good.docx", "{{ 投诉编号 }}")
    code = main(["check-templates", str(good), str(readme)])
    out, _ = capsys.readouterr()
    assert code == 2 and "good.docx" in out and "全部占位符都有字段提供" not in out


# -- 6. a Word template (.dotx) files .docx documents Word opens --------------------------------------

SHIPPED = Path(__file__).resolve().parent.parent / "templates" / "feedback-form.docx"
TEMPLATE_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml"
DOCUMENT_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"


def saved_as(source: Path, target: Path, content_type: str, extra: dict[str, bytes] | None = None) -> Path:
    """``source`` re-zipped with its main part typed ``content_type`` (as Word saves a .dotx/.dotm)."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(DOCUMENT_MAIN.encode(), content_type.encode())
            zout.writestr(info, data)
        for name, data in (extra or {}).items():
            zout.writestr(name, data)
    return target


def test_a_dotx_template_files_documents_typed_as_documents(tmp_path: Path) -> None:
    dotx = saved_as(SHIPPED, tmp_path / "客诉反馈单.dotx", TEMPLATE_MAIN)
    result = run(tmp_path, row(), cfg=config(dotx))
    (form,) = [d for d in result.documents if d.kind == FEEDBACK]
    assert form.status == CREATED
    with zipfile.ZipFile(form.path) as package:
        types = etree.fromstring(package.read("[Content_Types].xml"))
    main_part = [o.get("ContentType") for o in types if o.get("PartName") == "/word/document.xml"]
    assert main_part == [DOCUMENT_MAIN]
    assert "KS-2026-0001" in "\n".join(body_lines(form.path))  # python-docx opens it as a document


def test_a_macro_enabled_template_is_refused_saying_how_to_fix(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    dotm = saved_as(SHIPPED, tmp_path / "表单.dotm", "application/vnd.ms-word.template.macroEnabledTemplate.main+xml",
                    {"word/vbaProject.bin": b"\xd0\xcf\x11\xe0 macros"})
    code = main(["check-templates", str(dotm)])
    err = capsys.readouterr().err
    assert code == 2 and "启用宏" in err and "另存为 .docx" in err
    with pytest.raises(TemplateError, match="启用宏"):
        run(tmp_path, row(), cfg=config(dotm))
    assert not list((tmp_path / "docs").rglob("*.docx"))


# -- 4. footnotes and endnotes are filled like the body; tags in comments are named ---------------------

W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
NOTE_TYPES = {"footnotes": "footnotes", "endnotes": "endnotes", "comments": "comments"}


def notes_part(kind: str, text: str) -> str:
    tag = {"footnotes": "footnote", "endnotes": "endnote", "comments": "comment"}[kind]
    separators = "" if kind == "comments" else (
        f'<w:{tag} w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:{tag}>'
        f'<w:{tag} w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/></w:r></w:p></w:{tag}>')
    extra = ' w:author="QA"' if kind == "comments" else ""
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:{kind} {W_NS}>{separators}'
            f'<w:{tag} w:id="1"{extra}><w:p><w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p></w:{tag}></w:{kind}>')


def with_notes(source: Path, target: Path, notes: dict[str, str]) -> Path:
    """``source`` with footnotes / endnotes / comments parts holding ``notes`` (as Word writes them)."""
    refs = {"footnotes": '<w:r><w:footnoteReference w:id="1"/></w:r>', "endnotes": '<w:r><w:endnoteReference w:id="1"/></w:r>',
            "comments": '<w:commentRangeStart w:id="1"/><w:r><w:t>注</w:t></w:r><w:commentRangeEnd w:id="1"/>'
                        '<w:r><w:commentReference w:id="1"/></w:r>'}
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if not info.filename.endswith((".xml", ".rels")):
                zout.writestr(info, data)
                continue
            data = data.decode("utf-8")
            if info.filename == "word/document.xml":
                data = data.replace("<w:sectPr", "<w:p>" + "".join(refs[k] for k in notes) + "</w:p><w:sectPr", 1)
            elif info.filename == "[Content_Types].xml":
                data = data.replace("</Types>", "".join(
                    f'<Override PartName="/word/{k}.xml" ContentType="application/'
                    f'vnd.openxmlformats-officedocument.wordprocessingml.{k}+xml"/>' for k in notes) + "</Types>")
            elif info.filename == "word/_rels/document.xml.rels":
                data = data.replace("</Relationships>", "".join(
                    f'<Relationship Id="rIdQa{k}" Type="{rel}{k}" Target="{k}.xml"/>' for k in notes)
                    + "</Relationships>")
            zout.writestr(info, data.encode("utf-8"))
        for kind, text in notes.items():
            zout.writestr(f"word/{kind}.xml", notes_part(kind, text).encode("utf-8"))
    return target


def part_text(path: str | Path, part: str) -> str:
    with zipfile.ZipFile(path) as package:
        root = etree.fromstring(package.read(part))
    return "".join(t.text or "" for t in root.iter(f"{{{W_NS[9:-1]}}}t"))


def test_footnotes_and_endnotes_are_checked_and_filled_and_comments_named(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = template_of(tmp_path / "base.docx", "投诉编号：{{ 投诉编号 }}")
    template = with_notes(base, tmp_path / "notes.docx", {
        "footnotes": "脚注：{{ 投诉编号 }}，客户 {{ 客户名称 }}", "endnotes": "尾注：{{ 处理状态 }} {{ 客户名 }}",
        "comments": "批注：{{ 责任部门 }}"})
    code, data = check_json(capsys, str(template))
    checked = data["templates"][0]
    assert code == 1  # 客户名 in the endnote is no field's name
    assert [(u["name"], u["part"]) for u in checked["unknown"]] == [("客户名", "word/endnotes.xml")]
    names = {(p["name"], p["part"]) for p in checked["placeholders"]}
    assert {("客户名称", "word/footnotes.xml"), ("处理状态", "word/endnotes.xml")} <= names
    (comment,) = [p for p in checked["problems"] if p["code"] == "comment-tag"]
    assert comment["severity"] == "warning" and comment["part"] == "word/comments.xml"
    assert "{{ 责任部门 }}" in comment["message"] and "批注" in comment["message"]

    good = with_notes(base, tmp_path / "good.docx", {"footnotes": "脚注：{{ 投诉编号 }}，客户 {{ 客户名称 }}",
                                                     "endnotes": "尾注：{{ 处理状态 }}"})
    result = run(tmp_path, row(customer_name="李<四> & 子"), cfg=config(good))
    (form,) = [d for d in result.documents if d.kind == FEEDBACK]
    assert form.status == CREATED
    assert part_text(form.path, "word/footnotes.xml") == "脚注：KS-2026-0001，客户 李<四> & 子"
    assert part_text(form.path, "word/endnotes.xml") == "尾注：处理中"
    with zipfile.ZipFile(form.path) as package:
        footnotes = package.read("word/footnotes.xml")
    from toolkit.documents import runs_missing_east_asian_font

    assert runs_missing_east_asian_font(footnotes) == []


# -- 2. register text can never bypass the escaping --------------------------------------------------


@pytest.mark.parametrize("tag", ["{{ 投诉内容|safe }}", "{{ 投诉内容 | safe }}", "{% autoescape false %}{{ 投诉内容 }}{% endautoescape %}",
                                 "{% filter upper %}{{ 投诉内容 }}{% endfilter %}", "{% set x = 投诉内容|safe %}{{ x }}"])
def test_tags_that_would_bypass_escaping_are_refused_naming_the_tag(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], tag: str) -> None:
    template = template_of(tmp_path / "t.docx", "投诉编号：{{ 投诉编号 }}", "内容：" + tag)
    code, data = check_json(capsys, str(template))
    problems = data["templates"][0]["problems"]
    assert code == 1
    assert [(p["code"], p["paragraph"]) for p in problems][:1] in ([("unsafe", 2)], [("filter-block", 2)])
    assert "t.docx" in data["templates"][0]["path"]
    with pytest.raises(TemplateError, match=r"t\.docx.*¶2"):
        run(tmp_path, row(description="烟支 <松散> & 掉丝"), cfg=config(template))
    assert not list((tmp_path / "docs").rglob("*.docx"))


def test_markup_from_a_filter_is_printed_as_text_and_every_part_written_is_well_formed(tmp_path: Path) -> None:
    from toolkit.documents.jinja import ENV

    template = template_of(tmp_path / "t.docx", "{{ 投诉内容|e }}|{{ 投诉内容|forceescape }}")
    # Defence in depth, below the checks: even |safe prints the text, escaped once.
    unsafe = ENV.from_string("<w:t>{{ x|safe }}</w:t>").render(x="烟支 <松散> & 掉丝", _language="zh")
    assert unsafe == "<w:t>烟支 &lt;松散&gt; &amp; 掉丝</w:t>"
    result = run(tmp_path, row(description="烟支 <松散> & 掉丝\x01"), cfg=config(template))
    (form,) = [d for d in result.documents if d.kind == FEEDBACK]
    assert body_lines(form.path) == ["烟支 <松散> & 掉丝|烟支 <松散> & 掉丝"]
    # A part that is not well-formed XML is never written: an {% if %} in a paragraph whose
    # {% endif %} is in a table cell cuts the table open when the condition is false.
    broken = template_of(tmp_path / "broken.docx", "{{ 投诉编号 }} 前{% if is_special %}特殊")
    doc = Document(str(broken))
    doc.add_table(rows=1, cols=1).cell(0, 0).text = "{% endif %}后"
    doc.save(str(broken))
    result = run(tmp_path, row(complaint_id="KS-2", special="否"), row(complaint_id="KS-3", special="媒体"),
                 cfg=config(broken))
    forms = {d.complaint_id: d for d in result.documents if d.kind == FEEDBACK}
    assert forms["KS-2"].status == SKIPPED and "不是有效的 XML" in forms["KS-2"].reason
    assert "word/document.xml" in forms["KS-2"].reason and "broken.docx" in forms["KS-2"].reason
    assert forms["KS-3"].status == CREATED
    assert not list((tmp_path / "docs").rglob("KS-2_*"))


# -- 3. placeholders typed with a Chinese IME or one brace short are named ---------------------------


def test_braces_that_are_not_tags_around_a_field_name_are_errors_with_the_fix(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = template_of(tmp_path / "t.docx", "投诉编号：{{ 投诉编号 }}", "全角括号：｛｛ 投诉编号 ｝｝",
                           "全角括号2：｛｛客户名称｝｝", "单括号：{ 投诉编号 }", "左少：{ 客户名称 }}",
                           "空格：{ { 处理状态 } }", "客户{customer_name}",
                           # ordinary text with braces is left alone
                           "集合 {1, 2} 与 {甲乙} 以及 {备注说明}", "数学：f(x) = {x | x > 0}")
    code, data = check_json(capsys, str(template))
    assert code == 1
    found = [(p["code"], p["paragraph"], p["text"]) for p in data["templates"][0]["problems"]]
    assert found == [("ime-braces", 2, "｛｛ 投诉编号 ｝｝"), ("ime-braces", 3, "｛｛客户名称｝｝"),
                     ("ime-braces", 4, "{ 投诉编号 }"), ("ime-braces", 5, "{ 客户名称 }}"),
                     ("ime-braces", 6, "{ { 处理状态 } }"), ("ime-braces", 7, "{customer_name}")]
    messages = [p["message"] for p in data["templates"][0]["problems"]]
    assert "全角括号" in messages[0] and "请改为半角的 {{ 投诉编号 }}" in messages[0]
    assert "括号不成对" in messages[3] and "{{ 客户名称 }}" in messages[3]
    with pytest.raises(TemplateError, match="｛｛ 投诉编号 ｝｝"):
        run(tmp_path, row(), cfg=config(template))
    code = main(["check-templates", str(template)])
    assert "word/document.xml ¶2  [ime-braces]" in capsys.readouterr().out


# -- 5. conditions see what values mean; one failing document never stops the stage -------------------


def test_conditions_read_numbers_yes_no_and_dates_while_tags_print_the_display_text(tmp_path: Path) -> None:
    template = template_of(
        tmp_path / "t.docx",
        "[{{ 赔付金额 }}][{{ 特殊客诉 }}][{{ 受理日期 }}][{{ compensation }}][{{ 等级 }}]",
        "{% if 赔付金额 %}已赔付 {{ 赔付金额 }} 元。{% endif %}",
        "{% if 特殊客诉 %}【特殊客诉，须上报质量经理】{% endif %}",
        "{%p if 赔付金额 > 0 %}", "本次赔付 {{ 赔付金额 }} 元。", "{%p endif %}",
        "{% if 赔付金额 > 1000 %}大额{% endif %}{% if 等级 == 'A' %}A级{% endif %}{% if 特殊客诉 == '否' %}普通{% endif %}",
        "{% if 结案日期 and 结案日期 > 承诺答复日期 %}逾期结案{% endif %}{% if 赔付金额|int == 1200 %}整{% endif %}",
    )
    result = run(tmp_path,
                 row(complaint_id="K-0", compensation=0.0, special="否"),
                 row(complaint_id="K-1", compensation=1200.5, special="媒体", severity="A",
                     closed_on=dt.date(2026, 11, 30)),
                 row(complaint_id="K-2", compensation=None, special=None, reply_due=None),
                 cfg=config(template))
    forms = {d.complaint_id: body_lines(d.path) for d in result.documents if d.kind == FEEDBACK}
    assert forms["K-0"] == ["[0.00][否][2026年11月2日][0.00][C]", "", "", "普通", ""]  # {%p %} lines go
    assert forms["K-1"] == ["[1,200.50][媒体][2026年11月2日][1,200.50][A]", "已赔付 1,200.50 元。",
                            "【特殊客诉，须上报质量经理】", "本次赔付 1,200.50 元。", "大额A级", "逾期结案整"]
    assert forms["K-2"] == ["[][否][2026年11月2日][][C]", "", "", "普通", ""]
    english = run(tmp_path / "en", row(special="否"), cfg=config(template_of(
        tmp_path / "en.docx", "[{{ special }}]{% if special %} special{% endif %}{% if special == 'No' %} no{% endif %}"),
        language="en"))
    assert body_lines(english.documents[0].path) == ["[No] no"]


def test_a_document_that_fails_to_render_is_skipped_saying_why_and_the_others_are_filed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = template_of(tmp_path / "逾期.docx", "{{ 投诉编号 }}",
                           "{% if 结案日期 > 承诺答复日期 %}逾期结案{% endif %}")
    code, data = check_json(capsys, str(template))
    (trial,) = data["templates"][0]["problems"]
    assert code == 0 and trial["code"] == "trial-blank" and trial["severity"] == "warning"
    assert trial["paragraph"] == 2 and trial["text"] == "{% if 结案日期 > 承诺答复日期 %}"
    result = run(tmp_path, row(complaint_id="K-1", closed_on=dt.date(2026, 11, 30)), row(complaint_id="K-2"),
                 cfg=config(template))
    forms = {d.complaint_id: d for d in result.documents if d.kind == FEEDBACK}
    assert forms["K-1"].status == CREATED and body_lines(forms["K-1"].path) == ["K-1", "逾期结案"]
    failed = forms["K-2"]
    assert failed.status == SKIPPED and not Path(failed.path).exists()
    assert "逾期.docx" in failed.reason and "K-2" in failed.reason
    assert "word/document.xml ¶2 的 {% if 结案日期 > 承诺答复日期 %} 无法计算（工作表“台账”第 4 行）" in failed.reason
    assert "Traceback" not in failed.reason and "{% if 结案日期 and 结案日期 > 承诺答复日期 %}。" in failed.reason
    assert not list((tmp_path / "docs").rglob("K-2_*"))


def test_a_condition_that_fails_for_every_complaint_is_a_template_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = template_of(tmp_path / "t.docx", "{{ 投诉编号 }}", "{% if 受理日期 > 100 %}晚{% endif %}")
    code, data = check_json(capsys, str(template))
    (trial,) = data["templates"][0]["problems"]
    assert code == 1 and trial["code"] == "trial-failed" and trial["paragraph"] == 2
    assert "试填一条示例投诉时出错" in trial["message"] and "TypeError" in trial["message"]
    with pytest.raises(TemplateError, match=r"t\.docx.*¶2"):
        run(tmp_path, row(), cfg=config(template))


def test_the_new_messages_are_in_english_for_an_english_register(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = template_of(tmp_path / "t.docx", "{{ complaint_id }}", "｛｛ complaint_id ｝｝",
                           "{% if closed_on > reply_due %}late{% endif %}")
    (tmp_path / "config.toml").write_text('[register]\nlanguage = "en"\n', encoding="utf-8")
    code, data = check_json(capsys, str(template), "--config", str(tmp_path / "config.toml"))
    messages = {p["code"]: p["message"] for p in data["templates"][0]["problems"]}
    assert code == 1
    assert "full-width braces" in messages["ime-braces"] and "{{ complaint_id }}" in messages["ime-braces"]
    assert "filling in a complaint with blank fields failed" in messages["trial-blank"]
    fixed = template_of(tmp_path / "en.docx", "{{ complaint_id }}", "{% if closed_on > reply_due %}late{% endif %}")
    result = run(tmp_path, row(complaint_id="K-1"), cfg=config(fixed, language="en"))
    (form,) = [d for d in result.documents if d.kind == FEEDBACK]
    assert form.status == SKIPPED
    assert "{% if closed_on > reply_due %} in word/document.xml ¶2 could not be worked out" in form.reason
    assert "{% if closed_on and closed_on > reply_due %}" in form.reason


def test_a_tag_with_an_unknown_name_is_reported_once_as_unknown_not_as_a_failed_trial(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = template_of(tmp_path / "t.docx", "{{ 投诉编号 }}", "{{ 产品/服务 }}")
    code, data = check_json(capsys, str(template))
    assert code == 1
    assert {u["name"] for u in data["templates"][0]["unknown"]} == {"产品", "服务"}
    assert data["templates"][0]["problems"] == []
