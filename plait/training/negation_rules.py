"""The rule engine behind :mod:`plait.training.negation`: every polarity change one sentence allows.

:func:`sentence_edits` tokenises a sentence and lists, for each word a rule applies to, the edit
that flips the polarity there (an :class:`Edit`: a character span, its replacement, the pattern's
name and the tokens whose meaning the change covers). The words the rules know are in
:mod:`plait.training.negation_words`; the patterns are documented in
:mod:`plait.training.negation`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from plait.training import negation_words as words

__all__ = ["TOKEN", "Edit", "sentence_edits", "stems", "word_tokens"]

TOKEN = re.compile(r"[A-Za-z0-9]+(?:['’-][A-Za-z0-9]+)*|[^\sA-Za-z0-9]")
_CLAUSE_END = frozenset(
    {",", ";", ":", ".", "!", "?", "(", ")", "but", "although", "though", "while", "whereas",
     "because", "unless", "and"}
)  # fmt: skip
_STOPWORDS = frozenset(
    {"a", "an", "the", "of", "in", "on", "for", "to", "and", "or", "is", "are", "was", "were",
     "be", "with", "without", "by", "at", "from", "that", "this", "it", "as", "do", "does", "what",
     "which", "who", "how", "not", "no", "any", "can", "has", "have", "had", "there", "their"}
)  # fmt: skip
_AUXILIARIES = words.COPULAS | words.MODALS | {"has", "have", "had", "do", "does", "did"}
_PRONOUNS = frozenset({"i", "you", "we", "they"})
_NOUN_MARKERS = frozenset(
    {"a", "an", "the", "this", "that", "his", "her", "its", "their", "our", "my", "your", "each",
     "every", "some", "any", "no", "free"}
)  # fmt: skip
_SINGULAR_PRONOUNS = frozenset({"he", "she", "it", "this", "that", "which", "who", "one"})
_TIME_NOUNS = frozenset(
    {"day", "week", "month", "year", "time", "hour", "night", "morning", "evening", "other"}
)


@dataclass(frozen=True)
class _Token:
    text: str
    start: int
    end: int

    @property
    def low(self) -> str:
        return self.text.lower().replace("’", "'")

    @property
    def is_word(self) -> bool:
        return self.text[0].isalnum()


@dataclass(frozen=True)
class Edit:
    """One polarity change in a sentence: replace ``start:end`` by ``text``."""

    start: int  # character offsets in the sentence
    end: int
    text: str
    pattern: str
    scope: tuple[int, int]  # token range the changed polarity covers


def _cased(original: str, new: str) -> str:
    """Write ``new`` in the case of ``original`` (upper, capitalised or lower)."""
    if len(original) > 1 and original.isupper():
        return new.upper()
    if original[:1].isupper():
        return new[:1].upper() + new[1:]
    return new


def _article(word: str) -> str:
    """Choose ``a`` or ``an`` for ``word`` (``an hour``, ``a university``, ``an MRI``)."""
    low = word.lower()
    if len(word) > 1 and word.isupper():
        return "an" if word[0] in "AEFHILMNORSX" else "a"
    if low.startswith(("hour", "honest", "honor", "honour", "heir")):
        return "an"
    if low.startswith(("uni", "use", "usu", "eu", "one", "once", "ur")):
        return "a"
    return "an" if low[:1] in "aeiou" else "a"


def _third_person(base: str) -> str:
    if base in words.VERBS:
        return words.VERBS[base][0]
    if base.endswith(("s", "sh", "ch", "x", "z", "o")):
        return base + "es"
    if base.endswith("y") and base[-2:-1] not in ("a", "e", "i", "o", "u"):
        return base[:-1] + "ies"
    return base + "s"


def _past(base: str) -> str | None:
    if base in words.VERBS:
        return words.VERBS[base][1]
    if not base.isalpha() or len(base) < 3:
        return None
    if base.endswith("e"):
        return base + "d"
    if base.endswith("y") and base[-2] not in "aeiou":
        return base[:-1] + "ied"
    return base + "ed"


def _uncountable(word: str) -> bool:
    low = word.lower()
    return low in words.MASS_NOUNS or low.endswith(("ing", "ness", "ity", "ance", "ence"))


def _plural(word: str) -> bool:
    low = word.lower()
    return len(low) > 3 and low.endswith("s") and not low.endswith(("ss", "us", "is", "ics"))


def stems(texts: Sequence[str]) -> set[str]:
    """Return crude stems (first five letters) of the content words, for matching a query."""
    return {t[:5] for t in texts if t.isalnum() and t not in _STOPWORDS}


class _Sentence:
    """The candidate edits of one sentence."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = [_Token(m.group(), m.start(), m.end()) for m in TOKEN.finditer(text)]
        self.edits: list[Edit] = []
        self.question = text.rstrip().endswith("?")
        for i in range(len(self.tokens)):
            self._collect(i)

    # ------------------------------------------------------------------ helpers
    def low(self, i: int) -> str:
        return self.tokens[i].low if 0 <= i < len(self.tokens) else ""

    def clause_end(self, i: int) -> int:
        """Index of the first token after ``i`` that ends its clause (or the sentence)."""
        j = i + 1
        while j < len(self.tokens) and self.low(j) not in _CLAUSE_END:
            j += 1
        return j

    def add(
        self, first: int, last: int, new: str, pattern: str, scope: tuple[int, int] | None = None
    ) -> None:
        """Record replacing tokens ``first..last`` by ``new``, in the first token's case.

        An empty ``new`` deletes them, and capitalises the next word where they started the
        sentence.
        """
        start, end = self.tokens[first].start, self.tokens[last].end
        original = self.tokens[first].text
        if new:
            text = _cased(original, new) if original[:1].isupper() or original.isupper() else new
        else:
            following = last + 1
            if following >= len(self.tokens) or not self.tokens[following].is_word:
                return
            end = self.tokens[following].start
            text = ""
            if original[:1].isupper() and first == 0:
                nxt = self.tokens[following]
                end, text = nxt.end, nxt.text[:1].upper() + nxt.text[1:]
        scope = scope or (first, self.clause_end(last))
        self.edits.append(Edit(start, end, text, pattern, scope))

    def negated_before(self, i: int) -> bool:
        """Whether the clause of token ``i`` is already negated before it (``None of ... were``).

        Commas and brackets do not end the clause here (``No pets (cats, dogs) are``).
        """
        j = i - 1
        while j >= 0 and self.low(j) not in _CLAUSE_END - {",", "(", ")"}:
            if self.low(j) in words.NEGATION_CUES or self.low(j).endswith("n't"):
                return True
            j -= 1
        return False

    def hypothetical(self, i: int) -> bool:
        """Whether token ``i`` is in a ``whether``/``if``/``unless`` clause (no claim to flip)."""
        j = i - 1
        while j >= 0 and self.low(j) not in _CLAUSE_END - {"unless"}:
            if self.low(j) in ("whether", "if", "unless"):
                return True
            j -= 1
        return False

    def phrase(self, i: int) -> tuple[int, int]:
        """Return the noun phrase after token ``i``: up to five tokens, within the clause."""
        return (i, min(i + 6, self.clause_end(i)))

    # ------------------------------------------------------------------ rules
    def _collect(self, i: int) -> None:
        token = self.tokens[i]
        if not token.is_word or self.hypothetical(i):
            return
        low, prev, nxt = token.low, self.low(i - 1), self.low(i + 1)
        if nxt in words.NEGATION_CUES and low not in _AUXILIARIES:
            return  # "contains no nuts": the "no" is the claim's polarity, removed by its rule
        if nxt == "that" and low not in _AUXILIARIES:
            return  # "we show that ...": the claim is the clause, not the reporting verb
        if low in _AUXILIARIES:
            self._auxiliary(i, low, prev, nxt)
        elif low in words.CONTRACTIONS:
            self._contraction(i, low)
        elif self.negated_before(i) and low not in words.ANTONYM and low not in _WORD_RULES:
            return
        elif low in words.THIRD_PERSON or low in words.PAST:
            self._lexical(i, low, prev, nxt)
        elif low in words.VERBS and low != "have" and self._plural_subject(i, prev):
            self.add(i, i, f"do not {low}", "do-support")
        elif low in words.QUANTIFIERS:
            self.add(i, i, words.QUANTIFIERS[low], "quantifier", self.phrase(i))
        if low in words.ANTONYM:
            self._antonym(i, low, prev, nxt)
        if low in ("a", "an", "some", "any") and not self.negated_before(i):
            self._article_to_no(i, prev)
        rule = _WORD_RULES.get(low)
        if rule is not None:
            rule(self, i, prev, nxt)

    def _auxiliary(self, i: int, low: str, prev: str, nxt: str) -> None:
        if (i == 0 and self.question) or i + 1 >= len(self.tokens):
            return
        if nxt == "not":
            self._remove_not(i, low)
            return
        if nxt in words.NEGATION_CUES or nxt in words.NOT_IDIOMS or not self.tokens[i + 1].is_word:
            return
        if self.negated_before(i):
            return
        if nxt in words.ANTONYM and nxt not in words.AFFIRMED_ANTONYMS:
            return  # "is unsafe": the antonym rule makes "is safe"; "is not unsafe" is no twin
        if low in words.MODALS and (prev in _NOUN_MARKERS or self.tokens[i].text == "May"):
            return
        if low in ("has", "have", "had"):
            self._have(i, low, prev, nxt)
        elif low in ("do", "does", "did"):
            if nxt in words.VERBS:
                self.add(i, i, f"{low} not", "auxiliary")
        elif low == "can":
            self.add(i, i, "cannot", "auxiliary")
        elif prev == "there" and nxt in ("a", "an", "any", "some"):
            self.add(i + 1, i + 1, "no", "no", self.phrase(i + 1))
        else:
            self.add(i, i, f"{low} not", "auxiliary")

    def _have(self, i: int, low: str, prev: str, nxt: str) -> None:
        if nxt in words.PARTICIPLES or (nxt.endswith("ed") and len(nxt) > 3):
            self.add(i, i, f"{low} not", "auxiliary")
            return
        if prev in words.MODALS or prev in ("to", "not") or prev in words.CONTRACTIONS:
            return
        if low == "have" and prev not in _PRONOUNS and not _plural(prev):
            return
        support = {"has": "does", "have": "do", "had": "did"}[low]
        self.add(i, i, f"{support} not have", "do-support")

    def _lexical(self, i: int, low: str, prev: str, nxt: str) -> None:
        if i == 0 or prev in words.DETERMINERS or prev in _AUXILIARIES or prev in words.LINKING:
            return
        if low in words.THIRD_PERSON:
            base = words.THIRD_PERSON[low]
            if base == "have" or not nxt:
                return
            if low in words.NOUN_LIKE and (
                nxt in ("of", "and", "or") or not self._singular_subject(i, prev)
            ):
                return
            self.add(i, i, f"does not {base}", "do-support")
        elif nxt in words.OBJECT_STARTS and words.PAST[low] != "have":
            self.add(i, i, f"did not {words.PAST[low]}", "do-support")

    def _singular_subject(self, i: int, prev: str) -> bool:
        """Whether the ``-s`` verb at ``i`` follows ``it``, a name or ``the [word] <noun>``."""
        if prev in _SINGULAR_PRONOUNS or self.tokens[i - 1].text[:1].isupper():
            return True
        if _plural(prev) or not self.tokens[i - 1].is_word:
            return False
        for j in range(i - 2, max(i - 5, -1), -1):  # "the [Tala translation] app works"
            if self.low(j) in _NOUN_MARKERS:
                return True
            if not self.tokens[j].is_word or self.low(j) in _AUXILIARIES:
                return False
        return False

    def _plural_subject(self, i: int, prev: str) -> bool:
        """Whether the base verb at ``i`` follows a plural subject (``they``, ``the tablets``)."""
        if prev in _PRONOUNS:
            return True
        return _plural(prev) and self.low(i - 2) in _NOUN_MARKERS | {"", "all", "most", "many"}

    def _antonym(self, i: int, low: str, prev: str, nxt: str) -> None:
        if prev in ("not", "never") or prev in words.CONTRACTIONS:
            return
        if low in words.AFFIRMED_ANTONYMS and self.negated_before(i):
            return
        if low in words.PREDICATIVE_ONLY and prev not in words.LINKING:
            if not (
                low in ("granted", "denied", "grants", "denies") and nxt in words.OBJECT_STARTS
            ):
                return
        new = words.ANTONYM[low]
        scope = (max(i - 1, 0), self.clause_end(i))
        if prev in ("a", "an") and i > 0:
            article = _cased(self.tokens[i - 1].text, _article(new))
            self.add(i - 1, i, f"{article} {_cased(self.tokens[i].text, new)}", "antonym", scope)
        else:
            self.add(i, i, new, "antonym", scope)

    def _article_to_no(self, i: int, prev: str) -> None:
        if prev == "with" and self.low(i - 2) in words.WITH_EXCEPTIONS:
            return
        if prev in words.ARTICLE_VERBS and self.low(i + 1) not in ("few", "little", "lot"):
            self.add(i, i, "no", "no", self.phrase(i))

    def _remove_not(self, i: int, low: str) -> None:
        after = self.low(i + 2)
        if after in words.NOT_IDIOMS:
            return
        if low in ("do", "does", "did"):
            self._conjugate(i, i + 2, low)
        else:
            self.add(i, i + 1, low, "remove-not")

    def _contraction(self, i: int, low: str) -> None:
        affirmed = words.CONTRACTIONS[low]
        if self.low(i + 1) in words.NOT_IDIOMS:
            return
        if affirmed in ("do", "does", "did"):
            self._conjugate(i, i + 1, affirmed)
        else:
            self.add(i, i, affirmed, "remove-not")

    def _conjugate(self, i: int, verb: int, support: str) -> None:
        """Turn ``does not [adverb] VERB`` (tokens ``i..verb``) into ``[adverb] VERBs``."""
        adverb = ""
        if self.low(verb) in words.ADVERBS:
            adverb, verb = self.tokens[verb].text + " ", verb + 1
        base = self.low(verb)
        if verb >= len(self.tokens) or not base.isalpha():
            return
        form = (
            _third_person(base) if support == "does" else _past(base) if support == "did" else base
        )
        if form:
            self.add(i, verb, adverb + form, "remove-not")


