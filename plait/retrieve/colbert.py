"""ColBERT retriever: a model and an index wired together.

Two APIs on one object:

* the seed's text API: ``retriever.index(collection, document_ids, batch_size=32)`` encodes and
  indexes texts; ``retriever.retrieve(queries=["..."], top_k=5)`` encodes queries and searches;
* PyLate's embedding API: ``retriever.retrieve(queries_embeddings, k=10, subset=None)`` searches
  with embeddings you encoded yourself (no model is loaded).

Both return, per query, a list of ``{"id": str, "score": float}`` sorted by score, best first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from plait.indexes.base import DuplicateIdError, Index, Subset
from plait.indexes.validation import check_ids, check_k, normalize_subset
from plait.utils.tensor import as_matrices, iter_batch


def _check_collection(collection: Any, document_ids: Any) -> tuple[list[str], list[str]]:
    """Validate texts and ids before any encoding happens."""
    if isinstance(collection, (str, bytes)) or not isinstance(collection, Sequence):
        raise TypeError(
            f"collection must be a list of document texts, got {type(collection).__name__}"
        )
    if isinstance(document_ids, (str, bytes)) or not isinstance(document_ids, Sequence):
        raise TypeError(
            f"document_ids must be a list of string ids, got {type(document_ids).__name__}"
        )
    if len(collection) == 0:
        raise ValueError("collection is empty: pass at least one document text")
    if len(collection) != len(document_ids):
        raise ValueError(
            f"collection has {len(collection)} documents but document_ids has {len(document_ids)} ids"
        )
    for i, text in enumerate(collection):
        if not isinstance(text, str):
            raise TypeError(f"collection[{i}] is {type(text).__name__}, not a string")
    return list(collection), check_ids(document_ids, "document_ids")


class ColBERT:
    """Retriever over ``index`` (any :class:`~plait.indexes.Index`) with ``model`` for texts.

    Parameters
    ----------
    index
        The index documents are added to and searched in (``indexes.Exact``, ``indexes.PLAID``...).
    model
        A :class:`plait.models.ColBERT`. ``None`` loads the offline default model the first time a
        text is encoded (the embedding API never needs one).
    """

    def __init__(self, index: Index, model: Any = None) -> None:
        if not isinstance(index, Index):
            raise TypeError(
                f"index must be a plait index (e.g. indexes.Exact or indexes.PLAID), got {type(index).__name__}"
            )
        self._index = index
        self._model = model

    @property
    def document_index(self) -> Index:
        """The index searched (``retriever.index`` is the indexing method, as in the seed)."""
        return self._index

    @property
    def model(self) -> Any:
        """The encoder; the default model is loaded on first use when none was given."""
        if self._model is None:
            from plait.models import ColBERT as ColBERTModel

            self._model = ColBERTModel()
        return self._model

    def __repr__(self) -> str:
        model = "default model (not loaded)" if self._model is None else type(self._model).__name__
        return f"retrieve.ColBERT(index={self._index!r}, model={model})"

    def index(
        self,
        collection: Sequence[str],
        document_ids: Sequence[str],
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
        *,
        replace: bool = False,
        metadata: Sequence[Any] | None = None,
        store_texts: bool = True,
    ) -> ColBERT:
        """Encode ``collection`` as documents and add them under ``document_ids``.

        The texts (unless ``store_texts=False``) and ``metadata`` (one flat dict per document) are
        stored in the index in the same commit as the vectors, so ``retrieve(...,
        return_documents=True)`` can return them. Mismatched lengths, an empty collection,
        non-string texts or ids, duplicate ids, and ids already indexed (unless ``replace=True``)
        are rejected before anything is encoded. Returns the retriever.
        """
        texts, ids = _check_collection(collection, document_ids)
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if not replace:
            existing = [doc_id for doc_id in ids if doc_id in self._index]
            if existing:
                raise DuplicateIdError(
                    f"{len(existing)} document id(s) are already indexed: {existing[:10]}; "
                    "pass replace=True to overwrite them"
                )
        embeddings = self.model.encode(
            texts, is_query=False, batch_size=batch_size, show_progress_bar=show_progress_bar
        )
        self._index.add_documents(
            ids,
            embeddings,
            replace=replace,
            texts=texts if store_texts else None,
            metadata=metadata,
        )
        return self

    def retrieve(
        self,
        queries: Any = None,
        k: int = 10,
        *,
        top_k: int | None = None,
        subset: Subset | None = None,
        batch_size: int = 32,
        queries_embeddings: Any = None,
        params: Any = None,
        show_progress_bar: bool | None = None,
        device: str | None = None,
        k_token: int | None = None,
        return_documents: bool = False,
    ) -> list[list[dict[str, Any]]]:
        """Top documents per query: ``[[{"id", "score"}, ...], ...]``, best first.

        ``queries`` is a text, a list of texts (encoded with the model), or query embeddings (a
        ``(tokens, dim)`` matrix, a list of them or a 3-D array); ``queries_embeddings=`` is
        PyLate's name for the latter. ``top_k`` is the seed's name for ``k``. ``subset`` restricts
        the search (one id list for all queries, or one per query); ``params`` goes to the index.
        ``device`` and ``k_token`` are accepted for PyLate compatibility and ignored. Fewer than
        ``k`` hits come back when fewer documents qualify. ``return_documents=True`` adds each
        hit's stored ``"text"`` and ``"metadata"`` (read from the index, same commit as the
        vectors; ``None`` / ``{}`` when none was stored).
        """
        if queries is not None and queries_embeddings is not None:
            raise ValueError("pass queries or queries_embeddings, not both")
        queries = queries_embeddings if queries is None else queries
        if queries is None:
            raise ValueError("retrieve() needs queries (texts) or queries_embeddings")
        if top_k is not None:
            if k != 10 and k != top_k:
                raise ValueError(f"k={k} and top_k={top_k} disagree; top_k is an alias of k")
            k = top_k
        k = check_k(k)
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        queries = self._embed_queries(queries, batch_size, show_progress_bar)
        subsets = normalize_subset(subset, len(queries))
        results: list[list[dict[str, Any]]] = []
        for start, batch in zip(
            range(0, len(queries), batch_size), iter_batch(queries, batch_size), strict=True
        ):
            batch_subset = None if subsets is None else subsets[start : start + batch_size]
            hits = self._index.search(batch, k, subset=batch_subset, params=params)
            results.extend(hit.to_dicts() for hit in hits)
        if return_documents:
            for hits_of_query in results:
                found = self._index.get_documents([hit["id"] for hit in hits_of_query])
                for hit, document in zip(hits_of_query, found, strict=True):
                    hit.update(text=document.get("text"), metadata=document.get("metadata", {}))
        return results

    def _embed_queries(
        self, queries: Any, batch_size: int, show_progress_bar: bool | None
    ) -> list[Any]:
        if isinstance(queries, str):
            queries = [queries]
        if isinstance(queries, Sequence) and not isinstance(queries, bytes) and len(queries) == 0:
            return []
        if isinstance(queries, Sequence) and any(isinstance(q, str) for q in queries):
            for i, query in enumerate(queries):
                if not isinstance(query, str):
                    raise TypeError(
                        f"queries[{i}] is {type(query).__name__}; give all texts or all embeddings"
                    )
            return list(
                self.model.encode(
                    list(queries),
                    is_query=True,
                    batch_size=batch_size,
                    show_progress_bar=show_progress_bar,
                )
            )
        return as_matrices(queries, "queries_embeddings")
