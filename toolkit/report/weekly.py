"""The weekly digest to the quality manager: when it is due, and what it says.

:func:`compose_weekly` builds the content only (subject, plain text, HTML, attachments) from the
figures; it sends nothing, so any channel can deliver it. :func:`build_weekly_mail` wraps it in
an e-mail for the mail transport.

>>> digest = compose_weekly(stats, config, workbook=Path("output/reports/complaint-statistics.xlsx"))
>>> digest.subject
'【客诉周报】2026-04-10：受理 20 件，当前逾期 4 件'
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path

from ..addresses import AddressError, check_address
from ..config import Config, parse_weekly  # parse_weekly: re-exported, it lives with the config
from ..errors import ConfigError
from ..i18n import Messages, translate
from .figures import MESSAGES as FIGURE_MESSAGES
from .figures import Statistics, show_number

MESSAGES: Messages = {
    "mail.subject": {"zh": "【客诉周报】{today}：受理 {received} 件，当前逾期 {overdue} 件",
                     "en": "[Complaint weekly report] {today}: {received} received, {overdue} overdue now"},
    "mail.intro": {"zh": "您好：\n\n附件为本周客诉统计工作簿（含图表）。关键指标如下：",
                   "en": "Hello,\n\nAttached is this week's complaint statistics workbook (with charts). "
                         "Key figures:"},
    "mail.dashboard": {"zh": "看板（可离线打开）：{path}", "en": "Dashboard (opens offline): {path}"},
    "mail.outro": {"zh": "此邮件由客诉工具自动发送，请勿直接回复。",
                   "en": "This message was sent automatically by the complaint toolkit; please do not reply."},
    "err.no_quality_manager": {
        "zh": "周报发给质量经理，但 [reminders].quality_manager 未填写；请在 config.toml 中填写其邮箱，"
              "或将 [reports].weekly 留空以关闭周报。",
        "en": "the weekly report goes to the quality manager, but [reminders].quality_manager is not set; "
              "set it in config.toml, or leave [reports].weekly empty to turn the weekly report off.",
    },
    "err.bad_recipient": {
        "zh": "[reminders].quality_manager 的地址“{address}”无效（{why}）；请更正 config.toml。",
        "en": "[reminders].quality_manager \"{address}\" is not a valid address ({why}); correct config.toml.",
    },
}

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@dataclass(slots=True)
class Attachment:
    filename: str
    maintype: str
    subtype: str
    content: bytes


@dataclass(slots=True)
class WeeklyDigest:
    """What the weekly digest says, for any channel: numbers-only subject, text, HTML, files."""

    subject: str
    text: str
    html: str
    attachments: list[Attachment] = field(default_factory=list)


# -- when -------------------------------------------------------------------------------------

def last_weekly_slot(config: Config, now: dt.datetime) -> dt.datetime | None:
    """The latest scheduled weekly time at or before ``now`` (None when the digest is off)."""
    parsed = parse_weekly(config.reports.weekly, config.language)
    if parsed is None:
        return None
    weekday, at = parsed
    slot = dt.datetime.combine(now.date() - dt.timedelta(days=(now.weekday() - weekday) % 7), at,
                               tzinfo=now.tzinfo)
    if slot > now:
        slot -= dt.timedelta(days=7)
    return slot


def weekly_report_due(config: Config, now: dt.datetime, last_sent: dt.datetime | None) -> bool:
    """True when the weekly digest should go out now: a scheduled time has passed since it was
    last sent. A missed slot (the scheduler was down on Monday) is caught up once, at the next
    run; older missed weeks are not sent again."""
    slot = last_weekly_slot(config, now)
    if slot is None:
        return False
    return last_sent is None or last_sent < slot


# -- what -------------------------------------------------------------------------------------


def compose_weekly(stats: Statistics, config: Config, *, workbook: str | Path | None = None,
                   dashboard: str | Path | None = None) -> WeeklyDigest:
    """The weekly digest's content from the figures: the subject holds numbers only, never
    register text; the statistics workbook is attached when given; the dashboard's path is named."""
    language = config.language
    subject = translate(MESSAGES, "mail.subject", language, today=stats.today.isoformat(),
                        received=stats.headline["received"], overdue=stats.headline["overdue_complaints"])
    lines = [translate(MESSAGES, "mail.intro", language), "", stats.to_text(language)]
    if dashboard is not None:
        lines += ["", translate(MESSAGES, "mail.dashboard", language, path=dashboard)]
    lines += ["", translate(MESSAGES, "mail.outro", language)]
    text = "\n".join(lines) + "\n"
    rows = "".join(f"<tr><th align=\"left\">{html.escape(translate(FIGURE_MESSAGES, f'kpi.{key}', language))}"
                   f"</th><td align=\"right\">{html.escape(show_number(value))}</td></tr>"
                   for key, value in stats.headline.items())
    body_html = (f"<p>{html.escape(translate(MESSAGES, 'mail.intro', language)).replace(chr(10), '<br>')}</p>"
                 f"<p>{html.escape(stats.period_text(language))}</p><table>{rows}</table>")
    if stats.left_out:
        left = translate(FIGURE_MESSAGES, "text.left_out", language, count=len(stats.left_out),
                         cells="; ".join(c for row in stats.left_out for c in row.cells))
        body_html += f"<p>{html.escape(left)}</p>"
    if dashboard is not None:
        body_html += f"<p>{html.escape(translate(MESSAGES, 'mail.dashboard', language, path=dashboard))}</p>"
    body_html += f"<p><small>{html.escape(translate(MESSAGES, 'mail.outro', language))}</small></p>"
    attachments = []
    if workbook is not None:
        path = Path(workbook)
        attachments.append(Attachment(path.name, *XLSX_TYPE, path.read_bytes()))
    return WeeklyDigest(subject, text, body_html, attachments)


def build_weekly_mail(stats: Statistics, config: Config, workbook: str | Path, *,
                      now: dt.datetime, dashboard: str | Path | None = None) -> EmailMessage:
    """The weekly digest as an e-mail to the quality manager, built like the reminder digests
    (same sender, headers and policy) so it goes through the same transport. Raises
    :class:`ConfigError` when ``[reminders].quality_manager`` is missing or not an address,
    :class:`MailError` for a bad ``[mail].sender``."""
    from ..mail import sender_address  # the same sender check as reminders

    language = config.language
    recipient = config.reminders.quality_manager.strip()
    if not recipient:
        raise ConfigError(translate(MESSAGES, "err.no_quality_manager", language))
    try:
        to = check_address(recipient)
    except AddressError as exc:
        raise ConfigError(translate(MESSAGES, "err.bad_recipient", language, address=recipient, why=exc)) from exc
    sender = sender_address(config.mail, language)
    digest = compose_weekly(stats, config, workbook=workbook, dashboard=dashboard)
    msg = EmailMessage(policy=SMTP)
    msg["Subject"] = digest.subject
    msg["From"] = sender
    msg["To"] = to
    msg["Date"] = format_datetime(now if now.tzinfo else now.astimezone())
    msg["Message-ID"] = make_msgid("weekly-report", domain=sender.domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(digest.text, subtype="plain", charset="utf-8")
    for item in digest.attachments:
        msg.add_attachment(item.content, maintype=item.maintype, subtype=item.subtype, filename=item.filename)
    return msg
