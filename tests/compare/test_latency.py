"""Latency timing: warm-up, interleaved rounds, a settled median, the budget; spread vs gap."""

from __future__ import annotations

import pytest

from plait.compare import SystemResult
from plait.compare.latency import LatencyPlan, time_interleaved
from plait.compare.results import latency_unresolved


class FakeClock:
    """A clock that only moves when a fake search runs."""

    def __init__(self) -> None:
        self.now = 0.0
        self.calls: list[tuple[str, str]] = []

    def __call__(self) -> float:
        return self.now

    def search(self, name: str, durations_ms):
        """A search taking ``durations_ms(call number)`` milliseconds per call."""
        count = [0]

        def run(texts: list[str]) -> None:
            self.calls.append((name, texts[0]))
            self.now += durations_ms(count[0]) / 1000.0
            count[0] += 1

        return run


def test_warm_up_calls_are_not_timed_and_a_constant_median_settles_after_min_rounds():
    clock = FakeClock()
    slow_first = clock.search("a", lambda i: 500.0 if i < 3 else 10.0)  # 3 slow warm-up calls
    timings = time_interleaved(
        {"a": LatencyPlan(slow_first, ["q1", "q2", "q3", "q4"])},
        clock=clock,
        min_rounds=3,
        warmup_calls=3,
        warmup_s=10.0,
    )
    record = timings["a"]
    assert record.samples == pytest.approx([10.0] * 12) and record.rounds == 3 and record.stable
    assert clock.calls[:3] == [("a", "q1"), ("a", "q2"), ("a", "q3")]  # the warm-up


def test_a_drifting_median_is_not_stable_and_stops_at_max_rounds():
    clock = FakeClock()
    drifting = clock.search("a", lambda i: 10.0 * 1.1 ** (i // 2))  # +10% per round of 2
    timings = time_interleaved(
        {"a": LatencyPlan(drifting, ["q1", "q2"])},
        clock=clock,
        warmup_calls=0,
        max_rounds=6,
    )
    assert timings["a"].rounds == 6 and not timings["a"].stable
    assert len(timings["a"].samples) == 12


def test_systems_are_interleaved_with_a_rotating_order_and_stop_once_settled():
    clock = FakeClock()
    plans = {
        "steady": LatencyPlan(clock.search("steady", lambda i: 5.0), ["x"]),
        "drift": LatencyPlan(clock.search("drift", lambda i: 5.0 + 2.0 * i), ["x"]),
    }
    timings = time_interleaved(plans, clock=clock, warmup_calls=0, min_rounds=3, max_rounds=5)
    order = [name for name, _ in clock.calls]
    # rounds 1-3 time both, the order rotating; "steady" settled after round 3, "drift" goes on
    assert order == ["steady", "drift", "drift", "steady", "steady", "drift", "drift", "drift"]
    assert timings["steady"].rounds == 3 and timings["steady"].stable
    assert timings["drift"].rounds == 5 and not timings["drift"].stable


def test_a_system_leaves_once_its_share_of_the_budget_is_spent():
    clock = FakeClock()
    slow = clock.search("slow", lambda i: 4000.0)  # 4 s per call
    timings = time_interleaved(
        {"slow": LatencyPlan(slow, ["a", "b"])}, clock=clock, budget_s=5.0, warmup_calls=3
    )
    # one warm-up call (it took >= 1 s), round 1 (8 s) runs although it passes the budget; no more
    assert [text for _, text in clock.calls] == ["a", "a", "b"]
    assert timings["slow"].rounds == 1 and timings["slow"].samples == pytest.approx([4000.0] * 2)
    assert not timings["slow"].stable
    nothing = time_interleaved({"slow": LatencyPlan(slow, [])}, clock=clock)
    assert nothing["slow"].samples == [] and nothing["slow"].rounds == 0


def test_a_slow_system_does_not_starve_the_fast_ones():
    """Budget 30 s for two systems: the slow one (12 s a round) leaves once its 15 s share is
    spent; the fast one (never settling) keeps its rounds until the round limit."""
    clock = FakeClock()
    plans = {
        "slow": LatencyPlan(clock.search("slow", lambda i: 6000.0), ["a", "b"]),
        "fast": LatencyPlan(clock.search("fast", lambda i: 10.0 * 1.1**i), ["a"]),
    }
    timings = time_interleaved(plans, clock=clock, budget_s=30.0, warmup_calls=0, max_rounds=15)
    assert timings["slow"].rounds == 2 and not timings["slow"].stable  # 12 s < 15 s, 24 s >= 15 s
    assert timings["fast"].rounds == 15 and not timings["fast"].stable
    assert [name for name, _ in clock.calls].count("slow") == 4


def _system(samples: list[float]) -> SystemResult:
    return SystemResult("x", "X", "colbert", 1, 1, 0.0, samples)


def test_spread_against_gap():
    tight_a, tight_b = _system([100, 101, 102, 103, 104]), _system([50, 51, 52, 53, 54])
    assert not latency_unresolved(tight_a, tight_b)  # 101-103 and 51-53 apart
    wide = _system([20, 60, 100, 140, 180])  # p25-p75 60-140
    assert latency_unresolved(wide, tight_a) and latency_unresolved(tight_a, wide)  # covers 101-103
    assert not latency_unresolved(wide, _system([0.1, 0.1, 0.1]))  # a very wide row, far away
    touching = _system([103, 103, 103])  # p25 = p75 = 103: meets tight_a's p75
    assert latency_unresolved(tight_a, touching)
    assert latency_unresolved(tight_a, _system([]))  # untimed: nothing can be said
    assert tight_a.spread_ms == 2.0 and wide.spread_ms == 80.0
