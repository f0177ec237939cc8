"""Negated twins: each documented pattern flips polarity, nothing else changes, seeds repeat."""

from __future__ import annotations

import json

import numpy as np
import pytest

from plait.training import mine_hard_negatives
from plait.training.negation import (
    PATTERNS,
    is_polarity_twin,
    negate,
    negated_twins,
    negation_rows,
)

# (source, pattern, expected twin): one example at least per documented pattern
CASES = [
    ("Ibuprofen is safe during pregnancy.", "auxiliary", "Ibuprofen is not safe during pregnancy."),
    ("The battery can be replaced.", "auxiliary", "The battery cannot be replaced."),
    ("Tenants should pay the fee.", "auxiliary", "Tenants should not pay the fee."),
    (
        "The camera has been tested in cold weather.",
        "auxiliary",
        "The camera has not been tested in cold weather.",
    ),
    (
        "The patient has a history of cardiac disease.",
        "do-support",
        "The patient does not have a history of cardiac disease.",
    ),
    ("The API requires authentication.", "do-support", "The API does not require authentication."),
    ("The tablets contain lactose.", "do-support", "The tablets do not contain lactose."),
    ("The update fixed the login bug.", "do-support", "The update did not fix the login bug."),
    (
        "The patient has a history of cardiac disease.",
        "no",
        "The patient has no history of cardiac disease.",
    ),
    ("There is a risk of bleeding.", "no", "There is no risk of bleeding."),
    (
        "The laptop comes with a charger.",
        "without",
        "The laptop comes without a charger.",
    ),
    (
        "All of the samples were contaminated.",
        "quantifier",
        "None of the samples were contaminated.",
    ),
    ("Everyone passed the exam.", "quantifier", "No one passed the exam."),
    ("Every patient recovered.", "quantifier", "No patient recovered."),
    ("Pets are allowed in the flat.", "antonym", "Pets are forbidden in the flat."),
    ("The court granted the motion.", "antonym", "The court denied the motion."),
    ("The price includes shipping.", "antonym", "The price excludes shipping."),
    ("It is a safe dose.", "antonym", "It is an unsafe dose."),
    ("The test came back positive.", "antonym", "The test came back negative."),
    ("The FDA approved the drug.", "antonym", "The FDA rejected the drug."),
    ("Bacteria were present in the sample.", "antonym", "Bacteria were absent in the sample."),
    ("Smoking is forbidden here.", "antonym", "Smoking is allowed here."),
    ("Pets are not allowed in the flat.", "remove-not", "Pets are allowed in the flat."),
    ("The battery cannot be replaced.", "remove-not", "The battery can be replaced."),
    ("The app doesn't work offline.", "remove-not", "The app works offline."),
    ("He did not pay the rent.", "remove-not", "He paid the rent."),
    ("The drug does not have side effects.", "remove-not", "The drug has side effects."),
    (
        "The patient has no history of cardiac disease.",
        "remove-no",
        "The patient has a history of cardiac disease.",
    ),
    ("No known drug allergies.", "remove-no", "Known drug allergies."),
    (
        "The scan shows no evidence of pneumonia.",
        "remove-no",
        "The scan shows evidence of pneumonia.",
    ),
    ("The offer is no longer valid.", "remove-no", "The offer is still valid."),
    ("She has never had heart problems.", "remove-never", "She has had heart problems."),
    ("Patients without insurance pay more.", "remove-without", "Patients with insurance pay more."),
    (
        "None of the samples were contaminated.",
        "remove-quantifier",
        "Some of the samples were contaminated.",
    ),
    ("Nothing was found.", "remove-quantifier", "Something was found."),
    ("No one answered the phone.", "remove-quantifier", "Someone answered the phone."),
]

NO_PATTERN = [
    "Paris in the spring.",
    "Submit the form no later than Friday.",
    "This is not only fast but also cheap.",
    "The patient denies chest pain.",
    "Results compared with a placebo group over twelve weeks.",
    "A blue car.",
    "",
]


@pytest.mark.parametrize(("source", "pattern", "expected"), CASES)
def test_each_documented_pattern_flips_polarity(source: str, pattern: str, expected: str) -> None:
    twins = negated_twins(source, 10)
    assert (pattern, expected) in [(t.pattern, t.text) for t in twins]
    for twin in twins:
        assert twin.text != source and twin.pattern in PATTERNS
        assert is_polarity_twin(source, twin.text)


