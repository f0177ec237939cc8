"""``ShardedPLAID``: one collection split into N PLAID shards that share one codebook.

Layout of ``<index_folder>/<index_name>`` (format ``"plait-sharded-plaid"``, version 2)::

    manifest.json        the commit point (same atomic-switch rules as every plait index)
    writer.lock
    centroids.*.npy, centroid_scales.*.npy, pq_rotation.*.npy, pq_codewords.*.npy
                         (bucket_cutoffs / bucket_weights in version 1)
                         the shared codebook, written once (trained on a sample of the first add,
                         or given as ``codebook=``)
    shards/shard-000/ ... shards/shard-<N-1>/
                         plain PLAID indexes built with that codebook (each never re-trains it)

The manifest holds ``format``, ``version``, ``generation``, ``settings`` (``dim``, ``nbits``,
``n_centroids``, ``n_shards``, ``partition``: ``"id"`` or ``"key"``, ``hash``), ``shards`` (name and
folder of each) and ``files`` (the codebook's files with sizes and CRC-32). Shard folders are created
before the manifest that lists them is committed; the codebook is committed before any shard holds a
document.

Routing: a document lives in shard ``shard_of(id)`` (:mod:`.partition`, a stable hash), or, for an
index created with ``partition="key"``, in ``shard_of(partition_key)`` of the key given to
:meth:`ShardedPLAID.add_documents`. Adds, removes and look-ups go to the owning shard (with keys, the
owner is found by asking every shard). Each shard's write is atomic; a write spanning several shards
is applied shard by shard (a crash in between leaves some shards written: re-running an add with
``replace=True`` or a remove is safe).

Search fans out to the shards and merges them with PLAID's global cuts
(:mod:`plait.distributed.search`): results equal one PLAID index with the same codebook.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from plait.distributed.actors import LocalShards, RayShards
from plait.distributed.partition import HASH, shard_of, split_by_shard
from plait.distributed.search import ShardedSearchResult, ShardUnavailableError, scatter_gather
from plait.indexes.base import (
    ArrayLike,
    CorruptIndexError,
    DuplicateIdError,
    IndexInputError,
    PyLateCall,
    Subset,
)
from plait.indexes.metadata import check_metadata
from plait.indexes.plaid import Codebook, PLAIDSearchParams
from plait.indexes.plaid.config import ConfiguredIndex, PLAIDConfig
from plait.indexes.plaid.store import read_codec, write_codec
from plait.indexes.registry import SHARDED_FORMAT
from plait.indexes.storage import IndexFolder, check_name, require, state_key
from plait.indexes.validation import (
    check_embeddings,
    check_id_list,
    check_ids,
    check_k,
    check_missing,
    check_queries,
    check_texts,
    known_only,
    normalize_subset,
    raise_unknown,
)

FORMAT = SHARDED_FORMAT
VERSION = 2  # 2: the codebook's codec files are the product codec's (plait.indexes.plaid.store)
READ_VERSIONS = (1, 2)
SHARDS_DIR = "shards"
BACKENDS = ("local", "ray")


def is_sharded_index(path: str | os.PathLike[str]) -> bool:
    """Return whether ``path`` holds a sharded index's manifest (cheap: one small JSON file)."""
    folder = IndexFolder(path)
    if not folder.exists():
        return False
    try:
        return folder.read_manifest().get("format") == FORMAT
    except CorruptIndexError:
        return False


