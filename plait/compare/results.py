"""What ``plait compare`` measures, per configuration and overall (plain dataclasses, JSON-ready)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from plait.compare.negation import NegationProbe

__all__ = [
    "PRIMARY_METRIC",
    "CompareResult",
    "SignificanceTest",
    "SystemResult",
    "format_bytes",
    "latency_unresolved",
]

PRIMARY_METRIC = "ndcg@10"
PROJECTIONS = (1_000_000, 100_000_000)


@dataclass(frozen=True)
class SignificanceTest:
    """A system's mean minus the baseline's on one metric, with a paired test's p-value."""

    delta: float
    p_value: float
    significant: bool


@dataclass
class SystemResult:
    """One configuration's quality, costs and run.

    ``metrics`` is empty when the data has no judgements. ``index_bytes`` is what the system stores
    to answer queries; ``build_s`` includes encoding the corpus; ``latency_ms`` holds every timing of
    one query searched alone (query encoding included), ``latency_rounds`` passes over the timed
    queries after a warm-up; ``latency_stable`` says whether the median had settled (see
    :mod:`plait.compare.latency`).
    """

    name: str
    label: str
    family: str
    index_bytes: int
    n_documents: int
    build_s: float
    latency_ms: list[float]
    metrics: dict[str, float] = field(default_factory=dict)
    per_query: dict[str, dict[str, float]] = field(default_factory=dict, repr=False)
    versus_baseline: dict[str, SignificanceTest] = field(default_factory=dict)
    run: dict[str, list[dict[str, Any]]] = field(default_factory=dict, repr=False)
    note: str = ""
    latency_rounds: int = 0
    latency_stable: bool = False

    @property
    def bytes_per_document(self) -> float:
        """Stored bytes divided by the number of documents."""
        return self.index_bytes / max(self.n_documents, 1)

    def projected_bytes(self, n_documents: int) -> float:
        """Linear projection of the index size to ``n_documents`` (fixed parts scale too)."""
        return self.bytes_per_document * n_documents

    def latency(self, quantile: float) -> float:
        """Latency quantile in milliseconds (``nan`` when nothing was timed)."""
        if not self.latency_ms:
            return float("nan")
        return float(np.percentile(np.asarray(self.latency_ms), quantile))

    @property
    def p50_ms(self) -> float:
        """Median latency in milliseconds (``nan`` when nothing was timed)."""
        return self.latency(50)

    @property
    def p95_ms(self) -> float:
        """95th-percentile latency in milliseconds (``nan`` when nothing was timed)."""
        return self.latency(95)

    @property
    def spread_ms(self) -> float:
        """Interquartile range of the timings (p75 - p25), ``nan`` when nothing was timed."""
        return self.latency(75) - self.latency(25)

    def to_dict(self) -> dict[str, Any]:
        """JSON summary (without the run and per-query values)."""
        return {
            "name": self.name,
            "label": self.label,
            "family": self.family,
            "metrics": dict(self.metrics),
            "index_bytes": self.index_bytes,
            "bytes_per_document": self.bytes_per_document,
            "projected_bytes": {str(n): self.projected_bytes(n) for n in PROJECTIONS},
            "build_s": self.build_s,
            "latency_p50_ms": self.p50_ms,
            "latency_p95_ms": self.p95_ms,
            "latency_p25_ms": self.latency(25),
            "latency_p75_ms": self.latency(75),
            "latency_samples": len(self.latency_ms),
            "latency_rounds": self.latency_rounds,
            "latency_stable": self.latency_stable,
            "versus_baseline": {
                metric: {"delta": t.delta, "p_value": t.p_value, "significant": t.significant}
                for metric, t in self.versus_baseline.items()
            },
            "note": self.note,
        }


@dataclass
class CompareResult:
    """Every configuration run on one data set, plus what could not run and why.

    ``negation`` is the negation probe (:mod:`plait.compare.negation`): ``None`` without
    judgements, when no relevant document had a negated twin, or when it was turned off.
    """

    data_name: str
    n_documents: int
    n_queries: int
    has_qrels: bool
    systems: list[SystemResult]
    baseline: str = "biencoder"
    reference: str = "colbert"
    skipped: dict[str, str] = field(default_factory=dict)
    agreement: dict[str, dict[str, float]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    queries: dict[str, str] = field(default_factory=dict, repr=False)
    documents: dict[str, str] = field(default_factory=dict, repr=False)
    qrels: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)
    total_s: float = 0.0
    pairwise: dict[str, dict[str, SignificanceTest]] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    negation: NegationProbe | None = None

    def get(self, name: str) -> SystemResult | None:
        """Return the system called ``name``, or ``None``."""
        return next((system for system in self.systems if system.name == name), None)

    def test(self, name: str, other: str) -> SignificanceTest | None:
        """The paired test of ``name`` minus ``other`` on :data:`PRIMARY_METRIC`, or ``None``.

        Looked up in ``pairwise`` (either direction, the sign flipped as needed), else in the
        systems' tests against the baseline.
        """
        direct = self.pairwise.get(name, {}).get(other)
        if direct is not None:
            return direct
        reverse = self.pairwise.get(other, {}).get(name)
        if reverse is None and other == self.baseline:
            system = self.get(name)
            return None if system is None else system.versus_baseline.get(PRIMARY_METRIC)
        if reverse is None and name == self.baseline:
            system = self.get(other)
            reverse = None if system is None else system.versus_baseline.get(PRIMARY_METRIC)
        if reverse is None:
            return None
        return SignificanceTest(-reverse.delta, reverse.p_value, reverse.significant)

    def to_dict(self) -> dict[str, Any]:
        """JSON summary."""
        return {
            "data": self.data_name,
            "n_documents": self.n_documents,
            "n_queries": self.n_queries,
            "has_qrels": self.has_qrels,
            "baseline": self.baseline,
            "reference": self.reference,
            "systems": [system.to_dict() for system in self.systems],
            "skipped": dict(self.skipped),
            "agreement": self.agreement,
            "settings": self.settings,
            "environment": self.environment,
            "pairwise": {
                PRIMARY_METRIC: {
                    name: {
                        other: {
                            "delta": t.delta,
                            "p_value": t.p_value,
                            "significant": t.significant,
                        }
                        for other, t in row.items()
                    }
                    for name, row in self.pairwise.items()
                }
            },
            "total_s": self.total_s,
            "negation": None if self.negation is None else self.negation.to_dict(),
        }


def latency_unresolved(system: SystemResult, other: SystemResult) -> bool:
    """Whether the timings' spread covers the gap between the two medians.

    True when the two interquartile ranges (p25-p75, the middle half of each row's timings)
    overlap: the run then does not tell which of the two answers a query faster. Also true when
    either was not timed.
    """
    if not system.latency_ms or not other.latency_ms:
        return True
    low = max(system.latency(25), other.latency(25))
    high = min(system.latency(75), other.latency(75))
    return low <= high


def format_bytes(value: float) -> str:
    """Human-readable bytes: ``1.5 KB``, ``3.2 GB`` (powers of 1000, three significant digits).

    >>> format_bytes(1536), format_bytes(2.5e11), format_bytes(999)
    ('1.54 KB', '250 GB', '999 B')
    """
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if abs(value) >= scale:
            scaled = value / scale
            return f"{scaled:.3g} {unit}" if scaled < 100 else f"{scaled:.0f} {unit}"
    return f"{value:.0f} B"
