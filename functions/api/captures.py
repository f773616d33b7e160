"""The captures facade (seed 000): start a capture window, watch it, download its CSV.

Mounted twice by ``build_app``: at ``/captures`` and at the seed's own
``/dataset-exporter/v1/captures``, so a client written for the seed works unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, Field

from api.dependencies import dependencies
from exporter.captures import service as capture_service
from exporter.jobs.model import Caller

PREFIXES = ("/captures", "/dataset-exporter/v1/captures")


class StartCapture(BaseModel):
    model_config = ConfigDict(extra="forbid")

    duration: Any = Field(
        default=None,
        description='The window as a Go duration ("90s", "5m", "1h30m"), at most CAPTURE_MAX_SECONDS',
        json_schema_extra={"type": "string", "examples": ["60s"]},
    )
    channel: str | None = Field(default=None, description="Redis channel pattern; default broadcast:*")


def _base_path(path: str) -> str:
    """``/dataset-exporter/v1/captures/status`` → ``/dataset-exporter/v1/captures``."""
    marker = "/captures"
    index = path.rfind(marker)
    return path[: index + len(marker)] if index >= 0 else marker


def build_router(metrics: Metrics, current_caller: Callable[[Router], Caller]) -> Router:
    router = Router()

    def now() -> datetime:
        return datetime.now(UTC)

    def base() -> str:
        return _base_path(router.current_event.path)

    @router.post("/", summary="Start a capture window", responses={202: {"description": "Accepted"}})
    def start(body: Annotated[StartCapture | None, Body()] = None) -> Response[capture_service.CaptureStatus]:
        deps = dependencies()
        request = body or StartCapture()
        export = capture_service.request_capture(
            duration=request.duration,
            channel=request.channel,
            caller=current_caller(router),
            jobs=deps.jobs,
            queue=deps.capture_queue,
            max_seconds=deps.settings.CAPTURE_MAX_SECONDS,
        )
        metrics.add_metric(name="CapturesRequested", unit=MetricUnit.Count, value=1)
        status = capture_service.capture_status(export, now=now(), base_path=base())
        return Response(status_code=HTTPStatus.ACCEPTED, content_type="application/json", body=status)

    @router.get("/status", summary="A capture's status and remaining time")
    def status(id: Annotated[str, Query(max_length=64)]) -> capture_service.CaptureStatus:
        export = capture_service.visible_capture(id, current_caller(router), dependencies().jobs)
        return capture_service.capture_status(export, now=now(), base_path=base())

    @router.get(
        "/download",
        summary="Redirect to the capture's CSV once completed",
        responses={
            302: {"description": "Redirect to a presigned URL of the CSV"},
            409: {"description": "Not completed yet (remainingTime) or failed"},
            410: {"description": "Expired"},
        },
    )
    def download(id: Annotated[str, Query(max_length=64)]) -> Response[dict[str, Any] | None]:
        deps = dependencies()
        export = capture_service.visible_capture(id, current_caller(router), deps.jobs)
        outcome = capture_service.capture_download(
            export, now=now(), store=deps.store, ttl_seconds=deps.settings.DOWNLOAD_URL_TTL_SECONDS
        )
        if outcome.url is not None:
            return Response(status_code=HTTPStatus.FOUND, headers={"Location": outcome.url}, body=None)
        code = HTTPStatus.GONE if outcome.state == "EXPIRED" else HTTPStatus.CONFLICT
        payload = {
            "message": outcome.reason,
            "status": code.value,
            "state": outcome.state,
            "remainingTime": outcome.remaining,
        }
        return Response(status_code=code, content_type="application/json", body=payload)

    return router
