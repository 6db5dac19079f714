"""Read the complaint register (.xlsx) into plain :class:`~toolkit.model.Register` data.

The file's bytes are read once (the register lives on a network drive and staff may save it
while we read), checked for what it really is (an old .xls, a password-protected workbook, a
CSV or Word document renamed to .xlsx, a truncated download) and parsed from memory with
python-calamine. Each sheet's header row is found by its header texts (see REGISTER.md), and
every cell of a known column is turned into a typed value: dates as :class:`datetime.date`
(or :class:`datetime.datetime` when a time was given), numbers, canonical list values, text.
A cell that cannot be read is ``None`` in ``Record.values`` and kept in ``Record.bad`` for
the validator to report; nothing here decides what is *wrong* with the data.

>>> from toolkit.config import Config
>>> register = read_register(Config(), "tests/data/reg-libreoffice-monthly-sheets.xlsx")
>>> register.records[0].values["received_on"]
datetime.date(2026, 10, 8)

The pure helpers :func:`parse_date`, :func:`parse_number` and :func:`clean_text` are shared
with other stages so nobody parses register values twice.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import gc
import hashlib
import io
import logging
import math
import os
import re
import time
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import NoneType
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import unescape

import python_calamine

from . import readcache
from .config import Config
from .errors import RegisterError
from .fields import DATE, FIELD_BY_NAME, LIST, NUMBER, header_aliases, normalize_header
from .i18n import Messages, translate
from .model import Record, Register, SheetInfo, Value, column_letter

log = logging.getLogger(__name__)

#: The header row is looked for within this many rows from the top of a sheet.
HEADER_SEARCH_ROWS = 20
#: A header row must map at least this many known fields, complaint_id among them.
MIN_HEADER_FIELDS = 3
#: Reading a file that changes under us (staff saving it) or is locked: tries and pause.
READ_ATTEMPTS = 5
READ_RETRY_DELAY = 0.3

BAD_DATE, AMBIGUOUS_DATE, BAD_NUMBER, FORMULA_NO_VALUE = (
    "bad-date", "ambiguous-date", "bad-number", "formula-no-value")

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")

_MESSAGES: Messages = {
    "missing": {
        "zh": "找不到台账文件 {path}。请检查 config.toml 中 [register].path 或 --register 指定的路径。",
        "en": "register file {path} does not exist. Check [register].path in config.toml or the "
              "--register path.",
    },
    "directory": {
        "zh": "台账路径 {path} 是一个文件夹，不是文件。请指定其中的 .xlsx 台账文件。",
        "en": "register path {path} is a folder, not a file. Give the .xlsx register inside it.",
    },
    "locked": {
        "zh": "无法读取台账 {path}（{reason}）：文件被占用或没有读取权限。请关闭正在保存它的程序、"
              "检查共享盘权限后重试。",
        "en": "cannot read the register {path} ({reason}): the file is locked or not readable. "
              "Close the program saving it, check the share's permissions, and try again.",
    },
    "unreadable": {
        "zh": "无法读取台账 {path}：{reason}。",
        "en": "cannot read the register {path}: {reason}.",
    },
    "changing": {
        "zh": "台账 {path} 在读取期间一直在变化（正在被保存）。请等同事保存完毕后再试。",
        "en": "the register {path} kept changing while it was read (someone is saving it). "
              "Try again when staff have saved it.",
    },
    "empty-file": {
        "zh": "台账 {path} 是空文件（0 字节）。请从备份恢复或重新保存台账。",
        "en": "the register {path} is an empty file (0 bytes). Restore it from a backup or save "
              "it again.",
    },
    "encrypted": {
        "zh": "台账 {path} 设置了打开密码，无法读取。请在 Excel 中取消密码：文件 > 信息 > 保护工作簿 > "
              "用密码进行加密，清空密码后保存。",
        "en": "the register {path} is password-protected and cannot be read. Remove the password "
              "in Excel: File > Info > Protect Workbook > Encrypt with Password, clear it, and save.",
    },
    "xls": {
        "zh": "台账 {path} 是旧版 Excel 97-2003 格式（.xls），即使扩展名是 .xlsx。请在 Excel 中打开，"
              "另存为“Excel 工作簿 (*.xlsx)”。",
        "en": "the register {path} is an old Excel 97-2003 workbook (.xls), whatever its name says. "
              "Open it in Excel and Save As \"Excel Workbook (*.xlsx)\".",
    },
    "word": {
        "zh": "{path} 是 Word 文档，不是 Excel 台账。请检查路径是否指向台账 .xlsx 文件。",
        "en": "{path} is a Word document, not an Excel register. Check that the path points to "
              "the register .xlsx.",
    },
    "powerpoint": {
        "zh": "{path} 是 PowerPoint 演示文稿，不是 Excel 台账。请检查路径是否指向台账 .xlsx 文件。",
        "en": "{path} is a PowerPoint presentation, not an Excel register. Check that the path "
              "points to the register .xlsx.",
    },
    "xlsb": {
        "zh": "台账 {path} 是 Excel 二进制工作簿（.xlsb）。请在 Excel 中另存为“Excel 工作簿 (*.xlsx)”。",
        "en": "the register {path} is an Excel binary workbook (.xlsb). Save it in Excel as "
              "\"Excel Workbook (*.xlsx)\".",
    },
    "ods": {
        "zh": "台账 {path} 是 OpenDocument 表格（.ods）。请另存为“Excel 工作簿 (*.xlsx)”。",
        "en": "the register {path} is an OpenDocument spreadsheet (.ods). Save it as "
              "\"Excel Workbook (*.xlsx)\".",
    },
    "text": {
        "zh": "台账 {path} 是文本文件（CSV 或类似格式），不是 Excel 工作簿，即使扩展名是 .xlsx。"
              "请在 Excel 中打开并另存为“Excel 工作簿 (*.xlsx)”。",
        "en": "the register {path} is a text file (CSV or similar), not an Excel workbook, whatever "
              "its name says. Open it in Excel and Save As \"Excel Workbook (*.xlsx)\".",
    },
    "not-excel": {
        "zh": "台账 {path} 不是 Excel 工作簿（.xlsx）。请检查路径，或在 Excel 中另存为 .xlsx。",
        "en": "the register {path} is not an Excel workbook (.xlsx). Check the path, or save it "
              "in Excel as .xlsx.",
    },
    "corrupt": {
        "zh": "台账 {path} 已损坏或不完整（{reason}），可能是复制或下载中断。请从共享盘重新复制，"
              "或用 Excel 打开修复后另存。",
        "en": "the register {path} is damaged or incomplete ({reason}), perhaps an interrupted "
              "copy or download. Copy it again from the share, or let Excel repair it and save.",
    },
    "empty-workbook": {
        "zh": "台账 {path} 中没有任何数据（所有工作表都是空的）。",
        "en": "the register {path} contains no data (every sheet is empty).",
    },
    "no-header": {
        "zh": "台账 {path} 中找不到表头行。已查找的工作表：{sheets}（每个表的前 {rows} 行）。"
              "表头行需包含“投诉编号”及至少 {others} 个其他已知列名，例如：{expected}。"
              "请检查表头文字，或在 config.toml 的 [columns.<字段>] aliases 中添加别名。",
        "en": "no header row found in the register {path}. Sheets searched: {sheets} (the first "
              "{rows} rows of each). The header row needs \"Complaint No.\" and at least {others} "
              "other known headers, e.g.: {expected}. Check the header texts, or add aliases in "
              "config.toml under [columns.<field>] aliases.",
    },
    "sheet-missing": {
        "zh": "台账 {path} 中没有名为“{sheet}”的工作表（见 config.toml 的 [register].sheets）。"
              "现有工作表：{sheets}。",
        "en": "the register {path} has no sheet named \"{sheet}\" (see [register].sheets in "
              "config.toml). Its sheets: {sheets}.",
    },
    "sheet-not-worksheet": {
        "zh": "台账 {path} 的“{sheet}”不是普通工作表（例如图表页），无法作为台账读取。"
              "请修改 config.toml 的 [register].sheets。",
        "en": "\"{sheet}\" in the register {path} is not a worksheet (e.g. a chart sheet) and "
              "cannot be read. Change [register].sheets in config.toml.",
    },
    "lock-file": {
        "zh": "台账正在被 Excel/WPS 打开（发现锁文件 {lock}）：读取的是最后一次保存的内容，"
              "未保存的修改不会被读取。",
        "en": "the register is open in Excel/WPS (lock file {lock} found): the last saved version "
              "was read; unsaved changes are not included.",
    },
}


class ValueParseError(ValueError):
    """A register value that cannot be read as its field's type; :attr:`code` says why."""

    def __init__(self, code: str, raw: Any) -> None:
        super().__init__(f"{code}: {raw!r}")
        self.code = code
        self.raw = raw


