"""Distributed encoding on a local Ray cluster: equals single-process encode, resumes after a kill."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from plait.distributed.encode import encode_corpus, load_texts  # noqa: E402
from plait.distributed.shards import (  # noqa: E402
    CorruptShardError,
    ShardError,
    ShardRange,
    check_shard,
    load_embeddings,
    read_embedding_shards,
    read_manifest,
)

ROOT = Path(__file__).resolve().parents[2]
WORDS = "comet ice tail orbit sun dust gas nucleus coma light".split()


def _documents(n: int) -> list[dict[str, str]]:
    """Documents of varied lengths, some with a title (BEIR rows)."""
    rows = []
    for i in range(n):
        text = " ".join(WORDS[(i + j) % len(WORDS)] for j in range(1 + (i * 7) % 23))
        row = {"_id": f"doc-{i}", "text": f"{text}."}
        if i % 3 == 0:
            row["title"] = f"Title {i}"
        rows.append(row)
    return rows


def _write_jsonl(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _texts(rows: list[dict[str, str]]) -> list[str]:
    return [f"{row.get('title', '')} {row['text']}".strip() for row in rows]


@pytest.fixture(scope="module")
def ray_cluster():
    """A local 2-CPU cluster for this module (reused when another module already started one)."""
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, log_to_driver=False, include_dashboard=False)
    yield ray.get_runtime_context().gcs_address
    if started:
        ray.shutdown()


def _assert_same_as_model(folder: Path, rows, model, is_query: bool = False) -> None:
    ids, embeddings = load_embeddings(folder, verify_crc=True)
    assert ids == [row["_id"] for row in rows]
    expected = model.encode(_texts(rows), is_query=is_query)
    assert len(embeddings) == len(expected)
    for got, want in zip(embeddings, expected, strict=True):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=1e-5)


def _no_temporaries(folder: Path) -> None:
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


# ------------------------------------------------------------------------------ equals model.encode
def test_jsonl_equals_single_process_encode(ray_cluster, tiny_model, tiny_model_path, tmp_path):
    rows = _documents(29)
    corpus = _write_jsonl(tmp_path / "corpus.jsonl", rows)
    seen: list[str] = []
    report = encode_corpus(
        corpus,
        tmp_path / "out",
        model=tiny_model_path,
        shard_size=6,
        replicas=2,
        on_shard=lambda entry: seen.append(entry["name"]),
    )
    assert (report.n_documents, report.n_shards, report.shards_written) == (29, 5, 5)
    assert sorted(seen) == [ShardRange(s, min(s + 6, 29)).name for s in range(0, 29, 6)]
    _assert_same_as_model(tmp_path / "out", rows, tiny_model)
    manifest = read_manifest(tmp_path / "out")
    assert manifest["complete"] and manifest["n_tokens"] == report.n_tokens
    _no_temporaries(tmp_path / "out")


def test_beir_folder_queries_and_shards_readable_as_plait_encode_npz(
    ray_cluster, tiny_model, tiny_model_path, tmp_path
):
    rows = _documents(9)
    (tmp_path / "beir").mkdir()
    _write_jsonl(tmp_path / "beir" / "corpus.jsonl", rows)
    encode_corpus(
        tmp_path / "beir", tmp_path / "q", model=tiny_model_path, is_query=True, shard_size=4
    )
    _assert_same_as_model(tmp_path / "q", rows, tiny_model, is_query=True)
    # each shard holds the arrays `plait encode -o x.npz` writes
    first = np.load(tmp_path / "q" / ShardRange(0, 4).name)
    assert list(first["ids"]) == ["doc-0", "doc-1", "doc-2", "doc-3"]
    assert first["embeddings"].shape == (int(first["lengths"].sum()), 16)


def test_ray_and_hugging_face_datasets(ray_cluster, tiny_model, tiny_model_path, tmp_path):
    import datasets

    rows = [
        {"_id": r["_id"], "title": r.get("title", ""), "text": r["text"]} for r in _documents(11)
    ]
    encode_corpus(ray.data.from_items(rows), tmp_path / "ray", model=tiny_model_path, shard_size=5)
    _assert_same_as_model(tmp_path / "ray", rows, tiny_model)
    hf_rows = [{"id": r["_id"], "text": r["text"], "title": r["title"]} for r in rows]
    encode_corpus(datasets.Dataset.from_list(hf_rows), tmp_path / "hf", model=tiny_model_path)
    assert load_embeddings(tmp_path / "hf")[0] == [r["_id"] for r in rows]


# ------------------------------------------------------------------------------ resume after a kill
KILLED_DRIVER = """
import os, signal, sys
import ray
from plait.distributed.encode import encode_corpus
ray.init(address=sys.argv[1], log_to_driver=False)
written = []
def die_after_three(entry):
    written.append(entry["name"])
    if len(written) == 3:
        os.kill(os.getpid(), signal.SIGKILL)   # the driver dies mid-encode, no cleanup
