"""Every runnable code block of the documentation runs as written, offline.

A block is runnable when the line before its fence is the HTML comment ``<!-- runnable -->``
(invisible on GitHub and on the site). Only top-level ```` ```python ```` fences count. The blocks
of one page run in order in one namespace (a later block may use an earlier block's names), in a
fresh working directory, with the packaged offline default model where a block asks for
``models.ColBERT()``.

What a block may rely on, prepared by this test in the working directory:

- ``scifact/``: a small BEIR folder (12 documents, 4 queries, ``qrels/test.tsv`` and
  ``qrels/train.tsv``) standing in for a downloaded collection;
- placeholders, replaced in the code before it runs: the string ``"path/to/colbert-folder"`` by
  the path of the tiny PyLate-format checkpoint the tests build, and ``"path/to/hf-encoder"`` by a
  tiny plain Hugging Face BERT folder (see ``tests/conftest.py``).

Nothing else is substituted, so a block that runs here runs for a reader.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
RUNNABLE = re.compile(r"^<!-- runnable -->[ \t]*\n```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
# Pages whose blocks take longer than ~20 s on a 2-core CPU (they train the default model).
SLOW_PAGES = {"getting-started.md", "guides/training.md"}
# Pages that must keep runnable blocks: removing every marker from one should fail here.
EXPECTED = {
    "getting-started.md",
    "guides/models.md",
    "guides/indexing.md",
    "guides/pipelines.md",
    "guides/filters.md",
    "guides/training.md",
    "guides/evaluation.md",
    "guides/migrating.md",
}

CORPUS = [
    ("d1", "Vitamin D", "Vitamin D supplements lower the risk of bone fractures in older adults."),
    ("d2", "Calcium", "Calcium intake alone does not change fracture risk."),
    ("d3", "Statins", "Statins reduce cardiovascular events in patients with high cholesterol."),
    ("d4", "Heart", "The patient has no history of cardiac disease."),
    ("d5", "Aspirin", "Daily aspirin prevents a second heart attack in some patients."),
    ("d6", "Sleep", "Short sleep is associated with higher blood pressure."),
    ("d7", "Coffee", "Coffee consumption is not linked to heart rhythm problems."),
    ("d8", "Exercise", "Regular exercise improves insulin sensitivity."),
    ("d9", "Smoking", "Smoking cessation lowers lung cancer risk over ten years."),
    ("d10", "Salt", "High salt intake raises blood pressure in salt-sensitive people."),
    ("d11", "Fish oil", "Fish oil supplements did not prevent cardiovascular events."),
    ("d12", "Vaccines", "Influenza vaccination reduces hospital admissions in the elderly."),
]
QUERIES = [
    ("q1", "vitamin D and bone fractures"),
    ("q2", "does aspirin prevent heart attacks"),
    ("q3", "salt and blood pressure"),
    ("q4", "omega-3 and heart disease"),
]
QRELS = {"test": [("q1", "d1"), ("q2", "d5"), ("q3", "d10")], "train": [("q4", "d11")]}


def write_beir(folder: Path) -> Path:
    """A small BEIR folder: corpus.jsonl, queries.jsonl, qrels/{test,train}.tsv."""
    (folder / "qrels").mkdir(parents=True)
    with (folder / "corpus.jsonl").open("w", encoding="utf-8") as f:
        for doc_id, title, text in CORPUS:
            f.write(json.dumps({"_id": doc_id, "title": title, "text": text}) + "\n")
    with (folder / "queries.jsonl").open("w", encoding="utf-8") as f:
        for query_id, text in QUERIES:
            f.write(json.dumps({"_id": query_id, "text": text}) + "\n")
    for split, pairs in QRELS.items():
        lines = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{d}\t1" for q, d in pairs]
        (folder / "qrels" / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def runnable_blocks(text: str) -> list[str]:
    return [match.group(1) for match in RUNNABLE.finditer(text)]


def pages() -> list[str]:
    found = []
    for path in sorted(DOCS.rglob("*.md")):
        if runnable_blocks(path.read_text(encoding="utf-8")):
            found.append(path.relative_to(DOCS).as_posix())
    return found


def _param(page: str):
    marks = [pytest.mark.slow] if page in SLOW_PAGES else []
    return pytest.param(page, id=page, marks=marks)


def test_marker_is_found_and_expected_pages_have_runnable_blocks() -> None:
    sample = "text\n\n<!-- runnable -->\n```python\nx = 1\n```\n\n```python\ny = 2\n```\n"
    assert runnable_blocks(sample) == ["x = 1\n"]
    missing = EXPECTED - set(pages())
    assert not missing, f"pages without a <!-- runnable --> block: {sorted(missing)}"


@pytest.mark.parametrize("page", [_param(page) for page in pages()])
def test_page_blocks_run(
    page: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tiny_model_path: Path,
    tiny_encoder_path: Path,
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    write_beir(work / "scifact")
    monkeypatch.chdir(work)
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "datasets-cache"))
    placeholders = {
        '"path/to/colbert-folder"': repr(str(tiny_model_path)),
        '"path/to/hf-encoder"': repr(str(tiny_encoder_path)),
    }
    namespace: dict = {"__name__": "__docs__"}
    for number, code in enumerate(runnable_blocks((DOCS / page).read_text(encoding="utf-8"))):
        for placeholder, value in placeholders.items():
            code = code.replace(placeholder, value)
        exec(compile(code, f"docs/{page} (runnable block {number + 1})", "exec"), namespace)
