"""The dashboard (看板): one self-contained HTML page for the quality manager.

What needs action today comes first (overdue and escalated items by department and person, open
special complaints), then the findings to fix in the register (with a link to the findings
workbook), the monthly trend, the category Pareto, on-time rates, satisfaction, the documents
filed this week (links to the files) and the last runs of the daily job.

The page is one file: charts are SVG drawn by pygal and written into the page, styles are
inline, there is no script and nothing is fetched, so it opens offline from a network drive.
Links to the findings workbook and documents are relative to the page, so the whole output
folder can be shared or copied. Chinese text is drawn by the browser's own fonts.

>>> path = write_dashboard(stats, config, "output/dashboard.html", today=today, report=report)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import heapq
import html
import json
import logging
import os
import re
import time
import unicodedata
from array import array
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pygal
from pygal.style import Style

from ..config import Config
from ..errors import ConfigError
from ..fields import SATISFACTIONS, SEVERITIES, display_value
from ..fsutil import atomic_write_bytes, ensure_folder, same_file
from ..history import RunHistory, RunRecord
from ..i18n import Messages, translate
from .figures import FIGURES, ActionItem, Planned, Statistics, compute_statistics, show_number
from .figures import MESSAGES as FIGURE_MESSAGES

log = logging.getLogger(__name__)

MESSAGES: Messages = {
    "title": {"zh": "客诉看板", "en": "Complaint dashboard"},
    "subtitle": {"zh": "台账：{register}　统计日：{today}　统计期间：{period}",
                 "en": "Register: {register} · as of {today} · period {period}"},
    "action": {"zh": "今日待办", "en": "Needs action today"},
    "action.none": {"zh": "今天没有逾期或升级的事项。", "en": "Nothing is overdue or escalated today."},
    "action.summary": {"zh": "逾期事项 {items} 项（{complaints} 件投诉），其中 3 级（已报质量经理）{level3} 项",
                       "en": "{items} overdue item(s) ({complaints} complaint(s)), {level3} at level 3 "
                             "(quality manager)"},
    "col.department": {"zh": "责任部门", "en": "Department"},
    "col.person": {"zh": "负责人", "en": "Person"},
    "col.complaint": {"zh": "投诉编号", "en": "Complaint No."},
    "col.kind": {"zh": "事项", "en": "Item"},
    "col.due": {"zh": "期限", "en": "Due"},
    "col.days": {"zh": "逾期工作日", "en": "Working days overdue"},
    "col.level": {"zh": "级别", "en": "Level"},
    "col.special": {"zh": "特殊客诉", "en": "Special"},
    "col.received": {"zh": "受理日期", "en": "Received"},
    "col.status": {"zh": "处理状态", "en": "Status"},
    "col.cell": {"zh": "台账位置", "en": "Register cell"},
    "kind.reply": {"zh": "答复", "en": "Reply"},
    "kind.followup": {"zh": "回访", "en": "Follow-up"},
    "kind.capa": {"zh": "纠正预防措施", "en": "Corrective action"},
    "level": {"zh": "{level} 级", "en": "level {level}"},
    "blank": {"zh": "（未填）", "en": "(blank)"},
    "specials": {"zh": "未结案的特殊客诉", "en": "Special complaints still open"},
    "specials.none": {"zh": "没有未结案的特殊客诉。", "en": "No special complaint is open."},
    "findings": {"zh": "台账待修正", "en": "To fix in the register"},
    "findings.count": {"zh": "错误 {errors} 处（{rows} 行），警告 {warnings} 处",
                       "en": "{errors} error(s) in {rows} row(s), {warnings} warning(s)"},
    "findings.link": {"zh": "打开检查报告（标出每个问题单元格）", "en": "Open the findings workbook (every problem cell marked)"},
    "findings.none": {"zh": "台账没有错误。", "en": "The register has no errors."},
    "findings.unknown": {"zh": "本次没有检查台账。", "en": "The register was not checked this time."},
    "left_out": {"zh": "未计入统计的投诉：{count} 件", "en": "Complaints left out of some figure: {count}"},
    "left_out.none": {"zh": "每件投诉都计入了每项统计。", "en": "Every complaint is in every figure."},
    "left_out.figure": {"zh": "{figure}：{count} 件", "en": "{figure}: {count}"},
    "trend": {"zh": "月度趋势", "en": "Monthly trend"},
    "trend.class": {"zh": "每月受理（按等级）", "en": "Received per month, by class"},
    "trend.closed": {"zh": "每月受理与结案", "en": "Received and closed per month"},
    "series.received": {"zh": "受理", "en": "Received"},
    "series.closed": {"zh": "结案", "en": "Closed"},
    "series.class": {"zh": "{value}类", "en": "Class {value}"},
    "series.unclassified": {"zh": "未分级", "en": "No class"},
    "series.count": {"zh": "数量", "en": "Count"},
    "series.reply": {"zh": "按时答复率", "en": "On-time replies"},
    "series.followup": {"zh": "按时回访率", "en": "On-time follow-ups"},
    "pareto": {"zh": "投诉类别帕累托", "en": "Category Pareto"},
    "pareto.label": {"zh": "{value}（累计 {cumulative}）", "en": "{value} (cumulative {cumulative})"},
    "on_time": {"zh": "按时率", "en": "On-time rates"},
    "on_time.headline": {"zh": "按时答复率 {reply}，按时回访率 {followup}",
                         "en": "Replies on time {reply}, follow-ups on time {followup}"},
    "col.reply_rate": {"zh": "按时答复率", "en": "Replies on time"},
    "col.followup_rate": {"zh": "按时回访率", "en": "Follow-ups on time"},
    "satisfaction": {"zh": "客户满意度", "en": "Satisfaction"},
    "satisfaction.headline": {"zh": "满意率 {rate}（{rated} 件已评价结案）",
                              "en": "Satisfaction rate {rate} ({rated} closed with a rating)"},
    "no_data": {"zh": "本期间无数据。", "en": "No data in this period."},
    "documents": {"zh": "本周归档的文档", "en": "Documents filed this week"},
    "documents.since": {"zh": "{start} 以来写入的文档：{count} 份", "en": "Written since {start}: {count}"},
    "documents.none": {"zh": "本周没有新归档的文档。", "en": "No document was filed this week."},
    "documents.more": {"zh": "……另有 {count} 份，见文档文件夹 {folder}", "en": "... and {count} more in {folder}"},
    "documents.superseded": {"zh": "本次运行移至 {folder} 的旧文档（台账已不再生成它们；原文件保留）：",
                             "en": "Earlier documents this run moved to {folder} (the register no longer files "
                                   "them; kept, not deleted):"},
    "col.file": {"zh": "文件", "en": "File"},
    "col.written": {"zh": "写入时间", "en": "Written"},
    "runs": {"zh": "最近运行", "en": "Last runs"},
    "runs.none": {"zh": "还没有运行记录。", "en": "No run recorded yet."},
    "col.started": {"zh": "开始", "en": "Started"},
    "col.run_status": {"zh": "结果", "en": "Result"},
    "col.trigger": {"zh": "方式", "en": "Trigger"},
    "col.rows": {"zh": "行数", "en": "Rows"},
    "col.errors": {"zh": "错误", "en": "Errors"},
    "col.sent": {"zh": "已发提醒", "en": "Reminders sent"},
    "col.problems": {"zh": "问题", "en": "Problems"},
    "run.ok": {"zh": "完成", "en": "ok"},
    "run.partial": {"zh": "部分完成", "en": "partial"},
    "run.failed": {"zh": "失败", "en": "failed"},
    "run.running": {"zh": "运行中", "en": "running"},
    "run.interrupted": {"zh": "已中断", "en": "interrupted"},
    "failed": {"zh": "台账未能读取，今天的统计无法生成", "en": "The register could not be read: no figures today"},
    "failed.why": {"zh": "原因：{error}", "en": "Why: {error}"},
    "failed.fix": {"zh": "请按上面的提示处理后重新运行 complaint-toolkit run；在此之前，请勿依据旧的统计。",
                   "en": "Fix what the message says and run complaint-toolkit run again; until then, do not rely "
                         "on earlier figures."},
    "footer": {"zh": "由客诉工具生成于 {now}。本页不联网，可直接从共享盘打开。",
               "en": "Written by the complaint toolkit at {now}. This page needs no network; open it from "
                     "a shared drive."},
    "err.not_html": {
        "zh": "看板路径 {path} 不是 .html 文件；请给以 .html 结尾的文件名。",
        "en": "the dashboard path {path} is not an .html file; give a file name ending in .html.",
    },
    "err.write": {
        "zh": "无法写入看板 {path}：{error}。请确认文件夹可写。",
        "en": "cannot write the dashboard {path}: {error}. Check that the folder is writable.",
    },
    "err.same_as_register": {
        "zh": "看板路径 {path} 就是台账本身；看板绝不写入台账。请换一个 .html 文件名。",
        "en": "the dashboard path {path} is the register itself; it is never written. Give another .html name.",
    },
}

#: Documents listed on the page at most (the newest); the rest are counted.
MAX_DOCUMENTS = 100
#: Runs of the daily job shown.
MAX_RUNS = 10
_DOCUMENT_SUFFIXES = (".docx", ".pdf")
_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_FINDINGS_NAME = {"zh": "台账检查报告.xlsx", "en": "register-findings.xlsx"}
#: What the findings workbook beside the page was written from (register bytes, day, language).
_FINDINGS_STAMP = ".dashboard-findings.json"
#: The figures of the last daily page, for a rerun on the same inputs.
_FIGURES_CACHE = ".dashboard-figures.pickle"
#: Per folder of documents, what was filed there this week (see _filed_since).
_FILED_CACHE = ".dashboard-filed.json"


@dataclass(slots=True)
class FiledDocument:
    path: Path
    written: dt.datetime


@dataclass(slots=True)
class DashboardInputs:
    """What the page shows besides the figures: findings, documents, runs."""

    #: error / warning / rows_with_errors counts of the validation, or None when not run.
    findings: dict[str, int] | None = None
    findings_workbook: Path | None = None
    documents: list[FiledDocument] = field(default_factory=list)
    documents_more: int = 0
    documents_dir: Path | None = None
    week_start: dt.date | None = None
    runs: list[RunRecord] = field(default_factory=list)
    #: This run's superseded documents, one line each (old path, where it went, why).
    superseded: list[str] = field(default_factory=list)
    superseded_folder: str = ""


def default_dashboard_path(config: Config) -> Path:
    """``<output.dir>/dashboard.html``."""
    return config.output_dir / "dashboard.html"


def filed_this_week(config: Config, today: dt.date,
                    ahead: FiledAhead | None = None) -> tuple[list[FiledDocument], int]:
    """The documents written since Monday of ``today``'s week (the newest, and how many more),
    by the files' own times. The daily job asks once its documents are filed, while the page's
    figures are still being worked out in its helper processes; ``ahead``: what
    :func:`look_ahead_filed` found before the documents were filed."""
    week_start = today - dt.timedelta(days=today.weekday())
    cache = config.output_dir / _FILED_CACHE if config.output_dir.is_dir() else None
    return _filed_since(config.documents_dir, week_start, cache, ahead)


#: Per folder, what :func:`look_ahead_filed` saw: the keys of its documents (a hash of inode
#: and name) and their files' times, in the same order.
FiledAhead = dict[str, tuple[array, array]]


def look_ahead_filed(config: Config, today: dt.date) -> FiledAhead | None:
    """Every document's time under the documents folder, looked at before the daily job files
    its documents (on a thread, while calamine parses the register with the GIL let go).

    The documents stage renames into most folders of a large register, so the listing of this
    week's documents after it would look at every file of those folders again: one ``stat``
    each, 218k of them at 100k rows. With this, it looks only at the files the run (or anyone
    else) put there since: a file whose inode and name are the ones seen here is the same file,
    because a document is only ever replaced by renaming a new file over it. Files in a folder
    not stamped this week get time 0, as :func:`_filed_since` takes them to be older. None on
    Windows, where a folder's listing carries the files' times already (and ``inode()`` would
    cost a ``stat``)."""
    if os.name == "nt":
        return None
    week_start = today - dt.timedelta(days=today.weekday())
    since = dt.datetime.combine(week_start, dt.time()).timestamp()
    seen: FiledAhead = {}
    pending = [str(config.documents_dir)]
    aside = _superseded_folders(config.documents_dir)
    while pending:
        directory = pending.pop()
        keys, times = array("q"), array("d")
        try:
            recent = os.stat(directory).st_mtime >= since
            with os.scandir(directory) as entries:
                for entry in entries:
                    name = entry.name
                    if entry.is_dir(follow_symlinks=False):
                        if entry.path not in aside:
                            pending.append(entry.path)
                    elif name.lower().endswith(_DOCUMENT_SUFFIXES) and not name.startswith((".", "~$")):
                        keys.append(hash((entry.inode(), name)))
                        times.append(entry.stat().st_mtime if recent else 0.0)
        except OSError:  # gone, or not readable: the listing after the stage looks for itself
            continue
        seen[directory] = (keys, times)
    return seen


def _superseded_folders(documents_dir: str | os.PathLike[str]) -> frozenset[str]:
    """The paths of the folders superseded documents are moved into, as scandir gives them."""
    from ..documents.superseded import FOLDER_NAMES

    return frozenset(os.path.join(str(documents_dir), name) for name in FOLDER_NAMES)


def dashboard_inputs(config: Config, *, today: dt.date, report: Any = None,
                     findings_workbook: Path | None = None,
                     filed: tuple[list[FiledDocument], int] | None = None,
                     superseded: tuple[list[str], str] = ([], "")) -> DashboardInputs:
    """Gather the page's other inputs: validation counts, documents written since Monday of
    ``today``'s week (``filed``, else looked up now: :func:`filed_this_week`), and the last runs
    from the history (the state database is only read when it exists: looking at the page
    creates nothing)."""
    week_start = today - dt.timedelta(days=today.weekday())
    documents_dir = config.documents_dir
    filed_documents, more = filed if filed is not None else filed_this_week(config, today)
    runs: list[RunRecord] = []
    if config.state_path.exists():
        runs = RunHistory(config.state_path).recent(limit=MAX_RUNS)
    findings = None
    if report is not None:
        counts = report.counts
        findings = {"error": int(counts.get("error", 0)), "warning": int(counts.get("warning", 0)),
                    "rows_with_errors": int(counts.get("rows_with_errors", 0))}
    return DashboardInputs(findings, findings_workbook, filed_documents, more, documents_dir, week_start, runs,
                           list(superseded[0]), superseded[1])


#: A folder whose modification time is this much older than our last look at it has not changed
#: since (file systems stamp folders at least this finely; FAT's two seconds are the coarsest).
_SETTLED_NS = 2_000_000_000


def _filed_since(folder: Path, start: dt.date, cache: Path | None = None,
                 ahead: FiledAhead | None = None) -> tuple[list[FiledDocument], int]:
    """The newest documents written since ``start`` (at most :data:`MAX_DOCUMENTS`), and how
    many more there are.

    Documents are written to a temporary name and renamed, which stamps their folder. So a
    folder untouched since Monday holds no document of this week, and a folder untouched since
    the last look (``cache``: per folder, its stamp, subfolders, newest documents and their
    count) holds what it held then: only the folders written to since are listed and their
    files looked at one by one (a documents folder may hold 100k of them), but for the files
    ``ahead`` saw already (:func:`look_ahead_filed`)."""
    if not folder.is_dir():
        return [], 0
    since = dt.datetime.combine(start, dt.time()).timestamp()
    known = _load_filed(cache, folder, start)
    # Documents moved aside are no longer filed: their folder is not this week's documents.
    aside = _superseded_folders(folder)
    looked: dict[str, dict[str, Any]] = {}
    found: list[tuple[float, str]] = []
    total = 0
    pending = [str(folder)]
    while pending:
        directory = pending.pop()
        seen = time.time_ns()
        try:
            stamp = os.stat(directory).st_mtime_ns
        except OSError:
            continue
        entry = known.get(directory)
        if entry is None or entry["mtime"] != stamp or entry["seen"] - stamp <= _SETTLED_NS:
            try:
                entry = _look_at(directory, stamp, seen, stamp / 1e9 >= since, since,
                                 ahead.get(directory) if ahead else None)
            except OSError:
                continue
        looked[directory] = entry
        pending.extend(d for d in entry["dirs"] if d not in aside)
        found.extend((mtime, path) for mtime, path in entry["newest"])
        total += entry["count"]
    if cache is not None and looked != known:
        try:
            atomic_write_bytes(cache, json.dumps({"root": str(folder), "since": start.isoformat(), "folders": looked},
                                                 ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        except OSError as exc:  # the cache only saves time
            log.warning("could not keep the list of filed documents in %s: %s", cache, exc)
    newest = heapq.nlargest(MAX_DOCUMENTS, found)
    documents = [FiledDocument(Path(path), dt.datetime.fromtimestamp(mtime)) for mtime, path in newest]
    return documents, max(0, total - MAX_DOCUMENTS)


def _look_at(directory: str, stamp: int, seen: int, recent: bool, since: float,
             ahead: tuple[array, array] | None = None) -> dict[str, Any]:
    """One folder: its subfolders, and its newest documents written since ``since`` (their times
    from ``ahead``, the folder's keys and times as :func:`look_ahead_filed` saw them, where it
    saw the same file)."""
    dirs: list[str] = []
    files: list[tuple[float, str]] = []
    # Kept as two arrays (16 bytes a file) until now; a dict for the one folder being listed.
    known = dict(zip(*ahead, strict=True)) if ahead and recent else None
    with os.scandir(directory) as entries:
        for entry in entries:
            name = entry.name
            if known:
                # A document seen ahead (only documents were): no need to ask what it is.
                mtime = known.get(hash((entry.inode(), name)))
                if mtime is not None:
                    if mtime >= since:
                        files.append((mtime, name))
                    continue
            if entry.is_dir(follow_symlinks=False):
                dirs.append(entry.path)
            elif recent and name.lower().endswith(_DOCUMENT_SUFFIXES) and not name.startswith((".", "~$")):
                mtime = entry.stat().st_mtime
                if mtime >= since:
                    files.append((mtime, name))  # the path only for the newest (one folder: same order)
    newest = [[mtime, os.path.join(directory, name)] for mtime, name in heapq.nlargest(MAX_DOCUMENTS, files)]
    return {"mtime": stamp, "seen": seen, "dirs": dirs, "newest": newest, "count": len(files)}


def _load_filed(cache: Path | None, folder: Path, start: dt.date) -> dict[str, dict[str, Any]]:
    if cache is None:
        return {}
    try:
        data = json.loads(cache.read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("root") != str(folder) or data.get("since") != start.isoformat():
        return {}
    folders = data.get("folders")
    return folders if isinstance(folders, dict) else {}


def write_dashboard(stats: Statistics, config: Config, path: str | Path, *, today: dt.date,
                    report: Any = None, register: Any = None, now: dt.datetime | None = None,
                    reuse_findings: bool = False, findings: DailyFigures | None = None,
                    filed: tuple[list[FiledDocument], int] | None = None,
                    superseded: tuple[list[str], str] = ([], "")) -> Path:
    """Write the dashboard to ``path`` (atomically), and beside it the findings workbook it
    links to when ``report`` and ``register`` are given and the register has findings.
    ``superseded``: the run's lines on the documents it moved aside, and the folder.

    ``reuse_findings`` (the daily job): keep the findings workbook written earlier for the same
    register bytes, day and language, since copying a large register into a workbook takes
    seconds and a rerun would write the same workbook again. ``findings``: the workbook was
    written already (:func:`prepare_daily_dashboard`)."""
    language = config.language
    target = _checked_target(config, path, stats.register_path)
    if findings is not None:
        findings_workbook = findings.findings_workbook
    else:
        findings_workbook = _findings_workbook(config, target, report, register, today, reuse_findings)
    inputs = dashboard_inputs(config, today=today, report=report, findings_workbook=findings_workbook,
                              filed=filed, superseded=superseded)
    page = build_dashboard(stats, config, inputs, folder=target.parent, now=now)
    try:
        atomic_write_bytes(target, page.encode("utf-8"))
    except OSError as exc:
        raise ConfigError(translate(MESSAGES, "err.write", language, path=target, error=exc.strerror or exc)) from exc
    log.info("dashboard written to %s", target)
    return target


def _checked_target(config: Config, path: str | Path, register_path: str) -> Path:
    """The page's path, refused when it is not .html or is the register itself; its folder made."""
    language = config.language
    target = Path(path)
    if target.suffix.lower() not in (".html", ".htm"):
        raise ConfigError(translate(MESSAGES, "err.not_html", language, path=target))
    if same_file(target, Path(register_path)):
        raise ConfigError(translate(MESSAGES, "err.same_as_register", language, path=target))
    ensure_folder(target.parent, language)
    return target


