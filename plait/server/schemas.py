"""Request and response models of the HTTP API, built from the server's :class:`Limits`.

The limits are part of each model (``maxItems``, ``maximum``, ``maxLength``), so the OpenAPI schema
tells clients what the server accepts and pydantic answers anything beyond them with a 422 that
names the field. Checks a schema cannot express (ragged matrices, the index's dimension) happen in
:mod:`plait.server.app` with the same status and a message that names the item.
"""

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


@dataclass(frozen=True)
class Limits:
    """What one request may ask for; anything beyond gets a 4xx naming the limit.

    ``max_texts``: texts (queries, documents) or embedding matrices per request;
    ``max_chars``: characters per text; ``max_k``: results per query; ``max_tokens``: rows of one
    embedding matrix; ``max_dim``: columns of one embedding matrix; ``max_id_chars``: characters per
    document id; ``max_subset``: ids in a search ``subset``; ``max_body_bytes``: request body size
    (413 beyond it).
    """

    max_texts: int = 256
    max_chars: int = 20_000
    max_k: int = 1_000
    max_tokens: int = 2_048
    max_dim: int = 4_096
    max_id_chars: int = 512
    max_subset: int = 100_000
    max_body_bytes: int = 64 * 1024 * 1024

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Limits.{name} must be a positive integer, got {value!r}")


class Hit(BaseModel):
    """One search result; ``score`` is always a finite number."""

    id: str
    score: float = Field(allow_inf_nan=False)


class SearchResponse(BaseModel):
    """One ranked list per query, best first; shorter than ``k`` when fewer documents qualify."""

    results: list[list[Hit]]

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"results": [[{"id": "doc-1", "score": 23.41}]]}]}
    )


class WriteResponse(BaseModel):
    """Outcome of an add, upsert or delete: the write is committed when this is returned."""

    added: int = 0
    replaced: int = 0
    removed: int = 0
    documents: int = Field(description="Live documents in the index after the write.")


class EncodeResponse(BaseModel):
    """Token embeddings: one ``(n_tokens, dim)`` matrix per text, rows L2-normalised."""

    embeddings: list[list[list[float]]]
    dim: int


class HealthResponse(BaseModel):
    status: str = "ok"
    documents: int
    dim: int | None
    model: bool = Field(description="Whether text endpoints are available (a model is loaded).")
    writable: bool


class StatsResponse(BaseModel):
    """Index statistics (fields a given index kind does not have are null)."""

    model_config = ConfigDict(extra="allow")

    format: str
    documents: int
    dim: int | None = None
    tokens: int | None = None
    stored_tokens: int | None = None
    segments: int | None = None
    deleted_documents: int | None = None
    nbits: int | None = None
    dtype: str | None = None
    generation: int | None = None
    disk_bytes: int | None = None
    bytes_per_token: float | None = None


class ErrorResponse(BaseModel):
    """Every 4xx/5xx answer: ``detail`` says what was wrong (FastAPI's 422 keeps its item list
    in ``errors``)."""

    detail: str
    errors: list[dict[str, Any]] | None = None


def build_request_models(limits: Limits) -> SimpleNamespace:
    """Request models whose constraints come from ``limits`` (one set per app)."""
    Text = Annotated[str, Field(max_length=limits.max_chars)]
    Texts = Annotated[list[Text], Field(min_length=1, max_length=limits.max_texts)]
    DocId = Annotated[str, Field(min_length=1, max_length=limits.max_id_chars)]
    Ids = Annotated[list[DocId], Field(min_length=1, max_length=limits.max_texts)]
    Row = Annotated[
        list[Annotated[float, Field(allow_inf_nan=False)]],
        Field(min_length=1, max_length=limits.max_dim),
    ]
    Matrix = Annotated[list[Row], Field(min_length=1, max_length=limits.max_tokens)]
    Matrices = Annotated[list[Matrix], Field(min_length=1, max_length=limits.max_texts)]
    SubsetIds = Annotated[list[DocId], Field(max_length=limits.max_subset)]
    Subset = SubsetIds | Annotated[list[SubsetIds], Field(max_length=limits.max_texts)]

    class SearchRequest(BaseModel):
        """Search with query texts (encoded by the server's model) or query token embeddings."""

        model_config = ConfigDict(
            extra="forbid",
            json_schema_extra={
                "examples": [
                    {"queries": ["what lowers fracture risk?"], "k": 5},
                    {"embeddings": [[[0.6, 0.8], [1.0, 0.0]]], "k": 3, "subset": ["doc-1", "doc-7"]},
                ]
            },
        )

        queries: Texts | None = Field(None, description="Query texts (needs a model).")
        embeddings: Matrices | None = Field(
            None, description="Query token embeddings: one (n_tokens, dim) matrix per query."
        )
        k: int = Field(10, ge=1, le=limits.max_k, description="Results per query.")
        subset: Subset | None = Field(
            None,
            description="Only these ids: one list for every query, or one list per query. "
            "Unknown ids are ignored.",
        )

        @model_validator(mode="after")
        def _one_input(self) -> "SearchRequest":
            if (self.queries is None) == (self.embeddings is None):
                raise ValueError("give exactly one of 'queries' (texts) or 'embeddings'")
            return self

    class DocumentsRequest(BaseModel):
        """Documents to add (POST) or upsert (PUT): ids with texts or with token embeddings."""

        model_config = ConfigDict(
            extra="forbid",
            json_schema_extra={
                "examples": [
                    {"ids": ["doc-1", "doc-2"], "texts": ["first document", "second document"]},
                    {"ids": ["doc-3"], "embeddings": [[[0.6, 0.8], [1.0, 0.0]]]},
                ]
            },
        )

        ids: Ids
        texts: Texts | None = Field(None, description="Document texts (needs a model).")
        embeddings: Matrices | None = Field(
            None, description="Token embeddings: one (n_tokens, dim) matrix per document."
        )

        @model_validator(mode="after")
        def _matching(self) -> "DocumentsRequest":
            if (self.texts is None) == (self.embeddings is None):
                raise ValueError("give exactly one of 'texts' or 'embeddings'")
            given = self.texts if self.texts is not None else self.embeddings
            assert given is not None
            if len(given) != len(self.ids):
                kind = "texts" if self.texts is not None else "embeddings"
                raise ValueError(f"got {len(self.ids)} ids but {len(given)} {kind}")
            return self

    class DeleteRequest(BaseModel):
        """Ids to remove; any unknown id fails the whole request (404) and nothing is removed."""

        model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"ids": ["doc-1"]}]})

        ids: Ids

    class EncodeRequest(BaseModel):
        """Texts to encode as queries (``is_query``, expanded to the query length) or documents."""

        model_config = ConfigDict(
            extra="forbid",
            json_schema_extra={"examples": [{"texts": ["a short document"], "is_query": False}]},
        )

        texts: Texts
        is_query: bool = True

    return SimpleNamespace(
        SearchRequest=SearchRequest,
        DocumentsRequest=DocumentsRequest,
        DeleteRequest=DeleteRequest,
        EncodeRequest=EncodeRequest,
    )
