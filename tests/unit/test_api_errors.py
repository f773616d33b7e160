"""One table maps each error to its status and message; every error body is {message, status}."""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, UnauthorizedError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from api.app import route_table
from api.errors import ERRORS, PayloadTooLarge, error_response, lambda_result
from api.public import PUBLIC_ROUTES
from exporter.errors import EnqueueFailed, ExportNotFound, InvalidQuery, NotAllowed, UnknownField


@pytest.mark.parametrize(
    ("error", "status", "message"),
    [
        (UnknownField("unknown field(s): x"), 400, "unknown field(s): x"),
        (InvalidQuery("nested deeper than 8 levels"), 400, "nested deeper than 8 levels"),
        (ExportNotFound("0000"), 404, "export not found"),
        (NotAllowed("only the creator"), 403, "only the creator"),
        (EnqueueFailed("export 1 could not be queued"), 503, "export 1 could not be queued; it was marked failed"),
        (UnauthorizedError("Unauthorized"), 401, "Unauthorized"),
        (NotFoundError(), 404, "Not Found"),
        (PayloadTooLarge(262144), 413, "request body is larger than 262144 bytes"),
        (RequestValidationError([{"type": "json_invalid", "loc": ("body", 0)}]), 400, "not valid JSON"),
        (RequestValidationError([{"type": "missing", "loc": ("body", "query"), "msg": "required"}]), 400, "query"),
    ],
)
def test_given_an_error_then_its_answer_comes_from_the_table(error, status, message) -> None:
    response = error_response(error)
    body = json.loads(response.body)
    assert response.status_code == status
    assert list(body) == ["message", "status"]
    assert body["status"] == status
    assert message in body["message"]


def test_given_an_error_before_routing_then_the_lambda_result_has_the_same_body() -> None:
    result = lambda_result(PayloadTooLarge(10))
    assert result["statusCode"] == 413
    assert result["headers"]["Content-Type"] == "application/json"
    assert json.loads(result["body"]) == {"message": "request body is larger than 10 bytes", "status": 413}


def test_the_table_holds_only_error_statuses() -> None:
    assert all(status >= HTTPStatus.BAD_REQUEST for status, _ in ERRORS.values())


def test_given_the_route_table_then_it_is_in_api_gateway_syntax_and_holds_the_public_routes() -> None:
    table = route_table()
    assert set(table) >= PUBLIC_ROUTES
    assert ("GET", "/exports/{export_id}") in table
    assert ("POST", "/dataset-exporter/v1/captures") in table
    assert not any("<" in path for _, path in table)