# -- value helpers (pure, shared with other stages) ----------------------------------------

#: Plausible Excel serial numbers for a complaint date: 1950-01-01 .. 2099-12-31.
_SERIAL_MIN, _SERIAL_MAX = 18264, 73050
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_TIME = r"(?:[ T]+(?P<ampm1>上午|下午|AM|PM)?\s*(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?" \
        r"\s*(?P<ampm2>上午|下午|AM|PM)?)?"
_YMD = re.compile(r"(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?" + _TIME,
                  re.IGNORECASE)
_XYY = re.compile(r"(?P<a>\d{1,2})\s*(?P<sep>[-/.])\s*(?P<b>\d{1,2})\s*(?P=sep)\s*(?P<y>\d{4})" + _TIME,
                  re.IGNORECASE)
_COMPACT = re.compile(r"(?P<y>(?:19|20)\d{2})(?P<m>\d{2})(?P<d>\d{2})")


def parse_date(value: Any, date_order: str = "") -> dt.date | dt.datetime:
    """A register date cell as a date, or a datetime when it carries a time of day.

    Accepts real Excel dates, Excel serial numbers (1950-2099), ``YYYYMMDD`` and text such as
    ``2026-03-05``, ``2026/3/5``, ``2026.3.5``, ``2026年3月5日``, optionally followed by a
    time (``2026-1-1 1:01``, ``2026/1/1 1:01 下午``). ``3/5/2026`` is read with
    ``date_order`` ("mdy" or "dmy"); without it, it is ambiguous unless one part exceeds 12.
    A value at midnight is a plain date. Raises :class:`ValueParseError` with code
    ``bad-date`` or ``ambiguous-date``.
    """
    kind = type(value)
    if kind is dt.date:
        return value
    if kind is dt.datetime:
        return _midnight_to_date(value)
    if kind is float or kind is int:
        return _date_from_number(value)
    if isinstance(value, str):
        return _date_from_text(value, date_order)
    raise ValueParseError(BAD_DATE, value)


