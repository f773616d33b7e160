"""A schedule: what it runs (a target), when (an expression in a time zone), whose, and its runs."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from ..jobs.model import Caller

DEFAULT_TIMEZONE = "UTC"


class DatasetTarget(BaseModel):
    """Run a dataset with these parameters (strings may hold ``{{ run_date - 1 day }}``)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    dataset: str = Field(min_length=1, max_length=128)
    parameters: dict[str, Any] = Field(default_factory=dict)


class QueryTarget(BaseModel):
    """Run a query export, as ``POST /exports`` takes it."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    query: dict[str, Any] = Field(description="The query tree: {method, args}")
    fields: list[str] | None = Field(default=None, description="Catalogue paths; omit for the defaults")
    include_images: bool = False


def target_kind(value: Any) -> str:
    """``dataset`` when the target names a dataset, else ``query``."""
    if isinstance(value, dict):
        return "dataset" if "dataset" in value else "query"
    return "dataset" if isinstance(value, DatasetTarget) else "query"


Target = Annotated[
    Annotated[DatasetTarget, Tag("dataset")] | Annotated[QueryTarget, Tag("query")],
    Discriminator(target_kind),
]


class Schedule(BaseModel):
    """One row of ``schedules``."""

    schedule_id: UUID
    owner: Caller
    name: str
    target: Target
    expression: str
    timezone: str = DEFAULT_TIMEZONE
    enabled: bool = True
    anchor_at: datetime
    created_at: datetime
    updated_at: datetime

    @property
    def owner_id(self) -> str:
        return self.owner.user_id

    def visible_to(self, caller: Caller) -> bool:
        return caller.is_admin or caller.user_id == self.owner_id


class RunState(StrEnum):
    STARTED = "started"  # claimed by a fire; the export is being requested
    CREATED = "created"  # the export exists
    FAILED = "failed"  # the export could not be requested (message says why)


class Run(BaseModel):
    """One fire time of a schedule and the export it produced."""

    fire_time: datetime
    state: RunState
    export_id: UUID | None = None
    message: str | None = None
    started_at: datetime


class ScheduleChange(BaseModel):
    """What ``PATCH`` may change; a field left out keeps its value."""

    model_config = ConfigDict(extra="forbid", strict=True)

    enabled: bool | None = None
    expression: str | None = Field(default=None, max_length=256)
    timezone: str | None = Field(default=None, max_length=64)
