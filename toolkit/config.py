"""Configuration: ``config.toml`` read into typed, frozen-by-convention dataclasses.

Every key has a default, so a config file lists only what differs. Unknown keys are a warning
naming the key; a wrong type is a :class:`~toolkit.errors.ConfigError` naming the key path
(``[register].path``). Relative paths are resolved against the config file's folder.

Lookup order: ``--config PATH``, else ``$TOOLKIT_CONFIG``, else ``./config.toml``; with none
of them present the defaults apply (relative to the current folder).

>>> cfg = load_config(None)            # defaults
>>> cfg.register.language
'zh'
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import logging
import os
import re
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .addresses import CONTROL, AddressError, check_mailbox, reason, shown
from .errors import ConfigError
from .fields import (
    DEFAULT_CATEGORIES,
    DEFAULT_CHANNELS,
    DEFAULT_DEPARTMENTS,
    FIELD_BY_NAME,
    LIST,
    ROOT_CAUSES,
    SPECIALS,
)
from .i18n import Messages, translate

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

log = logging.getLogger(__name__)

ENV_VAR = "TOOLKIT_CONFIG"
DEFAULT_NAME = "config.toml"


@dataclass
class RegisterConfig:
    path: str = "examples/complaint-register.xlsx"
    #: Sheet names to read; empty = every sheet with a recognisable header row.
    sheets: list[str] = field(default_factory=list)
    language: str = "zh"
    #: How to read ambiguous text dates like 3/5/2026: "" (an error), "mdy" or "dmy".
    date_order: str = ""


@dataclass
class ColumnConfig:
    aliases: list[str] = field(default_factory=list)


@dataclass
class ListsConfig:
    """The values of every list field that is an office's own choice, and synonyms."""

    channels: list[str] = field(default_factory=lambda: list(DEFAULT_CHANNELS))
    categories: list[str] = field(default_factory=lambda: list(DEFAULT_CATEGORIES))
    departments: list[str] = field(default_factory=lambda: list(DEFAULT_DEPARTMENTS))
    root_causes: list[str] = field(default_factory=lambda: list(ROOT_CAUSES))
    specials: list[str] = field(default_factory=lambda: list(SPECIALS))
    #: Another spelling staff use -> the list value it means (``"已办结" = "已结案"``); the
    #: value may be one of any list field's values (status, nature, class, satisfaction...).
    synonyms: dict[str, str] = field(default_factory=dict)


def default_helper_processes() -> int:
    """The daily run's helpers when the config does not say: one core fewer than this process
    may use, at most 2. On two cores one helper (the figures, then the findings workbook) beats
    two by about a second at 100k rows: three busy processes on two cores slow the documents
    stage, the run's longest, more than the second helper saves."""
    return min(2, max(0, usable_cores() - 1))


