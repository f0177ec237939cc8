"""The word lists behind :mod:`plait.training.negation`: every word the generator may change.

The generator only touches words listed here (or a regular form of them), so what it can do is
this file. Each table says what it is for; :mod:`plait.training.negation` documents the rules
that use them.
"""

from __future__ import annotations

#: Copulas and auxiliaries that take ``not`` after them (``is`` -> ``is not``).
COPULAS: frozenset[str] = frozenset({"is", "are", "was", "were", "am"})
#: Modal verbs: ``can`` becomes ``cannot``, the others take ``not``.
MODALS: frozenset[str] = frozenset(
    {"can", "could", "will", "would", "shall", "should", "may", "might", "must"}
)
#: Negated auxiliaries written as one word, and their affirmed form.
CONTRACTIONS: dict[str, str] = {
    "isn't": "is",
    "aren't": "are",
    "wasn't": "was",
    "weren't": "were",
    "can't": "can",
    "cannot": "can",
    "couldn't": "could",
    "won't": "will",
    "wouldn't": "would",
    "shouldn't": "should",
    "mustn't": "must",
    "hasn't": "has",
    "haven't": "have",
    "hadn't": "had",
    "doesn't": "does",
    "don't": "do",
    "didn't": "did",
}

#: Lexical verbs the generator conjugates: base form -> (third person singular, past tense).
#: ``contains`` -> ``does not contain``, ``did not cover`` -> ``covered``. Only these verbs are
#: negated as main verbs (many ``-s`` and ``-ed`` words are nouns or participles).
VERBS: dict[str, tuple[str, str]] = {
    "accept": ("accepts", "accepted"),
    "affect": ("affects", "affected"),
    "apply": ("applies", "applied"),
    "appear": ("appears", "appeared"),
    "attend": ("attends", "attended"),
    "carry": ("carries", "carried"),
    "cause": ("causes", "caused"),
    "charge": ("charges", "charged"),
    "complain": ("complains", "complained"),
    "come": ("comes", "came"),
    "contain": ("contains", "contained"),
    "cover": ("covers", "covered"),
    "develop": ("develops", "developed"),
    "drink": ("drinks", "drank"),
    "eat": ("eats", "ate"),
    "fit": ("fits", "fitted"),
    "fix": ("fixes", "fixed"),
    "follow": ("follows", "followed"),
    "get": ("gets", "got"),
    "give": ("gives", "gave"),
    "go": ("goes", "went"),
    "have": ("has", "had"),
    "hold": ("holds", "held"),
    "improve": ("improves", "improved"),
    "increase": ("increases", "increased"),
    "interact": ("interacts", "interacted"),
    "involve": ("involves", "involved"),
    "know": ("knows", "knew"),
    "lead": ("leads", "led"),
    "leave": ("leaves", "left"),
    "like": ("likes", "liked"),
    "live": ("lives", "lived"),
    "lower": ("lowers", "lowered"),
    "make": ("makes", "made"),
    "mention": ("mentions", "mentioned"),
    "name": ("names", "named"),
    "need": ("needs", "needed"),
    "offer": ("offers", "offered"),
    "open": ("opens", "opened"),
    "own": ("owns", "owned"),
    "pay": ("pays", "paid"),
    "prevent": ("prevents", "prevented"),
    "protect": ("protects", "protected"),
    "provide": ("provides", "provided"),
    "qualify": ("qualifies", "qualified"),
    "receive": ("receives", "received"),
    "reduce": ("reduces", "reduced"),
    "report": ("reports", "reported"),
    "require": ("requires", "required"),
    "respond": ("responds", "responded"),
    "run": ("runs", "ran"),
    "see": ("sees", "saw"),
    "sell": ("sells", "sold"),
    "serve": ("serves", "served"),
    "ship": ("ships", "shipped"),
    "show": ("shows", "showed"),
    "sleep": ("sleeps", "slept"),
    "smoke": ("smokes", "smoked"),
    "stop": ("stops", "stopped"),
    "suffer": ("suffers", "suffered"),
    "support": ("supports", "supported"),
    "survive": ("survives", "survived"),
    "take": ("takes", "took"),
    "treat": ("treats", "treated"),
    "use": ("uses", "used"),
    "violate": ("violates", "violated"),
    "want": ("wants", "wanted"),
    "wear": ("wears", "wore"),
    "win": ("wins", "won"),
    "work": ("works", "worked"),
}
#: Third-person forms that are too often plural nouns to be read as verbs.
NOUN_LIKE: frozenset[str] = frozenset(
    {
        "causes",
        "needs",
        "uses",
        "increases",
        "reports",
        "leaves",
        "charges",
        "works",
        "shows",
        "names",
        "complains",
    }
)
THIRD_PERSON: dict[str, str] = {forms[0]: base for base, forms in VERBS.items()}
PAST: dict[str, str] = {forms[1]: base for base, forms in VERBS.items()}

