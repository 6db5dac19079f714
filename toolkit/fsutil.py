"""Writing files safely: every file goes to a temporary name in the same folder, then is
renamed into place, so a crash never leaves a half-written document, workbook or mail."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import OutputError
from .i18n import Messages, translate

_MESSAGES: Messages = {
    "not-a-folder": {
        "zh": "无法使用输出文件夹 {path}：{blocker} 是一个文件，不是文件夹。请在 config.toml 或命令行中改用"
              "另一个文件夹，或移走该文件。",
        "en": "cannot use the output folder {path}: {blocker} is a file, not a folder. Choose another "
              "folder in config.toml or on the command line, or move that file away.",
    },
    "cannot-create": {
        "zh": "无法创建输出文件夹 {path}：{error}。请检查该位置是否存在、是否有写入权限。",
        "en": "cannot create the output folder {path}: {error}. Check that the location exists and "
              "is writable.",
    },
    "cannot-write": {
        "zh": "无法在输出文件夹 {path} 中写入文件：{error}。请检查是否有写入权限（网络盘是否只读、磁盘是否已满），"
              "或在 config.toml 中改用另一个文件夹。",
        "en": "cannot write files in the output folder {path}: {error}. Check that it is writable (a "
              "read-only network drive, a full disk), or choose another folder in config.toml.",
    },
}

#: The system's reasons, in Chinese: a strerror such as "Permission denied" in a Chinese sentence
#: is the one part a user cannot read.
_ZH_ERRNO = {errno.ENOENT: "路径不存在", errno.EACCES: "没有权限", errno.EPERM: "不允许此操作",
             errno.EROFS: "文件系统是只读的", errno.ENOSPC: "磁盘已满", errno.EDQUOT: "超出磁盘配额",
             errno.ENOTDIR: "路径中有一项不是文件夹", errno.EEXIST: "已存在同名文件",
             errno.EIO: "读写出错（磁盘或网络盘）", errno.ENAMETOOLONG: "路径太长",
             errno.ECONNREFUSED: "连接被拒绝", errno.ETIMEDOUT: "连接超时", errno.ECONNRESET: "连接被对方重置",
             errno.EHOSTUNREACH: "无法到达该主机", errno.ENETUNREACH: "网络不可达"}


def os_reason(exc: OSError, language: str = "zh") -> str:
    """Why an OS call failed, in ``language`` (the system's own words for an unknown errno)."""
    if language == "zh" and exc.errno in _ZH_ERRNO:
        return _ZH_ERRNO[exc.errno]
    return exc.strerror or str(exc)


_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                     *(f"LPT{i}" for i in range(1, 10))}
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
#: No unsafe character, and neither white space nor a dot at either end.
_ALREADY_SAFE = re.compile(r'[^\x00-\x1f\x7f/\\:*?"<>|\s.](?:[^\x00-\x1f\x7f/\\:*?"<>|]*[^\x00-\x1f\x7f/\\:*?"<>|\s.])?')


