"""ColBERT settings with PyLate's names and defaults, merged and validated in one place."""

from __future__ import annotations

import string
from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class ColBERTSettings:
    """How texts become token sequences (PyLate's ``config_sentence_transformers.json`` keys).

    Attributes
    ----------
    query_prefix, document_prefix
        Marker tokens inserted after ``[CLS]``; an empty string means no marker (as in PyLate).
    query_length
        Query length in tokens, markers included; queries are expanded to it.
    document_length
        Maximum document length in tokens; longer documents are truncated.
    do_query_expansion
        Pad queries with ``[MASK]`` to ``query_length`` and keep those rows.
    attend_to_expansion_tokens
        Let the encoder attend to the expansion tokens (forced ``False`` without query expansion, as
        in PyLate).
    skiplist_words
        Tokens dropped from document outputs (default: ``string.punctuation``).
    """

    query_prefix: str = "[Q] "
    document_prefix: str = "[D] "
    query_length: int = 32
    document_length: int = 180
    do_query_expansion: bool = True
    attend_to_expansion_tokens: bool = False
    skiplist_words: list[str] = field(default_factory=lambda: list(string.punctuation))

    @classmethod
    def resolve(cls, given: dict[str, Any], saved: dict[str, Any]) -> ColBERTSettings:
        """Arguments (``None`` = unset) override saved values, which override the defaults.

        Raises
        ------
        ValueError
            A value of the wrong type or out of range (the message names the setting).
        """
        names = {f.name for f in fields(cls)}
        merged = {k: v for k, v in saved.items() if k in names and v is not None}
        merged.update({k: v for k, v in given.items() if k in names and v is not None})
        settings = cls(**merged)
        settings.validate()
        if not settings.do_query_expansion:
            settings.attend_to_expansion_tokens = False
        return settings

    def validate(self) -> None:
        """Check every setting's type and range."""
        for name in ("query_length", "document_length"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 3:
                raise ValueError(f"{name} must be an integer >= 3, got {value!r}")
        for name in ("query_prefix", "document_prefix"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a string, got {getattr(self, name)!r}")
        for name in ("do_query_expansion", "attend_to_expansion_tokens"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        words = self.skiplist_words
        if isinstance(words, str) or not all(isinstance(word, str) for word in words):
            raise ValueError(f"skiplist_words must be a list of strings, got {words!r}")
        self.skiplist_words = list(words)

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as saved in ``config_sentence_transformers.json``."""
        return asdict(self)
