"""PDFs of the documents with LibreOffice, and the day's print batch (pdfunite).

LibreOffice converts one file after another in one process. Several processes, each with its
own profile (``-env:UserInstallation``), convert on several cores at once; the profiles are kept
in ``<output.dir>/cache/libreoffice/`` between runs, because creating a profile costs about half
a second per process.

LibreOffice gets a lean copy of each document (:func:`lean_docx`): the templates carry the 164
style definitions of Word's default template, of which a form uses 15, and importing the unused
ones was about 40 % of LibreOffice's time a form (0.18 -> 0.11 s of CPU); the pages it prints are
the same, pixel for pixel. The documents themselves are not changed.

Each LibreOffice runs under a small guard process (:data:`_GUARD`) that ends all of it on a
timeout, on Ctrl-C, or when the toolkit dies, so no soffice is left converting after a crash.

>>> made = convert_to_pdf([Path("a.docx"), Path("b.docx")], soffice="soffice", workers=2)
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..fsutil import atomic_write_bytes
from ..i18n import Messages, translate

if TYPE_CHECKING:
    from .stage import GenerateResult

#: Below this many files a further LibreOffice process costs more (its start) than it saves.
_FILES_PER_PROCESS = 4

MESSAGES: Messages = {
    "no-soffice": {"zh": "未安装 LibreOffice（找不到 soffice），未生成 PDF。请安装 LibreOffice 后加 --pdf 重试。",
                   "en": "LibreOffice is not installed (soffice not found); no PDF made. Install "
                         "LibreOffice and run again with --pdf."},
    "no-cjk-font": {"zh": "系统没有中文字体（fc-list :lang=zh 为空），PDF 中的汉字会显示为方框，因此未生成 PDF。"
                          "请安装中文字体（如 fonts-noto-cjk）后重试。",
                    "en": "no Chinese font is installed (fc-list :lang=zh is empty); PDFs would show boxes "
                          "instead of Chinese text, so none was made. Install one (e.g. fonts-noto-cjk) and "
                          "run again."},
    "soffice-failed": {"zh": "LibreOffice 转换 PDF 失败：{error}", "en": "LibreOffice could not convert to PDF: {error}"},
    "pdf-missing": {"zh": "LibreOffice 未生成 {name} 的 PDF", "en": "LibreOffice made no PDF of {name}"},
    "no-merge": {"zh": "找不到 pdfunite（poppler-utils），无法合并打印批次；单个 PDF 已生成。",
                 "en": "pdfunite (poppler-utils) is not installed, so the print batch cannot be merged; "
                       "the single PDFs were made."},
    "merge-failed": {"zh": "合并打印批次失败：{error}", "en": "merging the print batch failed: {error}"},
    "nothing-to-print": {"zh": "今天没有新建或更新的文件，无需打印。",
                         "en": "no document was created or updated, nothing to print."},
}


class PdfError(Exception):
    pass


def cjk_font_installed() -> bool:
    """True when fontconfig knows a Chinese font (or fontconfig is absent, e.g. on Windows)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return True
    try:
        out = subprocess.run([fc_list, ":lang=zh"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return True
    return bool(out.stdout.strip())


def find_soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


_STYLES_PART = "word/styles.xml"
# A style definition, self-closing or not (w:style elements never nest).
_STYLE = re.compile(rb"<w:style\s[^>]*/>|<w:style[\s>].*?</w:style>", re.S)
_STYLE_ID = re.compile(rb'w:styleId="([^"]*)"')
# Everything that names a style by its id: paragraphs, runs, tables, numbering, other styles and
# the defaults of settings.xml.
_STYLE_REF = re.compile(
    rb'<w:(?:pStyle|rStyle|tblStyle|numStyleLink|styleLink|basedOn|next|link|clickAndTypeStyle|defaultTableStyle)'
    rb' w:val="([^"]*)"')
# Fields that look styles up by name (a table of contents, STYLEREF): such a document is left whole.
_STYLE_FIELDS = re.compile(rb"\b(?:TOC|STYLEREF)\b")


@functools.lru_cache(maxsize=8)
def _style_definitions(styles: bytes) -> dict[bytes, tuple[bytes, ...]] | None:
    """Style id -> the style ids its definition names (``None`` for a definition without an id).
    Cached: the documents of one template share their styles part byte for byte."""
    definitions: dict[bytes, tuple[bytes, ...]] = {}
    for match in _STYLE.finditer(styles):
        block = match.group(0)
        style_id = _STYLE_ID.search(block)
        if style_id is None:
            return None
        refs = tuple(_STYLE_REF.findall(block))
        # Default and numbering styles count as used: LibreOffice and Word apply them unnamed.
        if b'w:default="1"' in block or b'w:type="numbering"' in block:
            refs = (b"", *refs)
        definitions[style_id.group(1)] = refs
    return definitions


@functools.lru_cache(maxsize=8)
def _lean_styles(styles: bytes, wanted: frozenset[bytes]) -> bytes:
    def keep(match: re.Match[bytes]) -> bytes:
        style_id = _STYLE_ID.search(match.group(0))
        return match.group(0) if style_id is not None and style_id.group(1) in wanted else b""

    return _STYLE.sub(keep, styles)


def lean_docx(data: bytes) -> bytes:
    """``data`` (a .docx) without the style definitions that nothing in it uses, for LibreOffice
    to import faster; the default styles, numbering styles and every style a used one is based on,
    follows or links to stay. Anything unexpected (not a zip, no styles part, a field that names
    styles) returns ``data`` unchanged: the lean copy is only a speed-up."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            infos = package.infolist()
            parts = {info.filename: package.read(info) for info in infos}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, KeyError):
        return data
    styles = parts.get(_STYLES_PART)
    definitions = _style_definitions(styles) if styles is not None else None
    if styles is None or definitions is None:
        return data
    wanted: set[bytes] = {style_id for style_id, refs in definitions.items() if refs[:1] == (b"",)}
    for name, body in parts.items():
        if name.endswith(".xml") and name != _STYLES_PART and name != "word/stylesWithEffects.xml":
            if name.startswith("word/") and _STYLE_FIELDS.search(body):
                return data
            wanted.update(_STYLE_REF.findall(body))
    todo = list(wanted)
    while todo:
        for ref in definitions.get(todo.pop(), ()):
            if ref and ref not in wanted:
                wanted.add(ref)
                todo.append(ref)
    if wanted.issuperset(definitions):
        return data
    parts[_STYLES_PART] = _lean_styles(styles, frozenset(wanted))
    out = io.BytesIO()
    # Stored, not deflated: the copy lives a minute in a temporary folder, and deflating it again
    # would cost more than LibreOffice saves.
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as package:
        for info in infos:
            info.compress_type = zipfile.ZIP_STORED
            package.writestr(info, parts[info.filename])
    return out.getvalue()


# Runs LibreOffice in a session of its own and ends that whole session (oosplash and the
# soffice.bin it starts) when told to stop (SIGUSR1) or when the toolkit dies, even by kill -9
# (PR_SET_PDEATHSIG): a signal to oosplash alone would leave soffice.bin converting. Ctrl-C and
# SIGTERM to the process group are the toolkit's to act on (the scheduler finishes its job; a
# run interrupted stops the guard itself), so the guard ignores them.
_GUARD = r"""
import ctypes, os, signal, subprocess, sys
office = None
def stop(*_):
    if office is not None:
        try:
            os.killpg(office.pid, signal.SIGKILL)
        except OSError:
            pass
    os._exit(1)
signal.signal(signal.SIGUSR1, stop)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGINT, signal.SIG_IGN)
try:
    ctypes.CDLL(None).prctl(1, signal.SIGUSR1, 0, 0, 0)
except (OSError, AttributeError):
    pass
if os.getppid() != int(sys.argv[1]):
    stop()
try:
    office = subprocess.Popen(sys.argv[2:], start_new_session=True, stdin=subprocess.DEVNULL)
except OSError as exc:
    sys.stderr.write(f"{exc}\n")
    sys.exit(127)
code = office.wait()
try:
    os.killpg(office.pid, signal.SIGKILL)
except OSError:
    pass
sys.exit(code)
"""


def _start_office(command: list[str]) -> subprocess.Popen[bytes]:
    """Start ``command`` (LibreOffice); on POSIX under :data:`_GUARD`, so nothing outlives the run."""
    if os.name == "posix" and sys.executable:
        command = [sys.executable, "-I", "-S", "-c", _GUARD, str(os.getpid()), *command]
    return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def _stop_office(process: subprocess.Popen[bytes]) -> None:
    """End a LibreOffice started by :func:`_start_office` (the guard ends its whole session)."""
    if os.name == "posix" and sys.executable:
        process.send_signal(signal.SIGUSR1)
    else:
        process.terminate()
    try:
        process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()


def _chunks(items: Sequence[Path], n: int) -> list[list[Path]]:
    """``n`` nearly equal slices, in order (round robin would interleave the print order)."""
    size, extra = divmod(len(items), n)
    out, start = [], 0
    for i in range(n):
        end = start + size + (1 if i < extra else 0)
        if end > start:
            out.append(list(items[start:end]))
        start = end
    return out


def convert_to_pdf(sources: Sequence[Path], *, soffice: str, workers: int = 0,
                   profiles: Path | None = None, timeout: float | None = None) -> dict[Path, Path]:
    """Convert .docx files to PDFs beside them with ``workers`` LibreOffice processes at once
    (0 = one per core), each with a private profile so none collides with a LibreOffice the user
    has open. Each PDF is moved into place atomically. Returns source -> PDF for those that worked."""
    if not sources:
        return {}
    if workers <= 0:
        workers = os.cpu_count() or 1
    workers = max(1, min(workers, -(-len(sources) // _FILES_PER_PROCESS)))
    done: dict[Path, Path] = {}
    with tempfile.TemporaryDirectory(prefix="complaint-toolkit-pdf-") as tmp:
        work = Path(tmp)
        jobs = []
        number = 0
        for slot, chunk in enumerate(_chunks(list(sources), workers)):
            folder = work / f"w{slot}"
            (folder / "out").mkdir(parents=True)
            inputs = []
            for source in chunk:
                copy = folder / f"{number:05d}.docx"  # unique names: one outdir per process
                number += 1
                copy.write_bytes(lean_docx(source.read_bytes()))
                inputs.append((source, copy))
            profile = (profiles / f"p{slot}") if profiles else folder / "profile"
            jobs.append((folder, inputs, profile))
        processes: list[subprocess.Popen[bytes]] = []
        limit = timeout or 120 + 5 * len(sources)
        failures = []
        try:
            for folder, inputs, profile in jobs:
                command = [soffice, f"-env:UserInstallation={profile.resolve().as_uri()}", "--headless",
                           "--norestore", "--nolockcheck", "--convert-to", "pdf", "--outdir",
                           str(folder / "out"), *(str(copy) for _, copy in inputs)]
                try:
                    processes.append(_start_office(command))
                except OSError as exc:
                    raise PdfError(str(exc)) from exc
            deadline = time.monotonic() + limit
            for process in processes:
                try:
                    _, stderr = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    _stop_office(process)
                    failures.append(f"timed out after {limit:.0f} s")
                    continue
                if process.returncode:
                    text = stderr.decode("utf-8", "replace").strip() if stderr else ""
                    failures.append(text or f"exit code {process.returncode}")
        finally:
            for process in processes:  # an error or Ctrl-C here must not leave LibreOffice running
                if process.poll() is None:
                    _stop_office(process)
        for folder, inputs, _ in jobs:
            for source, copy in inputs:
                made = folder / "out" / (copy.stem + ".pdf")
                if made.exists():
                    target = source.with_suffix(".pdf")
                    atomic_write_bytes(target, made.read_bytes())
                    done[source] = target
        if failures and not done:
            raise PdfError("; ".join(failures))
    return done


def make_pdfs(result: GenerateResult, docs_dir: Path, today: dt.date, language: str, batch: bool,
              workers: int = 0, profiles: Path | None = None) -> None:
    """PDFs of the documents written (and of unchanged ones without a PDF), then the print batch."""
    from .stage import UNCHANGED

    soffice = find_soffice()
    if soffice is None:
        result.notes.append(translate(MESSAGES, "no-soffice", language))
        return
    if not cjk_font_installed():
        result.notes.append(translate(MESSAGES, "no-cjk-font", language))
        return
    written = [Path(d.path) for d in result.written]
    # An unchanged document whose PDF is missing (deleted, or first run with --pdf) gets one too.
    missing = [Path(d.path) for d in result.documents
               if d.status == UNCHANGED and not Path(d.path).with_suffix(".pdf").exists()]
    try:
        made = convert_to_pdf(written + missing, soffice=soffice, workers=workers, profiles=profiles)
    except PdfError as exc:
        result.notes.append(translate(MESSAGES, "soffice-failed", language, error=exc))
        return
    for source in written + missing:
        if source not in made:
            result.notes.append(translate(MESSAGES, "pdf-missing", language, name=source.name))
    result.pdf = [str(p) for p in made.values()]
    if not batch:
        return
    batch_pdfs = [str(made[p]) for p in written if p in made]
    if not batch_pdfs:
        result.notes.append(translate(MESSAGES, "nothing-to-print", language))
        return
    pdfunite = shutil.which("pdfunite")
    if pdfunite is None:
        result.notes.append(translate(MESSAGES, "no-merge", language))
        return
    target = docs_dir / "print" / f"{today.isoformat()}_print-batch.pdf"
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="complaint-toolkit-merge-") as tmp:
        merged = Path(tmp) / "batch.pdf"
        try:
            subprocess.run([pdfunite, *batch_pdfs, str(merged)], capture_output=True, timeout=300, check=True)
        except (OSError, subprocess.SubprocessError) as exc:
            result.notes.append(translate(MESSAGES, "merge-failed", language, error=exc))
            return
        atomic_write_bytes(target, merged.read_bytes())
    result.print_batch = str(target)
