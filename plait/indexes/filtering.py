"""Metadata filters: a SQL ``WHERE`` condition over the metadata columns, evaluated by DuckDB.

``search(..., filter="year >= ? AND source = ?", filter_params=[2020, "pubmed"])`` keeps the
documents whose metadata satisfies the condition (a document without a key has ``NULL`` there, so
``year >= 2020`` leaves it out). The condition is DuckDB SQL; plait writes no expression parser.
Before it runs, DuckDB's own parser checks that it is one plain condition: exactly one ``SELECT``
with nothing but this ``WHERE`` (no set operation, ``ORDER BY``, ``GROUP BY``, ``LIMIT``) and no
subquery. It then runs on the segments' metadata loaded in memory, on a connection with file and
network access disabled, parameters always bound (never formatted into the SQL). An unknown column,
a type mismatch, a malformed condition, a wrong number of parameters or anything else DuckDB refuses
raises :class:`~plait.indexes.base.IndexInputError` saying what is wrong. Needs the metadata extra
(``pip install "plait[metadata]"``: pyarrow and duckdb).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from plait.indexes.base import IndexInputError
from plait.indexes.metadata import INT64, arrow_types

__all__ = ["FilterSpec", "check_filter", "matching_rows"]

ROW = "__plait_row"
_LOCK = threading.Lock()  # one DuckDB connection per call; the parser check is shared
MEMORY_LIMIT = "1GB"  # what one filter may use; more raises (a condition can build huge strings)
TIME_LIMIT_S = 30.0  # a filter still running after this is interrupted


class FilterSpec:
    """A checked filter: the condition and its parameters."""

    def __init__(self, where: str, params: Sequence[Any]) -> None:
        self.where, self.params = where, list(params)


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError:
        from plait.extras import missing_extra

        raise missing_extra("metadata", "metadata filters") from None
    return duckdb


def _walk(node: Any) -> Any:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def check_filter(where: Any, params: Any) -> FilterSpec | None:
    """``None`` without a filter; else the checked :class:`FilterSpec` (see the module docstring)."""
    if where is None:
        if params:
            raise IndexInputError("filter_params were given without a filter")
        return None
    if not isinstance(where, str) or not where.strip():
        raise IndexInputError(f"filter must be a non-empty SQL condition string, got {where!r}")
    if params is None:
        params = []
    if isinstance(params, (str, bytes, Mapping)) or not isinstance(params, Sequence):
        raise IndexInputError("filter_params must be a list of values, one per '?' in the filter")
    for position, value in enumerate(params):
        if value is not None and not isinstance(value, (str, int, float, bool, dt.date)):
            raise IndexInputError(
                f"filter_params[{position}] is {type(value).__name__}; parameters are strings, "
                "numbers, booleans, dates or None"
            )
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and not INT64[0] <= value <= INT64[1]
        ):
            raise IndexInputError(f"filter_params[{position}] = {value} does not fit in 64 bits")
    duckdb = _duckdb()
    with _LOCK:
        con = duckdb.connect()
        try:
            con.execute("SET enable_external_access = false")
            tree = json.loads(
                con.execute(
                    "SELECT json_serialize_sql(?)", [f"SELECT 1 FROM t WHERE (\n{where}\n)"]
                ).fetchone()[0]
            )
        finally:
            con.close()
    if tree.get("error"):
        raise IndexInputError(
            f"filter {where!r} is not a valid SQL condition: {tree.get('error_message')}"
        )
    statements = tree.get("statements", [])
    node = statements[0].get("node", {}) if len(statements) == 1 else {}
    plain = (
        len(statements) == 1
        and node.get("type") == "SELECT_NODE"
        and not node.get("modifiers")
        and not node.get("group_expressions")
        and node.get("having") is None
        and node.get("qualify") is None
        and node.get("from_table", {}).get("table_name") == "t"
    )
    if not plain or any(n.get("class") == "SUBQUERY" for n in _walk(node.get("where_clause"))):
        raise IndexInputError(
            f"filter {where!r} must be one condition on metadata columns (no subquery, UNION, "
            "ORDER BY, GROUP BY or LIMIT)"
        )
    return FilterSpec(where, params)


def matching_rows(
    spec: FilterSpec, tables: Sequence[tuple[Any, int]], schema: Mapping[str, str]
) -> list[np.ndarray]:
    """Per segment, the local numbers of the documents whose metadata matches ``spec``.

    ``tables``: one ``(pyarrow table or None, n_docs)`` per segment; every column of ``schema`` is
    present (``NULL`` where a segment does not have it).
    """
    duckdb = _duckdb()
    import pyarrow as pa

    types = arrow_types()
    out = []
    con = duckdb.connect()
    watchdog = threading.Timer(TIME_LIMIT_S, con.interrupt)
    watchdog.daemon = True
    try:
        con.execute("SET enable_external_access = false")
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        con.execute("SET threads = 1")
        watchdog.start()
        for n, (table, n_docs) in enumerate(tables):
            columns = {ROW: pa.array(np.arange(n_docs, dtype=np.int64))}
            for key, kind in schema.items():
                if table is not None and key in table.column_names:
                    columns[key] = table.column(key)
                else:
                    columns[key] = pa.nulls(n_docs, type=types[kind])
            con.register(f"segment_{n}", pa.table(columns))
            try:
                rows = con.execute(
                    f'SELECT "{ROW}" FROM segment_{n} WHERE (\n{spec.where}\n)', spec.params
                ).fetchnumpy()[ROW]
            except duckdb.Error as error:
                if not watchdog.is_alive():
                    raise IndexInputError(
                        f"filter {spec.where!r} ran longer than {TIME_LIMIT_S:g} s and was stopped"
                    ) from None
                raise IndexInputError(_explain(spec, error, schema)) from None
            finally:
                con.unregister(f"segment_{n}")
            out.append(np.asarray(rows, dtype=np.int64))
    finally:
        watchdog.cancel()
        con.close()
    return out


def _explain(spec: FilterSpec, error: Exception, schema: Mapping[str, str]) -> str:
    message = str(error).split("\n")[0]
    columns = ", ".join(f"{k} ({v})" for k, v in sorted(schema.items())) or "none"
    if "not found in FROM clause" in message or "Referenced column" in message:
        return f"filter {spec.where!r}: {message.split(': ', 1)[-1]} (metadata columns: {columns})"
    return f"filter {spec.where!r} with parameters {spec.params!r} cannot run: {message} (metadata columns: {columns})"
