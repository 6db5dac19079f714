"""Staff workbooks: the validation report (.xlsx) and a new, empty register."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from toolkit.config import Config, config_from_dict, load_config
from toolkit.errors import ConfigError, RegisterError
from toolkit.fields import FIELDS, LIST
from toolkit.model import Record
from toolkit.register import read_register
from toolkit.validate import validate
from toolkit.workbooks import write_new_register, write_validation_workbook

TODAY = dt.date(2026, 11, 23)
ROOT = Path(__file__).resolve().parent.parent


def _sheet_xml(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        return "".join(archive.read(n).decode("utf-8") for n in archive.namelist()
                       if n.startswith("xl/worksheets/sheet"))


@pytest.fixture
def example(tmp_path: Path, example_register: Path) -> tuple[Path, Config]:
    copy = tmp_path / "台账.xlsx"
    shutil.copyfile(example_register, copy)
    return copy, load_config(ROOT / "config.toml")


# -- validation report -----------------------------------------------------------------------


def test_report_marks_offending_cells_and_links_to_them(example: tuple[Path, Config], tmp_path: Path) -> None:
    path, config = example
    register = read_register(config, path)
    report = validate(register, config, TODAY)
    out = write_validation_workbook(report, register, tmp_path / "out" / "检查报告.xlsx", TODAY)
    wb = load_workbook(out)
    assert wb.sheetnames == ["问题清单", "台账"]
    findings = wb["问题清单"]
    assert [c.value for c in findings[2]] == ["严重程度", "代码", "单元格", "投诉编号", "字段", "值", "说明"]
    assert "7 个错误" in findings["A1"].value
    first = [c.value for c in findings[3]]
    assert first[:6] == ["错误", "duplicate-id", "台账!A20", "KS-2026-002", "投诉编号", "KS-2026-002"]
    assert findings["C3"].hyperlink.location == "'台账'!A20"
    assert findings.max_row == 2 + len(report.findings)

    sheet = wb["台账"]
    # rows keep their numbers and columns their letters: a finding's cell is the same cell here
    assert sheet["A2"].value == "投诉编号" and sheet["A20"].value == "KS-2026-002"
    assert sheet["A20"].fill.fgColor.rgb.endswith("FFC7CE")
    assert sheet["A20"].comment.text.startswith("[错误] 投诉编号“KS-2026-002”与 台账!A4 重复")
    assert sheet["E38"].value == "1380013800" and sheet["E38"].comment is not None
    assert sheet["A21"].comment is None and sheet["A21"].fill.fill_type is None
    assert sheet["B45"].value == dt.datetime(2026, 11, 30) and sheet["B45"].number_format == "yyyy-mm-dd"
    assert sheet["AI3"].value == "前台-小周"  # a column the toolkit does not know is kept
    assert sheet["AI2"].value == "登记人"


def _register_with(texts: dict[str, str]) -> tuple[object, Config]:
    from test_validate import GOOD, make_register

    register = make_register({**GOOD, **texts, "customer_phone": "123"})
    return register, Config()


def test_register_text_is_never_a_formula(tmp_path: Path) -> None:
    danger = {"description": '=HYPERLINK("http://evil.example","点我")', "remarks": "+SUM(1,2)",
              "customer_name": "@admin", "resolution": "-2+3"}
    register, config = _register_with(danger)
    register.records[0].extra["备注2"] = "=1+1"
    register.sheets[0].headers.append("备注2")
    report = validate(register, config, TODAY)
    out = write_validation_workbook(report, register, tmp_path / "report.xlsx", TODAY)
    xml = _sheet_xml(out)
    assert "<f>" not in xml and "<f " not in xml
    sheet = load_workbook(out)["台账"]
    for ref, text in (("J3", danger["description"]), ("AH3", "+SUM(1,2)"), ("D3", "@admin"),
                      ("U3", "-2+3"), ("AI3", "=1+1")):
        assert sheet[ref].value == text and sheet[ref].data_type == "s", ref
    assert sheet["J3"].quotePrefix


def test_unparsed_cell_shows_what_was_typed(tmp_path: Path) -> None:
    from test_validate import GOOD, make_register

    register = make_register({**GOOD, "received_on": None}, bad={0: {"received_on": ("bad-date", "下周一")}})
    report = validate(register, Config(), TODAY)
    out = write_validation_workbook(report, register, tmp_path / "r.xlsx", TODAY)
    assert load_workbook(out)["台账"]["B3"].value == "下周一"


def test_report_refuses_the_registers_own_path(example: tuple[Path, Config]) -> None:
    path, config = example
    before = path.read_bytes()
    register = read_register(config, path)
    report = validate(register, config, TODAY)
    with pytest.raises(ConfigError, match="检查报告不能写到台账本身"):
        write_validation_workbook(report, register, path, TODAY)
    with pytest.raises(ConfigError, match="检查报告不能写到台账本身"):
        write_validation_workbook(report, register, path.parent / "." / path.name, TODAY)
    assert path.read_bytes() == before


def test_report_needs_an_xlsx_name(example: tuple[Path, Config], tmp_path: Path) -> None:
    path, config = example
    register = read_register(config, path)
    with pytest.raises(ConfigError, match=r"不是 \.xlsx 文件名"):
        write_validation_workbook(validate(register, config, TODAY), register, tmp_path / "r.csv", TODAY)


def test_findings_sheet_name_does_not_clash(tmp_path: Path) -> None:
    from test_validate import GOOD, make_register

    register = make_register({**GOOD, "nature": "x"}, sheet="问题清单")
    out = write_validation_workbook(validate(register, Config(), TODAY), register, tmp_path / "r.xlsx", TODAY)
    wb = load_workbook(out)
    assert wb.sheetnames == ["问题清单 (2)", "问题清单"]
    assert wb["问题清单 (2)"]["C3"].hyperlink.location == "'问题清单'!L3"


# -- new register ------------------------------------------------------------------------------


def test_new_register_has_headers_lists_formats_and_instructions(tmp_path: Path) -> None:
    out = write_new_register(tmp_path / "台账.xlsx", load_config(ROOT / "config.toml"))
    wb = load_workbook(out)
    assert wb.sheetnames == ["台账", "填写说明"]
    ws = wb["台账"]
    assert [c.value for c in ws[1]] == [f.zh for f in FIELDS]
    assert ws.freeze_panes == "B2"
    validations = {str(dv.sqref).split(":")[0]: dv for dv in ws.data_validations.dataValidation}
    list_cols = [i for i, f in enumerate(FIELDS) if f.kind == LIST]
    for i in list_cols:
        dv = validations[f"{ws.cell(row=2, column=i + 1).column_letter}2"]
        assert dv.type == "list"
    assert validations["C2"].formula1 == '"电话,来访,信函,电子邮件,网站,监管部门转办,消协转办,12315,12345 市民热线,微信,媒体"'
    assert validations["O2"].formula1 == '"客服部,质量部,生产部,物流部,销售部,市场部,财务部"'
    assert validations["B2"].type == "date"
    assert validations["V2"].type == "decimal"
    assert ws.column_dimensions["B"].number_format == "yyyy-mm-dd"
    assert ws.column_dimensions["E"].number_format == "@"
    help_ws = wb["填写说明"]
    rows = {r[0]: r for r in help_ws.iter_rows(min_row=5, values_only=True)}
    assert len(rows) == len(FIELDS)
    assert rows["投诉编号 *"][4] == "必填；整个台账内不得重复。"
    assert rows["处理状态 *"][3] == "待处理、处理中、待回访、已结案"
    assert rows["回访日期"][1] == "结案时"


def test_long_list_goes_to_a_hidden_lists_sheet(tmp_path: Path) -> None:
    departments = [f"第{i}分公司客户服务中心" for i in range(40)]
    config = config_from_dict({"lists": {"departments": departments}})
    wb = load_workbook(write_new_register(tmp_path / "r.xlsx", config))
    assert wb["列表"].sheet_state == "hidden"
    dv = next(dv for dv in wb["台账"].data_validations.dataValidation if str(dv.sqref).startswith("O2"))
    assert dv.formula1 == "'列表'!$A$2:$A$41"
    assert [wb["列表"].cell(row=r, column=1).value for r in (1, 2, 41)] == ["责任部门", departments[0], departments[39]]


def test_new_register_follows_the_config_in_force(tmp_path: Path) -> None:
    config = config_from_dict({
        "lists": {"channels": ["电话", "12345 市民热线", "抖音"], "root_causes": ["设计缺陷", "其他"],
                  "specials": ["否", "网络舆情"], "synonyms": {"已办结": "已结案"}},
        "rules": {"A": {"reply_days": 2, "followup_days": 5}, "working_days": False, "capa_classes": ["A"]}})
    wb = load_workbook(write_new_register(tmp_path / "r.xlsx", config))
    formulas = {str(dv.sqref).split(":")[0]: dv.formula1 for dv in wb["台账"].data_validations.dataValidation}
    assert formulas["C2"] == '"电话,12345 市民热线,抖音"'
    assert formulas["S2"] == '"设计缺陷,其他"' and formulas["N2"] == '"否,网络舆情"'
    rows = {r[0]: r for r in wb["填写说明"].iter_rows(min_row=5, values_only=True)}
    assert rows["投诉渠道 *"][3] == "电话、12345 市民热线、抖音"
    assert rows["投诉渠道 *"][4] == "必填。列表在 config.toml 的 [lists] channels 中配置。"
    assert rows["处理状态 *"][3] == "待处理、处理中、待回访、已结案（也可写：已办结 = 已结案）"
    assert rows["承诺答复日期"][4] == "可空：空白时按等级自动计算（A 2、B 2、C 3 个自然日）。"
    assert rows["回访期限"][4] == "可空：空白时按等级自动计算（A 5、B 7、C 15 个自然日）。"
    assert rows["纠正预防措施"][4] == "A 类有效投诉结案时必填。"
    english = config_from_dict({"register": {"language": "en"}, "rules": {"capa_classes": []}})
    rows = {r[0]: r for r in load_workbook(write_new_register(tmp_path / "e.xlsx", english))["Instructions"]
            .iter_rows(min_row=5, values_only=True)}
    assert rows["Corrective Action"][4] == "Optional (the config requires it for no class)."
    assert rows["Channel *"][3].startswith("Phone, Visit, Letter")
    assert rows["Reply Due"][4] == "May be blank: then computed from the class (A 1, B 2, C 3 working days)."


def test_new_register_in_english(tmp_path: Path) -> None:
    config = config_from_dict({"register": {"language": "en"}})
    wb = load_workbook(write_new_register(tmp_path / "r.xlsx", config, sheet="2026"))
    assert wb.sheetnames == ["2026", "Instructions"]
    assert wb["2026"]["A1"].value == "Complaint No."
    dv = next(dv for dv in wb["2026"].data_validations.dataValidation if str(dv.sqref).startswith("AF2"))
    assert dv.formula1 == '"Pending,In progress,Awaiting follow-up,Closed"'


def test_new_register_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "台账.xlsx"
    target.write_bytes(b"staff data")
    with pytest.raises(RegisterError, match="已存在"):
        write_new_register(target, Config())
    assert target.read_bytes() == b"staff data"


def test_new_register_rejects_bad_sheet_names(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="工作表名"):
        write_new_register(tmp_path / "r.xlsx", Config(), sheet="a/b")
    assert not (tmp_path / "r.xlsx").exists()


@pytest.mark.parametrize("name", ["填写说明", "列表"])
def test_new_register_refuses_the_name_of_its_own_instructions_or_lists_sheet(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match=f"已用于新台账自带的“{name}”工作表"):
        write_new_register(tmp_path / "r.xlsx", Config(), sheet=name)
    assert not (tmp_path / "r.xlsx").exists()


def test_new_register_is_read_back_and_filled_rows_validate(tmp_path: Path) -> None:
    from test_validate import GOOD

    path = write_new_register(tmp_path / "台账.xlsx", Config())
    register = read_register(Config(), path)
    assert register.records == [] and register.sheets[0].header_row == 1
    wb = load_workbook(path)
    ws = wb["台账"]
    for col, f in enumerate(FIELDS, start=1):
        ws.cell(row=2, column=col, value=GOOD[f.name])
    wb.save(path)
    config = config_from_dict({})
    register = read_register(config, path)
    assert isinstance(register.records[0], Record)
    assert validate(register, config, TODAY).findings == []


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_opens_the_new_register(tmp_path: Path) -> None:
    path = write_new_register(tmp_path / "new-register.xlsx", Config())
    outdir = tmp_path / "csv"
    subprocess.run(
        ["soffice", f"-env:UserInstallation={(tmp_path / 'lo-profile').as_uri()}", "--headless",
         "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", str(outdir), str(path)],
        check=True, capture_output=True, timeout=180)
    header = (outdir / "new-register.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",")[:3] == ["投诉编号", "受理日期", "投诉渠道"]


# -- printing ----------------------------------------------------------------------------------


def _pdf_pages(path: Path, tmp_path: Path) -> list[tuple[float, float, str]]:
    """Print ``path`` to PDF with LibreOffice: each page's size (points) and its text."""
    outdir = tmp_path / "pdf"
    subprocess.run(["soffice", f"-env:UserInstallation={(tmp_path / 'lo-profile').as_uri()}", "--headless",
                    "--convert-to", "pdf", "--outdir", str(outdir), str(path)],
                   check=True, capture_output=True, timeout=300)
    pdf = outdir / (path.stem + ".pdf")
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", "999", str(pdf)], check=True, capture_output=True,
                          text=True).stdout
    sizes = [tuple(float(v) for v in line.split(":", 1)[1].split("pts")[0].split(" x "))
             for line in info.splitlines() if line.startswith("Page") and "size:" in line]
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout.split("\f")
    return [(w, h, text[i]) for i, (w, h) in enumerate(sizes)]