#: Past participles after ``has``/``have``/``had`` that make them auxiliaries (``has been``);
#: any word ending in ``-ed`` counts too.
PARTICIPLES: frozenset[str] = frozenset(
    {
        "been", "had", "done", "gone", "seen", "shown", "taken", "given", "made", "found",
        "known", "grown", "written", "chosen", "begun", "become", "come", "run", "won", "held",
        "kept", "left", "led", "lost", "met", "paid", "said", "sent", "spent", "built", "sold",
        "told", "brought", "bought", "thought", "caught", "taught", "felt", "drunk", "eaten",
        "broken", "spoken", "driven", "worn", "fallen", "risen", "got", "gotten", "put", "set",
    }
)  # fmt: skip
#: Words that may stand between ``does not`` (or ``has``) and the verb.
ADVERBS: frozenset[str] = frozenset(
    {"also", "always", "usually", "often", "ever", "yet", "already", "recently", "previously",
     "really", "currently", "necessarily", "fully", "just", "still", "actually"}
)  # fmt: skip

#: Words before which a modal or a verb form is a noun (``a can``, ``the will``).
DETERMINERS: frozenset[str] = frozenset(
    {"a", "an", "the", "this", "that", "these", "those", "his", "her", "its", "their", "our",
     "my", "your", "each", "every", "some", "any", "no", "of", "in", "on", "for", "to", "by",
     "from", "with", "at", "and", "or"}
)  # fmt: skip
#: Words after which a lexical past form is taken as a verb with an object (``approved the``).
OBJECT_STARTS: frozenset[str] = frozenset(
    {"a", "an", "the", "this", "that", "these", "those", "his", "her", "its", "their", "our",
     "my", "your", "him", "them", "it", "me", "us", "all", "both", "two", "three", "several",
     "many", "any", "some"}
)  # fmt: skip
#: Words after which ``a``/``an``/``some``/``any`` becomes ``no`` (``has a history`` -> ``has no``).
ARTICLE_VERBS: frozenset[str] = frozenset(
    {"has", "have", "had", "contains", "contained", "shows", "showed", "revealed", "reveals",
     "reports", "reported",
     "offers", "offered", "found", "finds", "includes", "included", "with"}
)  # fmt: skip

#: Words before ``with`` that make it part of a fixed phrase, not "having" (``compared with``).
WITH_EXCEPTIONS: frozenset[str] = frozenset(
    {"along", "together", "compared", "comparing", "associated", "consistent", "inconsistent",
     "diagnosed", "deal", "deals", "dealing", "dealt", "comply", "complies", "complied", "agree",
     "agrees", "agreed", "interact", "interacts", "interacted", "interacting", "familiar",
     "combined", "coupled", "correlated", "compatible", "incompatible", "concerned", "replaced",
     "filled", "begin", "begins", "began", "start", "starts", "started", "line", "contact",
     "touch", "cope", "copes", "coped", "treated", "charged", "met", "meet", "meets", "work",
     "works", "worked", "working", "identify", "identified", "infected", "faced", "presented",
     "equipped", "covered", "done", "familiarity", "conjunction", "accordance",
     "up", "away", "off", "down", "out", "compliance", "connection", "cooperation", "speak",
     "spoke", "talk", "talked", "disagree", "disagrees", "disagreed", "problem", "problems",
     "interaction", "interactions", "complex", "complexes", "coexpressed", "correlation",
     "contrast", "combination", "association", "associations", "compare",
     "forms", "formed", "bind", "binds", "binding", "bound", "co-localizes", "colocalizes",
     "combining", "combine", "combines", "supplemented", "incubated", "transfected", "mixed"}
)  # fmt: skip

#: Uncountable nouns: ``no evidence`` -> ``evidence`` (not ``an evidence``). Words ending in
#: ``-ing``, ``-ness``, ``-ity``, ``-ance`` and ``-ence`` count as uncountable too.
MASS_NOUNS: frozenset[str] = frozenset(
    {"evidence", "information", "damage", "pain", "access", "data", "fluid", "blood", "water",
     "time", "money", "support", "improvement", "progress", "fever", "interest", "coverage",
     "insurance", "caffeine", "sugar", "salt", "alcohol", "gluten", "dairy", "meat", "fat",
     "milk", "wifi", "wi-fi", "parking", "shipping", "tax", "vat", "warranty", "protection",
     "swelling", "bleeding", "advice", "help", "equipment", "furniture", "luggage", "baggage",
     "room", "space", "light", "noise", "heat", "power", "electricity", "internet", "traffic",
     "food", "breakfast", "lunch", "dinner", "staff", "security", "seating", "risk", "change",
     "treatment", "medication", "therapy", "surgery", "exercise", "training", "experience",
     "permission", "consent", "notice", "compensation", "liability", "authority", "work",
     "research", "knowledge", "documentation", "bluetooth", "encryption", "sound",
     "oxygen", "fruit", "rain", "snow", "ice", "wind", "smoke", "dust", "fuel", "gas", "oil"}
)  # fmt: skip

