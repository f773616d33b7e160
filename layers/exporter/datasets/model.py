"""A dataset job's parameters (stored on the row, immutable) and its queue message."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_serializer


class DatasetParameters(BaseModel):
    """Which dataset, with which parameter values (canonical text), in which format, from which database."""

    model_config = ConfigDict(frozen=True)

    dataset: str = Field(description="The dataset's name (its folder)")
    parameters: dict[str, str | int] = Field(default_factory=dict, description="The values, defaults filled in")
    format: str = Field(default="csv.gz", description="csv.gz, csv or jsonl.gz")
    source: str | None = Field(default=None, description="Another database by name; null: the service's own")


class DatasetMessage(BaseModel):
    """One attempt of a dataset job, on the job queue beside the query exports' messages."""

    kind: Literal["dataset"] = "dataset"
    export_id: UUID
    creator_id: str
    dataset: str
    attempt: int = Field(ge=1)
    max_retries: int = Field(ge=0)
    # The password of an encrypted format's ZIP: only ever in this message (never on the job's row).
    # Shown masked in a repr or a Python dump; written out only into the queue message's JSON.
    encryption_key: SecretStr | None = None

    @field_serializer("encryption_key", when_used="json")
    def _reveal_for_the_queue(self, key: SecretStr | None) -> str | None:
        return key.get_secret_value() if key is not None else None
