"""The sources of applications exports: one row per requested part, and who won the right to assemble.

Every transition is a conditional UPDATE (a source leaves ``pending`` once) or an INSERT that
only one caller can make (``source_assemblies``), so concurrent uploads cannot answer a source
twice or start two assemblies.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import psycopg2.extras
from pydantic import BaseModel

from ..adapters.postgres import Database
from .model import Source

SourceStatus = Literal["pending", "uploaded", "failed"]

SOURCE_COLUMNS = """
    s.export_id, s.source_id, s.position, s.application, s.resource, s.filters, s.status, s.message,
    s.error, s.s3_key, s.size_bytes, s.created_at, s.updated_at
"""
INSERT_SOURCES = """
INSERT INTO sources (export_id, source_id, position, application, resource, filters)
SELECT %(export_id)s, x.source_id, x.position, x.application, x.resource, x.filters
FROM jsonb_to_recordset(%(sources)s::jsonb)
     AS x(source_id uuid, position integer, application text, resource text, filters jsonb)
"""
SELECT_SOURCES = f"SELECT {SOURCE_COLUMNS} FROM sources s WHERE s.export_id = ANY(%s::uuid[]) ORDER BY s.position"
RECORD_UPLOAD = """
UPDATE sources SET status = 'uploaded', s3_key = %(s3_key)s, size_bytes = %(size)s, updated_at = now()
WHERE export_id = %(export_id)s AND source_id = %(source_id)s AND status = 'pending'
RETURNING source_id
"""
RECORD_ERROR = """
UPDATE sources SET status = 'failed', message = %(message)s, error = %(error)s, updated_at = now()
WHERE export_id = %(export_id)s AND source_id = %(source_id)s AND status = 'pending'
RETURNING source_id
"""
# Only one caller inserts the row, and only once no source of a still-pending export is pending.
CLAIM_ASSEMBLY = """
INSERT INTO source_assemblies (export_id)
SELECT e.export_id FROM exports e
WHERE e.export_id = %s AND e.status = 'pending'
  AND NOT EXISTS (SELECT 1 FROM sources s WHERE s.export_id = e.export_id AND s.status = 'pending')
ON CONFLICT (export_id) DO NOTHING
RETURNING export_id
"""
TIME_OUT = """
WITH timed_out AS (
    UPDATE sources SET status = 'failed', error = 'timeout', updated_at = now(),
           message = 'the application did not answer within ' || %(seconds)s || ' seconds'
    WHERE status = 'pending' AND created_at < now() - make_interval(secs => %(seconds)s)
    RETURNING export_id
)
SELECT DISTINCT export_id FROM timed_out
"""
# Pending exports whose sources have all answered but that nobody claimed to assemble (a lost settle).
UNSETTLED = """
SELECT e.export_id FROM exports e
WHERE e.kind = 'applications' AND e.status = 'pending'
  AND NOT EXISTS (SELECT 1 FROM source_assemblies a WHERE a.export_id = e.export_id)
  AND NOT EXISTS (SELECT 1 FROM sources s WHERE s.export_id = e.export_id AND s.status = 'pending')
LIMIT 100
"""
# Claimed for assembly, still pending and untouched: the assembly message went missing.
LOST_ASSEMBLIES = """
SELECT e.export_id FROM exports e JOIN source_assemblies a ON a.export_id = e.export_id
WHERE e.kind = 'applications' AND e.status = 'pending' AND e.updated_at < now() - make_interval(secs => %s)
ORDER BY e.updated_at LIMIT 100
"""
SET_REQUESTED_EXPIRY = """
UPDATE exports SET expires_at = (parameters->>'expires_at')::timestamptz
WHERE export_id = %s AND status = 'completed' AND parameters->>'expires_at' IS NOT NULL
"""


class SourceRow(BaseModel):
    export_id: UUID
    source_id: UUID
    position: int
    application: str
    resource: str
    filters: dict[str, Any]
    status: SourceStatus
    message: str | None = None
    error: str | None = None
    s3_key: str | None = None
    size_bytes: int | None = None
    created_at: datetime
    updated_at: datetime


@dataclass
class SourcesRepository:
    db: Database

    def insert(self, export_id: UUID, sources: Sequence[Source]) -> None:
        rows = [
            {
                "source_id": str(s.id),
                "position": n,
                "application": s.application,
                "resource": s.resource,
                "filters": s.filters,
            }
            for n, s in enumerate(sources)
        ]
        self.db.run([(INSERT_SOURCES, {"export_id": str(export_id), "sources": json.dumps(rows)})])

    def of(self, export_ids: Sequence[UUID]) -> dict[UUID, list[SourceRow]]:
        found: dict[UUID, list[SourceRow]] = {e: [] for e in export_ids}
        rows = self.db.run(
            [(SELECT_SOURCES, ([str(e) for e in export_ids],))], cursor_factory=psycopg2.extras.RealDictCursor
        )
        for row in rows:
            source = SourceRow.model_validate(dict(row))
            found.setdefault(source.export_id, []).append(source)
        return found

    def for_export(self, export_id: UUID) -> list[SourceRow]:
        return self.of([export_id])[export_id]

    def record_upload(self, export_id: UUID, source_id: UUID, *, s3_key: str, size: int) -> bool:
        params = {"export_id": str(export_id), "source_id": str(source_id), "s3_key": s3_key, "size": size}
        return bool(self.db.run([(RECORD_UPLOAD, params)]))

    def record_error(self, export_id: UUID, source_id: UUID, *, message: str, error: str | None) -> bool:
        params = {"export_id": str(export_id), "source_id": str(source_id), "message": message, "error": error}
        return bool(self.db.run([(RECORD_ERROR, params)]))

    def claim_assembly(self, export_id: UUID) -> bool:
        """True for exactly one caller, once no source of the (pending) export is pending."""
        return bool(self.db.run([(CLAIM_ASSEMBLY, (str(export_id),))]))

    def time_out(self, seconds: int) -> list[UUID]:
        """Fail every source pending for longer than ``seconds``; the exports they belong to."""
        return [UUID(str(r[0])) for r in self.db.run([(TIME_OUT, {"seconds": seconds})])]

    def unsettled(self) -> list[UUID]:
        return [UUID(str(r[0])) for r in self.db.run([(UNSETTLED, ())])]

    def lost_assemblies(self, older_than_seconds: int) -> list[UUID]:
        return [UUID(str(r[0])) for r in self.db.run([(LOST_ASSEMBLIES, (older_than_seconds,))])]

    def apply_requested_expiry(self, export_id: UUID) -> None:
        """A completed export asked with ``expires_at`` expires then, not after the default days."""
        self.db.run([(SET_REQUESTED_EXPIRY, (str(export_id),))])
