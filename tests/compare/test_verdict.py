"""The verdict says only what its own tests support: constructed tables, p on both sides of 0.05."""

from __future__ import annotations

import itertools
import math
import random
import re

import pytest

from plait.compare import CompareResult, SignificanceTest, SystemResult, verdict

N_DOCS = 1000
MODEL = (
    "plait's default model (all-MiniLM-L6-v2 fine-tuned for ColBERT by its packaged delta, 128-d)"
)
LABELS = {
    "bm25": "BM25",
    "biencoder": "Bi-encoder",
    "colbert": "ColBERT exact",
    "plaid-1bit": "PLAID 1-bit",
    "plaid-2bit": "PLAID 2-bit",
    "plaid-4bit": "PLAID 4-bit",
    "pool-2": "ColBERT pool 2",
    "pool-3": "ColBERT pool 3",
    "bm25+colbert": "BM25 top-100 → ColBERT",
    "biencoder+colbert": "Bi-encoder top-100 → ColBERT",
    "cross-encoder": "Bi-encoder top-50 → cross-encoder",
}
BYTES = {
    "bm25": 934,
    "biencoder": 1536,
    "colbert": 80600,
    "plaid-1bit": 3060,
    "plaid-2bit": 5580,
    "plaid-4bit": 10600,
    "pool-2": 40400,
    "pool-3": 27000,
    "bm25+colbert": 934,
    "biencoder+colbert": 1536,
    "cross-encoder": 1536,
}
COMPARATIVE = re.compile(
    r"\b(better|worse|best|beats?|gains?|loses?|helps?|above|below|higher|lower|lowers|raises|"
    r"outperforms?|faster|slower|wins?|cheaply|pays? off)\b",
    re.IGNORECASE,
)


def system(
    name: str, ndcg: float, *, latency: list[float] | None = None, stable: bool = True
) -> SystemResult:
    return SystemResult(
        name=name,
        label=LABELS[name],
        family="baseline" if name in ("bm25", "biencoder") else "colbert",
        index_bytes=BYTES[name] * N_DOCS,
        n_documents=N_DOCS,
        build_s=1.0,
        latency_ms=list(latency if latency is not None else [10.0, 10.0, 10.0, 10.0]),
        metrics={"ndcg@10": ndcg},
        latency_rounds=3,
        latency_stable=stable,
    )


def compare(
    scores: dict[str, float],
    p_values: dict[tuple[str, str], float],
    *,
    default_p: float = 0.5,
    n_queries: int = 300,
    latency: dict[str, list[float]] | None = None,
    environment: dict | None = None,
    **kwargs,
) -> CompareResult:
    """A result whose every pair of systems has a test: ``p_values[(a, b)]`` (either order) or
    ``default_p``; the delta is the difference of the scores, significant when p < 0.05."""
    latency = latency or {}
    systems = [system(name, score, latency=latency.get(name)) for name, score in scores.items()]
    pairwise: dict[str, dict[str, SignificanceTest]] = {s.name: {} for s in systems}
    for a, b in itertools.permutations(scores, 2):
        p = p_values.get((a, b), p_values.get((b, a), default_p))
        pairwise[a][b] = SignificanceTest(scores[a] - scores[b], p, p < 0.05)
    for s in systems:
        if s.name != "biencoder" and "biencoder" in scores:
            s.versus_baseline = {"ndcg@10": pairwise[s.name]["biencoder"]}
    return CompareResult(
        data_name="scifact",
        n_documents=N_DOCS,
        n_queries=n_queries,
        has_qrels=True,
        systems=systems,
        pairwise=pairwise,
        settings={
            "model_name": MODEL,
            "bi_encoder_name": "all-MiniLM-L6-v2",
            "stat_test": "student",
            "candidates": 100,
        },
        environment=environment or {"cpu_count": 2, "load_average_start": [0.5, 0.4, 0.3]},
        **kwargs,
    )


def clauses(sentence: str) -> list[str]:
    return [part for part in sentence.rstrip(".").split("; ") if part]


