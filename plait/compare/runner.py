"""Run every configuration on one data set through plait's single evaluation path.

Quality comes from :func:`plait.evaluation.evaluate_retriever` (the code behind ``plait evaluate``),
so the numbers match it. The corpus is encoded by ColBERT once; exact, PLAID (1/2/4 bits), pooled
(re-pooled from the same raw token embeddings) and re-rank configurations reuse those embeddings.
The three PLAID indexes share one k-means: centroids do not depend on ``nbits`` (same sample, same
seed), so training them once and learning only each residual codec gives exactly the indexes that
building each alone would (tested); each PLAID row's build time still counts the k-means, as if it
were built alone. BM25 and the bi-encoder are indexed once and reused as first stages of the
re-rank pipelines.

Latency is timed after every configuration has run, all of them in one interleaved loop
(:mod:`plait.compare.latency`). Every pair of systems gets a paired test on nDCG@10
(``CompareResult.pairwise``), the verdict's evidence; the machine, its load at the start and the end
and the package versions are recorded in ``CompareResult.environment``.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from plait.compare.cache import DocumentMemo, EncodingCache, encoder_fingerprint
from plait.compare.data import CompareData
from plait.compare.environment import describe_machine, load_average
from plait.compare.latency import BUDGET_S, LatencyPlan, time_interleaved
from plait.compare.negation import NegationProbe, negation_probe
from plait.compare.results import PRIMARY_METRIC, CompareResult, SignificanceTest, SystemResult
from plait.compare.stats import (
    RANDOMISATION_RESAMPLES,
    RANDOMISATION_SEED,
    overlap_at_k,
    paired_test,
    significance_against,
)
from plait.compare.systems import (
    ALL_SYSTEMS,
    FAMILIES,
    LABELS,
    CrossEncoderRerank,
    StoredEncoder,
    biencoder_bytes,
    bm25_bytes,
    folder_bytes,
    plaid_class,
)
from plait.evaluation import DEFAULT_METRICS, evaluate, evaluate_retriever

__all__ = ["CompareSettings", "run_compare"]


@dataclass
class CompareSettings:
    """What to run and how. ``model``/``bi_encoder``: folders (``None`` = offline defaults)."""

    model: str | None = None
    bi_encoder: str | None = None
    cross_encoder: str | None = None
    systems: Sequence[str] = ALL_SYSTEMS
    metrics: Sequence[str] = DEFAULT_METRICS
    top_k: int = 100
    candidates: int = 100
    cross_candidates: int = 50
    latency_queries: int = 30
    rerank_latency_queries: int = 3
    latency_budget_s: float = BUDGET_S
    batch_size: int = 32
    stat_test: str = "student"
    device: str | None = None
    cache: str | None = None
    negation_probes: int = 200

    def check(self) -> None:
        """Reject unknown system names and non-positive sizes."""
        unknown = [name for name in self.systems if name not in ALL_SYSTEMS]
        if unknown:
            raise ValueError(f"unknown system(s) {unknown}; choose from {', '.join(ALL_SYSTEMS)}")
        for name in ("top_k", "candidates", "cross_candidates", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.latency_queries < 0 or self.rerank_latency_queries < 0:
            raise ValueError("latency query counts must be >= 0")
        if self.latency_budget_s < 0:
            raise ValueError(f"latency_budget_s must be >= 0, got {self.latency_budget_s}")
        if self.negation_probes < 0:
            raise ValueError(f"negation_probes must be >= 0, got {self.negation_probes}")


class _Session:
    """State shared by the configurations of one comparison."""

    def __init__(
        self, data: CompareData, settings: CompareSettings, workdir: Path, model: Any, log: Any
    ) -> None:
        self.data, self.settings, self.workdir, self.log = data, settings, workdir, log
        self.ids = [d["id"] for d in data.documents]
        self.texts = [d["text"] for d in data.documents]
        self.query_texts = [q["text"] for q in data.queries]
        self._model = model
        self.systems: dict[str, SystemResult] = {}
        self.retrievers: dict[str, Any] = {}
        self.skipped: dict[str, str] = {}
        self.embeddings: dict[str, np.ndarray] | None = None
        self.query_memo: dict[str, np.ndarray] = {}
        self.timings: dict[str, float] = {}
        self.codebooks: dict[int, tuple[Any, float]] = {}
        self.cached: list[str] = []
        self.on_update: Callable[[CompareResult], None] | None = None
        self.latency_plans: dict[str, LatencyPlan] = {}
        self.pair_tests: dict[tuple[str, str], SignificanceTest] = {}
        self.baseline_tests: dict[tuple[str, str], dict[str, SignificanceTest]] = {}
        self.negation: NegationProbe | None = None
        self.started = time.perf_counter()
        self.environment: dict[str, Any] = {
            "load_average_start": load_average(),
            **describe_machine(),
        }

    # ------------------------------------------------------------------ shared pieces
    @property
    def model(self) -> Any:
        if self._model is None:
            from plait.models import ColBERT

            self.log("loading the ColBERT model")
            self._model = ColBERT(self.settings.model, device=self.settings.device)
        return self._model

    def wanted(self, name: str) -> bool:
        return name in self.settings.systems

    def corpus_embeddings(self) -> dict[str, np.ndarray]:
        """ColBERT embeddings of every document text, encoded once (timed as ``colbert_encode_s``)."""
        if self.embeddings is None:
            unique = list(dict.fromkeys(self.texts))
            cache, fingerprint = self.cache(), ""
            if cache is not None:
                fingerprint = encoder_fingerprint(
                    lambda t: self.model.encode(t, is_query=False), f"colbert:{self.settings.model}"
                )
                hit = cache.load("colbert", fingerprint, unique)
                if hit is not None:
                    self.log("ColBERT document embeddings loaded from the cache")
                    self.embeddings = dict(zip(unique, hit[0], strict=True))
                    self.timings["colbert_encode_s"] = float(hit[1]["encode_s"])
                    self.cached.append("ColBERT")
                    return self.embeddings
            self.log(f"encoding {len(unique)} documents with ColBERT (once for all configurations)")
            start = time.perf_counter()
            encoded = self.model.encode(
                unique, is_query=False, batch_size=self.settings.batch_size, show_progress_bar=None
            )
            self.timings["colbert_encode_s"] = time.perf_counter() - start
            self.embeddings = dict(zip(unique, encoded, strict=True))
            if cache is not None:
                meta = {"encode_s": self.timings["colbert_encode_s"]}
                cache.save("colbert", fingerprint, unique, list(encoded), meta)
        return self.embeddings

    def cache(self) -> EncodingCache | None:
        return EncodingCache(self.settings.cache) if self.settings.cache else None

    def plaid_codebook(self, nbits: int) -> tuple[Any, float]:
        """Return ``(codebook, seconds)`` for a PLAID index of ``nbits`` over the corpus.

        ``seconds`` is what training it alone costs. k-means runs once (timed as
        ``plaid_kmeans_s``); later bit widths reuse its centroids and learn only their residual
        codec.
        """
        from plait.indexes.plaid import Codebook

        if nbits not in self.codebooks:
            embeddings = self.corpus_embeddings()
            documents = [embeddings[text] for text in self.texts]  # the order the index sees
            shared = next(iter(self.codebooks.values()), None)
            if shared is None:
                self.log("PLAID: training the centroids (once for every bit width)")
            start = time.perf_counter()
            codebook = Codebook.train(
                documents, nbits=nbits, quantizer=None if shared is None else shared[0].quantizer
            )
            seconds = time.perf_counter() - start
            if shared is None:
                self.timings["plaid_kmeans_s"] = float(codebook.stats.get("kmeans_s", seconds))
            else:
                seconds += self.timings["plaid_kmeans_s"]
            self.codebooks[nbits] = (codebook, seconds)
        return self.codebooks[nbits]

    def latency_texts(self, rerank: bool = False) -> list[str]:
        n = self.settings.rerank_latency_queries if rerank else self.settings.latency_queries
        return self.query_texts[:n]

    def evaluate(self, retriever: Any, build_index: bool) -> tuple[dict, dict, dict, float]:
        """``(run, metrics, per_query, index_s)`` through the shared evaluation path."""
        s, data = self.settings, self.data
        if data.qrels is not None:
            result = evaluate_retriever(
                retriever,
                data.documents,
                data.queries,
                data.qrels,
                metrics=s.metrics,
                top_k=s.top_k,
                batch_size=s.batch_size,
                build_index=build_index,
            )
            per_query = evaluate(result.run, data.qrels, metrics=s.metrics, per_query=True)
            return result.run, result.metrics, per_query, result.timings.get("index_s", 0.0)
        index_s = 0.0
        if build_index:
            start = time.perf_counter()
            retriever.index(collection=self.texts, document_ids=self.ids, batch_size=s.batch_size)
            index_s = time.perf_counter() - start
        hits: list[list[dict[str, Any]]] = []
        for start_at in range(0, len(self.query_texts), 4 * s.batch_size):
            chunk = self.query_texts[start_at : start_at + 4 * s.batch_size]
            hits.extend(retriever.retrieve(chunk, top_k=s.top_k))
        run = {q["id"]: ranked for q, ranked in zip(data.queries, hits, strict=True)}
        return run, {}, {}, index_s

    def add(
        self,
        name: str,
        retriever: Any,
        *,
        build_index: bool,
        build_s: float,
        nbytes: Callable[[], int],
        latency: Callable[[list[str]], Any],
        rerank: bool = False,
        note: str = "",
    ) -> SystemResult:
        """Evaluate ``retriever`` and record a :class:`SystemResult`.

        ``latency`` is kept to time single queries once every configuration has run
        (:meth:`time_latency`).
        """
        self.log(f"{LABELS[name]}: {'indexing and ' if build_index else ''}searching")
        run, metrics, per_query, index_s = self.evaluate(retriever, build_index)
        self.latency_plans[name] = LatencyPlan(latency, self.latency_texts(rerank))
        result = SystemResult(
            name=name,
            label=LABELS[name],
            family=FAMILIES[name],
            index_bytes=int(nbytes()),
            n_documents=len(self.ids),
            build_s=build_s + index_s,
            latency_ms=[],
            metrics=metrics,
            per_query=per_query,
            run=run,
            note=note,
        )
        self.systems[name] = result
        self.retrievers[name] = retriever
        if self.on_update is not None and self.wanted(name):
            self.on_update(_finish(self, time.perf_counter() - self.started))
        return result

    def time_latency(self) -> None:
        """Time every system's single queries in one interleaved loop (warm-up, then rounds)."""
        plans = {
            name: plan
            for name, plan in self.latency_plans.items()
            if self.wanted(name) and plan.texts
        }
        if not plans:
            return
        self.log(
            f"timing single queries of {len(plans)} systems, interleaved "
            f"(up to {self.settings.latency_budget_s:.0f} s)"
        )
        self.environment["load_average_latency_start"] = load_average()
        start = time.perf_counter()
        timings = time_interleaved(plans, budget_s=self.settings.latency_budget_s)
        self.timings["latency_s"] = time.perf_counter() - start
        self.environment["load_average_latency_end"] = load_average()
        for name, timing in timings.items():
            system = self.systems[name]
            system.latency_ms = timing.samples
            system.latency_rounds = timing.rounds
            system.latency_stable = timing.stable

    def search_with_model(self, index: Any) -> Callable[[list[str]], Any]:
        from plait import retrieve

        live = retrieve.ColBERT(index=index, model=self.model)
        return lambda texts: live.retrieve(texts, top_k=self.settings.top_k)


