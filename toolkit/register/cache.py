"""A cache of the parsed register, keyed by the file's content, for the daily job.

The scheduled job reads the same register again and again (several times a day, every day
until staff change it). Parsing 100k rows costs seconds; loading the records parsed last time
costs a fraction of that. The key is the SHA-256 of the file's bytes plus everything that
changes how they are parsed: the reader's own source code and the config's register, column
and list settings. A different file, config or toolkit version simply misses.

Saving 100k records costs ~1 s, more than it saves when the register changes before the
next run (staff edit it most days). So the records are saved only when the same bytes are read a
*second* time (a rerun, a second schedule time, a manual run after the scheduled one): the first
read just notes the key (:func:`should_save`).

The cache is only ever a shortcut: an unreadable, truncated or foreign cache file is ignored
(and rewritten), never an error. The cell values are written with marshal (see "one slice of
records" below), the rest is unpickled with an allow-list of classes (dates only), and a loaded
value of any type the reader does not make is refused, so a tampered file cannot run code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import logging
import marshal
import pickle
import struct
import sys
from collections.abc import Callable
from itertools import repeat
from pathlib import Path
from typing import Any, TypeVar

from ..config import Config
from ..fsutil import atomic_write_bytes, atomic_writer
from ..model import Record, SheetInfo, paused_gc

log = logging.getLogger(__name__)

MAGIC = b"complaint-toolkit register cache 5\n"
#: Records pickled per slice: the pickler's memo (an entry per object, three million at 100k
#: rows) is then a slice's, not the register's; one pickle of all records raised the run's
#: peak by some 230 MB.
_SLICE = 5000
FILE_NAME = "register-cache.pickle"
_ALLOWED = {("datetime", "date"): dt.date, ("datetime", "datetime"): dt.datetime,
            ("datetime", "time"): dt.time, ("datetime", "timedelta"): dt.timedelta}
_code_fingerprint: str | None = None
T = TypeVar("T")


def cache_path(config: Config) -> Path:
    return config.output_dir / "cache" / FILE_NAME


def cache_key(data_sha256: str, config: Config) -> str:
    """The key of a register's bytes read with this config and this version of the reader."""
    settings = repr((config.register, config.columns, config.lists, getattr(config, "limits", None))).encode()
    return hashlib.sha256(b"\0".join([data_sha256.encode(), _fingerprint().encode(), settings])).hexdigest()


def should_save(path: Path, key: str) -> bool:
    """True when ``key`` was already seen once (worth caching); otherwise note it and say no."""
    marker = path.with_name(path.name + ".seen")
    try:
        if marker.read_text(encoding="ascii").strip() == key:
            return True
    except (OSError, UnicodeDecodeError):
        pass
    try:
        atomic_write_bytes(marker, key.encode("ascii"))
    except OSError as exc:
        log.debug("cannot note the register key in %s: %s", marker, exc)
    return False


def load(path: Path, key: str) -> tuple[list[SheetInfo], list[Record], list[tuple[str, int | None, str]]] | None:
    """The sheets, records and unread sheets saved under ``key``, or None (no cache, other key,
    unreadable)."""
    try:
        with open(path, "rb") as handle:
            if handle.readline() != MAGIC or handle.readline().strip() != key.encode():
                return None
            sheets, total, slices, unread = _Unpickler(handle).load()
            records: list[Record] = []
            for _ in range(slices):
                records.extend(_decode_slice(handle))
        if len(records) != total:
            raise ValueError(f"{len(records)} records, {total} expected")
        return [SheetInfo(*s) for s in sheets], records, [(str(n), r if r is None else int(r), str(m))
                                                           for n, r, m in unread]
    except FileNotFoundError:
        return None
    except Exception as exc:  # any damage to a cache file only means a normal read
        log.warning("register cache %s is unreadable (%s); reading the register instead", path, exc)
        return None