def usable_cores() -> int:
    """The cores this process may run on (its affinity, where the system tells)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


@dataclass
class LimitsConfig:
    """Limits that keep a hostile or broken workbook (a zip bomb) from exhausting the machine."""

    #: Largest unpacked size of a workbook's parts (one and all together), in MB.
    unpacked_mb: int = 1024
    #: Largest unpacked/packed ratio of a part larger than 8 MB (real sheets pack 5-20:1).
    compression_ratio: int = 100
    #: Processes the daily run forks (Linux) to compute the dashboard's figures and write its
    #: findings workbook on other cores while it files documents. Each shares the register's
    #: records copy-on-write, then copies much of them (about 3 MB per 1,000 rows): 0 does it all
    #: in the run's own process, after the reminders (the least memory, the longest run); 1 does
    #: the figures, then the workbook; 2 each in its own. Default: one core fewer than this
    #: process may use, at most 2 (see :func:`default_helper_processes`).
    helper_processes: int = field(default_factory=default_helper_processes)


@dataclass
class ClassRule:
    """Deadlines for one complaint class, in working days (or calendar days)."""

    reply_days: int = 1
    followup_days: int = 3


@dataclass
class RulesConfig:
    A: ClassRule = field(default_factory=lambda: ClassRule(1, 3))
    B: ClassRule = field(default_factory=lambda: ClassRule(2, 7))
    C: ClassRule = field(default_factory=lambda: ClassRule(3, 15))
    #: Count deadlines in working days (true) or calendar days (false).
    working_days: bool = True
    #: Classes whose valid complaints need a corrective action before closing.
    capa_classes: list[str] = field(default_factory=lambda: ["A", "B"])

    def for_class(self, severity: str | None) -> ClassRule:
        return getattr(self, severity) if severity in ("A", "B", "C") else self.C


@dataclass
class CalendarConfig:
    country: str = "CN"
    extra_holidays: list[str] = field(default_factory=list)
    extra_workdays: list[str] = field(default_factory=list)


@dataclass
class CompanyConfig:
    name: str = "示例烟草零售有限公司"
    feedback_form_no: str = "QR-KF-001"
    capa_form_no: str = "QR-KF-002"


@dataclass
class OutputConfig:
    #: Folder for everything the toolkit writes (documents, outbox, state, logs, reports).
    dir: str = "output"


@dataclass
class DocumentKindConfig:
    """``[documents.kinds."赔付审批单"]``: a document kind of the office's own, or settings of a
    built-in one (feedback, capa, acknowledgement)."""

    template: str = ""
    #: File-name pattern; empty = "{complaint_id}_<kind>.docx".
    name: str = ""
    form_no: str = ""
    #: When a complaint needs it: a sandboxed expression over the row's fields, e.g.
    #: "compensation > 0"; empty = every complaint (built-ins: their own rule).
    when: str = ""
    title: str = ""


@dataclass
class DocumentsConfig:
    #: Where documents go; empty = <output.dir>/documents.
    dir: str = ""
    #: Templates; empty = the shipped ones for the configured language.
    feedback_template: str = ""
    capa_template: str = ""
    #: Folder and file name patterns; fields by canonical name, plus {year} {month} {kind}.
    folder_pattern: str = "{year}/{month}"
    #: File names; empty = "{complaint_id}_客诉反馈单.docx" / "..._纠正预防措施单.docx" in Chinese,
    #: "{complaint_id}_feedback-form.docx" / "..._capa-sheet.docx" in English.
    feedback_name: str = ""
    capa_name: str = ""
    #: Worker processes for rendering; 0 = one per CPU core.
    workers: int = 0
    #: LibreOffice processes for --pdf; 0 = one per CPU core.
    pdf_workers: int = 0
    kinds: dict[str, DocumentKindConfig] = field(default_factory=dict)


@dataclass
class MailConfig:
    transport: str = "outbox"  # "outbox" | "smtp"
    #: Where the outbox transport writes .eml files; empty = <output.dir>/outbox.
    outbox_dir: str = ""
    host: str = "localhost"
    port: int = 25
    security: str = "none"  # "none" | "starttls" | "ssl"
    username: str = ""
    #: Name of the environment variable holding the SMTP password (never the password).
    password_env: str = "TOOLKIT_SMTP_PASSWORD"
    sender: str = "complaints@example.com"
    timeout: float = 30.0
    retries: int = 3
    #: Seconds before the first retry of a transient failure; doubles on each further try.
    retry_delay: float = 2.0
    #: CA certificate file (PEM) to verify the server's certificate with, for a server whose
    #: certificate is self-signed or from a company CA; empty = the system's CA store.
    ca_file: str = ""
    #: Log in over an unencrypted connection (security = "none" with a username). Off: the
    #: password would cross the network in clear, so the run stops and says so.
    allow_plaintext_login: bool = False


@dataclass
class RemindersConfig:
    quality_manager: str = ""
    #: Working days overdue after which the department head (level 2) and the quality manager
    #: (level 3) are added.
    level2_after: int = 3
    level3_after: int = 7
    #: Working days before a due date that a heads-up goes out (0 = none).
    heads_up_days: int = 1
    #: Send again every N days while an item stays overdue at the same level.
    repeat_every_days: int = 1


@dataclass
class DepartmentConfig:
    #: The department head: an e-mail address, or the name of a person in [people].
    head: str = ""
    #: The department's own group robot (names of environment variables, never the URL itself);
    #: empty = the channel's default group.
    wecom_webhook_env: str = ""
    dingtalk_webhook_env: str = ""
    dingtalk_secret_env: str = ""
    feishu_webhook_env: str = ""
    feishu_secret_env: str = ""


@dataclass
class PersonConfig:
    email: str = ""
    #: Mobile number, to @-mention the person in WeCom and DingTalk groups.
    mobile: str = ""
    #: Feishu open_id / user_id (ou_...), to @-mention the person in Feishu groups (Feishu's
    #: custom bots cannot mention by mobile number).
    feishu_user_id: str = ""


#: The delivery channels ``[notify] channels`` may name.
CHANNELS = ("email", "wecom", "dingtalk", "feishu")


@dataclass
class NotifyConfig:
    #: Where reminders go: any of "email", "wecom", "dingtalk", "feishu".
    channels: list[str] = field(default_factory=lambda: ["email"])
    #: Group robots: retries of a 5xx, timeout or dropped connection, with doubling backoff.
    retries: int = 3
    retry_delay: float = 2.0
    timeout: float = 10.0
    #: Seconds to wait when a robot says "too many messages" before trying again (up to
    #: ``retries`` times); after that the message is left for the next run.
    rate_limit_wait: float = 60.0


@dataclass
class RobotConfig:
    """One group-robot channel's default group."""

    #: Name of the environment variable holding the robot's webhook URL (its key is a secret).
    webhook_env: str = ""
    #: Name of the environment variable holding the signing secret (DingTalk 加签, Feishu 签名校验).
    secret_env: str = ""
    #: A keyword the robot requires (自定义关键词); put in every message.
    keyword: str = ""
    #: Messages a minute this toolkit posts to one robot (the APIs allow about 20; 0 = no pacing).
    per_minute: int = 20


@dataclass
class StateConfig:
    #: SQLite ledger of sent reminders and run history; empty = <output.dir>/state.sqlite.
    path: str = ""


@dataclass
class ScheduleConfig:
    times: list[str] = field(default_factory=lambda: ["09:00"])
    days: list[str] = field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"])
    workdays_only: bool = True


@dataclass
class ReportsConfig:
    #: Statistics workbook; empty = <output.dir>/reports/complaint-statistics.xlsx.
    out: str = ""
    #: Weekly digest to the quality manager, e.g. "mon 09:00"; empty = off.
    weekly: str = ""


