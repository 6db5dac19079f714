"""Where documents go and what they were made from: file names from the config patterns, the
input hash of each document, and the manifest (``.toolkit-manifest.json``) that lets a rerun
leave unchanged documents alone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from string import Formatter
from typing import Any, BinaryIO

from ..config import Config
from ..errors import ConfigError
from ..fields import FIELD_NAMES, FIELDS
from ..fsutil import atomic_writer, sanitize_filename, truncate_bytes
from ..i18n import Messages, translate
from ..model import Record
from .context import display
from .jinja import PreparedTemplate
from .kinds import DocumentKind, document_kinds

log = logging.getLogger(__name__)

#: Bump when rendering changes in a way that should rewrite every document.
ENGINE_VERSION = "6"  # 6: CAPA lines keep their own numbers (1.5倍), conditions read values, footnotes filled, .dotx typed as a document
#: Bump when MERGEFIELD ``\\#`` number pictures print differently: only the documents of templates
#: that use one are rewritten. 2: rounding half away from zero, space grouping. 3: x, a zero section.
NUMBER_PICTURES = "3"
MANIFEST_NAME = ".toolkit-manifest.json"
#: The outcome of the last complete run, for a rerun on the same register bytes.
SNAPSHOT_NAME = ".toolkit-last-run.json"
MANIFEST_VERSION = 2

MESSAGES: Messages = {
    "bad-pattern": {"zh": "[documents].{option} 中的 {{{name}}} 不是字段名；可用字段名及 {{year}} {{month}} {{kind}}。",
                    "en": "{{{name}}} in [documents].{option} is not a field name; use field names and "
                          "{{year}} {{month}} {{kind}}."},
    "invalid-pattern": {"zh": "[documents].{option} = \"{pattern}\" 不是有效的格式：{error}。请把字段名写在花括号里，如 {{complaint_id}}。",
                        "en": "[documents].{option} = \"{pattern}\" is not a valid pattern: {error}. Write field names "
                              "in braces, e.g. {{complaint_id}}."},
}


def document_relpath(record: Record, kind: str, config: Config) -> str:
    """``2026/11/KS-2026-0001_客诉反馈单.docx``: folder and file name from the config patterns,
    every component sanitised (register text never chooses where a file goes)."""
    return Namer(config).relpath(record, kind)


class Namer:
    """Document paths from the config patterns. The patterns are parsed once, only the fields
    they name are formatted for each record, and each folder is worked out once."""

    def __init__(self, config: Config, kinds: list[DocumentKind] | None = None) -> None:
        self.language = config.language
        docs = config.documents
        kinds = kinds if kinds is not None else document_kinds(config)
        self.patterns = {"folder_pattern": docs.folder_pattern}
        #: kind -> the config key its pattern is named by in messages
        self.keys = {}
        for kind in kinds:
            key = {"feedback": "feedback_name", "capa": "capa_name"}.get(kind.key, f'kinds."{kind.key}".name')
            self.keys[kind.key] = key
            self.patterns[key] = kind.file_pattern(self.language)
        used: dict[str, set[str]] = {}
        for key, pattern in self.patterns.items():
            try:
                used[key] = {n.split(".")[0].split("[")[0] for _, n, _, _ in Formatter().parse(pattern) if n}
            except ValueError as exc:
                raise ConfigError(translate(MESSAGES, "invalid-pattern", self.language, option=key,
                                            pattern=pattern, error=exc)) from exc
        names = set().union(*used.values())
        self.fields = [f.name for f in FIELDS if f.name in names]
        self.folder_fields = [f.name for f in FIELDS if f.name in used["folder_pattern"]]
        self._folders: dict[tuple[Any, ...], str] = {}

    def relpath(self, record: Record, kind: str) -> str:
        get = record.values.get
        received = get("received_on")
        if isinstance(received, dt.date):  # datetime is a date too
            year, month = f"{received.year:04d}", f"{received.month:02d}"
        else:
            year, month = "0000", "00"
        values = {name: name_part(display(name, get(name), self.language)) for name in self.fields}
        values.update(year=year, month=month, kind=kind)
        folder_key = (year, month, kind, *(values[n] for n in self.folder_fields))
        folder = self._folders.get(folder_key)
        if folder is None:
            text = _format_pattern(self.patterns["folder_pattern"], values, "folder_pattern", self.language)
            folder = "/".join(sanitize_filename(c) for c in text.replace("\\", "/").split("/") if c.strip())
            self._folders[folder_key] = folder
        pattern_key = self.keys[kind]
        name = _format_pattern(self.patterns[pattern_key], values, pattern_key, self.language)
        name = sanitize_filename(name.replace("/", "_").replace("\\", "_"))
        return f"{folder}/{name}" if folder else name


#: Room for one register value in a file name, so the pattern's own text (``_客诉反馈单.docx``)
#: always survives the length cap.
_PART_BYTES = 90


def name_part(text: str) -> str:
    """A register value made safe to stand inside a file name.

    When making it safe changed it, a short hash of the original is added, so values that
    differ only in unsafe characters (``KS/1``, ``KS:1``, ``KS_1``) never share a file.
    """
    safe = sanitize_filename(text, _PART_BYTES) if text else ""
    if safe == text:
        return text
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:6]
    return f"{truncate_bytes(safe, _PART_BYTES - 7)}~{digest}"



def _format_pattern(pattern: str, values: dict[str, str], key: str, language: str) -> str:
    try:
        return pattern.format_map(values)
    except KeyError as exc:
        raise ConfigError(translate(MESSAGES, "bad-pattern", language, option=key, name=exc.args[0])) from exc
    except (ValueError, IndexError) as exc:
        raise ConfigError(translate(MESSAGES, "invalid-pattern", language, option=key, pattern=pattern,
                                    error=exc)) from exc


def load_manifest(path: Path) -> dict[str, str]:
    """relative path -> hash of the inputs the document was last written from."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        # Losing the manifest only costs a rewrite of every document; never a reason to stop.
        log.warning("document manifest %s is unreadable (%s); every document will be rewritten", path, exc)
        return {}
    if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
        return {}  # an older manifest: documents are written once more, then recorded anew
    documents = data.get("documents")
    return documents if isinstance(documents, dict) else {}


