"""The one delivery loop, for every channel: ask the ledger what is new, let the channel
compose and post it, retry what is worth retrying, record what was accepted — at once, one
transaction per message — and say what happened.

>>> plan = plan_reminders(register.records, config, today)           # doctest: +SKIP
>>> result = send_reminders(plan, config, now=now)
>>> result.sent, result.failed
(12, 0)

The promise, and its one limit: a message is recorded right after its channel accepted it, so
a crash or a dead server loses nothing and a rerun sends only what is missing. A crash in the
instant between "accepted" and "recorded" repeats that one message at the next run; it carries
the same identity (e-mail Message-ID, robot message number), so the repeat is recognisable.
A message sent whole but never answered (:class:`InDoubt`) is the same case seen from the
other side: it is not retried in the run, its channel stops for the run, and it stays pending,
so it too is repeated at most once.

Channels (``[notify] channels``) come from :func:`make_channels`: ``email`` (through the
outbox or SMTP, ``[mail] transport``), ``wecom``, ``dingtalk``, ``feishu``. What went to the
outbox does not count as sent by SMTP or a robot: each channel has its own rows in the ledger.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable
from typing import Protocol

from ..config import Config
from ..errors import MailError, ToolkitError
from ..i18n import Messages, translate
from ..model import paused_gc
from ..reminders import ReminderPlan
from ..state import Ledger
from .message import (
    ALREADY_SENT,
    DRY_RUN,
    FAILED,
    SENT,
    InDoubt,
    MessageResult,
    Outgoing,
    Permanent,
    RateLimited,
    Rejected,
    SendResult,
    Transient,
)
from .message import TEXT as SHARED

log = logging.getLogger(__name__)

TEXT: Messages = {
    "gave_up": {"zh": "重试 {n} 次后仍失败：{why}；下次运行会补发",
                "en": "still failing after {n} retries: {why}; the next run sends it"},
    "rate_limited": {
        "zh": "{why}：已等待 {n} 次仍被限流，留待下次运行发送（不会丢失）",
        "en": "{why}: still rate limited after waiting {n} time(s); left for the next run (not dropped)"},
    "quota": {"zh": "{why}：调用额度已用完，留待下次运行发送（不会丢失）",
              "en": "{why}: the robot's call quota is used up; left for the next run (not dropped)"},
    "held": {"zh": "本次未发送（{why}）；下次运行会补发",
             "en": "not sent this run ({why}); the next run sends it"},
    "down": {"zh": "未发送：{why}；下次运行会补发", "en": "not sent: {why}; the next run sends it"},
    "gone": {"zh": "未发送：服务器在运行中断开且无法重连（{why}）；下次运行会补发",
             "en": "not sent: the server went away during the run and could not be reached again "
                   "({why}); the next run sends it"},
    "in_doubt": {
        "zh": "可能已送达：{why}。为免重复，本次不再重发，也不再经{channel}发送其余消息；下次运行会再发一次"
              "（可能因此收到两份）",
        "en": "may have been delivered: {why}. Not sent again this run, so as not to send it twice, and "
              "nothing more goes by {channel} this run; the next run sends it again (it may arrive twice)"},
    "after_doubt": {
        "zh": "本次未发送：{channel}上一条消息是否送达不明，本次已停止此渠道；下次运行会补发",
        "en": "not sent: {channel} stopped for this run after a message whose delivery is in doubt; "
              "the next run sends it"},
    "warn.refused_cc": {"zh": "部分收件人被拒收：{who}", "en": "some recipients were refused: {who}"},
}


class Channel(Protocol):
    """What the loop needs of a channel (toolkit/notify/email.py, wecom.py, ...)."""

    #: The ledger's channel name.
    name: str
    retries: int
    retry_delay: float
    rate_limit_wait: float

    def outgoing(self, plan: ReminderPlan, ledger: Ledger, repeat_every_days: int) -> Iterable[Outgoing]:
        """The channel's messages for ``plan``, each holding only what the ledger has not seen."""
        ...

    @property
    def connected(self) -> bool: ...

    def open(self) -> None:
        """Connect; a :class:`ToolkitError` when the channel cannot run at all."""
        ...

    def reconnect(self) -> None: ...

    def post(self, out: Outgoing) -> dict[str, str]:
        """Deliver ``out``; refused co-recipients (address -> reason) when the rest took it."""
        ...

    def close(self) -> None: ...


