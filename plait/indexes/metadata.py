"""Per-document metadata: checked on the way in, one Parquet file per segment (the metadata extra).

A document's metadata is a flat dict of JSON-like scalars: ``str``, ``int``, ``float``, ``bool``,
``None`` and dates (``datetime.date``, ``datetime.datetime``; ISO strings stay strings). Keys are
column names: letters, digits and ``_``, not starting with a digit or ``__`` (so a filter can name
them in SQL without quoting). A column has one type in the whole index (``bool``, ``int``,
``float``, ``str``, ``date``, ``datetime``; an int column becomes float when floats arrive, and an
int given to a float column is stored as a float): the index keeps the schema in its manifest
(``metadata_schema``), a later document may bring new keys, and a value of another type is
refused naming the key. Documents without a key (or with ``None``) read back without it: ``None``
means "absent".

Each segment that has metadata stores it as ``<segment>.metadata`` (Parquet through pyarrow: typed,
columnar, readable by DuckDB and pandas; never pickle). Like texts, the file is opened with its
segment and parsed (CRC-checked) on first use. pyarrow is an optional dependency: ``pip install
"plait[metadata]"``; without it an index with metadata still opens and searches, and only reading
or writing metadata raises the one-line hint.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from plait.indexes.base import CorruptIndexError, IndexInputError

__all__ = [
    "KINDS",
    "LazyMetadata",
    "check_metadata",
    "check_schema",
    "merge_schema",
    "metadata_at",
    "metadata_table",
    "write_metadata",
]

_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_SCALARS = (str, int, float, bool, dt.date, type(None))  # datetime is a date subclass
Rows = list[dict[str, Any]]
INT64 = (-(1 << 63), (1 << 63) - 1)


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        from plait.extras import missing_extra

        raise missing_extra("metadata", "document metadata") from None
    return pyarrow


def check_metadata(ids: Sequence[str], metadata: Any) -> Rows | None:
    """Return ``metadata`` as one dict per id, or ``None`` when absent or empty.

    ``None`` entries become ``{}``. Bad shapes, keys or values raise :class:`IndexInputError`
    naming the document.
    """
    if metadata is None:
        return None
    if isinstance(metadata, Mapping) or isinstance(metadata, (str, bytes)):
        raise IndexInputError(
            "metadata must be a list with one dict per document id, not a single dict"
        )
    rows = list(metadata)
    if len(rows) != len(ids):
        raise IndexInputError(f"{len(rows)} metadata entries for {len(ids)} document ids")
    checked: Rows = []
    for doc_id, row in zip(ids, rows, strict=True):
        if row is None:
            row = {}
        if not isinstance(row, Mapping):
            raise IndexInputError(
                f"metadata of {doc_id!r} must be a dict, got {type(row).__name__}"
            )
        for key, value in row.items():
            if not isinstance(key, str) or not _COLUMN.match(key) or key.startswith("__"):
                raise IndexInputError(
                    f"metadata of {doc_id!r}: key {key!r} is not a column name (letters, digits and "
                    "_, not starting with a digit or __)"
                )
            if not isinstance(value, _SCALARS) or (isinstance(value, float) and value != value):
                raise IndexInputError(
                    f"metadata of {doc_id!r}: {key!r} is {type(value).__name__} {value!r}; values are "
                    "str, int, float, bool, None or dates (no lists, dicts or NaN)"
                )
            if (
                isinstance(value, int)
                and not isinstance(value, bool)
                and not INT64[0] <= value <= INT64[1]
            ):
                raise IndexInputError(
                    f"metadata of {doc_id!r}: {key!r} = {value} does not fit in 64 bits (store it as a string)"
                )
        checked.append({k: v for k, v in row.items() if v is not None})
    return checked if any(checked) else None


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, dt.datetime):
        return "datetime"
    if isinstance(value, dt.date):
        return "date"
    return "str"


def merge_schema(
    stored: Mapping[str, str] | None, rows: Rows, ids: Sequence[str]
) -> dict[str, str]:
    """Return the index's column types after adding ``rows``: ``stored`` plus new keys.

    A value whose type disagrees with its column (within ``rows`` or with ``stored``) raises
    :class:`IndexInputError` naming the key and a document; ints and floats in one column make a
    float column.
    """
    schema = dict(stored or {})
    for key in sorted({key for row in rows for key in row}):
        kinds = {_kind(row[key]) for row in rows if key in row}
        if key in schema:
            kinds.add(schema[key])
        if kinds <= {"int", "float"} and len(kinds) == 2:
            kinds = {"float"}
        if len(kinds) != 1:
            first = schema.get(key) or _kind(next(row[key] for row in rows if key in row))
            numeric = {"int", "float"}
            example = next(
                i
                for i, row in zip(ids, rows, strict=True)
                if key in row
                and _kind(row[key]) != first
                and not {_kind(row[key]), first} <= numeric
            )
            was = f" (the index stores {schema[key]})" if key in schema else ""
            raise IndexInputError(
                f"metadata key {key!r} has values of several types ({', '.join(sorted(kinds))}; "
                f"e.g. document {example!r}){was}: one column holds one type"
            )
        schema[key] = kinds.pop()
    return schema


KINDS = ("bool", "int", "float", "str", "date", "datetime")


def check_schema(stored: Any, where: Any) -> dict[str, str]:
    """Check and return a manifest's ``metadata_schema`` (``{}`` when absent: an older index)."""
    if stored is None:
        return {}
    if not isinstance(stored, dict) or not all(
        isinstance(k, str) and _COLUMN.match(k) and v in KINDS for k, v in stored.items()
    ):
        raise CorruptIndexError(f"{where}: key 'metadata_schema' holds an invalid value {stored!r}")
    return dict(stored)


