"""Delivery: every channel a reminder can go through, behind one loop.

    from toolkit.notify import send_reminders
    result = send_reminders(plan, config, now=now)        # [notify] channels, ledger, retries

- :mod:`.deliver` — the loop: ledger, retries and backoff, rate limits, exit codes, crash-safety;
- :mod:`.email` (with :mod:`.outbox`) — one digest mail per person;
- :mod:`.wecom`, :mod:`.dingtalk`, :mod:`.feishu` — one group message per department group,
  built by :mod:`.group` and posted by :mod:`.robot`.

A new channel is one module here with the :class:`~.deliver.Channel` methods, and one entry
in :func:`~.deliver.make_channels`.
"""

from __future__ import annotations

from .deliver import Channel, deliver_one, make_channels, send_reminders
from .message import ALREADY_SENT, DRY_RUN, FAILED, SENT, MessageResult, Outgoing, SendResult

__all__ = ["ALREADY_SENT", "DRY_RUN", "FAILED", "SENT", "Channel", "MessageResult", "Outgoing",
           "SendResult", "deliver_one", "make_channels", "send_reminders"]