def _findings_workbook(config: Config, target: Path, report: Any, register: Any, today: dt.date,
                       reuse: bool) -> Path | None:
    """The findings workbook beside the page (None when there are no findings)."""
    if report is None or register is None or not report.findings:
        return None
    from ..workbooks import write_validation_workbook

    language = config.language
    findings_workbook = target.with_name(_FINDINGS_NAME.get(language, _FINDINGS_NAME["zh"]))
    stamp_path = target.with_name(_FINDINGS_STAMP)
    stamp = _findings_stamp(report, register, today, language)
    fresh = reuse and findings_workbook.exists() and stamp_path.exists() \
        and stamp_path.read_text(encoding="utf-8") == stamp
    if not fresh:
        # Only the rows with findings, at their own addresses (the links still land on the cell):
        # copying a 100k-row register into a workbook would cost the daily job a minute.
        # `validate --report` writes the whole register.
        rows = {(f.sheet, f.row) for f in report.findings if f.row is not None}
        to_fix = dataclasses.replace(register, records=[r for r in register.records if (r.sheet, r.row) in rows])
        write_validation_workbook(report, to_fix, findings_workbook, today)
        atomic_write_bytes(stamp_path, stamp.encode("utf-8"))
    return findings_workbook


def _findings_stamp(report: Any, register: Any, today: dt.date, language: str) -> str:
    """What the findings workbook is made of: the findings, the rows they are on (values, cells
    that could not be read, unknown columns, merged cells), the sheets' headers, the day, the
    language and the code that writes it. A day's edits to rows without findings (the usual
    case: a follow-up date filled in) leave it as it is, so it is not written again."""
    from .. import fields, validate, workbooks

    rows = {(f.sheet, f.row) for f in report.findings if f.row is not None}
    digest = hashlib.sha256()
    for part in (str(register.path), today.isoformat(), language,
                 repr([(s.name, s.header_row, s.header_top, s.columns, s.headers) for s in register.sheets]),
                 repr(report.counts)):
        digest.update(part.encode("utf-8") + b"\0")
    for module in (workbooks, validate, fields):  # the writer, its summary's words, list values shown
        digest.update(Path(module.__file__ or "").read_bytes())
    for f in report.findings:
        digest.update(repr((f.code, f.severity, f.sheet, f.row, f.column, f.cell, f.field, f.complaint_id,
                            f.value, f.message)).encode("utf-8"))
    for record in register.records:
        if (record.sheet, record.row) in rows:
            digest.update(repr((record.sheet, record.row, record.values, record.bad, record.extra, record.cells,
                                record.last_row)).encode("utf-8"))
    return json.dumps({"register": str(register.path), "inputs": digest.hexdigest(), "today": today.isoformat(),
                       "language": language, "findings": len(report.findings)}, sort_keys=True)


