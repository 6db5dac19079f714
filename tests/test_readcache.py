"""The parsed-register cache used by the daily job: same bytes, same records; anything else
misses; a damaged or tampered cache file is ignored and never runs code."""

from __future__ import annotations

import pickle
import shutil
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
