"""Send the reminder plan: one digest mail per recipient, through the outbox or SMTP, recorded in
the ledger when (and only when) the server accepted it.

>>> plan = plan_reminders(register.records, config, today)           # doctest: +SKIP
>>> result = send_reminders(plan, config, now=datetime.now().astimezone())
>>> result.sent, result.failed
(12, 0)

Digests carry only what the recipient has not yet heard in the current repeat period
(``[reminders] repeat_every_days``); a digest with nothing new is not sent ("already-sent"), so
a rerun sends nothing and a run after a crash or a dead server sends exactly what is missing.

Transports (``[mail] transport``):

- ``outbox`` (default) writes each message as an ``.eml`` file into ``[mail] outbox_dir``;
- ``smtp`` sends over one SMTP session for the whole run (``security`` none/starttls/ssl, login
  with the password from the environment variable ``password_env``). A refused recipient fails
  only its digest; transient failures (4xx, dropped connection, timeout) are retried with
  backoff and a reconnect, ``retries`` times.

Register text is data: it never reaches a header (subjects are built from counts, addresses are
validated, so a newline in a name cannot add a header) and is HTML-escaped in the HTML part.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import logging
import os
import smtplib
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Any, Protocol

from .addresses import CONTROL, AddressError, check_address
from .config import Config, MailConfig
from .errors import MailError
from .fsutil import atomic_write_bytes, ensure_folder, sanitize_filename
from .i18n import Messages, translate
from .reminders import CannotRemind, Digest, ReminderItem, ReminderPlan
from .state import Ledger

log = logging.getLogger(__name__)

SENT, DRY_RUN, ALREADY_SENT, FAILED = "sent", "dry-run", "already-sent", "failed"

TEXT: Messages = {
    "prefix.handler": {"zh": "【投诉跟进提醒】", "en": "[Complaint follow-up] "},
    "prefix.department_head": {"zh": "【投诉升级提醒】", "en": "[Complaint escalation] "},
    "prefix.quality_manager": {"zh": "【投诉升级提醒·质量经理】",
                               "en": "[Complaint escalation: quality manager] "},
    "count.overdue": {"zh": "{n} 项逾期", "en": "{n} overdue"},
    "count.escalated": {"zh": "（{n} 项已升级）", "en": " ({n} escalated)"},
    "count.tomorrow": {"zh": "{n} 项明日到期", "en": "{n} due tomorrow"},
    "count.soon": {"zh": "{n} 项即将到期", "en": "{n} due soon"},
    "count.cannot": {"zh": "{n} 条无法提醒", "en": "{n} cannot be reminded"},
    "sep": {"zh": "，", "en": ", "},
    "greeting": {"zh": "您好：", "en": "Hello,"},
    "intro.handler": {"zh": "截至 {today}，以下由您负责的投诉事项需要跟进：",
                      "en": "As of {today}, these complaint items you are responsible for need action:"},
    "intro.department_head": {
        "zh": "截至 {today}，以下投诉事项已逾期并升级至部门负责人，请督促处理：",
        "en": "As of {today}, these complaint items are overdue and escalated to you as department "
              "head; please see that they are handled:"},
    "intro.quality_manager": {
        "zh": "截至 {today}，以下投诉事项已升级至质量经理（含特殊客诉），请督促处理：",
        "en": "As of {today}, these complaint items are escalated to you as quality manager "
              "(special complaints included); please see that they are handled:"},
    "group.3": {"zh": "三级：已升级至质量经理", "en": "Level 3: escalated to the quality manager"},
    "group.2": {"zh": "二级：已升级至部门负责人", "en": "Level 2: escalated to the department head"},
    "group.1": {"zh": "一级：已逾期", "en": "Level 1: overdue"},
    "group.0": {"zh": "即将到期", "en": "Due soon"},
    "group.cannot": {"zh": "无法提醒的记录（请在台账中补填）",
                     "en": "Rows that cannot be reminded (please complete them in the register)"},
    "col.complaint_id": {"zh": "投诉编号", "en": "Complaint No."},
    "col.customer": {"zh": "客户", "en": "Customer"},
    "col.phone": {"zh": "电话", "en": "Phone"},
    "col.kind": {"zh": "事项", "en": "Item"},
    "col.due": {"zh": "到期日", "en": "Due"},
    "col.days_overdue": {"zh": "逾期工作日", "en": "Working days overdue"},
    "col.level": {"zh": "级别", "en": "Level"},
    "col.handler": {"zh": "负责人", "en": "Handler"},
    "col.where": {"zh": "位置", "en": "Where"},
    "col.reason": {"zh": "原因", "en": "Reason"},
    "kind.reply": {"zh": "答复", "en": "reply"},
    "kind.followup": {"zh": "回访", "en": "follow-up"},
    "kind.capa": {"zh": "纠正预防措施", "en": "corrective action"},
    "special": {"zh": "特殊客诉", "en": "special"},
    "footer": {
        "zh": "本邮件由投诉管理工具自动发送。事项办结后请更新台账，提醒即停止：答复后把处理状态改为"
              "“处理中”或之后的状态；回访后填写回访日期；措施完成后填写措施完成日期。",
        "en": "This mail was sent automatically by the complaint toolkit. Update the register once an "
              "item is done and the reminders stop: after replying, move the status on from Pending; "
              "after the follow-up call, fill in its date; when the corrective action is done, fill in "
              "its completion date."},
    # errors
    "err.address": {
        "zh": "收件地址“{address}”不是有效的电子邮件地址（{why}）：请在台账的负责人邮箱列或 config.toml 的"
              " [people]/[departments]/[reminders] 中改正",
        "en": "recipient address '{address}' is not a valid e-mail address ({why}); correct it in the "
              "register's e-mail column or in config.toml [people]/[departments]/[reminders]"},
    "err.sender": {
        "zh": "[mail].sender“{address}”不是有效的电子邮件地址（{why}）：请在 config.toml 中改正。",
        "en": "[mail].sender '{address}' is not a valid e-mail address ({why}); correct it in config.toml."},
    "err.password": {
        "zh": "[mail].username 已设置为“{user}”，但环境变量 {var} 为空：请把 SMTP 密码放入该环境变量"
              "（例如 export {var}=...），密码不要写进配置文件。",
        "en": "[mail].username is set to '{user}' but the environment variable {var} is empty: set it "
              "to the SMTP password (e.g. export {var}=...); never put the password in the config file."},
    "err.connect": {
        "zh": "无法连接邮件服务器 {host}:{port}（{why}）：请检查 config.toml 中 [mail] 的 host、port 和 "
              "security，并确认服务器正在运行、本机可以访问。",
        "en": "cannot connect to the mail server {host}:{port} ({why}). Check host, port and security "
              "in [mail] of config.toml, and that the server is running and reachable from here."},
    "err.tls": {
        "zh": "与邮件服务器 {host}:{port} 建立加密连接失败（{why}）：请检查 [mail].security"
              "（465 端口一般用 \"ssl\"，587 端口用 \"starttls\"）。",
        "en": "TLS with the mail server {host}:{port} failed ({why}). Check [mail].security (port 465 "
              "usually wants \"ssl\", port 587 \"starttls\")."},
    "err.cert": {
        "zh": "无法验证邮件服务器 {host}:{port} 的证书（{why}）：如服务器使用自签名或公司内部 CA 证书，"
              "请把该 CA 证书（PEM）路径填入 [mail].ca_file；并确认 host 与证书上的名称一致。",
        "en": "cannot verify the certificate of the mail server {host}:{port} ({why}). If the server "
              "uses a self-signed or company CA certificate, set [mail].ca_file to that CA certificate "
              "(PEM); check that host matches the name on the certificate."},
    "err.ca_file": {
        "zh": "[mail].ca_file 指定的文件 {path} 无法读取（{why}）：请填写 PEM 格式 CA 证书的正确路径。",
        "en": "[mail].ca_file {path} cannot be read ({why}); give the path of a PEM CA certificate."},
    "err.no_starttls": {
        "zh": "邮件服务器 {host}:{port} 不支持 STARTTLS：请把 [mail].security 改为 \"ssl\" 或 \"none\"，"
              "或检查端口。",
        "en": "the mail server {host}:{port} does not offer STARTTLS; set [mail].security to \"ssl\" or "
              "\"none\", or check the port."},
    "err.no_auth": {
        "zh": "邮件服务器 {host}:{port} 不提供登录（AUTH）：请清空 [mail].username，或改用 security = "
              "\"starttls\"/\"ssl\"（许多服务器只在加密后才允许登录）。",
        "en": "the mail server {host}:{port} offers no login (AUTH); clear [mail].username, or use "
              "security = \"starttls\"/\"ssl\" (many servers allow login only after encryption)."},
    "err.auth": {
        "zh": "邮件服务器 {host}:{port} 拒绝了用户“{user}”的登录（{why}）：请检查 [mail].username 和环境变量"
              " {var} 中的密码。",
        "en": "the mail server {host}:{port} refused the login of '{user}' ({why}); check [mail].username "
              "and the password in the environment variable {var}."},
    "err.server_down": {
        "zh": "未发送：邮件服务器 {host}:{port} 在运行中断开且无法重连（{why}）；下次运行会补发",
        "en": "not sent: the mail server {host}:{port} went away during the run and could not be "
              "reached again ({why}); the next run sends it"},
    "err.gave_up": {
        "zh": "重试 {n} 次后仍失败：{why}；下次运行会补发",
        "en": "still failing after {n} retries: {why}; the next run sends it"},
    "err.outbox": {
        "zh": "无法写入发件箱文件夹 {path}（{why}）：请检查 [mail].outbox_dir 的位置和写入权限",
        "en": "cannot write into the outbox folder {path} ({why}); check [mail].outbox_dir and its "
              "permissions"},
    "warn.refused_cc": {"zh": "部分收件人被拒收：{who}", "en": "some recipients were refused: {who}"},
    # the report
    "status.sent": {"zh": "已发送", "en": "sent"},
    "status.dry-run": {"zh": "将发送", "en": "dry-run"},
    "status.already-sent": {"zh": "已发过", "en": "already-sent"},
    "status.failed": {"zh": "失败", "en": "failed"},
    "summary": {
        "zh": "共 {total} 封：已发送 {sent}，将发送 {dry}，今日已发过 {already}，失败 {failed}。",
        "en": "{total} messages: {sent} sent, {dry} would be sent (dry run), {already} already sent, "
              "{failed} failed."},
    "cannot_line": {"zh": "无法提醒：{where} {cid}（{kind}）：{reason}",
                    "en": "cannot remind: {where} {cid} ({kind}): {reason}"},
    "none": {"zh": "没有需要发送的提醒。", "en": "No reminders are due."},
    "err.password_ascii": {
        "zh": "邮件登录失败：用户名或环境变量 {var} 中的密码含有非 ASCII 字符（如中文或带重音的字母），"
              "SMTP 登录不支持。请改用只含英文字母、数字和符号的密码（可向邮件管理员申请客户端专用密码）。",
        "en": "mail login failed: the user name or the password in the environment variable {var} "
              "contains non-ASCII characters, which SMTP login does not support. Use a password of "
              "letters, digits and symbols only (ask the mail administrator for an app password)."},
}

_BOUNDARY = "=_complaint-toolkit.reminder_="


# -- results ------------------------------------------------------------------------------


@dataclass(slots=True)
class MessageResult:
    """What happened to one digest."""

    to: list[str]
    cc: list[str]
    subject: str
    #: The items this message carried (for "already-sent": the digest's items).
    items: list[ReminderItem]
    status: str  # SENT | DRY_RUN | ALREADY_SENT | FAILED
    error: str = ""
    #: Quality manager's digest: the cannot-remind rows it carried.
    cannot_remind: list[CannotRemind] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "to": list(self.to),
            "cc": list(self.cc),
            "subject": self.subject,
            "items": [
                {"complaint_id": i.complaint_id, "kind": i.kind, "due": i.due.isoformat(),
                 "days_overdue": i.days_overdue, "level": i.level}
                for i in self.items
            ],
            "cannot_remind": [
                {"complaint_id": c.complaint_id, "sheet": c.sheet, "row": c.row, "kind": c.kind,
                 "reason": c.reason}
                for c in self.cannot_remind
            ],
            "status": self.status,
            "error": self.error,
        }


@dataclass(slots=True)
class SendResult:
    """All messages of one run, in the plan's digest order."""

    messages: list[MessageResult]
    #: Rows the planner could not remind (also listed in the quality manager's digest).
    cannot_remind: list[CannotRemind] = field(default_factory=list)
    #: Planner warnings (e.g. a year the calendar does not know).
    warnings: list[str] = field(default_factory=list)

    def _count(self, status: str) -> int:
        return sum(1 for m in self.messages if m.status == status)

    @property
    def sent(self) -> int:
        return self._count(SENT)

    @property
    def failed(self) -> int:
        return self._count(FAILED)

    @property
    def already_sent(self) -> int:
        return self._count(ALREADY_SENT)

    @property
    def dry_run(self) -> int:
        return self._count(DRY_RUN)

    @property
    def ok(self) -> bool:
        """True when every due reminder was sent (or already sent, or shown in a dry run)."""
        return self.failed == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "messages": [m.to_dict() for m in self.messages],
            "cannot_remind": [
                {"complaint_id": c.complaint_id, "sheet": c.sheet, "row": c.row, "kind": c.kind,
                 "reason": c.reason}
                for c in self.cannot_remind
            ],
            "warnings": list(self.warnings),
            "counts": {"sent": self.sent, "dry_run": self.dry_run, "already_sent": self.already_sent,
                       "failed": self.failed},
        }

    def to_text(self, language: str = "zh") -> str:
        """One line per message (status, to, subject, error), cannot-remind rows, then counts."""
        lines = []
        width = max((len(translate(TEXT, f"status.{s}", language))
                     for s in (SENT, DRY_RUN, ALREADY_SENT, FAILED)), default=0)
        for m in self.messages:
            status = translate(TEXT, f"status.{m.status}", language)
            to = ", ".join(m.to) + (f" (cc {', '.join(m.cc)})" if m.cc else "")
            line = f"{status:<{width}}  {to}  {m.subject}"
            if m.error:
                line += f"  -- {m.error}"
            lines.append(line)
        for c in self.cannot_remind:
            lines.append(translate(TEXT, "cannot_line", language, where=f"{c.sheet}!{c.row}",
                                   cid=c.complaint_id, kind=_kind(c.kind, language), reason=c.reason))
        if not self.messages:
            lines.append(translate(TEXT, "none", language))
        lines.append(translate(TEXT, "summary", language, total=len(self.messages), sent=self.sent,
                               dry=self.dry_run, already=self.already_sent, failed=self.failed))
        return "\n".join(lines)


