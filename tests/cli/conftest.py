"""CLI fixtures: a typer CliRunner over the real app and a tiny BEIR folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner


@pytest.fixture
def run():
    """``run(*args) -> Result`` invoking ``plait`` in-process (stdout and stderr kept apart)."""
    from plait.cli.main import app

    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, [str(a) for a in args])

    return invoke


@pytest.fixture
def beir_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "beir"
    (folder / "qrels").mkdir(parents=True)
    corpus = [
        {"_id": "d1", "title": "Heart", "text": "The patient has a history of cardiac disease."},
        {"_id": "d2", "title": "", "text": "The patient has no history of cardiac disease."},
        {"_id": "d3", "text": "Bread needs flour, water, salt and yeast."},
        {"_id": "d4", "text": "Saturn has bright rings of ice."},
    ]
    queries = [
        {"_id": "q1", "text": "heart cardiac disease history"},
        {"_id": "q2", "text": "baking bread"},
    ]
    (folder / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in corpus))
    (folder / "queries.jsonl").write_text("".join(json.dumps(r) + "\n" for r in queries))
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t1\n")
    return folder