@dataclass
class Config:
    register: RegisterConfig = field(default_factory=RegisterConfig)
    columns: dict[str, ColumnConfig] = field(default_factory=dict)
    lists: ListsConfig = field(default_factory=ListsConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    rules: RulesConfig = field(default_factory=RulesConfig)
    calendar: CalendarConfig = field(default_factory=CalendarConfig)
    company: CompanyConfig = field(default_factory=CompanyConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    documents: DocumentsConfig = field(default_factory=DocumentsConfig)
    mail: MailConfig = field(default_factory=MailConfig)
    reminders: RemindersConfig = field(default_factory=RemindersConfig)
    departments: dict[str, DepartmentConfig] = field(default_factory=dict)
    people: dict[str, PersonConfig] = field(default_factory=dict)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    wecom: RobotConfig = field(default_factory=lambda: RobotConfig(webhook_env="TOOLKIT_WECOM_WEBHOOK"))
    dingtalk: RobotConfig = field(default_factory=lambda: RobotConfig(
        webhook_env="TOOLKIT_DINGTALK_WEBHOOK", secret_env="TOOLKIT_DINGTALK_SECRET"))
    feishu: RobotConfig = field(default_factory=lambda: RobotConfig(
        webhook_env="TOOLKIT_FEISHU_WEBHOOK", secret_env="TOOLKIT_FEISHU_SECRET"))
    state: StateConfig = field(default_factory=StateConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    reports: ReportsConfig = field(default_factory=ReportsConfig)

    #: Where the config came from (None: defaults) and the folder relative paths start at.
    source: Path | None = None
    base_dir: Path = field(default_factory=Path.cwd)
    #: Warnings met while loading (unknown keys); also logged.
    warnings: list[str] = field(default_factory=list)

    # -- conveniences used by several stages ------------------------------------------------
    @property
    def language(self) -> str:
        return self.register.language

    def path(self, value: str | os.PathLike[str]) -> Path:
        """A config path resolved against the config file's folder."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    @property
    def register_path(self) -> Path:
        return self.path(self.register.path)

    @property
    def output_dir(self) -> Path:
        return self.path(self.output.dir)

    @property
    def documents_dir(self) -> Path:
        return self.path(self.documents.dir) if self.documents.dir else self.output_dir / "documents"

    @property
    def outbox_dir(self) -> Path:
        return self.path(self.mail.outbox_dir) if self.mail.outbox_dir else self.output_dir / "outbox"

    @property
    def state_path(self) -> Path:
        return self.path(self.state.path) if self.state.path else self.output_dir / "state.sqlite"

    @property
    def column_aliases(self) -> dict[str, list[str]]:
        return {name: col.aliases for name, col in self.columns.items()}

    def list_values(self, key: str) -> list[str]:
        """Values of a config list (``channels``, ``categories``, ``departments``, ``root_causes``,
        ``specials``)."""
        return list(getattr(self.lists, key))

    def person_email(self, name: str | None) -> str:
        person = self.people.get(name or "")
        return person.email if person else ""

    def department_head(self, department: str | None) -> str:
        dept = self.departments.get(department or "")
        return dept.head if dept else ""

    def person_by_email(self, address: str) -> tuple[str, PersonConfig | None]:
        """The ``[people]`` entry whose e-mail is ``address`` (case-insensitive), if any."""
        wanted = address.strip().casefold()
        for name, person in self.people.items():
            if person.email.strip().casefold() == wanted:
                return name, person
        return "", None


# -- loading ------------------------------------------------------------------------------


def find_config(explicit: str | os.PathLike[str] | None) -> Path | None:
    """``--config`` path, else ``$TOOLKIT_CONFIG``, else ``./config.toml`` if it exists."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    local = Path.cwd() / DEFAULT_NAME
    return local if local.exists() else None


#: Config messages in both languages. The language comes from the file being read
#: (``[register] language``), sniffed from its text when it does not parse; Chinese by default.
MESSAGES: Messages = {
    "missing": {"zh": "配置文件 {path} 不存在。请创建它（可参照项目自带的 config.toml），或用 --config 指定正确的路径。",
                "en": "config file {path} does not exist. Create it (see the example config.toml in the "
                      "project) or pass --config with the right path."},
    "folder": {"zh": "配置路径 {path} 是一个文件夹：请指定其中的 config.toml 文件。",
               "en": "config path {path} is a folder; pass the config.toml file inside it."},
    "toml": {"zh": "{path} 不是有效的 TOML：{error}。请修改提示的那一行。",
             "en": "{path} is not valid TOML: {error}. Fix the line it names."},
    "unreadable": {"zh": "无法读取配置文件 {path}：{error}", "en": "cannot read config file {path}: {error}"},
    "unknown-key": {"zh": "未知的配置项 {option} 已忽略：请检查拼写。",
                    "en": "unknown config key {option} is ignored; check its spelling."},
    "type": {"zh": "{option} 应为{expected}，但这里是{got}（{value}）。",
             "en": "{option} must be {expected}, got {got} ({value})."},
    "choice": {"zh": "{option} 为 \"{value}\"，只能是 {allowed} 之一。",
               "en": "{option} is \"{value}\"; it must be one of {allowed}."},
    "no-field": {"zh": "[columns.{name}] 不是台账的字段名。可用字段：{fields}。",
                 "en": "[columns.{name}] names no field of the register. Known fields: {fields}."},
    "date": {"zh": "{option} 中的 \"{value}\" 不是日期：请写成 YYYY-MM-DD。",
             "en": "{option} has \"{value}\"; write dates as YYYY-MM-DD."},
    "no-times": {"zh": "{option} 为空：计划任务永远不会运行。请至少给一个时间，如 times = [\"09:00\"]。",
                 "en": "{option} is empty: the scheduler would never run. Give at least one time, e.g. "
                       "times = [\"09:00\"]."},
    "no-days": {"zh": "{option} 为空，而 workdays_only = false：计划任务永远不会运行。请列出要运行的日子，"
                      "如 days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"]，或设 workdays_only = true 按工作日历运行。",
                "en": "{option} is empty and workdays_only = false: the scheduler would never run. List the days "
                      "to run, e.g. days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"], or set "
                      "workdays_only = true to follow the working-day calendar."},
    "utf16": {"zh": "配置文件 {path} 是 UTF-16 编码（记事本的“Unicode”）：请以 UTF-8 保存"
                    "（记事本：文件 → 另存为 → 编码选“UTF-8”），然后重试。",
              "en": "config file {path} is UTF-16 (Notepad's \"Unicode\"): save it as UTF-8 "
                    "(Notepad: File → Save As → Encoding \"UTF-8\") and try again."},
    "toml-at": {"zh": "{path} 第 {line} 行第 {column} 列不是有效的 TOML（{error}）{hint}：请修改这一行：{text}",
                "en": "{path} is not valid TOML at line {line}, column {column} ({error}){hint}: fix this "
                      "line: {text}"},
    "hint-quote": {"zh": "，可能少了一个引号或括号", "en": "; a quote or a bracket may be missing"},
    "hint-twice": {"zh": "，同一个 [节] 或同一项写了两次", "en": "; the same [section] or key is there twice"},
    "time": {"zh": "{option} 为 \"{value}\"：时间请写成 HH:MM 或 HH:MM:SS。",
             "en": "{option} is \"{value}\"; write times as HH:MM or HH:MM:SS."},
    "range": {"zh": "{option} 为 {value}，超出范围：{valid}。", "en": "{option} is {value}, out of range: {valid}."},
    "range.between": {"zh": "应在 {low} 到 {high} 之间", "en": "it must be from {low} to {high}"},
    "range.positive": {"zh": "应大于 0（最大 {high}）", "en": "it must be more than 0 (at most {high})"},
    "range.more-than": {"zh": "应大于 {low}", "en": "it must be more than {low}"},
    "range.at-least": {"zh": "应不小于 {low}", "en": "it must be {low} or more"},
    "range.workers": {"zh": "（0 表示每个 CPU 核心一个）", "en": " (0 = one per CPU core)"},
    "maybe": {"zh": "是否应为 {names}？", "en": "Did you mean {names}?"},
    "gbk": {"zh": "配置文件 {path} 不是 UTF-8 编码（看起来是 GBK，即记事本的“ANSI”）：请以 UTF-8 保存"
                  "（记事本：文件 → 另存为 → 编码选“UTF-8”），然后重试。",
            "en": "config file {path} is not UTF-8 (it looks like GBK, Notepad's \"ANSI\"): save it as UTF-8 "
                  "(Notepad: File → Save As → Encoding \"UTF-8\") and try again."},
    "backslash": {"zh": "{path} 第 {line} 行：{name} = \"{value}\" 是带反斜杠 \\ 的 Windows 路径，而在双引号里 \\ "
                        "是转义符（\\n 会变成换行）。请改用单引号：{name} = '{value}'，或写成 {slashed}。",
                  "en": "{path} line {line}: {name} = \"{value}\" is a Windows path with backslashes, but inside "
                        "double quotes \\ starts an escape (\\n becomes a line break). Use single quotes: "
                        "{name} = '{value}', or write {slashed}."},
    "weekly": {
        "zh": "[reports].weekly 为 \"{value}\"；请写成 \"星期 时:分\"，如 \"mon 09:00\"（mon tue wed thu fri sat sun），"
              "或留空以关闭周报。",
        "en": "[reports].weekly is \"{value}\"; write it as \"DAY HH:MM\", e.g. \"mon 09:00\" "
              "(mon tue wed thu fri sat sun), or leave it empty to turn the weekly digest off.",
    },
    "day": {"zh": "[schedule].days[{i}] 为 \"{value}\"：请用 mon、tue、wed、thu、fri、sat 或 sun。",
            "en": "[schedule].days[{i}] is \"{value}\"; use mon, tue, wed, thu, fri, sat or sun."},
    "positive": {"zh": "{option} 为 {value}：必须大于 0。", "en": "{option} is {value}; it must be more than 0."},
    "blank-alias": {"zh": "{option} 是空白的别名：空白表头无法识别任何列，请删除它或写上实际的列名。",
                    "en": "{option} is a blank alias: a blank header names no column; remove it or write "
                          "the header you use."},
    "blank-list-value": {"zh": "{option} 是空白值：请删除它或写上实际的值。",
                         "en": "{option} is blank; remove it or write the value."},
    "synonym-target": {"zh": "{option} 指向“{value}”，它不是任何列表字段的可选值：同义词必须指向已有的值，"
                             "如“已结案”。",
                       "en": "{option} points to \"{value}\", which is no list field's value: a synonym must "
                             "point to an existing value, such as \"已结案\"."},
    "env-name": {"zh": "{option} 应是环境变量的名字（如 TOOLKIT_WECOM_WEBHOOK），而这里写的像是网址或密钥本身"
                       "（内容不在此显示）：请把它放进环境变量，配置文件里只写变量名。",
                 "en": "{option} must be the name of an environment variable (such as TOOLKIT_WECOM_WEBHOOK), "
                       "but it looks like the URL or secret itself (not shown here): put that into the "
                       "environment and write only the variable's name in the config file."},
    "sender": {
        "zh": "{option} 为“{value}”，不是一个有效的发件地址（{why}）：请只写一个地址，如 "
              "complaints@example.com 或 投诉系统 <complaints@example.com>，不要有逗号、换行或第二个地址。",
        "en": "{option} is \"{value}\", not one valid sender address ({why}); write exactly one, such as "
              "complaints@example.com or Complaints <complaints@example.com>, with no comma, line break or "
              "second address."},
    "recipient": {
        "zh": "{option} 为“{value}”，不是一个有效的收件人（{why}）：请只写一个邮箱地址（如 qm@example.com，"
              "也可写成 质量经理 <qm@example.com>），或 [people] 中的一个人名；不要写多个地址。",
        "en": "{option} is \"{value}\", not one valid recipient ({why}); write one e-mail address (such as "
              "qm@example.com, or Quality Manager <qm@example.com>) or the name of a person in [people]; "
              "never several addresses."},
}
_TYPES: dict[str, dict[str, str]] = {
    "table": {"zh": "一个表（[...] 段）", "en": "a table"},
    "list": {"zh": "一个列表（[...]）", "en": "a list"},
    "bool": {"zh": "布尔值 true 或 false", "en": "true or false"},
    "int": {"zh": "整数", "en": "a whole number"},
    "number": {"zh": "数字", "en": "a number"},
    "text": {"zh": "带引号的文字", "en": "text in quotes"},
}


@dataclass
class _Loading:
    """What the loader carries while it walks the file: where, in which language, warnings."""

    where: str
    language: str
    warnings: list[str] = field(default_factory=list)

    def message(self, message_id: str, **values: Any) -> str:
        return self.where + translate(MESSAGES, message_id, self.language, **values)

    def error(self, message_id: str, **values: Any) -> ConfigError:
        return _error(self.message(message_id, **values), self.language)

    def type_error(self, path: str, expected: str, value: Any) -> ConfigError:
        return self.error("type", option=_show(path), expected=_TYPES[expected][self.language],
                          got=_TYPES[_kind(value)][self.language], value=repr(value))


def _error(message: str, language: str) -> ConfigError:
    """A ConfigError that knows its language (the CLI words its prefix to match)."""
    error = ConfigError(message)
    error.language = language
    return error


def sniff_language(text: str) -> str:
    """``en`` when the file says ``language = "en"`` (even if it does not parse), else ``zh``."""
    return "en" if re.search(r'^\s*language\s*=\s*["\']en["\']', text, re.MULTILINE) else "zh"


def load_config(path: str | os.PathLike[str] | None = None, *, search: bool = True) -> Config:
    """Read the config at ``path`` (or the one :func:`find_config` finds) into a :class:`Config`.

    Raises :class:`ConfigError` naming the file and key when the file is unreadable or a value
    has the wrong type; the message is in the file's own language (Chinese by default).
    """
    resolved = find_config(path) if search else (Path(path) if path else None)
    if resolved is None:
        return Config()
    if not resolved.exists():
        raise _error(translate(MESSAGES, "missing", "zh", path=resolved), "zh")
    if resolved.is_dir():
        raise _error(translate(MESSAGES, "folder", "zh", path=resolved), "zh")
    try:
        data = resolved.read_bytes()
    except OSError as exc:
        raise _error(translate(MESSAGES, "unreadable", "zh", path=resolved, error=exc), "zh") from exc
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # Notepad's "Unicode": every other byte a NUL
        raise _error(translate(MESSAGES, "utf16", "zh", path=resolved), "zh")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # Notepad's "ANSI" on a Chinese Windows is GBK: say so, rather than "invalid start byte".
        try:
            language = sniff_language(data.decode("gbk"))
        except UnicodeDecodeError:
            raise _error(translate(MESSAGES, "unreadable", "zh", path=resolved, error=exc), "zh") from exc
        raise _error(translate(MESSAGES, "gbk", language, path=resolved), language) from None
    language = sniff_language(text)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        _check_backslashes(text, resolved, language, parsed=False)
        raise _error(_toml_error(exc, text, resolved, language), language) from exc
    _check_backslashes(text, resolved, language, parsed=True)
    return config_from_dict(raw, source=resolved)


_TOML_AT = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)\s*$")


