"""Documents filed earlier that no row files any more (a row's path changed, a row was deleted):
moved into 已作废/ at their original path, named with the reason, never deleted nor overwritten.

Real registers (in memory and the example .xlsx edited with openpyxl), real .docx files, real folders.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook
from test_documents import config, docx_text, error, register_of, report_of, run, values
from test_job import project, set_key

from toolkit import documents
from toolkit.cli import main
from toolkit.config import load_config
from toolkit.documents import CAPA, CREATED, FEEDBACK, SKIPPED, UNCHANGED, UPDATED
from toolkit.documents import superseded as sup
from toolkit.job import run_job
from toolkit.model import ERROR, Finding

BY_DEPARTMENT = "{year}/{department}"


def recorded(tmp_path: Path) -> dict[str, str]:
    return json.loads((tmp_path / "docs" / documents.MANIFEST_NAME).read_text(encoding="utf-8"))["documents"]


def files(tmp_path: Path) -> list[str]:
    docs = tmp_path / "docs"
    return sorted(p.relative_to(docs).as_posix() for p in docs.rglob("*.docx"))


def test_a_form_whose_department_changes_is_moved_aside_and_its_new_one_counted_as_an_update(
        tmp_path: Path) -> None:
    cfg = config(folder_pattern=BY_DEPARTMENT)
    rows = [values(complaint_id="KS-1", department="生产部"), values(complaint_id="KS-2")]
    run(tmp_path, register_of(*rows), cfg)
    rows[0]["department"] = "质量部"
    result = run(tmp_path, register_of(*rows), cfg)

    assert result.counts == {CREATED: 0, UPDATED: 1, UNCHANGED: 1, SKIPPED: 0}
    assert [(d.relpath, d.reason, d.complaint_id, d.kind, d.replaced_by, d.moved_to, d.error)
            for d in result.superseded] == [
        ("2026/生产部/KS-1_客诉反馈单.docx", sup.MOVED, "KS-1", FEEDBACK, "2026/质量部/KS-1_客诉反馈单.docx",
         "已作废/2026/生产部/KS-1_客诉反馈单.docx", "")]
    assert result.superseded[0].message == "KS-1 的客诉反馈单现存为 2026/质量部/KS-1_客诉反馈单.docx"
    # One form for the complaint in the folders staff file from; the old one kept, as it was.
    assert files(tmp_path) == ["2026/质量部/KS-1_客诉反馈单.docx", "2026/质量部/KS-2_客诉反馈单.docx",
                               "已作废/2026/生产部/KS-1_客诉反馈单.docx"]
    assert "生产部" in docx_text(tmp_path / "docs/已作废/2026/生产部/KS-1_客诉反馈单.docx")
    assert set(recorded(tmp_path)) == {"2026/质量部/KS-1_客诉反馈单.docx", "2026/质量部/KS-2_客诉反馈单.docx"}

    again = run(tmp_path, register_of(*rows), cfg)  # the job is done: nothing more to move
    assert again.superseded == [] and again.counts[UNCHANGED] == 2


def test_a_month_change_a_fixed_number_and_a_deleted_row_each_say_why(tmp_path: Path) -> None:
    rows = [values(complaint_id="KS-1", nature="有效投诉", severity="B"), values(complaint_id="KS-5"),
            values(complaint_id="KS-9")]
    run(tmp_path, register_of(*rows))
    rows[0]["received_on"] = dt.date(2026, 10, 30)  # 11 -> 10: both its documents move
    rows[1]["complaint_id"] = "KS-105"  # staff fixed a typo
    del rows[2]  # and deleted a row
    result = run(tmp_path, register_of(*rows))
    why = {d.relpath: (d.reason, d.message) for d in result.superseded}
    assert why == {
        "2026/11/KS-1_客诉反馈单.docx": (sup.MOVED, "KS-1 的客诉反馈单现存为 2026/10/KS-1_客诉反馈单.docx"),
        "2026/11/KS-1_纠正预防措施单.docx": (sup.MOVED, "KS-1 的纠正预防措施单现存为 2026/10/KS-1_纠正预防措施单.docx")}
    statuses = {(d.complaint_id, d.kind): d.status for d in result.documents}
    assert statuses[("KS-1", FEEDBACK)] == UPDATED  # the same complaint's form, moved
    assert statuses[("KS-105", FEEDBACK)] == CREATED  # another number: a new complaint for the toolkit
    assert all(d.moved_to == "已作废/" + d.relpath for d in result.superseded)
    # A number no row has any more may be a fixed typo, a deleted row or rows moved to another
    # register (a new year's, an archive): its forms are still records, never called void. They
    # stay, are named once with what to do, and are no longer tracked.
    assert [p for p in files(tmp_path) if p.startswith("2026/11/")] == [
        "2026/11/KS-105_客诉反馈单.docx", "2026/11/KS-5_客诉反馈单.docx", "2026/11/KS-9_客诉反馈单.docx"]
    (note,) = [n for n in result.notes if "台账中已没有生成它们的行" in n]
    assert note.startswith("有 2 份旧文档（2026/11/KS-5_客诉反馈单.docx、2026/11/KS-9_客诉反馈单.docx）")
    assert "请把旧文件移到 已作废/ 文件夹" in note
    assert not {"2026/11/KS-5_客诉反馈单.docx", "2026/11/KS-9_客诉反馈单.docx"} & set(recorded(tmp_path))
    rows[0]["resolution"] = "已调换"  # the next run after a change says nothing more of them
    assert not [n for n in run(tmp_path, register_of(*rows)).notes if "台账中已没有生成它们的行" in n]


def test_a_capa_sheet_no_longer_needed_is_moved_aside(tmp_path: Path) -> None:
    rows = [values(complaint_id="KS-1", nature="有效投诉", severity="B", resolution="", immediate_action="",
                   cause_analysis="")]
    first = run(tmp_path, register_of(*rows))
    assert [d.kind for d in first.documents] == [FEEDBACK, CAPA]
    rows[0].update(nature="咨询型", severity="C")
    result = run(tmp_path, register_of(*rows))
    assert [d.kind for d in result.documents] == [FEEDBACK]
    assert [(d.relpath, d.reason, d.message) for d in result.superseded] == [
        ("2026/11/KS-1_纠正预防措施单.docx", sup.NOT_NEEDED, "投诉 KS-1 已不再需要纠正预防措施单")]


def test_a_row_with_errors_keeps_what_it_filed_even_when_its_path_changed(tmp_path: Path) -> None:
    cfg = config(folder_pattern=BY_DEPARTMENT)
    rows = [values(complaint_id="KS-1", department="生产部"), values(complaint_id="KS-2")]
    run(tmp_path, register_of(*rows), cfg)
    rows[0]["department"] = "质量部"
    rows[0]["customer_phone"] = "123"
    blocked = run(tmp_path, register_of(*rows), cfg, report=report_of([error(3, "电话号码无效", "台账!E3")]))
    assert blocked.superseded == [] and blocked.counts[SKIPPED] == 1
    assert "2026/生产部/KS-1_客诉反馈单.docx" in files(tmp_path)
    assert "2026/生产部/KS-1_客诉反馈单.docx" in recorded(tmp_path)
    # Fixed: the form is filed at its new path and the old one moved aside.
    fixed = run(tmp_path, register_of(*rows), cfg)
    assert [(d.relpath, d.reason) for d in fixed.superseded] == [("2026/生产部/KS-1_客诉反馈单.docx", sup.MOVED)]


def test_a_row_with_errors_keeps_its_forms_when_the_name_pattern_hides_the_number(tmp_path: Path) -> None:
    cfg = config(feedback_name="{customer_name}_反馈单.docx")
    rows = [values(complaint_id="KS-1", customer_name="张三"), values(complaint_id="KS-2", customer_name="李四")]
    run(tmp_path, register_of(*rows), cfg)
    blocked = run(tmp_path, register_of(*rows), cfg, report=report_of([error(3, "电话号码无效", "台账!E3")]))
    assert blocked.superseded == [] and "2026/11/张三_反馈单.docx" in files(tmp_path)
    rows[1]["customer_name"] = "王五"  # a name that does not tell the complaint: "no row files it"
    changed = run(tmp_path, register_of(*rows), cfg)
    # Whether 李四's row was renamed or deleted, the name does not tell: kept, and said.
    assert changed.superseded == [] and "2026/11/李四_反馈单.docx" in files(tmp_path)
    assert any(n.startswith("有 1 份旧文档（2026/11/李四_反馈单.docx）台账中已没有生成它们的行") for n in changed.notes)


def test_an_only_run_leaves_every_other_complaints_documents_alone(tmp_path: Path) -> None:
    cfg = config(folder_pattern=BY_DEPARTMENT)
    rows = [values(complaint_id="KS-1", department="生产部"), values(complaint_id="KS-2", department="生产部")]
    run(tmp_path, register_of(*rows), cfg)
    rows[0]["department"] = rows[1]["department"] = "质量部"
    result = run(tmp_path, register_of(*rows), cfg, only=["ks-1"])
    assert [(d.complaint_id, d.status) for d in result.documents] == [("KS-1", UPDATED)]
    assert [d.relpath for d in result.superseded] == ["2026/生产部/KS-1_客诉反馈单.docx"]
    assert "2026/生产部/KS-2_客诉反馈单.docx" in files(tmp_path)
    assert "2026/生产部/KS-2_客诉反馈单.docx" in recorded(tmp_path)


def test_files_staff_put_there_are_never_touched(tmp_path: Path) -> None:
    cfg = config(folder_pattern=BY_DEPARTMENT)
    rows = [values(complaint_id="KS-1", department="生产部")]
    run(tmp_path, register_of(*rows), cfg)
    staff = tmp_path / "docs/2026/生产部/KS-7_客诉反馈单.docx"  # named like ours, not in the manifest
    staff.write_bytes(b"staff's own")
    rows[0]["department"] = "质量部"
    result = run(tmp_path, register_of(*rows), cfg)
    assert [d.relpath for d in result.superseded] == ["2026/生产部/KS-1_客诉反馈单.docx"]
    assert staff.read_bytes() == b"staff's own"


def test_a_superseded_document_never_overwrites_one_moved_aside_before(tmp_path: Path) -> None:
    cfg = config(folder_pattern=BY_DEPARTMENT)
    rows = [values(complaint_id="KS-1", department="生产部")]
    run(tmp_path, register_of(*rows), cfg)
    earlier = tmp_path / "docs/已作废/2026/生产部/KS-1_客诉反馈单.docx"
    earlier.parent.mkdir(parents=True)
    earlier.write_bytes(b"moved aside last month, signed")
    (earlier.parent / "KS-1_客诉反馈单 (2).docx").write_bytes(b"and the month before")
    rows[0]["department"] = "质量部"
    result = run(tmp_path, register_of(*rows), cfg)
    assert result.superseded[0].moved_to == "已作废/2026/生产部/KS-1_客诉反馈单 (3).docx"
    assert earlier.read_bytes() == b"moved aside last month, signed"
    assert (earlier.parent / "KS-1_客诉反馈单 (2).docx").read_bytes() == b"and the month before"
    assert "生产部" in docx_text(earlier.parent / "KS-1_客诉反馈单 (3).docx")


def test_a_run_stopped_after_moving_is_finished_by_the_next(tmp_path: Path) -> None:
    cfg = config(folder_pattern=BY_DEPARTMENT)
    rows = [values(complaint_id="KS-1", department="生产部")]
    run(tmp_path, register_of(*rows), cfg)
    rows[0]["department"] = "质量部"
    run(tmp_path, register_of(*rows), cfg)
    # As a run killed between the rename and the manifest leaves it: moved, still recorded.
    manifest = tmp_path / "docs" / documents.MANIFEST_NAME
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["documents"]["2026/生产部/KS-1_客诉反馈单.docx"] = "0" * 32
    manifest.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = run(tmp_path, register_of(*rows), cfg)
    assert result.superseded == [] and result.counts[UNCHANGED] == 1
    assert set(recorded(tmp_path)) == {"2026/质量部/KS-1_客诉反馈单.docx"}
    assert files(tmp_path) == ["2026/质量部/KS-1_客诉反馈单.docx", "已作废/2026/生产部/KS-1_客诉反馈单.docx"]


def test_a_document_that_cannot_be_moved_stays_recorded_and_the_next_run_moves_it(tmp_path: Path) -> None:
    cfg = config(folder_pattern=BY_DEPARTMENT)
    rows = [values(complaint_id="KS-1", department="生产部")]
    run(tmp_path, register_of(*rows), cfg)
    blocker = tmp_path / "docs" / "已作废"
    blocker.write_bytes(b"a file where the folder goes")
    rows[0]["department"] = "质量部"
    result = run(tmp_path, register_of(*rows), cfg)
    assert result.superseded[0].moved_to == ""
    assert result.problems and "无法把已作废的 2026/生产部/KS-1_客诉反馈单.docx 移至" in result.problems[0]
    assert "2026/生产部/KS-1_客诉反馈单.docx" in recorded(tmp_path)
    assert (tmp_path / "docs/2026/生产部/KS-1_客诉反馈单.docx").is_file()
    blocker.unlink()
    again = run(tmp_path, register_of(*rows), cfg)
    assert [(d.relpath, d.moved_to) for d in again.superseded] == [
        ("2026/生产部/KS-1_客诉反馈单.docx", "已作废/2026/生产部/KS-1_客诉反馈单.docx")]
    assert again.problems == []


def _edit(register: Path, changes: dict[str, dict[str, object]]) -> None:
    """Edit the example register as staff would in Excel: {complaint id: {header: value}}."""
    book = load_workbook(register)
    sheet = book.worksheets[0]
    headers = [c.value for c in sheet[2]]
    for row in sheet.iter_rows(min_row=3):
        for header, value in changes.get(row[0].value, {}).items():
            row[headers.index(header)].value = value
    book.save(register)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_generate_and_run_name_each_superseded_document_and_why(tmp_path: Path, language: str,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = project(tmp_path, language=language)
    path.write_text(set_key(path.read_text(encoding="utf-8"), "documents", "folder_pattern", f'"{BY_DEPARTMENT}"'),
                    encoding="utf-8")
    args = ["--config", str(path), "--today", "2026-11-23"]
    main(["generate", *args])
    capsys.readouterr()
    _edit(tmp_path / "examples" / "complaint-register.xlsx", {"KS-2026-003": {"责任部门": "质量部"}})
    main(["generate", *args])
    out = capsys.readouterr().out
    folder = sup.FOLDERS[language]
    if language == "zh":
        assert (f"已作废  2026/生产部/KS-2026-003_客诉反馈单.docx → {folder}/2026/生产部/KS-2026-003_客诉反馈单.docx："
                "KS-2026-003 的客诉反馈单现存为 2026/质量部/KS-2026-003_客诉反馈单.docx") in out
        assert "更新  KS-2026-003  客诉反馈单  2026/质量部/KS-2026-003_客诉反馈单.docx" in out
        assert "已作废的旧文档：2 份，已移至" in out
    else:
        assert (f"superseded  2026/生产部/KS-2026-003_feedback-form.docx → {folder}/2026/生产部/"
                "KS-2026-003_feedback-form.docx: the feedback form of KS-2026-003 is now filed as "
                "2026/质量部/KS-2026-003_feedback-form.docx") in out
        assert "Superseded documents: 2, moved to" in out
    # The daily run says so too, and keeps the count in its record.
    _edit(tmp_path / "examples" / "complaint-register.xlsx", {"KS-2026-003": {"责任部门": "物流部"}})
    config_obj = load_config(str(path))
    result = run_job(config_obj, today=dt.date(2026, 11, 23), now=dt.datetime(2026, 11, 23, 9, 0))
    text = result.to_text(language)
    assert result.documents["superseded"] == 2 and len(result.superseded) == 2
    assert (("已作废的旧文档：2 份" if language == "zh" else "Superseded documents: 2") in text)
    assert all(f"  - {line}" in text for line in result.superseded)
    assert "质量部" in result.superseded[0] and "物流部" in result.superseded[0]
    assert result.counts()["documents_superseded"] == 2
    # And the dashboard: the run's list, and the forms moved aside are not among this week's filed.
    page = Path(result.dashboard).read_text(encoding="utf-8")
    listed = page.split('<ul id="superseded">')[1].split("</ul>")[0]
    assert listed.count("<li>") == 2 and "物流部" in listed
    table = page.split('id="documents-table"')[1].split("</table>")[0]
    links = [unquote(href) for href in re.findall(r'href="([^"]+)"', table)]
    # Only the two now filed under 物流部, not the four moved aside (two of them this week).
    assert sorted(h for h in links if "KS-2026-003_" in h) == sorted(
        f"documents/2026/物流部/KS-2026-003_{name}.docx" for name in (
            ("客诉反馈单", "投诉受理告知书") if language == "zh" else ("feedback-form", "acknowledgement")))
    assert not [h for h in links if f"/{folder}/" in h]
    shutil.rmtree(tmp_path / "examples")


def test_a_row_without_a_number_keeps_every_document_of_a_number_no_row_has(tmp_path: Path) -> None:
    rows = [values(complaint_id="KS-1"), values(complaint_id="KS-2", department="生产部")]
    run(tmp_path, register_of(*rows))
    rows[1]["complaint_id"] = ""  # cleared by mistake: KS-2's form may still be this row's
    kept = run(tmp_path, register_of(*rows))
    assert kept.superseded == [] and "2026/11/KS-2_客诉反馈单.docx" in files(tmp_path)
    assert any("有 1 份旧文档（2026/11/KS-2_客诉反馈单.docx）台账中已没有对应的投诉编号，但台账中有未填投诉编号的行"
               in n for n in kept.notes)
    # A number with an error (a duplicate) is still a number: it holds its own forms, not others'.
    rows.append(values(complaint_id="KS-1", department="生产部"))
    duplicate = Finding("duplicate-id", ERROR, "台账", 5, "", "台账!A5", "complaint_id", "", None, "编号重复")
    assert run(tmp_path, register_of(*rows), report=report_of([duplicate])).superseded == []  # KS-2 still unsure
    del rows[1]  # the row really is gone: its form is named (not moved), the duplicate does not stop it
    duplicate = Finding("duplicate-id", ERROR, "台账", 4, "", "台账!A4", "complaint_id", "", None, "编号重复")
    gone = run(tmp_path, register_of(*rows), report=report_of([duplicate]))
    assert gone.superseded == [] and "2026/11/KS-2_客诉反馈单.docx" in files(tmp_path)
    assert any(n.startswith("有 1 份旧文档（2026/11/KS-2_客诉反馈单.docx）台账中已没有生成它们的行") for n in gone.notes)
    assert "2026/11/KS-1_客诉反馈单.docx" in files(tmp_path)  # the duplicate's number: held


def test_the_pdf_made_beside_a_superseded_document_goes_with_it(tmp_path: Path) -> None:
    cfg = config(folder_pattern=BY_DEPARTMENT)
    rows = [values(complaint_id="KS-1", department="生产部")]
    run(tmp_path, register_of(*rows), cfg)
    docs = tmp_path / "docs"
    (docs / "2026/生产部/KS-1_客诉反馈单.pdf").write_bytes(b"%PDF-1.7 as --pdf made it")
    taken = docs / "已作废/2026/生产部/KS-1_客诉反馈单.pdf"  # an earlier PDF took the name
    taken.parent.mkdir(parents=True)
    taken.write_bytes(b"%PDF-1.7 earlier")
    rows[0]["department"] = "质量部"
    result = run(tmp_path, register_of(*rows), cfg)
    assert result.superseded[0].moved_to == "已作废/2026/生产部/KS-1_客诉反馈单 (2).docx"
    assert (taken.parent / "KS-1_客诉反馈单 (2).pdf").read_bytes() == b"%PDF-1.7 as --pdf made it"
    assert taken.read_bytes() == b"%PDF-1.7 earlier"
    assert not list((docs / "2026/生产部").iterdir())


def test_rows_held_back_never_hide_another_rows_move(tmp_path: Path) -> None:
    cfg = config(folder_pattern=BY_DEPARTMENT, feedback_name="{customer_name}_反馈单.docx")
    rows = [values(complaint_id="KS-1", customer_name="张三"), values(complaint_id="KS-2", customer_name="李四"),
            values(complaint_id="KS-3", customer_name="王五", department="生产部")]
    run(tmp_path, register_of(*rows), cfg)
    # KS-1 is held back by an error (its form stays); KS-3 moves. And KS-2, held back too, would now
    # have KS-1's path (same customer name): counted once, it must not make up for KS-3's old form.
    rows[2]["department"] = "质量部"
    rows[1]["customer_name"] = "张三"
    report = report_of([error(3, "电话号码无效", "台账!E3"), error(4, "电话号码无效", "台账!E4")])
    result = run(tmp_path, register_of(*rows), cfg, report=report)
    # KS-3's form keeps its file name in another folder: the same complaint's, moved.
    assert [(d.relpath, d.reason, d.complaint_id) for d in result.superseded] == [
        ("2026/生产部/王五_反馈单.docx", sup.MOVED, "KS-3")]
    assert [(d.complaint_id, d.status) for d in result.documents if d.status != SKIPPED] == [("KS-3", UPDATED)]
    # KS-2's old form (李四) no row files, but its name does not tell whose it is and KS-2 is held
    # back: it stays, and a note says why.
    assert {"2026/质量部/张三_反馈单.docx", "2026/质量部/李四_反馈单.docx"} <= set(files(tmp_path))
    assert any(n.startswith("有 1 份旧文档（2026/质量部/李四_反馈单.docx）已没有行生成，其文件名不含投诉编号")
               for n in result.notes)


def test_a_held_rows_path_that_another_row_files_does_not_make_up_for_a_moved_form(tmp_path: Path) -> None:
    cfg = config(folder_pattern=BY_DEPARTMENT, feedback_name="{customer_name}_反馈单.docx")
    rows = [values(complaint_id="KS-1", customer_name="张三"), values(complaint_id="KS-2", customer_name="李四"),
            values(complaint_id="KS-3", customer_name="王五", department="生产部")]
    run(tmp_path, register_of(*rows), cfg)
    rows[2]["department"] = "质量部"
    rows.append(values(complaint_id="KS-4", customer_name="张三"))  # new, with an error: KS-1's path
    report = report_of([error(4, "电话号码无效", "台账!E4"), error(6, "电话号码无效", "台账!E6")])
    result = run(tmp_path, register_of(*rows), cfg, report=report)
    assert [(d.relpath, d.reason) for d in result.superseded] == [("2026/生产部/王五_反馈单.docx", sup.MOVED)]
