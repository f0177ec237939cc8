"""The folder ``plait index`` makes, and its one commit point (``cli.json``).

Layout 2 (written since issue 22)::

    INDEX/
      cli.json        {"layout": 2, "kind", "model", "nbits", "texts", "index": "index-<hex>",
                       "building"?: "index-<hex>", "retired"?: [names]}
      index-<hex>/    the plait index; document texts are committed with the vectors

``cli.json`` is replaced atomically (:func:`plait.indexes.storage.atomic_write`) and names the
current index folder. ``plait index --override`` never touches the current index until the new one
is complete: it records the new folder's name under ``building``, builds the index there, switches
``index`` to it in one atomic replace (the old folder listed under ``retired``), and only then
deletes the old index, file by file as its manifest proves plait wrote them. A crash at any point
leaves the old index or the new one readable, never an empty or half-built one, and the next run
cleans up what ``building`` / ``retired`` name. The old index's writer lock is held throughout,
so a running ``plait serve`` (or another writer) is reported before any work.

Layout 1 (older folders, still read): ``cli.json`` without ``index``, the index in ``index/`` and
texts in ``documents.jsonl``. An override rebuilds such a folder in layout 2.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from plait.cli._common import (
    CLI_META,
    CLI_TEXTS,
    CliError,
    read_cli_meta,
)

logger = logging.getLogger("plait.cli")
LAYOUT = 2
LEGACY_INDEX = "index"


def committed_index(path: Path, meta: Mapping[str, Any]) -> str:
    """Name of the index folder ``cli.json`` points to (layout 1: ``index``)."""
    name = meta.get("index")
    if isinstance(name, str) and name.startswith("index-") and "/" not in name:
        return name
    if "layout" not in meta:
        return LEGACY_INDEX
    raise CliError(
        f"{path} holds no committed index yet (an interrupted `plait index`?); run plait index again"
    )


def write_meta(path: Path, meta: Mapping[str, Any]) -> None:
    """Replace ``path``'s ``cli.json`` with ``meta``, atomically."""
    from plait.indexes.storage import atomic_write

    atomic_write(path / CLI_META, json.dumps(dict(meta), indent=2) + "\n")


def check_target(path: Path, override: bool) -> dict[str, Any] | None:
    """Refuse a target ``plait index`` must not write into; returns its current ``cli.json``.

    A new or empty folder is fine; a ``plait index`` folder needs ``override`` (unless no build
    ever committed in it); a library index or any other non-empty folder is someone's data.
    """
    if path.exists() and not path.is_dir():
        raise CliError(f"{path} exists and is not a folder")
    meta = read_cli_meta(path) if path.is_dir() else None
    if meta is not None:
        if _has_index(meta) and not override:
            raise CliError(f"{path} already holds an index; pass --override to rebuild it")
        return meta
    found = sorted(p.name for p in path.iterdir()) if path.is_dir() else []
    if (path / "manifest.json").is_file():
        raise CliError(
            f"{path} holds a library index (manifest.json), not a `plait index` folder; "
            "choose a new folder (plait search/add/serve open this one as it is)"
        )
    if found:
        from plait.indexes import foreign

        shown = ", ".join(found[:5]) + (" ..." if len(found) > 5 else "")
        engine = foreign.describe(found)
        if engine:
            raise CliError(
                f"{path} holds {engine} (found: {shown}); choose a new or empty folder, or "
                f"{foreign.remedy(engine, path)}"
            )
        raise CliError(
            f"{path} is not empty and is not a plait index folder (found: {shown}); choose a new "
            "or empty folder"
        )
    return None


@contextmanager
def holding_index_lock(folder: Path | None) -> Iterator[None]:
    """Hold an index folder's writer lock (no-op for ``None`` or a folder without an index)."""
    from plait.indexes.storage import IndexFolder

    if folder is None or not IndexFolder(folder).exists():
        yield
        return
    lock = IndexFolder(folder)
    lock.hold_writer_lock()
    try:
        yield
    finally:
        lock.release_writer_lock()


def replace_index(
    path: Path, meta: dict[str, Any], old: dict[str, Any] | None, fill: Callable[[str], Any]
) -> Any:
    """Build a new index with ``fill(name)``, switch ``cli.json`` to it and delete the old one.

    ``fill`` creates ``path/name`` and adds the documents (see the module docstring).
    """
    current = committed_index(path, old) if old is not None and _has_index(old) else None
    path.mkdir(parents=True, exist_ok=True)
    with holding_index_lock(None if current is None else path / current):
        _clean_up(path, old)
        name = f"index-{secrets.token_hex(4)}"
        base = {
            k: v for k, v in (old or {"layout": LAYOUT}).items() if k not in ("building", "retired")
        }
        write_meta(path, {**base, "building": name})
        index = fill(name)
        retired = [] if current is None else [current]
        if current == LEGACY_INDEX and (path / CLI_TEXTS).is_file():
            retired.append(CLI_TEXTS)
        new_meta = {**meta, "layout": LAYOUT, "index": name}
        write_meta(path, {**new_meta, "retired": retired} if retired else new_meta)
        if retired:
            _delete(path, retired)
            write_meta(path, new_meta)
    return index


def _has_index(meta: Mapping[str, Any]) -> bool:
    return "index" in meta or "layout" not in meta


