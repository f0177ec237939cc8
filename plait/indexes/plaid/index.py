"""``plait.indexes.PLAID``: a compressed, persistent, incremental late-interaction index.

Parts (faiss ``IndexIVF`` style): a :class:`~.centroids.CentroidQuantizer` (k-means), a
:mod:`~.codec` (the encoded residuals), per-segment :class:`~.ivf.InvertedLists`, and
crash-safe storage (:mod:`.store` on :class:`plait.indexes.storage.IndexFolder`). Search runs PLAID's
stages (:mod:`.search`) with knobs from :class:`~.search.PLAIDSearchParams`.

The first ``add_documents`` trains the codec on (a sample of) its batch. Later adds never re-train
and never touch stored tokens: they assign new tokens to the existing centroids, add centroids for
the tokens those fit badly (k-means on the new tokens' original vectors, :mod:`.growth`) and report
what they did in :attr:`PLAID.last_add` (an :class:`~.growth.AddReport`; ``plait add`` prints it).
A codec that no longer fits is reported there, logged and shown by :attr:`PLAID.stats`
(``codec_fits``); re-training is an explicit call, :meth:`PLAID.retrain`, given the original
embeddings (re-training on the decoded vectors is possible, on request, and compounds their error).
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from plait.indexes.base import (
    ArrayLike,
    CorruptIndexError,
    DuplicateIdError,
    IndexInputError,
    PyLateCall,
    SearchResult,
    Subset,
)
from plait.indexes.metadata import check_metadata
from plait.indexes.plaid import build
from plait.indexes.plaid.centroids import CentroidQuantizer
from plait.indexes.plaid.codebook import Codebook
from plait.indexes.plaid.codec import Codec, check_nbits
from plait.indexes.plaid.config import TRAINING_KEYS, ConfiguredIndex, PLAIDConfig
from plait.indexes.plaid.growth import AddReport, GrowthPolicy, grow, outlier_threshold
from plait.indexes.plaid.search import PLAIDSearchParams, SegmentSource, decompress, run_search
from plait.indexes.plaid.store import (
    CODEC_ROLES,
    FORMAT,
    PAYLOAD_ROLES,
    READ_VERSIONS,
    VERSION,
    Segment,
    read_codec,
    read_payload,
    write_codec,
    write_payload,
)
from plait.indexes.segments import SegmentStore, StoreBacked
from plait.indexes.storage import IndexFolder, check_name, require
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
    unknown_ids,
)
from plait.kernels.threads import get_num_threads, worker_pool

logger = logging.getLogger(__name__)

_IGNORED_PYLATE_ARGS = (  # PyLate 1.6 PLAID arguments with no meaning here (backend, GPU, batching)
    "use_fast",
    "device",
    "show_progress",
    "batch_size",
    "embedding_size",
    "use_triton",
    "low_memory",
    "nranks",
    "index_bsize",
    "search_batch_size",
)


class PLAID(ConfiguredIndex, StoreBacked, PyLateCall):
    """PLAID index stored in ``<index_folder>/<index_name>``.

    Parameters: ``nbits`` (1, 2, 4 or 8 bits per residual dimension), ``kmeans_niters``,
    ``max_points_per_centroid`` (k-means sample cap), ``n_centroids`` (default: PLAID's rule),
    ``n_samples_kmeans`` (documents sampled for k-means; default PLAID's ``16 * sqrt(120 * n)``),
    ``seed``; search defaults ``ncells`` (alias ``n_ivf_probe``), ``centroid_score_threshold``,
    ``ndocs`` and ``n_full_scores`` (``None`` = chosen from ``k``); ``codec_drift_threshold`` (the
    residual-norm ratio above which an add reports that the codec no longer fits), ``min_outliers``
    and ``max_growth_rate`` (when an add grows the codebook, :mod:`.growth`;
    ``auto_retrain_max_tokens`` is accepted, deprecated, and has no effect).
    ``codebook``: a trained :class:`~.codebook.Codebook` to use instead of training one (its nbits
    win; the index never re-trains it, and an existing index must already use the same one): how
    shards of one collection stay comparable. ``index_path`` is an alias of
    ``index_folder``. An existing index is opened (its stored settings win) unless ``override``.
    ``num_threads`` (PyLate's): at most that many threads search queries in parallel (default:
    :func:`plait.kernels.threads.get_num_threads`). PyLate arguments without a meaning here
    (``use_fast``, ``device``, ``show_progress``, ``batch_size``, ``embedding_size``,
    ``use_triton``, ``low_memory``, ``nranks``, ``index_bsize``, ``search_batch_size``) are
    accepted and ignored. ``index(queries_embeddings, k, subset)``
    answers in PyLate's shape (see :class:`~plait.indexes.base.PyLateCall`).
    """

    def __init__(
        self,
        index_folder: str | os.PathLike[str] | None = "indexes",
        index_name: str = "plaid",
        override: bool = False,
        nbits: int | None = None,
        kmeans_niters: int | None = None,
        max_points_per_centroid: int | None = None,
        n_centroids: int | None = None,
        n_samples_kmeans: int | None = None,
        seed: int | None = None,
        ncells: int | None = None,
        n_ivf_probe: int | None = None,
        centroid_score_threshold: float | None = None,
        ndocs: int | None = None,
        n_full_scores: int | None = None,
        codec_drift_threshold: float = 1.25,
        min_outliers: int = 64,
        max_growth_rate: float = 0.25,
        auto_retrain_max_tokens: int | None = None,
        index_path: str | os.PathLike[str] | None = None,
        codebook: Codebook | None = None,
        num_threads: int | None = None,
        **pylate_kwargs: Any,
    ) -> None:
        unknown = sorted(set(pylate_kwargs) - set(_IGNORED_PYLATE_ARGS))
        if unknown:
            raise TypeError(f"PLAID() got unexpected keyword arguments {unknown}")
        if num_threads is not None and (
            isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1
        ):
            raise ValueError(f"num_threads must be a positive integer or None, got {num_threads!r}")
        self.num_threads = num_threads
        folder = index_path if index_path is not None else index_folder
        if folder is None:
            raise ValueError("PLAID needs a folder: pass index_folder= (or index_path=)")
        check_name(index_name)
        if codebook is not None and not isinstance(codebook, Codebook):
            raise TypeError(f"codebook must be a plait Codebook, got {type(codebook).__name__}")
        if codebook is not None and nbits is not None and nbits != codebook.nbits:
            raise ValueError(f"nbits={nbits} disagrees with the codebook's nbits={codebook.nbits}")
        self.codebook = codebook
        self._take_settings(  # the others come from the stored config when there is one
            nbits=codebook.nbits if codebook is not None else nbits,
            kmeans_niters=kmeans_niters,
            max_points_per_centroid=max_points_per_centroid,
            n_centroids=n_centroids,
            n_samples_kmeans=n_samples_kmeans,
            seed=seed,
            ncells=ncells if ncells is not None else n_ivf_probe,
            centroid_score_threshold=centroid_score_threshold,
            ndocs=ndocs,
            n_full_scores=n_full_scores,
        )
        self.codec_drift_threshold = float(codec_drift_threshold)
        self.growth = GrowthPolicy(min_outliers, max_growth_rate)
        if auto_retrain_max_tokens is not None:
            warnings.warn(
                "PLAID(auto_retrain_max_tokens=...) has no effect: adds no longer re-train on "
                "decoded vectors, they grow the codebook (see plait.indexes.plaid.growth)",
                DeprecationWarning,
                stacklevel=2,
            )
        self.last_add: AddReport | None = None
        self._folder = IndexFolder(Path(os.fspath(folder)) / index_name)
        self.last_build_timings: dict[str, float] = {}
        self._quantizer: CentroidQuantizer | None = None
        self._codec: Codec | None = None
        # the manifest entries the codec was read from: a commit that keeps them keeps the objects
        # (and the nearest-centroid structure the quantizer builds on first use)
        self._codec_files: dict[str, Any] = {}
        self._store = SegmentStore(
            self._folder,
            PAYLOAD_ROLES,
            read_payload,
            expect=(FORMAT, READ_VERSIONS),
            on_load=self._check_settings,
            after_load=self._adopt_codec,
        )
        self._folder.create_unless_present(
            override, lambda: self._store.commit(self._empty_manifest(), new_index=True)
        )
        if not self._store.manifest:
            self._store.open()
        if codebook is not None and self._quantizer is not None:
            assert self._codec is not None
            if not codebook.same_as(Codebook(self._quantizer, self._codec)):
                raise ValueError(f"{self.path} was built with another codebook than the one given")

    # ------------------------------------------------------------------ state
    def _empty_manifest(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "settings": {
                "dim": None,
                "nbits": self._config.nbits,
                "n_centroids": None,
                "config": self._config.to_manifest(),
            },
            "segments": [],
            "next_segment": 1,
            "stats": {},
            "metadata_schema": {},
            "files": {},
        }

    def _check_settings(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Check a commit's settings, config and codec (the segment store's ``on_load``).

        They are adopted by :meth:`_adopt_codec` once its segments are read too.
        """
        where = self._folder.manifest_path
        settings = require(manifest, "settings", dict, where)
        files = require(manifest, "files", dict, where)
        require(manifest, "stats", dict, where)
        nbits = require(settings, "nbits", int, where)
        require(settings, "dim", (int, type(None)), where)
        require(settings, "n_centroids", (int, type(None)), where)
        try:
            config = PLAIDConfig.from_manifest(settings.get("config"), where).updated(**self._given)
        except ValueError as error:
            raise CorruptIndexError(str(error)) from None
        quantizer: CentroidQuantizer | None = None
        codec: Codec | None = None
        codec_files = {role: files[role] for role in CODEC_ROLES if role in files}
        if "centroids" in files and codec_files == self._codec_files:
            quantizer, codec = self._quantizer, self._codec  # the same files: keep what is built
        elif "centroids" in files:
            quantizer, codec = read_codec(self._folder, files, nbits, settings=settings)
        elif manifest.get("segments"):
            raise CorruptIndexError(f"{where}: segments are listed but no codec ('centroids')")
        self._pending = (config, quantizer, codec, codec_files)
        return manifest

    def _adopt_codec(self) -> None:
        self._config, self._quantizer, self._codec, self._codec_files = self._pending

    def refresh(self) -> bool:
        """Adopt the state another writer committed since this object last read the folder.

        Returns ``True`` when the state changed. Cheap when nothing changed (one small read);
        segments already open are reused.
        """
        return self._store.refresh()

    def _begin(self) -> dict[str, Any]:
        # a version-1 index is upgraded by its first write
        manifest = self._store.next_manifest(VERSION)
        manifest["settings"]["config"] = self._config.to_manifest()
        return manifest

    # ------------------------------------------------------------------ properties
    @property
    def path(self) -> Path:
        """Folder of this index."""
        return self._folder.path

    @property
    def manifest(self) -> Mapping[str, Any]:
        """The committed manifest this object's state was loaded from."""
        return MappingProxyType(self._store.manifest)

    @property
    def dim(self) -> int | None:
        """Embedding dimension, or ``None`` while the index has never held a document."""
        return self._store.manifest["settings"]["dim"]

    @property
    def nbits(self) -> int:
        """Bits per dimension of a stored residual."""
        return int(self._store.manifest["settings"]["nbits"])

    @property
    def documents_ids(self) -> list[str]:
        """Ids of the live documents, in insertion order."""
        return self._store.documents_ids

    def __len__(self) -> int:
        return len(self._store)

    def __contains__(self, document_id: object) -> bool:
        return document_id in self._store

    def __repr__(self) -> str:
        store = getattr(self, "_store", None)
        return f"PLAID(path={self.path!r}, documents={0 if store is None else len(store)})"

    @property
    def quantizer(self) -> CentroidQuantizer | None:
        """The centroids, or ``None`` until the codec is trained (the first add)."""
        return self._quantizer

    @property
    def codec(self) -> Codec | None:
        """The residual codec, or ``None`` until it is trained (the first add)."""
        return self._codec

    @property
    def segments(self) -> list[Segment]:
        """The current segments (read-only use: the inputs of the staged search in :mod:`.search`)."""
        return list(self._store.segments)

    @property
    def stats(self) -> dict[str, Any]:
        """Counts, disk usage and codec fit (``codec_fits`` False means :meth:`retrain` helps)."""
        n_tokens = sum(int(seg.doclens[~seg.deleted].sum()) for seg in self._store.segments)
        stored_tokens = sum(int(seg.doclens.sum()) for seg in self._store.segments)
        disk = self._folder.disk_bytes(self._store.manifest)
        out = dict(self._store.manifest["stats"])
        out.update(
            documents=len(self),
            tokens=n_tokens,
            stored_tokens=stored_tokens,
            deleted_documents=sum(seg.n_docs - seg.n_live for seg in self._store.segments),
            segments=len(self._store.segments),
            n_centroids=self._store.manifest["settings"]["n_centroids"],
            nbits=self.nbits,
            disk_bytes=disk,
            bytes_per_token=disk / stored_tokens if stored_tokens else None,
        )
        return out

    def verify(self) -> None:
        """Check every file's size and CRC-32 and that the segments are consistent."""
        self._folder.verify(self._store.manifest)
        self._store.open()

    # ------------------------------------------------------------------ writes
    def add_documents(
        self,
        documents_ids: Sequence[str],
        documents_embeddings: Sequence[ArrayLike],
        *,
        replace: bool = False,
        texts: Sequence[str | None] | None = None,
        metadata: Sequence[Mapping[str, Any] | None] | None = None,
        batch_size: int | None = None,
    ) -> PLAID:
        """Encode and add documents (one committed segment per 65,536 documents).

        An id already present raises :class:`DuplicateIdError` unless ``replace=True`` (the old version
        is removed in the same commit). ``texts`` (one per id) and ``metadata`` (one flat dict per id,
        see :mod:`plait.indexes.metadata`) are stored in the same commit and read back by
        :meth:`get_documents`. The first add on an empty index trains the codec. As in PyLate, one
        id may be a bare string and one document a single 2-D matrix; ``batch_size`` is accepted
        and ignored.
        """
        ids = check_ids(documents_ids)
        texts = check_texts(ids, texts)
        rows = check_metadata(ids, metadata)
        docs = check_embeddings(ids, documents_embeddings, self.dim)
        if not ids:
            return self
        self.last_build_timings = {}
        with self._store.writing():
            docs = check_embeddings(ids, docs, self.dim)  # another writer may have set dim
            existing = [i for i in ids if i in self._store]
            if existing and not replace:
                raise DuplicateIdError(
                    f"document ids already in the index: {existing[:5]} (pass replace=True to overwrite)"
                )
            began = time.perf_counter()
            manifest = self._begin()
            self._store.merge_schema(manifest, rows, ids)
            trained = self._quantizer is None
            outliers = new_centroids = 0
            if trained:
                self._train_into(manifest, docs)
            else:
                outliers, new_centroids = self._grow_into(manifest, docs)
            enc = self._encode_into(manifest, ids, docs, texts, rows)
            if existing:
                self._store.remove(manifest, existing)
            self._store.commit(manifest)
            stats = manifest["stats"]
            assert self._quantizer is not None
            self.last_add = AddReport(
                documents=len(ids),
                tokens=int(enc.doclens.sum()),
                trained=trained,
                outliers=outliers,
                new_centroids=new_centroids,
                n_centroids=self._quantizer.n_centroids,
                residual_norm=float(enc.residual_norm),
                codec_drift=float(stats["codec_drift"]),
                codec_fits=bool(stats["codec_fits"]),
                seconds=time.perf_counter() - began,
            )
            if new_centroids:
                logger.info("%s: %s", self.path, self.last_add.summary())
        return self

    def _import_encoded(
        self,
        ids: list[str],
        encoded: build.Encoded,
        codebook: Codebook,
        stats: dict[str, Any],
    ) -> None:
        """Fill an empty index with documents encoded elsewhere (:mod:`plait.indexes.migrate`).

        ``encoded`` holds their codes and residuals packed for ``codebook``; ``stats`` go into the
        manifest's statistics (the growth policy's reference norms among them). One commit.
        """
        ids = check_ids(ids)
        with self._store.writing():
            if len(self):
                raise IndexInputError(f"{self.path} is not empty: import into a new index")
            manifest = self._begin()
            quantizer, codec = codebook.quantizer, codebook.codec
            manifest["files"].update(write_codec(self._folder, quantizer, codec))
            manifest["settings"].update(
                dim=quantizer.dim, nbits=codec.nbits, n_centroids=quantizer.n_centroids
            )
            manifest["settings"]["config"] = self._config.updated(nbits=codec.nbits).to_manifest()
            manifest["stats"].update(stats, n_centroids=quantizer.n_centroids)
            self._quantizer, self._codec = quantizer, codec
            self._codec_files = {}  # not committed yet: the next load reads the files again
            for start, stop in build.split_for_segments(len(ids)):
                self._add_segment(
                    manifest, ids[start:stop], build.slice_encoded(encoded, start, stop)
                )
            manifest["stats"].update(codec_drift=1.0, codec_fits=True)
            self._store.commit(manifest)

    def _grow_into(self, manifest: dict[str, Any], docs: list[np.ndarray]) -> tuple[int, int]:
        """Add centroids for the new tokens the codebook fits badly (:mod:`.growth`).

        Returns ``(outliers, new centroids)``. A shared codebook never grows.
        """
        assert self._quantizer is not None and self._codec is not None
        stats = manifest["stats"]
        if manifest["settings"].get("shared_codebook") or not any(len(d) for d in docs):
            return 0, 0
        trained_tokens = float(stats.get("trained_on_tokens") or 0)
        per_centroid = trained_tokens / max(int(stats.get("n_centroids") or 1), 1)
        quantizer, outliers, added = grow(
            self._quantizer,
            np.concatenate([d for d in docs if len(d)]),
            outlier_threshold(stats),
            per_centroid,
            self.growth,
            niters=self._config.kmeans_niters,
            seed=self._config.seed + int(manifest.get("next_segment", 0)),
        )
        if added:
            manifest["files"].update(write_codec(self._folder, quantizer, self._codec))
            manifest["settings"]["n_centroids"] = quantizer.n_centroids
            stats["grown_centroids"] = int(stats.get("grown_centroids", 0)) + added
            self._quantizer = quantizer
            self._codec_files = {}  # not committed yet: the next load reads the files again
        return outliers, added

    def _train_into(self, manifest: dict[str, Any], docs: list[np.ndarray]) -> None:
        if not any(len(d) for d in docs):
            raise IndexInputError("the first documents added to a PLAID index must contain tokens")
        dim = docs[0].shape[1]
        nbits = check_nbits(self._config.nbits, dim)
        if self.codebook is not None:
            if self.codebook.dim != dim:
                raise IndexInputError(
                    f"the codebook is {self.codebook.dim}-d, the documents {dim}-d"
                )
            quantizer, codec = self.codebook.quantizer, self.codebook.codec
            stats = {**self.codebook.stats, "kmeans_s": 0.0, "codec_s": 0.0}
            manifest["settings"]["shared_codebook"] = True
        else:
            trained = Codebook.train(docs, **self._config.updated(nbits=nbits).training())
            quantizer, codec, stats = trained.quantizer, trained.codec, dict(trained.stats)
        manifest["files"].update(write_codec(self._folder, quantizer, codec))
        manifest["settings"].update(dim=dim, nbits=nbits, n_centroids=quantizer.n_centroids)
        manifest["stats"].update(stats, trained_on_tokens=int(sum(len(d) for d in docs)))
        self._quantizer, self._codec = quantizer, codec
        self._codec_files = {}  # not committed yet: the next load reads the files again
        self.last_build_timings = {"kmeans_s": stats["kmeans_s"], "codec_s": stats["codec_s"]}

    def _encode_into(
        self,
        manifest: dict[str, Any],
        ids: list[str],
        docs: list[np.ndarray],
        texts: list[str | None] | None = None,
        rows: list[dict[str, Any]] | None = None,
    ) -> build.Encoded:
        assert self._quantizer is not None and self._codec is not None
        enc = build.encode_documents(docs, self._quantizer, self._codec)
        timings = {k: v for k, v in self.last_build_timings.items() if k in ("kmeans_s", "codec_s")}
        timings.update(enc.timings)
        t0 = time.perf_counter()
        for start, stop in build.split_for_segments(len(ids)):
            part = None if texts is None else texts[start:stop]
            meta = None if rows is None else rows[start:stop]
            self._add_segment(
                manifest, ids[start:stop], build.slice_encoded(enc, start, stop), part, meta
            )
        timings["write_s"] = time.perf_counter() - t0
        self.last_build_timings = timings
        trained = manifest["stats"].get("train_residual_norm") or 0.0
        ratio = enc.residual_norm / trained if trained > 0 else 1.0
        fits = ratio <= self.codec_drift_threshold
        manifest["stats"].update(
            last_add_residual_norm=enc.residual_norm, codec_drift=ratio, codec_fits=fits
        )
        if not fits:
            logger.warning(
                "PLAID codec no longer fits the added documents (residual norm %.3f vs %.3f when "
                "trained); re-train with index.retrain(documents_embeddings=...)",
                enc.residual_norm,
                trained,
            )
        return enc

    def _add_segment(
        self,
        manifest: dict[str, Any],
        ids: list[str],
        enc: build.Encoded,
        texts: list[str | None] | None = None,
        rows: list[dict[str, Any]] | None = None,
    ) -> None:
        n_centroids = int(manifest["settings"]["n_centroids"])
        self._store.add_segment(
            manifest,
            ids,
            int(enc.doclens.sum()),
            lambda name: write_payload(
                self._folder, name, enc.doclens, enc.codes, enc.residuals, n_centroids
            ),
            texts,
            rows,
        )

    def remove_documents(self, documents_ids: Sequence[str], *, missing: str = "ignore") -> PLAID:
        """Remove documents (a tombstone file; immediately invisible).

        Unknown ids are skipped, as in PyLate; with ``missing="raise"`` they raise
        :class:`UnknownIdError` and nothing is removed. Space is reclaimed by :meth:`compact`.
        """
        ids = check_id_list(documents_ids)
        check_missing(missing)
        if not ids:
            return self
        with self._store.writing():
            ids = known_only(ids, self._store.where, missing)
            if not ids:
                return self
            manifest = self._begin()
            self._store.remove(manifest, ids)
            self._store.commit(manifest)
        return self

    def compact(self) -> None:
        """Rewrite the live documents into as few segments as possible, dropping removed ones.

        Codes and packed residuals are copied, not re-encoded, so stored vectors do not change.
        """
        with self._store.writing():
            manifest = self._begin()
            batches = list(build.live_batches(self._store.segments))
            self._store.clear_segments(manifest)
            for ids, enc in batches:
                self._add_segment(
                    manifest, ids, enc, self._store.texts(ids), self._store.metadata(ids)
                )
            self._store.commit(manifest)

    def retrain(
        self,
        documents_embeddings: Mapping[str, ArrayLike] | None = None,
        *,
        from_compressed: bool = False,
        **training: Any,
    ) -> None:
        """Re-train centroids and codec and re-encode every document.

        Parameters
        ----------
        documents_embeddings
            The original embeddings of every document in the index, by id: the codec is trained
            on them and every document is encoded from them, as a fresh build would.
        from_compressed
            Without the originals, train on the stored (decoded) vectors instead. They carry the
            compression error, which re-encoding adds to: only on request, and logged.
        **training
            Training settings for this re-training, saved with it (``nbits``, ``n_centroids``,
            ``kmeans_niters``, ``max_points_per_centroid``, ``n_samples_kmeans``, ``seed``;
            ``niters`` is accepted for ``kmeans_niters``).
        """
        if "niters" in training:
            training["kmeans_niters"] = training.pop("niters")
        unknown = sorted(set(training) - set(TRAINING_KEYS))
        if unknown:
            raise TypeError(
                f"retrain() got unexpected keyword arguments {unknown}; it takes {list(TRAINING_KEYS)}"
            )
        new_config = self._config.updated(**training)
        if self._store.manifest["settings"].get("shared_codebook"):
            raise ValueError(
                f"{self.path} uses a shared codebook: train a new Codebook and rebuild every index "
                "that shares it instead of re-training one of them"
            )
        if documents_embeddings is None and not from_compressed:
            raise ValueError(
                f"{self.path} keeps only compressed vectors: pass the original embeddings, "
                "retrain(documents_embeddings={id: embeddings, ...}), or accept training on the "
                "decoded ones (which adds their compression error) with "
                "retrain(from_compressed=True)"
            )
        with self._store.writing():
            ids = self.documents_ids
            if documents_embeddings is None:
                logger.warning(
                    "%s: re-training on decoded vectors (from_compressed=True)", self.path
                )
                docs = self.get_documents_embeddings(ids)
            else:
                docs = self._originals(ids, documents_embeddings)
            given = dict(self._given)
            self._config = new_config
            self._given.update(training)  # asked for now: they win over the constructor's values
            try:
                texts, rows = self._store.texts(ids), self._store.metadata(ids)
                self._store.commit(self._rebuild(ids, docs, texts, rows, self._store.schema))
            except BaseException:
                self._given = given  # the store re-reads the committed state (and its config)
                raise

    def _rebuild(
        self,
        ids: list[str],
        docs: list[np.ndarray],
        texts: list[str | None],
        rows: list[dict[str, Any]],
        schema: dict[str, str],
    ) -> dict[str, Any]:
        """Return a manifest with a fresh codec trained on ``docs``, every document re-encoded."""
        manifest = self._empty_manifest()
        manifest["next_segment"] = self._store.manifest["next_segment"]
        manifest["metadata_schema"] = schema
        self._quantizer = self._codec = None
        self._codec_files = {}
        if ids:
            self._train_into(manifest, docs)
            self._encode_into(manifest, ids, docs, texts, rows)
        return manifest

    def _originals(self, ids: list[str], given: Mapping[str, ArrayLike]) -> list[np.ndarray]:
        """Return the original embeddings of ``ids`` from ``given`` (every id, checked)."""
        if not isinstance(given, Mapping):
            raise TypeError(
                "documents_embeddings must map every document id to its embeddings, got "
                f"{type(given).__name__}"
            )
        missing = [i for i in ids if i not in given]
        if missing:
            raise IndexInputError(
                f"documents_embeddings lacks {len(missing)} of the index's documents, "
                f"e.g. {missing[:5]}"
            )
        return check_embeddings(ids, [given[i] for i in ids], self.dim)

    # ------------------------------------------------------------------ reads
    def _embeddings(self, ids: list[str]) -> list[np.ndarray]:
        raise_unknown(unknown_ids(ids, self._store.where))
        quantizer, codec = self._quantizer, self._codec
        if not ids or quantizer is None or codec is None:  # no documents: no codec either
            return []
        out = []
        for s, local in (self._store.where[i] for i in ids):
            vectors, _ = decompress(self._store.segments[s], np.array([local]), quantizer, codec)
            out.append(vectors)
        return out

    def search(
        self,
        queries_embeddings: Sequence[ArrayLike] | ArrayLike,
        k: int = 10,
        *,
        subset: Subset | None = None,
        params: PLAIDSearchParams | None = None,
        filter: str | None = None,
        filter_params: Sequence[Any] | None = None,
    ) -> list[SearchResult]:
        """Return the top-``k`` documents per query.

        Fewer come back when fewer documents exist or pass ``subset``. ``filter`` (a SQL condition
        on metadata columns, ``filter_params`` bound to its ``?``; :mod:`plait.indexes.filtering`)
        keeps the matching documents, intersected with ``subset``. A filter narrows candidate
        generation itself: when few documents match, they are scored exactly; else ``ncells``
        doubles until ``k`` matching candidates are found.
        """
        k = check_k(k)
        if params is not None and not isinstance(params, PLAIDSearchParams):
            raise TypeError(f"params must be a PLAIDSearchParams, got {type(params).__name__}")
        queries = check_queries(queries_embeddings, self.dim)
        subsets = self._apply_filter(
            normalize_subset(subset, len(queries)), len(queries), filter, filter_params
        )
        resolved = (params or PLAIDSearchParams()).resolve(int(k), self.default_params)
        if self._quantizer is None or self._codec is None or not len(self):
            return [SearchResult([], np.zeros(0, dtype=np.float32)) for _ in queries]
        source = SegmentSource(self._store.segments, self._quantizer, self._codec, self.eligible)

        def one(qi: int) -> SearchResult:  # the PLAID search driver over this index's segments
            subset = None if subsets is None else [subsets[qi]]
            return run_search(source, [queries[qi]], int(k), resolved, subset)[0]

        workers = min(self.num_threads or get_num_threads(), len(queries))
        if workers <= 1:
            return [one(qi) for qi in range(len(queries))]
        # queries are independent; the stages are numba (nogil) and torch, so threads run in parallel
        return list(worker_pool("plaid-search", workers).map(one, range(len(queries))))

    def eligible(self, ids: Sequence[str] | None = None) -> list[np.ndarray]:
        """Return per segment the bool mask of the documents a search may return.

        Segments come in :attr:`segments` order. The documents are the live ones, and with ``ids``
        only those listed (unknown ids are ignored).
        """
        return self._store.eligible(ids)