# -- composing ----------------------------------------------------------------------------


def sender_address(mail: MailConfig, language: str) -> Address:
    """``[mail].sender`` as a checked From address; MailError saying what is wrong with it."""
    name, spec = parseaddr(mail.sender)
    try:
        address = check_address(spec or mail.sender)
    except AddressError as exc:
        raise MailError(translate(TEXT, "err.sender", language, address=mail.sender, why=exc)) from exc
    if name and CONTROL.search(name):
        raise MailError(translate(TEXT, "err.sender", language, address=mail.sender,
                                  why="line break in the name"))
    return Address(display_name=name, username=address.username, domain=address.domain)


def _kind(kind: str, language: str) -> str:
    key = f"kind.{kind}"
    return translate(TEXT, key, language) if key in TEXT else kind


def _clean(value: object) -> str:
    """Register text on one line: line breaks and control characters become spaces."""
    return CONTROL.sub(" ", "" if value is None else str(value)).strip()


def subject_for(role: str, items: Sequence[ReminderItem], cannot: Sequence[CannotRemind],
                today: dt.date, language: str) -> str:
    """The subject: fixed wording plus counts, never register text."""
    prefix_key = f"prefix.{role}" if f"prefix.{role}" in TEXT else "prefix.handler"
    overdue = [i for i in items if i.level >= 1]
    heads_up = [i for i in items if i.level <= 0]
    parts = []
    if overdue:
        part = translate(TEXT, "count.overdue", language, n=len(overdue))
        escalated = sum(1 for i in overdue if i.level >= 2)
        if escalated and role == "handler":
            part += translate(TEXT, "count.escalated", language, n=escalated)
        parts.append(part)
    if heads_up:
        tomorrow = all(i.due == today + dt.timedelta(days=1) for i in heads_up)
        parts.append(translate(TEXT, "count.tomorrow" if tomorrow else "count.soon", language,
                               n=len(heads_up)))
    if cannot:
        parts.append(translate(TEXT, "count.cannot", language, n=len(cannot)))
    return translate(TEXT, prefix_key, language) + translate(TEXT, "sep", language).join(parts)