def _clean_up(path: Path, meta: Mapping[str, Any] | None) -> None:
    """Delete what an interrupted run left behind.

    That is a half-built index, a retired one, a temporary ``cli.json`` (``.cli.json.<hex>.tmp``,
    the name :func:`atomic_write` gives it).
    """
    if meta is None:
        return
    for child in path.iterdir():
        if re.fullmatch(r"\.cli\.json\.[0-9a-f]{8}\.tmp", child.name):
            child.unlink(missing_ok=True)
    leftovers = list(meta.get("retired") or [])
    building = meta.get("building")
    if isinstance(building, str) and building != meta.get("index"):
        leftovers.append(building)
    _delete(path, [n for n in leftovers if isinstance(n, str) and n != meta.get("index")])


def _delete(path: Path, names: list[str]) -> None:
    """Delete plait's own leftovers; one that cannot be read is left in place, with a warning.

    The new index is committed by then: a damaged old one must not fail the command.
    """
    from plait.indexes.base import CorruptIndexError
    from plait.indexes.storage import IndexFolder, check_name

    for name in names:
        check_name(name, "folder name")
        target = path / name
        try:
            if name == CLI_TEXTS:
                target.unlink(missing_ok=True)
            elif target.is_dir():
                IndexFolder(target).destroy()
        except (CorruptIndexError, OSError) as error:
            logger.warning("left %s in place: it could not be deleted (%s)", target, error)


def open_cli_index(
    path: Path, *, ray: bool = False, ray_address: str | None = None
) -> tuple[Any, str | None, CliTexts]:
    """``(index, model_path, texts)`` for a ``plait index`` folder or a bare library index.

    A sharded index searches on Ray when ``ray`` (``ray_address``: cluster to join; a local one
    is started without it), else in this process.
    """
    if not path.is_dir():
        raise CliError(f"no index folder at {path}")
    meta = read_cli_meta(path)
    ray_args: dict[str, Any] = {"ray": ray, "ray_address": ray_address}
    if meta is None:
        index = open_existing(path, **ray_args)
        return index, None, CliTexts(index, None)
    name = committed_index(path, meta)
    if not (path / name).is_dir():
        raise CliError(f"{path}: {name}/ is missing; rebuild with plait index --override")
    index = open_existing(path / name, **ray_args)
    legacy = path / CLI_TEXTS if name == LEGACY_INDEX else None
    return index, meta.get("model"), CliTexts(index, legacy)


def open_existing(path: Path, *, ray: bool = False, ray_address: str | None = None) -> Any:
    """Open the index at ``path`` by the format its manifest names (sharded: on Ray if ``ray``)."""
    from plait.indexes.registry import SHARDED_FORMAT, index_format, open_index

    try:
        fmt = index_format(path)
    except FileNotFoundError as error:
        raise CliError(f"{error}; build one with plait index") from None
    if fmt == SHARDED_FORMAT:
        return open_index(path, backend="ray" if ray else "local", ray_address=ray_address)
    return open_index(path)


def follower(path: Path, **open_args: Any) -> Callable[[], Any | None]:
    """Return the ``reopen`` callable of a read-only server of a ``plait index`` folder.

    It returns the newly committed index once ``cli.json`` names another one (``plait index
    --override`` ran), and ``None`` while it names the same one.
    """
    meta = read_cli_meta(path)
    current = committed_index(path, meta) if meta is not None else None

    def follow() -> Any | None:
        nonlocal current
        meta = read_cli_meta(path)
        if meta is None or not _has_index(meta) or committed_index(path, meta) == current:
            return None
        index = open_cli_index(path, **open_args)[0]
        current = committed_index(path, meta)
        return index

    return follow


class CliTexts(Mapping[str, str]):
    """Texts of the documents of an index, looked up on demand.

    They are the texts committed with the vectors, else (layout 1 folders) the line of
    ``documents.jsonl`` for that id.
    """

    def __init__(self, index: Any, legacy: Path | None) -> None:
        self._index = index
        self._legacy_file = legacy if legacy is not None and legacy.is_file() else None
        self._legacy: dict[str, str] | None = None

    def _lookup(self, doc_id: str) -> str | None:
        if doc_id not in self._index:
            return None
        getter = getattr(self._index, "get_documents", None)
        text = getter([doc_id])[0]["text"] if getter is not None else None
        if text is None and self._legacy_file is not None:
            text = self._read_legacy().get(doc_id)
        return text

    def _read_legacy(self) -> dict[str, str]:
        if self._legacy is None:
            assert self._legacy_file is not None
            self._legacy = {}
            with open(self._legacy_file, encoding="utf-8") as handle:
                for line in handle:
                    if line.strip():
                        record = json.loads(line)
                        self._legacy[str(record["id"])] = str(record.get("text", ""))
        return self._legacy

    def __getitem__(self, doc_id: str) -> str:
        text = self._lookup(doc_id)
        if text is None:
            raise KeyError(doc_id)
        return text

    def __contains__(self, doc_id: object) -> bool:
        return isinstance(doc_id, str) and self._lookup(doc_id) is not None

    def __iter__(self) -> Iterator[str]:
        return (doc_id for doc_id in self._index.documents_ids if doc_id in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)