def _rule_not(s: _Sentence, i: int, prev: str, nxt: str) -> None:
    if prev not in _AUXILIARIES and nxt in ("all", "every", "everyone", "always", "many"):
        s.add(i, i, "", "remove-not")


def _rule_no(s: _Sentence, i: int, prev: str, nxt: str) -> None:
    if not nxt or not s.tokens[i + 1].is_word or nxt in words.NO_IDIOMS:
        return
    if nxt == "longer":
        s.add(i, i + 1, "still", "remove-no")
    elif nxt == "one":
        s.add(i, i + 1, "someone", "remove-quantifier")
    else:
        j = i + 1
        while (
            j + 1 < s.clause_end(i)
            and s.low(j + 1).isalpha()
            and s.low(j + 1)
            not in (words.DETERMINERS | _AUXILIARIES | {"that", "which", "who", "was", "were"})
        ):
            j += 1
        head = s.tokens[j].text
        new = "" if _plural(head) or _uncountable(head) else _article(s.tokens[i + 1].text)
        s.add(i, i, new, "remove-no", s.phrase(i))


def _rule_never(s: _Sentence, i: int, prev: str, nxt: str) -> None:
    verb_like = (
        nxt in words.THIRD_PERSON
        or nxt in words.PAST
        or nxt in words.VERBS
        or nxt in words.PARTICIPLES
        or nxt.endswith("ed")
    )
    if nxt and (prev in _AUXILIARIES or verb_like):
        s.add(i, i, "", "remove-never")


