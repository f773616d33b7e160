"""What users see of an export: the seed's "Export Job Status" plus progress and expiry."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from ..registry import AnyParameters
from .model import Export, Progress, Status


class ExportStatus(BaseModel):
    export_id: str
    creator_id: str
    kind: str
    export_parameters: AnyParameters
    shared_with: list[str]
    status: Status
    url: str | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    expires_at: datetime | None
    message: str | None
    progress: Progress
    size_bytes: int | None = None
    attempt: int
    max_retries: int

    @classmethod
    def of(cls, export: Export, *, now: datetime, url: str | None = None) -> ExportStatus:
        status = export.status_at(now)
        return cls(
            export_id=str(export.export_id),
            creator_id=export.creator_id,
            kind=export.kind.value,
            export_parameters=export.parameters,
            shared_with=export.shared_with,
            status=status,
            url=url if status is Status.COMPLETED else None,
            created_at=export.created_at,
            updated_at=export.updated_at,
            started_at=export.started_at,
            completed_at=export.completed_at,
            expires_at=export.expires_at,
            message=export.message,
            progress=export.progress,
            size_bytes=export.size_bytes,
            attempt=export.attempt,
            max_retries=export.max_retries,
        )


def export_details(
    export: Export, *, completed_at: datetime, expiration_days: int, rows: int, extra: dict[str, Any]
) -> dict[str, Any]:
    """``export_details.json``: the status object without ``url`` and ``status``."""
    view = ExportStatus.of(export, now=completed_at).model_dump(mode="json", exclude={"url", "status"})
    view.update(
        completed_at=completed_at.isoformat(),
        expires_at=(completed_at + timedelta(days=expiration_days)).isoformat(),
        message=None,
        progress={"rows_written": rows, "rows_total": rows},
        **extra,
    )
    return view
