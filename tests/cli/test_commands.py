"""encode / index / search / evaluate / demo with the tiny model, checked against brute-force MaxSim."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from plait.data import DEMO_QUERIES, load_demo_corpus


def maxsim_ranking(model, queries: list[str], texts: list[str], ids: list[str], k: int):
    """Reference: exhaustive MaxSim with numpy, best first."""
    q_emb = model.encode(queries, is_query=True)
    d_emb = model.encode(texts, is_query=False)
    rankings = []
    for q in q_emb:
        scores = np.array([(q @ d.T).max(axis=1).sum() for d in d_emb])
        order = np.argsort(-scores, kind="stable")[:k]
        rankings.append([(ids[i], float(scores[i])) for i in order])
    return rankings


def test_encode_npz_and_npy(run, tiny_model, tiny_model_path: Path, tmp_path: Path) -> None:
    texts = ["a short text", "a somewhat longer text about cardiac disease"]
    out = tmp_path / "docs.npz"
    result = run("encode", *texts, "--model", tiny_model_path, "-o", out)
    assert result.exit_code == 0, result.output
    saved = np.load(out, allow_pickle=False)
    parts = np.split(saved["embeddings"], saved["lengths"].cumsum()[:-1])
    expected = tiny_model.encode(texts, is_query=False)
    assert list(saved["ids"]) == ["0", "1"]
    for got, want in zip(parts, expected, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)
    queries = tmp_path / "q.npy"
    assert (
        run("encode", *texts, "--query", "--model", tiny_model_path, "-o", queries).exit_code == 0
    )
    np.testing.assert_allclose(
        np.load(queries), np.stack(tiny_model.encode(texts, is_query=True)), atol=1e-5
    )
    result = run("encode", *texts, "--model", tiny_model_path, "-o", tmp_path / "d.npy")
    assert result.exit_code == 2 and "write .npz instead" in result.output
    shapes = run("encode", "one", "--model", tiny_model_path)
    assert shapes.exit_code == 0 and shapes.stdout.startswith("0\t(")


def test_encode_bad_input(run, tiny_model_path: Path, tmp_path: Path) -> None:
    result = run("encode", "--model", tiny_model_path)
    assert result.exit_code == 2 and "nothing to encode" in result.output
    result = run("encode", "x", "--model", tmp_path / "missing-model")
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1].startswith("error: model folder not found")
    assert "Traceback" not in result.output


def test_index_then_search_matches_brute_force(
    run, tiny_model, tiny_model_path: Path, tmp_path: Path
) -> None:
    docs = [
        "the cat sat on the mat",
        "cardiac disease in older patients",
        "bread and yeast",
        "rings of Saturn",
    ]
    source = tmp_path / "docs.txt"
    source.write_text("\n".join(docs[:2]) + "\n\n" + "\n".join(docs[2:]) + "\n")
    index = tmp_path / "idx"  # .txt ids are line numbers; the blank line 3 is skipped
    result = run("index", source, index, "--exact", "--model", tiny_model_path)
    assert result.exit_code == 0, result.output
    assert json.loads((index / "cli.json").read_text())["kind"] == "exact"
    result = run("search", index, "heart patients", "baking", "-k", "3", "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    expected = maxsim_ranking(
        tiny_model, ["heart patients", "baking"], docs, ["1", "2", "4", "5"], 3
    )
    for entry, want in zip(found, expected, strict=True):
        assert [hit["id"] for hit in entry["results"]] == [doc_id for doc_id, _ in want]
        assert [hit["score"] for hit in entry["results"]] == pytest.approx(
            [s for _, s in want], abs=1e-3
        )
        assert (
            entry["results"][0]["text"]
            == dict(zip(["1", "2", "4", "5"], docs, strict=True))[want[0][0]]
        )
    text = run("search", index, "heart patients", "-k", "1")
    assert text.exit_code == 0 and "query: heart patients" in text.stdout
    again = run("index", source, index, "--exact", "--model", tiny_model_path)
    assert again.exit_code == 2 and "--override" in again.output
    assert (
        run("index", source, index, "--exact", "--override", "--model", tiny_model_path).exit_code
        == 0
    )


def test_index_jsonl_with_plain_ids_and_errors(run, tiny_model_path: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"id": "x1", "text": "alpha"}\n{"id": "x2", "title": "T", "text": "beta"}\n')
    index = tmp_path / "j"
    assert run("index", corpus, index, "--exact", "--model", tiny_model_path).exit_code == 0
    from plait.cli.folder import open_cli_index

    _, _, texts = open_cli_index(index)
    assert dict(texts) == {"x1": "alpha", "x2": "T beta"}
    result = run("index", tmp_path / "nope.txt", tmp_path / "k", "--exact")
    assert result.exit_code == 2 and "error: no such file or folder" in result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "ok"}\n{"id": \n')
    result = run("index", bad, tmp_path / "b", "--exact", "--model", tiny_model_path)
    assert result.exit_code == 2 and "line 2: invalid JSON" in result.output
    result = run("search", tmp_path / "no-index", "q")
    assert result.exit_code == 2 and "no index folder" in result.output


def test_corrupt_index_is_a_runtime_error(run, tiny_model_path: Path, tmp_path: Path) -> None:
    source = tmp_path / "docs.txt"
    source.write_text("one document\nanother document\n")
    index = tmp_path / "idx"
    assert run("index", source, index, "--exact", "--model", tiny_model_path).exit_code == 0
    current = index / json.loads((index / "cli.json").read_text())["index"]
    data = max(current.glob("*.npy"), key=lambda p: p.stat().st_size)
    data.write_bytes(data.read_bytes()[:-8])  # truncate a data file
    result = run("search", index, "document")
    assert result.exit_code == 1, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("error: CorruptIndexError") and data.name in last


def test_evaluate_bm25_and_colbert(run, tiny_model, tiny_model_path: Path, beir_dir: Path) -> None:
    result = run("evaluate", "--data", beir_dir, "--retriever", "bm25", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["n_queries"] == 2 and report["n_documents"] == 4
    assert report["metrics"]["mrr@10"] == pytest.approx(1.0)  # each query's words pick its document
    result = run(
        "evaluate",
        "--data",
        beir_dir,
        "--model",
        tiny_model_path,
        "--metrics",
        "mrr@10,recall@2",
        "--json",
    )
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)["metrics"]
    texts = [
        "Heart The patient has a history of cardiac disease.",
        "The patient has no history of cardiac disease.",
        "Bread needs flour, water, salt and yeast.",
        "Saturn has bright rings of ice.",
    ]
    ranking = maxsim_ranking(
        tiny_model,
        ["heart cardiac disease history", "baking bread"],
        texts,
        ["d1", "d2", "d3", "d4"],
        4,
    )
    relevant = ["d1", "d3"]
    ranks = [[doc for doc, _ in r].index(rel) + 1 for r, rel in zip(ranking, relevant, strict=True)]
    assert got["mrr@10"] == pytest.approx(sum(1 / r for r in ranks) / 2, abs=1e-6)
    assert got["recall@2"] == pytest.approx(sum(r <= 2 for r in ranks) / 2)
    text = run("evaluate", "--data", beir_dir, "--retriever", "bm25")
    assert "ndcg@10" in text.stdout and "ms/query" in text.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--split", "dev"], "no split 'dev'"),
        (["--retriever", "tfidf"], "'tfidf' is not one of 'colbert', 'bm25', 'biencoder'"),
        (["--index", "hnsw"], "'hnsw' is not one of 'exact', 'plaid'"),
        (["--metrics", "ndcg@10,precison@5", "--retriever", "bm25"], "unknown metric 'precison@5'"),
    ],
)
def test_evaluate_bad_input(run, beir_dir: Path, args: list[str], message: str) -> None:
    result = run("evaluate", "--data", beir_dir, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_evaluate_malformed_folder(run, beir_dir: Path) -> None:
    (beir_dir / "corpus.jsonl").unlink()
    result = run("evaluate", "--data", beir_dir, "--retriever", "bm25")
    assert result.exit_code == 2
    assert (
        result.output.strip().splitlines()[-1].startswith("error: ")
        and "missing corpus.jsonl" in result.output
    )


def test_demo_runs_offline_and_matches_brute_force(run, tiny_model, tiny_model_path: Path) -> None:
    result = run("demo", "--model", tiny_model_path, "--k", "2", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    documents = load_demo_corpus()
    assert report["documents"] == len(documents) >= 60
    assert list(report["results"]) == list(DEMO_QUERIES)
    assert {"load model", "encode documents", "build index", "search"} <= set(report["timings_s"])
    assert report["negation"].startswith("negation check")
    assert report["negation"] == report["negation_checks"][0]["line"]
    first = DEMO_QUERIES[0]
    expected = maxsim_ranking(
        tiny_model, [first], [d["text"] for d in documents], [d["id"] for d in documents], 2
    )[0]
    assert [hit["id"] for hit in report["results"][first]] == [doc_id for doc_id, _ in expected]


@pytest.mark.slow  # test_demo_runs_offline_and_matches_brute_force stays in the inner loop
def test_demo_text_output_and_own_query(run, tiny_model_path: Path, tmp_path: Path) -> None:
    result = run(
        "demo",
        "--model",
        tiny_model_path,
        "-q",
        "rings around planets",
        "--keep-index",
        tmp_path / "keep",
    )
    assert result.exit_code == 0, result.output
    assert "query: rings around planets" in result.stdout
    assert "timings: load model" in result.stdout and "encode documents" in result.stdout
    assert (tmp_path / "keep" / "demo" / "manifest.json").is_file()


def test_demo_corpus_has_the_negation_pair() -> None:
    texts = {d["id"]: d["text"] for d in load_demo_corpus()}
    assert "no history of cardiac disease" in texts["med-01"]
    assert "history of cardiac disease" in texts["med-02"] and " no " not in texts["med-02"]
    assert len(set(texts.values())) == len(texts)


def test_plaid_index_search_and_evaluate(
    run, tiny_model_path: Path, tmp_path: Path, beir_dir: Path
) -> None:
    docs = [f"document number {i} about topic {i % 5} and words {i * 7}" for i in range(40)]
    source = tmp_path / "docs.txt"
    source.write_text("\n".join(docs) + "\n")
    index = tmp_path / "plaid"
    result = run("index", source, index, "--model", tiny_model_path)  # PLAID is the default
    assert result.exit_code == 0, result.output
    assert json.loads((index / "cli.json").read_text())["kind"] == "plaid"
    found = json.loads(run("search", index, "topic 3", "-k", "5", "--json").stdout)
    hits = found[0]["results"]
    assert len(hits) == 5 and len({h["id"] for h in hits}) == 5
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    result = run(
        "evaluate", "--data", beir_dir, "--model", tiny_model_path, "--index", "plaid", "--json"
    )
    assert result.exit_code == 0, result.output
    assert 0.0 <= json.loads(result.stdout)["metrics"]["ndcg@10"] <= 1.0


def test_demo_negation_line_says_plainly_whether_the_check_passed() -> None:
    from plait.cli.demo import _negation_line

    answer, other = ("med-02", "has cardiac disease"), ("med-01", "has NO cardiac disease")
    passed = _negation_line("q", (*answer, 2.0), (*other, 1.0))
    failed = _negation_line("q", (*answer, 1.0), (*other, 2.0))
    tied = _negation_line("q", (*answer, 1.0), (*other, 1.0))
    assert "PASSED: the record that has cardiac disease scores above" in passed
    assert "FAILED" not in passed and "scores 2.00, med-01 (has NO cardiac disease) 1.00" in passed
    assert "FAILED: this model scores the record that has NO cardiac disease above" in failed
    assert "FAILED: this model scores the two records the same" in tied


def test_demo_negation_checks_are_exact_maxsim_through_the_evaluator(tiny_model) -> None:
    from plait.cli.demo import NEGATION_CHECKS, negation_checks
    from plait.scores import colbert_scores

    texts = {d["id"]: d["text"] for d in load_demo_corpus()}
    checks = negation_checks(tiny_model, texts, list(DEMO_QUERIES))
    assert [c["query"] for c in checks] == [c[0] for c in NEGATION_CHECKS]
    for check in checks:
        q = tiny_model.encode([check["query"]], is_query=True)
        d = tiny_model.encode([texts[check["answer"]], texts[check["other"]]], is_query=False)
        expected = [float(colbert_scores(q, [doc])[0, 0]) for doc in d]
        assert [check["answer_score"], check["other_score"]] == pytest.approx(expected, abs=1e-4)
        assert check["passed"] == (expected[0] > expected[1])
        assert ("PASSED" in check["line"]) == check["passed"]
    assert negation_checks(tiny_model, texts, ["another query"]) == []
