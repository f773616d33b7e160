"""The captures facade (seed 000): start a capture window, watch it, download its CSV.

Mounted twice: at ``/captures`` and at the seed's own ``/dataset-exporter/v1/captures``, so a
client written for the seed works unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.exceptions import UnauthorizedError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse, OpenAPIResponseHeader
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, Field

from api.auth import current_caller
from api.dependencies import dependencies
from api.errors import BODY_ERRORS, Error, answers
from api.limits import CREATE_ERRORS, IdempotencyKey, accepted, create_once
from exporter.captures import service
from exporter.captures.service import CaptureState, CaptureStatus
from exporter.errors import CapturesUnavailable, EnqueueFailed, ExportNotFound, InvalidRequest
from exporter.jobs.model import Caller, Export

PREFIXES = ("/captures", "/dataset-exporter/v1/captures")

router = Router()
metrics = Metrics()

CaptureId = Annotated[str, Query(max_length=64)]
# Every operation on one capture: no or too long an id, no token, no such capture (or not visible).
ONE_CAPTURE = (RequestValidationError, InvalidRequest, UnauthorizedError, ExportNotFound)


class StartCapture(BaseModel):
    model_config = ConfigDict(extra="forbid")

    duration: Any = Field(
        default=None,
        description='The window as a Go duration ("90s", "5m", "1h30m"), at most CAPTURE_MAX_SECONDS',
        json_schema_extra={"type": "string", "examples": ["60s"]},
    )
    channel: str | None = Field(default=None, description="Redis channel pattern; default broadcast:*")


class DownloadRefused(Error):
    """Why there is no file to download yet (409) or any more (410)."""

    state: CaptureState
    remainingTime: int = Field(description="Seconds left in the capture window")


def refused(description: str) -> OpenAPIResponse:
    """A documented 409 or 410 of the download."""
    return {"description": description, "content": {"application/json": {"model": DownloadRefused}}}


LOCATION: dict[str, OpenAPIResponseHeader] = {
    "Location": {"description": "A presigned URL of the CSV", "schema": {"type": "string"}}
}


def base_path(path: str) -> str:
    """``/dataset-exporter/v1/captures/status`` → ``/dataset-exporter/v1/captures``."""
    marker = "/captures"
    index = path.rfind(marker)
    return path[: index + len(marker)] if index >= 0 else marker


def status_of(export: Export) -> CaptureStatus:
    return service.capture_status(export, now=datetime.now(UTC), base_path=base_path(router.current_event.path))


@router.post(
    "/",
    summary="Start a capture window",
    responses=answers(
        {202: {"description": "Accepted: the capture is queued"}},
        *BODY_ERRORS,
        InvalidRequest,
        UnauthorizedError,
        EnqueueFailed,
        CapturesUnavailable,
        *CREATE_ERRORS,
    ),
)
def start(
    body: Annotated[StartCapture | None, Body()] = None, idempotency_key: IdempotencyKey = None
) -> Response[CaptureStatus]:
    deps = dependencies()
    request = body or StartCapture()

    def create(caller: Caller) -> Export:
        return service.request_capture(
            duration=request.duration,
            channel=request.channel,
            caller=caller,
            jobs=deps.jobs,
            queue=deps.capture_queue,
            max_seconds=deps.settings.CAPTURE_MAX_SECONDS,
        )

    # Both mounts share one operation name: a key used on /captures replays on the seed's path too.
    created = create_once(
        router, create, key=idempotency_key, operation="captures", body=request.model_dump(mode="json")
    )
    if not created.replayed:
        metrics.add_metric(name="CapturesRequested", unit=MetricUnit.Count, value=1)
    return accepted(status_of(created.export), created)


@router.get(
    "/status",
    summary="A capture's status and remaining time",
    responses=answers({200: {"description": "The capture"}}, *ONE_CAPTURE),
)
def status(id: CaptureId) -> CaptureStatus:
    return status_of(service.visible_capture(id, current_caller(router), dependencies().jobs))


@router.get(
    "/download",
    summary="Redirect to the capture's CSV once completed",
    responses=answers(
        {
            302: {"description": "Redirect to a presigned URL of the CSV", "headers": LOCATION, "content": {}},
            409: refused("Not completed yet (remainingTime), or failed"),
            410: refused("Expired: the file was removed"),
        },
        *ONE_CAPTURE,
    ),
)
def download(id: CaptureId) -> Response[dict[str, Any] | None]:
    deps = dependencies()
    export = service.visible_capture(id, current_caller(router), deps.jobs)
    outcome = service.capture_download(
        export, now=datetime.now(UTC), store=deps.store, ttl_seconds=deps.settings.DOWNLOAD_URL_TTL_SECONDS
    )
    if outcome.url is not None:
        return Response(status_code=HTTPStatus.FOUND, headers={"Location": outcome.url}, body=None)
    code = HTTPStatus.GONE if outcome.state == "EXPIRED" else HTTPStatus.CONFLICT
    why = DownloadRefused(
        message=outcome.reason or code.phrase, status=code.value, state=outcome.state, remainingTime=outcome.remaining
    )
    return Response(status_code=code, content_type="application/json", body=why.model_dump())
