"""``check-templates`` tells the truth about every template, through the real command; document
kinds from config (``[documents.kinds."..."]``) with their sandboxed ``when``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from toolkit.cli import main
from toolkit.config import load_config
from toolkit.documents import CREATED, SKIPPED, generate
from toolkit.model import Record, Register, SheetInfo
from toolkit.validate import ValidationReport


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["check-templates", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def check_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = main(["check-templates", *args, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def codes(data: dict, index: int = 0) -> list[str]:
    return [p["code"] for p in data["templates"][index]["problems"]]


def test_mergefields_are_listed_with_where_each_is(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    code, out, _ = check(capsys, str(data_dir / "doc-mailmerge-feedback-form.docx"))
    assert code == 0
    assert "受理日期" in out and 'word/document.xml ¶5  [合并域] MERGEFIELD 受理日期 \\@ "yyyy年M月d日"' in out
    assert "word/header1.xml ¶1  [合并域] MERGEFIELD 投诉编号" in out
    assert "word/footer1.xml ¶1  [合并域] MERGEFIELD 客户名称" in out


def test_unknown_mergefields_and_tags_get_the_closest_names(capsys: pytest.CaptureFixture[str],
                                                            realfiles: Path, data_dir: Path) -> None:
    code, data = check_json(capsys, str(realfiles / "d10_mergefields_word2010_complex_fields.docx"))
    assert code == 1
    unknown = {u["name"] for u in data["templates"][0]["unknown"]}
    assert {"Voornaam", "Achternaam", "Postcode"} <= unknown
    code, data = check_json(capsys, str(data_dir / "doc-two-syntax-errors.docx"))
    (upper,) = [u for u in data["templates"][0]["unknown"] if u["name"] == "CUSTOMER_NAME"]
    assert upper["suggestions"] == ["customer_name"]  # matched ignoring case


def test_a_template_without_placeholders_is_a_warning_in_both_commands(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    template = data_dir / "doc-no-placeholder.docx"
    code, out, _ = check(capsys, str(template))
    assert code == 0
    assert "[no-placeholder]" in out and "每条投诉都会得到同样的表单" in out
    config = tmp_path / "config.toml"
    config.write_text(f'[documents]\nfeedback_template = "{template.as_posix()}"\n', encoding="utf-8")
    cfg = load_config(config)
    record = Record("台账", 3, {"complaint_id": "K-1", "received_on": dt.date(2026, 11, 2)})
    result = generate(Register("r.xlsx", "", 0, [SheetInfo("台账", 2, {}, [])], [record]),
                      ValidationReport("r.xlsx", 1, [], {"error": 0}), cfg, today=dt.date(2026, 11, 20),
                      out_dir=tmp_path / "docs")
    assert any("没有任何占位符" in note and "每条投诉都会得到同样的表单" in note for note in result.notes)


def test_legacy_form_fields_and_bound_content_controls_are_named(
        capsys: pytest.CaptureFixture[str], data_dir: Path, realfiles: Path) -> None:
    code, out, _ = check(capsys, str(data_dir / "doc-form-fields.docx"))
    assert code == 0  # warnings: the form is still filed, the user is told what will stay blank
    assert "旧式窗体域 FORMTEXT 不会被填写" in out and "FORMCHECKBOX" in out
    code, data = check_json(capsys, str(realfiles / "d08_zh_content_controls_in_cells.docx"))
    bound = [p for p in data["templates"][0]["problems"] if p["code"] == "bound-control"]
    assert len(bound) == 2 and "绑定到文档属性" in bound[0]["message"]


def test_another_engines_syntax_is_named_with_the_equivalent(
        capsys: pytest.CaptureFixture[str], data_dir: Path, realfiles: Path) -> None:
    code, data = check_json(capsys, str(data_dir / "doc-other-engines.docx"))
    assert code == 1
    found = codes(data)
    assert found == ["poi-loop", "poi-condition", "poi-picture", "dollar", "bracket", "guillemets"]
    messages = " ".join(p["message"] for p in data["templates"][0]["problems"])
    assert "{%tr for a in actions %}" in messages and "{{ customer_name }}" in messages
    assert "插入合并域" in messages
    # the tag after the foreign ones is still checked and listed
    assert [p["name"] for p in data["templates"][0]["placeholders"]] == ["投诉编号"]
    # the real poi-tl 付款通知书: no more "unexpected char '#' at 8373"
    code, out, _ = check(capsys, str(realfiles / "d03_zh_payment_notice_form_tables.docx"))
    assert code == 1 and "{{#order}} 是 poi-tl 的表格循环写法" in out and "unexpected char" not in out


def test_attributes_of_loop_variables_are_checked(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    code, out, _ = check(capsys, str(data_dir / "doc-loop-attribute.docx"))
    assert code == 1
    assert "a.desc 不存在" in out and "a.no, a.type, a.text, a.owner, a.due" in out
    assert "a.owner 不存在" not in out


def test_every_tag_is_checked_not_only_up_to_the_first_bad_one(capsys: pytest.CaptureFixture[str],
                                                               data_dir: Path) -> None:
    code, data = check_json(capsys, str(data_dir / "doc-two-syntax-errors.docx"))
    assert code == 1
    problems = data["templates"][0]["problems"]
    assert [(p["code"], p["paragraph"]) for p in problems] == [("syntax", 1), ("syntax", 3)]
    assert {p["name"] for p in data["templates"][0]["placeholders"]} == {"CUSTOMER_NAME", "description"}


def test_a_missing_template_is_one_line_and_exit_2_and_json_stays_one_document(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    missing = tmp_path / "没有这个模板.docx"
    code, out, err = check(capsys, str(missing), str(data_dir / "doc-mailmerge-feedback-form.docx"))
    assert code == 2
    assert err.strip().count("\n") == 0 and err.startswith("错误：模板 ") and "不存在" in err
    assert "MERGEFIELD 受理日期" in out  # the other file is still checked
    (tmp_path / "folder.docx").mkdir()
    not_docx = tmp_path / "文本.docx"
    not_docx.write_text("not a zip", encoding="utf-8")
    code, data = check_json(capsys, str(missing), str(tmp_path / "folder.docx"), str(not_docx),
                            str(data_dir / "doc-no-placeholder.docx"))
    assert code == 2
    fatal = [t["fatal"] for t in data["templates"]]
    assert "不存在" in fatal[0] and "文件夹" in fatal[1] and "无法读取模板" in fatal[2] and fatal[3] == ""


def test_generate_with_a_wrong_template_path_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         example_register: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[documents]\nfeedback_template = "nowhere/表单.docx"\n', encoding="utf-8")
    code = main(["generate", "--config", str(config), "--register", str(example_register),
                 "--today", "2026-11-20"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("错误：模板 ") and "Traceback" not in err and err.count("\n") == 1


# -- kinds from config ------------------------------------------------------------------------------


def test_a_kind_from_config_with_a_when_expression(tmp_path: Path, data_dir: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    template = (data_dir / "doc-mailmerge-feedback-form.docx").as_posix()
    config = tmp_path / "config.toml"
    config.write_text(f'[documents.kinds."赔付审批单"]\ntemplate = "{template}"\nwhen = "compensation > 0"\n'
                      'form_no = "QR-KF-009"\n', encoding="utf-8")
    cfg = load_config(config)
    rows = [Record("台账", 3, {"complaint_id": "K-1", "received_on": dt.date(2026, 11, 2), "compensation": 200.0}),
            Record("台账", 4, {"complaint_id": "K-2", "received_on": dt.date(2026, 11, 2), "compensation": None})]
    result = generate(Register("r.xlsx", "", 0, [SheetInfo("台账", 2, {}, [])], rows),
                      ValidationReport("r.xlsx", 2, [], {"error": 0}), cfg, today=dt.date(2026, 11, 20),
                      out_dir=tmp_path / "docs")
    made = [(d.complaint_id, d.kind, Path(d.path).name) for d in result.documents if d.kind == "赔付审批单"]
    assert made == [("K-1", "赔付审批单", "K-1_赔付审批单.docx")]
    assert all(d.status == CREATED for d in result.documents)
    code, out, _ = check(capsys, "--config", str(config))
    assert code == 0 and "赔付审批单：" in out


@pytest.mark.parametrize(("when", "expected"), [
    ("compensation >", "不是有效的条件"),
    ("vip_level == 'A'", "未知名称 vip_level"),
])
def test_a_bad_when_is_reported_by_check_templates(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   when: str, expected: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[documents.kinds.acknowledgement]\nwhen = "{when}"\n', encoding="utf-8")
    code, out, _ = check(capsys, "--config", str(config))
    assert code == 1 and expected in out


def test_a_when_that_cannot_be_worked_out_skips_that_document_and_says_why(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[documents.kinds.acknowledgement]\nwhen = "received_on > 5"\n', encoding="utf-8")
    cfg = load_config(config)
    rows = [Record("台账", 3, {"complaint_id": "K-1", "received_on": dt.date(2026, 11, 2)})]
    result = generate(Register("r.xlsx", "", 0, [SheetInfo("台账", 2, {}, [])], rows),
                      ValidationReport("r.xlsx", 1, [], {"error": 0}), cfg, today=dt.date(2026, 11, 20),
                      out_dir=tmp_path / "docs")
    (ack,) = [d for d in result.documents if d.kind == "acknowledgement"]
    assert ack.status == SKIPPED and "无法计算" in ack.reason and "TypeError" in ack.reason


def test_a_kind_from_config_without_a_template_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[documents.kinds."赔付审批单"]\nwhen = "compensation > 0"\n', encoding="utf-8")
    code, out, err = check(capsys, "--config", str(config))
    assert code == 2 and "没有 template" in err and "客诉反馈单：" in out
