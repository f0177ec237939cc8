"""plait.indexes.metadata: checks, column types across segments, the Parquet file, no pyarrow."""

from __future__ import annotations

import datetime as dt
import sys

import numpy as np
import pytest

from plait.extras import MissingExtraError
from plait.indexes import Exact, IndexInputError
from plait.indexes.metadata import check_metadata, merge_schema


def _docs(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.standard_normal((3, 8)).astype(np.float32) for _ in range(n)]


def test_check_metadata_drops_none_values_and_all_empty_rows() -> None:
    assert check_metadata(["a", "b"], [{"x": None}, None]) is None
    assert check_metadata(["a", "b"], [{"x": 1, "y": None}, None]) == [{"x": 1}, {}]


def test_schema_widens_int_to_float_and_refuses_other_mixes() -> None:
    assert merge_schema({"year": "int"}, [{"year": 2.5}], ["a"]) == {"year": "float"}
    assert merge_schema({"score": "float"}, [{"score": 3}], ["a"]) == {"score": "float"}
    assert merge_schema(
        None, [{"d": dt.date(2020, 1, 1)}, {"t": dt.datetime(2020, 1, 1, 5)}], ["a", "b"]
    ) == {
        "d": "date",
        "t": "datetime",
    }
    with pytest.raises(IndexInputError, match="the index stores int"):
        merge_schema({"year": "int"}, [{"year": "2020"}], ["doc-9"])
    with pytest.raises(IndexInputError, match="doc-2"):
        merge_schema(None, [{"flag": True}, {"flag": 1}], ["doc-1", "doc-2"])


def test_a_type_clash_with_an_earlier_segment_writes_nothing(tmp_path) -> None:
    index = Exact(tmp_path, "idx")
    index.add_documents(["a"], _docs(1), metadata=[{"year": 2020}])
    generation = index.manifest["generation"]
    files = sorted(p.name for p in (tmp_path / "idx").iterdir())
    with pytest.raises(IndexInputError, match="year"):
        index.add_documents(["b"], _docs(1), metadata=[{"year": "last year"}])
    assert Exact(tmp_path, "idx").manifest["generation"] == generation
    assert sorted(p.name for p in (tmp_path / "idx").iterdir()) == files
    index.add_documents(["b"], _docs(1), metadata=[{"year": 2021.5, "lang": "en"}])
    reopened = Exact(tmp_path, "idx")
    assert reopened.manifest["metadata_schema"] == {"year": "float", "lang": "str"}
    assert [d["metadata"] for d in reopened.get_documents(["a", "b"])] == [
        {"year": 2020},
        {"year": 2021.5, "lang": "en"},
    ]


def test_the_metadata_file_is_parquet_that_other_tools_read(tmp_path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    index = Exact(tmp_path, "idx")
    index.add_documents(["a", "b"], _docs(2), metadata=[{"year": 2020, "src": "x"}, {"year": 2021}])
    (name,) = [
        e["name"] for role, e in index.manifest["files"].items() if role.endswith(".metadata")
    ]
    table = pq.read_table(tmp_path / "idx" / name)
    assert table.to_pylist() == [{"src": "x", "year": 2020}, {"src": None, "year": 2021}]


def test_a_damaged_metadata_file_is_named(tmp_path) -> None:
    from plait.indexes import CorruptIndexError

    index = Exact(tmp_path, "idx")
    index.add_documents(["a"], _docs(1), metadata=[{"year": 2020}])
    (name,) = [
        e["name"] for role, e in index.manifest["files"].items() if role.endswith(".metadata")
    ]
    path = tmp_path / "idx" / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptIndexError, match=name):
        Exact(tmp_path, "idx").get_documents(["a"])


@pytest.mark.parametrize("role", [".metadata", ".texts"])
def test_a_damaged_file_stays_named_on_every_read(tmp_path, role) -> None:
    """The lazy file is read once; a second look gives the same error, not a closed-file one."""
    from plait.indexes import CorruptIndexError

    Exact(tmp_path, "idx").add_documents(
        ["a"], _docs(1), texts=["some text"], metadata=[{"year": 2020}]
    )
    index = Exact(tmp_path, "idx")  # opens the files, reads them on first use
    (name,) = [e["name"] for r, e in index.manifest["files"].items() if r.endswith(role)]
    path = tmp_path / "idx" / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    with open(path, "r+b") as handle:  # in place: the same file the index holds open
        handle.write(bytes(data))
    for _ in range(2):
        with pytest.raises(CorruptIndexError, match=name):
            index.get_documents(["a"])


def test_without_pyarrow_metadata_needs_the_extra_and_the_rest_works(tmp_path, monkeypatch) -> None:
    index = Exact(tmp_path, "idx")
    index.add_documents(["a"], _docs(1), texts=["plain"])
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(MissingExtraError, match=r"plait\[metadata\]"):
        index.add_documents(["b"], _docs(1), metadata=[{"year": 1}])
    assert "b" not in index and Exact(tmp_path, "idx").get_documents(["a"])[0] == {
        "id": "a",
        "text": "plain",
        "metadata": {},
    }


def test_values_that_do_not_fit_64_bits_are_refused_not_crashed(tmp_path) -> None:
    index = Exact(tmp_path, "idx")
    index.add_documents(["a"], _docs(1), metadata=[{"n": 1}])
    with pytest.raises(IndexInputError, match="64 bits"):
        index.add_documents(["b"], _docs(1), metadata=[{"n": 1 << 70}])
    with pytest.raises(IndexInputError, match="64 bits"):
        index.filter_ids("n = ?", [1 << 70])
    with pytest.raises(IndexInputError, match="parameters are"):
        index.filter_ids("n = ?", [[1, 2]])
    assert index.filter_ids("n = ?", [1]) == ["a"] and "b" not in index
