"""Compatibility: the e-mail code now lives in :mod:`toolkit.notify` (one delivery stage for
every channel). Import from there; these names stay for code written against ``toolkit.mail``."""

from __future__ import annotations

from .notify.deliver import send_reminders
from .notify.email import (
    EmailChannel,
    SmtpTransport,
    compose,
    make_transport,
    render_bodies,
    sender_address,
    subject_for,
)
from .notify.message import ALREADY_SENT, DRY_RUN, FAILED, SENT, MessageResult, SendResult
from .notify.outbox import OutboxTransport

__all__ = ["ALREADY_SENT", "DRY_RUN", "FAILED", "SENT", "EmailChannel", "MessageResult",
           "OutboxTransport", "SendResult", "SmtpTransport", "compose", "make_transport",
           "render_bodies", "send_reminders", "sender_address", "subject_for"]