@dataclass(slots=True)
class DailyFigures:
    """The daily page's heavy part, ready before the page is: its figures, and the findings
    workbook written beside it (None: the register has no findings)."""

    stats: Statistics
    findings_workbook: Path | None


def prepare_daily_dashboard(config: Config, register: Any, report: Any, *, today: dt.date,
                            planned: Planned | None = None) -> DailyFigures:
    """Compute the daily page's figures and write its findings workbook: everything of the page
    that depends only on the register and the findings. The daily job has the two parts done
    on the other core while it files documents and sends reminders (:func:`daily_figures`,
    :func:`daily_findings_workbook` in :func:`toolkit.workers.in_child`)."""
    return DailyFigures(daily_figures(config, register, report, today=today, planned=planned),
                        daily_findings_workbook(config, register, report, today=today))


class PendingPage:
    """The page's figures and findings workbook, each being worked out in a forked helper."""

    def __init__(self, config: Config, register: Any, report: Any, today: dt.date,
                 planned: Planned | None = None) -> None:
        from ..workers import in_child

        self.figures = in_child(daily_figures, config, register, report, today=today, planned=planned)
        try:
            self.workbook = in_child(daily_findings_workbook, config, register, report, today=today)
        except BaseException:
            self.figures.cancel()
            raise

    def result(self) -> DailyFigures:
        try:
            stats = self.figures.result()
        except BaseException:
            self.workbook.cancel()
            raise
        return DailyFigures(stats, self.workbook.result())

    def cancel(self) -> None:
        self.figures.cancel()
        self.workbook.cancel()


