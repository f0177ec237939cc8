"""docs/benchmarks.md is the rendering of benchmarks/results/, and the code digest sees behaviour."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def page():
    spec = importlib.util.spec_from_file_location(
        "benchmarks_page", ROOT / "benchmarks" / "page.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_page_is_the_rendering_of_the_results(page):
    assert page.PAGE.read_text(encoding="utf-8") == page.render(), (
        "docs/benchmarks.md was edited by hand or a result changed: run python benchmarks/page.py"
    )


def test_every_result_names_its_run(page):
    for path in sorted(page.RESULTS.glob("*.json")):
        result = json.loads(path.read_text(encoding="utf-8"))
        assert result["key"] == path.stem and result["key"] in page.BY_KEY, path
        for field in ("command", "date", "machine", "commit", "body"):
            assert result[field], f"{path}: empty {field}"
        assert result["code"], f"{path}: no code digest"


def test_page_stays_short_and_current_only(page):
    text = page.PAGE.read_text(encoding="utf-8")
    assert len(text.splitlines()) < 260
    assert "not adopted" not in text  # experiments live in benchmarks/log/


CODE = '''
def f(x: int, y: "str" = "a") -> int:
    """Doc."""
    z: int = x + 1
    return z
'''


def test_digest_ignores_docstrings_annotations_and_format(page):
    same = '''
def f(x, y="a"):
    """Another docstring, longer.

    With a second paragraph.
    """
    # a comment
    z = x + 1
    return z
'''
    assert page.file_digest("m.py", CODE.encode()) == page.file_digest("m.py", same.encode())


@pytest.mark.parametrize(
    "changed",
    [
        CODE.replace("x + 1", "x + 2"),
        CODE.replace('y: "str" = "a"', 'y: "str" = "b"'),
        CODE.replace("return z", "return -z"),
    ],
)
def test_digest_sees_a_change_in_behaviour(page, changed):
    assert page.file_digest("m.py", CODE.encode()) != page.file_digest("m.py", changed.encode())


def test_changed_files_names_added_removed_and_changed(page):
    before = {"a.py": "1", "b.py": "2", "c.py": "3"}
    after = {"a.py": "1", "b.py": "9", "d.py": "4"}
    assert page.changed_files(before, after) == ["b.py", "c.py", "d.py"]


def test_a_section_with_stale_code_is_reported(page, tmp_path, monkeypatch):
    monkeypatch.setattr(page, "RESULTS", tmp_path)
    section = page.SECTIONS[0]
    digests = page.code_digests(section.sources)
    stale = dict(digests)
    first = sorted(stale)[0]
    stale[first] = "0" * 16
    (tmp_path / f"{section.key}.json").write_text(
        json.dumps({"key": section.key, "code": stale, "commit": "abc", "date": "d"})
    )
    status = {key: (current, why) for key, current, why in page.status()}
    assert status[section.key][0] is False and first in status[section.key][1]
    (tmp_path / f"{section.key}.json").write_text(
        json.dumps({"key": section.key, "code": digests, "commit": "abc", "date": "d"})
    )
    status = {key: (current, why) for key, current, why in page.status()}
    assert status[section.key][0] is True