def _toml_error(exc: Exception, text: str, path: Path, language: str) -> str:
    """tomllib's message, with the line it names shown (in Chinese, its place in Chinese too)."""
    message = str(exc)
    found = _TOML_AT.search(message)
    if found is None:
        return translate(MESSAGES, "toml", language, path=path, error=exc)
    lines = text.splitlines() or [""]
    if found.group(1):
        line, column = int(found.group(1)), int(found.group(2))
    else:  # "at end of document": an unclosed quote or bracket, the last line that has text
        line = max((i for i, t in enumerate(lines, 1) if t.strip()), default=1)
        column = len(lines[line - 1]) + 1
    what = message[:found.start()]
    hint = ("hint-quote" if re.search(r'Expected|Unclosed|Unterminated|end of document', message) else
            "hint-twice" if "twice" in message or "overwrite" in message else "")
    shown = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    return translate(MESSAGES, "toml-at", language, path=path, line=line, column=column, error=what,
                     hint=translate(MESSAGES, hint, language) if hint else "", text=shown[:120])


_BASIC_STRING_LINE = re.compile(r'^\s*([A-Za-z0-9_.\-"]+)\s*=\s*"((?:[^"\\]|\\.)*)"', re.MULTILINE)
_TOML_ESCAPE = re.compile(r'\\(?:[btnfr"\\]|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})')


