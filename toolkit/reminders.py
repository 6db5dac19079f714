"""Plan reminders: which items are due or overdue on ``today``, at what escalation level, and
one digest per recipient. Pure functions: ``today`` is passed in, nothing is sent or stored.

(Contract dataclasses first; the planning functions follow.)

The planner speaks of people, departments and items, never of channels: each channel
(toolkit/notify/) turns the plan into its own messages — one mail per digest, one group
message per department group.

Usage::

    plan = plan_reminders(register.records, config, today=dt.date(2026, 11, 23))
    for digest in plan.digests:          # one per person
        print(digest.person.label, digest.role, [(i.complaint_id, i.kind, i.level) for i in digest.items])

Choices the spec leaves open, made here once:

- follow-up due dates count from received_on, like reply due dates (the class table gives
  both as "within N working days" of receiving the complaint);
- a complaint with no class (or one not A/B/C) is due as class A: too early a reminder is
  harmless, too late a one misses the deadline; the validator reports the missing class;
- CAPA reminders go on after the complaint is closed: the spec's CAPA rule has no status
  condition, and a corrective action owed is still owed (closing with one open is a finding);
- a heads-up (level 0) goes on each run from ``heads_up_days`` working days before the due
  date up to the due date itself; the ledger's repeat rule keeps it from going out daily;
- an overdue item whose due date fell on a non-working day counts as 1 working day overdue
  on the days before the next working day has passed, so "overdue" always means >= 1;
- a date or done-date that was filled in but could not be read: a done-date counts as done
  (someone wrote something there; the validator reports the cell), an unreadable due date
  cannot be planned (the promised date is not guessed from the class).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .addresses import is_sendable
from .fields import CLOSED, FIELD_BY_NAME, PENDING, is_special
from .i18n import Messages, translate
from .model import Record, Value, paused_gc
from .workdays import CalendarDays, DayCounter, WorkCalendar

if TYPE_CHECKING:
    from .config import Config

REPLY, FOLLOWUP, CAPA = "reply", "followup", "capa"
KINDS = (REPLY, FOLLOWUP, CAPA)


def _as_call(self: Any) -> tuple[type, tuple[Any, ...]]:
    """Pickled as a call of the class with its fields: a day's plan (35k items at 100k rows) loads
    several times faster than through dataclasses' __setstate__, which looks the fields up for
    every object."""
    return type(self), tuple(getattr(self, name) for name in self.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class DueDates:
    """A complaint's due dates, explicit from the register or computed from its class."""

    reply: dt.date | None
    followup: dt.date | None
    capa: dt.date | None


@dataclass(frozen=True, slots=True)
class Person:
    """Someone a reminder is for, with what the channels need to reach them.

    ``name`` is how the register or config names them ("" when only an address is known);
    ``email`` is a sendable address or ""; ``mobile`` @-mentions them in WeCom/DingTalk groups,
    ``feishu_user_id`` in Feishu groups.
    """

    __reduce__ = _as_call

    name: str
    email: str = ""
    mobile: str = ""
    feishu_user_id: str = ""
    #: One person, however their address is capitalised (set from the fields above).
    key: str = field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", self.email.casefold() if self.email else f"name:{self.name}")

    @property
    def label(self) -> str:
        return self.name or self.email


@dataclass(frozen=True, slots=True)
class ReminderItem:
    """One overdue (or nearly due) item of one complaint."""

    __reduce__ = _as_call

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
    #: What the ledger knows this complaint by: the complaint id, or the id plus the row when
    #: the id is blank or used by an earlier row (two complaints must never share a record).
    ledger_id: str = ""
    respondent: str = ""  # 被投诉方
    description: str = ""  # 投诉内容, as written (channels shorten it to one line)
    #: Who must act, by role: the handler (level 1 on), the department head (level 2 on), the
    #: quality manager (level 3); group messages @-mention them.
    people: tuple[tuple[str, Person], ...] = ()

    @property
    def heads_up(self) -> bool:
        return self.level == 0