def start_daily_dashboard(config: Config, register: Any, report: Any, *, today: dt.date,
                          planned: Planned | None = None) -> Any:
    """Start the page's heavy part beside the daily job's other stages, in ``[limits]
    helper_processes`` forked helpers (they read the records the job holds and write nothing
    its stages read): an object whose ``result()`` is the :class:`DailyFigures` and whose
    ``cancel()`` ends the helpers, or None (0 helpers: :func:`write_daily_dashboard` works it
    out in the job's own process). ``planned``: the day's reminder plan, when the job made it
    (see :func:`toolkit.report.figures.compute_statistics`)."""
    helpers = config.limits.helper_processes
    if helpers >= 2:  # a core each for the figures, the workbook and the job (three cores or more)
        return PendingPage(config, register, report, today, planned)
    if helpers == 1:  # the figures, then the workbook: on two cores, no third busy process
        from ..workers import in_child

        return in_child(prepare_daily_dashboard, config, register, report, today=today, planned=planned)
    return None


def daily_figures(config: Config, register: Any, report: Any, *, today: dt.date,
                  planned: Planned | None = None) -> Statistics:
    """The daily page's figures. A rerun on the same register bytes, day, settings and code
    reuses the figures computed last time (kept beside the page)."""
    path = default_dashboard_path(config)
    _checked_target(config, path, register.path)
    from ..register.cache import kept

    return kept(path.with_name(_FIGURES_CACHE), _figures_key(config, register, today), Statistics,
                _FIGURE_MODULES, lambda: compute_statistics(register, report, config, today=today, planned=planned))


