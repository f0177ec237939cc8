"""The folder ``plait compare`` reads: a BEIR folder, or a corpus plus queries without judgements."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from plait.evaluation.beir import BeirFormatError, available_splits, load_beir, load_corpus

__all__ = ["CompareData", "load_compare_data"]


@dataclass
class CompareData:
    """Documents and queries as ``{"id", "text"}`` dicts; ``qrels`` is ``None`` without judgements."""

    documents: list[dict[str, str]]
    queries: list[dict[str, str]]
    qrels: dict[str, dict[str, int]] | None
    name: str
    split: str | None

    @property
    def has_qrels(self) -> bool:
        """Whether quality metrics can be computed."""
        return self.qrels is not None


def _find(folder: Path, stem: str) -> Path:
    for name in (f"{stem}.jsonl", f"{stem}.jsonl.gz"):
        if (folder / name).is_file():
            return folder / name
    raise BeirFormatError(f"{folder}: missing {stem}.jsonl (or {stem}.jsonl.gz)")


def load_compare_data(
    path: str | os.PathLike[str], split: str = "test", max_queries: int | None = None
) -> CompareData:
    """Read the data set at ``path``.

    With ``qrels/<split>.tsv`` the queries are the judged ones; without any ``qrels/*.tsv``, every
    query in ``queries.jsonl`` (then only costs and agreement can be reported).

    Raises :class:`~plait.evaluation.BeirFormatError` naming the file for a missing or malformed
    folder, and when ``qrels/`` holds other splits but not ``split``.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise BeirFormatError(
            f"{folder}: not a folder (give a BEIR folder with corpus.jsonl and queries.jsonl)"
        )
    if max_queries is not None and max_queries < 1:
        raise ValueError(f"max_queries must be at least 1, got {max_queries}")
    if available_splits(folder):
        documents, queries, qrels = load_beir(folder, split=split)
        if max_queries is not None:
            queries = queries[:max_queries]
            qrels = {q["id"]: qrels[q["id"]] for q in queries}
        if not documents:
            raise BeirFormatError(f"{folder}: the corpus holds no documents")
        return CompareData(documents, queries, qrels, folder.name, split)
    documents = load_corpus(_find(folder, "corpus"))
    queries_path = _find(folder, "queries")
    queries = [{"id": q["id"], "text": q["text"]} for q in load_corpus(queries_path)]
    if not documents:
        raise BeirFormatError(f"{folder}: the corpus holds no documents")
    if not queries:
        raise BeirFormatError(f"{queries_path}: no queries")
    empty = [q["id"] for q in queries if not q["text"].strip()]
    if empty:
        raise BeirFormatError(f"{queries_path}: query {empty[0]!r} has no text")
    return CompareData(documents, queries[:max_queries], None, folder.name, None)
