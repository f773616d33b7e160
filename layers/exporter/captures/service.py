"""What the captures API does (seed 000's facade over the one job model)."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from aws_lambda_powertools import Logger
from pydantic import BaseModel, Field

from ..adapters.ports import MessageQueue, ObjectStore
from ..errors import CapturesUnavailable, ExportNotFound, InvalidRequest
from ..jobs.access import download_url, visible_export
from ..jobs.enqueue import enqueue_or_fail
from ..jobs.model import Caller, Export, Kind, Status
from ..jobs.repository import JobsRepository
from .durations import capture_seconds
from .kind import CAPTURE
from .model import CaptureMessage, CaptureParameters

logger = Logger(child=True)

DEFAULT_CHANNEL = "broadcast:*"
MAX_CHANNEL_LENGTH = 256

CaptureState = Literal["IN_PROGRESS", "COMPLETED", "FAILED", "EXPIRED"]
_STATE: dict[Status, CaptureState] = {
    Status.PENDING: "IN_PROGRESS",
    Status.PROCESSING: "IN_PROGRESS",
    Status.COMPLETED: "COMPLETED",
    Status.FAILED: "FAILED",
    Status.EXPIRED: "EXPIRED",
}


class Gap(BaseModel):
    start: str
    end: str | None = Field(default=None, description="None while Redis is still away")


class CaptureStatus(BaseModel):
    """Seed 000's status object, plus what the job model knows."""

    id: str
    status: CaptureState
    remainingTime: int = Field(description="Seconds left in the capture window")
    downloadPath: str
    channel: str
    duration: int = Field(description="The window, in seconds")
    rows: int = Field(description="Messages captured so far")
    message: str | None = None
    gaps: list[Gap] = Field(
        default_factory=list,
        description="What the capture could not see: Redis disconnects, and hand-overs from one run to the next",
    )
    created_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    expires_at: datetime | None = None


def remaining_seconds(export: Export, now: datetime) -> int:
    """Whole seconds left in the window: the full duration until the capture Lambda starts it."""
    parameters = export.parameters
    assert isinstance(parameters, CaptureParameters)
    if export.started_at is None:
        return parameters.duration_seconds if export.status is Status.PENDING else 0
    if export.status not in (Status.PROCESSING, Status.PENDING):  # pending once started: between two runs
        return 0
    left = (export.started_at - now).total_seconds() + parameters.duration_seconds
    return max(0, min(parameters.duration_seconds, math.ceil(left)))


def capture_status(export: Export, *, now: datetime, base_path: str) -> CaptureStatus:
    parameters = export.parameters
    assert isinstance(parameters, CaptureParameters)
    gaps = export.details.get("gaps") or []
    return CaptureStatus(
        id=str(export.export_id),
        status=_STATE[export.status_at(now)],
        remainingTime=remaining_seconds(export, now),
        downloadPath=f"{base_path}/download?id={export.export_id}",
        channel=parameters.channel,
        duration=parameters.duration_seconds,
        rows=export.progress.rows_written,
        message=export.message,
        gaps=[Gap.model_validate(g) for g in gaps],
        created_at=export.created_at,
        started_at=export.started_at,
        completed_at=export.completed_at,
        expires_at=export.expires_at,
    )


def check_channel(channel: str | None) -> str:
    pattern = DEFAULT_CHANNEL if channel is None else channel
    if not pattern or len(pattern) > MAX_CHANNEL_LENGTH or not pattern.isprintable() or pattern != pattern.strip():
        raise InvalidRequest(f"channel must be a Redis pattern of 1 to {MAX_CHANNEL_LENGTH} printable characters")
    return pattern


def request_capture(
    *,
    duration: object,
    channel: str | None,
    caller: Caller,
    jobs: JobsRepository,
    queue: MessageQueue | None,
    max_seconds: int,
) -> Export:
    """Validate, write the capture's row (no retries), enqueue it. A failed enqueue fails the row."""
    seconds = capture_seconds(duration, max_seconds=max_seconds)
    parameters = CaptureParameters(duration_seconds=seconds, channel=check_channel(channel))
    if queue is None:
        raise CapturesUnavailable("captures are not configured on this deployment")
    export = jobs.create(
        export_id=uuid.uuid4(),
        creator_id=caller.user_id,
        kind=CAPTURE.kind,
        dataset=CAPTURE.dataset,
        parameters=parameters,
        max_retries=0,
    )
    message = CaptureMessage(export_id=export.export_id, creator_id=export.creator_id, attempt=1, max_retries=0)
    enqueue_or_fail(export, message, queue=queue, jobs=jobs, noun=CAPTURE.noun)
    logger.info("capture requested", extra={"export_id": str(export.export_id), "duration_seconds": seconds})
    return export


def visible_capture(capture_id: str | None, caller: Caller, jobs: JobsRepository) -> Export:
    """The capture, if the caller may see it; anything else (another kind included) is 404."""
    if not capture_id:
        raise InvalidRequest("id is required")
    export = visible_export(capture_id, caller, jobs)
    if export.kind is not Kind.CAPTURE:
        raise ExportNotFound(capture_id)
    return export


@dataclass(frozen=True)
class Download:
    """Either a URL to redirect to, or why not (409 with the remaining time, 410 once expired)."""

    url: str | None
    state: CaptureState
    remaining: int
    reason: str | None = None


def capture_download(export: Export, *, now: datetime, store: ObjectStore, ttl_seconds: int) -> Download:
    state = _STATE[export.status_at(now)]
    remaining = remaining_seconds(export, now)
    if state == "COMPLETED":
        return Download(
            url=download_url(export, now=now, store=store, ttl_seconds=ttl_seconds), state=state, remaining=0
        )
    reason = {
        "IN_PROGRESS": f"the capture is still in progress; {remaining} seconds remaining",
        "FAILED": f"the capture failed: {export.message or 'no reason recorded'}",
        "EXPIRED": "the capture has expired and its file was removed",
    }[state]
    return Download(url=None, state=state, remaining=remaining, reason=reason)
