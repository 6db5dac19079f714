"""What the register's bytes are, read safely: the file formats, zip-bomb limits, merged cells
calamine does not report, and the scan for formulas without a saved value.

Every format python-calamine reads goes through one path: .xlsx/.xlsm (Office Open XML),
.xls (Excel 97-2003), .xlsb (Excel binary) and .ods (OpenDocument). WPS's .et is tried as
.xls (WPS writes it as a compound file) and, when that fails, refused with "save as .xlsx".
A zipped format is checked *before* it is parsed: members whose declared size or compression
ratio exceed ``[limits]`` are refused at once, so a zip bomb costs milliseconds, not gigabytes.

>>> kind, archive = identify(Path("tests/data/reg-offset-b3.xlsx").read_bytes(), Path("r.xlsx"), "en", Limits())
>>> kind
'xlsx'
"""

from __future__ import annotations

import io
import logging
import os
import re
import struct
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from ..errors import RegisterError
from ..i18n import Messages, translate
from ..workers import process_pool

log = logging.getLogger(__name__)

#: Reading a file that changes under us (staff saving it) or is locked: tries and pause.
READ_ATTEMPTS = 5
READ_RETRY_DELAY = 0.3

XLSX, XLS, XLSB, ODS = "xlsx", "xls", "xlsb", "ods"

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: A Windows shortcut (.lnk): its header size and class id.
_LNK_MAGIC = b"L\x00\x00\x00\x01\x14\x02\x00"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_MB = 1024 * 1024
#: What Python's zip reader raises on a damaged archive: its own error, the inflater's, a cut
#: stream, a member name that is not text, a compression method or zip version it lacks.
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError)
#: Members this small are never refused for their ratio (a sheet of empty rows packs 100:1).
_RATIO_FLOOR_BYTES = 8 * _MB

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
              "用密码进行加密，清空密码后保存（WPS：文件 > 文档加密 > 密码加密，清空打开密码；"
              "LibreOffice：另存为时不勾选“使用密码保存”）。",
        "en": "the register {path} is password-protected and cannot be read. Remove the password "
              "in Excel: File > Info > Protect Workbook > Encrypt with Password, clear it, and save "
              "(WPS: File > Document Encryption > Password Encryption, clear the open password; "
              "LibreOffice: Save As without \"Save with password\").",
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
    "et": {
        "zh": "台账 {path} 是 WPS 表格自有格式（.et），无法直接读取（{reason}）。请在 WPS 中打开，"
              "另存为“Excel 工作簿 (*.xlsx)”。",
        "en": "the register {path} is in WPS Spreadsheets' own format (.et) and cannot be read "
              "({reason}). Open it in WPS and save it as \"Excel Workbook (*.xlsx)\".",
    },
    "odt": {
        "zh": "{path} 是 OpenDocument 文字或演示文稿，不是电子表格。请检查路径是否指向台账文件。",
        "en": "{path} is an OpenDocument text or presentation, not a spreadsheet. Check that the "
              "path points to the register.",
    },
    "too-big": {
        "zh": "台账 {path} 中的 {member} 解压后有 {unpacked} MB，超过上限 {limit} MB（config.toml 的 "
              "[limits] unpacked_mb）：为防止“压缩炸弹”耗尽内存，未读取此文件。正常台账远小于此；"
              "如确为正常的超大台账，请调高该上限。",
        "en": "{member} in the register {path} unpacks to {unpacked} MB, over the limit of {limit} MB "
              "([limits] unpacked_mb in config.toml): the file was not read, to keep a zip bomb from "
              "exhausting memory. Real registers are far smaller; if this one really is that large, "
              "raise the limit.",
    },
    "too-big-total": {
        "zh": "台账 {path} 的各部分解压后共有 {unpacked} MB，超过上限 {limit} MB（config.toml 的 [limits] "
              "unpacked_mb）：为防止“压缩炸弹”耗尽内存，未读取此文件。如确为正常的超大台账，请调高该上限。",
        "en": "the parts of the register {path} unpack to {unpacked} MB together, over the limit of {limit} MB "
              "([limits] unpacked_mb in config.toml): the file was not read, to keep a zip bomb from "
              "exhausting memory. If it really is that large a register, raise the limit.",
    },
    "too-packed": {
        "zh": "台账 {path} 中的 {member} 压缩比为 {ratio}:1（{packed} MB 解压为 {unpacked} MB），超过上限 "
              "{limit}:1（config.toml 的 [limits] compression_ratio）：这是“压缩炸弹”的特征，未读取此文件。"
              "请让对方在 Excel/WPS 中重新保存后再发送；如确为正常台账，请调高该上限。",
        "en": "{member} in the register {path} is packed {ratio}:1 ({packed} MB unpacks to {unpacked} MB), "
              "over the limit of {limit}:1 ([limits] compression_ratio in config.toml): that is what a zip "
              "bomb looks like, so the file was not read. Have it saved again in Excel/WPS; if it really "
              "is a normal register, raise the limit.",
    },
    "html": {
        "zh": "台账 {path} 实际是网页（HTML 表格），不是 Excel 工作簿：业务系统“导出 Excel”常生成这种文件。"
              "请在 Excel 或 WPS 中打开它，另存为“Excel 工作簿 (*.xlsx)”。",
        "en": "the register {path} is really a web page (an HTML table), not an Excel workbook, as many "
              "systems' \"export to Excel\" write. Open it in Excel or WPS and Save As \"Excel Workbook (*.xlsx)\".",
    },
    "xml-2003": {
        "zh": "台账 {path} 是 Excel 2003 XML 表格，不是可读取的 Excel 工作簿。请在 Excel 或 WPS 中打开它，"
              "另存为“Excel 工作簿 (*.xlsx)”。",
        "en": "the register {path} is an Excel 2003 XML spreadsheet, which cannot be read. Open it in Excel "
              "or WPS and Save As \"Excel Workbook (*.xlsx)\".",
    },
    "text-utf16": {
        "zh": "台账 {path} 是“Unicode 文本”（制表符分隔的文本文件），不是 Excel 工作簿。请在 Excel 中打开"
              "并另存为“Excel 工作簿 (*.xlsx)”。",
        "en": "the register {path} is \"Unicode Text\" (a tab-separated text file), not an Excel workbook. "
              "Open it in Excel and Save As \"Excel Workbook (*.xlsx)\".",
    },
    "shortcut": {
        "zh": "台账路径 {path} 是 Windows 快捷方式（.lnk），不是台账本身。请在 config.toml 的 [register].path "
              "中写台账文件的实际路径（右键快捷方式 > 属性 > 目标）。",
        "en": "the register path {path} is a Windows shortcut (.lnk), not the register itself. Put the "
              "register's real path in [register].path in config.toml (right-click the shortcut > "
              "Properties > Target).",
    },
    "broken-link": {
        "zh": "台账路径 {path} 是一个链接，它指向的 {target} 不存在。请检查共享盘是否已连接，或改用台账的实际路径。",
        "en": "the register path {path} is a link to {target}, which does not exist. Check that the share "
              "is connected, or give the register's real path.",
    },
    "text": {
        "zh": "台账 {path} 是文本文件（CSV 或类似格式），不是 Excel 工作簿，无论扩展名是什么。"
              "请在 Excel 中打开并另存为“Excel 工作簿 (*.xlsx)”。",
        "en": "the register {path} is a text file (CSV or similar), not an Excel workbook, whatever "
              "its name says. Open it in Excel and Save As \"Excel Workbook (*.xlsx)\".",
    },
    "not-excel": {
        "zh": "台账 {path} 不是电子表格（可读取 .xlsx、.xlsm、.xls、.xlsb、.ods）。请检查路径，"
              "或在 Excel/WPS 中另存为“Excel 工作簿 (*.xlsx)”。",
        "en": "the register {path} is not a spreadsheet (.xlsx, .xlsm, .xls, .xlsb and .ods can be "
              "read). Check the path, or save it in Excel/WPS as \"Excel Workbook (*.xlsx)\".",
    },
    "unknown-bytes": {
        "zh": "其内容不是任何已知的表格格式",
        "en": "its contents are no known spreadsheet format",
    },
    "xls-too-big": {
        "zh": "台账 {path} 的工作表“{sheet}”的单元格范围读入需约 {unpacked} MB 内存，超过上限 {limit} MB"
              "（config.toml 的 [limits] unpacked_mb），未读取此文件：文件可能已损坏。请在 Excel/WPS 中打开后"
              "另存为“Excel 工作簿 (*.xlsx)”；如确为正常的超大台账，请调高该上限。",
        "en": "the cells of sheet \"{sheet}\" in the register {path} would take about {unpacked} MB of memory, "
              "over the limit of {limit} MB ([limits] unpacked_mb in config.toml), so the file was not read: it "
              "may be damaged. Open it in Excel/WPS and save it as \"Excel Workbook (*.xlsx)\"; if it really "
              "is that large a register, raise the limit.",
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




@dataclass(frozen=True)
class Limits:
    """The zip-bomb limits (``[limits]`` in config.toml)."""

    #: Largest unpacked size of one member, and of all members together, in MB.
    unpacked_mb: int = 1024
    #: Largest unpacked/packed ratio of a member larger than 8 MB unpacked.
    compression_ratio: int = 100


#: What the zip and XML readers say of a damaged file, in words a Chinese message can show
#: (the library's own English stays after it, for whoever looks it up).
_REASONS_ZH = (
    ("file is not a zip file", "不是完整的 xlsx（zip）文件"),
    ("truncated file header", "文件被截断"),
    ("bad magic number", "文件结构损坏"),
    ("bad crc-32", "文件内容校验失败"),
    ("error -3 while decompressing", "压缩数据损坏"),
    ("syntax error", "其中的 XML 格式错误"),
    ("attribute value not closed", "其中的 XML 格式错误"),
    ("compound file", "xls 文件的结构损坏"),
    ("cannot detect file format", "无法识别文件格式"),
    ("corrupt deflate stream", "压缩数据损坏"),
    ("codec can't decode", "文件结构损坏"),
    ("zip file version", "文件结构损坏"),
    ("compression method is not supported", "文件结构损坏"),
    ("past the format", "有数据超出了 xls 格式的范围"),
    ("past the end", "文件被截断"),
    ("cut short", "文件被截断"),
    ("no eof record", "文件被截断"),
    ("no bof record", "xls 文件的结构损坏"),
    ("in one record", "xls 文件的结构损坏"),
    ("a formula record of", "xls 文件的结构损坏"),
)


def fail(key: str, path: Path, language: str, **values: Any) -> RegisterError:
    if language == "zh" and "reason" in values:
        reason = str(values["reason"])
        lowered = reason.lower()
        said = next((zh for en, zh in _REASONS_ZH if en in lowered), None)
        if said is not None:
            values = {**values, "reason": f"{said}：{reason}"}
    return RegisterError(translate(_MESSAGES, key, language, path=path, **values))


# -- the bytes ----------------------------------------------------------------------------------


def read_stable_bytes(path: Path, language: str = "zh", *,
                      read: Callable[[Path], bytes] = Path.read_bytes) -> bytes:
    """The file's bytes, read whole while it is not changing.

    The size, modification time and inode are compared before and after reading; when they
    differ (staff saved meanwhile) or the file is locked, the read is tried again a few times
    before a :class:`RegisterError`. ``read`` is the function that reads the bytes.
    """
    if not path.exists():
        if path.is_symlink():
            raise RegisterError(translate(_MESSAGES, "broken-link", language, path=path,
                                          target=os.readlink(path)))
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


def identify(data: bytes, path: Path, language: str, limits: Limits) -> tuple[str, zipfile.ZipFile | None]:
    """What the bytes really are (:data:`XLSX`, :data:`XLS`, :data:`XLSB` or :data:`ODS`) and,
    for a zipped format, the open archive; a :class:`RegisterError` saying what to do otherwise.

    The name's extension is not trusted: a .xls renamed .xlsx is read as what it is.
    """
    if not data:
        raise fail("empty-file", path, language)
    if data.startswith(_OLE2_MAGIC):
        # OLE2 holds old .xls (and WPS .et), .doc, .ppt and Office's encrypted OOXML.
        if "EncryptionInfo".encode("utf-16-le") in data:
            raise fail("encrypted", path, language)
        if "WordDocument".encode("utf-16-le") in data:
            raise fail("word", path, language)
        if "PowerPoint Document".encode("utf-16-le") in data:
            raise fail("powerpoint", path, language)
        return XLS, None
    if not data.startswith(_ZIP_MAGICS):
        head = data[:4096]
        if data.startswith(_LNK_MAGIC):
            raise fail("shortcut", path, language)
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise fail("text-utf16", path, language)
        if b"\x00" not in head and _looks_like_text(head):
            lowered = head.lower()
            if b"urn:schemas-microsoft-com:office:spreadsheet" in lowered:
                raise fail("xml-2003", path, language)
            if b"<html" in lowered or b"<table" in lowered or b"<!doctype html" in lowered:
                raise fail("html", path, language)
            raise fail("text", path, language)
        if path.suffix.lower() == ".et":
            raise fail("et", path, language, reason=translate(_MESSAGES, "unknown-bytes", language))
        raise fail("not-excel", path, language)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except ZIP_ERRORS as exc:
        raise fail("corrupt", path, language, reason=exc) from exc
    try:
        check_limits(infos, path, language, limits)
        names = {info.filename for info in infos}
        if "xl/workbook.xml" in names:
            return XLSX, archive
        if "xl/workbook.bin" in names:
            return XLSB, archive
        if "content.xml" in names and "mimetype" in names:
            try:
                spreadsheet = b"spreadsheet" in archive.read("mimetype")[:200]
                # LibreOffice's "save with password" encrypts content.xml and says so here.
                encrypted = "META-INF/manifest.xml" in names and b"encryption-data" in archive.read(
                    "META-INF/manifest.xml")
            except ZIP_ERRORS as exc:
                raise fail("corrupt", path, language, reason=exc) from exc
            if encrypted:
                raise fail("encrypted", path, language)
            if spreadsheet:
                return ODS, archive
            raise fail("odt", path, language)
        if "word/document.xml" in names:
            raise fail("word", path, language)
        if "ppt/presentation.xml" in names:
            raise fail("powerpoint", path, language)
        raise fail("not-excel", path, language)
    except BaseException:
        archive.close()
        raise


def check_limits(infos: list[zipfile.ZipInfo], path: Path, language: str, limits: Limits) -> None:
    """Refuse a zip whose members would unpack to too much, before anything unpacks them.

    Uses the sizes the archive's directory declares (reading them costs nothing); Python's own
    reads stop at a member's declared size.
    """
    limit = limits.unpacked_mb * _MB
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > limit:
            raise fail("too-big", path, language, member=info.filename, unpacked=_mb(info.file_size),
                       limit=limits.unpacked_mb)
        if total > limit:
            raise fail("too-big-total", path, language, unpacked=_mb(total), limit=limits.unpacked_mb)
        if info.file_size > _RATIO_FLOOR_BYTES:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.compression_ratio:
                raise fail("too-packed", path, language, member=info.filename, ratio=round(ratio),
                           packed=_mb(info.compress_size), unpacked=_mb(info.file_size),
                           limit=limits.compression_ratio)


def _mb(size: int) -> str:
    return f"{size / _MB:,.1f}"

def _looks_like_text(head: bytes) -> bool:
    for encoding in ("utf-8", "gb18030"):
        try:
            head.decode(encoding)
            return True
        except UnicodeDecodeError as exc:
            if exc.start >= len(head) - 4:  # a character cut at the end of the sample
                return True
    return False


def lock_notes(path: Path, language: str) -> list[str]:
    """A note when Excel, WPS or LibreOffice has the register open (its lock file is beside it)."""
    places = [path]
    if path.is_symlink():  # the program that has it open puts its lock beside the real file
        try:
            places.append(path.resolve())
        except OSError:
            pass
    for place in places:
        name = place.name
        candidates = [f"~${name}", f".~lock.{name}#"]
        if len(name) > 2:
            candidates.insert(1, f"~${name[2:]}")  # Excel shortens long names this way
        for candidate in candidates:
            if (place.parent / candidate).exists():
                return [translate(_MESSAGES, "lock-file", language, lock=candidate)]
    return []




# -- sheets inside the archive ----------------------------------------------------------------


def sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its XML part inside the archive (``xl/worksheets/sheet1.xml``)."""
    try:
        book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError, *ZIP_ERRORS) as exc:
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


_DATE1904 = re.compile(rb'<(?:\w+:)?workbookPr\b[^>]*\bdate1904="(?:1|true)"')
_NULL_DATE_1904 = re.compile(rb'<table:null-date\b[^>]*table:date-value="1904-01-01"')


def uses_1904_dates(archive: zipfile.ZipFile | None, kind: str) -> bool:
    """Whether the workbook counts its date serial numbers from 1904 (Excel for Mac's old
    default): calamine converts dates formatted as dates itself, but a bare serial number in
    a date column is converted by the reader and must count from the same day."""
    if archive is None:
        return False
    try:
        if kind == XLSX:
            return _DATE1904.search(archive.read("xl/workbook.xml")) is not None
        if kind == ODS:
            with archive.open("content.xml") as stream:  # the settings come before the tables
                return _NULL_DATE_1904.search(stream.read(1 << 16)) is not None
    except (KeyError, *ZIP_ERRORS):
        return False
    return False


# -- formulas without a cached value --------------------------------------------------------

_FORMULA_TAG = re.compile(rb"<f[\s>/]")
#: A cell whose value is an error (#N/A, #REF!: a formula's saved result, or pasted as a value),
#: which calamine gives as a blank cell. Two literal searches: one pattern for both (an
#: alternation) runs 20 times slower over a 200 MB sheet.
_ERROR_TAG = re.compile(rb't="e"')
_ERROR_TYPE = re.compile(rb'\bt="e"')


def has_formula_or_error(data: bytes) -> bool:
    """Whether ``data`` (a sheet's XML, or a chunk of it) holds a formula or an error value."""
    return _FORMULA_TAG.search(data) is not None or _ERROR_TAG.search(data) is not None
_F_ELEMENT = re.compile(rb"<f\b([^>]*?)(?:/>|>(.*?)</f>)", re.S)
_V_ELEMENT = re.compile(rb"<v\b[^>]*?(?:/>|>(.*?)</v>)", re.S)
_CELL_REF = re.compile(rb'\br="([A-Z]{1,3})([0-9]+)"')
_STR_TYPE = re.compile(rb'\bt="str"')
_SHARED_INDEX = re.compile(rb'\bsi="([0-9]+)"')
_CHUNK = 1 << 22


def _has_formulas(archive: zipfile.ZipFile, part: str) -> bool:
    """Whether a sheet's XML has a formula or an error value, read in chunks so a plain sheet
    costs no memory."""
    tail = b""
    with archive.open(part) as stream:
        while chunk := stream.read(_CHUNK):
            if has_formula_or_error(tail + chunk[:8]) or has_formula_or_error(chunk):
                return True
            tail = chunk[-5:]
    return False


#: Above this size the formula scan runs in a second process while calamine parses: it has to
#: unpack every sheet's XML (~200 MB at 100k rows) and would otherwise add ~5% to a read.
PARALLEL_SCAN_BYTES = 2_000_000
#: 0-based row -> {0-based column: "=formula" with no cached value, "#ERROR" an error value, None}.
FormulaCells = dict[int, dict[int, str | None]]


def scan_formulas(data: bytes, skip: frozenset[str] = frozenset()) -> dict[str, FormulaCells]:
    """Formula cells of every worksheet of an .xlsx given as bytes: sheet name -> cells. The
    sheets in ``skip`` are known to have none (not scanned; not in the result)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: formula_cells(archive.read(part)) if _has_formulas(archive, part) else {}
                for name, part in sheet_parts(archive).items() if name not in skip}


class FormulaScan:
    """:func:`scan_formulas` of a large file in a worker process, started before calamine
    parses; :meth:`result` waits for it and shuts the worker down (no thread outlives the read)."""

    def __init__(self, data: bytes, skip: frozenset[str] = frozenset()) -> None:
        self._pool = process_pool(1)  # spawned: no copy of the run lock, dies with the run
        self._future = self._pool.submit(scan_formulas, data, skip)
        self._result: dict[str, FormulaCells] | None = None
        self._done = False
        #: Scans in this process when the worker fails (set by a reader that let go of the bytes).
        self.fallback: Callable[[], dict[str, FormulaCells]] | None = None

    @classmethod
    def start(cls, data: bytes, skip: frozenset[str] = frozenset()) -> FormulaScan | None:
        """None for a small file, a one-core machine, or where processes cannot start: the
        reader then scans inline. ``skip``: sheets known to have no formula."""
        if len(data) < PARALLEL_SCAN_BYTES or (os.cpu_count() or 1) < 2:
            return None
        try:
            return cls(data, skip)
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
                self._pool.shutdown(wait=True)
                if self.fallback is not None:
                    self._result = self.fallback()
            finally:
                self._pool.shutdown(wait=True)
        return self._result

    def close(self) -> None:
        """Stop waiting for a scan nobody needs (the read failed first)."""
        if not self._done:
            self._done = True
            self._future.cancel()
            self._pool.shutdown(wait=True, cancel_futures=True)


def _unescape(text: str) -> str:
    """The five XML entities of a formula's text (xml.sax.saxutils.unescape, without importing
    it: it brings in urllib.request, http.client and the email parser, 40 ms of every start)."""
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&")):
        text = text.replace(entity, char)
    return text


def formula_cells(xml: bytes) -> dict[int, dict[int, str | None]]:
    """Formula and error cells of a sheet's XML: 0-based row -> {0-based column: text or None}.

    The text is the formula (``=SUM(A1:A3)``) for a formula with no cached value, the error
    (``#DIV/0!``, always starting with ``#``) for a cell whose value is an error, ``None`` for
    a formula whose value was saved.
    """
    start = xml.find(b"<sheetData")
    end = xml.rfind(b"</sheetData>")
    if start < 0 or end < 0:
        return {}
    cells: dict[int, dict[int, str | None]] = {}
    shared: dict[bytes, bytes] = {}
    pos = start
    formula = _FORMULA_TAG.search(xml, pos, end)
    error = _ERROR_TAG.search(xml, pos, end)
    while formula is not None or error is not None:
        f_at = min(m.start() for m in (formula, error) if m is not None)
        c_at = xml.rfind(b"<c ", start, f_at)
        c_end = xml.find(b"</c>", f_at, end)
        if c_at < 0 or c_end < 0:
            break
        pos = c_end
        if formula is not None and formula.start() < pos:
            formula = _FORMULA_TAG.search(xml, pos, end)
        if error is not None and error.start() < pos:
            error = _ERROR_TAG.search(xml, pos, end)
        open_end = xml.find(b">", c_at, c_end)  # the match may be in the start tag (t="e")
        attrs = xml[c_at:open_end]
        ref = _CELL_REF.search(attrs)
        if ref is None:
            continue
        body = xml[open_end + 1:c_end]
        is_error = _ERROR_TYPE.search(attrs) is not None
        if not is_error and f_at > open_end and b"<f" not in body:
            continue  # 't="e"' in a cell's text (a quote needs no escaping there), not its type
        f_match = _F_ELEMENT.search(body)
        text_of = f_match.group(2) if f_match and f_match.group(2) else b""
        f_attrs = f_match.group(1) if f_match else b""
        si = _SHARED_INDEX.search(f_attrs)
        if si and text_of:
            shared[si.group(1)] = text_of
        elif si:
            text_of = shared.get(si.group(1), b"")
        v_match = _V_ELEMENT.search(body)
        has_value = v_match is not None and (bool(v_match.group(1)) or bool(_STR_TYPE.search(attrs)))
        if is_error and v_match is not None and v_match.group(1):
            text: str | None = "#" + _unescape(v_match.group(1).decode("utf-8", "replace")).lstrip("#")
        else:
            text = None if has_value else "=" + _unescape(text_of.decode("utf-8", "replace"))
        row = int(ref.group(2)) - 1
        cells.setdefault(row, {})[_column_index(ref.group(1))] = text
    return cells


def _column_index(letters: bytes) -> int:
    index = 0
    for char in letters:
        index = index * 26 + char - 64
    return index - 1




# -- merged cells calamine does not report ---------------------------------------------------

#: A merged range as calamine gives it: ((first row, first col), (last row, last col)), 0-based.
Merge = tuple[tuple[int, int], tuple[int, int]]
_TABLE_NS = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"


def _contains(archive: zipfile.ZipFile, part: str, needles: tuple[bytes, ...]) -> bool:
    """Whether a member holds one of ``needles``, read in chunks (a plain sheet costs no memory)."""
    tail = b""
    with archive.open(part) as stream:
        while chunk := stream.read(_CHUNK):
            window = tail + chunk
            if any(needle in window for needle in needles):
                return True
            tail = chunk[-64:]
    return False


def _ods_cells(archive: zipfile.ZipFile) -> Iterator[tuple[str, int, int, Any]]:
    """(table name, row, column, element) of every cell of an .ods's content.xml, 0-based, in
    one streaming pass; repeated rows and columns are counted, the element is cleared after."""
    t = _TABLE_NS
    table_tag, row_tag = t + "table", t + "table-row"
    cell_tags = (t + "table-cell", t + "covered-table-cell")
    table = ""
    row = col = 0
    with archive.open("content.xml") as stream:
        for event, element in ElementTree.iterparse(stream, events=("start", "end")):
            tag = element.tag
            if event == "start":
                if tag == table_tag:
                    table = element.get(t + "name", "")
                    row = 0
                elif tag == row_tag:
                    col = 0
                continue
            if tag in cell_tags:
                yield table, row, col, element
                col += int(element.get(t + "number-columns-repeated", "1"))
                element.clear()
            elif tag == row_tag:
                row += int(element.get(t + "number-rows-repeated", "1"))
                element.clear()


def ods_merges(archive: zipfile.ZipFile) -> dict[str, list[Merge]]:
    """Merged cells of every table of an .ods, by table name (python-calamine gives none for
    OpenDocument). A file without spanned cells costs one streaming pass over content.xml."""
    if not _contains(archive, "content.xml", (b"number-rows-spanned", b"number-columns-spanned")):
        return {}
    t = _TABLE_NS
    merges: dict[str, list[Merge]] = {}
    for table, row, col, element in _ods_cells(archive):
        down = int(element.get(t + "number-rows-spanned", "1"))
        across = int(element.get(t + "number-columns-spanned", "1"))
        if down > 1 or across > 1:
            merges.setdefault(table, []).append(((row, col), (row + down - 1, col + across - 1)))
    return merges


_CALCEXT_VALUE_TYPE = "{urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0}value-type"
_TEXT_P = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}p"


def ods_errors(archive: zipfile.ZipFile) -> dict[str, FormulaCells]:
    """Cells of an .ods whose value is an error (#DIV/0!, #N/A), by table name, as
    :func:`formula_cells` gives them for an .xlsx ("#ERROR" text): calamine reads them as blank
    cells. LibreOffice marks them ``calcext:value-type="error"``; looked for only when
    content.xml holds one."""
    if not _contains(archive, "content.xml", (b'value-type="error"',)):
        return {}
    found: dict[str, FormulaCells] = {}
    for table, row, col, element in _ods_cells(archive):
        if element.get(_CALCEXT_VALUE_TYPE) == "error":
            text = "".join(p.text or "" for p in element.iter(_TEXT_P)).strip() or "#VALUE!"
            across = int(element.get(_TABLE_NS + "number-columns-repeated", "1"))
            for c in range(col, col + across):
                found.setdefault(table, {}).setdefault(row, {})[c] = "#" + text.lstrip("#")
    return found


_BRT_BUNDLE_SH, _BRT_END_SHEET_DATA, _BRT_MERGE_CELL = 156, 146, 176


def _records(data: bytes, pos: int = 0) -> Iterator[tuple[int, int, int]]:
    """The records of an .xlsb part from ``pos``: (type, start of data, size)."""
    end = len(data)
    while pos < end:
        kind = data[pos]
        pos += 1
        if kind & 0x80:
            kind = (kind & 0x7F) | ((data[pos] & 0x7F) << 7)
            pos += 1
        size = shift = 0
        for _ in range(4):
            byte = data[pos]
            pos += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        yield kind, pos, size
        pos += size
    if pos != end:
        raise ValueError("record runs past the end of the part")


def xlsb_sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its part (``xl/worksheets/sheet1.bin``) in an .xlsb workbook."""
    data = archive.read("xl/workbook.bin")
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.bin.rels"))
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels}
    parts: dict[str, str] = {}
    for kind, start, _size in _records(data):
        if kind != _BRT_BUNDLE_SH:
            continue
        pos = start + 8  # hsState, iTabID
        (length,) = struct.unpack_from("<I", data, pos)
        rel_id = data[pos + 4:pos + 4 + 2 * length].decode("utf-16-le")
        pos += 4 + 2 * length
        (length,) = struct.unpack_from("<I", data, pos)
        name = data[pos + 4:pos + 4 + 2 * length].decode("utf-16-le")
        target = targets.get(rel_id, "")
        if target:
            parts[name] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return parts


def xlsb_merges(archive: zipfile.ZipFile) -> dict[str, list[Merge]]:
    """Merged cells of every sheet of an .xlsb (python-calamine gives none for it).

    BrtMergeCell records follow the sheet data, so only the part after the last BrtEndSheetData
    is walked: a sheet costs one search from its end, not a walk over every cell record.
    """
    merges: dict[str, list[Merge]] = {}
    end_marker = bytes((_BRT_END_SHEET_DATA & 0x7F | 0x80, _BRT_END_SHEET_DATA >> 7, 0))
    for name, part in xlsb_sheet_parts(archive).items():
        data = archive.read(part)
        if bytes((_BRT_MERGE_CELL & 0x7F | 0x80, _BRT_MERGE_CELL >> 7, 16)) not in data:
            continue
        at = len(data)
        while (at := data.rfind(end_marker, 0, at)) >= 0:
            try:
                found = [struct.unpack_from("<4I", data, start) for kind, start, size
                         in _records(data, at) if kind == _BRT_MERGE_CELL and size >= 16]
            except (ValueError, IndexError, struct.error):
                continue  # the marker's bytes inside some other record: look further back
            merges[name] = [((r0, c0), (r1, c1)) for r0, r1, c0, c1 in found]
            break
    return merges
