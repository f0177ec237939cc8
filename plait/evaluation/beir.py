"""Read BEIR-format folders: ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/<split>.tsv``.

A BEIR folder looks like this (``.jsonl.gz`` is accepted in place of ``.jsonl``)::

    scifact/
      corpus.jsonl        {"_id": "4983", "title": "...", "text": "..."} per line
      queries.jsonl       {"_id": "1", "text": "..."} per line
      qrels/test.tsv      query-id <TAB> corpus-id <TAB> score (header line optional)

:func:`load_beir` returns PyLate's triple ``(documents, queries, qrels)``: documents as
``{"id", "text"}`` dicts whose text is ``title + " " + text`` when a title exists, the queries that
have at least one judgement in the split (``{"id", "text"}`` dicts, in ``queries.jsonl`` order) and
the judgements ``{query_id: {document_id: grade}}``. Documents whose id equals a query id are kept
(BEIR's ``ignore_identical_ids`` would drop relevant documents in Cranfield and CISI).

Every problem with a folder raises :class:`BeirFormatError` naming the file and, for a bad line,
its line number.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "BeirFormatError",
    "available_splits",
    "load_beir",
    "load_corpus",
    "load_qrels",
    "load_titled_corpus",
]

Documents = list[dict[str, str]]
Queries = list[dict[str, str]]
Qrels = dict[str, dict[str, int]]


class BeirFormatError(ValueError):
    """A BEIR folder or one of its files is missing or malformed. The message names the file."""


def _find_jsonl(folder: Path, stem: str) -> Path:
    for name in (f"{stem}.jsonl", f"{stem}.jsonl.gz"):
        if (folder / name).is_file():
            return folder / name
    raise BeirFormatError(f"{folder}: missing {stem}.jsonl (or {stem}.jsonl.gz)")


def _iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for each non-blank line of a ``.jsonl``/``.jsonl.gz`` file."""
    opener: Any = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    raise BeirFormatError(
                        f"{path} line {number}: invalid JSON ({error.msg})"
                    ) from None
                if not isinstance(record, dict):
                    raise BeirFormatError(f"{path} line {number}: expected a JSON object")
                yield number, record
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise BeirFormatError(f"{path}: cannot read ({error})") from None


def _field(record: dict[str, Any], key: str, path: Path, number: int, required: bool) -> str:
    value = record.get(key)
    if value is None:
        if required:
            raise BeirFormatError(f"{path} line {number}: missing {key!r}")
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise BeirFormatError(f"{path} line {number}: {key!r} must be a string")
    return str(value)


def _read_fields(path: Path, with_title: bool) -> list[dict[str, str]]:
    """``{"id", "title", "text"}`` per record (``title`` empty unless ``with_title``)."""
    records: list[dict[str, str]] = []
    seen: set[str] = set()
    for number, record in _iter_jsonl(path):
        id_key = "id" if "_id" not in record and "id" in record else "_id"  # plain "id" accepted
        record_id = _field(record, id_key, path, number, required=True)
        if record_id in seen:
            raise BeirFormatError(f"{path} line {number}: duplicate _id {record_id!r}")
        seen.add(record_id)
        text = _field(record, "text", path, number, required=False)
        title = _field(record, "title", path, number, required=False) if with_title else ""
        records.append({"id": record_id, "title": title, "text": text})
    return records


def _read_records(path: Path, with_title: bool) -> list[dict[str, str]]:
    return [
        {"id": r["id"], "text": f"{r['title']} {r['text']}".strip()}
        for r in _read_fields(path, with_title)
    ]


def load_corpus(path: str | os.PathLike[str]) -> Documents:
    """Read a BEIR ``corpus.jsonl``/``.jsonl.gz`` file (or the folder holding one).

    Returns ``[{"id", "text"}, ...]`` in file order; ``text`` is ``title + " " + text`` (stripped).
    Records carry their id as ``_id`` (BEIR) or ``id``.
    """
    return _read_records(_corpus_file(path), with_title=True)