def test_every_pattern_has_a_case() -> None:
    assert {pattern for _, pattern, _ in CASES} == set(PATTERNS)


@pytest.mark.parametrize("sentence", NO_PATTERN)
def test_sentences_without_a_pattern_have_no_twin(sentence: str) -> None:
    assert negate(sentence) is None
    assert negated_twins(sentence, 5) == []


def test_removing_a_negation_gives_back_the_affirmed_sentence() -> None:
    for source in (
        "The patient has a history of cardiac disease.",
        "Pets are allowed in the flat.",
        "The battery can be replaced.",
        "The price includes shipping.",
    ):
        for twin in negated_twins(source, 5):
            assert source in [t.text for t in negated_twins(twin.text, 5)], twin


def test_case_and_punctuation_are_kept() -> None:
    assert negate("THE DRUG IS SAFE!") == "THE DRUG IS NOT SAFE!"
    assert negate("Can it be frozen? It can be frozen.") == "Can it be frozen? It cannot be frozen."
    assert negate("No pets (cats, dogs) are allowed.") == "Pets (cats, dogs) are allowed."
    source = 'Note: "The lease," she said, "includes parking."'
    twin = negate(source)
    assert twin == 'Note: "The lease," she said, "excludes parking."'


def test_a_document_changes_in_one_sentence_only_where_the_query_matches() -> None:
    document = (
        "Aspirin is widely used for headaches. It is approved for children over twelve. "
        "The tablets contain lactose and can be taken with food."
    )
    twin = negated_twins(document, 1, query="tablets with lactose")[0]
    assert twin.sentence == 2 and "do not contain lactose" in twin.text
    assert twin.text.replace("do not contain", "contain") == document
    twin = negated_twins(document, 1, query="approved for children")[0]
    assert twin.sentence == 1 and "It is not approved" in twin.text


def test_twins_are_deterministic_for_a_seed() -> None:
    document = " ".join(f"Model {i} is waterproof." for i in range(8))
    by_seed = {seed: [t.text for t in negated_twins(document, 3, seed=seed)] for seed in range(6)}
    for seed, twins in by_seed.items():
        assert [t.text for t in negated_twins(document, 3, seed=seed)] == twins
        assert len(set(twins)) == 3
    assert len({tuple(twins) for twins in by_seed.values()}) > 1  # the seed does choose
    assert negate(document, seed="d1") == negate(document, seed="d1")


def test_polarity_check_refuses_other_changes() -> None:
    assert is_polarity_twin("The dog is friendly.", "The dog is not friendly.")
    assert is_polarity_twin("Tickets are refundable.", "Tickets are non-refundable.")
    assert not is_polarity_twin("The dog is friendly.", "The dog is friendly.")
    assert not is_polarity_twin("The dog is friendly.", "The cat is friendly.")
    assert not is_polarity_twin("The dog is friendly.", "The dog is not a friendly cat!")
    assert not is_polarity_twin("It is not big, it is not red.", "It is big, it is red.")


class FixedScorer:
    """Scores from a given matrix, looked up by query text ("q<i> ...")."""

    def __init__(self, scores: np.ndarray) -> None:
        self.scores = scores

    def fit(self, documents):
        pass

    def score(self, queries):
        return self.scores[[int(q.split()[0][1:]) for q in queries]]


CORPUS = {
    "d0": "The hotel allows dogs in every room.",
    "d1": "The museum is open on Mondays.",
    "d2": "Paris in the spring.",
    "d3": "Train times for the weekend.",
    "d4": "A list of bakeries.",
}
QUERIES = {"q0 hotel dogs": "q0 hotel dogs", "q1 museum mondays": "q1 museum mondays"}


def _mine(**options):
    queries = {"q0": "q0 hotel that allows dogs", "q1": "q1 museum open on mondays", "q2": "q2 x"}
    qrels = {"q0": {"d0": 1}, "q1": {"d1": 1}, "q2": {"d2": 1}}
    scores = np.tile(np.arange(5, 0, -1, dtype=float), (3, 1))
    return mine_hard_negatives(
        queries=queries, corpus=CORPUS, qrels=qrels, retriever=FixedScorer(scores), **options
    )


