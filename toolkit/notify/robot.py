"""What the three group-robot channels share: the webhook URL from the environment, HTTP
posting over kept-alive connections, pacing under the robots' per-minute limits, and sorting
replies into the delivery loop's failure kinds.

A subclass (wecom.py, dingtalk.py, feishu.py) says how a message looks (:attr:`style`, its
JSON bodies), how it is signed and what the API's reply codes mean. Secrets — the webhook URL
(its key or token) and the signing secret — are read from environment variables when a message
is posted and never leave this module: errors name the *variable*, and any reply text that
happened to quote a secret has it blanked out.
"""

from __future__ import annotations

import collections
import datetime as dt
import http.client
import json
import logging
import os
import socket
import time
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

from ..config import Config, RobotConfig
from ..errors import MailError
from ..i18n import Messages, translate
from ..reminders import ReminderPlan
from ..state import Ledger
from .group import GroupDigest, Part, Style, counts_line, group_digests, neutral, render_parts
from .message import TEXT as SHARED
from .message import InDoubt, Outgoing, Permanent, RateLimited, Rejected, Transient, seconds

log = logging.getLogger(__name__)

TEXT: Messages = {
    "err.no_url": {
        "zh": "环境变量 {var} 为空：请把{channel}群机器人的 Webhook 地址放入该变量（例如 export {var}=...），"
              "地址中含密钥，不要写进配置文件。",
        "en": "the environment variable {var} is empty: set it to the {channel} group robot's webhook "
              "URL (e.g. export {var}=...); the URL holds a key, so never put it in the config file."},
    "err.bad_url": {
        "zh": "环境变量 {var} 中的内容不是 https:// 开头的 Webhook 地址（内容不在此显示）：请放入{channel}"
              "机器人设置页上复制的完整地址。",
        "en": "the environment variable {var} does not hold an https:// webhook URL (its value is not "
              "shown); set it to the full address copied from the {channel} robot's settings."},
    "err.no_secret": {
        "zh": "环境变量 {var} 为空：该{channel}机器人需要签名密钥（机器人安全设置中的 SEC... 或签名校验密钥）。",
        "en": "the environment variable {var} is empty: this {channel} robot needs its signing secret "
              "(from the robot's security settings)."},
    "err.rejected": {
        "zh": "{channel}拒绝了消息（{code} {why}）：请检查环境变量 {var} 中的地址{secret}是否正确{keyword}",
        "en": "{channel} refused the message ({code} {why}): check the URL in the environment variable "
              "{var}{secret}{keyword}"},
    "secret": {"zh": "和环境变量 {var} 中的签名密钥", "en": " and the signing secret in {var}"},
    "keyword": {"zh": "，以及机器人要求的关键词（[{channel}] keyword）",
                "en": ", and the keyword the robot requires ([{channel}] keyword)"},
    "err.limited": {"zh": "{channel}限流（{code} {why}）", "en": "{channel} rate limit ({code} {why})"},
    "err.refused": {"zh": "{channel}未接受消息（{code} {why}）", "en": "{channel} did not accept the message ({code} {why})"},
    "err.http": {"zh": "{channel}服务器答复 HTTP {status}", "en": "the {channel} server answered HTTP {status}"},
    "err.reply": {"zh": "{channel}服务器的答复无法识别（HTTP {status}）",
                  "en": "the {channel} server's reply is not understood (HTTP {status})"},
    "err.no_answer": {
        "zh": "{channel}服务器在 {n} 秒内没有答复（若经常如此，可调大 [notify] timeout）",
        "en": "the {channel} server did not answer within {n} s (if this is usual, raise [notify] timeout)"},
    "err.cut_off": {
        "zh": "{channel}服务器收到消息后、答复之前断开了连接（{why}）",
        "en": "the {channel} server closed the connection after the message was sent, before answering "
              "({why})"},
    "err.unreachable": {
        "zh": "无法连接{channel}服务器（{why}）：请检查网络、代理，以及环境变量 {var} 中的地址",
        "en": "cannot reach the {channel} server ({why}); check the network, a proxy, and the URL in "
              "the environment variable {var}"},
}

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class RobotChannel:
    """A group-robot channel; subclasses fill in the API's specifics."""

    name = ""
    #: Bytes of message text one post may carry (the API's limit, with a margin).
    limit = 4000
    #: Reply codes: rate limited, and "this destination refuses everything".
    rate_codes: frozenset[int] = frozenset()
    rejected_codes: frozenset[int] = frozenset()
    #: Codes that mean "busy, try again".
    busy_codes: frozenset[int] = frozenset({-1})
    #: Codes of a quota that waiting within the run cannot restore: held for the next run at once.
    quota_codes: frozenset[int] = frozenset()
    #: An HTTP redirect means "throttled" (DingTalk, while it throttles a robot), not a bad reply.
    redirect_is_throttle = False
    #: The pacing window: ``per_minute`` posts in any window this long, as the server counts.
    window = 60.0

    def __init__(self, config: Config, now: dt.datetime, *, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.now = now
        self.language = config.language
        self.robot: RobotConfig = getattr(config, self.name)
        notify = config.notify
        self.retries = notify.retries
        self.retry_delay = notify.retry_delay
        self.rate_limit_wait = notify.rate_limit_wait
        self.timeout = notify.timeout
        self.clock = clock
        self.sleep = sleep
        self.monotonic = monotonic
        self._connections: dict[tuple[str, str, int], http.client.HTTPConnection] = {}
        self._post_times: dict[str, collections.deque[float]] = {}
        self._secrets: set[str] = set()
        self._connected = True

    # -- what a subclass provides ---------------------------------------------------------

    def style(self) -> Style:
        raise NotImplementedError

    def bodies(self, part: Part) -> list[dict[str, Any]]:
        """The JSON bodies that post ``part`` (usually one)."""
        raise NotImplementedError

    def sign(self, url: str, body: dict[str, Any], secret: str) -> tuple[str, dict[str, Any]]:
        """The URL and body to post, signed with ``secret`` when the API signs."""
        return url, body

    def reply_code(self, reply: dict[str, Any]) -> tuple[int, str]:
        code = reply.get("errcode", reply.get("code", reply.get("StatusCode")))
        why = reply.get("errmsg", reply.get("msg", reply.get("StatusMessage", "")))
        return (int(code) if isinstance(code, (int, str)) and str(code).lstrip("-").isdigit() else -99999,
                str(why))

    # -- the channel ----------------------------------------------------------------------

    def _t(self, key: str, **kw: Any) -> str:
        return translate(TEXT, key, self.language, channel=translate(SHARED, f"channel.{self.name}",
                                                                      self.language), **kw)

    def outgoing(self, plan: ReminderPlan, ledger: Ledger, repeat_every_days: int) -> Iterator[Outgoing]:
        style = self.style()
        for group in group_digests(plan, self.config, self.name):
            label = [f"{neutral(group.label) or translate(SHARED, f'channel.{self.name}', self.language)}"
                     f" ({group.destination})"]
            if not group.destination:
                continue
            items = ledger.unsent(self.name, group.destination, group.items, plan.today, repeat_every_days)
            cannot = ledger.unsent_cannot_remind(self.name, group.destination, group.cannot, plan.today,
                                                 repeat_every_days)
            if not items and not cannot:
                yield Outgoing(self.name, group.destination, label, [],
                               counts_line(group.items, group.cannot, self.language),
                               list(group.items), list(group.cannot), fresh=False)
                continue
            parts = render_parts(group, items, cannot, style, channel=self.name, today=plan.today,
                                 language=self.language)
            for index, part in enumerate(parts, 1):
                subject = counts_line(part.items, part.cannot, self.language)
                if len(parts) > 1:
                    subject += f" [{index}/{len(parts)}]"
                out = Outgoing(self.name, group.destination, label, [], subject, part.items, part.cannot,
                               message_id=part.message_id, payload=(group, self.bodies(part)),
                               preview=part.text)
                yield out

    @property
    def connected(self) -> bool:
        return self._connected

    def open(self) -> None:
        """Nothing to open: each destination's URL is read when its first message goes."""

    def reconnect(self) -> None:
        """After a connection failure: try the server again, so a dead one stops the run's
        other messages quickly (the loop retries this with backoff)."""
        for conn in self._connections.values():
            conn.close()
        self._connections.clear()
        self._connected = True

    def close(self) -> None:
        for conn in self._connections.values():
            conn.close()
        self._connections.clear()

    # -- posting --------------------------------------------------------------------------

    def _url(self, group: GroupDigest) -> str:
        var = group.destination
        url = os.environ.get(var, "").strip()
        if not url:
            raise Rejected(self._t("err.no_url", var=var))
        parsed = urllib.parse.urlsplit(url)
        if not (parsed.scheme == "https" or (parsed.scheme == "http" and parsed.hostname in _LOOPBACK)) \
                or not parsed.hostname:
            raise Rejected(self._t("err.bad_url", var=var))
        self._secrets.add(url)
        self._secrets.update(v for v in urllib.parse.parse_qs(parsed.query).get("key", []) +
                             urllib.parse.parse_qs(parsed.query).get("access_token", []) if v)
        if parsed.path.rstrip("/").rsplit("/", 1)[-1]:
            self._secrets.add(parsed.path.rstrip("/").rsplit("/", 1)[-1])
        return url

    def _secret(self, group: GroupDigest) -> str:
        if not group.secret_env:
            return ""
        secret = os.environ.get(group.secret_env, "").strip()
        if secret:
            self._secrets.add(secret)
        return secret

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            if len(secret) >= 6:
                text = text.replace(secret, "***")
        return text

    def _pace(self, destination: str) -> None:
        """Stay under ``per_minute`` posts a minute to one robot, as the APIs ask.

        Each post's time is taken when its answer came back (:meth:`_count_post`), which is after
        the server counted it: so no window the server measures can hold more than
        ``per_minute`` of them. Timed from before the post, the server's window starts later
        than ours, and post ``per_minute + 1`` lands inside it at the minute boundary."""
        per_minute = self.robot.per_minute
        if per_minute <= 0:
            return
        times = self._post_times.setdefault(destination, collections.deque())
        now = self.monotonic()
        while times and now - times[0] >= self.window:
            times.popleft()
        if len(times) >= per_minute:
            self.sleep(self.window - (now - times[0]))
            times.popleft()

    def _count_post(self, destination: str) -> None:
        if self.robot.per_minute > 0:
            self._post_times.setdefault(destination, collections.deque()).append(self.monotonic())

    def post(self, out: Outgoing) -> dict[str, str]:
        group, bodies = out.payload
        url = self._url(group)
        secret = self._secret(group)
        if group.secret_env and not secret:
            raise Rejected(self._t("err.no_secret", var=group.secret_env))
        # A message of several posts (WeCom's text mention after the markdown) resumes where a
        # retry left it, so an accepted post is not repeated.
        while out.posted < len(bodies):
            self._pace(group.destination)
            signed_url, body = self.sign(url, bodies[out.posted], secret)
            try:
                reply = self._send(signed_url, body, group)
            finally:
                # Any attempt may have counted against the limit, answered or not.
                self._count_post(group.destination)
            self._check(reply, group)
            out.posted += 1
        return {}

    def _check(self, reply: dict[str, Any], group: GroupDigest) -> None:
        code, why = self.reply_code(reply)
        why = self._redact(why)[:200]
        if code == 0:
            return
        if code in self.rate_codes:
            raise RateLimited(self._t("err.limited", code=code, why=why))
        if code in self.quota_codes:
            raise RateLimited(self._t("err.limited", code=code, why=why), wait=False)
        if code in self.rejected_codes:
            secret = translate(TEXT, "secret", self.language, var=group.secret_env) if group.secret_env else ""
            keyword = translate(TEXT, "keyword", self.language, channel=self.name) if self.name != "wecom" else ""
            raise Rejected(self._t("err.rejected", code=code, why=why, var=group.destination,
                                   secret=secret, keyword=keyword))
        if code in self.busy_codes:
            raise Transient(self._t("err.refused", code=code, why=why))
        raise Permanent(self._t("err.refused", code=code, why=why))

    def _send(self, url: str, body: dict[str, Any], group: GroupDigest) -> dict[str, Any]:
        parsed = urllib.parse.urlsplit(url)
        key = (parsed.scheme, parsed.hostname or "", parsed.port or (443 if parsed.scheme == "https" else 80))
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        target = parsed.path + (f"?{parsed.query}" if parsed.query else "")
        conn = self._connections.get(key)
        if conn is None:
            cls = http.client.HTTPSConnection if key[0] == "https" else http.client.HTTPConnection
            conn = self._connections[key] = cls(key[1], key[2], timeout=self.timeout)
        reused = conn.sock is not None
        try:
            # Connecting and sending: a failure here leaves the server without the whole
            # request (its Content-Length is not met), so trying again is safe.
            conn.request("POST", target, body=data,
                         headers={"Content-Type": "application/json; charset=utf-8"})
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            self._connections.pop(key, None)
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            if isinstance(exc, (ConnectionRefusedError, socket.gaierror)):
                # The server is not there at all: reconnecting is what the loop should try.
                self._connected = False
                raise _Unreachable(self._t("err.unreachable", why=reason, var=group.destination)) from None
            raise Transient(self._t("err.unreachable", why=reason, var=group.destination)) from None
        try:
            response = conn.getresponse()
            status, raw = response.status, response.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            self._connections.pop(key, None)
            if reused and isinstance(exc, (http.client.RemoteDisconnected, ConnectionResetError,
                                           BrokenPipeError)):
                # A kept-alive connection the server had already closed while idle: the request
                # never reached it (what every HTTP client retries).
                raise Transient(self._t("err.unreachable", why=type(exc).__name__,
                                        var=group.destination)) from None
            # The whole request went: the server may have posted it. Not to be retried.
            if isinstance(exc, TimeoutError):
                raise InDoubt(self._t("err.no_answer", n=seconds(self.timeout))) from None
            raise InDoubt(self._t("err.cut_off", why=getattr(exc, "strerror", None) or type(exc).__name__)) \
                from None
        if 300 <= status < 400 and self.redirect_is_throttle:
            raise RateLimited(self._t("err.http", status=status))
        if status == 429:
            raise RateLimited(self._t("err.http", status=status))
        if status >= 500:
            raise Transient(self._t("err.http", status=status))
        try:
            reply = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            reply = None
        if not isinstance(reply, dict):
            if status >= 400:
                raise Permanent(self._t("err.http", status=status))
            raise Permanent(self._t("err.reply", status=status))
        return reply


class _Unreachable(MailError):
    """The robot's server refuses connections: the loop retries, then gives up for this run."""

