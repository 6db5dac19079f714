"""Registers as they arrive broken or in a form the reader cannot use (QA of 2026-12-04, second
session): each gets a message that says what the file is and what to do, exit 2, never a
traceback, and never a silently blank cell.

The damaged files in ``tests/data/damaged/`` are a LibreOffice-saved register with a few bytes
changed by a fuzzer (see its README). They are read by a child process: calamine aborted the
whole interpreter on two of them (it asked for 61 GB and 2 TB), which must never happen again
and must not take the test run with it.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from toolkit.config import Config, config_from_dict
from toolkit.errors import RegisterError
from toolkit.register import read_register
from toolkit.register.biff import read_facts
from toolkit.validate import validate

TODAY = dt.date(2026, 11, 23)
ROOT = Path(__file__).resolve().parent.parent
DAMAGED = sorted((Path(__file__).resolve().parent / "data" / "damaged").glob("*.*[sx]"))


def cfg(language: str = "zh") -> Config:
    return config_from_dict({"register": {"language": language}})


def _validate(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "toolkit", "validate", "--register", str(path), *args],
                          capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)


@pytest.mark.parametrize("path", DAMAGED, ids=[p.name for p in DAMAGED])
def test_a_damaged_file_is_said_damaged_with_exit_2(path: Path) -> None:
    done = _validate(path)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr + done.stdout
    assert f"台账 {path} 已损坏或不完整（" in done.stderr
    assert "请从共享盘重新复制" in done.stderr


def test_the_damaged_files_are_all_there() -> None:
    assert {p.suffix for p in DAMAGED} == {".xls", ".xlsx", ".ods"} and len(DAMAGED) >= 12


def test_an_xls_cut_anywhere_is_damaged_or_read_never_a_crash(data_dir: Path, tmp_path: Path) -> None:
    # Every 512-byte cut of a LibreOffice .xls (an interrupted copy); calamine panicked on some.
    script = (
        "import sys; from pathlib import Path\n"
        "from toolkit.config import config_from_dict\n"
        "from toolkit.errors import RegisterError\n"
        "from toolkit.register import read_register\n"
        "data = Path(sys.argv[1]).read_bytes(); cut = Path(sys.argv[2]); said = read = 0\n"
        "for end in range(512, len(data), 512):\n"
        "    cut.write_bytes(data[:end])\n"
        "    try:\n"
        "        read_register(config_from_dict({}), cut); read += 1\n"
        "    except RegisterError as exc:\n"
        "        assert '已损坏或不完整' in str(exc) or '没有任何数据' in str(exc), str(exc); said += 1\n"
        "print(said, read)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script, str(data_dir / "reg-formula-errors.xls"),
                           str(tmp_path / "cut.xls")], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    said, read = map(int, done.stdout.split())
    assert said >= 5 and said + read == len((data_dir / "reg-formula-errors.xls").read_bytes()) // 512 - 1


def test_formulas_an_xls_was_saved_without_results_are_findings(data_dir: Path) -> None:
    # Written by xlwt, as web systems export "Excel": formulas without their results. Excel shows
    # 100 and the due date once it recalculates; calamine read blank cells and nothing was said.
    for name in ("xls-xlwt-formulas.xls", "xls-xlwt-formulas-1904.xls"):
        register = read_register(cfg(), data_dir / name)
        found = [(f.cell, f.code) for f in validate(register, cfg(), TODAY).findings
                 if f.code.startswith("formula")]
        assert found == [("台账!N4", "formula-no-value"), ("台账!O5", "formula-no-value")], name
    (message,) = [f.message for f in validate(register, cfg(), TODAY).findings if f.cell == "台账!N4"]
    assert message == "“赔付金额”是公式（=…）但没有计算结果：请在 Excel 或 WPS 中打开并保存一次，或直接填写值。"


def test_an_empty_text_result_is_a_result_where_the_workbook_has_calculated(data_dir: Path) -> None:
    # LibreOffice saved every result: =IF(G2="已结案",100,"") gives an empty text, not a gap.
    facts = read_facts((data_dir / "reg-formula-empty-text.xls").read_bytes())
    assert facts is not None and not facts.encrypted and not facts.date1904
    assert facts.cells == {"台账": {1: {5: None}, 2: {5: None}}}
    register = read_register(cfg(), data_dir / "reg-formula-empty-text.xls")
    assert [r.values["compensation"] for r in register.records] == [None, 100]
    assert not [f for f in validate(register, cfg(), TODAY).findings if f.code.startswith("formula")]


def test_bare_serial_numbers_of_a_1904_xls_count_from_1904(data_dir: Path) -> None:
    assert read_facts((data_dir / "xls-xlwt-formulas-1904.xls").read_bytes()).date1904
    register = read_register(cfg(), data_dir / "xls-xlwt-formulas-1904.xls")
    # KS-X04's 受理日期 is the bare number 46329: 2030-11-04 counted from 1904 (2026-11-03 from 1900).
    assert register.records[3].values["received_on"] == dt.date(2030, 11, 4)
    assert read_register(cfg(), data_dir / "xls-xlwt-formulas.xls").records[3].values["received_on"] \
        == dt.date(2026, 11, 3)


@pytest.mark.parametrize("name", ["enc-password-1234.xls", "enc-password-1234.ods"])
def test_a_password_protected_xls_or_ods_says_so(data_dir: Path, name: str) -> None:
    with pytest.raises(RegisterError) as info:
        read_register(cfg(), data_dir / name)
    assert "设置了打开密码，无法读取" in str(info.value) and "WPS：文件 > 文档加密" in str(info.value)
    with pytest.raises(RegisterError) as english:
        read_register(cfg("en"), data_dir / name)
    assert "is password-protected and cannot be read" in str(english.value)


@pytest.mark.parametrize(("content", "said"), [
    ("<html><body><table><tr><td>投诉编号</td></tr></table></body></html>".encode("gbk"), "实际是网页（HTML 表格）"),
    (b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"></Workbook>',
     "是 Excel 2003 XML 表格"),
    ("投诉编号\t受理日期\r\n".encode("utf-16"), "是“Unicode 文本”"),
    (b"L\x00\x00\x00\x01\x14\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00F" + bytes(60), "是 Windows 快捷方式"),
], ids=["html", "xml-2003", "utf-16-text", "shortcut"])
def test_exports_that_are_no_workbook_are_named_for_what_they_are(tmp_path: Path, content: bytes, said: str) -> None:
    path = tmp_path / "台账.xls"
    path.write_bytes(content)
    with pytest.raises(RegisterError) as info:
        read_register(cfg(), path)
    assert said in str(info.value)


def test_an_unreadable_et_file_says_why_in_words(tmp_path: Path) -> None:
    path = tmp_path / "台账.et"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(RegisterError) as info:
        read_register(cfg(), path)
    assert "（其内容不是任何已知的表格格式）" in str(info.value) and "（?）" not in str(info.value)


def test_a_register_reached_by_a_link(tmp_path: Path, example_register: Path) -> None:
    shared = tmp_path / "共享盘"
    shared.mkdir()
    (shared / "台账.xlsx").write_bytes(example_register.read_bytes())
    (shared / "~$台账.xlsx").write_bytes(b"\x05staff")  # Excel has the real file open
    link = tmp_path / "register.xlsx"
    link.symlink_to(shared / "台账.xlsx")
    assert any("~$台账.xlsx" in note for note in read_register(cfg(), link).notes)
    broken = tmp_path / "gone.xlsx"
    broken.symlink_to(tmp_path / "断开的盘" / "台账.xlsx")
    with pytest.raises(RegisterError) as info:
        read_register(cfg(), broken)
    assert f"是一个链接，它指向的 {tmp_path / '断开的盘' / '台账.xlsx'} 不存在" in str(info.value)


def test_a_rust_panic_counts_as_calamine_failing_but_ctrl_c_does_not() -> None:
    from toolkit.register.read import _calamine_failed

    class PanicException(BaseException):  # pyo3's, which derives from BaseException
        pass

    assert _calamine_failed(PanicException("slice index starts at 8704 but ends at 8192"))
    assert _calamine_failed(ValueError("Cannot detect file format"))
    assert not _calamine_failed(KeyboardInterrupt())
