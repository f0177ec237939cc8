"""``create_app``: the FastAPI app serving one index (and optionally a model for text endpoints).

Endpoints: ``GET /health``, ``GET /stats``, ``POST /search`` (texts or embeddings, ``k``,
``subset``, a metadata ``filter`` with ``filter_params``), ``POST /documents`` (add), ``PUT
/documents`` (upsert; both take ``metadata``), ``POST /documents/get`` (texts and metadata),
``POST /documents/metadata`` (replace metadata), ``POST /documents/delete``, ``POST /encode``; the interactive docs ``GET /docs`` and ``GET /redoc`` load no file from another
host (:mod:`plait.server.docs`). Errors are JSON ``{"detail": "..."}``: 401 wrong or missing API
key, 403 write on a read-only server, 404 unknown document ids, 409 ids already present, 413 body
too large, 422 a request the schema or the index rejects (the message names the field or item),
400 a text endpoint on a server without a model, 429 and 503 from the rate and load limits
(:mod:`plait.server.guards`).
Anything else is a bug: it is logged and answered with a JSON 500.
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoint annotations, which refer to
# request models built inside ``create_app``.

import logging
import secrets
import threading
from collections.abc import Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader

from plait.indexes.base import DuplicateIdError, IndexInputError, IndexLockedError, UnknownIdError
from plait.indexes.metadata import check_metadata
from plait.indexes.validation import MAX_ABS_VALUE
from plait.server.docs import install_docs
from plait.server.guards import API_KEY_HEADER, OPEN_PATHS, ApiKeyGuard, InFlightLimit, RateLimit
from plait.server.limits import BodySizeLimit
from plait.server.schemas import (
    DocumentsResponse,
    EncodeResponse,
    ErrorResponse,
    HealthResponse,
    Hit,
    Limits,
    MetadataUpdateResponse,
    SearchResponse,
    StatsResponse,
    WriteResponse,
    build_request_models,
)
from plait.server.state import ServedIndex

logger = logging.getLogger("plait.server")


class ApiError(Exception):
    """An error answer with an HTTP status and a message for the client."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorResponse} for status in statuses}


def to_matrices(
    raw: Sequence[Sequence[Sequence[float]]], what: str, dim: int | None
) -> list[np.ndarray]:
    """Nested lists -> float32 ``(n_tokens, dim)`` matrices, or a 422 naming the bad item."""
    out: list[np.ndarray] = []
    for i, matrix in enumerate(raw):
        widths = {len(row) for row in matrix}
        if len(widths) != 1:
            raise ApiError(
                422, f"{what}[{i}] is ragged: its rows have lengths {sorted(widths)[:5]}"
            )
        width = widths.pop()
        expected = dim if dim is not None else (out[0].shape[1] if out else width)
        if width != expected:
            holder = "the index holds" if dim is not None else f"{what}[0] has"
            raise ApiError(
                422, f"{what}[{i}] has dimension {width} but {holder} dimension {expected}"
            )
        with np.errstate(over="ignore"):  # 1e39 becomes inf here, and is refused just below
            array = np.asarray(matrix, dtype=np.float32)
        bad = ~np.isfinite(array) | (np.abs(array) > MAX_ABS_VALUE)
        if bad.any():
            row, col = (int(x) for x in np.argwhere(bad)[0])
            raise ApiError(
                422,
                f"{what}[{i}] row {row} column {col} is {float(matrix[row][col])!r}: values must be "
                f"finite and within ±{MAX_ABS_VALUE:g} as float32",
            )
        out.append(array)
    return out


def check_scores(results: Sequence[Any], what: str) -> None:
    """422 naming the query when a score is not finite (no answer may carry a NaN or null score)."""
    for i, result in enumerate(results):
        scores = np.asarray(result.scores, dtype=np.float64)
        if not np.isfinite(scores).all():
            raise ApiError(
                422,
                f"{what}[{i}]: MaxSim scores overflow float32 (the query's or a document's values are "
                "too large); send L2-normalised embeddings",
            )


def _model_dim(model: Any) -> int:
    return int(
        model.encode(["dimension probe"], is_query=False, show_progress_bar=False)[0].shape[1]
    )


