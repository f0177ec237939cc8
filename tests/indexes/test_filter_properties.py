"""Filtered search, property-based: random metadata and random conditions, for every index kind.

The expected answer never comes from DuckDB: each condition is built together with a Python
predicate that means the same thing, and the reference is brute-force MaxSim over the documents
the predicate keeps.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plait.indexes.plaid import PLAIDSearchParams
from plait.scores.reference import maxsim_reference

DIM = 16
N = 30
CATEGORIES = ["a", "b", "c", "d"]


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def _and(a, b):
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def _or(a, b):
    if a is True or b is True:
        return True
    return None if a is None or b is None else False


@st.composite
def conditions(draw):
    """``(sql, params, predicate)`` over columns year (int), category (str), flag (bool). The
    predicate follows SQL's three-valued logic (``None`` = unknown: a missing column)."""

    def atom():
        kind = draw(st.sampled_from(["year", "category", "flag", "in", "null"]))
        if kind == "year":
            op, value = draw(st.sampled_from([">=", "<", "="])), draw(st.integers(2000, 2010))
            fn = {">=": lambda y: y >= value, "<": lambda y: y < value, "=": lambda y: y == value}[
                op
            ]
            return (
                f"year {op} ?",
                [value],
                lambda m: None if m.get("year") is None else fn(m["year"]),
            )
        if kind == "category":
            value = draw(st.sampled_from(CATEGORIES))
            return (
                "category = ?",
                [value],
                lambda m: None if m.get("category") is None else m["category"] == value,
            )
        if kind == "flag":
            return "flag", [], lambda m: m.get("flag")
        if kind == "in":
            values = draw(
                st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3, unique=True)
            )
            marks = ", ".join("?" for _ in values)
            return (
                f"category IN ({marks})",
                list(values),
                lambda m: None if m.get("category") is None else m["category"] in values,
            )
        return "category IS NULL", [], lambda m: m.get("category") is None

    sql, params, fn = atom()
    for _ in range(draw(st.integers(0, 2))):
        joiner = draw(st.sampled_from(["AND", "OR"]))
        other_sql, other_params, other_fn = atom()
        combine = _and if joiner == "AND" else _or
        fn = lambda m, a=fn, b=other_fn, c=combine: c(a(m), b(m))  # noqa: E731
        sql, params = f"({sql}) {joiner} ({other_sql})", params + other_params
    if draw(st.booleans()):
        sql = f"NOT ({sql})"
        fn = lambda m, a=fn: None if a(m) is None else not a(m)  # noqa: E731
    return sql, params, lambda m, f=fn: f(m) is True


@st.composite
def corpora(draw):
    rows = [
        {
            "year": draw(st.integers(2000, 2010)),
            "category": draw(st.sampled_from(CATEGORIES)),
            "flag": draw(st.booleans()),
        }
    ]  # every column exists (an unknown one is an error)
    for _ in range(N - 1):
        row = {}
        if draw(st.integers(0, 9)):  # some documents lack a column
            row["year"] = draw(st.integers(2000, 2010))
        if draw(st.integers(0, 9)):
            row["category"] = draw(st.sampled_from(CATEGORIES))
        if draw(st.integers(0, 9)):
            row["flag"] = draw(st.booleans())
        rows.append(row)
    return rows


@pytest.fixture
def docs():
    rng = np.random.default_rng(11)
    return [_unit(rng.standard_normal((int(rng.integers(3, 7)), DIM))) for _ in range(N)]


@pytest.mark.slow  # 25 indexes per kind; test_contract.py filters every kind in the inner loop
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=corpora(), condition=conditions(), k=st.sampled_from([1, 5, 30]))
def test_filtered_search_equals_brute_force_over_the_matching_documents(
    index_factory, tmp_path_factory, docs, rows, condition, k
):
    sql, params, keep = condition
    folder = tmp_path_factory.mktemp("filtered")
    index = index_factory.create(folder)
    ids = [f"d{i}" for i in range(N)]
    index.add_documents(ids[:18], docs[:18], metadata=rows[:18])
    index.add_documents(ids[18:], docs[18:], metadata=rows[18:])
    matching = {i for i, m in zip(ids, rows, strict=True) if keep(m)}
    assert set(index.filter_ids(sql, params)) == matching, sql
    generation = index.manifest["generation"] if index.manifest is not None else None
    query = _unit(docs[3][:2] + 0.1)
    full = PLAIDSearchParams(
        ncells=1 << 12, centroid_score_threshold=float("-inf"), ndocs=4096, n_full_scores=4096
    )
    got = index.search(
        [query],
        k=k,
        filter=sql,
        filter_params=params,
        params=full if "plaid" in index_factory.name else None,
    )[0]
    want = sorted(
        ((maxsim_reference(query, docs[int(i[1:])]), i) for i in matching),
        key=lambda t: (-t[0], t[1]),
    )[:k]
    assert len(got) == min(k, len(matching))  # k results whenever k documents match
    assert set(got.ids) <= matching
    if index_factory.exact:
        np.testing.assert_allclose(got.scores, [s for s, _ in want], atol=2e-3)
    if index.manifest is not None:
        assert index.manifest["generation"] == generation  # a search changes nothing
