"""Plan reminders: which items are due or overdue on ``today``, at what escalation level, and
one digest per recipient. Pure functions: ``today`` is passed in, nothing is sent or stored.

(Contract dataclasses first; the planning functions follow.)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

REPLY, FOLLOWUP, CAPA = "reply", "followup", "capa"
KINDS = (REPLY, FOLLOWUP, CAPA)


@dataclass(frozen=True, slots=True)
class DueDates:
    """A complaint's due dates, explicit from the register or computed from its class."""

    reply: dt.date | None
    followup: dt.date | None
    capa: dt.date | None


@dataclass(frozen=True, slots=True)
class ReminderItem:
    """One overdue (or nearly due) item of one complaint."""

    complaint_id: str
    kind: str  # REPLY | FOLLOWUP | CAPA
    due: dt.date
    #: Working days overdue (1 = due yesterday); 0 or less for a heads-up (not yet due).
    days_overdue: int
    #: 0 heads-up, 1 handler (CAPA: owner), 2 + department head, 3 + quality manager.
    level: int
    sheet: str
    row: int
    customer: str
    phone_masked: str  # 138****8000
    handler: str  # handler, or the CAPA owner for CAPA items
    department: str
    special: bool

    @property
    def heads_up(self) -> bool:
        return self.level == 0


@dataclass(frozen=True, slots=True)
class CannotRemind:
    """An item that should be reminded but cannot be planned (no date, no address)."""

    complaint_id: str
    sheet: str
    row: int
    kind: str
    reason: str  # in the configured language, says what to fill in


@dataclass(slots=True)
class Digest:
    """All items one recipient hears about in one run: one mail."""

    recipient: str  # the address this digest is for (also to[0])
    role: str  # "handler" | "department_head" | "quality_manager"
    to: list[str]
    cc: list[str]
    items: list[ReminderItem]
    #: For the quality manager's digest: items that could not be planned.
    cannot_remind: list[CannotRemind] = field(default_factory=list)


@dataclass(slots=True)
class ReminderPlan:
    today: dt.date
    items: list[ReminderItem]
    digests: list[Digest]
    cannot_remind: list[CannotRemind]
    #: E.g. "the calendar does not know 2031; Monday-Friday assumed".
    warnings: list[str] = field(default_factory=list)
