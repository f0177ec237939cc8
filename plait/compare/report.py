"""Render a :class:`CompareResult` as one self-contained HTML file and the same as Markdown.

Both are built from the same blocks (verdict, tables, figures, disagreements, notes). The HTML
embeds its figures as ``data:`` PNGs and carries its CSS inline: it loads nothing from anywhere.
The Markdown links the PNG files written beside it.
"""

from __future__ import annotations

import base64
import html
import json
import math
from dataclasses import dataclass
from pathlib import Path

from plait.compare.latency import (
    ABSOLUTE_TOLERANCE_MS,
    MAX_ROUNDS,
    MIN_ROUNDS,
    TOLERANCE,
    WARMUP_CALLS,
)
from plait.compare.results import (
    PROJECTIONS,
    CompareResult,
    SystemResult,
    format_bytes,
    latency_unresolved,
)
from plait.compare.stats import MAX_P, format_p, stat_test_label, top_ids
from plait.compare.verdict import verdict

__all__ = ["build_blocks", "render_html", "render_markdown", "write_report"]

METRIC_LABELS = {"ndcg@10": "nDCG@10", "mrr@10": "MRR@10", "recall@100": "Recall@100"}
CAPTIONS = {
    "compare_quality_bytes": "Quality vs stored bytes per document",
    "compare_quality_latency": "Quality vs query latency (median, bars: p25–p75)",
    "compare_per_query": "Per-query nDCG@10 difference, ColBERT minus the baseline, sorted",
    "compare_agreement_bytes": "Top-10 agreement with ColBERT vs stored bytes per document",
    "compare_latency_bytes": "Query latency vs stored bytes per document",
}
N_DISAGREEMENTS = 5
N_TOP_DOCUMENTS = 3


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[str]]
    note: str = ""


def _label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)


def signed(delta: float) -> str:
    """Format ``delta`` with a sign and 3 decimals.

    Where 3 decimals would print a non-zero difference as zero, 2 significant digits instead.

    >>> signed(0.0412), signed(-0.00042), signed(0.0)
    ('+0.041', '-0.00042', '0')
    """
    if delta == 0:
        return "0"
    return f"{delta:+.3f}" if abs(delta) >= 0.0005 else f"{delta:+.2g}"


def _delta(system: SystemResult, metric: str, baseline: str) -> str:
    if system.name == baseline:
        return "baseline"
    test = system.versus_baseline.get(metric)
    if test is None:
        return ""
    mark = " *" if test.significant else ""
    return f"{signed(test.delta)} (p={format_p(test.p_value, MAX_P)}){mark}"


def _ms(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:.1f}" if value >= 1 else f"{value:.2g}"


def quality_table(result: CompareResult) -> Table:
    metrics = result.settings.get("metrics", ["ndcg@10", "mrr@10", "recall@100"])
    header = ["System"]
    for metric in metrics:
        header += [_label(metric), f"Δ vs {result.baseline}"]
    rows = []
    for system in result.systems:
        row = [system.label]
        for metric in metrics:
            row += [
                f"{system.metrics.get(metric, float('nan')):.4f}",
                _delta(system, metric, result.baseline),
            ]
        rows.append(row)
    n_tests = sum(
        metric in system.versus_baseline for system in result.systems for metric in metrics
    )
    note = (
        f"Δ: mean difference against {result.baseline} over the same queries; p from a "
        f"{describe_test(result)}; * = p < 0.05. The p-values are per comparison, not corrected "
        f"for multiple comparisons: this table holds {n_tests} tests, and where two systems do "
        "not differ a test still falls below 0.05 one time in 20 by chance."
    )
    return Table("Quality", header, rows, note)


def describe_test(result: CompareResult) -> str:
    """Describe the paired test the report's p-values come from, with how it was computed."""
    s = result.settings
    test = s.get("stat_test", "student")
    if test == "student":
        return f"two-sided {stat_test_label(test)} (scipy.stats.ttest_rel)"
    return (
        f"two-sided Fisher {stat_test_label(test)} (scipy.stats.permutation_test over paired sign "
        f"flips, {s.get('randomisation_resamples', 10_000):,} resamples with seed "
        f"{s.get('randomisation_seed', 42)}, exact when there are fewer flips than resamples)"
    )


