"""Document generation: real templates rendered to real .docx files, opened again with python-docx.

Fixtures: tests/data/doc-split-runs.docx (placeholders Word split over three runs, braces split,
a ``{%tr for %}`` row split), tests/data/doc-unknown-placeholder.docx (a misspelt field), and the
shared real files d04 (poi-tl tags split across runs) and d15 (docxtpl order table).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from docx import Document
from docx.text.paragraph import Paragraph
from lxml import etree

from toolkit import documents
from toolkit.cli import main
from toolkit.config import Config, DocumentKindConfig
from toolkit.documents import (
    CAPA,
    CREATED,
    FEEDBACK,
    SKIPPED,
    UNCHANGED,
    UPDATED,
    check_template,
    check_templates,
    generate,
    prepare_template,
)
from toolkit.documents.stage import _POOL_THRESHOLD
from toolkit.errors import ConfigError, TemplateError
from toolkit.model import ERROR, Finding, Record, Register, SheetInfo
from toolkit.validate import ValidationReport

TODAY = dt.date(2026, 11, 20)
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
CJK = re.compile("[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


# -- helpers ----------------------------------------------------------------------------------------


def report_of(findings: list[Finding] | None = None) -> ValidationReport:
    """A validation report holding exactly ``findings``."""
    findings = findings or []
    return ValidationReport("register.xlsx", 0, findings, {"error": len(findings)})


def error(row: int | None, message: str, cell: str = "") -> Finding:
    return Finding("bad", ERROR, "台账", row, "", cell, "customer_phone", "", None, message)


def values(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "complaint_id": "KS-2026-0001", "received_on": dt.date(2026, 11, 20), "channel": "电话",
        "customer_name": "张三", "customer_phone": "13800138000", "product": "中华（硬）",
        "batch_no": "B20261101", "respondent": "人民路店", "description": "包装破损，内有受潮现象。",
        "category": "产品质量", "nature": "咨询型", "severity": "C", "special": "否",
        "department": "质量部", "handler": "王芳", "immediate_action": "当日上门致歉",
        "root_cause": "运输及储存过程不良", "cause_analysis": "仓库漏水", "resolution": "更换两条",
        "compensation": 200.0, "reply_due": dt.date(2026, 11, 21), "followup_due": dt.date(2026, 11, 25),
        "followup_done": dt.date(2026, 11, 24), "satisfaction": "满意", "status": "已结案",
        "closed_on": dt.date(2026, 11, 26), "remarks": None,
    }
    base.update(changes)
    return base


def register_of(*rows: dict[str, object]) -> Register:
    records = [Record("台账", 3 + i, dict(v)) for i, v in enumerate(rows)]
    return Register("register.xlsx", "", 0, [SheetInfo("台账", 2, {}, [])], records)


def config(language: str = "zh", acknowledgement: bool = False, **documents_options: object) -> Config:
    """The default config; the acknowledgement letter is off unless asked for, so the tests of
    feedback forms and CAPA sheets count only those (test_acknowledgement.py covers the letter)."""
    cfg = Config()
    cfg.register.language = language
    if not acknowledgement:
        cfg.documents.kinds["acknowledgement"] = DocumentKindConfig(when="false")
    for key, value in documents_options.items():
        setattr(cfg.documents, key, value)
    return cfg


def run(tmp_path: Path, register: Register, cfg: Config | None = None, report: ValidationReport | None = None,
        **kw: object) -> documents.GenerateResult:
    return generate(register, report or report_of(), cfg or config(), today=TODAY,
                    out_dir=tmp_path / "docs", **kw)


def docx_text(path: str | Path) -> str:
    """Every paragraph of body (tables included), headers and footers, one per line."""
    doc = Document(str(path))
    roots = [doc.element.body]
    for section in doc.sections:
        roots += [section.header._element, section.footer._element]
    lines = []
    for root in roots:
        for p in root.iter(f"{W}p"):
            lines.append(Paragraph(p, None).text)
    return "\n".join(lines)


def rendered_parts(path: str | Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as package:
        return {n: package.read(n) for n in package.namelist()
                if re.fullmatch(r"word/(document|header\d*|footer\d*)\.xml", n)}


def cjk_runs_without_font(xml: bytes) -> list[str]:
    """Checked here independently of documents.runs_missing_east_asian_font."""
    bad = []
    for run in etree.fromstring(xml).iter(f"{W}r"):
        text = "".join(t.text or "" for t in run.iter(f"{W}t"))
        fonts = run.find(f"{W}rPr/{W}rFonts")
        if CJK.search(text) and (fonts is None or not fonts.get(f"{W}eastAsia")):
            bad.append(text)
    return bad


def assert_clean(path: str | Path) -> str:
    """A sound zip that python-docx opens, no leftover tags, East Asian font on every CJK run."""
    with zipfile.ZipFile(path) as package:
        assert package.testzip() is None
    text = docx_text(path)
    assert "{{" not in text and "{%" not in text and "%}" not in text, text
    for name, xml in rendered_parts(path).items():
        assert cjk_runs_without_font(xml) == [], name
    return text


# -- content ----------------------------------------------------------------------------------------


def test_feedback_form_holds_the_complaint_in_chinese(tmp_path: Path) -> None:
    result = run(tmp_path, register_of(values()))
    (doc,) = result.documents
    assert (doc.kind, doc.status) == (FEEDBACK, CREATED)
    assert Path(doc.path) == tmp_path / "docs" / "2026" / "11" / "KS-2026-0001_客诉反馈单.docx"
    text = assert_clean(doc.path)
    for expected in ("客诉反馈单", "示例烟草零售有限公司", "表单编号：QR-KF-001", "投诉编号：KS-2026-0001",
                     "2026年11月20日", "张三", "13800138000", "中华（硬）", "B20261101", "人民路店",
                     "包装破损，内有受潮现象。", "运输及储存过程不良", "仓库漏水", "当日上门致歉", "更换两条",
                     "200.00", "2026年11月24日", "满意", "王芳", "首问负责人（签字）"):
        assert expected in text, expected
    assert "特殊客诉（" not in text  # the special box only for special complaints


def test_english_form_uses_english_labels_dates_and_list_values(tmp_path: Path) -> None:
    result = run(tmp_path, register_of(values(nature="有效投诉", severity="A")), config("en"))
    kinds = {d.kind: d for d in result.documents}
    assert set(kinds) == {FEEDBACK, CAPA}
    text = assert_clean(kinds[FEEDBACK].path)
    for expected in ("Customer Complaint Feedback Form", "Form No. QR-KF-001", "2026-11-20", "Phone",
                     "Valid", "Transport or storage", "Satisfied", "Closed", "张三"):
        assert expected in text, expected
    assert "年" not in text.replace("张三", "")  # no Chinese date in the English form
    capa = assert_clean(kinds[CAPA].path)
    assert "Corrective and Preventive Action Sheet" in capa
    assert "Form No. QR-KF-002" in capa
    assert kinds[FEEDBACK].path.endswith("_feedback-form.docx")
    assert kinds[CAPA].path.endswith("_capa-sheet.docx")


def test_special_complaint_gets_the_special_box(tmp_path: Path) -> None:
    result = run(tmp_path, register_of(values(special="消协")))
    text = assert_clean(result.documents[0].path)
    assert "特殊客诉（消协）：须立即上报质量负责人" in text


def test_blank_special_prints_no_and_no_special_box(tmp_path: Path) -> None:
    result = run(tmp_path, register_of(values(special=None)))
    text = assert_clean(result.documents[0].path)
    assert "特殊客诉" in text and "否" in text.split("特殊客诉", 1)[1][:20]
    assert "须立即上报质量负责人" not in text


def test_capa_sheet_for_valid_class_a_and_b_and_for_any_corrective_action(tmp_path: Path) -> None:
    rows = [
        values(complaint_id="A-1", nature="有效投诉", severity="A"),  # valid A: CAPA even without action
        values(complaint_id="C-1", nature="有效投诉", severity="C"),  # valid C: no CAPA
        values(complaint_id="C-2", severity="C", corrective_action="1. 维修仓库屋顶\n2. 预防：每月检查仓储环境",
               capa_owner="李明", capa_due=dt.date(2026, 12, 15), capa_done=dt.date(2026, 12, 1)),
    ]
    result = run(tmp_path, register_of(*rows))
    kinds = [(d.complaint_id, d.kind) for d in result.documents]
    assert kinds == [("A-1", FEEDBACK), ("A-1", CAPA), ("C-1", FEEDBACK), ("C-2", FEEDBACK), ("C-2", CAPA)]
    empty = assert_clean(result.documents[1].path)
    assert "纠正预防措施单" in empty and "QR-KF-002" in empty
    assert "台账未填写纠正预防措施" in empty
    capa_path = result.documents[4].path
    assert Path(capa_path).name == "C-2_纠正预防措施单.docx"
    assert_clean(capa_path)
    # one table row per line of the action (the {%tr for %} row repeated), with type, owner, due;
    # the numbers staff typed ("1. ", "2. ") are not printed a second time beside 序号
    table = Document(capa_path).tables[1]
    rows_text = [[c.text for c in row.cells] for row in table.rows]
    assert rows_text == [
        ["序号", "类别", "措施内容", "负责人", "完成期限"],
        ["1", "纠正", "维修仓库屋顶", "李明", "2026年12月15日"],
        ["2", "预防", "预防：每月检查仓储环境", "李明", "2026年12月15日"],
    ]
    assert "已完成" in docx_text(capa_path)


def test_register_text_is_data_escaped_and_never_evaluated(tmp_path: Path) -> None:
    nasty = 'A & B <b>粗体</b> "引号" \'单\'\n第二行\x07\x1b\r\n第三行 {{ 7*7 }} {% if true %}X{% endif %}'
    result = run(tmp_path, register_of(values(description=nasty, customer_name="<w:t>&amp;")))
    path = result.documents[0].path
    text = docx_text(path)  # parses: the XML is not corrupted
    assert 'A & B <b>粗体</b> "引号" \'单\'' in text
    assert "第二行\n第三行 {{ 7*7 }} {% if true %}X{% endif %}" in text  # <w:br/> reads back as \n
    assert "49" not in text
    assert "<w:t>&amp;" in text
    xml = rendered_parts(path)["word/document.xml"].decode("utf-8")
    assert xml.count("<w:br/>") == 2
    assert "\x07" not in xml and "\x1b" not in xml


def test_chinese_header_names_work_as_placeholders(tmp_path: Path) -> None:
    template = prepare_template(documents.template_path(config(), FEEDBACK))
    assert "投诉编号" in template.names  # the shipped zh form uses {{ 投诉编号 }}
    context = documents.build_context(Record("台账", 3, values()), FEEDBACK, config())
    assert context["投诉编号"] == context["complaint_id"] == "KS-2026-0001"
    assert context["产品服务"] == context["product"]  # 产品/服务 without the slash
    assert context["受理日期"] == "2026年11月20日"


# -- incremental ----------------------------------------------------------------------------------


def test_second_run_writes_nothing_and_a_change_rewrites_only_that_document(tmp_path: Path) -> None:
    rows = [values(complaint_id=f"KS-{i}", nature="有效投诉", severity="B") for i in range(3)]
    first = run(tmp_path, register_of(*rows))
    assert first.counts == {CREATED: 6, UPDATED: 0, UNCHANGED: 0, SKIPPED: 0}
    stamps = {d.path: os.stat(d.path).st_mtime_ns for d in first.documents}
    manifest = tmp_path / "docs" / documents.MANIFEST_NAME
    manifest_stamp = manifest.stat().st_mtime_ns

    second = run(tmp_path, register_of(*rows))
    assert second.counts == {CREATED: 0, UPDATED: 0, UNCHANGED: 6, SKIPPED: 0}
    assert {d.path: os.stat(d.path).st_mtime_ns for d in second.documents} == stamps
    assert manifest.stat().st_mtime_ns == manifest_stamp

    rows[1]["resolution"] = "退款并致歉"
    third = run(tmp_path, register_of(*rows))
    changed = [(d.complaint_id, d.kind, d.status) for d in third.documents if d.status != UNCHANGED]
    assert changed == [("KS-1", FEEDBACK, UPDATED), ("KS-1", CAPA, UPDATED)]
    assert "退款并致歉" in docx_text(third.documents[2].path)

    Path(first.documents[0].path).unlink()  # staff deleted a form: it is recreated
    fourth = run(tmp_path, register_of(*rows))
    assert [(d.complaint_id, d.status) for d in fourth.documents if d.status != UNCHANGED] == [("KS-0", CREATED)]

    forced = run(tmp_path, register_of(*rows), force=True)
    assert forced.counts == {CREATED: 0, UPDATED: 6, UNCHANGED: 0, SKIPPED: 0}
    assert not list((tmp_path / "docs").rglob("*.tmp"))  # atomic writes leave no temporaries


def test_company_config_or_template_change_rewrites(tmp_path: Path) -> None:
    register = register_of(values())
    run(tmp_path, register)
    cfg = config()
    cfg.company.name = "新公司"
    result = run(tmp_path, register, cfg)
    assert result.counts[UPDATED] == 1
    assert "新公司" in docx_text(result.documents[0].path)
    template = tmp_path / "form.docx"
    shutil.copyfile(documents.template_path(cfg, FEEDBACK), template)
    cfg.documents.feedback_template = str(template)
    assert run(tmp_path, register, cfg).counts[UNCHANGED] == 1  # same bytes, same inputs
    with zipfile.ZipFile(template, "a") as package:
        package.writestr("customXml/extra.xml", "<x/>")
    assert run(tmp_path, register, cfg).counts[UPDATED] == 1


# -- skipped rows ---------------------------------------------------------------------------------


def test_rows_with_errors_are_skipped_with_the_reason(tmp_path: Path) -> None:
    rows = [values(complaint_id="OK-1"), values(complaint_id="BAD-1", nature="有效投诉", severity="A")]
    report = report_of([error(4, "电话号码无效", "台账!E4")])
    result = run(tmp_path, register_of(*rows), report=report)
    assert [(d.complaint_id, d.kind, d.status) for d in result.documents] == [
        ("OK-1", FEEDBACK, CREATED), ("BAD-1", FEEDBACK, SKIPPED), ("BAD-1", CAPA, SKIPPED)]
    assert result.documents[1].reason == "该行有错误，未生成：台账!E4: 电话号码无效"
    assert result.documents[1].path == ""
    assert not list((tmp_path / "docs").rglob("BAD-1*"))


def test_column_errors_block_every_row(tmp_path: Path) -> None:
    report = report_of([error(None, "缺少“联系电话”列")])
    result = run(tmp_path, register_of(values(complaint_id="X"), values(complaint_id="Y")), report=report)
    assert result.counts == {CREATED: 0, UPDATED: 0, UNCHANGED: 0, SKIPPED: 2}
    assert all("台账有整列错误" in d.reason and "缺少“联系电话”列" in d.reason for d in result.documents)


def test_only_filters_and_reports_unknown_ids(tmp_path: Path) -> None:
    result = run(tmp_path, register_of(values(complaint_id="A"), values(complaint_id="B")), only=["B", "Z"])
    assert [(d.complaint_id, d.status) for d in result.documents] == [("B", CREATED), ("Z", SKIPPED)]
    assert result.documents[1].reason == "台账中没有此投诉编号"
    # Numbers typed in another case are found.
    again = run(tmp_path / "again", register_of(values(complaint_id="KS-2026-001")), only=["ks-2026-001"])
    assert [(d.complaint_id, d.status) for d in again.documents] == [("KS-2026-001", CREATED)]


# -- names ------------------------------------------------------------------------------------------


def test_file_names_from_patterns_are_sanitised(tmp_path: Path) -> None:
    cfg = config(folder_pattern="{year}/{department}", feedback_name="{complaint_id}_{customer_name}.docx")
    result = run(tmp_path, register_of(values(complaint_id="../KS:1*?", customer_name="a/b\\c")), cfg)
    path = Path(result.documents[0].path)
    assert path.parent == tmp_path / "docs" / "2026" / "质量部"
    # Unsafe characters are replaced and a short hash of the original keeps the name unique.
    assert path.name == "__KS_1__~74cc50_a_b_c~7e65aa.docx"
    assert_clean(path)


def test_numbers_that_differ_only_in_unsafe_characters_get_their_own_files(tmp_path: Path) -> None:
    rows = [values(complaint_id=cid, customer_name=name)
            for cid, name in (("KS/1", "甲"), ("KS_1", "乙"), ("KS:1", "丙"))]
    result = run(tmp_path, register_of(*rows))
    paths = [d.path for d in result.documents]
    assert [d.status for d in result.documents] == [CREATED] * 3
    assert len(set(paths)) == 3
    assert [docx_text(p).count(name) > 0 for p, name in zip(paths, "甲乙丙", strict=True)] == [True] * 3


def test_a_very_long_chinese_number_keeps_both_documents_and_fits_the_file_system(tmp_path: Path) -> None:
    result = run(tmp_path, register_of(values(complaint_id="投诉" * 60, nature="有效投诉", severity="A")))
    assert [(d.kind, d.status) for d in result.documents] == [(FEEDBACK, CREATED), (CAPA, CREATED)]
    names = [Path(d.path).name for d in result.documents]
    assert names[0].endswith("_客诉反馈单.docx") and names[1].endswith("_纠正预防措施单.docx")
    assert all(len(n.encode("utf-8")) <= 200 for n in names)


def test_two_rows_that_would_share_a_file_do_not_overwrite_each_other(tmp_path: Path) -> None:
    # A pattern that does not tell complaints apart: the second one is skipped, never written over.
    cfg = config(feedback_name="{department}.docx")
    result = run(tmp_path, register_of(values(complaint_id="A"), values(complaint_id="B")), cfg)
    assert [(d.complaint_id, d.status) for d in result.documents] == [("A", CREATED), ("B", SKIPPED)]
    assert result.documents[1].reason.startswith("文件名 2026/11/质量部.docx 与 台账!3 行的文件相同")


def test_unknown_name_in_a_file_pattern_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[documents\].feedback_name 中的 \{customer\} 不是字段名"):
        run(tmp_path, register_of(values()), config(feedback_name="{customer}.docx"))


# -- templates: pre-flight, split runs, real files ----------------------------------------------------


def test_shipped_templates_pass_the_preflight() -> None:
    for language in ("zh", "en"):
        checks = check_templates(config(language))
        assert [c.kind for c in checks] == [FEEDBACK, CAPA, "acknowledgement"]
        assert all(c.ok for c in checks)
        names = {p.name for p in checks[1].placeholders}
        assert {"company_name", "form_no", "complaint_id", "actions", "capa_owner", "capa_due"} <= names


def test_unknown_placeholder_is_refused_before_anything_is_written(tmp_path: Path, data_dir: Path) -> None:
    cfg = config(feedback_template=str(data_dir / "doc-unknown-placeholder.docx"))
    check = check_template(cfg.documents.feedback_template)
    assert [(p.name, p.tag) for p in check.unknown] == [("customer_nmae", "{{ customer_nmae }}"),
                                                         ("vip_level", "{% if vip_level %}")]
    with pytest.raises(TemplateError) as caught:
        run(tmp_path, register_of(values()), cfg)
    message = str(caught.value)
    assert "doc-unknown-placeholder.docx" in message
    assert "customer_nmae, vip_level" in message and "word/document.xml ¶" in message
    assert not (tmp_path / "docs").exists()


def test_placeholders_split_across_runs_render(tmp_path: Path, data_dir: Path) -> None:
    cfg = config(feedback_template=str(data_dir / "doc-split-runs.docx"))
    row = values(special="监管部门", corrective_action="一\n二")
    result = run(tmp_path, register_of(row), cfg)
    path = result.documents[0].path
    text = assert_clean(path)
    assert "客户：张三" in text and "编号：KS-2026-0001" in text and "特殊：监管部门" in text
    assert [[c.text for c in r.cells] for r in Document(path).tables[0].rows] == [["1", "一"], ["2", "二"]]


def test_preflight_lists_poi_tl_tags_split_across_runs(realfiles: Path) -> None:
    check = check_template(realfiles / "d04_zh_meeting_record_form_split_runs.docx")
    assert [p.name for p in check.placeholders] == ["title", "date", "address", "reports", "record"]
    assert [p.tag for p in check.placeholders][:2] == ["{{title}}", "{{date}}"]
    assert {p.name for p in check.unknown} == {"title", "date", "address", "reports", "record"}


def test_poi_tl_form_renders_through_the_engine(tmp_path: Path, realfiles: Path) -> None:
    template = prepare_template(realfiles / "d04_zh_meeting_record_form_split_runs.docx")
    out = tmp_path / "meeting.docx"
    out.write_bytes(template.render({"title": "质量例会 & 复盘", "date": "2026年11月20日", "address": "三楼会议室",
                                     "reports": "", "record": "王芳"}))
    text = assert_clean(out)
    assert "质量例会 & 复盘" in text and "三楼会议室" in text and "王芳" in text


def test_docxtpl_order_table_with_split_row_tags(tmp_path: Path, realfiles: Path) -> None:
    template = prepare_template(realfiles / "d15_jinja_order_table_split_tags.docx")
    assert {"customer_name", "items", "total_price", "is_paid", "in_europe", "company_name"} <= template.names
    items = [{"desc": "中华（硬）<条>", "qty": 2, "price": 90.0}, {"desc": "Pen & ink", "qty": 1, "price": 3.5}]
    context = {"customer_name": "张三", "items": items, "total_price": 183.5, "is_paid": False,
               "in_europe": True, "company_name": "示例公司"}
    out = tmp_path / "order.docx"
    out.write_bytes(template.render(context))
    text = assert_clean(out)
    rows = [[c.text for c in r.cells] for r in Document(str(out)).tables[0].rows]
    # the {%tr for %} row repeated once per item (Price is a merged cell: python-docx shows it twice)
    assert [r[0] for r in rows] == ["Description", "中华（硬）<条>", "Pen & ink", "Total"]
    assert rows[1][-1] == "90" and rows[2][-1] == "3.5" and rows[3][-1] == "183.5"
    assert "Dear 张三," in text and "Please, pay your order : 183.5 Euros." in text
    assert "already paid" not in text


# -- command line ------------------------------------------------------------------------------------


def test_check_templates_command(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    assert main(["check-templates"]) == 0
    out = capsys.readouterr().out
    assert "客诉反馈单：" in out and "complaint_id" in out and "全部占位符都有字段提供。" in out
    assert main(["check-templates", str(data_dir / "doc-unknown-placeholder.docx"), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [u["name"] for u in data["templates"][0]["unknown"]] == ["customer_nmae", "vip_level"]


def _write_config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[documents]\ndir = "docs"\n{extra}\n[documents.kinds.acknowledgement]\nwhen = "false"\n',
                    encoding="utf-8")
    return path


def test_generate_command_on_the_example_register(tmp_path: Path, example_register: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(_write_config(tmp_path))
    args = ["generate", "--config", cfg, "--register", str(example_register), "--today", "2026-11-20"]
    code = main([*args, "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    created = [d for d in data["documents"] if d["status"] == CREATED]
    skipped = [d for d in data["documents"] if d["status"] == SKIPPED]
    assert created and skipped and code == 1  # 1: some rows not filed because of register errors
    assert all(d["reason"] for d in skipped)
    assert set(data["documents"][0]) == {"complaint_id", "kind", "path", "status", "reason", "blocked_by"}
    for doc in created:
        assert_clean(doc["path"])
    # the JSON the command prints is what the library returns
    from toolkit.config import load_config
    from toolkit.register import read_register
    from toolkit.validate import validate
    config_obj = load_config(cfg)
    config_obj.register.path = str(example_register)
    register = read_register(config_obj)
    library = generate(register, validate(register, config_obj, TODAY), config_obj, today=TODAY)
    assert json.loads(json.dumps(library.to_dict()))["documents"] == [
        {**d, "status": UNCHANGED if d["status"] == CREATED else d["status"]} for d in data["documents"]]

    assert main(args) == 1
    out = capsys.readouterr().out
    assert "没有变化，未写入任何文档。" in out and f"新建 0，更新 0，未变 {len(created)}" in out


def test_generate_command_refuses_an_unknown_placeholder(tmp_path: Path, example_register: Path,
                                                         data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = (data_dir / "doc-unknown-placeholder.docx").as_posix()
    cfg = _write_config(tmp_path, f'feedback_template = "{template}"')
    code = main(["generate", "--config", str(cfg), "--register", str(example_register), "--today", "2026-11-20"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("错误：模板 ") and "customer_nmae" in err and "check-templates" in err
    assert not (tmp_path / "docs").exists()


def test_many_documents_in_worker_processes(tmp_path: Path) -> None:
    # Enough documents for the pool to be worth starting (stage._POOL_THRESHOLD).
    count = _POOL_THRESHOLD + 5
    rows = [values(complaint_id=f"KS-{i:03d}", description=f"第 {i} 条 & <内容>") for i in range(count)]
    cfg = config(workers=2)
    result = run(tmp_path, register_of(*rows), cfg)
    assert result.counts[CREATED] == count
    for i in (0, count - 1):
        assert f"第 {i} 条 & <内容>" in assert_clean(result.documents[i].path)
    assert run(tmp_path, register_of(*rows), cfg).counts[UNCHANGED] == count


# -- PDF ----------------------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdfunite") is None,
                    reason="LibreOffice and pdfunite are needed")
def test_pdf_and_print_batch(tmp_path: Path) -> None:
    rows = [values(complaint_id="P-1", nature="有效投诉", severity="A", special="媒体"), values(complaint_id="P-2")]
    result = run(tmp_path, register_of(*rows), pdf=True, print_batch=True)
    assert result.notes == []
    assert len(result.pdf) == 3
    for pdf in result.pdf:
        assert Path(pdf).read_bytes().startswith(b"%PDF")
    batch = Path(result.print_batch)
    assert batch.name == "2026-11-20_print-batch.pdf"
    info = subprocess.run(["pdfinfo", str(batch)], capture_output=True, text=True, check=False).stdout
    if info:
        assert re.search(r"Pages:\s+3\b", info)
    fonts = subprocess.run(["pdffonts", result.pdf[0]], capture_output=True, text=True, check=False).stdout
    if fonts:
        assert "CJK" in fonts  # Chinese text set in a CJK font, not boxes

    again = run(tmp_path, register_of(*rows), pdf=True, print_batch=True)
    assert again.pdf == [] and again.print_batch == ""
    assert again.notes == ["今天没有新建或更新的文件，无需打印。"]


def test_pdf_without_libreoffice_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    result = run(tmp_path, register_of(values()), pdf=True)
    assert result.counts[CREATED] == 1
    assert result.notes == [documents.translate(documents.MESSAGES, "no-soffice", "zh")]



def test_a_document_that_cannot_be_written_is_skipped_and_the_rest_written(tmp_path: Path) -> None:
    blocked = tmp_path / "docs" / "2026" / "11" / "B_客诉反馈单.docx"
    blocked.mkdir(parents=True)  # os.replace onto a folder fails, as onto a file Word holds open on Windows
    result = run(tmp_path, register_of(values(complaint_id="A"), values(complaint_id="B")))
    assert [(d.complaint_id, d.status) for d in result.documents] == [("A", CREATED), ("B", SKIPPED)]
    assert result.documents[1].reason.startswith(f"无法写入 {blocked}：")
    assert "请关闭后重试" in result.documents[1].reason
    manifest = json.loads((tmp_path / "docs" / documents.MANIFEST_NAME).read_text(encoding="utf-8"))
    assert list(manifest["documents"]) == ["2026/11/A_客诉反馈单.docx"]


def test_check_templates_suggests_and_lists_names(tmp_path: Path, data_dir: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check-templates", str(data_dir / "doc-unknown-placeholder.docx"), "--names",
                 "--config", str(_write_config(tmp_path))])
    out = capsys.readouterr().out
    assert code == 1
    assert "customer_nmae" in out and "是否应为 customer_name" in out
    assert "  complaint_id / 投诉编号" in out
    assert "  product / 产品服务" in out


def test_only_a_documents_own_content_blocks_it(tmp_path: Path) -> None:
    """A Chinese-character handler e-mail stops that row's reminders, not the customer's form;
    the skipped list says which finding blocked which document."""
    bad_mail = Finding("bad-email", ERROR, "台账", 3, "R", "台账!R3", "handler_email", "A", "李明@example.com",
                       "负责人邮箱不是邮箱地址")
    bad_phone = Finding("bad-phone", ERROR, "台账", 4, "F", "台账!F4", "customer_phone", "B", "12", "联系电话不对")
    result = run(tmp_path, register_of(values(complaint_id="A"), values(complaint_id="B")),
                 report=report_of([bad_mail, bad_phone]))
    assert [(d.complaint_id, d.status) for d in result.documents] == [("A", CREATED), ("B", SKIPPED)]
    assert result.documents[1].blocked_by == ["bad-phone 台账!F4"]
    assert "台账!F4: 联系电话不对" in result.documents[1].reason


def test_validate_marks_the_address_rule_as_not_blocking_documents(example_register: Path) -> None:
    from toolkit.config import Config as _Config
    from toolkit.register import read_register
    from toolkit.validate import RULES, blocks_documents, validate

    assert {r.name for r in RULES if not r.blocks_documents} == {"addresses"}
    cfg = _Config()
    cfg.register.path = str(example_register)
    report = validate(read_register(cfg), cfg, TODAY)
    errors = [f for found in report.errors_by_row().values() for f in found]
    kept = [f for found in report.document_errors_by_row().values() for f in found]
    assert kept == [f for f in errors if blocks_documents(f, report.non_blocking)]
    assert not any(f.field in ("handler_email", "capa_owner_email") for f in kept)


def test_a_rerun_on_the_same_register_bytes_trusts_the_last_run_only_while_its_files_are_there(
        tmp_path: Path) -> None:
    rows = [values(complaint_id="A"), values(complaint_id="B", nature="有效投诉", severity="A")]
    register = register_of(*rows)
    register.sha256 = "ab" * 32  # the same bytes as last time
    bad = report_of([error(4, "联系电话不对", "台账!F4")])
    first = run(tmp_path, register, report=bad)
    assert (tmp_path / "docs" / documents.manifest.SNAPSHOT_NAME).exists()
    again = run(tmp_path, register, report=bad)
    assert [(d.complaint_id, d.kind, d.status) for d in again.documents] == [
        (d.complaint_id, d.kind, UNCHANGED if d.status == CREATED else d.status) for d in first.documents]
    assert again.documents[1].blocked_by == first.documents[1].blocked_by
    # a deleted file is recreated, a finding gone means the row's documents are filed
    Path(first.documents[0].path).unlink()
    assert run(tmp_path, register, report=bad).counts[CREATED] == 1
    fixed = run(tmp_path, register)
    assert fixed.counts[SKIPPED] == 0 and fixed.counts[CREATED] == 2


def test_a_snapshot_cut_short_is_not_taken_for_a_run_with_fewer_documents(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # The snapshot is read a slice a line; a file that ends after a whole slice (its count line
    # lost) must send the stage the long way, not report the documents it lacks as never there.
    monkeypatch.setattr(documents.manifest, "_SLICE", 2)
    register = register_of(*(values(complaint_id=f"K{i}") for i in range(5)))
    register.sha256 = "cd" * 32
    first = run(tmp_path, register)
    snapshot = tmp_path / "docs" / documents.manifest.SNAPSHOT_NAME
    lines = snapshot.read_bytes().splitlines(keepends=True)
    assert lines[-1] == f"end {len(first.documents)}\n".encode() and len(lines) > 3
    again = run(tmp_path, register)
    assert [(d.complaint_id, d.kind, d.relpath) for d in again.documents] == [
        (d.complaint_id, d.kind, d.relpath) for d in first.documents]
    for cut in (lines[:-1], lines[:2], [*lines[:-1], b"end 1\n"]):
        snapshot.write_bytes(b"".join(cut))
        assert documents.manifest.load_snapshot(snapshot, lines[0].decode().strip()) is not None
        assert len(run(tmp_path, register).documents) == len(first.documents)


@pytest.mark.parametrize("same_hash", [False, True])
def test_document_paths_are_claimed_without_regard_to_case_even_when_two_paths_share_a_hash(
        monkeypatch: pytest.MonkeyPatch, same_hash: bool) -> None:
    from toolkit.documents import stage

    if same_hash:  # every path "collides": only the paths themselves may decide
        monkeypatch.setattr(stage._Claims, "_key", staticmethod(lambda folded: 0))
    from toolkit.model import Record

    row = {n: Record("台账", n, {}) for n in (3, 4, 8, 9)}
    claims = stage._Claims()
    assert claims.claim("2026-11/KS-1 客诉反馈单.docx", row[3]) is row[3]
    assert claims.claim("2026-11/KS-1 纠正预防措施单.docx", row[3]) is row[3]
    assert claims.claim("2026-11/KS-2 客诉反馈单.docx", row[4]) is row[4]
    assert claims.claim("2026-11/ks-1 客诉反馈单.docx", row[9]) is row[3]  # the same file on Windows
    assert claims.claim("2026-11/KS-1 纠正预防措施单.DOCX", row[9]) is row[3]
    assert claims.claim("2026-11/Ks-2 客诉反馈单.docx", row[8]) is row[4]
    assert claims.claim("2026-11/KS-3 客诉反馈单.docx", row[8]) is row[8]
    assert claims.claim("2026-11/KS-2 客诉反馈单.docx", row[4]) is row[4]


def test_two_complaints_whose_forms_would_share_a_file_name_skip_the_second_naming_the_first_row(
        tmp_path: Path) -> None:
    # A name pattern without the complaint number: the second complaint's form would overwrite
    # the first's (on Windows "KS-1" and "ks-1" are one file too). It is skipped, not written.
    cfg = config(feedback_name="{received_on} 反馈单")
    result = run(tmp_path, register_of(values(complaint_id="KS-1"), values(complaint_id="ks-2")), cfg=cfg)
    feedback = [d for d in result.documents if d.kind == "feedback"]
    assert [d.status for d in feedback] == [CREATED, SKIPPED]
    assert "台账!3" in feedback[1].reason and "反馈单" in feedback[1].reason
    assert not feedback[1].path


def test_the_folder_listing_shares_the_manifests_path_strings(tmp_path: Path) -> None:
    # The listing and the manifest each held their own copy of every path (50 MB at 227k
    # documents): after share() the listing holds the manifest's strings, and the same paths.
    from toolkit.documents.manifest import ExistingFiles

    for name in ("2026-11/a.docx", "2026-11/b.docx", "2026-12/c.docx", "loose.docx"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    existing = ExistingFiles(str(tmp_path))
    existing.list_all()
    before = set(existing.paths)
    recorded = {"".join(["2026-11/", "a.docx"]): "h1", "".join(["2026-12/", "c.docx"]): "h2", "gone.docx": "h3"}
    existing.share(recorded)
    assert existing.paths == before
    mine = {id(p) for p in existing.paths}
    assert all(id(key) in mine for key in recorded if key != "gone.docx")
    assert "2026-11/b.docx" in existing and "gone.docx" not in existing
