"""Query exports: request one, list them, watch one, delete it, share it."""

from __future__ import annotations

from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.exceptions import UnauthorizedError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, Field

from api.auth import current_caller, notify_address
from api.dependencies import dependencies
from api.errors import BODY_ERRORS, answers
from api.limits import CREATE_ERRORS, IdempotencyKey, accepted, create_once
from exporter.errors import EnqueueFailed, ExportNotFound, InvalidRequest, NotAllowed
from exporter.exports.request import request_export
from exporter.jobs import access
from exporter.jobs.model import Caller, Export
from exporter.jobs.views import ExportStatus
from exporter.notifications.recipients import NotifyTo

router = Router()
metrics = Metrics()

ExportId = Annotated[str, Path(max_length=64)]
# Every operation on one export: an id that is too long, no token, no such export (or not visible).
ONE_EXPORT = (RequestValidationError, UnauthorizedError, ExportNotFound)
SHARED: dict[int, OpenAPIResponse] = {200: {"description": "The export, with its new shared_with"}}
SHARING = answers(SHARED, *BODY_ERRORS, *ONE_EXPORT, InvalidRequest, NotAllowed)
NOTIFY = "E-mail the caller (their token's email claim) when the export completes or fails; 400 without one"


class CreateExport(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    query: dict[str, Any] = Field(description="The query tree: {method, args}")
    fields: list[str] | None = Field(default=None, description="Catalogue paths; omit for the defaults")
    include_images: bool = False
    notify: bool = Field(default=False, description=NOTIFY)


class ShareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    user_ids: list[str] = Field(max_length=access.MAX_SHARE_IDS)


class ExportList(BaseModel):
    items: list[ExportStatus]
    next_cursor: str | None


def notify_to(router: Router, notify: bool) -> NotifyTo | None:
    """A request's ``notify``: None when not asked; the caller's address (400 without one) when asked."""
    return NotifyTo(notify_address(router)) if notify else None


def status_of(export: Export) -> ExportStatus:
    """What the caller sees of ``export``: its status, with a fresh download URL once completed."""
    deps = dependencies()
    now = datetime.now(UTC)
    url = access.download_url(export, now=now, store=deps.store, ttl_seconds=deps.settings.DOWNLOAD_URL_TTL_SECONDS)
    return ExportStatus.of(export, now=now, url=url)


@router.post(
    "/exports",
    summary="Request an export",
    responses=answers(
        {202: {"description": "Accepted: the export is queued"}},
        *BODY_ERRORS,
        InvalidRequest,
        UnauthorizedError,
        EnqueueFailed,
        *CREATE_ERRORS,
    ),
)
def create_export(
    body: Annotated[CreateExport, Body()], idempotency_key: IdempotencyKey = None
) -> Response[ExportStatus]:
    deps = dependencies()
    notify = notify_to(router, body.notify)

    def create(caller: Caller) -> Export:
        return request_export(
            query=body.query,
            fields=body.fields,
            include_images=body.include_images,
            caller=caller,
            jobs=deps.jobs,
            catalogue=deps.catalogue,
            queue=deps.queue,
            max_retries=deps.settings.MAX_RETRIES,
            notify=notify,
        )

    created = create_once(router, create, key=idempotency_key, operation="exports", body=body.model_dump(mode="json"))
    if not created.replayed:
        metrics.add_metric(name="ExportsRequested", unit=MetricUnit.Count, value=1)
    return accepted(status_of(created.export), created)


@router.get(
    "/exports",
    summary="Exports created by or shared with a user, newest first",
    responses=answers(
        {200: {"description": "One page of exports"}},
        RequestValidationError,
        InvalidRequest,
        UnauthorizedError,
        NotAllowed,
    ),
)
def list_exports(
    user_id: Annotated[str | None, Query(max_length=256)] = None,
    limit: Annotated[int, Query(ge=1, le=access.MAX_PAGE)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> ExportList:
    caller = current_caller(router)
    page = access.list_exports(caller=caller, user_id=user_id, limit=limit, cursor=cursor, jobs=dependencies().jobs)
    return ExportList(items=[status_of(e) for e in page.items], next_cursor=page.next_cursor)


@router.get(
    "/exports/<export_id>",
    summary="One export's status, with a fresh download URL once completed",
    responses=answers({200: {"description": "The export"}}, *ONE_EXPORT),
)
def get_export(export_id: ExportId) -> ExportStatus:
    return status_of(access.visible_export(export_id, current_caller(router), dependencies().jobs))


@router.delete(
    "/exports/<export_id>",
    summary="Delete an export and its file",
    responses=answers({204: {"description": "Deleted", "content": {}}}, *ONE_EXPORT, NotAllowed),
)
def delete_export(export_id: ExportId) -> Response[None]:
    deps = dependencies()
    access.delete_export(export_id, caller=current_caller(router), jobs=deps.jobs, store=deps.store)
    return Response(status_code=HTTPStatus.NO_CONTENT, body=None)


@router.post("/exports/<export_id>/share", summary="Share an export with users", responses=SHARING)
def share(export_id: ExportId, body: Annotated[ShareRequest, Body()]) -> ExportStatus:
    export = access.share_export(export_id, body.user_ids, caller=current_caller(router), jobs=dependencies().jobs)
    return status_of(export)


@router.post("/exports/<export_id>/unshare", summary="Stop sharing an export with users", responses=SHARING)
def unshare(export_id: ExportId, body: Annotated[ShareRequest, Body()]) -> ExportStatus:
    export = access.unshare_export(export_id, body.user_ids, caller=current_caller(router), jobs=dependencies().jobs)
    return status_of(export)
