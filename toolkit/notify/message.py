"""What every channel shares: the message a channel will post (:class:`Outgoing`), what
happened to it (:class:`MessageResult`, :class:`SendResult`), the failures the delivery loop
knows how to handle, and the words used for items in every channel.

A channel sorts each failure into one of four kinds, and :mod:`toolkit.notify.deliver` does
the rest, the same way for every channel:

- :class:`Transient` (5xx, timeout, dropped connection): retried with backoff;
- :class:`RateLimited` (WeCom 45009, DingTalk 130101, Feishu 11232): waited for and retried,
  then left for the next run with a note — never dropped;
- :class:`Rejected` (a bad key or signature): this destination takes nothing this run;
- :class:`Permanent`: this message will not go; the others may;
- :class:`InDoubt` (no answer after the whole message was sent): not retried, the channel
  stops for this run, the message stays pending for the next run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..addresses import CONTROL
from ..i18n import Messages, translate
from ..reminders import CannotRemind, ReminderItem

SENT, DRY_RUN, ALREADY_SENT, FAILED = "sent", "dry-run", "already-sent", "failed"


class Transient(Exception):
    """Worth retrying: 4xx/5xx of a server, dropped connection, timeout."""


class Permanent(Exception):
    """This message will not be accepted; other messages may be."""


class Rejected(Permanent):
    """The destination refuses everything (invalid robot key, signature mismatch)."""


class RateLimited(Exception):
    """The destination says "too many messages": wait, then try again (``wait`` False: a
    quota that waiting within the run cannot restore, so hold it for the next run at once)."""

    def __init__(self, message: str, *, wait: bool = True) -> None:
        super().__init__(message)
        self.wait = wait


class InDoubt(Exception):
    """The message was handed over whole but no answer came: the server may have taken it.

    Sending it again in this run could deliver it twice (RFC 5321 §4.5.3.2, §6.1), so the
    loop neither retries it nor sends anything more on that channel this run; it stays
    pending, so the next run sends it (the one repeat the README allows).
    """


TEXT: Messages = {
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
    "channel.email": {"zh": "邮件", "en": "e-mail"},
    "channel.outbox": {"zh": "发件箱", "en": "outbox"},
    "channel.wecom": {"zh": "企业微信", "en": "WeCom"},
    "channel.dingtalk": {"zh": "钉钉", "en": "DingTalk"},
    "channel.feishu": {"zh": "飞书", "en": "Feishu"},
    "kind.reply": {"zh": "答复", "en": "reply"},
    "kind.followup": {"zh": "回访", "en": "follow-up"},
    "kind.capa": {"zh": "纠正预防措施", "en": "corrective action"},
    "fix.register": {"zh": "在台账中改正", "en": "fix in the register"},
    "fix.config": {"zh": "在 config.toml 中改正", "en": "fix in config.toml"},
}


def seconds(value: float) -> str:
    """A timeout for a message: ``10``, ``2.5``."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def kind_label(kind: str, language: str) -> str:
    key = f"kind.{kind}"
    return translate(TEXT, key, language) if key in TEXT else kind


def clean(value: object) -> str:
    """Register text on one line: line breaks and control characters become spaces."""
    return CONTROL.sub(" ", "" if value is None else str(value)).strip()


def message_id(channel: str, destination: str, today: dt.date,
               items: Sequence[ReminderItem | CannotRemind], part: str = "") -> str:
    """A stable identity: the same reminders to the same place on the same day give the same
    id, so a message repeated after a crash is recognisable as the repeat it is."""
    from ..state import item_key  # the ledger's notion of "the same reminder"

    h = hashlib.sha256(f"{channel}\x1f{destination.lower()}\x1f{today.isoformat()}\x1f{part}".encode())
    for key in sorted(item_key(i) for i in items):
        h.update("\x1e".join(map(str, key)).encode())
    return h.hexdigest()[:16]


@dataclass(slots=True)
class Outgoing:
    """One message a channel will post (one part of a long group digest is one message)."""

    channel: str  # the ledger's channel: email | outbox | wecom | dingtalk | feishu
    #: The ledger's destination: an address, or the env var naming a group robot's URL.
    destination: str
    to: list[str]
    cc: list[str]
    subject: str
    items: list[ReminderItem]
    cannot: list[CannotRemind] = field(default_factory=list)
    message_id: str = ""
    #: What the channel posts (its own shape: bytes for mail, JSON bodies for a robot).
    payload: Any = None
    #: The message as people will read it (shown by ``remind --dry-run``).
    preview: str = ""
    #: Set by the channel when the message cannot be composed (a bad address...).
    error: str = ""
    #: For a robot message made of several posts: how many were already accepted.
    posted: int = 0
    #: False when everything it would carry was already sent (reported as "already-sent").
    fresh: bool = True


