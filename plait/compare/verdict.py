"""The plain-language verdict at the top of the report, derived from the measured numbers only.

Each rule looks at one question (does late interaction pay off here, does BM25 beat the
bi-encoder, how much does compression keep, do re-rankers get the gain cheaply, ...) and writes a
sentence with the numbers in it, or nothing when its systems did not run.
"""

from __future__ import annotations

import math

from plait.compare.results import PRIMARY_METRIC, CompareResult, SystemResult, format_bytes

__all__ = ["verdict"]

MOST_OF_THE_GAIN = 0.8  # a configuration keeping this share of ColBERT's gain keeps "most" of it
SMALL_SAMPLE = 30  # fewer judged queries than this: differences are fragile


def _points(delta: float) -> str:
    return f"{abs(delta) * 100:.1f} {PRIMARY_METRIC.replace('ndcg', 'nDCG')} points"


def _score(system: SystemResult) -> float:
    return system.metrics.get(PRIMARY_METRIC, float("nan"))


def _evidence(system: SystemResult) -> str:
    test = system.versus_baseline.get(PRIMARY_METRIC)
    if test is None:
        return ""
    verdict = "significant" if test.significant else "not significant"
    return f"; {verdict}, paired test p = {test.p_value:.3g}"


def _ratio(a: float, b: float) -> str:
    if b <= 0:
        return "∞"
    value = a / b
    return f"{value:.0f}×" if value >= 10 else f"{value:.1f}×"


