"""The seed's answers: the envelope (``id``, ``ver``, ``ts``, ``params``, ``responseCode``, ``result``) and a request.

Times are epoch milliseconds; ``downloadUrls`` are presigned when the answer is made, and
``expiresAt`` is when they stop working.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..adapters.ports import ObjectStore
from ..jobs.access import download_url
from ..jobs.model import Status
from .service import Found

SUBMIT = "ekstep.analytics.dataset.request.submit"
INFO = "ekstep.analytics.dataset.request.info"
LIST = "ekstep.analytics.dataset.request.list"
VERSION = "1.0"

SUNBIRD_STATUS = {
    Status.PENDING: "SUBMITTED",
    Status.PROCESSING: "PROCESSING",
    Status.COMPLETED: "SUCCESS",
    Status.FAILED: "FAILED",
    Status.EXPIRED: "FAILED",
}


class JobStats(BaseModel):
    dtJobSubmitted: int = Field(description="Epoch ms")
    dtJobCompleted: int | None = Field(description="Epoch ms, once finished")
    executionTime: int | None = Field(description="Milliseconds the run took, once finished")


class RequestResult(BaseModel):
    """One request, in the seed's field order."""

    model_config = ConfigDict(extra="forbid")

    attempts: int
    lastUpdated: int
    tag: str = Field(description="{tag}:{requestedChannel}")
    expiresAt: int = Field(description="When downloadUrls stop working, epoch ms")
    datasetConfig: dict[str, Any]
    downloadUrls: list[str]
    requestedBy: str
    jobStats: JobStats
    status: str = Field(description="SUBMITTED, PROCESSING, SUCCESS or FAILED")
    dataset: str
    requestId: str
    requestedChannel: str
    statusMessage: str | None = Field(default=None, description="Why it failed, or what it waits for")


class ResponseParams(BaseModel):
    resmsgid: str
    status: str = Field(description="successful or failed")
    client_key: str | None = None
    err: str | None = Field(default=None, description="On failure: the error's code")
    errmsg: str | None = Field(default=None, description="On failure: what was wrong")


class ListResult(BaseModel):
    count: int
    jobs: list[RequestResult]


class DataExhaustEnvelope(BaseModel):
    """Every answer of the data-exhaust API, successful or not."""

    id: str
    ver: str
    ts: str = Field(description="ISO 8601 with milliseconds and offset")
    params: ResponseParams
    responseCode: str = Field(description="OK, CLIENT_ERROR, RESOURCE_NOT_FOUND or SERVER_ERROR")
    result: dict[str, Any]


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def request_result(
    found: Found, *, now: datetime, store: ObjectStore, url_ttl_seconds: int, with_message: bool = True
) -> dict[str, Any]:
    """A request as the seed shows it; the submit answer has no ``statusMessage``."""
    row, export = found.request, found.export
    status, message, urls = "SUBMITTED", "", []
    stats = JobStats(dtJobSubmitted=_ms(row.submitted_at) or 0, dtJobCompleted=None, executionTime=None)
    updated = row.updated_at
    if export is None and row.waiting:
        message = "waiting for the dataset's scheduled batch run"
    elif export is None:
        status, message = "FAILED", "the request could not be queued or its export was deleted; submit it again"
    else:
        current = export.status_at(now)
        status = SUNBIRD_STATUS[current]
        updated = max(updated, export.updated_at)
        message = _message(current, export.message)
        finished = export.completed_at if current in (Status.COMPLETED, Status.EXPIRED, Status.FAILED) else None
        if finished is not None:
            started = export.started_at or export.created_at
            stats = JobStats(
                dtJobSubmitted=_ms(export.created_at) or 0,
                dtJobCompleted=_ms(finished),
                executionTime=_ms(finished) - (_ms(started) or 0) if finished else None,  # type: ignore[operator]
            )
        url = download_url(export, now=now, store=store, ttl_seconds=url_ttl_seconds)
        urls = [url] if url else []
    result = RequestResult(
        attempts=row.attempts,
        lastUpdated=_ms(updated) or 0,
        tag=row.stored_tag,
        expiresAt=_ms(now + timedelta(seconds=url_ttl_seconds)) or 0,
        datasetConfig=row.dataset_config,
        downloadUrls=urls,
        requestedBy=row.requested_by,
        jobStats=stats,
        status=status,
        dataset=row.dataset,
        requestId=row.request_id,
        requestedChannel=row.requested_channel,
        statusMessage=message,
    )
    return result.model_dump(exclude=None if with_message else {"statusMessage"})


def _message(status: Status, message: str | None) -> str:
    if status is Status.EXPIRED:
        return "the file expired; submit the request again"
    if status is Status.COMPLETED:
        return ""
    return message or ""


def envelope(api_id: str, result: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    return DataExhaustEnvelope(
        id=api_id,
        ver=VERSION,
        ts=_ts(now),
        params=ResponseParams(resmsgid=str(uuid.uuid4()), status="successful"),
        responseCode="OK",
        result=result,
    ).model_dump(exclude={"params": {"err", "errmsg"}})


def error_envelope(api_id: str, *, code: str, err: str, message: str, now: datetime) -> dict[str, Any]:
    return DataExhaustEnvelope(
        id=api_id,
        ver=VERSION,
        ts=_ts(now),
        params=ResponseParams(resmsgid=str(uuid.uuid4()), status="failed", err=err, errmsg=message),
        responseCode=code,
        result={},
    ).model_dump()


def _ts(now: datetime) -> str:
    """``2022-04-06T09:32:00.079+00:00``."""
    return now.isoformat(timespec="milliseconds")
