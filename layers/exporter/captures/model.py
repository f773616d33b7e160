"""A capture's parameters and its queue message."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class CaptureParameters(BaseModel):
    """What a capture was asked for (kind = capture): a channel pattern and a window length.

    The window starts when the capture Lambda claims the job (``started_at``).
    """

    model_config = ConfigDict(frozen=True)

    duration_seconds: int = Field(ge=1)
    channel: str = "broadcast:*"


class CaptureMessage(BaseModel):
    """The capture queue's payload: one capture, one attempt (a capture is never retried)."""

    export_id: UUID
    creator_id: str
    attempt: int = Field(default=1, ge=1)
    max_retries: int = Field(default=0, ge=0)