def save_manifest(path: Path, documents: dict[str, str]) -> None:
    # One line per document: staff can read it, and it stays quick to load at 100k documents.
    # Written in slices, so the text of 200k documents is never held whole (twice, as str and
    # as bytes) beside everything else the run holds.
    with atomic_writer(path) as out:
        out.write(f'{{"version": {MANIFEST_VERSION}, "documents": {{'.encode())
        keys = sorted(documents)
        for start in range(0, len(keys), _SLICE):
            # json's C encoder writes a slice, one entry a line (the separators do it; indent=
            # would use the pure-Python encoder); its braces are cut off.
            text = json.dumps({k: documents[k] for k in keys[start:start + _SLICE]}, ensure_ascii=False,
                              separators=(",\n", ": "))[1:-1]
            out.write(("\n" if start == 0 else ",\n").encode() + text.encode("utf-8"))
        out.write(b"\n}}\n")


#: Documents per slice written by save_manifest and save_snapshot.
_SLICE = 10_000


def load_snapshot(path: Path, key: str) -> Iterator[list[list[Any]]] | None:
    """The documents of the last run, a slice at a time, if it was made under ``key``; else None.

    The key is the file's first line, so a run on other inputs (the day after staff changed the
    register) reads 70 bytes of it, not the whole list of 200k documents. The slices are parsed
    one by one (the file's text is never held whole); iterating raises ValueError for a damaged
    file or one that ends before its count line."""
    try:
        file = open(path, "rb")
    except OSError:
        return None  # no snapshot: the full check runs
    try:
        same = file.readline().rstrip(b"\n") == key.encode("ascii")
    except OSError:
        same = False
    if not same:
        file.close()
        return None
    return _snapshot_slices(file)


def _snapshot_slices(file: BinaryIO) -> Iterator[list[list[Any]]]:
    with file:
        count = 0
        for line in file:
            if line.startswith(b"end "):
                if int(line[4:]) != count:
                    raise ValueError(f"the snapshot holds {count} documents, its last line says {line[4:]!r}")
                return
            part = json.loads(line)
            if not isinstance(part, list):
                raise ValueError("a snapshot line is not a list of documents")
            count += len(part)
            yield part
    raise ValueError("the snapshot ends before its count line")


