"""Sunbird's data-exhaust API (seed 002): submit, read and list dataset requests, in the seed's envelope.

Every answer, errors included, is the seed's envelope: ``params.status: failed`` with ``err`` and
``errmsg`` and a ``responseCode`` of CLIENT_ERROR (400), RESOURCE_NOT_FOUND (404) or SERVER_ERROR.
Only what happens before a route runs (no token, a body too large or not JSON, the rate limit)
answers the service's Error body.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.exceptions import UnauthorizedError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, Field

from api.auth import current_caller
from api.dependencies import datasets, dependencies, settings
from api.errors import BODY_ERRORS, answers
from exporter.adapters import postgres
from exporter.errors import EnqueueFailed, InvalidRequest, TooManyRequests
from exporter.sunbird import service, views
from exporter.sunbird.repository import DatasetRequestsRepository

router = Router()
logger = Logger(child=True)

Tag = Annotated[str, Path(max_length=256, description="The request's tag, without the channel")]
DEFAULT_LIMIT = 10


class SubmitBody(BaseModel):
    """The seed's submit body, as documented; its fields are checked by the route, answered in the envelope."""

    id: str | None = Field(default=None, examples=["ekstep.analytics.job.request.submit"])
    ver: str | None = Field(default=None, examples=["1.0"])
    ts: str | None = None
    params: dict[str, Any] | None = Field(default=None, description="{msgid}")
    request: dict[str, Any] | None = Field(
        default=None,
        description="{dataset, tag, requestedBy, requestedChannel, datasetConfig{type, conversationId, startDate, "
        "endDate}, output_format, encryptionKey (the encrypted datasets' ZIP password)}",
    )


# exception → (HTTP status, responseCode, err)
_ANSWERS: dict[type[Exception], tuple[HTTPStatus, str, str]] = {
    InvalidRequest: (HTTPStatus.BAD_REQUEST, "CLIENT_ERROR", "INVALID_REQUEST"),
    service.RequestNotFound: (HTTPStatus.NOT_FOUND, "RESOURCE_NOT_FOUND", "REQUEST_NOT_FOUND"),
    EnqueueFailed: (HTTPStatus.SERVICE_UNAVAILABLE, "SERVER_ERROR", "REQUEST_NOT_QUEUED"),
}
# answered by the service's error table (the caller, the rate limit)
_PASSED_ON = (UnauthorizedError, TooManyRequests)


@cache
def exhaust() -> service.Exhaust:
    deps = dependencies()
    requests = DatasetRequestsRepository(postgres.database(settings()))
    return service.Exhaust(datasets(), requests, deps.jobs, deps.queue, settings().MAX_RETRIES)


def _answer(api_id: str, produce: Callable[[datetime], dict[str, Any]]) -> Response[dict[str, Any]]:
    now = datetime.now(UTC)
    try:
        return Response(HTTPStatus.OK, "application/json", views.envelope(api_id, produce(now), now=now))
    except _PASSED_ON:
        raise
    except Exception as error:
        status, code, err = next(
            (row for cls, row in _ANSWERS.items() if isinstance(error, cls)),
            (HTTPStatus.INTERNAL_SERVER_ERROR, "SERVER_ERROR", "INTERNAL_ERROR"),
        )
        if status is HTTPStatus.INTERNAL_SERVER_ERROR:
            logger.exception("data-exhaust request failed", extra={"api": api_id})
            message = "the request could not be answered; try again later"
        else:
            message = str(error)
        body = views.error_envelope(api_id, code=code, err=err, message=message, now=now)
        return Response(status, "application/json", body)


def _documented(*pre_route: type[Exception], not_found: bool = False) -> dict[int, OpenAPIResponse]:
    envelope: OpenAPIResponse = {
        "description": "",
        "content": {"application/json": {"model": views.DataExhaustEnvelope}},
    }
    documented = answers({200: {**envelope, "description": "OK"}}, UnauthorizedError, *pre_route)
    statuses = [HTTPStatus.BAD_REQUEST, HTTPStatus.INTERNAL_SERVER_ERROR, HTTPStatus.SERVICE_UNAVAILABLE]
    for status in statuses + ([HTTPStatus.NOT_FOUND] if not_found else []):
        documented[status.value] = {**envelope, "description": f"{status.phrase} (the envelope, params.err)"}
    return documented


def _url_ttl() -> int:
    return settings().DATASET_REQUEST_URL_TTL_SECONDS


@router.post(
    "/dataset/v1/request/submit",
    summary="Submit a data-exhaust request (Sunbird)",
    responses=_documented(*BODY_ERRORS),
)
def submit(body: Annotated[SubmitBody | None, Body()] = None) -> Response[dict[str, Any]]:
    raw = router.current_event.json_body  # checked here, so a bad field is answered in the envelope

    def produce(now: datetime) -> dict[str, Any]:
        found = service.submit(raw, current_caller(router), exhaust=exhaust())
        store = dependencies().store
        return views.request_result(found, now=now, store=store, url_ttl_seconds=_url_ttl(), with_message=False)

    return _answer(views.SUBMIT, produce)


@router.get(
    "/dataset/v1/request/read/<tag>",
    summary="One data-exhaust request, with fresh download URLs once it succeeded (Sunbird)",
    responses=_documented(not_found=True),
)
def read(tag: Tag, requestId: Annotated[str | None, Query(max_length=64)] = None) -> Response[dict[str, Any]]:
    def produce(now: datetime) -> dict[str, Any]:
        if not requestId:
            raise InvalidRequest("requestId is required")
        found = service.read(tag, requestId, current_caller(router), exhaust=exhaust())
        return views.request_result(found, now=now, store=dependencies().store, url_ttl_seconds=_url_ttl())

    return _answer(views.INFO, produce)


@router.get(
    "/dataset/v1/request/list/<tag>",
    summary="A tag's data-exhaust requests, newest first: the caller's own, or all for an admin (Sunbird)",
    responses=_documented(not_found=True),
)
def list_requests(tag: Tag, limit: Annotated[str | None, Query(max_length=10)] = None) -> Response[dict[str, Any]]:
    def produce(now: datetime) -> dict[str, Any]:
        if limit is not None and not limit.isdigit():
            raise InvalidRequest("limit must be a whole number")
        found = service.list_requests(tag, int(limit or DEFAULT_LIMIT), current_caller(router), exhaust=exhaust())
        store = dependencies().store
        jobs = [views.request_result(f, now=now, store=store, url_ttl_seconds=_url_ttl()) for f in found]
        return {"count": len(jobs), "jobs": jobs}

    return _answer(views.LIST, produce)