_PRINTS = pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdfinfo") is None,
                             reason="LibreOffice or poppler-utils is not installed")


def test_findings_report_page_setup(example: tuple[Path, Config], tmp_path: Path) -> None:
    path, config = example
    register = read_register(config, path)
    report = validate(register, config, TODAY)
    book = load_workbook(write_validation_workbook(report, register, tmp_path / "report.xlsx", TODAY))
    findings = book.worksheets[0]
    setup = findings.page_setup
    assert (setup.orientation, setup.paperSize, setup.fitToWidth, setup.fitToHeight) == ("landscape", 9, 1, 0)
    assert findings.sheet_properties.pageSetUpPr.fitToPage
    assert findings.print_title_rows == "$2:$2"
    assert findings.oddFooter.right.text == "第 &P 页，共 &N 页" and findings.oddFooter.left.text == "&A"
    # A message that wraps gets a row tall enough for its lines (E38's runs to two lines at width 80).
    row = next(r for r in range(3, findings.max_row + 1) if findings.cell(row=r, column=3).value == "台账!E38")
    assert findings.row_dimensions[row].height >= 2 * 15
    copy = book["台账"]
    assert (copy.page_setup.orientation, copy.page_setup.paperSize, copy.page_setup.fitToWidth) == ("landscape", 8, 1)
    header = register.sheets[0].header_row
    assert header == 2 and copy.print_title_rows == "$2:$2"  # the register's own header row, below its title


