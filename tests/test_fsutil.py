"""Atomic writes and file-name sanitising."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.fsutil import atomic_write_bytes, atomic_writer, sanitize_filename


def test_atomic_write_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "a.docx"
    atomic_write_bytes(target, b"first")
    atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"second"
    assert [p.name for p in target.parent.iterdir()] == ["a.docx"]


def test_crash_while_writing_leaves_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "a.docx"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_writer(target) as handle:
        handle.write(b"half")
        raise RuntimeError("crash")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.docx"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("KS-2026-0001_客诉反馈单.docx", "KS-2026-0001_客诉反馈单.docx"),
        ("KS/2026\\0001.docx", "KS_2026_0001.docx"),
        ('a:b*c?"d"<e>|f.docx', "a_b_c__d__e__f.docx"),
        ("..", "_"),
        ("../../etc/passwd", "____etc_passwd"),
        ("CON.docx", "_CON.docx"),
        ("nul", "_nul"),
        ("name. ", "name"),
        ("tab\there\n.docx", "tab_here_.docx"),
    ],
)
def test_sanitize_filename(name: str, expected: str) -> None:
    assert sanitize_filename(name) == expected


def test_sanitize_caps_length_in_bytes_and_keeps_extension() -> None:
    # 300 Chinese characters are 900 bytes: file systems allow 255 a name.
    name = sanitize_filename("投" * 300 + ".docx", max_bytes=100)
    assert len(name.encode("utf-8")) <= 100
    assert name == "投" * 31 + ".docx"  # 93 + 5 bytes: never half a character
    assert len(sanitize_filename("投" * 300 + ".docx").encode("utf-8")) <= 200


def test_new_file_is_readable_by_others_and_existing_mode_is_kept(tmp_path: Path) -> None:
    import os
    import stat

    old = os.umask(0o022)
    try:
        target = tmp_path / "report.xlsx"
        atomic_write_bytes(target, b"x")
        assert stat.S_IMODE(target.stat().st_mode) == 0o644
        target.chmod(0o640)
        atomic_write_bytes(target, b"y")
        assert stat.S_IMODE(target.stat().st_mode) == 0o640
    finally:
        os.umask(old)


def test_ensure_folder_names_the_file_in_the_way(tmp_path: Path) -> None:
    from toolkit.errors import OutputError
    from toolkit.fsutil import ensure_folder

    blocker = tmp_path / "afile"
    blocker.write_text("x")
    with pytest.raises(OutputError) as info:
        ensure_folder(blocker / "docs" / "2026", "en")
    assert str(info.value) == (
        f"cannot use the output folder {blocker / 'docs' / '2026'}: {blocker} is a file, not a folder. "
        "Choose another folder in config.toml or on the command line, or move that file away.")
    assert ensure_folder(tmp_path / "new" / "deep").is_dir()
