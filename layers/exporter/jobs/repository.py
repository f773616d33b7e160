"""The jobs repository: job rows (create, read, list with a cursor, delete, share) and their lease transitions.

One repository for the one aggregate, the job; SQL in module constants, database errors
translated here. The lease state machine's transitions live in :mod:`.leases`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg2.errors
import psycopg2.extras
from pydantic import BaseModel

from ..errors import Conflict
from ..registry import parse_parameters
from .leases import LeaseStateMachine
from .model import Export, Kind, Progress, Status

COLUMNS = """
    e.export_id, e.creator_id, e.kind, e.dataset, e.parameters, e.status, e.attempt, e.max_retries,
    e.rows_written, e.rows_total, e.s3_key, e.size_bytes, e.details, e.message, e.created_at,
    e.updated_at, e.started_at, e.completed_at, e.expires_at,
    COALESCE((SELECT array_agg(s.user_id ORDER BY s.user_id) FROM shared_exports s
              WHERE s.export_id = e.export_id), '{}') AS shared_with
"""

INSERT_EXPORT = """
INSERT INTO exports (export_id, creator_id, kind, dataset, parameters, include_images, query_string,
                     status, attempt, max_retries, notify_email, created_at, updated_at)
VALUES (%(export_id)s, %(creator_id)s, %(kind)s, %(dataset)s, %(parameters)s, %(include_images)s,
        %(query_string)s, 'pending', 1, %(max_retries)s, %(notify_email)s, now(), now())
"""
INSERT_EXPORT_FIELDS = """
INSERT INTO export_fields (export_id, field_id, position)
SELECT %s, f.field_id, array_position(%s::text[], f.path)
FROM exportable_fields f WHERE f.path = ANY(%s::text[])
"""
SELECT_EXPORT = f"SELECT {COLUMNS} FROM exports e WHERE e.export_id = %s"
SELECT_VISIBLE = f"""
SELECT {COLUMNS} FROM exports e
WHERE (e.creator_id = %(user_id)s
       OR (%(include_shared)s AND EXISTS (SELECT 1 FROM shared_exports s
                                          WHERE s.export_id = e.export_id AND s.user_id = %(user_id)s)))
  AND (%(after_created)s::timestamptz IS NULL
       OR (e.created_at, e.export_id) < (%(after_created)s::timestamptz, %(after_id)s::uuid))
ORDER BY e.created_at DESC, e.export_id DESC
LIMIT %(limit)s
"""
DELETE_EXPORT = "DELETE FROM exports WHERE export_id = %s RETURNING s3_key, checkpoint"
INSERT_SHARES = """
INSERT INTO shared_exports (export_id, user_id)
SELECT %s, u FROM unnest(%s::text[]) AS u
ON CONFLICT DO NOTHING
"""
DELETE_SHARES = "DELETE FROM shared_exports WHERE export_id = %s AND user_id = ANY(%s::text[])"
TOUCH_EXPORT = "UPDATE exports SET updated_at = now() WHERE export_id = %s"
# Pending rows whose message went missing (a failed send after the row was written).
SELECT_STALE_PENDING = f"""
SELECT {COLUMNS} FROM exports e
WHERE e.status = 'pending' AND e.updated_at < now() - make_interval(secs => %s)
  AND NOT (e.kind = ANY(%s::text[])) AND NOT (e.checkpoint IS NOT NULL AND e.kind = ANY(%s::text[]))
