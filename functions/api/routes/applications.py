"""Application sources (seed 001) under ``/api/export/v1``: ask several applications for resources at once.

The upstream service's paths and export object, as a thin facade over the one job model: these
exports are also in ``GET /exports``, shared, expired and deleted like every other.
``GET /api/export/v1/applications`` lists the registry (applications, resources, filters) for the UI's form.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any, Literal

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.exceptions import UnauthorizedError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponseHeader
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, Field

from api.auth import current_caller
from api.dependencies import dependencies, settings
from api.errors import BODY_ERRORS, answers
from api.limits import CREATE_ERRORS, IdempotencyKey, accepted, create_once
from api.routes.exports import notify_to
from exporter.adapters import aws, postgres
from exporter.adapters.events import EventBridgeBus, EventBus
from exporter.applications import listing
from exporter.applications.catalogue import Catalogue, load_catalogue
from exporter.applications.request import ApplicationExportRequest, request_application_export
from exporter.applications.sources import SourcesRepository
from exporter.applications.views import ApplicationExport, ApplicationStatus, application_export
from exporter.errors import ApplicationsUnavailable, Conflict, EnqueueFailed, ExportNotFound, InvalidRequest, NotAllowed
from exporter.jobs import access
from exporter.jobs.model import Caller, Export, Kind

PREFIX = "/api/export/v1"

router = Router()
metrics = Metrics()

ExportId = Annotated[str, Path(max_length=64)]
ONE_EXPORT = (RequestValidationError, UnauthorizedError, ExportNotFound)
LOCATION: dict[str, OpenAPIResponseHeader] = {
    "Location": {"description": "A presigned URL of the ZIP", "schema": {"type": "string"}}
}


@dataclass(frozen=True)
class Applications:
    catalogue: Catalogue
    sources: SourcesRepository
    bus: EventBus | None  # without EVENT_BUS_NAME, requests answer 503


@cache
def applications() -> Applications:
    config = settings()
    return Applications(
        catalogue=load_catalogue(config.APPLICATIONS, config.APPLICATIONS_FILE),
        sources=SourcesRepository(postgres.database(config)),
        bus=EventBridgeBus(aws.client("events"), config.EVENT_BUS_NAME) if config.EVENT_BUS_NAME else None,
    )


class ResourceView(BaseModel):
    name: str
    filters: list[str] = Field(description="The filters this resource honours; no other may be sent")


class ApplicationView(BaseModel):
    name: str
    resources: list[ResourceView]


class Registry(BaseModel):
    """The source applications one may ask for resources, without their keys."""

    applications: list[ApplicationView]


def registry_view(catalogue: Catalogue) -> Registry:
    """The registry by name (applications, then each one's resources), without any secret."""
    return Registry(
        applications=[
            ApplicationView(
                name=name,
                resources=[
                    ResourceView(name=resource, filters=list(config.filters))
                    for resource, config in sorted(app.resources.items())
                ],
            )
            for name, app in sorted(catalogue.applications.items())
        ]
    )


class ExportPage(BaseModel):
    data: list[ApplicationExport]
    meta: dict[str, int]
    links: dict[str, str | None]


def view(export: Export) -> ApplicationExport:
    return application_export(export, applications().sources.for_export(export.export_id), datetime.now(UTC))


def visible(export_id: str) -> Export:
    """The applications export, if the caller may see it; any other kind is not found here."""
    export = access.visible_export(export_id, current_caller(router), dependencies().jobs)
    if export.kind is not Kind.APPLICATIONS:
        raise ExportNotFound(export_id)
    return export


@router.get(
    "/applications",
    summary="The source applications, the resources each serves and the filters each resource honours",
    responses=answers({200: {"description": "The registry, without keys"}}, UnauthorizedError),
)
def registry() -> Registry:
    current_caller(router)
    return registry_view(applications().catalogue)


@router.post(
    "/exports",
    summary="Request resources from source applications, zipped together once they have answered",
    responses=answers(
        {202: {"description": "Accepted: each application was asked for its sources"}},
        *BODY_ERRORS,
        InvalidRequest,
        UnauthorizedError,
        EnqueueFailed,
        ApplicationsUnavailable,
        *CREATE_ERRORS,
    ),
)
def create(
    body: Annotated[ApplicationExportRequest, Body()], idempotency_key: IdempotencyKey = None
) -> Response[ApplicationExport]:
    deps, apps = dependencies(), applications()
    notify = notify_to(router, body.notify)

    def request(caller: Caller) -> Export:
        return request_application_export(
            body,
            caller=caller,
            catalogue=apps.catalogue,
            jobs=deps.jobs,
            sources=apps.sources,
            bus=apps.bus,
            max_retries=deps.settings.MAX_RETRIES,
            now=datetime.now(UTC),
            notify=notify,
        )

    created = create_once(
        router, request, key=idempotency_key, operation="application-exports", body=body.model_dump(mode="json")
    )
    if not created.replayed:
        metrics.add_metric(name="ApplicationExportsRequested", unit=MetricUnit.Count, value=1)
    return accepted(view(created.export), created)


@router.get(
    "/exports",
    summary="The caller's applications exports (created or shared), filtered, sorted and paged",
    responses=answers(
        {200: {"description": "One page of exports"}}, RequestValidationError, InvalidRequest, UnauthorizedError
    ),
)
def list_exports(
    name: Annotated[str | None, Query(max_length=255)] = None,
    status: Annotated[ApplicationStatus | None, Query()] = None,
    application: Annotated[str | None, Query(max_length=64)] = None,
    created_after: Annotated[datetime | None, Query()] = None,
    created_before: Annotated[datetime | None, Query()] = None,
    expires_after: Annotated[datetime | None, Query()] = None,
    expires_before: Annotated[datetime | None, Query()] = None,
    sort: Annotated[Literal["created", "expires", "name", "status"], Query()] = "created",
    dir: Annotated[Literal["asc", "desc"], Query()] = "desc",
    limit: Annotated[int, Query(ge=1, le=listing.MAX_LIMIT)] = listing.DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=listing.MAX_OFFSET)] = 0,
) -> ExportPage:
    caller = current_caller(router)
    query = listing.ListQuery(
        name=name,
        status=status,
        application=application,
        created_after=created_after,
        created_before=created_before,
        expires_after=expires_after,
        expires_before=expires_before,
        sort=sort,
        dir=dir,
        limit=limit,
        offset=offset,
    )
    apps = applications()
    page = listing.list_application_exports(caller, query, jobs=dependencies().jobs, sources=apps.sources)
    now = datetime.now(UTC)
    data = [application_export(e, page.sources[e.export_id], now) for e in page.items]
    return ExportPage(data=data, meta={"count": page.count}, links=page.links(router.current_event.path))