@dataclass(frozen=True, slots=True)
class CannotRemind:
    """An item that should be reminded but cannot be planned (no date, no address)."""

    __reduce__ = _as_call

    complaint_id: str
    sheet: str
    row: int
    kind: str
    reason: str  # in the configured language, says what to fill in
    ledger_id: str = ""  # as ReminderItem.ledger_id
    #: Where the fix is: "register" (fill in a cell) or "config" (config.toml).
    fix: str = "register"


@dataclass(slots=True)
class Digest:
    """All items one person hears about in one run (one mail, for the e-mail channel)."""

    person: Person
    role: str  # "handler" | "department_head" | "quality_manager" (their highest role)
    items: list[ReminderItem]
    #: For the quality manager's digest: items that could not be planned.
    cannot_remind: list[CannotRemind] = field(default_factory=list)

    @property
    def recipient(self) -> str:
        """The person's address ("" when they have none)."""
        return self.person.email


@dataclass(slots=True)
class ReminderPlan:
    today: dt.date
    items: list[ReminderItem]
    digests: list[Digest]
    cannot_remind: list[CannotRemind]
    #: E.g. "the calendar does not know 2031; Monday-Friday assumed".
    warnings: list[str] = field(default_factory=list)


# -- planning -----------------------------------------------------------------------------

HANDLER, DEPARTMENT_HEAD, QUALITY_MANAGER = "handler", "department_head", "quality_manager"
ROLES = (HANDLER, DEPARTMENT_HEAD, QUALITY_MANAGER)
_ROLE_RANK = {role: i for i, role in enumerate(ROLES)}

#: For each kind: the explicit due-date field and the done field ("" = status decides).
_DUE_FIELD = {REPLY: "reply_due", FOLLOWUP: "followup_due", CAPA: "capa_due"}


MESSAGES: Messages = {
    "kind-reply": {"zh": "答复", "en": "reply"},
    "kind-followup": {"zh": "回访", "en": "follow-up"},
    "kind-capa": {"zh": "纠正预防措施", "en": "corrective action"},
    "bad-due": {
        "zh": "{due_header}“{raw}”无法识别为日期，不能计算{kind}提醒；请改成日期，例如 2026-11-23。",
        "en": "{due_header} \"{raw}\" is not a date, so the {kind} reminder cannot be planned; "
              "enter a date such as 2026-11-23.",
    },
    "no-received": {
        "zh": "{received_header}为空或无法识别，无法计算{kind}期限；请填写{received_header}，"
              "或直接填写{due_header}。",
        "en": "{received_header} is blank or not a date, so the {kind} due date is unknown; "
              "fill in {received_header} or enter {due_header} directly.",
    },
    "no-capa-due": {
        "zh": "已填写{action_header}，但{due_header}为空，无法提醒；请填写{due_header}。",
        "en": "{action_header} is filled in but {due_header} is blank, so no reminder can be "
              "planned; fill in {due_header}.",
    },
    "no-handler-address": {
        "zh": "{name_header}“{name}”没有可用的邮箱地址{detail}，{kind}提醒发不出去；请填写"
              "{email_header}，或在 config.toml 中加入 [people.\"{name}\"] email = \"...\"。",
        "en": "{name_header} \"{name}\" has no usable e-mail address{detail}, so the {kind} "
              "reminder cannot be sent; fill in {email_header} or add [people.\"{name}\"] "
              "email = \"...\" to config.toml.",
    },
    "no-handler-name": {
        "zh": "{name_header}和{email_header}都为空，{kind}提醒发不出去；请填写{name_header}"
              "和{email_header}。",
        "en": "{name_header} and {email_header} are both blank, so the {kind} reminder cannot "
              "be sent; fill in {name_header} and {email_header}.",
    },
    "bad-address-detail": {"zh": "（{field}“{value}”不是邮箱地址）",
                           "en": " ({field} \"{value}\" is not an e-mail address)"},
    "no-department": {
        "zh": "{kind}已逾期 {days} 个工作日，应上报部门负责人，但{dept_header}为空；请填写{dept_header}。",
        "en": "the {kind} is {days} working day(s) overdue and should go to the department "
              "head, but {dept_header} is blank; fill in {dept_header}.",
    },
    "no-department-head": {
        "zh": "{kind}已逾期 {days} 个工作日，应上报部门负责人，但责任部门“{department}”没有配置"
              "负责人邮箱；请在 config.toml 中加入 [departments.\"{department}\"] head = \"...\"。",
        "en": "the {kind} is {days} working day(s) overdue and should go to the department "
              "head, but department \"{department}\" has no head's address; add "
              "[departments.\"{department}\"] head = \"...\" to config.toml.",
    },
    "no-quality-manager": {
        "zh": "[reminders].quality_manager 未设置：{count} 项应上报质量经理的提醒和无法提醒的条目"
              "没有收件人；请在 config.toml 中填写 quality_manager 邮箱。",
        "en": "[reminders].quality_manager is not set: {count} item(s) for the quality manager "
              "(level 3 and cannot-remind) have no recipient; set it in config.toml.",
    },
}


