"""Distributed encoding on Ray Data: a corpus to an embedding shard folder, resumably.

:func:`encode_corpus` reads a corpus (BEIR folder, corpus ``.jsonl``, Ray Dataset or Hugging Face
dataset), splits it by input position into shards of ``shard_size`` documents and runs
``ray.data.Dataset.map_batches`` with a callable class that holds one model replica per worker
(``replicas`` workers, each with ``num_cpus`` / ``num_gpus``). Each replica encodes a whole shard and
writes it itself with the atomic rule of :mod:`plait.distributed.shards`, so the output folder must
be visible at the same path to every node (a local disk on one machine, a shared filesystem on a
cluster).

Resuming: the shard names are the input ranges; a re-run with the same input and settings checks
every existing shard (zip CRC-32s and its ids against the input's ids for that range), encodes only
the missing ones and writes the final manifest. Every document lands in exactly one shard.

Ray is imported inside the functions that need it: importing this module does not start or
require it, and nothing in the single-machine path imports this module.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plait.distributed.shards import (
    CorruptShardError,
    ShardError,
    ShardRange,
    check_shard,
    ids_digest,
    parse_shard_name,
    plan_shards,
    read_manifest,
    shard_entry,
    write_manifest,
    write_shard,
)
from plait.extras import require_extra
from plait.indexes.files import atomic_write

__all__ = ["EncodeReport", "encode_corpus", "load_texts"]

logger = logging.getLogger("plait.distributed")
LOCK = "encode.lock"
WRITERS_LOCK = "encode.writers.lock"
RUN = "encode.run"


@dataclass
class EncodeReport:
    """What one :func:`encode_corpus` call did."""

    output: Path
    n_documents: int
    n_shards: int
    shards_written: int
    shards_skipped: int
    n_tokens: int
    seconds: float


# ------------------------------------------------------------------------------------------ input
def _records_to_texts(
    records: Iterable[Mapping[str, Any]], what: str
) -> tuple[list[str], list[str]]:
    """``(ids, texts)`` from rows with ``_id``/``id``, ``text`` and optional ``title`` (BEIR rule)."""
    ids: list[str] = []
    texts: list[str] = []
    seen: set[str] = set()
    for number, row in enumerate(records, start=1):
        key = "_id" if "_id" in row else "id"
        if key not in row or row[key] is None:
            raise ValueError(f"{what} row {number}: no 'id' (or '_id') column")
        if "text" not in row:
            raise ValueError(f"{what} row {number}: no 'text' column")
        item_id, text, title = str(row[key]), row["text"], row.get("title")
        if not isinstance(text, str) or (title is not None and not isinstance(title, str)):
            raise ValueError(
                f"{what} row {number} (id {item_id!r}): 'text'/'title' must be strings"
            )
        if item_id in seen:
            raise ValueError(f"{what} row {number}: duplicate id {item_id!r}")
        seen.add(item_id)
        ids.append(item_id)
        texts.append(f"{title or ''} {text}".strip())
    return ids, texts


def load_texts(source: Any) -> tuple[list[str], list[str]]:
    """``(ids, texts)`` of a BEIR folder, a corpus ``.jsonl[.gz]``, a Ray or Hugging Face dataset.

    Texts are ``title + " " + text`` as for BEIR. A Ray Dataset is read in its stored order
    (``preserve_order``); a re-run must present the same rows in the same order, which
    :func:`encode_corpus` checks against the shards already written.
    """
    if isinstance(source, (str, os.PathLike)):
        from plait.evaluation.beir import load_corpus

        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"no such file or folder: {path}")
        if path.is_file() and not path.name.endswith((".jsonl", ".jsonl.gz")):
            raise ValueError(f"{path}: give a BEIR folder or a corpus .jsonl / .jsonl.gz file")
        documents = load_corpus(path)
        return [d["id"] for d in documents], [d["text"] for d in documents]
    kind = f"{type(source).__module__}.{type(source).__name__}"
    if kind.startswith("ray.data"):
        return _records_to_texts(_iter_ray_rows(source), "Ray Dataset")
    if hasattr(source, "column_names") and hasattr(source, "__iter__"):  # datasets.Dataset
        return _records_to_texts(iter(source), "dataset")
    raise TypeError(
        f"cannot encode a {kind}: give a BEIR folder, a corpus .jsonl, a ray.data.Dataset "
        "or a Hugging Face datasets.Dataset with 'id' and 'text' columns"
    )


def _iter_ray_rows(dataset: Any) -> Iterator[dict[str, Any]]:
    from ray.data import DataContext

    context = DataContext.get_current()
    previous = context.execution_options.preserve_order
    context.execution_options.preserve_order = True
    try:
        yield from dataset.iter_rows()
    finally:
        context.execution_options.preserve_order = previous


# ------------------------------------------------------------------------------------------ replica
class ShardEncoder:
    """A Ray Data callable class: one model replica that encodes whole shards and writes them."""

    def __init__(
        self,
        output: str,
        model: str | None,
        device: str,
        settings: Mapping[str, Any],
        run: str = "",
    ) -> None:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from plait.models import ColBERT

        self.output = Path(output)
        self.run = run
        self.model = ColBERT(model, device=device) if model else ColBERT(device=device)
        self.settings = dict(settings)

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {key: [] for key in ("name", "start", "stop", "n_tokens")}
        out |= {"bytes": [], "crc32": [], "seconds": []}
        for start, stop, ids, texts in zip(
            batch["start"], batch["stop"], batch["ids"], batch["texts"], strict=True
        ):
            began = time.perf_counter()
            embeddings = self.model.encode(
                [str(t) for t in texts],
                is_query=self.settings["is_query"],
                batch_size=self.settings["batch_size"],
                pool_factor=self.settings["pool_factor"],
                show_progress_bar=False,
            )
            shard = ShardRange(int(start), int(stop))
            with _writer_slot(self.output, self.run):
                entry = write_shard(self.output, shard, [str(i) for i in ids], embeddings)
            entry["seconds"] = time.perf_counter() - began
            for key, value in entry.items():
                out[key].append(value)
        return out


# ------------------------------------------------------------------------------------------ driver
@contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    with open(folder / LOCK, "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ShardError(f"{folder}: another encode is writing this folder") from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextmanager
def _writer_slot(folder: Path, run: str) -> Iterator[None]:
    """Held by a replica while it writes one shard; refused once another encode owns the folder.

    A replica of a driver that died can outlive it for a moment and still be writing. The new
    driver first names itself in ``encode.run``, then waits for every slot to be released
    (:func:`_take_over`), so such a replica either finishes its shard before the new run looks at
    the folder or, arriving later, sees the new run and writes nothing.
    """
    with open(folder / WRITERS_LOCK, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
        try:
            owner = (folder / RUN).read_text(encoding="utf-8") if run else ""
            if owner != run:
                raise ShardError(f"{folder}: another encode (run {owner}) now owns this folder")
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _take_over(folder: Path) -> str:
    """Name a new run as the folder's owner and wait until no replica of an earlier run writes."""
    run = secrets.token_hex(8)
    atomic_write(folder / RUN, run)
    with open(folder / WRITERS_LOCK, "a+b") as handle:
        waited = time.monotonic()
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() - waited > 1:
                    logger.info("%s: waiting for a replica of an earlier encode to stop", folder)
                    waited = time.monotonic()
                time.sleep(0.05)
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return run


