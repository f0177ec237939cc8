"""Paired tests on scipy, checked against slow references (and ranx while it is installed)."""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import itertools
import math
import random

import numpy as np
import pytest

from plait.compare.stats import (
    RANDOMISATION_RESAMPLES,
    format_p,
    holm,
    paired_test,
    significance_against,
)

HAS_RANX = importlib.util.find_spec("ranx") is not None


@pytest.mark.parametrize("module", ["stats", "latency", "verdict", "report"])
def test_doctests(module):
    failures, tried = doctest.testmod(importlib.import_module(f"plait.compare.{module}"))
    assert tried > 0 and failures == 0


def _scores(seed: int, n: int) -> tuple[list[float], list[float]]:
    rng = random.Random(seed)
    control = [round(rng.random(), 2) for _ in range(n)]
    treatment = [
        c if rng.random() < 0.2 else min(1.0, max(0.0, round(c + rng.gauss(0.05, 0.2), 2)))
        for c in control
    ]
    return control, treatment


def _slow_t_test(control: list[float], treatment: list[float]) -> float:
    """Two-sided paired t-test written out: t = mean(d) / (sd(d) / sqrt(n)), df = n - 1."""
    from scipy.stats import t as student

    d = [b - a for a, b in zip(control, treatment, strict=True)]
    n = len(d)
    mean = sum(d) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1))
    statistic = mean / (sd / math.sqrt(n))
    return float(2 * student.sf(abs(statistic), n - 1))


def _exhaustive_sign_flips(control: list[float], treatment: list[float]) -> float:
    """Exact randomisation p: the share of all 2**n sign flips of the differences whose mean is
    at least as far from 0 as the observed one."""
    d = [b - a for a, b in zip(control, treatment, strict=True)]
    observed = abs(sum(d))
    hits = 0
    for signs in itertools.product((1, -1), repeat=len(d)):
        hits += abs(sum(s * x for s, x in zip(signs, d, strict=True))) >= observed - 1e-9
    return hits / 2 ** len(d)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("n", [5, 30, 300])
def test_t_test_matches_the_formula(seed, n):
    control, treatment = _scores(seed, n)
    test = paired_test(control, treatment, "student")
    assert test.p_value == pytest.approx(_slow_t_test(control, treatment), abs=1e-9, rel=1e-9)
    assert test.delta == pytest.approx(np.mean(treatment) - np.mean(control), abs=1e-12)
    assert test.significant == (test.p_value < 0.05)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n", [2, 3, 7, 10, 12])