def due_dates(record: Record, config: Config, calendar: DayCounter, kinds: Sequence[str] = KINDS) -> DueDates:
    """A complaint's reply, follow-up and CAPA due dates (``None`` when unknown, or not among
    ``kinds``).

    Explicit dates in the register win; otherwise reply and follow-up are counted from
    ``received_on`` by the class's deadlines (special complaints as class A), in working days
    of ``calendar`` or in calendar days when ``[rules].working_days`` is false. CAPA has no
    computed default.
    """
    counter = _counter(config, calendar)
    return DueDates(*(_due(record, kind, config, counter)[0] if kind in kinds else None for kind in KINDS))


def plan_reminders(
    records: Iterable[Record],
    config: Config,
    today: dt.date,
    calendar: WorkCalendar | None = None,
) -> ReminderPlan:
    """Everything to remind on ``today``: items, one digest per recipient, what cannot be
    reminded, and calendar warnings. Pure: nothing is sent or stored."""
    # The planner makes tens of thousands of small acyclic objects while 100k records are alive:
    # the cyclic collector would walk all of them several times for nothing (a third of the
    # planning time at 100k rows). Paused here only, and resumed however planning ends.
    with paused_gc():
        return _plan(records, config, _date(today), calendar)


def _plan(records: Iterable[Record], config: Config, today: dt.date,
          calendar: WorkCalendar | None) -> ReminderPlan:
    if calendar is None:
        calendar = WorkCalendar.from_config(config)
    counter = _counter(config, calendar)
    language = config.language
    rem = config.reminders
    # Due dates from today up to (not including) this day get a heads-up: the day after the
    # heads_up_days-th working day, so non-working due dates right after it are covered too.
    heads_up_end = counter.add_workdays(today, rem.heads_up_days + 1) if rem.heads_up_days > 0 else today

    items: list[ReminderItem] = []
    cannot: list[CannotRemind] = []
    boxes = _Boxes()
    seen_ids: set[str] = set()
    people = _People(config)
    # A missing address stops only the e-mail channel; a group channel reaches everyone.
    needs_address = "email" in config.notify.channels
    qm = people.by_ref(rem.quality_manager) if rem.quality_manager.strip() else None
    # A register names the same few handlers on thousands of rows: who gets level 1 (and why
    # not, in words) is worked out once per distinct name/address cells and kind.
    handlers: dict[tuple[object, ...], tuple[Person | None, str]] = {}
    for record in records:
        values = record.values
        # A blank or repeated complaint id (the validator reports both) must not make two
        # complaints one in the ledger, or the second one's reminders would count as sent.
        raw_id = values.get("complaint_id")
        cid = "" if raw_id is None else (raw_id if raw_id.__class__ is str else str(raw_id)).strip()
        duplicate = not cid or cid in seen_ids
        seen_ids.add(cid)
        # Most rows of a large register are closed with no corrective action open: nothing to
        # plan, so not even the rest of _open_kinds is asked.
        if values.get("status") == CLOSED and values.get("corrective_action") is None:
            continue
        kinds = _open_kinds(record)
        if not kinds:
            continue
        ledger_id = f"{cid}@{record.sheet}!{record.row}" if duplicate else cid
        special = is_special(values.get("special"))
        for kind in kinds:
            due, problem = _due(record, kind, config, counter)
            if due is None:
                cannot.append(_cannot(record, kind, problem or "", language, ledger_id))
                continue
            if due < today:
                days = max(1, counter.workdays_between(due, today))
                level = 1
                if days >= rem.level2_after:
                    level = 2
                if days >= rem.level3_after or special:
                    level = 3
            elif due < heads_up_end:
                days, level = -counter.workdays_between(today, due), 0
            else:
                continue
            hkey = (kind, values.get("handler"), values.get("handler_email"),
                    values.get("capa_owner"), values.get("capa_owner_email"))
            found = handlers.get(hkey)
            if found is None:
                found = handlers[hkey] = _handler(record, kind, people)
            handler, problem = found
            roles: list[tuple[str, Person]] = []
            if handler is not None and (handler.email or not needs_address):
                roles.append((HANDLER, handler))
            else:
                cannot.append(_cannot(record, kind, problem, language, ledger_id))
            department = _text(values.get("department"))
            if level >= 2:
                head_ref = config.department_head(department) if department else ""
                if head_ref.strip():
                    roles.append((DEPARTMENT_HEAD, people.by_ref(head_ref)))
                else:
                    cannot.append(_cannot(record, kind, _no_head(department, kind, days, language),
                                          language, ledger_id, fix="config" if department else "register"))
            if level >= 3 and qm is not None:
                roles.append((QUALITY_MANAGER, qm))
            items.append(_item(record, kind, due, days, level, special, ledger_id, tuple(roles),
                               department))
            for role, person in roles:
                boxes.touch(person, role)  # a digest keeps the first spelling met in the register
    items.sort(key=urgency)

    warnings: list[str] = []
    if cannot and qm is not None:
        boxes.add_cannot(qm, cannot)
    elif qm is None:
        count = sum(1 for i in items if i.level >= 3) + len(cannot)
        if count:
            warnings.append(translate(MESSAGES, "no-quality-manager", language, count=count))
    return ReminderPlan(
        today=today,
        items=items,
        digests=boxes.digests(items),
        cannot_remind=cannot,
        warnings=[*calendar.warnings, *warnings],
    )


