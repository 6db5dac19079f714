"""Render the group messages of the example register (2026-11-23) as chat bubbles and
screenshot them with headless Chromium, for the README:

    python docs/render_group_messages.py          # writes docs/images/group-*.png

The text is exactly what ``remind --dry-run`` shows for each channel; only the markdown subset
the robots use (bold, bullets, line breaks, mentions) is turned into HTML here.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from toolkit.config import load_config  # noqa: E402
from toolkit.notify import send_reminders  # noqa: E402
from toolkit.register import read_register  # noqa: E402
from toolkit.reminders import plan_reminders  # noqa: E402

APPS = {"wecom": ("企业微信", "#2b7cf6"), "dingtalk": ("钉钉", "#1677ff"), "feishu": ("飞书", "#3370ff")}


def to_html(text: str) -> str:
    out = []
    for line in text.splitlines():
        line = line.rstrip()
        if not line:
            continue
        esc = html.escape(line)
        esc = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", esc)
        esc = re.sub(r"&lt;at id=(ou_\w+)&gt;&lt;/at&gt;", r'<span class="at">@\1</span>', esc)
        esc = re.sub(r"@(1\d{10})", r'<span class="at">@\1</span>', esc)
        if esc.startswith("- "):
            esc = f'<div class="item">• {esc[2:]}</div>'
        else:
            esc = f"<div>{esc}</div>"
        out.append(esc)
    return "\n".join(out)


def main() -> None:
    config = load_config(ROOT / "config.toml")
    config.register.path = str(ROOT / "examples" / "complaint-register.xlsx")
    config.people = {}
    from toolkit.config import PersonConfig

    config.people["王芳"] = PersonConfig(email="wangfang@example.com", mobile="13800001111",
                                       feishu_user_id="ou_7d8a6e6df7621556ce0d21922b676706")
    config.notify.channels = list(APPS)
    today = dt.date(2026, 11, 23)
    plan = plan_reminders(read_register(config).records, config, today)
    result = send_reminders(plan, config, now=dt.datetime(2026, 11, 23, 9, 0).astimezone(), dry_run=True)
    out_dir = ROOT / "docs" / "images"
    for channel, (app, colour) in APPS.items():
        message = next(m for m in result.messages if m.channel == channel)
        page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body {{ margin:0; background:#f0f2f5; font-family:"Noto Sans CJK SC",sans-serif; font-size:14px; }}
.bar {{ background:{colour}; color:#fff; padding:10px 16px; font-size:15px; }}
.row {{ display:flex; padding:16px; gap:10px; }}
.avatar {{ width:36px; height:36px; border-radius:6px; background:{colour}; color:#fff;
          display:flex; align-items:center; justify-content:center; flex:none; }}
.name {{ color:#888; font-size:12px; margin-bottom:4px; }}
.bubble {{ background:#fff; border-radius:8px; padding:12px 14px; line-height:1.6; max-width:820px; }}
.item {{ margin-top:6px; }}
.at {{ color:{colour}; }}
</style></head><body><div class="bar">{app} · 投诉跟进群</div>
<div class="row"><div class="avatar">机</div><div><div class="name">投诉提醒机器人</div>
<div class="bubble">{to_html(message.preview)}</div></div></div></body></html>"""
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "page.html"
            path.write_text(page, encoding="utf-8")
            target = out_dir / f"group-{channel}.png"
            subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                            f"--screenshot={target}", "--window-size=900,1080", path.as_uri()],
                           check=True, capture_output=True, timeout=120)
            print(target)


if __name__ == "__main__":
    main()