def cited_p(clause: str) -> list[float]:
    return [float(value) for value in re.findall(r"\bp = ([0-9.]+(?:e-?\d+)?)", clause)]


def check_supported(sentences: list[str]) -> None:
    """Every clause stating a difference cites a p < 0.05; every clause citing p >= 0.05 says
    "no significant difference" and states no difference; no "0.0 points"."""
    for sentence in sentences:
        assert not re.search(r"\b0\.0+ nDCG@10 points", sentence), sentence
        for clause in clauses(sentence):
            ps = cited_p(clause)
            words = COMPARATIVE.findall(clause)
            if words:
                assert ps and all(p < 0.05 for p in ps), (words, clause)
            if any(p >= 0.05 for p in ps):
                assert "no significant difference" in clause, clause
                assert not words, clause
            for side, mine, theirs in re.findall(
                r"significantly (above|below) [^(]*\((\d\.\d+) vs (\d\.\d+)", clause
            ):
                assert (float(mine) > float(theirs)) == (side == "above"), clause


SCIFACT = {  # the SciFact run in docs/compare.md
    "bm25": 0.6863,
    "biencoder": 0.6451,
    "colbert": 0.7233,
    "plaid-1bit": 0.7102,
    "plaid-2bit": 0.7199,
    "plaid-4bit": 0.7226,
    "pool-2": 0.7192,
    "pool-3": 0.7034,
    "bm25+colbert": 0.7268,
    "biencoder+colbert": 0.7151,
}


# ---------------------------------------------------------------------- the cases
def test_a_p_of_0_98_is_no_significant_difference():
    sentences = verdict(
        compare({"biencoder": 0.645, "colbert": 0.6452}, {("colbert", "biencoder"): 0.98})
    )
    headline = sentences[0]
    assert "show no significant difference in nDCG@10 on scifact" in headline
    assert "(0.6452 vs 0.6450, paired t-test over 300 queries, p = 0.98)" in headline
    assert "points" not in headline  # no "within 0.0 points"
    check_supported(sentences)


def test_reranking_with_p_0_59_does_not_help_and_is_not_best():
    """The issue's SciFact case: BM25 top-100 → ColBERT 0.727 vs exact 0.723 at p = 0.59."""
    p_values = {
        ("colbert", "biencoder"): 7.1e-08,
        ("bm25", "biencoder"): 0.021,
        ("bm25+colbert", "colbert"): 0.59,
        ("bm25+colbert", "bm25"): 0.002,
        ("bm25+colbert", "plaid-4bit"): 0.4,
        ("bm25+colbert", "plaid-2bit"): 0.3,
        ("bm25+colbert", "pool-2"): 0.25,
        ("bm25+colbert", "biencoder+colbert"): 0.09,
    }
    sentences = verdict(compare(SCIFACT, p_values, default_p=0.001))
    check_supported(sentences)
    text = " ".join(sentences)
    assert "helps" not in text and "Best" not in text and "even beats" not in text
    rerank = next(s for s in sentences if s.startswith("BM25 top-100 → ColBERT"))
    assert rerank.startswith(
        "BM25 top-100 → ColBERT is significantly above BM25 alone (0.727 vs 0.686, +4.0 nDCG@10 points, "
        "p = 0.002); it shows no significant difference from exact ColBERT search "
        "(0.727 vs 0.723, p = 0.59); it stores only 934 B per document (BM25's index)"
    )
    top = next(s for s in sentences if s.startswith("The top nDCG@10 score"))
    assert top.startswith(
        "The top nDCG@10 score is BM25 top-100 → ColBERT's (0.727), but it shows no significant "
        "difference from 5 other systems: ColBERT exact (0.723, p = 0.59), PLAID 4-bit (0.723, "
        "p = 0.4), PLAID 2-bit (0.720, p = 0.3), ColBERT pool 2 (0.719, p = 0.25) and 1 more; "
        "BM25 top-100 → ColBERT is significantly above the remaining 4 systems (largest p = 0.002)"
    )
    assert "of these, BM25 top-100 → ColBERT" not in top  # the top system is the cheapest itself