def _latency_gap(result: CompareResult, system: SystemResult) -> str:
    """Format a latency gap: ``+45.1 vs colbert`` (``†`` when the spread is at least the gap).

    The gap is against exact ColBERT or, for exact ColBERT itself, against the baseline.
    """
    name = result.reference if system.name != result.reference else result.baseline
    other = result.get(name)
    if other is None or other is system or not system.latency_ms or not other.latency_ms:
        return ""
    mark = " †" if latency_unresolved(system, other) else ""
    gap = system.p50_ms - other.p50_ms
    text = f"{gap:+.1f}" if abs(gap) >= 1 or gap == 0 else f"{gap:+.2g}"
    return f"{text} vs {other.name}{mark}"


def _timings(system: SystemResult) -> str:
    if not system.latency_ms:
        return "0"
    per_round = len(system.latency_ms) // max(system.latency_rounds, 1)
    return f"{per_round} × {system.latency_rounds}" + ("" if system.latency_stable else " ‡")


def cost_table(result: CompareResult) -> Table:
    header = [
        "System",
        "bytes / doc",
        "index",
        *(f"at {n // 1_000_000}M docs" for n in PROJECTIONS),
        "build s",
        "p50 ms",
        "p25–p75 ms",
        "p95 ms",
        "p50 gap ms",
        "timings (queries × rounds)",
        f"top-10 overlap with {result.baseline}",
        f"with {result.reference}",
    ]
    rows = []
    for s in result.systems:
        overlap = result.agreement.get(s.name, {})
        rows.append(
            [
                s.label,
                format_bytes(s.bytes_per_document),
                format_bytes(s.index_bytes),
                *(format_bytes(s.projected_bytes(n)) for n in PROJECTIONS),
                f"{s.build_s:.1f}",
                _ms(s.p50_ms),
                f"{_ms(s.latency(25))}–{_ms(s.latency(75))}" if s.latency_ms else "n/a",
                _ms(s.p95_ms),
                _latency_gap(result, s),
                _timings(s),
                f"{100 * overlap.get(result.baseline, float('nan')):.0f}%",
                f"{100 * overlap.get(result.reference, float('nan')):.0f}%",
            ]
        )
    note = (
        "Bytes: what each system stores to answer queries (on disk for plait indexes and BM25, "
        "float32 vectors for the bi-encoder; re-rankers store only their first stage). "
        "Projections are linear. Build time includes encoding the corpus (PLAID: and its "
        "k-means). Latency: one query at a time, query encoding included; p50 is the median of "
        "all timings, p25–p75 their interquartile range (the spread). p50 gap: against exact "
        "ColBERT (exact ColBERT itself: against the baseline); † = the two rows' p25–p75 ranges "
        "overlap: the spread covers the gap, so these timings do not tell the two apart. "
        "‡ = the median had not settled when the timing stopped."
    )
    if not result.settings.get("latency_timed", True):
        note += " Latency is timed after every configuration has run: not yet in this report."
    return Table("Costs", header, rows, note)


def _rank(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.1f}"


def negation_table(result: CompareResult) -> Table | None:
    """Tabulate the negation probe per system (``None`` when the probe did not run)."""
    probe = result.negation
    if probe is None:
        return None
    header = ["System", "twin above the original", "ties", "original's mean rank",
              "twin's mean rank"]  # fmt: skip
    rows = [
        [s["label"], f"{100 * s['twin_above']:.0f}%", str(s["ties"]), _rank(s["original_rank"]),
         _rank(s["twin_rank"])]
        for s in probe.systems.values()
    ]  # fmt: skip
    note = (
        f"For {probe.n_pairs} judged queries, one judged-relevant document each got a negated "
        "twin (plait.training.negation: the polarity of one claim flipped, in the sentence that "
        "matches the query), added to a copy of the corpus "
        f"({probe.n_documents} documents) used for this probe only. Twin above: how often a "
        "system scores the twin above the original (a tie counts one half; lower is better). "
        "Ranks are in the corpus copy (1 = first); the cross-encoder re-ranks only its first "
        "stage's candidates, so it has none here."
    )
    if probe.n_without_twin:
        queries = "1 query" if probe.n_without_twin == 1 else f"{probe.n_without_twin} queries"
        note += (
            f" {queries} had no relevant document with a negation pattern in a sentence matching "
            "the query, and were not probed."
        )
    return Table("Negation probe", header, rows, note)