class ShardedPLAID(ConfiguredIndex, PyLateCall):
    """A PLAID index split into ``n_shards`` shards (see the module docstring).

    New index: ``n_shards``, ``partition`` (``"id"`` or ``"key"``), ``codebook`` (a trained
    :class:`~plait.indexes.plaid.Codebook`; otherwise one is trained on the first add with PLAID's
    settings ``nbits``, ``n_centroids``, ``kmeans_niters``, ``max_points_per_centroid``,
    ``n_samples_kmeans``, ``seed``). An existing index is opened (its settings win) unless
    ``override``. Search defaults: ``ncells``, ``centroid_score_threshold``, ``ndocs``,
    ``n_full_scores`` (as :class:`~plait.indexes.plaid.PLAIDSearchParams`).

    Execution: ``backend="local"`` runs every shard in this process (no Ray); ``backend="ray"``
    starts one Ray actor per shard (``ray_address`` joins a running cluster; without one a local
    cluster is started). ``timeout_s`` bounds every call to a shard; ``allow_partial`` (also per
    search) turns a failed shard into results marked ``partial`` instead of a
    :class:`~plait.distributed.search.ShardUnavailableError`. ``actor_options`` /
    ``worker_options``: see :class:`~plait.distributed.actors.RayShards`. Call :meth:`close` (or use
    ``with``) to stop the actors.
    """

    def __init__(
        self,
        index_folder: str | os.PathLike[str] | None = "indexes",
        index_name: str = "sharded",
        override: bool = False,
        *,
        n_shards: int = 4,
        partition: str = "id",
        codebook: Codebook | None = None,
        nbits: int | None = None,
        n_centroids: int | None = None,
        kmeans_niters: int | None = None,
        max_points_per_centroid: int | None = None,
        n_samples_kmeans: int | None = None,
        seed: int | None = None,
        ncells: int | None = None,
        centroid_score_threshold: float | None = None,
        ndocs: int | None = None,
        n_full_scores: int | None = None,
        backend: str = "local",
        ray_address: str | None = None,
        timeout_s: float = 60.0,
        allow_partial: bool = False,
        actor_options: Mapping[str, Any] | None = None,
        worker_options: Mapping[str, Any] | None = None,
        index_path: str | os.PathLike[str] | None = None,
    ) -> None:
        folder = index_path if index_path is not None else index_folder
        if folder is None:
            raise ValueError("ShardedPLAID needs a folder: pass index_folder= (or index_path=)")
        check_name(index_name)
        if isinstance(n_shards, bool) or not isinstance(n_shards, int) or not 1 <= n_shards <= 4096:
            raise ValueError(f"n_shards must be an integer in [1, 4096], got {n_shards!r}")
        if partition not in ("id", "key"):
            raise ValueError(f"partition must be 'id' or 'key', got {partition!r}")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if codebook is not None and not isinstance(codebook, Codebook):
            raise TypeError(f"codebook must be a plait Codebook, got {type(codebook).__name__}")
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s!r}")
        self._folder = IndexFolder(Path(os.fspath(folder)) / index_name)
        self._take_settings(  # they win over the stored config for this object
            nbits=codebook.nbits if codebook is not None else nbits,
            n_centroids=n_centroids,
            kmeans_niters=kmeans_niters,
            max_points_per_centroid=max_points_per_centroid,
            n_samples_kmeans=n_samples_kmeans,
            seed=seed,
            ncells=ncells,
            centroid_score_threshold=centroid_score_threshold,
            ndocs=ndocs,
            n_full_scores=n_full_scores,
        )
        self.allow_partial = bool(allow_partial)
        self.backend = backend
        self._folder.create_unless_present(
            override, lambda: self._create(n_shards, partition, codebook)
        )
        self._folder.load_latest(self._load, expect=(FORMAT, READ_VERSIONS))
        if (
            codebook is not None
            and self.codebook is not None
            and not codebook.same_as(self.codebook)
        ):
            raise ValueError(f"{self.path} was built with another codebook than the one given")
        shard_folder = os.path.join(self.path, SHARDS_DIR)
        names = self.shard_names
        self._shards: LocalShards | RayShards
        if backend == "ray":
            self._shards = RayShards(
                shard_folder,
                names,
                self.codebook,
                self.nbits,
                address=ray_address,
                timeout_s=timeout_s,
                actor_options=actor_options,
                worker_options=worker_options,
            )
        else:
            self._shards = LocalShards(
                shard_folder, names, self.codebook, self.nbits, worker_options=worker_options
            )
        self._counts = self._each("count")

    # ------------------------------------------------------------------ manifest
    def _create(self, n_shards: int, partition: str, codebook: Codebook | None) -> None:
        """Commit a new, empty sharded index (under the writer lock, see ``__init__``)."""
        from plait.indexes.plaid import PLAID

        names = [f"shard-{i:03d}" for i in range(n_shards)]
        nbits = self._config.nbits
        shard_folder = os.path.join(self.path, SHARDS_DIR)
        for name in names:  # empty shard folders exist before a manifest lists them
            PLAID(index_folder=shard_folder, index_name=name, override=True, nbits=nbits)
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "settings": {
                "dim": None,
                "nbits": nbits,
                "n_centroids": None,
                "n_shards": n_shards,
                "partition": partition,
                "hash": HASH,
                "config": self._config.to_manifest(),
            },
            "shards": [{"name": name, "folder": f"{SHARDS_DIR}/{name}"} for name in names],
            "files": {},
        }
        if codebook is not None:
            self._put_codebook(manifest, codebook)
        self._folder.commit(manifest, base=None)

    def _put_codebook(self, manifest: dict[str, Any], codebook: Codebook) -> None:
        manifest["files"] = write_codec(self._folder, codebook.quantizer, codebook.codec)
        manifest["settings"].update(
            dim=codebook.dim, nbits=codebook.nbits, n_centroids=codebook.n_centroids
        )

    def _load(self, manifest: dict[str, Any]) -> None:
        settings = require(manifest, "settings", dict, self._folder.manifest_path)
        require(manifest, "shards", list, self._folder.manifest_path)
        codebook: Codebook | None = None
        if "centroids" in manifest["files"]:
            quantizer, codec = read_codec(
                self._folder, manifest["files"], int(settings["nbits"]), settings=settings
            )
            codebook = Codebook(quantizer, codec)
        try:
            config = PLAIDConfig.from_manifest(settings.get("config"), self._folder.manifest_path)
        except ValueError as error:
            raise CorruptIndexError(str(error)) from None
        self._manifest, self.codebook = manifest, codebook
        self._config = config.updated(**self._given)

    # ------------------------------------------------------------------ properties
    @property
    def path(self) -> Path:
        """Folder of this index (its shards live under ``shards/``)."""
        return self._folder.path

    @property
    def manifest(self) -> Mapping[str, Any]:
        """The committed top-level manifest this object's state was loaded from."""
        return MappingProxyType(self._manifest)

    @property
    def dim(self) -> int | None:
        """Embedding dimension, or ``None`` while the index has never held a document."""
        return self._manifest["settings"]["dim"]

    @property
    def nbits(self) -> int:
        """Bits per dimension of a stored residual (every shard shares the codebook)."""
        return int(self._manifest["settings"]["nbits"])

    @property
    def n_shards(self) -> int:
        """Number of shards, fixed when the index is created."""
        return int(self._manifest["settings"]["n_shards"])

    @property
    def partition(self) -> str:
        """How documents are assigned to shards: by a hash of the id or of a partition key.

        ``"id"`` or ``"key"`` (the key is given with each add).
        """
        return str(self._manifest["settings"]["partition"])

    @property
    def shard_names(self) -> list[str]:
        """The shards' folder names under ``shards/``, in shard order."""
        return [str(s["name"]) for s in self._manifest["shards"]]

    @property
    def documents_ids(self) -> list[str]:
        """Live ids, shard by shard (insertion order within each shard)."""
        per_shard = self._each("documents_ids")
        return [i for s in range(self.n_shards) for i in per_shard[s]]

    def __len__(self) -> int:
        return int(sum(self._counts.values()))

    def __contains__(self, document_id: object) -> bool:
        return isinstance(document_id, str) and bool(self._owners([document_id]))

    def __repr__(self) -> str:
        return f"ShardedPLAID(path={self.path!r}, shards={self.n_shards}, backend={self.backend!r})"

    def shard_counts(self) -> dict[str, int]:
        """Live documents per shard name."""
        return {self.shard_names[s]: int(n) for s, n in sorted(self._counts.items())}

    @property
    def stats(self) -> dict[str, Any]:
        """Counts and bytes on disk summed over the shards, plus the sharding settings.

        ``disk_bytes`` includes the top-level manifest and the shared codebook;
        ``shard_documents`` gives the live documents per shard name.
        """
        per_shard = self._each("stats")
        keys = ("tokens", "stored_tokens", "deleted_documents", "segments", "disk_bytes")
        out: dict[str, Any] = {
            k: sum(int(per_shard[s].get(k) or 0) for s in per_shard) for k in keys
        }
        out.update(
            documents=len(self),
            shards=self.n_shards,
            partition=self.partition,
            nbits=self.nbits,
            n_centroids=self._manifest["settings"]["n_centroids"],
            shard_documents=self.shard_counts(),
        )
        out["disk_bytes"] += self._folder.disk_bytes(self._manifest)  # manifest + shared codebook
        out["bytes_per_token"] = (
            out["disk_bytes"] / out["stored_tokens"] if out["stored_tokens"] else None
        )
        return out

    # ------------------------------------------------------------------ shard calls
    def _call(self, method: str, args: dict[int, tuple[Any, ...]]) -> dict[int, Any]:
        """Run ``method`` on shards; any failure raises (writes and look-ups are never partial)."""
        answers = self._shards.call(method, args)
        for answer in answers.values():
            if isinstance(answer, BaseException):
                raise answer
        return answers

    def _each(self, method: str) -> dict[int, Any]:
        return self._call(method, {s: () for s in range(self.n_shards)})

    def _owners(self, ids: Sequence[str]) -> dict[str, int]:
        """Return the shard holding each of ``ids`` that exists (absent ids are left out)."""
        if self.partition == "id":
            groups = {
                s: [ids[p] for p in g]
                for s, g in enumerate(split_by_shard(ids, self.n_shards))
                if g
            }
        else:
            groups = {s: list(ids) for s in range(self.n_shards)} if ids else {}
        found = self._call("contains", {s: (g,) for s, g in groups.items()})
        return {
            i: s
            for s, flags in sorted(found.items())
            for i, there in zip(groups[s], flags, strict=True)
            if there
        }

    def _route_subset(self, ids: list[str]) -> list[list[str]]:
        if self.partition == "key":
            return [ids] * self.n_shards
        return [[ids[p] for p in g] for g in split_by_shard(ids, self.n_shards)]

    # ------------------------------------------------------------------ writes
    def add_documents(
        self,
        documents_ids: Sequence[str],
        documents_embeddings: Sequence[ArrayLike],
        *,
        replace: bool = False,
        partition_keys: Sequence[str] | None = None,
        texts: Sequence[str | None] | None = None,
        metadata: Sequence[Mapping[str, Any] | None] | None = None,
        batch_size: int | None = None,
    ) -> ShardedPLAID:
        """Add documents to their owning shards.

        ``partition_keys`` (one per id) are required exactly when the index was created with
        ``partition="key"``. An existing id raises :class:`DuplicateIdError` unless ``replace``.
        ``texts`` and ``metadata`` (one per id) are committed with each shard's vectors. The first
        add trains the shared codebook. As in PyLate, one id may be a bare string and one document
        a single 2-D matrix; ``batch_size`` is accepted and ignored.
        """
        ids = check_ids(documents_ids)
        all_texts = check_texts(ids, texts)
        rows = check_metadata(ids, metadata)
        docs = check_embeddings(ids, documents_embeddings, self.dim)
        keys = self._check_keys(ids, partition_keys)
        if not ids:
            return self
        with self._folder.writer_lock():
            self.refresh()
            docs = check_embeddings(ids, docs, self.dim)
            owners = self._owners(ids)
            if owners and not replace:
                raise DuplicateIdError(
                    f"document ids already in the index: {list(owners)[:5]} (pass replace=True to overwrite)"
                )
            if self.codebook is None:
                self._train(docs)
            targets = [shard_of(key, self.n_shards) for key in keys]
            target_of = dict(zip(ids, targets, strict=True))
            moved = {
                i: s for i, s in owners.items() if s != target_of[i]
            }  # its key changed: move it
            if moved:
                self._write(
                    "remove",
                    {s: ([i for i, o in moved.items() if o == s],) for s in set(moved.values())},
                )
            groups: dict[int, list[int]] = {}
            for position, target in enumerate(targets):
                groups.setdefault(target, []).append(position)
            self._write(
                "add",
                {
                    s: (
                        [ids[p] for p in g],
                        [docs[p] for p in g],
                        replace,
                        None if all_texts is None else [all_texts[p] for p in g],
                        None if rows is None else [rows[p] for p in g],
                    )
                    for s, g in groups.items()
                },
            )
        return self

    def _check_keys(self, ids: list[str], partition_keys: Sequence[str] | None) -> list[str]:
        if self.partition == "id":
            if partition_keys is not None:
                raise IndexInputError(
                    f"{self.path} is partitioned by id: partition_keys are not accepted"
                )
            return ids
        if partition_keys is None:
            raise IndexInputError(
                f"{self.path} is partitioned by key: pass partition_keys (one per id)"
            )
        keys = list(partition_keys)
        if len(keys) != len(ids) or not all(isinstance(k, str) for k in keys):
            raise IndexInputError(f"partition_keys must be {len(ids)} strings, one per document id")
        return keys

    def _write(self, method: str, args: dict[int, tuple[Any, ...]]) -> None:
        """Run a write on several shards; each answers its new count, kept before any raise."""
        answers = self._shards.call(method, args)
        self._counts.update({s: n for s, n in answers.items() if not isinstance(n, BaseException)})
        for answer in answers.values():
            if isinstance(answer, BaseException):
                raise answer

    def _train(self, docs: list[np.ndarray]) -> None:
        """Train the shared codebook on (a sample of) ``docs``, commit it, hand it to every shard."""
        codebook = Codebook.train(docs, **self._config.training())
        manifest = {
            k: v for k, v in self._manifest.items() if k not in ("previous_files", "retired")
        }
        manifest["settings"] = dict(manifest["settings"], config=self._config.to_manifest())
        self._put_codebook(manifest, codebook)
        self._load(self._folder.commit(manifest, base=self._manifest))
        self._call("use_codebook", {s: (self.codebook,) for s in range(self.n_shards)})

    def refresh(self) -> bool:
        """Pick up a codebook another process committed since this one opened the index.

        Every shard's newer commits are read too. Returns ``True`` when the document counts or the
        top-level manifest changed.
        """
        before = (state_key(self._manifest), dict(self._counts))
        current = self._folder.read_manifest(expect=(FORMAT, READ_VERSIONS))
        if state_key(current) != state_key(self._manifest):
            self._folder.load_latest(self._load, expect=(FORMAT, READ_VERSIONS))
            if self.codebook is not None:
                self._call("use_codebook", {s: (self.codebook,) for s in range(self.n_shards)})
        self._counts = self._each("reload")
        return (state_key(self._manifest), self._counts) != before

    def remove_documents(
        self, documents_ids: Sequence[str], *, missing: str = "ignore"
    ) -> ShardedPLAID:
        """Remove documents from their shards.

        Unknown ids are skipped, as in PyLate; with ``missing="raise"`` they raise
        :class:`UnknownIdError` and nothing is removed.
        """
        ids = check_id_list(documents_ids)
        check_missing(missing)
        if not ids:
            return self
        with self._folder.writer_lock():
            self.refresh()
            ids = known_only(ids, self._owners(ids), missing)
            if not ids:
                return self
            groups = self._known_by_owner(ids)
            self._write("remove", {s: ([ids[p] for p in g],) for s, g in groups.items()})
        return self

    def _known_by_owner(self, ids: list[str]) -> dict[int, list[int]]:
        """Positions in ``ids`` grouped by the shard holding each; unknown ids raise first."""
        owners = self._owners(ids)
        raise_unknown([i for i in ids if i not in owners])
        groups: dict[int, list[int]] = {}
        for position, i in enumerate(ids):
            groups.setdefault(owners[i], []).append(position)
        return groups

    def update_metadata(
        self, documents_ids: Sequence[str], metadata: Sequence[Any]
    ) -> ShardedPLAID:
        """Replace the metadata of documents (one flat dict per id) on the shards that hold them.

        There is one commit per shard; unknown ids raise :class:`UnknownIdError` and nothing
        changes.
        """
        ids = check_ids(documents_ids)
        rows = check_metadata(ids, metadata) or [{} for _ in ids]
        if not ids:
            return self
        with self._folder.writer_lock():
            self.refresh()
            groups = self._known_by_owner(ids)
            self._write(
                "update_metadata",
                {s: ([ids[p] for p in g], [rows[p] for p in g]) for s, g in groups.items()},
            )
        return self

    # ------------------------------------------------------------------ reads
    def _ask_owners(self, method: str, documents_ids: Sequence[str]) -> list[Any]:
        """One answer per id (in the order asked) from the shard that holds it."""
        ids = check_id_list(documents_ids, dedupe=False)
        owners = self._owners(ids)
        raise_unknown([i for i in ids if i not in owners])
        groups: dict[int, list[str]] = {}
        for i in dict.fromkeys(ids):
            groups.setdefault(owners[i], []).append(i)
        answers = self._call(method, {s: (g,) for s, g in groups.items()})
        found = {i: e for s, g in groups.items() for i, e in zip(g, answers[s], strict=True)}
        return [found[i] for i in ids]

    def filter_ids(self, filter: str, filter_params: Sequence[Any] | None = None) -> list[str]:
        """Return the ids of the documents whose metadata satisfies ``filter``, shard by shard.

        Each shard evaluates it on its own documents.
        """
        from plait.indexes.filtering import check_filter

        check_filter(filter, filter_params)  # refused here, before any shard is asked
        columns = self.metadata_schema
        answers = self._each_with("filter_ids", (filter, list(filter_params or []), columns))
        return [i for s in sorted(answers) for i in answers[s]]

    @property
    def metadata_schema(self) -> dict[str, str]:
        """The metadata columns of all shards (a column typed differently by two shards raises)."""
        merged: dict[str, str] = {}
        for s, schema in sorted(self._each("metadata_schema").items()):
            for key, kind in schema.items():
                if merged.get(key, kind) != kind and {merged[key], kind} != {"int", "float"}:
                    raise IndexInputError(
                        f"metadata column {key!r} is {merged[key]} in one shard, {kind} in shard {s}"
                    )
                merged[key] = "float" if {merged.get(key, kind), kind} == {"int", "float"} else kind
        return merged

    def _each_with(self, method: str, args: tuple[Any, ...]) -> dict[int, Any]:
        return self._call(method, {s: args for s in range(self.n_shards)})

    def _embeddings(self, ids: list[str]) -> list[np.ndarray]:
        return self._ask_owners("embeddings", ids)

    def _documents(self, ids: list[str]) -> list[dict[str, Any]]:
        return self._ask_owners("documents", ids)

    def search(
        self,
        queries_embeddings: Sequence[ArrayLike] | ArrayLike,
        k: int = 10,
        *,
        subset: Subset | None = None,
        params: PLAIDSearchParams | None = None,
        allow_partial: bool | None = None,
        filter: str | None = None,
        filter_params: Sequence[Any] | None = None,
    ) -> list[ShardedSearchResult]:
        """Return the top-``k`` documents per query over all shards, equal to one PLAID index's.

        A shard that fails or times out raises :class:`ShardUnavailableError`, unless
        ``allow_partial`` (default: the constructor's) is true: then results come from the other
        shards and carry ``partial=True`` and the ``missing_shards``. ``filter`` /
        ``filter_params`` (see :meth:`PLAID.search`) are evaluated by every shard on its own
        documents.
        """
        k = check_k(k)
        if params is not None and not isinstance(params, PLAIDSearchParams):
            raise TypeError(f"params must be a PLAIDSearchParams, got {type(params).__name__}")
        queries = check_queries(queries_embeddings, self.dim)
        subsets = self._apply_filter(
            normalize_subset(subset, len(queries)), len(queries), filter, filter_params
        )
        resolved = (params or PLAIDSearchParams()).resolve(k, self.default_params)
        if self.codebook is None:
            return [ShardedSearchResult([], np.zeros(0, dtype=np.float32)) for _ in queries]
        partial = self.allow_partial if allow_partial is None else bool(allow_partial)
        return scatter_gather(
            self._shards,
            self.codebook,
            queries,
            k,
            subsets=subsets,
            params=resolved,
            route_subset=self._route_subset,
            allow_partial=partial,
        )

    # ------------------------------------------------------------------ life cycle
    def close(self) -> None:
        """Stop the shard actors (Ray backend); the index stays on disk."""
        self._shards.close()

    def verify(self) -> None:
        """Check every file of the index and of each shard (size and CRC-32).

        The files are read in this process; a bad one raises :class:`CorruptIndexError` naming it.
        """
        from plait.indexes.plaid import PLAID

        self._folder.verify(self._manifest)
        for name in self.shard_names:
            PLAID(index_folder=self.path / SHARDS_DIR, index_name=name).verify()


__all__ = ["FORMAT", "ShardUnavailableError", "ShardedPLAID", "is_sharded_index"]