@pytest.mark.parametrize(
    ("p", "significant"), [(0.049, True), (0.0499, True), (0.05, False), (0.051, False)]
)
def test_either_side_of_0_05(p, significant):
    sentences = verdict(
        compare({"biencoder": 0.645, "colbert": 0.705}, {("colbert", "biencoder"): p})
    )
    headline = sentences[0]
    check_supported(sentences)
    if significant:
        assert headline.startswith(
            f"ColBERT with {MODEL}, exact search, gains 6.0 nDCG@10 points over the bi-encoder "
            f"all-MiniLM-L6-v2 on scifact (0.705 vs 0.645, paired t-test over 300 queries, p = {p})"
        )
    else:
        assert headline.startswith(
            f"ColBERT with {MODEL}, exact search, and the bi-encoder all-MiniLM-L6-v2 show no "
            "significant difference in nDCG@10 on scifact (0.705 vs 0.645, paired t-test over "
            f"300 queries, p = {p:g})"
        )


def test_p_printed_on_its_own_side_of_0_05():
    sentences = verdict(
        compare({"biencoder": 0.645, "colbert": 0.705}, {("colbert", "biencoder"): 0.04996})
    )
    assert "p = 0.04996)" in sentences[0] and "gains" in sentences[0]


def test_headline_names_the_models_and_limits_its_scope():
    headline = verdict(
        compare({"biencoder": 0.645, "colbert": 0.705}, {("colbert", "biencoder"): 0.001})
    )[0]
    assert MODEL in headline and "all-MiniLM-L6-v2" in headline
    assert headline.endswith(
        "; ColBERT stores 52× as much (80.6 KB vs 1.54 KB per document); this is a result for "
        "these two models on this data, not for late interaction in general."
    )
    assert not headline.startswith("Late interaction")


def test_significant_loss_is_said_with_its_p():
    headline = verdict(
        compare({"biencoder": 0.645, "colbert": 0.600}, {("colbert", "biencoder"): 0.02})
    )[0]
    assert "exact search, loses 4.5 nDCG@10 points against the bi-encoder" in headline
    assert "p = 0.02)" in headline


def test_tiny_significant_difference_is_not_printed_as_zero_points():
    headline = verdict(
        compare({"biencoder": 0.6451, "colbert": 0.6455}, {("colbert", "biencoder"): 0.01})
    )[0]
    assert "gains 0.04 nDCG@10 points" in headline and "(0.6455 vs 0.6451," in headline


# ---------------------------------------------------------------------- the other rules
def test_bm25_against_the_bi_encoder_and_colbert():
    scores = {"bm25": 0.686, "biencoder": 0.645, "colbert": 0.705}
    significant = verdict(
        compare(scores, {("bm25", "biencoder"): 0.03, ("bm25", "colbert"): 0.3}, default_p=0.001)
    )
    bm25 = next(s for s in significant if s.startswith("BM25 "))
    assert bm25 == (
        "BM25 is significantly above the bi-encoder (0.686 vs 0.645, +4.1 nDCG@10 points, "
        "p = 0.03): exact term matching does well on this corpus; it shows no significant "
        "difference from exact ColBERT (0.686 vs 0.705, p = 0.3)."
    )
    tie = verdict(compare(scores, {("bm25", "biencoder"): 0.12}, default_p=0.001))
    bm25 = next(s for s in tie if s.startswith("BM25 "))
    assert bm25.startswith(
        "BM25 shows no significant difference from the bi-encoder (0.686 vs 0.645, p = 0.12); "
        "it is significantly below exact ColBERT (0.686 vs 0.705, −1.9 nDCG@10 points, p = 0.001)"
    )
    check_supported(significant + tie)