def negation_examples(result: CompareResult) -> list[dict]:
    """List a few probe pairs: the changed sentence and each system's scores and ranks."""
    probe = result.negation
    if probe is None:
        return []
    blocks = []
    for example in probe.examples:
        lines = []
        for name, s in example["systems"].items():
            label = probe.systems[name]["label"]
            verdict = {1.0: "twin above", 0.5: "tie"}.get(s["twin_above"], "original above")
            ranks = (
                ""
                if math.isnan(s["original_rank"])
                else f" (ranks {s['original_rank']:g} and {s['twin_rank']:g})"
            )
            lines.append(
                f"{label}: original {s['original_score']:.3f}, twin {s['twin_score']:.3f}"
                f"{ranks}: {verdict}"
            )
        blocks.append({**example, "lines": lines})
    return blocks


def _disagreement_ids(result: CompareResult) -> list[tuple[str, str]]:
    """``(query id, reason)`` for the queries where ColBERT and the baseline disagree most."""
    colbert, base = result.get(result.reference), result.get(result.baseline)
    if colbert is None or base is None or colbert is base:
        return []
    if result.has_qrels:
        ours, theirs = colbert.per_query.get("ndcg@10", {}), base.per_query.get("ndcg@10", {})
        gaps = sorted(
            ((ours[q] - theirs[q], q) for q in ours if q in theirs), key=lambda t: -abs(t[0])
        )
        return [
            (q, f"nDCG@10 {colbert.label} {ours[q]:.3f} vs {base.label} {theirs[q]:.3f}")
            for gap, q in gaps[:N_DISAGREEMENTS]
            if gap != 0
        ]
    shares = []
    for q, hits in colbert.run.items():
        mine, other = set(top_ids(hits, 10)), set(top_ids(base.run.get(q, []), 10))
        shares.append((len(mine & other) / max(len(mine | other), 1), q))
    return [
        (q, f"{100 * share:.0f}% of the top-10 union shared")
        for share, q in sorted(shares)[:N_DISAGREEMENTS]
    ]


def disagreement_blocks(result: CompareResult) -> list[dict]:
    """For each disagreeing query: its text, why, and each side's top documents."""
    blocks = []
    for qid, reason in _disagreement_ids(result):
        judged = result.qrels.get(qid, {})
        sides = []
        for name in (result.reference, result.baseline):
            system = result.get(name)
            if system is None:
                continue
            docs = []
            for doc_id in top_ids(system.run.get(qid, []), N_TOP_DOCUMENTS):
                grade = judged.get(doc_id)
                mark = (
                    "" if not result.has_qrels else ("relevant" if grade else "not judged relevant")
                )
                text = " ".join(result.documents.get(doc_id, "").split())
                docs.append(
                    {
                        "id": doc_id,
                        "mark": mark,
                        "text": text[:220] + ("…" if len(text) > 220 else ""),
                    }
                )
            sides.append({"label": system.label, "documents": docs})
        blocks.append(
            {"id": qid, "text": result.queries.get(qid, ""), "reason": reason, "sides": sides}
        )
    return blocks