def _midnight_to_date(value: dt.datetime) -> dt.date | dt.datetime:
    if value.hour == value.minute == value.second == value.microsecond == 0:
        return value.date()
    return value


def _date_from_number(value: float) -> dt.date | dt.datetime:
    if not math.isfinite(value):
        raise ValueParseError(BAD_DATE, value)
    if _SERIAL_MIN <= value <= _SERIAL_MAX:
        # Round to the second: a serial's fraction rarely lands exactly on one.
        moment = _EXCEL_EPOCH + dt.timedelta(seconds=round(value * 86400))
        return _midnight_to_date(moment)
    if float(value).is_integer():
        match = _COMPACT.fullmatch(str(int(value)))
        if match:
            return _build_date(int(match["y"]), int(match["m"]), int(match["d"]), None, value)
    raise ValueParseError(BAD_DATE, value)


def _date_from_text(raw: str, date_order: str) -> dt.date | dt.datetime:
    text = unicodedata.normalize("NFKC", raw).strip()
    match = _YMD.fullmatch(text)
    if match:
        return _build_date(int(match["y"]), int(match["m"]), int(match["d"]), match, raw)
    match = _COMPACT.fullmatch(text)
    if match:
        return _build_date(int(match["y"]), int(match["m"]), int(match["d"]), None, raw)
    match = _XYY.fullmatch(text)
    if match:
        first, second, year = int(match["a"]), int(match["b"]), int(match["y"])
        order = date_order
        if not order:
            if first > 12 >= second:
                order = "dmy"
            elif second > 12 >= first:
                order = "mdy"
            elif first != second:
                raise ValueParseError(AMBIGUOUS_DATE, raw)
            else:
                order = "mdy"  # 5/5/2026 reads the same either way
        month, day = (first, second) if order == "mdy" else (second, first)
        return _build_date(year, month, day, match, raw)
    raise ValueParseError(BAD_DATE, raw)


def _build_date(year: int, month: int, day: int, match: re.Match[str] | None,
                raw: Any) -> dt.date | dt.datetime:
    try:
        day_value = dt.date(year, month, day)
        if match is None or match["h"] is None:
            return day_value
        hour = int(match["h"])
        ampm = (match["ampm1"] or match["ampm2"] or "").upper()
        if ampm:
            if not 1 <= hour <= 12:
                raise ValueError(hour)
            hour = hour % 12 + (12 if ampm in ("PM", "下午") else 0)
        moment = dt.datetime(year, month, day, hour, int(match["mi"]), int(match["s"] or 0))
    except ValueError:
        raise ValueParseError(BAD_DATE, raw) from None
    return _midnight_to_date(moment)


_CURRENCY = re.compile(r"^(?:¥|\$|RMB|CNY|人民币)\s*|\s*(?:元|圆|块|RMB|CNY)$", re.IGNORECASE)
_PLAIN_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)")
_GROUPED_NUMBER = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")


def parse_number(value: Any) -> float:
    """A number cell or a number typed as text (``1,200``, ``￥1.11``, ``200元``) as a float.

    Raises :class:`ValueParseError` (``bad-number``).
    """
    kind = type(value)
    if kind is float or kind is int:
        if not math.isfinite(value):
            raise ValueParseError(BAD_NUMBER, value)
        return float(value)
    if not isinstance(value, str):
        raise ValueParseError(BAD_NUMBER, value)
    text = _CURRENCY.sub("", unicodedata.normalize("NFKC", value).strip()).replace(" ", "")
    if _GROUPED_NUMBER.fullmatch(text):
        text = text.replace(",", "")
    elif not _PLAIN_NUMBER.fullmatch(text):
        raise ValueParseError(BAD_NUMBER, value)
    return float(text)


def clean_text(value: Any) -> str | None:
    """A cell as the text staff typed: stripped; blank or all-white-space is ``None``.

    A number typed where text belongs reads as written (1001.0 -> ``"1001"``,
    13800138000.0 -> ``"13800138000"``, 12.5 -> ``"12.5"``).
    """
    if type(value) is str:
        return value.strip() or None
    return _text_of(value)