def test_compressed_index_against_exact():
    scores = {"biencoder": 0.645, "colbert": 0.745, "plaid-2bit": 0.720, "plaid-1bit": 0.700}
    sentences = verdict(
        compare(
            scores,
            {("plaid-2bit", "colbert"): 0.2, ("plaid-1bit", "colbert"): 0.004},
            default_p=0.001,
        )
    )
    check_supported(sentences)
    assert (
        "PLAID 2-bit (5.58 KB per document, 14× smaller than exact) shows no significant "
        "difference from exact ColBERT (0.720 vs 0.745, p = 0.2); its score keeps 75% of exact "
        "ColBERT's gain over the bi-encoder (p = 0.001 for that gain)." in sentences
    )
    assert (
        "PLAID 1-bit (3.06 KB per document, 26× smaller than exact) is significantly below exact "
        "ColBERT (0.700 vs 0.745, −4.5 nDCG@10 points, p = 0.004); its score keeps 55% of exact "
        "ColBERT's gain over the bi-encoder (p = 0.001 for that gain)." in sentences
    )


def test_no_share_of_a_gain_that_is_not_significant():
    sentences = verdict(
        compare(
            {"biencoder": 0.645, "colbert": 0.655, "pool-2": 0.650},
            {("colbert", "biencoder"): 0.4},
        )
    )
    pool = next(s for s in sentences if s.startswith("Token pooling"))
    assert "gain" not in pool and "p = 0.5" in pool


def test_reranking_against_its_first_stage_both_ways():
    scores = {"bm25": 0.686, "biencoder": 0.645, "colbert": 0.642, "bm25+colbert": 0.666}
    hurts = verdict(compare(scores, {("bm25+colbert", "bm25"): 0.01}))
    assert any(
        s.startswith(
            "BM25 top-100 → ColBERT is significantly below BM25 alone (0.666 vs 0.686, −2.0 nDCG@10 "
            "points, p = 0.01)"
        )
        for s in hurts
    )
    unclear = verdict(compare(scores, {("bm25+colbert", "bm25"): 0.3}))
    assert any(
        s.startswith(
            "BM25 top-100 → ColBERT shows no significant difference from BM25 alone (0.666 vs 0.686, p = 0.3)"
        )
        for s in unclear
    )
    check_supported(hurts + unclear)


def test_reranking_that_beats_exact_colbert_only_when_significant():
    scores = {"biencoder": 0.645, "colbert": 0.745, "biencoder+colbert": 0.760}
    beats = verdict(compare(scores, {("biencoder+colbert", "colbert"): 0.02}, default_p=0.001))
    rerank = next(s for s in beats if s.startswith("Bi-encoder top-100"))
    assert (
        "; it is significantly above exact ColBERT search (0.760 vs 0.745, +1.5 nDCG@10 points, p = 0.02);"
        in rerank
    )
    assert "(the bi-encoder's index)" in rerank
    check_supported(beats)


def test_best_only_when_significantly_above_every_other_system():
    scores = {"bm25": 0.60, "biencoder": 0.645, "colbert": 0.745}
    best = verdict(compare(scores, {}, default_p=0.001))
    assert (
        "Best nDCG@10 here: ColBERT exact (0.745), significantly above every other system (largest p = 0.001)."
        in best
    )
    tied = verdict(compare(scores, {("colbert", "biencoder"): 0.07}, default_p=0.001))
    assert not any("Best" in s for s in tied)
    assert (
        "The top nDCG@10 score is ColBERT exact's (0.745), but it shows no significant "
        "difference from 1 other system: Bi-encoder (0.645, p = 0.07); of these, Bi-encoder "
        "stores the least (1.54 KB per document); ColBERT exact is significantly above the "
        "remaining system (largest p = 0.001)." in tied
    )
    check_supported(best + tied)


