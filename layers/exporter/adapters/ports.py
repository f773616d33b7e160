"""The ports the domain is written against; ``adapters`` holds their AWS, PostgreSQL and Redis implementations.

Domain code takes these as parameters and never builds a client itself, so tests and the
local stack hand in the same adapters pointed at real servers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any, Protocol


class ObjectStore(Protocol):
    """One bucket: multipart uploads, reads, deletes and presigned download URLs."""

    bucket: str

    def start_upload(self, key: str, *, content_type: str, content_disposition: str | None) -> str: ...
    def upload_part(self, key: str, upload_id: str, number: int, body: bytes) -> str: ...
    def complete_upload(self, key: str, upload_id: str, parts: Sequence[dict[str, Any]]) -> None: ...
    def abort_upload(self, key: str, upload_id: str) -> None: ...
    def get(self, key: str) -> bytes | None: ...
    def put(self, key: str, body: bytes | IO[bytes]) -> None: ...
    def chunks(self, key: str) -> Iterator[bytes]:
        """The object's bytes a chunk at a time (memory holds one chunk); raises when it is missing."""
        ...

    def delete(self, key: str) -> None: ...
    def download_url(self, key: str, *, filename: str, ttl_seconds: int) -> str: ...


class MessageQueue(Protocol):
    """A job queue: one message per attempt, optionally delayed."""

    def send(self, message: Any, *, delay_seconds: int = 0) -> None: ...


@dataclass(frozen=True)
class TimedSchedule:
    """What Scheduler needs to know of one schedule: its name (the schedule id), when, and whether it runs."""

    name: str
    expression: str
    timezone: str
    enabled: bool


class ScheduleService(Protocol):
    """EventBridge Scheduler: one schedule per service schedule, each firing the fire function."""

    def create(self, schedule: TimedSchedule) -> None: ...
    def update(self, schedule: TimedSchedule) -> None: ...
    def delete(self, name: str) -> None: ...