# ---------------------------------------------------------------------- configurations
def _run_baselines(session: _Session) -> None:
    s = session.settings
    if session.wanted("bm25") or session.wanted("bm25+colbert"):
        from plait.baselines import BM25

        bm25 = BM25()
        session.add(
            "bm25",
            bm25,
            build_index=True,
            build_s=0.0,
            nbytes=lambda: bm25_bytes(bm25),
            latency=lambda texts: bm25.retrieve(texts, top_k=s.top_k),
        )
    if (
        session.wanted("biencoder")
        or session.wanted("biencoder+colbert")
        or (session.wanted("cross-encoder") and s.cross_encoder)
    ):
        _run_biencoder(session)


def _run_biencoder(session: _Session) -> None:
    """Run the bi-encoder; with a cache, its document vectors are read from / written to it."""
    from plait.baselines import BiEncoder

    s = session.settings
    session.log("loading the bi-encoder")
    bi = BiEncoder(s.bi_encoder, device=s.device)
    cache, unique = session.cache(), list(dict.fromkeys(session.texts))
    hit, fingerprint = None, ""
    if cache is not None:
        fingerprint = encoder_fingerprint(
            lambda t: bi.model.encode(t, normalize_embeddings=True), f"biencoder:{s.bi_encoder}"
        )
        hit = cache.load("biencoder", fingerprint, unique)
    known = {} if hit is None else {t: m[0] for t, m in zip(unique, hit[0], strict=True)}
    memo = DocumentMemo(bi.model, known)
    bi.model = memo  # type: ignore[assignment]  # same encode() call shape
    if hit is not None:
        session.log("bi-encoder document vectors loaded from the cache")
        session.cached.append("Bi-encoder")
    session.add(
        "biencoder",
        bi,
        build_index=True,
        build_s=0.0 if hit is None else float(hit[1]["encode_s"]),
        nbytes=lambda: biencoder_bytes(bi),
        latency=lambda texts: bi.retrieve(texts, top_k=s.top_k),
    )
    if cache is not None and hit is None and all(t in memo.encoded for t in unique):
        vectors = [memo.encoded[t][None, :] for t in unique]
        meta = {"encode_s": session.systems["biencoder"].build_s}
        cache.save("biencoder", fingerprint, unique, vectors, meta)


