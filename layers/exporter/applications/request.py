"""Requesting an applications export: validate against the registry, write the job and its sources, tell
each application (one ``Export Requested`` event per source)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, Field

from ..adapters.events import EventBus
from ..adapters.postgres import is_storable_text
from ..errors import ApplicationsUnavailable, EnqueueFailed, InvalidRequest
from ..jobs.model import Caller, Export
from ..jobs.repository import JobsRepository
from ..notifications.recipients import NotifyTo
from .catalogue import Catalogue
from .kind import APPLICATIONS
from .model import ApplicationParameters, FilterValue, Format, Source
from .sources import SourcesRepository

logger = Logger(child=True)

MAX_SOURCES = 20
MAX_NAME = 255
EXPORT_REQUESTED = "Export Requested"
INTERNAL_PREFIX = "/app/export/v1"


class SourceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    application: str = Field(min_length=1, max_length=64)
    resource: str = Field(min_length=1, max_length=64)
    filters: dict[str, FilterValue] = Field(default_factory=dict, max_length=20)


class ApplicationExportRequest(BaseModel):
    """``POST /api/export/v1/exports``: a name, a format, and the sources to ask for."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_NAME)
    format: Format
    expires_at: datetime | None = Field(default=None, description="When the file expires (default: the service's)")
    sources: list[SourceRequest] = Field(min_length=1, max_length=MAX_SOURCES)
    notify: bool = Field(
        default=False, description="E-mail the caller (their token's email claim) when the export completes or fails"
    )


def check_sources(sources: Sequence[SourceRequest], catalogue: Catalogue) -> None:
    """Each source names a known application, one of its resources and only that resource's filters, once."""
    seen: set[tuple[str, str]] = set()
    for n, source in enumerate(sources):
        where = f"sources[{n}]"
        app = catalogue.applications.get(source.application)
        if app is None:
            known = ", ".join(sorted(catalogue.applications)) or "none"
            raise InvalidRequest(f"{where}.application: unknown application {source.application!r} (known: {known})")
        resource = app.resources.get(source.resource)
        if resource is None:
            known = ", ".join(sorted(app.resources))
            raise InvalidRequest(
                f"{where}.resource: {source.application} has no resource {source.resource!r} (known: {known})"
            )
        unknown = sorted(set(source.filters) - set(resource.filters))
        if unknown:
            raise InvalidRequest(
                f"{where}.filters: {source.application}/{source.resource} has no filter {', '.join(unknown)}"
            )
        if (source.application, source.resource) in seen:
            raise InvalidRequest(f"{where}: duplicate source {source.application}/{source.resource}")
        seen.add((source.application, source.resource))


def check_request(request: ApplicationExportRequest, catalogue: Catalogue, now: datetime) -> None:
    if not is_storable_text(request.name) or not request.name.strip():
        raise InvalidRequest("name must be printable text")
    if request.expires_at is not None:
        if request.expires_at.tzinfo is None:
            raise InvalidRequest("expires_at must include a time zone")
        if request.expires_at <= now:
            raise InvalidRequest("expires_at is in the past")
    check_sources(request.sources, catalogue)


def source_paths(export_id: uuid.UUID, source: Source) -> dict[str, str]:
    base = f"{INTERNAL_PREFIX}/{export_id}/{source.application}/{source.id}"
    return {"upload_path": f"{base}/upload", "error_path": f"{base}/error"}


def requested_event(export: Export, parameters: ApplicationParameters, source: Source) -> dict[str, Any]:
    """The detail of one ``Export Requested`` event: what the application must produce, and where to send it."""
    return {
        "export_id": str(export.export_id),
        "source_id": str(source.id),
        "application": source.application,
        "resource": source.resource,
        "format": parameters.format,
        "filters": source.filters,
        "name": parameters.name,
        "creator": export.creator_id,
        **source_paths(export.export_id, source),
    }


def request_application_export(
    request: ApplicationExportRequest,
    *,
    caller: Caller,
    catalogue: Catalogue,
    jobs: JobsRepository,
    sources: SourcesRepository,
    bus: EventBus | None,
    max_retries: int,
    now: datetime,
    notify: NotifyTo | None = None,
) -> Export:
    """Validate, write the job and its sources, publish one event per source; a failed publish fails the job.

    With ``notify`` (the route's answer to the request's ``notify``), its address is e-mailed when the
    export completes or fails."""
    check_request(request, catalogue, now)
    if request.notify and notify is None:
        raise InvalidRequest("notify: this deployment cannot e-mail about applications exports")
    if bus is None:
        raise ApplicationsUnavailable("application sources are not configured on this deployment")
    parameters = ApplicationParameters(
        name=request.name.strip(),
        format=request.format,
        expires_at=request.expires_at,
        sources=[Source(id=uuid.uuid4(), **s.model_dump()) for s in request.sources],
    )
    export = jobs.create(
        export_id=uuid.uuid4(),
        creator_id=caller.user_id,
        kind=APPLICATIONS.kind,
        dataset=APPLICATIONS.dataset,
        parameters=parameters,
        max_retries=max_retries,
        notify_email=notify.address if notify else None,
    )
    try:
        sources.insert(export.export_id, parameters.sources)
        bus.publish(EXPORT_REQUESTED, [requested_event(export, parameters, s) for s in parameters.sources])
    except Exception as error:
        logger.exception("export request could not be sent", extra={"export_id": str(export.export_id)})
        jobs.fail_unfinished(export.export_id, "the applications could not be asked; please request it again")
        raise EnqueueFailed(f"export {export.export_id} could not be sent to its applications") from error
    logger.info("applications export requested", extra={"export_id": str(export.export_id)})
    return export
