"""Schemathesis fuzzing against the OpenAPI schema: valid and invalid requests, no 5xx, answers
that match the documented schemas and status codes. Bounded: a few dozen examples per operation."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

schemathesis = pytest.importorskip("schemathesis")

from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from server_helpers import random_documents  # noqa: E402

from plait.indexes import Exact  # noqa: E402
from plait.server import Limits, create_app  # noqa: E402

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzzed_schema(tiny_model, tmp_path_factory: pytest.TempPathFactory):
    index = Exact(index_folder=Path(tmp_path_factory.mktemp("fuzz")), index_name="fuzz")
    ids, _ = random_documents(6)
    index.add_documents(
        ids, tiny_model.encode([f"document number {i}" for i in range(6)], is_query=False)
    )
    limits = Limits(max_texts=4, max_chars=64, max_k=20, max_tokens=8, max_dim=32, max_subset=8)
    app = create_app(index, tiny_model, limits=limits, hold_writer_lock=False)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def _operations(schema) -> list:
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.slow  # schemathesis over the whole API; tests/server/test_errors.py stays fast
@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_api_never_fails_on_generated_requests(fuzzed_schema, mode: str) -> None:
    """Every operation, schema-valid (positive) and schema-violating (negative) requests."""
    generation_mode = GenerationMode(mode)
    operations = _operations(fuzzed_schema)
    assert len(operations) >= 7
    for operation in operations:
        if generation_mode is GenerationMode.NEGATIVE and operation.method.upper() == "GET":
            continue  # nothing to get wrong: no parameters, no body

        @given(case=operation.as_strategy(generation_mode=generation_mode))
        @settings(
            max_examples=30,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case) -> None:
            case.call_and_validate(checks=CHECKS)

        run()