#: Polarity pairs swapped in both directions (``allowed`` <-> ``forbidden``): contradictory
#: words, where one means "not" the other. Case is kept; ``a``/``an`` before them is fixed.
ANTONYMS: tuple[tuple[str, str], ...] = (
    ("allowed", "forbidden"),
    ("allow", "forbid"),
    ("allows", "forbids"),
    ("permitted", "prohibited"),
    ("permits", "prohibits"),
    ("granted", "denied"),
    ("grants", "denies"),
    ("includes", "excludes"),
    ("include", "exclude"),
    ("included", "excluded"),
    ("including", "excluding"),
    ("safe", "unsafe"),
    ("approved", "rejected"),
    ("approves", "rejects"),
    ("positive", "negative"),
    ("present", "absent"),
    ("presence", "absence"),
    ("legal", "illegal"),
    ("lawful", "unlawful"),
    ("valid", "invalid"),
    ("eligible", "ineligible"),
    ("compatible", "incompatible"),
    ("available", "unavailable"),
    ("effective", "ineffective"),
    ("enabled", "disabled"),
    ("supported", "unsupported"),
    ("successful", "unsuccessful"),
    ("successfully", "unsuccessfully"),
    ("able", "unable"),
    ("normal", "abnormal"),
    ("reversible", "irreversible"),
    ("responsive", "unresponsive"),
    ("guilty", "innocent"),
    ("refundable", "non-refundable"),
    ("toxic", "non-toxic"),
    ("suitable", "unsuitable"),
    ("open", "closed"),
    ("accepted", "refused"),
    ("accepts", "refuses"),
    ("required", "optional"),
    ("mandatory", "voluntary"),
    ("detectable", "undetectable"),
    ("insured", "uninsured"),
    ("vaccinated", "unvaccinated"),
    ("resolved", "unresolved"),
    ("stable", "unstable"),
)
#: Table words that are also common verbs or nouns: swapped only after a copula (``is present``,
#: ``was open``) or ``not``; ``granted``/``denied`` also before a determiner (``denied the
#: motion``), which keeps clinical ``denies chest pain`` out.
PREDICATIVE_ONLY: frozenset[str] = frozenset(
    {"present", "absent", "open", "closed", "required", "optional", "able", "unable", "granted",
     "denied", "grants", "denies", "resolved", "unresolved", "positive", "negative", "supported",
     "unsupported", "vaccinated", "unvaccinated", "insured", "uninsured"}
)  # fmt: skip
#: Words after which a predicative table word counts as a predicate.
LINKING: frozenset[str] = frozenset(
    COPULAS
    | {"be", "been", "being", "remain", "remains", "remained", "seems", "seem", "seemed",
       "became", "become", "becomes", "stays", "stayed", "tested", "test", "tests", "came",
       "comes", "come", "deemed", "considered", "found", "declared", "ruled", "not", "fully",
       "also", "still", "back"}
)  # fmt: skip
ANTONYM: dict[str, str] = {
    **{a: b for a, b in ANTONYMS},
    **{b: a for a, b in ANTONYMS},
}
#: Affirmed words on the left of :data:`ANTONYMS` (used to tell the direction of a swap).
AFFIRMED_ANTONYMS: frozenset[str] = frozenset(a for a, _ in ANTONYMS)

#: Quantifier and pronoun swaps, affirmed -> negated (``everyone`` -> ``no one``).
QUANTIFIERS: dict[str, str] = {
    "everyone": "no one",
    "everybody": "nobody",
    "everything": "nothing",
    "someone": "no one",
    "somebody": "nobody",
    "something": "nothing",
    "somewhere": "nowhere",
    "everywhere": "nowhere",
}
#: Negated -> affirmed quantifiers (``nothing`` -> ``something``).
NEGATED_QUANTIFIERS: dict[str, str] = {
    "nothing": "something",
    "nobody": "somebody",
    "nowhere": "somewhere",
}
#: ``no`` in these phrases is not a negation of the claim (``no later than``, ``no doubt``).
NO_IDIOMS: frozenset[str] = frozenset(
    {"doubt", "matter", "more", "less", "later", "fewer", "sooner", "earlier", "worse", "better",
     "wonder", "problem"}
)  # fmt: skip
#: ``not`` in these phrases is not a negation of the claim (``not only``, ``not least``).
NOT_IDIOMS: frozenset[str] = frozenset(
    {"only", "just", "least", "merely", "simply", "to", "yet", "even", "much", "that", "quite"}
)  # fmt: skip

#: Every negation cue, for telling a negated sentence from an affirmed one.
NEGATION_CUES: frozenset[str] = frozenset(
    {"not", "no", "never", "none", "without", "nothing", "nobody", "nowhere", "neither", "nor",
     "cannot", "n't"} | set(CONTRACTIONS)
)  # fmt: skip
#: Prefixes that negate an adjective (``unsafe``, ``non-toxic``, ``illegal``), for the twin check.
NEGATIVE_PREFIXES: tuple[str, ...] = ("non-", "non", "un", "in", "il", "im", "ir", "dis")