def _groups(items: Sequence[ReminderItem]) -> list[tuple[int, list[ReminderItem]]]:
    """Items by urgency: level 3, 2, 1, then heads-up; most overdue first inside a group."""
    out = []
    for level in (3, 2, 1, 0):
        group = [i for i in items if max(i.level, 0) == level]
        if group:
            group.sort(key=lambda i: (-i.days_overdue, i.due, i.complaint_id, i.kind))
            out.append((level, group))
    return out


def _item_cells(item: ReminderItem, language: str) -> list[str]:
    level = str(item.level) if item.level > 0 else "-"
    if item.special:
        level += f" ({translate(TEXT, 'special', language)})"
    return [
        _clean(item.complaint_id), _clean(item.customer), _clean(item.phone_masked),
        _kind(item.kind, language), item.due.isoformat(),
        str(item.days_overdue) if item.days_overdue > 0 else "-", level, _clean(item.handler),
    ]


def _cannot_cells(row: CannotRemind, language: str) -> list[str]:
    return [_clean(row.complaint_id), _clean(f"{row.sheet}!{row.row}"), _kind(row.kind, language),
            _clean(row.reason)]


_ITEM_COLUMNS = ("complaint_id", "customer", "phone", "kind", "due", "days_overdue", "level", "handler")
_CANNOT_COLUMNS = ("complaint_id", "where", "kind", "reason")