def daily_findings_workbook(config: Config, register: Any, report: Any, *, today: dt.date) -> Path | None:
    """The findings workbook beside the daily page (None: no findings), kept from an earlier run
    on the same register bytes and day."""
    target = _checked_target(config, default_dashboard_path(config), register.path)
    return _findings_workbook(config, target, report, register, today, reuse=True)


def write_daily_dashboard(config: Config, register: Any, report: Any, *, today: dt.date,
                          now: dt.datetime | None = None, prepared: DailyFigures | None = None,
                          filed: tuple[list[FiledDocument], int] | None = None,
                          planned: Planned | None = None,
                          superseded: tuple[list[str], str] = ([], "")) -> Path:
    """The daily job's page, ``<output.dir>/dashboard.html``; ``prepared`` is its heavy part
    and ``filed`` this week's documents, when the job had them worked out already
    (:func:`prepare_daily_dashboard`, :func:`filed_this_week`); ``superseded``: the lines on
    the documents the run moved aside, and their folder."""
    if prepared is None:
        prepared = prepare_daily_dashboard(config, register, report, today=today, planned=planned)
    return write_dashboard(prepared.stats, config, default_dashboard_path(config), today=today, report=report,
                           register=register, now=now, findings=prepared, filed=filed, superseded=superseded)


def _figures_key(config: Config, register: Any, today: dt.date) -> str:
    """What the figures depend on: the register's bytes, the day, every setting, the code that
    reads, validates, plans and counts, and the holiday calendar's version."""
    from .. import fields, model, reminders, validate, workdays
    from .. import register as register_module
    from ..register.cache import derived_key
    from . import figures

    return derived_key(register, config, today, (figures, reminders, workdays, validate, fields, model,
                                                 register_module))


#: The modules whose dataclasses a kept Statistics is made of.
_FIGURE_MODULES = frozenset({"toolkit.report.figures", "toolkit.reminders"})


def write_failed_dashboard(config: Config, *, today: dt.date, error: str, now: dt.datetime | None = None) -> Path:
    """The daily job's page when the register could not be read: it says so (yesterday's page
    must not stand as today's) and shows the last runs and this week's documents."""
    path = default_dashboard_path(config)
    ensure_folder(path.parent, config.language)
    inputs = dashboard_inputs(config, today=today)
    page = _Page(None, config, inputs, path.parent.resolve())
    stamp = (now or dt.datetime.combine(today, dt.time())).strftime("%Y-%m-%d %H:%M")
    body = (f'<section class="wide action" id="action"><h2>{page.e("failed")}</h2>'
            f'<p class="bad" id="failed">{page.e("failed.why", error=error)}</p><p>{page.e("failed.fix")}</p></section>'
            + page.documents() + page.runs())
    text = _html_page(page, config.language, f"{page.e('title')} {today.isoformat()}",
                      html.escape(today.isoformat()), body, stamp)
    try:
        atomic_write_bytes(path, text.encode("utf-8"))
    except OSError as exc:
        raise ConfigError(translate(MESSAGES, "err.write", config.language, path=path,
                                    error=exc.strerror or exc)) from exc
    return path


