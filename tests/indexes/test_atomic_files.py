"""atomic_write / atomic_replace_dir: whole or nothing, never someone else's file."""

from __future__ import annotations

from pathlib import Path

import pytest

from plait.indexes.files import atomic_replace_dir, atomic_write


def test_atomic_write_takes_bytes_text_or_a_writer(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    atomic_write(target, "héllo")
    assert target.read_text(encoding="utf-8") == "héllo"
    atomic_write(target, lambda f: f.write(b"\x00\x01"))
    assert target.read_bytes() == b"\x00\x01"
    with pytest.raises(RuntimeError):
        atomic_write(
            target, lambda f: (f.write(b"half"), (_ for _ in ()).throw(RuntimeError("boom")))
        )
    assert target.read_bytes() == b"\x00\x01" and sorted(p.name for p in tmp_path.iterdir()) == [
        "f.json"
    ]


def test_atomic_replace_dir_appears_whole_and_keeps_an_existing_one(tmp_path: Path) -> None:
    target = tmp_path / "cache" / "entry"
    assert atomic_replace_dir(
        target, lambda d: (d / "a").write_text("1") and (d / "b").write_text("2")
    )
    assert sorted(p.name for p in target.iterdir()) == ["a", "b"]
    assert not atomic_replace_dir(target, lambda d: (d / "a").write_text("other"))
    assert (target / "a").read_text() == "1"  # the first one stays
    assert sorted(p.name for p in target.parent.iterdir()) == ["entry"]  # no staging left


def test_a_failed_fill_leaves_nothing(tmp_path: Path) -> None:
    def fill(folder: Path) -> None:
        (folder / "sub").mkdir()
        (folder / "sub" / "x").write_text("partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_replace_dir(tmp_path / "entry", fill)
    assert list(tmp_path.iterdir()) == []