def render_bodies(role: str, items: Sequence[ReminderItem], cannot: Sequence[CannotRemind],
                  today: dt.date, language: str) -> tuple[str, str]:
    """The plain-text and HTML parts of a digest."""
    intro_key = f"intro.{role}" if f"intro.{role}" in TEXT else "intro.handler"
    greeting = translate(TEXT, "greeting", language)
    intro = translate(TEXT, intro_key, language, today=today.isoformat())
    footer = translate(TEXT, "footer", language)
    sections: list[tuple[str, list[str], list[list[str]]]] = []
    item_head = [translate(TEXT, f"col.{c}", language) for c in _ITEM_COLUMNS]
    for level, group in _groups(items):
        sections.append((f"{translate(TEXT, f'group.{level}', language)} ({len(group)})", item_head,
                         [_item_cells(i, language) for i in group]))
    if cannot:
        sections.append((f"{translate(TEXT, 'group.cannot', language)} ({len(cannot)})",
                         [translate(TEXT, f"col.{c}", language) for c in _CANNOT_COLUMNS],
                         [_cannot_cells(c, language) for c in cannot]))

    text = [greeting, "", intro, ""]
    for title, head, rows in sections:
        text += [f"== {title} ==", " | ".join(head), *(" | ".join(r) for r in rows), ""]
    text.append(footer)

    esc = html.escape
    page = ['<!DOCTYPE html><html><head><meta charset="utf-8"></head>',
            '<body style="font-family:sans-serif;font-size:14px">',
            f"<p>{esc(greeting)}</p><p>{esc(intro)}</p>"]
    for title, head, rows in sections:
        page.append(f"<h3>{esc(title)}</h3>")
        page.append('<table border="1" cellpadding="4" cellspacing="0" style="border-collapse:collapse">')
        page.append("<tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr>")
        for row in rows:
            # Cells never hold control characters (_clean), so escape the row once, joined by one.
            page.append("<tr><td>" + esc("\x1f".join(row)).replace("\x1f", "</td><td>") + "</td></tr>")
        page.append("</table>")
    page.append(f'<p style="color:#666">{esc(footer)}</p></body></html>')
    return "\n".join(text) + "\n", "\n".join(page) + "\n"


