"""The job model shared by every kind: one row of ``exports``, its status, who asks, its messages."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny


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
    """Who is asking: the JWT subject, whether they belong to the admin group, and their groups."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    is_admin: bool = False
    groups: tuple[str, ...] = ()  # the identity provider's groups (decide which datasets one may run)


class Progress(BaseModel):
    rows_written: int = 0
    rows_total: int | None = None


class Export(BaseModel):
    """One row of ``exports`` plus its sharing list, as the domain sees it.

    ``parameters`` is the kind's own parameters model (see ``exporter.registry``).
    """

    export_id: UUID
    creator_id: str
    kind: Kind = Kind.QUERY
    dataset: str = "observations"
    parameters: SerializeAsAny[BaseModel]
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


class JobMessage(Protocol):
    """What every kind's queue message carries: which job, whose, and which attempt of how many.

    Each kind declares its own pydantic model with these fields (seed payloads keep their
    own field order), so this is a protocol rather than a base class.
    """

    @property
    def export_id(self) -> UUID: ...
    @property
    def creator_id(self) -> str: ...
    @property
    def attempt(self) -> int: ...
    @property
    def max_retries(self) -> int: ...
    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> Self: ...
    def model_dump_json(self) -> str: ...
