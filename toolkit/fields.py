"""The register's fields: canonical names, Chinese and English headers, types and lists.

This table is the spec of ``../shared/REGISTER.md`` in code. Every other module refers to a
field by its canonical name (``complaint_id``); header texts and list values in either language
are resolved here.

List values are stored on records in their canonical (Chinese) form, so rules and reports
compare one spelling. English equivalents are accepted when the register language is English.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

TEXT, DATE, LIST, PHONE, EMAIL, NUMBER = "text", "date", "list", "phone", "email", "number"


@dataclass(frozen=True, slots=True)
class Field:
    """One column of the register."""

    name: str
    zh: str
    en: str
    kind: str
    #: Built-in list values, canonical (Chinese) spelling; empty for config lists or non-lists.
    choices: tuple[str, ...] = ()
    #: English equivalents, same order as ``choices``.
    choices_en: tuple[str, ...] = ()
    #: Name of the ``[lists]`` config key that supplies the values (channels, categories,
    #: departments, root causes, special kinds); ``choices`` are then its defaults.
    config_list: str | None = None
    #: Other headers staff write for this column (WPS/Tencent Docs exports, older registers),
    #: and group + sub-header spellings of a two-row header (纠正预防措施 + 负责人).
    aliases: tuple[str, ...] = ()

    def header(self, language: str) -> str:
        return self.en if language == "en" else self.zh


CHANNELS = ("电话", "来访", "信函", "电子邮件", "网站", "监管部门转办", "消协转办", "12315",
            "12345 市民热线", "微信", "媒体")
CHANNELS_EN = ("Phone", "Visit", "Letter", "E-mail", "Website", "Regulator referral",
               "Consumer association referral", "12315", "12345 citizen hotline", "WeChat", "Media")
NATURES = ("有效投诉", "求助型", "咨询型", "发泄型")
NATURES_EN = ("Valid", "Help-seeking", "Inquiry", "Venting")
SEVERITIES = ("A", "B", "C")
SPECIALS = ("否", "监管部门", "消协", "媒体", "疑似敲诈")
SPECIALS_EN = ("No", "Regulator", "Consumer association", "Media", "Suspected extortion")
ROOT_CAUSES = ("设计品质不良", "制造品质不良", "使用后发生不良反映", "运输及储存过程不良",
               "消费者保存或处理不当", "过期产品", "服务态度", "流程问题", "其他")
ROOT_CAUSES_EN = ("Design defect", "Manufacturing defect", "Adverse reaction after use",
                  "Transport or storage", "Improper storage or handling by customer",
                  "Expired product", "Staff attitude", "Process problem", "Other")
SATISFACTIONS = ("满意", "基本满意", "不满意")
SATISFACTIONS_EN = ("Satisfied", "Fairly satisfied", "Dissatisfied")
STATUSES = ("待处理", "处理中", "待回访", "已结案")
STATUSES_EN = ("Pending", "In progress", "Awaiting follow-up", "Closed")

#: Canonical status values, named for readable code.
PENDING, IN_PROGRESS, AWAITING_FOLLOWUP, CLOSED = STATUSES
VALID_COMPLAINT = NATURES[0]
NOT_SPECIAL = SPECIALS[0]

DEFAULT_CHANNELS = CHANNELS
DEFAULT_CATEGORIES = ("产品质量", "服务态度", "物流配送", "计费收费", "营销宣传", "信息安全", "其他")
DEFAULT_DEPARTMENTS = ("客服部", "质量部", "生产部", "物流部", "销售部", "市场部", "财务部")

FIELDS: tuple[Field, ...] = (
    Field("complaint_id", "投诉编号", "Complaint No.", TEXT),
    Field("received_on", "受理日期", "Date Received", DATE),
    Field("channel", "投诉渠道", "Channel", LIST, CHANNELS, CHANNELS_EN, config_list="channels",
          aliases=("受理渠道", "投诉来源", "来源渠道")),
    Field("customer_name", "客户名称", "Customer", TEXT, aliases=("客户姓名", "投诉人", "投诉人姓名", "客户信息姓名")),
    Field("customer_phone", "联系电话", "Phone", PHONE, aliases=("客户电话", "投诉人电话", "客户信息电话")),
    Field("customer_email", "客户邮箱", "Customer Email", EMAIL, aliases=("客户信息邮箱",)),
    Field("product", "产品/服务", "Product / Service", TEXT),
    Field("batch_no", "批次号", "Batch No.", TEXT),
    Field("respondent", "被投诉方", "Respondent", TEXT),
    Field("description", "投诉内容", "Description", TEXT),
    Field("category", "投诉类别", "Category", LIST, config_list="categories"),
    Field("nature", "投诉性质", "Nature", LIST, NATURES, NATURES_EN),
    Field("severity", "等级", "Class", LIST, SEVERITIES, SEVERITIES),
    Field("special", "特殊客诉", "Special", LIST, SPECIALS, SPECIALS_EN, config_list="specials"),
    Field("department", "责任部门", "Department", LIST, config_list="departments"),
    Field("handler", "首问负责人", "Handler", TEXT),
    Field("handler_email", "负责人邮箱", "Handler Email", EMAIL),
    Field("immediate_action", "应急措施", "Immediate Action", TEXT),
    Field("root_cause", "原因分类", "Root Cause", LIST, ROOT_CAUSES, ROOT_CAUSES_EN, config_list="root_causes"),
    Field("cause_analysis", "原因分析", "Cause Analysis", TEXT),
    Field("resolution", "处理结果", "Resolution", TEXT),
    Field("compensation", "赔付金额", "Compensation", NUMBER),
    Field("reply_due", "承诺答复日期", "Reply Due", DATE),
    Field("corrective_action", "纠正预防措施", "Corrective Action", TEXT,
          aliases=("纠正预防措施措施内容", "纠正预防措施内容")),
    Field("capa_owner", "措施负责人", "CAPA Owner", TEXT, aliases=("纠正预防措施负责人", "纠正预防措施措施负责人")),
    Field("capa_owner_email", "措施负责人邮箱", "CAPA Owner Email", EMAIL,
          aliases=("纠正预防措施负责人邮箱", "纠正预防措施措施负责人邮箱")),
    Field("capa_due", "措施完成期限", "CAPA Due", DATE, aliases=("纠正预防措施完成期限", "纠正预防措施措施完成期限")),
    Field("capa_done", "措施完成日期", "CAPA Done", DATE, aliases=("纠正预防措施完成日期", "纠正预防措施措施完成日期")),
    Field("followup_due", "回访期限", "Follow-up Due", DATE),
    Field("followup_done", "回访日期", "Follow-up Done", DATE),
    Field("satisfaction", "客户满意度", "Satisfaction", LIST, SATISFACTIONS, SATISFACTIONS_EN),
    Field("status", "处理状态", "Status", LIST, STATUSES, STATUSES_EN),
    Field("closed_on", "结案日期", "Date Closed", DATE),
    Field("remarks", "备注", "Remarks", TEXT),
)

FIELD_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)
DATE_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.kind == DATE)

_SPACES = re.compile(r"\s+")
#: Required/optional marks around a header, after NFKC (full-width brackets and ＊ are half-width).
_MARKS = re.compile(r"^\*+|\*+$|\((?:必填|必填项|选填|可选|非必填|required|optional)\)$")


def normalize_header(text: object) -> str:
    """The comparable form of a header cell.

    NFKC folds full-width brackets and slashes to half-width; all white space (line breaks
    inside the cell included) is dropped; case is folded; the marks staff add to say a column
    must or may be filled (``联系电话(必填)``, ``*受理日期``, ``备注（选填）``) are dropped.
    """
    if text is None:
        return ""
    folded = _SPACES.sub("", unicodedata.normalize("NFKC", str(text))).casefold()
    return _MARKS.sub("", folded) or folded


def header_aliases(extra: dict[str, list[str]] | None = None) -> dict[str, str]:
    """Map every normalised header text (both languages plus config aliases) to its field."""
    table: dict[str, str] = {}
    for f in FIELDS:
        for text in (f.zh, f.en, f.name, *f.aliases):
            table.setdefault(normalize_header(text), f.name)
    for name, aliases in (extra or {}).items():
        for text in aliases:
            table[normalize_header(text)] = name
    return table


def is_special(value: object) -> bool:
    """特殊客诉: any value but blank and 否 (REGISTER.md: blank means 否)."""
    text = "" if value is None else str(value).strip()
    return bool(text) and text != NOT_SPECIAL


def display_value(field: str, value: str, language: str) -> str:
    """A canonical list value shown in ``language`` (config lists are shown as given)."""
    f = FIELD_BY_NAME[field]
    if language == "en" and f.choices_en and value in f.choices:
        return f.choices_en[f.choices.index(value)]
    return value
