"""Data safety of index folders (issue 22): never delete what plait did not write (D1), generations
only grow and commits compare-and-swap (D2), readers racing commits never see false corruption (D4),
damaged structural files and manifests give errors naming the file, never a crash or a silent wrong
answer (D3, D9)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from plait.distributed.sharded import ShardedPLAID
from plait.indexes import Exact
from plait.indexes.base import CorruptIndexError, ForeignFolderError, StaleManifestError
from plait.indexes.plaid import PLAID
from plait.indexes.storage import MANIFEST, IndexFolder, manifest_checksum

ROOT = Path(__file__).resolve().parents[2]
KINDS = {
    "exact": lambda folder, **kw: Exact(folder, "idx", **kw),
    "plaid": lambda folder, **kw: PLAID(folder, "idx", nbits=2, **kw),
    "sharded": lambda folder, **kw: ShardedPLAID(folder, "idx", n_shards=2, **kw),
}


def docs(n: int, seed: int = 0, dim: int = 16) -> tuple[list[str], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        m = rng.normal(size=(int(rng.integers(2, 7)), dim)).astype(np.float32)
        out.append(m / np.linalg.norm(m, axis=1, keepdims=True))
    return [f"d{i}" for i in range(n)], out


def foreign_folder(path: Path) -> dict[str, bytes]:
    """A folder that looks like someone's index (PyLate / fast-plaid style names)."""
    path.mkdir(parents=True)
    files = {
        "metadata.json": b'{"num_partitions": 4}',
        "ivf.npy": b"\x93NUMPY fake",
        "0.codes.npy": b"codes",
        "doclens.0.json": b"[1, 2]",
        "notes.txt": b"mine",
    }
    for name, data in files.items():
        (path / name).write_bytes(data)
    return files


