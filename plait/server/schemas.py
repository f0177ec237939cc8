"""Request and response models of the HTTP API, built from the server's :class:`Limits`.

The limits are part of each model (``maxItems``, ``maximum``, ``maxLength``), so the OpenAPI schema
tells clients what the server accepts and pydantic answers anything beyond them with a 422 that
names the field. Checks a schema cannot express (ragged matrices, the index's dimension) happen in
:mod:`plait.server.app` with the same status and a message that names the item.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator


@dataclass(frozen=True)
class Limits:
    """What one request may ask for; anything beyond gets a 4xx naming the limit.

    ``max_texts``: texts (queries, documents) or embedding matrices per request;
    ``max_chars``: characters per text; ``max_k``: results per query; ``max_tokens``: rows of one
    embedding matrix; ``max_dim``: columns of one embedding matrix; ``max_id_chars``: characters per
    document id; ``max_subset``: ids in a search ``subset``; ``max_body_bytes``: request body size
    (413 beyond it); ``max_filter_chars``: characters of a search ``filter``;
    ``max_filter_params``: values in ``filter_params``; ``max_metadata_keys``: keys of one
    document's metadata (each string value is at most ``max_chars`` characters).
    """

    max_texts: int = 256
    max_chars: int = 20_000
    max_k: int = 1_000
    max_tokens: int = 2_048
    max_dim: int = 4_096
    max_id_chars: int = 512
    max_subset: int = 100_000
    max_body_bytes: int = 64 * 1024 * 1024
    max_filter_chars: int = 4_000
    max_filter_params: int = 100
    max_metadata_keys: int = 128

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
    codebook: dict[str, Any] | None = Field(
        default=None,
        description="What an add did to a PLAID index's codebook: trained, outliers, "
        "new_centroids, n_centroids, codec_drift, codec_fits (absent for other indexes).",
    )


class MetadataUpdateResponse(BaseModel):
    """Outcome of a metadata update: committed when this is returned."""

    updated: int = Field(description="Documents whose metadata was replaced.")
    documents: int = Field(description="Live documents in the index.")


class Document(BaseModel):
    """One stored document: its text (``null`` when none was stored) and its metadata."""

    id: str
    text: str | None = None
    metadata: dict[str, Any] = Field(
        default_factory=dict,
        description="The document's metadata (keys without a value are left out; dates as ISO strings).",
    )


class DocumentsResponse(BaseModel):
    """The documents asked for, in the order asked."""

    documents: list[Document]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "documents": [
                        {
                            "id": "doc-1",
                            "text": "first document",
                            "metadata": {"year": 2021, "source": "pubmed"},
                        }
                    ]
                }
            ]
        }
    )


class EncodeResponse(BaseModel):
    """Token embeddings: one ``(n_tokens, dim)`` matrix per text, rows L2-normalised."""

    embeddings: list[list[list[float]]]
    dim: int


class HealthResponse(BaseModel):
    """Liveness and what the server serves: document count, dimension, model, writability."""

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
    metadata_schema: dict[str, str] | None = Field(
        None,
        description="Metadata columns a filter can name, with their types (bool, int, float, str, "
        "date, datetime); empty when no document has metadata.",
    )


class ErrorResponse(BaseModel):
    """Every 4xx/5xx answer: ``detail`` says what was wrong.

    FastAPI's 422 keeps its item list in ``errors``.
    """

    detail: str
    errors: list[dict[str, Any]] | None = None


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

METADATA_DESCRIPTION = (
    "One flat object per id (same length as ids; null for none): keys are column names (letters, "
    "digits and _, not starting with a digit or __), values are strings, numbers, booleans or null "
    "(null: no value). A column keeps one type across the index. Stored in the same commit as the "
    "vectors and texts."
)
FILTER_DESCRIPTION = (
    "Only documents whose metadata satisfies this SQL condition (DuckDB's WHERE syntax over the "
    "metadata columns listed by GET /stats as metadata_schema; a document without a key has NULL "
    "there). One plain condition: no subquery, set operation or statement separator. Put values "
    "in filter_params, bound to the ? placeholders in order, never into the string. At most "
    "{max_chars} characters. A malformed condition, an unknown column or a type mismatch is a 422 "
    "saying what is wrong."
)
FILTER_PARAMS_DESCRIPTION = (
    "Values bound to the filter's ? placeholders, in order (strings, numbers, booleans, null); "
    "at most {max_params}. Only with a filter."
)


def _int64_values(given: Any) -> Any:
    """Refuse integers beyond int64 before pydantic could read them as floats (and lose digits)."""
    values: Iterable[Any] = (
        given.values() if isinstance(given, dict) else given if isinstance(given, list) else ()
    )
    for value in values:
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and not INT64_MIN <= value <= INT64_MAX
        ):
            raise ValueError(
                f"integer {value} is outside the 64-bit range [{INT64_MIN}, {INT64_MAX}]"
            )
    return given


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
    # JSON scalars a metadata value or a filter parameter may be (ints as int64, floats finite).
    Scalar = (
        Annotated[str, Field(max_length=limits.max_chars)]
        | Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
        | Annotated[float, Field(allow_inf_nan=False)]
        | bool
        | None
    )
    Metadata = Annotated[
        dict[str, Scalar],
        Field(max_length=limits.max_metadata_keys),
        BeforeValidator(_int64_values),
    ]
    MetadataList = Annotated[
        list[Metadata | None], Field(min_length=1, max_length=limits.max_texts)
    ]
    Filter = Annotated[str, Field(min_length=1, max_length=limits.max_filter_chars)]
    FilterParams = Annotated[
        list[Scalar], Field(max_length=limits.max_filter_params), BeforeValidator(_int64_values)
    ]

    def metadata_field(default: Any) -> Any:
        return Field(
            default,
            description=METADATA_DESCRIPTION,
            examples=[[{"year": 2021, "source": "pubmed", "reviewed": True}, {"year": 2019}]],
        )

    class SearchRequest(BaseModel):
        """Search with query texts (encoded by the server's model) or query token embeddings."""

        model_config = ConfigDict(
            extra="forbid",
            json_schema_extra={
                "examples": [
                    {"queries": ["what lowers fracture risk?"], "k": 5},
                    {
                        "embeddings": [[[0.6, 0.8], [1.0, 0.0]]],
                        "k": 3,
                        "subset": ["doc-1", "doc-7"],
                    },
                    {
                        "queries": ["what lowers fracture risk?"],
                        "k": 5,
                        "filter": "year >= ? AND source = ?",
                        "filter_params": [2020, "pubmed"],
                    },
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
        filter: Filter | None = Field(
            None,
            description=FILTER_DESCRIPTION.format(max_chars=limits.max_filter_chars),
            examples=["year >= ? AND source = ?"],
        )
        filter_params: FilterParams | None = Field(
            None,
            description=FILTER_PARAMS_DESCRIPTION.format(max_params=limits.max_filter_params),
            examples=[[2020, "pubmed"]],
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
                    {
                        "ids": ["doc-4"],
                        "texts": ["a reviewed 2021 abstract"],
                        "metadata": [{"year": 2021, "source": "pubmed", "reviewed": True}],
                    },
                ]
            },
        )

        ids: Ids
        texts: Texts | None = Field(None, description="Document texts (needs a model).")
        embeddings: Matrices | None = Field(
            None, description="Token embeddings: one (n_tokens, dim) matrix per document."
        )
        metadata: MetadataList | None = metadata_field(None)

        @model_validator(mode="after")
        def _matching(self) -> "DocumentsRequest":
            if (self.texts is None) == (self.embeddings is None):
                raise ValueError("give exactly one of 'texts' or 'embeddings'")
            given = self.texts if self.texts is not None else self.embeddings
            assert given is not None
            if len(given) != len(self.ids):
                kind = "texts" if self.texts is not None else "embeddings"
                raise ValueError(f"got {len(self.ids)} ids but {len(given)} {kind}")
            _same_length(self.ids, self.metadata)
            return self

    class MetadataRequest(BaseModel):
        """New metadata for existing documents: each one replaces that document's metadata."""

        model_config = ConfigDict(
            extra="forbid",
            json_schema_extra={
                "examples": [
                    {
                        "ids": ["doc-1", "doc-2"],
                        "metadata": [{"year": 2022, "source": "arxiv"}, None],
                    }
                ]
            },
        )

        ids: Ids
        metadata: MetadataList = metadata_field(...)

        @model_validator(mode="after")
        def _matching(self) -> "MetadataRequest":
            _same_length(self.ids, self.metadata)
            return self

    class GetDocumentsRequest(BaseModel):
        """Ids to read back; any unknown id fails the whole request (404)."""

        model_config = ConfigDict(
            extra="forbid", json_schema_extra={"examples": [{"ids": ["doc-1"]}]}
        )

        ids: Ids

    class DeleteRequest(BaseModel):
        """Ids to remove; any unknown id fails the whole request (404) and nothing is removed."""

        model_config = ConfigDict(
            extra="forbid", json_schema_extra={"examples": [{"ids": ["doc-1"]}]}
        )

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
        MetadataRequest=MetadataRequest,
        GetDocumentsRequest=GetDocumentsRequest,
        DeleteRequest=DeleteRequest,
        EncodeRequest=EncodeRequest,
    )


def _same_length(ids: list[str], metadata: list[Any] | None) -> None:
    if metadata is not None and len(metadata) != len(ids):
        raise ValueError(f"got {len(ids)} ids but {len(metadata)} metadata entries")