_KIND_ORDER = {kind: i for i, kind in enumerate(KINDS)}


def urgency(item: ReminderItem) -> tuple[int, int, dt.date, str, int]:
    """Sort key: highest level first, then most overdue, then earliest due."""
    return (-item.level, -item.days_overdue, item.due, item.complaint_id, _KIND_ORDER[item.kind])


def mask_phone(value: Value) -> str:
    """``13800138000`` -> ``138****8000``: first 3 and last 4 digits kept; ``0871-63125678`` ->
    ``0871-****5678``: the area (or country) code kept; 7 digits or fewer are masked entirely.
    A phone stored as a number (13800138000.0) is read as digits."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if len(text) == 11 and text.isdigit():  # a mobile number, by far the most common form
        return f"{text[:3]}****{text[7:]}"
    # A landline keeps its area code, an international number its country code: the reader can
    # tell where the customer is without seeing the number (an extension is left out).
    prefixed = _PREFIXED_PHONE.match(text)
    if prefixed:
        local = re.sub(r"\D", "", prefixed["local"])
        return f"{prefixed['prefix']}-{'*' * (len(local) - 4)}{local[-4:]}"
    digits = re.sub(r"\D", "", text)
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


_PREFIXED_PHONE = re.compile(r"(?P<prefix>0\d{2,3}|\+\d{1,3})[-\s]+(?P<local>\d[\d\s]{6,9}\d)\b")


# -- helpers ------------------------------------------------------------------------------


class _People:
    """Who is who: register names and addresses, completed from ``[people]``; department heads
    and the quality manager given as an address or as a name in ``[people]``."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._by_ref: dict[str, Person] = {}
        self._named: dict[tuple[str, str], Person] = {}

    def by_ref(self, ref: str) -> Person:
        """A head or quality manager from config: ``"zhang@example.com"`` or ``"张经理"``."""
        ref = ref.strip()
        person = self._by_ref.get(ref)
        if person is None:
            if "@" in ref:
                name, entry = self.config.person_by_email(ref)
                person = Person(name, ref, entry.mobile.strip() if entry else "",
                                entry.feishu_user_id.strip() if entry else "")
            else:
                person = self.named(ref, "")
            self._by_ref[ref] = person
        return person

    def named(self, name: str, email: str) -> Person:
        """A person named in the register, with the register's address (if sendable)."""
        # Registers repeat the same few handlers: make each person once.
        person = self._named.get((name, email))
        if person is None:
            person = self._named[(name, email)] = self._make(name, email)
        return person

    def _make(self, name: str, email: str) -> Person:
        entry = self.config.people.get(name)
        if entry is None:
            return Person(name, email)
        if not email:
            configured = entry.email.strip()
            email = configured if configured and is_sendable(configured) else ""
        return Person(name, email, entry.mobile.strip(), entry.feishu_user_id.strip())


