"""``plait demo``: an offline end-to-end run on the corpus shipped with plait."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from plait.cli._common import echo_json, load_model, snippet, timer

NEGATION_QUERY = "patients with cardiac conditions"
#: (query, the record that answers it, its negated counterpart, what each says) for the demo's two
#: negation queries: the query asks for the affirmed record, then for the negated one.
NEGATION_CHECKS: tuple[tuple[str, str, str, str, str], ...] = (
    (NEGATION_QUERY, "med-02", "med-01", "has cardiac disease", "has NO cardiac disease"),
    (
        "patient without any history of heart disease",
        "med-01",
        "med-02",
        "has NO cardiac disease",
        "has cardiac disease",
    ),
)


def negation_checks(
    colbert: Any, texts: dict[str, str], queries: list[str]
) -> list[dict[str, Any]]:
    """Score the demo's negation pairs with :func:`plait.evaluation.evaluate_negation`.

    Exact MaxSim of each negation query (those among ``queries``) against the record that
    answers it and its negated counterpart, whatever index the demo searched.
    """
    from plait.evaluation import NegationTriple, evaluate_negation

    checks = [c for c in NEGATION_CHECKS if c[0] in queries]
    if not checks:
        return []
    triples = [
        NegationTriple(f"demo-{i}", q, texts[a], texts[b]) for i, (q, a, b, *_) in enumerate(checks)
    ]
    result = evaluate_negation(colbert, triples)
    out = []
    for (query, answer, other, says, other_says), record in zip(
        checks, result.per_triple, strict=True
    ):
        out.append(
            {
                "query": query,
                "answer": answer,
                "other": other,
                "answer_score": record["positive_score"],
                "other_score": record["negative_score"],
                "passed": record["credit"] == 1.0,
                "line": _negation_line(
                    query,
                    (answer, says, record["positive_score"]),
                    (other, other_says, record["negative_score"]),
                ),
            }
        )
    return out


def _negation_line(
    query: str, answer: tuple[str, str, float], other: tuple[str, str, float]
) -> str:
    """One plain line: both scores, and PASSED only when the answer scores strictly higher."""
    (answer_id, says, score), (other_id, other_says, other_score) = answer, other
    if score > other_score:
        verdict = f"PASSED: the record that {says} scores above the one that {other_says}"
    elif score == other_score:
        verdict = "FAILED: this model scores the two records the same"
    else:
        verdict = (
            f"FAILED: this model scores the record that {other_says} above the one that {says}"
        )
    return (
        f"negation check for {query!r}: {answer_id} ({says}) scores {score:.2f}, {other_id} "
        f"({other_says}) {other_score:.2f}. {verdict}"
    )


def _build(
    colbert: Any, folder: Path, plaid: bool, timings: dict[str, float]
) -> tuple[Any, dict[str, str]]:
    from plait.cli._common import open_index, progress_enabled
    from plait.data import load_demo_corpus

    documents = load_demo_corpus()
    ids, texts = [d["id"] for d in documents], [d["text"] for d in documents]
    with timer(timings, "encode documents"):
        embeddings = colbert.encode(
            texts, is_query=False, batch_size=32, show_progress_bar=progress_enabled()
        )
    with timer(timings, "build index"):
        index = open_index("plaid" if plaid else "exact", folder, "demo", override=True)
        index.add_documents(ids, embeddings)
    return index, dict(zip(ids, texts, strict=True))


def command(
    query: Annotated[
        list[str] | None,
        typer.Option(
            "--query",
            "-q",
            help="Your own query (repeatable); replaces the examples.",
        ),
    ] = None,
    k: Annotated[int, typer.Option("--k", "-k", min=1, help="Results shown per query.")] = 3,
    model: Annotated[
        str | None,
        typer.Option(help="Model folder (default: offline MiniLM ColBERT)."),
    ] = None,
    plaid: Annotated[
        bool, typer.Option("--plaid", help="Use the PLAID index instead of the exact one.")
    ] = False,
    keep_index: Annotated[
        Path | None, typer.Option(help="Write the index to this folder instead of a temporary one.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print results and timings as JSON.")
    ] = False,
    device: Annotated[str | None, typer.Option(help="torch device, e.g. cpu or cuda.")] = None,
) -> None:
    """Run plait end to end, offline: encode the shipped demo corpus, index it, answer queries.

    The corpus (plait/data/demo_corpus.jsonl) holds short documents on varied topics, including
    medical records that differ only by negation ("the patient has no history of cardiac
    disease"). Prints the top results per query and the time spent encoding, indexing and searching,
    and a negation check: the exact MaxSim scores of the two cardiology records for the two
    negation queries (plait.evaluation.evaluate_negation), PASSED only where the record that
    answers the query scores above its negated counterpart. `plait evaluate --negation` measures
    the same on a 320-triple set.
    """
    from plait.data import DEMO_QUERIES

    queries = list(query) if query else list(DEMO_QUERIES)
    timings: dict[str, float] = {}
    with timer(timings, "load model"):
        colbert = load_model(model, device)
    with tempfile.TemporaryDirectory(prefix="plait-demo-") as tmp:
        folder = keep_index if keep_index is not None else Path(tmp)
        index, texts = _build(colbert, folder, plaid, timings)
        with timer(timings, "search"):
            embeddings = colbert.encode(queries, is_query=True, show_progress_bar=False)
            found = index.search(embeddings, k=k)
    results = {q: r.to_dicts() for q, r in zip(queries, found, strict=True)}
    checks = negation_checks(colbert, texts, queries)
    if as_json:
        echo_json(
            {
                "documents": len(texts),
                "results": results,
                "timings_s": timings,
                "negation": checks[0]["line"] if checks else None,
                "negation_checks": checks,
            }
        )
        return
    typer.echo(
        f"plait demo: {len(texts)} documents, {'PLAID' if plaid else 'exact'} index, model {model or 'default (offline MiniLM ColBERT)'}\n"
    )
    for text, hits in results.items():
        typer.echo(f"query: {text}")
        for rank, hit in enumerate(hits, start=1):
            typer.echo(
                f"  {rank}. [{hit['id']}] {hit['score']:.2f}  {snippet(texts[hit['id']], 80)}"
            )
        typer.echo("")
    for check in checks:
        typer.echo(check["line"])
    if checks:
        typer.echo("")
    per_query = 1000 * timings["search"] / len(queries)
    typer.echo(
        "timings: "
        + ", ".join(f"{name} {seconds:.2f}s" for name, seconds in timings.items())
        + f" ({per_query:.0f} ms per query)"
    )
    if keep_index is not None:
        typer.echo(f"index kept in {keep_index / 'demo'}")