def _rule_with(s: _Sentence, i: int, prev: str, nxt: str) -> None:
    if prev in words.WITH_EXCEPTIONS or nxt in (
        "no",
        "which",
        "whom",
        "regard",
        "respect",
        "and",
        "or",
    ):
        return
    if nxt and s.tokens[i + 1].is_word:
        s.add(i, i, "without", "without", s.phrase(i))


def _rule_without(s: _Sentence, i: int, prev: str, nxt: str) -> None:
    if nxt and s.tokens[i + 1].is_word and not (nxt.endswith("ing") and not _uncountable(nxt)):
        s.add(i, i, "with", "remove-without", s.phrase(i))


def _rule_all_some(s: _Sentence, i: int, prev: str, nxt: str) -> None:
    if prev in ("at", "after", "above", "not", "in") or s.low(i + 2) in ("few", "little"):
        return
    if nxt == "of":
        s.add(i, i, "none", "quantifier", s.phrase(i))
    elif nxt == "the" and s.low(i) == "all":
        s.add(i, i, "none of", "quantifier", s.phrase(i))


def _rule_every(s: _Sentence, i: int, prev: str, nxt: str) -> None:
    if nxt.isalpha() and nxt not in _TIME_NOUNS and prev not in ("not", "almost", "nearly"):
        s.add(i, i, "no", "quantifier", s.phrase(i))