def _text_of(value: Any) -> str | None:
    """Text form of a non-string cell (the slow path of :func:`clean_text`)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e17:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        moment = _midnight_to_date(value)
        return moment.isoformat(sep=" ") if isinstance(moment, dt.datetime) else moment.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value).strip() or None


def list_value_table(field_name: str, language: str, config_values: Iterable[str] = ()) -> dict[str, str]:
    """Case-folded spellings of a list field's values -> canonical value.

    Canonical values match case-insensitively in every language; English equivalents are
    accepted only when ``language`` is "en".
    """
    f = FIELD_BY_NAME[field_name]
    table = {v.casefold(): v for v in (*f.choices, *config_values)}
    if language == "en":
        for canonical, english in zip(f.choices, f.choices_en, strict=True):
            table.setdefault(english.casefold(), canonical)
    return table


# -- reading the file -----------------------------------------------------------------------


def read_register(config: Config, path: str | os.PathLike[str] | None = None, *,
                  cache: bool = False) -> Register:
    """Read the register at ``path`` (default ``config.register_path``).

    Returns the data sheets' :class:`SheetInfo` and every non-blank row as a :class:`Record`
    in sheet/row order. Raises :class:`RegisterError` when the file cannot be read as a
    register; problems in single cells are left in ``Record.bad`` for the validator.
    With ``cache``, records parsed from the very same bytes before (same config, same toolkit)
    are loaded from ``<output>/cache`` instead of parsed again (:mod:`toolkit.readcache`).
    """
    language = config.language
    target = Path(path) if path is not None else config.register_path
    data = read_stable_bytes(target, language)
    sha256 = hashlib.sha256(data).hexdigest()
    notes = _lock_notes(target, language)
    key = readcache.cache_key(sha256, config) if cache else ""
    cached = None
    if cache:
        with _gc_paused():
            cached = readcache.load(readcache.cache_path(config), key)
    if cached is not None:
        log.debug("register %s unchanged since it was last parsed: records loaded from the cache", target)
        sheets, records = cached
        return Register(path=str(target), sha256=sha256, size=len(data), sheets=sheets, records=records,
                        notes=notes)
    archive = _open_xlsx(data, target, language)
    scan = _FormulaScan.start(data)
    try:
        try:
            workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        except Exception as exc:  # calamine raises its own and also plain errors on bad XML
            raise RegisterError(translate(_MESSAGES, "corrupt", language, path=target, reason=exc)) from exc
        with workbook, archive, _gc_paused():
            sheets, records = _read_sheets(workbook, archive, config, target, scan)
    finally:
        if scan is not None:
            scan.close()
    if cache and readcache.should_save(readcache.cache_path(config), key):
        readcache.save(readcache.cache_path(config), key, sheets, records)
    return Register(path=str(target), sha256=sha256, size=len(data), sheets=sheets, records=records,
                    notes=notes)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while records are built.

    Building ~100k records makes millions of objects and no cycles; the collector would scan
    them again and again for nothing (it cost a third of the time of building records).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_stable_bytes(path: Path, language: str = "zh", *,
                      read: Callable[[Path], bytes] = Path.read_bytes) -> bytes:
    """The file's bytes, read whole while it is not changing.

    The size, modification time and inode are compared before and after reading; when they
    differ (staff saved meanwhile) or the file is locked, the read is tried again a few times
    before a :class:`RegisterError`. ``read`` is the function that reads the bytes.
    """
    if not path.exists():
        raise RegisterError(translate(_MESSAGES, "missing", language, path=path))
    if path.is_dir():
        raise RegisterError(translate(_MESSAGES, "directory", language, path=path))
    last_error: OSError | None = None
    for attempt in range(READ_ATTEMPTS):
        if attempt:
            time.sleep(READ_RETRY_DELAY)
        try:
            before = _signature(path)
            data = read(path)
            after = _signature(path)
        except FileNotFoundError as exc:  # replaced by a save in progress: try again
            last_error = exc
            continue
        except PermissionError as exc:
            last_error = exc
            log.info("register %s locked (%s); retrying", path, exc)
            continue
        except OSError as exc:
            raise RegisterError(translate(_MESSAGES, "unreadable", language, path=path,
                                          reason=exc.strerror or exc)) from exc
        if before == after and len(data) == before[0]:
            return data
        last_error = None
        log.info("register %s changed while reading; retrying", path)
    if isinstance(last_error, PermissionError):
        raise RegisterError(translate(_MESSAGES, "locked", language, path=path,
                                      reason=last_error.strerror or last_error)) from last_error
    if isinstance(last_error, FileNotFoundError):
        raise RegisterError(translate(_MESSAGES, "missing", language, path=path)) from last_error
    raise RegisterError(translate(_MESSAGES, "changing", language, path=path))


def _signature(path: Path) -> tuple[int, int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns, st.st_ino


def _open_xlsx(data: bytes, path: Path, language: str) -> zipfile.ZipFile:
    """Tell what the bytes really are; the open archive when they are an .xlsx workbook."""
    def fail(key: str, **kw: Any) -> RegisterError:
        return RegisterError(translate(_MESSAGES, key, language, path=path, **kw))

    if not data:
        raise fail("empty-file")
    if data.startswith(_OLE2_MAGIC):
        # OLE2 holds old .xls, .doc and Office's encrypted OOXML (an EncryptionInfo stream).
        if "EncryptionInfo".encode("utf-16-le") in data:
            raise fail("encrypted")
        if "WordDocument".encode("utf-16-le") in data:
            raise fail("word")
        raise fail("xls")
    if not data.startswith(_ZIP_MAGICS):
        head = data[:4096]
        if b"\x00" not in head and _looks_like_text(head):
            raise fail("text")
        raise fail("not-excel")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise fail("corrupt", reason=exc) from exc
    if "xl/workbook.xml" not in names:
        archive.close()
        if "xl/workbook.bin" in names:
            raise fail("xlsb")
        if "word/document.xml" in names:
            raise fail("word")
        if "ppt/presentation.xml" in names:
            raise fail("powerpoint")
        if "content.xml" in names and "mimetype" in names:
            raise fail("ods")
        raise fail("not-excel")
    return archive


def _looks_like_text(head: bytes) -> bool:
    for encoding in ("utf-8", "gb18030"):
        try:
            head.decode(encoding)
            return True
        except UnicodeDecodeError as exc:
            if exc.start >= len(head) - 4:  # a character cut at the end of the sample
                return True
    return False


def _lock_notes(path: Path, language: str) -> list[str]:
    """A note when Excel, WPS or LibreOffice has the register open (its lock file is beside it)."""
    name = path.name
    candidates = [f"~${name}", f".~lock.{name}#"]
    if len(name) > 2:
        candidates.insert(1, f"~${name[2:]}")  # Excel shortens long names this way
    for candidate in candidates:
        if (path.parent / candidate).exists():
            return [translate(_MESSAGES, "lock-file", language, lock=candidate)]
    return []


# -- sheets -----------------------------------------------------------------------------------


def _read_sheets(workbook: python_calamine.CalamineWorkbook, archive: zipfile.ZipFile,
                 config: Config, path: Path,
                 scan: _FormulaScan | None = None,
                 ) -> tuple[list[SheetInfo], list[Record]]:
    language = config.language
    aliases = header_aliases(config.column_aliases)
    metadata = workbook.sheets_metadata
    all_names = [m.name for m in metadata]
    worksheets = [m.name for m in metadata if m.typ == python_calamine.SheetTypeEnum.WorkSheet]
    wanted = list(config.register.sheets)
    for name in wanted:
        if name not in all_names:
            raise RegisterError(translate(_MESSAGES, "sheet-missing", language, path=path, sheet=name,
                                          sheets=_join(all_names, language)))
        if name not in worksheets:
            raise RegisterError(translate(_MESSAGES, "sheet-not-worksheet", language, path=path,
                                          sheet=name))
    parts = _sheet_parts(archive)
    infos: list[SheetInfo] = []
    records: list[Record] = []
    any_data = False
    for name in wanted or worksheets:
        try:
            rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception as exc:  # calamine's XmlError/ZipError, and panics on odd files
            raise RegisterError(translate(_MESSAGES, "corrupt", language, path=path,
                                          reason=f"{name}: {exc}")) from exc
        any_data = any_data or bool(rows)
        found = _find_header(rows, aliases)
        if found is None:
            log.info("sheet %s: no header row, skipped", name)
            if wanted:
                raise _no_header(path, [name], language)
            continue
        header_index, columns = found
        reader = _SheetReader(name, rows, header_index, columns, config, archive, parts.get(name),
                              scan.result if scan is not None else lambda: None)
        del rows  # the reader lets go of the rows as soon as it has them column by column
        info, sheet_records = reader.read()
        infos.append(info)
        records.extend(sheet_records)
        log.info("sheet %s: header row %d, %d records", name, info.header_row, info.rows)
    if not infos:
        if not any_data:
            raise RegisterError(translate(_MESSAGES, "empty-workbook", language, path=path))
        raise _no_header(path, worksheets, language)
    return infos, records


def _no_header(path: Path, searched: list[str], language: str) -> RegisterError:
    sample = ("complaint_id", "received_on", "channel", "customer_name", "customer_phone",
              "description", "status")
    expected = _join((FIELD_BY_NAME[n].header(language) for n in sample), language)
    return RegisterError(translate(_MESSAGES, "no-header", language, path=path,
                                   sheets=_join(searched, language) or "-", rows=HEADER_SEARCH_ROWS,
                                   others=MIN_HEADER_FIELDS - 1, expected=expected))


def _join(items: Iterable[str], language: str = "zh") -> str:
    if language == "zh":
        return "、".join(f"“{item}”" for item in items)
    return ", ".join(f'"{item}"' for item in items)


def _find_header(rows: list[list[Any]], aliases: dict[str, str]) -> tuple[int, dict[int, str]] | None:
    """The header row (0-based) and its column index -> field map, or None.

    The row among the first rows mapping the most known fields wins (the first on a tie);
    it must map complaint_id and at least :data:`MIN_HEADER_FIELDS` fields.
    """
    best: tuple[int, dict[int, str]] | None = None
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        columns: dict[int, str] = {}
        seen: set[str] = set()
        for col, cell in enumerate(row):
            if cell == "" or cell is None:
                continue
            name = aliases.get(normalize_header(cell))
            if name and name not in seen:
                seen.add(name)
                columns[col] = name
        if "complaint_id" in seen and len(seen) >= MIN_HEADER_FIELDS:
            if best is None or len(columns) > len(best[1]):
                best = (index, columns)
    return best


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its XML part inside the archive (``xl/worksheets/sheet1.xml``)."""
    try:
        book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError, zipfile.BadZipFile, OSError) as exc:
        log.info("cannot map sheets to parts (%s); formula check off", exc)
        return {}
    targets = {}
    for rel in rels:
        target = rel.get("Target", "")
        target = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        targets[rel.get("Id")] = target
    rid = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    parts = {}
    for sheet in book.iter("{http://schemas.openxmlformats.org/spreadsheetml/2006/main}sheet"):
        target = targets.get(sheet.get(rid))
        if target:
            parts[sheet.get("name", "")] = target
    return parts


