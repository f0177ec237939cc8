"""The verdict is derived from the numbers: one constructed case per rule."""

from __future__ import annotations

import math

import pytest

from plait.compare import CompareResult, SignificanceTest, SystemResult, verdict

N_DOCS = 1000


def system(
    name: str,
    ndcg: float,
    bytes_per_doc: float,
    *,
    p: float = 0.01,
    base: float = 0.645,
    latency: float = 10.0,
    family: str = "colbert",
    label: str | None = None,
) -> SystemResult:
    """A system whose nDCG@10 is ``ndcg``, tested against a baseline scoring ``base``."""
    labels = {
        "bm25": "BM25",
        "biencoder": "Bi-encoder",
        "colbert": "ColBERT exact",
        "plaid-2bit": "PLAID 2-bit",
        "plaid-1bit": "PLAID 1-bit",
        "pool-2": "ColBERT pool 2",
        "bm25+colbert": "BM25 top-100 → ColBERT",
        "biencoder+colbert": "Bi-encoder top-100 → ColBERT",
        "cross-encoder": "Bi-encoder top-50 → cross-encoder",
    }
    result = SystemResult(
        name=name,
        label=label or labels[name],
        family=family,
        index_bytes=int(bytes_per_doc * N_DOCS),
        n_documents=N_DOCS,
        build_s=1.0,
        latency_ms=[latency, latency],
        metrics={"ndcg@10": ndcg},
    )
    if name != "biencoder":
        result.versus_baseline = {"ndcg@10": SignificanceTest(ndcg - base, p, p < 0.05)}
    return result


def compare(
    *systems: SystemResult, n_queries: int = 300, has_qrels: bool = True, **kwargs
) -> CompareResult:
    return CompareResult(
        data_name="constructed",
        n_documents=N_DOCS,
        n_queries=n_queries,
        has_qrels=has_qrels,
        systems=list(systems),
        **kwargs,
    )


BI = system("biencoder", 0.645, 1536, family="baseline")


def test_late_interaction_gain_with_storage_ratio():
    sentences = verdict(compare(BI, system("colbert", 0.705, 30720, p=0.001)))
    assert sentences[0] == (
        "Late interaction gains 6.0 nDCG@10 points over the bi-encoder here (0.705 vs 0.645; "
        "significant, paired test p = 0.001) at 20× the storage (30.7 KB vs 1.54 KB per document)."
    )


def test_numbers_follow_the_data():
    first = verdict(compare(BI, system("colbert", 0.705, 30720)))[0]
    second = verdict(compare(BI, system("colbert", 0.745, 15360)))[0]
    assert "6.0 nDCG@10 points" in first and "20×" in first
    assert "10.0 nDCG@10 points" in second and "10×" in second and "0.745" in second


def test_colbert_loses():
    sentences = verdict(compare(BI, system("colbert", 0.600, 30720, p=0.02)))
    assert sentences[0].startswith(
        "ColBERT loses here: 0.600 vs the bi-encoder's 0.645 (4.5 nDCG@10 points worse"
    )
    assert "does not pay off" in sentences[0]


def test_statistical_tie_is_not_called_a_gain():
    sentences = verdict(compare(BI, system("colbert", 0.655, 30720, p=0.4)))
    assert sentences[0].startswith("Late interaction does not clearly pay off here")
    assert "not significant, paired test p = 0.4" in sentences[0]


def test_bm25_beating_the_bi_encoder_is_said():
    sentences = verdict(
        compare(
            system("bm25", 0.686, 900, family="baseline", p=0.03),
            BI,
            system("colbert", 0.705, 30720),
        )
    )
    assert any(
        s.startswith(
            "Plain BM25 (0.686) beats the bi-encoder (0.645) by 4.1 nDCG@10 points; significant"
        )
        for s in sentences
    )
    assert not any("even matches or beats ColBERT" in s for s in sentences)
    weaker = verdict(compare(system("bm25", 0.600, 900, family="baseline"), BI))
    assert not any("BM25" in s and "beats" in s for s in weaker)


def test_bm25_beating_colbert_too():
    sentences = verdict(
        compare(system("bm25", 0.72, 900, family="baseline"), BI, system("colbert", 0.70, 30720))
    )
    assert any("BM25 even matches or beats ColBERT (0.700)" in s for s in sentences)


def test_plaid_share_of_the_gain():
    sentences = verdict(
        compare(
            BI, system("colbert", 0.745, 30720), system("plaid-2bit", 0.720, 2048, family="plaid")
        )
    )
    assert (
        "PLAID 2-bit keeps 75% of that gain (0.720) at 2.05 KB per document (15× smaller than exact ColBERT)."
        in sentences
    )


