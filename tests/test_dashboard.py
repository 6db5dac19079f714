"""The dashboard page, rendered in real headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright with ``executable_path``; no browser is downloaded), asserting what it shows.

The page is built from rep-statistics-register.xlsx as of 2026-04-10 (see tests/test_report.py
for the figures worked out by hand), with documents in the documents folder dated by hand and
runs in the history.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from openpyxl import load_workbook

from toolkit.cli import main
from toolkit.config import Config, config_from_dict
from toolkit.history import RunHistory
from toolkit.register import read_register
from toolkit.report import compute_statistics, write_dashboard
from toolkit.validate import validate

FIXTURE = Path(__file__).resolve().parent / "data" / "rep-statistics-register.xlsx"
TODAY = dt.date(2026, 4, 10)
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM), headless=True,
            args=FLAGS, viewport={"width": 1400, "height": 1000})
        try:
            yield context
        finally:
            context.close()


def _config(out: Path, language: str = "zh") -> Config:
    return config_from_dict({"register": {"path": str(FIXTURE), "language": language},
                             "output": {"dir": str(out)}})


def _documents(config: Config) -> None:
    """Two documents written this week (Monday 04-06 and Tuesday), one the week before."""
    folder = config.documents_dir / "2026" / "04"
    folder.mkdir(parents=True)
    monday = dt.datetime(2026, 4, 6, 10, 0).timestamp()
    for name, when in (("KS-2604-01_客诉反馈单.docx", monday + 3600), ("KS-2604-02_客诉反馈单.docx", monday + 86400),
                       ("KS-2603-01_客诉反馈单.docx", monday - 3 * 86400)):
        (folder / name).write_bytes(b"PK")
        os.utime(folder / name, (when, when))


def _runs(config: Config) -> None:
    store = RunHistory(config.state_path)
    for day, status, errors in ((9, "partial", ["邮件服务器无法连接"]), (10, "ok", [])):
        start = dt.datetime(2026, 4, day, 9, 0)
        run_id = store.start(started=start, run_date=start.date())
        store.finish(run_id, finished=start + dt.timedelta(seconds=2), status=status, register_path=str(FIXTURE),
                     register_sha256="ab", register_size=1, counts={"rows": 23, "error": 7, "reminders_sent": 5},
                     errors=errors)


def _page(tmp_path: Path, language: str = "zh") -> Path:
    config = _config(tmp_path / "output", language)
    _documents(config)
    _runs(config)
    register = read_register(config)
    report = validate(register, config, TODAY)
    stats = compute_statistics(register, report, config, today=TODAY)
    return write_dashboard(stats, config, tmp_path / "output" / "dashboard.html", today=TODAY, report=report,
                           register=register, now=dt.datetime(2026, 4, 10, 9, 0))


def _open(browser: object, path: Path) -> tuple[object, list[str]]:
    page = browser.new_page()  # type: ignore[attr-defined]
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, requests


def _rows(page: object, selector: str) -> list[list[str]]:
    return page.eval_on_selector_all(  # type: ignore[attr-defined]
        f"{selector} tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))")


@pytest.fixture(scope="module")
def shown(browser: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, list[str], Path]]:
    path = _page(tmp_path_factory.mktemp("dashboard"))
    page, requests = _open(browser, path)
    yield page, requests, path
    page.close()  # type: ignore[attr-defined]


def test_the_page_is_one_offline_file(shown: tuple[object, list[str], Path]) -> None:
    page, requests, path = shown
    # Nothing but the page itself was loaded: no CDN, no script, no font from the web.
    assert requests == [path.as_uri()]
    text = path.read_text(encoding="utf-8")
    assert "<script" not in text and "http://" not in text.replace('xmlns="http://', "").replace(
        'xmlns:xlink="http://', "")
    assert page.title() == "客诉看板 2026-04-10"  # type: ignore[attr-defined]


def test_action_list_first_by_department_and_person(shown: tuple[object, list[str], Path]) -> None:
    page, _, _ = shown
    assert page.eval_on_selector("main > section", "s => s.id") == "action"  # type: ignore[attr-defined]
    summary = page.inner_text("#action p")  # type: ignore[attr-defined]
    assert summary == "逾期事项 7 项（6 件投诉），其中 3 级（已报质量经理）4 项"
    rows = _rows(page, "#action-table")
    assert [(r[0], r[1], r[2], r[3], r[5], r[6]) for r in rows] == [
        ("销售部", "刘洋", "=1+2", "回访", "14", "3 级"),
        ("质量部", "质量主管", "KS-2603-02", "纠正预防措施", "11", "3 级"),
        ("市场部", "杨帆", "KS-2603-06 ★特殊客诉", "答复", "7", "3 级"),
        ("市场部", "杨帆", "KS-2603-06 ★特殊客诉", "回访", "5", "3 级"),
        ("生产部", "赵磊", "KS-2603-04", "回访", "4", "2 级"),
        ("客服部", "李娜", "KS-2604-05", "答复", "1", "1 级"),
        ("物流部", "陈静", "KS-2604-02", "答复", "1", "1 级"),
    ]
    assert rows[0][7] == "台账!A24"
    # Level 3 rows are drawn red: the class is applied and the browser paints it.
    colour = page.eval_on_selector("#action-table tbody tr td", "td => getComputedStyle(td).backgroundColor")  # type: ignore[attr-defined]
    assert colour == "rgb(253, 232, 232)"
    assert _rows(page, "#specials-table") == [
        ["KS-2603-06", "疑似敲诈", "2026-03-30", "市场部", "杨帆", "待处理", "台账!A18"]]


def test_findings_count_links_to_the_findings_workbook(shown: tuple[object, list[str], Path]) -> None:
    page, _, path = shown
    # N6, F10, E13 (fields no figure needs), AA23, B24, H25, J25: 7 errors in 6 rows.
    assert page.inner_text("#findings-count") == "7"  # type: ignore[attr-defined]
    assert "错误 7 处（6 行），警告 0 处" in page.inner_text("#findings")  # type: ignore[attr-defined]
    href = page.get_attribute("#findings-link a", "href")  # type: ignore[attr-defined]
    target = Path(unquote(urlparse(page.eval_on_selector("#findings-link a", "a => a.href")).path))  # type: ignore[attr-defined]
    assert href == "%E5%8F%B0%E8%B4%A6%E6%A3%80%E6%9F%A5%E6%8A%A5%E5%91%8A.xlsx"  # relative: 台账检查报告.xlsx
    assert target == path.with_name("台账检查报告.xlsx") and target.exists()
    book = load_workbook(target)
    assert book.sheetnames[0] == "问题清单"
    # The rows to fix, at their own addresses (the links land on the cell); the others are left out.
    assert book["台账"]["A6"].value == "KS-2601-03" and book["台账"]["N6"].value == "陈静@example.com"
    assert book["台账"]["A4"].value is None  # KS-2601-01 has no finding
    page.click("#left-out summary")  # type: ignore[attr-defined]
    left = page.inner_text("#left-out")  # type: ignore[attr-defined]
    assert "未计入统计的投诉：3 件" in left and "月度趋势：3 件" in left and "台账!AA23" in left


def test_charts_show_the_figures(shown: tuple[object, list[str], Path]) -> None:
    page, _, _ = shown
    assert page.locator("svg.pygal-chart").count() == 5  # type: ignore[attr-defined]
    trend = page.inner_text("#trend")  # type: ignore[attr-defined]
    assert "每月受理（按等级）" in trend and "2026-03" in trend and "未分级" in trend
    # Every chart is drawn: a visible box of real size.
    sizes = page.eval_on_selector_all(  # type: ignore[attr-defined]
        "svg.pygal-chart", "svgs => svgs.map(s => [s.getBoundingClientRect().width, s.getBoundingClientRect().height])")
    assert all(w > 250 and h > 150 for w, h in sizes)
    pareto = page.eval_on_selector_all(  # type: ignore[attr-defined]
        "#pareto svg .axis.y text", "ts => ts.map(t => t.textContent)")
    assert "产品质量（累计 32%）" in pareto and "信息安全（累计 100%）" in pareto  # 7/22, 22/22
    assert page.inner_text("#satisfaction-rate") == "86.7%"  # type: ignore[attr-defined]  13/15
    assert "按时答复率 90.5%，按时回访率 73.7%" in page.inner_text("#on-time")  # type: ignore[attr-defined]
    assert ["销售部", "100.0% (2/2)", "50.0% (1/2)"] in _rows(page, "#on-time-departments")


def test_documents_this_week_and_last_runs(shown: tuple[object, list[str], Path]) -> None:
    page, _, path = shown
    rows = _rows(page, "#documents-table")
    assert rows == [["KS-2604-02_客诉反馈单.docx", "2026-04-07 10:00"], ["KS-2604-01_客诉反馈单.docx", "2026-04-06 11:00"]]
    links = page.eval_on_selector_all("#documents-table a", "as => as.map(a => a.href)")  # type: ignore[attr-defined]
    assert all(Path(unquote(urlparse(link).path)).exists() for link in links)
    assert Path(unquote(urlparse(links[0]).path)) == path.parent / "documents" / "2026" / "04" / "KS-2604-02_客诉反馈单.docx"
    runs = _rows(page, "#runs-table")
    assert [r[:6] for r in runs] == [["2026-04-10 09:00", "完成", "run", "23", "7", "5"],
                                     ["2026-04-09 09:00", "部分完成", "run", "23", "7", "5"]]
    assert runs[1][6] == "邮件服务器无法连接"


def test_english_labels(browser: object, tmp_path: Path) -> None:
    page, _ = _open(browser, _page(tmp_path, "en"))
    try:
        assert page.inner_text("#action h2") == "Needs action today"  # type: ignore[attr-defined]
        assert _rows(page, "#action-table")[0][3] == "Follow-up"
        assert _rows(page, "#specials-table")[0][1] == "Suspected extortion"
        assert page.inner_text("#findings-link") == "Open the findings workbook (every problem cell marked)"  # type: ignore[attr-defined]
        assert path_exists(page, "#findings-link a")
    finally:
        page.close()  # type: ignore[attr-defined]


def path_exists(page: object, selector: str) -> bool:
    href = page.eval_on_selector(selector, "a => a.href")  # type: ignore[attr-defined]
    return Path(unquote(urlparse(href).path)).name == "register-findings.xlsx" and \
        Path(unquote(urlparse(href).path)).exists()


def test_screenshot_shows_cjk_text(shown: tuple[object, list[str], Path], tmp_path: Path) -> None:
    page, _, _ = shown
    shot = tmp_path / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)  # type: ignore[attr-defined]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    # The heading is drawn with real glyphs: a CJK font, not the empty boxes of a missing one.
    width = page.eval_on_selector("header h1", "h => { const r = document.createRange(); r.selectNodeContents(h);"  # type: ignore[attr-defined]
                                  " return r.getBoundingClientRect().width; }")
    assert 60 < width < 200  # four characters at 22px


def test_run_writes_the_dashboard_every_time(browser: object, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    register = tmp_path / "register.xlsx"
    shutil.copy(FIXTURE, register)
    config = tmp_path / "config.toml"
    config.write_text(f'[register]\npath = "{register.as_posix()}"\n[output]\ndir = "output"\n', encoding="utf-8")
    assert main(["run", "--config", str(config), "--today", "2026-04-10", "-q"]) == 0
    page_path = tmp_path / "output" / "dashboard.html"
    findings = tmp_path / "output" / "台账检查报告.xlsx"
    first = page_path.stat().st_mtime_ns, findings.stat().st_mtime_ns
    assert main(["run", "--config", str(config), "--today", "2026-04-10"]) == 0
    assert f"看板：{page_path}" in capsys.readouterr().out
    # The page is new (it shows this run); the findings workbook of the same bytes is kept.
    assert page_path.stat().st_mtime_ns != first[0] and findings.stat().st_mtime_ns == first[1]
    page, _ = _open(browser, page_path)
    try:
        runs = _rows(page, "#runs-table")
        assert len(runs) == 2 and all(r[1] == "完成" for r in runs)
        assert page.inner_text("#findings-count") == "7"  # type: ignore[attr-defined]
    finally:
        page.close()  # type: ignore[attr-defined]
    # Another day: the figures kept beside the page are not reused, the findings workbook is new.
    assert (tmp_path / "output" / ".dashboard-figures.pickle").exists()
    assert main(["run", "--config", str(config), "--today", "2026-04-13", "-q"]) == 0
    assert findings.stat().st_mtime_ns != first[1]
    page, _ = _open(browser, page_path)
    try:
        assert "统计日：2026-04-13" in page.inner_text("header")  # type: ignore[attr-defined]
        # KS-2604-02's reply is now 2 working days overdue (due 04-09; 04-10 and 04-13 have passed).
        rows = {(r[2], r[3]): r[5] for r in _rows(page, "#action-table")}
        assert rows[("KS-2604-02", "答复")] == "2"
    finally:
        page.close()  # type: ignore[attr-defined]


def test_report_html_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[register]\npath = "{FIXTURE.as_posix()}"\n[output]\ndir = "out"\n', encoding="utf-8")
    target = tmp_path / "看板" / "dashboard.html"
    assert main(["report", "--config", str(config), "--today", "2026-04-10", "--html", str(target)]) == 0
    assert f"看板：{target}" in capsys.readouterr().out
    assert target.exists() and (target.parent / "台账检查报告.xlsx").exists()
    # Looking at statistics creates no state database.
    assert not (tmp_path / "out" / "state.sqlite").exists()
    assert main(["report", "--config", str(config), "--today", "2026-04-10", "--html", str(tmp_path / "x.txt")]) == 2
    assert "不是 .html 文件" in capsys.readouterr().err


def test_figures_module_imports_no_openpyxl_nor_pygal() -> None:
    import subprocess

    code = ("import sys, toolkit.report.figures; "
            "print(sorted(m for m in ('openpyxl', 'pygal') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_an_unreadable_register_replaces_the_page_with_a_warning(browser: object, tmp_path: Path) -> None:
    register = tmp_path / "register.xlsx"
    shutil.copy(FIXTURE, register)
    config = tmp_path / "config.toml"
    config.write_text(f'[register]\npath = "{register.as_posix()}"\n[output]\ndir = "output"\n', encoding="utf-8")
    assert main(["run", "--config", str(config), "--today", "2026-04-10", "-q"]) == 0
    register.write_bytes(b"not a workbook")  # staff saved something else under the name
    assert main(["run", "--config", str(config), "--today", "2026-04-13", "-q"]) == 2
    page, _ = _open(browser, tmp_path / "output" / "dashboard.html")
    try:
        # Yesterday's figures are gone: the page says why there are none, and shows the runs.
        assert page.locator("#action-table").count() == 0  # type: ignore[attr-defined]
        assert page.inner_text("#action h2") == "台账未能读取，今天的统计无法生成"  # type: ignore[attr-defined]
        assert "register.xlsx" in page.inner_text("#failed")  # type: ignore[attr-defined]
        assert [r[1] for r in _rows(page, "#runs-table")] == ["失败", "完成"]
    finally:
        page.close()  # type: ignore[attr-defined]


def test_documents_this_week_from_folders_unchanged_since_the_last_look(tmp_path: Path) -> None:
    """The filed-documents list remembers each folder: a folder untouched since the last look is
    not listed again (its files not looked at one by one); one written to since (a document
    renamed into place, one deleted) is, and the list is then what a full look gives."""
    from toolkit.report.dashboard import _FILED_CACHE, _filed_since, dashboard_inputs

    config = _config(tmp_path / "output")
    _documents(config)
    folder = config.documents_dir / "2026" / "04"
    settled = dt.datetime.now().timestamp() - 30
    for path in (folder, folder.parent, config.documents_dir):
        os.utime(path, (settled, settled))
    monday = dt.date(2026, 4, 6)

    def names() -> list[str]:
        return [d.path.name for d in dashboard_inputs(config, today=TODAY).documents]

    def full_look() -> list[str]:
        return [d.path.name for d in _filed_since(config.documents_dir, monday)[0]]

    assert names() == ["KS-2604-02_客诉反馈单.docx", "KS-2604-01_客诉反馈单.docx"] == full_look()
    assert (config.output_dir / _FILED_CACHE).exists()
    # Touched in place, its folder not stamped: the folder is not looked at again.
    wednesday = dt.datetime(2026, 4, 8, 9, 0).timestamp()
    os.utime(folder / "KS-2604-01_客诉反馈单.docx", (wednesday, wednesday))
    os.utime(folder, (settled, settled))
    assert names() == ["KS-2604-02_客诉反馈单.docx", "KS-2604-01_客诉反馈单.docx"]
    # A document renamed into place stamps the folder: it is listed again, all of it.
    (folder / "new.part").write_bytes(b"PK")
    os.utime(folder / "new.part", (wednesday + 60, wednesday + 60))
    (folder / "new.part").rename(folder / "KS-2604-03_客诉反馈单.docx")
    assert names() == ["KS-2604-03_客诉反馈单.docx", "KS-2604-01_客诉反馈单.docx", "KS-2604-02_客诉反馈单.docx"]
    assert names() == full_look()
    (folder / "KS-2604-02_客诉反馈单.docx").unlink()
    assert names() == ["KS-2604-03_客诉反馈单.docx", "KS-2604-01_客诉反馈单.docx"] == full_look()
    # A new month's folder under a folder that was settled.
    (config.documents_dir / "2026" / "05").mkdir()
    (config.documents_dir / "2026" / "05" / "KS-2605-01_客诉反馈单.docx").write_bytes(b"PK")
    assert "KS-2605-01_客诉反馈单.docx" in names()
    assert names() == full_look()


def test_documents_looked_at_ahead_are_not_looked_at_again(tmp_path: Path) -> None:
    """The daily job looks at the filed documents' times while the register is parsed; the list
    after its documents stage takes those times for the files it saw then (same inode, same
    name) and looks at the rest: documents renamed into place since, new ones, a folder that was
    not stamped this week then. The list is what a full look gives."""
    from toolkit.report.dashboard import _filed_since, look_ahead_filed

    config = _config(tmp_path / "output")
    _documents(config)
    april = config.documents_dir / "2026" / "04"
    march = config.documents_dir / "2026" / "03"
    march.mkdir()
    (march / "KS-2603-09_客诉反馈单.docx").write_bytes(b"PK")
    before = dt.datetime(2026, 3, 20, 9, 0).timestamp()
    for path in (march / "KS-2603-09_客诉反馈单.docx", march):
        os.utime(path, (before, before))
    monday = dt.date(2026, 4, 6)
    ahead = look_ahead_filed(config, TODAY)
    assert ahead is not None and len(ahead[str(april)][0]) == 3 and list(ahead[str(march)][1]) == [0.0]

    def renamed_in(folder: Path, name: str, when: float) -> None:
        (folder / ".new.part").write_bytes(b"PK-new")
        os.utime(folder / ".new.part", (when, when))
        os.replace(folder / ".new.part", folder / name)

    wednesday = dt.datetime(2026, 4, 8, 9, 0).timestamp()
    renamed_in(april, "KS-2604-01_客诉反馈单.docx", wednesday + 600)  # replaced: a new file
    renamed_in(april, "KS-2604-03_客诉反馈单.docx", wednesday)
    renamed_in(march, "KS-2603-10_客诉反馈单.docx", wednesday + 60)  # the folder is stamped now
    (april / "KS-2604-02_客诉反馈单.docx").unlink()

    def listed(found: tuple[list, int]) -> list[tuple[str, dt.datetime]]:
        return [(d.path.name, d.written) for d in found[0]]

    full = listed(_filed_since(config.documents_dir, monday))
    assert full == listed(_filed_since(config.documents_dir, monday, ahead=ahead))
    assert [name for name, _ in full] == ["KS-2604-01_客诉反馈单.docx", "KS-2603-10_客诉反馈单.docx",
                                         "KS-2604-03_客诉反馈单.docx"]
    # The times seen ahead are the ones taken: a file touched in place since (the toolkit only
    # ever replaces a document by renaming a new one over it) keeps the time seen then.
    os.utime(april / "KS-2603-01_客诉反馈单.docx", (wednesday + 900, wednesday + 900))
    assert listed(_filed_since(config.documents_dir, monday, ahead=ahead)) == full
    assert listed(_filed_since(config.documents_dir, monday))[0][0] == "KS-2603-01_客诉反馈单.docx"


def test_the_findings_workbook_is_written_again_only_when_its_rows_change(tmp_path: Path) -> None:
    """A day's edits to a row without findings (new bytes, the same findings and rows with
    findings) keep the findings workbook; an edit to a row with a finding writes it again."""
    from openpyxl import load_workbook as open_workbook

    from toolkit.report.dashboard import daily_findings_workbook

    register = tmp_path / "register.xlsx"
    shutil.copy(FIXTURE, register)
    config = _config(tmp_path / "output")
    config.register.path = str(register)
    reg = read_register(config)
    report = validate(reg, config, TODAY)
    written = daily_findings_workbook(config, reg, report, today=TODAY)
    assert written is not None
    stamp = written.stat().st_mtime_ns
    with_findings = {f.row for f in report.findings if f.row is not None}
    clean = next(r for r in reg.records if r.row not in with_findings)
    spoilt = next(r for r in reg.records if r.row in with_findings)
    column = reg.sheet(clean.sheet).column_letter("description")

    def edit(row: int) -> None:
        book = open_workbook(register)
        sheet = book[clean.sheet]
        sheet[f"{column}{row}"] = f"{sheet[f'{column}{row}'].value}（补充说明）"
        book.save(register)

    edit(clean.row)
    reg = read_register(config)
    report = validate(reg, config, TODAY)
    assert daily_findings_workbook(config, reg, report, today=TODAY) == written
    assert written.stat().st_mtime_ns == stamp  # new bytes, the same workbook: kept
    edit(spoilt.row)
    reg = read_register(config)
    report = validate(reg, config, TODAY)
    daily_findings_workbook(config, reg, report, today=TODAY)
    assert written.stat().st_mtime_ns != stamp
    cells = [c.value for row in open_workbook(written)[spoilt.sheet].iter_rows() for c in row]
    assert any(isinstance(v, str) and v.endswith("（补充说明）") for v in cells)
