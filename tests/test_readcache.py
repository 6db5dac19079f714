"""The parsed-register cache used by the daily job: same bytes, same records; anything else
misses; a damaged or tampered cache file is ignored and never runs code."""

from __future__ import annotations

import io
import pickle
import shutil
import struct
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLE_REGISTER

from toolkit import readcache
from toolkit.config import Config, config_from_dict
from toolkit.register import read_register


def make_config(tmp_path: Path, **register: object) -> Config:
    reg = tmp_path / "register.xlsx"
    if not reg.exists():
        shutil.copyfile(EXAMPLE_REGISTER, reg)
    return config_from_dict({"register": {"path": str(reg), **register}, "output": {"dir": str(tmp_path / "out")}})


def test_bytes_read_twice_are_cached_and_the_third_read_equals_a_full_read(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    cache_file = readcache.cache_path(config)
    first = read_register(config, cache=True)
    assert not cache_file.exists()  # once: only noted (the register may change before the next run)
    second = read_register(config, cache=True)
    assert cache_file.exists()  # twice: worth keeping
    stamp = cache_file.stat().st_mtime_ns
    third = read_register(config, cache=True)
    assert cache_file.stat().st_mtime_ns == stamp  # a hit writes nothing
    plain = read_register(config)
    assert third.records == second.records == plain.records == first.records
    assert third.sheets == plain.sheets
    assert (third.sha256, third.size, third.path) == (plain.sha256, plain.size, plain.path)


def test_changed_bytes_or_config_miss(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    read_register(config, cache=True)
    read_register(config, cache=True)
    key = readcache.cache_key(read_register(config).sha256, config)
    assert readcache.load(readcache.cache_path(config), key) is not None
    other = make_config(tmp_path, language="en")
    assert readcache.cache_key(read_register(config).sha256, other) != key
    assert readcache.load(readcache.cache_path(config), readcache.cache_key("0" * 64, config)) is None


def test_register_saved_by_staff_is_read_again(tmp_path: Path, data_dir: Path) -> None:
    config = make_config(tmp_path)
    before = read_register(config, cache=True)
    shutil.copyfile(data_dir / "reg-libreoffice-merged-title.xlsx", config.register_path)
    after = read_register(config, cache=True)
    assert after.sha256 != before.sha256
    assert after.records == read_register(config).records


@pytest.mark.parametrize("damage", ["truncate", "garbage", "evil"])
def test_damaged_or_tampered_cache_is_ignored(tmp_path: Path, damage: str) -> None:
    config = make_config(tmp_path)
    read_register(config, cache=True)
    expected = read_register(config, cache=True).records
    cache_file = readcache.cache_path(config)
    data = cache_file.read_bytes()
    header = b"".join(data.splitlines(keepends=True)[:2])
    marker = tmp_path / "pwned"
    if damage == "truncate":
        cache_file.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        cache_file.write_bytes(header + b"\x00not a pickle")
    else:  # a pickle that would run code if loaded without the allow-list

        class Evil:
            def __reduce__(self) -> tuple[object, tuple[str]]:
                return (Path.touch, (str(marker),))  # type: ignore[return-value]

        cache_file.write_bytes(header + pickle.dumps(([], [Evil()])))
    assert read_register(config, cache=True).records == expected
    assert not marker.exists()


def test_the_days_reminder_plan_is_kept_for_a_rerun_and_a_tampered_one_is_not_run(tmp_path: Path) -> None:
    """The daily job keeps the reminder plan it worked out (output/cache/reminder-plan.pickle)
    from the second run on the same bytes and day (the first keeps nothing: the register may
    change before the next run), and the runs after load it instead of planning again; another
    day plans anew; a plan file that would run code if unpickled freely is worked out again
    instead."""
    import datetime as dt

    from toolkit.job import run_job

    config = make_config(tmp_path)
    day = dt.date(2026, 11, 20)
    first = run_job(config, today=day, now=dt.datetime(2026, 11, 20, 9, 0))
    kept = config.output_dir / "cache" / "reminder-plan.pickle"
    assert not kept.exists()
    second = run_job(config, today=day, now=dt.datetime(2026, 11, 20, 9, 30))
    stamp = kept.stat().st_mtime_ns
    again = run_job(config, today=day, now=dt.datetime(2026, 11, 20, 10, 0))
    assert kept.stat().st_mtime_ns == stamp  # loaded, not planned and written again
    assert again.reminders["cannot-remind"] == second.reminders["cannot-remind"] == first.reminders["cannot-remind"]
    assert again.reminders["already-sent"] == second.reminders["already-sent"] == first.reminders["sent"] > 0

    header = b"".join(kept.read_bytes().splitlines(keepends=True)[:2])
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (Path.touch, (str(marker),))  # type: ignore[return-value]

    kept.write_bytes(header + pickle.dumps(Evil()))
    third = run_job(config, today=day, now=dt.datetime(2026, 11, 20, 11, 0))
    assert not marker.exists()
    assert third.reminders == again.reminders
    assert b"pwned" not in kept.read_bytes()  # worked out again and kept in its place
    next_day = run_job(config, today=dt.date(2026, 11, 23), now=dt.datetime(2026, 11, 23, 9, 0))
    assert next_day.reminders != again.reminders  # a working day later: new levels, new reminders


def test_a_cache_cut_between_its_slices_is_ignored_not_read_short(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # Records are pickled a slice at a time (the pickler's memo stays small); a file that ends
    # after a whole slice must not pass for a register with fewer complaints.
    from toolkit.register import cache

    monkeypatch.setattr(cache, "_SLICE", 7)
    config = make_config(tmp_path)
    read_register(config, cache=True)
    expected = read_register(config, cache=True).records
    assert len(expected) > 14
    cache_file = readcache.cache_path(config)
    data = cache_file.read_bytes()
    key = readcache.cache_key(read_register(config).sha256, config)
    loaded = readcache.load(cache_file, key)
    assert loaded is not None and loaded[1] == expected
    stream = io.BytesIO(data)
    stream.readline(), stream.readline()
    pickle.Unpickler(stream).load()  # the head
    for _ in range(2):  # then two whole slices, each its length and its bytes
        (length,) = struct.unpack("<Q", stream.read(8))
        stream.seek(length, io.SEEK_CUR)
    cache_file.write_bytes(data[: stream.tell()])
    assert readcache.load(cache_file, key) is None
    assert read_register(config, cache=True).records == expected


def test_every_kind_of_cell_value_comes_back_equal_and_saving_adds_no_copy_of_the_texts(tmp_path: Path) -> None:
    # The values are written with marshal, column by column, dates as numbers: what comes back
    # must be the same values of the same types in the same field order. Pickle kept a UTF-8
    # copy inside every Chinese text it wrote (PyUnicode_AsUTF8AndSize), for the rest of the
    # run: 30-60 MB at 100k rows. Saving must leave the record texts as they were.
    import datetime as dt

    from toolkit.model import Record, SheetInfo
    from toolkit.register import cache

    texts = ["顾客投诉烟支破损" + str(i) for i in range(40)]
    records = [
        Record("一月", 3 + i, {"complaint_id": f"KS-{i}", "received": dt.date(2026, 1, 1 + i % 28) if i % 3 else None,
                               "when": dt.datetime(2026, 1, 2, 9, i % 60) if i % 2 else "2026/1/2",
                               "content": texts[i], "amount": 1.5 * i if i % 4 else i, "flag": bool(i % 2),
                               "time": dt.time(8, i % 60), "span": dt.timedelta(days=i, seconds=7),
                               "odd": "\ud800 lone surrogate" if i == 5 else None},
               bad={"received": ("bad-date", "2026/13/1")} if i == 7 else {},
               extra={"备注": f"附加{i}", "日期": dt.date(2026, 2, 1)} if i % 5 == 0 else {},
               cells={"content": 2 + i} if i == 9 else {}, last_row=4 + i if i == 9 else 0)
        for i in range(40)]
    records.append(Record("二月", 3, {"complaint_id": "KS-99", "content": "别的字段"}))  # other fields: a run of its own
    records.append(Record("二月", 4, {}))
    sheets = [SheetInfo("一月", 2, {"complaint_id": 0}, ["投诉编号"], 40), SheetInfo("二月", 2, {}, [], 2)]
    sizes = [sys.getsizeof(t) for t in texts]
    path = tmp_path / "cache.pickle"
    cache.save(path, "k", sheets, records)
    assert [sys.getsizeof(t) for t in texts] == sizes
    loaded = cache.load(path, "k")
    assert loaded is not None
    assert loaded[0] == sheets and loaded[1] == records
    for got, want in zip(loaded[1], records, strict=True):
        assert list(got.values) == list(want.values)
        assert [type(v) for v in got.values.values()] == [type(v) for v in want.values.values()]


def test_a_cache_slice_with_values_no_reader_makes_is_ignored(tmp_path: Path) -> None:
    # marshal can build code objects and lists; a tampered slice holding one is not records.
    import marshal

    from toolkit.register import cache

    config = make_config(tmp_path)
    read_register(config, cache=True)
    expected = read_register(config, cache=True).records
    cache_file = readcache.cache_path(config)
    data = cache_file.read_bytes()
    stream = io.BytesIO(data)
    stream.readline(), stream.readline()
    pickle.Unpickler(stream).load()
    start = stream.tell()
    (length,) = struct.unpack("<Q", stream.read(8))
    meta, runs = marshal.loads(stream.read(length))
    _names, columns = runs[0]
    columns[0] = (0, [compile("1", "x", "eval")] * len(columns[0][1]))
    forged = marshal.dumps((meta, runs), 4)
    cache_file.write_bytes(data[:start] + struct.pack("<Q", len(forged)) + forged + data[start + 8 + length:])
    key = readcache.cache_key(read_register(config).sha256, config)
    assert cache.load(cache_file, key) is None
    assert read_register(config, cache=True).records == expected
