"""Word/WPS mail-merge templates (邮件合并): MERGEFIELDs filled as Word fills them.

A template made for mail merge holds its blanks as fields: complex fields (``w:fldChar``
begin/separate/end with the instruction in ``w:instrText`` runs, which Word often splits over
several runs) or ``w:fldSimple``. :func:`convert_fields` replaces each top-level MERGEFIELD by one
run (keeping the formatting of the field's shown result) whose text is a slot ``{{ _mf[i] }}``;
the Jinja engine then fills it per document with :func:`format_value`'s text, so MERGEFIELDs and
``{{ }}`` tags mix in one template and a document costs one render either way.

>>> parse_instruction(' MERGEFIELD 受理日期 \\\\@ "yyyy年M月d日" ')
('受理日期', (('\\\\@', 'yyyy年M月d日'),))
>>> format_value(dt.date(2026, 11, 3), "", (("\\\\@", "yyyy年M月d日"),), "zh")
'2026年11月3日'

Word's picture switches: ``\\@`` dates (yyyy yy MMMM MMM MM M dddd ddd dd d HH H hh h mm ss
AM/PM, 'quoted text'), ``\\#`` numbers (0 # . , or a space grouping, literal text around them,
rounded half away from zero as Word does), ``\\*`` Upper,
Lower, FirstCap, Caps (MERGEFORMAT and CHARFORMAT keep formatting, which the kept run does),
``\\b``/``\\f`` text before/after a non-blank value. :func:`unlink_data_source` removes the
``<w:mailMerge>`` settings and the ``mailMergeSource`` relationships, so Word does not ask for
the database the template was merged from.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal

from lxml import etree

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_W = f"{{{W_NS}}}"
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
MAIL_MERGE_SOURCE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/mailMergeSource"
_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"

_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|(\\\S)(\S*)|(\S+)')
#: Legacy form fields: the toolkit does not fill them (they are for typing into in Word).
FORM_FIELDS = ("FORMTEXT", "FORMCHECKBOX", "FORMDROPDOWN")


@dataclass(frozen=True, slots=True)
class MergeField:
    """One MERGEFIELD: the name as the template writes it, its switches, and where it is."""

    name: str
    switches: tuple[tuple[str, str], ...]
    instruction: str
    part: str
    paragraph: int  # 1-based paragraph number within the part


@dataclass(frozen=True, slots=True)
class FieldNote:
    """A field the toolkit leaves alone and says so: a legacy form field, a nested MERGEFIELD."""

    code: str  # "form-field" | "nested-mergefield" | "other-field"
    instruction: str
    part: str
    paragraph: int


def parse_instruction(instruction: str) -> tuple[str, tuple[tuple[str, str], ...]] | None:
    """(field name, switches) of a MERGEFIELD instruction, or None for any other field."""
    tokens: list[str] = []
    for quoted, flag, attached, word in _TOKEN.findall(instruction):
        if flag:
            tokens.append(flag)
            if attached:
                tokens.append(attached)
        else:
            tokens.append(quoted.replace('\\"', '"') if quoted or not word else word)
    if not tokens or tokens[0].upper() != "MERGEFIELD" or len(tokens) < 2:
        return None
    name = tokens[1]
    switches: list[tuple[str, str]] = []
    rest = tokens[2:]
    while rest:
        flag = rest.pop(0)
        if not flag.startswith("\\"):
            continue
        # \m and \v take no argument; the others one.
        argument = rest.pop(0) if flag.lower() not in ("\\m", "\\v") and rest else ""
        switches.append((flag, argument))
    return name, tuple(switches)


def _first_word(instruction: str) -> str:
    return instruction.strip().split(" ", 1)[0].upper() if instruction.strip() else ""


def _slot_run(template_run: etree._Element | None, index: int) -> etree._Element:
    run = etree.Element(f"{_W}r")
    if template_run is not None:
        rpr = template_run.find(f"{_W}rPr")
        if rpr is not None:
            rpr = copy.deepcopy(rpr)
            for unwanted in rpr.findall(f"{_W}noProof"):
                rpr.remove(unwanted)
            run.append(rpr)
    text = etree.SubElement(run, f"{_W}t")
    text.set(_XML_SPACE, "preserve")
    text.text = "{{ _mf[" + str(index) + "] }}"
    return run


def _paragraph_number(paragraphs: dict[etree._Element, int], element: etree._Element) -> int:
    for ancestor in element.iterancestors(f"{_W}p"):
        return paragraphs.get(ancestor, 0)
    return 0


def convert_fields(root: etree._Element, part: str, start: int = 0) -> tuple[list[MergeField], list[FieldNote]]:
    """Replace every top-level MERGEFIELD in ``root`` (a part's XML tree) by a slot run
    ``{{ _mf[i] }}``, numbering from ``start``. Returns the fields, in slot order, and notes on
    fields left alone."""
    paragraphs = {p: n for n, p in enumerate(root.iter(f"{_W}p"), 1)}
    fields: list[MergeField] = []
    notes: list[FieldNote] = []

    # w:fldSimple: the instruction is an attribute, the shown result its runs.
    for simple in list(root.iter(f"{_W}fldSimple")):
        instruction = simple.get(f"{_W}instr", "")
        parsed = parse_instruction(instruction)
        where = _paragraph_number(paragraphs, simple)
        if parsed is None:
            if _first_word(instruction) in FORM_FIELDS:
                notes.append(FieldNote("form-field", instruction.strip(), part, where))
            continue
        if any(a.tag == f"{_W}fldSimple" for a in simple.iterancestors()):
            notes.append(FieldNote("nested-mergefield", instruction.strip(), part, where))
            continue
        index = start + len(fields)
        fields.append(MergeField(parsed[0], parsed[1], instruction.strip(), part, where))
        run = _slot_run(simple.find(f"{_W}r"), index)
        parent = simple.getparent()
        parent.replace(simple, run)

    # Complex fields: begin ... instruction runs ... separate ... result runs ... end.
    stack: list[dict] = []
    for run in list(root.iter(f"{_W}r")):
        char = run.find(f"{_W}fldChar")
        kind = char.get(f"{_W}fldCharType") if char is not None else None
        if kind == "begin":
            stack.append({"begin": run, "instr": [], "runs": [run], "result": None, "separated": False})
            continue
        if not stack:
            continue
        top = stack[-1]
        top["runs"].append(run)
        for outer in stack[:-1]:
            outer["runs"].append(run)
        if kind == "separate":
            top["separated"] = True
        elif kind == "end":
            stack.pop()
            instruction = "".join(top["instr"])
            parsed = parse_instruction(instruction)
            where = _paragraph_number(paragraphs, top["begin"])
            if parsed is None:
                if _first_word(instruction) in FORM_FIELDS:
                    notes.append(FieldNote("form-field", instruction.strip(), part, where))
                continue
            if stack:  # inside an IF or another field: Word evaluates it with the outer field
                notes.append(FieldNote("nested-mergefield", instruction.strip(), part, where))
                continue
            index = start + len(fields)
            fields.append(MergeField(parsed[0], parsed[1], instruction.strip(), part, where))
            slot = _slot_run(top["result"] if top["result"] is not None else top["begin"], index)
            begin = top["begin"]
            begin.getparent().replace(begin, slot)
            for other in top["runs"][1:]:
                parent = other.getparent()
                if parent is not None:
                    parent.remove(other)
        elif top["separated"]:
            if top["result"] is None and run.find(f"{_W}t") is not None:
                top["result"] = run
        else:
            top["instr"].extend(t.text or "" for t in run.iter(f"{_W}instrText"))
    return fields, notes


def unlink_data_source(name: str, content: bytes) -> bytes:
    """settings.xml without ``<w:mailMerge>``; a .rels part without ``mailMergeSource`` links.
    Other parts are returned as they are."""
    if name == "word/settings.xml" and b"mailMerge" in content:
        root = etree.fromstring(content)
        for element in root.findall(f"{_W}mailMerge"):
            root.remove(element)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    if name.endswith(".rels") and MAIL_MERGE_SOURCE.encode() in content:
        root = etree.fromstring(content)
        for rel in list(root.iter(f"{_REL_NS}Relationship")):
            if rel.get("Type") == MAIL_MERGE_SOURCE:
                root.remove(rel)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    return content


# -- Word's picture switches -----------------------------------------------------------------------

_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
              "October", "November", "December")
_DAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS_ZH = ("一月", "二月", "三月", "四月", "五月", "六月", "七月", "八月", "九月", "十月", "十一月", "十二月")
_DAYS_ZH = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")
_DATE_TOKEN = re.compile(r"'[^']*'|yyyy|yy|MMMM|MMM|MM|M|dddd|ddd|dd|d|HH|H|hh|h|mm|m|ss|s|AM/PM|am/pm",
                         re.IGNORECASE)


def format_date_picture(value: dt.date, picture: str, language: str) -> str:
    """``\\@ "yyyy年M月d日"`` as Word applies it (month names in the form's language)."""
    moment = value if isinstance(value, dt.datetime) else dt.datetime(value.year, value.month, value.day)

    def token(match: re.Match[str]) -> str:
        t = match.group(0)
        if t.startswith("'"):
            return t[1:-1]
        low = t.lower()
        if low == "yyyy":
            return f"{moment.year:04d}"
        if low == "yy":
            return f"{moment.year % 100:02d}"
        if t in ("MMMM", "MMM", "MM", "M"):  # capital M is the month, small m the minute
            names = _MONTHS_EN if language == "en" else _MONTHS_ZH
            return {"MMMM": names[moment.month - 1], "MMM": names[moment.month - 1][:3] if language == "en"
                    else names[moment.month - 1], "MM": f"{moment.month:02d}", "M": str(moment.month)}[t]
        if low in ("dddd", "ddd"):
            names = _DAYS_EN if language == "en" else _DAYS_ZH
            name = names[moment.weekday()]
            return name[:3] if low == "ddd" and language == "en" else name
        if low == "dd":
            return f"{moment.day:02d}"
        if low == "d":
            return str(moment.day)
        if t in ("HH", "H"):
            return f"{moment.hour:02d}" if t == "HH" else str(moment.hour)
        if t in ("hh", "h"):
            hour = moment.hour % 12 or 12
            return f"{hour:02d}" if t == "hh" else str(hour)
        if low in ("mm", "m"):
            return f"{moment.minute:02d}" if low == "mm" else str(moment.minute)
        if low in ("ss", "s"):
            return f"{moment.second:02d}" if low == "ss" else str(moment.second)
        if low == "am/pm":
            text = "AM" if moment.hour < 12 else "PM"
            return text if t[0] == "A" else text.lower()
        return t

    return _DATE_TOKEN.sub(token, picture)


#: The digits of a number picture: 0 and # placeholders, grouped by "," or by a space between
#: two placeholders (``# ##0``), then optionally a decimal point and more placeholders.
_NUMBER_CORE = re.compile(r"(?:x+(?=[0#]))?[0#](?:[0#,]| (?=[0#]))*(?:\.[0#x]+)?|\.[0#x]+")


def _decimal(value: int | float) -> Decimal | None:
    """The number as its shortest decimal text shows it (0.125, not the binary 0.1249999...):
    Word rounds the number as it is shown, so 0.125 with ``0.00`` prints 0.13. None for inf/nan."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return Decimal(value) if isinstance(value, int) else Decimal(repr(value))


def format_number_picture(value: int | float, picture: str) -> str:
    """``\\# "0.00"``, ``\\# "#,##0.00"``, ``\\# "# ##0"``, ``\\# "￥#,##0"``: digits, grouping
    (by "," or a space), ``x`` (drop the digits left of it), sections for negative and zero
    (``0;(0);"-"``) and literal text, rounded as Word rounds: half away from zero (1234.5
    with ``#,##0`` is 1,235; 2.5 with ``0`` is 3; -2.5 is -3), where Python rounds half to even."""
    picture = picture.replace("'", "")
    section = picture.split(";")
    if value == 0 and len(section) > 2:
        picture = section[2]  # positive;negative;zero
    elif value < 0 and len(section) > 1:
        picture, value = section[1], -value
    else:
        picture = section[0]
    match = _NUMBER_CORE.search(picture)
    number = _decimal(value)
    if match is None or number is None:
        return picture if number is not None else str(value)
    core = match.group(0)
    whole, _, decimals = core.partition(".")
    # x drops the digits left of it (x## shows the last three digits); right of the point it
    # rounds there, as a 0 does.
    keep = len(whole.replace(",", "").replace(" ", "")) if whole.startswith("x") else 0
    whole, decimals = whole.replace("x", "#"), decimals.replace("x", "0")
    fixed, optional = len(decimals.rstrip("#")), len(decimals)
    # ROUND_HALF_UP is half away from zero in decimal (Word's rule), on the decimal digits.
    # Precision for every digit (Excel holds up to 1e308): the default 28 would refuse 1e30.
    context = Context(prec=max(28, number.adjusted() + optional + 2))
    number = number.quantize(Decimal(1).scaleb(-optional), rounding=ROUND_HALF_UP, context=context)
    sign = "-" if number < 0 else ""  # a value that rounds to zero prints no minus: 0.00, not -0.00
    head, _, tail = f"{abs(number):f}".partition(".")
    if optional > fixed:
        tail = tail.rstrip("0").ljust(fixed, "0")
    if keep and len(head) > keep:
        head = head[-keep:]
    digits = sum(c == "0" for c in whole)
    if len(head) < digits:
        head = head.zfill(digits)
    if head == "0" and digits == 0:
        head = ""  # "#.00" prints .50, as Word does
    separator = "," if "," in whole else " " if " " in whole else ""
    if separator and head:
        # By the string, not int(): "0,000" keeps its padding (0,005).
        head = separator.join(reversed([head[max(0, i - 3):i] for i in range(len(head), 0, -3)]))
    dot = "." if tail else ""
    return picture[:match.start()] + sign + head + dot + tail + picture[match.end():]


def format_value(raw: object, shown: str, switches: tuple[tuple[str, str], ...], language: str) -> str:
    """A field's text: ``raw`` (the register value) through the switches, else ``shown`` (the
    value as the form prints it, e.g. ``2026年11月3日``)."""
    text = shown
    for flag, argument in switches:
        key = flag.lower()
        if key == "\\@" and isinstance(raw, dt.date):
            text = format_date_picture(raw, argument, language)
        elif key == "\\#" and isinstance(raw, (int, float)) and not isinstance(raw, bool):
            text = format_number_picture(raw, argument)
    for flag, argument in switches:
        key, option = flag.lower(), argument.lower()
        if key == "\\*":
            if option == "upper":
                text = text.upper()
            elif option == "lower":
                text = text.lower()
            elif option == "firstcap":
                text = text[:1].upper() + text[1:]
            elif option == "caps":
                text = " ".join(w[:1].upper() + w[1:] for w in text.split(" "))
        elif key == "\\b" and text:
            text = argument + text
        elif key == "\\f" and text:
            text = text + argument
    return text