def build_blocks(result: CompareResult) -> dict:
    """Everything both renderers show."""
    tables = [quality_table(result)] if result.has_qrels else []
    tables.append(cost_table(result))
    split = result.settings.get("split")
    title = (
        f"plait compare: {result.data_name} ({result.n_documents} documents, "
        f"{result.n_queries} {'judged ' if result.has_qrels else ''}queries"
        f"{f', split {split}' if split else ''})"
    )
    models = (
        f"ColBERT: {result.settings.get('model_name', result.settings.get('model'))}; "
        f"bi-encoder: {result.settings.get('bi_encoder_name', result.settings.get('bi_encoder'))}"
    )
    return {
        "title": title,
        "models": models,
        "verdict": verdict(result),
        "tables": tables,
        "disagreements": disagreement_blocks(result),
        "negation": negation_table(result),
        "negation_examples": negation_examples(result),
        "skipped": dict(result.skipped),
        "environment": environment_lines(result),
    }


def _load(value: object) -> str:
    if not isinstance(value, list | tuple) or len(value) != 3:
        return "n/a"
    return " / ".join(f"{float(v):.2f}" for v in value)


def environment_lines(result: CompareResult) -> list[str]:
    """Machine, CPUs, load averages, package versions and date, one line each."""
    env = result.environment
    if not env:
        return []
    versions = env.get("versions", {})
    packages = ", ".join(f"{name} {version}" for name, version in versions.items())
    if env.get("plait_commit"):
        packages += f" (plait commit {env['plait_commit']})"
    lines = [
        f"Date: {env.get('date', 'n/a')}.",
        f"Machine: {env.get('platform', 'n/a')}; CPU: {env.get('cpu', 'n/a')}.",
        f"CPUs (os.cpu_count()): {env.get('cpu_count', 'n/a')}; torch threads: "
        f"{env.get('torch_threads', 'n/a')}.",
        "Load average (1 / 5 / 15 min): "
        f"{_load(env.get('load_average_start'))} at the start, "
        f"{_load(env.get('load_average_latency_start'))} when latency timing began, "
        f"{_load(env.get('load_average_latency_end'))} when it ended, "
        f"{_load(env.get('load_average_end'))} at the end.",
        f"Versions: {packages}.",
    ]
    if env.get("default_model_delta") and str(result.settings.get("model")).startswith("default"):
        lines.append(
            "Default ColBERT model delta (plait/models/default/delta.safetensors): SHA-256 "
            f"{env['default_model_delta']}..."
        )
    return lines


def _notes(result: CompareResult) -> list[str]:
    s = result.settings
    notes = [
        f"ColBERT model: {s.get('model')}; bi-encoder: {s.get('bi_encoder')}"
        + (f"; cross-encoder: {s.get('cross_encoder')}" if s.get("cross_encoder") else "")
        + ".",
        f"Every system ran through plait.evaluation.evaluate_retriever (the code behind `plait evaluate`), top {s.get('top_k')}.",
        "The corpus was encoded by ColBERT once; PLAID variants index those embeddings and pooled variants re-pool them.",
    ]
    if "colbert_encode_s" in s:
        notes.append(
            f"ColBERT corpus encoding took {s['colbert_encode_s']:.1f} s; the whole comparison {result.total_s:.0f} s."
        )
    if "plaid_kmeans_s" in s:
        notes.append(
            f"The PLAID rows share one k-means ({s['plaid_kmeans_s']:.1f} s, run once): centroids do "
            "not depend on nbits, so each index is the one building it alone gives. Each PLAID "
            "row's build time counts the k-means, as if that index were built alone."
        )
    if "latency_s" in s:
        notes.append(
            f"Latency: after up to {WARMUP_CALLS} warm-up calls per system, every system was timed in "
            "one interleaved loop (each round times each still-unsettled system on each of its "
            f"timed queries once, the order rotating), at least {MIN_ROUNDS} and at most "
            f"{MAX_ROUNDS} rounds, until the median moved by at most {100 * TOLERANCE:.0f}% (or "
            f"{ABSOLUTE_TOLERANCE_MS} ms) in a round or the system had used its share of the "
            f"{s.get('latency_budget_s', 0):.0f} s budget ({s['latency_s']:.0f} s spent in all, "
            "warm-up included)."
        )
    if result.has_qrels:
        notes.append(
            f"Significance: {describe_test(result)} on per-query scores, read at p < 0.05; "
            "every pair of systems is tested on nDCG@10 for the verdict, which states a "
            "difference only where its test is significant and counts the tests it cites "
            "(Holm correction) in its last sentence."
        )
    if s.get("cached_encodings"):
        notes.append(
            f"Corpus encodings of {', '.join(s['cached_encodings'])} were read from the cache; "
            "their build times are the encoding times measured when the cache was filled."
        )
    notes += [
        f"{system.label}: {system.note}."
        for system in result.systems
        if system.note and system.family == "rerank"
    ]
    return notes


