"""Negated twins: the same text with the polarity of one claim flipped, for hard negatives.

A *negated twin* of a document differs from it in one place only, where a claim is turned into
its negation ("the patient **has** a history of cardiac disease" -> "the patient **does not
have** a history of cardiac disease") or a negation is removed ("the drug is **not** approved"
-> "the drug is approved"). Trained as a hard negative beside its source, it teaches a retriever
that the polarity words matter: the one thing a bag of similar tokens does not show.

The rules are deterministic, rule-based and only touch the words of
:mod:`plait.training.negation_words`. Affirmed -> negated:

========================  =======================================================================
pattern                   example
========================  =======================================================================
``auxiliary``             ``is`` -> ``is not``, ``can`` -> ``cannot``, ``has been`` -> ``has not
                          been``, ``should`` -> ``should not`` (copulas, modals, perfect ``has``)
``do-support``            ``has a`` -> ``does not have a``, ``contains`` -> ``does not contain``,
                          ``covered the`` -> ``did not cover the`` (listed verbs only)
``no``                    ``has a history`` -> ``has no history``, ``there is a`` -> ``there is no``
``without``               ``with`` -> ``without`` (not in fixed phrases such as ``compared with``)
``quantifier``            ``all of`` / ``some of`` -> ``none of``, ``every`` -> ``no``,
                          ``everyone`` -> ``no one``, ``something`` -> ``nothing``
``antonym``               ``allowed`` <-> ``forbidden``, ``granted`` <-> ``denied``, ``safe`` <->
                          ``unsafe``, ``includes`` <-> ``excludes``, ... (both directions; the
                          table is :data:`~plait.training.negation_words.ANTONYMS`)
========================  =======================================================================

Negated -> affirmed (a negated sentence's twin is the affirmed one):

========================  =======================================================================
``remove-not``            ``is not`` -> ``is``, ``cannot`` -> ``can``, ``isn't`` -> ``is``,
                          ``does not contain`` -> ``contains``, ``did not have`` -> ``had``
``remove-no``             ``no history`` -> ``a history``, ``no allergies`` -> ``allergies``,
                          ``no evidence`` -> ``evidence``, ``no longer`` -> ``still``
``remove-never``          ``has never smoked`` -> ``has smoked``
``remove-without``        ``without`` -> ``with`` (not before a gerund: ``without warning``)
``remove-quantifier``     ``none of`` -> ``some of``, ``no one`` -> ``someone``, ``nothing`` ->
                          ``something``
========================  =======================================================================

Idioms are left alone (``not only``, ``no later than``, ``no doubt``), as are questions' inverted
auxiliaries. Case and punctuation are kept: only the changed words differ, a sentence-initial
word keeps its capital, ``a``/``an`` before a swapped word is fixed.

**One sentence, one change.** A document's twin flips exactly one claim, in one sentence, and is
otherwise the document word for word. Flipping every claim would make a text that contradicts
itself less often but changes several places at once; one minimal change is the contrast the
model has to learn, and it keeps the twin an unambiguous negative *for the query it is made for*:
given a ``query``, the change is the one whose scope (the predicate after a negated verb, the
noun phrase after ``no``/``without``) shares most words with the query, in the sentence that
shares most words with it; then a negated verb before the other patterns, ``with``/``without``
last; the seed breaks the remaining ties (and picks among equals without a query). With a
query, a change in a sentence that shares no content word with it is not made: that twin would
still answer the query. Every twin passes :func:`is_polarity_twin`: it differs from its source in
one span, and that span carries a negation cue or an antonym pair. When no documented pattern
applies, there is no twin (``None``).

A twin of a long document is a weaker negative than a twin of a sentence: the other sentences
still say what they said. Mining uses twins beside ordinary hard negatives, never instead of all
of them.

>>> negate("The patient has a history of cardiac disease.")
'The patient does not have a history of cardiac disease.'
>>> negate("Pets are not allowed in the flat.")
'Pets are allowed in the flat.'
>>> negate("Paris in the spring.") is None
True
"""