def same_file(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` are the same file (links and ``..`` included), so an output
    path can be refused when it is the staff's register."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.normcase(a.resolve()) == os.path.normcase(b.resolve())


def ensure_folder(path: str | os.PathLike[str], language: str = "zh") -> Path:
    """Create ``path`` (and its parents) as a folder, or raise :class:`OutputError` saying which
    file stands in the way or why it cannot be created."""
    folder = Path(path)
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            if not candidate.is_dir():
                raise OutputError(translate(_MESSAGES, "not-a-folder", language, path=folder, blocker=candidate))
            break
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(translate(_MESSAGES, "cannot-create", language, path=folder,
                                    error=os_reason(exc, language))) from exc
    return folder


def writable_folder(path: str | os.PathLike[str], language: str = "zh") -> Path:
    """:func:`ensure_folder`, then prove a file can be made in it (a read-only share, a full disk,
    no permission): one clear :class:`OutputError` before a run starts, not a traceback from
    the first file it writes."""
    folder = ensure_folder(path, language)
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-test.", suffix=TEMP_SUFFIX, dir=folder)
    except OSError as exc:
        raise OutputError(translate(_MESSAGES, "cannot-write", language, path=folder,
                                    error=os_reason(exc, language))) from exc
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return folder


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str], *, durable: bool = False) -> Iterator[BinaryIO]:
    """Open a temporary file beside ``path`` for binary writing; rename it over ``path`` on
    success, remove it on error. Parent folders are created.

    ``durable`` also syncs the folder after the rename, so the new name survives a power cut
    (for files whose existence something else relies on, like an outbox mail the ledger records).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # The writer's PID in the name: the next run removes what a killed process left
    # (remove_stale_temps) and leaves alone what a live one is writing.
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=TEMP_SUFFIX, dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0600; colleagues on a shared drive must be able to read our files.
        os.chmod(tmp, _mode_for(target))
        os.replace(tmp, target)
        if durable:
            _sync_folder(target.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


TEMP_SUFFIX = ".tmp"
#: atomic_writer's temporary names: ``.<name>.<pid>.<8 random>.tmp``; the older form had no PID.
_TEMP_NAME = re.compile(r"\.(?P<name>.+?)\.(?:(?P<pid>\d+)\.)?[a-z0-9_]{8}\.tmp")
#: A temporary file without a PID in its name counts as left behind after this long.
_OLD_TEMP_AGE = 3600.0


def remove_stale_temps(folders: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Remove atomic_writer's temporary files that no live process is writing, in ``folders``
    and below (each folder walked once, nested ones skipped); returns what was removed."""
    roots: list[Path] = []
    for folder in sorted({Path(f).absolute() for f in folders}, key=lambda p: len(p.parts)):
        if not any(folder.is_relative_to(root) for root in roots):
            roots.append(folder)
    removed: list[Path] = []
    now = time.time()
    for root in roots:
        for path in _temp_files(root):
            match = _TEMP_NAME.fullmatch(path.name)
            if match is None:
                continue
            pid = int(match.group("pid")) if match.group("pid") else None
            try:
                if pid is None:
                    if now - path.stat().st_mtime < _OLD_TEMP_AGE:
                        continue
                elif pid == os.getpid() or pid_alive(pid):
                    continue
                path.unlink()
            except OSError:
                continue  # gone already, or not ours to remove
            removed.append(path)
    return removed


def _temp_files(root: Path) -> Iterator[Path]:
    """Files named ``.*.tmp`` under ``root`` (scandir: no stat per file, so 100k documents are quick)."""
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif name.startswith(".") and name.endswith(TEMP_SUFFIX):
                    yield Path(entry.path)
            except OSError:
                continue


def pid_alive(pid: int) -> bool:
    """True when a process with this id exists (it may belong to another user)."""
    if pid <= 0:
        return False
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    # A zombie (dead, not yet reaped: a killed run's worker in a container whose PID 1 reaps
    # nothing) still answers kill(0), but writes nothing any more.
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return True  # no /proc (macOS): trust kill(0)
    return stat[stat.rfind(b")") + 2:][:1] not in (b"Z", b"X")



def _mode_for(target: Path) -> int:
    """The existing file's mode, else the usual 0666 less the process umask."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, durable: bool = False) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_writer` for ``durable``)."""
    with atomic_writer(path, durable=durable) as handle:
        handle.write(data)


def _sync_folder(folder: Path) -> None:
    if os.name != "posix":  # Windows cannot open a folder to sync it; NTFS journals renames
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


#: File systems allow 255 bytes a name; atomic_writer's temporary name adds up to 22 more
#: (dot, PID, random part, ".tmp").
MAX_NAME_BYTES = 200


def sanitize_filename(name: str, max_bytes: int = MAX_NAME_BYTES) -> str:
    """A file or folder name safe on Windows and POSIX, derived from register text.

    Removes path separators and ``: * ? " < > |`` and control characters, refuses ``.``/``..``,
    avoids Windows reserved names (CON, NUL, COM1...), trims trailing dots and spaces, and caps
    the length in UTF-8 bytes (a Chinese character is 3), keeping the extension.
    """
    if (len(name.encode("utf-8")) <= max_bytes and _ALREADY_SAFE.fullmatch(name) and ".." not in name
            and name.split(".", 1)[0].upper() not in _WINDOWS_RESERVED):
        return name  # the common case, decided in one regex (document names are made per row)
    cleaned = _UNSAFE.sub("_", name).replace("..", "_").strip().rstrip(". ")
    cleaned = cleaned.lstrip(".") or "_"
    stem, dot, ext = cleaned.rpartition(".")
    if not dot or len(ext) > 10:
        stem, ext = cleaned, ""
    if stem.split(".")[0].upper() in _WINDOWS_RESERVED:
        stem = f"_{stem}"
    suffix = f".{ext}" if ext else ""
    return f"{truncate_bytes(stem, max(1, max_bytes - len(suffix.encode('utf-8'))))}{suffix}"


def truncate_bytes(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8, never inside a character."""
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    return data[:max_bytes].decode("utf-8", "ignore").rstrip(". ") or "_"
