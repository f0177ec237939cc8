"""End to end: ``plait compare`` on a tiny BEIR folder, with and without judgements."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from plait.compare import CompareSettings, load_compare_data, run_compare
from plait.evaluation import BeirFormatError, evaluate_retriever, load_beir

SECTIONS = (
    "Verdict",
    "Quality",
    "Costs",
    "Negation probe",
    "Plots",
    "Where ColBERT and the baseline disagree most",
    "Machine and versions",
    "How this was measured",
)


def _invoke(*args: object):
    import plait.cli.main as main

    command = getattr(main, "cli", None)
    if command is None:  # a typer app
        import typer

        command = typer.main.get_command(main.app)
    return CliRunner().invoke(command, [str(a) for a in args])


@pytest.fixture(scope="module")
def report(
    tmp_path_factory, beir_writer, tiny_model_path, tiny_biencoder_path, tiny_cross_encoder_path
):
    """``plait compare`` with every configuration (cross-encoder included) on the tiny folder.

    It takes seconds, so the tests reading it are slow; the inner loop runs ``plait compare``
    end to end on a folder without qrels (``test_corpus_without_qrels_reports_costs_and_agreement``).
    """
    root = tmp_path_factory.mktemp("compare")
    data = beir_writer(root / "tiny-beir")
    out = root / "report"
    result = _invoke(
        "compare",
        "--data",
        data,
        "--model",
        tiny_model_path,
        "--bi-encoder",
        tiny_biencoder_path,
        "--cross-encoder",
        tiny_cross_encoder_path,
        "--out",
        out,
        "--latency-queries",
        2,
        "--rerank-latency-queries",
        1,
        "--json",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    return {
        "data": data,
        "out": out,
        "summary": summary,
        "html": (out / "report.html").read_text(encoding="utf-8"),
        "markdown": (out / "report.md").read_text(encoding="utf-8"),
    }


@pytest.mark.slow
def test_every_configuration_runs(report):
    names = [system["name"] for system in report["summary"]["systems"]]
    assert names == [
        "bm25",
        "biencoder",
        "colbert",
        "plaid-1bit",
        "plaid-2bit",
        "plaid-4bit",
        "pool-2",
        "pool-3",
        "bm25+colbert",
        "biencoder+colbert",
        "cross-encoder",
    ]
    assert report["summary"]["skipped"] == {}
    for system in report["summary"]["systems"]:
        assert set(system["metrics"]) == {"ndcg@10", "mrr@10", "recall@100"}
        assert system["index_bytes"] > 0 and system["build_s"] >= 0
        assert system["latency_p50_ms"] > 0 and system["latency_p95_ms"] >= system["latency_p50_ms"]
        assert system["latency_p25_ms"] <= system["latency_p50_ms"] <= system["latency_p75_ms"]
        rounds = system["latency_rounds"]
        assert 1 <= rounds <= 15 and system["latency_samples"] % rounds == 0
        assert system["latency_samples"] == rounds * (1 if "→" in system["label"] else 2)
        if system["name"] != "biencoder":
            assert set(system["versus_baseline"]) == {"ndcg@10", "mrr@10", "recall@100"}
            assert 0.0 <= system["versus_baseline"]["ndcg@10"]["p_value"] <= 1.0


@pytest.mark.slow
def test_costs_are_consistent(report):
    systems = {s["name"]: s for s in report["summary"]["systems"]}
    exact = systems["colbert"]["bytes_per_document"]
    assert systems["pool-3"]["bytes_per_document"] < systems["pool-2"]["bytes_per_document"] < exact
    assert systems["plaid-1bit"]["bytes_per_document"] < systems["plaid-4bit"]["bytes_per_document"]
    # re-rankers store only their first stage
    assert systems["bm25+colbert"]["index_bytes"] == systems["bm25"]["index_bytes"]
    assert systems["biencoder+colbert"]["index_bytes"] == systems["biencoder"]["index_bytes"]
    for system in systems.values():
        projected = system["projected_bytes"]
        assert projected["100000000"] == pytest.approx(100 * projected["1000000"])
        assert projected["1000000"] == pytest.approx(1e6 * system["bytes_per_document"])


@pytest.mark.slow
def test_every_pair_is_tested_and_the_tests_match_the_per_query_scores(report):
    """The pairwise table the verdict reads: both directions, consistent with the baseline tests."""
    pairwise = report["summary"]["pairwise"]["ndcg@10"]
    systems = {s["name"]: s for s in report["summary"]["systems"]}
    assert set(pairwise) == set(systems)
    for name, row in pairwise.items():
        assert set(row) == set(systems) - {name}
        for other, test in row.items():
            back = pairwise[other][name]
            assert (
                test["delta"] == pytest.approx(-back["delta"])
                and test["p_value"] == back["p_value"]
            )
            mean_gap = systems[name]["metrics"]["ndcg@10"] - systems[other]["metrics"]["ndcg@10"]
            assert test["delta"] == pytest.approx(mean_gap, abs=1e-9)
            assert test["significant"] == (test["p_value"] < 0.05)
    for name, system in systems.items():
        if name != "biencoder":
            assert pairwise[name]["biencoder"]["p_value"] == pytest.approx(
                system["versus_baseline"]["ndcg@10"]["p_value"]
            )


@pytest.mark.slow
def test_report_records_machine_load_and_versions(report):
    import os

    environment = report["summary"]["environment"]
    assert environment["cpu_count"] == os.cpu_count() and environment["torch_threads"] >= 1
    assert environment["platform"] and environment["cpu"] and environment["date"].endswith("UTC")
    for key in ("load_average_start", "load_average_latency_start", "load_average_end"):
        assert len(environment[key]) == 3 and all(value >= 0 for value in environment[key])
    assert set(environment["versions"]) == {
        "python", "plait", "torch", "transformers", "sentence-transformers", "numpy", "scipy"
    }  # fmt: skip
    for page in (report["markdown"], report["html"]):
        assert f"CPUs (os.cpu_count()): {os.cpu_count()}; torch threads:" in page
        assert "Load average (1 / 5 / 15 min): " in page and "at the start" in page
        assert f"numpy {environment['versions']['numpy']}" in page


@pytest.mark.slow
def test_report_states_its_test_and_names_the_models(report):
    text = report["markdown"]
    assert "ranx" not in text
    assert "two-sided paired t-test (scipy.stats.ttest_rel)" in text
    assert "not corrected for multiple comparisons" in text
    assert "ColBERT: tiny" in text and "; bi-encoder: tiny" in text
    headline = report["summary"]["verdict"][0]
    assert headline.startswith("ColBERT with tiny") and "the bi-encoder tiny" in headline
    assert "not for late interaction in general" in headline
    assert not re.search(r"\b0\.0+ nDCG@10 points", " ".join(report["summary"]["verdict"]))


@pytest.mark.slow
def test_html_is_self_contained_with_sections_tables_and_images(report):
    page = report["html"]
    for section in SECTIONS:
        assert f"<h2>{section}</h2>" in page
    assert page.count("<table>") == 3  # quality, costs, negation probe
    images = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert len(images) == 3 and all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', page)
    assert "url(" not in page and "<script" not in page and "<link" not in page
    verdict = report["summary"]["verdict"]
    assert verdict and all(sentence in html.unescape(page) for sentence in verdict)


@pytest.mark.slow
def test_markdown_has_the_same_tables_and_linked_plots(report):
    text = report["markdown"]
    for section in SECTIONS:
        assert f"## {section}" in text
    for system in report["summary"]["systems"]:
        assert f"| {system['label']} |" in text
    for name in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        png = report["out"] / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_numbers_match_the_evaluation_path(report, tiny_model_path, tiny_biencoder_path, tmp_path):
    """BM25, the bi-encoder, exact ColBERT and PLAID (each index built alone, training its own
    centroids, where compare shares one k-means) give the same metrics as evaluate_retriever."""
    from plait import retrieve
    from plait.baselines import BM25, BiEncoder
    from plait.indexes import PLAID, Exact
    from plait.models import ColBERT

    documents, queries, qrels = load_beir(report["data"])
    systems = {s["name"]: s["metrics"] for s in report["summary"]["systems"]}
    model = ColBERT(str(tiny_model_path), device="cpu")
    direct = {
        "bm25": BM25(),
        "biencoder": BiEncoder(str(tiny_biencoder_path), device="cpu"),
        "colbert": retrieve.ColBERT(Exact(index_folder=None), model),
        **{
            f"plaid-{nbits}bit": retrieve.ColBERT(
                PLAID(index_folder=tmp_path, index_name=f"alone-{nbits}", nbits=nbits), model
            )
            for nbits in (1, 2, 4)
        },
    }
    for name, retriever in direct.items():
        expected = evaluate_retriever(retriever, documents, queries, qrels).metrics
        for metric, value in expected.items():
            assert systems[name][metric] == pytest.approx(value, abs=1e-6), (name, metric)


def test_corpus_without_qrels_reports_costs_and_agreement(
    tiny_unjudged, tiny_model_path, tiny_biencoder_path
):
    from plait.compare import render_html, verdict

    data = load_compare_data(tiny_unjudged)
    assert data.qrels is None and len(data.queries) == 7
    settings = CompareSettings(
        model=str(tiny_model_path),
        bi_encoder=str(tiny_biencoder_path),
        systems=("bm25", "biencoder", "colbert", "plaid-2bit"),
        latency_queries=1,
        rerank_latency_queries=0,
    )
    result = run_compare(data, settings)
    assert not result.has_qrels
    assert all(system.metrics == {} and system.versus_baseline == {} for system in result.systems)
    assert result.agreement["colbert"]["colbert"] == 1.0
    assert 0.0 <= result.agreement["plaid-2bit"]["colbert"] <= 1.0
    sentences = verdict(result)
    assert sentences[0].startswith("No relevance judgements")
    page = render_html(result, {})
    assert "<h2>Quality</h2>" not in page and "<h2>Costs</h2>" in page
    assert "<h2>Where ColBERT and the baseline disagree most</h2>" in page


@pytest.mark.slow
def test_unjudged_folder_through_the_cli(
    tmp_path, tiny_unjudged, tiny_model_path, tiny_biencoder_path
):
    out = tmp_path / "out"
    result = _invoke(
        "compare",
        "--data",
        tiny_unjudged,
        "--model",
        tiny_model_path,
        "--bi-encoder",
        tiny_biencoder_path,
        "--systems",
        "bm25,biencoder,colbert",
        "--latency-queries",
        1,
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    assert "No relevance judgements" in result.stdout
    assert (out / "report.html").is_file() and (out / "compare_agreement_bytes.png").is_file()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda f: (f / "corpus.jsonl").unlink(), "missing corpus.jsonl"),
        (
            lambda f: (f / "queries.jsonl").write_text('{"_id": "q1", "text": "ok"}\nnot json\n'),
            "line 2: invalid JSON",
        ),
        (
            lambda f: (f / "qrels" / "test.tsv").write_text("q1\td4\n"),
            "expected 3 tab-separated fields",
        ),
        (lambda f: (f / "qrels" / "test.tsv").rename(f / "qrels" / "dev.tsv"), "no split 'test'"),
        (lambda f: (f / "corpus.jsonl").write_text('{"title": "no id"}\n'), "missing '_id'"),
    ],
)
def test_malformed_folder_fails_clearly(tiny_beir: Path, damage, message):
    damage(tiny_beir)
    with pytest.raises(BeirFormatError, match=re.escape(message)):
        load_compare_data(tiny_beir)
    result = _invoke("compare", "--data", tiny_beir, "--out", tiny_beir / "out")
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_missing_folder_and_bad_options_fail_clearly(tmp_path, tiny_beir):
    result = _invoke("compare", "--data", tmp_path / "nowhere")
    assert result.exit_code == 2 and "not a folder" in result.output
    result = _invoke("compare", "--data", tiny_beir, "--systems", "bm25,colbertt")
    assert result.exit_code == 2 and "unknown system(s) ['colbertt']" in result.output
    result = _invoke("compare", "--data", tiny_beir, "--cross-encoder", tmp_path / "no-model")
    assert result.exit_code == 2 and "--cross-encoder: folder not found" in result.output


@pytest.mark.slow
def test_plaid_rows_state_the_shared_kmeans_in_their_build_time(report):
    kmeans_s = report["summary"]["settings"]["plaid_kmeans_s"]
    encode_s = report["summary"]["settings"]["colbert_encode_s"]
    assert kmeans_s > 0
    for system in report["summary"]["systems"]:
        if system["name"].startswith("plaid-"):
            assert system["build_s"] >= encode_s + kmeans_s
    assert "PLAID rows share one k-means" in report["markdown"]


@pytest.mark.slow  # the test itself: tests/compare/test_stats.py
def test_randomisation_test_end_to_end_and_kept_across_partial_results(
    tiny_beir, tiny_model_path, tiny_biencoder_path
):
    from plait.compare.report import quality_table
    from plait.compare.stats import paired_test

    settings = CompareSettings(
        model=str(tiny_model_path),
        bi_encoder=str(tiny_biencoder_path),
        systems=("bm25", "biencoder", "colbert"),
        latency_queries=1,
        rerank_latency_queries=0,
        latency_budget_s=5.0,
        stat_test="fisher",
    )
    snapshots = []
    result = run_compare(load_compare_data(tiny_beir), settings, on_update=snapshots.append)
    names = [s.name for s in result.systems]
    for a in names:
        for b in names:
            if a == b:
                continue
            ours, theirs = result.get(a).per_query["ndcg@10"], result.get(b).per_query["ndcg@10"]
            expected = paired_test([theirs[q] for q in ours], [ours[q] for q in ours], "fisher")
            assert result.pairwise[a][b].p_value == pytest.approx(expected.p_value)
            assert result.pairwise[a][b].delta == pytest.approx(expected.delta)
    assert result.get("biencoder").versus_baseline == {}
    partial = snapshots[-2]  # bm25 and the bi-encoder
    assert partial.pairwise["bm25"]["biencoder"] == result.pairwise["bm25"]["biencoder"]
    assert "Fisher randomisation test" in quality_table(result).note