@router.get(
    "/exports/<export_id>/status",
    summary="An applications export's status and each source's",
    responses=answers({200: {"description": "The export"}}, *ONE_EXPORT),
)
def status(export_id: ExportId) -> ApplicationExport:
    return view(visible(export_id))


@router.get(
    "/exports/<export_id>",
    summary="Redirect to the export's ZIP once complete or partial",
    responses=answers(
        {302: {"description": "Redirect to a presigned URL of the ZIP", "headers": LOCATION, "content": {}}},
        *ONE_EXPORT,
        Conflict,
    ),
)
def download(export_id: ExportId) -> Response[Any]:
    deps = dependencies()
    export = visible(export_id)
    current = view(export)
    url = access.download_url(
        export, now=datetime.now(UTC), store=deps.store, ttl_seconds=deps.settings.DOWNLOAD_URL_TTL_SECONDS
    )
    if url is None:
        raise Conflict(f"the export is {current.status}; there is no file to download")
    return Response(status_code=HTTPStatus.FOUND, headers={"Location": url}, body=None)


@router.delete(
    "/exports/<export_id>",
    summary="Delete an applications export and its file",
    responses=answers({204: {"description": "Deleted", "content": {}}}, *ONE_EXPORT, NotAllowed),
)
def delete(export_id: ExportId) -> Response[None]:
    deps = dependencies()
    visible(export_id)
    access.delete_export(export_id, caller=current_caller(router), jobs=deps.jobs, store=deps.store)
    return Response(status_code=HTTPStatus.NO_CONTENT, body=None)
