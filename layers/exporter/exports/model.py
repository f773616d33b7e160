"""The query export's parameters, its queue message (seed 003's payload) and the field catalogue entry."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class ExportParameters(BaseModel):
    """What was asked for; immutable once the export exists."""

    model_config = ConfigDict(frozen=True)

    query: dict[str, Any]
    fields: list[str]
    include_images: bool = False


class ExportMessage(BaseModel):
    """The queue payload of seed 003."""

    export_id: UUID
    creator_id: str
    export_parameters: ExportParameters
    attempt: int = Field(ge=1)
    max_retries: int = Field(ge=0)


class FieldInfo(BaseModel):
    name: str
    description: str
    path: str
    is_default: bool