def test_latency_sentence_reports_the_spread_and_says_when_it_hides_the_gap():
    scores = {"biencoder": 0.645, "colbert": 0.705}
    clear = verdict(
        compare(
            scores,
            {},
            latency={"colbert": [100, 102, 104, 106, 108], "biencoder": [30, 31, 32, 33, 34]},
        )
    )
    line = next(s for s in clear if s.startswith("Per query"))
    assert line == (
        "Per query, exact ColBERT takes 104 ms (median, IQR 102–106 ms) and the bi-encoder "
        "32 ms (median, IQR 31–33 ms)."
    )
    noisy = verdict(
        compare(
            scores,
            {},
            latency={"colbert": [60, 80, 100, 120, 140], "biencoder": [40, 60, 90, 110, 130]},
        )
    )
    line = next(s for s in noisy if s.startswith("Per query"))
    assert line.endswith(
        "; their p25–p75 ranges overlap, so the spread of the timings covers the gap and this "
        "run does not order the two by speed."
    )
    check_supported(clear + noisy)


def test_unsettled_median_is_said():
    result = compare({"biencoder": 0.645, "colbert": 0.705}, {})
    result.get("colbert").latency_stable = False
    line = next(s for s in verdict(result) if s.startswith("Per query"))
    assert line.endswith("; the medians had not settled when the timing stopped.")


def test_busy_machine_is_said():
    busy = {
        "cpu_count": 2,
        "load_average_start": [5.2, 4.0, 3.0],
        "load_average_latency_start": [1.0, 1, 1],
        "load_average_latency_end": [7.17, 5, 3],
    }
    sentences = verdict(compare({"biencoder": 0.645, "colbert": 0.705}, {}, environment=busy))
    assert (
        "The machine was busy (load average 5.2 at the start and 7.2 when timing ended, on 2 "
        "CPUs): the latencies were measured on a loaded machine." in sentences
    )
    quiet = verdict(compare({"biencoder": 0.645, "colbert": 0.705}, {}))
    assert not any("busy" in s for s in quiet)


def test_multiple_comparisons_sentence_applies_holm():
    scores = {"bm25": 0.60, "biencoder": 0.645, "colbert": 0.745}
    survive = verdict(compare(scores, {}, default_p=0.001))
    assert survive[-1] == (
        "This verdict cites 3 paired tests, each read at the 0.05 level without correction; all "
        "3 differences it calls significant stay significant after a Holm correction for those "
        "3 tests."
    )
    # 0.001 < 0.05/3, then 0.03 >= 0.05/2 stops Holm: 0.03 and 0.04 are lost
    fragile = verdict(
        compare(scores, {("bm25", "biencoder"): 0.03, ("bm25", "colbert"): 0.04}, default_p=0.001)
    )
    assert fragile[-1] == (
        "This verdict cites 3 paired tests, each read at the 0.05 level without correction; 2 of "
        "the 3 differences it calls significant (those with p from 0.03 to 0.04) would not stay "
        "so after a Holm correction for those 3 tests, so read those as tentative."
    )
    lost = verdict(compare(scores, {}, default_p=0.03))
    assert lost[-1].endswith(
        "; none of the 3 differences it calls significant would stay so after a Holm correction "
        "for those 3 tests, so read them all as tentative."
    )
    four = {**scores, "plaid-2bit": 0.74}  # p: 0.001, 0.001, then 0.04 >= 0.05/2 stops, 0.3
    one = verdict(
        compare(four, {("bm25", "colbert"): 0.04, ("plaid-2bit", "colbert"): 0.3}, default_p=0.001)
    )
    assert one[-1].startswith("This verdict cites 4 paired tests")
    assert (
        "; 1 of the 3 differences it calls significant (those with p = 0.04) would not" in one[-1]
    )
    nothing = verdict(compare(scores, {}, default_p=0.3))
    assert not any(s.startswith("This verdict cites") for s in nothing)


def test_small_sample_warning():
    few = verdict(compare({"biencoder": 0.645, "colbert": 0.7}, {}, n_queries=12))
    assert any(
        s.startswith("Only 12 judged queries: the paired tests have little power") for s in few
    )
    many = verdict(compare({"biencoder": 0.645, "colbert": 0.7}, {}))
    assert not any(s.startswith("Only") for s in many)