def _corpus_file(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    if path.is_dir():
        return _find_jsonl(path, "corpus")
    if not path.is_file():
        raise BeirFormatError(f"{path}: no such file or folder")
    return path


def load_corpus_metadata(path: str | os.PathLike[str], fields: list[str]) -> list[dict[str, Any]]:
    """Return the metadata fields ``fields`` of each record of a corpus.

    Records come in file order, aligned with :func:`load_corpus`. A field is read from the record
    itself or from its ``metadata`` object (BEIR's place for extra fields); a record without it has
    no such key. Values must be strings, numbers, booleans or null.
    """
    rows: list[dict[str, Any]] = []
    file = _corpus_file(path)
    for number, record in _iter_jsonl(file):
        extra = record.get("metadata")
        nested: dict[str, Any] = extra if isinstance(extra, dict) else {}
        row: dict[str, Any] = {}
        for name in fields:
            value = record[name] if name in record else nested.get(name)
            if value is None:
                continue
            if not isinstance(value, (str, int, float, bool)):
                raise BeirFormatError(
                    f"{file} line {number}: field {name!r} is {type(value).__name__}; metadata "
                    "values are strings, numbers, booleans or null"
                )
            row[name] = value
        rows.append(row)
    return rows


def load_titled_corpus(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """Load a corpus like :func:`load_corpus`, with the title kept apart.

    Returns ``[{"id", "title", "text"}]`` (``title`` is empty when a record has none; both
    stripped).
    """
    return [
        {"id": r["id"], "title": r["title"].strip(), "text": r["text"].strip()}
        for r in _read_fields(_corpus_file(path), with_title=True)
    ]


def available_splits(path: str | os.PathLike[str]) -> list[str]:
    """Names of the splits in ``<path>/qrels`` (one per ``<split>.tsv``), sorted."""
    qrels_dir = Path(path) / "qrels"
    if not qrels_dir.is_dir():
        return []
    return sorted(child.name[: -len(".tsv")] for child in qrels_dir.glob("*.tsv"))


def load_qrels(path: str | os.PathLike[str]) -> Qrels:
    """Read a qrels TSV (``query-id  corpus-id  score``; a header line is allowed).

    Returns ``{query_id: {document_id: grade}}`` with integer grades, in file order.
    """
    path = Path(path)
    qrels: Qrels = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise BeirFormatError(f"{path}: cannot read ({error})") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        fields = [field.strip() for field in fields]
        if len(fields) == 4:  # TREC layout: query-id, iteration, doc-id, grade
            fields = [fields[0], fields[2], fields[3]]
        if len(fields) != 3:
            raise BeirFormatError(
                f"{path} line {number}: expected 3 tab-separated fields "
                f"(query-id, corpus-id, score), got {len(fields)}"
            )
        query_id, document_id, grade = fields
        try:
            value = int(float(grade))
        except ValueError:
            if number == 1:  # header line such as "query-id corpus-id score"
                continue
            raise BeirFormatError(
                f"{path} line {number}: score {grade!r} is not a number"
            ) from None
        qrels.setdefault(query_id, {})[document_id] = value
    return qrels


def load_beir(
    path: str | os.PathLike[str], split: str = "test"
) -> tuple[Documents, Queries, Qrels]:
    """Load a BEIR folder from disk (plait never downloads data).

    Parameters
    ----------
    path
        Folder holding ``corpus.jsonl[.gz]``, ``queries.jsonl[.gz]`` and ``qrels/<split>.tsv``.
    split
        Which judgements to load (``qrels/<split>.tsv``).

    Returns
    -------
    documents, queries, qrels
        ``documents``: ``[{"id", "text"}]``; ``queries``: ``[{"id", "text"}]`` restricted to the
        queries judged in ``split``; ``qrels``: ``{query_id: {document_id: grade}}``.

    Examples
    --------
    >>> documents, queries, qrels = load_beir("../shared/data/scifact")  # doctest: +SKIP
    >>> len(documents), len(queries)  # doctest: +SKIP
    (5183, 300)
    """
    folder = Path(path)
    if not folder.is_dir():
        hint = (
            "" if folder.exists() else " (plait does not download data sets: give a local folder)"
        )
        raise BeirFormatError(f"{folder}: not a BEIR folder{hint}")
    qrels_path = folder / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        splits = available_splits(folder)
        listed = ", ".join(splits) if splits else "none"
        raise BeirFormatError(
            f"{folder}: no split {split!r} (qrels/{split}.tsv); available: {listed}"
        )
    documents = load_corpus(_find_jsonl(folder, "corpus"))
    queries_path = _find_jsonl(folder, "queries")
    all_queries = _read_records(queries_path, with_title=False)
    qrels = load_qrels(qrels_path)
    if not qrels:
        raise BeirFormatError(f"{qrels_path}: no judgements")
    known = {query["id"] for query in all_queries}
    missing = [query_id for query_id in qrels if query_id not in known]
    if missing:
        raise BeirFormatError(
            f"{qrels_path}: {len(missing)} judged query id(s) missing from {queries_path.name} "
            f"(first: {missing[0]!r})"
        )
    queries = [query for query in all_queries if query["id"] in qrels]
    return documents, queries, qrels
