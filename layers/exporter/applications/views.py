"""What users see of an applications export: the upstream service's export object."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..jobs.model import Export, Status
from .model import ApplicationParameters, Format
from .sources import SourceRow, SourceStatus

ApplicationStatus = Literal["pending", "running", "partial", "complete", "failed", "expired"]
STATUSES: tuple[ApplicationStatus, ...] = ("pending", "running", "partial", "complete", "failed", "expired")


class SourceView(BaseModel):
    id: str
    application: str
    resource: str
    filters: dict[str, Any]
    status: SourceStatus
    message: str | None = None


class ApplicationExport(BaseModel):
    """The upstream service's export: its sources and their statuses, mapped from the one job model."""

    id: str
    name: str
    created: datetime
    completed: datetime | None
    expires: datetime | None
    format: Format
    status: ApplicationStatus
    message: str | None = Field(default=None, description="Why the export failed, or what it waits for")
    sources: list[SourceView]


def application_status(export: Export, sources: list[SourceRow], now: datetime) -> ApplicationStatus:
    """pending (no source answered yet) → running → complete | partial (some sources failed) | failed."""
    status = export.status_at(now)
    if status is Status.FAILED:
        return "failed"
    if status is Status.EXPIRED:
        return "expired"
    if status is Status.COMPLETED:
        return "partial" if any(s.status == "failed" for s in sources) else "complete"
    if status is Status.PROCESSING or any(s.status != "pending" for s in sources):
        return "running"
    return "pending"


def application_export(export: Export, sources: list[SourceRow], now: datetime) -> ApplicationExport:
    parameters = export.parameters
    assert isinstance(parameters, ApplicationParameters)
    return ApplicationExport(
        id=str(export.export_id),
        name=parameters.name,
        created=export.created_at,
        completed=export.completed_at,
        expires=export.expires_at or parameters.expires_at,
        format=parameters.format,
        status=application_status(export, sources, now),
        message=export.message,
        sources=[
            SourceView(
                id=str(s.source_id),
                application=s.application,
                resource=s.resource,
                filters=s.filters,
                status=s.status,
                message=s.message,
            )
            for s in sources
        ],
    )


# The same mapping in SQL, for filtering and sorting lists (``e`` is the exports row).
STATUS_SQL = """
CASE
    WHEN e.status = 'failed' THEN 'failed'
    WHEN e.status = 'completed' AND e.expires_at <= now() THEN 'expired'
    WHEN e.status = 'completed' AND EXISTS (SELECT 1 FROM sources s WHERE s.export_id = e.export_id
                                            AND s.status = 'failed') THEN 'partial'
    WHEN e.status = 'completed' THEN 'complete'
    WHEN e.status = 'processing' OR EXISTS (SELECT 1 FROM sources s WHERE s.export_id = e.export_id
                                            AND s.status <> 'pending') THEN 'running'
    ELSE 'pending'
END
"""
