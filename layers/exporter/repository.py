"""Data access: one repository per aggregate, SQL in constants, errors translated here."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
import psycopg2
import psycopg2.errors
import psycopg2.extras

from .db import Database
from .errors import Conflict
from .models import CaptureParameters, Export, ExportParameters, FieldInfo, Kind, Progress, Status

_COLUMNS = """
    e.export_id, e.creator_id, e.kind, e.dataset, e.parameters, e.status, e.attempt, e.max_retries,
    e.rows_written, e.rows_total, e.s3_key, e.size_bytes, e.details, e.message, e.created_at,
    e.updated_at, e.started_at, e.completed_at, e.expires_at,
    COALESCE((SELECT array_agg(s.user_id ORDER BY s.user_id) FROM shared_exports s
              WHERE s.export_id = e.export_id), '{}') AS shared_with
"""

INSERT_EXPORT = """
INSERT INTO exports (export_id, creator_id, kind, dataset, parameters, include_images, query_string,
                     status, attempt, max_retries, created_at, updated_at)
VALUES (%(export_id)s, %(creator_id)s, %(kind)s, %(dataset)s, %(parameters)s, %(include_images)s,
        %(query_string)s, 'pending', 1, %(max_retries)s, now(), now())
"""
INSERT_EXPORT_FIELDS = """
INSERT INTO export_fields (export_id, field_id, position)
SELECT %s, f.field_id, array_position(%s::text[], f.path)
FROM exportable_fields f WHERE f.path = ANY(%s::text[])
"""
SELECT_EXPORT = f"SELECT {_COLUMNS} FROM exports e WHERE e.export_id = %s"
SELECT_VISIBLE = f"""
SELECT {_COLUMNS} FROM exports e
WHERE (e.creator_id = %(user_id)s
       OR (%(include_shared)s AND EXISTS (SELECT 1 FROM shared_exports s
                                          WHERE s.export_id = e.export_id AND s.user_id = %(user_id)s)))
  AND (%(after_created)s::timestamptz IS NULL
       OR (e.created_at, e.export_id) < (%(after_created)s::timestamptz, %(after_id)s::uuid))
ORDER BY e.created_at DESC, e.export_id DESC
LIMIT %(limit)s
"""
DELETE_EXPORT = "DELETE FROM exports WHERE export_id = %s RETURNING s3_key"
INSERT_SHARES = """
INSERT INTO shared_exports (export_id, user_id)
SELECT %s, u FROM unnest(%s::text[]) AS u
ON CONFLICT DO NOTHING
"""
DELETE_SHARES = "DELETE FROM shared_exports WHERE export_id = %s AND user_id = ANY(%s::text[])"
TOUCH_EXPORT = "UPDATE exports SET updated_at = now() WHERE export_id = %s"

CLAIM = """
UPDATE exports
SET status = 'processing', started_at = COALESCE(started_at, now()), updated_at = now(),
    lease_owner = %(owner)s, lease_expires_at = now() + make_interval(secs => %(lease)s),
    message = NULL
WHERE export_id = %(export_id)s AND status = 'pending' AND attempt = %(attempt)s
RETURNING export_id
"""
RENEW = """
UPDATE exports
SET lease_expires_at = now() + make_interval(secs => %(lease)s), updated_at = now(),
    rows_written = %(rows_written)s, rows_total = %(rows_total)s,
    details = COALESCE(%(details)s::jsonb, details), message = COALESCE(%(message)s, message)
WHERE export_id = %(export_id)s AND status = 'processing' AND lease_owner = %(owner)s
RETURNING export_id
"""
COMPLETE = """
UPDATE exports
SET status = 'completed', completed_at = now(), updated_at = now(), s3_key = %(s3_key)s,
    size_bytes = %(size_bytes)s, rows_written = %(rows_written)s, rows_total = %(rows_written)s,
    details = %(details)s, expires_at = now() + make_interval(days => %(expiration_days)s),
    lease_owner = NULL, lease_expires_at = NULL, message = %(message)s
WHERE export_id = %(export_id)s AND status = 'processing' AND lease_owner = %(owner)s
RETURNING export_id
"""
RETRY = """
UPDATE exports
SET status = 'pending', attempt = attempt + 1, updated_at = now(), message = %(message)s,
    lease_owner = NULL, lease_expires_at = NULL, rows_written = 0
WHERE export_id = %(export_id)s AND status = 'processing' AND lease_owner = %(owner)s
RETURNING attempt
"""
FAIL = """
UPDATE exports
SET status = 'failed', updated_at = now(), completed_at = now(), message = %(message)s,
    lease_owner = NULL, lease_expires_at = NULL
