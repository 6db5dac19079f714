"""The WeCom (企业微信) group-robot channel.

``[wecom] webhook_env`` names the environment variable holding the robot's URL,
``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY`` (the key is the secret). A group
digest goes as markdown (at most 4,096 bytes a message; longer digests in numbered parts).
WeCom's markdown cannot @-mention by mobile number, so when people with a ``[people] mobile``
must act, each part is followed by a short text message whose ``mentioned_mobile_list`` @s
them; the part counts as sent once both were accepted (a retry resumes after the accepted one).

Replies: ``errcode`` 0 accepted; 45009 rate limited (about 20 messages a minute per robot);
93000 invalid webhook URL (the key); -1 busy.
"""

from __future__ import annotations

from typing import Any

from ..i18n import translate
from .group import TEXT as GROUP
from .group import Part, Style
from .robot import RobotChannel

#: WeCom's limits: markdown content 4,096 bytes, text content 2,048 bytes.
MARKDOWN_LIMIT, TEXT_LIMIT = 4096, 2048


class WecomChannel(RobotChannel):
    name = "wecom"
    limit = MARKDOWN_LIMIT
    rate_codes = frozenset({45009})
    rejected_codes = frozenset({93000, 40008})
    busy_codes = frozenset({-1})

    def style(self) -> Style:
        return Style(limit=self.limit, keyword=self.robot.keyword, line_break="\n", block_break="\n")

    def bodies(self, part: Part) -> list[dict[str, Any]]:
        bodies: list[dict[str, Any]] = [{"msgtype": "markdown", "markdown": {"content": part.text}}]
        mobiles = [p.mobile for p in part.people if p.mobile]
        if mobiles:
            text = translate(GROUP, "mention", self.language)
            if self.robot.keyword and self.robot.keyword not in text:
                text = f"{self.robot.keyword} {text}"
            bodies.append({"msgtype": "text", "text": {"content": text,
                                                       "mentioned_mobile_list": mobiles}})
        return bodies
