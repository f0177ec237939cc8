"""Small data shipped with plait: the demo corpus used by ``plait demo`` (no network needed).

``demo_corpus.jsonl`` holds short original documents on varied topics, written for plait,
including medical records that differ only by negation ("has no history of cardiac disease"
vs "has a long history of cardiac disease"). Records use BEIR's fields: ``_id``, ``title``, ``text``.

``negation_dev.jsonl`` is plait's negation development set: 320 (query, positive, negative)
triples where the two documents differ only in the polarity of one claim, across medical, legal,
technical and general text (``NEGATION.md`` beside it says how it was built;
``recipes/negation_dev_set.py`` writes it).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from plait.evaluation.negation import NegationTriple

__all__ = [
    "DEMO_QUERIES",
    "demo_corpus_path",
    "load_demo_corpus",
    "load_negation_dev",
    "negation_dev_path",
]

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


def negation_dev_path() -> Path:
    """Path of the packaged negation development set, ``negation_dev.jsonl``."""
    return Path(str(resources.files("plait.data").joinpath("negation_dev.jsonl")))


def load_negation_dev(side: str | None = None) -> list[NegationTriple]:
    """Return the negation development set as :class:`~plait.evaluation.negation.NegationTriple`.

    Parameters
    ----------
    side
        ``"document"`` or ``"query"`` keeps only that side's triples; ``None`` keeps all.
    """
    from plait.evaluation.negation import load_negation_triples

    triples = load_negation_triples(negation_dev_path())
    return [t for t in triples if side is None or t.side == side]
