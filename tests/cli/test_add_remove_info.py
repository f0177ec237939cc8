"""plait add / remove / info on `plait index` folders and bare library indexes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from plait.indexes import Exact
from plait.indexes.storage import IndexFolder


@pytest.fixture
def cli_index(run, beir_dir: Path, tiny_model_path: Path, tmp_path: Path) -> Path:
    """A `plait index --exact` folder over the 4-document BEIR fixture, built with the tiny model."""
    path = tmp_path / "idx"
    result = run("index", beir_dir, path, "--exact", "--model", tiny_model_path)
    assert result.exit_code == 0, result.output
    return path


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def index_dir(cli_index: Path) -> Path:
    """The index folder cli.json points to."""
    return cli_index / json.loads((cli_index / "cli.json").read_text())["index"]


def open_exact(cli_index: Path) -> Exact:
    return Exact(index_folder=cli_index, index_name=index_dir(cli_index).name)


def test_add_encodes_with_the_index_model_and_keeps_texts(
    run, cli_index: Path, tiny_model, tmp_path: Path
) -> None:
    docs = write_jsonl(
        tmp_path / "new.jsonl",
        [{"id": "n1", "text": "Comets have icy tails."}, {"id": "n2", "text": "Rye bread."}],
    )
    result = run("add", cli_index, docs, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["added"] == 2 and json.loads(result.stdout)["documents"] == 6
    index = open_exact(cli_index)
    expected = tiny_model.encode(["Comets have icy tails.", "Rye bread."], is_query=False)
    for got, want in zip(index.get_documents_embeddings(["n1", "n2"]), expected, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)
    assert open_exact(cli_index).get_documents(["n1"]) == [
        {"id": "n1", "text": "Comets have icy tails.", "metadata": {}}
    ]
    found = run("search", cli_index, "icy comets", "-k", "6", "--json")
    texts = {hit["id"]: hit.get("text") for hit in json.loads(found.stdout)[0]["results"]}
    assert texts["n1"] == "Comets have icy tails."


def test_add_refuses_existing_ids_unless_upsert(
    run, cli_index: Path, tiny_model, tmp_path: Path
) -> None:
    docs = write_jsonl(
        tmp_path / "dup.jsonl", [{"id": "d1", "text": "Replaced text."}, {"id": "n9", "text": "x"}]
    )
    result = run("add", cli_index, docs)
    assert result.exit_code == 2
    assert "1 id(s) already in the index: ['d1']; pass --upsert" in result.output
    assert "n9" not in open_exact(cli_index)  # nothing added
    result = run("add", cli_index, docs, "--upsert", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout) | {"seconds": 0} == {
        "added": 1,
        "replaced": 1,
        "documents": 5,
        "seconds": 0,
    }
    np.testing.assert_allclose(
        open_exact(cli_index).get_documents_embeddings(["d1"])[0],
        tiny_model.encode(["Replaced text."], is_query=False)[0],
        atol=1e-5,
    )


def test_add_bad_inputs(run, cli_index: Path, tmp_path: Path) -> None:
    assert run("add", cli_index, tmp_path / "missing.jsonl").exit_code == 2
    dupes = write_jsonl(
        tmp_path / "dupes.jsonl", [{"id": "a", "text": "x"}, {"id": "a", "text": "y"}]
    )
    result = run("add", cli_index, dupes)
    assert result.exit_code == 2 and "duplicate _id 'a'" in result.output
    result = run("add", tmp_path / "nowhere", dupes)
    assert result.exit_code == 2 and "no index folder" in result.output


def test_remove_ids_and_refuse_unknown(run, cli_index: Path, tmp_path: Path) -> None:
    result = run("remove", cli_index, "d1", "ghost")
    assert (
        result.exit_code == 2
        and "1 id(s) not in the index: ['ghost']; nothing removed" in result.output
    )
    assert "d1" in open_exact(cli_index)
    result = run("remove", cli_index, "d1", "ghost", "--missing-ok", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"removed": 1, "missing": ["ghost"], "documents": 3}
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("d2\n\nd3\n")
    assert run("remove", cli_index, "--ids-file", ids_file, "--compact").exit_code == 0
    assert open_exact(cli_index).documents_ids == ["d4"]
    assert not (cli_index / "documents.jsonl").exists()  # texts live in the index commit
    assert open_exact(cli_index).get_documents(["d4"])[0]["text"]
    assert run("remove", cli_index).exit_code == 2


def test_info_reports_statistics(run, cli_index: Path) -> None:
    result = run("info", cli_index, "--json", "--verify")
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    index = open_exact(cli_index)
    folder = IndexFolder(index.path)
    manifest = folder.read_manifest()
    assert stats["format"] == "plait-exact" and stats["documents"] == 4 and stats["dim"] == 16
    assert stats["stored_tokens"] == sum(
        len(m) for m in index.get_documents_embeddings(index.documents_ids)
    )
    assert stats["disk_bytes"] == folder.disk_bytes(manifest)
    assert stats["bytes_per_token"] == pytest.approx(stats["disk_bytes"] / stats["stored_tokens"])
    assert stats["verified"] is True
    text = run("info", cli_index)
    assert text.exit_code == 0 and "documents" in text.stdout and "bytes_per_token" in text.stdout


def test_info_on_a_bare_index_and_on_corruption(run, tmp_path: Path) -> None:
    index = Exact(index_folder=tmp_path, index_name="bare")
    index.add_documents(["a", "b"], [np.ones((3, 4), np.float32), np.ones((2, 4), np.float32)])
    stats = json.loads(run("info", index.path, "--json").stdout)
    assert stats["documents"] == 2 and stats["stored_tokens"] == 5
    tokens = next(p for p in index.path.iterdir() if "tokens" in p.name)
    data = bytearray(tokens.read_bytes())
    data[-1] ^= 0xFF  # same size, different bytes: only the checksum notices
    tokens.write_bytes(bytes(data))
    result = run("info", index.path)  # a small file: its checksum is checked on every open
    assert result.exit_code == 1 and "fails its CRC-32 checksum" in result.output
    result = run("info", index.path, "--verify")
    assert result.exit_code == 1 and "fails its CRC-32 checksum" in result.output
    tokens.write_bytes(bytes(data[:-4]))  # truncated: opening already fails
    result = run("info", index.path)
    assert result.exit_code == 1 and "truncated" in result.output
    assert run("info", tmp_path / "nothing").exit_code == 2


def test_add_and_remove_are_refused_while_another_writer_holds_the_index(
    run, cli_index: Path, tmp_path: Path
) -> None:
    docs = write_jsonl(tmp_path / "new.jsonl", [{"id": "n1", "text": "text"}])
    with IndexFolder(index_dir(cli_index)).writer_lock():  # e.g. a running `plait serve`
        for args in (
            ("add", cli_index, docs, "--model", tmp_path / "not-loaded"),
            ("remove", cli_index, "d1"),
        ):
            result = run(*args)
            assert result.exit_code == 1, result.output
            assert "being written by another process" in result.output  # before any model loading
    assert "d1" in open_exact(cli_index) and "n1" not in open_exact(cli_index)


def test_add_to_plaid_reports_what_the_codebook_did(
    run, beir_dir: Path, tiny_model_path: Path, tmp_path: Path
) -> None:
    path = tmp_path / "plaid"
    built = run("index", beir_dir, path, "--model", tiny_model_path)
    assert built.exit_code == 0, built.output
    docs = write_jsonl(tmp_path / "new.jsonl", [{"id": "n1", "text": "Comets have icy tails."}])
    result = run("add", path, docs, "--json")
    assert result.exit_code == 0, result.output
    codebook = json.loads(result.stdout)["codebook"]
    assert codebook["documents"] == 1 and not codebook["trained"]  # no re-training by an add
    assert {"new_centroids", "outliers", "codec_fits", "n_centroids"} <= set(codebook)