def _remove_stale_temporaries(folder: Path) -> None:
    """Remove the temporary files of an encode that died.

    The lock and :func:`_take_over` prove that no writer is alive.
    """
    for child in folder.iterdir():
        if child.name.startswith(".") and child.name.endswith(".tmp") and child.is_file():
            logger.info("removing %s (left by an interrupted encode)", child.name)
            child.unlink(missing_ok=True)


def _clear(folder: Path) -> None:
    for child in folder.iterdir():
        if child.is_file() and (parse_shard_name(child.name) or child.name == "manifest.json"):
            child.unlink()


def _check_plan(folder: Path, plan: dict[str, Any]) -> None:
    """Write the plan to a fresh folder, or check that it equals the one already there."""
    if not (folder / "manifest.json").exists():
        if any(child.name.startswith("shard-") for child in folder.iterdir()):
            raise ShardError(f"{folder}: holds shard files but no manifest; use an empty folder")
        write_manifest(folder, {**plan, "complete": False})
        return
    existing = read_manifest(folder)
    differences = [key for key in plan if existing.get(key) != plan[key]]
    if differences:
        raise ShardError(
            f"{folder}: holds an encode with different {', '.join(sorted(differences))} "
            "(another input or settings); use a new output folder or overwrite=True"
        )


def _scan_shard(folder: Path, shard: ShardRange, ids: list[str], verify_crc: bool) -> Any:
    """Return the manifest entry of a complete shard, or ``None`` when it must be (re-)encoded."""
    try:
        if not check_shard(folder, shard, ids[shard.start : shard.stop], verify_crc=verify_crc):
            return None
    except CorruptShardError as error:
        logger.warning("%s; encoding it again", error)
        (folder / shard.name).unlink(missing_ok=True)
        return None
    return shard_entry(folder, shard)


