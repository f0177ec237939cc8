"""``plait demo``: an offline end-to-end run on the corpus shipped with plait."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from plait.cli._common import echo_json, load_model, snippet, timer

NEGATION_QUERY = "patients with cardiac conditions"
NEGATION_PAIR = ("med-02", "med-01")  # "has a long history of cardiac disease" / "has no history"


def _negation_line(results: dict[str, list[dict[str, Any]]]) -> str | None:
    hits = results.get(NEGATION_QUERY)
    if hits is None:
        return None
    ranks = {hit["id"]: rank for rank, hit in enumerate(hits, start=1)}
    positive, negated = (ranks.get(doc_id) for doc_id in NEGATION_PAIR)
    where = lambda rank: f"#{rank}" if rank else "not in the top k"  # noqa: E731
    passed = positive is not None and (negated is None or positive < negated)
    verdict = (
        "PASSED: the affirmed record ranks above the negated one"
        if passed
        else "FAILED: this model ranks the negated record above the affirmed one"
        if positive and negated
        else "FAILED: the affirmed record is not in the top k"
    )
    return (
        f"negation check for {NEGATION_QUERY!r}: {NEGATION_PAIR[0]} (has cardiac disease) is "
        f"{where(positive)}, {NEGATION_PAIR[1]} (has NO cardiac disease) is {where(negated)}. "
        f"{verdict}"
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
    disease"). Prints the top results per query and the time spent encoding, indexing and searching.
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
    negation = _negation_line(results)
    if as_json:
        echo_json(
            {
                "documents": len(texts),
                "results": results,
                "timings_s": timings,
                "negation": negation,
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
    if negation:
        typer.echo(negation + "\n")
    per_query = 1000 * timings["search"] / len(queries)
    typer.echo(
        "timings: "
        + ", ".join(f"{name} {seconds:.2f}s" for name, seconds in timings.items())
        + f" ({per_query:.0f} ms per query)"
    )
    if keep_index is not None:
        typer.echo(f"index kept in {keep_index / 'demo'}")
