"""The negation probe of plait compare: twins of judged-relevant documents, per system, in the report."""

from __future__ import annotations

import dataclasses
import html
import json

import numpy as np
import pytest

from plait.compare import CompareSettings, load_compare_data, run_compare, verdict, write_report
from plait.compare.negation import NegationProbe, probe_pairs
from plait.training.negation import is_polarity_twin


@pytest.fixture(scope="module")
def probed(
    tmp_path_factory, beir_writer, tiny_model_path, tiny_biencoder_path, tiny_cross_encoder_path
):
    data = load_compare_data(beir_writer(tmp_path_factory.mktemp("probe") / "tiny-beir"))
    settings = CompareSettings(
        model=str(tiny_model_path),
        bi_encoder=str(tiny_biencoder_path),
        cross_encoder=str(tiny_cross_encoder_path),
        systems=("bm25", "biencoder", "colbert", "cross-encoder"),
        latency_queries=1,
        rerank_latency_queries=0,
        latency_budget_s=1.0,
    )
    result = run_compare(data, settings)
    out = tmp_path_factory.mktemp("probe-report")
    write_report(result, out)
    return data, result, out


def test_every_probed_system_scores_the_twins(probed, tiny_model):
    from plait.scores import colbert_scores

    data, result, _ = probed
    probe = result.negation
    assert probe is not None and probe.n_pairs >= 4
    assert list(probe.systems) == ["bm25", "biencoder", "colbert", "cross-encoder"]
    assert probe.n_documents == len(data.documents) + probe.n_pairs
    for name, system in probe.systems.items():
        assert 0 <= system["twin_above"] <= 1 and len(probe.outcomes[name]) == probe.n_pairs
        if name != "cross-encoder":
            assert 1 <= system["original_rank"] <= probe.n_documents
    pairs, _ = probe_pairs(
        data.queries, {d["id"]: d["text"] for d in data.documents}, data.qrels, 200
    )
    assert len(pairs) == probe.n_pairs
    for pair in pairs:
        assert (
            is_polarity_twin(pair.document, pair.twin)
            and data.qrels[pair.query_id][pair.document_id] > 0
        )
    example = probe.examples[0]  # ColBERT's scores are MaxSim of the pair
    pair = next(p for p in pairs if p.query_id == example["query_id"])
    q = tiny_model.encode([pair.query], is_query=True)
    d = tiny_model.encode([pair.document, pair.twin], is_query=False)
    expected = [float(colbert_scores(q, [doc])[0, 0]) for doc in d]
    got = example["systems"]["colbert"]
    assert [got["original_score"], got["twin_score"]] == pytest.approx(expected, abs=1e-4)
    credit = np.where(expected[1] > expected[0], 1.0, 0.0 if expected[1] < expected[0] else 0.5)
    assert got["twin_above"] == credit


def test_the_section_is_in_the_html_and_markdown_reports(probed):
    _, result, out = probed
    page = (out / "report.html").read_text(encoding="utf-8")
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "<h2>Negation probe</h2>" in page and "## Negation probe" in text
    for system in result.negation.systems.values():
        assert (
            f"<td>{html.escape(system['label'])}</td><td>{100 * system['twin_above']:.0f}%" in page
        )
        assert f"| {system['label']} | {100 * system['twin_above']:.0f}% |" in text
    example = result.negation.examples[0]
    assert f"twin: {example['after']}" in text and html.escape(example["after"]) in page
    summary = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert summary["negation"]["n_pairs"] == result.negation.n_pairs


def test_the_probe_can_be_turned_off(probed, tiny_model_path, tiny_biencoder_path):
    data, _, _ = probed
    settings = CompareSettings(
        model=str(tiny_model_path),
        bi_encoder=str(tiny_biencoder_path),
        systems=("bm25", "colbert"),
        latency_queries=0,
        negation_probes=0,
    )
    result = run_compare(data, settings)
    assert result.negation is None and result.to_dict()["negation"] is None
    from plait.compare import render_markdown

    assert "Negation probe" not in render_markdown(result, {})
    with pytest.raises(ValueError, match="negation_probes must be >= 0"):
        CompareSettings(negation_probes=-1).check()


def _with_rates(probe: NegationProbe, colbert: list[float], base: list[float]) -> NegationProbe:
    systems = {name: dict(s) for name, s in probe.systems.items()}
    systems["colbert"]["twin_above"] = float(np.mean(colbert))
    systems["biencoder"]["twin_above"] = float(np.mean(base))
    outcomes = {**probe.outcomes, "colbert": colbert, "biencoder": base}
    return dataclasses.replace(probe, n_pairs=len(colbert), systems=systems, outcomes=outcomes)


def test_the_verdict_mentions_a_large_difference_only(probed):
    _, result, _ = probed
    fooled = [1.0] * 30 + [0.0] * 10
    large = dataclasses.replace(
        result, negation=_with_rates(result.negation, fooled, [0.0] * 36 + [1.0] * 4)
    )
    sentence = next(s for s in verdict(large) if s.startswith("Negation probe"))
    assert "exact ColBERT ranks the twin above the original for 75% of them" in sentence
    assert "the bi-encoder for 10%" in sentence and "significantly more often" in sentence
    small = dataclasses.replace(
        result, negation=_with_rates(result.negation, fooled, [1.0] * 28 + [0.0] * 12)
    )
    assert not any(s.startswith("Negation probe") for s in verdict(small))
