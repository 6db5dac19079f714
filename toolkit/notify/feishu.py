"""The Feishu (飞书) custom-bot channel, with 签名校验 (signing).

``[feishu] webhook_env`` names the environment variable holding
``https://open.feishu.cn/open-apis/bot/v2/hook/HOOK_ID``, ``secret_env`` the one holding the
signing secret. Each post is signed as Feishu documents: ``timestamp`` in *seconds* and
``sign`` = base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b"")), both in the JSON body.
A group digest goes as a message card (``interactive``) with markdown; Feishu's custom bots
cannot @-mention by mobile, so a person is @-mentioned when ``[people] feishu_user_id``
(their open_id, ou_...) is set and named in text otherwise.

Replies: ``code`` 0 accepted; 11232 rate limited (100 a minute, 5 a second per bot); 19021
signature mismatch or timestamp over an hour off; 19022 IP not allowed; 19024 keyword
missing; 9499 bad request. A request body may not pass 20 KB.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from ..reminders import Person
from .group import Part, Style
from .robot import RobotChannel

#: Bytes of card markdown one message carries: the 20 KB body less the card around it.
MARKDOWN_LIMIT = 18_000


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """The ``sign`` body field for ``timestamp_s``."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def _mention(person: Person) -> str:
    if person.feishu_user_id and person.feishu_user_id.replace("_", "").isalnum():
        return f"<at id={person.feishu_user_id}></at>"
    return person.label


class FeishuChannel(RobotChannel):
    name = "feishu"
    limit = MARKDOWN_LIMIT
    rate_codes = frozenset({11232})
    rejected_codes = frozenset({19021, 19022, 19024, 19001})
    busy_codes = frozenset({-1})

    def style(self) -> Style:
        return Style(limit=self.limit, keyword=self.robot.keyword, mention=_mention,
                     line_break="\n", block_break="\n")

    def bodies(self, part: Part) -> list[dict[str, Any]]:
        title = part.title if not self.robot.keyword or self.robot.keyword in part.title \
            else f"{self.robot.keyword} {part.title}"
        return [{"msg_type": "interactive", "card": {
            "config": {"wide_screen_mode": True},
            "header": {"title": {"tag": "plain_text", "content": title}, "template": "orange"},
            "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": part.text}}]}}]

    def sign(self, url: str, body: dict[str, Any], secret: str) -> tuple[str, dict[str, Any]]:
        if not secret:
            return url, body
        timestamp = int(self.clock())
        return url, {"timestamp": str(timestamp), "sign": feishu_sign(secret, timestamp), **body}
