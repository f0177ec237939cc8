"""The report's figures as PNG bytes (matplotlib's Agg canvas; no pyplot, no global state)."""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from plait.compare.results import PRIMARY_METRIC, CompareResult, SystemResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["figures"]

FAMILY_COLOURS = {
    "baseline": "#7f7f7f",
    "colbert": "#d62728",
    "plaid": "#1f77b4",
    "pooling": "#9467bd",
    "rerank": "#2ca02c",
}


def _figure(width: float = 6.4, height: float = 4.0) -> tuple[Figure, Axes]:
    from plait.extras import require_extra

    require_extra("compare", "plait compare's plots")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot(1, 1, 1)


def _png(figure: Figure) -> bytes:
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _latency_range(system: SystemResult) -> tuple[float, float]:
    """Return the interquartile range of a system's timings (the error bar on latency axes)."""
    return system.latency(25), system.latency(75)


def _scatter(
    systems: Sequence[SystemResult],
    x_of: Callable[[SystemResult], float],
    y_of: Callable[[SystemResult], float],
    xlabel: str,
    ylabel: str,
    title: str,
    x_range: Callable[[SystemResult], tuple[float, float]] | None = None,
    y_range: Callable[[SystemResult], tuple[float, float]] | None = None,
) -> bytes:
    """One point per system; ``x_range``/``y_range`` give ``(low, high)`` error bars."""
    figure, axes = _figure()
    points = [(s, x_of(s), y_of(s)) for s in systems]
    points = [(s, x, y) for s, x, y in points if x > 0 and math.isfinite(x) and math.isfinite(y)]
    for system, x, y in points:
        colour = FAMILY_COLOURS.get(system.family, "black")
        for bounds, horizontal in ((x_range, True), (y_range, False)):
            if bounds is None:
                continue
            low, high = bounds(system)
            if math.isfinite(low) and math.isfinite(high) and high > low:
                if horizontal:
                    axes.plot([low, high], [y, y], color=colour, linewidth=1.2, alpha=0.6)
                else:
                    axes.plot([x, x], [low, high], color=colour, linewidth=1.2, alpha=0.6)
        axes.scatter([x], [y], color=colour, s=40, zorder=3)
        axes.annotate(system.label, (x, y), textcoords="offset points", xytext=(5, 4), fontsize=7)
    if points:
        axes.set_xscale("log")
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title, fontsize=10)
    axes.grid(True, which="both", alpha=0.3)
    return _png(figure)


def _per_query_difference(result: CompareResult) -> bytes | None:
    colbert, base = result.get("colbert"), result.get(result.baseline)
    if colbert is None or base is None or colbert is base or not result.has_qrels:
        return None
    ours, theirs = colbert.per_query.get(PRIMARY_METRIC, {}), base.per_query.get(PRIMARY_METRIC, {})
    deltas = sorted(ours[q] - theirs[q] for q in ours if q in theirs)
    figure, axes = _figure(6.4, 3.4)
    colours = ["#2ca02c" if d > 0 else "#d62728" if d < 0 else "#bbbbbb" for d in deltas]
    axes.bar(range(len(deltas)), deltas, width=1.0, color=colours)
    axes.axhline(0.0, color="black", linewidth=0.8)
    wins, losses = sum(d > 0 for d in deltas), sum(d < 0 for d in deltas)
    axes.set_title(
        f"Per-query nDCG@10: ColBERT minus {base.label.lower()} "
        f"({wins} better, {losses} worse, {len(deltas) - wins - losses} tied)",
        fontsize=10,
    )
    axes.set_xlabel("queries, sorted by difference")
    axes.set_ylabel("nDCG@10 difference")
    return _png(figure)


def figures(result: CompareResult) -> dict[str, bytes]:
    """``{file stem: PNG bytes}`` for the plots that apply to ``result``."""
    systems = result.systems
    plots: dict[str, bytes] = {}
    if result.has_qrels:
        quality = lambda s: s.metrics.get(PRIMARY_METRIC, float("nan"))  # noqa: E731
        plots["compare_quality_bytes"] = _scatter(
            systems,
            lambda s: s.bytes_per_document,
            quality,
            "stored bytes per document (log)",
            "nDCG@10",
            "Quality vs storage",
        )
        plots["compare_quality_latency"] = _scatter(
            systems,
            lambda s: s.p50_ms,
            quality,
            "query latency, ms (log): median, bar = p25–p75",
            "nDCG@10",
            "Quality vs latency",
            x_range=_latency_range,
        )
        difference = _per_query_difference(result)
        if difference is not None:
            plots["compare_per_query"] = difference
    else:
        agreement = lambda s: result.agreement.get(s.name, {}).get(result.reference, float("nan"))  # noqa: E731
        plots["compare_agreement_bytes"] = _scatter(
            systems,
            lambda s: s.bytes_per_document,
            agreement,
            "stored bytes per document (log)",
            f"top-10 overlap with {result.reference}",
            "Agreement vs storage",
        )
        plots["compare_latency_bytes"] = _scatter(
            systems,
            lambda s: s.bytes_per_document,
            lambda s: s.p50_ms,
            "stored bytes per document (log)",
            "query latency, ms: median, bar = p25–p75",
            "Latency vs storage",
            y_range=_latency_range,
        )
    return plots
