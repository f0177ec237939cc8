"""The plain-language verdict at the top of the report, derived from the measured numbers only.

What it may say is bound by the numbers:

- a sentence says one system scores above or below another only when their paired test on
  nDCG@10 is significant (p < 0.05), and quotes that p; otherwise it says "no significant
  difference" with the p-value. The tests come from the result's tables
  (:meth:`CompareResult.test`), never from comparing point estimates;
- a score difference is printed with as many decimals as it takes not to round to zero;
- latencies are medians with their interquartile range; when the two interquartile ranges
  overlap (the spread covers the gap) the sentence says the run does not order them;
- the first sentence names the two models compared: it is about them, not about late interaction
  in general;
- the negation probe (:mod:`plait.compare.negation`) gets a sentence only when exact ColBERT
  and the baseline put the negated twin above the original at rates at least
  :data:`NEGATION_GAP` apart, with the paired test of their per-pair outcomes;
- the last sentence counts the paired tests the verdict cites and says which of its significant
  differences would not survive a Holm correction for that many tests.
"""

from __future__ import annotations

import math

from plait.compare.results import (
    PRIMARY_METRIC,
    CompareResult,
    SignificanceTest,
    SystemResult,
    format_bytes,
    latency_unresolved,
)
from plait.compare.stats import MAX_P, format_p, holm, stat_test_label

__all__ = ["verdict"]

SMALL_SAMPLE = 30  # fewer judged queries than this: the tests have little power
METRIC = PRIMARY_METRIC.replace("ndcg", "nDCG")
COMPRESSED = (
    ("plaid-2bit", "PLAID 2-bit"),
    ("plaid-1bit", "PLAID 1-bit"),
    ("pool-2", "Token pooling (factor 2)"),
)
RERANKS = ("bm25+colbert", "biencoder+colbert")
N_LISTED = 4  # systems named in "no significant difference from ..." before "and N more"
NEGATION_GAP = (
    0.10  # the negation probe is in the verdict when the twin-above rates differ this much
)


def _score(system: SystemResult) -> float:
    return system.metrics.get(PRIMARY_METRIC, float("nan"))


def _two_scores(first: float, second: float) -> tuple[str, str]:
    """Both scores with 3 decimals, or up to 5 where 3 would print different scores alike."""
    for digits in (3, 4, 5):
        a, b = f"{first:.{digits}f}", f"{second:.{digits}f}"
        if a != b:
            return a, b
    return f"{first:.3f}", f"{second:.3f}"


def _name(system: SystemResult) -> str:
    """``BM25``, ``the bi-encoder``: how a sentence names a first stage or baseline mid-sentence."""
    return f"the {system.label.lower()}" if system.name == "biencoder" else system.label


def _significant(test: SignificanceTest | None) -> bool:
    return test is not None and test.significant


def _points(delta: float) -> str:
    """``|delta|`` in metric points (x100), never printed as ``0.0`` for a non-zero difference.

    >>> _points(0.078), _points(-0.00042), _points(0.0)
    ('7.8 nDCG@10 points', '0.04 nDCG@10 points', '0 nDCG@10 points')
    """
    value = abs(delta) * 100
    if value == 0:
        return f"0 {METRIC} points"
    text = f"{value:.1g}"
    for digits in (1, 2, 3):
        if float(f"{value:.{digits}f}") != 0:
            text = f"{value:.{digits}f}"
            break
    return f"{text} {METRIC} points"


def _ratio(a: float, b: float) -> str:
    if b <= 0:
        return "∞"
    value = a / b
    return f"{value:.0f}×" if value >= 10 else f"{value:.1f}×"


