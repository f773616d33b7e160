"""The checked-in OpenAPI document is the one the API serves (regenerate: `make openapi`), and it lists
each operation's answers: the error statuses its handler can produce, each with the Error body."""

from __future__ import annotations

import json
from http import HTTPStatus
from pathlib import Path

import pytest

from api.errors import ERRORS

DOCUMENT = Path(__file__).parents[2] / "docs" / "openapi.json"
ERROR_STATUSES = {status.value for status, _ in ERRORS.values()}


def operations() -> list[tuple[str, str, dict]]:
    document = json.loads(DOCUMENT.read_text())
    return [(method.upper(), path, op) for path, item in document["paths"].items() for method, op in item.items()]


def documented(operation: dict) -> set[int]:
    return {int(status) for status in operation["responses"]}


OPERATIONS = operations()
IDS = [f"{method} {path}" for method, path, _ in OPERATIONS]


def test_checked_in_openapi_matches_the_routes(api) -> None:
    served = api("GET", "/openapi.json", user=None).body
    assert json.loads(DOCUMENT.read_text()) == served, "docs/openapi.json is stale: run `make openapi`"


def test_the_error_body_is_a_named_schema() -> None:
    schema = json.loads(DOCUMENT.read_text())["components"]["schemas"]["Error"]
    assert set(schema["properties"]) == {"message", "status"}
    assert set(schema["required"]) == {"message", "status"}


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=IDS)
def test_each_operation_documents_the_statuses_its_handler_can_produce(method, path, operation) -> None:
    statuses = documented(operation)
    # validation failures are answered 400, never Powertools' 422; 422 is only an Idempotency-Key reused
    # with another body, on the operations that take the key
    takes_key = any(p["name"].lower() == "idempotency-key" for p in operation.get("parameters", []))
    assert (HTTPStatus.UNPROCESSABLE_ENTITY in statuses) == takes_key
    # every route needs a caller, and each caller's requests per minute are limited
    assert HTTPStatus.UNAUTHORIZED in statuses
    assert HTTPStatus.TOO_MANY_REQUESTS in statuses
    assert "Retry-After" in operation["responses"]["429"]["headers"]
    # anything validated can be invalid
    if operation.get("parameters") or operation.get("requestBody"):
        assert HTTPStatus.BAD_REQUEST in statuses
    # a body can be too large or not JSON
    if method == "POST" or operation.get("requestBody"):
        assert {HTTPStatus.BAD_REQUEST, HTTPStatus.REQUEST_ENTITY_TOO_LARGE} <= statuses
        assert HTTPStatus.UNSUPPORTED_MEDIA_TYPE in statuses
    # a path with an id can name no export
    if "{" in path:
        assert HTTPStatus.NOT_FOUND in statuses


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=IDS)
def test_each_documented_error_comes_from_the_error_table_with_the_error_body(method, path, operation) -> None:
    for status, response in operation["responses"].items():
        if int(status) < 400:
            continue
        schema = response["content"]["application/json"]["schema"]["$ref"]
        if schema == "#/components/schemas/Error":
            assert int(status) in ERROR_STATUSES, (status, schema)
        elif path.startswith("/dataset/v1/"):
            # Sunbird's data-exhaust API (seed 002) answers its own errors in the seed's envelope
            # (params.err, responseCode): its clients read that, not the Error body
            assert schema == "#/components/schemas/DataExhaustEnvelope" and int(status) in (400, 404, 500, 503)
        else:
            assert path.endswith("/download") and int(status) in (409, 410), (status, schema)


def test_no_content_answers_have_no_body_schema() -> None:
    for method, path, operation in OPERATIONS:
        for status in ("204", "302"):
            if status in operation["responses"]:
                assert "content" not in operation["responses"][status], (method, path, status)