# -- formulas without a cached value --------------------------------------------------------

_FORMULA_TAG = re.compile(rb"<f[\s>/]")
_F_ELEMENT = re.compile(rb"<f\b([^>]*?)(?:/>|>(.*?)</f>)", re.S)
_V_ELEMENT = re.compile(rb"<v\b[^>]*?(?:/>|>(.*?)</v>)", re.S)
_CELL_REF = re.compile(rb'\br="([A-Z]{1,3})([0-9]+)"')
_STR_TYPE = re.compile(rb'\bt="str"')
_SHARED_INDEX = re.compile(rb'\bsi="([0-9]+)"')
_CHUNK = 1 << 22


def _has_formulas(archive: zipfile.ZipFile, part: str) -> bool:
    """Whether a sheet's XML has a formula, read in chunks so a plain sheet costs no memory."""
    tail = b""
    with archive.open(part) as stream:
        while chunk := stream.read(_CHUNK):
            if _FORMULA_TAG.search(tail + chunk[:8]) or _FORMULA_TAG.search(chunk):
                return True
            tail = chunk[-4:]
    return False


#: Above this size the formula scan runs in a second process while calamine parses: it has to
#: unpack every sheet's XML (~200 MB at 100k rows) and would otherwise add ~5% to a read.
PARALLEL_SCAN_BYTES = 2_000_000
FormulaCells = dict[int, dict[int, str | None]]


