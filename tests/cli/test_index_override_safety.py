"""`plait index --override` keeps the old index readable until the new one is committed, and texts
are committed with the vectors (issue 22: D6). The kill -9 cases run the real build in a child that
SIGKILLs itself at the N-th ``os.replace`` (every commit point of the build), before or after it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest

from plait.cli.folder import open_cli_index
from plait.cli.index import build_index

ROOT = Path(__file__).resolve().parents[2]
OLD = {f"o{i}": f"old text {i}" for i in range(6)}
NEW = {f"n{i}": f"new text {i}" for i in range(9)}


class StubEncoder:
    """Deterministic 8-d token embeddings from the text (no model to load)."""

    def encode(self, texts, **_):
        out = []
        for text in texts:
            rng = np.random.default_rng(zlib.crc32(text.encode()))
            m = rng.normal(size=(3, 8)).astype(np.float32)
            out.append(m / np.linalg.norm(m, axis=1, keepdims=True))
        return out


def build(path: Path, docs: dict[str, str], kind: str = "exact", override: bool = False):
    return build_index(
        list(docs),
        list(docs.values()),
        path,
        kind=kind,
        model_path=None,
        colbert=StubEncoder(),
        batch_size=8,
        override=override,
    )[0]


def state(path: Path) -> dict[str, str | None]:
    index, _, texts = open_cli_index(path)
    return {doc_id: texts.get(doc_id) for doc_id in index.documents_ids}


def plait_files(path: Path) -> set[str]:
    return {p.name for p in path.iterdir()}


@pytest.mark.parametrize("kind", ["exact", "plaid"])
def test_a_failed_override_leaves_the_old_index_and_is_cleaned_up_next_time(
    tmp_path, kind, monkeypatch
):
    path = tmp_path / "idx"
    build(path, OLD, kind)
    from plait.indexes import Exact
    from plait.indexes.plaid import PLAID

    cls = Exact if kind == "exact" else PLAID
    real_add = cls.add_documents

    def broken_add(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(cls, "add_documents", broken_add)
    with pytest.raises(OSError, match="disk full"):
        build(path, NEW, kind, override=True)
    assert state(path) == OLD  # the old index, texts included, is still the current one
    meta = json.loads((path / "cli.json").read_text())
    assert meta["building"] in plait_files(path)  # the half-built folder is recorded as ours
    monkeypatch.setattr(cls, "add_documents", real_add)
    build(path, NEW, kind, override=True)
    assert state(path) == NEW
    meta = json.loads((path / "cli.json").read_text())
    assert plait_files(path) == {"cli.json", meta["index"]}  # old and half-built folders are gone


def test_override_refuses_foreign_folders_and_library_indexes(tmp_path):
    from plait.cli._common import CliError
    from plait.indexes import Exact

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.txt").write_text("years of work")
    Exact(tmp_path, "lib").add_documents(["a"], [np.ones((1, 8), np.float32)])
    for target in (mine, tmp_path / "lib"):
        for override in (False, True):
            with pytest.raises(CliError):
                build(target, NEW, override=override)
    assert (mine / "thesis.txt").read_text() == "years of work"
    assert plait_files(mine) == {"thesis.txt"}


def test_a_layout_1_folder_is_read_and_upgraded_by_override(tmp_path):
    """Folders written before layout 2: index/ + documents.jsonl, cli.json without "index"."""
    from plait.indexes import Exact

    path = tmp_path / "old"
    encoder = StubEncoder()
    Exact(path, "index").add_documents(list(OLD), encoder.encode(list(OLD.values())))
    (path / "documents.jsonl").write_text(
        "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in OLD.items())
    )
    (path / "cli.json").write_text(json.dumps({"kind": "exact", "model": None, "documents": 6}))
    assert state(path) == OLD
    build(path, NEW, override=True)
    assert state(path) == NEW
    assert plait_files(path) == {"cli.json", json.loads((path / "cli.json").read_text())["index"]}


CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[4])
    from test_index_override_safety import NEW, build
    kill_at, after = int(sys.argv[2]), sys.argv[3] == "after"
    real_replace, calls = os.replace, [0]

    def replace(src, dst):
        calls[0] += 1
        if calls[0] == kill_at and not after:
            os.kill(os.getpid(), signal.SIGKILL)
        real_replace(src, dst)
        if calls[0] == kill_at and after:
            os.kill(os.getpid(), signal.SIGKILL)

    os.replace = replace
    build(Path(sys.argv[1]), NEW, "exact", override=True)
    print("replaces", calls[0])
    """
)


@pytest.mark.slow  # a few child processes, each importing plait
def test_kill_9_at_every_commit_point_of_an_override(tmp_path):
    def run_child(path: Path, kill_at: int, when: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                sys.executable,
                "-c",
                CHILD,
                str(path),
                str(kill_at),
                when,
                str(Path(__file__).parent),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )

    probe = tmp_path / "probe"
    build(probe, OLD)
    done = run_child(probe, 0, "before")
    assert done.returncode == 0, done.stderr
    total = int(done.stdout.split()[-1])  # os.replace calls of one whole override
    assert total >= 4  # cli.json (building, switch, final) and the index's commits
    outcomes = set()
    for kill_at in range(1, total + 1):
        for when in ("before", "after"):
            path = tmp_path / f"k{kill_at}{when}"
            build(path, OLD)
            killed = run_child(path, kill_at, when)
            assert killed.returncode == -9, killed.stderr
            now = state(path)  # opens, and holds exactly the old or the new documents and texts
            assert now in (OLD, NEW), (kill_at, when, now)
            outcomes.add("new" if now == NEW else "old")
            build(path, NEW, override=True)  # the next run cleans up what the kill left
            meta = json.loads((path / "cli.json").read_text())
            assert plait_files(path) == {"cli.json", meta["index"]}, (kill_at, when)
    assert outcomes == {"old", "new"}


def test_a_damaged_old_index_does_not_fail_the_override(tmp_path, caplog):
    path = tmp_path / "idx"
    build(path, OLD)
    old = path / json.loads((path / "cli.json").read_text())["index"]
    (old / "manifest.json").write_text("{ damaged")
    build(path, NEW, override=True)
    assert state(path) == NEW
    assert old.is_dir() and "left" in caplog.text  # not deleted: plait cannot prove what is in it
    assert "retired" not in json.loads((path / "cli.json").read_text())
