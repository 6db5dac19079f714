"""The DingTalk (钉钉) custom-robot channel, with 加签 (signing).

``[dingtalk] webhook_env`` names the environment variable holding
``https://oapi.dingtalk.com/robot/send?access_token=TOKEN``, ``secret_env`` the one holding the
signing secret (SEC...). Each post is signed as DingTalk documents: ``timestamp`` (ms since
the epoch) and ``sign`` = urlencode(base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}"))),
both added to the URL. A group digest goes as markdown; people with a ``[people] mobile`` are
@-mentioned (``at.atMobiles`` and ``@138…`` in the text, which DingTalk needs to show it).

Replies: ``errcode`` 0 accepted; 130101 "send too fast" (20 messages a minute per robot, then
throttled for 10 minutes, during which an HTTP redirect may come instead of JSON: both are rate
limits, waited for and then held for the next run); 90030 "webhook over limit" (the call quota
is used up: held for the next run at once); 310000 signature, keyword or IP mismatch; 300001
bad token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
from typing import Any

from ..reminders import Person
from .group import Part, Style
from .robot import RobotChannel

#: DingTalk takes about 5,000 characters of markdown; this many bytes is within it whatever the text.
MARKDOWN_LIMIT = 5000


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """The ``sign`` URL parameter (already URL-encoded) for ``timestamp_ms``."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest).decode())


def _mention(person: Person) -> str:
    return f"@{person.mobile} {person.label}" if person.mobile else person.label


class DingtalkChannel(RobotChannel):
    name = "dingtalk"
    limit = MARKDOWN_LIMIT
    rate_codes = frozenset({130101})
    #: 90030 "webhook over limit": the robot's call quota (per day or month) is used up.
    quota_codes = frozenset({90030})
    rejected_codes = frozenset({310000, 300001, 400101})
    busy_codes = frozenset({-1})
    # While a robot is throttled (the 10 minutes after it went past 20 a minute), DingTalk is
    # reported to answer with a redirect instead of JSON: that is the limit, not a bad reply.
    redirect_is_throttle = True

    def style(self) -> Style:
        # DingTalk's markdown joins lines unless they end in two spaces or are paragraphs.
        return Style(limit=self.limit, keyword=self.robot.keyword, mention=_mention,
                     line_break="  \n", block_break="\n\n")

    def bodies(self, part: Part) -> list[dict[str, Any]]:
        mobiles = [p.mobile for p in part.people if p.mobile]
        title = part.title if not self.robot.keyword or self.robot.keyword in part.title \
            else f"{self.robot.keyword} {part.title}"
        return [{"msgtype": "markdown", "markdown": {"title": title[:64], "text": part.text},
                 "at": {"atMobiles": mobiles, "isAtAll": False}}]

    def sign(self, url: str, body: dict[str, Any], secret: str) -> tuple[str, dict[str, Any]]:
        if not secret:
            return url, body
        timestamp = int(self.clock() * 1000)
        sep = "&" if "?" in url else "?"
        return f"{url}{sep}timestamp={timestamp}&sign={dingtalk_sign(secret, timestamp)}", body