def test_without_qrels_only_costs_and_agreement():
    result = CompareResult(
        data_name="constructed",
        n_documents=N_DOCS,
        n_queries=300,
        has_qrels=False,
        systems=[
            system("biencoder", math.nan),
            system("colbert", math.nan),
            system("plaid-2bit", math.nan),
        ],
        agreement={"colbert": {"biencoder": 0.42, "colbert": 1.0}, "plaid-2bit": {"colbert": 0.93}},
        settings={"model_name": "my-colbert", "bi_encoder_name": "my-bi"},
    )
    sentences = verdict(result)
    assert sentences[0].startswith("No relevance judgements were found")
    assert sentences[1] == (
        "ColBERT with my-colbert and the bi-encoder my-bi share 42% of their top-10 documents; "
        "ColBERT stores 52× as much per document (80.6 KB vs 1.54 KB)."
    )
    assert (
        sentences[2]
        == "PLAID 2-bit stores 5.58 KB per document and returns 93% of exact ColBERT's top 10."
    )
    assert not any("nDCG" in s or "p = " in s for s in sentences)


@pytest.mark.parametrize("ndcg", [0.5, 0.7])
def test_baselines_only(ndcg):
    sentences = verdict(compare({"bm25": ndcg, "biencoder": 0.645}, {}, default_p=0.01))
    assert sentences[0].startswith("BM25 is significantly ")
    check_supported(sentences)


# ---------------------------------------------------------------------- every claim supported
P_CHOICES = (1e-6, 0.001, 0.01, 0.049, 0.0499, 0.05, 0.0501, 0.051, 0.2, 0.59, 0.98, 1.0)


@pytest.mark.parametrize("seed", range(200))
def test_random_tables_never_claim_what_their_tests_do_not_support(seed):
    """Random scores, random subsets of systems and p-values drawn on both sides of 0.05."""
    rng = random.Random(seed)
    names = ["biencoder"] + [n for n in LABELS if n != "biencoder" and rng.random() < 0.7]
    base_score = rng.uniform(0.2, 0.8)
    scores = {
        n: round(base_score + rng.choice((0, 1e-4, -1e-4, 1)) * rng.uniform(-0.1, 0.1), 4)
        for n in names
    }
    p_values = {pair: rng.choice(P_CHOICES) for pair in itertools.combinations(names, 2)}
    latency = {n: sorted(rng.uniform(1, 200) for _ in range(rng.randint(1, 9))) for n in names}
    result = compare(scores, p_values, latency=latency, n_queries=rng.choice((12, 300)))
    sentences = verdict(result)
    assert sentences
    check_supported(sentences)
    text = " ".join(sentences)
    assert "Late interaction" not in text and "nan" not in text
    for sentence in sentences:  # every p quoted is one of the table's
        for p in cited_p(sentence):
            assert any(math.isclose(p, q, rel_tol=0.05) for q in P_CHOICES), (p, sentence)


CRANFIELD = {  # a corpus where BM25 leads and ColBERT does not beat the bi-encoder
    "bm25": 0.3208,
    "biencoder": 0.2870,
    "colbert": 0.2905,
    "plaid-2bit": 0.2890,
    "plaid-1bit": 0.2801,
    "pool-2": 0.2899,
    "bm25+colbert": 0.3121,
    "biencoder+colbert": 0.2911,
}


def test_cranfield_like_table():
    p_values = {
        ("colbert", "biencoder"): 0.74,
        ("bm25", "biencoder"): 0.034,
        ("bm25", "colbert"): 0.048,
        ("bm25+colbert", "bm25"): 0.21,
        ("bm25+colbert", "colbert"): 0.052,
    }
    sentences = verdict(compare(CRANFIELD, p_values, default_p=0.6, n_queries=225))
    check_supported(sentences)
    assert sentences[0].startswith(f"ColBERT with {MODEL}, exact search, and the bi-encoder")
    assert "p = 0.74)" in sentences[0]
    assert not any("Best" in s for s in sentences)