def _run_colbert_index(
    session: _Session,
    name: str,
    index: Any,
    documents: dict[str, np.ndarray],
    extra_s: float,
    note: str = "build time includes encoding the corpus",
) -> None:
    from plait import retrieve

    stand_in = StoredEncoder(session.model, documents, session.query_memo)
    retriever = retrieve.ColBERT(index=index, model=stand_in)
    session.add(
        name,
        retriever,
        build_index=True,
        build_s=session.timings["colbert_encode_s"] + extra_s,
        nbytes=lambda: folder_bytes(index.path),
        latency=session.search_with_model(index),
        note=note,
    )


def _run_exact(session: _Session, name: str) -> None:
    from plait.indexes import Exact

    index = Exact(index_folder=session.workdir, index_name=name, override=True)
    _run_colbert_index(session, name, index, session.corpus_embeddings(), 0.0)


def _run_plaid(session: _Session, name: str) -> None:
    plaid = plaid_class()
    if plaid is None:
        session.skipped[name] = "plait.indexes.PLAID is not available in this build"
        return
    nbits = int(name.split("-")[1].rstrip("bit"))
    embeddings = session.corpus_embeddings()
    try:
        codebook, train_s = session.plaid_codebook(nbits)
        index = plaid(
            index_folder=session.workdir, index_name=name, override=True, codebook=codebook
        )
        kmeans_s = session.timings["plaid_kmeans_s"]
        note = (
            f"build time includes encoding the corpus and training the centroids ({kmeans_s:.0f} s"
            " of k-means, run once here and shared by the PLAID rows; counted in each as if it "
            "were built alone)"
        )
        _run_colbert_index(session, name, index, embeddings, train_s, note)
    except Exception as error:  # report it and go on with the other configurations
        session.skipped[name] = f"{type(error).__name__}: {error}"


