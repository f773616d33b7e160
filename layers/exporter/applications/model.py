"""An applications export's parameters (what was asked of which applications) and its assembly message."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

Format = Literal["csv", "json"]
FilterValue = str | int | float | bool | None

CONTENT_TYPES: dict[str, str] = {"csv": "text/csv", "json": "application/json"}


class Source(BaseModel):
    """One requested source: a resource of an application, with its filters, under its own id."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    application: str
    resource: str
    filters: dict[str, FilterValue] = Field(default_factory=dict)


class ApplicationParameters(BaseModel):
    """What an applications export asks for (kind = applications); immutable once the export exists."""

    model_config = ConfigDict(frozen=True)

    name: str
    format: Format
    sources: list[Source]
    expires_at: datetime | None = Field(default=None, description="When the file expires, if not the default")


class AssemblyMessage(BaseModel):
    """The assembly queue's payload: zip the parts of this export (this attempt)."""

    export_id: UUID
    creator_id: str
    attempt: int = Field(default=1, ge=1)
    max_retries: int = Field(default=0, ge=0)