encode_corpus(sys.argv[2], sys.argv[3], model=sys.argv[4], shard_size=2, replicas=1,
              on_shard=die_after_three)
"""


def test_encode_killed_midway_then_rerun_encodes_every_document_once(
    ray_cluster, tiny_model, tiny_model_path, tmp_path
):
    rows = _documents(24)
    corpus = _write_jsonl(tmp_path / "corpus.jsonl", rows)
    out = tmp_path / "out"
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent(KILLED_DRIVER), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.run(
        [sys.executable, str(script), ray_cluster, str(corpus), str(out), str(tiny_model_path)],
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert child.returncode == -9, child.stderr.decode()[-2000:]
    written = sorted(p.name for p in out.glob("shard-*.npz"))
    assert 3 <= len(written) < 12, written  # killed after three shards, before the end
    assert not read_manifest(out)["complete"]
    with pytest.raises(ShardError, match="not finished"):
        next(read_embedding_shards(out))
    # what a worker killed while writing leaves behind, and a shard damaged on disk
    (out / f".{ShardRange(22, 24).name}.dead.tmp").write_bytes(b"half a shard")
    victim = out / written[0]
    victim.write_bytes(victim.read_bytes()[:100])

    report = encode_corpus(corpus, out, model=tiny_model_path, shard_size=2, replicas=2)
    assert report.shards_skipped == len(written) - 1  # the truncated one was encoded again
    assert report.shards_written == 12 - report.shards_skipped
    _no_temporaries(out)
    _assert_same_as_model(out, rows, tiny_model)  # every document exactly once, in input order
    assert sorted(p.name for p in out.glob("shard-*.npz")) == [
        ShardRange(s, s + 2).name for s in range(0, 24, 2)
    ]
    again = encode_corpus(corpus, out, model=tiny_model_path, shard_size=2)
    assert (again.shards_written, again.shards_skipped) == (0, 12)


# ------------------------------------------------------------------------------ bad input
def test_bad_inputs_give_clear_errors(ray_cluster, tiny_model_path, tmp_path):
    corpus = _write_jsonl(tmp_path / "corpus.jsonl", _documents(5))
    with pytest.raises(FileNotFoundError, match="no such file"):
        encode_corpus(tmp_path / "missing.jsonl", tmp_path / "o")
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(ValueError, match="BEIR folder or a corpus .jsonl"):
        encode_corpus(tmp_path / "notes.txt", tmp_path / "o")
    with pytest.raises(ValueError, match="duplicate _id"):
        encode_corpus(_write_jsonl(tmp_path / "dup.jsonl", _documents(2) * 2), tmp_path / "o")
    with pytest.raises(ValueError, match="empty"):
        encode_corpus(_write_jsonl(tmp_path / "empty.jsonl", []), tmp_path / "o")
    with pytest.raises(ValueError, match="no 'text' column"):
        load_texts(ray.data.from_items([{"id": "a", "body": "x"}]))
    with pytest.raises(TypeError, match="cannot encode a builtins.list"):
        load_texts(["a text"])
    with pytest.raises(ValueError, match="shard_size must be a positive integer"):
        encode_corpus(corpus, tmp_path / "o", shard_size=0)
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError, match="must be a folder"):
        encode_corpus(corpus, tmp_path / "file")
    with pytest.raises(FileNotFoundError, match="model folder not found"):
        encode_corpus(corpus, tmp_path / "o", model=tmp_path / "no-model")
    with pytest.raises(ShardError, match="not an embedding shard folder"):
        read_manifest(tmp_path)


def test_a_write_that_dies_before_its_rename_leaves_nothing_visible(monkeypatch, tmp_path):
    import plait.distributed.shards as shards

    def crash(*args):
        raise OSError("disk gone at the commit point")

    monkeypatch.setattr(shards.os, "replace", crash)
    with pytest.raises(OSError, match="commit point"):
        shards.write_shard(tmp_path, ShardRange(0, 2), ["a", "b"], [np.ones((3, 4))] * 2)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    entry = shards.write_shard(tmp_path, ShardRange(0, 2), ["a", "b"], [np.ones((3, 4))] * 2)
    assert [p.name for p in tmp_path.iterdir()] == [entry["name"]]
    assert check_shard(tmp_path, ShardRange(0, 2), ["a", "b"])


def test_other_input_in_the_same_folder_is_refused_unless_overwrite(
    ray_cluster, tiny_model_path, tmp_path
):
    out = tmp_path / "out"
    encode_corpus(_write_jsonl(tmp_path / "a.jsonl", _documents(5)), out, model=tiny_model_path)
    other = _write_jsonl(tmp_path / "b.jsonl", _documents(6))
    with pytest.raises(ShardError, match="different ids_sha256, n_documents"):
        encode_corpus(other, out, model=tiny_model_path)
    encode_corpus(other, out, model=tiny_model_path, overwrite=True)
    assert len(load_embeddings(out)[0]) == 6


def test_corruption_is_detected(ray_cluster, tiny_model_path, tmp_path):
    rows = _documents(4)
    out = tmp_path / "out"
    encode_corpus(_write_jsonl(tmp_path / "c.jsonl", rows), out, model=tiny_model_path)
    shard = ShardRange(0, 4)
    ids = [r["_id"] for r in rows]
    assert check_shard(out, shard, ids)
    with pytest.raises(ShardError, match="ids differ"):
        check_shard(out, shard, list(reversed(ids)))
    path = out / shard.name
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("embeddings.npy")
    data = bytearray(path.read_bytes())
    data[info.header_offset + 30 + len(info.filename) + 200] ^= 0xFF  # a byte of the token matrix
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptShardError, match="CRC"):
        check_shard(out, shard, ids)
    with pytest.raises(CorruptShardError, match="CRC"):
        list(read_embedding_shards(out, verify_crc=True))


# ------------------------------------------------------------------------------ command line
def test_cli_encode_ray(ray_cluster, tiny_model, tiny_model_path, tmp_path):
    from typer.testing import CliRunner

    from plait.cli.main import app

    rows = _documents(7)
    corpus = _write_jsonl(tmp_path / "corpus.jsonl", rows)
    out = tmp_path / "shards"
    args = ["encode", "-i", str(corpus), "-o", str(out), "--model", str(tiny_model_path)]
    result = CliRunner().invoke(app, [*args, "--ray", "--replicas", "2", "--shard-size", "3"])
    assert result.exit_code == 0, result.output
    assert "7 texts in 3 shards (3 written, 0 already complete)" in result.output
    _assert_same_as_model(out, rows, tiny_model)
    bad = CliRunner().invoke(app, [*args[:4], str(tmp_path / "x.npz"), "--ray"])
    assert bad.exit_code == 2 and "give a folder as --output" in bad.output