def scan_formulas(data: bytes) -> dict[str, FormulaCells]:
    """Formula cells of every worksheet of an .xlsx given as bytes: sheet name -> cells."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: formula_cells(archive.read(part)) if _has_formulas(archive, part) else {}
                for name, part in _sheet_parts(archive).items()}


class _FormulaScan:
    """:func:`scan_formulas` of a large file in a worker process, started before calamine
    parses; :meth:`result` waits for it and shuts the worker down (no thread outlives the read)."""

    def __init__(self, data: bytes) -> None:
        self._pool = concurrent.futures.ProcessPoolExecutor(max_workers=1)
        self._future = self._pool.submit(scan_formulas, data)
        self._result: dict[str, FormulaCells] | None = None
        self._done = False

    @classmethod
    def start(cls, data: bytes) -> _FormulaScan | None:
        """None for a small file, a one-core machine, or where processes cannot start: the
        reader then scans inline."""
        if len(data) < PARALLEL_SCAN_BYTES or (os.cpu_count() or 1) < 2:
            return None
        try:
            return cls(data)
        except (OSError, RuntimeError, NotImplementedError) as exc:
            log.debug("formula scan stays in this process: %s", exc)
            return None

    def result(self) -> dict[str, FormulaCells] | None:
        if not self._done:
            self._done = True
            try:
                self._result = self._future.result()
            except Exception as exc:  # a damaged part, a killed worker: the inline scan says what
                log.debug("parallel formula scan failed (%s); scanning inline", exc)
            finally:
                self._pool.shutdown(wait=True)
        return self._result

    def close(self) -> None:
        """Stop waiting for a scan nobody needs (the read failed first)."""
        if not self._done:
            self._done = True
            self._future.cancel()
            self._pool.shutdown(wait=True, cancel_futures=True)


def formula_cells(xml: bytes) -> dict[int, dict[int, str | None]]:
    """Formula cells of a sheet's XML: 0-based row -> {0-based column: text or None}.

    The text (``=SUM(A1:A3)``) is given for a formula with no cached value, ``None`` for one
    whose value was saved.
    """
    start = xml.find(b"<sheetData")
    end = xml.rfind(b"</sheetData>")
    if start < 0 or end < 0:
        return {}
    cells: dict[int, dict[int, str | None]] = {}
    shared: dict[bytes, bytes] = {}
    pos = start
    while True:
        match = _FORMULA_TAG.search(xml, pos, end)
        if match is None:
            break
        f_at = match.start()
        c_at = xml.rfind(b"<c ", start, f_at)
        c_end = xml.find(b"</c>", f_at, end)
        if c_at < 0 or c_end < 0:
            break
        pos = c_end
        open_end = xml.find(b">", c_at, f_at)
        attrs = xml[c_at:open_end]
        ref = _CELL_REF.search(attrs)
        if ref is None:
            continue
        body = xml[open_end + 1:c_end]
        f_match = _F_ELEMENT.search(body)
        formula = f_match.group(2) if f_match and f_match.group(2) else b""
        f_attrs = f_match.group(1) if f_match else b""
        si = _SHARED_INDEX.search(f_attrs)
        if si and formula:
            shared[si.group(1)] = formula
        elif si:
            formula = shared.get(si.group(1), b"")
        v_match = _V_ELEMENT.search(body)
        has_value = v_match is not None and (bool(v_match.group(1)) or bool(_STR_TYPE.search(attrs)))
        text = None if has_value else "=" + unescape(formula.decode("utf-8", "replace"),
                                                     {"&quot;": '"', "&apos;": "'"})
        row = int(ref.group(2)) - 1
        cells.setdefault(row, {})[_column_index(ref.group(1))] = text
    return cells


def _column_index(letters: bytes) -> int:
    index = 0
    for char in letters:
        index = index * 26 + char - 64
    return index - 1


# -- one sheet ------------------------------------------------------------------------------


#: ``list(map(_BLANK, column, column))`` turns calamine's "" (an empty cell) into None in C.
_BLANK = {"": None}.get
_NO_BAD: list[tuple[int, str, Any]] = []


class _SheetReader:
    """Turns one sheet's rows (from calamine) into records.

    Work is done column by column: each column's values are checked for their types in C
    (``Counter(map(type, ...))``) and take a fast path when they are what they should be
    (text, real dates, blanks); only odd cells go through the Python parsers.
    """

    def __init__(self, name: str, rows: list[list[Any]], header_index: int, columns: dict[int, str],
                 config: Config, archive: zipfile.ZipFile, part: str | None,
                 scanned: Callable[[], dict[str, FormulaCells] | None] = lambda: None) -> None:
        self.scanned = scanned
        self.name = name
        self.rows = rows
        self.header_index = header_index
        self.columns = columns
        self.config = config
        self.archive = archive
        self.part = part

    def read(self) -> tuple[SheetInfo, list[Record]]:
        rows, self.rows = self.rows, []
        header = rows[self.header_index]
        headers = [_header_text(cell) for cell in header]
        while headers and not headers[-1]:
            headers.pop()
        data = rows[self.header_index + 1:]
        del rows
        width = len(header)
        mapped = sorted(self.columns.items())  # (col, field)
        names = tuple(field for _, field in mapped)
        extra_cols = [c for c in range(width) if c not in self.columns and self._column_used(c, headers, data)]
        extra_keys = _extra_keys(extra_cols, headers)
        order = [c for c, _ in mapped] + extra_cols
        info = SheetInfo(name=self.name, header_row=self.header_index + 1,
                         columns={field: col for col, field in mapped}, headers=headers)
        if not data:
            return info, []
        # Transposing once in C is cheaper than picking each column out of the rows.
        transposed = list(zip(*data, strict=True))
        del data
        converted: list[list[Any]] = []
        bad: dict[int, dict[str, tuple[str, Any]]] = {}
        for col, field in mapped:
            column, column_bad = self._convert(field, transposed[col])
            converted.append(column)
            for offset, code, raw in column_bad:
                bad.setdefault(offset, {})[field] = (code, raw)
        for col in extra_cols:
            converted.append([clean_text(v) if type(v) is str else (None if v == "" else v)
                              for v in transposed[col]])
        del transposed
        formulas = self._formulas()
        records = self._records(names, converted, bad, extra_keys, order, formulas)
        info.rows = len(records)
        return info, records

    @staticmethod
    def _column_used(col: int, headers: list[str], data: list[list[Any]]) -> bool:
        """An unknown column with a header, or with data under an empty header."""
        if col < len(headers) and headers[col]:
            return True
        return any(row[col] != "" for row in data)

    def _convert(self, field: str, raw: tuple[Any, ...]) -> tuple[list[Any], list[tuple[int, str, Any]]]:
        """A column's raw cells -> values, and the bad cells as (row offset, code, raw)."""
        f = FIELD_BY_NAME[field]
        if f.kind == DATE or f.kind == NUMBER:
            values = list(map(_BLANK, raw, raw))
            types = set(map(type, values))
            if f.kind == NUMBER:
                if types <= {NoneType, float, int}:
                    return values, _NO_BAD
                return values, _convert_slowly(values, float, parse_number)
            if types <= {NoneType, dt.date}:
                return values, _NO_BAD
            order = self.config.register.date_order
            return values, _convert_slowly(values, dt.date, lambda v: parse_date(v, order))
        # "" is a str too: it strips to "" and becomes None. A column of text only (the usual
        # case) takes the short comprehension; a number among it (AttributeError) the long one.
        try:
            texts = [v.strip() or None for v in raw]
        except AttributeError:
            texts = [(v.strip() or None) if type(v) is str else _text_of(v) for v in raw]
        if f.kind == LIST:
            texts = self._canonical(f, texts)
        return texts, _NO_BAD

    def _canonical(self, f: Any, texts: list[str | None]) -> list[str | None]:
        """List values in their canonical spelling (case, English equivalents when "en")."""
        config_values = self.config.list_values(f.config_list) if f.config_list else ()
        canonical = (*f.choices, *config_values)
        if self.config.language != "en" and all(v.casefold() == v == v.upper() for v in canonical):
            return texts  # Chinese values have no case: nothing to fold
        others = set(texts) - set(canonical) - {None}
        if not others:
            return texts
        table = list_value_table(f.name, self.config.language, config_values)
        renames = {t: table[t.casefold()] for t in others if t.casefold() in table}  # type: ignore[union-attr]
        return list(map(renames.get, texts, texts)) if renames else texts

    def _formulas(self) -> dict[int, dict[int, str | None]]:
        """Formula cells of this sheet; only a sheet whose XML has a formula is scanned."""
        if not self.part:
            return {}
        scanned = self.scanned()
        if scanned is not None and self.name in scanned:
            return scanned[self.name]
        try:
            if not _has_formulas(self.archive, self.part):
                return {}
            return formula_cells(self.archive.read(self.part))
        except (KeyError, zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
            log.warning("sheet %s: formula check skipped (%s)", self.name, exc)
            return {}

    def _records(self, names: tuple[str, ...], converted: list[list[Any]],
                 bad: dict[int, dict[str, tuple[str, Any]]], extra_keys: list[str], order: list[int],
                 formulas: dict[int, dict[int, str | None]]) -> list[Record]:
        sheet = self.name
        first_row = self.header_index + 1  # 0-based index of the first data row
        n_all = len(order)
        n_mapped = len(names)
        # Checked first for a blank row: it is rarely blank in a row that holds data.
        key = names.index("complaint_id")
        # Copying a dict that has the keys already and updating it is faster than building
        # each row's dict from nothing (no resizing).
        blank_values = dict.fromkeys(names).copy
        records: list[Record] = []
        append = records.append
        for offset, values in enumerate(zip(*converted, strict=True)):
            row0 = first_row + offset
            in_row = formulas.get(row0) if formulas else None
            row_bad = bad.get(offset) if bad else None
            if row_bad is None:
                if values[key] is None and values.count(None) == n_all:
                    continue
                if in_row is not None and _only_formulas(values, order, in_row):
                    continue  # a formula filled down into an otherwise empty row
            row_values = blank_values()
            row_values.update(zip(names, values, strict=False))
            record = Record(sheet, row0 + 1, row_values, row_bad or {},
                            _extra(values, n_mapped, extra_keys) if extra_keys else {})
            if in_row is not None:
                for position in range(n_mapped):
                    text = in_row.get(order[position])
                    if text is not None and values[position] is None:
                        record.bad[names[position]] = (FORMULA_NO_VALUE, text)
            append(record)
        return records


def _convert_slowly(values: list[Any], ok_type: type,
                    parse: Callable[[Any], Any]) -> list[tuple[int, str, Any]]:
    """Parse, in place, the cells that are not blank and not already ``ok_type``.

    Returns the cells that failed as (row offset, code, raw value); they become None.
    """
    bad: list[tuple[int, str, Any]] = []
    for offset, value in enumerate(values):
        if value is None or type(value) is ok_type:
            continue
        try:
            values[offset] = parse(value)
        except ValueParseError as exc:
            values[offset] = None
            if not (isinstance(value, str) and not value.strip()):
                bad.append((offset, exc.code, value))
    return bad


def _only_formulas(values: tuple[Any, ...], order: list[int], formula_cols: dict[int, str | None]) -> bool:
    return all(v is None or order[i] in formula_cols for i, v in enumerate(values))


def _extra(values: tuple[Any, ...], start: int, keys: list[str]) -> dict[str, Any]:
    return {key: value for key, value in zip(keys, values[start:], strict=False) if value is not None}


def _extra_keys(cols: list[int], headers: list[str]) -> list[str]:
    """Keys for unknown columns in ``Record.extra``: header text, or the column letter."""
    keys: list[str] = []
    for col in cols:
        key = headers[col] if col < len(headers) and headers[col] else column_letter(col)
        if key in keys:
            key = f"{key} ({column_letter(col)})"
        keys.append(key)
    return keys


def _header_text(cell: Value | bool) -> str:
    text = clean_text(cell) if cell != "" else None
    return text or ""


__all__ = ["AMBIGUOUS_DATE", "BAD_DATE", "BAD_NUMBER", "FORMULA_NO_VALUE", "ValueParseError",
           "clean_text", "formula_cells", "list_value_table", "parse_date", "parse_number",
           "read_register", "read_stable_bytes"]