def save_snapshot(path: Path, key: str, documents: Iterable[list[Any]]) -> None:
    """The key on a line, then the documents as JSON arrays of a slice each, one a line, then
    ``end <count>``: a file cut short is never taken for a run with fewer documents."""
    with atomic_writer(path) as out:
        out.write(key.encode("ascii") + b"\n")
        batch: list[list[Any]] = []
        count = 0
        for document in documents:
            batch.append(document)
            if len(batch) == _SLICE:
                out.write(json.dumps(batch, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
                count += len(batch)
                batch.clear()
        if batch:
            out.write(json.dumps(batch, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
            count += len(batch)
        out.write(f"end {count}\n".encode())


class ExistingFiles:
    """Which documents exist, one directory listing per folder instead of a stat per file."""

    def __init__(self, root: str) -> None:
        self.root = root
        #: The folders listed so far (their files are in ``paths``).
        self._folders: set[str] = set()
        #: Relative paths of every file in the folders listed so far: ``relpath in paths`` is one
        #: set lookup, for the 100k documents of a rerun that are all there.
        self.paths: set[str] = set()

    def list_all(self) -> None:
        """List every folder under the root now (the daily job does it while the register is
        parsed), so the checks that follow are set lookups."""
        pending = [""]
        while pending:
            folder = pending.pop()
            names: set[str] = set()
            try:
                with os.scandir(os.path.join(self.root, folder) if folder else self.root) as entries:
                    for entry in entries:
                        if entry.is_file():
                            names.add(entry.name)
                        elif entry.is_dir(follow_symlinks=False):
                            pending.append(f"{folder}/{entry.name}" if folder else entry.name)
            except OSError:  # gone since, or not readable: looked at again when asked
                continue
            self._folders.add(folder)
            prefix = f"{folder}/" if folder else ""
            self.paths.update(prefix + n for n in names)

    def share(self, names: Iterable[str]) -> None:
        """Hold the strings of ``names`` (the manifest's own) for the listed paths among them:
        one copy of each path instead of two, some 50 MB at 227k documents."""
        shared = set(filter(self.paths.__contains__, names))
        shared.update(self.paths - shared)  # files the manifest does not know
        self.paths = shared

    def __contains__(self, relpath: str) -> bool:
        if relpath in self.paths:
            return True
        folder = relpath.rpartition("/")[0]
        if folder in self._folders:
            return False
        try:
            with os.scandir(os.path.join(self.root, folder)) as entries:
                names = [entry.name for entry in entries if entry.is_file()]
        except OSError:  # no such folder yet
            names = []
        self._folders.add(folder)
        prefix = f"{folder}/" if folder else ""
        self.paths.update(prefix + n for n in names)
        return relpath in self.paths


def input_hash(record: Record, kind: str, template: PreparedTemplate, config: Config) -> str:
    """What a document depends on: row values, template bytes, company config and language."""
    return InputHasher(config, {kind: template}).digest(record, kind)


class InputHasher:
    """Input hashes for many records: the config and template part is serialised once, the row
    values once per record (all kinds share them), so an unchanged run costs a few µs a row."""

    def __init__(self, config: Config, templates: dict[str, PreparedTemplate],
                 kinds: list[DocumentKind] | None = None) -> None:
        # Everything a document's path and content depend on besides its row: with the row, the
        # hash then identifies the document (generate() finds its path by it). The rules and
        # the calendar are in because a blank due date prints the one they give.
        kinds = kinds if kinds is not None else document_kinds(config)
        by_key = {k.key: k for k in kinds}
        static = {"engine": ENGINE_VERSION, "company": asdict(config.company), "language": config.language,
                  "rules": asdict(config.rules), "calendar": asdict(config.calendar),
                  "folder": config.documents.folder_pattern}
        self._prefix: dict[str, Any] = {}
        for key, t in templates.items():
            kind = by_key.get(key)
            described = {"name": kind.file_pattern(config.language), "form_no": kind.form_no,
                         "when": kind.when} if kind else {}
            if any(flag == "\\#" for m in t.mergefields for flag, _ in m.switches):
                # Number pictures now round half away from zero, as Word does (they rounded half
                # to even): the documents of such a template are written once more, no others.
                described["numbers"] = NUMBER_PICTURES
            prefix = json.dumps({**static, "kind": key, "template": t.sha256, **described},
                                ensure_ascii=False, sort_keys=True, default=str).encode()
            # The prefix (a kilobyte of config) is hashed once; each document copies that state.
            self._prefix[key] = hashlib.sha256(prefix + b"\x00")
        self._record: Record | None = None
        self._values = b""

    def static_digest(self) -> str:
        """One hash of everything but the rows: config, templates, kinds, language."""
        combined = hashlib.sha256()
        for key in sorted(self._prefix):
            combined.update(key.encode() + b"\x00" + self._prefix[key].digest())
        return combined.hexdigest()

    def digest(self, record: Record, kind: str) -> str:
        if record is not self._record:
            # repr() of str/float/int/date/None in the fixed field order is stable and several
            # times cheaper than JSON (a missing column and a blank cell print alike: both "").
            self._values = repr(tuple(map(record.values.get, FIELD_NAMES))).encode()
            self._record = record
        # 128 bits are plenty to notice a change, and keep the manifest small.
        state = self._prefix[kind].copy()
        state.update(self._values)
        return state.hexdigest()[:32]
