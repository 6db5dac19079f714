"""The 投诉受理告知书 (acknowledgement to the customer, ISO 10002 7.3): filed by ``run`` for every
accepted complaint, in Chinese and English, with the number, what happens next and the reply date."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from docx import Document

from toolkit.cli import main
from toolkit.config import Config
from toolkit.documents import ACKNOWLEDGEMENT, CREATED, check_templates, generate
from toolkit.model import Record, Register, SheetInfo
from toolkit.validate import ValidationReport


def text(path: str | Path) -> str:
    doc = Document(str(path))
    lines = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        lines += [c.text for row in table.rows for c in row.cells]
    return "\n".join(lines)


def test_run_files_an_acknowledgement_for_every_accepted_complaint(
        tmp_path: Path, example_register: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[register]\npath = "{example_register.as_posix()}"\n', encoding="utf-8")
    assert main(["run", "--config", str(config), "--today", "2026-11-23", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["documents"]["created"] > 0
    docs = tmp_path / "output" / "documents"
    feedback = {p.name.split("_")[0] for p in docs.rglob("*_客诉反馈单.docx")}
    letters = {p.name.split("_")[0] for p in docs.rglob("*_投诉受理告知书.docx")}
    # every complaint whose form was filed got its letter (all rows of the example have 受理日期)
    assert letters == feedback and len(letters) > 40
    letter = next(docs.rglob("KS-2026-001_投诉受理告知书.docx"))
    body = text(letter)
    assert "受理编号 KS-2026-001" in body and "2026年9月1日" in body
    assert "前将调查和处理结果答复您" in body and "{{" not in body


def test_a_blank_reply_due_prints_the_date_the_reminders_use(tmp_path: Path) -> None:
    from toolkit.reminders import due_dates
    from toolkit.workdays import WorkCalendar

    record = Record("台账", 3, {"complaint_id": "K-9", "received_on": dt.date(2026, 11, 20), "severity": "B",
                                "customer_name": "王五", "channel": "电话", "department": "客服部", "handler": "王芳"})
    for language, expected in (("zh", "2026年11月24日"), ("en", "2026-11-24")):
        cfg = Config()
        cfg.register.language = language
        due = due_dates(record, cfg, WorkCalendar.from_config(cfg))
        assert due.reply == dt.date(2026, 11, 24)  # class B: 2 working days from a Friday
        result = generate(Register("r.xlsx", "", 0, [SheetInfo("台账", 2, {}, [])], [record]),
                          ValidationReport("r.xlsx", 1, [], {"error": 0}), cfg, today=dt.date(2026, 11, 20),
                          out_dir=tmp_path / language)
        (letter,) = [d for d in result.documents if d.kind == ACKNOWLEDGEMENT]
        assert letter.status == CREATED
        assert expected in text(letter.path)
        (form,) = [d for d in result.documents if d.kind == "feedback"]
        assert expected in text(form.path)  # the feedback form's 承诺答复日期 too


def test_the_letter_ships_in_both_languages_and_passes_the_preflight() -> None:
    for language in ("zh", "en"):
        cfg = Config()
        cfg.register.language = language
        (check,) = [c for c in check_templates(cfg) if c.kind == ACKNOWLEDGEMENT]
        assert check.ok and check.problems == []
        names = {p.name for p in check.placeholders}
        assert {"reply_due", "followup_due", "complaint_id"} & names or {"承诺答复日期", "投诉编号"} <= names


def test_each_kind_prints_its_own_form_number(tmp_path: Path) -> None:
    import zipfile

    record = Record("台账", 3, {"complaint_id": "K-1", "received_on": dt.date(2026, 11, 20), "severity": "A",
                                "nature": "有效投诉", "corrective_action": "1. 整改"})
    rows = [record] * 1
    result = generate(Register("r.xlsx", "", 0, [SheetInfo("台账", 2, {}, [])], rows),
                      ValidationReport("r.xlsx", 1, [], {"error": 0}), Config(), today=dt.date(2026, 11, 20),
                      out_dir=tmp_path)
    numbers = {}
    for doc in result.documents:
        with zipfile.ZipFile(doc.path) as package:
            header = package.read("word/header1.xml").decode("utf-8")
        numbers[doc.kind] = next(n for n in ("QR-KF-001", "QR-KF-002", "QR-KF-003") if n in header)
    assert numbers == {"feedback": "QR-KF-001", "capa": "QR-KF-002", "acknowledgement": "QR-KF-003"}