def arrow_types() -> dict[str, Any]:
    """Return the pyarrow type of each metadata column kind (:data:`KINDS`)."""
    pa = _pyarrow()
    return {
        "bool": pa.bool_(),
        "int": pa.int64(),
        "float": pa.float64(),
        "str": pa.string(),
        "date": pa.date32(),
        "datetime": pa.timestamp("us"),
    }


def _table(rows: Rows, ids: Sequence[str], schema: Mapping[str, str]) -> Any:
    pa = _pyarrow()
    types = arrow_types()
    columns: dict[str, Any] = {}
    for key in sorted({key for row in rows for key in row}):
        kind = schema[key]
        values = [row.get(key) for row in rows]
        if kind == "float":
            values = [None if v is None else float(v) for v in values]
        if kind == "datetime" and len({v.tzinfo is None for v in values if v is not None}) > 1:
            raise IndexInputError(f"metadata key {key!r} mixes naive and timezone-aware datetimes")
        columns[key] = pa.array(values, type=types[kind] if kind != "datetime" else None)
    return pa.table(columns) if columns else pa.table({})


def write_metadata(
    folder: Any, stem: str, rows: Rows, ids: Sequence[str], schema: Mapping[str, str]
) -> dict[str, Any]:
    """Write one segment's metadata as a fresh Parquet data file; return its manifest entry.

    ``rows`` are aligned with the segment's ids, the column types come from ``schema`` (see
    :func:`merge_schema`), and ``folder`` is an :class:`~plait.indexes.storage.IndexFolder`.
    """
    table = _table(rows, ids, schema)
    pq = _pyarrow().parquet
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    data = buffer.getvalue()
    return folder.write_file(stem, ".parquet", lambda f: f.write(data))


class LazyMetadata:
    """One segment's metadata: the file is opened with the segment and parsed on first use."""

    def __init__(self, path: Path, handle: Any, entry: Mapping[str, Any], count: int) -> None:
        self.path, self._handle, self._entry, self._count = path, handle, dict(entry), count
        self._rows: Rows | None = None
        self._table: Any = None
        self._error: CorruptIndexError | None = None  # the file is read once: a failure stays
        self._lock = threading.Lock()

    def rows(self) -> Rows:
        """Return one dict per document, in segment order, without the ``None`` values."""
        with self._lock:
            if self._rows is None:
                self._rows = [
                    {k: v for k, v in row.items() if v is not None}
                    for row in self._parsed().to_pylist()
                ]
            return self._rows

    def table(self) -> Any:
        """Return the segment's metadata as a pyarrow table (one row per document, in order)."""
        with self._lock:
            return self._parsed()

    def _parsed(self) -> Any:
        if self._table is None:
            if self._error is not None:
                raise self._error
            try:
                self._table = self._parse()
            except CorruptIndexError as error:
                self._error = error
                raise
        return self._table

    def _parse(self) -> Any:
        self._handle.seek(0)
        raw = self._handle.read()
        self._handle.close()
        if zlib.crc32(raw) != self._entry["crc32"]:
            raise CorruptIndexError(f"index file {self.path} fails its CRC-32 checksum (corrupted)")
        pa = _pyarrow()
        try:
            table = pa.parquet.read_table(pa.BufferReader(raw))
        except (pa.ArrowException, OSError, ValueError) as error:
            raise CorruptIndexError(
                f"index file {self.path} is not a readable Parquet file ({error})"
            ) from None
        if table.num_rows != self._count:
            raise CorruptIndexError(
                f"index file {self.path} holds {table.num_rows} rows, not {self._count}"
            )
        return table

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is not None:
            handle.close()


def metadata_at(metadata: LazyMetadata | Rows | None, local: int) -> dict[str, Any]:
    """Return the metadata of document ``local`` of a segment (``{}`` when the segment has none)."""
    if metadata is None:
        return {}
    rows = metadata.rows() if isinstance(metadata, LazyMetadata) else metadata
    return dict(rows[local])


def metadata_table(
    metadata: LazyMetadata | Rows | None, ids: Sequence[str], schema: Mapping[str, str]
) -> Any:
    """Return a segment's metadata as a pyarrow table (``None`` when the segment has none)."""
    if metadata is None:
        return None
    if isinstance(metadata, LazyMetadata):
        return metadata.table()
    return _table(metadata, ids, schema)
