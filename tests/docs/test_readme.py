"""The README's set-up commands point at real things and its quickstart code runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_starts_with_the_two_setup_commands() -> None:
    shell = blocks("bash")
    assert "pip install torch==2.13.0" in shell[0] and shell[0].index("torch==2.13.0") < shell[
        0
    ].index("-e .")
    assert shell[0].strip().endswith("plait demo")
    assert shell[1].strip() == "bash .ci/run"
    ci = (ROOT / ".ci" / "run").read_text()
    assert "set -euo pipefail" in ci and "torch==2.13.0" in ci and "pytest" in ci
    assert ci.index("torch==2.13.0") < ci.index('-e ".[dev]"')
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["plait"] == "plait.cli.main:main"
    assert "dev" in project["optional-dependencies"]


def test_python_blocks_compile() -> None:
    for code in blocks("python"):
        compile(code, "README.md", "exec")


def test_quickstart_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    encode, search = blocks("python")[:2]
    namespace: dict = {}
    exec(compile(encode, "README.md", "exec"), namespace)
    query_shape = namespace["query_embeddings"][0].shape
    assert query_shape[1] == 128 and query_shape[0] > 2  # [CLS] [Q] tokens [SEP], no expansion
    assert namespace["doc_embeddings"][0].shape[1] == 128
    exec(compile(search, "README.md", "exec"), namespace)
    results = namespace["results"]
    assert len(results) == 1 and {hit["id"] for hit in results[0]} == {"doc1", "doc2", "doc3"}
    assert (tmp_path / "my_index" / "docs" / "manifest.json").is_file()
    assert f"{tuple(query_shape)}" in capsys.readouterr().out