def save(path: Path, key: str, sheets: list[SheetInfo], records: list[Record],
         unread: list[tuple[str, int | None, str]] | None = None) -> None:
    """Save parsed sheets, records and unread sheets under ``key``; a failure is logged, never raised."""
    head = ([(s.name, s.header_row, s.columns, s.headers, s.rows, s.header_top, s.spanning, s.repeated)
             for s in sheets], len(records), -(-len(records) // _SLICE), list(unread or ()))
    try:
        with atomic_writer(path) as handle:
            handle.write(MAGIC + key.encode() + b"\n")
            pickle.dump(head, handle, protocol=pickle.HIGHEST_PROTOCOL)
            for start in range(0, len(records), _SLICE):
                _encode_slice(records[start:start + _SLICE], handle)
    except (OSError, pickle.PicklingError, TypeError, ValueError) as exc:
        log.warning("cannot write the register cache %s (%s); the next run reads the register in full",
                    path, exc)


# -- one slice of records ----------------------------------------------------------------------
# Not pickle for the cell values: pickle encodes each text through PyUnicode_AsUTF8AndSize, which
# keeps a UTF-8 copy inside every non-ASCII string for as long as it lives; the records live to
# the end of the run, so saving them cost the run 30-60 MB at 100k rows. marshal encodes texts
# without keeping anything, but knows no dates: the values are written column by column (one
# run of records with the same fields at a time) with each date as a plain number or text.
# A slice is: 8 bytes of length, then marshal of (meta pickle, [(fields, columns), ...]).

_LENGTH = struct.Struct("<Q")
_DATE, _DATETIME, _TIME, _TIMEDELTA = 1, 2, 3, 4
#: What a cell value may be after decoding (marshal can also build code objects: never kept).
_PLAIN = frozenset({str, int, float, bool, type(None), dt.date, dt.datetime, dt.time, dt.timedelta})
_DATE_TYPES = frozenset({dt.date, dt.datetime, dt.time, dt.timedelta})


def _encode_value(value: Any) -> Any:
    kind = type(value)
    if kind is dt.date:
        return (_DATE, value.toordinal())
    if kind is dt.datetime and value.tzinfo is None:
        return (_DATETIME, value.isoformat())
    if kind is dt.time and value.tzinfo is None:
        return (_TIME, value.isoformat())
    if kind is dt.timedelta:
        return (_TIMEDELTA, value.days, value.seconds, value.microseconds)
    raise TypeError(f"a {kind.__name__} value cannot be cached")  # the whole save is given up


def _decode_value(value: Any) -> Any:
    if type(value) is not tuple:
        return value
    tag = value[0]
    if tag == _DATE:
        return dt.date.fromordinal(value[1])
    if tag == _DATETIME:
        return dt.datetime.fromisoformat(value[1])
    if tag == _TIME:
        return dt.time.fromisoformat(value[1])
    if tag == _TIMEDELTA:
        return dt.timedelta(value[1], value[2], value[3])
    raise ValueError(f"unknown value tag {tag!r}")


def _encode_column(column: tuple[Any, ...]) -> tuple[int, Any]:
    """(0, the column) when it holds no date; (1, ordinals) for dates and blanks only (most date
    columns, decoded without a call per cell); (2, values with dates as tagged tuples)."""
    kinds = set(map(type, column))
    if kinds.isdisjoint(_DATE_TYPES):
        if not kinds <= _PLAIN:
            raise TypeError(f"values of type {', '.join(sorted(k.__name__ for k in kinds - _PLAIN))} cannot be cached")
        return 0, column
    if kinds <= {dt.date, type(None)}:
        # A few hundred distinct days over 100k rows: one call per day, not per cell.
        ordinals = {day: day.toordinal() for day in set(column) if day is not None}
        ordinals[None] = 0
        return 1, list(map(ordinals.__getitem__, column))
    return 2, [_encode_value(v) if type(v) in _DATE_TYPES else v for v in column]


def _encode_slice(records: list[Record], handle: Any) -> None:
    meta = pickle.dumps([(r.sheet, r.row, r.bad, r.extra, r.cells, r.last_row) for r in records],
                        protocol=pickle.HIGHEST_PROTOCOL)
    runs: list[tuple[tuple[str, ...], list[tuple[int, Any]]]] = []
    start = 0
    while start < len(records):
        names = tuple(records[start].values)
        end = start + 1
        while end < len(records) and tuple(records[end].values) == names:
            end += 1
        table = [tuple(r.values.values()) for r in records[start:end]]
        runs.append((names, [_encode_column(c) for c in zip(*table, strict=True)] if names else [(0, (len(table),))]))
        start = end
    data = marshal.dumps((meta, runs), 4)
    handle.write(_LENGTH.pack(len(data)))
    handle.write(data)


def _decode_column(tag: int, column: Any) -> Any:
    if tag == 0:
        decoded = column
    elif tag == 1:  # one date object per distinct day, shared by its cells
        days = {ordinal: dt.date.fromordinal(ordinal) for ordinal in set(column) if ordinal != 0}
        days[0] = None
        decoded = list(map(days.__getitem__, column))
    elif tag == 2:
        decoded = [_decode_value(v) for v in column]
    else:
        raise ValueError(f"unknown column tag {tag!r}")
    if not set(map(type, decoded)) <= _PLAIN:
        raise ValueError("a cached value of an unexpected type")
    return decoded


def _decode_slice(handle: Any) -> list[Record]:
    (length,) = _LENGTH.unpack(handle.read(_LENGTH.size))
    data = handle.read(length)
    if len(data) != length:
        raise ValueError("the cache ends inside a slice")
    meta_data, runs = marshal.loads(data)
    del data
    meta = _Unpickler(io.BytesIO(meta_data)).load()
    values: list[dict[str, Any]] = []
    for names, columns in runs:
        if type(names) is not tuple or not all(type(name) is str for name in names):
            raise ValueError("a cached run's field names are not texts")
        if not names:
            values.extend({} for _ in range(columns[0][1][0]))
            continue
        decoded = [_decode_column(tag, column) for tag, column in columns]
        values.extend(map(dict, map(zip, repeat(names), zip(*decoded, strict=True))))
    if len(values) != len(meta):
        raise ValueError(f"{len(values)} rows of values for {len(meta)} records")
    return [Record(sheet, row, cells_values, bad, extra, cells, last_row)
            for (sheet, row, bad, extra, cells, last_row), cells_values in zip(meta, values, strict=True)]


class _Unpickler(pickle.Unpickler):
    """Dates, and the plain-data classes (dataclasses) of ``modules``: nothing that runs code."""

    def __init__(self, file: Any, modules: frozenset[str] = frozenset()) -> None:
        super().__init__(file)
        self.modules = modules

    def find_class(self, module: str, name: str) -> Any:
        allowed = _ALLOWED.get((module, name))
        if allowed is None and module in self.modules:
            found = getattr(sys.modules.get(module), name, None)
            if isinstance(found, type) and dataclasses.is_dataclass(found):
                allowed = found
        if allowed is None:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a cache file")
        return allowed


# -- results worked out from the records ------------------------------------------------------


def derived_key(register: Any, config: Config, today: dt.date, modules: tuple[Any, ...]) -> str:
    """The key of a result worked out from a register's records (the dashboard's figures, the
    day's reminder plan): the register's bytes and path, the day, every setting, the holiday
    calendar's version and the source of ``modules`` (the code that reads and works it out)."""
    import holidays

    digest = hashlib.sha256()
    for part in (register.sha256, str(register.path), today.isoformat(), repr(config), holidays.__version__):
        digest.update(part.encode("utf-8") + b"\0")
    for module in modules:
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()


def kept(path: Path, key: str, kind: type[T], modules: frozenset[str], work_out: Callable[[], T], *,
         once_seen: bool = False) -> T:
    """The ``kind`` value kept in ``path`` under ``key``, or ``work_out()``, then kept there
    (``once_seen``: only when an earlier call met the same key, as :func:`should_save` says).

    Only dates and the dataclasses of ``modules`` are unpickled, so a tampered file cannot run
    code; a file under another key, damaged or of another shape is simply worked out again."""
    with paused_gc():  # tens of thousands of plain objects: see model.paused_gc
        value = _load_derived(path, key, modules)
    if isinstance(value, kind):
        return value
    value = work_out()
    if not once_seen or should_save(path, key):
        _save_derived(path, key, value)
    return value


def _load_derived(path: Path, key: str, modules: frozenset[str]) -> Any:
    try:
        with open(path, "rb") as handle:
            if handle.readline() != DERIVED_MAGIC or handle.readline().strip() != key.encode():
                return None
            return _Unpickler(handle, modules).load()
    except FileNotFoundError:
        return None
    except Exception as exc:  # damaged or from another version: worked out again
        log.info("cache %s not used: %s", path, exc)
        return None


def _save_derived(path: Path, key: str, value: Any) -> None:
    try:
        atomic_write_bytes(path, DERIVED_MAGIC + key.encode() + b"\n"
                           + pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    except (OSError, pickle.PicklingError, TypeError) as exc:
        log.warning("could not keep %s: %s", path, exc)


DERIVED_MAGIC = b"complaint-toolkit derived cache 1\n"


def _fingerprint() -> str:
    global _code_fingerprint
    if _code_fingerprint is None:
        here = Path(__file__).resolve().parent
        digest = hashlib.sha256()
        # The reader's own modules and the ground floor it builds records from.
        for source in (*sorted(here.glob("*.py")), here.parent / "fields.py", here.parent / "model.py"):
            digest.update(source.read_bytes())
        _code_fingerprint = digest.hexdigest()
    return _code_fingerprint
