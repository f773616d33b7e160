"""Every error answer: one table from exception to HTTP status and message, one body ``{message, status}``."""

from __future__ import annotations

import json
from functools import singledispatch
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, UnauthorizedError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse, OpenAPIResponseHeader
from pydantic import BaseModel

from api.gate import PayloadTooLarge, UnreadableBody, UnsupportedBody
from exporter.errors import (
    ApplicationsUnavailable,
    CapturesUnavailable,
    Conflict,
    DatasetNotFound,
    EnqueueFailed,
    ExportNotFound,
    IdempotencyKeyReused,
    InvalidRequest,
    NotAllowed,
    ScheduleNotFound,
    SchedulesUnavailable,
    TooManyRequests,
)


class Error(BaseModel):
    """The body of every error answer."""

    message: str
    status: int


class UnusableSubject(Exception):
    """The token is valid but its subject cannot be a user id (NUL, an unpaired surrogate, too long): 401."""


# exception → (status, message); a message of None means the exception's own description.
ERRORS: dict[type[Exception], tuple[HTTPStatus, str | None]] = {
    RequestValidationError: (HTTPStatus.BAD_REQUEST, None),
    InvalidRequest: (HTTPStatus.BAD_REQUEST, None),
    UnreadableBody: (HTTPStatus.BAD_REQUEST, None),
    UnauthorizedError: (HTTPStatus.UNAUTHORIZED, "Unauthorized"),
    UnusableSubject: (HTTPStatus.UNAUTHORIZED, "the token's subject (sub) is not a usable user id"),
    NotAllowed: (HTTPStatus.FORBIDDEN, None),
    ExportNotFound: (HTTPStatus.NOT_FOUND, "export not found"),
    DatasetNotFound: (HTTPStatus.NOT_FOUND, None),
    NotFoundError: (HTTPStatus.NOT_FOUND, "Not Found"),
    Conflict: (HTTPStatus.CONFLICT, None),
    IdempotencyKeyReused: (HTTPStatus.UNPROCESSABLE_ENTITY, None),
    TooManyRequests: (HTTPStatus.TOO_MANY_REQUESTS, None),
    PayloadTooLarge: (HTTPStatus.REQUEST_ENTITY_TOO_LARGE, None),
    RequestUnsupportedContentType: (HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "the request body must be application/json"),
    UnsupportedBody: (HTTPStatus.UNSUPPORTED_MEDIA_TYPE, None),
    EnqueueFailed: (HTTPStatus.SERVICE_UNAVAILABLE, None),
    CapturesUnavailable: (HTTPStatus.SERVICE_UNAVAILABLE, None),
    ApplicationsUnavailable: (HTTPStatus.SERVICE_UNAVAILABLE, None),
    ScheduleNotFound: (HTTPStatus.NOT_FOUND, "schedule not found"),
    SchedulesUnavailable: (HTTPStatus.SERVICE_UNAVAILABLE, None),
}

# What any route with a request body may answer besides its own errors.
BODY_ERRORS: tuple[type[Exception], ...] = (
    RequestValidationError,
    UnreadableBody,
    PayloadTooLarge,
    RequestUnsupportedContentType,
    UnsupportedBody,
)


@singledispatch
def describe(error: Exception) -> str:
    """The message for an error the table gives no fixed message."""
    return str(error)


@describe.register
def _(error: RequestValidationError) -> str:
    parts = []
    for item in error.errors():
        if item.get("type") == "json_invalid":
            return "request body is not valid JSON"
        location = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
        parts.append(f"{location or 'body'}: {item.get('msg')}")
    return "; ".join(parts) or "invalid request"


@describe.register
def _(error: EnqueueFailed) -> str:
    return f"{error}; it was marked failed, please try again"


def entry(error_class: type[Exception]) -> tuple[HTTPStatus, str | None]:
    """The table's row for ``error_class``, or for its nearest listed base class."""
    return next(ERRORS[cls] for cls in error_class.__mro__ if cls in ERRORS)


def body(status: HTTPStatus, message: str) -> str:
    return json.dumps({"message": message, "status": status.value})


@singledispatch
def headers_of(error: Exception) -> dict[str, str]:
    """Headers the answer to ``error`` carries besides its content type."""
    return {}


@headers_of.register
def _(error: TooManyRequests) -> dict[str, str]:
    return {"Retry-After": str(error.retry_after)}


def error_response(error: Exception) -> Response[str]:
    """The answer to ``error``, from the table."""
    status, message = entry(type(error))
    return Response(
        status_code=status,
        content_type="application/json",
        body=body(status, message or describe(error)),
        headers=headers_of(error),
    )


def lambda_result(error: Exception) -> dict[str, Any]:
    """The API Gateway (payload 2.0) result for ``error``, for a refusal made before any route runs."""
    response = error_response(error)
    return {
        "statusCode": response.status_code,
        "headers": {"Content-Type": "application/json", **headers_of(error)},
        "body": response.body,
        "isBase64Encoded": False,
    }


def register(app: APIGatewayHttpResolver) -> None:
    """Answer every exception in the table from the table."""
    for error_class in ERRORS:
        app.exception_handler(error_class)(error_response)


RETRY_AFTER: dict[str, OpenAPIResponseHeader] = {
    "Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}
}


def answers(success: dict[int, OpenAPIResponse], *errors: type[Exception]) -> dict[int, OpenAPIResponse]:
    """An operation's documented answers: ``success``, then the status of each of ``errors`` with the Error body.

    Every operation may answer 429: each caller's requests per minute are limited.
    """
    documented = dict(success)
    for status in sorted({entry(error_class)[0] for error_class in (*errors, TooManyRequests)}):
        documented[status.value] = {
            "description": status.phrase,
            "content": {"application/json": {"model": Error}},
        }
    documented[HTTPStatus.TOO_MANY_REQUESTS.value]["headers"] = RETRY_AFTER
    return documented