def test_mining_adds_twins_as_negatives():
    plain = _mine(num_negatives=1, output_format="triplet")
    rows = _mine(num_negatives=1, output_format="triplet", negations=2)
    assert rows[: len(plain)] != plain or len(rows) > len(plain)
    assert [r for r in rows if r["negative"] in CORPUS.values()] == plain
    twins = [r for r in rows if r["negative"] not in CORPUS.values()]
    assert {r["positive"] for r in twins} == {CORPUS["d0"], CORPUS["d1"]}  # d2 has no pattern
    for row in twins:
        assert is_polarity_twin(row["positive"], row["negative"])
    assert "The museum is closed on Mondays." in {r["negative"] for r in twins}
    assert _mine(num_negatives=1, output_format="triplet", negations=2) == rows  # seeded


def test_n_tuple_rows_keep_their_columns_with_mined_negatives_in_place_of_missing_twins():
    rows = _mine(num_negatives=1, output_format="n-tuple", negations=1)
    assert len(rows) == 3
    assert all(list(row) == ["query", "positive", "negative_1", "negative_2"] for row in rows)
    assert is_polarity_twin(rows[0]["positive"], rows[0]["negative_1"])
    assert rows[2]["negative_1"] in CORPUS.values()  # no twin for d2: two mined negatives
    assert rows[2]["negative_2"] in CORPUS.values()


def test_negation_rows_for_jsonl_training_data():
    rows = [
        {"query": "pets allowed", "positive": "Pets are allowed.", "negative": "A list."},
        {"query": "pets allowed", "positive": "Pets are allowed.", "negative": "Another."},
        {"query": "spring", "positive": "Paris in the spring.", "negative": "Rome."},
    ]
    extra = negation_rows(rows, 2)
    assert {r["negative"] for r in extra} == {"Pets are not allowed.", "Pets are forbidden."}
    assert all(list(r) == ["query", "positive", "negative"] for r in extra)
    tuples = [{"anchor": "a", "positive": "It is safe.", "negative_1": "x", "negative_2": "y"}]
    (row,) = negation_rows(tuples, 1)
    assert row["negative_2"] == "x" and is_polarity_twin("It is safe.", row["negative_1"])
    with pytest.raises(ValueError, match="need rows with a negative column"):
        negation_rows([{"query": "q", "positive": "It is safe."}], 1)


def test_train_config_adds_negation_rows(tmp_path):
    from plait.training.train import TrainConfig, load_rows

    path = tmp_path / "rows.jsonl"
    row = {"query": "is it safe", "positive": "The dose is safe.", "negative": "Paris."}
    path.write_text(json.dumps(row) + "\n")
    rows = load_rows(TrainConfig(data=str(path), output=str(tmp_path), negation_negatives=1))
    assert len(rows) == 2 and is_polarity_twin(row["positive"], rows[1]["negative"])
    with pytest.raises(ValueError, match="negation_negatives must be >= 0"):
        TrainConfig(data=str(path), output="o", negation_negatives=-1).check()
    with pytest.raises(ValueError, match="not distillation rows"):
        TrainConfig(data=str(path), output="o", negation_negatives=1, loss="distillation").check()


def test_cli_mine_with_negations(tmp_path):
    from typer.testing import CliRunner

    from plait.cli.main import app

    folder = tmp_path / "beir"
    (folder / "qrels").mkdir(parents=True)
    docs = {**CORPUS, "d5": "The pool has a lifeguard on duty."}
    (folder / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": k, "text": v}) + "\n" for k, v in docs.items())
    )
    queries = {"q0": "hotel that allows dogs", "q1": "pool lifeguard"}
    (folder / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": k, "text": v}) + "\n" for k, v in queries.items())
    )
    (folder / "qrels" / "train.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq0\td0\t1\nq1\td5\t1\n"
    )
    out = tmp_path / "rows.jsonl"
    args = ["mine", "--data", str(folder), "--output", str(out), "--output-format", "triplet"]
    result = CliRunner().invoke(app, [*args, "--negations", "1"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    twins = [r["negative"] for r in rows if r["negative"] not in docs.values()]
    assert "The pool has no lifeguard on duty." in twins or (
        "The pool does not have a lifeguard on duty." in twins
    )
    assert len(twins) == 2
