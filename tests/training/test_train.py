"""plait train (library and CLI) and plait mine on tiny data with the tiny model."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from plait.models import ColBERT
from plait.training.train import TrainConfig, train

DOCS = {f"d{i}": f"document {i} talks about topic {i} and item {i * 3}" for i in range(12)}
QUERIES = {f"q{i}": f"what about topic {i}" for i in range(12)}


@pytest.fixture
def beir(tmp_path):
    folder = tmp_path / "beir"
    (folder / "qrels").mkdir(parents=True)
    with open(folder / "corpus.jsonl", "w") as f:
        for did, text in DOCS.items():
            f.write(json.dumps({"_id": did, "title": "", "text": text}) + "\n")
    with open(folder / "queries.jsonl", "w") as f:
        for qid, text in QUERIES.items():
            f.write(json.dumps({"_id": qid, "text": text}) + "\n")
    for split, ids in (("train", range(0, 8)), ("test", range(8, 12))):
        lines = ["query-id\tcorpus-id\tscore"] + [f"q{i}\td{i}\t1" for i in ids]
        (folder / "qrels" / f"{split}.tsv").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture
def triplets(tmp_path):
    path = tmp_path / "triplets.jsonl"
    with open(path, "w") as f:
        for i in range(8):
            row = {
                "query": QUERIES[f"q{i}"],
                "positive": DOCS[f"d{i}"],
                "negative": DOCS[f"d{(i + 5) % 12}"],
            }
            f.write(json.dumps(row) + "\n")
    return path


def test_train_on_triplets_saves_a_loadable_model_and_evaluates(
    tiny_model_path, triplets, beir, tmp_path
):
    out = tmp_path / "model"
    result = train(
        TrainConfig(
            data=str(triplets),
            output=str(out),
            model=str(tiny_model_path),
            batch_size=4,
            max_steps=3,
            eval_data=str(beir),
            eval_steps=2,
            show_progress_bar=False,
        )
    )
    assert result.steps == 3 and result.train_rows == 8
    assert 0.0 <= result.metrics["beir_ndcg@10"] <= 1.0
    loaded = ColBERT(str(out))
    assert loaded.encode(["q"], is_query=True)[0].shape == (loaded.query_length, 16)
    assert json.loads((out / "train_result.json").read_text())["result"]["steps"] == 3


@pytest.mark.slow  # mining itself: tests/training/test_mining.py
@pytest.mark.parametrize(
    ("loss", "mining_format", "rows"),
    [("contrastive", "triplet", 16), ("cached-contrastive", "n-tuple", 8)],
)
def test_train_on_a_beir_folder_mines_negatives(
    tiny_model_path, beir, tmp_path, loss, mining_format, rows
):
    out = tmp_path / "model"
    result = train(
        TrainConfig(
            data=str(beir),
            output=str(out),
            model=str(tiny_model_path),
            loss=loss,
            batch_size=4,
            max_steps=2,
            num_negatives=2,
            mining_format=mining_format,
            mini_batch_size=3,
            show_progress_bar=False,
        )
    )
    # 8 (query, positive) pairs, 2 negatives each: a row per negative, or one row per pair
    assert result.train_rows == rows and result.steps == 2
    assert (out / "modules.json").is_file()


@pytest.mark.slow  # the loss itself: tests/losses (hand-computed)
def test_train_distillation_rows(tiny_model_path, tmp_path):
    path = tmp_path / "kd.jsonl"
    with open(path, "w") as f:
        for i in range(4):
            row = {
                "query": QUERIES[f"q{i}"],
                "documents": [DOCS[f"d{i}"], DOCS["d9"], DOCS["d10"]],
                "scores": [3.0, 1.0, 0.5],
            }
            f.write(json.dumps(row) + "\n")
    result = train(
        TrainConfig(
            data=str(path),
            output=str(tmp_path / "m"),
            model=str(tiny_model_path),
            loss="distillation",
            batch_size=2,
            max_steps=2,
            show_progress_bar=False,
        )
    )
    assert result.steps == 2


def test_attach_teacher_indexes_rows_and_encodes_each_text(triplets):
    from plait.baselines import BiEncoder
    from plait.training.teacher import attach_teacher

    rows = [json.loads(line) for line in triplets.read_text().splitlines()]
    vectors = attach_teacher(rows, "biencoder")
    assert [row["label"] for row in rows] == list(range(len(rows)))
    assert vectors.columns == ["positive", "negative"]
    direct = BiEncoder(device="cpu")
    for name, table in (
        ("query", vectors.queries),
        *zip(vectors.columns, vectors.documents, strict=True),
    ):
        expected = direct.encode([row[name] for row in rows])
        assert torch.allclose(table, torch.from_numpy(expected), atol=1e-5), name
    with pytest.raises(ValueError, match="already have a 'label'"):
        attach_teacher(rows)


def test_attach_teacher_with_lexical_scores_matches_bm25():
    from plait.training.scorers import BM25Scorer
    from plait.training.teacher import attach_teacher

    texts = [
        ("bone fracture risk", "fracture risk of bones in the elderly", "heart disease in old age"),
        ("heart attack symptoms", "symptoms of a heart attack", "bone density scans"),
        ("vitamin intake", "daily vitamin intake advice", "heart attack symptoms in women"),
        (
            "statins and muscle pain",
            "muscle pain reported with statins",
            "symptoms of a heart attack",
        ),
    ]
    rows = [dict(zip(("query", "positive", "negative"), row, strict=True)) for row in texts]
    lexical = attach_teacher(rows, "biencoder", lexical=True).lexical
    assert lexical is not None
    documents = sorted({row[c] for row in rows for c in ("positive", "negative")})
    direct = BM25Scorer()
    direct.fit(documents)
    expected = direct.score([row["query"] for row in rows])  # (rows, distinct documents)
    for c, column in enumerate(("positive", "negative")):
        for r, row in enumerate(rows):
            got = lexical.scores[lexical.queries[r], lexical.documents[c][r]]
            assert got.item() == pytest.approx(expected[r, documents.index(row[column])], rel=1e-6)
    batch = lexical.batch(torch.tensor([3, 1]))  # (2 queries, 2 rows x 2 columns), column-major
    assert batch.shape == (2, 4)
    assert batch[0, 3].item() == pytest.approx(expected[3, documents.index(rows[1]["negative"])])
    assert batch[1, 1].item() > 0 and batch[1, 0].item() == 0  # heart attack: itself, not statins


@pytest.mark.slow  # the loss itself: tests/losses (hand-computed)
def test_train_with_a_teacher(tiny_model_path, triplets, tmp_path):
    out = tmp_path / "model"
    config = TrainConfig(
        data=str(triplets),
        output=str(out),
        model=str(tiny_model_path),
        batch_size=4,
        max_steps=2,
        teacher="biencoder",
        teacher_weight=0.5,
        teacher_lexical_weight=0.5,
        show_progress_bar=False,
    )
    assert train(config).steps == 2
    saved = json.loads((out / "train_result.json").read_text())["config"]
    assert saved["teacher"] == "biencoder" and saved["teacher_weight"] == 0.5
    assert saved["teacher_lexical_weight"] == 0.5
    assert ColBERT(str(out)).encode(["q"], is_query=True)[0].shape[1] == 16


def test_trainable_layers_freezes_the_rest(tiny_model_path, triplets, tmp_path):
    out = tmp_path / "model"
    before = ColBERT(str(tiny_model_path))
    train(
        TrainConfig(
            data=str(triplets),
            output=str(out),
            model=str(tiny_model_path),
            batch_size=4,
            max_steps=2,
            learning_rate=1e-2,
            trainable_layers=1,
            show_progress_bar=False,
        )
    )
    after = ColBERT(str(out))
    old, new = before.state_dict(), after.state_dict()
    changed = {k for k in old if not torch.equal(old[k], new[k])}
    assert any(".layer.1." in k for k in changed)
    assert not any(".layer.0." in k for k in changed)
    words = "0.model.embeddings.word_embeddings.weight"
    diff = (old[words] != new[words]).any(dim=1).nonzero().flatten().tolist()
    assert set(diff) <= {before.query_prefix_id, before.document_prefix_id} and diff


def test_train_rejects_bad_input(tmp_path, triplets):
    with pytest.raises(FileNotFoundError, match="training data"):
        train(TrainConfig(data=str(tmp_path / "missing.jsonl"), output=str(tmp_path / "o")))
    with pytest.raises(ValueError, match="unknown loss"):
        train(TrainConfig(data=str(triplets), output=str(tmp_path / "o"), loss="nope"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="teacher works with the contrastive loss"):
        train(
            TrainConfig(
                data=str(triplets),
                output=str(tmp_path / "o"),
                loss="distillation",
                teacher="biencoder",
            )
        )
    with pytest.raises(FileNotFoundError, match="teacher model folder"):
        train(
            TrainConfig(
                data=str(triplets), output=str(tmp_path / "o"), teacher=str(tmp_path / "nowhere")
            )
        )
    with pytest.raises(ValueError, match="teacher_lexical_weight needs a teacher"):
        train(
            TrainConfig(data=str(triplets), output=str(tmp_path / "o"), teacher_lexical_weight=0.5)
        )
    with pytest.raises(ValueError, match=r"teacher_lexical_weight must be in \[0, 1\]"):
        train(
            TrainConfig(
                data=str(triplets),
                output=str(tmp_path / "o"),
                teacher="biencoder",
                teacher_lexical_weight=1.5,
            )
        )
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"query": "q", "negative": "n"}\n')
    with pytest.raises(ValueError, match="missing \\['positive'\\]"):
        train(TrainConfig(data=str(bad), output=str(tmp_path / "o")))


@pytest.mark.slow  # the library path it wraps is tested above
def test_cli_mine_and_train(tiny_model_path, beir, tmp_path):
    from plait.cli.main import app

    runner = CliRunner()
    rows = tmp_path / "rows.jsonl"
    mined = runner.invoke(
        app, ["mine", "--data", str(beir), "--output", str(rows), "--num-negatives", "2"]
    )
    assert mined.exit_code == 0, mined.output
    assert "wrote 8 rows" in mined.output
    out = tmp_path / "model"
    trained = runner.invoke(
        app,
        [
            "train",
            "--data",
            str(rows),
            "--output",
            str(out),
            "--model",
            str(tiny_model_path),
            "--batch-size",
            "4",
            "--max-steps",
            "2",
            "--eval-data",
            str(beir),
            "--json",
        ],
    )
    assert trained.exit_code == 0, trained.output
    assert json.loads(trained.stdout[trained.stdout.index("{\n") :])["steps"] == 2
    bad = runner.invoke(app, ["train", "--data", str(rows), "--output", str(out), "--loss", "nope"])
    assert bad.exit_code == 2 and "unknown loss" in bad.output
    odd = ["--mining-format", "pairs"]
    bad = runner.invoke(app, ["train", "--data", str(rows), "--output", str(out), *odd])
    assert bad.exit_code == 2 and "unknown mining format" in bad.output
    odd = ["--teacher", str(tmp_path / "nowhere")]
    bad = runner.invoke(app, ["train", "--data", str(rows), "--output", str(out), *odd])
    assert bad.exit_code == 2 and "teacher model folder not found" in bad.output
    odd = ["--pseudo-queries", "title"]
    bad = runner.invoke(app, ["train", "--data", str(rows), "--output", str(out), *odd])
    assert bad.exit_code == 2 and "pseudo_queries need a BEIR folder" in bad.output


def test_train_applies_and_saves_colbert_settings(tiny_model_path, triplets, tmp_path):
    out = tmp_path / "model"
    train(
        TrainConfig(
            data=str(triplets),
            output=str(out),
            model=str(tiny_model_path),
            batch_size=4,
            max_steps=1,
            query_length=40,
            document_length=64,
            query_expansion=False,
            show_progress_bar=False,
        )
    )
    loaded = ColBERT(str(out))
    assert (loaded.query_length, loaded.document_length, loaded.do_query_expansion) == (
        40,
        64,
        False,
    )


def test_train_adds_title_pseudo_query_rows(tiny_model_path, beir, tmp_path):
    with open(beir / "corpus.jsonl", "w") as f:  # the fixture's documents, now with titles
        for did, text in DOCS.items():
            f.write(json.dumps({"_id": did, "title": f"the title of {did}", "text": text}) + "\n")
    config = TrainConfig(
        data=str(beir),
        output=str(tmp_path / "m"),
        model=str(tiny_model_path),
        batch_size=4,
        max_steps=1,
        pseudo_queries="title",
        pseudo_query_limit=5,
        show_progress_bar=False,
    )
    result = train(config)
    assert result.train_rows == 8 * 2 + 5  # 8 labelled pairs x 2 negatives + 5 titles x 1
    with pytest.raises(ValueError, match="unknown pseudo_queries 'body'"):
        TrainConfig(data=str(beir), output="o", pseudo_queries="body").check()
    with pytest.raises(ValueError, match="pseudo_queries need a BEIR folder"):
        TrainConfig(data=str(beir / "corpus.jsonl"), output="o", pseudo_queries="title").check()
    with pytest.raises(ValueError, match=r"pseudo_query_negatives \(1\) must equal num_negatives"):
        TrainConfig(
            data=str(beir), output="o", pseudo_queries="title", mining_format="n-tuple"
        ).check()