@contextmanager
def _ray_session(address: str | None) -> Iterator[Any]:
    require_extra("ray", "distributed encoding")
    import ray

    started = False
    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False)
        started = True
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def encode_corpus(
    source: Any,
    output: str | os.PathLike[str],
    *,
    model: str | os.PathLike[str] | None = None,
    is_query: bool = False,
    batch_size: int = 32,
    pool_factor: int = 1,
    shard_size: int = 1000,
    replicas: int = 1,
    num_cpus: float = 1.0,
    num_gpus: float = 0.0,
    address: str | None = None,
    verify_crc: bool = True,
    overwrite: bool = False,
    on_shard: Callable[[dict[str, Any]], None] | None = None,
) -> EncodeReport:
    """Encode ``source`` with ``replicas`` model replicas on Ray into the shard folder ``output``.

    ``source``: a BEIR folder, a corpus ``.jsonl[.gz]``, a ``ray.data.Dataset`` or a Hugging Face
    ``datasets.Dataset`` (columns ``id`` or ``_id``, ``text``, optional ``title``). ``model``: a
    model folder (``None`` = the offline default); it must exist at the same path on every node.
    ``num_cpus`` / ``num_gpus``: resources per replica (``num_gpus > 0`` puts the model on CUDA).
    ``address``: a running cluster to join; ``None`` uses the current Ray session or starts a local
    one. ``on_shard`` is called on the driver with each newly written shard's manifest entry.

    Re-running with the same input and settings resumes: complete shards are kept (checked against
    the input ids; ``verify_crc`` also checks their CRC-32s), only the rest are encoded. A folder
    holding another input or other settings raises :class:`~plait.distributed.shards.ShardError`
    unless ``overwrite`` (which deletes its shards and manifest first).
    Read the result with :func:`plait.distributed.shards.read_embedding_shards`.
    """
    for name, value in (
        ("batch_size", batch_size),
        ("pool_factor", pool_factor),
        ("shard_size", shard_size),
        ("replicas", replicas),
    ):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if pool_factor > 1 and is_query:
        raise ValueError("pool_factor applies to documents only")
    if num_cpus < 0 or num_gpus < 0:
        raise ValueError("num_cpus and num_gpus must be >= 0")
    require_extra("ray", "distributed encoding")
    began = time.perf_counter()
    ids, texts = load_texts(source)
    if not ids:
        raise ValueError("the corpus is empty: nothing to encode")
    if model is not None and not Path(model).is_dir():
        raise FileNotFoundError(f"model folder not found: {model} (it must exist on every node)")
    folder = Path(output)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(
            f"{folder}: the output must be a folder (shards are written in it)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    model_name = str(model) if model is not None else None
    settings = {"model": model_name, "is_query": is_query, "pool_factor": pool_factor}
    plan = {
        "n_documents": len(ids),
        "shard_size": shard_size,
        "ids_sha256": ids_digest(ids),
        "settings": settings,
    }
    shards = plan_shards(len(ids), shard_size)
    with _folder_lock(folder):
        run = _take_over(folder)
        _remove_stale_temporaries(folder)
        if overwrite:
            _clear(folder)
        _check_plan(folder, plan)
        entries = {s.name: _scan_shard(folder, s, ids, verify_crc) for s in shards}
        pending = [s for s in shards if entries[s.name] is None]
        logger.info(
            "%s: %d shards, %d complete, %d to encode",
            folder,
            len(shards),
            len(shards) - len(pending),
            len(pending),
        )
        if pending:
            run_settings = {**settings, "batch_size": batch_size}
            for entry in _run_replicas(
                folder,
                pending,
                ids,
                texts,
                run_settings,
                replicas,
                num_cpus,
                num_gpus,
                address,
                run,
            ):
                entries[entry["name"]] = entry
                logger.info(
                    "wrote %s (%d tokens, %.1fs)",
                    entry["name"],
                    entry["n_tokens"],
                    entry["seconds"],
                )
                if on_shard is not None:
                    on_shard(entry)
        missing = [name for name, entry in entries.items() if entry is None]
        if missing:
            raise RuntimeError(f"{folder}: shards not written: {', '.join(missing[:5])}")
        listed = [{k: v for k, v in entries[s.name].items() if k != "seconds"} for s in shards]
        write_manifest(
            folder,
            {
                **plan,
                "complete": True,
                "shards": listed,
                "n_tokens": sum(e["n_tokens"] for e in listed),
            },
        )
    return EncodeReport(
        folder,
        len(ids),
        len(shards),
        len(pending),
        len(shards) - len(pending),
        sum(e["n_tokens"] for e in listed),
        time.perf_counter() - began,
    )


def _run_replicas(
    folder: Path,
    pending: list[ShardRange],
    ids: list[str],
    texts: list[str],
    settings: dict[str, Any],
    replicas: int,
    num_cpus: float,
    num_gpus: float,
    address: str | None,
    run: str,
) -> Iterator[dict[str, Any]]:
    """Encode ``pending`` shards with Ray Data; yield each written shard's entry as it arrives."""
    with _ray_session(address) as ray:
        rows = [
            {
                "start": s.start,
                "stop": s.stop,
                "ids": ids[s.start : s.stop],
                "texts": texts[s.start : s.stop],
            }
            for s in pending
        ]
        dataset = ray.data.from_items(rows, override_num_blocks=len(rows))
        results = dataset.map_batches(
            ShardEncoder,
            fn_constructor_kwargs={
                "output": str(folder.resolve()),
                "model": settings["model"],
                "device": "cuda" if num_gpus > 0 else "cpu",
                "settings": settings,
                "run": run,
            },
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=replicas),
            num_cpus=num_cpus,
            num_gpus=num_gpus,
        )
        for row in results.iter_rows():
            yield {
                key: (value.item() if hasattr(value, "item") else value)
                for key, value in row.items()
            }