ORDER BY e.updated_at LIMIT 100
"""


def _row_to_export(row: dict[str, Any]) -> Export:
    return Export(
        export_id=row["export_id"],
        creator_id=row["creator_id"],
        kind=Kind(row["kind"]),
        dataset=row["dataset"],
        parameters=parse_parameters(Kind(row["kind"]), row["parameters"]),
        status=Status(row["status"]),
        attempt=row["attempt"],
        max_retries=row["max_retries"],
        progress=Progress(rows_written=row["rows_written"], rows_total=row["rows_total"]),
        s3_key=row["s3_key"],
        size_bytes=row["size_bytes"],
        details=row["details"] or {},
        message=row["message"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        started_at=row["started_at"],
        completed_at=row["completed_at"],
        expires_at=row["expires_at"],
        shared_with=list(row["shared_with"]),
    )


def encode_cursor(export: Export) -> str:
    raw = json.dumps([export.created_at.isoformat(), str(export.export_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, export_id = json.loads(raw)
        return datetime.fromisoformat(created), UUID(export_id)
    except (ValueError, TypeError) as error:
        raise ValueError("cursor is not one this API returned") from error


class JobsRepository(LeaseStateMachine):
    """Job rows, whatever their kind; the lease transitions come from :class:`LeaseStateMachine`."""

    def _exports(self, sql: str, params: Any) -> list[Export]:
        rows = self._db.run([(sql, params)], cursor_factory=psycopg2.extras.RealDictCursor)
        return [_row_to_export(r) for r in rows]

    def create(
        self,
        *,
        export_id: UUID,
        creator_id: str,
        kind: Kind,
        dataset: str,
        parameters: BaseModel,
        max_retries: int,
        query_string: str | None = None,
        fields: Sequence[str] = (),
        notify_email: str | None = None,
    ) -> Export:
        """A new pending job at attempt 1; ``fields`` fills seed 003's ``export_fields``; ``notify_email``
        is who is e-mailed when it ends (``exports.notify_email``, read only by the e-mail)."""
        statements: list[tuple[str, Any]] = [
            (
                INSERT_EXPORT,
                {
                    "export_id": str(export_id),
                    "creator_id": creator_id,
                    "kind": kind.value,
                    "dataset": dataset,
                    "parameters": json.dumps(parameters.model_dump(mode="json")),
                    "include_images": getattr(parameters, "include_images", False),
                    "query_string": query_string,
                    "max_retries": max_retries,
                    "notify_email": notify_email,
                },
            )
        ]
        if fields:
            statements.append((INSERT_EXPORT_FIELDS, (str(export_id), list(fields), list(fields))))
        try:
            self._db.run(statements)
        except psycopg2.errors.UniqueViolation as error:
            raise Conflict(f"export {export_id} already exists") from error
        export = self.get(export_id)
        assert export is not None
        return export

    def get(self, export_id: UUID) -> Export | None:
        found = self._exports(SELECT_EXPORT, (str(export_id),))
        return found[0] if found else None

    def list_visible(
        self, user_id: str, *, include_shared: bool, limit: int, after: tuple[datetime, UUID] | None
    ) -> list[Export]:
        return self._exports(
            SELECT_VISIBLE,
            {
                "user_id": user_id,
                "include_shared": include_shared,
                "limit": limit,
                "after_created": after[0] if after else None,
                "after_id": str(after[1]) if after else None,
            },
        )

    def stale_pending(
        self, older_than_seconds: int, *, except_kinds: Sequence[Kind] = (), awaiting: Sequence[Kind] = ()
    ) -> list[Export]:
        """Pending rows untouched for that long (of any kind but ``except_kinds``): their message went missing.

        A checkpointed job of an ``awaiting`` kind is left out: its own message comes back to it.
        """
        return self._exports(
            SELECT_STALE_PENDING,
            (older_than_seconds, [k.value for k in except_kinds], [k.value for k in awaiting]),
        )

    def delete(self, export_id: UUID) -> tuple[str | None, dict[str, Any] | None]:
        """Delete the row; its object's key and its checkpoint (a job deleted between two of its runs)."""
        rows = self._db.run([(DELETE_EXPORT, (str(export_id),))])
        return (rows[0][0], rows[0][1]) if rows else (None, None)

    def share(self, export_id: UUID, user_ids: Sequence[str]) -> None:
        self._db.run([(INSERT_SHARES, (str(export_id), list(user_ids))), (TOUCH_EXPORT, (str(export_id),))])

    def unshare(self, export_id: UUID, user_ids: Sequence[str]) -> None:
        self._db.run([(DELETE_SHARES, (str(export_id), list(user_ids))), (TOUCH_EXPORT, (str(export_id),))])
