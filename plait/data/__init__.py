"""Small data shipped with plait: the demo corpus used by ``plait demo`` (no network needed).

``demo_corpus.jsonl`` holds short original documents on varied topics, written for plait,
including medical records that differ only by negation ("has no history of cardiac disease"
vs "has a long history of cardiac disease"). Records use BEIR's fields: ``_id``, ``title``, ``text``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["DEMO_QUERIES", "demo_corpus_path", "load_demo_corpus"]

DEMO_QUERIES: tuple[str, ...] = (
    "patients with cardiac conditions",
    "patient without any history of heart disease",
    "what causes transformer overfitting",
    "which planets have rings",
    "is this dish safe for someone who avoids meat",
    "who must repair the roof of a rented flat",
)


def demo_corpus_path() -> Path:
    """Path of the packaged ``demo_corpus.jsonl``."""
    return Path(str(resources.files("plait.data").joinpath("demo_corpus.jsonl")))


def load_demo_corpus() -> list[dict[str, str]]:
    """Return the demo documents as ``[{"id", "text"}]`` (title and text joined, as for BEIR)."""
    from plait.evaluation.beir import load_corpus

    return load_corpus(demo_corpus_path())