def test_randomisation_test_is_exact_for_small_samples(seed, n):
    """With 2**n <= the resamples scipy enumerates every sign flip: the p is exact."""
    control, treatment = _scores(100 + seed, n)
    if np.allclose(control, treatment):
        treatment[0] = 1.0 - control[0] if control[0] != 0.5 else 0.9
    assert 2**n <= RANDOMISATION_RESAMPLES
    test = paired_test(control, treatment, "fisher")
    assert test.p_value == pytest.approx(_exhaustive_sign_flips(control, treatment), abs=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_randomisation_test_within_monte_carlo_error_of_a_slow_one(seed):
    """n = 40: 2**40 flips, so both sample; a slow loop with its own generator agrees within
    four standard errors of the two estimates."""
    control, treatment = _scores(200 + seed, 40)
    d = np.subtract(treatment, control)
    rng = random.Random(seed)
    draws = 20_000
    observed = abs(d.sum())
    hits = sum(
        abs(sum(x if rng.random() < 0.5 else -x for x in d)) >= observed - 1e-9
        for _ in range(draws)
    )
    slow = hits / draws
    fast = paired_test(control, treatment, "fisher").p_value
    error = math.sqrt(slow * (1 - slow) / draws + fast * (1 - fast) / RANDOMISATION_RESAMPLES)
    assert abs(fast - slow) <= 4 * error + 1e-4, (fast, slow)


def test_randomisation_test_is_reproducible_and_seeded():
    control, treatment = _scores(7, 60)
    first = paired_test(control, treatment, "fisher").p_value
    assert paired_test(control, treatment, "fisher").p_value == first
    other = paired_test(control, treatment, "fisher", seed=43).p_value
    assert other != first and abs(other - first) < 0.05


def test_direction_and_symmetry():
    control, treatment = _scores(3, 50)
    for stat_test in ("student", "fisher"):
        forward = paired_test(control, treatment, stat_test)
        backward = paired_test(treatment, control, stat_test)
        assert forward.delta == pytest.approx(-backward.delta)
        assert forward.p_value == pytest.approx(backward.p_value)


def test_degenerate_inputs():
    assert paired_test([0.5], [0.9]).p_value == 1.0  # one pair: nothing to test
    assert paired_test([], []).p_value == 1.0
    assert paired_test([0.2, 0.4, 0.6], [0.2, 0.4, 0.6], "fisher") == paired_test(
        [0.2, 0.4, 0.6], [0.2, 0.4, 0.6]
    )
    shift = paired_test([0.1, 0.2, 0.3, 0.4], [0.2, 0.3, 0.4, 0.5])  # constant difference
    assert 0.0 <= shift.p_value <= 1.0
    with pytest.raises(ValueError, match="stat_test must be one of"):
        paired_test([1, 2], [1, 2], "wilcoxon")
    with pytest.raises(ValueError, match="equal-length"):
        paired_test([1, 2], [1, 2, 3])


def test_significance_against_pairs_by_query_id():
    base = {"ndcg@10": {"q1": 0.1, "q2": 0.2, "q3": 0.3, "q4": 0.9}}
    system = {"ndcg@10": {"q3": 0.5, "q1": 0.4, "q2": 0.6}}  # q4 unscored, other order
    test = significance_against(base, system)["ndcg@10"]
    assert test == paired_test([0.1, 0.2, 0.3], [0.4, 0.6, 0.5])


def _slow_holm(p_values: list[float], alpha: float) -> list[bool]:
    """Holm through adjusted p-values: p_adj(i) = max over j <= i of min(1, (m - j) p_(j))."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted, running = [0.0] * m, 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return [a < alpha for a in adjusted]


@pytest.mark.parametrize("seed", range(50))
def test_holm_matches_adjusted_p_values(seed):
    rng = random.Random(seed)
    p_values = [
        rng.choice((1e-5, 0.001, 0.01, 0.02, 0.03, 0.049, 0.2, 0.7))
        for _ in range(rng.randint(1, 12))
    ]
    assert holm(p_values) == _slow_holm(p_values, 0.05)


@pytest.mark.parametrize("seed", range(20))
def test_format_p_keeps_the_side_of_0_05(seed):
    rng = random.Random(seed)
    for p in [0.05 + rng.uniform(-1e-3, 1e-3) for _ in range(50)] + [0.05, 0.0499999, 0.0500001]:
        assert (float(format_p(p)) < 0.05) == (p < 0.05), p


@pytest.mark.skipif(not HAS_RANX, reason="ranx is not installed")
@pytest.mark.parametrize("seed", range(5))
def test_same_p_values_as_ranx(seed):
    """ranx (the previous implementation): t-test to 1e-9, randomisation within Monte-Carlo error."""
    from ranx.statistical_tests import fisher_randomization_test, paired_student_t_test

    control, treatment = _scores(300 + seed, 120)
    a, b = np.asarray(control), np.asarray(treatment)
    ranx_t, _ = paired_student_t_test(a, b, 0.05)
    assert paired_test(control, treatment).p_value == pytest.approx(float(ranx_t), abs=1e-9)
    permutations = 10_000
    ranx_fisher, _ = fisher_randomization_test(a, b, permutations, 0.05, 42)
    ours = paired_test(control, treatment, "fisher").p_value
    error = math.sqrt(
        ranx_fisher * (1 - ranx_fisher) / permutations + ours * (1 - ours) / RANDOMISATION_RESAMPLES
    )
    assert abs(ours - float(ranx_fisher)) <= 4 * error + 2e-4, (ours, ranx_fisher)