def assert_untouched(path: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        assert (path / name).read_bytes() == data, name


# ---------------------------------------------------------------- D1: delete only what plait wrote
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_foreign_folder_is_refused_and_left_alone(tmp_path, kind):
    files = foreign_folder(tmp_path / "idx")
    with pytest.raises(ForeignFolderError) as error:
        KINDS[kind](tmp_path)
    message = str(error.value)
    assert str(tmp_path / "idx") in message and "metadata.json" in message and "override" in message
    assert_untouched(tmp_path / "idx", files)
    assert not (tmp_path / "idx" / MANIFEST).exists()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_override_reuses_a_foreign_folder_without_deleting_its_files(tmp_path, kind):
    files = foreign_folder(tmp_path / "idx")
    index = KINDS[kind](tmp_path, override=True)
    ids, embs = docs(30)
    for start in range(0, 30, 6):  # many commits: garbage collection runs each time
        index.add_documents(ids[start : start + 6], embs[start : start + 6])
    index.remove_documents(ids[:20])
    if hasattr(index, "compact"):
        index.compact()
    assert_untouched(tmp_path / "idx", files)
    assert len(KINDS[kind](tmp_path)) == 10


@pytest.mark.parametrize("kind", ["exact", "plaid"])
def test_an_index_that_lost_its_manifest_is_not_emptied(tmp_path, kind):
    ids, embs = docs(8)
    KINDS[kind](tmp_path).add_documents(ids, embs)
    folder = tmp_path / "idx"
    (folder / MANIFEST).unlink()
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(ForeignFolderError, match="holds no plait manifest"):
        KINDS[kind](tmp_path)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


@pytest.mark.parametrize("kind", ["exact", "plaid"])
def test_files_users_drop_into_an_index_folder_survive_commits(tmp_path, kind):
    index = KINDS[kind](tmp_path)
    folder = tmp_path / "idx"
    mine = {"backup.npy": b"x", "embeddings.json": b"[]", "segment-0-tokens.npy": b"y"}
    for name, data in mine.items():
        (folder / name).write_bytes(data)
    ids, embs = docs(12)
    for start in range(0, 12, 3):
        index.add_documents(ids[start : start + 3], embs[start : start + 3])
    index.remove_documents(ids[:3])
    index.compact()
    KINDS[kind](tmp_path, override=True).add_documents(ids[:2], embs[:2])
    assert_untouched(folder, mine)


@pytest.mark.parametrize("kind", ["exact", "plaid"])
def test_override_collects_the_old_index_files(tmp_path, kind):
    ids, embs = docs(10)
    KINDS[kind](tmp_path).add_documents(ids, embs)
    folder = tmp_path / "idx"
    old = {p.name for p in folder.iterdir()} - {MANIFEST, "writer.lock"}
    index = KINDS[kind](tmp_path, override=True)
    for i in range(3):  # the old files are kept for readers a few commits, then collected
        index.add_documents([f"n{i}"], [embs[i]])
    assert not old & {p.name for p in folder.iterdir()}


def test_an_empty_folder_or_a_missing_one_is_fine(tmp_path):
    (tmp_path / "idx").mkdir()
    assert len(Exact(tmp_path, "idx")) == 0
    assert len(PLAID(tmp_path / "new" / "deeper", "idx")) == 0


def test_an_unreadable_manifest_is_set_aside_by_override_not_overwritten(tmp_path):
    ids, embs = docs(4)
    Exact(tmp_path, "idx").add_documents(ids, embs)
    manifest = tmp_path / "idx" / MANIFEST
    manifest.write_text("{ broken")
    with pytest.raises(CorruptIndexError, match="manifest.json"):
        Exact(tmp_path, "idx")
    Exact(tmp_path, "idx", override=True)
    aside = [
        p for p in (tmp_path / "idx").iterdir() if p.name.startswith("manifest.json.unreadable")
    ]
    assert len(aside) == 1 and aside[0].read_text() == "{ broken"


# ---------------------------------------------------------------- D2: generations, compare-and-swap
@pytest.mark.parametrize("kind", ["exact", "plaid"])
def test_a_writer_opened_before_a_rebuild_notices_it(tmp_path, kind):
    ids, embs = docs(12)
    old = KINDS[kind](tmp_path)
    old.add_documents(ids[:6], embs[:6])
    generation = IndexFolder(tmp_path / "idx").read_manifest()["generation"]
    rebuilt = KINDS[kind](tmp_path, override=True)  # another process rebuilds the index
    for i in range(6):  # as many commits as the old writer saw, so generations could collide
        rebuilt.add_documents([ids[6 + i]], [embs[6 + i]])
    after = IndexFolder(tmp_path / "idx").read_manifest()
    assert after["generation"] > generation + 6  # generations only grow, across the override
    old.add_documents(["late"], [embs[0]])  # must build on the rebuilt index, not on its memory
    reopened = KINDS[kind](tmp_path)
    assert sorted(reopened.documents_ids) == sorted([*ids[6:], "late"])
    reopened.search([embs[0]], k=3)


def test_a_commit_on_a_stale_base_is_refused(tmp_path):
    folder = IndexFolder(tmp_path / "f")
    manifest = {"format": "test", "version": 1, "files": {}}
    with folder.writer_lock():
        first = folder.commit(manifest, base=None)
        folder.commit(manifest, base=first)
        with pytest.raises(StaleManifestError):
            folder.commit(manifest, base=first)  # someone committed since `first` was read
        with pytest.raises(StaleManifestError):  # same generation, but another index (rebuilt)
            folder.commit(manifest, base=dict(first, index_id="0" * 16, generation=2))
    with pytest.raises(RuntimeError, match="writer lock"):
        folder.commit(manifest, base=None)


# ---------------------------------------------------------------- D4: readers racing commits
RACE_WRITER = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from plait.indexes import Exact
    from plait.indexes.plaid import PLAID
    kind, folder, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    make = (lambda: Exact(folder, "idx")) if kind == "exact" else (lambda: PLAID(folder, "idx"))
    index = make()
    rng = np.random.default_rng(0)
    doc = lambda: (lambda m: m / np.linalg.norm(m, axis=1, keepdims=True))(
        rng.normal(size=(3, 16)).astype(np.float32))
    print("ready", flush=True)
    end, i = time.time() + seconds, 0
    while time.time() < end:
        index.add_documents([f"w{i}"], [doc()], replace=True)
        if i % 3 == 2:
            index.remove_documents([f"w{i - 1}"])
        if i % 5 == 4:
            index.compact()
        i += 1
    print("commits", i, flush=True)
    """
)


@pytest.mark.slow  # a writer process racing the readers; test_crash_contract.py keeps one kill -9
@pytest.mark.parametrize("kind", ["exact", "plaid"])
def test_readers_opening_during_commits_never_see_false_corruption(tmp_path, kind):
    ids, embs = docs(40)
    KINDS[kind](tmp_path).add_documents(ids, embs)
    writer = subprocess.Popen(
        [sys.executable, "-c", RACE_WRITER, kind, str(tmp_path), "3"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "ready"
    opens = 0
    try:
        while writer.poll() is None:
            index = KINDS[kind](tmp_path)
            result = index.search([embs[0]], k=3)[0]
            assert result.ids and np.isfinite(result.scores).all()
            opens += 1
    finally:
        writer.wait(timeout=60)
    commits = int(writer.stdout.read().split()[-1])
    assert writer.returncode == 0 and commits > 10 and opens > 5


# ---------------------------------------------------------------- D3 / D9: damage is named
def rewrite_entry(folder: Path, role: str, array: np.ndarray) -> None:
    """Replace a data file with ``array`` and re-sign the manifest: structurally wrong content
    that every checksum accepts (a bug or an adversary), so only validation can catch it."""
    manifest = json.loads((folder / MANIFEST).read_text())
    entry = manifest["files"][role]
    path = folder / entry["name"]
    np.save(path, array, allow_pickle=False)
    from plait.indexes.storage import crc32_file

    entry.update(bytes=path.stat().st_size, crc32=crc32_file(path))
    manifest["checksum"] = manifest_checksum(manifest)
    (folder / MANIFEST).write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    "offsets",
    [
        lambda o: np.r_[o[:-1], o[-1] + 1000],  # past the end of the token matrix
        lambda o: np.r_[o[0], o[2], o[1], o[3:]],  # decreasing
        lambda o: np.r_[o[:2] - 5, o[2:]],  # negative start
        lambda o: o[:-1],  # one short
    ],
)
def test_exact_offsets_that_would_read_out_of_bounds_are_refused(tmp_path, offsets):
    ids, embs = docs(6)
    Exact(tmp_path, "idx").add_documents(ids, embs)
    folder = tmp_path / "idx"
    role = json.loads((folder / MANIFEST).read_text())["segments"][0]["name"] + ".offsets"
    good = np.load(folder / json.loads((folder / MANIFEST).read_text())["files"][role]["name"])
    rewrite_entry(folder, role, offsets(good).astype(np.int64))
    with pytest.raises(CorruptIndexError, match="inconsistent"):
        Exact(tmp_path, "idx")


def test_plaid_codes_and_residuals_that_do_not_fit_are_refused(tmp_path):
    ids, embs = docs(20)
    PLAID(tmp_path, "idx", nbits=2).add_documents(ids, embs)
    folder = tmp_path / "idx"
    files = json.loads((folder / MANIFEST).read_text())["files"]
    codes = np.load(folder / files["s000001.codes"]["name"])
    residuals = np.load(folder / files["s000001.residuals"]["name"])
    for role, bad in [
        ("s000001.codes", np.full_like(codes, 60000)),
        ("s000001.residuals", residuals[:, :-1].copy()),
    ]:
        rewrite_entry(folder, role, bad)
        with pytest.raises(CorruptIndexError, match=role.split(".")[1]):
            PLAID(tmp_path, "idx")
        rewrite_entry(folder, role, codes if role.endswith("codes") else residuals)
    PLAID(tmp_path, "idx").search([embs[0]], k=2)


def small_indexes(tmp_path: Path) -> dict[str, tuple[Path, object]]:
    ids, embs = docs(24)
    exact = Exact(tmp_path, "exact")
    plaid = PLAID(tmp_path, "plaid", nbits=2)
    for index in (exact, plaid):
        index.add_documents(ids[:12], embs[:12])
        index.add_documents(ids[12:], embs[12:])
        index.remove_documents(["d1", "d14"])
    return {"exact": (tmp_path / "exact", Exact), "plaid": (tmp_path / "plaid", PLAID)}


def answer(cls, path: Path, query: np.ndarray) -> tuple:
    index = cls(path.parent, path.name)
    hit = index.search([query], k=5)[0]
    return len(index), tuple(index.documents_ids), tuple(hit.ids), tuple(np.round(hit.scores, 5))


def flip(path: Path, bit: int) -> bytes:
    data = path.read_bytes()
    damaged = bytearray(data)
    damaged[bit // 8] ^= 1 << (bit % 8)
    path.write_bytes(bytes(damaged))
    return data


@pytest.mark.parametrize("kind", ["exact", pytest.param("plaid", marks=pytest.mark.slow)])
def test_bit_flips_in_the_manifest_and_small_files_are_named_never_silent(tmp_path, kind):
    path, cls = small_indexes(tmp_path)[kind]
    query = docs(1, seed=9)[1][0]
    clean = answer(cls, path, query)
    manifest = json.loads((path / MANIFEST).read_text())
    small = [path / MANIFEST] + [
        path / e["name"] for e in manifest["files"].values() if e["bytes"] <= 4096
    ]
    rng = np.random.default_rng(0)
    checked = 0
    for file in small:
        n_bits = file.stat().st_size * 8
        for bit in rng.choice(n_bits, size=min(n_bits, 40), replace=False).tolist():
            original = flip(file, bit)
            try:
                result = answer(cls, path, query)
            except (CorruptIndexError, ValueError) as error:
                assert file.name in str(error), (file.name, bit, str(error))
            else:
                assert result == clean, (
                    f"silent wrong answer after flipping bit {bit} of {file.name}"
                )
            finally:
                file.write_bytes(original)
            checked += 1
    assert checked > 200 and answer(cls, path, query) == clean


@pytest.mark.parametrize("kind", ["exact", "plaid"])
def test_a_damaged_npy_header_names_its_file(tmp_path, kind):
    path, cls = small_indexes(tmp_path)[kind]
    manifest = json.loads((path / MANIFEST).read_text())
    for entry in manifest["files"].values():
        if not entry["name"].endswith(".npy"):
            continue
        file = path / entry["name"]
        for position in (8, 12, 20, 30, 40, 50):  # inside the header's dict text
            data = file.read_bytes()
            damaged = bytearray(data)
            damaged[position] = ord("(")  # unbalanced: numpy's parser raises a tokenize error
            file.write_bytes(bytes(damaged))
            try:
                with pytest.raises(CorruptIndexError, match=entry["name"]):
                    cls(path.parent, path.name)
            finally:
                file.write_bytes(data)


@pytest.mark.parametrize(
    "files, engine",
    [
        (
            ["index.voyager", "document_ids_to_embeddings.pkl", "embeddings_to_documents_ids.pkl"],
            "PyLate Voyager",
        ),
        (
            [
                "fast_plaid_index/",
                "documents_ids_to_plaid_ids.pkl",
                "plaid_ids_to_documents_ids.pkl",
            ],
            "fast-plaid backend",
        ),
        (
            ["plan.json", "metadata.json", "ivf.pid.pt", "0.codes.pt", "doclens.0.json"],
            "Stanford ColBERT",
        ),
        (
            ["metadata.json", "centroids.npy", "ivf.npy", "ivf_lengths.npy", "0.codes.npy"],
            "a fast-plaid index",
        ),
    ],
)
def test_another_engines_index_is_named_and_left_alone(tmp_path, files, engine):
    """A PyLate user who swaps the import keeps index_folder=...: plait says what it found."""
    from plait.indexes import Voyager

    folder = tmp_path / "idx"
    folder.mkdir()
    for name in files:
        if name.endswith("/"):
            (folder / name).mkdir()
        else:
            (folder / name).write_bytes(b"someone else's bytes")
    before = sorted(p.name for p in folder.iterdir())
    for make in (KINDS["exact"], KINDS["plaid"], lambda f: Voyager(f, "idx")):
        with pytest.raises(ForeignFolderError, match=engine) as error:
            make(tmp_path)
        assert str(folder) in str(error.value) and "will not write into it" in str(error.value)
        migratable = "fast-plaid" in engine  # the bare folder and PyLate's fast-plaid backend
        assert ("plait migrate-index" in str(error.value)) == migratable
    assert sorted(p.name for p in folder.iterdir()) == before


def test_files_a_crash_kept_from_being_deleted_are_deleted_by_the_next_commit(
    tmp_path, monkeypatch
):
    """A kill between the manifest switch and the deletions: the manifest lists what it was about
    to delete (``deleting``), so the next commit finishes the job and nothing leaks."""
    ids, embs = docs(12)
    index = Exact(tmp_path, "idx")
    for i in range(4):
        index.add_documents(ids[3 * i : 3 * i + 3], embs[3 * i : 3 * i + 3])
    index.compact()  # retires every segment file
    index.add_documents(["x"], [embs[0]])

    def killed(self, names):
        raise KeyboardInterrupt("killed after the switch")

    monkeypatch.setattr(IndexFolder, "_delete", killed)
    with pytest.raises(KeyboardInterrupt):
        index.add_documents(["y"], [embs[1]])  # this commit expires the compacted-away files
    monkeypatch.undo()
    folder = tmp_path / "idx"
    pending = set(IndexFolder(folder).read_manifest()["deleting"])
    assert pending and pending <= {p.name for p in folder.iterdir()}
    reopened = Exact(tmp_path, "idx")
    reopened.add_documents(["z"], [embs[2]])
    manifest = IndexFolder(folder).read_manifest()
    kept = {e["name"] for e in manifest["files"].values()} | set(manifest["retired"])
    assert {p.name for p in folder.iterdir()} <= kept | {MANIFEST, "writer.lock"}
    assert sorted(reopened.documents_ids) == sorted([*ids, "x", "y", "z"])