# ---------------------------------------------------------------------- HTML
CSS = """body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.85em}th,td{border:1px solid #ccc;padding:.3em .5em;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f2f2f2}.verdict{background:#f6f8fa;border-left:4px solid #1f77b4;padding:.6em 1.2em}
figure{display:inline-block;margin:.5em}figure img{max-width:520px;border:1px solid #ddd}.note{color:#555;font-size:.85em}
.query{border-top:1px solid #ddd;padding:.5em 0}.side{display:inline-block;vertical-align:top;width:48%;margin-right:1%;font-size:.85em}"""


def _html_table(table: Table) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in table.rows
    )
    return (
        f"<h2>{html.escape(table.title)}</h2>\n<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>\n"
        f'<p class="note">{html.escape(table.note)}</p>'
    )


def _html_disagreements(blocks: list[dict]) -> str:
    parts = ["<h2>Where ColBERT and the baseline disagree most</h2>"]
    for block in blocks:
        sides = []
        for side in block["sides"]:
            docs = "".join(
                f"<li><b>{html.escape(d['id'])}</b> {html.escape(d['mark'])}<br>{html.escape(d['text'])}</li>"
                for d in side["documents"]
            )
            sides.append(
                f'<div class="side"><b>{html.escape(side["label"])}</b><ol>{docs}</ol></div>'
            )
        parts.append(
            f'<div class="query"><p><b>Query {html.escape(block["id"])}:</b> {html.escape(block["text"])} '
            f'<span class="note">({html.escape(block["reason"])})</span></p>{"".join(sides)}</div>'
        )
    return "\n".join(parts)


def _html_negation_examples(blocks: list[dict]) -> str:
    parts = []
    for block in blocks:
        lines = "".join(f"<li>{html.escape(line)}</li>" for line in block["lines"])
        parts.append(
            f'<div class="query"><p><b>Query {html.escape(block["query_id"])}:</b> '
            f"{html.escape(block['query'])} "
            f'<span class="note">(document {html.escape(block["document_id"])}, '
            f"{html.escape(block['pattern'])})</span></p>"
            f'<p class="note">original: {html.escape(block["before"])}<br>'
            f"twin: {html.escape(block['after'])}</p><ul>{lines}</ul></div>"
        )
    return "\n".join(parts)


def render_html(result: CompareResult, images: dict[str, bytes]) -> str:
    """Return the self-contained HTML report (figures inlined as base64 PNG)."""
    blocks = build_blocks(result)
    parts = [
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(blocks["title"])}</title>'
        f"<style>{CSS}</style></head><body>\n<h1>{html.escape(blocks['title'])}</h1>",
        f'<p class="note">{html.escape(blocks["models"])}</p>',
        '<h2>Verdict</h2>\n<div class="verdict"><ul>'
        + "".join(f"<li>{html.escape(s)}</li>" for s in blocks["verdict"])
        + "</ul></div>",
    ]
    parts += [_html_table(t) for t in blocks["tables"]]
    if blocks["negation"] is not None:
        parts.append(_html_table(blocks["negation"]))
        parts.append(_html_negation_examples(blocks["negation_examples"]))
    parts.append("<h2>Plots</h2>")
    for stem, png in images.items():
        data = base64.b64encode(png).decode("ascii")
        caption = html.escape(CAPTIONS.get(stem, stem))
        parts.append(
            f'<figure><img alt="{caption}" src="data:image/png;base64,{data}"><figcaption>{caption}</figcaption></figure>'
        )
    if blocks["disagreements"]:
        parts.append(_html_disagreements(blocks["disagreements"]))
    if blocks["skipped"]:
        parts.append(
            "<h2>Not run</h2><ul>"
            + "".join(
                f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in blocks["skipped"].items()
            )
            + "</ul>"
        )
    if blocks["environment"]:
        parts.append(
            "<h2>Machine and versions</h2><ul>"
            + "".join(f'<li class="note">{html.escape(n)}</li>' for n in blocks["environment"])
            + "</ul>"
        )
    parts.append(
        "<h2>How this was measured</h2><ul>"
        + "".join(f'<li class="note">{html.escape(n)}</li>' for n in _notes(result))
        + "</ul></body></html>\n"
    )
    return "\n".join(parts)


