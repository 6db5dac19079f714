"""Group messages: one message per group per run (split into numbered parts when it is longer
than the API takes, never cut), items grouped by urgency, each person who must act @-mentioned.

>>> groups = group_digests(plan, config, "wecom")                     # doctest: +SKIP
>>> parts = render_parts(groups[0], items, cannot, style, today=plan.today, language="zh")

A department with its own group (``[departments."客服部"] wecom_webhook_env``) gets its items
there; every other item, and the rows that cannot be reminded, go to the channel's default
group (``[wecom] webhook_env``). Register text is data: markdown and mention syntax in it is
neutralised (``*`` ``<`` ``@`` ... become their full-width forms), so a 投诉内容 of "<@all>"
mentions nobody and cannot restyle the message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..config import Config
from ..i18n import Messages, translate
from ..reminders import (
    DEPARTMENT_HEAD,
    HANDLER,
    QUALITY_MANAGER,
    CannotRemind,
    Person,
    ReminderItem,
    ReminderPlan,
)
from .message import TEXT as SHARED
from .message import clean, kind_label, message_id

TEXT: Messages = {
    "title": {"zh": "【投诉跟进提醒】{today}", "en": "[Complaint follow-up] {today}"},
    "part": {"zh": "（第 {i}/{n} 部分）", "en": " (part {i} of {n})"},
    "counts": {"zh": "{group}：{what}", "en": "{group}: {what}"},
    "default_group": {"zh": "投诉跟进群", "en": "complaint group"},
    "count.escalated": {"zh": "{n} 项已升级", "en": "{n} escalated"},
    "count.overdue": {"zh": "{n} 项逾期", "en": "{n} overdue"},
    "count.soon": {"zh": "{n} 项即将到期", "en": "{n} due soon"},
    "count.cannot": {"zh": "{n} 条无法提醒", "en": "{n} cannot be reminded"},
    "sep": {"zh": "，", "en": ", "},
    "section.escalated": {"zh": "已升级（{n}）", "en": "Escalated ({n})"},
    "section.overdue": {"zh": "已逾期（{n}）", "en": "Overdue ({n})"},
    "section.soon": {"zh": "今日/明日到期（{n}）", "en": "Due today or tomorrow ({n})"},
    "section.cannot": {"zh": "无法提醒（{n}）", "en": "Cannot be reminded ({n})"},
    "continued": {"zh": "（续）", "en": " (continued)"},
    "customer": {"zh": "客户", "en": "customer"},
    "respondent": {"zh": "被投诉方", "en": "respondent"},
    "content": {"zh": "投诉内容", "en": "complaint"},
    "due": {"zh": "到期 {due}", "en": "due {due}"},
    "days_overdue": {"zh": "逾期 {n} 个工作日", "en": "{n} working day(s) overdue"},
    "due_today": {"zh": "今日到期", "en": "due today"},
    "due_soon": {"zh": "尚未到期", "en": "not yet due"},
    "special": {"zh": "特殊客诉", "en": "special"},
    "act": {"zh": "请 {who} 处理", "en": "action: {who}"},
    "role.handler": {"zh": "负责人", "en": "handler"},
    "role.department_head": {"zh": "部门负责人", "en": "department head"},
    "role.quality_manager": {"zh": "质量经理", "en": "quality manager"},
    "nobody": {"zh": "负责人未填写", "en": "no handler named"},
    "where": {"zh": "位置 {where}", "en": "at {where}"},
    "footer": {"zh": "办结后请更新台账，提醒即停止。提醒编号 {id}",
               "en": "Update the register once done and the reminders stop. Message {id}"},
    "mention": {"zh": "请以上事项的相关人员处理。", "en": "Please act on the items above."},
}

#: Characters that mean something in these markdown dialects (or mention someone), and the
#: full-width forms register text shows instead.
_NEUTRAL = str.maketrans({"*": "＊", "_": "＿", "[": "［", "]": "］", "<": "＜", ">": "＞",
                          "#": "＃", "`": "｀", "~": "～", "|": "｜", "@": "＠", "\\": "＼",
                          "!": "！", "$": "＄"})
SUMMARY_CHARS = 40
FIELD_CHARS = 30


def neutral(value: object, limit: int = FIELD_CHARS) -> str:
    """Register text made safe for a group message: one line, no markup, at most ``limit``
    characters ("…" when shortened: a message is split into parts, a field is summarised)."""
    text = clean(value).translate(_NEUTRAL)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(slots=True)
class GroupDigest:
    """The items one group hears about: a department's group or the channel's default group."""

    destination: str  # the name of the environment variable that holds the robot's URL
    secret_env: str  # the signing secret's environment variable ("" = no signing)
    label: str  # the department, or "" for the default group
    items: list[ReminderItem] = field(default_factory=list)
    cannot: list[CannotRemind] = field(default_factory=list)


def group_digests(plan: ReminderPlan, config: Config, channel: str) -> list[GroupDigest]:
    """The plan's items by group, for ``channel`` (wecom, dingtalk, feishu); the default group
    first, then departments in the order their items come."""
    robot = getattr(config, channel)
    default = GroupDigest(robot.webhook_env, robot.secret_env, "")
    by_env: dict[str, GroupDigest] = {robot.webhook_env: default}
    for item in plan.items:
        dept = config.departments.get(item.department) if item.department else None
        env = getattr(dept, f"{channel}_webhook_env", "") if dept else ""
        if env:
            group = by_env.get(env)
            if group is None:
                secret = getattr(dept, f"{channel}_secret_env", "") or robot.secret_env
                group = by_env[env] = GroupDigest(env, secret, item.department)
        else:
            group = default
        group.items.append(item)
    default.cannot.extend(plan.cannot_remind)
    return [g for g in by_env.values() if g.items or g.cannot]


@dataclass(frozen=True, slots=True)
class Style:
    """How one API writes a message: markup, mentions, and how much fits in one message."""

    #: Most bytes of UTF-8 one message's text may have.
    limit: int
    bold: Callable[[str], str] = lambda s: f"**{s}**"
    #: How a person is written where they are asked to act (their mention, or their name).
    mention: Callable[[Person], str] = lambda p: p.label
    #: Between lines of one item, and between blocks.
    line_break: str = "\n"
    block_break: str = "\n"
    #: The keyword a keyword-protected robot needs in every message ("" = none).
    keyword: str = ""
    bullet: str = "- "


@dataclass(slots=True)
class Part:
    """One message of a group digest: its text, the items it carries, who it mentions."""

    text: str
    title: str
    items: list[ReminderItem]
    cannot: list[CannotRemind]
    people: list[Person]
    message_id: str = ""


def _section(item: ReminderItem) -> str:
    if item.level >= 2:
        return "escalated"
    return "overdue" if item.level == 1 else "soon"


def _item_block(item: ReminderItem, style: Style, today: dt.date, language: str) -> tuple[str, list[Person]]:
    def t(key: str, **kw: object) -> str:
        return translate(TEXT, key, language, **kw)

    head = [style.bold(neutral(item.complaint_id) or "-"), kind_label(item.kind, language)]
    if item.special:
        head.append(t("special"))
    customer = neutral(item.customer)
    if item.phone_masked:
        customer += f"（{neutral(item.phone_masked)}）" if language == "zh" else f" ({neutral(item.phone_masked)})"
    head.append(f"{t('customer')} {customer or '-'}")
    head.append(f"{t('respondent')} {neutral(item.respondent) or '-'}")
    sep = "｜" if language == "zh" else " | "
    when = [t("due", due=item.due.isoformat())]
    if item.days_overdue > 0:
        when.append(t("days_overdue", n=item.days_overdue))
    elif item.due == today:
        when.append(t("due_today"))
    people: list[Person] = []
    who = []
    for role, person in item.people:
        if role not in (HANDLER, DEPARTMENT_HEAD, QUALITY_MANAGER):
            continue
        people.append(person)
        who.append(f"{style.mention(person)}（{t('role.' + role)}）" if language == "zh"
                   else f"{style.mention(person)} ({t('role.' + role)})")
    act = t("act", who=("、" if language == "zh" else ", ").join(who)) if who else t("nobody")
    lines = [
        style.bullet + sep.join(head),
        f"{t('content')}：{neutral(item.description, SUMMARY_CHARS) or '-'}" if language == "zh"
        else f"{t('content')}: {neutral(item.description, SUMMARY_CHARS) or '-'}",
        ("，" if language == "zh" else ", ").join(when) + sep + act,
    ]
    return style.line_break.join(lines), people


def _cannot_block(row: CannotRemind, style: Style, language: str) -> str:
    fix = translate(SHARED, f"fix.{row.fix}", language)
    where = translate(TEXT, "where", language, where=f"{row.sheet}!{row.row}")
    head = f"{style.bullet}{style.bold(neutral(row.complaint_id) or '-')} {kind_label(row.kind, language)}"
    return style.line_break.join([f"{head}（{where}，{fix}）" if language == "zh" else f"{head} ({where}; {fix})",
                                  neutral(row.reason, 200)])


def counts_line(items: Sequence[ReminderItem], cannot: Sequence[CannotRemind], language: str) -> str:
    parts = []
    escalated = sum(1 for i in items if i.level >= 2)
    overdue = sum(1 for i in items if i.level == 1)
    soon = sum(1 for i in items if i.level <= 0)
    for key, n in (("escalated", escalated), ("overdue", overdue), ("soon", soon), ("cannot", len(cannot))):
        if n:
            parts.append(translate(TEXT, f"count.{key}", language, n=n))
    return translate(TEXT, "sep", language).join(parts)


def render_parts(group: GroupDigest, items: Sequence[ReminderItem], cannot: Sequence[CannotRemind],
                 style: Style, *, channel: str, today: dt.date, language: str) -> list[Part]:
    """The group's message, split into numbered parts of at most ``style.limit`` bytes each.

    Items are never cut: a part ends before the item that would not fit, and the next part
    repeats the section's title. A part's identity (its message id) is stable for the same
    items on the same day.
    """
    def t(key: str, **kw: object) -> str:
        return translate(TEXT, key, language, **kw)

    name = group.label or t("default_group")
    blocks: list[tuple[str, str, ReminderItem | CannotRemind | None, list[Person]]] = []
    ordered = sorted(items, key=lambda i: (-i.level, -i.days_overdue, i.due, i.complaint_id, i.kind))
    for section in ("escalated", "overdue", "soon"):
        chosen = [i for i in ordered if _section(i) == section]
        if chosen:
            title = style.bold(t(f"section.{section}", n=len(chosen)))
            for item in chosen:
                text, people = _item_block(item, style, today, language)
                blocks.append((title, text, item, people))
    if cannot:
        title = style.bold(t("section.cannot", n=len(cannot)))
        for row in cannot:
            blocks.append((title, _cannot_block(row, style, language), row, []))

    def heading(counts: str, part: str) -> str:
        title = t("title", today=today.isoformat())
        if style.keyword and style.keyword not in title:
            title = f"{style.keyword} {title}"
        return f"{style.bold(title + part)}{style.line_break}{t('counts', group=neutral(name), what=counts)}"

    def footer(ident: str) -> str:
        return t("footer", id=ident)

    counts = counts_line(items, cannot, language)
    # Room for the heading and footer at their longest (part numbers up to 999).
    reserve = len((heading(counts, t("part", i=999, n=999)) + footer("x" * 16)).encode()) + 4 * len(
        style.block_break.encode()) + 64
    room = style.limit - reserve
    packs: list[list[tuple[str, str, ReminderItem | CannotRemind | None, list[Person]]]] = [[]]
    size = 0
    for block in blocks:
        cost = len(block[1].encode()) + len(block[0].encode()) + 2 * len(style.block_break.encode())
        if packs[-1] and size + cost > room:
            packs.append([])
            size = 0
        packs[-1].append(block)
        size += cost
    n = len(packs)
    parts: list[Part] = []
    for index, pack in enumerate(packs, 1):
        part_items = [b[2] for b in pack if isinstance(b[2], ReminderItem)]
        part_cannot = [b[2] for b in pack if isinstance(b[2], CannotRemind)]
        ident = message_id(channel, group.destination, today, [*part_items, *part_cannot],
                           part=f"{index}/{n}")
        lines = [heading(counts, t("part", i=index, n=n) if n > 1 else "")]
        current = ""
        for title, text, _, _ in pack:
            if title != current:
                continued = title if title not in {b[0] for b in (packs[index - 2] if index > 1 else [])} \
                    else title + t("continued")
                lines.append(continued)
                current = title
            lines.append(text)
        lines.append(footer(ident))
        people: list[Person] = []
        seen: set[str] = set()
        for block in pack:
            for person in block[3]:
                if person.key not in seen:
                    seen.add(person.key)
                    people.append(person)
        parts.append(Part(style.block_break.join(lines), t("title", today=today.isoformat()),
                          part_items, part_cannot, people, ident))
    return parts