def _check_backslashes(text: str, path: Path, language: str, *, parsed: bool) -> None:
    """A Windows path typed in double quotes: ``"D:\\台账\\new.xlsx"`` is a TOML error, or worse,
    parses with ``\\n`` turned into a line break. Either way, say how to write it."""
    for match in _BASIC_STRING_LINE.finditer(text):
        key, value = match.group(1), match.group(2)
        if "\\" not in value:
            continue
        bad_escape = _TOML_ESCAPE.sub("", value).count("\\") > 0
        # A drive letter or UNC start with single backslashes: valid escapes (\n, \t) mangled it.
        windows_path = re.match(r"([A-Za-z]:\\(?!\\)|\\\\(?!\\))", value) is not None and "\\\\" not in value[2:]
        if (not parsed and bad_escape) or windows_path:
            line = text.count("\n", 0, match.start(2)) + 1
            slashed = '"' + value.replace("\\", "/") + '"'
            raise _error(translate(MESSAGES, "backslash", language, path=path, line=line, name=key.strip('"'),
                                   value=value, slashed=slashed), language)


def config_from_dict(raw: dict[str, Any], *, source: Path | None = None) -> Config:
    """Build a :class:`Config` from parsed TOML; paths relative to ``source``'s folder."""
    register = raw.get("register")
    language = "en" if isinstance(register, dict) and register.get("language") == "en" else "zh"
    ctx = _Loading(f"{source}: " if source else "", language)
    cfg = _build(Config, raw, "", ctx)
    cfg.source = source
    cfg.base_dir = source.resolve().parent if source else Path.cwd()
    cfg.warnings = ctx.warnings
    for message in ctx.warnings:
        log.warning(message)
    _check_values(cfg, ctx)
    return cfg


