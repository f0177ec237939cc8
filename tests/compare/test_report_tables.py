"""The report's tables and notes: p and Δ formatting, latency spread flags, machine lines."""

from __future__ import annotations

from plait.compare import CompareResult, SignificanceTest, SystemResult, render_markdown
from plait.compare.report import cost_table, environment_lines, quality_table


def _system(name: str, label: str, ndcg: float, latency: list[float], **kwargs) -> SystemResult:
    return SystemResult(
        name=name,
        label=label,
        family="colbert",
        index_bytes=1000,
        n_documents=10,
        build_s=1.0,
        latency_ms=latency,
        metrics={"ndcg@10": ndcg},
        latency_rounds=kwargs.pop("rounds", 1),
        latency_stable=kwargs.pop("stable", True),
        **kwargs,
    )


def _result(stat_test: str = "student") -> CompareResult:
    bi = _system("biencoder", "Bi-encoder", 0.645, [30.0, 31.0, 32.0, 33.0], rounds=2)
    colbert = _system("colbert", "ColBERT exact", 0.6454, [100.0, 101.0, 102.0, 103.0], rounds=2)
    noisy = _system("plaid-1bit", "PLAID 1-bit", 0.70, [50.0, 90.0, 640.0, 900.0], rounds=4)
    drifting = _system("pool-3", "ColBERT pool 3", 0.70, [20.0, 21.0], stable=False, rounds=2)
    colbert.versus_baseline = {"ndcg@10": SignificanceTest(0.0004, 0.04996, True)}
    noisy.versus_baseline = {"ndcg@10": SignificanceTest(0.055, 0.0500001, False)}
    drifting.versus_baseline = {"ndcg@10": SignificanceTest(0.055, 0.2, False)}
    return CompareResult(
        data_name="constructed",
        n_documents=10,
        n_queries=40,
        has_qrels=True,
        systems=[bi, colbert, noisy, drifting],
        settings={
            "metrics": ["ndcg@10"],
            "stat_test": stat_test,
            "randomisation_resamples": 10_000,
            "randomisation_seed": 42,
            "model": "default (plait ColBERT, offline)",
            "model_name": "plait's default model",
            "bi_encoder_name": "all-MiniLM-L6-v2",
        },
        environment={
            "date": "2026-12-04 10:00 UTC",
            "platform": "Linux-6",
            "cpu": "AMD EPYC",
            "cpu_count": 2,
            "torch_threads": 2,
            "load_average_start": [0.5, 0.4, 0.3],
            "load_average_latency_start": [1.0, 0.8, 0.5],
            "load_average_latency_end": [1.5, 1.0, 0.6],
            "load_average_end": [1.6, 1.1, 0.7],
            "versions": {"python": "3.11.7", "plait": "0.1.0", "numpy": "2.4"},
            "plait_commit": "abc1234",
            "default_model_delta": "0123456789ab",
        },
    )


def test_quality_table_deltas_and_p_values_keep_their_meaning():
    table = quality_table(_result())
    rows = {row[0]: row for row in table.rows}
    assert rows["ColBERT exact"][2] == "+0.0004 (p=0.04996) *"  # not "+0.000 (p=0.05) *"
    assert rows["PLAID 1-bit"][2] == "+0.055 (p=0.05)"  # 0.05 is not < 0.05: no star
    assert "ranx" not in table.note
    assert "two-sided paired t-test (scipy.stats.ttest_rel)" in table.note
    assert (
        "this table holds 3 tests, and where two systems do not differ a test still falls below 0.05 one time in 20"
        in table.note
    )
    fisher = quality_table(_result("fisher")).note
    assert (
        "scipy.stats.permutation_test over paired sign flips, 10,000 resamples with seed 42"
        in fisher
    )


def test_cost_table_flags_spread_larger_than_the_gap_and_unsettled_medians():
    table = cost_table(_result())
    column = {name: i for i, name in enumerate(table.header)}
    rows = {row[0]: row for row in table.rows}
    gap, spread, timings = (
        column["p50 gap ms"],
        column["p25–p75 ms"],
        column["timings (queries × rounds)"],
    )
    assert rows["ColBERT exact"][gap] == "+70.0 vs biencoder"  # IQR 1.5 < gap 70: no flag
    assert rows["Bi-encoder"][gap] == "-70.0 vs colbert"
    assert rows["PLAID 1-bit"][gap] == "+263.5 vs colbert †"  # 80-705 covers 100.75-102.25
    assert rows["PLAID 1-bit"][spread] == "80.0–705.0"
    assert rows["ColBERT pool 3"][timings] == "1 × 2 ‡" and rows["Bi-encoder"][timings] == "2 × 2"
    assert "† = the two rows' p25–p75 ranges overlap: the spread covers the gap" in table.note


def test_machine_lines_and_markdown_section():
    lines = environment_lines(_result())
    assert lines == [
        "Date: 2026-12-04 10:00 UTC.",
        "Machine: Linux-6; CPU: AMD EPYC.",
        "CPUs (os.cpu_count()): 2; torch threads: 2.",
        "Load average (1 / 5 / 15 min): 0.50 / 0.40 / 0.30 at the start, 1.00 / 0.80 / 0.50 when "
        "latency timing began, 1.50 / 1.00 / 0.60 when it ended, 1.60 / 1.10 / 0.70 at the end.",
        "Versions: python 3.11.7, plait 0.1.0, numpy 2.4 (plait commit abc1234).",
        "Default ColBERT model delta (plait/models/default/delta.safetensors): SHA-256 0123456789ab...",
    ]
    text = render_markdown(_result(), {})
    assert (
        "## Machine and versions" in text
        and "ColBERT: plait's default model; bi-encoder: all-MiniLM-L6-v2" in text
    )