def _rule_none(s: _Sentence, i: int, prev: str, nxt: str) -> None:
    if nxt == "of":
        s.add(i, i, "some", "remove-quantifier", s.phrase(i))


def _rule_negated_quantifier(s: _Sentence, i: int, prev: str, nxt: str) -> None:
    s.add(i, i, words.NEGATED_QUANTIFIERS[s.low(i)], "remove-quantifier", s.phrase(i))


_WORD_RULES = {
    "not": _rule_not,
    "no": _rule_no,
    "never": _rule_never,
    "with": _rule_with,
    "without": _rule_without,
    "all": _rule_all_some,
    "some": _rule_all_some,
    "every": _rule_every,
    "none": _rule_none,
    **{word: _rule_negated_quantifier for word in words.NEGATED_QUANTIFIERS},
}


def sentence_edits(sentence: str) -> tuple[list[str], list[Edit]]:
    """Return the sentence's lower-cased tokens and every polarity edit the rules allow in it."""
    parsed = _Sentence(sentence)
    return [token.low for token in parsed.tokens], parsed.edits


def word_tokens(text: str) -> list[str]:
    """Return the lower-cased word and punctuation tokens of ``text`` (straight apostrophes)."""
    return [m.group().lower().replace("’", "'") for m in TOKEN.finditer(text)]