from __future__ import annotations

import difflib
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from plait.training import negation_words as words
from plait.training.negation_rules import sentence_edits, stems, word_tokens

__all__ = [
    "NegatedTwin",
    "PATTERNS",
    "is_polarity_twin",
    "negate",
    "negated_twins",
    "negation_rows",
]

#: Every pattern name a :class:`NegatedTwin` may carry (see the module's tables).
PATTERNS: tuple[str, ...] = (
    "auxiliary",
    "do-support",
    "no",
    "without",
    "quantifier",
    "antonym",
    "remove-not",
    "remove-no",
    "remove-never",
    "remove-without",
    "remove-quantifier",
)

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")


@dataclass(frozen=True)
class NegatedTwin:
    """One twin of a text: the new ``text``, the ``pattern`` applied and the changed sentence.

    ``sentence`` is the index of the changed sentence in the source; ``before`` / ``after`` are
    that sentence before and after the change.
    """

    text: str
    pattern: str
    sentence: int
    before: str
    after: str


# ---------------------------------------------------------------------- checking
def _prefixed(a: str, b: str) -> bool:
    """Whether ``b`` is ``a`` with a negative prefix (``safe``/``unsafe``)."""
    return any(b == prefix + a for prefix in words.NEGATIVE_PREFIXES)


def is_polarity_twin(source: str, twin: str) -> bool:
    """Whether ``twin`` differs from ``source`` in exactly one span that flips polarity.

    The span (a word-level difference) must carry a negation cue (``not``, ``no``, ``never``,
    ``without``, ``none``, a negated contraction, ...) on one side only, or an antonym pair of
    :data:`~plait.training.negation_words.ANTONYMS`, or a word and its negatively prefixed form
    (``safe``/``unsafe``, ``toxic``/``non-toxic``). An identical text is no twin.

    >>> is_polarity_twin("The dog is friendly.", "The dog is not friendly.")
    True
    >>> is_polarity_twin("The dog is friendly.", "The cat is friendly.")
    False
    """
    a, b = word_tokens(source), word_tokens(twin)
    blocks = [op for op in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()]
    changed = [op for op in blocks if op[0] != "equal"]
    if len(changed) != 1:
        return False
    _, i1, i2, j1, j2 = changed[0]
    left, right = a[i1:i2], b[j1:j2]

    def cues(side: list[str]) -> int:
        return sum(w in words.NEGATION_CUES or w.endswith("n't") for w in side)

    if cues(left) != cues(right):
        return True
    if {"all", "some", "every"} & set(left + right) and {"none", "no"} & set(left + right):
        return True
    if {"still"} == set(left) or {"still"} == set(right):
        return "longer" in left + right
    pairs = [(x, y) for x in left for y in right]
    return any(words.ANTONYM.get(x) == y or _prefixed(x, y) or _prefixed(y, x) for x, y in pairs)