def test_pooling_when_colbert_loses():
    sentences = verdict(
        compare(
            BI, system("colbert", 0.600, 30720), system("pool-2", 0.570, 15360, family="pooling")
        )
    )
    assert (
        "Token pooling (factor 2) scores 0.570 (95% of exact ColBERT) at 15.4 KB per document."
        in sentences
    )


def test_reranking_gives_most_of_the_gain_cheaply():
    sentences = verdict(
        compare(
            system("bm25", 0.60, 900, family="baseline"),
            BI,
            system("colbert", 0.745, 30720),
            system("bm25+colbert", 0.700, 900, family="rerank", latency=800.0),
            system("biencoder+colbert", 0.735, 1536, family="rerank", latency=900.0),
        )
    )
    rerank = next(s for s in sentences if "Re-ranking" in s)
    assert rerank.startswith(
        "Re-ranking gives most of the gain cheaply: Bi-encoder top-100 → ColBERT reaches 0.735 (90% of ColBERT's gain)"
    )
    assert "1.54 KB per document" in rerank and "900 ms per query" in rerank


def test_reranking_recovers_little_or_beats_exact():
    little = verdict(
        compare(
            BI, system("colbert", 0.745, 30720), system("bm25+colbert", 0.675, 900, family="rerank")
        )
    )
    assert "BM25 top-100 → ColBERT recovers only 30% of ColBERT's gain (0.675)." in little
    beats = verdict(
        compare(
            BI,
            system("colbert", 0.745, 30720),
            system("biencoder+colbert", 0.750, 1536, family="rerank"),
        )
    )
    assert any(
        s.startswith(
            "Bi-encoder top-100 → ColBERT even beats exact ColBERT search (0.750 vs 0.745)"
        )
        for s in beats
    )


def test_cross_encoder_and_best_and_cheapest():
    sentences = verdict(
        compare(
            BI,
            system("colbert", 0.705, 30720),
            system("plaid-2bit", 0.700, 2048, family="plaid"),
            system("cross-encoder", 0.690, 1536, family="rerank", latency=2500.0),
        )
    )
    assert (
        "The cross-encoder re-ranking the bi-encoder's top 50 reaches 0.690 at 2500 ms per query (p50)."
        in sentences
    )
    best = next(s for s in sentences if s.startswith("Best"))
    assert best == (
        "Best nDCG@10 here: ColBERT exact (0.705). Within 1 point of it, PLAID 2-bit needs the "
        "least storage (2.05 KB per document, 0.700)."
    )


def test_small_sample_warning():
    assert any(
        s.startswith("Only 12 judged queries")
        for s in verdict(compare(BI, system("colbert", 0.7, 3000), n_queries=12))
    )
    assert not any(s.startswith("Only") for s in verdict(compare(BI, system("colbert", 0.7, 3000))))


def test_without_qrels_only_costs_and_agreement():
    result = compare(
        BI,
        system("colbert", math.nan, 30720),
        system("plaid-2bit", math.nan, 2048),
        has_qrels=False,
        agreement={"colbert": {"biencoder": 0.42, "colbert": 1.0}, "plaid-2bit": {"colbert": 0.93}},
    )
    sentences = verdict(result)
    assert sentences[0].startswith("No relevance judgements were found")
    assert sentences[1] == (
        "ColBERT and the bi-encoder share 42% of their top-10 documents; ColBERT stores "
        "20× more per document (30.7 KB vs 1.54 KB)."
    )
    assert (
        sentences[2]
        == "PLAID 2-bit stores 2.05 KB per document and returns 93% of exact ColBERT's top 10."
    )
    assert not any("nDCG" in s for s in sentences)


@pytest.mark.parametrize("ndcg", [0.5, 0.7])
def test_baselines_only(ndcg):
    sentences = verdict(compare(system("bm25", ndcg, 900, family="baseline"), BI))
    assert sentences[-1].startswith("Best nDCG@10 here: ")


def test_reranking_that_hurts_its_first_stage_is_said():
    sentences = verdict(
        compare(
            system("bm25", 0.686, 934, family="baseline"),
            BI,
            system("colbert", 0.642, 80600),
            system("bm25+colbert", 0.666, 934, family="rerank"),
            system("biencoder+colbert", 0.651, 1536, family="rerank"),
        )
    )
    assert (
        "Re-ranking BM25's top 100 with ColBERT lowers nDCG@10 from 0.686 to 0.666: BM25 alone "
        "is better here." in sentences
    )
    assert not any(s.startswith("Re-ranking Bi-encoder") for s in sentences)