def make_channels(config: Config, now: dt.datetime) -> list[Channel]:
    """The channels ``[notify] channels`` names, in that order (not yet connected)."""
    from . import dingtalk, email, feishu, wecom

    makers: dict[str, Callable[[Config, dt.datetime], Channel]] = {
        "email": email.EmailChannel, "wecom": wecom.WecomChannel,
        "dingtalk": dingtalk.DingtalkChannel, "feishu": feishu.FeishuChannel}
    seen: list[str] = []
    for name in config.notify.channels:
        if name not in seen:
            seen.append(name)
    return [makers[name](config, now) for name in seen]


def send_reminders(plan: ReminderPlan, config: Config, *, now: dt.datetime, dry_run: bool = False,
                   ledger: Ledger | None = None, channels: list[Channel] | None = None,
                   sleep: Callable[[float], None] = time.sleep) -> SendResult:
    """Send what is new in ``plan`` through every configured channel; record what was accepted.

    ``dry_run`` composes and reports (with each message as it would be posted) but sends,
    writes and records nothing. The ledger is ``config.state_path`` unless one is passed.

    Raises a :class:`ToolkitError` (:class:`MailError`: exit 2 at the command line) when no
    channel with something to send could start; a channel that cannot start while another can
    fails its own messages, and a failure later in the run fails the messages it touches.
    """
    language = config.language
    if channels is None:
        channels = make_channels(config, now)
    own_ledger = ledger is None
    if ledger is None:
        legacy = "outbox" if config.mail.transport == "outbox" else "email"
        ledger = Ledger(config.state_path, readonly=dry_run, legacy_channel=legacy)
    repeat = config.reminders.repeat_every_days
    results: list[MessageResult] = []
    notes: list[str] = []
    start_errors: list[ToolkitError] = []
    started_any = False
    try:
        for channel in channels:
            opened = False
            down = ""  # the channel went away for the rest of this run
            held: dict[str, str] = {}  # destination -> why it takes nothing more this run
            try:
                # Asking the ledger about every digest makes many small acyclic objects (its
                # sent set, the keys): no cyclic collection over the run's records meanwhile.
                with paused_gc():
                    outgoing = list(channel.outgoing(plan, ledger, repeat))
            except ToolkitError as exc:  # e.g. a bad sender address: nothing of this channel goes
                start_errors.append(exc)
                notes.append(exc.text(language))
                continue
            for out in outgoing:
                result = MessageResult(out.to, out.cc, out.subject, out.items, FAILED, out.error,
                                       out.cannot, channel.name, out.message_id,
                                       out.preview if dry_run else "")
                results.append(result)
                if not out.fresh:
                    result.status = ALREADY_SENT
                    continue
                if out.error:
                    log.warning("%s: %s", channel.name, out.error)
                    continue
                if dry_run:
                    result.status = DRY_RUN
                    continue
                if down:
                    result.error = down
                    continue
                if out.destination.lower() in held:
                    result.error = translate(TEXT, "held", language, why=held[out.destination.lower()])
                    continue
                if not opened:
                    try:
                        channel.open()
                    except ToolkitError as exc:
                        start_errors.append(exc)
                        down = result.error = translate(TEXT, "down", language, why=exc.text(language))
                        # Not an error line of its own: the run's summary says it (and the job logs it).
                        log.info("%s cannot start: %s", channel.name, exc)
                        continue
                    opened = started_any = True
                try:
                    refused = _post(channel, out, language, sleep)
                except Rejected as exc:
                    result.error = str(exc)
                    held[out.destination.lower()] = str(exc)
                    log.error("%s: %s", channel.name, exc)
                    continue
                except RateLimited as exc:
                    result.error = translate(TEXT, "rate_limited" if exc.wait else "quota", language,
                                             why=exc, n=channel.retries)
                    held[out.destination.lower()] = str(exc)
                    log.warning("%s: %s", channel.name, result.error)
                    continue
                except Permanent as exc:
                    result.error = str(exc)
                    log.warning("not delivered (%s, %s): %s", channel.name, ", ".join(out.to), exc)
                    continue
                except InDoubt as exc:
                    # Not recorded (it may not have arrived) and not resent (it may have): the
                    # next run sends it once more. Nothing else goes this way meanwhile, since
                    # a server that cannot answer in time would leave every message in doubt.
                    shown = translate(SHARED, f"channel.{channel.name}", language)
                    result.error = translate(TEXT, "in_doubt", language, why=exc, channel=shown)
                    down = translate(TEXT, "after_doubt", language, channel=shown)
                    log.warning("%s: %s", channel.name, result.error)
                    continue
                except ToolkitError as exc:  # could not reconnect: gone for the rest of this run
                    down = result.error = translate(TEXT, "gone", language, why=exc.text(language))
                    log.warning("%s", result.error)
                    continue
                if out.destination.strip().lower() in {a.lower() for a in refused}:
                    result.error = "; ".join(f"{a}: {r}" for a, r in refused.items())
                    continue
                # Accepted: record every item of this message in one transaction, right now.
                ledger.record(channel.name, out.destination, [*out.items, *out.cannot], plan.today,
                              now, out.message_id)
                result.status = SENT
                if refused:
                    result.error = translate(TEXT, "warn.refused_cc", language,
                                             who="; ".join(f"{a}: {r}" for a, r in refused.items()))
            if opened:
                channel.close()
    finally:
        for channel in channels:
            try:
                channel.close()
            except Exception:  # closing is best effort; the results are what matter
                log.debug("closing %s failed", channel.name, exc_info=True)
        if own_ledger:
            ledger.close()
    if start_errors and not started_any:
        # No channel that had something to send could start: the run cannot send (exit 2).
        raise start_errors[0]
    return SendResult(results, list(plan.cannot_remind), [*plan.warnings, *notes])