# ---------------------------------------------------------------------- API
def _sentence_spans(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


#: Tie-break between equally matching changes: a negated verb flips the whole predicate; a swapped
#: "with" is the likeliest to land in a fixed phrase.
_PRIORITY = {"auxiliary": 2, "do-support": 2, "remove-not": 2, "remove-never": 2, "without": 0,
             "remove-without": 0}  # fmt: skip


def _candidates(text: str, query: str | None, rng: random.Random) -> list[NegatedTwin]:
    """List every twin of ``text``, best first.

    First the most query words in the change's scope, then in its sentence, then negated verbs
    before other patterns and ``with``/``without`` last, then the seeded order.
    """
    wanted = stems(word_tokens(query)) if query else set()
    ranked = []
    for index, (start, end) in enumerate(_sentence_spans(text)):
        sentence = text[start:end]
        lows, edits = sentence_edits(sentence)
        in_sentence = len(wanted & stems(lows))
        for edit in edits:
            after = sentence[: edit.start] + edit.text + sentence[edit.end :]
            if not is_polarity_twin(sentence, after):
                continue
            if wanted and not in_sentence:
                continue  # a change elsewhere leaves the text an answer to the query
            in_scope = len(wanted & stems(lows[edit.scope[0] : edit.scope[1]]))
            twin = NegatedTwin(
                text[:start] + after + text[end:], edit.pattern, index, sentence, after
            )
            priority = _PRIORITY.get(edit.pattern, 1)
            ranked.append(((in_scope, in_sentence, priority, rng.random()), twin))
    ranked.sort(key=lambda pair: pair[0], reverse=True)
    return [twin for _, twin in ranked]


def negated_twins(
    text: str, n: int = 1, *, query: str | None = None, seed: int | str = 0
) -> list[NegatedTwin]:
    """Up to ``n`` distinct negated twins of ``text``, each one change away from it.

    Parameters
    ----------
    text
        A sentence or a document (sentences end with ``.``, ``!`` or ``?``).
    n
        How many twins at most.
    query
        The query the twins are negatives for: changes in the text it matches come first.
    seed
        Orders changes that match the query equally (an int or a string, e.g. a document id).

    Returns
    -------
    list of NegatedTwin
        Best first; empty when no documented pattern applies.
    """
    rng = random.Random(seed if isinstance(seed, int) else str(seed))
    out: list[NegatedTwin] = []
    seen = {text}
    for twin in _candidates(text, query, rng):
        if twin.text not in seen:
            seen.add(twin.text)
            out.append(twin)
            if len(out) == n:
                break
    return out


def negate(text: str, *, query: str | None = None, seed: int | str = 0) -> str | None:
    """Return the negated twin of ``text`` (see the module's rules), or ``None`` if none applies.

    Parameters
    ----------
    text
        A sentence or a document.
    query
        The query the twin is a negative for (the change goes where the query matches).
    seed
        Breaks ties between equally good changes.

    Returns
    -------
    str or None
        ``text`` with one claim's polarity flipped, case and punctuation kept.
    """
    twins = negated_twins(text, 1, query=query, seed=seed)
    return twins[0].text if twins else None


def negation_rows(
    rows: Sequence[Mapping[str, Any]], n: int, *, seed: int = 0
) -> list[dict[str, Any]]:
    """Make training rows whose negatives are negated twins of the rows' positives.

    For each distinct (query, positive) pair of ``rows`` (``query`` or ``anchor``, ``positive``),
    up to ``n`` twins (:func:`negated_twins`, placed where the query matches), each in a copy of
    the pair's first row: in ``negative``, or in ``negative_1`` with the row's other negatives
    moved one column on (the last dropped), so every row keeps the same columns. A twin that is
    a positive of the same query is skipped.

    Parameters
    ----------
    rows
        Contrastive training rows, all with the same columns and a negative column.
    n
        Twins per pair at most.
    seed
        Seeds the choice between equally good changes (with the pair's texts).

    Returns
    -------
    list of dict
        The new rows only, in the order of the pairs.

    Raises
    ------
    ValueError
        The rows have no ``negative`` or ``negative_1`` column.
    """
    if not rows or n < 1:
        return []
    columns = list(rows[0])
    query_column = "query" if "query" in columns else "anchor"
    negatives = sorted(
        (c for c in columns if c.startswith("negative_") and c[9:].isdigit()),
        key=lambda c: int(c[9:]),
    )
    if "negative" in columns:
        negatives = ["negative"]
    if not negatives:
        raise ValueError(
            f"negation negatives need rows with a negative column, got columns {columns}"
        )
    positives: dict[str, set[str]] = {}
    for row in rows:
        positives.setdefault(row[query_column], set()).add(row["positive"])
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for row in rows:
        pair = (row[query_column], row["positive"])
        if pair in seen:
            continue
        seen.add(pair)
        for twin in negated_twins(pair[1], n, query=pair[0], seed=f"{seed}:{pair[0]}:{pair[1]}"):
            if twin.text in positives[pair[0]]:
                continue
            new = dict(row)
            shifted = [twin.text] + [row[c] for c in negatives[:-1]]
            new.update(zip(negatives, shifted, strict=True))
            out.append(new)
    return out