def _ms(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if value >= 10:
        return f"{value:.0f} ms"
    return f"{value:.1f} ms" if value >= 1 else f"{value:.2g} ms"


def _timing(system: SystemResult) -> str:
    """``103 ms (median, IQR 95-110 ms)``."""
    if not system.latency_ms:
        return "n/a (not timed)"
    low, high = system.latency(25), system.latency(75)
    return f"{_ms(system.p50_ms)} (median, IQR {_ms(low).removesuffix(' ms')}–{_ms(high)})"


class _Verdict:
    """Builds the sentences and remembers every paired test they cite."""

    def __init__(self, result: CompareResult) -> None:
        self.result = result
        self.cited: dict[tuple[str, str], SignificanceTest] = {}
        settings = result.settings
        self.test_label = stat_test_label(settings.get("stat_test", "student"))
        self.model_name = settings.get("model_name") or "the ColBERT model"
        self.bi_encoder_name = settings.get("bi_encoder_name") or "the bi-encoder"

    def test(self, system: SystemResult, other: SystemResult) -> SignificanceTest | None:
        found = self.result.test(system.name, other.name)
        if found is not None:
            key = (min(system.name, other.name), max(system.name, other.name))
            self.cited[key] = found
        return found

    def difference(self, system: SystemResult, other: SystemResult, other_text: str) -> str:
        """Return a predicate for ``system``: how it compares with ``other``.

        ``is significantly above <other> (...)``, ``... below ...`` or ``shows no significant
        difference from <other> (..., p = ...)``.
        """
        mine, theirs = _two_scores(_score(system), _score(other))
        test = self.test(system, other)
        if test is None:
            return f"was not tested against {other_text} ({mine} vs {theirs})"
        p = format_p(test.p_value, MAX_P)
        if not test.significant:
            return (
                f"shows no significant difference from {other_text} ({mine} vs {theirs}, p = {p})"
            )
        side = "above" if test.delta > 0 else "below"
        sign = "+" if test.delta > 0 else "−"
        return (
            f"is significantly {side} {other_text} ({mine} vs {theirs}, "
            f"{sign}{_points(test.delta)}, p = {p})"
        )

    # ------------------------------------------------------------------ rules
    def headline(self, colbert: SystemResult, base: SystemResult) -> str:
        """ColBERT against the baseline, naming both models."""
        r = self.result
        base_text = (
            f"the bi-encoder {self.bi_encoder_name}" if base.name == "biencoder" else base.label
        )
        subject = f"ColBERT with {self.model_name}, exact search,"
        mine, theirs = _two_scores(_score(colbert), _score(base))
        test = self.test(colbert, base)
        evidence = f"{self.test_label} over {r.n_queries} queries"
        storage = (
            f"ColBERT stores {_ratio(colbert.bytes_per_document, base.bytes_per_document)} as much "
            f"({format_bytes(colbert.bytes_per_document)} vs "
            f"{format_bytes(base.bytes_per_document)} per document)"
        )
        scope = "this is a result for these two models on this data, not for late interaction in general"
        if test is None:
            claim = (
                f"{subject} scores {mine} and {base_text} {theirs} on {r.data_name} (not tested)"
            )
        elif not test.significant:
            claim = (
                f"{subject} and {base_text} show no significant difference in {METRIC} on "
                f"{r.data_name} ({mine} vs {theirs}, {evidence}, p = {format_p(test.p_value)})"
            )
        else:
            verb = "gains" if test.delta > 0 else "loses"
            link = "over" if test.delta > 0 else "against"
            claim = (
                f"{subject} {verb} {_points(test.delta)} {link} {base_text} on {r.data_name} "
                f"({mine} vs {theirs}, {evidence}, p = {format_p(test.p_value)})"
            )
        return f"{claim}; {storage}; {scope}."

    def bm25(self, bm25: SystemResult, base: SystemResult, colbert: SystemResult | None) -> str:
        sentence = f"BM25 {self.difference(bm25, base, _name(base))}"
        test = self.result.test(bm25.name, base.name)
        if test is not None and test.significant and test.delta > 0:
            sentence += ": exact term matching does well on this corpus"
        if colbert is not None and colbert is not base:
            sentence += f"; it {self.difference(bm25, colbert, 'exact ColBERT')}"
        return sentence + "."

    def compressed(
        self, kind: str, system: SystemResult, colbert: SystemResult, base: SystemResult
    ) -> str:
        size = (
            f"{format_bytes(system.bytes_per_document)} per document, "
            f"{_ratio(colbert.bytes_per_document, system.bytes_per_document)} smaller than exact"
        )
        sentence = f"{kind} ({size}) {self.difference(system, colbert, 'exact ColBERT')}"
        gain = self.test(colbert, base)
        own = _score(system) - _score(base)
        if gain is not None and gain.significant and gain.delta > 0:
            share = 100.0 * own / (_score(colbert) - _score(base))
            if 0 <= share <= 100:  # above 100 %: the clause against exact ColBERT says it all
                sentence += (
                    f"; its score keeps {share:.0f}% of exact ColBERT's gain over {_name(base)} "
                    f"(p = {format_p(gain.p_value)} for that gain)"
                )
            elif share < 0:
                sentence += f"; it {self.difference(system, base, _name(base))}"
        return sentence + "."

    def rerank(self, system: SystemResult, first: SystemResult, colbert: SystemResult) -> str:
        candidates = self.result.settings.get("candidates", 100)
        return (
            f"{system.label} {self.difference(system, first, _name(first) + ' alone')}; "
            f"it {self.difference(system, colbert, 'exact ColBERT search')}; it stores only "
            f"{format_bytes(system.bytes_per_document)} per document ({_name(first)}'s index) "
            f"but takes {_timing(system)} per query to encode its {candidates} candidates."
        )

    def cross_encoder(self, cross: SystemResult, first: SystemResult) -> str:
        top = self.result.settings.get("cross_candidates", 50)
        return (
            f"The cross-encoder re-ranking the bi-encoder's top {top} "
            f"{self.difference(cross, first, 'the bi-encoder alone')}; it takes "
            f"{_timing(cross)} per query."
        )

    def best(self) -> str:
        scored = [s for s in self.result.systems if not math.isnan(_score(s))]
        if len(scored) < 2:
            return ""
        top = max(scored, key=_score)
        tests = {s.name: self.test(top, s) for s in scored if s is not top}
        tied = [s for s in scored if s is not top and not _significant(tests[s.name])]
        if not tied:
            largest = max(t.p_value for t in tests.values() if t is not None)
            return (
                f"Best {METRIC} here: {top.label} ({_score(top):.3f}), significantly above every "
                f"other system (largest p = {format_p(largest)})."
            )
        listed = []
        for s in sorted(tied, key=_score, reverse=True)[:N_LISTED]:
            test = tests[s.name]
            p = "not tested" if test is None else f"p = {format_p(test.p_value)}"
            listed.append(f"{s.label} ({_two_scores(_score(s), _score(top))[0]}, {p})")
        more = len(tied) - len(listed)
        names = ", ".join(listed) + (f" and {more} more" if more > 0 else "")
        count = "1 other system" if len(tied) == 1 else f"{len(tied)} other systems"
        sentence = (
            f"The top {METRIC} score is {top.label}'s ({_score(top):.3f}), but it shows no "
            f"significant difference from {count}: {names}"
        )
        cheapest = min([top, *tied], key=lambda s: s.bytes_per_document)
        if cheapest is not top:
            sentence += (
                f"; of these, {cheapest.label} stores the least "
                f"({format_bytes(cheapest.bytes_per_document)} per document)"
            )
        below = [t for s in scored if s is not top and _significant(t := tests[s.name])]
        if below:
            largest = max(t.p_value for t in below if t is not None)
            rest = "system" if len(below) == 1 else f"{len(below)} systems"
            sentence += (
                f"; {top.label} is significantly above the remaining {rest} "
                f"(largest p = {format_p(largest)})"
            )
        return sentence + "."

    def latency(self, colbert: SystemResult, base: SystemResult) -> str:
        if not colbert.latency_ms or not base.latency_ms:
            return ""
        sentence = (
            f"Per query, exact ColBERT takes {_timing(colbert)} and the {base.label.lower()} "
            f"{_timing(base)}"
        )
        if latency_unresolved(colbert, base):
            sentence += (
                "; their p25–p75 ranges overlap, so the spread of the timings covers the gap and "
                "this run does not order the two by speed"
            )
        if not (colbert.latency_stable and base.latency_stable):
            sentence += "; the medians had not settled when the timing stopped"
        return sentence + "."

    def load(self) -> str:
        env = self.result.environment
        cpus = env.get("cpu_count") or 0
        loads = {
            "at the start": env.get("load_average_start"),
            "when timing began": env.get("load_average_latency_start"),
            "when timing ended": env.get("load_average_latency_end"),
        }
        busy = {when: load[0] for when, load in loads.items() if load and cpus and load[0] > cpus}
        if not busy:
            return ""
        parts = [f"{value:.1f} {when}" for when, value in busy.items()]
        shown = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        return (
            f"The machine was busy (load average {shown}, on {cpus} CPUs): the latencies were "
            "measured on a loaded machine."
        )

    def negation(self) -> str:
        """ColBERT against the baseline on the negation probe, when they differ by a lot."""
        r = self.result
        probe = r.negation
        base = r.baseline
        if probe is None or base == "colbert" or not {"colbert", base} <= set(probe.systems):
            return ""
        ours, theirs = probe.systems["colbert"]["twin_above"], probe.systems[base]["twin_above"]
        if abs(ours - theirs) < NEGATION_GAP:
            return ""
        test = probe.test("colbert", base, r.settings.get("stat_test", "student"))
        if test is None:
            return ""
        self.cited[("negation:colbert", f"negation:{base}")] = test
        base_text = "the bi-encoder" if base == "biencoder" else probe.systems[base]["label"]
        p = format_p(test.p_value, MAX_P)
        if test.significant:
            side = "more" if test.delta > 0 else "less"
            finding = (
                f"exact ColBERT is fooled significantly {side} often ({self.test_label}, p = {p})"
            )
        else:
            finding = f"the difference is not significant ({self.test_label}, p = {p})"
        return (
            f"Negation probe: with a negated twin of one judged-relevant document per query "
            f"added to the corpus ({probe.n_pairs} queries), exact ColBERT ranks the twin above "
            f"the original for {100 * ours:.0f}% of them and {base_text} for "
            f"{100 * theirs:.0f}%; {finding}."
        )

    def multiple_comparisons(self) -> str:
        tests = list(self.cited.values())
        significant = [t for t in tests if t.significant]
        if len(tests) < 2 or not significant:
            return ""
        kept = holm([t.p_value for t in tests], MAX_P)
        lost = sorted(
            t.p_value for t, keep in zip(tests, kept, strict=True) if t.significant and not keep
        )
        n, m = len(tests), len(significant)
        cited = (
            f"This verdict cites {n} paired tests, each read at the 0.05 level without correction"
        )
        if not lost:
            return (
                f"{cited}; all {m} differences it calls significant stay significant after a Holm "
                f"correction for those {n} tests."
            )
        correction = f"a Holm correction for those {n} tests"
        if len(lost) == m:
            return (
                f"{cited}; none of the {m} differences it calls significant would stay so after "
                f"{correction}, so read them all as tentative."
            )
        which = (
            f"p = {format_p(lost[0])}"
            if len(lost) == 1
            else f"p from {format_p(lost[0])} to {format_p(lost[-1])}"
        )
        return (
            f"{cited}; {len(lost)} of the {m} differences it calls significant (those with "
            f"{which}) would not stay so after {correction}, so read those as tentative."
        )


def _quality_sentences(v: _Verdict) -> list[str]:
    result = v.result
    base = result.get(result.baseline)
    colbert = result.get("colbert")
    bm25 = result.get("bm25")
    if base is None:
        return []
    if colbert is base:
        colbert = None
    sentences: list[str] = []
    if colbert is not None:
        sentences.append(v.headline(colbert, base))
    if bm25 is not None and bm25 is not base:
        sentences.append(v.bm25(bm25, base, colbert))
    if colbert is not None:
        for name, kind in COMPRESSED:
            system = result.get(name)
            if system is not None:
                sentences.append(v.compressed(kind, system, colbert, base))
        for name in RERANKS:
            system, first = result.get(name), result.get(name.split("+")[0])
            if system is not None and first is not None:
                sentences.append(v.rerank(system, first, colbert))
    cross, bi = result.get("cross-encoder"), result.get("biencoder")
    if cross is not None and bi is not None:
        sentences.append(v.cross_encoder(cross, bi))
    return sentences


def _no_qrels_sentences(result: CompareResult) -> list[str]:
    sentences = [
        "No relevance judgements were found, so quality is not measured: only costs and "
        "agreement between systems are shown."
    ]
    base, colbert = result.get(result.baseline), result.get("colbert")
    if base is not None and colbert is not None and colbert is not base:
        overlap = result.agreement.get("colbert", {}).get(result.baseline, float("nan"))
        model = result.settings.get("model_name") or "the ColBERT model"
        base_text = (
            f"the bi-encoder {result.settings.get('bi_encoder_name') or ''}".rstrip()
            if base.name == "biencoder"
            else base.label
        )
        sentences.append(
            f"ColBERT with {model} and {base_text} share {100 * overlap:.0f}% of their top-10 "
            f"documents; ColBERT stores {_ratio(colbert.bytes_per_document, base.bytes_per_document)} "
            f"as much per document ({format_bytes(colbert.bytes_per_document)} vs "
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
    v = _Verdict(result)
    base, colbert = result.get(result.baseline), result.get("colbert")
    if not result.has_qrels:
        sentences = _no_qrels_sentences(result)
    else:
        sentences = _quality_sentences(v)
        sentences.append(v.best())
        sentences.append(v.negation())
    if base is not None and colbert is not None and colbert is not base:
        sentences.append(v.latency(colbert, base))
    sentences.append(v.load())
    if result.has_qrels:
        if result.n_queries < SMALL_SAMPLE:
            sentences.append(
                f"Only {result.n_queries} judged queries: the paired tests have little power on so "
                "few, so a 'no significant difference' here says little about whether the systems "
                "differ."
            )
        sentences.append(v.multiple_comparisons())
    return [s for s in sentences if s]
