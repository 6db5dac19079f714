"""The main job: read the register, validate it, file its documents, send reminders, in one
process, and record the run in the history (the audit trail).

>>> result = run_job(config, today=dt.date(2026, 11, 20), now=dt.datetime(2026, 11, 20, 9, 0))
... # doctest: +SKIP
>>> print(result.to_text("en"))                                              # doctest: +SKIP
>>> result.exit_code                                                          # doctest: +SKIP

A stage that fails does not stop the next one where that is still safe: a dead mail server
does not stop the documents; an unreadable register stops everything after it, since nothing
can run without records. Two runs on the same day give the same files and send nothing twice
(documents are rewritten only when their content changes, the reminder ledger remembers what
went out).

Only one run (or scheduler) at a time may use a state folder: :class:`toolkit.lock.StateLock`.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import history
from .config import Config
from .errors import MailError, ToolkitError
from .i18n import Messages, translate

log = logging.getLogger(__name__)

#: Exit codes, as for every command: 0 fine, 2 a stage could not run, 3 reminders undelivered.
EXIT_OK, EXIT_CANNOT_RUN, EXIT_UNDELIVERED = 0, 2, 3

# -- the job --------------------------------------------------------------------------------------

READ, VALIDATE, DOCUMENTS, REMINDERS, WEEKLY = "read", "validate", "documents", "reminders", "weekly"
#: Undelivered messages named one by one in the summary and the run record; the log has all.
MAX_LISTED = 10

_MESSAGES: Messages = {
    "title": {"zh": "每日任务 {today}（{status}）", "en": "Daily job for {today} ({status})"},
    "ok": {"zh": "完成", "en": "ok"},
    "partial": {"zh": "部分完成", "en": "partial"},
    "failed": {"zh": "失败", "en": "failed"},
    "register": {"zh": "台账：{path}（{size} 字节，sha256 {sha}）",
                 "en": "Register: {path} ({size} bytes, sha256 {sha})"},
    "rows": {"zh": "读取行数：{rows}", "en": "Rows read: {rows}"},
    "findings": {"zh": "检查发现：错误 {error}，警告 {warning}，提示 {note}",
                 "en": "Findings: {error} errors, {warning} warnings, {note} notes"},
    "documents": {"zh": "文档：新建 {created}，更新 {updated}，未变 {unchanged}，跳过 {skipped}",
                  "en": "Documents: {created} created, {updated} updated, {unchanged} unchanged, "
                        "{skipped} skipped"},
    "reminders": {"zh": "提醒：已发送 {sent}，失败 {failed}，此前已发送 {already}，无法提醒 {cannot}",
                  "en": "Reminders: {sent} sent, {failed} failed, {already} already sent earlier, "
                        "{cannot} cannot be reminded"},
    "weekly": {"zh": "周报：{what}", "en": "Weekly report: {what}"},
    "dashboard": {"zh": "看板：{path}", "en": "Dashboard: {path}"},
    "dashboard-failed": {"zh": "看板未能写入：{error}", "en": "the dashboard could not be written: {error}"},
    "weekly-sent": {"zh": "已发给 {to}（统计表 {path}）", "en": "sent to {to} (workbook {path})"},
    "not-run": {"zh": "{stage}：未运行（{why}）", "en": "{stage}: not run ({why})"},
    "stage-failed": {"zh": "{stage}：失败（见下方问题）", "en": "{stage}: failed (see Problems below)"},
    "errors": {"zh": "问题：", "en": "Problems:"},
    "notes": {"zh": "备注：", "en": "Notes:"},
    "took": {"zh": "用时 {seconds:.1f} 秒，运行记录 #{run_id}", "en": "Took {seconds:.1f} s, run record #{run_id}"},
    "stage-read": {"zh": "读取台账", "en": "reading the register"},
    "stage-validate": {"zh": "检查", "en": "validation"},
    "stage-documents": {"zh": "文档", "en": "documents"},
    "stage-reminders": {"zh": "提醒", "en": "reminders"},
    "stage-weekly": {"zh": "周报", "en": "weekly report"},
    "needs-register": {"zh": "台账未能读取", "en": "the register could not be read"},
    "needs-report": {"zh": "检查未完成", "en": "validation did not finish"},
    "unexpected": {
        "zh": "{stage}出现意外错误：{error}（详情见日志；用 --debug 运行可看到完整信息，请报告此问题）",
        "en": "unexpected error in {stage}: {error} (details in the log; run with --debug for the "
              "traceback, and please report it)",
    },
    "mail-down": {"zh": "提醒未发出：{error}", "en": "reminders not sent: {error}"},
    "more": {"zh": "……另有 {count} 封（见日志）", "en": "... and {count} more (see the log)"},
    "interrupted": {"zh": "运行在“{stage}”时被中断（{why}），未完成的部分下次运行会补做",
                    "en": "the run was interrupted during {stage} ({why}); the next run does what is left"},
    "log-started": {"zh": "运行记录 #{run_id}（{today}，{trigger}）开始", "en": "run #{run_id} for {today} started ({trigger})"},
    "log-finished": {"zh": "运行记录 #{run_id} 结束：{status}（退出码 {code}）；{counts}",
                     "en": "run #{run_id} finished: {status} (exit code {code}); {counts}"},
    "undelivered": {"zh": "{count} 封提醒邮件未能送达，下次运行会重发", "en": "{count} reminder message(s) "
                    "could not be delivered; the next run sends them again"},
}


@dataclass(slots=True)
class StageOutcome:
    """How one stage of the job went."""

    name: str  # READ | VALIDATE | DOCUMENTS | REMINDERS | WEEKLY
    status: str  # "ok" | "failed" | "not-run"
    error: str = ""
    #: Why it was not run (for "not-run"), in the configured language.
    reason: str = ""
    #: True when the stage failed because the mail server could not be reached.
    mail_down: bool = False
    seconds: float = 0.0


@dataclass(slots=True)
class JobResult:
    """What one run of the main job did; renders itself as text and as JSON."""

    today: dt.date
    started: dt.datetime
    finished: dt.datetime
    trigger: str
    register_path: str
    register_sha256: str = ""
    register_size: int | None = None
    rows: int = 0
    findings: dict[str, int] = field(default_factory=dict)
    documents: dict[str, int] = field(default_factory=dict)
    reminders: dict[str, int] = field(default_factory=dict)
    weekly: str = ""
    #: The dashboard page this run wrote ("" when it could not be written).
    dashboard: str = ""
    #: Remarks that need no action now (register open in Excel, a year the calendar does not
    #: know, no LibreOffice for PDFs...).
    notes: list[str] = field(default_factory=list)
    #: Documents filed earlier that no row files any more, moved aside: one line each (old path,
    #: where it went, why), in the configured language.
    superseded: list[str] = field(default_factory=list)
    superseded_folder: str = ""
    stages: list[StageOutcome] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    run_id: int = 0
    #: The stage results themselves (ValidationReport, GenerateResult, SendResult...), for
    #: callers that want details; not part of the JSON.
    details: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def status(self) -> str:
        """ok: every stage ran and every reminder went out; failed: the register could not be
        read (nothing was processed); partial: anything in between."""
        if any(s.name == READ and s.status != "ok" for s in self.stages):
            return history.FAILED
        if self.errors or any(s.status != "ok" for s in self.stages):
            return history.PARTIAL
        return history.OK

    @property
    def exit_code(self) -> int:
        """0 every stage ran; 3 only reminders went undelivered (server down or refused);
        2 a stage could not run. Findings in the register do not change it."""
        failed = [s for s in self.stages if s.status != "ok"]
        if any(not s.mail_down for s in failed):
            return EXIT_CANNOT_RUN
        if failed or self.reminders.get("failed", 0):
            return EXIT_UNDELIVERED
        return EXIT_OK

    def counts(self) -> dict[str, int]:
        """Flat counts as stored in the run history."""
        flat = {"rows": self.rows}
        flat.update(self.findings)
        flat.update({f"documents_{k}": v for k, v in self.documents.items()})
        flat.update({f"reminders_{k}": v for k, v in self.reminders.items()})
        return flat

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "today": self.today.isoformat(),
            "started": self.started.isoformat(timespec="seconds"),
            "finished": self.finished.isoformat(timespec="seconds"),
            "seconds": round((self.finished - self.started).total_seconds(), 3),
            "trigger": self.trigger,
            "status": self.status,
            "exit_code": self.exit_code,
            "register": {"path": self.register_path, "sha256": self.register_sha256,
                         "size": self.register_size},
            "rows": self.rows,
            "findings": dict(self.findings),
            "documents": dict(self.documents),
            "reminders": dict(self.reminders),
            "weekly": self.weekly,
            "dashboard": self.dashboard,
            "stages": [{"name": s.name, "status": s.status, "error": s.error, "reason": s.reason,
                        "seconds": round(s.seconds, 3)} for s in self.stages],
            "notes": list(self.notes),
            "superseded": list(self.superseded),
            "errors": list(self.errors),
        }

    def to_text(self, language: str = "zh") -> str:
        def t(key: str, **kw: Any) -> str:
            return translate(_MESSAGES, key, language, **kw)

        ran = {s.name: s for s in self.stages}
        lines = [t("title", today=self.today.isoformat(), status=t(self.status))]
        lines.append(t("register", path=self.register_path, size=self.register_size if
                       self.register_size is not None else "?", sha=(self.register_sha256[:12] or "?")))

        def stage_line(name: str, key: str, **kw: Any) -> None:
            outcome = ran.get(name)
            if outcome is None:
                return
            if outcome.status == "not-run":
                lines.append(t("not-run", stage=t(f"stage-{name}"), why=outcome.reason))
            elif outcome.status == "failed":
                lines.append(t("stage-failed", stage=t(f"stage-{name}")))
            else:
                lines.append(t(key, **kw))

        if ran.get(READ) and ran[READ].status == "ok":
            lines.append(t("rows", rows=self.rows))
        stage_line(VALIDATE, "findings", **{k: self.findings.get(k, 0) for k in ("error", "warning", "note")})
        stage_line(DOCUMENTS, "documents", **{k: self.documents.get(k, 0)
                                              for k in ("created", "updated", "unchanged", "skipped")})
        stage_line(REMINDERS, "reminders", sent=self.reminders.get("sent", 0) + self.reminders.get("dry-run", 0),
                   failed=self.reminders.get("failed", 0), already=self.reminders.get("already-sent", 0),
                   cannot=self.reminders.get("cannot-remind", 0))
        if self.superseded:
            from .documents.superseded import MESSAGES as SUPERSEDED

            lines.append(translate(SUPERSEDED, "superseded-summary", language, n=len(self.superseded),
                                   folder=self.superseded_folder))
            # Every one: each is a form staff may have signed, now out of the folder they look in.
            lines.extend(f"  - {line}" for line in self.superseded)
        if self.weekly:
            lines.append(t("weekly", what=self.weekly))
        if self.dashboard:
            lines.append(t("dashboard", path=self.dashboard))
        if self.notes:
            lines.append(t("notes"))
            lines.extend(f"  - {note}" for note in self.notes)
        if self.errors:
            lines.append(t("errors"))
            lines.extend(f"  - {error}" for error in self.errors)
        seconds = (self.finished - self.started).total_seconds()
        lines.append(t("took", seconds=seconds, run_id=self.run_id))
        return "\n".join(lines)


def run_job(
    config: Config,
    *,
    today: dt.date,
    now: dt.datetime,
    trigger: str = "run",
    clock: Callable[[], dt.datetime] | None = None,
) -> JobResult:
    """Read → validate → generate documents → send reminders, record the run, return what
    happened. Never raises for a stage's failure: it is in the result (and its exit code).

    ``now`` is when the run starts (it stamps the ledger and the history); ``clock`` gives the
    finishing time (default: ``now`` plus the time the run took).
    """
    language = config.language
    started_mono = time.monotonic()
    store = history.RunHistory(config.state_path)
    run_id = store.start(started=now, run_date=today, trigger=trigger)
    log.info("%s", translate(_MESSAGES, "log-started", language, run_id=run_id, today=today.isoformat(),
                             trigger=history.status_words(language).get(trigger, trigger)))
    result = JobResult(today=today, started=now, finished=now, trigger=trigger,
                       register_path=str(config.register_path), run_id=run_id)

    def t(key: str, **kw: Any) -> str:
        return translate(_MESSAGES, key, language, **kw)

    def fail(stage: str, exc: BaseException) -> None:
        if isinstance(exc, ToolkitError):
            message = exc.text(language)
            log.error("%s: %s", stage, message)
        else:
            message = t("unexpected", stage=t(f"stage-{stage}"), error=f"{type(exc).__name__}: {exc}")
            log.exception("unexpected error in stage %s", stage)
        result.stages.append(StageOutcome(stage, "failed", message))
        result.errors.append(message)

    def not_run(stage: str, why: str) -> None:
        result.stages.append(StageOutcome(stage, "not-run", reason=why))

    status = ""
    try:
        _run_stages(config, today=today, now=now, result=result, fail=fail, not_run=not_run, t=t)
    except BaseException as exc:
        pending = result.details.pop("dashboard", None)
        if pending is not None:
            pending.cancel()  # never leave the child behind a run that failed
        if not isinstance(exc, Exception):  # Ctrl-C, SystemExit: not "ok" however far it got
            status = history.INTERRUPTED
            done = {s.name for s in result.stages}
            stage = next((s for s in (READ, VALIDATE, DOCUMENTS, REMINDERS) if s not in done), WEEKLY)
            why = {"KeyboardInterrupt": "Ctrl-C", "Terminated": "SIGTERM"}.get(type(exc).__name__,
                                                                              type(exc).__name__)
            result.errors.append(t("interrupted", stage=t(f"stage-{stage}"), why=why))
        raise
    finally:
        gc.unfreeze()
        # Whatever happened, the audit trail gets an end time and a status.
        result.finished = clock() if clock else now + dt.timedelta(seconds=time.monotonic() - started_mono)
        store.finish(run_id, finished=result.finished, status=status or result.status,
                     register_path=result.register_path, register_sha256=result.register_sha256,
                     register_size=result.register_size, counts=result.counts(), errors=result.errors)
        log.info("%s", translate(_MESSAGES, "log-finished", language, run_id=run_id,
                                 status=history.status_words(language)[status or result.status],
                                 code=result.exit_code,
                                 counts=", ".join(f"{k} {v}" for k, v in result.counts().items() if v)))
    # After the run is recorded, so the page's "last runs" shows this one finished.
    _dashboard(config, result, today=today, now=result.finished, t=t)
    return result


def _dashboard(config: Config, result: JobResult, *, today: dt.date, now: dt.datetime,
               t: Callable[..., str]) -> None:
    """Write output/dashboard.html (and the findings workbook it links to). A page that cannot
    be written is a note: it never changes what the run did or its exit code."""
    from .report.dashboard import write_daily_dashboard, write_failed_dashboard

    reg = result.details.get("register")
    pending = result.details.pop("dashboard", None)
    try:
        if reg is None:  # yesterday's page must not stand as today's: say the register was unreadable
            path = write_failed_dashboard(config, today=today, now=now, error="; ".join(result.errors))
        else:
            prepared = pending.result() if pending is not None else None
            path = write_daily_dashboard(config, reg, result.details.get("validation"), today=today, now=now,
                                         prepared=prepared, filed=result.details.pop("filed", None),
                                         planned=result.details.pop("planned", None),
                                         superseded=(result.superseded, result.superseded_folder))
    except Exception as exc:  # a page is a courtesy; the run's work is done
        log.warning("dashboard not written: %s", exc, exc_info=not isinstance(exc, ToolkitError))
        result.notes.append(t("dashboard-failed", error=exc))
        return
    result.dashboard = str(path)


def _run_stages(config: Config, *, today: dt.date, now: dt.datetime, result: JobResult,
                fail: Callable[[str, BaseException], None], not_run: Callable[[str, str], None],
                t: Callable[..., str]) -> None:
    from . import documents, register, validate
    from .workers import Background, release_free_memory

    mark = [time.perf_counter()]

    def lap() -> None:
        """Stamp the stage just recorded with the time it took (the bench prints these)."""
        now_ = time.perf_counter()
        result.stages[-1].seconds, mark[0] = now_ - mark[0], now_

    # 1. Read. Nothing after this can run without records. While calamine parses (seconds, with
    # the GIL let go), a thread reads what the documents stage needs besides the records; when
    # the records come from the cache (all Python, GIL held) the stage reads it itself.
    inputs: list[Background[documents.Prepared]] = []
    # And a second one the times of the documents filed so far: the listing of this week's
    # documents after the stage then stats only the files it did not see here.
    looked: list[Background[Any]] = []

    def read_inputs() -> None:
        inputs.append(Background(documents.prepare, config))
        from .report.dashboard import look_ahead_filed

        looked.append(Background(look_ahead_filed, config, today))

    try:
        # The daily job meets the same bytes again and again: reuse what was parsed last time.
        reg = register.read_register(config, cache=True, while_parsing=read_inputs)
    except Exception as exc:  # RegisterError, or a bug: either way nothing can follow
        for pending in (*inputs, *looked):
            pending.join()
        fail(READ, exc)
        lap()
        for stage in (VALIDATE, DOCUMENTS, REMINDERS):
            not_run(stage, t("needs-register"))
        return
    for pending in (*inputs, *looked):
        pending.join()  # before the dashboard's children are forked: no thread may be running
    result.stages.append(StageOutcome(READ, "ok"))
    lap()
    # The records are millions of long-lived objects: without freezing them, every full garbage
    # collection in the stages below walks them all again (seconds on a 100k-row register).
    # run_job unfreezes them when the run ends.
    gc.freeze()
    release_free_memory()
    result.register_path, result.register_sha256, result.register_size = reg.path, reg.sha256, reg.size
    result.rows = len(reg.records)
    result.notes.extend(reg.notes)
    result.details["register"] = reg

    # 2. Validate.
    report = None
    try:
        report = validate.validate(reg, config, today)
    except Exception as exc:
        fail(VALIDATE, exc)
    else:
        result.stages.append(StageOutcome(VALIDATE, "ok"))
        result.findings = {k: int(v) for k, v in report.counts.items()}
        result.details["validation"] = report
        # What the run did not read, or read from one of two columns, changes every count and
        # reminder after it: said in the summary itself, not only counted as a warning.
        result.notes.extend(f.message for f in report.findings
                            if f.row is None and f.code in ("sheet-not-read", "repeated-column"))
    lap()
    # The day's reminder plan, before the dashboard's helpers are forked: they read its overdue
    # items instead of planning a second time. Its time counts as the reminders stage's.
    planning = time.perf_counter()
    plan: Any = None
    plan_error: Exception | None = None
    planned = None
    try:
        plan, calendar = _plan(config, reg, today)
    except Exception as exc:  # reported by the reminders stage, after the documents
        plan_error = exc
    else:
        planned = (plan, calendar) if calendar is not None else None
        result.details["planned"] = planned
    planning = time.perf_counter() - planning
    mark[0] += planning
    try:
        from .report.dashboard import start_daily_dashboard

        pending = start_daily_dashboard(config, reg, report, today=today, planned=planned)
        if pending is not None:
            result.details["dashboard"] = pending
    except Exception:  # no fork (out of processes...): the page is computed at the end instead
        log.warning("dashboard figures not started in a child process", exc_info=True)

    # 3. Documents: need the validation report (rows with errors are skipped there).
    if report is None:
        not_run(DOCUMENTS, t("needs-report"))
        lap()
    else:
        try:
            generated = documents.generate(reg, report, config, today=today,
                                           prepared=inputs[0].result() if inputs else None)
        except Exception as exc:
            fail(DOCUMENTS, exc)
        else:
            result.stages.append(StageOutcome(DOCUMENTS, "ok"))
            result.documents = {k: int(v) for k, v in generated.counts.items()}
            moved = [d for d in generated.superseded if d.moved_to]
            if moved:
                from .documents.superseded import FOLDERS

                result.documents["superseded"] = len(moved)
                result.superseded = [d.line(config.language) for d in moved]
                result.superseded_folder = os.path.join(generated.documents_dir,
                                                        FOLDERS.get(config.language, FOLDERS["zh"]))
            result.errors.extend(generated.problems)
            result.notes.extend(generated.notes)
            result.details["documents"] = generated
        lap()

    # 4. Reminders: send the day's plan; the ledger keeps a rerun from sending twice.
    _reminders(config, plan, plan_error, now=now, result=result, fail=fail, t=t)
    lap()
    result.stages[-1].seconds += planning
    if "dashboard" in result.details or looked:
        # The documents are filed: list this week's while the helpers still work on the figures
        # (and while the times looked at ahead are at hand).
        try:
            from .report.dashboard import filed_this_week

            result.details["filed"] = filed_this_week(config, today, _looked_ahead(looked))
        except Exception:  # the page looks again when it is written
            log.debug("documents filed this week not listed ahead", exc_info=True)

    # 5. The weekly report, when configured and due.
    if report is not None and _weekly(config, reg, report, today=today, now=now, result=result, fail=fail):
        lap()


def _looked_ahead(looked: list[Any]) -> Any:
    """What the look ahead at the filed documents found, or None (not done, or it failed)."""
    try:
        return looked[0].result() if looked else None
    except Exception:  # the listing looks at every file itself
        log.debug("filed documents not looked at ahead", exc_info=True)
        return None


def _reminders(config: Config, plan: Any, plan_error: Exception | None, *, now: dt.datetime, result: JobResult,
               fail: Callable[[str, BaseException], None], t: Callable[..., str]) -> None:
    from . import notify

    if plan_error is not None:
        fail(REMINDERS, plan_error)
        return
    result.notes.extend(plan.warnings)
    try:
        sent = notify.send_reminders(plan, config, now=now)
    except MailError as exc:
        fail(REMINDERS, exc)
        result.errors[-1] = t("mail-down", error=exc)
        result.stages[-1].error = result.errors[-1]
        # A server that is down is "undelivered" (exit 3, sent next run); a setup no retry
        # cures (no password, login refused) is "cannot run" (exit 2), as `remind` says too.
        result.stages[-1].mail_down = exc.transient
        # Nothing went out: count what should have (a dry run asks the ledger), so the summary
        # and the audit trail show the undelivered digests instead of zeros.
        try:
            due = notify.send_reminders(plan, config, now=now, dry_run=True)
        except Exception:  # counting is a courtesy; the failure above is what matters
            log.debug("could not count the undelivered digests", exc_info=True)
        else:
            result.reminders = {"sent": 0, "failed": due.dry_run, "already-sent": due.already_sent,
                                "dry-run": 0, "cannot-remind": len(plan.cannot_remind)}
        return
    except Exception as exc:
        fail(REMINDERS, exc)
        return
    result.stages.append(StageOutcome(REMINDERS, "ok"))
    tally: dict[str, int] = {"sent": 0, "failed": 0, "already-sent": 0, "dry-run": 0}
    for message in sent.messages:
        tally[message.status] = tally.get(message.status, 0) + 1
    tally["cannot-remind"] = len(plan.cannot_remind)
    result.reminders = tally
    result.details["reminders"] = sent
    result.notes.extend(w for w in sent.warnings if w not in plan.warnings)
    if tally["failed"]:
        result.errors.append(t("undelivered", count=tally["failed"]))
        failed = [m for m in sent.messages if m.status == "failed"]
        # Who did not get their mail, and why: the audit trail should say (capped, the log has all).
        result.errors.extend(f"{', '.join(m.to)}: {m.error}" for m in failed[:MAX_LISTED])
        if len(failed) > MAX_LISTED:
            result.errors.append(t("more", count=len(failed) - MAX_LISTED))


def _plan(config: Config, reg: Any, today: dt.date) -> tuple[Any, Any]:
    """The day's reminder plan, and the calendar it was made with (None when it was loaded): a
    rerun on the same register bytes, day, settings and code loads the one worked out last
    time (``output/cache/reminder-plan.pickle``), since planning 100k rows costs more than half
    a second even when nothing is due. As with the parsed records, the first run on new bytes
    keeps nothing (pickling the plan of 100k rows costs a quarter of a second, wasted when the
    register changes before the next run); the second run on them keeps it."""
    from . import fields, model, reminders, workdays
    from . import register as register_module
    from .register.cache import derived_key, kept

    calendars: list[workdays.WorkCalendar] = []

    def work_out() -> reminders.ReminderPlan:
        calendars.append(workdays.WorkCalendar.from_config(config))
        return reminders.plan_reminders(reg.records, config, today, calendars[0])

    key = derived_key(reg, config, today, (reminders, workdays, fields, model, register_module))
    plan = kept(config.output_dir / "cache" / "reminder-plan.pickle", key, reminders.ReminderPlan,
                frozenset({"toolkit.reminders"}), work_out, once_seen=True)
    return plan, (calendars[0] if calendars else None)


def _weekly(config: Config, reg: Any, report: Any, *, today: dt.date, now: dt.datetime, result: JobResult,
            fail: Callable[[str, BaseException], None]) -> bool:
    """The weekly statistics mail to the quality manager, when ``[reports].weekly`` is set and its
    time has passed since it last went out (a missed week is sent once, at the next run).
    True when the stage ran (sent or failed)."""
    if not config.reports.weekly.strip():
        return False
    from . import report as reports
    from .notify import deliver, email

    store = history.RunHistory(config.state_path)
    try:
        if not reports.weekly_report_due(config, now, store.last_weekly()):
            return False
        stats = reports.compute_statistics(reg, report, config, today=today, planned=result.details.get("planned"))
        workbook = reports.write_workbook(stats, config, reports.default_out_path(config))
        msg = reports.build_weekly_mail(stats, config, workbook, now=now)
        out = email.weekly_outgoing(msg, config)
        to = out.to
        # The same delivery stage as the reminders, with its retries: a server that fails for
        # a moment is retried; one that stays down is "undelivered" (exit 3), sent next run.
        deliver.deliver_one(email.EmailChannel(config, now), out, config.language)
        store.record_weekly(sent_at=now, recipient=", ".join(to), run_id=result.run_id)
    except Exception as exc:
        fail(WEEKLY, exc)
        if isinstance(exc, MailError):
            result.stages[-1].mail_down = exc.transient
        return True
    result.stages.append(StageOutcome(WEEKLY, "ok"))
    result.weekly = translate(_MESSAGES, "weekly-sent", config.language, to=", ".join(to), path=workbook)
    return True