_INTERNAL = {"source", "base_dir", "warnings"}


def _build(cls: type, raw: Any, prefix: str, ctx: _Loading) -> Any:
    if not isinstance(raw, dict):
        raise ctx.type_error(prefix, "table", raw)
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls) if f.name not in _INTERNAL}
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        path = f"{prefix}.{key}" if prefix else key
        if key not in known:
            ctx.warnings.append(ctx.message("unknown-key", option=_show(path)) + _did_you_mean(key, known, prefix, ctx))
            continue
        kwargs[key] = _coerce(hints[key], value, path, ctx)
    return cls(**kwargs)


def _coerce(hint: Any, value: Any, path: str, ctx: _Loading) -> Any:
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, path, ctx)
    if origin is dict:
        _, item_type = typing.get_args(hint)
        if not isinstance(value, dict):
            raise ctx.type_error(path, "table", value)
        return {str(k): _coerce(item_type, v, f'{path}."{k}"', ctx) for k, v in value.items()}
    if origin is list:
        (item_type,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ctx.type_error(path, "list", value)
        return [_coerce(item_type, v, f"{path}[{i}]", ctx) for i, v in enumerate(value)]
    if origin in (typing.Union, types.UnionType):
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ctx.type_error(path, "bool", value)
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ctx.type_error(path, "int", value)
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ctx.type_error(path, "number", value)
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ctx.type_error(path, "text", value)
        return value
    return value


def _check_values(cfg: Config, ctx: _Loading) -> None:
    """Checks beyond types: closed sets of values and names that must exist."""
    choices = {
        "register.language": (cfg.register.language, ("zh", "en")),
        "register.date_order": (cfg.register.date_order, ("", "mdy", "dmy")),
        "mail.transport": (cfg.mail.transport, ("outbox", "smtp")),
        "mail.security": (cfg.mail.security, ("none", "starttls", "ssl")),
        **{f"notify.channels[{i}]": (c, CHANNELS) for i, c in enumerate(cfg.notify.channels)},
    }
    for path, (value, allowed) in choices.items():
        if value not in allowed:
            raise ctx.error("choice", option=_show(path), value=value, allowed=", ".join(f'"{a}"' for a in allowed))
    for name in cfg.columns:
        if name not in FIELD_BY_NAME:
            raise _error(ctx.message("no-field", name=name, fields=", ".join(FIELD_BY_NAME))
                         + _did_you_mean(name, FIELD_BY_NAME, "columns", ctx), ctx.language)
    _check_lists(cfg, ctx)
    for path, dates in (("calendar.extra_holidays", cfg.calendar.extra_holidays),
                        ("calendar.extra_workdays", cfg.calendar.extra_workdays)):
        for value in dates:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ctx.error("date", option=_show(path), value=value)
    if not cfg.schedule.times:
        raise ctx.error("no-times", option=_show("schedule.times"))
    if not cfg.schedule.days and not cfg.schedule.workdays_only:
        raise ctx.error("no-days", option=_show("schedule.days"))
    for i, value in enumerate(cfg.schedule.times):
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?", value):
            raise ctx.error("time", option=_show(f"schedule.times[{i}]"), value=value)
    # Checked at load so a typo stops any command at once, not the scheduler on its first day.
    try:
        parse_weekly(cfg.reports.weekly, cfg.register.language)
        parse_days(cfg.schedule.days, cfg.register.language)
    except ConfigError as exc:
        raise _error(f"{ctx.where}{exc}", ctx.language) from None
    envs = [(f"{ch}.{k}", getattr(getattr(cfg, ch), k)) for ch in ("wecom", "dingtalk", "feishu")
            for k in ("webhook_env", "secret_env")]
    envs += [(f'departments."{name}".{k}', getattr(dept, k)) for name, dept in cfg.departments.items()
             for k in ("wecom_webhook_env", "dingtalk_webhook_env", "dingtalk_secret_env",
                       "feishu_webhook_env", "feishu_secret_env")]
    envs.append(("mail.password_env", cfg.mail.password_env))
    for path, value in envs:
        # A secret pasted where its variable's name belongs must not be echoed into any message.
        if value and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ctx.error("env-name", option=_show(path))
    _check_ranges(cfg, ctx)
    _check_addresses(cfg, ctx)


def _check_addresses(cfg: Config, ctx: _Loading) -> None:
    """The sender and the configured recipients, at load: a bad one found only when a digest is
    sent fails every run's escalations (exit 3) instead of the command at once (exit 2).

    A recipient written ``Name <addr>`` is kept as its address: the ledger and the planner key
    people by address, and the mail is addressed to it alone.
    """
    try:
        check_mailbox(cfg.mail.sender)
    except AddressError as exc:
        raise ctx.error("sender", option="[mail].sender", value=shown(cfg.mail.sender),
                        why=reason(exc, ctx.language)) from None
    cfg.reminders.quality_manager = _recipient(cfg.reminders.quality_manager, "[reminders].quality_manager", ctx)
    for name, dept in cfg.departments.items():
        dept.head = _recipient(dept.head, f'[departments."{name}"].head', ctx)


def _recipient(value: str, option: str, ctx: _Loading) -> str:
    """One address (``Name <addr>`` becomes ``addr``) or a person's name, else a ConfigError."""
    text = value.strip()
    if not text:
        return value
    if "@" not in text and "<" not in text and ">" not in text and "," not in text:
        if CONTROL.search(text):  # a name from [people]; one line
            why = reason(AddressError("contains a line break or control character"), ctx.language)
            raise ctx.error("recipient", option=option, value=shown(text), why=why)
        return value
    try:
        return check_mailbox(text).addr_spec
    except AddressError as exc:
        raise ctx.error("recipient", option=option, value=shown(text), why=reason(exc, ctx.language)) from None


@dataclass(frozen=True, slots=True)
class Range:
    """The valid values of a config number: ``low`` to ``high`` inclusive (None: no bound);
    ``positive`` excludes ``low`` itself (a timeout of 0 means "never wait" to a socket)."""

    low: float
    high: float | None = None
    positive: bool = False

    def __contains__(self, value: float) -> bool:
        if value < self.low or (self.positive and value == self.low):
            return False
        return self.high is None or value <= self.high

    def describe(self, language: str) -> str:
        if self.positive:
            if self.high is None:
                return translate(MESSAGES, "range.more-than", language, low=_number(self.low))
            return translate(MESSAGES, "range.positive", language, high=_number(self.high))
        if self.high is None:
            return translate(MESSAGES, "range.at-least", language, low=_number(self.low))
        return translate(MESSAGES, "range.between", language, low=_number(self.low), high=_number(self.high))


#: Every number in the config and what it may be, by key path ("*" matches any one name, for
#: [rules.A] and the like). A number the table does not cover fails tests/test_config.py, so a new
#: key cannot arrive unchecked. Upper bounds only where a bigger value can only be a typo (a port,
#: thousands of worker processes, a timeout of days).
RANGES: dict[str, Range] = {
    "rules.*.reply_days": Range(0),
    "rules.*.followup_days": Range(0),
    "documents.workers": Range(0, 256),
    "limits.unpacked_mb": Range(0, positive=True),
    "limits.compression_ratio": Range(0, positive=True),
    "limits.helper_processes": Range(0, 2),
    "documents.pdf_workers": Range(0, 256),
    "notify.retries": Range(0, 100),
    "notify.retry_delay": Range(0, 3600),
    "notify.timeout": Range(0, 3600, positive=True),
    "notify.rate_limit_wait": Range(0, 3600),
    "wecom.per_minute": Range(0, 1000),
    "dingtalk.per_minute": Range(0, 1000),
    "feishu.per_minute": Range(0, 1000),
    "mail.port": Range(1, 65535),
    "mail.timeout": Range(0, 3600, positive=True),
    "mail.retries": Range(0, 100),
    "mail.retry_delay": Range(0, 3600),
    # No upper bound: a large number is how a site says "never escalate" or "never repeat".
    "reminders.level2_after": Range(0),
    "reminders.level3_after": Range(0),
    "reminders.heads_up_days": Range(0),
    "reminders.repeat_every_days": Range(0),
}


def _number(value: float | None) -> str:
    return "" if value is None else (str(int(value)) if float(value).is_integer() else str(value))


def number_keys(cfg: Config) -> typing.Iterator[tuple[str, str, Any]]:
    """Every number in a config: (key path, key pattern as in :data:`RANGES`, value)."""
    for f in dataclasses.fields(cfg):
        if f.name not in _INTERNAL:
            yield from _number_items(getattr(cfg, f.name), f.name, f.name)


def _number_items(value: Any, path: str, pattern: str) -> typing.Iterator[tuple[str, str, Any]]:
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        yield path, pattern, value
    elif dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            if f.name not in _INTERNAL:
                yield from _number_items(getattr(value, f.name), f"{path}.{f.name}", f"{pattern}.{f.name}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _number_items(item, f'{path}."{key}"', f"{pattern}.*")


def range_for(pattern: str) -> Range | None:
    """The :data:`RANGES` entry for a key pattern (``rules.A.reply_days`` matches ``rules.*...``)."""
    if pattern in RANGES:
        return RANGES[pattern]
    parts = pattern.split(".")
    for key, rng in RANGES.items():
        wanted = key.split(".")
        if len(wanted) == len(parts) and all(w in ("*", p) for w, p in zip(wanted, parts, strict=True)):
            return rng
    return None


def _check_ranges(cfg: Config, ctx: _Loading) -> None:
    for path, pattern, value in number_keys(cfg):
        rng = range_for(pattern)
        if rng is not None and value not in rng:
            valid = rng.describe(ctx.language)
            if path in ("documents.workers", "documents.pdf_workers"):
                valid += translate(MESSAGES, "range.workers", ctx.language)
            raise ctx.error("range", option=_show(path), value=_number(value), valid=valid)


def _did_you_mean(name: str, known: typing.Iterable[str], prefix: str, ctx: _Loading) -> str:
    """`` 是否应为 [mail].port？`` for a misspelt key, else empty."""
    close = difflib.get_close_matches(name, list(known), n=2, cutoff=0.6)
    if not close:
        return ""
    shown = [_show(f"{prefix}.{c}" if prefix else c) for c in close]
    return ("" if ctx.language == "zh" else " ") + translate(MESSAGES, "maybe", ctx.language,
                                                              names="、".join(shown) if ctx.language == "zh"
                                                              else " or ".join(shown))


# -- small pure parsers the stages share (here, so the config checks them without importing the stages)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKLY = re.compile(r"\s*(mon|tue|wed|thu|fri|sat|sun)[a-z]*\s+([01]?\d|2[0-3]):([0-5]\d)\s*", re.IGNORECASE)


def parse_weekly(text: str, language: str = "zh") -> tuple[int, dt.time] | None:
    """``"mon 09:00"`` -> (0, 09:00); empty -> None (weekly digest off)."""
    if not text.strip():
        return None
    match = _WEEKLY.fullmatch(text)
    if not match:
        raise _error(translate(MESSAGES, "weekly", language, value=text), language)
    day = WEEKDAYS.index(match.group(1)[:3].lower())
    return day, dt.time(int(match.group(2)), int(match.group(3)))


def parse_days(days: list[str], language: str = "zh") -> frozenset[int]:
    """``["mon", "fri"]`` -> weekday numbers (Monday 0); ConfigError naming the bad one."""
    numbers = set()
    for i, name in enumerate(days):
        key = name.strip().lower()[:3]
        if key not in WEEKDAYS:
            raise _error(translate(MESSAGES, "day", language, i=i, value=name), language)
        numbers.add(WEEKDAYS.index(key))
    return frozenset(numbers)


def _check_lists(cfg: Config, ctx: _Loading) -> None:
    """Aliases and list values that are blank, synonyms that point nowhere, limits of 0."""
    for name, column in cfg.columns.items():
        for i, alias in enumerate(column.aliases):
            if not alias.strip():
                raise ctx.error("blank-alias", option=f"[columns.{name}].aliases[{i}]")
    for key in ("channels", "categories", "departments", "root_causes", "specials"):
        for i, value in enumerate(cfg.list_values(key)):
            if not value.strip():
                raise ctx.error("blank-list-value", option=f"[lists].{key}[{i}]")
    values: set[str] = set()
    for f in FIELD_BY_NAME.values():
        if f.kind == LIST:
            values.update(cfg.list_values(f.config_list) if f.config_list else f.choices)
    for spelling, target in cfg.lists.synonyms.items():
        if not spelling.strip():
            raise ctx.error("blank-alias", option='[lists.synonyms].""')
        if target not in values:
            raise ctx.error("synonym-target", option=f'[lists.synonyms]."{spelling}"', value=target)
    for key in ("unpacked_mb", "compression_ratio"):
        value = getattr(cfg.limits, key)
        if value <= 0:
            raise ctx.error("positive", option=f"[limits].{key}", value=value)


def _show(path: str) -> str:
    """``register.path`` -> ``[register].path``; a top-level key stays as it is."""
    head, _, rest = path.partition(".")
    return f"[{head}].{rest}" if rest else f"[{head}]"


def _kind(value: Any) -> str:
    """The _TYPES key describing what a TOML value is."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, dict):
        return "table"
    if isinstance(value, list):
        return "list"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "number"
    return "text"