class _Boxes:
    """Digests by person (their address folded case-insensitively, else their name); one mail
    per person even when they have several roles (their highest role names the digest)."""

    def __init__(self) -> None:
        self._boxes: dict[str, Digest] = {}

    def touch(self, person: Person, role: str) -> Digest:
        """The person's digest (made at first sight); their highest role names it."""
        key = person.key
        box = self._boxes.get(key)
        if box is None:
            box = Digest(person=person, role=role, items=[])
            self._boxes[key] = box
        elif _ROLE_RANK[role] > _ROLE_RANK[box.role]:
            box.role = role
        return box

    def add_cannot(self, person: Person, cannot: list[CannotRemind]) -> None:
        self.touch(person, QUALITY_MANAGER).cannot_remind.extend(cannot)

    def digests(self, items: list[ReminderItem]) -> list[Digest]:
        """Every digest, its items taken from ``items`` (most urgent first) in that order: one
        pass instead of a sort per digest."""
        boxes = self._boxes
        for item in items:
            people = item.people
            if len(people) == 1:
                boxes[people[0][1].key].items.append(item)
                continue
            keys = {person.key for _, person in people}  # a head who is also the handler: once
            for key in keys:
                boxes[key].items.append(item)
        result = list(boxes.values())
        result.sort(key=lambda d: (ROLES.index(d.role), d.person.email.casefold() or d.person.name))
        return result


def _counter(config: Config, calendar: DayCounter) -> DayCounter:
    return calendar if config.rules.working_days else CalendarDays()


def _open_kinds(record: Record) -> list[str]:
    """The kinds of this complaint still owed (whatever their dates)."""
    values = record.values
    status = values.get("status")
    kinds = []
    if status == PENDING:
        kinds.append(REPLY)
    if status != CLOSED and not _filled(record, "followup_done"):
        kinds.append(FOLLOWUP)
    if _text(values.get("corrective_action")) and not _filled(record, "capa_done"):
        kinds.append(CAPA)
    return kinds


def _due(record: Record, kind: str, config: Config, counter: DayCounter) -> tuple[dt.date | None, str | None]:
    """(due date, None) or (None, message key of why it is unknown) for one kind."""
    name = _DUE_FIELD[kind]
    explicit = record.values.get(name)
    if isinstance(explicit, dt.date):
        return _date(explicit), None
    if name in record.bad or _text(explicit):
        return None, "bad-due"
    if kind == CAPA:
        return None, "no-capa-due"
    received = record.values.get("received_on")
    if not isinstance(received, dt.date):
        return None, "no-received"
    severity = "A" if is_special(record.values.get("special")) else record.values.get("severity")
    rule = config.rules.for_class(severity if severity in ("A", "B", "C") else "A")
    days = rule.reply_days if kind == REPLY else rule.followup_days
    return counter.add_workdays(_date(received), days), None