# ---------------------------------------------------------------------- Markdown
def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(table: Table) -> str:
    lines = [
        f"## {table.title}",
        "",
        "| " + " | ".join(map(_md_cell, table.header)) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(table.header) - 1)) + "|",
    ]
    lines += ["| " + " | ".join(map(_md_cell, row)) + " |" for row in table.rows]
    return "\n".join(lines + ["", table.note, ""])


def render_markdown(result: CompareResult, image_files: dict[str, str]) -> str:
    """Return the same report as Markdown; ``image_files`` maps figure stems to file names."""
    blocks = build_blocks(result)
    lines = (
        [f"# {blocks['title']}", "", blocks["models"], "", "## Verdict", ""]
        + [f"- {s}" for s in blocks["verdict"]]
        + [""]
    )
    lines += [_md_table(t) for t in blocks["tables"]]
    if blocks["negation"] is not None:
        lines.append(_md_table(blocks["negation"]))
        for block in blocks["negation_examples"]:
            lines += [
                f"**Query {block['query_id']}:** {block['query']} (document "
                f"`{block['document_id']}`, {block['pattern']})",
                "",
                f"- original: {block['before']}",
                f"- twin: {block['after']}",
                *(f"- {line}" for line in block["lines"]),
                "",
            ]
    lines += (
        ["## Plots", ""]
        + [f"![{CAPTIONS.get(stem, stem)}]({name})" for stem, name in image_files.items()]
        + [""]
    )
    if blocks["disagreements"]:
        lines += ["## Where ColBERT and the baseline disagree most", ""]
        for block in blocks["disagreements"]:
            lines += [f"**Query {block['id']}:** {block['text']} ({block['reason']})", ""]
            for side in block["sides"]:
                lines.append(f"- {side['label']}:")
                lines += [
                    f"  {n}. `{d['id']}` {d['mark']}: {d['text']}"
                    for n, d in enumerate(side["documents"], 1)
                ]
            lines.append("")
    if blocks["skipped"]:
        lines += ["## Not run", ""] + [f"- {k}: {v}" for k, v in blocks["skipped"].items()] + [""]
    if blocks["environment"]:
        lines += ["## Machine and versions", ""] + [f"- {n}" for n in blocks["environment"]] + [""]
    lines += ["## How this was measured", ""] + [f"- {n}" for n in _notes(result)]
    return "\n".join(lines) + "\n"


def _finite(value: object) -> object:
    """JSON has no NaN: replace non-finite floats by ``None``, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def write_report(result: CompareResult, out: str | Path) -> dict[str, Path]:
    """Write ``report.html``, ``report.md``, ``results.json`` and the PNG figures into ``out``."""
    from plait.compare.plots import figures

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    images = figures(result)
    written: dict[str, Path] = {}
    for stem, png in images.items():
        written[stem] = folder / f"{stem}.png"
        written[stem].write_bytes(png)
    written["html"] = folder / "report.html"
    written["html"].write_text(render_html(result, images), encoding="utf-8")
    written["markdown"] = folder / "report.md"
    written["markdown"].write_text(
        render_markdown(result, {s: f"{s}.png" for s in images}), encoding="utf-8"
    )
    written["json"] = folder / "results.json"
    summary = {"verdict": verdict(result), **result.to_dict()}
    written["json"].write_text(json.dumps(_finite(summary), indent=2) + "\n", encoding="utf-8")
    return written