def _post(channel: Channel, out: Outgoing, language: str, sleep: Callable[[float], None]) -> dict[str, str]:
    """Post with retries: backoff for transient failures (a dropped session is reopened first),
    a wait for rate limits. Raises :class:`Permanent`, :class:`Rejected`, :class:`RateLimited`
    (still limited after the waits), :class:`InDoubt` (never retried: it may have arrived) or
    a :class:`ToolkitError` (cannot reconnect)."""
    attempt = waits = 0
    while True:
        try:
            if not channel.connected:
                channel.reconnect()
            return channel.post(out)
        except RateLimited as exc:
            if waits >= channel.retries or not exc.wait:
                raise
            waits += 1
            log.info("%s rate limited; waiting %.0f s", channel.name, channel.rate_limit_wait)
            sleep(channel.rate_limit_wait)
            continue
        except Transient as exc:
            if attempt >= channel.retries:
                raise Permanent(translate(TEXT, "gave_up", language, n=channel.retries, why=exc)) from exc
            log.info("transient failure on %s (%s); retrying", channel.name, exc)
        except (MailError, ToolkitError):
            if attempt >= channel.retries:
                raise
            log.info("%s unreachable; retrying", channel.name)
        sleep(channel.retry_delay * (2 ** attempt))
        attempt += 1


def deliver_one(channel: Channel, out: Outgoing, language: str,
                sleep: Callable[[float], None] = time.sleep) -> None:
    """Deliver one message outside a plan (the weekly report) with the same retries.

    Raises :class:`MailError` saying why when it did not go (exit 3 for the job: undelivered);
    a message in doubt is not retried either.
    """
    try:
        # Not connected yet: _post opens the channel, retrying a server that is briefly away.
        refused = _post(channel, out, language, sleep)
    except InDoubt as exc:
        shown = translate(SHARED, f"channel.{channel.name}", language) \
            if f"channel.{channel.name}" in SHARED else channel.name
        raise MailError(translate(TEXT, "in_doubt", language, why=exc, channel=shown)) from exc
    except (Permanent, RateLimited) as exc:
        raise MailError(str(exc)) from exc
    except ToolkitError as exc:
        raise MailError(str(exc)) from exc
    finally:
        channel.close()
    if refused:
        raise MailError("; ".join(f"{a}: {why}" for a, why in refused.items()))


__all__ = [
    "ALREADY_SENT",
    "DRY_RUN",
    "FAILED",
    "SENT",
    "Channel",
    "deliver_one",
    "make_channels",
    "send_reminders",
]