def _handler(record: Record, kind: str, people: _People) -> tuple[Person | None, str]:
    """(the person who gets level 1 of this item, "") — with an address when one is known —
    or (None, reason) when nobody is named; (person without address, reason) when the
    address is missing or unusable."""
    values = record.values
    chain = [("handler", "handler_email")]
    if kind == CAPA:
        chain.insert(0, ("capa_owner", "capa_owner_email"))
    bad: tuple[str, str] | None = None
    first: Person | None = None
    for name_field, email_field in chain:
        name = _text(values.get(name_field))
        email = _text(values.get(email_field))
        if email and is_sendable(email):
            return people.named(name, email), ""
        if email and bad is None:
            bad = (email_field, email)
        if name:
            person = people.named(name, "")
            if person.email:
                return person, ""
            first = first or person
    config = people.config
    language = config.language
    name_field, email_field = chain[0]
    name = _text(values.get(name_field)) or _text(values.get("handler"))
    detail = ""
    if bad:
        detail = translate(MESSAGES, "bad-address-detail", language,
                           field=_header(bad[0], language), value=bad[1])
    kind_label = translate(MESSAGES, f"kind-{kind}", language)
    if not name:
        return None, translate(MESSAGES, "no-handler-name", language, kind=kind_label,
                               name_header=_header(name_field, language),
                               email_header=_header(email_field, language))
    return first, translate(MESSAGES, "no-handler-address", language, kind=kind_label, name=name,
                            detail=detail, name_header=_header(name_field, language),
                            email_header=_header(email_field, language))


@functools.lru_cache(maxsize=4096)  # a large register repeats few (department, kind, days)
def _no_head(department: str, kind: str, days: int, language: str) -> str:
    label = translate(MESSAGES, f"kind-{kind}", language)
    if not department:
        return translate(MESSAGES, "no-department", language, kind=label, days=days,
                         dept_header=_header("department", language))
    return translate(MESSAGES, "no-department-head", language, kind=label, days=days,
                     department=department)


def _cannot(record: Record, kind: str, reason: str, language: str, ledger_id: str = "",
            fix: str = "register") -> CannotRemind:
    """A CannotRemind; ``reason`` is either a message key of this module or a finished text."""
    if reason in MESSAGES:
        due_name = _DUE_FIELD[kind]
        raw = record.bad.get(due_name, (None, record.values.get(due_name)))[1]
        reason = translate(
            MESSAGES, reason, language,
            kind=translate(MESSAGES, f"kind-{kind}", language),
            raw="" if raw is None else raw,
            due_header=_header(due_name, language),
            received_header=_header("received_on", language),
            action_header=_header("corrective_action", language),
        )
    return CannotRemind(record.complaint_id, record.sheet, record.row, kind, reason,
                        ledger_id or record.complaint_id or f"@{record.sheet}!{record.row}", fix)


def _item(record: Record, kind: str, due: dt.date, days: int, level: int, special: bool,
          ledger_id: str = "", people: tuple[tuple[str, Person], ...] = (),
          department: str | None = None) -> ReminderItem:
    values = record.values
    person = _text(values.get("handler"))
    if kind == CAPA:
        person = _text(values.get("capa_owner")) or person
    complaint_id = record.complaint_id
    return ReminderItem(
        complaint_id=complaint_id,
        kind=kind,
        due=due,
        days_overdue=days,
        level=level,
        sheet=record.sheet,
        row=record.row,
        customer=_text(values.get("customer_name")),
        phone_masked=mask_phone(values.get("customer_phone")),
        handler=person,
        department=_text(values.get("department")) if department is None else department,
        special=special,
        ledger_id=ledger_id or complaint_id,
        respondent=_text(values.get("respondent")),
        description=_text(values.get("description")),
        people=people,
    )


def _filled(record: Record, name: str) -> bool:
    """A done-field counts as done when it holds anything, even an unreadable value."""
    return record.values.get(name) is not None or name in record.bad


def _text(value: Value) -> str:
    if value.__class__ is str:
        return value.strip()  # type: ignore[union-attr]
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _date(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _header(name: str, language: str) -> str:
    return FIELD_BY_NAME[name].header(language)
