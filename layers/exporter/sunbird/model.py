"""The Sunbird data-exhaust request (seed 002) and the stored request it becomes."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class ExhaustRequest(BaseModel):
    """``request`` of the seed's submit envelope."""

    model_config = ConfigDict(extra="ignore")

    dataset: str = Field(min_length=1, max_length=128)
    tag: str = Field(min_length=1, max_length=256)
    requestedBy: str = Field(min_length=1, max_length=256)
    requestedChannel: str = Field(min_length=1, max_length=256)
    datasetConfig: dict[str, Any]
    output_format: str = "csv"
    # The password of an encrypted dataset's ZIP; never stored, logged or answered.
    encryptionKey: SecretStr | None = Field(default=None, min_length=8, max_length=256)


class SubmitEnvelope(BaseModel):
    """The seed's submit body: ``id``, ``ver``, ``ts``, ``params.msgid``, ``request``."""

    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    ver: str | None = None
    ts: str | None = None
    params: dict[str, Any] | None = None
    request: ExhaustRequest


def request_id(dataset: str, tag: str, channel: str, requested_by: str, config: dict[str, Any]) -> str:
    """32 uppercase hex digits: the MD5 of the request's identity (the key is not part of it)."""
    identity = json.dumps(
        {"dataset": dataset, "tag": tag, "channel": channel, "requestedBy": requested_by, "datasetConfig": config},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.md5(identity.encode("utf-8"), usedforsecurity=False).hexdigest().upper()


class StoredRequest(BaseModel):
    """One ``dataset_requests`` row."""

    request_id: str
    tag: str
    requested_channel: str
    dataset: str
    requested_by: str
    dataset_config: dict[str, Any]
    export_id: UUID | None
    attempts: int
    waiting: bool
    submitted_at: datetime
    updated_at: datetime

    @property
    def stored_tag(self) -> str:
        return f"{self.tag}:{self.requested_channel}"
