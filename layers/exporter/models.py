"""The job model shared by the API, the worker and the sweeper."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class Status(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"  # derived on read, never stored


class Kind(StrEnum):
    QUERY = "query"
    CAPTURE = "capture"
    APPLICATIONS = "applications"
    DATASET = "dataset"


class Caller(BaseModel):
    """Who is asking: the JWT subject, and whether they belong to the admin group."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    is_admin: bool = False


class ExportParameters(BaseModel):
    """What was asked for; immutable once the export exists."""

    model_config = ConfigDict(frozen=True)

    query: dict[str, Any]
    fields: list[str]
    include_images: bool = False


class CaptureParameters(BaseModel):
    """What a capture was asked for (kind = capture): a channel pattern and a window length.

    The window starts when the capture Lambda claims the job (``started_at``).
    """

    model_config = ConfigDict(frozen=True)

    duration_seconds: int = Field(ge=1)
    channel: str = "broadcast:*"


class Progress(BaseModel):
    rows_written: int = 0
    rows_total: int | None = None


class Export(BaseModel):
    """One row of ``exports`` plus its sharing list, as the domain sees it."""

    export_id: UUID
    creator_id: str
    kind: Kind = Kind.QUERY
    dataset: str = "observations"
    parameters: ExportParameters | CaptureParameters
    status: Status
    attempt: int = 0
    max_retries: int = 3
    progress: Progress = Field(default_factory=Progress)
    s3_key: str | None = None
    size_bytes: int | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    message: str | None = None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    expires_at: datetime | None = None
    shared_with: list[str] = Field(default_factory=list)

    def status_at(self, now: datetime) -> Status:
        if self.status is Status.COMPLETED and self.expires_at is not None and self.expires_at <= now:
            return Status.EXPIRED
        return self.status

    def visible_to(self, caller: Caller) -> bool:
        return caller.is_admin or caller.user_id == self.creator_id or caller.user_id in self.shared_with

    def manageable_by(self, caller: Caller) -> bool:
        return caller.is_admin or caller.user_id == self.creator_id


class ExportMessage(BaseModel):
    """The queue payload of seed 003."""

    export_id: UUID
    creator_id: str
    export_parameters: ExportParameters
    attempt: int = Field(ge=1)
    max_retries: int = Field(ge=0)


class CaptureMessage(BaseModel):
    """The capture queue's payload: one capture, one attempt (a capture is never retried)."""

    export_id: UUID
    creator_id: str
    attempt: int = Field(default=1, ge=1)
    max_retries: int = Field(default=0, ge=0)


class FieldInfo(BaseModel):
    name: str
    description: str
    path: str
    is_default: bool
