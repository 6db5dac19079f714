"""``validate`` and ``init-register`` through the real entry point: output, JSON, exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from toolkit.cli import main
from toolkit.config import load_config
from toolkit.fields import FIELDS
from toolkit.register import read_register
from toolkit.validate import validate

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config.toml"


def write_register(path: Path, *rows: dict[str, Any]) -> Path:
    """A register as staff would type it: header row, then rows (dates as real dates)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "台账"
    ws.append([f.zh for f in FIELDS])
    for row in rows:
        ws.append([row.get(f.name) for f in FIELDS])
    wb.save(path)
    return path


@pytest.fixture
def good() -> dict[str, Any]:
    from test_validate import GOOD

    return dict(GOOD)


def test_validate_example_register_prints_findings_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", "--config", str(CONFIG), "--today", "2026-11-23"])
    out = capsys.readouterr().out
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "台账!20  KS-2026-002"
    assert lines[1] == "  错误  A20  [duplicate-id]  投诉编号“KS-2026-002”与 台账!A4 重复：请为此投诉改用新的编号。"
    assert "  错误  B45  [date-in-future]  “受理日期”（2026-11-30）晚于今天（2026-11-23）：请核对并改为实际受理日期。" in lines
    assert lines[-1] == "共 60 行数据：7 个错误，0 个警告，0 条提示；7 行有错误。"
    assert "\x1b[" not in out  # not a terminal: no colour


def test_json_output_equals_the_library_result(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", "--config", str(CONFIG), "--today", "2026-11-23", "--format", "json"])
    printed = json.loads(capsys.readouterr().out)
    config = load_config(CONFIG)
    expected = validate(read_register(config), config, __import__("datetime").date(2026, 11, 23)).to_dict()
    assert code == 1
    assert printed == expected
    assert printed["counts"] == {"error": 7, "warning": 0, "note": 0, "rows": 60, "rows_with_errors": 7}
    assert list(printed["findings"][0]) == ["code", "severity", "sheet", "row", "column", "cell", "field",
                                            "complaint_id", "value", "message"]


def test_today_changes_the_result(capsys: pytest.CaptureFixture[str]) -> None:
    main(["validate", "--config", str(CONFIG), "--today", "2026-12-01", "--format", "json"])
    codes = [f["code"] for f in json.loads(capsys.readouterr().out)["findings"]]
    assert "date-in-future" not in codes and len(codes) == 6


def test_clean_register_exits_0(tmp_path: Path, good: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    path = write_register(tmp_path / "台账.xlsx", good)
    assert main(["validate", "--config", str(CONFIG), "--register", str(path), "--today", "2026-11-23"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "未发现问题。"


def test_warnings_alone_exit_0(tmp_path: Path, good: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    path = write_register(tmp_path / "台账.xlsx", {**good, "capa_done": None})
    assert main(["validate", "--config", str(CONFIG), "--register", str(path), "--today", "2026-11-23"]) == 0
    assert "[capa-not-done]" in capsys.readouterr().out


def test_english_config(tmp_path: Path, good: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    path = write_register(tmp_path / "register.xlsx", {**good, "customer_phone": "12345"})
    config = tmp_path / "config.toml"
    config.write_text(f'[register]\npath = "{path.name}"\nlanguage = "en"\n', encoding="utf-8")
    assert main(["validate", "--config", str(config), "--today", "2026-11-23"]) == 1
    out = capsys.readouterr().out
    assert "  error    E2  [bad-phone]  '联系电话' value '12345' is not a valid phone number" in out
    assert out.splitlines()[-1] == "Data rows: 1; errors: 1, warnings: 0, notes: 0; rows with errors: 1."


def test_missing_register_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", "--config", str(CONFIG), "--register", str(tmp_path / "nope.xlsx")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("错误：") and "nope.xlsx" in err and "Traceback" not in err


def test_report_workbook(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "reports" / "检查报告.xlsx"
    code = main(["validate", "--config", str(CONFIG), "--today", "2026-11-23", "--report", str(out)])
    assert code == 1
    wb = load_workbook(out)
    assert wb.sheetnames == ["问题清单", "台账"]
    assert wb["问题清单"].max_row == 2 + 7
    assert wb["台账"]["O55"].comment.text.startswith("[错误] “责任部门”的值“仓储部”不在可选值中")


def test_report_onto_the_register_exits_2_and_leaves_it_alone(tmp_path: Path, example_register: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    register = tmp_path / "台账.xlsx"
    shutil.copyfile(example_register, register)
    before = register.read_bytes()
    code = main(["validate", "--config", str(CONFIG), "--register", str(register), "--report", str(register)])
    assert code == 2
    assert "检查报告不能写到台账本身" in capsys.readouterr().err
    assert register.read_bytes() == before


def test_python_m_toolkit_validate(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "toolkit", "validate", "--config", str(CONFIG),
                             "--today", "2026-11-23", "--format", "json"],
                            capture_output=True, text=True, encoding="utf-8", cwd=tmp_path)
    assert result.returncode == 1
    assert json.loads(result.stdout)["counts"]["error"] == 7


# -- init-register -------------------------------------------------------------------------


def test_init_register_creates_then_refuses_to_overwrite(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "新台账.xlsx"
    assert main(["init-register", "--config", str(CONFIG), str(target), "--sheet", "2027"]) == 0
    assert capsys.readouterr().out.startswith(f"已创建新台账 {target}")
    assert load_workbook(target).sheetnames == ["2027", "填写说明"]
    before = target.read_bytes()
    assert main(["init-register", "--config", str(CONFIG), str(target)]) == 2
    err = capsys.readouterr().err
    assert err == f"错误：{target} 已存在：为免覆盖现有台账，不会改写已有文件。请换一个文件名，或先把旧文件移走。\n"
    assert target.read_bytes() == before


def test_init_register_then_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "台账.xlsx"
    assert main(["init-register", "--config", str(CONFIG), str(target)]) == 0
    assert main(["validate", "--config", str(CONFIG), "--register", str(target), "--today", "2026-11-23"]) == 0
    assert "共 0 行数据" in capsys.readouterr().out


def test_init_register_needs_xlsx(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init-register", "--config", str(CONFIG), str(tmp_path / "台账.xls")]) == 2
    assert "不是 .xlsx 文件名" in capsys.readouterr().err