def _run_pooled(session: _Session, name: str) -> None:
    from plait.indexes import Exact
    from plait.models.pooling import pool_many

    factor = int(name.split("-")[1])
    embeddings = session.corpus_embeddings()
    session.log(f"pooling token embeddings (pool_factor={factor})")
    start = time.perf_counter()
    pooled = dict(zip(embeddings, pool_many(list(embeddings.values()), factor), strict=True))
    pool_s = time.perf_counter() - start
    index = Exact(index_folder=session.workdir, index_name=name, override=True)
    _run_colbert_index(session, name, index, pooled, pool_s)


def _run_pipeline(session: _Session, name: str, first: str) -> None:
    from plait import retrieve

    s = session.settings
    if first not in session.systems:
        session.skipped[name] = f"its first stage ({LABELS[first]}) did not run"
        return
    embeddings = session.corpus_embeddings()
    first_stage = session.retrievers[first]
    stand_in = StoredEncoder(session.model, embeddings, session.query_memo)
    pipeline = retrieve.RerankPipeline(first_stage, model=stand_in, candidates=s.candidates)
    pipeline.index(session.texts, session.ids, index_first_stage=False)
    live = retrieve.RerankPipeline(
        first_stage, model=session.model, candidates=s.candidates, cache_embeddings=False
    )
    live.index(session.texts, session.ids, index_first_stage=False)
    base = session.systems[first]
    session.add(
        name,
        pipeline,
        build_index=False,
        build_s=base.build_s,
        nbytes=lambda: base.index_bytes,
        latency=lambda texts: live.retrieve(texts, top_k=s.top_k),
        rerank=True,
        note=f"stores only the {LABELS[first]} index; ColBERT encodes the {s.candidates} "
        "candidates at query time (included in the latency)",
    )