@dataclass(slots=True)
class MessageResult:
    """What happened to one message."""

    to: list[str]
    cc: list[str]
    subject: str
    #: The items this message carried (for "already-sent": the digest's items).
    items: list[ReminderItem]
    status: str  # SENT | DRY_RUN | ALREADY_SENT | FAILED
    error: str = ""
    #: The cannot-remind rows it carried (the quality manager's digest, the default group).
    cannot_remind: list[CannotRemind] = field(default_factory=list)
    channel: str = "email"
    message_id: str = ""
    preview: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "to": list(self.to),
            "cc": list(self.cc),
            "subject": self.subject,
            "message_id": self.message_id,
            "items": [
                {"complaint_id": i.complaint_id, "kind": i.kind, "due": i.due.isoformat(),
                 "days_overdue": i.days_overdue, "level": i.level}
                for i in self.items
            ],
            "cannot_remind": [_cannot_dict(c) for c in self.cannot_remind],
            "status": self.status,
            "error": self.error,
            "preview": self.preview,
        }


def _cannot_dict(c: CannotRemind) -> dict[str, Any]:
    return {"complaint_id": c.complaint_id, "sheet": c.sheet, "row": c.row, "kind": c.kind,
            "reason": c.reason, "fix": c.fix}


@dataclass(slots=True)
class SendResult:
    """All messages of one run, channel by channel, in the plan's order."""

    messages: list[MessageResult]
    #: Rows the planner could not remind (also listed in the quality manager's digest).
    cannot_remind: list[CannotRemind] = field(default_factory=list)
    #: Planner warnings (e.g. a year the calendar does not know) and delivery notes.
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
            "cannot_remind": [_cannot_dict(c) for c in self.cannot_remind],
            "warnings": list(self.warnings),
            "counts": {"sent": self.sent, "dry_run": self.dry_run, "already_sent": self.already_sent,
                       "failed": self.failed},
        }

    def to_text(self, language: str = "zh", *, previews: bool = False) -> str:
        """One line per message (status, channel, to, subject, error), cannot-remind rows, then
        counts; ``previews`` adds each message as it would be posted (``remind --dry-run``)."""
        lines = []
        width = max((len(translate(TEXT, f"status.{s}", language))
                     for s in (SENT, DRY_RUN, ALREADY_SENT, FAILED)), default=0)
        several = len({m.channel for m in self.messages}) > 1
        # Register text reaches these lines (names, addresses, reasons): one line each, so a
        # line break in a cell cannot start a line of its own (a fake "Bcc:" in a log).
        for m in self.messages:
            status = translate(TEXT, f"status.{m.status}", language)
            to = ", ".join(map(clean, m.to)) + (f" (cc {', '.join(map(clean, m.cc))})" if m.cc else "")
            if several or m.channel not in ("email", "outbox"):
                to = f"[{translate(TEXT, f'channel.{m.channel}', language)}] {to}"
            line = f"{status:<{width}}  {to}  {clean(m.subject)}"
            if m.error:
                line += f"  -- {clean(m.error)}"
            lines.append(line)
            if previews and m.preview and m.status == DRY_RUN:
                lines.extend(f"    | {text}" for text in m.preview.splitlines())
        for c in self.cannot_remind:
            fix = translate(TEXT, f"fix.{c.fix}", language)
            reason = f"{clean(c.reason)}（{fix}）" if language == "zh" else f"{clean(c.reason)} ({fix})"
            lines.append(translate(TEXT, "cannot_line", language, where=clean(f"{c.sheet}!{c.row}"),
                                   cid=clean(c.complaint_id), kind=kind_label(c.kind, language),
                                   reason=reason))
        if not self.messages:
            lines.append(translate(TEXT, "none", language))
        lines.append(translate(TEXT, "summary", language, total=len(self.messages), sent=self.sent,
                               dry=self.dry_run, already=self.already_sent, failed=self.failed))
        return "\n".join(lines)
