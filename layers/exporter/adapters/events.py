"""The service's event bus: the port the domain publishes through, and its EventBridge adapter."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

# The ``source`` of every event this service publishes.
EVENT_SOURCE = "export-service"
# PutEvents takes at most ten entries per call.
_BATCH = 10


class EventBus(Protocol):
    """One event per detail, all of one ``detail-type``; raises when any could not be published."""

    def publish(self, detail_type: str, details: Sequence[dict[str, Any]]) -> None: ...


class PublishFailed(Exception):
    """EventBridge refused some entries."""


class EventBridgeBus:
    """An EventBridge bus by name (or ARN)."""

    def __init__(self, events: Any, bus_name: str) -> None:
        self._events, self.bus_name = events, bus_name

    def publish(self, detail_type: str, details: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(details), _BATCH):
            entries = [
                {
                    "Source": EVENT_SOURCE,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail, default=str),
                    "EventBusName": self.bus_name,
                }
                for detail in details[start : start + _BATCH]
            ]
            response = self._events.put_events(Entries=entries)
            if response.get("FailedEntryCount"):
                failed = [e for e in response.get("Entries", []) if e.get("ErrorCode")]
                raise PublishFailed(f"{len(failed)} of {len(entries)} events were not published: {failed[:1]}")