def _ms(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def _late_interaction(colbert: SystemResult, base: SystemResult) -> str:
    delta = _score(colbert) - _score(base)
    storage = _ratio(colbert.bytes_per_document, base.bytes_per_document)
    sizes = f"{format_bytes(colbert.bytes_per_document)} vs {format_bytes(base.bytes_per_document)} per document"
    test = colbert.versus_baseline.get(PRIMARY_METRIC)
    if test is not None and not test.significant and abs(delta) < 0.02:
        return (
            f"Late interaction does not clearly pay off here: ColBERT ({_score(colbert):.3f}) and "
            f"the {base.label.lower()} ({_score(base):.3f}) are within {_points(delta)}"
            f"{_evidence(colbert)}, and ColBERT stores {storage} more ({sizes})."
        )
    if delta > 0:
        return (
            f"Late interaction gains {_points(delta)} over the {base.label.lower()} here "
            f"({_score(colbert):.3f} vs {_score(base):.3f}{_evidence(colbert)}) at {storage} "
            f"the storage ({sizes})."
        )
    return (
        f"ColBERT loses here: {_score(colbert):.3f} vs the {base.label.lower()}'s "
        f"{_score(base):.3f} ({_points(delta)} worse{_evidence(colbert)}) while storing "
        f"{storage} more ({sizes}); on this data late interaction does not pay off."
    )


def _bm25(bm25: SystemResult, base: SystemResult, colbert: SystemResult | None) -> str:
    delta = _score(bm25) - _score(base)
    if delta <= 0:
        return ""
    sentence = (
        f"Plain BM25 ({_score(bm25):.3f}) beats the {base.label.lower()} ({_score(base):.3f}) by "
        f"{_points(delta)}{_evidence(bm25)}: this corpus rewards exact term matching"
    )
    if colbert is not None and _score(bm25) >= _score(colbert):
        sentence += f", and BM25 even matches or beats ColBERT ({_score(colbert):.3f})"
    return sentence + "."


def _compressed(kind: str, system: SystemResult, colbert: SystemResult, base: SystemResult) -> str:
    gain = _score(colbert) - _score(base)
    size = f"{format_bytes(system.bytes_per_document)} per document"
    smaller = _ratio(colbert.bytes_per_document, system.bytes_per_document)
    if gain > 0:
        kept = 100.0 * (_score(system) - _score(base)) / gain
        return (
            f"{kind} keeps {kept:.0f}% of that gain ({_score(system):.3f}) at {size} "
            f"({smaller} smaller than exact ColBERT)."
        )
    kept = 100.0 * _score(system) / _score(colbert) if _score(colbert) > 0 else float("nan")
    return f"{kind} scores {_score(system):.3f} ({kept:.0f}% of exact ColBERT) at {size}."


def _rerank(system: SystemResult, colbert: SystemResult, base: SystemResult) -> str:
    gain = _score(colbert) - _score(base)
    own = _score(system) - _score(base)
    cost = (
        f"storing only {format_bytes(system.bytes_per_document)} per document, but paying "
        f"{_ms(system.p50_ms)} per query (p50) to encode the candidates"
    )
    if gain <= 0:
        if own > 0:
            return f"{system.label} still helps: {_score(system):.3f} ({_points(own)} over the {base.label.lower()}), {cost}."
        return ""
    share = own / gain
    if _score(system) > _score(colbert):
        return f"{system.label} even beats exact ColBERT search ({_score(system):.3f} vs {_score(colbert):.3f}), {cost}."
    if share >= MOST_OF_THE_GAIN:
        return f"Re-ranking gives most of the gain cheaply: {system.label} reaches {_score(system):.3f} ({100 * share:.0f}% of ColBERT's gain), {cost}."
    return (
        f"{system.label} recovers only {100 * share:.0f}% of ColBERT's gain ({_score(system):.3f})."
    )


def _worse_than_first_stage(result: CompareResult, system: SystemResult) -> str:
    first = result.get(system.name.split("+")[0])
    if first is None or _score(system) >= _score(first):
        return ""
    return (
        f"Re-ranking {first.label}'s top {system.label.split('top-')[-1].split()[0]} with ColBERT "
        f"lowers nDCG@10 from {_score(first):.3f} to {_score(system):.3f}: {first.label} alone "
        "is better here."
    )


def _quality_sentences(result: CompareResult) -> list[str]:
    base = result.get(result.baseline)
    colbert = result.get("colbert")
    bm25 = result.get("bm25")
    sentences: list[str] = []
    if base is None:
        return sentences
    if colbert is not None and colbert is not base:
        sentences.append(_late_interaction(colbert, base))
    if bm25 is not None and bm25 is not base:
        sentences.append(_bm25(bm25, base, colbert))
    if colbert is not None and colbert is not base:
        for name, kind in (
            ("plaid-2bit", "PLAID 2-bit"),
            ("plaid-1bit", "PLAID 1-bit"),
            ("pool-2", "Token pooling (factor 2)"),
        ):
            system = result.get(name)
            if system is not None:
                sentences.append(_compressed(kind, system, colbert, base))
        reranks = [s for s in result.systems if s.name in ("bm25+colbert", "biencoder+colbert")]
        if reranks:
            best = max(reranks, key=_score)
            sentences.append(_rerank(best, colbert, base))
        sentences += [_worse_than_first_stage(result, system) for system in reranks]
    cross = result.get("cross-encoder")
    if cross is not None:
        sentences.append(
            f"The cross-encoder re-ranking the bi-encoder's top 50 reaches {_score(cross):.3f} "
            f"at {_ms(cross.p50_ms)} per query (p50)."
        )
    return [s for s in sentences if s]


def _best_sentence(result: CompareResult) -> str:
    scored = [s for s in result.systems if not math.isnan(_score(s))]
    if not scored:
        return ""
    best = max(scored, key=_score)
    near = [s for s in scored if _score(s) >= _score(best) - 0.01]
    cheapest = min(near, key=lambda s: s.bytes_per_document)
    sentence = (
        f"Best {PRIMARY_METRIC.replace('ndcg', 'nDCG')} here: {best.label} ({_score(best):.3f})."
    )
    if cheapest is not best:
        sentence += (
            f" Within 1 point of it, {cheapest.label} needs the least storage "
            f"({format_bytes(cheapest.bytes_per_document)} per document, {_score(cheapest):.3f})."
        )
    return sentence


def _no_qrels_sentences(result: CompareResult) -> list[str]:
    sentences = [
        "No relevance judgements were found, so quality is not measured: only costs and "
        "agreement between systems are shown."
    ]
    base, colbert = result.get(result.baseline), result.get("colbert")
    if base is not None and colbert is not None and colbert is not base:
        overlap = result.agreement.get("colbert", {}).get(result.baseline, float("nan"))
        sentences.append(
            f"ColBERT and the {base.label.lower()} share {100 * overlap:.0f}% of their top-10 "
            f"documents; ColBERT stores {_ratio(colbert.bytes_per_document, base.bytes_per_document)} "
            f"more per document ({format_bytes(colbert.bytes_per_document)} vs "
            f"{format_bytes(base.bytes_per_document)})."
        )
        plaid = result.get("plaid-2bit")
        if plaid is not None:
            same = result.agreement.get("plaid-2bit", {}).get("colbert", float("nan"))
            sentences.append(
                f"PLAID 2-bit stores {format_bytes(plaid.bytes_per_document)} per document and "
                f"returns {100 * same:.0f}% of exact ColBERT's top 10."
            )
    return sentences


def verdict(result: CompareResult) -> list[str]:
    """Plain-language findings, most important first, every number taken from ``result``."""
    if not result.has_qrels:
        return _no_qrels_sentences(result)
    sentences = _quality_sentences(result)
    best = _best_sentence(result)
    if best:
        sentences.append(best)
    base, colbert = result.get(result.baseline), result.get("colbert")
    if base is not None and colbert is not None and colbert is not base:
        sentences.append(
            f"Per query, exact ColBERT takes {_ms(colbert.p50_ms)} (p50) against "
            f"{_ms(base.p50_ms)} for the {base.label.lower()}."
        )
    if result.n_queries < SMALL_SAMPLE:
        sentences.append(
            f"Only {result.n_queries} judged queries: differences this small a sample shows "
            "can easily flip on another sample."
        )
    return sentences