def test_new_register_page_setup(tmp_path: Path) -> None:
    book = load_workbook(write_new_register(tmp_path / "new.xlsx", Config()))
    register, help_ws = book.worksheets[0], book["填写说明"]
    assert register.print_title_rows == "$1:$1" and register.page_setup.fitToWidth == 1
    assert register.page_setup.orientation == "landscape"
    assert help_ws.print_title_rows == "$4:$4"
    assert (help_ws.page_setup.orientation, help_ws.page_setup.fitToWidth, help_ws.page_setup.fitToHeight) == (
        "landscape", 1, 0)
    phone = next(r for r in range(5, help_ws.max_row + 1) if help_ws.cell(row=r, column=1).value == "联系电话")
    assert help_ws.row_dimensions[phone].height >= 2 * 15  # its rule wraps over two lines or more
    assert help_ws.oddFooter.right.text == "第 &P 页，共 &N 页"


def test_english_footer(tmp_path: Path) -> None:
    book = load_workbook(write_new_register(tmp_path / "new.xlsx", config_from_dict({"register": {"language": "en"}})))
    assert book["Instructions"].oddFooter.right.text == "Page &P of &N"


@_PRINTS
def test_findings_report_prints_one_page_wide(example: tuple[Path, Config], tmp_path: Path) -> None:
    path, config = example
    register = read_register(config, path)
    report = validate(register, config, TODAY)
    pages = _pdf_pages(write_validation_workbook(report, register, tmp_path / "report.xlsx", TODAY), tmp_path)
    # Today: 12-13 portrait pages with columns split. Now: the findings on one A4 landscape page,
    # the register copy (60 rows, 30-odd columns) on one A3 landscape page.
    assert [(round(w), round(h)) for w, h, _ in pages] == [(842, 595), (1191, 842)]
    first = pages[0][2]
    assert "台账!E38" in first and "或以 + 开头的国际号码" in first  # the wrapped message is printed whole
    assert "第 1 页，共 2 页" in first


@_PRINTS
def test_new_register_and_instructions_print(tmp_path: Path) -> None:
    pages = _pdf_pages(write_new_register(tmp_path / "new.xlsx", Config()), tmp_path)
    assert (round(pages[0][0]), round(pages[0][1])) == (1191, 842)  # the register: one A3 page
    instructions = pages[1:]
    assert instructions and all((round(w), round(h)) == (842, 595) for w, h, _ in instructions)
    # The column table's header repeats on every page of the instructions, every column is on it.
    assert all("列名" in text and "规则" in text for _, _, text in instructions)
    assert "备注" in instructions[-1][2]
