"""The PyLate-suite harness (tests/pylate_suite/run.py): its rewriting, outcome folding and lists.

The quick tests need nothing but the harness's code; the slow one downloads PyLate's sdist (or
uses the cached one) and runs one of its test files on plait end to end.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

HERE = Path(__file__).resolve().parent


def _load(name: str) -> ModuleType:
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    spec = importlib.util.spec_from_file_location(f"pylate_suite_{name}", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


rewrite = _load("rewrite")
harness = _load("run")
tiny_models = _load("tiny_models")

PYLATE_TEST = """from __future__ import annotations

import pytest
from pylate import indexes, models
from pylate.scores import colbert_scores
import pylate

pytest.importorskip("voyager")


def test_x():
    pylate_model = models.ColBERT(model_name_or_path="lightonai/GTE-ModernColBERT-v1")
    other = models.ColBERT('bert-base-uncased')
    assert "pylate" in "pylate.scores"
    folder = "tests/kd"
"""


def test_imports_point_at_plait_and_nothing_else_changes() -> None:
    out = rewrite.rewrite_imports(PYLATE_TEST)
    assert "from plait import indexes, models" in out
    assert "from plait.scores import colbert_scores" in out
    assert "\nimport plait\n" in out
    assert "pylate_model = " in out and '"pylate" in "pylate.scores"' in out
    assert "pylate" not in rewrite.rewrite_imports("import pylate_extras_x as y").replace(
        "pylate_extras_x", ""
    )


def test_hub_names_become_local_paths_on_both_targets(tmp_path: Path) -> None:
    names = {"lightonai/GTE-ModernColBERT-v1": tmp_path / "m", "bert-base-uncased": tmp_path / "b"}
    for target in ("plait", "pylate"):
        out = rewrite.rewrite_source(PYLATE_TEST, target, names)
        assert repr(str(tmp_path / "m")) in out and repr(str(tmp_path / "b")) in out
        assert not rewrite.hub_names_in(out) - {str(tmp_path / "m")[1:]}
        assert '"tests/kd"' in out  # a folder the test writes, not a hub name
    assert "from pylate import" in rewrite.rewrite_source(PYLATE_TEST, "pylate", names)
    assert "from plait import" in rewrite.rewrite_source(PYLATE_TEST, "plait", names)
    with pytest.raises(ValueError, match="target"):
        rewrite.rewrite_source(PYLATE_TEST, "other", names)


def test_adaptations_apply_to_their_target_only() -> None:
    plait = rewrite.rewrite_source(PYLATE_TEST, "plait", {})
    pylate = rewrite.rewrite_source(PYLATE_TEST, "pylate", {})
    assert 'pytest.importorskip("voyager")' not in plait
    assert 'pytest.importorskip("voyager")' in pylate
    for adaptation in rewrite.ADAPTATIONS:
        assert adaptation.target in ("plait", "pylate", "both") and adaptation.reason
    parity = 'import pytest\npytest.importorskip("xtr_warp")\n'
    assert "importorskip" in rewrite.rewrite_source(parity, "plait", {}, "test_warp.py")
    assert "importorskip" not in rewrite.rewrite_source(
        parity, "plait", {}, "test_delete_parity.py"
    )


def test_every_hub_name_has_a_distinct_link(tmp_path: Path, monkeypatch) -> None:
    built = []
    fake = {
        name: (folder, lambda path, f=folder: built.append(f))
        for name, (folder, _) in tiny_models.HUB_MODELS.items()
    }
    monkeypatch.setattr(tiny_models, "HUB_MODELS", fake)
    monkeypatch.setattr(tiny_models, "build_ms_marco_mini", lambda path: built.append("data"))
    names = tiny_models.build_all(tmp_path)
    assert set(names) == set(fake) | set(tiny_models.HUB_DATASETS)
    assert len({str(p) for p in names.values()}) == len(names)  # one link per name
    assert len(built) == len({f for f, _ in fake.values()}) + 1  # each folder built once
    assert all(p.is_symlink() and p.resolve().parent == tmp_path.resolve() for p in names.values())
    built.clear()
    tiny_models.build_all(tmp_path)  # stamped folders are reused
    assert built == []


def test_outcomes_fold_per_test_and_per_file() -> None:
    records = [
        {"nodeid": "tests/test_a.py::t1", "when": "call", "outcome": "passed"},
        {"nodeid": "tests/test_a.py::t2", "when": "setup", "outcome": "failed", "message": "E x"},
        {"nodeid": "tests/test_a.py::t3", "when": "call", "outcome": "failed", "message": "E y"},
        {"nodeid": "tests/test_a.py::t3", "when": "teardown", "outcome": "passed"},
        {"nodeid": "tests/test_a.py::t4", "when": "setup", "outcome": "skipped"},
        {"nodeid": "tests/test_b.py", "when": "collect", "outcome": "failed", "message": "E z"},
    ]
    result = harness.combine(records)
    assert result.outcomes == {
        "tests/test_a.py::t1": "passed",
        "tests/test_a.py::t2": "error",
        "tests/test_a.py::t3": "failed",
        "tests/test_a.py::t4": "skipped",
        "tests/test_b.py": "error",
    }
    assert harness.outcome_of(result, "tests/test_b.py::anything") == "error"
    assert harness.outcome_of(result, "tests/test_c.py::t") == "missing"
    table = harness.per_file(result)
    assert table["tests/test_a.py"]["passed"] == 1 and table["tests/test_b.py"]["collection error"]


def test_comparison_sorts_differences_by_the_list() -> None:
    pylate = harness.RunResult(
        outcomes={
            "tests/test_a.py::same": "passed",
            "tests/test_a.py::known": "passed",
            "tests/test_a.py::K::gap": "passed",
            "tests/test_a.py::param[a-1]": "passed",
            "tests/test_a.py::new": "passed",
            "tests/test_a.py::both_fail": "failed",
            "tests/test_a.py::ours_only": "failed",
        }
    )
    plait = harness.RunResult(
        outcomes={
            "tests/test_a.py::same": "passed",
            "tests/test_a.py::known": "failed",
            "tests/test_a.py::K::gap": "error",
            "tests/test_a.py::both_fail": "failed",
            "tests/test_a.py::ours_only": "passed",
        }
    )
    known = {
        "deliberate": {"tests/test_a.py::known": "why"},
        "gaps": {
            "tests/test_a.py::K": "what",
            "tests/test_a.py::param": "what",
            "tests/test_a.py::fixed_since": "what",
        },
    }
    comparison = harness.compare(plait, pylate, known)
    assert comparison.deliberate == {"tests/test_a.py::known": "failed"}
    assert comparison.gaps == {
        "tests/test_a.py::K::gap": "error",
        "tests/test_a.py::param[a-1]": "missing",
    }
    assert comparison.unexpected == {"tests/test_a.py::new": "missing"}
    assert comparison.stale == ["tests/test_a.py::fixed_since"]
    assert comparison.plait_only == {"tests/test_a.py::ours_only": "failed"}


def test_the_known_differences_list_parses_and_names_recorded_tests() -> None:
    known = harness.load_known()
    assert set(known) == {"deliberate", "gaps"}
    recorded = json.loads(harness.RECORDED.read_text(encoding="utf-8"))["outcomes"]
    for section in known.values():
        for entry, reason in section.items():
            assert reason, f"{entry} needs a reason"
            assert any(harness.covers(entry, n) for n in recorded), entry


@pytest.mark.slow
def test_one_pylate_test_file_runs_on_plait(tmp_path: Path) -> None:
    """End to end on test_colbert_scores.py, in a cache under ``tmp_path`` (no network here).

    The sdist comes from the harness's own cache (``.cache/pylate-suite``, filled by a run of
    run.py, as CI's pylate-suite step does); without it the test skips.
    """
    cached = sorted((harness.DEFAULT_CACHE / "sdist").glob("pylate-*.tar.gz"))
    if not cached:
        pytest.skip(
            f"no cached PyLate sdist in {harness.DEFAULT_CACHE}: run tests/pylate_suite/run.py"
        )
    (tmp_path / "sdist").mkdir()
    shutil.copy(cached[0], tmp_path / "sdist" / cached[0].name)
    out = tmp_path / "result.json"
    argv = ["--cache", str(tmp_path), "--files", "test_colbert_scores.py", "--json", str(out)]
    status = harness.main(argv)
    payload = json.loads(out.read_text(encoding="utf-8"))
    assert status == 0, payload["comparison"]
    passed = [n for n, o in payload["runs"]["plait"].items() if o == "passed"]
    assert len(passed) == 4
