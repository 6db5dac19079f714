"""The e-mail channel: one digest mail per person, through the outbox or SMTP.

>>> channel = EmailChannel(config, now)                                # doctest: +SKIP
>>> [out.subject for out in channel.outgoing(plan, ledger, repeat_every_days=1)]

Transports (``[mail] transport``):

- ``outbox`` (default) writes each message as an ``.eml`` file into ``[mail] outbox_dir``
  (toolkit/notify/outbox.py); the ledger records these as channel ``outbox``, so switching to
  SMTP later mails the current items once;
- ``smtp`` sends over one SMTP session for the whole run (``security`` none/starttls/ssl, login
  with the password from the environment variable ``password_env``; a login over an
  unencrypted connection only with ``allow_plaintext_login = true``). A refused recipient
  fails only its digest; transient failures are retried by the delivery loop
  (toolkit/notify/deliver.py) with backoff and a reconnect.

Messages are written directly as RFC 5322 bytes (CRLF, base64 bodies, RFC 2047 subjects):
building them through the ``email`` package's policy and header folding cost more than the
SMTP exchange itself. Register text is data: it never reaches a header (subjects are built
from counts, addresses are validated, so a newline in a name cannot add a header) and is
HTML-escaped in the HTML part. Each digest's Message-ID is stable (its channel, recipient,
day and items), so a message repeated after a crash is recognisable.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import logging
import os
import re
import smtplib
import ssl
from collections.abc import Iterator, Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from ..addresses import CONTROL, AddressError, check_address, check_mailbox, reason, shown
from ..config import Config, MailConfig
from ..errors import MailError
from ..fsutil import os_reason
from ..i18n import Messages, translate
from ..reminders import CannotRemind, Digest, ReminderItem, ReminderPlan
from ..state import Ledger
from .message import InDoubt, Outgoing, Permanent, Transient, clean, kind_label, message_id, seconds
from .outbox import OutboxTransport

log = logging.getLogger(__name__)

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
    "group.cannot": {"zh": "无法提醒的记录（按“在哪里改”一栏补填台账或 config.toml）",
                     "en": "Rows that cannot be reminded (complete the register or config.toml, as the "
                           "'Where to fix' column says)"},
    "col.complaint_id": {"zh": "投诉编号", "en": "Complaint No."},
    "col.customer": {"zh": "客户", "en": "Customer"},
    "col.phone": {"zh": "电话", "en": "Phone"},
    "col.respondent": {"zh": "被投诉方", "en": "Respondent"},
    "col.summary": {"zh": "投诉内容", "en": "Complaint"},
    "col.fix": {"zh": "在哪里改", "en": "Where to fix"},
    "col.kind": {"zh": "事项", "en": "Item"},
    "col.due": {"zh": "到期日", "en": "Due"},
    "col.days_overdue": {"zh": "逾期工作日", "en": "Working days overdue"},
    "col.level": {"zh": "级别", "en": "Level"},
    "col.handler": {"zh": "负责人", "en": "Handler"},
    "col.where": {"zh": "位置", "en": "Where"},
    "col.reason": {"zh": "原因", "en": "Reason"},
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
        "zh": "[mail].sender“{address}”不是有效的电子邮件地址（{why}）：请在 config.toml 中改正，只写一个地址，"
              "如 complaints@example.com 或 投诉系统 <complaints@example.com>。",
        "en": "[mail].sender '{address}' is not a valid e-mail address ({why}); correct it in config.toml: "
              "exactly one address, such as complaints@example.com or Complaints <complaints@example.com>."},
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
    "err.outbox": {
        "zh": "无法写入发件箱文件夹 {path}（{why}）：请检查 [mail].outbox_dir 的位置和写入权限",
        "en": "cannot write into the outbox folder {path} ({why}); check [mail].outbox_dir and its "
              "permissions"},
    "err.plaintext": {
        "zh": "[mail].security 为 \"none\" 且设置了 username：密码会以明文经网络发送。请改用 security = "
              "\"starttls\" 或 \"ssl\"；确需明文登录（例如只在本机的中继），请在 [mail] 中写明 "
              "allow_plaintext_login = true。",
        "en": "[mail].security is \"none\" and a username is set: the password would cross the network "
              "in clear. Use security = \"starttls\" or \"ssl\"; if a plain login is really meant (a "
              "relay on this machine), say so with allow_plaintext_login = true in [mail]."},
    "err.no_address": {
        "zh": "{name} 没有可用的邮箱地址，邮件提醒发不出去：请在 config.toml 中加入 [people.\"{name}\"] email = \"...\"",
        "en": "{name} has no usable e-mail address, so no mail can go: add [people.\"{name}\"] "
              "email = \"...\" to config.toml"},
    "err.password_ascii": {
        "zh": "邮件登录失败：用户名或环境变量 {var} 中的密码含有非 ASCII 字符（如中文或带重音的字母），"
              "SMTP 登录不支持。请改用只含英文字母、数字和符号的密码（可向邮件管理员申请客户端专用密码）。",
        "en": "mail login failed: the user name or the password in the environment variable {var} "
              "contains non-ASCII characters, which SMTP login does not support. Use a password of "
              "letters, digits and symbols only (ask the mail administrator for an app password)."},
    "err.no_answer": {
        "zh": "邮件服务器在 {n} 秒内没有确认收到这封邮件（{why}）",
        "en": "the mail server did not confirm the message within {n} s ({why})"},
    "err.cut_off": {
        "zh": "邮件服务器收下邮件内容后、确认之前断开了连接（{why}）",
        "en": "the mail server closed the connection after taking the message, before confirming it "
              "({why})"},
}


_BOUNDARY = "=_complaint-toolkit.reminder_="

#: Seconds to wait for the reply to the end of DATA (RFC 5321 §4.5.3.2: 10 minutes). Much longer
#: than ``[mail] timeout`` on purpose: a server may take that long to queue a message it already
#: has, and giving up sooner is how one reminder turns into several copies.
DATA_TIMEOUT = 600.0
#: A summary of 投诉内容 in the digest table: one line, this many characters at most.
SUMMARY_CHARS = 40


# -- composing ----------------------------------------------------------------------------


def sender_address(mail: MailConfig, language: str) -> Address:
    """``[mail].sender`` as a checked From address (exactly one mailbox, see
    :func:`check_mailbox`); MailError saying what is wrong with it. The config loader refuses a
    bad sender already; this is for a config built in code."""
    try:
        return check_mailbox(mail.sender)
    except AddressError as exc:
        raise MailError(translate(TEXT, "err.sender", language, address=shown(mail.sender),
                                  why=reason(exc, language))) from exc


def summary(text: str, limit: int = SUMMARY_CHARS) -> str:
    """A one-line summary of register text: at most ``limit`` characters, "…" when shortened."""
    line = clean(text)
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


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


def groups(items: Sequence[ReminderItem]) -> list[tuple[int, list[ReminderItem]]]:
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
        clean(item.complaint_id), clean(item.customer), clean(item.phone_masked),
        clean(item.respondent), summary(item.description),
        kind_label(item.kind, language), item.due.isoformat(),
        str(item.days_overdue) if item.days_overdue > 0 else "-", level, clean(item.handler),
    ]


def _cannot_cells(row: CannotRemind, language: str) -> list[str]:
    from .message import TEXT as SHARED

    return [clean(row.complaint_id), clean(f"{row.sheet}!{row.row}"), kind_label(row.kind, language),
            translate(SHARED, f"fix.{row.fix}", language), clean(row.reason)]


_ITEM_COLUMNS = ("complaint_id", "customer", "phone", "respondent", "summary", "kind", "due",
                 "days_overdue", "level", "handler")
_CANNOT_COLUMNS = ("complaint_id", "where", "kind", "fix", "reason")


def render_bodies(role: str, items: Sequence[ReminderItem], cannot: Sequence[CannotRemind],
                  today: dt.date, language: str) -> tuple[str, str]:
    """The plain-text and HTML parts of a digest."""
    intro_key = f"intro.{role}" if f"intro.{role}" in TEXT else "intro.handler"
    greeting = translate(TEXT, "greeting", language)
    intro = translate(TEXT, intro_key, language, today=today.isoformat())
    footer = translate(TEXT, "footer", language)
    sections: list[tuple[str, list[str], list[list[str]]]] = []
    item_head = [translate(TEXT, f"col.{c}", language) for c in _ITEM_COLUMNS]
    for level, group in groups(items):
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
            # Cells never hold control characters (clean), so escape the row once, joined by one.
            page.append("<tr><td>" + esc("\x1f".join(row)).replace("\x1f", "</td><td>") + "</td></tr>")
        page.append("</table>")
    page.append(f'<p style="color:#666">{esc(footer)}</p></body></html>')
    return "\n".join(text) + "\n", "\n".join(page) + "\n"


def encode_header_text(text: str) -> str:
    """RFC 2047: ASCII stays as it is; anything else becomes UTF-8 base64 encoded-words of at
    most 75 characters, folded onto continuation lines (never splitting a character)."""
    if text.isascii() and len(text) < 900 and not CONTROL.search(text):
        return text
    words, chunk = [], ""
    for char in text:
        # 45 bytes of UTF-8 -> 60 base64 characters + 12 of "=?utf-8?b?" "?=": within 75.
        if len((chunk + char).encode()) > 45:
            words.append(chunk)
            chunk = ""
        chunk += char
    if chunk:
        words.append(chunk)
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(w.encode()).decode()}?=" for w in words)


def _address_list(addresses: Sequence[Address]) -> str:
    """Checked ASCII addresses, folded at the commas so no line passes 78 characters."""
    lines, line = [], ""
    for address in addresses:
        spec = address.addr_spec
        if line and len(line) + len(spec) + 2 > 70:
            lines.append(line + ",")
            line = spec
        else:
            line = f"{line}, {spec}" if line else spec
    lines.append(line)
    return "\r\n ".join(lines)


def _from_header(sender: Address) -> str:
    if not sender.display_name:
        return sender.addr_spec
    name = sender.display_name
    if name.isascii():
        shown = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    else:
        shown = encode_header_text(name)
    return f"{shown} <{sender.addr_spec}>"


def _b64(text: str) -> bytes:
    return base64.encodebytes(text.encode("utf-8")).replace(b"\n", b"\r\n")


def compose_bytes(to: Sequence[Address], cc: Sequence[Address], subject: str, text: str, page: str, *,
                  sender: Address, now: dt.datetime, msgid: str) -> bytes:
    """A multipart/alternative (plain text + HTML) message, as the bytes SMTP sends."""
    headers = [
        f"Subject: {encode_header_text(subject)}",
        f"From: {_from_header(sender)}",
        f"To: {_address_list(to)}",
    ]
    if cc:
        headers.append(f"Cc: {_address_list(cc)}")
    headers += [
        # A naive ``now`` is taken as local time; astimezone() does not read the clock.
        f"Date: {format_datetime(now if now.tzinfo else now.astimezone())}",
        f"Message-ID: <{msgid}>",
        # RFC 3834: out-of-office robots must not answer an automatic mail.
        "Auto-Submitted: auto-generated",
        "MIME-Version: 1.0",
        # Both parts are base64, whose alphabet has no "_" or ".": this boundary cannot occur
        # in them.
        f'Content-Type: multipart/alternative; boundary="{_BOUNDARY}"',
    ]
    part = 'Content-Type: text/{}; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    return b"".join([
        "\r\n".join(headers).encode("ascii"), b"\r\n\r\n",
        f"--{_BOUNDARY}\r\n{part.format('plain')}".encode(), _b64(text),
        f"--{_BOUNDARY}\r\n{part.format('html')}".encode(), _b64(page),
        f"--{_BOUNDARY}--\r\n".encode(),
    ])


def compose(digest: Digest, items: Sequence[ReminderItem], cannot: Sequence[CannotRemind], *,
            sender: Address, today: dt.date, now: dt.datetime, language: str,
            channel: str = "email") -> EmailMessage:
    """The digest as an :class:`EmailMessage` (for callers that want one; the channel sends
    :func:`compose_bytes` directly). Raises :class:`AddressError` for a bad recipient."""
    from email import message_from_bytes

    to = [check_address(digest.person.email)]
    subject = subject_for(digest.role, items, cannot, today, language)
    text, page = render_bodies(digest.role, items, cannot, today, language)
    msgid = f"reminder.{message_id(channel, digest.person.email, today, [*items, *cannot])}@{sender.domain}"
    data = compose_bytes(to, [], subject, text, page, sender=sender, now=now, msgid=msgid)
    return message_from_bytes(data, policy=SMTP)  # type: ignore[return-value]


# -- the channel --------------------------------------------------------------------------


class EmailChannel:
    """One digest mail per person, through ``[mail] transport`` (the outbox or SMTP)."""

    def __init__(self, config: Config, now: dt.datetime) -> None:
        self.config = config
        self.now = now
        self.language = config.language
        mail = config.mail
        self.name = "outbox" if mail.transport == "outbox" else "email"
        self.retries = mail.retries
        self.retry_delay = mail.retry_delay
        self.rate_limit_wait = mail.retry_delay
        self._transport: OutboxTransport | SmtpTransport | None = None
        self._sender: Address | None = None

    def outgoing(self, plan: ReminderPlan, ledger: Ledger, repeat_every_days: int) -> Iterator[Outgoing]:
        language = self.language
        sender = self._sender = sender_address(self.config.mail, language)  # MailError: exit 2
        for digest in plan.digests:
            if not digest.items and not digest.cannot_remind:
                continue
            person = digest.person
            if not person.email:
                # The planner lists such items as cannot-remind when e-mail is the only channel;
                # a person reached only through groups has no mail to send.
                if "email" in self.config.notify.channels and len(self.config.notify.channels) == 1:
                    yield Outgoing(self.name, person.name, [person.label], [],
                                   subject_for(digest.role, digest.items, digest.cannot_remind,
                                               plan.today, language),
                                   list(digest.items), list(digest.cannot_remind),
                                   error=translate(TEXT, "err.no_address", language, name=person.name))
                continue
            address = person.email
            items = ledger.unsent(self.name, address, digest.items, plan.today, repeat_every_days)
            cannot = ledger.unsent_cannot_remind(self.name, address, digest.cannot_remind, plan.today,
                                                 repeat_every_days)
            if not items and not cannot:
                yield Outgoing(self.name, address, [address], [],
                               subject_for(digest.role, digest.items, digest.cannot_remind, plan.today,
                                           language),
                               list(digest.items), list(digest.cannot_remind), fresh=False)
                continue
            subject = subject_for(digest.role, items, cannot, plan.today, language)
            out = Outgoing(self.name, address, [address], [], subject, items, cannot)
            try:
                to = [check_address(address)]
            except AddressError as exc:
                out.error = translate(TEXT, "err.address", language, address=clean(address), why=exc)
                yield out
                continue
            out.message_id = message_id(self.name, address, plan.today, [*items, *cannot])
            text, page = render_bodies(digest.role, items, cannot, plan.today, language)
            msgid = f"reminder.{out.message_id}@{sender.domain}"
            out.payload = ([to[0].addr_spec],
                           compose_bytes(to, [], subject, text, page, sender=sender, now=self.now,
                                         msgid=msgid))
            out.preview = text
            yield out

    def _make_transport(self) -> OutboxTransport | SmtpTransport:
        config = self.config
        if config.mail.transport == "smtp":
            ca_file = config.path(config.mail.ca_file) if config.mail.ca_file else None
            return SmtpTransport(config.mail, ca_file, config.language)
        return OutboxTransport(config.outbox_dir, self.now, config.language)

    @property
    def connected(self) -> bool:
        return self._transport is not None and self._transport.connected

    def open(self) -> None:
        if self._transport is None:
            self._transport = self._make_transport()  # MailError: no password
        self._transport.open()

    def reconnect(self) -> None:
        if self._transport is None:
            self.open()
        else:
            self._transport.reconnect()

    def post(self, out: Outgoing) -> dict[str, str]:
        assert self._transport is not None
        envelope, data = out.payload
        sender = self._sender or sender_address(self.config.mail, self.language)
        return self._transport.send(sender.addr_spec, envelope, data, out.destination)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


def weekly_outgoing(msg: EmailMessage, config: Config) -> Outgoing:
    """The weekly report mail as a message of the e-mail channel (sent by deliver_one)."""
    from email.utils import getaddresses

    sender = getaddresses([str(msg["From"])])[0][1]
    to = [address for _, address in getaddresses([str(msg["To"])])]
    data = msg.as_bytes(policy=SMTP)
    del sender  # the channel sends from [mail].sender, which build_weekly_mail put in From
    out = Outgoing("weekly", "weekly-report", to, [], str(msg["Subject"]), [], payload=(to, data))
    out.message_id = str(msg["Message-ID"] or "")
    return out


def make_transport(config: Config, now: dt.datetime) -> OutboxTransport | SmtpTransport:
    """The transport ``[mail] transport`` names (not yet connected)."""
    return EmailChannel(config, now)._make_transport()


class _NoAnswer(smtplib.SMTPServerDisconnected):
    """The whole message went, ending with "."; its reply did not come (timeout or a cut)."""

    def __init__(self, why: str, timed_out: bool) -> None:
        super().__init__(why)
        self.timed_out = timed_out


_LEADING_DOT = re.compile(rb"(?m)^\.")


class _Session(smtplib.SMTP):
    """smtplib's session, with the wait for the end-of-data reply apart from the command
    timeout, and a missing reply there told apart from any failure before it."""

    data_timeout = DATA_TIMEOUT

    def data(self, msg: Any) -> tuple[int, bytes]:
        self.putcmd("data")
        code, repl = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, repl)
        if isinstance(msg, str):
            msg = msg.encode("ascii")
        quoted = _LEADING_DOT.sub(b"..", msg)  # RFC 5321 §4.5.2 dot-stuffing, as smtplib does
        if not quoted.endswith(b"\r\n"):
            quoted += b"\r\n"
        # A failure while sending leaves the message incomplete: the server drops it, a retry
        # is safe. Once the final "." is out, the server may have it.
        self.send(quoted + b".\r\n")
        sock = self.sock
        command_timeout = sock.gettimeout() if sock is not None else None
        if sock is not None:
            sock.settimeout(max(self.data_timeout, command_timeout or 0))
        try:
            return self.getreply()
        except smtplib.SMTPServerDisconnected as exc:
            cause = exc.__cause__ or exc.__context__
            raise _NoAnswer(str(exc), isinstance(cause, TimeoutError)) from exc
        finally:
            if self.sock is not None:
                self.sock.settimeout(command_timeout)


class _SslSession(_Session, smtplib.SMTP_SSL):
    """:class:`_Session` over implicit TLS."""


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
                raise MailError.setup(translate(TEXT, "err.password", language, user=mail.username,
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
        if mail.username and mail.security == "none" and not mail.allow_plaintext_login:
            # smtplib would send AUTH PLAIN over the open connection: refuse, before connecting.
            raise MailError(translate(TEXT, "err.plaintext", self.language))
        context = self._context() if mail.security in ("starttls", "ssl") else None
        smtp: smtplib.SMTP | None = None
        try:
            if mail.security == "ssl":
                smtp = _SslSession(mail.host, mail.port, timeout=mail.timeout, context=context)
            else:
                smtp = _Session(mail.host, mail.port, timeout=mail.timeout)
            smtp.ehlo()
            if mail.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if mail.username:
                smtp.login(mail.username, self._password)
        except smtplib.SMTPAuthenticationError as exc:
            _quietly_close(smtp)
            raise MailError.setup(self._t("err.auth", user=mail.username, var=mail.password_env,
                                          why=_smtp_reason(exc))) from exc
        except UnicodeError:
            # smtplib sends the login in ASCII. Say so without the error's text, which quotes a
            # character of the password and its position (it would reach the log and history).
            _quietly_close(smtp)
            raise MailError.setup(self._t("err.password_ascii", var=mail.password_env)) from None
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
            raise MailError(self._t("err.connect", why=os_reason(exc, self.language) if exc.errno else exc)) from exc
        self._smtp = smtp

    def reconnect(self) -> None:
        self.close()
        self.open()

    def send(self, sender: str, recipients: list[str], data: bytes, label: str) -> dict[str, str]:
        """Deliver ``data``; refused recipients (address -> reason) when others took it."""
        if self._smtp is None:
            raise Transient("not connected")
        try:
            refused = self._smtp.sendmail(sender, recipients, data)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            why = "; ".join(f"{a}: {c} {_text(r)}" for a, (c, r) in exc.recipients.items())
            if codes and all(400 <= c < 500 for c in codes):
                raise Transient(why) from exc
            raise Permanent(why) from exc
        except _NoAnswer as exc:
            _quietly_close(self._smtp)
            self._smtp = None
            wait = max(_Session.data_timeout, self.mail.timeout)
            key = "err.no_answer" if exc.timed_out else "err.cut_off"
            raise InDoubt(self._t(key, n=seconds(wait), why=exc)) from exc
        except smtplib.SMTPServerDisconnected as exc:
            self._smtp = None
            raise Transient(str(exc) or "connection closed") from exc
        except smtplib.SMTPResponseException as exc:
            # SMTPSenderRefused / SMTPDataError: 421 means the server closes the session.
            why = _smtp_reason(exc)
            if exc.smtp_code == 421:
                self._smtp = None
                raise Transient(why) from exc
            if 400 <= exc.smtp_code < 500:
                raise Transient(why) from exc
            raise Permanent(why) from exc
        except (OSError, smtplib.SMTPException) as exc:
            _quietly_close(self._smtp)
            self._smtp = None
            raise Transient(getattr(exc, "strerror", None) or str(exc) or type(exc).__name__) from exc
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



__all__ = [
    "TEXT",
    "EmailChannel",
    "OutboxTransport",
    "SmtpTransport",
    "compose",
    "compose_bytes",
    "make_transport",
    "render_bodies",
    "sender_address",
    "subject_for",
    "weekly_outgoing",
]