def _run_cross_encoder(session: _Session) -> None:
    s = session.settings
    if not s.cross_encoder:
        session.skipped["cross-encoder"] = "no cross-encoder given (--cross-encoder PATH)"
        return
    if "biencoder" not in session.systems:
        session.skipped["cross-encoder"] = "its first stage (Bi-encoder) did not run"
        return
    session.log("loading the cross-encoder")
    reranker = CrossEncoderRerank(
        session.retrievers["biencoder"], s.cross_encoder, s.cross_candidates, device=s.device
    )
    reranker.index(session.texts, session.ids, index_first_stage=False)
    base = session.systems["biencoder"]
    session.add(
        "cross-encoder",
        reranker,
        build_index=False,
        build_s=base.build_s,
        nbytes=lambda: base.index_bytes,
        latency=lambda texts: reranker.retrieve(texts, top_k=s.top_k),
        rerank=True,
        note=f"stores only the bi-encoder index; the cross-encoder reads the top "
        f"{s.cross_candidates} texts at query time",
    )


# ---------------------------------------------------------------------- entry point
def colbert_model_name(path: str | None) -> str:
    """How the report names the ColBERT checkpoint: its folder's name, or the default model."""
    if path:
        return Path(path).resolve().name if os.path.isdir(path) else str(path)
    from plait.models.default import DELTA_FOLDER, DELTA_WEIGHTS

    if (Path(DELTA_FOLDER) / DELTA_WEIGHTS).is_file():
        return "plait's default model (all-MiniLM-L6-v2 fine-tuned for ColBERT by its packaged delta, 128-d)"
    return "plait's default model (all-MiniLM-L6-v2 with a seeded 128-d projection)"


def bi_encoder_name(path: str | None) -> str:
    """How the report names the bi-encoder: its folder's name, or the packaged default."""
    if path:
        return Path(path).resolve().name if os.path.isdir(path) else str(path)
    return "all-MiniLM-L6-v2"


def _pairwise(
    systems: Sequence[SystemResult],
    stat_test: str,
    memo: dict[tuple[str, str], SignificanceTest] | None = None,
) -> dict[str, dict[str, SignificanceTest]]:
    """Paired test of every system against every other on :data:`PRIMARY_METRIC` (both ways).

    ``memo`` keeps the tests between calls (a system's per-query scores do not change once it has
    run, and the partial results after each configuration would otherwise redo them all).
    """
    memo = {} if memo is None else memo
    tests: dict[str, dict[str, SignificanceTest]] = {system.name: {} for system in systems}
    for i, first in enumerate(systems):
        for second in systems[i + 1 :]:
            key = (first.name, second.name)
            if key not in memo:
                ours = first.per_query.get(PRIMARY_METRIC, {})
                theirs = second.per_query.get(PRIMARY_METRIC, {})
                ids = [qid for qid in ours if qid in theirs]
                memo[key] = paired_test([theirs[q] for q in ids], [ours[q] for q in ids], stat_test)
            test = memo[key]
            tests[first.name][second.name] = test
            tests[second.name][first.name] = SignificanceTest(
                -test.delta, test.p_value, test.significant
            )
    return tests


