"""Paired significance tests (scipy), multiple-comparison correction, and agreement between runs.

Two paired tests over per-query scores, both two-sided on ``mean(treatment) - mean(control)``:

- ``student``: the paired t-test, :func:`scipy.stats.ttest_rel`;
- ``fisher``: Fisher's randomisation test, :func:`scipy.stats.permutation_test` with
  ``permutation_type="samples"`` (each query's pair of scores is swapped or not at random, i.e. the
  sign of its difference is flipped), :data:`RANDOMISATION_RESAMPLES` resamples from a fixed seed.
  With ``2**n <= RANDOMISATION_RESAMPLES`` scipy enumerates every sign flip and the p-value is exact.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from plait.compare.results import SignificanceTest

__all__ = [
    "RANDOMISATION_RESAMPLES",
    "RANDOMISATION_SEED",
    "STAT_TESTS",
    "format_p",
    "holm",
    "overlap_at_k",
    "paired_test",
    "significance_against",
    "stat_test_label",
]

STAT_TESTS = ("student", "fisher")
MAX_P = 0.05
RANDOMISATION_RESAMPLES = 10_000
RANDOMISATION_SEED = 42
_BATCH = 2_000  # resamples per vectorised step (bounds memory to batch x queries floats)


def stat_test_label(stat_test: str) -> str:
    """How the report names a test: ``paired t-test`` or ``randomisation test``."""
    return "paired t-test" if stat_test == "student" else "randomisation test"


def _mean_difference(x: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
    return np.mean(y, axis=axis) - np.mean(x, axis=axis)


def _randomisation_p(a: np.ndarray, b: np.ndarray, n_resamples: int, seed: int) -> float:
    generator = np.random.default_rng(seed)
    # scipy >= 1.15 calls the generator ``rng``; older releases ``random_state``
    key = "rng" if "rng" in inspect.signature(_permutation_test()).parameters else "random_state"
    result = _permutation_test()(
        (a, b),
        _mean_difference,
        permutation_type="samples",
        vectorized=True,
        n_resamples=n_resamples,
        batch=_BATCH,
        alternative="two-sided",
        **{key: generator},
    )
    return float(result.pvalue)


def _permutation_test() -> Any:
    from scipy.stats import permutation_test

    return permutation_test


def paired_test(
    control: Sequence[float],
    treatment: Sequence[float],
    stat_test: str = "student",
    max_p: float = MAX_P,
    n_resamples: int = RANDOMISATION_RESAMPLES,
    seed: int = RANDOMISATION_SEED,
) -> SignificanceTest:
    """``mean(treatment) - mean(control)`` with a two-sided paired t-test or randomisation test.

    ``significant`` is ``p < max_p``. Identical score lists (and fewer than two pairs) give
    ``p = 1``; a t-test whose p is undefined (``nan``) also gives ``p = 1``.

    >>> paired_test([0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4]).p_value
    1.0
    >>> round(paired_test([0.0, 0.0, 0.0], [1.0, 1.0, 1.0], "fisher").p_value, 3)  # 2 of 8 flips
    0.25
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
        warnings.simplefilter("ignore")  # scipy warns on near-constant differences
        if stat_test == "student":
            from scipy.stats import ttest_rel

            p_value = float(ttest_rel(b, a, alternative="two-sided").pvalue)
        else:
            p_value = _randomisation_p(a, b, n_resamples, seed)
    if not np.isfinite(p_value):
        p_value = 1.0
    p_value = min(max(p_value, 0.0), 1.0)
    return SignificanceTest(delta, p_value, p_value < max_p)


def significance_against(
    baseline: Mapping[str, Mapping[str, float]],
    system: Mapping[str, Mapping[str, float]],
    stat_test: str = "student",
    max_p: float = MAX_P,
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


def holm(p_values: Sequence[float], alpha: float = MAX_P) -> list[bool]:
    """Holm's step-down correction: which of ``p_values`` stay significant at family level ``alpha``.

    Sorted ascending, the ``i``-th smallest (from 0) is compared with ``alpha / (m - i)``; the first
    that fails stops the procedure and it and every larger one are not significant.

    >>> holm([0.01, 0.04, 0.03], alpha=0.05)  # 0.01 < 0.05/3; 0.03 >= 0.05/2 stops
    [True, False, False]
    """
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    keep = [False] * len(p_values)
    for rank, index in enumerate(order):
        if p_values[index] >= alpha / (len(p_values) - rank):
            break
        keep[index] = True
    return keep


def format_p(p_value: float, max_p: float = MAX_P) -> str:
    """Format ``p`` with two significant digits.

    More digits where rounding would put it on the other side of ``max_p`` (``0.0496`` prints
    ``0.0496``, not ``0.05``).

    >>> format_p(0.5912), format_p(0.0212), format_p(7.11e-08), format_p(0.04996), format_p(1.0)
    ('0.59', '0.021', '7.1e-08', '0.04996', '1')
    """
    if not np.isfinite(p_value):
        return "n/a"
    for digits in range(2, 8):
        text = f"{p_value:.{digits}g}"
        if (float(text) < max_p) == (p_value < max_p):
            return text
    return repr(p_value)


def top_ids(hits: Sequence[Mapping[str, Any]], k: int) -> list[str]:
    """Return the first ``k`` ids of a ranked hit list."""
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
