"""Paired significance tests (ranx) and agreement between runs."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from plait.compare.results import SignificanceTest

__all__ = ["overlap_at_k", "paired_test", "significance_against"]

STAT_TESTS = ("student", "fisher")


def paired_test(
    control: Sequence[float],
    treatment: Sequence[float],
    stat_test: str = "student",
    max_p: float = 0.05,
    n_permutations: int = 1000,
    seed: int = 42,
) -> SignificanceTest:
    """``mean(treatment) - mean(control)`` with ranx's paired t-test or Fisher randomisation test.

    Identical score lists give ``p = 1`` (ranx would return ``nan``).

    >>> paired_test([0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4]).p_value
    1.0
    """
    if stat_test not in STAT_TESTS:
        raise ValueError(f"stat_test must be one of {STAT_TESTS}, got {stat_test!r}")
    a = np.asarray(control, dtype=np.float64)
    b = np.asarray(treatment, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(
            f"paired scores must be two equal-length lists, got {a.shape} and {b.shape}"
        )
    delta = float(b.mean() - a.mean()) if len(a) else 0.0
    if len(a) < 2 or np.allclose(a, b):
        return SignificanceTest(delta, 1.0, False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ranx.statistical_tests import fisher_randomization_test, paired_student_t_test

        if stat_test == "student":
            p_value, _ = paired_student_t_test(a, b, max_p)
        else:
            p_value, _ = fisher_randomization_test(a, b, n_permutations, max_p, seed)
    p_value = float(p_value)
    if not np.isfinite(p_value):
        p_value = 1.0
    return SignificanceTest(delta, p_value, p_value < max_p)


def significance_against(
    baseline: Mapping[str, Mapping[str, float]],
    system: Mapping[str, Mapping[str, float]],
    stat_test: str = "student",
    max_p: float = 0.05,
) -> dict[str, SignificanceTest]:
    """Per metric, ``system`` minus ``baseline`` over the queries both were scored on.

    Both arguments are ``{metric: {query_id: value}}`` as returned by
    ``plait.evaluation.evaluate(..., per_query=True)``.
    """
    tests: dict[str, SignificanceTest] = {}
    for metric, base_values in baseline.items():
        if metric not in system:
            continue
        ids = [qid for qid in base_values if qid in system[metric]]
        tests[metric] = paired_test(
            [base_values[qid] for qid in ids],
            [system[metric][qid] for qid in ids],
            stat_test=stat_test,
            max_p=max_p,
        )
    return tests


def top_ids(hits: Sequence[Mapping[str, Any]], k: int) -> list[str]:
    """The first ``k`` ids of a ranked hit list."""
    return [str(hit["id"]) for hit in hits[:k]]


def overlap_at_k(
    run_a: Mapping[str, Sequence[Mapping[str, Any]]],
    run_b: Mapping[str, Sequence[Mapping[str, Any]]],
    k: int = 10,
) -> dict[str, float]:
    """Per query, the share of ``run_a``'s top ``k`` also in ``run_b``'s top ``k`` (0..1).

    A query where both return nothing counts as full agreement.

    >>> a = {"q": [{"id": "x"}, {"id": "y"}]}
    >>> b = {"q": [{"id": "y"}, {"id": "z"}]}
    >>> overlap_at_k(a, b, k=2)
    {'q': 0.5}
    """
    overlaps: dict[str, float] = {}
    for qid, hits in run_a.items():
        first, second = set(top_ids(hits, k)), set(top_ids(run_b.get(qid, []), k))
        size = max(len(first), len(second))
        overlaps[qid] = 1.0 if size == 0 else len(first & second) / size
    return overlaps
