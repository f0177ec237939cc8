"""``plait compare``: find out whether late interaction is worth it on your data.

Runs BM25, a bi-encoder, plait ColBERT (exact, PLAID 1/2/4-bit, token pooling), re-rank pipelines
and optionally a cross-encoder on one data set through one evaluation path, then writes an HTML and
Markdown report with a verdict derived from the numbers::

    from plait.compare import CompareSettings, load_compare_data, run_compare, write_report

    data = load_compare_data("scifact")
    result = run_compare(data, CompareSettings())
    write_report(result, "compare-report")
"""

from plait.compare.data import CompareData, load_compare_data
from plait.compare.report import render_html, render_markdown, write_report
from plait.compare.results import CompareResult, SignificanceTest, SystemResult
from plait.compare.runner import CompareSettings, run_compare
from plait.compare.systems import ALL_SYSTEMS
from plait.compare.verdict import verdict

__all__ = [
    "ALL_SYSTEMS",
    "CompareData",
    "CompareResult",
    "CompareSettings",
    "SignificanceTest",
    "SystemResult",
    "load_compare_data",
    "render_html",
    "render_markdown",
    "run_compare",
    "verdict",
    "write_report",
]
