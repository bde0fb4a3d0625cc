"""Tests for twin.atomic: the temp-file-then-rename writes every output goes through."""

from __future__ import annotations

import pytest

from twin.atomic import atomic_path, atomic_write


def test_success_replaces_target(tmp_path):
    target = tmp_path / "out.ifc"
    target.write_text("old")
    with atomic_path(target, suffix=".ifc") as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".out.ifc.") and tmp.suffix == ".ifc"
        assert target.read_text() == "old"          # untouched until the block ends
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.ifc"]


def test_exception_keeps_old_target_and_removes_temp(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_keyboard_interrupt_removes_temp_even_if_writer_deleted_it(tmp_path):
    target = tmp_path / "a.csv"
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            tmp.unlink()
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_text_with_newline(tmp_path):
    target = tmp_path / "s.toml"
    assert atomic_write(target, "a = 1\nb = 'é'\n", newline="\r\n") == target
    assert target.read_bytes() == "a = 1\r\nb = 'é'\r\n".encode("utf-8")
    atomic_write(target, "x\n", newline="\n", encoding="latin-1")
    assert target.read_bytes() == b"x\n"


def test_bytes(tmp_path):
    target = tmp_path / "blob.bin"
    atomic_write(target, b"\x00\x01\xff")
    assert target.read_bytes() == b"\x00\x01\xff"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blob.bin"]


def test_missing_folder_raises_and_writes_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        atomic_write(tmp_path / "nope" / "x.txt", "x")
    assert list(tmp_path.iterdir()) == []


def test_mode_is_not_mkstemp_private(tmp_path):
    import os

    target = tmp_path / "m.txt"
    atomic_write(target, "x")
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