class _HeaderClasses(HeaderRegistry):
    """HeaderRegistry makes a new class for every header it parses; the class for a header name
    never changes, so make each one once."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


_PARSED: dict[tuple[str, str], Any] = {}
_FOLDED: dict[tuple[str, str], bytes] = {}
_CACHE_LIMIT = 4096


class _ReusingPolicy(EmailPolicy):
    """The SMTP policy, remembering parsed and folded headers.

    Parsing and folding headers is most of the cost of composing a message, and in one run
    most headers repeat exactly (From, Date, Subject, MIME and part headers). Header objects
    are immutable and folding is a function of the header's text, so both can be reused.
    """

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        if not isinstance(value, str) or isinstance(value, BaseHeader):
            return super().header_store_parse(name, value)
        key = (name, value)
        parsed = _PARSED.get(key)
        if parsed is None:
            if len(_PARSED) > _CACHE_LIMIT:
                _PARSED.clear()
            parsed = _PARSED[key] = super().header_store_parse(name, value)
        return parsed

    def fold_binary(self, name: str, value: Any) -> bytes:
        key = (name, str(value))
        folded = _FOLDED.get(key)
        if folded is None:
            if len(_FOLDED) > _CACHE_LIMIT:
                _FOLDED.clear()
            folded = _FOLDED[key] = super().fold_binary(name, value)
        return folded


#: The standard SMTP policy (CRLF line ends, RFC 5322 headers), with header reuse.
POLICY = _ReusingPolicy(linesep="\r\n", header_factory=_HeaderClasses())


def compose(digest: Digest, items: Sequence[ReminderItem], cannot: Sequence[CannotRemind], *,
            sender: Address, today: dt.date, now: dt.datetime, language: str) -> EmailMessage:
    """The digest as an e-mail message. Raises :class:`AddressError` for a bad recipient."""
    to = [check_address(a) for a in digest.to]
    cc = [check_address(a) for a in digest.cc]
    if not to:
        raise AddressError("no recipient")
    text, page = render_bodies(digest.role, items, cannot, today, language)
    msg = EmailMessage(policy=POLICY)
    msg["Subject"] = subject_for(digest.role, items, cannot, today, language)
    msg["From"] = str(sender)  # the same text every time: parsed once per run (POLICY)
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    # A naive ``now`` is taken as local time; astimezone() does not read the clock.
    msg["Date"] = format_datetime(now if now.tzinfo else now.astimezone())
    msg["Message-ID"] = make_msgid("reminder", domain=sender.domain)
    # RFC 3834: out-of-office robots must not answer an automatic mail.
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text, subtype="plain", charset="utf-8", cte="base64")
    msg.add_alternative(page, subtype="html", charset="utf-8", cte="base64")
    # Both parts are base64, whose alphabet has no "_" or ".": this boundary can never occur in
    # them, so the generator need not search the body for a random one (a regex per message).
    msg.set_boundary(_BOUNDARY)
    return msg


# -- transports ---------------------------------------------------------------------------


class _Transient(Exception):
    """Worth retrying: 4xx, dropped connection, timeout (a dropped session is reopened first)."""


class _Permanent(Exception):
    """This message will not be accepted (5xx); other messages may be."""


class Transport(Protocol):
    @property
    def connected(self) -> bool: ...

    def open(self) -> None: ...

    def send(self, sender: str, recipients: list[str], data: bytes, label: str) -> dict[str, str]:
        """Deliver ``data``; return refused recipients (address -> reason) when others took it."""
        ...

    def reconnect(self) -> None: ...

    def close(self) -> None: ...


class OutboxTransport:
    """Writes each message as ``<YYYYMMDD-HHMMSS>_<recipient>_<hash>.eml`` into the outbox."""

    def __init__(self, folder: Path, now: dt.datetime, language: str) -> None:
        self.folder = folder
        self.now = now
        self.language = language
        self.written: list[Path] = []

    @property
    def connected(self) -> bool:
        return True

    def open(self) -> None:
        ensure_folder(self.folder, self.language)  # OutputError: the run cannot send anything

    def send(self, sender: str, recipients: list[str], data: bytes, label: str) -> dict[str, str]:
        digest = hashlib.sha256(data).hexdigest()[:8]
        name = sanitize_filename(f"{self.now:%Y%m%d-%H%M%S}_{label}_{digest}.eml")
        path = self.folder / name
        try:
            # Durable: the ledger records this mail as sent right after; the file must outlive a power cut.
            atomic_write_bytes(path, data, durable=True)
        except OSError as exc:
            raise _Permanent(translate(TEXT, "err.outbox", self.language, path=self.folder,
                                       why=exc.strerror or exc)) from exc
        self.written.append(path)
        return {}

    def reconnect(self) -> None:
        pass

    def close(self) -> None:
        pass


class SmtpTransport:
    """One SMTP session for the whole run (reopened after a drop)."""

    def __init__(self, mail: MailConfig, ca_file: Path | None, language: str) -> None:
        self.mail = mail
        self.ca_file = ca_file
        self.language = language
        self._smtp: smtplib.SMTP | None = None
        self._password = ""
        if mail.username:
            self._password = os.environ.get(mail.password_env, "")
            if not self._password:
                raise MailError(translate(TEXT, "err.password", language, user=mail.username,
                                          var=mail.password_env))

    @property
    def connected(self) -> bool:
        return self._smtp is not None

    def _t(self, key: str, **kw: Any) -> str:
        return translate(TEXT, key, self.language, host=self.mail.host, port=self.mail.port, **kw)

    def _context(self) -> ssl.SSLContext:
        try:
            return ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        except (OSError, ssl.SSLError) as exc:
            raise MailError(translate(TEXT, "err.ca_file", self.language, path=self.ca_file,
                                      why=getattr(exc, "strerror", None) or exc)) from exc

    def open(self) -> None:
        """Connect, STARTTLS and log in. Raises :class:`MailError` saying what to check."""
        mail = self.mail
        context = self._context() if mail.security in ("starttls", "ssl") else None
        smtp: smtplib.SMTP | None = None
        try:
            if mail.security == "ssl":
                smtp = smtplib.SMTP_SSL(mail.host, mail.port, timeout=mail.timeout, context=context)
            else:
                smtp = smtplib.SMTP(mail.host, mail.port, timeout=mail.timeout)
            smtp.ehlo()
            if mail.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if mail.username:
                smtp.login(mail.username, self._password)
        except smtplib.SMTPAuthenticationError as exc:
            _quietly_close(smtp)
            raise MailError(self._t("err.auth", user=mail.username, var=mail.password_env,
                                    why=_smtp_reason(exc))) from exc
        except UnicodeError:
            # smtplib sends the login in ASCII. Say so without the error's text, which quotes a
            # character of the password and its position (it would reach the log and history).
            _quietly_close(smtp)
            raise MailError(self._t("err.password_ascii", var=mail.password_env)) from None
        except smtplib.SMTPNotSupportedError as exc:
            _quietly_close(smtp)
            key = "err.no_starttls" if "STARTTLS" in str(exc) else "err.no_auth"
            raise MailError(self._t(key)) from exc
        except smtplib.SMTPException as exc:
            _quietly_close(smtp)
            if mail.username and "AUTH" in str(exc):
                raise MailError(self._t("err.no_auth")) from exc
            raise MailError(self._t("err.connect", why=_smtp_reason(exc))) from exc
        except ssl.SSLCertVerificationError as exc:
            _quietly_close(smtp)
            raise MailError(self._t("err.cert", why=exc.verify_message or exc)) from exc
        except ssl.SSLError as exc:
            _quietly_close(smtp)
            raise MailError(self._t("err.tls", why=exc.reason or exc)) from exc
        except OSError as exc:
            _quietly_close(smtp)
            raise MailError(self._t("err.connect", why=exc.strerror or exc)) from exc
        self._smtp = smtp

    def reconnect(self) -> None:
        self.close()
        self.open()

    def send(self, sender: str, recipients: list[str], data: bytes, label: str) -> dict[str, str]:
        if self._smtp is None:
            raise _Transient("not connected")
        try:
            refused = self._smtp.sendmail(sender, recipients, data)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            why = "; ".join(f"{a}: {c} {_text(r)}" for a, (c, r) in exc.recipients.items())
            if codes and all(400 <= c < 500 for c in codes):
                raise _Transient(why) from exc
            raise _Permanent(why) from exc
        except smtplib.SMTPServerDisconnected as exc:
            self._smtp = None
            raise _Transient(str(exc) or "connection closed") from exc
        except smtplib.SMTPResponseException as exc:
            # SMTPSenderRefused / SMTPDataError: 421 means the server closes the session.
            why = _smtp_reason(exc)
            if exc.smtp_code == 421:
                self._smtp = None
                raise _Transient(why) from exc
            if 400 <= exc.smtp_code < 500:
                raise _Transient(why) from exc
            raise _Permanent(why) from exc
        except (OSError, smtplib.SMTPException) as exc:
            _quietly_close(self._smtp)
            self._smtp = None
            raise _Transient(getattr(exc, "strerror", None) or str(exc) or type(exc).__name__) from exc
        return {a: f"{c} {_text(r)}" for a, (c, r) in refused.items()}

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                _quietly_close(smtp)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _smtp_reason(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    return str(exc) or type(exc).__name__


def _quietly_close(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        try:
            smtp.close()
        except OSError:
            pass


def make_transport(config: Config, now: dt.datetime) -> Transport:
    """The transport ``[mail] transport`` names (not yet connected)."""
    mail = config.mail
    if mail.transport == "smtp":
        ca_file = config.path(mail.ca_file) if mail.ca_file else None
        return SmtpTransport(mail, ca_file, config.language)
    return OutboxTransport(config.outbox_dir, now, config.language)


# -- sending ------------------------------------------------------------------------------


def send_reminders(plan: ReminderPlan, config: Config, *, now: dt.datetime, dry_run: bool = False,
                   ledger: Ledger | None = None, transport: Transport | None = None) -> SendResult:
    """Send each digest of ``plan`` that has something new, record what was accepted.

    Only items not yet sent to that recipient in the current repeat period go into a digest;
    a digest with nothing new is "already-sent". ``dry_run`` composes and reports but sends,
    writes and records nothing. The ledger is ``config.state_path`` unless one is passed.

    Raises :class:`MailError` when the run cannot start (bad sender, no password, server
    unreachable at the first message); a failure later in the run fails the digests it
    touches and the rest continue.
    """
    language = config.language
    sender = sender_address(config.mail, language)
    own_ledger = ledger is None
    if ledger is None:
        ledger = Ledger(config.state_path, readonly=dry_run)
    results: list[MessageResult] = []
    sender_spec = sender.addr_spec
    active: Transport | None = None
    server_down = ""
    repeat = config.reminders.repeat_every_days
    try:
        for digest in plan.digests:
            if not digest.items and not digest.cannot_remind:
                continue
            items = ledger.unsent(digest.recipient, digest.items, plan.today, repeat)
            cannot = ledger.unsent_cannot_remind(digest.recipient, digest.cannot_remind, plan.today,
                                                 repeat)
            if not items and not cannot:
                results.append(MessageResult(
                    list(digest.to), list(digest.cc),
                    subject_for(digest.role, digest.items, digest.cannot_remind, plan.today, language),
                    list(digest.items), ALREADY_SENT, cannot_remind=list(digest.cannot_remind)))
                continue
            result = MessageResult(list(digest.to), list(digest.cc),
                                   subject_for(digest.role, items, cannot, plan.today, language),
                                   items, FAILED, cannot_remind=cannot)
            results.append(result)
            try:
                msg = compose(digest, items, cannot, sender=sender, today=plan.today, now=now,
                              language=language)
            except AddressError as exc:
                bad = next((a for a in [*digest.to, *digest.cc] if not _is_valid(a)), digest.recipient)
                result.error = translate(TEXT, "err.address", language, address=_clean(bad), why=exc)
                log.warning("%s", result.error)
                continue
            if dry_run:
                result.status = DRY_RUN
                continue
            if server_down:
                result.error = server_down
                continue
            if active is None:
                active = transport or make_transport(config, now)
                active.open()  # MailError: nothing sent yet, the run stops (exit 2)
            envelope = _envelope(msg)
            data = msg.as_bytes()
            try:
                refused = _deliver(active, sender_spec, envelope, data, digest.recipient,
                                   config.mail, language)
            except _Permanent as exc:
                result.error = str(exc)
                log.warning("not delivered to %s: %s", digest.recipient, exc)
                continue
            except MailError as exc:  # reconnecting failed: the server is gone for this run
                server_down = translate(TEXT, "err.server_down", language, host=config.mail.host,
                                        port=config.mail.port, why=exc.__cause__ or exc)
                result.error = server_down
                log.warning("%s", server_down)
                continue
            if digest.recipient.strip().lower() in {a.lower() for a in refused}:
                result.error = "; ".join(f"{a}: {r}" for a, r in refused.items())
                continue
            # Accepted: record every item of this message in one transaction, right now.
            ledger.record(digest.recipient, [*items, *cannot], plan.today, now)
            result.status = SENT
            if refused:
                result.error = translate(TEXT, "warn.refused_cc", language,
                                         who="; ".join(f"{a}: {r}" for a, r in refused.items()))
    finally:
        if active is not None:
            active.close()
        if own_ledger:
            ledger.close()
    return SendResult(results, list(plan.cannot_remind), list(plan.warnings))


def _deliver(transport: Transport, sender: str, envelope: list[str], data: bytes, label: str,
             mail: MailConfig, language: str) -> dict[str, str]:
    """Send with retries and backoff; a dropped session is reopened first.

    Raises :class:`_Permanent` when the message will not go, :class:`MailError` when the server
    cannot be reached again (the rest of the run cannot go either).
    """
    attempt = 0
    while True:
        try:
            if not transport.connected:
                transport.reconnect()
            return transport.send(sender, envelope, data, label)
        except _Transient as exc:
            if attempt >= mail.retries:
                raise _Permanent(translate(TEXT, "err.gave_up", language, n=mail.retries,
                                           why=exc)) from exc
            log.info("transient failure sending to %s (%s); retrying", label, exc)
        except MailError:
            if attempt >= mail.retries:
                raise
            log.info("mail server unreachable; retrying")
        time.sleep(mail.retry_delay * (2 ** attempt))
        attempt += 1


def _envelope(msg: EmailMessage) -> list[str]:
    """To and Cc addresses, once each (case-insensitive); there is never a Bcc."""
    seen: dict[str, str] = {}
    for header in ("To", "Cc"):
        for address in getattr(msg[header], "addresses", ()) if msg[header] else ():
            seen.setdefault(address.addr_spec.lower(), address.addr_spec)
    return list(seen.values())


def _is_valid(address: str) -> bool:
    try:
        check_address(address)
    except AddressError:
        return False
    return True
