"""Query latency: a warm-up, then rounds over the timed queries until each system's median settles.

Every system is timed in the same loop, round-robin: each round times every system whose median has
not settled yet on each of its queries once (one query per call, as a user would send it), with the
systems' order rotated from round to round. A change of machine load during the timing then shifts
every row alike instead of only the row that happened to be timed at that moment.

Warm-up: up to ``warmup_calls`` untimed calls per system, fewer when they already took
``warmup_s`` (one call of a re-rank pipeline can take seconds).

A system's median has settled when, after at least ``min_rounds`` rounds, the last round moved the
median of all its timings by at most ``tolerance`` (relative) or ``absolute_ms``. A system leaves
the loop when its median has settled, after ``max_rounds``, or when its timed calls have used its
share of ``budget_s``: the budget left by the systems that already left, divided among those still
timed (every system gets at least one round). A slow system thus cannot starve the fast ones of
rounds. A system that left before its median settled is reported as not stable.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LatencyPlan", "Timings", "settled", "time_interleaved"]

MIN_ROUNDS = 3
MAX_ROUNDS = 15
TOLERANCE = 0.02
ABSOLUTE_TOLERANCE_MS = 0.05
WARMUP_CALLS = 3
WARMUP_S = 1.0
BUDGET_S = 180.0


@dataclass
class LatencyPlan:
    """What to time: ``search([text])`` for each of ``texts``."""

    search: Callable[[list[str]], Any]
    texts: Sequence[str]


@dataclass
class Timings:
    """Milliseconds per call, the rounds run, and whether the median settled."""

    samples: list[float] = field(default_factory=list)
    rounds: int = 0
    stable: bool = False

    @property
    def seconds(self) -> float:
        """Time spent in timed calls."""
        return sum(self.samples) / 1000.0


def settled(
    before: float,
    after: float,
    tolerance: float = TOLERANCE,
    absolute_ms: float = ABSOLUTE_TOLERANCE_MS,
) -> bool:
    """Whether a median moving from ``before`` to ``after`` has settled.

    >>> settled(100.0, 101.5), settled(100.0, 103.0), settled(0.30, 0.34)
    (True, False, True)
    """
    return abs(after - before) <= max(tolerance * abs(after), absolute_ms)


def time_interleaved(
    plans: Mapping[str, LatencyPlan],
    *,
    budget_s: float = BUDGET_S,
    min_rounds: int = MIN_ROUNDS,
    max_rounds: int = MAX_ROUNDS,
    tolerance: float = TOLERANCE,
    absolute_ms: float = ABSOLUTE_TOLERANCE_MS,
    warmup_calls: int = WARMUP_CALLS,
    warmup_s: float = WARMUP_S,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, Timings]:
    """Time every plan as the module docstring describes; ``{name: Timings}`` in ``plans`` order."""
    for plan in plans.values():
        started = clock()
        for text in list(plan.texts)[:warmup_calls]:
            plan.search([text])
            if clock() - started >= warmup_s:
                break
    timings = {name: Timings() for name in plans}
    active = [name for name, plan in plans.items() if plan.texts]
    for round_index in range(max(max_rounds, 1)):
        if not active:
            break
        shift = round_index % len(active)
        for name in active[shift:] + active[:shift]:
            record = timings[name]
            before = statistics.median(record.samples) if record.samples else None
            for text in plans[name].texts:
                start = clock()
                plans[name].search([text])
                record.samples.append(1000.0 * (clock() - start))
            record.rounds += 1
            if record.rounds >= max(min_rounds, 2) and before is not None:
                record.stable = settled(
                    before, statistics.median(record.samples), tolerance, absolute_ms
                )
        active = [name for name in active if not timings[name].stable]
        left = sum(record.seconds for name, record in timings.items() if name not in active)
        share = (budget_s - left) / max(len(active), 1)
        active = [name for name in active if timings[name].seconds < share]
    return timings
