"""Rewrite PyLate 1.6.0's test files to run offline against plait (or against PyLate itself).

Two rewrites, both plain text substitutions that the harness's own tests check:

- imports: ``from pylate ...`` / ``import pylate`` become ``plait`` (only for the plait run);
- hub names: every quoted Hugging Face model or data set name becomes the quoted path of the
  tiny local stand-in (for both runs, so both libraries load the same folders).

:data:`ADAPTATIONS` lists the few other line edits, each with its reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_IMPORT = re.compile(r"^(?P<indent>[ \t]*)(?P<keyword>from|import)[ \t]+pylate\b", re.MULTILINE)


@dataclass(frozen=True)
class Adaptation:
    """A line edit applied to one target's copy of the tests.

    Parameters
    ----------
    target
        ``"plait"``, ``"pylate"`` or ``"both"``: the runs whose copies are edited.
    old, new
        The exact text replaced and its replacement.
    reason
        Why the edit keeps the test meaningful.
    file
        Only this test file (its name, e.g. ``"test_delete_parity.py"``); ``None``: every file.
    """

    target: str
    old: str
    new: str
    reason: str
    file: str | None = None


ADAPTATIONS = (
    Adaptation(
        target="both",
        old="assert pylate_model.model_card_data.base_model_revision == revision",
        new="pass  # a local stand-in has no hub revision (PyLate records one only for hub names)",
        reason="the model card's base_model_revision is set only for models loaded from the hub, "
        "so with local stand-ins it is None on both libraries; the test's other checks stay",
    ),
    Adaptation(
        target="plait",
        old='pytest.importorskip("voyager")',
        new="pass  # plait's indexes.Voyager does not use the voyager package",
        reason="plait's Voyager index is its own code; skipping when the voyager package is "
        "missing would hide the test from the plait run",
    ),
    Adaptation(
        target="plait",
        old='pytest.importorskip("xtr_warp")',
        new="pass  # plait has no WARP index: its [warp] cases fail, its [plaid] cases run",
        reason="the file tests PLAID and WARP side by side; skipping it whole on plait would hide "
        "the PLAID half, which plait can pass",
        file="test_delete_parity.py",
    ),
)


def rewrite_imports(source: str, package: str = "plait") -> str:
    """Point every ``from pylate`` / ``import pylate`` statement at ``package``.

    Parameters
    ----------
    source
        Python source text.
    package
        The package name that replaces ``pylate``.

    Returns
    -------
    str
        The source with import statements rewritten; strings, comments and names such as
        ``pylate_model`` are left alone.

    Examples
    --------
    >>> rewrite_imports("from pylate.scores import colbert_scores\\nimport pylate\\n")
    'from plait.scores import colbert_scores\\nimport plait\\n'
    >>> rewrite_imports('pylate_model = "pylate"')
    'pylate_model = "pylate"'
    """
    return _IMPORT.sub(lambda m: f"{m['indent']}{m['keyword']} {package}", source)


def rewrite_names(source: str, names: Mapping[str, Path | str]) -> str:
    """Replace each quoted hub name in ``source`` by the quoted path it maps to.

    Parameters
    ----------
    source
        Python source text.
    names
        Hub names (``"org/model"``) to local folders.

    Returns
    -------
    str
        The source with ``"org/model"`` and ``'org/model'`` literals replaced; a name inside a
        longer string is left alone.

    Examples
    --------
    >>> rewrite_names('ColBERT("bert-base-uncased")', {"bert-base-uncased": "/m/bert"})
    "ColBERT('/m/bert')"
    """
    for name, path in names.items():
        for quote in ('"', "'"):
            source = source.replace(f"{quote}{name}{quote}", repr(str(path)))
    return source


def rewrite_source(
    source: str, target: str, names: Mapping[str, Path | str], file: str | None = None
) -> str:
    """Apply every rewrite for ``target`` (``"plait"`` or ``"pylate"``) to one test file.

    Parameters
    ----------
    source
        The test file's text.
    target
        Which library the copy runs against.
    names
        Hub names to local folders (see :func:`rewrite_names`).
    file
        The test file's name, for the adaptations limited to one file.

    Returns
    -------
    str
        The rewritten source.
    """
    if target not in ("plait", "pylate"):
        raise ValueError(f"target must be 'plait' or 'pylate', not {target!r}")
    if target == "plait":
        source = rewrite_imports(source)
    for adaptation in ADAPTATIONS:
        if adaptation.target in (target, "both") and adaptation.file in (None, file):
            source = source.replace(adaptation.old, adaptation.new)
    return rewrite_names(source, names)


def hub_names_in(source: str) -> set[str]:
    """Return the quoted ``org/name`` strings in ``source`` that look like hub names.

    Parameters
    ----------
    source
        Python source text.

    Returns
    -------
    set[str]
        Candidates such as ``"lightonai/GTE-ModernColBERT-v1"``; relative paths the tests write
        (``"tests/kd"``) are left out.

    Examples
    --------
    >>> sorted(hub_names_in('load("lightonai/x-1", "tests/kd")'))
    ['lightonai/x-1']
    """
    found = re.findall(r"""["']([A-Za-z0-9][\w.-]*/[\w.-]+)["']""", source)
    return {name for name in found if not name.startswith(("tests/", "test_"))}