def _finish(session: _Session, total_s: float) -> CompareResult:
    data, s = session.data, session.settings
    order = [name for name in ALL_SYSTEMS if name in session.systems and session.wanted(name)]
    systems = [session.systems[name] for name in order]
    baseline = next((n for n in ("biencoder", "bm25") if n in order), order[0])
    reference = "colbert" if "colbert" in order else baseline
    base = session.systems[baseline]
    for system in systems:
        if data.has_qrels and system.name != baseline:
            key = (baseline, system.name)
            if key not in session.baseline_tests:
                session.baseline_tests[key] = significance_against(
                    base.per_query, system.per_query, stat_test=s.stat_test
                )
            system.versus_baseline = session.baseline_tests[key]
        elif system.name == baseline:
            system.versus_baseline = {}
    pairwise = _pairwise(systems, s.stat_test, session.pair_tests) if data.has_qrels else {}
    environment = {**session.environment, "load_average_end": load_average()}
    agreement = {
        system.name: {
            other: float(
                np.mean(list(overlap_at_k(system.run, session.systems[other].run).values()))
            )
            for other in dict.fromkeys((baseline, reference))
        }
        for system in systems
    }
    return CompareResult(
        data_name=data.name,
        n_documents=len(data.documents),
        n_queries=len(data.queries),
        has_qrels=data.has_qrels,
        systems=systems,
        baseline=baseline,
        reference=reference,
        skipped=session.skipped,
        agreement=agreement,
        settings={
            "split": data.split,
            "metrics": list(s.metrics),
            "top_k": s.top_k,
            "candidates": s.candidates,
            "cross_candidates": s.cross_candidates,
            "latency_queries": s.latency_queries,
            "rerank_latency_queries": s.rerank_latency_queries,
            "latency_budget_s": s.latency_budget_s,
            "latency_timed": "latency_s" in session.timings,
            "stat_test": s.stat_test,
            "randomisation_resamples": RANDOMISATION_RESAMPLES,
            "randomisation_seed": RANDOMISATION_SEED,
            "model": s.model or "default (plait ColBERT, offline)",
            "model_name": colbert_model_name(s.model),
            "bi_encoder": s.bi_encoder or "all-MiniLM-L6-v2 (packaged)",
            "bi_encoder_name": bi_encoder_name(s.bi_encoder),
            "cross_encoder": s.cross_encoder,
            "cached_encodings": list(session.cached),
            "negation_probes": s.negation_probes,
            **session.timings,
        },
        queries={q["id"]: q["text"] for q in data.queries},
        documents={d["id"]: d["text"] for d in data.documents},
        qrels=data.qrels or {},
        total_s=total_s,
        pairwise=pairwise,
        environment=environment,
        negation=session.negation,
    )


def _run_negation_probe(session: _Session) -> None:
    """Negated twins of judged-relevant documents (:mod:`plait.compare.negation`)."""
    try:
        session.negation = negation_probe(session, session.settings.negation_probes)
    except Exception as error:  # report it and keep the comparison
        session.skipped["negation probe"] = f"{type(error).__name__}: {error}"


def _run_first_stage_rerank(session: _Session, name: str) -> None:
    _run_pipeline(session, name, name.split("+")[0])


# Most informative first, so a long run stopped early has already measured what matters most.
RUN_ORDER = ("colbert", "bm25+colbert", "biencoder+colbert", "plaid-2bit", "pool-2", "plaid-1bit",
             "plaid-4bit", "pool-3", "cross-encoder")  # fmt: skip
_RUNNERS: dict[str, Callable[[_Session, str], None]] = {
    "colbert": _run_exact,
    "bm25+colbert": _run_first_stage_rerank,
    "biencoder+colbert": _run_first_stage_rerank,
    "plaid-1bit": _run_plaid,
    "plaid-2bit": _run_plaid,
    "plaid-4bit": _run_plaid,
    "pool-2": _run_pooled,
    "pool-3": _run_pooled,
    "cross-encoder": lambda session, name: _run_cross_encoder(session),
}


def run_compare(
    data: CompareData,
    settings: CompareSettings | None = None,
    *,
    model: Any = None,
    workdir: str | Path | None = None,
    log: Callable[[str], None] | None = None,
    on_update: Callable[[CompareResult], None] | None = None,
) -> CompareResult:
    """Run the configurations in ``settings.systems`` on ``data`` and collect a :class:`CompareResult`.

    ``model`` is an already loaded :class:`plait.models.ColBERT` (else ``settings.model`` is
    loaded). Indexes are written under ``workdir`` (a temporary folder, deleted afterwards, when
    ``None``). ``log`` receives one line per stage; ``on_update`` receives the partial result
    after each configuration (e.g. to keep a report on disk current during a long run).
    """
    settings = settings or CompareSettings()
    settings.check()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="plait-compare-") as scratch:
        folder = Path(workdir) if workdir is not None else Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        session = _Session(data, settings, folder, model, log or (lambda message: None))
        session.on_update = on_update
        _run_baselines(session)
        for name in RUN_ORDER:
            if session.wanted(name):
                _RUNNERS[name](session, name)
        if not any(session.wanted(name) for name in session.systems):
            raise ValueError("no configuration ran: choose at least one system")
        _run_negation_probe(session)
        session.time_latency()
        return _finish(session, time.perf_counter() - start)