def _install_error_handlers(app: FastAPI) -> None:
    def reply(status: int, detail: str, **extra: Any) -> JSONResponse:
        return JSONResponse({"detail": detail, **extra}, status_code=status)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        return reply(error.status, error.detail)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        items = [
            {
                "loc": [str(part) for part in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in error.errors()
        ]
        message = "; ".join(f"{'.'.join(item['loc'])}: {item['msg']}" for item in items[:10])
        return reply(422, f"invalid request: {message}", errors=items)

    @app.exception_handler(DuplicateIdError)
    async def duplicate(request: Request, error: DuplicateIdError) -> JSONResponse:
        message = str(error).split("; pass replace=True")[0]
        return reply(409, f"{message}; use PUT /documents to replace them")

    @app.exception_handler(UnknownIdError)
    async def unknown(request: Request, error: UnknownIdError) -> JSONResponse:
        return reply(404, str(error))

    @app.exception_handler(IndexLockedError)
    async def locked(request: Request, error: IndexLockedError) -> JSONResponse:
        return reply(423, str(error))

    @app.exception_handler(IndexInputError)
    async def bad_input(request: Request, error: IndexInputError) -> JSONResponse:
        return reply(422, str(error))

    @app.exception_handler(ValueError)
    async def bad_value(request: Request, error: ValueError) -> JSONResponse:
        return reply(422, str(error))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
        return reply(500, f"internal server error ({type(error).__name__}); see the server log")


def _api_key_dependency(api_key: str | None) -> list[Any]:
    """Return the API key check as a FastAPI dependency (it puts the scheme into the schema).

    The :class:`~plait.server.guards.ApiKeyGuard` middleware has already refused a wrong key by
    then, before any body was read.
    """
    if api_key is None:
        return []
    if not api_key:
        raise ValueError("api_key must be a non-empty string (or None for no key)")
    expected = api_key.encode("utf-8")
    header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)

    def check_api_key(given: str | None = Security(header)) -> None:
        if given is None or not secrets.compare_digest(given.encode("utf-8"), expected):
            raise ApiError(401, f"missing or wrong API key: send it in the {API_KEY_HEADER} header")

    return [Depends(check_api_key)]


def _check_settings(api_key: str | None, max_requests: int, rate_limit: float | None) -> None:
    """Refuse bad settings at once (middleware is only built on the first request)."""
    if api_key is not None and (not isinstance(api_key, str) or not api_key):
        raise ValueError("api_key must be a non-empty string (or None for no key)")
    if isinstance(max_requests, bool) or not isinstance(max_requests, int) or max_requests < 1:
        raise ValueError(f"max_requests must be a positive integer, got {max_requests!r}")
    if rate_limit is not None and not (
        isinstance(rate_limit, (int, float)) and 0 < rate_limit < float("inf")
    ):
        raise ValueError(
            f"rate_limit must be a positive number of requests per second (or None), got {rate_limit!r}"
        )


def create_app(
    index: Any,
    model: Any = None,
    *,
    api_key: str | None = None,
    limits: Limits = Limits(),
    writable: bool = True,
    hold_writer_lock: bool = True,
    store_texts: bool = True,
    reopen: Callable[[], Any] | None = None,
    max_requests: int = 64,
    rate_limit: float | None = None,
    refresh_interval: float = 1.0,
) -> FastAPI:
    """Return a FastAPI app serving ``index`` (any :class:`~plait.indexes.Index`).

    Timeouts and the connection limit belong to the HTTP server, not the app: see
    :func:`plait.server.connections.serve`.

    Parameters
    ----------
    index
        The index to serve.
    model
        A :class:`plait.models.ColBERT`; it enables the text endpoints. Without it, search and add
        take embeddings only.
    api_key
        Required of every request except ``/health`` and the docs' static files (the docs pages
        and the OpenAPI schema included), in the ``X-API-Key`` header; it is checked before the
        body is read.
    limits
        What one request may ask for (:class:`~plait.server.schemas.Limits`).
    writable
        ``False`` refuses writes (403) and makes the server pick up other processes' commits (at
        most ``refresh_interval`` seconds late).
    hold_writer_lock
        Hold an on-disk index's writer lock while the app runs (from startup to shutdown), so no
        other process writes to it meanwhile.
    store_texts
        Commit the texts given to the document endpoints with their vectors (``False``: not
        stored).
    reopen
        See :class:`~plait.server.state.ServedIndex` (a read-only ``plait serve`` follows
        ``plait index --override``).
    max_requests
        Requests in progress beyond which the server answers 503.
    rate_limit
        Requests per second per client address beyond which the server answers 429 (``None``, the
        default: no limit).
    refresh_interval
        A read-only server looks for other processes' commits at most this often (seconds).
    """
    _check_settings(api_key, max_requests, rate_limit)
    model_dim = _model_dim(model) if model is not None and index.dim is not None else None
    if model_dim is not None and model_dim != index.dim:
        raise ValueError(
            f"the model makes {model_dim}-dimensional embeddings but the index holds "
            f"{index.dim}-dimensional ones; serve it with the model it was built with"
        )
    served = ServedIndex(
        index,
        writable=writable,
        store_texts=store_texts,
        refresh_interval=refresh_interval,
        reopen=reopen,
    )
    models = build_request_models(limits)

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        if hold_writer_lock:
            served.open()
        try:
            yield
        finally:
            served.close()

    app = FastAPI(
        title="plait",
        summary="Late-interaction (ColBERT) retrieval over one index.",
        version=_version(),
        lifespan=lifespan,
        docs_url=None,  # served by install_docs from local files, not from a CDN
        redoc_url=None,
    )
    docs_assets = install_docs(app)
    app.state.served = served
    app.state.limits = limits
    # Added innermost first: a request meets RateLimit, ApiKeyGuard, InFlightLimit, BodySizeLimit.
    app.add_middleware(BodySizeLimit, max_bytes=limits.max_body_bytes)
    app.add_middleware(InFlightLimit, max_requests=max_requests)
    if api_key is not None:
        app.add_middleware(ApiKeyGuard, api_key=api_key, open_paths=OPEN_PATHS | docs_assets)
    if rate_limit is not None:
        app.add_middleware(RateLimit, rate=rate_limit)
    _install_error_handlers(app)

    @app.get("/health", response_model=HealthResponse, tags=["service"])
    def health() -> HealthResponse:
        """Liveness and a summary; never needs the API key."""
        documents, dim = served.health()
        return HealthResponse(
            documents=documents, dim=dim, model=model is not None, writable=served.writable
        )

    router = APIRouter(
        dependencies=_api_key_dependency(api_key), responses=_errors(400, 401, 413, 422)
    )
    _add_routes(router, served, model, models)
    app.include_router(router)
    return app


def _add_routes(router: APIRouter, served: ServedIndex, model: Any, models: Any) -> None:
    SearchRequest, DocumentsRequest = models.SearchRequest, models.DocumentsRequest
    DeleteRequest, EncodeRequest = models.DeleteRequest, models.EncodeRequest
    MetadataRequest, GetDocumentsRequest = models.MetadataRequest, models.GetDocumentsRequest

    model_lock = threading.Lock()

    def encode(texts: list[str], is_query: bool) -> list[np.ndarray]:
        if model is None:
            raise ApiError(
                400, "this server has no model: send embeddings, or start it with --model"
            )
        # One encode at a time: a fast tokenizer's truncation length is shared state, so a query
        # and a document tokenised at once can swap lengths (documents cut to the query length).
        with model_lock:
            return list(model.encode(texts, is_query=is_query, show_progress_bar=False))

    def check_writable() -> None:
        if not served.writable:
            raise ApiError(403, "this server is read-only")

    def check_unique(ids: list[str]) -> None:
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ApiError(422, f"ids contains duplicates: {dupes[:10]}")

    def write(body: Any, replace: bool) -> WriteResponse:
        check_writable()
        check_unique(body.ids)
        check_metadata(body.ids, body.metadata)  # bad keys: 422 before any text is encoded
        if body.texts is not None:
            embeddings = encode(body.texts, is_query=False)
        else:
            embeddings = to_matrices(body.embeddings, "embeddings", served.dim)
        added, replaced, codebook = served.add(
            body.ids, embeddings, replace=replace, texts=body.texts, metadata=body.metadata
        )
        return WriteResponse(
            added=added, replaced=replaced, documents=len(served), codebook=codebook
        )

    @router.get("/stats", response_model=StatsResponse, tags=["service"])
    def stats() -> dict[str, Any]:
        """Index statistics.

        Format, documents, dimension, tokens, bytes on disk, bytes per token, and the metadata
        columns with their types (``metadata_schema``).
        """
        return served.stats()

    @router.post("/search", response_model=SearchResponse, tags=["search"], responses=_errors(400))
    def search(body: SearchRequest) -> SearchResponse:  # type: ignore[valid-type]
        """Search: the top-``k`` documents per query by MaxSim, best first.

        With ``filter``, only documents whose metadata satisfies it (``filter_params`` bound to its
        ``?``).
        """
        request = _typed(body)
        if request.filter is None and request.filter_params is not None:
            raise ApiError(422, "filter_params were given without a filter")
        if request.queries is not None:
            queries = encode(request.queries, is_query=True)
        else:
            queries = to_matrices(request.embeddings, "embeddings", served.dim)
        results = served.search(
            queries,
            request.k,
            subset=request.subset,
            filter=request.filter,
            filter_params=request.filter_params,
        )
        check_scores(results, "queries" if request.queries is not None else "embeddings")
        return SearchResponse(
            results=[
                [Hit(id=i, score=float(s)) for i, s in zip(r.ids, r.scores, strict=True)]
                for r in results
            ]
        )

    @router.post(
        "/documents",
        response_model=WriteResponse,
        response_model_exclude_none=True,  # codebook: PLAID indexes only
        tags=["documents"],
        responses=_errors(400, 403, 409),
    )
    def add_documents(body: DocumentsRequest) -> WriteResponse:  # type: ignore[valid-type]
        """Add documents; ids already in the index are refused (409) and nothing is added."""
        return write(body, replace=False)

    @router.put(
        "/documents",
        response_model=WriteResponse,
        response_model_exclude_none=True,
        tags=["documents"],
        responses=_errors(400, 403),
    )
    def upsert_documents(body: DocumentsRequest) -> WriteResponse:  # type: ignore[valid-type]
        """Add documents, replacing those whose ids exist (atomically: old or new, never neither)."""
        return write(body, replace=True)

    @router.post(
        "/documents/get",
        response_model=DocumentsResponse,
        tags=["documents"],
        responses=_errors(404),
    )
    def get_documents(body: GetDocumentsRequest) -> DocumentsResponse:  # type: ignore[valid-type]
        """Get the stored texts and metadata of documents, in the order asked.

        Any unknown id fails the request (404).
        """
        return DocumentsResponse.model_validate({"documents": served.documents(_typed(body).ids)})

    @router.post(
        "/documents/metadata",
        response_model=MetadataUpdateResponse,
        tags=["documents"],
        responses=_errors(403, 404),
    )
    def update_metadata(body: MetadataRequest) -> MetadataUpdateResponse:  # type: ignore[valid-type]
        """Replace documents' metadata (``null`` or ``{}`` clears it) in one commit.

        Vectors and texts stay. Any unknown id fails the request (404) and nothing changes.
        """
        check_writable()
        request = _typed(body)
        check_unique(request.ids)
        updated = served.update_metadata(request.ids, request.metadata)
        return MetadataUpdateResponse(updated=updated, documents=len(served))

    @router.post(
        "/documents/delete",
        response_model=WriteResponse,
        response_model_exclude_none=True,
        tags=["documents"],
        responses=_errors(403, 404),
    )
    def delete_documents(body: DeleteRequest) -> WriteResponse:  # type: ignore[valid-type]
        """Remove documents; any unknown id fails the request (404) and nothing is removed."""
        check_writable()
        removed = served.remove(_typed(body).ids)
        return WriteResponse(removed=removed, documents=len(served))

    @router.post("/encode", response_model=EncodeResponse, tags=["search"], responses=_errors(400))
    def encode_texts(body: EncodeRequest) -> EncodeResponse:  # type: ignore[valid-type]
        """Token embeddings of texts, as queries (``is_query``) or documents."""
        request = _typed(body)
        matrices = encode(request.texts, is_query=request.is_query)
        return EncodeResponse(
            embeddings=[m.tolist() for m in matrices], dim=int(matrices[0].shape[1])
        )


def _typed(body: Any) -> Any:
    """Request models are built per app (their limits vary), so type checkers see them as ``Any``."""
    return body


def _version() -> str:
    from plait import __version__

    return __version__
