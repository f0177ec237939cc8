"""plait migrate-index: a fast-plaid folder into a plait index the other commands use."""

from __future__ import annotations

import json
from pathlib import Path

from plait.indexes.plaid import PLAID

SOURCE = Path(__file__).resolve().parents[1] / "fixtures" / "fast_plaid" / "nbits2" / "index"


def test_migrate_then_info_and_remove(run, tmp_path: Path) -> None:
    target = tmp_path / "migrated"
    ids = tmp_path / "ids.txt"
    ids.write_text("".join(f"d{i}\n" for i in range(80)))
    result = run("migrate-index", SOURCE, target, "--ids-file", ids, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["documents"] == 80 and report["nbits"] == 2
    info = run("info", target, "--json")
    assert info.exit_code == 0, info.output
    assert json.loads(info.stdout)["documents"] == 80
    assert run("remove", target, "d5").exit_code == 0
    assert "d5" not in PLAID(tmp_path, "migrated") and len(PLAID(tmp_path, "migrated")) == 79
    again = run("migrate-index", SOURCE, target)
    assert again.exit_code == 2 and "not empty" in again.output  # never over an index unasked
    assert run("migrate-index", SOURCE, target, "--override").exit_code == 0


def test_migrate_refuses_bad_input(run, tmp_path: Path) -> None:
    result = run("migrate-index", tmp_path / "nowhere", tmp_path / "t")
    assert result.exit_code == 2 and "nowhere" in result.output
    same = run("migrate-index", SOURCE, SOURCE)
    assert same.exit_code == 2 and "another folder" in same.output
    (tmp_path / "empty").mkdir()
    wrong = run("migrate-index", tmp_path / "empty", tmp_path / "t")
    assert wrong.exit_code == 2 and "neither a fast-plaid" in wrong.output
