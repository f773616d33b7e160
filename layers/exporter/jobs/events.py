"""State-change events of every job, whatever its kind: ``Export Completed``, ``Export Failed``, ``Export Expired``.

Each is published once on the service's event bus (source ``export-service``) with the export id,
kind, creator and status. A ``job_events`` row is the claim: inserted before the publish (only one
caller inserts it), removed again when the publish fails, so the next sweep tries again. The
lifecycle announces a job as soon as it completes or fails; the sweeper publishes whatever is
still due (jobs failed outside the lifecycle, publishes that failed) and ``Export Expired`` once
an export is past its ``expires_at``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from aws_lambda_powertools import Logger

from ..adapters.events import EventBus
from ..adapters.postgres import Database

logger = Logger(child=True)

COMPLETED = "Export Completed"
FAILED = "Export Failed"
EXPIRED = "Export Expired"
STATUS_OF = {COMPLETED: "completed", FAILED: "failed", EXPIRED: "expired"}
# Jobs that finished (or expired) longer ago than this are never announced: a new deployment does not
# replay the history.
LOOKBACK_SECONDS = 24 * 3600

_FIELDS = "e.export_id, e.kind, e.creator_id, e.message, e.completed_at, e.expires_at"
SELECT_DUE = f"""
SELECT {_FIELDS}, CASE e.status WHEN 'completed' THEN '{COMPLETED}' ELSE '{FAILED}' END AS event
FROM exports e
WHERE e.status IN ('completed', 'failed')
  AND COALESCE(e.completed_at, e.updated_at) > now() - make_interval(secs => %(lookback)s)
  AND (%(export_id)s::uuid IS NULL OR e.export_id = %(export_id)s::uuid)
  AND NOT EXISTS (SELECT 1 FROM job_events j WHERE j.export_id = e.export_id
                  AND j.event = CASE e.status WHEN 'completed' THEN '{COMPLETED}' ELSE '{FAILED}' END)
UNION ALL
SELECT {_FIELDS}, '{EXPIRED}' AS event
FROM exports e
WHERE e.status = 'completed' AND e.expires_at <= now()
  AND e.expires_at > now() - make_interval(secs => %(lookback)s)
  AND (%(export_id)s::uuid IS NULL OR e.export_id = %(export_id)s::uuid)
  AND NOT EXISTS (SELECT 1 FROM job_events j WHERE j.export_id = e.export_id AND j.event = '{EXPIRED}')
ORDER BY completed_at NULLS FIRST
LIMIT %(limit)s
"""
CLAIM = """
INSERT INTO job_events (export_id, event) VALUES (%s, %s)
ON CONFLICT DO NOTHING RETURNING export_id
"""
UNCLAIM = "DELETE FROM job_events WHERE export_id = %s AND event = %s"


@dataclass(frozen=True)
class JobEvent:
    export_id: UUID
    event: str
    kind: str
    creator: str
    message: str | None
    completed_at: datetime | None
    expires_at: datetime | None

    @property
    def status(self) -> str:
        return STATUS_OF[self.event]

    def detail(self) -> dict[str, Any]:
        return {
            "export_id": str(self.export_id),
            "kind": self.kind,
            "creator": self.creator,
            "status": self.status,
            "message": self.message,
            "completed_at": self.completed_at.isoformat() if self.completed_at else None,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }


class JobEventsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def due(self, *, export_id: UUID | None = None, limit: int = 100) -> list[JobEvent]:
        params = {"lookback": LOOKBACK_SECONDS, "export_id": str(export_id) if export_id else None, "limit": limit}
        rows = self._db.run([(SELECT_DUE, params)])
        return [JobEvent(row[0], row[6], row[1], row[2], row[3], row[4], row[5]) for row in rows]

    def claim(self, event: JobEvent) -> bool:
        return bool(self._db.run([(CLAIM, (str(event.export_id), event.event))]))

    def unclaim(self, event: JobEvent) -> None:
        self._db.run([(UNCLAIM, (str(event.export_id), event.event))])


class JobNotifier:
    """Publishes the due state-change events of jobs on the bus, each once; ``on_event`` runs after each.

    ``on_event`` (the creator's e-mail, :mod:`exporter.notifications.email`) runs once per published
    event, right after its publish; what it raises is logged, never retried.
    """

    def __init__(
        self, events: JobEventsRepository, bus: EventBus, on_event: Callable[[JobEvent], object] | None = None
    ) -> None:
        self._events, self._bus, self._on_event = events, bus, on_event

    def announce(self, export_id: UUID) -> list[JobEvent]:
        """What is due for one job, now (the lifecycle calls it); never raises, the sweeper catches up."""
        try:
            return self._publish(self._events.due(export_id=export_id))
        except Exception:
            logger.exception("job events not published; the sweeper will", extra={"export_id": str(export_id)})
            return []

    def publish_due(self, *, limit: int = 100) -> list[JobEvent]:
        """Every due event (the sweeper calls it)."""
        return self._publish(self._events.due(limit=limit))

    def _publish(self, due: list[JobEvent]) -> list[JobEvent]:
        published = []
        for event in due:
            if not self._events.claim(event):
                continue  # another caller publishes it
            try:
                self._bus.publish(event.event, [event.detail()])
            except Exception:
                self._events.unclaim(event)  # the next sweep tries again
                logger.exception("job event not published", extra={"export_id": str(event.export_id)})
                continue
            published.append(event)
            if self._on_event is not None:
                try:
                    self._on_event(event)
                except Exception:
                    logger.exception("after the job event", extra={"export_id": str(event.export_id)})
        return published