WHERE export_id = %(export_id)s AND status = 'processing' AND lease_owner = %(owner)s
RETURNING export_id
"""
FAIL_UNFINISHED = """
UPDATE exports
SET status = 'failed', updated_at = now(), completed_at = now(), message = %(message)s,
    lease_owner = NULL, lease_expires_at = NULL
WHERE export_id = %(export_id)s AND status IN ('pending', 'processing')
RETURNING export_id
"""
# A lapsed lease with retries left goes back to pending with the next attempt number.
REQUEUE_LAPSED = """
UPDATE exports
SET status = 'pending', attempt = attempt + 1, updated_at = now(), lease_owner = NULL,
    lease_expires_at = NULL, rows_written = 0,
    message = 'attempt ' || attempt || ' stopped responding; retrying'
WHERE status = 'processing' AND lease_expires_at < now() AND attempt <= max_retries
RETURNING export_id
"""
FAIL_LAPSED = """
UPDATE exports
SET status = 'failed', updated_at = now(), completed_at = now(), lease_owner = NULL,
    lease_expires_at = NULL,
    message = 'the export stopped responding on its last attempt (' || attempt || ')'
WHERE status = 'processing' AND lease_expires_at < now() AND attempt > max_retries
RETURNING export_id
"""
# Pending rows whose message went missing (a failed send after the row was written).
SELECT_STALE_PENDING = f"""
SELECT {_COLUMNS} FROM exports e
WHERE e.status = 'pending' AND e.updated_at < now() - make_interval(secs => %s)
ORDER BY e.updated_at LIMIT 100
"""
TOUCH_PENDING = "UPDATE exports SET updated_at = now() WHERE export_id = %s AND status = 'pending'"

SELECT_CATALOGUE = "SELECT name, description, path, is_default FROM exportable_fields ORDER BY position"


def _row_to_export(row: dict[str, Any]) -> Export:
    return Export(
        export_id=row["export_id"],
        creator_id=row["creator_id"],
        kind=Kind(row["kind"]),
        dataset=row["dataset"],
        parameters=(CaptureParameters if row["kind"] == Kind.CAPTURE.value else ExportParameters).model_validate(
            row["parameters"]
        ),
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


class ExportsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def _dict_cursor(self) -> Any:
        return self._db.connection().cursor(cursor_factory=psycopg2.extras.RealDictCursor)

    def create(
        self,
        *,
        export_id: UUID,
        creator_id: str,
        parameters: ExportParameters | CaptureParameters,
        max_retries: int,
        query_string: str | None,
        kind: Kind = Kind.QUERY,
        dataset: str = "observations",
    ) -> Export:
        try:
            with self._db.transaction() as cur:
                cur.execute(
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
                    },
                )
                if isinstance(parameters, ExportParameters):
                    fields = list(parameters.fields)
                    cur.execute(INSERT_EXPORT_FIELDS, (str(export_id), fields, fields))
        except psycopg2.errors.UniqueViolation as error:
            raise Conflict(f"export {export_id} already exists") from error
        export = self.get(export_id)
        assert export is not None
        return export

    def get(self, export_id: UUID) -> Export | None:
        with self._dict_cursor() as cur:
            cur.execute(SELECT_EXPORT, (str(export_id),))
            row = cur.fetchone()
        return _row_to_export(row) if row else None

    def list_visible(
        self, user_id: str, *, include_shared: bool, limit: int, after: tuple[datetime, UUID] | None
    ) -> list[Export]:
        with self._dict_cursor() as cur:
            cur.execute(
                SELECT_VISIBLE,
                {
                    "user_id": user_id,
                    "include_shared": include_shared,
                    "limit": limit,
                    "after_created": after[0] if after else None,
                    "after_id": str(after[1]) if after else None,
                },
            )
            return [_row_to_export(r) for r in cur.fetchall()]

    def delete(self, export_id: UUID) -> str | None:
        with self._db.cursor() as cur:
            cur.execute(DELETE_EXPORT, (str(export_id),))
            row = cur.fetchone()
        return row[0] if row else None

    def share(self, export_id: UUID, user_ids: Sequence[str]) -> None:
        with self._db.transaction() as cur:
            cur.execute(INSERT_SHARES, (str(export_id), list(user_ids)))
            cur.execute(TOUCH_EXPORT, (str(export_id),))

    def unshare(self, export_id: UUID, user_ids: Sequence[str]) -> None:
        with self._db.transaction() as cur:
            cur.execute(DELETE_SHARES, (str(export_id), list(user_ids)))
            cur.execute(TOUCH_EXPORT, (str(export_id),))

    # --- the job state machine (worker and sweeper) ---

    def _returning(self, sql: str, params: dict[str, Any]) -> list[Any]:
        with self._db.cursor() as cur:
            cur.execute(sql, params)
            return [row[0] for row in cur.fetchall()]

    def claim(self, export_id: UUID, attempt: int, *, owner: str, lease_seconds: int) -> bool:
        return bool(
            self._returning(
                CLAIM, {"export_id": str(export_id), "attempt": attempt, "owner": owner, "lease": lease_seconds}
            )
        )

    def renew(
        self,
        export_id: UUID,
        *,
        owner: str,
        lease_seconds: int,
        rows_written: int,
        rows_total: int | None,
        details: dict[str, Any] | None = None,
        message: str | None = None,
    ) -> bool:
        """Extend the lease and record progress; ``details``/``message``, when given, replace the stored ones."""
        return bool(
            self._returning(
                RENEW,
                {
                    "export_id": str(export_id),
                    "owner": owner,
                    "lease": lease_seconds,
                    "rows_written": rows_written,
                    "rows_total": rows_total,
                    "details": json.dumps(details) if details is not None else None,
                    "message": message,
                },
            )
        )

    def complete(
        self,
        export_id: UUID,
        *,
        owner: str,
        s3_key: str,
        size_bytes: int,
        rows_written: int,
        details: dict[str, Any],
        expiration_days: int,
        message: str | None = None,
    ) -> bool:
        return bool(
            self._returning(
                COMPLETE,
                {
                    "export_id": str(export_id),
                    "owner": owner,
                    "s3_key": s3_key,
                    "size_bytes": size_bytes,
                    "rows_written": rows_written,
                    "details": json.dumps(details),
                    "expiration_days": expiration_days,
                    "message": message,
                },
            )
        )

    def retry(self, export_id: UUID, *, owner: str, message: str) -> int | None:
        """Back to pending with the next attempt number; that number, or None if the lease was lost."""
        rows = self._returning(RETRY, {"export_id": str(export_id), "owner": owner, "message": message})
        return int(rows[0]) if rows else None

    def fail(self, export_id: UUID, *, owner: str, message: str) -> bool:
        return bool(self._returning(FAIL, {"export_id": str(export_id), "owner": owner, "message": message}))

    def fail_unfinished(self, export_id: UUID, message: str) -> bool:
        return bool(self._returning(FAIL_UNFINISHED, {"export_id": str(export_id), "message": message}))

    def requeue_lapsed(self) -> list[UUID]:
        return [UUID(str(x)) for x in self._returning(REQUEUE_LAPSED, {})]

    def fail_lapsed(self) -> list[UUID]:
        return [UUID(str(x)) for x in self._returning(FAIL_LAPSED, {})]

    def stale_pending(self, older_than_seconds: int) -> list[Export]:
        with self._dict_cursor() as cur:
            cur.execute(SELECT_STALE_PENDING, (older_than_seconds,))
            return [_row_to_export(r) for r in cur.fetchall()]

    def touch_pending(self, export_id: UUID) -> None:
        with self._db.cursor() as cur:
            cur.execute(TOUCH_PENDING, (str(export_id),))


class FieldsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def catalogue(self) -> list[FieldInfo]:
        with self._db.cursor() as cur:
            cur.execute(SELECT_CATALOGUE)
            return [FieldInfo(name=n, description=d, path=p, is_default=i) for n, d, p, i in cur.fetchall()]


COUNT_OBSERVATIONS = "SELECT count(*) FROM observations WHERE {where}"
SELECT_OBSERVATIONS = (
    "SELECT observation_id, rdo::text FROM observations WHERE {where} ORDER BY observed_at, observation_id"
)


class ObservationsSnapshot:
    """Read the observations a query selects, more than once, from one consistent snapshot.

    The archive needs two passes (the CSV, then one folder per ad); a REPEATABLE READ
    transaction makes both passes see the same rows. Rows stream from a server-side cursor
    in batches of ``batch_rows``; memory holds one batch at a time.
    """

    def __init__(
        self, conn: psycopg2.extensions.connection, where_sql: str, params: tuple[Any, ...], *, batch_rows: int
    ) -> None:
        self._conn, self._where, self._params, self._batch = conn, where_sql, params, batch_rows
        self._passes = 0

    def __enter__(self) -> ObservationsSnapshot:
        self._conn.autocommit = False
        self._conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self._conn.rollback()
        self._conn.set_session(isolation_level="DEFAULT", readonly=False)
        self._conn.autocommit = True

    def count(self) -> int:
        with self._conn.cursor() as cur:
            cur.execute(COUNT_OBSERVATIONS.format(where=self._where), self._params)
            row = cur.fetchone()
            return int(row[0]) if row else 0

    def rows(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(observation_id, document) in a stable order."""
        self._passes += 1
        loads = orjson.loads
        with self._conn.cursor(name=f"observations_{self._passes}") as cur:
            cur.itersize = self._batch
            cur.execute(SELECT_OBSERVATIONS.format(where=self._where), self._params)
            for observation_id, text in cur:
                yield observation_id, loads(text)