# -- the page ---------------------------------------------------------------------------------

_CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",sans-serif;
 margin:0;background:#f4f6f9;color:#1f2933;font-size:14px}
header{background:#1f4e79;color:#fff;padding:14px 24px}
header h1{margin:0;font-size:22px}header p{margin:4px 0 0;opacity:.85}
main{padding:16px 24px;display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:16px}
section{background:#fff;border-radius:6px;padding:12px 16px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
section.wide{grid-column:1/-1}section.two{grid-column:span 2}
@media (max-width:960px){section.two{grid-column:auto}}section.action{border-left:6px solid #c00000}
h2{font-size:17px;margin:0 0 8px}h3{font-size:15px;margin:12px 0 6px}
table{border-collapse:collapse;width:100%}th,td{padding:4px 8px;border-bottom:1px solid #e4e7eb;text-align:left;
 vertical-align:top}th{background:#eef3f8;font-weight:600}td.num,th.num{text-align:right}
tr.level3 td{background:#fde8e8}tr.level2 td{background:#fff3e0}
.big{font-size:28px;font-weight:700}.muted{color:#616e7c}.ok{color:#2e7d32}.bad{color:#c00000}
a{color:#0b5cad}svg{width:100%;height:auto}ul{margin:4px 0;padding-left:20px}
"""


class _Page:
    def __init__(self, stats: Statistics | None, config: Config, inputs: DashboardInputs, folder: Path) -> None:
        self.stats: Statistics = stats  # type: ignore[assignment]  # None only for the failure page
        self.inputs = inputs
        self.language = config.language
        self.folder = folder
        self.style_options = dict(
            font_family='"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei",sans-serif',
            background="transparent", plot_background="transparent", foreground="#1f2933",
            foreground_strong="#1f2933", foreground_subtle="#9aa5b1",
            colors=("#c00000", "#ed7d31", "#5b9bd5", "#a5a5a5", "#70ad47"),
            title_font_size=16, label_font_size=12, major_label_font_size=12, legend_font_size=12,
            value_font_size=11, tooltip_font_size=12)

    def t(self, key: str, **values: Any) -> str:
        table = MESSAGES if key in MESSAGES else FIGURE_MESSAGES
        return translate(table, key, self.language, **values)

    def e(self, key: str, **values: Any) -> str:
        return html.escape(self.t(key, **values))

    def chart(self, kind: type, colors: tuple[str, ...] | None = None, **options: Any) -> Any:
        style = Style(**{**self.style_options, **({"colors": colors} if colors else {})})
        # No script (js=[]): pygal would otherwise load its tooltip script from the web.
        settings = {"width": 640, "height": 330, "legend_at_bottom": True, "print_values": True,
                    "print_zeroes": False, "margin": 12, "margin_right": 30, **options}
        return kind(style=style, js=[], disable_xml_declaration=True, **settings)

    @staticmethod
    def svg(chart: Any) -> str:
        """The chart as inline SVG, without pygal's config script (it only feeds the tooltip
        script we do not load) and its comments: the page runs no script at all."""
        return _COMMENT.sub("", _SCRIPT.sub("", chart.render()))

    def link(self, path: Path, text: str) -> str:
        try:
            href = quote(os.path.relpath(path, self.folder).replace(os.sep, "/"))
        except ValueError:  # another drive on Windows: no relative path
            href = path.resolve().as_uri()
        return f'<a href="{html.escape(href)}">{html.escape(text)}</a>'

    # -- sections ---------------------------------------------------------------------------
    def actions(self) -> str:
        s = self.stats
        parts = [f'<section class="wide action" id="action"><h2>{self.e("action")}</h2>']
        items = s.actions
        if not items:
            parts.append(f'<p class="ok">{self.e("action.none")}</p>')
        else:
            parts.append(f'<p class="bad">{self.e("action.summary", items=len(items), complaints=s.headline["overdue_complaints"], level3=sum(1 for i in items if i.level >= 3))}</p>')
            groups: dict[tuple[str, str], list[ActionItem]] = defaultdict(list)
            for item in items:
                groups[(item.department, item.person)].append(item)
            heads = ("col.department", "col.person", "col.complaint", "col.kind", "col.due", "col.days",
                     "col.level", "col.cell")
            parts.append('<table id="action-table"><thead><tr>' +
                         "".join(f'<th{" class=num" if h == "col.days" else ""}>{self.e(h)}</th>' for h in heads) +
                         "</tr></thead><tbody>")
            # Departments with the most urgent items first; within one, each person's items together.
            order = sorted(groups, key=lambda k: (-max(i.level for i in groups[k]),
                                                  -max(i.days_overdue for i in groups[k]), k))
            for dept, person in order:
                for item in groups[(dept, person)]:
                    special = f' <span class="bad">★{self.e("col.special")}</span>' if item.special else ""
                    parts.append(
                        f'<tr class="level{item.level}"><td>{html.escape(dept) or self.e("blank")}</td>'
                        f"<td>{html.escape(person) or self.e('blank')}</td>"
                        f"<td>{html.escape(item.complaint_id)}{special}</td><td>{self.e('kind.' + item.kind)}</td>"
                        f"<td>{item.due.isoformat()}</td><td class=num>{item.days_overdue}</td>"
                        f"<td>{self.e('level', level=item.level)}</td><td>{html.escape(item.cell)}</td></tr>")
            parts.append("</tbody></table>")
        parts.append(f'<h3>{self.e("specials")}</h3>')
        if not s.open_specials:
            parts.append(f'<p class="muted">{self.e("specials.none")}</p>')
        else:
            heads = ("col.complaint", "col.special", "col.received", "col.department", "col.person",
                     "col.status", "col.cell")
            parts.append('<table id="specials-table"><thead><tr>' +
                         "".join(f"<th>{self.e(h)}</th>" for h in heads) + "</tr></thead><tbody>")
            for sp in s.open_specials:
                parts.append(
                    f"<tr><td>{html.escape(sp.complaint_id)}</td>"
                    f"<td>{html.escape(display_value('special', sp.special, self.language))}</td>"
                    f"<td>{sp.received_on.isoformat() if sp.received_on else ''}</td>"
                    f"<td>{html.escape(sp.department)}</td><td>{html.escape(sp.handler)}</td>"
                    f"<td>{html.escape(display_value('status', sp.status, self.language) if sp.status else '')}</td>"
                    f"<td>{html.escape(sp.cell)}</td></tr>")
            parts.append("</tbody></table>")
        parts.append("</section>")
        return "".join(parts)

    def findings(self) -> str:
        s, inputs = self.stats, self.inputs
        parts = [f'<section id="findings"><h2>{self.e("findings")}</h2>']
        # A month sheet not read, a year the calendar does not know: every figure above is short
        # of it, so it is said first, in words.
        parts.extend(f'<p class="bad" id="stats-note-{i}">{html.escape(note)}</p>' for i, note in enumerate(s.notes))
        if inputs.findings is None:
            parts.append(f'<p class="muted">{self.e("findings.unknown")}</p>')
        elif not inputs.findings["error"] and not inputs.findings["warning"]:
            parts.append(f'<p class="ok">{self.e("findings.none")}</p>')
        else:
            f = inputs.findings
            parts.append(f'<p class="big bad" id="findings-count">{f["error"]}</p><p>'
                         f'{self.e("findings.count", errors=f["error"], rows=f["rows_with_errors"], warnings=f["warning"])}</p>')
            if inputs.findings_workbook is not None:
                parts.append(f'<p id="findings-link">{self.link(inputs.findings_workbook, self.t("findings.link"))}</p>')
        if s.left_out:
            parts.append(f'<details id="left-out"><summary>{self.e("left_out", count=len(s.left_out))}</summary><ul>')
            for figure in FIGURES:
                count = s.left_out_by_figure.get(figure, 0)
                if count:
                    parts.append(f"<li>{self.e('left_out.figure', figure=self.t('figure.' + figure), count=count)}</li>")
            parts.append("</ul><table><tbody>")
            for lo in s.left_out:
                parts.append(f"<tr><td>{html.escape(', '.join(lo.cells))}</td><td>{html.escape(lo.complaint_id)}</td>"
                             f"<td>{html.escape('; '.join(lo.problems))}</td></tr>")
            parts.append("</tbody></table></details>")
        else:
            parts.append(f'<p class="muted">{self.e("left_out.none")}</p>')
        parts.append("</section>")
        return "".join(parts)

    def trend(self) -> str:
        s = self.stats
        parts = [f'<section class="wide" id="trend"><h2>{self.e("trend")}</h2>']
        if not s.monthly or not s.headline["received"]:
            return parts[0] + f'<p class="muted">{self.e("no_data")}</p></section>'
        months = [m.month for m in s.monthly]
        by_class = self.chart(pygal.StackedBar, title=self.t("trend.class"))
        by_class.x_labels = months
        for severity in SEVERITIES:
            by_class.add(self.t("series.class", value=severity), [m.by_class[severity] for m in s.monthly])
        if any(m.unclassified for m in s.monthly):
            by_class.add(self.t("series.unclassified"), [m.unclassified for m in s.monthly])
        flow = self.chart(pygal.Line, title=self.t("trend.closed"), dots_size=4)
        flow.x_labels = months
        flow.add(self.t("series.received"), [m.received for m in s.monthly])
        flow.add(self.t("series.closed"), [m.closed for m in s.monthly])
        parts.append(f'<div style="display:grid;grid-template-columns:1fr 1fr;gap:12px">'
                     f"<div>{self.svg(by_class)}</div><div>{self.svg(flow)}</div></div></section>")
        return "".join(parts)

    def pareto(self) -> str:
        s = self.stats
        parts = [f'<section class="two" id="pareto"><h2>{self.e("pareto")}</h2>']
        if not s.category_pareto:
            return parts[0] + f'<p class="muted">{self.e("no_data")}</p></section>'
        rows = list(reversed(s.category_pareto))  # a horizontal bar chart draws from the bottom
        labels = [self.t("pareto.label", value=p.value, cumulative=f"{p.cumulative_share:.0%}") for p in rows]
        # pygal sizes the label margin for Latin text; a Chinese character is about twice as wide.
        wide = max(sum(1 for ch in label if unicodedata.east_asian_width(ch) in "WF") for label in labels)
        chart = self.chart(pygal.HorizontalBar, title=self.t("pareto"), show_legend=False, truncate_label=-1,
                           width=900, height=max(240, 40 * len(rows) + 90), margin_left=12 + 7 * wide)
        chart.x_labels = labels
        chart.add(self.t("series.count"), [p.count for p in rows])
        parts.append(self.svg(chart) + "</section>")
        return "".join(parts)

    def on_time(self) -> str:
        s = self.stats
        parts = [f'<section id="on-time"><h2>{self.e("on_time")}</h2>',
                 f'<p>{self.e("on_time.headline", reply=show_number(s.headline["reply_on_time_rate"]), followup=show_number(s.totals["followup_on_time_rate"]))}</p>']
        rows = [r for r in s.on_time_by_month if r.reply_due or r.followup_due]
        if rows:
            chart = self.chart(pygal.Line, title=self.t("on_time"), range=(0, 100), dots_size=4, width=440,
                               value_formatter=lambda v: f"{v:.0f}%")
            chart.x_labels = [r.key for r in rows]
            chart.add(self.t("series.reply"), [None if r.reply_rate is None else r.reply_rate * 100 for r in rows])
            chart.add(self.t("series.followup"),
                      [None if r.followup_rate is None else r.followup_rate * 100 for r in rows])
            parts.append(self.svg(chart))
        if s.on_time_by_department:
            parts.append('<table id="on-time-departments"><thead><tr>'
                         f'<th>{self.e("col.department")}</th><th class=num>{self.e("col.reply_rate")}</th>'
                         f'<th class=num>{self.e("col.followup_rate")}</th></tr></thead><tbody>')
            for r in s.on_time_by_department:
                parts.append(f"<tr><td>{html.escape(r.key)}</td>"
                             f"<td class=num>{show_number(r.reply_rate)} ({r.reply_on_time}/{r.reply_due})</td>"
                             f"<td class=num>{show_number(r.followup_rate)} ({r.followup_on_time}/{r.followup_due})</td></tr>")
            parts.append("</tbody></table>")
        parts.append("</section>")
        return "".join(parts)

    def satisfaction(self) -> str:
        total = self.stats.satisfaction_total
        parts = [f'<section id="satisfaction"><h2>{self.e("satisfaction")}</h2>']
        if not total.rated:
            return parts[0] + f'<p class="muted">{self.e("no_data")}</p></section>'
        parts.append(f'<p class="big" id="satisfaction-rate">{show_number(total.rate)}</p>'
                     f'<p>{self.e("satisfaction.headline", rate=show_number(total.rate), rated=total.rated)}</p>')
        pie = self.chart(pygal.Pie, colors=("#70ad47", "#ffc000", "#c00000"), title=self.t("satisfaction"),
                         inner_radius=0.45, width=420, height=300)
        for value in SATISFACTIONS:
            pie.add(display_value("satisfaction", value, self.language), total.counts[value])
        parts.append(self.svg(pie) + "</section>")
        return "".join(parts)

    def documents(self) -> str:
        inputs = self.inputs
        parts = [f'<section id="documents"><h2>{self.e("documents")}</h2>']
        if inputs.superseded:
            parts.append(f'<p class="bad">{self.e("documents.superseded", folder=inputs.superseded_folder)}</p>'
                         '<ul id="superseded">')
            parts.extend(f"<li>{html.escape(line)}</li>" for line in inputs.superseded)
            parts.append("</ul>")
        if not inputs.documents:
            parts.append(f'<p class="muted">{self.e("documents.none")}</p></section>')
            return "".join(parts)
        start = inputs.week_start.isoformat() if inputs.week_start else ""
        parts.append(f'<p>{self.e("documents.since", start=start, count=len(inputs.documents) + inputs.documents_more)}</p>'
                     f'<table id="documents-table"><thead><tr><th>{self.e("col.file")}</th>'
                     f'<th>{self.e("col.written")}</th></tr></thead><tbody>')
        for doc in inputs.documents:
            parts.append(f"<tr><td>{self.link(doc.path, doc.path.name)}</td>"
                         f"<td>{doc.written.strftime('%Y-%m-%d %H:%M')}</td></tr>")
        parts.append("</tbody></table>")
        if inputs.documents_more:
            parts.append(f'<p class="muted">{self.e("documents.more", count=inputs.documents_more, folder=inputs.documents_dir)}</p>')
        parts.append("</section>")
        return "".join(parts)

    def runs(self) -> str:
        inputs = self.inputs
        parts = [f'<section class="wide" id="runs"><h2>{self.e("runs")}</h2>']
        if not inputs.runs:
            return parts[0] + f'<p class="muted">{self.e("runs.none")}</p></section>'
        heads = ("col.started", "col.run_status", "col.trigger", "col.rows", "col.errors", "col.sent", "col.problems")
        parts.append('<table id="runs-table"><thead><tr>' + "".join(
            f'<th{" class=num" if h in ("col.rows", "col.errors", "col.sent") else ""}>{self.e(h)}</th>'
            for h in heads) + "</tr></thead><tbody>")
        for run in inputs.runs:
            status = self.t(f"run.{run.status}") if f"run.{run.status}" in MESSAGES else run.status
            css = "ok" if run.status == "ok" else "bad"
            parts.append(
                f"<tr><td>{run.started_at.strftime('%Y-%m-%d %H:%M')}</td><td class={css}>{html.escape(status)}</td>"
                f"<td>{html.escape(run.trigger)}</td><td class=num>{run.counts.get('rows', '')}</td>"
                f"<td class=num>{run.counts.get('error', '')}</td><td class=num>{run.counts.get('reminders_sent', '')}</td>"
                f"<td>{html.escape('; '.join(run.errors[:3]))}</td></tr>")
        parts.append("</tbody></table></section>")
        return "".join(parts)


def build_dashboard(stats: Statistics, config: Config, inputs: DashboardInputs | None = None, *,
                    folder: Path | None = None, now: dt.datetime | None = None) -> str:
    """The page as text; links are relative to ``folder`` (where the page will be written)."""
    page = _Page(stats, config, inputs or DashboardInputs(), (folder or Path.cwd()).resolve())
    stamp = (now or dt.datetime.combine(stats.today, dt.time())).strftime("%Y-%m-%d %H:%M")
    subtitle = page.e("subtitle", register=Path(stats.register_path).name, today=stats.today.isoformat(),
                      period=stats.period_text(config.language))
    body = "".join((page.actions(), page.findings(), page.satisfaction(), page.documents(), page.trend(),
                    page.pareto(), page.on_time(), page.runs()))
    return _html_page(page, config.language, f"{page.e('title')} {stats.today.isoformat()}", subtitle, body, stamp)


def _html_page(page: _Page, language: str, title: str, subtitle: str, body: str, stamp: str) -> str:
    lang = "zh-CN" if language == "zh" else "en"
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{title}</title><style>{_CSS}</style></head><body>"
            f"<header><h1>{page.e('title')}</h1><p>{subtitle}</p></header><main>{body}</main>"
            f'<footer class="muted" style="padding:0 24px 16px">{page.e("footer", now=stamp)}</footer>'
            "</body></html>\n")
